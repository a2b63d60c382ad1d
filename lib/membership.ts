/**
 * Membership steps of a clustered app (`apps[].membership.beforeScaleDown` / `afterScaleUp`), pure: which step a
 * change of `replicas` needs, and the Job that runs it. lib/membership-run.ts runs the Job during `up` (never in
 * `preview`), on both deployment paths: before anything is registered for a scale-down, after the rollout for a
 * scale-up.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "../config/schema";
import { MEMBERSHIP_STEP_ENV } from "../config/peer-schema";
import { imageReference } from "./container";
import { appCommandPodSpec, type JobObject } from "./jobs";
import { PROJECT, workloadNames } from "./names";
import { checksum } from "./workload";

/** A membership step this `up` runs. */
export interface MembershipStep {
    readonly app: string;
    readonly step: "beforeScaleDown" | "afterScaleUp";
    /** The live StatefulSet's replicas, and the config's. */
    readonly from: number;
    readonly to: number;
    /** The pod names that go (highest ordinal first) or come (lowest first). */
    readonly members: readonly string[];
}

/** Suffix of the step Jobs' names: `<app>-scale-down-<8 hex>`, `<app>-scale-up-<8 hex>`. */
export const STEP_JOB_SUFFIX = { beforeScaleDown: "scale-down", afterScaleUp: "scale-up" } as const;

/** Longest app name with membership steps: `<app>-scale-down-<8 hex>` must fit the 63-character `job-name` label. */
export const MAX_APP_NAME_WITH_STEPS = 63 - "-scale-down-".length - 8;

/**
 * The step a change of `replicas` from `liveReplicas` (the live StatefulSet's; undefined: none deployed) needs:
 * `beforeScaleDown` when it falls, `afterScaleUp` when it rises, when the app declares that step. None for a
 * first deploy, parking (to 0) or unparking (from 0): every member stops or starts, none leaves or joins.
 */
export function membershipStep(app: AppConfig, liveReplicas: number | undefined): MembershipStep | undefined {
    if (liveReplicas === undefined || liveReplicas === 0 || app.replicas === 0 || app.replicas === liveReplicas) return undefined;
    const sts = workloadNames(app.name).app;
    const pods = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `${sts}-${from + k}`);
    if (app.replicas < liveReplicas && app.membership.beforeScaleDown) {
        return { app: app.name, step: "beforeScaleDown", from: liveReplicas, to: app.replicas, members: pods(app.replicas, liveReplicas).reverse() };
    }
    if (app.replicas > liveReplicas && app.membership.afterScaleUp) {
        return { app: app.name, step: "afterScaleUp", from: liveReplicas, to: app.replicas, members: pods(liveReplicas, app.replicas) };
    }
    return undefined;
}

/**
 * The Job of a step, named `<app>-scale-down-<hash>` / `<app>-scale-up-<hash>` (a hash of its spec, members
 * included: the same step is the same Job, so a re-run after an interrupted `up` finds it). Runs the app's image
 * with the step's command, the app's env (ConfigMap, password) and {@link MEMBERSHIP_STEP_ENV}; restricted security
 * context, read-only root, `/tmp` an emptyDir, no service account token. Not selected by the app's Services or PDB.
 *
 * @param namespace the stack's namespace (for `MEMBER_DOMAIN`).
 * @param clusterDomain the stack's `clusterDomain`.
 * @throws Error when the app does not declare the step.
 */
export function membershipJob(app: AppConfig, step: MembershipStep, namespace: string, clusterDomain: string): JobObject {
    const cfg = app.membership[step.step];
    if (!cfg) throw new Error(`app ${app.name} has no membership.${step.step}`);
    const names = workloadNames(app.name);
    const sts = names.app;
    const labels = {
        "app.kubernetes.io/name": `${app.name}-${STEP_JOB_SUFFIX[step.step]}`,
        "app.kubernetes.io/instance": app.name,
        "app.kubernetes.io/component": "membership",
        "app.kubernetes.io/part-of": PROJECT,
        "app.kubernetes.io/managed-by": "pulumi",
    };
    const stepEnv: Record<keyof typeof MEMBERSHIP_STEP_ENV, string> = {
        MEMBERS_LEAVING: step.step === "beforeScaleDown" ? step.members.join(" ") : "",
        MEMBERS_JOINED: step.step === "afterScaleUp" ? step.members.join(" ") : "",
        MEMBERS: Array.from({ length: step.to }, (_, i) => `${sts}-${i}`).join(" "),
        MEMBER_DOMAIN: `${names.headless}.${namespace}.svc.${clusterDomain}`,
        APP_SERVICE: `${names.app}:${app.service.port ?? app.port}`,
    };
    const spec: k8s.types.input.batch.v1.JobSpec = {
        backoffLimit: cfg.backoffLimit,
        activeDeadlineSeconds: cfg.activeDeadlineSeconds,
        template: {
            metadata: { labels },
            spec: appCommandPodSpec(app, names, {
                name: "step",
                image: imageReference(app.image),
                imagePullPolicy: app.image.pullPolicy,
                command: cfg.command,
                env: Object.entries(stepEnv).map(([name, value]) => ({ name, value })),
            }),
        },
    };
    return { metadata: { name: `${app.name}-${STEP_JOB_SUFFIX[step.step]}-${checksum(spec).slice(0, 8)}`, labels, annotations: {} }, spec };
}

/** What preview says about a step: `membership.beforeScaleDown runs before … (members etcd-4, etcd-3 leave)`. */
export function describeStep(step: MembershipStep): string {
    return step.step === "beforeScaleDown"
        ? `this up runs membership.beforeScaleDown (a Job in the app's image) for ${step.members.join(", ")} before the StatefulSet ${step.app} goes from ${step.from} to ${step.to} replicas; the StatefulSet changes only once it succeeded`
        : `this up runs membership.afterScaleUp (a Job in the app's image) for ${step.members.join(", ")} once the StatefulSet ${step.app} has rolled out from ${step.from} to ${step.to} replicas`;
}

/**
 * `up` means "rolled out", and says at once why it waits.
 *
 * 1. Why: while `up` runs, every {@link WATCH_POLL_SECONDS} the program reads the app's StatefulSet, its pods and the
 *    namespace's Warning events, and reports each new reason a pod cannot start (the scheduler's `FailedScheduling`,
 *    the PV controller's `ProvisioningFailed`, the StatefulSet controller's `FailedCreate` (a ResourceQuota, a missing
 *    PriorityClass), the kubelet's image pull and back-off failures, and containers waiting in `ErrImagePull`,
 *    `ImagePullBackOff`, `CrashLoopBackOff`, `CreateContainerConfigError`), once each, within seconds: the provider's
 *    await only says how many replicas are ready.
 * 2. Rolled out: the kubernetes provider v4.25.0 compares status fields without checking `observedGeneration`, so its
 *    await can pass before the StatefulSet controller has even seen the new spec (pulumi/pulumi-kubernetes#3329, fixed
 *    in v4.26.0 by #4094; the Go module proxy here serves only v4.25.0), and a Helm release waits as Helm decides.
 *    After the app's StatefulSet or release step, when this `up` changed the StatefulSet (its `metadata.generation`
 *    moved since the pre-flight read, or it is new), the program waits until {@link rolloutPending} says nothing is
 *    pending: the controller observed the generation, every replica is Ready and, for a RollingUpdate without
 *    partition, on the update revision with `currentRevision == updateRevision`. A partitioned canary is waited for
 *    only until observed (its documented exception, lib/awaits.ts `rolloutAwait`). Past {@link watchSeconds} the `up`
 *    fails, naming what it still waits for and the last reasons seen.
 *
 *    A pod on a node that is not Ready is named with the node, since when, and what the StatefulSet will not do.
 *
 * Nothing runs in `preview`. Needs `get` on the StatefulSet and `list` on pods and events in the namespace; `get` on
 * the nodes of pods that are not Ready is used when allowed.
 */
import type { AppConfig } from "../config/schema";
import { ClusterConnection, getJson, getJsonIfAllowed, getJsonIfExists } from "./kube-client";
import { workloadNames } from "./names";
import { IMAGE_WAIT_REASONS, watchSeconds } from "./rollout-recovery";

/** Seconds between two looks while `up` runs. */
export const WATCH_POLL_SECONDS = 2;

/** Event reasons that say a pod of the app cannot start (Warning events only). */
export const BLOCKING_EVENT_REASONS = [
    "FailedScheduling",
    "ProvisioningFailed",
    "FailedCreate",
    "FailedMount",
    "FailedAttachVolume",
    "Failed",
    "BackOff",
    "InspectFailed",
    "ErrImageNeverPull",
    "FailedCreatePodSandBox",
] as const;

/** Container waiting reasons that say a pod cannot start (`status.containerStatuses[].state.waiting.reason`). */
export const BLOCKING_WAIT_REASONS = ["CrashLoopBackOff", "CreateContainerConfigError", ...IMAGE_WAIT_REASONS] as const;

/** What {@link rolloutPending} needs of a live StatefulSet. */
export interface RolloutState {
    readonly generation: number;
    readonly observedGeneration: number;
    /** `spec.replicas`. */
    readonly replicas: number;
    readonly readyReplicas: number;
    readonly updatedReplicas: number;
    readonly currentRevision?: string;
    readonly updateRevision?: string;
    /** `RollingUpdate` or `OnDelete`. */
    readonly strategy: string;
    readonly partition: number;
}

/** A StatefulSet of the API's JSON as {@link RolloutState}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function rolloutState(sts: any): RolloutState {
    return {
        generation: sts.metadata?.generation ?? 0,
        observedGeneration: sts.status?.observedGeneration ?? 0,
        replicas: sts.spec?.replicas ?? 1,
        readyReplicas: sts.status?.readyReplicas ?? 0,
        updatedReplicas: sts.status?.updatedReplicas ?? 0,
        ...(sts.status?.currentRevision ? { currentRevision: sts.status.currentRevision } : {}),
        ...(sts.status?.updateRevision ? { updateRevision: sts.status.updateRevision } : {}),
        strategy: sts.spec?.updateStrategy?.type ?? "RollingUpdate",
        partition: sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0,
    };
}

/**
 * What the rollout still waits for, in words, or undefined when it is done (see the module comment). Same rules as
 * `kubectl rollout status` for a StatefulSet, plus readiness under `OnDelete`.
 */
export function rolloutPending(s: RolloutState): string | undefined {
    if (s.observedGeneration < s.generation) {
        return `the StatefulSet controller has not yet observed generation ${s.generation} (it reports ${s.observedGeneration})`;
    }
    if (s.strategy === "RollingUpdate" && s.partition > 0) return undefined;
    if (s.strategy === "RollingUpdate" && s.updatedReplicas < s.replicas) {
        return `${s.updatedReplicas} of ${s.replicas} pods on the update revision ${s.updateRevision ?? "?"}`;
    }
    if (s.readyReplicas < s.replicas) return `${s.readyReplicas} of ${s.replicas} pods Ready`;
    if (s.strategy === "RollingUpdate" && s.currentRevision !== s.updateRevision) {
        return `the current revision ${s.currentRevision ?? "?"} is not yet the update revision ${s.updateRevision ?? "?"}`;
    }
    return undefined;
}

/** Whether an object name belongs to the app: its StatefulSet, a pod `<sts>-<n>`, or a PVC `<template>-<sts>-<n>`. */
export function belongsToApp(objectName: string, sts: string): boolean {
    return objectName === sts || new RegExp(`(^|-)${sts.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d+$`).test(objectName);
}

/**
 * Whether a pod of the app is not Ready because its node is not: the node's `Ready` condition is not True (the kubelet
 * stopped posting status: NodeStatusUnknown). Such a pod is neither restarted there nor started elsewhere: a
 * StatefulSet keeps at most one pod per identity, so the controller waits until the node returns or the pod object is
 * deleted (Kubernetes docs "Force Delete StatefulSet Pods").
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function nodeNotReadyReason(pod: any, node: any): string | undefined {
    const podReady = (pod.status?.conditions ?? []).some((c: { type?: string; status?: string }) => c.type === "Ready" && c.status === "True");
    const ready = (node?.status?.conditions ?? []).find((c: { type?: string }) => c.type === "Ready");
    if (podReady || !node || ready?.status === "True") return undefined;
    const why = [ready?.reason, String(ready?.message ?? "").trim()].filter((x) => x).join(": ");
    return (
        `Pod ${pod.metadata?.name}: its node ${node.metadata?.name} is NotReady${ready?.lastTransitionTime ? ` since ${ready.lastTransitionTime}` : ""}` +
        `${why ? ` (${why})` : ""}; the StatefulSet will not start this member anywhere else until the node returns or the pod is deleted ` +
        `(kubectl delete pod --force only when the node is gone for good: two pods of one identity must never run)`
    );
}

/**
 * The blocking reasons in `events` (an EventList's items) and `pods` (a PodList's items) of the app's StatefulSet
 * `sts`, seen at or after `sinceMs`: one line per object and reason, `Pod visits-2: FailedScheduling: 0/1 nodes …`.
 * `nodes` (name -> Node, those of pods that are not Ready; empty when they cannot be read) adds a line per pod whose
 * node is not Ready.
 */
export function blockingReasons(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    events: readonly any[],
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    pods: readonly any[],
    sts: string,
    sinceMs: number,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    nodes: ReadonlyMap<string, any> = new Map(),
): string[] {
    const out: string[] = [];
    for (const e of events) {
        const obj = e.involvedObject ?? e.regarding ?? {};
        const when = Date.parse(e.lastTimestamp ?? e.eventTime ?? e.series?.lastObservedTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? "");
        if (e.type !== "Warning" || !(BLOCKING_EVENT_REASONS as readonly string[]).includes(e.reason)) continue;
        if (!belongsToApp(obj.name ?? "", sts) || !(when >= sinceMs - 1000)) continue;
        out.push(`${obj.kind ?? "object"} ${obj.name}: ${e.reason}: ${String(e.message ?? e.note ?? "").trim()}`);
    }
    for (const p of pods) {
        const name = p.metadata?.name ?? "";
        if (!belongsToApp(name, sts)) continue;
        const lost = p.spec?.nodeName ? nodeNotReadyReason(p, nodes.get(p.spec.nodeName)) : undefined;
        if (lost) out.push(lost);
        // A pod Pending since before this `up` (its FailedScheduling event is older): the scheduler's word is also in
        // its PodScheduled condition, said like the event (when both texts agree, the line is reported once).
        const scheduled = (p.status?.conditions ?? []).find((c: { type?: string }) => c.type === "PodScheduled");
        if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
            out.push(`Pod ${name}: FailedScheduling: ${String(scheduled.message ?? "").trim()}`);
        }
        for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
            const w = c.state?.waiting;
            if (w && (BLOCKING_WAIT_REASONS as readonly string[]).includes(w.reason)) {
                out.push(`Pod ${name}: container ${c.name} waits in ${w.reason}: ${String(w.message ?? "").trim()}`);
            }
        }
    }
    return [...new Set(out)];
}

/**
 * The Nodes of the pods that are not Ready, by name; a Node the deploying identity may not read (HTTP 403: `get` on
 * nodes is cluster-scoped) or that is gone is left out, and the check with it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function nodesOfNotReadyPods(conn: ClusterConnection, pods: readonly any[]): Promise<Map<string, any>> {
    const names = new Set<string>();
    for (const p of pods) {
        const ready = (p.status?.conditions ?? []).some((c: { type?: string; status?: string }) => c.type === "Ready" && c.status === "True");
        if (!ready && p.spec?.nodeName) names.add(p.spec.nodeName);
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const out = new Map<string, any>();
    for (const n of names) {
        const node = await getJsonIfAllowed(conn, `/api/v1/nodes/${encodeURIComponent(n)}`).catch(() => undefined);
        if (node) out.set(n, node);
    }
    return out;
}

/** What {@link watchRollout} returns: resolves once the app's rollout is done (or was not changed by this `up`). */
export interface RolloutWatch {
    /**
     * Call after the app's StatefulSet or release step finished: resolves when the rollout is done (at once when this
     * `up` did not change the StatefulSet), rejects past {@link watchSeconds} naming what it waits for.
     */
    readonly rolledOut: () => Promise<void>;
}

/**
 * Starts reporting blocking reasons for `app` in `namespace` through `log` (each once) and returns the wait for its
 * rollout. `generationBefore` is the StatefulSet's `metadata.generation` at the pre-flight read (undefined: it did not
 * exist). Timers are unref'd; a look that fails is reported once per distinct error and tried again.
 */
export function watchRollout(
    conn: ClusterConnection,
    namespace: string,
    app: AppConfig,
    generationBefore: number | undefined,
    log: (message: string) => void,
): RolloutWatch {
    const sts = workloadNames(app.name).app;
    const ns = encodeURIComponent(namespace);
    const started = Date.now();
    const reported = new Set<string>();
    let stopped = false;
    let last: { state?: RolloutState; reasons: string[] } = { reasons: [] };
    const look = async (): Promise<void> => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const [live, pods, events] = await Promise.all<any>([
            getJsonIfExists(conn, `/apis/apps/v1/namespaces/${ns}/statefulsets/${encodeURIComponent(sts)}`),
            getJson(conn, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${app.name}`)}`),
            getJson(conn, `/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent("type=Warning")}`),
        ]);
        const reasons = blockingReasons(events?.items ?? [], pods?.items ?? [], sts, started, await nodesOfNotReadyPods(conn, pods?.items ?? []));
        last = { ...(live ? { state: rolloutState(live) } : {}), reasons };
        for (const r of reasons.filter((r) => !reported.has(r))) {
            reported.add(r);
            log(`waiting for the StatefulSet ${sts}: ${r}`);
        }
    };
    const errors = new Set<string>();
    const safeLook = () =>
        look().catch((e: Error) => {
            if (!errors.has(e.message)) {
                errors.add(e.message);
                log(`cannot read the rollout of StatefulSet ${sts} (tried again every ${WATCH_POLL_SECONDS} s): ${e.message}`);
            }
        });
    const tick = (): void => {
        if (stopped || Date.now() - started > watchSeconds(app) * 1000) return;
        void safeLook().finally(() => {
            if (!stopped) setTimeout(tick, WATCH_POLL_SECONDS * 1000).unref();
        });
    };
    setTimeout(tick, 0).unref();

    const rolledOut = async (): Promise<void> => {
        const deadline = started + watchSeconds(app) * 1000;
        try {
            for (;;) {
                await safeLook();
                const state = last.state;
                if (state && generationBefore !== undefined && state.generation === generationBefore) return;
                const pending = state ? rolloutPending(state) : "the StatefulSet to exist";
                if (pending === undefined) return;
                if (Date.now() > deadline) {
                    throw new Error(
                        `the StatefulSet ${sts} did not finish its rollout within ${watchSeconds(app)} s: waiting for ${pending}` +
                            (last.reasons.length > 0 ? `; last reasons: ${last.reasons.join("; ")}` : "; no Warning event names a reason"),
                    );
                }
                await new Promise((r) => setTimeout(r, WATCH_POLL_SECONDS * 1000));
            }
        } finally {
            stopped = true;
        }
    };
    return { rolledOut };
}

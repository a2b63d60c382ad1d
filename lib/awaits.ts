/**
 * How long Pulumi waits for an app's StatefulSet, and whether it waits at all. Pure functions of the app config.
 *
 * pulumi-kubernetes (provider v4, `pkg/await/statefulset.go`) waits until `.status.currentRevision` equals
 * `.status.updateRevision` and every replica is Ready and current, for at most 10 minutes unless the resource sets
 * `customTimeouts`.
 */
import type { AppConfig } from "../config/schema";

/** pulumi-kubernetes' own await timeout for a StatefulSet, in seconds: the floor of {@link statefulSetTimeouts}. */
export const DEFAULT_STATEFULSET_TIMEOUT_SECONDS = 600;

/** Seconds allowed per pod for scheduling, pulling the image and starting the containers, before any probe. */
export const POD_START_ALLOWANCE_SECONDS = 120;

/** The annotation that turns pulumi-kubernetes' await off for one object (`"true"`). */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

/** The startup probe's whole budget in seconds (`initialDelaySeconds + failureThreshold × periodSeconds`); 0 without one. */
export function startupBudgetSeconds(app: AppConfig): number {
    const s = app.probes.startup;
    return s ? s.initialDelaySeconds + s.failureThreshold * s.periodSeconds : 0;
}

/**
 * Worst-case seconds for one new pod of `app` to count as available: {@link POD_START_ALLOWANCE_SECONDS}, the
 * startup probe's whole budget (`initialDelaySeconds + failureThreshold × periodSeconds`) when there is one, the
 * first readiness probe (`initialDelaySeconds + periodSeconds`), then `minReadySeconds`.
 */
export function podAvailableSeconds(app: AppConfig): number {
    const startup = startupBudgetSeconds(app);
    const readiness = app.probes.readiness.initialDelaySeconds + app.probes.readiness.periodSeconds;
    return POD_START_ALLOWANCE_SECONDS + startup + readiness + app.minReadySeconds;
}

/**
 * `customTimeouts` for the StatefulSet, in seconds, never below {@link DEFAULT_STATEFULSET_TIMEOUT_SECONDS}:
 * - create: OrderedReady starts pods one after another (`replicas ×` {@link podAvailableSeconds}); Parallel starts
 *   them together (one pod's time);
 * - update: a RollingUpdate replaces one pod at a time under either policy, each after the old one stopped
 *   (`replicas × (podAvailableSeconds + terminationGracePeriodSeconds)`).
 * Source of the one-at-a-time behaviour: https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#rolling-updates
 */
export function statefulSetTimeouts(app: AppConfig): { createSeconds: number; updateSeconds: number } {
    const pod = podAvailableSeconds(app);
    const replicas = Math.max(app.replicas, 1);
    const create = app.podManagementPolicy === "OrderedReady" ? replicas * pod : pod;
    const update = replicas * (pod + app.terminationGracePeriodSeconds);
    return { createSeconds: Math.max(DEFAULT_STATEFULSET_TIMEOUT_SECONDS, create), updateSeconds: Math.max(DEFAULT_STATEFULSET_TIMEOUT_SECONDS, update) };
}

/**
 * Whether Pulumi can wait for the StatefulSet's rollout. A RollingUpdate with `partition > 0` (a canary) leaves the
 * ordinals below the partition on the old revision on purpose, so `.status.currentRevision` never reaches
 * `.status.updateRevision` and pulumi-kubernetes would wait into its timeout: such a StatefulSet is annotated
 * {@link SKIP_AWAIT_ANNOTATION} and `up` returns once the API server accepted it.
 *
 * @returns `{ awaited: true }`, or `{ awaited: false, reason }` with the text for the stack output.
 */
export function rolloutAwait(app: AppConfig): { awaited: true } | { awaited: false; reason: string } {
    if (app.updateStrategy.type === "RollingUpdate" && app.updateStrategy.partition > 0) {
        const p = app.updateStrategy.partition;
        const pods = (from: number, to: number) => podRange(app.name, from, to);
        return {
            awaited: false,
            reason: `partitioned at ${p}: ordinals ≥ ${p} get the new revision (${pods(p, app.replicas)}), ordinals < ${p} keep the current one (${pods(0, Math.min(p, app.replicas))}); not awaited (kubectl rollout status cannot finish either) until partition is 0`,
        };
    }
    return { awaited: true };
}

/** The pods of ordinals `from … to - 1` by name (`visits-1, visits-2`), the middle elided past four; `none` when empty. */
function podRange(app: string, from: number, to: number): string {
    const n = to - from;
    if (n <= 0) return "none";
    const name = (i: number) => `${app}-${i}`;
    return n <= 4 ? Array.from({ length: n }, (_, k) => name(from + k)).join(", ") : `${name(from)}, ${name(from + 1)}, …, ${name(to - 1)}`;
}

/**
 * Whether `up` skips the provider's await of the app's client Service (its annotations then carry
 * {@link SKIP_AWAIT_ANNOTATION}). The await adds nothing for a ClusterIP or NodePort Service: it waits until the
 * Service has a ready endpoint, which are the StatefulSet's Ready pods that the StatefulSet's own await already
 * waits for, and then it always waits 10 s more for the endpoints to "settle" (pulumi-kubernetes
 * provider/pkg/await/service.go, v4.25), which was most of a one-app `up` on the local cluster (bench/rollout.ts).
 * A LoadBalancer Service keeps it: there the await also waits for the load balancer's address.
 */
export function skipServiceAwait(app: AppConfig): boolean {
    return app.service.type !== "LoadBalancer";
}

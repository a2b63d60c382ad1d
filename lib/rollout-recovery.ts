/**
 * Recovering an OrderedReady StatefulSet whose rolling update is stuck on a pod that never turns Ready, when `up`
 * changes its template again (typically the revert of a bad change).
 *
 * Why it sticks: under `podManagementPolicy: OrderedReady` the StatefulSet controller waits for every pod to be Running
 * and Ready before it replaces the next one, and that includes a pod of an outdated revision. After a revert, the
 * pod made from the bad template is outdated and never turns Ready, so the controller waits forever
 * (kubernetes#67250). Kubernetes' documented fix is manual: "After reverting the template, you must also delete any
 * Pods that StatefulSet had already attempted to run with the bad configuration"
 * (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback). A Parallel StatefulSet
 * replaces such a pod by itself.
 *
 * What the program does: while `up` waits for an app's OrderedReady RollingUpdate StatefulSet (or its Helm release),
 * it deletes the pods of that StatefulSet that are (1) at or above the partition and not on its update revision,
 * (2) not Ready for longer than {@link stuckBudget} allows (its containers running past the startup probe's budget and
 * the readiness probe's failure window; a pod whose containers do not run, past the whole per-pod budget the await
 * timeouts use) and (3) not already terminating. Why it is safe: such a pod serves nothing (not Ready, so no
 * Service endpoint and no PodDisruptionBudget budget to spend), the controller would delete it for the update anyway
 * as soon as it turned Ready, and deleting a pod keeps its PVC: the controller makes it again, on the update
 * revision, with the same name and claim. Each delete carries the pod's UID as a precondition, so a pod made again in
 * the meantime is never hit. Nothing happens in `preview`, under `OnDelete` (the user replaces pods there), below the
 * partition, or while the pods are Ready or on the update revision, so an `up` that does not change the template
 * touches no pod.
 */
import type { AppConfig } from "../config/schema";
import { podAvailableSeconds, startupBudgetSeconds, statefulSetTimeouts } from "./awaits";
import { ClusterConnection, deleteJson, getJson, getJsonIfExists } from "./kube-client";
import { workloadNames } from "./names";

/** The label the StatefulSet controller puts on each pod: the name of the ControllerRevision it was made from. */
export const REVISION_LABEL = "controller-revision-hash";

/** Seconds between two looks at the StatefulSet and its pods while `up` waits. */
export const RECOVERY_POLL_SECONDS = 2;

/**
 * Container waiting reasons of an image that will not come (`status.containerStatuses[].state.waiting.reason`; the
 * kubelet's images package): a pod in one of them never starts on its revision, however long it is given.
 */
export const IMAGE_WAIT_REASONS = ["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"] as const;

/** What {@link stuckPods} needs of a live pod. */
export interface LivePod {
    readonly name: string;
    readonly uid: string;
    /** Its `controller-revision-hash` label. */
    readonly revision?: string;
    readonly ready: boolean;
    /** When the Ready condition last changed (or the pod started), in milliseconds since the epoch. */
    readonly readySinceMs?: number;
    /** When the last of its containers started running, in milliseconds since the epoch; undefined while any is not running. */
    readonly runningSinceMs?: number;
    /** The pod has a `deletionTimestamp`. */
    readonly terminating: boolean;
    /** A container waits for an image that will not come ({@link IMAGE_WAIT_REASONS}): the reason. */
    readonly imageBlocked?: string;
}

/** What {@link stuckPods} needs of the live StatefulSet. */
export interface LiveRollout {
    readonly name: string;
    readonly podManagementPolicy: string;
    /** `spec.updateStrategy.type`: `RollingUpdate` (the API server's default) or `OnDelete`. */
    readonly updateStrategy: string;
    /** `spec.updateStrategy.rollingUpdate.partition` (0 when unset). */
    readonly partition: number;
    /** `status.updateRevision`, once the controller reported one. */
    readonly updateRevision?: string;
}

/** How long, in seconds, a pod may be not Ready before {@link stuckPods} counts it as stuck. */
export interface StuckBudget {
    /** With all its containers running: the startup probe's whole budget, then the readiness probe's failure window. */
    readonly runningSeconds: number;
    /** Otherwise (not scheduled, pulling, crash-looping): the whole per-pod budget of the await timeouts. */
    readonly otherwiseSeconds: number;
}

/**
 * {@link StuckBudget} of `app`: running, `startupBudgetSeconds + readiness.initialDelaySeconds +
 * readiness.failureThreshold × readiness.periodSeconds` (by then the kubelet has judged it with every probe);
 * otherwise `podAvailableSeconds` (lib/awaits.ts: start allowance, probes, minReadySeconds).
 */
export function stuckBudget(app: AppConfig): StuckBudget {
    const r = app.probes.readiness;
    return {
        runningSeconds: startupBudgetSeconds(app) + r.initialDelaySeconds + r.failureThreshold * r.periodSeconds,
        otherwiseSeconds: podAvailableSeconds(app),
    };
}

/**
 * The pods to delete (see the module comment): of an OrderedReady RollingUpdate StatefulSet, at or above its
 * partition, not on `updateRevision`, not terminating, and not Ready for longer than `budget` allows at `nowMs`:
 * counted from the later of the Ready condition's last change and the containers' start when they run. A pod whose
 * image will not come (`imageBlocked`) is stuck at once: no budget makes it start on its revision.
 */
export function stuckPods(sts: LiveRollout, pods: readonly LivePod[], nowMs: number, budget: StuckBudget): LivePod[] {
    if (sts.podManagementPolicy !== "OrderedReady" || sts.updateStrategy !== "RollingUpdate" || !sts.updateRevision) return [];
    const ordinal = (p: LivePod) => (p.name.startsWith(`${sts.name}-`) ? Number(p.name.slice(sts.name.length + 1)) : NaN);
    const unreadyLongEnough = (p: LivePod) =>
        p.imageBlocked !== undefined ||
        (p.runningSinceMs !== undefined
            ? nowMs - Math.max(p.runningSinceMs, p.readySinceMs ?? 0) >= budget.runningSeconds * 1000
            : nowMs - (p.readySinceMs ?? nowMs) >= budget.otherwiseSeconds * 1000);
    return pods.filter(
        (p) =>
            ordinal(p) >= sts.partition && p.revision !== undefined && p.revision !== sts.updateRevision && !p.ready && !p.terminating && unreadyLongEnough(p),
    );
}

/**
 * How long the watcher looks at most, in seconds: as long as `up` may wait for the app (the StatefulSet's update
 * timeout, lib/awaits.ts; Helm's `--wait` timeout for a Helm app). A step that failed or never settles stops it too.
 */
export function watchSeconds(app: AppConfig): number {
    const { createSeconds, updateSeconds } = statefulSetTimeouts(app);
    return app.deployWith === "helm" ? app.helm.timeoutSeconds : Math.max(createSeconds, updateSeconds);
}

/** A pod of the API's JSON as {@link LivePod}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function livePod(p: any): LivePod {
    const ready = (p.status?.conditions ?? []).find((c: { type?: string }) => c.type === "Ready");
    const since = ready?.lastTransitionTime ?? p.status?.startTime;
    const statuses = (p.status?.containerStatuses ?? []) as { state?: { running?: { startedAt?: string }; waiting?: { reason?: string } } }[];
    const blocked = [...(p.status?.initContainerStatuses ?? []), ...statuses]
        .map((c: { state?: { waiting?: { reason?: string } } }) => c.state?.waiting?.reason)
        .find((r): r is string => r !== undefined && (IMAGE_WAIT_REASONS as readonly string[]).includes(r));
    const started = statuses.map((c) => c.state?.running?.startedAt);
    const running = statuses.length > 0 && started.every((t) => t !== undefined) ? Math.max(...started.map((t) => Date.parse(t!))) : undefined;
    return {
        name: p.metadata?.name ?? "",
        uid: p.metadata?.uid ?? "",
        revision: p.metadata?.labels?.[REVISION_LABEL],
        ready: ready?.status === "True",
        ...(since ? { readySinceMs: Date.parse(since) } : {}),
        ...(running !== undefined ? { runningSinceMs: running } : {}),
        terminating: Boolean(p.metadata?.deletionTimestamp),
        ...(blocked ? { imageBlocked: blocked } : {}),
    };
}

/**
 * Watches `app`'s StatefulSet in `namespace` every {@link RECOVERY_POLL_SECONDS} until `until` settles (the
 * StatefulSet's or release's step is done) or {@link watchSeconds} pass, deleting its {@link stuckPods} once each
 * and reporting each deletion through `log`. Its timers are unref'd: it never keeps the program alive. A look that
 * fails (no permission, an expired token) is reported through `log` once per distinct error and tried again at the
 * next look; nothing is thrown.
 *
 * Needs `get` on the StatefulSet and `list` and `delete` on pods in the namespace.
 */
export function recoverStuckRollout(conn: ClusterConnection, namespace: string, app: AppConfig, until: Promise<unknown>, log: (message: string) => void): void {
    const name = workloadNames(app.name).app;
    const ns = encodeURIComponent(namespace);
    const deleted = new Set<string>();
    const reported = new Set<string>();
    const deadline = Date.now() + watchSeconds(app) * 1000;
    let done = false;
    until.then(
        () => (done = true),
        () => (done = true),
    );
    const look = async (): Promise<void> => {
        // Not there yet (the same up is creating it) is no error: nothing to look after until it is.
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const sts: any = await getJsonIfExists(conn, `/apis/apps/v1/namespaces/${ns}/statefulsets/${encodeURIComponent(name)}`);
        if (sts === undefined) return;
        const selector = Object.entries((sts.spec?.selector?.matchLabels ?? {}) as Record<string, string>)
            .map(([k, v]) => `${k}=${v}`)
            .join(",");
        if (!selector) return;
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const list = (await getJson(conn, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`)) as { items?: any[] };
        const owned = (list.items ?? []).filter((p) => (p.metadata?.ownerReferences ?? []).some((o: { uid?: string }) => o.uid === sts.metadata?.uid));
        const rollout: LiveRollout = {
            name,
            podManagementPolicy: sts.spec?.podManagementPolicy ?? "OrderedReady",
            updateStrategy: sts.spec?.updateStrategy?.type ?? "RollingUpdate",
            partition: sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0,
            updateRevision: sts.status?.updateRevision,
        };
        const budget = stuckBudget(app);
        for (const pod of stuckPods(rollout, owned.map(livePod), Date.now(), budget).filter((p) => !deleted.has(p.uid))) {
            if (done) return;
            deleted.add(pod.uid);
            await deleteJson(conn, `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(pod.name)}`, pod.uid);
            log(
                `deleted pod ${pod.name} of the OrderedReady StatefulSet ${name}: ${pod.imageBlocked ? `its image will not come (${pod.imageBlocked})` : `not Ready for over ${pod.runningSinceMs !== undefined ? `${budget.runningSeconds} s with its containers running` : `${budget.otherwiseSeconds} s`}`} on revision ${pod.revision} while the StatefulSet updates to ${rollout.updateRevision}; the controller waits for such a pod forever (kubernetes#67250) and now makes it again on the update revision, with the same PVC (docs/DAY-2.md "Day-2 operations")`,
            );
        }
    };
    const tick = (): void => {
        if (done || Date.now() > deadline) return;
        look()
            .catch((e: Error) => {
                if (!reported.has(e.message)) {
                    reported.add(e.message);
                    log(`cannot look after the rollout of StatefulSet ${name} (tried again every ${RECOVERY_POLL_SECONDS} s): ${e.message}`);
                }
            })
            .finally(() => {
                if (!done) setTimeout(tick, RECOVERY_POLL_SECONDS * 1000).unref();
            });
    };
    setTimeout(tick, RECOVERY_POLL_SECONDS * 1000).unref();
}

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
 * What the program does: while `up` waits for an app's OrderedReady StatefulSet (or its Helm release), it deletes
 * the pods of that StatefulSet that are (1) not on its update revision, (2) not Ready for longer than their startup
 * and readiness probes allow ({@link stuckAfterSeconds}) and (3) not already terminating. Why it is safe: such a pod
 * serves nothing (not Ready, so no Service endpoint and no PodDisruptionBudget budget to spend), the controller would
 * delete it for the update anyway as soon as it turned Ready, and deleting a pod keeps its PVC: the controller makes
 * it again, on the update revision, with the same name and claim. Nothing happens in `preview`, and nothing while the
 * pods are Ready or on the update revision, so an `up` that does not change the template touches no pod.
 */
import type { AppConfig } from "../config/schema";
import { ClusterConnection, deleteJson, getJson } from "./kube-api";
import { workloadNames } from "./names";

/** The label the StatefulSet controller puts on each pod: the name of the ControllerRevision it was made from. */
export const REVISION_LABEL = "controller-revision-hash";

/** Seconds between two looks at the StatefulSet and its pods while `up` waits. */
export const RECOVERY_POLL_SECONDS = 2;

/** What {@link stuckPods} needs of a live pod. */
export interface LivePod {
    readonly name: string;
    readonly uid: string;
    /** Its `controller-revision-hash` label. */
    readonly revision?: string;
    readonly ready: boolean;
    /** When the Ready condition last changed (or the pod started), in milliseconds since the epoch. */
    readonly readySinceMs?: number;
    /** The pod has a `deletionTimestamp`. */
    readonly terminating: boolean;
}

/**
 * Seconds a pod may be not Ready before it counts as stuck: the startup probe's whole budget (when there is one)
 * plus the readiness probe's (`initialDelaySeconds + failureThreshold × periodSeconds`), i.e. the time after which the
 * kubelet has judged it at least once with every probe.
 */
export function stuckAfterSeconds(app: AppConfig): number {
    const { startup, readiness } = app.probes;
    const startupBudget = startup ? startup.initialDelaySeconds + startup.failureThreshold * startup.periodSeconds : 0;
    return startupBudget + readiness.initialDelaySeconds + readiness.failureThreshold * readiness.periodSeconds;
}

/**
 * The pods to delete (see the module comment): not on `updateRevision`, not Ready for more than `afterSeconds` at
 * `nowMs`, not terminating. Empty unless the StatefulSet is OrderedReady and reports an update revision.
 */
export function stuckPods(
    sts: { podManagementPolicy: string; updateRevision?: string },
    pods: readonly LivePod[],
    nowMs: number,
    afterSeconds: number,
): LivePod[] {
    if (sts.podManagementPolicy !== "OrderedReady" || !sts.updateRevision) return [];
    return pods.filter(
        (p) =>
            p.revision !== undefined &&
            p.revision !== sts.updateRevision &&
            !p.ready &&
            !p.terminating &&
            nowMs - (p.readySinceMs ?? nowMs) >= afterSeconds * 1000,
    );
}

/** A pod of the API's JSON as {@link LivePod}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function livePod(p: any): LivePod {
    const ready = (p.status?.conditions ?? []).find((c: { type?: string }) => c.type === "Ready");
    const since = ready?.lastTransitionTime ?? p.status?.startTime;
    return {
        name: p.metadata?.name ?? "",
        uid: p.metadata?.uid ?? "",
        revision: p.metadata?.labels?.[REVISION_LABEL],
        ready: ready?.status === "True",
        ...(since ? { readySinceMs: Date.parse(since) } : {}),
        terminating: Boolean(p.metadata?.deletionTimestamp),
    };
}

/**
 * Watches `app`'s StatefulSet in `namespace` every {@link RECOVERY_POLL_SECONDS} until `until` settles (the
 * StatefulSet's or release's step is done), deleting its {@link stuckPods} once each and reporting each deletion
 * through `log`. Its timers are unref'd: it never keeps the program alive. Errors of single looks are ignored (the
 * next look tries again); nothing is thrown.
 *
 * Needs `get` on the StatefulSet and `list` and `delete` on pods in the namespace.
 */
export function recoverStuckRollout(conn: ClusterConnection, namespace: string, app: AppConfig, until: Promise<unknown>, log: (message: string) => void): void {
    const name = workloadNames(app.name).app;
    const ns = encodeURIComponent(namespace);
    const deleted = new Set<string>();
    let done = false;
    until.then(
        () => (done = true),
        () => (done = true),
    );
    const look = async (): Promise<void> => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const sts = (await getJson(conn, `/apis/apps/v1/namespaces/${ns}/statefulsets/${encodeURIComponent(name)}`)) as any;
        const selector = Object.entries((sts.spec?.selector?.matchLabels ?? {}) as Record<string, string>)
            .map(([k, v]) => `${k}=${v}`)
            .join(",");
        if (!selector) return;
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const list = (await getJson(conn, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`)) as { items?: any[] };
        const owned = (list.items ?? []).filter((p) => (p.metadata?.ownerReferences ?? []).some((o: { uid?: string }) => o.uid === sts.metadata?.uid));
        const updateRevision = sts.status?.updateRevision;
        const stuck = stuckPods(
            { podManagementPolicy: sts.spec?.podManagementPolicy ?? "OrderedReady", updateRevision },
            owned.map(livePod),
            Date.now(),
            stuckAfterSeconds(app),
        );
        for (const pod of stuck.filter((p) => !deleted.has(p.uid))) {
            if (done) return;
            deleted.add(pod.uid);
            await deleteJson(conn, `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(pod.name)}`);
            log(
                `deleted pod ${pod.name} of the OrderedReady StatefulSet ${name}: not Ready for over ${stuckAfterSeconds(app)} s on revision ${pod.revision} while the StatefulSet updates to ${updateRevision}; the controller waits for such a pod forever (kubernetes#67250) and now makes it again on the update revision, with the same PVC (README "Day-2 operations")`,
            );
        }
    };
    const tick = (): void => {
        if (done) return;
        look()
            .catch(() => undefined)
            .finally(() => {
                if (!done) setTimeout(tick, RECOVERY_POLL_SECONDS * 1000).unref();
            });
    };
    setTimeout(tick, RECOVERY_POLL_SECONDS * 1000).unref();
}

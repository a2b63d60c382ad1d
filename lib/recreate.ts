/**
 * Recreating a native app's StatefulSet over its pods and PVCs, to apply a change of a field the API server keeps
 * immutable (kubernetes#68737). Pure functions of the app config and what the pre-flight read saw.
 *
 * The mechanism is Kubernetes' own (`kubectl delete statefulset --cascade=orphan`, then a new StatefulSet with the
 * same name and selector adopts the pods and, by name, their PVCs:
 * https://kubernetes.io/docs/tasks/run-application/delete-stateful-set/), driven by Pulumi: a replacement whose
 * delete uses `propagationPolicy: Orphan`. pulumi-kubernetes takes that policy from the annotation
 * `pulumi.com/deletionPropagationPolicy` (lib/names.ts DELETION_PROPAGATION_ANNOTATION) of the object *as the state holds it* (provider v4.25 pkg/await/await.go
 * `Deletion` reads the old inputs; "setting it on the replacement or on the live object is ineffective",
 * pulumi/pulumi-kubernetes#3011; orphan-on-replace only is the open pulumi/pulumi-kubernetes#3757). So it takes two
 * `up`s: {@link RecreatePhase} `mark` puts the annotation into the state (an in-place update), `recreate` replaces
 * the StatefulSet. A permanent annotation would do it in one, but then `pulumi destroy` would leave every pod
 * running without a controller.
 *
 * The phase is read from the live StatefulSet, the delete's policy from the state: they could disagree (an annotation
 * set by hand; an `up` killed after the mark's apply but before its checkpoint), and the provider's fallback is a
 * Foreground delete. So the mark also sets `persistentVolumeClaimRetentionPolicy.whenDeleted: Retain` (mutable), and
 * only a StatefulSet that carries both is recreated: even that Foreground delete then keeps every PVC (it would stop
 * the pods, which the new StatefulSet starts again on the same claims). The recreated StatefulSet has the configured
 * policy again.
 */
import type { AppConfig } from "../config/schema";
import type { LiveStatefulSet } from "./kube-api";
import { parseQuantity } from "./quantity";

/**
 * Where an app's StatefulSet is on the way to a recreate:
 * - `none`: nothing to recreate (no live StatefulSet, no immutable change, or `allowStatefulSetRecreate` off);
 * - `mark`: this `up` annotates the StatefulSet for an orphaning delete and keeps ignoring the immutable fields;
 * - `recreate`: the live StatefulSet carries the annotation: this `up` replaces it (delete with `Orphan`, then create).
 */
export type RecreatePhase = "none" | "mark" | "recreate";

/** What {@link recreatePlan} decided, and the immutable changes it is for (for warnings and outputs). */
export interface RecreatePlan {
    readonly phase: RecreatePhase;
    /** Each change in words, e.g. `podManagementPolicy from Parallel to OrderedReady`. Empty for no change. */
    readonly changes: string[];
}

/** One field the config sets that differs from the live StatefulSet and that the API server refuses to change. */
export interface ImmutableFieldChange {
    readonly field: "podManagementPolicy" | "storage.size";
    /** What the live StatefulSet has (its `podManagementPolicy`, or the size its volumeClaimTemplates ask). */
    readonly live: string;
    /** What the config says. */
    readonly wanted: string;
}

/**
 * The fields the config sets that differ from the live StatefulSet and that the API server refuses to change:
 * `podManagementPolicy` and the size the volumeClaimTemplates ask, compared as quantities (k8s.io/kubernetes
 * pkg/apis/apps/validation ValidateStatefulSetUpdate: only replicas, template, updateStrategy,
 * persistentVolumeClaimRetentionPolicy, minReadySeconds and ordinals may change). config/live.ts words its warnings
 * from these; {@link immutableChanges} is the same list in words.
 */
export function immutableFieldChanges(app: AppConfig, live: LiveStatefulSet): ImmutableFieldChange[] {
    const changes: ImmutableFieldChange[] = [];
    if (live.podManagementPolicy !== app.podManagementPolicy) {
        changes.push({ field: "podManagementPolicy", live: live.podManagementPolicy, wanted: app.podManagementPolicy });
    }
    const size = parseQuantity(app.storage.size);
    if (live.claimSize !== undefined && size !== undefined && parseQuantity(live.claimSize) !== size) {
        changes.push({ field: "storage.size", live: live.claimSize, wanted: app.storage.size });
    }
    return changes;
}

/** {@link immutableFieldChanges} in words, e.g. `podManagementPolicy from Parallel to OrderedReady`. */
export function immutableChanges(app: AppConfig, live: LiveStatefulSet): string[] {
    return immutableFieldChanges(app, live).map((c) =>
        c.field === "podManagementPolicy" ? `podManagementPolicy from ${c.live} to ${c.wanted}` : `volumeClaimTemplates storage from ${c.live} to ${c.wanted}`,
    );
}

/**
 * The recreate phase of `app` given its live StatefulSet (`undefined` when there is none). Only native apps with
 * `allowStatefulSetRecreate` leave `none`; `recreate` needs both marks on the live StatefulSet (the orphan annotation
 * and `whenDeleted: Retain`), otherwise the phase is `mark` (again). A StatefulSet marked by an earlier `up` whose
 * change was then reverted is `none`: it is registered without the marks, so that `up` removes them.
 */
export function recreatePlan(app: AppConfig, live: LiveStatefulSet | undefined): RecreatePlan {
    const changes = live ? immutableChanges(app, live) : [];
    if (!live || changes.length === 0 || !app.allowStatefulSetRecreate || app.deployWith !== "native") {
        return { phase: "none", changes };
    }
    return { phase: live.orphanOnDelete && (live.whenDeleted ?? "Retain") === "Retain" ? "recreate" : "mark", changes };
}

/**
 * The app as the StatefulSet of phase `phase` is built from: for `mark`, with `pvcRetention.whenDeleted: Retain`
 * (see the module comment); otherwise `app` itself.
 */
export function appForPhase(app: AppConfig, phase: RecreatePhase): AppConfig {
    return phase === "mark" ? { ...app, pvcRetention: { ...app.pvcRetention, whenDeleted: "Retain" } } : app;
}

/**
 * The apps whose StatefulSet an `up` marked for a recreate, from the stack output `workloads`
 * (`workloads.<app>.recreatePending`): the next `up` replaces them. Anything else in the output is ignored.
 */
export function pendingRecreates(workloads: unknown): string[] {
    if (typeof workloads !== "object" || workloads === null) return [];
    return Object.entries(workloads as Record<string, { recreatePending?: unknown }>)
        .filter(([, w]) => w?.recreatePending === true)
        .map(([app]) => app);
}

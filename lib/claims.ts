/**
 * The size of each replica's PersistentVolumeClaim, held at `storage.size` by one server-side-apply patch per
 * ordinal (`PersistentVolumeClaimPatch`), on either deployment path. Pure functions of the app config.
 *
 * Why patches and not the volumeClaimTemplates: the templates are immutable (kubernetes#68737) and the StatefulSet
 * controller never resizes a claim it already made, so a larger `storage.size` reaches existing PVCs only by
 * expanding each of them (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#expanding-persistent-volumes-claims).
 * One patch per ordinal below `replicas`, always registered (not only while a claim is smaller), so the stack's
 * resources do not depend on what the cluster holds and a `preview` after `up` shows no changes; a new ordinal's
 * claim, made by the controller from the old template, is expanded by its patch in the same `up`.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "../config/schema";
import { SKIP_AWAIT_ANNOTATION } from "./awaits";
import { claimName, selectorLabels } from "./names";

/**
 * pulumi-kubernetes' annotation that makes a server-side apply take fields another field manager owns (`"true"`).
 * The PVCs are made by the StatefulSet controller (field manager `kube-controller-manager`), which owns
 * `spec.resources.requests.storage` until the first patch that changes it.
 */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/** The ordinals whose claims the stack holds at `storage.size`: `0 … replicas - 1`. */
export function claimOrdinals(app: AppConfig): number[] {
    return Array.from({ length: app.replicas }, (_, i) => i);
}

/** The names of the claims that have a patch ({@link claimOrdinals}): `data-<app>-0 … data-<app>-<replicas - 1>`. */
export function patchedClaimNames(app: AppConfig): Set<string> {
    return new Set(claimOrdinals(app).map((ordinal) => claimName(app.name, ordinal)));
}

/**
 * The patch of ordinal `ordinal`'s claim (`data-<app>-<ordinal>`): `spec.resources.requests.storage` at
 * `storage.size`, with the access modes, StorageClass and labels of the volumeClaimTemplate (lib/workload.ts
 * `volumeClaimTemplates`). Those make the patch a valid claim of its own, so that when it runs before the controller
 * made the claim (a new ordinal of a partitioned StatefulSet, which `up` does not wait for) it creates the very claim
 * the controller would have made, and the controller adopts it by name instead of failing. Once the claim exists,
 * only the size changes: the other fields are immutable and equal.
 *
 * Annotations: {@link PATCH_FORCE_ANNOTATION} (take the size from the controller) and `pulumi.com/skipAwait` (the
 * provider would wait for the claim to be Bound, or Pending under `WaitForFirstConsumer`; an expansion finishes when
 * the storage driver resized the volume, which no await covers).
 */
export function claimPatchArgs(
    app: AppConfig,
    ordinal: number,
    namespace: k8s.types.input.meta.v1.ObjectMeta["namespace"],
): k8s.core.v1.PersistentVolumeClaimPatchArgs {
    return {
        metadata: {
            name: claimName(app.name, ordinal),
            namespace,
            labels: selectorLabels(app.name),
            annotations: { [PATCH_FORCE_ANNOTATION]: "true", [SKIP_AWAIT_ANNOTATION]: "true" },
        },
        spec: {
            accessModes: [...app.storage.accessModes],
            ...(app.storage.storageClass ? { storageClassName: app.storage.storageClass } : {}),
            resources: { requests: { storage: app.storage.size } },
        },
    };
}

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { claimOrdinals, claimPatchArgs } from "../lib/claims";
import type { AppConfig } from "../config/schema";

/**
 * One `PersistentVolumeClaimPatch` per ordinal below `replicas` (lib/claims.ts), holding each replica's PVC at
 * `storage.size`: a larger size expands every existing claim in the `up` that sets it, on either deployment path.
 * The program refuses the size first when a claim's StorageClass does not allow expansion, or when it is smaller
 * than a claim (config/live.ts). Created after the workload (`dependsOn` it), when its claims exist.
 *
 * `retainOnDelete`: removing a patch (scaling down) leaves the claim and its size as they are. The provider would
 * otherwise give up the patch's fields, and a PVC cannot lose `spec.resources.requests.storage` (the API server
 * refuses it: "Required value").
 *
 * @param name Pulumi resource name prefix; the patches are `<name>-claim-<ordinal>`.
 * @param app the app, validated by `config/`.
 * @param namespace the app's namespace.
 * @param opts resource options; pass `dependsOn: [workload]`.
 */
export function createClaimPatches(
    name: string,
    app: AppConfig,
    namespace: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.PersistentVolumeClaimPatch[] {
    return claimOrdinals(app).map(
        (ordinal) =>
            new k8s.core.v1.PersistentVolumeClaimPatch(`${name}-claim-${ordinal}`, claimPatchArgs(app, ordinal, namespace), { ...opts, retainOnDelete: true }),
    );
}

/**
 * The config against what the stack's namespace holds (lib/kube-api.ts reads it before anything is registered).
 */
import type { LiveNamespace } from "../lib/kube-api";
import { workloadNames } from "../lib/names";
import { parseQuantity } from "../lib/quantity";
import { ConfigProblem, configKey } from "./errors";
import type { StackConfig } from "./schema";

/** The outcome of comparing the config with what is deployed. */
export interface DeployedCheck {
    /** Changes Kubernetes would reject; `up` must stop. */
    readonly problems: ConfigProblem[];
    /** Changes that are allowed but do not take effect by themselves. */
    readonly warnings: string[];
}

/**
 * Compares the config with what the stack's namespace holds (`live`: every PVC, name and requested size, and every
 * StatefulSet's immutable fields).
 *
 * Problems (the run must stop): a `storage.size` below the largest of the app's PVCs (`data-<app>-<ordinal>`). A PVC
 * can never shrink (the API server rejects `spec.resources.requests.storage` below the previous value,
 * https://kubernetes.io/docs/concepts/storage/persistent-volumes/#expanding-persistent-volumes-claims), and a
 * StatefulSet adopts existing PVCs by name, whatever its volumeClaimTemplates say.
 *
 * Warnings (allowed, but they do not take effect by themselves): a `storage.size` above some PVCs (they keep their
 * size until expanded; the StorageClass must allow it); a `podManagementPolicy` or `storage.size` that differs from
 * the live StatefulSet's, fields the API server refuses to change (kubernetes#68737) and that the program therefore
 * ignores after creation, with the recipe that applies them (README "Safety rules"). Nothing live: nothing to say.
 */
export function checkAgainstLive(cfg: StackConfig, live: LiveNamespace): DeployedCheck {
    const problems: ConfigProblem[] = [];
    const warnings: string[] = [];
    cfg.apps.forEach((app, i) => {
        const sizeKey = configKey(["apps", i, "storage", "size"]);
        const now = parseQuantity(app.storage.size);
        const sts = live.statefulSets.find((s) => s.name === workloadNames(app.name).app);
        if (sts) {
            const recipe =
                app.deployWith === "native"
                    ? `it is immutable, so the program leaves it as it is; to apply it, run \`kubectl -n ${cfg.namespace.name} delete statefulset ${sts.name} --cascade=orphan\`, then \`pulumi up --refresh\` (pods and PVCs are kept; README "Safety rules")`
                    : 'it is immutable, so the release leaves it as it is (recreating a release\'s StatefulSet is not automated yet; README "Safety rules")';
            if (sts.podManagementPolicy !== app.podManagementPolicy) {
                warnings.push(
                    `${configKey(["apps", i, "podManagementPolicy"])} is ${app.podManagementPolicy}, but the live StatefulSet ${sts.name} has ${sts.podManagementPolicy}: ${recipe}`,
                );
            }
            if (sts.claimSize !== undefined && now !== undefined && parseQuantity(sts.claimSize) !== now) {
                warnings.push(
                    `${sizeKey} is ${app.storage.size}, but the live StatefulSet ${sts.name}'s volumeClaimTemplates ask ${sts.claimSize} (what new ordinals get): ${recipe}`,
                );
            }
        }
        const own = new RegExp(`^${workloadNames(app.name).volumeClaim}-${app.name}-\\d+$`);
        const sized = live.claims.filter((c) => own.test(c.name)).map((c) => ({ ...c, bytes: parseQuantity(c.size) ?? 0 }));
        if (sized.length === 0 || now === undefined) {
            return;
        }
        const largest = sized.reduce((a, b) => (b.bytes > a.bytes ? b : a));
        const smaller = sized.filter((c) => c.bytes < now);
        if (now < largest.bytes) {
            problems.push({
                key: sizeKey,
                message: `is smaller than the live PVC ${largest.name} (${largest.size}); a PersistentVolumeClaim cannot shrink and the StatefulSet re-uses it by name. Keep ${largest.size} or more, or move the data to a new app`,
                given: app.storage.size,
            });
        } else if (smaller.length > 0) {
            const list = smaller.map((c) => `${c.name} (${c.size})`).join(", ");
            warnings.push(
                `${sizeKey} is ${app.storage.size}, but PVCs ${list} are smaller: they keep their size until expanded (kubectl patch pvc <name> -p '{"spec":{"resources":{"requests":{"storage":"${app.storage.size}"}}}}'; the StorageClass must allow expansion)`,
            );
        }
    });
    return { problems, warnings };
}

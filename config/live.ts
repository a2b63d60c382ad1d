/**
 * The config against what the stack's namespace holds (lib/kube-api.ts reads it before anything is registered).
 */
import type { LiveClaim, LiveNamespace } from "../lib/kube-api";
import { patchedClaimNames } from "../lib/claims";
import { claimNamePattern, DELETION_PROPAGATION_ANNOTATION, workloadNames } from "../lib/names";
import { parseQuantity } from "../lib/quantity";
import { immutableFieldChanges, RecreatePlan, recreatePlan } from "../lib/recreate";
import { ConfigProblem, configKey } from "./errors";
import { membershipProblems } from "./peer-rules";
import { describeStep, MembershipStep, membershipStep } from "../lib/membership";
import type { StackConfig } from "./schema";

/** The outcome of comparing the config with what is deployed. */
export interface DeployedCheck {
    /** Changes Kubernetes would reject; `up` must stop. */
    readonly problems: ConfigProblem[];
    /** What `up` will do, and changes that are allowed but do not take effect by themselves. */
    readonly warnings: string[];
    /** Per app name: the StatefulSet recreate phase (lib/recreate.ts), `none` for apps without a live StatefulSet. */
    readonly plans: ReadonlyMap<string, RecreatePlan>;
    /** Per app name: the membership step this `up` runs (lib/membership.ts), for apps that need one. */
    readonly steps: ReadonlyMap<string, MembershipStep>;
}

/** An app's live claims (`data-<app>-<ordinal>`) with their sizes in bytes. */
function claimsOf(app: StackConfig["apps"][number], claims: readonly LiveClaim[]): (LiveClaim & { bytes: number })[] {
    const own = claimNamePattern(app.name);
    return claims.filter((c) => own.test(c.name)).map((c) => ({ ...c, bytes: parseQuantity(c.size) ?? 0 }));
}

/** The live claims that each app's `storage.size` would grow (smaller than it), in app order. */
function growingClaims(cfg: StackConfig, claims: readonly LiveClaim[]): (LiveClaim & { bytes: number })[][] {
    return cfg.apps.map((app) => {
        const now = parseQuantity(app.storage.size);
        return now === undefined ? [] : claimsOf(app, claims).filter((c) => c.bytes < now);
    });
}

/**
 * A claim's StorageClass and access modes cannot change (core/validation ValidatePersistentVolumeClaimUpdate: the spec
 * is immutable but for `resources.requests` and `volumeAttributesClassName`), and the claim patches of ordinals below
 * `replicas` (lib/claims.ts) send both: a config that differs from a live claim would fail them mid-`up`.
 */
function claimFieldProblems(app: StackConfig["apps"][number], i: number, claims: readonly LiveClaim[]): ConfigProblem[] {
    const patched = patchedClaimNames(app);
    const problems: ConfigProblem[] = [];
    const wanted = app.storage.storageClass;
    const otherClass = claims.find((c) => patched.has(c.name) && wanted !== undefined && c.storageClass !== wanted);
    if (otherClass) {
        problems.push({
            key: configKey(["apps", i, "storage", "storageClass"]),
            message: `differs from the live PVC ${otherClass.name}'s StorageClass (${otherClass.storageClass ?? "none"}); a PersistentVolumeClaim's class cannot change. Keep ${otherClass.storageClass ?? "it unset"}, or move the data to a new app`,
            given: wanted,
        });
    }
    // In order: the claim patch sends the list as configured, and the API server compares the spec as it is.
    const modes = app.storage.accessModes.join(",");
    const otherModes = claims.find((c) => patched.has(c.name) && c.accessModes !== undefined && c.accessModes.join(",") !== modes);
    if (otherModes) {
        problems.push({
            key: configKey(["apps", i, "storage", "accessModes"]),
            message: `differ from the live PVC ${otherModes.name}'s (${otherModes.accessModes?.join(", ")}); a PersistentVolumeClaim's access modes cannot change. Keep them, or move the data to a new app`,
            given: app.storage.accessModes,
        });
    }
    return problems;
}

/**
 * The StorageClasses to read before {@link checkAgainstLive}: those of the live claims that a larger `storage.size`
 * would grow (lib/kube-api.ts `readNamespace`'s `classesFor`). Empty when nothing grows, so that a stack that does
 * not grow storage needs no permission on StorageClasses.
 */
export function classesToRead(cfg: StackConfig, claims: readonly LiveClaim[]): string[] {
    return [...new Set(growingClaims(cfg, claims).flatMap((cs) => cs.flatMap((c) => (c.storageClass ? [c.storageClass] : []))))];
}

/**
 * Compares the config with what the stack's namespace holds (`live`: every PVC, name and requested size, and every
 * StatefulSet's immutable fields).
 *
 * Problems (the run must stop): a `storage.size` below the largest of the app's PVCs (`data-<app>-<ordinal>`). A PVC
 * can never shrink (the API server rejects `spec.resources.requests.storage` below the previous value,
 * https://kubernetes.io/docs/concepts/storage/persistent-volumes/#expanding-persistent-volumes-claims), and a
 * StatefulSet adopts existing PVCs by name, whatever its volumeClaimTemplates say. A `storage.size` above a PVC
 * whose StorageClass does not allow expansion (`allowVolumeExpansion` unset or false in `live.storageClasses`, or no
 * class): the API server's PersistentVolumeClaimResize admission would refuse the claim patches mid-`up`.
 *
 * Warnings (allowed; preview says what `up` will do): a `storage.size` above some PVCs (this `up` expands them
 * through the claim patches, lib/claims.ts); a `podManagementPolicy` or `storage.size` that differs from the live
 * StatefulSet's, fields the API server refuses to change (kubernetes#68737) and that the program therefore ignores
 * after creation, with the recipe that applies them (docs/DAY-2.md "Day-2 operations"); with `allowStatefulSetRecreate`, what
 * this `up` does towards the recreate instead (`plans`, lib/recreate.ts). Nothing live: nothing to say.
 */
export function checkAgainstLive(cfg: StackConfig, live: LiveNamespace): DeployedCheck {
    const problems: ConfigProblem[] = [];
    const warnings: string[] = [];
    const plans = new Map<string, RecreatePlan>();
    const steps = new Map<string, MembershipStep>();
    const growing = growingClaims(cfg, live.claims);
    cfg.apps.forEach((app, i) => {
        const sizeKey = configKey(["apps", i, "storage", "size"]);
        const now = parseQuantity(app.storage.size);
        const sts = live.statefulSets.find((s) => s.name === workloadNames(app.name).app);
        const plan = recreatePlan(app, sts);
        plans.set(app.name, plan);
        if (sts && plan.phase === "mark") {
            warnings.push(
                `${configKey(["apps", i, "allowStatefulSetRecreate"])}: this up marks the StatefulSet ${sts.name} for an orphaning delete (${DELETION_PROPAGATION_ANNOTATION}: orphan, and PVC retention whenDeleted: Retain until it is recreated) and changes nothing else of it; the next up recreates it for ${plan.changes.join(", ")}, keeping its pods and PVCs (npm run deploy runs that up itself)`,
            );
        } else if (sts && plan.phase === "recreate") {
            warnings.push(
                `${configKey(["apps", i, "allowStatefulSetRecreate"])}: this up replaces the StatefulSet ${sts.name} for ${plan.changes.join(", ")}: it deletes it with propagationPolicy Orphan (its pods keep running, its PVCs stay) and creates it anew, which adopts the pods (no restart while the pod template is the same) and the PVCs by name`,
            );
        } else if (sts) {
            const recipe =
                app.deployWith === "native"
                    ? `it is immutable, so the program leaves it as it is; to apply it, set ${configKey(["apps", i, "allowStatefulSetRecreate"])}: true and run up twice (npm run deploy does both), or run \`kubectl -n ${cfg.namespace.name} delete statefulset ${sts.name} --cascade=orphan\`, then \`pulumi up --refresh\` (pods and PVCs are kept; docs/DAY-2.md "Day-2 operations")`
                    : 'it is immutable, so the release leaves it as it is (a Helm release\'s StatefulSet cannot be recreated by Pulumi; docs/DAY-2.md "Day-2 operations")';
            // A size the PVCs cannot shrink to is refused below: no word about how the template would apply it.
            const refusedShrink = now !== undefined && claimsOf(app, live.claims).some((c) => c.bytes > now);
            for (const c of immutableFieldChanges(app, sts).filter((c) => !(c.field === "storage.size" && refusedShrink))) {
                warnings.push(
                    c.field === "podManagementPolicy"
                        ? `${configKey(["apps", i, "podManagementPolicy"])} is ${c.wanted}, but the live StatefulSet ${sts.name} has ${c.live}: ${recipe}`
                        : `${sizeKey} is ${c.wanted}, but the live StatefulSet ${sts.name}'s volumeClaimTemplates ask ${c.live}: new ordinals' PVCs are made at ${c.live} and then expanded by their patch; the template itself ${recipe.replace(/^it /, "")}`,
                );
            }
        }
        if (app.priorityClassName && live.priorityClasses && !live.priorityClasses.includes(app.priorityClassName)) {
            problems.push({
                key: configKey(["apps", i, "priorityClassName"]),
                message:
                    "names a PriorityClass the cluster does not have: the API server's Priority admission would refuse every pod, and the rollout would never finish. Create it first (kubectl get priorityclasses lists them), or leave the key unset",
                given: app.priorityClassName,
            });
        }
        const sized = claimsOf(app, live.claims);
        const wantedClass = app.storage.storageClass;
        if (wantedClass !== undefined && live.storageClassNames && !live.storageClassNames.includes(wantedClass)) {
            const classKey = configKey(["apps", i, "storage", "storageClass"]);
            const has = `the cluster has: ${live.storageClassNames.join(", ") || "none"}`;
            if (sized.length < app.replicas) {
                problems.push({
                    key: classKey,
                    message: `names a StorageClass the cluster does not have (${has}): the new PVCs would stay Pending and their pods would never start, while up waits into its timeout. Name one of those, or leave the key unset for the cluster's default class`,
                    given: wantedClass,
                });
            } else {
                warnings.push(
                    `${classKey} is ${wantedClass}, a StorageClass the cluster no longer has (${has}): the app's PVCs exist and stay bound, but a new ordinal's PVC (a scale-up, a deleted claim) would stay Pending`,
                );
            }
        }
        problems.push(...claimFieldProblems(app, i, sized), ...membershipProblems(app, i, sts));
        const step = membershipStep(app, sts?.replicas);
        if (step) {
            steps.set(app.name, step);
            warnings.push(`${configKey(["apps", i, "membership", step.step])}: ${describeStep(step)}`);
        }
        if (sized.length === 0 || now === undefined) {
            return;
        }
        const largest = sized.reduce((a, b) => (b.bytes > a.bytes ? b : a));
        const smaller = growing[i];
        if (now < largest.bytes) {
            problems.push({
                key: sizeKey,
                message: `is smaller than the live PVC ${largest.name} (${largest.size}); a PersistentVolumeClaim cannot shrink and the StatefulSet re-uses it by name. Keep ${largest.size} or more, or move the data to a new app`,
                given: app.storage.size,
            });
            return;
        }
        const stuck = smaller.filter((c) => !c.storageClass || !live.storageClasses.some((sc) => sc.name === c.storageClass && sc.allowVolumeExpansion));
        if (stuck.length > 0) {
            const why = stuck.map((c) => `${c.name} (${c.size}, ${c.storageClass ? `StorageClass ${c.storageClass}` : "no StorageClass"})`).join(", ");
            problems.push({
                key: sizeKey,
                message: `would grow PVCs that cannot be expanded: ${why}. Kubernetes expands only dynamically provisioned claims whose StorageClass sets allowVolumeExpansion: true (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#expanding-persistent-volumes-claims). Keep ${largest.size}, or allow expansion on the StorageClass if its storage driver can resize volumes`,
                given: app.storage.size,
            });
        } else if (smaller.length > 0) {
            const patched = patchedClaimNames(app);
            const running = smaller.filter((c) => patched.has(c.name));
            const later = smaller.filter((c) => !patched.has(c.name));
            const list = running.map((c) => `${c.name} from ${c.size} to ${app.storage.size}`).join(", ");
            warnings.push(
                `${sizeKey} is ${app.storage.size}: ` +
                    (running.length > 0
                        ? `this up expands PVCs ${list} through their claim patches (the volumes grow when the storage driver has resized them, file systems at the latest when each pod restarts; a claim made again since its patch last applied, e.g. deleted and remade from the template, needs \`up --refresh\`)`
                        : "no PVC of a running ordinal is smaller") +
                    (later.length > 0
                        ? `; PVCs ${later.map((c) => `${c.name} (${c.size})`).join(", ")} of ordinals above replicas grow when the app scales up to them`
                        : ""),
            );
        }
    });
    return { problems, warnings, plans, steps };
}

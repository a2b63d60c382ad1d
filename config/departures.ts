/**
 * Apps that an `up` would delete: deployed by this stack (a live StatefulSet) but no longer in `apps` under the same
 * name, namespace and deployment path. Pure functions of the config and the pre-flight read (lib/kube-api.ts).
 *
 * Pulumi deletes whatever the program stops registering, and a StatefulSet whose
 * `persistentVolumeClaimRetentionPolicy.whenDeleted` is `Delete` owns its PVCs, so the garbage collector deletes
 * them with it, those of ordinals kept by `whenScaled: Retain` included
 * (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#persistentvolumeclaim-retention). Removing an
 * app, renaming it (a new name is a new app) and moving the namespace (every namespaced object is replaced) all do
 * that, and none of it shows in a preview as more than a routine delete. So each is refused at preview, naming the key,
 * the PVCs and their sizes, unless `removedApps` says what happens to the app's data; switching `deployWith` is
 * refused with its recipe (the two paths' objects have the same names: the new path's creates meet the old path's
 * objects, and the `up` fails half-way).
 *
 * A StatefulSet belongs to this stack when it carries the annotation `stateful-apps/stack` with the stack's fully
 * qualified name (lib/names.ts STACK_ANNOTATION, stackIdentity), in any namespace; or, in the stack's own namespace,
 * when it is labelled `app.kubernetes.io/part-of: stateful-apps` and has no such annotation (deployed before the
 * annotation existed).
 */
import type { LiveClaim, LiveNamespace, LiveStatefulSet } from "../lib/kube-api";
import { claimNamePattern, PROJECT } from "../lib/names";
import { ConfigProblem, configKey } from "./errors";
import type { StackConfig } from "./schema";

/** Where the recipes of this module are written out, step by step (tested by tests/e2e/changes.e2e.ts). */
export const RECIPES_DOC = "docs/CHANGES.md";

/** An app this stack has deployed, as the cluster shows it. */
export interface DeployedApp {
    readonly name: string;
    readonly namespace: string;
    readonly deployWith: "native" | "helm";
    /** The live StatefulSet's `whenDeleted` (`Retain` when unset). */
    readonly whenDeleted: string;
    /** The app's PVCs (`data-<app>-<i>`) that its StatefulSet owns: deleted with it. */
    readonly owned: LiveClaim[];
    /** The app's other PVCs: they outlive the StatefulSet. */
    readonly unowned: LiveClaim[];
}

/** Whether a live StatefulSet belongs to stack `stack` (see the module comment). */
export function belongsToStack(s: LiveStatefulSet, stack: string, namespace: string): boolean {
    if (s.stack !== undefined) return s.stack === stack;
    return s.partOf === PROJECT && (s.namespace ?? namespace) === namespace;
}

/** The apps stack `stack` has deployed (in its namespace and, when the cluster-wide list was allowed, elsewhere). */
export function deployedApps(stack: string, namespace: string, live: LiveNamespace): DeployedApp[] {
    const here = live.statefulSets.map((s) => ({ ...s, namespace: s.namespace ?? namespace }));
    const elsewhere = (live.elsewhere?.statefulSets ?? []).map((s) => ({ ...s, namespace: s.namespace ?? namespace }));
    // One being deleted already is not something this up deletes.
    const all = [...here, ...elsewhere].filter((s) => belongsToStack(s, stack, namespace) && !s.deleting);
    const claims = [...live.claims.map((c) => ({ ...c, namespace })), ...(live.elsewhere?.claims ?? [])];
    return all.map((s) => {
        const own = claimNamePattern(s.name);
        const mine = claims.filter((c) => c.namespace === s.namespace && own.test(c.name));
        const ownedBy = (c: LiveClaim) => s.uid !== undefined && (c.ownerUids ?? []).includes(s.uid);
        return {
            name: s.name,
            namespace: s.namespace,
            deployWith: s.managedBy === "Helm" ? "helm" : "native",
            whenDeleted: s.whenDeleted ?? "Retain",
            owned: mine.filter(ownedBy),
            unowned: mine.filter((c) => !ownedBy(c)),
        };
    });
}

const list = (claims: readonly LiveClaim[]) => claims.map((c) => `${c.name} (${c.size})`).join(", ");

/** The outcome of {@link departureCheck}. */
export interface DepartureCheck {
    /** Deletions the config does not allow; `up` must stop before anything changes. */
    readonly problems: ConfigProblem[];
    /** Deletions `removedApps` allows, in words (preview repeats them). */
    readonly warnings: string[];
}

/**
 * Compares the apps stack `stack` has deployed with the config.
 *
 * Problems: a deployed app whose `deployWith` differs from the config (key `apps[i].deployWith`, with the recipe); a
 * deployed app that leaves (no longer in `apps`: key `apps`; in `apps` but the namespace moved: key `namespace.name`)
 * without a `removedApps` entry (the message lists the PVCs that would go with it, or that it would leave behind); an
 * entry with `data: keep` while the live StatefulSet owns PVCs (key `removedApps[j].data`); any leaving app in a
 * `protect`ed stack (key `protect`: the engine would refuse the delete half-way through the `up`).
 * Warnings: each deletion `removedApps` allows, naming the PVCs deleted or kept. Also an entry that names nothing deployed.
 */
export function departureCheck(stack: string, cfg: StackConfig, live: LiveNamespace): DepartureCheck {
    const problems: ConfigProblem[] = [];
    const warnings: string[] = [];
    const ns = cfg.namespace.name;
    const deployed = deployedApps(stack, ns, live);
    for (const d of deployed) {
        const i = cfg.apps.findIndex((a) => a.name === d.name);
        const staying = i >= 0 && d.namespace === ns;
        if (staying && cfg.apps[i].deployWith !== d.deployWith) {
            problems.push({
                key: configKey(["apps", i, "deployWith"]),
                message:
                    `is ${cfg.apps[i].deployWith}, but ${d.name} is deployed with ${d.deployWith} (StatefulSet ${d.namespace}/${d.name}): both paths name their objects alike, ` +
                    `so the new path's creates would meet the old path's objects and the up would fail half-way. Switch in three steps, keeping the PVCs and the Secret: ` +
                    `(1) set ${configKey(["apps", i, "pvcRetention", "whenDeleted"])}: Retain and up with deployWith: ${d.deployWith}, then run ${releaseClaims(d)}; ` +
                    `(2) delete the old path's objects but not the PVCs and the Secret: ${deleteOldPath(d)}; ` +
                    `(3) set deployWith: ${cfg.apps[i].deployWith} and run up with --refresh (npm run deploy -- ${stack} up --refresh): the new StatefulSet adopts the PVCs by name. ` +
                    `The pods are down between (2) and (3); ${RECIPES_DOC} "Switching deployWith"`,
                given: cfg.apps[i].deployWith,
            });
        }
        if (staying) {
            if (d.whenDeleted === "Retain" && cfg.apps[i].pvcRetention.whenDeleted === "Retain" && d.owned.length > 0) {
                warnings.push(`${configKey(["apps", i, "pvcRetention", "whenDeleted"])}: ${stillOwned(d)}`);
            }
            continue;
        }
        const j = cfg.removedApps.findIndex((r) => r.name === d.name && (r.namespace ?? ns) === d.namespace);
        const where = `StatefulSet ${d.namespace}/${d.name}, ${d.deployWith}`;
        const fate =
            d.owned.length > 0
                ? `and with it PVCs ${list(d.owned)} (whenDeleted: Delete)${d.unowned.length > 0 ? `; PVCs ${list(d.unowned)} would stay behind` : ""}`
                : d.unowned.length > 0
                  ? `leaving its PVCs ${list(d.unowned)} behind in namespace ${d.namespace}, bound to no app`
                  : "(it has no PVC)";
        if (j < 0) {
            const moved = d.namespace !== ns && cfg.apps.some((a) => a.name === d.name);
            problems.push({
                key: configKey(moved ? ["namespace", "name"] : ["apps"]),
                message:
                    `${moved ? `moves ${d.name} from namespace ${d.namespace} to ${ns}: a new app in ${ns}, and` : `no longer lists ${d.name}, which this stack has deployed (${where}):`} ` +
                    `this up would delete ${d.name} (${where}) ${fate}, and its Secret. ` +
                    `To let it go, add { name: ${d.name}${d.namespace !== ns ? `, namespace: ${d.namespace}` : ""}, data: delete } (or data: keep, after setting pvcRetention.whenDeleted: Retain on it in one up and running ${releaseClaims(d)}) to ${configKey(["removedApps"])}; ` +
                    `to rename an app or move the namespace keeping its data, follow ${RECIPES_DOC} "Renaming an app or moving the namespace"`,
            });
            continue;
        }
        // whenDeleted: Delete without owned claims yet still counts: the controller may add the owner reference before the delete.
        if (cfg.removedApps[j].data === "keep" && (d.owned.length > 0 || d.whenDeleted === "Delete")) {
            problems.push({
                key: configKey(["removedApps", j, "data"]),
                message:
                    d.whenDeleted === "Retain"
                        ? `is keep, but ${stillOwned(d)}; deleting it would delete them. Run that first`
                        : `is keep, but the live StatefulSet ${d.namespace}/${d.name} has whenDeleted: ${d.whenDeleted}${d.owned.length > 0 ? ` and owns PVCs ${list(d.owned)}` : ""}, so deleting it deletes its PVCs. ` +
                          `First keep ${d.name} in apps with pvcRetention.whenDeleted: Retain and up (the controller then releases the PVCs of its pods), run ${releaseClaims(d)} (it releases the others), then remove it`,
                given: "keep",
            });
            continue;
        }
        if (cfg.protect) {
            problems.push({
                key: configKey(["protect"]),
                message:
                    `is true, so ${d.name}'s StatefulSet or release, Secret and password are protected (protect and retainOnDelete) and the engine would refuse to delete them half-way through the up. ` +
                    `First run one up with protect: false that still deploys ${d.name} (it unprotects the stack's data-bearing resources), then remove ${d.name}, then set protect: true again`,
                given: true,
            });
            continue;
        }
        warnings.push(`${configKey(["removedApps", j])}: this up deletes ${d.name} (${where}) ${fate}, and its Secret`);
    }
    cfg.removedApps.forEach((r, j) => {
        const rns = r.namespace ?? ns;
        if (!deployed.some((d) => d.name === r.name && d.namespace === rns)) {
            warnings.push(`${configKey(["removedApps", j])}: no StatefulSet ${rns}/${r.name} of this stack is deployed; this entry does nothing and can go`);
        }
    });
    return { problems, warnings };
}

/** The command that removes the StatefulSet's owner references from all of `d`'s claims (scripts/release-claims). */
export function releaseClaims(d: Pick<DeployedApp, "name" | "namespace">): string {
    return `\`bash scripts/release-claims ${d.namespace} ${d.name}\``;
}

/**
 * Says that `d`'s StatefulSet has whenDeleted: Retain and still owns `d.owned`: the controller moves a claim's owner
 * reference only while a pod of that ordinal exists, so claims a scale-down left (whenScaled: Retain) keep the one
 * whenDeleted: Delete gave them (KEP-1847; docs/CHANGES.md "Releasing the claims").
 */
function stillOwned(d: DeployedApp): string {
    return (
        `the StatefulSet ${d.namespace}/${d.name} has whenDeleted: Retain but still owns PVCs ${list(d.owned)}: the controller releases only the claims of ordinals that have a pod, ` +
        `and these were left by a scale-down, so they would be deleted with the StatefulSet. ${releaseClaims(d)} releases them (${RECIPES_DOC} "Releasing the claims")`
    );
}

/** The command that deletes `d`'s old-path objects, keeping its PVCs and its Secret (step 2 of the switch recipe). */
export function deleteOldPath(d: Pick<DeployedApp, "name" | "namespace" | "deployWith">): string {
    return d.deployWith === "helm"
        ? `\`helm -n ${d.namespace} uninstall ${d.name}\``
        : `\`kubectl -n ${d.namespace} delete statefulset,service,configmap,serviceaccount,poddisruptionbudget,networkpolicy -l app.kubernetes.io/instance=${d.name},app.kubernetes.io/managed-by=pulumi\``;
}

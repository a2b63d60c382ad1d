/**
 * Recreating a native StatefulSet for an immutable change (lib/recreate.ts, config/live.ts, components/stateful-app.ts):
 * the phase each run is in, what preview says, and what the program registers in each phase, under Pulumi mocks.
 * What this proves: the program's decisions. The two `up`s on the real engine (the orphaning delete, the adoption of
 * pods and PVCs) are in tests/e2e/stacks.e2e.ts.
 */
import * as assert from "assert";
import { checkAgainstLive } from "../config/live";
import { parseStackConfig } from "../config/parse";
import type { LiveStatefulSet } from "../lib/kube-api";
import { DELETION_PROPAGATION_ANNOTATION } from "../lib/names";
import { immutableChanges, pendingRecreates, recreatePlan } from "../lib/recreate";
import { runProgram, stackFileConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const noSecrets = () => false;
/** The dev stack's apps, parsed, with `mutate` applied to the raw config first. */
function devApps(mutate: (apps: Any[]) => void = () => undefined) {
    const raw: Record<string, Any> = {};
    for (const [k, v] of Object.entries(structuredClone(stackFileConfig("dev")))) if (k.startsWith("stateful-apps:")) raw[k.replace(/^stateful-apps:/, "")] = v;
    mutate(raw.apps);
    return parseStackConfig(raw, noSecrets);
}
const liveVisits = (over: Partial<LiveStatefulSet> = {}): LiveStatefulSet => ({ name: "visits", podManagementPolicy: "Parallel", claimSize: "256Mi", ...over });

describe("recreating a StatefulSet for an immutable change (allowStatefulSetRecreate)", () => {
    describe("the phase (lib/recreate.ts)", () => {
        const visits = (allow: boolean) => devApps((apps) => (apps[0].allowStatefulSetRecreate = allow)).apps[0];

        it("names each immutable change: podManagementPolicy and the volumeClaimTemplates' size (by quantity, not by spelling)", () => {
            assert.deepStrictEqual(immutableChanges(visits(true), liveVisits({ podManagementPolicy: "OrderedReady", claimSize: "128Mi" })), [
                "podManagementPolicy from OrderedReady to Parallel",
                "volumeClaimTemplates storage from 128Mi to 256Mi",
            ]);
            assert.deepStrictEqual(immutableChanges(visits(true), liveVisits({ claimSize: "268435456" })), []);
        });

        it("none without a live StatefulSet, without a change, or without the opt-in; mark, then recreate once the live StatefulSet carries the annotation", () => {
            const changed = liveVisits({ podManagementPolicy: "OrderedReady" });
            assert.strictEqual(recreatePlan(visits(true), undefined).phase, "none");
            assert.strictEqual(recreatePlan(visits(true), liveVisits()).phase, "none");
            assert.strictEqual(recreatePlan(visits(false), changed).phase, "none");
            assert.strictEqual(recreatePlan(visits(true), changed).phase, "mark");
            assert.strictEqual(recreatePlan(visits(true), { ...changed, orphanOnDelete: true }).phase, "recreate");
            assert.strictEqual(recreatePlan(visits(true), { ...changed, orphanOnDelete: true, whenDeleted: "Retain" }).phase, "recreate");
            assert.strictEqual(
                recreatePlan(visits(true), { ...changed, orphanOnDelete: true, whenDeleted: "Delete" }).phase,
                "mark",
                "an annotation without the mark's whenDeleted: Retain (set by hand?) is marked again through Pulumi first",
            );
            assert.strictEqual(recreatePlan(visits(true), liveVisits({ orphanOnDelete: true })).phase, "none", "a reverted change: the mark goes again");
        });

        it("the runner's second up: the apps whose workloads output says recreatePending", () => {
            assert.deepStrictEqual(pendingRecreates({ visits: { recreatePending: true }, litecoin: { recreatePending: false }, datastore: {} }), ["visits"]);
            assert.deepStrictEqual(pendingRecreates(undefined), []);
        });
    });

    describe("what preview says (config/live.ts)", () => {
        it("mark: that this up marks the StatefulSet and the next one recreates it; recreate: that this up replaces it, keeping pods and PVCs", () => {
            const cfg = devApps((apps) => (apps[0].allowStatefulSetRecreate = true));
            const live = { claims: [], storageClasses: [] };
            const mark = checkAgainstLive(cfg, { ...live, statefulSets: [liveVisits({ podManagementPolicy: "OrderedReady" })] });
            assert.strictEqual(mark.plans.get("visits")?.phase, "mark");
            assert.deepStrictEqual(mark.warnings.length, 1, mark.warnings.join("\n"));
            assert.match(
                mark.warnings[0],
                /^stateful-apps:apps\[0\]\.allowStatefulSetRecreate: this up marks the StatefulSet visits for an orphaning delete .* the next up recreates it for podManagementPolicy from OrderedReady to Parallel, keeping its pods and PVCs/,
            );
            const recreate = checkAgainstLive(cfg, { ...live, statefulSets: [liveVisits({ podManagementPolicy: "OrderedReady", orphanOnDelete: true })] });
            assert.strictEqual(recreate.plans.get("visits")?.phase, "recreate");
            assert.match(
                recreate.warnings[0],
                /this up replaces the StatefulSet visits for podManagementPolicy from OrderedReady to Parallel: it deletes it with propagationPolicy Orphan/,
            );
        });

        it("without the opt-in: the change is ignored, and the warning names the key that applies it", () => {
            const { warnings, plans } = checkAgainstLive(devApps(), {
                claims: [],
                storageClasses: [],
                statefulSets: [liveVisits({ podManagementPolicy: "OrderedReady" })],
            });
            assert.strictEqual(plans.get("visits")?.phase, "none");
            assert.match(
                warnings[0],
                /it is immutable, so the program leaves it as it is; to apply it, set stateful-apps:apps\[0\]\.allowStatefulSetRecreate: true and run up twice/,
            );
        });
    });

    describe("what the program registers (index.ts under mocks)", () => {
        const config = () => {
            const c = structuredClone(stackFileConfig("dev")) as Record<string, Any>;
            c["stateful-apps:apps"][0].allowStatefulSetRecreate = true;
            return c;
        };
        const statefulSet = async (live: LiveStatefulSet, protect = false) => {
            const c = config();
            if (protect) c["stateful-apps:protect"] = true;
            const run = await runProgram(c, { stack: "dev", statefulSets: [live] });
            const sts = run.registrations.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && r.name === "visits-statefulset");
            assert.ok(sts);
            return { sts, outputs: run.outputs.workloads as Record<string, { recreatePending: boolean }> };
        };

        it("no change: the immutable fields ignored, no annotation, nothing pending", async () => {
            const { sts, outputs } = await statefulSet(liveVisits());
            assert.deepStrictEqual([...sts.ignoreChanges].sort(), ["spec.podManagementPolicy", "spec.volumeClaimTemplates"]);
            assert.strictEqual(sts.inputs.metadata.annotations?.[DELETION_PROPAGATION_ANNOTATION], undefined);
            assert.strictEqual(outputs.visits.recreatePending, false);
        });

        it("mark: the orphan annotation, retainOnDelete off (a protected stack's too), the immutable fields still ignored, recreatePending", async () => {
            const { sts, outputs } = await statefulSet(liveVisits({ podManagementPolicy: "OrderedReady" }), true);
            assert.strictEqual(sts.inputs.metadata.annotations[DELETION_PROPAGATION_ANNOTATION], "orphan");
            assert.strictEqual(sts.inputs.spec.persistentVolumeClaimRetentionPolicy.whenDeleted, "Retain", "so that even a Foreground delete keeps the PVCs");
            assert.strictEqual(sts.retainOnDelete, false);
            assert.strictEqual(sts.protect, true);
            assert.deepStrictEqual([...sts.ignoreChanges].sort(), ["spec.podManagementPolicy", "spec.volumeClaimTemplates"]);
            assert.strictEqual(outputs.visits.recreatePending, true);
        });

        it("recreate: no annotation on the new StatefulSet, nothing ignored (so the engine replaces it), unprotected for this up, nothing pending", async () => {
            const { sts, outputs } = await statefulSet(liveVisits({ podManagementPolicy: "OrderedReady", orphanOnDelete: true }), true);
            assert.strictEqual(sts.inputs.metadata.annotations?.[DELETION_PROPAGATION_ANNOTATION], undefined);
            assert.deepStrictEqual(sts.ignoreChanges, []);
            assert.strictEqual(sts.inputs.spec.persistentVolumeClaimRetentionPolicy.whenDeleted, "Delete", "the configured policy again (dev)");
            assert.strictEqual(sts.protect, false);
            assert.strictEqual(sts.retainOnDelete, true, "the new StatefulSet as the stack protects it");
            assert.strictEqual(outputs.visits.recreatePending, false);
        });
    });
});

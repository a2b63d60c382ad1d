/**
 * config/departures.ts: which deployed apps an `up` would delete, and what the config must say first. Pure functions
 * over a hand-written pre-flight read (what the cluster would list). What this proves: the verdicts and their words.
 * What it does not: that the engine would really delete these objects (tests/e2e/changes.e2e.ts runs the changes).
 */
import * as assert from "assert";
import { belongsToStack, departureCheck } from "../config/departures";
import { parseStackConfig } from "../config/parse";
import type { LiveNamespace, LiveStatefulSet } from "../lib/kube-api";
import { stackFileConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** The dev stack's config, with `edit` applied to its raw keys (without the `stateful-apps:` prefix). */
function dev(edit: (raw: Record<string, Any>) => void = () => {}) {
    const raw: Record<string, Any> = {};
    for (const [k, v] of Object.entries(stackFileConfig("dev"))) if (k.startsWith("stateful-apps:")) raw[k.replace(/^stateful-apps:/, "")] = structuredClone(v);
    edit(raw);
    return parseStackConfig(raw, () => false);
}

const sts = (name: string, over: Partial<LiveStatefulSet> = {}): LiveStatefulSet => ({
    name,
    uid: `uid-${name}`,
    podManagementPolicy: "Parallel",
    managedBy: "pulumi",
    partOf: "stateful-apps",
    stack: "dev",
    whenDeleted: "Delete",
    ...over,
});

/** The dev stack as deployed: visits (3 claims, owned), litecoin (Helm), datastore. */
function liveDev(over: Partial<LiveNamespace> = {}): LiveNamespace {
    return {
        claims: [
            { name: "data-visits-0", size: "256Mi", ownerUids: ["uid-visits"] },
            { name: "data-visits-1", size: "256Mi", ownerUids: ["uid-visits"] },
            { name: "data-visits-2", size: "256Mi", ownerUids: ["uid-visits"] },
            { name: "data-datastore-0", size: "1Gi", ownerUids: ["uid-datastore"] },
        ],
        statefulSets: [sts("visits"), sts("litecoin", { managedBy: "Helm" }), sts("datastore")],
        storageClasses: [],
        elsewhere: { statefulSets: [], claims: [] },
        ...over,
    };
}

describe("departures: apps an up would delete (config/departures.ts)", () => {
    it("the committed dev stack over its own deployment: nothing leaves, nothing said", () => {
        assert.deepStrictEqual(departureCheck("dev", dev(), liveDev()), { problems: [], warnings: [] });
    });

    it("renaming visits: refused naming apps, listing every PVC that would go (the one kept by whenScaled: Retain too)", () => {
        const cfg = dev((raw) => (raw.apps[0].name = "visits2"));
        const { problems } = departureCheck("dev", cfg, liveDev());
        assert.strictEqual(problems.length, 1, JSON.stringify(problems));
        assert.strictEqual(problems[0].key, "stateful-apps:apps");
        assert.match(problems[0].message, /no longer lists visits/);
        assert.match(problems[0].message, /PVCs data-visits-0 \(256Mi\), data-visits-1 \(256Mi\), data-visits-2 \(256Mi\) \(whenDeleted: Delete\)/);
        assert.match(problems[0].message, /removedApps/);
        assert.match(problems[0].message, /docs\/CHANGES\.md "Renaming an app or moving the namespace"/);
    });

    it("removing datastore with removedApps data: delete: allowed, and preview says which PVCs go", () => {
        const cfg = dev((raw) => {
            raw.apps = raw.apps.filter((a: Any) => a.name !== "datastore");
            raw.removedApps = [{ name: "datastore", data: "delete" }];
        });
        const { problems, warnings } = departureCheck("dev", cfg, liveDev());
        assert.deepStrictEqual(problems, []);
        assert.deepStrictEqual(warnings, [
            "stateful-apps:removedApps[0]: this up deletes datastore (StatefulSet stateful-dev/datastore, native) and with it PVCs data-datastore-0 (1Gi) (whenDeleted: Delete), and its Secret",
        ]);
    });

    it("removedApps data: keep is refused while the StatefulSet owns its PVCs, and allowed once it does not (whenDeleted: Retain)", () => {
        const cfg = dev((raw) => {
            raw.apps = raw.apps.filter((a: Any) => a.name !== "datastore");
            raw.removedApps = [{ name: "datastore", data: "keep" }];
        });
        const owned = departureCheck("dev", cfg, liveDev());
        assert.deepStrictEqual(
            owned.problems.map((p) => p.key),
            ["stateful-apps:removedApps[0].data"],
        );
        const released = liveDev({
            claims: [{ name: "data-datastore-0", size: "1Gi" }],
            statefulSets: [sts("visits"), sts("litecoin", { managedBy: "Helm" }), sts("datastore", { whenDeleted: "Retain" })],
        });
        const { problems, warnings } = departureCheck("dev", cfg, released);
        assert.deepStrictEqual(problems, []);
        assert.match(warnings[0], /deletes datastore .* leaving its PVCs data-datastore-0 \(1Gi\) behind in namespace stateful-dev, bound to no app/);
    });

    it("a claim a scale-down left keeps its owner reference after whenDeleted: Retain (KEP-1847): keep is refused naming scripts/release-claims, a staying app gets a warning", () => {
        // litecoin at 1 replica with whenDeleted: Retain; data-litecoin-1 (left by 2 -> 1, whenScaled: Retain) still owned.
        const live = liveDev({
            claims: [
                { name: "data-litecoin-0", size: "1Gi" },
                { name: "data-litecoin-1", size: "1Gi", ownerUids: ["uid-litecoin"] },
            ],
            statefulSets: [sts("visits"), sts("litecoin", { managedBy: "Helm", whenDeleted: "Retain" }), sts("datastore")],
        });
        const removed = dev((raw) => {
            raw.apps = raw.apps.filter((a: Any) => a.name !== "litecoin");
            raw.removedApps = [{ name: "litecoin", data: "keep" }];
        });
        const refused = departureCheck("dev", removed, live).problems;
        assert.deepStrictEqual(
            refused.map((p) => p.key),
            ["stateful-apps:removedApps[0].data"],
        );
        assert.match(refused[0].message, /still owns PVCs data-litecoin-1 \(1Gi\)/);
        assert.match(refused[0].message, /`bash scripts\/release-claims stateful-dev litecoin`/);
        const staying = dev((raw) => (raw.apps[1].pvcRetention = { ...raw.apps[1].pvcRetention, whenDeleted: "Retain" }));
        const { problems, warnings } = departureCheck("dev", staying, live);
        assert.deepStrictEqual(problems, []);
        assert.strictEqual(warnings.length, 1, JSON.stringify(warnings));
        assert.match(
            warnings[0],
            /^stateful-apps:apps\[1\]\.pvcRetention\.whenDeleted: the StatefulSet stateful-dev\/litecoin has whenDeleted: Retain but still owns PVCs data-litecoin-1/,
        );
        assert.match(warnings[0], /docs\/CHANGES\.md "Releasing the claims"/);
    });

    it("moving the namespace: refused naming namespace.name for every app of the old one", () => {
        const cfg = dev((raw) => (raw.namespace.name = "stateful-dev-b"));
        const live = liveDev({
            claims: [],
            statefulSets: [],
            elsewhere: {
                statefulSets: [sts("visits", { namespace: "stateful-dev" }), sts("datastore", { namespace: "stateful-dev" })],
                claims: [{ name: "data-visits-0", size: "256Mi", ownerUids: ["uid-visits"], namespace: "stateful-dev" }],
            },
        });
        const { problems } = departureCheck("dev", cfg, live);
        assert.deepStrictEqual(
            problems.map((p) => p.key),
            ["stateful-apps:namespace.name", "stateful-apps:namespace.name"],
        );
        assert.match(problems[0].message, /moves visits from namespace stateful-dev to stateful-dev-b/);
        assert.match(problems[0].message, /namespace: stateful-dev, data: delete/);
    });

    it("switching deployWith either way: refused naming apps[i].deployWith, with the command that removes the old path's objects", () => {
        const toHelm = departureCheck(
            "dev",
            dev((raw) => (raw.apps[0].deployWith = "helm")),
            liveDev(),
        );
        assert.deepStrictEqual(
            toHelm.problems.map((p) => p.key),
            ["stateful-apps:apps[0].deployWith"],
        );
        assert.match(
            toHelm.problems[0].message,
            /kubectl -n stateful-dev delete statefulset,service,configmap,serviceaccount,poddisruptionbudget,networkpolicy -l app\.kubernetes\.io\/instance=visits,app\.kubernetes\.io\/managed-by=pulumi/,
        );
        const toNative = departureCheck(
            "dev",
            dev((raw) => (raw.apps[1].deployWith = "native")),
            liveDev(),
        );
        assert.match(toNative.problems[0].message, /helm -n stateful-dev uninstall litecoin/);
        assert.match(toNative.problems[0].message, /up --refresh/);
    });

    it("a protected stack: a removal that removedApps allows is still refused at preview, naming protect", () => {
        const cfg = dev((raw) => {
            raw.protect = true;
            raw.apps = raw.apps.filter((a: Any) => a.name !== "datastore");
            raw.removedApps = [{ name: "datastore", data: "delete" }];
        });
        const { problems } = departureCheck("dev", cfg, liveDev());
        assert.deepStrictEqual(
            problems.map((p) => p.key),
            ["stateful-apps:protect"],
        );
    });

    it("whose StatefulSets count: the stack's annotation anywhere; unannotated ones of this program only in the stack's namespace", () => {
        assert.ok(belongsToStack(sts("a"), "dev", "ns"));
        assert.ok(!belongsToStack(sts("a", { stack: "prod" }), "dev", "ns"));
        assert.ok(belongsToStack(sts("a", { stack: undefined, namespace: "ns" }), "dev", "ns"));
        assert.ok(!belongsToStack(sts("a", { stack: undefined, namespace: "other" }), "dev", "ns"));
        assert.ok(!belongsToStack(sts("a", { stack: undefined, partOf: undefined, namespace: "ns" }), "dev", "ns"));
        // Another stack's app of the same name in the same namespace is not ours to refuse.
        const other = liveDev({ statefulSets: [sts("visits"), sts("litecoin", { managedBy: "Helm" }), sts("datastore"), sts("extra", { stack: "other" })] });
        assert.deepStrictEqual(departureCheck("dev", dev(), other).problems, []);
    });

    it("an entry for an app that is not deployed does nothing and says so", () => {
        const cfg = dev((raw) => (raw.removedApps = [{ name: "gone", data: "delete" }]));
        assert.deepStrictEqual(departureCheck("dev", cfg, liveDev()).warnings, [
            "stateful-apps:removedApps[0]: no StatefulSet stateful-dev/gone of this stack is deployed; this entry does nothing and can go",
        ]);
    });
});

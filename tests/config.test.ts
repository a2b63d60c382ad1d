/**
 * Config validation: table-driven bad configs, each of which must fail naming the full stack config key, plus
 * the same through index.ts to prove nothing is registered before validation passes.
 */
import * as assert from "assert";
import * as path from "path";
import { configReference, DOCS_BEGIN, DOCS_END } from "../lib/config-docs";
import type { LiveStatefulSet } from "../lib/kube-api";
import { checkAgainstLive, classesToRead } from "../config/live";
import { parseStackConfig } from "../config/parse";
import { StackConfigError } from "../config/errors";
import { parseQuantity, quantityProblem } from "../lib/quantity";
import { readBetweenMarkers } from "../scripts/markers";
import { ROOT, runProgram, stackFileConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** The dev stack's config as the program receives it (without the `stateful-apps:` prefix). */
function devRaw(): Record<string, Any> {
    const out: Record<string, Any> = {};
    for (const [k, v] of Object.entries(stackFileConfig("dev"))) {
        if (k.startsWith("stateful-apps:")) out[k.replace(/^stateful-apps:/, "")] = structuredClone(v);
    }
    return out;
}

const noSecrets = () => false;

interface BadCase {
    name: string;
    mutate: (raw: Record<string, Any>) => void;
    /** The full config key the error must name. */
    key: string;
    /** A fragment of the message. */
    says: RegExp;
}

const cases: BadCase[] = [
    {
        name: "storage size with a non-Kubernetes suffix",
        mutate: (r) => (r.apps[1].storage.size = "5Gb"),
        key: "stateful-apps:apps[1].storage.size",
        says: /not a Kubernetes quantity/,
    },
    {
        name: "memory in millibytes",
        mutate: (r) => (r.apps[0].resources.requests.memory = "256m"),
        key: "stateful-apps:apps[0].resources.requests.memory",
        says: /milli suffix/,
    },
    {
        name: "CPU that is not a quantity",
        mutate: (r) => (r.apps[0].resources.requests.cpu = "half"),
        key: "stateful-apps:apps[0].resources.requests.cpu",
        says: /CPU quantity/,
    },
    { name: "negative replicas", mutate: (r) => (r.apps[0].replicas = -1), key: "stateful-apps:apps[0].replicas", says: /≥ 0/ },
    { name: "fractional replicas", mutate: (r) => (r.apps[0].replicas = 1.5), key: "stateful-apps:apps[0].replicas", says: /whole number/ },
    { name: "replicas as a string", mutate: (r) => (r.apps[0].replicas = "three"), key: "stateful-apps:apps[0].replicas", says: /number/ },
    { name: "app name with upper case", mutate: (r) => (r.apps[0].name = "Visits"), key: "stateful-apps:apps[0].name", says: /DNS-1035/ },
    { name: "app name too long", mutate: (r) => (r.apps[0].name = "a".repeat(53)), key: "stateful-apps:apps[0].name", says: /at most 52/ },
    { name: "namespace with underscore", mutate: (r) => (r.namespace.name = "my_ns"), key: "stateful-apps:namespace.name", says: /DNS-1123/ },
    { name: "duplicate app names", mutate: (r) => (r.apps[2].name = "visits"), key: "stateful-apps:apps[2].name", says: /unique/ },
    { name: "typo in an app key", mutate: (r) => (r.apps[0].replica = 3), key: "stateful-apps:apps[0]", says: /unknown key.*'replica'.*replicas/ },
    { name: "typo in a top-level key", mutate: (r) => (r.enviroment = "dev"), key: "stateful-apps:", says: /unknown key.*'enviroment'/ },
    {
        name: "partition above replicas",
        mutate: (r) => (r.apps[0].updateStrategy = { type: "RollingUpdate", partition: 5 }),
        key: "stateful-apps:apps[0].updateStrategy.partition",
        says: /≤ replicas/,
    },
    {
        name: "PDB minAvailable equal to replicas",
        mutate: (r) => (r.apps[0].pdb = { minAvailable: 2 }),
        key: "stateful-apps:apps[0].pdb.minAvailable",
        says: /zero disruptions/,
    },
    {
        name: "PDB maxUnavailable 0",
        mutate: (r) => (r.apps[0].pdb = { maxUnavailable: 0 }),
        key: "stateful-apps:apps[0].pdb.maxUnavailable",
        says: /zero disruptions/,
    },
    {
        name: "PDB minAvailable 100%",
        mutate: (r) => (r.apps[0].pdb = { minAvailable: "100%" }),
        key: "stateful-apps:apps[0].pdb.minAvailable",
        says: /zero disruptions/,
    },
    {
        name: "PDB with both fields",
        mutate: (r) => (r.apps[0].pdb = { minAvailable: 1, maxUnavailable: 1 }),
        key: "stateful-apps:apps[0].pdb",
        says: /not both/,
    },
    {
        name: "probe period zero",
        mutate: (r) => (r.apps[0].probes.readiness.periodSeconds = 0),
        key: "stateful-apps:apps[0].probes.readiness.periodSeconds",
        says: /≥ 1/,
    },
    {
        name: "probe timeout longer than period",
        mutate: (r) => (r.apps[0].probes.liveness.timeoutSeconds = 30),
        key: "stateful-apps:apps[0].probes.liveness.timeoutSeconds",
        says: /≤ periodSeconds/,
    },
    {
        name: "http probe without path",
        mutate: (r) => delete r.apps[0].probes.readiness.path,
        key: "stateful-apps:apps[0].probes.readiness.path",
        says: /required when type is http/,
    },
    { name: "missing secret source", mutate: (r) => delete r.apps[0].secret.source, key: "stateful-apps:apps[0].secret.source", says: /required/ },
    {
        name: "secret from config without a key",
        mutate: (r) => (r.apps[0].secret = { source: "config" }),
        key: "stateful-apps:apps[0].secret.configKey",
        says: /required when source is config/,
    },
    {
        name: "secret from config that is not set",
        mutate: (r) => (r.apps[0].secret = { source: "config", configKey: "nope" }),
        key: "stateful-apps:apps[0].secret.configKey",
        says: /pulumi config set --secret nope/,
    },
    {
        name: "latest image in prod",
        mutate: (r) => ((r.environment = "prod"), (r.apps[0].image.tag = "latest")),
        key: "stateful-apps:apps[0].image.tag",
        says: /latest/,
    },
    {
        name: "LoadBalancer not allowed",
        mutate: (r) => (r.apps[0].service = { type: "LoadBalancer" }),
        key: "stateful-apps:apps[0].service.type",
        says: /allowLoadBalancer/,
    },
    {
        name: "requests above limits",
        mutate: (r) => (r.apps[0].resources.requests.memory = "1Gi"),
        key: "stateful-apps:apps[0].resources.requests.memory",
        says: /≤ limits.memory/,
    },
    {
        name: "root user",
        mutate: (r) => (r.apps[0].securityContext = { runAsUser: 0 }),
        key: "stateful-apps:apps[0].securityContext.runAsUser",
        says: /forbids root/,
    },
    { name: "unknown environment", mutate: (r) => (r.environment = "qa"), key: "stateful-apps:environment", says: /dev|staging|prod/ },
    { name: "missing apps", mutate: (r) => delete r.apps, key: "stateful-apps:apps", says: /required/ },
    { name: "port out of range", mutate: (r) => (r.apps[0].port = 70000), key: "stateful-apps:apps[0].port", says: /65535/ },
    {
        name: "a runbook base that is not a URL",
        mutate: (r) => (r.monitoring = { ...r.monitoring, runbookBaseUrl: "runbooks/stateful" }),
        key: "stateful-apps:monitoring.runbookBaseUrl",
        says: /must be a URL/,
    },
    {
        name: "a restart window under a minute",
        mutate: (r) => (r.monitoring = { ...r.monitoring, restartWindowSeconds: 30 }),
        key: "stateful-apps:monitoring.restartWindowSeconds",
        says: /≥ 60/,
    },
    {
        name: "config mounted over the data volume",
        mutate: (r) => (r.apps[0].configMountPath = "/data"),
        key: "stateful-apps:apps[0].configMountPath",
        says: /must differ/,
    },
    {
        name: "a config file mounted at /tmp",
        mutate: (r) => ((r.apps[0].configMountPath = "/"), (r.apps[0].configFiles = { tmp: "x" })),
        key: "stateful-apps:apps[0].configFiles",
        says: /at \/tmp/,
    },
    // core/validation ValidateConfigMap: 1 MiB of data per ConfigMap. Too large for a fixture file of the corpus.
    {
        name: "config files above a ConfigMap's 1 MiB",
        mutate: (r) => (r.apps[0].configFiles = { "a.txt": "x".repeat(600 * 1024), "b.txt": "y".repeat(500 * 1024) }),
        key: "stateful-apps:apps[0].configFiles",
        says: /holds 1126400 bytes; a ConfigMap holds at most 1048576/,
    },
    {
        name: "env above a ConfigMap's 1 MiB",
        mutate: (r) => (r.apps[0].env = { BIG: "z".repeat(1024 * 1024 + 1) }),
        key: "stateful-apps:apps[0].env",
        says: /at most 1048576/,
    },
];

describe("stack config validation", () => {
    it("accepts both stack files as they are", () => {
        for (const stack of ["dev", "prod"]) {
            const raw: Record<string, Any> = {};
            for (const [k, v] of Object.entries(stackFileConfig(stack))) {
                if (k.startsWith("stateful-apps:")) raw[k.replace(/^stateful-apps:/, "")] = v;
            }
            const cfg = parseStackConfig(raw, noSecrets);
            assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.apps[0].resources.requests), "deep-frozen");
            assert.strictEqual(cfg.apps[0].updateStrategy.type, "RollingUpdate", "defaults applied");
        }
    });

    for (const c of cases) {
        it(`rejects ${c.name}, naming ${c.key}`, () => {
            const raw = devRaw();
            c.mutate(raw);
            assert.throws(
                () => parseStackConfig(raw, noSecrets),
                (err: unknown) => {
                    assert.ok(err instanceof StackConfigError, String(err));
                    const problem = err.problems.find((p) => p.key === c.key);
                    assert.ok(problem, `no problem for ${c.key}; got:\n${err.message}`);
                    assert.match(problem.message, c.says);
                    assert.ok(err.message.includes(c.key));
                    return true;
                },
            );
        });
    }

    it("reports the value given", () => {
        const raw = devRaw();
        raw.apps[1].storage.size = "5Gb";
        try {
            parseStackConfig(raw, noSecrets);
            assert.fail("expected an error");
        } catch (err) {
            assert.match((err as Error).message, /stateful-apps:apps\[1\]\.storage\.size: .*\(given: "5Gb"\)/);
        }
    });

    it("reports every problem at once", () => {
        const raw = devRaw();
        raw.apps[0].replicas = -1;
        raw.apps[1].storage.size = "5Gb";
        assert.throws(
            () => parseStackConfig(raw, noSecrets),
            (err: StackConfigError) => err.problems.length === 2,
        );
    });

    it("fails the real program before any resource is registered", async () => {
        const config = structuredClone(stackFileConfig("dev"));
        (config["stateful-apps:apps"] as Any[])[1].storage.size = "5Gb";
        await assert.rejects(runProgram(config, { stack: "dev" }), /stateful-apps:apps\[1\]\.storage\.size/);
        // runProgram records registrations; a failed import leaves none. Re-run a good config to prove the
        // harness records normally afterwards.
        const ok = await runProgram(stackFileConfig("dev"), { stack: "dev" });
        assert.ok(ok.registrations.length > 0);
    });
});

describe("checkAgainstLive: the config against the live namespace", () => {
    const cfg = () => {
        const raw: Record<string, Any> = {};
        for (const [k, v] of Object.entries(stackFileConfig("dev"))) if (k.startsWith("stateful-apps:")) raw[k.replace(/^stateful-apps:/, "")] = v;
        return parseStackConfig(raw, noSecrets);
    };
    const visits = (over: Partial<LiveStatefulSet> = {}): LiveStatefulSet => ({ name: "visits", podManagementPolicy: "Parallel", claimSize: "256Mi", ...over });

    it("says nothing when the live StatefulSets and PVCs match the config", () => {
        const { problems, warnings, plans } = checkAgainstLive(cfg(), {
            claims: [{ name: "data-visits-0", size: "256Mi" }],
            statefulSets: [visits()],
            storageClasses: [],
        });
        assert.deepStrictEqual({ problems, warnings }, { problems: [], warnings: [] });
        assert.strictEqual(plans.get("visits")?.phase, "none");
    });

    it("warns about an immutable field the config changed, with the recipe for a native app and the limit for a Helm app", () => {
        const { problems, warnings } = checkAgainstLive(cfg(), {
            claims: [],
            statefulSets: [
                visits({ podManagementPolicy: "OrderedReady", claimSize: "128Mi" }),
                { name: "litecoin", podManagementPolicy: "Parallel", claimSize: "1Gi" },
            ],
            storageClasses: [],
        });
        assert.deepStrictEqual(problems, []);
        assert.strictEqual(warnings.length, 3, warnings.join("\n"));
        assert.match(
            warnings[0],
            /apps\[0\]\.podManagementPolicy is Parallel, but the live StatefulSet visits has OrderedReady: .*allowStatefulSetRecreate: true.*delete statefulset visits --cascade=orphan.*pulumi up --refresh/,
        );
        assert.match(
            warnings[1],
            /apps\[0\]\.storage\.size is 256Mi, but the live StatefulSet visits's volumeClaimTemplates ask 128Mi: new ordinals' PVCs are made at 128Mi and then expanded by their patch; the template itself is immutable/,
        );
        assert.match(warnings[2], /apps\[1\]\.podManagementPolicy is OrderedReady, but the live StatefulSet litecoin has Parallel: .*release leaves it/);
    });

    it("refuses a size below the largest of the app's own PVCs, ignoring other apps' PVCs with a similar name", () => {
        const { problems } = checkAgainstLive(cfg(), {
            claims: [
                { name: "data-visits-0", size: "256Mi" },
                { name: "data-visits-3", size: "1Gi" },
                { name: "data-visits-x-0", size: "9Gi" },
            ],
            statefulSets: [],
            storageClasses: [],
        });
        assert.deepStrictEqual(
            problems.map((p) => [p.key, p.message.slice(0, 47)]),
            [["stateful-apps:apps[0].storage.size", "is smaller than the live PVC data-visits-3 (1Gi"]],
        );
    });

    it("a priorityClassName the cluster has passes; one it lacks is refused naming the key", () => {
        const withClass = parseStackConfig(
            (() => {
                const raw: Record<string, Any> = {};
                for (const [k, v] of Object.entries(stackFileConfig("dev"))) if (k.startsWith("stateful-apps:")) raw[k.replace(/^stateful-apps:/, "")] = v;
                raw.apps = raw.apps.map((a: Any) => (a.name === "visits" ? { ...a, priorityClassName: "stateful-high" } : a));
                return raw;
            })(),
            noSecrets,
        );
        const live = (priorityClasses: string[]) => ({ claims: [], statefulSets: [], storageClasses: [], priorityClasses });
        assert.deepStrictEqual(checkAgainstLive(withClass, live(["stateful-high"])).problems, []);
        assert.deepStrictEqual(
            checkAgainstLive(withClass, live([])).problems.map((p) => p.key),
            ["stateful-apps:apps[0].priorityClassName"],
        );
    });

    it("a refused shrink says only that: no warning about how the volumeClaimTemplates would take the smaller size", () => {
        const { problems, warnings } = checkAgainstLive(cfg(), {
            claims: [{ name: "data-visits-0", size: "512Mi" }],
            statefulSets: [visits({ claimSize: "512Mi" })],
            storageClasses: [],
        });
        assert.deepStrictEqual(
            problems.map((p) => p.key),
            ["stateful-apps:apps[0].storage.size"],
        );
        assert.deepStrictEqual(warnings, []);
    });

    describe("a larger storage.size grows the PVCs", () => {
        const claims = [
            { name: "data-visits-0", size: "128Mi", storageClass: "expandable" },
            { name: "data-visits-1", size: "256Mi", storageClass: "expandable" },
            { name: "data-litecoin-0", size: "512Mi", storageClass: "fixed" },
        ];

        it("reads only the StorageClasses of the claims that would grow (none when nothing grows)", () => {
            assert.deepStrictEqual(classesToRead(cfg(), claims), ["expandable", "fixed"]);
            assert.deepStrictEqual(classesToRead(cfg(), [{ name: "data-visits-0", size: "256Mi", storageClass: "expandable" }]), []);
        });

        it("says in words which PVCs this up expands, when their StorageClass allows it", () => {
            const { problems, warnings } = checkAgainstLive(cfg(), {
                claims: claims.slice(0, 2),
                statefulSets: [],
                storageClasses: [{ name: "expandable", allowVolumeExpansion: true }],
            });
            assert.deepStrictEqual(problems, []);
            assert.deepStrictEqual(warnings.length, 1, warnings.join("\n"));
            assert.match(
                warnings[0],
                /^stateful-apps:apps\[0\]\.storage\.size is 256Mi: this up expands PVCs data-visits-0 from 128Mi to 256Mi through their claim patches/,
            );
        });

        it("names PVCs of ordinals above replicas apart: they grow when the app scales up to them", () => {
            const { warnings } = checkAgainstLive(cfg(), {
                claims: [{ name: "data-visits-5", size: "128Mi", storageClass: "expandable" }],
                statefulSets: [],
                storageClasses: [{ name: "expandable", allowVolumeExpansion: true }],
            });
            assert.match(
                warnings[0],
                /is 256Mi: no PVC of a running ordinal is smaller; PVCs data-visits-5 \(128Mi\) of ordinals above replicas grow when the app scales up to them$/,
            );
        });

        it("refuses growth where the StorageClass does not allow expansion, or where a PVC has no class, naming the key, the PVC and the class", () => {
            const { problems } = checkAgainstLive(cfg(), {
                claims: [...claims, { name: "data-datastore-0", size: "128Mi" }],
                statefulSets: [],
                storageClasses: [
                    { name: "expandable", allowVolumeExpansion: true },
                    { name: "fixed", allowVolumeExpansion: false },
                ],
            });
            assert.deepStrictEqual(
                problems.map((p) => p.key),
                ["stateful-apps:apps[1].storage.size", "stateful-apps:apps[2].storage.size"],
            );
            assert.match(
                problems[0].message,
                /^would grow PVCs that cannot be expanded: data-litecoin-0 \(512Mi, StorageClass fixed\)\. .*allowVolumeExpansion: true/,
            );
            assert.match(problems[1].message, /data-datastore-0 \(128Mi, no StorageClass\)/);
        });

        it("refuses a StorageClass or access modes that differ from a live claim the patches would send them to, naming the key", () => {
            const c = structuredClone(cfg()) as Any;
            c.apps[0].storage.storageClass = "fast";
            c.apps[0].storage.accessModes = ["ReadWriteOncePod"];
            const { problems } = checkAgainstLive(c, {
                claims: [{ name: "data-visits-0", size: "256Mi", storageClass: "standard", accessModes: ["ReadWriteOnce"] }],
                statefulSets: [],
                storageClasses: [],
            });
            assert.deepStrictEqual(
                problems.map((p) => [p.key, p.message.slice(0, 60)]),
                [
                    ["stateful-apps:apps[0].storage.storageClass", "differs from the live PVC data-visits-0's StorageClass (stan"],
                    ["stateful-apps:apps[0].storage.accessModes", "differ from the live PVC data-visits-0's (ReadWriteOnce); a "],
                ],
            );
            const unset = checkAgainstLive(cfg(), {
                claims: [{ name: "data-visits-0", size: "256Mi", storageClass: "standard", accessModes: ["ReadWriteOnce"] }],
                statefulSets: [],
                storageClasses: [],
            });
            assert.deepStrictEqual(unset.problems, [], "no class in config: the claim keeps the one the cluster gave it");
        });

        it("refuses growth where the StorageClass is gone (not read)", () => {
            const { problems } = checkAgainstLive(cfg(), { claims: claims.slice(0, 1), statefulSets: [], storageClasses: [] });
            assert.match(problems[0]?.message ?? "", /data-visits-0 \(128Mi, StorageClass expandable\)/);
        });
    });
});

describe("the cluster a stack names", () => {
    it("refuses a kubernetes:* setting the explicit provider would ignore, naming it", async () => {
        const config = { ...stackFileConfig("dev"), "kubernetes:namespace": "elsewhere" };
        await assert.rejects(runProgram(config, { stack: "dev" }), (err: Error & { problems?: { key: string; message: string }[] }) => {
            const p = err.problems?.find((x) => x.key === "kubernetes:namespace");
            assert.ok(p && /would be ignored; allowed: kubernetes:context, kubernetes:kubeconfig/.test(p.message), err.message);
            return true;
        });
    });
});

describe("Kubernetes quantities", () => {
    const table: [string, number | undefined][] = [
        ["500m", 0.5],
        ["2", 2],
        ["0.5", 0.5],
        ["256Mi", 256 * 2 ** 20],
        ["10Gi", 10 * 2 ** 30],
        ["1G", 1e9],
        ["1e3", 1000],
        ["5Gb", undefined],
        ["1 Gi", undefined],
        ["-1Gi", undefined],
        ["Gi", undefined],
        ["", undefined],
    ];
    for (const [text, value] of table) {
        it(`parses ${JSON.stringify(text)} as ${value}`, () => assert.strictEqual(parseQuantity(text), value));
    }
    it("accepts millicores for CPU but not millibytes for memory or storage", () => {
        assert.strictEqual(quantityProblem("250m", "cpu"), undefined);
        assert.match(quantityProblem("256m", "memory") ?? "", /milli/);
        assert.match(quantityProblem("0Gi", "storage") ?? "", /greater than zero/);
    });
});

describe("the configuration reference of docs/CONFIGURATION.md", () => {
    it("is the one generated from the schema (run `npm run docs:config` after changing config/schema.ts)", () => {
        assert.strictEqual(readBetweenMarkers(path.join(ROOT, "docs", "CONFIGURATION.md"), DOCS_BEGIN, DOCS_END), configReference());
    });

    it("states each default once: in the schema (the Default column), never again in a description", () => {
        const doubled = configReference()
            .split("\n")
            .slice(2)
            .map((row) => row.split(" | "))
            .filter(([, , def, description]) => def.trim() !== "" && /\bDefault (?!:)/.test(description));
        assert.deepStrictEqual(
            doubled.map(([key]) => key),
            [],
        );
    });
});

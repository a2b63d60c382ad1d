/**
 * The bad-config corpus (`tests/fixtures/bad-config/*.yaml`): each file is a complete stack file a user could
 * have written, with one mistake, and a header naming the config key the error must name and a fragment of the
 * message:
 *
 *   # expect-key: stateful-apps:apps[0].storage.size
 *   # expect-message: not a Kubernetes quantity
 *   # live-pvcs: {"data-orders-0": "10Gi"}     (optional: the cluster's PVCs, for shrink checks;
 *                                               `<namespace>/<name>` for another namespace's)
 *   # live-pvc-owners: {"data-orders-0": "uid"} (optional: the UID of the StatefulSet that owns a claim)
 *   # live-statefulsets: [{"name": …}]          (optional: the cluster's StatefulSets, lib/kube-api.ts LiveStatefulSet)
 *
 * Each runs through the real program (`index.ts`, Pulumi mocks). What this proves: the program throws a
 * StackConfigError naming the key, and registers no resource before it does (not one registration is sent
 * to the engine, so `pulumi up` would create and change nothing). What it does not: the same against a live
 * engine and cluster (tests/e2e runs four bad configs through `up` on the real engine).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { StackConfigError } from "../config/errors";
import type { LiveStatefulSet } from "../lib/kube-api";
import { lastRunApiRequests, lastRunRegistrations, ROOT, runProgram, stackFileConfig } from "./harness";

const DIR = path.join(ROOT, "tests", "fixtures", "bad-config");

interface Fixture {
    file: string;
    key: string;
    message: string;
    claims?: Record<string, string>;
    claimOwners?: Record<string, string>;
    statefulSets?: LiveStatefulSet[];
    config: Record<string, unknown>;
}

function header(text: string, name: string): string | undefined {
    return new RegExp(`^# ${name}: (.+)$`, "m").exec(text)?.[1].trim();
}

function load(file: string): Fixture {
    const text = fs.readFileSync(path.join(DIR, file), "utf8");
    const key = header(text, "expect-key");
    const message = header(text, "expect-message");
    if (!key || !message) {
        throw new Error(`${file}: needs '# expect-key:' and '# expect-message:' header lines`);
    }
    const json = (name: string) => {
        const value = header(text, name);
        return value ? JSON.parse(value) : undefined;
    };
    return {
        file,
        key,
        message,
        claims: json("live-pvcs"),
        claimOwners: json("live-pvc-owners"),
        statefulSets: json("live-statefulsets"),
        config: parse(text).config,
    };
}

const fixtures = fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map(load);

describe("bad-config corpus through index.ts", () => {
    it("holds at least 30 stack files", () => {
        assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures`);
    });

    for (const f of fixtures) {
        it(`${f.file}: fails naming ${f.key}, with nothing registered`, async () => {
            await assert.rejects(
                runProgram(f.config, { stack: "bad", claims: f.claims, claimOwners: f.claimOwners, statefulSets: f.statefulSets }),
                (err: unknown) => {
                    // The harness reloads the program's modules per run, so compare the class by name, not identity.
                    assert.ok(err instanceof Error && err.name === "StackConfigError", `expected a StackConfigError, got ${err}`);
                    const problem = (err as StackConfigError).problems.find((p) => p.key === f.key);
                    assert.ok(problem, `no problem names ${f.key}; got:\n${(err as Error).message}`);
                    assert.ok(problem.message.includes(f.message), `message for ${f.key} lacks "${f.message}": ${problem.message}`);
                    return true;
                },
            );
            assert.deepStrictEqual(
                lastRunRegistrations().map((r) => r.type),
                [],
                "a resource was registered before validation failed",
            );
        });
    }

    it("the same stack files pass once the live PVCs are no larger (the shrink check compares, it does not guess)", async () => {
        const shrink = fixtures.find((f) => f.claims);
        assert.ok(shrink, "the corpus has a shrink fixture");
        const run = await runProgram(shrink.config, {
            stack: "bad",
            claims: { "data-orders-0": "5Gi", "data-orders-1": "5Gi", "data-orders-archive-0": "50Gi" },
        });
        assert.ok(run.registrations.length > 0);
        assert.deepStrictEqual(
            // The pre-flight read only: the rollout watch's reads in `up` (lib/rollout-watch.ts) come later.
            lastRunApiRequests()
                .filter((r) => !/\/statefulsets\/[^/?]+$|\/(pods|events)\?/.test(r))
                .filter((r, i, all) => all.indexOf(r) === i)
                .sort(),
            [
                "/api/v1/namespaces/shop-dev/persistentvolumeclaims",
                "/apis/apps/v1/namespaces/shop-dev/statefulsets",
                "/apis/apps/v1/statefulsets?labelSelector=app.kubernetes.io%2Fpart-of%3Dstateful-apps",
            ],
            "one list of the namespace's PVCs, one of its StatefulSets and one of the program's StatefulSets everywhere, nothing else (no StorageClass: nothing grows; no other namespace holds an app of the stack)",
        );
    });

    it("growing storage where the StorageClass allows expansion: the claim patches ask the new size, the new size becomes the deployed size", async () => {
        const config = stackFileConfig("dev");
        const run = await runProgram(config, {
            stack: "dev",
            claims: { "data-visits-0": "128Mi" },
            claimClass: "expandable",
            storageClasses: { expandable: true },
        });
        const workloads = run.outputs.workloads as Record<string, { storageSize: string }>;
        assert.strictEqual(workloads.visits.storageSize, "256Mi");
        const patch = run.registrations.find((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaimPatch" && r.name === "visits-claim-0");
        assert.strictEqual(patch?.inputs.spec.resources.requests.storage, "256Mi");
        assert.ok(lastRunApiRequests().includes("/apis/storage.k8s.io/v1/storageclasses/expandable"), "the claim's StorageClass is read");
    });

    it("growing storage where the StorageClass does not allow expansion fails naming the key, the PVC and the class, with nothing registered", async () => {
        const config = stackFileConfig("dev");
        await assert.rejects(
            runProgram(config, { stack: "dev", claims: { "data-visits-0": "128Mi" }, claimClass: "standard", storageClasses: { standard: false } }),
            (err: unknown) => {
                const problem = (err as StackConfigError).problems?.find((p) => p.key === "stateful-apps:apps[0].storage.size");
                assert.ok(problem && /cannot be expanded: data-visits-0 \(128Mi, StorageClass standard\)/.test(problem.message), String(err));
                return true;
            },
        );
        assert.deepStrictEqual(lastRunRegistrations(), []);
    });

    it("an unreachable cluster fails naming kubernetes:context, with nothing registered", async () => {
        const saved = process.env.KUBECONFIG;
        const config = { ...stackFileConfig("dev"), "kubernetes:kubeconfig": fs.readFileSync(path.join(ROOT, "tests", "fixtures", "kubeconfig.yaml"), "utf8") };
        await assert.rejects(runProgram(config, { stack: "dev" }), (err: unknown) => {
            const problem = (err as StackConfigError).problems?.find((p) => p.key === "kubernetes:context");
            assert.ok(problem && /cannot be read .*127\.0\.0\.1:1/.test(problem.message), String(err));
            return true;
        });
        assert.deepStrictEqual(lastRunRegistrations(), []);
        process.env.KUBECONFIG = saved;
    });
});

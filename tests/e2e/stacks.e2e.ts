/**
 * The main job on the real Pulumi engine: `up`, `preview`, `refresh` and `destroy` of the dev and prod stacks
 * (deploy/engine.ts: Pulumi CLI v3.274, kubernetes plugin v4.25, `index.ts` as the Automation API inline program)
 * against a local cluster of their own (scripts/cluster: a real kube-apiserver, controller-manager and scheduler;
 * kwok fakes the nodes), each stack in its own namespace, with a throwaway `file://` backend.
 *
 * What this proves: the engine and the provider accept the program; its awaits finish; a second preview and a
 * refresh show no changes; config changes do what docs/DAY-2.md says to pods and PVCs as the StatefulSet controller
 * sees them; bad config stops `up` before anything changes; the state holds secrets only as ciphertext; protect
 * and retainOnDelete hold. What it does not prove: anything about the apps themselves. kwok runs no container:
 * pods turn Ready on a timer, no image is pulled, no probe runs, no byte is written to a volume.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { engineSettings, openStack, ROOT } from "../../deploy/engine";
import { PROJECT } from "../../lib/names";
import { HELM } from "../helm";
import { Any, appIn, changes, collector, EngineEnv, eventually, fails, stackFileWith, succeeds, timed, up, withContext } from "./harness";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-e2e-"));
let env: EngineEnv;
const kubectl = (args: string[]) => env.cluster.kubectl(args);
const getJson = (args: string[]): Any => env.cluster.getJson(args);

const DEV_NS = "stateful-dev";
const PROD_NS = "stateful-prod";

/** name -> metadata.uid of the PVCs in a namespace. */
function pvcUids(ns: string): Record<string, string> {
    return Object.fromEntries(getJson(["pvc", "-n", ns]).items.map((c: Any) => [c.metadata.name, c.metadata.uid]));
}

/** Every StatefulSet of the namespace has all its replicas Ready, and a Bound PVC per replica. */
function assertReady(ns: string, expectedSets: string[]): void {
    const sets = getJson(["statefulsets", "-n", ns]).items;
    assert.deepStrictEqual(sets.map((s: Any) => s.metadata.name).sort(), [...expectedSets].sort());
    const wanted: string[] = [];
    for (const s of sets) {
        assert.strictEqual(s.status.readyReplicas ?? 0, s.spec.replicas, `${s.metadata.name}: ${s.status.readyReplicas} of ${s.spec.replicas} Ready`);
        assert.strictEqual(s.status.updateRevision, s.status.currentRevision, `${s.metadata.name} is still rolling out`);
        for (let i = 0; i < s.spec.replicas; i++) wanted.push(`data-${s.metadata.name}-${i}`);
    }
    const pvcs = getJson(["pvc", "-n", ns]).items;
    for (const name of wanted) {
        const c = pvcs.find((p: Any) => p.metadata.name === name);
        assert.ok(c, `no PVC ${name}`);
        assert.strictEqual(c.status.phase, "Bound", `${name} is ${c.status.phase}`);
    }
}

/** Every value of every Secret the stack's apps use, decoded. */
function secretValues(ns: string, apps: string[]): string[] {
    return apps.flatMap((app) =>
        Object.values(getJson(["secret", `${app}-credentials`, "-n", ns]).data as Record<string, string>).map((v) => Buffer.from(v, "base64").toString("utf8")),
    );
}

describe("dev and prod on the real Pulumi engine (kwok nodes: proves the control plane and Pulumi, not the apps)", function () {
    this.timeout(10 * 60 * 1000);

    before(async function () {
        this.timeout(40 * 60 * 1000);
        await timed("toolchain (pulumi CLI + kubernetes plugin)", () => {
            env = new EngineEnv("stateful-apps-engine", stateDir);
        });
        await timed("local cluster up", () => env.cluster.up(3));
    });

    after(function () {
        this.timeout(2 * 60 * 1000);
        env?.cluster.down();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    describe("dev", () => {
        it("up creates every resource and finishes its awaits", async () => {
            const dev = await env.open("dev");
            const created = await timed("dev: up from empty", () => up(dev.stack, dev.configFile));
            assert.ok((created.create ?? 0) >= 30, `created ${JSON.stringify(created)}`);
            assert.deepStrictEqual(Object.keys(created), ["create"]);
        });

        it("every StatefulSet is Ready with one Bound PVC per replica; the Helm release is deployed and its hooks ran", async () => {
            assertReady(DEV_NS, ["visits", "litecoin", "datastore"]);
            const status = JSON.parse(env.cluster.run(HELM, ["status", "litecoin", "-n", DEV_NS, "--kubeconfig", env.cluster.kubeconfig, "-o", "json"]).stdout);
            assert.strictEqual(status.info.status, "deployed");
            const hooks = Object.fromEntries((status.hooks ?? []).map((h: Any) => [h.name, h.last_run?.phase]));
            assert.strictEqual(hooks["litecoin-preflight"], "Succeeded", JSON.stringify(hooks));
            assert.strictEqual(hooks["litecoin-report"], "Succeeded", JSON.stringify(hooks));
            const job = getJson(["jobs", "-n", DEV_NS]).items.find((j: Any) => j.metadata.name.startsWith("datastore-data-load-"));
            assert.ok(job?.status?.succeeded >= 1, "the data-load Job completed");
        });

        it("a preview right after up shows no changes (preview --expect-no-changes)", async () => {
            const dev = await env.open("dev");
            await succeeds("dev: no-change preview", (o) => dev.stack.preview({ configFile: dev.configFile, expectNoChanges: true, diff: true, ...o }));
        });

        it("refresh finds no drift: the first refresh changes only objects' status (what controllers report), a second one nothing", async () => {
            const dev = await env.open("dev");
            const before = env.resources("dev", true);
            const all = env.resources("dev");
            await timed("dev: first refresh", () => dev.stack.refresh({ configFile: dev.configFile, color: "never" }));
            const after = env.resources("dev", true);
            const drift = [...after.keys()].filter((urn) => after.get(urn) !== before.get(urn));
            assert.deepStrictEqual(drift, [], "fields other than status changed");
            const statusOnly = [...env.resources("dev").entries()].filter(([urn, v]) => all.get(urn) !== v).map(([urn]) => urn.split("::").pop());
            process.stdout.write(`      [e2e] first refresh: status changed on ${statusOnly.length ? statusOnly.join(", ") : "nothing"}\n`);
            await succeeds("dev: second refresh", (o) => dev.stack.refresh({ configFile: dev.configFile, expectNoChanges: true, ...o }));
        });

        it("the state file and Helm's stored release hold no secret in plaintext", () => {
            const values = secretValues(DEV_NS, ["visits", "litecoin", "datastore"]);
            assert.strictEqual(values.length, 3);
            for (const v of values) assert.ok(v.length >= 16, "a real password");
            const state = fs.readFileSync(env.stateFile("dev"), "utf8");
            assert.ok(state.includes("ciphertext"), "the state holds ciphertext");
            for (const v of values) assert.ok(!state.includes(v), "a password is in the state file in plaintext");
            const stored = getJson(["secrets", "-n", DEV_NS, "-l", "owner=helm,name=litecoin"]).items;
            assert.ok(stored.length >= 1);
            for (const item of stored) {
                const release = zlib.gunzipSync(Buffer.from(Buffer.from(item.data.release, "base64").toString("utf8"), "base64")).toString("utf8");
                assert.ok(release.includes('"existingSecret":"litecoin-credentials"'), "decoded the release");
                for (const v of values) assert.ok(!release.includes(v), `Helm's release ${item.metadata.name} holds a password`);
            }
        });

        it("a deleted pod comes back with the same name on the same PVC (same UID)", async () => {
            const before = getJson(["pod", "visits-0", "-n", DEV_NS]);
            const pvc = pvcUids(DEV_NS)["data-visits-0"];
            kubectl(["delete", "pod", "visits-0", "-n", DEV_NS, "--wait=false"]);
            await eventually("visits-0 to come back Ready", 120, () => {
                const r = env.cluster.kubectlResult(["get", "pod", "visits-0", "-n", DEV_NS, "-o", "json"]);
                if (r.status !== 0) return false;
                const p = JSON.parse(r.stdout);
                return p.metadata.uid !== before.metadata.uid && (p.status.conditions ?? []).some((c: Any) => c.type === "Ready" && c.status === "True");
            });
            const after = getJson(["pod", "visits-0", "-n", DEV_NS]);
            assert.strictEqual(after.spec.volumes.find((v: Any) => v.name === "data").persistentVolumeClaim.claimName, "data-visits-0");
            assert.strictEqual(pvcUids(DEV_NS)["data-visits-0"], pvc, "the PVC was not replaced");
        });

        it("replicas 2 -> 3 -> 1 -> 3 through config: the PVCs of removed ordinals are kept (whenScaled: Retain) and re-used", async () => {
            const withReplicas = (n: number) => stackFileWith("dev", (c) => (appIn(c, "visits").replicas = n));
            let s = await env.open("dev", withReplicas(3));
            assert.deepStrictEqual(
                await timed("dev: up replicas 3", () => up(s.stack, s.configFile)),
                { update: 1, create: 1 },
                "the StatefulSet, and the new ordinal's claim patch",
            );
            const three = pvcUids(DEV_NS);
            assert.ok(three["data-visits-2"], "a PVC for the new ordinal");
            s = await env.open("dev", withReplicas(1));
            await timed("dev: up replicas 1", () => up(s.stack, s.configFile));
            assert.strictEqual(getJson(["statefulset", "visits", "-n", DEV_NS]).status.replicas, 1);
            const one = pvcUids(DEV_NS);
            for (const n of ["data-visits-0", "data-visits-1", "data-visits-2"]) assert.strictEqual(one[n], three[n], `${n} kept while scaled down`);
            s = await env.open("dev", withReplicas(3));
            await timed("dev: up replicas 3 again", () => up(s.stack, s.configFile));
            assertReady(DEV_NS, ["visits", "litecoin", "datastore"]);
            const again = pvcUids(DEV_NS);
            for (const n of ["data-visits-0", "data-visits-1", "data-visits-2"]) assert.strictEqual(again[n], three[n], `${n} re-used`);
            const pods = getJson(["pods", "-n", DEV_NS, "-l", "app.kubernetes.io/name=visits"]).items;
            for (const p of pods) {
                const claim = p.spec.volumes.find((v: Any) => v.name === "data").persistentVolumeClaim.claimName;
                assert.strictEqual(claim, `data-${p.metadata.name}`);
            }
        });

        it("a ConfigMap change rolls the pods to a new revision and keeps their PVCs", async () => {
            const pvcs = pvcUids(DEV_NS);
            const rev = getJson(["statefulset", "visits", "-n", DEV_NS]).status.currentRevision;
            const text = stackFileWith("dev", (c) => {
                const visits = appIn(c, "visits");
                visits.replicas = 3;
                visits.configFiles["config.json"].greeting = "Hello from the e2e test";
            });
            const s = await env.open("dev", text);
            const changed = await timed("dev: up with a changed ConfigMap", () => up(s.stack, s.configFile));
            assert.deepStrictEqual(changed, { update: 2 }, "the files ConfigMap and the StatefulSet (checksum/config)");
            const sts = getJson(["statefulset", "visits", "-n", DEV_NS]);
            assert.notStrictEqual(sts.status.updateRevision, rev, "a new revision");
            assert.strictEqual(sts.status.currentRevision, sts.status.updateRevision, "rolled out");
            for (const p of getJson(["pods", "-n", DEV_NS, "-l", "app.kubernetes.io/name=visits"]).items) {
                assert.strictEqual(p.metadata.labels["controller-revision-hash"], sts.status.updateRevision, `${p.metadata.name} runs the new revision`);
            }
            assert.deepStrictEqual(pvcUids(DEV_NS), pvcs, "no PVC replaced");
        });

        it("a partitioned canary (partition 2 of 3) returns without waiting for the old ordinals, then partition 0 promotes it", async () => {
            const pvcs = pvcUids(DEV_NS);
            const canary = (partition: number) =>
                stackFileWith("dev", (c) => {
                    const visits = appIn(c, "visits");
                    visits.replicas = 3;
                    visits.configFiles["config.json"].greeting = "Hello from the canary";
                    visits.updateStrategy = { type: "RollingUpdate", partition };
                });
            let s = await env.open("dev", canary(2));
            const started = Date.now();
            const r = await timed("dev: up with partition 2", () => s.stack.up({ configFile: s.configFile, color: "never" }));
            assert.ok(Date.now() - started < 120_000, "up returned (the provider would wait 10 minutes)");
            assert.match(String((r.outputs.workloads.value as Any).visits.rollout), /partitioned at 2/);
            const revisionOf = (pod: string) => getJson(["pod", pod, "-n", DEV_NS]).metadata.labels["controller-revision-hash"];
            let sts = getJson(["statefulset", "visits", "-n", DEV_NS]);
            const { currentRevision, updateRevision } = sts.status;
            assert.notStrictEqual(updateRevision, currentRevision, "a new revision exists");
            await eventually("visits-2 on the new revision and Ready", 120, () => {
                const st = getJson(["statefulset", "visits", "-n", DEV_NS]).status;
                return st.updatedReplicas === 1 && st.readyReplicas === 3 && revisionOf("visits-2") === updateRevision;
            });
            assert.strictEqual(revisionOf("visits-0"), currentRevision, "below the partition: old revision");
            assert.strictEqual(revisionOf("visits-1"), currentRevision, "below the partition: old revision");
            s = await env.open("dev", canary(0));
            await timed("dev: up with partition 0 (promote, awaited)", () => up(s.stack, s.configFile));
            sts = getJson(["statefulset", "visits", "-n", DEV_NS]);
            assert.strictEqual(sts.status.currentRevision, updateRevision, "promoted: every pod on the canary's revision");
            for (const p of ["visits-0", "visits-1", "visits-2"]) assert.strictEqual(revisionOf(p), updateRevision);
            assert.deepStrictEqual(pvcUids(DEV_NS), pvcs, "no PVC replaced");
        });

        it("immutable fields on the Helm path: another podManagementPolicy neither fails the helm upgrade nor takes effect (as on the native path)", async () => {
            const before = getJson(["statefulset", "litecoin", "-n", DEV_NS]).spec;
            const s = await env.open(
                "dev",
                stackFileWith("dev", (c) => (appIn(c, "litecoin").podManagementPolicy = "Parallel")),
            );
            const out = collector();
            await timed("dev: up with litecoin's podManagementPolicy changed", () =>
                s.stack.up({ configFile: s.configFile, onOutput: out.onOutput, color: "never" }),
            );
            assert.match(
                out.text(),
                /podManagementPolicy is Parallel, but the live StatefulSet litecoin has OrderedReady: it is immutable/,
                "the ignored change is warned about",
            );
            const after = getJson(["statefulset", "litecoin", "-n", DEV_NS]).spec;
            assert.strictEqual(after.podManagementPolicy, before.podManagementPolicy);
            const status = JSON.parse(env.cluster.run(HELM, ["status", "litecoin", "-n", DEV_NS, "--kubeconfig", env.cluster.kubeconfig, "-o", "json"]).stdout);
            assert.strictEqual(status.info.status, "deployed");
        });

        it("changing an immutable field natively (podManagementPolicy): kubectl delete --cascade=orphan, then up --refresh recreates the StatefulSet over the same pods and PVCs", async () => {
            const pvcs = pvcUids(DEV_NS);
            const pods = Object.fromEntries(
                getJson(["pods", "-n", DEV_NS, "-l", "app.kubernetes.io/name=visits"]).items.map((p: Any) => [p.metadata.name, p.metadata.uid]),
            );
            assert.strictEqual(getJson(["statefulset", "visits", "-n", DEV_NS]).spec.podManagementPolicy, "Parallel");
            kubectl(["delete", "statefulset", "visits", "-n", DEV_NS, "--cascade=orphan", "--wait=false"]);
            await eventually("the StatefulSet to be gone", 60, () => env.cluster.kubectlResult(["get", "statefulset", "visits", "-n", DEV_NS]).status !== 0);
            const text = stackFileWith("dev", (c) => (appIn(c, "visits").podManagementPolicy = "OrderedReady"));
            const s = await env.open("dev", text);
            const r = await timed("dev: up --refresh after the orphaning delete", () =>
                s.stack.up({ configFile: s.configFile, refresh: true, color: "never" }),
            );
            assert.strictEqual(changes(r.summary).create, 1, `the StatefulSet is created again: ${JSON.stringify(changes(r.summary))}`);
            const sts = getJson(["statefulset", "visits", "-n", DEV_NS]);
            assert.strictEqual(sts.spec.podManagementPolicy, "OrderedReady");
            assertReady(DEV_NS, ["visits", "litecoin", "datastore"]);
            assert.deepStrictEqual(pvcUids(DEV_NS), pvcs, "the same PVCs (adopted by name)");
            const adopted = getJson(["pods", "-n", DEV_NS, "-l", "app.kubernetes.io/name=visits"]).items;
            assert.deepStrictEqual(
                Object.fromEntries(adopted.map((p: Any) => [p.metadata.name, p.metadata.uid])),
                pods,
                "the same pods (same template revision: adopted, not restarted)",
            );
            for (const p of adopted)
                assert.strictEqual(p.metadata.ownerReferences?.[0]?.uid, sts.metadata.uid, `${p.metadata.name} is owned by the new StatefulSet`);
            // whenDeleted: Delete is an owner reference from each PVC to the StatefulSet. The orphaning delete removes it;
            // the controller puts it back only on the PVCs of ordinals it runs. A PVC kept from a scale-down
            // (whenScaled: Retain, here data-visits-2 from the replicas test) stays unowned: no later delete of the
            // StatefulSet removes it (docs/SAFETY.md "Safety rules built in": delete it by hand when its data is not wanted).
            await eventually("the running ordinals' PVCs to be owned by the new StatefulSet", 60, () =>
                ["data-visits-0", "data-visits-1"].every((n) =>
                    getJson(["pvc", n, "-n", DEV_NS]).metadata.ownerReferences?.some((o: Any) => o.uid === sts.metadata.uid),
                ),
            );
            const retained = getJson(["pvc", "-n", DEV_NS]).items.filter((c: Any) => /^data-visits-([2-9]|\d\d+)$/.test(c.metadata.name));
            for (const c of retained) {
                assert.ok(!c.metadata.ownerReferences?.some((o: Any) => o.kind === "StatefulSet"), `${c.metadata.name} (no pod) is not re-owned`);
                kubectl(["delete", "pvc", c.metadata.name, "-n", DEV_NS, "--wait=false"]);
            }
            await succeeds("dev: preview --expect-no-changes after the recreate", (o) =>
                s.stack.preview({ configFile: s.configFile, expectNoChanges: true, ...o }),
            );
        });

        it("back to the committed config: up, then preview shows no changes", async () => {
            const s = await env.open("dev");
            await timed("dev: up of the committed config", () => up(s.stack, s.configFile));
            await s.stack.preview({ configFile: s.configFile, expectNoChanges: true, color: "never" });
        });

        it("a new secret value (the runner's stand-in for visits' generated password, set with config set --secret) updates the Secret and rolls the pods; PVCs kept, neither value in the state in plaintext", async () => {
            const [old] = secretValues(DEV_NS, ["visits"]);
            const pvcs = pvcUids(DEV_NS);
            const rev = getJson(["statefulset", "visits", "-n", DEV_NS]).status.currentRevision;
            const s = await env.open("dev");
            const fresh = `Rotated${Date.now()}abcdefghijklmnopqrstu`;
            const set = s.cli(["config", "set", "--secret", "--config-file", s.configFile, `${PROJECT}:localGeneratedSecret-visits`], fresh);
            assert.strictEqual(set.status, 0, set.stderr);
            const changed = await timed("dev: up with a new secret value", () => up(s.stack, s.configFile));
            assert.deepStrictEqual(changed, { update: 2 }, "the Secret and the StatefulSet (checksum/secret)");
            assert.deepStrictEqual(secretValues(DEV_NS, ["visits"]), [fresh]);
            const sts = getJson(["statefulset", "visits", "-n", DEV_NS]);
            assert.notStrictEqual(sts.status.updateRevision, rev, "a new pod template revision");
            assert.strictEqual(sts.status.currentRevision, sts.status.updateRevision, "rolled out");
            assert.deepStrictEqual(pvcUids(DEV_NS), pvcs, "no PVC replaced");
            const state = fs.readFileSync(env.stateFile("dev"), "utf8");
            assert.ok(!state.includes(fresh) && !state.includes(old), "neither password in the state in plaintext");
        });

        it("raising visits' secret.rotation (here the runner's stand-in for the generated password: the random provider cannot be built here) gives a new value: the Secret changes, pods roll, PVCs kept; the old stand-in leaves the local stack file", async () => {
            const [old] = secretValues(DEV_NS, ["visits"]);
            const pvcs = pvcUids(DEV_NS);
            const rev = getJson(["statefulset", "visits", "-n", DEV_NS]).status.currentRevision;
            const s = await env.open(
                "dev",
                stackFileWith("dev", (c) => (appIn(c, "visits").secret = { ...appIn(c, "visits").secret, rotation: 1 })),
            );
            const local = fs.readFileSync(s.configFile, "utf8");
            assert.ok(local.includes(`${PROJECT}:localGeneratedSecret-visits-r1:`), "a stand-in for rotation 1");
            assert.ok(!local.includes(`${PROJECT}:localGeneratedSecret-visits:`), "the rotated-away stand-in is gone");
            const changed = await timed("dev: up with secret.rotation 1", () => up(s.stack, s.configFile));
            assert.deepStrictEqual(changed, { update: 2 }, "the Secret and the StatefulSet (checksum/secret)");
            const [fresh] = secretValues(DEV_NS, ["visits"]);
            assert.notStrictEqual(fresh, old, "a new password");
            assert.strictEqual(fresh.length, 32);
            const sts = getJson(["statefulset", "visits", "-n", DEV_NS]);
            assert.notStrictEqual(sts.status.updateRevision, rev, "a new pod template revision");
            assert.deepStrictEqual(pvcUids(DEV_NS), pvcs, "no PVC replaced");
            await succeeds("dev: preview --expect-no-changes after the rotation", (o) =>
                s.stack.preview({ configFile: s.configFile, expectNoChanges: true, ...o }),
            );
            // The committed config again, so that the tests below start from it. Rotation 0's stand-in is the one the
            // runner's main stack file kept (every e2e open is an override file of its own: the context differs), not
            // the rotated-away value, which is gone.
            const committed = await env.open("dev");
            await timed("dev: up of the committed config", () => up(committed.stack, committed.configFile));
            const [back] = secretValues(DEV_NS, ["visits"]);
            assert.ok(back !== fresh && back !== old, "neither the rotation's value nor the rotated-away one");
        });

        const badConfigs: Array<{ name: string; mutate: (c: Record<string, Any>) => void; key: string }> = [
            { name: "a storage shrink (256Mi -> 128Mi)", mutate: (c) => (appIn(c, "visits").storage.size = "128Mi"), key: `${PROJECT}:apps[0].storage.size` },
            {
                name: "a storage growth on a StorageClass without allowVolumeExpansion (256Mi -> 512Mi on the local cluster's standard)",
                mutate: (c) => (appIn(c, "visits").storage.size = "512Mi"),
                key: `${PROJECT}:apps[0].storage.size`,
            },
            { name: "a size that is not a quantity", mutate: (c) => (appIn(c, "datastore").storage.size = "5Gb"), key: `${PROJECT}:apps[2].storage.size` },
            { name: "a misspelt key", mutate: (c) => (appIn(c, "litecoin").replica = 2), key: `${PROJECT}:apps[1]` },
            {
                name: "a partition above replicas",
                mutate: (c) => (appIn(c, "visits").updateStrategy = { type: "RollingUpdate", partition: 5 }),
                key: `${PROJECT}:apps[0].updateStrategy.partition`,
            },
        ];
        for (const bad of badConfigs) {
            it(`${bad.name} fails up naming ${bad.key}, with zero resources changed`, async () => {
                const before = env.resources("dev");
                const s = await env.open("dev", stackFileWith("dev", bad.mutate));
                const error = await fails(`dev: up with ${bad.name}`, (o) => s.stack.up({ configFile: s.configFile, ...o }));
                assert.ok(error.includes(bad.key), `the error names ${bad.key}:\n${error.slice(-2000)}`);
                assert.deepStrictEqual(env.resources("dev"), before, "the same resources with the same outputs");
            });
        }

        it("an up for a kubernetes:context the kubeconfig lacks fails before any resource, the provider's configuration in the state included", async () => {
            const before = env.resources("dev");
            const text = stackFileWith("dev", (c) => (appIn(c, "visits").configFiles["config.json"].greeting = "Hello from the wrong cluster"));
            const s = await openStack("dev", {
                settings: env.settings,
                toolchain: env.toolchain,
                kubeconfig: env.cluster.kubeconfig,
                stackFileText: withContext(text, "no-such-context"),
            });
            const error = await fails("dev: up with a kubernetes:context the kubeconfig lacks", (o) => s.stack.up({ configFile: s.configFile, ...o }));
            assert.match(error, /kubernetes:context: names a context that KUBECONFIG=.* does not have/);
            assert.deepStrictEqual(env.resources("dev"), before, "the same resources with the same outputs");
        });

        it("growing storage in one up, on both paths (kwok: no resizer, so this proves what the API server accepts, not a bigger volume): every PVC asks the new size, same PVCs and pods; a new ordinal is expanded too; then preview shows no changes", async () => {
            // The local cluster's hostPath class cannot resize volumes, and says so (allowVolumeExpansion unset:
            // the growth bad config above is refused). Allowing expansion lets the API server accept the claims'
            // new size (PersistentVolumeClaimResize admission); nothing resizes the volumes afterwards.
            kubectl(["patch", "storageclass", "standard", "-p", '{"allowVolumeExpansion": true}']);
            const pvcs = pvcUids(DEV_NS);
            const podUids = () => Object.fromEntries(getJson(["pods", "-n", DEV_NS]).items.map((p: Any) => [p.metadata.name, p.metadata.uid]));
            const pods = podUids();
            const grown = (c: Record<string, Any>) => {
                appIn(c, "visits").storage.size = "512Mi";
                appIn(c, "litecoin").storage.size = "2Gi";
            };
            const s = await env.open("dev", stackFileWith("dev", grown));
            const seen = collector();
            // Without --diff: Pulumi v3.274's diff display leaves out the warnings of the (unchanged) stack resource.
            await timed("dev: preview of the growth", () => s.stack.preview({ configFile: s.configFile, onOutput: seen.onOutput, color: "never" }));
            assert.match(
                seen.text(),
                /apps\[0\]\.storage\.size is 512Mi: this up expands PVCs data-visits-0 from 256Mi to 512Mi, data-visits-1 from 256Mi to 512Mi/,
                `preview says it in words:\n${seen.text().slice(-4000)}`,
            );
            assert.match(seen.text(), /apps\[1\]\.storage\.size is 2Gi: this up expands PVCs data-litecoin-0 from 1Gi to 2Gi/);
            const changed = await timed("dev: up of the growth", () => up(s.stack, s.configFile));
            assert.deepStrictEqual(
                changed,
                { update: 3 },
                "the three claim patches, nothing else (the StatefulSet's volumeClaimTemplates are immutable and ignored)",
            );
            const size = (name: string) => getJson(["pvc", name, "-n", DEV_NS]).spec.resources.requests.storage;
            assert.deepStrictEqual(["data-visits-0", "data-visits-1", "data-litecoin-0"].map(size), ["512Mi", "512Mi", "2Gi"]);
            assert.strictEqual(size("data-datastore-0"), "1Gi", "an app whose size did not change keeps its PVC as it is");
            assert.deepStrictEqual(pvcUids(DEV_NS), pvcs, "the same PVCs");
            assert.deepStrictEqual(podUids(), pods, "no pod restarted");
            await succeeds("dev: preview --expect-no-changes after the growth", (o) =>
                s.stack.preview({ configFile: s.configFile, expectNoChanges: true, ...o }),
            );

            // A new ordinal: the controller makes its claim from the (old) template, its patch expands it.
            const more = await env.open(
                "dev",
                stackFileWith("dev", (c) => {
                    grown(c);
                    appIn(c, "visits").replicas = 3;
                }),
            );
            await timed("dev: up with a third visits replica", () => up(more.stack, more.configFile));
            assert.strictEqual(getJson(["statefulset", "visits", "-n", DEV_NS]).spec.volumeClaimTemplates[0].spec.resources.requests.storage, "256Mi");
            assert.strictEqual(size("data-visits-2"), "512Mi", "the new ordinal's claim is expanded by its patch");
            await succeeds("dev: preview --expect-no-changes after the scale-up", (o) =>
                more.stack.preview({ configFile: more.configFile, expectNoChanges: true, ...o }),
            );

            // Back down: the patch of ordinal 2 leaves the state (retainOnDelete), its claim keeps its size (whenScaled: Retain).
            // Opened again: every open of this suite writes the same override file.
            const two = await env.open("dev", stackFileWith("dev", grown));
            assert.deepStrictEqual(
                await timed("dev: up back to two visits replicas", () => up(two.stack, two.configFile)),
                { update: 1, delete: 1 },
                "the StatefulSet; ordinal 2's patch leaves the state",
            );
            assert.strictEqual(size("data-visits-2"), "512Mi");
            await succeeds("dev: preview --expect-no-changes after the scale-down", (o) =>
                two.stack.preview({ configFile: two.configFile, expectNoChanges: true, ...o }),
            );
        });

        it("allowStatefulSetRecreate applies immutable changes (podManagementPolicy, the volumeClaimTemplates' size) in two ups: the first marks the StatefulSet, the second replaces it with an orphaning delete; the same pods (not restarted) and PVCs, then preview shows no changes", async () => {
            // Left by the tests above: visits runs OrderedReady (the orphan recipe) with templates asking 256Mi, its
            // PVCs at 512Mi (the growth test). The committed config says Parallel.
            const live = getJson(["statefulset", "visits", "-n", DEV_NS]);
            assert.strictEqual(live.spec.podManagementPolicy, "OrderedReady");
            const pvcs = pvcUids(DEV_NS);
            const podUids = () =>
                Object.fromEntries(
                    getJson(["pods", "-n", DEV_NS, "-l", "app.kubernetes.io/name=visits"]).items.map((p: Any) => [p.metadata.name, p.metadata.uid]),
                );
            const pods = podUids();
            const s = await env.open(
                "dev",
                stackFileWith("dev", (c) => {
                    const visits = appIn(c, "visits");
                    visits.storage.size = "512Mi";
                    visits.allowStatefulSetRecreate = true;
                    appIn(c, "litecoin").storage.size = "2Gi";
                }),
            );
            const first = collector();
            const marked = await timed("dev: up 1 of 2 (marks the StatefulSet)", () =>
                s.stack.up({ configFile: s.configFile, onOutput: first.onOutput, color: "never" }),
            );
            assert.deepStrictEqual(changes(marked.summary), { update: 1 }, `only the StatefulSet's marks:\n${first.text().slice(-4000)}`);
            assert.match(first.text(), /allowStatefulSetRecreate: this up marks the StatefulSet visits for an orphaning delete/, first.text().slice(-4000));
            assert.strictEqual((marked.outputs.workloads.value as Any).visits.recreatePending, true);
            const annotated = getJson(["statefulset", "visits", "-n", DEV_NS]);
            assert.strictEqual(annotated.metadata.annotations["pulumi.com/deletionPropagationPolicy"], "orphan");
            assert.strictEqual(annotated.spec.persistentVolumeClaimRetentionPolicy.whenDeleted, "Retain", "PVCs safe from any delete until the recreate");
            assert.strictEqual(annotated.metadata.uid, live.metadata.uid, "the same StatefulSet, only annotated");

            const seen = collector();
            const preview = await timed("dev: preview of up 2", () => s.stack.preview({ configFile: s.configFile, onOutput: seen.onOutput, color: "never" }));
            assert.strictEqual(preview.changeSummary.replace, 1, JSON.stringify(preview.changeSummary));
            assert.match(
                seen.text(),
                /this up replaces the StatefulSet visits for podManagementPolicy from OrderedReady to Parallel, volumeClaimTemplates storage from 256Mi to 512Mi/,
            );

            const replaced = await timed("dev: up 2 of 2 (the orphaning replace)", () => s.stack.up({ configFile: s.configFile, color: "never" }));
            assert.deepStrictEqual(changes(replaced.summary), { replace: 1 }, "the StatefulSet, nothing else");
            const sts = getJson(["statefulset", "visits", "-n", DEV_NS]);
            assert.notStrictEqual(sts.metadata.uid, live.metadata.uid, "a new StatefulSet");
            assert.strictEqual(sts.spec.podManagementPolicy, "Parallel");
            assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "512Mi");
            assert.strictEqual(sts.metadata.annotations?.["pulumi.com/deletionPropagationPolicy"], undefined, "the new one is not marked");
            assert.strictEqual(sts.spec.persistentVolumeClaimRetentionPolicy.whenDeleted, "Delete", "the configured retention again");
            assert.strictEqual((replaced.outputs.workloads.value as Any).visits.storageSize, "512Mi");
            assert.strictEqual((replaced.outputs.workloads.value as Any).visits.recreatePending, false);
            assert.deepStrictEqual(podUids(), pods, "the same pods: adopted, not restarted");
            assert.deepStrictEqual(pvcUids(DEV_NS), pvcs, "the same PVCs");
            for (const p of getJson(["pods", "-n", DEV_NS, "-l", "app.kubernetes.io/name=visits"]).items)
                assert.strictEqual(p.metadata.ownerReferences?.[0]?.uid, sts.metadata.uid, `${p.metadata.name} is owned by the new StatefulSet`);
            assertReady(DEV_NS, ["visits", "litecoin", "datastore"]);
            // whenDeleted: Delete again: the controller puts the owner reference back on the claims of the ordinals it
            // runs. The claim kept from the scale-down (data-visits-2) stays unowned, as after any orphaning delete
            // (docs/SAFETY.md "Safety rules built in"): no later delete of the StatefulSet removes it, so this test does.
            await eventually("the running ordinals' PVCs to be owned by the new StatefulSet", 60, () =>
                ["data-visits-0", "data-visits-1"].every((n) =>
                    getJson(["pvc", n, "-n", DEV_NS]).metadata.ownerReferences?.some((o: Any) => o.uid === sts.metadata.uid),
                ),
            );
            for (const c of getJson(["pvc", "-n", DEV_NS]).items.filter((c: Any) => /^data-visits-([2-9]|\d\d+)$/.test(c.metadata.name))) {
                assert.ok(!c.metadata.ownerReferences?.some((o: Any) => o.kind === "StatefulSet"), `${c.metadata.name} (no pod) is not re-owned`);
                kubectl(["delete", "pvc", c.metadata.name, "-n", DEV_NS, "--wait=false"]);
            }
            await succeeds("dev: preview --expect-no-changes after the recreate", (o) =>
                s.stack.preview({ configFile: s.configFile, expectNoChanges: true, ...o }),
            );
        });

        it("destroy removes what it made, keeps the Namespace (retainOnDelete) and the PVCs go with whenDeleted: Delete", async () => {
            const s = await env.open("dev");
            const r = await timed("dev: destroy", () => s.stack.destroy({ configFile: s.configFile, color: "never" }));
            assert.ok((r.summary.resourceChanges?.delete ?? 0) >= 30, JSON.stringify(changes(r.summary)));
            assert.strictEqual(getJson(["namespace", DEV_NS]).metadata.name, DEV_NS, "the Namespace is kept");
            const left = getJson(["statefulsets,services,configmaps,jobs", "-n", DEV_NS]).items.filter((o: Any) => o.metadata.name !== "kube-root-ca.crt");
            // Helm does not delete hook Jobs on uninstall; the chart's report Job keeps its log for an hour
            // (ttlSecondsAfterFinished: 3600), then the TTL controller deletes it.
            const hooks = left.filter((o: Any) => o.kind === "Job" && o.metadata.annotations?.["helm.sh/hook"]);
            for (const j of hooks) assert.ok(j.spec.ttlSecondsAfterFinished > 0, `${j.metadata.name} has no TTL`);
            assert.deepStrictEqual(
                left.filter((o: Any) => !hooks.includes(o)).map((o: Any) => `${o.kind}/${o.metadata.name}`),
                [],
            );
            await eventually(
                "the PVCs to be deleted by the StatefulSet controller's owner references",
                120,
                () => getJson(["pvc", "-n", DEV_NS]).items.length === 0,
            );
            assert.strictEqual(getJson(["secrets", "-n", DEV_NS]).items.length, 0, "Secrets and Helm's release records are gone");
        });
    });

    describe("prod", () => {
        it("up creates everything (ServiceMonitors and PrometheusRules on the operator's CRDs)", async () => {
            const prod = await env.open("prod");
            const created = await timed("prod: up from empty", () => up(prod.stack, prod.configFile));
            assert.deepStrictEqual(Object.keys(created), ["create"]);
            assertReady(PROD_NS, ["visits", "litecoin", "datastore"]);
            assert.ok(getJson(["servicemonitors", "-n", PROD_NS]).items.length >= 2);
            assert.ok(getJson(["prometheusrules", "-n", PROD_NS]).items.length >= 3);
            const pods = getJson(["pods", "-n", PROD_NS, "-l", "app.kubernetes.io/name=visits"]).items;
            const zoneOf = new Map(getJson(["nodes"]).items.map((n: Any) => [n.metadata.name, n.metadata.labels["topology.kubernetes.io/zone"]]));
            assert.deepStrictEqual(
                pods.map((p: Any) => zoneOf.get(p.spec.nodeName)).sort(),
                ["zone-a", "zone-b", "zone-c"],
                "zone DoNotSchedule, minDomains 3",
            );
        });

        it("a preview right after up shows no changes", async () => {
            const prod = await env.open("prod");
            await succeeds("prod: no-change preview", (o) => prod.stack.preview({ configFile: prod.configFile, expectNoChanges: true, diff: true, ...o }));
        });

        it("destroy is refused by protect and deletes nothing", async () => {
            const before = env.resources("prod");
            const pvcs = pvcUids(PROD_NS);
            const prod = await env.open("prod");
            const error = await fails("prod: destroy (refused)", (o) => prod.stack.destroy({ configFile: prod.configFile, ...o }));
            assert.match(error, /protect/i);
            assertReady(PROD_NS, ["visits", "litecoin", "datastore"]);
            assert.deepStrictEqual(pvcUids(PROD_NS), pvcs);
            const after = env.resources("prod");
            for (const urn of before.keys()) {
                if (/StatefulSet|Secret|Release|Namespace/.test(urn)) assert.ok(after.has(urn), `${urn} left the state`);
            }
        });
    });

    describe("prod without the Prometheus Operator's CRDs", () => {
        it("preview fails at once, naming monitoring.prometheusOperator and the missing CRD", async () => {
            kubectl(["delete", "crd", "servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com", "--wait=true"]);
            const prod = await env.open("prod");
            const error = await fails("prod: preview without the CRDs (fails)", (o) => prod.stack.preview({ configFile: prod.configFile, ...o }));
            assert.match(error, /monitoring\.prometheusOperator-requires-servicemonitors\.monitoring\.coreos\.com/);
            assert.match(error, /resource 'servicemonitors\.monitoring\.coreos\.com' does not exist/);
        });
    });

    describe("upgrade", () => {
        const work = path.join(stateDir, "upgrade");
        const programDir = path.join(work, "program");
        const base =
            process.env.E2E_UPGRADE_FROM ??
            fs
                .readFileSync(path.join(__dirname, "upgrade-from.txt"), "utf8")
                .split("\n")
                .find((l) => l && !l.startsWith("#"))!
                .trim();
        // Its own namespace and backend. Both commits' files go to the same path, so that only the program
        // differs (the chart's absolute path is part of the Release's inputs: issue 11).
        const text = () =>
            withContext(
                stackFileWith("dev", (c) => (c[`${PROJECT}:namespace`].name = "stateful-upgrade")),
                env.context,
            );
        const settings = () => engineSettings({ STATEFUL_APPS_STATE_DIR: work, HOME: process.env.HOME });
        /** Empties programDir, lets `fill` write a program into it, and links this clone's node_modules. */
        const program = (fill: () => void) => {
            fs.rmSync(programDir, { recursive: true, force: true });
            fs.mkdirSync(programDir, { recursive: true });
            fill();
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(programDir, "node_modules"));
        };

        after(() => fs.rmSync(programDir, { recursive: true, force: true }));

        it(`this commit's program over dev state written by ${base.slice(0, 12)} (upgrade-from.txt): up changes nothing in the cluster (no update, replace or delete), then preview shows no changes`, async () => {
            // The base commit's tree, without touching this clone's .git (no worktree).
            program(() => execFileSync("bash", ["-c", 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', "_", ROOT, base, programDir]));
            const old = await openStack("dev", {
                settings: settings(),
                toolchain: env.toolchain,
                kubeconfig: env.cluster.kubeconfig,
                stackFileText: text(),
                programDir,
            });
            await timed(`upgrade: up of ${base.slice(0, 12)}'s program`, () => up(old.stack, old.configFile));
            // This clone's files as they are (committed or not). openStack loads them afresh (require cache).
            const files = execFileSync("git", ["-C", ROOT, "ls-files", "-co", "--exclude-standard"], { encoding: "utf8" }).split("\n");
            program(() => {
                for (const f of files.filter((f) => f && fs.existsSync(path.join(ROOT, f)))) {
                    fs.mkdirSync(path.dirname(path.join(programDir, f)), { recursive: true });
                    fs.copyFileSync(path.join(ROOT, f), path.join(programDir, f));
                }
            });
            const current = await openStack("dev", {
                settings: settings(),
                toolchain: env.toolchain,
                kubeconfig: env.cluster.kubeconfig,
                stackFileText: text(),
                programDir,
            });
            // Every step must leave the cluster as it is: `same` (aliases move a resource in the state without a
            // step of its own), or a step on something that exists only in the state: the creation of one of this
            // project's ComponentResources, the creation or update of a provider (never its replacement, which
            // would replace every resource). No update, replace or delete of a cluster object.
            const oldState = JSON.parse(
                fs.readFileSync(path.join(settings().backendUrl.slice("file://".length), ".pulumi", "stacks", PROJECT, "dev.json"), "utf8"),
            );
            const clusterObjects = (oldState.checkpoint.latest.resources as Any[]).filter((r) => r.type.startsWith("kubernetes:") && !r.external).length;
            const steps: { op: string; type: string; urn: string }[] = [];
            const claimsBefore = getJson(["pvc", "-n", "stateful-upgrade"]).items.map((c: Any) => [c.metadata.uid, c.spec.resources.requests.storage]);
            await succeeds("upgrade: up of this commit's program", (o) =>
                current.stack.up({
                    configFile: current.configFile,
                    diff: true,
                    onEvent: (e) => e.resourcePreEvent && steps.push(e.resourcePreEvent.metadata),
                    ...o,
                }),
            );
            // The claim patches (lib/claims.ts) arrived after some bases: their creation asks each PVC for the size it has,
            // which changes no PVC's spec (checked below; the patches add their pulumi.com/* annotations).
            const stateOnly = (s: { op: string; type: string }) =>
                s.op === "same" ||
                (s.op === "create" && s.type.startsWith(`${PROJECT}:index:`)) ||
                (s.op === "create" && s.type === "kubernetes:core/v1:PersistentVolumeClaimPatch") ||
                (["create", "update"].includes(s.op) && s.type.startsWith("pulumi:providers:"));
            assert.deepStrictEqual(
                steps.filter((s) => !stateOnly(s)).map((s) => `${s.op} ${s.urn}`),
                [],
                "only state-only steps",
            );
            assert.strictEqual(
                steps.filter((s) => s.op === "same" && s.type.startsWith("kubernetes:")).length,
                clusterObjects,
                `every cluster object of the old state is 'same': ${JSON.stringify(steps.map((s) => `${s.op} ${s.type}`))}`,
            );
            assert.deepStrictEqual(
                getJson(["pvc", "-n", "stateful-upgrade"]).items.map((c: Any) => [c.metadata.uid, c.spec.resources.requests.storage]),
                claimsBefore,
                "the same PVCs with the same sizes",
            );
            await succeeds("upgrade: then preview --expect-no-changes", (o) =>
                current.stack.preview({ configFile: current.configFile, expectNoChanges: true, ...o }),
            );
        });
    });
});

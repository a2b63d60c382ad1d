/**
 * The change matrix (tests/e2e/change-matrix.ts) on the real Pulumi engine: the dev stack is deployed once, then each
 * change is applied on top of the committed config and reverted, checking for each: the preview's verdict (applies,
 * warns, or refuses naming the key), `up`'s result, the UIDs of every PVC, of the app's StatefulSet and of its pods,
 * and a clean `preview --expect-no-changes` after the change and after the revert.
 *
 * What this proves: what the engine and the provider really do with each change, against a real API server and
 * StatefulSet controller (PVC ownership and garbage collection included). What it does not: anything inside the
 * containers (kwok runs none: a rolling update replaces pods that never ran); volume expansion (no resizer).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../deploy/engine";
import { PROJECT } from "../../lib/names";
import { HELM } from "../helm";
import { Any, appIn, claimsReleased, collector, EngineEnv, eventually, stackFileWith, timed, up } from "./harness";
import { CHANGES, ChangeCase, PRIORITY_CLASS } from "./change-matrix";

const NS = "stateful-dev";
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-changes-"));
let env: EngineEnv;
const getJson = (args: string[]): Any => env.cluster.getJson(args);

/** name -> uid of the PVCs, StatefulSets and pods of the namespace. */
function uids(kind: "pvc" | "statefulsets" | "pods", selector?: string): Record<string, string> {
    const items = getJson([kind, "-n", NS, ...(selector ? ["-l", selector] : [])]).items as Any[];
    return Object.fromEntries(items.filter((o) => !o.metadata.deletionTimestamp).map((o) => [o.metadata.name, o.metadata.uid]));
}

const podsOf = (app: string) => uids("pods", `app.kubernetes.io/name=${app}`);

/** Every StatefulSet of the namespace rolled out: observedGeneration caught up, all replicas updated and Ready. */
async function settled(ns = NS): Promise<void> {
    await eventually(`every StatefulSet of ${ns} rolled out`, 120, () =>
        (getJson(["statefulsets", "-n", ns]).items as Any[]).every((s) => {
            const st = s.status ?? {};
            const partition = s.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
            const onDelete = s.spec.updateStrategy?.type === "OnDelete";
            return (
                st.observedGeneration === s.metadata.generation &&
                (st.readyReplicas ?? 0) === s.spec.replicas &&
                (st.replicas ?? 0) === s.spec.replicas &&
                (onDelete || partition > 0 || st.updateRevision === st.currentRevision)
            );
        }),
    );
}

/** Opens the dev stack with `edit` applied to the committed config (none: the committed config). */
const open = (edit?: (c: Record<string, Any>) => void) => env.open("dev", edit ? stackFileWith("dev", edit) : undefined);

/** preview --expect-no-changes, failing with the engine's output. */
async function clean(label: string, edit?: (c: Record<string, Any>) => void): Promise<void> {
    const s = await open(edit);
    const out = collector();
    await timed(label, () => s.stack.preview({ configFile: s.configFile, expectNoChanges: true, diff: true, onOutput: out.onOutput, color: "never" })).catch(
        (e) => assert.fail(`${label}: the preview shows changes:\n${out.text().split("\n").slice(-120).join("\n")}\n${e}`),
    );
}

/** The figures the test prints: seconds per change. */
const seconds: Record<string, number> = {};

async function check(c: ChangeCase): Promise<void> {
    const pvcs = uids("pvc");
    const sets = uids("statefulsets");
    const pods = podsOf(c.app);
    const s = await open(c.edit);
    const preview = collector();
    const previewed = await timed(`${c.id}: preview`, () =>
        s.stack.preview({ configFile: s.configFile, onOutput: preview.onOutput, color: "never" }).then(
            () => undefined,
            (e: Error) => e,
        ),
    );
    const said = `${preview.text()}\n${previewed?.message ?? ""}`;
    if (c.expect.verdict === "refused") {
        assert.ok(previewed, `${c.id}: the preview passed; expected a refusal naming ${c.expect.key}:\n${said.slice(-3000)}`);
        assert.ok(said.includes(`${c.expect.key}:`), `${c.id}: the refusal does not name ${c.expect.key}:\n${said.slice(-3000)}`);
        assert.ok(said.includes(c.expect.message), `${c.id}: the refusal does not say "${c.expect.message}":\n${said.slice(-3000)}`);
        const upOut = collector();
        const failed = await timed(`${c.id}: up`, () =>
            s.stack.up({ configFile: s.configFile, onOutput: upOut.onOutput, color: "never" }).then(
                () => false,
                () => true,
            ),
        );
        assert.ok(failed, `${c.id}: up passed after a refused preview:\n${upOut.text().slice(-3000)}`);
        assert.ok(upOut.text().includes(c.expect.key), `${c.id}: up's refusal does not name ${c.expect.key}`);
        assert.deepStrictEqual(uids("pvc"), pvcs, `${c.id}: a PVC changed`);
        assert.deepStrictEqual(uids("statefulsets"), sets, `${c.id}: a StatefulSet changed`);
        assert.deepStrictEqual(podsOf(c.app), pods, `${c.id}: a pod changed`);
        await clean(`${c.id}: preview of the committed config`);
        return;
    }
    assert.ok(!previewed, `${c.id}: the preview failed:\n${said.slice(-3000)}`);
    const warn = c.expect.warn;
    if (warn) assert.ok(said.includes(warn), `${c.id}: the preview does not say "${warn}":\n${said.slice(-3000)}`);
    const ups = c.expect.verdict === "applies" ? (c.expect.ups ?? 1) : 1;
    const changed: Record<string, number>[] = [];
    for (let i = 0; i < ups; i++) {
        const again = i === 0 ? s : await open(c.edit);
        changed.push(await timed(`${c.id}: up ${i + 1}`, () => up(again.stack, again.configFile)));
    }
    await settled();
    const after = { pvcs: uids("pvc"), sets: uids("statefulsets"), pods: podsOf(c.app) };
    if (c.expect.verdict === "warns") {
        assert.deepStrictEqual(changed[0], {}, `${c.id}: up changed resources`);
        assert.deepStrictEqual(after, { pvcs, sets, pods }, `${c.id}: the cluster changed`);
    } else {
        const gone = c.expect.data === "kept" ? [] : Object.keys(pvcs).filter((n) => n.startsWith(`data-${c.app}-`));
        for (const [name, uid] of Object.entries(pvcs)) {
            if (gone.includes(name)) {
                await eventually(`${c.id}: ${name} deleted, as removedApps says`, 60, () => !(name in uids("pvc")));
            } else {
                assert.strictEqual(after.pvcs[name], uid, `${c.id}: PVC ${name} was ${name in after.pvcs ? "replaced" : "deleted"}`);
            }
        }
        const stsWanted = c.expect.statefulSet ?? "same";
        if (c.expect.pods !== "removed") {
            assert.strictEqual(
                after.sets[c.app] === sets[c.app],
                stsWanted === "same",
                `${c.id}: StatefulSet ${c.app} is ${after.sets[c.app] === sets[c.app] ? "the same" : "new"}; expected ${stsWanted}`,
            );
        }
        const kept = Object.keys(pods).filter((p) => after.pods[p] === pods[p]);
        switch (c.expect.pods) {
            case "roll":
                assert.deepStrictEqual(kept, [], `${c.id}: pods not replaced: ${kept.join(", ")}`);
                break;
            case "kept":
                assert.deepStrictEqual(after.pods, pods, `${c.id}: pods changed`);
                break;
            case "added":
                assert.ok(Object.keys(after.pods).length > Object.keys(pods).length, `${c.id}: no pod added`);
                assert.deepStrictEqual(kept.sort(), Object.keys(pods).sort(), `${c.id}: existing pods replaced`);
                break;
            case "removed":
                assert.ok(Object.keys(after.pods).length < Object.keys(pods).length, `${c.id}: no pod removed`);
                break;
        }
    }
    await clean(`${c.id}: preview after up`, c.edit);
    // Back to the committed config (with `revert`'s edits where the committed config alone cannot undo it).
    const back = await open(c.revert);
    for (let i = 0; i < ups; i++) {
        const again = i === 0 ? back : await open(c.revert);
        await timed(`${c.id}: revert up ${i + 1}`, () => up(again.stack, again.configFile));
    }
    await settled();
    await clean(`${c.id}: preview after the revert`);
    const reverted = uids("pvc");
    for (const [name, uid] of Object.entries(pvcs)) {
        if (c.expect.verdict === "applies" && c.expect.data !== "kept" && name.startsWith(`data-${c.app}-`)) continue;
        assert.strictEqual(reverted[name], uid, `${c.id}: PVC ${name} changed by the revert`);
    }
}

describe("the change matrix: every kind of config change on the real engine, applied and reverted (kwok nodes: control plane and Pulumi, not the apps)", function () {
    this.timeout(10 * 60 * 1000);

    before(async function () {
        this.timeout(40 * 60 * 1000);
        await timed("toolchain", () => {
            env = new EngineEnv("stateful-apps-changes", stateDir);
        });
        await timed("local cluster up", () => env.cluster.up(3));
        env.cluster.kubectl(["create", "priorityclass", PRIORITY_CLASS, "--value=1000", "--description=the change matrix's priorityClassName"]);
        const dev = await open();
        await timed("dev: up from empty", () => up(dev.stack, dev.configFile));
        await settled();
    });

    after(function () {
        this.timeout(2 * 60 * 1000);
        const total = Object.values(seconds).reduce((a, b) => a + b, 0);
        process.stdout.write(`      [e2e] change matrix: ${Object.keys(seconds).length} changes in ${total.toFixed(0)} s\n`);
        env?.cluster.down();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    describe("the recipes of docs/CHANGES.md, step by step (last: they leave the stack renamed)", () => {
        const retain = (app: string) => (c: Record<string, Any>) => (appIn(c, app).pvcRetention.whenDeleted = "Retain");
        const volumes = (app: string, ns = NS) =>
            Object.fromEntries(
                (getJson(["pvc", "-n", ns]).items as Any[])
                    .filter((c) => new RegExp(`^data-${app}-\\d+$`).test(c.metadata.name))
                    .map((c) => [c.metadata.name, c.spec.volumeName]),
            );

        /** Runs a script of scripts/ against this cluster; fails with its stderr. */
        const script = (name: string, args: string[]) =>
            timed(`scripts/${name} ${args.join(" ")}`, () => {
                const r = env.cluster.run("bash", [path.join(ROOT, "scripts", name), ...args], undefined, {
                    KUBECTL: env.cluster.kubectlPath,
                    KUBECONFIG: env.cluster.kubeconfig,
                });
                assert.strictEqual(r.status, 0, r.stderr);
            });
        /**
         * docs/CHANGES.md "Releasing the claims": the StatefulSet controller leaves the owner reference on claims without
         * a pod (the matrix's replicas cases scale litecoin 1 -> 2 -> 1, leaving data-litecoin-1 owned).
         */
        const release = (app: string) => script("release-claims", [NS, app]);

        /** docs/CHANGES.md "Switching deployWith": Retain and up; release the claims; delete the old path's objects; switch and up --refresh. */
        /** `before`: the edits of the steps before this one (the config as the cluster now has it). */
        async function switchPath(
            app: string,
            to: "native" | "helm",
            deleteOld: () => void,
            before: (c: Record<string, Any>) => void = () => {},
        ): Promise<void> {
            const pvcs = uids("pvc");
            let s = await open((c) => (before(c), retain(app)(c)));
            await timed(`${app} to ${to}: 1. Retain, up`, () => up(s.stack, s.configFile));
            await release(app);
            await claimsReleased(env.cluster, NS, app);
            await timed(`${app} to ${to}: 2. delete the old path's objects`, deleteOld);
            const switched = (c: Record<string, Any>) => {
                before(c);
                retain(app)(c);
                appIn(c, app).deployWith = to;
            };
            s = await open(switched);
            await timed(`${app} to ${to}: 3. up --refresh`, () => up(s.stack, s.configFile, { refresh: true }));
            await settled();
            assert.deepStrictEqual(uids("pvc"), pvcs, "every PVC kept (same UIDs)");
            const sts = getJson(["statefulset", app, "-n", NS]);
            assert.strictEqual(sts.metadata.labels["app.kubernetes.io/managed-by"], to === "helm" ? "Helm" : "pulumi");
            await clean(`${app} to ${to}: preview after`, switched);
        }

        it("switching deployWith native -> helm (visits) and helm -> native (litecoin): same PVCs, previews clean", async () => {
            await switchPath("visits", "helm", () =>
                env.cluster.kubectl([
                    "-n",
                    NS,
                    "delete",
                    "statefulset,service,configmap,serviceaccount,poddisruptionbudget,networkpolicy",
                    "-l",
                    "app.kubernetes.io/instance=visits,app.kubernetes.io/managed-by=pulumi",
                ]),
            );
            await switchPath(
                "litecoin",
                "native",
                () => {
                    const r = env.cluster.run(HELM, ["uninstall", "litecoin", "-n", NS, "--kubeconfig", env.cluster.kubeconfig, "--wait"]);
                    assert.strictEqual(r.status, 0, r.stderr);
                },
                (c) => {
                    retain("visits")(c);
                    appIn(c, "visits").deployWith = "helm";
                },
            );
        });

        const datastore = (c: Record<string, Any>) => appIn(c, "datastore");
        // The stack as the switches above left it.
        const base = (c: Record<string, Any>) => {
            retain("visits")(c);
            retain("litecoin")(c);
            appIn(c, "visits").deployWith = "helm";
            appIn(c, "litecoin").deployWith = "native";
        };
        // ...and as the rename leaves it.
        const renamed = (c: Record<string, Any>) => {
            base(c);
            const app = datastore(c);
            app.name = "ledger";
            app.pvcRetention.whenDeleted = "Retain";
            app.dataLoad.command = app.dataLoad.command.map((w: string) => (w === "datastore" ? "ledger" : w));
            c[`${PROJECT}:removedApps`] = [{ name: "datastore", data: "keep" }];
        };
        const rebind = (fromNs: string, from: string, toNs: string, to: string) => script("rebind-claims", [fromNs, from, toNs, to]);

        it("renaming datastore -> ledger keeps its volume: Retain and up; removedApps keep and up; scripts/rebind-claims; the new name and up", async () => {
            const before = volumes("datastore");
            let s = await open((c) => (base(c), retain("datastore")(c)));
            await timed("rename: 1. Retain, up", () => up(s.stack, s.configFile));
            await release("datastore");
            await claimsReleased(env.cluster, NS, "datastore");
            const removed = (c: Record<string, Any>) => {
                base(c);
                c[`${PROJECT}:apps`] = (c[`${PROJECT}:apps`] as Any[]).filter((a) => a !== datastore(c));
                c[`${PROJECT}:removedApps`] = [{ name: "datastore", data: "keep" }];
            };
            s = await open(removed);
            await timed("rename: 2. removedApps keep, up", () => up(s.stack, s.configFile));
            assert.deepStrictEqual(volumes("datastore"), before, "the claims stay after their StatefulSet is gone");
            await rebind(NS, "datastore", NS, "ledger");
            s = await open(renamed);
            await timed("rename: 4. the new name, up", () => up(s.stack, s.configFile));
            await settled();
            assert.deepStrictEqual(
                volumes("ledger"),
                Object.fromEntries(Object.entries(before).map(([k, v]) => [k.replace("datastore", "ledger"), v])),
                "the same volumes",
            );
            assert.deepStrictEqual(volumes("datastore"), {}, "no claim of the old name left");
            await clean("rename: preview after", renamed);
        });

        it("moving the namespace keeps every volume: the new namespace at replicas 0 with removedApps keep for the old one; scripts/rebind-claims per app; replicas back", async () => {
            const NEW = "stateful-moved";
            const names = ["visits", "litecoin", "ledger"];
            const before = Object.fromEntries(names.map((a) => [a, volumes(a)]));
            const movedTo = (c: Record<string, Any>, replicasZero: boolean) => {
                renamed(c);
                c[`${PROJECT}:namespace`].name = NEW;
                for (const app of c[`${PROJECT}:apps`] as Any[]) {
                    if (replicasZero) {
                        app.replicas = 0;
                        delete app.dataLoad;
                    }
                }
                c[`${PROJECT}:removedApps`] = names.map((name) => ({ name, namespace: NS, data: "keep" }));
            };
            let s = await open((c) => movedTo(c, true));
            await timed("move: 2. new namespace at replicas 0, up", () => up(s.stack, s.configFile));
            assert.deepStrictEqual(Object.fromEntries(names.map((a) => [a, volumes(a)])), before, "the old namespace keeps every claim");
            for (const a of names) await rebind(NS, a, NEW, a);
            s = await open((c) => movedTo(c, false));
            await timed("move: 4. replicas back, up", () => up(s.stack, s.configFile));
            await settled(NEW);
            assert.deepStrictEqual(Object.fromEntries(names.map((a) => [a, volumes(a, NEW)])), before, "the same volumes, now in the new namespace");
            await clean("move: preview after", (c) => movedTo(c, false));
        });
    });

    for (const c of CHANGES) {
        const words =
            c.expect.verdict === "refused"
                ? `refused naming ${c.expect.key}`
                : c.expect.verdict === "warns"
                  ? "warns, changes nothing"
                  : `applies: pods ${c.expect.pods}, data ${c.expect.data}`;
        it(`${c.id}: ${c.key}: ${c.change}: ${words}; then reverted, previews clean`, async () => {
            const start = Date.now();
            try {
                await check(c);
            } finally {
                seconds[c.id] = (Date.now() - start) / 1000;
            }
        });
    }
});

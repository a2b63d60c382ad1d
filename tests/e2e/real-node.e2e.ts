/**
 * The visits app on a real node: the control plane of scripts/cluster plus the node of scripts/real-node
 * (kubelet, containerd, runc, CNI bridge, kube-proxy, CoreDNS, local-path-provisioner), where containers really
 * run, from images built locally by scripts/images. The dev stack's `visits` app runs natively and a copy of it as
 * a Helm release of the chart, both on the real Pulumi engine.
 *
 * What this proves, beyond the kwok suite: the images start under the `restricted` securityContext (uid 1000,
 * read-only root), the probes really pass, uid 1000 writes its volume through fsGroup, requests reach the app
 * through its Service and its pods' DNS names, a count survives a pod deletion, a scale-down and a config roll on
 * the same PVC, mtail turns real log lines into metrics, the data-load Job and `helm test` run.
 * What it does not prove: behaviour across nodes or zones (one node), network policies (the bridge plugin enforces
 * none), volume expansion (local-path-provisioner has no resizer), or the other apps of the stacks (their images
 * come from registries this machine cannot reach).
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../deploy/engine";
import { PROJECT } from "../../lib/names";
import { parse, stringify } from "yaml";
import { HELM } from "../helm";
import { get, IMAGES, imageBlock, NODE, readyPodUid, requestInNode, resolveInCluster } from "./real-node-lib";
import { Any, appIn, claimsReleased, collector, EngineEnv, eventually, stackFileWith, succeeds, timed, up } from "./harness";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-real-node-"));
let env: EngineEnv;
const kubectl = (args: string[]) => env.cluster.kubectl(args);
const getJson = (args: string[]): Any => env.cluster.getJson(args);

const NS = "stateful-dev";
const HELM_APP = "visits-helm";

/**
 * The dev stack with only `visits` (native) and a Helm copy of it, on images this machine has built: Python from
 * Debian for the app, busybox with `nc -z` for the data-load wait and the chart's hooks. mtail keeps the dev
 * stack's own image name (scripts/images builds it under that name). Volumes from the real node's StorageClass.
 */
function realNodeStack(mutate: (visits: Any, helmCopy: Any) => void = () => undefined): string {
    return stackFileWith("dev", (config) => {
        const visits = appIn(config, "visits");
        visits.image = imageBlock(IMAGES.python);
        visits.storage.storageClass = NODE.STORAGE_CLASS;
        // One visit through the Service from inside the cluster, once the app answers.
        visits.dataLoad = {
            command: ["python", "-c", "import urllib.request; print(urllib.request.urlopen('http://visits:8080/').read().decode())"],
            waitImage: IMAGES.busybox,
            backoffLimit: 2,
            activeDeadlineSeconds: 300,
        };
        const helmCopy = JSON.parse(JSON.stringify(visits));
        helmCopy.name = HELM_APP;
        helmCopy.deployWith = "helm";
        helmCopy.replicas = 1;
        delete helmCopy.dataLoad;
        delete helmCopy.podManagementPolicy;
        helmCopy.helm = { hookImage: IMAGES.busybox, timeoutSeconds: 180 };
        mutate(visits, helmCopy);
        config[`${PROJECT}:apps`] = [visits, helmCopy];
    });
}

/** The visit number in the app's answer ("Hello from dev: visit 3 on visits-0"). */
function visitOf(body: string): { n: number; pod: string; greeting: string } {
    const m = /^(.*): visit (\d+) on (\S+)$/m.exec(body.trim());
    assert.ok(m, `not a visits answer: ${body}`);
    return { greeting: m[1], n: Number(m[2]), pod: m[3] };
}

/**
 * One visit to pod `<app>-<i>` through its stable DNS name (the headless Service's per-pod record). A replaced pod
 * has a new IP: until the record's TTL (5 s) and CoreDNS's cache (5 s) pass, the name may still give the old one,
 * so the name is asked again until it gives the pod's current IP (at most 20 s).
 */
async function visitPod(app: string, i: number): Promise<{ n: number; pod: string; greeting: string }> {
    const name = `${app}-${i}.${app}-headless.${NS}.svc.cluster.local`;
    const deadline = Date.now() + 20000;
    let answer: string[] = [];
    for (;;) {
        answer = await resolveInCluster(name).catch(() => []);
        const current = pod(`${app}-${i}`).status.podIP;
        if (answer.length === 1 && answer[0] === current) break;
        assert.ok(Date.now() < deadline, `DNS ${name} gives ${JSON.stringify(answer)}, the pod has ${current}`);
        await new Promise((r) => setTimeout(r, 1000));
    }
    return visitOf(await get(answer[0], 8080));
}

function pod(name: string): Any {
    return getJson(["pod", name, "-n", NS]);
}

function podReady(name: string): boolean {
    return readyPodUid(env.cluster, NS, name) !== undefined;
}

function pvcUid(name: string): string {
    return getJson(["pvc", name, "-n", NS]).metadata.uid;
}

describe("the visits app on a real node (containers really run: one node, local images, local-path volumes)", function () {
    this.timeout(10 * 60 * 1000);

    before(async function () {
        this.timeout(40 * 60 * 1000);
        await timed("toolchain (pulumi CLI + kubernetes plugin)", () => {
            env = new EngineEnv("stateful-apps-real", stateDir);
        });
        await timed("local cluster with the real node up", () => env.cluster.up(0, { realNode: true }));
    });

    after(function () {
        this.timeout(3 * 60 * 1000);
        env?.cluster.down();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    /**
     * Right after `up` returned, with nothing in between (no `kubectl rollout status`): every StatefulSet of the
     * namespace has rolled out (the controller observed its generation; every replica Ready and on the update
     * revision, which is the current one), a partitioned canary excepted. The provider's own StatefulSet await
     * (v4.25.0) can return before the controller has even seen a template change (pulumi/pulumi-kubernetes#3329,
     * fixed by #4094 after v4.25.0, the only provider version the Go module proxy serves here); the program waits for
     * it (lib/rollout-watch.ts). Seen here before: `up` returned while visits-0 was still being replaced.
     */
    function assertRolledOut(when: string): void {
        for (const s of getJson(["statefulsets", "-n", NS]).items as Any[]) {
            const name = s.metadata.name;
            const st = s.status ?? {};
            assert.strictEqual(st.observedGeneration, s.metadata.generation, `${when}: ${name} generation ${s.metadata.generation} not yet observed`);
            if ((s.spec.updateStrategy?.rollingUpdate?.partition ?? 0) > 0) continue;
            assert.strictEqual(st.readyReplicas ?? 0, s.spec.replicas, `${when}: ${name} has ${st.readyReplicas ?? 0} of ${s.spec.replicas} Ready`);
            assert.strictEqual(st.updatedReplicas ?? 0, s.spec.replicas, `${when}: ${name} has ${st.updatedReplicas ?? 0} of ${s.spec.replicas} updated`);
            assert.strictEqual(st.currentRevision, st.updateRevision, `${when}: ${name} current revision is not the update revision`);
        }
    }

    async function deploy(text: string, opts: { refresh?: boolean } = {}): Promise<Record<string, number>> {
        const dev = await env.open("dev", text);
        const changed = await up(dev.stack, dev.configFile, { refresh: opts.refresh });
        assertRolledOut("right after up");
        return changed;
    }

    it("up: both StatefulSets Ready on the real node with real probes, the data-load Job done; a second preview shows no changes", async () => {
        const text = realNodeStack();
        const created = await timed("up (real node)", () => deploy(text));
        assert.ok(created.create > 0, JSON.stringify(created));
        for (const name of ["visits-0", "visits-1", `${HELM_APP}-0`]) {
            const p = pod(name);
            assert.strictEqual(p.spec.nodeName, NODE.NODE_NAME, `${name} runs on ${p.spec.nodeName}`);
            for (const c of p.status.containerStatuses) {
                assert.ok(c.ready && c.started, `${name}/${c.name} not ready`);
                assert.strictEqual(c.restartCount, 0, `${name}/${c.name} restarted ${c.restartCount} times`);
            }
        }
        const dev = await env.open("dev", text);
        await succeeds("preview --expect-no-changes", (o) => dev.stack.preview({ configFile: dev.configFile, expectNoChanges: true, diff: true, ...o }));
    });

    it("the data-load Job really ran: its pod waited for the Service (busybox nc), then made a visit through it", () => {
        const jobs = getJson(["jobs", "-n", NS, "-l", "app.kubernetes.io/component=data-load"]).items;
        assert.strictEqual(jobs.length, 1);
        assert.strictEqual(jobs[0].status.succeeded, 1, JSON.stringify(jobs[0].status));
        const log = kubectl(["logs", `job/${jobs[0].metadata.name}`, "-n", NS, "-c", "load"]);
        assert.match(log, /Hello from dev: visit \d+ on visits-[01]/);
    });

    it("visits are counted through the Service and each pod's DNS name; uid 1000 owns the counter on its PVC (fsGroup)", async () => {
        const [clusterIp] = await resolveInCluster(`visits.${NS}.svc.cluster.local`);
        assert.strictEqual(clusterIp, getJson(["service", "visits", "-n", NS]).spec.clusterIP);
        const first = visitOf(requestInNode(clusterIp, 8080));
        assert.match(first.pod, /^visits-[01]$/);
        for (const i of [0, 1]) {
            const a = await visitPod("visits", i);
            const b = await visitPod("visits", i);
            assert.strictEqual(a.pod, `visits-${i}`);
            assert.strictEqual(b.n, a.n + 1, `visits-${i}: ${a.n} then ${b.n}`);
        }
        // The counter file on the node, in the directory local-path-provisioner made for the PV.
        const pv = getJson(["pv", getJson(["pvc", "data-visits-0", "-n", NS]).spec.volumeName]);
        assert.ok(pv.spec.local, `PV ${pv.metadata.name} is not a local volume: ${JSON.stringify(pv.spec)}`);
        const st = fs.statSync(path.join(pv.spec.local.path, "visits"));
        assert.deepStrictEqual([st.uid, st.gid], [1000, 1000]);
    });

    it("mtail turns the app's real log lines into metrics, scraped over HTTP from the sidecar", async () => {
        const before = await visitPod("visits", 0);
        const ip = pod("visits-0").status.podIP;
        let metrics = "";
        const deadline = Date.now() + 20000;
        while (Date.now() < deadline) {
            metrics = await get(ip, 3903, "/metrics");
            const m = /^visits_counter_value\{[^}]*\} (\d+)/m.exec(metrics);
            if (m && Number(m[1]) >= before.n) break;
            await new Promise((r) => setTimeout(r, 1000));
        }
        assert.match(metrics, /^visits_total\{[^}]*\} \d+/m);
        const m = /^visits_counter_value\{[^}]*\} (\d+)/m.exec(metrics);
        assert.ok(m && Number(m[1]) >= before.n, `visits_counter_value ${m?.[1]} < ${before.n}:\n${metrics.slice(0, 2000)}`);
    });

    it("deleting visits-0: the new pod continues its count on the same PVC", async () => {
        const uid = pod("visits-0").metadata.uid;
        const claim = pvcUid("data-visits-0");
        const before = await visitPod("visits", 0);
        kubectl(["delete", "pod", "visits-0", "-n", NS, "--wait=false"]);
        await eventually("a new visits-0 Ready", 120, () => podReady("visits-0") && pod("visits-0").metadata.uid !== uid);
        const after = await visitPod("visits", 0);
        assert.strictEqual(after.n, before.n + 1);
        assert.strictEqual(pvcUid("data-visits-0"), claim);
    });

    it("replicas 2 -> 1 -> 2: ordinal 1's count is kept on its retained PVC", async () => {
        const before = await visitPod("visits", 1);
        const claim = pvcUid("data-visits-1");
        await timed("up replicas 1", () => deploy(realNodeStack((v) => (v.replicas = 1))));
        assert.ok(env.cluster.kubectlResult(["get", "pod", "visits-1", "-n", NS]).status !== 0, "visits-1 still exists");
        assert.strictEqual(pvcUid("data-visits-1"), claim, "whenScaled: Retain kept the PVC");
        await timed("up replicas 2", () => deploy(realNodeStack()));
        const after = await visitPod("visits", 1);
        assert.strictEqual(after.n, before.n + 1);
        assert.strictEqual(pvcUid("data-visits-1"), claim);
    });

    it("a config change rolls both apps' pods and keeps their counts", async () => {
        const uids = ["visits-0", "visits-1", `${HELM_APP}-0`].map((p) => pod(p).metadata.uid);
        const counts = [await visitPod("visits", 0), await visitPod("visits", 1), await visitPod(HELM_APP, 0)].map((v) => v.n);
        const greet = (a: Any) => (a.configFiles["config.json"].greeting = "Hello from the real node");
        const changed = await timed("up (greeting)", () =>
            deploy(
                realNodeStack((v, h) => {
                    greet(v);
                    greet(h);
                }),
            ),
        );
        assert.ok(changed.update > 0, JSON.stringify(changed));
        const after = [await visitPod("visits", 0), await visitPod("visits", 1), await visitPod(HELM_APP, 0)];
        ["visits-0", "visits-1", `${HELM_APP}-0`].forEach((p, i) => {
            const sts = getJson(["statefulset", p.replace(/-\d+$/, ""), "-n", NS]);
            assert.notStrictEqual(pod(p).metadata.uid, uids[i], `${p} was not replaced; StatefulSet status ${JSON.stringify(sts.status)}`);
            assert.strictEqual(after[i].greeting, "Hello from the real node");
            assert.strictEqual(after[i].n, counts[i] + 1, `${p}: ${counts[i]} then ${after[i].n}`);
        });
    });

    it("a canary whose pod never turns Ready (partition 1, readiness on a port nothing listens on), then the revert: `up` recovers a Parallel StatefulSet with no kubectl, PVC kept", async () => {
        const claim = pvcUid("data-visits-1");
        const before = await visitPod("visits", 1);
        const bad = realNodeStack((v) => {
            v.updateStrategy = { type: "RollingUpdate", partition: 1 };
            // Nothing listens on 8081: the probe fails for real. (Any other path of the visits server answers 200.)
            v.probes.readiness = { type: "tcp", port: 8081, periodSeconds: 2 };
        });
        // Partitioned: `up` does not await the rollout (docs/DAY-2.md "Day-2 operations"), so it returns with visits-1 stuck.
        const dev = await env.open("dev", bad);
        await timed("up (canary that never turns Ready)", () => up(dev.stack, dev.configFile));
        const sts = () => getJson(["statefulset", "visits", "-n", NS]);
        await eventually("visits-1 on the new revision and not Ready", 60, () => {
            const p = env.cluster.kubectlResult(["get", "pod", "visits-1", "-n", NS, "-o", "json"]);
            if (p.status !== 0) return false;
            const pod1 = JSON.parse(p.stdout);
            return pod1.metadata.labels["controller-revision-hash"] === sts().status.updateRevision && !podReady("visits-1");
        });
        await new Promise((r) => setTimeout(r, 5000));
        assert.ok(!podReady("visits-1"), "the bad revision's pod turned Ready");
        // The revert: the committed config again, one `up`, nothing else.
        await timed("up (revert)", () => deploy(realNodeStack()));
        const s = sts();
        assert.strictEqual(s.status.readyReplicas, 2);
        assert.strictEqual(s.status.currentRevision, s.status.updateRevision);
        assert.strictEqual(pod("visits-1").metadata.labels["controller-revision-hash"], s.status.currentRevision);
        assert.strictEqual(pvcUid("data-visits-1"), claim);
        const after = await visitPod("visits", 1);
        assert.strictEqual(after.n, before.n + 1, "the count continues on the same volume");
    });

    it("an OrderedReady StatefulSet stuck on a canary pod that never turns Ready: the revert's `up` deletes that pod (recoverStuckRollout) and finishes, PVC kept, count continues", async () => {
        // A third app, OrderedReady, only for this test: the controller waits for its stuck pod forever
        // (kubernetes#67250), so without the program's recovery the revert's `up` would wait into its timeout.
        const withOrdered = (mutate: (ordered: Any) => void = () => undefined) => {
            const doc = parse(realNodeStack());
            const apps = doc.config[`${PROJECT}:apps`] as Any[];
            const ordered = JSON.parse(JSON.stringify(apps[0]));
            ordered.name = "ordered";
            ordered.podManagementPolicy = "OrderedReady";
            ordered.replicas = 2;
            delete ordered.dataLoad;
            mutate(ordered);
            apps.push(ordered);
            return stringify(doc, { lineWidth: 0 });
        };
        await timed("up (adds the OrderedReady app)", () => deploy(withOrdered()));
        const claim = pvcUid("data-ordered-1");
        const before = await visitPod("ordered", 1);
        const sts = () => getJson(["statefulset", "ordered", "-n", NS]);
        const good = sts().status.updateRevision;

        const bad = await env.open(
            "dev",
            withOrdered((o) => {
                o.updateStrategy = { type: "RollingUpdate", partition: 1 };
                o.probes.readiness = { type: "tcp", port: 8081, periodSeconds: 2 };
            }),
        );
        await timed("up (a canary of ordered that never turns Ready)", () => up(bad.stack, bad.configFile));
        await eventually("ordered-1 on the bad revision and not Ready", 60, () => {
            const p = env.cluster.kubectlResult(["get", "pod", "ordered-1", "-n", NS, "-o", "json"]);
            return p.status === 0 && JSON.parse(p.stdout).metadata.labels["controller-revision-hash"] !== good && !podReady("ordered-1");
        });

        // The revert: the config before the canary, one `up`, nothing else.
        const revert = await env.open("dev", withOrdered());
        const out: string[] = [];
        await timed("up (revert; the program deletes the stuck pod)", () =>
            revert.stack.up({ configFile: revert.configFile, onOutput: (t) => out.push(t), color: "never" }),
        );
        assertRolledOut("right after the revert's up");
        assert.match(
            out.join(""),
            /recoverStuckRollout: deleted pod ordered-1 of the OrderedReady StatefulSet ordered: not Ready for over \d+ s with its containers running on revision/,
        );
        const s = sts();
        assert.strictEqual(s.status.readyReplicas, 2);
        assert.strictEqual(s.status.updateRevision, good, "the revert went back to the first revision");
        assert.strictEqual(s.status.currentRevision, good);
        assert.strictEqual(pod("ordered-1").metadata.labels["controller-revision-hash"], good);
        assert.strictEqual(pvcUid("data-ordered-1"), claim, "the same PVC");
        const after = await visitPod("ordered", 1);
        assert.strictEqual(after.n, before.n + 1, "the count continues on the same volume");
        await succeeds("preview --expect-no-changes after the recovery", (o) =>
            revert.stack.preview({ configFile: revert.configFile, expectNoChanges: true, ...o }),
        );

        // Removing an app deletes its PVCs (whenDeleted: Delete) only when removedApps says so (docs/CHANGES.md).
        const removed = parse(realNodeStack());
        removed.config[`${PROJECT}:removedApps`] = [{ name: "ordered", data: "delete" }];
        await timed("up (removes the OrderedReady app again, removedApps data: delete)", () => deploy(stringify(removed, { lineWidth: 0 })));
    });

    it("helm test of the release passes: its test pod reaches the Service (busybox nc -z)", () => {
        const r = spawnSync(HELM, ["test", HELM_APP, "-n", NS, "--kubeconfig", env.cluster.kubeconfig, "--timeout", "120s"], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, `helm test failed:\n${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /Phase:\s+Succeeded/);
    });

    it("an image the node cannot have (pullPolicy: Never, a tag never built) on the Helm copy: `up` names ErrImageNeverPull within seconds, not at its timeout, and fails at helm.timeoutSeconds; the revert's up deletes the pod at once and recovers, count continues", async () => {
        const before = await visitPod(HELM_APP, 0);
        const claim = pvcUid(`data-${HELM_APP}-0`);
        const TIMEOUT = 60;
        const bad = realNodeStack((_v, h) => {
            h.image = { ...h.image, tag: `${h.image.tag}-never-built`, pullPolicy: "Never" };
            h.helm.timeoutSeconds = TIMEOUT;
        });
        const dev = await env.open("dev", bad);
        const out = collector();
        const started = Date.now();
        let said: number | undefined;
        const failed = await timed("up (an image the node does not have)", () =>
            dev.stack
                .up({
                    configFile: dev.configFile,
                    color: "never",
                    onOutput: (t) => {
                        out.onOutput(t);
                        if (said === undefined && /waiting for the StatefulSet visits-helm: .*ErrImageNeverPull/.test(out.text())) said = Date.now();
                    },
                })
                .then(
                    () => false,
                    () => true,
                ),
        );
        const ended = Date.now();
        assert.ok(failed, `up passed with an image the node does not have:\n${out.text().slice(-3000)}`);
        assert.ok(said !== undefined, `up never said ErrImageNeverPull:\n${out.text().slice(-3000)}`);
        process.stdout.write(
            `      [e2e] ErrImageNeverPull printed ${((said - started) / 1000).toFixed(1)} s after up began; up failed after ${((ended - started) / 1000).toFixed(1)} s (helm.timeoutSeconds ${TIMEOUT})\n`,
        );
        assert.ok(ended - said > 20_000, "the reason came only at the timeout");
        // The pod left on the bad revision would never start: the revert's up deletes it at once (not after the
        // per-pod budget), and the controller makes it again on the reverted template.
        const revert = await env.open("dev", realNodeStack());
        const back = collector();
        await timed("up (revert)", () => revert.stack.up({ configFile: revert.configFile, color: "never", onOutput: back.onOutput }));
        assert.match(
            back.text(),
            new RegExp(`deleted pod ${HELM_APP}-0 of the OrderedReady StatefulSet ${HELM_APP}: its image will not come \\(ErrImageNeverPull\\)`),
        );
        assertRolledOut("after the revert");
        assert.strictEqual(pvcUid(`data-${HELM_APP}-0`), claim, "the same PVC");
        assert.strictEqual((await visitPod(HELM_APP, 0)).n, before.n + 1, "the count continues");
    });

    it('docs/CHANGES.md "Switching deployWith", helm -> native for the Helm copy: its count continues on the same PVC, preview clean', async () => {
        const app = HELM_APP;
        const claim = pvcUid(`data-${app}-0`);
        const before = await visitPod(app, 0);
        await timed("switch 1. Retain, up", () => deploy(realNodeStack((_, h) => (h.pvcRetention.whenDeleted = "Retain"))));
        await claimsReleased(env.cluster, NS, app);
        const r = spawnSync(HELM, ["uninstall", app, "-n", NS, "--kubeconfig", env.cluster.kubeconfig, "--wait"], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, `2. helm uninstall: ${r.stderr}`);
        const native = realNodeStack((_, h) => {
            h.pvcRetention.whenDeleted = "Retain";
            h.deployWith = "native";
            delete h.helm;
        });
        await timed("switch 3. up --refresh", () => deploy(native, { refresh: true }));
        assert.strictEqual(getJson(["statefulset", app, "-n", NS]).metadata.labels["app.kubernetes.io/managed-by"], "pulumi");
        assert.strictEqual(pvcUid(`data-${app}-0`), claim, "the same PVC");
        assert.strictEqual((await visitPod(app, 0)).n, before.n + 1, "the count continues");
        const dev = await env.open("dev", native);
        await succeeds("preview --expect-no-changes after the switch", (o) => dev.stack.preview({ configFile: dev.configFile, expectNoChanges: true, ...o }));
    });

    it('docs/CHANGES.md "Renaming an app or moving the namespace", visits -> visits2 through scripts/rebind-claims: each ordinal\'s count continues on its volume', async () => {
        const before = [await visitPod("visits", 0), await visitPod("visits", 1)].map((v) => v.n);
        const volumes = [0, 1].map((i) => getJson(["pvc", `data-visits-${i}`, "-n", NS]).spec.volumeName);
        // The Helm copy is native now (the test above); keep it as it is.
        const helmCopyNative = (h: Any) => {
            h.pvcRetention.whenDeleted = "Retain";
            h.deployWith = "native";
            delete h.helm;
        };
        const stack = (edit: (config: Record<string, Any>) => void) => {
            const doc = parse(realNodeStack((v, h) => (helmCopyNative(h), (v.pvcRetention.whenDeleted = "Retain"), delete v.dataLoad)));
            edit(doc.config);
            return stringify(doc, { lineWidth: 0 });
        };
        await timed("rename 1. Retain, up", () => deploy(stack(() => undefined)));
        await claimsReleased(env.cluster, NS, "visits");
        const apps = `${PROJECT}:apps`;
        await timed("rename 2. removedApps keep, up", () =>
            deploy(
                stack((c) => {
                    c[apps] = c[apps].filter((a: Any) => a.name !== "visits");
                    c[`${PROJECT}:removedApps`] = [{ name: "visits", data: "keep" }];
                }),
            ),
        );
        const r = spawnSync("bash", [path.join(ROOT, "scripts", "rebind-claims"), NS, "visits", NS, "visits2"], {
            encoding: "utf8",
            env: { ...process.env, KUBECTL: env.cluster.kubectlPath, KUBECONFIG: env.cluster.kubeconfig },
        });
        assert.strictEqual(r.status, 0, `3. scripts/rebind-claims: ${r.stderr}`);
        const renamed = stack((c) => {
            c[apps].find((a: Any) => a.name === "visits").name = "visits2";
            c[`${PROJECT}:removedApps`] = [{ name: "visits", data: "keep" }];
        });
        await timed("rename 4. visits2, up", () => deploy(renamed));
        for (const i of [0, 1]) {
            assert.strictEqual(getJson(["pvc", `data-visits2-${i}`, "-n", NS]).spec.volumeName, volumes[i], `data-visits2-${i} on the old volume`);
            const after = await visitPod("visits2", i);
            assert.strictEqual(after.n, before[i] + 1, `visits2-${i}: ${before[i]} then ${after.n}`);
        }
        const dev = await env.open("dev", renamed);
        await succeeds("preview --expect-no-changes after the rename", (o) => dev.stack.preview({ configFile: dev.configFile, expectNoChanges: true, ...o }));
    });

    it("scripts/cluster down leaves the machine as the node found it: no process, mount, network namespace (the fabric's too), interface, cgroup or path of its own", () => {
        const ps = () => execFileSync("ps", ["-eo", "args="], { encoding: "utf8" });
        const state = execFileSync("bash", [path.join(ROOT, "scripts", "real-node"), "state-dir"], {
            encoding: "utf8",
            env: { ...process.env, CLUSTER_NAME: env.cluster.name },
        }).trim();
        assert.ok(fs.existsSync(state), `no state at ${state} before down`);
        env.cluster.down();
        assert.ok(!fs.existsSync(state), `${state} is still there`);
        const mounts = fs
            .readFileSync("/proc/self/mountinfo", "utf8")
            .split("\n")
            .filter((l) => l.includes(state));
        assert.deepStrictEqual(mounts, []);
        assert.ok(!fs.existsSync(`/run/netns/${NODE.NETNS}`), `network namespace ${NODE.NETNS} left`);
        assert.ok(!fs.existsSync(`/run/netns/${NODE.FABRIC_NETNS}`), `the fabric's network namespace ${NODE.FABRIC_NETNS} left`);
        assert.ok(!execFileSync("ip", ["-o", "link"], { encoding: "utf8" }).includes(NODE.HOST_IF), "the veth is still there");
        assert.ok(!execFileSync("ip", ["route"], { encoding: "utf8" }).includes(NODE.POD_CIDR.split("/")[0]), "the pod route is still there");
        const left = ps()
            .split("\n")
            .filter((l) => l.includes(state) || /\b(kubelet|kube-proxy|containerd|coredns|local-path-provisioner)\b/.test(l.split(" ")[0]));
        assert.deepStrictEqual(left, []);
        for (const dir of fs.readdirSync("/sys/fs/cgroup")) {
            assert.ok(!fs.existsSync(path.join("/sys/fs/cgroup", dir, NODE.CGROUP_ROOT)), `cgroup ${dir}${NODE.CGROUP_ROOT} left`);
        }
    });
});

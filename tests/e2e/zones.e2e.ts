/**
 * The prod stack on three real nodes, one per zone (scripts/cluster up --real-nodes 3: three kubelets, containerds,
 * kube-proxies and CoreDNS, pod ranges routed over a fabric namespace), on the real Pulumi engine, with the images
 * this machine builds (image names are the only override, and monitoring.mtailDownForSeconds 60 instead of 300), and
 * the Prometheus Operator with a Prometheus on real-node-0 (scripts/prometheus).
 *
 * What this proves: prod's `visits` lands one replica per zone (topologySpread zone DoNotSchedule, minDomains 3);
 * Prometheus finds its ServiceMonitor and scrapes each pod's mtail, whose metrics match the counts on the volumes,
 * and loads and evaluates every rule of its PrometheusRule;
 * a client pod on another node reaches every replica through the client Service (pods and Services across nodes);
 * a config rollout under 10 requests/s fails none with prod's preStop sleep, readiness probe and PDB (and how many
 * fail without the sleep, as a figure); `kubectl drain` of one node fails no request, a second drain at the same
 * time is refused by the PodDisruptionBudget (HTTP 429) while the evicted member waits Pending for its node (its
 * local volume pins it there), an `up` in that state says why within seconds (the scheduler's reason), and the
 * member comes back on its own PVC with its data after `uncordon`; `down` leaves nothing behind.
 * A node lost (kubelet, containerd and its containers stopped): its member is not started twice, the Service serves
 * from the other zones once the member leaves its endpoints, an `up` says why it waits, StatefulAppMtailDown fires;
 * the member returns with its data when the node does, and the alert resolves.
 * What it does not prove: NetworkPolicies (nothing enforces them: kube-network-policies needs the kernel's nftables
 * queue expression, which this machine's kernel lacks, see `scripts/real-node --network-policies`); the alerts built
 * on kube-state-metrics and the kubelet's volume stats (neither is scraped here: those rules evaluate, to nothing);
 * Alertmanager (alerts are read from Prometheus); the other prod apps:
 * `litecoin` (its image comes from docker.io, which this machine cannot reach, and scripts/images does not build
 * it) and `datastore` (its Cassandra image is built here, but three JVMs of 2 GiB heap starting one after another
 * are left to a later suite).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Any, EngineEnv, eventually, succeeds, timed, up } from "./harness";
import { readyPodUid } from "./real-node-lib";
import {
    APP,
    clientRunning,
    countOn,
    MTAIL_DOWN_FOR_SECONDS,
    NODES,
    NS,
    nodeReady,
    podNodes,
    prodStack,
    prometheusApi,
    prometheusQuery,
    readyEndpoints,
    requestsBetween,
    script,
    startClient,
    tagProdImages,
    window,
    zoneOf,
} from "./zones-lib";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-zones-"));
let env: EngineEnv;
const kubectl = (args: string[], input?: string) => env.cluster.kubectl(args, input);
const getJson = (args: string[]): Any => env.cluster.getJson(args);
const realNode = (...args: string[]) => script(env.cluster, "real-node", ...args);

async function deploy(text: string, onOutput?: (s: string) => void): Promise<void> {
    const prod = await env.open("prod", text);
    await up(prod.stack, prod.configFile, { onOutput });
}

describe("prod on three real nodes in three zones, scraped by a real Prometheus (containers really run; no NetworkPolicy enforcer, no kube-state-metrics)", function () {
    this.timeout(10 * 60 * 1000);

    before(async function () {
        this.timeout(40 * 60 * 1000);
        await timed("toolchain (pulumi CLI + kubernetes plugin)", () => {
            env = new EngineEnv("stateful-apps-zones", stateDir);
        });
        await timed("local cluster with three real nodes up", () => env.cluster.up(0, { realNodes: 3 }));
        tagProdImages(env.cluster);
        await timed("Prometheus and its operator up (scripts/prometheus up)", () => script(env.cluster, "prometheus", "up"));
    });

    after(function () {
        this.timeout(3 * 60 * 1000);
        env?.cluster.down();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    it("the nodes: three Ready, one per zone", () => {
        const nodes = getJson(["nodes"]).items as Any[];
        const byName = Object.fromEntries(nodes.map((n) => [n.metadata.name, n]));
        for (const info of NODES) {
            const n = byName[info.NODE_NAME];
            assert.ok(n, `no node ${info.NODE_NAME}`);
            assert.strictEqual(n.metadata.labels["topology.kubernetes.io/zone"], info.NODE_ZONE);
            assert.ok(
                n.status.conditions.some((c: Any) => c.type === "Ready" && c.status === "True"),
                `${info.NODE_NAME} not Ready`,
            );
        }
        // Each node's own processes (kubelet, containerd, kube-proxy, CoreDNS, the API forward; node 0 also the
        // storage provisioner), by their pid files; the pods' containers not counted.
        for (const [i, info] of NODES.entries()) {
            const state = realNode("state-dir", "--node", String(i));
            let kib = 0;
            for (const f of fs.readdirSync(path.join(state, "pids"))) {
                const pid = fs.readFileSync(path.join(state, "pids", f), "utf8").trim();
                kib += Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
            }
            process.stdout.write(`      [e2e] ${info.NODE_NAME}: its processes' RSS ${(kib / 1024).toFixed(0)} MiB\n`);
        }
    });

    it("up: prod's visits puts one replica in each zone (topologySpread zone DoNotSchedule, minDomains 3); a second preview shows no changes", async () => {
        await timed("prod visits: up from empty", () => deploy(prodStack()));
        const placed = podNodes(env.cluster);
        process.stdout.write(
            `      [e2e] placement: ${Object.entries(placed)
                .map(([p, n]) => `${p} ${n} (${zoneOf(n)})`)
                .join(", ")}\n`,
        );
        assert.strictEqual(Object.keys(placed).length, 3);
        // Each pod's address is in its node's pod range (routed between nodes over the fabric).
        for (const p of getJson(["pods", "-n", NS, "-l", `app.kubernetes.io/name=${APP}`]).items as Any[]) {
            const info = NODES.find((n) => n.NODE_NAME === p.spec.nodeName)!;
            assert.ok(p.status.podIP.startsWith(info.POD_CIDR.replace(/0\/24$/, "")), `${p.metadata.name} ${p.status.podIP} not in ${info.POD_CIDR}`);
        }
        assert.deepStrictEqual(new Set(Object.values(placed).map(zoneOf)), new Set(["zone-a", "zone-b", "zone-c"]));
        // Each member's volume is pinned to the node it runs on (local-path PVs carry the node's affinity).
        for (const [pod, node] of Object.entries(placed)) {
            const pv = getJson(["pv", getJson(["pvc", `data-${pod}`, "-n", NS]).spec.volumeName]);
            const pinned = pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values;
            assert.deepStrictEqual(pinned, [node], `${pod}'s volume is pinned to ${pinned}`);
        }
        const prod = await env.open("prod", prodStack());
        await succeeds("preview --expect-no-changes", (o) => prod.stack.preview({ configFile: prod.configFile, expectNoChanges: true, ...o }));
    });

    it("Prometheus (operator and Prometheus pods on real-node-0) discovers visits' ServiceMonitor: its three mtail targets are up; every rule of its PrometheusRule loads and evaluates without error", async () => {
        const t0 = Date.now();
        let targets: Any[] = [];
        await eventually(`three ${APP} mtail targets up in Prometheus`, 150, () => {
            targets = (prometheusApi(env.cluster, "targets?state=active").activeTargets as Any[]).filter(
                (t) => t.labels.namespace === NS && t.labels.job === `${APP}-headless`,
            );
            return targets.length === 3 && targets.every((t) => t.health === "up");
        });
        process.stdout.write(
            `      [e2e] targets up ${((Date.now() - t0) / 1000).toFixed(1)} s after the up: ${targets.map((t) => `${t.labels.pod} ${t.scrapeUrl}`).join(", ")} (pool ${targets[0].scrapePool})\n`,
        );
        assert.deepStrictEqual(targets.map((t) => t.labels.pod).sort(), [`${APP}-0`, `${APP}-1`, `${APP}-2`]);

        // The operator turned the PrometheusRule into a rule file; Prometheus 3.5 parses and evaluates each rule
        // (kube-state-metrics and the kubelet's volume stats are not scraped here: those rules evaluate to nothing).
        let rules: Any[] = [];
        await eventually("the PrometheusRule's group loaded and every rule evaluated", 120, () => {
            const group = (prometheusApi(env.cluster, "rules").groups as Any[]).find((g) => g.name === `stateful-apps.${NS}.${APP}`);
            rules = group?.rules ?? [];
            return rules.length > 0 && rules.every((r) => r.health === "ok");
        });
        process.stdout.write(`      [e2e] rules: ${rules.map((r) => `${r.name} ${r.health}`).join(", ")}\n`);
        assert.ok(rules.some((r) => r.name === "StatefulAppMtailDown"));
        assert.deepStrictEqual(prometheusQuery(env.cluster, `ALERTS{namespace="${NS}", alertstate="firing"}`), [], "an alert fires on a healthy app");
    });

    it("a client pod on real-node-0 reaches all three replicas through the client Service (pod and Service traffic across nodes)", async () => {
        startClient(env.cluster);
        await eventually("the load client Running", 60, () => clientRunning(env.cluster));
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, 6000));
        const r = await window(env.cluster, "steady state", t0, Date.now() - 2000);
        assert.deepStrictEqual(r.failed, []);
        assert.deepStrictEqual(Object.keys(requestsBetween(env.cluster, t0, Date.now()).byPod).sort(), [`${APP}-0`, `${APP}-1`, `${APP}-2`]);
    });

    it("mtail's metrics from visits' real log lines reach Prometheus: each pod's visits_counter_value lies between its volume's count before and after a scrape", async () => {
        const pods = [`${APP}-0`, `${APP}-1`, `${APP}-2`];
        const before = Object.fromEntries(pods.map((p) => [p, countOn(env.cluster, p)]));
        // More than one scrape interval (30 s): the newest sample was scraped after `before` was read.
        await new Promise((r) => setTimeout(r, 35000));
        const scraped = prometheusQuery(env.cluster, `visits_counter_value{namespace="${NS}", job="${APP}-headless"}`);
        const after = Object.fromEntries(pods.map((p) => [p, countOn(env.cluster, p)]));
        const byPod = Object.fromEntries(scraped.map((s) => [s.metric.pod, s.value]));
        process.stdout.write(`      [e2e] visits_counter_value: ${pods.map((p) => `${p} ${before[p]} <= ${byPod[p]} <= ${after[p]}`).join(", ")}\n`);
        for (const p of pods) {
            assert.ok(byPod[p] >= before[p] && byPod[p] <= after[p], `${p}: Prometheus has ${byPod[p]}, the volume ${before[p]} then ${after[p]}`);
        }
        const total = prometheusQuery(env.cluster, `sum(increase(visits_total{namespace="${NS}", job="${APP}-headless"}[2m]))`);
        process.stdout.write(`      [e2e] visits_total increase over 2 min: ${total[0]?.value.toFixed(0)}\n`);
        assert.ok((total[0]?.value ?? 0) > 0, "visits_total did not increase");
    });

    it("a config rollout under 10 requests/s fails 0 requests with prod's preStop sleep (5 s); without it, the figure is printed", async () => {
        let t0 = Date.now();
        await timed("rollout (preStop 5 s): up", () => deploy(prodStack((v) => (v.configFiles["config.json"].greeting = "Hello from prod, v2"))));
        const withSleep = await window(env.cluster, "rollout with preStop 5 s", t0, Date.now());
        // The pods terminate with the spec they run: the first up sets the sleep to 0, the second rolls pods without it.
        await timed("preStop 0: up", () => deploy(prodStack((v) => (v.preStopSleepSeconds = 0))));
        t0 = Date.now();
        await timed("rollout (preStop 0): up", () =>
            deploy(
                prodStack((v) => {
                    v.preStopSleepSeconds = 0;
                    v.configFiles["config.json"].greeting = "Hello from prod, v3";
                }),
            ),
        );
        await window(env.cluster, "rollout with preStop 0 (what the sleep buys)", t0, Date.now());
        await timed("back to prod's settings: up", () => deploy(prodStack()));
        assert.deepStrictEqual(withSleep.failed, [], "requests failed during the rollout with prod's preStop sleep");
    });

    it("drain: 0 failed requests; a second drain is refused by the PDB (429); an up says why the evicted member is Pending; it returns with its data after uncordon", async () => {
        const placed = podNodes(env.cluster);
        const drained = NODES[1].NODE_NAME;
        const other = NODES[2].NODE_NAME;
        const member = Object.keys(placed).find((p) => placed[p] === drained)!;
        const bystander = Object.keys(placed).find((p) => placed[p] === other)!;
        const claimUid = getJson(["pvc", `data-${member}`, "-n", NS]).metadata.uid;
        const before = countOn(env.cluster, member);
        const bystanderUid = getJson(["pod", bystander, "-n", NS]).metadata.uid;
        const t0 = Date.now();
        await timed(`kubectl drain ${drained}`, () => kubectl(["drain", drained, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s"]));
        // Its replacement waits for the node its local volume is on.
        let reason = "";
        await eventually(`${member} recreated and Pending`, 60, () => {
            const r = env.cluster.kubectlResult(["get", "pod", member, "-n", NS, "-o", "json"]);
            if (r.status !== 0) return false;
            const p = JSON.parse(r.stdout);
            const scheduled = (p.status.conditions ?? []).find((c: Any) => c.type === "PodScheduled");
            reason = scheduled?.message ?? "";
            return p.status.phase === "Pending" && scheduled?.status === "False";
        });
        process.stdout.write(`      [e2e] ${member} Pending: ${reason}\n`);
        // Kubernetes 1.34's words for a local volume on another node (the cordon alone says "were unschedulable").
        assert.match(reason, /didn't match PersistentVolume's node affinity/);

        // A second drain meanwhile: the PodDisruptionBudget (maxUnavailable 1) refuses the eviction.
        const second = env.cluster.kubectlResult(["drain", other, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=15s"]);
        const refusals = (second.stdout + second.stderr).match(/would violate the pod's disruption budget/g) ?? [];
        process.stdout.write(`      [e2e] second drain of ${other}: exit ${second.status}, ${refusals.length} evictions refused (429) in 15 s\n`);
        assert.notStrictEqual(second.status, 0, "the second drain succeeded");
        assert.ok(refusals.length > 0, `no PDB refusal in the second drain's output:\n${second.stdout}${second.stderr}`);
        kubectl(["uncordon", other]);
        assert.strictEqual(getJson(["pod", bystander, "-n", NS]).metadata.uid, bystanderUid, `${bystander} was evicted`);

        // An up now: the rollout waits for the Pending member and says why; uncordon lets it finish.
        const upStart = Date.now();
        let saidAt = 0;
        const rolling = deploy(
            prodStack((v) => (v.configFiles["config.json"].greeting = "Hello from prod, v4")),
            (s) => {
                if (!saidAt && s.includes(member) && s.includes("FailedScheduling")) saidAt = Date.now();
            },
        );
        await eventually("the up to say why the member is Pending (FailedScheduling)", 120, () => saidAt > 0);
        process.stdout.write(`      [e2e] up said FailedScheduling for ${member} ${((saidAt - upStart) / 1000).toFixed(1)} s after it began\n`);
        kubectl(["uncordon", drained]);
        await timed("the up, after uncordon", () => rolling);
        await eventually(`${member} Ready on ${drained}`, 120, () => readyPodUid(env.cluster, NS, member) !== undefined);
        assert.strictEqual(getJson(["pod", member, "-n", NS]).spec.nodeName, drained);
        assert.strictEqual(getJson(["pvc", `data-${member}`, "-n", NS]).metadata.uid, claimUid, `data-${member} was recreated`);
        const after = countOn(env.cluster, member);
        assert.ok(after > before, `${member} counts ${after} after the drain, ${before} before: its volume was not kept`);
        const r = await window(env.cluster, "drain, refused drain, up, uncordon", t0, Date.now());
        assert.deepStrictEqual(r.failed, [], "requests failed during the drain");
    });

    it("node loss: real-node-2 stops (kubelet, containerd, every container): its member is not started twice, the Service serves from the other zones, an up says why it waits, Prometheus fires StatefulAppMtailDown (for 60 s here, prod 300 s); the member returns with its data and the alert resolves", async () => {
        const node = 2;
        const lost = NODES[node].NODE_NAME;
        const placed = podNodes(env.cluster);
        const member = Object.keys(placed).find((p) => placed[p] === lost)!;
        const uid = getJson(["pod", member, "-n", NS]).metadata.uid;
        const before = countOn(env.cluster, member);
        const t0 = Date.now();
        realNode("stop", "--node", String(node));
        await eventually(`${lost} NotReady`, 180, () => !nodeReady(env.cluster, lost));
        const notReadyAt = Date.now();
        // The member leaves the Service's endpoints once the node controller marks its pods not Ready.
        await eventually(`${member} out of the Service's ready endpoints`, 120, () => !readyEndpoints(env.cluster).includes(member));
        const outAt = Date.now();
        process.stdout.write(
            `      [e2e] ${lost} stopped: NotReady after ${((notReadyAt - t0) / 1000).toFixed(1)} s, ${member} out of the endpoints after ${((outAt - t0) / 1000).toFixed(1)} s\n`,
        );
        const lossWindow = await window(env.cluster, "from the stop until the endpoint left", t0, outAt);
        // From then on, the other two zones answer every request.
        await new Promise((r) => setTimeout(r, 10000));
        const after = await window(env.cluster, "10 s without the lost node", outAt + 1000, Date.now() - 2000);
        assert.deepStrictEqual(after.failed, [], "requests failed after the lost member left the endpoints");
        assert.ok(after.ok > 50, `only ${after.ok} requests answered`);

        // An up meanwhile: the rollout cannot replace the member on the lost node (at most one pod per identity), and
        // says so.
        const upStart = Date.now();
        let said = "";
        let saidAt = 0;
        const rolling = deploy(
            prodStack((v) => (v.configFiles["config.json"].greeting = "Hello from prod, v5")),
            (s) => {
                if (!saidAt && s.includes(member) && new RegExp(`its node ${lost} is NotReady`).test(s)) {
                    saidAt = Date.now();
                    said = s.trim();
                }
            },
        );
        await eventually("the up to say why it waits for the member on the lost node", 180, () => saidAt > 0);
        process.stdout.write(`      [e2e] up said after ${((saidAt - upStart) / 1000).toFixed(1)} s: ${said}\n`);
        // Not started twice: the member is still the pod object on the lost node (a replacement would have a new UID
        // on another node), and the app has no fourth pod.
        const now = getJson(["pod", member, "-n", NS]);
        assert.strictEqual(now.metadata.uid, uid, `${member} was replaced while its node was down`);
        assert.strictEqual(now.spec.nodeName, lost);
        assert.strictEqual(Object.keys(podNodes(env.cluster)).length, 3);

        // Prometheus (on real-node-0) fails to scrape the lost member's mtail: StatefulAppMtailDown fires once that
        // has lasted monitoring.mtailDownForSeconds, and resolves when the member is back.
        const mtailDown = (state: string) =>
            prometheusQuery(env.cluster, `ALERTS{alertname="StatefulAppMtailDown", alertstate=~"${state}", namespace="${NS}", pod="${member}"}`);
        await eventually(`StatefulAppMtailDown firing for ${member}`, 240, () => mtailDown("firing").length === 1);
        process.stdout.write(
            `      [e2e] StatefulAppMtailDown firing for ${member} ${((Date.now() - t0) / 1000).toFixed(1)} s after the stop (for ${MTAIL_DOWN_FOR_SECONDS} s, scrape 30 s, evaluation 15 s)\n`,
        );

        const restart = Date.now();
        realNode("start", "--node", String(node));
        await timed("the up, after the node returned", () => rolling);
        await eventually(`${member} Ready on ${lost}`, 180, () => readyPodUid(env.cluster, NS, member) !== undefined);
        process.stdout.write(`      [e2e] ${member} Ready again ${((Date.now() - restart) / 1000).toFixed(1)} s after the node's start\n`);
        await eventually("StatefulAppMtailDown resolved", 180, () => mtailDown("pending|firing").length === 0);
        process.stdout.write(`      [e2e] StatefulAppMtailDown resolved ${((Date.now() - restart) / 1000).toFixed(1)} s after the node's start\n`);
        assert.strictEqual(getJson(["pod", member, "-n", NS]).spec.nodeName, lost);
        assert.ok(countOn(env.cluster, member) > before, `${member} lost its count`);
        process.stdout.write(`      [e2e] failed requests while the endpoint was still listed: ${lossWindow.failed.length}\n`);
    });

    it("scripts/cluster down leaves nothing of the three nodes: no process, mount, network namespace (fabric included), interface or cgroup", () => {
        const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8" });
        const states = NODES.map((_, i) => realNode("state-dir", "--node", String(i)));
        env.cluster.down();
        const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
        const links = run("ip", ["-o", "link"]);
        const routes = run("ip", ["route"]);
        const ps = run("ps", ["-eo", "args="]);
        for (const [i, info] of NODES.entries()) {
            assert.ok(!fs.existsSync(states[i]), `${states[i]} is still there`);
            assert.ok(!mounts.includes(states[i]), `mounts under ${states[i]} left`);
            assert.ok(!fs.existsSync(`/run/netns/${info.NETNS}`), `network namespace ${info.NETNS} left`);
            assert.ok(!links.includes(`${info.HOST_IF}@`) && !links.includes(`${info.HOST_IF}:`), `${info.HOST_IF} left`);
            assert.ok(!routes.includes(info.POD_CIDR.split("/")[0]), `the route to ${info.POD_CIDR} left`);
            assert.ok(!ps.split("\n").some((l) => l.includes(states[i])), `a process of ${info.NODE_NAME} left`);
            // The API forwards (socat on this machine's end of the veth and on the node's loopback) name no state.
            assert.ok(!ps.split("\n").some((l) => l.includes(info.NODE_IP.replace(/\.2$/, ".1"))), `a forward of ${info.NODE_NAME} left`);
            for (const dir of fs.readdirSync("/sys/fs/cgroup")) {
                assert.ok(!fs.existsSync(path.join("/sys/fs/cgroup", dir, info.CGROUP_ROOT)), `cgroup ${dir}${info.CGROUP_ROOT} left`);
            }
        }
        assert.ok(!fs.existsSync(`/run/netns/${NODES[0].FABRIC_NETNS}`), "the fabric's network namespace left");
        assert.deepStrictEqual(
            ps.split("\n").filter((l) => /\b(kubelet|kube-proxy|containerd|coredns|local-path-provisioner|kube-network-policies)\b/.test(l.split(" ")[0])),
            [],
        );
        assert.ok(!/sa-fab-/.test(links), "a fabric veth left");
    });
});

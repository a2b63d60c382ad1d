/**
 * A clustered datastore on the real node (scripts/real-node): etcd 3.6 from the image scripts/images builds from Go
 * modules, deployed by the real engine with the program's clustered-app keys: `peerEnv` (each member's name and
 * advertised URLs, the first three members as the initial cluster), `extraPorts` (the peer port 2380), `membership`
 * (the guard, a beforeScaleDown Job that removes the members that go, an afterScaleUp health check), and our own
 * start script (./etcd-scripts.ts) that bootstraps, joins or starts over.
 *
 * What this proves: members find each other by the headless Service's DNS names with the namespace filled in by the
 * kubelet; a key written through the client Service is on every member; a deleted member comes back with its data
 * and identity; 3 -> 4 -> 5 -> 4 -> 3 in single steps with no failed write; a member re-added on a retained PVC that
 * holds a removed member's data joins (etcd-io/etcd#14805); the guard refuses 3 -> 1 at preview; the same stack in
 * another namespace as a Helm release forms its own cluster.
 * What it does not prove: anything across nodes (one node), network partitions, or the stacks' Cassandra (no image
 * is built here yet: see the note of issue 24).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT } from "../../lib/names";
import { ETCD_LEAVE_SCRIPT, ETCD_START_SCRIPT } from "./etcd-scripts";
import { Any, collector, EngineEnv, eventually, stackFileWith, succeeds, timed } from "./harness";
import { IMAGES, imageBlock, NODE, request, requestInNode, resolveInCluster } from "./real-node-lib";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-datastore-"));
let env: EngineEnv;
/** etcd-3's member ID before the scale-down removed it (the next test re-adds the ordinal). */
let removedId: string | undefined;
const getJson = (args: string[]): Any => env.cluster.getJson(args);

const APP = "etcd";
const NS = "ring-a";
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The etcd app: 2379 clients, 2380 peers; members named by peerEnv; data on the PVC; the membership steps. */
function etcdApp(replicas: number, deployWith: "native" | "helm"): Any {
    return {
        name: APP,
        deployWith,
        image: imageBlock(IMAGES.etcd),
        command: ["sh", "/etc/etcd/start.sh"],
        port: 2379,
        portName: "client",
        extraPorts: [{ name: "peer", port: 2380 }],
        replicas,
        // Every member must be up for the first quorum: OrderedReady would wait for etcd-0's readiness forever.
        podManagementPolicy: "Parallel",
        storage: { size: "64Mi", storageClass: NODE.STORAGE_CLASS, mountPath: "/var/lib/etcd" },
        pvcRetention: { whenDeleted: "Delete", whenScaled: "Retain" },
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        probes: {
            startup: { type: "tcp", periodSeconds: 2, failureThreshold: 60 },
            // /health answers 200 only while the member sees a leader (quorum).
            readiness: { type: "http", path: "/health", periodSeconds: 5, timeoutSeconds: 3 },
            liveness: { type: "tcp", periodSeconds: 10, timeoutSeconds: 3 },
        },
        preStopSleepSeconds: 2,
        securityContext: { runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001 },
        env: {
            ETCD_DATA_DIR: "/var/lib/etcd/data",
            ETCD_LISTEN_PEER_URLS: "http://0.0.0.0:2380",
            ETCD_LISTEN_CLIENT_URLS: "http://0.0.0.0:2379",
            ETCD_INITIAL_CLUSTER_TOKEN: "e2e-ring",
        },
        peerEnv: [
            { name: "ETCD_NAME", members: "self", format: "{pod}" },
            { name: "ETCD_INITIAL_ADVERTISE_PEER_URLS", members: "self", format: "http://{host}:2380" },
            { name: "ETCD_ADVERTISE_CLIENT_URLS", members: "self", format: "http://{host}:2379" },
            // The first three: the same at any replicas, so a scale restarts no member.
            { name: "ETCD_INITIAL_CLUSTER", members: "first", count: 3, format: "{pod}=http://{host}:2380" },
        ],
        configFiles: { "start.sh": ETCD_START_SCRIPT },
        configMountPath: "/etc/etcd",
        secret: { source: "generated", envName: "APP_PASSWORD" },
        membership: {
            minReplicas: 3,
            maxScaleDownStep: 1,
            maxScaleUpStep: 1,
            beforeScaleDown: { command: ["sh", "-c", ETCD_LEAVE_SCRIPT], activeDeadlineSeconds: 120 },
            afterScaleUp: { command: ["sh", "-c", 'etcdctl --endpoints="http://$APP_SERVICE" endpoint health --cluster'], activeDeadlineSeconds: 120 },
        },
        ...(deployWith === "helm" ? { helm: { hookImage: IMAGES.busybox, timeoutSeconds: 180 } } : {}),
    };
}

/** The dev stack file with the etcd app only, in namespace `ns`. */
function ringStack(ns: string, replicas: number, deployWith: "native" | "helm" = "native"): string {
    return stackFileWith("dev", (config) => {
        config[`${PROJECT}:namespace`] = { ...config[`${PROJECT}:namespace`], name: ns };
        config[`${PROJECT}:apps`] = [etcdApp(replicas, deployWith)];
        delete config[`${PROJECT}:removedApps`];
    });
}

function podIp(ns: string, name: string): string {
    return getJson(["pod", name, "-n", ns]).status.podIP;
}

/** etcd's JSON gateway (`POST /v3/...`) on a member, from this machine. */
async function etcd(ns: string, member: string, api: string, body: object = {}): Promise<Any> {
    const r = await request(podIp(ns, member), 2379, "POST", `/v3/${api}`, JSON.stringify(body));
    assert.strictEqual(r.status, 200, `${member} ${api}: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
}

/** The members etcd lists (name, peer URL, client URL), by name. */
async function members(ns: string, via: string): Promise<{ id: string; name: string; peer: string; client: string }[]> {
    const list = await etcd(ns, via, "cluster/member/list");
    return (list.members as Any[])
        .map((m) => ({ id: m.ID, name: m.name ?? "", peer: m.peerURLs?.[0] ?? "", client: m.clientURLs?.[0] ?? "" }))
        .sort((a, b) => a.name.localeCompare(b.name));
}

/** `n` started members etcd-0…etcd-(n-1), each advertising its DNS name in `ns`, and one leader they all agree on. */
async function assertRing(ns: string, n: number): Promise<void> {
    const names = Array.from({ length: n }, (_, i) => `${APP}-${i}`);
    const host = (m: string) => `${m}.${APP}-headless.${ns}.svc.cluster.local`;
    let list: Awaited<ReturnType<typeof members>> = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
        list = await members(ns, `${APP}-0`).catch(() => []);
        if (list.map((m) => m.name).join() === names.join()) break;
        assert.ok(Date.now() < deadline, `members: ${JSON.stringify(list)}`);
        await new Promise((r) => setTimeout(r, 1000));
    }
    assert.deepStrictEqual(
        list.map((m) => [m.peer, m.client]),
        names.map((m) => [`http://${host(m)}:2380`, `http://${host(m)}:2379`]),
    );
    const leaders = new Set<string>();
    for (const m of names) leaders.add((await etcd(ns, m, "maintenance/status")).leader);
    assert.strictEqual(leaders.size, 1, `members disagree on the leader: ${[...leaders].join(", ")}`);
    assert.ok(
        list.some((m) => leaders.has(m.id)),
        "the leader is a member",
    );
}

/** The value of `key` on member `m`, read locally (serializable: no round to the leader). */
async function localRead(ns: string, m: string, key: string): Promise<string | undefined> {
    const r = await etcd(ns, m, "kv/range", { key: b64(key), serializable: true });
    return r.kvs?.[0] ? Buffer.from(r.kvs[0].value, "base64").toString() : undefined;
}

/** Resident memory (KiB) of each etcd member's process on this machine: the processes whose command line is `etcd`. */
function memberRss(): number[] {
    return execFileSync("ps", ["-eo", "rss=,args="], { encoding: "utf8" })
        .split("\n")
        .map((l) => l.trim().split(/\s+/, 2))
        .filter(([, args]) => args === "etcd")
        .map(([rss]) => Number(rss));
}

describe("etcd on the real node: a 3-member cluster through peerEnv, membership steps 3 -> 5 -> 3, both paths", function () {
    this.timeout(10 * 60 * 1000);

    before(async function () {
        this.timeout(40 * 60 * 1000);
        env = new EngineEnv("stateful-apps-ring", stateDir);
        await timed("local cluster with the real node up", () => env.cluster.up(0, { realNode: true }));
    });

    after(function () {
        this.timeout(3 * 60 * 1000);
        env?.cluster.down();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    /** `up` of the ring stack (`name`: dev for ring-a, prod for the Helm copy); returns the engine's output. */
    async function deploy(stack: "dev" | "prod", text: string, label: string): Promise<string> {
        const s = await env.open(stack, text);
        const out = collector();
        await timed(label, () => s.stack.up({ configFile: s.configFile, onOutput: out.onOutput, color: "never" })).catch((e: Error) =>
            assert.fail(`${label} failed:\n${out.text().slice(-4000)}\n${e.message.slice(-2000)}`),
        );
        return out.text();
    }

    async function previewClean(stack: "dev" | "prod", text: string): Promise<void> {
        const s = await env.open(stack, text);
        await succeeds("preview --expect-no-changes", (o) => s.stack.preview({ configFile: s.configFile, expectNoChanges: true, ...o }));
    }

    it("up: 3 members form one cluster by the headless Service's DNS names (namespace from $(POD_NAMESPACE)), one leader; preview clean", async () => {
        const started = Date.now();
        await deploy("dev", ringStack(NS, 3), "up (3 etcd members)");
        await assertRing(NS, 3);
        const ready = (getJson(["pods", "-n", NS, "-l", `app.kubernetes.io/instance=${APP}`]).items as Any[]).map((p) =>
            Date.parse(p.status.conditions.find((c: Any) => c.type === "Ready").lastTransitionTime),
        );
        process.stdout.write(
            `      [e2e] 3 members Ready ${((Math.max(...ready) - started) / 1000).toFixed(1)} s after up began; RSS per member ${memberRss()
                .map((k) => `${(k / 1024).toFixed(1)} MiB`)
                .join(", ")}\n`,
        );
        await previewClean("dev", ringStack(NS, 3));
    });

    it("a key written through the client Service is read back locally from every member", async () => {
        const [ip] = await resolveInCluster(`${APP}.${NS}.svc.cluster.local`);
        requestInNode(ip, 2379, "POST", "/v3/kv/put", JSON.stringify({ key: b64("greeting"), value: b64("hello ring") }));
        for (const m of ["etcd-0", "etcd-1", "etcd-2"]) {
            const deadline = Date.now() + 5000;
            while ((await localRead(NS, m, "greeting")) !== "hello ring") {
                assert.ok(Date.now() < deadline, `${m} does not have the key`);
                await new Promise((r) => setTimeout(r, 200));
            }
        }
    });

    it("pod etcd-1 deleted: it comes back with the same PVC and the same member ID, and has the key", async () => {
        const claim = getJson(["pvc", `data-${APP}-1`, "-n", NS]).metadata.uid;
        const id = (await members(NS, "etcd-0")).find((m) => m.name === "etcd-1")?.id;
        const uid = getJson(["pod", "etcd-1", "-n", NS]).metadata.uid;
        const t = Date.now();
        env.cluster.kubectl(["delete", "pod", "etcd-1", "-n", NS, "--wait=false"]);
        await eventually("etcd-1 replaced and Ready", 120, () => {
            const r = env.cluster.kubectlResult(["get", "pod", "etcd-1", "-n", NS, "-o", "json"]);
            if (r.status !== 0) return false;
            const p = JSON.parse(r.stdout);
            return p.metadata.uid !== uid && (p.status.conditions ?? []).some((c: Any) => c.type === "Ready" && c.status === "True");
        });
        process.stdout.write(`      [e2e] etcd-1 back and Ready ${((Date.now() - t) / 1000).toFixed(1)} s after its deletion\n`);
        assert.strictEqual(getJson(["pvc", `data-${APP}-1`, "-n", NS]).metadata.uid, claim, "the same PVC");
        assert.strictEqual((await members(NS, "etcd-0")).find((m) => m.name === "etcd-1")?.id, id, "the same member ID");
        assert.strictEqual(await localRead(NS, "etcd-1", "greeting"), "hello ring");
    });

    it("replicas 3 -> 1 and 3 -> 5 are refused at preview naming replicas (membership.minReplicas, maxScaleUpStep), nothing touched", async () => {
        for (const [n, message] of [
            [1, /stateful-apps:apps\[0\]\.replicas: is below membership\.minReplicas \(3\)/],
            [
                5,
                /stateful-apps:apps\[0\]\.replicas: would add 2 members at once \(the live StatefulSet etcd has 3\); membership\.maxScaleUpStep allows 1 per up\. Go in steps: 4 first/,
            ],
        ] as const) {
            const s = await env.open("dev", ringStack(NS, n));
            const out = collector();
            await assert.rejects(s.stack.preview({ configFile: s.configFile, onOutput: out.onOutput, color: "never" }));
            assert.match(out.text(), message);
        }
        assert.strictEqual(getJson(["statefulset", APP, "-n", NS]).spec.replicas, 3);
        await assertRing(NS, 3);
    });

    it("3 -> 4 -> 5 -> 4 -> 3 one member per up: members join and leave (beforeScaleDown moves the leader away and removes them), no write through etcd-0 fails, the key survives", async () => {
        let writes = 0;
        const failures: string[] = [];
        let writing = true;
        const writer = (async () => {
            const ip = podIp(NS, "etcd-0");
            while (writing) {
                const r = await request(ip, 2379, "POST", "/v3/kv/put", JSON.stringify({ key: b64("tick"), value: b64(String(writes)) }), 3000).catch(
                    (e: Error) => ({ status: 0, body: e.message }),
                );
                if (r.status === 200) writes++;
                else failures.push(`${new Date().toISOString()} ${r.status} ${r.body.slice(0, 200)}`);
                await new Promise((res) => setTimeout(res, 200));
            }
        })();
        try {
            let live = 3;
            for (const n of [4, 5, 4, 3]) {
                if (n === 3) removedId = (await members(NS, "etcd-0")).find((m) => m.name === "etcd-3")?.id;
                const out = await deploy("dev", ringStack(NS, n), `up (replicas ${live} -> ${n})`);
                const [step, job] = n > live ? ["afterScaleUp", "scale-up"] : ["beforeScaleDown", "scale-down"];
                assert.match(out, new RegExp(`membership\\.${step}: Job ${APP}-${job}-[0-9a-f]{8} succeeded`), out.slice(-3000));
                live = n;
                await assertRing(NS, n);
                if (n === 5) assert.strictEqual(await localRead(NS, "etcd-4", "greeting"), "hello ring");
            }
        } finally {
            writing = false;
            await writer;
        }
        process.stdout.write(`      [e2e] writes through etcd-0 during 3 -> 5 -> 3: ${writes} ok, ${failures.length} failed\n`);
        assert.deepStrictEqual(failures, []);
        assert.ok(getJson(["pvc", `data-${APP}-4`, "-n", NS]).metadata.uid, "ordinal 4's PVC retained (whenScaled: Retain)");
        assert.strictEqual(await localRead(NS, "etcd-2", "greeting"), "hello ring");
        await previewClean("dev", ringStack(NS, 3));
    });

    it("3 -> 4 again: etcd-3 starts on its retained PVC, which holds a removed member's data, starts over and joins with a new ID (etcd-io/etcd#14805)", async () => {
        const out = await deploy("dev", ringStack(NS, 4), "up (replicas 4, retained PVC)");
        await assertRing(NS, 4);
        assert.match(env.cluster.kubectl(["logs", "etcd-3", "-n", NS]), /no longer lists etcd-3 .*starting over/);
        const id = (await members(NS, "etcd-0")).find((m) => m.name === "etcd-3")?.id;
        assert.ok(removedId && id && id !== removedId, `etcd-3 joined as a new member (was ${removedId}, is ${id})`);
        assert.strictEqual(await localRead(NS, "etcd-3", "greeting"), "hello ring");
        assert.match(out, /afterScaleUp: Job etcd-scale-up-[0-9a-f]{8} succeeded/);
        await deploy("dev", ringStack(NS, 3), "up (replicas 3)");
        await assertRing(NS, 3);
    });

    it("the same stack in another namespace, as a Helm release of the chart: its own 3-member cluster, named in that namespace; 3 -> 4 -> 3 with the membership steps", async () => {
        await deploy("prod", ringStack("ring-b", 3, "helm"), "up (ring-b, Helm)");
        await assertRing("ring-b", 3);
        await previewClean("prod", ringStack("ring-b", 3, "helm"));
        // The membership steps on the Helm path: the same Jobs, run by the program around the release's upgrade.
        assert.match(await deploy("prod", ringStack("ring-b", 4, "helm"), "up (ring-b 3 -> 4, Helm)"), /afterScaleUp: Job etcd-scale-up-[0-9a-f]{8} succeeded/);
        await assertRing("ring-b", 4);
        assert.match(
            await deploy("prod", ringStack("ring-b", 3, "helm"), "up (ring-b 4 -> 3, Helm)"),
            /beforeScaleDown: Job etcd-scale-down-[0-9a-f]{8} succeeded/,
        );
        await assertRing("ring-b", 3);
    });
});

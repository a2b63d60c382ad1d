/**
 * Clustered datastores on the real node (scripts/real-node), on images scripts/images builds here, deployed by the
 * real engine.
 *
 * etcd 3.6 (Go modules) with the program's clustered-app keys: `peerEnv` (each member's name and advertised URLs, the
 * first three members as the initial cluster), `extraPorts` (the peer port 2380), `membership` (the guard, a
 * beforeScaleDown Job that removes the members that go, an afterScaleUp health check), and our own start script
 * (./etcd-app.ts) that bootstraps, joins or starts over. Proves: members find each other by the headless Service's
 * DNS names with the namespace filled in by the kubelet; a key written through the client Service is on every
 * member; a deleted member comes back with its data and identity; 3 -> 4 -> 5 -> 4 -> 3 in single steps with no
 * failed write; a member re-added on a retained PVC that holds a removed member's data joins (etcd-io/etcd#14805);
 * the guard refuses at preview; the same stack in another namespace as a Helm release forms its own cluster.
 *
 * Cassandra 5.0.9 (Maven Central, Debian's OpenJDK 17, our start script with docker-library's environment) running
 * the dev stack's own `datastore` config: UN, the data-load Job's keyspace, a row kept across the pod's deletion, a
 * second node joining through the seed list without restarting the first.
 *
 * What it does not prove: anything across nodes (one node), network partitions, a Cassandra scale-down (it needs
 * `nodetool decommission` on the leaving node, which a Job cannot reach: JMX listens on the pod's loopback).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT } from "../../lib/names";
import { APP, ringStack } from "./etcd-app";
import { Any, appIn, collector, EngineEnv, eventually, stackFileWith, succeeds, timed } from "./harness";
import { IMAGES, imageBlock, NODE, readyPodUid, request, requestInNode, resolveInCluster } from "./real-node-lib";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-datastore-"));
let env: EngineEnv;
/** etcd-3's member ID before the scale-down removed it (the next test re-adds the ordinal). */
let removedId: string | undefined;
const getJson = (args: string[]): Any => env.cluster.getJson(args);

const NS = "ring-a";
const b64 = (s: string) => Buffer.from(s).toString("base64");

/**
 * The dev stack's own `datastore` (Cassandra), with what this machine must swap: the image (built here, the same
 * environment contract as docker-library's), the real node's StorageClass and the data-load Job's wait image. The
 * etcd app the earlier tests deployed with this stack leaves through `removedApps`.
 */
function cassandraStack(replicas: number): string {
    return stackFileWith("dev", (config) => {
        const ds = appIn(config, "datastore");
        ds.image = imageBlock(IMAGES.cassandra);
        ds.storage.storageClass = NODE.STORAGE_CLASS;
        ds.dataLoad.waitImage = IMAGES.busybox;
        ds.replicas = replicas;
        config[`${PROJECT}:apps`] = [ds];
        config[`${PROJECT}:removedApps`] = [{ name: APP, namespace: NS, data: "delete" }];
    });
}

/** Deletes pod `name` and waits (at most `seconds`) until its replacement is Ready; prints how long it took. */
async function replacePod(ns: string, name: string, seconds: number): Promise<void> {
    const uid = getJson(["pod", name, "-n", ns]).metadata.uid;
    const t = Date.now();
    env.cluster.kubectl(["delete", "pod", name, "-n", ns, "--wait=false"]);
    await eventually(`${name} replaced and Ready`, seconds, () => {
        const now = readyPodUid(env.cluster, ns, name);
        return now !== undefined && now !== uid;
    });
    process.stdout.write(`      [e2e] ${name} back and Ready ${((Date.now() - t) / 1000).toFixed(1)} s after its deletion\n`);
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

describe("datastores on the real node", function () {
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

    describe("etcd: a 3-member cluster through peerEnv, membership steps 3 -> 5 -> 3, both paths", () => {
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
            await replacePod(NS, "etcd-1", 120);
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
            assert.match(
                await deploy("prod", ringStack("ring-b", 4, "helm"), "up (ring-b 3 -> 4, Helm)"),
                /afterScaleUp: Job etcd-scale-up-[0-9a-f]{8} succeeded/,
            );
            await assertRing("ring-b", 4);
            assert.match(
                await deploy("prod", ringStack("ring-b", 3, "helm"), "up (ring-b 4 -> 3, Helm)"),
                /beforeScaleDown: Job etcd-scale-down-[0-9a-f]{8} succeeded/,
            );
            await assertRing("ring-b", 3);
        });
    });

    describe("Cassandra: the stacks' datastore on the image built here (Cassandra 5.0.9, our start script)", () => {
        const CASS_NS = "stateful-dev";
        const exec = (pod: string, cmd: string[]) => env.cluster.kubectlResult(["exec", pod, "-n", CASS_NS, "--", ...cmd]);
        const cql = (pod: string, statement: string) => {
            const r = exec(pod, ["cqlsh", "-e", statement]);
            assert.strictEqual(r.status, 0, `cqlsh on ${pod}: ${r.stdout}${r.stderr}`);
            return r.stdout;
        };
        /** Lines of `nodetool status` for nodes Up and Normal. */
        const upNormal = (pod: string) => (exec(pod, ["nodetool", "status"]).stdout.match(/^UN\s+\S+/gm) ?? []).length;
        /** Resident memory of each Cassandra JVM on this machine, MiB. */
        const jvmRss = () =>
            execFileSync("ps", ["-eo", "rss=,args="], { encoding: "utf8" })
                .split("\n")
                .filter((l) => l.includes("org.apache.cassandra.service.CassandraDaemon"))
                .map((l) => (Number(l.trim().split(/\s+/, 1)[0]) / 1024).toFixed(0));

        it("up: datastore-0 runs the stack's own config (image, StorageClass and wait image swapped; etcd let go by removedApps): nodetool status UN, the data-load Job's keyspace exists", async () => {
            const t = Date.now();
            await deploy("dev", cassandraStack(1), "up (the stack's datastore, Cassandra)");
            process.stdout.write(
                `      [e2e] datastore-0 Ready, the data-load Job done: ${((Date.now() - t) / 1000).toFixed(1)} s; JVM RSS ${jvmRss().join(", ")} MiB\n`,
            );
            assert.strictEqual(upNormal("datastore-0"), 1);
            assert.match(cql("datastore-0", "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = 'visits'"), /\bvisits\b/);
        });

        it("a row written survives the pod's deletion (same PVC)", async () => {
            cql("datastore-0", "CREATE TABLE IF NOT EXISTS visits.kept (k int PRIMARY KEY, v text); INSERT INTO visits.kept (k, v) VALUES (1, 'survives');");
            const claim = getJson(["pvc", "data-datastore-0", "-n", CASS_NS]).metadata.uid;
            await replacePod(CASS_NS, "datastore-0", 300);
            assert.strictEqual(getJson(["pvc", "data-datastore-0", "-n", CASS_NS]).metadata.uid, claim, "the same PVC");
            assert.match(cql("datastore-0", "SELECT v FROM visits.kept WHERE k = 1"), /survives/);
        });

        it("replicas 1 -> 2: datastore-1 joins through the seed list (peerEnv first 1), 2 nodes UN; datastore-0 not restarted (its seeds did not change)", async () => {
            const before = getJson(["pod", "datastore-0", "-n", CASS_NS]);
            const t = Date.now();
            await deploy("dev", cassandraStack(2), "up (datastore 1 -> 2)");
            await eventually("2 nodes UN", 300, () => upNormal("datastore-0") === 2);
            process.stdout.write(
                `      [e2e] datastore-1 joined, 2 UN: ${((Date.now() - t) / 1000).toFixed(1)} s after up began; JVM RSS ${jvmRss().join(", ")} MiB\n`,
            );
            const after = getJson(["pod", "datastore-0", "-n", CASS_NS]);
            assert.strictEqual(after.metadata.uid, before.metadata.uid, "datastore-0 is the same pod");
            assert.strictEqual(after.status.containerStatuses[0].restartCount, before.status.containerStatuses[0].restartCount, "and was not restarted");
            assert.match(cql("datastore-1", "SELECT v FROM visits.kept WHERE k = 1"), /survives/);
        });
    });
});

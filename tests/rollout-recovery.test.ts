/**
 * The stuck-rollout watcher's choice of pods (lib/rollout-recovery.ts), as pure functions, and the watcher itself
 * against a loopback stand-in for the API server. What this proves: which pods it deletes and which it leaves, and
 * that it stops when `up` is done with the StatefulSet. That a revert then really recovers an OrderedReady rollout
 * is the real-node e2e (tests/e2e/real-node.e2e.ts: probes fail for real there, never on kwok).
 */
import * as assert from "assert";
import * as http from "http";
import { parseStackConfig } from "../config/parse";
import { clusterConnection } from "../lib/kube-client";
import { podAvailableSeconds, startupBudgetSeconds, statefulSetTimeouts } from "../lib/awaits";
import { livePod, LivePod, LiveRollout, recoverStuckRollout, stuckBudget, stuckPods, watchSeconds } from "../lib/rollout-recovery";
import { stackFileConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function devApp(i: number) {
    const raw: Record<string, Any> = {};
    for (const [k, v] of Object.entries(stackFileConfig("dev"))) if (k.startsWith("stateful-apps:")) raw[k.replace(/^stateful-apps:/, "")] = v;
    return parseStackConfig(raw, () => false).apps[i];
}

const NOW = Date.parse("2026-12-03T12:00:00Z");
const pod = (over: Partial<LivePod>): LivePod => ({
    name: "visits-1",
    uid: "u1",
    revision: "bad",
    ready: false,
    readySinceMs: NOW - 60_000,
    terminating: false,
    ...over,
});

/** A connection to a loopback test server, through a kubeconfig as the program reads one. */
function loopbackConnection(server: http.Server): ReturnType<typeof clusterConnection> {
    const port = (server.address() as { port: number }).port;
    const text = `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n`;
    return clusterConnection([{ dir: "/", text }], "x");
}
describe("stuck-rollout recovery (lib/rollout-recovery.ts)", () => {
    it("a pod is stuck after its probes' budgets with its containers running, else after the await timeouts' per-pod budget", () => {
        for (const i of [0, 2]) {
            const app = devApp(i);
            const r = app.probes.readiness;
            assert.deepStrictEqual(stuckBudget(app), {
                runningSeconds: startupBudgetSeconds(app) + r.initialDelaySeconds + r.failureThreshold * r.periodSeconds,
                otherwiseSeconds: podAvailableSeconds(app),
            });
        }
        assert.ok(stuckBudget(devApp(2)).runningSeconds >= 300, "the datastore's startup probe (30 × 10 s) counts");
    });

    it("deletes only pods of an OrderedReady RollingUpdate StatefulSet at or above the partition, off the update revision, not Ready past the budget, not terminating", () => {
        const sts: LiveRollout = { name: "visits", podManagementPolicy: "OrderedReady", updateStrategy: "RollingUpdate", partition: 1, updateRevision: "good" };
        const budget = { runningSeconds: 15, otherwiseSeconds: 125 };
        const pods = [
            pod({ name: "visits-2", runningSinceMs: NOW - 20_000 }),
            pod({ name: "visits-0", uid: "below-partition", runningSinceMs: NOW - 20_000 }),
            pod({ name: "visits-3", revision: "good", runningSinceMs: NOW - 20_000 }),
            pod({ name: "visits-4", revision: "old", ready: true }),
            pod({ name: "visits-5", runningSinceMs: NOW - 10_000 }),
            pod({ name: "visits-6", terminating: true, runningSinceMs: NOW - 20_000 }),
            pod({ name: "visits-7", revision: undefined, runningSinceMs: NOW - 20_000 }),
            pod({ name: "visits-8", readySinceMs: NOW - 10_000, runningSinceMs: NOW - 600_000 }),
            pod({ name: "visits-9", readySinceMs: NOW - 60_000 }),
            pod({ name: "visits-10", readySinceMs: NOW - 130_000 }),
        ];
        assert.deepStrictEqual(
            stuckPods(sts, pods, NOW, budget).map((p) => p.name),
            ["visits-2", "visits-10"],
            "running 20 s unready; not running and unready 130 s (not: running 10 s, or unready only 10 s of a long run, or not running for 60 s)",
        );
        assert.deepStrictEqual(stuckPods({ ...sts, podManagementPolicy: "Parallel" }, pods, NOW, budget), [], "Parallel replaces such pods by itself");
        assert.deepStrictEqual(stuckPods({ ...sts, updateStrategy: "OnDelete" }, pods, NOW, budget), [], "OnDelete: the user replaces pods");
        assert.deepStrictEqual(stuckPods({ ...sts, updateRevision: undefined }, pods, NOW, budget), [], "no update revision reported yet");
    });

    it("a pod of an old revision whose image will not come (ErrImageNeverPull, ImagePullBackOff, …) is stuck at once; one on the update revision never", () => {
        const sts: LiveRollout = { name: "visits", podManagementPolicy: "OrderedReady", updateStrategy: "RollingUpdate", partition: 0, updateRevision: "good" };
        const budget = { runningSeconds: 15, otherwiseSeconds: 125 };
        const pods = [
            pod({ name: "visits-0", readySinceMs: NOW - 1_000, imageBlocked: "ErrImageNeverPull" }),
            pod({ name: "visits-1", revision: "good", readySinceMs: NOW - 600_000, imageBlocked: "ImagePullBackOff" }),
        ];
        assert.deepStrictEqual(
            stuckPods(sts, pods, NOW, budget).map((p) => p.name),
            ["visits-0"],
        );
        const blocked = livePod({
            metadata: { name: "visits-0" },
            status: { containerStatuses: [{ state: { waiting: { reason: "ErrImageNeverPull", message: "not present" } } }] },
        });
        assert.strictEqual(blocked.imageBlocked, "ErrImageNeverPull");
        const crashing = livePod({ metadata: { name: "visits-0" }, status: { containerStatuses: [{ state: { waiting: { reason: "CrashLoopBackOff" } } }] } });
        assert.strictEqual(crashing.imageBlocked, undefined, "a crash loop keeps its budget");
    });

    it("watches as long as up may wait for the app: the StatefulSet's timeouts, or Helm's --wait timeout", () => {
        assert.strictEqual(watchSeconds(devApp(0)), Math.max(statefulSetTimeouts(devApp(0)).createSeconds, statefulSetTimeouts(devApp(0)).updateSeconds));
        assert.strictEqual(watchSeconds(devApp(1)), devApp(1).helm.timeoutSeconds, "litecoin is a Helm release");
    });

    it("reads a pod from the API's JSON: revision label, Ready condition and its last change, its containers' start, deletionTimestamp", () => {
        const p = livePod({
            metadata: { name: "visits-1", uid: "u", labels: { "controller-revision-hash": "visits-abc" }, deletionTimestamp: "2026-12-03T12:00:00Z" },
            status: {
                startTime: "2026-12-03T11:00:00Z",
                conditions: [{ type: "Ready", status: "False", lastTransitionTime: "2026-12-03T11:30:00Z" }],
                containerStatuses: [
                    { state: { running: { startedAt: "2026-12-03T11:01:00Z" } } },
                    { state: { running: { startedAt: "2026-12-03T11:02:00Z" } } },
                ],
            },
        });
        assert.deepStrictEqual(p, {
            name: "visits-1",
            uid: "u",
            revision: "visits-abc",
            ready: false,
            readySinceMs: Date.parse("2026-12-03T11:30:00Z"),
            runningSinceMs: Date.parse("2026-12-03T11:02:00Z"),
            terminating: true,
        });
        const waiting = livePod({ metadata: { name: "visits-1" }, status: { containerStatuses: [{ state: { running: {} } }, { state: { waiting: {} } }] } });
        assert.strictEqual(waiting.runningSinceMs, undefined, "a container not running: no running time");
    });

    it("the watcher deletes a stuck pod once, reports it, and stops looking when the StatefulSet's step is done", async function () {
        this.timeout(20_000);
        const requests: string[] = [];
        const stuck = {
            metadata: { name: "visits-1", uid: "p1", labels: { "controller-revision-hash": "bad" }, ownerReferences: [{ uid: "s1" }] },
            status: { conditions: [{ type: "Ready", status: "False", lastTransitionTime: "2026-01-01T00:00:00Z" }] },
        };
        const other = { ...stuck, metadata: { ...stuck.metadata, name: "other-1", uid: "p2", ownerReferences: [{ uid: "another-set" }] } };
        const bodies: string[] = [];
        const server = http.createServer((req, res) => {
            requests.push(`${req.method} ${req.url}`);
            req.on("data", (c: Buffer) => bodies.push(c.toString("utf8")));
            const json = (body: unknown): void => void res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
            if (req.url === "/apis/apps/v1/namespaces/ns/statefulsets/visits")
                return json({
                    metadata: { uid: "s1" },
                    spec: { podManagementPolicy: "OrderedReady", selector: { matchLabels: { "app.kubernetes.io/name": "visits" } } },
                    status: { updateRevision: "good" },
                });
            if (req.url?.startsWith("/api/v1/namespaces/ns/pods?labelSelector=")) return json({ items: [stuck, other] });
            if (req.method === "DELETE") return json({ kind: "Status" });
            return void res.writeHead(404).end("{}");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const conn = loopbackConnection(server);
            let finish!: () => void;
            const until = new Promise<void>((r) => (finish = r));
            const logged: string[] = [];
            recoverStuckRollout(conn, "ns", devApp(0), until, (m) => logged.push(m));
            await new Promise((r) => setTimeout(r, 5_500));
            finish();
            await new Promise((r) => setTimeout(r, 50));
            const seen = requests.length;
            await new Promise((r) => setTimeout(r, 2_500));
            assert.deepStrictEqual(
                requests.filter((r) => r.startsWith("DELETE")),
                ["DELETE /api/v1/namespaces/ns/pods/visits-1"],
                "the stuck pod of this StatefulSet, once; not the other StatefulSet's pod",
            );
            assert.deepStrictEqual(
                JSON.parse(bodies.join("")),
                { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: "p1" } },
                "only if still the same pod",
            );
            assert.strictEqual(logged.length, 1);
            assert.match(
                logged[0],
                /^deleted pod visits-1 of the OrderedReady StatefulSet visits: not Ready for over \d+ s on revision bad while the StatefulSet updates to good/,
            );
            assert.strictEqual(requests.length, seen, "no look after the step is done");
        } finally {
            server.close();
        }
    });
    it("a StatefulSet the same up is still creating (HTTP 404) is no error: nothing reported, looked for again", async function () {
        this.timeout(20_000);
        const requests: string[] = [];
        const server = http.createServer((req, res) => {
            requests.push(`${req.method} ${req.url}`);
            res.writeHead(404).end('{"kind":"Status","code":404}');
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const conn = loopbackConnection(server);
            let finish!: () => void;
            const logged: string[] = [];
            recoverStuckRollout(conn, "ns", devApp(0), new Promise<void>((r) => (finish = r)), (m) => logged.push(m));
            await new Promise((r) => setTimeout(r, 5_500));
            finish();
            assert.ok(requests.filter((r) => r === "GET /apis/apps/v1/namespaces/ns/statefulsets/visits").length >= 2, requests.join("\n"));
            assert.deepStrictEqual(logged, [], "no 'cannot look after the rollout' warning for a StatefulSet that is not there yet");
        } finally {
            server.close();
        }
    });
});

/**
 * The rollout watch (lib/rollout-watch.ts): when a rollout counts as done, which events and container states count as
 * reasons a pod cannot start, and the watch itself against a loopback stand-in for the API server that plays the
 * provider v4.25.0 race (status still of the old generation). What this does not prove: that the engine really waits
 * for the stack output (tests/e2e/real-node.e2e.ts checks the StatefulSet right after `up` returns, with no
 * `kubectl rollout status` in between) or that the reasons reach the user's terminal (tests/e2e/stacks.e2e.ts).
 */
import * as assert from "assert";
import * as http from "http";
import { parseStackConfig } from "../config/parse";
import { clusterConnection } from "../lib/kube-client";
import { belongsToApp, blockingReasons, rolloutPending, RolloutState, rolloutState, watchRollout } from "../lib/rollout-watch";
import { stackFileConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const done: RolloutState = {
    generation: 3,
    observedGeneration: 3,
    replicas: 2,
    readyReplicas: 2,
    updatedReplicas: 2,
    currentRevision: "b",
    updateRevision: "b",
    strategy: "RollingUpdate",
    partition: 0,
};

function devApp(i: number) {
    const raw: Record<string, Any> = {};
    for (const [k, v] of Object.entries(stackFileConfig("dev"))) if (k.startsWith("stateful-apps:")) raw[k.replace(/^stateful-apps:/, "")] = v;
    return parseStackConfig(raw, () => false).apps[i];
}

describe("rollout watch: when is a StatefulSet rolled out (lib/rollout-watch.ts)", () => {
    it("done only with the generation observed, every replica updated and Ready, and the update revision current", () => {
        assert.strictEqual(rolloutPending(done), undefined);
        assert.match(rolloutPending({ ...done, observedGeneration: 2 })!, /not yet observed generation 3/);
        assert.match(rolloutPending({ ...done, updatedReplicas: 1 })!, /1 of 2 pods on the update revision b/);
        assert.match(rolloutPending({ ...done, readyReplicas: 1 })!, /1 of 2 pods Ready/);
        assert.match(rolloutPending({ ...done, currentRevision: "a" })!, /current revision a is not yet the update revision b/);
    });

    it("a partitioned canary: only observed; OnDelete: observed and Ready, whatever the revisions", () => {
        assert.strictEqual(rolloutPending({ ...done, partition: 1, updatedReplicas: 1, currentRevision: "a" }), undefined);
        assert.ok(rolloutPending({ ...done, partition: 1, observedGeneration: 2 }));
        assert.strictEqual(rolloutPending({ ...done, strategy: "OnDelete", updatedReplicas: 0, currentRevision: "a" }), undefined);
        assert.ok(rolloutPending({ ...done, strategy: "OnDelete", readyReplicas: 0 }));
    });

    it("reads the API's JSON, with the API server's defaults", () => {
        assert.deepStrictEqual(rolloutState({ metadata: { generation: 1 }, spec: {}, status: {} }), {
            generation: 1,
            observedGeneration: 0,
            replicas: 1,
            readyReplicas: 0,
            updatedReplicas: 0,
            strategy: "RollingUpdate",
            partition: 0,
        });
    });
});

describe("rollout watch: reasons a pod cannot start", () => {
    const since = Date.parse("2026-12-05T10:00:00Z");
    const event = (name: string, kind: string, reason: string, message: string, at = "2026-12-05T10:00:05Z", type = "Warning") => ({
        type,
        reason,
        message,
        lastTimestamp: at,
        involvedObject: { kind, name },
    });

    it("the app's StatefulSet, pods and PVCs only, by name", () => {
        assert.ok(belongsToApp("visits", "visits"));
        assert.ok(belongsToApp("visits-2", "visits"));
        assert.ok(belongsToApp("data-visits-0", "visits"));
        assert.ok(!belongsToApp("visits2-0", "visits"));
        assert.ok(!belongsToApp("data-visits2-0", "visits"));
        assert.ok(!belongsToApp("visits-metrics", "visits"));
    });

    it("Warning events of the blocking reasons since the watch began, and containers waiting in a blocking state; each once", () => {
        const events = [
            event("visits-2", "Pod", "FailedScheduling", "0/1 nodes are available: 1 node(s) had untolerated taint."),
            event("visits-2", "Pod", "FailedScheduling", "0/1 nodes are available: 1 node(s) had untolerated taint."),
            event("data-visits-2", "PersistentVolumeClaim", "ProvisioningFailed", 'storageclass.storage.k8s.io "fats" not found'),
            event(
                "visits",
                "StatefulSet",
                "FailedCreate",
                'create Pod visits-2 in StatefulSet visits failed error: pods "visits-2" is forbidden: exceeded quota',
            ),
            event("visits-1", "Pod", "Unhealthy", "Readiness probe failed"),
            event("visits-1", "Pod", "FailedScheduling", "an old one", "2026-12-05T09:00:00Z"),
            event("visits-1", "Pod", "Scheduled", "assigned", "2026-12-05T10:00:05Z", "Normal"),
            event("litecoin-0", "Pod", "FailedScheduling", "not ours"),
        ];
        const pods = [
            {
                metadata: { name: "visits-0" },
                status: { containerStatuses: [{ name: "app", state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image x" } } }] },
            },
            { metadata: { name: "visits-1" }, status: { containerStatuses: [{ name: "app", state: { waiting: { reason: "ContainerCreating" } } }] } },
        ];
        assert.deepStrictEqual(blockingReasons(events, pods, "visits", since), [
            "Pod visits-2: FailedScheduling: 0/1 nodes are available: 1 node(s) had untolerated taint.",
            'PersistentVolumeClaim data-visits-2: ProvisioningFailed: storageclass.storage.k8s.io "fats" not found',
            'StatefulSet visits: FailedCreate: create Pod visits-2 in StatefulSet visits failed error: pods "visits-2" is forbidden: exceeded quota',
            "Pod visits-0: container app waits in ImagePullBackOff: Back-off pulling image x",
        ]);
    });

    it("names a pod that is not Ready because its node is not (kubelet gone): the node, since when, why, and that the StatefulSet will not start it elsewhere; and a pod unschedulable since before the watch, by its condition", () => {
        const pod = (name: string, node: string, ready: string) => ({
            metadata: { name },
            spec: { nodeName: node },
            status: { conditions: [{ type: "Ready", status: ready }] },
        });
        const node = (name: string, ready: string) => ({
            metadata: { name },
            status: {
                conditions: [
                    {
                        type: "Ready",
                        status: ready,
                        reason: ready === "True" ? "KubeletReady" : "NodeStatusUnknown",
                        message: ready === "True" ? "kubelet is posting ready status" : "Kubelet stopped posting node status.",
                        lastTransitionTime: "2026-12-05T10:00:00Z",
                    },
                ],
            },
        });
        const nodes = new Map([
            ["node-a", node("node-a", "True")],
            ["node-c", node("node-c", "Unknown")],
        ]);
        const pods = [
            pod("visits-0", "node-a", "False"),
            pod("visits-1", "node-c", "True"),
            pod("visits-2", "node-c", "False"),
            pod("visits-3", "node-x", "False"),
            // Pending since before the up: its event is older than the watch, its condition says why.
            {
                metadata: { name: "visits-4" },
                status: {
                    phase: "Pending",
                    conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available." }],
                },
            },
        ];
        assert.deepStrictEqual(blockingReasons([], pods, "visits", since, nodes), [
            "Pod visits-2: its node node-c is NotReady since 2026-12-05T10:00:00Z (NodeStatusUnknown: Kubelet stopped posting node status.); " +
                "the StatefulSet will not start this member anywhere else until the node returns or the pod is deleted " +
                "(kubectl delete pod --force only when the node is gone for good: two pods of one identity must never run)",
            "Pod visits-4: FailedScheduling: 0/3 nodes are available.",
        ]);
    });
});

describe("rollout watch against a loopback API server", () => {
    /** Serves a StatefulSet whose status catches up with generation 2 after `lagMs`, and one FailedScheduling event. */
    function server(lagMs: number, generation = 2): Promise<{ server: http.Server; requests: string[] }> {
        const started = Date.now();
        const requests: string[] = [];
        const s = http.createServer((req, res) => {
            requests.push(req.url ?? "");
            const caughtUp = Date.now() - started >= lagMs;
            let body: Any = { items: [] };
            if (/statefulsets\/visits$/.test(req.url ?? "")) {
                body = {
                    metadata: { name: "visits", generation },
                    spec: { replicas: 2 },
                    status: caughtUp
                        ? { observedGeneration: generation, readyReplicas: 2, updatedReplicas: 2, currentRevision: "new", updateRevision: "new" }
                        : { observedGeneration: generation - 1, readyReplicas: 2, updatedReplicas: 2, currentRevision: "old", updateRevision: "old" },
                };
            } else if (/\/events\?/.test(req.url ?? "")) {
                body = {
                    items: [
                        {
                            type: "Warning",
                            reason: "FailedScheduling",
                            message: "0/1 nodes are available",
                            lastTimestamp: new Date().toISOString(),
                            involvedObject: { kind: "Pod", name: "visits-1" },
                        },
                    ],
                };
            }
            res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
        });
        return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve({ server: s, requests })));
    }
    const connection = (s: http.Server) => {
        const port = (s.address() as { port: number }).port;
        const text = `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n`;
        return clusterConnection([{ dir: "/", text }], "x");
    };

    it("waits while the status is of the previous generation (the provider v4.25.0 race), reporting the reason once", async () => {
        const { server: s } = await server(4_500);
        try {
            const logged: string[] = [];
            const t0 = Date.now();
            await watchRollout(connection(s), "ns", devApp(0), 1, (m) => logged.push(m)).rolledOut();
            const waited = Date.now() - t0;
            assert.ok(waited >= 4_000, `returned after ${waited} ms, before the controller observed generation 2`);
            assert.deepStrictEqual(logged, ["waiting for the StatefulSet visits: Pod visits-1: FailedScheduling: 0/1 nodes are available"]);
        } finally {
            s.close();
        }
    });

    it("returns at once when this up did not change the StatefulSet (its generation is the pre-flight one)", async () => {
        const { server: s } = await server(60_000, 5);
        try {
            const t0 = Date.now();
            await watchRollout(connection(s), "ns", devApp(0), 5, () => undefined).rolledOut();
            assert.ok(Date.now() - t0 < 1_500);
        } finally {
            s.close();
        }
    });
});

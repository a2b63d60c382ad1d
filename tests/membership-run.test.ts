/**
 * lib/membership-run.ts against a fake API server (a loopback HTTP server that keeps Jobs in a map and answers as the
 * API server does): a fresh run, a Job an interrupted `up` left (succeeded: not run again; failed: deleted and run
 * again), and a failure that quotes the pod's log. What it does not prove: the real Job controller's timing (the
 * real node runs the steps in tests/e2e/datastore.e2e.ts).
 */
import * as assert from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import type { JobObject } from "../lib/jobs";
import { runStepJob } from "../lib/membership-run";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const JOB: JobObject = { metadata: { name: "etcd-scale-down-0123abcd", labels: {}, annotations: {} }, spec: { activeDeadlineSeconds: 30, template: {} } };

/** A fake API server for one namespace's Jobs; `outcome` decides what a created Job becomes on its first GET. */
async function fakeApi(jobs: Map<string, Any>, outcome: () => "succeeded" | "failed"): Promise<{ url: URL; requests: string[]; close: () => void }> {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", (): void => {
            requests.push(`${req.method} ${req.url}`);
            const send = (status: number, obj: unknown, type = "application/json"): void =>
                void res.writeHead(status, { "Content-Type": type }).end(typeof obj === "string" ? obj : JSON.stringify(obj));
            const one = /^\/apis\/batch\/v1\/namespaces\/ring\/jobs\/([^/?]+)$/.exec(req.url ?? "");
            if (req.method === "POST" && req.url === "/apis/batch/v1/namespaces/ring/jobs") {
                const job = JSON.parse(body);
                job.metadata.uid = `uid-${jobs.size}-${Date.now()}`;
                jobs.set(job.metadata.name, job);
                return send(201, job);
            }
            if (one && req.method === "GET") {
                const job = jobs.get(one[1]);
                if (!job) return send(404, { kind: "Status", code: 404 });
                if (!job.status) {
                    job.status =
                        outcome() === "succeeded"
                            ? { succeeded: 1 }
                            : {
                                  failed: 1,
                                  conditions: [
                                      {
                                          type: "Failed",
                                          status: "True",
                                          reason: "BackoffLimitExceeded",
                                          message: "Job has reached the specified backoff limit",
                                      },
                                  ],
                              };
                }
                return send(200, job);
            }
            if (one && req.method === "DELETE") {
                jobs.delete(one[1]);
                return send(200, { kind: "Status", status: "Success" });
            }
            if (req.method === "GET" && req.url?.startsWith("/api/v1/namespaces/ring/pods?labelSelector=")) {
                return send(200, { items: [{ metadata: { name: `${JOB.metadata.name}-x1` } }] });
            }
            if (req.method === "GET" && req.url?.startsWith(`/api/v1/namespaces/ring/pods/${JOB.metadata.name}-x1/log`)) {
                return send(200, "Error: etcdserver: re-configuration failed due to not enough started members\n", "text/plain");
            }
            send(404, { kind: "Status", code: 404 });
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    return { url: new URL(`http://127.0.0.1:${port}`), requests, close: () => server.close() };
}

describe("membership step Jobs (lib/membership-run.ts) against a fake API server", () => {
    it("creates the Job, waits for it, deletes it once it succeeded", async () => {
        const jobs = new Map<string, Any>();
        const api = await fakeApi(jobs, () => "succeeded");
        const said: string[] = [];
        try {
            await runStepJob({ server: api.url, insecure: false }, "ring", JOB, (m) => said.push(m));
        } finally {
            api.close();
        }
        assert.deepStrictEqual(
            api.requests.map((r) => r.split(" ")[0]),
            ["GET", "POST", "GET", "DELETE"],
        );
        assert.strictEqual(jobs.size, 0, "deleted after it succeeded");
        assert.match(said.join("\n"), /Job etcd-scale-down-0123abcd started\nJob etcd-scale-down-0123abcd succeeded after/);
    });

    it("a Job an interrupted up left that succeeded is not run again; one that failed is deleted and run again", async () => {
        const jobs = new Map<string, Any>([[JOB.metadata.name, { ...JOB, metadata: { ...JOB.metadata, uid: "old" }, status: { succeeded: 1 } }]]);
        const api = await fakeApi(jobs, () => "succeeded");
        try {
            await runStepJob({ server: api.url, insecure: false }, "ring", JOB, () => undefined);
            assert.ok(!api.requests.some((r) => r.startsWith("POST")), "not created again");
            jobs.set(JOB.metadata.name, {
                ...JOB,
                metadata: { ...JOB.metadata, uid: "old" },
                status: { conditions: [{ type: "Failed", status: "True", reason: "DeadlineExceeded" }] },
            });
            api.requests.length = 0;
            const said: string[] = [];
            await runStepJob({ server: api.url, insecure: false }, "ring", JOB, (m) => said.push(m));
            assert.match(said[0], /failed in an earlier run: deleting it and running it again/);
            assert.ok(
                api.requests.some((r) => r.startsWith("POST")),
                "created again",
            );
        } finally {
            api.close();
        }
    });

    it("a failed Job fails the step with its reason and its pod's last log lines, and is kept", async () => {
        const jobs = new Map<string, Any>();
        const api = await fakeApi(jobs, () => "failed");
        try {
            await assert.rejects(
                runStepJob({ server: api.url, insecure: false }, "ring", JOB, () => undefined),
                /Job ring\/etcd-scale-down-0123abcd failed \(BackoffLimitExceeded: Job has reached the specified backoff limit\); it is kept for kubectl logs\.\n--- pod etcd-scale-down-0123abcd-x1:\nError: etcdserver: re-configuration failed/,
            );
            assert.ok(jobs.has(JOB.metadata.name), "kept");
        } finally {
            api.close();
        }
    });
});

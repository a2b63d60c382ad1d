/**
 * Test helpers for the local kwok-backed cluster (scripts/cluster, docs/LOCAL-CLUSTER.md): start a named
 * cluster, run kubectl against it, stop it. Used by the opt-in cluster tests (STATEFUL_APPS_CLUSTER=1).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

/** Whether the cluster tests run (`npm run test:all` and .ci/run set STATEFUL_APPS_CLUSTER=1). */
export const CLUSTER_TESTS_ENABLED = process.env.STATEFUL_APPS_CLUSTER === "1";

const SCRIPT = path.join(ROOT, "scripts", "cluster");

/** A command's exit status and output. */
export interface RunResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** A running local cluster. */
export class LocalCluster {
    /** Path of the cluster's kubeconfig (never ~/.kube/config). */
    kubeconfig = "";
    /** Our kubectl (the pinned version, not /usr/bin/kubectl). */
    kubectlPath = "";
    private readonly env: NodeJS.ProcessEnv;

    /** @param name CLUSTER_NAME: tests use their own names so a developer's `stateful-apps` cluster is never touched. */
    constructor(readonly name: string) {
        this.env = { ...process.env, CLUSTER_NAME: name };
    }

    /** Runs a command with CLUSTER_NAME set (and `env`, when given). */
    run(cmd: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): RunResult {
        const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...this.env, ...env }, input, maxBuffer: 64 << 20 });
        if (r.error) {
            throw new Error(`cannot run ${cmd}: ${r.error.message}`);
        }
        return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    }

    /**
     * Starts the cluster from scratch (a killed run may have left it behind), with `nodes` fake nodes over
     * zone-a/b/c, and with `realNodes` (1..3) also that many real nodes of scripts/real-node, one per zone
     * (containers really run there); `realNode` is `realNodes: 1`; `networkPolicies` makes them enforce NetworkPolicies.
     */
    up(nodes = 3, opts: { realNode?: boolean; realNodes?: number; networkPolicies?: boolean } = {}): void {
        const down = this.run("bash", [SCRIPT, "down"]);
        assert.strictEqual(down.status, 0, `scripts/cluster down failed:\n${down.stderr}`);
        const real = opts.realNodes ?? (opts.realNode ? 1 : 0);
        const up = this.run("bash", [
            SCRIPT,
            "up",
            "--nodes",
            String(nodes),
            ...(real > 0 ? ["--real-nodes", String(real)] : []),
            ...(opts.networkPolicies ? ["--network-policies"] : []),
        ]);
        assert.strictEqual(up.status, 0, `scripts/cluster up failed:\n${up.stderr}`);
        this.kubeconfig = up.stdout.trim();
        assert.ok(fs.existsSync(this.kubeconfig), `no kubeconfig at ${this.kubeconfig}`);
        this.kubectlPath = path.join(this.run("bash", [SCRIPT, "bin-dir"]).stdout.trim(), "kubectl");
    }

    /** Stops the cluster and deletes its state. */
    down(): void {
        const down = this.run("bash", [SCRIPT, "down"]);
        assert.strictEqual(down.status, 0, `scripts/cluster down failed:\n${down.stderr}`);
    }

    /** kubectl against this cluster, without asserting success. */
    kubectlResult(args: string[], input?: string): RunResult {
        return this.run(this.kubectlPath, ["--kubeconfig", this.kubeconfig, ...args], input);
    }

    /** kubectl against this cluster; fails the test with kubectl's output unless it exits 0. */
    kubectl(args: string[], input?: string): string {
        const r = this.kubectlResult(args, input);
        assert.strictEqual(r.status, 0, `kubectl ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
        return r.stdout;
    }

    /** `kubectl get … -o json`, parsed. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    getJson(args: string[]): any {
        return JSON.parse(this.kubectl(["get", ...args, "-o", "json"]));
    }
}

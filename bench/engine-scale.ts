/**
 * bench/engine-scale: `pulumi up` and a no-change `pulumi preview` on the real engine (deploy/engine.ts: CLI,
 * kubernetes plugin, index.ts as the Automation API inline program in this process) for stacks of 1, 10 and 50
 * apps (copies of the dev stack's `visits`, 1 replica each), on a kwok cluster of its own. kwok runs no container,
 * so this measures the engine, the provider and the control plane, not the apps.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { engineSettings, ensureToolchain, openStack } from "../deploy/engine";
import { benchStackText, devVisitsConfig, environment, fmtStats, loadavg, log, parseArgs, positiveInt, ROOT, stats, tempDir, writeResult } from "./lib/common";

const USAGE = `
Usage: npx ts-node --transpile-only bench/engine-scale.ts [OPTIONS]

For each N in --counts and each repeat, in a fresh namespace and a fresh file:// backend: 'pulumi up' of a stack
of N copies of the dev stack's 'visits' app (1 replica each) until every await finished, then a no-change
'preview', each timed, with the RSS of this process (it runs the program) after each. Counts are interleaved
round by round. Exit codes: 0 ok; 2 usage; 1 a run failed. Result: bench/results/engine-scale.json (or --out).
`;

const opts = parseArgs(USAGE, {
    counts: { default: "1,10,50", help: "Numbers of apps in the stack." },
    repeat: { default: "1", help: "Samples per count." },
    "cluster-name": { default: "stateful-apps-bench", help: "CLUSTER_NAME for scripts/cluster." },
    out: { help: "Result file (default bench/results/engine-scale.json)." },
});
const counts = opts.counts.split(",").map((c) => positiveInt("counts", c));
const repeat = positiveInt("repeat", opts.repeat);

const clusterScript = path.join(ROOT, "scripts", "cluster");
const clusterEnv = { ...process.env, CLUSTER_NAME: opts["cluster-name"] };
const up = spawnSync("bash", [clusterScript, "up", "--nodes", "6"], { env: clusterEnv, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
if (up.status !== 0) {
    process.stderr.write(`bench/engine-scale: scripts/cluster up exited ${up.status}\n`);
    process.exit(1);
}
const kubeconfig = up.stdout.trim().split("\n").pop() ?? "";
const kubectl = path.join(execFileSync("bash", [clusterScript, "bin-dir"], { env: clusterEnv, encoding: "utf8" }).trim(), "kubectl");
const k = (args: string[]) => execFileSync(kubectl, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8" });
const visits = devVisitsConfig();
const toolchain = ensureToolchain();
const state = tempDir("engine-scale");

interface Sample {
    upMs: number;
    previewMs: number;
    resources: number;
    rssMiB: number;
    load: number;
}
const samples: Record<number, Sample[]> = Object.fromEntries(counts.map((n) => [n, []]));

async function sample(n: number, round: number): Promise<Sample> {
    const ns = `engine-scale-${n}-${round}`;
    k(["create", "namespace", ns]);
    const apps = Array.from({ length: n }, (_, i) => ({ ...visits, name: `visits-${i}`, replicas: 1 }));
    const text = benchStackText(`kwok-${opts["cluster-name"]}`, ns, apps);
    const settings = engineSettings({ STATEFUL_APPS_STATE_DIR: path.join(state, ns), HOME: process.env.HOME });
    const s = await openStack("dev", { settings, toolchain, kubeconfig, stackFileText: text });
    const load = loadavg().one;
    let t0 = process.hrtime.bigint();
    const r = await s.stack.up({ configFile: s.configFile, color: "never" });
    const upMs = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    await s.stack.preview({ configFile: s.configFile, expectNoChanges: true, color: "never" });
    const previewMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // Not timed; waited for, so that one sample's clean-up (its PVCs, its pods) does not slow the next.
    k(["delete", "namespace", ns, "--wait=true", "--timeout=600s"]);
    return { upMs, previewMs, resources: r.summary.resourceChanges?.create ?? 0, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), load };
}

async function run(): Promise<void> {
    try {
        for (let round = 0; round < repeat; round++) {
            for (const n of counts) {
                const x = await sample(n, round);
                samples[n].push(x);
                log(
                    `round ${round + 1}/${repeat} apps ${n}: up ${x.upMs.toFixed(0)} ms (${x.resources} resources), no-change preview ${x.previewMs.toFixed(0)} ms, RSS ${x.rssMiB} MiB`,
                );
            }
        }
    } finally {
        spawnSync("bash", [clusterScript, "down"], { env: clusterEnv, stdio: ["ignore", "ignore", "inherit"] });
        fs.rmSync(state, { recursive: true, force: true });
    }
    const results = counts.map((n) => {
        const xs = samples[n];
        const r = {
            apps: n,
            resources: xs[0].resources,
            upMs: stats(xs.map((x) => x.upMs)),
            previewMs: stats(xs.map((x) => x.previewMs)),
            rssMiB: Math.max(...xs.map((x) => x.rssMiB)),
            samples: xs,
        };
        console.log(`apps ${String(n).padEnd(3)} up ${fmtStats(r.upMs)}; preview ${fmtStats(r.previewMs)}; RSS ≤ ${r.rssMiB} MiB`);
        return r;
    });
    const file = writeResult(
        "engine-scale",
        { bench: "engine-scale", environment: environment(), params: { counts, repeat }, status: "measured", results },
        opts.out,
    );
    log(`wrote ${path.relative(ROOT, file)}`);
}

run().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
});

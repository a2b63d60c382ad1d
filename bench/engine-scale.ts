/**
 * bench/engine-scale: `pulumi up` and a no-change `pulumi preview` on the real engine (deploy/engine.ts: CLI,
 * kubernetes plugin, index.ts as the Automation API inline program in this process) for stacks of 1, 10 and 50
 * apps (copies of the dev stack's `visits`, 1 replica each), on a kwok cluster of its own. kwok runs no container,
 * so this measures the engine, the provider and the control plane, not the apps. For each operation it also
 * records where the time goes (bench/lib/engine-events.ts) and the peak resident memory of the program's process,
 * the engine (Pulumi CLI) and the provider (bench/lib/processes.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { engineSettings, ensureToolchain, openStack } from "../deploy/engine";
import { eventRecorder, Phases, phases } from "./lib/engine-events";
import { PeakRss, sampleUsage, Usage } from "./lib/processes";
import {
    benchStackText,
    committedStackText,
    devVisitsConfig,
    environment,
    fmtStats,
    loadavg,
    log,
    parseArgs,
    positiveInt,
    QUIET_OPTIONS,
    quietFromOptions,
    startBenchCluster,
    ROOT,
    stats,
    tempDir,
    writeResult,
} from "./lib/common";

const USAGE = `
Usage: npx ts-node --transpile-only bench/engine-scale.ts [OPTIONS]

For each N in --counts and each repeat, in a fresh namespace and a fresh file:// backend: 'pulumi up' of a stack
of N copies of the dev stack's 'visits' app (1 replica each) until every await finished, then a no-change
'preview', each timed and split into phases from the engine's events, with the peak RSS of the program's process
(this one), the engine (pulumi) and the provider (pulumi-resource-kubernetes) during each. Counts are interleaved
round by round. Exit codes: 0 ok; 2 usage; 1 a run failed. Result: bench/results/engine-scale.json (or --out).
`;

const opts = parseArgs(USAGE, {
    counts: { default: "1,10,50", help: "Numbers of apps in the stack." },
    stacks: { default: "dev,prod", help: "Committed stacks to `up` once, then preview (no change) --previews times; '' for none." },
    previews: { default: "3", help: "No-change previews per committed stack." },
    repeat: { default: "1", help: "Samples per count." },
    "cluster-name": { default: "stateful-apps-bench", help: "CLUSTER_NAME for scripts/cluster." },
    ...QUIET_OPTIONS,
    out: { help: "Result file (default bench/results/engine-scale.json)." },
});
const counts = opts.counts.split(",").map((c) => positiveInt("counts", c));
const stackNames = opts.stacks.split(",").filter(Boolean);
const previews = positiveInt("previews", opts.previews);
const repeat = positiveInt("repeat", opts.repeat);

const quiet = quietFromOptions(opts);
const started = startBenchCluster(opts["cluster-name"], 6);
if (typeof started === "string") {
    process.stderr.write(`bench/engine-scale: ${started}\n`);
    process.exit(1);
}
const cluster = started;
const { kubeconfig, k } = cluster;
const visits = devVisitsConfig();
const toolchain = ensureToolchain();
const state = tempDir("engine-scale");

interface Sample {
    upMs: number;
    previewMs: number;
    resources: number;
    rssMiB: number;
    load: number;
    upPhases: Phases;
    previewPhases: Phases;
    upUsage: Usage;
    previewUsage: Usage;
}

/** Runs `op` with an event recorder and a process sampler; its wall time, phases, CPU and peak memory. */
async function measured(op: (onEvent: ReturnType<typeof eventRecorder>["onEvent"]) => Promise<unknown>): Promise<{ ms: number; phases: Phases; usage: Usage }> {
    const rec = eventRecorder();
    const sampler = sampleUsage();
    const t0 = process.hrtime.bigint();
    rec.start();
    await op(rec.onEvent);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, phases: phases(rec.events, ms), usage: sampler.stop() };
}

/** Log text of an operation's phases, peak memory and CPU. */
const fmtPhases = (p: Phases) =>
    `engine start ${p.engineStartMs}, provider ready ${p.providerReadyMs}, first object ${p.firstResourceMs}, last step done ${p.lastOutputsMs}, summary ${p.summaryMs} ms`;
const fmtPeak = (m: PeakRss) => `peak RSS program ${m.program}, engine ${m.engine}, provider ${m.provider} MiB`;
const fmtCpu = (u: Usage) =>
    `CPU program ${u.cpuSeconds.program}, engine ${u.cpuSeconds.engine}, provider ${u.cpuSeconds.provider} s, machine ${Math.round(u.machineBusy * 100)}% busy`;
const samples: Record<number, Sample[]> = Object.fromEntries(counts.map((n) => [n, []]));

async function sample(n: number, round: number): Promise<Sample> {
    const ns = `engine-scale-${n}-${round}`;
    k(["create", "namespace", ns]);
    const apps = Array.from({ length: n }, (_, i) => ({ ...visits, name: `visits-${i}`, replicas: 1 }));
    const text = benchStackText(`kwok-${opts["cluster-name"]}`, ns, apps);
    const settings = engineSettings({ STATEFUL_APPS_STATE_DIR: path.join(state, ns), HOME: process.env.HOME });
    const s = await openStack("dev", { settings, toolchain, kubeconfig, stackFileText: text });
    const load = loadavg().one;
    let created = 0;
    const u = await measured(async (onEvent) => {
        created = (await s.stack.up({ configFile: s.configFile, color: "never", onEvent })).summary.resourceChanges?.create ?? 0;
    });
    const p = await measured((onEvent) => s.stack.preview({ configFile: s.configFile, expectNoChanges: true, color: "never", onEvent }));
    // Not timed; waited for, so that one sample's clean-up (its PVCs, its pods) does not slow the next.
    k(["delete", "namespace", ns, "--wait=true", "--timeout=600s"]);
    return {
        upMs: u.ms,
        previewMs: p.ms,
        resources: created,
        rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
        load,
        upPhases: u.phases,
        previewPhases: p.phases,
        upUsage: u.usage,
        previewUsage: p.usage,
    };
}

/** The largest peak per role over samples. */
function peakOf(peaks: PeakRss[]): PeakRss {
    return {
        program: Math.max(...peaks.map((p) => p.program)),
        engine: Math.max(...peaks.map((p) => p.engine)),
        provider: Math.max(...peaks.map((p) => p.provider)),
        other: Math.max(...peaks.map((p) => p.other)),
    };
}

/** A committed stack (Pulumi.<stack>.yaml, context pointed here): `up` from empty, then no-change previews. */
interface StackSample {
    stack: string;
    upMs: number;
    upPhases: Phases;
    upUsage: Usage;
    previewMs: number[];
    previewPhases: Phases;
    previewUsage: Usage;
}

async function stackSample(stack: string): Promise<StackSample> {
    const text = committedStackText(stack, `kwok-${opts["cluster-name"]}`);
    const settings = engineSettings({ STATEFUL_APPS_STATE_DIR: path.join(state, `stack-${stack}`), HOME: process.env.HOME });
    const s = await openStack(stack, { settings, toolchain, kubeconfig, stackFileText: text });
    const u = await measured((onEvent) => s.stack.up({ configFile: s.configFile, color: "never", onEvent }));
    const ps = [];
    for (let i = 0; i < previews; i++) {
        ps.push(await measured((onEvent) => s.stack.preview({ configFile: s.configFile, expectNoChanges: true, color: "never", onEvent })));
    }
    const last = ps[ps.length - 1];
    return { stack, upMs: u.ms, upPhases: u.phases, upUsage: u.usage, previewMs: ps.map((p) => p.ms), previewPhases: last.phases, previewUsage: last.usage };
}

async function run(): Promise<void> {
    const stackSamples: StackSample[] = [];
    try {
        for (const stack of stackNames) {
            const x = await stackSample(stack);
            stackSamples.push(x);
            log(
                `stack ${stack}: up ${x.upMs.toFixed(0)} ms; no-change previews ${x.previewMs.map((m) => m.toFixed(0)).join(", ")} ms (last: ${fmtPhases(x.previewPhases)}; ${fmtPeak(x.previewUsage.peakMiB)}; ${fmtCpu(x.previewUsage)})`,
            );
        }
        for (let round = 0; round < repeat; round++) {
            for (const n of counts) {
                const x = await sample(n, round);
                samples[n].push(x);
                const slowest = x.upPhases.byType
                    .slice(0, 3)
                    .map((t) => `${t.type} ×${t.steps} median ${t.medianMs} max ${t.maxMs} ms`)
                    .join(", ");
                log(
                    `round ${round + 1}/${repeat} apps ${n}: up ${x.upMs.toFixed(0)} ms (${x.resources} resources; ${fmtPhases(x.upPhases)}; ${fmtPeak(x.upUsage.peakMiB)}; ${fmtCpu(x.upUsage)}; slowest steps ${slowest}), no-change preview ${x.previewMs.toFixed(0)} ms (${fmtPhases(x.previewPhases)}; ${fmtPeak(x.previewUsage.peakMiB)}; ${fmtCpu(x.previewUsage)})`,
                );
            }
        }
    } finally {
        cluster.down();
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
            upPeakMiB: peakOf(xs.map((x) => x.upUsage.peakMiB)),
            previewPeakMiB: peakOf(xs.map((x) => x.previewUsage.peakMiB)),
            samples: xs,
        };
        console.log(`apps ${String(n).padEnd(3)} up ${fmtStats(r.upMs)}; preview ${fmtStats(r.previewMs)}; RSS ≤ ${r.rssMiB} MiB`);
        return r;
    });
    const file = writeResult(
        "engine-scale",
        {
            bench: "engine-scale",
            environment: environment(),
            params: { counts, repeat, stacks: stackNames, previews },
            status: "measured",
            quiet,
            loadAtEnd: loadavg().raw,
            results,
            stacks: stackSamples.map((x) => ({ ...x, preview: stats(x.previewMs) })),
        },
        opts.out,
    );
    log(`wrote ${path.relative(ROOT, file)}`);
}

run().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
});

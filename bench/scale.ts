/**
 * bench/scale: how evaluation cost grows with the number of workloads in one stack. Generates bench-only stack
 * configs at run time (dev's settings with N copies of its `visits` app named visits-0..N-1), validates them with
 * the program's schema, evaluates index.ts under mocks in fresh processes, and compares with `helm template` of
 * the same N apps (one helm process per app, summed: one release per app).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { readStackConfig, stackFileConfig } from "../lib/stack-file";
import {
    environment,
    flatConfig,
    fmtStats,
    helmBin,
    log,
    parseArgs,
    positiveInt,
    PROJECT,
    ROOT,
    stats,
    tempDir,
    loadavg,
    QUIET_OPTIONS,
    quietFromOptions,
    writeResult,
} from "./lib/common";
import { buildJs, evaluate, helmTemplate, profileVariant, removeJs, VARIANTS, variantNames, writeValues } from "./lib/evaluate";

const USAGE = `
Usage: npx ts-node --transpile-only bench/scale.ts [OPTIONS]

For each N in --counts, writes a bench-only stack 'bench-N' (Pulumi.bench-N.yaml in a temporary directory, never
in the work tree): the dev stack's settings with N copies of its 'visits' app (visits-0..visits-N-1). Each is
validated by the program's schema, then evaluated under Pulumi mocks in a fresh node process per sample for
each variant, and rendered with 'helm template' once per app (summed). Rounds interleave every count and
variant; warm-up rounds are discarded. Prints median and min/max, the ratio to helm, and the marginal cost per
app between the two largest counts. Preview time needs the Pulumi CLI and is not measured here.

Variants: ${Object.keys(VARIANTS).join(", ")} (see bench/eval.ts --help).
Result: bench/results/scale.json (or --out).
`;

const opts = parseArgs(USAGE, {
    counts: { default: "1,10,50", help: "Numbers of apps in the stack." },
    repeat: { default: "3", help: "Measured rounds." },
    warmup: { default: "1", help: "Rounds run first and discarded." },
    variants: { default: "typecheck,nodeargs,js", help: "Variants, comma-separated." },
    profile: { default: "js", help: "Variant to profile once at the largest count (node --cpu-prof); empty for none." },
    ...QUIET_OPTIONS,
    out: { help: "Result file (default bench/results/scale.json)." },
});

const counts = opts.counts.split(",").map((c) => positiveInt("counts", c));
const repeat = positiveInt("repeat", opts.repeat);
const warmup = Number(opts.warmup) || 0;
const variants = variantNames(opts.variants);
const profiled = opts.profile ? variantNames(opts.profile) : [];
const helm = helmBin();
const quiet = quietFromOptions(opts);

// ------------------------------------------------------------------------------------------ bench-only stacks
const work = tempDir("scale");
fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(work, "Pulumi.yaml"));
const dev = stackFileConfig(ROOT, "dev");
const devApps = dev[`${PROJECT}:apps`] as { name: string }[];
const visits = devApps.find((a) => a.name === "visits");
if (!visits) {
    throw new Error("Pulumi.dev.yaml has no 'visits' app to copy");
}
interface Case {
    n: number;
    stack: string;
    configFile: string;
    apps: string[];
    namespace: string;
    values: Record<string, string>;
}
const cases: Case[] = counts.map((n) => {
    const stack = `bench-${n}`;
    const config = { ...dev, [`${PROJECT}:apps`]: Array.from({ length: n }, (_, i) => ({ ...visits, name: `visits-${i}` })) };
    fs.writeFileSync(path.join(work, `Pulumi.${stack}.yaml`), stringify({ config }));
    const typed = readStackConfig(work, stack); // throws StackConfigError if the generated stack is invalid
    const configFile = path.join(work, `config-${stack}.json`);
    fs.writeFileSync(configFile, JSON.stringify(flatConfig(stackFileConfig(work, stack))));
    const dir = path.join(work, stack);
    fs.mkdirSync(dir);
    return { n, stack, configFile, apps: typed.apps.map((a) => a.name), namespace: typed.namespace.name, values: writeValues(typed.apps, dir) };
});

let jsDir: string | undefined;
if ([...variants, ...profiled].some((v) => v.startsWith("js"))) {
    log("compiling the program with tsc for the js variant");
    jsDir = buildJs().dir;
}

// ------------------------------------------------------------------------------------------ rounds
interface Sample {
    ms: number;
    load: number;
}
const samples: Record<number, Record<string, Sample[]>> = {};
const registrations: Record<number, number> = {};
for (const c of cases) {
    samples[c.n] = Object.fromEntries([...variants, "helm"].map((v) => [v, []]));
}
const rounds = warmup + repeat;
for (let round = 0; round < rounds; round++) {
    const measured = round >= warmup;
    log(`round ${round + 1}/${rounds}${measured ? "" : " (warm-up)"}; load ${fs.readFileSync("/proc/loadavg", "utf8").trim()}`);
    const order = [...variants, "helm"];
    const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
    for (const c of cases) {
        for (const what of rotated) {
            let s: Sample;
            if (what === "helm") {
                let sum = 0;
                let load = 0;
                for (const app of c.apps) {
                    const r = helmTemplate(helm, app, c.namespace, c.values[app]);
                    sum += r.ms;
                    load = Math.max(load, r.load);
                }
                s = { ms: sum, load };
            } else {
                const r = evaluate(what, jsDir, c.stack, c.configFile);
                registrations[c.n] = r.child.registrations;
                s = { ms: r.ms, load: r.load };
            }
            if (measured) {
                samples[c.n][what].push(s);
            }
        }
    }
}

// ------------------------------------------------------------------------------------------ summary
const results: Record<string, unknown> = {};
for (const c of cases) {
    const helmSt = stats(samples[c.n].helm.map((x) => x.ms));
    console.log(`\n${c.n} apps (${registrations[c.n]} registrations)`);
    console.log(`  helm template x${c.n}, summed: ${fmtStats(helmSt)}`);
    const vs: Record<string, unknown> = {};
    for (const v of variants) {
        const st = stats(samples[c.n][v].map((x) => x.ms));
        console.log(`  ${v.padEnd(12)} ${fmtStats(st).padEnd(40)} ${(st.median / helmSt.median).toFixed(2)}x helm template`);
        vs[v] = { wallMs: st, ratioToHelmTemplate: st.median / helmSt.median, samples: samples[c.n][v] };
    }
    results[String(c.n)] = { apps: c.n, registrations: registrations[c.n], helmTemplate: { sumMs: helmSt, samples: samples[c.n].helm }, variants: vs };
}
const marginal: Record<string, number> = {};
if (counts.length >= 2) {
    const [a, b] = [...counts].sort((x, y) => x - y).slice(-2);
    for (const v of [...variants, "helm"]) {
        const ma = stats(samples[a][v].map((x) => x.ms)).median;
        const mb = stats(samples[b][v].map((x) => x.ms)).median;
        marginal[v] = (mb - ma) / (b - a);
    }
    console.log(
        `\nmarginal cost per app between ${a} and ${b} apps: ${Object.entries(marginal)
            .map(([v, ms]) => `${v} ${ms.toFixed(1)} ms`)
            .join(", ")}`,
    );
}

const profiles: Record<string, unknown> = {};
for (const v of profiled) {
    const c = cases.reduce((a, b) => (b.n > a.n ? b : a));
    log(`profiling ${v} with ${c.n} apps`);
    const prof = profileVariant(v, jsDir, c.stack, c.configFile);
    profiles[v] = { apps: c.n, ...prof };
    console.log(`\nprofile ${v}, ${c.n} apps, wall ${prof.wallMs.toFixed(0)} ms under --cpu-prof:`);
    for (const x of prof.categories.slice(0, 6)) {
        console.log(`  ${x.category.padEnd(70)} ${x.ms.toFixed(0).padStart(6)} ms ${x.pct.toFixed(1).padStart(5)} %`);
    }
    for (const x of prof.topFunctions.slice(0, 10)) {
        console.log(`  ${x.fn.slice(0, 70).padEnd(70)} ${x.ms.toFixed(0).padStart(6)} ms ${x.pct.toFixed(1).padStart(5)} %`);
    }
}

removeJs(jsDir);
fs.rmSync(work, { recursive: true, force: true });
const file = writeResult(
    "scale",
    {
        bench: "scale",
        environment: environment(),
        quiet,
        loadAtEnd: loadavg().raw,
        params: { counts, repeat, warmup, variants, appTemplate: "dev stack's visits app" },
        helmVersion: execFileSync(helm, ["version", "--short"], { encoding: "utf8" }).trim(),
        results,
        marginalMsPerApp: marginal,
        profiles,
    },
    opts.out,
);
log(`wrote ${path.relative(ROOT, file)}`);

/**
 * bench/eval: program evaluation under Pulumi mocks, one fresh Node.js process per sample (what every
 * `pulumi preview`/`up` pays before the engine sees a resource), per stack and per way of running TypeScript,
 * versus `helm template` of the bundled chart with the same apps' values. Then profiles where the time goes.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { readStackConfig } from "../lib/stack-file";
import {
    environment,
    flatConfig,
    fmtStats,
    helmBin,
    log,
    parseArgs,
    positiveInt,
    ROOT,
    stackConfig,
    stats,
    tempDir,
    loadavg,
    QUIET_OPTIONS,
    quietFromOptions,
    writeResult,
} from "./lib/common";
import { buildJs, evaluate, helmTemplate, profileVariant, removeJs, topLoads, VARIANTS, variantNames, writeValues } from "./lib/evaluate";

const USAGE = `
Usage: npx ts-node --transpile-only bench/eval.ts [OPTIONS]

Times a full evaluation of index.ts under Pulumi mocks in a fresh node process per sample, for each stack and
each variant (how the Node.js language host runs TypeScript), against 'helm template' of charts/stateful-app
with helmValues() of every app of the same stack (one helm process per app, as one release per app would be;
the stack's figure is the sum). Samples of all variants are interleaved round by round so that load changes hit
them alike; warm-up rounds are discarded. Prints median and min/max and the ratio to helm template, then
profiles the variants named by --profile (node --cpu-prof, and first-load time per package).

Before the rounds, one evaluation per variant and stack records every resource registration (inputs, parent,
provider, dependencies, options) and the stack outputs: all variants must give the same, or the run fails (the
differing records are kept). Every evaluation also checks that ts-node ran the transpiler its variant names.

Variants:
${Object.values(VARIANTS)
    .map((v) => `  ${v.name.padEnd(12)} ${v.label}\n  ${"".padEnd(12)} Pulumi.yaml: ${v.pulumiYaml}`)
    .join("\n")}

Result: bench/results/eval.json (or --out). Exit codes: 0 ok; 2 usage; 3 helm missing; 1 a run failed.
`;

const opts = parseArgs(USAGE, {
    repeat: { default: "5", help: "Measured rounds (samples per variant and stack)." },
    warmup: { default: "1", help: "Rounds run first and discarded." },
    stacks: { default: "dev,prod", help: "Stacks (Pulumi.<stack>.yaml)." },
    variants: { default: "typecheck,transpile,nodeargs-tsc,nodeargs,js,js-lazy-sdk", help: "Variants, comma-separated." },
    profile: { default: "typecheck,nodeargs-tsc,nodeargs,js", help: "Variants to profile once (dev stack); empty for none." },
    ...QUIET_OPTIONS,
    out: { help: "Result file (default bench/results/eval.json)." },
});

const repeat = positiveInt("repeat", opts.repeat);
const warmup = Number(opts.warmup) || 0;
const stacks = opts.stacks.split(",").filter((s) => s);
const variants = variantNames(opts.variants);
const profiled = opts.profile ? variantNames(opts.profile) : [];
const helm = helmBin();

const quiet = quietFromOptions(opts);

const work = tempDir("eval");
let jsDir: string | undefined;
// Removed however the run ends (an evaluation that fails throws out of the rounds).
process.on("exit", () => {
    removeJs(jsDir);
    fs.rmSync(work, { recursive: true, force: true });
});
let tscMs: number | undefined;
if ([...variants, ...profiled].some((v) => v.startsWith("js"))) {
    log("compiling the program with tsc for the js variant");
    const built = buildJs();
    jsDir = built.dir;
    tscMs = built.tscMs;
}

interface Sample {
    ms: number;
    load: number;
}
const perStack: Record<string, { configFile: string; apps: string[]; namespace: string; values: Record<string, string> }> = {};
for (const stack of stacks) {
    const typed = readStackConfig(ROOT, stack);
    const configFile = path.join(work, `config-${stack}.json`);
    fs.writeFileSync(configFile, JSON.stringify(flatConfig(stackConfig(stack))));
    const dir = path.join(work, stack);
    fs.mkdirSync(dir);
    perStack[stack] = { configFile, apps: typed.apps.map((a) => a.name), namespace: typed.namespace.name, values: writeValues(typed.apps, dir) };
}

// The variants differ only in how TypeScript runs: each must register exactly what the others do.
for (const stack of stacks) {
    log(`checking that every variant registers the same resources (${stack})`);
    const records = variants.map((v) => {
        const file = path.join(work, `registrations-${stack}-${v}.json`);
        evaluate(v, jsDir, stack, perStack[stack].configFile, ["--registrations", file]);
        return { v, file, text: fs.readFileSync(file, "utf8") };
    });
    for (const r of records.slice(1)) {
        if (r.text !== records[0].text) {
            const keep = tempDir("eval-registrations");
            for (const x of [records[0], r]) {
                fs.copyFileSync(x.file, path.join(keep, path.basename(x.file)));
            }
            log(`${stack}: variant ${r.v} registers other resources or outputs than ${records[0].v}; both records are in ${keep}`);
            process.exit(1);
        }
    }
}

const samples: Record<string, Record<string, Sample[]>> = {};
const phases: Record<string, Record<string, Record<string, number[]>>> = {};
const helmSamples: Record<string, { sum: Sample[]; perApp: Record<string, Sample[]> }> = {};
let registrations: Record<string, number> = {};
const transpilers: Record<string, string> = {};
for (const stack of stacks) {
    samples[stack] = Object.fromEntries(variants.map((v) => [v, []]));
    phases[stack] = Object.fromEntries(variants.map((v) => [v, {}]));
    helmSamples[stack] = { sum: [], perApp: Object.fromEntries(perStack[stack].apps.map((a) => [a, []])) };
}

const rounds = warmup + repeat;
for (let round = 0; round < rounds; round++) {
    const measured = round >= warmup;
    log(`round ${round + 1}/${rounds}${measured ? "" : " (warm-up)"}; load ${fs.readFileSync("/proc/loadavg", "utf8").trim()}`);
    for (const stack of stacks) {
        const s = perStack[stack];
        // Rotate the order each round so no variant always runs right after another one.
        const order = [...variants.map((v) => v as string), "helm"];
        const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
        for (const what of rotated) {
            if (what === "helm") {
                let sum = 0;
                let load = 0;
                for (const app of s.apps) {
                    const r = helmTemplate(helm, app, s.namespace, s.values[app]);
                    sum += r.ms;
                    load = Math.max(load, r.load);
                    if (measured) {
                        helmSamples[stack].perApp[app].push(r);
                    }
                }
                if (measured) {
                    helmSamples[stack].sum.push({ ms: sum, load });
                }
                continue;
            }
            const r = evaluate(what, jsDir, stack, s.configFile);
            registrations = { ...registrations, [stack]: r.child.registrations };
            transpilers[what] = r.child.transpiler;
            if (measured) {
                samples[stack][what].push({ ms: r.ms, load: r.load });
                const t = r.child.t;
                const ph: Record<string, number> = {
                    "node start": t.start,
                    "TypeScript setup": t.tsSetup - t.start,
                    "load @pulumi/pulumi": t.sdkLoaded - t.tsSetup,
                    "load program (imports + TS compile)": t.programLoaded - t.mocksSet,
                    "run program (register resources)": t.programRun - t.programLoaded,
                    exit: r.ms - t.programRun,
                };
                for (const [k, v] of Object.entries(ph)) {
                    (phases[stack][what][k] ??= []).push(v);
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------ summary
const results: Record<string, unknown> = {};
for (const stack of stacks) {
    const helmSum = stats(helmSamples[stack].sum.map((x) => x.ms));
    const perApp = Object.fromEntries(Object.entries(helmSamples[stack].perApp).map(([a, xs]) => [a, stats(xs.map((x) => x.ms))]));
    const perAppMean = Object.values(perApp).reduce((s, x) => s + x.median, 0) / Object.keys(perApp).length;
    console.log(`\n${stack}: ${perStack[stack].apps.length} apps, ${registrations[stack]} registrations`);
    console.log(`  helm template, one process per app, summed: ${fmtStats(helmSum)}`);
    const vs: Record<string, unknown> = {};
    for (const v of variants) {
        const st = stats(samples[stack][v].map((x) => x.ms));
        const ratio = st.median / helmSum.median;
        console.log(`  ${v.padEnd(12)} ${fmtStats(st).padEnd(40)} ${ratio.toFixed(1)}x helm template (target <= 5x)`);
        vs[v] = {
            label: VARIANTS[v].label,
            pulumiYaml: VARIANTS[v].pulumiYaml,
            transpiler: transpilers[v],
            wallMs: st,
            ratioToHelmTemplate: ratio,
            ratioToOneHelmTemplate: st.median / perAppMean,
            phasesMedianMs: Object.fromEntries(Object.entries(phases[stack][v]).map(([k, xs]) => [k, stats(xs).median])),
            samples: samples[stack][v],
        };
    }
    results[stack] = {
        apps: perStack[stack].apps,
        registrations: registrations[stack],
        helmTemplate: { sumMs: helmSum, perAppMs: perApp, samples: helmSamples[stack].sum },
        variants: vs,
    };
}

// ------------------------------------------------------------------------------------------ profiles
const profiles: Record<string, unknown> = {};
if (profiled.length > 0) {
    const stack = stacks.includes("dev") ? "dev" : stacks[0];
    for (const v of profiled) {
        log(`profiling ${v} (${stack})`);
        const prof = profileVariant(v, jsDir, stack, perStack[stack].configFile);
        const ph = evaluate(v, jsDir, stack, perStack[stack].configFile, ["--phases"]);
        profiles[v] = {
            stack,
            cpuProfile: prof,
            firstLoadSelfMs: topLoads(ph.child.loadSelfMs ?? {}, 10),
            modulesLoaded: ph.child.modulesLoaded,
            modulesByPackage: Object.entries(ph.child.modules ?? {})
                .sort((a, b) => b[1].bytes - a[1].bytes)
                .map(([pkg, m]) => ({ pkg, ...m })),
            tsCompileMs: ph.child.compileMs ?? 0,
            tsCompiledFiles: ph.child.compiledFiles ?? 0,
            load: ph.load,
        };
        console.log(
            `\nprofile ${v} (${stack}), wall ${prof.wallMs.toFixed(0)} ms under --cpu-prof; TS compile ${(ph.child.compileMs ?? 0).toFixed(0)} ms for ${ph.child.compiledFiles ?? 0} files`,
        );
        for (const c of prof.categories.slice(0, 8)) {
            console.log(`  ${c.category.padEnd(70)} ${c.ms.toFixed(0).padStart(6)} ms ${c.pct.toFixed(1).padStart(5)} %`);
        }
        const mods = Object.values(ph.child.modules ?? {});
        console.log(
            `  first loads (self time, nested loads excluded), ${ph.child.modulesLoaded} modules, ${(mods.reduce((s, m) => s + m.bytes, 0) / 2 ** 20).toFixed(1)} MiB of source:`,
        );
        for (const l of topLoads(ph.child.loadSelfMs ?? {}, 8)) {
            console.log(`    ${l.pkg.padEnd(30)} ${l.ms.toFixed(0).padStart(6)} ms`);
        }
    }
}

removeJs(jsDir);
fs.rmSync(work, { recursive: true, force: true });

const file = writeResult(
    "eval",
    {
        bench: "eval",
        environment: environment(),
        quiet,
        loadAtEnd: loadavg().raw,
        params: { repeat, warmup, stacks, variants },
        helmVersion: execFileSync(helm, ["version", "--short"], { encoding: "utf8" }).trim(),
        tscBuildMs: tscMs,
        results,
        profiles,
    },
    opts.out,
);
log(`wrote ${path.relative(ROOT, file)}`);

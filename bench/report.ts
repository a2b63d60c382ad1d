/**
 * bench/report: regenerates the tables of docs/BENCHMARKS.md from bench/results/*.json, between the markers
 * `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`. The prose around them is left alone.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, RESULTS_DIR, ROOT, Stats } from "./lib/common";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

const USAGE = `
Usage: npx ts-node --transpile-only bench/report.ts [--doc FILE]

Rewrites the generated tables of docs/BENCHMARKS.md (targets, environment, eval, eval-phases, eval-profile, scale,
rollout, rollout-experiments, engine-scale, dev-stack) from bench/results/{eval,scale,rollout,engine-scale,dev-stack}.json
and bench/results/rollout-*.json. A section whose result file is missing says so.
`;
const opts = parseArgs(USAGE, { doc: { default: path.join(ROOT, "docs", "BENCHMARKS.md"), help: "The document to update." } });

function read(name: string): Any | undefined {
    const f = path.join(RESULTS_DIR, `${name}.json`);
    return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : undefined;
}
const evalR = read("eval");
const scaleR = read("scale");
const rolloutR = read("rollout");
const engineR = read("engine-scale");
const devStackR = read("dev-stack");
const experiments: [string, Any][] = fs.existsSync(RESULTS_DIR)
    ? fs
          .readdirSync(RESULTS_DIR)
          .filter((f) => /^rollout-.+\.json$/.test(f))
          .sort()
          .map((f) => [f.replace(/\.json$/, ""), read(f.replace(/\.json$/, ""))])
    : [];

const s = (x: number) => (x / 1000).toFixed(2);
const ms = (x: number) => x.toFixed(0);
const cell = (st: Stats) => `${s(st.median)} s (${s(st.min)}–${s(st.max)})`;
const table = (head: string[], rows: string[][]) =>
    [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const loadRange = (samples: { load: number }[]) => {
    const l = samples.map((x) => x.load);
    return `${Math.min(...l).toFixed(2)}–${Math.max(...l).toFixed(2)}`;
};
const missing = (name: string) => `_No bench/results/${name}.json yet: run \`npx ts-node --transpile-only bench/${name}.ts\`._`;

const sections: Record<string, string> = {};
const rolloutParams = (r: Any) => `kube-controller-manager --kube-api-qps ${r.params.kcmQps ?? "default (20)"}, ${r.params.nodes ?? "?"} nodes`;

// ------------------------------------------------------------------------------------------ environment
{
    const rows: string[][] = [];
    for (const [name, r] of [
        ["eval", evalR],
        ["scale", scaleR],
        ["rollout", rolloutR],
        ["engine-scale", engineR],
        ["dev-stack", devStackR],
    ] as [string, Any][]) {
        if (!r) {
            rows.push([name, "not run", "", "", "", ""]);
            continue;
        }
        const e = r.environment;
        const quiet = r.quiet
            ? `${r.quiet.reached ? "yes" : "**no**"} (waited ${r.quiet.waitedSeconds} s; ${r.quiet.load.split(" ").slice(0, 3).join(" ")})`
            : "not waited for";
        rows.push([
            name,
            e.date.slice(0, 16).replace("T", " ") + " UTC",
            `${e.host.cpus} × ${e.host.cpuModel}, node ${e.node}`,
            `${e.gitHead}${e.dirtyProgramFiles.length ? ` + uncommitted: ${e.dirtyProgramFiles.map((l: string) => `\`${l.trim().replace(/^\S+\s+/, "")}\``).join(", ")}` : ""}`,
            quiet,
            r.loadAtEnd ? r.loadAtEnd.split(" ").slice(0, 3).join(" ") : "",
        ]);
    }
    sections.environment = table(
        ["result", "measured", "machine", "tree (HEAD + others' uncommitted edits)", "1-min load < 1.0 at start", "load at end (1/5/15 min)"],
        rows,
    );
}

// ------------------------------------------------------------------------------------------ eval
if (evalR) {
    const rows: string[][] = [];
    for (const [stack, r] of Object.entries<Any>(evalR.results)) {
        const h = r.helmTemplate.sumMs;
        rows.push([stack, `**helm template**, ${r.apps.length} processes summed`, "", cell(h), "1.0×", loadRange(r.helmTemplate.samples)]);
        for (const [v, x] of Object.entries<Any>(r.variants)) {
            const met = x.ratioToHelmTemplate <= 5 ? "met" : "missed";
            rows.push([stack, `\`${v}\`: ${x.label}`, x.pulumiYaml, cell(x.wallMs), `**${x.ratioToHelmTemplate.toFixed(1)}×** (${met})`, loadRange(x.samples)]);
        }
    }
    sections.eval = `${table(["stack", "how the program runs", "Pulumi.yaml runtime options", "wall time, median (min–max)", "÷ helm template (target ≤ 5×)", "1-min load during samples"], rows)}\n\n${evalR.params.repeat} samples per row after ${evalR.params.warmup} warm-up round(s); helm ${evalR.helmVersion}; \`tsc\` build for the js rows: ${evalR.tscBuildMs ? s(evalR.tscBuildMs) + " s" : "n/a"}.`;

    const dev = evalR.results.dev ?? Object.values<Any>(evalR.results)[0];
    const variants = Object.keys(dev.variants);
    const phaseNames = Object.keys(dev.variants[variants[0]].phasesMedianMs);
    sections["eval-phases"] = table(
        ["phase (dev stack, median ms)", ...variants.map((v) => `\`${v}\``)],
        phaseNames.map((p) => [p, ...variants.map((v) => ms(dev.variants[v].phasesMedianMs[p]))]),
    );

    const profs = Object.entries<Any>(evalR.profiles ?? {});
    if (profs.length) {
        const cats = [...new Set(profs.flatMap(([, p]) => p.cpuProfile.categories.slice(0, 7).map((c: Any) => c.category)))];
        const catRows = cats.map((c) => [
            c,
            ...profs.map(([, p]) => {
                const x = p.cpuProfile.categories.find((y: Any) => y.category === c);
                return x ? `${ms(x.ms)} (${x.pct.toFixed(0)} %)` : "";
            }),
        ]);
        catRows.push(["**wall time under --cpu-prof**", ...profs.map(([, p]) => `${ms(p.cpuProfile.wallMs)}`)]);
        catRows.push([
            "TypeScript compile (ts-node `compile()`), files",
            ...profs.map(([, p]) => (p.tsCompiledFiles ? `${ms(p.tsCompileMs)} ms, ${p.tsCompiledFiles} files` : "none")),
        ]);
        catRows.push(["modules loaded (files)", ...profs.map(([, p]) => `${p.modulesLoaded}`)]);
        const loads = profs.map(([, p]) =>
            p.firstLoadSelfMs
                .slice(0, 6)
                .map((l: Any) => `${l.pkg} ${ms(l.ms)}`)
                .join("<br>"),
        );
        catRows.push(["first-load self time by package, ms (wall, incl. I/O; TS compile counts to the project)", ...loads]);
        sections["eval-profile"] = table(["CPU self time, ms (share)", ...profs.map(([v]) => `\`${v}\` (${evalR.profiles[v].stack})`)], catRows);
    } else {
        sections["eval-profile"] = "_Not profiled in the last run (--profile was empty)._";
    }
} else {
    sections.eval = sections["eval-phases"] = sections["eval-profile"] = missing("eval");
}

// ------------------------------------------------------------------------------------------ scale
if (scaleR) {
    const variants: string[] = scaleR.params.variants;
    const rows = scaleR.params.counts.map((n: number) => {
        const r = scaleR.results[String(n)];
        const h = r.helmTemplate.sumMs;
        return [
            String(n),
            String(r.registrations),
            cell(h),
            ...variants.map((v) => `${cell(r.variants[v].wallMs)}, ${r.variants[v].ratioToHelmTemplate.toFixed(2)}×`),
        ];
    });
    rows.push(["per extra app", "", `${ms(scaleR.marginalMsPerApp.helm)} ms`, ...variants.map((v) => `${ms(scaleR.marginalMsPerApp[v])} ms`)]);
    let prof = "";
    for (const [v, p] of Object.entries<Any>(scaleR.profiles ?? {})) {
        prof += `\n\nWhere \`${v}\` spends its time with ${p.apps} apps (CPU self time, wall ${s(p.wallMs)} s under --cpu-prof):\n\n`;
        prof += table(
            ["function (package)", "ms", "share"],
            p.topFunctions.slice(0, 8).map((f: Any) => [`\`${f.fn}\``, ms(f.ms), `${f.pct.toFixed(0)} %`]),
        );
    }
    sections.scale = `${table(["apps", "registrations", "helm template × N, summed", ...variants.map((v) => `\`${v}\` (÷ helm)`)], rows)}\n\n${scaleR.params.repeat} samples per cell after ${scaleR.params.warmup} warm-up round(s); wall time median (min–max). \`pulumi up\` and \`preview\` of the same stacks on the real engine: the next table.${prof}`;
} else {
    sections.scale = missing("scale");
}

// ------------------------------------------------------------------------------------------ rollout
if (rolloutR?.status === "measured") {
    const methods: string[] = rolloutR.params.methods;
    const rows = rolloutR.results.map((r: Any) => [
        r.retention,
        r.policy,
        String(r.replicas),
        ...methods.map((m) => cell(r.methods[m].wallMs)),
        r.pulumiPreviewMs ? cell(r.pulumiPreviewMs) : "not measured",
        r.helmOverFloor ? `${r.helmOverFloor.toFixed(1)}×` : "",
        r.pulumiOverFloor ? `${r.pulumiOverFloor.toFixed(1)}×` : "",
        r.pulumiOverHelm ? `${r.pulumiOverHelm.toFixed(2)}×` : "",
        methods
            .map((m) => (r.methods[m].updateMs?.median ? `${m} ${(r.methods[m].updateMs.median / 1000).toFixed(1)} s` : ""))
            .filter(Boolean)
            .join(", ") || "not measured",
        r.pulumiUpdateOverFloor ? `${r.pulumiUpdateOverFloor.toFixed(1)}× the floor, ${r.pulumiUpdateOverHelm?.toFixed(2)}× helm` : "",
    ]);
    const scaling: string[][] = [];
    for (const retention of rolloutR.params.retentions) {
        for (const m of methods) {
            const one = rolloutR.results.find((r: Any) => r.retention === retention && r.policy === "Parallel" && r.replicas === 1);
            const twenty = rolloutR.results.find((r: Any) => r.retention === retention && r.policy === "Parallel" && r.replicas === 20);
            if (one && twenty) {
                const ratio = twenty.methods[m].wallMs.median / one.methods[m].wallMs.median;
                scaling.push([
                    retention,
                    m,
                    cell(one.methods[m].wallMs),
                    cell(twenty.methods[m].wallMs),
                    `**${ratio.toFixed(1)}×** (${ratio <= 2 ? "met" : "missed"})`,
                ]);
            }
        }
    }
    sections.rollout = `${table(["PVC retention", "policy", "replicas", ...methods.map((m) => `\`${m}\``), "no-change `pulumi preview`", "helm ÷ kubectl", "pulumi ÷ kubectl", "pulumi ÷ helm", "image-tag change to rolled out (median)", "pulumi (update)"], rows)}\n\n${rolloutR.params.repeat} samples per cell; wall time to Ready, median (min–max); ${rolloutParams(rolloutR)}; helm ${rolloutR.helmVersion}, kubectl ${rolloutR.kubectlVersion}.\n\nTarget “Parallel, 20 replicas ≤ 2× 1 replica”:\n\n${table(["PVC retention", "method", "1 replica", "20 replicas", "20 ÷ 1"], scaling)}`;
} else if (rolloutR) {
    sections.rollout = `_Not measured: ${rolloutR.reason}._`;
} else {
    sections.rollout = missing("rollout");
}

{
    const parts: string[] = [];
    for (const [name, r] of experiments) {
        if (r.status !== "measured") {
            parts.push(`\`${name}.json\`: not measured: ${r.reason}.`);
            continue;
        }
        const methods: string[] = r.params.methods;
        const qps = r.params.kcmQps ?? "default (20)";
        parts.push(
            `\`bench/results/${name}.json\` (kube-controller-manager --kube-api-qps ${qps}; ${r.params.repeat} samples per cell; measured ${r.environment.date.slice(0, 16).replace("T", " ")} UTC):\n\n` +
                table(
                    ["PVC retention", "policy", "replicas", ...methods.map((m) => `\`${m}\``)],
                    r.results.map((x: Any) => [x.retention, x.policy, String(x.replicas), ...methods.map((m) => cell(x.methods[m].wallMs))]),
                ),
        );
    }
    sections["rollout-experiments"] = parts.length ? parts.join("\n\n") : "_No experiments recorded (bench/results/rollout-*.json)._";
}

// ------------------------------------------------------------------------------------------ engine-scale
if (engineR?.status === "measured") {
    const rows = engineR.results.map((r: Any) => [String(r.apps), String(r.resources), cell(r.upMs), cell(r.previewMs), `${r.rssMiB} MiB`]);
    const first = engineR.results[0];
    const growth = engineR.results
        .slice(1)
        .map(
            (r: Any) =>
                `${first.apps} → ${r.apps} apps: up ×${(r.upMs.median / first.upMs.median).toFixed(1)}, preview ×${(r.previewMs.median / first.previewMs.median).toFixed(1)}`,
        )
        .join("; ");
    const last = (r: Any) => r.samples[r.samples.length - 1];
    const split = (p: Any) =>
        p ? `${p.engineStartMs} / ${p.providerReadyMs} / ${p.firstResourceMs} / ${p.lastOutputsMs} / ${p.summaryMs ?? "–"} / ${p.totalMs}` : "–";
    const mem = (m: Any) => (m ? `${m.program} / ${m.engine} / ${m.provider}` : "–");
    const slowest = (p: Any) =>
        p
            ? p.byType
                  .slice(0, 2)
                  .map((t: Any) => `${t.type.replace(/^kubernetes:/, "")} ×${t.steps}: median ${t.medianMs}, max ${t.maxMs}`)
                  .join("; ")
            : "–";
    const cpu = (u: Any) => (u ? `${u.cpuSeconds.program} / ${u.cpuSeconds.engine} / ${u.cpuSeconds.provider}; ${Math.round(u.machineBusy * 100)}%` : "–");
    const phaseRows = engineR.results.flatMap((r: Any) => [
        [`${r.apps}`, "up", split(last(r).upPhases), mem(r.upPeakMiB), cpu(last(r).upUsage), slowest(last(r).upPhases)],
        [`${r.apps}`, "preview", split(last(r).previewPhases), mem(r.previewPeakMiB), cpu(last(r).previewUsage), slowest(last(r).previewPhases)],
    ]);
    const stackRows = (engineR.stacks ?? []).map((x: Any) => [
        x.stack,
        `${(x.upMs / 1000).toFixed(1)} s`,
        cell(x.preview),
        split(x.previewPhases),
        cpu(x.previewUsage),
        mem(x.previewUsage?.peakMiB),
    ]);
    const stacksTable = stackRows.length
        ? `\n\nThe committed stacks (context pointed at the bench cluster): \`up\` from empty, then ${engineR.params.previews} no-change previews (median (min–max); the split, CPU and memory of the last one):\n\n` +
          table(
              [
                  "stack",
                  "`up` from empty",
                  "no-change `preview`",
                  "prelude / provider / first object / last step / summary / total (ms)",
                  "CPU program / engine / provider (s); machine busy",
                  "peak RSS program / engine / provider (MiB)",
              ],
              stackRows,
          )
        : "";
    sections["engine-scale"] =
        `${table(["apps", "resources created", "`pulumi up` to Ready", "no-change `pulumi preview`", "RSS of the benchmark process after the sample (it runs the program; grows over the run)"], rows)}\n\n${engineR.params.repeat} sample(s) per count; wall time median (min–max); growth: ${growth}.\n\n` +
        `Where the time goes and peak memory (the last sample of each count; ms from the operation's start: the CLI's prelude event / the provider's step done / the first Kubernetes object registered / the last step done / the engine's summary event / the call returned (after the summary: the CLI's exit and, for \`up\`, the Automation API's \`stack output\` ×2 and \`stack history\`); peak RSS in MiB of the program's process / the engine (pulumi) / the provider; CPU seconds each used during the operation and how busy both cores were; the two slowest Kubernetes step types, ms from step start to outputs). The inline program runs in the benchmark's process, so program work delays the events after it.\n\n` +
        table(
            [
                "apps",
                "operation",
                "prelude / provider / first object / last step / summary / total (ms)",
                "peak RSS program / engine / provider (MiB)",
                "CPU program / engine / provider (s); machine busy (2 cores)",
                "slowest steps",
            ],
            phaseRows,
        ) +
        stacksTable;
} else {
    sections["engine-scale"] = missing("engine-scale");
}

// ------------------------------------------------------------------------------------------ dev-stack
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
if (devStackR?.status === "measured") {
    const methods: string[] = devStackR.params.methods;
    const floor = devStackR.upMs.kubectl?.median;
    const helmMs = devStackR.upMs.helm?.median;
    const rows = methods.map((m) => {
        const x = devStackR.upMs[m];
        return [
            `\`${m}\``,
            cell(x),
            floor ? `${(x.median / floor).toFixed(2)}×` : "",
            helmMs ? `${(x.median / helmMs).toFixed(2)}×` : "",
            loadRange(devStackR.samples.filter((y: Any) => y.method === m)),
        ];
    });
    const pulumiSamples = devStackR.samples.filter((y: Any) => y.method === "pulumi");
    let split = "";
    if (pulumiSamples.length) {
        const ph = (k: string, op = "upPhases") => medianOf(pulumiSamples.map((y: Any) => y[op][k]));
        const steps = (op: string) => {
            const types = [...new Set<string>(pulumiSamples.flatMap((y: Any) => y[op].byType.map((t: Any) => t.type)))];
            return types
                .map((t) => ({ t, max: medianOf(pulumiSamples.map((y: Any) => y[op].byType.find((b: Any) => b.type === t)?.maxMs ?? 0)) }))
                .sort((a, b) => b.max - a.max)
                .slice(0, 4)
                .map((x) => `${x.t.replace(/^kubernetes:/, "")} ${x.max}`)
                .join(", ");
        };
        split =
            `\n\nWhere \`pulumi up\` spends it (median over the samples, ms from the call): the CLI's prelude event ${ph("engineStartMs")}, ` +
            `the provider configured ${ph("providerReadyMs")}, the first Kubernetes object ${ph("firstResourceMs")}, the last step done ${ph("lastOutputsMs")}, ` +
            `the engine's summary ${ph("summaryMs")}, the call returned ${ph("totalMs")}; the Automation API's reads after the CLI's \`up\` (\`stack output\` ×2, \`stack history\`), timed again apart: ${devStackR.apiReadsMs ? cell(devStackR.apiReadsMs) : "not measured"}. Slowest step per type (start to outputs, ms): ${steps("upPhases")}. ` +
            `No-change \`preview\` right after: ${cell(devStackR.previewMs)} (summary at ${ph("summaryMs", "previewPhases")} ms of ${ph("totalMs", "previewPhases")}).`;
    }
    sections["dev-stack"] =
        `${table(["method", "empty namespace to all Ready + data-load Job complete", "÷ kubectl floor", "÷ helm", "1-min load before samples"], rows)}\n\n` +
        `Stack \`${devStackR.params.stack}\`; ${devStackR.params.repeat} recorded rounds after ${devStackR.params.warmup} warm-up round(s), methods interleaved (order rotating), a fresh namespace per sample; ${devStackR.params.nodes} kwok nodes; helm ${devStackR.helmVersion}.` +
        split;
} else if (devStackR) {
    sections["dev-stack"] = `_Not measured: ${devStackR.reason}._`;
} else {
    sections["dev-stack"] = missing("dev-stack");
}

// ------------------------------------------------------------------------------------------ targets
{
    const rows: string[][] = [];
    if (evalR) {
        for (const [stack, r] of Object.entries<Any>(evalR.results)) {
            const best = Object.entries<Any>(r.variants).filter(([v]) => v !== "js-lazy-sdk");
            const line = best.map(([v, x]) => `\`${v}\` ${x.ratioToHelmTemplate.toFixed(1)}×`).join(", ");
            const committed = r.variants.nodeargs;
            rows.push([
                `evaluation ≤ 5× helm template (${stack})`,
                line,
                committed ? (committed.ratioToHelmTemplate <= 5 ? "met" : "**missed** with the committed setting (`nodeargs`)") : "",
            ]);
        }
    }
    const pulumiRows = rolloutR?.status === "measured" ? rolloutR.results.filter((r: Any) => r.methods.pulumi) : [];
    if (pulumiRows.length > 0) {
        const worstPreview = Math.max(...pulumiRows.map((r: Any) => r.pulumiPreviewMs.median));
        rows.push([
            "no-change preview ≤ 3 s (one app, inline program)",
            `worst cell median ${(worstPreview / 1000).toFixed(1)} s`,
            worstPreview <= 3000 ? "met" : "**missed**",
        ]);
        const floorRatios = pulumiRows.map((r: Any) => r.pulumiOverFloor as number);
        const helmRatios = pulumiRows.map((r: Any) => r.pulumiOverHelm as number);
        const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}×`;
        // Both `up` targets: ≤ 1.5× the kubectl floor and ≤ 1.0× Helm in every cell.
        const ratioRow = (target: string, floor: number[], helm: number[]) => [
            target,
            `${range(floor)} the floor, ${range(helm)} helm`,
            Math.max(...floor) <= 1.5 && Math.max(...helm) <= 1.0 ? "met" : "**missed**",
        ];
        rows.push(ratioRow("`pulumi up` ≤ 1.5× kubectl floor and ≤ 1.0× helm install --wait", floorRatios, helmRatios));
        const updates = pulumiRows.filter((r: Any) => r.pulumiUpdateOverFloor);
        if (updates.length > 0) {
            rows.push(
                ratioRow(
                    "image-tag change: `pulumi up` (+ rollout status) ≤ 1.5× the floor and ≤ 1.0× helm upgrade --wait",
                    updates.map((r: Any) => r.pulumiUpdateOverFloor as number),
                    updates.map((r: Any) => r.pulumiUpdateOverHelm as number),
                ),
            );
        }
    } else {
        rows.push(["no-change preview ≤ 3 s", "not measured (run bench/rollout.ts with the pulumi method)", "unknown"]);
        rows.push(["`pulumi up` ≤ 1.5× kubectl floor and ≤ 1.0× helm install --wait", "not measured", "unknown"]);
    }
    if (devStackR?.status === "measured" && devStackR.pulumiOverFloor && devStackR.pulumiOverHelm) {
        rows.push([
            `\`pulumi up\` of the ${devStackR.params.stack} stack from empty ≤ 1.5× kubectl floor and ≤ 1.0× helm install --wait (side by side)`,
            `${devStackR.pulumiOverFloor.toFixed(2)}× the floor, ${devStackR.pulumiOverHelm.toFixed(2)}× helm`,
            devStackR.pulumiOverFloor <= 1.5 && devStackR.pulumiOverHelm <= 1.0 ? "met" : "**missed**",
        ]);
    } else {
        rows.push(["`pulumi up` of the dev stack from empty ≤ 1.5× kubectl floor and ≤ 1.0× helm", "not measured (bench/dev-stack.ts)", "unknown"]);
    }
    const devStack = engineR?.status === "measured" ? (engineR.stacks ?? []).find((x: Any) => x.stack === "dev") : undefined;
    rows.push(
        devStack
            ? [
                  "no-change `pulumi preview` of the dev stack ≤ 3 s (warm, inline program)",
                  `median ${(devStack.preview.median / 1000).toFixed(2)} s over ${devStack.previewMs.length}`,
                  devStack.preview.median <= 3000 ? "met" : "**missed**",
              ]
            : ["no-change `pulumi preview` of the dev stack ≤ 3 s", "not measured (bench/engine-scale.ts --stacks dev)", "unknown"],
    );
    if (rolloutR?.status === "measured") {
        const one = rolloutR.results.find((r: Any) => r.retention === rolloutR.params.retentions[0] && r.policy === "Parallel" && r.replicas === 1);
        const twenty = rolloutR.results.find((r: Any) => r.retention === rolloutR.params.retentions[0] && r.policy === "Parallel" && r.replicas === 20);
        if (one && twenty) {
            const line = Object.keys(one.methods)
                .map((m) => `\`${m}\` ${(twenty.methods[m].wallMs.median / one.methods[m].wallMs.median).toFixed(1)}×`)
                .join(", ");
            const allMet = Object.keys(one.methods).every((m) => twenty.methods[m].wallMs.median / one.methods[m].wallMs.median <= 2);
            rows.push([`Parallel 20 replicas ≤ 2× 1 replica (retention ${rolloutR.params.retentions[0]})`, line, allMet ? "met" : "**missed** by some"]);
        }
    } else {
        rows.push(["Parallel 20 replicas ≤ 2× 1 replica", rolloutR ? `not measured: ${rolloutR.reason}` : "not run", "unknown"]);
    }
    sections.targets = table(["target", "measured (median ratio)", "verdict"], rows);
}

// ------------------------------------------------------------------------------------------ write
let doc = fs.readFileSync(opts.doc, "utf8");
for (const [name, body] of Object.entries(sections)) {
    const begin = `<!-- bench:${name}:begin (generated by npm run bench / bench/report.ts) -->`;
    const end = `<!-- bench:${name}:end -->`;
    const re = new RegExp(`<!-- bench:${name}:begin[^>]*-->[\\s\\S]*?<!-- bench:${name}:end -->`);
    if (!re.test(doc)) {
        process.stderr.write(`[bench] ${opts.doc} has no markers for '${name}'; skipped\n`);
        continue;
    }
    doc = doc.replace(re, () => `${begin}\n${body}\n${end}`);
}
fs.writeFileSync(opts.doc, doc);
process.stderr.write(`[bench] updated ${path.relative(ROOT, opts.doc)}\n`);

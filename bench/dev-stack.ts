/**
 * bench/dev-stack: a whole committed stack (default dev: `visits` and `datastore` native, `litecoin` a Helm
 * release, the data-load Job) from an empty namespace to everything Ready, three ways, side by side on one kwok
 * cluster of its own, samples interleaved round by round:
 *
 * - `kubectl` (the floor): `kubectl apply --server-side` of every object the program deploys (rendered under mocks
 *   before the clock starts, bench/lib/render-stack.ts; the Helm-deployed app's objects by `helm template
 *   --no-hooks`), then `kubectl rollout status` of each StatefulSet and `kubectl wait` for the data-load Job;
 * - `helm`: the objects the chart does not render (Namespace, Secrets, alert-rule ConfigMaps) by `kubectl apply
 *   --server-side`, then one `helm install --wait` per app with the values the program computes (helmValues(), the
 *   chart's hook Jobs included), run concurrently as helmfile does by default, then the data-load Job and its wait;
 * - `pulumi`: `pulumi up` of the stack on the real engine (deploy/engine.ts: CLI, kubernetes plugin, index.ts as the
 *   Automation API inline program in this process), with its phases (bench/lib/engine-events.ts), then a no-change
 *   `preview` timed apart.
 *
 * Each sample gets a fresh namespace (the stack's namespace renamed) and, for pulumi, a fresh file:// backend. kwok
 * runs no container: pods turn Ready and Job pods Succeeded on a timer, so this compares what the tools and the
 * control plane do, not the apps' start-up.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { engineSettings, ensureToolchain, openStack } from "../deploy/engine";
import { eventRecorder, Phases, phases } from "./lib/engine-events";
import {
    CHART,
    committedStackText,
    environment,
    fmtStats,
    helmBin,
    list,
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
    timed,
    writeResult,
    deleteNamespacesAndVolumes,
} from "./lib/common";

const USAGE = `
Usage: npx ts-node --transpile-only bench/dev-stack.ts [OPTIONS]

Starts a cluster of its own with scripts/cluster (CLUSTER_NAME=--cluster-name), then for each round (the first
--warmup rounds not recorded) and each method, in an order that rotates per round, deploys the whole committed stack
(--stack) into a fresh namespace and times it until every StatefulSet is Ready and the data-load Job complete:

  kubectl   the floor: kubectl apply --server-side of the program's objects (rendered under mocks before the clock;
            the Helm app by 'helm template --no-hooks') + rollout status of each StatefulSet + wait for the Job
  helm      kubectl apply --server-side of what the chart takes by name (Namespace, Secrets, alert-rule ConfigMaps),
            one 'helm install --wait' per app (hooks included) run concurrently, then the data-load Job and its wait
  pulumi    pulumi up of the stack (real engine, inline program, fresh file:// backend), then a no-change preview
            (timed apart)

After each round the namespaces are deleted and the run waits until their volumes are gone (not timed). Exit codes:
0 ok; 2 usage; 3 no cluster (an 'unavailable' result is written); 1 a run failed. Result:
bench/results/dev-stack.json (or --out).
`;

const opts = parseArgs(USAGE, {
    stack: { default: "dev", help: "Committed stack to deploy (Pulumi.<stack>.yaml)." },
    methods: { default: "kubectl,helm,pulumi", help: "Methods, comma-separated." },
    repeat: { default: "3", help: "Recorded rounds." },
    warmup: { default: "1", help: "Unrecorded rounds first (loads the program's modules into this process, warms caches)." },
    nodes: { default: "6", help: "Fake nodes of the bench cluster." },
    "cluster-name": { default: "stateful-apps-bench", help: "CLUSTER_NAME for scripts/cluster." },
    timeout: { default: "600", help: "Timeout of each command of a sample (apply, rollout status, helm install, wait), seconds." },
    ...QUIET_OPTIONS,
    out: { help: "Result file (default bench/results/dev-stack.json)." },
});
const METHODS = ["kubectl", "helm", "pulumi"] as const;
type Method = (typeof METHODS)[number];
const methods = list(opts.methods) as Method[];
for (const m of methods) {
    if (!METHODS.includes(m)) {
        process.stderr.write(`unknown method ${m}; known: ${METHODS.join(", ")}\n`);
        process.exit(2);
    }
}
const stackName = opts.stack;
const repeat = positiveInt("repeat", opts.repeat);
const warmup = /^\d+$/.test(opts.warmup)
    ? Number(opts.warmup)
    : (process.stderr.write(`--warmup must be a whole number, not '${opts.warmup}'\n`), process.exit(2));
const timeoutS = positiveInt("timeout", opts.timeout);
if (!fs.existsSync(path.join(ROOT, `Pulumi.${stackName}.yaml`))) {
    process.stderr.write(`no Pulumi.${stackName}.yaml\n`);
    process.exit(2);
}

const helm = helmBin();
// Everything that can fail before the cluster exists comes first, so that a failure after it is inside run()'s
// try/finally, which deletes the cluster.
const toolchain = methods.includes("pulumi") ? ensureToolchain() : undefined;
const work = tempDir("dev-stack");
const pulumiState = methods.includes("pulumi") ? tempDir("dev-stack-pulumi-state") : "";
const quiet = quietFromOptions(opts);
const started = startBenchCluster(opts["cluster-name"], opts.nodes);
if (typeof started === "string") {
    writeResult(
        "dev-stack",
        { bench: "dev-stack", environment: environment(), params: { stack: stackName, methods }, status: "unavailable", reason: started },
        opts.out,
    );
    process.stderr.write(`bench/dev-stack: no cluster to measure on: ${started}\n`);
    fs.rmSync(work, { recursive: true, force: true });
    if (pulumiState) fs.rmSync(pulumiState, { recursive: true, force: true });
    process.exit(3);
}
const cluster = started;
const { kubeconfig, kubectl, k } = cluster;
const kenv = cluster.env;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

// ------------------------------------------------------------------------------------------ what each method deploys

interface Rendered {
    objects: Any[];
    releases: { app: string; namespace: string; values: Any }[];
    chartValues: Record<string, Any>;
}

/** The stack's objects in namespace `ns` (bench/lib/render-stack.ts in a child process: mocks, not the engine). */
function render(ns: string): Rendered {
    const out = path.join(work, `${ns}.rendered.json`);
    execFileSync("npx", ["--no-install", "ts-node", "--transpile-only", path.join(ROOT, "bench", "lib", "render-stack.ts"), stackName, ns, out], {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "inherit"],
    });
    return JSON.parse(fs.readFileSync(out, "utf8"));
}

/** `helm template --no-hooks` of one app with the stack's values for it: the objects of that release. */
function chartObjects(app: string, ns: string, valuesFile: string): Any[] {
    const t = spawnSync(helm, ["template", app, CHART, "--namespace", ns, "-f", valuesFile, "--no-hooks", "--skip-tests"], { encoding: "utf8" });
    if (t.status !== 0) {
        throw new Error(`helm template ${app} failed: ${t.stderr}`);
    }
    return t.stdout
        .split(/^---$/m)
        .map((d) => parse(d))
        .filter((o) => o && o.kind);
}

const key = (o: Any) => `${o.kind}/${o.metadata.name}`;
const yamlList = (items: Any[]) => items.map((o) => `---\n${stringify(o)}`).join("");

interface Plan {
    /** kubectl: every object, Namespace first. */
    floor: string;
    /** helm: what the chart takes by name or does not render (Namespace, Secrets, ConfigMaps), before the releases. */
    prelude: string;
    /** helm: the Jobs the program runs after the workloads (the data-load Job). */
    jobs: string;
    jobNames: string[];
    statefulSets: string[];
    /** app -> values file. */
    values: Record<string, string>;
}

function plan(ns: string): Plan {
    const r = render(ns);
    const values: Record<string, string> = {};
    const byApp: Record<string, Any[]> = {};
    for (const [app, v] of Object.entries(r.chartValues)) {
        values[app] = path.join(work, `${ns}-${app}.values.json`);
        fs.writeFileSync(values[app], JSON.stringify(v));
        byApp[app] = chartObjects(app, ns, values[app]);
    }
    const releaseObjects = r.releases.flatMap((rel) => byApp[rel.app].map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns } })));
    const floorObjects = [...r.objects, ...releaseObjects];
    const chartKeys = new Set(Object.values(byApp).flatMap((os) => os.map(key)));
    const jobs = r.objects.filter((o) => o.kind === "Job");
    return {
        floor: yamlList(floorObjects),
        prelude: yamlList(r.objects.filter((o) => o.kind !== "Job" && !chartKeys.has(key(o)))),
        jobs: yamlList(jobs),
        jobNames: jobs.map((j) => j.metadata.name),
        statefulSets: floorObjects.filter((o) => o.kind === "StatefulSet").map((o) => o.metadata.name),
        values,
    };
}

// ------------------------------------------------------------------------------------------ methods

interface Sample {
    method: Method;
    namespace: string;
    ms: number;
    /** The 1-minute load average just before the sample. */
    load: number;
    /** pulumi: the no-change preview right after the up, and the phases of both. */
    previewMs?: number;
    /**
     * pulumi: what the Automation API's `up` runs after the CLI's `up` exited, timed again apart (after the preview):
     * `stack output` twice (masked and plaintext) and `stack history`, three CLI processes.
     */
    apiReadsMs?: number;
    upPhases?: Phases;
    previewPhases?: Phases;
}

/** Bash that waits for every StatefulSet to roll out and every Job to complete ($1 kubectl, $2 namespace). */
function waitScript(p: Plan): string {
    return [
        ...p.statefulSets.map((s) => `"$1" -n "$2" rollout status statefulset/${s} --timeout=${timeoutS}s >/dev/null`),
        ...p.jobNames.map((j) => `"$1" -n "$2" wait --for=condition=complete job/${j} --timeout=${timeoutS}s >/dev/null`),
    ].join(" && ");
}

function measureKubectl(ns: string): Sample {
    const p = plan(ns);
    const file = path.join(work, `${ns}.floor.yaml`);
    fs.writeFileSync(file, p.floor);
    const r = timed("bash", ["-c", `"$1" apply --server-side --field-manager=bench -f "$3" >/dev/null && ${waitScript(p)}`, "floor", kubectl, ns, file], {
        env: kenv,
    });
    if (r.status !== 0) {
        throw new Error(`kubectl floor in ${ns} failed (${r.status}): ${r.stderr}`);
    }
    return { method: "kubectl", namespace: ns, ms: r.ms, load: r.load };
}

function measureHelm(ns: string): Sample {
    const p = plan(ns);
    const prelude = path.join(work, `${ns}.prelude.yaml`);
    const jobs = path.join(work, `${ns}.jobs.yaml`);
    fs.writeFileSync(prelude, p.prelude);
    fs.writeFileSync(jobs, p.jobs);
    // One install per app, concurrent; the values files are the script's arguments from $7 on. Every install is waited
    // for (a failed one fails the sample only after the others ended, so none outlives the script).
    const apps = Object.keys(p.values);
    const installs = apps
        .map((app, i) => `"$4" install ${app} "$5" -n "$2" -f "\${${7 + i}}" --wait --timeout ${timeoutS}s >/dev/null & pids+=($!)`)
        .join("; ");
    const script = [
        `set -e`,
        `"$1" apply --server-side --field-manager=bench -f "$3" >/dev/null`,
        `pids=(); ${installs}`,
        `rc=0; for p in "\${pids[@]}"; do wait "$p" || rc=1; done; [ "$rc" = 0 ]`,
        ...(p.jobNames.length ? [`"$1" apply --server-side --field-manager=bench -f "$6" >/dev/null`] : []),
        waitScript(p),
    ].join("\n");
    const r = timed("bash", ["-c", script, "helm-stack", kubectl, ns, prelude, helm, CHART, jobs, ...apps.map((a) => p.values[a])], { env: kenv });
    if (r.status !== 0) {
        throw new Error(`helm in ${ns} failed (${r.status}): ${r.stderr}`);
    }
    return { method: "helm", namespace: ns, ms: r.ms, load: r.load };
}

async function measurePulumi(ns: string): Promise<Sample> {
    const committed = parse(committedStackText(stackName, `kwok-${opts["cluster-name"]}`));
    committed.config["stateful-apps:namespace"] = { ...committed.config["stateful-apps:namespace"], name: ns };
    const settings = engineSettings({ STATEFUL_APPS_STATE_DIR: path.join(pulumiState, ns), HOME: process.env.HOME });
    const s = await openStack(stackName, { settings, toolchain, kubeconfig, stackFileText: stringify(committed) });
    const load = loadavg().one;
    const upRec = eventRecorder();
    let t0 = process.hrtime.bigint();
    upRec.start();
    await s.stack.up({ configFile: s.configFile, color: "never", onEvent: upRec.onEvent });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const previewRec = eventRecorder();
    t0 = process.hrtime.bigint();
    previewRec.start();
    await s.stack.preview({ configFile: s.configFile, expectNoChanges: true, color: "never", onEvent: previewRec.onEvent });
    const previewMs = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    await s.stack.outputs();
    await s.stack.history(1, undefined, false); // as Stack.up()'s info(false)
    const apiReadsMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return {
        method: "pulumi",
        namespace: ns,
        ms,
        load,
        previewMs,
        apiReadsMs,
        upPhases: phases(upRec.events, ms),
        previewPhases: phases(previewRec.events, previewMs),
    };
}

/** What every method must have reached when it returns: each StatefulSet Ready and rolled out, each Job complete. */
function checkDone(ns: string): void {
    const sets = JSON.parse(k(["-n", ns, "get", "statefulsets", "-o", "json"])).items;
    if (sets.length === 0) {
        throw new Error(`no StatefulSet in ${ns}`);
    }
    for (const s of sets) {
        if ((s.status.readyReplicas ?? 0) !== s.spec.replicas || s.status.updateRevision !== s.status.currentRevision) {
            throw new Error(`${ns}/${s.metadata.name}: ${s.status.readyReplicas ?? 0}/${s.spec.replicas} Ready, revision ${s.status.updateRevision}`);
        }
    }
    for (const j of JSON.parse(k(["-n", ns, "get", "jobs", "-o", "json"])).items) {
        const ownedByHelmHook = j.metadata.annotations?.["helm.sh/hook"];
        if (!ownedByHelmHook && !(j.status.conditions ?? []).some((c: Any) => c.type === "Complete" && c.status === "True")) {
            throw new Error(`${ns}/job ${j.metadata.name} is not complete`);
        }
    }
}

let counter = 0;
async function measure(method: Method, round: number): Promise<Sample> {
    const ns = `devstack-${round}-${method}-${++counter}`;
    const s = method === "kubectl" ? measureKubectl(ns) : method === "helm" ? measureHelm(ns) : await measurePulumi(ns);
    checkDone(ns);
    return s;
}

async function run(): Promise<void> {
    const samples: Sample[] = [];
    try {
        deleteNamespacesAndVolumes(k, "devstack-", timeoutS);
        for (let round = 0; round < warmup + repeat; round++) {
            const shift = round % methods.length;
            for (const m of [...methods.slice(shift), ...methods.slice(0, shift)]) {
                const s = await measure(m, round);
                const recorded = round >= warmup;
                if (recorded) samples.push(s);
                const preview = s.previewMs !== undefined ? `, no-change preview ${s.previewMs.toFixed(0)} ms` : "";
                log(`${recorded ? `round ${round - warmup + 1}/${repeat}` : "warm-up"} ${m}: ${s.ms.toFixed(0)} ms${preview} (load ${s.load})`);
            }
            if (round < warmup + repeat - 1) deleteNamespacesAndVolumes(k, "devstack-", timeoutS); // the last round's go with the cluster
        }
    } finally {
        cluster.down();
        fs.rmSync(work, { recursive: true, force: true });
        if (pulumiState) fs.rmSync(pulumiState, { recursive: true, force: true });
    }
    const by = Object.fromEntries(methods.map((m) => [m, samples.filter((s) => s.method === m)]));
    const upMs = Object.fromEntries(methods.map((m) => [m, stats(by[m].map((s) => s.ms))]));
    const floor = upMs.kubectl?.median;
    const helmMs = upMs.helm?.median;
    const pulumiMs = upMs.pulumi?.median;
    for (const m of methods) console.log(`${m.padEnd(8)} ${fmtStats(upMs[m])}`);
    const file = writeResult(
        "dev-stack",
        {
            bench: "dev-stack",
            environment: environment(),
            params: { stack: stackName, methods, repeat, warmup, nodes: Number(opts.nodes), clusterName: opts["cluster-name"] },
            status: "measured",
            quiet,
            loadAtEnd: loadavg().raw,
            helmVersion: execFileSync(helm, ["version", "--short"], { encoding: "utf8" }).trim(),
            upMs,
            previewMs: by.pulumi ? stats(by.pulumi.map((s) => s.previewMs ?? 0)) : undefined,
            apiReadsMs: by.pulumi ? stats(by.pulumi.map((s) => s.apiReadsMs ?? 0)) : undefined,
            pulumiOverFloor: floor && pulumiMs ? pulumiMs / floor : undefined,
            pulumiOverHelm: helmMs && pulumiMs ? pulumiMs / helmMs : undefined,
            helmOverFloor: floor && helmMs ? helmMs / floor : undefined,
            samples,
        },
        opts.out,
    );
    log(`wrote ${path.relative(ROOT, file)}`);
}

run().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
});

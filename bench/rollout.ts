/**
 * bench/rollout: time to a Ready StatefulSet on the local kwok-backed cluster (scripts/cluster), per tool:
 * `helm install --wait` of the bundled chart versus the floor `kubectl apply --server-side` of the same rendered
 * objects + `kubectl rollout status`, for several replica counts and both pod management policies. kwok reports
 * pods Running/Ready without running containers, so these numbers measure control-plane and tool overhead, not
 * image pulls or application start-up. `pulumi` is `pulumi up` on the real engine (deploy/engine.ts: Pulumi CLI and
 * kubernetes plugin from scripts/pulumi-toolchain, index.ts as the Automation API inline program, a throwaway
 * `file://` backend), followed by a no-change `preview` (timed apart). After each install, every method is also
 * timed on a one-field change (the image tag) until the StatefulSet has rolled out.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { engineSettings, ensureToolchain, openStack } from "../deploy/engine";
import { helmValues } from "../lib/helm-values";
import { readStackConfig } from "../lib/stack-file";
import {
    benchStackText,
    CHART,
    devVisitsConfig,
    CHECKSUM,
    environment,
    fmtStats,
    helmBin,
    list,
    log,
    parseArgs,
    positiveInt,
    ROOT,
    stats,
    tempDir,
    timed,
    loadavg,
    QUIET_OPTIONS,
    quietFromOptions,
    startBenchCluster,
    writeResult,
    deleteNamespacesAndVolumes,
} from "./lib/common";

const USAGE = `
Usage: npx ts-node --transpile-only bench/rollout.ts [OPTIONS]

Starts a cluster of its own with scripts/cluster (CLUSTER_NAME=--cluster-name, so a cluster someone else is using
is left alone), then for every retention x policy x replicas cell and every repeat, in a fresh namespace per
sample, times each method until the StatefulSet is Ready:

  kubectl        kubectl apply --server-side of 'helm template --no-hooks --skip-tests' output (rendered before
                 the clock starts) + kubectl rollout status statefulset/<app>: the floor
  helm           helm install --wait (the chart's pre-install and post-install hook Jobs included)
  helm-no-hooks  helm install --wait --no-hooks
  pulumi         pulumi up of a one-app stack (the same app, its Secret created by the program inside the clock; the
                 namespace created before it, as for the others), then a no-change preview, timed apart
                 ('previewMs'). The program runs in this process (Automation API inline program), so from the
                 second sample on its modules are loaded: the CLI path with the Node.js language host would
                 also pay program evaluation (bench/eval.ts measures it) on every up and preview.

Then each method changes the image tag and is timed until the StatefulSet has rolled out ('updateMs'): helm
upgrade --wait; kubectl apply of the re-rendered objects + rollout status; pulumi up + rollout status (the
provider's StatefulSet await can return before the rollout starts: docs/DAY-2.md "Day-2 operations").

Values: helmValues() of the dev stack's 'visits' app with replicas, podManagementPolicy and PVC retention
(whenDeleted and whenScaled) replaced. After each repeat pass the namespaces are deleted and the run waits until
the PV controller has deleted their volumes too (not timed), so one pass's clean-up does not slow the next. The
cluster is deleted at the end unless --keep-cluster; an interrupted run leaves it up (the next run reuses it), so
stop it with: CLUSTER_NAME=<--cluster-name> bash scripts/cluster down.
--kcm-qps raises kube-controller-manager's API client rate limit (--kube-api-qps, burst 1.5x; default 20/30),
only when the cluster is created by this run.
Exit codes: 0 ok; 2 usage; 3 no cluster or no helm; 1 a run failed. Result: bench/results/rollout.json (or --out).
`;

const opts = parseArgs(USAGE, {
    replicas: { default: "1,5,20,50", help: "Replica counts." },
    policies: { default: "Parallel,OrderedReady", help: "podManagementPolicy values." },
    retention: { default: "Retain", help: "PVC retention (whenDeleted=whenScaled): Retain and/or Delete." },
    methods: { default: "kubectl,helm,helm-no-hooks,pulumi", help: "Methods, comma-separated." },
    repeat: { default: "2", help: "Samples per cell and method." },
    nodes: { default: "6", help: "Fake nodes (110 pods each) of the bench cluster." },
    "cluster-name": { default: "stateful-apps-bench", help: "CLUSTER_NAME for scripts/cluster." },
    "keep-cluster": { flag: true, help: "Leave the cluster up afterwards." },
    "kcm-qps": { default: "0", help: "kube-controller-manager --kube-api-qps for a cluster this run creates (0: its default, 20)." },
    timeout: { default: "900", help: "Per-sample timeout, seconds." },
    ...QUIET_OPTIONS,
    out: { help: "Result file (default bench/results/rollout.json)." },
});

const replicas = list(opts.replicas).map((r) => positiveInt("replicas", r));
const policies = list(opts.policies) as ("Parallel" | "OrderedReady")[];
const retentions = list(opts.retention) as ("Retain" | "Delete")[];
const methods = list(opts.methods);
const repeat = positiveInt("repeat", opts.repeat);
const timeoutS = positiveInt("timeout", opts.timeout);
for (const p of policies) {
    if (p !== "Parallel" && p !== "OrderedReady") {
        process.stderr.write(`unknown policy ${p}\n`);
        process.exit(2);
    }
}
for (const r of retentions) {
    if (r !== "Retain" && r !== "Delete") {
        process.stderr.write(`unknown retention ${r}\n`);
        process.exit(2);
    }
}
for (const m of methods) {
    if (!["kubectl", "helm", "helm-no-hooks", "pulumi"].includes(m)) {
        process.stderr.write(`unknown method ${m}\n`);
        process.exit(2);
    }
}

const helm = helmBin();
const kcmQps = Number(opts["kcm-qps"]) || 0;
const resultBase = {
    bench: "rollout",
    environment: environment(),
    params: { replicas, policies, retentions, methods, repeat, clusterName: opts["cluster-name"], nodes: Number(opts.nodes), kcmQps: kcmQps || "default (20)" },
};

function unavailable(reason: string): never {
    const file = writeResult("rollout", { ...resultBase, status: "unavailable", reason }, opts.out);
    process.stderr.write(`bench/rollout: no cluster to measure on: ${reason}\n(wrote ${path.relative(ROOT, file)}; see 'bash scripts/cluster --help')\n`);
    process.exit(3);
}

if (!fs.existsSync(path.join(ROOT, "scripts", "cluster"))) {
    unavailable("scripts/cluster does not exist in this work tree");
}
const qpsArgs = kcmQps
    ? [
          "--",
          "--extra-args",
          `kube-controller-manager=kube-api-qps=${kcmQps}`,
          "--extra-args",
          `kube-controller-manager=kube-api-burst=${Math.round(kcmQps * 1.5)}`,
      ]
    : [];
const started = startBenchCluster(opts["cluster-name"], opts.nodes, qpsArgs);
if (typeof started === "string") {
    unavailable(started);
}
const cluster = started;
const { kubeconfig, kubectl, k } = cluster;
const kenv = cluster.env;

let tornDown = false;
function teardown(): void {
    if (tornDown || opts["keep-cluster"]) {
        return;
    }
    tornDown = true;
    cluster.down();
}

const quiet = quietFromOptions(opts);

// ------------------------------------------------------------------------------------------ values
const visits = readStackConfig(ROOT, "dev").apps.find((a) => a.name === "visits");
if (!visits) {
    throw new Error("Pulumi.dev.yaml has no 'visits' app");
}
const APP = visits.name;
const work = tempDir("rollout");
/** The image tag of the one-field change each method is timed on after its install (kwok pulls nothing). */
const UPDATE_TAG = `${visits!.image.tag}-update`;
function valuesFile(retention: string, policy: string, n: number, tag = visits!.image.tag): string {
    const f = path.join(work, `values-${retention}-${policy}-${n}-${tag}.json`);
    if (!fs.existsSync(f)) {
        const app = {
            ...visits!,
            image: { ...visits!.image, tag },
            replicas: n,
            podManagementPolicy: policy,
            pvcRetention: { whenDeleted: retention, whenScaled: retention },
        } as typeof visits;
        fs.writeFileSync(f, JSON.stringify(helmValues(app!, CHECKSUM)));
    }
    return f;
}

// ------------------------------------------------------------------------------------------ pulumi
const pulumiState = methods.includes("pulumi") ? tempDir("rollout-pulumi-state") : "";
const toolchain = methods.includes("pulumi") ? ensureToolchain() : undefined;
const rawVisits = devVisitsConfig();
/** A one-app stack file: the dev stack's app with the cell's replicas, policy and retention, in namespace `ns`. */
function stackText(ns: string, retention: string, policy: string, n: number, tag?: string): string {
    const image = rawVisits.image as Record<string, unknown>;
    const app = {
        ...rawVisits,
        ...(tag ? { image: { ...image, tag } } : {}),
        replicas: n,
        podManagementPolicy: policy,
        pvcRetention: { whenDeleted: retention, whenScaled: retention },
    };
    return benchStackText(`kwok-${opts["cluster-name"]}`, ns, [app]);
}

// ------------------------------------------------------------------------------------------ samples
interface Sample {
    ms: number;
    load: number;
    namespace: string;
    /** pulumi only: the no-change preview right after the up. */
    previewMs?: number;
    /** The one-field change after the install (image tag), to the StatefulSet rolled out. */
    updateMs?: number;
}
type Cell = { retention: string; policy: string; replicas: number; methods: Record<string, Sample[]> };
const cells: Cell[] = [];
for (const retention of retentions) {
    for (const policy of policies) {
        for (const n of replicas) {
            cells.push({ retention, policy, replicas: n, methods: Object.fromEntries(methods.map((m) => [m, []])) });
        }
    }
}

let counter = 0;
async function measurePulumi(ns: string, cell: Cell): Promise<Sample> {
    // A fresh file:// backend per sample: stack `dev` (the committed stack file the runner starts from) with this
    // sample's one-app config in place of the committed one.
    const settings = engineSettings({ STATEFUL_APPS_STATE_DIR: path.join(pulumiState, ns), HOME: process.env.HOME });
    const s = await openStack("dev", { settings, toolchain, kubeconfig, stackFileText: stackText(ns, cell.retention, cell.policy, cell.replicas) });
    const load = loadavg().one;
    let t0 = process.hrtime.bigint();
    await s.stack.up({ configFile: s.configFile, color: "never" });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    await s.stack.preview({ configFile: s.configFile, expectNoChanges: true, color: "never" });
    const previewMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // The image-tag change, to rolled out: `up`, then `kubectl rollout status`, because the provider's StatefulSet
    // await (v4.25.0) can return before the controller has seen the change (docs/DAY-2.md "Day-2 operations").
    const changed = await openStack("dev", {
        settings,
        toolchain,
        kubeconfig,
        stackFileText: stackText(ns, cell.retention, cell.policy, cell.replicas, UPDATE_TAG),
    });
    t0 = process.hrtime.bigint();
    await changed.stack.up({ configFile: changed.configFile, color: "never" });
    k(["-n", ns, "rollout", "status", `statefulset/${APP}`, `--timeout=${timeoutS}s`]);
    const updateMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, load, namespace: ns, previewMs, updateMs };
}

/** `kubectl apply --server-side` of a values file's rendered objects + `rollout status`, in one timed shell. */
function kubectlApply(ns: string, values: string, name: string): ReturnType<typeof timed> {
    const rendered = path.join(work, `${ns}-${name}.yaml`);
    const t = spawnSync(helm, ["template", APP, CHART, "--namespace", ns, "-f", values, "--no-hooks", "--skip-tests"], { encoding: "utf8" });
    if (t.status !== 0) {
        throw new Error(`helm template failed: ${t.stderr}`);
    }
    fs.writeFileSync(rendered, t.stdout);
    // One shell so the clock covers both commands and nothing else.
    return timed(
        "bash",
        [
            "-c",
            `"$0" apply --server-side --field-manager=bench -n "$1" -f "$2" >/dev/null && "$0" -n "$1" rollout status "statefulset/$3" --timeout="$4s" >/dev/null`,
            kubectl,
            ns,
            rendered,
            APP,
            String(timeoutS),
        ],
        { env: kenv },
    );
}

async function measure(method: string, cell: Cell): Promise<Sample> {
    const ns = `bench-${++counter}-${method}`.slice(0, 63);
    k(["create", "namespace", ns]);
    if (method === "pulumi") {
        const s = await measurePulumi(ns, cell);
        const ready = k(["-n", ns, "get", "statefulset", APP, "-o", "jsonpath={.status.readyReplicas}"]);
        if (Number(ready) !== cell.replicas) {
            throw new Error(`pulumi in ${ns} returned with ${ready}/${cell.replicas} ready`);
        }
        return s;
    }
    // The chart takes the Secret by name (existingSecret); the program creates it natively before the release.
    k(["-n", ns, "create", "secret", "generic", `${APP}-credentials`, `--from-literal=password=bench`]);
    const values = valuesFile(cell.retention, cell.policy, cell.replicas);
    let r;
    const extra = method === "helm-no-hooks" ? ["--no-hooks"] : [];
    if (method === "kubectl") {
        r = kubectlApply(ns, values, "install");
    } else {
        r = timed(helm, ["install", APP, CHART, "-n", ns, "-f", values, "--wait", "--timeout", `${timeoutS}s`, ...extra], { env: kenv });
    }
    if (r.status !== 0) {
        throw new Error(`${method} in ${ns} failed (${r.status}): ${r.stderr}`);
    }
    const ready = k(["-n", ns, "get", "statefulset", APP, "-o", "jsonpath={.status.readyReplicas}"]);
    if (Number(ready) !== cell.replicas) {
        throw new Error(`${method} in ${ns} returned with ${ready}/${cell.replicas} ready`);
    }
    // The image-tag change, to rolled out.
    const updated = valuesFile(cell.retention, cell.policy, cell.replicas, UPDATE_TAG);
    const u =
        method === "kubectl"
            ? kubectlApply(ns, updated, "update")
            : timed(helm, ["upgrade", APP, CHART, "-n", ns, "-f", updated, "--wait", "--timeout", `${timeoutS}s`, ...extra], { env: kenv });
    if (u.status !== 0) {
        throw new Error(`${method} update in ${ns} failed (${u.status}): ${u.stderr}`);
    }
    return { ms: r.ms, load: r.load, namespace: ns, updateMs: u.ms };
}

async function run(): Promise<void> {
    try {
        deleteNamespacesAndVolumes(k, "bench-", timeoutS); // left by an interrupted run on a reused cluster
        for (let round = 0; round < repeat; round++) {
            for (const cell of cells) {
                const rotated = [...methods.slice((round + counter) % methods.length), ...methods.slice(0, (round + counter) % methods.length)];
                for (const m of rotated) {
                    const s = await measure(m, cell);
                    cell.methods[m].push(s);
                    const preview = s.previewMs !== undefined ? `, no-change preview ${s.previewMs.toFixed(0)} ms` : "";
                    log(
                        `round ${round + 1}/${repeat} ${cell.retention} ${cell.policy} x${cell.replicas} ${m}: ${s.ms.toFixed(0)} ms${preview}, image-tag update ${s.updateMs?.toFixed(0)} ms (load ${s.load})`,
                    );
                }
            }
            if (round < repeat - 1 || opts["keep-cluster"]) {
                deleteNamespacesAndVolumes(k, "bench-", timeoutS); // the last pass's objects go with the cluster
            }
        }
    } finally {
        teardown();
        fs.rmSync(work, { recursive: true, force: true });
        if (pulumiState) fs.rmSync(pulumiState, { recursive: true, force: true });
    }
    summarize();
}

function summarize(): void {
    // ------------------------------------------------------------------------------------------ summary
    const results = cells.map((c) => {
        const m = Object.fromEntries(
            Object.entries(c.methods).map(([k2, xs]) => [
                k2,
                { wallMs: stats(xs.map((x) => x.ms)), updateMs: stats(xs.map((x) => x.updateMs ?? 0)), samples: xs },
            ]),
        );
        const floor = m.kubectl?.wallMs.median;
        const h = m.helm?.wallMs.median;
        console.log(
            `${c.retention.padEnd(7)} ${c.policy.padEnd(13)} x${String(c.replicas).padEnd(3)} ${Object.entries(m)
                .map(([k2, x]) => `${k2} ${fmtStats(x.wallMs)}`)
                .join("; ")}`,
        );
        return {
            retention: c.retention,
            policy: c.policy,
            replicas: c.replicas,
            methods: m,
            pulumiPreviewMs: m.pulumi ? stats(c.methods.pulumi.map((x) => x.previewMs ?? 0)) : undefined,
            helmOverFloor: floor && h ? h / floor : undefined,
            pulumiOverFloor: floor && m.pulumi ? m.pulumi.wallMs.median / floor : undefined,
            pulumiOverHelm: h && m.pulumi ? m.pulumi.wallMs.median / h : undefined,
            pulumiUpdateOverFloor: m.kubectl && m.pulumi ? m.pulumi.updateMs.median / m.kubectl.updateMs.median : undefined,
            pulumiUpdateOverHelm: m.helm && m.pulumi ? m.pulumi.updateMs.median / m.helm.updateMs.median : undefined,
        };
    });
    const file = writeResult(
        "rollout",
        {
            ...resultBase,
            status: "measured",
            quiet,
            loadAtEnd: loadavg().raw,
            helmVersion: execFileSync(helm, ["version", "--short"], { encoding: "utf8" }).trim(),
            kubectlVersion: execFileSync(kubectl, ["version", "--client", "-o", "json"], { encoding: "utf8" }).match(/"gitVersion":\s*"([^"]+)"/)?.[1],
            results,
        },
        opts.out,
    );
    log(`wrote ${path.relative(ROOT, file)}`);
}

run().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
});

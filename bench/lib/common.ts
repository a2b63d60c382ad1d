/**
 * Shared helpers of the bench scripts: argument parsing, statistics, load average, the environment a result was
 * measured in, timing of child processes, stack configs as the Pulumi CLI hands them to the program, and the
 * result files under bench/results/.
 */
import { execFileSync, spawnSync, SpawnSyncOptions } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { stackFileConfig } from "../../lib/stack-file";

export const ROOT = path.resolve(__dirname, "..", "..");
export const RESULTS_DIR = path.join(ROOT, "bench", "results");
export const CHART = path.join(ROOT, "charts", "stateful-app");
export const PROJECT = "stateful-apps";
/** Stand-in for the Secret's SHA-256 in chart values (as tests/helm.ts does). */
export const CHECKSUM = "0".repeat(64);

// ---------------------------------------------------------------------------------------------- arguments

export interface OptionSpec {
    /** Default value as text; undefined for a flag. */
    readonly default?: string;
    readonly help: string;
    readonly flag?: boolean;
}

/**
 * Parses `--name value`, `--name=value` and `--flag`. Prints `usage` plus the options on --help and exits 0;
 * exits 2 on an unknown option.
 */
export function parseArgs(usage: string, spec: Record<string, OptionSpec>, argv = process.argv.slice(2)): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, s] of Object.entries(spec)) {
        if (s.default !== undefined) {
            out[k] = s.default;
        }
    }
    const help = () => {
        const lines = Object.entries(spec).map(
            ([k, s]) => `  --${k}${s.flag ? "" : " VALUE"}`.padEnd(30) + `${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ""}`,
        );
        return `${usage.trim()}\n\nOptions:\n${lines.join("\n")}\n${"  -h, --help".padEnd(30)}This text.\n`;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "-h" || a === "--help") {
            process.stdout.write(help());
            process.exit(0);
        }
        const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
        if (!m || !(m[1] in spec)) {
            process.stderr.write(`unknown argument '${a}'\n\n${help()}`);
            process.exit(2);
        }
        const s = spec[m[1]];
        if (s.flag) {
            out[m[1]] = "true";
        } else if (m[2] !== undefined) {
            out[m[1]] = m[2];
        } else if (i + 1 < argv.length) {
            out[m[1]] = argv[++i];
        } else {
            process.stderr.write(`--${m[1]} needs a value\n`);
            process.exit(2);
        }
    }
    return out;
}

export function positiveInt(name: string, text: string): number {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) {
        process.stderr.write(`--${name} must be a positive integer (given: ${text})\n`);
        process.exit(2);
    }
    return n;
}

export function list(text: string): string[] {
    return text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s);
}

// ---------------------------------------------------------------------------------------------- statistics

export interface Stats {
    readonly n: number;
    readonly median: number;
    readonly min: number;
    readonly max: number;
}

export function stats(xs: number[]): Stats {
    if (xs.length === 0) {
        return { n: 0, median: NaN, min: NaN, max: NaN };
    }
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    return { n: s.length, median, min: s[0], max: s[s.length - 1] };
}

/** `1234 ms (1100–1500, n=5)` */
export function fmtStats(s: Stats, unit = "ms", digits = 0): string {
    return `${s.median.toFixed(digits)} ${unit} (min ${s.min.toFixed(digits)}, max ${s.max.toFixed(digits)}, n=${s.n})`;
}

// ---------------------------------------------------------------------------------------------- load and environment

/** The 1-, 5- and 15-minute load averages and the whole /proc/loadavg line. */
export function loadavg(): { one: number; five: number; fifteen: number; raw: string } {
    const raw = fs.readFileSync("/proc/loadavg", "utf8").trim();
    const [one, five, fifteen] = raw.split(/\s+/).map(Number);
    return { one, five, fifteen, raw };
}

/** The `--quiet-load` and `--quiet-wait` options every benchmark takes (spread into its parseArgs spec). */
export const QUIET_OPTIONS: Record<string, OptionSpec> = {
    "quiet-load": { default: "0", help: "Wait until the 1-minute load average is below this first (0: don't wait)." },
    "quiet-wait": { default: "1200", help: "Longest wait for --quiet-load, seconds." },
};

/** Waits for a quiet machine as `--quiet-load`/`--quiet-wait` ask; undefined when not asked to wait. */
export function quietFromOptions(opts: Record<string, string>): ReturnType<typeof waitForQuiet> | undefined {
    return Number(opts["quiet-load"]) > 0 ? waitForQuiet(Number(opts["quiet-load"]), Number(opts["quiet-wait"])) : undefined;
}

/**
 * Waits until the 1-minute load average is below `threshold`, polling every 15 s for at most `maxSeconds`.
 * Returns what was seen, so a result can say whether it was recorded on a quiet machine.
 */
export function waitForQuiet(threshold: number, maxSeconds: number): { reached: boolean; waitedSeconds: number; load: string } {
    const start = Date.now();
    for (;;) {
        const l = loadavg();
        const waited = (Date.now() - start) / 1000;
        if (l.one < threshold) {
            return { reached: true, waitedSeconds: Math.round(waited), load: l.raw };
        }
        if (waited >= maxSeconds) {
            process.stderr.write(`[bench] load average still ${l.one} after ${Math.round(waited)} s; measuring anyway\n`);
            return { reached: false, waitedSeconds: Math.round(waited), load: l.raw };
        }
        process.stderr.write(`[bench] waiting for the 1-minute load average (${l.one}) to drop below ${threshold} (${Math.round(waited)} s so far)\n`);
        spawnSync("sleep", ["15"]);
    }
}

/** What a result was measured on: machine, tools and the work tree (other people's uncommitted edits included). */
export function environment(): Record<string, unknown> {
    const git = (args: string[]) => {
        try {
            return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).replace(/\n+$/, "");
        } catch {
            return "";
        }
    };
    return {
        date: new Date().toISOString(),
        host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() },
        node: process.version,
        gitHead: git(["rev-parse", "--short", "HEAD"]),
        // Program files with uncommitted changes when this was measured (the work tree is shared).
        dirtyProgramFiles: git(["status", "--porcelain", "--", "index.ts", "config", "components", "lib", "charts", "Pulumi.yaml", "tsconfig.json"])
            .split("\n")
            .filter((l) => l),
    };
}

// ---------------------------------------------------------------------------------------------- processes

/** Wall time of a child process in ms (spawn to exit), its output, and the load average just before it started. */
export function timed(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { ms: number; status: number; stdout: string; stderr: string; load: number } {
    const load = loadavg().one;
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 * 2 ** 20, ...opts });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.error) {
        throw new Error(`cannot run ${cmd}: ${r.error.message}`);
    }
    return { ms, status: r.status ?? -1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), load };
}

/** Helm from `scripts/toolchain` (built on first use by `npm test` / `scripts/toolchain helm`). */
export function helmBin(): string {
    const dir = execFileSync("bash", [path.join(ROOT, "scripts", "toolchain"), "--bin-dir"], { encoding: "utf8" }).trim();
    const helm = path.join(dir, "helm");
    if (!fs.existsSync(helm)) {
        process.stderr.write(`no helm at ${helm}: run 'bash scripts/toolchain helm' first\n`);
        process.exit(3);
    }
    return helm;
}

// ---------------------------------------------------------------------------------------------- config and results

/** Flattens a stack's config the way the CLI passes it (PULUMI_CONFIG): `<project>:<key>` → string (JSON for objects). */
export function flatConfig(config: Record<string, unknown>): Record<string, string> {
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        flat[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return flat;
}

/** `Pulumi.<stack>.yaml` overlaid on the project defaults, keys in full form. */
export function stackConfig(stack: string): Record<string, unknown> {
    return stackFileConfig(ROOT, stack);
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `bench-${prefix}-`));
}

export function writeResult(name: string, result: object, out?: string): string {
    const file = out ?? path.join(RESULTS_DIR, `${name}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    return file;
}

export function log(msg: string): void {
    process.stderr.write(`[bench] ${msg}\n`);
}

/** The dev stack's `visits` app as Pulumi.dev.yaml writes it (raw config: the schema's defaults not applied). */
export function devVisitsConfig(): Record<string, unknown> {
    const apps = stackFileConfig(ROOT, "dev")["stateful-apps:apps"] as Record<string, unknown>[];
    const visits = apps.find((a) => a.name === "visits");
    if (!visits) {
        throw new Error("Pulumi.dev.yaml has no 'visits' app");
    }
    return visits;
}

/** The committed `Pulumi.<stack>.yaml` with `kubernetes:context` pointed at `context` (the bench's own cluster). */
export function committedStackText(stack: string, context: string): string {
    return stringify({ config: { ...stackFileConfig(ROOT, stack), "kubernetes:context": context } });
}

/**
 * A stack file for the real engine (deploy/engine.ts `openStack` `stackFileText`) of `apps` (raw app configs) in
 * namespace `ns`, which the benchmark creates beforehand, on the cluster of kube context `context`, environment dev.
 */
export function benchStackText(context: string, ns: string, apps: Record<string, unknown>[]): string {
    return stringify({
        config: {
            "kubernetes:context": context,
            "stateful-apps:environment": "dev",
            "stateful-apps:namespace": { name: ns, create: false },
            "stateful-apps:apps": apps,
        },
    });
}

/**
 * Deletes the namespaces whose names start with `prefix` (through `kubectl`, a function that runs kubectl with the
 * bench cluster's kubeconfig and returns its stdout), waits until no PersistentVolume is left (the PV controller
 * deletes their volumes after the claims), then lets the control plane settle for 5 s, so that one pass's clean-up
 * does not slow the next pass's samples. Not timed; logs how long it took.
 *
 * @throws Error when volumes remain `timeoutS` seconds after the delete.
 */
export function deleteNamespacesAndVolumes(kubectl: (args: string[]) => string, prefix: string, timeoutS: number): void {
    const names = kubectl(["get", "namespaces", "-o", "name"])
        .split("\n")
        .filter((n) => n.startsWith(`namespace/${prefix}`));
    if (names.length === 0) {
        return;
    }
    const start = Date.now();
    kubectl(["delete", ...names, "--wait=true", `--timeout=${timeoutS}s`]);
    for (;;) {
        const pvs = kubectl(["get", "pv", "--no-headers", "--ignore-not-found"])
            .split("\n")
            .filter((l) => l.trim()).length;
        if (pvs === 0) {
            break;
        }
        if (Date.now() - start > timeoutS * 1000) {
            throw new Error(`${pvs} PersistentVolumes still there ${timeoutS} s after deleting the namespaces ${prefix}*`);
        }
        spawnSync("sleep", ["2"]);
    }
    spawnSync("sleep", ["5"]);
    log(`deleted ${names.length} namespaces and their volumes in ${((Date.now() - start) / 1000).toFixed(0)} s (not timed)`);
}

/** A benchmark's own local cluster (scripts/cluster with CLUSTER_NAME set), started by {@link startBenchCluster}. */
export interface BenchCluster {
    /** Path of its kubeconfig (never ~/.kube/config). */
    readonly kubeconfig: string;
    /** Path of our kubectl (the pinned version). */
    readonly kubectl: string;
    /** This process's environment with KUBECONFIG pointing at the cluster, for kubectl, helm and scripts. */
    readonly env: NodeJS.ProcessEnv;
    /** kubectl against the cluster: its stdout. @throws Error with kubectl's stderr unless it exits 0. */
    k(args: string[], input?: string): string;
    /** `scripts/cluster down` (no error when there is none). */
    down(): void;
}

/**
 * Starts the local cluster `name` with `nodes` fake nodes (`scripts/cluster up`; a cluster of that name that is already
 * up is reused), `upArgs` passed on (e.g. `-- --extra-args …`). Our kubectl's path is found before the cluster starts,
 * so nothing that can fail comes between the start and the caller's clean-up.
 *
 * @returns the cluster, or why `scripts/cluster up` failed (its output went to stderr).
 */
export function startBenchCluster(name: string, nodes: number | string, upArgs: string[] = []): BenchCluster | string {
    const script = path.join(ROOT, "scripts", "cluster");
    const clusterEnv = { ...process.env, CLUSTER_NAME: name };
    const kubectl = path.join(execFileSync("bash", [script, "bin-dir"], { env: clusterEnv, encoding: "utf8" }).trim(), "kubectl");
    log(`starting cluster ${name} (scripts/cluster up --nodes ${nodes})`);
    const up = spawnSync("bash", [script, "up", "--nodes", String(nodes), ...upArgs], {
        env: clusterEnv,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    });
    if (up.status !== 0) {
        return `scripts/cluster up exited ${up.status}`;
    }
    const kubeconfig = up.stdout.trim().split("\n").pop() ?? "";
    const env = { ...process.env, KUBECONFIG: kubeconfig };
    return {
        kubeconfig,
        kubectl,
        env,
        k(args, input) {
            const r = spawnSync(kubectl, args, { env, encoding: "utf8", input, maxBuffer: 64 * 2 ** 20 });
            if (r.status !== 0) {
                throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
            }
            return r.stdout;
        },
        down() {
            log(`deleting cluster ${name}`);
            spawnSync("bash", [script, "down"], { env: clusterEnv, stdio: ["ignore", "ignore", "inherit"] });
        },
    };
}

/**
 * Program evaluation in fresh Node.js processes (bench/lib/eval-child.cjs) in the ways the Node.js language host
 * can run it, `helm template` of the bundled chart with the same apps' values, and CPU-profile aggregation.
 * Shared by bench/eval.ts and bench/scale.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { helmValues } from "../../lib/helm-values";
import { AppConfig } from "../../config/schema";
import { CHART, CHECKSUM, ROOT, tempDir, timed } from "./common";

const CHILD = path.join(ROOT, "bench", "lib", "eval-child.cjs");

/** How the language host runs the program. */
export interface Variant {
    readonly name: string;
    readonly label: string;
    /** Pulumi.yaml runtime options that select it. */
    readonly pulumiYaml: string;
    /** The transpiler ts-node must report for it (eval-child.cjs `transpiler`); a mismatch fails the evaluation. */
    readonly transpiler: "none" | "typescript-typecheck" | "typescript-transpile-only" | "swc";
    /**
     * tsconfig.json's "ts-node" section for this variant when it differs from the checkout's (which selects SWC):
     * the variant runs in projectDir(tsNode) instead of the checkout. Absent: the checkout as committed.
     */
    readonly tsNode?: Record<string, unknown>;
}

/** tsconfig.json's "ts-node" section with SWC turned off: how the TypeScript-compiler variants run (projectDir()). */
const TSC_TRANSPILER = { swc: false };

export const VARIANTS: Record<string, Variant> = {
    typecheck: {
        name: "typecheck",
        label: "ts-node with type-checking (Pulumi's default)",
        pulumiYaml: 'typescript: true (default); tsconfig.json without "ts-node": { "swc": true } (with it, ts-node would run SWC without type-checking)',
        transpiler: "typescript-typecheck",
        tsNode: TSC_TRANSPILER,
    },
    transpile: {
        name: "transpile",
        label: "ts-node transpile-only, registered by Pulumi",
        pulumiYaml: "typescript: true + tsconfig option naming a tsconfig with noCheck: true (or PULUMI_NODEJS_TRANSPILE_ONLY=true)",
        transpiler: "typescript-transpile-only",
        tsNode: TSC_TRANSPILER,
    },
    "nodeargs-tsc": {
        name: "nodeargs-tsc",
        label: "ts-node transpile-only with the TypeScript compiler, preloaded by nodeargs (the setting before SWC)",
        pulumiYaml: 'typescript: false, nodeargs: "--require ts-node/register/transpile-only", tsconfig.json without "ts-node": { "swc": true }',
        transpiler: "typescript-transpile-only",
        tsNode: TSC_TRANSPILER,
    },
    nodeargs: {
        name: "nodeargs",
        label: "ts-node transpile-only with the SWC transpiler (@swc/core), preloaded by nodeargs: the committed setting",
        pulumiYaml: 'typescript: false, nodeargs: "--require ts-node/register/transpile-only", tsconfig.json "ts-node": { "swc": true }',
        transpiler: "swc",
    },
    js: {
        name: "js",
        label: "precompiled JavaScript (tsc output)",
        pulumiYaml: "typescript: false, main: <tsc outDir> (needs a build step before every preview/up)",
        transpiler: "none",
    },
    "js-lazy-sdk": {
        name: "js-lazy-sdk",
        label: "what-if: precompiled JS, SDK without its eager closure-serialization imports",
        pulumiYaml: "none: stubs @pulumi/pulumi's import-time loads of typescript and @npmcli/arborist (unused here)",
        transpiler: "none",
    },
};

export function variantNames(text: string): string[] {
    const names = text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s);
    for (const n of names) {
        if (!(n in VARIANTS)) {
            process.stderr.write(`unknown variant '${n}'; known: ${Object.keys(VARIANTS).join(", ")}\n`);
            process.exit(2);
        }
    }
    return names;
}

/** Phase end times reported by the child, ms since its process started. */
export interface ChildTimes {
    start: number;
    tsSetup: number;
    sdkLoaded: number;
    mocksSet: number;
    programLoaded: number;
    programRun: number;
}

export interface ChildResult {
    readonly t: ChildTimes;
    readonly registrations: number;
    /** The transpiler ts-node used (`none` without ts-node) and whether @swc/core was loaded. */
    readonly transpiler: string;
    readonly swcLoaded: boolean;
    readonly modulesLoaded: number;
    readonly modules?: Record<string, { files: number; bytes: number }>;
    readonly compileMs?: number;
    readonly compiledFiles?: number;
    readonly loadSelfMs?: Record<string, number>;
}

/**
 * Compiles the program with tsc into a temporary directory (with node_modules linked, so its requires resolve)
 * and returns that directory. The time tsc took is returned too: the price of a build step per change.
 */
export function buildJs(): { dir: string; tscMs: number } {
    const dir = tempDir("js");
    const out = path.join(dir, "out");
    fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({
            extends: path.join(ROOT, "tsconfig.json"),
            compilerOptions: {
                outDir: out,
                rootDir: ROOT,
                noEmit: false,
                sourceMap: false,
                types: ["node"],
                typeRoots: [path.join(ROOT, "node_modules", "@types")],
            },
            include: [],
            files: [path.join(ROOT, "index.ts")],
        }),
    );
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const r = timed(process.execPath, [tsc, "-p", path.join(dir, "tsconfig.json")], { cwd: ROOT });
    if (r.status !== 0 || !fs.existsSync(path.join(out, "index.js"))) {
        throw new Error(`tsc failed (${r.status}):\n${r.stdout}${r.stderr}`);
    }
    // The program reads files next to its sources (charts/, observability/ resolved from __dirname): link every
    // top-level entry tsc did not emit. A real precompiled setup would have to ship them beside the JS too.
    for (const entry of fs.readdirSync(ROOT)) {
        if (entry !== ".git" && !fs.existsSync(path.join(out, entry))) {
            fs.symlinkSync(path.join(ROOT, entry), path.join(out, entry));
        }
    }
    return { dir: out, tscMs: r.ms };
}

/**
 * The project directory of a variant whose tsconfig.json "ts-node" section differs from the checkout's: what the
 * language host would see with that tsconfig.json, without touching the checkout: a temporary directory whose
 * tsconfig.json is the checkout's with the "ts-node" section replaced (a copy, not `extends`: Pulumi's
 * `tsutils.loadTypeScriptCompilerOptions`, which the typecheck and transpile variants use as cmd/run does, reads the
 * file's own compilerOptions and does not follow `extends`). Every other top-level entry is a symlink
 * to the checkout, so the program's modules load from the checkout's real paths (node resolves symlinks), and
 * ts-node finds this tsconfig.json by its usual search from the working directory, as it would in the project
 * directory. Made on first use per setting, removed when the process exits.
 */
const projectDirs = new Map<string, string>();
function projectDir(tsNode: Record<string, unknown>): string {
    const key = JSON.stringify(tsNode);
    let dir = projectDirs.get(key);
    if (!dir) {
        const made = tempDir("ts-node-project");
        process.on("exit", () => fs.rmSync(made, { recursive: true, force: true }));
        for (const entry of fs.readdirSync(ROOT)) {
            if (entry !== ".git" && entry !== "tsconfig.json") {
                fs.symlinkSync(path.join(ROOT, entry), path.join(made, entry));
            }
        }
        const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8"));
        fs.writeFileSync(path.join(made, "tsconfig.json"), `${JSON.stringify({ ...tsconfig, "ts-node": tsNode }, null, 4)}\n`);
        projectDirs.set(key, made);
        dir = made;
    }
    return dir;
}

/** The node command line of a variant. */
function childCommand(
    variant: string,
    jsDir: string | undefined,
    stack: string,
    configFile: string,
    extra: string[],
    nodeFlags: string[] = [],
): { args: string[]; cwd: string } {
    const tsNode = VARIANTS[variant]?.tsNode;
    const dir = tsNode ? projectDir(tsNode) : ROOT;
    switch (variant) {
        case "typecheck":
        case "transpile":
            return { args: [...nodeFlags, CHILD, variant, dir, stack, configFile, ...extra], cwd: dir };
        case "nodeargs":
        case "nodeargs-tsc":
            // Node resolves --require from the working directory: the language host runs in the project directory.
            return { args: [...nodeFlags, "--require", "ts-node/register/transpile-only", CHILD, "none", dir, stack, configFile, ...extra], cwd: dir };
        case "js":
        case "js-lazy-sdk":
            if (!jsDir) {
                throw new Error(`variant ${variant} needs buildJs() first`);
            }
            return {
                args: [...nodeFlags, CHILD, "none", jsDir, stack, configFile, ...extra, ...(variant === "js-lazy-sdk" ? ["--stub-closure"] : [])],
                cwd: ROOT,
            };
        default:
            throw new Error(`unknown variant ${variant}`);
    }
}

/** One evaluation in a fresh process: wall time (spawn to exit) and what the child reported. */
export function evaluate(
    variant: string,
    jsDir: string | undefined,
    stack: string,
    configFile: string,
    extra: string[] = [],
    nodeFlags: string[] = [],
): { ms: number; load: number; child: ChildResult } {
    const { args, cwd } = childCommand(variant, jsDir, stack, configFile, extra, nodeFlags);
    const r = timed(process.execPath, args, { cwd });
    if (r.status !== 0) {
        throw new Error(`evaluation (${variant}, ${stack}) failed with ${r.status}:\n${r.stderr}`);
    }
    const line = r.stdout.trim().split("\n").pop() ?? "";
    const child = JSON.parse(line) as ChildResult;
    // A variant that ran another transpiler than its name says (say, tsconfig.json gained a "ts-node" section)
    // would be timed under the wrong label: refuse.
    const want = VARIANTS[variant].transpiler;
    if (child.transpiler !== want || child.swcLoaded !== (want === "swc")) {
        throw new Error(
            `evaluation (${variant}, ${stack}): ts-node used ${child.transpiler} (@swc/core ${child.swcLoaded ? "" : "not "}loaded), the variant needs ${want}; ` +
                `check the "ts-node" section of tsconfig.json and TS_NODE_* variables`,
        );
    }
    return { ms: r.ms, load: r.load, child };
}

/** Writes each app's chart values (helmValues(), as the Helm path computes them) to a file; returns app → file. */
export function writeValues(apps: AppConfig[], dir: string): Record<string, string> {
    const files: Record<string, string> = {};
    for (const app of apps) {
        const f = path.join(dir, `values-${app.name}.json`);
        fs.writeFileSync(f, JSON.stringify(helmValues(app, CHECKSUM)));
        files[app.name] = f;
    }
    return files;
}

/** `helm template` of the bundled chart for one app (every object, hooks and test Pod included). */
export function helmTemplate(helm: string, app: string, namespace: string, valuesFile: string): { ms: number; load: number } {
    const r = timed(helm, ["template", app, CHART, "--namespace", namespace, "-f", valuesFile], { cwd: ROOT });
    if (r.status !== 0) {
        throw new Error(`helm template ${app} failed:\n${r.stderr}`);
    }
    return { ms: r.ms, load: r.load };
}

// ---------------------------------------------------------------------------------------------- profiles

interface CpuProfile {
    nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
    samples: number[];
    timeDeltas: number[];
}

/** Package owning a file path (`@scope/name` or `name`), or undefined outside node_modules. */
export function packageOf(file: string): string | undefined {
    const marker = `${path.sep}node_modules${path.sep}`;
    const i = file.lastIndexOf(marker);
    if (i < 0) {
        return undefined;
    }
    const rest = file.slice(i + marker.length).split(path.sep);
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
}

const NAMED_PACKAGES: Record<string, string> = {
    typescript: "TypeScript compiler (typescript)",
    "ts-node": "ts-node",
    "@swc/core": "SWC transpiler (@swc/core)",
    "@pulumi/pulumi": "@pulumi/pulumi",
    "@pulumi/kubernetes": "@pulumi/kubernetes",
    "@pulumi/random": "@pulumi/random",
    "@grpc/grpc-js": "gRPC / protobuf",
    "google-protobuf": "gRPC / protobuf",
    zod: "zod",
    yaml: "yaml",
};

function categoryOf(fn: string, url: string): string {
    if (!url) {
        if (fn === "(garbage collector)") {
            return "V8 garbage collector";
        }
        if (fn === "(idle)") {
            return "idle (waiting for I/O)";
        }
        return "V8 native (parse, compile, runtime)";
    }
    if (url.startsWith("node:")) {
        return "Node.js internals (module loader, fs, ...)";
    }
    const file = url.startsWith("file://") ? new URL(url).pathname : url;
    const pkg = packageOf(file);
    if (pkg) {
        return NAMED_PACKAGES[pkg] ?? "other packages (npm/arborist, sigstore, ... loaded by @pulumi/pulumi)";
    }
    if (file.startsWith(path.join(ROOT, "bench"))) {
        return "bench driver";
    }
    return "project code";
}

export interface ProfileSummary {
    /** Self time by category, largest first. */
    readonly categories: { category: string; ms: number; pct: number }[];
    /** The functions with the most self time (`name (package or file)`). */
    readonly topFunctions: { fn: string; ms: number; pct: number }[];
}

/** Self time of a `.cpuprofile` by category and by function. */
export function aggregateProfile(file: string): ProfileSummary {
    const p = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    const fns = new Map<string, number>();
    let total = 0;
    p.samples.forEach((id, i) => {
        const n = byId.get(id);
        const us = p.timeDeltas[i] ?? 0;
        const cat = n ? categoryOf(n.callFrame.functionName, n.callFrame.url) : "unknown";
        self.set(cat, (self.get(cat) ?? 0) + us);
        if (n) {
            const url = n.callFrame.url.startsWith("file://") ? new URL(n.callFrame.url).pathname : n.callFrame.url;
            const where = packageOf(url) ?? (url ? path.relative(ROOT, url) : "native");
            const fn = `${n.callFrame.functionName || "(anonymous)"} (${where})`;
            fns.set(fn, (fns.get(fn) ?? 0) + us);
        }
        total += us;
    });
    const rows = <K extends string>(m: Map<string, number>, key: K) =>
        [...m.entries()]
            .map(([k, us]) => ({ [key]: k, ms: us / 1000, pct: (100 * us) / total }) as { [P in K]: string } & { ms: number; pct: number })
            .sort((a, b) => b.ms - a.ms);
    return { categories: rows(self, "category"), topFunctions: rows(fns, "fn").slice(0, 15) };
}

/** Runs one evaluation under `node --cpu-prof` and aggregates it. */
export function profileVariant(variant: string, jsDir: string | undefined, stack: string, configFile: string): { wallMs: number } & ProfileSummary {
    const dir = tempDir("prof");
    try {
        const r = evaluate(variant, jsDir, stack, configFile, [], ["--cpu-prof", "--cpu-prof-dir", dir]);
        const files = fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
        if (files.length !== 1) {
            throw new Error(`expected one profile in ${dir}, found ${files.length}`);
        }
        return { wallMs: r.ms, ...aggregateProfile(path.join(dir, files[0])) };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Groups first-load self times by package, keeping the biggest and summing the rest. */
export function topLoads(loadSelfMs: Record<string, number>, n = 8): { pkg: string; ms: number }[] {
    const entries = Object.entries(loadSelfMs).sort((a, b) => b[1] - a[1]);
    const top = entries.slice(0, n).map(([pkg, ms]) => ({ pkg, ms }));
    const rest = entries.slice(n).reduce((s, [, ms]) => s + ms, 0);
    return [...top, { pkg: `${entries.length - n} other packages`, ms: rest }];
}

/** Removes what buildJs() made (the temporary directory above its outDir). */
export function removeJs(jsDir: string | undefined): void {
    if (jsDir) {
        fs.rmSync(path.dirname(jsDir), { recursive: true, force: true });
    }
}

/* global require, process, console */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * One program evaluation in a fresh Node.js process: what the Node.js language host pays on every
 * `pulumi preview`/`up` before the engine sees the first resource, minus the engine (Pulumi mocks answer
 * every registration in-process).
 *
 *   node [NODEARGS] bench/lib/eval-child.cjs MODE ROOT STACK CONFIG_JSON_FILE [--phases] [--registrations FILE]
 *
 * MODE: `typecheck` registers ts-node exactly as @pulumi/pulumi's cmd/run does for `typescript: true`
 * (same options, computed by the SDK's own tsutils; ts-node then type-checks every project file it loads),
 * `transpile` does the same with transpileOnly (what `noCheck: true` in the tsconfig Pulumi uses, or
 * PULUMI_NODEJS_TRANSPILE_ONLY=true, selects), `none` registers nothing (cmd/run with `typescript: false`):
 * ROOT is then either tsc output (index.js), or the TypeScript sources with a hook preloaded by NODEARGS
 * (`--require ts-node/register/transpile-only`, what Pulumi.yaml's `nodeargs` passes; ts-node reads the
 * tsconfig.json of the working directory, whose "ts-node" section may select the SWC transpiler).
 * Prints one JSON line on stdout: phase end times in ms since the process started (performance.now()), and which
 * transpiler ts-node used (`transpiler`: none, typescript-typecheck, typescript-transpile-only or swc).
 * `--phases` also times TypeScript compilation and the first load of each package (self time, nested loads
 * excluded), at some cost in overhead. `--registrations FILE` writes every RegisterResource request the mock
 * monitor receives (type, name, inputs, parent, provider, dependencies, options; not the source position) and the
 * program's resolved outputs to FILE as canonical JSON (keys and requests sorted), so that variants can be checked
 * to register the same.
 */
"use strict";
const { performance } = require("perf_hooks");
const path = require("path");
const fs = require("fs");

const t = { start: performance.now() };
const [mode, root, stack, configFile, ...flags] = process.argv.slice(2);
const phases = flags.includes("--phases");
const registrationsFile = flags.includes("--registrations") ? flags[flags.indexOf("--registrations") + 1] : undefined;
if (!["typecheck", "transpile", "none"].includes(mode) || !root || !stack || !configFile || (flags.includes("--registrations") && !registrationsFile)) {
    console.error("usage: eval-child.cjs typecheck|transpile|none ROOT STACK CONFIG_JSON_FILE [--phases] [--registrations FILE]");
    process.exit(2);
}
// Module resolution starts from the program's directory, like the language host's `require(program)`.
const requireFromRoot = require("module").createRequire(path.join(root, "index.js"));

// Per-package self time of first loads (`--phases`).
const loadSelf = {};
if (phases) {
    const Module = require("module");
    const original = Module._load;
    const stackOfLoads = [];
    Module._load = function (request, parent, isMain) {
        let filename;
        try {
            filename = Module._resolveFilename(request, parent, isMain);
        } catch {
            return original.apply(this, arguments);
        }
        if (Module._cache[filename] || !path.isAbsolute(filename)) {
            return original.apply(this, arguments);
        }
        const owner = ownerOf(filename);
        const frame = { owner, begin: performance.now(), nested: 0 };
        stackOfLoads.push(frame);
        try {
            return original.apply(this, arguments);
        } finally {
            stackOfLoads.pop();
            const total = performance.now() - frame.begin;
            loadSelf[owner] = (loadSelf[owner] ?? 0) + total - frame.nested;
            if (stackOfLoads.length > 0) {
                stackOfLoads[stackOfLoads.length - 1].nested += total;
            }
        }
    };
}
function ownerOf(filename) {
    const i = filename.lastIndexOf(`${path.sep}node_modules${path.sep}`);
    if (i < 0) {
        return "(project)";
    }
    const rest = filename.slice(i + 14).split(path.sep);
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
}

let compileMs = 0;
let compiledFiles = 0;
function timeCompile(service) {
    const compile = service.compile.bind(service);
    service.compile = (code, fileName, lineOffset) => {
        const begin = performance.now();
        try {
            return compile(code, fileName, lineOffset);
        } finally {
            compileMs += performance.now() - begin;
            compiledFiles += 1;
        }
    };
}
// A ts-node preloaded with --require registers itself here.
const preloaded = process[Symbol.for("ts-node.register.instance")];
if (phases && preloaded) {
    timeCompile(preloaded);
}
/** Which transpiler a ts-node service uses: its options merge the register() call, TS_NODE_* and tsconfig's "ts-node". */
function transpilerOf(service) {
    if (!service) {
        return "none";
    }
    if (service.options.transpiler) {
        return `transpiler ${JSON.stringify(service.options.transpiler)}`;
    }
    if (service.options.swc && service.transpileOnly) {
        return "swc";
    }
    return service.transpileOnly ? "typescript-transpile-only" : "typescript-typecheck";
}
let transpiler = transpilerOf(preloaded);
if (mode !== "none") {
    // What @pulumi/pulumi/cmd/run/run.js does when PULUMI_NODEJS_TYPESCRIPT=true (CommonJS project).
    const tsutils = requireFromRoot("@pulumi/pulumi/tsutils");
    const tsConfigPath = path.join(root, "tsconfig.json");
    const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
    const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
    const tsn = requireFromRoot(tsnodeRequire);
    const service = tsn.register({
        compiler: typescriptRequire,
        // cmd/run passes PULUMI_NODEJS_TRANSPILE_ONLY, else the tsconfig's noCheck (undefined here: ts-node's default).
        transpileOnly: mode === "transpile" ? true : compilerOptions.noCheck,
        project: tsConfigPath,
        skipProject: !fs.existsSync(tsConfigPath),
        compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
    });
    if (phases) {
        timeCompile(service);
    }
    transpiler = transpilerOf(service);
}
t.tsSetup = performance.now();

// `--stub-closure`: what-if experiment. @pulumi/pulumi loads the TypeScript compiler (runtime/closure/parseFunction)
// and npm's arborist (runtime/closure/codePaths) at import time, for function serialization, which this program
// never uses. Pre-filling the module cache with empty modules shows what lazy imports in the SDK would save.
if (flags.includes("--stub-closure")) {
    const Module = require("module");
    const sdkDir = path.dirname(requireFromRoot.resolve("@pulumi/pulumi/package.json"));
    const requireFromSdk = Module.createRequire(path.join(sdkDir, "index.js"));
    for (const id of ["./typescript-shim", "@npmcli/arborist"]) {
        const file = requireFromSdk.resolve(id);
        if (!require.cache[file]) {
            const m = new Module(file);
            m.filename = file;
            m.loaded = true;
            m.exports = {};
            require.cache[file] = m;
        }
    }
}

const pulumi = requireFromRoot("@pulumi/pulumi");
t.sdkLoaded = performance.now();

let registrations = 0;
const mocks = {
    newResource(args) {
        registrations += 1;
        const state = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") {
            state.result = "x".repeat(args.inputs.length ?? 32);
        }
        if (args.type === "kubernetes:helm.sh/v3:Release") {
            state.status = { name: args.inputs.name, namespace: args.inputs.namespace, status: "deployed", revision: 1 };
        }
        return { id: `${args.name}-id`, state };
    },
    call(args) {
        return args.inputs;
    },
};

// `--registrations`: every RegisterResource request as the mock monitor receives it (inputs, parent, provider,
// dependencies, protect, ignoreChanges, aliases, ...), with the URN it answered. Left out: the source position and
// stack trace of the `new` (metadata for the engine's messages), which differ with the transpiler's source maps and
// with the paths of compiled output.
const registered = [];
if (registrationsFile) {
    const { MockMonitor } = requireFromRoot("@pulumi/pulumi/runtime/mocks");
    const original = MockMonitor.prototype.registerResource;
    MockMonitor.prototype.registerResource = function (req, callback) {
        const request = { ...req.toObject(), object: req.getObject()?.toJavaScript() };
        delete request.sourceposition;
        delete request.stacktrace;
        return original.call(this, req, (err, response) => {
            registered.push({ request, urn: response ? response.getUrn() : undefined, error: err ? String(err) : undefined });
            callback(err, response);
        });
    };
}

/**
 * The program reads the stack's namespace from its cluster before registering anything (config/index.ts). A
 * loopback stand-in answers those GETs with empty lists, under a kubeconfig naming the stack's context.
 */
function fakeCluster(context) {
    const http = require("http");
    const os = require("os");
    // Connection: close: an accepted keep-alive socket would hold this process open for the server's
    // keepAliveTimeout (5 s) after the program ends, which the benchmark would count as exit time.
    const server = http.createServer((_req, res) => res.writeHead(200, { "Content-Type": "application/json", Connection: "close" }).end('{"items":[]}'));
    return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () => {
            server.unref();
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eval-child-"));
            const file = path.join(dir, "kubeconfig.json");
            const cluster = { server: `http://127.0.0.1:${server.address().port}` };
            fs.writeFileSync(
                file,
                JSON.stringify({
                    apiVersion: "v1",
                    kind: "Config",
                    clusters: [{ name: "c", cluster }],
                    users: [{ name: "u", user: {} }],
                    contexts: [{ name: context, context: { cluster: "c", user: "u" } }],
                }),
            );
            process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
            resolve(file);
        }),
    );
}

async function main() {
    const config = JSON.parse(fs.readFileSync(configFile, "utf8"));
    process.env.KUBECONFIG = await fakeCluster(config["kubernetes:context"]);
    pulumi.runtime.setAllConfig(config, []);
    await pulumi.runtime.setMocks(mocks, "stateful-apps", stack, false, "organization");
    t.mocksSet = performance.now();

    const exported = requireFromRoot(path.join(root, "index"));
    t.programLoaded = performance.now();

    const program = typeof exported === "function" ? await exported() : exported;
    let outputs = 0;
    const resolved = {};
    for (const [key, value] of Object.entries(program)) {
        resolved[key] = await new Promise((resolve) => pulumi.output(value).apply(resolve));
        outputs += 1;
    }
    await pulumi.runtime.disconnect();
    t.programRun = performance.now();

    const loaded = Object.keys(require.cache);
    // An SWC transpiler that ts-node selected has loaded its native binding by now: say so.
    const swcLoaded = loaded.some((f) => f.includes(`${path.sep}node_modules${path.sep}@swc${path.sep}core${path.sep}`));
    const result = { mode, stack, t, registrations, outputs, transpiler, swcLoaded, modulesLoaded: loaded.length };
    if (registrationsFile) {
        // Sorted: the order in which concurrent registrations reach the monitor is not part of the result.
        const sorted = registered.map((r) => canonicalJson(r)).sort();
        fs.writeFileSync(registrationsFile, `${canonicalJson({ registrations: sorted.map((r) => JSON.parse(r)), outputs: resolved })}\n`);
    }
    if (phases) {
        // Modules and bytes of source loaded, by package.
        const modules = {};
        for (const f of loaded) {
            const o = ownerOf(f);
            const m = (modules[o] ??= { files: 0, bytes: 0 });
            m.files += 1;
            try {
                m.bytes += fs.statSync(f).size;
            } catch {
                // built-in or vanished
            }
        }
        result.modules = modules;
        result.compileMs = compileMs;
        result.compiledFiles = compiledFiles;
        result.loadSelfMs = loadSelf;
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** JSON with object keys sorted at every level, so that equal values give equal text. */
function canonicalJson(value) {
    return JSON.stringify(value, (_key, v) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(
                  Object.keys(v)
                      .sort()
                      .map((k) => [k, v[k]]),
              )
            : v,
    );
}

main().catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
});

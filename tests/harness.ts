/**
 * Runs the real program (`index.ts`) under Pulumi mocks with a stack's own config file, and records every
 * resource registration with its inputs and resource options (protect, retainOnDelete, ignoreChanges), which
 * the public mocks API does not expose.
 *
 * What this proves: the resource graph the program asks the engine for (kinds, names, specs, options). What it
 * does not: that a provider or a cluster accepts it (see docs/TESTING.md "What the tests prove").
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import type { LiveStatefulSet } from "../lib/kube-api";
import { DELETION_PROPAGATION_ANNOTATION, MANAGED_BY_LABEL, PART_OF_LABEL, STACK_ANNOTATION } from "../lib/names";
import { stackFileConfig as readStackFile } from "../lib/stack-file";

export const ROOT = path.resolve(__dirname, "..");
const PROJECT = "stateful-apps";
/** Pulumi's wire format marks a secret as `{ [SIG_KEY]: SECRET_SIG, value }` (sdk/nodejs/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One registration, as the engine would receive it. */
export interface Registration {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly parent: string;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly inputs: any;
    /** Input property paths (dotted) whose values were sent as secrets. */
    readonly secretPaths: string[];
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly ignoreChanges: string[];
    readonly dependsOn: string[];
    /** The provider reference (`<provider URN>::<id>`) of a custom resource; empty for the engine's default provider. */
    readonly provider: string;
    /** The aliases sent with the registration, as URNs or (JSON) alias specs. */
    readonly aliases: string[];
}

/** The result of one program run. */
export interface ProgramRun {
    readonly registrations: Registration[];
    /** Stack outputs, resolved. */
    readonly outputs: Record<string, unknown>;
    /** Stack output names whose values are Pulumi secrets. */
    readonly secretOutputs: string[];
    /** Registrations of a type token, e.g. `kubernetes:apps/v1:StatefulSet`. */
    ofType(type: string): Registration[];
    /** The Kubernetes object of a kind with a given `metadata.name`. */
    k8s(type: string, name: string): Registration;
}

let recording: Registration[] = [];
let patched = false;

function patchMockMonitor(): void {
    if (patched) {
        return;
    }
    patched = true;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
    const original = MockMonitor.prototype.registerResource;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    MockMonitor.prototype.registerResource = function (req: any, callback: any) {
        const raw = req.getObject()?.toJavaScript() ?? {};
        const wrapped = (err: unknown, response: { getUrn(): string } | undefined) => {
            if (!err && response) {
                recording.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: response.getUrn(),
                    parent: req.getParent(),
                    inputs: unwrapSecrets(raw),
                    secretPaths: secretPaths(raw, ""),
                    protect: req.getProtect() === true,
                    retainOnDelete: req.getRetainondelete() === true,
                    ignoreChanges: req.getIgnorechangesList(),
                    dependsOn: req.getDependenciesList(),
                    provider: req.getProvider(),
                    aliases: [
                        // eslint-disable-next-line @typescript-eslint/no-explicit-any
                        ...(req.getAliasesList?.() ?? []).map((a: any) => (typeof a === "string" ? a : JSON.stringify(a.toObject()))),
                        // eslint-disable-next-line @typescript-eslint/no-explicit-any
                        ...(req.getAliasspecsList?.() ?? []).map((a: any) => JSON.stringify(a.toObject())),
                    ],
                });
            }
            callback(err, response);
        };
        return original.call(this, req, wrapped);
    };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function isSecretValue(v: any): boolean {
    return v !== null && typeof v === "object" && v[SIG_KEY] === SECRET_SIG;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function unwrapSecrets(v: any): any {
    if (isSecretValue(v)) {
        return unwrapSecrets(v.value);
    }
    if (Array.isArray(v)) {
        return v.map(unwrapSecrets);
    }
    if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    }
    return v;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function secretPaths(v: any, at: string): string[] {
    if (isSecretValue(v)) {
        return [at];
    }
    if (v !== null && typeof v === "object") {
        return Object.entries(v).flatMap(([k, x]) => secretPaths(x, at ? `${at}.${k}` : k));
    }
    return [];
}

/**
 * The config a stack file gives the program, as the Pulumi CLI would pass it: project defaults from
 * Pulumi.yaml, then `Pulumi.<stack>.yaml`, keys `<project>:<key>`.
 */
export function stackFileConfig(stack: string): Record<string, unknown> {
    return readStackFile(ROOT, stack);
}

/** The PersistentVolumeClaims the fake API server lists, by name: requested size (set per run). */
let liveClaims: Record<string, string> = {};
/** The PriorityClasses the fake API server has (set per run). */
let livePriorityClasses: string[] = [];
/** Claim key of {@link liveClaims} -> the UID of the StatefulSet that owns it (ownerReferences). */
let liveClaimOwners: Record<string, string> = {};
/** The StorageClass every claim of {@link liveClaims} names (none when undefined). */
let liveClaimClass: string | undefined;
/** StorageClass name -> allowVolumeExpansion, for `GET /apis/storage.k8s.io/v1/storageclasses/<name>` and the list of all. */
let liveStorageClasses: Record<string, boolean> = {};
/** The StatefulSets the fake API server lists (set per run). */
let liveStatefulSets: LiveStatefulSet[] = [];
/** Paths the fake API server was asked for in the current run. */
let apiRequests: string[] = [];
let fakeKubeconfig: Promise<string> | undefined;

/**
 * A stand-in for the cluster's API server, on loopback, for the program's pre-flight read of the live PVCs
 * (config/index.ts `checkAgainstDeployed`): it answers `GET /api/v1/namespaces/<ns>/persistentvolumeclaims` with
 * {@link liveClaims}, `GET /apis/apps/v1/namespaces/<ns>/statefulsets` with {@link liveStatefulSets},
 * `GET /apis/storage.k8s.io/v1/storageclasses/<name>` with {@link liveStorageClasses}, and 404 otherwise. Returns a kubeconfig (a temp file) with the contexts of
 * `tests/fixtures/kubeconfig.yaml`, pointing at it. Started once per test process, unref'd so mocha can exit.
 */
function fakeApiServer(): Promise<string> {
    fakeKubeconfig ??= new Promise((resolve, reject) => {
        const server = http.createServer((req, res) => {
            apiRequests.push(req.url ?? "");
            const pvcList = /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims$/.exec(req.url ?? "");
            if (req.method === "GET" && pvcList) {
                // A key `<namespace>/<name>` is listed in that namespace only; a plain name in every namespace.
                const items = Object.entries(liveClaims)
                    .filter(([key]) => !key.includes("/") || key.startsWith(`${pvcList[1]}/`))
                    .map(([key, storage]) => ({
                        metadata: {
                            name: key.split("/").pop(),
                            ...(liveClaimOwners[key] ? { ownerReferences: [{ kind: "StatefulSet", uid: liveClaimOwners[key] }] } : {}),
                        },
                        spec: { ...(liveClaimClass ? { storageClassName: liveClaimClass } : {}), resources: { requests: { storage } } },
                    }));
                res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "PersistentVolumeClaimList", apiVersion: "v1", items }));
                return;
            }
            // Namespaced: the StatefulSets without a namespace or in that one; cluster-wide (a label selector): all of them.
            const stsList = /^\/apis\/apps\/v1\/(?:namespaces\/([^/]+)\/)?statefulsets(\?.*)?$/.exec(req.url ?? "");
            if (req.method === "GET" && stsList) {
                const items = liveStatefulSets
                    .filter((s) => stsList[1] === undefined || s.namespace === undefined || s.namespace === stsList[1])
                    .filter((s) => stsList[1] !== undefined || s.partOf !== undefined)
                    .map((s) => ({
                        metadata: {
                            name: s.name,
                            namespace: s.namespace ?? stsList[1] ?? "default",
                            ...(s.uid ? { uid: s.uid } : {}),
                            ...(s.generation !== undefined ? { generation: s.generation } : {}),
                            labels: {
                                ...(s.managedBy ? { [MANAGED_BY_LABEL]: s.managedBy } : {}),
                                ...(s.partOf ? { [PART_OF_LABEL]: s.partOf } : {}),
                            },
                            annotations: {
                                ...(s.orphanOnDelete ? { [DELETION_PROPAGATION_ANNOTATION]: "orphan" } : {}),
                                ...(s.stack ? { [STACK_ANNOTATION]: s.stack } : {}),
                            },
                        },
                        spec: {
                            ...(s.replicas !== undefined ? { replicas: s.replicas } : {}),
                            podManagementPolicy: s.podManagementPolicy,
                            ...(s.whenDeleted ? { persistentVolumeClaimRetentionPolicy: { whenDeleted: s.whenDeleted } } : {}),
                            volumeClaimTemplates: s.claimSize ? [{ spec: { resources: { requests: { storage: s.claimSize } } } }] : [],
                        },
                    }));
                res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "StatefulSetList", apiVersion: "apps/v1", items }));
                return;
            }
            const pc = /^\/apis\/scheduling\.k8s\.io\/v1\/priorityclasses\/([^/]+)$/.exec(req.url ?? "");
            if (req.method === "GET" && pc && livePriorityClasses.includes(pc[1])) {
                res.writeHead(200, { "Content-Type": "application/json" }).end(
                    JSON.stringify({ kind: "PriorityClass", metadata: { name: pc[1] }, value: 1000 }),
                );
                return;
            }
            const sc = /^\/apis\/storage\.k8s\.io\/v1\/storageclasses\/([^/]+)$/.exec(req.url ?? "");
            if (req.method === "GET" && sc && sc[1] in liveStorageClasses) {
                const body = {
                    kind: "StorageClass",
                    apiVersion: "storage.k8s.io/v1",
                    metadata: { name: sc[1] },
                    allowVolumeExpansion: liveStorageClasses[sc[1]],
                };
                res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
                return;
            }
            // The rollout watch (lib/rollout-watch.ts) in `up`: a listed StatefulSet keeps its generation (this run did not
            // change it); any other reads as rolled out with no replicas; no pods, no Warning events.
            const stsGet = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/statefulsets\/([^/?]+)$/.exec(req.url ?? "");
            if (req.method === "GET" && stsGet) {
                const known = liveStatefulSets.find((s) => s.name === stsGet[2]);
                const generation = known?.generation ?? 1;
                const body = { metadata: { name: stsGet[2], generation }, spec: { replicas: 0 }, status: { observedGeneration: generation } };
                res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
                return;
            }
            if (req.method === "GET" && /^\/api\/v1\/namespaces\/[^/]+\/(pods|events)\?/.test(req.url ?? "")) {
                res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ items: [] }));
                return;
            }
            if (req.method === "GET" && req.url === "/apis/storage.k8s.io/v1/storageclasses") {
                const items = Object.keys(liveStorageClasses).map((name) => ({ metadata: { name } }));
                res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "StorageClassList", items }));
                return;
            }
            res.writeHead(404).end("{}");
        });
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            server.unref();
            const port = (server.address() as { port: number }).port;
            const kubeconfig = parse(fs.readFileSync(path.join(ROOT, "tests", "fixtures", "kubeconfig.yaml"), "utf8"));
            kubeconfig.clusters[0].cluster.server = `http://127.0.0.1:${port}`;
            const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-kubeconfig-")), "kubeconfig.yaml");
            fs.writeFileSync(file, stringify(kubeconfig));
            process.on("exit", () => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
            resolve(file);
        });
    });
    return fakeKubeconfig;
}

/** The API paths the program read in the last `runProgram` (the fake API server's log). */
export function lastRunApiRequests(): string[] {
    return [...apiRequests];
}

/**
 * Mocks: every resource gets an id; RandomPassword a deterministic `result`; everything else echoes inputs.
 */
const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
        const state = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") {
            state.result = `generated-${args.name}-${"x".repeat(args.inputs.length ?? 32)}`.slice(0, args.inputs.length ?? 32);
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

/**
 * Runs `index.ts` once.
 *
 * @param config config by full key (`stateful-apps:apps`), values as in a stack file (objects allowed).
 * @param opts.stack the stack name. `opts.secrets`: extra secret config values by full key. `opts.claims`:
 *   the live PersistentVolumeClaims the fake API server lists, name (listed in every namespace) or
 *   `<namespace>/<name>` to requested size (default none); `opts.claimOwners`: claim key to the UID of the
 *   StatefulSet that owns it; `opts.priorityClasses`: the PriorityClasses it has (default none);
 *   `opts.statefulSets`: the live StatefulSets it lists (default none; those with `partOf` also cluster-wide). `opts.claimClass`: the StorageClass every
 *   listed claim names (default none); `opts.storageClasses`: the StorageClasses it answers, name to
 *   `allowVolumeExpansion` (default none).
 * @throws whatever the program throws (e.g. StackConfigError), before any registration.
 */
export async function runProgram(
    config: Record<string, unknown>,
    opts: {
        stack: string;
        secrets?: Record<string, string>;
        claims?: Record<string, string>;
        claimClass?: string;
        storageClasses?: Record<string, boolean>;
        statefulSets?: LiveStatefulSet[];
        claimOwners?: Record<string, string>;
        priorityClasses?: string[];
    } = { stack: "dev" },
): Promise<ProgramRun> {
    patchMockMonitor();
    recording = [];
    liveClaims = opts.claims ?? {};
    liveClaimOwners = opts.claimOwners ?? {};
    livePriorityClasses = opts.priorityClasses ?? [];
    liveClaimClass = opts.claimClass;
    liveStorageClasses = opts.storageClasses ?? {};
    liveStatefulSets = opts.statefulSets ?? [];
    apiRequests = [];
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        flat[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    for (const [k, v] of Object.entries(opts.secrets ?? {})) {
        flat[k] = v;
    }
    pulumi.runtime.setAllConfig(flat, Object.keys(opts.secrets ?? {}));
    // The program checks that the stack's kubernetes:context exists in the kubeconfig and reads the live PVCs (config/index.ts).
    process.env.KUBECONFIG = await fakeApiServer();
    await pulumi.runtime.setMocks(mocks, PROJECT, opts.stack, false, "organization");

    for (const id of Object.keys(require.cache)) {
        if (id.startsWith(ROOT) && !id.includes(`${path.sep}node_modules${path.sep}`)) {
            delete require.cache[id];
        }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(path.join(ROOT, "index.ts"));
    // index.ts exports an async function (Pulumi runs it and takes its result as the stack outputs).
    const program = typeof exported === "function" ? await exported() : exported;

    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [name, value] of Object.entries(program as Record<string, unknown>)) {
        const out: pulumi.Output<unknown> = pulumi.output(value);
        outputs[name] = await new Promise((resolve) => out.apply(resolve));
        if (await pulumi.isSecret(out)) {
            secretOutputs.push(name);
        }
    }
    await pulumi.runtime.disconnect();
    const registrations = [...recording];
    return {
        registrations,
        outputs,
        secretOutputs,
        ofType: (type) => registrations.filter((r) => r.type === type),
        k8s(type, name) {
            const found = registrations.filter((r) => r.type === type && r.inputs?.metadata?.name === name);
            if (found.length !== 1) {
                throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
            }
            return found[0];
        },
    };
}

/** The registrations of the last `runProgram`, including one that threw (a config error must leave none). */
export function lastRunRegistrations(): Registration[] {
    return [...recording];
}

/** Kubernetes type tokens used in assertions. */
export const T = {
    Namespace: "kubernetes:core/v1:Namespace",
    ServiceAccount: "kubernetes:core/v1:ServiceAccount",
    ConfigMap: "kubernetes:core/v1:ConfigMap",
    Secret: "kubernetes:core/v1:Secret",
    Service: "kubernetes:core/v1:Service",
    StatefulSet: "kubernetes:apps/v1:StatefulSet",
    PodDisruptionBudget: "kubernetes:policy/v1:PodDisruptionBudget",
    NetworkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    Job: "kubernetes:batch/v1:Job",
    ServiceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
    PrometheusRule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    Release: "kubernetes:helm.sh/v3:Release",
    RandomPassword: "random:index/randomPassword:RandomPassword",
    StatefulWorkload: "stateful-apps:index:StatefulWorkload",
    AppSecret: "stateful-apps:index:AppSecret",
    AppMonitoring: "stateful-apps:index:AppMonitoring",
    StatefulApp: "stateful-apps:index:StatefulApp",
    HelmStatefulApp: "stateful-apps:index:HelmStatefulApp",
} as const;

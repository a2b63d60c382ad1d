/**
 * Reads the stack configuration once, validates it and returns a frozen typed object. The only module that
 * touches `pulumi.Config`: components take typed args.
 *
 * Validation happens before `index.ts` registers any resource, so a bad stack file fails `pulumi preview`
 * and `pulumi up` without creating or changing anything.
 */
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { PROJECT, stackIdentity } from "../lib/names";
import type { ClusterArgs } from "../components/cluster";
import type { LiveNamespace } from "../lib/kube-api";
import { readNamespace } from "../lib/kube-api";
import { clusterConnection } from "../lib/kube-client";
import { kubeconfigContexts, KubeconfigFile, KubeconfigSources, kubeconfigSources } from "../lib/kubeconfig";
import type { RecreatePlan } from "../lib/recreate";
import type { MembershipStep } from "../lib/membership";
import { belongsToStack, departureCheck } from "./departures";
import { ConfigProblem, configKey, StackConfigError } from "./errors";
import { checkAgainstLive, classesToRead } from "./live";
import { parseStackConfig } from "./parse";
import { referencedSecretKeys, StackConfig } from "./schema";

export { StackConfig } from "./schema";

/** The stack config key that names the cluster (the kubernetes provider's own `context` setting). */
export const KUBE_CONTEXT_KEY = "kubernetes:context";

/** The `kubernetes:*` stack config keys the program reads and passes to its explicit provider (components/cluster.ts). */
const KUBE_KEYS = [KUBE_CONTEXT_KEY, "kubernetes:kubeconfig"];

const KUBE_CONTEXT_MISSING =
    "is required: the kubeconfig context of the cluster this stack deploys to (`pulumi config set kubernetes:context <name>`; " +
    "`kubectl config get-contexts` lists them). Without it an `up` would go to whatever context is current; with it, an `up` " +
    "where KUBECONFIG lacks that context fails before touching anything.";

/**
 * The stack's context must exist in the kubeconfig the provider will use. Checked here, before any resource is
 * registered, because the provider fails only at the first resource, after the engine has already stored the
 * new provider configuration (with the wrong context) in the state, where a later `destroy` would use it.
 */
function kubeContextProblems(context: string, sources: KubeconfigSources): ConfigProblem[] {
    const contexts = kubeconfigContexts(sources.files.map((f) => f.text));
    if (contexts.includes(context)) {
        return [];
    }
    return [
        {
            key: KUBE_CONTEXT_KEY,
            message:
                `names a context that ${sources.description} does not have (it has: ${contexts.join(", ") || "no kubeconfig or no contexts"}); ` +
                "point KUBECONFIG at that cluster's kubeconfig, or set kubernetes:context to the context of the cluster this stack is for",
            given: context,
        },
    ];
}

const SECRET_IN_PLAIN_KEY =
    "holds a secret value (a `secure:` entry inside it, or the whole key set with --secret), but the program reads this key as " +
    "plain config: the value would land in ConfigMaps, env vars and the state in plaintext. Keep secrets in keys of their own " +
    "(`pulumi config set --secret <key> …`) and name them with apps[i].secret (source: config, configKey: <key>)";

/**
 * Whether the engine marked a config key secret (`secure:` values, also nested ones, mark their whole top-level key).
 * `isConfigSecret` is @internal in @pulumi/pulumi (sdk/nodejs/runtime/config.ts, present in 3.270);
 * tests/config-secrets.test.ts fails if an SDK upgrade removes it.
 */
export function isConfigSecret(key: string): boolean {
    const fn = (runtimeConfig as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    return typeof fn === "function" ? fn(key) : false;
}

/** The validated stack config plus access to the secret values it names. */
export interface LoadedConfig {
    readonly stack: StackConfig;
    /** The cluster: `kubernetes:context` (required, found in the kubeconfig) and `kubernetes:kubeconfig` (optional). */
    readonly cluster: ClusterArgs;
    /** The kubeconfig files the provider will use (read once, for the context check and the pre-flight read). */
    readonly kubeconfigFiles: readonly KubeconfigFile[];
    /** The secret config value `<project>:<key>` (validated to exist), as a Pulumi secret Output. */
    readonly secret: (key: string) => pulumi.Output<string>;
}

/**
 * Loads and validates this stack's config (`Pulumi.<stack>.yaml`, namespace `stateful-apps`).
 *
 * Structured values (objects, arrays) arrive from Pulumi as JSON text and are parsed; scalars stay strings
 * unless they are JSON (`true`, `3`). Secret values named by `apps[*].secret.configKey` are never read in
 * plaintext: only their presence is checked, and they are handed out as secret Outputs.
 *
 * @throws a `pulumi.RunError` named StackConfigError (with the {@link StackConfigError}'s `problems`) naming each
 *   wrong key (`stateful-apps:apps[1].storage.size`), the value given and what is allowed, unknown keys included,
 *   and {@link KUBE_CONTEXT_KEY} when the stack does not name its cluster.
 */
export function loadConfig(): LoadedConfig {
    const config = new pulumi.Config(PROJECT);
    const prefix = `${PROJECT}:`;
    const raw: Record<string, unknown> = {};
    for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
        if (fullKey.startsWith(prefix)) {
            raw[fullKey.slice(prefix.length)] = undefined;
        }
    }
    // Keys holding secrets that apps reference are legitimate extra keys; read them only as secrets.
    const secretKeys = referencedSecretKeys(parseJson(config.get("apps")));
    const problems: ConfigProblem[] = [];
    for (const key of Object.keys(raw)) {
        if (secretKeys.has(key)) {
            delete raw[key];
        } else {
            if (isConfigSecret(`${prefix}${key}`)) {
                problems.push({ key: `${prefix}${key}`, message: SECRET_IN_PLAIN_KEY });
            }
            raw[key] = parseJson(config.get(key));
        }
    }
    const kubernetes = new pulumi.Config("kubernetes");
    const context = kubernetes.get("context");
    const kubeconfig = kubernetes.get("kubeconfig");
    const sources = kubeconfigSources(kubeconfig);
    problems.push(...(context ? kubeContextProblems(context, sources) : [{ key: KUBE_CONTEXT_KEY, message: KUBE_CONTEXT_MISSING }]));
    for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
        if (fullKey.startsWith("kubernetes:") && !KUBE_KEYS.includes(fullKey)) {
            problems.push({
                key: fullKey,
                message: `is a setting of the default kubernetes provider, which this program does not use (its provider is explicit: components/cluster.ts), so it would be ignored; allowed: ${KUBE_KEYS.join(", ")}`,
            });
        }
    }
    let stack: StackConfig | undefined;
    try {
        stack = parseStackConfig(raw, (key) => config.getSecret(key) !== undefined);
    } catch (e) {
        if (!(e instanceof StackConfigError)) throw e;
        problems.push(...e.problems);
    }
    if (problems.length > 0 || stack === undefined || context === undefined) {
        throw stackConfigRunError(problems);
    }
    return {
        stack,
        cluster: { context, ...(kubeconfig !== undefined ? { kubeconfig, kubeconfigIsSecret: isConfigSecret("kubernetes:kubeconfig") } : {}) },
        kubeconfigFiles: sources.files,
        secret: (key) => config.requireSecret(key),
    };
}

/**
 * A {@link StackConfigError} for `problems`, as a `pulumi.RunError` with the same message, name and `problems`: the
 * engine then prints the message once, without "Unhandled exception" and a stack trace (sdk/nodejs/runtime:
 * RunErrors are logged by message only).
 */
function stackConfigRunError(problems: readonly ConfigProblem[]): Error {
    const e = new StackConfigError(problems);
    return Object.assign(new pulumi.RunError(e.message), { name: e.name, problems: e.problems });
}

function parseJson(text: string | undefined): unknown {
    if (text === undefined) {
        return undefined;
    }
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/**
 * Reads the live PersistentVolumeClaims and StatefulSets of the stack's namespace from its cluster (the kubeconfig
 * and `kubernetes:context` the provider uses; two GETs, nothing is changed; plus one GET per StorageClass of the
 * claims a larger `storage.size` would grow) and stops the program with a {@link StackConfigError} when the config
 * asks for something Kubernetes would refuse, such as an app's `storage.size` below one of its PVCs, or above a PVC
 * whose StorageClass does not allow expansion. What `up` will do to the PVCs (storage growth) and changes that cannot
 * take effect by themselves (immutable StatefulSet fields) are logged as warnings, in `preview` too (config/live.ts
 * `checkAgainstLive`). Live PVCs, not the stack's state: they
 * outlive the StatefulSet (`kubectl delete --cascade=orphan`, `whenDeleted: Retain`) and the next StatefulSet
 * adopts them by name.
 *
 * Call it after {@link loadConfig} and before registering any resource.
 *
 * @returns `recreatePlans`: per app name, the StatefulSet recreate phase for this run (lib/recreate.ts), from the live
 *   StatefulSets; `generations`: per StatefulSet name in the stack's namespace, its `metadata.generation` now
 *   (lib/rollout-watch.ts waits for the rollouts this run starts); `membershipSteps`: per app name, the membership
 *   step a change of `replicas` against the live StatefulSet needs (lib/membership.ts), which preview has named.
 * @throws a `pulumi.RunError` named StackConfigError naming `stateful-apps:apps[i].storage.size`, or naming
 *   `kubernetes:context` when the cluster cannot be read (unreachable, refused credentials).
 */
export async function checkAgainstDeployed({ stack, cluster, kubeconfigFiles }: Pick<LoadedConfig, "stack" | "cluster" | "kubeconfigFiles">): Promise<{
    recreatePlans: ReadonlyMap<string, RecreatePlan>;
    generations: ReadonlyMap<string, number>;
    membershipSteps: ReadonlyMap<string, MembershipStep>;
}> {
    const context = cluster.context;
    const thisStack = stackIdentity(pulumi.getOrganization(), pulumi.getProject(), pulumi.getStack());
    let live: LiveNamespace;
    try {
        live = await readNamespace(
            clusterConnection(kubeconfigFiles, context),
            stack.namespace.name,
            (claims) => classesToRead(stack, claims),
            (s) => belongsToStack(s, thisStack, stack.namespace.name),
            stack.apps.flatMap((a) => (a.priorityClassName ? [a.priorityClassName] : [])),
            stack.apps.some((a) => a.storage.storageClass !== undefined),
        );
    } catch (e) {
        throw stackConfigRunError([
            {
                key: KUBE_CONTEXT_KEY,
                message: `names a cluster whose PersistentVolumeClaims and StatefulSets in namespace ${stack.namespace.name} (or the StorageClasses of claims that would grow) cannot be read (${(e as Error).message}); the program reads them before changing anything, to refuse a storage.size the PVCs cannot shrink or grow to and to warn about immutable fields`,
                given: context,
            },
        ]);
    }
    const { problems, warnings, plans, steps } = checkAgainstLive(stack, live);
    const departures = departureCheck(thisStack, stack, live);
    if (!live.elsewhere) {
        warnings.push(
            `${KUBE_CONTEXT_KEY}: the deploying identity may not list StatefulSets in every namespace, so this run checks only namespace ${stack.namespace.name} for apps it would delete; a change of ${configKey(["namespace", "name"])} is not checked (grant list on statefulsets cluster-wide)`,
        );
    }
    [...warnings, ...departures.warnings].forEach((w) => pulumi.log.warn(w));
    if (problems.length + departures.problems.length > 0) {
        throw stackConfigRunError([...departures.problems, ...problems]);
    }
    const generations = new Map(live.statefulSets.flatMap((s) => (s.generation !== undefined ? [[s.name, s.generation] as const] : [])));
    return { recreatePlans: plans, generations, membershipSteps: steps };
}

/**
 * The CrossGuard policies of this project: the rules of `rules.ts` wrapped as `@pulumi/policy` resource and
 * stack validations. Kept apart from `index.ts` because constructing a `PolicyPack` starts its gRPC server;
 * the tests import this module and call the validations directly.
 *
 * Per-stack policy config (`pulumi preview --policy-pack policy --policy-pack-config <file>`) is generated from
 * the stack's own config by `scripts/policy-config.ts`, so the stack file stays the single source of truth.
 */
import { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    disruptionBudgetViolations,
    headlessServiceViolations,
    imageViolations,
    K8sObject,
    labelViolations,
    loadBalancerViolations,
    Located,
    LONG_RUNNING_KINDS,
    podImageViolations,
    podSecurityViolations,
    podSpecOf,
    probeViolations,
    resourceViolations,
} from "./rules";

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Names of the policies, as the policy pack config and the engine's messages use them. */
export const POLICY_NAMES = [
    "pod-security-restricted",
    "resources-set",
    "probes-set",
    "image-pinned",
    "recommended-labels",
    "loadbalancer-allowed",
    "helm-release-bundled-chart",
    "helm-values-no-secrets",
    "statefulset-headless-service",
    "statefulset-disruption-budget",
] as const;

/** The kind of a Kubernetes resource from its props, or from its Pulumi type token (`kubernetes:apps/v1:StatefulSet`). */
export function kindOf(type: string, props: Record<string, any>): string | undefined {
    if (!type.startsWith("kubernetes:") || type.startsWith("kubernetes:helm.sh/")) {
        return undefined;
    }
    return typeof props.kind === "string" ? props.kind : type.split(":")[2];
}

function asObject(type: string, props: Record<string, any>): K8sObject | undefined {
    const kind = kindOf(type, props);
    return kind ? { ...props, kind } : undefined;
}

type Check = (obj: K8sObject, args: ResourceValidationArgs) => string[];

/** A resource policy over Kubernetes objects, reporting each message of `check`. */
function k8sPolicy(
    name: (typeof POLICY_NAMES)[number],
    description: string,
    check: Check,
    extra: Partial<ResourceValidationPolicy> = {},
): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        ...extra,
        validateResource: (args, report) => {
            const obj = asObject(args.type, args.props);
            if (obj) {
                check(obj, args).forEach((m) => report(m));
            }
        },
    };
}

/** A check of the PodSpec of workload kinds; other kinds pass. */
function onPodSpec(check: (podSpec: any) => string[]): Check {
    return (obj) => {
        const spec = podSpecOf(obj);
        return spec === undefined ? [] : check(spec);
    };
}

/** Kubernetes objects Helm hooks or the program create that are not part of an app (no app labels expected). */
const UNLABELLED_KINDS = ["CustomResourceDefinition"];

/**
 * A server-side apply patch resource (`kubernetes:core/v1:PersistentVolumeClaimPatch` and the like): it applies only
 * the fields it names to an object another manager made (a PVC made by the StatefulSet controller from the
 * volumeClaimTemplate), so the object's labels are not its to set.
 */
function isPatchType(type: string): boolean {
    return type.startsWith("kubernetes:") && type.endsWith("Patch");
}

/** Policy config of `image-pinned`. */
interface ImageConfig {
    environment: string;
    requireDigest: boolean;
}

/** Policy config of `loadbalancer-allowed`. */
interface LoadBalancerConfig {
    allowLoadBalancer: boolean;
}

const IMAGE_CONFIG_SCHEMA = {
    properties: {
        environment: { type: "string" as const, enum: ["dev", "staging", "prod"], default: "prod" },
        requireDigest: { type: "boolean" as const, default: false },
    },
};

/** The project's resource policies. */
export const resourcePolicies: ResourceValidationPolicy[] = [
    k8sPolicy(
        "pod-security-restricted",
        "Pod templates meet the Pod Security Standard restricted: non-root, no privilege escalation, drop ALL, seccomp RuntimeDefault, no host namespaces, hostPath or hostPort.",
        onPodSpec(podSecurityViolations),
        { severity: "critical", url: "https://kubernetes.io/docs/concepts/security/pod-security-standards/" },
    ),
    k8sPolicy("resources-set", "Every container sets CPU and memory requests and a memory limit.", onPodSpec(resourceViolations), { severity: "high" }),
    k8sPolicy(
        "probes-set",
        "Every container of a StatefulSet, Deployment or DaemonSet has readiness and liveness probes.",
        (obj) => (LONG_RUNNING_KINDS.includes(obj.kind ?? "") ? probeViolations(podSpecOf(obj)) : []),
        { severity: "high" },
    ),
    {
        name: "image-pinned",
        description:
            "Images carry a version tag, never latest; in prod a full major.minor.patch tag or a digest (requireDigest: digest only). Also checks the image values of Helm releases.",
        enforcementLevel: "mandatory",
        severity: "high",
        configSchema: IMAGE_CONFIG_SCHEMA,
        validateResource: (args, report) => {
            const opts = args.getConfig<ImageConfig>();
            const obj = asObject(args.type, args.props);
            if (obj) {
                const spec = podSpecOf(obj);
                if (spec !== undefined) {
                    podImageViolations(spec, opts).forEach((m) => report(m));
                }
                return;
            }
            if (args.type === "kubernetes:helm.sh/v3:Release") {
                for (const image of releaseImages(args.props.values ?? {})) {
                    imageViolations(image, opts).forEach((m) => report(`values: ${m}`));
                }
            }
        },
    },
    k8sPolicy(
        "recommended-labels",
        "Objects carry app.kubernetes.io/name, instance, managed-by and part-of; pod templates carry name and instance.",
        (obj, args) => (UNLABELLED_KINDS.includes(obj.kind ?? "") || isPatchType(args.type) ? [] : labelViolations(obj)),
        { severity: "low", url: "https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/" },
    ),
    {
        name: "loadbalancer-allowed",
        description: "Services of type LoadBalancer only in stacks that allow them (stack config allowLoadBalancer).",
        enforcementLevel: "mandatory",
        severity: "high",
        configSchema: { properties: { allowLoadBalancer: { type: "boolean", default: false } } },
        validateResource: (args, report) => {
            const obj = asObject(args.type, args.props);
            if (obj?.kind === "Service") {
                loadBalancerViolations(obj, args.getConfig<LoadBalancerConfig>().allowLoadBalancer).forEach((m) => report(m));
            } else if (
                args.type === "kubernetes:helm.sh/v3:Release" &&
                args.props.values?.service?.type === "LoadBalancer" &&
                !args.getConfig<LoadBalancerConfig>().allowLoadBalancer
            ) {
                report("values.service.type is LoadBalancer, which this stack does not allow (stack config allowLoadBalancer: false)");
            }
        },
    },
    {
        name: "helm-release-bundled-chart",
        description: "Helm releases install only the bundled chart charts/stateful-app, whose rendered objects the tests hold to these same rules.",
        enforcementLevel: "mandatory",
        severity: "high",
        validateResource: (args, report) => {
            if (args.type !== "kubernetes:helm.sh/v3:Release") {
                return;
            }
            const chart = String(args.props.chart ?? "");
            if (!/(^|[\\/])charts[\\/]stateful-app[\\/]?$/.test(chart) || args.props.repositoryOpts?.repo) {
                report(`release installs chart '${chart}'; only the bundled charts/stateful-app is allowed (its output is checked by the same rules)`);
            }
        },
    },
    {
        name: "helm-values-no-secrets",
        description: "Helm release values hold no secret values (Helm stores values in plaintext in the release Secret); pass existingSecret instead.",
        enforcementLevel: "mandatory",
        severity: "critical",
        validateResource: (args, report) => {
            if (args.type === "kubernetes:helm.sh/v3:Release") {
                secretLookingValues(args.props.values ?? {}, "values").forEach((p) =>
                    report(`${p} looks like a secret value; create a Secret and pass its name (existingSecret)`),
                );
            }
        },
    },
];

/** Image references in the bundled chart's values (`image.*`, `hooks.image`). */
export function releaseImages(values: Record<string, any>): string[] {
    const out: string[] = [];
    const img = values.image;
    if (img?.repository) {
        out.push(`${img.repository}${img.tag ? `:${img.tag}` : ""}${img.digest ? `@${img.digest}` : ""}`);
    }
    if (values.hooks?.enabled !== false && typeof values.hooks?.image === "string") {
        out.push(values.hooks.image);
    }
    return out;
}

/** Value paths whose key names a secret (password, token, secret, private key) and whose value is a non-empty string. */
export function secretLookingValues(values: unknown, at: string): string[] {
    if (Array.isArray(values)) {
        return values.flatMap((v, i) => secretLookingValues(v, `${at}[${i}]`));
    }
    if (values === null || typeof values !== "object") {
        return [];
    }
    return Object.entries(values as Record<string, unknown>).flatMap(([k, v]) => {
        const path = `${at}.${k}`;
        // Names of Secrets, keys inside them, env var names and checksum annotations are not secret material.
        const isReference = /^(existingSecret|secretKey|secretEnvName)$/.test(k) || /(Name|Key|Ref)$/.test(k) || k.startsWith("checksum/");
        if (typeof v === "string" && v !== "" && !isReference && /(password|passwd|token|secret|private[-_]?key|credentials?)$/i.test(k)) {
            return [path];
        }
        return secretLookingValues(v, path);
    });
}

function located(resources: readonly PolicyResource[]): Located[] {
    return resources.flatMap((r) => {
        const obj = asObject(r.type, r.props);
        return obj ? [{ id: r.urn, obj }] : [];
    });
}

/** The project's stack policies: relations between objects. */
export const stackPolicies: StackValidationPolicy[] = [
    {
        name: "statefulset-headless-service",
        description: "Each StatefulSet's serviceName names a headless Service of this stack that selects its pods.",
        enforcementLevel: "mandatory",
        severity: "high",
        validateStack: (args, report) => headlessServiceViolations(located(args.resources)).forEach((v) => report(v.message, v.id)),
    },
    {
        name: "statefulset-disruption-budget",
        description: "Each StatefulSet with more than one replica has a PodDisruptionBudget that allows at least one disruption.",
        enforcementLevel: "mandatory",
        severity: "high",
        validateStack: (args, report) => disruptionBudgetViolations(located(args.resources)).forEach((v) => report(v.message, v.id)),
    },
];

/** Every policy of the pack. */
export const policies = [...resourcePolicies, ...stackPolicies];

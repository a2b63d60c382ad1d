/**
 * The building blocks of the stack schema: field types that mirror a Kubernetes rule (quantities, int32 fields,
 * label keys and values, ConfigMap keys, image references) and the limits the rules share.
 */
import { z } from "zod";
import { quantityProblem, QuantityKind } from "../lib/quantity";

export const quantity = (kind: QuantityKind) =>
    z.string().superRefine((v, ctx) => {
        const problem = quantityProblem(v, kind);
        if (problem) {
            ctx.addIssue({ code: "custom", message: problem });
        }
    });

/**
 * The largest value of the int32 fields our config fills (seconds, thresholds, counts, UIDs and GIDs): the API
 * server cannot decode a larger number into them (k8s.io/api types; for UIDs/GIDs k8s.io/apimachinery
 * pkg/util/validation IsValidUserID/IsValidGroupID in 1.34: "must be between 0 and 2147483647, inclusive").
 */
export const INT32_MAX = 2_147_483_647;

/** An integer from `min` to {@link INT32_MAX}. */
export const int32 = (min: number, message?: string) =>
    z
        .number()
        .int()
        .min(min, message ? { message } : undefined)
        .max(INT32_MAX, { message: `must be ≤ ${INT32_MAX} (a Kubernetes int32 field)` });

export const seconds = (what: string, min: number) => int32(min, `${what} must be an integer number of seconds ≥ ${min}`);

/** An integer or a percentage string (`"25%"`), as PodDisruptionBudget and RollingUpdate fields take. */
export const intOrPercent = z.union([
    int32(0),
    z.string().regex(/^(100|[1-9]?\d)%$/, { message: "expected an integer ≥ 0 or a percentage from 0% to 100% such as 25%" }),
]);

/**
 * A ConfigMap or Secret data key: k8s.io/apimachinery pkg/util/validation IsConfigMapKey: at most 253 characters of
 * letters, digits, '-', '_' and '.', and neither '.', '..' nor anything starting with '..'.
 */
export const configMapKey = z
    .string()
    .regex(/^[-._a-zA-Z0-9]+$/, { message: "may use letters, digits, '-', '_' and '.' only" })
    .max(253, { message: "must be at most 253 characters" })
    .refine((k) => k !== "." && !k.startsWith(".."), { message: "must not be '.' or start with '..' (Kubernetes refuses such data keys)" });

/** A DNS-1123 subdomain (StorageClass names, label key prefixes): k8s.io/apimachinery pkg/util/validation IsDNS1123Subdomain. */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/**
 * A label key, `[prefix/]name`: k8s.io/apimachinery pkg/util/validation IsQualifiedName (name ≤ 63 characters of
 * letters, digits, '-', '_', '.', alphanumeric at both ends; prefix a DNS-1123 subdomain ≤ 253).
 */
export const labelKey = z.string().refine(
    (k) => {
        const parts = k.split("/");
        const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
        return (
            parts.length <= 2 &&
            name.length <= 63 &&
            LABEL_NAME.test(name) &&
            (prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix)))
        );
    },
    {
        message:
            "must be a label key: [prefix/]name, the name at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends; the prefix a DNS subdomain",
    },
);

/** A label value: k8s.io/apimachinery pkg/util/validation IsValidLabelValue (empty, or ≤ 63 characters as a label name). */
export const labelValueSchema = z
    .string()
    .max(63, { message: "must be a label value of at most 63 characters" })
    .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, {
        message: "must be a label value: letters, digits, '-', '_' or '.', alphanumeric at both ends (or empty)",
    });

/** Labels as Kubernetes takes them in `metadata.labels` and `matchLabels` (apimachinery ValidateLabels). */
export const labelMap = z.record(labelKey, labelValueSchema);

/**
 * An image reference as a plain string (`docker.io/library/busybox:1.37.0`): the API server refuses an empty one
 * and, for pods, one with leading or trailing whitespace (core/validation validateContainerCommon,
 * validateContainerOnlyForPod); inner whitespace fails at the kubelet (InvalidImageName).
 */
export const imageRef = z
    .string()
    .regex(/^\S+$/, { message: "must be an image reference such as docker.io/library/busybox:1.37.0 (not empty, no whitespace)" });

/**
 * A port name: an IANA service name (k8s.io/apimachinery pkg/util/validation IsValidPortName, RFC 6335 5.1): at most
 * 15 lowercase letters, digits and single '-' between them, starting with a letter.
 */
export const ianaPortName = z
    .string()
    .regex(/^[a-z](?:-?[a-z0-9])*$/, {
        message: "must be an IANA service name: lowercase letters, digits and single '-' between them, starting with a letter (e.g. http, rpc-2)",
    })
    .max(15, { message: "must be at most 15 characters (an IANA service name)" });

/** An environment variable name as this program accepts it: a C identifier (what shells and most apps can read). */
export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "must be a C identifier: letters, digits and '_', not starting with a digit" });

/** The image with `sh` and `nc` of the hook Jobs, the helm test Pod and the data-load wait (a pinned busybox). */
export const BUSYBOX_IMAGE = "docker.io/library/busybox:1.37.0";

/** Most bytes of data a ConfigMap may hold (core/validation ValidateConfigMap: `core.MaxSecretSize`, 1 MiB). */
export const MAX_CONFIGMAP_BYTES = 1024 * 1024;

/** Registries only the machine itself can reach: a node pulls from its own loopback, never from yours. */
export const LOOPBACK_REGISTRY = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?\//;

/**
 * Env vars the program sets on the app container itself from the pod's fields (name -> `fieldRef.fieldPath`, set by
 * lib/workload.ts podTemplate), besides `secret.envName`. Config may not set them.
 */
export const INJECTED_ENV = { POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace" } as const;

/** Most replicas an app may have: each pod's DNS name is listed in the stack outputs. */
export const MAX_REPLICAS = 1000;

/**
 * A NetworkPolicy peer: pods with `podLabels`, in namespaces with `namespaceLabels`, or both in one peer (pods with
 * those labels in those namespaces). One of them is required: k8s.io/kubernetes pkg/apis/networking/validation
 * ValidateNetworkPolicyPeer refuses an empty peer ("must specify a peer").
 */
export const networkPeer = z
    .strictObject({
        podLabels: labelMap.optional(),
        namespaceLabels: labelMap.optional(),
    })
    .refine((p) => p.podLabels !== undefined || p.namespaceLabels !== undefined, {
        message: "must give podLabels, namespaceLabels or both (an empty peer is refused by Kubernetes)",
    });

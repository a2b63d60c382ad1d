/**
 * Names and labels: one source of truth, so a selector can never drift from the pod labels it selects and the
 * native path and the chart name things alike.
 */

/** The Pulumi project name (Pulumi.yaml `name`); config keys are `<project>:<key>`. */
export const PROJECT = "stateful-apps";

/**
 * DNS-1035 label: what a Service name must be (lowercase alphanumerics and '-', starting with a letter, ending
 * alphanumeric). Every app name becomes a Service name, so apps follow the stricter of DNS-1123/DNS-1035.
 * Source: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#rfc-1035-label-names
 */
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** DNS-1123 label: namespaces and most object names (may start with a digit). At most 63 characters. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Longest app (StatefulSet) name: the StatefulSet controller labels each pod with
 * `controller-revision-hash: <name>-<10-char hash>`, and label values are at most 63 characters, so names longer
 * than 52 characters break pod creation (kubernetes/kubernetes#64023).
 */
export const MAX_APP_NAME = 52;

/**
 * Annotation on each app's StatefulSet (both paths) naming the Pulumi stack that deploys it ({@link stackIdentity}),
 * e.g. `stateful-apps/stack: organization/stateful-apps/dev`. The pre-flight read finds the stack's StatefulSets by it in every namespace, so that an
 * `up` that would delete one (an app removed or renamed, the namespace moved) is refused at preview
 * (config/departures.ts). An annotation, not a label: it is on the StatefulSet only, never on the pod template.
 */
export const STACK_ANNOTATION = `${PROJECT}/stack`;

/** The value of {@link STACK_ANNOTATION}: the stack's fully qualified name, `<organization>/<project>/<stack>`. */
export function stackIdentity(organization: string, project: string, stack: string): string {
    return `${organization}/${project}/${stack}`;
}

/** pulumi-kubernetes' annotation that sets the propagation policy of its delete (`orphan`, `background`, `foreground`). */
export const DELETION_PROPAGATION_ANNOTATION = "pulumi.com/deletionPropagationPolicy";

/** Suffix of the headless Service that governs a StatefulSet (`spec.serviceName`). */
export const HEADLESS_SUFFIX = "-headless";

/** Names of the objects one workload is made of. Both deployment paths use these names. */
export interface WorkloadNames {
    /** StatefulSet, client Service, ServiceAccount, PodDisruptionBudget, NetworkPolicy, Helm release. */
    readonly app: string;
    /** ConfigMap whose keys become environment variables (envFrom). */
    readonly envConfigMap: string;
    /** ConfigMap holding the config files, each mounted read-only by subPath. */
    readonly filesConfigMap: string;
    /** Headless Service (`clusterIP: None`), the StatefulSet's `serviceName`. */
    readonly headless: string;
    /** Secret holding the app's credentials. */
    readonly secret: string;
    /** The volumeClaimTemplate; PVCs are named `<volumeClaim>-<app>-<ordinal>`. */
    readonly volumeClaim: string;
    /** ConfigMap holding the mtail program of the metrics sidecar. */
    readonly mtailConfigMap: string;
    /** ConfigMap holding the alert rules file, or the PrometheusRule (Prometheus Operator). */
    readonly alertRules: string;
    /** Prefix of the data-load Job's name; the Job is `<dataLoad>-<hash of its spec>`. */
    readonly dataLoad: string;
}

/** Derives every object name of a workload from its app name. */
export function workloadNames(app: string): WorkloadNames {
    return {
        app,
        envConfigMap: `${app}-env`,
        filesConfigMap: `${app}-files`,
        headless: `${app}${HEADLESS_SUFFIX}`,
        secret: `${app}-credentials`,
        volumeClaim: "data",
        mtailConfigMap: `${app}-mtail`,
        alertRules: `${app}-alert-rules`,
        dataLoad: `${app}-data-load`,
    };
}

/**
 * Name of the PersistentVolumeClaim the StatefulSet controller makes for one ordinal from the volumeClaimTemplate:
 * `<template>-<StatefulSet>-<ordinal>`, e.g. `data-visits-0`
 * (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#stable-storage).
 */
export function claimName(app: string, ordinal: number): string {
    return `${workloadNames(app).volumeClaim}-${app}-${ordinal}`;
}

/** Matches the names of every PVC of `app`'s volumeClaimTemplate ({@link claimName}), whatever the ordinal. */
export function claimNamePattern(app: string): RegExp {
    return new RegExp(`^${workloadNames(app).volumeClaim}-${app}-\\d+$`);
}

/**
 * The selector labels: the subset of the recommended labels that never changes over an app's life (a
 * StatefulSet's `spec.selector` is immutable). Services, the PodDisruptionBudget and the NetworkPolicy select on
 * exactly these. Source: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
 */
export function selectorLabels(app: string): Record<string, string> {
    return { "app.kubernetes.io/name": app, "app.kubernetes.io/instance": app };
}

/** The recommended label naming the application an object belongs to (this program's: {@link PROJECT}). */
export const PART_OF_LABEL = "app.kubernetes.io/part-of";

/** The recommended label naming the tool that manages an object: `pulumi` (native path) or `Helm` (the chart). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

/**
 * The full set of recommended labels for every object of a workload (selector labels plus version,
 * component, part-of and managed-by).
 *
 * @param app the app name.
 * @param version the image tag (label values: at most 63 characters of `[A-Za-z0-9._-]`; anything else is
 *   replaced by `_` and truncated).
 * @param managedBy `"pulumi"` for the native path, `"Helm"` for the chart (Helm sets this value itself).
 */
export function recommendedLabels(app: string, version: string, managedBy: "pulumi" | "Helm"): Record<string, string> {
    return {
        ...selectorLabels(app),
        "app.kubernetes.io/version": labelValue(version),
        "app.kubernetes.io/component": "stateful-app",
        [PART_OF_LABEL]: PROJECT,
        [MANAGED_BY_LABEL]: managedBy,
    };
}

/** Makes any string a valid label value: `[A-Za-z0-9._-]`, at most 63 characters, alphanumeric at both ends. */
export function labelValue(text: string): string {
    return text
        .replace(/[^A-Za-z0-9._-]/g, "_")
        .slice(0, 63)
        .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/**
 * The stable DNS name of each pod of a StatefulSet: `<sts>-<i>.<headless>.<ns>.svc.<clusterDomain>`.
 * Source: https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#stable-network-id
 */
export function podDnsNames(app: string, namespace: string, replicas: number, clusterDomain: string): string[] {
    const { headless } = workloadNames(app);
    return Array.from({ length: replicas }, (_, i) => `${app}-${i}.${headless}.${namespace}.svc.${clusterDomain}`);
}

/** The client Service's DNS name: `<svc>.<ns>.svc.<clusterDomain>`. */
export function serviceDnsName(app: string, namespace: string, clusterDomain: string): string {
    return `${app}.${namespace}.svc.${clusterDomain}`;
}

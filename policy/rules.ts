/**
 * The guardrail rules as pure functions over plain Kubernetes objects (the shape `kubectl get -o json` or
 * `helm template` prints). The policy pack (`policies.ts`) applies them to what the Pulumi engine is about to
 * create; the tests apply the same functions to the chart's `helm template` output, so both deployment paths
 * meet one rule set.
 *
 * Each function returns human-readable violations (empty: compliant). None throws on missing fields: a missing
 * field is either a violation or not applicable.
 *
 * Deliberately independent of `lib/workload.ts`: the rules check the objects the program emits, not the config
 * the program was given, so a bug in the program is caught rather than repeated. Only the Kubernetes
 * disruption arithmetic (`allowedDisruptions`) is shared.
 */
import { allowedDisruptions } from "../lib/pdb";

/* eslint-disable @typescript-eslint/no-explicit-any */

/** A Kubernetes object as plain JSON. */
export interface K8sObject {
    readonly apiVersion?: string;
    readonly kind?: string;
    readonly metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    readonly spec?: any;
}

/** Workload kinds whose pod template the pod rules inspect, and where the PodSpec sits in each. */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
    Pod: ["spec"],
    StatefulSet: ["spec", "template", "spec"],
    Deployment: ["spec", "template", "spec"],
    DaemonSet: ["spec", "template", "spec"],
    ReplicaSet: ["spec", "template", "spec"],
    Job: ["spec", "template", "spec"],
    CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

/** Long-running kinds: they need readiness and liveness probes (a Job's pod runs to completion instead). */
export const LONG_RUNNING_KINDS: readonly string[] = ["StatefulSet", "Deployment", "DaemonSet", "ReplicaSet"];

/** The PodSpec of a workload object, or undefined when the kind has none. */
export function podSpecOf(obj: K8sObject): any | undefined {
    const path = obj.kind ? POD_SPEC_PATHS[obj.kind] : undefined;
    if (!path) {
        return undefined;
    }
    let node: any = obj;
    for (const part of path) {
        node = node?.[part];
    }
    return node ?? {};
}

/** The pod template's labels (or a Pod's own labels). */
export function podLabelsOf(obj: K8sObject): Record<string, string> {
    if (obj.kind === "Pod") {
        return obj.metadata?.labels ?? {};
    }
    if (obj.kind === "CronJob") {
        return obj.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {};
    }
    return obj.spec?.template?.metadata?.labels ?? {};
}

function containersOf(podSpec: any): { kind: "container" | "initContainer"; c: any }[] {
    return [
        ...((podSpec?.initContainers ?? []) as any[]).map((c) => ({ kind: "initContainer" as const, c })),
        ...((podSpec?.containers ?? []) as any[]).map((c) => ({ kind: "container" as const, c })),
    ];
}

/** Volume types the restricted Pod Security Standard allows. */
const RESTRICTED_VOLUME_TYPES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

/**
 * Violations of the Kubernetes Pod Security Standard `restricted` (v1.34) in a PodSpec: host namespaces,
 * privileged containers, capabilities other than dropping ALL (adding only NET_BIND_SERVICE), volume types
 * outside the allowed list (hostPath among them), hostPort, privilege escalation, running as root,
 * seccomp other than RuntimeDefault/Localhost, non-default /proc mounts.
 * Source: https://kubernetes.io/docs/concepts/security/pod-security-standards/ (the restricted profile).
 */
export function podSecurityViolations(podSpec: any): string[] {
    const out: string[] = [];
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (podSpec?.[f] === true) {
            out.push(`${f} must not be true`);
        }
    }
    for (const v of (podSpec?.volumes ?? []) as any[]) {
        const type = Object.keys(v).find((k) => k !== "name");
        if (type && !RESTRICTED_VOLUME_TYPES.includes(type)) {
            out.push(`volume '${v.name}' is of type ${type}; restricted allows ${RESTRICTED_VOLUME_TYPES.join(", ")}`);
        }
    }
    const pod = podSpec?.securityContext ?? {};
    if (pod.runAsUser === 0) {
        out.push("securityContext.runAsUser must not be 0 (root)");
    }
    for (const { kind, c } of containersOf(podSpec)) {
        const where = `${kind} '${c.name}'`;
        const sc = c.securityContext ?? {};
        if (sc.privileged === true) {
            out.push(`${where}: privileged must not be true`);
        }
        if (sc.allowPrivilegeEscalation !== false) {
            out.push(`${where}: securityContext.allowPrivilegeEscalation must be false`);
        }
        if (!(sc.runAsNonRoot === true || (sc.runAsNonRoot === undefined && pod.runAsNonRoot === true))) {
            out.push(`${where}: runAsNonRoot must be true (on the container or the pod)`);
        }
        if (sc.runAsUser === 0) {
            out.push(`${where}: runAsUser must not be 0 (root)`);
        }
        const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
        if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
            out.push(`${where}: seccompProfile.type must be RuntimeDefault or Localhost (on the container or the pod)`);
        }
        const drop: string[] = sc.capabilities?.drop ?? [];
        if (!drop.includes("ALL")) {
            out.push(`${where}: capabilities.drop must include ALL`);
        }
        const added = ((sc.capabilities?.add ?? []) as string[]).filter((cap) => cap !== "NET_BIND_SERVICE");
        if (added.length > 0) {
            out.push(`${where}: capabilities.add may only hold NET_BIND_SERVICE (given ${added.join(", ")})`);
        }
        if (sc.procMount !== undefined && sc.procMount !== "Default") {
            out.push(`${where}: procMount must be Default`);
        }
        for (const p of (c.ports ?? []) as any[]) {
            if (p.hostPort !== undefined && p.hostPort !== 0) {
                out.push(`${where}: hostPort ${p.hostPort} is not allowed`);
            }
        }
    }
    return out;
}

/**
 * Every container and init container sets CPU and memory requests and a memory limit. A CPU limit is not
 * required: it only throttles (CFS quota) and the scheduler places pods by requests.
 * Source: https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
 */
export function resourceViolations(podSpec: any): string[] {
    const out: string[] = [];
    for (const { kind, c } of containersOf(podSpec)) {
        const r = c.resources ?? {};
        for (const [field, value] of [
            ["requests.cpu", r.requests?.cpu],
            ["requests.memory", r.requests?.memory],
            ["limits.memory", r.limits?.memory],
        ]) {
            if (value === undefined || value === null || value === "") {
                out.push(`${kind} '${c.name}': resources.${field} must be set`);
            }
        }
    }
    return out;
}

/** Every container of a long-running workload has a readiness and a liveness probe. */
export function probeViolations(podSpec: any): string[] {
    const out: string[] = [];
    for (const c of (podSpec?.containers ?? []) as any[]) {
        for (const probe of ["readinessProbe", "livenessProbe"]) {
            if (!c[probe]) {
                out.push(`container '${c.name}': ${probe} must be set`);
            }
        }
    }
    return out;
}

/** An image reference split into parts (`registry/repo:tag@sha256:…`). */
export interface ImageRef {
    readonly repository: string;
    readonly tag?: string;
    readonly digest?: string;
}

/** Splits an image reference. A `:` before the last `/` belongs to a registry host:port, not a tag. */
export function parseImage(image: string): ImageRef {
    const [nameAndTag, digest] = image.split("@", 2);
    const slash = nameAndTag.lastIndexOf("/");
    const colon = nameAndTag.lastIndexOf(":");
    if (colon > slash) {
        return { repository: nameAndTag.slice(0, colon), tag: nameAndTag.slice(colon + 1), digest };
    }
    return { repository: nameAndTag, digest };
}

/** Options of the image rule (policy config `image-pinned`). */
export interface ImageRuleOptions {
    /** The stack's environment (`dev`, `staging`, `prod`). In prod images must be pinned. */
    readonly environment: string;
    /** Require a digest (`@sha256:…`) in prod instead of accepting a full version tag. Default false. */
    readonly requireDigest?: boolean;
}

/** A tag carrying a full version (major.minor.patch), e.g. `5.0.4` or `3.13.1-alpine3.21`. */
const FULL_VERSION_TAG = /(^|[^0-9])\d+\.\d+\.\d+/;

/**
 * Image rule for one image reference: never untagged or `latest` (they move under a running StatefulSet and
 * make a rollback re-pull something else); in prod, pinned: a digest, or (unless `requireDigest`) a tag with a
 * full major.minor.patch version.
 */
export function imageViolations(image: string, opts: ImageRuleOptions): string[] {
    const ref = parseImage(image);
    if (!ref.tag && !ref.digest) {
        return [`image '${image}' has no tag: pin a version`];
    }
    if (ref.tag === "latest" && !ref.digest) {
        return [`image '${image}' uses the tag latest: pin a version`];
    }
    if (opts.environment === "prod" && !ref.digest) {
        if (opts.requireDigest) {
            return [`image '${image}' must be pinned by digest (@sha256:…) in prod`];
        }
        if (!FULL_VERSION_TAG.test(ref.tag ?? "")) {
            return [`image '${image}' must be pinned in prod: a full major.minor.patch version tag or a digest`];
        }
    }
    return [];
}

/** The image rule over every container and init container of a PodSpec. */
export function podImageViolations(podSpec: any, opts: ImageRuleOptions): string[] {
    return containersOf(podSpec).flatMap(({ kind, c }) => imageViolations(String(c.image ?? ""), opts).map((m) => `${kind} '${c.name}': ${m}`));
}

/**
 * Labels every object must carry: the recommended labels that tools group applications by.
 * Source: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
 */
export const REQUIRED_LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of"];

/** Labels a Namespace must carry: it is shared by every app of a stack, so it names no app. */
export const NAMESPACE_LABELS = ["app.kubernetes.io/managed-by", "app.kubernetes.io/part-of"];

/** Missing recommended labels on an object and, for workloads, on its pod template. */
export function labelViolations(obj: K8sObject): string[] {
    const out: string[] = [];
    const labels = obj.metadata?.labels ?? {};
    const missing = (obj.kind === "Namespace" ? NAMESPACE_LABELS : REQUIRED_LABELS).filter((l) => !labels[l]);
    if (missing.length > 0) {
        out.push(`metadata.labels lacks ${missing.join(", ")}`);
    }
    if (podSpecOf(obj) !== undefined && obj.kind !== "Pod") {
        const pod = podLabelsOf(obj);
        const podMissing = ["app.kubernetes.io/name", "app.kubernetes.io/instance"].filter((l) => !pod[l]);
        if (podMissing.length > 0) {
            out.push(`pod template labels lack ${podMissing.join(", ")}`);
        }
    }
    return out;
}

/** A Service of type LoadBalancer where the stack does not allow one. */
export function loadBalancerViolations(service: K8sObject, allowLoadBalancer: boolean): string[] {
    if (service.spec?.type === "LoadBalancer" && !allowLoadBalancer) {
        return [`Service '${service.metadata?.name}' is of type LoadBalancer, which this stack does not allow (stack config allowLoadBalancer: false)`];
    }
    return [];
}

/** Whether every `selector` label is in `labels` (an empty selector matches nothing here: it is always a bug). */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
    const entries = Object.entries(selector ?? {});
    return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** An object plus the id the caller reports a violation against (a Pulumi URN in the policy pack). */
export interface Located {
    readonly id?: string;
    readonly obj: K8sObject;
}

/** One violation found by a rule over a set of objects. */
export interface SetViolation {
    readonly id?: string;
    readonly message: string;
}

/**
 * Namespaces compare equal when both are set and the same, or when either is unset (unset means "the
 * default namespace of the deployment", which is the same for every object of one stack or release).
 */
function sameNamespace(a: K8sObject, b: K8sObject): boolean {
    const na = a.metadata?.namespace;
    const nb = b.metadata?.namespace;
    return !na || !nb || na === nb;
}

/**
 * Every StatefulSet's `spec.serviceName` names a headless Service (`clusterIP: None`) in its namespace that
 * selects its pods: the Service that gives each pod its stable DNS name.
 * Source: https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#limitations
 */
export function headlessServiceViolations(objects: readonly Located[]): SetViolation[] {
    const services = objects.filter((o) => o.obj.kind === "Service");
    return objects
        .filter((o) => o.obj.kind === "StatefulSet")
        .flatMap(({ id, obj }) => {
            const name = obj.spec?.serviceName;
            if (!name) {
                return [{ id, message: `StatefulSet '${obj.metadata?.name}' has no spec.serviceName` }];
            }
            const svc = services.find((s) => s.obj.metadata?.name === name && sameNamespace(s.obj, obj));
            if (!svc) {
                return [{ id, message: `StatefulSet '${obj.metadata?.name}': serviceName '${name}' names no Service in this stack` }];
            }
            if (svc.obj.spec?.clusterIP !== "None") {
                return [{ id, message: `StatefulSet '${obj.metadata?.name}': Service '${name}' must be headless (clusterIP: None)` }];
            }
            if (!selects(svc.obj.spec?.selector, podLabelsOf(obj))) {
                return [{ id, message: `StatefulSet '${obj.metadata?.name}': headless Service '${name}' does not select its pods` }];
            }
            return [];
        });
}

/**
 * Every StatefulSet with more than one replica has a PodDisruptionBudget in its namespace selecting its pods,
 * and that budget allows at least one disruption at full strength (else `kubectl drain` never finishes).
 * Source: https://kubernetes.io/docs/tasks/run-application/configure-pdb/
 */
export function disruptionBudgetViolations(objects: readonly Located[]): SetViolation[] {
    const pdbs = objects.filter((o) => o.obj.kind === "PodDisruptionBudget");
    return objects
        .filter((o) => o.obj.kind === "StatefulSet" && (o.obj.spec?.replicas ?? 1) > 1)
        .flatMap(({ id, obj }) => {
            const replicas: number = obj.spec.replicas;
            const pdb = pdbs.find((p) => sameNamespace(p.obj, obj) && selects(p.obj.spec?.selector?.matchLabels, podLabelsOf(obj)));
            if (!pdb) {
                return [{ id, message: `StatefulSet '${obj.metadata?.name}' has ${replicas} replicas but no PodDisruptionBudget selects its pods` }];
            }
            const allowed = allowedDisruptions({ minAvailable: pdb.obj.spec?.minAvailable, maxUnavailable: pdb.obj.spec?.maxUnavailable }, replicas);
            if (allowed < 1) {
                return [
                    {
                        id: pdb.id,
                        message: `PodDisruptionBudget '${pdb.obj.metadata?.name}' allows 0 disruptions of ${replicas} replicas; node drains would block`,
                    },
                ];
            }
            return [];
        });
}

/** The per-object rules of a workload kind, bundled, as the chart test applies them. */
export function workloadViolations(obj: K8sObject, opts: ImageRuleOptions): string[] {
    const podSpec = podSpecOf(obj);
    if (podSpec === undefined) {
        return [];
    }
    return [
        ...podSecurityViolations(podSpec),
        ...resourceViolations(podSpec),
        ...(LONG_RUNNING_KINDS.includes(obj.kind ?? "") ? probeViolations(podSpec) : []),
        ...podImageViolations(podSpec, opts),
    ];
}

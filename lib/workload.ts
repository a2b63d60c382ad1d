/**
 * Pure functions from an app's config to the Kubernetes objects' specs (no resources are created here).
 * The native component turns these into Pulumi resources; the chart renders the same shapes from values
 * computed by `helmValues` (tests compare both).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { recommendedLabels, selectorLabels, WorkloadNames } from "./names";
import type { AppConfig, ProbeConfig } from "./schema";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;
type Probe = k8s.types.input.core.v1.Probe;
type TopologySpreadConstraint = k8s.types.input.core.v1.TopologySpreadConstraint;

/** Annotation on the pod template holding the hash of the ConfigMap content; a change rolls the pods. */
export const CONFIG_CHECKSUM_ANNOTATION = "checksum/config";
/** Annotation on the pod template holding the hash of the Secret content; a change rolls the pods. */
export const SECRET_CHECKSUM_ANNOTATION = "checksum/secret";

/** Labels of the pod template: the recommended labels (which include the selector labels). */
export function podLabels(app: AppConfig, managedBy: "pulumi" | "Helm"): Record<string, string> {
    return recommendedLabels(app.name, app.image.tag, managedBy);
}

/** The image reference: `repository:tag`, or `repository:tag@digest` when a digest pins it. */
export function imageRef(app: AppConfig): string {
    return `${app.image.repository}:${app.image.tag}${app.image.digest ? `@${app.image.digest}` : ""}`;
}

/**
 * Pod-level security context meeting the `restricted` Pod Security Standard: non-root with fixed UID/GID,
 * fsGroup so the volume is writable, seccomp RuntimeDefault.
 * Source: https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
export function podSecurityContext(app: AppConfig): PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: app.securityContext.runAsUser,
        runAsGroup: app.securityContext.runAsGroup,
        fsGroup: app.securityContext.fsGroup,
        // Only chown the volume when its root does not already match: fast restarts for big volumes.
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level security context for the `restricted` Pod Security Standard (no escalation, drop ALL). */
export function containerSecurityContext(app: AppConfig): SecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: app.securityContext.runAsUser,
        runAsGroup: app.securityContext.runAsGroup,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: app.securityContext.readOnlyRootFilesystem,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** A Kubernetes Probe from its config; the port defaults to the app's named port. */
export function probe(p: ProbeConfig, app: AppConfig): Probe {
    const port = p.port ?? app.portName;
    const timing = {
        initialDelaySeconds: p.initialDelaySeconds,
        periodSeconds: p.periodSeconds,
        timeoutSeconds: p.timeoutSeconds,
        failureThreshold: p.failureThreshold,
    };
    switch (p.type) {
        case "http":
            return { httpGet: { path: p.path, port }, ...timing };
        case "tcp":
            return { tcpSocket: { port }, ...timing };
        case "exec":
            return { exec: { command: p.command }, ...timing };
    }
}

/**
 * topologySpreadConstraints over zones and hostnames, selecting this app's pods. `matchLabelKeys` on the
 * controller revision hash makes the scheduler count only pods of the same revision during a rollout.
 * Source: https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/
 */
export function topologySpread(app: AppConfig): TopologySpreadConstraint[] {
    const out: TopologySpreadConstraint[] = [];
    const add = (topologyKey: string, mode: "DoNotSchedule" | "ScheduleAnyway" | "None", minDomains?: number) => {
        if (mode !== "None") {
            out.push({
                maxSkew: app.topologySpread.maxSkew,
                ...(minDomains !== undefined ? { minDomains } : {}),
                topologyKey,
                whenUnsatisfiable: mode,
                labelSelector: { matchLabels: selectorLabels(app.name) },
                matchLabelKeys: ["controller-revision-hash"],
            });
        }
    };
    add("topology.kubernetes.io/zone", app.topologySpread.zone, app.topologySpread.minDomains);
    add("kubernetes.io/hostname", app.topologySpread.hostname);
    return out;
}

/** The ConfigMap's data: each config file (objects as pretty JSON) plus nothing else; env goes separately. */
export function configFileData(app: AppConfig): Record<string, string> {
    const data: Record<string, string> = {};
    for (const [file, content] of Object.entries(app.configFiles)) {
        data[file] = typeof content === "string" ? content : `${JSON.stringify(content, null, 2)}\n`;
    }
    return data;
}

/** SHA-256 (hex) of a value's canonical JSON (sorted keys), for checksum annotations. */
export function checksum(value: unknown): string {
    return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(canonicalJson).join(",")}]`;
    }
    if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        return `{${Object.keys(obj)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
            .join(",")}}`;
    }
    return JSON.stringify(value);
}

/** Hash of everything the ConfigMaps deliver (files and env), so a change rolls the pods. */
export function configChecksum(app: AppConfig): string {
    return checksum({ files: configFileData(app), env: app.env });
}

/** The container's requests and limits; a CPU limit only when configured (none avoids CFS throttling). */
export function containerResources(app: AppConfig) {
    return {
        requests: { cpu: app.resources.requests.cpu, memory: app.resources.requests.memory, "ephemeral-storage": app.resources.requests.ephemeralStorage },
        limits: {
            memory: app.resources.limits.memory,
            "ephemeral-storage": app.resources.limits.ephemeralStorage,
            ...(app.resources.limits.cpu ? { cpu: app.resources.limits.cpu } : {}),
        },
    };
}

/** The StatefulSet's `persistentVolumeClaimRetentionPolicy`. */
export function pvcRetentionPolicy(app: AppConfig) {
    return { whenDeleted: app.pvcRetention.whenDeleted, whenScaled: app.pvcRetention.whenScaled };
}

/** The StatefulSet's `updateStrategy`. */
export function updateStrategy(app: AppConfig): k8s.types.input.apps.v1.StatefulSetUpdateStrategy {
    return app.updateStrategy.type === "OnDelete"
        ? { type: "OnDelete" }
        : {
              type: "RollingUpdate",
              rollingUpdate: { partition: app.updateStrategy.partition, maxUnavailable: app.updateStrategy.maxUnavailable },
          };
}

/** The PodDisruptionBudget's policy fields: the configured one, else `maxUnavailable: 1`. */
export function pdbPolicy(app: AppConfig): { minAvailable?: number | string; maxUnavailable?: number | string } {
    if (app.pdb.minAvailable !== undefined) {
        return { minAvailable: app.pdb.minAvailable };
    }
    return { maxUnavailable: app.pdb.maxUnavailable ?? 1 };
}

/** Inputs to the pod template that are not in the app config: names and checksums. */
export interface PodTemplateInputs {
    readonly names: WorkloadNames;
    /** Hash of the Secret content (not secret itself: a SHA-256 of a random password reveals nothing). */
    readonly secretChecksum: pulumi.Input<string>;
    readonly managedBy: "pulumi" | "Helm";
}

/**
 * The StatefulSet's pod template: one container running as non-root with a read-only root filesystem, the
 * data volume from the volumeClaimTemplate, each config file mounted read-only by subPath, a writable emptyDir
 * for /tmp, env from the ConfigMap and the password from the Secret, probes, resources, spread and a preStop
 * sleep so endpoints drain before SIGTERM.
 */
export function podTemplate(app: AppConfig, inputs: PodTemplateInputs): k8s.types.input.core.v1.PodTemplateSpec {
    const { names } = inputs;
    const files = Object.keys(app.configFiles).sort();
    const container: k8s.types.input.core.v1.Container = {
        name: "app",
        image: imageRef(app),
        imagePullPolicy: app.image.pullPolicy,
        command: app.command,
        args: app.args,
        ports: [{ name: app.portName, containerPort: app.port, protocol: "TCP" }],
        envFrom: [{ configMapRef: { name: names.envConfigMap } }],
        env: [
            { name: app.secret.envName, valueFrom: { secretKeyRef: { name: names.secret, key: app.secret.key } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        ],
        resources: containerResources(app),
        readinessProbe: probe(app.probes.readiness, app),
        livenessProbe: probe(app.probes.liveness, app),
        ...(app.probes.startup ? { startupProbe: probe(app.probes.startup, app) } : {}),
        ...(app.preStopSleepSeconds > 0 ? { lifecycle: { preStop: { sleep: { seconds: app.preStopSleepSeconds } } } } : {}),
        securityContext: containerSecurityContext(app),
        volumeMounts: [
            { name: names.volumeClaim, mountPath: app.storage.mountPath },
            { name: "tmp", mountPath: "/tmp" },
            ...files.map((f) => ({ name: "config", mountPath: `${app.configMountPath}/${f}`, subPath: f, readOnly: true })),
        ],
    };
    return {
        metadata: {
            labels: podLabels(app, inputs.managedBy),
            annotations: {
                [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(app),
                [SECRET_CHECKSUM_ANNOTATION]: inputs.secretChecksum,
            },
        },
        spec: {
            serviceAccountName: names.app,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: app.terminationGracePeriodSeconds,
            securityContext: podSecurityContext(app),
            topologySpreadConstraints: topologySpread(app),
            containers: [container],
            volumes: [
                { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
                ...(files.length > 0 ? [{ name: "config", configMap: { name: names.filesConfigMap } }] : []),
            ],
        },
    };
}

/** The volumeClaimTemplates: one PVC per replica, named `<template>-<sts>-<ordinal>`. */
export function volumeClaimTemplates(app: AppConfig, names: WorkloadNames): k8s.types.input.core.v1.PersistentVolumeClaim[] {
    return [
        {
            metadata: { name: names.volumeClaim, labels: selectorLabels(app.name) },
            spec: {
                accessModes: [...app.storage.accessModes],
                ...(app.storage.storageClass ? { storageClassName: app.storage.storageClass } : {}),
                resources: { requests: { storage: app.storage.size } },
            },
        },
    ];
}

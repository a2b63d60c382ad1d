/**
 * Pure functions from an app's config to the Kubernetes objects' specs (no resources are created here).
 * The native component turns these into Pulumi resources; the chart renders the same shapes from values
 * computed by `helmValues` (tests compare both).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { createHash, scrypt } from "crypto";
import { configFileData } from "./config-files";
import { recommendedLabels, selectorLabels, WorkloadNames } from "./names";
import { containerResources, containerSecurityContext, imageReference, podSecurityContext, TMP_SIZE_LIMIT } from "./container";
import { metricsAnnotations, metricsInitContainers } from "./metrics-sidecar";
import { extraContainerPorts, peerEnvVars } from "./peers";
import { INJECTED_ENV } from "../config/fields";
import type { AppConfig, ProbeConfig } from "../config/schema";

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

/**
 * Annotations on the StatefulSet (both paths) that waive the scanners' read-only-root check for an app whose stack
 * sets `securityContext.readOnlyRootFilesystem: false` (an image that writes its root filesystem, such as
 * Cassandra's entrypoint rewriting /etc/cassandra): kube-score's `kube-score/ignore` and checkov's
 * `checkov.io/skip1`, both listed with their reason in policy/kube-score.yaml and policy/checkov.yaml. Empty otherwise.
 */
export function scannerWaivers(app: AppConfig): Record<string, string> {
    if (app.securityContext.readOnlyRootFilesystem) {
        return {};
    }
    return {
        "kube-score/ignore": "container-security-context-readonlyrootfilesystem",
        "checkov.io/skip1": "CKV_K8S_22=the stack sets securityContext.readOnlyRootFilesystem false: the image writes its root filesystem",
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

/**
 * scrypt parameters of {@link secretChecksum}: N = 2^15, r = 8, p = 1 (32 MiB and ~80 ms per value on our machines),
 * so that a `checksum/secret` annotation, readable by anyone who may read the pod, is expensive to test guesses
 * against. Source: RFC 7914; https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
 */
export const SECRET_CHECKSUM_SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/**
 * The `checksum/secret` pod annotation: 32 bytes of scrypt ({@link SECRET_CHECKSUM_SCRYPT}) over the secret value,
 * salted with `salt` (the Secret's name), as 64 hex characters. It changes exactly when the value changes, so pods
 * roll; unlike a plain SHA-256 of a user-chosen password it does not allow cheap offline guessing.
 *
 * Asynchronous: the ~80 ms of scrypt per app run on libuv's thread pool. Synchronous, they blocked the program's
 * event loop for about 4 s per `preview` or `up` of a 50-app stack (bench/engine-scale.ts), and with it the
 * program's exchanges with the engine.
 */
export async function secretChecksum(value: string, salt: string): Promise<string> {
    const key = await new Promise<Buffer>((resolve, reject) =>
        scrypt(value, `stateful-apps/checksum/secret/${salt}`, 32, SECRET_CHECKSUM_SCRYPT, (err, k) => (err ? reject(err) : resolve(k))),
    );
    return key.toString("hex");
}

/** SHA-256 (hex) of a value's canonical JSON (sorted keys), for checksum annotations of non-secret content. */
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

/**
 * Fields of the pod spec that both paths render exactly as computed here: the native pod template spreads them, and
 * the chart renders the value `podSpecFields` with toYaml (charts/stateful-app/templates/statefulset.yaml). A new
 * pod-level config field needs only its key in config/app-schema.ts and a line here (docs/LAYOUT.md "How to add a
 * config field"). Fields left unset are left out, so that Kubernetes' defaults apply.
 */
export function podSpecFields(app: AppConfig): Record<string, unknown> {
    return { ...optional("priorityClassName", app.priorityClassName) };
}

/** The StatefulSet's `persistentVolumeClaimRetentionPolicy`. */
export function pvcRetentionPolicy(app: AppConfig) {
    return { whenDeleted: app.pvcRetention.whenDeleted, whenScaled: app.pvcRetention.whenScaled };
}

/**
 * The StatefulSet fields the API server refuses to change ("updates to statefulset spec for fields other than
 * 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and
 * 'minReadySeconds' are forbidden", k8s.io/kubernetes pkg/apis/apps/validation ValidateStatefulSetUpdate) that our
 * config can change. The native StatefulSet ignores changes to them after creation (`ignoreChanges`), so `up`
 * neither fails nor replaces the StatefulSet (which with `whenDeleted: Delete` would delete every PVC).
 * The Helm path keeps the same fields through {@link HELM_IMMUTABLE_VALUE_PATHS} in lib/helm-values.ts.
 */
export const STATEFULSET_IMMUTABLE_PATHS = ["spec.volumeClaimTemplates", "spec.podManagementPolicy"] as const;

/** `{ [key]: value }` when value is defined, else `{}`: for fields that are left out rather than sent empty or null. */
export function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
    return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The StatefulSet's `updateStrategy`. */
export function updateStrategy(app: AppConfig): k8s.types.input.apps.v1.StatefulSetUpdateStrategy {
    return app.updateStrategy.type === "OnDelete"
        ? { type: "OnDelete" }
        : {
              type: "RollingUpdate",
              rollingUpdate: {
                  partition: app.updateStrategy.partition,
                  // Only when set: the API server drops it unless the MaxUnavailableStatefulSet feature gate is on,
                  // and a field it drops would show as a change in every preview.
                  ...optional("maxUnavailable", app.updateStrategy.maxUnavailable),
              },
          };
}

/** Inputs to the pod template that are not in the app config: names and checksums. */
export interface PodTemplateInputs {
    readonly names: WorkloadNames;
    /** The Secret's `checksum/secret` (salted scrypt of its value, {@link secretChecksum}): pods roll when it changes. */
    readonly secretChecksum: pulumi.Input<string>;
    readonly managedBy: "pulumi" | "Helm";
    /**
     * Annotate the pod for annotation-based scraping (`prometheus.io/scrape`, `port`, `path`) when the app has a
     * metrics sidecar; used when the stack has no Prometheus Operator (`monitoring.prometheusOperator: false`).
     */
    readonly scrapeAnnotations: boolean;
    /** The stack's `clusterDomain` (e.g. `cluster.local`), for the members' DNS names in `peerEnv` (lib/peers.ts). */
    readonly clusterDomain: string;
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
        image: imageReference(app.image),
        imagePullPolicy: app.image.pullPolicy,
        command: app.command,
        args: app.args,
        ports: [{ name: app.portName, containerPort: app.port, protocol: "TCP" }, ...extraContainerPorts(app)],
        envFrom: [{ configMapRef: { name: names.envConfigMap } }],
        env: [
            { name: app.secret.envName, valueFrom: { secretKeyRef: { name: names.secret, key: app.secret.key } } },
            ...Object.entries(INJECTED_ENV).map(([name, fieldPath]) => ({ name, valueFrom: { fieldRef: { fieldPath } } })),
            ...peerEnvVars(app, inputs.clusterDomain),
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
                ...metricsAnnotations(app, inputs.scrapeAnnotations),
            },
        },
        spec: {
            serviceAccountName: names.app,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: app.terminationGracePeriodSeconds,
            ...podSpecFields(app),
            securityContext: podSecurityContext(app),
            topologySpreadConstraints: topologySpread(app),
            ...(app.metrics ? { initContainers: metricsInitContainers(app, names) } : {}),
            containers: [container],
            volumes: [
                { name: "tmp", emptyDir: { sizeLimit: TMP_SIZE_LIMIT } },
                ...(files.length > 0 ? [{ name: "config", configMap: { name: names.filesConfigMap } }] : []),
                ...(app.metrics ? [{ name: "mtail-program", configMap: { name: names.mtailConfigMap } }] : []),
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

/** Inputs of {@link statefulSetSpec} that are not app config. */
export interface StatefulSetInputs extends PodTemplateInputs {
    /** The headless Service's name (`serviceName`; pass the Service's output to order the StatefulSet after it). */
    readonly serviceName: pulumi.Input<string>;
}

/**
 * The StatefulSet's spec: `serviceName` (the headless Service), replicas, podManagementPolicy, update strategy,
 * minReadySeconds, PVC retention, the selector labels, the pod template ({@link podTemplate}) and the
 * volumeClaimTemplates (one PVC per replica).
 */
export function statefulSetSpec(app: AppConfig, inputs: StatefulSetInputs): k8s.types.input.apps.v1.StatefulSetSpec {
    return {
        serviceName: inputs.serviceName,
        replicas: app.replicas,
        podManagementPolicy: app.podManagementPolicy,
        updateStrategy: updateStrategy(app),
        minReadySeconds: app.minReadySeconds,
        persistentVolumeClaimRetentionPolicy: pvcRetentionPolicy(app),
        selector: { matchLabels: selectorLabels(app.name) },
        template: podTemplate(app, inputs),
        volumeClaimTemplates: volumeClaimTemplates(app, inputs.names),
    };
}

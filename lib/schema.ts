/**
 * The stack configuration schema (zod) and its validation: a pure function from raw config values to a frozen,
 * fully defaulted, typed object, or a {@link StackConfigError} naming every wrong key.
 *
 * Every field carries `.describe()` text: the README's config reference is generated from it
 * (`npm run docs:config`), so the docs cannot drift from the code.
 */
import { z } from "zod";
import type { LiveNamespace } from "./kube-api";
import { DNS1035_LABEL, DNS1123_LABEL, MAX_APP_NAME, PROJECT, workloadNames } from "./names";
import { configFileData } from "./config-files";
import { LOG_FORMATS, LogFormat, MTAIL_PORT, MTAIL_PROGS_DIR } from "./observability";
import { allowedDisruptions, DEFAULT_PDB_MAX_UNAVAILABLE, pdbEnabled } from "./pdb";
import { parseQuantity, quantityProblem, QuantityKind } from "./quantity";

const quantity = (kind: QuantityKind) =>
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
const INT32_MAX = 2_147_483_647;

/** An integer from `min` to {@link INT32_MAX}. */
const int32 = (min: number, message?: string) =>
    z
        .number()
        .int()
        .min(min, message ? { message } : undefined)
        .max(INT32_MAX, { message: `must be ≤ ${INT32_MAX} (a Kubernetes int32 field)` });

const seconds = (what: string, min: number) => int32(min, `${what} must be an integer number of seconds ≥ ${min}`);

/** An integer or a percentage string (`"25%"`), as PodDisruptionBudget and RollingUpdate fields take. */
const intOrPercent = z.union([
    int32(0),
    z.string().regex(/^(100|[1-9]?\d)%$/, { message: "expected an integer ≥ 0 or a percentage from 0% to 100% such as 25%" }),
]);

/**
 * A ConfigMap or Secret data key: k8s.io/apimachinery pkg/util/validation IsConfigMapKey: at most 253 characters of
 * letters, digits, '-', '_' and '.', and neither '.', '..' nor anything starting with '..'.
 */
const configMapKey = z
    .string()
    .regex(/^[-._a-zA-Z0-9]+$/, { message: "may use letters, digits, '-', '_' and '.' only" })
    .max(253, { message: "must be at most 253 characters" })
    .refine((k) => k !== "." && !k.startsWith(".."), { message: "must not be '.' or start with '..' (Kubernetes refuses such data keys)" });

/** A DNS-1123 subdomain (StorageClass names, label key prefixes): k8s.io/apimachinery pkg/util/validation IsDNS1123Subdomain. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/**
 * A label key, `[prefix/]name`: k8s.io/apimachinery pkg/util/validation IsQualifiedName (name ≤ 63 characters of
 * letters, digits, '-', '_', '.', alphanumeric at both ends; prefix a DNS-1123 subdomain ≤ 253).
 */
const labelKey = z.string().refine(
    (k) => {
        const parts = k.split("/");
        const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
        return parts.length <= 2 && name.length <= 63 && LABEL_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix)));
    },
    { message: "must be a label key: [prefix/]name, the name at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends; the prefix a DNS subdomain" },
);

/** A label value: k8s.io/apimachinery pkg/util/validation IsValidLabelValue (empty, or ≤ 63 characters as a label name). */
const labelValueSchema = z
    .string()
    .max(63, { message: "must be a label value of at most 63 characters" })
    .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, { message: "must be a label value: letters, digits, '-', '_' or '.', alphanumeric at both ends (or empty)" });

/** Labels as Kubernetes takes them in `metadata.labels` and `matchLabels` (apimachinery ValidateLabels). */
const labelMap = z.record(labelKey, labelValueSchema);

/**
 * An image reference as a plain string (`docker.io/library/busybox:1.37.0`): the API server refuses an empty one
 * and, for pods, one with leading or trailing whitespace (core/validation validateContainerCommon,
 * validateContainerOnlyForPod); inner whitespace fails at the kubelet (InvalidImageName).
 */
const imageRef = z.string().regex(/^\S+$/, { message: "must be an image reference such as docker.io/library/busybox:1.37.0 (not empty, no whitespace)" });

/** The image with `sh` and `nc` of the hook Jobs, the helm test Pod and the data-load wait (a pinned busybox). */
export const BUSYBOX_IMAGE = "docker.io/library/busybox:1.37.0";

/** Most bytes of data a ConfigMap may hold (core/validation ValidateConfigMap: `core.MaxSecretSize`, 1 MiB). */
export const MAX_CONFIGMAP_BYTES = 1024 * 1024;

/** Registries only the machine itself can reach: a node pulls from its own loopback, never from yours. */
const LOOPBACK_REGISTRY = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?\//;

/**
 * Env vars the program sets on the app container itself from the pod's fields (name -> `fieldRef.fieldPath`, set by
 * lib/workload.ts podTemplate), besides `secret.envName`. Config may not set them.
 */
export const INJECTED_ENV = { POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace" } as const;

/** Most replicas an app may have: each pod's DNS name is listed in the stack outputs. */
export const MAX_REPLICAS = 1000;

const probeSchema = z
    .strictObject({
        type: z.enum(["http", "tcp", "exec"]).describe("How the kubelet probes: HTTP GET on `path`, a TCP connect, or a command."),
        path: z.string().startsWith("/").optional().describe("HTTP path (type http). Example: `/healthz`."),
        port: z.number().int().min(1).max(65535).optional().describe("Port to probe. Default: the app's `port`."),
        command: z.array(z.string()).min(1).optional().describe("Command and arguments (type exec)."),
        initialDelaySeconds: seconds("initialDelaySeconds", 0).default(0).describe("Seconds before the first probe."),
        periodSeconds: seconds("periodSeconds", 1).default(10).describe("Seconds between probes."),
        timeoutSeconds: seconds("timeoutSeconds", 1).default(1).describe("Seconds before a probe times out."),
        failureThreshold: int32(1).default(3).describe("Consecutive failures before giving up."),
    })
    .superRefine((p, ctx) => {
        if (p.type === "http" && !p.path) {
            ctx.addIssue({ code: "custom", path: ["path"], message: "is required when type is http (e.g. /healthz)" });
        }
        if (p.type === "exec" && !p.command) {
            ctx.addIssue({ code: "custom", path: ["command"], message: "is required when type is exec" });
        }
    });

/** One probe as configured (after defaults). */
export type ProbeConfig = z.output<typeof probeSchema>;

const imageSchema = z.strictObject({
    repository: z
        .string()
        .regex(/^[a-z0-9]+([._\-/:][a-z0-9]+)*$/, { message: "expected an image repository such as docker.io/library/python" })
        .describe("Image repository, e.g. `docker.io/library/python`."),
    tag: z
        .string()
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { message: "expected an image tag such as 3.13.1-alpine" })
        .describe("Image tag. `latest` is refused in prod stacks."),
    digest: z
        .string()
        .regex(/^sha256:[a-f0-9]{64}$/, { message: "expected sha256:<64 hex digits>" })
        .optional()
        .describe("Optional digest; pins the image exactly (`repo:tag@sha256:…`)."),
    pullPolicy: z.enum(["IfNotPresent", "Always", "Never"]).default("IfNotPresent").describe("When the kubelet pulls the image: IfNotPresent only when the node lacks it."),
});

const appSchema = z.strictObject({
    name: z
        .string()
        .max(MAX_APP_NAME, { message: `must be at most ${MAX_APP_NAME} characters (the StatefulSet controller adds a 11-character revision suffix to a 63-character label)` })
        .regex(DNS1035_LABEL, { message: "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, ending with a letter or digit" })
        .describe("App name: StatefulSet, Services, ConfigMap and Helm release are named from it."),
    deployWith: z.enum(["native", "helm"]).default("native").describe("`native`: Pulumi Kubernetes resources; `helm`: a Helm release of charts/stateful-app."),
    image: imageSchema.describe("Container image."),
    command: z.array(z.string()).optional().describe("Container command (entrypoint override)."),
    args: z.array(z.string()).optional().describe("Container arguments."),
    port: z.number().int().min(1).max(65535).describe("The port the app listens on (containerPort)."),
    portName: z
        .string()
        // k8s.io/apimachinery pkg/util/validation IsValidPortName (IANA_SVC_NAME, RFC 6335 5.1).
        .regex(/^[a-z](?:-?[a-z0-9])*$/, { message: "must be an IANA service name: lowercase letters, digits and single '-' between them, starting with a letter (e.g. http, rpc-2)" })
        .max(15, { message: "must be at most 15 characters (an IANA service name)" })
        .default("app")
        .describe("Name of the port on the pod and Services (an IANA service name)."),
    replicas: z
        .number()
        .int({ message: "must be a whole number" })
        .min(0, { message: "must be ≥ 0" })
        // Not Kubernetes' limit (int32) but this program's: it lists every pod's DNS name in the stack outputs.
        .max(MAX_REPLICAS, { message: `must be ≤ ${MAX_REPLICAS} (every pod's DNS name is a stack output)` })
        .default(1)
        .describe("Number of pods (each with its own PVC)."),
    podManagementPolicy: z.enum(["OrderedReady", "Parallel"]).default("OrderedReady").describe("OrderedReady starts pods one at a time in order; Parallel starts them together."),
    updateStrategy: z
        .discriminatedUnion("type", [
            z.strictObject({
                type: z.literal("RollingUpdate"),
                partition: int32(0).default(0).describe("Only pods with ordinal ≥ partition are updated."),
                maxUnavailable: intOrPercent
                    // k8s.io/kubernetes pkg/apis/apps/validation ValidateStatefulSetUpdateStrategy: "cannot be 0".
                    .refine((v) => v !== 0 && v !== "0%", { message: "cannot be 0 (the rollout could never take a pod down); at least 1 or 1%" })
                    .optional()
                    .describe(
                        "Pods that may be unavailable during the update. Unset by default (one pod at a time). Needs the MaxUnavailableStatefulSet feature gate (alpha, off by default through Kubernetes 1.34): without it the API server drops the field and every preview shows it as a change.",
                    ),
            }),
            z.strictObject({ type: z.literal("OnDelete") }),
        ])
        .prefault({ type: "RollingUpdate" })
        .describe("StatefulSet update strategy."),
    minReadySeconds: seconds("minReadySeconds", 0).default(0).describe("Seconds a new pod must be Ready before it counts as available."),
    terminationGracePeriodSeconds: seconds("terminationGracePeriodSeconds", 1).default(30).describe("Seconds between SIGTERM and SIGKILL."),
    preStopSleepSeconds: seconds("preStopSleepSeconds", 0).default(5).describe("preStop sleep so endpoints drain before SIGTERM (a `sleep` lifecycle handler; no shell needed). 0 disables."),
    service: z
        .strictObject({
            type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).default("ClusterIP").describe("Client Service type. LoadBalancer only where `allowLoadBalancer` is true."),
            port: z.number().int().min(1).max(65535).optional().describe("Client Service port. Default: the app's `port`."),
            nodePort: z.number().int().min(30000).max(32767).optional().describe("Fixed nodePort (NodePort/LoadBalancer only), 30000-32767."),
        })
        .prefault({})
        .describe("The client Service."),
    storage: z
        .strictObject({
            size: quantity("storage").default("1Gi").describe("Size of each replica's PVC, e.g. `1Gi`."),
            storageClass: z
                .string()
                .max(253, { message: "must be at most 253 characters (a StorageClass name)" })
                .regex(DNS1123_SUBDOMAIN, { message: "must be a DNS-1123 subdomain (a StorageClass name): lowercase letters, digits, '-' and '.', dot-separated parts alphanumeric at both ends" })
                .optional().describe("StorageClass of the PVCs. Default: the cluster's default class."),
            accessModes: z
                .array(z.enum(["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"]))
                .min(1)
                // core/validation ValidatePersistentVolumeClaimSpec: "may not use ReadWriteOncePod with other access modes".
                .refine((m) => !m.includes("ReadWriteOncePod") || m.length === 1, { message: "ReadWriteOncePod cannot be combined with other access modes (Kubernetes refuses the PVC)" })
                .default(["ReadWriteOnce"]).describe("PVC access modes."),
            mountPath: z.string().startsWith("/").default("/data").describe("Where the volume is mounted."),
        })
        .prefault({})
        .describe("volumeClaimTemplates: one PersistentVolumeClaim per replica."),
    pvcRetention: z
        .strictObject({
            whenDeleted: z.enum(["Retain", "Delete"]).default("Retain").describe("PVCs when the StatefulSet is deleted."),
            whenScaled: z.enum(["Retain", "Delete"]).default("Retain").describe("PVCs of removed ordinals when scaled down."),
        })
        .prefault({})
        .describe("persistentVolumeClaimRetentionPolicy."),
    resources: z
        .strictObject({
            requests: z
                .strictObject({
                    cpu: quantity("cpu"),
                    memory: quantity("memory"),
                    ephemeralStorage: quantity("storage").default("64Mi").describe("Node disk for /tmp and container logs."),
                })
                .describe("Requests, e.g. `{cpu: 100m, memory: 128Mi}`."),
            limits: z
                .strictObject({
                    cpu: quantity("cpu").optional(),
                    memory: quantity("memory"),
                    ephemeralStorage: quantity("storage").default("1Gi").describe("The kubelet evicts the pod above this much node disk (/tmp, logs)."),
                })
                .describe("Limits; memory required, CPU optional (no CPU limit avoids throttling)."),
        })
        .describe("Container resources (CPU in cores or millicores, memory in bytes: Mi/Gi)."),
    probes: z
        .strictObject({
            readiness: probeSchema.describe("Readiness probe (required)."),
            liveness: probeSchema.describe("Liveness probe (required)."),
            startup: probeSchema.optional().describe("Startup probe, for slow starters."),
        })
        .describe("Container probes."),
    pdb: z
        .strictObject({
            enabled: z.boolean().optional().describe("Create a PodDisruptionBudget. Default: true when replicas > 1."),
            minAvailable: intOrPercent.optional().describe("Pods that must stay available. Exclusive with maxUnavailable."),
            maxUnavailable: intOrPercent.optional().describe(`Pods that may be disrupted at once. Default ${DEFAULT_PDB_MAX_UNAVAILABLE} when minAvailable is unset.`),
        })
        .prefault({})
        .describe("PodDisruptionBudget. It must allow at least one disruption, or node drains hang forever."),
    topologySpread: z
        .strictObject({
            zone: z.enum(["DoNotSchedule", "ScheduleAnyway", "None"]).default("ScheduleAnyway").describe("Spread over `topology.kubernetes.io/zone`."),
            hostname: z.enum(["DoNotSchedule", "ScheduleAnyway", "None"]).default("ScheduleAnyway").describe("Spread over `kubernetes.io/hostname`."),
            maxSkew: int32(1).default(1).describe("Largest allowed difference in pods between domains."),
            minDomains: int32(1)
                .optional()
                .describe("With zone DoNotSchedule: the fewest zones the pods must spread over; while fewer zones are eligible, extra pods stay Pending. Must be ≤ the stack's `zones`."),
        })
        .prefault({})
        .describe("topologySpreadConstraints."),
    securityContext: z
        .strictObject({
            runAsUser: int32(1, "must be ≥ 1: the restricted Pod Security Standard forbids root (0)").default(1000).describe("UID."),
            runAsGroup: int32(1).default(1000).describe("GID."),
            fsGroup: int32(1).default(1000).describe("Group owning the volume."),
            readOnlyRootFilesystem: z.boolean().default(true).describe("A read-only root filesystem for the app container (/tmp is a writable emptyDir). Turn it off only for an image that writes its root filesystem (README \"Images\")."),
        })
        .prefault({})
        .describe("Pod/container security context; always meets the restricted Pod Security Standard."),
    env: z.record(z.string().max(253, { message: "must be at most 253 characters (a ConfigMap key)" }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "must be a C identifier: letters, digits and '_', not starting with a digit" }), z.string()).default({}).describe("Plain environment variables, delivered through the ConfigMap (envFrom)."),
    configFiles: z
        .record(configMapKey, z.union([z.string(), z.record(z.string(), z.unknown())]))
        .default({})
        .describe("Files in the ConfigMap, each mounted read-only (subPath) under `configMountPath`. Objects are written as JSON."),
    configMountPath: z.string().startsWith("/").default("/etc/app").describe("Directory of the config files."),
    secret: z
        .strictObject({
            source: z.enum(["generated", "config"]).describe("`generated`: random.RandomPassword, stable across runs; `config`: a value from `pulumi config set --secret`."),
            configKey: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/).optional().describe("With source config: the config key (in this project) holding the secret."),
            key: configMapKey.default("password").describe("Key inside the Secret."),
            envName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("APP_PASSWORD").describe("Env var the container reads it from."),
            length: z
                .number()
                .int()
                .min(16)
                .max(128)
                .default(32)
                .describe("Length of a generated password. Changing it later keeps the current password; raise `rotation` for a new one."),
            rotation: z
                .number()
                .int()
                .min(0)
                .default(0)
                .describe(
                    "Rotation counter of a generated password. Raise it to generate a new password on the next `up`: the Secret changes, pods roll, the old value leaves the state.",
                ),
        })
        .superRefine((s, ctx) => {
            if (s.source === "config" && !s.configKey) {
                ctx.addIssue({ code: "custom", path: ["configKey"], message: "is required when source is config (the key set with `pulumi config set --secret <key> …`)" });
            }
        })
        .describe("The app's Secret."),
    networkPolicy: z
        .strictObject({
            enabled: z.boolean().default(false).describe("Create a NetworkPolicy."),
            allowFrom: z
                .array(
                    z
                        .strictObject({
                            podLabels: labelMap.optional(),
                            namespaceLabels: labelMap.optional(),
                        })
                        // k8s.io/kubernetes pkg/apis/networking/validation ValidateNetworkPolicyPeer: "must specify a peer".
                        .refine((p) => p.podLabels !== undefined || p.namespaceLabels !== undefined, {
                            message: "must give podLabels, namespaceLabels or both (an empty peer is refused by Kubernetes)",
                        }),
                )
                .default([])
                .describe("Peers allowed to reach the app port (besides the app's own pods). Empty: only the app's pods."),
        })
        .prefault({})
        .describe("Ingress NetworkPolicy: only the app port, only from allowed peers."),
    metrics: z
        .strictObject({
            logFormat: z.enum(LOG_FORMATS as unknown as [LogFormat, ...LogFormat[]]).describe("Format of the app's log: `visits` (`<time> visit <n> pod=<pod>`), `timestamps` (one RFC 3339 time per visit) or `litecoin-debug` (litecoin-core debug.log). Picks the mtail program in observability/mtail."),
            logFile: z.string().startsWith("/").describe("The log file the app writes, on its data volume (under `storage.mountPath`), e.g. `/data/visits.log`."),
            image: imageSchema.describe("Image with mtail 3.0 on PATH (build observability/mtail-image/Dockerfile and push it to your registry)."),
            port: z.number().int().min(1024).max(65535).default(MTAIL_PORT).describe(`Port of mtail's /metrics (named \`metrics\` on the pod and the headless Service).`),
            resources: z
                .strictObject({
                    cpu: quantity("cpu").default("10m"),
                    memory: quantity("memory").default("32Mi"),
                    memoryLimit: quantity("memory").default("64Mi"),
                })
                .prefault({})
                .describe("Sidecar requests (cpu, memory) and memory limit."),
        })
        .optional()
        .describe("Metrics from logs: an mtail sidecar (a native sidecar: starts before the app, stops after it) reads `logFile` read-only from the data volume and serves Prometheus metrics. Off when absent."),
    dataLoad: z
        .strictObject({
            image: imageSchema.optional().describe("Image of the Job. Default: the app's image."),
            command: z.array(z.string()).min(1).describe("Command of the load; it must be idempotent (a retry or a re-run after `ttlSecondsAfterFinished` runs it again)."),
            args: z.array(z.string()).optional().describe("Arguments."),
            backoffLimit: int32(0).default(3).describe("Retries before the Job fails."),
            activeDeadlineSeconds: seconds("activeDeadlineSeconds", 1).default(600).describe("Seconds the whole Job (all retries, and the wait for the Service) may run."),
            ttlSecondsAfterFinished: seconds("ttlSecondsAfterFinished", 0).optional().describe("Delete the finished Job after this many seconds. Default: keep it (a later `pulumi up --refresh` would re-create a deleted Job and run the load again)."),
            waitForCompletion: z.boolean().default(true).describe("`pulumi up` waits until the Job completes (and fails if it fails)."),
            waitImage: imageRef.default(BUSYBOX_IMAGE).describe("Image with `sh` and `nc` that waits for the app's Service."),
        })
        .optional()
        .describe("A one-off data-load Job (seeding, migrations) that starts once the app's client Service accepts connections. Re-runs only when its spec changes (the Job name carries a hash of it)."),
    helm: z
        .strictObject({
            timeoutSeconds: seconds("timeoutSeconds", 1).default(600).describe("Seconds Helm waits for the release (and hooks)."),
            hooks: z.boolean().default(true).describe("Run the chart's pre-/post-install hook Jobs."),
            hookImage: imageRef.default(BUSYBOX_IMAGE).describe("Image of the hook Jobs and test Pod."),
        })
        .prefault({})
        .describe("Options of the Helm release (deployWith: helm)."),
});

/** One app (workload) as configured, with every default applied. */
export type AppConfig = z.output<typeof appSchema>;

const stackSchema = z.strictObject({
    environment: z.enum(["dev", "staging", "prod"]).describe("Environment: labels everything; `prod` refuses `latest` images."),
    namespace: z
        .strictObject({
            name: z.string().max(63).regex(DNS1123_LABEL, { message: "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters" }).describe("Namespace of every workload."),
            create: z.boolean().default(true).describe("Create the Namespace (with PodSecurity labels)."),
            podSecurity: z.enum(["restricted", "baseline"]).default("restricted").describe("Pod Security Standard enforced on the namespace."),
        })
        .describe("The namespace."),
    clusterDomain: z.string().default("cluster.local").describe("Cluster DNS domain, for the DNS names in stack outputs."),
    protect: z.boolean().default(false).describe("Set `protect` and `retainOnDelete` on data-bearing resources (StatefulSet, Secret, password, release)."),
    allowLoadBalancer: z.boolean().default(false).describe("Allow client Services of type LoadBalancer."),
    zones: z
        .array(z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, { message: "must be a label value such as eu-west-1a" }))
        .min(1)
        .optional()
        .describe("Zones of the target cluster (values of the node label `topology.kubernetes.io/zone`). When set, zone spread settings are checked against it."),
    monitoring: z
        .strictObject({
            prometheusOperator: z.boolean().default(false).describe("The Prometheus Operator CRDs exist: scrape through a ServiceMonitor and alert through a PrometheusRule. Otherwise pods get `prometheus.io/*` scrape annotations and the rules go to a ConfigMap `<app>-alert-rules` (a Prometheus rules file)."),
            alertRules: z.boolean().default(false).describe("Alert rules per app: replicas/pods not Ready, container restarts, PVC nearly full or filling up, and for apps with `metrics` the mtail target down or its metrics absent."),
            labels: labelMap.default({}).describe("Extra labels on ServiceMonitors and PrometheusRules (the operator's selectors, e.g. `release: kube-prometheus-stack`)."),
            scrapeJob: z.string().min(1).default("kubernetes-pods").describe("Without the operator: the `job` label your Prometheus gives annotation-scraped pods (the mtail alerts filter on it)."),
            notReadyForSeconds: seconds("notReadyForSeconds", 60).default(900).describe("Seconds a pod may be not Ready before alerting."),
            volumeFreeRatio: z.number().gt(0, { message: "must be a fraction between 0 and 1 (0.1 = 10% free), not a percentage" }).lt(1, { message: "must be a fraction between 0 and 1 (0.1 = 10% free), not a percentage" }).default(0.1).describe("Alert when a PVC has less than this fraction free (0..1)."),
            volumeFillHorizonSeconds: seconds("volumeFillHorizonSeconds", 3600).default(86400).describe("Alert when a PVC, at the rate of the last 6 h, fills within this many seconds."),
            restartThreshold: int32(0).default(3).describe("Alert when a container restarts more often than this within restartWindowSeconds."),
            restartWindowSeconds: seconds("restartWindowSeconds", 60).default(900).describe("The window, in seconds, restarts are counted over."),
            mtailDownForSeconds: seconds("mtailDownForSeconds", 60).default(300).describe("Seconds the mtail target may be down (or its metrics absent) before alerting."),
            runbookBaseUrl: z.url({ message: "must be a URL such as https://runbooks.example.com/stateful-apps" }).optional().describe("Runbooks: each alert gets `runbook_url: <base>#<alertname in lowercase>`."),
        })
        .prefault({})
        .describe("Scraping and alerting."),
    apps: z.array(appSchema).min(1, { message: "must list at least one app" }).describe("The workloads."),
});

/** The whole stack configuration, validated, defaulted and frozen. */
export type StackConfig = z.output<typeof stackSchema>;

/** The schema, for generating docs (`z.toJSONSchema`). */
export const STACK_SCHEMA = stackSchema;

/** Top-level config keys (`<project>:<key>`). */
export const CONFIG_KEYS = Object.keys(stackSchema.shape) as (keyof StackConfig)[];

/**
 * The extra top-level config keys a stack may hold: those named by `apps[*].secret.configKey` (secrets set with
 * `pulumi config set --secret <key>`), except keys of the schema itself.
 *
 * @param apps the raw `apps` value (anything: validation comes later).
 */
export function referencedSecretKeys(apps: unknown): Set<string> {
    const keys = new Set<string>();
    for (const app of Array.isArray(apps) ? apps : []) {
        const key = app?.secret?.configKey;
        if (typeof key === "string" && !(CONFIG_KEYS as string[]).includes(key)) {
            keys.add(key);
        }
    }
    return keys;
}

/** One problem in the stack config. */
export interface ConfigProblem {
    /** The full config key, e.g. `stateful-apps:apps[1].storage.size`. */
    readonly key: string;
    /** What is wrong and what is allowed. */
    readonly message: string;
    /** The value given (omitted for secrets and when absent). */
    readonly given?: unknown;
}

/** Thrown for an invalid stack config, before any resource is registered. Lists every problem. */
export class StackConfigError extends Error {
    constructor(readonly problems: readonly ConfigProblem[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems
                    .map((p) => `  - ${p.key}: ${p.message}${p.given === undefined ? "" : ` (given: ${JSON.stringify(p.given)})`}`)
                    .join("\n"),
        );
        this.name = "StackConfigError";
    }
}

/** Formats a zod path as a stack config key: `["apps", 1, "storage", "size"]` → `stateful-apps:apps[1].storage.size`. */
export function configKey(path: readonly PropertyKey[]): string {
    let key = `${PROJECT}:`;
    path.forEach((part, i) => {
        if (typeof part === "number") {
            key += `[${part}]`;
        } else if (i > 0 && !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(part))) {
            // A map key that is not a plain name (a file name such as `config.json` or `.`): the form `pulumi config
            // set --path` accepts.
            key += `[${JSON.stringify(String(part))}]`;
        } else {
            key += i === 0 ? String(part) : `.${String(part)}`;
        }
    });
    return key;
}

/** Longest app name with a data-load Job: `<name>-data-load-<8 hex>` must fit the 63-character `job-name` label. */
const MAX_APP_NAME_WITH_DATA_LOAD = 63 - "-data-load-".length - 8;

/** Suffix of the chart's `helm test` Pod's name and `app.kubernetes.io/name` label (templates/tests/test-connection.yaml). */
const TEST_POD_SUFFIX = "-test-connection";

/** Object names an app owns in its namespace (Services, ConfigMaps, Secret, hook Jobs, test Pod). */
function derivedObjectNames(app: string): string[] {
    const n = workloadNames(app);
    return [n.app, n.headless, n.envConfigMap, n.filesConfigMap, n.secret, n.mtailConfigMap, n.alertRules, `${app}-preflight`, `${app}-report`, `${app}${TEST_POD_SUFFIX}`];
}

/** Cross-field rules that one field's schema cannot express. */
function crossFieldProblems(cfg: StackConfig): { path: PropertyKey[]; message: string; given?: unknown }[] {
    const out: { path: PropertyKey[]; message: string; given?: unknown }[] = [];
    const seen = new Map<string, number>();
    const objectNames = new Map<string, number>();
    const nodePorts = new Map<number, number>();
    cfg.apps.forEach((app, i) => {
        const at = (...p: PropertyKey[]) => ["apps", i, ...p];
        if (seen.has(app.name)) {
            out.push({ path: at("name"), message: `duplicates apps[${seen.get(app.name)}].name; app names must be unique`, given: app.name });
        } else {
            // Names derived from different app names can still collide: app `db-headless` vs the headless Service of `db`.
            const clash = derivedObjectNames(app.name).find((n) => objectNames.has(n) && objectNames.get(n) !== i);
            if (clash) {
                out.push({ path: at("name"), message: `its object name '${clash}' collides with one of apps[${objectNames.get(clash)}] (each app owns <name>, <name>-headless, <name>-env, <name>-files, <name>-credentials, <name>-mtail, …)`, given: app.name });
            }
            derivedObjectNames(app.name).forEach((n) => objectNames.set(n, i));
        }
        seen.set(app.name, i);
        if (app.service.nodePort !== undefined) {
            if (nodePorts.has(app.service.nodePort)) {
                out.push({ path: at("service", "nodePort"), message: `is already used by apps[${nodePorts.get(app.service.nodePort)}]; a nodePort is cluster-wide and can back one Service only`, given: app.service.nodePort });
            }
            nodePorts.set(app.service.nodePort, i);
        }
        const spread = app.topologySpread;
        if (spread.minDomains !== undefined && spread.zone !== "DoNotSchedule") {
            out.push({ path: at("topologySpread", "minDomains"), message: "needs topologySpread.zone: DoNotSchedule (Kubernetes accepts minDomains only with whenUnsatisfiable DoNotSchedule)", given: spread.minDomains });
        } else if (spread.minDomains !== undefined && cfg.zones && spread.minDomains > cfg.zones.length) {
            out.push({
                path: at("topologySpread", "minDomains"),
                message: `asks for ${spread.minDomains} zones but the stack's zones list ${cfg.zones.length} (${cfg.zones.join(", ")}); with DoNotSchedule the extra pods would stay Pending`,
                given: spread.minDomains,
            });
        }
        if (app.updateStrategy.type === "RollingUpdate" && app.updateStrategy.partition > app.replicas) {
            out.push({ path: at("updateStrategy", "partition"), message: `must be ≤ replicas (${app.replicas}); a larger partition never updates any pod`, given: app.updateStrategy.partition });
        }
        if (app.pdb.minAvailable !== undefined && app.pdb.maxUnavailable !== undefined) {
            out.push({ path: at("pdb"), message: "set minAvailable or maxUnavailable, not both (PodDisruptionBudget allows one)" });
        } else if (pdbEnabled(app) && app.replicas > 0 && allowedDisruptions(app.pdb, app.replicas) === 0) {
            const field = app.pdb.minAvailable !== undefined ? "minAvailable" : "maxUnavailable";
            out.push({
                path: at("pdb", field),
                message: `allows zero disruptions with ${app.replicas} replica(s), so node drains would block forever; allow at least one (e.g. maxUnavailable: 1) or set pdb.enabled: false`,
                given: app.pdb[field],
            });
        }
        const req = app.resources.requests;
        const lim = app.resources.limits;
        if ((parseQuantity(req.memory) ?? 0) > (parseQuantity(lim.memory) ?? Infinity)) {
            out.push({ path: at("resources", "requests", "memory"), message: `must be ≤ limits.memory (${lim.memory})`, given: req.memory });
        }
        if ((parseQuantity(req.ephemeralStorage) ?? 0) > (parseQuantity(lim.ephemeralStorage) ?? Infinity)) {
            out.push({ path: at("resources", "requests", "ephemeralStorage"), message: `must be ≤ limits.ephemeralStorage (${lim.ephemeralStorage})`, given: req.ephemeralStorage });
        }
        if (lim.cpu !== undefined && (parseQuantity(req.cpu) ?? 0) > (parseQuantity(lim.cpu) ?? Infinity)) {
            out.push({ path: at("resources", "requests", "cpu"), message: `must be ≤ limits.cpu (${lim.cpu})`, given: req.cpu });
        }
        if (cfg.environment === "prod") {
            const images: [PropertyKey[], string | undefined][] = [
                [at("image", "repository"), app.image.repository],
                [at("metrics", "image", "repository"), app.metrics?.image.repository],
                [at("dataLoad", "image", "repository"), app.dataLoad?.image?.repository],
                [at("dataLoad", "waitImage"), app.dataLoad?.waitImage],
                [at("helm", "hookImage"), app.deployWith === "helm" ? app.helm.hookImage : undefined],
            ];
            for (const [path, image] of images) {
                if (image !== undefined && LOOPBACK_REGISTRY.test(image)) {
                    out.push({ path, message: "names a registry on localhost, which each prod node would look for on itself: push the image to a registry your nodes pull from", given: image });
                }
            }
        }
        if (cfg.environment === "prod" && app.image.tag === "latest" && !app.image.digest) {
            out.push({ path: at("image", "tag"), message: "must not be `latest` in a prod stack: pin a version tag (and ideally a digest)", given: app.image.tag });
        }
        if (app.service.type === "LoadBalancer" && !cfg.allowLoadBalancer) {
            out.push({ path: at("service", "type"), message: `LoadBalancer is not allowed in this stack; use ClusterIP or NodePort, or set ${PROJECT}:allowLoadBalancer: true`, given: app.service.type });
        }
        if (app.service.nodePort !== undefined && app.service.type === "ClusterIP") {
            out.push({ path: at("service", "nodePort"), message: "needs service.type NodePort or LoadBalancer", given: app.service.nodePort });
        }
        // k8s.io/kubernetes pkg/apis/core/validation validateSleepAction: the sleep must fit the grace period.
        if (app.preStopSleepSeconds > app.terminationGracePeriodSeconds) {
            out.push({
                path: at("preStopSleepSeconds"),
                message: `must be ≤ terminationGracePeriodSeconds (${app.terminationGracePeriodSeconds}); Kubernetes refuses a preStop sleep longer than the grace period`,
                given: app.preStopSleepSeconds,
            });
        }
        // The container's own env (lib/workload.ts podTemplate) wins over envFrom, so a plain env of these names would
        // silently never arrive.
        for (const name of Object.keys(app.env)) {
            if (name === app.secret.envName || name in INJECTED_ENV) {
                out.push({ path: at("env", name), message: `is set by the program (${[...Object.keys(INJECTED_ENV), "secret.envName"].join(", ")}); the pod would never see this value`, given: name });
            }
        }
        const probes: [string, typeof app.probes.readiness | undefined][] = [
            ["readiness", app.probes.readiness],
            ["liveness", app.probes.liveness],
            ["startup", app.probes.startup],
        ];
        for (const [name, probe] of probes) {
            if (probe && probe.timeoutSeconds > probe.periodSeconds) {
                out.push({ path: at("probes", name, "timeoutSeconds"), message: `must be ≤ periodSeconds (${probe.periodSeconds})`, given: probe.timeoutSeconds });
            }
        }
        if (app.metrics) {
            if (app.metrics.port === app.port) {
                out.push({ path: at("metrics", "port"), message: `collides with the app's port ${app.port}; mtail needs a port of its own`, given: app.metrics.port });
            }
            const probePorts = [app.probes.readiness, app.probes.liveness, app.probes.startup].map((p) => p?.port).filter((p) => p !== undefined);
            if (probePorts.includes(app.metrics.port)) {
                out.push({ path: at("metrics", "port"), message: "is also a probe port of the app container; pick another", given: app.metrics.port });
            }
            if (app.portName === "metrics") {
                out.push({ path: at("portName"), message: "`metrics` is reserved for the mtail sidecar's port when `metrics` is set", given: app.portName });
            }
            if (!app.metrics.logFile.startsWith(`${app.storage.mountPath.replace(/\/$/, "")}/`)) {
                out.push({ path: at("metrics", "logFile"), message: `must be under storage.mountPath (${app.storage.mountPath}): the sidecar reads it from the data volume`, given: app.metrics.logFile });
            }
        }
        if (app.dataLoad && app.name.length > MAX_APP_NAME_WITH_DATA_LOAD) {
            out.push({ path: at("name"), message: `must be at most ${MAX_APP_NAME_WITH_DATA_LOAD} characters with dataLoad: the Job <name>-data-load-<hash> becomes a 63-character label (job-name)`, given: app.name });
        }
        if (app.dataLoad && app.replicas === 0) {
            out.push({ path: at("dataLoad"), message: "needs replicas ≥ 1: the Job waits for the app's Service to accept connections" });
        }
        const mountPaths = [app.storage.mountPath, app.configMountPath, "/tmp"];
        if (new Set(mountPaths).size !== mountPaths.length) {
            out.push({ path: at("configMountPath"), message: `must differ from storage.mountPath and /tmp`, given: app.configMountPath });
        }
        // core/validation ValidateVolumeMounts: each container's mountPaths must be unique. The app container mounts
        // each config file at <configMountPath>/<file>; the mtail sidecar mounts its program at MTAIL_PROGS_DIR.
        const fileMounts = Object.keys(app.configFiles).map((f) => `${app.configMountPath.replace(/\/$/, "")}/${f}`);
        if (fileMounts.includes(app.storage.mountPath.replace(/\/$/, "")) || (app.metrics && app.storage.mountPath.replace(/\/$/, "") === MTAIL_PROGS_DIR)) {
            out.push({
                path: at("storage", "mountPath"),
                message: `is also where ${app.metrics && app.storage.mountPath.replace(/\/$/, "") === MTAIL_PROGS_DIR ? "the mtail sidecar mounts its program" : "a config file is mounted"}; Kubernetes refuses two mounts at one path in a container`,
                given: app.storage.mountPath,
            });
        }
        // core/validation ValidateConfigMap: at most 1 MiB of data per ConfigMap (the files; the env).
        const bytes = (data: Record<string, string>) => Object.values(data).reduce((n, v) => n + Buffer.byteLength(v, "utf8"), 0);
        const sizes: [PropertyKey[], number][] = [
            [at("configFiles"), bytes(configFileData(app))],
            [at("env"), bytes(app.env)],
        ];
        for (const [path, size] of sizes) {
            if (size > MAX_CONFIGMAP_BYTES) {
                out.push({ path, message: `holds ${size} bytes; a ConfigMap holds at most ${MAX_CONFIGMAP_BYTES} (1 MiB): keep large data in the image or on the volume` });
            }
        }
        // The chart's helm-test Pod carries the label app.kubernetes.io/name=<name>-test-connection (≤ 63 characters).
        if (app.deployWith === "helm" && app.name.length > 63 - TEST_POD_SUFFIX.length) {
            out.push({ path: at("name"), message: `must be at most ${63 - TEST_POD_SUFFIX.length} characters with deployWith: helm: the chart's test Pod is labelled <name>${TEST_POD_SUFFIX} (a label value, at most 63)`, given: app.name });
        }
        if (app.metrics && (parseQuantity(app.metrics.resources.memory) ?? 0) > (parseQuantity(app.metrics.resources.memoryLimit) ?? Infinity)) {
            out.push({ path: at("metrics", "resources", "memory"), message: `must be ≤ metrics.resources.memoryLimit (${app.metrics.resources.memoryLimit}); Kubernetes refuses requests above limits`, given: app.metrics.resources.memory });
        }
    });
    return out;
}

/**
 * Validates raw stack config values and returns the frozen, defaulted config.
 *
 * @param raw the config values by top-level key (without the `<project>:` prefix), objects already parsed from
 *   JSON, e.g. `{ environment: "dev", namespace: {...}, apps: [...] }`. Keys that are not in the schema are
 *   reported as unknown (typos).
 * @param hasSecret tells whether a secret config key (`<project>:<key>`) is set; used for `secret.source: config`.
 * @throws StackConfigError listing every problem with its full config key, the value given and what is allowed.
 */
export function parseStackConfig(raw: Record<string, unknown>, hasSecret: (key: string) => boolean): StackConfig {
    const result = stackSchema.safeParse(raw, { reportInput: true });
    if (!result.success) {
        throw new StackConfigError(
            result.error.issues.map((issue) => {
                const path: PropertyKey[] = issue.path;
                let message = issue.message;
                if (issue.code === "unrecognized_keys") {
                    return { key: configKey(path), message: `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(", ")} (a typo?); allowed: ${allowedKeys(path).join(", ")}` };
                }
                if (issue.code === "invalid_key") {
                    // zod reports "Invalid key in record"; the reasons are in the nested issues.
                    message = `is not an allowed key: ${issue.issues.map((i) => i.message).join("; ")}`;
                    return { key: configKey(path), message };
                }
                if (issue.input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
                    message = `is required; ${issue.message.replace(/^Invalid (input|option): /, "")}`;
                }
                return { key: configKey(path), message, given: issue.input };
            }),
        );
    }
    const cfg = result.data;
    const problems = crossFieldProblems(cfg);
    cfg.apps.forEach((app, i) => {
        if (app.secret.source === "config" && app.secret.configKey && (CONFIG_KEYS as string[]).includes(app.secret.configKey)) {
            problems.push({
                path: ["apps", i, "secret", "configKey"],
                message: `names ${PROJECT}:${app.secret.configKey}, one of this program's own settings, not a secret; use a key of its own (e.g. ${app.name}Password) set with \`pulumi config set --secret\``,
                given: app.secret.configKey,
            });
        } else if (app.secret.source === "config" && app.secret.configKey && !hasSecret(app.secret.configKey)) {
            problems.push({
                path: ["apps", i, "secret", "configKey"],
                message: `names ${PROJECT}:${app.secret.configKey}, which is not set in this stack; run \`pulumi config set --secret ${app.secret.configKey} <value>\``,
            });
        }
    });
    if (problems.length > 0) {
        throw new StackConfigError(problems.map((p) => ({ key: configKey(p.path), message: p.message, given: p.given })));
    }
    return deepFreeze(cfg);
}

/** The outcome of comparing the config with what is deployed. */
export interface DeployedCheck {
    /** Changes Kubernetes would reject; `up` must stop. */
    readonly problems: ConfigProblem[];
    /** Changes that are allowed but do not take effect by themselves. */
    readonly warnings: string[];
}

/**
 * Compares the config with what the stack's namespace holds (`live`: every PVC, name and requested size, and every
 * StatefulSet's immutable fields).
 *
 * Problems (the run must stop): a `storage.size` below the largest of the app's PVCs (`data-<app>-<ordinal>`). A PVC
 * can never shrink (the API server rejects `spec.resources.requests.storage` below the previous value,
 * https://kubernetes.io/docs/concepts/storage/persistent-volumes/#expanding-persistent-volumes-claims), and a
 * StatefulSet adopts existing PVCs by name, whatever its volumeClaimTemplates say.
 *
 * Warnings (allowed, but they do not take effect by themselves): a `storage.size` above some PVCs (they keep their
 * size until expanded; the StorageClass must allow it); a `podManagementPolicy` or `storage.size` that differs from
 * the live StatefulSet's, fields the API server refuses to change (kubernetes#68737) and that the program therefore
 * ignores after creation, with the recipe that applies them (README "Safety rules"). Nothing live: nothing to say.
 */
export function checkAgainstLive(cfg: StackConfig, live: LiveNamespace): DeployedCheck {
    const problems: ConfigProblem[] = [];
    const warnings: string[] = [];
    cfg.apps.forEach((app, i) => {
        const sizeKey = configKey(["apps", i, "storage", "size"]);
        const now = parseQuantity(app.storage.size);
        const sts = live.statefulSets.find((s) => s.name === workloadNames(app.name).app);
        if (sts) {
            const recipe =
                app.deployWith === "native"
                    ? `it is immutable, so the program leaves it as it is; to apply it, run \`kubectl -n ${cfg.namespace.name} delete statefulset ${sts.name} --cascade=orphan\`, then \`pulumi up --refresh\` (pods and PVCs are kept; README "Safety rules")`
                    : "it is immutable, so the release leaves it as it is (recreating a release's StatefulSet is not automated yet; README \"Safety rules\")";
            if (sts.podManagementPolicy !== app.podManagementPolicy) {
                warnings.push(`${configKey(["apps", i, "podManagementPolicy"])} is ${app.podManagementPolicy}, but the live StatefulSet ${sts.name} has ${sts.podManagementPolicy}: ${recipe}`);
            }
            if (sts.claimSize !== undefined && now !== undefined && parseQuantity(sts.claimSize) !== now) {
                warnings.push(`${sizeKey} is ${app.storage.size}, but the live StatefulSet ${sts.name}'s volumeClaimTemplates ask ${sts.claimSize} (what new ordinals get): ${recipe}`);
            }
        }
        const own = new RegExp(`^${workloadNames(app.name).volumeClaim}-${app.name}-\\d+$`);
        const sized = live.claims.filter((c) => own.test(c.name)).map((c) => ({ ...c, bytes: parseQuantity(c.size) ?? 0 }));
        if (sized.length === 0 || now === undefined) {
            return;
        }
        const largest = sized.reduce((a, b) => (b.bytes > a.bytes ? b : a));
        const smaller = sized.filter((c) => c.bytes < now);
        if (now < largest.bytes) {
            problems.push({
                key: sizeKey,
                message: `is smaller than the live PVC ${largest.name} (${largest.size}); a PersistentVolumeClaim cannot shrink and the StatefulSet re-uses it by name. Keep ${largest.size} or more, or move the data to a new app`,
                given: app.storage.size,
            });
        } else if (smaller.length > 0) {
            const list = smaller.map((c) => `${c.name} (${c.size})`).join(", ");
            warnings.push(`${sizeKey} is ${app.storage.size}, but PVCs ${list} are smaller: they keep their size until expanded (kubectl patch pvc <name> -p '{"spec":{"resources":{"requests":{"storage":"${app.storage.size}"}}}}'; the StorageClass must allow expansion)`);
        }
    });
    return { problems, warnings };
}

/** The keys allowed at a path of the schema, for "unknown key" messages. */
function allowedKeys(path: readonly PropertyKey[]): string[] {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let node: any = stackSchema;
    for (const part of path) {
        node = unwrap(node);
        if (typeof part === "number") {
            node = node?.element;
        } else {
            node = node?.shape?.[part];
        }
    }
    node = unwrap(node);
    return node?.shape ? Object.keys(node.shape) : [];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function unwrap(node: any): any {
    // Defaults, optionals and refinements wrap the object schema; peel them off.
    while (node && !node.shape && !node.element && typeof node.unwrap === "function") {
        node = node.unwrap();
    }
    while (node && !node.shape && !node.element && node.def?.innerType) {
        node = node.def.innerType;
    }
    return node;
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object") {
        Object.values(value).forEach(deepFreeze);
        Object.freeze(value);
    }
    return value;
}

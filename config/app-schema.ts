/**
 * One app's schema (zod): every key of `apps[i]`, its type, its default (stated here and nowhere else) and its
 * description. The stack's keys and `apps` itself: ./schema.ts.
 */
import { z } from "zod";
import { LOG_FORMATS, LogFormat, MTAIL_PORT } from "../lib/mtail-constants";
import { DNS1035_LABEL, MAX_APP_NAME } from "../lib/names";
import { DEFAULT_PDB_MAX_UNAVAILABLE } from "../lib/pdb";
import { extraPortsSchema, membershipSchema, peerEnvSchema } from "./peer-schema";
import {
    BUSYBOX_IMAGE,
    configMapKey,
    ianaPortName,
    DNS1123_SUBDOMAIN,
    imageRef,
    int32,
    intOrPercent,
    MAX_REPLICAS,
    networkPeer,
    quantity,
    seconds,
} from "./fields";

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
    pullPolicy: z
        .enum(["IfNotPresent", "Always", "Never"])
        .default("IfNotPresent")
        .describe("When the kubelet pulls the image: IfNotPresent only when the node lacks it."),
});

export const appSchema = z.strictObject({
    name: z
        .string()
        .max(MAX_APP_NAME, {
            message: `must be at most ${MAX_APP_NAME} characters (the StatefulSet controller adds a 11-character revision suffix to a 63-character label)`,
        })
        .regex(DNS1035_LABEL, { message: "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, ending with a letter or digit" })
        .describe("App name: StatefulSet, Services, ConfigMap and Helm release are named from it."),
    deployWith: z.enum(["native", "helm"]).default("native").describe("`native`: Pulumi Kubernetes resources; `helm`: a Helm release of charts/stateful-app."),
    image: imageSchema.describe("Container image."),
    command: z.array(z.string()).optional().describe("Container command (entrypoint override)."),
    args: z.array(z.string()).optional().describe("Container arguments."),
    port: z.number().int().min(1).max(65535).describe("The port the app listens on (containerPort)."),
    portName: ianaPortName.default("app").describe("Name of the port on the pod and Services (an IANA service name)."),
    replicas: z
        .number()
        .int({ message: "must be a whole number" })
        .min(0, { message: "must be ≥ 0" })
        // Not Kubernetes' limit (int32) but this program's: it lists every pod's DNS name in the stack outputs.
        .max(MAX_REPLICAS, { message: `must be ≤ ${MAX_REPLICAS} (every pod's DNS name is a stack output)` })
        .default(1)
        .describe("Number of pods (each with its own PVC)."),
    extraPorts: extraPortsSchema,
    peerEnv: peerEnvSchema,
    membership: membershipSchema,
    podManagementPolicy: z
        .enum(["OrderedReady", "Parallel"])
        .default("OrderedReady")
        .describe("OrderedReady starts pods one at a time in order; Parallel starts them together."),
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
    preStopSleepSeconds: seconds("preStopSleepSeconds", 0)
        .default(5)
        .describe("preStop sleep so endpoints drain before SIGTERM (a `sleep` lifecycle handler; no shell needed). 0 disables."),
    priorityClassName: z
        .string()
        .max(253)
        .regex(DNS1123_SUBDOMAIN, { message: "must name a PriorityClass: a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')" })
        .optional()
        .describe("PriorityClass of the pods: they preempt lower ones and are preempted last. Must exist in the cluster (preview refuses one that does not)."),
    service: z
        .strictObject({
            type: z
                .enum(["ClusterIP", "NodePort", "LoadBalancer"])
                .default("ClusterIP")
                .describe("Client Service type. LoadBalancer only where `allowLoadBalancer` is true."),
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
                .regex(DNS1123_SUBDOMAIN, {
                    message:
                        "must be a DNS-1123 subdomain (a StorageClass name): lowercase letters, digits, '-' and '.', dot-separated parts alphanumeric at both ends",
                })
                .optional()
                .describe("StorageClass of the PVCs. Default: the cluster's default class."),
            accessModes: z
                .array(z.enum(["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"]))
                .min(1)
                // core/validation ValidatePersistentVolumeClaimSpec: "may not use ReadWriteOncePod with other access modes".
                .refine((m) => !m.includes("ReadWriteOncePod") || m.length === 1, {
                    message: "ReadWriteOncePod cannot be combined with other access modes (Kubernetes refuses the PVC)",
                })
                .default(["ReadWriteOnce"])
                .describe("PVC access modes."),
            mountPath: z.string().startsWith("/").default("/data").describe("Where the volume is mounted."),
        })
        .prefault({})
        .describe("volumeClaimTemplates: one PersistentVolumeClaim per replica."),
    recoverStuckRollout: z
        .boolean()
        .default(true)
        .describe(
            "While `up` waits for an OrderedReady RollingUpdate StatefulSet (native or Helm), delete its pods at or above the partition that are not on the update revision and not Ready past their probes' budgets with the containers running (else past the await timeouts' per-pod budget), so that reverting a bad template recovers the rollout (the controller waits for such a pod forever, kubernetes#67250; docs/DAY-2.md \"Day-2 operations\"). Needs `get` on the StatefulSet, `list` and `delete` on pods.",
        ),
    allowStatefulSetRecreate: z
        .boolean()
        .default(false)
        .describe(
            'Apply a change of a field the API server keeps immutable on the live StatefulSet (`podManagementPolicy`, the volumeClaimTemplates\' `storage.size`) by recreating the StatefulSet over its pods and PVCs: one `up` marks it for an orphaning delete, the next deletes it keeping its pods and PVCs and creates it anew, adopting them (`npm run deploy` runs both). Native apps only. Off: such changes are ignored, with a warning (docs/DAY-2.md "Day-2 operations").',
        ),
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
            maxUnavailable: intOrPercent
                .optional()
                .describe(`Pods that may be disrupted at once. Default ${DEFAULT_PDB_MAX_UNAVAILABLE} when minAvailable is unset.`),
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
                .describe(
                    "With zone DoNotSchedule: the fewest zones the pods must spread over; while fewer zones are eligible, extra pods stay Pending. Must be ≤ the stack's `zones`.",
                ),
        })
        .prefault({})
        .describe("topologySpreadConstraints."),
    securityContext: z
        .strictObject({
            runAsUser: int32(1, "must be ≥ 1: the restricted Pod Security Standard forbids root (0)").default(1000).describe("UID."),
            runAsGroup: int32(1).default(1000).describe("GID."),
            fsGroup: int32(1).default(1000).describe("Group owning the volume."),
            readOnlyRootFilesystem: z
                .boolean()
                .default(true)
                .describe(
                    'A read-only root filesystem for the app container (/tmp is a writable emptyDir). Turn it off only for an image that writes its root filesystem (docs/CONFIGURATION.md "Images").',
                ),
        })
        .prefault({})
        .describe("Pod/container security context; always meets the restricted Pod Security Standard."),
    env: z
        .record(
            z
                .string()
                .max(253, { message: "must be at most 253 characters (a ConfigMap key)" })
                .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "must be a C identifier: letters, digits and '_', not starting with a digit" }),
            z.string(),
        )
        .default({})
        .describe("Plain environment variables, delivered through the ConfigMap (envFrom)."),
    configFiles: z
        .record(configMapKey, z.union([z.string(), z.record(z.string(), z.unknown())]))
        .default({})
        .describe("Files in the ConfigMap, each mounted read-only (subPath) under `configMountPath`. Objects are written as JSON."),
    configMountPath: z.string().startsWith("/").default("/etc/app").describe("Directory of the config files."),
    secret: z
        .strictObject({
            source: z
                .enum(["generated", "config"])
                .describe("`generated`: random.RandomPassword, stable across runs; `config`: a value from `pulumi config set --secret`."),
            configKey: z
                .string()
                .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/)
                .optional()
                .describe("With source config: the config key (in this project) holding the secret."),
            key: configMapKey.default("password").describe("Key inside the Secret."),
            envName: z
                .string()
                .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
                .default("APP_PASSWORD")
                .describe("Env var the container reads it from."),
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
                ctx.addIssue({
                    code: "custom",
                    path: ["configKey"],
                    message: "is required when source is config (the key set with `pulumi config set --secret <key> …`)",
                });
            }
        })
        .describe("The app's Secret."),
    networkPolicy: z
        .strictObject({
            enabled: z.boolean().default(false).describe("Create a NetworkPolicy."),
            allowFrom: z
                .array(networkPeer)
                .default([])
                .describe("Peers allowed to reach the app port (besides the app's own pods). Empty: only the app's pods."),
        })
        .prefault({})
        .describe(
            "Ingress NetworkPolicy: the app port only from the app's own pods and `allowFrom`, the members' `extraPorts` only from the app's own pods, the mtail `metrics` port only from `monitoring.scrapeFrom`.",
        ),
    metrics: z
        .strictObject({
            logFormat: z
                .enum(LOG_FORMATS as unknown as [LogFormat, ...LogFormat[]])
                .describe(
                    "Format of the app's log: `visits` (`<time> visit <n> pod=<pod>`), `timestamps` (one RFC 3339 time per visit) or `litecoin-debug` (litecoin-core debug.log). Picks the mtail program in observability/mtail.",
                ),
            logFile: z
                .string()
                .startsWith("/")
                .describe("The log file the app writes, on its data volume (under `storage.mountPath`), e.g. `/data/visits.log`."),
            image: imageSchema.describe("Image with mtail 3.0 on PATH (build observability/mtail-image/Dockerfile and push it to your registry)."),
            port: z
                .number()
                .int()
                .min(1024)
                .max(65535)
                .default(MTAIL_PORT)
                .describe(`Port of mtail's /metrics (named \`metrics\` on the pod and the headless Service).`),
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
        .describe(
            "Metrics from logs: an mtail sidecar (a native sidecar: starts before the app, stops after it) reads `logFile` read-only from the data volume and serves Prometheus metrics. Off when absent.",
        ),
    dataLoad: z
        .strictObject({
            image: imageSchema.optional().describe("Image of the Job. Default: the app's image."),
            command: z
                .array(z.string())
                .min(1)
                .describe("Command of the load; it must be idempotent (a retry or a re-run after `ttlSecondsAfterFinished` runs it again)."),
            args: z.array(z.string()).optional().describe("Arguments."),
            backoffLimit: int32(0).default(3).describe("Retries before the Job fails."),
            activeDeadlineSeconds: seconds("activeDeadlineSeconds", 1)
                .default(600)
                .describe("Seconds the whole Job (all retries, and the wait for the Service) may run."),
            ttlSecondsAfterFinished: seconds("ttlSecondsAfterFinished", 0)
                .optional()
                .describe(
                    "Delete the finished Job after this many seconds. Default: keep it (a later `pulumi up --refresh` would re-create a deleted Job and run the load again).",
                ),
            waitForCompletion: z.boolean().default(true).describe("`pulumi up` waits until the Job completes (and fails if it fails)."),
            waitImage: imageRef.default(BUSYBOX_IMAGE).describe("Image with `sh` and `nc` that waits for the app's Service."),
        })
        .optional()
        .describe(
            "A one-off data-load Job (seeding, migrations) that starts once the app's client Service accepts connections. Re-runs only when its spec changes (the Job name carries a hash of it).",
        ),
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

/**
 * The values of `charts/stateful-app` as a zod schema: the one source of `charts/stateful-app/values.schema.json`
 * (`npm run chart:schema` writes it; a test fails when it is stale) and of the type of lib/helm-values.ts's
 * output, so that what the program passes and what Helm accepts cannot drift apart.
 *
 * Only what JSON Schema can say is said here (no refinements: they would vanish from values.schema.json). The
 * rules of the stack config (config/) are stricter; this schema guards users of the chart without the program.
 */
import { z } from "zod";
import { MAX_APP_NAME } from "./names";

/** A Kubernetes quantity (`1Gi`, `250m`, `1e3`), as a pattern JSON Schema can check. */
const QUANTITY = /^\+?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|m|k|M|G|T|P|E)?$/;
const quantity = z.string().regex(QUANTITY);
const port = z.number().int().min(1).max(65535);
const percent = z.string().regex(/^(100|[1-9]?\d)%$/);
const intOrPercent = z.union([z.number().int().min(0), percent]);
const pullPolicy = z.enum(["IfNotPresent", "Always", "Never"]);
const stringMap = z.record(z.string(), z.string());
/** A Kubernetes Probe, passed through to the container as given. */
const probe = z.looseObject({});

const image = z.strictObject({
    repository: z.string().min(1),
    tag: z.union([z.string(), z.number()]),
    digest: z
        .string()
        .regex(/^(sha256:[a-f0-9]{64})?$/)
        .optional(),
    pullPolicy: pullPolicy.optional(),
});

const updateStrategy = z.union([
    z.strictObject({
        type: z.literal("RollingUpdate"),
        rollingUpdate: z.strictObject({ partition: z.number().int().min(0).optional(), maxUnavailable: intOrPercent.optional() }).optional(),
    }),
    z.strictObject({ type: z.literal("OnDelete") }),
]);

const resources = z.strictObject({
    requests: z.strictObject({ cpu: quantity, memory: quantity, "ephemeral-storage": quantity }),
    limits: z.strictObject({ cpu: quantity.optional(), memory: quantity, "ephemeral-storage": quantity }),
});

/** PodDisruptionBudget: minAvailable or maxUnavailable, not both; neither: maxUnavailable 1. */
const pdb = z.union([
    z.strictObject({ enabled: z.boolean(), minAvailable: intOrPercent }),
    z.strictObject({ enabled: z.boolean(), maxUnavailable: intOrPercent.optional() }),
]);

const metrics = z.union([
    z.looseObject({ enabled: z.literal(false) }),
    z.strictObject({
        enabled: z.literal(true),
        logFile: z.string().startsWith("/"),
        image: z.strictObject({
            repository: z.string().min(1),
            tag: z.union([z.string(), z.number()]),
            digest: z.string().optional(),
            pullPolicy: pullPolicy.optional(),
        }),
        port: z.number().int().min(1024).max(65535),
        programFile: z.string().min(1),
        program: z.string().min(1),
        resources: z.looseObject({}),
        scrapeAnnotations: z.boolean().optional(),
    }),
]);

/** The chart's values (charts/stateful-app/values.yaml documents each; this schema checks them). */
export const CHART_VALUES_SCHEMA = z
    .strictObject({
        global: z.looseObject({}).optional(),
        nameOverride: z.string().max(MAX_APP_NAME).optional(),
        fullnameOverride: z
            .string()
            .max(MAX_APP_NAME)
            .regex(/^([a-z]([-a-z0-9]*[a-z0-9])?)?$/)
            .optional(),
        image,
        command: z.array(z.string()).optional(),
        args: z.array(z.string()).optional(),
        replicaCount: z.number().int().min(0),
        podManagementPolicy: z.enum(["OrderedReady", "Parallel"]).optional(),
        updateStrategy: updateStrategy.optional(),
        minReadySeconds: z.number().int().min(0).optional(),
        terminationGracePeriodSeconds: z.number().int().min(1).optional(),
        preStopSleepSeconds: z.number().int().min(0).optional(),
        podSpecFields: z.record(z.string(), z.unknown()).optional(),
        containerPort: port,
        portName: z.string().regex(/^[a-z]([-a-z0-9]{0,13})$/),
        podAnnotations: stringMap.optional(),
        statefulSetAnnotations: stringMap.optional(),
        service: z
            .strictObject({
                type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]),
                port: port.optional(),
                nodePort: z
                    .union([z.literal(0), z.number().int().min(30000).max(32767)])
                    .optional()
                    .describe("0: assigned by Kubernetes."),
            })
            .optional(),
        persistence: z.strictObject({
            size: quantity,
            storageClass: z.string().optional(),
            accessModes: z.array(z.enum(["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"])).min(1),
            mountPath: z.string().startsWith("/"),
            volumeClaimName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
        }),
        persistentVolumeClaimRetentionPolicy: z
            .strictObject({ whenDeleted: z.enum(["Retain", "Delete"]).optional(), whenScaled: z.enum(["Retain", "Delete"]).optional() })
            .optional(),
        resources,
        readinessProbe: probe.describe("A Kubernetes Probe; empty: HTTP GET / on portName every 10 s."),
        livenessProbe: probe.describe("A Kubernetes Probe; empty: HTTP GET / on portName every 10 s."),
        startupProbe: probe.optional().describe("A Kubernetes Probe; empty: none."),
        // The restricted Pod Security Standard, as far as values can break it.
        podSecurityContext: z
            .looseObject({ runAsNonRoot: z.literal(true), runAsUser: z.number().int().min(1).optional(), seccompProfile: z.looseObject({}) })
            .optional(),
        containerSecurityContext: z
            .looseObject({
                runAsNonRoot: z.literal(true),
                allowPrivilegeEscalation: z.literal(false),
                privileged: z.literal(false).optional(),
                runAsUser: z.number().int().min(1).optional(),
                capabilities: z.looseObject({}),
                seccompProfile: z.looseObject({}),
            })
            .optional(),
        topologySpread: z
            .strictObject({
                zone: z.enum(["DoNotSchedule", "ScheduleAnyway", "None"]).optional(),
                hostname: z.enum(["DoNotSchedule", "ScheduleAnyway", "None"]).optional(),
                maxSkew: z.number().int().min(1).optional(),
                minDomains: z.number().int().min(0).optional().describe("0: unset."),
            })
            .optional(),
        pdb: pdb.optional(),
        env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
        configFiles: stringMap.optional(),
        configMountPath: z.string().startsWith("/").optional(),
        existingSecret: z.string().min(1).describe("Required: the Secret is created outside the chart."),
        secretKey: z
            .string()
            .regex(/^[-._a-zA-Z0-9]+$/)
            .optional(),
        secretEnvName: z
            .string()
            .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
            .optional(),
        extraPorts: z
            .array(
                z.strictObject({
                    name: z
                        .string()
                        .regex(/^[a-z](?:-?[a-z0-9])*$/)
                        .max(15),
                    port,
                    access: z.enum(["members", "clients"]).optional(),
                }),
            )
            .optional(),
        peerEnv: z
            .array(
                z.strictObject({
                    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
                    members: z.enum(["self", "all", "first"]),
                    count: z.number().int().min(1).optional(),
                    format: z.string().min(1).optional(),
                    separator: z.string().optional(),
                }),
            )
            .optional(),
        clusterDomain: z.string().min(1).optional(),
        networkPolicy: z
            .strictObject({
                enabled: z.boolean().optional(),
                allowFrom: z.array(z.strictObject({ podLabels: stringMap.optional(), namespaceLabels: stringMap.optional() })).optional(),
                metricsFrom: z.array(z.strictObject({ podLabels: stringMap.optional(), namespaceLabels: stringMap.optional() })).optional(),
            })
            .optional(),
        hooks: z.strictObject({ enabled: z.boolean().optional(), image: z.string().min(1).optional() }).optional(),
        metrics: metrics.optional(),
    })
    .meta({ title: "stateful-app values" });

/** Chart values as the program passes them (lib/helm-values.ts). */
export type ChartValues = z.input<typeof CHART_VALUES_SCHEMA>;

/** `values.schema.json`: the JSON Schema (draft-07, what Helm 3 validates values with) of {@link CHART_VALUES_SCHEMA}. */
export function chartValuesJsonSchema(): string {
    return `${JSON.stringify(z.toJSONSchema(CHART_VALUES_SCHEMA, { target: "draft-7", io: "input" }), null, 2)}\n`;
}

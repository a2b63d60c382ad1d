/**
 * The stack configuration schema (zod): every key, its type, its default (stated here and nowhere else) and its
 * description, from which the configuration reference of docs/CONFIGURATION.md is generated (`npm run docs:config`).
 * One app's keys: ./app-schema.ts. Cross-field rules: ./rules.ts; parsing and error messages: ./parse.ts.
 */
import { z } from "zod";
import { DNS1035_LABEL, DNS1123_LABEL } from "../lib/names";
import { appSchema } from "./app-schema";
import { DNS1123_SUBDOMAIN, labelMap, networkPeer, seconds, int32 } from "./fields";

export type { AppConfig, ProbeConfig } from "./app-schema";

const stackSchema = z.strictObject({
    environment: z.enum(["dev", "staging", "prod"]).describe("Environment: labels everything; `prod` refuses `latest` images."),
    namespace: z
        .strictObject({
            name: z
                .string()
                .max(63)
                .regex(DNS1123_LABEL, { message: "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters" })
                .describe("Namespace of every workload."),
            create: z.boolean().default(true).describe("Create the Namespace (with PodSecurity labels)."),
            podSecurity: z.enum(["restricted", "baseline"]).default("restricted").describe("Pod Security Standard enforced on the namespace."),
        })
        .describe("The namespace."),
    clusterDomain: z
        .string()
        .max(253)
        .regex(DNS1123_SUBDOMAIN, { message: "must be a DNS domain such as cluster.local: lowercase letters, digits, '-' and '.'" })
        .default("cluster.local")
        .describe("Cluster DNS domain (the kubelet's `clusterDomain`), for the DNS names in stack outputs and in `peerEnv`."),
    protect: z.boolean().default(false).describe("Set `protect` and `retainOnDelete` on data-bearing resources (StatefulSet, Secret, password, release)."),
    allowLoadBalancer: z.boolean().default(false).describe("Allow client Services of type LoadBalancer."),
    zones: z
        .array(z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, { message: "must be a label value such as eu-west-1a" }))
        .min(1)
        .optional()
        .describe(
            "Zones of the target cluster (values of the node label `topology.kubernetes.io/zone`). When set, zone spread settings are checked against it.",
        ),
    monitoring: z
        .strictObject({
            prometheusOperator: z
                .boolean()
                .default(false)
                .describe(
                    "The Prometheus Operator CRDs exist: scrape through a ServiceMonitor and alert through a PrometheusRule. Otherwise pods get `prometheus.io/*` scrape annotations and the rules go to a ConfigMap `<app>-alert-rules` (a Prometheus rules file).",
                ),
            alertRules: z
                .boolean()
                .default(false)
                .describe(
                    "Alert rules per app: replicas/pods not Ready, container restarts, PVC nearly full or filling up, and for apps with `metrics` the mtail target down or its metrics absent.",
                ),
            labels: labelMap
                .default({})
                .describe("Extra labels on ServiceMonitors and PrometheusRules (the operator's selectors, e.g. `release: kube-prometheus-stack`)."),
            scrapeFrom: z
                .array(networkPeer)
                .default([])
                .describe(
                    "Where Prometheus runs, as NetworkPolicy peers (e.g. `[{namespaceLabels: {kubernetes.io/metadata.name: monitoring}}]`): the only peers an app's NetworkPolicy admits on its mtail `metrics` port. Required when an app has both `metrics` and `networkPolicy.enabled`.",
                ),
            scrapeJob: z
                .string()
                .min(1)
                .default("kubernetes-pods")
                .describe("Without the operator: the `job` label your Prometheus gives annotation-scraped pods (the mtail alerts filter on it)."),
            notReadyForSeconds: seconds("notReadyForSeconds", 60).default(900).describe("Seconds a pod may be not Ready before alerting."),
            volumeFreeRatio: z
                .number()
                .gt(0, { message: "must be a fraction between 0 and 1 (0.1 = 10% free), not a percentage" })
                .lt(1, { message: "must be a fraction between 0 and 1 (0.1 = 10% free), not a percentage" })
                .default(0.1)
                .describe("Alert when a PVC has less than this fraction free (0..1)."),
            volumeFillHorizonSeconds: seconds("volumeFillHorizonSeconds", 3600)
                .default(86400)
                .describe("Alert when a PVC, at the rate of the last 6 h, fills within this many seconds."),
            restartThreshold: int32(0).default(3).describe("Alert when a container restarts more often than this within restartWindowSeconds."),
            restartWindowSeconds: seconds("restartWindowSeconds", 60).default(900).describe("The window, in seconds, restarts are counted over."),
            mtailDownForSeconds: seconds("mtailDownForSeconds", 60)
                .default(300)
                .describe("Seconds the mtail target may be down (or its metrics absent) before alerting."),
            runbookBaseUrl: z
                .url({ message: "must be a URL such as https://runbooks.example.com/stateful-apps" })
                .optional()
                .describe("Runbooks: each alert gets `runbook_url: <base>#<alertname in lowercase>`."),
        })
        .prefault({})
        .describe("Scraping and alerting."),
    apps: z.array(appSchema).min(1, { message: "must list at least one app" }).describe("The workloads."),
    removedApps: z
        .array(
            z.strictObject({
                name: z.string().regex(DNS1035_LABEL, { message: "must be the name of a deployed app (a DNS-1035 label)" }).describe("The app's name."),
                namespace: z
                    .string()
                    .regex(DNS1123_LABEL, { message: "must be a DNS-1123 label" })
                    .optional()
                    .describe("Its namespace, when it is not `namespace.name` (the stack moved to another namespace)."),
                data: z
                    .enum(["delete", "keep"])
                    .describe(
                        "`delete`: its PVCs may be deleted with its StatefulSet (whenDeleted: Delete); `keep`: refused while the live StatefulSet would delete them (set `pvcRetention.whenDeleted: Retain` first); its PVCs stay.",
                    ),
            }),
        )
        .default([])
        .describe(
            "Deployed apps this stack may delete (removed from `apps`, renamed, or left behind by a namespace move); `up` refuses to delete an app not listed here. Its Secret and, where it has one, its generated password go too.",
        ),
});

/** The whole stack configuration, validated, defaulted and frozen. */
export type StackConfig = z.output<typeof stackSchema>;
/** A NetworkPolicy peer of the config (`apps[].networkPolicy.allowFrom[]`, `monitoring.scrapeFrom[]`). */
export type NetworkPeer = z.output<typeof networkPeer>;

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

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { alertOptions, serviceMonitorSpec } from "../lib/monitoring";
import { recommendedLabels, workloadNames } from "../lib/names";
import { alertRuleSpec, rulesFileYaml } from "../lib/observability";
import type { AppConfig, StackConfig } from "../config/schema";

/** Arguments of {@link AppMonitoring}. */
export interface AppMonitoringArgs {
    /** The app (validated config). */
    readonly app: AppConfig;
    /** The stack's `monitoring` settings. */
    readonly monitoring: StackConfig["monitoring"];
    /** Namespace of the app. */
    readonly namespace: pulumi.Input<string>;
    /**
     * With `monitoring.prometheusOperator`: what the ServiceMonitor and PrometheusRule wait for, the reads of the
     * operator's CRDs (components/prometheus-operator.ts), so that an absent CRD fails before they are sent.
     */
    readonly operatorCrds?: pulumi.Resource[];
}

/**
 * Scraping and alerting for one app, for either deployment path (the objects select pods by labels):
 * - with `monitoring.prometheusOperator`: a ServiceMonitor `<app>` (apps with `metrics`) and a PrometheusRule
 *   `<app>-alert-rules` (when `alertRules`); both carry `monitoring.labels` for the operator's selectors;
 * - without: pods carry `prometheus.io/*` annotations (set by the workload) and the rules go to a ConfigMap
 *   `<app>-alert-rules` holding a Prometheus rules file (`<app>.rules.yaml`) to mount into Prometheus.
 * index.ts creates it only when it has something to create.
 */
export class AppMonitoring extends pulumi.ComponentResource {
    constructor(name: string, args: AppMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("stateful-apps:index:AppMonitoring", name, {}, opts);
        const { app, monitoring } = args;
        const names = workloadNames(app.name);
        const labels = { ...recommendedLabels(app.name, app.image.tag, "pulumi"), ...monitoring.labels };
        const namespace = pulumi.output(args.namespace);
        const child = { parent: this };
        const operatorChild = { parent: this, dependsOn: args.operatorCrds ?? [] };

        if (monitoring.prometheusOperator && app.metrics) {
            new k8s.apiextensions.CustomResource(
                `${name}-servicemonitor`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "ServiceMonitor",
                    metadata: { name: names.app, namespace, labels },
                    spec: namespace.apply((ns) => serviceMonitorSpec(app, ns)),
                },
                operatorChild,
            );
        }
        if (monitoring.alertRules) {
            const spec = namespace.apply((ns) => alertRuleSpec(app.name, ns, alertOptions(app, monitoring, names)));
            if (monitoring.prometheusOperator) {
                new k8s.apiextensions.CustomResource(
                    `${name}-prometheusrule`,
                    { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: names.alertRules, namespace, labels }, spec },
                    operatorChild,
                );
            } else {
                new k8s.core.v1.ConfigMap(
                    `${name}-alert-rules`,
                    { metadata: { name: names.alertRules, namespace, labels }, data: { [`${app.name}.rules.yaml`]: spec.apply((s) => rulesFileYaml(s)) } },
                    child,
                );
            }
        }
        this.registerOutputs({});
    }
}

/**
 * Scraping and alerting objects of an app, as pure functions of the config: the ServiceMonitor spec
 * (Prometheus Operator) and the alert-rule options. The rules themselves come from lib/observability.ts.
 */
import { AlertOptions } from "./observability";
import { selectorLabels, WorkloadNames } from "./names";
import type { AppConfig, StackConfig } from "../config/schema";

/** Seconds between scrapes of the mtail sidecar. */
export const SCRAPE_INTERVAL_SECONDS = 30;

/**
 * A ServiceMonitor (`monitoring.coreos.com/v1`) spec scraping the mtail sidecar of every pod through the app's
 * headless Service: it selects the app's Services by the selector labels, and only the headless one has a port
 * named `metrics`, so each pod is scraped once, Ready or not (`publishNotReadyAddresses`). Prometheus labels
 * the target's `job` with the Service name (`<app>-headless`).
 * Source: https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitor
 */
export function serviceMonitorSpec(app: AppConfig, namespace: string) {
    return {
        selector: { matchLabels: selectorLabels(app.name) },
        namespaceSelector: { matchNames: [namespace] },
        endpoints: [{ port: "metrics", path: "/metrics", interval: `${SCRAPE_INTERVAL_SECONDS}s`, scrapeTimeout: "10s" }],
    };
}

/**
 * Options of `alertRuleSpec` for an app: its log format (apps with `metrics`), the `job` label its mtail target
 * gets (the headless Service's name with the operator; `monitoring.scrapeJob` with annotation scraping) and the
 * stack's thresholds.
 */
export function alertOptions(app: AppConfig, monitoring: StackConfig["monitoring"], names: WorkloadNames): AlertOptions {
    return {
        ...(app.metrics ? { logFormat: app.metrics.logFormat, mtailJob: monitoring.prometheusOperator ? names.headless : monitoring.scrapeJob } : {}),
        notReadyForSeconds: monitoring.notReadyForSeconds,
        volumeFreeRatio: monitoring.volumeFreeRatio,
        volumeFillHorizonSeconds: monitoring.volumeFillHorizonSeconds,
        restartThreshold: monitoring.restartThreshold,
        restartWindowSeconds: monitoring.restartWindowSeconds,
        mtailDownForSeconds: monitoring.mtailDownForSeconds,
        ...(monitoring.runbookBaseUrl ? { runbookBaseUrl: monitoring.runbookBaseUrl } : {}),
    };
}

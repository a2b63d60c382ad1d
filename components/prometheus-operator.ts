import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** The Prometheus Operator CRDs that {@link AppMonitoring}'s ServiceMonitors and PrometheusRules are instances of. */
export const PROMETHEUS_OPERATOR_CRDS = ["servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"] as const;

/**
 * Reads (never creates or changes) the Prometheus Operator's CRDs, for stacks with
 * `stateful-apps:monitoring.prometheusOperator: true`. Without them the provider accepts ServiceMonitors and
 * PrometheusRules in `preview` (it cannot tell a CRD created later in the same update from a missing one) and
 * `up` retries them for about a minute before failing; a read of an absent CRD instead fails `preview` and `up`
 * at once with `resource '<crd>' does not exist`, under a name that points at the config key. Make the monitoring
 * objects depend on the result.
 *
 * @returns one read resource per CRD, named `monitoring.prometheusOperator-requires-<crd>`.
 */
export function requirePrometheusOperatorCrds(opts?: pulumi.CustomResourceOptions): pulumi.Resource[] {
    return PROMETHEUS_OPERATOR_CRDS.map((crd) => k8s.apiextensions.v1.CustomResourceDefinition.get(`monitoring.prometheusOperator-requires-${crd}`, crd, opts));
}

/**
 * The app's two Services and its NetworkPolicy as Kubernetes specs (pure; components/stateful-app.ts creates them,
 * the chart renders the same, tests/chart.test.ts compares them).
 */
import type * as k8s from "@pulumi/kubernetes";
import { selectorLabels } from "./names";
import { extraServicePorts } from "./peers";
import type { AppConfig, NetworkPeer } from "../config/schema";

type ServiceSpec = k8s.types.input.core.v1.ServiceSpec;
type ServicePort = k8s.types.input.core.v1.ServicePort;

/** The app port as a Service port: named `portName`, targeting the pod's named port. */
function appPort(app: AppConfig, port: number): ServicePort {
    return { name: app.portName, port, targetPort: app.portName, protocol: "TCP" };
}

/**
 * The headless Service (`clusterIP: None`) that gives each pod its DNS name `<app>-<i>.<app>-headless`. It
 * publishes not-Ready addresses: peers must find each other before they are Ready (a datastore's seeds). It also
 * carries the mtail `metrics` port (apps with `metrics`), so a ServiceMonitor scrapes every pod, Ready or not,
 * exactly once, and every `extraPorts` entry (peers reach each other's peer ports by the pods' DNS names).
 */
export function headlessServiceSpec(app: AppConfig): ServiceSpec {
    return {
        clusterIP: "None",
        publishNotReadyAddresses: true,
        selector: selectorLabels(app.name),
        ports: [
            appPort(app, app.port),
            ...extraServicePorts(app, "all"),
            ...(app.metrics ? [{ name: "metrics", port: app.metrics.port, targetPort: "metrics", protocol: "TCP" }] : []),
        ],
    };
}

/**
 * The client Service: `service.type`, on `service.port` (default: the app's port), with a fixed `nodePort` if set,
 * and the `extraPorts` with `access: clients`.
 */
export function clientServiceSpec(app: AppConfig): ServiceSpec {
    return {
        type: app.service.type,
        selector: selectorLabels(app.name),
        ports: [
            { ...appPort(app, app.service.port ?? app.port), ...(app.service.nodePort ? { nodePort: app.service.nodePort } : {}) },
            ...extraServicePorts(app, "clients"),
        ],
    };
}

/** A NetworkPolicy peer of our config (`allowFrom`, `monitoring.scrapeFrom`) as Kubernetes spells it. */
function policyPeer(peer: NetworkPeer): k8s.types.input.networking.v1.NetworkPolicyPeer {
    return {
        ...(peer.podLabels ? { podSelector: { matchLabels: { ...peer.podLabels } } } : {}),
        ...(peer.namespaceLabels ? { namespaceSelector: { matchLabels: { ...peer.namespaceLabels } } } : {}),
    };
}

/**
 * The ingress NetworkPolicy (`networkPolicy.enabled`): the app port and the `clients` extra ports only from the app's
 * own pods and the configured peers (pod labels, namespace labels, or both in one peer); the `members` extra ports
 * (peer traffic) only from the app's own pods; the mtail `metrics` port (apps with `metrics`) only from `scrapeFrom`
 * (the stack's `monitoring.scrapeFrom`: where Prometheus runs). Nothing else reaches the pods.
 */
export function networkPolicySpec(app: AppConfig, scrapeFrom: readonly NetworkPeer[]): k8s.types.input.networking.v1.NetworkPolicySpec {
    const selector = selectorLabels(app.name);
    const own = { podSelector: { matchLabels: selector } };
    const tcp = (port: number) => ({ port, protocol: "TCP" });
    const memberPorts = app.extraPorts.filter((p) => p.access === "members");
    const metricsFrom = app.metrics && scrapeFrom.length > 0 ? [{ ports: [tcp(app.metrics.port)], from: scrapeFrom.map(policyPeer) }] : [];
    return {
        podSelector: { matchLabels: selector },
        policyTypes: ["Ingress"],
        ingress: [
            {
                ports: [tcp(app.port), ...app.extraPorts.filter((p) => p.access === "clients").map((p) => tcp(p.port))],
                from: [own, ...app.networkPolicy.allowFrom.map(policyPeer)],
            },
            ...(memberPorts.length > 0 ? [{ ports: memberPorts.map((p) => tcp(p.port)), from: [own] }] : []),
            ...metricsFrom,
        ],
    };
}

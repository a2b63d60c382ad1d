/**
 * The app's two Services and its NetworkPolicy as Kubernetes specs (pure; components/stateful-app.ts creates them,
 * the chart renders the same, tests/chart.test.ts compares them).
 */
import type * as k8s from "@pulumi/kubernetes";
import { selectorLabels } from "./names";
import type { AppConfig } from "../config/schema";

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
 * exactly once.
 */
export function headlessServiceSpec(app: AppConfig): ServiceSpec {
    return {
        clusterIP: "None",
        publishNotReadyAddresses: true,
        selector: selectorLabels(app.name),
        ports: [appPort(app, app.port), ...(app.metrics ? [{ name: "metrics", port: app.metrics.port, targetPort: "metrics", protocol: "TCP" }] : [])],
    };
}

/** The client Service: `service.type`, on `service.port` (default: the app's port), with a fixed `nodePort` if set. */
export function clientServiceSpec(app: AppConfig): ServiceSpec {
    return {
        type: app.service.type,
        selector: selectorLabels(app.name),
        ports: [{ ...appPort(app, app.service.port ?? app.port), ...(app.service.nodePort ? { nodePort: app.service.nodePort } : {}) }],
    };
}

/**
 * The ingress NetworkPolicy (`networkPolicy.enabled`): only the app port, only from the app's own pods and the
 * configured peers (pod labels, namespace labels, or both in one peer).
 */
export function networkPolicySpec(app: AppConfig): k8s.types.input.networking.v1.NetworkPolicySpec {
    const selector = selectorLabels(app.name);
    return {
        podSelector: { matchLabels: selector },
        policyTypes: ["Ingress"],
        ingress: [
            {
                ports: [{ port: app.port, protocol: "TCP" }],
                from: [
                    { podSelector: { matchLabels: selector } },
                    ...app.networkPolicy.allowFrom.map((peer) => ({
                        ...(peer.podLabels ? { podSelector: { matchLabels: { ...peer.podLabels } } } : {}),
                        ...(peer.namespaceLabels ? { namespaceSelector: { matchLabels: { ...peer.namespaceLabels } } } : {}),
                    })),
                ],
            },
        ],
    };
}

/**
 * Pure rendering of a clustered app's keys (config/peer-schema.ts) into the pod and its Services: the peer
 * discovery env and the extra ports. The chart renders the same (charts/stateful-app/templates/_helpers.tpl
 * `stateful-app.peerValue`, statefulset.yaml, the Services); tests/chart.test.ts compares both paths.
 */
import type * as k8s from "@pulumi/kubernetes";
import { INJECTED_ENV } from "../config/fields";
import type { AppConfig } from "../config/schema";
import { workloadNames } from "./names";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** `$(POD_NAME)` / `$(POD_NAMESPACE)`: the kubelet expands a reference to an env var defined before (INJECTED_ENV). */
const ref = (name: keyof typeof INJECTED_ENV): string => `$(${name})`;
const POD_NAME_REF = ref("POD_NAME");
const POD_NAMESPACE_REF = ref("POD_NAMESPACE");

/**
 * The stable DNS name of member `pod` (`<app>-<i>`, or `$(POD_NAME)` for this pod):
 * `<pod>.<app>-headless.$(POD_NAMESPACE).svc.<clusterDomain>`. The namespace is left to the kubelet, which expands
 * `$(POD_NAMESPACE)` from the pod's own field: the same pod template works in any namespace
 * (https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/).
 */
export function memberHost(app: string, pod: string, clusterDomain: string): string {
    return `${pod}.${workloadNames(app).headless}.${POD_NAMESPACE_REF}.svc.${clusterDomain}`;
}

/** One member's text: `format` with `{pod}`, `{host}` and `{ordinal}` replaced (config/peer-schema.ts PEER_PLACEHOLDERS). */
function member(format: string, pod: string, host: string, ordinal: string): string {
    return format.replace(/\{(pod|host|ordinal)\}/g, (_m, p: string) => (p === "pod" ? pod : p === "host" ? host : ordinal));
}

/**
 * The value of one `peerEnv` entry: `self` this pod's text; `all` one text per ordinal 0…replicas-1, `first` per
 * ordinal 0…count-1, joined by `separator`. Example (app etcd, replicas 3, format `{pod}=http://{host}:2380`):
 * `etcd-0=http://etcd-0.etcd-headless.$(POD_NAMESPACE).svc.cluster.local:2380,etcd-1=…,etcd-2=…`.
 */
export function peerEnvValue(app: AppConfig, entry: AppConfig["peerEnv"][number], clusterDomain: string): string {
    if (entry.members === "self") {
        return member(entry.format, POD_NAME_REF, memberHost(app.name, POD_NAME_REF, clusterDomain), "");
    }
    const n = entry.members === "all" ? app.replicas : (entry.count ?? 0);
    return Array.from({ length: n }, (_, i) => {
        const pod = `${workloadNames(app.name).app}-${i}`;
        return member(entry.format, pod, memberHost(app.name, pod, clusterDomain), String(i));
    }).join(entry.separator);
}

/**
 * The app container's peer env, in config order, after POD_NAME and POD_NAMESPACE (which their values reference).
 * Empty without `peerEnv`.
 */
export function peerEnvVars(app: AppConfig, clusterDomain: string): EnvVar[] {
    return app.peerEnv.map((e) => ({ name: e.name, value: peerEnvValue(app, e, clusterDomain) }));
}

/** The app container's extra ports (`extraPorts`), TCP, named. */
export function extraContainerPorts(app: AppConfig): k8s.types.input.core.v1.ContainerPort[] {
    return app.extraPorts.map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" }));
}

/** Extra ports as Service ports (targeting the pod's named port): all of them (headless) or the `clients` ones. */
export function extraServicePorts(app: AppConfig, which: "all" | "clients"): k8s.types.input.core.v1.ServicePort[] {
    return app.extraPorts
        .filter((p) => which === "all" || p.access === "clients")
        .map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" }));
}

/**
 * The workloads' Namespace as a Kubernetes object (pure; index.ts creates it).
 */
import { PROJECT } from "./names";

/**
 * Labels that make the API server's PodSecurity admission enforce, audit and warn at the given level
 * (https://kubernetes.io/docs/concepts/security/pod-security-admission/): any pod we render that is not
 * `restricted` is then rejected by the cluster itself, not only by our tests.
 */
export function podSecurityLabels(level: "restricted" | "baseline"): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    };
}

/**
 * The Namespace's metadata: its name, the PodSecurity labels of `podSecurity` and the labels that tie it to this
 * project and environment.
 *
 * @param args.name namespace name (DNS-1123 label, validated by the schema).
 * @param args.podSecurity Pod Security Standard the API server enforces on every pod: `restricted` or `baseline`.
 * @param args.environment the stack's environment, as the `environment` label.
 */
export function namespaceMetadata(args: { name: string; podSecurity: "restricted" | "baseline"; environment: string }): {
    name: string;
    labels: Record<string, string>;
} {
    return {
        name: args.name,
        labels: {
            ...podSecurityLabels(args.podSecurity),
            "app.kubernetes.io/part-of": PROJECT,
            "app.kubernetes.io/managed-by": "pulumi",
            environment: args.environment,
        },
    };
}

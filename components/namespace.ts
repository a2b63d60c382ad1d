import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../lib/names";

/** Arguments of {@link createNamespace}. */
export interface NamespaceArgs {
    /** Namespace name (DNS-1123 label). */
    readonly name: string;
    /** Pod Security Standard the API server enforces on every pod of the namespace: `restricted` or `baseline`. */
    readonly podSecurity: "restricted" | "baseline";
    /** The stack's environment, as a label. */
    readonly environment: string;
}

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
 * The workloads' Namespace. It is always `retainOnDelete`: deleting a namespace deletes every PVC in it, so
 * neither a `pulumi destroy` nor a rename in config may take it down; remove it with kubectl when you mean it.
 */
export function createNamespace(args: NamespaceArgs, opts?: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
    return new k8s.core.v1.Namespace(
        "namespace",
        {
            metadata: {
                name: args.name,
                labels: {
                    ...podSecurityLabels(args.podSecurity),
                    "app.kubernetes.io/part-of": PROJECT,
                    "app.kubernetes.io/managed-by": "pulumi",
                    environment: args.environment,
                },
            },
        },
        { ...opts, retainOnDelete: true },
    );
}

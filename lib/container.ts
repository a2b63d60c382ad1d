/**
 * Pure functions for the parts every container of the program shares (the app's, the metrics sidecar's, the
 * data-load Job's): image reference, the `restricted` security contexts, resources, the /tmp emptyDir's size.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "../config/schema";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

/** An image reference from its config: `repository:tag`, or `repository:tag@digest` when a digest pins it. */
export function imageReference(img: { readonly repository: string; readonly tag: string; readonly digest?: string }): string {
    return `${img.repository}:${img.tag}${img.digest ? `@${img.digest}` : ""}`;
}

/**
 * Pod-level security context meeting the `restricted` Pod Security Standard: non-root with fixed UID/GID,
 * fsGroup so the volume is writable, seccomp RuntimeDefault.
 * Source: https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
export function podSecurityContext(app: AppConfig): PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: app.securityContext.runAsUser,
        runAsGroup: app.securityContext.runAsGroup,
        fsGroup: app.securityContext.fsGroup,
        // Only chown the volume when its root does not already match: fast restarts for big volumes.
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level security context for the `restricted` Pod Security Standard (no escalation, drop ALL). */
export function containerSecurityContext(app: AppConfig): SecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: app.securityContext.runAsUser,
        runAsGroup: app.securityContext.runAsGroup,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: app.securityContext.readOnlyRootFilesystem,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** The container's requests and limits; a CPU limit only when configured (none avoids CFS throttling). */
export function containerResources(app: AppConfig) {
    return {
        requests: { cpu: app.resources.requests.cpu, memory: app.resources.requests.memory, "ephemeral-storage": app.resources.requests.ephemeralStorage },
        limits: {
            memory: app.resources.limits.memory,
            "ephemeral-storage": app.resources.limits.ephemeralStorage,
            ...(app.resources.limits.cpu ? { cpu: app.resources.limits.cpu } : {}),
        },
    };
}

/** Size limit of the writable /tmp emptyDir of every pod (app, sidecar, data-load Job); the chart states the same, checked by the parity test. */
export const TMP_SIZE_LIMIT = "256Mi";

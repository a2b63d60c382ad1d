/**
 * The data-load Job of an app (`apps[].dataLoad`): a pure function from the app config to the Job object.
 * Same definition style as the chart's hook Jobs (charts/stateful-app/templates/hooks): backoffLimit,
 * activeDeadlineSeconds, optional ttlSecondsAfterFinished, restartPolicy Never, no service account token, the
 * restricted Pod Security Standard, small fixed resources for helpers.
 */
import type * as k8s from "@pulumi/kubernetes";
import { PROJECT, WorkloadNames } from "./names";
import type { AppConfig } from "../config/schema";
import { containerResources, containerSecurityContext, imageReference, podSecurityContext, TMP_SIZE_LIMIT } from "./container";
import { checksum } from "./workload";

/** Annotation that tells the Pulumi Kubernetes provider not to wait for a resource to become ready. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

/** Requests and limits of the wait-for-service init container (busybox `nc` in a loop). */
const WAIT_RESOURCES = { requests: { cpu: "10m", memory: "16Mi", "ephemeral-storage": "8Mi" }, limits: { memory: "32Mi", "ephemeral-storage": "64Mi" } };

/** A Job object as the Kubernetes API takes it (without namespace, which the component sets). */
export type JobObject = {
    metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
    spec: k8s.types.input.batch.v1.JobSpec;
};

/**
 * The data-load Job, named `<app>-data-load-<first 8 hex of a hash of its spec>`: a Job's pod template is
 * immutable, so a changed load is a new Job (Pulumi creates it, then deletes the old one), and an unchanged
 * load is never re-run by `pulumi up`.
 *
 * The pod first waits (init container, `nc -z` every 2 s) until the app's client Service accepts
 * connections on its port, then runs `dataLoad.command` with the app's env (ConfigMap and password) and
 * `HOME=/tmp`. Its containers run with a read-only root filesystem even where the app's own pods may not
 * (`securityContext.readOnlyRootFilesystem: false` is for an image's entrypoint, which the Job's command replaces).
 * The whole Job, wait included, is bounded by `activeDeadlineSeconds`.
 *
 * @param app an app with `dataLoad` set.
 * @param names the app's object names.
 * @throws Error when the app has no `dataLoad`.
 */
export function dataLoadJob(app: AppConfig, names: WorkloadNames, opts: { managedBy: "pulumi" }): JobObject {
    const load = app.dataLoad;
    if (!load) {
        throw new Error(`app ${app.name} has no dataLoad`);
    }
    const servicePort = app.service.port ?? app.port;
    const jobSecurityContext = { ...containerSecurityContext(app), readOnlyRootFilesystem: true };
    const labels = {
        "app.kubernetes.io/name": names.dataLoad,
        "app.kubernetes.io/instance": app.name,
        "app.kubernetes.io/component": "data-load",
        "app.kubernetes.io/part-of": PROJECT,
        "app.kubernetes.io/managed-by": opts.managedBy,
    };
    const spec: k8s.types.input.batch.v1.JobSpec = {
        backoffLimit: load.backoffLimit,
        activeDeadlineSeconds: load.activeDeadlineSeconds,
        ...(load.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: load.ttlSecondsAfterFinished } : {}),
        template: {
            // Not the app's selector labels: the app's Services and PodDisruptionBudget must not select this pod.
            metadata: { labels },
            spec: {
                restartPolicy: "Never",
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: podSecurityContext(app),
                initContainers: [
                    {
                        name: "wait-for-service",
                        image: load.waitImage,
                        command: ["sh", "-c", `until nc -z -w 2 ${names.app} ${servicePort}; do echo "waiting for ${names.app}:${servicePort}"; sleep 2; done`],
                        resources: WAIT_RESOURCES,
                        securityContext: jobSecurityContext,
                    },
                ],
                containers: [
                    {
                        name: "load",
                        image: imageReference(load.image ?? app.image),
                        command: [...load.command],
                        ...(load.args ? { args: [...load.args] } : {}),
                        envFrom: [{ configMapRef: { name: names.envConfigMap } }],
                        env: [
                            { name: app.secret.envName, valueFrom: { secretKeyRef: { name: names.secret, key: app.secret.key } } },
                            { name: "APP_SERVICE", value: `${names.app}:${servicePort}` },
                            { name: "HOME", value: "/tmp" },
                        ],
                        resources: containerResources(app),
                        securityContext: jobSecurityContext,
                        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                    },
                ],
                volumes: [{ name: "tmp", emptyDir: { sizeLimit: TMP_SIZE_LIMIT } }],
            },
        },
    };
    return {
        metadata: {
            name: `${names.dataLoad}-${checksum(spec).slice(0, 8)}`,
            labels,
            annotations: load.waitForCompletion ? {} : { [SKIP_AWAIT_ANNOTATION]: "true" },
        },
        spec,
    };
}

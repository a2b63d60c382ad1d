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

/** The containers' security context of a one-off Job: the app's, with a read-only root filesystem always. */
function jobSecurityContext(app: AppConfig): k8s.types.input.core.v1.SecurityContext {
    return { ...containerSecurityContext(app), readOnlyRootFilesystem: true };
}

/**
 * The pod spec of a one-off Job that runs a command with an app's env (the data-load Job, the membership steps of
 * lib/membership.ts): restartPolicy Never, no service account token, no service links, the app's pod security
 * context; one container `c.name` running `c.image` with `c.command` (and `c.args`), the app's env (its ConfigMap
 * and password), `c.env`, `HOME=/tmp`, the app's resources, a read-only root (whatever the app's pods need: the
 * command replaces the image's entrypoint) and `/tmp` an emptyDir. `c.initContainers` run first.
 */
export function appCommandPodSpec(
    app: AppConfig,
    names: WorkloadNames,
    c: {
        readonly name: string;
        readonly image: string;
        readonly imagePullPolicy?: string;
        readonly command: readonly string[];
        readonly args?: readonly string[];
        readonly env: readonly { name: string; value: string }[];
        readonly initContainers?: k8s.types.input.core.v1.Container[];
    },
): k8s.types.input.core.v1.PodSpec {
    return {
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: podSecurityContext(app),
        ...(c.initContainers ? { initContainers: c.initContainers } : {}),
        containers: [
            {
                name: c.name,
                image: c.image,
                ...(c.imagePullPolicy ? { imagePullPolicy: c.imagePullPolicy } : {}),
                command: [...c.command],
                ...(c.args ? { args: [...c.args] } : {}),
                envFrom: [{ configMapRef: { name: names.envConfigMap } }],
                env: [
                    { name: app.secret.envName, valueFrom: { secretKeyRef: { name: names.secret, key: app.secret.key } } },
                    ...c.env.map((e) => ({ ...e })),
                    { name: "HOME", value: "/tmp" },
                ],
                resources: containerResources(app),
                securityContext: jobSecurityContext(app),
                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
        ],
        volumes: [{ name: "tmp", emptyDir: { sizeLimit: TMP_SIZE_LIMIT } }],
    };
}

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
            spec: appCommandPodSpec(app, names, {
                name: "load",
                image: imageReference(load.image ?? app.image),
                command: load.command,
                args: load.args,
                env: [{ name: "APP_SERVICE", value: `${names.app}:${servicePort}` }],
                initContainers: [
                    {
                        name: "wait-for-service",
                        image: load.waitImage,
                        command: ["sh", "-c", `until nc -z -w 2 ${names.app} ${servicePort}; do echo "waiting for ${names.app}:${servicePort}"; sleep 2; done`],
                        resources: WAIT_RESOURCES,
                        securityContext: jobSecurityContext(app),
                    },
                ],
            }),
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

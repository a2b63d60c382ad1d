import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dataLoadJob } from "../lib/jobs";
import { workloadNames } from "../lib/names";
import type { AppConfig } from "../config/schema";

/** Extra seconds Pulumi waits beyond the Job's activeDeadlineSeconds before it gives up on the Job. */
const AWAIT_MARGIN_SECONDS = 60;

/**
 * The app's data-load Job (`apps[].dataLoad`, see lib/jobs.ts for its shape), created after the workload
 * (`dependsOn` the workload component, so after its StatefulSet or release is ready). With
 * `waitForCompletion` (default) the Pulumi Kubernetes provider waits until the Job succeeds, up to
 * activeDeadlineSeconds + 60 s, and `pulumi up` fails if the Job fails; otherwise it is created with the
 * `pulumi.com/skipAwait` annotation and not awaited.
 *
 * @param name Pulumi resource name prefix.
 * @param app an app with `dataLoad`.
 * @param namespace the app's namespace.
 * @param opts resource options; pass `dependsOn: [workload]`.
 */
export function createDataLoadJob(name: string, app: AppConfig, namespace: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
    if (!app.dataLoad) {
        throw new Error(`app ${app.name} has no dataLoad`);
    }
    const job = dataLoadJob(app, workloadNames(app.name), { managedBy: "pulumi" });
    const deadline = app.dataLoad.activeDeadlineSeconds + AWAIT_MARGIN_SECONDS;
    return new k8s.batch.v1.Job(
        `${name}-data-load`,
        { metadata: { ...job.metadata, namespace }, spec: job.spec },
        { ...opts, customTimeouts: { create: `${deadline}s`, update: `${deadline}s` } },
    );
}

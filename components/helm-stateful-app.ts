import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { helmValues } from "../lib/helm-values";
import { podDnsNames, serviceDnsName } from "../lib/names";
import { WorkloadArgs, workloadSecret } from "./workload-args";

/**
 * Absolute path of the bundled chart, resolved from this source file (not the working directory), so the
 * program works from any `cwd` (`pulumi -C`, tests, CI).
 */
export const CHART_PATH = path.resolve(__dirname, "..", "charts", "stateful-app");

/** Arguments of {@link HelmStatefulApp}: the same as the native path's. */
export type HelmStatefulAppArgs = WorkloadArgs;

/**
 * A stateful workload as a Helm release of `charts/stateful-app` (`k8s.helm.v3.Release`: a real release that
 * `helm list` shows, whose hooks and `helm test` run). The app's Secret is created natively and passed by name
 * (`existingSecret`), because Helm stores release values in plaintext.
 */
export class HelmStatefulApp extends pulumi.ComponentResource {
    /** DNS name of the client Service. */
    public readonly serviceDns: pulumi.Output<string>;
    /** Stable DNS name of each pod. */
    public readonly podDns: pulumi.Output<string[]>;
    /** Name of the app's Secret (never its value). */
    public readonly secretName: pulumi.Output<string>;
    /** The Helm release. */
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: HelmStatefulAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("stateful-apps:index:HelmStatefulApp", name, {}, opts);
        const { app, namespace } = args;

        const secret = workloadSecret(name, args, this);

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: app.name,
                chart: CHART_PATH,
                namespace,
                values: helmValues(app, secret.checksum, { scrapeAnnotations: args.scrapeAnnotations }),
                // Wait for the StatefulSet's pods and the post-install hooks, bounded by the configured timeout.
                timeout: app.helm.timeoutSeconds,
            },
            { parent: this, dependsOn: [secret], protect: args.protect, retainOnDelete: args.protect },
        );

        this.serviceDns = pulumi.all([this.release.status, namespace]).apply(([, ns]) => serviceDnsName(app.name, ns, args.clusterDomain));
        this.podDns = pulumi.output(namespace).apply((ns) => podDnsNames(app.name, ns, app.replicas, args.clusterDomain));
        this.secretName = secret.secretName;
        this.registerOutputs({ serviceDns: this.serviceDns, podDns: this.podDns, secretName: this.secretName });
    }
}

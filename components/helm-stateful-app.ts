import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { HELM_IMMUTABLE_VALUE_PATHS, helmValues } from "../lib/helm-values";
import { podDnsNames, serviceDnsName, stackIdentity } from "../lib/names";
import type { WorkloadPathArgs } from "./stateful-app";

/**
 * The bundled chart as the Release names it: relative to the project directory (where `Pulumi.yaml` is), which is
 * the working directory Pulumi starts the kubernetes provider in. The path is part of the Release's inputs in the
 * state, so an absolute one would make every other clone (CI, a colleague's laptop) show a diff and upgrade the
 * release. The runner's workspace links `charts/` to the clone it runs (deploy/engine.ts).
 */
export const CHART_REF = "./charts/stateful-app";

/** Absolute path of the bundled chart, from this source file (for tools and tests that run Helm themselves). */
export const CHART_PATH = path.resolve(__dirname, "..", CHART_REF);

/**
 * A stateful workload as a Helm release of `charts/stateful-app` (`k8s.helm.v3.Release`: a real release that
 * `helm list` shows, whose hooks and `helm test` run). The app's Secret (created natively by StatefulWorkload) is
 * passed by name (`existingSecret`), because Helm stores release values in plaintext.
 */
export class HelmStatefulApp extends pulumi.ComponentResource {
    /** DNS name of the client Service. */
    public readonly serviceDns: pulumi.Output<string>;
    /** Stable DNS name of each pod. */
    public readonly podDns: pulumi.Output<string[]>;
    /** The Helm release. */
    public readonly release: k8s.helm.v3.Release;
    /**
     * How `up` waits for the rollout: Helm's `--wait`, which counts a partitioned StatefulSet as ready once the
     * ordinals at or above the partition are updated (helm.sh/helm/v3 pkg/kube/ready.go).
     */
    public readonly rollout: string;
    /**
     * The PVC size the release's chart renders into volumeClaimTemplates (`values.persistence.size` as deployed:
     * the configured size on install, then what `ignoreChanges` keeps; the storage guard reads the live PVCs, config/index.ts).
     */
    public readonly storageSize: pulumi.Output<string>;

    constructor(name: string, args: WorkloadPathArgs, opts?: pulumi.ComponentResourceOptions) {
        super("stateful-apps:index:HelmStatefulApp", name, {}, opts);
        const { app, namespace, secret } = args;

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: app.name,
                chart: CHART_REF,
                namespace,
                values: helmValues(app, secret.checksum, {
                    scrapeAnnotations: args.scrapeAnnotations,
                    scrapeFrom: args.scrapeFrom,
                    clusterDomain: args.clusterDomain,
                    stack: stackIdentity(pulumi.getOrganization(), pulumi.getProject(), pulumi.getStack()),
                }),
                // Wait for the StatefulSet's pods and the post-install hooks, bounded by the configured timeout.
                timeout: app.helm.timeoutSeconds,
            },
            { parent: this, dependsOn: [secret], protect: args.protect, retainOnDelete: args.protect, ignoreChanges: [...HELM_IMMUTABLE_VALUE_PATHS] },
        );

        this.serviceDns = pulumi.all([this.release.status, namespace]).apply(([, ns]) => serviceDnsName(app.name, ns, args.clusterDomain));
        this.podDns = pulumi.output(namespace).apply((ns) => podDnsNames(app.name, ns, app.replicas, args.clusterDomain));
        this.rollout = `awaited by Helm (--wait, at most ${app.helm.timeoutSeconds} s)`;
        this.storageSize = this.release.values.apply((v) => String((v?.persistence as { size?: unknown } | undefined)?.size ?? app.storage.size));
        this.registerOutputs({ serviceDns: this.serviceDns, podDns: this.podDns, rollout: this.rollout, storageSize: this.storageSize });
    }
}

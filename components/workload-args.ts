import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels, workloadNames } from "../lib/names";
import { AppConfig } from "../lib/schema";
import { AppSecret } from "./app-secret";

/** Arguments shared by both deployment paths ({@link StatefulApp} and {@link HelmStatefulApp}). */
export interface WorkloadArgs {
    /** The app, validated and defaulted by `config.ts` (see README "Configuration reference"). */
    readonly app: AppConfig;
    /** Namespace to deploy into (must exist; pass the Namespace's output to order creation after it). */
    readonly namespace: pulumi.Input<string>;
    /** Cluster DNS domain for the DNS names in outputs, e.g. `cluster.local`. */
    readonly clusterDomain: string;
    /** The secret value when `app.secret.source` is `config`; otherwise a password is generated. */
    readonly secretValue?: pulumi.Output<string>;
    /**
     * Protect data-bearing resources (StatefulSet or release, Secret, generated password) with `protect` and
     * `retainOnDelete`. The PVCs belong to the StatefulSet controller; `app.pvcRetention` governs them.
     * Default false.
     */
    readonly protect?: boolean;
    /**
     * Annotate pods for annotation-based Prometheus scraping (apps with `metrics`), for stacks without the
     * Prometheus Operator (`monitoring.prometheusOperator: false`). Default false.
     */
    readonly scrapeAnnotations?: boolean;
}

/** The app's Secret (`<app>-credentials`), as a child `<name>-secret` of the workload component. */
export function workloadSecret(name: string, args: WorkloadArgs, parent: pulumi.Resource): AppSecret {
    const { app } = args;
    return new AppSecret(
        `${name}-secret`,
        {
            namespace: args.namespace,
            secretName: workloadNames(app.name).secret,
            key: app.secret.key,
            value: args.secretValue,
            length: app.secret.length,
            rotation: app.secret.rotation,
            labels: recommendedLabels(app.name, app.image.tag, "pulumi"),
            protect: args.protect,
        },
        { parent },
    );
}

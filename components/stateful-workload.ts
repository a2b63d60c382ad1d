import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels, workloadNames } from "../lib/names";
import type { AppConfig, StackConfig } from "../config/schema";
import type { RecreatePlan } from "../lib/recreate";
import { AppMonitoring } from "./app-monitoring";
import { AppSecret } from "./app-secret";
import { createClaimPatches } from "./claim-patches";
import { createDataLoadJob } from "./data-load-job";
import { HelmStatefulApp } from "./helm-stateful-app";
import { StatefulApp } from "./stateful-app";

/** Arguments of {@link StatefulWorkload}. */
export interface StatefulWorkloadArgs {
    /** The app, validated and defaulted by `config/` (docs/CONFIGURATION.md "Configuration reference"). */
    readonly app: AppConfig;
    /** Namespace to deploy into (must exist; pass the Namespace's output to order creation after it). */
    readonly namespace: pulumi.Input<string>;
    /** Cluster DNS domain for the DNS names in outputs, e.g. `cluster.local`. */
    readonly clusterDomain: string;
    /** The secret value when `app.secret.source` is `config` (a secret Output); otherwise a password is generated. */
    readonly secretValue?: pulumi.Output<string>;
    /**
     * Protect data-bearing resources (StatefulSet or release, Secret, generated password) with `protect` and
     * `retainOnDelete`. The PVCs belong to the StatefulSet controller; `app.pvcRetention` governs them. Default false.
     */
    readonly protect?: boolean;
    /** The StatefulSet recreate phase of this run (lib/recreate.ts; from the pre-flight read). Default `none`. */
    readonly recreate?: RecreatePlan;
    /** The stack's `monitoring` settings: scrape annotations without the Prometheus Operator, ServiceMonitors and rules. */
    readonly monitoring: StackConfig["monitoring"];
    /** With `monitoring.prometheusOperator`: the reads of the operator's CRDs that monitoring objects wait for. */
    readonly operatorCrds?: pulumi.Resource[];
}

/** What a workload tells the stack outputs (`workloads.<app>`). */
export interface WorkloadOutputs {
    /** `native` or `helm`. */
    readonly deployWith: string;
    /** DNS name of the client Service, `<app>.<ns>.svc.<domain>`. */
    readonly serviceDns: pulumi.Output<string>;
    /** Stable DNS name of each pod, `<app>-<i>.<app>-headless.<ns>.svc.<domain>`. */
    readonly podDns: pulumi.Output<string[]>;
    /** Name of the app's Secret (never its value). */
    readonly secretName: pulumi.Output<string>;
    /** PVC size of the deployed volumeClaimTemplates, e.g. `1Gi` (what `ignoreChanges` kept). */
    readonly storageSize: pulumi.Output<string>;
    /** How `up` waits for the rollout: `awaited`, Helm's `--wait`, or why not (a partitioned canary). */
    readonly rollout: string;
    /**
     * True after an `up` that marked the StatefulSet for a recreate (phase `mark`, lib/recreate.ts): the next `up`
     * replaces it. `npm run deploy -- <stack> up` runs that `up` by itself when any app's is true.
     */
    readonly recreatePending: boolean;
}

/** Component type tokens of the two deployment paths, as earlier versions created them at the stack's root. */
const PATH_TYPES = { native: "stateful-apps:index:StatefulApp", helm: "stateful-apps:index:HelmStatefulApp" } as const;

/**
 * One app, whichever way it is deployed: its Secret ({@link AppSecret}, always native), its workload (a
 * {@link StatefulApp} of native resources, or a {@link HelmStatefulApp} release of the bundled chart, after the
 * Secret), one PersistentVolumeClaimPatch per replica holding its PVC at `storage.size` (after the workload;
 * components/claim-patches.ts), its monitoring ({@link AppMonitoring}, when there is something to create) and its
 * data-load Job (after the workload is ready). Pass the stack's kubernetes provider in `opts.providers`; children inherit it.
 *
 * Stacks deployed before this component existed hold the workload, monitoring and Job at the stack's root and the
 * Secret under the workload: each child carries an alias to that URN, so an `up` moves them in the state without
 * touching the cluster (e2e upgrade check: zero replaces, zero deletes).
 */
export class StatefulWorkload extends pulumi.ComponentResource implements WorkloadOutputs {
    public readonly deployWith: string;
    public readonly serviceDns: pulumi.Output<string>;
    public readonly podDns: pulumi.Output<string[]>;
    public readonly secretName: pulumi.Output<string>;
    public readonly storageSize: pulumi.Output<string>;
    public readonly rollout: string;
    public readonly recreatePending: boolean;
    /**
     * Resolves when the engine is done with the app's StatefulSet (native) or release (Helm), awaits included: the
     * stuck-rollout watcher (lib/rollout-recovery.ts) runs until then. Not a stack output.
     */
    public readonly workloadSettled: pulumi.Output<unknown>;

    constructor(name: string, args: StatefulWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("stateful-apps:index:StatefulWorkload", name, {}, opts);
        const { app, namespace, monitoring } = args;
        const atRoot = { aliases: [{ parent: pulumi.rootStackResource }] };

        const secret = new AppSecret(
            `${name}-secret`,
            {
                namespace,
                secretName: workloadNames(app.name).secret,
                key: app.secret.key,
                value: args.secretValue,
                length: app.secret.length,
                rotation: app.secret.rotation,
                labels: recommendedLabels(app.name, app.image.tag, "pulumi"),
                protect: args.protect,
            },
            // Under either path type: an up that also switches deployWith must still find the old Secret and password.
            { parent: this, aliases: Object.values(PATH_TYPES).map((type) => ({ parent: pulumi.createUrn(name, type) })) },
        );

        const pathArgs = {
            app,
            namespace,
            clusterDomain: args.clusterDomain,
            secret,
            protect: args.protect,
            scrapeAnnotations: !monitoring.prometheusOperator,
            scrapeFrom: monitoring.scrapeFrom,
            recreate: args.recreate,
        };
        const pathOpts = { parent: this, dependsOn: [secret], ...atRoot };
        const workload = app.deployWith === "helm" ? new HelmStatefulApp(name, pathArgs, pathOpts) : new StatefulApp(name, pathArgs, pathOpts);

        createClaimPatches(name, app, namespace, { parent: this, dependsOn: [workload] });
        if (monitoring.alertRules || (monitoring.prometheusOperator && app.metrics)) {
            new AppMonitoring(name, { app, monitoring, namespace, operatorCrds: args.operatorCrds }, { parent: this, ...atRoot });
        }
        if (app.dataLoad) {
            createDataLoadJob(name, app, namespace, { parent: this, dependsOn: [workload], ...atRoot });
        }

        this.deployWith = app.deployWith;
        this.serviceDns = workload.serviceDns;
        this.podDns = workload.podDns;
        this.secretName = secret.secretName;
        this.storageSize = workload.storageSize;
        this.rollout = workload.rollout;
        this.recreatePending = args.recreate?.phase === "mark";
        this.workloadSettled = workload instanceof HelmStatefulApp ? workload.release.status : workload.statefulSet.status;
        this.registerOutputs({
            serviceDns: this.serviceDns,
            podDns: this.podDns,
            secretName: this.secretName,
            storageSize: this.storageSize,
            rollout: this.rollout,
            recreatePending: this.recreatePending,
        });
    }
}

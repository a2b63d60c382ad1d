import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { rolloutAwait, SKIP_AWAIT_ANNOTATION, skipServiceAwait, statefulSetTimeouts } from "../lib/awaits";
import {
    DELETION_PROPAGATION_ANNOTATION,
    podDnsNames,
    recommendedLabels,
    selectorLabels,
    serviceDnsName,
    STACK_ANNOTATION,
    stackIdentity,
    workloadNames,
} from "../lib/names";
import { configFileData } from "../lib/config-files";
import { pdbEnabled, pdbSpec } from "../lib/pdb";
import { clientServiceSpec, headlessServiceSpec, networkPolicySpec } from "../lib/services";
import { appForPhase, RecreatePlan } from "../lib/recreate";
import { mtailProgram } from "../lib/metrics-sidecar";
import { optional, scannerWaivers, STATEFULSET_IMMUTABLE_PATHS, statefulSetSpec } from "../lib/workload";
import type { AppConfig, NetworkPeer } from "../config/schema";
import type { AppSecret } from "./app-secret";

/**
 * An input the engine treats as unknown, for the `recreate` phase's preview only (lib/recreate.ts). The provider
 * previews the replacement's create as a server-side dry-run apply, which lands on the StatefulSet that still exists
 * and is refused ("Forbidden: updates to statefulset spec for fields other than …"); its own retry with another name
 * only matches "field is immutable" (pulumi-kubernetes v4.25 await.go `Creation`). With an unknown input it skips the
 * dry run (provider.go `Create`: `hasComputedValue`), and the preview shows the replacement. `up` sends the real value.
 */
function unknownInput(): pulumi.Output<string> {
    return pulumi.output(pulumi.unknown as unknown as string);
}

/** Arguments of either deployment path ({@link StatefulApp}, and HelmStatefulApp), given by StatefulWorkload. */
export interface WorkloadPathArgs {
    /** The app, validated and defaulted by `config/` (docs/CONFIGURATION.md "Configuration reference"). */
    readonly app: AppConfig;
    /** Namespace to deploy into. */
    readonly namespace: pulumi.Input<string>;
    /** Cluster DNS domain for the DNS names in outputs, e.g. `cluster.local`. */
    readonly clusterDomain: string;
    /** The app's Secret: the pods read it by name and roll on its `checksum`. */
    readonly secret: AppSecret;
    /** `protect` and `retainOnDelete` on the StatefulSet or release. Default false. */
    readonly protect?: boolean;
    /** Annotate pods for annotation-based Prometheus scraping (apps with `metrics`). Default false. */
    readonly scrapeAnnotations?: boolean;
    /** Where Prometheus runs (`monitoring.scrapeFrom`): the NetworkPolicy admits only them on the metrics port. Default none. */
    readonly scrapeFrom?: readonly NetworkPeer[];
    /** The StatefulSet recreate phase of this run (lib/recreate.ts); native apps only. Default `none`. */
    readonly recreate?: RecreatePlan;
}

/**
 * A stateful workload as native Kubernetes resources: ServiceAccount (no token), ConfigMaps (env + files),
 * headless Service (per-pod DNS), client Service, StatefulSet with volumeClaimTemplates,
 * PodDisruptionBudget and an optional ingress NetworkPolicy. Pods meet the `restricted` Pod Security Standard.
 *
 * Children are named `<name>-<role>`; Kubernetes object names come from `lib/names.ts` (stable, no random
 * suffix: a StatefulSet's pod DNS names and PVC names derive from them).
 *
 * Immutable StatefulSet fields (`volumeClaimTemplates`, `podManagementPolicy`) are ignored after creation
 * (`ignoreChanges`): changing them would make Pulumi replace the StatefulSet, and with
 * `pvcRetention.whenDeleted: Delete` that deletes every PVC. See docs/SAFETY.md "Safety rules built in". With
 * `allowStatefulSetRecreate`, `args.recreate` applies such a change in two `up`s by an orphaning replacement that
 * keeps the pods and PVCs (lib/recreate.ts).
 *
 * Pulumi waits for the StatefulSet's rollout within timeouts derived from replicas and probe budgets
 * (lib/awaits.ts `statefulSetTimeouts`), except for a partitioned RollingUpdate (a canary), which it cannot wait
 * for: that one is annotated `pulumi.com/skipAwait` and `rollout` says so.
 */
export class StatefulApp extends pulumi.ComponentResource {
    /** DNS name of the client Service, `<app>.<ns>.svc.<domain>`. */
    public readonly serviceDns: pulumi.Output<string>;
    /** Stable DNS name of each pod, `<app>-<i>.<app>-headless.<ns>.svc.<domain>`. */
    public readonly podDns: pulumi.Output<string[]>;
    /** The StatefulSet. */
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    /** How `up` waits for the rollout: `awaited`, or why not (a partitioned canary). */
    public readonly rollout: string;
    /**
     * The PVC size of the deployed volumeClaimTemplates (e.g. `1Gi`): the configured `storage.size` on creation,
     * then what `ignoreChanges` keeps (the storage guard itself reads the live PVCs, config/index.ts).
     */
    public readonly storageSize: pulumi.Output<string>;

    constructor(name: string, args: WorkloadPathArgs, opts?: pulumi.ComponentResourceOptions) {
        super("stateful-apps:index:StatefulApp", name, {}, opts);
        const { app, namespace, secret } = args;
        const names = workloadNames(app.name);
        const labels = recommendedLabels(app.name, app.image.tag, "pulumi");
        const meta = (objectName: string) => ({ name: objectName, namespace, labels });
        const child: pulumi.CustomResourceOptions = { parent: this };

        const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata: meta(names.app), automountServiceAccountToken: false }, child);
        const envConfigMap = new k8s.core.v1.ConfigMap(`${name}-env`, { metadata: meta(names.envConfigMap), data: { ...app.env } }, child);
        const filesConfigMap = new k8s.core.v1.ConfigMap(`${name}-files`, { metadata: meta(names.filesConfigMap), data: configFileData(app) }, child);
        const program = mtailProgram(app);
        const mtailConfigMap = program
            ? [new k8s.core.v1.ConfigMap(`${name}-mtail`, { metadata: meta(names.mtailConfigMap), data: { [program.file]: program.text } }, child)]
            : [];
        const headless = new k8s.core.v1.Service(`${name}-headless`, { metadata: meta(names.headless), spec: headlessServiceSpec(app) }, child);
        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { ...meta(names.app), ...optional("annotations", skipServiceAwait(app) ? { [SKIP_AWAIT_ANNOTATION]: "true" } : undefined) },
                spec: clientServiceSpec(app),
            },
            child,
        );

        const rollout = rolloutAwait(app);
        const timeouts = statefulSetTimeouts(app);
        const phase = args.recreate?.phase ?? "none";
        const annotations = {
            [STACK_ANNOTATION]: stackIdentity(pulumi.getOrganization(), pulumi.getProject(), pulumi.getStack()),
            ...scannerWaivers(app),
            ...(rollout.awaited ? {} : { [SKIP_AWAIT_ANNOTATION]: "true" }),
            ...(phase === "mark" ? { [DELETION_PROPAGATION_ANNOTATION]: "orphan" } : {}),
        };
        this.statefulSet = new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata: { ...meta(names.app), ...optional("annotations", Object.keys(annotations).length > 0 ? annotations : undefined) },
                spec: statefulSetSpec(appForPhase(app, phase), {
                    names,
                    serviceName: phase === "recreate" && pulumi.runtime.isDryRun() ? unknownInput() : headless.metadata.name,
                    secretChecksum: secret.checksum,
                    managedBy: "pulumi",
                    scrapeAnnotations: args.scrapeAnnotations ?? false,
                    clusterDomain: args.clusterDomain,
                }),
            },
            {
                parent: this,
                // Not the client Service: its endpoints are the StatefulSet's pods (lib/awaits.ts skipServiceAwait).
                dependsOn: [serviceAccount, envConfigMap, filesConfigMap, ...mtailConfigMap, secret],
                // lib/recreate.ts: `mark` puts the orphan annotation (and whenDeleted: Retain, above) into the state with
                // retainOnDelete off (the engine reads both from the state when it deletes); `recreate` replaces it
                // (unprotected for this one up: the engine allows unprotect and replace together). Otherwise the
                // immutable fields are ignored. deleteBeforeReplace: the provider says so too for a named object
                // (provider.go Diff); stated here because a replacement must never create before it deletes.
                protect: phase === "recreate" ? false : args.protect,
                retainOnDelete: phase === "mark" ? false : args.protect,
                ignoreChanges: phase === "recreate" ? [] : [...STATEFULSET_IMMUTABLE_PATHS],
                deleteBeforeReplace: true,
                customTimeouts: { create: `${timeouts.createSeconds}s`, update: `${timeouts.updateSeconds}s` },
            },
        );
        if (pdbEnabled(app)) {
            new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: meta(names.app), spec: pdbSpec(app.pdb, selectorLabels(app.name)) }, child);
        }
        if (app.networkPolicy.enabled) {
            new k8s.networking.v1.NetworkPolicy(`${name}-netpol`, { metadata: meta(names.app), spec: networkPolicySpec(app, args.scrapeFrom ?? []) }, child);
        }

        this.serviceDns = pulumi.all([service.metadata.name, namespace]).apply(([, ns]) => serviceDnsName(app.name, ns, args.clusterDomain));
        this.podDns = pulumi.output(namespace).apply((ns) => podDnsNames(app.name, ns, app.replicas, args.clusterDomain));
        this.rollout = rollout.awaited ? "awaited" : rollout.reason;
        this.storageSize = this.statefulSet.spec.volumeClaimTemplates.apply((t) => String(t[0].spec.resources.requests?.storage ?? app.storage.size));
        this.registerOutputs({ serviceDns: this.serviceDns, podDns: this.podDns, rollout: this.rollout, storageSize: this.storageSize });
    }
}

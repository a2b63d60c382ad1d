/**
 * The program: stack config -> the cluster's provider and the Namespace -> one StatefulWorkload per app -> stack
 * outputs, by app name.
 *
 * Order matters: the config is validated (config/) before anything else, then compared with what the cluster
 * holds (a read of the namespace's PVCs), and only then are resources registered, every one through the explicit
 * provider of the stack's cluster (components/cluster.ts). A bad config therefore
 * fails `pulumi preview` and `pulumi up` without creating or changing anything.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { clusterProvider } from "./components/cluster";
import { requirePrometheusOperatorCrds } from "./components/prometheus-operator";
import { StatefulWorkload, WorkloadOutputs } from "./components/stateful-workload";
import { namespaceMetadata } from "./lib/namespace";
import { checkAgainstDeployed, loadConfig } from "./config";
import { configKey } from "./config/errors";
import { clusterConnection } from "./lib/kube-client";
import { membershipJob } from "./lib/membership";
import { runStepJob } from "./lib/membership-run";
import { workloadNames } from "./lib/names";
import { recoverStuckRollout } from "./lib/rollout-recovery";
import { watchRollout } from "./lib/rollout-watch";

/** Stack outputs. */
interface ProgramOutputs {
    /** The namespace every workload runs in. */
    namespaceName: pulumi.Output<string>;
    /**
     * Per app: how it was deployed, its client Service DNS name, each pod's stable DNS name, its Secret's name
     * (never the value), the PVC size of the deployed volumeClaimTemplates (with `ignoreChanges` it can differ
     * from `storage.size`), how `up` waits for its rollout (`awaited`, or why not: a partitioned canary; in `up` it
     * resolves only once the rollout is done, lib/rollout-watch.ts) and whether
     * its StatefulSet is marked for a recreate that the next `up` carries out (`recreatePending`, lib/recreate.ts).
     */
    workloads: Record<string, Omit<WorkloadOutputs, "rollout"> & { rollout: pulumi.Input<string> }>;
}

export = async (): Promise<ProgramOutputs> => {
    const { stack, cluster, kubeconfigFiles, secret } = loadConfig();
    const { recreatePlans, generations, membershipSteps } = await checkAgainstDeployed({ stack, cluster, kubeconfigFiles });
    const steps = stack.apps.map((app) => membershipSteps.get(app.name));

    const provider = clusterProvider(cluster);
    // Always retainOnDelete: deleting a namespace deletes every PVC in it, so neither `pulumi destroy` nor a rename
    // in config may take it down (remove it with kubectl when you mean it).
    const namespace = stack.namespace.create
        ? new k8s.core.v1.Namespace(
              "namespace",
              { metadata: namespaceMetadata({ ...stack.namespace, environment: stack.environment }) },
              { provider, protect: stack.protect, retainOnDelete: true },
          ).metadata.name
        : pulumi.output(stack.namespace.name);
    const operatorCrds = stack.monitoring.prometheusOperator ? requirePrometheusOperatorCrds({ provider }) : [];

    const workloads: ProgramOutputs["workloads"] = {};
    // Only in `up`, never in `preview`: the stuck-rollout watcher deletes live pods (lib/rollout-recovery.ts), the
    // rollout watch reads the cluster while it waits (lib/rollout-watch.ts).
    const connection = pulumi.runtime.isDryRun() ? undefined : clusterConnection(kubeconfigFiles, cluster.context);
    // Before anything is registered: a scale-down's beforeScaleDown Job (lib/membership.ts) must succeed before the
    // StatefulSet loses members; when it fails, nothing has changed.
    const runStep = async (i: number) => {
        const app = stack.apps[i];
        const step = steps[i];
        if (!connection || !step) return;
        const key = configKey(["apps", i, "membership", step.step]);
        const job = membershipJob(app, step, stack.namespace.name, stack.clusterDomain);
        await runStepJob(connection, stack.namespace.name, job, (m) => pulumi.log.info(`${key}: ${m}`)).catch((e: Error) => {
            throw new pulumi.RunError(`${key}: ${e.message}`);
        });
    };
    for (const i of stack.apps.keys()) if (steps[i]?.step === "beforeScaleDown") await runStep(i);
    for (const [i, app] of stack.apps.entries()) {
        const w = new StatefulWorkload(
            app.name,
            {
                app,
                namespace,
                clusterDomain: stack.clusterDomain,
                secretValue: app.secret.source === "config" && app.secret.configKey ? secret(app.secret.configKey) : undefined,
                protect: stack.protect,
                recreate: recreatePlans.get(app.name),
                monitoring: stack.monitoring,
                operatorCrds,
            },
            { providers: [provider] },
        );
        if (connection && app.recoverStuckRollout) {
            const settled = new Promise((resolve) => w.workloadSettled.apply(resolve));
            recoverStuckRollout(connection, stack.namespace.name, app, settled, (m) =>
                pulumi.log.warn(`${configKey(["apps", i, "recoverStuckRollout"])}: ${m}`, w),
            );
        }
        // In `up`, the stack output `rollout` resolves (to the same text as in preview, so a later preview shows no
        // change) only once the app has rolled out: the engine finishes the `up` only then.
        const watch = connection
            ? watchRollout(connection, stack.namespace.name, app, generations.get(workloadNames(app.name).app), (m) =>
                  pulumi.log.warn(`apps[${i}] ${app.name}: ${m}`, w),
              )
            : undefined;
        workloads[app.name] = {
            deployWith: w.deployWith,
            serviceDns: w.serviceDns,
            podDns: w.podDns,
            secretName: w.secretName,
            storageSize: w.storageSize,
            // After the rollout: a scale-up's afterScaleUp Job.
            rollout: watch
                ? w.workloadSettled.apply(async () => {
                      await watch.rolledOut();
                      if (steps[i]?.step === "afterScaleUp") await runStep(i);
                      return w.rollout;
                  })
                : w.rollout,
            recreatePending: w.recreatePending,
        };
    }
    return { namespaceName: namespace, workloads };
};

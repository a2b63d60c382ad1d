/**
 * The program: stack config -> one component per app -> stack outputs.
 *
 * Order matters: the config is validated (config.ts) before anything else, then compared with what the cluster
 * holds (a read of the namespace's PVCs), and only then are resources registered, every one through the explicit
 * provider of the stack's cluster (components/cluster.ts). A bad config therefore
 * fails `pulumi preview` and `pulumi up` without creating or changing anything.
 */
import * as pulumi from "@pulumi/pulumi";
import { AppMonitoring } from "./components/app-monitoring";
import { clusterProvider } from "./components/cluster";
import { createDataLoadJob } from "./components/data-load-job";
import { HelmStatefulApp } from "./components/helm-stateful-app";
import { requirePrometheusOperatorCrds } from "./components/prometheus-operator";
import { createNamespace } from "./components/namespace";
import { StatefulApp } from "./components/stateful-app";
import { checkAgainstDeployed, loadConfig } from "./config";

/** Stack outputs. */
interface ProgramOutputs {
    /** The namespace every workload runs in. */
    namespaceName: pulumi.Output<string>;
    /**
     * Per app: how it was deployed, its client Service DNS name, each pod's stable DNS name, its Secret's name
     * (never the value), the PVC size of the deployed volumeClaimTemplates (with `ignoreChanges` it can differ
     * from `storage.size`) and how `up` waits for its rollout (`awaited`, or why not: a partitioned canary).
     */
    workloads: Record<
        string,
        { deployWith: string; serviceDns: pulumi.Output<string>; podDns: pulumi.Output<string[]>; secretName: pulumi.Output<string>; storageSize: pulumi.Output<string>; rollout: string }
    >;
}

export = async (): Promise<ProgramOutputs> => {
    const { stack, cluster, secret } = loadConfig();
    await checkAgainstDeployed({ stack, cluster });

    const provider = clusterProvider(cluster);
    const onCluster = { providers: [provider] };
    const namespace = stack.namespace.create
        ? createNamespace({ name: stack.namespace.name, podSecurity: stack.namespace.podSecurity, environment: stack.environment }, { protect: stack.protect, provider }).metadata.name
        : pulumi.output(stack.namespace.name);

    const operatorCrds = stack.monitoring.prometheusOperator ? requirePrometheusOperatorCrds({ provider }) : [];

    const apps = stack.apps.map((app) => {
        const args = {
            app,
            namespace,
            clusterDomain: stack.clusterDomain,
            secretValue: app.secret.source === "config" && app.secret.configKey ? secret(app.secret.configKey) : undefined,
            protect: stack.protect,
            scrapeAnnotations: !stack.monitoring.prometheusOperator,
        };
        const workload = app.deployWith === "helm" ? new HelmStatefulApp(app.name, args, onCluster) : new StatefulApp(app.name, args, onCluster);
        if (stack.monitoring.alertRules || (stack.monitoring.prometheusOperator && app.metrics)) {
            new AppMonitoring(app.name, { app, monitoring: stack.monitoring, namespace, operatorCrds }, onCluster);
        }
        if (app.dataLoad) {
            createDataLoadJob(app.name, app, namespace, { dependsOn: [workload], provider });
        }
        return workload;
    });

    return {
        namespaceName: namespace,
        workloads: Object.fromEntries(
            stack.apps.map((app, i) => [
                app.name,
                {
                    deployWith: app.deployWith,
                    serviceDns: apps[i].serviceDns,
                    podDns: apps[i].podDns,
                    secretName: apps[i].secretName,
                    storageSize: apps[i].storageSize,
                    rollout: apps[i].rollout,
                },
            ]),
        ),
    };
};

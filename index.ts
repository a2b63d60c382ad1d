/**
 * The program: stack config -> one component per app -> stack outputs.
 * Config is validated (config.ts) before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { HelmStatefulApp } from "./components/helm-stateful-app";
import { createNamespace } from "./components/namespace";
import { StatefulApp } from "./components/stateful-app";
import { loadConfig } from "./config";

const { stack, secret } = loadConfig();

const namespace = stack.namespace.create
    ? createNamespace({ name: stack.namespace.name, podSecurity: stack.namespace.podSecurity, environment: stack.environment }, { protect: stack.protect }).metadata.name
    : pulumi.output(stack.namespace.name);

const apps = stack.apps.map((app) => {
    const args = {
        app,
        namespace,
        clusterDomain: stack.clusterDomain,
        secretValue: app.secret.source === "config" && app.secret.configKey ? secret(app.secret.configKey) : undefined,
        protect: stack.protect,
    };
    return app.deployWith === "helm" ? new HelmStatefulApp(app.name, args) : new StatefulApp(app.name, args);
});

/** The namespace every workload runs in. */
export const namespaceName = namespace;

/** Per app: how it was deployed, its client Service DNS name, each pod's stable DNS name and its Secret's name. */
export const workloads = Object.fromEntries(
    stack.apps.map((app, i) => [
        app.name,
        { deployWith: app.deployWith, serviceDns: apps[i].serviceDns, podDns: apps[i].podDns, secretName: apps[i].secretName },
    ]),
);

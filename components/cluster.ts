import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** The cluster a stack deploys to, as its config names it (config/index.ts `loadConfig`). */
export interface ClusterArgs {
    /** `kubernetes:context`: the kubeconfig context (required; checked against the kubeconfig before any resource). */
    readonly context: string;
    /** `kubernetes:kubeconfig`: a kubeconfig's contents or path. Default: `KUBECONFIG`, else `~/.kube/config`. */
    readonly kubeconfig?: string;
    /** Whether `kubernetes:kubeconfig` was set with `--secret`: the provider's input then stays a secret in the state. */
    readonly kubeconfigIsSecret?: boolean;
}

/**
 * Settings of the kubernetes provider that the program relies on, stated once here (not in stack config, where an
 * explicit provider would not read them).
 *
 * `enableConfigMapMutable`/`enableSecretMutable`: update ConfigMaps and Secrets in place instead of replacing them
 * on every data change (the provider's default, meant to roll the pods that use them). Our pods roll through the
 * `checksum/config` and `checksum/secret` annotations instead, and replacing an object with a fixed name would
 * delete and re-create it under running pods.
 * Source: https://www.pulumi.com/registry/packages/kubernetes/api-docs/provider/
 */
export const PROVIDER_SETTINGS = { enableConfigMapMutable: true, enableSecretMutable: true } as const;

/**
 * The explicit kubernetes provider every resource of the stack is created with (passed to each component and
 * resource, never the engine's default provider: Pulumi.yaml sets `pulumi:disable-default-providers: [kubernetes]`,
 * so a resource that misses it fails instead of going to whatever context is current).
 *
 * Its logical name `cluster` is part of the state: renaming it would make the engine ask the provider whether
 * every resource must move (DiffConfig; a new cluster replaces them).
 */
export function clusterProvider(args: ClusterArgs): k8s.Provider {
    // Without `kubernetes:kubeconfig`, an empty string, not undefined: @pulumi/kubernetes would otherwise store this
    // machine's KUBECONFIG path in the state (provider.js: `kubeconfig ?? getEnv("KUBECONFIG")`), so that another
    // machine or CI runner would see a changed provider, and a KUBECONFIG list (`/a:/b`) would be read as contents.
    // Empty lets the provider load kubeconfigs as kubectl does. `clusterIdentifier`: the provider is replaced (and
    // with it every resource) only when the stack names another context, never because a path or a CA changed.
    const kubeconfig = args.kubeconfig === undefined ? "" : args.kubeconfigIsSecret ? pulumi.secret(args.kubeconfig) : args.kubeconfig;
    return new k8s.Provider("cluster", { context: args.context, clusterIdentifier: args.context, kubeconfig, ...PROVIDER_SETTINGS });
}

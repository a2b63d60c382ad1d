/**
 * Values for the bundled chart (`charts/stateful-app`), computed from the same typed app config as the native
 * path. Pure: no resources, no secrets (the Secret is created natively; only its name is passed).
 */
import type * as pulumi from "@pulumi/pulumi";
import { configFileData } from "./config-files";
import { STACK_ANNOTATION, workloadNames } from "./names";
import { pdbEnabled, pdbPolicy } from "./pdb";
import type { AppConfig, NetworkPeer } from "../config/schema";
import { containerResources, containerSecurityContext, podSecurityContext } from "./container";
import { mtailProgram, sidecarResources } from "./metrics-sidecar";
import { optional, podSpecFields, probe, pvcRetentionPolicy, scannerWaivers, SECRET_CHECKSUM_ANNOTATION, updateStrategy } from "./workload";

/**
 * The Release value paths that render the StatefulSet's immutable fields (lib/workload.ts
 * `STATEFULSET_IMMUTABLE_PATHS`: volumeClaimTemplates, podManagementPolicy). The Release ignores changes to them
 * after the first install (`ignoreChanges`), as the native StatefulSet does, so a changed `storage.size` or
 * `podManagementPolicy` neither fails the `helm upgrade` (the API server would refuse it, kubernetes#68737) nor
 * takes effect: both paths need the same deliberate migration (docs/SAFETY.md "Safety rules built in").
 */
export const HELM_IMMUTABLE_VALUE_PATHS = [
    "values.persistence.size",
    "values.persistence.storageClass",
    "values.persistence.accessModes",
    "values.persistence.volumeClaimName",
    "values.podManagementPolicy",
] as const;

/**
 * Values for `charts/stateful-app`. Their shape is lib/chart-values.ts `CHART_VALUES_SCHEMA` (from which
 * values.schema.json is generated); tests/chart.test.ts parses the values of every app of both stacks with it.
 */
export interface StatefulAppValues {
    readonly [key: string]: unknown;
}

/**
 * Maps an app's config to chart values.
 *
 * @param app the validated app config.
 * @param secretChecksum the salted scrypt of the Secret's value (lib/workload.ts `secretChecksum`; not secret), set
 *   as the pod annotation `checksum/secret` so pods roll when the value changes.
 * @param opts.scrapeAnnotations annotate pods for annotation-based scraping when the app has `metrics`
 *   (stacks without the Prometheus Operator). Default false. `opts.stack`: the Pulumi stack, written on the
 *   StatefulSet as the annotation `stateful-apps/stack` (lib/names.ts STACK_ANNOTATION). Default: no annotation.
 *   `opts.clusterDomain`: the stack's `clusterDomain`, for the members' DNS names of `peerEnv`. Default: the chart's
 *   (`cluster.local`). `opts.scrapeFrom`: the stack's `monitoring.scrapeFrom`, the NetworkPolicy's peers on the
 *   metrics port (`networkPolicy.metricsFrom`, set for apps with `metrics` only). Default: none.
 * @returns values for `helm install`; names are pinned with `fullnameOverride`/`nameOverride` so the chart's
 *   objects carry the same names and selector labels as the native path. No value is ever null: Helm merges
 *   user values into the chart's defaults key by key, so the chart keeps no default that a value would have to
 *   delete (its probes, update strategy and PDB policy default to empty and are filled in by the templates).
 *   Nulls would be fragile: providers before 4.30 and Helm 4's schema check do not treat them as deletions.
 */
export function helmValues(
    app: AppConfig,
    secretChecksum: pulumi.Input<string>,
    opts: { scrapeAnnotations?: boolean; stack?: string; clusterDomain?: string; scrapeFrom?: readonly NetworkPeer[] } = {},
): StatefulAppValues {
    const names = workloadNames(app.name);
    const program = mtailProgram(app);
    return {
        nameOverride: app.name,
        fullnameOverride: app.name,
        image: { repository: app.image.repository, tag: app.image.tag, digest: app.image.digest ?? "", pullPolicy: app.image.pullPolicy },
        command: app.command ?? [],
        args: app.args ?? [],
        replicaCount: app.replicas,
        podManagementPolicy: app.podManagementPolicy,
        updateStrategy: updateStrategy(app),
        minReadySeconds: app.minReadySeconds,
        terminationGracePeriodSeconds: app.terminationGracePeriodSeconds,
        preStopSleepSeconds: app.preStopSleepSeconds,
        containerPort: app.port,
        portName: app.portName,
        // Only when set: an app without them keeps the values (and the release) it had before these keys existed.
        ...(app.extraPorts.length > 0 ? { extraPorts: app.extraPorts.map((p) => ({ ...p })) } : {}),
        ...(app.peerEnv.length > 0 ? { peerEnv: app.peerEnv.map((e) => ({ ...e })), ...optional("clusterDomain", opts.clusterDomain) } : {}),
        service: { type: app.service.type, port: app.service.port ?? app.port, ...optional("nodePort", app.service.nodePort) },
        persistence: {
            size: app.storage.size,
            storageClass: app.storage.storageClass ?? "",
            accessModes: [...app.storage.accessModes],
            mountPath: app.storage.mountPath,
            volumeClaimName: names.volumeClaim,
        },
        persistentVolumeClaimRetentionPolicy: pvcRetentionPolicy(app),
        resources: containerResources(app),
        readinessProbe: probe(app.probes.readiness, app),
        livenessProbe: probe(app.probes.liveness, app),
        ...optional("startupProbe", app.probes.startup ? probe(app.probes.startup, app) : undefined),
        podSecurityContext: podSecurityContext(app),
        containerSecurityContext: containerSecurityContext(app),
        topologySpread: { ...app.topologySpread },
        pdb: { enabled: pdbEnabled(app), ...pdbPolicy(app.pdb) },
        env: { ...app.env },
        configFiles: configFileData(app),
        configMountPath: app.configMountPath,
        existingSecret: names.secret,
        secretKey: app.secret.key,
        secretEnvName: app.secret.envName,
        podAnnotations: { [SECRET_CHECKSUM_ANNOTATION]: secretChecksum },
        ...optional("podSpecFields", Object.keys(podSpecFields(app)).length > 0 ? podSpecFields(app) : undefined),
        statefulSetAnnotations: { ...(opts.stack !== undefined ? { [STACK_ANNOTATION]: opts.stack } : {}), ...scannerWaivers(app) },
        networkPolicy: {
            enabled: app.networkPolicy.enabled,
            allowFrom: app.networkPolicy.allowFrom.map((p) => ({ ...p })),
            // Only when there is a metrics port to open: releases of other apps keep the values they had.
            ...optional("metricsFrom", app.metrics && opts.scrapeFrom?.length ? opts.scrapeFrom.map((p) => ({ ...p })) : undefined),
        },
        hooks: { enabled: app.helm.hooks, image: app.helm.hookImage },
        metrics:
            app.metrics && program
                ? {
                      enabled: true,
                      logFile: app.metrics.logFile,
                      image: {
                          repository: app.metrics.image.repository,
                          tag: app.metrics.image.tag,
                          digest: app.metrics.image.digest ?? "",
                          pullPolicy: app.metrics.image.pullPolicy,
                      },
                      port: app.metrics.port,
                      programFile: program.file,
                      program: program.text,
                      resources: sidecarResources(app.metrics.resources),
                      scrapeAnnotations: opts.scrapeAnnotations ?? false,
                  }
                : { enabled: false },
    };
}

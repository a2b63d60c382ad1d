/**
 * Values for the bundled chart (`charts/stateful-app`), computed from the same typed app config as the native
 * path. Pure: no resources, no secrets (the Secret is created natively; only its name is passed).
 */
import type * as pulumi from "@pulumi/pulumi";
import { workloadNames } from "./names";
import { AppConfig, pdbEnabled } from "./schema";
import {
    configFileData,
    containerResources,
    mtailProgram,
    sidecarResources,
    containerSecurityContext,
    pdbPolicy,
    podSecurityContext,
    probe,
    pvcRetentionPolicy,
    SECRET_CHECKSUM_ANNOTATION,
    updateStrategy,
} from "./workload";

/** The handler fields of a Kubernetes Probe; a probe has exactly one. */
const PROBE_HANDLERS = ["httpGet", "tcpSocket", "exec", "grpc"];

/**
 * Helm merges user values into the chart's default maps key by key, so a `tcpSocket` probe would keep the
 * default's `httpGet` and become invalid. Setting the other keys to null deletes them from the merged values
 * (https://helm.sh/docs/chart_template_guide/values_files/#deleting-a-default-key).
 */
function replacing<T extends object>(value: T, keys: string[]): T {
    const nulls = Object.fromEntries(keys.filter((k) => !(k in value)).map((k) => [k, null]));
    return { ...nulls, ...value } as T;
}

/** Values for `charts/stateful-app`; the shape `charts/stateful-app/values.schema.json` validates. */
export interface StatefulAppValues {
    readonly [key: string]: unknown;
}

/**
 * Maps an app's config to chart values.
 *
 * @param app the validated app config.
 * @param secretChecksum SHA-256 of the Secret's value (not secret), set as the pod annotation
 *   `checksum/secret` so pods roll when the value changes.
 * @param opts.scrapeAnnotations annotate pods for annotation-based scraping when the app has `metrics`
 *   (stacks without the Prometheus Operator). Default false.
 * @returns values for `helm install`; names are pinned with `fullnameOverride`/`nameOverride` so the chart's
 *   objects carry the same names and selector labels as the native path.
 */
export function helmValues(app: AppConfig, secretChecksum: pulumi.Input<string>, opts: { scrapeAnnotations?: boolean } = {}): StatefulAppValues {
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
        // OnDelete must drop the default's rollingUpdate block.
        updateStrategy: replacing(updateStrategy(app), ["rollingUpdate"]),
        minReadySeconds: app.minReadySeconds,
        terminationGracePeriodSeconds: app.terminationGracePeriodSeconds,
        preStopSleepSeconds: app.preStopSleepSeconds,
        containerPort: app.port,
        portName: app.portName,
        service: { type: app.service.type, port: app.service.port ?? app.port, nodePort: app.service.nodePort ?? null },
        persistence: {
            size: app.storage.size,
            storageClass: app.storage.storageClass ?? "",
            accessModes: [...app.storage.accessModes],
            mountPath: app.storage.mountPath,
            volumeClaimName: names.volumeClaim,
        },
        persistentVolumeClaimRetentionPolicy: pvcRetentionPolicy(app),
        resources: containerResources(app),
        readinessProbe: replacing(probe(app.probes.readiness, app), PROBE_HANDLERS),
        livenessProbe: replacing(probe(app.probes.liveness, app), PROBE_HANDLERS),
        // The chart's default startupProbe is null, so nothing merges into it.
        startupProbe: app.probes.startup ? probe(app.probes.startup, app) : null,
        podSecurityContext: podSecurityContext(app),
        containerSecurityContext: containerSecurityContext(app),
        topologySpread: { ...app.topologySpread, minDomains: app.topologySpread.minDomains ?? null },
        pdb: replacing({ enabled: pdbEnabled(app), ...pdbPolicy(app) }, ["minAvailable", "maxUnavailable"]),
        env: { ...app.env },
        configFiles: configFileData(app),
        configMountPath: app.configMountPath,
        existingSecret: names.secret,
        secretKey: app.secret.key,
        secretEnvName: app.secret.envName,
        podAnnotations: { [SECRET_CHECKSUM_ANNOTATION]: secretChecksum },
        networkPolicy: { enabled: app.networkPolicy.enabled, allowFrom: app.networkPolicy.allowFrom.map((p) => ({ ...p })) },
        hooks: { enabled: app.helm.hooks, image: app.helm.hookImage },
        metrics:
            app.metrics && program
                ? {
                      enabled: true,
                      logFile: app.metrics.logFile,
                      image: { repository: app.metrics.image.repository, tag: app.metrics.image.tag, digest: app.metrics.image.digest ?? "", pullPolicy: app.metrics.image.pullPolicy },
                      port: app.metrics.port,
                      programFile: program.file,
                      program: program.text,
                      resources: sidecarResources(app),
                      scrapeAnnotations: opts.scrapeAnnotations ?? false,
                  }
                : { enabled: false },
    };
}

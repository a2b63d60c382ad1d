/**
 * Cross-field rules: what one field's schema cannot express, grouped by area. Each names the config key at fault
 * and, where the rule comes from the Kubernetes API server, the validation function it mirrors.
 */
import { configFileData } from "../lib/config-files";
import { PROJECT, workloadNames } from "../lib/names";
import { MTAIL_PROGS_DIR } from "../lib/mtail-constants";
import { allowedDisruptions, pdbEnabled } from "../lib/pdb";
import { parseQuantity } from "../lib/quantity";
import { INJECTED_ENV, LOOPBACK_REGISTRY, MAX_CONFIGMAP_BYTES } from "./fields";
import { peerRules } from "./peer-rules";
import type { AppConfig, StackConfig } from "./schema";

/** One problem, at a path of the config (`["apps", 1, "storage", "size"]`). */
export interface Problem {
    readonly path: PropertyKey[];
    readonly message: string;
    readonly given?: unknown;
}

/** The path of an app's field: `at("storage", "size")` → `["apps", i, "storage", "size"]`. */
type At = (...p: PropertyKey[]) => PropertyKey[];

/** Longest app name with a data-load Job: `<name>-data-load-<8 hex>` must fit the 63-character `job-name` label. */
const MAX_APP_NAME_WITH_DATA_LOAD = 63 - "-data-load-".length - 8;

/** Suffix of the chart's `helm test` Pod's name and `app.kubernetes.io/name` label (templates/tests/test-connection.yaml). */
export const TEST_POD_SUFFIX = "-test-connection";

/** Object names an app owns in its namespace (Services, ConfigMaps, Secret, hook Jobs, test Pod). */
function derivedObjectNames(app: string): string[] {
    const n = workloadNames(app);
    return [
        n.app,
        n.headless,
        n.envConfigMap,
        n.filesConfigMap,
        n.secret,
        n.mtailConfigMap,
        n.alertRules,
        `${app}-preflight`,
        `${app}-report`,
        `${app}${TEST_POD_SUFFIX}`,
    ];
}

/**
 * Across apps: unique names, no collision of derived object names, each nodePort used once (cluster-wide); the
 * scrape peers named when a NetworkPolicy guards a metrics port.
 */
function acrossApps(cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    const seen = new Map<string, number>();
    const objectNames = new Map<string, number>();
    const nodePorts = new Map<number, number>();
    cfg.apps.forEach((app, i) => {
        const at: At = (...p) => ["apps", i, ...p];
        if (seen.has(app.name)) {
            out.push({ path: at("name"), message: `duplicates apps[${seen.get(app.name)}].name; app names must be unique`, given: app.name });
        } else {
            // Names derived from different app names can still collide: app `db-headless` vs the headless Service of `db`.
            const clash = derivedObjectNames(app.name).find((n) => objectNames.has(n) && objectNames.get(n) !== i);
            if (clash) {
                out.push({
                    path: at("name"),
                    message: `its object name '${clash}' collides with one of apps[${objectNames.get(clash)}] (each app owns <name>, <name>-headless, <name>-env, <name>-files, <name>-credentials, <name>-mtail, …)`,
                    given: app.name,
                });
            }
            derivedObjectNames(app.name).forEach((n) => objectNames.set(n, i));
        }
        seen.set(app.name, i);
        if (app.service.nodePort !== undefined) {
            if (nodePorts.has(app.service.nodePort)) {
                out.push({
                    path: at("service", "nodePort"),
                    message: `is already used by apps[${nodePorts.get(app.service.nodePort)}]; a nodePort is cluster-wide and can back one Service only`,
                    given: app.service.nodePort,
                });
            }
            nodePorts.set(app.service.nodePort, i);
        }
    });
    const scraped = cfg.apps.filter((a) => a.metrics && a.networkPolicy.enabled).map((a) => a.name);
    if (scraped.length > 0 && cfg.monitoring.scrapeFrom.length === 0) {
        out.push({
            path: ["monitoring", "scrapeFrom"],
            message: `must name where Prometheus runs: ${scraped.join(", ")} ${scraped.length > 1 ? "have" : "has"} metrics and networkPolicy.enabled, and the NetworkPolicy admits on the metrics port only these peers, so with none Prometheus could not scrape. For example [{namespaceLabels: {kubernetes.io/metadata.name: monitoring}}]`,
            given: [],
        });
    }
    return out;
}

/** Topology spread, update strategy and PodDisruptionBudget. */
function schedulingRules(app: AppConfig, at: At, cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    const spread = app.topologySpread;
    if (spread.minDomains !== undefined && spread.zone !== "DoNotSchedule") {
        out.push({
            path: at("topologySpread", "minDomains"),
            message: "needs topologySpread.zone: DoNotSchedule (Kubernetes accepts minDomains only with whenUnsatisfiable DoNotSchedule)",
            given: spread.minDomains,
        });
    } else if (spread.minDomains !== undefined && cfg.zones && spread.minDomains > cfg.zones.length) {
        out.push({
            path: at("topologySpread", "minDomains"),
            message: `asks for ${spread.minDomains} zones but the stack's zones list ${cfg.zones.length} (${cfg.zones.join(", ")}); with DoNotSchedule the extra pods would stay Pending`,
            given: spread.minDomains,
        });
    }
    if (app.updateStrategy.type === "RollingUpdate" && app.updateStrategy.partition > app.replicas) {
        out.push({
            path: at("updateStrategy", "partition"),
            message: `must be ≤ replicas (${app.replicas}); a larger partition never updates any pod`,
            given: app.updateStrategy.partition,
        });
    }
    if (app.pdb.minAvailable !== undefined && app.pdb.maxUnavailable !== undefined) {
        out.push({ path: at("pdb"), message: "set minAvailable or maxUnavailable, not both (PodDisruptionBudget allows one)" });
    } else if (pdbEnabled(app) && app.replicas > 0 && allowedDisruptions(app.pdb, app.replicas) === 0) {
        const field = app.pdb.minAvailable !== undefined ? "minAvailable" : "maxUnavailable";
        out.push({
            path: at("pdb", field),
            message: `allows zero disruptions with ${app.replicas} replica(s), so node drains would block forever; allow at least one (e.g. maxUnavailable: 1) or set pdb.enabled: false`,
            given: app.pdb[field],
        });
    }
    return out;
}

/** Requests within limits (core/validation validateResourceRequirements), for the app and its mtail sidecar. */
function resourceRules(app: AppConfig, at: At, _cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    const req = app.resources.requests;
    const lim = app.resources.limits;
    if ((parseQuantity(req.memory) ?? 0) > (parseQuantity(lim.memory) ?? Infinity)) {
        out.push({ path: at("resources", "requests", "memory"), message: `must be ≤ limits.memory (${lim.memory})`, given: req.memory });
    }
    if ((parseQuantity(req.ephemeralStorage) ?? 0) > (parseQuantity(lim.ephemeralStorage) ?? Infinity)) {
        out.push({
            path: at("resources", "requests", "ephemeralStorage"),
            message: `must be ≤ limits.ephemeralStorage (${lim.ephemeralStorage})`,
            given: req.ephemeralStorage,
        });
    }
    if (lim.cpu !== undefined && (parseQuantity(req.cpu) ?? 0) > (parseQuantity(lim.cpu) ?? Infinity)) {
        out.push({ path: at("resources", "requests", "cpu"), message: `must be ≤ limits.cpu (${lim.cpu})`, given: req.cpu });
    }
    if (app.metrics && (parseQuantity(app.metrics.resources.memory) ?? 0) > (parseQuantity(app.metrics.resources.memoryLimit) ?? Infinity)) {
        out.push({
            path: at("metrics", "resources", "memory"),
            message: `must be ≤ metrics.resources.memoryLimit (${app.metrics.resources.memoryLimit}); Kubernetes refuses requests above limits`,
            given: app.metrics.resources.memory,
        });
    }
    return out;
}

/** Images a prod stack may not use: `latest` without a digest, a registry on localhost. */
function imageRules(app: AppConfig, at: At, cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    if (cfg.environment === "prod") {
        const images: [PropertyKey[], string | undefined][] = [
            [at("image", "repository"), app.image.repository],
            [at("metrics", "image", "repository"), app.metrics?.image.repository],
            [at("dataLoad", "image", "repository"), app.dataLoad?.image?.repository],
            [at("dataLoad", "waitImage"), app.dataLoad?.waitImage],
            [at("helm", "hookImage"), app.deployWith === "helm" ? app.helm.hookImage : undefined],
        ];
        for (const [path, image] of images) {
            if (image !== undefined && LOOPBACK_REGISTRY.test(image)) {
                out.push({
                    path,
                    message: "names a registry on localhost, which each prod node would look for on itself: push the image to a registry your nodes pull from",
                    given: image,
                });
            }
        }
    }
    if (cfg.environment === "prod" && app.image.tag === "latest" && !app.image.digest) {
        out.push({ path: at("image", "tag"), message: "must not be `latest` in a prod stack: pin a version tag (and ideally a digest)", given: app.image.tag });
    }
    return out;
}

/** The client Service: LoadBalancer only where allowed, nodePort only with NodePort/LoadBalancer. */
function serviceRules(app: AppConfig, at: At, cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    if (app.service.type === "LoadBalancer" && !cfg.allowLoadBalancer) {
        out.push({
            path: at("service", "type"),
            message: `LoadBalancer is not allowed in this stack; use ClusterIP or NodePort, or set ${PROJECT}:allowLoadBalancer: true`,
            given: app.service.type,
        });
    }
    if (app.service.nodePort !== undefined && app.service.type === "ClusterIP") {
        out.push({ path: at("service", "nodePort"), message: "needs service.type NodePort or LoadBalancer", given: app.service.nodePort });
    }
    return out;
}

/** The pod: preStop within the grace period, env the program sets, probe timeouts, unique mount paths, ConfigMap sizes. */
function podRules(app: AppConfig, at: At, _cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    // k8s.io/kubernetes pkg/apis/core/validation validateSleepAction: the sleep must fit the grace period.
    if (app.preStopSleepSeconds > app.terminationGracePeriodSeconds) {
        out.push({
            path: at("preStopSleepSeconds"),
            message: `must be ≤ terminationGracePeriodSeconds (${app.terminationGracePeriodSeconds}); Kubernetes refuses a preStop sleep longer than the grace period`,
            given: app.preStopSleepSeconds,
        });
    }
    // The container's own env (lib/workload.ts podTemplate) wins over envFrom, so a plain env of these names would
    // silently never arrive.
    for (const name of Object.keys(app.env)) {
        if (name === app.secret.envName || name in INJECTED_ENV) {
            out.push({
                path: at("env", name),
                message: `is set by the program (${[...Object.keys(INJECTED_ENV), "secret.envName"].join(", ")}); the pod would never see this value`,
                given: name,
            });
        }
    }
    const probes: [string, typeof app.probes.readiness | undefined][] = [
        ["readiness", app.probes.readiness],
        ["liveness", app.probes.liveness],
        ["startup", app.probes.startup],
    ];
    for (const [name, probe] of probes) {
        if (probe && probe.timeoutSeconds > probe.periodSeconds) {
            out.push({ path: at("probes", name, "timeoutSeconds"), message: `must be ≤ periodSeconds (${probe.periodSeconds})`, given: probe.timeoutSeconds });
        }
    }
    const mountPaths = [app.storage.mountPath, app.configMountPath, "/tmp"];
    if (new Set(mountPaths).size !== mountPaths.length) {
        out.push({ path: at("configMountPath"), message: `must differ from storage.mountPath and /tmp`, given: app.configMountPath });
    }
    // core/validation ValidateVolumeMounts: each container's mountPaths must be unique. The app container mounts
    // each config file at <configMountPath>/<file>; the mtail sidecar mounts its program at MTAIL_PROGS_DIR.
    const fileMounts = Object.keys(app.configFiles).map((f) => `${app.configMountPath.replace(/\/$/, "")}/${f}`);
    if (fileMounts.includes("/tmp")) {
        out.push({
            path: at("configFiles"),
            message: "mounts a file at /tmp, where the pod's writable emptyDir is; rename the file or change configMountPath",
            given: "tmp",
        });
    }
    const dataMount = app.storage.mountPath.replace(/\/$/, "");
    const atMtailProgram = app.metrics !== undefined && dataMount === MTAIL_PROGS_DIR;
    if (fileMounts.includes(dataMount) || atMtailProgram) {
        out.push({
            path: at("storage", "mountPath"),
            message: `is also where ${atMtailProgram ? "the mtail sidecar mounts its program" : "a config file is mounted"}; Kubernetes refuses two mounts at one path in a container`,
            given: app.storage.mountPath,
        });
    }
    // core/validation ValidateConfigMap: at most 1 MiB of data per ConfigMap (the files; the env).
    const bytes = (data: Record<string, string>) => Object.values(data).reduce((n, v) => n + Buffer.byteLength(v, "utf8"), 0);
    const sizes: [PropertyKey[], number][] = [
        [at("configFiles"), bytes(configFileData(app))],
        [at("env"), bytes(app.env)],
    ];
    for (const [path, size] of sizes) {
        if (size > MAX_CONFIGMAP_BYTES) {
            out.push({
                path,
                message: `holds ${size} bytes; a ConfigMap holds at most ${MAX_CONFIGMAP_BYTES} (1 MiB): keep large data in the image or on the volume`,
            });
        }
    }
    return out;
}

/** The mtail sidecar: its own port, a log file on the data volume. */
function metricsRules(app: AppConfig, at: At, _cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    if (app.metrics) {
        if (app.metrics.port === app.port) {
            out.push({
                path: at("metrics", "port"),
                message: `collides with the app's port ${app.port}; mtail needs a port of its own`,
                given: app.metrics.port,
            });
        }
        const probePorts = [app.probes.readiness, app.probes.liveness, app.probes.startup].map((p) => p?.port).filter((p) => p !== undefined);
        if (probePorts.includes(app.metrics.port)) {
            out.push({ path: at("metrics", "port"), message: "is also a probe port of the app container; pick another", given: app.metrics.port });
        }
        if (app.portName === "metrics") {
            out.push({ path: at("portName"), message: "`metrics` is reserved for the mtail sidecar's port when `metrics` is set", given: app.portName });
        }
        if (!app.metrics.logFile.startsWith(`${app.storage.mountPath.replace(/\/$/, "")}/`)) {
            out.push({
                path: at("metrics", "logFile"),
                message: `must be under storage.mountPath (${app.storage.mountPath}): the sidecar reads it from the data volume`,
                given: app.metrics.logFile,
            });
        }
    }
    return out;
}

/** Names that become labels: the data-load Job (job-name) and the chart's test Pod; the Job needs a replica. */
function jobAndChartRules(app: AppConfig, at: At, _cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    if (app.dataLoad && app.name.length > MAX_APP_NAME_WITH_DATA_LOAD) {
        out.push({
            path: at("name"),
            message: `must be at most ${MAX_APP_NAME_WITH_DATA_LOAD} characters with dataLoad: the Job <name>-data-load-<hash> becomes a 63-character label (job-name)`,
            given: app.name,
        });
    }
    if (app.dataLoad && app.replicas === 0) {
        out.push({ path: at("dataLoad"), message: "needs replicas ≥ 1: the Job waits for the app's Service to accept connections" });
    }
    // The release, not Pulumi, owns a Helm app's StatefulSet: Pulumi cannot delete it with an orphaning propagation.
    if (app.deployWith === "helm" && app.allowStatefulSetRecreate) {
        out.push({
            path: at("allowStatefulSetRecreate"),
            message:
                "works for deployWith: native only: a Helm app's StatefulSet belongs to its release, which Pulumi updates as a whole and cannot delete with an orphaning propagation (helm upgrade fails on the immutable fields instead)",
            given: true,
        });
    }
    // The chart's helm-test Pod carries the label app.kubernetes.io/name=<name>-test-connection (≤ 63 characters).
    if (app.deployWith === "helm" && app.name.length > 63 - TEST_POD_SUFFIX.length) {
        out.push({
            path: at("name"),
            message: `must be at most ${63 - TEST_POD_SUFFIX.length} characters with deployWith: helm: the chart's test Pod is labelled <name>${TEST_POD_SUFFIX} (a label value, at most 63)`,
            given: app.name,
        });
    }
    return out;
}

/** `removedApps`: each deployed app once, and never one that `apps` still deploys in the same namespace. */
function removedAppRules(cfg: StackConfig): Problem[] {
    const out: Problem[] = [];
    const seen = new Set<string>();
    cfg.removedApps.forEach((r, j) => {
        const ns = r.namespace ?? cfg.namespace.name;
        const id = `${ns}/${r.name}`;
        if (seen.has(id)) {
            out.push({ path: ["removedApps", j], message: `names ${id} a second time; name each deployed app once`, given: r.name });
        }
        seen.add(id);
        const kept = cfg.apps.findIndex((a) => a.name === r.name);
        if (ns === cfg.namespace.name && kept >= 0) {
            out.push({
                path: ["removedApps", j, "name"],
                message: `names apps[${kept}], which this stack still deploys in namespace ${ns}; list only apps that leave (removed, renamed, or left in the old namespace of a move)`,
                given: r.name,
            });
        }
    });
    return out;
}

/** Every cross-field problem of the stack, all at once. */
export function crossFieldProblems(cfg: StackConfig): Problem[] {
    const perApp = [schedulingRules, resourceRules, imageRules, serviceRules, podRules, metricsRules, jobAndChartRules, peerRules];
    return [
        ...acrossApps(cfg),
        ...removedAppRules(cfg),
        ...cfg.apps.flatMap((app, i) => perApp.flatMap((rule) => rule(app, (...p) => ["apps", i, ...p], cfg))),
    ];
}

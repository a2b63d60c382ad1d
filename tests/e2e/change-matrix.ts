/**
 * The change matrix: one ordinary change of the dev stack's config per entry, each applied on top of the committed
 * stack and then reverted, with what it must do. The data behind tests/e2e/changes.e2e.ts (which checks every entry on
 * the real engine) and behind the table in docs/CHANGES.md (`npm run docs:changes` writes it; `npm test` fails when it
 * is stale). Every top-level app key is changed at least once, on the native path and, where the key reaches the
 * chart, on the Helm path; stack keys likewise; `protect` on and off.
 */
import { PROJECT } from "../../lib/names";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** What happens to an app's pods. */
export type Pods = "roll" | "kept" | "added" | "removed";

/** What an entry must do. */
export type Outcome =
    /** Preview passes (saying `warn` in words, when given); `up` applies it. */
    | {
          readonly verdict: "applies";
          /** The app whose pods are watched, and what happens to them. */
          readonly pods: Pods;
          /** The PVCs: every one kept (same UID), or the named app's deleted because `removedApps` says so. */
          readonly data: "kept" | "deleted as removedApps says";
          /** The app's StatefulSet: the same object, or a new one (an orphaning recreate). Default same. */
          readonly statefulSet?: "same" | "new";
          /** `up`s needed (an allowStatefulSetRecreate change takes two, as `npm run deploy` runs them). Default 1. */
          readonly ups?: 1 | 2;
          /** A warning preview must print. */
          readonly warn?: string;
      }
    /** Preview and `up` pass, say `warn`, and change nothing in the cluster. */
    | { readonly verdict: "warns"; readonly warn: string }
    /** Preview and `up` fail naming `key` and saying `message`; nothing changes. */
    | { readonly verdict: "refused"; readonly key: string; readonly message: string };

/** One change. */
export interface ChangeCase {
    /** Short id, unique (the test's name starts with it). */
    readonly id: string;
    /** The config key the change exercises, as docs/CHANGES.md shows it (`apps[].replicas`, `namespace.name`). */
    readonly key: string;
    /** The change in words. */
    readonly change: string;
    /** What `up` does, in words (the docs' column). */
    readonly upDoes: string;
    /** The app whose StatefulSet and pods are watched. */
    readonly app: "visits" | "litecoin" | "datastore";
    /** Edits the committed dev stack file's `config` map (full keys). */
    readonly edit: (config: Record<string, Any>) => void;
    /**
     * Edits the committed config for the revert, when the committed config alone cannot undo the change (an immutable
     * field needs allowStatefulSetRecreate back as well). Default: the committed config.
     */
    readonly revert?: (config: Record<string, Any>) => void;
    readonly expect: Outcome;
}

const apps = (c: Record<string, Any>): Any[] => c[`${PROJECT}:apps`];
const app = (c: Record<string, Any>, name: string): Any => apps(c).find((a) => a.name === name);
const visits = (c: Record<string, Any>) => app(c, "visits");
const litecoin = (c: Record<string, Any>) => app(c, "litecoin");
const datastore = (c: Record<string, Any>) => app(c, "datastore");
const key = (k: string) => `${PROJECT}:${k}`;

/** A PriorityClass tests/e2e/changes.e2e.ts creates in its cluster before the matrix runs. */
export const PRIORITY_CLASS = "stateful-apps-matrix";

const applies = (pods: Pods, extra: Partial<Extract<Outcome, { verdict: "applies" }>> = {}): Outcome => ({ verdict: "applies", pods, data: "kept", ...extra });

/** The matrix. Order matters only for speed: each entry starts from, and returns to, the committed config. */
export const CHANGES: readonly ChangeCase[] = [
    // ---- the pod template: a rolling update, PVCs kept -------------------------------------------------------------
    {
        id: "image",
        key: "apps[].image",
        change: "image tag (native)",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).image.tag = "3.13.2-alpine3.21"),
        expect: applies("roll"),
    },
    {
        id: "image-helm",
        key: "apps[].image",
        change: "image tag (Helm)",
        upDoes: "helm upgrade, rolling update",
        app: "litecoin",
        edit: (c) => (litecoin(c).image.tag = "0.21.2.1"),
        expect: applies("roll"),
    },
    {
        id: "command",
        key: "apps[].command",
        change: "command",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).command = ["python", "-u", "/etc/app/server.py"]),
        expect: applies("roll"),
    },
    {
        id: "args-helm",
        key: "apps[].args",
        change: "args (Helm)",
        upDoes: "helm upgrade, rolling update",
        app: "litecoin",
        edit: (c) => litecoin(c).args.push("-maxconnections=16"),
        expect: applies("roll"),
    },
    {
        id: "port",
        key: "apps[].port",
        change: "container port 8080 → 8081",
        upDoes: "Services and pods updated, rolling update",
        app: "visits",
        edit: (c) => (visits(c).port = 8081),
        expect: applies("roll"),
    },
    {
        id: "port-name",
        key: "apps[].portName",
        change: "port name",
        upDoes: "Services and pods updated, rolling update",
        app: "visits",
        edit: (c) => (visits(c).portName = "web"),
        expect: applies("roll"),
    },
    {
        id: "grace",
        key: "apps[].terminationGracePeriodSeconds",
        change: "terminationGracePeriodSeconds",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).terminationGracePeriodSeconds = 45),
        expect: applies("roll"),
    },
    {
        id: "prestop",
        key: "apps[].preStopSleepSeconds",
        change: "preStopSleepSeconds",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).preStopSleepSeconds = 2),
        expect: applies("roll"),
    },
    {
        id: "resources",
        key: "apps[].resources",
        change: "memory limit",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).resources.limits.memory = "192Mi"),
        expect: applies("roll"),
    },
    {
        id: "resources-helm",
        key: "apps[].resources",
        change: "memory limit (Helm)",
        upDoes: "helm upgrade, rolling update",
        app: "litecoin",
        edit: (c) => (litecoin(c).resources.limits.memory = "768Mi"),
        expect: applies("roll"),
    },
    {
        id: "probes",
        key: "apps[].probes",
        change: "readiness period",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).probes.readiness.periodSeconds = 7),
        expect: applies("roll"),
    },
    {
        id: "spread",
        key: "apps[].topologySpread",
        change: "hostname spread off",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).topologySpread.hostname = "None"),
        expect: applies("roll"),
    },
    {
        id: "security",
        key: "apps[].securityContext",
        change: "runAsUser 1001",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).securityContext = { runAsUser: 1001 }),
        expect: applies("roll"),
    },
    {
        id: "env",
        key: "apps[].env",
        change: "an env value",
        upDoes: "ConfigMap updated in place, rolling update (checksum/config)",
        app: "visits",
        edit: (c) => (visits(c).env.LOG_LEVEL = "info"),
        expect: applies("roll"),
    },
    {
        id: "env-helm",
        key: "apps[].env",
        change: "an env value (Helm)",
        upDoes: "helm upgrade, rolling update",
        app: "litecoin",
        edit: (c) => (litecoin(c).env = { EXTRA: "1" }),
        expect: applies("roll"),
    },
    {
        id: "files",
        key: "apps[].configFiles",
        change: "a config file",
        upDoes: "ConfigMap updated in place, rolling update (checksum/config)",
        app: "visits",
        edit: (c) => (visits(c).configFiles["config.json"].greeting = "Hello from the change matrix"),
        expect: applies("roll"),
    },
    {
        id: "mount-path",
        key: "apps[].configMountPath",
        change: "configMountPath",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).configMountPath = "/etc/visits"),
        expect: applies("roll"),
    },
    {
        id: "rotation",
        key: "apps[].secret",
        change: "secret.rotation 0 → 1",
        upDoes: "new password, Secret updated, rolling update (checksum/secret)",
        app: "visits",
        edit: (c) => (visits(c).secret.rotation = 1),
        expect: applies("roll"),
    },
    {
        id: "metrics",
        key: "apps[].metrics",
        change: "metrics sidecar removed",
        upDoes: "mtail ConfigMap deleted, rolling update",
        app: "visits",
        edit: (c) => delete visits(c).metrics,
        expect: applies("roll"),
    },
    {
        id: "monitoring-operator",
        key: "monitoring.prometheusOperator",
        change: "Prometheus Operator on",
        upDoes: "ServiceMonitors and PrometheusRules replace the rules ConfigMaps; scrape annotations leave the pods (rolling update)",
        app: "visits",
        edit: (c) => (c[key("monitoring")].prometheusOperator = true),
        expect: applies("roll"),
    },

    {
        id: "priority",
        key: "apps[].priorityClassName",
        change: "a PriorityClass the cluster has",
        upDoes: "rolling update",
        app: "visits",
        edit: (c) => (visits(c).priorityClassName = PRIORITY_CLASS),
        expect: applies("roll"),
    },
    {
        id: "priority-helm",
        key: "apps[].priorityClassName",
        change: "a PriorityClass the cluster has (Helm)",
        upDoes: "helm upgrade, rolling update",
        app: "litecoin",
        edit: (c) => (litecoin(c).priorityClassName = PRIORITY_CLASS),
        expect: applies("roll"),
    },
    {
        id: "priority-missing",
        key: "apps[].priorityClassName",
        change: "a PriorityClass the cluster lacks",
        upDoes: "refused (the API server would refuse every pod)",
        app: "visits",
        edit: (c) => (visits(c).priorityClassName = "no-such-class"),
        expect: { verdict: "refused", key: "stateful-apps:apps[0].priorityClassName", message: "names a PriorityClass the cluster does not have" },
    },

    // ---- the StatefulSet or other objects only: pods kept ---------------------------------------------------------
    {
        id: "replicas",
        key: "apps[].replicas",
        change: "replicas 2 → 3",
        upDoes: "scale up; a new PVC and its claim patch",
        app: "visits",
        edit: (c) => (visits(c).replicas = 3),
        expect: applies("added"),
    },
    {
        id: "replicas-down",
        key: "apps[].replicas",
        change: "replicas 2 → 1",
        upDoes: "scale down; the PVC of ordinal 1 kept (whenScaled: Retain)",
        app: "visits",
        edit: (c) => (visits(c).replicas = 1),
        expect: applies("removed"),
    },
    {
        id: "replicas-helm",
        key: "apps[].replicas",
        change: "replicas 1 → 2 (Helm)",
        upDoes: "helm upgrade, scale up",
        app: "litecoin",
        edit: (c) => (litecoin(c).replicas = 2),
        expect: applies("added"),
    },
    {
        id: "peer-env",
        key: "apps[].peerEnv",
        change: "a peer env of every member",
        upDoes: "rolling update (the pod template's env)",
        app: "visits",
        edit: (c) => (visits(c).peerEnv = [{ name: "PEERS", members: "all", format: "{pod}={host}" }]),
        expect: applies("roll"),
    },
    {
        id: "peer-env-helm",
        key: "apps[].peerEnv",
        change: "a peer env of this pod (Helm)",
        upDoes: "helm upgrade, rolling update",
        app: "litecoin",
        edit: (c) => (litecoin(c).peerEnv = [{ name: "SELF", members: "self" }]),
        expect: applies("roll"),
    },
    {
        id: "extra-ports",
        key: "apps[].extraPorts",
        change: "a members' port",
        upDoes: "headless Service updated, rolling update (the container's ports)",
        app: "visits",
        edit: (c) => (visits(c).extraPorts = [{ name: "peer", port: 9000 }]),
        expect: applies("roll"),
    },
    {
        id: "extra-ports-helm",
        key: "apps[].extraPorts",
        change: "a clients' port (Helm)",
        upDoes: "helm upgrade: both Services updated, rolling update",
        app: "litecoin",
        edit: (c) => (litecoin(c).extraPorts = [{ name: "extra", port: 9000, access: "clients" }]),
        expect: applies("roll"),
    },
    {
        id: "membership",
        key: "apps[].membership",
        change: "maxScaleDownStep 1 alone",
        upDoes: "nothing in the cluster (checked at each preview)",
        app: "visits",
        edit: (c) => (visits(c).membership = { maxScaleDownStep: 1 }),
        expect: applies("kept"),
    },
    {
        id: "membership-refused",
        key: "apps[].membership",
        change: "maxScaleUpStep 1, replicas 2 → 4",
        upDoes: "refused",
        app: "visits",
        edit: (c) => {
            visits(c).membership = { maxScaleUpStep: 1 };
            visits(c).replicas = 4;
        },
        expect: { verdict: "refused", key: "stateful-apps:apps[0].replicas", message: "would add 2 members at once" },
    },
    {
        id: "partition",
        key: "apps[].updateStrategy",
        change: "partition 1 (a canary, no template change)",
        upDoes: "StatefulSet updated, not awaited (partitioned)",
        app: "visits",
        edit: (c) => (visits(c).updateStrategy = { type: "RollingUpdate", partition: 1 }),
        expect: applies("kept"),
    },
    {
        id: "on-delete",
        key: "apps[].updateStrategy",
        change: "OnDelete",
        upDoes: "StatefulSet updated",
        app: "visits",
        edit: (c) => (visits(c).updateStrategy = { type: "OnDelete" }),
        expect: applies("kept"),
    },
    {
        id: "min-ready",
        key: "apps[].minReadySeconds",
        change: "minReadySeconds 5",
        upDoes: "StatefulSet updated",
        app: "visits",
        edit: (c) => (visits(c).minReadySeconds = 5),
        expect: applies("kept"),
    },
    {
        id: "service-type",
        key: "apps[].service",
        change: "client Service NodePort",
        upDoes: "Service updated",
        app: "visits",
        edit: (c) => (visits(c).service = { type: "NodePort" }),
        expect: applies("kept"),
    },
    {
        id: "service-port-helm",
        key: "apps[].service",
        change: "client Service port (Helm)",
        upDoes: "helm upgrade, Service updated",
        app: "litecoin",
        edit: (c) => (litecoin(c).service = { port: 9444 }),
        expect: applies("kept"),
    },
    {
        id: "retention",
        key: "apps[].pvcRetention",
        change: "whenDeleted Delete → Retain",
        upDoes: "StatefulSet updated; the controller releases its PVCs",
        app: "visits",
        edit: (c) => (visits(c).pvcRetention.whenDeleted = "Retain"),
        expect: applies("kept"),
    },
    {
        id: "pdb",
        key: "apps[].pdb",
        change: "PDB minAvailable 1",
        upDoes: "PodDisruptionBudget updated",
        app: "visits",
        edit: (c) => (visits(c).pdb = { minAvailable: 1 }),
        expect: applies("kept"),
    },
    {
        id: "netpol",
        key: "apps[].networkPolicy",
        change: "NetworkPolicy on, with monitoring.scrapeFrom (visits has metrics: its policy opens the metrics port to that peer only)",
        upDoes: "NetworkPolicy created",
        app: "visits",
        edit: (c) => {
            visits(c).networkPolicy = { enabled: true };
            c[key("monitoring")].scrapeFrom = [{ namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" } }];
        },
        expect: applies("kept"),
    },
    {
        id: "data-load",
        key: "apps[].dataLoad",
        change: "data-load command",
        upDoes: "a new Job (its name carries a hash of its spec), the old one deleted",
        app: "datastore",
        edit: (c) => datastore(c).dataLoad.command.push("--connect-timeout=20"),
        expect: applies("kept"),
    },
    {
        id: "helm-timeout",
        key: "apps[].helm",
        change: "Helm timeout",
        upDoes: "the release's timeout only",
        app: "litecoin",
        edit: (c) => (litecoin(c).helm.timeoutSeconds = 400),
        expect: applies("kept"),
    },
    {
        id: "recover-off",
        key: "apps[].recoverStuckRollout",
        change: "recoverStuckRollout off",
        upDoes: "nothing (a setting of the program's watcher)",
        app: "visits",
        edit: (c) => (visits(c).recoverStuckRollout = false),
        expect: applies("kept"),
    },
    {
        id: "alert-rules",
        key: "monitoring.alertRules",
        change: "alert rules off",
        upDoes: "rules ConfigMaps deleted",
        app: "visits",
        edit: (c) => (c[key("monitoring")].alertRules = false),
        expect: applies("kept"),
    },
    {
        id: "pod-security",
        key: "namespace.podSecurity",
        change: "baseline",
        upDoes: "Namespace labels updated",
        app: "visits",
        edit: (c) => (c[key("namespace")].podSecurity = "baseline"),
        expect: applies("kept"),
    },
    {
        id: "environment",
        key: "environment",
        change: "dev → staging",
        upDoes: "Namespace label updated",
        app: "visits",
        edit: (c) => (c[key("environment")] = "staging"),
        expect: applies("kept"),
    },
    {
        id: "cluster-domain",
        key: "clusterDomain",
        change: "another cluster domain",
        upDoes: "stack outputs; pods of apps with peerEnv roll (their members' names)",
        app: "visits",
        edit: (c) => (c[key("clusterDomain")] = "cluster.example"),
        expect: applies("kept"),
    },
    {
        id: "zones",
        key: "zones",
        change: "zones declared",
        upDoes: "nothing (checked against the spread settings)",
        app: "visits",
        edit: (c) => (c[key("zones")] = ["zone-a", "zone-b", "zone-c"]),
        expect: applies("kept"),
    },
    {
        id: "load-balancer",
        key: "allowLoadBalancer",
        change: "allowLoadBalancer on",
        upDoes: "nothing (a guard)",
        app: "visits",
        edit: (c) => (c[key("allowLoadBalancer")] = true),
        expect: applies("kept"),
    },
    {
        id: "protect",
        key: "protect",
        change: "protect on",
        upDoes: "protect and retainOnDelete in the state; nothing in the cluster",
        app: "visits",
        edit: (c) => (c[key("protect")] = true),
        expect: applies("kept"),
    },

    // ---- immutable fields ----------------------------------------------------------------------------------------
    {
        id: "policy",
        key: "apps[].podManagementPolicy",
        change: "podManagementPolicy Parallel → OrderedReady",
        upDoes: "nothing: immutable; preview says how to apply it",
        app: "visits",
        edit: (c) => (visits(c).podManagementPolicy = "OrderedReady"),
        expect: { verdict: "warns", warn: "podManagementPolicy is OrderedReady, but the live StatefulSet visits has Parallel" },
    },
    {
        id: "policy-recreate",
        key: "apps[].allowStatefulSetRecreate",
        change: "podManagementPolicy with allowStatefulSetRecreate",
        upDoes: "two ups: mark, then an orphaning recreate over the same pods and PVCs",
        app: "visits",
        edit: (c) => Object.assign(visits(c), { podManagementPolicy: "OrderedReady", allowStatefulSetRecreate: true }),
        revert: (c) => (visits(c).allowStatefulSetRecreate = true),
        expect: applies("kept", { statefulSet: "new", ups: 2, warn: "this up marks the StatefulSet visits for an orphaning delete" }),
    },
    {
        id: "storage-grow",
        key: "apps[].storage",
        change: "storage.size up, class without expansion",
        upDoes: "refused",
        app: "visits",
        edit: (c) => (visits(c).storage.size = "512Mi"),
        expect: { verdict: "refused", key: "stateful-apps:apps[0].storage.size", message: "would grow PVCs that cannot be expanded" },
    },
    {
        id: "storage-shrink",
        key: "apps[].storage",
        change: "storage.size down",
        upDoes: "refused",
        app: "visits",
        edit: (c) => (visits(c).storage.size = "128Mi"),
        expect: { verdict: "refused", key: "stateful-apps:apps[0].storage.size", message: "is smaller than the live PVC" },
    },
    {
        id: "storage-class",
        key: "apps[].storage",
        change: "another storageClass",
        upDoes: "refused",
        app: "visits",
        edit: (c) => (visits(c).storage.storageClass = "fast"),
        expect: { verdict: "refused", key: "stateful-apps:apps[0].storage.storageClass", message: "a PersistentVolumeClaim's class cannot change" },
    },
    {
        id: "access-modes",
        key: "apps[].storage",
        change: "other accessModes",
        upDoes: "refused",
        app: "visits",
        edit: (c) => (visits(c).storage.accessModes = ["ReadWriteOncePod"]),
        expect: { verdict: "refused", key: "stateful-apps:apps[0].storage.accessModes", message: "access modes cannot change" },
    },
    {
        id: "recreate-helm",
        key: "apps[].allowStatefulSetRecreate",
        change: "allowStatefulSetRecreate on a Helm app",
        upDoes: "refused",
        app: "litecoin",
        edit: (c) => (litecoin(c).allowStatefulSetRecreate = true),
        expect: { verdict: "refused", key: "stateful-apps:apps[1].allowStatefulSetRecreate", message: "works for deployWith: native only" },
    },

    // ---- apps leaving: removed, renamed, moved, switched ------------------------------------------------------------
    {
        id: "rename",
        key: "apps[].name",
        change: "rename visits → visits2",
        upDoes: "refused: would delete visits and its PVCs",
        app: "visits",
        edit: (c) => (visits(c).name = "visits2"),
        expect: { verdict: "refused", key: "stateful-apps:apps", message: "no longer lists visits, which this stack has deployed" },
    },
    {
        id: "remove",
        key: "apps",
        change: "remove datastore",
        upDoes: "refused: would delete data-datastore-0",
        app: "datastore",
        edit: (c) => (c[key("apps")] = apps(c).filter((a) => a.name !== "datastore")),
        expect: { verdict: "refused", key: "stateful-apps:apps", message: "and with it PVCs data-datastore-0 (1Gi) (whenDeleted: Delete)" },
    },
    {
        id: "remove-allowed",
        key: "removedApps",
        change: "remove datastore, removedApps data: delete",
        upDoes: "deletes datastore and its PVC, as the config says",
        app: "datastore",
        edit: (c) => {
            c[key("apps")] = apps(c).filter((a) => a.name !== "datastore");
            c[key("removedApps")] = [{ name: "datastore", data: "delete" }];
        },
        expect: {
            verdict: "applies",
            pods: "removed",
            data: "deleted as removedApps says",
            warn: "this up deletes datastore (StatefulSet stateful-dev/datastore, native) and with it PVCs data-datastore-0 (1Gi)",
        },
    },
    {
        id: "remove-protected",
        key: "protect",
        change: "protect on, remove datastore with removedApps",
        upDoes: "refused at preview (the engine would stop half-way on the protected objects)",
        app: "datastore",
        edit: (c) => {
            c[key("protect")] = true;
            c[key("apps")] = apps(c).filter((a) => a.name !== "datastore");
            c[key("removedApps")] = [{ name: "datastore", data: "delete" }];
        },
        expect: { verdict: "refused", key: "stateful-apps:protect", message: "the engine would refuse to delete them half-way through the up" },
    },
    {
        id: "namespace",
        key: "namespace.name",
        change: "another namespace",
        upDoes: "refused: would delete every app and its PVCs in the old namespace",
        app: "visits",
        edit: (c) => (c[key("namespace")].name = "stateful-dev-b"),
        expect: { verdict: "refused", key: "stateful-apps:namespace.name", message: "moves visits from namespace stateful-dev to stateful-dev-b" },
    },
    {
        id: "to-helm",
        key: "apps[].deployWith",
        change: "native → helm",
        upDoes: "refused, with the three-step recipe",
        app: "visits",
        edit: (c) => (visits(c).deployWith = "helm"),
        expect: { verdict: "refused", key: "stateful-apps:apps[0].deployWith", message: "is helm, but visits is deployed with native" },
    },
    {
        id: "to-native",
        key: "apps[].deployWith",
        change: "helm → native",
        upDoes: "refused, with the three-step recipe",
        app: "litecoin",
        edit: (c) => (litecoin(c).deployWith = "native"),
        expect: { verdict: "refused", key: "stateful-apps:apps[1].deployWith", message: "is native, but litecoin is deployed with helm" },
    },
];

/** Markers around the generated table in docs/CHANGES.md. */
export const CHANGES_BEGIN = "<!-- change-matrix:begin (generated from tests/e2e/change-matrix.ts by `npm run docs:changes`) -->";
export const CHANGES_END = "<!-- change-matrix:end -->";

/** The table of docs/CHANGES.md: change, what `up` does, pods, data, the test that proves it. */
export function changesTable(): string {
    const cell = (s: string) => s.replace(/\|/g, "\\|");
    const rows = CHANGES.map((c) => {
        const e = c.expect;
        const verdict =
            e.verdict === "refused"
                ? `refused at preview, naming \`${e.key}\``
                : e.verdict === "warns"
                  ? "warns at preview"
                  : e.warn
                    ? "applies; preview says it in words"
                    : "applies";
        const pods =
            e.verdict === "applies"
                ? { roll: "roll", kept: "kept", added: "one added", removed: "removed" }[e.pods] +
                  (e.statefulSet === "new" ? " (new StatefulSet adopts them)" : "")
                : "kept";
        const data = e.verdict === "applies" && e.data !== "kept" ? "**deleted**, as `removedApps` says" : "kept";
        return `| \`${c.key}\` | ${cell(c.change)} (${c.app}) | ${verdict} | ${cell(c.upDoes)} | ${pods} | ${data} | \`${c.id}\` |`;
    });
    return ["| Key | Change | Verdict | `up` does | Pods | PVCs | Test (changes.e2e.ts) |", "| --- | --- | --- | --- | --- | --- | --- |", ...rows].join("\n");
}

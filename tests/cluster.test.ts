/**
 * The local test cluster (scripts/cluster, docs/LOCAL-CLUSTER.md): a real kube-apiserver, controller-manager and
 * scheduler whose nodes are faked by kwok. Starts its own cluster (CLUSTER_NAME=stateful-apps-test, so a
 * developer's `stateful-apps` cluster is never touched), proves what e2e tests will rely on — zones, the default
 * StorageClass binding PVCs, `kubectl rollout status` of a StatefulSet, Jobs completing, Pod Security admission —
 * and deletes the cluster again.
 *
 * Opt-in: runs only with STATEFUL_APPS_CLUSTER=1 (~20 s with the binaries cached; the first run builds them
 * from Go modules, 10-20 min on 2 cores).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CLUSTER_TESTS_ENABLED, LocalCluster } from "./cluster";
import { ROOT } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const cluster = new LocalCluster("stateful-apps-test");
const NS = "cluster-test";

function pinned(key: string): string {
    const m = fs.readFileSync(path.join(ROOT, "scripts", "control-plane.env"), "utf8").match(new RegExp(`^${key}=(\\S+)$`, "m"));
    assert.ok(m, `${key} missing from scripts/control-plane.env`);
    return m[1];
}

const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
const getJson = (args: string[]) => cluster.getJson(args);

const RESTRICTED_POD = {
    securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
    container: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
};

const MANIFEST = [
    {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: NS, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    },
    {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web-headless", namespace: NS },
        spec: { clusterIP: "None", selector: { app: "web" }, ports: [{ name: "http", port: 8080 }] },
    },
    {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "web", namespace: NS },
        spec: {
            serviceName: "web-headless",
            replicas: 3,
            selector: { matchLabels: { app: "web" } },
            template: {
                metadata: { labels: { app: "web" } },
                spec: {
                    securityContext: RESTRICTED_POD.securityContext,
                    topologySpreadConstraints: [
                        {
                            maxSkew: 1,
                            topologyKey: "topology.kubernetes.io/zone",
                            whenUnsatisfiable: "DoNotSchedule",
                            labelSelector: { matchLabels: { app: "web" } },
                        },
                    ],
                    containers: [
                        {
                            name: "web",
                            image: "registry.invalid/never-pulled:1",
                            ports: [{ name: "http", containerPort: 8080 }],
                            readinessProbe: { httpGet: { path: "/", port: "http" } },
                            securityContext: RESTRICTED_POD.container,
                            volumeMounts: [{ name: "data", mountPath: "/data" }],
                        },
                    ],
                },
            },
            volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
        },
    },
    {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "once", namespace: NS },
        spec: {
            backoffLimit: 0,
            template: {
                spec: {
                    restartPolicy: "Never",
                    securityContext: RESTRICTED_POD.securityContext,
                    containers: [{ name: "once", image: "registry.invalid/never-pulled:1", securityContext: RESTRICTED_POD.container }],
                },
            },
        },
    },
];

describe("local cluster: scripts/cluster with kwok (opt-in: STATEFUL_APPS_CLUSTER=1)", function () {
    before(function () {
        if (!CLUSTER_TESTS_ENABLED) {
            console.warn(
                "\n    ************************************************************************************\n" +
                    "    * SKIPPED: the local-cluster tests start a Kubernetes control plane (kwok).        *\n" +
                    "    * Run them with STATEFUL_APPS_CLUSTER=1 npm run test:unit (or npx mocha            *\n" +
                    "    * tests/cluster.test.ts). First run builds the binaries: 10-20 min on 2 cores.     *\n" +
                    "    ************************************************************************************\n",
            );
            this.skip();
        }
        // A cold cache builds every binary first.
        this.timeout(45 * 60 * 1000);
        // Start from scratch: a run that was killed may have left the test cluster behind, with objects in it.
        cluster.up(3);
    });

    after(function () {
        if (!CLUSTER_TESTS_ENABLED) {
            return;
        }
        this.timeout(120 * 1000);
        cluster.down();
    });

    it("runs the pinned Kubernetes version, client and server", () => {
        const v = JSON.parse(kubectl(["version", "-o", "json"]));
        assert.strictEqual(v.serverVersion.gitVersion, pinned("CLUSTER_KUBE_VERSION"));
        assert.strictEqual(v.clientVersion.gitVersion, pinned("CLUSTER_KUBE_VERSION"));
    });

    it("has 3 Ready fake nodes, one per zone, and a default StorageClass", () => {
        const nodes = getJson(["nodes"]).items;
        assert.strictEqual(nodes.length, 3);
        const zones = nodes.map((n: Any) => n.metadata.labels["topology.kubernetes.io/zone"]).sort();
        assert.deepStrictEqual(zones, ["zone-a", "zone-b", "zone-c"]);
        for (const n of nodes) {
            const ready = n.status.conditions.find((c: Any) => c.type === "Ready");
            assert.strictEqual(ready?.status, "True", `node ${n.metadata.name} is not Ready`);
        }
        const classes = getJson(["storageclass"]).items;
        const defaults = classes.filter((c: Any) => c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true");
        assert.deepStrictEqual(
            defaults.map((c: Any) => c.metadata.name),
            ["standard"],
        );
    });

    it("rolls out a StatefulSet: Ready pods spread over the zones, a Bound PVC each, headless endpoints", function () {
        this.timeout(120 * 1000);
        kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: MANIFEST }));
        kubectl(["rollout", "status", "statefulset/web", "-n", NS, "--timeout=90s"]);

        const pods = getJson(["pods", "-n", NS, "-l", "app=web"]).items;
        assert.strictEqual(pods.length, 3);
        const nodes = getJson(["nodes"]).items;
        const zoneOf = new Map(nodes.map((n: Any) => [n.metadata.name, n.metadata.labels["topology.kubernetes.io/zone"]]));
        assert.deepStrictEqual(pods.map((p: Any) => zoneOf.get(p.spec.nodeName)).sort(), ["zone-a", "zone-b", "zone-c"]);
        for (const p of pods) {
            assert.ok(p.status.podIP, `pod ${p.metadata.name} has no IP`);
        }

        const pvcs = getJson(["pvc", "-n", NS]).items;
        assert.deepStrictEqual(pvcs.map((c: Any) => c.metadata.name).sort(), ["data-web-0", "data-web-1", "data-web-2"]);
        for (const c of pvcs) {
            assert.strictEqual(c.status.phase, "Bound", `${c.metadata.name} is ${c.status.phase}`);
            assert.strictEqual(c.spec.storageClassName, "standard");
        }

        const slices = getJson(["endpointslices", "-n", NS, "-l", "kubernetes.io/service-name=web-headless"]).items;
        const ready = slices.flatMap((s: Any) => s.endpoints ?? []).filter((e: Any) => e.conditions?.ready);
        assert.deepStrictEqual(ready.map((e: Any) => e.hostname).sort(), ["web-0", "web-1", "web-2"]);
    });

    it("runs a Job to Complete (kwok marks Job pods Succeeded)", function () {
        this.timeout(90 * 1000);
        kubectl(["wait", "--for=condition=Complete", "job/once", "-n", NS, "--timeout=60s"]);
    });

    it("enforces the restricted Pod Security Standard (admission is on)", () => {
        const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "privileged", namespace: NS },
            spec: { containers: [{ name: "c", image: "x", securityContext: { privileged: true } }] },
        };
        const r = cluster.kubectlResult(["apply", "-f", "-"], JSON.stringify(pod));
        assert.notStrictEqual(r.status, 0, "a privileged pod was admitted into a restricted namespace");
        assert.match(r.stderr, /violates PodSecurity "restricted/);
    });

    it("deletes each PV with its claim (reclaimPolicy Delete)", function () {
        this.timeout(90 * 1000);
        const pvs = getJson(["pv"]).items.filter((v: Any) => v.spec.claimRef?.namespace === NS);
        assert.strictEqual(pvs.length, 3);
        for (const v of pvs) {
            assert.strictEqual(v.spec.persistentVolumeReclaimPolicy, "Delete");
            assert.ok(v.spec.hostPath?.path.startsWith("/tmp/hostpath_pv/"), `${v.metadata.name}: ${JSON.stringify(v.spec)}`);
        }
        kubectl(["delete", "statefulset/web", "-n", NS, "--wait=true", "--timeout=60s"]);
        kubectl(["delete", "pvc", "--all", "-n", NS, "--wait=true", "--timeout=60s"]);
        kubectl(["wait", "--for=delete", ...pvs.map((v: Any) => `pv/${v.metadata.name}`), "--timeout=30s"]);
        for (const v of pvs) {
            assert.ok(!fs.existsSync(v.spec.hostPath.path), `${v.spec.hostPath.path} was not removed`);
        }
    });
});

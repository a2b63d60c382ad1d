/**
 * The program's objects on a real API server: the local kwok-backed cluster (scripts/cluster; a real
 * kube-apiserver v1.34 with Pod Security admission, controller-manager and scheduler; kwok fakes the nodes).
 *
 * For each stack, every Kubernetes object `index.ts` registers under Pulumi mocks is applied with
 * `kubectl apply --server-side` (Namespace first), then: each StatefulSet rolls out to Ready, every PVC is Bound,
 * the data-load Job completes, a second apply changes nothing (`kubectl diff`), and the Helm
 * workload of each stack is installed as a real Helm release of the bundled chart with `helm install --wait` (hook Jobs
 * included), using the values `helmValues()` computes, and the release Helm stores is searched for the password.
 *
 * What this proves: the API server accepts every object as the program builds it (schema, defaulting, the
 * restricted Pod Security admission of the namespace), the controllers make the StatefulSets, PVCs and Jobs
 * reach their goal states, and the chart installs. What it does not prove: Pulumi's own behaviour (the e2e suite,
 * tests/e2e, runs the real engine), nor the apps themselves: kwok marks pods Ready and Job pods Succeeded without
 * running any container, pulls no image, and routes no traffic. The operator's ServiceMonitor and PrometheusRule
 * objects are left out here (the e2e suite creates them on the CRDs).
 *
 * Opt-in like tests/cluster.test.ts: STATEFUL_APPS_CLUSTER=1 (.ci/run sets it).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { CHART_PATH } from "../components/helm-stateful-app";
import { helmValues } from "../lib/helm-values";
import { CLUSTER_TESTS_ENABLED, LocalCluster } from "./cluster";
import { runProgram, stackFileConfig } from "./harness";
import { HELM, stackConfig } from "./helm";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const cluster = new LocalCluster("stateful-apps-e2e");
const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);

/**
 * The Kubernetes objects the program registers for a stack (not releases, not operator CRs), and apart from them its
 * server-side apply patches (the claim patches: they apply to PVCs the StatefulSet controller makes).
 */
async function programObjects(stack: string): Promise<{ objects: Any[]; patches: Any[] }> {
    const program = await runProgram(stackFileConfig(stack), { stack });
    const k8s = program.registrations.filter(
        (r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && !r.type.startsWith("kubernetes:monitoring.coreos.com/"),
    );
    const isPatch = (r: { type: string }) => r.type.endsWith("Patch");
    return { objects: k8s.filter((r) => !isPatch(r)).map((r) => r.inputs), patches: k8s.filter(isPatch).map((r) => ({ type: r.type, inputs: r.inputs })) };
}

const list = (items: Any[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });

describe("the program's objects on a real API server (opt-in: STATEFUL_APPS_CLUSTER=1)", function () {
    before(function () {
        if (!CLUSTER_TESTS_ENABLED) {
            console.warn("\n    SKIPPED: set STATEFUL_APPS_CLUSTER=1 to apply the program's objects to the local kwok cluster.\n");
            this.skip();
        }
        this.timeout(45 * 60 * 1000);
        cluster.up(3);
    });

    after(function () {
        if (CLUSTER_TESTS_ENABLED) {
            this.timeout(120 * 1000);
            cluster.down();
        }
    });

    for (const stack of ["dev", "prod"]) {
        describe(`${stack} stack`, () => {
            let objects: Any[] = [];
            let patches: Any[] = [];
            let namespace = "";

            before(async function () {
                this.timeout(60 * 1000);
                ({ objects, patches } = await programObjects(stack));
                namespace = stackConfig(stack).namespace.name;
            });

            it("the API server admits every object (restricted Pod Security included)", function () {
                this.timeout(60 * 1000);
                const [ns, ...rest] = [...objects.filter((o) => o.kind === "Namespace"), ...objects.filter((o) => o.kind !== "Namespace")];
                assert.strictEqual(ns.kind, "Namespace");
                kubectl(["apply", "--server-side", "--field-manager=e2e", "-f", "-"], list([ns]));
                const labels = JSON.parse(kubectl(["get", "namespace", namespace, "-o", "json"])).metadata.labels;
                assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "restricted");
                const out = kubectl(["apply", "--server-side", "--field-manager=e2e", "-f", "-"], list(rest));
                assert.strictEqual(out.trim().split("\n").length, rest.length, out);
            });

            it("every StatefulSet rolls out to Ready, with a Bound PVC per replica", function () {
                this.timeout(5 * 60 * 1000);
                const sets = objects.filter((o) => o.kind === "StatefulSet");
                assert.ok(sets.length >= 2);
                for (const sts of sets) {
                    kubectl(["rollout", "status", `statefulset/${sts.metadata.name}`, "-n", namespace, "--timeout=180s"]);
                    const status = JSON.parse(kubectl(["get", "statefulset", sts.metadata.name, "-n", namespace, "-o", "json"])).status;
                    assert.strictEqual(status.readyReplicas ?? 0, sts.spec.replicas);
                }
                const pvcs = JSON.parse(kubectl(["get", "pvc", "-n", namespace, "-o", "json"])).items;
                const expected = sets.flatMap((s) => Array.from({ length: s.spec.replicas }, (_, i) => `data-${s.metadata.name}-${i}`)).sort();
                assert.deepStrictEqual(pvcs.map((c: Any) => c.metadata.name).sort(), expected);
                for (const c of pvcs) {
                    assert.strictEqual(c.status.phase, "Bound", `${c.metadata.name} is ${c.status.phase}`);
                }
            });

            it("the claim patches of the native apps apply to the PVCs the controller made, changing no spec", function () {
                this.timeout(60 * 1000);
                const native = new Set(objects.filter((o) => o.kind === "StatefulSet").map((o) => o.metadata.name));
                const mine = patches.filter((p) => native.has(p.inputs.metadata.name.replace(/^data-(.*)-\d+$/, "$1")));
                assert.ok(mine.length >= 2, JSON.stringify(patches.map((p) => p.inputs.metadata.name)));
                const spec = (name: string) => JSON.parse(kubectl(["get", "pvc", name, "-n", namespace, "-o", "json"])).spec;
                const before = mine.map((p) => spec(p.inputs.metadata.name));
                const asPvc = mine.map((p) => ({
                    apiVersion: "v1",
                    kind: "PersistentVolumeClaim",
                    ...p.inputs,
                    metadata: { ...p.inputs.metadata, namespace },
                }));
                // As the provider applies a patch with pulumi.com/patchForce: server-side, taking the fields it names.
                kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=e2e-claim-patch", "-f", "-"], list(asPvc));
                assert.deepStrictEqual(
                    mine.map((p) => spec(p.inputs.metadata.name)),
                    before,
                );
            });

            it("the pods carry the mtail native sidecar where configured, and spread as configured", () => {
                const pods = JSON.parse(kubectl(["get", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=visits", "-o", "json"])).items;
                assert.ok(pods.length >= 1);
                for (const p of pods) {
                    assert.deepStrictEqual(
                        p.spec.initContainers.map((c: Any) => [c.name, c.restartPolicy ?? null]),
                        [
                            ["log-init", null],
                            ["mtail", "Always"],
                        ],
                    );
                }
                if (stack === "prod") {
                    const nodes = JSON.parse(kubectl(["get", "nodes", "-o", "json"])).items;
                    const zoneOf = new Map(nodes.map((n: Any) => [n.metadata.name, n.metadata.labels["topology.kubernetes.io/zone"]]));
                    assert.deepStrictEqual(
                        pods.map((p: Any) => zoneOf.get(p.spec.nodeName)).sort(),
                        ["zone-a", "zone-b", "zone-c"],
                        "zone DoNotSchedule, minDomains 3",
                    );
                }
            });

            it("the data-load Job completes", function () {
                this.timeout(3 * 60 * 1000);
                const job = objects.find((o) => o.kind === "Job");
                assert.ok(job);
                kubectl(["wait", "--for=condition=Complete", `job/${job.metadata.name}`, "-n", namespace, "--timeout=120s"]);
            });

            it("applying the same objects again changes nothing (kubectl diff is empty)", function () {
                this.timeout(60 * 1000);
                const r = cluster.kubectlResult(["diff", "--server-side", "--field-manager=e2e", "-f", "-"], list(objects));
                assert.strictEqual(r.status, 0, `drift after a re-apply:\n${r.stdout}${r.stderr}`);
            });

            it("the Helm workload installs as a Helm release of the bundled chart (helm install --wait, hooks run)", function () {
                this.timeout(5 * 60 * 1000);
                const cfg = stackConfig(stack);
                const app = cfg.apps.find((a) => a.deployWith === "helm");
                assert.ok(app);
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "release-"));
                try {
                    const values = path.join(dir, "values.json");
                    fs.writeFileSync(values, JSON.stringify(helmValues(app, "0".repeat(64), { scrapeAnnotations: !cfg.monitoring.prometheusOperator })));
                    const r = cluster.run(HELM, [
                        "install",
                        app.name,
                        CHART_PATH,
                        "--kubeconfig",
                        cluster.kubeconfig,
                        "--namespace",
                        cfg.namespace.name,
                        "-f",
                        values,
                        "--wait",
                        "--wait-for-jobs",
                        "--timeout",
                        "180s",
                    ]);
                    if (r.status !== 0) {
                        const state = cluster.kubectlResult(["get", "pods,jobs,pvc,statefulsets", "-n", cfg.namespace.name, "-o", "wide"]).stdout;
                        const events = cluster.kubectlResult(["get", "events", "-n", cfg.namespace.name, "--sort-by=.lastTimestamp"]).stdout;
                        assert.fail(
                            `helm install failed:\n${r.stdout}${r.stderr}\n--- objects:\n${state}\n--- events:\n${events.split("\n").slice(-40).join("\n")}`,
                        );
                    }
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
                const sts = JSON.parse(kubectl(["get", "statefulset", app.name, "-n", cfg.namespace.name, "-o", "json"]));
                assert.strictEqual(sts.status.readyReplicas, app.replicas);
                assert.strictEqual(sts.metadata.labels["app.kubernetes.io/managed-by"], "Helm");
                const status = JSON.parse(
                    cluster.run(HELM, ["status", app.name, "--kubeconfig", cluster.kubeconfig, "--namespace", cfg.namespace.name, "-o", "json"]).stdout,
                );
                assert.strictEqual(status.info.status, "deployed");
            });

            it("the release Helm stores holds no plaintext secret (the password lives only in the native Secret)", () => {
                const cfg = stackConfig(stack);
                const app = cfg.apps.find((a) => a.deployWith === "helm");
                assert.ok(app);
                const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === `${app.name}-credentials`);
                const password: string = secret.stringData[app.secret.key];
                assert.ok(password && password.length >= 16, "the Secret the program registers holds the password");
                // Helm v3 stores each revision in a Secret: base64(gzip(JSON of chart, values, manifest)).
                const stored = JSON.parse(kubectl(["get", "secrets", "-n", cfg.namespace.name, "-l", `owner=helm,name=${app.name}`, "-o", "json"])).items;
                assert.ok(stored.length >= 1, "Helm stored the release");
                for (const item of stored) {
                    const release = zlib.gunzipSync(Buffer.from(Buffer.from(item.data.release, "base64").toString("utf8"), "base64")).toString("utf8");
                    assert.ok(release.includes(`"existingSecret":"${app.name}-credentials"`), "decoded the release (it names the Secret)");
                    assert.ok(!release.includes(password), `release ${item.metadata.name} contains the password`);
                }
            });
        });
    }
});

/**
 * The real program (index.ts) under each stack's own config file, with Pulumi mocks: the resource graph,
 * names, selectors, security contexts, PodDisruptionBudgets, secrets, resource options and per-stack differences.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { HELM_IMMUTABLE_VALUE_PATHS } from "../lib/helm-values";
import { allowedDisruptions } from "../lib/pdb";
import { secretChecksum } from "../lib/workload";
import { ProgramRun, Registration, ROOT, runProgram, stackFileConfig, T } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

interface AppView {
    name: string;
    deployWith: "native" | "helm";
    replicas: number;
    metrics: boolean;
    dataLoad: boolean;
}

function appsOf(stack: string): AppView[] {
    return (stackFileConfig(stack)["stateful-apps:apps"] as Any[]).map((a) => ({
        name: a.name,
        deployWith: a.deployWith ?? "native",
        replicas: a.replicas ?? 1,
        metrics: a.metrics !== undefined,
        dataLoad: a.dataLoad !== undefined,
    }));
}

function isSubset(sub: Record<string, string>, sup: Record<string, string>): boolean {
    return Object.entries(sub).every(([k, v]) => sup[k] === v);
}

const runs: Record<string, ProgramRun> = {};

for (const stack of ["dev", "prod"]) {
    describe(`index.ts under Pulumi.${stack}.yaml`, () => {
        let run: ProgramRun;
        const apps = appsOf(stack);
        const native = apps.filter((a) => a.deployWith === "native");
        const helm = apps.filter((a) => a.deployWith === "helm");

        before(async () => {
            run = await runProgram(stackFileConfig(stack), { stack });
            runs[stack] = run;
        });

        it("deploys at least one native and one Helm workload, plus an OrderedReady datastore", () => {
            assert.ok(native.length >= 1 && helm.length >= 1);
            const orderedReady = run.ofType(T.StatefulSet).filter((s) => s.inputs.spec.podManagementPolicy === "OrderedReady");
            assert.ok(orderedReady.some((s) => s.inputs.metadata.name === "datastore"));
        });

        it("registers the expected kinds and counts", () => {
            const count = (t: string) => run.ofType(t).length;
            assert.strictEqual(count(T.Namespace), 1);
            assert.strictEqual(count(T.StatefulWorkload), apps.length);
            assert.strictEqual(count(T.StatefulApp), native.length);
            assert.strictEqual(count(T.HelmStatefulApp), helm.length);
            assert.strictEqual(count(T.StatefulSet), native.length);
            assert.strictEqual(count(T.ServiceAccount), native.length);
            const monitoring = (stackFileConfig(stack)["stateful-apps:monitoring"] ?? {}) as Any;
            const rulesConfigMaps = monitoring.alertRules && !monitoring.prometheusOperator ? apps.length : 0;
            assert.strictEqual(count(T.ConfigMap), native.length * 2 + native.filter((a) => a.metrics).length + rulesConfigMaps);
            assert.strictEqual(count(T.Job), apps.filter((a) => a.dataLoad).length);
            assert.strictEqual(count(T.Service), native.length * 2);
            assert.strictEqual(count(T.Release), helm.length);
            assert.strictEqual(count(T.Secret), apps.length, "one Secret per app, created natively on both paths");
            assert.strictEqual(count(T.RandomPassword), apps.length);
            const pdbs = native.filter((a) => a.replicas > 1).length;
            assert.strictEqual(count(T.PodDisruptionBudget), pdbs);
        });

        it("creates every Kubernetes resource through the one explicit provider of the stack's cluster (kubernetes:context)", () => {
            const providers = run.ofType("pulumi:providers:kubernetes");
            assert.strictEqual(providers.length, 1);
            assert.strictEqual(providers[0].name, "cluster");
            assert.strictEqual(providers[0].inputs.context, stackFileConfig(stack)["kubernetes:context"]);
            assert.strictEqual(providers[0].inputs.enableConfigMapMutable, "true", "ConfigMaps updated in place (pods roll by checksum)");
            assert.strictEqual(providers[0].inputs.clusterIdentifier, providers[0].inputs.context, "replaced only when the stack names another context");
            assert.strictEqual(providers[0].inputs.kubeconfig, "", "not this machine's KUBECONFIG path (the harness sets one)");
            const kube = run.registrations.filter((r) => r.type.startsWith("kubernetes:"));
            assert.ok(kube.length > 10);
            for (const r of kube) assert.ok(r.provider.startsWith(`${providers[0].urn}::`), `${r.type} ${r.name} uses ${r.provider || "the default provider"}`);
        });

        it("one StatefulWorkload per app owns its Secret, its workload, its monitoring and its data-load Job", () => {
            for (const app of apps) {
                const [w] = run.ofType(T.StatefulWorkload).filter((r) => r.name === app.name);
                assert.ok(w, `a StatefulWorkload ${app.name}`);
                assert.strictEqual(w.parent, "", "at the stack's root (the mocks leave the root stack's URN empty)");
                const children = run.registrations.filter((r) => r.parent === w.urn).map((r) => r.type);
                const path = app.deployWith === "helm" ? T.HelmStatefulApp : T.StatefulApp;
                assert.ok(children.includes(T.AppSecret) && children.includes(path), `${app.name}: ${children.join(", ")}`);
                assert.strictEqual(children.includes(T.Job), Boolean(app.dataLoad), `${app.name}: data-load Job under the workload`);
            }
            assert.deepStrictEqual(
                run.registrations
                    .filter((r) => r.type.startsWith("stateful-apps:") && r.type !== T.StatefulWorkload && !run.registrations.some((p) => p.urn === r.parent))
                    .map((r) => r.name),
                [],
                "no component of ours at the stack's root but the StatefulWorkloads",
            );
        });

        it("creates each StatefulSet without waiting for its client Service, and does not await a ClusterIP/NodePort client Service (its endpoints are the StatefulSet's pods)", () => {
            for (const app of native) {
                const sts = run.k8s(T.StatefulSet, app.name);
                const client = run.ofType(T.Service).find((r) => r.inputs.metadata.name === app.name);
                assert.ok(client && !sts.dependsOn.includes(client.urn), `${app.name}: the StatefulSet depends on ${sts.dependsOn.join(", ")}`);
                // Its readiness is the StatefulSet's: the provider's Service await would only add a fixed 10 s settle time.
                assert.strictEqual(
                    client.inputs.metadata.annotations?.["pulumi.com/skipAwait"],
                    client.inputs.spec.type === "LoadBalancer" ? undefined : "true",
                );
            }
        });

        it("aliases each moved resource to its URN before StatefulWorkload existed, so that an up moves it in the state instead of replacing it", () => {
            const spec = (r: Registration) => r.aliases.map((a) => JSON.parse(a).spec ?? {});
            for (const app of apps) {
                const path = run.registrations.find((r) => r.name === app.name && (r.type === T.StatefulApp || r.type === T.HelmStatefulApp));
                assert.ok(path && spec(path).some((a) => a.noparent), `${app.name}: the workload component was at the stack's root`);
                const secret = run.registrations.find((r) => r.type === T.AppSecret && r.name === `${app.name}-secret`);
                const parents = secret ? spec(secret).map((a) => a.parenturn) : [];
                for (const type of [T.StatefulApp, T.HelmStatefulApp]) {
                    assert.ok(parents.includes(`urn:pulumi:${stack}::stateful-apps::${type}::${app.name}`), `${app.name}-secret was under the ${type}`);
                }
                const job = run.registrations.find((r) => r.type === T.Job && r.name === `${app.name}-data-load`);
                if (app.dataLoad) assert.ok(job && spec(job).some((a) => a.noparent), `${app.name}-data-load was at the stack's root`);
            }
        });

        it("names objects from the app name and points serviceName at the headless Service", () => {
            for (const app of native) {
                const sts = run.k8s(T.StatefulSet, app.name);
                const headless = run.k8s(T.Service, `${app.name}-headless`);
                assert.strictEqual(sts.inputs.spec.serviceName, headless.inputs.metadata.name);
                assert.strictEqual(headless.inputs.spec.clusterIP, "None");
                assert.strictEqual(headless.inputs.spec.publishNotReadyAddresses, true);
                assert.strictEqual(run.k8s(T.Service, app.name).inputs.spec.clusterIP, undefined, "client Service gets a cluster IP");
                assert.strictEqual(sts.inputs.spec.replicas, app.replicas);
                assert.strictEqual(sts.inputs.metadata.namespace, run.outputs.namespaceName);
            }
        });

        it("selects exactly the pods: every selector is a subset of the pod template labels", () => {
            for (const app of native) {
                const sts = run.k8s(T.StatefulSet, app.name).inputs;
                const podLabels = sts.spec.template.metadata.labels;
                assert.ok(isSubset(sts.spec.selector.matchLabels, podLabels), "StatefulSet selector");
                for (const svc of [app.name, `${app.name}-headless`]) {
                    assert.ok(isSubset(run.k8s(T.Service, svc).inputs.spec.selector, podLabels), `${svc} selector`);
                }
                for (const pdb of run.ofType(T.PodDisruptionBudget).filter((p) => p.inputs.metadata.name === app.name)) {
                    assert.ok(isSubset(pdb.inputs.spec.selector.matchLabels, podLabels), "PDB selector");
                }
                for (const c of sts.spec.template.spec.topologySpreadConstraints) {
                    assert.ok(isSubset(c.labelSelector.matchLabels, podLabels), "spread selector");
                }
                // The selector must not include labels that change over the app's life (version).
                assert.ok(!("app.kubernetes.io/version" in sts.spec.selector.matchLabels));
            }
        });

        it("renders pods that meet the restricted Pod Security Standard", () => {
            for (const app of native) {
                const spec = run.k8s(T.StatefulSet, app.name).inputs.spec.template.spec;
                assert.strictEqual(spec.securityContext.runAsNonRoot, true);
                assert.ok(spec.securityContext.runAsUser > 0);
                assert.deepStrictEqual(spec.securityContext.seccompProfile, { type: "RuntimeDefault" });
                assert.strictEqual(spec.automountServiceAccountToken, false);
                assert.ok(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC);
                assert.ok(
                    spec.volumes.every((v: Any) => !v.hostPath),
                    "no hostPath volumes",
                );
                for (const c of spec.containers) {
                    const sc = c.securityContext;
                    assert.strictEqual(sc.allowPrivilegeEscalation, false);
                    assert.strictEqual(sc.runAsNonRoot, true);
                    // Not a restricted-PSS rule, our default: only an app whose image must write its root filesystem
                    // turns it off in its stack file (the datastore: Cassandra's entrypoint rewrites /etc/cassandra).
                    assert.strictEqual(
                        sc.readOnlyRootFilesystem,
                        app.name === "datastore" ? false : true,
                        `${app.name}: readOnlyRootFilesystem as its stack sets it`,
                    );
                    assert.deepStrictEqual(sc.capabilities, { drop: ["ALL"] });
                    assert.deepStrictEqual(sc.seccompProfile, { type: "RuntimeDefault" });
                    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
                    assert.ok(c.readinessProbe && c.livenessProbe, "readiness and liveness probes");
                    assert.ok(!c.image.endsWith(":latest"));
                    const tmp = c.volumeMounts.find((m: Any) => m.mountPath === "/tmp");
                    assert.ok(spec.volumes.find((v: Any) => v.name === tmp.name).emptyDir, "/tmp is a writable emptyDir");
                }
                const sa = run.k8s(T.ServiceAccount, app.name);
                assert.strictEqual(sa.inputs.automountServiceAccountToken, false);
            }
            const ns = run.ofType(T.Namespace)[0].inputs.metadata.labels;
            assert.strictEqual(ns["pod-security.kubernetes.io/enforce"], "restricted");
        });

        it("mounts config files read-only by subPath and env via envFrom", () => {
            const sts = run.k8s(T.StatefulSet, "visits").inputs.spec.template.spec;
            const c = sts.containers[0];
            const mount = c.volumeMounts.find((m: Any) => m.subPath === "config.json");
            assert.deepStrictEqual(mount, { name: "config", mountPath: "/etc/app/config.json", subPath: "config.json", readOnly: true });
            assert.deepStrictEqual(c.envFrom, [{ configMapRef: { name: "visits-env" } }]);
            const files = run.k8s(T.ConfigMap, "visits-files").inputs.data;
            assert.ok(JSON.parse(files["config.json"]).counterFile);
            assert.ok(c.env.some((e: Any) => e.valueFrom?.secretKeyRef?.name === "visits-credentials"));
        });

        it("declares one volumeClaimTemplate with the configured size, and PVC retention", () => {
            const raw = (stackFileConfig(stack)["stateful-apps:apps"] as Any[]).find((a) => a.name === "visits");
            const sts = run.k8s(T.StatefulSet, "visits").inputs.spec;
            assert.strictEqual(sts.volumeClaimTemplates.length, 1);
            assert.strictEqual(sts.volumeClaimTemplates[0].spec.resources.requests.storage, raw.storage.size);
            assert.deepStrictEqual(sts.volumeClaimTemplates[0].spec.accessModes, ["ReadWriteOnce"]);
            assert.deepStrictEqual(sts.persistentVolumeClaimRetentionPolicy, raw.pvcRetention);
            assert.strictEqual(sts.persistentVolumeClaimRetentionPolicy.whenScaled, "Retain", "scale-down keeps PVCs");
        });

        it("gives every multi-replica StatefulSet a PodDisruptionBudget that allows at least one disruption", () => {
            for (const app of native.filter((a) => a.replicas > 1)) {
                const pdb = run.k8s(T.PodDisruptionBudget, app.name).inputs.spec;
                assert.ok(allowedDisruptions(pdb, app.replicas) >= 1, `${app.name}: ${JSON.stringify(pdb)}`);
                assert.strictEqual(pdb.unhealthyPodEvictionPolicy, "AlwaysAllow");
            }
        });

        it("keeps secrets secret: Secret data is sent as a Pulumi secret and no output holds a password", () => {
            for (const secret of run.ofType(T.Secret)) {
                assert.ok(
                    secret.secretPaths.some((p) => p.startsWith("stringData")),
                    `${secret.name}: ${secret.secretPaths}`,
                );
            }
            const passwords = run.ofType(T.RandomPassword).map((p) => `generated-${p.name}`.slice(0, 20));
            const outputs = JSON.stringify(run.outputs);
            for (const p of passwords) {
                assert.ok(!outputs.includes(p), "a password leaked into the stack outputs");
            }
            for (const r of run.ofType(T.Release)) {
                const values = JSON.stringify(r.inputs.values);
                assert.ok(
                    passwords.every((p) => !values.includes(p)),
                    "a password leaked into Helm values",
                );
                assert.strictEqual(r.inputs.values.existingSecret, `${r.inputs.name}-credentials`);
            }
            assert.deepStrictEqual(run.secretOutputs, []);
            for (const app of apps) {
                assert.strictEqual((run.outputs.workloads as Any)[app.name].secretName, `${app.name}-credentials`);
            }
        });

        it("outputs the client Service DNS name and each pod's stable DNS name", () => {
            const ns = run.outputs.namespaceName;
            for (const app of apps) {
                const w = (run.outputs.workloads as Any)[app.name];
                assert.strictEqual(w.serviceDns, `${app.name}.${ns}.svc.cluster.local`);
                assert.deepStrictEqual(
                    w.podDns,
                    Array.from({ length: app.replicas }, (_, i) => `${app.name}-${i}.${app.name}-headless.${ns}.svc.cluster.local`),
                );
            }
        });

        it("deploys Helm workloads as a Release of the bundled chart, resolved from the source tree", () => {
            for (const r of run.ofType(T.Release)) {
                assert.ok(!path.isAbsolute(r.inputs.chart), "relative to the project directory: the state must not depend on the clone's path");
                assert.ok(fs.existsSync(path.join(ROOT, r.inputs.chart, "Chart.yaml")), r.inputs.chart);
                assert.strictEqual(r.inputs.namespace, run.outputs.namespaceName);
                assert.strictEqual(r.inputs.values.fullnameOverride, r.inputs.name);
                assert.match(r.inputs.values.podAnnotations["checksum/secret"], /^[a-f0-9]{64}$/);
            }
        });

        it("never replaces a StatefulSet or fails a helm upgrade through an immutable field (ignoreChanges on both paths)", () => {
            for (const sts of run.ofType(T.StatefulSet)) {
                assert.deepStrictEqual([...sts.ignoreChanges].sort(), ["spec.podManagementPolicy", "spec.volumeClaimTemplates"]);
            }
            for (const release of run.ofType(T.Release)) {
                assert.deepStrictEqual([...release.ignoreChanges].sort(), [...HELM_IMMUTABLE_VALUE_PATHS].sort(), "the Helm path keeps the same fields");
            }
            assert.ok(
                run.ofType(T.Namespace).every((n) => n.retainOnDelete),
                "the Namespace (and its PVCs) survives destroy/rename",
            );
        });
    });
}

describe("per-stack differences", () => {
    const data = (r: Registration) => r.protect && r.retainOnDelete;

    it("the same app code in every stack: each app's configFiles program (server.py) is one text in dev and prod (prod's once lacked dev's SIGTERM handler: each pod stop waited 30 s)", () => {
        const files = (stack: string) =>
            Object.fromEntries(
                (stackFileConfig(stack)["stateful-apps:apps"] as Any[]).map((a) => [
                    a.name,
                    Object.entries(a.configFiles ?? {}).filter(([f]) => /\.(py|sh)$/.test(f)),
                ]),
            );
        const dev = files("dev");
        const prod = files("prod");
        for (const app of Object.keys(dev).filter((a) => a in prod)) {
            assert.deepStrictEqual(prod[app], dev[app], `${app}: a program file differs between Pulumi.dev.yaml and Pulumi.prod.yaml`);
        }
    });
    const dataBearing = [T.StatefulSet, T.Secret, T.RandomPassword, T.Release, T.Namespace];

    it("prod protects data-bearing resources; dev protects none", () => {
        for (const t of dataBearing) {
            assert.ok(runs.prod.ofType(t).length > 0 && runs.prod.ofType(t).every(data), `prod ${t}`);
            assert.ok(
                runs.dev.ofType(t).every((r) => !r.protect),
                `dev ${t}`,
            );
        }
        // Stateless objects stay unprotected in prod so they can be changed freely.
        assert.ok(runs.prod.ofType(T.Service).every((r) => !r.protect));
    });

    it("prod runs 3 replicas with hard zone spread and Retain; dev runs fewer with Delete", () => {
        for (const sts of runs.prod.ofType(T.StatefulSet)) {
            assert.strictEqual(sts.inputs.spec.replicas, 3);
            const zone = sts.inputs.spec.template.spec.topologySpreadConstraints.find((c: Any) => c.topologyKey === "topology.kubernetes.io/zone");
            assert.strictEqual(zone.whenUnsatisfiable, "DoNotSchedule");
            assert.strictEqual(sts.inputs.spec.persistentVolumeClaimRetentionPolicy.whenDeleted, "Retain");
        }
        for (const sts of runs.dev.ofType(T.StatefulSet)) {
            assert.ok(sts.inputs.spec.replicas <= 2);
            assert.strictEqual(sts.inputs.spec.persistentVolumeClaimRetentionPolicy.whenDeleted, "Delete");
        }
        assert.strictEqual(runs.dev.k8s(T.StatefulSet, "visits").inputs.spec.podManagementPolicy, "Parallel");
        const prodRelease = runs.prod.ofType(T.Release)[0].inputs.values;
        assert.strictEqual(prodRelease.replicaCount, 3);
        assert.strictEqual(prodRelease.persistentVolumeClaimRetentionPolicy.whenDeleted, "Retain");
    });

    it("prod requests more and stores more than dev", () => {
        const mem = (run: ProgramRun) => run.k8s(T.StatefulSet, "datastore").inputs.spec.template.spec.containers[0].resources.requests.memory;
        assert.notStrictEqual(mem(runs.prod), mem(runs.dev));
        const size = (run: ProgramRun) => run.k8s(T.StatefulSet, "visits").inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage;
        assert.deepStrictEqual([size(runs.dev), size(runs.prod)], ["256Mi", "5Gi"]);
    });
});

describe("rolling pods on config changes", () => {
    async function annotations(mutate: (apps: Any[]) => void) {
        const config = structuredClone(stackFileConfig("dev"));
        mutate(config["stateful-apps:apps"] as Any[]);
        const run = await runProgram(config, { stack: "dev" });
        return run.k8s(T.StatefulSet, "visits").inputs.spec.template.metadata.annotations;
    }

    it("changes the pod template's checksum/config when a config file or env var changes, and only then", async () => {
        const base = await annotations(() => undefined);
        const again = await annotations(() => undefined);
        const file = await annotations((apps) => (apps[0].configFiles["config.json"].greeting = "changed"));
        const env = await annotations((apps) => (apps[0].env.LOG_LEVEL = "info"));
        assert.strictEqual(base["checksum/config"], again["checksum/config"]);
        assert.notStrictEqual(base["checksum/config"], file["checksum/config"]);
        assert.notStrictEqual(base["checksum/config"], env["checksum/config"]);
        assert.match(base["checksum/secret"], /^[a-f0-9]{64}$/);
    });

    it("keeps checksum/secret's value for a given secret (scrypt N=2^15, r=8, p=1, salted with the Secret's name): a change would roll every deployed pod", async () => {
        assert.strictEqual(
            await secretChecksum("correct horse battery staple", "visits-credentials"),
            "b0833ef007d6e5e912ca375310a9b4d91fc601fd0462ef96ba3e4cea44a2aed3",
        );
    });
});

describe("secret from stack config", () => {
    it("uses the `pulumi config set --secret` value instead of generating one, and keeps it secret", async () => {
        const config = structuredClone(stackFileConfig("dev"));
        (config["stateful-apps:apps"] as Any[])[0].secret = { source: "config", configKey: "visitsPassword" };
        const run = await runProgram(config, { stack: "dev", secrets: { "stateful-apps:visitsPassword": "s3cr3t-from-config" } });
        const secret = run.k8s(T.Secret, "visits-credentials");
        assert.strictEqual(secret.inputs.stringData.password, "s3cr3t-from-config");
        assert.ok(secret.secretPaths.length > 0 && secret.secretPaths.every((p) => p.startsWith("stringData")), String(secret.secretPaths));
        assert.strictEqual(run.ofType(T.RandomPassword).length, 2, "no password generated for visits");
        assert.ok(!JSON.stringify(run.outputs).includes("s3cr3t"));
    });
});

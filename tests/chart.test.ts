/**
 * The bundled chart, with the real Helm CLI (built by scripts/toolchain): `helm lint --strict` and
 * `helm template` with the values `helmValues()` computes for every app of both stacks, and parity between the
 * chart's StatefulSet and the native component's for the same app config.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CHART_PATH } from "../components/helm-stateful-app";
import { CHART_VALUES_SCHEMA, chartValuesJsonSchema } from "../lib/chart-values";
import { helmValues } from "../lib/helm-values";
import { selectorLabels, workloadNames } from "../lib/names";
import { pdbEnabled, pdbSpec } from "../lib/pdb";
import { clientServiceSpec, headlessServiceSpec, networkPolicySpec } from "../lib/services";
import { podTemplate, pvcRetentionPolicy, scannerWaivers, updateStrategy, volumeClaimTemplates } from "../lib/workload";
import { parseStackConfig } from "../config/parse";
import type { AppConfig } from "../config/schema";
import { CHECKSUM, helm, render, stackConfig } from "./helm";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Native and chart objects differ in labels (managed-by, helm.sh/chart) and config checksums; drop those. */
function comparable(spec: Any): Any {
    const s = structuredClone(spec);
    delete s.metadata;
    return s;
}

/** The native component's pod template for an app, as the chart's parity needs it (managed-by Helm, no scrape annotations). */
function nativePodTemplate(app: AppConfig, clusterDomain: string): Any {
    return podTemplate(app, { names: workloadNames(app.name), secretChecksum: CHECKSUM, managedBy: "Helm", scrapeAnnotations: false, clusterDomain });
}

describe("charts/stateful-app with the Helm CLI", () => {
    it("passes helm lint --strict with its defaults and an existingSecret", () => {
        const r = helm(["lint", "--strict", CHART_PATH, "--set", "existingSecret=example"]);
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
    });

    it("values.schema.json is the one generated from lib/chart-values.ts (run `npm run chart:schema` after changing it)", () => {
        assert.strictEqual(fs.readFileSync(path.join(CHART_PATH, "values.schema.json"), "utf8"), chartValuesJsonSchema());
    });

    it("the chart's own values.yaml and the values of every app of both stacks fit CHART_VALUES_SCHEMA", () => {
        const defaults = parse(fs.readFileSync(path.join(CHART_PATH, "values.yaml"), "utf8"));
        const check = (what: string, values: unknown) => {
            const r = CHART_VALUES_SCHEMA.safeParse(values);
            assert.ok(r.success, `${what}: ${r.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
        };
        check("values.yaml (with existingSecret)", { ...defaults, existingSecret: "s" });
        for (const stack of ["dev", "prod"]) {
            for (const app of stackConfig(stack).apps) check(`${stack}/${app.name}`, helmValues(app, CHECKSUM));
        }
        assert.ok(
            !CHART_VALUES_SCHEMA.safeParse({ ...defaults, existingSecret: "s", pdb: { enabled: true, minAvailable: 1, maxUnavailable: 1 } }).success,
            "not both PDB fields",
        );
    });

    it("refuses values without existingSecret (values.schema.json)", () => {
        const r = helm(["template", "x", CHART_PATH]);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /existingSecret/);
    });

    it("refuses values that break the restricted Pod Security Standard (values.schema.json)", () => {
        const r = helm(["template", "x", CHART_PATH, "--set", "existingSecret=s", "--set", "containerSecurityContext.allowPrivilegeEscalation=true"]);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /allowPrivilegeEscalation/);
    });

    for (const stack of ["dev", "prod"]) {
        describe(`with the values of every app in Pulumi.${stack}.yaml`, () => {
            const cfg = stackConfig(stack);
            for (const app of cfg.apps) {
                it(`${app.name}: lints and renders the full workload`, () => {
                    const lint = helm(["lint", "--strict", CHART_PATH, "--namespace", cfg.namespace.name], helmValues(app, CHECKSUM));
                    assert.strictEqual(lint.status, 0, lint.stdout + lint.stderr);
                    const docs = render(app, cfg.namespace.name);
                    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
                    const expected = [
                        `ConfigMap/${app.name}-env`,
                        `ConfigMap/${app.name}-files`,
                        `Service/${app.name}`,
                        `Service/${app.name}-headless`,
                        `ServiceAccount/${app.name}`,
                        `StatefulSet/${app.name}`,
                        `Pod/${app.name}-test-connection`,
                        `Job/${app.name}-preflight`,
                        `Job/${app.name}-report`,
                        ...(app.replicas > 1 ? [`PodDisruptionBudget/${app.name}`] : []),
                        ...(app.networkPolicy.enabled ? [`NetworkPolicy/${app.name}`] : []),
                        ...(app.metrics ? [`ConfigMap/${app.name}-mtail`] : []),
                    ].sort();
                    assert.deepStrictEqual(kinds, expected);
                    const hooks = docs.filter((d) => d.metadata.annotations?.["helm.sh/hook"]);
                    assert.deepStrictEqual(hooks.map((d) => d.metadata.annotations["helm.sh/hook"]).sort(), [
                        "post-install,post-upgrade",
                        "pre-install,pre-upgrade",
                        "test",
                    ]);
                    for (const hook of hooks) {
                        const pod = hook.kind === "Job" ? hook.spec.template.spec : hook.spec;
                        assert.strictEqual(pod.securityContext.runAsNonRoot, true);
                        for (const c of pod.containers) {
                            assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false);
                            assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"] });
                            assert.ok(c.resources.limits.memory);
                        }
                    }
                    // Only the StatefulSet's pods carry the selector labels: no Service, PDB or NetworkPolicy
                    // may pick up a hook Job's pod or the test Pod.
                    const selector = { "app.kubernetes.io/name": app.name, "app.kubernetes.io/instance": app.name };
                    for (const hook of hooks) {
                        const labels = hook.kind === "Job" ? hook.spec.template.metadata.labels : hook.metadata.labels;
                        assert.ok(
                            !Object.entries(selector).every(([k, v]) => labels[k] === v),
                            `${hook.kind}/${hook.metadata.name} matches the app's selector`,
                        );
                    }
                    const report = docs.find((d) => d.metadata.name === `${app.name}-report`);
                    const script = report.spec.template.spec.containers[0].args[0];
                    assert.match(script, new RegExp(`nslookup ${app.name}-${app.replicas - 1}\\.${app.name}-headless\\.${cfg.namespace.name}\\.svc`));
                });

                it(`${app.name}: renders the same StatefulSet spec as the native component`, () => {
                    const names = workloadNames(app.name);
                    const sts = render(app, cfg.namespace.name, cfg.clusterDomain).find((d) => d.kind === "StatefulSet");
                    const native = nativePodTemplate(app, cfg.clusterDomain) as Any;
                    const chartPod = sts.spec.template;
                    // Pod spec: security contexts, probes, ports, env, mounts, volumes, spread, resources.
                    assert.deepStrictEqual(comparable(chartPod.spec), JSON.parse(JSON.stringify(comparable(native.spec))));
                    // Labels: the chart adds helm.sh/chart; everything else, including the selector labels, matches.
                    const chartLabels = { ...chartPod.metadata.labels };
                    delete chartLabels["helm.sh/chart"];
                    assert.deepStrictEqual(chartLabels, native.metadata.labels);
                    assert.strictEqual(chartPod.metadata.annotations["checksum/secret"], CHECKSUM);
                    assert.deepStrictEqual(sts.spec.selector.matchLabels, { "app.kubernetes.io/name": app.name, "app.kubernetes.io/instance": app.name });
                    assert.strictEqual(sts.spec.serviceName, names.headless);
                    assert.strictEqual(sts.spec.podManagementPolicy, app.podManagementPolicy);
                    assert.deepStrictEqual(sts.spec.updateStrategy, updateStrategy(app));
                    assert.deepStrictEqual(sts.spec.persistentVolumeClaimRetentionPolicy, pvcRetentionPolicy(app));
                    assert.deepStrictEqual(sts.spec.volumeClaimTemplates, volumeClaimTemplates(app, names));
                    assert.deepStrictEqual(sts.metadata.annotations ?? {}, scannerWaivers(app), "the same scanner waivers on the StatefulSet");
                });

                it(`${app.name}: with a pod-spec field set (priorityClassName, through podSpecFields), still the same pod spec as the native component`, () => {
                    const withField = { ...app, priorityClassName: "stateful-high" };
                    const chartPod = render(withField, cfg.namespace.name).find((d) => d.kind === "StatefulSet").spec.template;
                    const native = nativePodTemplate(withField, cfg.clusterDomain) as Any;
                    assert.strictEqual(chartPod.spec.priorityClassName, "stateful-high");
                    assert.deepStrictEqual(comparable(chartPod.spec), JSON.parse(JSON.stringify(comparable(native.spec))));
                });

                it(`${app.name}: renders the same Services, PodDisruptionBudget and NetworkPolicy specs as the native builders`, () => {
                    const names = workloadNames(app.name);
                    const docs = render(app, cfg.namespace.name, undefined, cfg.monitoring.scrapeFrom);
                    const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
                    const json = (v: unknown) => JSON.parse(JSON.stringify(v));
                    assert.deepStrictEqual(find("Service", names.headless)?.spec, json(headlessServiceSpec(app)));
                    assert.deepStrictEqual(find("Service", names.app)?.spec, json(clientServiceSpec(app)));
                    assert.deepStrictEqual(
                        find("PodDisruptionBudget", names.app)?.spec,
                        pdbEnabled(app) ? json(pdbSpec(app.pdb, selectorLabels(app.name))) : undefined,
                    );
                    assert.deepStrictEqual(
                        find("NetworkPolicy", names.app)?.spec,
                        app.networkPolicy.enabled ? json(networkPolicySpec(app, cfg.monitoring.scrapeFrom)) : undefined,
                    );
                });
            }
        });
    }

    describe("a clustered app (extraPorts of both kinds, peerEnv self/all/first, a cluster domain that is not cluster.local)", () => {
        const cfg = parseStackConfig(
            {
                environment: "dev",
                namespace: { name: "ring" },
                clusterDomain: "corp.example",
                apps: [
                    {
                        name: "etcd",
                        image: { repository: "localhost/etcd", tag: "3.6.16" },
                        port: 2379,
                        portName: "client",
                        replicas: 3,
                        extraPorts: [
                            { name: "peer", port: 2380 },
                            { name: "metrics", port: 2381, access: "clients" },
                        ],
                        peerEnv: [
                            { name: "ETCD_INITIAL_CLUSTER", members: "all", format: "{pod}=http://{host}:2380" },
                            { name: "ETCD_ADVERTISE", members: "self", format: "http://{host}:2379" },
                            { name: "SEEDS", members: "first", count: 2, separator: ";" },
                        ],
                        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                        probes: { readiness: { type: "tcp" }, liveness: { type: "tcp" } },
                        secret: { source: "generated" },
                        networkPolicy: { enabled: true, allowFrom: [{ podLabels: { role: "client" } }] },
                    },
                ],
            },
            () => false,
        );
        const app = cfg.apps[0];
        const names = workloadNames(app.name);
        const docs = render(app, cfg.namespace.name, cfg.clusterDomain);
        const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
        const json = (v: unknown) => JSON.parse(JSON.stringify(v));

        it("both paths render the same pod spec, peer env values included", () => {
            const native = nativePodTemplate(app, cfg.clusterDomain);
            assert.deepStrictEqual(comparable(find("StatefulSet", "etcd").spec.template.spec), json(comparable((native as Any).spec)));
        });

        it("the peer env: every member, this pod and the first two, with the namespace left to the kubelet ($(POD_NAMESPACE))", () => {
            const env = find("StatefulSet", "etcd").spec.template.spec.containers[0].env as { name: string; value?: string }[];
            const value = (n: string) => env.find((e) => e.name === n)?.value;
            const host = (p: string) => `${p}.etcd-headless.$(POD_NAMESPACE).svc.corp.example`;
            assert.strictEqual(value("ETCD_INITIAL_CLUSTER"), ["etcd-0", "etcd-1", "etcd-2"].map((p) => `${p}=http://${host(p)}:2380`).join(","));
            assert.strictEqual(value("ETCD_ADVERTISE"), `http://${host("$(POD_NAME)")}:2379`);
            assert.strictEqual(value("SEEDS"), `${host("etcd-0")};${host("etcd-1")}`);
            const order = env.map((e) => e.name);
            assert.ok(order.indexOf("POD_NAMESPACE") < order.indexOf("ETCD_INITIAL_CLUSTER"), "POD_NAMESPACE comes first: $(VAR) expands only earlier vars");
        });

        it("both paths render the same Services and NetworkPolicy: peer port on the headless Service only, open to members only", () => {
            assert.deepStrictEqual(find("Service", names.headless)?.spec, json(headlessServiceSpec(app)));
            assert.deepStrictEqual(find("Service", names.app)?.spec, json(clientServiceSpec(app)));
            assert.deepStrictEqual(find("NetworkPolicy", names.app)?.spec, json(networkPolicySpec(app, cfg.monitoring.scrapeFrom)));
            assert.deepStrictEqual(
                find("Service", names.headless).spec.ports.map((p: Any) => p.name),
                ["client", "peer", "metrics"],
            );
            assert.deepStrictEqual(
                find("Service", names.app).spec.ports.map((p: Any) => p.name),
                ["client", "metrics"],
            );
            const rules = find("NetworkPolicy", names.app).spec.ingress;
            assert.deepStrictEqual(rules[1], { ports: [{ port: 2380, protocol: "TCP" }], from: [{ podSelector: { matchLabels: selectorLabels("etcd") } }] });
            assert.deepStrictEqual(rules[0].ports, [
                { port: 2379, protocol: "TCP" },
                { port: 2381, protocol: "TCP" },
            ]);
        });
    });

    describe("a NetworkPolicy with a metrics port (monitoring.scrapeFrom) and empty label maps (namespaceLabels: {} = every namespace)", () => {
        const cfg = parseStackConfig(
            {
                environment: "dev",
                namespace: { name: "shop" },
                monitoring: { scrapeFrom: [{ namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" }, podLabels: { app: "prometheus" } }] },
                apps: [
                    {
                        name: "shop",
                        image: { repository: "localhost/python", tag: "3.11" },
                        port: 8080,
                        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                        probes: { readiness: { type: "tcp" }, liveness: { type: "tcp" } },
                        secret: { source: "generated" },
                        metrics: { logFormat: "visits", logFile: "/data/visits.log", image: { repository: "localhost/mtail", tag: "3" } },
                        networkPolicy: { enabled: true, allowFrom: [{ namespaceLabels: {} }, { podLabels: { role: "client" } }] },
                    },
                ],
            },
            () => false,
        );
        const app = cfg.apps[0];
        const policy = render(app, cfg.namespace.name, undefined, cfg.monitoring.scrapeFrom).find((d) => d.kind === "NetworkPolicy");

        it("both paths render the same policy", () => {
            assert.deepStrictEqual(policy.spec, JSON.parse(JSON.stringify(networkPolicySpec(app, cfg.monitoring.scrapeFrom))));
        });

        it("the metrics port only from the scrape peer (both selectors in one peer); an empty map stays a selector", () => {
            const rules = policy.spec.ingress;
            assert.deepStrictEqual(rules.at(-1), {
                ports: [{ port: app.metrics!.port, protocol: "TCP" }],
                from: [
                    {
                        podSelector: { matchLabels: { app: "prometheus" } },
                        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
                    },
                ],
            });
            assert.deepStrictEqual(rules[0].from[1], { namespaceSelector: { matchLabels: {} } });
            assert.ok(!rules[0].ports.some((p: Any) => p.port === app.metrics!.port), "the metrics port is not open to the app port's peers");
        });
    });
});

/**
 * The policy pack (`policy/`), without the Pulumi CLI: each policy's validateResource / validateStack is called
 * with the same argument shapes the CrossGuard analyzer passes, on
 *   1. hand-written compliant objects and one mutation per rule (each rule passes and fails at least once),
 *   2. every resource the real program registers under Pulumi mocks for the dev and prod stacks (zero
 *      violations), and a change the config schema accepts but a policy blocks,
 *   3. every object the bundled chart renders (`helm template`), so both deployment paths meet one rule set.
 *
 * What this does not prove: that `pulumi preview --policy-pack policy` loads the pack (packs run through the
 * Node.js language host, which this machine cannot build; the Automation API inline path has none), nor how the
 * engine reports unknown values during a preview.
 */
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs } from "@pulumi/policy";
import * as assert from "assert";
import { POLICY_NAMES, resourcePolicies, stackPolicies } from "../policy/policies";
import { parseImage } from "../policy/rules";
import { policyConfigFor, PolicyPackConfigFile } from "../policy/stack-config";
import { runProgram, stackFileConfig } from "./harness";
import { render, stackConfig } from "./helm";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Violations by policy name. */
type Findings = Record<string, string[]>;

/** Policies seen failing somewhere in this file; every policy must be among them (checked last). */
const exercised = new Set<string>();

function policyConfig(policy: { name: string; configSchema?: { properties: Record<string, Any> } }, pack: PolicyPackConfigFile): Any {
    const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).map(([k, s]) => [k, s.default]));
    return { ...defaults, ...(pack[policy.name] ?? {}) };
}

/** A Kubernetes object's Pulumi type token, from apiVersion and kind (`apps/v1` StatefulSet → kubernetes:apps/v1:StatefulSet). */
function typeToken(obj: Any): string {
    const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["core", obj.apiVersion];
    return `kubernetes:${group}/${version}:${obj.kind}`;
}

function record(findings: Findings, policy: string, message: string): void {
    (findings[policy] ??= []).push(message);
    exercised.add(policy);
}

/** Runs every resource policy on one resource, as the analyzer would. */
async function checkResource(type: string, props: Any, pack: PolicyPackConfigFile = {}): Promise<Findings> {
    const findings: Findings = {};
    for (const policy of resourcePolicies) {
        const args: ResourceValidationArgs = {
            type,
            props,
            urn: `urn:pulumi:test::stateful-apps::${type}::r`,
            name: "r",
            opts: {
                protect: false,
                ignoreChanges: [],
                aliases: [],
                customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
                additionalSecretOutputs: [],
            },
            stackTags: new Map(),
            isType: () => false,
            asType: () => undefined,
            getConfig: <T extends object>() => policyConfig(policy, pack) as T,
            notApplicable: (reason?: string) => {
                throw new Error(`not applicable: ${reason}`);
            },
        };
        const validations = ([] as NonNullable<ResourceValidationPolicy["validateResource"]>[]).concat(policy.validateResource ?? []).flat();
        for (const validate of validations) {
            await validate(args, (message) => record(findings, policy.name, message));
        }
    }
    return findings;
}

/** Runs every stack policy on a set of resources. */
async function checkStack(resources: { type: string; props: Any }[], pack: PolicyPackConfigFile = {}): Promise<Findings> {
    const findings: Findings = {};
    const policyResources = resources.map((r, i) => ({ type: r.type, props: r.props, urn: `urn:${i}`, name: `r${i}` }) as unknown as PolicyResource);
    for (const policy of stackPolicies) {
        const args = {
            resources: policyResources,
            stackTags: new Map(),
            getConfig: <T extends object>() => policyConfig(policy, pack) as T,
        } as unknown as StackValidationArgs;
        await policy.validateStack(args, (message) => record(findings, policy.name, message));
    }
    return findings;
}

async function checkAll(objects: Any[], pack: PolicyPackConfigFile = {}): Promise<Findings> {
    const all: Findings = {};
    for (const obj of objects) {
        for (const [k, v] of Object.entries(await checkResource(typeToken(obj), obj, pack))) {
            (all[k] ??= []).push(...v.map((m) => `${obj.kind}/${obj.metadata?.name}: ${m}`));
        }
    }
    for (const [k, v] of Object.entries(
        await checkStack(
            objects.map((o) => ({ type: typeToken(o), props: o })),
            pack,
        ),
    )) {
        (all[k] ??= []).push(...v);
    }
    return all;
}

const LABELS = {
    "app.kubernetes.io/name": "db",
    "app.kubernetes.io/instance": "db",
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/part-of": "stateful-apps",
};
const SELECTOR = { "app.kubernetes.io/name": "db", "app.kubernetes.io/instance": "db" };

/** A StatefulSet that meets every rule. */
function statefulSet(): Any {
    return {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "db", namespace: "ns", labels: { ...LABELS } },
        spec: {
            replicas: 3,
            serviceName: "db-headless",
            selector: { matchLabels: { ...SELECTOR } },
            template: {
                metadata: { labels: { ...LABELS } },
                spec: {
                    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
                    initContainers: [],
                    containers: [
                        {
                            name: "db",
                            image: "docker.io/library/cassandra:5.0.4",
                            ports: [{ name: "cql", containerPort: 9042 }],
                            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
                            resources: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "2Gi" } },
                            readinessProbe: { tcpSocket: { port: 9042 } },
                            livenessProbe: { tcpSocket: { port: 9042 } },
                        },
                    ],
                    volumes: [
                        { name: "tmp", emptyDir: {} },
                        { name: "files", configMap: { name: "db-files" } },
                    ],
                },
            },
        },
    };
}

function headless(): Any {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "db-headless", namespace: "ns", labels: { ...LABELS } },
        spec: { clusterIP: "None", selector: { ...SELECTOR } },
    };
}

function pdb(spec: Any = { maxUnavailable: 1 }): Any {
    return {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "db", namespace: "ns", labels: { ...LABELS } },
        spec: { ...spec, selector: { matchLabels: { ...SELECTOR } } },
    };
}

const container = (o: Any) => o.spec.template.spec.containers[0];
const podSpec = (o: Any) => o.spec.template.spec;

describe("policy pack: each rule on compliant and violating objects", () => {
    it("the compliant StatefulSet, its headless Service and PodDisruptionBudget pass every policy, in dev and prod", async () => {
        for (const environment of ["dev", "prod"]) {
            assert.deepStrictEqual(await checkAll([statefulSet(), headless(), pdb()], { "image-pinned": { environment } }), {});
        }
    });

    const podCases: [string, (o: Any) => void, RegExp][] = [
        ["hostNetwork", (o) => (podSpec(o).hostNetwork = true), /hostNetwork must not be true/],
        ["hostPID", (o) => (podSpec(o).hostPID = true), /hostPID/],
        ["a hostPath volume", (o) => podSpec(o).volumes.push({ name: "logs", hostPath: { path: "/var/log" } }), /volume 'logs' is of type hostPath/],
        ["runAsUser 0 on the pod", (o) => (podSpec(o).securityContext.runAsUser = 0), /runAsUser must not be 0/],
        ["runAsNonRoot missing", (o) => delete podSpec(o).securityContext.runAsNonRoot, /runAsNonRoot must be true/],
        ["privilege escalation not disabled", (o) => delete container(o).securityContext.allowPrivilegeEscalation, /allowPrivilegeEscalation must be false/],
        ["a privileged container", (o) => (container(o).securityContext.privileged = true), /privileged must not be true/],
        ["capabilities not dropped", (o) => (container(o).securityContext.capabilities = {}), /drop must include ALL/],
        ["an added capability", (o) => (container(o).securityContext.capabilities.add = ["SYS_ADMIN"]), /may only hold NET_BIND_SERVICE \(given SYS_ADMIN\)/],
        ["no seccomp profile", (o) => delete podSpec(o).securityContext.seccompProfile, /seccompProfile.type must be RuntimeDefault/],
        ["seccomp Unconfined on the container", (o) => (container(o).securityContext.seccompProfile = { type: "Unconfined" }), /seccompProfile/],
        ["a hostPort", (o) => (container(o).ports[0].hostPort = 9042), /hostPort 9042/],
        [
            "an init container running as root",
            (o) => podSpec(o).initContainers.push({ ...structuredClone(container(o)), name: "init", securityContext: { runAsUser: 0 } }),
            /initContainer 'init'/,
        ],
    ];
    for (const [what, mutate, says] of podCases) {
        it(`pod-security-restricted refuses ${what}`, async () => {
            const sts = statefulSet();
            mutate(sts);
            const f = await checkResource("kubernetes:apps/v1:StatefulSet", sts);
            assert.ok(
                f["pod-security-restricted"]?.some((m) => says.test(m)),
                JSON.stringify(f),
            );
        });
    }

    it("NET_BIND_SERVICE is the one capability restricted lets a container add", async () => {
        const sts = statefulSet();
        container(sts).securityContext.capabilities.add = ["NET_BIND_SERVICE"];
        assert.deepStrictEqual(await checkResource("kubernetes:apps/v1:StatefulSet", sts), {});
    });

    it("resources-set wants CPU and memory requests and a memory limit (a CPU limit is optional)", async () => {
        const noCpu = statefulSet();
        delete container(noCpu).resources.requests.cpu;
        delete container(noCpu).resources.limits.memory;
        const f = await checkResource("kubernetes:apps/v1:StatefulSet", noCpu);
        assert.deepStrictEqual(f["resources-set"], [
            "container 'db': resources.requests.cpu must be set",
            "container 'db': resources.limits.memory must be set",
        ]);
    });

    it("probes-set wants readiness and liveness probes on long-running workloads, not on Jobs", async () => {
        const sts = statefulSet();
        delete container(sts).readinessProbe;
        assert.deepStrictEqual((await checkResource("kubernetes:apps/v1:StatefulSet", sts))["probes-set"], ["container 'db': readinessProbe must be set"]);
        const job = {
            apiVersion: "batch/v1",
            kind: "Job",
            metadata: { name: "load", labels: LABELS },
            spec: { template: { metadata: { labels: LABELS }, spec: structuredClone(podSpec(sts)) } },
        };
        delete job.spec.template.spec.containers[0].livenessProbe;
        assert.deepStrictEqual(await checkResource("kubernetes:batch/v1:Job", job), {});
    });

    const imageCases: [string, string, string, RegExp | null][] = [
        ["dev", "docker.io/library/cassandra:latest", "latest", /uses the tag latest/],
        ["dev", "docker.io/library/cassandra", "untagged", /has no tag/],
        ["dev", "localhost:5000/cassandra", "untagged behind a registry port", /has no tag/],
        ["dev", "docker.io/library/cassandra:5.0", "a minor tag in dev", null],
        ["prod", "docker.io/library/cassandra:5.0", "a minor tag in prod", /must be pinned in prod/],
        ["prod", "docker.io/library/python:3.13.1-alpine3.21", "a full version tag in prod", null],
        ["prod", "localhost:5000/cassandra:5.0.4", "a full version tag behind a registry port in prod", null],
        ["prod", `docker.io/library/cassandra:5@sha256:${"a".repeat(64)}`, "a digest in prod", null],
        ["prod", `docker.io/library/cassandra:latest@sha256:${"a".repeat(64)}`, "latest pinned by digest", null],
    ];
    for (const [environment, image, what, says] of imageCases) {
        it(`image-pinned ${says ? "refuses" : "accepts"} ${what} (${environment})`, async () => {
            const sts = statefulSet();
            container(sts).image = image;
            const f = await checkResource("kubernetes:apps/v1:StatefulSet", sts, { "image-pinned": { environment } });
            if (says) {
                assert.ok(
                    f["image-pinned"]?.some((m) => says.test(m)),
                    JSON.stringify(f),
                );
            } else {
                assert.deepStrictEqual(f, {});
            }
        });
    }

    it("image-pinned with requireDigest refuses a version tag in prod", async () => {
        const f = await checkResource("kubernetes:apps/v1:StatefulSet", statefulSet(), { "image-pinned": { environment: "prod", requireDigest: true } });
        assert.match(f["image-pinned"][0], /pinned by digest/);
    });

    it("parseImage splits registry ports, tags and digests", () => {
        assert.deepStrictEqual(parseImage("localhost:5000/a/b:1.2@sha256:x"), { repository: "localhost:5000/a/b", tag: "1.2", digest: "sha256:x" });
        assert.deepStrictEqual(parseImage("busybox"), { repository: "busybox", digest: undefined });
    });

    it("recommended-labels wants the app.kubernetes.io labels on objects and pod templates", async () => {
        const svc = headless();
        delete svc.metadata.labels["app.kubernetes.io/part-of"];
        assert.deepStrictEqual((await checkResource("kubernetes:core/v1:Service", svc))["recommended-labels"], [
            "metadata.labels lacks app.kubernetes.io/part-of",
        ]);
        const sts = statefulSet();
        delete sts.spec.template.metadata.labels["app.kubernetes.io/instance"];
        assert.deepStrictEqual((await checkResource("kubernetes:apps/v1:StatefulSet", sts))["recommended-labels"], [
            "pod template labels lack app.kubernetes.io/instance",
        ]);
    });

    it("loadbalancer-allowed follows the stack's allowLoadBalancer, for Services and release values", async () => {
        const lb = { ...headless(), spec: { type: "LoadBalancer", selector: SELECTOR } };
        assert.match((await checkResource("kubernetes:core/v1:Service", lb))["loadbalancer-allowed"][0], /does not allow/);
        assert.deepStrictEqual(await checkResource("kubernetes:core/v1:Service", lb, { "loadbalancer-allowed": { allowLoadBalancer: true } }), {});
        const release = { chart: "/src/charts/stateful-app", values: { service: { type: "LoadBalancer" } } };
        assert.ok((await checkResource("kubernetes:helm.sh/v3:Release", release))["loadbalancer-allowed"]);
    });

    it("helm-release-bundled-chart allows only charts/stateful-app", async () => {
        const ok = await checkResource("kubernetes:helm.sh/v3:Release", { chart: "/src/repo/charts/stateful-app", values: {} });
        assert.deepStrictEqual(ok, {});
        for (const props of [
            { chart: "bitnami/postgresql", values: {} },
            { chart: "postgresql", repositoryOpts: { repo: "https://charts.example" }, values: {} },
        ]) {
            assert.ok((await checkResource("kubernetes:helm.sh/v3:Release", props))["helm-release-bundled-chart"], JSON.stringify(props));
        }
    });

    it("helm-values-no-secrets refuses passwords in values but not Secret references", async () => {
        const values = {
            existingSecret: "db-credentials",
            secretKey: "password",
            auth: { password: "hunter2", existingSecretName: "x" },
            tokens: [{ token: "abc" }],
        };
        const f = await checkResource("kubernetes:helm.sh/v3:Release", { chart: "/charts/stateful-app", values });
        assert.deepStrictEqual(f["helm-values-no-secrets"], [
            "values.auth.password looks like a secret value; create a Secret and pass its name (existingSecret)",
            "values.tokens[0].token looks like a secret value; create a Secret and pass its name (existingSecret)",
        ]);
    });

    it("image-pinned also checks a release's image and hook image values", async () => {
        const values = { image: { repository: "docker.io/x/app", tag: "latest", digest: "" }, hooks: { enabled: true, image: "busybox" } };
        const f = await checkResource("kubernetes:helm.sh/v3:Release", { chart: "/charts/stateful-app", values });
        assert.deepStrictEqual(f["image-pinned"], [
            "values: image 'docker.io/x/app:latest' uses the tag latest: pin a version",
            "values: image 'busybox' has no tag: pin a version",
        ]);
    });

    it("statefulset-headless-service wants serviceName to name a headless Service selecting the pods", async () => {
        const missing = await checkStack([{ type: "kubernetes:apps/v1:StatefulSet", props: statefulSet() }]);
        assert.match(missing["statefulset-headless-service"][0], /names no Service/);
        const notHeadless = headless();
        delete notHeadless.spec.clusterIP;
        const f = await checkAll([statefulSet(), notHeadless, pdb()]);
        assert.match(f["statefulset-headless-service"][0], /must be headless/);
        const wrongSelector = headless();
        wrongSelector.spec.selector = { "app.kubernetes.io/name": "other" };
        assert.match((await checkAll([statefulSet(), wrongSelector, pdb()]))["statefulset-headless-service"][0], /does not select its pods/);
        const otherNamespace = headless();
        otherNamespace.metadata.namespace = "elsewhere";
        assert.match((await checkAll([statefulSet(), otherNamespace, pdb()]))["statefulset-headless-service"][0], /names no Service/);
    });

    it("statefulset-disruption-budget wants a PDB allowing ≥ 1 disruption for multi-replica StatefulSets", async () => {
        assert.match((await checkAll([statefulSet(), headless()]))["statefulset-disruption-budget"][0], /3 replicas but no PodDisruptionBudget/);
        assert.match((await checkAll([statefulSet(), headless(), pdb({ minAvailable: 3 })]))["statefulset-disruption-budget"][0], /allows 0 disruptions of 3/);
        assert.match((await checkAll([statefulSet(), headless(), pdb({ minAvailable: "100%" })]))["statefulset-disruption-budget"][0], /allows 0/);
        assert.deepStrictEqual(await checkAll([statefulSet(), headless(), pdb({ minAvailable: "50%" })]), {});
        const single = statefulSet();
        single.spec.replicas = 1;
        assert.deepStrictEqual(await checkAll([single, headless()]), {});
    });
});

describe("policy pack on the real program (index.ts under mocks)", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: every registered resource passes every policy with the stack's generated policy config`, async () => {
            const run = await runProgram(stackFileConfig(stack), { stack });
            const pack = policyConfigFor(stackConfig(stack));
            const findings: Findings = {};
            for (const r of run.registrations) {
                for (const [k, v] of Object.entries(await checkResource(r.type, r.inputs, pack))) {
                    (findings[k] ??= []).push(...v.map((m) => `${r.name}: ${m}`));
                }
            }
            const k8sObjects = run.registrations.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh"));
            Object.assign(
                findings,
                await checkStack(
                    k8sObjects.map((r) => ({ type: r.type, props: r.inputs })),
                    pack,
                ),
            );
            assert.deepStrictEqual(findings, {});
            // The run did check something: StatefulSets, Services, PDBs and a release were among the inputs.
            assert.ok(run.ofType("kubernetes:apps/v1:StatefulSet").length >= 2 && run.ofType("kubernetes:helm.sh/v3:Release").length >= 1);
        });
    }

    it("blocks a prod change the config schema accepts: a floating image tag", async () => {
        const config = stackFileConfig("prod");
        const apps = structuredClone(config["stateful-apps:apps"]) as Any[];
        const datastore = apps.find((a) => a.name === "datastore");
        datastore.image.tag = "5.0";
        const run = await runProgram({ ...config, "stateful-apps:apps": apps }, { stack: "prod" });
        const sts = run.k8s("kubernetes:apps/v1:StatefulSet", "datastore");
        const f = await checkResource(sts.type, sts.inputs, policyConfigFor(stackConfig("prod")));
        assert.deepStrictEqual(f, {
            "image-pinned": [
                "container 'app': image 'docker.io/library/cassandra:5.0' must be pinned in prod: a full major.minor.patch version tag or a digest",
            ],
        });
    });

    it("scripts/policy-config.ts derives the policy config from the stack file", () => {
        assert.deepStrictEqual(policyConfigFor(stackConfig("prod")), {
            "image-pinned": { environment: "prod" },
            "loadbalancer-allowed": { allowLoadBalancer: false },
        });
        assert.deepStrictEqual(policyConfigFor(stackConfig("dev"))["image-pinned"], { environment: "dev" });
    });
});

describe("policy pack rules on the chart's rendered objects (helm template)", () => {
    for (const stack of ["dev", "prod"]) {
        const cfg = stackConfig(stack);
        for (const app of cfg.apps) {
            it(`${stack}/${app.name}: every object, hook Job and test Pod passes`, async () => {
                const objects = render(app, cfg.namespace.name);
                assert.deepStrictEqual(await checkAll(objects, policyConfigFor(cfg)), {});
            });
        }
    }
});

describe("policy pack coverage", () => {
    it("every policy failed in at least one test above", () => {
        assert.deepStrictEqual(
            POLICY_NAMES.filter((p) => !exercised.has(p)),
            [],
        );
    });
});

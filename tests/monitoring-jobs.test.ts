/**
 * The observability and batch resources the real program registers (index.ts under Pulumi mocks, each stack's
 * own config): the mtail sidecar and its program ConfigMap, scrape annotations or ServiceMonitors, alert rules
 * (a rules-file ConfigMap checked with the real promtool, or PrometheusRules), and the data-load Job.
 *
 * What this proves: the objects and options Pulumi is asked to create. What it does not: that pods run them
 * (the mtail programs themselves are run for real on sample logs in observability.test.ts), nor that Pulumi
 * waits for the Job on a cluster (tests/e2e checks that on the real engine).
 */
import * as assert from "assert";
import { PROMETHEUS_OPERATOR_CRDS } from "../components/prometheus-operator";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mtailProgramPath } from "../lib/observability";
import { ProgramRun, ROOT, runProgram, stackFileConfig, T } from "./harness";
import { TOOL_BIN } from "./helm";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const SELECTOR_KEYS = ["app.kubernetes.io/name", "app.kubernetes.io/instance"];

function appConfig(stack: string, name: string): Any {
    return (stackFileConfig(stack)["stateful-apps:apps"] as Any[]).find((a) => a.name === name);
}

describe("metrics sidecar, scraping and alert rules (dev: no Prometheus Operator)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(stackFileConfig("dev"), { stack: "dev" });
    });

    it("runs mtail as a native sidecar after a log-init container, reading the log read-only", () => {
        const pod = run.k8s(T.StatefulSet, "visits").inputs.spec.template.spec;
        const [init, mtail] = pod.initContainers;
        assert.deepStrictEqual(
            pod.initContainers.map((c: Any) => c.name),
            ["log-init", "mtail"],
        );
        assert.deepStrictEqual(init.command, ["touch", "/data/visits.log"]);
        assert.strictEqual(mtail.restartPolicy, "Always");
        assert.deepStrictEqual(mtail.command, ["mtail", "-progs", "/etc/mtail", "-logs", "/data/visits.log", "-port", "3903", "-logtostderr"]);
        assert.deepStrictEqual(mtail.ports, [{ name: "metrics", containerPort: 3903, protocol: "TCP" }]);
        const data = mtail.volumeMounts.find((m: Any) => m.name === "data");
        assert.deepStrictEqual(data, { name: "data", mountPath: "/data", readOnly: true });
        assert.ok(mtail.readinessProbe.httpGet && mtail.livenessProbe.tcpSocket, "distinct readiness and liveness probes");
        assert.strictEqual(mtail.securityContext.allowPrivilegeEscalation, false);
        assert.ok(pod.volumes.some((v: Any) => v.name === "mtail-program" && v.configMap.name === "visits-mtail"));
    });

    it("ships exactly the app's mtail program and rolls pods when it changes", () => {
        const text = fs.readFileSync(mtailProgramPath("visits"), "utf8");
        assert.deepStrictEqual(run.k8s(T.ConfigMap, "visits-mtail").inputs.data, { "visits.mtail": text });
        const annotations = run.k8s(T.StatefulSet, "visits").inputs.spec.template.metadata.annotations;
        assert.strictEqual(annotations["checksum/mtail"], createHash("sha256").update(text).digest("hex"));
    });

    it("annotates pods for scraping and exposes the metrics port on the headless Service only", () => {
        const annotations = run.k8s(T.StatefulSet, "visits").inputs.spec.template.metadata.annotations;
        assert.strictEqual(annotations["prometheus.io/scrape"], "true");
        assert.strictEqual(annotations["prometheus.io/port"], "3903");
        assert.ok(run.k8s(T.Service, "visits-headless").inputs.spec.ports.some((p: Any) => p.name === "metrics" && p.port === 3903));
        assert.ok(!run.k8s(T.Service, "visits").inputs.spec.ports.some((p: Any) => p.name === "metrics"));
        assert.strictEqual(run.ofType(T.ServiceMonitor).length, 0);
        const datastore = run.k8s(T.StatefulSet, "datastore").inputs.spec.template;
        assert.strictEqual(datastore.spec.initContainers, undefined, "no sidecar without metrics");
        assert.strictEqual(datastore.metadata.annotations["prometheus.io/scrape"], undefined);
    });

    it("passes the sidecar to the Helm release as values", () => {
        const values = run.ofType(T.Release).find((r) => r.inputs.name === "litecoin")?.inputs.values;
        assert.strictEqual(values.metrics.enabled, true);
        assert.strictEqual(values.metrics.logFile, "/data/debug.log");
        assert.strictEqual(values.metrics.program, fs.readFileSync(mtailProgramPath("litecoin-debug"), "utf8"));
        assert.strictEqual(values.metrics.scrapeAnnotations, true);
    });

    it("writes each app's alert rules to a ConfigMap that promtool accepts", () => {
        const maps = run.ofType(T.ConfigMap).filter((r) => r.inputs.metadata.name.endsWith("-alert-rules"));
        assert.deepStrictEqual(maps.map((m) => m.inputs.metadata.name).sort(), ["datastore-alert-rules", "litecoin-alert-rules", "visits-alert-rules"]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rules-"));
        try {
            for (const m of maps) {
                const [file, text] = Object.entries(m.inputs.data as Record<string, string>)[0];
                fs.writeFileSync(path.join(dir, file), text);
                const r = spawnSync(path.join(TOOL_BIN, "promtool"), ["check", "rules", "--lint-fatal", path.join(dir, file)], { encoding: "utf8" });
                assert.strictEqual(r.status, 0, `${file}: ${r.stdout}${r.stderr}`);
            }
            const visits = fs.readFileSync(path.join(dir, "visits.rules.yaml"), "utf8");
            assert.match(visits, /alert: StatefulAppMtailDown/);
            assert.match(visits, /job="kubernetes-pods"/, "mtail alerts use the annotation-scrape job");
            assert.doesNotMatch(fs.readFileSync(path.join(dir, "datastore.rules.yaml"), "utf8"), /Mtail/, "no mtail alerts without metrics");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("metrics and alerting with the Prometheus Operator (prod)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(stackFileConfig("prod"), { stack: "prod" });
    });

    it("creates a ServiceMonitor per app with metrics, selecting its Services, with the operator's labels", () => {
        const monitors = run.ofType(T.ServiceMonitor);
        assert.deepStrictEqual(monitors.map((m) => m.inputs.metadata.name).sort(), ["litecoin", "visits"]);
        for (const m of monitors) {
            assert.strictEqual(m.inputs.metadata.labels.release, "kube-prometheus-stack");
            assert.deepStrictEqual(Object.keys(m.inputs.spec.selector.matchLabels).sort(), [...SELECTOR_KEYS].sort());
            assert.deepStrictEqual(
                m.inputs.spec.endpoints.map((e: Any) => e.port),
                ["metrics"],
            );
            assert.deepStrictEqual(m.inputs.spec.namespaceSelector.matchNames, ["stateful-prod"]);
        }
        const annotations = run.k8s(T.StatefulSet, "visits").inputs.spec.template.metadata.annotations;
        assert.strictEqual(annotations["prometheus.io/scrape"], undefined, "no scrape annotations with the operator");
    });

    it("sends ServiceMonitors and PrometheusRules only after reading the operator's CRDs (an absent CRD fails preview at once)", () => {
        const reads = PROMETHEUS_OPERATOR_CRDS.map(
            (crd) =>
                `urn:pulumi:prod::stateful-apps::kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition::monitoring.prometheusOperator-requires-${crd}`,
        );
        for (const r of [...run.ofType(T.ServiceMonitor), ...run.ofType(T.PrometheusRule)]) {
            for (const read of reads) assert.ok(r.dependsOn.includes(read), `${r.name} depends on ${read}`);
        }
    });

    it("creates a PrometheusRule per app whose mtail alerts use the ServiceMonitor's job (the headless Service)", () => {
        const rules = run.ofType(T.PrometheusRule);
        assert.deepStrictEqual(rules.map((r) => r.inputs.metadata.name).sort(), ["datastore-alert-rules", "litecoin-alert-rules", "visits-alert-rules"]);
        const visits = rules.find((r) => r.inputs.metadata.name === "visits-alert-rules")?.inputs.spec;
        const names = visits.groups[0].rules.map((r: Any) => r.alert);
        assert.ok(names.includes("StatefulAppPodNotReady") && names.includes("StatefulAppVolumeNearlyFull") && names.includes("StatefulAppMtailDown"));
        assert.match(JSON.stringify(visits), /job=\\"visits-headless\\"/);
        assert.strictEqual(run.ofType(T.ConfigMap).filter((r) => r.inputs.metadata.name.endsWith("-alert-rules")).length, 0);
    });
});

describe("data-load Job", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: runs after the datastore, waits for its Service, bounded and restricted`, async () => {
            const run = await runProgram(stackFileConfig(stack), { stack });
            const [job] = run.ofType(T.Job);
            assert.ok(job, "a Job is registered");
            assert.match(job.inputs.metadata.name, /^datastore-data-load-[0-9a-f]{8}$/);
            // dependsOn the component: the SDK sends the component's resources, the StatefulSet among them.
            const sts = run.k8s(T.StatefulSet, "datastore");
            assert.ok(job.dependsOn.includes(sts.urn), "the Job waits for the datastore StatefulSet");
            const spec = job.inputs.spec;
            assert.strictEqual(spec.backoffLimit, 4);
            assert.strictEqual(spec.activeDeadlineSeconds, 900);
            assert.strictEqual(spec.template.spec.restartPolicy, "Never");
            assert.strictEqual(job.inputs.metadata.annotations["pulumi.com/skipAwait"], undefined, "Pulumi waits for completion");
            const wait = spec.template.spec.initContainers[0];
            assert.match(wait.command[2], /until nc -z -w 2 datastore 9042/);
            const load = spec.template.spec.containers[0];
            assert.deepStrictEqual(load.command.slice(0, 3), ["cqlsh", "datastore", "9042"]);
            assert.ok(load.env.some((e: Any) => e.name === "CASSANDRA_ADMIN_PASSWORD" && e.valueFrom.secretKeyRef.name === "datastore-credentials"));
            const labels = spec.template.metadata.labels;
            assert.ok(!SELECTOR_KEYS.every((k) => labels[k] === "datastore"), "the app's Services and PDB do not select the Job's pod");
        });
    }

    it("keeps its name while the load is unchanged and gets a new one when it changes; waitForCompletion false skips the await", async () => {
        const config = stackFileConfig("dev");
        const again = await runProgram(config, { stack: "dev" });
        const first = again.ofType(T.Job)[0].inputs.metadata.name;
        assert.strictEqual((await runProgram(config, { stack: "dev" })).ofType(T.Job)[0].inputs.metadata.name, first);
        const apps = structuredClone(config["stateful-apps:apps"]) as Any[];
        const ds = apps.find((a) => a.name === "datastore");
        ds.dataLoad = {
            ...appConfig("dev", "datastore").dataLoad,
            command: ["cqlsh", "datastore", "9042", "-e", "SELECT now() FROM system.local"],
            waitForCompletion: false,
            ttlSecondsAfterFinished: 3600,
        };
        const changed = (await runProgram({ ...config, "stateful-apps:apps": apps }, { stack: "dev" })).ofType(T.Job)[0].inputs;
        assert.notStrictEqual(changed.metadata.name, first);
        assert.strictEqual(changed.metadata.annotations["pulumi.com/skipAwait"], "true");
        assert.strictEqual(changed.spec.ttlSecondsAfterFinished, 3600);
    });
});

describe("observability assets shipped with the program", () => {
    it("has a Dockerfile for the mtail image the stacks reference", () => {
        const dockerfile = fs.readFileSync(path.join(ROOT, "observability", "mtail-image", "Dockerfile"), "utf8");
        const pinned = /^MTAIL_DEB_VERSION=(.+)$/m.exec(fs.readFileSync(path.join(ROOT, "scripts", "versions.env"), "utf8"))?.[1];
        assert.ok(pinned && dockerfile.includes(`ARG MTAIL_VERSION=${pinned}`), "the image installs the mtail version the tests run");
        assert.match(dockerfile, /^USER 65534/m);
    });
});

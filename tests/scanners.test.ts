/**
 * Two independent scanners, kube-score 1.20 (github.com/zegl/kube-score, built from its Go module by
 * scripts/toolchain) and checkov (PyPI, pip-installed by scripts/toolchain), over every object this project deploys:
 *   - native path: the Kubernetes objects `index.ts` registers under Pulumi mocks, for each stack;
 *   - Helm path: `helm template` of the bundled chart for every app of each stack (hooks and test Pod included).
 * A kube-score check graded WARNING or CRITICAL fails, and so does any failed checkov check. Checks turned off are
 * listed with reasons in policy/kube-score.yaml and policy/checkov.yaml.
 *
 * What this proves: the manifests pass both scanners' static checks. What it does not: that they behave well on
 * a cluster (both read YAML only).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { ROOT, runProgram, stackFileConfig } from "./harness";
import { render, stackConfig, TOOL_BIN } from "./helm";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

interface SkipFile {
    kubernetesVersion: string;
    flags: { flag: string; why: string }[];
    ignoreTests: { test: string; why: string }[];
    objectIgnores: { object: string; test: string; why: string }[];
}

const SKIPS: SkipFile = parse(fs.readFileSync(path.join(ROOT, "policy", "kube-score.yaml"), "utf8"));
const KUBE_SCORE = path.join(TOOL_BIN, "kube-score");

/** Kinds kube-score has checks for, among those we deploy. */
const SCORED_KINDS = ["StatefulSet", "Service", "PodDisruptionBudget", "Job", "Pod", "NetworkPolicy"];

/** kube-score's grades (scorecard.Grade). */
const GRADE: Record<number, string> = { 0: "CRITICAL", 1: "CRITICAL", 5: "WARNING", 7: "ALMOST_OK", 10: "OK" };

/** Runs kube-score on objects and returns one line per failed check: `<kind>/<name>: <check id> <grade>: <summary>`. */
function kubeScore(objects: Any[]): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-score-"));
    const file = path.join(dir, "objects.yaml");
    fs.writeFileSync(file, objects.map((o) => stringify(o)).join("---\n"));
    const args = [
        "score",
        file,
        "--output-format",
        "json",
        "--kubernetes-version",
        SKIPS.kubernetesVersion,
        ...SKIPS.flags.map((f) => f.flag),
        ...SKIPS.ignoreTests.flatMap((t) => ["--ignore-test", t.test]),
    ];
    const r = spawnSync(KUBE_SCORE, args, { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.error) {
        throw new Error(`cannot run ${KUBE_SCORE} (run scripts/toolchain kube-score): ${r.error.message}`);
    }
    let report: Any[];
    try {
        report = JSON.parse(r.stdout);
    } catch {
        throw new Error(`kube-score exited ${r.status} without a JSON report: ${r.stderr}`);
    }
    // kube-score reports the kinds it has checks for; each of those must be in the report.
    const scored = new Set(report.map((o: Any) => `${o.type_meta.kind}/${o.object_meta.name}`));
    for (const o of objects.filter((x) => SCORED_KINDS.includes(x.kind))) {
        assert.ok(scored.has(`${o.kind}/${o.metadata.name}`), `kube-score did not score ${o.kind}/${o.metadata.name}`);
    }
    return report.flatMap((o: Any) =>
        (o.checks as Any[])
            .filter((c) => !c.skipped && c.grade <= 5)
            .map(
                (c) =>
                    `${o.object_name}: ${c.check.id} ${GRADE[c.grade] ?? c.grade}: ${(c.comments ?? []).map((m: Any) => `${m.path ? `(${m.path}) ` : ""}${m.summary}`).join("; ")}`,
            ),
    );
}

/** A skip file's entries: at least one, each with a real reason (40 characters or more). */
function assertReasons(entries: { why?: unknown }[]): void {
    assert.ok(entries.length > 0);
    for (const e of entries) {
        assert.ok(typeof e.why === "string" && e.why.trim().length >= 40, `no real reason for ${JSON.stringify(e)}`);
    }
}

/** Every `kube-score/ignore` annotation must be one policy/kube-score.yaml lists (no silent ignores). */
function assertIgnoresListed(objects: Any[]): void {
    for (const o of objects) {
        const ignored = o.metadata?.annotations?.["kube-score/ignore"];
        if (ignored) {
            for (const test of String(ignored)
                .split(",")
                .map((t) => t.trim())) {
                assert.ok(
                    SKIPS.objectIgnores.some((i) => i.test === test && i.object.split("/")[0] === o.kind),
                    `${o.kind}/${o.metadata.name} ignores ${test}, which policy/kube-score.yaml does not justify`,
                );
            }
        }
    }
}

describe("kube-score (independent manifest scanner)", () => {
    it("policy/kube-score.yaml gives a reason for every check it turns off", () => {
        assertReasons([...SKIPS.flags, ...SKIPS.ignoreTests, ...SKIPS.objectIgnores]);
    });

    it("does fail a manifest that breaks its checks (the scanner is live)", () => {
        const bad = {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "bad", namespace: "x" },
            spec: {
                serviceName: "bad",
                replicas: 1,
                selector: { matchLabels: { a: "b" } },
                template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "busybox:latest" }] } },
            },
        };
        const failures = kubeScore([bad]);
        assert.ok(
            failures.some((f) => /container-resources CRITICAL/.test(f)),
            failures.join("\n"),
        );
        assert.ok(
            failures.some((f) => /container-image-tag CRITICAL/.test(f)),
            failures.join("\n"),
        );
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: the native objects index.ts registers pass`, async () => {
            const run = await runProgram(stackFileConfig(stack), { stack });
            const objects = run.registrations.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/")).map((r) => r.inputs);
            assert.ok(objects.some((o) => o.kind === "StatefulSet"));
            assertIgnoresListed(objects);
            assert.deepStrictEqual(kubeScore(objects), []);
        });

        const cfg = stackConfig(stack);
        for (const app of cfg.apps) {
            it(`${stack}/${app.name}: the chart's rendered objects pass`, () => {
                const objects = render(app, cfg.namespace.name);
                assertIgnoresListed(objects);
                assert.deepStrictEqual(kubeScore(objects), []);
            });
        }
    }
});

interface CheckovSkips {
    skipChecks: { check: string; why: string }[];
    objectSkips: { object: string; check: string; why: string }[];
}

const CHECKOV_SKIPS: CheckovSkips = parse(fs.readFileSync(path.join(ROOT, "policy", "checkov.yaml"), "utf8"));
const CHECKOV = path.join(TOOL_BIN, "checkov");

/** Runs checkov on objects and returns one line per failed check: `<resource>: <check id> <check name>`. */
function checkov(objects: Any[]): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "checkov-"));
    const file = path.join(dir, "objects.yaml");
    fs.writeFileSync(file, objects.map((o) => stringify(o)).join("---\n"));
    const args = [
        "--framework",
        "kubernetes",
        "--quiet",
        "--compact",
        "--output",
        "json",
        "--file",
        file,
        "--skip-check",
        CHECKOV_SKIPS.skipChecks.map((c) => c.check).join(","),
    ];
    const r = spawnSync(CHECKOV, args, { encoding: "utf8", maxBuffer: 64 << 20 });
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.error) {
        throw new Error(`cannot run ${CHECKOV} (run scripts/toolchain checkov): ${r.error.message}`);
    }
    let report: Any;
    try {
        report = JSON.parse(r.stdout);
    } catch {
        throw new Error(`checkov exited ${r.status} without a JSON report: ${r.stderr.slice(-2000)}`);
    }
    const reports: Any[] = Array.isArray(report) ? report : [report];
    assert.ok(
        reports.some((x) => x.summary?.passed > 0),
        `checkov checked nothing: ${r.stdout.slice(0, 500)}`,
    );
    return reports.flatMap((x) => (x.results?.failed_checks ?? []).map((c: Any) => `${c.resource}: ${c.check_id} ${c.check_name}`));
}

/** Every `checkov.io/skip*` annotation must be one policy/checkov.yaml lists (no silent skips). */
function assertCheckovSkipsListed(objects: Any[]): void {
    for (const o of objects) {
        for (const [k, v] of Object.entries((o.metadata?.annotations ?? {}) as Record<string, string>)) {
            if (k.startsWith("checkov.io/skip")) {
                const check = String(v).split("=")[0];
                assert.ok(
                    CHECKOV_SKIPS.objectSkips.some((s) => s.check === check && s.object.split("/")[0] === o.kind),
                    `${o.kind}/${o.metadata.name} skips ${check}, which policy/checkov.yaml does not justify`,
                );
            }
        }
    }
}

describe("checkov (a second, independent manifest scanner)", function () {
    this.timeout(120_000);

    it("policy/checkov.yaml gives a reason for every check it skips", () => {
        assertReasons([...CHECKOV_SKIPS.skipChecks, ...CHECKOV_SKIPS.objectSkips]);
    });

    it("does fail a manifest that breaks its checks (the scanner is live)", () => {
        const bad = {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "bad" },
            spec: {
                serviceName: "bad",
                replicas: 1,
                selector: { matchLabels: { a: "b" } },
                template: {
                    metadata: { labels: { a: "b" } },
                    spec: { containers: [{ name: "c", image: "busybox:latest", securityContext: { privileged: true } }] },
                },
            },
        };
        const failures = checkov([bad]);
        assert.ok(
            failures.some((f) => / CKV_K8S_16 /.test(f)),
            failures.join("\n"),
        ); // privileged
        assert.ok(
            failures.some((f) => / CKV_K8S_21 /.test(f)),
            failures.join("\n"),
        ); // default namespace
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: the native objects index.ts registers pass`, async () => {
            const run = await runProgram(stackFileConfig(stack), { stack });
            const objects = run.registrations.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/")).map((r) => r.inputs);
            assertCheckovSkipsListed(objects);
            assert.deepStrictEqual(checkov(objects), []);
        });

        it(`${stack}: the chart's rendered objects pass, for every app`, () => {
            const cfg = stackConfig(stack);
            const objects = cfg.apps.flatMap((app) => render(app, cfg.namespace.name));
            assertCheckovSkipsListed(objects);
            assert.deepStrictEqual(checkov(objects), []);
        });
    }
});

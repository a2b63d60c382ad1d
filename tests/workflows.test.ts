/**
 * The GitHub Actions workflows: actionlint (built by `scripts/toolchain actionlint`) must report nothing, and the
 * properties that keep deployments safe are asserted on the parsed YAML: pull requests only preview (each stack,
 * with the policy pack, commented on the PR), main deploys dev then prod through the protected `prod`
 * environment, a running `up` is never cancelled, and the token's permissions are least-privilege.
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { ROOT } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const ACTIONLINT = path.join(execFileSync("bash", [path.join(ROOT, "scripts", "toolchain"), "--bin-dir"], { encoding: "utf8" }).trim(), "actionlint");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const STACKS = ["dev", "prod"];
const PULUMI_ACTION = /^pulumi\/actions@v\d+$/;

function workflowFiles(): string[] {
    return fs
        .readdirSync(WORKFLOWS)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => path.join(WORKFLOWS, f));
}

function workflow(name: string): Any {
    return parse(fs.readFileSync(path.join(WORKFLOWS, name), "utf8"));
}

/**
 * actionlint over the given files. Shellcheck and pyflakes integration is off so the result does not depend on
 * what else happens to be on PATH.
 */
function actionlint(files: string[]): { status: number; output: string } {
    const r = spawnSync(ACTIONLINT, ["-no-color", "-shellcheck=", "-pyflakes=", ...files], { cwd: ROOT, encoding: "utf8" });
    if (r.error) {
        throw new Error(`cannot run ${ACTIONLINT} (run scripts/toolchain actionlint): ${r.error.message}`);
    }
    return { status: r.status ?? -1, output: r.stdout + r.stderr };
}

/** `on:` as an object, whichever of the three YAML forms (string, list, map) the workflow uses. */
function triggers(wf: Any): Record<string, unknown> {
    const on = wf.on;
    if (typeof on === "string") return { [on]: null };
    if (Array.isArray(on)) return Object.fromEntries(on.map((t: string) => [t, null]));
    return on;
}

function steps(job: Any): Any[] {
    return job.steps ?? [];
}

function pulumiSteps(job: Any): Any[] {
    return steps(job).filter((s) => PULUMI_ACTION.test(s.uses ?? ""));
}

function asList(v: unknown): unknown[] {
    return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

function environmentName(job: Any): string | undefined {
    return typeof job.environment === "string" ? job.environment : job.environment?.name;
}

/** PULUMI_VERSION from scripts/pulumi.env, without its "v". */
function pinnedPulumiVersion(): string {
    const m = /^PULUMI_VERSION=v?(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, "scripts", "pulumi.env"), "utf8"));
    assert.ok(m, "PULUMI_VERSION is missing from scripts/pulumi.env");
    return m[1];
}

/** Asserts the pulumi/actions step runs COMMAND on STACK with the policy pack and that stack's generated config. */
function assertPulumiStep(job: Any, command: string, stack: string): Any {
    const found = pulumiSteps(job);
    assert.strictEqual(found.length, 1, `expected one pulumi/actions step, found ${found.length}`);
    const step = found[0];
    const w = step.with;
    assert.strictEqual(w.command, command);
    assert.strictEqual(w["stack-name"], stack);
    assert.strictEqual(w.policyPacks, "policy");
    assert.strictEqual(w.policyPackConfigs, `policy-config.${stack}.json`);
    assert.strictEqual(String(w["pulumi-version"]), pinnedPulumiVersion(), "pulumi-version must equal PULUMI_VERSION in scripts/pulumi.env");
    assert.strictEqual(w["cloud-url"], "${{ secrets.PULUMI_BACKEND_URL }}");
    assert.strictEqual(step.env?.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");

    // The config file is generated, from the same stack, before the step that reads it.
    const all = steps(job);
    const gen = all.findIndex((s) => typeof s.run === "string" && s.run.includes("scripts/policy-config.ts"));
    assert.ok(gen >= 0 && gen < all.indexOf(step), "the policy config must be generated before pulumi runs");
    const run: string = all[gen].run;
    const stackArg = stack.startsWith("${{") ? `"$STACK"` : stack;
    assert.match(run, /^npx ts-node --transpile-only scripts\/policy-config\.ts /);
    assert.ok(run.includes(`scripts/policy-config.ts ${stackArg} > `), run);
    if (stack.startsWith("${{")) assert.strictEqual(all[gen].env?.STACK, stack);
    return step;
}

describe("GitHub Actions workflows", () => {
    it("pass actionlint", () => {
        const files = workflowFiles();
        assert.deepStrictEqual(files.map((f) => path.basename(f)).sort(), ["deploy.yml", "preview.yml"]);
        const r = actionlint(files);
        assert.strictEqual(r.status, 0, `actionlint reported:\n${r.output}`);
        assert.strictEqual(r.output.trim(), "");
    });

    it("actionlint does catch a broken workflow (the check above is not vacuous)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
        const bad = path.join(dir, "bad.yml");
        fs.writeFileSync(bad, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n    steps:\n      - run: echo ${{ github.nope }}\n");
        try {
            const r = actionlint([bad]);
            assert.notStrictEqual(r.status, 0);
            assert.match(r.output, /missing/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    describe("preview.yml", () => {
        // Parsed in a hook, so a YAML error fails these tests instead of aborting the whole mocha run.
        let wf: Any;
        let job: Any;
        before(() => {
            wf = workflow("preview.yml");
            job = wf.jobs.preview;
        });

        it("runs on pull requests only", () => {
            assert.deepStrictEqual(Object.keys(triggers(wf)), ["pull_request"]);
        });

        it("is a matrix over the stacks dev and prod", () => {
            assert.deepStrictEqual(job.strategy.matrix.stack, STACKS);
            assert.strictEqual(job.strategy["fail-fast"], false, "one stack's failure must not hide the other's preview");
            // Every stack has its own kubeconfig secret, and no stack falls back to another's.
            const secrets = job.strategy.matrix.include.map((i: Any) => [i.stack, i.kubeconfig_secret]);
            assert.deepStrictEqual(secrets, [
                ["dev", "PREVIEW_KUBECONFIG_DEV"],
                ["prod", "PREVIEW_KUBECONFIG_PROD"],
            ]);
        });

        it("installs, tests, then previews the stack with the policy pack and comments on the PR", () => {
            const step = assertPulumiStep(job, "preview", "${{ matrix.stack }}");
            assert.strictEqual(step.with["comment-on-pr"], true);
            assert.strictEqual(step.with.diff, true);
            const runs = steps(job).map((s) => s.run);
            const at = steps(job).indexOf(step);
            assert.ok(runs.indexOf("npm ci") >= 0 && runs.indexOf("npm ci") < runs.indexOf("npm test"), "npm ci, then npm test");
            assert.ok(runs.indexOf("npm test") < at, "npm test before the preview");
            const node = steps(job).find((s) => /^actions\/setup-node@/.test(s.uses ?? ""));
            assert.strictEqual(String(node?.with?.["node-version"]), "22");
        });

        it("has least-privilege permissions: read the code, write the PR comment", () => {
            assert.deepStrictEqual(wf.permissions, { contents: "read", "pull-requests": "write" });
            assert.strictEqual(job.permissions, undefined, "the job must not widen the workflow's permissions");
        });

        it("serialises previews per stack and pull request", () => {
            assert.match(job.concurrency.group, /\$\{\{ matrix\.stack \}\}/);
            assert.match(job.concurrency.group, /github\.event\.pull_request\.number/);
        });
    });

    describe("deploy.yml", () => {
        let wf: Any;
        before(() => {
            wf = workflow("deploy.yml");
        });

        it("runs on pushes to main and by hand, never on pull requests", () => {
            const on = triggers(wf) as Any;
            assert.deepStrictEqual(Object.keys(on).sort(), ["push", "workflow_dispatch"]);
            assert.deepStrictEqual(on.push.branches, ["main"]);
        });

        it("deploys dev, then prod after dev, each in its own environment", () => {
            assert.deepStrictEqual(Object.keys(wf.jobs), ["dev", "prod"]);
            assert.deepStrictEqual(asList(wf.jobs.prod.needs), ["dev"]);
            assert.deepStrictEqual(asList(wf.jobs.dev.needs), []);
            for (const stack of STACKS) {
                assert.strictEqual(environmentName(wf.jobs[stack]), stack);
            }
        });

        for (const stack of STACKS) {
            it(`${stack}: pulumi up with the policy pack, refreshing first`, () => {
                const step = assertPulumiStep(wf.jobs[stack], "up", stack);
                assert.strictEqual(step.with.refresh, true);
                assert.ok(!step.with["comment-on-pr"], "no PR to comment on");
            });

            it(`${stack}: one up at a time, and a running up is never cancelled`, () => {
                const c = wf.jobs[stack].concurrency;
                assert.strictEqual(c.group, `deploy-${stack}`);
                assert.strictEqual(c["cancel-in-progress"], false);
            });
        }

        it("has least-privilege permissions: read the code", () => {
            assert.deepStrictEqual(wf.permissions, { contents: "read" });
            for (const job of Object.values<Any>(wf.jobs)) {
                assert.strictEqual(job.permissions, undefined, "a job must not widen the workflow's permissions");
            }
        });
    });

    describe("every workflow", () => {
        let all: { file: string; wf: Any }[];
        before(() => {
            all = workflowFiles().map((f) => ({ file: path.basename(f), wf: workflow(path.basename(f)) }));
        });

        it("never runs pulumi up (or destroy, refresh) on a pull request", () => {
            for (const { file, wf } of all) {
                const on = Object.keys(triggers(wf));
                if (!on.some((t) => t.startsWith("pull_request"))) continue;
                for (const [name, job] of Object.entries<Any>(wf.jobs)) {
                    for (const s of steps(job)) {
                        if (PULUMI_ACTION.test(s.uses ?? "")) {
                            assert.strictEqual(s.with.command, "preview", `${file} ${name}: pulumi/actions runs '${s.with.command}' on a pull request`);
                        }
                        assert.doesNotMatch(String(s.run ?? ""), /\bpulumi\s+(up|update|destroy|refresh)\b/, `${file} ${name}: runs pulumi on a pull request`);
                    }
                }
            }
        });

        it("declares its permissions at the top, and none is write-all or id-token", () => {
            for (const { file, wf } of all) {
                assert.strictEqual(typeof wf.permissions, "object", `${file}: no top-level permissions (the default token may be read-write)`);
                assert.ok(!("id-token" in wf.permissions), `${file}: id-token is not needed`);
            }
        });

        it("passes secrets to scripts through env, never inline in a run script", () => {
            for (const { file, wf } of all) {
                for (const [name, job] of Object.entries<Any>(wf.jobs)) {
                    for (const s of steps(job)) {
                        assert.doesNotMatch(String(s.run ?? ""), /\$\{\{\s*secrets[.[]/, `${file} ${name}: a secret is expanded into a script`);
                        assert.doesNotMatch(String(s.run ?? ""), /set -x|set -o xtrace/, `${file} ${name}: xtrace would print the secrets in env`);
                    }
                }
            }
        });
    });
});

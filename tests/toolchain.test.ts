/**
 * scripts/toolchain: every tool the tests use is ready (`npm run test:unit` ensures them before mocha), reports the
 * version pinned in scripts/versions.env (so the version ldflags took effect), and a second run is a no-op.
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

const TOOLCHAIN = path.join(ROOT, "scripts", "toolchain");
const BIN = execFileSync("bash", [TOOLCHAIN, "--bin-dir"], { encoding: "utf8" }).trim();

/** A `KEY=value` pins file under scripts/ (versions.env, pulumi.env) as a map. */
function pins(file: string): Record<string, string> {
    const text = fs.readFileSync(path.join(ROOT, "scripts", file), "utf8");
    return Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** Runs a script (bash) from the project directory; its exit status and output. */
function runScript(script: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("bash", [script, ...args], { cwd: ROOT, encoding: "utf8" });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const toolchain = (...args: string[]) => runScript(TOOLCHAIN, ...args);

const ENV = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH}` };

/** The tool as the tests run it: from the cache, else from PATH (where scripts/toolchain found it). */
function run(tool: string, ...args: string[]): string {
    const r = spawnSync(tool, args, { encoding: "utf8", env: ENV });
    assert.ifError(r.error);
    return r.stdout + r.stderr;
}

const TOOLS = ["helm", "kube-score", "actionlint", "checkov", "mtail", "promtool"];

describe("scripts/toolchain", () => {
    const v = pins("versions.env");

    it("--help names every tool and the cache", () => {
        const r = toolchain("--help");
        assert.strictEqual(r.status, 0);
        for (const t of TOOLS) assert.match(r.stdout, new RegExp(`^  ${t} `, "m"));
        assert.match(r.stdout, /stateful-apps\/toolchain\/<hash/);
    });

    it("refuses an unknown tool with exit code 2", () => {
        const r = toolchain("kubectl");
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /unknown argument 'kubectl'/);
    });

    it("is a no-op once the tools are there: nothing is built or downloaded", () => {
        // Without the tools, the run below would build them (minutes) instead of failing fast.
        const missing = TOOLS.filter((t) => spawnSync("bash", ["-c", `command -v ${t}`], { env: ENV }).status !== 0);
        assert.deepStrictEqual(missing, [], `run: bash scripts/toolchain ${TOOLS.join(" ")}`);
        const r = toolchain(...TOOLS);
        assert.strictEqual(r.status, 0, r.stderr);
        const lines = r.stderr.trim().split("\n");
        assert.strictEqual(lines.length, TOOLS.length, r.stderr);
        for (const line of lines) assert.match(line, /: (cached at|using .* from PATH)/);
    });

    it("provides the pinned versions (version ldflags set, Debian packages as pinned)", () => {
        assert.strictEqual(run("helm", "version", "--template", "{{.Version}}"), v.HELM_VERSION);
        assert.match(run("kube-score", "version"), new RegExp(`^kube-score version: ${v.KUBE_SCORE_VERSION.replace(/^v/, "")},`));
        assert.strictEqual(run("actionlint", "-version").split("\n")[0], v.ACTIONLINT_VERSION.replace(/^v/, ""));
        assert.strictEqual(run("checkov", "--version").trim(), v.CHECKOV_VERSION);
        assert.ok(run("mtail", "--version").includes(` git revision ${v.MTAIL_DEB_VERSION} `));
        assert.ok(run("promtool", "--version").includes(`revision: ${v.PROMETHEUS_DEB_VERSION})`));
    });
});

describe("scripts/pulumi-toolchain", () => {
    const pulumiToolchain = (...args: string[]) => runScript(path.join(ROOT, "scripts", "pulumi-toolchain"), ...args);
    const pulumiPins = pins("pulumi.env");

    it("--help names the CLI and plugin versions and the cache", () => {
        const r = pulumiToolchain("--help");
        assert.strictEqual(r.status, 0);
        assert.ok(r.stdout.includes(`Pulumi CLI ${pulumiPins.PULUMI_VERSION}`), r.stdout);
        assert.ok(r.stdout.includes(`kubernetes resource plugin ${pulumiPins.PULUMI_KUBERNETES_VERSION}`), r.stdout);
        assert.match(r.stdout, /stateful-apps\/pulumi\/<hash/);
    });

    it("refuses an unknown command with exit code 2", () => {
        const r = pulumiToolchain("install");
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /unknown command 'install'/);
    });

    it("bin-dir creates nothing and is keyed by pulumi.env", () => {
        const r = pulumiToolchain("bin-dir");
        assert.strictEqual(r.status, 0);
        assert.match(r.stdout.trim(), /stateful-apps\/pulumi\/[0-9a-f]{12}\/bin$/);
    });

    it("status reports what is there (exit 0 only with the CLI and the kubernetes plugin)", () => {
        const r = pulumiToolchain("status");
        const lines = r.stdout
            .trim()
            .split("\n")
            .map((l) => l.split(":")[0]);
        assert.deepStrictEqual(lines, ["pulumi", "kubernetes plugin", "pulumi-language-nodejs", "random plugin"]);
        const ready = !/^(pulumi|kubernetes plugin): absent$/m.test(r.stdout);
        assert.strictEqual(r.status, ready ? 0 : 1, r.stdout);
        if (ready) {
            const cli = /^pulumi: (\S+) \((v[^)]+)\)$/m.exec(r.stdout);
            assert.ok(cli, r.stdout);
            assert.ok(
                cli[2].localeCompare(pulumiPins.PULUMI_VERSION, undefined, { numeric: true }) >= 0,
                `the CLI reports its version (ldflag set): ${cli[2]}`,
            );
        }
    });
});

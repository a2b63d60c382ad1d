/**
 * Test helpers around the real Helm CLI (built by `scripts/toolchain helm`): run it, render the bundled chart
 * with the values `helmValues()` computes for an app, and read a stack file's validated config.
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { CHART_PATH } from "../components/helm-stateful-app";
import { helmValues } from "../lib/helm-values";
import { AppConfig, NetworkPeer, StackConfig } from "../config/schema";
import { readStackConfig } from "../lib/stack-file";
import { ROOT } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** The cache directory `scripts/toolchain` builds tools into. */
export const TOOL_BIN = execFileSync("bash", [path.join(ROOT, "scripts", "toolchain"), "--bin-dir"], { encoding: "utf8" }).trim();
export const HELM = path.join(TOOL_BIN, "helm");
/** A stand-in for the Secret checksum (the real one is SHA-256 of the password). */
export const CHECKSUM = "0".repeat(64);

/** A stack file's config, validated as `pulumi up` would. */
export function stackConfig(stack: string): StackConfig {
    return readStackConfig(ROOT, stack);
}

/** Runs helm with `values` written to a temporary values file. */
export function helm(args: string[], values?: object): { status: number; stdout: string; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chart-test-"));
    const valuesArgs: string[] = [];
    if (values) {
        fs.writeFileSync(path.join(dir, "values.json"), JSON.stringify(values));
        valuesArgs.push("-f", path.join(dir, "values.json"));
    }
    const r = spawnSync(HELM, [...args, ...valuesArgs], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.error) {
        throw new Error(`cannot run ${HELM} (run scripts/toolchain helm): ${r.error.message}`);
    }
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `helm template` of the bundled chart for an app: every object, hooks and test Pod included. `clusterDomain` and
 * `scrapeFrom`: passed as the program passes the stack's `clusterDomain` and `monitoring.scrapeFrom`; default: none
 * passed (the chart's own defaults).
 */
export function render(app: AppConfig, namespace: string, clusterDomain?: string, scrapeFrom?: readonly NetworkPeer[]): Any[] {
    const r = helm(["template", app.name, CHART_PATH, "--namespace", namespace], helmValues(app, CHECKSUM, { clusterDomain, scrapeFrom }));
    assert.strictEqual(r.status, 0, r.stderr);
    return parseAllDocuments(r.stdout)
        .map((d) => d.toJS())
        .filter((d) => d);
}

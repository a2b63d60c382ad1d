/**
 * Helpers for the e2e suite: this project's stacks on the real Pulumi engine (deploy/engine.ts: the CLI, the
 * kubernetes plugin, the Automation API inline program) against a local cluster of their own, with a throwaway
 * `file://` backend, and a timer that prints how long each step took.
 */
import * as assert from "assert";
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { engineSettings, EngineSettings, ensureToolchain, openStack, OpenStack, ROOT, Toolchain } from "../../deploy/engine";
import { PROJECT } from "../../lib/names";
import { LocalCluster } from "../cluster";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

/** Prints `[e2e] <label>: <seconds> s` after `fn`, and returns its result. */
export async function timed<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
    const start = Date.now();
    try {
        return await fn();
    } finally {
        process.stdout.write(`      [e2e] ${label}: ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
    }
}

/** The committed `Pulumi.<stack>.yaml` with `mutate` applied to its `config` map (full keys, `stateful-apps:apps`). */
export function stackFileWith(stack: string, mutate: (config: Record<string, Any>) => void): string {
    const doc = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    mutate(doc.config);
    return stringify(doc, { lineWidth: 0 });
}

/** `text` (a stack file) with `kubernetes:context` set to `context`. */
export function withContext(text: string, context: string): string {
    const doc = parse(text);
    doc.config["kubernetes:context"] = context;
    return stringify(doc, { lineWidth: 0 });
}

/** The app named `name` in a config map's `stateful-apps:apps`. */
export function appIn(config: Record<string, Any>, name: string): Any {
    const app = (config[`${PROJECT}:apps`] as Any[]).find((a) => a.name === name);
    assert.ok(app, `no app ${name}`);
    return app;
}

/** One e2e environment: a cluster, a backend in a temp dir, the toolchain. */
export class EngineEnv {
    readonly cluster: LocalCluster;
    readonly settings: EngineSettings;
    readonly toolchain: Toolchain;
    readonly stateDir: string;

    constructor(clusterName: string, stateDir: string) {
        this.cluster = new LocalCluster(clusterName);
        this.stateDir = stateDir;
        // Only our own variables: a developer's PULUMI_BACKEND_URL or passphrase must not leak into the suite.
        this.settings = engineSettings({ STATEFUL_APPS_STATE_DIR: stateDir, HOME: process.env.HOME });
        this.toolchain = ensureToolchain();
    }

    /** The kubeconfig context of this environment's cluster (kwokctl names it `kwok-<cluster>`). */
    get context(): string {
        return `kwok-${this.cluster.name}`;
    }

    /**
     * Opens `stack` with its committed config, or with `stackFileText` (a mutated copy) instead, either way with
     * `kubernetes:context` pointed at this environment's cluster (the stack files name other clusters).
     */
    open(stack: string, stackFileText?: string): Promise<OpenStack> {
        const text = withContext(stackFileText ?? fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"), this.context);
        return openStack(stack, { settings: this.settings, toolchain: this.toolchain, kubeconfig: this.cluster.kubeconfig, stackFileText: text });
    }

    /** The stack's checkpoint file on the `file://` backend (what `pulumi stack export` would print, encrypted). */
    stateFile(stack: string): string {
        const dir = this.settings.backendUrl.slice("file://".length);
        return path.join(dir, ".pulumi", "stacks", PROJECT, `${stack}.json`);
    }

    /**
     * URN -> outputs of every resource the stack manages (reads left out), as JSON.
     * Secrets read `[secret]`: the engine may re-encrypt an unchanged value with a new nonce. With `withoutStatus`,
     * what controllers report is left out too: `status`, and the `resourceVersion` and `managedFields` that every
     * status write changes.
     */
    resources(stack: string, withoutStatus = false): Map<string, string> {
        const state = JSON.parse(fs.readFileSync(this.stateFile(stack), "utf8"));
        const masked = (k: string, v: unknown) =>
            withoutStatus && (k === "status" || k === "resourceVersion" || k === "managedFields")
                ? undefined
                : typeof v === "object" && v !== null && "ciphertext" in v
                  ? "[secret]"
                  : v;
        return new Map(
            (state.checkpoint.latest.resources ?? []).filter((r: Any) => !r.external).map((r: Any) => [r.urn, JSON.stringify(r.outputs ?? {}, masked)]),
        );
    }
}

/** Output lines captured from an engine operation, for assertions and for printing on failure. */
export function collector(): { onOutput: (s: string) => void; text: () => string } {
    const parts: string[] = [];
    return { onOutput: (s) => parts.push(s), text: () => parts.join("") };
}

/** The resource changes of an operation's summary, without `same` and `read`. */
export function changes(summary: { resourceChanges?: Record<string, number> }): Record<string, number> {
    return Object.fromEntries(Object.entries(summary.resourceChanges ?? {}).filter(([k, v]) => k !== "same" && k !== "read" && v > 0));
}

/**
 * Runs `up` (with `refresh`: `up --refresh`, reading the cluster into the state first) and returns its changes; fails
 * with the engine's output when it throws. `onOutput` also sees each piece of output as it comes.
 */
export async function up(stack: Stack, configFile: string, opts: { refresh?: boolean; onOutput?: (s: string) => void } = {}): Promise<Record<string, number>> {
    const out = collector();
    try {
        const onOutput = (s: string) => {
            out.onOutput(s);
            opts.onOutput?.(s);
        };
        const r = await stack.up({ configFile, onOutput, color: "never", refresh: opts.refresh });
        return changes(r.summary);
    } catch (e) {
        assert.fail(`up failed:\n${out.text().split("\n").slice(-60).join("\n")}\n${(e as Error).message.slice(-3000)}`);
    }
}

/** Engine output options shared by every operation: no colour, output collected by `out`. */
type Collect = { onOutput: (s: string) => void; color: "never" };

/**
 * Runs an operation that must succeed (e.g. `preview` with `expectNoChanges`), timed under `label`; on failure,
 * fails the test with the engine's output.
 */
export async function succeeds(label: string, op: (o: Collect) => Promise<unknown>): Promise<void> {
    const out = collector();
    await timed(label, () => op({ onOutput: out.onOutput, color: "never" })).catch((e) => assert.fail(`${label} failed:\n${out.text()}\n${e}`));
}

/** Runs an operation that must fail, timed under `label`; returns the engine's output and the error message. */
export async function fails(label: string, op: (o: Collect) => Promise<unknown>): Promise<string> {
    const out = collector();
    let error = "";
    await timed(label, () => op({ onOutput: out.onOutput, color: "never" })).then(
        () => assert.fail(`${label} succeeded:\n${out.text()}`),
        (e: Error) => (error = `${out.text()}\n${e.message}`),
    );
    return error;
}

/** Polls `check` until it returns true or `seconds` pass; then fails with `what`. */
export async function eventually(what: string, seconds: number, check: () => boolean): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
        if (check()) return;
        await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`timed out after ${seconds} s waiting for ${what}`);
}

/** The claims `data-<app>-<i>` of `namespace` whose ownerReferences are empty, once the controller released them all. */
export async function claimsReleased(cluster: { getJson(args: string[]): Any }, namespace: string, app: string): Promise<void> {
    await eventually(`the StatefulSet ${app} to release its PVCs (whenDeleted: Retain)`, 60, () =>
        (cluster.getJson(["pvc", "-n", namespace]).items as Any[])
            .filter((c) => new RegExp(`^data-${app}-\\d+$`).test(c.metadata.name))
            .every((c) => (c.metadata.ownerReferences ?? []).length === 0),
    );
}

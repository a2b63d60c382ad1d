/**
 * The main job: `npm run deploy -- <stack> [up|preview|refresh|destroy|cancel] [--yes] [--diff] [--expect-no-changes] [--refresh]`.
 *
 * 1. The engine: the Pulumi CLI and the kubernetes plugin from `scripts/pulumi-toolchain` (PATH, else built once).
 * 2. The cluster: `KUBECONFIG` when it names a reachable cluster, else the local cluster (`scripts/cluster up`:
 *    kwok fake nodes, so pods turn Ready without running a container). The stack's `kubernetes:context` must be
 *    one of that kubeconfig's contexts.
 * 3. The state: `PULUMI_BACKEND_URL`, else a `file://` backend under the per-user state dir; the passphrase from
 *    `PULUMI_CONFIG_PASSPHRASE(_FILE)`, else a documented local-only one (deploy/engine.ts `LOCAL_PASSPHRASE`).
 * 4. The run: the plain CLI (`pulumi <op> --stack <stack>`) when the Node.js language host is on PATH, else the same
 *    stack through the Automation API with `index.ts` as an inline program. Either way the config is the committed
 *    `Pulumi.<stack>.yaml` plus a local file for this machine (deploy/local-stack.ts), passed as `--config-file`.
 * 5. Recovery first (deploy/recover-run.ts): stale locks of an interrupted run cleared; before `up` and `refresh`,
 *    pending operations settled and the stack's Helm releases left `pending-*` rolled back.
 * 6. Afterwards: the stack outputs (secrets masked) and `kubectl get po,sts,svc,pvc` of the stack's namespace.
 *
 * Exit codes: 0 done; 1 the operation failed (the engine's message is printed); 2 usage; 3 the stack is locked by
 * a run that may still be going on (who holds it is printed); 130 stopped by Ctrl-C.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import type { OutputMap } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { kubeconfigContexts, kubeconfigSources } from "../lib/kubeconfig";
import { pendingRecreates } from "../lib/recreate";
import { ensureToolchain, engineSettings, LOCAL_PASSPHRASE, openStack, ROOT } from "./engine";
import { LOCAL_SECRET_KEY_PREFIX } from "./local-stack";
import { cancel, clearStaleLocks, EXIT_LOCKED, recoverHelmReleases, RecoveryContext, settlePendingOperations, StackLockedError } from "./recover-run";

const OPERATIONS = ["up", "preview", "refresh", "destroy", "cancel"] as const;
type Operation = (typeof OPERATIONS)[number];

const USAGE = `Usage: npm run deploy -- <stack> [${OPERATIONS.join("|")}] [--yes] [--diff] [--expect-no-changes] [--refresh]

  <stack>              A stack of this project: ${stackNames().join(", ")} (Pulumi.<stack>.yaml).
  up (default)         Deploy. Without --yes: a preview first, then a confirmation (refused without a terminal).
  preview              Show what 'up' would change.
  refresh              Read the cluster's live objects into the state.
  destroy              Delete what the stack made (protected resources refuse). Same confirmation as 'up'.
  cancel               Release the stack's lock left by a run that is gone (as 'pulumi cancel', with this
                       runner's backend); refused while a pulumi on this host still holds it. Every operation
                       clears a lock whose process is gone on this host by itself.
  --yes                Skip the confirmation.
  --diff               Show property-level diffs.
  --expect-no-changes  Fail when the operation would change anything (preview, refresh, up).
  --refresh            up, preview: read the cluster's live objects into the state first (objects deleted by hand
                       leave the state, so the program creates them anew).

Environment: KUBECONFIG (else the local cluster; set but unreachable: an error), PULUMI_BACKEND_URL (else
file:// under the state dir), PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (required with
PULUMI_BACKEND_URL; else '${LOCAL_PASSPHRASE}' for the per-user file:// backend), STATEFUL_APPS_STATE_DIR.`;

function stackNames(): string[] {
    return fs
        .readdirSync(ROOT)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined);
}

interface Args {
    stack: string;
    op: Operation;
    yes: boolean;
    diff: boolean;
    expectNoChanges: boolean;
    refresh: boolean;
}

function parseArgs(argv: string[]): Args {
    const flags = new Set(argv.filter((a) => a.startsWith("--")));
    const words = argv.filter((a) => !a.startsWith("--"));
    for (const f of flags) {
        if (!["--yes", "--diff", "--expect-no-changes", "--refresh", "--help"].includes(f)) {
            usage(`unknown option ${f}`);
        }
    }
    if (flags.has("--help")) {
        console.log(USAGE);
        process.exit(0);
    }
    const [stack, op = "up", ...rest] = words;
    if (!stack) usage("name a stack");
    if (!stackNames().includes(stack)) usage(`no stack file Pulumi.${stack}.yaml`);
    if (!(OPERATIONS as readonly string[]).includes(op)) usage(`unknown operation '${op}'`);
    if (rest.length > 0) usage(`unexpected argument '${rest[0]}'`);
    if (flags.has("--refresh") && op !== "up" && op !== "preview") usage(`--refresh goes with up or preview, not ${op}`);
    return {
        stack,
        op: op as Operation,
        yes: flags.has("--yes"),
        diff: flags.has("--diff"),
        expectNoChanges: flags.has("--expect-no-changes"),
        refresh: flags.has("--refresh"),
    };
}

function usage(problem: string): never {
    console.error(`deploy: ${problem}\n\n${USAGE}`);
    process.exit(2);
}

const say = (msg: string) => process.stderr.write(`[deploy] ${msg}\n`);

/**
 * KUBECONFIG when set (it must reach its cluster: never fall back to another cluster with the same state), else
 * the local cluster, started when down. Returns the kubeconfig (a path, or a `:`-separated list) and a kubectl.
 */
function cluster(): { kubeconfig: string; kubectl: string } {
    const script = path.join(ROOT, "scripts", "cluster");
    const localKubectl = path.join(spawnSync("bash", [script, "bin-dir"], { encoding: "utf8" }).stdout.trim(), "kubectl");
    const kubectl = fs.existsSync(localKubectl) ? localKubectl : "kubectl";
    const given = process.env.KUBECONFIG;
    if (given) {
        const r = spawnSync(kubectl, ["get", "--raw", "/readyz", "--request-timeout=5s"], { encoding: "utf8", env: process.env });
        if (r.status !== 0) {
            throw new Error(
                `KUBECONFIG=${given} does not reach its cluster: ${(r.stderr || "").trim().split("\n")[0]} (unset KUBECONFIG to use the local cluster)`,
            );
        }
        say(`cluster: KUBECONFIG=${given} (its current context)`);
        return { kubeconfig: given, kubectl };
    }
    const up = spawnSync("bash", [script, "up"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (up.status !== 0) {
        throw new Error("scripts/cluster up failed (see above)");
    }
    const kubeconfig = up.stdout.trim();
    say(`cluster: the local cluster (kwok fake nodes: pods turn Ready without running containers), KUBECONFIG=${kubeconfig}`);
    // `up` built the binaries if they were missing: our kubectl is there now.
    return { kubeconfig, kubectl: localKubectl };
}

/**
 * Refuses a stack whose `kubernetes:context` the kubeconfig lacks, naming both, before the engine starts: the
 * program refuses it too (config/index.ts, with the same lib/kubeconfig.ts), but this says how to alias the context.
 *
 * @throws Error naming the context, the kubeconfig and the contexts it has.
 */
function checkContext(stack: string, kubeconfig: string): string {
    const config = (parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"))?.config ?? {}) as Record<string, unknown>;
    const context = config["kubernetes:context"];
    if (typeof context !== "string") {
        return "(none: the program will refuse the stack)";
    }
    const configured = config["kubernetes:kubeconfig"];
    const contexts = kubeconfigContexts(
        kubeconfigSources(typeof configured === "string" ? configured : undefined, { ...process.env, KUBECONFIG: kubeconfig }).files.map((f) => f.text),
    );
    if (!contexts.includes(context)) {
        throw new Error(
            `Pulumi.${stack}.yaml deploys to kubernetes:context '${context}', which KUBECONFIG=${kubeconfig} does not have (it has: ${contexts.join(", ") || "none"}). ` +
                `Point KUBECONFIG at that cluster, or, to try the stack on the local cluster, add an alias: ` +
                `KUBECONFIG=${kubeconfig} kubectl config set-context ${context} --cluster=${contexts[0] ?? "<cluster>"} --user=${contexts[0] ?? "<user>"}`,
        );
    }
    return context;
}

async function confirm(question: string): Promise<boolean> {
    if (!process.stdin.isTTY) {
        return false;
    }
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2));
    const started = Date.now();
    const toolchain = ensureToolchain();
    const settings = engineSettings();
    const { kubeconfig, kubectl } = cluster();
    process.env.KUBECONFIG = kubeconfig;
    say(`context: ${checkContext(args.stack, kubeconfig)} (kubernetes:context of Pulumi.${args.stack}.yaml)`);
    say(
        `state: ${settings.backendUrl}${settings.localPassphrase ? ` (passphrase: the local-only '${LOCAL_PASSPHRASE}'; set PULUMI_CONFIG_PASSPHRASE for anything shared)` : ""}`,
    );

    const { stack, configFile, switchedApps, cli } = await openStack(args.stack, { settings, toolchain, kubeconfig });
    say(`stack: ${args.stack}, config: Pulumi.${args.stack}.yaml + ${configFile}`);
    const recovery: RecoveryContext = { stack, stackName: args.stack, backendUrl: settings.backendUrl, kubectl, kubeconfig, cli, say };
    if (args.op === "cancel") {
        await cancel(recovery);
        return 0;
    }
    clearStaleLocks(recovery);
    if (args.op === "up") await recoverHelmReleases(recovery);
    if (args.op === "up" || args.op === "refresh") await settlePendingOperations(recovery);
    if (switchedApps.length > 0) {
        say(
            `no random provider here (github.com/pulumi/pulumi-random is not served): the generated secrets of ${switchedApps.join(", ")} ` +
                `are 32-character values this runner generated once, kept encrypted in ${configFile} as ${LOCAL_SECRET_KEY_PREFIX}<app> ` +
                `(secret.source: config). The committed stack file is unchanged.`,
        );
    }
    const common = {
        configFile,
        diff: args.diff,
        color: process.stdout.isTTY ? ("always" as const) : ("never" as const),
        onOutput: (s: string) => process.stdout.write(s),
    };

    /**
     * The stack outputs the last Automation API `up` returned. `Stack.up()` reads them itself after the update (two
     * `pulumi stack output` processes), so reading them again with `stack.outputs()` would cost two more; the plain
     * CLI path and the other operations leave it undefined.
     */
    let upOutputs: OutputMap | undefined;
    /** One run of the operation, on the plain CLI or the Automation API: the exit code to stop with, or undefined to go on. */
    const run = async (): Promise<number | undefined> => {
        upOutputs = undefined;
        if (toolchain.languageHost) {
            say("engine: the plain CLI (pulumi-language-nodejs is on PATH)");
            const flags = [
                args.op,
                "--config-file",
                configFile,
                ...(args.yes ? ["--yes"] : []),
                ...(args.diff ? ["--diff"] : []),
                ...(args.expectNoChanges ? ["--expect-no-changes"] : []),
                ...(args.refresh ? ["--refresh"] : []),
            ];
            const r = spawnSync(toolchain.cli, [...flags, "--stack", args.stack], {
                cwd: ROOT,
                stdio: "inherit",
                env: { ...process.env, ...settings.env, KUBECONFIG: kubeconfig },
            });
            if (r.status !== 0) return 1;
        } else {
            say("engine: Automation API inline program (no pulumi-language-nodejs here; same engine, same state, same output)");
            if ((args.op === "up" || args.op === "destroy") && !args.yes) {
                if (args.op === "up") await stack.preview({ ...common, refresh: args.refresh });
                else await stack.destroy({ ...common, previewOnly: true });
                if (!(await confirm(`Do you want to perform this ${args.op}?`))) {
                    say(process.stdin.isTTY ? "cancelled" : `no terminal to confirm on: refused; run again with --yes`);
                    return process.stdin.isTTY ? 0 : 1;
                }
            }
            switch (args.op) {
                case "up":
                    upOutputs = (await stack.up({ ...common, expectNoChanges: args.expectNoChanges, refresh: args.refresh })).outputs;
                    break;
                case "preview":
                    await stack.preview({ ...common, expectNoChanges: args.expectNoChanges, refresh: args.refresh });
                    break;
                case "refresh":
                    await stack.refresh({ ...common, expectNoChanges: args.expectNoChanges });
                    break;
                case "destroy":
                    await stack.destroy(common);
                    break;
            }
        }
        return undefined;
    };
    const stop = await run();
    if (stop !== undefined) return stop;
    // lib/recreate.ts: an up that marked StatefulSets for a recreate (allowStatefulSetRecreate) needs a second up,
    // which replaces them keeping their pods and PVCs; this runner does it (with the same confirmation as the first).
    const pending = args.op === "up" ? pendingRecreates((upOutputs ?? (await stack.outputs())).workloads?.value) : [];
    if (pending.length > 0) {
        say(
            `the StatefulSets of ${pending.join(", ")} are marked for a recreate (allowStatefulSetRecreate): a second up replaces them, keeping their pods and PVCs`,
        );
        const again = await run();
        if (again !== undefined) return again;
    }

    if (args.op !== "preview") {
        const outputs = upOutputs ?? (await stack.outputs());
        say("outputs:");
        for (const [k, v] of Object.entries(outputs)) {
            process.stdout.write(`  ${k}: ${v.secret ? "[secret]" : JSON.stringify(v.value)}\n`);
        }
        const ns = outputs.namespaceName?.value;
        if (typeof ns === "string") {
            spawnSync(kubectl, ["get", "po,sts,svc,pvc", "-n", ns, "-o", "wide"], { stdio: "inherit", env: { ...process.env, KUBECONFIG: kubeconfig } });
        }
    }
    say(`${args.op} of ${args.stack}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
}

// Ctrl-C reaches the whole process group: the CLI stops after its steps in flight and releases the lock. This process
// waits for it (the inline program lives here) instead of dying first; a second Ctrl-C stops at once.
let interrupted = false;
process.on("SIGINT", () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say("Ctrl-C: stopping after the steps in flight (the engine releases the lock); Ctrl-C again to stop at once");
});

main().then(
    (code) => process.exit(interrupted && code === 0 ? 130 : code),
    (err: Error) => {
        if (err instanceof StackLockedError) {
            say(err.message);
            process.exit(EXIT_LOCKED);
        }
        if (/the stack is currently locked/.test(err.message)) {
            // Two runs started together: the other took the lock between our check and the engine's.
            say(
                `another run took the stack's lock first (${(/created by ([^\n]*)/.exec(err.message) ?? [])[1] ?? "see above"}); nothing was changed. Run again once it is done.`,
            );
            process.exit(EXIT_LOCKED);
        }
        if (interrupted) {
            say("stopped by Ctrl-C");
            process.exit(130);
        }
        // The engine's own output (already streamed) has the details; repeat its summary only.
        say(`failed: ${(err.message || String(err)).split("\n").slice(-12).join("\n")}`);
        process.exit(1);
    },
);

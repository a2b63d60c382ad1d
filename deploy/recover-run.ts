/**
 * The runner's recovery steps (decisions in deploy/recovery.ts), run before each operation of `npm run deploy`:
 * 1. the stack's lock: stale locks are deleted, a live one stops the run with {@link EXIT_LOCKED};
 * 2. (`up`, `refresh`) pending operations an interrupted run left in the state: a create whose object exists adopted,
 *    the rest cleared, then one refresh;
 * 3. (`up`) Helm releases of the stack left `pending-*`: rolled back, or their pending record forgotten.
 * Every step says what it found and did on stderr; a step that finds nothing is silent.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../lib/names";
import { ROOT } from "./engine";
import {
    commandOf,
    helmHistories,
    judgeLock,
    pendingOperations,
    planHelmRecovery,
    planPendingOperations,
    readStackLocks,
    releaseFieldManagers,
    StackLock,
} from "./recovery";

/** Exit code of a run refused because another run holds the stack's lock. */
export const EXIT_LOCKED = 3;

/** Thrown when the stack is locked by a run that may still be going on; `message` says by whom and what to do. */
export class StackLockedError extends Error {
    readonly exitCode = EXIT_LOCKED;
}

/** What a recovery step needs. */
export interface RecoveryContext {
    readonly stack: Stack;
    readonly stackName: string;
    readonly backendUrl: string;
    readonly kubectl: string;
    readonly kubeconfig: string;
    /** Runs the CLI on this stack (deploy/engine.ts `OpenStack.cli`). */
    readonly cli: (args: string[]) => { status: number; stdout: string; stderr: string };
    readonly say: (message: string) => void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Our kubectl against the runner's cluster. */
const kubectl = (ctx: RecoveryContext, args: string[]) =>
    spawnSync(ctx.kubectl, args, { encoding: "utf8", env: { ...process.env, KUBECONFIG: ctx.kubeconfig }, maxBuffer: 256 << 20 });

const describe = (l: StackLock) => `pid ${l.pid} on ${l.hostname} (user ${l.username}, since ${l.timestamp})`;

/**
 * Deletes the stack's stale locks (taken on this host by a process that is gone), saying so; throws
 * {@link StackLockedError} for a lock a running `pulumi` on this host holds, or one taken on another host. A no-op
 * on backends other than `file://` (the engine itself refuses a locked stack there).
 */
export function clearStaleLocks(ctx: RecoveryContext): void {
    const locks = readStackLocks(ctx.backendUrl, PROJECT, ctx.stackName) ?? [];
    for (const lock of locks) {
        const verdict = judgeLock(lock, { hostname: os.hostname(), commandOf });
        if (verdict.kind === "stale") {
            // The file:// backend (gocloud.dev fileblob) keeps each blob's attributes beside it: `<lock>.json.attrs`.
            fs.rmSync(lock.file, { force: true });
            fs.rmSync(`${lock.file}.attrs`, { force: true });
            ctx.say(`cleared a stale lock of stack ${ctx.stackName}: taken by ${describe(lock)}; ${verdict.why} (an interrupted run)`);
        } else if (verdict.kind === "live") {
            throw new StackLockedError(
                `stack ${ctx.stackName} is locked by a run in progress: ${describe(lock)}. Wait for it to finish, or stop it ` +
                    `(kill -INT ${lock.pid}: it stops after its steps in flight and releases the lock). Nothing was changed.`,
            );
        } else {
            throw new StackLockedError(
                `stack ${ctx.stackName} is locked by a run on another host: ${describe(lock)}. If that run is gone, ` +
                    `release the lock with: npm run deploy -- ${ctx.stackName} cancel. Nothing was changed.`,
            );
        }
    }
}

/**
 * `cancel`: releases the stack's lock as `pulumi cancel` does, refusing while a `pulumi` on this host still holds it
 * (releasing a lock under a running update would let a second one write the same state).
 */
export async function cancel(ctx: RecoveryContext): Promise<void> {
    const locks = readStackLocks(ctx.backendUrl, PROJECT, ctx.stackName);
    const live = (locks ?? []).filter((l) => judgeLock(l, { hostname: os.hostname(), commandOf }).kind === "live");
    if (live.length > 0) {
        throw new StackLockedError(`refused: ${describe(live[0])} still runs; stop it first (kill -INT ${live[0].pid}) or wait for it`);
    }
    if (locks !== undefined && locks.length === 0) {
        ctx.say(`stack ${ctx.stackName} is not locked: nothing to cancel`);
        return;
    }
    await ctx.stack.cancel();
    ctx.say(`released the lock of stack ${ctx.stackName}${locks ? ` (${locks.map(describe).join("; ")})` : ""}`);
}

/** kubectl's resource argument (`statefulsets.v1.apps`, `services.v1`) for a Pulumi Kubernetes type token, or undefined. */
function kubectlResource(resourceType: string): string | undefined {
    const m = /^kubernetes:(?:(.+)\/)?([^/:]+):(\w+)$/.exec(resourceType.replace(/^kubernetes:core\//, "kubernetes:"));
    if (!m) return undefined;
    const [, group, version, kind] = m;
    return group ? `${kind}.${version}.${group}` : `${kind}.${version}`;
}

/** `kubectl get` of the object `id` (`<ns>/<name>` or `<name>`) of a Pulumi type token, as JSON with its managedFields. */
function getObject(ctx: RecoveryContext, resourceType: string, id: string): { status: "found"; object: Any } | { status: "absent" | "unknown" } {
    const resource = kubectlResource(resourceType);
    if (resource === undefined) return { status: "unknown" };
    const [ns, name] = id.includes("/") ? id.split("/", 2) : [undefined, id];
    const r = kubectl(ctx, ["get", resource, name, ...(ns ? ["-n", ns] : []), "-o", "json", "--show-managed-fields", "--ignore-not-found"]);
    if (r.status !== 0) return { status: "unknown" };
    return r.stdout.trim() === "" ? { status: "absent" } : { status: "found", object: JSON.parse(r.stdout) };
}

/**
 * Settles the pending operations an interrupted run left in the state (deploy/recovery.ts
 * `planPendingOperations`): each pending create whose object exists is adopted (the interrupted run's field manager
 * taken off it, deploy/recovery.ts `releaseFieldManagers`), then one `pulumi refresh` (with
 * `--clear-pending-creates` when a create is pending) clears the operations and reads the stack's objects back. Returns how many
 * operations there were.
 *
 * @throws Error when a patch or the refresh fails (its output is in the message).
 */
export async function settlePendingOperations(ctx: RecoveryContext): Promise<number> {
    const exported = await ctx.stack.exportStack();
    const ops = pendingOperations(exported.deployment);
    if (ops.length === 0) return 0;
    ctx.say(`the state holds ${ops.length} pending operation(s) of an interrupted run:`);
    const objects = new Map<string, Any>();
    const plan = planPendingOperations(ops, (op, id) => {
        const got = getObject(ctx, op.resourceType, id);
        if (got.status === "found") objects.set(op.urn, got.object);
        return got.status === "unknown" ? undefined : got.status === "found";
    });
    for (const line of plan.lines) ctx.say(`  ${line}`);
    const started = Date.now();
    for (const a of plan.adopts) {
        const object = objects.get(a.urn);
        const patch = releaseFieldManagers(object?.metadata?.managedFields);
        if (patch === undefined) continue;
        const ns = object.metadata.namespace;
        const r = kubectl(ctx, [
            "patch",
            kubectlResource(a.resourceType)!,
            object.metadata.name,
            ...(ns ? ["-n", ns] : []),
            "--type",
            "json",
            "-p",
            JSON.stringify(patch),
        ]);
        if (r.status !== 0) throw new Error(`releasing the interrupted run's field manager of ${a.id} failed: ${r.stderr.trim()}`);
    }
    // One refresh for all: it clears the pending operations and reads every object back (drops what is gone).
    const flags = ["refresh", "--yes", "--skip-preview", ...(plan.clear ? ["--clear-pending-creates"] : [])];
    const r = ctx.cli(flags);
    if (r.status !== 0) throw new Error(`pulumi ${flags.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
    ctx.say(`  settled in ${((Date.now() - started) / 1000).toFixed(1)} s (a refresh)`);
    return ops.length;
}

/**
 * Unblocks the stack's Helm releases whose newest revision is `pending-*` (deploy/recovery.ts `planHelmRecovery`):
 * `helm rollback` (helm from `scripts/toolchain`) or deleting the pending revision's record. Only releases the
 * stack's state names (its Release resources and pending creates) are touched. Returns how many it recovered.
 *
 * @throws Error when the rollback or the delete fails.
 */
export async function recoverHelmReleases(ctx: RecoveryContext): Promise<number> {
    const pending = kubectl(ctx, ["get", "secrets", "-A", "-l", "owner=helm,status in (pending-install,pending-upgrade,pending-rollback)", "-o", "json"]);
    if (pending.status !== 0) {
        ctx.say(`could not look for Helm releases left pending (${pending.stderr.trim().split("\n")[0]}); going on`);
        return 0;
    }
    const candidates = [...helmHistories(JSON.parse(pending.stdout)).keys()];
    if (candidates.length === 0) return 0;
    const exported = await ctx.stack.exportStack();
    const ours = new Set<string>();
    for (const r of (exported.deployment?.resources ?? []) as Any[]) {
        if (r.type === "kubernetes:helm.sh/v3:Release") ours.add(`${r.outputs?.namespace ?? r.inputs?.namespace}/${r.outputs?.name ?? r.inputs?.name}`);
    }
    for (const op of pendingOperations(exported.deployment)) {
        if (op.resourceType === "kubernetes:helm.sh/v3:Release") ours.add(`${op.namespace}/${op.name}`);
    }
    let recovered = 0;
    for (const key of candidates.filter((k) => ours.has(k))) {
        const [namespace, release] = key.split("/", 2);
        const all = kubectl(ctx, ["get", "secrets", "-n", namespace, "-l", `owner=helm,name=${release}`, "-o", "json"]);
        if (all.status !== 0) throw new Error(`cannot read the history of Helm release ${key}: ${all.stderr}`);
        const plan = planHelmRecovery(helmHistories(JSON.parse(all.stdout)).get(key) ?? []);
        if (plan.action === "none") continue;
        ctx.say(`Helm release ${key}: ${plan.why}`);
        if (plan.action === "rollback") {
            const helm = path.join(spawnSync("bash", [path.join(ROOT, "scripts", "toolchain"), "--bin-dir"], { encoding: "utf8" }).stdout.trim(), "helm");
            const ensure = spawnSync("bash", [path.join(ROOT, "scripts", "toolchain"), "helm"], { stdio: ["ignore", "inherit", "inherit"] });
            if (ensure.status !== 0) throw new Error("scripts/toolchain helm failed: helm is needed to roll the release back");
            const r = spawnSync(helm, ["rollback", release, String(plan.to), "-n", namespace], {
                encoding: "utf8",
                env: { ...process.env, KUBECONFIG: ctx.kubeconfig },
            });
            if (r.status !== 0) throw new Error(`helm rollback ${release} ${plan.to} -n ${namespace} failed: ${r.stderr.trim()}`);
        } else {
            const r = kubectl(ctx, ["delete", "secret", plan.from.secret, "-n", namespace]);
            if (r.status !== 0) throw new Error(`deleting ${namespace}/${plan.from.secret} failed: ${r.stderr.trim()}`);
        }
        recovered++;
    }
    return recovered;
}

/**
 * What the runner (deploy/cli.ts) does before each operation so that an interrupted, failed or concurrent run never
 * strands a stack: the stack's lock, the state's pending operations and Helm releases left `pending-*`. The
 * decisions are pure functions of what was read (tested in tests/recovery.test.ts); reading and acting is the
 * runner's.
 *
 * Sources: the `file://` backend's lock files are `<backend>/.pulumi/locks/organization/<project>/<stack>/<uuid>.json`
 * holding `{pid, username, hostname, timestamp}` of the `pulumi` process that holds them (pulumi/pulumi
 * `pkg/backend/diy/lock.go`); Helm 3 keeps each release revision in a Secret `sh.helm.release.v1.<release>.v<revision>`
 * labelled `owner=helm, name=<release>, status=<status>, version=<revision>` (helm `pkg/storage/driver/secrets.go`),
 * and refuses every install, upgrade or rollback while the newest revision is `pending-*` ("another operation
 * (install/upgrade/rollback) is in progress", pulumi/pulumi-kubernetes#2054).
 */
import * as fs from "fs";
import * as path from "path";

/** One lock file of a `file://` backend. */
export interface StackLock {
    readonly file: string;
    /** The pid of the `pulumi` process that took the lock. */
    readonly pid: number;
    readonly username: string;
    readonly hostname: string;
    /** When it was taken (RFC 3339, as the CLI wrote it). */
    readonly timestamp: string;
}

/**
 * The lock files of `stack` in `project` on a `file://` backend, oldest first; undefined for any other backend
 * (the Pulumi Cloud and object stores keep their locks where this runner cannot look: `pulumi cancel` there).
 * A file that is not a lock's JSON is returned with pid 0 (never judged alive).
 */
export function readStackLocks(backendUrl: string, project: string, stack: string): StackLock[] | undefined {
    if (!backendUrl.startsWith("file://")) return undefined;
    const root = backendUrl
        .slice("file://".length)
        .replace(/\?.*$/, "")
        .replace(/^~(?=\/)/, process.env.HOME ?? "~");
    const dir = path.join(root, ".pulumi", "locks", "organization", project, stack);
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => {
            const file = path.join(dir, f);
            let body: Record<string, unknown> = {};
            try {
                body = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
            } catch {
                // An empty or torn file (the CLI was killed while writing it): judged stale below.
            }
            return {
                file,
                pid: typeof body.pid === "number" ? body.pid : 0,
                username: String(body.username ?? "?"),
                hostname: String(body.hostname ?? "?"),
                timestamp: String(body.timestamp ?? "?"),
            };
        })
        .sort((a, b) => a.timestamp.localeCompare(b.timestamp));
}

/** What to do with one lock. */
export type LockVerdict =
    | { readonly kind: "stale"; readonly lock: StackLock; readonly why: string }
    | { readonly kind: "live"; readonly lock: StackLock }
    | { readonly kind: "elsewhere"; readonly lock: StackLock };

/**
 * Judges a lock: taken on this host by a process that no longer runs (or no longer runs `pulumi`: its pid was
 * reused) is `stale` and may be deleted; taken here by a running `pulumi` is `live`; taken on another host is
 * `elsewhere` (this host cannot tell whether it still runs: the user decides, with the runner's `cancel`).
 *
 * @param here this host's name and a probe that says what runs under a pid (`undefined`: nothing).
 */
export function judgeLock(lock: StackLock, here: { hostname: string; commandOf: (pid: number) => string | undefined }): LockVerdict {
    if (lock.hostname !== here.hostname) return { kind: "elsewhere", lock };
    if (lock.pid <= 0) return { kind: "stale", lock, why: "its file holds no pid (written by a process killed while writing it)" };
    const command = here.commandOf(lock.pid);
    if (command === undefined) return { kind: "stale", lock, why: `process ${lock.pid} is not running` };
    if (!/pulumi/.test(command)) return { kind: "stale", lock, why: `process ${lock.pid} is now '${command.slice(0, 60)}', not pulumi` };
    return { kind: "live", lock };
}

/** The command line of a running pid on this host (Linux `/proc`; elsewhere `kill -0` only), or undefined. */
export function commandOf(pid: number): string | undefined {
    try {
        process.kill(pid, 0);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EPERM") return undefined;
    }
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim() || "pulumi?";
    } catch {
        return "pulumi?";
    }
}

/** One entry of the state's `pending_operations` (`pulumi stack export`). */
export interface PendingOperation {
    /** `creating`, `updating`, `deleting`, `reading`, `importing`. */
    readonly type: string;
    readonly urn: string;
    /** The Pulumi type token, e.g. `kubernetes:apps/v1:StatefulSet`. */
    readonly resourceType: string;
    /** `metadata.name` / `metadata.namespace` of its inputs (Kubernetes objects), or a Release's `name` / `namespace`. */
    readonly name?: string;
    readonly namespace?: string;
}

/** The pending operations of an exported deployment (`Stack.exportStack()`'s `deployment`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function pendingOperations(deployment: any): PendingOperation[] {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return ((deployment?.pending_operations ?? []) as any[]).map((op) => {
        const r = op.resource ?? {};
        const inputs = r.inputs ?? {};
        const name = inputs.metadata?.name ?? inputs.name;
        const namespace = inputs.metadata?.namespace ?? inputs.namespace;
        return {
            type: String(op.type ?? "?"),
            urn: String(r.urn ?? "?"),
            resourceType: String(r.type ?? "?"),
            ...(typeof name === "string" ? { name } : {}),
            ...(typeof namespace === "string" ? { namespace } : {}),
        };
    });
}

/**
 * The provider ID of the Kubernetes object a pending create made (`<namespace>/<name>`, or `<name>` when
 * cluster-scoped), or undefined where there is no object of its own to adopt: Patch resources (they own fields, not
 * objects), a Helm Release (its pending state is Helm's, see {@link planHelmRecovery}), providers and components.
 */
export function objectId(op: PendingOperation): string | undefined {
    if (!op.resourceType.startsWith("kubernetes:") || op.resourceType.startsWith("kubernetes:helm.sh/")) return undefined;
    if (op.resourceType.endsWith("Patch") || op.name === undefined) return undefined;
    return op.namespace ? `${op.namespace}/${op.name}` : op.name;
}

/** What the runner does about the pending operations before `up`. */
export interface PendingPlan {
    /**
     * Pending creates whose object exists in the cluster: adopted. The interrupted run's field manager is taken off
     * the object ({@link releaseFieldManagers}), so the `up`'s create (a server-side apply) takes it over as it is.
     */
    readonly adopts: { urn: string; resourceType: string; id: string }[];
    /** Whether any create is pending: all of them are cleared from the state (`refresh --clear-pending-creates`). */
    readonly clear: boolean;
    /** One line per operation, saying what happens to it. */
    readonly lines: string[];
}

/**
 * Decides per pending operation (issue 23). A create whose object exists in the cluster is adopted: nothing deleted,
 * nothing orphaned, its pods untouched. (`pulumi refresh --import-pending-creates` looked like the tool for this,
 * but with CLI v3.274.1 it dropped the operation without adding the resource to the state, and the next create then
 * failed on a server-side apply conflict with the interrupted run's field manager: tests/e2e/interrupted.e2e.ts.)
 * A create whose object does not exist is cleared, and the `up` creates it. Updates and deletes are read back by a
 * refresh (the runner runs one whenever an operation is pending): a delete that finished before the kill (the
 * orphaning replace of lib/recreate.ts) leaves the object gone, and without the refresh the `up` would try to update
 * it and fail with "not found"; the refresh drops it from the state, and the `up` creates it.
 *
 * @param exists whether the object of `id` exists; undefined when it could not be checked (then the create is
 *   cleared alone, and the up's create may fail on the conflict; running the runner again checks again).
 */
export function planPendingOperations(ops: readonly PendingOperation[], exists: (op: PendingOperation, id: string) => boolean | undefined): PendingPlan {
    const adopts: { urn: string; resourceType: string; id: string }[] = [];
    const lines: string[] = [];
    let clear = false;
    for (const op of ops) {
        const what = `${op.resourceType} ${op.namespace ? `${op.namespace}/` : ""}${op.name ?? op.urn.split("::").pop()}`;
        if (op.type !== "creating") {
            lines.push(
                `pending ${op.type} of ${what}: read back from the cluster by a refresh (gone if the interrupted delete finished), then this up finishes it`,
            );
            continue;
        }
        clear = true;
        const id = objectId(op);
        const there = id === undefined ? undefined : exists(op, id);
        if (id !== undefined && there === true) {
            adopts.push({ urn: op.urn, resourceType: op.resourceType, id });
            lines.push(`pending create of ${what}: it exists in the cluster; adopted (this up applies over it as it is: nothing deleted, its pods kept)`);
        } else {
            lines.push(
                `pending create of ${what}: ${there === false ? "not in the cluster" : id === undefined ? "no object of its own" : "could not be checked"}, cleared (this up creates it)`,
            );
        }
    }
    return { adopts, clear, lines };
}

/** Field managers of this provider: `pulumi-kubernetes-<hex>`, one per resource, chosen at its create. */
const PROVIDER_MANAGER = /^pulumi-kubernetes-[0-9a-f]+$/;

/**
 * The JSON patch (RFC 6902) that takes the kubernetes provider's server-side apply managers off an object's
 * `metadata.managedFields` (entries whose `manager` is `pulumi-kubernetes-<hex>` and `operation` is `Apply`): the
 * interrupted run's create owns the fields under a manager name no later run knows, so a new create would fail with
 * "Server-Side Apply field conflict". Each removal is preceded by a `test` of that entry's manager, so an object
 * that changed meanwhile fails the patch instead of losing another entry. Removals run from the last entry to the
 * first (indices stay valid). Undefined when there is nothing to remove.
 * https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management
 */
export function releaseFieldManagers(managedFields: readonly { manager?: string; operation?: string }[] | undefined): object[] | undefined {
    const ops: object[] = [];
    (managedFields ?? []).forEach((f, i) => {
        if (f.operation === "Apply" && PROVIDER_MANAGER.test(f.manager ?? "")) {
            ops.unshift({ op: "test", path: `/metadata/managedFields/${i}/manager`, value: f.manager }, { op: "remove", path: `/metadata/managedFields/${i}` });
        }
    });
    return ops.length > 0 ? ops : undefined;
}

/** One revision of a Helm release, from its storage Secret's labels. */
export interface HelmRevision {
    readonly release: string;
    readonly namespace: string;
    readonly revision: number;
    /** `deployed`, `superseded`, `failed`, `pending-install`, `pending-upgrade`, `pending-rollback`, `uninstalling`, … */
    readonly status: string;
    /** The storage Secret's name, `sh.helm.release.v1.<release>.v<revision>`. */
    readonly secret: string;
}

/** What to do with one release. */
export type HelmRecovery =
    | { readonly action: "none" }
    | {
          readonly action: "rollback";
          readonly release: string;
          readonly namespace: string;
          readonly from: HelmRevision;
          readonly to: number;
          readonly why: string;
      }
    | { readonly action: "forget"; readonly release: string; readonly namespace: string; readonly from: HelmRevision; readonly why: string };

/**
 * Decides how to unblock a release whose newest revision is `pending-*`, never by uninstalling it (that deletes
 * its StatefulSet, and with `whenDeleted: Delete` its PVCs):
 * - `pending-upgrade` or `pending-rollback` with an earlier `deployed` or `superseded` revision: `helm rollback` to
 *   the newest such revision (Helm's own way back to a known state, helm/helm#5513); the `up` then upgrades again;
 * - otherwise (`pending-install`, or nothing good to return to): `forget` the pending revision's storage Secret only.
 *   The objects it created stay; they carry this release's ownership annotations, so the next install adopts them
 *   (Helm 3.2+ adopts objects whose `meta.helm.sh/release-name` and `-namespace` match).
 *
 * @param history every revision of one release (any order).
 */
export function planHelmRecovery(history: readonly HelmRevision[]): HelmRecovery {
    if (history.length === 0) return { action: "none" };
    const sorted = [...history].sort((a, b) => b.revision - a.revision);
    const newest = sorted[0];
    if (!newest.status.startsWith("pending-")) return { action: "none" };
    const base = { release: newest.release, namespace: newest.namespace, from: newest };
    const good = sorted.find((r) => r.revision < newest.revision && (r.status === "deployed" || r.status === "superseded"));
    if (newest.status !== "pending-install" && good) {
        return {
            action: "rollback",
            ...base,
            to: good.revision,
            why: `revision ${newest.revision} is ${newest.status} (an interrupted run); rolling back to revision ${good.revision} (${good.status}), the last known state`,
        };
    }
    return {
        action: "forget",
        ...base,
        why: `revision ${newest.revision} is ${newest.status} with no earlier good revision; its record ${newest.secret} is deleted (never the release: its objects stay and the next install adopts them)`,
    };
}

/** The revisions in `kubectl get secrets -l owner=helm -o json` output, grouped by `<namespace>/<release>`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function helmHistories(secretList: any): Map<string, HelmRevision[]> {
    const out = new Map<string, HelmRevision[]>();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    for (const s of (secretList?.items ?? []) as any[]) {
        const labels = s.metadata?.labels ?? {};
        if (labels.owner !== "helm" || typeof labels.name !== "string") continue;
        const rev: HelmRevision = {
            release: labels.name,
            namespace: s.metadata?.namespace ?? "",
            revision: Number(labels.version ?? 0),
            status: String(labels.status ?? ""),
            secret: s.metadata?.name ?? "",
        };
        const key = `${rev.namespace}/${rev.release}`;
        out.set(key, [...(out.get(key) ?? []), rev]);
    }
    return out;
}

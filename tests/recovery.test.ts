/**
 * The runner's recovery decisions (deploy/recovery.ts) as pure functions, plus the lock files read from a
 * throwaway `file://` backend directory. What these do not prove: that the engine and Helm accept what is decided
 * (tests/e2e/interrupted.e2e.ts kills real runs and recovers them).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    HelmRevision,
    helmHistories,
    objectId,
    judgeLock,
    pendingOperations,
    planHelmRecovery,
    planPendingOperations,
    readStackLocks,
    releaseFieldManagers,
    StackLock,
} from "../deploy/recovery";

const lock = (over: Partial<StackLock> = {}): StackLock => ({
    file: "/x.json",
    pid: 4242,
    username: "dev",
    hostname: "here",
    timestamp: "2026-12-05T09:00:00Z",
    ...over,
});

describe("stack locks (file:// backend layout of pulumi/pulumi pkg/backend/diy/lock.go)", () => {
    it("reads <backend>/.pulumi/locks/organization/<project>/<stack>/*.json, oldest first; a torn file has pid 0", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "locks-"));
        try {
            const locks = path.join(dir, ".pulumi", "locks", "organization", "stateful-apps", "dev");
            fs.mkdirSync(locks, { recursive: true });
            fs.writeFileSync(path.join(locks, "b.json"), JSON.stringify({ pid: 7, username: "u", hostname: "h", timestamp: "2026-12-05T10:00:00Z" }));
            fs.writeFileSync(path.join(locks, "a.json"), JSON.stringify({ pid: 9, username: "u", hostname: "h", timestamp: "2026-12-05T09:00:00Z" }));
            fs.writeFileSync(path.join(locks, "c.json"), "");
            const read = readStackLocks(`file://${dir}`, "stateful-apps", "dev")!;
            assert.deepStrictEqual(
                read.map((l) => [path.basename(l.file), l.pid]),
                [
                    ["c.json", 0],
                    ["a.json", 9],
                    ["b.json", 7],
                ],
            );
            assert.deepStrictEqual(readStackLocks(`file://${dir}`, "stateful-apps", "prod"), []);
            assert.strictEqual(readStackLocks("https://api.pulumi.com", "stateful-apps", "dev"), undefined);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("judges: gone pid or reused pid -> stale, running pulumi -> live, other host -> elsewhere", () => {
        const here = (cmd: string | undefined) => ({ hostname: "here", commandOf: () => cmd });
        assert.strictEqual(judgeLock(lock(), here(undefined)).kind, "stale");
        const reused = judgeLock(lock(), here("/usr/bin/sleep 100"));
        assert.strictEqual(reused.kind, "stale");
        assert.match((reused as { why: string }).why, /not pulumi/);
        assert.strictEqual(judgeLock(lock(), here("/cache/bin/pulumi up --yes")).kind, "live");
        assert.strictEqual(judgeLock(lock({ hostname: "ci-runner-7" }), here(undefined)).kind, "elsewhere");
        assert.strictEqual(judgeLock(lock({ pid: 0 }), here("pulumi")).kind, "stale");
    });
});

describe("pending operations of an interrupted run", () => {
    const deployment = {
        pending_operations: [
            {
                type: "creating",
                resource: {
                    urn: "urn:pulumi:dev::stateful-apps::x$kubernetes:apps/v1:StatefulSet::cache",
                    type: "kubernetes:apps/v1:StatefulSet",
                    inputs: { metadata: { name: "cache", namespace: "ns" } },
                },
            },
            {
                type: "creating",
                resource: {
                    urn: "urn:pulumi:dev::stateful-apps::x$kubernetes:core/v1:Service::cache",
                    type: "kubernetes:core/v1:Service",
                    inputs: { metadata: { name: "cache", namespace: "ns" } },
                },
            },
            {
                type: "creating",
                resource: {
                    urn: "urn:pulumi:dev::stateful-apps::x$kubernetes:core/v1:PersistentVolumeClaimPatch::p",
                    type: "kubernetes:core/v1:PersistentVolumeClaimPatch",
                    inputs: { metadata: { name: "data-cache-0", namespace: "ns" } },
                },
            },
            { type: "creating", resource: { urn: "urn:r", type: "kubernetes:helm.sh/v3:Release", inputs: { name: "litecoin", namespace: "ns" } } },
            { type: "updating", resource: { urn: "urn:u", type: "kubernetes:apps/v1:StatefulSet", inputs: { metadata: { name: "visits", namespace: "ns" } } } },
        ],
    };

    it("reads type, urn, resource type, name and namespace", () => {
        const ops = pendingOperations(deployment);
        assert.deepStrictEqual(
            ops.map((o) => [o.type, o.resourceType.split(":").pop(), o.namespace, o.name]),
            [
                ["creating", "StatefulSet", "ns", "cache"],
                ["creating", "Service", "ns", "cache"],
                ["creating", "PersistentVolumeClaimPatch", "ns", "data-cache-0"],
                ["creating", "Release", "ns", "litecoin"],
                ["updating", "StatefulSet", "ns", "visits"],
            ],
        );
        assert.deepStrictEqual(pendingOperations({}), []);
    });

    it("adopts a create whose object exists, clears every create (a Patch and a Release have no object to adopt); leaves updates", () => {
        const ops = pendingOperations(deployment);
        assert.strictEqual(objectId(ops[0]), "ns/cache");
        assert.strictEqual(objectId(ops[2]), undefined);
        assert.strictEqual(objectId(ops[3]), undefined);
        const plan = planPendingOperations(ops, (op) => op.resourceType.endsWith("StatefulSet"));
        assert.deepStrictEqual(plan.adopts, [{ urn: ops[0].urn, resourceType: "kubernetes:apps/v1:StatefulSet", id: "ns/cache" }]);
        assert.strictEqual(plan.clear, true);
        assert.match(plan.lines[0], /exists in the cluster; adopted/);
        assert.match(plan.lines[1], /not in the cluster, cleared/);
        assert.match(plan.lines[2], /no object of its own, cleared/);
        assert.match(plan.lines[4], /pending updating of kubernetes:apps\/v1:StatefulSet ns\/visits: read back from the cluster by a refresh/);
        const unknown = planPendingOperations([ops[0]], () => undefined);
        assert.deepStrictEqual(unknown.adopts, []);
        assert.match(unknown.lines[0], /could not be checked/);
        assert.strictEqual(planPendingOperations([ops[4]], () => true).clear, false, "no pending create to clear");
    });

    it("releaseFieldManagers: a JSON patch taking the provider's Apply managers off managedFields, last first, each after a test", () => {
        const fields = [
            { manager: "pulumi-kubernetes-0629b13b", operation: "Apply" },
            { manager: "kube-controller-manager", operation: "Update" },
            { manager: "pulumi-kubernetes-cd861aac", operation: "Apply" },
            { manager: "helm", operation: "Update" },
            { manager: "pulumi-kubernetes-ffff", operation: "Update" },
        ];
        assert.deepStrictEqual(releaseFieldManagers(fields), [
            { op: "test", path: "/metadata/managedFields/2/manager", value: "pulumi-kubernetes-cd861aac" },
            { op: "remove", path: "/metadata/managedFields/2" },
            { op: "test", path: "/metadata/managedFields/0/manager", value: "pulumi-kubernetes-0629b13b" },
            { op: "remove", path: "/metadata/managedFields/0" },
        ]);
        assert.strictEqual(releaseFieldManagers([{ manager: "kube-controller-manager", operation: "Update" }]), undefined);
        assert.strictEqual(releaseFieldManagers(undefined), undefined);
    });
});

describe("Helm releases left pending (helm storage: sh.helm.release.v1.<release>.v<revision>, labels owner/name/status/version)", () => {
    const rev = (revision: number, status: string): HelmRevision => ({
        release: "litecoin",
        namespace: "ns",
        revision,
        status,
        secret: `sh.helm.release.v1.litecoin.v${revision}`,
    });

    it("pending-upgrade or pending-rollback: rollback to the newest deployed or superseded revision", () => {
        const plan = planHelmRecovery([rev(1, "superseded"), rev(3, "pending-upgrade"), rev(2, "deployed")]);
        assert.strictEqual(plan.action, "rollback");
        assert.strictEqual((plan as { to: number }).to, 2);
        const back = planHelmRecovery([rev(1, "superseded"), rev(2, "failed"), rev(3, "pending-rollback")]);
        assert.strictEqual((back as { to: number }).to, 1);
    });

    it("pending-install, or nothing good before: forget the pending record only, never uninstall", () => {
        const plan = planHelmRecovery([rev(1, "pending-install")]);
        assert.strictEqual(plan.action, "forget");
        assert.strictEqual((plan as { from: HelmRevision }).from.secret, "sh.helm.release.v1.litecoin.v1");
        assert.match((plan as { why: string }).why, /never the release/);
        assert.strictEqual(planHelmRecovery([rev(1, "failed"), rev(2, "pending-upgrade")]).action, "forget");
    });

    it("a release whose newest revision is not pending, or none, needs nothing", () => {
        assert.strictEqual(planHelmRecovery([rev(1, "superseded"), rev(2, "deployed")]).action, "none");
        assert.strictEqual(planHelmRecovery([rev(1, "pending-upgrade"), rev(2, "deployed")]).action, "none");
        assert.strictEqual(planHelmRecovery([]).action, "none");
    });

    it("groups storage Secrets by namespace/release and skips other Secrets", () => {
        const secret = (ns: string, name: string, version: string, status: string) => ({
            metadata: { namespace: ns, name: `sh.helm.release.v1.${name}.v${version}`, labels: { owner: "helm", name, version, status } },
        });
        const h = helmHistories({
            items: [
                secret("a", "x", "1", "deployed"),
                secret("a", "x", "2", "pending-upgrade"),
                secret("b", "x", "1", "deployed"),
                { metadata: { name: "other" } },
            ],
        });
        assert.deepStrictEqual([...h.keys()], ["a/x", "b/x"]);
        assert.deepStrictEqual(
            h.get("a/x")!.map((r) => [r.revision, r.status]),
            [
                [1, "deployed"],
                [2, "pending-upgrade"],
            ],
        );
    });
});

/**
 * Interrupted runs, on the real engine: `npm run deploy` (deploy/cli.ts) is started as users start it, in a process
 * group of its own, against a kwok cluster of this test, and killed at the worst moments (`kill -9` of the whole
 * group, as a closed terminal or a cancelled CI job does; Ctrl-C once). After each fault, one plain
 * `npm run deploy -- dev up --yes` must converge, and `preview --expect-no-changes` must pass, with every PVC keeping
 * its UID. Two runs started together: the second is refused with exit code 3, the first finishes.
 *
 * The runner works on a copy of this checkout (its own `Pulumi.dev.yaml` to change; node_modules linked), with a
 * `file://` backend in a temp dir and the test cluster's kubeconfig, whose context is aliased to the stack's
 * `kubernetes:context` (as the runner's own error message tells a user to do).
 *
 * What this proves: the runner's recovery (deploy/recover-run.ts) of stale locks, pending operations and Helm
 * releases left pending-upgrade, against the real CLI, plugin and API server. What it does not: anything inside the
 * containers (kwok nodes); a kill at every instant (each fault is placed at one observed moment, printed).
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { ROOT } from "../../deploy/engine";
import { LocalCluster } from "../cluster";
import { HELM } from "../helm";
import { Any, eventually, timed } from "./harness";

const NS = "stateful-dev";
const CONTEXT = "kwok-stateful-apps";
const TS_NODE = path.join(ROOT, "node_modules", "ts-node", "dist", "bin.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stateful-apps-interrupted-"));
const work = path.join(tmp, "checkout");
const stateDir = path.join(tmp, "state");
const cluster = new LocalCluster("stateful-apps-interrupted");

/** A runner started in its own process group. */
interface Run {
    readonly child: ChildProcess;
    /** stdout and stderr so far. */
    output(): string;
    /** The exit code (128 + signal number when killed by a signal). */
    readonly exited: Promise<number>;
}

/** Starts `npm run deploy -- <args>` (ts-node, as the npm script does) in the copy, in a new process group. */
function runner(args: string[]): Run {
    const child = spawn(process.execPath, [TS_NODE, "--transpile-only", "deploy/cli.ts", ...args], {
        cwd: work,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: cluster.kubeconfig, STATEFUL_APPS_STATE_DIR: stateDir, CI: "true" },
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0))));
    return { child, output: () => out, exited };
}

/** Runs the runner to its end; fails with its output unless it exits with `expected`. Returns the output. */
async function runs(label: string, args: string[], expected = 0): Promise<string> {
    const r = runner(args);
    const code = await timed(label, () => r.exited);
    assert.strictEqual(code, expected, `${label}: exit ${code}, expected ${expected}:\n${r.output().slice(-6000)}`);
    return r.output();
}

/** The pids of every descendant of `pid` (from /proc: each process's parent). */
function descendantsOf(pid: number): number[] {
    const parents = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
        try {
            // The fields after the command (which may hold spaces) in parentheses: state, ppid, ...
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            // gone meanwhile
        }
    }
    const found: number[] = [];
    const walk = (p: number) => {
        for (const [child, parent] of parents) {
            if (parent === p && !found.includes(child)) {
                found.push(child);
                walk(child);
            }
        }
    };
    walk(pid);
    return found;
}

/** Whether process `pid` is alive (and not a zombie). */
function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

/** A process's command line, for the test's output. */
function commandOf(pid: number): string {
    try {
        return `${path.basename(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0])} (pid ${pid})`;
    } catch {
        return `pid ${pid}`;
    }
}

/** Whether any process of group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
    try {
        process.kill(-pgid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Waits until `r`'s output matches `pattern`, then sends `signal` to its whole process group; returns the exit code. */
async function interrupt(r: Run, pattern: RegExp, signal: NodeJS.Signals, what: string, opts: { betweenOperations?: boolean } = {}): Promise<number> {
    let exited: number | undefined;
    void r.exited.then((c) => (exited = c));
    // Looked for every 20 ms, not every 500 ms (eventually's pace): some moments last a fraction of a second (the
    // orphaning replace took 0.15 s, and a 500 ms look once found the run already finished).
    const deadline = Date.now() + 300_000;
    while (!pattern.test(r.output())) {
        assert.strictEqual(exited, undefined, `${what}: the run ended (exit ${exited}) before ${pattern}:\n${r.output().slice(-6000)}`);
        assert.ok(Date.now() < deadline, `${what}: timed out after 300 s waiting for output matching ${pattern}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.stdout.write(`      [e2e] ${what}: ${signal} at: ${(r.output().match(pattern) ?? [""])[0].trim()}\n`);
    // The CLI starts its plugins in process groups of their own (the kubernetes plugin outlives a kill -9 of the
    // run's group, as a closed terminal leaves it): note every descendant now, and end those left by their pids.
    // Inside an operation the run holds the stack's lock; between two (the recreate's ups) it may hold none.
    if (!opts.betweenOperations)
        assert.strictEqual(locks().length, 1, `${what}: the run no longer holds the lock: it finished before the fault:\n${r.output().slice(-3000)}`);
    const descendants = descendantsOf(r.child.pid!);
    process.kill(-r.child.pid!, signal);
    const code = await r.exited;
    await eventually(`${what}: every process of the run's group gone`, 60, () => !groupAlive(r.child.pid!));
    if (signal === "SIGKILL") {
        const orphans = descendants.filter((pid) => alive(pid));
        process.stdout.write(`      [e2e] ${what}: left running by the kill: ${orphans.map(commandOf).join(", ") || "nothing"}\n`);
        for (const pid of orphans) process.kill(pid, "SIGKILL");
    } else {
        await eventually(`${what}: the run's plugins gone after ${signal}`, 60, () => !descendants.some(alive));
    }
    return code;
}

/** The lock files of stack dev on the test's backend. */
const locks = () => {
    const dir = path.join(stateDir, "backend", ".pulumi", "locks", "organization", "stateful-apps", "dev");
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
};

/** name -> uid of the namespace's objects of `kind`. */
const uids = (kind: string): Record<string, string> =>
    Object.fromEntries((cluster.getJson([kind, "-n", NS]).items as Any[]).map((c) => [c.metadata.name, c.metadata.uid]));
const claims = () => uids("pvc");

/** Edits the copy's Pulumi.dev.yaml (`config` keys in full, `stateful-apps:apps`). */
function editStack(edit: (config: Record<string, Any>) => void): void {
    const file = path.join(work, "Pulumi.dev.yaml");
    const doc = parse(fs.readFileSync(file, "utf8"));
    edit(doc.config);
    fs.writeFileSync(file, stringify(doc, { lineWidth: 0 }));
}
const app = (config: Record<string, Any>, name: string) => (config["stateful-apps:apps"] as Any[]).find((a) => a.name === name);

/** The data of app `name`'s env ConfigMap (the one with the app's `env`). */
const envOf = (name: string): Record<string, string> =>
    ((cluster.getJson(["configmap", "-n", NS, "-l", `app.kubernetes.io/instance=${name}`]).items as Any[]).find((c) => c.metadata.name.endsWith("-env")) ?? {})
        .data ?? {};

/** The status of the newest revision of Helm release `release` (its storage Secrets' labels). */
function newestRevision(release: string): string {
    const revisions = (cluster.getJson(["secrets", "-n", NS, "-l", `owner=helm,name=${release}`]).items as Any[]).map((s) => s.metadata.labels);
    return revisions.sort((a, b) => Number(b.version) - Number(a.version))[0]?.status;
}

/** After a fault: one plain up converges (saying what it recovered), then a preview shows no changes. */
async function recovers(what: string, expectSaid: RegExp[]): Promise<string> {
    const said = await runs(`${what}: up after the fault`, ["dev", "up", "--yes"]);
    for (const s of expectSaid) assert.match(said, s, `${what}: the up after the fault does not say ${s}:\n${said.slice(-6000)}`);
    await runs(`${what}: preview --expect-no-changes`, ["dev", "preview", "--expect-no-changes"]);
    assert.deepStrictEqual(locks(), [], `${what}: a lock is left`);
    return said;
}

describe("interrupted runs: kill -9 and Ctrl-C at the worst moments, then one plain up converges (kwok nodes: control plane and engine, not the apps)", function () {
    this.timeout(10 * 60 * 1000);

    before(async function () {
        this.timeout(15 * 60 * 1000);
        fs.cpSync(ROOT, work, {
            recursive: true,
            filter: (src) => !/^(node_modules|\.git|bin|\.scratch|\.pulumi-local)$/.test(path.relative(ROOT, src).split(path.sep)[0]),
        });
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(work, "node_modules"));
        await timed("local cluster up", () => cluster.up(3));
        const kc = JSON.parse(cluster.kubectl(["config", "view", "-o", "json"]));
        const ctx = (kc.contexts as Any[])[0].context;
        cluster.kubectl(["config", "set-context", CONTEXT, `--cluster=${ctx.cluster}`, `--user=${ctx.user}`]);
    });

    after(function () {
        this.timeout(2 * 60 * 1000);
        cluster.down();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("kill -9 while the first up creates the StatefulSets (pending creates): the next up clears the stale lock, adopts what exists (same UIDs), converges", async () => {
        const r = runner(["dev", "up", "--yes"]);
        await interrupt(r, /kubernetes:apps\/v1:StatefulSet \S+ creating/, "SIGKILL", "first up");
        assert.strictEqual(locks().length, 1, "the killed run left its lock");
        const made = uids("statefulsets");
        await recovers("pending creates", [
            /cleared a stale lock of stack dev: taken by pid \d+/,
            /pending create of kubernetes:apps\/v1:StatefulSet \S+: it exists in the cluster; adopted/,
        ]);
        for (const [name, uid] of Object.entries(made)) assert.strictEqual(uids("statefulsets")[name], uid, `StatefulSet ${name} was replaced`);
    });

    it("kill -9 while a native StatefulSet updates (visits env): the next up finishes the update; PVCs keep their UIDs", async () => {
        const before = claims();
        editStack((c) => {
            app(c, "visits").env = { ...app(c, "visits").env, INTERRUPTED: "1" };
            // Slower pods (each Ready 8 s before it counts as available), so the fault lands inside the rolling update.
            app(c, "visits").minReadySeconds = 8;
        });
        const r = runner(["dev", "up", "--yes"]);
        await interrupt(r, /kubernetes:apps\/v1:StatefulSet visits-statefulset updating/, "SIGKILL", "visits update");
        await recovers("native update", [/cleared a stale lock/]);
        assert.deepStrictEqual(claims(), before, "every PVC kept");
        assert.strictEqual(envOf("visits").INTERRUPTED, "1", "the change is applied");
    });

    it("kill -9 of a Helm upgrade of litecoin (release left pending-upgrade): the next up rolls it back to the last deployed revision and converges; PVCs keep their UIDs", async () => {
        const before = claims();
        // An upgrade whose new pod cannot be placed, so it waits: killed, it leaves the release pending-upgrade.
        const helm = spawn(
            HELM,
            [
                "upgrade",
                "litecoin",
                path.join(work, "charts", "stateful-app"),
                "-n",
                NS,
                "--reuse-values",
                "--set-string",
                "resources.requests.cpu=5000",
                "--wait",
                "--timeout",
                "10m",
            ],
            { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KUBECONFIG: cluster.kubeconfig } },
        );
        let helmSaid = "";
        let helmExit: number | null | undefined;
        helm.stdout!.on("data", (d) => (helmSaid += d));
        helm.stderr!.on("data", (d) => (helmSaid += d));
        helm.on("exit", (code) => (helmExit = code));
        await eventually("litecoin's release pending-upgrade", 120, () => {
            assert.strictEqual(helmExit, undefined, `helm upgrade ended (exit ${helmExit}) before we killed it:\n${helmSaid}`);
            return (cluster.getJson(["secrets", "-n", NS, "-l", "owner=helm,name=litecoin"]).items as Any[]).some(
                (s) => s.metadata.labels.status === "pending-upgrade",
            );
        });
        process.kill(-helm.pid!, "SIGKILL");
        await eventually("helm gone", 30, () => !groupAlive(helm.pid!));
        await recovers("Helm pending-upgrade", [/Helm release stateful-dev\/litecoin: /]);
        // Helm's own rollback leaves the interrupted revision in the history as it was; what matters is the newest.
        assert.strictEqual(newestRevision("litecoin"), "deployed");
        // Without the rollback, every upgrade would fail with "another operation (install/upgrade/rollback) is in progress".
        editStack((c) => (app(c, "litecoin").env = { ...(app(c, "litecoin").env ?? {}), INTERRUPTED: "1" }));
        await runs("a Helm upgrade through the stack after the recovery", ["dev", "up", "--yes"]);
        assert.strictEqual(newestRevision("litecoin"), "deployed");
        assert.strictEqual(envOf("litecoin").INTERRUPTED, "1", "the upgrade is applied");
        assert.deepStrictEqual(claims(), before, "every PVC kept");
    });

    it("two ups at once: the second is refused with exit 3 naming the first's pid, the first finishes", async () => {
        editStack((c) => (app(c, "visits").env = { ...app(c, "visits").env, INTERRUPTED: "2" }));
        const first = runner(["dev", "up", "--yes"]);
        await eventually("the first run holds the lock", 300, () => locks().length === 1);
        const second = await runs("second up while the first runs", ["dev", "up", "--yes"], 3);
        assert.match(second, /stack dev is locked by a run in progress: pid \d+ on /);
        assert.doesNotMatch(second, /Command failed with exit code/, "the raw Automation API error is printed");
        const code = await timed("first up", () => first.exited);
        assert.strictEqual(code, 0, first.output().slice(-6000));
        assert.strictEqual(envOf("visits").INTERRUPTED, "2", "the first run's change is applied");
        await runs("preview --expect-no-changes", ["dev", "preview", "--expect-no-changes"]);
    });

    /**
     * Starts an `up` of `edit` that cannot roll out, waits for the program to name `reason` (seconds from the
     * StatefulSet's update step, printed), stops it with Ctrl-C, then reverts (`revert`) and converges.
     */
    async function saysWhy(what: string, edit: (c: Record<string, Any>) => void, reason: RegExp, revert: (c: Record<string, Any>) => void): Promise<void> {
        const before = claims();
        editStack(edit);
        const r = runner(["dev", "up", "--yes"]);
        await eventually(`${what}: the StatefulSet's update step`, 300, () => /StatefulSet visits-statefulset (updating|creating)/.test(r.output()));
        const stepAt = Date.now();
        const said = new RegExp(`waiting for the StatefulSet visits: .*${reason.source}`);
        await eventually(`${what}: the program names ${reason}`, 120, () => said.test(r.output()));
        const seconds = (Date.now() - stepAt) / 1000;
        process.stdout.write(`      [e2e] ${what}: the reason was printed ${seconds.toFixed(1)} s after the StatefulSet's update step began\n`);
        assert.ok(seconds < 30, `${what}: ${seconds} s to say why`);
        const code = await interrupt(r, said, "SIGINT", what);
        assert.strictEqual(code, 130, r.output().slice(-3000));
        editStack(revert);
        await recovers(what, []);
        // A scale-up's new claim may stay (whenScaled: Retain); every claim there before keeps its UID.
        const after = claims();
        for (const [name, uid] of Object.entries(before)) assert.strictEqual(after[name], uid, `PVC ${name} kept`);
    }

    it("an up that cannot roll out says why within seconds, not at its await timeout: an unschedulable pod (FailedScheduling), then a ResourceQuota (FailedCreate); Ctrl-C stops it, the revert converges", async () => {
        let cpu: Any;
        await saysWhy(
            "unschedulable",
            (c) => {
                cpu = app(c, "visits").resources.requests.cpu;
                app(c, "visits").resources.requests.cpu = "1000";
            },
            /FailedScheduling/,
            (c) => (app(c, "visits").resources.requests.cpu = cpu),
        );
        // What the quota counts: pods not yet Succeeded or Failed (the data-load Job's pod is done).
        const pods = (cluster.getJson(["pods", "-n", NS]).items as Any[]).filter((p) => !["Succeeded", "Failed"].includes(p.status?.phase)).length;
        cluster.kubectl(["-n", NS, "create", "quota", "interrupted-pods", `--hard=count/pods=${pods}`]);
        try {
            let replicas = 0;
            await saysWhy(
                "ResourceQuota",
                (c) => {
                    replicas = app(c, "visits").replicas;
                    app(c, "visits").replicas = replicas + 1;
                },
                /FailedCreate.*exceeded quota/,
                (c) => (app(c, "visits").replicas = replicas),
            );
        } finally {
            cluster.kubectl(["-n", NS, "delete", "quota", "interrupted-pods"]);
        }
    });

    it("the API server killed for 30 s in the middle of an up (kill -9, then kwokctl start cluster restarts it): that up finishes or fails saying so, the next converges", async () => {
        const before = claims();
        editStack((c) => (app(c, "visits").env = { ...app(c, "visits").env, INTERRUPTED: "4" }));
        const r = runner(["dev", "up", "--yes"]);
        await eventually("the visits update step", 300, () => /StatefulSet visits-statefulset updating/.test(r.output()));
        // scripts/cluster keeps kwokctl's clusters in KWOK_WORKDIR/clusters/<name>, beside the kubeconfig, with a pid
        // file per component. Only the API server goes: a stop of the whole control plane also restarts kwok, which
        // then never finishes a pod deleted before (a fake-node artefact: a kubelet would).
        const clusterDir = path.dirname(cluster.kubeconfig);
        const pid = Number(fs.readFileSync(path.join(clusterDir, "pids", "kube-apiserver.pid"), "utf8").trim());
        assert.ok(
            fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(path.join(clusterDir, "bin", "kube-apiserver")),
            `pid ${pid} is not this cluster's API server`,
        );
        process.kill(pid, "SIGKILL");
        await eventually("the API server gone", 30, () => !alive(pid));
        await new Promise((res) => setTimeout(res, 30_000));
        await timed("kwokctl start cluster (starts the API server again)", () => {
            const res = cluster.run(path.join(path.dirname(cluster.kubectlPath), "kwokctl"), ["--name", cluster.name, "start", "cluster"], undefined, {
                KWOK_WORKDIR: path.dirname(path.dirname(clusterDir)),
            });
            assert.strictEqual(res.status, 0, res.stderr);
        });
        await eventually("the API server back", 120, () => cluster.kubectlResult(["get", "--raw", "/readyz"]).status === 0);
        const code = await timed("the up that lost its API server", () => r.exited);
        const last = r
            .output()
            .split("\n")
            .filter((l) => l.startsWith("[deploy]") || /error:/.test(l))
            .slice(-3)
            .join(" | ");
        process.stdout.write(`      [e2e] API server killed: that up exited ${code}: ${last.slice(0, 600)}\n`);
        assert.ok(code === 0 || /\[deploy\] failed: /.test(r.output()), `exit ${code} without the runner's failure line:\n${r.output().slice(-3000)}`);
        assert.deepStrictEqual(locks(), [], "the up left its lock");
        await recovers("API server killed", []);
        assert.deepStrictEqual(claims(), before, "every PVC kept");
        assert.strictEqual(envOf("visits").INTERRUPTED, "4", "the change is applied");
    });

    it("allowStatefulSetRecreate: kill -9 between its two ups, then kill -9 during the orphaning replace: each time the next up finishes the recreate over the same pods and PVCs", async () => {
        const before = { claims: claims(), pods: uids("pods") };
        const visitsPods = () => Object.fromEntries(Object.entries(uids("pods")).filter(([n]) => /^visits-\d+$/.test(n)));
        const podsBefore = visitsPods();
        const sts = () => uids("statefulsets").visits;
        const first = sts();
        // Between the two ups: the runner says it starts the second one (it may have just begun: a race of milliseconds).
        editStack((c) => Object.assign(app(c, "visits"), { podManagementPolicy: "OrderedReady", allowStatefulSetRecreate: true }));
        let r = runner(["dev", "up", "--yes"]);
        await interrupt(r, /are marked for a recreate \(allowStatefulSetRecreate\): a second up replaces them/, "SIGKILL", "between the recreate's ups", {
            betweenOperations: true,
        });
        await recovers("between the recreate's ups", []);
        assert.notStrictEqual(sts(), first, "the StatefulSet is new (recreated)");
        assert.strictEqual(cluster.getJson(["statefulset", "visits", "-n", NS]).spec.podManagementPolicy, "OrderedReady");
        assert.deepStrictEqual(visitsPods(), podsBefore, "the same pods");
        // During the replace: the second up's delete of the marked StatefulSet (orphaning its pods) or the create after it.
        const second = sts();
        editStack((c) => (app(c, "visits").podManagementPolicy = "Parallel"));
        r = runner(["dev", "up", "--yes"]);
        await interrupt(r, /StatefulSet visits-statefulset (deleting|creating replacement|replacing)/, "SIGKILL", "during the orphaning replace");
        await recovers("during the orphaning replace", []);
        assert.notStrictEqual(sts(), second, "the StatefulSet is new (recreated)");
        assert.strictEqual(cluster.getJson(["statefulset", "visits", "-n", NS]).spec.podManagementPolicy, "Parallel");
        assert.deepStrictEqual(visitsPods(), podsBefore, "the same pods");
        assert.deepStrictEqual(claims(), before.claims, "every PVC kept");
    });

    it("Ctrl-C once while visits updates: the run stops after its steps in flight, exit 130, no lock left; the next up converges", async () => {
        const before = claims();
        editStack((c) => (app(c, "visits").env = { ...app(c, "visits").env, INTERRUPTED: "3" }));
        const r = runner(["dev", "up", "--yes"]);
        const code = await interrupt(r, /kubernetes:apps\/v1:StatefulSet visits-statefulset updating/, "SIGINT", "Ctrl-C");
        assert.strictEqual(code, 130, r.output().slice(-6000));
        assert.deepStrictEqual(locks(), [], "Ctrl-C left a lock");
        await recovers("Ctrl-C", []);
        assert.deepStrictEqual(claims(), before, "every PVC kept");
    });
});

/**
 * Clustered apps (config/peer-schema.ts, config/peer-rules.ts, lib/peers.ts), pure: the peer env values, the
 * membership guard against a live replica count, and the stack files' datastores written without their namespace.
 * What this does not prove: that members find each other (tests/e2e/real-node.e2e.ts runs etcd on the real node);
 * the chart's rendering of the same is compared in tests/chart.test.ts.
 */
import * as assert from "assert";
import { parseStackConfig } from "../config/parse";
import { membershipProblems } from "../config/peer-rules";
import type { AppConfig } from "../config/schema";
import type { LiveStatefulSet } from "../lib/kube-api";
import { membershipJob, membershipStep } from "../lib/membership";
import { jobOutcome } from "../lib/membership-run";
import { peerEnvValue } from "../lib/peers";
import { stackConfig } from "./helm";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function ring(extra: Record<string, unknown> = {}): AppConfig {
    return parseStackConfig(
        {
            environment: "dev",
            namespace: { name: "ring" },
            apps: [
                {
                    name: "etcd",
                    image: { repository: "localhost/etcd", tag: "3.6.16" },
                    port: 2379,
                    replicas: 3,
                    resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                    probes: { readiness: { type: "tcp" }, liveness: { type: "tcp" } },
                    secret: { source: "generated" },
                    ...extra,
                },
            ],
        },
        () => false,
    ).apps[0];
}

const live = (replicas: number): LiveStatefulSet => ({ name: "etcd", podManagementPolicy: "OrderedReady", replicas });

describe("peer discovery env (lib/peers.ts)", () => {
    it("all: one entry per replica in ordinal order; first: the same at any replicas ≥ count (a scale changes no seed)", () => {
        const all = { name: "X", members: "all", format: "{pod}#{ordinal}", separator: " " } as const;
        assert.strictEqual(peerEnvValue(ring(), all, "cluster.local"), "etcd-0#0 etcd-1#1 etcd-2#2");
        const seeds = { name: "S", members: "first", count: 2, format: "{host}", separator: "," } as const;
        const at3 = peerEnvValue(ring(), seeds, "cluster.local");
        assert.strictEqual(at3, "etcd-0.etcd-headless.$(POD_NAMESPACE).svc.cluster.local,etcd-1.etcd-headless.$(POD_NAMESPACE).svc.cluster.local");
        assert.strictEqual(peerEnvValue(ring({ replicas: 5 }), seeds, "cluster.local"), at3);
        assert.notStrictEqual(peerEnvValue(ring({ replicas: 5 }), all, "cluster.local"), peerEnvValue(ring(), all, "cluster.local"));
    });

    it("self: this pod through $(POD_NAME), the domain from the stack", () => {
        const self = { name: "ME", members: "self", format: "http://{host}:2379", separator: "," } as const;
        assert.strictEqual(peerEnvValue(ring(), self, "corp.example"), "http://$(POD_NAME).etcd-headless.$(POD_NAMESPACE).svc.corp.example:2379");
    });
});

describe("the membership guard (config/peer-rules.ts membershipProblems), against the live replicas", () => {
    const guarded = ring({ membership: { maxScaleDownStep: 1, maxScaleUpStep: 2 } });
    const at = (replicas: number) => ({ ...guarded, replicas });

    it("refuses 3 -> 1 naming replicas, the live count and the first safe step; allows 3 -> 2", () => {
        const [p] = membershipProblems(at(1), 0, live(3));
        assert.strictEqual(p.key, "stateful-apps:apps[0].replicas");
        assert.match(
            p.message,
            /would remove 2 members at once \(the live StatefulSet etcd has 3\); membership\.maxScaleDownStep allows 1 per up\. Go in steps: 2 first/,
        );
        assert.deepStrictEqual(membershipProblems(at(2), 0, live(3)), []);
    });

    it("refuses 3 -> 6 past maxScaleUpStep 2, allows 3 -> 5", () => {
        assert.match(
            membershipProblems(at(6), 0, live(3))[0].message,
            /would add 3 members at once .*membership\.maxScaleUpStep allows 2 per up\. Go in steps: 5 first/,
        );
        assert.deepStrictEqual(membershipProblems(at(5), 0, live(3)), []);
    });

    it("does not check parking (to 0 or from 0), a first deploy, or an app without a step", () => {
        assert.deepStrictEqual(membershipProblems(at(0), 0, live(5)), []);
        assert.deepStrictEqual(membershipProblems(at(5), 0, live(0)), []);
        assert.deepStrictEqual(membershipProblems(at(1), 0, undefined), []);
        assert.deepStrictEqual(membershipProblems({ ...ring(), replicas: 1 }, 0, live(9)), []);
    });
});

describe("membership steps (lib/membership.ts): which Job a change of replicas runs, and the Job", () => {
    const steps = {
        membership: {
            beforeScaleDown: { command: ["sh", "-c", "for m in $MEMBERS_LEAVING; do etcdctl member remove $m; done"] },
            afterScaleUp: { command: ["etcdctl", "endpoint", "health", "--cluster"] },
        },
    };

    it("5 -> 3: beforeScaleDown for etcd-4, etcd-3 (highest first); 3 -> 5: afterScaleUp for etcd-3, etcd-4; none for first deploy, parking, no change", () => {
        assert.deepStrictEqual(membershipStep(ring(steps), 5), { app: "etcd", step: "beforeScaleDown", from: 5, to: 3, members: ["etcd-4", "etcd-3"] });
        assert.deepStrictEqual(membershipStep(ring({ ...steps, replicas: 5 }), 3), {
            app: "etcd",
            step: "afterScaleUp",
            from: 3,
            to: 5,
            members: ["etcd-3", "etcd-4"],
        });
        for (const [replicas, live] of [
            [3, undefined],
            [0, 3],
            [3, 0],
            [3, 3],
        ] as const) {
            assert.strictEqual(membershipStep(ring({ ...steps, replicas }), live), undefined, `${live} -> ${replicas}`);
        }
        assert.strictEqual(membershipStep(ring(), 5), undefined, "no step declared");
    });

    it("the Job: the app's image, restricted and read-only, the step env with the members and their DNS suffix; its name is stable per step", () => {
        const app = ring(steps);
        const step = membershipStep(app, 5)!;
        const job = membershipJob(app, step, "ring", "cluster.local");
        assert.match(job.metadata.name, /^etcd-scale-down-[0-9a-f]{8}$/);
        assert.strictEqual(membershipJob(app, step, "ring", "cluster.local").metadata.name, job.metadata.name);
        assert.notStrictEqual(membershipJob(app, { ...step, members: ["etcd-4"], to: 4 }, "ring", "cluster.local").metadata.name, job.metadata.name);
        const c = (job.spec.template as Any).spec.containers[0];
        assert.strictEqual(c.image, "localhost/etcd:3.6.16");
        assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true);
        assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false);
        const env = Object.fromEntries(c.env.filter((e: Any) => e.value !== undefined).map((e: Any) => [e.name, e.value]));
        assert.strictEqual(env.MEMBERS_LEAVING, "etcd-4 etcd-3");
        assert.strictEqual(env.MEMBERS, "etcd-0 etcd-1 etcd-2");
        assert.strictEqual(env.MEMBER_DOMAIN, "etcd-headless.ring.svc.cluster.local");
        assert.strictEqual(env.APP_SERVICE, "etcd:2379");
        assert.strictEqual((job.spec.template as Any).metadata.labels["app.kubernetes.io/name"], "etcd-scale-down", "not the app's selector (name etcd)");
    });

    it("reads a Job's outcome from its status: Complete, Failed with its reason, else running", () => {
        assert.deepStrictEqual(jobOutcome({ status: { succeeded: 1 } }), { state: "succeeded" });
        assert.deepStrictEqual(
            jobOutcome({
                status: {
                    conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }],
                },
            }),
            {
                state: "failed",
                why: "BackoffLimitExceeded: Job has reached the specified backoff limit",
            },
        );
        assert.deepStrictEqual(jobOutcome({ status: { active: 1 } }), { state: "running" });
    });
});

describe("the stack files' clustered apps", () => {
    for (const stack of ["dev", "prod"]) {
        it(`Pulumi.${stack}.yaml: no env value, peer env format or config file names the stack's namespace or cluster domain`, () => {
            const cfg = stackConfig(stack);
            const literals = [cfg.namespace.name, cfg.clusterDomain];
            for (const app of cfg.apps) {
                const texts = [
                    ...Object.entries(app.env).map(([k, v]) => [`env.${k}`, v]),
                    ...app.peerEnv.map((e) => [`peerEnv ${e.name}`, e.format]),
                    ...Object.entries(app.configFiles).map(([k, v]) => [`configFiles.${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
                ];
                for (const [where, text] of texts) {
                    for (const literal of literals) {
                        assert.ok(!text.includes(literal), `${app.name} ${where} names ${literal}: use peerEnv (docs/CONFIGURATION.md "Clustered datastores")`);
                    }
                }
            }
            assert.ok(
                cfg.apps.some((a) => a.peerEnv.length > 0),
                "the stack has a clustered app",
            );
        });
    }
});

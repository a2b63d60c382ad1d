/**
 * lib/awaits.ts: how long Pulumi waits for a StatefulSet and whether it can. Pure functions over the stack
 * files' apps. What the real engine does with them (a partitioned canary `up` that returns): tests/e2e.
 */
import * as assert from "assert";
import { DEFAULT_STATEFULSET_TIMEOUT_SECONDS, podAvailableSeconds, POD_START_ALLOWANCE_SECONDS, rolloutAwait, statefulSetTimeouts } from "../lib/awaits";
import type { AppConfig } from "../config/schema";
import { stackConfig } from "./helm";

const app = (stack: string, name: string): AppConfig => {
    const found = stackConfig(stack).apps.find((a) => a.name === name);
    assert.ok(found);
    return found;
};

describe("lib/awaits: StatefulSet await timeouts and canaries", () => {
    it("budgets a pod as start allowance + startup probe budget + first readiness probe + minReadySeconds", () => {
        const datastore = app("prod", "datastore"); // startup tcp, 30 × 10 s; readiness every 15 s
        const s = datastore.probes.startup!;
        assert.strictEqual(
            podAvailableSeconds(datastore),
            POD_START_ALLOWANCE_SECONDS +
                s.initialDelaySeconds +
                s.failureThreshold * s.periodSeconds +
                datastore.probes.readiness.initialDelaySeconds +
                datastore.probes.readiness.periodSeconds +
                datastore.minReadySeconds,
        );
    });

    it("gives a prod OrderedReady app with slow startup probes more than the provider's 10 minutes", () => {
        const datastore = app("prod", "datastore");
        assert.strictEqual(datastore.podManagementPolicy, "OrderedReady");
        const t = statefulSetTimeouts(datastore);
        assert.strictEqual(t.createSeconds, datastore.replicas * podAvailableSeconds(datastore));
        assert.ok(t.createSeconds > DEFAULT_STATEFULSET_TIMEOUT_SECONDS, `${t.createSeconds} s`);
        assert.strictEqual(t.updateSeconds, datastore.replicas * (podAvailableSeconds(datastore) + datastore.terminationGracePeriodSeconds));
    });

    it("never goes below the provider's default, and a Parallel create costs one pod's time", () => {
        const visits = app("dev", "visits");
        assert.strictEqual(visits.podManagementPolicy, "Parallel");
        assert.deepStrictEqual(statefulSetTimeouts(visits), {
            createSeconds: DEFAULT_STATEFULSET_TIMEOUT_SECONDS,
            updateSeconds: DEFAULT_STATEFULSET_TIMEOUT_SECONDS,
        });
        const big = { ...visits, replicas: 50, probes: { ...visits.probes, startup: { ...visits.probes.readiness, failureThreshold: 60 } } } as AppConfig;
        assert.strictEqual(statefulSetTimeouts(big).createSeconds, Math.max(DEFAULT_STATEFULSET_TIMEOUT_SECONDS, podAvailableSeconds(big)));
        assert.strictEqual(statefulSetTimeouts(big).updateSeconds, 50 * (podAvailableSeconds(big) + big.terminationGracePeriodSeconds));
    });

    it("does not await a partitioned RollingUpdate (a canary) and says why; awaits partition 0 and OnDelete", () => {
        const visits = app("dev", "visits");
        assert.deepStrictEqual(rolloutAwait(visits), { awaited: true });
        const canary = { ...visits, updateStrategy: { type: "RollingUpdate", partition: 1 } } as AppConfig;
        const r = rolloutAwait(canary);
        assert.strictEqual(r.awaited, false);
        assert.match(
            !r.awaited ? r.reason : "",
            /partitioned at 1: ordinals ≥ 1 get the new revision \(\S+-1.*\), ordinals < 1 keep the current one \(\S+-0\)/,
        );
        assert.deepStrictEqual(rolloutAwait({ ...visits, updateStrategy: { type: "OnDelete" } } as AppConfig), { awaited: true });
        const wide = rolloutAwait({ ...visits, replicas: 9, updateStrategy: { type: "RollingUpdate", partition: 2 } } as AppConfig);
        assert.match(!wide.awaited ? wide.reason : "", /\(visits-2, visits-3, …, visits-8\), ordinals < 2 keep the current one \(visits-0, visits-1\)/);
    });
});

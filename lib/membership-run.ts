/**
 * Runs a membership step's Job (lib/membership.ts) during `up`: creates it (or finds it from an interrupted run),
 * waits for it, deletes it once it succeeded, and on failure keeps it and throws with its pods' last log lines.
 */
import { deleteJson, getJson, getJsonIfExists, getText, postJson, type ClusterConnection } from "./kube-client";
import type { JobObject } from "./jobs";

/** Seconds between two looks at the Job. */
export const STEP_POLL_SECONDS = 2;
/** Log lines of each failed pod quoted in the error. */
const LOG_LINES = 20;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** The Job's outcome from its status: done, failed (with the condition's reason and message) or running. */
export function jobOutcome(job: Any): { state: "succeeded" } | { state: "failed"; why: string } | { state: "running" } {
    const conditions: Any[] = job?.status?.conditions ?? [];
    const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
    if (failed) return { state: "failed", why: `${failed.reason ?? "Failed"}: ${failed.message ?? ""}`.trim() };
    if ((job?.status?.succeeded ?? 0) >= 1 || conditions.some((c) => c.type === "Complete" && c.status === "True")) return { state: "succeeded" };
    return { state: "running" };
}

/**
 * Runs `job` in `namespace` and resolves once it succeeded (then deletes it, with its pods). A Job of the same name
 * that already succeeded (an interrupted `up` ran it) counts as done; one that failed is deleted and run again.
 * `log` reports each phase. Gives up past the Job's `activeDeadlineSeconds` plus 60 s.
 *
 * @throws Error naming the Job, the Job's failure reason and each pod's last {@link LOG_LINES} log lines; the Job is
 *   kept for `kubectl logs`.
 */
export async function runStepJob(conn: ClusterConnection, namespace: string, job: JobObject, log: (m: string) => void): Promise<void> {
    const ns = encodeURIComponent(namespace);
    const path = `/apis/batch/v1/namespaces/${ns}/jobs/${encodeURIComponent(job.metadata.name)}`;
    const started = Date.now();
    let live: Any = await getJsonIfExists(conn, path);
    if (live && jobOutcome(live).state === "failed") {
        log(`Job ${job.metadata.name} failed in an earlier run: deleting it and running it again`);
        await deleteJson(conn, path, live.metadata.uid, 15_000, "Background");
        while (await getJsonIfExists(conn, path)) await sleep(1000);
        live = undefined;
    }
    if (!live) {
        await postJson(conn, `/apis/batch/v1/namespaces/${ns}/jobs`, { apiVersion: "batch/v1", kind: "Job", ...job, metadata: { ...job.metadata, namespace } });
        log(`Job ${job.metadata.name} started`);
    } else {
        log(`Job ${job.metadata.name} exists from an earlier run: waiting for it`);
    }
    const deadline = started + (Number(job.spec.activeDeadlineSeconds ?? 300) + 60) * 1000;
    for (;;) {
        live = await getJson(conn, path);
        const outcome = jobOutcome(live);
        if (outcome.state === "succeeded") {
            log(`Job ${job.metadata.name} succeeded after ${((Date.now() - started) / 1000).toFixed(1)} s`);
            await deleteJson(conn, path, live.metadata.uid, 15_000, "Background").catch(() => undefined);
            return;
        }
        if (outcome.state === "failed" || Date.now() > deadline) {
            const why = outcome.state === "failed" ? outcome.why : `not done after ${Math.round((Date.now() - started) / 1000)} s`;
            throw new Error(
                `Job ${namespace}/${job.metadata.name} ${outcome.state === "failed" ? "failed" : "timed out"} (${why}); it is kept for kubectl logs.${await podLogs(conn, ns, job.metadata.name)}`,
            );
        }
        await sleep(STEP_POLL_SECONDS * 1000);
    }
}

/** The last log lines of the Job's pods, each under its name; empty when none can be read. */
async function podLogs(conn: ClusterConnection, ns: string, jobName: string): Promise<string> {
    const pods: Any = await getJson(conn, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`job-name=${jobName}`)}`).catch(() => undefined);
    const out: string[] = [];
    for (const p of (pods?.items ?? []) as Any[]) {
        const text = await getText(conn, `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(p.metadata.name)}/log?tailLines=${LOG_LINES}`).catch(
            (e: Error) => `(no log: ${e.message})`,
        );
        out.push(`\n--- pod ${p.metadata.name}:\n${text.trimEnd()}`);
    }
    return out.join("");
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/**
 * PodDisruptionBudget maths and spec, pure and without the schema (the policy pack imports it).
 */

/** What a configured PodDisruptionBudget allows (`apps[].pdb`, one of the two fields at most). */
export interface PdbPolicy {
    readonly minAvailable?: number | string;
    readonly maxUnavailable?: number | string;
}

/** `maxUnavailable` when `apps[].pdb` sets neither field: one pod at a time may be evicted. */
export const DEFAULT_PDB_MAX_UNAVAILABLE = 1;

/**
 * The PodDisruptionBudget's policy fields: the configured `minAvailable`, else the configured or default
 * ({@link DEFAULT_PDB_MAX_UNAVAILABLE}) `maxUnavailable`.
 */
export function pdbPolicy(pdb: PdbPolicy): PdbPolicy {
    if (pdb.minAvailable !== undefined) {
        return { minAvailable: pdb.minAvailable };
    }
    return { maxUnavailable: pdb.maxUnavailable ?? DEFAULT_PDB_MAX_UNAVAILABLE };
}

/**
 * How many pods a PodDisruptionBudget lets be evicted at once with all `replicas` healthy.
 * Percentages round up for both fields, as the disruption controller does
 * (https://kubernetes.io/docs/tasks/run-application/configure-pdb/#rounding-logic-when-specifying-percentages).
 */
export function allowedDisruptions(pdb: PdbPolicy, replicas: number): number {
    const policy = pdbPolicy(pdb);
    const resolve = (v: number | string) => (typeof v === "number" ? v : Math.ceil((parseInt(v, 10) / 100) * replicas));
    if (policy.minAvailable !== undefined) {
        return Math.max(0, replicas - resolve(policy.minAvailable));
    }
    return Math.max(0, Math.min(replicas, resolve(policy.maxUnavailable ?? DEFAULT_PDB_MAX_UNAVAILABLE)));
}

/** Whether an app gets a PodDisruptionBudget: as configured (`pdb.enabled`), else when it has more than one replica. */
export function pdbEnabled(app: { readonly pdb: { readonly enabled?: boolean }; readonly replicas: number }): boolean {
    return app.pdb.enabled ?? app.replicas > 1;
}

/**
 * The PodDisruptionBudget's spec for pods with `selector` labels: the policy of {@link pdbPolicy} and
 * `unhealthyPodEvictionPolicy: AlwaysAllow`, so a pod that is not Ready (crash-looping) can always be evicted and
 * never blocks a node drain (https://kubernetes.io/docs/tasks/run-application/configure-pdb/#unhealthy-pod-eviction-policy).
 */
export function pdbSpec(
    pdb: PdbPolicy,
    selector: Record<string, string>,
): PdbPolicy & { selector: { matchLabels: Record<string, string> }; unhealthyPodEvictionPolicy: "AlwaysAllow" } {
    return { ...pdbPolicy(pdb), selector: { matchLabels: { ...selector } }, unhealthyPodEvictionPolicy: "AlwaysAllow" };
}

/**
 * Facts about the mtail sidecar that the config schema, the renderers and the alert rules share: plain constants,
 * so that the config layer does not load lib/observability.ts (alert rules, YAML) for them.
 */

/** Log formats mtail can turn into metrics; each has one program in observability/mtail. */
export type LogFormat = "visits" | "timestamps" | "litecoin-debug";

/** Every LogFormat, in a stable order. */
export const LOG_FORMATS: readonly LogFormat[] = ["visits", "timestamps", "litecoin-debug"];

/** Where the mtail program ConfigMap is mounted in the sidecar (its `-progs` directory). */
export const MTAIL_PROGS_DIR = "/etc/mtail";

/** mtail's conventional HTTP port; `/metrics` there serves the Prometheus text format. */
export const MTAIL_PORT = 3903;

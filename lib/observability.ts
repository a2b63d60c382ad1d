/**
 * Observability: metrics from app logs (the mtail programs in observability/mtail) and Prometheus alert rules
 * for each workload. Pure functions and constants only; the components mount the program next to an mtail
 * sidecar and create the rules (a PrometheusRule, or a rules file).
 *
 * Where the metrics come from:
 * - `kube_*`: kube-state-metrics (https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics).
 * - `kubelet_volume_stats_*`: the kubelet's /metrics endpoint (bytes; one series per mounted PVC).
 * - `up`: Prometheus itself, per scrape target (1 scraped, 0 failed).
 * - `visits_*`, `litecoin_*`: mtail, from the programs below (see the comments in each program).
 */
import * as path from "path";
import { stringify } from "yaml";
import { LogFormat, MTAIL_PORT } from "./mtail-constants";
import { PROJECT, workloadNames } from "./names";

export { LOG_FORMATS, LogFormat, MTAIL_PORT, MTAIL_PROGS_DIR } from "./mtail-constants";

/** The directory holding the mtail programs (absolute; the repository's `observability/mtail`). */
export const MTAIL_PROGRAM_DIR = path.resolve(__dirname, "..", "observability", "mtail");

/** What one log format yields. */
export interface LogFormatInfo {
    /** The program's file name in observability/mtail; mtail exports it as the `prog` label. */
    readonly program: string;
    /** The log line, as an example. */
    readonly example: string;
    /** Every metric the program exports (names only; the program adds no labels besides mtail's `prog`). */
    readonly metrics: readonly string[];
    /**
     * A counter the program exports from the moment it is loaded (at 0 before any line matched; mtail exports
     * gauges only once set). Its absence means the target is not scraped or the program did not load.
     */
    readonly presenceMetric: string;
}

/** The programs and their metrics, per log format. */
export const LOG_FORMAT_INFO: Readonly<Record<LogFormat, LogFormatInfo>> = {
    visits: {
        program: "visits.mtail",
        example: "2026-11-23T10:15:02Z visit 17 pod=visits-0",
        metrics: ["visits_total", "visits_counter_value", "visits_last_timestamp_seconds"],
        presenceMetric: "visits_total",
    },
    timestamps: {
        program: "timestamps.mtail",
        example: "2026-11-23T10:15:02Z",
        metrics: ["visits_total", "visits_last_timestamp_seconds"],
        presenceMetric: "visits_total",
    },
    "litecoin-debug": {
        program: "litecoin-debug.mtail",
        example: "2024-05-01T12:00:01Z New outbound peer connected: version: 70015, blocks=2712345, peer=12 (full-relay)",
        metrics: [
            "litecoin_log_lines_total",
            "litecoin_tip_updates_total",
            "litecoin_block_height",
            "litecoin_sync_progress_ratio",
            "litecoin_peer_connections_total",
            "litecoin_peer_disconnections_total",
        ],
        presenceMetric: "litecoin_log_lines_total",
    },
};

/**
 * The mtail program for a log format: its absolute path under observability/mtail (read it into the ConfigMap
 * the mtail sidecar mounts as its `-progs` directory; mount only this one program, because every program in
 * that directory sees every line of every log).
 */
export function mtailProgramPath(format: LogFormat): string {
    return path.join(MTAIL_PROGRAM_DIR, LOG_FORMAT_INFO[format].program);
}

/** Inputs to the mtail command line. */
export interface MtailArgsInput {
    /** The log file to tail (absolute path; a glob is allowed), e.g. `/data/visits.log`. */
    readonly logFile: string;
    /** Directory holding the program(s), e.g. where the ConfigMap is mounted. */
    readonly progsDir: string;
    /** HTTP port. Default MTAIL_PORT (3903); 0 picks a free port (mtail logs `Listening on <addr>:<port>`). */
    readonly port?: number;
    /** Address to bind. Default: all addresses. */
    readonly address?: string;
}

/**
 * mtail's arguments (for mtail 3.0.0-rc50). Logs go to stderr (the container log) instead of glog files.
 * Metric timestamps are not sent (mtail's default), so Prometheus stamps samples at scrape time even when a
 * metric was last set from an old log line.
 *
 * mtail tails from the END of a file: lines already in the file when mtail starts, or when it first finds a
 * file created later (it polls every 250 ms by default), are not read. Create the log file before mtail starts
 * if the first lines matter.
 */
export function mtailArgs(input: MtailArgsInput): string[] {
    return [
        "-progs",
        input.progsDir,
        "-logs",
        input.logFile,
        "-port",
        String(input.port ?? MTAIL_PORT),
        ...(input.address !== undefined ? ["-address", input.address] : []),
        "-logtostderr",
    ];
}

/** Alert severities; routing is up to Alertmanager. */
export type Severity = "warning" | "critical";

/** One alerting rule, as in a Prometheus rules file or a PrometheusRule's `spec.groups[].rules[]`. */
export interface AlertRule {
    /** CamelCase alert name (the `alertname` label). */
    readonly alert: string;
    /** PromQL; the alert fires per result series, with that series' labels. */
    readonly expr: string;
    /** How long `expr` must hold before the alert fires, as a Prometheus duration (`15m`). */
    readonly for: string;
    /**
     * Added to the alert's labels: `severity`, and `app` (the app name, for routing; it also keeps the rules of
     * different apps distinct, which promtool's duplicate-rules lint demands).
     */
    readonly labels: { readonly severity: Severity; readonly app: string };
    /** Go templates over `$labels` and `$value`. `runbook_url` only when a runbook base URL is configured. */
    readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url?: string };
}

/** A rule group: rules evaluated together at the group's interval (Prometheus' global one by default). */
export interface RuleGroup {
    readonly name: string;
    readonly rules: readonly AlertRule[];
}

/** A Prometheus rules file, and the `spec` of a prometheus-operator PrometheusRule. */
export interface RulesSpec {
    readonly groups: readonly RuleGroup[];
}

/**
 * Options of `alertRuleSpec`: thresholds and durations (seconds; ratios 0..1 exclusive), their defaults and checks
 * in the stack schema (`stateful-apps:monitoring.*`, config/schema.ts), which lib/monitoring.ts `alertOptions` reads.
 */
export interface AlertOptions {
    /** The app writes a log that an mtail sidecar turns into metrics; adds the mtail rules (needs `mtailJob`). */
    readonly logFormat?: LogFormat;
    /**
     * The `job` label Prometheus gives the mtail scrape target (a ServiceMonitor's is its Service name by default, a
     * PodMonitor's `<namespace>/<name>`; a scrape config sets its own). Required with `logFormat`.
     */
    readonly mtailJob?: string;
    /** Seconds a pod or replica may be not Ready before an alert fires. */
    readonly notReadyForSeconds: number;
    /** Free-space ratio of a PVC under which StatefulAppVolumeNearlyFull fires. */
    readonly volumeFreeRatio: number;
    /** Seconds ahead StatefulAppVolumeFillingUp predicts (linear fit of the last 6 h). */
    readonly volumeFillHorizonSeconds: number;
    /** Container restarts in the window above which StatefulAppContainerRestarting fires. */
    readonly restartThreshold: number;
    /** The restart-counting window, seconds. */
    readonly restartWindowSeconds: number;
    /** Seconds the mtail target may be down (or its metrics absent) before an alert fires. */
    readonly mtailDownForSeconds: number;
    /** Runbooks: each alert gets `runbook_url: <base>#<alertname in lowercase>`. Absent: no runbook_url. */
    readonly runbookBaseUrl?: string;
}

/** History (seconds) `predict_linear` fits for StatefulAppVolumeFillingUp. */
export const VOLUME_FILL_LOOKBACK_SECONDS = 6 * 3600;
/** StatefulAppVolumeFillingUp is only armed below this free ratio, so a fresh volume's first fill does not alert. */
export const VOLUME_FILL_ARMED_RATIO = 0.5;
/** `for` of StatefulAppVolumeFillingUp (seconds): the trend must hold for an hour. */
export const VOLUME_FILL_FOR_SECONDS = 3600;
/** `for` of StatefulAppVolumeNearlyFull (seconds). */
export const VOLUME_FULL_FOR_SECONDS = 300;
/** How much longer than the target-down delay the log-metrics-absent rule waits (seconds): scrapes must settle. */
const ABSENT_EXTRA_SECONDS = 300;

/**
 * A Prometheus duration from seconds, in the largest unit that divides it exactly: 900 → `15m`,
 * 86400 → `24h`, 90 → `90s`, 0 → `0s`. Seconds must be a non-negative integer.
 */
export function promDuration(seconds: number): string {
    if (!Number.isInteger(seconds) || seconds < 0) {
        throw new Error(`a duration must be a non-negative whole number of seconds (given: ${seconds})`);
    }
    if (seconds > 0 && seconds % 3600 === 0) {
        return `${seconds / 3600}h`;
    }
    if (seconds > 0 && seconds % 60 === 0) {
        return `${seconds / 60}m`;
    }
    return `${seconds}s`;
}

/** A PromQL string literal (double-quoted, backslashes and quotes escaped). */
function q(value: string): string {
    return JSON.stringify(value);
}

/**
 * The alert rules of one StatefulSet app, as a PrometheusRule `spec` (one group, `stateful-apps.<ns>.<app>`):
 *
 * - `StatefulAppReplicasNotReady` (warning): fewer Ready replicas than desired for `notReadyForSeconds`
 *   (kube-state-metrics `kube_statefulset_replicas` − `kube_statefulset_status_replicas_ready`; `$value` is
 *   the number missing). Catches pods that cannot even be created (quota, Pod Security admission).
 * - `StatefulAppPodNotReady` (warning): a pod of the StatefulSet not Ready for `notReadyForSeconds`
 *   (`kube_pod_status_ready{condition="true"} == 0`, pods chosen by `kube_pod_owner` owner StatefulSet/<app>).
 * - `StatefulAppContainerRestarting` (warning): more than `restartThreshold` restarts of a container of those
 *   pods within `restartWindowSeconds` (`increase(kube_pod_container_status_restarts_total[…])`; increase()
 *   extrapolates to the window's edges, so near the threshold the count is approximate).
 * - `StatefulAppVolumeNearlyFull` (critical): a PVC `data-<app>-<ordinal>` with less than `volumeFreeRatio`
 *   free for 5 min (kubelet `kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes`;
 *   `$value` is the free ratio).
 * - `StatefulAppVolumeFillingUp` (warning): a PVC under VOLUME_FILL_ARMED_RATIO free that, extrapolating the
 *   last 6 h linearly (`predict_linear`), fills within `volumeFillHorizonSeconds`, for 1 h.
 * - with `logFormat` only, `StatefulAppMtailDown` (warning): a scrape of the mtail sidecar (`up{job=mtailJob}`)
 *   failing for `mtailDownForSeconds`; and `StatefulAppLogMetricsAbsent` (warning): no mtail target at all, or
 *   a target that is up but does not export the format's presence metric (the program did not load), for
 *   `mtailDownForSeconds` + 5 min.
 *
 * Every selector is scoped to `namespace`. The inputs are the validated config's (config/schema.ts checks names,
 * ratios and durations); throws only when `logFormat` comes without `mtailJob`.
 */
export function alertRuleSpec(app: string, namespace: string, o: AlertOptions): RulesSpec {
    if (o.logFormat !== undefined && !o.mtailJob) {
        throw new Error(`alert rules for ${q(app)}: logFormat ${o.logFormat} needs mtailJob (the mtail target's job label)`);
    }
    const ns = `namespace=${q(namespace)}`;
    const ownedPods = `kube_pod_owner{${ns}, owner_kind="StatefulSet", owner_name=${q(app)}}`;
    const sts = `{${ns}, statefulset=${q(app)}}`;
    const pvc = `{${ns}, persistentvolumeclaim=~${q(`${workloadNames(app).volumeClaim}-${app}-[0-9]+`)}}`;
    const freeRatio = `kubelet_volume_stats_available_bytes${pvc} / kubelet_volume_stats_capacity_bytes${pvc}`;
    const notReadyFor = promDuration(o.notReadyForSeconds);
    const horizon = promDuration(o.volumeFillHorizonSeconds);
    const runbook = (alert: string) => (o.runbookBaseUrl ? { runbook_url: `${o.runbookBaseUrl}#${alert.toLowerCase()}` } : {});
    const rule = (alert: string, expr: string, forSeconds: number, severity: Severity, summary: string, description: string): AlertRule => ({
        alert,
        expr,
        for: promDuration(forSeconds),
        labels: { severity, app },
        annotations: { summary, description, ...runbook(alert) },
    });

    const rules: AlertRule[] = [
        rule(
            "StatefulAppReplicasNotReady",
            `kube_statefulset_replicas${sts} - kube_statefulset_status_replicas_ready${sts} > 0`,
            o.notReadyForSeconds,
            "warning",
            "StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} has replicas that are not Ready",
            `{{ $value }} replica(s) of StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} have not been Ready for ${notReadyFor}.`,
        ),
        rule(
            "StatefulAppPodNotReady",
            `kube_pod_status_ready{${ns}, condition="true"} == 0 and on (namespace, pod) ${ownedPods}`,
            o.notReadyForSeconds,
            "warning",
            "Pod {{ $labels.namespace }}/{{ $labels.pod }} is not Ready",
            `Pod {{ $labels.namespace }}/{{ $labels.pod }} of StatefulSet ${app} has not been Ready for ${notReadyFor}.`,
        ),
        rule(
            "StatefulAppContainerRestarting",
            `increase(kube_pod_container_status_restarts_total{${ns}}[${promDuration(o.restartWindowSeconds)}]) > ${o.restartThreshold} and on (namespace, pod) ${ownedPods}`,
            0,
            "warning",
            "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} is restarting",
            `Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} restarted {{ $value | printf "%.0f" }} times in ${promDuration(o.restartWindowSeconds)} (more than ${o.restartThreshold}).`,
        ),
        rule(
            "StatefulAppVolumeNearlyFull",
            `${freeRatio} < ${o.volumeFreeRatio}`,
            VOLUME_FULL_FOR_SECONDS,
            "critical",
            "PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is nearly full",
            `PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free (alert under ${Math.round(o.volumeFreeRatio * 10000) / 100}%).`,
        ),
        rule(
            "StatefulAppVolumeFillingUp",
            `(${freeRatio}) < ${VOLUME_FILL_ARMED_RATIO} and predict_linear(kubelet_volume_stats_available_bytes${pvc}[${promDuration(VOLUME_FILL_LOOKBACK_SECONDS)}], ${o.volumeFillHorizonSeconds}) < 0`,
            VOLUME_FILL_FOR_SECONDS,
            "warning",
            "PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is filling up",
            `PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free and, at the rate of the last ${promDuration(VOLUME_FILL_LOOKBACK_SECONDS)}, fills within ${horizon}.`,
        ),
    ];

    if (o.logFormat !== undefined && o.mtailJob) {
        const target = `{${ns}, job=${q(o.mtailJob)}}`;
        const presence = LOG_FORMAT_INFO[o.logFormat].presenceMetric;
        rules.push(
            rule(
                "StatefulAppMtailDown",
                `up${target} == 0`,
                o.mtailDownForSeconds,
                "warning",
                "mtail of {{ $labels.namespace }}/{{ $labels.pod }} cannot be scraped",
                `Prometheus has failed to scrape the mtail sidecar {{ $labels.instance }} (job {{ $labels.job }}) for ${promDuration(o.mtailDownForSeconds)}: no metrics from ${app}'s logs.`,
            ),
            rule(
                "StatefulAppLogMetricsAbsent",
                `absent(up${target}) or (up${target} == 1 unless on (job, instance) ${presence}${target})`,
                o.mtailDownForSeconds + ABSENT_EXTRA_SECONDS,
                "warning",
                `No metrics from the logs of ${app} in {{ $labels.namespace }}`,
                `${presence} is missing from job {{ $labels.job }}{{ with $labels.instance }} (target {{ . }}){{ end }}: no mtail target is scraped, or mtail runs without the ${LOG_FORMAT_INFO[o.logFormat].program} program.`,
            ),
        );
    }
    return { groups: [{ name: `${PROJECT}.${namespace}.${app}`, rules }] };
}

/**
 * A Prometheus rules file (YAML text, for `rule_files` or `promtool check rules`) holding the groups of every
 * spec given. Throws when two groups share a name (Prometheus refuses such a file).
 */
export function rulesFileYaml(...specs: RulesSpec[]): string {
    const groups = specs.flatMap((s) => s.groups);
    const seen = new Set<string>();
    for (const g of groups) {
        if (seen.has(g.name)) {
            throw new Error(`rule group ${q(g.name)} appears twice`);
        }
        seen.add(g.name);
    }
    return `# Generated by lib/observability.ts (alertRuleSpec); do not edit.\n${stringify({ groups }, { lineWidth: 0 })}`;
}

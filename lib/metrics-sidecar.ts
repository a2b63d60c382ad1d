/**
 * The mtail metrics sidecar of an app with `metrics`: its program, init containers, resources and pod annotations.
 * Pure functions; the native pod template (lib/workload.ts) and the chart values (lib/helm-values.ts) use them.
 */
import type * as k8s from "@pulumi/kubernetes";
import { createHash } from "crypto";
import * as fs from "fs";
import type { AppConfig } from "../config/schema";
import { containerSecurityContext, imageReference } from "./container";
import type { WorkloadNames } from "./names";
import { LOG_FORMAT_INFO, mtailArgs, mtailProgramPath, MTAIL_PROGS_DIR } from "./observability";

/** Annotation holding the hash of the mtail program; a change rolls the pods. */
export const MTAIL_CHECKSUM_ANNOTATION = "checksum/mtail";

/** Program texts by log format, read once per process (the pod template, ConfigMap and Helm values all need it). */
const mtailProgramTexts = new Map<string, string>();

/** The mtail program of an app with `metrics`: its file name and text (from observability/mtail). */
export function mtailProgram(app: AppConfig): { file: string; text: string } | undefined {
    if (!app.metrics) {
        return undefined;
    }
    const format = app.metrics.logFormat;
    let text = mtailProgramTexts.get(format);
    if (text === undefined) {
        text = fs.readFileSync(mtailProgramPath(format), "utf8");
        mtailProgramTexts.set(format, text);
    }
    return { file: LOG_FORMAT_INFO[format].program, text };
}

/**
 * Requests and limits of the mtail sidecar and its log-init container, from `apps[].metrics.resources` (defaults in
 * config/schema.ts) plus fixed node-disk bounds (it writes nothing but its stderr).
 */
export function sidecarResources(r: NonNullable<AppConfig["metrics"]>["resources"]) {
    return { requests: { cpu: r.cpu, memory: r.memory, "ephemeral-storage": "16Mi" }, limits: { memory: r.memoryLimit, "ephemeral-storage": "128Mi" } };
}

/**
 * The init containers of an app with `metrics`: `log-init` creates the log file (mtail skips whatever a file
 * holds when it first opens it, so the file must exist before mtail starts), then `mtail`, a native sidecar
 * (`restartPolicy: Always`, Kubernetes ≥ 1.29: it starts before the app container and stops after it, so the
 * last log lines are still counted). mtail reads the data volume read-only.
 * Source: https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
 */
export function metricsInitContainers(app: AppConfig, names: WorkloadNames): k8s.types.input.core.v1.Container[] {
    if (!app.metrics) {
        return [];
    }
    const m = app.metrics;
    const data = { name: names.volumeClaim, mountPath: app.storage.mountPath };
    return [
        {
            name: "log-init",
            image: imageReference(m.image),
            imagePullPolicy: m.image.pullPolicy,
            command: ["touch", m.logFile],
            resources: sidecarResources(m.resources),
            securityContext: containerSecurityContext(app),
            volumeMounts: [data],
        },
        {
            name: "mtail",
            image: imageReference(m.image),
            imagePullPolicy: m.image.pullPolicy,
            restartPolicy: "Always",
            command: ["mtail", ...mtailArgs({ logFile: m.logFile, progsDir: MTAIL_PROGS_DIR, port: m.port })],
            ports: [{ name: "metrics", containerPort: m.port, protocol: "TCP" }],
            readinessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
            livenessProbe: { tcpSocket: { port: "metrics" }, periodSeconds: 20, timeoutSeconds: 2, failureThreshold: 3 },
            resources: sidecarResources(m.resources),
            securityContext: containerSecurityContext(app),
            volumeMounts: [
                { ...data, readOnly: true },
                { name: "mtail-program", mountPath: MTAIL_PROGS_DIR, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
            ],
        },
    ];
}

/** Pod annotations of the metrics sidecar: the program's checksum and, without the operator, scrape hints. */
export function metricsAnnotations(app: AppConfig, scrapeAnnotations: boolean): Record<string, string> {
    const program = mtailProgram(app);
    if (!program || !app.metrics) {
        return {};
    }
    return {
        // SHA-256 of the program text itself, as the chart's `sha256sum` computes it.
        [MTAIL_CHECKSUM_ANNOTATION]: createHash("sha256").update(program.text).digest("hex"),
        ...(scrapeAnnotations ? { "prometheus.io/scrape": "true", "prometheus.io/port": String(app.metrics.port), "prometheus.io/path": "/metrics" } : {}),
    };
}

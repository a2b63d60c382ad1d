/**
 * What tests/e2e/zones.e2e.ts works with: the three nodes' facts, the prod stack on images built here, the load
 * client pod and its figures, the app's pods and endpoints, and Prometheus' HTTP API (scripts/prometheus), all
 * against one {@link LocalCluster}.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { ROOT } from "../../deploy/engine";
import { PROJECT } from "../../lib/names";
import type { LocalCluster } from "../cluster";
import { Any, appIn, stackFileWith } from "./harness";
import { IMAGES, imageBlock, nodeInfo } from "./real-node-lib";

export const NS = "stateful-prod";
export const APP = "visits";
/** The namespace prod's visits NetworkPolicy admits clients from (`allowFrom`); the load client runs there. */
export const CLIENT_NS = "ingress";
const CLIENT = "load-client";
export const NODES = [0, 1, 2].map(nodeInfo);
export const zoneOf = (node: string) => NODES.find((n) => n.NODE_NAME === node)?.NODE_ZONE;

/**
 * The seconds prod's mtail alerts wait in this suite (`monitoring.mtailDownForSeconds`, the schema's minimum; prod
 * keeps the default 300), so that StatefulAppMtailDown fires while a node is down for about two minutes.
 */
export const MTAIL_DOWN_FOR_SECONDS = 60;

/**
 * The registry prod's images are named from here: prod refuses a registry on localhost (each node would look for it
 * on itself), so every node's containerd also gets the images of scripts/images under this name (`ctr images tag`;
 * `.test` is reserved, RFC 2606: no such registry can exist). The nodes never pull: the images are there.
 */
const PROD_REGISTRY = "registry.stateful-apps.test";
const prodImage = (ref: string) => `${PROD_REGISTRY}/${ref.slice(ref.indexOf("/") + 1)}`;

/** `scripts/NAME ARGS...` for this cluster (real-node stop/start/state-dir/bin-dir, prometheus up); stdout, trimmed. */
export function script(c: LocalCluster, name: string, ...args: string[]): string {
    return execFileSync("bash", [path.join(ROOT, "scripts", name), ...args], {
        encoding: "utf8",
        env: { ...process.env, CLUSTER_NAME: c.name },
        stdio: ["ignore", "pipe", "pipe"],
    }).trim();
}

/** Tags every image of scripts/images as {@link prodImage} in each node's containerd. */
export function tagProdImages(c: LocalCluster): void {
    const ctr = path.join(script(c, "real-node", "bin-dir"), "ctr");
    for (const i of NODES.keys()) {
        const sock = path.join(script(c, "real-node", "state-dir", "--node", String(i)), "containerd", "containerd.sock");
        for (const ref of Object.values(IMAGES)) execFileSync(ctr, ["--address", sock, "-n", "k8s.io", "images", "tag", "--force", ref, prodImage(ref)]);
    }
}

/**
 * The prod stack with `visits` alone, on images built here, its mtail alerts after {@link MTAIL_DOWN_FOR_SECONDS};
 * `mutate` changes visits further.
 */
export function prodStack(mutate: (visits: Any) => void = () => undefined): string {
    return stackFileWith("prod", (config) => {
        const visits = appIn(config, APP);
        visits.image = imageBlock(prodImage(IMAGES.python));
        visits.metrics.image = imageBlock(prodImage(IMAGES.mtail));
        mutate(visits);
        config[`${PROJECT}:apps`] = [visits];
        config[`${PROJECT}:monitoring`].mtailDownForSeconds = MTAIL_DOWN_FOR_SECONDS;
    });
}

/**
 * A client in another namespace on real-node-0: one GET through the client Service every 100 ms (a new connection
 * each, 2 s timeout), one line per request on stdout: `<epoch ms> ok <pod>` or `<epoch ms> fail <error>`.
 */
const CLIENT_SCRIPT = `
import time, urllib.request
url = "http://${APP}.${NS}.svc.cluster.local:8080/"
t = time.time()
while True:
    start = time.time()
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            print(f"{int(start * 1000)} ok {r.read().decode().split()[-1]}", flush=True)
    except Exception as e:
        print(f"{int(start * 1000)} fail {type(e).__name__}: {e}", flush=True)
    t += 0.1
    time.sleep(max(0, t - time.time()))
`;

export function startClient(c: LocalCluster): void {
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: CLIENT, namespace: CLIENT_NS },
        spec: {
            nodeSelector: { "kubernetes.io/hostname": NODES[0].NODE_NAME },
            securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "client",
                    image: IMAGES.python,
                    imagePullPolicy: "Never",
                    command: ["python", "-c", CLIENT_SCRIPT],
                    env: [{ name: "PYTHONDONTWRITEBYTECODE", value: "1" }],
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                },
            ],
        },
    };
    c.kubectl(["create", "namespace", CLIENT_NS]);
    c.kubectl(["apply", "-f", "-"], JSON.stringify(pod));
}

export const clientRunning = (c: LocalCluster) => c.getJson(["pod", CLIENT, "-n", CLIENT_NS]).status.phase === "Running";

/** The client's requests sent in [fromMs, toMs]: how many succeeded, by which pod, and each failure. */
export function requestsBetween(c: LocalCluster, fromMs: number, toMs: number): { ok: number; byPod: Record<string, number>; failed: string[] } {
    const out = { ok: 0, byPod: {} as Record<string, number>, failed: [] as string[] };
    for (const line of c.kubectl(["logs", CLIENT, "-n", CLIENT_NS]).split("\n")) {
        const [ms, result, ...rest] = line.split(" ");
        const t = Number(ms);
        if (!(t >= fromMs && t <= toMs)) continue;
        if (result === "ok") {
            out.ok++;
            out.byPod[rest[0]] = (out.byPod[rest[0]] ?? 0) + 1;
        } else out.failed.push(`${new Date(t).toISOString()} ${rest.join(" ")}`);
    }
    return out;
}

/** Prints and returns the client's figures for a window (the last request's answers need up to 2 s to be logged). */
export async function window(c: LocalCluster, label: string, fromMs: number, toMs: number): Promise<{ ok: number; failed: string[] }> {
    await new Promise((r) => setTimeout(r, 2500));
    const r = requestsBetween(c, fromMs, toMs);
    const pods = Object.entries(r.byPod)
        .map(([p, n]) => `${p} ${n}`)
        .join(", ");
    process.stdout.write(
        `      [e2e] ${label}: ${r.ok + r.failed.length} requests in ${((toMs - fromMs) / 1000).toFixed(1)} s, ${r.failed.length} failed (${pods})\n`,
    );
    for (const f of r.failed.slice(0, 10)) process.stdout.write(`        failed: ${f}\n`);
    return r;
}

/** pod name -> node name of the app's pods. */
export function podNodes(c: LocalCluster): Record<string, string> {
    return Object.fromEntries(
        (c.getJson(["pods", "-n", NS, "-l", `app.kubernetes.io/name=${APP}`]).items as Any[]).map((p) => [p.metadata.name, p.spec.nodeName ?? ""]),
    );
}

export function nodeReady(c: LocalCluster, name: string): boolean {
    return (c.getJson(["node", name]).status.conditions as Any[]).some((x) => x.type === "Ready" && x.status === "True");
}

/** The pods behind the client Service's ready endpoints. */
export function readyEndpoints(c: LocalCluster): string[] {
    return (c.getJson(["endpointslices", "-n", NS, "-l", `kubernetes.io/service-name=${APP}`]).items as Any[]).flatMap((s) =>
        (s.endpoints ?? []).filter((e: Any) => e.conditions?.ready).map((e: Any) => e.targetRef?.name),
    );
}

/** The visit count on the pod's own volume (`kubectl exec`, so no NetworkPolicy stands between this machine and it). */
export function countOn(c: LocalCluster, pod: string): number {
    return Number(c.kubectl(["exec", pod, "-n", NS, "-c", "app", "--", "python", "-c", "print(open('/data/visits').read())"]).trim());
}

/**
 * GET /api/v1/PATH of scripts/prometheus' Prometheus, through the API server's proxy to its Service
 * (prometheus-operated, port `web`); the answer's `data`. Throws unless Prometheus says `success`.
 */
export function prometheusApi(c: LocalCluster, apiPath: string): Any {
    const r = JSON.parse(c.kubectl(["get", "--raw", `/api/v1/namespaces/monitoring/services/http:prometheus-operated:web/proxy/api/v1/${apiPath}`]));
    if (r.status !== "success") throw new Error(`Prometheus answered ${apiPath}: ${JSON.stringify(r)}`);
    return r.data;
}

/** An instant query: each series' labels and value. */
export function prometheusQuery(c: LocalCluster, expr: string): { metric: Record<string, string>; value: number }[] {
    const data = prometheusApi(c, `query?query=${encodeURIComponent(expr)}`);
    return (data.result as Any[]).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
}

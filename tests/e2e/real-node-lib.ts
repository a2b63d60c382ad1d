/**
 * What the e2e files on the real node share (tests/e2e/real-node.e2e.ts, tests/e2e/datastore.e2e.ts): the node's
 * facts (scripts/real-node info), the locally built images (scripts/images list), and HTTP to pods from this machine
 * (pod IPs are routed to the node) or from inside the node's network namespace (where Service IPs work).
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as dns from "dns";
import * as http from "http";
import * as path from "path";
import { ROOT } from "../../deploy/engine";
import type { LocalCluster } from "../cluster";

const lines = (script: string, ...args: string[]) =>
    Object.fromEntries(
        execFileSync("bash", [path.join(ROOT, "scripts", script), ...args], { encoding: "utf8" })
            .trim()
            .split("\n")
            .map((l) => l.split("=", 2) as [string, string]),
    );

/**
 * KEY=value facts of real node `i` (scripts/real-node info --node I): its name, zone, network namespace, address,
 * pod range, cgroup root, the StorageClass, the fabric's namespace.
 */
export function nodeInfo(i: number): Record<string, string> {
    return lines("real-node", "info", "--node", String(i));
}
/** The facts of real node 0, the only one of a cluster started with one real node. */
export const NODE: Record<string, string> = nodeInfo(0);
/** name -> reference of the locally built images (scripts/images list). */
export const IMAGES: Record<string, string> = lines("images", "list");

/** A repository:tag reference as the stack's `image` block. */
export function imageBlock(ref: string): { repository: string; tag: string } {
    const i = ref.lastIndexOf(":");
    return { repository: ref.slice(0, i), tag: ref.slice(i + 1) };
}

/** An HTTP request from this machine (pod IPs are routed to the node); resolves to the status and body. */
export function request(
    host: string,
    port: number,
    method: "GET" | "POST",
    urlPath: string,
    body?: string,
    timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.request(
            { host, port, path: urlPath, method, timeout: timeoutMs, headers: body ? { "Content-Type": "application/json" } : {} },
            (res) => {
                let text = "";
                res.on("data", (c) => (text += c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`${method} ${host}:${port}${urlPath}: timed out`)));
        req.on("error", reject);
        req.end(body);
    });
}

/** GET http://host:port/path from this machine; resolves to the body of a 200, rejects otherwise. */
export async function get(host: string, port: number, urlPath = "/"): Promise<string> {
    const r = await request(host, port, "GET", urlPath);
    if (r.status !== 200) throw new Error(`GET ${host}:${port}${urlPath}: ${r.status} ${r.body}`);
    return r.body;
}

/**
 * An HTTP request from inside the node's network namespace, where kube-proxy's rules apply (from this machine a
 * cluster IP routes nowhere). Node.js runs the request there; the body of a 200 comes back (else the test fails).
 */
export function requestInNode(ip: string, port: number, method: "GET" | "POST" = "GET", urlPath = "/", body?: string): string {
    const opts = JSON.stringify({ host: ip, port, path: urlPath, method, timeout: 5000 });
    const script = `const r=require("http").request(${opts},r=>{let b="";r.on("data",c=>b+=c);r.on("end",()=>{process.stdout.write(b);process.exit(r.statusCode===200?0:1)})});r.on("error",e=>{console.error(e.message);process.exit(1)});r.end(${JSON.stringify(body ?? "")})`;
    const r = spawnSync("nsenter", [`--net=/run/netns/${NODE.NETNS}`, process.execPath, "-e", script], { encoding: "utf8", timeout: 15000 });
    assert.strictEqual(r.status, 0, `${method} ${ip}:${port}${urlPath} in the node failed: ${r.stdout}${r.stderr}`);
    return r.stdout;
}

/** Cluster DNS (CoreDNS on the node's address): the A records of `name`. */
export async function resolveInCluster(name: string): Promise<string[]> {
    const r = new dns.promises.Resolver({ timeout: 3000, tries: 2 });
    r.setServers([NODE.NODE_IP]);
    return r.resolve4(name);
}

/** The UID of pod `name` in `ns` while it is Ready and not terminating; undefined otherwise (or when it does not exist). */
export function readyPodUid(cluster: LocalCluster, ns: string, name: string): string | undefined {
    const r = cluster.kubectlResult(["get", "pod", name, "-n", ns, "-o", "json"]);
    if (r.status !== 0) return undefined;
    const p = JSON.parse(r.stdout);
    const ready =
        !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((c: { type?: string; status?: string }) => c.type === "Ready" && c.status === "True");
    return ready ? p.metadata.uid : undefined;
}

/**
 * How the program talks to the cluster the stack deploys to, for its few reads and one kind of delete (lib/kube-api.ts
 * reads, lib/rollout-recovery.ts deletes): a connection resolved from the kubeconfig the kubernetes provider and kubectl
 * use (same files, `kubernetes:context`), and JSON GET/DELETE over Node's http(s).
 *
 * Supported in the kubeconfig: the cluster's `server`, `certificate-authority(-data)`, `insecure-skip-tls-verify`,
 * `tls-server-name`; the user's `client-certificate(-data)`/`client-key(-data)`, `token`/`tokenFile` and `exec`
 * credential plugins (client.authentication.k8s.io ExecCredential, as EKS, GKE and AKS kubeconfigs use). Not
 * supported, and refused naming the field: `auth-provider` (removed from kubectl in 1.26), `username`/`password`
 * (removed from Kubernetes in 1.19), `proxy-url`. Source of the format: https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/
 *
 * Why not `@kubernetes/client-node`: its 1.x and 2.x releases are ESM-only and 2.x needs Node.js 22 (we support 20);
 * a handful of requests do not justify it.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { parse } from "yaml";
import { KubeconfigFile } from "./kubeconfig";

/** How to reach and authenticate to one cluster. */
export interface ClusterConnection {
    /** The API server's URL, e.g. `https://127.0.0.1:6443`. */
    readonly server: URL;
    readonly ca?: Buffer;
    readonly cert?: Buffer;
    readonly key?: Buffer;
    readonly token?: string;
    /** `insecure-skip-tls-verify`: do not verify the server's certificate. */
    readonly insecure: boolean;
    /** `tls-server-name`: the name the server's certificate is checked against. */
    readonly tlsServerName?: string;
}

/** A kubeconfig that cannot be used to reach its cluster; the message names the context, cluster or user and the field. */
export class KubeconfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "KubeconfigError";
    }
}

type Named<T> = { name?: unknown } & T;
interface KubeDoc {
    clusters?: Named<{ cluster?: Record<string, unknown> }>[];
    users?: Named<{ user?: Record<string, unknown> }>[];
    contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
}

/**
 * Resolves `context` in the kubeconfig files into a connection, merging the files as kubectl does (the first file
 * that defines a name wins) and resolving relative file paths against the directory of the file that names them.
 * Runs an `exec` credential plugin when the user has one.
 *
 * @throws {@link KubeconfigError} when the context, its cluster or its user is missing, a referenced file cannot be
 *   read, an exec plugin fails, or the user uses an unsupported authentication method.
 */
export function clusterConnection(files: readonly KubeconfigFile[], context: string): ClusterConnection {
    // Each file parsed once; files that are not YAML contribute nothing.
    const docs = files.flatMap((f) => {
        try {
            return [{ doc: (parse(f.text) ?? {}) as KubeDoc, dir: f.dir }];
        } catch {
            return [];
        }
    });
    const find = <T>(list: "clusters" | "users" | "contexts", name: string): { entry: T; dir: string } | undefined => {
        for (const { doc, dir } of docs) {
            const hit = (doc[list] ?? []).find((e) => e?.name === name);
            if (hit) return { entry: hit as T, dir };
        }
        return undefined;
    };
    const ctx = find<{ context?: { cluster?: string; user?: string } }>("contexts", context);
    if (!ctx?.entry.context?.cluster) throw new KubeconfigError(`kubeconfig context ${context} is missing or names no cluster`);
    const { cluster: clusterName, user: userName } = ctx.entry.context;
    const cluster = find<{ cluster?: Record<string, unknown> }>("clusters", clusterName);
    if (!cluster?.entry.cluster?.server) throw new KubeconfigError(`kubeconfig cluster ${clusterName} (context ${context}) is missing or has no server`);
    const c = cluster.entry.cluster;
    if (c["proxy-url"]) throw new KubeconfigError(`kubeconfig cluster ${clusterName}: proxy-url is not supported by this program's pre-flight reads`);
    const user = userName
        ? (find<{ user?: Record<string, unknown> }>("users", userName) ?? { entry: { user: {} }, dir: cluster.dir })
        : { entry: { user: {} }, dir: cluster.dir };
    const u = user.entry.user ?? {};
    for (const unsupported of ["auth-provider", "username", "password"]) {
        if (u[unsupported] !== undefined)
            throw new KubeconfigError(
                `kubeconfig user ${userName}: ${unsupported} is not supported (removed from kubectl/Kubernetes); use a token, client certificate or exec plugin`,
            );
    }
    const bytes = (entry: Record<string, unknown>, field: string, dir: string): Buffer | undefined => {
        const data = entry[`${field}-data`];
        if (typeof data === "string") return Buffer.from(data, "base64");
        const file = entry[field];
        if (typeof file !== "string") return undefined;
        const full = path.resolve(dir, file);
        try {
            return fs.readFileSync(full);
        } catch (e) {
            throw new KubeconfigError(`kubeconfig ${field} ${full} cannot be read: ${(e as Error).message}`);
        }
    };
    let token = typeof u.token === "string" ? u.token : undefined;
    if (token === undefined && typeof u.tokenFile === "string") {
        token = bytes({ tokenFile: u.tokenFile }, "tokenFile", user.dir)?.toString("utf8").trim();
    }
    let cert = bytes(u, "client-certificate", user.dir);
    let key = bytes(u, "client-key", user.dir);
    if (u.exec !== undefined && token === undefined && cert === undefined) {
        const credential = runExecPlugin(u.exec as Record<string, unknown>, String(c.server), user.dir);
        token = credential.token;
        cert = credential.clientCertificateData ? Buffer.from(credential.clientCertificateData) : undefined;
        key = credential.clientKeyData ? Buffer.from(credential.clientKeyData) : undefined;
    }
    return {
        server: new URL(String(c.server)),
        ca: bytes(c, "certificate-authority", cluster.dir),
        cert,
        key,
        token,
        insecure: c["insecure-skip-tls-verify"] === true,
        tlsServerName: typeof c["tls-server-name"] === "string" ? c["tls-server-name"] : undefined,
    };
}

/**
 * Runs an exec credential plugin non-interactively and returns its `status`.
 * Protocol: https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins
 */
function runExecPlugin(exec: Record<string, unknown>, server: string, dir: string): { token?: string; clientCertificateData?: string; clientKeyData?: string } {
    const command = String(exec.command ?? "");
    const apiVersion = String(exec.apiVersion ?? "client.authentication.k8s.io/v1");
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const e of Array.isArray(exec.env) ? (exec.env as { name: string; value: string }[]) : []) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion, kind: "ExecCredential", spec: { interactive: false, cluster: { server } } });
    // A bare command is looked up on PATH; one with a slash is relative to the kubeconfig's directory (kubectl's rule).
    const file = command.includes("/") ? path.resolve(dir, command) : command;
    let out: string;
    try {
        out = execFileSync(file, (exec.args as string[] | undefined) ?? [], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    } catch (e) {
        // Not the error's message: it repeats the command line, whose arguments may hold a client secret.
        const err = e as { status?: number | null; code?: string; stderr?: string };
        const why = err.code ?? (err.status !== undefined && err.status !== null ? `exit code ${err.status}` : "failed");
        const stderr = String(err.stderr ?? "")
            .trim()
            .split("\n")[0]
            ?.slice(0, 200);
        const hint = typeof exec.installHint === "string" ? ` (${exec.installHint.trim()})` : "";
        throw new KubeconfigError(`kubeconfig exec plugin ${command} failed: ${why}${stderr ? `: ${stderr}` : ""}${hint}`);
    }
    try {
        return (JSON.parse(out) as { status?: Record<string, string> }).status ?? {};
    } catch {
        throw new KubeconfigError(`kubeconfig exec plugin ${command} printed no ExecCredential JSON`);
    }
}

/**
 * GETs an API path (e.g. `/api/v1/namespaces/apps/persistentvolumeclaims`) and returns the parsed JSON body.
 *
 * @param timeoutMs gives up after this many milliseconds (default 15000).
 * @throws an Error with the URL and the HTTP status or network error when the request fails.
 */
export function getJson(conn: ClusterConnection, apiPath: string, timeoutMs = 15_000): Promise<unknown> {
    return requestJson(conn, "GET", apiPath, timeoutMs);
}

/**
 * {@link getJson} of one object, or undefined when it does not exist (HTTP 404).
 *
 * @throws an Error with the URL and the HTTP status or network error when the request fails otherwise.
 */
export function getJsonIfExists(conn: ClusterConnection, apiPath: string, timeoutMs = 15_000): Promise<unknown | undefined> {
    return getJsonUnlessStatus(conn, apiPath, 404, timeoutMs);
}

/**
 * {@link getJson}, or undefined when the deploying identity may not read it (HTTP 403): for reads whose check is
 * skipped without that permission.
 *
 * @throws an Error with the URL and the HTTP status or network error when the request fails otherwise.
 */
export function getJsonIfAllowed(conn: ClusterConnection, apiPath: string, timeoutMs = 15_000): Promise<unknown | undefined> {
    return getJsonUnlessStatus(conn, apiPath, 403, timeoutMs);
}

/** {@link getJson}, or undefined when the API server answers HTTP `status` (the status is in requestJson's message). */
async function getJsonUnlessStatus(conn: ClusterConnection, apiPath: string, status: number, timeoutMs: number): Promise<unknown | undefined> {
    try {
        return await getJson(conn, apiPath, timeoutMs);
    } catch (e) {
        if ((e as Error).message.includes(`: HTTP ${status} `)) return undefined;
        throw e;
    }
}

/**
 * DELETEs an object by its API path (e.g. `/api/v1/namespaces/apps/pods/visits-1`) with the API server's default
 * propagation, only if it is still the object with `uid` (a DeleteOptions precondition: a pod made again under the
 * same name in the meantime is left alone, HTTP 409), and returns the parsed JSON body.
 *
 * @throws an Error with the URL and the HTTP status or network error when the request fails (404 and 409 included).
 */
export function deleteJson(
    conn: ClusterConnection,
    apiPath: string,
    uid: string,
    timeoutMs = 15_000,
    propagationPolicy?: "Background" | "Foreground" | "Orphan",
): Promise<unknown> {
    return requestJson(conn, "DELETE", apiPath, timeoutMs, {
        kind: "DeleteOptions",
        apiVersion: "v1",
        preconditions: { uid },
        ...(propagationPolicy ? { propagationPolicy } : {}),
    });
}

/**
 * POSTs (creates) an object at a collection's API path (e.g. `/apis/batch/v1/namespaces/apps/jobs`) and returns the
 * created object.
 *
 * @throws an Error with the URL and the HTTP status (409: it exists) or network error when the request fails.
 */
export function postJson(conn: ClusterConnection, apiPath: string, object: unknown, timeoutMs = 15_000): Promise<unknown> {
    return requestJson(conn, "POST", apiPath, timeoutMs, object);
}

/**
 * GETs a path whose answer is text, not JSON (a pod's log: `/api/v1/namespaces/apps/pods/p/log?tailLines=20`).
 *
 * @throws an Error with the URL and the HTTP status or network error when the request fails.
 */
export function getText(conn: ClusterConnection, apiPath: string, timeoutMs = 15_000): Promise<string> {
    return requestJson(conn, "GET", apiPath, timeoutMs, undefined, false) as Promise<string>;
}

function requestJson(
    conn: ClusterConnection,
    method: "GET" | "DELETE" | "POST",
    apiPath: string,
    timeoutMs: number,
    requestBody?: unknown,
    json = true,
): Promise<unknown> {
    const payload = requestBody === undefined ? undefined : JSON.stringify(requestBody);
    // Keep a path prefix of the server (a proxy such as Rancher's `https://host/k8s/clusters/c-abc`).
    const url = new URL(`${conn.server.pathname.replace(/\/$/, "")}${apiPath}`, conn.server);
    const lib = url.protocol === "http:" ? http : https;
    const options: https.RequestOptions = {
        method,
        headers: {
            Accept: json ? "application/json" : "text/plain, */*",
            ...(payload ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } : {}),
            ...(conn.token ? { Authorization: `Bearer ${conn.token}` } : {}),
        },
        ca: conn.ca,
        cert: conn.cert,
        key: conn.key,
        rejectUnauthorized: !conn.insecure,
        servername: conn.tlsServerName,
        timeout: timeoutMs,
    };
    return new Promise((resolve, reject) => {
        const req = lib.request(url, options, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const body = Buffer.concat(chunks).toString("utf8");
                if ((res.statusCode ?? 0) >= 300) {
                    reject(new Error(`${method} ${url.href}: HTTP ${res.statusCode} ${body.slice(0, 300)}`));
                    return;
                }
                if (!json) {
                    resolve(body);
                    return;
                }
                try {
                    resolve(JSON.parse(body));
                } catch {
                    reject(new Error(`${method} ${url.href}: the answer is not JSON`));
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (e) => reject(new Error(`${method} ${url.href}: ${e.message}`)));
        req.end(payload);
    });
}

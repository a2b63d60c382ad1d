/**
 * lib/kube-api.ts: how the program's pre-flight read reaches the cluster from a kubeconfig (the provider's own
 * kubeconfig and context). Pure resolution, an exec credential plugin run for real, and a GET against a loopback
 * server. What it does not prove: TLS with client certificates (the e2e suite reads the local cluster's PVCs that
 * way on every run).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { listClaims } from "../lib/kube-api";
import { clusterConnection, getJson, KubeconfigError } from "../lib/kube-client";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-api-test-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const kubeconfig = (user: string, cluster = "server: https://10.0.0.1:6443\n      certificate-authority: ca.crt") => `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster:
      ${cluster}
users:
  - name: u
    user:
${user}
contexts:
  - name: ctx
    context: { cluster: c, user: u }
`;

describe("lib/kube-api: connecting as the provider does", () => {
    it("resolves the context's server, its CA file relative to the kubeconfig's directory, and a token", () => {
        fs.writeFileSync(path.join(dir, "ca.crt"), "CA");
        const conn = clusterConnection([{ text: kubeconfig("      token: abc"), dir }], "ctx");
        assert.strictEqual(conn.server.href, "https://10.0.0.1:6443/");
        assert.strictEqual(conn.ca?.toString(), "CA");
        assert.strictEqual(conn.token, "abc");
        assert.strictEqual(conn.insecure, false);
    });

    it("takes the first file that defines a name, as kubectl merges KUBECONFIG", () => {
        const first = { text: kubeconfig("      token: first", "server: https://first:6443"), dir };
        const second = { text: kubeconfig("      token: second", "server: https://second:6443"), dir };
        assert.strictEqual(clusterConnection([first, second], "ctx").token, "first");
    });

    it("runs an exec credential plugin (client.authentication.k8s.io) with its env and the cluster in KUBERNETES_EXEC_INFO", () => {
        const plugin = path.join(dir, "plugin.sh");
        fs.writeFileSync(
            plugin,
            '#!/bin/sh\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s"}}\' "$GREETING" "$(echo "$KUBERNETES_EXEC_INFO" | grep -c 10.0.0.1)"\n',
            { mode: 0o755 },
        );
        const user = `      exec:\n        apiVersion: client.authentication.k8s.io/v1\n        command: ./plugin.sh\n        env: [{ name: GREETING, value: hello }]`;
        assert.strictEqual(clusterConnection([{ text: kubeconfig(user), dir }], "ctx").token, "hello-1");
    });

    it("names what is wrong: a missing context, an unsupported auth-provider, a failing plugin", () => {
        assert.throws(
            () => clusterConnection([{ text: kubeconfig("      token: x"), dir }], "other"),
            (e: Error) => e instanceof KubeconfigError && /context other/.test(e.message),
        );
        assert.throws(() => clusterConnection([{ text: kubeconfig("      auth-provider: { name: gcp }"), dir }], "ctx"), /auth-provider is not supported/);
        const user = `      exec:\n        apiVersion: client.authentication.k8s.io/v1\n        command: no-such-plugin-here\n        args: [--client-secret=S3CRET]\n        installHint: install it`;
        assert.throws(
            () => clusterConnection([{ text: kubeconfig(user), dir }], "ctx"),
            (e: Error) => /exec plugin no-such-plugin-here failed: ENOENT.*\(install it\)/.test(e.message) && !e.message.includes("S3CRET"),
            "names the plugin and why, never its arguments (they may hold a client secret)",
        );
    });

    it("keeps the path prefix of a proxied server (Rancher's /k8s/clusters/<id>)", async () => {
        const seen: string[] = [];
        const server = http.createServer((req, res) => {
            seen.push(req.url ?? "");
            res.end('{"items":[]}');
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const port = (server.address() as { port: number }).port;
            const conn = clusterConnection([{ text: kubeconfig("      token: t", `server: http://127.0.0.1:${port}/k8s/clusters/c-abc/`), dir }], "ctx");
            await listClaims(conn, "apps");
            assert.deepStrictEqual(seen, ["/k8s/clusters/c-abc/api/v1/namespaces/apps/persistentvolumeclaims"]);
        } finally {
            server.close();
        }
    });

    it("lists PVCs with the bearer token, and reports an HTTP error with the URL", async () => {
        const seen: (string | undefined)[] = [];
        const server = http.createServer((req, res) => {
            seen.push(req.headers.authorization);
            if (req.url === "/api/v1/namespaces/apps/persistentvolumeclaims") {
                res.end(
                    JSON.stringify({
                        items: [
                            { metadata: { name: "data-web-0" }, spec: { resources: { requests: { storage: "1Gi" } } } },
                            { metadata: { name: "pending" }, spec: {} },
                        ],
                    }),
                );
            } else {
                res.writeHead(403).end('{"reason":"Forbidden"}');
            }
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const port = (server.address() as { port: number }).port;
            const conn = clusterConnection([{ text: kubeconfig("      token: t0k", `server: http://127.0.0.1:${port}`), dir }], "ctx");
            assert.deepStrictEqual(await listClaims(conn, "apps"), [{ name: "data-web-0", size: "1Gi" }]);
            assert.deepStrictEqual(seen, ["Bearer t0k"]);
            await assert.rejects(getJson(conn, "/api/v1/secrets"), /GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/secrets: HTTP 403/);
        } finally {
            server.close();
        }
    });
});

/**
 * lib/kubeconfig.ts: which contexts a stack can name, read as the kubernetes provider reads kubeconfigs. Pure but
 * for files it writes in a temp dir. That the program refuses a missing context before any resource: the
 * bad-config corpus (fixture 63, under mocks) and tests/e2e (on the real engine, the state unchanged).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { kubeconfigContexts, kubeconfigSources } from "../lib/kubeconfig";

const kubeconfig = (...contexts: string[]) =>
    `apiVersion: v1\nkind: Config\ncontexts:\n${contexts.map((c) => `  - name: ${c}\n    context: { cluster: x, user: y }\n`).join("")}`;

describe("lib/kubeconfig: the contexts a stack may name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeconfig-"));
    const a = path.join(dir, "a.yaml");
    const b = path.join(dir, "b.yaml");
    fs.writeFileSync(a, kubeconfig("dev", "shared"));
    fs.writeFileSync(b, kubeconfig("prod", "shared"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("merges the files of KUBECONFIG in order, like kubectl, skipping missing ones", () => {
        const s = kubeconfigSources(undefined, { KUBECONFIG: [a, path.join(dir, "missing"), b].join(path.delimiter) });
        assert.deepStrictEqual(kubeconfigContexts(s.files.map((f) => f.text)), ["dev", "shared", "prod"]);
        assert.match(s.description, /^KUBECONFIG=/);
    });

    it("prefers kubernetes:kubeconfig, as a path or as contents", () => {
        assert.deepStrictEqual(kubeconfigContexts(kubeconfigSources(b, { KUBECONFIG: a }).files.map((f) => f.text)), ["prod", "shared"]);
        assert.deepStrictEqual(kubeconfigContexts(kubeconfigSources(kubeconfig("inline"), { KUBECONFIG: a }).files.map((f) => f.text)), ["inline"]);
        // JSON contents (what pulumi-eks outputs), and a `~/` path, as the provider reads them.
        const json = JSON.stringify({ apiVersion: "v1", kind: "Config", contexts: [{ name: "eks", context: { cluster: "c", user: "u" } }] });
        assert.deepStrictEqual(kubeconfigContexts(kubeconfigSources(json, {}).files.map((f) => f.text)), ["eks"]);
        fs.mkdirSync(path.join(dir, "home", ".kube"), { recursive: true });
        fs.writeFileSync(path.join(dir, "home", ".kube", "other"), kubeconfig("tilde"));
        assert.deepStrictEqual(kubeconfigContexts(kubeconfigSources("~/.kube/other", { HOME: path.join(dir, "home") }).files.map((f) => f.text)), ["tilde"]);
    });

    it("falls back to ~/.kube/config and finds nothing where there is nothing", () => {
        const s = kubeconfigSources(undefined, { HOME: dir });
        assert.strictEqual(s.description, path.join(dir, ".kube", "config"));
        assert.deepStrictEqual(kubeconfigContexts(s.files.map((f) => f.text)), []);
        assert.deepStrictEqual(kubeconfigContexts(["not: [valid", "- a list"]), []);
    });
});

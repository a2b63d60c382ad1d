/**
 * Which kubeconfig contexts exist, read the way the kubernetes provider reads them, so that a stack whose
 * `kubernetes:context` is missing fails before any resource (and the provider's configuration in the state) is
 * touched. Pure but for reading the files it is given.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

/** One kubeconfig: its contents and the directory its relative file paths (certificates, tokens) are relative to. */
export interface KubeconfigFile {
    readonly text: string;
    readonly dir: string;
}

/** Where the contexts come from: a description for messages, and the kubeconfigs found, in precedence order. */
export interface KubeconfigSources {
    /** e.g. `KUBECONFIG=/a:/b`, `~/.kube/config`, `kubernetes:kubeconfig`. */
    readonly description: string;
    /** Each kubeconfig that exists. */
    readonly files: KubeconfigFile[];
}

/**
 * The kubeconfig(s) the kubernetes provider would use, in its order of precedence: the `kubernetes:kubeconfig`
 * config value (a kubeconfig's contents, or a path to one), else the files in `KUBECONFIG` (separated by the OS's
 * path delimiter, as kubectl does), else `~/.kube/config`. Files that do not exist are skipped.
 * Source: https://www.pulumi.com/registry/packages/kubernetes/installation-configuration/
 *
 * @param configured the `kubernetes:kubeconfig` value, or undefined.
 * @param environment the process environment (`KUBECONFIG`, `HOME`).
 */
export function kubeconfigSources(configured: string | undefined, environment: NodeJS.ProcessEnv = process.env): KubeconfigSources {
    const read = (files: string[]) =>
        files.filter((f) => f && fs.existsSync(f)).map((f) => ({ text: fs.readFileSync(f, "utf8"), dir: path.dirname(path.resolve(f)) }));
    if (configured !== undefined) {
        // The provider's rule: a path to an existing file (`~/` expanded), else the contents (YAML or JSON).
        const file = configured.startsWith("~/") ? path.join(environment.HOME ?? os.homedir(), configured.slice(2)) : configured;
        const isFile = !configured.includes("\n") && fs.existsSync(file);
        return { description: "kubernetes:kubeconfig", files: isFile ? read([file]) : [{ text: configured, dir: process.cwd() }] };
    }
    if (environment.KUBECONFIG) {
        return { description: `KUBECONFIG=${environment.KUBECONFIG}`, files: read(environment.KUBECONFIG.split(path.delimiter)) };
    }
    const home = path.join(environment.HOME ?? os.homedir(), ".kube", "config");
    return { description: home, files: read([home]) };
}

/**
 * The context names (`contexts[].name`) in the given kubeconfig texts (`sources.files.map((f) => f.text)`), in order,
 * without duplicates. Texts that are not YAML maps contribute nothing.
 */
export function kubeconfigContexts(texts: readonly string[]): string[] {
    const names: string[] = [];
    for (const text of texts) {
        let doc: unknown;
        try {
            doc = parse(text);
        } catch {
            continue;
        }
        const contexts = (doc as { contexts?: unknown } | null)?.contexts;
        for (const c of Array.isArray(contexts) ? contexts : []) {
            const name = (c as { name?: unknown })?.name;
            if (typeof name === "string" && !names.includes(name)) names.push(name);
        }
    }
    return names;
}

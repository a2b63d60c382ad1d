/**
 * How config problems are reported: each names its full stack config key, what is wrong and the value given.
 */
import { PROJECT } from "../lib/names";

/** One problem in the stack config. */
export interface ConfigProblem {
    /** The full config key, e.g. `stateful-apps:apps[1].storage.size`. */
    readonly key: string;
    /** What is wrong and what is allowed. */
    readonly message: string;
    /** The value given (omitted for secrets and when absent). */
    readonly given?: unknown;
}

/** Thrown for an invalid stack config, before any resource is registered. Lists every problem. */
export class StackConfigError extends Error {
    constructor(readonly problems: readonly ConfigProblem[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p.key}: ${p.message}${p.given === undefined ? "" : ` (given: ${JSON.stringify(p.given)})`}`).join("\n"),
        );
        this.name = "StackConfigError";
    }
}

/** Formats a zod path as a stack config key: `["apps", 1, "storage", "size"]` → `stateful-apps:apps[1].storage.size`. */
export function configKey(path: readonly PropertyKey[]): string {
    let key = `${PROJECT}:`;
    path.forEach((part, i) => {
        if (typeof part === "number") {
            key += `[${part}]`;
        } else if (i > 0 && !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(part))) {
            // A map key that is not a plain name (a file name such as `config.json` or `.`): the form `pulumi config
            // set --path` accepts.
            key += `[${JSON.stringify(String(part))}]`;
        } else {
            key += i === 0 ? String(part) : `.${String(part)}`;
        }
    });
    return key;
}

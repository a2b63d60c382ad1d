/**
 * Raw stack config values -> a frozen, fully defaulted, typed {@link StackConfig}, or a {@link StackConfigError}
 * naming every wrong key with what is allowed (zod's messages, made to name config keys).
 */
import { PROJECT } from "../lib/names";
import { configKey, StackConfigError } from "./errors";
import { crossFieldProblems } from "./rules";
import { CONFIG_KEYS, STACK_SCHEMA, StackConfig } from "./schema";

const stackSchema = STACK_SCHEMA;

/**
 * Validates raw stack config values and returns the frozen, defaulted config.
 *
 * @param raw the config values by top-level key (without the `<project>:` prefix), objects already parsed from
 *   JSON, e.g. `{ environment: "dev", namespace: {...}, apps: [...] }`. Keys that are not in the schema are
 *   reported as unknown (typos).
 * @param hasSecret tells whether a secret config key (`<project>:<key>`) is set; used for `secret.source: config`.
 * @throws StackConfigError listing every problem with its full config key, the value given and what is allowed.
 */
export function parseStackConfig(raw: Record<string, unknown>, hasSecret: (key: string) => boolean): StackConfig {
    const result = stackSchema.safeParse(raw, { reportInput: true });
    if (!result.success) {
        throw new StackConfigError(
            result.error.issues.map((issue) => {
                const path: PropertyKey[] = issue.path;
                let message = issue.message;
                if (issue.code === "unrecognized_keys") {
                    return {
                        key: configKey(path),
                        message: `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(", ")} (a typo?); allowed: ${allowedKeys(path).join(", ")}`,
                    };
                }
                if (issue.code === "invalid_key") {
                    // zod reports "Invalid key in record"; the reasons are in the nested issues.
                    message = `is not an allowed key: ${issue.issues.map((i) => i.message).join("; ")}`;
                    return { key: configKey(path), message };
                }
                if (issue.input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
                    message = `is required; ${issue.message.replace(/^Invalid (input|option): /, "")}`;
                }
                return { key: configKey(path), message, given: issue.input };
            }),
        );
    }
    const cfg = result.data;
    const problems = crossFieldProblems(cfg);
    cfg.apps.forEach((app, i) => {
        if (app.secret.source === "config" && app.secret.configKey && (CONFIG_KEYS as string[]).includes(app.secret.configKey)) {
            problems.push({
                path: ["apps", i, "secret", "configKey"],
                message: `names ${PROJECT}:${app.secret.configKey}, one of this program's own settings, not a secret; use a key of its own (e.g. ${app.name}Password) set with \`pulumi config set --secret\``,
                given: app.secret.configKey,
            });
        } else if (app.secret.source === "config" && app.secret.configKey && !hasSecret(app.secret.configKey)) {
            problems.push({
                path: ["apps", i, "secret", "configKey"],
                message: `names ${PROJECT}:${app.secret.configKey}, which is not set in this stack; run \`pulumi config set --secret ${app.secret.configKey} <value>\``,
            });
        }
    });
    if (problems.length > 0) {
        throw new StackConfigError(problems.map((p) => ({ key: configKey(p.path), message: p.message, given: p.given })));
    }
    return deepFreeze(cfg);
}

/** The keys allowed at a path of the schema, for "unknown key" messages. */
function allowedKeys(path: readonly PropertyKey[]): string[] {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let node: any = stackSchema;
    for (const part of path) {
        node = unwrap(node);
        if (typeof part === "number") {
            node = node?.element;
        } else {
            node = node?.shape?.[part];
        }
    }
    node = unwrap(node);
    return node?.shape ? Object.keys(node.shape) : [];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function unwrap(node: any): any {
    // Defaults, optionals and refinements wrap the object schema; peel them off.
    while (node && !node.shape && !node.element && typeof node.unwrap === "function") {
        node = node.unwrap();
    }
    while (node && !node.shape && !node.element && node.def?.innerType) {
        node = node.def.innerType;
    }
    return node;
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object") {
        Object.values(value).forEach(deepFreeze);
        Object.freeze(value);
    }
    return value;
}

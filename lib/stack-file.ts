/**
 * Reads a stack's config the way the Pulumi CLI hands it to the program, without the CLI: the project's
 * config defaults from `Pulumi.yaml`, overlaid with `Pulumi.<stack>.yaml`. For tools that need the stack's
 * intent outside a Pulumi run (the policy pack config generator, tests).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { PROJECT } from "./names";
import { parseStackConfig } from "../config/parse";
import { referencedSecretKeys, StackConfig } from "../config/schema";

/**
 * The config of `Pulumi.<stack>.yaml` under `dir`, keys in full form (`stateful-apps:apps`), values as YAML
 * gives them (objects stay objects; `secure:` values stay `{ secure: "…" }` ciphertext).
 *
 * @throws Error when the stack file does not exist (the message names the path).
 */
export function stackFileConfig(dir: string, stack: string): Record<string, unknown> {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(
            `no stack file ${file}; stacks here: ${fs
                .readdirSync(dir)
                .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
                .join(", ")}`,
        );
    }
    const project = parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
    const out: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(project.config ?? {})) {
        const d = decl as { default?: unknown };
        if (d.default !== undefined) {
            out[key.includes(":") ? key : `${PROJECT}:${key}`] = d.default;
        }
    }
    return { ...out, ...(parse(fs.readFileSync(file, "utf8")).config ?? {}) };
}

/**
 * A stack file's config, validated by the same schema as `pulumi up`. Secret config keys count as set when the
 * file holds them (their values are never decrypted here).
 *
 * @throws StackConfigError as {@link parseStackConfig} does.
 */
export function readStackConfig(dir: string, stack: string): StackConfig {
    const full = stackFileConfig(dir, stack);
    const prefix = `${PROJECT}:`;
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(full)) {
        if (k.startsWith(prefix)) {
            raw[k.slice(prefix.length)] = v;
        }
    }
    for (const key of referencedSecretKeys(raw.apps)) {
        delete raw[key];
    }
    return parseStackConfig(raw, (key) => `${prefix}${key}` in full);
}

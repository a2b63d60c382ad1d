/**
 * The stack config file the runner hands the engine (`pulumi … --config-file <file>`): the committed
 * `Pulumi.<stack>.yaml`, plus what belongs to one machine only and is never committed: the secrets provider's
 * `encryptionsalt` and, where no random provider exists, a value for each generated secret. Pure: text in, text out.
 */
import { parse, stringify } from "yaml";
import { PROJECT } from "../lib/names";

/** Prefix of the config keys that hold the runner's stand-in for a generated secret: `<prefix><app>`. */
export const LOCAL_SECRET_KEY_PREFIX = "localGeneratedSecret-";

/**
 * The config key of an app's stand-in for its generated secret at rotation `rotation` (`apps[].secret.rotation`):
 * `localGeneratedSecret-<app>`, and `localGeneratedSecret-<app>-r<rotation>` once rotated. A raised rotation names a
 * key that holds no value yet, so the runner generates a new one and drops the old key, as `random.RandomPassword`'s
 * `keepers` replace the password (components/app-secret.ts); any other change to `secret` keeps the key and the value.
 */
export function standInKey(app: string, rotation: number): string {
    return rotation > 0 ? `${LOCAL_SECRET_KEY_PREFIX}${app}-r${rotation}` : `${LOCAL_SECRET_KEY_PREFIX}${app}`;
}

/** What {@link composeLocalStackFile} produced. */
export interface LocalStackFile {
    /** The file's YAML text. */
    readonly text: string;
    /**
     * Config keys (without the `stateful-apps:` prefix) that must hold a secret but have none yet: set each with
     * `pulumi config set --secret --config-file <file> <key> <value>`.
     */
    readonly missingSecrets: string[];
    /** Apps whose `secret.source: generated` was switched to `config` (empty when generated secrets are kept). */
    readonly switchedApps: string[];
}

/** The stack file keys of the passphrase (or KMS) secrets provider. */
const PROVIDER_KEYS = ["secretsprovider", "encryptedkey", "encryptionsalt"] as const;

interface StackYaml {
    config?: Record<string, unknown>;
    [key: string]: unknown;
}

/**
 * Builds the local stack file from the committed one.
 *
 * @param committed text of the committed `Pulumi.<stack>.yaml`.
 * @param previous text of this file from an earlier run, or undefined. Its secrets provider settings
 *   (`secretsprovider`, `encryptedkey`, `encryptionsalt`) and every `secure:` value the committed file lacks are
 *   kept, so generated stand-ins and secrets set with `pulumi config set --secret --config-file <this file>` stay.
 *   When the committed file has its own secrets provider settings (its secrets were encrypted with them), those
 *   win, and a previous value encrypted under other settings is dropped (it could not be decrypted).
 * @param opts.replaceGeneratedSecrets switch every app with `secret.source: generated` (the default source) to
 *   `source: config` with key {@link standInKey} (`localGeneratedSecret-<app>`, with `-r<rotation>` once rotated):
 *   used when the random provider is absent, because `random.RandomPassword` needs it. The committed file is never
 *   changed.
 * @throws Error when the committed file has no `config` map or its `apps` is not a list.
 */
export function composeLocalStackFile(committed: string, previous: string | undefined, opts: { replaceGeneratedSecrets: boolean }): LocalStackFile {
    const doc = (parse(committed) ?? {}) as StackYaml;
    if (typeof doc.config !== "object" || doc.config === null) {
        throw new Error("the stack file has no `config:` map");
    }
    const config: Record<string, unknown> = structuredClone(doc.config);
    const old = previous ? ((parse(previous) ?? {}) as StackYaml) : {};
    const oldConfig = (old.config ?? {}) as Record<string, unknown>;
    // Whose secrets provider settings hold: the committed file's when it has any, else the previous file's.
    const committedProvider = PROVIDER_KEYS.some((k) => doc[k] !== undefined);
    const keepOld = !committedProvider || PROVIDER_KEYS.every((k) => doc[k] === old[k]);

    const switchedApps: string[] = [];
    const missingSecrets: string[] = [];
    const standInKeys = new Set<string>();
    if (opts.replaceGeneratedSecrets) {
        const apps = config[`${PROJECT}:apps`];
        if (apps !== undefined && !Array.isArray(apps)) {
            throw new Error(`${PROJECT}:apps is not a list`);
        }
        for (const app of (apps ?? []) as Array<Record<string, unknown>>) {
            const secret = (app.secret ?? {}) as Record<string, unknown>;
            if ((secret.source ?? "generated") !== "generated" || typeof app.name !== "string") {
                continue;
            }
            const rotation = typeof secret.rotation === "number" ? secret.rotation : 0;
            const key = standInKey(app.name, rotation);
            app.secret = { ...secret, source: "config", configKey: key };
            switchedApps.push(app.name);
            standInKeys.add(`${PROJECT}:${key}`);
            const full = `${PROJECT}:${key}`;
            if (!isSecure(config[full]) && !(keepOld && isSecure(oldConfig[full]))) {
                missingSecrets.push(key);
            }
        }
    }

    const out: StackYaml = {};
    for (const k of PROVIDER_KEYS) {
        const v = committedProvider ? doc[k] : old[k];
        if (v !== undefined) {
            out[k] = v;
        }
    }
    if (keepOld) {
        // A stand-in no app names any more goes (an app removed, a secret rotated): the program refuses config keys
        // nothing names, and a rotated-away value must leave the machine too.
        const standIn = (k: string) => k.startsWith(`${PROJECT}:${LOCAL_SECRET_KEY_PREFIX}`) && !standInKeys.has(k);
        for (const [k, v] of Object.entries(oldConfig)) {
            if (isSecure(v) && config[k] === undefined && !standIn(k)) {
                config[k] = v;
            }
        }
    }
    out.config = config;
    const header =
        "# Written by the stateful-apps runner (deploy/cli.ts) from the committed stack file on every run: edit that\n" +
        "# file, not this one. Local only: this machine's encryption salt and stand-ins for generated secrets.\n";
    return { text: header + stringify(out, { lineWidth: 0 }), missingSecrets, switchedApps };
}

/** `main` (a local stack file) with the `secure:` config values that only `extra` has added; `main` wins. */
export function withSecretsOf(main: string | undefined, extra: string | undefined): string | undefined {
    if (main === undefined || extra === undefined) return main ?? extra;
    const doc = (parse(main) ?? {}) as StackYaml;
    const config = (doc.config ??= {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries((parse(extra)?.config ?? {}) as Record<string, unknown>)) {
        if (config[k] === undefined && isSecure(v)) config[k] = v;
    }
    return stringify(doc, { lineWidth: 0 });
}

function isSecure(v: unknown): boolean {
    return typeof v === "object" && v !== null && typeof (v as { secure?: unknown }).secure === "string";
}

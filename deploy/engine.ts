/**
 * Drives the real Pulumi engine on this project's stacks through the Automation API: the CLI and the kubernetes
 * plugin from `scripts/pulumi-toolchain`, a local `file://` backend, and `index.ts` as an inline program (the
 * Node.js language host cannot be had here; the CLI runs the program through this process's own language server).
 * Used by the runner (`npm run deploy`, deploy/cli.ts) and the e2e tests (tests/e2e).
 */
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { execFileSync, spawnSync } from "child_process";
import { createHash, randomInt } from "crypto";
import * as fs from "fs";
import * as os from "os";
import Module from "module";
import * as path from "path";
import { PROJECT } from "../lib/names";
import { composeLocalStackFile, withSecretsOf } from "./local-stack";

/** The repository root (the Pulumi project directory). */
export const ROOT = path.resolve(__dirname, "..");

/**
 * The passphrase of stacks on the default per-user `file://` backend when `PULUMI_CONFIG_PASSPHRASE(_FILE)` is
 * unset. Public on purpose: it protects throwaway state on this machine only. With `PULUMI_BACKEND_URL` set,
 * {@link engineSettings} refuses to run without a passphrase of the user's own.
 */
export const LOCAL_PASSPHRASE = "stateful-apps-local-only";

/** Where the engine keeps its state and what it runs with. */
export interface EngineSettings {
    /** `PULUMI_BACKEND_URL`, else `file://<stateDir>/backend`. */
    readonly backendUrl: string;
    /** Per-user state directory: `$STATEFUL_APPS_STATE_DIR`, else `${XDG_STATE_HOME:-~/.local/state}/stateful-apps`. */
    readonly stateDir: string;
    /** Environment for the CLI and the plugins it starts (backend, passphrase, no update checks or downloads). */
    readonly env: Record<string, string>;
    /** True when the passphrase is {@link LOCAL_PASSPHRASE} (the user set none). */
    readonly localPassphrase: boolean;
}

/**
 * The engine settings from the environment (`PULUMI_BACKEND_URL`, `PULUMI_CONFIG_PASSPHRASE(_FILE)`,
 * `STATEFUL_APPS_STATE_DIR`, `XDG_STATE_HOME`). Creates the state directory and a `file://` backend's directory,
 * readable by the user only (mode 0700).
 *
 * @throws Error when `PULUMI_BACKEND_URL` is set but no passphrase is: a shared backend must not get the public
 *   {@link LOCAL_PASSPHRASE}.
 */
export function engineSettings(environment: NodeJS.ProcessEnv = process.env): EngineSettings {
    const stateDir =
        environment.STATEFUL_APPS_STATE_DIR ?? path.join(environment.XDG_STATE_HOME ?? path.join(os.homedir(), ".local", "state"), "stateful-apps");
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const backendUrl = environment.PULUMI_BACKEND_URL ?? `file://${path.join(stateDir, "backend")}`;
    if (backendUrl.startsWith("file://")) {
        fs.mkdirSync(backendUrl.slice("file://".length), { recursive: true, mode: 0o700 });
    }
    const localPassphrase = environment.PULUMI_CONFIG_PASSPHRASE === undefined && environment.PULUMI_CONFIG_PASSPHRASE_FILE === undefined;
    if (localPassphrase && environment.PULUMI_BACKEND_URL !== undefined) {
        throw new Error(
            `PULUMI_BACKEND_URL is set (${backendUrl}) but PULUMI_CONFIG_PASSPHRASE(_FILE) is not: set the passphrase that protects that backend's secrets`,
        );
    }
    const env: Record<string, string> = {
        PULUMI_BACKEND_URL: backendUrl,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    if (localPassphrase) {
        env.PULUMI_CONFIG_PASSPHRASE = LOCAL_PASSPHRASE;
    }
    return { backendUrl, stateDir, env, localPassphrase };
}

/** What `scripts/pulumi-toolchain` found or built. */
export interface Toolchain {
    /** Absolute path of the `pulumi` CLI. */
    readonly cli: string;
    /** `pulumi-language-nodejs` is on PATH: the plain CLI path (`pulumi up --stack …`) works. */
    readonly languageHost: boolean;
    /** The random plugin is installed or on PATH: `random.RandomPassword` works. */
    readonly randomPlugin: boolean;
}

/**
 * Ensures the CLI and the kubernetes plugin (`scripts/pulumi-toolchain ensure`: a no-op when warm, a build of
 * several minutes the first time) and reports what else is available. Progress goes to stderr.
 *
 * @throws Error when the toolchain script fails (its output has the reason).
 */
export function ensureToolchain(): Toolchain {
    const script = path.join(ROOT, "scripts", "pulumi-toolchain");
    const r = spawnSync("bash", [script, "ensure"], { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) {
        throw new Error(`scripts/pulumi-toolchain ensure failed (exit ${r.status})`);
    }
    const status = execFileSync("bash", [script, "status"], { encoding: "utf8" });
    const line = (name: string) => (status.match(new RegExp(`^${name}: (.*)$`, "m")) ?? [])[1] ?? "absent";
    const cli = line("pulumi").replace(/ \(.*\)$/, "");
    return { cli, languageHost: line("pulumi-language-nodejs") !== "absent", randomPlugin: line("random plugin") !== "absent" };
}

/** A stack of this project, ready for `up`, `preview`, `refresh`, `destroy`. */
export interface OpenStack {
    readonly stack: Stack;
    /**
     * The local stack config file. Operations pass it as `configFile` (the workspace's own copy would do for the
     * committed config; a test's modified config is a separate file).
     */
    readonly configFile: string;
    /** The workspace directory: a copy of `Pulumi.yaml` and the local stack files, outside the clone. */
    readonly workDir: string;
    /** Apps whose generated secret is a runner-generated config value (the random provider is absent). */
    readonly switchedApps: string[];
    /** Runs the CLI itself (`pulumi <args> --stack <stack>`) with the engine's environment, in the workspace directory. */
    readonly cli: (args: string[], input?: string) => { status: number; stdout: string; stderr: string };
}

/** Options of {@link openStack}. */
export interface OpenStackOptions {
    /** Engine settings; default {@link engineSettings}(). */
    readonly settings?: EngineSettings;
    /** Toolchain; default {@link ensureToolchain}(). */
    readonly toolchain?: Toolchain;
    /**
     * KUBECONFIG for the kubernetes provider and for the inline program, which runs in this process and checks the
     * stack's `kubernetes:context` against it (config/index.ts): when given, `process.env.KUBECONFIG` is set to it.
     * Default: the process's.
     */
    readonly kubeconfig?: string;
    /**
     * Text of the committed stack file to start from. Default: `Pulumi.<stack>.yaml` in the project. Tests pass
     * a modified copy (a bad config) here; the local salt and secrets of the stack are kept either way.
     */
    readonly stackFileText?: string;
    /**
     * Directory of the program to run (its `index.ts`). Default: this clone. The e2e upgrade check runs an
     * earlier commit's program from a checkout of it, with this clone's node_modules.
     */
    readonly programDir?: string;
}

/**
 * Creates or selects `<stack>` on the backend, with `index.ts` as its inline program, and writes the local stack
 * file (see deploy/local-stack.ts). The workspace directory is not the clone but `<stateDir>/stacks/<backend hash>`,
 * holding a copy of the project's `Pulumi.yaml` and the local stack files: `pulumi stack init` writes the
 * passphrase's `encryptionsalt` into (and re-formats) the stack file of its working directory, and the
 * committed `Pulumi.<stack>.yaml` must stay as it is.
 * Generated secrets are switched to runner-generated config values when the random plugin is absent: 32
 * alphanumeric characters from `crypto.randomInt`, set once with `pulumi config set --secret` and kept.
 *
 * @throws Error when the stack file does not exist or a CLI call fails.
 */
export async function openStack(stackName: string, opts: OpenStackOptions = {}): Promise<OpenStack> {
    const settings = opts.settings ?? engineSettings();
    const toolchain = opts.toolchain ?? ensureToolchain();
    const committedPath = path.join(ROOT, `Pulumi.${stackName}.yaml`);
    const env: Record<string, string> = { ...settings.env, ...(opts.kubeconfig ? { KUBECONFIG: opts.kubeconfig } : {}) };
    if (opts.kubeconfig) {
        process.env.KUBECONFIG = opts.kubeconfig;
    }

    // One workspace directory per backend: a stack file's salt belongs to the stack on that backend.
    const backendKey = createHash("sha256").update(settings.backendUrl).digest("hex").slice(0, 12);
    const configDir = path.join(settings.stateDir, "stacks", backendKey);
    fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
    const programDir = opts.programDir ?? ROOT;
    fs.copyFileSync(path.join(programDir, "Pulumi.yaml"), path.join(configDir, "Pulumi.yaml"));
    // The provider runs in the project directory and finds the chart there (components/helm-stateful-app.ts CHART_REF).
    const charts = path.join(configDir, "charts");
    fs.rmSync(charts, { force: true, recursive: true });
    fs.symlinkSync(path.join(programDir, "charts"), charts);
    const replaceGeneratedSecrets = !toolchain.randomPlugin;
    const mainFile = path.join(configDir, `Pulumi.${stackName}.yaml`);
    const readMain = () => (fs.existsSync(mainFile) ? fs.readFileSync(mainFile, "utf8") : undefined);
    // The workspace's own stack file, from the committed one: it carries the salt and the secrets.
    const main = composeLocalStackFile(fs.readFileSync(committedPath, "utf8"), readMain(), { replaceGeneratedSecrets });
    fs.writeFileSync(mainFile, main.text, { mode: 0o600 });

    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(toolchain.cli)) });
    const stack = await LocalWorkspace.createOrSelectStack(
        {
            stackName,
            projectName: PROJECT,
            program: async () => {
                if (programDir !== ROOT) {
                    // Another checkout at a path that may have held another commit before: load it afresh.
                    for (const file of Object.keys(require.cache)) {
                        if (file.startsWith(programDir + path.sep) && !file.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[file];
                    }
                    // Node also caches how a relative request resolved (`./config` -> config.ts, later config/index.ts).
                    const resolutions = (Module as unknown as { _pathCache: Record<string, string> })._pathCache;
                    for (const key of Object.keys(resolutions)) {
                        if (key.includes(programDir)) delete resolutions[key];
                    }
                }
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                const program = require(path.join(programDir, "index")) as () => Promise<Record<string, unknown>>;
                return program();
            },
        },
        { workDir: configDir, pulumiCommand, envVars: env },
    );

    const cli = (args: string[], input?: string) => {
        const r = spawnSync(toolchain.cli, [...args, "--stack", stackName, "--non-interactive"], {
            cwd: configDir,
            encoding: "utf8",
            input,
            env: { ...process.env, ...env },
            maxBuffer: 256 << 20,
        });
        return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    };
    const setSecrets = (file: string, keys: string[]) => {
        for (const key of keys) {
            // The value on stdin, not in the arguments, where `ps` would show it.
            const r = cli(["config", "set", "--secret", "--config-file", file, `${PROJECT}:${key}`], generatePassword(32));
            if (r.status !== 0) {
                throw new Error(`pulumi config set --secret ${key} failed:\n${r.stderr}`);
            }
        }
    };
    setSecrets(mainFile, main.missingSecrets);
    if (opts.stackFileText === undefined) {
        return { stack, configFile: mainFile, workDir: configDir, switchedApps: main.switchedApps, cli };
    }
    // A modified config (tests): its own file, with the main file's salt and secrets, plus the secrets only this
    // file had (the stand-in of an app that only the modified config has must not change from one open to the next).
    const configFile = path.join(configDir, `Pulumi.${stackName}.override-${process.pid}.yaml`);
    const previous = withSecretsOf(readMain(), fs.existsSync(configFile) ? fs.readFileSync(configFile, "utf8") : undefined);
    const local = composeLocalStackFile(opts.stackFileText, previous, { replaceGeneratedSecrets });
    fs.writeFileSync(configFile, local.text, { mode: 0o600 });
    setSecrets(configFile, local.missingSecrets);
    return { stack, configFile, workDir: configDir, switchedApps: local.switchedApps, cli };
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A password of `length` alphanumeric characters (no special characters, like the program's RandomPassword). */
export function generatePassword(length: number): string {
    return Array.from({ length }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join("");
}

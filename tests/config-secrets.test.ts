/**
 * Secret values in keys the program reads as plain config (issue 11 item 5): a `secure:` entry nested inside
 * `apps` makes the engine mark the whole `stateful-apps:apps` key secret, and the program would otherwise read it
 * with `config.get` and put the value in ConfigMaps and the state. Under Pulumi mocks, with the key marked secret
 * the way the engine marks it (the secret keys list the runtime receives).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import type { StackConfigError } from "../config/errors";
import { lastRunRegistrations, runProgram, stackFileConfig } from "./harness";

describe("secret values in plain config keys", () => {
    it("the SDK still has the @internal isConfigSecret that config/index.ts relies on", () => {
        assert.strictEqual(typeof (runtimeConfig as unknown as { isConfigSecret?: unknown }).isConfigSecret, "function");
    });

    it("apps holding a secret value fails naming stateful-apps:apps, with nothing registered", async () => {
        const config = stackFileConfig("dev");
        const apps = config["stateful-apps:apps"];
        delete config["stateful-apps:apps"];
        await assert.rejects(runProgram(config, { stack: "dev", secrets: { "stateful-apps:apps": JSON.stringify(apps) } }), (err: unknown) => {
            assert.ok(err instanceof Error && err.name === "StackConfigError", String(err));
            const problem = (err as StackConfigError).problems.find((p) => p.key === "stateful-apps:apps");
            assert.ok(problem, (err as Error).message);
            assert.match(problem.message, /holds a secret value/);
            return true;
        });
        assert.deepStrictEqual(lastRunRegistrations(), []);
    });

    it("a secret in a key of its own, named by secret.configKey, is fine", async () => {
        const config = stackFileConfig("dev");
        const apps = structuredClone(config["stateful-apps:apps"]) as Array<Record<string, unknown>>;
        apps[0].secret = { source: "config", configKey: "visitsPassword", envName: "VISITS_ADMIN_PASSWORD" };
        config["stateful-apps:apps"] = apps;
        const run = await runProgram(config, { stack: "dev", secrets: { "stateful-apps:visitsPassword": "a-password-of-our-own-choosing" } });
        assert.ok(run.registrations.length > 0);
    });

    it("a kubeconfig set with --secret stays a secret in the provider's inputs (the state keeps it encrypted)", async () => {
        await runProgram(stackFileConfig("dev"), { stack: "dev" }); // starts the fake API server and sets KUBECONFIG
        const kubeconfig = fs.readFileSync(process.env.KUBECONFIG!, "utf8");
        const run = await runProgram(stackFileConfig("dev"), { stack: "dev", secrets: { "kubernetes:kubeconfig": kubeconfig } });
        const [provider] = run.ofType("pulumi:providers:kubernetes");
        assert.strictEqual(provider.inputs.kubeconfig, kubeconfig);
        assert.ok(provider.secretPaths.includes("kubeconfig"), `secret inputs: ${provider.secretPaths.join(", ")}`);
    });
});

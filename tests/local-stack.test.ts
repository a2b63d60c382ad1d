/**
 * deploy/local-stack.ts: the local stack file the runner gives the engine. Pure: no engine, no files.
 * What this proves: the committed config passes through unchanged but for the generated-secret switch, and a
 * previous file's salt and secret ciphertexts survive. That the engine accepts the file: tests/e2e.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { composeLocalStackFile, LOCAL_SECRET_KEY_PREFIX, standInKey, withSecretsOf } from "../deploy/local-stack";
import { ROOT } from "./harness";

const committed = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
const apps = (text: string) => parse(text).config["stateful-apps:apps"] as Array<{ name: string; secret: Record<string, string> }>;

describe("deploy/local-stack: the runner's local stack file", () => {
    it("keeps the committed config as it is when the random provider exists", () => {
        const local = composeLocalStackFile(committed, undefined, { replaceGeneratedSecrets: false });
        assert.deepStrictEqual(parse(local.text).config, parse(committed).config);
        assert.deepStrictEqual(local.switchedApps, []);
        assert.deepStrictEqual(local.missingSecrets, []);
    });

    it("switches every generated secret to a local config key and asks for its value once", () => {
        const local = composeLocalStackFile(committed, undefined, { replaceGeneratedSecrets: true });
        assert.deepStrictEqual(local.switchedApps, ["visits", "litecoin", "datastore"]);
        assert.deepStrictEqual(
            local.missingSecrets,
            local.switchedApps.map((a) => `${LOCAL_SECRET_KEY_PREFIX}${a}`),
        );
        for (const app of apps(local.text)) {
            assert.strictEqual(app.secret.source, "config");
            assert.strictEqual(app.secret.configKey, `${LOCAL_SECRET_KEY_PREFIX}${app.name}`);
        }
        const before = apps(committed).map((a) => a.secret.envName);
        assert.deepStrictEqual(
            apps(local.text).map((a) => a.secret.envName),
            before,
            "other secret fields kept",
        );
    });

    it("keeps the previous file's encryption salt and secret ciphertexts, and nothing else from it", () => {
        const previous = [
            "encryptionsalt: v1:abc",
            "config:",
            `  stateful-apps:${LOCAL_SECRET_KEY_PREFIX}visits: { secure: v1:cipher }`,
            "  stateful-apps:environment: stale",
        ].join("\n");
        const local = composeLocalStackFile(committed, previous, { replaceGeneratedSecrets: true });
        const doc = parse(local.text);
        assert.strictEqual(doc.encryptionsalt, "v1:abc");
        assert.deepStrictEqual(doc.config[`stateful-apps:${LOCAL_SECRET_KEY_PREFIX}visits`], { secure: "v1:cipher" });
        assert.strictEqual(doc.config["stateful-apps:environment"], "dev", "the committed value wins");
        assert.deepStrictEqual(local.missingSecrets, [`${LOCAL_SECRET_KEY_PREFIX}litecoin`, `${LOCAL_SECRET_KEY_PREFIX}datastore`]);
    });

    it("drops the stand-in secret of an app that is no longer in the stack (the program would refuse the key)", () => {
        const previous = [
            "encryptionsalt: v1:abc",
            "config:",
            `  stateful-apps:${LOCAL_SECRET_KEY_PREFIX}visits: { secure: v1:cipher }`,
            `  stateful-apps:${LOCAL_SECRET_KEY_PREFIX}removed: { secure: v1:old }`,
        ].join("\n");
        const doc = parse(composeLocalStackFile(committed, previous, { replaceGeneratedSecrets: true }).text);
        assert.deepStrictEqual(doc.config[`stateful-apps:${LOCAL_SECRET_KEY_PREFIX}visits`], { secure: "v1:cipher" });
        assert.strictEqual(doc.config[`stateful-apps:${LOCAL_SECRET_KEY_PREFIX}removed`], undefined);
    });

    it("a raised secret.rotation names a new stand-in key (a new value to generate) and drops the old one; rotation 0 keeps the plain key", () => {
        assert.strictEqual(standInKey("visits", 0), `${LOCAL_SECRET_KEY_PREFIX}visits`);
        assert.strictEqual(standInKey("visits", 2), `${LOCAL_SECRET_KEY_PREFIX}visits-r2`);
        const doc0 = parse(committed);
        const app0 = doc0.config["stateful-apps:apps"].find((a: { name: string }) => a.name === "visits");
        app0.secret = { ...app0.secret, rotation: 2 };
        const rotated = stringify(doc0);
        const previous = ["encryptionsalt: v1:abc", "config:", `  stateful-apps:${LOCAL_SECRET_KEY_PREFIX}visits: { secure: v1:cipher }`].join("\n");
        const local = composeLocalStackFile(rotated, previous, { replaceGeneratedSecrets: true });
        const doc = parse(local.text);
        assert.strictEqual(doc.config[`stateful-apps:${LOCAL_SECRET_KEY_PREFIX}visits`], undefined, "the rotated-away value is dropped");
        assert.ok(local.missingSecrets.includes(`${LOCAL_SECRET_KEY_PREFIX}visits-r2`), "a new value to generate");
        const visits = doc.config["stateful-apps:apps"].find((a: { name: string }) => a.name === "visits");
        assert.strictEqual(visits.secret.configKey, `${LOCAL_SECRET_KEY_PREFIX}visits-r2`);
    });

    it("keeps secrets set in the local file by hand (`pulumi config set --secret --config-file`)", () => {
        const previous = "encryptionsalt: v1:abc\nconfig:\n  stateful-apps:visitsPassword: { secure: v1:mine }\n";
        const doc = parse(composeLocalStackFile(committed, previous, { replaceGeneratedSecrets: false }).text);
        assert.deepStrictEqual(doc.config["stateful-apps:visitsPassword"], { secure: "v1:mine" });
    });

    it("uses the committed file's own salt and secrets when it has them, dropping values encrypted under another salt", () => {
        const withSalt = `encryptionsalt: v1:committed\n${committed}`.replace(
            "config:\n",
            "config:\n  stateful-apps:visitsPassword: { secure: v1:committed-secret }\n",
        );
        const previous = `encryptionsalt: v1:local\nconfig:\n  stateful-apps:${LOCAL_SECRET_KEY_PREFIX}visits: { secure: v1:old }\n`;
        const local = composeLocalStackFile(withSalt, previous, { replaceGeneratedSecrets: true });
        const doc = parse(local.text);
        assert.strictEqual(doc.encryptionsalt, "v1:committed");
        assert.deepStrictEqual(doc.config["stateful-apps:visitsPassword"], { secure: "v1:committed-secret" });
        assert.strictEqual(doc.config[`stateful-apps:${LOCAL_SECRET_KEY_PREFIX}visits`], undefined);
        assert.ok(local.missingSecrets.includes(`${LOCAL_SECRET_KEY_PREFIX}visits`));
    });

    it("leaves apps whose secret already comes from config alone", () => {
        const text = committed.replace(
            "source: generated\n        envName: VISITS_ADMIN_PASSWORD",
            "source: config\n        configKey: visitsPassword\n        envName: VISITS_ADMIN_PASSWORD",
        );
        assert.notStrictEqual(text, committed);
        const local = composeLocalStackFile(text, undefined, { replaceGeneratedSecrets: true });
        assert.deepStrictEqual(local.switchedApps, ["litecoin", "datastore"]);
        assert.strictEqual(apps(local.text)[0].secret.configKey, "visitsPassword");
    });

    it("adds to the main file the secrets only a test's modified file has, the main file's own winning", () => {
        const main = "encryptionsalt: s1\nconfig:\n  p:a: { secure: main-a }\n  p:plain: x\n";
        const extra = "encryptionsalt: s1\nconfig:\n  p:a: { secure: old-a }\n  p:b: { secure: only-b }\n  p:c: plain\n";
        assert.deepStrictEqual(parse(withSecretsOf(main, extra)!).config, { "p:a": { secure: "main-a" }, "p:plain": "x", "p:b": { secure: "only-b" } });
        assert.strictEqual(withSecretsOf(main, undefined), main);
        assert.strictEqual(withSecretsOf(undefined, extra), extra);
    });

    it("refuses a stack file without a config map", () => {
        assert.throws(() => composeLocalStackFile("encryptionsalt: x\n", undefined, { replaceGeneratedSecrets: true }), /no `config:` map/);
    });
});

/**
 * The change matrix (tests/e2e/change-matrix.ts) as data: it covers every config key, and docs/CHANGES.md shows it as
 * generated. The matrix itself runs on the real engine in tests/e2e/changes.e2e.ts; this only checks its coverage and
 * the docs.
 */
import * as assert from "assert";
import * as path from "path";
import { STACK_SCHEMA } from "../config/schema";
import { CHANGES, CHANGES_BEGIN, CHANGES_END, changesTable } from "./e2e/change-matrix";
import { readBetweenMarkers } from "../scripts/markers";
import { ROOT } from "./harness";

describe("the change matrix (data) and docs/CHANGES.md", () => {
    it("changes every top-level app key and every stack key at least once", () => {
        const covered = new Set(CHANGES.map((c) => c.key.split(".")[0].replace(/\[\]$/, "[]")));
        const appKeys = Object.keys(STACK_SCHEMA.shape.apps.element.shape).map((k) => `apps[].${k}`);
        const coveredApp = new Set(CHANGES.map((c) => c.key.split(".").slice(0, 2).join(".")));
        assert.deepStrictEqual(
            appKeys.filter((k) => !coveredApp.has(k)),
            [],
            "app keys no change exercises",
        );
        assert.deepStrictEqual(
            Object.keys(STACK_SCHEMA.shape).filter((k) => !covered.has(k) && !coveredApp.has(`${k}`) && k !== "apps"),
            [],
            "stack keys no change exercises",
        );
    });

    it("has unique ids, and exercises both paths and protect on and off", () => {
        const ids = CHANGES.map((c) => c.id);
        assert.deepStrictEqual(ids.length, new Set(ids).size);
        assert.ok(
            CHANGES.some((c) => c.app === "litecoin" && c.expect.verdict === "applies"),
            "a change applied on the Helm path",
        );
        assert.ok(
            CHANGES.some((c) => c.key === "protect" && c.expect.verdict === "refused"),
            "a refusal in a protected stack",
        );
        assert.ok(
            CHANGES.some((c) => c.id === "protect" && c.expect.verdict === "applies"),
            "protect turned on",
        );
    });

    it("docs/CHANGES.md holds the table generated from it (run `npm run docs:changes` after changing the matrix)", () => {
        assert.strictEqual(readBetweenMarkers(path.join(ROOT, "docs", "CHANGES.md"), CHANGES_BEGIN, CHANGES_END), changesTable());
    });
});

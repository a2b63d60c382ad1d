/**
 * The docs hold together: every relative Markdown link in README.md and docs/*.md points at a file that exists (and,
 * with `#anchor`, at a heading of it), and every reference of the form `docs/NAME.md "Heading"` or `README.md
 * "Heading"` anywhere in the tracked sources, stack files, scripts and docs names a heading that exists (or its start,
 * before a parenthesis: "A real node" for "A real node (`scripts/cluster up --real-node`)"). What this
 * does not check: links to other sites, or that the text under a heading says what the reference expects.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

/** The headings of a Markdown file, without their `#`s and backticks. */
function headings(file: string): string[] {
    return fs
        .readFileSync(path.join(ROOT, file), "utf8")
        .replace(/```[\s\S]*?```/g, "")
        .split("\n")
        .flatMap((l) => {
            const m = /^#{1,6}\s+(.*?)\s*$/.exec(l);
            return m ? [m[1].replace(/`/g, "")] : [];
        });
}

/** GitHub's anchor of a heading: lowercase, punctuation dropped but `-` and `_`, spaces to `-`. */
function slug(heading: string): string {
    return heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

const tracked = execFileSync("git", ["-C", ROOT, "ls-files", "-co", "--exclude-standard"], { encoding: "utf8" })
    .split("\n")
    .filter((f) => f && fs.existsSync(path.join(ROOT, f)) && !f.startsWith("bench/results/") && !/\.(png|json|lock)$/.test(f));
const markdown = tracked.filter((f) => f === "README.md" || (f.startsWith("docs/") && f.endsWith(".md")));

describe("README and docs/: links and references resolve", () => {
    it("every relative Markdown link points at an existing file, and its #anchor at a heading there", () => {
        const broken: string[] = [];
        for (const file of markdown) {
            const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
            for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                const target = m[1];
                if (/^(https?:|mailto:)/.test(target)) continue;
                const [rel, anchor] = target.split("#");
                const resolved = rel ? path.normalize(path.join(path.dirname(file), rel)) : file;
                if (!fs.existsSync(path.join(ROOT, resolved))) {
                    broken.push(`${file}: ${target} (no ${resolved})`);
                } else if (anchor && resolved.endsWith(".md") && !headings(resolved).map(slug).includes(anchor)) {
                    broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
                }
            }
        }
        assert.deepStrictEqual(broken, []);
    });

    it('every `docs/NAME.md "Heading"` and `README.md "Heading"` reference in the sources names an existing heading', () => {
        const broken: string[] = [];
        let seen = 0;
        for (const file of tracked.filter((f) => f !== "tests/docs-links.test.ts")) {
            // A quoted heading may run over a line break, with the next line's comment prefix (`//`, ` * `, `#`).
            const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/\n\s*(?:\/\/|\*|#)?\s*/g, " ");
            for (const m of text.matchAll(/\b((?:docs\/[A-Za-z0-9_-]+|README)\.md) \\?"([^"\\]{3,80})\\?"/g)) {
                const [, doc, heading] = m;
                seen++;
                if (!fs.existsSync(path.join(ROOT, doc))) {
                    broken.push(`${file}: ${doc} does not exist`);
                } else if (!headings(doc).some((h) => h === heading || h.startsWith(`${heading} (`))) {
                    broken.push(`${file}: ${doc} has no heading "${heading}"`);
                }
            }
        }
        assert.ok(seen >= 10, `only ${seen} references found: is the pattern still right?`);
        assert.deepStrictEqual(broken, []);
    });

    it("README.md is a first screen: under 150 lines, the two commands, and a link to every page of docs/", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.ok(readme.split("\n").length < 150, `README.md has ${readme.split("\n").length} lines`);
        assert.match(readme, /npm ci && npm run deploy -- dev up --yes/);
        assert.match(readme, /npm run test:all/);
        const pages = fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
        assert.deepStrictEqual(
            pages.filter((p) => !readme.includes(`](docs/${p})`)),
            [],
            "docs pages README does not link",
        );
    });
});

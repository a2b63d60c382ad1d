/** Rewrites README.md's configuration reference from the zod schema (`npm run docs:config`). */
import * as fs from "fs";
import * as path from "path";
import { configReference, DOCS_BEGIN, DOCS_END } from "../lib/config-docs";

const readme = path.join(__dirname, "..", "README.md");
const text = fs.readFileSync(readme, "utf8");
const begin = text.indexOf(DOCS_BEGIN);
const end = text.indexOf(DOCS_END);
if (begin < 0 || end < begin) {
    throw new Error(`README.md lacks the markers ${DOCS_BEGIN} … ${DOCS_END}`);
}
fs.writeFileSync(readme, `${text.slice(0, begin + DOCS_BEGIN.length)}\n${configReference()}\n${text.slice(end)}`);
console.log("README.md: configuration reference updated");

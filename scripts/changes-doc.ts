/** Rewrites the change table of docs/CHANGES.md from the change matrix (`npm run docs:changes`). */
import * as path from "path";
import { CHANGES_BEGIN, CHANGES_END, changesTable } from "../tests/e2e/change-matrix";
import { writeBetweenMarkers } from "./markers";

writeBetweenMarkers(path.join(__dirname, "..", "docs", "CHANGES.md"), CHANGES_BEGIN, CHANGES_END, changesTable());
console.log("docs/CHANGES.md: change table updated");

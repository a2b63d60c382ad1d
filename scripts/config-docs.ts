/** Rewrites the configuration reference of docs/CONFIGURATION.md from the zod schema (`npm run docs:config`). */
import * as path from "path";
import { configReference, DOCS_BEGIN, DOCS_END } from "../lib/config-docs";
import { writeBetweenMarkers } from "./markers";

writeBetweenMarkers(path.join(__dirname, "..", "docs", "CONFIGURATION.md"), DOCS_BEGIN, DOCS_END, configReference());
console.log("docs/CONFIGURATION.md: configuration reference updated");

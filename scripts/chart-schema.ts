/** Writes charts/stateful-app/values.schema.json from lib/chart-values.ts (`npm run chart:schema`). */
import * as fs from "fs";
import * as path from "path";
import { chartValuesJsonSchema } from "../lib/chart-values";

const file = path.join(__dirname, "..", "charts", "stateful-app", "values.schema.json");
fs.writeFileSync(file, chartValuesJsonSchema());
console.log(`${path.relative(process.cwd(), file)}: written from lib/chart-values.ts`);

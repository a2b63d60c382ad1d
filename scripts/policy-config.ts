/**
 * Prints the policy pack config (JSON) for a stack, derived from `Pulumi.<stack>.yaml`:
 *
 *   npx ts-node --transpile-only scripts/policy-config.ts prod > policy-config.prod.json
 *   pulumi preview --stack prod --policy-pack policy --policy-pack-config policy-config.prod.json
 *
 * Exits 2 with the config errors when the stack file is invalid (the same messages `pulumi up` gives).
 */
import * as path from "path";
import { readStackConfig } from "../lib/stack-file";
import { policyConfigFor } from "../policy/stack-config";

const stack = process.argv[2];
if (!stack || stack === "--help" || stack === "-h") {
    console.error("Usage: ts-node scripts/policy-config.ts <stack>   (prints policy pack config JSON for Pulumi.<stack>.yaml)");
    process.exit(stack ? 0 : 2);
}
try {
    console.log(JSON.stringify(policyConfigFor(readStackConfig(path.join(__dirname, ".."), stack)), null, 2));
} catch (e) {
    console.error((e as Error).message);
    process.exit(2);
}

/**
 * Child process of bench/dev-stack.ts: the objects a committed stack deploys, rendered before any clock starts, for
 * the methods that do not run the program (the kubectl floor and Helm).
 *
 *   ts-node --transpile-only bench/lib/render-stack.ts STACK NAMESPACE OUT_JSON
 *
 * Runs `index.ts` under Pulumi mocks (tests/harness.ts, as tests/api-server.test.ts does) with `Pulumi.<STACK>.yaml`
 * and the namespace renamed to NAMESPACE, in a process of its own because mocks and the real engine's inline program
 * cannot share one Node.js runtime. Writes:
 *
 *   objects   every Kubernetes object the program registers, in registration order, except Helm releases,
 *             Prometheus Operator objects and the server-side apply patches (PersistentVolumeClaimPatch: at the
 *             template's size they change nothing)
 *   releases  the Helm releases the program registers: { app, namespace, values } (a release is named after its app,
 *             components/helm-stateful-app.ts; values as the program passes them, secret checksum resolved)
 *   chartValues  helmValues() of every app of the stack (what the chart takes to deploy that app as a release), with
 *             the stack's scrape-annotation setting; for a Helm-deployed app, the release's own values
 */
import * as fs from "fs";
import { helmValues } from "../../lib/helm-values";
import { readStackConfig } from "../../lib/stack-file";
import { runProgram, stackFileConfig } from "../../tests/harness";
import { CHECKSUM, ROOT } from "./common";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

async function main(): Promise<void> {
    const [stack, namespace, out] = process.argv.slice(2);
    if (!stack || !namespace || !out) {
        process.stderr.write("usage: render-stack.ts STACK NAMESPACE OUT_JSON\n");
        process.exit(2);
    }
    const config = stackFileConfig(stack);
    const ns = { ...(config["stateful-apps:namespace"] as Record<string, unknown>), name: namespace };
    const program = await runProgram({ ...config, "stateful-apps:namespace": ns }, { stack });
    const k8s = program.registrations.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:monitoring.coreos.com/"));
    const objects = k8s.filter((r) => !r.type.startsWith("kubernetes:helm.sh/") && !r.type.endsWith("Patch")).map((r) => r.inputs as Any);
    const releases = k8s
        .filter((r) => r.type.startsWith("kubernetes:helm.sh/"))
        .map((r) => ({
            app: (r.inputs as Any).name as string,
            namespace: (r.inputs as Any).namespace,
            values: (r.inputs as Any).values,
        }));
    const parsed = readStackConfig(ROOT, stack);
    const scrapeAnnotations = !parsed.monitoring.prometheusOperator;
    const chartValues = Object.fromEntries(
        parsed.apps.map((app) => [app.name, releases.find((r) => r.app === app.name)?.values ?? helmValues(app, CHECKSUM, { scrapeAnnotations })]),
    );
    fs.writeFileSync(out, JSON.stringify({ stack, namespace, objects, releases, chartValues }));
}

main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
});

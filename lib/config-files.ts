/**
 * The files of an app's `<app>-files` ConfigMap, as both renderers (lib/workload.ts natively, the chart through
 * lib/helm-values.ts) and the ConfigMap size rule (config/rules.ts) see them. Pure.
 */
import type { AppConfig } from "../config/schema";

/**
 * The ConfigMap's data: each of `apps[].configFiles` by file name, strings as given, objects as pretty JSON with a
 * final newline. Env goes to its own ConfigMap.
 */
export function configFileData(app: Pick<AppConfig, "configFiles">): Record<string, string> {
    const data: Record<string, string> = {};
    for (const [file, content] of Object.entries(app.configFiles)) {
        data[file] = typeof content === "string" ? content : `${JSON.stringify(content, null, 2)}\n`;
    }
    return data;
}

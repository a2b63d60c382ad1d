/**
 * The policy pack config for a stack, derived from the stack's own validated config so that the stack file is
 * the single source of truth (no second place to say "prod" or "LoadBalancers allowed").
 */
import type { StackConfig } from "../config/schema";

/** Policy pack config as `--policy-pack-config` reads it: `{ "<policy name>": { <property>: value } }`. */
export type PolicyPackConfigFile = Record<string, Record<string, unknown>>;

/**
 * @param stack the validated stack config (lib/stack-file.ts `readStackConfig`).
 * @returns config for the policies `image-pinned` (environment) and `loadbalancer-allowed` (allowLoadBalancer).
 */
export function policyConfigFor(stack: StackConfig): PolicyPackConfigFile {
    return {
        "image-pinned": { environment: stack.environment },
        "loadbalancer-allowed": { allowLoadBalancer: stack.allowLoadBalancer },
    };
}

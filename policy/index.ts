/**
 * The stateful-apps policy pack (Pulumi CrossGuard). Every rule is mandatory: a violation fails
 * `pulumi preview` and `pulumi up` before anything changes.
 *
 *   pulumi preview --stack dev --policy-pack policy \
 *     --policy-pack-config <(npx ts-node --transpile-only scripts/policy-config.ts dev)
 *
 * The rules are listed in docs/SAFETY.md "Guardrails"; they live in `policies.ts` (wrappers) and `rules.ts` (pure checks).
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("stateful-apps", {
    description:
        "Guardrails for stateful workloads: restricted pods, resources, probes, pinned images, labels, headless Services, PodDisruptionBudgets, LoadBalancers, Helm releases.",
    enforcementLevel: "mandatory",
    policies,
});

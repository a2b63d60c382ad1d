import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { checksum } from "../lib/workload";

/** Arguments of {@link AppSecret}. */
export interface AppSecretArgs {
    /** Namespace of the Secret. */
    readonly namespace: pulumi.Input<string>;
    /** Name of the Secret object (`<app>-credentials`). */
    readonly secretName: string;
    /** Key inside the Secret, e.g. `password`. */
    readonly key: string;
    /**
     * The value from stack config (`pulumi config set --secret <key> …`). When absent, a password of `length`
     * characters is generated with `random.RandomPassword`, stored (encrypted) in the stack state and therefore
     * stable across `pulumi up` runs and chart upgrades.
     */
    readonly value?: pulumi.Output<string>;
    /** Length of a generated password in characters (16-128). Default 32. */
    readonly length?: number;
    /** Labels for the Secret. */
    readonly labels: Record<string, string>;
    /**
     * Protect the password and the Secret (`protect` + `retainOnDelete`): a `pulumi destroy` or a removed app
     * leaves them in place. Default false.
     */
    readonly protect?: boolean;
}

/**
 * An app's credentials: a Kubernetes Secret holding one value, from stack config or generated.
 * Both deployment paths create it natively; the chart only receives its name (`existingSecret`), so no secret
 * ever becomes a Helm value (Helm stores values in plaintext in its release Secret).
 */
export class AppSecret extends pulumi.ComponentResource {
    /** Name of the Kubernetes Secret (never its value). */
    public readonly secretName: pulumi.Output<string>;
    /**
     * SHA-256 of the value, for the pod template's `checksum/secret` annotation so pods roll when the value
     * changes. Deliberately not secret: a hash of a high-entropy password reveals nothing.
     */
    public readonly checksum: pulumi.Output<string>;

    constructor(name: string, args: AppSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("stateful-apps:index:AppSecret", name, {}, opts);
        const dataOpts: pulumi.CustomResourceOptions = { parent: this, protect: args.protect, retainOnDelete: args.protect };

        const value =
            args.value ??
            new random.RandomPassword(
                `${name}-password`,
                // No special characters: the value lands in env vars, URLs and config files unescaped.
                { length: args.length ?? 32, special: false, minLower: 2, minUpper: 2, minNumeric: 2 },
                dataOpts,
            ).result;

        const secret = new k8s.core.v1.Secret(
            name,
            {
                metadata: { name: args.secretName, namespace: args.namespace, labels: args.labels },
                type: "Opaque",
                // Marked secret whatever its source, so it is encrypted in the state and masked in diffs.
                stringData: { [args.key]: pulumi.secret(value) },
            },
            dataOpts,
        );
        this.secretName = secret.metadata.name;
        this.checksum = pulumi.unsecret(value.apply((v) => checksum(v)));
        this.registerOutputs({ secretName: this.secretName });
    }
}

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { secretChecksum } from "../lib/workload";

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
    /**
     * Length of a generated password in characters (16-128; `apps[].secret.length`). Applies when the password is
     * generated; a later change does not regenerate it (`ignoreChanges`): use `rotation`.
     */
    readonly length: number;
    /**
     * Rotation counter of a generated password (≥ 0; `apps[].secret.rotation`). Raising it generates a new password
     * on the next `up` (a `keepers` change replaces the RandomPassword): the Secret is updated, pods roll, and the
     * old value is gone from the state. Nothing else regenerates it.
     */
    readonly rotation: number;
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
     * The pod template's `checksum/secret` annotation (lib/workload.ts `secretChecksum`: salted scrypt, 64 hex
     * characters), so pods roll when the value changes. Not secret: scrypt makes guessing a user-chosen value from
     * it expensive.
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
                {
                    length: args.length,
                    special: false,
                    minLower: 2,
                    minUpper: 2,
                    minNumeric: 2,
                    keepers: { rotation: String(args.rotation) },
                },
                // Only a rotation (keepers) makes a new password; changing the shape of future ones does not.
                { ...dataOpts, ignoreChanges: ["length", "special", "minLower", "minUpper", "minNumeric"] },
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
        this.checksum = pulumi.unsecret(value.apply((v) => secretChecksum(v, args.secretName)));
        this.registerOutputs({ secretName: this.secretName });
    }
}

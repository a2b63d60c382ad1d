/**
 * The keys of a clustered app (a datastore whose members find each other): named extra ports, peer discovery as
 * environment variables, and the guard on membership changes. Part of one app's schema (./app-schema.ts); the
 * rules across fields are in ./peer-rules.ts, the rendering in lib/peers.ts.
 */
import { z } from "zod";
import { envName, ianaPortName, int32, seconds } from "./fields";

/** The placeholders of a `peerEnv[].format`, replaced per member (lib/peers.ts). */
export const PEER_PLACEHOLDERS = {
    "{pod}": "the member's pod name, `<app>-<ordinal>`",
    "{host}": "the member's stable DNS name, `<app>-<ordinal>.<app>-headless.<namespace>.svc.<clusterDomain>`",
    "{ordinal}": "the member's ordinal, `0`, `1`, … (not with `members: self`)",
} as const;

export const extraPortsSchema = z
    .array(
        z.strictObject({
            name: ianaPortName.describe("Port name on the container and the Services (an IANA service name, unique in the app)."),
            port: z.number().int().min(1).max(65535).describe("Port number (containerPort and Service port), unique in the app."),
            access: z
                .enum(["members", "clients"])
                .default("members")
                .describe(
                    "`members`: a peer port (replication, gossip, elections): on the container and the headless Service; the NetworkPolicy lets only the app's own pods reach it. `clients`: also on the client Service, reachable by `networkPolicy.allowFrom` like the main port.",
                ),
        }),
    )
    .default([])
    .describe(
        "Named ports besides `port` (etcd 2380 peer, Cassandra 7000 inter-node, ZooKeeper 2888/3888). Each goes on the container and the headless Service, and into the NetworkPolicy by its `access`.",
    );

export const peerEnvSchema = z
    .array(
        z.strictObject({
            name: envName.describe("The environment variable. Must not be set by `env`, `secret.envName` or the program (POD_NAME, POD_NAMESPACE)."),
            members: z
                .enum(["self", "all", "first"])
                .describe(
                    "`self`: this pod only (its own DNS name). `all`: every member, ordinals 0…replicas-1 (a quorum store's initial cluster): changes with `replicas`, so a scale rolls every pod. `first`: ordinals 0…count-1 (seeds): the same at any `replicas` ≥ count, so a scale restarts no pod.",
                ),
            count: int32(1).optional().describe("With `members: first`: how many (seeds). At most `replicas`."),
            format: z
                .string()
                .min(1)
                .default("{host}")
                .describe(
                    `Text per member; placeholders ${Object.entries(PEER_PLACEHOLDERS)
                        .map(([p, what]) => `\`${p}\` ${what}`)
                        .join("; ")}. Example (etcd): \`{pod}=http://{host}:2380\`.`,
                ),
            separator: z.string().default(",").describe("Between members (`all`, `first`)."),
        }),
    )
    .default([])
    .describe(
        'Peer discovery: environment variables built from `replicas`, the headless Service, the namespace and the stack\'s `clusterDomain`, on both deployment paths. The namespace enters as `$(POD_NAMESPACE)`, which the kubelet expands, so no stack file names its namespace (docs/CONFIGURATION.md "Clustered datastores").',
    );

/** What a membership step's Job gets besides the app's env (lib/membership.ts membershipJob sets them). */
export const MEMBERSHIP_STEP_ENV = {
    MEMBERS_LEAVING: "beforeScaleDown: the pod names of the members that go, highest ordinal first, space-separated (`etcd-4 etcd-3`)",
    MEMBERS_JOINED: "afterScaleUp: the pod names of the members that came, lowest ordinal first, space-separated",
    MEMBERS: "the pod names of every member after the change, space-separated",
    MEMBER_DOMAIN: "the members' DNS suffix: a member's name is `<pod>.$MEMBER_DOMAIN` (`etcd-headless.<namespace>.svc.<clusterDomain>`)",
    APP_SERVICE: "the client Service, `<app>:<port>`",
} as const;

const stepSchema = (when: string) =>
    z
        .strictObject({
            command: z
                .array(z.string())
                .min(1)
                .describe(
                    `Command run ${when} in a Job of the app's image, with the app's env, its password and ${Object.keys(MEMBERSHIP_STEP_ENV).join(", ")}. Must be idempotent: an interrupted \`up\` runs it again.`,
                ),
            activeDeadlineSeconds: seconds("activeDeadlineSeconds", 1)
                .default(300)
                .describe("Seconds the Job may run, retries included; past them the `up` fails."),
            backoffLimit: int32(0).default(2).describe("Retries before the Job fails (and with it the `up`, before the StatefulSet changes)."),
        })
        .optional();

export const membershipSchema = z
    .strictObject({
        beforeScaleDown: stepSchema("before the StatefulSet loses members (e.g. `etcdctl member remove`, `nodetool decommission`)").describe(
            "A Job `up` runs against the live members before it lowers `replicas`, naming the members that go; the StatefulSet changes only once it succeeded. Both paths.",
        ),
        afterScaleUp: stepSchema("after the StatefulSet's new members are Ready (e.g. `nodetool cleanup`, a cluster health check)").describe(
            "A Job `up` runs once a raised `replicas` has rolled out, naming the members that came. Both paths.",
        ),
        minReplicas: int32(1)
            .optional()
            .describe("Fewest members the app may run with (a quorum store: 3). `replicas` below it is refused at preview, except 0 (the app parked)."),
        maxScaleDownStep: int32(1)
            .optional()
            .describe(
                "Most members one `up` may remove. A larger scale-down is refused at preview naming `replicas` (the previous count is read from the cluster). Quorum stores: 1.",
            ),
        maxScaleUpStep: int32(1)
            .optional()
            .describe("Most members one `up` may add (ZooKeeper and etcd add members one at a time). A larger scale-up is refused at preview."),
    })
    .prefault({})
    .describe(
        'Membership changes the app can survive, checked at preview against the live StatefulSet\'s replicas (docs/CONFIGURATION.md "Clustered datastores"). Unset: any change.',
    );

/**
 * etcd as an app of this program (tests/e2e/datastore.e2e.ts): its config, and our own scripts for it: the members'
 * start script, mounted from the ConfigMap (`configFiles`), and the beforeScaleDown step. busybox sh and awk, etcdctl
 * 3.6. Written for this program's env: ETCD_NAME and the advertised URLs from `peerEnv` (`self`),
 * ETCD_INITIAL_CLUSTER from `peerEnv` (`first`, 3), the step's MEMBERS_LEAVING / MEMBERS / MEMBER_DOMAIN /
 * APP_SERVICE (config/peer-schema.ts).
 */
import { PROJECT } from "../../lib/names";
import { Any, stackFileWith } from "./harness";
import { IMAGES, imageBlock, NODE } from "./real-node-lib";

/** The app's name: StatefulSet etcd, pods etcd-0…, Services etcd and etcd-headless. */
export const APP = "etcd";

/**
 * Starts this pod's member:
 * - data on the volume and the cluster lists this member (or cannot be asked): start as it is;
 * - data, but the running cluster no longer lists the member (a scale-down removed it; the PVC was retained): in a
 *   new pod, start over with empty data and join (etcd-io/etcd#14805); in the same pod (the member was removed while
 *   it ran, and its pod is about to go), wait instead of joining back;
 * - no data and no cluster answers on the client Service: bootstrap with the initial cluster (first start);
 * - no data and a cluster answers: add this member (unless listed) and join with the cluster's member list.
 * /tmp is the pod's emptyDir: it outlives a container restart, not the pod.
 */
const ETCD_START_SCRIPT = `#!/bin/sh
set -eu
ep="--endpoints=http://etcd:2379 --dial-timeout=2s --command-timeout=5s"
peer="$ETCD_INITIAL_ADVERTISE_PEER_URLS"
members=$(etcdctl $ep member list 2>/dev/null || true)
listed() { printf '%s\\n' "$members" | awk -F', ' -v u="$peer" '$4 == u { found = 1 } END { exit !found }'; }
if [ -d "$ETCD_DATA_DIR/member" ]; then
  if [ -z "$members" ] || listed; then touch /tmp/started; exec etcd; fi
  if [ -e /tmp/started ]; then
    echo "the cluster removed $ETCD_NAME while it ran: waiting for the pod to be deleted"
    # sh is PID 1: without a trap it would ignore SIGTERM and the pod would take its whole grace period to go.
    trap 'exit 0' TERM INT
    sleep 2147483647 &
    wait $!
  fi
  echo "the cluster no longer lists $ETCD_NAME ($peer): starting over with empty data"
  rm -rf "$ETCD_DATA_DIR/member"
fi
touch /tmp/started
if [ -z "$members" ]; then
  echo "no cluster answers on the client Service: bootstrapping with $ETCD_INITIAL_CLUSTER"
  export ETCD_INITIAL_CLUSTER_STATE=new
  exec etcd
fi
listed || etcdctl $ep member add "$ETCD_NAME" --peer-urls="$peer"
ETCD_INITIAL_CLUSTER=$(etcdctl $ep member list | awk -F', ' -v me="$ETCD_NAME" -v u="$peer" '{ n = ($4 == u) ? me : $3; printf "%s%s=%s", s, n, $4; s = "," }')
export ETCD_INITIAL_CLUSTER ETCD_INITIAL_CLUSTER_STATE=existing
echo "joining the running cluster as $ETCD_NAME: $ETCD_INITIAL_CLUSTER"
exec etcd
`;

/**
 * membership.beforeScaleDown: for each member that goes (highest ordinal first), move the leadership to the first
 * member when it leads (so no election interrupts writes), then remove it. Idempotent: a member already removed is
 * skipped.
 */
const ETCD_LEAVE_SCRIPT = `set -eu
svc="--endpoints=http://$APP_SERVICE"
first=\${MEMBERS%% *}
for m in $MEMBERS_LEAVING; do
  url="http://$m.$MEMBER_DOMAIN"
  id=$(etcdctl $svc member list | awk -F', ' -v u="$url:2380" '$4 == u { print $1 }')
  if [ -z "$id" ]; then echo "$m is not a member (removed before)"; continue; fi
  if [ "$(etcdctl --endpoints="$url:2379" endpoint status 2>/dev/null | awk -F', ' '{ print $9 }')" = true ]; then
    to=$(etcdctl $svc member list | awk -F', ' -v n="$first" '$3 == n { print $1 }')
    echo "$m leads: moving the leadership to $first ($to)"
    etcdctl --endpoints="$url:2379" move-leader "$to"
  fi
  etcdctl $svc member remove "$id"
done
etcdctl $svc member list
`;

/** The etcd app: 2379 clients, 2380 peers; members named by peerEnv; data on the PVC; the membership steps. */
function etcdApp(replicas: number, deployWith: "native" | "helm"): Any {
    return {
        name: APP,
        deployWith,
        image: imageBlock(IMAGES.etcd),
        command: ["sh", "/etc/etcd/start.sh"],
        port: 2379,
        portName: "client",
        extraPorts: [{ name: "peer", port: 2380 }],
        replicas,
        // Every member must be up for the first quorum: OrderedReady would wait for etcd-0's readiness forever.
        podManagementPolicy: "Parallel",
        storage: { size: "64Mi", storageClass: NODE.STORAGE_CLASS, mountPath: "/var/lib/etcd" },
        pvcRetention: { whenDeleted: "Delete", whenScaled: "Retain" },
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        probes: {
            startup: { type: "tcp", periodSeconds: 2, failureThreshold: 60 },
            // /health answers 200 only while the member sees a leader (quorum).
            readiness: { type: "http", path: "/health", periodSeconds: 5, timeoutSeconds: 3 },
            liveness: { type: "tcp", periodSeconds: 10, timeoutSeconds: 3 },
        },
        preStopSleepSeconds: 2,
        securityContext: { runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001 },
        env: {
            ETCD_DATA_DIR: "/var/lib/etcd/data",
            ETCD_LISTEN_PEER_URLS: "http://0.0.0.0:2380",
            ETCD_LISTEN_CLIENT_URLS: "http://0.0.0.0:2379",
            ETCD_INITIAL_CLUSTER_TOKEN: "e2e-ring",
        },
        peerEnv: [
            { name: "ETCD_NAME", members: "self", format: "{pod}" },
            { name: "ETCD_INITIAL_ADVERTISE_PEER_URLS", members: "self", format: "http://{host}:2380" },
            { name: "ETCD_ADVERTISE_CLIENT_URLS", members: "self", format: "http://{host}:2379" },
            // The first three: the same at any replicas, so a scale restarts no member.
            { name: "ETCD_INITIAL_CLUSTER", members: "first", count: 3, format: "{pod}=http://{host}:2380" },
        ],
        configFiles: { "start.sh": ETCD_START_SCRIPT },
        configMountPath: "/etc/etcd",
        secret: { source: "generated", envName: "APP_PASSWORD" },
        membership: {
            minReplicas: 3,
            maxScaleDownStep: 1,
            maxScaleUpStep: 1,
            beforeScaleDown: { command: ["sh", "-c", ETCD_LEAVE_SCRIPT], activeDeadlineSeconds: 120 },
            afterScaleUp: { command: ["sh", "-c", 'etcdctl --endpoints="http://$APP_SERVICE" endpoint health --cluster'], activeDeadlineSeconds: 120 },
        },
        ...(deployWith === "helm" ? { helm: { hookImage: IMAGES.busybox, timeoutSeconds: 180 } } : {}),
    };
}

/** The dev stack file with the etcd app only, in namespace `ns`. */
export function ringStack(ns: string, replicas: number, deployWith: "native" | "helm" = "native"): string {
    return stackFileWith("dev", (config) => {
        config[`${PROJECT}:namespace`] = { ...config[`${PROJECT}:namespace`], name: ns };
        config[`${PROJECT}:apps`] = [etcdApp(replicas, deployWith)];
        delete config[`${PROJECT}:removedApps`];
    });
}

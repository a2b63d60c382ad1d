# The real node's configuration files (sourced by scripts/real-node): containerd, CNI, kubelet, kube-proxy,
# CoreDNS, and the cluster's local-path storage. Each writes for the node set_node chose; nothing here starts a
# process except make_storage's provisioner (through scripts/real-node's start).
# shellcheck shell=bash

write_configs() {
  local dir=$1 bin=$2 api_port
  api_port=$(sed -n 's#^ *server: https://127.0.0.1:\([0-9]*\).*#\1#p' "$admin_kubeconfig" | head -1)
  [ -n "$api_port" ] || die "no https://127.0.0.1:PORT server in $admin_kubeconfig"
  echo "$api_port" >"$state/api-port"
  mkdir -p "$state/cni/net.d" "$state/cni/ipam" "$state/cni/cache" "$state/containerd" "$state/kubelet" "$state/pod-logs"
  # The node's credentials: the cluster admin's client certificate (no TLS bootstrap), reaching the API server
  # through the forward on this machine's end of the veth; the server's certificate names 'localhost'.
  sed -e "s#server: https://127.0.0.1:$api_port#server: https://$HOST_IP:$API_FORWARD_PORT\n    tls-server-name: localhost#" \
    "$admin_kubeconfig" >"$state/node-kubeconfig.yaml"
  : >"$state/resolv.conf"
  cat >"$state/containerd/config.toml" <<TOML
version = 2
root = "$state/containerd/root"
state = "$state/containerd/state"
[grpc]
  address = "$state/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/stateful-apps/pause:$IMAGE_PAUSE_TAG"
  # This machine lacks CAP_SYS_RESOURCE: a negative oom_score_adj for the sandbox is refused otherwise.
  restrict_oom_score_adj = true
  disable_hugetlb_controller = true
  # The pods' network namespaces under our state, not /var/run/netns.
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$bin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/root/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
TOML
  cat >"$state/cni/net.d/10-pods.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "stateful-apps-$NODE_NAME",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$state/cni/ipam", "ranges": [[{ "subnet": "$POD_CIDR" }]],
                "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  cat >"$state/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# The API server calls the kubelet (logs, exec) without a client certificate (kwokctl sets none); the kubelet
# listens only on the node's address, which only this machine reaches.
authentication: { anonymous: { enabled: true }, webhook: { enabled: false } }
authorization: { mode: AlwaysAllow }
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
# This machine mounts cgroup v1 controllers; kubelet 1.34 still runs there when told to.
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$state/containerd/containerd.sock
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
resolvConf: $state/resolv.conf
podCIDR: $POD_CIDR
podLogsDir: $state/pod-logs
# A shared machine: evict only when it is really short, and never collect the imported images.
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
rotateCertificates: false
YAML
  cat >"$state/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: $state/node-kubeconfig.yaml }
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
clusterCIDR: $CLUSTER_POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
# Leave the machine-wide conntrack settings alone (nf_conntrack_max is not per namespace).
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
iptables: { localhostNodePorts: false }
YAML
  cat >"$state/Corefile" <<COREFILE
cluster.local:53 in-addr.arpa:53 {
    bind $NODE_IP
    errors
    kubernetes cluster.local in-addr.arpa {
        kubeconfig $state/node-kubeconfig.yaml
        pods insecure
        ttl 5
    }
    cache 5
}
# Nothing is forwarded: this node reaches no other DNS server.
.:53 {
    bind $NODE_IP
    errors
}
COREFILE
}

# Each node's volumes under its own state (the provisioner's helper pod makes the directory on the PV's node), so a
# node's 'down' takes its volumes with it; listed for every node that may come, since one provisioner serves all.
node_path_map() {
  local i sep=''
  for ((i = 0; i < MAX_NODES; i++)); do
    printf '%s{ "node": "real-node-%s", "paths": ["%s/local-path"] }' "$sep" "$i" "$(node_state "$i")"
    sep=', '
  done
}

# make_storage BIN: the StorageClass and its provisioner, once for the cluster (node 0's 'up').
make_storage() {
  local bin=$1
  # local-path-provisioner, out of the cluster like the control plane, with the admin's kubeconfig. Its helper
  # pods (busybox with a hostPath volume, in its own namespace) make each volume's directory on the node, mode
  # 0777, and remove it when the PV goes.
  kctl apply --server-side --force-conflicts --field-manager=scripts-real-node -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: local-path-storage
  labels: { pod-security.kubernetes.io/enforce: privileged }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: local-path-provisioner, namespace: local-path-storage }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: local-path-config, namespace: local-path-storage }
data:
  config.json: |
    { "nodePathMap": [ $(node_path_map) ] }
  setup: |
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "\$VOL_DIR"
  teardown: |
    #!/bin/sh
    set -eu
    rm -rf "\$VOL_DIR"
  helperPod.yaml: |
    apiVersion: v1
    kind: Pod
    metadata: { name: helper-pod }
    spec:
      priorityClassName: system-node-critical
      tolerations: [ { key: node.kubernetes.io/disk-pressure, operator: Exists, effect: NoSchedule } ]
      containers:
      - name: helper-pod
        image: localhost/stateful-apps/busybox:$(bash "$here/images" tag busybox)
        imagePullPolicy: Never
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  # The cluster's default class (scripts/cluster makes 'standard' the default only without real nodes).
  annotations: { defaultVolumeType: local, storageclass.kubernetes.io/is-default-class: "true" }
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: false
YAML
  start local-path-provisioner "$bin/local-path-provisioner" --debug start --kubeconfig "$admin_kubeconfig" \
    --namespace local-path-storage --configmap-name local-path-config \
    --service-account-name local-path-provisioner --provisioner-name rancher.io/local-path
}


# check_network_policies_kernel: refuses, before anything is made, a kernel without the nftables 'queue' expression
# (CONFIG_NFT_QUEUE), which the enforcer queues packets with: there every rule sync fails with "netlink receive: no
# such file or directory" and nothing is enforced (seen on 6.18.44-fc-v1272).
check_network_policies_kernel() {
  if [ -r /proc/config.gz ] && zcat /proc/config.gz | grep -qx '# CONFIG_NFT_QUEUE is not set'; then
    die "--network-policies: this kernel ($(uname -r)) is built without the nftables queue expression (CONFIG_NFT_QUEUE), which kube-network-policies $NODE_KUBE_NETWORK_POLICIES_VERSION needs; nothing could enforce NetworkPolicies here"
  fi
}

# prepare_network_policies: the ServiceAccount, RBAC and a token (7 days) for kube-network-policies on the node
# set_node chose, which runs in its network namespace (start_network_policies, by start_node_processes). The
# binary knows only in-cluster credentials (rest.InClusterConfig: /var/run/secrets/kubernetes.io/serviceaccount and
# KUBERNETES_SERVICE_HOST/PORT), so it runs in a mount namespace of its own with a tmpfs on /run holding a
# ServiceAccount token, and reaches the API server on the node's loopback (a forward to this machine's end of the
# veth), where the server certificate's name 'localhost' matches. Its nftables table lives in the node's network
# namespace and goes with it.
prepare_network_policies() {
  local dir=$state/network-policies
  mkdir -p "$dir"
  kctl apply --server-side --force-conflicts --field-manager=scripts-real-node -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: { name: kube-network-policies, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: kube-network-policies }
rules:
  - { apiGroups: [""], resources: [pods, namespaces, nodes], verbs: [list, watch] }
  - { apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: kube-network-policies }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-network-policies }
subjects: [ { kind: ServiceAccount, name: kube-network-policies, namespace: kube-system } ]
YAML
  kctl create token kube-network-policies -n kube-system --duration=168h >"$dir/token"
  kctl config view --raw --minify --flatten -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$dir/ca.crt"
  [ -s "$dir/token" ] && [ -s "$dir/ca.crt" ] || die "no token or CA for kube-network-policies in $dir"
}

# start_network_policies BIN: the enforcer, with what prepare_network_policies left in the node's state.
start_network_policies() {
  local bin=$1 dir=$state/network-policies
  start api-forward-node "${IN_NODE[@]}" "$bin/socat" "TCP-LISTEN:$API_FORWARD_PORT,bind=127.0.0.1,reuseaddr,fork" "TCP:$HOST_IP:$API_FORWARD_PORT"
  # shellcheck disable=SC2016 # $1 and $@ are the inner shell's
  start network-policies "${IN_NODE[@]}" unshare --mount --propagation private sh -c '
    mount -t tmpfs -o mode=0755,size=1m tmpfs /run &&
    mkdir -p /run/secrets/kubernetes.io/serviceaccount &&
    cp "$1/token" "$1/ca.crt" /run/secrets/kubernetes.io/serviceaccount/ &&
    shift && exec "$@"' sh "$dir" \
    env KUBERNETES_SERVICE_HOST=localhost KUBERNETES_SERVICE_PORT=$API_FORWARD_PORT \
    "$bin/kube-network-policies" --hostname-override "$NODE_NAME" --disable-nri --metrics-bind-address 127.0.0.1:9080 --v=2
}

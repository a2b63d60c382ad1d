# The real node's network and cgroups (sourced by scripts/real-node): its network namespace and veth, the fabric
# between nodes, the kubelet's fixed paths and the node's cgroup root. Each works on the node set_node chose and
# records what it makes outside the node's state with 'made', for 'down' to undo exactly that.
# shellcheck shell=bash

make_network() {
  [ -e "$netns_path" ] && die "the network namespace $NETNS exists already (another real node? scripts/real-node down)"
  ip link show "$HOST_IF" >/dev/null 2>&1 && die "the interface $HOST_IF exists already (scripts/real-node down)"
  ip netns add "$NETNS"; made netns
  ip link add "$HOST_IF" type veth peer name "$NODE_IF"; made link
  ip link set "$NODE_IF" netns "$NETNS"
  ip addr add "$HOST_IP/$LINK_CIDR" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  in_node ip link set lo up
  in_node ip addr add "$NODE_IP/$LINK_CIDR" dev "$NODE_IF"
  in_node ip link set "$NODE_IF" up
  # Service IPs need a route inside the node for kube-proxy's DNAT to apply to the node's own connections (the
  # route is looked up before the DNAT). On-link on the veth and with no gateway, one without endpoints goes
  # nowhere: nothing answers ARP for it on this machine's end. (This kernel has no dummy devices.)
  in_node ip route add "$SERVICE_CIDR" dev "$NODE_IF"
  # Per-namespace sysctls: the node routes between pods, Services and this machine; bridged traffic passes
  # iptables (kube-proxy's DNAT between pods on the one bridge).
  in_node sysctl -qw net.ipv4.ip_forward=1
  in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1
  ip route add "$POD_CIDR" via "$NODE_IP" dev "$HOST_IF"
  join_fabric
}

# The node's second veth, to the fabric's bridge (the fabric's namespace is made by the first node that needs it
# and removed by the last one's 'down'), and a route to every other node's pod range through that node.
join_fabric() {
  local j
  if [ ! -e "/run/netns/$FABRIC_NETNS" ]; then
    ip netns add "$FABRIC_NETNS"
    ip -n "$FABRIC_NETNS" link add "$FABRIC_BRIDGE" type bridge
    ip -n "$FABRIC_NETNS" link set "$FABRIC_BRIDGE" up
  fi
  # Both ends leave this machine's namespace at once. 'down' deletes the fabric's end itself: a namespace's
  # interfaces go asynchronously after 'ip netns del', too late for leave_fabric's look at the bridge.
  ip link add "$FABRIC_IF" type veth peer name "$FABRIC_PEER"; made fabric
  ip link set "$FABRIC_PEER" netns "$FABRIC_NETNS"
  ip link set "$FABRIC_IF" netns "$NETNS"
  ip -n "$FABRIC_NETNS" link set "$FABRIC_PEER" master "$FABRIC_BRIDGE" up
  in_node ip addr add "$(fabric_ip "$NODE_INDEX")/24" dev "$FABRIC_IF"
  in_node ip link set "$FABRIC_IF" up
  for ((j = 0; j < MAX_NODES; j++)); do
    [ "$j" = "$NODE_INDEX" ] || in_node ip route add "$(pod_cidr "$j")" via "$(fabric_ip "$j")" dev "$FABRIC_IF"
  done
}

# Removes the fabric's namespace once no node is on its bridge.
leave_fabric() {
  [ -e "/run/netns/$FABRIC_NETNS" ] || return 0
  [ -n "$(ip -n "$FABRIC_NETNS" -o link show master "$FABRIC_BRIDGE" 2>/dev/null)" ] || ip netns del "$FABRIC_NETNS"
}

# Paths the kubelet and containerd's CNI library use whatever they are told: /var/log/containers (the kubelet's
# links to the pods' logs) and /var/lib/cni (libcni's result cache). Remember which did not exist, to remove
# them again; in those that did, down removes only our entries.
note_fixed_paths() {
  local p
  for p in /var/log/containers /var/lib/cni; do [ -e "$p" ] || made "path $p"; done
}

make_cgroups() {
  local c
  for c in /sys/fs/cgroup/*/; do
    c=${c%/}
    [ -f "$c/cgroup.procs" ] || continue
    if [ ! -d "$c$CGROUP_ROOT" ]; then mkdir "$c$CGROUP_ROOT"; made "cgroup $c$CGROUP_ROOT"; fi
  done
  # cpuset: a child starts with no CPUs or memory nodes; give it the parent's.
  local cs=/sys/fs/cgroup/cpuset
  if [ -d "$cs$CGROUP_ROOT" ]; then
    cat "$cs/cpuset.cpus" >"$cs$CGROUP_ROOT/cpuset.cpus"
    cat "$cs/cpuset.mems" >"$cs$CGROUP_ROOT/cpuset.mems"
  fi
}


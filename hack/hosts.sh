#!/usr/bin/env bash
# N "hosts" on one machine, for multi-node tests and demos: each a network namespace with its own `berth agent`
# (its own data dir, runtime root, IP leases and container subnet) and an address on a host bridge. Each host routes
# the other hosts' container subnets through their addresses, so Containers on different hosts reach each other,
# and a Service's published port answers on every host's address. Each agent gives its address as --tunnel-address,
# so a user Network spans the hosts (each host's slice of its subnet, a VXLAN port on each host's bridge). Only addresses this script creates are used.
#
#   hack/hosts.sh net N [--id ID] [--registry PORT] [--forward PORT]   the bridge and N namespaces, no agents yet
#   hack/hosts.sh agents --server URL[,URL...] --token TOKEN [--id ID]  an agent in each (joins with the token)
#   hack/hosts.sh up N --server URL[,URL...] --token TOKEN [--id ID]    both
#   hack/hosts.sh kill I [--id ID]                                      kill -9 host I's agent
#   hack/hosts.sh down [--id ID]                                        stop them, remove everything
#   hack/hosts.sh addr [--id ID]                                        the bridge's address
#
# The API servers must listen where the hosts reach them: on the bridge's address (10.251.R.1, R from the id), so
# `net` first, then `berth up --listen 10.251.R.1:PORT`, then `agents`. --dir (default /tmp/berth-hosts-ID) holds
# the hosts' data and logs. --registry PORT: each host's 127.0.0.1:PORT leads to this machine's loopback registry
# there (hack/registry.sh), which agents pull from over plain HTTP as from any loopback registry. --forward PORT
# (repeatable) does the same for any other loopback TCP port of this machine, e.g. an API server on 127.0.0.1
# (its certificate names 127.0.0.1): `agents --server https://127.0.0.1:PORT`. Needs root, iproute2, nsenter,
# iptables.
# The agents are entered with nsenter --net (not `ip netns exec`, which remounts /sys without the cgroup tree).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:-}"
shift || true

n=""
if [[ "$cmd" == up || "$cmd" == net || "$cmd" == kill ]]; then
  n="${1:?hosts.sh $cmd needs a number}"
  shift
fi
id="${BERTH_HOSTS_ID:-}"
dir=""
server=""
token=""
forwards=()
while [[ $# -gt 0 ]]; do
  case "$1" in
  --id) id="$2"; shift 2 ;;
  --dir) dir="$2"; shift 2 ;;
  --server) server="$2"; shift 2 ;;
  --token) token="$2"; shift 2 ;;
  --registry | --forward) forwards+=("$2"); shift 2 ;;
  *) echo "hosts.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$id" ]]; then
  [[ "$cmd" == net || "$cmd" == up ]] || { echo "hosts.sh $cmd needs --id" >&2; exit 2; }
  id="$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
fi
[[ "$id" =~ ^[0-9a-f]{4}$ ]] || { echo "hosts.sh: --id must be 4 hex digits" >&2; exit 2; }
dir="${dir:-/tmp/berth-hosts-$id}"
# The subnets come from the id, so two sets of hosts (two ids) do not collide.
r=$((16#${id:0:2} ^ 16#${id:2:2}))
bridge="bh$id"
hostnet="10.251.$r"
ns() { echo "berth-h$id-$1"; }
# Host i's containers: 10.252.R.(32i)/27.
podnet() { echo "10.252.$r.$(($1 * 32))/27"; }
hostip() { echo "$hostnet.$((10 + $1))"; }

net() {
  ((n >= 1 && n <= 7)) || { echo "hosts.sh: 1 to 7 hosts" >&2; exit 2; }
  mkdir -p "$dir"
  echo "$n" >"$dir/count"
  ip link add "$bridge" type bridge
  ip addr add "$hostnet.1/24" dev "$bridge"
  ip link set "$bridge" up
  # Host-to-host traffic crosses the bridge; with br_netfilter loaded it meets FORWARD's policy.
  iptables -I FORWARD -i "$bridge" -o "$bridge" -j ACCEPT -m comment --comment "berth-hosts-$id"
  for i in $(seq 1 "$n"); do
    local netns veth
    netns="$(ns "$i")"
    veth="vh$id$i"
    ip netns add "$netns"
    ip link add "$veth" type veth peer name eth0 netns "$netns"
    ip link set "$veth" master "$bridge" up
    ip -n "$netns" link set lo up
    ip -n "$netns" addr add "$(hostip "$i")/24" dev eth0
    ip -n "$netns" link set eth0 up
    ip -n "$netns" route add default via "$hostnet.1"
    ip netns exec "$netns" sysctl -qw net.ipv4.ip_forward=1
    # This machine reaches every host's containers too (to look at them; the hosts do not need it).
    ip route add "$(podnet "$i")" via "$(hostip "$i")"
  done
  for i in $(seq 1 "$n"); do
    for j in $(seq 1 "$n"); do
      [[ "$i" == "$j" ]] || ip -n "$(ns "$i")" route add "$(podnet "$j")" via "$(hostip "$j")"
    done
  done
  if ((${#forwards[@]} > 0)); then
    forward "$hostnet.1" 127.0.0.1 >>"$dir/forwards.pid"
    for i in $(seq 1 "$n"); do
      BERTH_NETNS="$(ns "$i")" forward 127.0.0.1 "$hostnet.1" >>"$dir/forwards.pid"
    done
    # Ready once every forwarder listens (node takes a moment to start).
    for _ in $(seq 1 100); do (: <"/dev/tcp/$hostnet.1/${forwards[0]}") 2>/dev/null && break; sleep 0.1; done
    for i in $(seq 1 "$n"); do
      for _ in $(seq 1 100); do
        nsenter --net="/run/netns/$(ns "$i")" bash -c ": </dev/tcp/127.0.0.1/${forwards[0]}" 2>/dev/null && break
        sleep 0.1
      done
    done
  fi
  echo "hosts $id: bridge $bridge at $hostnet.1, $n namespaces"
}

# A TCP forwarder of every --forward/--registry port (node, in host $BERTH_NETNS when set): LISTEN_HOST TARGET_HOST;
# each LISTEN_HOST:PORT leads to TARGET_HOST:PORT. Prints its pid.
forward() {
  local ports code
  ports="$(IFS=,; echo "${forwards[*]}")"
  code="const n=require('net');for(const p of [$ports])n.createServer(c=>{const u=n.connect(p,'$2');c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy())}).listen(p,'$1')"
  if [[ -n "${BERTH_NETNS:-}" ]]; then
    nsenter --net="/run/netns/$BERTH_NETNS" node -e "$code" >/dev/null 2>&1 &
  else
    node -e "$code" >/dev/null 2>&1 &
  fi
  echo $!
}

agents() {
  [[ -n "$server" && -n "$token" ]] || { echo "hosts.sh agents needs --server and --token" >&2; exit 2; }
  n="$(cat "$dir/count")"
  for i in $(seq 1 "$n"); do start_agent "$i"; done
  for i in $(seq 1 "$n"); do
    local log="$dir/host$i.log"
    for _ in $(seq 1 600); do
      grep -q "is up" "$log" 2>/dev/null && break
      kill -0 "$(cat "$dir/host$i.pid")" 2>/dev/null || { echo "hosts.sh: host $i's agent died:" >&2; tail -5 "$log" >&2; exit 1; }
      sleep 0.2
    done
    grep -q "is up" "$log" || { echo "hosts.sh: host $i's agent did not start" >&2; exit 1; }
    echo "host$i: netns $(ns "$i"), address $(hostip "$i"), containers $(podnet "$i"), node host$i-$id"
  done
}

start_agent() {
  local i="$1"
  nsenter --net="/run/netns/$(ns "$i")" node "$repo/cli/dist/main.js" agent \
    --server "$server" --token "$token" --node-name "host$i-$id" \
    --data-dir "$dir/host$i" --runtime-root "/run/berth/hosts/$id/host$i/crun" \
    --pod-subnet "$(podnet "$i")" --tunnel-address "$(hostip "$i")" --lease-renew-interval "${BERTH_HOSTS_LEASE_RENEW:-2}" \
    --server-refresh-interval "${BERTH_HOSTS_SERVER_REFRESH:-30}" --log-level warn \
    >"$dir/host$i.log" 2>&1 &
  echo $! >"$dir/host$i.pid"
}

down() {
  local count=7
  [[ -f "$dir/count" ]] && count="$(cat "$dir/count")"
  for i in $(seq 1 "$count"); do
    [[ -f "$dir/host$i.pid" ]] && kill "$(cat "$dir/host$i.pid")" 2>/dev/null || true
  done
  if [[ -f "$dir/forwards.pid" ]]; then
    while read -r p; do kill "$p" 2>/dev/null || true; done <"$dir/forwards.pid"
    rm -f "$dir/forwards.pid"
  fi
  for i in $(seq 1 "$count"); do
    [[ -f "$dir/host$i.pid" ]] || continue
    for _ in $(seq 1 40); do kill -0 "$(cat "$dir/host$i.pid")" 2>/dev/null || break; sleep 0.25; done
  done
  # Containers the agents left (an agent's stop leaves them running, as kubelet's does): their conmon and crun state.
  for i in $(seq 1 "$count"); do
    local root="/run/berth/hosts/$id/host$i/crun"
    [[ -d "$root" ]] || continue
    for c in $(crun --root "$root" list -q 2>/dev/null); do crun --root "$root" delete -f "$c" >/dev/null 2>&1 || true; done
  done
  for i in $(seq 1 "$count"); do
    ip route del "$(podnet "$i")" 2>/dev/null || true
    ip netns del "$(ns "$i")" 2>/dev/null || true
  done
  # Mounts under the hosts' data dirs (overlays, netns bind mounts) go before the dirs.
  { grep -oE " ($dir|/run/berth/hosts/$id)/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  iptables -D FORWARD -i "$bridge" -o "$bridge" -j ACCEPT -m comment --comment "berth-hosts-$id" 2>/dev/null || true
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "/run/berth/hosts/$id"
  echo "hosts $id down (data left in $dir)"
}

case "$cmd" in
net) net ;;
agents) agents ;;
up) net && agents ;;
down) down ;;
kill) kill -9 "$(cat "$dir/host$n.pid")" ;;
addr) echo "$hostnet.1" ;;
*) sed -n '2,18p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac

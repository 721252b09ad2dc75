#!/usr/bin/env bash
# The high-availability demo on one machine: a 3-member etcd on loopback, 3 API servers on it (`berth up --store
# etcd://… --token`), 2 controller managers with leader election, and 3 hosts in network namespaces
# (hack/hosts.sh) whose agents joined with a bootstrap token and know all three servers. A 6-replica Service
# publishes port 18080 on every host; a client loop asks the hosts in turn every 100 ms while one of each is killed
# -9: the etcd leader, the API server everyone works through, the leading controller manager, one host's agent.
# After each, the berth CLI (its kubeconfig lists the three servers) writes and the Service converges again.
# Prints what happened and the client's count of failures and its longest outage. Needs root, crun, conmon, etcd.
#
#   hack/ha-demo.sh        (cli/ built: npx tsc -b; everything it starts is stopped and removed at the end;
#                           BERTH_DEMO_KEEP=1 keeps the logs in /tmp/berth-ha-demo-ID)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
berth() { node "$repo/cli/dist/main.js" "$@"; }
id="$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
dir="/tmp/berth-ha-demo-$id"
mkdir -p "$dir"
pids=()
t0=$(date +%s.%N)
say() { printf '[%6.1fs] %s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$*"; }
freeport() { node -e "const s=require('net').createServer().listen(0,'${1:-127.0.0.1}',()=>{console.log(s.address().port);s.close()})"; }
wait_for() { # SECONDS DESCRIPTION COMMAND...: until the command succeeds
  local deadline=$(($(date +%s) + $1)) what="$2"
  shift 2
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || { say "gave up waiting for $what"; return 1; }
    sleep 0.5
  done
}

cleanup() {
  set +e
  [[ -n "${client:-}" ]] && kill "$client" 2>/dev/null
  touch "$dir/stop"
  for i in 1 2; do [[ -f "$dir/controllers$i.pid" ]] && kill "$(cat "$dir/controllers$i.pid")" 2>/dev/null; done
  if [[ -n "${KUBECONFIG:-}" ]]; then
    berth service rm web >/dev/null 2>&1
  fi
  "$repo/hack/hosts.sh" down --id "$id" --dir "$dir/hosts" >/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  "$repo/hack/registry.sh" stop --port "$regport" --dir "$dir/registry" >/dev/null 2>&1
  if [[ -n "${BERTH_DEMO_KEEP:-}" ]]; then echo "logs kept in $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

# The image, in a loopback registry of the demo's own that each host reaches on its own 127.0.0.1.
regport=$(freeport)
"$repo/hack/registry.sh" start --port "$regport" --dir "$dir/registry" >/dev/null
"$repo/hack/busybox-image.sh" "127.0.0.1:$regport" >/dev/null
image="127.0.0.1:$regport/library/busybox:latest"
"$repo/hack/hosts.sh" net 3 --id "$id" --dir "$dir/hosts" --registry "$regport"
addr=$("$repo/hack/hosts.sh" addr --id "$id")

# etcd: three members on loopback.
declare -a client_port peer_port etcd_pid
cluster=""
for i in 1 2 3; do
  client_port[i]=$(freeport)
  peer_port[i]=$(freeport)
  cluster+="${cluster:+,}m$i=http://127.0.0.1:${peer_port[i]}"
done
for i in 1 2 3; do
  etcd --name "m$i" --data-dir "$dir/etcd$i" --log-level error \
    --listen-client-urls "http://127.0.0.1:${client_port[i]}" --advertise-client-urls "http://127.0.0.1:${client_port[i]}" \
    --listen-peer-urls "http://127.0.0.1:${peer_port[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peer_port[i]}" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "berth-demo-$id" \
    >"$dir/etcd$i.log" 2>&1 &
  etcd_pid[i]=$!
  pids+=($!)
done
endpoints="127.0.0.1:${client_port[1]},127.0.0.1:${client_port[2]},127.0.0.1:${client_port[3]}"
wait_for 60 "etcd" env ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint health
say "etcd: 3 members at $endpoints"

# Three API servers on it, on the hosts' bridge; the first seals the cluster's identity with the token.
token="demo-$id-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
declare -a url server_pid
for i in 1 2 3; do url[i]="https://$addr:$(freeport "$addr")"; done
servers="${url[1]},${url[2]},${url[3]}"
start_server() {
  local i="$1" others
  others=$(echo "$servers" | tr ',' '\n' | grep -v "^${url[i]}\$" | paste -sd,)
  # node itself in the background (not the berth function's subshell), so $! is the server's own pid.
  BERTH_TOKEN="$token" node "$repo/cli/dist/main.js" up --no-agent --no-controllers --log-level warn --data-dir "$dir/server$i" \
    --listen "${url[i]#https://}" --kubeconfig "$dir/server$i.kubeconfig" --store "etcd://$endpoints" \
    --servers "$others" >"$dir/server$i.log" 2>&1 &
  server_pid[i]=$!
  pids+=($!)
}
start_server 1
wait_for 120 "server 1" grep -q "berth is up" "$dir/server1.log"
start_server 2
start_server 3
wait_for 120 "servers 2 and 3" grep -q "berth is up" "$dir/server2.log" "$dir/server3.log"
wait_for 60 "server 3" grep -q "berth is up" "$dir/server3.log"
export KUBECONFIG="$dir/server1.kubeconfig" HOME="$dir"
say "API servers: $servers (one kubeconfig lists all three)"

# Two controller managers, each under a supervisor loop (as systemd's Restart=always: one that loses its Lease
# exits); Lease and node timings shorter than the defaults, so the demo takes minutes rather than ten.
supervise() {
  while [[ ! -e "$dir/stop" ]]; do
    node "$repo/cli/dist/main.js" controllers --kubeconfig "$dir/server1.kubeconfig" --leader-elect-lease-duration 8 \
      --leader-elect-renew-deadline 6 --leader-elect-retry-period 1 --node-monitor-grace-period 10 \
      --pod-eviction-timeout 2 --log-level info >>"$dir/controllers$1.log" 2>&1 &
    echo $! >"$dir/controllers$1.pid"
    wait $! || true
  done
}
for i in 1 2; do
  supervise "$i" 2>/dev/null &
  pids+=($!)
done
holder() { kubectl --kubeconfig "$dir/server$1.kubeconfig" -n kube-system get lease berth-controller-manager -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
has_holder() { [[ -n "$(holder 1)" ]]; }
wait_for 90 "a controller leader" has_holder

# Three hosts join with a bootstrap token, knowing the three servers.
"$repo/hack/hosts.sh" agents --id "$id" --dir "$dir/hosts" --server "$servers" --token "$(berth token create)" | sed 's/^/  /'
say "3 hosts joined"

berth service create --name web --replicas 6 -p 18080:8080 "$image" sh -c 'hostname > /index.html; exec httpd -f -p 8080 -h /' >"$dir/create.log" 2>&1 ||
  { tail -3 "$dir/create.log"; exit 1; }
say "Service web: $(tail -1 "$dir/create.log")"
kubectl get containers -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,IP:.status.ips[0].ip --no-headers | sed 's/^/  /'

# The client: every 100 ms one GET to the next host's published port; a line per failure and per second.
node -e "
const http = require('http');
const hosts = process.argv.slice(1);
let n = 0, ok = 0, failed = 0, lastOk = Date.now(), worst = 0;
const seen = new Set();
setInterval(() => {
  const host = hosts[n++ % hosts.length];
  const req = http.get({ host, port: 18080, path: '/index.html', timeout: 1000 }, (res) => {
    let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => { ok++; seen.add(body.trim()); lastOk = Date.now(); });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => { failed++; worst = Math.max(worst, Date.now() - lastOk); });
}, 100);
setInterval(() => console.log(JSON.stringify({ ok, failed, worstOutageMs: Math.max(worst, 0), replicasAnswered: seen.size })), 1000);
" "${addr%.1}.11" "${addr%.1}.12" "${addr%.1}.13" >"$dir/client.log" &
client=$!
sleep 3
say "client: $(tail -1 "$dir/client.log")"

check() { # after a kill: a write through the CLI, and the Service at 6 Ready replicas again
  local t1
  t1=$(date +%s.%N)
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after-%s}\n' "$1" | berth apply -f - >/dev/null || say "  WRITE FAILED"
  say "  berth apply through the kubeconfig's servers: ok ($(echo "$(date +%s.%N) - $t1" | bc | cut -c1-4) s)"
  timeout 120 node "$repo/cli/dist/main.js" service scale web=7 >/dev/null || say "  SCALE TO 7 FAILED"
  timeout 120 node "$repo/cli/dist/main.js" service scale web=6 >/dev/null || say "  SCALE TO 6 FAILED"
  say "  scaled to 7 and back: converged ($(echo "$(date +%s.%N) - $t1" | bc | cut -c1-4) s); client: $(tail -1 "$dir/client.log")"
}

leader=$(ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint status -w json |
  node -e "const s=JSON.parse(require('fs').readFileSync(0));const l=s.find(e=>e.Status.leader===e.Status.header.member_id);console.log(l.Endpoint)")
for i in 1 2 3; do [[ "127.0.0.1:${client_port[i]}" == "${leader#http://}" ]] && lead=$i; done
say "kill -9 the etcd leader (member m$lead)"
kill -9 "${etcd_pid[lead]}"
wait "${etcd_pid[lead]}" 2>/dev/null || true
check etcd 2

say "kill -9 API server 1 (the agents' and the controllers' server, the kubeconfig's first)"
kill -9 "${server_pid[1]}"
wait "${server_pid[1]}" 2>/dev/null || true
! kill -0 "${server_pid[1]}" 2>/dev/null || { say "server 1 still runs"; exit 1; }
check server 2

h=$(holder 2)
# pino's lines carry the process id: the one that logged the holder's identity leads.
lpid=$(grep -h "\"identity\":\"$h\"" "$dir"/controllers?.log | head -1 | node -e "console.log(JSON.parse(require('fs').readFileSync(0)).pid)")
say "kill -9 the leading controller manager ($h, pid $lpid)"
kill -9 "$lpid"
wait_for 30 "the standby to lead" sh -c "[ \"\$(kubectl --kubeconfig $dir/server2.kubeconfig -n kube-system get lease berth-controller-manager -o jsonpath='{.spec.holderIdentity}')\" != '$h' ]"
say "  the standby holds the Lease: $(holder 2)"
check controllers 2

say "kill -9 host 1's agent (its replicas keep running; its Node goes NotReady, its replicas are made again elsewhere)"
"$repo/hack/hosts.sh" kill 1 --id "$id" --dir "$dir/hosts"
wait_for 60 "host 1 NotReady" sh -c "kubectl --kubeconfig $dir/server2.kubeconfig get node host1-$id --no-headers | grep -q NotReady"
say "  node host1-$id NotReady"
check agent 3
kubectl --kubeconfig "$dir/server3.kubeconfig" get nodes --no-headers | sed 's/^/  /'
sleep 2
say "client at the end: $(tail -1 "$dir/client.log")"

#!/bin/sh
# Starts or stops Debian's docker-registry on 127.0.0.1 for tests, the README and benchmarks. Idempotent.
#
#   hack/registry.sh start [--port P] [--dir D] [--htpasswd FILE] [--tls CERT KEY]
#                          [--token REALM SERVICE ISSUER ROOTCERTBUNDLE]
#   hack/registry.sh stop  [--port P] [--dir D]
#   hack/registry.sh status [--port P] [--dir D]
#
# State (config, storage, pid file, log) lives in D, by default /tmp/berth-registry-P, so registries on
# different ports never share anything. `start` returns once /v2/ answers and prints the address; if a
# registry already runs on that port and dir it is left as is (stop it first to change its auth or TLS).
set -eu

cmd=${1:-}
[ -n "$cmd" ] && shift
port=5000
dir=""
htpasswd=""
tls_cert=""
tls_key=""
token_realm=""
token_service=""
token_issuer=""
token_roots=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --htpasswd) htpasswd=$2; shift 2 ;;
    --tls) tls_cert=$2; tls_key=$3; shift 3 ;;
    --token) token_realm=$2; token_service=$3; token_issuer=$4; token_roots=$5; shift 5 ;;
    *) echo "registry.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$dir" ] || dir="/tmp/berth-registry-$port"
pidfile="$dir/registry.pid"
scheme=http
[ -n "$tls_cert" ] && scheme=https

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

answers() {
  # Any HTTP status counts (401 with auth on): the server is up.
  code=$(curl -s -k -o /dev/null -w '%{http_code}' --max-time 2 "$scheme://127.0.0.1:$port/v2/" || true)
  [ -n "$code" ] && [ "$code" != 000 ]
}

abspath() {
  case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac
}

case "$cmd" in
  start)
    if running && answers; then
      echo "127.0.0.1:$port"
      exit 0
    fi
    [ -x /usr/bin/docker-registry ] || "$(dirname "$0")/install-debian-deps.sh"
    mkdir -p "$dir/storage"
    {
      echo "version: 0.1"
      echo "log:"
      echo "  level: warn"
      echo "  accesslog: {disabled: true}"
      echo "storage:"
      echo "  filesystem: {rootdirectory: $(abspath "$dir")/storage}"
      echo "  delete: {enabled: true}"
      echo "  cache: {blobdescriptor: inmemory}"
      echo "http:"
      echo "  addr: 127.0.0.1:$port"
      # A fixed secret: the registry only uses it to sign upload state, and a random one per start
      # would break uploads resumed across a restart.
      echo "  secret: berth-test-registry"
      if [ -n "$tls_cert" ]; then
        echo "  tls:"
        echo "    certificate: $(abspath "$tls_cert")"
        echo "    key: $(abspath "$tls_key")"
      fi
      if [ -n "$htpasswd" ]; then
        echo "auth:"
        echo "  htpasswd: {realm: berth-registry, path: $(abspath "$htpasswd")}"
      elif [ -n "$token_realm" ]; then
        echo "auth:"
        echo "  token: {realm: \"$token_realm\", service: \"$token_service\", issuer: \"$token_issuer\", rootcertbundle: $(abspath "$token_roots")}"
      fi
    } >"$dir/config.yml"
    running && kill "$(cat "$pidfile")" 2>/dev/null || true
    # setsid: the registry must outlive this script and not get the caller's terminal signals.
    setsid /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    i=0
    while ! answers; do
      i=$((i + 1))
      if ! running || [ $i -gt 100 ]; then
        echo "registry.sh: registry on port $port did not start; log:" >&2
        cat "$dir/registry.log" >&2
        exit 1
      fi
      sleep 0.05
    done
    echo "127.0.0.1:$port"
    ;;
  stop)
    if running; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      i=0
      # Short grace: the registry writes blobs by rename, so a kill never leaves a torn one.
      while kill -0 "$pid" 2>/dev/null && [ $i -lt 6 ]; do sleep 0.05; i=$((i + 1)); done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    ;;
  status)
    if running && answers; then echo "running 127.0.0.1:$port"; else echo "stopped"; exit 1; fi
    ;;
  *)
    echo "usage: hack/registry.sh start|stop|status [--port P] [--dir D] [--htpasswd F] [--tls CERT KEY] [--token REALM SERVICE ISSUER ROOTS]" >&2
    exit 2
    ;;
esac

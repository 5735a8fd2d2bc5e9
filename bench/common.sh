# Sourced by the bench/*.sh scripts: the release build, a temporary directory, and the processes
# a script starts, all stopped and removed on exit; plus the HAProxy baseline and the gateway
# config the gateway benchmarks share. Every server listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -q -p bts-infra
B=target/release/bts-infra
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# Command prefixes for PIN=1: node and load generator on CPU 0, the proxies on CPU 1. Arrays, not
# a wrapper function, so that `$!` after a backgrounded command is the process itself.
cpu0=() cpu1=()
if [ -n "${PIN:-}" ]; then
  [ "$(nproc)" -ge 2 ] || { echo "error: PIN=1 needs 2 CPUs" >&2; exit 2; }
  cpu0=(taskset -c 0) cpu1=(taskset -c 1)
fi

need_haproxy() { command -v haproxy >/dev/null || { echo "error: haproxy not installed (apt-get install haproxy)" >&2; exit 2; }; }

# start_haproxy LISTEN NODE: HAProxy in TCP mode from LISTEN to NODE; sets haproxy_pid.
start_haproxy() {
  cat >"$tmp/haproxy.cfg" <<CFG
global
  maxconn 8192
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind $1
  default_backend be
backend be
  server node $2
CFG
  "${cpu1[@]}" haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
  haproxy_pid=$!
  pids+=($!)
}

# gateway_config LISTEN NODE [own]: a one-upstream gateway config with limits out of the way
# (`own`: share_connections = false).
gateway_config() {
  echo "listen = \"$1\""
  printf '[[upstreams]]\nname = "node0"\nurl = "ws://%s"\n' "$2"
  printf '[limits]\nmax_connections_per_ip = 4096\nrequests_per_second_per_ip = 10000000\nburst_per_ip = 10000000\n'
  if [ "${3:-}" = own ]; then printf '[sessions]\nshare_connections = false\n'; fi
}

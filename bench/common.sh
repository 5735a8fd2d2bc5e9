# Sourced by the bench/*.sh scripts: the release build, a temporary directory, and the processes
# a script starts, all stopped and removed on exit; plus the HAProxy baseline and the gateway
# config the gateway benchmarks share. Every server listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -q -p bts-infra
B=target/release/bts-infra
tmp=$(mktemp -d)
pids=()
# (CONT first: a stopped process would not act on the TERM, and `wait` would hang.)
cleanup() { for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# Command prefixes for PIN=1: node and load generator on CPU 0, the proxies on CPU 1. Arrays, not
# a wrapper function, so that `$!` after a backgrounded command is the process itself.
cpu0=() cpu1=()
if [ -n "${PIN:-}" ]; then
  [ "$(nproc)" -ge 2 ] || { echo "error: PIN=1 needs 2 CPUs" >&2; exit 2; }
  cpu0=(taskset -c 0) cpu1=(taskset -c 1)
fi

need_haproxy() { command -v haproxy >/dev/null || { echo "error: haproxy not installed (apt-get install haproxy)" >&2; exit 2; }; }

# start_haproxy LISTEN NODE [busy]: HAProxy in TCP mode from LISTEN to NODE (`busy`: with its
# `busy-polling` option); sets haproxy_pid.
start_haproxy() {
  local busy=${3:-}
  cat >"$tmp/haproxy$busy.cfg" <<CFG
global
  maxconn 8192
  ${busy:+busy-polling}
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
  "${cpu1[@]}" haproxy -f "$tmp/haproxy$busy.cfg" -db >"$tmp/haproxy$busy.log" 2>&1 &
  haproxy_pid=$!
  pids+=($!)
}

# gateway_config LISTEN NODE [OPTIONS]: a one-upstream gateway config with limits out of the
# way. OPTIONS, comma-separated: `own` (share_connections = false), `spin=N` (busy_poll_us = N).
gateway_config() {
  echo "listen = \"$1\""
  case ",${3:-}," in *,spin=*) s=${3#*spin=}; echo "busy_poll_us = ${s%%,*}" ;; esac
  printf '[[upstreams]]\nname = "node0"\nurl = "ws://%s"\n' "$2"
  printf '[limits]\nmax_connections_per_ip = 4096\nrequests_per_second_per_ip = 10000000\nburst_per_ip = 10000000\n'
  case ",${3:-}," in *,own,*) printf '[sessions]\nshare_connections = false\n' ;; esac
}

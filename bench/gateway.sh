#!/usr/bin/env bash
# Gateway benchmark, one run, three paths to the same devnet node on loopback:
#   direct → the node;  haproxy → HAProxy (TCP mode) → the node;  gateway → bts-infra gateway → the node.
# Over WebSocket, then over HTTP JSON-RPC, for 1, 64 and 512 connections it prints msgs/s and
# p50/p99 latency per path, the ratios against direct and gateway ÷ HAProxy, and the CPU time the proxy process itself spent per message
# (user + system, from /proc: the load generator and the node share the same 2 cores, so CPU per
# message is what decides throughput). Everything listens on 127.0.0.1 and stops at the end.
# Usage: bench/gateway.sh   (needs haproxy: apt-get install haproxy)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v haproxy >/dev/null || { echo "error: haproxy not installed (apt-get install haproxy)" >&2; exit 2; }
cargo build --release -q -p bts-infra
B=target/release/bts-infra
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

NODE=127.0.0.1:18190 HAPROXY=127.0.0.1:18191 GATEWAY=127.0.0.1:18192
$B devnet --nodes 1 --block-interval 3 --listen $NODE --admin-listen 127.0.0.1:18189 >"$tmp/devnet.out" 2>"$tmp/devnet.err" &
pids+=($!)
cat >"$tmp/haproxy.cfg" <<CFG
global
  maxconn 8192
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind $HAPROXY
  default_backend be
backend be
  server node $NODE
CFG
haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
pids+=($!)
haproxy_pid=$!
cat >"$tmp/gateway.toml" <<CFG
listen = "$GATEWAY"
[[upstreams]]
name = "node0"
url = "ws://$NODE"
[limits]
max_connections_per_ip = 4096
requests_per_second_per_ip = 10000000
burst_per_ip = 10000000
CFG
RUST_LOG=warn $B gateway --config "$tmp/gateway.toml" >"$tmp/gateway.out" 2>"$tmp/gateway.err" &
pids+=($!)
gateway_pid=$!
# CPU ticks (user + system) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
sleep 4

# WebSocket first (the issue's target), then HTTP JSON-RPC: the node closes every HTTP connection
# after its response (as witness_node does), so HTTP clients reconnect per call, direct and
# through HAProxy; the gateway keeps client connections alive and talks WebSocket upstream.
for proto in ws http; do
printf "%-5s %-8s %6s %12s %10s %10s %14s\n" proto path conns "msgs/s" "p50 ms" "p99 ms" "proxy µs/msg"
for conns in 1 64 512; do
  if [ $proto = ws ]; then
    case $conns in 1) msgs=20000 ;; 64) msgs=300 ;; *) msgs=40 ;; esac
  else
    # Fewer: direct and HAProxy calls each leave a TCP connection in TIME_WAIT.
    case $conns in 1) msgs=5000 ;; 64) msgs=60 ;; *) msgs=10 ;; esac
  fi
  for path in direct haproxy gateway; do
    case $path in direct) addr=$NODE ;; haproxy) addr=$HAPROXY ;; gateway) addr=$GATEWAY ;; esac
    case $path in haproxy) proxy=$haproxy_pid ;; gateway) proxy=$gateway_pid ;; *) proxy= ;; esac
    before=${proxy:+$(cpu_ticks "$proxy")}
    r=$($B bench --url "$proto://$addr" --connections $conns --messages $msgs --timeout 120 --json)
    after=${proxy:+$(cpu_ticks "$proxy")}
    echo "$r" >"$tmp/$path-$conns.json"
    python3 - "$proto" "$path" "$conns" "$r" "${before:-}" "${after:-}" "$tck" <<'PY'
import json, sys
proto, path, conns, r = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
cpu = "-"
if sys.argv[5] and r['completed']:
    cpu = f"{(int(sys.argv[6]) - int(sys.argv[5])) / int(sys.argv[7]) * 1e6 / r['completed']:.1f}"
print(f"{proto:<5} {path:<8} {conns:>6} {r['messages_per_second']:>12.0f} {r['p50_ms']:>10.3f} {r['p99_ms']:>10.3f} {cpu:>14}" + (f"   ({r['failed']} failed)" if r['failed'] else ""))
PY
  done
  python3 - "$tmp" "$conns" <<'PY'
import json, sys
tmp, conns = sys.argv[1], sys.argv[2]
d = {p: json.load(open(f"{tmp}/{p}-{conns}.json")) for p in ("direct", "haproxy", "gateway")}
for p in ("haproxy", "gateway"):
    print(f"  {p}/direct: throughput {d[p]['messages_per_second']/d['direct']['messages_per_second']:.2f}x, "
          f"added p50 {d[p]['p50_ms']-d['direct']['p50_ms']:+.3f} ms, added p99 {d[p]['p99_ms']-d['direct']['p99_ms']:+.3f} ms")
g, h = d['gateway'], d['haproxy']
print(f"  gateway/haproxy: throughput {g['messages_per_second']/h['messages_per_second']:.2f}x, p99 {g['p99_ms']-h['p99_ms']:+.3f} ms")
PY
done
done

#!/usr/bin/env bash
# Gateway II benchmarks, one run on loopback:
#   1. failover: a session subscribed to 2.1.0 through the gateway; its node is refused N times;
#      time from the refusal to the first notice on the same (moved) socket, p50/p99/max;
#   2. cached get_block of an irreversible block: gateway (served from its cache) vs the node
#      directly, msgs/s and p50/p99 at 1 and 64 connections;
#   3. gateway resident memory per idle subscribed session at 1,000 and 9,000 sessions.
# Everything listens on 127.0.0.1 and is stopped at the end.
# Usage: bench/sessions.sh [FAILOVERS]   (default 100)
FAILOVERS=${1:-100}
source "$(dirname "$0")/common.sh"

ADMIN=127.0.0.1:18289 NODE0=127.0.0.1:18290 GATEWAY=127.0.0.1:18299

gateway_config() { # $1 = number of nodes
  {
    echo "listen = \"$GATEWAY\""
    for i in $(seq 0 $(($1 - 1))); do
      printf '[[upstreams]]\nname = "node%d"\nurl = "ws://127.0.0.1:%d"\n' "$i" $((18290 + i))
    done
    cat <<CFG
[health]
interval_ms = 200
timeout_ms = 1000
rise = 2
fall = 3
[limits]
max_connections = 19000
max_connections_per_ip = 19000
requests_per_second_per_ip = 10000000
burst_per_ip = 10000000
idle_timeout_secs = 3600
CFG
  } >"$tmp/gateway.toml"
}
start_devnet() { # $1 nodes, $2 block interval
  $B devnet --nodes "$1" --block-interval "$2" --listen $NODE0 --admin-listen $ADMIN >"$tmp/devnet.out" 2>"$tmp/devnet.err" &
  DEVNET=$!; pids+=($DEVNET)
}
start_gateway() {
  RUST_LOG=warn $B gateway --config "$tmp/gateway.toml" >"$tmp/gateway.out" 2>"$tmp/gateway.err" &
  GW=$!; pids+=($GW)
  for _ in $(seq 50); do curl -sf "http://$GATEWAY/health" >/dev/null && return; sleep 0.2; done
  echo "gateway did not become healthy" >&2; cat "$tmp/gateway.err" >&2; exit 1
}

echo "== 1. failover ($FAILOVERS times, 3 nodes, 1 s blocks)"
start_devnet 3 1
gateway_config 3
sleep 2
start_gateway
sleep 2
$B bench-failover --gateway ws://$GATEWAY --devnet-admin http://$ADMIN --count "$FAILOVERS"

echo "== 2. cached get_block (irreversible) vs the node"
# The newest irreversible block (at least block 1, which exists once the chain has started).
lib=0
for _ in $(seq 50); do
  lib=$(curl -s -d '{"id":1,"method":"call","params":["database","get_dynamic_global_properties",[]]}' "http://$NODE0" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["last_irreversible_block_num"])')
  [ "$lib" -ge 1 ] && break
  sleep 0.5
done
echo "block $lib (irreversible)"
printf "%-8s %6s %12s %10s %10s\n" path conns "msgs/s" "p50 ms" "p99 ms"
for conns in 1 64; do
  case $conns in 1) msgs=3000 ;; *) msgs=150 ;; esac
  for path in direct gateway; do
    case $path in direct) url=ws://$NODE0 ;; gateway) url=ws://$GATEWAY ;; esac
    r=$($B bench --url "$url" --connections $conns --messages $msgs --method get_block --params "[$lib]" --timeout 120 --json)
    echo "$r" >"$tmp/$path-$conns.json"
    python3 - "$path" "$conns" "$r" <<'PY'
import json, sys
path, conns, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(f"{path:<8} {conns:>6} {r['messages_per_second']:>12.0f} {r['p50_ms']:>10.3f} {r['p99_ms']:>10.3f}" + (f"   ({r['failed']} failed)" if r['failed'] else ""))
PY
  done
  python3 - "$tmp" "$conns" <<'PY'
import json, sys
tmp, conns = sys.argv[1], sys.argv[2]
d = {p: json.load(open(f"{tmp}/{p}-{conns}.json")) for p in ("direct", "gateway")}
print(f"  gateway/direct: throughput {d['gateway']['messages_per_second']/d['direct']['messages_per_second']:.2f}x, "
      f"p50 {d['gateway']['p50_ms']-d['direct']['p50_ms']:+.3f} ms, p99 {d['gateway']['p99_ms']-d['direct']['p99_ms']:+.3f} ms")
PY
done
curl -s "http://$GATEWAY/stats.json" | python3 -c 'import json,sys; print("  cache:", json.load(sys.stdin)["cache"])'
kill $GW $DEVNET; wait $GW $DEVNET 2>/dev/null || true

echo "== 3. memory per idle subscribed session (1 node, 5 s blocks)"
start_devnet 1 5
gateway_config 1
sleep 2
for count in 1000 9000; do
  start_gateway
  sleep 1
  $B bench-sessions --url ws://$GATEWAY --pid "$GW" --count $count --settle 5
  kill $GW; wait $GW 2>/dev/null || true
done

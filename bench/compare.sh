#!/usr/bin/env bash
# A/B of gateway builds against HAProxy, in one sitting: one devnet node, HAProxy (TCP mode) and
# one gateway per NAME=BINARY[:OPTIONS] argument, all in front of that node. OPTIONS, comma-
# separated: `own` (share_connections = false), `spin=N` (busy_poll_us = N). HAPROXY_BUSY=1 adds
# a second HAProxy with its `busy-polling` option (row `haproxy-busy`; it spins on every thread
# even when idle, so it is kept stopped (SIGSTOP) outside its own turns). ROUNDS rounds; in each,
# `bts-infra bench` runs over every path in turn.
# Prints per path the medians of msgs/s, p50/p99 and the proxy's user/system CPU per message
# (from /proc), the ratio to HAProxy, and every round's msgs/s. Everything listens on 127.0.0.1
# and stops at the end. The devnet node and the load generator are this checkout's release build.
# Usage: bench/compare.sh old=/tmp/bts-infra-old new=target/release/bts-infra
#   ROUNDS=10 CONNS=1 MSGS=5000 PROTO=ws|http PIN=1 bench/compare.sh …   (defaults 6, 1, 4000, ws; MSGS: calls per connection)
#   INTERVAL_MS=N: each connection sends one call per N ms (light steady load: compare CPU/msg).
#   PIN=1: node + load generator on CPU 0, the proxies on CPU 1 (taskset).
[ $# -ge 1 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
source "$(dirname "$0")/common.sh"
need_haproxy
ROUNDS=${ROUNDS:-6} CONNS=${CONNS:-1} MSGS=${MSGS:-4000} PROTO=${PROTO:-ws} INTERVAL_MS=${INTERVAL_MS:-0}

NODE=127.0.0.1:18290 HAPROXY=127.0.0.1:18291
"${cpu0[@]}" $B devnet --nodes 1 --block-interval 3 --listen $NODE --admin-listen 127.0.0.1:18289 >"$tmp/devnet.log" 2>&1 &
pids+=($!)
start_haproxy $HAPROXY $NODE
names=(haproxy) urls=("$PROTO://$HAPROXY") proxies=($haproxy_pid)
if [ -n "${HAPROXY_BUSY:-}" ]; then
  start_haproxy 127.0.0.1:18292 $NODE busy
  names+=(haproxy-busy) urls+=("$PROTO://127.0.0.1:18292") proxies+=($haproxy_pid)
  busy_pid=$haproxy_pid
fi
port=18300
for spec in "$@"; do
  name=${spec%%=*} rest=${spec#*=}
  bin=${rest%%:*} opt=
  [ "$bin" != "$rest" ] && opt=${rest#*:}
  [ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 2; }
  port=$((port + 1))
  gateway_config "127.0.0.1:$port" $NODE "$opt" >"$tmp/$name.toml"
  RUST_LOG=warn "${cpu1[@]}" "$bin" gateway --config "$tmp/$name.toml" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name") urls+=("$PROTO://127.0.0.1:$port") proxies+=($!)
done
sleep 3
[ -n "${busy_pid:-}" ] && kill -STOP "$busy_pid"
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
for _ in $(seq "$ROUNDS"); do
  for i in "${!names[@]}"; do
    [ "${names[$i]}" = haproxy-busy ] && { kill -CONT "$busy_pid"; sleep 0.2; }
    before=$(ticks "${proxies[$i]}")
    r=$("${cpu0[@]}" $B bench --url "${urls[$i]}" --connections "$CONNS" --messages "$MSGS" --interval-ms "$INTERVAL_MS" --timeout 120 --json)
    after=$(ticks "${proxies[$i]}")
    [ "${names[$i]}" = haproxy-busy ] && kill -STOP "$busy_pid"
    echo "${names[$i]} $before $after $r" >>"$tmp/runs"
  done
done
python3 - "$tmp/runs" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
tck, rows = int(sys.argv[2]), {}
for line in open(sys.argv[1]):
    name, u0, s0, u1, s1, js = line.split(" ", 5)
    r = json.loads(js)
    n = max(r["completed"], 1)
    per = lambda a, b: (int(b) - int(a)) / tck * 1e6 / n
    rows.setdefault(name, []).append((r["messages_per_second"], r["p50_ms"], r["p99_ms"], per(u0, u1), per(s0, s1), r["failed"]))
base = statistics.median(x[0] for x in rows["haproxy"])
for name, v in rows.items():
    m = lambda k: statistics.median(x[k] for x in v)
    failed = sum(x[5] for x in v)
    print(f"{name:10} {m(0):8.0f}/s ({m(0)/base:4.2f}x haproxy)  p50 {m(1):.3f} p99 {m(2):.3f} ms  "
          f"user {m(3):5.1f} sys {m(4):5.1f} µs/msg  rounds: {' '.join(str(int(x[0])) for x in v)}"
          + (f"  ({failed} failed)" if failed else ""))
PY

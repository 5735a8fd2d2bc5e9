#!/usr/bin/env bash
# Gateway benchmark, one run, three paths to the same devnet node on loopback:
#   direct → the node;  haproxy → HAProxy (TCP mode) → the node;  gateway → bts-infra gateway → the node.
# Over WebSocket, then over HTTP JSON-RPC, for 1, 64 and 512 connections it measures msgs/s and
# p50/p99 latency per path, and the CPU time the proxy process itself spent per message (user +
# system, from /proc: the load generator and the node share the same 2 cores, so CPU per message
# is what decides throughput). This machine's speed drifts within minutes, so each point is
# measured ROUNDS times with the three paths interleaved, and the medians are reported, with the
# gateway ÷ HAProxy ratio of every round beside them. Everything listens on 127.0.0.1 and stops
# at the end.
# Usage: bench/gateway.sh            (needs haproxy: apt-get install haproxy)
#   ROUNDS=9 bench/gateway.sh        rounds per point (default 5)
#   PIN=1 bench/gateway.sh           node and load generator on CPU 0, the proxy on CPU 1 (taskset):
#                                    the proxies compared on a core of their own
#   SPIN=0 bench/gateway.sh          the gateway with busy_poll_us = 0 (busy polling off; default: the
#                                    gateway's default, adaptive up to 200 µs; SPIN=N sets N. HAProxy
#                                    stays at its defaults; bench/compare.sh HAPROXY_BUSY=1 compares
#                                    with HAProxy's busy-polling)
source "$(dirname "$0")/common.sh"
need_haproxy
ROUNDS=${ROUNDS:-5}

NODE=127.0.0.1:18190 HAPROXY=127.0.0.1:18191 GATEWAY=127.0.0.1:18192
"${cpu0[@]}" $B devnet --nodes 1 --block-interval 3 --listen $NODE --admin-listen 127.0.0.1:18189 >"$tmp/devnet.out" 2>"$tmp/devnet.err" &
pids+=($!)
start_haproxy $HAPROXY $NODE
gateway_config $GATEWAY $NODE "${SPIN:+spin=$SPIN}" >"$tmp/gateway.toml"
RUST_LOG=warn "${cpu1[@]}" $B gateway --config "$tmp/gateway.toml" >"$tmp/gateway.out" 2>"$tmp/gateway.err" &
pids+=($!)
gateway_pid=$!
# CPU ticks (user + system) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
sleep 4
echo "rounds per point: $ROUNDS${PIN:+; pinned: node and load generator on CPU 0, proxy on CPU 1}${SPIN:+; gateway busy_poll_us = $SPIN}"

# WebSocket first (the issue's target), then HTTP JSON-RPC: the node closes every HTTP connection
# after its response (as witness_node does), so HTTP clients reconnect per call, direct and
# through HAProxy; the gateway keeps client connections alive and talks WebSocket upstream.
for proto in ws http; do
printf "%-5s %-8s %6s %12s %10s %10s %14s\n" proto path conns "msgs/s" "p50 ms" "p99 ms" "proxy µs/msg"
for conns in 1 64 512; do
  if [ $proto = ws ]; then
    case $conns in 1) msgs=8000 ;; 64) msgs=200 ;; *) msgs=30 ;; esac
  else
    # Fewer: direct and HAProxy calls each leave a TCP connection in TIME_WAIT.
    case $conns in 1) msgs=2000 ;; 64) msgs=30 ;; *) msgs=6 ;; esac
  fi
  : >"$tmp/runs"
  for round in $(seq "$ROUNDS"); do
    for path in direct haproxy gateway; do
      case $path in direct) addr=$NODE ;; haproxy) addr=$HAPROXY ;; gateway) addr=$GATEWAY ;; esac
      case $path in haproxy) proxy=$haproxy_pid ;; gateway) proxy=$gateway_pid ;; *) proxy= ;; esac
      before=${proxy:+$(cpu_ticks "$proxy")}
      r=$("${cpu0[@]}" $B bench --url "$proto://$addr" --connections $conns --messages $msgs --timeout 120 --json)
      after=${proxy:+$(cpu_ticks "$proxy")}
      echo "$path ${before:--} ${after:--} $r" >>"$tmp/runs"
    done
  done
  python3 - "$proto" "$conns" "$tck" "$tmp/runs" <<'PY'
import json, statistics, sys
proto, conns, tck = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = {}
for line in open(sys.argv[4]):
    path, before, after, js = line.split(" ", 3)
    r = json.loads(js)
    cpu = None
    if before != "-" and r["completed"]:
        cpu = (int(after) - int(before)) / tck * 1e6 / r["completed"]
    runs.setdefault(path, []).append((r, cpu))
med = {}
for path, rs in runs.items():
    m = lambda key: statistics.median(r[key] for r, _ in rs)
    cpus = [c for _, c in rs if c is not None]
    med[path] = {k: m(k) for k in ("messages_per_second", "p50_ms", "p99_ms")}
    failed = sum(r["failed"] for r, _ in rs)
    cpu = f"{statistics.median(cpus):.1f}" if cpus else "-"
    print(f"{proto:<5} {path:<8} {conns:>6} {med[path]['messages_per_second']:>12.0f} {med[path]['p50_ms']:>10.3f} "
          f"{med[path]['p99_ms']:>10.3f} {cpu:>14}" + (f"   ({failed} failed)" if failed else ""))
for p in ("haproxy", "gateway"):
    d, x = med["direct"], med[p]
    print(f"  {p}/direct: throughput {x['messages_per_second']/d['messages_per_second']:.2f}x, "
          f"added p50 {x['p50_ms']-d['p50_ms']:+.3f} ms, added p99 {x['p99_ms']-d['p99_ms']:+.3f} ms")
g, h = med["gateway"], med["haproxy"]
each = " ".join(f"{gr['messages_per_second']/hr['messages_per_second']:.2f}"
                for (gr, _), (hr, _) in zip(runs["gateway"], runs["haproxy"]))
print(f"  gateway/haproxy: throughput {g['messages_per_second']/h['messages_per_second']:.2f}x "
      f"(rounds: {each}), p99 {g['p99_ms']-h['p99_ms']:+.3f} ms")
PY
done
done

#!/usr/bin/env bash
# Faucet benchmark, one run on loopback: a devnet node (1-second blocks), the faucet in front of
# it (SQLite store, limits off), and the same registrations two ways:
#   faucet → POST /api/v1/accounts (validation, store writes, signing, broadcast, wait for the block)
#   direct → signed here and broadcast_transaction_synchronous to the node (the baseline: the
#            chain's own limit for the same work).
# Prints registrations/s and p50/p99 per mode and the faucet ÷ direct ratio, then the signing
# microbenchmark (cargo bench -p bts-faucet). Everything stops at the end.
# Usage: bench/faucet.sh [COUNT] [CONCURRENCY]
COUNT=${1:-300}
CONC=${2:-32}
source "$(dirname "$0")/common.sh"

NODE=127.0.0.1:18290 FAUCET=127.0.0.1:18270
$B devnet --nodes 1 --block-interval 1 --listen $NODE --admin-listen 127.0.0.1:18289 >"$tmp/devnet.out" 2>"$tmp/devnet.err" &
pids+=($!)
for _ in $(seq 50); do grep -q "registrar WIF" "$tmp/devnet.out" 2>/dev/null && break; sleep 0.2; done
WIF=$(grep "registrar WIF" "$tmp/devnet.out" | awk '{print $NF}')
cat >"$tmp/faucet.toml" <<CFG
listen = "$FAUCET"
node = "ws://$NODE"
store = "sqlite://$tmp/faucet.db"
[registrar]
name = "faucet"
[limits]
ip_cooldown_seconds = 0
ip_daily_cap = 0
global_per_minute = 0
CFG
BTS_FAUCET_WIF=$WIF RUST_LOG=warn $B faucet --config "$tmp/faucet.toml" >"$tmp/faucet.out" 2>"$tmp/faucet.err" &
pids+=($!)
sleep 2

echo "registrations: $COUNT per mode, $CONC in flight, 1-second blocks"
BTS_FAUCET_WIF=$WIF $B bench-registrations --faucet "http://$FAUCET" --node "ws://$NODE" \
  --count "$COUNT" --concurrency "$CONC" --json > "$tmp/out.jsonl"
python3 - "$tmp/out.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    print("%-7s %5d/%-5d %8.1f reg/s   p50 %7.1f ms   p99 %7.1f ms   %s" % (
        r["mode"], r["registered"], r["attempted"], r["registrations_per_second"], r["p50_ms"], r["p99_ms"],
        r["first_error"] or ""))
f, d = rows[0], rows[1]
print("faucet/direct: throughput %.2fx, p99 %.2fx" % (
    f["registrations_per_second"] / d["registrations_per_second"], f["p99_ms"] / d["p99_ms"]))
PY

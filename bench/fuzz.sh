#!/usr/bin/env bash
# Bounded fuzzing of every cargo-fuzz target (fuzz/fuzz_targets): seeds each corpus from the
# repository's own vectors and configs, runs each target for SECS seconds (default 120) on one
# core, prints executions and coverage per target, and fails if any target found a crash
# (kept in fuzz/artifacts/<target>/; turn each into a regression test, see BENCHMARKS.md).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-120}"
TARGETS=(client_frame upstream_answer unpack operation_json faucet_body config)

corpus() { mkdir -p "fuzz/corpus/$1"; echo "fuzz/corpus/$1"; }
python3 - <<'PY'
import json, os, glob, hashlib
def put(target, data):
    d = f"fuzz/corpus/{target}"; os.makedirs(d, exist_ok=True)
    if isinstance(data, str): data = data.encode()
    open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb").write(data)
vec = json.load(open("crates/protocol/tests/vectors/operations-witness_node-7.0.2.json"))
for e in vec["entries"]:
    put("operation_json", json.dumps(e["transaction"]["operations"][0]))
    put("unpack", bytes.fromhex(e["node_hex"]) + b"\x00")  # + empty signatures
for f in [
    '{"id":1,"method":"call","params":["database","get_chain_id",[]]}',
    '{"id":"x","jsonrpc":"2.0","method":"call","params":[2,"broadcast_transaction_with_callback",[7,{}]]}',
    '{"id":4294967296,"method":"get_objects","params":[["2.1.0"]]}',
    '{"id":1.5,"method":"call","params":[1,"login",["",""]]}',
    '[{"id":1}]', '{"result":1}', '{"id":1,"method":"call","params":[0,"get_block",[1]]}',
]:
    put("client_frame", f)
for f in [
    '{"id":1,"result":"ok"}', '{"id":"4294967297","result":null}',
    '{"method":"notice","params":[7,[{"id":"2.1.0","head_block_number":5}]]}',
    '{"id":3,"error":{"code":1,"message":"x","data":{"code":10,"name":"assert_exception","stack":[]}}}',
]:
    put("upstream_answer", f)
for f in [
    '{"account":{"name":"alice-1","owner_key":"BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV","active_key":"BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV","memo_key":"BTS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV","refcode":null,"referrer":null}}',
    '{"account":{}}', '{}',
]:
    put("faucet_body", f)
for f in glob.glob("config/*.toml"):
    put("config", open(f, "rb").read())
PY

cargo +nightly fuzz build -O >/dev/null
status=0
printf '%-16s %12s %10s %8s %6s\n' target executions exec/s cov crashes
for t in "${TARGETS[@]}"; do
  mkdir -p "fuzz/artifacts/$t"
  log="fuzz/artifacts/$t.log"
  # -rss_limit_mb bounds memory; -max_total_time bounds time; -jobs=1 keeps it to one core.
  if ! cargo +nightly fuzz run -O "$t" "$(corpus "$t")" -- -max_total_time="$SECS" -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  crashes=$(find "fuzz/artifacts/$t" -type f -name 'crash-*' -o -type f -name 'oom-*' -o -type f -name 'timeout-*' | wc -l)
  printf '%-16s %12s %10s %8s %6s\n' "$t" "$execs" "$rate" "$cov" "$crashes"
  [ "$crashes" = 0 ] || status=1
done
exit $status

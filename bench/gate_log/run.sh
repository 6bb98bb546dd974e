#!/usr/bin/env bash
# What the transparency log costs the gate, against the same gate without
# it (the events row alone), and what auditing a large log costs a client.
# Builds --release. Usage: bench/gate_log/run.sh [EVENTS] [DURABLE_TX]
#   EVENTS      events appended in transactions of 1000 (default 100000)
#   DURABLE_TX  single-event, fsynced transactions (default 300)
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=${1:-100000}
DURABLE=${2:-300}
cargo build --release --quiet -p shipgate
cargo build --release --quiet -p shipgate-gate --example gate_log_bench
BIN=$PWD/target/release
OUT=$PWD/bench/out/gate_log
rm -rf "$OUT" && mkdir -p "$OUT"

"$BIN/examples/gate_log_bench" "$OUT/data" "$EVENTS" "$DURABLE" | tee "$OUT/report.txt"

# Serve that database with the real gate and audit it with the real CLI.
cd "$OUT"
"$BIN/shipgate" keygen -s gate.key -p gate.pub >/dev/null
cat > gate.toml <<TOML
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "bench"
TOML
"$BIN/shipgate" serve --config gate.toml > serve.out 2> serve.err &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" serve.out 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' serve.out)
export SHIPGATE_CONFIG_DIR=$OUT/user-config
echo "== a client auditing the served log ($URL)"
start=$(date +%s.%N)
"$BIN/shipgate" log verify --gate "$URL" --gate-key gate.pub --checkpoint cp.note --entries --json > audit.json
end=$(date +%s.%N)
python3 - "$start" "$end" <<'PY' | tee -a report.txt
import json, sys
took = float(sys.argv[2]) - float(sys.argv[1])
audit = json.load(open("audit.json"))
n = audit["entries"]["entries"]
print(f"shipgate log verify --entries: {n} leaves downloaded, re-derived, re-hashed and rooted in {took:.2f} s ({n / took:,.0f} leaves/s)")
PY
echo "server peak RSS: $(grep VmHWM /proc/$SERVER/status | awk '{print $2, $3}') (the proof cache holds ~64 bytes per leaf)" | tee -a report.txt
start=$(date +%s.%N)
"$BIN/shipgate" log verify --gate "$URL" --gate-key gate.pub --checkpoint cp.note > /dev/null
end=$(date +%s.%N)
python3 -c "import sys; print(f'shipgate log verify (checkpoint + consistency only, a fetch\\'s log check): {(float(sys.argv[2]) - float(sys.argv[1])) * 1000:.0f} ms')" "$start" "$end" | tee -a report.txt

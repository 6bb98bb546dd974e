#!/usr/bin/env bash
# Benchmark: `shipgate audit` against `zizmor --offline` on a generated corpus
# of GitHub Actions workflows, plus a findings comparison on the rules both
# tools have. Run by hand (not in CI):  bench/audit/run.sh [N_WORKFLOWS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-600}"
OUT=bench/out
CORPUS="$OUT/audit-corpus"
mkdir -p "$OUT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

echo "== tools"
command -v zizmor >/dev/null || python3 -m pip install --quiet zizmor
command -v hyperfine >/dev/null || as_root apt-get install -y -qq hyperfine
[ -x /usr/bin/time ] || as_root apt-get install -y -qq time
cargo build --release --quiet -p shipgate
SHIPGATE="$PWD/target/release/shipgate"
echo "shipgate $("$SHIPGATE" --version | awk '{print $2}'), $(zizmor --version), $(hyperfine --version)"

echo "== corpus ($N workflows, deterministic)"
rm -rf "$CORPUS"
python3 bench/audit/gen_corpus.py "$CORPUS" "$N"
echo "files: $(find "$CORPUS" -name '*.yml' | wc -l), bytes: $(find "$CORPUS" -name '*.yml' -exec cat {} + | wc -c)"

echo "== time (hyperfine, 3 warm-up runs, 20 runs each; both tools use every core)"
hyperfine --warmup 3 --runs 20 --ignore-failure --style basic \
    --export-json "$OUT/audit-hyperfine.json" \
    -n "shipgate audit --format json" "$SHIPGATE audit --format json $CORPUS > /dev/null" \
    -n "zizmor --offline --format json" "zizmor --offline --format json $CORPUS > /dev/null 2>&1"

echo "== peak memory (/usr/bin/time -v, maximum resident set size)"
peak() { { /usr/bin/time -v "$@" 2>&1 >/dev/null || true; } | awk -F': ' '/Maximum resident set size/ {print $2}'; }
SG_KB=$(peak "$SHIPGATE" audit --format json "$CORPUS")
ZZ_KB=$(peak zizmor --offline --format json "$CORPUS")

python3 - "$OUT/audit-hyperfine.json" "$SG_KB" "$ZZ_KB" <<'PY'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
sg = runs["shipgate audit --format json"]
zz = runs["zizmor --offline --format json"]
sg_kb, zz_kb = int(sys.argv[2]), int(sys.argv[3])
print(f"{'tool':<32} {'mean':>10} {'stddev':>9} {'min':>9} {'peak RSS':>10}")
for name, r, kb in [("shipgate audit --format json", sg, sg_kb), ("zizmor --offline --format json", zz, zz_kb)]:
    print(f"{name:<32} {r['mean']*1000:>8.1f}ms {r['stddev']*1000:>7.1f}ms {r['min']*1000:>7.1f}ms {kb/1024:>8.1f}MB")
print(f"shipgate is {zz['mean']/sg['mean']:.1f}x faster (mean) and uses {zz_kb/sg_kb:.1f}x less peak memory")
PY

echo "== findings on the shared rules (per file, per tool)"
"$SHIPGATE" audit --format json "$CORPUS" > "$OUT/audit-shipgate.json" || true
zizmor --offline --format json "$CORPUS" > "$OUT/audit-zizmor.json" 2>/dev/null || true
python3 bench/audit/compare.py "$OUT/audit-shipgate.json" "$OUT/audit-zizmor.json" "$OUT/audit-differences.txt"

#!/usr/bin/env bash
# Benchmark: `shipgate verify --mode checksum-only` against `sha256sum -c`
# and single-process `openssl dgst -sha256` over the same 10,000-file, 1 GiB
# tree, warm page cache (and cold when caches can be dropped), plus peak RSS
# on that tree and on a 100,000-small-file tree.
#
#   bench/verify/run.sh            # from the repository root
#
# Needs: cargo, python3, hyperfine, openssl, sha256sum, /usr/bin/time (apt: time).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/bench/out/verify
BIG=$OUT/tree-1g
MANY=$OUT/tree-100k
RUNS=${RUNS:-5}
mkdir -p "$OUT"

for tool in hyperfine openssl sha256sum python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine openssl coreutils python3 time)"; exit 2; }
done

echo "== building shipgate (release)"
cargo build --release --quiet -p shipgate
SG=$ROOT/target/release/shipgate

build_tree() { # dir count bytes
    local dir=$1 count=$2 bytes=$3 stamp="$1.stamp"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$count $bytes" ]; then
        echo "== building $dir ($count files, $bytes bytes)"
        rm -rf "$dir" && mkdir -p "$dir"
        python3 "$ROOT/bench/verify/make_tree.py" "$dir" "$count" "$bytes"
        echo "$count $bytes" > "$stamp"
    fi
    "$SG" sign --checksum-only "$dir" >/dev/null
}
build_tree "$BIG" 10000 $((1024 * 1024 * 1024))
build_tree "$MANY" 100000 $((200 * 1024 * 1024))

# SHA256SUMS over exactly the files in the manifest.
(cd "$BIG" && find . -type f ! -name 'shipgate.manifest*' -print0 | sort -z | xargs -0 sha256sum > "$OUT/SHA256SUMS")
BYTES=$(cd "$BIG" && find . -type f ! -name 'shipgate.manifest*' -printf '%s\n' | awk '{s+=$1} END {print s}')

VERIFY="$SG verify $BIG --mode checksum-only --context local"
SHASUM="cd $BIG && sha256sum -c --quiet $OUT/SHA256SUMS"
OPENSSL="cd $BIG && find . -type f ! -name 'shipgate.manifest*' -print0 | xargs -0 openssl dgst -sha256 > /dev/null"

echo "== load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (wall-clock figures suffer when other work competes)"
echo "== warm page cache ($RUNS runs each)"
cat "$BIG"/*/*/* > /dev/null
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/warm.json" \
    -n "shipgate verify" "$VERIFY" -n "sha256sum -c" "$SHASUM" -n "openssl dgst -sha256 (1 process)" "$OPENSSL"

COLD=""
if (sync && echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
    echo "== cold page cache (caches dropped before each run)"
    hyperfine --style basic --runs 3 --prepare 'sync; echo 3 > /proc/sys/vm/drop_caches' --export-json "$OUT/cold.json" \
        -n "shipgate verify" "$VERIFY" -n "sha256sum -c" "$SHASUM" -n "openssl dgst -sha256 (1 process)" "$OPENSSL"
    COLD="$OUT/cold.json"
else
    echo "== cold page cache: skipped (cannot write /proc/sys/vm/drop_caches; run as root to include it)"
fi

peak_rss_kib() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }
RSS_BIG=$(peak_rss_kib "$SG" verify "$BIG" --mode checksum-only --context local)
RSS_MANY=$(peak_rss_kib "$SG" verify "$MANY" --mode checksum-only --context local)

python3 - "$OUT/warm.json" "$BYTES" "$RSS_BIG" "$RSS_MANY" "$COLD" <<'PY'
import json, sys
warm, size, rss_big, rss_many, cold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def table(path, title):
    results = {r["command"]: r for r in json.load(open(path))["results"]}
    names = ("shipgate verify", "sha256sum -c", "openssl dgst -sha256 (1 process)")
    labels = ("shipgate verify --mode checksum-only", "sha256sum -c", "openssl dgst -sha256 (1 process)")
    wall = [results[n]["mean"] for n in names]
    cpu = [results[n]["user"] + results[n]["system"] for n in names]
    sg, sha, ossl = wall
    print(f"\n{title}: {size / 2**30:.2f} GiB in 10,000 files")
    print(f"{'command':<38} {'wall s':>7} {'GB/s':>6} {'vs shipgate':>11} {'CPU s':>7} {'GB/CPU-s':>9}")
    for label, t, c in zip(labels, wall, cpu):
        print(f"{label:<38} {t:7.3f} {size / t / 1e9:6.2f} {t / sg:10.2f}x {c:7.3f} {size / c / 1e9:9.2f}")
    two_cores = 2 * size / ossl
    print(f"shipgate vs sha256sum -c (wall):        {sha / sg:.2f}x faster (target >= 6x)")
    print(f"shipgate vs 2 x openssl rate (wall):    {100 * (size / sg) / two_cores:.0f}% (target >= 75%)")
    print(f"CPU time per byte, sha256sum / shipgate: {cpu[1] / cpu[0]:.2f}x; openssl / shipgate: {cpu[2] / cpu[0]:.2f}x")
    return sha / sg, (size / sg) / two_cores

speedup, share = table(warm, "warm page cache")
if cold:
    table(cold, "cold page cache")
print(f"\npeak RSS, shipgate verify, 10,000 files / 1 GiB:     {rss_big / 1024:.1f} MiB (target < 64 MiB)")
print(f"peak RSS, shipgate verify, 100,000 files / 200 MiB: {rss_many / 1024:.1f} MiB (target < 64 MiB)")
ok = speedup >= 6 and share >= 0.75 and max(rss_big, rss_many) < 64 * 1024
print("\ntargets (warm):", "all met" if ok else "NOT all met")
PY

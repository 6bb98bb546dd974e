#!/usr/bin/env bash
# Release-gate benchmark (run by hand, not in CI):
#  1. stage a 1 GiB artifact while sampling the gate's peak RSS (VmHWM);
#     reference in the same run: `cp` + `sha256sum` of the same file;
#  2. FLOWS (default 200) concurrent stage-then-approve flows (bench/gate/load.py flows),
#     throughput and p50/p99 latency per call;
#  3. the load drill (bench/gate/load.py drill): DRILL_CLIENTS (default 500) concurrent
#     clients staging, listing, approving and fetching for DRILL_SECONDS (default 60),
#     throughput and p50/p99 per call, refusals by kind, the gate's RSS every second.
# `bench/gate/run.sh drill` runs only part 3.
#
# TOTP codes are never reused within a step: part 2 gives each flow its own maintainer
# (package `bench`, quorum 1) who approves once; part 3 gives each client its own
# maintainer (package `load`, quorum 1) who approves at most once per 30-second step.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MODE=${1:-all}
FLOWS=${FLOWS:-200}
BIG_MIB=${BIG_MIB:-1024}
DRILL_CLIENTS=${DRILL_CLIENTS:-500}
DRILL_SECONDS=${DRILL_SECONDS:-60}
DRILL_PROCS=${DRILL_PROCS:-2}
DRILL_PAYLOAD=${DRILL_PAYLOAD:-16384}
DRILL_THINK=${DRILL_THINK:-0.05}
case "$MODE" in all|drill) ;; *) echo "usage: $0 [all|drill]" >&2; exit 2;; esac
[ "$MODE" = drill ] && FLOWS=0

echo "== building (release)"
cargo build --release -q -p shipgate
SG=$ROOT/target/release/shipgate
OUT=$ROOT/bench/out/gate
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_listening() { # file -> prints URL
    for _ in $(seq 1 100); do
        if grep -q '^listening on ' "$1" 2>/dev/null; then sed -n 's/^listening on //p' "$1" | head -1; return; fi
        sleep 0.1
    done
    echo "server did not start: $(cat "$1")" >&2; exit 1
}

echo "== setting up: CI issuer, gate key, $FLOWS + $DRILL_CLIENTS maintainers"
"$SG" keygen -s gate.key -p gate.pub >/dev/null
"$SG" oidc keygen --dir ci-keys >/dev/null
"$SG" oidc serve --keys ci-keys --issuer http://127.0.0.1:0 --listen 127.0.0.1:0 >issuer.out 2>issuer.err &
PIDS+=($!)
ISSUER=$(wait_listening issuer.out)

names() { # prefix count -> "p1","p2",...
    if [ "$2" -gt 0 ]; then seq -f "\"$1%g\"" 1 "$2" | paste -sd, -; fi
}
{
    cat <<TOML
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-bench"
max_upload_bytes = $(( (BIG_MIB + 64) * 1024 * 1024 ))

# The benchmark stages far more than a package would keep undecided.
[limits]
max_pending_releases = 100000
max_staged_bytes = 1099511627776
TOML
    for pkg in bench load; do
        if [ $pkg = bench ]; then list=$(names m "$FLOWS"); else list=$(names l "$DRILL_CLIENTS"); fi
        [ -n "$list" ] || list='"nobody"'
        cat <<TOML

[[package]]
name = "$pkg"
quorum = 1
maintainers = [$list]

[[package.publisher]]
provider = "github"
issuer = "$ISSUER"
repository = "acme/$pkg"
repository_owner_id = "4242"
workflow = ".github/workflows/release.yml"
environment = "*"
ref = "refs/tags/v*"
TOML
    done
} >gate.toml

enroll_all() { # prefix count package -> JSON list of {token, totp_secret}
    python3 - "$SG" "$1" "$2" "$3" <<'PY'
import json, subprocess, sys
sg, prefix, count, package = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
out = []
for i in range(1, count + 1):
    text = subprocess.run([sg, "admin", "enroll", "%s%d" % (prefix, i), "--package", package, "--config", "gate.toml"],
                          check=True, capture_output=True, text=True).stdout.split()
    token = next(w for w in text if w.startswith("sgm_"))
    uri = next(w for w in text if w.startswith("otpauth://"))
    assert "digits=8" in uri, uri
    out.append({"token": token, "totp_secret": uri.split("secret=")[1].split("&")[0]})
json.dump(out, sys.stdout)
PY
}
enroll_all m "$FLOWS" bench >maintainers-bench.json
enroll_all l "$DRILL_CLIENTS" load >maintainers-load.json

mint() { # version
    "$SG" oidc issue --keys ci-keys --issuer "$ISSUER" --audience shipgate-bench --ttl 30m \
        --subject "repo:acme/bench:ref:refs/tags/v$1" \
        --claim repository=acme/bench --claim repository_owner_id=4242 \
        --claim "workflow_ref=acme/bench/.github/workflows/release.yml@refs/tags/v$1" \
        --claim "ref=refs/tags/v$1" --claim sha=0123456789abcdef0123456789abcdef01234567 \
        --claim run_id=$RANDOM --claim event_name=push
}

"$SG" serve --config gate.toml >gate.out 2>gate.err &
GATE_PID=$!; PIDS+=($GATE_PID)
GATE=$(wait_listening gate.out)
rss() { awk '/VmHWM|VmRSS/ {printf "%s %.1f MiB  ", $1, $2/1024}' "/proc/$GATE_PID/status"; echo; }
echo "gate at $GATE (pid $GATE_PID); idle: $(rss)"

if [ "$MODE" = all ]; then
    echo "== 1. staging a $BIG_MIB MiB artifact"
    head -c $(( BIG_MIB * 1024 * 1024 )) /dev/urandom >big.bin
    t0=$(date +%s.%N); cp big.bin big.copy && sync big.copy && sha256sum big.bin >/dev/null; t1=$(date +%s.%N)
    REF=$(echo "$t1 - $t0" | bc)
    rm -f big.copy
    TOKEN=$(mint 9.9.9)
    t0=$(date +%s.%N)
    SHIPGATE_OIDC_TOKEN=$TOKEN "$SG" stage --gate "$GATE" --package bench --version 9.9.9 big.bin >stage-big.out
    t1=$(date +%s.%N)
    STAGE=$(echo "$t1 - $t0" | bc)
    printf '%-40s %8.2f s  %7.1f MiB/s\n' "shipgate stage (hash + upload + fsync)" "$STAGE" "$(echo "$BIG_MIB / $STAGE" | bc -l)"
    printf '%-40s %8.2f s  %7.1f MiB/s\n' "reference: cp + sync + sha256sum" "$REF" "$(echo "$BIG_MIB / $REF" | bc -l)"
    echo "gate memory after the upload: $(rss)"
    rm -f big.bin

    echo "== 2. $FLOWS concurrent stage-then-approve flows"
    for i in $(seq 1 "$FLOWS"); do mint "1.0.$i"; done >tokens.txt
    python3 - "$GATE" <<'PY' >plan.json
import json, sys
maintainers = json.load(open("maintainers-bench.json"))
tokens = open("tokens.txt").read().split()
plan = [{"gate": sys.argv[1], "package": "bench", "version": "1.0.%d" % (i + 1), "ci_token": t,
         "maintainer_token": m["token"], "totp_secret": m["totp_secret"]}
        for i, (m, t) in enumerate(zip(maintainers, tokens))]
json.dump(plan, sys.stdout)
PY
    python3 "$ROOT/bench/gate/load.py" flows plan.json 65536
    echo "gate memory after the flows: $(rss)"
fi

echo "== 3. load drill: $DRILL_CLIENTS clients for $DRILL_SECONDS s"
python3 - "$GATE" "$GATE_PID" "$ISSUER" <<PY >drill.json
import glob, json, sys, urllib.request
gate, pid, issuer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
discovery = json.load(urllib.request.urlopen(issuer + "/.well-known/openid-configuration"))
jwks = json.load(urllib.request.urlopen(discovery["jwks_uri"]))
json.dump({
    "gate": gate, "pid": pid, "seconds": $DRILL_SECONDS, "procs": $DRILL_PROCS,
    "payload_bytes": $DRILL_PAYLOAD, "think_seconds": $DRILL_THINK,
    "issuer": issuer, "audience": "shipgate-bench", "issuer_kid": jwks["keys"][0]["kid"],
    "issuer_key": sorted(glob.glob("ci-keys/*.pem"))[-1],
    "package": "load", "repository": "acme/load", "owner_id": "4242",
    "clients": json.load(open("maintainers-load.json")),
}, sys.stdout)
PY
python3 "$ROOT/bench/gate/load.py" drill drill.json | tee drill.txt
echo "gate memory after the drill: $(rss)"

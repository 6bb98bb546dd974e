#!/usr/bin/env bash
# Release-gate benchmark (run by hand, not in CI):
#  1. stage a 1 GiB artifact while sampling the gate's peak RSS (VmHWM);
#     reference in the same run: `cp` + `sha256sum` of the same file;
#  2. FLOWS (default 200) concurrent stage-then-approve flows (bench/gate/load.py),
#     throughput and p50/p99 latency per call.
# Each flow has its own maintainer (package `bench`, quorum 1, FLOWS maintainers),
# so every approval uses a different TOTP secret: no code is reused within a step.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FLOWS=${FLOWS:-200}
BIG_MIB=${BIG_MIB:-1024}

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

echo "== setting up: CI issuer, gate key, $FLOWS maintainers"
"$SG" keygen -s gate.key -p gate.pub >/dev/null
"$SG" oidc keygen --dir ci-keys >/dev/null
"$SG" oidc serve --keys ci-keys --issuer http://127.0.0.1:0 --listen 127.0.0.1:0 >issuer.out 2>issuer.err &
PIDS+=($!)
ISSUER=$(wait_listening issuer.out)

{
    cat <<TOML
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-bench"
max_upload_bytes = $(( (BIG_MIB + 64) * 1024 * 1024 ))

[[package]]
name = "bench"
quorum = 1
maintainers = [$(seq -f '"m%g"' 1 "$FLOWS" | paste -sd, -)]

[[package.publisher]]
provider = "github"
issuer = "$ISSUER"
repository = "acme/bench"
repository_owner_id = "4242"
workflow = ".github/workflows/release.yml"
TOML
} >gate.toml

python3 - "$SG" "$FLOWS" <<'PY' >plan-partial.json
import json, subprocess, sys
sg, flows = sys.argv[1], int(sys.argv[2])
plan = []
for i in range(1, flows + 1):
    out = subprocess.run([sg, "admin", "enroll", "m%d" % i, "--package", "bench", "--config", "gate.toml"],
                         check=True, capture_output=True, text=True).stdout.split()
    token = next(w for w in out if w.startswith("sgm_"))
    secret = next(w for w in out if w.startswith("otpauth://")).split("secret=")[1].split("&")[0]
    plan.append({"package": "bench", "version": "1.0.%d" % i, "maintainer_token": token, "totp_secret": secret})
json.dump(plan, sys.stdout)
PY

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
plan = json.load(open("plan-partial.json"))
tokens = open("tokens.txt").read().split()
for flow, token in zip(plan, tokens):
    flow["gate"] = sys.argv[1]
    flow["ci_token"] = token
json.dump(plan, sys.stdout)
PY
python3 "$ROOT/bench/gate/load.py" plan.json 65536
echo "gate memory after the load: $(rss)"

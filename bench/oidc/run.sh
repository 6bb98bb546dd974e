#!/usr/bin/env bash
# OIDC verification benchmark: shipgate-oidc in process vs PyJWT on the same
# tokens and keys, one core each, plus the whole `shipgate oidc verify` CLI
# with a warm JWKS cache (hyperfine). Run from anywhere:
#   bench/oidc/run.sh [SECONDS_PER_ROUND]     (default 2; three rounds each)
# Needs python3 with pyjwt + cryptography, and hyperfine.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-2}"
out="$PWD/bench/out/oidc"
rm -rf "$out" && mkdir -p "$out"
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

echo "== building (release)"
cargo build --release -q -p shipgate
cargo bench -q -p shipgate-oidc --bench verify --no-run

echo "== in-process verification, one core"
"${pin[@]}" cargo bench -q -p shipgate-oidc --bench verify -- --out "$out" --seconds "$seconds"
"${pin[@]}" python3 bench/oidc/pyjwt_bench.py "$out" "$seconds"

echo "== CLI: shipgate oidc verify with a warm JWKS cache"
bin=target/release/shipgate
"$bin" oidc keygen --dir "$out/keys" >/dev/null
"$bin" oidc serve --keys "$out/keys" --issuer http://127.0.0.1:0 --listen 127.0.0.1:0 \
    >"$out/serve.out" 2>"$out/serve.err" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$out/serve.out" 2>/dev/null && break; sleep 0.05; done
issuer=$(sed -n 's/^listening on //p' "$out/serve.out")
"$bin" oidc issue --keys "$out/keys" --issuer "$issuer" --audience deploy \
    --subject execution:1 --claim node_id=deploy-prod >"$out/token.jwt"
export SHIPGATE_CACHE_DIR="$out/cache"
verify=("$bin" oidc verify --issuer "$issuer" --audience deploy --token-file "$out/token.jwt" --expect node_id=deploy-prod)
"${verify[@]}" >/dev/null   # warms the cache
hyperfine -N --warmup 5 --runs 100 --export-json "$out/cli.json" "${verify[*]}" >/dev/null

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
rust = json.load(open(f"{out}/rust.json"))
py = json.load(open(f"{out}/pyjwt.json"))
cli = json.load(open(f"{out}/cli.json"))["results"][0]
print()
print(f"{'algorithm':<10}{'shipgate-oidc /s':>18}{'PyJWT /s':>12}{'ratio':>8}")
for alg in ("RS256", "ES256", "EdDSA"):
    print(f"{alg:<10}{rust[alg]:>18,.0f}{py[alg]:>12,.0f}{rust[alg] / py[alg]:>7.1f}x")
print()
print(f"shipgate oidc verify (CLI, warm cache, RS256): mean {cli['mean'] * 1000:.2f} ms, "
      f"median {cli['median'] * 1000:.2f} ms, min {cli['min'] * 1000:.2f} ms over {len(cli['times'])} runs")
print("targets: RS256 >= 35,000/s on one core, >= 2x PyJWT; CLI < 15 ms")
PY

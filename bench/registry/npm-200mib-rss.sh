#!/usr/bin/env bash
# Peak resident memory of publishing a 200 MiB npm tarball to a local Verdaccio with
# shipgate-registry (the publish document's base64 is streamed from the file).
# Needs SHIPGATE_VERDACCIO (from .ci/setup-registries.sh), python3, curl, tar, gzip.
# Usage: bench/registry/npm-200mib-rss.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mib="${1:-200}"
work="$(mktemp -d)"
verdaccio_pid=""
cleanup() {
    if [ -n "$verdaccio_pid" ]; then kill "$verdaccio_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

: "${SHIPGATE_VERDACCIO:?source .ci/setup-registries.sh first}"
# The dev profile optimises dependencies (hashing, TLS, HTTP); our code is thin glue.
cargo build --quiet -p shipgate-registry --example publish
publisher="${CARGO_TARGET_DIR:-target}/debug/examples/publish"

# An npm package tarball with SIZE_MIB of incompressible data.
mkdir -p "$work/package"
printf '{"name":"shipgate-big","version":"1.0.0"}' >"$work/package/package.json"
head -c "$((size_mib << 20))" /dev/urandom >"$work/package/blob.bin"
tar -C "$work" -cf - package | gzip -1 >"$work/big-1.0.0.tgz"
rm -r "$work/package"
echo "tarball: $(du -m "$work/big-1.0.0.tgz" | cut -f1) MiB"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$work/config.yaml" <<YAML
storage: $work/storage
auth:
  htpasswd:
    file: $work/htpasswd
    max_users: 10
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
max_body_size: 1gb
log: { type: stdout, format: pretty, level: error }
YAML
NODE_OPTIONS=--max-old-space-size=6144 "$SHIPGATE_VERDACCIO" --config "$work/config.yaml" \
    --listen "127.0.0.1:$port" >"$work/verdaccio.log" 2>&1 &
verdaccio_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/-/ping" >/dev/null 2>&1 && break
    sleep 0.2
done
token="$(curl -fsS -X PUT -H 'content-type: application/json' \
    -d '{"name":"bench","password":"bench-password-1"}' \
    "http://127.0.0.1:$port/-/user/org.couchdb.user:bench" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

/usr/bin/env SHIPGATE_PUBLISH_TOKEN="$token" "$publisher" npm "http://127.0.0.1:$port/" "$work/big-1.0.0.tgz"

# The registry holds what we computed.
curl -fsS "http://127.0.0.1:$port/shipgate-big" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
print("registry dist.integrity:", doc["versions"]["1.0.0"]["dist"]["integrity"])'

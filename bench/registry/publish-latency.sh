#!/usr/bin/env bash
# Publish -> installable latency over N releases on a local Verdaccio and a local
# pypiserver: the time from starting a publish with shipgate-registry until the registry
# lists the new version (npm: the package document; PyPI: the simple index page).
# Needs SHIPGATE_VERDACCIO and a Python with pypiserver and passlib (.ci/setup-registries.sh),
# curl, tar, gzip. Usage: bench/registry/publish-latency.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-50}"
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
: "${SHIPGATE_VERDACCIO:?source .ci/setup-registries.sh first}"
python="${SHIPGATE_PYTHON:-python3}"

cargo build --quiet -p shipgate-registry --example publish
publisher="${CARGO_TARGET_DIR:-target}/debug/examples/publish"
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 150); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "$1 did not come up" >&2; return 1; }
now() { date +%s.%N; }

# Verdaccio
npm_port="$(free_port)"
cat > "$work/verdaccio.yaml" <<YAML
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
log: { type: stdout, format: pretty, level: error }
YAML
"$SHIPGATE_VERDACCIO" --config "$work/verdaccio.yaml" --listen "127.0.0.1:$npm_port" >"$work/verdaccio.log" 2>&1 &
pids+=($!)
# pypiserver
pypi_port="$(free_port)"
mkdir -p "$work/packages"
"$python" -c 'import sys
from passlib.apache import HtpasswdFile
h = HtpasswdFile(sys.argv[1], new=True); h.set_password("bench", "bench-password-1"); h.save()' "$work/pypi-htpasswd"
"$python" -m pypiserver run -i 127.0.0.1 -p "$pypi_port" -a update -P "$work/pypi-htpasswd" "$work/packages" >"$work/pypiserver.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$npm_port/-/ping"
wait_http "http://127.0.0.1:$pypi_port/simple/"
token="$(curl -fsS -X PUT -H 'content-type: application/json' \
    -d '{"name":"bench","password":"bench-password-1"}' \
    "http://127.0.0.1:$npm_port/-/user/org.couchdb.user:bench" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

: >"$work/npm.times"; : >"$work/pypi.times"
for i in $(seq 1 "$n"); do
    version="1.0.$i"
    # npm
    mkdir -p "$work/npm-$i/package"
    printf '{"name":"shipgate-latency","version":"%s"}' "$version" >"$work/npm-$i/package/package.json"
    tar -C "$work/npm-$i" -cf - package | gzip -1 >"$work/shipgate-latency-$version.tgz"
    start="$(now)"
    SHIPGATE_PUBLISH_TOKEN="$token" "$publisher" npm "http://127.0.0.1:$npm_port/" \
        "$work/shipgate-latency-$version.tgz" >/dev/null 2>"$work/last.err" || { cat "$work/last.err"; exit 1; }
    until curl -fs "http://127.0.0.1:$npm_port/shipgate-latency" | grep -q "\"$version\""; do sleep 0.01; done
    echo "$(now) $start" | awk '{print $1 - $2}' >>"$work/npm.times"
    # PyPI: a minimal valid wheel
    wheel="$work/shipgate_latency-$version-py3-none-any.whl"
    "$python" - "$wheel" "$version" <<'PY'
import sys, zipfile
path, version = sys.argv[1], sys.argv[2]
d = f"shipgate_latency-{version}.dist-info"
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("shipgate_latency/__init__.py", f"VERSION = {version!r}\n")
    z.writestr(f"{d}/METADATA", f"Metadata-Version: 2.1\nName: shipgate-latency\nVersion: {version}\n")
    z.writestr(f"{d}/WHEEL", "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr(f"{d}/RECORD", "")
PY
    start="$(now)"
    SHIPGATE_PUBLISH_USER=bench SHIPGATE_PUBLISH_TOKEN=bench-password-1 "$publisher" pypi \
        "http://127.0.0.1:$pypi_port/" "$wheel" >/dev/null 2>"$work/last.err" || { cat "$work/last.err"; exit 1; }
    until curl -fs "http://127.0.0.1:$pypi_port/simple/shipgate-latency/" | grep -q "shipgate_latency-$version-py3"; do sleep 0.01; done
    echo "$(now) $start" | awk '{print $1 - $2}' >>"$work/pypi.times"
done

for registry in npm pypi; do
    "$python" - "$registry" "$work/$registry.times" <<'PY'
import sys
name, path = sys.argv[1], sys.argv[2]
times = sorted(float(l) for l in open(path) if l.strip())
def pct(p):
    return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))]
print(f"{name}: {len(times)} releases, publish -> listed p50 {pct(50)*1000:.0f} ms, p99 {pct(99)*1000:.0f} ms, max {times[-1]*1000:.0f} ms")
PY
done

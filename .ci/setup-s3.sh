# The S3-compatible server for the blob-store tests (crates/shipgate-gate's
# blobs contract tests and the CLI tests with `blobs = "s3://..."`): moto in
# server mode. Sourced by .ci/run (bash, set -euo pipefail, the CI virtual
# environment first on PATH). Each test process starts its own server on a
# free loopback port through SHIPGATE_S3_SERVER; nothing runs in between.
# moto lives in a virtual environment of its own so that its dependencies
# (boto3, werkzeug, ...) never move the versions other Python peers pin.
s3_venv="${SHIPGATE_S3_VENV:-${TMPDIR:-/tmp}/shipgate-s3-venv}"
if [ ! -x "$s3_venv/bin/moto_server" ]; then
    python -m venv "$s3_venv"
fi
"$s3_venv/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.6'
export SHIPGATE_S3_SERVER="$s3_venv/bin/moto_server"

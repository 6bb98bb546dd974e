# The HTTP API contract test (crates/shipgate/tests/cli/openapi_contract.rs) runs
# schemathesis against a real `shipgate serve --dev`. Sourced by .ci/run (bash,
# set -euo pipefail, the CI virtual environment first on PATH).
# schemathesis lives in a virtual environment of its own, so its dependencies
# never move the versions the other Python peers are pinned to.
openapi_venv="${SHIPGATE_OPENAPI_VENV:-${TMPDIR:-/tmp}/shipgate-openapi-venv}"
if [ ! -x "$openapi_venv/bin/schemathesis" ]; then
    python -m venv "$openapi_venv"
fi
"$openapi_venv/bin/python" -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
export SHIPGATE_SCHEMATHESIS="$openapi_venv/bin/schemathesis"

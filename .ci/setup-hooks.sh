# Peers for the webhook tests (crates/shipgate/tests/cli/webhooks.rs): the
# `openssl` command line, which runs the signature check documented in
# docs/webhooks.md (python3, for the documented receiver, comes from .ci/run).
# Sourced by .ci/run (bash, set -euo pipefail).
if ! command -v openssl >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        openssl >/dev/null
fi

# Peers for the gate operations tests (crates/shipgate/tests/cli/ops_*.rs):
# curl (an independent HTTPS client for the TLS tests) and systemd-analyze
# (checks packaging/shipgate-gate.service; the `systemd` package, ~10 MB, is
# only installed, never started). Sourced by .ci/run (bash, set -euo pipefail).
if ! command -v curl >/dev/null || ! command -v systemd-analyze >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        curl systemd >/dev/null
fi

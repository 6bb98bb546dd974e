#!/usr/bin/env bash
# Publishing through the gate, against real registries on loopback:
#   - approve -> installable latency over 50 releases on Verdaccio and on pypiserver
#     (from the approval request to the version being served), p50 and p99;
#   - the gate's peak RSS (VmHWM of `shipgate serve`) while it stages and publishes a
#     200 MiB npm tarball.
# Needs the peers of .ci/setup-registries.sh (SHIPGATE_VERDACCIO, SHIPGATE_PYTHON), npm,
# and python3 with PyJWT (the CI venv). The gate is the dev-profile binary, as in the tests.
# Usage: bench/publish/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SHIPGATE_VERDACCIO:?source .ci/setup-registries.sh first}"
: "${SHIPGATE_PYTHON:?source .ci/setup-registries.sh first}"
# One at a time: the figures should not share two cores with each other.
cargo test --quiet -p shipgate --test cli publish_bench -- --ignored --nocapture --test-threads 1 2>&1 |
    grep -E 'approve -> installable|200 MiB npm tarball|panicked|FAILED'

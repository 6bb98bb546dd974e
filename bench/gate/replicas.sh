#!/usr/bin/env bash
# The load drill against one embedded gate and against three replicas on one
# PostgreSQL database, in the same run (the test
# gate_scale_drills::load_drill_on_three_replicas_beside_one_embedded_gate), and
# prints both reports: throughput and p50/p99 per call.
#
# Needs PostgreSQL: run with SHIPGATE_TEST_POSTGRES set, or let this script
# start a throwaway cluster with .ci/setup-postgres.sh (as root).
# Usage: bench/gate/replicas.sh [--release]
# SHIPGATE_LOAD_SECONDS (default 6) and SHIPGATE_LOAD_PROCS (client processes,
# default 1) size the run; the test suite runs the default size.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${SHIPGATE_TEST_POSTGRES:-}" ]; then
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    # shellcheck source=/dev/null
    source .ci/setup-postgres.sh
fi
cargo test "$@" -p shipgate --test cli \
    gate_scale_drills::load_drill_on_three_replicas_beside_one_embedded_gate -- --nocapture 2>&1 |
    sed -n '/^--- one embedded gate/,/^test result/p'

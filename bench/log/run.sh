#!/usr/bin/env bash
# Benchmark of the tamper-evident log (crates/shipgate-log): appends per
# second and proof generation time at one million leaves. Builds --release.
# Usage: bench/log/run.sh [LEAVES]    (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p shipgate-log --example log_bench
mkdir -p bench/out
target/release/examples/log_bench "${1:-1000000}" | tee bench/out/log.txt

#!/usr/bin/env bash
# Blob store throughput, data directory vs an S3 bucket on loopback (moto, the
# server of .ci/setup-s3.sh): put (streamed in, hashed, verified, committed)
# and get (streamed out) of 1 MiB blobs (50 rounds) and 100 MiB blobs
# (3 rounds, multipart). The figures are MiB/s of blob bytes.
# Needs SHIPGATE_S3_SERVER (source .ci/setup-s3.sh). Dev profile, as the tests.
# Usage: bench/blobs/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SHIPGATE_S3_SERVER:?source .ci/setup-s3.sh first}"
cargo test --quiet -p shipgate-gate --lib bench_put_get_throughput -- --ignored --nocapture --test-threads 1 2>&1 |
    grep -E 'blobs bench|panicked|FAILED'

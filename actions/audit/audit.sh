#!/usr/bin/env bash
# Runs `shipgate audit` as SARIF for GitHub code scanning. Findings do not fail
# this step (code scanning shows them); a usage or input error does.
#
# Environment: INPUT_ARGS (extra arguments, split on whitespace; default: the
# repository root), RUNNER_TEMP, GITHUB_OUTPUT (set by the runner).
# Output: sarif (the path of the SARIF file), findings (how many).
set -euo pipefail

: "${RUNNER_TEMP:?RUNNER_TEMP is not set (run this inside a GitHub Actions job)}"
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set (run this inside a GitHub Actions job)}"
command -v shipgate >/dev/null || { echo "::error::shipgate is not on PATH" >&2; exit 2; }

read -r -a args <<<"${INPUT_ARGS:-}"
sarif="$RUNNER_TEMP/shipgate-audit.sarif"
status=0
shipgate audit --format sarif ${args[@]+"${args[@]}"} >"$sarif" || status=$?
# 0: no finding, 1: findings (they are in the SARIF file), anything else: an error.
if [[ $status -gt 1 ]]; then
  echo "::error::shipgate audit failed (exit $status); see the message above" >&2
  exit "$status"
fi
findings=$(jq '[.runs[].results | length] | add // 0' "$sarif")
echo "sarif=$sarif" >>"$GITHUB_OUTPUT"
echo "findings=$findings" >>"$GITHUB_OUTPUT"
echo "shipgate audit: $findings finding(s), written to $sarif"

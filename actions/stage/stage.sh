#!/usr/bin/env bash
# Stages files on a shipgate gate with this job's OIDC token, optionally waits
# for the maintainers' decision, and hands the gate's execution token to the
# next steps.
#
# Environment (the action's inputs, plus what a GitHub Actions runner provides):
#   INPUT_GATE, INPUT_PACKAGE, INPUT_VERSION   where and what to stage (required)
#   INPUT_FILES   files to stage: one path or glob pattern per line (required)
#   INPUT_WAIT    "true" (default) or "false": wait for the decision
#   INPUT_UNTIL   the longest wait, e.g. 45m (default 30m; at most 6h)
#   ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN
#                 the job's OIDC token endpoint (`permissions: id-token: write`);
#                 `shipgate stage` reads them itself
#   GITHUB_OUTPUT, GITHUB_STEP_SUMMARY
# Outputs: release-id, and with wait: token (the execution token, masked in the log).
# Exit codes are shipgate's: 1 refused, rejected or timed out; 2 usage error.
set -euo pipefail

fail() {
  echo "::error::shipgate stage: $*" >&2
  exit 2
}

: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set (run this inside a GitHub Actions job)}"
: "${GITHUB_STEP_SUMMARY:?GITHUB_STEP_SUMMARY is not set (run this inside a GitHub Actions job)}"
[[ -n "${INPUT_GATE:-}" ]] || fail "the gate input is required (the gate's base URL)"
[[ -n "${INPUT_PACKAGE:-}" ]] || fail "the package input is required"
[[ -n "${INPUT_VERSION:-}" ]] || fail "the version input is required"
[[ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" && -n "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]] ||
  fail "no OIDC token endpoint: give the job \`permissions: id-token: write\`"
command -v jq >/dev/null || fail "jq is needed (it is on GitHub-hosted runners)"
command -v shipgate >/dev/null || fail "shipgate is not on PATH: install it first (the shipgate-version input, or actions/install)"

case "${INPUT_WAIT:-true}" in
  true) wait=true ;;
  false) wait=false ;;
  *) fail "wait must be true or false, got '${INPUT_WAIT}'" ;;
esac

# Each line of INPUT_FILES is a path or a glob; every one must match something.
files=()
shopt -s nullglob
while IFS= read -r pattern || [[ -n "$pattern" ]]; do
  pattern="${pattern#"${pattern%%[![:space:]]*}"}"
  pattern="${pattern%"${pattern##*[![:space:]]}"}"
  [[ -z "$pattern" ]] && continue
  # shellcheck disable=SC2206 # the glob is expanded on purpose
  matched=($pattern)
  [[ ${#matched[@]} -gt 0 ]] || fail "no file matches '$pattern'"
  files+=("${matched[@]}")
done <<<"${INPUT_FILES:-}"
shopt -u nullglob
[[ ${#files[@]} -gt 0 ]] || fail "the files input names no file"

# SHIPGATE_OIDC_TOKEN would take precedence over the job's own token.
unset SHIPGATE_OIDC_TOKEN
args=(stage --json --gate "$INPUT_GATE" --package "$INPUT_PACKAGE" --version "$INPUT_VERSION")
if $wait; then
  args+=(--wait --timeout "${INPUT_UNTIL:-30m}")
fi

status=0
result=$(shipgate "${args[@]}" -- "${files[@]}") || status=$?
[[ -n "$result" ]] || exit "$status"

id=$(jq -r '.id' <<<"$result")
if ! [[ "$id" =~ ^[0-9]+$ ]]; then
  [[ $status -ne 0 ]] && exit "$status" # shipgate said why on stderr
  fail "unexpected answer from shipgate stage: $result"
fi
echo "release-id=$id" >>"$GITHUB_OUTPUT"

outcome=staged
if $wait; then
  outcome=$(jq -r '.outcome' <<<"$result")
  if [[ "$outcome" == released ]]; then
    token=$(jq -r '.execution_token.token' <<<"$result")
    [[ "$token" =~ ^[A-Za-z0-9_.-]+$ ]] || fail "the gate's answer holds no execution token"
    echo "::add-mask::$token"
    echo "token=$token" >>"$GITHUB_OUTPUT"
  fi
fi

{
  echo "### shipgate: ${INPUT_PACKAGE} ${INPUT_VERSION} — ${outcome}"
  echo
  echo "Release ${id} on ${INPUT_GATE}."
  if [[ "$outcome" == rejected ]]; then
    echo
    echo "Rejected: $(jq -r '.reject_reason // ""' <<<"$result")"
  fi
  files_json=$(jq -c '(.staged // .).files // []' <<<"$result")
  if [[ "$files_json" != "[]" ]]; then
    echo
    echo "| file | size | sha256 |"
    echo "| --- | ---: | --- |"
    jq -r '.[] | "| `\(.path)` | \(.size) | `\(.sha256)` |"' <<<"$files_json"
  fi
  if [[ "$outcome" == released ]]; then
    echo
    echo "Approved by: $(jq -r '.approved_by | join(", ")' <<<"$result"). The execution token is in this step's \`token\` output."
  fi
} >>"$GITHUB_STEP_SUMMARY"
exit "$status"

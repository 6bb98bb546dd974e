#!/usr/bin/env bash
# Installs a released shipgate binary for this runner, verified against the
# release's SHA256SUMS before it is ever run, and puts it on the job's PATH.
#
# Environment (what a GitHub Actions runner provides, plus the inputs):
#   SHIPGATE_VERSION       the release to install, e.g. 0.1.0 (required)
#   SHIPGATE_SHA256SUMS    that release's SHA256SUMS text, pinned in the workflow
#                          (optional: without it, SHA256SUMS is downloaded from the
#                          same release, which then only protects against a broken
#                          download, not against a changed release page)
#   SHIPGATE_DOWNLOAD_BASE where releases live (default: the GitHub releases of
#                          shipgate/shipgate); the archive is
#                          BASE/vVERSION/shipgate-VERSION-TARGET.tar.gz
#   RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, GITHUB_PATH  (set by the runner)
# Writes the directory holding `shipgate` to GITHUB_PATH and prints its path.
set -euo pipefail

fail() {
  echo "::error::install shipgate: $*" >&2
  exit 1
}

version="${SHIPGATE_VERSION:-}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([.+-][0-9A-Za-z.+-]+)?$ ]] ||
  fail "shipgate-version must be a release version like 0.1.0, got '${version}'"
base="${SHIPGATE_DOWNLOAD_BASE:-https://github.com/shipgate/shipgate/releases/download}"
: "${RUNNER_TEMP:?RUNNER_TEMP is not set (run this inside a GitHub Actions job)}"
: "${GITHUB_PATH:?GITHUB_PATH is not set (run this inside a GitHub Actions job)}"

case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  *) fail "no shipgate release binary for runner ${RUNNER_OS:-?}/${RUNNER_ARCH:-?} (Linux or macOS, X64 or ARM64); use cargo install shipgate --locked instead" ;;
esac
archive="shipgate-${version}-${target}.tar.gz"
dir="$RUNNER_TEMP/shipgate-${version}-${target}"
mkdir -p "$dir"

download() { # URL FILE
  curl --fail --silent --show-error --location --proto '=https,file' --retry 3 \
    --output "$2" "$1" || fail "cannot download $1"
}

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

sums="$dir/SHA256SUMS"
if [[ -n "${SHIPGATE_SHA256SUMS:-}" ]]; then
  printf '%s\n' "$SHIPGATE_SHA256SUMS" >"$sums"
else
  download "$base/v${version}/SHA256SUMS" "$sums"
fi

# Exactly one line for this archive: "<64 hex>  NAME" (or "*NAME", binary mode).
expected=$(awk -v name="$archive" '($2 == name || $2 == "*" name) && $1 ~ /^[0-9a-f]+$/ && length($1) == 64 { print $1 }' "$sums")
[[ -n "$expected" ]] || fail "SHA256SUMS has no SHA-256 for $archive"
[[ "$(printf '%s\n' "$expected" | wc -l)" -eq 1 ]] || fail "SHA256SUMS lists $archive more than once"

download "$base/v${version}/${archive}" "$dir/$archive"
actual=$(sha256_of "$dir/$archive")
if [[ "$actual" != "$expected" ]]; then
  rm -f "$dir/$archive"
  fail "$archive has SHA-256 $actual, SHA256SUMS says $expected: not installed"
fi

tar -xzf "$dir/$archive" -C "$dir" shipgate || fail "$archive holds no shipgate binary"
chmod 0755 "$dir/shipgate"
reported=$("$dir/shipgate" --version) || fail "the installed shipgate does not run on this runner"
[[ "$reported" == "shipgate ${version} "* || "$reported" == "shipgate ${version}" ]] ||
  fail "the archive of $version holds '$reported'"
echo "$dir" >>"$GITHUB_PATH"
echo "installed $reported ($archive, sha256 $actual) in $dir"

#!/usr/bin/env bash
# By-hand interop check of shipgate-log against Go's reference signed-note and
# transparency-log code (golang.org/x/mod/sumdb/note and sumdb/tlog), using
# Debian's packaged Go sources, offline. Not run by CI (it needs a Go
# toolchain); CI runs the equivalent Python checks in tests/.
#   apt-get install golang-go golang-golang-x-mod-dev golang-golang-x-crypto-dev
set -euo pipefail
cd "$(dirname "$0")/../../../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/cache" \
    go build -o "$work/go-check" crates/shipgate-log/interop/go/main.go
cargo build --quiet -p shipgate-log --example interop
target/debug/examples/interop dump | "$work/go-check"
"$work/go-check" sign > "$work/signed"
vkey=$(head -1 "$work/signed")
tail -n +2 "$work/signed" | target/debug/examples/interop open "$vkey" "go.sum database tree"

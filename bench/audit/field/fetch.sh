#!/usr/bin/env bash
# Brings the labelled workflows to OUT (outside the repository: their
# licences vary, so only the labels live here). For each repository in
# labels.json: a shallow fetch of the labelled commit, then its workflows,
# local actions, scripts, package.json and GoReleaser configuration (what
# the audit reads in a checkout, see wanted.sh) written to
# OUT/<owner>+<repo>/.
# Without access to github.com, extract_mirror.sh builds the same tree from
# local snapshots.
#   usage: bench/audit/field/fetch.sh OUT
set -euo pipefail
OUT="${1:?usage: fetch.sh OUT}"
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=wanted.sh
. "$HERE/wanted.sh"
mkdir -p "$OUT"
python3 - "$HERE/labels.json" <<'PY' | while read -r repo commit; do
import json, sys
seen = {}
for f in json.load(open(sys.argv[1]))["files"]:
    seen[f["repo"]] = f["commit"]
for repo, commit in seen.items():
    print(repo, commit)
PY
    dir="$OUT/${repo/\//+}"
    git_dir="$OUT/.git-$(echo "$repo" | tr / +)"
    if [ ! -d "$git_dir" ]; then
        git init -q --bare "$git_dir"
    fi
    git --git-dir "$git_dir" fetch -q --depth 1 "https://github.com/$repo" "$commit"
    git --git-dir "$git_dir" ls-tree -r --name-only "$commit" | while read -r path; do
        wanted_path "$path" || continue
        mkdir -p "$dir/$(dirname "$path")"
        git --git-dir "$git_dir" show "$commit:$path" > "$dir/$path"
    done
    echo "$repo $commit"
done

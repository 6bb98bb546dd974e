#!/usr/bin/env bash
# Builds the same OUT tree as fetch.sh, from local git snapshots instead of
# github.com (for machines without network access to GitHub).
#
#   usage: bench/audit/field/extract_mirror.sh MIRROR_DIR OUT [SET...]
#
# MIRROR_DIR holds one directory per repository, named <owner>+<name>, whose
# git directory is <owner>+<name>/repo (bare) or <owner>+<name>/repo/.git
# (a clone). For each repository in labels.json (only those of the given
# sets, e.g. `held-out-6` or `held-out-7`, when SET is given) the labelled commit's
# .github/workflows/*.yml|yaml and the local actions under .github/
# (every action.yml|yaml, also those in a sub-directory of
# .github/workflows/, which a workflow can reach with
# `uses: ./.github/workflows/x`) are written to OUT/<owner>+<name>/.github/.
# A repository whose snapshot is missing or lacks the labelled commit is
# reported on stderr and skipped; the exit status is then 1.
set -euo pipefail
MIRROR="${1:?usage: extract_mirror.sh MIRROR_DIR OUT [SET...]}"
OUT="${2:?usage: extract_mirror.sh MIRROR_DIR OUT [SET...]}"
shift 2
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=wanted.sh
. "$HERE/wanted.sh"
mkdir -p "$OUT"
status=0
while read -r repo commit; do
    name="${repo/\//+}"
    git_dir=""
    for candidate in "$MIRROR/$name/repo/.git" "$MIRROR/$name/repo" "$MIRROR/$name"; do
        if git --git-dir "$candidate" rev-parse --git-dir >/dev/null 2>&1; then
            git_dir="$candidate"
            break
        fi
    done
    if [ -z "$git_dir" ]; then
        echo "skipped $repo: no git directory under $MIRROR/$name" >&2
        status=1
        continue
    fi
    if ! git --git-dir "$git_dir" cat-file -e "$commit^{commit}" 2>/dev/null; then
        echo "skipped $repo: commit $commit is not in $git_dir" >&2
        status=1
        continue
    fi
    dir="$OUT/$name"
    git --git-dir "$git_dir" ls-tree -r --name-only "$commit" | while read -r path; do
        wanted_path "$path" || continue
        mkdir -p "$dir/$(dirname "$path")"
        git --git-dir "$git_dir" show "$commit:$path" > "$dir/$path"
    done
    echo "$repo $commit"
done < <(python3 - "$HERE/labels.json" "$@" <<'PY'
import json, sys
wanted = set(sys.argv[2:])
seen = {}
for f in json.load(open(sys.argv[1]))["files"]:
    if not wanted or f.get("set", "tuning") in wanted:
        seen[f["repo"]] = f["commit"]
for repo, commit in seen.items():
    print(repo, commit)
PY
)
exit "$status"

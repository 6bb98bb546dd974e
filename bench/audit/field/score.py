#!/usr/bin/env python3
"""Scores `shipgate audit` against the labelled field set.

usage: score.py WORKFLOWS_DIR [SHIPGATE]

WORKFLOWS_DIR holds <owner>+<repo>/.github/workflows/* (see fetch.sh). The
audit runs once over the whole directory; a finding of a scored rule is a
true positive when labels.json expects that rule on that file and line,
otherwise a false positive; an expected finding not reported is a false
negative. Prints precision and recall per rule, separately for the tuning
set (used while the heuristics were tuned), the held-out set (labelled
before the audit was run on it, then used to fix the audit) and the second
held-out set "held-out-2" (labelled before the audit was run on it, then
used to fix it), the third held-out set "held-out-3" (labelled before the
audit was run on it, after the held-out-2 fixes were started), the fourth
held-out set "held-out-4" (labelled before the audit was run on it, after
the held-out-2 and held-out-3 fixes landed), the fifth held-out set
"held-out-5" (labelled before the audit was run on it, while the held-out-4
fixes were being made), the sixth held-out set "held-out-6" (labelled before
the audit was run on it, while the held-out-5 fixes were being made), the
seventh held-out set "held-out-7" (labelled before the audit was run on it,
while the held-out-4, -5 and -6 fixes were being made), and every
disagreement.

A set none of whose files is under WORKFLOWS_DIR is skipped (so a directory
built with `extract_mirror.sh MIRROR OUT held-out-3` scores that set alone);
a set only partly there is scored on the files that are, with a warning.
"""
import json
import os
import subprocess
import sys
from collections import Counter

here = os.path.dirname(os.path.abspath(__file__))
labels = json.load(open(os.path.join(here, "labels.json")))
root = sys.argv[1]
shipgate = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "shipgate"
rules = labels["scored_rules"]

out = subprocess.run(
    [shipgate, "audit", "--format", "json", "--no-ignores", "."],
    cwd=root, capture_output=True, text=True, check=False,
)
if out.returncode not in (0, 1):
    sys.exit(f"shipgate audit failed ({out.returncode}): {out.stderr}")
report = json.loads(out.stdout)


def name(f):
    return f["repo"].replace("/", "+", 1) + "/" + f["path"]


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def score(title, files):
    labelled = {name(f) for f in files}
    expected = {(name(f), e["rule"], e["line"]) for f in files for e in f["expected"]}
    scored = [x for x in report["findings"] if x["rule"] in rules and x["file"] in labelled]
    found = {(x["file"], x["rule"], x["line"]) for x in scored}
    high = {(x["file"], x["rule"], x["line"]) for x in scored if x["confidence"] == "high"}
    sure = {(x["file"], x["rule"], x["line"]) for x in scored if x["confidence"] != "low"}
    tp, fp, fn = Counter(), Counter(), Counter()
    for k in found:
        (tp if k in expected else fp)[k[1]] += 1
    for k in expected - found:
        fn[k[1]] += 1
    print(f"== {title}: {len(labelled)} labelled workflow files from "
          f"{len({f['repo'] for f in files})} projects, {len(expected)} expected findings")
    print(f"{'rule':<36}{'TP':>4}{'FP':>4}{'FN':>4}{'precision':>11}{'recall':>8}")
    for r in rules:
        t, p, n = tp[r], fp[r], fn[r]
        print(f"{r:<36}{t:>4}{p:>4}{n:>4}{ratio(t, t + p):>11}{ratio(t, t + n):>8}")
    t, p, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print(f"{'all scored rules':<36}{t:>4}{p:>4}{n:>4}{ratio(t, t + p):>11}{ratio(t, t + n):>8}")
    ht, hp = len(high & expected), len(high - expected)
    print(f"high-confidence findings only: {ht} TP, {hp} FP, precision {ratio(ht, ht + hp)}, "
          f"recall {ratio(ht, len(expected))}")
    mt, mp = len(sure & expected), len(sure - expected)
    print(f"medium- and high-confidence findings: {mt} TP, {mp} FP, precision "
          f"{ratio(mt, mt + mp)}, recall {ratio(mt, len(expected))}")
    for k in sorted(found - expected):
        print("false positive:", *k)
    for k in sorted(expected - found):
        print("missed:", *k)
    print()


def present(f):
    return os.path.isfile(os.path.join(root, name(f)))


sets = {}
for f in labels["files"]:
    sets.setdefault(f.get("set", "tuning"), []).append(f)
scored_files = []
for title in ("tuning", "held-out", "held-out-2", "held-out-3", "held-out-4", "held-out-5",
              "held-out-6", "held-out-7"):
    files = [f for f in sets.get(title, []) if present(f)]
    if not files:
        if title in sets:
            print(f"== {title} set: skipped, none of its {len(sets[title])} files is under {root}")
            print()
        continue
    if len(files) < len(sets[title]):
        print(f"warning: {len(sets[title]) - len(files)} of the {len(sets[title])} files of the "
              f"{title} set are not under {root}; scoring the rest")
    scored_files += files
    score(f"{title} set", files)
score("all", scored_files)

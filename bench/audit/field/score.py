#!/usr/bin/env python3
"""Scores `shipgate audit` against the labelled field set.

usage: score.py WORKFLOWS_DIR [SHIPGATE]

WORKFLOWS_DIR holds <owner>+<repo>/.github/workflows/* (see fetch.sh). The
audit runs once over the whole directory; a finding of a scored rule is a
true positive when labels.json expects that rule on that file and line,
otherwise a false positive; an expected finding not reported is a false
negative. Prints precision and recall per rule, and every miss.
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

expected = set()
for f in labels["files"]:
    name = f["repo"].replace("/", "+", 1) + "/" + f["path"]
    for e in f["expected"]:
        expected.add((name, e["rule"], e["line"]))
labelled = {f["repo"].replace("/", "+", 1) + "/" + f["path"] for f in labels["files"]}
found = {
    (x["file"], x["rule"], x["line"])
    for x in report["findings"]
    if x["rule"] in rules and x["file"] in labelled
}
high = {
    (x["file"], x["rule"], x["line"])
    for x in report["findings"]
    if x["rule"] in rules and x["file"] in labelled and x["confidence"] == "high"
}
unlabelled = {x["file"] for x in report["findings"]} - labelled
tp, fp, fn = Counter(), Counter(), Counter()
for k in found:
    (tp if k in expected else fp)[k[1]] += 1
for k in expected - found:
    fn[k[1]] += 1
print(f"{len(labelled)} labelled workflow files, {len(expected)} expected findings")
print(f"{'rule':<36}{'TP':>4}{'FP':>4}{'FN':>4}{'precision':>11}{'recall':>8}")
total = Counter()
for r in rules:
    t, p, n = tp[r], fp[r], fn[r]
    total.update(tp=t, fp=p, fn=n)
    prec = f"{t / (t + p):.2f}" if t + p else "-"
    rec = f"{t / (t + n):.2f}" if t + n else "-"
    print(f"{r:<36}{t:>4}{p:>4}{n:>4}{prec:>11}{rec:>8}")
t, p, n = total["tp"], total["fp"], total["fn"]
print(f"{'all scored rules':<36}{t:>4}{p:>4}{n:>4}{t / (t + p):>11.2f}{t / (t + n):>8.2f}")
ht = len(high & expected)
hp = len(high - expected)
print(f"high-confidence findings only: {ht} TP, {hp} FP, precision {ht / (ht + hp):.2f}, "
      f"recall {ht / len(expected):.2f}")
for k in sorted(found - expected):
    print("false positive:", *k)
for k in sorted(expected - found):
    print("missed:", *k)
if unlabelled:
    print("files with findings but no labels:", len(unlabelled))

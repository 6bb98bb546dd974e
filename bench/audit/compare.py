#!/usr/bin/env python3
"""Compare shipgate and zizmor findings on the rules both tools have.

usage: compare.py SHIPGATE.json ZIZMOR.json [DETAILS.txt]

Pairs (shipgate rule(s) <-> zizmor audit):
  unpinned-action                                  <-> unpinned-uses
  template-injection                               <-> template-injection
  missing-root-permissions + workflow-level-id-token <-> excessive-permissions
  long-lived-publish-token                         <-> use-trusted-publishing

Counts findings per file per tool for each pair, prints a table, and writes
every file whose counts differ (with lines and YAML paths) to DETAILS.
"""
import collections
import json
import os
import sys

PAIRS = [
    ("pinning", {"unpinned-action"}, {"unpinned-uses"}),
    ("template injection", {"template-injection"}, {"template-injection"}),
    ("workflow-level permissions", {"missing-root-permissions", "workflow-level-id-token"}, {"excessive-permissions"}),
    ("trusted publishing", {"long-lived-publish-token"}, {"use-trusted-publishing"}),
]


def norm(path):
    return os.path.normpath(path)


def shipgate_findings(path):
    data = json.load(open(path))
    for f in data["findings"]:
        yield f["rule"], norm(f["file"]), f["line"], f["yaml_path"]


def zizmor_route(route):
    parts = []
    for seg in route:
        if "Key" in seg:
            parts.append(("." if parts else "") + seg["Key"])
        elif "Index" in seg:
            parts.append(f"[{seg['Index']}]")
    return "".join(parts)


def zizmor_findings(path):
    data = json.load(open(path))
    for f in data:
        primary = next((l for l in f["locations"] if l["symbolic"]["kind"] == "Primary"), f["locations"][0])
        key = primary["symbolic"]["key"]
        file = key.get("Local", {}).get("verbatim_path") or key.get("Local", {}).get("given_path") or str(key)
        line = primary["concrete"]["location"]["start_point"]["row"] + 1
        route = zizmor_route(primary["symbolic"]["route"]["route"])
        yield f["ident"], norm(file), line, route


def main():
    sg_path, zz_path = sys.argv[1], sys.argv[2]
    details_path = sys.argv[3] if len(sys.argv) > 3 else None
    sg = list(shipgate_findings(sg_path))
    zz = list(zizmor_findings(zz_path))
    details = []
    print(f"{'rules (shipgate <-> zizmor)':<30} {'shipgate':>9} {'zizmor':>7} {'files same':>11} {'files differ':>13}")
    for name, sg_rules, zz_rules in PAIRS:
        a = collections.defaultdict(list)
        b = collections.defaultdict(list)
        for rule, file, line, route in sg:
            if rule in sg_rules:
                a[file].append((line, route, rule))
        for rule, file, line, route in zz:
            if rule in zz_rules:
                b[file].append((line, route, rule))
        files = sorted(set(a) | set(b))
        same = [f for f in files if len(a[f]) == len(b[f])]
        differ = [f for f in files if len(a[f]) != len(b[f])]
        total_a = sum(len(v) for v in a.values())
        total_b = sum(len(v) for v in b.values())
        print(f"{name:<30} {total_a:>9} {total_b:>7} {len(same):>11} {len(differ):>13}")
        details.append(f"== {name}: {len(differ)} files differ")
        for f in differ:
            details.append(f"-- {f}: shipgate {len(a[f])}, zizmor {len(b[f])}")
            for line, route, rule in sorted(a[f]):
                details.append(f"   shipgate {rule:<28} line {line:>4} {route}")
            for line, route, rule in sorted(b[f]):
                details.append(f"   zizmor   {rule:<28} line {line:>4} {route}")
    if details_path:
        with open(details_path, "w") as out:
            out.write("\n".join(details) + "\n")
        print(f"(per-file differences: {details_path})")


main()

#!/usr/bin/env python3
"""Print the test executables of one workspace package, as `cargo test
--workspace` built them, one per line: "<package dir>\t<executable>".

Reads cargo's --message-format=json on standard input. Used by .ci/run to run
a package's tests again with other settings without a second build: a
`cargo test -p PACKAGE` resolves that package's narrower feature set and
rebuilds dozens of crates, minutes of CI and gigabytes of disk.

usage: cargo test --workspace --no-run --message-format=json \
           | test_executables.py PACKAGE [TARGET]
"""
import json
import os
import sys


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-2].strip(), file=sys.stderr)
        return 2
    package, target = sys.argv[1], (sys.argv[2] if len(sys.argv) == 3 else None)
    found = 0
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if message.get("reason") != "compiler-artifact" or not message.get("executable"):
            continue
        if not message.get("profile", {}).get("test"):
            continue
        package_dir = os.path.dirname(message.get("manifest_path", ""))
        if os.path.basename(package_dir) != package:
            continue
        if target is not None and message.get("target", {}).get("name") != target:
            continue
        print(f"{package_dir}\t{message['executable']}")
        found += 1
    if found == 0:
        print(f"test_executables.py: no test executable of {package}"
              f"{' target ' + target if target else ''} in cargo's output", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

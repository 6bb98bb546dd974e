#!/usr/bin/env python3
"""Audit a running shipgate gate's transparency log with standard tools only:
Python's standard library and `cryptography` (Ed25519), no shipgate code.

    python3 log_audit.py GATE_URL

1. Reads the checkpoint verifier key from /v1/log/key and checks its key ID.
2. Verifies the C2SP signed-note signature of /v1/log/checkpoint.
3. Downloads every leaf from /v1/log/entries, checks it is canonical JSON
   (json.dumps with sorted keys, no spaces, ensure_ascii=False) and that
   SHA-256(0x00 || data) is the stated leaf hash.
4. Recomputes the tree head (RFC 9162 section 2.1.1) and compares it.
5. Verifies the inclusion proof of every leaf (section 2.1.3.2) and the
   consistency proof from every smaller size (section 2.1.4.2), and checks
   that a mutated proof is rejected.

Prints a JSON summary; exits 1 if anything failed.
"""

import base64
import hashlib
import json
import sys
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def get(url):
    with urllib.request.urlopen(url) as answer:
        return answer.read()


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def mth(leaves):
    if len(leaves) == 0:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, proof):
    """RFC 9162 section 2.1.4.2 (0 < first < second)."""
    if not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def main():
    gate = sys.argv[1].rstrip("/")
    failures = []

    # 1. The verifier key: <name>+<hex key id>+<base64(0x01 || key)>.
    vkey = get(gate + "/v1/log/key").decode().strip()
    name, key_id, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64)
    if key[0] != 1 or len(key) != 33:
        failures.append("the verifier key is not an Ed25519 key")
    if sha256(name.encode() + b"\n" + key)[:4].hex() != key_id:
        failures.append("the verifier key's ID does not match its name and key")
    public_key = Ed25519PublicKey.from_public_bytes(key[1:])

    # 2. The signed note: text, empty line, signature lines.
    note = get(gate + "/v1/log/checkpoint").decode()
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    verified = False
    for line in signatures.splitlines():
        prefix = "\u2014 " + name + " "
        if not line.startswith(prefix):
            continue
        signature = base64.b64decode(line[len(prefix):])
        if signature[:4].hex() != key_id:
            continue
        try:
            public_key.verify(signature[4:], text.encode())
            verified = True
        except InvalidSignature:
            failures.append("the checkpoint signature does not verify")
    if not verified:
        failures.append("no valid signature by the gate key on the checkpoint")
    origin, size_text, root_b64 = text.splitlines()[:3]
    if origin != name:
        failures.append("origin %r is not the key name %r" % (origin, name))
    size = int(size_text)
    root = base64.b64decode(root_b64)

    # 3. Every leaf, canonical and hashed.
    leaves = []
    while len(leaves) < size:
        page = json.loads(get("%s/v1/log/entries?start=%d&end=%d" % (gate, len(leaves), size)))
        for entry in page["entries"]:
            data = entry["data"]
            canonical = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            if canonical != data:
                failures.append("leaf %d is not canonical JSON" % entry["index"])
            h = leaf_hash(data.encode())
            if h.hex() != entry["leaf_hash"] or entry["index"] != len(leaves):
                failures.append("leaf %d: wrong hash or index" % entry["index"])
            leaves.append(h)

    # 4. The tree head.
    if mth(leaves) != root:
        failures.append("the leaves do not give the checkpoint's root")

    # 5. Every inclusion proof, every consistency proof to this size.
    inclusion = consistency = 0
    for index in range(size):
        proof = json.loads(get("%s/v1/log/proof/inclusion?index=%d&size=%d" % (gate, index, size)))
        hashes = [bytes.fromhex(p) for p in proof["proof"]]
        if not verify_inclusion(index, size, leaves[index], hashes, root):
            failures.append("inclusion proof of leaf %d does not verify" % index)
        if hashes:
            mutated = [hashes[0][:-1] + bytes([hashes[0][-1] ^ 1])] + hashes[1:]
            if verify_inclusion(index, size, leaves[index], mutated, root):
                failures.append("a mutated inclusion proof of leaf %d verified" % index)
        inclusion += 1
    for first in range(1, size):
        proof = json.loads(get("%s/v1/log/proof/consistency?from=%d&to=%d" % (gate, first, size)))
        hashes = [bytes.fromhex(p) for p in proof["proof"]]
        if not verify_consistency(first, size, mth(leaves[:first]), root, hashes):
            failures.append("consistency proof %d -> %d does not verify" % (first, size))
        if verify_consistency(first, size, mth(leaves[:first] + [leaves[0]])[::-1], root, hashes):
            failures.append("consistency proof %d -> %d verified against a wrong old root" % (first, size))
        consistency += 1

    print(json.dumps({"size": size, "origin": origin, "inclusion_checked": inclusion,
                      "consistency_checked": consistency, "failures": failures}))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""An independent RFC 9162 implementation, standard library only.

Reads from stdin a JSON batch made by the Rust test (tests/python_reference.rs):

    {"leaves": [hex leaf data, ...],
     "roots": [hex tree head for size 0, 1, ..., len(leaves)],
     "inclusion": [[index, size, "concatenated hex proof hashes"], ...],
     "consistency": [[old_size, new_size, "concatenated hex proof hashes"], ...]}

For every tree size it recomputes the tree head from the leaf data (RFC 9162
section 2.1.1) and compares it with Rust's. For every proof it rebuilds the
expected proof from the RFC's recursive definitions (PATH, section 2.1.3.1;
PROOF/SUBPROOF, section 2.1.4.1), compares it byte for byte, and verifies
Rust's proof with the RFC's verification algorithms (sections 2.1.3.2 and
2.1.4.2). To show that its verifier is not vacuous, it also checks that
mutated copies of a sample of the proofs are rejected.

Prints a JSON summary on stdout; exits 1 if anything disagreed.
"""

import hashlib
import json
import sys
from functools import lru_cache


def sha256(data):
    return hashlib.sha256(data).digest()


def hash_leaf(data):
    return sha256(b"\x00" + data)


def hash_children(left, right):
    return sha256(b"\x01" + left + right)


def largest_power_of_two_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def main():
    batch = json.load(sys.stdin)
    leaf_hashes = [hash_leaf(bytes.fromhex(d)) for d in batch["leaves"]]
    failures = []

    def fail(message):
        if len(failures) < 50:
            failures.append(message)

    @lru_cache(maxsize=None)
    def mth(start, end):
        """MTH(D[start:end]) by the recursive definition."""
        n = end - start
        if n == 0:
            return sha256(b"")
        if n == 1:
            return leaf_hashes[start]
        k = largest_power_of_two_below(n)
        return hash_children(mth(start, start + k), mth(start + k, end))

    def path(m, start, end):
        """PATH(m, D[start:end]), m relative to start."""
        n = end - start
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if m < k:
            return path(m, start, start + k) + [mth(start + k, end)]
        return path(m - k, start + k, end) + [mth(start, start + k)]

    def subproof(m, start, end, whole):
        n = end - start
        if m == n:
            return [] if whole else [mth(start, end)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return subproof(m, start, start + k, whole) + [mth(start + k, end)]
        return subproof(m - k, start + k, end, False) + [mth(start, start + k)]

    def consistency(m, n):
        if m == 0 or m == n:
            return []
        return subproof(m, 0, n, True)

    def verify_inclusion(index, size, leaf, proof, root):
        """RFC 9162 section 2.1.3.2."""
        if index >= size:
            return False
        fn, sn, r = index, size - 1, leaf
        for p in proof:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = hash_children(p, r)
                if not fn & 1:
                    while not fn & 1 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                r = hash_children(r, p)
            fn >>= 1
            sn >>= 1
        return sn == 0 and r == root

    def verify_consistency(first, second, first_hash, second_hash, proof):
        """RFC 9162 section 2.1.4.2, plus the trivial cases it leaves out."""
        if first > second:
            return False
        if first == second:
            return proof == [] and first_hash == second_hash
        if first == 0:
            return proof == [] and first_hash == sha256(b"")
        if not proof:
            return False
        if first & (first - 1) == 0:
            proof = [first_hash] + proof
        fn, sn = first - 1, second - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        fr = sr = proof[0]
        for c in proof[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = hash_children(c, fr)
                sr = hash_children(c, sr)
                if not fn & 1:
                    while not fn & 1 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                sr = hash_children(sr, c)
            fn >>= 1
            sn >>= 1
        return fr == first_hash and sr == second_hash and sn == 0

    def split_hashes(text):
        raw = bytes.fromhex(text)
        if len(raw) % 32:
            raise ValueError("proof length is not a multiple of 32 bytes")
        return [raw[i:i + 32] for i in range(0, len(raw), 32)]

    def flip(proof, i):
        changed = bytearray(proof[i])
        changed[i % 32] ^= 0x01
        return proof[:i] + [bytes(changed)] + proof[i + 1:]

    roots = [bytes.fromhex(r) for r in batch["roots"]]
    for size, rust_root in enumerate(roots):
        if mth(0, size) != rust_root:
            fail(f"root of size {size}: rust {rust_root.hex()} python {mth(0, size).hex()}")

    mutations_rejected = 0
    for number, (index, size, text) in enumerate(batch["inclusion"]):
        proof = split_hashes(text)
        root = mth(0, size)
        if proof != path(index, 0, size):
            fail(f"inclusion proof of leaf {index} in size {size} differs from RFC PATH")
        if not verify_inclusion(index, size, leaf_hashes[index], proof, root):
            fail(f"inclusion proof of leaf {index} in size {size} does not verify")
        if number % 41 == 0:
            mutants = [(index, size, proof + [root]), (index + 1, size, proof), (index, size * 2, proof)]
            if proof:
                mutants += [(index, size, proof[:-1]), (index, size, flip(proof, len(proof) - 1))]
            for m_index, m_size, m_proof in mutants:
                ok = m_index < len(leaf_hashes) and verify_inclusion(
                    m_index, m_size, leaf_hashes[m_index], m_proof, root)
                if ok:
                    fail(f"python verifier accepted a mutated inclusion proof ({index}, {size})")
                else:
                    mutations_rejected += 1

    for number, (old, new, text) in enumerate(batch["consistency"]):
        proof = split_hashes(text)
        old_root, new_root = mth(0, old), mth(0, new)
        if proof != consistency(old, new):
            fail(f"consistency proof {old} -> {new} differs from RFC PROOF")
        if not verify_consistency(old, new, old_root, new_root, proof):
            fail(f"consistency proof {old} -> {new} does not verify")
        if number % 41 == 0 and proof:
            mutants = [(old_root, proof + [new_root]), (old_root, proof[:-1]),
                       (old_root, flip(proof, 0)), (new_root, proof)]
            for m_old_root, m_proof in mutants:
                if verify_consistency(old, new, m_old_root, new_root, m_proof):
                    fail(f"python verifier accepted a mutated consistency proof ({old}, {new})")
                else:
                    mutations_rejected += 1

    json.dump({
        "roots_checked": len(roots),
        "inclusion_checked": len(batch["inclusion"]),
        "consistency_checked": len(batch["consistency"]),
        "mutations_rejected": mutations_rejected,
        "failures": failures,
    }, sys.stdout)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

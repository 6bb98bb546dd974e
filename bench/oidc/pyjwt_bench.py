#!/usr/bin/env python3
"""PyJWT's verification throughput on the tokens and keys the Rust bench wrote.

Usage: pyjwt_bench.py DIR SECONDS
Reads DIR/tokens.json, verifies each token the way shipgate does (signature
with the key from the JWKS, issuer, audience, required exp/iat/nbf, leeway
60 s, two expected claims), single-threaded, and writes DIR/pyjwt.json with
the median rate of three rounds per algorithm.
"""

import json
import sys
import time

import jwt


def main(directory, seconds):
    with open(f"{directory}/tokens.json") as f:
        data = json.load(f)
    keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(data["jwks"]).keys}
    expect = data["expect"]
    results = {}
    for alg, token in data["tokens"].items():
        def verify():
            # The key is looked up per token as a verifier must (kid from
            # the header); the JWKS itself is parsed once, like a warm cache.
            kid = jwt.get_unverified_header(token)["kid"]
            claims = jwt.decode(
                token, keys[kid].key, algorithms=[alg], audience=data["audience"],
                issuer=data["issuer"], leeway=60,
                options={"require": ["exp", "iat", "nbf", "iss", "aud"]},
            )
            for name, value in expect.items():
                if claims.get(name) != value:
                    raise SystemExit(f"claim {name} mismatch")

        verify()
        rates = []
        for _ in range(3):
            count = 0
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                for _ in range(64):
                    verify()
                count += 64
            rates.append(count / (time.perf_counter() - start))
        rates.sort()
        results[alg] = rates[1]
        print(f"PyJWT         {alg:<6} {rates[1]:>10.0f} verifications/s (median of 3)")
    with open(f"{directory}/pyjwt.json", "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], float(sys.argv[2]))

#!/usr/bin/env python3
"""Check one passkey decision from a shipgate transparency log, without shipgate.

Usage:
    check_passkey_approval.py ENROLLED.json DECISION.json [RELEASED.json]

Each file holds one log leaf as JSON (the leaf bytes themselves, or the
"event" of an entry that `shipgate log show --json` prints):
  ENROLLED.json  the `passkey_enrolled` leaf of the credential used
  DECISION.json  the `approved` or `rejected` leaf holding the assertion
  RELEASED.json  optional: the release's `released` leaf, whose
                 manifest_sha256 must be the digest the decision commits to

Needs the `cryptography` package. Exit code 0: the assertion is valid; 1: it
is not (the reason is printed); 2: unreadable input.
"""

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def b64url(text):
    """Decode base64url without padding, refusing any other spelling."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise ValueError(f"not canonical base64url: {text[:40]!r}")
    return raw


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in JSON")
    return dict(pairs)


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    leaves = []
    for path in argv[1:]:
        with open(path, "rb") as f:
            leaves.append(json.loads(f.read(), object_pairs_hook=no_duplicates))
    enrolled, decision = leaves[0], leaves[1]
    key = enrolled["detail"]["passkey"]
    passkey = decision["detail"]["passkey"]
    if decision["detail"].get("approval") != "passkey":
        fail("the decision is not a passkey decision")
    if enrolled["detail"]["maintainer"] != decision["actor"]:
        fail("the credential belongs to another maintainer")
    if key["credential_id"] != passkey["credential_id"]:
        fail("the decision uses another credential")

    # 1. The commitment and its challenge.
    verdict = {"approved": "approve", "rejected": "reject"}[decision["kind"]]
    commitment = (
        "shipgate passkey decision v1\n"
        f"origin {passkey['origin']}\n"
        f"release {decision['release_id']}\n"
        f"package {decision['package']}\n"
        f"version {decision['version']}\n"
        f"manifest {passkey['manifest_sha256']}\n"
        f"decision {verdict}\n"
        f"nonce {passkey['nonce']}\n"
    )
    challenge = base64.urlsafe_b64encode(hashlib.sha256(commitment.encode()).digest())
    challenge = challenge.rstrip(b"=").decode()

    # 2. What the browser said.
    client_json = b64url(passkey["client_data_json"])
    client = json.loads(client_json, object_pairs_hook=no_duplicates)
    if client.get("type") != "webauthn.get":
        fail(f"clientDataJSON type is {client.get('type')!r}")
    if client.get("challenge") != challenge:
        fail("the signed challenge is not this decision's commitment")
    if client.get("origin") != passkey["origin"]:
        fail(f"the browser reported origin {client.get('origin')!r}")
    if client.get("crossOrigin", False) is not False:
        fail("the decision was made inside another site's frame")

    # 3. What the authenticator said.
    if passkey["rp_id"] != key["rp_id"]:
        fail("the decision names another relying party than the enrolment")
    data = b64url(passkey["authenticator_data"])
    if len(data) < 37:
        fail("authenticator data shorter than 37 bytes")
    if data[:32] != hashlib.sha256(key["rp_id"].encode()).digest():
        fail("authenticator data is for another relying party")
    if not data[32] & 0x01:
        fail("the user-present flag is clear")

    # 4. The signature, with the enrolled key.
    signed = data + hashlib.sha256(client_json).digest()
    signature = b64url(passkey["signature"])
    public = b64url(key["public_key"])
    try:
        if key["alg"] == -7:
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
            point.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        elif key["alg"] == -8:
            ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, signed)
        else:
            fail(f"unknown algorithm {key['alg']}")
    except InvalidSignature:
        fail("the signature does not verify with the enrolled key")

    # 5. The digest the release was signed with.
    if len(leaves) == 3:
        released = leaves[2]
        if released["release_id"] != decision["release_id"]:
            fail("the released leaf is about another release")
        if released["detail"]["manifest_sha256"] != passkey["manifest_sha256"]:
            fail("the release was signed with another manifest than the one approved")

    counter = int.from_bytes(data[33:37], "big")
    print(
        f"ok: {decision['actor']} {decision['kind']} {decision['package']} "
        f"{decision['version']} (release {decision['release_id']}) over manifest "
        f"{passkey['manifest_sha256']} with credential {key['credential_id']} "
        f"(signature counter {counter})"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)

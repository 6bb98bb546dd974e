"""An independent check of the passkey approvals in a gate's log, with
Python's standard library and `cryptography` (no shipgate code): reads the
leaves (a JSON list of leaf texts) on stdin, prints the number of approvals
(and rejections) it verified, exits non-zero with the reason otherwise.

For each `approved` leaf with "approval": "passkey": the client data is a
webauthn.get over base64url(SHA-256(commitment text)) from the recorded
origin; the authenticator data names the rp id and has the user-present
flag; the ES256 signature over authenticatorData || SHA-256(clientDataJSON)
verifies with the key of the credential's `passkey_enrolled` leaf; the
manifest digest is the one the `released` leaf names.
"""

import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fail(message):
    print("passkey check: " + message, file=sys.stderr)
    sys.exit(1)


leaves = [json.loads(text) for text in json.load(sys.stdin)]
keys = {}
released = {}
for leaf in leaves:
    if leaf["kind"] == "passkey_enrolled":
        p = leaf["detail"]["passkey"]
        keys[p["credential_id"]] = p
    if leaf["kind"] == "released":
        released[leaf["release_id"]] = leaf["detail"]["manifest_sha256"]

verified = 0
for leaf in leaves:
    if leaf["kind"] not in ("approved", "rejected"):
        continue
    decision = "approve" if leaf["kind"] == "approved" else "reject"
    detail = leaf["detail"]
    if detail.get("approval") != "passkey":
        fail("decision of seq %d is not a passkey decision: %r" % (leaf["seq"], detail))
    p = detail["passkey"]
    enrolled = keys.get(p["credential_id"]) or fail("credential %s was never enrolled" % p["credential_id"])
    commitment = (
        "shipgate passkey decision v1\norigin %s\nrelease %d\npackage %s\nversion %s\n"
        "manifest %s\ndecision %s\nnonce %s\n"
        % (p["origin"], leaf["release_id"], leaf["package"], leaf["version"], p["manifest_sha256"], decision, p["nonce"])
    )
    challenge = base64.urlsafe_b64encode(hashlib.sha256(commitment.encode()).digest()).decode().rstrip("=")
    client_data_bytes = b64url(p["client_data_json"])
    client = json.loads(client_data_bytes)
    if client["type"] != "webauthn.get":
        fail("client data type %r" % client["type"])
    if client["challenge"] != challenge:
        fail("challenge %r is not the commitment's %r" % (client["challenge"], challenge))
    if client["origin"] != p["origin"]:
        fail("origin %r, recorded %r" % (client["origin"], p["origin"]))
    auth = b64url(p["authenticator_data"])
    if len(auth) < 37 or auth[:32] != hashlib.sha256(enrolled["rp_id"].encode()).digest():
        fail("authenticator data does not name rp id %r" % enrolled["rp_id"])
    if not auth[32] & 0x01:
        fail("user presence flag not set")
    if enrolled["alg"] != -7:
        fail("unexpected algorithm %r" % enrolled["alg"])
    point = b64url(enrolled["public_key"])
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    key.verify(b64url(p["signature"]), auth + hashlib.sha256(client_data_bytes).digest(), ec.ECDSA(hashes.SHA256()))
    if decision == "approve" and released.get(leaf["release_id"]) != p["manifest_sha256"]:
        fail("the released manifest digest differs from the approved one")
    verified += 1
print(verified)

#!/usr/bin/env python3
"""An independent C2SP signed-note and tlog-checkpoint implementation, in
Python with the `cryptography` package for Ed25519 (standard library
otherwise). Used by tests/note_interop.rs in both directions.

Reads JSON from stdin:

    {"verify": [{"vkey": "<name>+<hex id>+<base64 key>", "note": "...", "origin": "..."}],
     "sign": [{"name": "...", "seed": "<hex 32 bytes>", "text": "..."}]}

and prints:

    {"verified": [{"ok": true, "size": N, "root": "<base64>", "extensions": [...]}
                  | {"ok": false, "error": "..."}],
     "signed": [{"note": "...", "vkey": "..."}]}
"""

import base64
import binascii
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

EM_DASH_SPACE = "\u2014 "


def key_id(name, type_and_key):
    """SHA-256(name || 0x0A || type byte || public key), first 4 bytes."""
    return hashlib.sha256(name.encode() + b"\n" + type_and_key).digest()[:4]


def valid_name(name):
    return name != "" and "+" not in name and not any(c.isspace() or ord(c) < 0x20 for c in name)


def parse_vkey(vkey):
    name, id_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64, validate=True)
    if not valid_name(name) or len(id_hex) != 8 or key[:1] != b"\x01" or len(key) != 33:
        raise ValueError("malformed verifier key")
    if key_id(name, key) != bytes.fromhex(id_hex):
        raise ValueError("verifier key ID does not match")
    return name, bytes.fromhex(id_hex), Ed25519PublicKey.from_public_bytes(key[1:])


def open_note(note, vkey):
    """Returns the note text if `vkey` signed it, raising ValueError otherwise."""
    name, wanted_id, public_key = parse_vkey(vkey)
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise ValueError("control character in note")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise ValueError("no signature block")
    text, block = note[:split + 1], note[split + 2:]
    verified = False
    for line in block[:-1].split("\n"):
        if not line.startswith(EM_DASH_SPACE):
            raise ValueError("malformed signature line")
        signer, encoded = line[len(EM_DASH_SPACE):].split(" ", 1)
        raw = base64.b64decode(encoded, validate=True)
        if not valid_name(signer) or len(raw) < 5:
            raise ValueError("malformed signature line")
        if signer != name or raw[:4] != wanted_id:
            continue  # someone else's signature: ignored
        try:
            public_key.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise ValueError("bad signature by the trusted key")
        verified = True
    if not verified:
        raise ValueError("not signed by the trusted key")
    return text


def parse_checkpoint(text, origin):
    lines = text[:-1].split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise ValueError("not a checkpoint of this origin")
    size_text = lines[1]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise ValueError("bad tree size")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32 or base64.b64encode(root).decode() != lines[2]:
        raise ValueError("bad root hash")
    if any(line == "" for line in lines[3:]):
        raise ValueError("empty extension line")
    return {"ok": True, "size": int(size_text), "root": lines[2], "extensions": lines[3:]}


def sign(name, seed_hex, text):
    private_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = key_id(name, b"\x01" + public)
    signature = base64.b64encode(kid + private_key.sign(text.encode())).decode()
    vkey = "%s+%s+%s" % (name, kid.hex(), base64.b64encode(b"\x01" + public).decode())
    return {"note": text + "\n" + EM_DASH_SPACE + name + " " + signature + "\n", "vkey": vkey}


def main():
    batch = json.load(sys.stdin)
    verified = []
    for case in batch.get("verify", []):
        try:
            text = open_note(case["note"], case["vkey"])
            verified.append(parse_checkpoint(text, case["origin"]))
        except (ValueError, binascii.Error) as error:
            verified.append({"ok": False, "error": str(error)})
    signed = [sign(c["name"], c["seed"], c["text"]) for c in batch.get("sign", [])]
    json.dump({"verified": verified, "signed": signed}, sys.stdout)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyJWT peer for shipgate's OIDC end-to-end tests (run by tests/cli/oidc/peer.rs).

verify-url JWKS_URL ISSUER AUDIENCE TOKEN...
    Verify shipgate-issued tokens with PyJWT, fetching keys with PyJWKClient
    from a running `shipgate oidc serve`. Prints each token's claims as one
    JSON line; exits non-zero at the first token PyJWT refuses.
verify-file JWKS_FILE ISSUER AUDIENCE TOKEN...
    The same from a jwks.json written by `shipgate oidc publish`.
issuer ALG DIR AUDIENCE
    Be an issuer: generate an ALG key with `cryptography`, bind a loopback
    HTTP server on a free port, write DIR/.well-known/{openid-configuration,
    jwks.json} for it, write DIR/tokens.json (a valid token and tampered or
    otherwise bad ones, all made with PyJWT or by hand), print
    "listening on http://127.0.0.1:PORT" and serve DIR until killed.
"""

import base64
import functools
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ALGORITHMS = ["RS256", "ES256", "EdDSA"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_options():
    return {"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]}


def verify_url(jwks_url, issuer, audience, *tokens):
    client = jwt.PyJWKClient(jwks_url)
    for token in tokens:
        signing_key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token, signing_key.key, algorithms=ALGORITHMS, audience=audience,
            issuer=issuer, options=decode_options(),
        )
        print(json.dumps(claims, sort_keys=True), flush=True)


def verify_file(jwks_file, issuer, audience, *tokens):
    with open(jwks_file) as f:
        jwks = jwt.PyJWKSet.from_dict(json.load(f))
    for token in tokens:
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwks.keys if k.key_id == kid)
        claims = jwt.decode(
            token, key.key, algorithms=ALGORITHMS, audience=audience,
            issuer=issuer, options=decode_options(),
        )
        print(json.dumps(claims, sort_keys=True), flush=True)


def new_key(alg):
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise SystemExit(f"unknown algorithm {alg}")
    return private, jwk


def issuer(alg, directory, audience):
    private, jwk = new_key(alg)
    kid = f"pyjwt-{alg.lower()}"
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"

    well_known = os.path.join(directory, ".well-known")
    os.makedirs(well_known, exist_ok=True)
    with open(os.path.join(well_known, "openid-configuration"), "w") as f:
        json.dump({"issuer": url, "jwks_uri": f"{url}/.well-known/jwks.json"}, f)
    with open(os.path.join(well_known, "jwks.json"), "w") as f:
        json.dump({"keys": [jwk]}, f)

    now = int(time.time())
    claims = {
        "iss": url, "sub": "execution:7", "aud": audience, "iat": now, "nbf": now,
        "exp": now + 600, "jti": "py-1", "node_id": "deploy-prod", "run": 42,
    }

    def sign(payload, headers=None, key=private, algorithm=alg):
        return jwt.encode(payload, key, algorithm=algorithm, headers=headers or {"kid": kid})

    valid = sign(claims)
    head, body, sig = valid.split(".")
    other_body = b64(json.dumps({**claims, "node_id": "deploy-dev"}).encode())
    unsigned_head = b64(json.dumps({"alg": "none", "kid": kid}).encode())
    hs_head = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    hs_input = f"{hs_head}.{body}".encode()
    hs_sig = b64(hmac.new(json.dumps(jwk).encode(), hs_input, hashlib.sha256).digest())
    tokens = {
        "valid": valid,
        "tampered_payload": f"{head}.{other_body}.{sig}",
        "tampered_signature": f"{head}.{body}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}",
        "wrong_audience": sign({**claims, "aud": "someone-else"}),
        "expired": sign({**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}),
        "not_yet_valid": sign({**claims, "nbf": now + 3600, "exp": now + 7200}),
        "no_exp": sign({k: v for k, v in claims.items() if k != "exp"}),
        "wrong_issuer": sign({**claims, "iss": url + "/other"}),
        "unknown_kid": sign(claims, headers={"kid": "not-in-the-jwks"}),
        "alg_none": f"{unsigned_head}.{body}.{sig}",
        "hs256_with_public_key": f"{hs_head}.{body}.{hs_sig}",
        "other_key": sign(claims, key=new_key(alg)[0]),
        "two_audiences": sign({**claims, "aud": [audience, "someone-else"]}),
        "string_exp": sign({**claims, "exp": str(now + 600)}),
    }
    with open(os.path.join(directory, "tokens.json"), "w") as f:
        json.dump(tokens, f)

    print(f"listening on {url}", flush=True)
    server.serve_forever()


# command: (function, number of arguments, more allowed)
COMMANDS = {
    "verify-url": (verify_url, 4, True),
    "verify-file": (verify_file, 4, True),
    "issuer": (issuer, 3, False),
}


def main(argv):
    command = COMMANDS.get(argv[1] if len(argv) > 1 else "")
    if command is None:
        raise SystemExit(__doc__)
    function, count, more = command
    given = len(argv) - 2
    if given < count or (given > count and not more):
        raise SystemExit(__doc__)
    function(*argv[2:])


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env python3
"""Time to cosign one checkpoint: add-checkpoint round trips on loopback
against a real `shipgate witness serve` (state fsynced before each answer).

Usage: roundtrip.py PATH/TO/shipgate [N]    (needs the `cryptography` package)

The log side is written here with Python's `cryptography` (an independent
signed-note implementation): one checkpoint is submitted first with `old 0`,
then N times more with `old SIZE` (the witness re-cosigns the same tree head
with a new timestamp and rewrites its state each time), over one keep-alive
HTTP/1.1 connection. Prints the median, p90 and p99 round trip.
"""
import base64, hashlib, http.client, os, socket, subprocess, sys, tempfile, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

shipgate = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 500

origin = "bench.example/log"
key = Ed25519PrivateKey.generate()
pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
key_id = hashlib.sha256(origin.encode() + b"\n\x01" + pub).digest()[:4]
vkey = "%s+%s+%s" % (origin, key_id.hex(), base64.b64encode(b"\x01" + pub).decode())
size = 1000
text = "%s\n%d\n%s\n" % (origin, size, base64.b64encode(hashlib.sha256(b"root").digest()).decode())
signature = base64.b64encode(key_id + key.sign(text.encode())).decode()
note = text + "\n\u2014 %s %s\n" % (origin, signature)

with tempfile.TemporaryDirectory() as work:
    subprocess.run([shipgate, "witness", "keygen", "--name", "bench.example/w", "--key",
                    os.path.join(work, "w.key")], check=True, stdout=subprocess.DEVNULL)
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    server = subprocess.Popen([shipgate, "witness", "serve", "--key", os.path.join(work, "w.key"),
                               "--state", os.path.join(work, "state"), "--listen",
                               "127.0.0.1:%d" % port, "--log", vkey], stdout=subprocess.PIPE)
    try:
        assert server.stdout.readline().decode().startswith("listening on")
        conn = http.client.HTTPConnection("127.0.0.1", port)
        def post(old):
            conn.request("POST", "/add-checkpoint", ("old %d\n\n" % old + note).encode())
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body)
            return body
        post(0)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            post(size)
            times.append(time.perf_counter() - start)
        times.sort()
        pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000
        print("add-checkpoint round trip over %d requests: median %.2f ms, p90 %.2f ms, p99 %.2f ms"
              % (n, pick(0.5), pick(0.9), pick(0.99)))
    finally:
        server.terminate()
        server.wait()

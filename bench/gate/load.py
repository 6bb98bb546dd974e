#!/usr/bin/env python3
"""Load driver for the release gate: N concurrent stage-then-approve flows.

Reads a plan (JSON list, one entry per flow: gate URL, package, version, CI
token, maintainer token, TOTP secret), starts every flow at once on its own
thread, and reports throughput and p50/p99 latency per call type. Standard
library only. Each flow's maintainer approves exactly once, so no TOTP code
is reused within a step (the gate refuses a reused step by design).
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import statistics
import struct
import sys
import threading
import time
import urllib.parse


def totp(secret, now=None):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(now if now is not None else time.time()) // 30
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 15
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


def request(url, method, path, headers, body):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return response.status, data, elapsed


def stage(flow, payload):
    boundary = "shipgatebench" + os.urandom(8).hex()
    name = "artifact-%s.bin" % flow["version"]
    announce = json.dumps({"files": [{
        "name": name,
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }]}).encode()
    body = b"".join([
        b"--" + boundary.encode() + b"\r\n",
        b'Content-Disposition: form-data; name="announce"\r\n',
        b"Content-Type: application/json\r\n\r\n", announce, b"\r\n",
        b"--" + boundary.encode() + b"\r\n",
        b'Content-Disposition: form-data; name="file.0"; filename="f"\r\n',
        b"Content-Type: application/octet-stream\r\n\r\n", payload, b"\r\n",
        b"--" + boundary.encode() + b"--\r\n",
    ])
    headers = {
        "Authorization": "Bearer " + flow["ci_token"],
        "Content-Type": "multipart/form-data; boundary=" + boundary,
    }
    path = "/v1/packages/%s/versions/%s" % (flow["package"], flow["version"])
    return request(flow["gate"], "POST", path, headers, body)


def approve(flow, release_id):
    body = json.dumps({"code": totp(flow["totp_secret"])}).encode()
    headers = {
        "Authorization": "Bearer " + flow["maintainer_token"],
        "Content-Type": "application/json",
    }
    return request(flow["gate"], "POST", "/v1/releases/%d/approve" % release_id, headers, body)


def main():
    plan = json.load(open(sys.argv[1]))
    payload_size = int(sys.argv[2]) if len(sys.argv) > 2 else 65536
    payload = os.urandom(payload_size)
    latencies = {"stage": [], "approve": [], "flow": []}
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plan))

    def run(flow):
        barrier.wait()
        start = time.perf_counter()
        status, data, elapsed = stage(flow, payload)
        if status != 201:
            with lock:
                errors.append(("stage", status, data[:200]))
            return
        release_id = json.loads(data)["id"]
        status2, data2, elapsed2 = approve(flow, release_id)
        total = time.perf_counter() - start
        with lock:
            latencies["stage"].append(elapsed)
            if status2 != 200 or json.loads(data2)["state"] != "released":
                errors.append(("approve", status2, data2[:200]))
            else:
                latencies["approve"].append(elapsed2)
                latencies["flow"].append(total)

    threads = [threading.Thread(target=run, args=(flow,)) for flow in plan]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall

    def pct(values, p):
        values = sorted(values)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

    print("flows: %d concurrent, payload %d bytes, wall %.2f s, %.1f flows/s, errors %d"
          % (len(plan), payload_size, wall, len(latencies["flow"]) / wall, len(errors)))
    print("%-8s %6s %10s %10s %10s %10s" % ("call", "n", "p50 ms", "p99 ms", "max ms", "mean ms"))
    for call in ("stage", "approve", "flow"):
        values = latencies[call]
        if values:
            print("%-8s %6d %10.1f %10.1f %10.1f %10.1f" % (
                call, len(values), pct(values, 50) * 1000, pct(values, 99) * 1000,
                max(values) * 1000, statistics.mean(values) * 1000))
    for error in errors[:5]:
        print("error:", error)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

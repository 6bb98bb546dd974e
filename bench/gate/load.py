#!/usr/bin/env python3
"""Load driver for the release gate (run by bench/gate/run.sh).

Two modes:

  load.py flows PLAN [PAYLOAD_BYTES]
      N concurrent stage-then-approve flows, all started at once (one thread
      per flow). PLAN is a JSON list, one entry per flow: gate URL, package,
      version, CI token, maintainer token, TOTP secret. Each flow's maintainer
      approves exactly once, so no TOTP code is reused within a step.

  load.py drill PLAN
      The load drill: CLIENTS concurrent clients (asyncio coroutines, spread
      over PROCS processes; not threads, whose GIL hand-offs would add
      seconds to the measured latencies) stage, list, approve and fetch
      against one gate for SECONDS, each on its own keep-alive connection. PLAN is a JSON object (see
      run.sh): gate URL and pid, the CI issuer (URL, key file, kid) to mint
      staging tokens with PyJWT, and one maintainer (token, TOTP secret) per
      client. A client stages a release when it has none waiting, approves it
      with the next TOTP step its maintainer has not used (at most one step
      per 30 s: the gate refuses a reused step by design, so approvals and
      stagings run at about CLIENTS / 30 per second), and in between lists the
      staged releases and fetches files of released versions. A few calls are
      deliberately refused, to show refusals stay correct under load: a
      CI token presented to approve, a replayed CI token, a fetch of a
      version that is staged but not released. Prints throughput and p50/p99
      latency per call, every non-2xx answer by kind (expected refusals are
      listed as such; anything else is an error and makes the exit code 1),
      and the gate's RSS sampled every second.

Standard library only, except PyJWT + cryptography in drill mode (the same
peers the test suite uses).
"""
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import random
import statistics
import struct
import sys
import threading
import time
import urllib.parse

DIGITS = 8


def totp(secret, step):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%0*d" % (DIGITS, value % 10 ** DIGITS)


def current_step():
    return int(time.time()) // 30


def multipart_body(name, payload):
    boundary = "shipgatebench" + os.urandom(8).hex()
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
    return "multipart/form-data; boundary=" + boundary, body


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# ---------------------------------------------------------------- flows mode

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


def flows(plan_file, payload_size):
    plan = json.load(open(plan_file))
    payload = os.urandom(payload_size)
    latencies = {"stage": [], "approve": [], "flow": []}
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plan))

    def run(flow):
        barrier.wait()
        start = time.perf_counter()
        content_type, body = multipart_body("artifact-%s.bin" % flow["version"], payload)
        headers = {"Authorization": "Bearer " + flow["ci_token"], "Content-Type": content_type}
        path = "/v1/packages/%s/versions/%s" % (flow["package"], flow["version"])
        status, data, elapsed = request(flow["gate"], "POST", path, headers, body)
        if status != 201:
            with lock:
                errors.append(("stage", status, data[:200]))
            return
        release_id = json.loads(data)["id"]
        code = totp(flow["totp_secret"], current_step())
        headers = {"Authorization": "Bearer " + flow["maintainer_token"],
                   "Content-Type": "application/json"}
        status2, data2, elapsed2 = request(flow["gate"], "POST", "/v1/releases/%d/approve" % release_id,
                                           headers, json.dumps({"code": code}).encode())
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
    return 1 if errors else 0


# ---------------------------------------------------------------- drill mode

# Refusals the drill provokes on purpose: (call, status, error code) -> kind.
EXPECTED = {
    ("approve with CI token", 401, "unauthorized"): "CI token presented to approve",
    ("stage replayed token", 401, "unauthorized"): "replayed CI token",
    ("fetch staged", 404, "not_found"): "fetch of a staged, unreleased version",
}


class Connection:
    """A keep-alive HTTP/1.1 connection on asyncio streams (one per client)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method, path, headers, body):
        """Sends one request; returns (status, body). Raises on a broken connection."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (self.host, self.port),
                "Content-Length: %d" % len(body)]
        head += ["%s: %s" % item for item in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed by the gate")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, data

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Client:
    """One simulated user: a keep-alive connection and a maintainer."""

    def __init__(self, index, plan, minter, results, deadline, rng):
        self.index = index
        self.plan = plan
        self.maintainer = plan["clients"][index]
        self.minter = minter
        self.results = results
        self.deadline = deadline
        self.rng = rng
        # Replicas (plan "gates"): the clients are spread over them in turn.
        gates = plan.get("gates") or [plan["gate"]]
        parts = urllib.parse.urlsplit(gates[index % len(gates)])
        self.conn = Connection(parts.hostname, parts.port)
        self.pending = None          # (release id, version) staged, not approved yet
        self.last_step = 0
        self.versions = 0
        self.last_token = None

    async def send(self, call, method, path, headers=None, body=b""):
        """One request on the keep-alive connection; records latency or the refusal."""
        for attempt in (1, 2):
            start = time.perf_counter()
            try:
                status, data = await self.conn.request(method, path, headers or {}, body)
            except (ConnectionError, OSError, ValueError, IndexError, asyncio.IncompleteReadError) as err:
                self.conn.close()
                if attempt == 2:
                    self.results.error(call, "connection: %s" % type(err).__name__)
                    return None, None
                continue
            elapsed = time.perf_counter() - start
            if 200 <= status < 300:
                self.results.ok(call, elapsed)
            else:
                try:
                    code = json.loads(data)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = "?"
                self.results.refused(call, status, code, data[:160])
            return status, data
        return None, None

    async def stage(self, replay=False):
        self.versions += 1
        version = "%d.%d.0" % (self.index, self.versions)
        payload = os.urandom(self.plan["payload_bytes"])
        content_type, body = multipart_body("artifact.bin", payload)
        if replay and self.last_token:
            token, call = self.last_token, "stage replayed token"
        else:
            token, call = self.minter.mint(version), "stage"
            self.last_token = token
        headers = {"Authorization": "Bearer " + token, "Content-Type": content_type}
        status, data = await self.send(call, "POST", "/v1/packages/%s/versions/%s"
                                       % (self.plan["package"], version), headers, body)
        if status == 201:
            self.pending = (json.loads(data)["id"], version)

    async def approve(self, step):
        release_id, version = self.pending
        self.last_step = step
        headers = {"Authorization": "Bearer " + self.maintainer["token"],
                   "Content-Type": "application/json"}
        body = json.dumps({"code": totp(self.maintainer["totp_secret"], step)}).encode()
        status, _ = await self.send("approve", "POST", "/v1/releases/%d/approve" % release_id, headers, body)
        if status == 200:
            self.pending = None
            self.results.released(version)

    async def fetch(self):
        version = self.results.some_released(self.rng)
        if version is None:
            return await self.list()
        await self.send("fetch", "GET", "/v1/packages/%s/versions/%s/files/artifact.bin"
                        % (self.plan["package"], version))

    async def list(self):
        await self.send("list", "GET", "/v1/releases?state=staged")

    async def run(self):
        """Each round: stage (when nothing is waiting) or approve (when a
        fresh TOTP step is available), then one read (list or fetch), then
        a random think time."""
        rng = self.rng
        # Spread the clients' first requests over the first think interval.
        await asyncio.sleep(self.plan["think_seconds"] * rng.random() * 2)
        while time.time() < self.deadline:
            step = max(self.last_step + 1, current_step())
            if self.pending is None:
                await self.stage(replay=rng.random() < 0.01)
            elif step <= current_step() + 1:
                if rng.random() < 0.01:
                    # A CI token never approves; it does not count against anyone.
                    headers = {"Authorization": "Bearer " + self.last_token,
                               "Content-Type": "application/json"}
                    await self.send("approve with CI token", "POST", "/v1/releases/%d/approve" % self.pending[0],
                                    headers, json.dumps({"code": "12345678"}).encode())
                await self.approve(step)
            roll = rng.random()
            if roll < 0.01 and self.pending is not None:
                await self.send("fetch staged", "GET", "/v1/packages/%s/versions/%s/files/artifact.bin"
                                % (self.plan["package"], self.pending[1]))
            elif roll < 0.5:
                await self.list()
            else:
                await self.fetch()
            await asyncio.sleep(self.plan["think_seconds"] * rng.random() * 2)
        self.conn.close()


class Minter:
    """Mints GitHub-shaped staging tokens with the CI issuer's key (PyJWT)."""

    def __init__(self, plan):
        import jwt  # PyJWT, a test peer (see .ci/requirements.txt)
        self.jwt = jwt
        self.key = open(plan["issuer_key"], "rb").read()
        self.plan = plan

    def mint(self, version):
        plan, now = self.plan, int(time.time())
        tag = "refs/tags/v" + version
        workflow = "%s/.github/workflows/release.yml@%s" % (plan["repository"], tag)
        claims = {
            "iss": plan["issuer"], "aud": plan["audience"], "sub": "repo:%s:ref:%s" % (plan["repository"], tag),
            "iat": now, "nbf": now, "exp": now + 1800, "jti": os.urandom(16).hex(),
            "repository": plan["repository"], "repository_owner_id": plan["owner_id"],
            "workflow_ref": workflow, "job_workflow_ref": workflow, "ref": tag,
            "sha": "0123456789abcdef0123456789abcdef01234567", "run_id": str(now), "event_name": "push",
        }
        return self.jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.plan["issuer_kid"]})


class Results:
    """Latencies and refusals of one process's clients."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {}
        self.refusals = {}
        self.errors = {}
        self.samples = []
        self.released_versions = []

    def ok(self, call, elapsed):
        with self.lock:
            self.latencies.setdefault(call, []).append((time.time(), elapsed))

    def refused(self, call, status, code, body):
        key = "%s|%d|%s" % (call, status, code)
        with self.lock:
            entry = self.refusals.setdefault(key, [0, body.decode("utf-8", "replace")])
            entry[0] += 1

    def error(self, call, what):
        key = "%s|%s" % (call, what)
        with self.lock:
            self.errors[key] = self.errors.get(key, 0) + 1

    def released(self, version):
        with self.lock:
            self.released_versions.append(version)

    def some_released(self, rng):
        with self.lock:
            if not self.released_versions:
                return None
            return self.released_versions[rng.randrange(len(self.released_versions))]


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_sampler(pid, samples, stop):
    """VmRSS and VmHWM (KiB) and CPU seconds of the gate, once a second."""
    start = time.time()
    while not stop.is_set():
        try:
            with open("/proc/%d/status" % pid) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            samples.append((time.time() - start, int(fields["VmRSS"].split()[0]),
                            int(fields["VmHWM"].split()[0]), cpu_seconds(pid)))
        except OSError:
            break
        stop.wait(1.0)


def drill_process(plan, indices, deadline, seed, queue):
    """One driver process: its clients as coroutines on one event loop (no
    threads, so no GIL hand-offs inflate the measured latencies)."""
    results = Results()
    minter = Minter(plan)
    rng = random.Random(seed)
    clients = [Client(i, plan, minter, results, deadline, random.Random(rng.random())) for i in indices]

    async def main():
        await asyncio.gather(*(c.run() for c in clients))

    asyncio.run(main())
    queue.put({"latencies": results.latencies, "refusals": results.refusals, "errors": results.errors})


def drill(plan_file):
    plan = json.load(open(plan_file))
    clients, procs, seconds = len(plan["clients"]), plan["procs"], plan["seconds"]
    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    start = time.time()
    deadline = start + seconds
    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=rss_sampler, args=(plan["pid"], samples, stop))
    sampler.start()
    queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=drill_process,
                                       args=(plan, list(range(p, clients, procs)), deadline, p, queue))
               for p in range(procs)]
    for w in workers:
        w.start()
    parts = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    wall = time.time() - start
    time.sleep(1.5)
    stop.set()
    sampler.join()

    latencies, refusals, errors = {}, {}, {}
    for part in parts:
        for call, values in part["latencies"].items():
            latencies.setdefault(call, []).extend(values)
        for key, (count, body) in part["refusals"].items():
            refusals.setdefault(key, [0, body])[0] += count
        for key, count in part["errors"].items():
            errors[key] = errors.get(key, 0) + count

    print("load drill: %d clients in %d processes for %.1f s against %s; load average %s -> %s" % (
        clients, procs, wall, " ".join(plan.get("gates") or [plan["gate"]]), load_before, " ".join(open("/proc/loadavg").read().split()[:3])))
    print()
    # The whole run, then its second half alone: the start has every client
    # staging at once (a burst of CLIENTS fsynced writes), the second half is
    # the steady state.
    half = start + seconds / 2
    print("%-24s %8s %9s %9s %9s %9s %14s" % (
        "call (2xx answers)", "n", "per s", "p50 ms", "p99 ms", "max ms", "2nd half p50/p99"))
    total = 0
    for call in ("stage", "approve", "list", "fetch"):
        timed = latencies.get(call, [])
        values = [e for _, e in timed]
        late = [e for t, e in timed if t - e >= half]
        total += len(values)
        if values:
            print("%-24s %8d %9.1f %9.1f %9.1f %9.1f %7.1f/%.1f" % (
                call, len(values), len(values) / wall, pct(values, 50) * 1000, pct(values, 99) * 1000,
                max(values) * 1000, pct(late, 50) * 1000, pct(late, 99) * 1000))
    print("%-24s %8d %9.1f" % ("all", total, total / wall))
    if len(samples) > 1:
        cpu = samples[-1][3] - samples[0][3]
        print("gate CPU: %.1f s user+system in %.0f s (%.0f%% of one core), %.2f ms per answered call" % (
            cpu, samples[-1][0] - samples[0][0], 100 * cpu / max(samples[-1][0] - samples[0][0], 1e-9),
            1000 * cpu / max(total, 1)))
    print()
    unexpected = 0
    print("refusals by kind:")
    if not refusals:
        print("  none")
    for key, (count, body) in sorted(refusals.items()):
        call, status, code = key.split("|")
        kind = EXPECTED.get((call, int(status), code))
        if kind is None:
            unexpected += count
            print("  UNEXPECTED %6d  %s -> %s %s: %s" % (count, call, status, code, body))
        else:
            print("  expected   %6d  %s -> %s %s (%s)" % (count, call, status, code, kind))
    for key, count in sorted(errors.items()):
        unexpected += count
        print("  ERROR      %6d  %s" % (count, key))
    print("unexpected answers and errors: %d" % unexpected)
    print()
    if samples:
        rss = [s[1] / 1024 for s in samples]
        third = len(rss) // 3
        print("gate RSS (MiB), one sample per second:")
        for i in range(0, len(rss), 10):
            print("  t=%3ds  %s" % (samples[i][0], " ".join("%5.1f" % v for v in rss[i:i + 10])))
        if third:
            print("start (first third) mean %.1f, middle %.1f, end (last third) %.1f; peak %.1f (VmHWM %.1f)" % (
                statistics.mean(rss[:third]), statistics.mean(rss[third:2 * third]),
                statistics.mean(rss[2 * third:]), max(rss), samples[-1][2] / 1024))
    return 1 if unexpected else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "drill":
        sys.exit(drill(sys.argv[2]))
    if len(sys.argv) >= 3 and sys.argv[1] == "flows":
        sys.exit(flows(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 65536))
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()

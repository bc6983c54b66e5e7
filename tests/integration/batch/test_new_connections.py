#!/usr/bin/env python3
"""guise batch makes at most 8 new connections at a time per worker
(BSCHED_MAX_OPENING, docs/BATCH.md "Scheduling"), each counting until its first
answer's head, or for 25 ms at most (BSCHED_OPENING_MAX_NS), and jobs of hosts it
has reached go past the jobs waiting for a new connection.

A loopback HTTP/1.1 keep-alive server answers each request 0.2 s after it comes
(longer than 25 ms: every new connection counts for its 25 ms) and notes when it
accepts each connection, and the requests in progress. 40 host names (--resolve, all to the
server), three jobs each in round-robin order, -c 100, --per-host 1 (so that HTTP/1.1
makes one connection per host: a second connection to a host already reached is
not bounded), one worker:
- before the bound, the first 40 jobs opened 40 connections at once;
- now 8 per 25 ms: the 40th connection comes at least 4 x 25 ms after the first
  (the server's clock, so a slow server thread can only make it later);
- once hosts are reached, their jobs are not held to 8: more than 8 requests run
  at once on the reached hosts' connections;
- every job gets its 200 and the server sees 40 connections, one per host.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import accept_loop, check, finish  # noqa: E402

GUISE = sys.argv[1]
HOSTS = 40
ROUNDS = 3
BOUND = 8  # BSCHED_MAX_OPENING in client/lib/batch_sched.h

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(256)
port = srv.getsockname()[1]
stats = {"opening": 0, "max_opening": 0, "busy": 0, "max_busy": 0, "conns": 0, "requests": 0, "accepted": []}
lock = threading.Lock()


def conn(c):
    with lock:
        stats["accepted"].append(time.monotonic())
        stats["conns"] += 1
        stats["opening"] += 1
        stats["max_opening"] = max(stats["max_opening"], stats["opening"])
    answered = False
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            _, buf = buf.split(b"\r\n\r\n", 1)
            with lock:
                stats["requests"] += 1
                stats["busy"] += 1
                stats["max_busy"] = max(stats["max_busy"], stats["busy"])
            time.sleep(0.2)
            with lock:
                stats["busy"] -= 1
                if not answered:  # before the answer goes: the job cannot end before this
                    answered = True
                    stats["opening"] -= 1
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
    except OSError:
        pass
    finally:
        if not answered:
            with lock:
                stats["opening"] -= 1
        c.close()


accept_loop(srv, conn)
tmp = tempfile.mkdtemp(prefix="guise-new-conns-")
try:
    urls = os.path.join(tmp, "urls.txt")
    with open(urls, "w") as f:
        for i in range(HOSTS * ROUNDS):
            f.write(f"http://h{i % HOSTS}.test:{port}/{i}\n")
    resolve = []
    for i in range(HOSTS):
        resolve += ["--resolve", f"h{i}.test:{port}:127.0.0.1"]
    t0 = time.monotonic()
    r = subprocess.run([GUISE, "batch", "--http1.1", "-c", "100", "--per-host", "1", "--workers", "1", "--retries", "0",
                        "--progress", "never", *resolve, urls], capture_output=True, timeout=60)
    took = time.monotonic() - t0
    recs = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
    check(f"{HOSTS * ROUNDS} jobs over {HOSTS} hosts: every one ends with 200",
          r.returncode == 0 and len(recs) == HOSTS * ROUNDS and
          all(x["status"] == 200 and x["error"] is None for x in recs),
          (r.returncode, r.stderr.decode()[-300:], recs[:3]))
    check(f"one connection per host ({HOSTS})", stats["conns"] == HOSTS, stats)
    acc = sorted(stats["accepted"])
    span = acc[-1] - acc[0] if len(acc) == HOSTS else 0
    check(f"{BOUND} new connections per 25 ms: the last of {HOSTS} at least {HOSTS // BOUND - 1} x 25 ms "
          f"after the first (before: all at once)", span >= (HOSTS // BOUND - 1) * 0.025 * 0.9,
          (span, [round(x - acc[0], 4) for x in acc]))
    check(f"jobs of reached hosts were not held to the bound: more than {BOUND} requests at once",
          stats["max_busy"] > BOUND, stats)
finally:
    srv.close()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
finish()

#!/usr/bin/env python3
"""guise batch redis://... --per-host: the group's admission does not hold the
worker's loop for a Redis round trip per attempt (docs/REDIS.md, "Politeness
across machines").

Redis is reached through a relay that delays every answer by 50 ms (a far
Redis). One worker, 40 jobs to 40 host names (--resolve to the test's HTTP
server), --per-host 4 (never reached: one job per host). Before, each attempt
asked Redis on the loop, one round trip each with the loop held: no request went
out before 40 x 50 ms = 2 s of asking (2.3-2.5 s from the worker's start to the
last request). Now the asks are answered from a table that an admission thread
fills, for the hosts of a read, with one pipeline: the last request arrives a
few round trips after the start. Also: every job has its one record, and the slots are given back
(no holder left in the hosts' semaphores at the end).

usage: test_redis_admission.py GUISE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

GUISE = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from guise_testlib import QuietHandler, check, finish  # noqa: E402
from redis_helper import Client, Redis, Relay  # noqa: E402

DELAY = 0.05
HOSTS = 40
lock = threading.Lock()
arrivals = []


class Handler(QuietHandler):
    def do_GET(self):
        with lock:
            arrivals.append(time.monotonic())
        self.reply(200, b"ok")


def main():
    tmp = tempfile.mkdtemp(prefix="guise-redis-admission-")
    ThreadingHTTPServer.request_queue_size = 128  # 40 connections at once: no SYN dropped (a 1 s retransmit)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    r = Redis(tmp)
    relay = None
    try:
        r.start()
        relay = Relay(r.port, delay=DELAY)
        c = Client(r.port)
        hosts = [f"h{i}.test" for i in range(HOSTS)]
        for i, h in enumerate(hosts):
            c.cmd("XADD", "jobs", "*", "job", json.dumps({"id": f"j{i}", "url": f"http://{h}:{port}/{i}"}))
        resolve = []
        for h in hosts:
            resolve += ["--resolve", f"{h}:{port}:127.0.0.1"]
        base = f"redis://127.0.0.1:{relay.port}"
        t_start = time.monotonic()
        p = subprocess.run([GUISE, "batch", f"{base}/jobs", "-o", f"{base}/records", "--workers", "1",
                            "--concurrency", "64", "--per-host", "4", "--progress", "never"] + resolve,
                           capture_output=True, timeout=60)
        check("the worker ends with exit 0", p.returncode == 0, p.stderr[-800:])
        with lock:
            t = sorted(arrivals)
        last = t[-1] - t_start if len(t) == HOSTS else float("inf")
        first = t[0] - t_start if t else float("inf")
        print(f"first request {first:.2f} s after the worker's start, last {last:.2f} s")
        check(f"the first request went out {first:.2f} s after the start (< 1.0 s: the loop is not held while "
              f"Redis is asked)", first < 1.0, first)
        check(f"the {HOSTS} requests reached the server {last:.2f} s after the worker's start (< 1.5 s; one "
              f"Redis round trip on the loop per ask was >= {HOSTS * DELAY:.1f} s)", last < 1.5, len(t))
        ids = sorted(json.loads(f[b"record"])["id"] for _, f in c.xrange_all("records"))
        check("every job has its one record", ids == sorted(f"j{i}" for i in range(HOSTS)), ids[:5])
        held = sum(c.cmd("ZCARD", f"jobs:host:slots:{h}:{port}") for h in hosts)
        check("every slot was given back", held == 0, held)
        c.close()
    finally:
        if relay:
            relay.close()
        r.stop()
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

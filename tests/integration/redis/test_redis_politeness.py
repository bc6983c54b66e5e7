#!/usr/bin/env python3
"""guise batch redis://... --per-host N and --per-host-rate R hold for the whole
group, not per process (docs/REDIS.md): three worker processes over one stream,
measured at the test's own loopback HTTP server.

- --per-host 2: at no time more than 2 requests of one host in flight at the
  server over all workers (each process alone would allow 2: 6 together);
- --per-host-rate 10: per host, (requests - 1) / (last - first arrival) at most
  10 + 10 %, over all workers (each alone would allow 10: 30 together);
- every job has its one record.

usage: test_redis_politeness.py GUISE
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
from redis_helper import Client, Redis  # noqa: E402

lock = threading.Lock()
arrivals = {}     # host -> [monotonic times]
in_flight = {}    # host -> now
peak = {}         # host -> most at once
DELAY = {"slow": 0.2}


class Handler(QuietHandler):
    def do_GET(self):
        host = self.headers.get("Host", "").split(":")[0]
        with lock:
            arrivals.setdefault(host, []).append(time.monotonic())
            in_flight[host] = in_flight.get(host, 0) + 1
            peak[host] = max(peak.get(host, 0), in_flight[host])
        time.sleep(DELAY["slow"] if host.startswith("slow") else 0.001)
        with lock:
            in_flight[host] -= 1
        self.reply(200, b"ok")

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass


def run_group(base, stream, jobs, port, hosts, extra):
    c = Client(int(base.rsplit(":", 1)[1]))
    for j in jobs:
        c.cmd("XADD", stream, "*", "job", json.dumps(j))
    c.close()
    resolve = []
    for h in hosts:
        resolve += ["--resolve", f"{h}:{port}:127.0.0.1"]
    procs = [subprocess.Popen([GUISE, "batch", f"{base}/{stream}", "-o", f"{base}/{stream}-records",
                               "--consumer", f"w{k}", "--workers", "1", "--concurrency", "2", "--progress", "never"] + extra + resolve,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(3)]
    errs = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        errs.append((p.returncode, err.decode(errors="replace")[-800:]))
    c = Client(int(base.rsplit(":", 1)[1]))
    ids = [f[b"id"].decode() for _, f in c.xrange_all(f"{stream}-records")]
    c.close()
    return errs, ids


def main():
    tmp = tempfile.mkdtemp(prefix="guise-redis-polite-")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    r = Redis(tmp)
    try:
        r.start()
        base = f"redis://127.0.0.1:{r.port}"

        jobs = [{"id": f"a{i}", "url": f"http://slow.test:{port}/{i}"} for i in range(24)]
        errs, ids = run_group(base, "conc", jobs, port, ["slow.test"], ["--per-host", "2"])
        check("--per-host 2: the workers end with exit 0", all(rc == 0 for rc, _ in errs), errs)
        check("--per-host 2: every job has its one record", sorted(ids) == sorted(j["id"] for j in jobs), ids)
        check(f"--per-host 2 over three workers: at most 2 at once at the server (peak {peak.get('slow.test')})",
              peak.get("slow.test") == 2, peak)

        hosts = ["r0.test", "r1.test"]
        jobs = [{"id": f"b{i}", "url": f"http://{hosts[i % 2]}:{port}/{i}"} for i in range(60)]
        errs, ids = run_group(base, "rate", jobs, port, hosts, ["--per-host-rate", "10"])
        check("--per-host-rate 10: the workers end with exit 0", all(rc == 0 for rc, _ in errs), errs)
        check("--per-host-rate 10: every job has its one record", sorted(ids) == sorted(j["id"] for j in jobs))
        for h in hosts:
            t = sorted(arrivals.get(h, []))
            rate = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else float("inf")
            check(f"--per-host-rate 10 over three workers: {h} got {len(t)} at {rate:.2f}/s (at most 11)",
                  len(t) == 30 and rate <= 11, (len(t), rate))
    finally:
        r.stop()
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

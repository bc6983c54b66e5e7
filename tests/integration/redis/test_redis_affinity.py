#!/usr/bin/env python3
"""guise enqueue --shards K and guise batch redis://...: jobs of one host go to
one shard stream (KEY:shard:I by the host's hash), each worker reads its home
shard first and steals from the others only when it has nothing, so a host's
jobs stay on one worker and its connections are reused (docs/REDIS.md).

Measured at the test's own loopback HTTP server: the TCP connections each host
got (--connections-per-host 1: one per worker that ran its jobs), and the
records' "reused" share, for three workers over one unsharded stream and over a
stream of 3 shards; exactly one record per job id in both.

usage: test_redis_affinity.py GUISE
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

HOSTS = 30
PER_HOST = 16
lock = threading.Lock()
conns = {}  # run -> host -> set of client ports


class Handler(QuietHandler):
    def do_GET(self):
        host = self.headers.get("Host", "").split(":")[0]
        run = self.path.split("/")[1]
        with lock:
            conns.setdefault(run, {}).setdefault(host, set()).add(self.client_address[1])
        time.sleep(0.002)
        self.reply(200, b"ok")

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass


def crawl(base, port, tmp, stream, shards):
    jobs = os.path.join(tmp, f"{stream}.jsonl")
    ids = []
    with open(jobs, "w") as f:
        for i in range(HOSTS * PER_HOST):
            ids.append(f"{stream}{i}")
            f.write(json.dumps({"id": ids[-1], "url": f"http://h{i % HOSTS}.test:{port}/{stream}/{i}"}) + "\n")
    p = subprocess.run([GUISE, "enqueue", jobs, f"{base}/{stream}", "--progress", "never"] +
                       (["--shards", str(shards)] if shards else []), capture_output=True, timeout=30)
    check(f"{stream}: enqueue exit 0", p.returncode == 0, p.stderr)
    resolve = []
    for k in range(HOSTS):
        resolve += ["--resolve", f"h{k}.test:{port}:127.0.0.1"]
    procs = [subprocess.Popen([GUISE, "batch", f"{base}/{stream}", "-o", f"{base}/{stream}-records",
                               "--consumer", f"w{k}", "--workers", "1", "--concurrency", "4",
                               "--connections-per-host", "1", "--progress", "never"] + resolve,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(3)]
    errs = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        errs.append((p.returncode, err.decode(errors="replace")[-600:]))
    check(f"{stream}: the workers end with exit 0", all(rc == 0 for rc, _ in errs), errs)
    c = Client(int(base.rsplit(":", 1)[1]))
    recs = [json.loads(f[b"record"]) for _, f in c.xrange_all(f"{stream}-records")]
    c.close()
    check(f"{stream}: exactly one record per job id", sorted(r["id"] for r in recs) == sorted(ids),
          (len(recs), len(ids)))
    per_host = [len(v) for v in conns.get(stream, {}).values()]
    avg = sum(per_host) / len(per_host) if per_host else 0
    reused = sum(1 for r in recs if r.get("reused")) / len(recs) if recs else 0
    print(f"{stream}: {len(per_host)} hosts, {avg:.2f} connections per host (most {max(per_host or [0])}), "
          f"{reused * 100:.1f} % of requests on a reused connection")
    return avg, reused, errs


def main():
    tmp = tempfile.mkdtemp(prefix="guise-redis-affinity-")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    r = Redis(tmp)
    try:
        r.start()
        base = f"redis://127.0.0.1:{r.port}"
        plain_avg, plain_reused, _ = crawl(base, port, tmp, "plain", 0)
        shard_avg, shard_reused, errs = crawl(base, port, tmp, "sharded", 3)
        check("sharded: each worker names its home shard",
              sorted(e.split("home shard ")[1][:1] for _, e in errs if "home shard " in e) == ["0", "1", "2"], errs)
        # Stealing at the end (the worker of the smallest shard, idle) adds a
        # connection to some hosts of the others, as many as the timing gives:
        # runs here gave 1.0 to 2.2 against 2.0 to 3.0 unsharded.
        check(f"sharded by host: {shard_avg:.2f} connections per host, fewer than unsharded {plain_avg:.2f}",
              shard_avg < plain_avg, (shard_avg, plain_avg))
        check(f"sharded: {shard_reused * 100:.1f} % reused, more than unsharded {plain_reused * 100:.1f} %",
              shard_reused > plain_reused, (shard_reused, plain_reused))
        p = subprocess.run([GUISE, "batch", "--status", f"{base}/sharded"], capture_output=True, timeout=30)
        out = p.stdout.decode()
        check("--status of a sharded stream: each shard", p.returncode == 0 and "(shard 2 of 3)" in out and
              out.count("pending 0, consumers 3") == 3, out)
        jobs = os.path.join(tmp, "more.txt")
        with open(jobs, "w") as f:
            f.write(f"http://h1.test:{port}/x\n")
        p = subprocess.run([GUISE, "enqueue", jobs, f"{base}/sharded", "--shards", "4"], capture_output=True)
        check("enqueue --shards 4 into a stream of 3 shards: refused, exit 1",
              p.returncode == 1 and b"sharded in 3 streams" in p.stderr, p.stderr)
        p = subprocess.run([GUISE, "enqueue", jobs, f"{base}/plain", "--shards", "2"], capture_output=True)
        check("enqueue --shards into an unsharded stream: refused, exit 1",
              p.returncode == 1 and b"unsharded stream already" in p.stderr, p.stderr)
    finally:
        r.stop()
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

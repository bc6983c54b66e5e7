#!/usr/bin/env python3
"""guise batch redis://... writes the records of many jobs in one script call
(the record, done-mark and XACK of each job, atomic as before) and checks the
done-marks of a read in one MGET: the Redis commands per job stay well under
one (docs/REDIS.md, "Cost"). Counted by redis-server itself (INFO
commandstats: the EVAL calls are the worker's own; the commands a script runs
are counted under their names).

2,000 jobs to a closed loopback port (each fails at once with an error record:
no HTTP server needed, and records come faster than one round trip each), one
worker: every id has exactly one record, and the EVAL calls are at most half
the jobs (one call per record before: 2,000).

usage: test_redis_round_trips.py GUISE
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

GUISE = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402
from redis_helper import Client, Redis  # noqa: E402

N = 2000


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused
    return port


def commandstats(c):
    info = c.cmd("INFO", "commandstats")
    info = info.decode() if isinstance(info, bytes) else info
    calls = {}
    for line in info.splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[8:].split(":", 1)
            calls[name] = int(dict(kv.split("=") for kv in rest.split(","))["calls"])
    return calls


def main():
    tmp = tempfile.mkdtemp(prefix="guise-redis-rt-")
    r = Redis(tmp)
    try:
        r.start()
        base = f"redis://127.0.0.1:{r.port}"
        port = closed_port()
        jobs = os.path.join(tmp, "jobs.jsonl")
        with open(jobs, "w") as f:
            for i in range(N):
                f.write(json.dumps({"id": f"j{i}", "url": f"http://127.0.0.1:{port}/{i}"}) + "\n")
        p = subprocess.run([GUISE, "enqueue", jobs, f"{base}/jobs", "--progress", "never"], capture_output=True,
                           timeout=60)
        check("enqueued", p.returncode == 0, p.stderr[-500:])
        c = Client(r.port)
        c.cmd("CONFIG", "RESETSTAT")
        p = subprocess.run([GUISE, "batch", f"{base}/jobs", "-o", f"{base}/records", "--workers", "1",
                            "--retries", "0", "--progress", "never"], capture_output=True, timeout=60)
        check("the worker ends with exit 0", p.returncode == 0, p.stderr[-800:])
        calls = commandstats(c)
        ids = [f[b"id"].decode() for _, f in c.xrange_all("records")]
        check("one record per job id", sorted(ids) == sorted(f"j{i}" for i in range(N)),
              (len(ids), len(set(ids))))
        evals = calls.get("eval", 0) + calls.get("evalsha", 0)
        print(f"EVAL calls {evals}, MGET {calls.get('mget', 0)}, XREADGROUP {calls.get('xreadgroup', 0)} "
              f"for {N} jobs")
        check(f"record scripts: at most {N // 2} calls for {N} jobs (one per job before)", 0 < evals <= N // 2,
              calls)
        c.close()
    finally:
        r.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

#!/usr/bin/env python3
"""guise batch redis://... behind a TCP relay that, for a while, accepts every
connection and closes it at once (what a TLS tunnel such as stunnel does when
the Redis behind it is down, or Redis at maxclients): one outage, not one per
connection (docs/REDIS.md, "Redis restarting or unreachable").

Before, each connection that opened (a TCP connect is all hiredis' connect does)
ended the outage: the worker reconnected at once, the command failed, and again,
thousands of connections a second, without a word. Now the backoff (0.1 s
doubling to 5 s) runs over the whole outage, "waiting for Redis" is said, and
"is back" when a command gets its reply again.

One worker with --follow on the relay's port; the relay cuts the existing
connections and slams new ones for 2 s, then relays again; jobs enqueued after
(to a closed loopback port: each fails at once with an error record) get their
records; SIGTERM ends the worker.

usage: test_redis_reconnect.py GUISE
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

GUISE = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from guise_testlib import check, finish, free_port  # noqa: E402
from redis_helper import Client, Redis, Relay  # noqa: E402

SLAM_S = 2.0


def enqueue(c, first, n, port):
    for i in range(first, first + n):
        c.cmd("XADD", "jobs", "*", "job", json.dumps({"id": f"j{i}", "url": f"http://127.0.0.1:{port}/j{i}"}))


def main():
    tmp = tempfile.mkdtemp(prefix="guise-redis-reconnect-")
    r = Redis(tmp)
    relay = None
    w = None
    try:
        r.start()
        relay = Relay(r.port)
        dead = free_port()  # nothing listens there: each job fails at once
        c = Client(r.port)
        enqueue(c, 0, 20, dead)
        w = subprocess.Popen([GUISE, "batch", f"redis://127.0.0.1:{relay.port}/jobs", "-o",
                              f"redis://127.0.0.1:{relay.port}/records", "--follow", "--progress", "never",
                              "--consumer", "w0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t0 = time.monotonic()
        while c.cmd("XLEN", "records") < 20 and time.monotonic() - t0 < 20:
            time.sleep(0.05)
        check("the first 20 jobs get their records through the relay", c.cmd("XLEN", "records") == 20,
              c.cmd("XLEN", "records"))
        relay.start_slamming()
        time.sleep(SLAM_S)
        slammed = relay.stop_slamming()
        # 0.1 s doubling to 5 s (jittered: at least half of each wait) for the reader,
        # and as many for the writer should it have work: a handful in 2 s.
        check(f"{slammed} connections in {SLAM_S:.0f} s of a relay that closes them: backed off (<= 30)",
              0 < slammed <= 30, slammed)
        enqueue(c, 20, 20, dead)
        t0 = time.monotonic()
        while c.cmd("XLEN", "records") < 40 and time.monotonic() - t0 < 20:
            time.sleep(0.05)
        check("the jobs enqueued after the outage get their records", c.cmd("XLEN", "records") == 40,
              c.cmd("XLEN", "records"))
        w.send_signal(signal.SIGTERM)
        try:
            _, err = w.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            w.kill()
            _, err = w.communicate()
        err = err.decode(errors="replace")
        check("SIGTERM ends the worker (exit 130)", w.returncode == 130, (w.returncode, err[-800:]))
        check("the outage is said once, and its end", err.count("waiting for Redis") == 1 and
              err.count("is back after") == 1, err[-1500:])
        ids = [json.loads(f[b"record"])["id"] for _, f in c.xrange_all("records")]
        check("one record per job", sorted(ids) == sorted(f"j{i}" for i in range(40)), len(ids))
        c.close()
    finally:
        if w and w.poll() is None:
            w.kill()
            w.wait()
        if relay:
            relay.close()
        r.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

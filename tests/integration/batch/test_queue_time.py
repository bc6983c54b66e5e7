#!/usr/bin/env python3
"""guise batch --max-time counts from the moment a job has a connection.

A loopback HTTP/1.1 keep-alive server answers each request 0.8 s after it arrives
(/slow: 2.5 s). guise batch sends 4 jobs over one connection (--connections-per-host
1): the last waits 2.4 s for the connection, longer than --max-time 1.5, and must still
succeed, its record's total over 1.5 s. A job whose answer itself takes longer than
--max-time still times out. To a server that never answers (/stall), with --max-time 1
and --connect-timeout 1.5: the first job times out waiting for its answer, the second
(which waited ~1 s for the connection) too, and the third, which would wait ~2 s, ends
with TIMEOUT_CONNECT after 1.5 s: the wait for a connection stays bounded.
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

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
port = srv.getsockname()[1]
stats = {"open": 0, "max_open": 0, "requests": 0}
lock = threading.Lock()


def conn(c):
    with lock:
        stats["open"] += 1
        stats["max_open"] = max(stats["max_open"], stats["open"])
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            path = head.split(b" ")[1]
            with lock:
                stats["requests"] += 1
            time.sleep(30 if path.startswith(b"/stall") else 2.5 if path == b"/slow" else 0.8)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
    except OSError:
        pass
    finally:
        with lock:
            stats["open"] -= 1
        c.close()


accept_loop(srv, conn)
tmp = tempfile.mkdtemp(prefix="guise-queue-time-")


def batch(paths, max_time="1.5", connect_timeout="30"):
    urls = os.path.join(tmp, "urls.txt")
    with open(urls, "w") as f:
        for p in paths:
            f.write(f"http://127.0.0.1:{port}{p}\n")
    r = subprocess.run([GUISE, "batch", "--http1.1", "-c", "4", "--connections-per-host", "1", "--workers", "1",
                        "--retries", "0", "--max-time", max_time, "--connect-timeout", connect_timeout,
                        "--progress", "never", urls],
                       capture_output=True, timeout=60)
    return r, sorted((json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()), key=lambda x: x["line"])


r, recs = batch(["/a", "/b", "/c", "/d"])
check("4 jobs, one connection: every job ends with 200 (none lost to the wait for the connection)",
      r.returncode == 0 and len(recs) == 4 and all(x["status"] == 200 and x["error"] is None for x in recs),
      (r.returncode, recs, r.stderr.decode()[-300:]))
check("the server saw one connection at a time", stats["max_open"] == 1, stats)
totals = [x["timings"]["total"] for x in recs]
check("the last job waited: its total is over --max-time (1.5 s), and it still succeeded",
      len(totals) == 4 and max(totals) > 1500, totals)

r, recs = batch(["/slow"])
check("an answer slower than --max-time still times out",
      len(recs) == 1 and recs[0]["error"] is not None and recs[0]["error_class"] == "timeout", recs)
t0 = time.monotonic()
r, recs = batch(["/stall1", "/stall2", "/stall3"], max_time="1", connect_timeout="1.5")
took = time.monotonic() - t0
errs = [x["error"] for x in recs]
check("a server that never answers: two jobs time out on their answer, the third waiting for the connection",
      len(recs) == 3 and errs[0] == "TIMEOUT_RESPONSE" and errs[1] == "TIMEOUT_RESPONSE" and
      errs[2] == "TIMEOUT_CONNECT", (errs, recs))
check("... and the batch ends within ~2 s (not 3 x --max-time)", took < 4.0, took)
srv.close()
finish()

#!/usr/bin/env python3
"""guise batch redis://...: a command Redis refuses for good stops the worker
with the refusal said and exit 1, and leaves no job without its record
(docs/REDIS.md, "Redis refusing").

1. An ACL user without EVAL (`-eval`), --per-host 2: every admission is refused
   (NOPERM). Before, the worker waited for a grant forever and said nothing.
2. The same user without --per-host: the record script is refused. Before, the
   worker said so per call and went on: its jobs pending, claimed and run again
   every --claim-idle, never ending.
3. -o redis://.../records where `records` holds a string: XADD is refused
   (WRONGTYPE). Before, the script had set the job's done-mark (SET NX) before
   the XADD failed, and a script's writes are not rolled back: after the key was
   put right, those jobs counted as done and never got a record.
After each refused run a worker of the default user, with the records key put
right, claims the entries and writes exactly one record per job: nothing lost.

usage: test_redis_refused.py GUISE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

GUISE = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from guise_testlib import QuietHandler, check, finish  # noqa: E402
from redis_helper import Client, Redis  # noqa: E402

JOBS = 3
TIMEOUT = 15  # a refused run ends in about a second; the old code never ended


class Handler(QuietHandler):
    def do_GET(self):
        self.reply(200, b"ok")


def run(args):
    """(exit status, stderr text); exit None when it did not end in TIMEOUT s."""
    try:
        p = subprocess.run([GUISE, "batch", "--progress", "never"] + args, capture_output=True, timeout=TIMEOUT)
        return p.returncode, p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stderr or b"").decode(errors="replace")


def case(c, rport, port, name, user_base, extra, words):
    jobs, records = f"jobs{name}", f"records{name}"
    for i in range(JOBS):
        c.cmd("XADD", jobs, "*", "job", json.dumps({"id": f"j{i}", "url": f"http://127.0.0.1:{port}/{i}"}))
    rc, err = run([f"{user_base}/{jobs}", "-o", f"{user_base}/{records}"] + extra)
    check(f"{name}: the worker ends with exit 1 (not left running {TIMEOUT} s)", rc == 1, (rc, err[-800:]))
    check(f"{name}: stderr says what was refused and Redis' words {words}",
          all(w in err for w in words) and "stopping" in err, err[-800:])
    marks = c.cmd("KEYS", f"{jobs}:done:*")
    check(f"{name}: no done-mark was set", marks == [], marks)
    if c.cmd("TYPE", records) != "stream":
        c.cmd("DEL", records)
    base = f"redis://127.0.0.1:{rport}"
    rc, err = run([f"{base}/{jobs}", "-o", f"{base}/{records}", "--claim-idle", "1"])
    check(f"{name}: a worker after it ends with exit 0", rc == 0, (rc, err[-800:]))
    ids = sorted(json.loads(f[b"record"])["id"] for _, f in c.xrange_all(records))
    check(f"{name}: then every job has exactly one record", ids == [f"j{i}" for i in range(JOBS)], ids)


def main():
    tmp = tempfile.mkdtemp(prefix="guise-redis-refused-")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    r = Redis(tmp)
    try:
        r.start()
        c = Client(r.port)
        c.cmd("ACL", "SETUSER", "noeval", "on", ">pw", "~*", "+@all", "-eval")
        noeval = f"redis://noeval:pw@127.0.0.1:{r.port}"
        plain = f"redis://127.0.0.1:{r.port}"
        case(c, r.port, port, "admission", noeval, ["--per-host", "2"], ["admission", "NOPERM"])
        case(c, r.port, port, "records", noeval, [], ["writing the records", "NOPERM"])
        c.cmd("SET", "recordswrongtype", "not a stream")
        case(c, r.port, port, "wrongtype", plain, [], ["writing the records", "WRONGTYPE"])
        c.close()
    finally:
        r.stop()
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

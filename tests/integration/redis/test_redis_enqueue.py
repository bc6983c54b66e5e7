#!/usr/bin/env python3
"""guise enqueue: jobs into a Redis stream (docs/REDIS.md), checked by reading the
stream back with a RESP client of the test's own, against Debian's redis-server
on a loopback port with an ACL user (the default user off).

- every good line is one entry whose "job" is the line as written, in order;
  bad lines are named by FILE:LINE on stderr and not enqueued (exit 1);
- stdin works ('-');
- the ACL user's password appears in no message (wrong password, refused
  connection), AUTH failure and an unreachable Redis exit 1, rediss:// is
  refused with its reason (exit 2);
- --max-backlog holds the input while a group's unprocessed entries are above N
  and lets it go when they fall;
- redis-server killed (-9) and restarted mid-run: every line is in the stream
  exactly once (the command finds what arrived and sends only the rest).

usage: test_redis_enqueue.py GUISE
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

GUISE = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from guise_testlib import check, finish, free_port  # noqa: E402
from redis_helper import Client, Redis  # noqa: E402

SECRET = "Zq9SECRETpw"
AUTH = ("alice", SECRET)


class AclRedis(Redis):
    def __init__(self, folder):
        super().__init__(folder, ["--user", "default", "off", "--user", "alice", "on", ">" + SECRET,
                                  "~*", "&*", "+@all"])

    def auth(self):
        return AUTH


def run(args, stdin=None, timeout=60):
    return subprocess.run([GUISE, "enqueue"] + args, input=stdin, capture_output=True, timeout=timeout)


def main():
    tmp = tempfile.mkdtemp(prefix="guise-redis-enq-")
    r = AclRedis(tmp)
    try:
        r.start()
        url = f"redis://alice:{SECRET}@127.0.0.1:{r.port}"
        c = Client(r.port, auth=AUTH)

        # Good and bad lines from a file.
        lines = [f"http://127.0.0.1:9/{i}" for i in range(30)]
        lines.insert(4, "http://127.0.0.1:9/a b")                  # line 5: a space in a URL line
        lines.insert(10, "")                                       # blank: skipped silently
        lines.insert(11, "# a comment")                            # skipped silently
        lines.insert(15, '{"id":"j1","url":"http://127.0.0.1:9/j"}')
        lines.insert(20, '{"url": 3}')                             # line 21: bad JSON job
        path = os.path.join(tmp, "jobs.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = run([path, f"{url}/jobs", "--progress", "never"])
        err = p.stderr.decode(errors="replace")
        check("bad lines: exit 1", p.returncode == 1, (p.returncode, err))
        check("line 5 named", f"{path}:5:" in err and "not enqueued" in err, err)
        check("line 21 named", f"{path}:21:" in err, err)
        check("no other line named", err.count("not enqueued") == 3, err)  # two lines + the total
        good = [x for i, x in enumerate(lines) if i not in (4, 20) and x and not x.startswith("#")]
        entries = c.xrange_all("jobs")
        check("one entry per good line, in order", [e[1][b"job"].decode() for e in entries] == good,
              [e[1] for e in entries[:3]])
        check("the password in no message", SECRET not in err, err)

        # stdin, CRLF line ends left out of the entry.
        p = run(["-", f"{url}/2/jobs-stdin"], stdin=b"http://127.0.0.1:9/a\r\nhttp://127.0.0.1:9/b\n")
        c.cmd("SELECT", 2)
        got = [e[1][b"job"] for e in c.xrange_all("jobs-stdin")]
        c.cmd("SELECT", 0)
        check("stdin, database 2: exit 0, two entries", p.returncode == 0 and got ==
              [b"http://127.0.0.1:9/a", b"http://127.0.0.1:9/b"], (p.returncode, p.stderr, got))

        # Wrong password, nothing listening, rediss://.
        p = run([path, f"redis://alice:WRONG{SECRET}@127.0.0.1:{r.port}/jobs"])
        err = p.stderr.decode(errors="replace")
        check("wrong password: exit 1, AUTH refused, no password shown",
              p.returncode == 1 and "AUTH refused" in err and SECRET not in err and "alice:***@" in err, err)
        dead = free_port()
        p = run([path, f"redis://:{SECRET}@127.0.0.1:{dead}/jobs"])
        err = p.stderr.decode(errors="replace")
        check("nothing listening: exit 1, clear message", p.returncode == 1 and "cannot reach Redis" in err and
              f"127.0.0.1:{dead}" in err and SECRET not in err, err)
        p = run([path, f"rediss://:{SECRET}@127.0.0.1:{r.port}/jobs"])
        err = p.stderr.decode(errors="replace")
        check("rediss:// refused with the reason, exit 2", p.returncode == 2 and "TLS" in err and "hiredis" in err
              and SECRET not in err, err)
        p = run([path, f"redis://:{SECRET}/x@127.0.0.1:{r.port}/jobs"])
        err = p.stderr.decode(errors="replace")
        check("a URL that does not parse: exit 2, shown redacted", p.returncode == 2 and SECRET not in err
              and "***" in err, err)

        # --max-backlog: a group with 50 undelivered entries holds a run of 5.
        c.cmd("XGROUP", "CREATE", "bp", "g", "$", "MKSTREAM")
        for i in range(50):
            c.cmd("XADD", "bp", "*", "job", f"http://127.0.0.1:9/old{i}")
        small = os.path.join(tmp, "small.txt")
        with open(small, "w") as f:
            f.write("".join(f"http://127.0.0.1:9/new{i}\n" for i in range(5)))
        p = subprocess.Popen([GUISE, "enqueue", small, f"{url}/bp", "--max-backlog", "10", "--progress", "always"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)
        held = p.poll() is None and c.cmd("XLEN", "bp") == 50
        c.cmd("XGROUP", "SETID", "bp", "g", "$")  # everything delivered: lag 0
        try:
            out, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        check("--max-backlog 10 holds the input while the lag is 50", held, err)
        check("and lets it go at lag 0 (exit 0, 55 entries)", p.returncode == 0 and c.cmd("XLEN", "bp") == 55,
              (p.returncode, err))
        check("the wait is said", b"above --max-backlog 10: waiting" in err, err)

        # Redis killed mid-run and restarted: each line once.
        n = 60000
        big = os.path.join(tmp, "big.txt")
        with open(big, "w") as f:
            f.write("".join(f"http://127.0.0.1:9/b{i}\n" for i in range(n)))
        c.close()
        p = subprocess.Popen([GUISE, "enqueue", big, f"{url}/big", "--progress", "never"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        killed_at = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            try:
                probe = Client(r.port, auth=AUTH)
                killed_at = probe.cmd("XLEN", "big")
                probe.close()
            except OSError:
                pass
            if killed_at >= n // 4:
                break
            time.sleep(0.01)
        r.kill()
        time.sleep(0.7)
        r.start()
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        err = err.decode(errors="replace")
        c = Client(r.port, auth=AUTH)
        jobs = [e[1][b"job"] for e in c.xrange_all("big")]
        check(f"killed at {killed_at} of {n} entries, before the end", 0 < killed_at < n, killed_at)
        check("the outage is said", "waiting for Redis" in err and "is back" in err, err)
        check("exit 0 after the restart", p.returncode == 0, (p.returncode, err))
        want = [f"http://127.0.0.1:9/b{i}".encode() for i in range(n)]
        seen = set(jobs)
        check("every line exactly once, in order", jobs == want,
              (len(jobs), len(seen), [x for x in want if x not in seen][:3]))
        c.close()
    finally:
        r.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

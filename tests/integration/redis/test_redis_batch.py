#!/usr/bin/env python3
"""guise batch redis://...: three worker processes (standing in for machines) over
one stream and one consumer group, against Debian's redis-server (AOF on) and
Debian's nginx on a loopback port with a temporary prefix, 10,000 jobs over 20 host
names (--resolve; nginx logs each request's Host):

- one worker is killed with SIGKILL mid-run, and redis-server is killed with
  SIGKILL and restarted once mid-run;
- at the end every job id has exactly one record in the records stream (read
  back with the test's RESP client), the bad stream entry has its error record,
  a job enqueued twice has one record, and nothing is pending in the group;
- nginx saw every job at least once, each under its own host name; the workers said
  they waited for Redis;
- an unreachable Redis at the start is a clear error, exit 1; records on another
  server are refused (exit 2); --status prints the group.

With --shards K the jobs are enqueued into K shard streams (guise enqueue
--shards): the same checks, the workers reading their home shards and stealing,
and the killed worker's home shard adopted by a live worker (its lease lapsed).

usage: test_redis_batch.py GUISE [--shards K]
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
ARGS = sys.argv[2:]
SHARDS = int(ARGS[ARGS.index("--shards") + 1]) if "--shards" in ARGS else 0
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from guise_testlib import check, finish, free_port, stop_all, wait_port  # noqa: E402
from redis_helper import Client, Redis  # noqa: E402

# The size, sharded too: a dead worker's home shard is adopted by a live
# worker once its lease lapses (3 s) and read in full. Before, it drained only by
# the others' stealing, 16 entries at a time when idle: 14.4 s from the kill to the
# end at 10,000 jobs (5-6 s now), so the sharded run was held at 3,000.
N = int(ARGS[ARGS.index("--n") + 1]) if "--n" in ARGS else 10000
HOSTS = 20


def start_nginx(tmp):
    """nginx answering every path with 200; its access log: Host and path per request."""
    port = free_port()
    with open(f"{tmp}/nginx.conf", "w") as f:
        f.write(f"""worker_processes 1; daemon off; master_process off; pid {tmp}/nginx.pid;
error_log {tmp}/error.log; events {{ worker_connections 2048; }}
http {{ log_format seen '$host $request_uri'; access_log {tmp}/access.log seen;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp}; default_type text/plain; keepalive_requests 100000;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok $request_uri"; }} }} }}
""")
    ng = subprocess.Popen(["nginx", "-c", f"{tmp}/nginx.conf", "-p", tmp], stderr=subprocess.DEVNULL)
    wait_port(port)
    return ng, port


class Log:
    """The access log read as it grows: the requests nginx has answered so far."""

    def __init__(self, path):
        self.path, self.pos, self.part = path, 0, b""
        self.seen = {}  # path -> [host, ...]

    def served(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return 0
        self.pos += len(data)
        lines = (self.part + data).split(b"\n")
        self.part = lines.pop()
        for line in lines:
            host, _, path = line.decode().partition(" ")
            self.seen.setdefault(path, []).append(host)
        return len(self.seen)


def main():
    tmp = tempfile.mkdtemp(prefix="guise-redis-batch-")
    r = Redis(tmp)
    workers = []
    procs = []
    try:
        ng, port = start_nginx(tmp)
        procs.append(ng)
        log = Log(f"{tmp}/access.log")
        served = log.served
        r.start()
        base = f"redis://127.0.0.1:{r.port}"
        jobs = os.path.join(tmp, "jobs.jsonl")
        with open(jobs, "w") as f:
            for i in range(N):
                f.write(json.dumps({"id": f"j{i}", "url": f"http://h{i % HOSTS}.test:{port}/j{i}"}) + "\n")
            f.write(json.dumps({"id": "j5", "url": f"http://h5.test:{port}/j5"}) + "\n")  # j5 twice
        p = subprocess.run([GUISE, "enqueue", jobs, f"{base}/jobs", "--progress", "never"] +
                           (["--shards", str(SHARDS)] if SHARDS else []), capture_output=True)
        check("enqueue: exit 0", p.returncode == 0, p.stderr)
        c = Client(r.port)
        if SHARDS:  # a job without an id in a sharded stream is known as SHARD/ENTRY
            bad_entry = "1/" + c.cmd("XADD", "jobs:shard:1", "*", "job", "http://x y/").decode()
        else:
            bad_entry = c.cmd("XADD", "jobs", "*", "job", "http://x y/").decode()  # not a job
        c.close()

        resolve = []
        for k in range(HOSTS):
            resolve += ["--resolve", f"h{k}.test:{port}:127.0.0.1"]
        common = ["batch", f"{base}/jobs", "-o", f"{base}/records", "--claim-idle", "1", "--workers", "1",
                  "--concurrency", "8", "--progress", "never"] + resolve
        for w in range(3):
            workers.append(subprocess.Popen([GUISE] + common + ["--consumer", f"w{w}"],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        t0 = time.monotonic()
        while served() < N // 4 and time.monotonic() - t0 < 30:
            time.sleep(0.002)
        workers[0].kill()
        t_kill = time.monotonic()
        killed_worker_at = served()
        while served() < N // 2 and time.monotonic() - t0 < 30:
            time.sleep(0.002)
        r.kill()
        killed_redis_at = served()
        time.sleep(0.5)
        r.start()
        outs = []
        for w in workers:
            try:
                out, err = w.communicate(timeout=90)
            except subprocess.TimeoutExpired:
                w.kill()
                out, err = w.communicate()
            outs.append(err.decode(errors="replace"))
        t_end = time.monotonic()
        print(f"all workers ended {t_end - t_kill:.1f} s after the kill of worker 0 ({t_end - t0:.1f} s in all)")
        check(f"worker 0 killed at {killed_worker_at}, redis at {killed_redis_at} of {N} jobs served",
              0 < killed_worker_at < killed_redis_at < N, (killed_worker_at, killed_redis_at))
        check("workers 1 and 2 end with exit 0 when the stream is drained",
              workers[1].returncode == 0 and workers[2].returncode == 0,
              [(w.returncode, o[-1500:]) for w, o in zip(workers[1:], outs[1:])])
        if SHARDS:
            home = [o.split("home shard ", 1)[1].split(" ", 1)[0] for o in outs if "home shard " in o]
            dead_home = home[0] if len(home) == 3 else "?"
            check(f"the killed worker's home shard {dead_home} is adopted by a live worker",
                  any(f"shard {dead_home} has no live worker" in o for o in outs[1:]), [o[-800:] for o in outs[1:]])
        check("they said they waited for Redis and that it came back",
              all("waiting for Redis" in o and "is back" in o for o in outs[1:]), outs[1][-1500:])

        c = Client(r.port)
        recs = c.xrange_all("records")
        by_id = {}
        bad = []
        for _, fields in recs:
            rid = fields[b"id"].decode()
            rec = json.loads(fields[b"record"])
            if rec["id"] != rid:
                bad.append((rid, rec["id"]))
            by_id.setdefault(rid, []).append(rec)
        want = {f"j{i}" for i in range(N)} | {bad_entry}
        dups = {k: len(v) for k, v in by_id.items() if len(v) > 1}
        check("every job id has a record", want <= set(by_id), sorted(want - set(by_id))[:5])
        check("exactly one record per id (j5 enqueued twice included)", not dups and len(recs) == len(want),
              (len(recs), len(want), list(dups.items())[:5]))
        check("no record of an id that was not a job", set(by_id) <= want, sorted(set(by_id) - want)[:5])
        check("each record's id is its entry's id field", not bad, bad[:3])
        ok = sum(1 for k, v in by_id.items() if k != bad_entry and v[0]["status"] == 200)
        check("every job's record is its 200", ok == N, ok)
        e = by_id.get(bad_entry, [{}])[0]
        check("the bad entry: an error record under its entry id", e.get("error") == "USAGE_INVALID_ARGUMENT"
              and e.get("url") is None, e)
        check("nginx saw every job", served() == N, served())
        wrong = [(p, h) for p, h in log.seen.items() if set(h) != {f"h{int(p[2:]) % HOSTS}.test"}]
        check("each job reached nginx under its own host name", not wrong, wrong[:3])
        pend = [c.cmd("XPENDING", k, "guise")[0] for k in
                ([f"jobs:shard:{i}" for i in range(SHARDS)] if SHARDS else ["jobs"])]
        check("nothing pending in the group", pend == [0] * len(pend), pend)
        done_marks = c.cmd("EXISTS", "jobs:done:j1")
        ttl = c.cmd("TTL", "jobs:done:j1")
        check("done-marks exist and expire within 7 days", done_marks == 1 and 0 < ttl <= 7 * 86400, (done_marks, ttl))
        c.close()

        p = subprocess.run([GUISE, "batch", "--status", f"{base}/jobs", "-o", f"{base}/records"],
                           capture_output=True, timeout=30)
        out = p.stdout.decode(errors="replace")
        total = sum(int(x.split(" entries")[0].rsplit(" ", 1)[1]) for x in out.splitlines() if x.startswith("stream "))
        check("--status: the stream, the group and its consumers", p.returncode == 0 and
              total == N + 2 and "group guise: backlog" in out and "pending 0," in out and
              "consumer w1" in out, (p.returncode, out, p.stderr))
        check("--status -o: the records and their rate", f"records {base}/records: {N + 1}, " in out and "/s from the first to the last" in out,
            out)

        dead = free_port()
        p = subprocess.run([GUISE, "batch", f"redis://:Zq9SECRET@127.0.0.1:{dead}/jobs", "-o", "out.jsonl"],
                           capture_output=True, timeout=30, cwd=tmp)
        err = p.stderr.decode(errors="replace")
        check("unreachable Redis at the start: exit 1, a clear message, no password",
              p.returncode == 1 and "cannot reach Redis" in err and f"127.0.0.1:{dead}" in err and
              "Zq9SECRET" not in err, (p.returncode, err))
        p = subprocess.run([GUISE, "batch", f"{base}/jobs", "-o", f"redis://127.0.0.1:{dead}/records"],
                           capture_output=True, timeout=30)
        check("records on another server: exit 2", p.returncode == 2 and
              b"jobs' server" in p.stderr, p.stderr)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        r.stop()
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

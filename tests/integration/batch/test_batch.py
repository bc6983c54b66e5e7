#!/usr/bin/env python3
"""guise batch against real servers on loopback.

guise echo (TLS, HTTP/2) for plain jobs; a threaded HTTP/1.1 server written here
for what echo cannot do: slow answers (it counts requests in flight per Host), a
503 then 200 per key, a 429 with a Retry-After too long to wait. Checks: one
record per job whatever happens to it, retries, limits, resume after kill -9 and
a torn last line, SIGINT, and input/output errors before any request.

usage: test_batch.py GUISE
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, stop_all, wait_port  # noqa: E402


class State:
    lock = threading.Lock()
    in_flight = {}
    max_in_flight = {}
    flaky_seen = set()
    served = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, body=b"ok", extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client killed on purpose

    def do_GET(self):
        host = self.headers.get("Host", "")
        with State.lock:
            State.served += 1
            State.in_flight[host] = State.in_flight.get(host, 0) + 1
            State.max_in_flight[host] = max(State.max_in_flight.get(host, 0), State.in_flight[host])
        try:
            path = self.path
            if path.startswith("/slow"):
                time.sleep(0.2)
                self.answer(200)
            elif path.startswith("/flaky/"):
                with State.lock:
                    first = path not in State.flaky_seen
                    State.flaky_seen.add(path)
                if first:
                    self.answer(503, b"later", [("Retry-After", "0")])
                else:
                    self.answer(200)
            elif path.startswith("/busy"):
                self.answer(429, b"busy", [("Retry-After", "100000")])
            else:
                self.answer(200)
        finally:
            with State.lock:
                State.in_flight[host] -= 1


def batch(args, input_text=None, timeout=120):
    return subprocess.run([GUISE, "batch", "--progress", "never", *args], input=input_text,
                          capture_output=True, timeout=timeout)


def records(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


tmp = tempfile.mkdtemp(prefix="guise-batch-")
procs = []
try:
    eport = free_port()
    echo = subprocess.Popen([GUISE, "echo", "--listen", f"127.0.0.1:{eport}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(echo)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    hport = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    wait_port(eport)
    E = f"https://127.0.0.1:{eport}"
    H = f"http://127.0.0.1:{hport}"
    closed = free_port()

    # A mix: every job gets exactly one record, with its id and line.
    lines = []
    expect = {}
    for i in range(200):
        lines.append(f"{E}/plain/{i}")
        expect[str(len(lines))] = ("OK", 200)
    lines.append("")
    lines.append("# a comment")
    lines.append('{"id":"json-1","url":"%s/j","method":"POST","headers":[["X-Job","1"]],"body":"abc","meta":{"m":1}}' % E)
    expect["json-1"] = ("OK", 200)
    lines.append('{"id":"bad-scheme","url":"ftp://127.0.0.1/"}')
    expect["bad-scheme"] = ("USAGE_URL_SCHEME", 0)
    lines.append('{"id":"refused","url":"https://127.0.0.1:%d/"}' % closed)
    expect["refused"] = ("CONNECT_REFUSED", 0)
    lines.append('{"url": oops}')
    expect[str(len(lines))] = ("USAGE_INVALID_ARGUMENT", 0)
    lines.append("two words")
    expect[str(len(lines))] = ("USAGE_INVALID_ARGUMENT", 0)
    lines.append('{"id":"flaky","url":"%s/flaky/a"}' % H)
    expect["flaky"] = ("OK", 200)
    lines.append('{"id":"busy","url":"%s/busy"}' % H)
    expect["busy"] = ("OK", 429)
    text = ("\n".join(lines) + "\n").encode()
    r = batch(["-k", "--retries", "2", "--stats-json", f"{tmp}/stats.json"], text)
    recs = records(r.stdout.decode())
    ids = [x["id"] for x in recs]
    check("mix: exit 0, one record per job (no loss, no duplicate)",
          r.returncode == 0 and sorted(ids) == sorted(expect) and len(ids) == len(set(ids)),
          (r.returncode, len(ids), len(expect), r.stderr[-500:]))
    by = {x["id"]: x for x in recs}
    got = {k: (by[k]["error"] or "OK", by[k]["status"]) for k in by}
    check("mix: each record has the expected error name or status", got == expect,
          {k: (got.get(k), v) for k, v in expect.items() if got.get(k) != v})
    check("mix: failures carry a class", all(x["error_class"] for x in recs if x["error"]), recs[:3])
    check("mix: refused connections retried (attempts 3), the flaky 503 then 200 (attempts 2)",
          by["refused"]["attempts"] == 3 and by["flaky"]["attempts"] == 2, (by["refused"], by["flaky"]))
    check("mix: a 429 whose Retry-After is too long is recorded at once with its status",
          by["busy"]["attempts"] == 1 and by["busy"]["status"] == 429, by["busy"])
    check("mix: bad lines name their line", by[str(lines.index('{"url": oops}') + 1)]["line"] ==
          lines.index('{"url": oops}') + 1)
    check("mix: meta echoed, POST sent", by["json-1"]["meta"] == {"m": 1} and by["json-1"]["status"] == 200,
          by["json-1"])
    with open(f"{tmp}/stats.json") as f:
        st = json.load(f)
    check("--stats-json counts every job", st["done"] == len(expect) and st["ok"] + st["failed"] == len(expect),
          st)

    # What the server saw: the job's headers and body (echo reports them).
    r = batch(["-k", "--body", "text"], ('{"id":"h","url":"%s/h","headers":{"X-One":"1","X-Two":"2"}}\n' % E).encode())
    rec = records(r.stdout.decode())[0]
    seen = json.loads(rec["body"])["request"]["headers"]
    names = [h[0] for h in seen]
    check("--body text: echo's report inline; the job's headers arrived in order",
          "x-one" in names and names.index("x-one") < names.index("x-two"), names)

    r = batch(["-k", "--body", "base64"], ('{"id":"h","url":"%s/h","headers":{"X-One":"1"}}\n' % E).encode())
    rec = records(r.stdout.decode())[0]
    import base64
    decoded = base64.b64decode(rec["body_base64"], validate=True)
    check("--body base64: the same report, standard base64 (Python's decoder reads it)",
          json.loads(decoded)["request"]["headers"] and len(decoded) == rec["bytes"], rec.get("bytes"))

    # Limits: at most N in flight per host, as the server counted.
    State.max_in_flight.clear()
    text = "".join(f"{H}/slow/{i}\n" for i in range(24)).encode()
    r = batch(["--per-host", "3", "-c", "50", "--workers", "2"], text)
    recs = records(r.stdout.decode())
    check("--per-host 3: 24 slow jobs OK, never more than 3 at once at the server",
          len(recs) == 24 and all(x["status"] == 200 for x in recs) and
          State.max_in_flight.get(f"127.0.0.1:{hport}") == 3, (len(recs), State.max_in_flight))
    State.max_in_flight.clear()
    r = batch(["-c", "4", "--workers", "1"], text)
    check("-c 4: never more than 4 at once", State.max_in_flight.get(f"127.0.0.1:{hport}") == 4,
          State.max_in_flight)
    # Rate: 40 jobs at 100/s with a burst of 10 cannot take less than 0.3 s.
    text = "".join(f"{H}/r/{i}\n" for i in range(40)).encode()
    t0 = time.monotonic()
    r = batch(["--rate", "100"], text)
    took = time.monotonic() - t0
    check("--rate 100: 40 jobs take at least 0.3 s", len(records(r.stdout.decode())) == 40 and took >= 0.3, took)

    # kill -9 mid-run, then --resume: every job exactly once in the file.
    out = f"{tmp}/resume.jsonl"
    text = "".join('{"id":"k%d","url":"%s/slow/%d"}\n' % (i, H, i) for i in range(60))
    with open(f"{tmp}/jobs.jsonl", "w") as f:
        f.write(text)
    p = subprocess.Popen([GUISE, "batch", "--progress", "never", "-c", "4", "-o", out, f"{tmp}/jobs.jsonl"],
                         stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    p.kill()
    p.wait()
    with open(out, "ab") as f:
        f.write(b'{"id":"k59","url":"torn')  # a write cut in the middle
    before = open(out).read().splitlines()
    r = subprocess.run([GUISE, "batch", "--progress", "never", "--resume", "-c", "8", "-o", out, f"{tmp}/jobs.jsonl"],
                       capture_output=True, timeout=120)
    after = records(open(out).read())
    ids = [x["id"] for x in after]
    check("kill -9 then --resume: the torn line cut, every job exactly once",
          r.returncode == 0 and sorted(ids) == sorted(f"k{i}" for i in range(60)) and len(ids) == 60 and
          b"torn last line cut off" in r.stderr and 0 < len(before) - 1 < 60,
          (r.returncode, len(ids), len(before), r.stderr))

    # SIGINT: in-flight jobs finish and are recorded, the rest are left for --resume.
    out = f"{tmp}/sigint.jsonl"
    p = subprocess.Popen([GUISE, "batch", "--progress", "never", "-c", "4", "-o", out, f"{tmp}/jobs.jsonl"],
                         stderr=subprocess.PIPE)
    time.sleep(0.7)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    part = records(open(out).read())
    check("SIGINT: exit 130, some records, each job at most once", p.returncode == 130 and 0 < len(part) < 60 and
          len({x["id"] for x in part}) == len(part) and all(x["status"] == 200 for x in part), (p.returncode, len(part), err))
    r = subprocess.run([GUISE, "batch", "--progress", "never", "--resume", "-c", "8", "-o", out, f"{tmp}/jobs.jsonl"],
                       capture_output=True, timeout=120)
    ids = [x["id"] for x in records(open(out).read())]
    check("SIGINT then --resume: every job exactly once", sorted(ids) == sorted(f"k{i}" for i in range(60)), len(ids))

    # Out of file descriptors: the jobs that cannot get a socket end with
    # CONNECT_NO_DESCRIPTORS and a sentence saying what to do; every job has its record.
    import resource
    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
    hosts = [f"--resolve=h{i}.test:{hport}:127.0.0.1" for i in range(120)]
    text = "".join(f"http://h{i}.test:{hport}/slow/{i}\n" for i in range(120)).encode()
    r = subprocess.run([GUISE, "batch", "--progress", "never", "-c", "120", "--workers", "1",
                        *[x for h in hosts for x in h.split("=", 1)]], input=text, capture_output=True,
                       timeout=60, preexec_fn=low_nofile)
    recs = records(r.stdout.decode())
    nofd = [x for x in recs if x["error"] == "CONNECT_NO_DESCRIPTORS"]
    check("descriptors run out: one record per job, CONNECT_NO_DESCRIPTORS with what to do",
          len(recs) == 120 and len({x["id"] for x in recs}) == 120 and nofd and
          "RLIMIT_NOFILE 48" in nofd[0].get("error_detail", "") and
          all(x["status"] == 200 for x in recs if not x["error"]), (len(recs), recs[:2]))

    # Bad input or output stops the run before any request.
    served = State.served
    r = batch([f"{tmp}/missing.txt"])
    check("unreadable input: exit 1, named", r.returncode == 1 and b"missing.txt" in r.stderr, r.stderr)
    r = batch(["-o", f"{tmp}/no/such/dir/out.jsonl"], f"{H}/x\n".encode())
    check("unwritable output: exit 1, named, nothing sent", r.returncode == 1 and b"out.jsonl" in r.stderr and
          State.served == served, (r.returncode, r.stderr))
    r = batch(["--resume"], b"")
    check("--resume without -o: usage error", r.returncode == 2, r.stderr)
finally:
    stop_all(procs)
    shutil.rmtree(tmp, ignore_errors=True)

finish()

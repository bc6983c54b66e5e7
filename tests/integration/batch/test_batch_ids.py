#!/usr/bin/env python3
"""guise batch: every input line (but blank lines and comments) gets exactly one
record, across a kill -9 and --resume, whatever its id; and number options
that cannot be honoured are refused at once.

The id rules checked here are docs/BATCH.md's: an id is 1 to 1,024 bytes, no
control character, not starting with '#'; a line whose id an earlier line has
is not run (its record, under "#N", says "duplicate id"); a line without an id
(or that is not a job) takes its line number, or "#N" when an earlier line's id
is that number.

usage: test_batch_ids.py GUISE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client killed on purpose

    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(0.1)
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def run(args, stdin=None, timeout=60):
    return subprocess.run([GUISE, "batch", "--progress", "never", "--profile", "none", *args], input=stdin,
                          capture_output=True, timeout=timeout)


def records(path):
    with open(path, "rb") as f:
        return [json.loads(x) for x in f.read().decode().splitlines() if x.strip()]


def job_lines(data):
    """The numbers of the lines that must have a record: not blank, not a comment."""
    out = []
    for i, ln in enumerate(data.split(b"\n")[:-1], 1):
        s = ln.rstrip(b"\r").lstrip(b" \t")
        if s and not s.startswith(b"#"):
            out.append(i)
    return out


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
H = f"http://127.0.0.1:{srv.server_address[1]}"
tmp = tempfile.mkdtemp(prefix="guise-batch-ids-")
try:
    # ---- ids over 1,023 bytes: each line once, run + --resume ------------------------
    jobs, out = f"{tmp}/long.jsonl", f"{tmp}/long.out"
    data = "".join('{"id":"%s","url":"%s/l%d"}\n' % (chr(97 + i) * 1100, H, i) for i in range(5))
    data += "".join('{"id":"%s","url":"%s/m%d"}\n' % (chr(97 + i) * 1024, H, i) for i in range(5))
    with open(jobs, "w") as f:
        f.write(data)
    r1 = run(["-o", out, jobs])
    r2 = run(["-o", out, "--resume", jobs])
    recs = records(out)
    check("ids over 1,024 bytes: refused at input, one record per line after run + --resume (was 10 for 5)",
          r1.returncode == 0 and r2.returncode == 0 and sorted(x["line"] for x in recs) == list(range(1, 11)),
          (r1.returncode, r2.returncode, sorted(x["line"] for x in recs)))
    by_line = {x["line"]: x for x in recs}
    check("an 1,100-byte id: the record says why",
          all(by_line[i]["error"] == "USAGE_INVALID_ARGUMENT" and "1100 bytes" in by_line[i]["error_detail"]
              for i in range(1, 6)), [by_line[i].get("error_detail") for i in range(1, 6)])
    check("a 1,024-byte id (the longest) runs and is remembered by --resume",
          all(by_line[i]["error"] is None and len(by_line[i]["id"]) == 1024 for i in range(6, 11)),
          [(by_line[i]["error"], len(by_line[i]["id"])) for i in range(6, 11)])

    # ---- duplicate ids, a resume from a run that recorded only the first ---------------
    jobs, out = f"{tmp}/dup.jsonl", f"{tmp}/dup.out"
    data = ('{"id":"a","url":"%s/first"}\n{"id":"b","url":"%s/b"}\n{"id":"a","url":"%s/second"}\n' % (H, H, H))
    with open(jobs, "w") as f:
        f.write(data)
    with open(out, "w") as f:  # a previous run killed after recording line 1 only
        f.write('{"id":"a","line":1,"url":"%s/first","status":200,"error":null}\n' % H)
    r = run(["-o", out, "--resume", jobs])
    recs = records(out)
    check("duplicate id, --resume after the first was recorded: lines 1, 2, 3 each have one record",
          r.returncode == 0 and sorted(x.get("line") for x in recs) == [1, 2, 3], (r.stderr, recs))
    third = [x for x in recs if x.get("line") == 3]
    check("the duplicate is not run: its record (id \"#3\") names the id and the first line",
          third and third[0]["id"] == "#3" and third[0]["error"] == "USAGE_INVALID_ARGUMENT" and
          "duplicate id \"a\" (first on line 1)" in third[0]["error_detail"], third)

    r = run([], ('{"id":"q\\"\u00e9","url":"%s/a"}\n{"id":"q\\"\u00e9","url":"%s/b"}\n' % (H, H)).encode())
    recs = [json.loads(x) for x in r.stdout.decode().splitlines()]
    check("a duplicate id with a quote and non-ASCII is named as it is in the record's detail",
          len(recs) == 2 and any('duplicate id "q\"\u00e9" (first on line 1)' in (x.get("error_detail") or "")
                                 for x in recs), recs)

    # ---- duplicates and --body-dir: one job writes the file ----------------------------
    bd = f"{tmp}/bodies"
    os.mkdir(bd)
    r = run(["--body-dir", bd], ('{"id":"x","url":"%s/one"}\n{"id":"x","url":"%s/two"}\n' % (H, H)).encode())
    recs = [json.loads(x) for x in r.stdout.decode().splitlines()]
    files = os.listdir(bd)
    check("duplicate ids with --body-dir: one body file, the first job's",
          len(recs) == 2 and len(files) == 1 and open(f"{bd}/{files[0]}").read() == "/one" and
          [x["error"] for x in recs].count(None) == 1, (recs, files))

    # ---- a line without id whose number an earlier id took: renamed, run ----------------
    r = run([], ('{"id":"3","url":"%s/x"}\n{"url":"%s/y"}\n%s/z\n' % (H, H, H)).encode())
    by_line = {x["line"]: x for x in map(json.loads, r.stdout.decode().splitlines())}
    check("line 3 without an id while line 1 has id \"3\": run as \"#3\"",
          by_line.get(3, {}).get("id") == "#3" and by_line[3]["error"] is None and by_line[1]["id"] == "3" and
          by_line[2]["id"] == "2", by_line)
    r = run([], ('{"id":"#1","url":"%s/x"}\n{"id":"a\\u0007b","url":"%s/y"}\n{"id":"","url":"%s/z"}\n' %
                 (H, H, H)).encode())
    recs = [json.loads(x) for x in r.stdout.decode().splitlines()]
    check("ids starting with '#', with a control character, or empty: refused with a record each",
          len(recs) == 3 and all(x["error"] == "USAGE_INVALID_ARGUMENT" and x["id"] == str(x["line"]) for x in recs),
          recs)

    # ---- a NUL-only line, and everything together across kill -9 + --resume -------------
    r = run([], b"%s/a\n\x00\n%s/b\n" % (H.encode(), H.encode()))
    recs = [json.loads(x) for x in r.stdout.decode().splitlines()]
    check("a NUL-only line gets a record (an error naming its line)",
          sorted(x["line"] for x in recs) == [1, 2, 3] and
          [x["error"] for x in recs if x["line"] == 2] == ["USAGE_INVALID_ARGUMENT"], recs)
    jobs, out = f"{tmp}/mix.jsonl", f"{tmp}/mix.out"
    parts = []
    for i in range(60):
        k = i % 6
        if k == 0:
            parts.append(b'{"id":"dup","url":"%s/slow/%d"}' % (H.encode(), i))
        elif k == 1:
            parts.append(b'{"id":"%s","url":"%s/slow/%d"}' % (b"L" * 1500, H.encode(), i))
        elif k == 2:
            parts.append(b"\x00")
        elif k == 3:
            parts.append(b"%s/slow/%d" % (H.encode(), i))
        elif k == 4:
            parts.append(b'{"id":"%d","url":"%s/slow/%d"}' % (i + 3, H.encode(), i))  # another line's number
        else:
            parts.append(b'{"id":"u%d","url":"%s/slow/%d"}' % (i, H.encode(), i))
    parts.insert(30, b"")
    parts.insert(31, b"# comment")
    data = b"\n".join(parts) + b"\n"
    with open(jobs, "wb") as f:
        f.write(data)
    p = subprocess.Popen([GUISE, "batch", "--progress", "never", "--profile", "none", "-c", "2", "-o", out, jobs],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.8)
    p.kill()
    p.wait()
    before = len(records(out))
    r = run(["-c", "8", "-o", out, "--resume", jobs])
    r2 = run(["-c", "8", "-o", out, "--resume", jobs])
    recs = records(out)
    want = job_lines(data)
    got = sorted(x["line"] for x in recs)
    check("kill -9 + --resume (long ids, duplicate ids, NUL lines, ids that are line numbers): "
          "exactly one record per input line", r.returncode == 0 and 0 < before < len(want) and got == want,
          (r.returncode, before, len(want), [n for n in want if got.count(n) != 1][:10], r.stderr[-300:]))
    check("... and ids are unique in the file", len({x["id"] for x in recs}) == len(recs),
          sorted(x["id"] for x in recs)[:20])
    check("a third run adds nothing", r2.returncode == 0 and len(records(out)) == len(want), r2.stderr[-200:])

    # ---- numbers that cannot be honoured: refused at once, the option named ------------
    for opt, val in [("--rate", "nan"), ("--rate", "inf"), ("--rate", "1e-300"), ("--rate", "-1"),
                     ("--per-host-rate", "nan"), ("--max-time", "nan"), ("--connect-timeout", "nan"),
                     ("--max-time", "-inf")]:
        t0 = time.monotonic()
        try:
            r = run([opt, val], f"{H}/n\n".encode(), timeout=10)
            res = (r.returncode, r.stderr.decode(errors="replace").strip())
        except subprocess.TimeoutExpired:
            res = ("hung", "")
        check(f"batch {opt} {val}: refused at once (exit 2), the option named",
              res[0] == 2 and opt in res[1] and time.monotonic() - t0 < 5, res)
    r = run(["--rate", "0.001"], b"")
    check("batch --rate 0.001 (the least) is taken", r.returncode == 0, r.stderr)
finally:
    srv.shutdown()
    srv.server_close()
    shutil.rmtree(tmp, ignore_errors=True)

finish()

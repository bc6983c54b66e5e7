#!/usr/bin/env python3
"""URL userinfo: http://user:PW@host/ sends Basic credentials (RFC 7617) as curl does,
and the password is never written: -v, -w %{url} / %{url_effective}, redirect lines,
error messages, batch records (url, final_url, redirects) show user:*** instead.

A loopback HTTP/1.1 server on two ports (two origins) records the Authorization of
each request and redirects as told by the path. Expected credentials are computed
here from the URL (percent-decoding, base64), not by guise.

usage: test_userinfo.py GUISE
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

seen = []  # (port, path, Authorization)
lock = threading.Lock()
PASSWORD = "s3cr%40t"        # as written in the URL
PASSWORD_PLAIN = "s3cr@t"    # what the server must get
SECRETS = ("s3cr", "%40t")   # neither may appear in anything guise writes


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        with lock:
            seen.append((self.server.server_address[1], urlparse(self.path).path, self.headers.get("Authorization")))
        q = parse_qs(urlparse(self.path).query)
        if urlparse(self.path).path == "/r":
            self.send_response(302)
            self.send_header("Location", q["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def serve():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def guise(*args):
    p = subprocess.run([GUISE, "--profile", "none", *args], capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def clean(text):
    return not any(s in text for s in SECRETS)


def last(path):
    with lock:
        return [a for _, p, a in seen if p == path]


servers = [serve(), serve()]
A, B = (s.server_address[1] for s in servers)
try:
    # 1. Basic from the userinfo, percent-decoded; the command's output holds no password.
    url = f"http://alice:{PASSWORD}@127.0.0.1:{A}/one"
    rc, out, err = guise("-v", "-w", "url=%{url} eff=%{url_effective}\\n", url)
    check("userinfo: the server gets Basic alice:s3cr@t", rc == 0 and last("/one") == [basic("alice", PASSWORD_PLAIN)],
          (rc, err, last("/one")))
    # -v prints the request line and fields as curl does (no URL; the Authorization
    # field as sent, like curl -v): no password in clear text anywhere.
    check("-v and -w show alice:*** and not the password",
          "> GET /one HTTP/1.1" in err and f"url=http://alice:***@127.0.0.1:{A}/one" in out and
          f"eff=http://alice:***@127.0.0.1:{A}/one" in out and clean(out + err), (out, err))

    # 2. A caller's Authorization wins.
    rc, out, err = guise("-s", "-H", "Authorization: Bearer mine", f"http://alice:{PASSWORD}@127.0.0.1:{A}/two")
    check("a caller's Authorization wins over the userinfo", last("/two") == ["Bearer mine"], last("/two"))

    # 3. A user without a password: "user:" (what curl sends).
    rc, out, err = guise("-s", f"http://bob@127.0.0.1:{A}/three")
    check("user without password: Basic bob:", last("/three") == [basic("bob", "")], last("/three"))

    # 4. Redirects: the credentials stay on their origin; the chain is written redacted.
    to_same = "/same"
    to_other = f"http://127.0.0.1:{B}/other"
    rc, out, err = guise("-v", "-L", "-w", "%{url_effective}\\n",
                         f"http://alice:{PASSWORD}@127.0.0.1:{A}/r?to={to_same}")
    check("a redirect within the origin keeps the credentials", last("/same") == [basic("alice", PASSWORD_PLAIN)],
          last("/same"))
    check("redirect lines and url_effective redacted", "alice:***@" in err and clean(out + err), (out, err))
    rc, out, err = guise("-v", "-L", f"http://alice:{PASSWORD}@127.0.0.1:{A}/r?to={to_other}")
    check("a redirect to another origin drops the credentials", rc == 0 and last("/other") == [None],
          (rc, err, last("/other")))
    check("the cross-origin chain is written redacted", clean(out + err), err)

    # 5. Error messages: a refused URL, a Location guise cannot follow.
    rc, out, err = guise(f"http://alice:{PASSWORD}@127.0.0.1:{A}:99999/")
    check("a malformed URL's error message hides the password", rc != 0 and "alice:***@" in err and clean(err),
          (rc, err))
    rc, out, err = guise("-L", f"http://127.0.0.1:{A}/r?to=ftp://eve:{PASSWORD}@127.0.0.1/")
    check("an unfollowable Location's message hides its password", rc != 0 and "eve:***@" in err and clean(err),
          (rc, err))

    # 6. Batch records: url, final_url, redirects.
    with tempfile.TemporaryDirectory() as d:
        jobs = os.path.join(d, "jobs.jsonl")
        with open(jobs, "w") as f:
            f.write(json.dumps({"id": "a", "url": f"http://carol:{PASSWORD}@127.0.0.1:{A}/batch"}) + "\n")
            f.write(json.dumps({"id": "b", "url": f"http://carol:{PASSWORD}@127.0.0.1:{A}/r?to=/batch2"}) + "\n")
            f.write(json.dumps({"id": "c", "url": f"http://carol:{PASSWORD}@127.0.0.1:{A}:0/"}) + "\n")
        p = subprocess.run([GUISE, "batch", "--profile", "none", "-L", "--progress", "never", jobs],
                           capture_output=True, timeout=60)
    out = p.stdout.decode(errors="replace")
    recs = {r["id"]: r for r in (json.loads(x) for x in out.splitlines() if x.strip())}
    check("batch: three records", set(recs) == {"a", "b", "c"}, out)
    check("batch: Basic credentials sent", last("/batch") == [basic("carol", PASSWORD_PLAIN)] and
          last("/batch2") == [basic("carol", PASSWORD_PLAIN)], (last("/batch"), last("/batch2")))
    a = recs.get("a", {})
    check("batch: url and final_url redacted",
          a.get("url") == f"http://carol:***@127.0.0.1:{A}/batch" and a.get("final_url") == a.get("url"), a)
    b = recs.get("b", {})
    check("batch: redirects and final_url redacted",
          b.get("final_url") == f"http://carol:***@127.0.0.1:{A}/batch2" and
          [h.get("url") for h in b.get("redirects", [])] == [f"http://carol:***@127.0.0.1:{A}/r?to=/batch2"], b)
    check("batch: a refused job's record redacted", recs.get("c", {}).get("error") and
          "carol:***@" in recs.get("c", {}).get("url", ""), recs.get("c"))
    check("batch: no record holds the password", clean(out + p.stderr.decode(errors="replace")), out)
finally:
    for s in servers:
        s.shutdown()
finish()

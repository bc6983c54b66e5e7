#!/usr/bin/env python3
"""Redirects (-L) against servers on loopback: a test server on two ports (two
origins) that redirects as told by the path and records what each request
carried, and guise echo (https) at the end of a chain. The server's records are
what the checks read: method, body, Authorization, per hop.

usage: test_redirects.py GUISE
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, wait_port  # noqa: E402
seen = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    """/r?code=N&to=LOCATION answers N with Location; anything else 200 "ok".
    Every request is recorded: (port, method, path, body, authorization)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with lock:
            seen.append((self.server.server_address[1], self.command, self.path, body.decode(),
                         self.headers.get("Authorization")))
        q = parse_qs(urlparse(self.path).query)
        if urlparse(self.path).path == "/r":
            code = int(q["code"][0])
            self.send_response(code)
            self.send_header("Location", q["to"][0])
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"moved....")
            return
        if urlparse(self.path).path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = do_HEAD = handle_any


def serve():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def guise(*args, silent=True):
    return subprocess.run([GUISE, "--profile", "none", "-k", *(["-s"] if silent else []), *args],
                          capture_output=True, timeout=30)


from urllib.parse import quote

A, B = serve(), serve()
eport = free_port()
echo = subprocess.Popen([GUISE, "echo", "--listen", f"127.0.0.1:{eport}"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", eport), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    a, b, e = f"http://127.0.0.1:{A}", f"http://127.0.0.1:{B}", f"https://127.0.0.1:{eport}"

    # A chain across origins and schemes: relative, absolute, to https.
    last = f"{e}/end?x=1"
    hop3 = f"{b}/r?code=307&to={quote(last, safe='')}"
    hop2 = f"/r?code=302&to={quote(hop3, safe='')}"
    start = f"{a}/r?code=301&to={quote(hop2, safe='')}"
    seen.clear()
    r = guise("-L", "-w", "\\n%{http_code} %{num_redirects} %{url_effective}", start)
    body, _, wline = r.stdout.decode().rpartition("\n")
    code, nred, eff = wline.split(" ")
    doc = json.loads(body)
    pseudo = dict(h for h in doc.get("request", {}).get("headers", []) if h[0].startswith(":"))
    check("chain 301 (relative) -> 302 (other origin) -> 307 (to https): exit 0, 3 redirects, echo at the end",
          r.returncode == 0 and code == "200" and nred == "3" and eff == last and pseudo.get(":method") == "GET" and
          pseudo.get(":path") == "/end?x=1", (r.returncode, wline, r.stderr, pseudo))
    check("the hops reached the servers in order", [(p, m) for p, m, *_ in seen] == [(A, "GET"), (A, "GET"), (B, "GET")],
          seen)

    # Methods: POST through 302 becomes GET without a body; 307 and 308 keep POST and the body.
    for code, want_method, want_body in (("302", "GET", ""), ("301", "GET", ""), ("303", "GET", ""),
                                         ("307", "POST", "k=v"), ("308", "POST", "k=v")):
        seen.clear()
        r = guise("-L", "-d", "k=v", "-o", os.devnull, f"{a}/r?code={code}&to=/target")
        tgt = [x for x in seen if x[2] == "/target"]
        check(f"POST then {code}: the target got {want_method} with body '{want_body}'",
              r.returncode == 0 and len(tgt) == 1 and tgt[0][1] == want_method and tgt[0][3] == want_body, (r.stderr, seen))
    seen.clear()
    r = guise("-L", "-X", "PUT", "-d", "k=v", "-o", os.devnull, f"{a}/r?code=303&to=/target")
    check("PUT then 303: GET", [x[1] for x in seen if x[2] == "/target"] == ["GET"], seen)

    # Credentials: kept on the same origin, dropped on another.
    seen.clear()
    r = guise("-L", "-H", "Authorization: Bearer secret", "-o", os.devnull,
              f"{a}/r?code=302&to=/same")
    check("Authorization kept on a same-origin redirect", [x[4] for x in seen] == ["Bearer secret", "Bearer secret"], seen)
    seen.clear()
    r = guise("-L", "-H", "Authorization: Bearer secret", "-o", os.devnull,
              f"{a}/r?code=302&to={quote(b + '/other', safe='')}")
    check("Authorization not sent to another origin", [x[4] for x in seen] == ["Bearer secret", None], seen)

    # Limits and refusals.
    r = guise("-L", "--max-redirs", "5", "-o", os.devnull, f"{a}/loop", silent=False)
    check("a redirect loop ends with HTTP_TOO_MANY_REDIRECTS (exit 47, curl's)",
          r.returncode == 47 and b"HTTP_TOO_MANY_REDIRECTS" in r.stderr, (r.returncode, r.stderr))
    r = guise("-L", "-o", os.devnull, f"{a}/r?code=302&to={quote('ftp://127.0.0.1/x', safe='')}", silent=False)
    check("a redirect to ftp:// is refused, named", r.returncode == 2 and b"USAGE_URL_SCHEME" in r.stderr,
          (r.returncode, r.stderr))
    r = guise("-w", "%{http_code} %{num_redirects}", "-o", os.devnull, f"{a}/r?code=301&to=/x")
    check("without -L the 301 is the answer", r.returncode == 0 and r.stdout == b"301 0", r.stdout)

    # Batch: the record names where the job ended and the way there.
    r = subprocess.run([GUISE, "batch", "--profile", "none", "-k", "-L", "--progress", "never"],
                       input=(start + "\n").encode(), capture_output=True, timeout=30)
    rec = json.loads(r.stdout.decode().splitlines()[0])
    check("batch -L: final_url and the redirect chain with statuses",
          rec["status"] == 200 and rec["final_url"] == last and
          [h["status"] for h in rec.get("redirects", [])] == [301, 302, 307] and rec["redirects"][0]["url"] == start,
          rec)
finally:
    echo.terminate()
    echo.wait(5)

finish()

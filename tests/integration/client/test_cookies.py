#!/usr/bin/env python3
"""Cookies against a server on loopback that sets them, with an independent
reader for the jar file: Python's http.cookiejar.MozillaCookieJar parses what
`guise -c` wrote. Also: -b FILE and -b 'a=1', cookies set by a redirect, a
malformed Set-Cookie reported under -v, a skipped cookie-file line reported
without -v as "guise: warning: cookie file FILE:N skipped: WHY", and where the Cookie field goes in an
HTTP/2 request with the Chrome profile (seen by guise echo).

usage: test_cookies.py GUISE
"""
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, wait_port  # noqa: E402


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", cookies=(), extra=()):
        self.send_response(code)
        for c in cookies:
            self.send_header("Set-Cookie", c)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/set":
            self.reply(200, b"set", ["a=1; Path=/", "b=2; Max-Age=3600; HttpOnly", "bad-no-equals",
                                     "c=3; Domain=example.org", "d=4; Path=/other"])
        elif self.path == "/login":
            self.reply(302, cookies=["sess=abc; Path=/"], extra=[("Location", "/echo")])
        else:
            self.reply(200, (self.headers.get("Cookie") or "").encode())


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{srv.server_address[1]}"
tmp = tempfile.mkdtemp(prefix="guise-cookies-")
jar = f"{tmp}/jar.txt"


def skipped(stderr, path, line, why):
    """The warning for line |line| of cookie file |path| skipped with reason |why|,
    on a line of its own: "guise: warning: cookie file FILE:N skipped: WHY"."""
    pat = rb"(?m)^guise: warning: cookie file %s:%d skipped: %s" % (
        re.escape(path.encode()), line, re.escape(why.encode()))
    return re.search(pat, stderr) is not None


def guise(*args):
    return subprocess.run([GUISE, "--profile", "none", "-s", *args], capture_output=True, timeout=30)


r = guise("-c", jar, f"{base}/set", f"{base}/echo")
check("-c: the next URL sends what the first set (path /, not /other; foreign Domain refused)",
      r.returncode == 0 and r.stdout == b"seta=1; b=2", (r.returncode, r.stdout, r.stderr))
mj = http.cookiejar.MozillaCookieJar(jar)
try:
    # curl writes 0 as the expiry of a session cookie; Python reads 0 as long
    # expired, hence ignore_expires (and the check of each expiry below).
    mj.load(ignore_discard=True, ignore_expires=True)
    got = {c.name: c for c in mj}
except Exception as e:  # a parse failure is a failure of our file
    got = {"error": str(e)}
check("the jar file parses with Python's MozillaCookieJar: a (session), b (expires in ~1 h), d (/other)",
      set(got) == {"a", "b", "d"} and got["a"].expires == 0 and got["d"].expires == 0 and
      3500 < got["b"].expires - time.time() < 3700 and got["d"].path == "/other", got)
with open(jar) as f:
    text = f.read()
check("HttpOnly written as curl does (#HttpOnly_ prefix)", "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t" in text, text)

r = guise("-b", jar, f"{base}/echo")
check("-b FILE: the cookies of the file are sent", r.stdout == b"a=1; b=2", r.stdout)
r = guise("-b", "x=1; y=2", f"{base}/echo")
check("-b 'x=1; y=2': sent as given", r.stdout == b"x=1; y=2", r.stdout)
r = guise("-c", f"{tmp}/j2.txt", "-L", f"{base}/login")
check("a cookie set by a redirect goes with the next hop", r.stdout == b"sess=abc", (r.stdout, r.stderr))
r = subprocess.run([GUISE, "--profile", "none", "-v", "-c", f"{tmp}/j3.txt", "-o", os.devnull, f"{base}/set"],
                   capture_output=True, timeout=30)
check("-v names each refused Set-Cookie and why", b"ignored: no '='" in r.stderr and
      b"ignored: Domain does not match the host" in r.stderr, r.stderr[-600:])
with open(f"{tmp}/bad.txt", "w") as f:
    f.write("# Netscape HTTP Cookie File\nnot a cookie line\n127.0.0.1\tFALSE\t/\tFALSE\t0\tok\t1\n")
r = subprocess.run([GUISE, "--profile", "none", "-b", f"{tmp}/bad.txt", f"{base}/echo"],
                   capture_output=True, timeout=30)
check("a malformed cookie file line is skipped with a warning naming FILE:2 (without -v), the rest used",
      r.stdout == b"ok=1" and skipped(r.stderr, f"{tmp}/bad.txt", 2, ""), (r.stdout, r.stderr[-400:]))
r = subprocess.run([GUISE, "--profile", "none", "-s", "-b", f"{tmp}/bad.txt", f"{base}/echo"],
                   capture_output=True, timeout=30)
check("... -s: no warning", r.stdout == b"ok=1" and b"skipped" not in r.stderr, (r.stdout, r.stderr[-400:]))
r = subprocess.run([GUISE, "--profile", "none", "-c", f"{tmp}/j4.txt", "-o", os.devnull, f"{base}/set"],
                   capture_output=True, timeout=30)
check("refused Set-Cookie fields stay -v only", r.returncode == 0 and b"ignored" not in r.stderr,
      (r.returncode, r.stderr[-400:]))

# Cookie-file lines get the rules a Set-Cookie gets: a bare CR in a value (it made
# every later request to the host fail with exit 2), a space as a name, a ".com"
# supercookie, a control character: each line skipped with its number and reason.
port = srv.server_address[1]
hostile = f"{tmp}/hostile.txt"
with open(hostile, "w", newline="") as f:
    f.write("# Netscape HTTP Cookie File\n"
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tcr\tA\rB\n"
            "127.0.0.1\tFALSE\t/\tFALSE\t0\t \tspace-name\n"
            ".com\tTRUE\t/\tFALSE\t0\tsuper\t1\n"
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tbell\tA\aB\n"
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tok\t1\n"
            "www.example.com\tFALSE\t/\tFALSE\t0\tmine\t2\n")
r = subprocess.run([GUISE, "--profile", "none", "-v", "-b", f"{tmp}/hostile.txt", f"{base}/echo"],
                   capture_output=True, timeout=30)
check("cookie file with a bare CR, a space name, a control character: the request works (exit 0), "
      "only the good cookie sent", r.returncode == 0 and r.stdout == b"ok=1", (r.returncode, r.stdout, r.stderr[-400:]))
check("each bad cookie-file line is reported with its number and reason",
      skipped(r.stderr, hostile, 2, "a control character") and
      skipped(r.stderr, hostile, 3, "blanks around the cookie name") and
      skipped(r.stderr, hostile, 4, "Domain is a public suffix") and
      skipped(r.stderr, hostile, 5, "a control character"),
      r.stderr[-800:])
r = subprocess.run([GUISE, "--profile", "none", "-s", "--resolve", f"www.example.com:{port}:127.0.0.1",
                    "-b", f"{tmp}/hostile.txt", f"http://www.example.com:{port}/echo"], capture_output=True, timeout=30)
check("a '.com' cookie from a file is not sent to www.example.com (its own cookie is)",
      r.returncode == 0 and r.stdout == b"mine=2", (r.returncode, r.stdout, r.stderr[-300:]))

# HTTP/2 with the Chrome profile: the cookie field before priority, the last field.
eport = srv.server_address[1] + 0
s = socket.socket()
s.bind(("127.0.0.1", 0))
eport = s.getsockname()[1]
s.close()
echo = subprocess.Popen([GUISE, "echo", "--listen", f"127.0.0.1:{eport}"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", eport), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    with open(f"{tmp}/e.txt", "w") as f:
        f.write("127.0.0.1\tFALSE\t/\tTRUE\t0\tz\t9\n")
    r = subprocess.run([GUISE, "-k", "-s", "--profile", "chrome-150", "-b", f"{tmp}/e.txt", f"https://127.0.0.1:{eport}/"],
                       capture_output=True, timeout=30)
    names = [h[0] for h in json.loads(r.stdout)["request"]["headers"]]
    check("HTTP/2, chrome-150: a Secure cookie over https, one cookie field just before priority",
          names.count("cookie") == 1 and names[-2:] == ["cookie", "priority"], names)
finally:
    echo.terminate()
    echo.wait(5)

finish()

#!/usr/bin/env python3
"""Request framing belongs to guise: a caller's Content-Length, Transfer-Encoding or
TE other than "trailers" is refused (command -H, batch job headers), so that no job
can make a kept-alive HTTP/1.1 connection carry the next job as its body.

The server here answers each request as soon as its head is in (as many servers do
for a GET), then reads the body the head announced before it reads the next head,
and records every request the way it framed it, per connection. Before the fix a
job with "Content-Length: 40" and no body made the next job's head (its
Authorization included) the first one's body, and "Transfer-Encoding: chunked" over
a raw body smuggled a request of the job's own making.

Over HTTP/2 (guise echo, TLS): Connection, Keep-Alive, Proxy-Connection and
Upgrade are left out, "TE: trailers" goes, and a caller's Host is the :authority.

usage: test_framing.py GUISE
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import accept_loop, check, finish, free_port, stop_all, wait_port  # noqa: E402

conns = []  # per connection: a list of (request line, headers dict, body bytes)
lock = threading.Lock()
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


def handle(c):
    c.settimeout(5)
    reqs = []
    with lock:
        conns.append(reqs)
    buf = b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            d = c.recv(65536)
            if not d:
                raise EOFError
            buf += d

    def line():
        nonlocal buf
        while b"\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                raise EOFError
            buf += d
        ln, buf = buf.split(b"\r\n", 1)
        return ln

    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            hdrs = {}
            for h in lines[1:]:
                k, _, v = h.partition(b":")
                hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
            c.sendall(RESPONSE)  # answered at once; the body is read after
            body = b""
            if "chunked" in hdrs.get("transfer-encoding", "").lower():
                while True:
                    size = int(line().split(b";")[0], 16)
                    if size == 0:
                        while line() != b"":
                            pass
                        break
                    need(size + 2)
                    body += buf[:size]
                    buf = buf[size + 2:]
            elif hdrs.get("content-length"):
                n = int(hdrs["content-length"])
                need(n)
                body, buf = buf[:n], buf[n:]
            reqs.append((lines[0].decode("latin-1"), hdrs, body))
    except (OSError, EOFError, ValueError):
        pass
    finally:
        c.close()


def requests():
    with lock:
        return [r for cs in conns for r in cs]


def batch(jobs, *extra):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "jobs.jsonl")
        with open(path, "w") as f:
            for j in jobs:
                f.write(json.dumps(j) + "\n")
        p = subprocess.run([GUISE, "batch", "--profile", "none", "--workers", "1", "--per-host", "1",
                            "--connections-per-host", "1", "--retries", "0", "--max-time", "5",
                            "--progress", "never", *extra, path], capture_output=True, timeout=60)
    recs = [json.loads(x) for x in p.stdout.decode().splitlines() if x.strip()]
    return p, {r["id"]: r for r in recs}


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
port = srv.getsockname()[1]
accept_loop(srv, handle)
base = f"http://127.0.0.1:{port}"
procs = []
try:
    # 1. Content-Length without a body, then a job with credentials on the same
    #    kept-alive connection.
    p, recs = batch([{"id": "cl", "url": base + "/first", "headers": [["Content-Length", "40"]]},
                     {"id": "next", "url": base + "/second",
                      "headers": [["Authorization", "Bearer NEXT-JOB-SECRET"]]}])
    seen = requests()
    check("batch exits 0 with a record per job", p.returncode == 0 and set(recs) == {"cl", "next"},
          (p.returncode, p.stderr, recs))
    r = recs.get("cl", {})
    check("a job's Content-Length is refused as a usage error naming it",
          r.get("error") == "USAGE_INVALID_ARGUMENT" and "Content-Length" in r.get("error_detail", ""), r)
    check("the refused job sent nothing", not any("/first" in rl for rl, _, _ in seen), seen)
    check("the next job is a request of its own, credentials in its head",
          any(rl.startswith("GET /second ") and h.get("authorization") == "Bearer NEXT-JOB-SECRET"
              for rl, h, _ in seen) and recs.get("next", {}).get("status") == 200, (seen, recs.get("next")))
    check("no request body holds another request",
          not any(b"HTTP/1.1" in b or b"SECRET" in b for _, _, b in seen), seen)

    # 2. Transfer-Encoding: chunked over a raw body (a smuggled request).
    with lock:
        conns.clear()
    smuggle = "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    p, recs = batch([{"id": "te", "url": base + "/post", "method": "POST", "body": smuggle,
                      "headers": [["Transfer-Encoding", "chunked"]]},
                     {"id": "after", "url": base + "/after"}])
    seen = requests()
    r = recs.get("te", {})
    check("a job's Transfer-Encoding is refused naming it",
          r.get("error") == "USAGE_INVALID_ARGUMENT" and "Transfer-Encoding" in r.get("error_detail", ""), r)
    check("no smuggled request reached the server", not any("/smuggled" in rl for rl, _, _ in seen), seen)
    check("the job after it is served", recs.get("after", {}).get("status") == 200, recs.get("after"))

    # 3. A body the caller gives is framed by guise: Content-Length is the body's.
    with lock:
        conns.clear()
    p, recs = batch([{"id": "b", "url": base + "/b", "method": "POST", "body": "hello"},
                     {"id": "c", "url": base + "/c"}])
    seen = requests()
    check("a body goes with guise's own Content-Length, the next request after it",
          [(rl.split()[1], h.get("content-length"), b) for rl, h, b in seen] ==
          [("/b", "5", b"hello"), ("/c", None, b"")], seen)

    # 4. The command: -H Content-Length / Transfer-Encoding / TE refused (exit 2, the
    #    field named), before any byte goes out; TE: trailers is taken.
    with lock:
        conns.clear()
    for hdr, name in (("Content-Length: 40", "Content-Length"), ("transfer-encoding: chunked", "transfer-encoding"),
                      ("TE: gzip", "TE")):
        p = subprocess.run([GUISE, "--profile", "none", "-H", hdr, base + "/cmd"], capture_output=True,
                           timeout=30)
        err = p.stderr.decode(errors="replace")
        check(f"guise -H '{hdr}' exits 2 naming the field", p.returncode == 2 and f'"{name}' in err,
              (p.returncode, err))
    check("nothing was sent for the refused commands", requests() == [], requests())
    p = subprocess.run([GUISE, "--profile", "none", "-s", "-H", "TE: trailers", base + "/trailers"],
                       capture_output=True, timeout=30)
    check("guise -H 'TE: trailers' is sent", p.returncode == 0 and any(
        h.get("te") == "trailers" for _, h, _ in requests()), (p.returncode, p.stderr, requests()))

    # 5. "Connection: close" from the caller: the connection is not used again.
    with lock:
        conns.clear()
    p, recs = batch([{"id": "x", "url": base + "/x", "headers": [["Connection", "close"]]},
                     {"id": "y", "url": base + "/y"}])
    with lock:
        per_conn = [[rl.split()[1] for rl, _, _ in cs] for cs in conns]
    check("after a caller's Connection: close the next job gets a new connection",
          sorted(per_conn) == [["/x"], ["/y"]] and recs.get("y", {}).get("reused") is False,
          (per_conn, recs))

    # 6. HTTP/2 (guise echo over TLS): connection-specific fields are left out
    #    (RFC 9113 8.2.2), TE: trailers kept, Host becomes :authority.
    eport = free_port()
    echo = subprocess.Popen([GUISE, "echo", "--listen", f"127.0.0.1:{eport}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    procs.append(echo)
    wait_port(eport)
    p = subprocess.run([GUISE, "--profile", "none", "-k", "-s", "--http2",
                        "-H", "Connection: keep-alive", "-H", "Keep-Alive: 5", "-H", "Proxy-Connection: x",
                        "-H", "Upgrade: websocket", "-H", "TE: trailers", "-H", "Host: named.test:8443",
                        f"https://127.0.0.1:{eport}/h2"], capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    try:
        doc = json.loads(out)
    except ValueError:
        doc = {}
    fields = [(n.lower(), v) for n, v in (doc.get("http2") or {}).get("headers", [])]
    names = [n for n, _ in fields]
    check("HTTP/2 request succeeds with connection-specific -H fields", p.returncode == 0 and fields,
          (p.returncode, p.stderr, out[:2000]))
    check("HTTP/2: connection, keep-alive, proxy-connection, upgrade, host left out",
          not set(names) & {"connection", "keep-alive", "proxy-connection", "upgrade", "host"}, fields)
    check("HTTP/2: te: trailers sent, the caller's Host is the :authority",
          ("te", "trailers") in fields and (":authority", "named.test:8443") in fields, fields)
finally:
    srv.close()
    stop_all(procs)
finish()

#!/usr/bin/env python3
"""A body over the cap ends the same way over HTTP/1.1 and HTTP/2.

Two loopback servers answer with a 20,000-byte body: one over HTTP/1.1 (with a
Content-Length), one over h2c (prior knowledge: HEADERS :status 200, then DATA
frames). body_cap fetches each through the public API with max_body 1,000. Both
must end in HTTP_BODY_TOO_LARGE with a detail naming the cap; before the fix the
HTTP/2 one ended in CANCELLED (the h2 layer replaced the callback's code).

usage: test_body_cap.py BODY_CAP
"""
import os
import socket
import subprocess
import sys

PROBE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import accept_loop, check, finish, h2_frame, h2_frames, h2_read_preface  # noqa: E402

BODY = 20000
CAP = 1000


def h1(c):
    try:
        c.settimeout(5)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n" % BODY
                  + b"x" * BODY)
        c.recv(1)  # until the client closes
    except OSError:
        pass
    finally:
        c.close()


def h2(c):
    try:
        c.settimeout(5)
        buf = h2_read_preface(c)
        if buf is None:
            return
        c.sendall(h2_frame(4, 0, 0))
        while True:
            frames, buf = h2_frames(buf)
            for ftype, flags, stream, _ in frames:
                if ftype == 4 and not flags & 1:
                    c.sendall(h2_frame(4, 1, 0))
                if ftype == 1:  # the request: a response of BODY bytes in 4,000-byte frames
                    out = h2_frame(1, 4, stream, b"\x88")  # END_HEADERS, :status 200
                    for off in range(0, BODY, 4000):
                        end = 1 if off + 4000 >= BODY else 0
                        out += h2_frame(0, end, stream, b"x" * min(4000, BODY - off))
                    c.sendall(out)
            d = c.recv(65536)
            if not d:
                return
            buf += d
    except OSError:
        pass
    finally:
        c.close()


servers = []
try:
    ports = {}
    for name, handle in (("1", h1), ("2", h2)):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        servers.append(srv)
        ports[name] = srv.getsockname()[1]
        accept_loop(srv, handle)
    for ver, label in (("1", "HTTP/1.1"), ("2", "HTTP/2 (h2c)")):
        url = f"http://127.0.0.1:{ports[ver]}/big"
        p = subprocess.run([PROBE, url, ver, str(CAP)], capture_output=True, text=True, timeout=30)
        out = p.stdout.strip().split(" ", 2)
        check(f"{label}: body over max_body {CAP} is HTTP_BODY_TOO_LARGE", out[:1] == ["HTTP_BODY_TOO_LARGE"],
              p.stdout + p.stderr)
        check(f"{label}: no more than the cap delivered", len(out) > 1 and int(out[1]) <= CAP, p.stdout)
        check(f"{label}: the detail names the cap", len(out) > 2 and f"{CAP} bytes" in out[2], p.stdout)
finally:
    for s in servers:
        s.close()
finish()

#!/usr/bin/env python3
"""What guise URL shows of the exchange: -v, --trace-ascii, -i/-D over HTTP/2, and
the progress meter, checked against what the servers received and against curl.

- HTTP/1.1, a raw loopback listener that keeps the bytes of each request head: -v
  prints, for each hop of a redirect chain, the request line and every field as
  received (Host, the profile's fields, the jar's Cookie, -H), in order; the
  request line is curl's ("> GET /path HTTP/1.1", as curl -v prints it against the
  same listener); --trace-ascii's "=> Send header, N bytes" has N = the head's
  size on the wire and its lines.
- HTTP/2 to nghttpd -v (TLS, -k): -v lists the pseudo-headers and fields in the
  order nghttpd decoded them; -i and -D - start with "HTTP/2 200 " (curl 7.88's
  trailing space included) as curl's do against the same server.
- The progress meter in a pseudo-terminal (python's pty): on for -o, the bar for
  -#, nothing for -s or for a body on stdout.

usage: test_cli_curl_verbose.py GUISE
"""
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import accept_loop, check, finish, free_port, wait_port  # noqa: E402

GUISE = os.path.abspath(sys.argv[1])
CURL = shutil.which("curl")
heads = []  # raw request heads, in the order received
lock = threading.Lock()
BIG = b"z" * 300000


def handle(c):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head, _, buf = buf.partition(b"\r\n\r\n")
            with lock:
                heads.append(head + b"\r\n\r\n")
            path = head.split(b" ")[1]
            if path == b"/start":
                c.sendall(b"HTTP/1.1 302 Found\r\nLocation: /end\r\nContent-Length: 0\r\n\r\n")
            elif path == b"/big":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BIG) + BIG)
            else:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    except OSError:
        pass
    finally:
        c.close()


def blocks(stderr):
    """The '> ' blocks of -v: [[request line, field lines...], ...]."""
    out, cur = [], None
    for line in stderr.splitlines():
        if line.startswith("> "):
            if cur is None:
                cur = []
            cur.append(line[2:])
        elif line == ">" and cur is not None:
            out.append(cur)
            cur = None
    return out


def h1_part(tmp):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    accept_loop(srv, handle)
    u = f"http://127.0.0.1:{port}"
    try:
        jar = os.path.join(tmp, "jar.txt")
        with open(jar, "w") as f:
            f.write("127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tsid\tabc\n")
        trace = os.path.join(tmp, "trace.txt")
        r = subprocess.run([GUISE, "-v", "-L", "-b", jar, "-H", "X-Extra: 1", "--trace-ascii", trace, "-o", os.devnull,
                            f"{u}/start"], capture_output=True, timeout=30)
        err = r.stderr.decode("utf-8", "replace")
        with lock:
            got = [h.decode("latin-1") for h in heads]
            heads.clear()
        wire = [h[:-4].split("\r\n") for h in got]
        shown = blocks(err)
        check("-v: exit 0, two requests (the redirect hop too)", r.returncode == 0 and len(wire) == 2,
              (r.returncode, len(wire), err[-500:]))
        check("-v: each request as received: request line and every field in order", shown == wire,
              f"shown {shown} wire {wire}")
        check("-v: the jar's cookie and the profile's fields are among them",
              any("Cookie: sid=abc" in x for x in shown[:1]) and len(shown[0]) > 5, shown[:1])
        t = open(trace, encoding="latin-1").read()
        sends = re.findall(r"^=> Send header, (\d+) bytes \(0x([0-9a-f]+)\)\n((?:[0-9a-f]{4}: .*\n)+)", t, re.M)
        check("--trace-ascii: a Send header per request, N = the head's size on the wire",
              [int(n) for n, _, _ in sends] == [len(h) for h in got] and all(int(n) == int(x, 16) for n, x, _ in sends),
              (sends, [len(h) for h in got]))
        lines = [[ln[6:] for ln in body.splitlines()][:-1] for _, _, body in sends]
        check("--trace-ascii: the lines of each head", lines == wire, (lines, wire))
        check("--trace-ascii: the response heads and data", "<= Recv header" in t and "<= Recv data, 3 bytes" in t
              and "0000: HTTP/1.1 302 Found" in t, t[-400:])
        if CURL:
            c = subprocess.run([CURL, "-s", "-v", "-o", os.devnull, f"{u}/end"], capture_output=True, timeout=30)
            first_curl = [ln for ln in c.stderr.decode().splitlines() if ln.startswith("> ")][0]
            with lock:
                heads.clear()
            check("-v: the request line as curl prints it", shown[1][0] == first_curl[2:], (shown[1][0], first_curl))
        progress_part(u, tmp)
    finally:
        srv.close()


def in_pty(args, cwd):
    """Runs guise with stderr on a pseudo-terminal, stdout a pipe: (exit, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([GUISE] + args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, cwd=cwd)
    os.close(slave)
    term, out = b"", b""
    fds = [master, p.stdout.fileno()]
    while fds:
        r, _, _ = select.select(fds, [], [], 20)
        if not r:
            break
        for fd in r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                d = b""
            if not d:
                fds.remove(fd)
            elif fd == master:
                term += d
            else:
                out += d
    p.wait(20)
    os.close(master)
    return p.returncode, out, term.decode("utf-8", "replace")


def progress_part(u, tmp):
    rc, out, term = in_pty(["-o", "f", f"{u}/big"], tmp)
    check("meter on a terminal for -o: curl's header line and 100% at the end",
          rc == 0 and "% Total    % Received % Xferd" in term and re.search(r"\r100 +293k +100 +293k", term),
          repr(term[-300:]))
    check("... the file is whole", open(os.path.join(tmp, "f"), "rb").read() == BIG)
    rc, out, term = in_pty(["-#", "-o", "f", f"{u}/big"], tmp)
    check("-#: the bar, 100.0% at the end", rc == 0 and "#####" in term and "100.0%" in term and "% Total" not in term,
          repr(term[-300:]))
    rc, out, term = in_pty(["-s", "-o", "f", f"{u}/big"], tmp)
    check("-s: nothing on the terminal", rc == 0 and term == "", repr(term[-300:]))
    rc, out, term = in_pty([f"{u}/big"], tmp)
    check("body on stdout: no meter", rc == 0 and term == "" and out == BIG, repr(term[-300:]))


def h2_part(tmp):
    key, crt = f"{tmp}/leaf.key", f"{tmp}/leaf.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    doc = f"{tmp}/doc"
    os.makedirs(doc)
    with open(f"{doc}/r", "w") as f:
        f.write("ok\n")
    port = free_port()
    log = f"{tmp}/nghttpd.log"
    with open(log, "w") as lf:
        ng = subprocess.Popen(["stdbuf", "-oL", "nghttpd", "-v", "-a", "127.0.0.1", "-d", doc, str(port), key, crt],
                              stdout=lf, stderr=subprocess.STDOUT)
    try:
        wait_port(port)
        u = f"https://127.0.0.1:{port}/r"
        r = subprocess.run([GUISE, "-k", "-v", "-o", os.devnull, u], capture_output=True, timeout=30)
        shown = blocks(r.stderr.decode("utf-8", "replace"))
        lg = open(log, encoding="utf-8", errors="replace").read()
        recv = [(m.group(1), m.group(2)) for m in
                re.finditer(r"recv \(stream_id=\d+(?:, sensitive)?\) (\S+?): (.*)$", lg, re.M)]
        fields = [tuple(x.split(": ", 1)) for x in shown[0][1:]] if shown else None
        check("HTTP/2 -v: 'GET /r HTTP/2', then the fields nghttpd decoded, pseudo-headers first, in order",
              r.returncode == 0 and shown and shown[0][0] == "GET /r HTTP/2" and fields == recv,
              (r.returncode, shown, recv))
        g = subprocess.run([GUISE, "-k", "-s", "-i", u], capture_output=True, timeout=30).stdout
        d = subprocess.run([GUISE, "-k", "-s", "-D", "-", "-o", os.devnull, u], capture_output=True, timeout=30).stdout
        if CURL:
            c = subprocess.run([CURL, "-k", "-s", "-i", "--http2", u], capture_output=True, timeout=30).stdout
            first = c.split(b"\r\n")[0]
        else:
            first = b"HTTP/2 200 "
        check("HTTP/2 -i: the status line as curl's ('HTTP/2 200 ', the space too), then the body",
              g.split(b"\r\n")[0] == first == b"HTTP/2 200 " and g.endswith(b"\r\n\r\nok\n"), (g[:200], first))
        check("HTTP/2 -D -: the same status line", d.split(b"\r\n")[0] == b"HTTP/2 200 ", d[:100])
    finally:
        ng.terminate()
        try:
            ng.wait(5)
        except subprocess.TimeoutExpired:
            ng.kill()


tmp = tempfile.mkdtemp(prefix="guise-verbose-")
try:
    h1_part(tmp)
    if shutil.which("nghttpd"):
        h2_part(tmp)
    else:
        print("SKIP: HTTP/2 part (nghttpd is not installed)")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
finish()

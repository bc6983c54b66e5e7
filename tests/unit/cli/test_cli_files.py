#!/usr/bin/env python3
"""The small files guise URL reads from its command line — -H @FILE, -w @FILE,
-K FILE, --netrc-file FILE — given hostile or broken contents (client/cli/at_file.c,
fetch_netrc.c). Where curl 7.88 reads the file sanely, guise and Debian's curl run
against the same loopback server and what the server received (the header fields,
the Authorization) is compared; where curl goes on silently with something wrong
(a header file naming itself, a word cut or dropped, a NUL), the expected answer is
the rule docs/CLI.md states: a refusal naming FILE:LINE and the exit status, with
nothing sent.

usage: test_cli_files.py GUISE
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import QuietHandler, check, finish  # noqa: E402

GUISE = os.path.abspath(sys.argv[1])
CURL = shutil.which("curl")
seen = []
lock = threading.Lock()


class Handler(QuietHandler):
    def do_GET(self):
        with lock:
            seen.append({k.lower(): v for k, v in self.headers.items()})
        self.reply(200, b"ok\n")


def run(tool, *args, timeout=20):
    """Runs |tool| with |args|; returns (exit status, stderr, the requests the server saw)."""
    with lock:
        seen.clear()
    r = subprocess.run([tool, "-s", "-S", "-o", os.devnull, *args], capture_output=True, timeout=timeout)
    with lock:
        got = list(seen)
    return r.returncode, r.stderr.decode(errors="replace"), got


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def auth(reqs):
    return [r.get("authorization") for r in reqs]


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    d = tempfile.mkdtemp(prefix="guise-files-")
    try:
        netrc(d, url)
        header_files(d, url)
        write_out_files(d, url)
        rc, err, _ = run(GUISE, "-K", d, url)
        check("-K DIR: exit 2 'is a directory'", rc == 2 and "is a directory" in err, (rc, err))
    finally:
        srv.shutdown()
        srv.server_close()
        shutil.rmtree(d, ignore_errors=True)
    finish()


def netrc(d, url):
    # Files curl reads sanely: the same Authorization (or none) from both tools.
    same = {
        "quoted escapes": b'machine 127.0.0.1 login "a\\nb" password "p\\"q"\n',
        "comment word": b"# machine 127.0.0.1 login x password y\nmachine 127.0.0.1 login a #password p\n",
        "CRLF, macdef ended by a CRLF line": b"machine x login b password q\r\nmacdef init\r\nlogin evil\r\n\r\n"
                                             b"machine 127.0.0.1 login a password p\r\n",
        "default after other machines": b"machine x login b password q\ndefault login d password e\n",
        "login without a value": b"machine 127.0.0.1 login\n",
    }
    for name, text in same.items():
        p = write(os.path.join(d, "netrc"), text)
        g = run(GUISE, "--netrc-file", p, url)
        c = run(CURL, "--netrc-file", p, url)
        check(f".netrc {name}: the Authorization curl sends", g[0] == c[0] == 0 and auth(g[2]) == auth(c[2]),
              (g, c))
    # curl's own parser error: exit 26 from both; guise names the line.
    p = write(os.path.join(d, "netrc"), b"machine x login b password q\nmachine 127.0.0.1 login \"abc password p\n")
    g, c = run(GUISE, "--netrc-file", p, url), run(CURL, "--netrc-file", p, url)
    check(".netrc quote not closed: exit 26 as curl, FILE:2 named, nothing sent",
          g[0] == c[0] == 26 and f"{p}:2:" in g[1] and g[2] == [], (g, c))
    # Where curl goes on silently: refused, FILE:LINE, exit 26, no request.
    # (Before: a 300-byte login was cut to 255 and sent; a NUL ended the word;
    # a directory was ignored.)
    for name, text, line in (("a 300-byte login", b"machine 127.0.0.1\nlogin " + b"u" * 300 + b" password p\n", 2),
                             ("a NUL byte", b"machine 127.0.0.1 login a\npassword p\0x\n", 2)):
        p = write(os.path.join(d, "netrc"), text)
        rc, err, reqs = run(GUISE, "--netrc-file", p, url)
        check(f".netrc {name}: exit 26 naming {os.path.basename(p)}:{line}, nothing sent",
              rc == 26 and f"{p}:{line}:" in err and reqs == [], (rc, err, auth(reqs)))
    rc, err, reqs = run(GUISE, "--netrc-file", d, url)
    check(".netrc a directory: exit 26 'is a directory', nothing sent",
          rc == 26 and "is a directory" in err and reqs == [], (rc, err))
    rc, err, reqs = run(GUISE, "--netrc-file", os.path.join(d, "missing"), url)
    check(".netrc missing: ignored as curl (exit 0, no Authorization)", rc == 0 and auth(reqs) == [None], (rc, err))
    many = b"".join(b"machine m%d login a password b\n" % i for i in range(10001))
    rc, err, reqs = run(GUISE, "--netrc-file", write(os.path.join(d, "netrc"), many), url)
    check(".netrc 10,001 machines: refused at line 10001", rc == 26 and ":10001:" in err and reqs == [], (rc, err))


def header_files(d, url):
    p = write(os.path.join(d, "crlf"), b"X-A: 1\r\nX-B: 2\n\n\r\nX-C: 3")
    g, c = run(GUISE, "-H", "@" + p, url), run(CURL, "-H", "@" + p, url)
    pick = lambda reqs: [(r.get("x-a"), r.get("x-b"), r.get("x-c")) for r in reqs]  # noqa: E731
    check("-H @FILE with CRLF, LF and empty lines: the fields curl sends", g[0] == c[0] == 0 and
          pick(g[2]) == pick(c[2]) == [("1", "2", "3")], (g, c))
    # A file naming itself: before, each line read the file again until the stack
    # ran out (SIGSEGV; ASan: stack-overflow).
    p = os.path.join(d, "self")
    write(p, b"@" + p.encode() + b"\nX-A: 1\n")
    rc, err, reqs = run(GUISE, "-H", "@" + p, url)
    check("-H @FILE naming itself: exit 2 naming FILE:1, no crash, nothing sent",
          rc == 2 and f"{p}:1:" in err and reqs == [], (rc, err[-300:]))
    p = write(os.path.join(d, "ctl"), b"X-A: 1\r\nX-B: \x01bad\r\n")
    rc, err, reqs = run(GUISE, "-H", "@" + p, url)
    check("-H @FILE with a control character on line 2: exit 2 naming FILE:2",
          rc == 2 and f"{p}:2:" in err and reqs == [], (rc, err))
    p = write(os.path.join(d, "bin"), bytes(range(256)) * 8)
    rc, err, reqs = run(GUISE, "-H", "@" + p, url)
    check("-H @FILE a binary file: exit 2 naming FILE:1 (a NUL byte)",
          rc == 2 and f"{p}:1:" in err and "NUL" in err and reqs == [], (rc, err))
    p = write(os.path.join(d, "many"), b"".join(b"X-N%d: v\n" % i for i in range(101)))
    rc, err, reqs = run(GUISE, "-H", "@" + p, url)
    check("-H @FILE with 101 headers: exit 2 naming FILE:101", rc == 2 and f"{p}:101:" in err, (rc, err))
    g, c = run(GUISE, "-H", "@" + d, url), run(CURL, "-H", "@" + d, url)
    check("-H @DIR: exit 26 as curl, 'is a directory'", g[0] == c[0] == 26 and "is a directory" in g[1], (g, c))
    # A FIFO whose writer never stops: read up to the cap, then refused.
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    stop = threading.Event()

    def endless():
        try:
            with open(fifo, "wb") as f:
                while not stop.is_set():
                    f.write(b"X-A: 1\n" * 1024)
        except (BrokenPipeError, OSError):
            pass

    t = threading.Thread(target=endless, daemon=True)
    t.start()
    try:
        rc, err, reqs = run(GUISE, "-H", "@" + fifo, url)
    finally:
        stop.set()
    check("-H @FIFO that never ends: exit 2 'larger than', nothing sent",
          rc == 2 and "larger than" in err and reqs == [], (rc, err))
    t.join(5)


def write_out_files(d, url):
    p = write(os.path.join(d, "w"), b"%{http_code}\n\0%{url}\n")
    rc, err, reqs = run(GUISE, "-w", "@" + p, url)
    check("-w @FILE with a NUL on line 2: exit 2 naming FILE:2 (before: the format cut there, exit 0)",
          rc == 2 and f"{p}:2:" in err and reqs == [], (rc, err))
    rc, err, reqs = run(GUISE, "-w", "@" + d, url)
    check("-w @DIR: exit 26 'is a directory'", rc == 26 and "is a directory" in err and reqs == [], (rc, err))
    # curl keeps each line up to its first CR or LF (before: guise printed the
    # line ends as they were).
    for text in (b"code=%{http_code}\r\n", b"a\nb\n", b"a\r\nb\r\n", b"a\rb\n%{http_code}\n", b"x\n\n\\n%{http_code}"):
        p = write(os.path.join(d, "w2"), text)
        r = subprocess.run([GUISE, "-s", "-o", os.devnull, "-w", "@" + p, url], capture_output=True, timeout=20)
        c = subprocess.run([CURL, "-s", "-o", os.devnull, "-w", "@" + p, url], capture_output=True, timeout=20)
        check(f"-w @FILE {text!r}: what curl prints ({c.stdout!r})", r.returncode == c.returncode == 0 and
              r.stdout == c.stdout, (r.stdout, c.stdout))


if __name__ == "__main__":
    main()

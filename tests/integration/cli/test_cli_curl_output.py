#!/usr/bin/env python3
"""guise URL against curl itself (Debian's curl, installed): the same argv,
the same loopback server, the same answers. Compared: the exit status, stdout,
the files written, and what the server received where the option changes it
(-u, -A, -C). The expected values are curl's output on this machine, never
guise's.

- exit statuses (curl's table): -f on 404 (22, no body; -i still prints the
  head), --fail-with-body (22, body), a body cut short (18), a connection closed
  without an answer (52), --max-filesize (63), too many redirects (47), -C on a
  server without ranges (33), -OJ onto an existing file (23), -O without a file
  name (23), %{exitcode}
- -i and -D - print the status line as curl does (HTTP/1.1 200 OK)
- -OJ: the Content-Disposition name without its folders
- -C -: a partial file is made whole; a whole file stays whole (416 = success)
- -u: the same Authorization; -A: the same User-Agent, in the profile's place
- -s hides the error, -sS shows it
- --retry: a 503 with Retry-After, then 200: one retry; to stdout both bodies, to
  a file (-o) the 200's only

usage: test_cli_curl_output.py GUISE
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import QuietHandler, accept_loop, check, finish, free_port  # noqa: E402

GUISE = os.path.abspath(sys.argv[1])
CURL = shutil.which("curl")
BODY = bytes(range(256)) * 40  # 10,240 bytes
received = []  # (tool, path, [(name, value)])
hits = {}
lock = threading.Lock()


class Handler(QuietHandler):
    def version_string(self):
        return "test-server"

    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def do_GET(self):
        tool = "curl" if self.headers.get("X-Tool") == "curl" else "guise"
        with lock:
            received.append((tool, self.path, list(self.headers.items())))
            key = (tool, self.path)
            hits[key] = hits.get(key, 0) + 1
            n = hits[key]
        p = self.path
        if p.startswith("/reason"):
            # A reason phrase of the server's own: curl prints it as sent.
            self.send_response(200, "Fine, Thanks")
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")
        elif p.startswith("/404"):
            self.reply(404, b"not here\n")
        elif p.startswith("/file"):
            rng = self.headers.get("Range")
            if rng:
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(BODY):
                    self.reply(416, b"", [("Content-Range", f"bytes */{len(BODY)}")])
                    return
                self.reply(206, BODY[start:], [("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")])
                return
            self.reply(200, BODY)
        elif p.startswith("/norange"):
            self.reply(200, BODY)
        elif p.startswith("/cdstar"):
            self.reply(200, b"star\n", [("Content-Disposition", "attachment; filename*=UTF-8''%2e%2e%2fr%C3%A9sum%C3%A9.txt")])
        elif p.startswith("/cdesc"):
            self.reply(200, b"esc\n", [("Content-Disposition", 'attachment; filename="\x1b[31mred.txt"')])
        elif p.startswith("/cd"):
            self.reply(200, b"disposition\n", [("Content-Disposition", 'attachment; filename="../../evil/name.txt"')])
        elif p.startswith("/trunc"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            self.close_connection = True
        elif p.startswith("/empty"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif p.startswith("/big"):
            self.reply(200, b"y" * 5000)
        elif p.startswith("/redir"):
            self.reply(302, b"", [("Location", "/redir")])
        elif p.startswith("/flaky"):
            if n == 1 and "slow" in p:
                time.sleep(0.5)  # the other URL of -Z is written first
            if n == 1:
                self.reply(503, b"" if "empty" in p else b"busy\n", [("Retry-After", "1")])
            else:
                self.reply(200, b"fine\n")
        else:
            self.reply(200, b"hello\n")


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that closes at once (-f) is not news


def run(tool, args, cwd):
    """Runs curl or guise with |args| in |cwd|: (exit status, stdout, stderr)."""
    argv = [CURL, "-H", "X-Tool: curl"] if tool == "curl" else [GUISE]
    p = subprocess.run(argv + args, capture_output=True, timeout=30, cwd=cwd, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def both(what, args, setup=None, files=(), compare_stdout=True):
    """Runs |args| with curl and with guise, each in a fresh folder (|setup|
    prepares it), and compares exit status, stdout and |files|."""
    got = {}
    for tool in ("curl", "guise"):
        d = tempfile.mkdtemp(prefix=f"curlcmp-{tool}-")
        try:
            if setup:
                setup(d)
            rc, out, err = run(tool, args, d)
            contents = {}
            for name in files:
                path = os.path.join(d, name)
                contents[name] = open(path, "rb").read() if os.path.exists(path) else None
            got[tool] = (rc, out if compare_stdout else b"", contents, err, sorted(os.listdir(d)))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    c, g = got["curl"], got["guise"]
    check(f"{what}: exit {c[0]} as curl", c[0] == g[0], f"curl {c[0]} guise {g[0]}: {g[3]!r}")
    check(f"{what}: stdout as curl's", c[1] == g[1], f"curl {c[1][:300]!r} guise {g[1][:300]!r}")
    check(f"{what}: files as curl's ({', '.join(files) or 'none'}; folder {c[4]})",
          c[2] == g[2] and c[4] == g[4], f"curl {c[4]} guise {g[4]}")
    return g


proxied = []


def fake_proxy(c):
    """A proxy that keeps each request head it gets and answers 403."""
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        with lock:
            proxied.append(buf.split(b"\r\n\r\n")[0].decode("latin-1"))
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    finally:
        c.close()


def proxy_auth(head):
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.lower() == "proxy-authorization":
            return v.strip()
    return None


def main():
    if CURL is None:
        print("SKIP: curl is not installed")
        return
    port = free_port()
    srv = QuietServer(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    u = f"http://127.0.0.1:{port}"
    try:
        # Exit statuses, curl's table.
        both("-f on 404", ["-s", "-f", f"{u}/404"])
        both("-f -O on 404: no file made", ["-s", "-f", "-O", f"{u}/404/page.html"], files=("page.html",))
        both("-f -i on 404: the head, no body", ["-s", "-f", "-i", f"{u}/404"])
        both("--fail-with-body on 404", ["-s", "--fail-with-body", f"{u}/404"])
        both("a body cut short", ["-s", f"{u}/trunc"])
        both("closed without an answer", ["-s", f"{u}/empty"])
        both("--max-filesize 100 of a 5000-byte body", ["-s", "--max-filesize", "100", f"{u}/big"])
        both("too many redirects", ["-s", "-L", "--max-redirs", "2", f"{u}/redir"])
        both("--interface that does not exist", ["-s", "--interface", "nosuchif0", f"{u}/"])
        # -o - is standard output (it made a file named "-").
        both("-o - writes the body to stdout", ["-s", "-o", "-", f"{u}/big"])
        both("%{exitcode} of -f", ["-s", "-f", "-w", "%{exitcode} %{http_code}", f"{u}/404"])
        both("%{exitcode} of a body cut short", ["-s", "-o", "/dev/null", "-w", "%{exitcode}", f"{u}/trunc"])
        # -s and -S.
        g = both("-sS -f on 404: the message shown", ["-sS", "-f", f"{u}/404"])
        check("-sS: one line naming status 22 and the 404", "(22)" in g[3] and "404" in g[3] and
              g[3].count("\n") == 1, g[3])
        g = both("-s -f on 404: nothing said", ["-s", "-f", f"{u}/404"])
        check("-s: stderr empty", g[3] == "", g[3])
        # -s hides a profile error too (issue 19: it was printed); -sS shows it.
        rc, out, err = run("guise", ["-s", "--profile", "no-such-profile", f"{u}/"], None)
        check("-s with a profile that does not exist: exit 3, nothing said", rc == 3 and err == "", (rc, err))
        rc, out, err = run("guise", ["-sS", "--profile", "no-such-profile", f"{u}/"], None)
        check("-sS: the profile error is said", rc == 3 and "no-such-profile" in err, (rc, err))
        # The head as curl prints it.
        both("-i: status line and fields", ["-s", "-i", f"{u}/"])
        both("-i: the server's own reason phrase", ["-s", "-i", f"{u}/reason"])
        both("-D -: the server's own reason phrase", ["-s", "-D", "-", "-o", "/dev/null", f"{u}/reason"])
        both("-D -: the head on stdout", ["-s", "-D", "-", "-o", "/dev/null", f"{u}/"])
        both("-D FILE", ["-s", "-D", "head.txt", "-o", "body", f"{u}/"], files=("head.txt", "body"))
        # -O, -J.
        both("-OJ: the name from Content-Disposition, no folders", ["-s", "-O", "-J", f"{u}/cd"],
             files=("name.txt",))
        both("-OJ onto an existing file: refused", ["-s", "-O", "-J", f"{u}/cd"],
             setup=lambda d: open(os.path.join(d, "name.txt"), "wb").write(b"mine\n"), files=("name.txt",))
        both("-O of a URL without a file name", ["-s", "-O", f"{u}/"])
        both("-O: the URL's last segment", ["-s", "-O", f"{u}/file/data.bin?x=1"], files=("data.bin",))
        both("-o with --create-dirs", ["-s", "--create-dirs", "-o", "a/b/out", f"{u}/"], files=("a/b/out",))
        # -C -.
        part = lambda n: (lambda d: open(os.path.join(d, "f"), "wb").write(BODY[:n]))  # noqa: E731
        g = both("-C - on a partial file", ["-s", "-C", "-", "-o", "f", f"{u}/file"], setup=part(3000), files=("f",))
        check("-C -: the file is whole", g[2]["f"] == BODY, len(g[2]["f"] or b""))
        g = both("-C - on a whole file (416)", ["-s", "-C", "-", "-o", "f", f"{u}/file"], setup=part(len(BODY)),
                 files=("f",))
        check("-C - on a whole file: unchanged", g[2]["f"] == BODY, len(g[2]["f"] or b""))
        both("-C - where ranges are not served", ["-s", "-C", "-", "-o", "f", f"{u}/norange"], setup=part(100),
             files=("f",))
        with lock:
            ranges = [(t, dict((k.lower(), v) for k, v in h).get("range")) for t, p, h in received
                      if p == "/file"]
        check("-C - sent Range: bytes=3000- as curl did",
              ("curl", "bytes=3000-") in ranges and ("guise", "bytes=3000-") in ranges, ranges)
        # -u and -A: the same fields as curl's.
        received.clear()
        both("-u and -A", ["-s", "-u", "al:pa:ss", "-A", "Agent/1.0", f"{u}/who"])
        with lock:
            sent = {t: dict((k.lower(), v) for k, v in h) for t, p, h in received if p == "/who"}
        check("-u: Authorization as curl's", sent["guise"].get("authorization") == sent["curl"].get("authorization")
              and sent["curl"].get("authorization", "").startswith("Basic "), sent)
        check("-A: User-Agent as curl's", sent["guise"].get("user-agent") == "Agent/1.0" == sent["curl"].get("user-agent"),
              sent)
        received.clear()
        run("guise", [f"{u}/plain"], None)
        run("guise", ["-A", "Agent/1.0", f"{u}/agent"], None)
        with lock:
            names = {p: [k.lower() for k, v in h] for t, p, h in received}
        check("-A: the profile's User-Agent replaced in its place (same field order)",
              names.get("/plain") == names.get("/agent") and "user-agent" in names.get("/plain", []), names)
        # -J with filename* (RFC 8187; curl 7.88 reads only filename=): decoded,
        # folders dropped; a name with a control character is refused and the
        # URL's name used.
        d = tempfile.mkdtemp(prefix="curlcmp-j-")
        try:
            r1 = run("guise", ["-s", "-O", "-J", f"{u}/cdstar"], d)
            r2 = run("guise", ["-s", "-O", "-J", f"{u}/cdesc"], d)
            names = sorted(os.listdir(d))
            check("-J filename*=UTF-8'': decoded, '../' dropped; a control character: the URL's name",
                  r1[0] == 0 and r2[0] == 0 and names == sorted(["résumé.txt", "cdesc"]), (r1, r2, names))
        finally:
            shutil.rmtree(d, ignore_errors=True)
        # -C - with -O: the file named from the URL is resumed.
        g = both("-C - -O on a partial file", ["-s", "-C", "-", "-O", f"{u}/file/data.bin"],
                 setup=lambda d: open(os.path.join(d, "data.bin"), "wb").write(BODY[:5000]), files=("data.bin",))
        check("-C - -O: the file is whole", g[2]["data.bin"] == BODY, len(g[2]["data.bin"] or b""))
        # --proxy-user: the same Proxy-Authorization as curl's, for a password
        # that needs percent-encoding in a URL.
        ps = socket.socket()
        ps.bind(("127.0.0.1", 0))
        ps.listen(8)
        accept_loop(ps, fake_proxy)
        try:
            for tool in ("curl", "guise"):
                run(tool, ["-s", "-x", f"http://127.0.0.1:{ps.getsockname()[1]}", "--proxy-user", "us er:p@ss:w%rd/x",
                           "http://origin.test/"], None)
            with lock:
                auths = [proxy_auth(h) for h in proxied]
            check("--proxy-user: Proxy-Authorization as curl's (Basic, the password's @ : % / kept)",
                  len(auths) == 2 and auths[0] == auths[1] and auths[0].startswith("Basic "), (auths, proxied))
        finally:
            ps.close()
        # --retry-connrefused: nothing listens; one retry after 1 s, then curl's 7.
        dead = free_port()
        t0 = time.monotonic()
        for tool in ("curl", "guise"):
            rc, out, err = run(tool, ["--retry", "1", "--retry-delay", "1", "--retry-connrefused",
                                      f"http://127.0.0.1:{dead}/"], None)
            check(f"--retry-connrefused ({tool}): exit 7 after one retry (one warning)",
                  rc == 7 and err.lower().count("will retry") == 1, (rc, err))
        check("--retry-connrefused: each waited --retry-delay", time.monotonic() - t0 >= 2, time.monotonic() - t0)
        errs = {}
        for tool in ("curl", "guise"):
            rc, out, err = run(tool, ["-sS", "--retry", "1", "--retry-delay", "1", "--retry-connrefused",
                                      f"http://127.0.0.1:{dead}/"], None)
            errs[tool] = (rc, err.count("\n"), "retry" in err.lower())
        check("-sS --retry: each failed attempt said, no warning (as curl)",
              errs["curl"] == errs["guise"] == (7, 2, False), errs)
        rc, out, err = run("guise", ["--retry", "1", "--retry-delay", "1", f"http://127.0.0.1:{dead}/"], None)
        check("--retry without --retry-connrefused: a refused connection is not retried (as curl)",
              rc == 7 and "will retry" not in err, (rc, err))
        # --retry on a timeout: a listener that never answers; -m 0.5, one retry.
        mute = socket.socket()
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        conns = []
        accept_loop(mute, conns.append)
        try:
            for tool in ("curl", "guise"):
                before = len(conns)
                rc, out, err = run(tool, ["-s", "-m", "0.5", "--retry", "1", "--retry-delay", "1",
                                          f"http://127.0.0.1:{mute.getsockname()[1]}/"], None)
                check(f"--retry after a timeout ({tool}): exit 28, two connections", rc == 28 and
                      len(conns) - before == 2, (rc, len(conns) - before, err))
        finally:
            mute.close()
            for c in conns:
                c.close()
        # --retry: a 503 with Retry-After: 1, then 200.
        t0 = time.monotonic()
        g = both("--retry 2: 503 then 200", ["-s", "--retry", "2", f"{u}/flaky"])
        with lock:
            n_curl, n_guise = hits.get(("curl", "/flaky")), hits.get(("guise", "/flaky"))
        check("--retry: two requests each, as curl", n_curl == 2 and n_guise == 2, (n_curl, n_guise))
        check("--retry to stdout: the 503's body stays, then the 200's (as curl)", g[1] == b"busy\nfine\n", g[1])
        check("--retry: waited for Retry-After", time.monotonic() - t0 >= 2, time.monotonic() - t0)
        g = both("--retry 2 -o FILE: 503 then 200", ["-s", "--retry", "2", "-o", "out", f"{u}/flaky-o"],
                 files=("out",))
        check("--retry -o: the file has the 200's body only", g[2]["out"] == b"fine\n", g[2])
        g = both("--retry 2 -i -o FILE: an empty 503 then 200, the heads too", ["-s", "--retry", "2", "-i", "-o", "out",
                                                                   f"{u}/flaky-i-empty"], files=("out",))
        check("--retry -i -o: the empty 503's head stays (curl cuts back body bytes only), then the 200's",
              (g[2]["out"] or b"").startswith(b"HTTP/1.1 503 ") and b"HTTP/1.1 200 OK\r\n" in g[2]["out"], g[2])
        # -Z --retry, one -o and two URLs: the -o is the first URL's (curl's
        # pairing; the second goes to stdout), cut back to the 200's body.
        g = both("-Z --retry -o: the first URL's file, the second on stdout",
                 ["-s", "-Z", "--retry", "1", "-o", "out", f"{u}/flaky-z-slow", f"{u}/"], files=("out",))
        check("-Z --retry -o: the retried URL's file holds the 200's body only", g[2]["out"] == b"fine\n", g[2])
    finally:
        srv.shutdown()
        srv.server_close()


main()
finish()

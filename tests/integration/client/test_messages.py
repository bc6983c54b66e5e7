#!/usr/bin/env python3
"""Hostile and unlucky inputs and what the command says about them (issue 14,
items 6, 13, 14 and 15): raw scripted servers on loopback, each answering one
way, and the command's exit status and message checked against curl's
documented exit codes (35: TLS handshake, 8: weird server reply) and the
command's own (2: usage, docs/CLI.md).

  - a TLS server that selects no ALPN (the sanitizer build aborted: memcpy from
    NULL in conn.c)
  - https:// to a plaintext HTTP server: a TLS handshake failure that says so,
    not a certificate error
  - an HTTP/0.9 reply (a body without a status line)
  - ESC, BEL and CR from the server in a Location, a header value and a reason
    phrase: no raw control byte reaches stdout or stderr
  - bad option values: NaN and absurd seconds, a bad --resolve, a bad -x, a bad
    -H, a host name in Unicode: exit 2 naming the option, before any connection

usage: test_messages.py GUISE
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

servers = []


def serve(handle, wrap=None):
    """A loopback server: each connection to |handle(sock)| in a thread; |wrap|
    makes it TLS. Returns the port; closed in the finally below."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    servers.append(s)
    accepted = []

    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            accepted.append(1)

            def one(c=c):
                try:
                    if wrap:
                        c = wrap.wrap_socket(c, server_side=True)
                    handle(c)
                except (OSError, ssl.SSLError):
                    pass
                finally:
                    try:
                        c.close()
                    except OSError:
                        pass

            threading.Thread(target=one, daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1], accepted


def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def answer(raw, whole_head=True):
    """Answers |raw| after the request head (or, |whole_head| False, after the
    first bytes: a ClientHello has no CRLF CRLF, and nginx answers the first
    bytes that are no request line with a 400 at once)."""
    def handle(c):
        if whole_head:
            read_head(c)
        else:
            c.recv(4096)
        c.sendall(raw)
    return handle


def guise(*args, timeout=30):
    return subprocess.run([GUISE, *args], capture_output=True, timeout=timeout)


# Bytes a terminal acts on: C0 controls but LF (and CR only in -i's CRLF line
# ends, checked apart), DEL, and C1 controls in UTF-8 (U+0080-U+009F).
RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")


def clean(b, crlf_ok=False):
    if crlf_ok:
        b = b.replace(b"\r\n", b"\n")
    return RAW_CONTROL.search(b) is None and b"\r" not in b


with tempfile.TemporaryDirectory() as tmp:
    try:
        key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)

        # 13: TLS without ALPN. Python's ssl server selects no protocol unless
        # told to; guise must then speak HTTP/1.1.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        ok_reply = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        port, _ = serve(answer(ok_reply), wrap=ctx)
        r = guise("-k", "-v", f"https://127.0.0.1:{port}/")
        check("TLS server that selects no ALPN: HTTP/1.1, exit 0, the body", r.returncode == 0 and
              r.stdout == b"hello" and b"ALPN none" in r.stderr, (r.returncode, r.stdout, r.stderr[-600:]))
        r = guise("--cacert", crt, f"https://127.0.0.1:{port}/")
        check("... and with the certificate checked", r.returncode == 0 and r.stdout == b"hello",
              (r.returncode, r.stderr[-300:]))

        # 15: https:// to a plaintext HTTP server (it answers the ClientHello
        # with a 400, as nginx and Python's http.server do).
        port, _ = serve(answer(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                               whole_head=False))
        r = guise(f"https://127.0.0.1:{port}/")
        check("https:// to a plaintext server: TLS_HANDSHAKE, exit 35 (curl's SSL connect error), "
              "the message says the server spoke plain HTTP",
              r.returncode == 35 and b"TLS_HANDSHAKE" in r.stderr and b"plain HTTP" in r.stderr
              and b"CERT_" not in r.stderr, (r.returncode, r.stderr))
        port, _ = serve(answer(b"SSH-2.0-OpenSSH_9.2\x1b[2J\r\n", whole_head=False))
        r = guise("-k", f"https://127.0.0.1:{port}/")
        check("https:// to a server of another protocol: exit 35, its first bytes quoted and escaped",
              r.returncode == 35 and b"SSH-2.0" in r.stderr and clean(r.stderr), (r.returncode, r.stderr))

        # 15: an HTTP/0.9 reply: the body alone.
        port, _ = serve(answer(b"<html>hello from 1991</html>"))
        r = guise(f"http://127.0.0.1:{port}/")
        check("HTTP/0.9 reply: HTTP_PROTOCOL, exit 8, 'did not send an HTTP/1.x status line'",
              r.returncode == 8 and b"HTTP_PROTOCOL" in r.stderr and b"did not send an HTTP/1.x status line"
              in r.stderr and b"announced length" not in r.stderr, (r.returncode, r.stderr))

        # 14: control characters from the server.
        # A bare CR ends in a parse error (RFC 9112 2.2); ESC and BEL pass the
        # parser, so they are what must be escaped on output.
        evil = b"\x1b]0;owned\x07\x1b[2J\xc2\x9b31m\xff"
        port, _ = serve(answer(b"HTTP/1.1 200 OK\x1b[31m\x07\r\nX-Evil: a" + evil +
                               b"\r\nContent-Length: 0\r\n\r\n"))
        r = guise("-v", "-i", f"http://127.0.0.1:{port}/")
        check("header value and reason phrase with ESC/BEL/C1/bad UTF-8: -v (stderr) has no raw control byte",
              r.returncode == 0 and clean(r.stderr) and b"X-Evil: a\\x1b]0;owned\\x07" in r.stderr,
              (r.returncode, r.stderr))
        check("... -i (stdout) neither, CRLF line ends aside",
              clean(r.stdout, crlf_ok=True) and b"X-Evil: a\\x1b" in r.stdout and b"\\xff" in r.stdout, r.stdout)
        for what, loc in (("a path", b"http://127.0.0.1:1/" + evil), ("a host", b"http://[" + evil + b"]/"),
                          ("a scheme", b"ht\x1btp://x/"), ("a bare CR", b"http://x/\ry")):
            port, _ = serve(answer(b"HTTP/1.1 302 Found\r\nLocation: " + loc + b"\r\nContent-Length: 0\r\n\r\n"))
            r = guise("-L", "-v", "--connect-timeout", "2", f"http://127.0.0.1:{port}/")
            check(f"-L to a Location with ESC/BEL in {what}: an error, no raw control byte on stderr",
                  r.returncode != 0 and clean(r.stderr) and clean(r.stdout), (r.returncode, r.stderr))

        # 6: number options.
        for opt in ("--max-time", "--connect-timeout"):
            for bad in ("nan", "NaN", "inf", "-inf", "1e-300", "-1", "0", "1e400", "86401", "5s", ""):
                r = guise(opt, bad, "http://127.0.0.1:1/", timeout=10)
                check(f"{opt} {bad!r}: exit 2 naming the option", r.returncode == 2 and
                      opt.encode() in r.stderr and b"CONNECT_" not in r.stderr, (r.returncode, r.stderr))
        r = guise("--max-time", "0.001", "--connect-timeout", "86400", "http://127.0.0.1:1/", timeout=10)
        check("--max-time 0.001 and --connect-timeout 86400 are taken (the request then fails)",
              r.returncode not in (2,), (r.returncode, r.stderr))

        # 15: usage errors name the option, and come before any connection.
        port, accepted = serve(answer(ok_reply))
        url = f"http://127.0.0.1:{port}/"
        # Exit statuses: 2 for guise's usage errors; a proxy URL as curl 7.88 answers
        # it (measured: a malformed one 5, an unsupported scheme 7).
        for args, name, want in ((["--resolve", "h:notaport:127.0.0.1"], b"--resolve", 2),
                                 (["--resolve", "h:80:not-an-ip"], b"--resolve", 2),
                                 (["--resolve", "h:99999:127.0.0.1"], b"--resolve", 2),
                                 (["-x", "http://user:secret@[::1:8080"], b"-x", 5),
                                 (["-x", "gopher://127.0.0.1:70"], b"-x", 7),
                                 (["-H", "X-A: a\rb"], b"-H", 2),
                                 (["-H", "X-A: a\x1bb"], b"-H", 2),
                                 (["-H", "X A: b"], b"-H", 2),
                                 (["-H", "X(A): b"], b"-H", 2),
                                 (["-b", "a=1\rX: y"], b"-b", 2)):
            r = guise(*args, url, timeout=10)
            check(f"{args}: exit {want}, the message names {name.decode()} (not the URL), no raw control byte",
                  r.returncode == want and r.stderr.startswith(b"guise: " + name) and clean(r.stderr)
                  and b"secret" not in r.stderr, (r.returncode, r.stderr))
        check("... and none of them connected", not accepted, len(accepted))
        # A host name in Unicode is converted as a browser does (UTS #46, punycode);
        # one that is no valid international name is a usage error before any DNS.
        r = guise("http://\ufdd0zyx.example/", timeout=10)
        check("a host name that is no valid international name: exit 3 (curl's malformed URL), named, no DNS query",
              r.returncode == 3 and b"internationali" in r.stderr and b"DNS" not in r.stderr,
              (r.returncode, r.stderr))
        heads = []

        def record_head(c):
            heads.append(read_head(c))
            c.sendall(ok_reply)
        port, _ = serve(record_head)
        r = guise("http://b\u00fccher.example:%d/" % port, "--resolve",
                  "xn--bcher-kva.example:%d:127.0.0.1" % port, timeout=10)
        check("a host name in Unicode goes out as punycode: Host xn--bcher-kva.example",
              r.returncode == 0 and len(heads) == 1 and
              (b"\r\nHost: xn--bcher-kva.example:%d\r\n" % port) in heads[0], (r.returncode, r.stderr, heads))
        env = dict(os.environ, http_proxy="gopher://127.0.0.1:70")
        r = subprocess.run([GUISE, "http://www.guise.test/", "--resolve", f"www.guise.test:80:127.0.0.1"],
                           capture_output=True, timeout=10, env=env)
        check("a bad proxy from the environment is blamed on the environment, not the URL: exit 7 (curl's)",
              r.returncode == 7 and b"environment" in r.stderr, (r.returncode, r.stderr))
        # A TLS server that accepts and never answers: -m 1 ends the command at 1 s, not
        # at the connect timeout of the connection still being made (30 s by default).
        port, _ = serve(lambda c: time.sleep(20))
        t0 = time.monotonic()
        r = guise("-m", "1", f"https://127.0.0.1:{port}/", timeout=40)
        took = time.monotonic() - t0
        check(f"-m 1 against a silent TLS server: exit 28 after about 1 s (took {took:.1f} s)",
              r.returncode == 28 and took < 5, (r.returncode, took, r.stderr))
        # ... also when a later URL is refused and the proxy from the environment is
        # checked to say who is at fault (that check ran the command's own loop).
        env = dict(os.environ, https_proxy="http://127.0.0.1:9")
        t0 = time.monotonic()
        r = subprocess.run([GUISE, "-m", "1", f"https://127.0.0.1:{port}/", "https://bad url/"],
                           capture_output=True, timeout=40, env=env)
        took = time.monotonic() - t0
        check(f"... then a malformed URL with https_proxy set: still about 1 s (took {took:.1f} s)",
              r.returncode == 3 and took < 5, (r.returncode, took, r.stderr))  # the last URL's: malformed
    finally:
        for s in servers:
            s.close()
finish()

#!/usr/bin/env python3
"""The library tells apart the failures curl gives distinct exit statuses
(issue #19): for each, a broken server or proxy on loopback, the error name
guise reports, and — where curl can be run against the same server without
leaving the machine — curl's own exit status there, which is the reference for
the command's mapping (/tmp/team2/API-F.md, docs/CLI.md).

  proxy name not found         PROXY_NOT_FOUND          curl 5 (its docs: no DNS off the machine here)
  proxy refuses the connection PROXY_CONNECT_REFUSED    curl 7
  CONNECT answered 403         PROXY_CONNECT_REJECTED   curl 56
  SOCKS5 reply 5 (refused)     PROXY_SOCKS_REFUSED      curl 97
  body cut (Content-Length)    HTTP_TRUNCATED           curl 18
  body cut (chunked)           HTTP_TRUNCATED           curl 18
  nothing answered             CONNECT_CLOSED           curl 52
  reset while the body is sent CONNECT_RESET            curl 56 (both read while they send)
  reset after the request      CONNECT_RESET            curl 56
  reset met by a write (not    HTTP_TRUNCATED, its text curl 56
  reading: --limit-rate)       "send: connection reset by peer"
  redirect loop                HTTP_TOO_MANY_REDIRECTS  curl 47

Names resolve through a scripted DNS server on loopback (../dns/dns_server.py)
or --resolve. Exit statuses of guise itself are not checked here: the command
maps the names (client/cli, docs/CLI.md).

usage: test_errors_curl.py GUISE
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

GUISE = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dns"))
from guise_testlib import check, finish  # noqa: E402
from dns_server import ScriptedDNS, closed_port  # noqa: E402

CURL = shutil.which("curl")


def serve(handler):
    """A loopback listener; each connection to |handler(sock)| in a thread."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)

    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return s, s.getsockname()[1]


def read_head(c):
    b = b""
    c.settimeout(10)
    while b"\r\n\r\n" not in b:
        d = c.recv(4096)
        if not d:
            break
        b += d
    return b


def rst_close(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def h_connect_403(c):
    read_head(c)
    c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    time.sleep(0.5)
    c.close()


def h_socks5_refused(c):
    c.settimeout(10)
    c.recv(16)
    c.sendall(b"\x05\x00")
    c.recv(300)
    c.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")  # RFC 1928 6: 5 = connection refused
    time.sleep(0.5)
    c.close()


def h_cut_length(c):
    read_head(c)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
    c.close()


def h_cut_chunked(c):
    read_head(c)
    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc")
    c.close()


def h_empty(c):
    read_head(c)
    c.close()


def h_reset_upload(c):
    """Reads the head, not the body, then resets: the client is still sending."""
    read_head(c)
    time.sleep(0.3)
    rst_close(c)


def h_reset_after_request(c):
    """Reads the whole (bodiless) request, waits, resets: nothing is being sent."""
    read_head(c)
    time.sleep(0.3)
    rst_close(c)


def h_answer_then_reset(c):
    """Answers at once without reading the request body, then resets: a
    client that has stopped reading (--limit-rate) meets the reset on a write."""
    read_head(c)
    try:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n" + b"y" * (1 << 20))
    except OSError:
        pass
    time.sleep(0.5)
    rst_close(c)


def h_redirect_loop(c):
    c.settimeout(10)
    while True:
        h = read_head(c)
        if not h:
            break
        c.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")
    c.close()


def guise(args, timeout=30):
    p = subprocess.run([GUISE, "-o", "/dev/null", "--connect-timeout", "5"] + args,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stderr.decode(errors="replace")


def curl(args, timeout=30):
    p = subprocess.run([CURL, "-sS", "-o", "/dev/null", "--connect-timeout", "5", "--noproxy", ""] + args,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stderr.decode(errors="replace")


def case(what, name, curl_code, gargs, cargs=None, words=()):
    rc, err = guise(gargs)
    ok = rc != 0 and f"({name})" in err and all(w in err for w in words)
    check(f"{what}: guise says {name}", ok, (rc, err))
    if cargs is not None and CURL:
        crc, cerr = curl(cargs)
        check(f"{what}: curl exits {curl_code} against the same server", crc == curl_code, (crc, cerr))


def main():
    servers = []
    tmp = tempfile.mkdtemp(prefix="guise-errors-")
    nx = ScriptedDNS("nxdomain")
    ok = ScriptedDNS("ok")
    try:
        handlers = {"c403": h_connect_403, "s5": h_socks5_refused, "cutlen": h_cut_length,
                    "cutchunk": h_cut_chunked, "empty": h_empty, "rstup": h_reset_upload,
                    "rstreq": h_reset_after_request, "loop": h_redirect_loop,
                    "ansrst": h_answer_then_reset}
        port = {}
        for k, h in handlers.items():
            s, port[k] = serve(h)
            servers.append(s)
        closed = closed_port()
        dns_nx = ["--dns-servers", f"127.0.0.1:{nx.port}"]
        dns_ok = ["--dns-servers", f"127.0.0.1:{ok.port}"]

        # The proxy's own name: a proxy failure (curl's 5), not the origin's (6).
        case("HTTP proxy whose name does not exist", "PROXY_NOT_FOUND", None,
             dns_nx + ["-x", "http://proxy.test:3128", "http://origin.test/"], words=["proxy.test"])
        case("SOCKS5 proxy (names resolved here) whose name does not exist", "PROXY_NOT_FOUND", None,
             dns_nx + ["--resolve", "origin.test:80:127.0.0.1", "-x", "socks5://proxy.test:1080",
                       "http://origin.test/"], words=["proxy.test"])
        case("origin name not found through a SOCKS5 proxy (names resolved here)", "DNS_NOT_FOUND", None,
             dns_nx + ["-x", f"socks5://127.0.0.1:{port['s5']}", "http://origin.test/"], words=["origin.test"])
        case("origin name not found, no proxy", "DNS_NOT_FOUND", None, dns_nx + ["http://origin.test/"])
        # A proxy name that resolves, at a port where nothing listens.
        case("proxy found by name, nothing listening", "PROXY_CONNECT_REFUSED", 7,
             dns_ok + ["-x", f"http://proxy.test:{closed}", "http://origin.test/"],
             ["-x", f"http://127.0.0.1:{closed}", "http://origin.test/"])
        case("HTTP proxy answers CONNECT with 403", "PROXY_CONNECT_REJECTED", 56,
             ["-x", f"http://127.0.0.1:{port['c403']}", "https://origin.test/"],
             ["-x", f"http://127.0.0.1:{port['c403']}", "https://origin.test/"])
        case("SOCKS5 proxy replies 5 (refused)", "PROXY_SOCKS_REFUSED", 97,
             ["-x", f"socks5h://127.0.0.1:{port['s5']}", "http://origin.test/"],
             ["-x", f"socks5h://127.0.0.1:{port['s5']}", "http://origin.test/"])
        for k, what in (("cutlen", "Content-Length body cut short"), ("cutchunk", "chunked body cut short")):
            url = f"http://127.0.0.1:{port[k]}/"
            case(what, "HTTP_TRUNCATED", 18, [url], [url])
        url = f"http://127.0.0.1:{port['empty']}/"
        case("connection closed before any response byte", "CONNECT_CLOSED", 52, [url], [url])
        # 32 MiB cannot all sit in loopback's socket buffers while the server reads none of it.
        body = os.path.join(tmp, "body")
        with open(body, "wb") as f:
            f.write(b"x" * (32 << 20))
        url = f"http://127.0.0.1:{port['rstup']}/"
        case("reset while the request body is being sent", "CONNECT_RESET", 56,
             ["--data-binary", "@" + body, url], ["--data-binary", "@" + body, url], words=["recv"])
        url = f"http://127.0.0.1:{port['rstreq']}/"
        case("reset after the whole request was sent", "CONNECT_RESET", 56, [url], [url], words=["recv"])
        # Not reading (paced by --limit-rate) while the body still goes out: the
        # reset is met by a write, and said so; part of the answer came, so the
        # request's error is the cut body (curl, reading there, says 56).
        url = f"http://127.0.0.1:{port['ansrst']}/"
        case("reset met by a write while not reading", "HTTP_TRUNCATED", 56,
             ["--limit-rate", "100k", "--data-binary", "@" + body, url],
             ["--limit-rate", "100k", "--data-binary", "@" + body, url], words=["send: connection reset"])
        url = f"http://127.0.0.1:{port['loop']}/"
        case("redirect loop", "HTTP_TOO_MANY_REDIRECTS", 47, ["-L", "--max-redirs", "3", url],
             ["-L", "--max-redirs", "3", url])
    finally:
        for s in servers:
            s.close()
        nx.close()
        ok.close()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

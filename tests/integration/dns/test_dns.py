#!/usr/bin/env python3
"""Name resolution against hostile and broken DNS servers (regress_dns_socket_reopen).

A scripted DNS server on loopback (dns_server.py: UDP and TCP on one port) answers in
one way per run; a tiny HTTP server on 127.0.0.1 serves "ok". guise asks it for
www.example.test (--dns-servers 127.0.0.1:PORT):

- nobody listening (a closed port), REFUSED, SERVFAIL: exit 6, DNS_FAILED, a message
  naming the server and saying it refused or is unreachable — not "host name not
  found". Before the fix, the closed port aborted the process in libuv
  (uv_poll_start on a closing handle: c-ares closes and reopens the socket, same fd).
- TC=1 over UDP, then a proper answer over TCP, the server closing each TCP
  connection after one answer (the client reconnects: same fd again): the page
  loads (exit 0, "ok"); before the fix: the same abort. And with TCP kept open.
- silent, garbage: the query is given up at --connect-timeout (exit 28,
  TIMEOUT_CONNECT naming the server) and the process ends then; before the fix it
  lived on for c-ares's own 75 s. With -m below the connect timeout, the process
  still ends at the connect timeout.
- a malformed answer: exit 6, DNS_FAILED "malformed"; NXDOMAIN: exit 6,
  DNS_NOT_FOUND "no such name" (the one case that is a missing name).
- guise batch, for every mode: the job to the name gets a record with the error
  (its detail naming the server, at the connect timeout too: the connection's DNS
  timeout ends the job before the job's own wait for a connection does), the job to
  127.0.0.1 (no DNS) its answer, exit 0 — the batch goes on.
- a bad --dns-servers (bad port, bad address, empty entry, too many): exit 2 with a
  message naming the option and the bad entry, before any request, in guise and
  guise batch; the API (guise_dns_servers_check, guise_client_new, guise_request,
  guise_batch_new) refuses it with USAGE_INVALID_ARGUMENT (dns_api_probe).
Expected values come from the DNS messages this test builds (RFC 1035), not from guise.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
sys.path.insert(0, HERE)
from guise_testlib import check, finish  # noqa: E402
from dns_server import ScriptedDNS, closed_port  # noqa: E402

GUISE, PROBE = sys.argv[1], sys.argv[2]
NAME = "www.example.test"
CT = 1.5  # --connect-timeout for the modes that never answer


class HTTPServer:
    """Answers every request with 200 "ok" and closes."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            try:
                c.settimeout(5)
                buf = b""
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        break
                    buf += d
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                pass
            finally:
                c.close()

    def close(self):
        try:
            self.srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.srv.close()
        self.thread.join(2)


def run(args, timeout=30):
    """(exit code, stdout, stderr, seconds); a run past |timeout| is killed and
    reported as exit None."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([GUISE] + args, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, out, err, time.monotonic() - t0


def start(mode):
    """(server or None, port): a scripted server, or a closed port for "closed"."""
    if mode == "closed":
        return None, closed_port()
    srv = ScriptedDNS(mode)
    return srv, srv.port


# mode: (exit code, error name, words the message must hold, at most seconds)
FETCH = {
    "ok": (0, None, [], 5),
    "closed": (6, "DNS_FAILED", ["refused or unreachable"], 5),
    "refused": (6, "DNS_FAILED", ["refused or unreachable"], 5),
    "servfail": (6, "DNS_FAILED", ["refused or unreachable"], 5),
    "tc": (0, None, [], 5),
    "tc-keep": (0, None, [], 5),
    "silent": (28, "TIMEOUT_CONNECT", ["no answer from", "connect timeout"], CT + 1.5),
    "garbage": (28, "TIMEOUT_CONNECT", ["no answer from", "connect timeout"], CT + 1.5),
    "badanswer": (6, "DNS_FAILED", ["malformed"], 5),
    "nxdomain": (6, "DNS_NOT_FOUND", ["no such name", NAME], 5),
}


def test_fetch(http):
    for mode, (code, err, words, limit) in FETCH.items():
        srv, port = start(mode)
        try:
            server = f"127.0.0.1:{port}"
            rc, out, errtext, secs = run(["--dns-servers", server, "--connect-timeout", str(CT),
                                          f"http://{NAME}:{http.port}/"])
            what = f"{mode}: guise exits {code}"
            check(what, rc == code, f"exit {rc} after {secs:.1f} s, stderr {errtext!r}")
            check(f"{mode}: no abort, no sanitizer report",
                  "Assertion" not in errtext and "Sanitizer" not in errtext and "runtime error" not in errtext,
                  errtext)
            check(f"{mode}: ends within {limit} s", secs < limit, f"{secs:.2f} s")
            if code == 0:
                check(f"{mode}: the page through the resolved address", out == "ok", repr(out))
            else:
                check(f"{mode}: one line naming {err}", f"({err})" in errtext and errtext.count("\n") == 1,
                      errtext)
                for w in words:
                    check(f"{mode}: the message says {w!r}", w in errtext, errtext)
                if mode != "nxdomain":
                    check(f"{mode}: the message names the server {server}", server in errtext, errtext)
                    check(f"{mode}: not reported as a missing name",
                          "host name not found" not in errtext and "DNS_NOT_FOUND" not in errtext, errtext)
            if mode in ("silent", "garbage"):
                check(f"{mode}: not before the connect timeout", secs >= CT - 0.1, f"{secs:.2f} s")
            if mode in ("tc", "tc-keep"):
                check(f"{mode}: the answer came over TCP after TC=1",
                      srv.udp_queries >= 1 and srv.tcp_queries >= 1,
                      f"udp {srv.udp_queries} tcp {srv.tcp_queries}")
        finally:
            if srv:
                srv.close()

    # -m below the connect timeout: the request ends at -m, the process at the
    # connect timeout (the connection being made lives until then, as a TCP or TLS
    # one would), never at c-ares's 75 s.
    srv, port = start("silent")
    try:
        rc, out, errtext, secs = run(["--dns-servers", f"127.0.0.1:{port}", "-m", "0.5", "--connect-timeout",
                                      "2", f"http://{NAME}:{http.port}/"])
        check("silent, -m 0.5: TIMEOUT_TOTAL", rc == 28 and "TIMEOUT_TOTAL" in errtext, f"{rc} {errtext!r}")
        check("silent, -m 0.5 --connect-timeout 2: the process ends at -m", secs < 1.5, f"{secs:.2f} s")
        # A one-shot request whose --max-time and connect timeout are due together:
        # the client is closed from the first timer, the resolve timeout must not
        # touch its freed resolver (it crashed: NULL dereference in pool.c).
        p = subprocess.run([PROBE, f"127.0.0.1:{port}", "fetch-timeout"], capture_output=True, text=True,
                           timeout=20)
        check("silent, guise_fetch with max_time = connect timeout: ends with a timeout, no crash",
              p.returncode == 0 and p.stdout.strip() in ("fetch TIMEOUT_TOTAL", "fetch TIMEOUT_CONNECT"),
              (p.returncode, p.stdout, p.stderr[-300:]))
    finally:
        srv.close()


def test_batch(http):
    for mode, (code, err, words, limit) in FETCH.items():
        srv, port = start(mode)
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write(json.dumps({"id": "name", "url": f"http://{NAME}:{http.port}/"}) + "\n")
            f.write(json.dumps({"id": "literal", "url": f"http://127.0.0.1:{http.port}/"}) + "\n")
            jobs = f.name
        try:
            rc, out, errtext, secs = run(["batch", "--dns-servers", f"127.0.0.1:{port}", "--retries", "0",
                                          "--connect-timeout", str(CT), "--progress", "never", "--workers", "1",
                                          jobs], timeout=30)
            check(f"batch {mode}: exit 0", rc == 0, f"exit {rc} after {secs:.1f} s, stderr {errtext!r}")
            check(f"batch {mode}: ends within {limit + 1} s", secs < limit + 1, f"{secs:.2f} s")
            recs = {}
            for line in out.splitlines():
                try:
                    r = json.loads(line)
                    recs[r["id"]] = r
                except (ValueError, KeyError):
                    check(f"batch {mode}: records are JSON", False, line)
            check(f"batch {mode}: one record per job", sorted(recs) == ["literal", "name"], out)
            lit = recs.get("literal", {})
            check(f"batch {mode}: the job without DNS succeeds", lit.get("error") is None and lit.get("status") == 200,
                  lit)
            r = recs.get("name", {})
            if code == 0:
                check(f"batch {mode}: the job to the name succeeds", r.get("error") is None and r.get("status") == 200,
                      r)
            else:
                check(f"batch {mode}: the job's record says {err}", r.get("error") == err, r)
                if err != "DNS_NOT_FOUND":  # the server's fault: named, also at the timeout
                    check(f"batch {mode}: its detail names the server",
                          f"127.0.0.1:{port}" in (r.get("error_detail") or ""), r)
        finally:
            os.unlink(jobs)
            if srv:
                srv.close()


BAD = [
    ("127.0.0.1:99999", "127.0.0.1:99999", "port"),
    ("127.0.0.1:0", "127.0.0.1:0", "port"),
    ("127.0.0.1:53x", "127.0.0.1:53x", "port"),
    ("127.0.0.1:", "127.0.0.1:", "port"),
    ("1.2.3", "1.2.3", "not an IP address"),
    ("dns.example:53", "dns.example:53", "not an IP address"),
    ("[::1", "[::1", "]"),
    ("127.0.0.1,,127.0.0.2", "entry 2", "empty"),
    ("127.0.0.1,", "entry 2", "empty"),
    ("", "--dns-servers", "no server"),
    (",".join(f"127.0.0.{i}" for i in range(1, 10)), "127.0.0.9", "at most 8"),
    ("127.0.0.1\x1b[31m", "\\x1b", "not an IP address"),
]
GOOD = ["127.0.0.1", "127.0.0.1:5353", "[::1]:5353", "::1", "127.0.0.1:53,[::1]:53"]


def test_bad_servers(http):
    for value, shown, why in BAD:
        for cmd in (["--dns-servers", value, f"http://127.0.0.1:{http.port}/"],
                    ["batch", "--dns-servers", value, os.devnull]):
            rc, out, errtext, secs = run(cmd, timeout=10)
            tag = f"{cmd[0] if cmd[0] == 'batch' else 'guise'} --dns-servers {value!r}"
            check(f"{tag}: exit 2", rc == 2, f"exit {rc}, stderr {errtext!r}")
            check(f"{tag}: the message names the option and the entry ({shown!r}, {why!r})",
                  "--dns-servers" in errtext and shown in errtext and why in errtext, errtext)
            check(f"{tag}: no raw control character in the message", "\x1b" not in errtext, repr(errtext))
            check(f"{tag}: nothing fetched", out == "", out)
        p = subprocess.run([PROBE, value], capture_output=True, text=True, timeout=20)
        lines = p.stdout.splitlines()
        check(f"API refuses {value!r} everywhere",
              p.returncode == 0 and len(lines) == 4 and lines[0].startswith("check USAGE_INVALID_ARGUMENT")
              and lines[1:] == ["client USAGE_INVALID_ARGUMENT", "request USAGE_INVALID_ARGUMENT",
                                "batch USAGE_INVALID_ARGUMENT"], p.stdout + p.stderr)
    for value in GOOD:
        p = subprocess.run([PROBE, value], capture_output=True, text=True, timeout=20)
        check(f"API takes {value!r}",
              p.stdout.splitlines() == ["check OK", "client OK", "request started, then CONNECT_REFUSED",
                                        "batch OK"], p.stdout + p.stderr)


def main():
    http = HTTPServer()
    try:
        test_fetch(http)
        test_batch(http)
        test_bad_servers(http)
    finally:
        http.close()
    finish()


if __name__ == "__main__":
    main()

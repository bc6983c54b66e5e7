#!/usr/bin/env python3
"""guise echo against real clients and an independent observer, on loopback.

usage: test_echo.py GUISE DATA_DIR   (DATA_DIR: tests/data of the repository)

- curl (Debian, OpenSSL 3) over TLS: the echo's decoded ClientHello and JA3 equal
  tshark's decode of a capture of the same connection; its Akamai string equals
  the reference measured for curl 7.88.1 (tests/data vectors).
- curl and nghttp (nghttp2-client) over h2c: Akamai strings equal the references.
- HTTP/1.1 in plaintext: header names, case and order equal tshark's decode.
- Hostile first flights end with an error record naming offset and reason in
  the log, and the server keeps serving.
- An idle connection is closed after --idle-timeout; many half-open connections
  do not stop a normal request.
"""
import json
import os
import signal
import socket
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)
import tempfile
import time

GUISE, DATA = sys.argv[1], sys.argv[2]
for _need in ("vectors/h2/akamai_examples.json",
              "vectors/clienthello/local_curl7.88.1_openssl3.0_h2_ip.expected.json",
              "vectors/clienthello/foxio_tls-handshake_s0_chrome.hex"):
    if not os.access(os.path.join(DATA, _need), os.R_OK):
        raise SystemExit(f"FAIL: test data file {os.path.join(DATA, _need)} is missing or unreadable")
DEADLINE = time.monotonic() + 120  # the whole test stops by itself
failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {detail}"))
    if not cond:
        failures += 1


def remaining(limit):
    return max(1.0, min(limit, DEADLINE - time.monotonic()))


def run(cmd, limit=20, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=remaining(limit), **kw)


class Echo:
    def __init__(self, tmp, *extra):
        self.log = os.path.join(tmp, "echo.log")
        self.proc = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0", "--log", self.log,
                                      *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise SystemExit(f"guise echo did not start: {line} {self.proc.stderr.read()}")
        self.port = int(line[1].rsplit(":", 1)[1])

    def records(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.strip()]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        # Sanitizer builds report leaks and errors through the exit status.
        check("echo exits 0 on SIGTERM", rc == 0, f"rc={rc} stderr={self.proc.stderr.read()[-2000:]}")
        return rc


def curl(*args):
    r = run(["curl", "-sS", "--max-time", "10", *args])
    if r.returncode != 0:
        raise AssertionError(f"curl {args}: {r.stderr.decode()}")
    return json.loads(r.stdout)


def capture_start(port, path):
    """tshark on lo for one port; returns once it is capturing."""
    p = subprocess.Popen(["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", path, "-q"],
                         stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 15:
        line = p.stderr.readline()
        if "Capturing on" in line:
            break
        if not line and p.poll() is not None:
            raise SystemExit("tshark did not start capturing")
    # "Capturing on" comes before the capture filter is live: probe with empty
    # connections until packets reach the file.
    while time.monotonic() - t0 < 15:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        time.sleep(0.2)
        if os.path.exists(path) and os.path.getsize(path) > size and size > 0:
            return p
    raise SystemExit("tshark captured nothing")


def capture_stop(p):
    time.sleep(0.5)  # let the last segments reach the capture
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()


def tshark_fields(path, filt, fields, decode_as):
    cmd = ["tshark", "-r", path, "-d", decode_as, "-Y", filt, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    r = run(cmd)
    return [dict(zip(fields, l.split("|"))) for l in r.stdout.decode().splitlines() if l]


def dec_list(hexes):
    return [int(h, 16) for h in hexes]


def tls_vs_tshark(tmp):
    e = Echo(tmp)
    pcap = os.path.join(tmp, "curl.pcap")
    cap = capture_start(e.port, pcap)
    # An IP literal: no SNI, the same request as the curl vector's capture.
    doc = curl("-k", "--http2", f"https://127.0.0.1:{e.port}/tls")
    capture_stop(cap)
    e.stop()
    hello = doc["tls"]["client_hello"]
    fps = doc["tls"]["fingerprints"]
    rows = tshark_fields(pcap, "tls.handshake.type == 1",
                         ["tcp.srcport", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
                          "tls.handshake.extensions_supported_group", "tls.handshake.sig_hash_alg",
                          "tls.handshake.extensions_alpn_str", "tls.handshake.extensions_server_name",
                          "tls.handshake.ja3_full", "tls.handshake.ja3"], f"tcp.port=={e.port},tls")
    peer_port = doc["peer"].rsplit(":", 1)[1]
    rows = [r for r in rows if r["tcp.srcport"] == peer_port]
    check("tshark saw the curl ClientHello", len(rows) == 1, f"rows={rows}")
    if len(rows) != 1:
        return
    t = rows[0]
    ints = lambda s: [int(x, 0) for x in s.split(",") if x]
    check("cipher suites equal tshark's", dec_list(hello["cipher_suites"]) == ints(t["tls.handshake.ciphersuite"]),
          f'{hello["cipher_suites"]} vs {t["tls.handshake.ciphersuite"]}')
    ext_types = [x["type"] for x in hello["extensions"]]
    check("extension types and order equal tshark's", ext_types == ints(t["tls.handshake.extension.type"]),
          f'{ext_types} vs {t["tls.handshake.extension.type"]}')
    groups = next(x["values"] for x in hello["extensions"] if x["type"] == 10)
    check("supported_groups equal tshark's", dec_list(groups) == ints(t["tls.handshake.extensions_supported_group"]))
    sigalgs = next(x["values"] for x in hello["extensions"] if x["type"] == 13)
    check("signature_algorithms equal tshark's", dec_list(sigalgs) == ints(t["tls.handshake.sig_hash_alg"]))
    alpn = next(x["protocols"] for x in hello["extensions"] if x["type"] == 16)
    check("ALPN equals tshark's", alpn == t["tls.handshake.extensions_alpn_str"].split(","))
    check("no SNI for an IP literal, as tshark says", all(x["type"] != 0 for x in hello["extensions"])
          and t["tls.handshake.extensions_server_name"] == "")
    check("JA3 string equals tshark's", fps["ja3"] == t["tls.handshake.ja3_full"],
          f'{fps["ja3"]} vs {t["tls.handshake.ja3_full"]}')
    check("JA3 hash equals tshark's", fps["ja3_md5"] == t["tls.handshake.ja3"])
    # Reference measured for curl 7.88.1 (FINGERPRINTS.md, tests/data h2 vectors).
    ref = json.load(open(os.path.join(DATA, "vectors/h2/akamai_examples.json")))
    curl_ref = ref["cases"][0]
    check("Akamai over TLS equals curl 7.88.1's reference", doc["http2"]["akamai"] == curl_ref["akamai"]
          and doc["http2"]["akamai_md5"] == curl_ref["akamai_md5"], doc["http2"].get("akamai"))
    neg = doc["tls"]["negotiated"]
    check("negotiated TLS 1.3, h2, X25519", (neg["version"], neg["alpn"], neg["group"]) == ("TLSv1.3", "h2", "X25519"), neg)
    # JA4: tshark 4.4's value for the same client (curl 7.88.1 + OpenSSL 3.0 on Debian
    # bookworm, IP literal) in tests/data/vectors; tshark 4.0 here has no JA4.
    vec = json.load(open(os.path.join(DATA, "vectors/clienthello/local_curl7.88.1_openssl3.0_h2_ip.expected.json")))
    for k in ("ja4", "ja4_r"):
        check(f"{k} equals tshark 4.4's for this curl", fps[k] == vec["tshark_4.4.19"][k], f'{fps[k]} vs {vec["tshark_4.4.19"][k]}')


def h2c_references(tmp):
    ref = json.load(open(os.path.join(DATA, "vectors/h2/akamai_examples.json")))
    by_client = {c["client"].split(" (")[0]: c for c in ref["cases"]}
    e = Echo(tmp)
    doc = curl("--http2-prior-knowledge", f"http://127.0.0.1:{e.port}/h2c")
    want = by_client["curl 7.88.1 --http2-prior-knowledge h2c"]
    check("curl h2c Akamai equals reference", doc["http2"]["akamai"] == want["akamai"], doc["http2"]["akamai"])
    check("plaintext h2c has no tls", doc["tls"] is None)
    r = run(["nghttp", "-n", f"http://127.0.0.1:{e.port}/nghttp"])
    check("nghttp h2c request completed", r.returncode == 0, r.stderr.decode())
    e.stop()
    recs = [x for x in e.records() if x.get("http2", {}).get("headers") and
            any(h == [":path", "/nghttp"] for h in x["http2"]["headers"])]
    want = by_client["nghttp 1.52.0 h2c prior knowledge"]
    check("nghttp h2c Akamai equals reference (5 PRIORITY frames)",
          len(recs) == 1 and recs[0]["http2"]["akamai"] == want["akamai"] and
          recs[0]["http2"]["akamai_md5"] == want["akamai_md5"], recs[:1])


def http1_vs_tshark(tmp):
    e = Echo(tmp)
    pcap = os.path.join(tmp, "h1.pcap")
    cap = capture_start(e.port, pcap)
    doc = curl("--http1.1", "-H", "X-Mixed-Case: 1", "-H", "accept-language: en", f"http://127.0.0.1:{e.port}/h1")
    capture_stop(cap)
    e.stop()
    rows = tshark_fields(pcap, "http.request", ["http.request.line"], f"tcp.port=={e.port},http")
    check("tshark saw one HTTP/1 request", len(rows) == 1, rows)
    if rows:
        names = [l.split(":", 1)[0] for l in rows[0]["http.request.line"].split(",")]
        got = [h[0] for h in doc["http1"]["headers"]]
        check("HTTP/1 header names, case and order equal tshark's", got == names, f"{got} vs {names}")
    check("request line decoded", (doc["http1"]["method"], doc["http1"]["target"], doc["http1"]["version"]) == ("GET", "/h1", "HTTP/1.1"))


def raw_flight(port, data, wait_close=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(wait_close)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()


def hostile(tmp):
    e = Echo(tmp, "--idle-timeout", "700")
    cases = [
        # record says 5 bytes, handshake header says 0xffff: body runs past the record and the
        # client closes — incomplete hello at end of stream.
        (b"\x16\x03\x01\x00\x05\x01\x00\xff\xff\x03", "tls"),
        # record longer than RFC 8446's 2^14 + 256 limit
        (b"\x16\x03\x01\x48\x01" + b"\x01" * 64, "tls"),
        # a handshake that is not a ClientHello (ServerHello, type 2)
        (b"\x16\x03\x01\x00\x08\x02\x00\x00\x04\x03\x03\x00\x00", "tls"),
        # neither TLS nor HTTP
        (b"\x00\x01\x02\x03\x04\x05\x06\x07binary", "first flight"),
    ]
    for data, _ in cases:
        raw_flight(e.port, data)
    # an idle connection: nothing sent, closed by the server after the timeout
    s = socket.create_connection(("127.0.0.1", e.port), timeout=5)
    t0 = time.monotonic()
    s.settimeout(5)
    try:
        closed = s.recv(1) == b""
    except OSError:
        closed = False
    idle = time.monotonic() - t0
    s.close()
    check("idle connection closed after --idle-timeout", closed and 0.5 < idle < 3.0, f"{closed} {idle:.2f}s")
    # 300 half-open connections that sent half a ClientHello, then a real request.
    hello = bytes.fromhex(open(os.path.join(DATA, "vectors/clienthello/foxio_tls-handshake_s0_chrome.hex")).read().split()[0])
    held = []
    for _ in range(300):
        c = socket.create_connection(("127.0.0.1", e.port), timeout=5)
        c.sendall(hello[:200])
        held.append(c)
    doc = curl("-k", f"https://127.0.0.1:{e.port}/after")
    check("serves a request while 300 connections hold half a hello", doc["http_version"] == "h2")
    for c in held:
        c.close()
    time.sleep(0.3)
    e.stop()
    errs = [r["error"] for r in e.records() if "error" in r]
    reasons = " | ".join(f'{x["stage"]}@{x["offset"]}: {x["reason"]}' for x in errs[:6])
    print("error records:", reasons)
    for i, (data, stage) in enumerate(cases):
        match = [x for x in errs if x["stage"] == stage and isinstance(x["offset"], int) and x["reason"]]
        check(f"hostile flight {i} logged as a {stage} error with offset and reason", len(match) >= 1, reasons)
    check("every hostile connection has its own error record",
          sum(1 for x in errs if x["stage"] in ("tls", "first flight")) >= len(cases), reasons)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in [("tls", tls_vs_tshark), ("h2c", h2c_references), ("http1", http1_vs_tshark),
                         ("hostile", hostile)]:
            d = os.path.join(tmp, name)
            os.mkdir(d)
            print(f"--- {name}")
            try:
                fn(d)
            except Exception as ex:  # a crash of the test is a failure, with its reason
                check(f"{name} ran", False, repr(ex))
    print(f"{'FAIL' if failures else 'PASS'}: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

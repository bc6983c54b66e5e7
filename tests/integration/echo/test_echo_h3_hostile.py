#!/usr/bin/env python3
"""guise echo's UDP side against hostile datagrams, and --alt-svc.

usage: test_echo_h3_hostile.py GUISE DATA_DIR

The client here is Python: QUIC v1 Initial packets built by this file from RFC 9001 §5
(HKDF with the v1 salt, AES-128-GCM, AES-ECB header protection; python3-cryptography),
carrying the ClientHello Chromium 156 sent in tests/data/captures/quic/chromium-ipv4-1.pcap
(`guise fp`'s "raw" of it: the replayed hello is input, not an expected value). Echo
serves a certificate with 400 subjectAltNames (about 9 KB: its handshake flight is
longer than three times the two 1200-byte datagrams that carry the hello).

- Garbage datagrams (random bytes, a long header cut after the connection IDs, a real
  Initial cut to 600 bytes, an Initial whose packet protection does not verify) get no
  byte back and leave no log record.
- Anti-amplification (RFC 9000 §8.1): a client that sends its two Initials and nothing
  else receives, over 3 s of echo's retransmission timers, at most 3 x 2400 bytes, and
  some (the server's Initial). A third datagram (an Initial with PING and PADDING)
  raises the allowance and more arrives: echo had more to send, and held it back.
- The same with a 32-byte token echo never issued (§8.1.3: as if there were none).
- A handshake message after the ClientHello in the Initial CRYPTO stream: echo closes the
  connection, its answer and CONNECTION_CLOSE within 3x too; the record's error stage is
  "tls handshake" with BoringSSL's reason.
- --max-connections 2: with two half-open connections, a third client's Initials get
  nothing; TCP is refused too (accepted and closed), and the log gets a record for each
  QUIC connection with the JA4 of the replayed hello, q prefix (the JA4 `guise fp`
  computes from the capture).
- --alt-svc: answers over HTTP/1.1 and HTTP/2 (curl) carry alt-svc: h3=":PORT"; ma=86400
  with echo's port; without it, none. --alt-svc with --no-http3 is a usage error (2);
  --no-http3 leaves the UDP port closed. A fixed port whose UDP twin is taken is a start
  failure (exit 1) naming UDP; on [::1]:0 echo holds the UDP port of its TCP port.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib as T  # noqa: E402

from cryptography.hazmat.primitives import hashes, hmac  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand  # noqa: E402

GUISE, DATA = sys.argv[1], sys.argv[2]
CAPTURE = os.path.join(DATA, "captures", "quic", "chromium-ipv4-1.pcap")
V1_SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")  # RFC 9001 §5.2


def hkdf_label(secret, label, length):
    info = struct.pack(">H", length) + bytes([6 + len(label)]) + b"tls13 " + label + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def client_keys(dcid):
    h = hmac.HMAC(V1_SALT, hashes.SHA256())
    h.update(dcid)
    secret = hkdf_label(h.finalize(), b"client in", 32)
    return (hkdf_label(secret, b"quic key", 16), hkdf_label(secret, b"quic iv", 12),
            hkdf_label(secret, b"quic hp", 16))


def varint(v):
    if v < 64:
        return bytes([v])
    if v < 16384:
        return struct.pack(">H", 0x4000 | v)
    return struct.pack(">I", 0x80000000 | v)


def initial(dcid, scid, pn, frames, token=b"", size=1200):
    """One client Initial packet (RFC 9000 §17.2.2) padded to |size| bytes."""
    key, iv, hp = client_keys(dcid)
    head_len = 1 + 4 + 1 + len(dcid) + 1 + len(scid) + len(varint(len(token))) + len(token) + 2
    payload_len = size - head_len - 4 - 16  # 4-byte packet number, 16-byte tag
    frames = frames + b"\x00" * (payload_len - len(frames))  # PADDING
    header = (bytes([0xc3]) + b"\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid +
              bytes([len(scid)]) + scid + varint(len(token)) + token +
              struct.pack(">H", 0x4000 | (4 + len(frames) + 16)) + struct.pack(">I", pn))
    nonce = bytes(a ^ b for a, b in zip(iv, b"\x00" * 8 + struct.pack(">I", pn)))
    ct = AESGCM(key).encrypt(nonce, frames, header)
    pn_at = len(header) - 4
    sample = ct[:16]  # 4 bytes after the start of the packet number
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    h = bytearray(header)
    h[0] ^= mask[0] & 0x0f
    for i in range(4):
        h[pn_at + i] ^= mask[1 + i]
    return bytes(h) + ct


def crypto_frame(off, data):
    return b"\x06" + varint(off) + varint(len(data)) + data


def hello_initials(hello, dcid, scid, token=b""):
    """The ClientHello in CRYPTO frames over two 1200-byte Initials (as Chromium sends)."""
    cut = 900
    return [initial(dcid, scid, 0, crypto_frame(0, hello[:cut]), token),
            initial(dcid, scid, 1, crypto_frame(cut, hello[cut:]), token)]


def receive(sock, seconds):
    sock.settimeout(0.1)
    got, t0 = [], time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            got.append(sock.recv(65535))
        except socket.timeout:
            pass
    return got


def udp_client():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


class Echo:
    def __init__(self, tmp, *extra):
        self.log = os.path.join(tmp, f"echo-{time.monotonic_ns()}.jsonl")
        self.proc = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0", "--log", self.log,
                                      "--threads", "1", *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise SystemExit(f"guise echo did not start: {line} {self.proc.stderr.read()}")
        self.port = int(line[1].rsplit(":", 1)[1])
        self.addr = ("127.0.0.1", self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def records(self):
        try:
            with open(self.log) as f:
                return [json.loads(x) for x in f if x.strip()]
        except FileNotFoundError:
            return []


def big_cert(tmp):
    key, pem = os.path.join(tmp, "big.key"), os.path.join(tmp, "big.pem")
    sans = ",".join(f"DNS:name{i:04d}.guise-echo.test" for i in range(400))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", pem, "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    f"subjectAltName=DNS:localhost,IP:127.0.0.1,{sans}"],
                   check=True, capture_output=True)
    return pem, key


def main():
    fp = subprocess.run([GUISE, "fp", CAPTURE], capture_output=True, text=True, timeout=30)
    docs = [json.loads(x) for x in fp.stdout.splitlines() if x.strip().startswith("{")]
    tls = next((d["tls"] for d in docs if isinstance(d.get("tls"), dict)), None)
    if tls is None:
        raise SystemExit(f"guise fp found no ClientHello in {CAPTURE}: {fp.stdout[:500]} {fp.stderr}")
    hello = bytes.fromhex(tls["client_hello"]["raw"])
    # The expected JA4 is tshark's decode of a real Chromium 156 QUIC hello, hashed by the
    # rules of FINGERPRINTS.md in Python (tests/data/quic/chromium156_quic_localhost
    # .expected.json, "Not produced by guise"); guise fp's reading of this capture must agree.
    with open(os.path.join(DATA, "quic", "chromium156_quic_localhost.expected.json")) as f:
        want_ja4 = json.load(f)["ja4"]
    T.check("the captured hello is Chromium's QUIC one (guise fp's JA4 = tshark's)",
            tls["fingerprints"]["ja4"] == want_ja4, (tls["fingerprints"]["ja4"], want_ja4))
    tmp = tempfile.mkdtemp(prefix="echo-h3-hostile-")
    cert, key = big_cert(tmp)
    echo = Echo(tmp, "--cert", cert, "--key", key, "--max-connections", "2",
                "--idle-timeout", "30000")
    try:
        # Garbage of every kind: nothing comes back.
        g = udp_client()
        junk = [os.urandom(1200), os.urandom(40), b"\xc0\x00\x00\x00\x01\x08" + os.urandom(8),
                hello_initials(hello, os.urandom(8), b"")[0][:600]]
        bad = bytearray(hello_initials(hello, os.urandom(8), b"")[0])
        bad[-1] ^= 0xff  # the AEAD tag no longer verifies
        junk.append(bytes(bad))
        for j in junk:
            g.sendto(j, echo.addr)
        got = receive(g, 1.0)
        T.check("garbage, cut and undecryptable datagrams get no reply", got == [],
                [len(x) for x in got])

        # Anti-amplification, without and with a token nobody issued.
        for label, token in (("no token", b""), ("an unknown token", os.urandom(32))):
            c = udp_client()
            dcid, scid = os.urandom(8), b""  # the hello's initial_source_connection_id is empty
            sent = 0
            for p in hello_initials(hello, dcid, scid, token):
                c.sendto(p, echo.addr)
                sent += len(p)
            got = receive(c, 3.0)
            total = sum(map(len, got))
            T.check(f"{label}: echo answered the Initials", total > 0, total)
            T.check(f"{label}: echo sent at most 3x what it received before validation "
                    f"({total} <= 3 x {sent})", total <= 3 * sent, total)
            c.sendto(initial(dcid, scid, 2, b"\x01", token), echo.addr)  # PING
            more = sum(map(len, receive(c, 1.5)))
            T.check(f"{label}: a third datagram lets more of the flight out (the limit held it)",
                    more > 0 and total + more <= 3 * (sent + 1200), (total, more))
            c.close()

        # Both half-open connections fill --max-connections 2: a third gets nothing.
        c = udp_client()
        for p in hello_initials(hello, os.urandom(8), b""):
            c.sendto(p, echo.addr)
        got = receive(c, 1.0)
        T.check("past --max-connections a new QUIC client gets nothing", got == [],
                [len(x) for x in got])
        s = socket.create_connection(echo.addr, timeout=5)
        s.settimeout(5)
        try:
            closed = s.recv(10) == b""
        except ConnectionResetError:
            closed = True
        s.close()
        T.check("QUIC connections count against --max-connections (TCP closed too)", closed)
    finally:
        rc = echo.stop()
    T.check("echo exits 0 at SIGTERM", rc == 0, (rc, echo.proc.stderr.read()[-500:]))
    recs = echo.records()
    T.check("one record per QUIC connection, none for garbage", len(recs) == 2,
            [r.get("error") for r in recs])
    for r in recs:
        T.check("record: http_version 3, JA4 of the replayed hello",
                r.get("http_version") == "3" and
                (r.get("tls") or {}).get("fingerprints", {}).get("ja4") == want_ja4,
                json.dumps(r)[:600])
        T.check("record: bytes sent <= 3 x received", r["udp"]["sent"] <= 3 * r["udp"]["received"],
                r["udp"])
        want_tp = [p["id"] for e in tls["client_hello"]["extensions"] if e["type"] == 57
                   for p in e["parameters"]]
        T.check("record: the transport parameter ids in the order sent",
                [p["id"] for p in (r.get("quic") or {}).get("transport_parameters", [])] == want_tp,
                (r.get("quic"), want_tp))

    # A handshake message after the ClientHello in the Initial CRYPTO stream (RFC 9001
    # §4.1.3: the client sends nothing more there): BoringSSL refuses it, echo closes the
    # connection with the TLS alert; the CONNECTION_CLOSE counts in the 3x too.
    ev = Echo(tmp, "--cert", cert, "--key", key)
    try:
        c = udp_client()
        dcid = os.urandom(8)
        sent = 0
        for p in hello_initials(hello, dcid, b""):
            c.sendto(p, ev.addr)
            sent += len(p)
        got = receive(c, 0.5)
        bad = initial(dcid, b"", 2, crypto_frame(len(hello), b"\x14\x00\x00\x00"))
        c.sendto(bad, ev.addr)
        sent += len(bad)
        got += receive(c, 1.0)
        total = sum(map(len, got))
        T.check(f"excess handshake data: echo's answer and close stay within 3x ({total} "
                f"<= 3 x {sent})", 0 < total <= 3 * sent, total)
        c.close()
    finally:
        ev.stop()
    recs = ev.records()
    T.check("the excess handshake data is the record's error (stage tls handshake)",
            len(recs) == 1 and (recs[0].get("error") or {}).get("stage") == "tls handshake" and
            "SSL routines" in recs[0]["error"].get("reason", ""),
            [r.get("error") for r in recs])

    # --alt-svc over HTTP/1.1 and HTTP/2; none without it.
    for extra, want in ((["--alt-svc"], True), ([], False)):
        e = Echo(tmp, *extra)
        try:
            for proto in ("--http1.1", "--http2"):
                r = subprocess.run(["curl", "-sk", proto, "-o", "/dev/null", "-D", "-",
                                    f"https://127.0.0.1:{e.port}/"], capture_output=True,
                                   text=True, timeout=20)
                alt = [x.split(":", 1)[1].strip() for x in r.stdout.splitlines()
                       if x.lower().startswith("alt-svc:")]
                expect = [f'h3=":{e.port}"; ma=86400'] if want else []
                T.check(f"{' '.join(extra) or 'no --alt-svc'} {proto}: alt-svc {expect}",
                        alt == expect, r.stdout)
        finally:
            e.stop()
    r = subprocess.run([GUISE, "echo", "--alt-svc", "--no-http3"], capture_output=True, text=True,
                       timeout=10)
    T.check("--alt-svc with --no-http3 is a usage error", r.returncode == 2 and "--no-http3" in
            r.stderr, (r.returncode, r.stderr))
    # A fixed port whose UDP twin is taken: a start failure that names UDP.
    held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    held.bind(("127.0.0.1", 0))
    p = held.getsockname()[1]
    r = subprocess.run([GUISE, "echo", "--listen", f"127.0.0.1:{p}", "--threads", "1"],
                       capture_output=True, text=True, timeout=10)
    held.close()
    T.check("a taken UDP port is a start failure naming UDP (exit 1)",
            r.returncode == 1 and "UDP" in r.stderr, (r.returncode, r.stderr))
    # IPv6 loopback: TCP and UDP on one port.
    e6 = subprocess.Popen([GUISE, "echo", "--listen", "[::1]:0", "--threads", "1"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = e6.stdout.readline().split()
        port6 = int(line[1].rsplit(":", 1)[1]) if len(line) == 2 else 0
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            probe.bind(("::1", port6))
            taken = False
        except OSError:
            taken = True
        probe.close()
        T.check("[::1]:0: echo holds the UDP port of its TCP port", port6 > 0 and taken, line)
    finally:
        e6.terminate()
        e6.wait(10)
    e = Echo(tmp, "--no-http3")
    try:
        c = udp_client()
        for p in hello_initials(hello, os.urandom(8), b""):
            c.sendto(p, e.addr)
        got = receive(c, 0.5)
        T.check("--no-http3: nothing answers on UDP", got == [], [len(x) for x in got])
    finally:
        e.stop()
    T.finish()


if __name__ == "__main__":
    main()

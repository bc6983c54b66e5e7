#!/usr/bin/env python3
"""What guise reports about an HTTP/3 connection.

usage: test_h3_report.py GUISE

- guise batch with "http": "3-only" against guise echo (its UDP side, the same port
  as its TCP one), for the chromium and firefox profiles: the record's tls cipher and
  group are the ones echo's own log record of that connection says it negotiated
  (tls.negotiated, the server's side), not "" as before; `guise --http3-only -v`
  prints the same cipher and group on its "* TLSv1.3, ..." line. Without -k, echo's
  self-signed leaf is refused with curl's 60 and the verifier's reason.
- --http3-only against a UDP server (Python, cryptography for the Initial keys of
  RFC 9001 5.2) that answers the client's first Initial with an Initial carrying a
  CONNECTION_CLOSE (transport error 0x2 CONNECTION_REFUSED) and a reason phrase: the
  error guise prints names that code and reason (before: only the error code's
  generic text), and so does the batch record's error_detail. A reason with a
  newline, an escape and a non-UTF-8 byte comes out as one line of printable ASCII.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib as T  # noqa: E402

from cryptography.hazmat.primitives import hashes, hmac  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand  # noqa: E402

GUISE = sys.argv[1]
PROFILES = ("chromium-156-linux", "firefox-esr-153-linux")
V1_SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")  # RFC 9001 5.2
REASON = b"h3_report test: refused by policy"


def guise(*args, stdin=None, timeout=30):
    return subprocess.run([GUISE, *args], capture_output=True, text=True, input=stdin, timeout=timeout)


def make_cert(tmp):
    key, pem = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", pem, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return pem, key


def echo_reports(tmp):
    pem, key = make_cert(tmp)
    log = os.path.join(tmp, "echo.jsonl")
    echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0", "--cert", pem, "--key", key,
                             "--threads", "1", "--log", log], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records, verbose = {}, {}
    try:
        words = echo.stdout.readline().split()
        if len(words) != 2 or words[0] != "listening":
            raise SystemExit(f"guise echo did not start: {words} {echo.stderr.read()}")
        port = int(words[1].rsplit(":", 1)[1])
        for prof in PROFILES:
            job = json.dumps({"id": prof, "url": f"https://127.0.0.1:{port}/batch-{prof}", "http": "3-only"})
            r = guise("batch", "-k", "--profile", prof, "-", stdin=job + "\n")
            recs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
            records[prof] = recs[0] if len(recs) == 1 else {"stdout": r.stdout, "stderr": r.stderr}
            r = guise("--http3-only", "-k", "-v", "--profile", prof, "-o", os.devnull,
                      f"https://127.0.0.1:{port}/cli-{prof}")
            verbose[prof] = [x for x in r.stderr.splitlines() if x.startswith("* TLSv")]
        # Without -k echo's self-signed leaf is refused: curl's 60, and the error has the
        # verifier's own words after "certificate:" (before: only the code's name).
        unverified = guise("--http3-only", "--profile", PROFILES[0], f"https://127.0.0.1:{port}/unverified")
    finally:
        echo.terminate()
        try:
            echo.wait(10)
        except subprocess.TimeoutExpired:
            echo.kill()
            echo.wait()
    T.check("--http3-only to a self-signed leaf: exit 60, the verifier's reason after 'certificate:'",
            unverified.returncode == 60 and "QUIC handshake with 127.0.0.1" in unverified.stderr and
            "certificate: self" in unverified.stderr, (unverified.returncode, unverified.stderr))
    seen = {}
    with open(log) as f:
        for line in f:
            c = json.loads(line)
            for q in c.get("requests", []):
                seen[dict(q["headers"]).get(":path")] = c
    for prof in PROFILES:
        rec, srv = records[prof], seen.get(f"/batch-{prof}")
        neg = (srv or {}).get("tls", {}).get("negotiated", {})
        T.check(f"{prof}: echo logged the batch job over HTTP/3 with a cipher and a group",
                srv is not None and srv.get("http_version") == "3" and neg.get("cipher") and neg.get("group"), srv)
        # Both browsers' QUIC hellos offer X25519MLKEM768 first (tests/data/captures/quic) and
        # echo prefers it on both transports, as over TCP: the hybrid is what is agreed.
        T.check(f"{prof}: X25519MLKEM768 agreed over QUIC, as over TCP",
                neg.get("group") == "X25519MLKEM768", neg)
        tls = rec.get("tls") or {}
        T.check(f"{prof}: the batch record is HTTP/3 and its tls cipher and group are echo's negotiated ones",
                rec.get("http_version") == "HTTP/3" and rec.get("status") == 200 and
                (tls.get("version"), tls.get("cipher"), tls.get("group"), tls.get("alpn")) ==
                (neg.get("version"), neg.get("cipher"), neg.get("group"), "h3"), (rec, neg))
        cli = seen.get(f"/cli-{prof}")
        neg = (cli or {}).get("tls", {}).get("negotiated", {})
        T.check(f"{prof}: -v over HTTP/3 prints the cipher and group echo negotiated",
                cli is not None and verbose[prof] ==
                [f"* {neg.get('version')}, {neg.get('cipher')}, {neg.get('group')}, ALPN h3"], (verbose[prof], neg))


# ---- a QUIC server that refuses: CONNECTION_CLOSE in its first Initial ----------------

def hkdf_label(secret, label, length):
    info = struct.pack(">H", length) + bytes([6 + len(label)]) + b"tls13 " + label + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def initial_keys(dcid, side):
    h = hmac.HMAC(V1_SALT, hashes.SHA256())
    h.update(dcid)
    secret = hkdf_label(h.finalize(), side, 32)
    return (hkdf_label(secret, b"quic key", 16), hkdf_label(secret, b"quic iv", 12),
            hkdf_label(secret, b"quic hp", 16))


def varint(v):
    return bytes([v]) if v < 64 else struct.pack(">H", 0x4000 | v)


def server_initial(odcid, dcid, scid, frames, size=1200):
    """One server Initial packet (RFC 9000 17.2.2), keys from the client's first DCID."""
    key, iv, hp = initial_keys(odcid, b"server in")
    head_len = 1 + 4 + 1 + len(dcid) + 1 + len(scid) + 1 + 2
    frames = frames + b"\x00" * (size - head_len - 4 - 16 - len(frames))  # PADDING
    pn = 0
    header = (bytes([0xc3]) + b"\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid +
              b"\x00" + struct.pack(">H", 0x4000 | (4 + len(frames) + 16)) + struct.pack(">I", pn))
    nonce = bytes(a ^ b for a, b in zip(iv, b"\x00" * 8 + struct.pack(">I", pn)))
    ct = AESGCM(key).encrypt(nonce, frames, header)
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(ct[:16])
    h = bytearray(header)
    h[0] ^= mask[0] & 0x0f
    for i in range(4):
        h[len(header) - 4 + i] ^= mask[1 + i]
    return bytes(h) + ct


def refusing_server(stop, reason=REASON):
    """A UDP socket on 127.0.0.1 that answers each client Initial with CONNECTION_CLOSE."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.1)
    answered = []

    def run():
        while not stop.is_set():
            try:
                d, peer = s.recvfrom(65535)
            except socket.timeout:
                continue
            if len(d) < 7 or d[0] & 0xf0 != 0xc0 or d[1:5] != b"\x00\x00\x00\x01":
                continue  # not a QUIC v1 Initial
            dl = d[5]
            dcid = d[6:6 + dl]
            sl = d[6 + dl] if 6 + dl < len(d) else 0
            scid = d[7 + dl:7 + dl + sl]
            # CONNECTION_CLOSE (0x1c): CONNECTION_REFUSED (0x2), frame type 0, the reason
            frame = b"\x1c" + varint(0x2) + varint(0) + varint(len(reason)) + reason
            s.sendto(server_initial(dcid, scid, os.urandom(8), frame), peer)
            answered.append(peer)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return s, t, answered


def refused():
    stop = threading.Event()
    s, t, answered = refusing_server(stop)
    port = s.getsockname()[1]
    try:
        url = f"https://127.0.0.1:{port}/refused"
        r = guise("--http3-only", "-k", "--profile", PROFILES[0], "--connect-timeout", "5", url)
        job = json.dumps({"id": "r", "url": url, "http": "3-only"})
        b = guise("batch", "-k", "--profile", PROFILES[0], "--connect-timeout", "5", "-", stdin=job + "\n")
    finally:
        stop.set()
        t.join(5)
        s.close()
    T.check("the refusing server answered guise's Initial", len(answered) >= 1, answered)
    T.check("--http3-only refused by CONNECTION_CLOSE: non-zero exit, the reason and the code 0x2 in the error",
            r.returncode != 0 and REASON.decode() in r.stderr and "0x2" in r.stderr, (r.returncode, r.stderr))
    recs = [json.loads(x) for x in b.stdout.splitlines() if x.strip()]
    rec = recs[0] if len(recs) == 1 else {}
    T.check("batch \"3-only\" refused by CONNECTION_CLOSE: error CONNECT_CLOSED, error_detail has the reason",
            rec.get("error") == "CONNECT_CLOSED" and REASON.decode() in (rec.get("error_detail") or ""),
            (b.stdout, b.stderr))


def hostile_reason():
    """A reason with a newline, an escape sequence and a byte that is not UTF-8: the
    error text itself is printable ASCII ('?' for each such byte), so the library's
    callers (log callback, records, the Python binding) get no raw peer bytes; the
    CLI's printer escaped them already (bad\\x0aline...)."""
    stop = threading.Event()
    s, t, answered = refusing_server(stop, b"bad\nline\x1b[31mred\xffend")
    try:
        r = subprocess.run([GUISE, "--http3-only", "-k", "--profile", PROFILES[0], "--connect-timeout", "5",
                            f"https://127.0.0.1:{s.getsockname()[1]}/hostile"], capture_output=True, timeout=30)
    finally:
        stop.set()
        t.join(5)
        s.close()
    raw = r.stderr
    T.check("a hostile reason: one printable line naming it (bad?line?[31mred?end), non-zero exit",
            r.returncode != 0 and raw.count(b"\n") == 1 and b"\x1b" not in raw and b"\xff" not in raw and
            b"bad?line?[31mred?end" in raw, (r.returncode, raw))


def main():
    tmp = tempfile.mkdtemp(prefix="h3-report-")
    echo_reports(tmp)
    refused()
    hostile_reason()
    T.finish()


if __name__ == "__main__":
    main()

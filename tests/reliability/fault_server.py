#!/usr/bin/env python3
"""A server that misbehaves on purpose, on loopback only, for the chaos tests.

Listeners on 127.0.0.1:
  HTTP/1.1 (plaintext)   a port per kind
  TLS faults (raw TCP)   a port per kind (the fault comes before any path is sent)
  HTTP/2 cleartext       a port per kind, prior knowledge (guise --http2)

Each fault is a function of the connection; the kinds, and the error class guise
must report for each (None: the request succeeds), are in KINDS below. Nothing
here is random: the chaos test picks kinds for its jobs with a seeded generator.

usage: fault_server.py            prints one JSON line {"<kind>": port, ...}
                                  once listening, then serves until stdin closes
"""
import gzip
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

# kind -> error class guise must report (None: success). "retry": a 429/503 that
# ends with its status after the retries (no error). A class may be a tuple of
# acceptable ones where the outcome legitimately depends on timing.
KINDS_H1 = {
    "ok": None,
    "reset_headers": ("connect", "http"),  # bytes, then a reset: a truncated head
    "close_headers": ("connect", "http"),
    "close_body": ("http", "connect"),
    "stall_headers": ("timeout",),
    "stall_body": ("timeout",),
    "slow_drip": ("timeout",),
    "garbage": ("http",),
    "huge_headers": ("http",),
    "endless_headers": ("http",),
    "bad_chunked": ("http",),
    "cl_mismatch": ("http", "connect"),
    "te_and_cl": None,            # RFC 9112 6.3: Transfer-Encoding wins; the client may accept
    "gzip_bomb": ("decoding",),
    "zstd_bomb": ("decoding",),
    "br_bomb": ("decoding",),
    "bad_gzip": ("decoding",),
    "redirect_loop": ("http",),
    "retry_after_503": None,      # recorded with status 503 after the retries
    "retry_429_then_ok": None,
}
KINDS_TLS = {
    "tls_garbage": ("tls",),
    "tls_alert": ("tls",),
    "tls_close": ("tls", "connect"),
    "tls_stall": ("timeout",),
}
KINDS_H2 = {
    "h2_ok": None,
    "h2_bad_frame_size": ("http",),
    "h2_unknown_frames": None,
    "h2_goaway_low": ("http",),
    "h2_rst_storm": ("http",),
    "h2_push_promise": ("http",),
    "h2_continuation_flood": ("http",),
    "h2_flow_abuse": ("http",),
    "h2_garbage": ("http",),
    "h2_hpack_bomb": ("http",),
    "h2_interim_flood": ("http",),     # 40 x HEADERS :status 103, then silence (bound: 32)
    "h2_empty_data_flood": ("http",),  # :status 200, 1100 empty DATA frames, then silence (bound: 1000)
}

BOMB_GZIP = gzip.compress(b"\0" * (64 << 20), 9)  # 64 MiB of zeros in ~64 KiB
try:
    BOMB_ZSTD = subprocess.run(["zstd", "-19", "-c"], input=b"\0" * (64 << 20), capture_output=True,
                               check=True).stdout
except (OSError, subprocess.CalledProcessError):
    BOMB_ZSTD = None
try:  # Debian's brotli command (the setup installs it)
    BOMB_BR = subprocess.run(["brotli", "-q", "11", "-c"], input=b"\0" * (64 << 20), capture_output=True,
                             check=True).stdout
except (OSError, subprocess.CalledProcessError):
    BOMB_BR = None


def hpack_int(value, prefix_bits, first):
    """RFC 7541 5.1: an integer with an N-bit prefix; |first| holds the high bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


# An HPACK bomb (RFC 7541 7.3): one 4,000-byte field put in the dynamic table
# (literal with incremental indexing, 6.2.1), then 2,000 one-byte references to
# it (indexed, index 62 = the first dynamic entry): 8 MB of fields from 6 KB.
HPACK_BOMB = (b"\x88" + b"\x40" + hpack_int(3, 7, 0) + b"x-b" + hpack_int(4000, 7, 0) + b"v" * 4000 +
              hpack_int(62, 7, 0x80) * 2000)

lock = threading.Lock()
seen_429 = set()


def read_head(c, limit=65536):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > limit:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def reset(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def h1(c, kind, path):
    def send(b):
        c.sendall(b)
    if kind == "ok":
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True
    if kind == "reset_headers":
        send(b"HTTP/1.1 200 O")
        reset(c)
        return False
    if kind == "close_headers":
        send(b"HTTP/1.1 200 OK\r\nContent-Le")
        return False
    if kind == "close_body":
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
        return False
    if kind == "stall_headers":
        time.sleep(30)
        return False
    if kind == "stall_body":
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        time.sleep(30)
        return False
    if kind == "slow_drip":  # slowloris from the server side: a byte a second
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
            send(bytes([b]))
            time.sleep(1)
        return False
    if kind == "garbage":
        send(random.Random(path).randbytes(4096))
        return False
    if kind == "huge_headers":
        send(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        return False
    if kind == "endless_headers":
        send(b"HTTP/1.1 200 OK\r\n")
        for i in range(100000):
            send(b"X-%d: y\r\n" % i)
        return False
    if kind == "bad_chunked":
        send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
        return False
    if kind == "cl_mismatch":
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg")
        return False
    if kind == "te_and_cl":
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n")
        return False
    if kind in ("gzip_bomb", "zstd_bomb", "br_bomb", "bad_gzip"):
        body, enc = {"gzip_bomb": (BOMB_GZIP, b"gzip"),
                     "zstd_bomb": (BOMB_ZSTD, b"zstd") if BOMB_ZSTD else (BOMB_GZIP, b"gzip"),
                     "br_bomb": (BOMB_BR, b"br") if BOMB_BR else (BOMB_GZIP, b"gzip"),
                     "bad_gzip": (b"\x1f\x8b\x08\x00garbage-not-deflate" * 10, b"gzip")}[kind]
        send(b"HTTP/1.1 200 OK\r\nContent-Encoding: " + enc + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return True
    if kind == "redirect_loop":
        send(b"HTTP/1.1 302 Found\r\nLocation: " + path.encode() + b"\r\nContent-Length: 0\r\n\r\n")
        return True
    if kind == "retry_after_503":
        send(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n")
        return True
    if kind == "retry_429_then_ok":
        with lock:
            first = path not in seen_429
            seen_429.add(path)
        if first:
            send(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n")
        else:
            send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True
    send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    return True


def serve_h1(c, kind):
    try:
        c.settimeout(60)
        while True:
            r = read_head(c)
            if r is None:
                return
            line = r[0].split("\r\n", 1)[0].split(" ")
            path = line[1] if len(line) > 1 else "/"
            if not h1(c, kind, path):
                return
    except OSError:
        pass
    finally:
        try:
            c.close()
        except OSError:
            pass


def serve_tls(c, kind):
    """A TLS fault: the port names it (a path cannot: it would be inside the TLS
    that never comes up)."""
    try:
        c.settimeout(60)
        c.recv(65536)  # the ClientHello
        if kind == "tls_garbage":
            c.sendall(b"\x16\x03\x03\x00\x10" + os.urandom(16) + b"\x17\x03\x03\xff\xff" + os.urandom(64))
        elif kind == "tls_alert":
            c.sendall(b"\x15\x03\x03\x00\x02\x02\x28")  # fatal handshake_failure (RFC 8446 6)
        elif kind == "tls_close":
            pass
        elif kind == "tls_stall":
            time.sleep(30)
    except OSError:
        pass
    finally:
        try:
            c.close()
        except OSError:
            pass


def frame(ftype, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload


def serve_h2(c, kind):
    """h2c prior knowledge: read the preface and the first HEADERS, then the
    port's fault (a port per kind: no HPACK decoding needed here)."""
    try:
        c.settimeout(60)
        buf = b""
        while len(buf) < 24:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        buf = buf[24:]
        c.sendall(frame(4, 0, 0))
        first = True
        # Every request on the connection is answered (a client multiplexes); the
        # port's fault comes with the first one.
        while True:
            while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            ln = int.from_bytes(buf[:3], "big")
            ftype, flags, stream = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            buf = buf[9 + ln:]
            if ftype == 4 and not flags & 1:
                c.sendall(frame(4, 1, 0))
            if ftype != 1:
                continue
            ok_headers = frame(1, 0x4, stream, b"\x88")  # :status 200 (HPACK static index 8)
            # Stream-level faults come with every request; connection-level ones
            # with the first (the connection is over after it).
            if kind == "h2_ok" or (not first and kind not in ("h2_hpack_bomb", "h2_unknown_frames",
                                                                   "h2_interim_flood", "h2_empty_data_flood")):
                c.sendall(ok_headers + frame(0, 1, stream, b"ok"))
            elif kind == "h2_bad_frame_size":
                c.sendall(frame(4, 0, 0, b"\0" * 7))  # SETTINGS length not a multiple of 6
            elif kind == "h2_unknown_frames":  # RFC 9113 5.5: ignored
                c.sendall(frame(0xfa, 0, 0, b"x" * 10) + frame(0xfb, 0xff, stream, b"y" * 20) + ok_headers +
                          frame(0, 1, stream, b"ok"))
            elif kind == "h2_goaway_low":
                c.sendall(frame(7, 0, 0, (0).to_bytes(4, "big") + (0).to_bytes(4, "big")))
            elif kind == "h2_rst_storm":
                c.sendall(b"".join(frame(3, 0, s, (8).to_bytes(4, "big")) for s in range(stream, stream + 200, 2)))
            elif kind == "h2_push_promise":  # refused: the client's SETTINGS_ENABLE_PUSH is 0
                c.sendall(frame(5, 0x4, stream, (2).to_bytes(4, "big") + b"\x82\x84\x86"))
            elif kind == "h2_continuation_flood":
                c.sendall(frame(1, 0, stream, b"\x88") + b"".join(frame(9, 0, stream, b"\x40\x01a\x01b")
                                                                  for _ in range(20000)))
            elif kind == "h2_flow_abuse":  # RFC 9113 6.9.1: a window past 2^31-1 is a FLOW_CONTROL_ERROR
                c.sendall(frame(8, 0, 0, (0x7FFFFFFF).to_bytes(4, "big")) * 2)
            elif kind == "h2_garbage":
                c.sendall(os.urandom(512))
            elif kind == "h2_hpack_bomb":
                c.sendall(frame(1, 0x4 | 0x1, stream, HPACK_BOMB))
            # Floods past guise's bounds, then nothing: a client without the
            # bounds waits for its --max-time (a timeout) instead of HTTP2_PROTOCOL.
            elif kind == "h2_interim_flood":  # :status 103, literal with name index 8
                c.sendall(frame(1, 0x4, stream, b"\x08\x03103") * 40)
            elif kind == "h2_empty_data_flood":
                c.sendall(ok_headers + frame(0, 0, stream) * 1100)
            first = False
    except OSError:
        pass
    finally:
        try:
            c.close()
        except OSError:
            pass


def listen():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    return s


def accept_loop(s, handler, *args):
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            return
        threading.Thread(target=handler, args=(c, *args), daemon=True).start()


def main():
    ports = {}
    # A port per kind: one kind's stalls never hold the connections of another.
    for handler, kinds in ((serve_h1, KINDS_H1), (serve_tls, KINDS_TLS), (serve_h2, KINDS_H2)):
        for k in kinds:
            s = listen()
            threading.Thread(target=accept_loop, args=(s, handler, k), daemon=True).start()
            ports[k] = s.getsockname()[1]
    print(json.dumps(ports), flush=True)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    sys.stdin.read()  # until the test closes our stdin


if __name__ == "__main__":
    main()

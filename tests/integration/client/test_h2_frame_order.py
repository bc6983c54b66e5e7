#!/usr/bin/env python3
"""HTTP/2 frame order and HEADERS priority of profiles, against a scripted h2c server.

The server (prior knowledge, guise --http2 on http://) records every frame the
client sends, in order, and holds its own SETTINGS back for HOLD seconds after
the client's preface, so that a client that does not wait sends its HEADERS first.

Expected values come from the reference captures (curl-impersonate's
tests/signatures YAML, in /work/shared/fingerprints/signatures, commit ff5d2b1c):
- safari_18.4_macOS.yaml and safari_26.0.1_macOS.yaml: SETTINGS, WINDOW_UPDATE,
  SETTINGS (empty: the ACK of the server's), HEADERS. The profiles set
  "wait_for_server_settings"; a client that ignores the field sends HEADERS
  before the ACK here (checked on the code before the field: HEADERS came second
  to last, the ACK last).
- safari_18.4_iOS.yaml: SETTINGS, WINDOW_UPDATE, HEADERS (no wait): the
  safari-ios-18.4 profile keeps sending HEADERS without waiting.
- edge-120's HEADERS priority: curl-impersonate's chrome120 (and edge101) target
  config, browsers.json chrome_120.0.6099.109_macOS: priority flag, weight 256,
  exclusive, stream 0 (the edge_120 YAML records no priority). Before the fix
  edge-120 sent no PRIORITY flag.
- A server that never sends SETTINGS: the waiting profile fails the request with
  HTTP2_PROTOCOL naming the missing SETTINGS after H2_SERVER_SETTINGS_WAIT_MS
  (10 s), instead of waiting for ever or sending HEADERS anyway.

usage: test_h2_frame_order.py GUISE
"""
import os
import socket
import subprocess
import sys
import time

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import accept_loop, check, finish, h2_frame, h2_frames, h2_read_preface  # noqa: E402

HOLD = 0.5            # seconds the server holds its SETTINGS back
STATUS_200 = b"\x88"  # HPACK indexed :status 200
NAMES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 6: "PING",
         7: "GOAWAY", 8: "WINDOW_UPDATE"}
seen = {}  # port -> list of (name, flags, stream, payload) the client sent


def serve(send_settings=True):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    log = seen.setdefault(port, [])

    def handle(c):
        c.settimeout(5)
        try:
            buf = h2_read_preface(c)
            if buf is None:
                return
            c.settimeout(0.05)
            t_settings = time.monotonic() + HOLD
            sent_settings = False
            answered = 0
            ack_due = False
            end = time.monotonic() + 15
            while time.monotonic() < end:
                if send_settings and not sent_settings and time.monotonic() >= t_settings:
                    c.sendall(h2_frame(4, 0, 0))
                    sent_settings = True
                frames, buf = h2_frames(buf)
                for ftype, flags, stream, payload in frames:
                    name = NAMES.get(ftype, str(ftype))
                    if ftype == 4 and flags & 1:
                        name = "SETTINGS_ACK"
                    log.append((name, flags, stream, payload))
                    if ftype == 4 and not flags & 1:
                        ack_due = True
                    if ftype == 1 and not answered:
                        answered = stream
                if ack_due and sent_settings:
                    c.sendall(h2_frame(4, 1, 0))  # after the server's own SETTINGS
                    ack_due = False
                if answered and sent_settings and answered is not True:
                    # the answer after the server's SETTINGS, its first frame (RFC 9113 3.4)
                    c.sendall(h2_frame(1, 0x4, answered, STATUS_200) + h2_frame(0, 1, answered, b"ok"))
                    answered = True
                try:
                    d = c.recv(65536)
                except socket.timeout:
                    continue
                if not d:
                    return
                buf += d
        except OSError:
            pass
        finally:
            c.close()

    accept_loop(srv, handle)
    return srv


def run(args):
    t0 = time.monotonic()
    p = subprocess.run([GUISE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), time.monotonic() - t0


def order(port):
    """The client's frames up to its first HEADERS and the SETTINGS ACK, in order."""
    names = [n for n, _, _, _ in seen[port]]
    out = []
    for n in names:
        if n in ("SETTINGS", "WINDOW_UPDATE", "SETTINGS_ACK", "HEADERS", "PRIORITY") and n not in out:
            out.append(n)
    return out


servers = []
try:
    for profile, want in (("safari-18.4-macos", ["SETTINGS", "WINDOW_UPDATE", "SETTINGS_ACK", "HEADERS"]),
                          ("safari-26.0.1-macos", ["SETTINGS", "WINDOW_UPDATE", "SETTINGS_ACK", "HEADERS"]),
                          ("safari-ios-18.4", ["SETTINGS", "WINDOW_UPDATE", "HEADERS", "SETTINGS_ACK"])):
        srv = serve()
        servers.append(srv)
        port = srv.getsockname()[1]
        rc, out, err, wall = run(["--profile", profile, "--http2", "-m", "20", f"http://127.0.0.1:{port}/"])
        check(f"{profile}: the request succeeds", rc == 0 and out == "ok", (rc, out, err))
        check(f"{profile}: frame order {want}", order(port) == want, seen[port][:8])

    # edge-120: HEADERS with the PRIORITY flag, weight 256 exclusive on stream 0.
    srv = serve()
    servers.append(srv)
    port = srv.getsockname()[1]
    rc, out, err, _ = run(["--profile", "edge-120", "--http2", "-m", "20", f"http://127.0.0.1:{port}/"])
    check("edge-120: the request succeeds", rc == 0 and out == "ok", (rc, out, err))
    hs = [(f, p) for n, f, _, p in seen[port] if n == "HEADERS"]
    prio = None
    if hs and hs[0][0] & 0x20:
        p = hs[0][1][1:] if hs[0][0] & 0x8 else hs[0][1]  # padded: the pad length byte first
        dep = int.from_bytes(p[:4], "big")
        prio = {"exclusive": dep >> 31, "depends_on": dep & 0x7FFFFFFF, "weight": p[4] + 1}
    check("edge-120: HEADERS priority weight 256, exclusive, on stream 0 (Chromium 120's)",
          prio == {"exclusive": 1, "depends_on": 0, "weight": 256}, (hs[:1], prio))

    # A server that never sends SETTINGS: the waiting profile gives up, named.
    srv = serve(send_settings=False)
    servers.append(srv)
    port = srv.getsockname()[1]
    rc, out, err, wall = run(["--profile", "safari-18.4-macos", "--http2", "-m", "30",
                              f"http://127.0.0.1:{port}/"])
    check("no server SETTINGS: fails with HTTP2_PROTOCOL naming the missing SETTINGS",
          rc != 0 and "HTTP2_PROTOCOL" in err and "no SETTINGS frame from the server within 10000 ms" in err, (rc, err))
    check("no server SETTINGS: after the 10 s bound, before the 30 s request timeout",
          9 < wall < 20, wall)
    check("no server SETTINGS: no HEADERS was sent", "HEADERS" not in order(port), seen[port][:8])
finally:
    for s in servers:
        s.close()
finish()

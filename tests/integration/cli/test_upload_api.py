"""Streamed request bodies through the public API (upload_probe: body_read,
body_rewind, body_length, guise_body_resume) against the test's own loopback
servers (upload_servers.py), over HTTP/1.1 and HTTP/2: a source that pauses
every other read and is resumed from a timer, or from inside its own read;
one of unknown length (chunked over HTTP/1.1); one that ends before its
length or fails (the request ends with GUISE_E_IO and says why, and the server
does not get a whole body); a 307 that keeps the body (sent again after
body_rewind; without one, the request fails saying the source cannot rewind);
an HTTP/2 stream refused after some of its body goes again on another
connection after body_rewind, and fails without one.
The expected bytes are the probe's pattern, computed here.
Usage: test_upload_api.py UPLOAD_PROBE"""
import hashlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guise_testlib import check, finish
from upload_servers import h1_handle, h2_handle, listen, lock, refuse_h2, results

PROBE = sys.argv[1]
N = 300000


def pattern(n):
    return bytes(((i * 7 + (i >> 8)) & 0xFF) for i in range(n))


WANT = hashlib.sha256(pattern(N)).hexdigest()


def probe(mode, url, version, n=N):
    # The server thread of the last case may still be reading its cut body:
    # its record must not land in this case's.
    time.sleep(0.3)
    with lock:
        results.clear()
    p = subprocess.run([PROBE, mode, url, str(version), str(n)], capture_output=True, timeout=60)
    with lock:
        got = list(results)
    try:
        out = json.loads(p.stdout.decode())
    except ValueError:
        out = {"raw": p.stdout.decode(), "stderr": p.stderr.decode()}
    return out, got


s1, p1 = listen(h1_handle)
s2, p2 = listen(h2_handle)
try:
    for version, port, name in ((1, p1, "HTTP/1.1"), (2, p2, "HTTP/2")):
        u = f"http://127.0.0.1:{port}/up"
        for mode in ("pause", "pause-unknown", "resume-inside"):
            out, got = probe(mode, u, version)
            ok = out.get("err") == "" and out.get("status") == 201 and len(got) == 1
            check(f"{name} {mode}: the request succeeded", ok, (out, got))
            check(f"{name} {mode}: the server got the {N} bytes in order (SHA-256)",
                  len(got) == 1 and got[0][3] == N and got[0][4] == WANT, (out, got))
            check(f"{name} {mode}: the source paused and was resumed",
                  out.get("pauses", 0) > 10 and out.get("resumes", 0) == out.get("pauses"), out)
            if version == 1 and got:
                chunked = got[0][5]
                check(f"{name} {mode}: {'chunked' if mode == 'pause-unknown' else 'Content-Length'}",
                      chunked == (mode == "pause-unknown") and
                      (chunked or f"content-length: {N}" in got[0][2]), got[0][2])
            if version == 2 and mode == "pause-unknown" and got:
                check(f"{name} {mode}: no content-length", "content-length" not in got[0][2], got[0][2])
        out, got = probe("short", u, version)
        check(f"{name} short source: GUISE_E_IO, the detail says how far it got",
              out.get("err") == "IO" and f"ended after {N // 2} of its {N} bytes" in out.get("detail", ""), out)
        check(f"{name} short source: the server got no whole body",
              all(g[3] < N for g in got), got)
        out, got = probe("error", u, version)
        check(f"{name} failing source: GUISE_E_IO, 'the request body source failed after {N // 2} bytes'",
              out.get("err") == "IO" and f"source failed after {N // 2} bytes" in out.get("detail", ""), out)
    u = f"http://127.0.0.1:{p1}/307"
    out, got = probe("redirect", u, 1)
    check("307 with body_rewind: rewound once, the request succeeded",
          out.get("err") == "" and out.get("status") == 201 and out.get("rewinds") == 1, out)
    check("307 with body_rewind: both requests carried the whole body (PUT /307, PUT /target)",
          [(g[0], g[1], g[3], g[4]) for g in got] == [("PUT", "/307", N, WANT), ("PUT", "/target", N, WANT)],
          [(g[0], g[1], g[3]) for g in got])
    out, got = probe("redirect-norewind", u, 1)
    check("307 without body_rewind: GUISE_E_IO saying the source cannot rewind",
          out.get("err") == "IO" and "cannot rewind" in out.get("detail", "") and "307" in out.get("detail", ""),
          out)
    check("307 without body_rewind: only the first request went out", [g[1] for g in got] == ["/307"], got)
    u = f"http://127.0.0.1:{p2}/up"
    with lock:
        refuse_h2["left"] = 1
    out, got = probe("retry", u, 2)
    check("HTTP/2 REFUSED_STREAM after some of the body, with body_rewind: rewound, sent again whole",
          out.get("err") == "" and out.get("status") == 201 and out.get("rewinds") == 1 and
          [g[0] for g in got] == ["REFUSED", "PUT"] and got[1][3] == N and got[1][4] == WANT, (out, got))
    with lock:
        refuse_h2["left"] = 1
    out, got = probe("retry-norewind", u, 2)
    check("HTTP/2 REFUSED_STREAM without body_rewind: GUISE_E_IO saying the server did not process it "
          "and the source cannot rewind",
          out.get("err") == "IO" and "did not process" in out.get("detail", "") and
          "cannot rewind" in out.get("detail", "") and [g[0] for g in got] == ["REFUSED"], (out, got))
finally:
    s1.close()
    s2.close()
finish()

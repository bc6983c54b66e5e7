#!/usr/bin/env python3
"""HTTP/2 floods that carry nothing end the request fast, with a named error.

A scripted h2c server (prior knowledge, guise --http2 on http://) answers a request
with endless interim responses (HEADERS :status 103, again and again), or with a
final HEADERS and then endless DATA frames of length 0 without END_STREAM, or spreads
empty DATA frames over twelve streams of one connection. Before the fix guise took
them all at 100 % CPU until the server stopped (here: after 10 s). Now the stream
fails with HTTP2_PROTOCOL after 32 interim responses (the HTTP/1.1 bound) or 1,000
empty DATA frames in a row, and the connection after 10,000 in a row over its
streams; the error detail names the flood, and the CPU spent stays small.

usage: test_h2_floods.py GUISE
"""
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import accept_loop, check, finish, h2_frame, h2_frames, h2_read_preface  # noqa: E402

FLOOD_SECONDS = 10  # how long the server keeps it up (the old client's run time)
STATUS_103 = b"\x08\x03103"  # literal without indexing, name :status (static index 8), "103"
STATUS_200 = b"\x88"         # indexed: :status 200
sent = {}                    # kind -> frames of the flood written
lock = threading.Lock()


def serve(kind, want_streams=1):
    def handle(c):
        c.settimeout(5)
        try:
            buf = h2_read_preface(c)
            if buf is None:
                return
            c.sendall(h2_frame(4, 0, 0))
            streams = []
            t0 = time.monotonic()
            while len(streams) < want_streams and time.monotonic() - t0 < 5:
                frames, buf = h2_frames(buf)
                for ftype, flags, stream, _ in frames:
                    if ftype == 4 and not flags & 1:
                        c.sendall(h2_frame(4, 1, 0))
                    if ftype == 1 and stream not in streams:
                        streams.append(stream)
                if len(streams) >= want_streams:
                    break
                try:
                    d = c.recv(65536)
                except socket.timeout:
                    continue
                if not d:
                    return
                buf += d
            if kind == "interim_ok":  # at the bound, then a normal answer
                c.sendall(b"".join(h2_frame(1, 0x4, s, STATUS_103) * 32 + h2_frame(1, 0x4, s, STATUS_200) +
                                   h2_frame(0, 1, s, b"ok") for s in streams))
                c.recv(65536)
                return
            if kind == "empty_ok":  # 999 empty frames in a row, twice, between bytes of a body
                c.sendall(b"".join(h2_frame(1, 0x4, s, STATUS_200) + h2_frame(0, 0, s) * 999 + h2_frame(0, 0, s, b"o") +
                                   h2_frame(0, 0, s) * 999 + h2_frame(0, 1, s, b"k") for s in streams))
                c.recv(65536)
                return
            if kind == "empty_data" or kind == "spread":
                c.sendall(b"".join(h2_frame(1, 0x4, s, STATUS_200) for s in streams))
            n = 0
            end = time.monotonic() + FLOOD_SECONDS
            c.setblocking(True)
            c.settimeout(1)
            while time.monotonic() < end:
                if kind == "interim":
                    chunk = b"".join(h2_frame(1, 0x4, s, STATUS_103) for s in streams) * 50
                else:
                    chunk = b"".join(h2_frame(0, 0, s) for s in streams) * 50
                try:
                    c.sendall(chunk)
                except socket.timeout:
                    continue  # the client is not reading: still flooding
                n += 50 * len(streams)
                with lock:
                    sent[kind] = n
        except OSError:
            pass  # the client closed or reset: the flood is over
        finally:
            c.close()

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    accept_loop(srv, handle)
    return srv


def run(args):
    """Runs guise; returns (exit code, stdout, stderr, wall seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen([GUISE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=60)
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - t0


def cpu_children():
    """CPU seconds of the children waited for so far (the last run's is the difference)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


servers = []
try:
    for kind, name in (("interim", "more than 32 interim (1xx) responses"),
                       ("empty_data", "1000 empty DATA frames in a row on the stream")):
        srv = serve(kind)
        servers.append(srv)
        port = srv.getsockname()[1]
        c0 = cpu_children()
        rc, out, err, wall = run(["--profile", "none", "--http2", "-m", "30", f"http://127.0.0.1:{port}/"])
        cpu = cpu_children() - c0
        print(f"{kind}: exit {rc}, {wall:.2f} s wall, {cpu:.2f} s CPU, server wrote {sent.get(kind)} frames")
        check(f"{kind} flood: the request fails with HTTP2_PROTOCOL naming it",
              rc != 0 and "HTTP2_PROTOCOL" in err and name in err, (rc, err))
        check(f"{kind} flood: fast (under 3 s, the server floods for {FLOOD_SECONDS} s)", wall < 3, wall)
        check(f"{kind} flood: bounded CPU (under 1.5 s)", cpu < 1.5, cpu)

    # Under the bounds: 32 interim responses, 999 empty DATA frames in a row.
    for kind in ("interim_ok", "empty_ok"):
        srv = serve(kind)
        servers.append(srv)
        rc, out, err, wall = run(["--profile", "none", "--http2", "-m", "10", f"http://127.0.0.1:{srv.getsockname()[1]}/"])
        check(f"{kind}: a response just under the bound is taken", rc == 0 and out == "ok", (rc, out, err))

    # Spread over twelve streams of one connection: each stream stays under its
    # bound (10,000 / 12 < 1,000), the connection's bound ends them all.
    srv = serve("spread", want_streams=12)
    servers.append(srv)
    port = srv.getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        jobs = os.path.join(d, "jobs.txt")
        with open(jobs, "w") as f:
            for i in range(12):
                f.write(f"http://127.0.0.1:{port}/{i}\n")
        t0 = time.monotonic()
        c0 = cpu_children()
        p = subprocess.run([GUISE, "batch", "--profile", "none", "--http2", "--workers", "1",
                            "--connections-per-host", "1", "--retries", "0", "--max-time", "30", "--coalesce-ms", "0",
                            "--progress", "never", jobs], capture_output=True, timeout=60)
        wall, cpu = time.monotonic() - t0, cpu_children() - c0
    recs = [json.loads(x) for x in p.stdout.decode().splitlines() if x.strip()]
    print(f"spread: exit {p.returncode}, {wall:.2f} s wall, {cpu:.2f} s CPU, server wrote {sent.get('spread')} frames")
    check("spread flood: twelve records, each HTTP2_PROTOCOL naming the connection's bound",
          len(recs) == 12 and all(r.get("error") == "HTTP2_PROTOCOL" and
                                  "10000 empty DATA frames in a row on the connection" in r.get("error_detail", "")
                                  for r in recs), recs[:3])
    check("spread flood: fast and bounded CPU (the server floods for 10 s)", wall < 8 and cpu < 2, (wall, cpu))
finally:
    for s in servers:
        s.close()
finish()

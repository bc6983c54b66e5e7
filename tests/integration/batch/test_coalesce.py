#!/usr/bin/env python3
"""HTTP/2 write coalescing in guise batch (--coalesce-ms), seen from the server.

An h2c server (prior knowledge, RFC 9113 frames written here) on loopback whose
answers the test releases one by one, recording when each request's HEADERS
arrive. One connection, 4 streams: coalescing holds a new request while fewer
than half the streams (2) have new requests and half or more await answers.

  1. --coalesce-ms 1500: answer stream 1 -> the request it made room for is held
     (nothing arrives for 0.6 s); answer stream 3 -> two requests arrive together.
  2. Then answer one more -> the new request is held until the 1.5 s hold ends.
  3. --coalesce-ms 0: answer stream 1 -> the new request arrives at once.

Every job has one record, status 200.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, h2_frame as frame, h2_frames, h2_read_preface  # noqa: E402

GUISE = sys.argv[1]


class ScriptedH2:
    """One h2c connection; HEADERS arrival times recorded; answers on demand."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.arrivals = []  # (stream id, monotonic time)
        self.cond = threading.Condition()
        self.sock = None
        self.drain = False  # answer every request as soon as it arrives
        self.acked = False  # the client acknowledged our SETTINGS
        self.answered = set()
        threading.Thread(target=self.serve, daemon=True).start()

    def send(self, b):
        with self.cond:
            if self.sock:
                try:
                    self.sock.sendall(b)
                except OSError:
                    pass

    def answer(self, sid):
        with self.cond:
            if sid in self.answered:
                return
            self.answered.add(sid)
        # :status 200 is HPACK static index 8 (RFC 7541 Appendix A).
        self.send(frame(1, 0x4, sid, b"\x88") + frame(0, 0x1, sid, b"ok"))

    def serve(self):
        self.srv.settimeout(30)
        try:
            c, _ = self.srv.accept()
        except OSError:
            return
        with self.cond:
            self.sock = c
        try:
            buf = h2_read_preface(c)
            if buf is None:
                return
            self.send(frame(4, 0, 0))
            while True:
                frames, buf = h2_frames(buf)
                for ftype, flags, sid, _ in frames:
                    if ftype == 4 and not flags & 1:
                        self.send(frame(4, 1, 0))
                    elif ftype == 4:
                        with self.cond:
                            self.acked = True
                            self.cond.notify_all()
                    elif ftype == 1:
                        with self.cond:
                            self.arrivals.append((sid, time.monotonic()))
                            self.cond.notify_all()
                            drain = self.drain
                        if drain:
                            self.answer(sid)
                d = c.recv(65536)
                if not d:
                    return
                buf += d
        except OSError:
            return

    def wait_acked(self, timeout):
        """Our SETTINGS acknowledged: no reply of the client's is left to go out
        with (and so to release) the requests the test expects to be held."""
        end = time.monotonic() + timeout
        with self.cond:
            while not self.acked and time.monotonic() < end:
                self.cond.wait(end - time.monotonic())
            return self.acked

    def wait_requests(self, n, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.arrivals) < n and time.monotonic() < end:
                self.cond.wait(end - time.monotonic())
            return list(self.arrivals)

    def drain_all(self):
        with self.cond:
            self.drain = True
            pending = [sid for sid, _ in self.arrivals]
        for sid in pending:
            self.answer(sid)

    def close(self):
        self.srv.close()
        with self.cond:
            if self.sock:
                self.sock.close()


def run_batch(srv, n_jobs, coalesce_ms, tmp):
    urls = os.path.join(tmp, f"urls-{coalesce_ms}.txt")
    with open(urls, "w") as f:
        for i in range(n_jobs):
            f.write(f"http://127.0.0.1:{srv.port}/{i}\n")
    return subprocess.Popen([GUISE, "batch", "--http2", "-c", "4", "--connections-per-host", "1",
                             "--streams", "4", "--workers", "1", "--progress", "never",
                             "--coalesce-ms", str(coalesce_ms), "--max-time", "20", urls],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def records_ok(p, n_jobs, what):
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    recs = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
    check(f"{what}: one record per job, all status 200",
          p.returncode == 0 and len(recs) == n_jobs and sorted(r["line"] for r in recs) == list(range(1, n_jobs + 1))
          and all(r["status"] == 200 for r in recs), (p.returncode, recs, err.decode()[-400:]))


tmp = tempfile.mkdtemp(prefix="guise-coalesce-")

# 1 and 2: coalescing on, a long hold so that its effect is plain.
srv = ScriptedH2()
p = run_batch(srv, 8, 1500, tmp)
try:
    first = srv.wait_requests(4, 10)
    check("coalescing: the first 4 requests arrive (one per stream)", len(first) == 4, first)
    check("coalescing: the client acknowledged the server's SETTINGS", srv.wait_acked(10))
    ids = [sid for sid, _ in first]
    srv.answer(ids[0])
    time.sleep(0.6)
    held = srv.wait_requests(5, 0)
    check("coalescing: after one answer, the request it made room for is held (nothing in 0.6 s)",
          len(held) == 4, held)
    t_answer = time.monotonic()
    srv.answer(ids[1])
    both = srv.wait_requests(6, 1.0)
    check("coalescing: after a second answer, two requests arrive together",
          len(both) == 6 and both[4][1] - t_answer < 0.5 and abs(both[5][1] - both[4][1]) < 0.05, both)
    # 2: one more answer; nothing else comes, so the hold's timer sends it.
    t_answer = time.monotonic()
    srv.answer(ids[2])
    timed = srv.wait_requests(7, 4.0)
    late = timed[6][1] - t_answer if len(timed) == 7 else None
    check("coalescing: a held request goes out when the hold (1.5 s) ends", late is not None and 1.2 <= late <= 3.0,
          (late, timed))
    srv.drain_all()
    records_ok(p, 8, "coalescing on")
finally:
    if p.poll() is None:
        p.kill()
    srv.close()

# 3: coalescing off — every request is written at once.
srv = ScriptedH2()
p = run_batch(srv, 6, 0, tmp)
try:
    first = srv.wait_requests(4, 10)
    check("--coalesce-ms 0: the first 4 requests arrive", len(first) == 4, first)
    check("--coalesce-ms 0: the client acknowledged the server's SETTINGS", srv.wait_acked(10))
    t_answer = time.monotonic()
    srv.answer(first[0][0])
    nxt = srv.wait_requests(5, 2.0)
    check("--coalesce-ms 0: after one answer the next request arrives at once (< 0.5 s)",
          len(nxt) == 5 and nxt[4][1] - t_answer < 0.5, nxt)
    srv.drain_all()
    records_ok(p, 6, "coalescing off")
finally:
    if p.poll() is None:
        p.kill()
    srv.close()

finish()

"""Helpers shared by the Python tests: checks that count failures, loopback ports.

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
    from guise_testlib import check, free_port, wait_port, finish
"""
import socket
import sys
import time

failures = 0


def check(what, cond, detail=""):
    """Prints ok/FAIL for |what|; a failure shows |detail| (cut at 2,000 characters)."""
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {str(detail)[:2000]}"))
    failures += 0 if cond else 1
    return cond


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, seconds=10):
    """Waits until something accepts on 127.0.0.1:|port| and returns True; exits the
    test if nothing does."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def stop_all(procs, seconds=5):
    """Terminates the servers a test started, killing those that do not end."""
    import subprocess
    for p in procs:
        p.terminate()
        try:
            p.wait(seconds)
        except subprocess.TimeoutExpired:
            p.kill()


def finish():
    """Prints the verdict and exits with it."""
    print(f"{'FAIL' if failures else 'ok'}: {failures} failure(s)")
    sys.exit(1 if failures else 0)


def accept_loop(srv, handle, seconds=30):
    """Accepts on |srv| in a daemon thread, each connection to |handle(sock)| in a
    thread of its own, until |srv| is closed or nothing comes for |seconds|."""
    import threading

    def loop():
        srv.settimeout(seconds)
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def h2_frame(ftype, flags, stream, payload=b""):
    """One HTTP/2 frame (RFC 9113 §4.1)."""
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload


def h2_frames(buf):
    """The whole frames at the start of |buf| as (type, flags, stream, payload), and the rest."""
    out = []
    while len(buf) >= 9:
        ln = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + ln:
            break
        out.append((buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + ln]))
        buf = buf[9 + ln:]
    return out, buf


def h2_read_preface(c):
    """Reads the client's 24-byte connection preface from socket |c|: the bytes that
    came after it, or None if the peer closed first."""
    buf = b""
    while len(buf) < 24:
        d = c.recv(65536)
        if not d:
            return None
        buf += d
    return buf[24:]

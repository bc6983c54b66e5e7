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

"""A test that fails leaves nothing running (issue 14 item 17).

A child test imports guise_testlib and starts three kinds of process: a server
(guise echo, its own child), a grandchild (sleep under sh), and an orphan that
left its parent at once (sleep from a subshell). Then it fails three ways:
  raise    an exception escapes: everything is stopped at exit;
  SIGTERM  it is terminated while waiting: the same;
  SIGKILL  nothing of it can run: the processes are left, and leftovers.py (the
           run's last test) names each with its test, fails, and stops them.

    python3 test_testlib_cleanup.py GUISE [--lib DIR]
(--lib: another guise_testlib.py for the child, to see this test fail on it.)
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from guise_testlib import check, finish  # noqa: E402

CHILD = r'''
import os, subprocess, sys, time
mode, guise, pidfile, lib = sys.argv[1:5]
sys.path.insert(0, lib)
import guise_testlib  # noqa: F401
echo = subprocess.Popen([guise, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True)
echo.stdout.readline()  # "listening on ...": it is up
grand = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!; wait"], stdout=subprocess.PIPE, text=True)
gpid = int(grand.stdout.readline())
orphan = int(subprocess.run(["sh", "-c", "(sleep 301 >/dev/null 2>&1 & echo $!)"], capture_output=True,
                            text=True).stdout)
with open(pidfile + ".tmp", "w") as f:
    f.write(f"{echo.pid} {grand.pid} {gpid} {orphan}\n")
os.rename(pidfile + ".tmp", pidfile)
if mode == "raise":
    raise RuntimeError("a test step failed")
time.sleep(300)
'''


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:].split()[0] != b"Z"
    except (OSError, ValueError, IndexError):
        return False


def wait_file(path, proc, seconds=20):
    t0 = time.monotonic()
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() - t0 > seconds:
            return None
        time.sleep(0.05)
    with open(path) as f:
        return [int(x) for x in f.read().split()]


def gone_within(pids, seconds):
    t0 = time.monotonic()
    while any(alive(p) for p in pids) and time.monotonic() - t0 < seconds:
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("guise")
    ap.add_argument("--lib", default=HERE)
    a = ap.parse_args()
    names = ("guise echo", "sh", "its sleep", "orphaned sleep")
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "child.py")
        with open(script, "w") as f:
            f.write(CHILD)
        for mode in ("raise", "SIGTERM", "SIGKILL"):
            pidfile = os.path.join(tmp, f"{mode}.pids")
            env = dict(os.environ)
            run = f"selftest-{uuid.uuid4().hex}"
            env.update(GUISE_TEST_RUN=run, GUISE_TEST_NAME=f"selftest_{mode}")
            # Its stderr to a file: the processes it leaves would hold a pipe open.
            errpath = os.path.join(tmp, f"{mode}.err")
            with open(errpath, "w") as ef:
                child = subprocess.Popen([sys.executable, script, "raise" if mode == "raise" else "wait",
                                          a.guise, pidfile, a.lib], env=env, stderr=ef)
            pids = wait_file(pidfile, child)
            if pids is None:
                child.kill()
                child.wait()
                check(f"{mode}: the child started its processes", False, open(errpath).read()[-500:])
                continue
            if mode == "SIGTERM":
                child.send_signal(signal.SIGTERM)
            elif mode == "SIGKILL":
                child.kill()
            child.wait(timeout=30)
            err = open(errpath).read()
            check(f"{mode}: the child test failed (exit {child.returncode})", child.returncode != 0, err[-500:])
            if mode != "SIGKILL":
                left = gone_within(pids, 10)
                check(f"{mode}: nothing it started is left",
                      not left, [f"{names[pids.index(p)]} pid {p}" for p in left])
                continue
            # SIGKILL: no code of the child ran; the processes are still there...
            check("SIGKILL: its processes outlive it (what the run's last test is for)",
                  all(alive(p) for p in pids[:1] + pids[2:]), [alive(p) for p in pids])
            # ...and the run's check names each, fails, and stops them.
            r = subprocess.run([sys.executable, os.path.join(HERE, "leftovers.py"), "--grace", "0.5"],
                               env=dict(env, GUISE_TEST_NAME="leftovers"), capture_output=True, text=True,
                               timeout=60)
            named = [p for p in pids[:1] + pids[2:] if f"pid {p}:" in r.stdout]
            check("leftovers.py fails naming the test and every live process",
                  r.returncode == 1 and len(named) == 3 and "left running by selftest_SIGKILL" in r.stdout,
                  r.stdout + r.stderr)
            left = gone_within(pids, 5)
            check("leftovers.py stopped them", not left, left)
            r = subprocess.run([sys.executable, os.path.join(HERE, "leftovers.py"), "--grace", "0"],
                               env=dict(env, GUISE_TEST_NAME="leftovers"), capture_output=True, text=True,
                               timeout=60)
            check("leftovers.py passes once nothing is left", r.returncode == 0, r.stdout + r.stderr)
    finish()


if __name__ == "__main__":
    main()

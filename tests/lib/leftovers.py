"""Fails when processes of this ctest run are still alive, naming each, and stops them.

ctest gives every test of a run the same GUISE_TEST_RUN (a value made afresh
for each run: tests/lib/test_env.cmake.in) and its own GUISE_TEST_NAME; every
process a test starts inherits both. This script is the run's last test (the
cleanup of a fixture all tests require, docs/TESTING.md): any other process
that still carries the run's value was left behind by the test it names.

    python3 leftovers.py [--grace SECONDS]
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guise_testlib import marked_processes  # noqa: E402


def ancestors():
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            pid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:].split()[0] != b"Z"
    except (OSError, ValueError, IndexError):
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grace", type=float, default=2.0,
                    help="seconds a process may still take to end on its own")
    a = ap.parse_args()
    run = os.environ.get("GUISE_TEST_RUN")
    if not run:
        print("FAIL: GUISE_TEST_RUN is not set: run this through ctest (tests/lib/CMakeLists.txt)")
        return 1
    mine = ancestors()

    def left():
        return [x for x in marked_processes("GUISE_TEST_RUN", run) if x[0] not in mine and alive(x[0])]

    t0 = time.monotonic()
    found = left()
    while found and time.monotonic() - t0 < a.grace:
        time.sleep(0.1)
        found = left()
    for pid, cmd, test in found:
        print(f"FAIL: left running by {test or 'a test'}: pid {pid}: {cmd[:300]}")
    pids = [pid for pid, _, _ in found]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        t1 = time.monotonic()
        while any(alive(p) for p in pids) and time.monotonic() - t1 < 3:
            time.sleep(0.05)
        pids = [p for p in pids if alive(p)]
    if found:
        print(f"FAIL: {len(found)} process(es) of this run were still alive (stopped now"
              f"{'; still alive: ' + ' '.join(map(str, pids)) if pids else ''})")
        return 1
    print("ok: no process of this run is left")
    return 0


if __name__ == "__main__":
    sys.exit(main())

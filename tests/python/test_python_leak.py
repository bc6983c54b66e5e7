#!/usr/bin/env python3
"""100,000 requests through one guise.AsyncClient against guise echo on loopback
(HTTP/2 without TLS, h2c: over TLS echo answers with 18 KB of fingerprints and runs at
a third of the rate; one connection, 100 asyncio tasks each looping `await c.get(url)`
and reading the response's status, a header and its 4 KB body): nothing may pile up
per request.

After a warm-up of 10,000 requests the test takes its baseline: the process's RSS,
the count of objects the garbage collector tracks, pymalloc's allocated blocks, and a
tracemalloc snapshot (tracing from there on). After 100,000 it requires:
  - RSS growth under 10 % of the baseline (and under 8 MiB);
  - at most 2,000 more GC-tracked objects and 5,000 more allocated blocks (a
    Response, its Headers and its body kept per request would be 90,000 of each);
  - then, over TRACED more requests with tracemalloc on, at most 256 KiB allocated
    during them and still alive after them, all files together.
Any of them fails when something is kept per request (checked by hand by keeping each
Response in a list, and by a malloc of 64 bytes per result in _guise.c not freed).
docs/PYTHON.md, "Tests".

usage: test_python_leak.py GUISE   (PYTHONPATH holds the built package: BUILD/python)
"""
import asyncio
import gc
import os
import subprocess
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from guise_testlib import check, finish, free_port, wait_port  # noqa: E402

import guise  # noqa: E402

GUISE = sys.argv[1]
WARM, TOTAL, TRACED, TASKS = 10_000, 100_000, 10_000, 100


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure():
    gc.collect()
    return {"rss": rss_bytes(), "objects": len(gc.get_objects()), "blocks": sys.getallocatedblocks()}


async def run(url):
    done = 0
    bad = []
    marks = {}
    body_len = set()
    async with guise.AsyncClient(http_version="2") as c:
        async def worker(upto):
            nonlocal done
            while done < upto:
                done += 1
                r = await c.get(url)
                if r.status_code != 200 or r.headers.get("content-type") is None or r.http_version != "HTTP/2":
                    bad.append((r.status_code, r.headers.items()[:3]))
                body_len.add(len(r.content) > 100)

        t0 = time.monotonic()
        await asyncio.gather(*(worker(WARM) for _ in range(TASKS)))
        marks["base"] = measure()
        t1 = time.monotonic()
        await asyncio.gather(*(worker(TOTAL) for _ in range(TASKS)))
        t2 = time.monotonic()
        marks["end"] = measure()
        # then 5,000 more with tracemalloc on (it makes each request several times
        # slower): what they leave alive
        tracemalloc.start(1)
        snap0 = tracemalloc.take_snapshot()
        await asyncio.gather(*(worker(TOTAL + TRACED) for _ in range(TASKS)))
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
        tracemalloc.stop()
        t3 = time.monotonic()
    return done, bad, body_len, marks, snap0, snap1, (t1 - t0, t2 - t1, t3 - t2)


def main():
    port = free_port()
    echo = subprocess.Popen([GUISE, "echo", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        done, bad, body_len, m, snap0, snap1, (tw, tr, tt) = asyncio.run(run(f"http://localhost:{port}/leak"))
    finally:
        echo.terminate()
        echo.wait(10)
    b, e = m["base"], m["end"]
    print(f"# {WARM:,} requests in {tw:.1f} s, {TOTAL - WARM:,} more in {tr:.1f} s, then {TRACED:,} with "
          f"tracemalloc on in {tt:.1f} s")
    print(f"# RSS {b['rss'] / 2**20:.1f} -> {e['rss'] / 2**20:.1f} MiB; GC objects {b['objects']:,} -> "
          f"{e['objects']:,}; blocks {b['blocks']:,} -> {e['blocks']:,}")
    check(f"{TOTAL + TRACED:,} requests through one AsyncClient, each 200 with a body over HTTP/2",
          done >= TOTAL + TRACED and not bad and body_len == {True}, (done, bad[:3], body_len))
    grow = e["rss"] - b["rss"]
    check("RSS growth from 10k to 100k requests under 10 % (and 8 MiB)",
          grow < 0.10 * b["rss"] and grow < 8 * 2**20, f"{grow / 2**20:+.1f} MiB of {b['rss'] / 2**20:.1f}")
    check("GC-tracked objects: at most 2,000 more after 90,000 requests",
          e["objects"] - b["objects"] <= 2000, e["objects"] - b["objects"])
    check("pymalloc blocks: at most 5,000 more after 90,000 requests",
          e["blocks"] - b["blocks"] <= 5000, e["blocks"] - b["blocks"])
    diff = snap1.compare_to(snap0, "filename")
    kept = sum(d.size_diff for d in diff if d.size_diff > 0)
    top = [(str(d.traceback), d.size_diff, d.count_diff) for d in sorted(diff, key=lambda d: -d.size_diff)[:3]]
    print(f"# tracemalloc: {kept:,} bytes allocated during the last {TRACED:,} requests still alive; {top}")
    check(f"tracemalloc: at most 256 KiB allocated during {TRACED:,} requests still alive after them",
          kept <= 256 * 1024, (kept, top))
    finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Concurrent HTTP/2 streams: their HEADERS priorities, Debian chromium next to guise.

Chromium makes each new stream depend (exclusively) on the newest stream of the
connection still open whose priority is at least its own, 0 when there is none
(Http2PriorityDependencies in Chromium's net/spdy). That is what a page with six
stylesheets shows here: one real headless chromium visit to nghttpd -v
(tools/capture/browser-visit --subresources 6). The same rule is then checked on the
streams guise opens at once (guise batch, profile chromium-156-linux, 8 requests on one
connection) against nghttpd -v, and it must give the chain 0, 1, 3, ... exactly.

    test_stream_chain.py GUISE BROWSER_VISIT WORKDIR
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, stop_all, wait_port  # noqa: E402

GUISE, VISIT, WORK = sys.argv[1], sys.argv[2], sys.argv[3]


def streams(log):
    """From nghttpd -v: the client's HEADERS in order as dicts (stream, dep, weight,
    exclusive, t) and, per stream, when the server sent its END_STREAM; t is the line's
    place in the log (its times have a resolution of 1 ms)."""
    heads, ends = [], {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"\[\s*([\d.]+)\] (recv|send) (HEADERS|DATA) frame <length=\d+, flags=(0x[0-9a-f]+), "
                      r"stream_id=(\d+)>", line)
        if not m:
            continue
        t, way, kind, flags, sid = i, m.group(2), m.group(3), int(m.group(4), 16), int(m.group(5))
        if way == "recv" and kind == "HEADERS":
            body = " ".join(lines[i + 1:i + 3])
            p = re.search(r"dep_stream_id=(\d+), weight=(\d+), exclusive=(\d)", body)
            heads.append({"stream": sid, "dep": int(p.group(1)) if p else None,
                          "weight": int(p.group(2)) if p else None,
                          "exclusive": p.group(3) == "1" if p else None, "t": t})
        elif way == "send" and flags & 0x1:
            ends.setdefault(sid, t)
    return heads, ends


def rule_violations(heads, ends):
    """Where the HEADERS priorities break the chaining rule. A stream the server had
    ended before the new HEADERS arrived may or may not have been closed at the client
    yet: only streams it had not ended are certainly open."""
    bad = []
    for k, h in enumerate(heads):
        if h["dep"] is None or not h["exclusive"]:
            bad.append((h["stream"], "no exclusive priority"))
            continue
        earlier = heads[:k]
        if h["dep"] != 0:
            parent = [e for e in earlier if e["stream"] == h["dep"]]
            if not parent or parent[0]["weight"] < h["weight"]:
                bad.append((h["stream"], f"depends on {h['dep']}: not an earlier stream of at least its weight"))
                continue
        surely_open = [e["stream"] for e in earlier
                       if e["weight"] >= h["weight"] and ends.get(e["stream"], 1e9) > h["t"]]
        if surely_open and h["dep"] < max(surely_open):
            bad.append((h["stream"], f"depends on {h['dep']} while {max(surely_open)} was open"))
    return bad


os.makedirs(WORK, exist_ok=True)
procs = []
try:
    # 1. The browser.
    out = os.path.join(WORK, "visit-chain")
    r = subprocess.run([VISIT, "--browser", "chromium", "--out", out, "--server", "nghttpd",
                        "--subresources", "6", "--timeout", "25"], capture_output=True, timeout=120)
    check("chromium visit to nghttpd with six stylesheets", r.returncode == 0, r.stderr.decode()[-800:])
    bheads, bends = streams(open(os.path.join(out, "nghttpd.log")).read())
    chained = [h for h in bheads if h["dep"]]
    check("chromium: the stylesheets' streams chain (at least 3 depend on another stream)",
          len(chained) >= 3, bheads)
    check("chromium: every HEADERS follows the rule (newest open stream of at least its weight)",
          bheads and not rule_violations(bheads, bends), (rule_violations(bheads, bends), bheads))

    # 2. guise, 8 requests at once on one connection, to nghttpd -v.
    pki = os.path.join(out, "pki")
    doc = os.path.join(WORK, "chain-doc")
    shutil.rmtree(doc, ignore_errors=True)
    os.makedirs(doc)
    for i in range(8):
        with open(os.path.join(doc, f"f{i}"), "w") as f:
            f.write("x" * 100)
    port = free_port()
    log = os.path.join(WORK, "chain-nghttpd.log")
    with open(log, "w") as lf:
        ng = subprocess.Popen(["nghttpd", "-v", "-a", "127.0.0.1", "-d", doc, str(port),
                               os.path.join(pki, "leaf.key"), os.path.join(pki, "leaf.pem")],
                              stdout=lf, stderr=subprocess.STDOUT)
    procs.append(ng)
    wait_port(port)
    urls = os.path.join(WORK, "chain-urls.txt")
    with open(urls, "w") as f:
        for i in range(8):
            f.write(f"https://127.0.0.1:{port}/f{i}\n")
    r = subprocess.run([GUISE, "batch", "-k", "--profile", "chromium-156-linux", "--http2", "-c", "8",
                        "--connections-per-host", "1", "--streams", "8", "--progress", "never", urls],
                       capture_output=True, timeout=60)
    check("guise batch: 8 records", r.returncode == 0 and len(r.stdout.splitlines()) == 8, r.stderr.decode())
    time.sleep(0.2)  # nghttpd writes its log as it goes
    gheads, gends = streams(open(log).read())
    check("guise: 8 streams, each depending on the one before (0, 1, 3, ..., 13), weight 256, exclusive",
          [(h["stream"], h["dep"], h["weight"], h["exclusive"]) for h in gheads] ==
          [(2 * i + 1, 2 * i - 1 if i else 0, 256, True) for i in range(8)], gheads)
    check("guise: every HEADERS follows the rule the browser follows",
          gheads and not rule_violations(gheads, gends), rule_violations(gheads, gends))
finally:
    stop_all(procs)
finish()

#!/usr/bin/env python3
"""Cookies over HTTP/2: how Debian chromium writes them, and guise with its profile.

One real headless chromium visit to nghttpd -v (tools/capture/browser-visit --cookies 3:
a script sets three cookies, then loads /c.css). nghttpd's log shows the request's
fields: the test takes from it how the browser sends the three cookies (one "cookie"
field each, or one field for all) and where (the fields around them). guise, with the
profile chromium-156-linux and the same three cookies (-H 'Cookie: ...', and from its
jar with -b), must send them the same way, at the same place in its own list.

    test_cookie_crumbs.py GUISE BROWSER_VISIT WORKDIR
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, stop_all, wait_port  # noqa: E402

GUISE, VISIT, WORK = sys.argv[1], sys.argv[2], sys.argv[3]


def requests(log):
    """[(path, [(name, value), ...]), ...]: each request in nghttpd -v's log, in order."""
    fields, order = {}, []
    for line in log.splitlines():
        # ", sensitive": an HPACK never-indexed literal
        m = re.search(r"\[id=(\d+)\] \[[ \d.]+\] recv \(stream_id=(\d+)(?:, sensitive)?\) (\S+?): (.*)$", line)
        if m:
            key = (int(m.group(1)), int(m.group(2)))
            if key not in fields:
                fields[key] = []
                order.append(key)
            fields[key].append((m.group(3), m.group(4)))
    return [(dict(fields[k]).get(":path"), fields[k]) for k in order]


def last(reqs, path):
    got = [f for p, f in reqs if p == path]
    return got[-1] if got else []


def cookie_shape(fields):
    """The cookie fields' values, and the names just before and after them."""
    idx = [i for i, (n, _) in enumerate(fields) if n == "cookie"]
    if not idx:
        return None
    before = fields[idx[0] - 1][0] if idx[0] else None
    after = fields[idx[-1] + 1][0] if idx[-1] + 1 < len(fields) else None
    contiguous = idx == list(range(idx[0], idx[0] + len(idx)))
    return {"values": [fields[i][1] for i in idx], "before": before, "after": after, "contiguous": contiguous}


os.makedirs(WORK, exist_ok=True)
procs = []
try:
    out = os.path.join(WORK, "visit-cookies")
    r = subprocess.run([VISIT, "--browser", "chromium", "--out", out, "--server", "nghttpd", "--cookies", "3",
                        "--timeout", "25"], capture_output=True, timeout=120)
    check("chromium visit to nghttpd with three cookies", r.returncode == 0, r.stderr.decode()[-800:])
    reqs = requests(open(os.path.join(out, "nghttpd.log")).read())
    browser = cookie_shape(last(reqs, "/c.css"))
    check("chromium sent /c.css with its cookies", browser is not None, reqs)
    browser = browser or {"values": [], "before": None, "after": None, "contiguous": False}
    print(f"chromium: {browser}")

    # guise against its own nghttpd (the visit's certificate), the same cookies.
    pki = os.path.join(out, "pki")
    doc = os.path.join(WORK, "cookie-doc")
    shutil.rmtree(doc, ignore_errors=True)
    os.makedirs(doc)
    with open(os.path.join(doc, "c.css"), "w") as f:
        f.write("p { color: black }\n")
    port = free_port()
    log = os.path.join(WORK, "cookie-nghttpd.log")
    with open(log, "w") as lf:
        # line-buffered: each request is in the log once it is answered
        ng = subprocess.Popen(["stdbuf", "-oL", "nghttpd", "-v", "-a", "127.0.0.1", "-d", doc, str(port),
                               os.path.join(pki, "leaf.key"), os.path.join(pki, "leaf.pem")],
                              stdout=lf, stderr=subprocess.STDOUT)
    procs.append(ng)
    wait_port(port)
    joined = "; ".join(browser["values"]) or "k0=v0; k1=v1; k2=v2"
    for how, args in (("-H 'Cookie: ...'", ["-H", f"Cookie: {joined}"]), ("-b (the jar)", ["-b", joined])):
        url = f"https://127.0.0.1:{port}/c.css"
        r = subprocess.run([GUISE, "-k", "--profile", "chromium-156-linux", "--http2", "-s", "-o", os.devnull,
                            *args, url], capture_output=True, timeout=30)
        time.sleep(0.2)
        ours = cookie_shape(last(requests(open(log).read()), "/c.css"))
        check(f"guise {how}: sent", r.returncode == 0 and ours is not None, (r.stderr.decode(), ours))
        ours = ours or {}
        check(f"guise {how}: the cookies as chromium sends them (fields {browser['values']})",
              ours.get("values") == browser["values"] and ours.get("contiguous") == browser["contiguous"],
              (ours, browser))
        check(f"guise {how}: at chromium's place (after {browser['before']}, before {browser['after']})",
              ours.get("before") == browser["before"] and ours.get("after") == browser["after"], (ours, browser))
finally:
    stop_all(procs)
finish()

#!/usr/bin/env python3
"""Every built-in profile's HTTP/2 opening, as an independent peer decodes it.

usage: test_nghttpd_profiles.py GUISE

nghttpd (Debian's nghttp2-server) runs on loopback with -v, which prints every
frame it receives. For each built-in profile guise sends one request; the frames
nghttpd reports must be what the profile (made from real browser captures)
says: SETTINGS ids and values in order, the connection WINDOW_UPDATE, PRIORITY
frames, the HEADERS priority and stream id, and the header fields in order with
the pseudo-headers first.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from guise_testlib import check, finish, free_port  # noqa: E402

# RFC 9113 section 6.5.2, RFC 8441 (8), RFC 9218 (9): the names profiles use.
SETTING_IDS = {"HEADER_TABLE_SIZE": 1, "ENABLE_PUSH": 2, "MAX_CONCURRENT_STREAMS": 3,
               "INITIAL_WINDOW_SIZE": 4, "MAX_FRAME_SIZE": 5, "MAX_HEADER_LIST_SIZE": 6,
               "ENABLE_CONNECT_PROTOCOL": 8, "NO_RFC7540_PRIORITIES": 9}


def parse(log):
    """The client's frames up to and including its first HEADERS, from nghttpd -v."""
    out = {"settings": None, "window_update": 0, "priority_frames": [], "headers": [],
           "headers_stream": None, "headers_priority": None}
    lines = log.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.search(r"recv (\w+) frame <length=\d+, flags=(0x[0-9a-f]+), stream_id=(\d+)>", line)
        h = re.search(r"recv \(stream_id=(\d+)\) (.*?): (.*)$", line)
        if h:
            out["headers"].append([h.group(2), h.group(3)])
        elif m:
            kind, flags, stream = m.group(1), int(m.group(2), 16), int(m.group(3))
            body = []
            j = i + 1
            while j < len(lines) and lines[j].startswith("          "):
                body.append(lines[j].strip())
                j += 1
            text = "\n".join(body)
            if kind == "SETTINGS" and not flags & 1 and out["settings"] is None:
                out["settings"] = [[int(a, 16), int(b)] for a, b in re.findall(r"\((0x[0-9a-f]+)\):(\d+)\]", text)]
            elif kind == "WINDOW_UPDATE" and stream == 0:
                out["window_update"] = int(re.search(r"window_size_increment=(\d+)", text).group(1))
            elif kind == "PRIORITY":
                p = re.search(r"dep_stream_id=(\d+), weight=(\d+), exclusive=(\d)", text)
                out["priority_frames"].append({"stream": stream, "weight": int(p.group(2)),
                                               "exclusive": p.group(3) == "1", "depends_on": int(p.group(1))})
            elif kind == "HEADERS":
                out["headers_stream"] = stream
                p = re.search(r"dep_stream_id=(\d+), weight=(\d+), exclusive=(\d)", text)
                if flags & 0x20 and p:
                    out["headers_priority"] = {"weight": int(p.group(2)), "exclusive": p.group(3) == "1",
                                               "depends_on": int(p.group(1))}
                return out
            i = j
            continue
        i += 1
    return out


with tempfile.TemporaryDirectory() as tmp:
    key, crt = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    names = [l.split()[0] for l in subprocess.run([GUISE, "profile", "list"], capture_output=True, text=True,
                                                   check=True).stdout.splitlines()]
    check("built-in profiles are listed", len(names) >= 10, names)
    for name in names:
        prof = json.loads(subprocess.run([GUISE, "profile", "show", name], capture_output=True, text=True,
                                         check=True).stdout)
        port = free_port()
        logf = open(os.path.join(tmp, f"{name}.log"), "w+")
        d = subprocess.Popen(["nghttpd", "-v", "--address=127.0.0.1", str(port), key, crt], stdout=logf,
                             stderr=subprocess.STDOUT)
        try:
            t0 = time.time()
            while time.time() - t0 < 10:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            r = subprocess.run([GUISE, "-k", "--profile", name, "-o", os.devnull, f"https://localhost:{port}/"],
                               capture_output=True, timeout=30)
            time.sleep(0.2)  # let nghttpd flush its log
        finally:
            d.terminate()
            d.wait(timeout=10)
        logf.seek(0)
        log = logf.read()
        logf.close()
        if r.returncode not in (0, 22):  # nghttpd answers 404 for /
            check(f"{name}: request", False, r.stderr.decode())
            continue
        got = parse(log)
        h2 = prof["http2"]
        want_settings = [[SETTING_IDS.get(n, None) or int(n, 16), v] for n, v in h2["settings"]]
        check(f"{name}: SETTINGS ids, values and order", got["settings"] == want_settings,
              f"{got['settings']} vs {want_settings}")
        check(f"{name}: connection WINDOW_UPDATE", got["window_update"] == h2["window_update"],
              f"{got['window_update']} vs {h2['window_update']}")
        check(f"{name}: PRIORITY frames", got["priority_frames"] == h2.get("priority_frames", []),
              f"{got['priority_frames']} vs {h2.get('priority_frames')}")
        # "chain" shapes later streams (tests/integration/browsers/test_stream_chain.py),
        # not the first one seen here.
        want_hp = h2.get("headers_priority")
        if want_hp:
            want_hp = {k: v for k, v in want_hp.items() if k != "chain"}
        check(f"{name}: HEADERS priority", got["headers_priority"] == want_hp,
              f"{got['headers_priority']} vs {want_hp}")
        check(f"{name}: first stream id", got["headers_stream"] == h2.get("first_stream_id", 1),
              f"{got['headers_stream']} vs {h2.get('first_stream_id', 1)}")
        sent = [n for n, _ in got["headers"]]
        want = h2["pseudo_headers"] + [n for n, _ in prof["headers"]["navigation"]["h2"]]
        check(f"{name}: header fields in order, pseudo-headers first", sent == want, f"{sent} vs {want}")
finish()

#!/usr/bin/env python3
"""The TLS ClientHello and HTTP/2 opening of chromium-156-linux and firefox-esr-153-linux
equal the HEADED browsers'.

The profiles' TLS and HTTP/2 shapes were captured from headless runs
(tools/profiles/capture-debian); the request kinds from headed runs under Xvfb. A WAF sees
both at once, so they must belong to one browser: tests/data/captures/hello holds the
fingerprints guise echo computed from one headed navigation of Debian's chromium 156 and
firefox-esr 153 (tools/profiles/capture-kinds --hello: JA4, JA4_r, JA3N, peetprint, Akamai
HTTP/2; what does not vary between runs). guise --profile P against guise echo must give
the same five.

    test_kinds_hello.py GUISE DATA_DIR
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, stop_all  # noqa: E402

GUISE, DATA = sys.argv[1], sys.argv[2]
KEYS = ("ja4", "ja4_r", "ja3n", "peetprint", "akamai")

procs = []
try:
    echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    procs.append(echo)
    port = None
    deadline = time.monotonic() + 10
    while port is None and time.monotonic() < deadline:
        line = echo.stdout.readline().decode()
        m = re.search(r"listening 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    check("guise echo listens", port is not None)
    for prof, browser in (("chromium-156-linux", "chromium"), ("firefox-esr-153-linux", "firefox-esr")):
        with open(os.path.join(DATA, "captures", "hello", f"{browser}.json")) as f:
            want = json.load(f)
        # To a name, as the browsers went (https://localhost:PORT/): an IP literal gets no SNI.
        r = subprocess.run([GUISE, "-k", "--profile", prof, "--resolve", f"localhost:{port}:127.0.0.1",
                            f"https://localhost:{port}/"], capture_output=True, timeout=30)
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            doc = {}
        fp = doc.get("tls", {}).get("fingerprints", {})
        have = {k: fp.get(k) for k in KEYS[:4]}
        have["akamai"] = doc.get("http2", {}).get("akamai")
        check(f"{prof}: JA4, JA4_r, JA3N, peetprint and Akamai as the headed {want['version']}'s",
              r.returncode == 0 and all(have[k] == want[k] for k in KEYS),
              {k: (have[k], want[k]) for k in KEYS if have[k] != want[k]} or r.stderr.decode())
finally:
    stop_all(procs)
finish()

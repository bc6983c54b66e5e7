#!/usr/bin/env python3
"""Round trip with real browsers: Debian's chromium and firefox-esr visit guise
echo (tools/capture/browser-visit), the visit is imported as a profile
(guise profile import --echo-log), guise replays it against guise echo, and the
replay must show the browser's JA4, JA3N, Akamai string, HEADERS priority, first
stream id and header order (names and values; the browser is headless, so its
User-Agent is the headless one on both sides).

usage: test_round_trip.py GUISE VISIT_SCRIPT
"""
import json
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)
import tempfile

GUISE, VISIT = sys.argv[1], sys.argv[2]
failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {detail}"))
    failures += 0 if cond else 1


def navigation(log):
    for line in open(log):
        rec = json.loads(line)
        if rec.get("http2") and rec.get("requests"):
            return rec
    return None


with tempfile.TemporaryDirectory() as tmp:
    echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    port = echo.stdout.readline().split()[1].rsplit(":", 1)[1]
    try:
        for browser, permute in (("chromium", True), ("firefox-esr", False)):
            out = os.path.join(tmp, browser)
            r = subprocess.run([VISIT, "--browser", browser, "--out", out, "--guise", GUISE, "--timeout", "30"],
                               capture_output=True, text=True, timeout=120)
            check(f"{browser}: a real visit", r.returncode == 0, r.stderr[-400:])
            if r.returncode:
                continue
            prof = os.path.join(tmp, f"{browser}.json")
            args = [GUISE, "profile", "import", "--echo-log", os.path.join(out, "echo.log"), browser, "-o", prof]
            r = subprocess.run(args + (["--permute"] if permute else []), capture_output=True, text=True)
            check(f"{browser}: imported", r.returncode == 0, r.stderr)
            real = navigation(os.path.join(out, "echo.log"))
            r = subprocess.run([GUISE, "-k", "--profile", prof, f"https://localhost:{port}/"], capture_output=True,
                               timeout=30)
            check(f"{browser}: replayed", r.returncode == 0, r.stderr[-300:])
            if r.returncode:
                continue
            rep = json.loads(r.stdout)
            for k in ("ja4", "ja3n"):
                check(f"{browser}: {k}", rep["tls"]["fingerprints"][k] == real["tls"]["fingerprints"][k],
                      (rep["tls"]["fingerprints"][k], real["tls"]["fingerprints"][k]))
            if not permute:
                check(f"{browser}: exact extension order (JA3)",
                      rep["tls"]["fingerprints"]["ja3"] == real["tls"]["fingerprints"]["ja3"])
            check(f"{browser}: Akamai", rep["http2"]["akamai"] == real["http2"]["akamai"],
                  (rep["http2"]["akamai"], real["http2"]["akamai"]))
            hf = lambda d: next(f for f in d["http2"]["frames"] if f["type"] == "HEADERS")
            check(f"{browser}: HEADERS priority and stream",
                  (hf(rep).get("priority"), hf(rep)["stream"]) == (hf(real).get("priority"), hf(real)["stream"]),
                  (hf(rep), hf(real)))
            strip = lambda hs: [(n, v) for n, v in hs if n not in (":authority",)]
            check(f"{browser}: header names, order and values",
                  strip(rep["http2"]["headers"]) == strip(real["http2"]["headers"]),
                  (rep["http2"]["headers"], real["http2"]["headers"]))
    finally:
        echo.terminate()
        echo.wait(timeout=10)
print(f"{'FAIL' if failures else 'PASS'}: {failures} failure(s)")
sys.exit(1 if failures else 0)

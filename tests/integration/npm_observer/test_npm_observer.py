#!/usr/bin/env python3
"""guise echo's JA3 and JA4 against an independent observer on the same live connections.

usage: test_npm_observer.py GUISE NODE_MODULES_DIR

The npm package read-tls-client-hello (installed by tools/setup) reads each
ClientHello in a relay in front of guise echo; real clients (curl over h2 and
http/1.1, headless Chromium) connect through it. For every connection, matched by
the client random, the ciphers, the extension order, JA3 and JA4 must agree.
guise itself goes first with a sample of built-in profiles, one connection
each: the JA4 the independent observer computes must equal the one recorded
from the real browser (the profile's expected block).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)
import tempfile
import time

GUISE, NODE_MODULES = sys.argv[1], sys.argv[2]
failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {detail}"))
    failures += 0 if cond else 1


def start(cmd, **kw):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    line = p.stdout.readline().split()
    if len(line) != 2 or line[0] != "listening":
        raise SystemExit(f"{cmd[0]} did not start: {line} {p.stderr.read()}")
    return p, int(line[1].rsplit(":", 1)[-1])


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        return None


def main():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "echo.log")
        echo, echo_port = start([GUISE, "echo", "--listen", "127.0.0.1:0", "--log", log])
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        obs, port = start(["node", os.path.join(os.path.dirname(__file__), "observer.js"), str(echo_port)], env=env)
        url = f"https://localhost:{port}/"
        sample = ["chrome-150", "firefox-144", "safari-26.0.1-macos", "tor-14.5"]
        for prof in sample:
            r = subprocess.run([GUISE, "-k", "--profile", prof, "-o", os.devnull, url], capture_output=True,
                               timeout=30)
            check(f"guise --profile {prof} completed", r.returncode == 0, r.stderr[-300:])
        clients = {
            "curl h2": ["curl", "-sk", "--max-time", "10", "--http2", url],
            "curl http/1.1": ["curl", "-sk", "--max-time", "10", "--http1.1", url],
        }
        if shutil.which("chromium"):
            clients["chromium"] = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                   "--no-first-run", "--disable-background-networking",
                                   "--disable-component-update", "--disable-sync",
                                   f"--user-data-dir={tmp}/chromium", "--ignore-certificate-errors",
                                   "--dump-dom", url]
        for name, cmd in clients.items():
            try:
                r = subprocess.run(cmd, capture_output=True, timeout=60, start_new_session=True)
                check(f"{name} completed", r.returncode == 0, r.stderr[-500:])
            except subprocess.TimeoutExpired:
                check(f"{name} completed", False, "timeout")
        time.sleep(0.5)
        stop(obs)
        rc = stop(echo)
        check("echo exits 0", rc == 0, rc)
        seen = [json.loads(l) for l in obs.stdout.read().splitlines() if l.startswith("{")]
        echo_by_random = {}
        for l in open(log):
            rec = json.loads(l)
            if rec.get("tls"):
                echo_by_random[rec["tls"]["client_hello"]["random"]] = rec["tls"]
        check("the observer parsed every connection", seen and all("error" not in s for s in seen), seen)
        # guise's connections came first, one per profile, in order.
        for prof, s in zip(sample, seen):
            exp = json.loads(subprocess.run([GUISE, "profile", "show", prof], capture_output=True, text=True,
                                            check=True).stdout)["expected"]
            check(f"guise --profile {prof}: the observer's JA4 is the real browser's",
                  s.get("ja4") == exp["ja4"], f'{s.get("ja4")} vs {exp["ja4"]}')
        matched = 0
        for s in seen:
            tls = echo_by_random.get(s.get("random"))
            if tls is None:
                continue
            matched += 1
            hello, fps = tls["client_hello"], tls["fingerprints"]
            tag = f'{fps["ja4"]} ({hello["extensions"][0]["hex"]}...)'
            check(f"{tag}: ciphers agree", [int(c, 16) for c in hello["cipher_suites"]] == s["cipherSuites"])
            check(f"{tag}: extension order agrees", [e["type"] for e in hello["extensions"]] == s["extensions"])
            check(f"{tag}: JA3 agrees", fps["ja3_md5"] == s["ja3"], f'{fps["ja3_md5"]} vs {s["ja3"]}')
            check(f"{tag}: JA4 agrees", fps["ja4"] == s["ja4"], f'{fps["ja4"]} vs {s["ja4"]}')
            # Chromium offers X25519MLKEM768 first: a handshake with a TLS stack nobody
            # here wrote proves the hybrid group (patch 0001) end to end.
            offered = next((e["key_shares"] for e in hello["extensions"] if e["type"] == 51), [])
            if any(k["group"] == "11ec" for k in offered):
                check(f"{tag}: X25519MLKEM768 negotiated with a client that offers it",
                      tls["negotiated"]["group"] == "X25519MLKEM768", tls["negotiated"])
        check("every client's connection was seen by both", matched >= len(clients) + len(sample),
              f"{matched} of {len(seen)}")
    print(f"{'FAIL' if failures else 'PASS'}: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

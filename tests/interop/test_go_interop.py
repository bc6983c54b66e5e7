#!/usr/bin/env python3
"""X25519MLKEM768 and HelloRetryRequest against Go 1.24's crypto/tls.

usage: test_go_interop.py GOSERVER BSSL_CLIENT GUISE

- guise's BoringSSL client -> Go server that accepts only X25519MLKEM768: completes.
- the same client offering only X25519 -> that server: fails (no common group).
- client offering X25519MLKEM768:X25519:P-256 -> Go server insisting on P-256:
  a HelloRetryRequest, then a completed handshake on P-256.
- Go client offering only X25519MLKEM768 -> guise echo: completes on X25519MLKEM768,
  and the echo saw a 1216-byte 0x11ec key share.
"""
import json
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)

GOSERVER, CLIENT, GUISE = sys.argv[1:4]
failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {detail}"))
    failures += 0 if cond else 1


def start(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    words = p.stdout.readline().split()
    if len(words) != 2 or words[0] != "listening":
        raise SystemExit(f"{cmd} did not start: {words} {p.stderr.read()}")
    return p, words[1].rsplit(":", 1)[-1]


def go_server_case(server_groups, client_groups):
    srv, port = start([GOSERVER, "-listen", "127.0.0.1:0", "-groups", server_groups, "-max", "1"])
    r = subprocess.run([CLIENT, port, client_groups], capture_output=True, text=True, timeout=20)
    try:
        out, _ = srv.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        srv.kill()
        out = ""
    report = json.loads(out.splitlines()[0]) if out.strip() else {}
    return r.returncode, r.stdout.strip(), report


rc, out, rep = go_server_case("X25519MLKEM768", "X25519MLKEM768:X25519")
check("BoringSSL client completes X25519MLKEM768 with Go", rc == 0 and "group=X25519MLKEM768" in out, (rc, out, rep))
check("Go saw 0x11ec first in supported_groups", rep.get("supported_groups", [None])[0] == 0x11ec, rep)

rc, out, rep = go_server_case("X25519MLKEM768", "X25519")
check("X25519-only client is refused by an ML-KEM-only Go server", rc != 0 and not rep.get("handshake_completed"), (rc, out, rep))

rc, out, rep = go_server_case("P-256", "X25519MLKEM768:X25519:P-256")
check("P-256-only Go server: HelloRetryRequest, then a handshake on P-256", rc == 0 and "group=P-256" in out, (rc, out, rep))

echo, port = start([GUISE, "echo", "--listen", "127.0.0.1:0"])
r = subprocess.run([GOSERVER, "-connect", f"127.0.0.1:{port}", "-groups", "X25519MLKEM768"],
                   capture_output=True, timeout=20)
echo.terminate()
echo.wait(timeout=10)
body = r.stdout.split(b"\r\n\r\n", 1)[-1]
try:
    doc = json.loads(body)
    shares = [(k["group"], k["key_length"]) for e in doc["tls"]["client_hello"]["extensions"]
              if e["type"] == 51 for k in e["key_shares"]]
    check("Go client completes X25519MLKEM768 with guise echo", doc["tls"]["negotiated"]["group"] == "X25519MLKEM768",
          doc["tls"]["negotiated"])
    check("Go's key share is 0x11ec with 1216 bytes", shares == [("11ec", 1216)], shares)
except (ValueError, KeyError) as ex:
    check("Go client got the echo's JSON", False, f"{ex}: {r.stdout[:300]!r} {r.stderr[:300]!r}")

print(f"{'FAIL' if failures else 'PASS'}: {failures} failure(s)")
sys.exit(1 if failures else 0)

#!/usr/bin/env python3
"""-4/-6, --interface, --local-port and --limit-rate (issue #19), against loopback
servers that answer with the address and port the connection came from; the
same command line run through curl (Debian's) where curl has the option, and
the two compared: where the connection came from, and the exit status
(guise's error name: the library's; its exit status: the command's mapping).

  -4 / -6 with a name of both versions (--resolve NAME:PORT:127.0.0.1,[::1])
  -6 with a name of IPv4 only, and an IPv4 literal
  --interface 127.0.0.2, lo, a name that is no interface, IPv4 to an IPv6 server
  --local-port N-M (the port is in the range), every port of the range taken
  --limit-rate 500k: a 2 MiB body takes at least 3.5 s, and arrives whole
  --tlsv1.x, --tls-max, --ciphers, --curves, --tls13-ciphers against guise echo:
  with a browser profile taken only where its hello already agrees (the same
  fingerprints as without), refused naming the option and the profile where
  it would change; with --profile none applied (the version, suites and
  groups the echo saw; curl's negotiated version the same)

usage: test_cli_net.py GUISE
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

GUISE = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

CURL = shutil.which("curl")
BIG = bytes((i * 7 + i // 251) & 0xFF for i in range(2 << 20))  # 2 MiB, not all alike


def where_server(family, host, port=0):
    """Answers each request with "ip port" of the peer; a path /big gets BIG."""
    s = socket.socket(family)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)

    def conn(c, peer):
        try:
            c.settimeout(20)
            b = b""
            while b"\r\n\r\n" not in b:
                d = c.recv(4096)
                if not d:
                    return
                b += d
            body = BIG if b.startswith(b"GET /big") else f"{peer[0]} {peer[1]}".encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        except OSError:
            pass
        finally:
            c.close()

    def loop():
        while True:
            try:
                c, peer = s.accept()
            except OSError:
                return
            threading.Thread(target=conn, args=(c, peer), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return s


def hold_range(start):
    """Four consecutive ports from |start| on, each held by a listening socket
    on every address: (first port, the sockets)."""
    for base in range(start, 60000, 97):
        socks = []
        try:
            for p in range(base, base + 4):
                t = socket.socket()
                socks.append(t)
                t.bind(("0.0.0.0", p))
                t.listen(1)
            return base, socks
        except OSError:
            for t in socks:
                t.close()
    raise SystemExit("no four free ports in a row")


def run(tool, args, timeout=30):
    t0 = time.monotonic()
    p = subprocess.run([tool, "-sS"] + args, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace"), time.monotonic() - t0


def both(what, args, want_out=None, name=None, curl_code=None, curl=True):
    """guise with |args|: its body equals |want_out| (a function of the body, or
    bytes) or its error is |name|; curl with the same |args| gives the same
    body, or exits |curl_code|."""
    rc, out, err, _ = run(GUISE, args)
    if name:
        check(f"{what}: guise says {name}", rc != 0 and f"({name})" in err, (rc, err))
    else:
        check(f"{what}: guise", rc == 0 and want_out(out), (rc, out[:200], err))
    if curl and CURL:
        crc, cout, cerr, _ = run(CURL, args)
        if name:
            check(f"{what}: curl exits {curl_code}", crc == curl_code, (crc, cerr))
        else:
            check(f"{what}: curl the same", crc == 0 and want_out(cout), (crc, cout[:200], cerr))


def main():
    v4 = where_server(socket.AF_INET, "127.0.0.1")
    port = v4.getsockname()[1]
    v6 = where_server(socket.AF_INET6, "::1", port)
    held = []
    try:
        url = f"http://both.test:{port}/"
        res = ["--resolve", f"both.test:{port}:127.0.0.1,[::1]"]
        both("-4, a name of both versions", ["-4"] + res + [url], lambda o: o.startswith(b"127.0.0.1 "))
        both("-6, a name of both versions", ["-6"] + res + [url], lambda o: o.startswith(b"::1 "))
        both("--ipv6, a name of both versions", ["--ipv6"] + res + [url], lambda o: o.startswith(b"::1 "))
        both("-6, a name of IPv4 only", ["-6", "--resolve", f"v4.test:{port}:127.0.0.1", f"http://v4.test:{port}/"],
             name="DNS_NOT_FOUND", curl_code=6)
        both("-6, an IPv4 literal", ["-6", f"http://127.0.0.1:{port}/"], name="CONNECT_FAILED", curl_code=7)

        both("--interface 127.0.0.2", ["--interface", "127.0.0.2", f"http://127.0.0.1:{port}/"],
             lambda o: o.startswith(b"127.0.0.2 "))
        both("--interface lo", ["--interface", "lo", f"http://127.0.0.1:{port}/"],
             lambda o: o.startswith(b"127.0.0.1 "))
        both("--interface with no such interface", ["--interface", "nosuch0", f"http://127.0.0.1:{port}/"],
             name="CONNECT_BIND_FAILED", curl_code=45)
        # curl tries the bind, fails it and reports the connect (7); guise names the bind.
        rc, out, err, _ = run(GUISE, ["--interface", "127.0.0.2", f"http://[::1]:{port}/"])
        check("--interface IPv4 address to an IPv6 server: CONNECT_BIND_FAILED, naming both versions",
              rc != 0 and "(CONNECT_BIND_FAILED)" in err and "IPv4" in err and "IPv6" in err, (rc, err))

        # Local ports: a range of free ones; then another range, every port of it taken.
        lo, socks = hold_range(41000)
        for t in socks:
            t.close()
        rng = f"{lo}-{lo + 3}"
        both(f"--local-port {rng}", ["--local-port", rng, f"http://127.0.0.1:{port}/"],
             lambda o: o.startswith(b"127.0.0.1 ") and lo <= int(o.split()[1]) <= lo + 3)
        lo, held = hold_range(lo + 1000)
        rng = f"{lo}-{lo + 3}"
        both(f"--local-port {rng}, every port taken", ["--local-port", rng, f"http://127.0.0.1:{port}/"],
             name="CONNECT_BIND_FAILED", curl_code=45)
        for args in (["--local-port", "0"], ["--local-port", "5-4"], ["--local-port", "70000"],
                     ["--interface", "a" * 20], ["--limit-rate", "0"], ["--limit-rate", "1x"]):
            rc, out, err, _ = run(GUISE, args + [f"http://127.0.0.1:{port}/"])
            check(f"{' '.join(args)} refused (exit 2), naming the option", rc == 2 and args[0] in err, (rc, err))

        # Receive pacing: 2 MiB at 500k (512,000 bytes a second) is about 4.1 s;
        # the first quarter second of the rate may come at once.
        rc, out, err, secs = run(GUISE, ["--limit-rate", "500k", f"http://127.0.0.1:{port}/big"], timeout=60)
        check("--limit-rate 500k: 2 MiB arrive whole", rc == 0 and hashlib.sha256(out).digest() ==
              hashlib.sha256(BIG).digest(), (rc, len(out), err))
        check(f"--limit-rate 500k: 2 MiB take at least 3.5 s ({secs:.2f} s)", 3.5 <= secs < 15, secs)
        rc, out, err, secs = run(GUISE, [f"http://127.0.0.1:{port}/big"])
        check(f"without --limit-rate: the same in under 2 s ({secs:.2f} s)", rc == 0 and out == BIG and secs < 2, secs)
        tls_options()
    finally:
        for s in [v4, v6] + held:
            s.close()
    finish()


def seen(args, port, tool=None):
    """What guise echo saw of a request: (exit status, its tls part or None, stderr)."""
    rc, out, err, _ = run(tool or GUISE, ["-k"] + args + [f"https://127.0.0.1:{port}/"])
    try:
        return rc, json.loads(out)["tls"], err
    except (ValueError, KeyError):
        return rc, None, err


def tls_options():
    echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = int(echo.stdout.readline().split()[1].rsplit(":", 1)[1])
        fp = lambda t: t and {k: t["fingerprints"][k] for k in ("ja4", "ja3n", "peetprint")}  # noqa: E731
        _, plain, _ = seen(["--profile", "chrome-150"], port)
        # chrome-150 offers TLS 1.2 and 1.3: these leave its hello as it is.
        for args in (["--tlsv1.2"], ["--tlsv1"], ["--tlsv1.0"], ["--tls-max", "1.3"], ["--tls-max", "default"],
                     ["--tlsv1.2", "--tls-max", "1.3"]):
            rc, t, err = seen(["--profile", "chrome-150"] + args, port)
            check(f"chrome-150 {' '.join(args)}: taken, the hello unchanged", rc == 0 and fp(t) == fp(plain),
                  (rc, fp(t), fp(plain), err))
        for args, opt in ((["--tlsv1.3"], "--tlsv1.3"), (["--tls-max", "1.2"], "--tls-max 1.2"),
                          (["--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"], "--ciphers"), (["--curves", "X25519"], "--curves"),
                          (["--tls13-ciphers", "TLS_AES_128_GCM_SHA256"], "--tls13-ciphers")):
            rc, t, err = seen(["--profile", "chrome-150"] + args, port)
            words = [opt] + (["chrome-150"] if opt != "--tls13-ciphers" else [])
            check(f"chrome-150 {' '.join(args)}: refused (exit 2) naming the option and the profile",
                  rc == 2 and t is None and all(w in err for w in words), (rc, err))
        rc, t, err = seen(["--tlsv1.3", "--tls-max", "1.2", "--profile", "none"], port)
        check("--tlsv1.3 with --tls-max 1.2: refused, no version left", rc == 2 and "no version left" in err, (rc, err))
        # Without a profile they are applied.
        for args, version in ((["--tls-max", "1.2"], "TLSv1.2"), (["--tlsv1.3"], "TLSv1.3")):
            rc, t, err = seen(["--profile", "none"] + args, port)
            check(f"--profile none {' '.join(args)}: the echo negotiated {version}",
                  rc == 0 and t and t["negotiated"]["version"] == version, (rc, t and t["negotiated"], err))
            if CURL:
                crc, ct, cerr = seen(args, port, CURL)
                check(f"curl {' '.join(args)}: {version} too", crc == 0 and ct and ct["negotiated"]["version"] == version,
                      (crc, ct and ct["negotiated"], cerr))
        rc, t, err = seen(["--profile", "none", "--tlsv1.3"], port)
        check("--profile none --tlsv1.3: the hello offers no TLS 1.2 suite",
              rc == 0 and t and t["fingerprints"]["ja3"].split(",")[1] == "4865-4866-4867", (rc, t and t["fingerprints"]))
        rc, t, err = seen(["--profile", "none", "--tls-max", "1.2", "--ciphers",
                           "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"], port)
        check("--profile none --ciphers A:B: the hello offers those two (49195, 49199)",
              rc == 0 and t and t["fingerprints"]["ja3"].split(",")[1] == "49195-49199", (rc, t and t["fingerprints"]))
        rc, t, err = seen(["--profile", "none", "--curves", "P-256"], port)
        check("--profile none --curves P-256: the hello offers that group alone (23), and it is used",
              rc == 0 and t and t["fingerprints"]["ja3"].split(",")[3] == "23" and t["negotiated"]["group"] == "P-256",
              (rc, t and t["fingerprints"], t and t["negotiated"]))
        rc, t, err = seen(["--profile", "none", "--ciphers", "NO-SUCH-CIPHER"], port)
        check("--profile none --ciphers with an unknown suite: refused", rc != 0 and t is None, (rc, err))
    finally:
        echo.send_signal(signal.SIGTERM)
        try:
            echo.wait(10)
        except subprocess.TimeoutExpired:
            echo.kill()


main()

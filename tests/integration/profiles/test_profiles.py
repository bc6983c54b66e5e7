#!/usr/bin/env python3
"""Every built-in profile, sent by the guise command to guise echo, must show the
fingerprints its real browser was recorded with (the profile's "expected" block,
from browsers.json captures): JA4, JA3N, JA3 (browsers that do not permute
extensions), Akamai HTTP/2, peetprint; and the navigation headers in the
profile's order. A -H header replaces the profile's in place.

Profiles made from a JA3 and an Akamai string (guise profile import --ja3
--akamai) must replay the strings of the real browser they were taken from, and
with that browser's signature algorithms its JA4 too.

usage: test_profiles.py GUISE DATA_DIR   (DATA_DIR: tests/data of the repository)
"""
import json
import os
import subprocess
import tempfile
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)

GUISE = sys.argv[1]
DATA = sys.argv[2]
for _need in ("browsers.json", "vectors/clienthello/foxio_tls-handshake_s0_chrome.hex",
              "vectors/h2/nghttp1.52_and_curl_h2c_port18445.pcap"):
    if not os.access(os.path.join(DATA, _need), os.R_OK):
        raise SystemExit(f"FAIL: test data file {os.path.join(DATA, _need)} is missing or unreadable")
failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {detail}"))
    failures += 0 if cond else 1


echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True)
port = echo.stdout.readline().split()[1].rsplit(":", 1)[1]
try:
    names = [l.split()[0] for l in subprocess.run([GUISE, "profile", "list"], capture_output=True,
                                                   text=True, check=True).stdout.splitlines()]
    check("built-in profiles are listed", len(names) >= 10, names)
    for name in names:
        prof = json.loads(subprocess.run([GUISE, "profile", "show", name], capture_output=True, text=True,
                                         check=True).stdout)
        exp = prof.get("expected", {})
        r = subprocess.run([GUISE, "-k", "--profile", name, f"https://localhost:{port}/"], capture_output=True,
                           timeout=30)
        if r.returncode != 0:
            check(f"{name}: request", False, r.stderr.decode())
            continue
        doc = json.loads(r.stdout)
        fp = doc["tls"]["fingerprints"]
        got = {"ja4": fp["ja4"], "ja3n": fp["ja3n"], "ja3": fp["ja3"], "peetprint": fp["peetprint"],
               "akamai": doc["http2"]["akamai"]}
        keys = ["ja4", "ja3n", "akamai", "peetprint"]
        if not prof["tls"].get("permute_extensions"):
            keys.append("ja3")
        # The padding extension (RFC 7685) comes and goes with the hello's length,
        # which depends on the host name: when a profile lists it, the TLS strings
        # are compared without it, and JA4 (a hash over the list) is reported only.
        padded = "padding" in prof["tls"].get("extensions", [])

        def unpad(k, v):
            if k in ("ja3n", "ja3"):
                parts = v.split(",")
                parts[2] = "-".join(x for x in parts[2].split("-") if x != "21")
                return ",".join(parts)
            if k == "peetprint":
                parts = v.split("|")
                parts[-1] = "-".join(x for x in parts[-1].split("-") if x != "21")
                return "|".join(parts)
            return v

        for k in keys:
            if k not in exp:
                continue
            if padded and k == "ja4":
                print(f"note: {name}: ja4 {got[k]} (capture {exp[k]}; padding depends on the host name)")
                continue
            g, w = (unpad(k, got[k]), unpad(k, exp[k])) if padded else (got[k], exp[k])
            check(f"{name}: {k}", g == w, f"got {got[k]} want {exp[k]}")
        want_headers = [h[0] for h in prof["headers"]["navigation"]["h2"]]
        sent = [h[0] for h in doc["request"]["headers"] if not h[0].startswith(":")]
        check(f"{name}: navigation headers in the profile's order", sent == want_headers, f"{sent} vs {want_headers}")
    # -H replaces in place, an empty value removes, a new name is appended.
    r = subprocess.run([GUISE, "-k", "--profile", "chrome-150", "-H", "User-Agent: guise-test", "-H", "priority:",
                        "-H", "X-Extra: 1", f"https://localhost:{port}/"], capture_output=True, timeout=30)
    hs = json.loads(r.stdout)["request"]["headers"]
    names_sent = [h[0] for h in hs]
    check("-H replaces the profile's user-agent in place",
          ["user-agent", "guise-test"] in hs and names_sent.index("user-agent") == 8, hs)
    check("-H 'priority:' removes it, X-Extra appended last",
          "priority" not in names_sent and names_sent[-1] == "x-extra", names_sent)
    # guise profile check: the self-test against a local guise echo.
    # edge-120's capture has padding, which comes and goes with the hello length:
    # profile check recomputes JA4 with padding toggled instead of failing.
    r = subprocess.run([GUISE, "profile", "check", "edge-120"], capture_output=True, text=True, timeout=60)
    check("profile check edge-120: padding differences are not failures, exit 0",
          r.returncode == 0 and "all recorded fingerprints match" in r.stdout, r.stdout[-600:])
    r = subprocess.run([GUISE, "profile", "check", "firefox-144"], capture_output=True, text=True, timeout=60)
    check("profile check firefox-144: every recorded fingerprint matches, exit 0",
          r.returncode == 0 and "all recorded fingerprints match" in r.stdout, r.stdout[-300:])
    prof = json.loads(subprocess.run([GUISE, "profile", "show", "firefox-144"], capture_output=True, text=True).stdout)
    prof["expected"]["ja4"] = "t13d0000h2_000000000000_000000000000"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(prof, f)
    r = subprocess.run([GUISE, "profile", "check", f.name], capture_output=True, text=True, timeout=60)
    os.unlink(f.name)
    check("profile check with a wrong expected JA4: DIFFERENT, exit 1",
          r.returncode == 1 and "DIFFERENT" in r.stdout, r.stdout[-300:])
    # JA3 + Akamai strings of real browsers -> profile -> the same strings on the wire.
    if DATA:
        with open(os.path.join(DATA, "browsers.json")) as f:
            ref = {b["id"]: b for b in json.load(f)["browsers"]}
        for rid, chromium in (("firefox_144.0.0_linux", False), ("chrome_142.0.7444.176", True)):
            b = ref[rid]
            fpc = b["fingerprints_computed"]
            det = {e.get("type"): e for e in b["tls"]["extensions_detail"]}
            hexes = lambda xs: json.dumps([x if x == "GREASE" else "0x%04x" % x for x in xs])
            args = [GUISE, "profile", "import", "--ja3", fpc["ja3_text"], "--akamai", fpc["akamai_text"],
                    "from-strings", "--sigalgs", hexes(det["signature_algorithms"]["sig_hash_algs"]),
                    "--key-shares", hexes([k["group"] for k in det["keyshare"]["key_shares"]])]
            if chromium:
                args += ["--grease", "--permute"]
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                pass
            r = subprocess.run(args + ["-o", f.name], capture_output=True, text=True)
            check(f"{rid}: import --ja3 --akamai exits 0", r.returncode == 0, r.stderr)
            r = subprocess.run([GUISE, "-k", "--profile", f.name, f"https://localhost:{port}/"],
                               capture_output=True, timeout=30)
            os.unlink(f.name)
            if r.returncode != 0:
                check(f"{rid}: request with the imported profile", False, r.stderr.decode())
                continue
            doc = json.loads(r.stdout)
            fp = doc["tls"]["fingerprints"]
            want = {"ja4": fpc["ja4"], "ja3n": fpc["ja3n_text"], "akamai": fpc["akamai_text"]}
            got = {"ja4": fp["ja4"], "ja3n": fp["ja3n"], "akamai": doc["http2"]["akamai"]}
            if not chromium:
                want["ja3"], got["ja3"] = fpc["ja3_text"], fp["ja3"]
            for k in want:
                check(f"{rid}: from strings, {k}", got[k] == want[k], f"got {got[k]} want {want[k]}")
    # A real Chrome ClientHello (FoxIO's tls-handshake.pcapng, as a hex dump) with
    # Chrome's Akamai string -> profile -> the same fingerprints as tshark and the
    # JA4 reference implementation computed from the capture.
    if DATA:
        vec = os.path.join(DATA, "vectors", "clienthello")
        with open(os.path.join(vec, "foxio_tls-handshake_s0_chrome.expected.json")) as f:
            want_fp = json.load(f)
        akamai = ref["chrome_142.0.7444.176"]["fingerprints_computed"]["akamai_text"]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            pass
        r = subprocess.run([GUISE, "profile", "import", "--capture",
                            os.path.join(vec, "foxio_tls-handshake_s0_chrome.hex"), "chrome-from-capture",
                            "--akamai", akamai, "-o", f.name], capture_output=True, text=True)
        check("import --capture of a Chrome ClientHello exits 0", r.returncode == 0, r.stderr)
        r = subprocess.run([GUISE, "-k", "--profile", f.name, f"https://localhost:{port}/"],
                           capture_output=True, timeout=30)
        os.unlink(f.name)
        if r.returncode != 0:
            check("request with the profile from the capture", False, r.stderr.decode())
        else:
            doc = json.loads(r.stdout)
            fp = doc["tls"]["fingerprints"]
            ri = want_fp["reference_impl"]
            for k, got, want in (("ja4 (tshark)", fp["ja4"], want_fp["tshark_4.4.19"]["ja4"]),
                                 ("ja3 (tshark)", fp["ja3"], want_fp["tshark_4.4.19"]["ja3_full"]),
                                 ("ja4_o", fp.get("ja4_o"), ri["ja4_o"]),
                                 ("peetprint", fp["peetprint"], ri["peetprint"]),
                                 ("akamai", doc["http2"]["akamai"], akamai)):
                check(f"from the capture: {k}", got == want, f"got {got} want {want}")
        r = subprocess.run([GUISE, "profile", "import", "--capture", os.path.join(vec, "foxio_tls-handshake_s0_chrome.hex"),
                            "x"], capture_output=True, text=True)
        check("import --capture of a TLS hello without --akamai: exit 2 asking for it",
              r.returncode == 2 and "--akamai" in r.stderr, r.stderr)
        r = subprocess.run([GUISE, "profile", "import",
                            os.path.join(DATA, "vectors", "h2", "nghttp1.52_and_curl_h2c_port18445.pcap"),
                            "x"], capture_output=True, text=True)
        check("import of a pcap without a ClientHello: exit 2 saying so",
              r.returncode == 2 and "no TLS ClientHello" in r.stderr, r.stderr)
    # A capture of a visit to guise echo plus the echo's log of the same visit:
    # ClientHello from the capture (here a hex dump of the hello's records, which
    # is what guise fp reads besides pcap), HTTP/2 from the log record with the
    # same client random. The visitor is guise with firefox-144; the imported
    # profile must replay to firefox-144's recorded fingerprints and headers.
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "echo.log")
        e2 = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0", "--log", log], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
        p2 = e2.stdout.readline().split()[1].rsplit(":", 1)[1]
        for _ in range(2):  # two visits: the importer must pick the one with the capture's random
            subprocess.run([GUISE, "-k", "--profile", "firefox-144", "-o", os.devnull, f"https://localhost:{p2}/"],
                           capture_output=True, timeout=30)
        e2.terminate()
        e2.wait(timeout=10)
        recs = [json.loads(l) for l in open(log)]
        hexfile = os.path.join(tmp, "hello.hex")
        with open(hexfile, "w") as f:
            f.write(recs[-1]["tls"]["client_hello"]["raw"] + "\n")
        out = os.path.join(tmp, "p.json")
        r = subprocess.run([GUISE, "profile", "import", "--capture", hexfile, "ff-cap", "--echo-log", log, "-o", out],
                           capture_output=True, text=True)
        check("import --capture with --echo-log exits 0", r.returncode == 0, r.stderr)
        r = subprocess.run([GUISE, "-k", "--profile", out, f"https://localhost:{port}/"], capture_output=True,
                           timeout=30)
        ff = json.loads(subprocess.run([GUISE, "profile", "show", "firefox-144"], capture_output=True,
                                       text=True).stdout)
        if r.returncode != 0:
            check("request with the profile from capture + echo log", False, r.stderr.decode())
        else:
            doc = json.loads(r.stdout)
            fp = doc["tls"]["fingerprints"]
            for k, got in (("ja4", fp["ja4"]), ("ja3", fp["ja3"]), ("akamai", doc["http2"]["akamai"])):
                check(f"capture + echo log: {k} is firefox-144's", got == ff["expected"][k],
                      f"got {got} want {ff['expected'][k]}")
            sent = [h for h in doc["request"]["headers"] if not h[0].startswith(":")]
            want = [[n, v] for n, v in ff["headers"]["navigation"]["h2"]]
            check("capture + echo log: the navigation headers of the visit", sent == want, f"{sent} vs {want}")
        r = subprocess.run([GUISE, "profile", "import", "--capture", hexfile, "x", "--echo-log", hexfile],
                           capture_output=True, text=True)
        check("--echo-log without the capture's connection: exit 2 saying so",
              r.returncode == 2 and "client random" in r.stderr, r.stderr)
    # A real Chrome 123 as tls.peet.ws reported it -> profile -> the same peetprint,
    # Akamai, JA3N (its JA3 with the extensions sorted) and JA4 a/b parts. The
    # dump's JA4 hash counts a padding extension that its list leaves out, so the
    # third part of JA4 is not comparable (docs/CLI.md).
    vec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors", "tlspeet_chrome123_windows.json")
    with open(vec) as f:
        peet = json.load(f)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        pass
    r = subprocess.run([GUISE, "profile", "import", vec, "chrome-123-peet", "--permute", "-o", f.name],
                       capture_output=True, text=True)
    check("import of a tls.peet.ws dump exits 0", r.returncode == 0, r.stderr)
    r = subprocess.run([GUISE, "-k", "--profile", f.name, f"https://localhost:{port}/"], capture_output=True,
                       timeout=30)
    os.unlink(f.name)
    if r.returncode != 0:
        check("request with the profile from tls.peet.ws", False, r.stderr.decode())
    else:
        doc = json.loads(r.stdout)
        fp = doc["tls"]["fingerprints"]
        j = peet["tls"]["ja3"].split(",")
        j[2] = "-".join(sorted(j[2].split("-"), key=int))
        for k, got, want in (("peetprint", fp["peetprint"], peet["tls"]["peetprint"]),
                             ("akamai", doc["http2"]["akamai"],
                              peet["http2"]["akamai_fingerprint"].replace(",", ";", 3)),
                             ("ja3n", fp["ja3n"], ",".join(j)),
                             ("ja4 a_b", fp["ja4"].rsplit("_", 1)[0], peet["tls"]["ja4"].rsplit("_", 1)[0])):
            check(f"from tls.peet.ws: {k}", got == want, f"got {got} want {want}")
        hs = doc["request"]["headers"]
        want_names = [l.split(": ", 1)[0] for l in peet["http2"]["sent_frames"][2]["headers"]]
        check("from tls.peet.ws: header order", [h[0] for h in hs] == want_names, f"{hs} vs {want_names}")
    r = subprocess.run([GUISE, "profile", "import", "--ja3", "771,4865,0-99999,29,0", "--akamai", "1:1|0|0|m,a,s,p",
                        "x"], capture_output=True, text=True)
    check("import --ja3 with a code point over 65535: exit 2 naming JA3",
          r.returncode == 2 and "JA3" in r.stderr, r.stderr)
    r = subprocess.run([GUISE, "profile", "import", "--ja3", "771,4865,0,29,0", "--akamai", "1:1|0|0|m,a,s,p",
                        "x", "--sigalgs", "[\"no_such_alg\"]"], capture_output=True, text=True)
    check("import with an unknown signature algorithm: exit 2 naming it",
          r.returncode == 2 and "no_such_alg" in r.stderr, r.stderr)
    r = subprocess.run([GUISE, "--profile", "no-such-browser", "https://localhost:1/"], capture_output=True)
    check("unknown profile: exit 3 and a message", r.returncode == 3 and b"no built-in profile" in r.stderr, r.stderr)
finally:
    echo.terminate()
    echo.wait(timeout=10)
print(f"{'FAIL' if failures else 'PASS'}: {failures} failure(s)")
sys.exit(1 if failures else 0)

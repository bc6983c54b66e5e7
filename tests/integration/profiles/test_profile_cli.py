#!/usr/bin/env python3
"""guise profile: options anywhere on the line, coherence warnings, and the request
headers of a JA3 + Akamai import.

- `profile import --capture HEX --echo-log LOG NAME` (options before NAME; it failed
  with 'unexpected "LOG"'), the same with the options after NAME, `--opt=value`, and
  `-o OUT` before `--browsers-json`: each gives the same profile; an unknown option is
  named (exit 2).
- `profile check FILE` on hand-made incoherent profiles (tests/data/profiles_incoherent)
  prints a warning on stderr naming the profile and the two fields; on shipped
  profiles it prints none.
- `profile import --ja3 J --akamai A NAME` with the strings of real browsers
  (tests/data/browsers.json: chrome_124.0.6367.60, firefox_144.0.0_linux): the profile
  sends a user-agent and the rest of the navigation of the shipped profile of that
  browser (chrome-124: the only shipped hello with X25519Kyber768Draft00, Chrome
  124's group; a Firefox one for Firefox's hello), says so in its source and on
  stderr; before, it had no request headers at all. So does a --capture import with
  --akamai instead of the visit's echo log.

    test_profile_cli.py GUISE PROFILES_DIR DATA_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

GUISE, PROFILES, DATA = sys.argv[1], sys.argv[2], sys.argv[3]


def guise(*args, timeout=60):
    return subprocess.run([GUISE, *args], capture_output=True, text=True, timeout=timeout)


def nav(profile_json):
    return {n.lower(): v for n, v in profile_json["headers"]["navigation"]["h2"]}


tmp = tempfile.mkdtemp(prefix="guise-profile-cli-")
echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0", "--log", f"{tmp}/echo.log"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    port = echo.stdout.readline().split()[1].rsplit(":", 1)[1]
    r = guise("-k", "--profile", "chrome-150", f"https://localhost:{port}/")
    check("a request to guise echo for the log", r.returncode == 0, r.stderr)
finally:
    echo.terminate()
    try:
        echo.wait(timeout=10)
    except subprocess.TimeoutExpired:
        echo.kill()
try:
    # The ClientHello of the logged visit as a hex dump: --capture and --echo-log of
    # the same visit.
    with open(f"{tmp}/echo.log") as f:
        rec = json.loads(f.readline())
    with open(f"{tmp}/hello.hex", "w") as f:
        f.write(rec["tls"]["client_hello"]["raw"] + "\n")
    hexf, log = f"{tmp}/hello.hex", f"{tmp}/echo.log"

    # 1. Options anywhere.
    runs = {
        "options before NAME": ["profile", "import", "--capture", hexf, "--echo-log", log, "cap", "-o", f"{tmp}/a.json"],
        "options after NAME": ["profile", "import", "--capture", hexf, "cap", "--echo-log", log, "-o", f"{tmp}/b.json"],
        "--opt=value and -o first": ["profile", "-o", f"{tmp}/c.json", "import", f"--capture={hexf}",
                                     f"--echo-log={log}", "cap"],
    }
    texts = {}
    for what, args in runs.items():
        r = guise(*args)
        check(f"import --capture --echo-log, {what}: exit 0", r.returncode == 0, r.stderr)
        out = args[args.index("-o") + 1] if "-o" in args else None
        texts[what] = open(out).read() if r.returncode == 0 else None
    check("the three spellings give the same profile", len(set(texts.values())) == 1 and None not in texts.values(),
          list(texts))
    ref = os.path.join(DATA, "browsers.json")
    r1 = guise("profile", "import", "--browsers-json", ref, "chrome_124.0.6367.60", "x", "-o", f"{tmp}/d.json")
    r2 = guise("profile", "import", "-o", f"{tmp}/e.json", "--browsers-json", ref, "chrome_124.0.6367.60", "x")
    check("import --browsers-json with -o first or last: the same file",
          r1.returncode == 0 and r2.returncode == 0 and open(f"{tmp}/d.json").read() == open(f"{tmp}/e.json").read(),
          (r1.stderr, r2.stderr))
    r = guise("profile", "import", "--capture", hexf, "--bogus", "x", "cap")
    check("an unknown option is named, exit 2", r.returncode == 2 and '"--bogus"' in r.stderr, r.stderr)
    r = guise("profile", "import", "--capture", hexf, "cap", "--echo-log")
    check("an option without its value is named, exit 2",
          r.returncode == 2 and "--echo-log needs a value" in r.stderr, r.stderr)

    # 2. Coherence warnings through profile check.
    bad = {"windows-ua-linux-platform": ("user-agent", "sec-ch-ua-platform"),
           "chrome150-ua-chrome124-hello": ("user-agent", "tls.supported_groups"),
           "firefox-with-sec-ch-ua": ("user-agent", "sec-ch-ua"),
           "no-user-agent": ("no user-agent",)}
    for name, words in bad.items():
        r = guise("profile", "check", os.path.join(DATA, "profiles_incoherent", name + ".json"))
        warn = [l for l in r.stderr.splitlines() if "warning:" in l and f'"incoherent-{name}"' in l]
        check(f"profile check {name}: a warning naming the profile and {' and '.join(words)}",
              any(all(w in l for w in words) for l in warn), r.stderr)
        check(f"profile check {name}: warnings do not fail the check (exit 0)", r.returncode == 0, r.returncode)
    for name in ("chrome-131", "firefox-144", "safari-ios-26"):
        r = guise("profile", "check", name)
        check(f"profile check {name}: no warning", r.returncode == 0 and "warning" not in r.stderr, r.stderr)

    # 3. JA3 + Akamai imports take their headers from the nearest shipped profile.
    with open(ref) as f:
        recs = {b["id"]: b for b in json.load(f)["browsers"]}
    with open(os.path.join(PROFILES, "chrome-124.json")) as f:
        chrome124 = nav(json.load(f))
    for rid, extra in (("chrome_124.0.6367.60", ["--grease", "--permute"]), ("firefox_144.0.0_linux", [])):
        fpc = recs[rid]["fingerprints_computed"]
        out = f"{tmp}/{rid}.json"
        r = guise("profile", "import", "--ja3", fpc["ja3_text"], "--akamai", fpc["akamai_text"], "imp", *extra,
                  "-o", out)
        check(f"{rid}: import --ja3 --akamai exits 0", r.returncode == 0, r.stderr)
        if r.returncode != 0:
            continue
        with open(out) as f:
            pj = json.load(f)
        h = nav(pj)
        if rid.startswith("chrome"):
            check(f"{rid}: the navigation of chrome-124 (user-agent, sec-ch-ua, accept)",
                  all(h.get(k) == chrome124[k] for k in ("user-agent", "sec-ch-ua", "accept")), h)
            check(f"{rid}: stderr and source name chrome-124",
                  "request headers and kinds from chrome-124" in r.stderr
                  and "request headers and kinds from chrome-124" in pj["source"], (r.stderr, pj["source"]))
        else:
            check(f"{rid}: a Firefox user-agent and no sec-ch-ua",
                  "Firefox/" in h.get("user-agent", "") and not any(k.startswith("sec-ch-ua") for k in h), h)
            check(f"{rid}: stderr names a Firefox profile", "request headers and kinds from firefox-" in r.stderr,
                  r.stderr)
        r = guise("profile", "check", out)
        check(f"{rid}: profile check of the import: no coherence warning", "warning" not in r.stderr, r.stderr)
    # A capture without its echo log (an Akamai string for HTTP/2) had no request
    # headers either: the hello guise sent with chrome-150 takes chrome-150's.
    with open(os.path.join(PROFILES, "chrome-150.json")) as f:
        c150 = json.load(f)
    r = guise("profile", "import", "--capture", hexf, "capak", "--akamai", c150["expected"]["akamai"],
              "-o", f"{tmp}/capak.json")
    ok = r.returncode == 0
    h = nav(json.load(open(f"{tmp}/capak.json"))) if ok else {}
    check("import --capture --akamai: chrome-150's navigation, named on stderr",
          ok and h.get("user-agent") == nav(c150)["user-agent"]
          and "request headers and kinds from chrome-150" in r.stderr, (r.returncode, r.stderr, h))
finally:
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
finish()

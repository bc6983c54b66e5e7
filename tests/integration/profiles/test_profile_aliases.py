#!/usr/bin/env python3
"""Profile aliases: chrome, firefox, safari, edge, chrome-android, safari-ios.

Each alias names the shipped profile of that browser with the highest version in
its name. The expected target is computed here from the files of profiles/ (not
from guise): a name is ALIAS-VERSION or ALIAS-VERSION-PLATFORM, VERSION digits
and dots (firefox also takes firefox-esr-VERSION...), compared part by part as
numbers. Checks:
- guise --profile ALIAS against guise echo gives the same TLS and HTTP/2
  fingerprints and header order as --profile TARGET (JA4, JA3N, Akamai, the
  HTTP/2 header names);
- a batch job with "profile": "chrome" runs and its record names the alias;
- guise profile show ALIAS prints TARGET's file;
- guise profile list marks TARGET with "alias ALIAS", one profile a line, name first;
- an unknown name (opera, chromium) fails as before: exit 3 and
  'no built-in profile "NAME" (guise profile list)' (profile_resolve's message
  for a name that is neither a built-in profile nor a file, unchanged; before
  aliases "chrome" got it too).

usage: test_profile_aliases.py GUISE PROFILES_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile

GUISE, PROFILES = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

ALIASES = ["chrome", "firefox", "safari", "edge", "chrome-android", "safari-ios"]


def newest(alias, names):
    best = None
    for n in names:
        m = re.fullmatch(re.escape(alias) + (r"-(?:esr-)?" if alias == "firefox" else "-") +
                         r"([0-9][0-9.]*)(?:-.*)?", n)
        if m:
            v = [int(x) for x in m.group(1).split(".") if x]
            if best is None or v > best[0]:
                best = (v, n)
    return best[1] if best else None


names = sorted(f[:-5] for f in os.listdir(PROFILES) if f.endswith(".json"))
want = {a: newest(a, names) for a in ALIASES}
print("expected targets:", want)
check("every alias has a shipped profile", all(want.values()), want)
check("the rule picks chrome-150 over chrome-99-style names and not chrome-android-143 or chromium",
      want["chrome"] == "chrome-150", want)

echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True)
try:
    port = echo.stdout.readline().split()[1].rsplit(":", 1)[1]

    def seen(profile):
        r = subprocess.run([GUISE, "-k", "--profile", profile, f"https://localhost:{port}/"],
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            return None, r.stderr.decode(errors="replace")
        d = json.loads(r.stdout)
        fp = d["tls"]["fingerprints"]
        # The padding extension (21, RFC 7685) comes and goes with the hello's
        # length from one connection to the next (edge-120 lists it): JA3N
        # without it, and JA4 (its count and hash) only where no padding is sent.
        ja3n = fp["ja3n"].split(",")
        ja3n[2] = "-".join(x for x in ja3n[2].split("-") if x != "21")
        padded = "21" in fp["ja3n"].split(",")[2].split("-")
        return {"ja4": None if padded else fp["ja4"], "ja3n": ",".join(ja3n), "akamai": d["http2"]["akamai"],
                "headers": [h[0] if isinstance(h, list) else h.get("name") for h in d["http2"]["headers"]]}, ""

    for a in ALIASES:
        got, err = seen(a)
        ref, err2 = seen(want[a])
        check(f"--profile {a} works", got is not None, err)
        if got and ref and (got["ja4"] is None or ref["ja4"] is None):
            got["ja4"] = ref["ja4"] = None  # padding on one side: JA4 not comparable
        check(f"--profile {a} looks like --profile {want[a]} to guise echo", got is not None and got == ref,
              (got, ref, err2))

        show = subprocess.run([GUISE, "profile", "show", a], capture_output=True, timeout=30)
        with open(os.path.join(PROFILES, want[a] + ".json"), "rb") as f:
            check(f"profile show {a} prints {want[a]}.json", show.returncode == 0 and show.stdout == f.read(),
                  show.stderr)

    lst = subprocess.run([GUISE, "profile", "list"], capture_output=True, text=True, timeout=30).stdout
    lines = lst.splitlines()
    check("profile list: one line per shipped profile, its name first",
          [l.split()[0] for l in lines] == names, lines)
    for a in ALIASES:
        line = [l for l in lines if l.split()[0] == want[a]]
        check(f"profile list shows alias {a} on {want[a]}'s line",
              len(line) == 1 and re.search(r"[(,] ?alias " + re.escape(a) + r"[,)]", line[0]) is not None, line)

    # A batch job takes the alias like the command.
    with tempfile.TemporaryDirectory() as d:
        jobs = os.path.join(d, "jobs.jsonl")
        with open(jobs, "w") as f:
            f.write(json.dumps({"url": f"https://localhost:{port}/", "profile": "chrome"}) + "\n")
        r = subprocess.run([GUISE, "batch", "-k", jobs], capture_output=True, text=True, timeout=60)
        rec = json.loads(r.stdout.splitlines()[0]) if r.stdout.strip() else {}
        check("batch job with profile chrome: status 200", rec.get("status") == 200, (r.returncode, r.stdout, r.stderr))

    for bad in ("opera", "chromium"):
        r = subprocess.run([GUISE, "--profile", bad, f"https://localhost:{port}/"], capture_output=True, text=True,
                           timeout=30)
        check(f"--profile {bad}: the old error, exit 3",
              r.returncode == 3 and r.stderr == f'guise: no built-in profile "{bad}" (guise profile list)\n',
              (r.returncode, r.stderr))
finally:
    echo.terminate()
    try:
        echo.wait(timeout=10)
    except subprocess.TimeoutExpired:
        echo.kill()
finish()

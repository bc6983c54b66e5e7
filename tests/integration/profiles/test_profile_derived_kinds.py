#!/usr/bin/env python3
"""Derived request kinds (profiles/FORMAT.md, "Derived kinds"): every shipped Chrome,
Edge, Chrome Android, Firefox and Tor profile sends each request kind as the captured
browser of its family sent it (headed Debian chromium 156 / firefox-esr 153,
tests/data/captures/kinds), with its OWN identity.

The expected request of profile P and kind K is built here from two inputs only: the
capture's same-origin record of K and P's navigation list (profiles/P.json,
headers.navigation.h2, which derive-kinds does not write), by the rule FORMAT.md states:
  - the field names of the captured K in order, pseudo-headers and Content-Length aside;
    less a field the captured navigation has and P's navigation lacks (edge-120:
    priority); plus a field only P's navigation has (tor-14.5: sec-gpc), after the
    field it follows there;
  - sec-fetch-dest, sec-fetch-mode, sec-fetch-site, priority: the captured K's;
  - user-agent, sec-ch-ua, sec-ch-ua-mobile, sec-ch-ua-platform, accept-language,
    accept-encoding: P's navigation values;
  - the HEADERS priority: the captured K's when P's http2.headers_priority is the
    captured navigation's; P's own otherwise (firefox-135: none).
guise --profile P --kind K goes to guise echo over HTTP/2 and what echo received must
equal that. The derived profiles name their source in "source"; Safari and OkHttp
profiles still refuse --kind image (no reference capture has a subresource request).

    test_profile_derived_kinds.py GUISE PROFILES_DIR DATA_DIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

GUISE, PROFILES, DATA = sys.argv[1], sys.argv[2], sys.argv[3]

DERIVED = {"chrome-124": "chromium", "chrome-131": "chromium", "chrome-136": "chromium",
           "chrome-142": "chromium", "chrome-150": "chromium", "chrome-android-143": "chromium",
           "edge-120": "chromium", "firefox-135": "firefox-esr", "firefox-144": "firefox-esr",
           "tor-14.5": "firefox-esr"}
SOURCE = {"chromium": "chromium-156-linux", "firefox-esr": "firefox-esr-153-linux"}
NO_KINDS = ["safari-18.4-macos", "safari-26.0.1-macos", "safari-ios-18.4", "safari-ios-26", "okhttp4-android"]
# guise's kind, the capture's name of it (form-post is the navigate-post kind)
KINDS = [("navigate-post", "form-post"), ("fetch-cors", "fetch-cors"), ("fetch-same-origin", "fetch-same-origin"),
         ("fetch-no-cors", "fetch-no-cors"), ("script", "script"), ("style", "style"), ("image", "image"),
         ("font", "font"), ("iframe", "iframe")]
METADATA = ("sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "priority")
IDENTITY = ("user-agent", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", "accept-language",
            "accept-encoding")


def capture(browser):
    out = {}
    with open(os.path.join(DATA, "captures", "kinds", f"{browser}-h2.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if d["target"] in ("same-origin", "none"):
                out.setdefault(d["kind"], d)
    return out


def regular(fields):
    return [(n.lower(), v) for n, v in fields if not n.startswith(":") and n.lower() != "content-length"]


def prio(p):
    return (p["weight"], bool(p["exclusive"]), p.get("depends_on", 0)) if p else None


def expected(rec, cap_nav, nav, own_prio):
    cap_names = {n for n, _ in regular(cap_nav["headers"])}
    nav_map = dict((n.lower(), v) for n, v in nav)
    out = [(n, v) for n, v in regular(rec["headers"]) if not (n in cap_names and n not in nav_map)]
    nav_names = [n.lower() for n, _ in nav]
    for i, n in enumerate(nav_names):
        if n in cap_names:
            continue
        have = [m for m, _ in out]
        at = next((have.index(p) + 1 for p in reversed(nav_names[:i]) if p in have), 0)
        out.insert(at, (n, nav_map[n]))
    values = {k: v for k, v in out if k in METADATA}
    values.update({k: nav_map[k] for k in IDENTITY if k in nav_map})
    same_shape = prio(cap_nav.get("headers_priority")) == prio(own_prio)
    return [n for n, _ in out], values, prio(rec.get("headers_priority")) if same_shape else prio(own_prio)


echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True)
try:
    base = "https://localhost:" + echo.stdout.readline().split()[1].rsplit(":", 1)[1]

    def send(profile, kind, *extra):
        r = subprocess.run([GUISE, "-k", "--http2", "--profile", profile, "--kind", kind, *extra,
                            f"{base}/{kind}"], capture_output=True, timeout=30)
        if r.returncode != 0:
            return None, r
        return json.loads(r.stdout), r

    caps = {b: capture(b) for b in SOURCE}
    for name, browser in sorted(DERIVED.items()):
        with open(os.path.join(PROFILES, name + ".json")) as f:
            pj = json.load(f)
        nav = pj["headers"]["navigation"]["h2"]
        own = pj["http2"].get("headers_priority")
        check(f"{name}: its source says the kinds are derived from {SOURCE[browser]}",
              f"kinds derived from {SOURCE[browser]}" in pj["source"], pj["source"])
        cap = caps[browser]
        for kind, cname in KINDS:
            rec = cap[cname]
            want_names, want_values, want_prio = expected(rec, cap["navigate"], nav, own)
            extra = []
            if any(n.lower() == "referer" for n, _ in rec["headers"]):
                extra += ["-H", f"Referer: {base}/page.html"]
            if rec["method"] == "POST":
                extra += ["-d", "a=1"]
            got, r = send(name, kind, *extra)
            what = f"{name} --kind {kind}"
            check(f"{what}: exit 0", got is not None, r.stderr.decode(errors="replace"))
            if got is None:
                continue
            fields = regular(got["http2"]["headers"])
            names = [n for n, _ in fields]
            have = dict(fields)
            check(f"{what}: field names as {browser}'s {cname}, with the profile's own fields",
                  names == want_names, f"\n  guise:    {names}\n  expected: {want_names}")
            check(f"{what}: fetch metadata as {browser}'s, identity as the profile's navigation",
                  {k: have.get(k) for k in want_values} == want_values,
                  f"\n  guise:    {({k: have.get(k) for k in want_values})}\n  expected: {want_values}")
            hdr = [f for f in got["http2"]["frames"] if f["type"] == "HEADERS"]
            p = hdr[-1].get("priority") if hdr else None
            check(f"{what}: HEADERS priority {want_prio}", prio(p) == want_prio, p)

    for name in NO_KINDS:
        got, r = send(name, "image")
        err = r.stderr.decode(errors="replace")
        check(f"{name} --kind image: refused (no capture), exit 2",
              got is None and r.returncode == 2 and 'has no request kind "image"' in err, (r.returncode, err))
finally:
    echo.terminate()
    try:
        echo.wait(timeout=10)
    except subprocess.TimeoutExpired:
        echo.kill()
finish()

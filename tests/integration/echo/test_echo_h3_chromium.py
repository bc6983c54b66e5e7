#!/usr/bin/env python3
"""Chromium completes an HTTP/3 navigation against guise echo.

usage: test_echo_h3_chromium.py GUISE DATA_DIR

Debian's chromium, headless, is sent to https://localhost:PORT/ with --enable-quic
--origin-to-force-quic-on=localhost:PORT, localhost mapped to 127.0.0.1 and echo's leaf
(made here with openssl) accepted by --ignore-certificate-errors-spki-list, as
tools/profiles/capture-quic does. Expected values come from the captures of the same
browser in tests/data/captures/quic, not from echo:

- the page chromium shows is echo's answer: http_version "3", ALPN h3, and the JA4
  (q prefix) that `guise fp` computes from chromium's captured Initial packets
  (chromium-ipv4-1.pcap: decrypted by guise fp's own QUIC Initial reader);
- the navigation's header names are in the order of the GET / in chromium-h3-1.jsonl
  and chromium-h3-2.jsonl (both runs agree), with priority "u=0, i";
- echo's log record of the connection has http_version "3", the same JA4, and the
  SETTINGS of those captures: the same ids in the same order with the same values,
  and one GREASE setting (id 0x1f * N + 0x21) last; the control stream starts with
  SETTINGS.
"""
import html
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib as T  # noqa: E402

GUISE, DATA = sys.argv[1], sys.argv[2]
QUIC = os.path.join(DATA, "captures", "quic")


def is_grease(v):
    return v >= 0x21 and (v - 0x21) % 0x1f == 0


def make_leaf(tmp):
    key, pem = os.path.join(tmp, "leaf.key"), os.path.join(tmp, "leaf.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", pem, "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    pub = subprocess.run(["openssl", "x509", "-in", pem, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True).stdout
    import base64
    import hashlib
    return pem, key, base64.b64encode(hashlib.sha256(der).digest()).decode()


def captured():
    """Chromium's GET / and SETTINGS from the capture-quic --server logs."""
    navs, settings = [], []
    for run in (1, 2):
        with open(os.path.join(QUIC, f"chromium-h3-{run}.jsonl")) as f:
            for line in f:
                c = json.loads(line)
                for r in c["requests"]:
                    if dict(r["headers"]).get(":path") == "/":
                        navs.append(r)
                        settings.append(c["settings"])
    return navs, settings


def main():
    fp = subprocess.run([GUISE, "fp", os.path.join(QUIC, "chromium-ipv4-1.pcap")],
                        capture_output=True, text=True, timeout=30)
    docs = [json.loads(x) for x in fp.stdout.splitlines() if x.strip().startswith("{")]
    # The expected JA4 is tshark's decode of a real Chromium 156 QUIC hello, hashed by the
    # rules of FINGERPRINTS.md in Python (tests/data/quic/chromium156_quic_localhost
    # .expected.json, "Not produced by guise"); guise fp's reading of this capture must agree.
    with open(os.path.join(DATA, "quic", "chromium156_quic_localhost.expected.json")) as f:
        want_ja4 = json.load(f)["ja4"]
    fp_ja4 = next((d["tls"]["fingerprints"]["ja4"] for d in docs if isinstance(d.get("tls"), dict)),
                  None)
    T.check(f"guise fp's JA4 of chromium's captured Initials is tshark's {want_ja4}",
            fp_ja4 == want_ja4, (fp_ja4, fp.stdout[:300]))
    navs, settings = captured()
    want_names = [h[0] for h in navs[0]["headers"]]
    T.check("the captured runs agree on the GET / header order",
            all([h[0] for h in n["headers"]] == want_names for n in navs), navs)
    want_settings = [(s["id"], s["value"]) for s in settings[0] if not s["grease"]]
    T.check("the captured runs agree on SETTINGS (GREASE aside)",
            all([(s["id"], s["value"]) for s in x if not s["grease"]] == want_settings
                for x in settings), settings)

    tmp = tempfile.mkdtemp(prefix="echo-h3-chromium-")
    pem, key, spki = make_leaf(tmp)
    log = os.path.join(tmp, "echo.jsonl")
    echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0", "--cert", pem, "--key", key,
                             "--log", log, "--threads", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    browser = None
    try:
        line = echo.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise SystemExit(f"guise echo did not start: {line} {echo.stderr.read()}")
        port = int(line[1].rsplit(":", 1)[1])
        argv = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--password-store=basic",
                f"--user-data-dir={os.path.join(tmp, 'profile')}", "--enable-quic",
                f"--origin-to-force-quic-on=localhost:{port}",
                "--host-resolver-rules=MAP localhost 127.0.0.1",
                f"--ignore-certificate-errors-spki-list={spki}", "--dump-dom",
                f"https://localhost:{port}/"]
        browser = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
        try:
            dom, err = browser.communicate(timeout=25)
        except subprocess.TimeoutExpired:
            dom, err = b"", b"chromium did not finish within 25 s"
        m = re.search(rb"<pre[^>]*>(.*)</pre>", dom, re.S)
        answer = None
        if m:
            try:
                answer = json.loads(html.unescape(m.group(1).decode()))
            except ValueError:
                pass
        T.check("chromium shows echo's JSON answer", answer is not None,
                (dom[:500], err[-800:]))
        answer = answer or {}
        T.check("the answer came over HTTP/3", answer.get("http_version") == "3",
                answer.get("http_version"))
        tls = answer.get("tls") or {}
        T.check("ALPN h3", (tls.get("negotiated") or {}).get("alpn") == "h3", tls.get("negotiated"))
        got_ja4 = (tls.get("fingerprints") or {}).get("ja4")
        T.check(f"JA4 {got_ja4} equals the capture's {want_ja4}", got_ja4 == want_ja4)
        req = answer.get("request") or {}
        names = [h[0] for h in req.get("headers", [])]
        T.check("the navigation's header order is the captured one", names == want_names,
                (names, want_names))
        T.check("priority u=0, i as captured",
                req.get("priority") == navs[0]["priority"] == "u=0, i", req.get("priority"))
    finally:
        if browser is not None and browser.poll() is None:
            try:
                os.killpg(browser.pid, signal.SIGKILL)
            except OSError:
                pass
            browser.wait()
        echo.terminate()
        try:
            echo.wait(10)
        except subprocess.TimeoutExpired:
            echo.kill()
            echo.wait()
    T.check("echo exits 0 at SIGTERM", echo.returncode == 0, echo.returncode)
    with open(log) as f:
        recs = [json.loads(x) for x in f if x.strip()]
    nav = [r for r in recs if r.get("http_version") == "3" and
           any(dict(q["headers"]).get(":path") == "/" for q in r.get("requests", []))]
    T.check("a log record of the HTTP/3 navigation", len(nav) >= 1, [r.get("error") for r in recs])
    if nav:
        r = nav[0]
        T.check("record JA4 equals the capture's",
                ((r.get("tls") or {}).get("fingerprints") or {}).get("ja4") == want_ja4)
        st = (r.get("http3") or {}).get("settings", [])
        got = [(s["id"], s["value"]) for s in st if not s["grease"]]
        T.check("record SETTINGS: ids, order and values as captured", got == want_settings,
                (got, want_settings))
        T.check("record SETTINGS: one GREASE setting, last, as captured",
                [s["grease"] for s in st] == [s["grease"] for s in settings[0]] and
                all(is_grease(s["id"]) == s["grease"] for s in st), st)
        frames = (r.get("http3") or {}).get("control_frames", [])
        T.check("the control stream starts with SETTINGS", frames[:1] and frames[0]["type"] == 4,
                frames)
    T.finish()


if __name__ == "__main__":
    main()

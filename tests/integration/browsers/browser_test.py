#!/usr/bin/env python3
"""Real browsers against `guise echo`, checked by observers that share no code with it.

    browser_test.py capture   --browser B --work DIR --guise GUISE --visit BROWSER_VISIT
    browser_test.py CHECK     --browser B --work DIR [--data DATA_DIR]

capture runs tools/capture/browser-visit twice for browser B: once against guise echo
(DIR/echo) and once against nghttpd -v (DIR/nghttpd). Each CHECK reads those outputs:

  clienthello  every ClientHello the echo logged equals tshark's decode of capture.pcap for
               the same TCP connection (client port): raw bytes, legacy version, cipher list,
               extension types in order, each extension's offset/length/bytes, the decoded
               lists (supported_versions, groups, sigalgs, ALPN, key_share groups + lengths,
               SNI, ...), and JA3 string + MD5 (tshark's tls.handshake.ja3_full / ja3).
  ja4          the echo's JA4, JA4_r, JA4_o, JA4_ro, JA3N and peetprint equal those computed
               here (ja4_independent.py) from tshark's decoded fields.
  http2        the echo's HTTP/2 view of the navigation connection (SETTINGS in order,
               connection WINDOW_UPDATE, frame order, PRIORITY frames, HEADERS stream / flags /
               priority, pseudo-header order, header names and values in order, Akamai)
               equals what nghttpd -v logged for the same browser in its own visit.
  reference    the stable fingerprints equal those the team saw (REFERENCE below); when the
               installed browser's major version is not the reference's, the differences are
               printed and the test is skipped (exit 77), not failed.

Exit status: 0 pass, 1 fail (each disagreement printed with both values), 77 skipped.
Standard library only; tshark and nghttpd are the independent observers.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ja4_independent  # noqa: E402
import observers  # noqa: E402

SKIP = 77

# Debian chromium 156 and firefox-esr 153 as the team saw them on 2026-11-26 (navigation,
# headless, tools/capture/browser-visit against guise echo on a Debian machine).
REFERENCE = {
    "chromium": {
        "major": 156,
        "ja4": "t13d1517h2_8daaf6152771_cb7bf5808d99",
        "akamai": "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p",
        "headers_priority": {"weight": 256, "exclusive": True},
        "first_stream": 1,
        "extension_count": 17,
        "must_contain_extensions": [0xCA34, 17613],   # 0xca34 and ALPS 17613
        "sigalgs_prefix": ["GREASE", 0x0904, 0x0905, 0x0906],
    },
    "firefox-esr": {
        "major": 153,
        "ja4": "t13d1617h2_86a278354501_3cbfd9057e0d",
        "akamai": "1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s",
        "headers_priority": {"weight": 42, "exclusive": False},
        "first_stream": 3,
    },
}


class Report:
    def __init__(self, title):
        self.title = title
        self.failures = []
        self.checked = 0

    def eq(self, what, echo, other, observer="tshark"):
        self.checked += 1
        if echo != other:
            self.failures.append(f"{what}:\n      echo:    {echo!r}\n      {observer + ':':8} {other!r}")

    def fail(self, msg):
        self.failures.append(msg)

    def finish(self, verdict="FAIL"):
        if self.failures:
            print(f"{verdict} {self.title}: {len(self.failures)} disagreement(s) "
                  f"in {self.checked} comparisons")
            for f in self.failures:
                print("  - " + f)
            return 1
        print(f"ok   {self.title}: {self.checked} comparisons agree")
        return 0


# ---- inputs ------------------------------------------------------------------------------------

def load_meta(d):
    with open(os.path.join(d, "meta.json")) as f:
        return json.load(f)


def load_echo_log(d):
    conns = []
    with open(os.path.join(d, "echo.log")) as f:
        for line in f:
            if line.strip():
                conns.append(json.loads(line))
    return conns


def peer_port(conn):
    return int(conn["peer"].rsplit(":", 1)[1])


def navigation(echo_conns):
    """The echo connection that carried the navigation (GET /)."""
    for c in echo_conns:
        for req in c.get("requests") or []:
            hdrs = dict((n, v) for n, v in req.get("headers", []))
            if hdrs.get(":method") == "GET" and hdrs.get(":path") == "/":
                return c
    return None


def hexs(values):
    return [f"{v:04x}" for v in values]


def echo_ints(values):
    return [int(v, 16) for v in values]


# ---- capture ------------------------------------------------------------------------------------

def cmd_capture(args):
    if os.path.exists(args.work):
        shutil.rmtree(args.work)
    os.makedirs(args.work)
    status = 0
    for server in ("echo", "nghttpd"):
        argv = [sys.executable, args.visit, "--browser", args.browser, "--server", server,
                "--out", os.path.join(args.work, server), "--timeout", str(args.timeout)]
        if server == "echo":
            argv += ["--guise", args.guise]
        print("+ " + " ".join(argv), flush=True)
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=args.timeout + 15)
        except subprocess.TimeoutExpired:
            # browser-visit bounds every wait itself; this is the last resort.
            print(f"FAIL browser-visit ({server}) did not finish in {args.timeout + 15} s")
            return 1
        if r.returncode != 0:
            print(f"FAIL browser-visit ({server}) exited with status {r.returncode}")
            status = 1
    if status == 0:
        m = load_meta(os.path.join(args.work, "echo"))
        print(f"ok   captured {m['version']} against guise echo and nghttpd in {args.work}")
    return status


# ---- (a) ClientHello vs tshark ---------------------------------------------------------------------

def compare_hello(rep, label, conn, th):
    ch = conn["tls"]["client_hello"]
    raw = ch["raw"]
    rep.eq(f"{label} raw ClientHello bytes ({len(raw) // 2} bytes) vs TCP payload",
           raw, th.payload_hex[:len(raw)])
    rep.eq(f"{label} record_version", int(ch["record_version"], 16), th.record_version)
    rep.eq(f"{label} handshake_length", ch["handshake_length"], th.handshake_length)
    rep.eq(f"{label} legacy_version", int(ch["legacy_version"], 16), th.legacy_version)
    rep.eq(f"{label} random", ch["random"], th.random)
    rep.eq(f"{label} session_id", ch["session_id"], th.session_id)
    rep.eq(f"{label} compression_methods", ch["compression_methods"], th.compression_methods)
    rep.eq(f"{label} cipher_suites", ch["cipher_suites"], hexs(th.ciphers))
    exts = ch["extensions"]
    rep.eq(f"{label} extension types in order", [e["type"] for e in exts],
           [e["type"] for e in th.extensions])
    for e, t in zip(exts, th.extensions):
        if e["type"] != t["type"]:
            break
        name = f"{label} extension {e['hex']} ({e['name']})"
        if ch.get("records") == 1:
            rep.eq(f"{name} offset", e["offset"], t["offset"])
        rep.eq(f"{name} length", e["length"], t["length"])
        rep.eq(f"{name} bytes", e["data"], t["node"].get("value")[8:] if e["length"] else "")
        rep.eq(f"{name} GREASE flag", e["grease"], ja4_independent.is_grease(e["type"]))
        if e["type"] in observers.EXT_LIST_FIELDS and "values" in e:
            rep.eq(f"{name} values", echo_ints(e["values"]), th.ext_values(e["type"]))
        if e["type"] == 0x001C and "record_size_limit" in e:
            rep.eq(f"{name} record_size_limit", [e["record_size_limit"]], th.ext_values(0x001C))
        if e["type"] == 0x0005 and "status_type" in e:
            rep.eq(f"{name} status_type", [e["status_type"]], th.ext_values(0x0005))
        if e["type"] == 0x0010:
            rep.eq(f"{name} protocols", [p.encode() for p in e.get("protocols", [])], th.alpn)
        if e["type"] == 0x0033:
            rep.eq(f"{name} key_share groups and key lengths",
                   [(int(k["group"], 16), k["key_length"]) for k in e.get("key_shares", [])],
                   th.key_shares)
        if e["type"] == 0x0000:
            rep.eq(f"{name} server_name", e.get("server_name"), th.server_name)
    # The three lists every check must cover, also if the loop above stopped at a mismatch.
    def ext_of(t):
        return next((e for e in exts if e["type"] == t), None)
    for t, what in ((0x000A, "supported_groups"), (0x000D, "signature_algorithms"),
                    (0x002B, "supported_versions")):
        e = ext_of(t)
        rep.eq(f"{label} {what}", echo_ints(e["values"]) if e and "values" in e else None,
               th.ext_values(t) if th.ext(t) else None)
    fp = conn["tls"]["fingerprints"]
    rep.eq(f"{label} JA3 string (tls.handshake.ja3_full)", fp["ja3"], th.ja3_full)
    rep.eq(f"{label} JA3 MD5 (tls.handshake.ja3)", fp["ja3_md5"], th.ja3)


def echo_and_tshark(d):
    meta = load_meta(d)
    conns = [c for c in load_echo_log(d) if (c.get("tls") or {}).get("client_hello")]
    hellos = observers.tshark_client_hellos(os.path.join(d, "capture.pcap"), meta["port"])
    return meta, conns, hellos


def cmd_clienthello(args):
    d = os.path.join(args.work, "echo")
    meta, conns, hellos = echo_and_tshark(d)
    rep = Report(f"{meta['version']}: echo ClientHello == tshark decode of capture.pcap")
    if not conns:
        rep.fail("the echo logged no ClientHello")
    for c in conns:
        port = peer_port(c)
        th = hellos.get(port)
        if th is None:
            rep.fail(f"client port {port}: echo logged a ClientHello that tshark does not see")
            continue
        compare_hello(rep, f"[port {port}]", c, th)
    for port in sorted(set(hellos) - {peer_port(c) for c in conns}):
        rep.fail(f"client port {port}: tshark sees a ClientHello the echo did not log")
    print(f"     {len(conns)} connection(s), client ports "
          f"{', '.join(str(peer_port(c)) for c in conns)}")
    return rep.finish()


# ---- (b) JA4 vs independent implementation ----------------------------------------------------------

def load_vectors(data):
    v = os.path.join(data, "vectors")
    with open(os.path.join(v, "ja4_spec_examples.json")) as f:
        ja4 = json.load(f)
    with open(os.path.join(v, "ja3_readme_examples.json")) as f:
        ja3 = json.load(f)
    return ja4, ja3


def cmd_ja4(args):
    d = os.path.join(args.work, "echo")
    meta, conns, hellos = echo_and_tshark(d)
    rep = Report(f"{meta['version']}: echo JA4 family == independent JA4 from tshark fields")
    # First make sure the independent implementation itself follows the spec's vectors.
    try:
        bad = ja4_independent.self_test(*load_vectors(args.data))
    except OSError as e:
        bad = [f"cannot read the spec vectors under {args.data}/vectors: {e}"]
    for b in bad:
        rep.fail(f"independent implementation: {b}")
    if not conns:
        rep.fail("the echo logged no ClientHello")
    for c in conns:
        port = peer_port(c)
        th = hellos.get(port)
        if th is None:
            rep.fail(f"client port {port}: no ClientHello in the capture")
            continue
        mine = ja4_independent.all_fingerprints(th.plain())
        fp = c["tls"]["fingerprints"]
        for key in ("ja4", "ja4_r", "ja4_o", "ja4_ro", "ja3n", "ja3n_md5", "peetprint",
                    "peetprint_md5"):
            rep.eq(f"[port {port}] {key}", fp.get(key), mine[key], observer="indep.")
        print(f"     [port {port}] ja4 {fp.get('ja4')}  ja4_o {fp.get('ja4_o')}")
    return rep.finish()


# ---- (d) HTTP/2 vs nghttpd -v -------------------------------------------------------------------------

def nghttpd_navigation(conns):
    for cid, frames in conns.items():
        for f in frames:
            if f["type"] == "HEADERS" and (":path", "/") in f.get("headers", []):
                return cid, frames
    return None, None


def akamai_of(frames):
    """Akamai string from nghttpd's frames (FINGERPRINTS.md), computed here."""
    settings = next((f for f in frames if f["type"] == "SETTINGS" and not f["flags"] & 1), None)
    s = ";".join(f"{i}:{v}" for i, v in settings["settings"]) if settings else ""
    wu = next((f for f in frames if f["type"] == "WINDOW_UPDATE"), None)
    pr = [f for f in frames if f["type"] == "PRIORITY"]
    p = ",".join(f"{f['stream']}:{int(f['priority']['exclusive'])}:"
                 f"{f['priority']['depends_on']}:{f['priority']['weight']}" for f in pr) or "0"
    headers = next((f for f in frames if f["type"] == "HEADERS"), None)
    ps = ",".join(n[1] for n, _ in headers["headers"] if n.startswith(":")) if headers else ""
    return f"{s}|{wu['increment'] if wu else '00'}|{p}|{ps}"


def first_flight(frames):
    """Frames up to and including the first HEADERS, SETTINGS ACKs left out (when the ACK
    goes out depends on when the server's SETTINGS arrive, not on the browser)."""
    out = []
    for f in frames:
        if f["type"] == "SETTINGS" and f["flags"] & 1:
            continue
        out.append(f)
        if f["type"] == "HEADERS":
            break
    return out


def cmd_http2(args):
    echo_dir, ng_dir = os.path.join(args.work, "echo"), os.path.join(args.work, "nghttpd")
    meta = load_meta(echo_dir)
    rep = Report(f"{meta['version']}: echo HTTP/2 view == nghttpd -v (separate visit)")
    conn = navigation(load_echo_log(echo_dir))
    with open(os.path.join(ng_dir, "nghttpd.log"), errors="replace") as f:
        cid, ng = nghttpd_navigation(observers.nghttpd_connections(f.read()))
    if conn is None or "http2" not in conn:
        rep.fail("the echo logged no HTTP/2 connection with GET /")
    if ng is None:
        rep.fail("nghttpd logged no connection with GET /")
    if rep.failures:
        return rep.finish()
    h2 = conn["http2"]
    ng_port = load_meta(ng_dir)["port"]
    echo_flight = [f for f in h2["frames"] if not (f["type"] == "SETTINGS" and f["flags"] & 1)]
    ng_flight = first_flight(ng)
    # (type, stream, flags, length); a HEADERS frame's length is left out: HPACK's Huffman
    # code of :authority depends on the digits of each server's port.
    def shape(f):
        return (f["type"], f["stream"], f["flags"], None if f["type"] == "HEADERS" else f["length"])
    rep.eq("frames up to the first HEADERS: type, stream, flags, length (SETTINGS ACK left out)",
           [shape(f) for f in echo_flight], [shape(f) for f in ng_flight], "nghttpd")
    e_set = next((f for f in h2["frames"] if f["type"] == "SETTINGS" and not f["flags"] & 1), {})
    n_set = next((f for f in ng if f["type"] == "SETTINGS" and not f["flags"] & 1), {})
    rep.eq("first SETTINGS: (id, value) in order",
           [(s["id"], s["value"]) for s in e_set.get("settings", [])],
           n_set.get("settings"), "nghttpd")
    e_wu = next((f for f in h2["frames"] if f["type"] == "WINDOW_UPDATE" and f["stream"] == 0), {})
    n_wu = next((f for f in ng_flight if f["type"] == "WINDOW_UPDATE" and f["stream"] == 0), {})
    rep.eq("connection WINDOW_UPDATE increment", e_wu.get("increment"), n_wu.get("increment"),
           "nghttpd")
    rep.eq("PRIORITY frames before the first HEADERS (stream, priority)",
           [(f["stream"], f.get("priority")) for f in echo_flight if f["type"] == "PRIORITY"],
           [(f["stream"], f.get("priority")) for f in ng_flight if f["type"] == "PRIORITY"],
           "nghttpd")
    e_h = next((f for f in h2["frames"] if f["type"] == "HEADERS"), {})
    n_h = next((f for f in ng if f["type"] == "HEADERS"), {})
    rep.eq("first HEADERS stream (frame, first_stream)", (e_h.get("stream"), h2.get("first_stream")),
           (n_h.get("stream"), n_h.get("stream")), "nghttpd")
    rep.eq("first HEADERS flags", e_h.get("flags"), n_h.get("flags"), "nghttpd")
    rep.eq("first HEADERS priority (depends_on, weight 1..256, exclusive)",
           e_h.get("priority"), n_h.get("priority"), "nghttpd")
    e_hdrs, n_hdrs = h2.get("headers", []), n_h.get("headers", [])
    rep.eq("pseudo-header order", [n for n, _ in e_hdrs if n.startswith(":")],
           [n for n, _ in n_hdrs if n.startswith(":")], "nghttpd")
    rep.eq("header names in order", [n for n, _ in e_hdrs], [n for n, _ in n_hdrs], "nghttpd")
    # Values too, but :authority holds each server's own port.
    def values(hdrs, port):
        return [(n, v.replace(f":{port}", ":PORT")) for n, v in hdrs]
    rep.eq("header values in order (ports masked)", values(e_hdrs, meta["port"]),
           values(n_hdrs, ng_port), "nghttpd")
    rep.eq("Akamai string (computed here from nghttpd's frames)", h2.get("akamai"),
           akamai_of(ng_flight), "nghttpd")
    print(f"     echo connection {conn['peer']}, nghttpd connection id={cid}; "
          f"akamai {h2.get('akamai')}")
    return rep.finish()


# ---- (c) reference values ------------------------------------------------------------------------------

def cmd_reference(args):
    d = os.path.join(args.work, "echo")
    meta = load_meta(d)
    ref = REFERENCE[args.browser]
    rep = Report(f"{meta['version']}: stable fingerprints == the team's capture "
                 f"({args.browser} {ref['major']})")
    conn = navigation(load_echo_log(d))
    if conn is None:
        rep.fail("the echo logged no navigation (GET /)")
        return rep.finish()
    fp, h2 = conn["tls"]["fingerprints"], conn.get("http2") or {}
    ch = conn["tls"]["client_hello"]
    rep.eq("JA4", fp["ja4"], ref["ja4"], "ref")
    rep.eq("Akamai", h2.get("akamai"), ref["akamai"], "ref")
    e_h = next((f for f in h2.get("frames", []) if f["type"] == "HEADERS"), {})
    pri = e_h.get("priority") or {}
    rep.eq("HEADERS weight/exclusive", {k: pri.get(k) for k in ref["headers_priority"]},
           ref["headers_priority"], "ref")
    rep.eq("first stream", h2.get("first_stream"), ref["first_stream"], "ref")
    exts = [e["type"] for e in ch["extensions"] if not e["grease"]]
    if "extension_count" in ref:
        rep.eq("non-GREASE extension count", len(exts), ref["extension_count"], "ref")
    for t in ref.get("must_contain_extensions", []):
        rep.eq(f"extension {t:#06x} present", t in exts, True, "ref")
    if "sigalgs_prefix" in ref:
        sig = next((e.get("values", []) for e in ch["extensions"] if e["type"] == 13), [])
        got = ["GREASE" if ja4_independent.is_grease(int(v, 16)) else int(v, 16)
               for v in sig[:len(ref["sigalgs_prefix"])]]
        rep.eq("signature_algorithms start", got, ref["sigalgs_prefix"], "ref")
    print(f"     ja4 {fp['ja4']}  akamai {h2.get('akamai')}  first stream "
          f"{h2.get('first_stream')}  HEADERS priority {pri}")
    if meta["major"] != ref["major"]:
        rep.finish(verdict="DIFF (reported, not failed)")
        print(f"SKIP reference: installed {meta['version']} is not major {ref['major']} of the "
              f"reference; differences above are reported, not failed")
        return SKIP
    return rep.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=("capture", "clienthello", "ja4", "http2", "reference"))
    ap.add_argument("--browser", required=True, choices=sorted(REFERENCE))
    ap.add_argument("--work", required=True, help="capture directory (echo/ and nghttpd/)")
    ap.add_argument("--guise", help="guise binary (capture)")
    ap.add_argument("--visit", help="tools/capture/browser-visit (capture)")
    ap.add_argument("--timeout", type=float, default=30.0, help="per browser run (capture)")
    ap.add_argument("--data", help="the repository's tests/data (reference vectors)")
    args = ap.parse_args()
    try:
        return {"capture": cmd_capture, "clienthello": cmd_clienthello, "ja4": cmd_ja4,
                "http2": cmd_http2, "reference": cmd_reference}[args.command](args)
    except FileNotFoundError as e:
        print(f"FAIL {args.command}: missing capture output ({e}); did the capture test run?")
        return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""POSTs and Origin as the headed browsers send them, and Origin/Sec-Fetch-Site hop by hop.

1. Content-Length and the body's fields in the browser's order: guise's form POST
   (navigate-post, -d) and fetch() POST of JSON (--kind fetch-same-origin -X POST,
   content-type application/json) for chromium-156-linux and firefox-esr-153-linux over
   HTTP/2 (nghttpd -v) and HTTP/1.1 (a raw TLS listener offering only http/1.1): every
   field name in order (pseudo-headers aside; exact case over HTTP/1.1) with
   content-length among them, and the values of content-length, content-type, origin,
   equal the browser's same-origin record in tests/data/captures/kinds (Debian's
   chromium 156 and firefox-esr 153, headed: tools/profiles/capture-kinds). Chromium
   sends content-length first, Firefox after content-type.
2. Origin across sites: the browsers' cross-site fetch() of mode cors (both add Origin)
   and Firefox's cross-site font (Origin, which its same-origin font lacks): guise with
   -e (the capture's page) sends the fields in the captured order.
3. Redirect chains, hop by hop, as the headed browsers sent them (tests/data/captures/
   redirects, tools/profiles/capture-kinds --redirects): a form POST A -> 307 B -> 308 A,
   a cors fetch A -> 307 A -> 307 B and a navigation A -> 302 B; each hop's method, body,
   Origin (Chromium: "null" from the first redirect to another origin; Firefox: the
   page's, then "null" back on A, as Fetch's redirect-tainted origin), Sec-Fetch-Site
   (the worst so far), Referer (the page, then its origin, which stays: Fetch sets each
   hop's referrer from the last), Content-Type and Content-Length equal the browser's,
   and so do the field names in order, which the browsers change after a redirect.

The requests go through libguise's public API (tests/integration/hooks'
request_hooks_probe), with the options of the command.

    test_kinds_post.py REQUEST_HOOKS_PROBE DATA_DIR
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, stop_all, wait_port  # noqa: E402
from guise_testlib import h1_recording_server as h1_server, nghttpd_requests, read_http1_request  # noqa: E402

PROBE, DATA = sys.argv[1], sys.argv[2]
PROFILES = [("chromium-156-linux", "chromium"), ("firefox-esr-153-linux", "firefox-esr")]


def capture(browser, proto, kind, target):
    with open(os.path.join(DATA, "captures", "kinds", f"{browser}-{proto}.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if d["kind"] == kind and d["target"] == target:
                return d
    return None


class Result:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def guise(*args):
    """One request through libguise's public API (request_hooks_probe), the command's
    options spelled as the probe takes them; returncode 0 when it ended well."""
    names = {"--profile": "-p", "--kind": "-k", "--resolve": "-r", "-e": "-e", "-d": "-d", "-X": "-X", "-H": "-H"}
    flags = {"--http2": ["-V", "2"], "--http1.1": ["-V", "1"], "-L": ["-L"], "-k": []}
    argv, i = [], 0
    while i < len(args):
        a = args[i]
        if a in flags:
            argv += flags[a]
        elif a in names:
            argv += [names[a], args[i + 1]]
            i += 1
        else:
            argv.append(a)
        i += 1
    r = subprocess.run([PROBE, *argv], capture_output=True, timeout=30)
    done = [json.loads(l) for l in r.stdout.decode().splitlines() if '"ev":"done"' in l]
    ok = r.returncode == 0 and len(done) == 1 and done[0]["err"] == "OK"
    return Result(0 if ok else 1, (r.stderr.decode() + r.stdout.decode()).encode())


def regular(fields):
    return [(n, v) for n, v in fields if not n.startswith(":")]


tmp = tempfile.mkdtemp(prefix="guise-kinds-post-")
procs = []
h1srv = None
try:
    key, crt = f"{tmp}/leaf.key", f"{tmp}/leaf.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    doc = f"{tmp}/doc"
    os.makedirs(doc)
    port = free_port()
    log = f"{tmp}/nghttpd.log"
    with open(log, "w") as lf:
        ng = subprocess.Popen(["stdbuf", "-oL", "nghttpd", "-v", "-a", "127.0.0.1", "-d", doc, str(port), key, crt],
                              stdout=lf, stderr=subprocess.STDOUT)
    procs.append(ng)
    wait_port(port)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ctx.set_alpn_protocols(["http/1.1"])
    h1srv, h1heads = h1_server(ctx)
    bases = {"h2": f"https://127.0.0.1:{port}", "http1": f"https://127.0.0.1:{h1srv.getsockname()[1]}"}
    counter = [0]

    def send(proto, args):
        """guise with |args| to a fresh path; the fields the server received (regular ones)."""
        counter[0] += 1
        path = f"/p{counter[0]}"
        with open(f"{doc}{path}", "w") as f:
            f.write("ok\n")
        r = guise("-k", "--http2" if proto == "h2" else "--http1.1", *args, f"{bases[proto]}{path}")
        if proto == "h2":
            time.sleep(0.3)  # nghttpd writes its log as it goes
            got = [r["fields"] for r in nghttpd_requests(open(log).read()).values()
                   if dict(r["fields"]).get(":path") == path]
            return r, regular(got[-1]) if got else []
        got = [h for h in h1heads if h["path"] == path]
        return r, got[-1]["headers"] if got else []

    # 1. A form POST and a fetch() POST of JSON, same-origin.
    for prof, browser in PROFILES:
        for proto in ("h2", "http1"):
            base = bases[proto]
            for kind, cap, args in (
                    ("navigate-post", "form-post", ["-d", "a=1"]),
                    ("fetch-same-origin", "fetch-post-json",
                     ["-X", "POST", "-d", '{"a":1}', "-H", "content-type: application/json"])):
                rec = capture(browser, proto, cap, "same-origin")
                check(f"{browser} {proto}: the capture has a same-origin {cap}", rec is not None)
                if rec is None:
                    continue
                extra = ["-H", f"Referer: {base}/page.html"] if any(n.lower() == "referer" for n, _ in rec["headers"]) \
                    else []
                r, got = send(proto, ["--profile", prof, "--kind", kind, *extra, *args])
                want = regular(rec["headers"])
                want_names = [n for n, _ in want]
                got_names = [n for n, _ in got]
                what = f"{prof} {kind} POST over {proto}"
                check(f"{what}: exit 0", r.returncode == 0, r.stderr.decode())
                check(f"{what}: every field name in the browser's order, content-length included",
                      got_names == want_names, f"\n  guise:   {got_names}\n  browser: {want_names}")
                lw = {n.lower(): v.replace("https://localhost:PORT_A", base) for n, v in want}
                lg = {n.lower(): v for n, v in got}
                check(f"{what}: content-length, content-type and origin as the browser's",
                      all(lg.get(k) == lw.get(k) for k in ("content-length", "content-type", "origin")),
                      {k: (lg.get(k), lw.get(k)) for k in ("content-length", "content-type", "origin")})

    # 2. Across sites: a cors fetch (both browsers add Origin) and Firefox's font.
    for prof, browser in PROFILES:
        for proto in ("h2", "http1"):
            for kind, cap in (("fetch", "fetch-cors"), ("font", "font")):
                rec = capture(browser, proto, cap, "cross-site")
                if rec is None:
                    check(f"{browser} {proto}: the capture has a cross-site {cap}", False)
                    continue
                page = f"https://localhost:{port}/page.html"
                r, got = send(proto, ["--profile", prof, "--kind", kind, "-e", page])
                want = [(n, v.replace("PORT_A", str(port))) for n, v in regular(rec["headers"])]
                keep = ("origin", "referer", "sec-fetch-site", "sec-fetch-mode")
                what = f"{prof} --kind {kind} -e (cross-site page) over {proto}"
                check(f"{what}: field names in the browser's order, Origin where it sends it",
                      r.returncode == 0 and [n for n, _ in got] == [n for n, _ in want],
                      f"\n  guise:   {[n for n, _ in got]}\n  browser: {[n for n, _ in want]}")
                check(f"{what}: origin, referer, sec-fetch-site as the browser's",
                      {n.lower(): v for n, v in got if n.lower() in keep} ==
                      {n.lower(): v for n, v in want if n.lower() in keep},
                      (got, want))
    # Same-origin cors fetch: no Origin (both browsers' captures have none).
    r, got = send("h2", ["--profile", "chromium-156-linux", "--kind", "fetch", "-e", f"{bases['h2']}/page.html"])
    check("same-origin cors fetch (GET): no Origin", r.returncode == 0 and "origin" not in dict(got), got)

    # 3. Hop by hop, against the headed browsers' redirect chains
    #    (tests/data/captures/redirects, tools/profiles/capture-kinds --redirects): a page
    #    at A (https://localhost:PA) posts a form to A/r/c1, 307 to B/r/c2
    #    (https://127.0.0.1:PB), 308 to A/r/c3.html; that page fetches A/r/s1 with mode
    #    cors, 307 to A/r/s2, 307 to B/r/s3.json. guise makes the same requests (-e the
    #    page) to two HTTP/1.1-only TLS servers with the same redirects; each hop's method,
    #    body and Origin, Sec-Fetch-Site, Sec-Fetch-Mode, Referer, Content-Type,
    #    Content-Length must equal the browser's.
    class Redirecting:
        def __init__(self):
            self.srv = socket.socket()
            self.srv.bind(("127.0.0.1", 0))
            self.srv.listen(16)
            self.port = self.srv.getsockname()[1]
            self.routes, self.seen = {}, []
            threading.Thread(target=self.serve, daemon=True).start()

        def serve(self):
            while True:
                try:
                    c, _ = self.srv.accept()
                except OSError:
                    return
                try:
                    t = ctx.wrap_socket(c, server_side=True)
                    t.settimeout(5)
                    q = read_http1_request(t)
                    q["body"] = q["body"].decode("latin-1")
                    self.seen.append(q)
                    path = q["path"]
                    r = self.routes.get(path)
                    if r:
                        t.sendall(f"HTTP/1.1 {r[0]} Redirect\r\nLocation: {r[1]}\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n".encode())
                    else:
                        t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    t.close()
                except (OSError, ssl.SSLError, ValueError, IndexError):
                    c.close()

    sa, sb = Redirecting(), Redirecting()
    A, B = f"https://localhost:{sa.port}", f"https://127.0.0.1:{sb.port}"
    sa.routes = {"/r/c1": (307, f"{B}/r/c2"), "/r/s1": (307, f"{A}/r/s2"), "/r/s2": (307, f"{B}/r/s3.json"),
                 "/r/g1": (302, f"{B}/r/g2.html")}
    sb.routes = {"/r/c2": (308, f"{A}/r/c3.html")}
    res = ["--resolve", f"localhost:{sa.port}:127.0.0.1"]
    KEYS = ("origin", "sec-fetch-site", "sec-fetch-mode", "referer", "content-type", "content-length")

    def hop_view(server, rec):
        h = {k.lower(): v.replace("PORT_A", str(sa.port)).replace("PORT_B", str(sb.port)) for k, v in rec["headers"]}
        return (server, rec["method"], rec["path"], rec["body"]) + tuple(h.get(k) for k in KEYS)

    for prof, browser in PROFILES:
        with open(os.path.join(DATA, "captures", "redirects", f"{browser}-http1.jsonl")) as f:
            want = [json.loads(l) for l in f]
        want_v = [hop_view(w["server"], w) for w in want]
        for what, args, paths in (
                ("form POST A -> 307 B -> 308 A", ["--profile", prof, "-d", "a=1", "-e", f"{A}/page.html",
                                                   f"{A}/r/c1"], ("/r/c1", "/r/c2", "/r/c3.html")),
                ("cors fetch A -> 307 A -> 307 B", ["--profile", prof, "--kind", "fetch", "-e", f"{A}/r/c3.html",
                                                    f"{A}/r/s1"], ("/r/s1", "/r/s2", "/r/s3.json")),
                # the page's script navigates: no user activation, so no Sec-Fetch-User
                ("navigation A -> 302 B", ["--profile", prof, "-e", f"{A}/r/c3.html", "-H", "Sec-Fetch-User:",
                                           f"{A}/r/g1"], ("/r/g1", "/r/g2.html"))):
            na, nb = len(sa.seen), len(sb.seen)
            r = guise("-L", "--http1.1", *res, *args)
            got = sorted([("A", x) for x in sa.seen[na:]] + [("B", x) for x in sb.seen[nb:]],
                         key=lambda x: paths.index(x[1]["path"]) if x[1]["path"] in paths else 9)
            got_v = [hop_view(s, x) for s, x in got]
            exp = [v for v in want_v if v[2] in paths]
            check(f"{prof} {what}: each hop's method, body, Origin, Sec-Fetch-*, Referer, Content-* as "
                  f"the headed {browser}'s", r.returncode == 0 and got_v == exp,
                  "\n" + "\n".join(f"  guise:   {g}\n  browser: {e}" for g, e in zip(got_v, exp)) + f"\n{r.stderr}")
            gn = [[k for k, _ in x["headers"]] for _, x in got]
            wn = [[k for k, _ in w["headers"]] for w in want if w["path"] in paths]
            check(f"{prof} {what}: each hop's field names in the browser's order (it changes after a redirect)",
                  gn == wn, "\n" + "\n".join(f"  guise:   {g}\n  browser: {w}" for g, w in zip(gn, wn)))

    # Without an initiator (the page is the first URL's origin) and from another site,
    # by the same rules: Origin "null" once tainted (Chromium: at any redirect to another
    # origin of a non-cors request), Sec-Fetch-Site the worst so far.
    for prof, first_hop_null in (("chromium-156-linux", True), ("firefox-esr-153-linux", False)):
        na, nb = len(sa.seen), len(sb.seen)
        r = guise("-L", "--http1.1", *res, "--profile", prof, "-d", "a=1", f"{A}/r/c1")
        got = [(x["path"], dict((k.lower(), v) for k, v in x["headers"])) for x in
               sorted(sa.seen[na:] + sb.seen[nb:], key=lambda x: x["path"])]
        got = [(p, h.get("origin"), h.get("sec-fetch-site"), h.get("referer")) for p, h in got]
        check(f"{prof} form POST without -e: Origin A, {'null' if first_hop_null else 'A'}, null; sec-fetch-site "
              "same-origin, cross-site, cross-site; no Referer",
              r.returncode == 0 and got == [("/r/c1", A, "same-origin", None),
                                            ("/r/c2", "null" if first_hop_null else A, "cross-site", None),
                                            ("/r/c3.html", "null", "cross-site", None)], (r.stderr, got))
        other = "https://other.test/p.html"
        na, nb = len(sa.seen), len(sb.seen)
        r = guise("-L", "--http1.1", *res, "--profile", prof, "-d", "a=1", "-e", other, f"{A}/r/c1")
        got = [(x["path"], dict((k.lower(), v) for k, v in x["headers"]).get("origin")) for x in
               sorted(sa.seen[na:] + sb.seen[nb:], key=lambda x: x["path"])]
        check(f"{prof} form POST from another site: Origin the page's, then null (a hop from a URL not of the "
              "request's origin)", r.returncode == 0 and got == [("/r/c1", "https://other.test"),
                                                                  ("/r/c2", "null"), ("/r/c3.html", "null")],
              (r.stderr, got))
    sa.srv.close()
    sb.srv.close()
finally:
    stop_all(procs)
    if h1srv:
        h1srv.close()
    shutil.rmtree(tmp, ignore_errors=True)
finish()

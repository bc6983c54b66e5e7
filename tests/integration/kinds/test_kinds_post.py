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
3. A redirect chain, hop by hop, against a local HTTP/1.1 server that records each hop:
   Origin follows the Fetch standard (the request's origin; "null" once a hop goes from a
   URL of another origin to a third or back: a redirect-tainted origin), Sec-Fetch-Site
   is the worst so far (same-origin -> cross-site -> back stays cross-site), Referer is
   strict-origin-when-cross-origin's for each URL; a cors fetch gains Origin at the first
   hop to another origin. Expected values come from those standards.

The requests go through libguise's public API (tests/integration/hooks'
request_hooks_probe), with the options of the command.

    test_kinds_post.py REQUEST_HOOKS_PROBE DATA_DIR
"""
import http.server
import json
import os
import re
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

PROBE, DATA = sys.argv[1], sys.argv[2]
PROFILES = [("chromium-156-linux", "chromium"), ("firefox-esr-153-linux", "firefox-esr")]


def capture(browser, proto, kind, target):
    with open(os.path.join(DATA, "captures", "kinds", f"{browser}-{proto}.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if d["kind"] == kind and d["target"] == target:
                return d
    return None


def nghttpd_requests(log):
    """{(connection, stream): [(name, value)]} from nghttpd -v's log."""
    out = {}
    for line in log.splitlines():
        m = re.search(r"\[id=(\d+)\] \[[ \d.]+\] recv \(stream_id=(\d+)(?:, sensitive)?\) (\S+?): (.*)$", line)
        if m:
            out.setdefault((int(m.group(1)), int(m.group(2))), []).append((m.group(3), m.group(4)))
    return out


def h1_server(ctx):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    heads = []

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            try:
                t = ctx.wrap_socket(c, server_side=True)
                t.settimeout(5)
                buf = b""
                while b"\r\n\r\n" not in buf and len(buf) < 65536:
                    d = t.recv(4096)
                    if not d:
                        break
                    buf += d
                head, _, body = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                hs = [tuple(x.split(": ", 1)) for x in lines[1:] if ": " in x]
                n = int(dict((k.lower(), v) for k, v in hs).get("content-length", "0"))
                while len(body) < n:
                    d = t.recv(4096)
                    if not d:
                        break
                    body += d
                heads.append({"path": lines[0].split(" ")[1], "headers": hs, "body": body})
                t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                t.close()
            except (OSError, ssl.SSLError, ValueError, IndexError):
                c.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, heads


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
            got = [f for f in nghttpd_requests(open(log).read()).values() if dict(f).get(":path") == path]
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

    # 3. Hop by hop over a redirect chain.
    hops = []

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            hops.append({"method": self.command, "path": self.path, "origin": self.headers.get("Origin"),
                         "site": self.headers.get("Sec-Fetch-Site"), "referer": self.headers.get("Referer"),
                         "body": body})
            p = self.server.server_address[1]
            nxt = {"/c1": (307, f"http://localhost:{p}/c2"), "/c2": (308, f"http://127.0.0.1:{p}/c3"),
                   "/s1": (307, f"http://127.0.0.1:{p}/s2"), "/s2": (307, f"http://localhost:{p}/s3")}.get(self.path)
            self.send_response(nxt[0] if nxt else 200)
            if nxt:
                self.send_header("Location", nxt[1])
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        hp = srv.server_address[1]
        A, B = f"http://127.0.0.1:{hp}", f"http://localhost:{hp}"
        res = "--resolve", f"localhost:{hp}:127.0.0.1"

        def chain(*args):
            before = len(hops)
            r = guise("-L", "--http1.1", *res, *args)
            return r, [(h["method"], h["path"], h["origin"], h["site"], h["referer"], h["body"]) for h in hops[before:]]

        for prof in ("chromium-156-linux", "firefox-esr-153-linux"):
            # A form POST A -> 307 B -> 308 A: the body kept; Origin A, A (the hop from
            # the request's own origin taints nothing), then null (B -> A: tainted).
            r, got = chain("--profile", prof, "-d", "a=1", f"{A}/c1")
            check(f"{prof} form POST, 307 to another origin, 308 back: Origin A, A, null; sec-fetch-site "
                  "same-origin, cross-site, cross-site; the body on each hop",
                  r.returncode == 0 and got == [("POST", "/c1", A, "same-origin", None, b"a=1"),
                                                ("POST", "/c2", A, "cross-site", None, b"a=1"),
                                                ("POST", "/c3", "null", "cross-site", None, b"a=1")],
                  (r.stderr.decode(), got))
            # The same with the page as initiator: Referer per hop too.
            page = f"{A}/dir/page.html"
            r, got = chain("--profile", prof, "-d", "a=1", "-e", page, f"{A}/c1")
            check(f"{prof} form POST from {page}: Referer the page, its origin, the page; Origin A, A, null",
                  r.returncode == 0 and got == [("POST", "/c1", A, "same-origin", page, b"a=1"),
                                                ("POST", "/c2", A, "cross-site", f"{A}/", b"a=1"),
                                                ("POST", "/c3", "null", "cross-site", page, b"a=1")],
                  (r.stderr.decode(), got))
            # A page of another site posts to A, which sends it on to B: the hop from A (not
            # the request's origin) to B taints it.
            other = f"http://other.test:{hp}/p.html"
            r, got = chain("--profile", prof, "-d", "a=1", "-e", other, f"{A}/s2")
            check(f"{prof} form POST from another site, 307 to a third origin: Origin the page's, then null",
                  r.returncode == 0 and [(m, p, o, s) for m, p, o, s, _, _ in got] ==
                  [("POST", "/s2", f"http://other.test:{hp}", "cross-site"),
                   ("POST", "/s3", "null", "cross-site")], (r.stderr.decode(), got))
            # A cors fetch (GET) A -> A -> B: no Origin while same-origin; at B the request
            # is a cors one across origins: Origin A.
            r, got = chain("--profile", prof, "--kind", "fetch", f"{A}/s1")
            check(f"{prof} cors fetch A -> A -> B: Origin none, none, A; sec-fetch-site same-origin, "
                  "same-origin, cross-site",
                  r.returncode == 0 and [(m, p, o, s) for m, p, o, s, _, _ in got] ==
                  [("GET", "/s1", None, "same-origin"), ("GET", "/s2", None, "same-origin"),
                   ("GET", "/s3", A, "cross-site")], (r.stderr.decode(), got))
    finally:
        srv.shutdown()
        srv.server_close()
finally:
    stop_all(procs)
    if h1srv:
        h1srv.close()
    shutil.rmtree(tmp, ignore_errors=True)
finish()

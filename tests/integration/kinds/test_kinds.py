#!/usr/bin/env python3
"""Request kinds: guise --kind KIND next to the real browser's request of that kind.

For each kind a shipped profile has, the browser's request is read from a capture in
tests/data/captures (nghttpd -v's log of a real visit; the .source.txt beside it says
which): its field names in order, its fetch metadata (sec-fetch-site, -mode, -dest),
accept, the RFC 9218 priority field and the HTTP/2 HEADERS priority. guise sends the
same kind, with the profile and a Referer of the same origin as the capture's, to
nghttpd -v on loopback, and its request must equal the browser's in all of these.
Also: a kind the profile lacks and an unknown kind are refused before anything is
sent (exit 2, the kind named), and -d labels its body as a form's unless -H says
otherwise.

    test_kinds.py GUISE DATA_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, stop_all, wait_port  # noqa: E402

GUISE, DATA = sys.argv[1], sys.argv[2]

# (profile, kind, capture file, the captured stream of that kind)
CAPTURED = [("chromium-156-linux", "style", "chromium-156-style-nghttpd.log", 3)]


def requests(log):
    """{(connection, stream): {"fields": [(name, value)], "prio": (dep, weight, exclusive)}}
    from nghttpd -v's log, in the order the requests came."""
    out = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"\[id=(\d+)\] \[[ \d.]+\] recv \(stream_id=(\d+)(?:, sensitive)?\) (\S+?): (.*)$", line)
        if m:
            out.setdefault((int(m.group(1)), int(m.group(2))), {"fields": [], "prio": None})["fields"].append(
                (m.group(3), m.group(4)))
            continue
        m = re.search(r"\[id=(\d+)\] \[[ \d.]+\] recv HEADERS frame <length=\d+, flags=0x[0-9a-f]+, stream_id=(\d+)>",
                      line)
        if m:
            body = " ".join(lines[i + 1:i + 3])
            p = re.search(r"dep_stream_id=(\d+), weight=(\d+), exclusive=(\d)", body)
            r = out.setdefault((int(m.group(1)), int(m.group(2))), {"fields": [], "prio": None})
            r["prio"] = (int(p.group(1)), int(p.group(2)), p.group(3) == "1") if p else "none"
    return out


def shape(req):
    """What must be equal: regular field names in order, fetch metadata, accept,
    priority, HEADERS priority."""
    names = [n for n, _ in req["fields"] if not n.startswith(":")]
    values = {n: v for n, v in req["fields"]}
    keep = ("sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "accept", "priority")
    return {"names": names, "values": {k: values.get(k) for k in keep}, "headers_priority": req["prio"]}


def guise(*args, timeout=30):
    return subprocess.run([GUISE, *args], capture_output=True, timeout=timeout)


tmp = tempfile.mkdtemp(prefix="guise-kinds-")
procs = []
try:
    key, crt = f"{tmp}/leaf.key", f"{tmp}/leaf.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    doc = f"{tmp}/doc"
    os.makedirs(doc)
    with open(f"{doc}/s0.css", "w") as f:
        f.write("p { color: black }\n")
    with open(f"{doc}/form", "w") as f:
        f.write("ok\n")
    port = free_port()
    log = f"{tmp}/nghttpd.log"
    with open(log, "w") as lf:
        ng = subprocess.Popen(["stdbuf", "-oL", "nghttpd", "-v", "-a", "127.0.0.1", "-d", doc, str(port), key, crt],
                              stdout=lf, stderr=subprocess.STDOUT)
    procs.append(ng)
    wait_port(port)
    base = f"https://127.0.0.1:{port}"

    def last_request(path):
        time.sleep(0.3)  # nghttpd writes its log as it goes
        reqs = [r for r in requests(open(log).read()).values() if dict(r["fields"]).get(":path") == path]
        return reqs[-1] if reqs else {"fields": [], "prio": None}

    # 1. Each captured kind: guise's request equals the browser's.
    for prof, kind, capture, stream in CAPTURED:
        cap = requests(open(os.path.join(DATA, "captures", capture)).read())
        want = [r for (c, s), r in cap.items() if s == stream]
        check(f"{capture}: stream {stream} is there", len(want) == 1, list(cap))
        if not want:
            continue
        want = shape(want[0])
        check(f"{capture}: stream {stream} is sec-fetch-dest {kind}", want["values"]["sec-fetch-dest"] == kind,
              want)
        # The capture's referer is its page, of the same origin: here ours.
        r = guise("-k", "--http2", "--profile", prof, "--kind", kind, "-H", f"Referer: {base}/", f"{base}/s0.css")
        check(f"guise --profile {prof} --kind {kind}: exit 0", r.returncode == 0, r.stderr.decode())
        got_req = last_request("/s0.css")
        got = shape(got_req)
        check(f"{prof} {kind}: field names in the browser's order", got["names"] == want["names"],
              f"\n  guise:   {got['names']}\n  browser: {want['names']}")
        check(f"{prof} {kind}: accept, sec-fetch-site/-mode/-dest and priority as the browser's",
              got["values"] == want["values"], f"\n  guise:   {got['values']}\n  browser: {want['values']}")
        check(f"{prof} {kind}: HEADERS priority as the browser's", got["headers_priority"] == want["headers_priority"],
              f"guise {got['headers_priority']}, browser {want['headers_priority']}")
        check(f"{prof} {kind}: the caller's Referer in the profile's place",
              dict(got_req["fields"]).get("referer") == f"{base}/", got_req["fields"])
        # Without a Referer the place stays empty: no empty field goes out.
        r = guise("-k", "--http2", "--profile", prof, "--kind", kind, f"{base}/s0.css")
        got_req = last_request("/s0.css")
        names = [n for n, _ in got_req["fields"]]
        check(f"{prof} {kind} without -H Referer: no referer field, the others in order",
              r.returncode == 0 and "referer" not in names and
              [n for n in names if not n.startswith(":")] == [n for n in want["names"] if n != "referer"],
              (r.stderr.decode(), names))

    # 2. A kind the profile lacks, an unknown kind: refused, nothing sent.
    before = len(requests(open(log).read()))
    r = guise("-k", "--http2", "--profile", "chromium-156-linux", "--kind", "image", f"{base}/s0.css")
    err = r.stderr.decode()
    check("--kind image (no capture in chromium-156-linux): exit 2, the profile and kind named",
          r.returncode == 2 and 'has no request kind "image"' in err and "chromium-156-linux" in err, (r.returncode, err))
    r = guise("-k", "--http2", "--profile", "chromium-156-linux", "--kind", "bogus", f"{base}/s0.css")
    err = r.stderr.decode()
    check("--kind bogus: exit 2, the kind named", r.returncode == 2 and '"bogus"' in err, (r.returncode, err))
    time.sleep(0.3)
    check("refused kinds sent no request", len(requests(open(log).read())) == before)

    # 3. -d: a form's body (HTML's default enctype, curl's -d), unless -H says otherwise.
    for extra, want_ct in (([], ["application/x-www-form-urlencoded"]),
                           (["-H", "Content-Type: text/plain"], ["text/plain"]),
                           (["-H", "content-type:"], [])):
        r = guise("-k", "--http2", "--profile", "chromium-156-linux", "-d", "a=1", *extra, f"{base}/form")
        got_req = last_request("/form")
        cts = [v for n, v in got_req["fields"] if n == "content-type"]
        check(f"-d a=1 {extra}: content-type {want_ct}", dict(got_req["fields"]).get(":method") == "POST" and
              cts == want_ct, got_req["fields"])
    r = guise("-k", "--http2", "--profile", "chromium-156-linux", f"{base}/form")
    got_req = last_request("/form")
    check("a GET has no content-type", dict(got_req["fields"]).get(":method") == "GET" and
          "content-type" not in dict(got_req["fields"]), got_req["fields"])

    # 4. A POST answered 303 goes on as a GET without the body's fields (Fetch's
    #    HTTP-redirect fetch drops Content-Type with the body).
    import http.server
    import threading
    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            seen.append((self.command, self.path, self.headers.get("Content-Type")))
            if self.path == "/post":
                self.send_response(303)
                self.send_header("Location", "/done")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
        do_GET = do_POST = _answer

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        r = guise("-L", "--profile", "chromium-156-linux", "-d", "a=1",
                  f"http://127.0.0.1:{srv.server_address[1]}/post")
    finally:
        srv.shutdown()
        srv.server_close()
    check("-d then 303: POST with the form's Content-Type, then GET without one",
          r.returncode == 0 and seen == [("POST", "/post", "application/x-www-form-urlencoded"), ("GET", "/done", None)],
          (r.stderr.decode(), seen))
finally:
    stop_all(procs)
    shutil.rmtree(tmp, ignore_errors=True)
finish()

#!/usr/bin/env python3
"""guise_request_options.on_request_sent and on_response_head against what the servers saw.

request_hooks_probe makes one request through the public API and prints each hook call.
What a hook reports must be what went on the wire, field by field (names, order, case,
values), and what came back:
- HTTP/2 to nghttpd -v: the request's fields as nghttpd decoded them (pseudo-headers in
  the profile's order, the jar's cookies as Chromium's crumbs, sec-fetch-site and
  referer computed from the initiator), the response fields nghttpd logged as sent;
- HTTP/1.1 to a raw TLS listener offering only http/1.1: the head's lines as received
  (Host, Content-Length where it went, the jar's Cookie), the head the listener wrote;
- a redirect chain over HTTP/1.1 (307 to another origin, then 302): one report per hop
  with the hop's number, method and URL, each equal to what that hop's server received,
  and every hop's response head (on_headers sees the last one only);
- a request sent again on a new connection (a stale keep-alive one closed without an
  answer) is reported for each send;
- guise_fetch hands the hooks the caller's user data.

    test_request_hooks.py PROBE
"""
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
from guise_testlib import check, finish, free_port, nghttpd_requests, read_http1_request, stop_all, wait_port  # noqa: E402

PROBE = sys.argv[1]


def probe(*args):
    r = subprocess.run([PROBE, *args], capture_output=True, timeout=30)
    evs = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
    return evs, r.stderr.decode()


def of(evs, kind):
    return [e for e in evs if e["ev"] == kind]


def pairs(lst):
    return [tuple(x) for x in lst]


def nghttpd_streams(log):
    """[(fields received, (status, fields sent))] per stream, in order, from nghttpd -v:
    the received fields through guise_testlib.nghttpd_requests, the sent ones read here."""
    recv = nghttpd_requests(log)
    sent = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"\[id=(\d+)\] \[[ \d.]+\] send HEADERS frame <[^>]*stream_id=(\d+)>", line)
        if m:
            fields = []
            for nxt in lines[i + 1:]:
                if nxt.startswith("[") or not nxt.startswith("          "):
                    break
                t = nxt.strip()
                if t.startswith(";") or t.startswith("("):
                    continue
                n, _, v = t[1:].partition(": ") if t.startswith(":") else t.partition(": ")
                fields.append((":" + n if t.startswith(":") else n, v))
            sent[(int(m.group(1)), int(m.group(2)))] = fields
    return [(r["fields"], sent.get(k)) for k, r in recv.items() if r["fields"]]


class RawServer:
    """An HTTP/1.1 listener (TLS when |ctx|) that keeps every request head as received,
    line by line, and answers from |answer(path) -> (status line, [(name, value)], body)|,
    one request per connection."""

    def __init__(self, answer, ctx=None):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.answer, self.ctx, self.seen = answer, ctx, []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            try:
                t = self.ctx.wrap_socket(c, server_side=True) if self.ctx else c
                t.settimeout(5)
                q = read_http1_request(t)
                self.seen.append({"method": q["method"], "path": q["path"], "fields": q["headers"], "body": q["body"]})
                status, rfields, rbody = self.answer(q["path"])
                out = status + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in rfields) + "\r\n"
                t.sendall(out.encode("latin-1") + rbody)
                t.close()
            except (OSError, ssl.SSLError, ValueError, IndexError):
                c.close()

    def close(self):
        self.srv.close()


OK_FIELDS = [("Content-Type", "text/plain"), ("X-Answer", "one, two"), ("Content-Length", "2"),
             ("Connection", "close")]

tmp = tempfile.mkdtemp(prefix="guise-hooks-")
procs, servers = [], []
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
    h1 = RawServer(lambda path: ("HTTP/1.1 200 OK", OK_FIELDS, b"ok"), ctx)
    servers.append(h1)
    # Two cookies the jar sends to 127.0.0.1 (Netscape format): a Cookie field, and
    # Chromium's crumbs (one field each) over HTTP/2.
    jar = f"{tmp}/jar.txt"
    with open(jar, "w") as f:
        f.write("127.0.0.1\tFALSE\t/\tFALSE\t4102444800\ta\t1\n127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tb\t2\n")

    cases = [
        ("chromium-156-linux image, initiator, jar", ["-p", "chromium-156-linux", "-k", "image", "-c", jar,
                                                      "-e", "https://localhost/page.html"]),
        ("firefox-esr-153-linux form POST", ["-p", "firefox-esr-153-linux", "-d", "a=1&b=2",
                                              "-H", "X-Extra: yes"]),
        ("chromium-156-linux fetch POST JSON", ["-p", "chromium-156-linux", "-k", "fetch", "-X", "POST", "-d", '{"a":1}',
                                                "-H", "Content-Type: application/json"]),
        ("no profile, Basic from the URL", ["-H", "Accept: */*"]),
    ]
    n = 0
    for what, args in cases:
        for v in ("2", "1"):
            n += 1
            path = f"/r{n}"
            with open(f"{doc}{path}", "w") as f:
                f.write("ok\n")
            userinfo = "u:p%40ss@" if "Basic" in what else ""
            base = f"https://{userinfo}127.0.0.1:{port if v == '2' else h1.port}"
            evs, err = probe(*args, "-V", v, f"{base}{path}")
            sent, heads, done = of(evs, "sent"), of(evs, "head"), of(evs, "done")
            tag = f"{what} over HTTP/{'2' if v == '2' else '1.1'}"
            check(f"{tag}: the request ended well, one report of it (hop 0, version {v})",
                  len(done) == 1 and done[0]["err"] == "OK" and len(sent) == 1 and sent[0]["hop"] == 0
                  and sent[0]["v"] == int(v) and sent[0]["ud_ok"], (err, evs))
            if len(sent) != 1:
                continue
            if v == "2":
                time.sleep(0.3)  # nghttpd writes its log as it goes
                streams = [s for s in nghttpd_streams(open(log).read()) if dict(s[0]).get(":path") == path]
                got_req, got_rsp = streams[-1] if streams else ([], None)
                rsp_status = int(dict(got_rsp or []).get(":status", 0))
                rsp_fields = [f for f in (got_rsp or []) if f[0] != ":status"]
            else:
                reqs = [s for s in h1.seen if s["path"] == path]
                got_req = reqs[-1]["fields"] if reqs else []
                rsp_status, rsp_fields = 200, OK_FIELDS
            check(f"{tag}: on_request_sent's fields are the ones received, in order and case",
                  pairs(sent[0]["h"]) == got_req, f"\n  hook:   {pairs(sent[0]['h'])}\n  server: {got_req}")
            check(f"{tag}: on_response_head's status and fields are the ones sent",
                  len(heads) == 1 and heads[0]["status"] == rsp_status and pairs(heads[0]["h"]) == rsp_fields
                  and heads[0]["hop"] == 0, f"\n  hook:   {heads}\n  server: {rsp_status} {rsp_fields}")
            # The reason phrase the raw HTTP/1.1 server sent ("HTTP/1.1 200 OK"); none over HTTP/2.
            check(f"{tag}: on_response_head's reason phrase", len(heads) == 1 and
                  heads[0].get("reason") == ("OK" if v != "2" else None), heads)
            names = [x[0].lower() for x in sent[0]["h"]]
            if "jar" in what:
                want = ["a=1", "b=2"] if v == "2" else ["a=1; b=2"]
                check(f"{tag}: the jar's cookies are in the report",
                      [x[1] for x in sent[0]["h"] if x[0].lower() == "cookie"] == want, sent[0]["h"])
            if "Basic" in what:
                check(f"{tag}: Authorization from the URL is in the report, the URL shown without its password",
                      "authorization" in names and "p%40ss" not in sent[0]["url"], sent[0])
            if "POST" in what:
                check(f"{tag}: method POST, a Content-Length in the report", sent[0]["method"] == "POST"
                      and "content-length" in names, sent[0])

    # A redirect chain over HTTP/1.1: POST /a -> 307 to another origin (localhost) /b ->
    # 302 to 127.0.0.1 /c (a GET now) -> 200.
    def chain(path):
        p = chain_srv.port
        if path == "/a":
            return ("HTTP/1.1 307 Temporary Redirect",
                    [("Location", f"http://localhost:{p}/b"), ("X-Hop", "a"), ("Content-Length", "0"),
                     ("Connection", "close")], b"")
        if path == "/b":
            return ("HTTP/1.1 302 Found", [("location", f"http://127.0.0.1:{p}/c"), ("Content-Length", "0"),
                                           ("Connection", "close")], b"")
        return ("HTTP/1.1 200 OK", OK_FIELDS, b"ok")

    chain_srv = RawServer(chain)
    servers.append(chain_srv)
    cp = chain_srv.port
    for prof in ("chromium-156-linux", "firefox-esr-153-linux"):
        before = len(chain_srv.seen)
        evs, err = probe("-p", prof, "-L", "-d", "a=1", "-r", f"localhost:{cp}:127.0.0.1", f"http://127.0.0.1:{cp}/a")
        seen = chain_srv.seen[before:]
        sent, heads, hdrs, done = of(evs, "sent"), of(evs, "head"), of(evs, "headers"), of(evs, "done")
        check(f"{prof} redirect chain: three requests, hops 0 1 2, POST POST GET, each hop's URL",
              len(done) == 1 and done[0]["err"] == "OK" and done[0]["hops"] == 2
              and [(s["hop"], s["method"], s["url"]) for s in sent] ==
              [(0, "POST", f"http://127.0.0.1:{cp}/a"), (1, "POST", f"http://localhost:{cp}/b"),
               (2, "GET", f"http://127.0.0.1:{cp}/c")], (err, evs))
        check(f"{prof} redirect chain: each hop's report equals what its server received",
              [pairs(s["h"]) for s in sent] == [s["fields"] for s in seen],
              "\n" + "\n".join(f"  hook:   {pairs(a['h'])}\n  server: {b['fields']}" for a, b in zip(sent, seen)))
        check(f"{prof} redirect chain: every hop's response head (307, 302, 200) as sent, on_headers once",
              [(h["hop"], h["status"], pairs(h["h"])) for h in heads] ==
              [(0, 307, chain("/a")[1]), (1, 302, chain("/b")[1]), (2, 200, OK_FIELDS)]
              and [h["status"] for h in hdrs] == [200], evs)

    # A request sent again: the server keeps the first connection alive after one answer,
    # then closes it on the second request without a byte (a stale keep-alive
    # connection): guise sends it again on a new connection, and on_request_sent reports
    # both sends (hop 0 each), each equal to what that connection received.
    stale = {"conns": [], "reqs": []}
    ssrv = socket.socket()
    ssrv.bind(("127.0.0.1", 0))
    ssrv.listen(8)
    sport = ssrv.getsockname()[1]

    def stale_serve():
        n = 0
        while True:
            try:
                c, _ = ssrv.accept()
            except OSError:
                return
            n += 1
            c.settimeout(5)
            buf = b""
            try:
                while True:
                    while b"\r\n\r\n" not in buf:
                        d = c.recv(4096)
                        if not d:
                            raise OSError("closed")
                        buf += d
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    stale["reqs"].append((n, [tuple(x.split(": ", 1)) for x in lines[1:]]))
                    if n == 1 and len([r for r in stale["reqs"] if r[0] == 1]) == 2:
                        c.close()  # the second request on the kept connection: no answer
                        break
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            except OSError:
                pass
            finally:
                c.close()

    threading.Thread(target=stale_serve, daemon=True).start()
    servers.append(type("S", (), {"close": lambda self: ssrv.close()})())
    evs, err = probe("-p", "chromium-156-linux", "-V", "1", "-n", "2", f"http://127.0.0.1:{sport}/again")
    sent, done = of(evs, "sent"), of(evs, "done")
    check("a stale keep-alive connection: two requests done, the second sent twice (hop 0 each)",
          [d["err"] for d in done] == ["OK", "OK"] and [x["hop"] for x in sent] == [0, 0, 0], (err, evs))
    check("... each report equals what its connection received",
          [pairs(x["h"]) for x in sent] == [r[1] for r in stale["reqs"]] and [r[0] for r in stale["reqs"]] == [1, 1, 2],
          (sent, stale["reqs"]))

    # guise_fetch: its own client and loop; the hooks still get the caller's ud.
    path = "/fetch"
    with open(f"{doc}{path}", "w") as f:
        f.write("ok\n")
    evs, err = probe("--fetch", "-p", "chromium-156-linux", f"https://127.0.0.1:{port}{path}")
    check("guise_fetch: the hooks are called with the caller's ud",
          [e["ud_ok"] for e in evs if e["ev"] in ("sent", "head")] == [True, True], (err, evs))
finally:
    stop_all(procs)
    for s in servers:
        s.close()
    shutil.rmtree(tmp, ignore_errors=True)
finish()

#!/usr/bin/env python3
"""HTTP/3 through the guise Python package (http_version "3" and "3-only") against
servers that share nothing with guise's QUIC stack: quic-go's HTTP/3 server
(tests/interop/h3server, Go's crypto/tls; its JSON-lines log says which protocol
each request came on) and a TLS HTTP/1.1 server of this test (Python's ssl) with
nothing on UDP.

- "3-only": Client, a request, stream(), AsyncClient, guise.get and guise.batch (the keyword and a job's
  "http": "3-only") are answered over HTTP/3 (the server's log: HTTP/3.0), the body
  byte for byte; Response.http_version and the record's http_version are "HTTP/3",
  as the library reports it (guise.h: "HTTP/1.1", "HTTP/2", "HTTP/3").
- "3" with nothing on UDP: the request goes over TCP (the TLS server saw it), and
  "3-only" there is a ConnectError.
- Alt-Svc: with the server's TCP twin (h2 answers carry Alt-Svc: h3=":PORT"), one
  Client's first request goes over HTTP/2 and later ones over HTTP/3 (none back to
  2, one QUIC connection), a per-request "3-only" then goes over HTTP/3 too (on a
  connection of its own: another http_version is another variant); a second Client
  starts over HTTP/2 (the cache is the client's); http_version "2" stays on HTTP/2.
- Refusals: a bad http_version is UsageError naming the values allowed (Client,
  a request, guise.batch); "3-only" with a profile without an http3 section is
  ProfileError, through an http:// or socks4:// proxy UsageError saying the proxy
  carries no UDP, through a SOCKS5 proxy that refuses UDP ASSOCIATE ProxyError.

usage: test_python_h3.py H3SERVER   (PYTHONPATH holds the built package: BUILD/python)
"""
import asyncio
import http.server
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from guise_testlib import QuietHandler, check, fake_socks5_udp, finish, h3_server  # noqa: E402

import guise  # noqa: E402

H3SERVER = sys.argv[1]
PROFILE = "chromium-156-linux"  # has an http3 section (so has firefox-esr-153-linux)
NO_H3_PROFILE = "chrome-150"    # has none


def pattern(n):
    """h3server's /bytes/N body: byte i is i mod 256 (tests/interop/h3server/main.go)."""
    return bytes(i & 0xFF for i in range(n))


def protocols(srv, prefix):
    """(protocol, connection id) of each request h3server logged whose path starts with |prefix|."""
    return [(x.get("protocol"), x.get("conn")) for x in srv.records() if x.get("path", "").startswith(prefix)]


def h3_only(tmp):
    with h3_server(H3SERVER, tmp, seconds=60) as srv:
        base = f"https://127.0.0.1:{srv.port}"
        with guise.Client(profile=PROFILE, cacert=srv.cert, http_version="3-only") as c:
            r = c.get(base + "/bytes/5000?client")
            check("Client(http_version='3-only'): 200 with the server's 5000 bytes, http_version HTTP/3",
                  r.status_code == 200 and r.content == pattern(5000) and r.http_version == "HTTP/3",
                  (r, len(r.content)))
            check("... and Response.tls's ALPN is h3 (what h3server logged)",
                  r.tls["alpn"] == "h3" and srv.records()[-1].get("alpn") == "h3", (r.tls, srv.records()[-1:]))
            r = c.post(base + "/echo-body?client", content=b"a=1&b=2")
            check("Client '3-only': a POST is echoed over HTTP/3",
                  r.status_code == 200 and r.content == b"a=1&b=2" and r.http_version == "HTTP/3", (r, r.content))
        check("h3server logged the Client's GET and POST over HTTP/3 (HTTP/3.0)",
              [p for p, _ in protocols(srv, "/bytes/5000?client") + protocols(srv, "/echo-body?client")]
              == ["HTTP/3.0", "HTTP/3.0"], srv.records())

        # A Client whose default is TCP, HTTP/3 asked for one request only.
        with guise.Client(profile=PROFILE, cacert=srv.cert) as c:
            r = c.get(base + "/bytes/10?per-request", http_version="3-only")
            check("a per-request http_version='3-only' is answered over HTTP/3",
                  r.status_code == 200 and r.http_version == "HTTP/3" and r.content == pattern(10), r)
            n = 3 << 20
            with c.stream("GET", base + f"/bytes/{n}?stream", http_version="3-only") as r:
                chunks = list(r.iter_bytes())
            check("stream() with '3-only': 3 MiB read piece by piece over HTTP/3, byte for byte",
                  r.status_code == 200 and r.http_version == "HTTP/3" and b"".join(chunks) == pattern(n),
                  (r, sum(map(len, chunks))))

        r = guise.get(base + "/bytes/10?oneshot", profile=PROFILE, cacert=srv.cert, http_version="3-only")
        check("guise.get(http_version='3-only') is answered over HTTP/3", r.http_version == "HTTP/3", r)

        async def go():
            async with guise.AsyncClient(profile=PROFILE, cacert=srv.cert, http_version="3-only") as c:
                return await asyncio.gather(*(c.get(base + f"/bytes/{100 + i}?async") for i in range(20)))
        rs = asyncio.run(go())
        check("AsyncClient '3-only': 20 concurrent requests, each over HTTP/3 with its bytes",
              all(r.status_code == 200 and r.http_version == "HTTP/3" and r.content == pattern(100 + i)
                  for i, r in enumerate(rs)), rs)
        got = protocols(srv, "/bytes/1") + protocols(srv, "/bytes/3145728?stream")
        check("h3server logged the per-request, stream, guise.get and AsyncClient requests over HTTP/3 (23)",
              len(got) == 23 and all(p == "HTTP/3.0" for p, _ in got), got)

        jobs = [{"id": "kw", "url": base + "/bytes/7?batch-kw"},
                {"id": "job", "url": base + "/bytes/8?batch-job", "http": "3-only"}]
        recs = {x["id"]: x for x in guise.batch(jobs[:1], profile=PROFILE, cacert=srv.cert, http_version="3")}
        recs.update({x["id"]: x for x in guise.batch(jobs[1:], profile=PROFILE, cacert=srv.cert)})
        check("guise.batch: http_version='3' and a job's \"http\": \"3-only\" give 200 records over HTTP/3",
              all(recs.get(i, {}).get("status") == 200 and recs[i].get("http_version") == "HTTP/3"
                  for i in ("kw", "job")), recs)
        got = [p for p, _ in protocols(srv, "/bytes/7?batch-kw") + protocols(srv, "/bytes/8?batch-job")]
        check("h3server logged both batch jobs over HTTP/3", got == ["HTTP/3.0", "HTTP/3.0"], srv.records())


class TLSSite(QuietHandler):
    seen = []

    def do_GET(self):
        TLSSite.seen.append((self.path, self.request_version))
        self.reply(200, b"over tcp", [("Content-Type", "text/plain")])


def fallback(tmp):
    cert, key = os.path.join(tmp, "tcp-cert.pem"), os.path.join(tmp, "tcp-key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise SystemExit(f"openssl could not make the certificate: {r.stderr.strip()}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TLSSite)
    site.daemon_threads = True
    site.socket = ctx.wrap_socket(site.socket, server_side=True)
    port = site.server_address[1]
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        # Nothing on UDP at that port: binding it here must work (then it is closed).
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            udp_free = True
        except OSError:
            udp_free = False
        finally:
            u.close()
        check("nothing listens on UDP at the TLS server's port", udp_free, port)
        base = f"https://127.0.0.1:{port}"
        with guise.Client(profile=PROFILE, cacert=cert, http_version="3", timeout=10) as c:
            t0 = time.monotonic()
            r = c.get(base + "/raced")
            took = time.monotonic() - t0
            check("http_version='3' with nothing on UDP: 200 over TCP (HTTP/1.1, the server's ALPN)",
                  r.status_code == 200 and r.content == b"over tcp" and r.http_version == "HTTP/1.1", r)
            check("... within 5 s (the race, not a timeout)", took < 5, took)
            try:
                r = c.get(base + "/only", http_version="3-only")
                check("http_version='3-only' with nothing on UDP fails", False, r)
            except guise.ConnectError as e:
                check("http_version='3-only' with nothing on UDP: ConnectError", True)
                print(f"   ({e.name}: {e.detail})")
            except guise.GuiseError as e:
                check("http_version='3-only' with nothing on UDP: ConnectError", False, repr(e))
        check("the TLS server saw the raced request over TCP, not the HTTP/3-only one",
              TLSSite.seen == [("/raced", "HTTP/1.1")], TLSSite.seen)
    finally:
        site.shutdown()
        site.server_close()


def alt_svc(tmp):
    with h3_server(H3SERVER, tmp, seconds=60, tcp=True) as srv:
        base = f"https://127.0.0.1:{srv.port}"
        with guise.Client(profile=PROFILE, cacert=srv.cert) as c:
            vs = [c.get(base + "/headers?alt0").http_version]
            # The second request is served at once by the h2 connection while
            # HTTP/3 starts beside it (Chrome's orphaned QUIC job); later ones find
            # it up. Up to 40 requests, 0.1 s apart, for a loaded machine.
            for i in range(1, 40):
                vs.append(c.get(base + f"/headers?alt{i}").http_version)
                if vs[-3:] == ["HTTP/3"] * 3:
                    break
                time.sleep(0.1)
            check("Alt-Svc: a Client's first request over HTTP/2, later ones over HTTP/3, none back to 2",
                  vs[0] == "HTTP/2" and vs[-1] == "HTTP/3" and "HTTP/2" not in vs[vs.index("HTTP/3"):], vs)
            got = protocols(srv, "/headers?alt")
            check("Alt-Svc: h3server's log agrees (first HTTP/2.0, last HTTP/3.0, one QUIC connection)",
                  len(got) == len(vs) and got[0][0] == "HTTP/2.0" and got[-1][0] == "HTTP/3.0"
                  and len({cid for p, cid in got if p == "HTTP/3.0"}) == 1, got)
            r = c.get(base + "/headers?only", http_version="3-only")
            only = protocols(srv, "/headers?only")
            check("a per-request '3-only' after it is answered over HTTP/3",
                  r.http_version == "HTTP/3" and len(only) == 1 and only[0][0] == "HTTP/3.0", (r, only))
        with guise.Client(profile=PROFILE, cacert=srv.cert) as c:
            r = c.get(base + "/headers?fresh")
            check("a new Client starts over HTTP/2 (the Alt-Svc cache is the client's)",
                  r.http_version == "HTTP/2" and protocols(srv, "/headers?fresh")[0][0] == "HTTP/2.0", r)
        with guise.Client(profile=PROFILE, cacert=srv.cert, http_version="2") as c:
            vs = [c.get(base + f"/headers?h2-{i}").http_version for i in range(4)]
            check("http_version='2' stays on HTTP/2 although the origin announced h3", vs == ["HTTP/2"] * 4, vs)


def refusals():
    bad = ("4", "h3", "HTTP/3", 3.5, 4, True, [], "3only")
    for v in bad:
        try:
            guise.Client(http_version=v)
            check(f"Client(http_version={v!r}) is refused", False)
        except guise.UsageError as e:
            check(f"Client(http_version={v!r}): UsageError naming the allowed values",
                  "'3-only'" in str(e) and repr(v) in str(e), str(e))
        except Exception as e:  # noqa: BLE001 -- a TypeError for [] would be the bug
            check(f"Client(http_version={v!r}): UsageError", False, repr(e))
    with guise.Client(profile=PROFILE) as c:
        for v in ("4", []):
            try:
                c.get("https://127.0.0.1:9/", http_version=v)
                check(f"a request's http_version={v!r} is refused", False)
            except guise.UsageError as e:
                check(f"a request's http_version={v!r}: UsageError", "'3-only'" in str(e), str(e))
    try:
        guise.batch(["https://127.0.0.1:9/"], http_version="4")
        check("guise.batch(http_version='4') is refused", False)
    except guise.UsageError as e:
        check("guise.batch(http_version='4'): UsageError", "'3-only'" in str(e), str(e))

    # The library's refusals, as the package's exceptions (nothing is sent: the
    # ports are never reached).
    try:
        guise.get("https://127.0.0.1:9/", profile=NO_H3_PROFILE, http_version="3-only", timeout=5)
        check(f"'3-only' with {NO_H3_PROFILE} (no http3 section) is refused", False)
    except guise.ProfileError as e:
        check(f"'3-only' with {NO_H3_PROFILE}: ProfileError saying the profile has no http3 section",
              "http3 section" in e.detail and e.name == "PROFILE_UNSUPPORTED", (e.name, e.detail))
    except guise.GuiseError as e:
        check(f"'3-only' with {NO_H3_PROFILE}: ProfileError", False, repr(e))
    for proxy in ("http://127.0.0.1:9", "socks4://127.0.0.1:9"):
        try:
            guise.get("https://127.0.0.1:9/", profile=PROFILE, proxy=proxy, http_version="3-only", timeout=5)
            check(f"'3-only' through {proxy} is refused", False)
        except guise.UsageError as e:
            check(f"'3-only' through {proxy.split(':')[0]}://: UsageError, the proxy carries no UDP",
                  "carries no UDP" in e.detail and e.name == "USAGE_URL_SCHEME", (e.name, e.detail))
        except guise.GuiseError as e:
            check(f"'3-only' through {proxy}: UsageError", False, repr(e))
    # A SOCKS5 proxy that answers the UDP ASSOCIATE with reply 1, "general SOCKS
    # server failure".
    srv = fake_socks5_udp(b"\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00")
    try:
        guise.get("https://127.0.0.1:9/", profile=PROFILE, proxy=f"socks5://127.0.0.1:{srv.getsockname()[1]}",
                  http_version="3-only", timeout=5)
        check("'3-only' through a SOCKS5 proxy refusing UDP ASSOCIATE fails", False)
    except guise.ProxyError as e:
        check("'3-only' through a SOCKS5 proxy refusing UDP ASSOCIATE: ProxyError naming its reply 1",
              "UDP ASSOCIATE: reply 1" in e.detail, (e.name, e.detail))
        print(f"   ({e.name}: {e.detail})")
    except guise.GuiseError as e:
        check("'3-only' through a SOCKS5 proxy refusing UDP ASSOCIATE: ProxyError", False, repr(e))
    finally:
        srv.close()
    try:
        guise.get("http://127.0.0.1:9/", profile=PROFILE, http_version="3-only", timeout=5)
        check("'3-only' for an http:// URL is refused", False)
    except guise.UsageError as e:
        check("'3-only' for an http:// URL: UsageError (HTTP/3 is for https://)", "https://" in e.detail, e.detail)


with tempfile.TemporaryDirectory() as tmp:
    refusals()
    h3_only(tmp)
    fallback(tmp)
    alt_svc(tmp)
finish()

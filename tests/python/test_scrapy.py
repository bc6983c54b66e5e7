#!/usr/bin/env python3
"""A real Scrapy spider (Debian's python3-scrapy, the asyncio reactor) crawls a site of
200 pages on two loopback hosts through guise.scrapy.DownloadHandler, everything over
HTTPS. The site is a Python TLS server of this test that reads each connection's
ClientHello before its handshake (MSG_PEEK) and has `guise fp` fingerprint it; the
expected fingerprints are the profiles' "expected" blocks (their real browsers').

The site: site-a.test on 127.0.0.1 and site-b.test on 127.0.0.2 (names through
GUISE_RESOLVE: SNI as a browser sends it). /start on A sets cookie sid_a and links to
B's /start, which sets sid_b and links to A's /p/0; page i lives on A when i is even,
on B when odd, and links to pages i+1 and i+7; every /p/ page answers 403 without its
host's cookie. Page 49 links to /old/50, a 302 to /p/50; /p/100 answers 503 the first
time (Scrapy's RetryMiddleware retries it); /ff on A is fetched with
meta["guise_profile"] = firefox-144, and /via on B with meta["proxy"] =
http://ann:p%40ss@ a CONNECT proxy of the test (Scrapy's HttpProxyMiddleware turns
the credentials into a Proxy-Authorization header: they must reach the proxy, and
not the site); pages 3, 13, ... come gzip-encoded.

Fails when a page is missed, a cookie was not sent, or a connection's JA4 is not its
profile's.

usage: test_scrapy.py GUISE    (PYTHONPATH holds the built package)
       test_scrapy.py --crawl CONFIG.json   (the spider, run by the test as a child)
"""
import gzip
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

PAGES = 200
FF_PROFILE = "firefox-144"


# ---- the spider (the child process) --------------------------------------------------

def crawl(cfg_path):
    with open(cfg_path) as f:
        cfg = json.load(f)
    import scrapy
    from scrapy.crawler import CrawlerProcess
    import guise

    seen = []

    class Site(scrapy.Spider):
        name = "site"

        def start_requests(self):
            yield scrapy.Request(cfg["start"], callback=self.parse)
            yield scrapy.Request(cfg["ff"], callback=self.parse, meta={"guise_profile": FF_PROFILE})
            yield scrapy.Request(cfg["via"], callback=self.parse, meta={"proxy": cfg["proxy"]})

        def parse(self, response):
            seen.append({"url": response.url, "status": response.status,
                         "class": type(response).__name__, "ip": str(response.ip_address),
                         "protocol": response.protocol,
                         "ctype": response.headers.get("Content-Type", b"").decode()})
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href, callback=self.parse)

    proc = CrawlerProcess(settings={
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "DOWNLOAD_HANDLERS": {"https": "guise.scrapy.DownloadHandler",
                              "http": "guise.scrapy.DownloadHandler"},
        "GUISE_PROFILE": cfg["profile"],
        "GUISE_CACERT": cfg["cacert"],
        "GUISE_RESOLVE": cfg["resolve"],
        "ROBOTSTXT_OBEY": False,
        "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "RETRY_TIMES": 2,
        "DOWNLOAD_TIMEOUT": 20,
        "LOG_LEVEL": "WARNING",
    })
    crawler = proc.create_crawler(Site)
    proc.crawl(crawler)
    proc.start()
    stats = crawler.stats.get_stats()
    with open(cfg["out"], "w") as f:
        json.dump({"seen": seen, "reactor": type(__import__("twisted.internet.reactor").internet.reactor).__name__,
                   "stats": {k: v for k, v in stats.items() if isinstance(v, (int, str, float))},
                   "guise": guise.version()["guise"]}, f)


# ---- the site (the test) -------------------------------------------------------------

class Conn:
    """One TLS connection the site accepted: its ClientHello's fingerprints, the
    paths it served."""

    def __init__(self, host, hello):
        self.host, self.hello, self.paths, self.ja4 = host, hello, [], None


class Site(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        conn = srv.tl.conn
        conn.paths.append(self.path)
        st = srv.state
        with st["lock"]:
            st["hits"].append((srv.name, self.path))
            st["ua"].add(self.headers.get("User-Agent", ""))
            st["ae"].add(self.headers.get("Accept-Encoding", ""))
        cookie = self.headers.get("Cookie", "")
        other = "https://site-b.test:%d" % st["ports"]["b"] if srv.name == "a" else \
            "https://site-a.test:%d" % st["ports"]["a"]
        html = "<!doctype html><html><head><meta charset=utf-8><title>{}</title></head><body>{}</body></html>"
        if self.path == "/start":
            nxt = other + ("/start" if srv.name == "a" else "/p/0")
            body = html.format("start", f'<a href="{nxt}">next</a>').encode()
            self.reply(200, body, [("Content-Type", "text/html; charset=utf-8"),
                                   ("Set-Cookie", f"sid_{srv.name}=s3cret-{srv.name}; Path=/")])
            return
        if self.headers.get("Proxy-Authorization"):
            with st["lock"]:
                st["leaked"].append(self.path)
        if self.path == "/ff" or self.path == "/via":
            self.reply(200, html.format("ff", "firefox").encode(), [("Content-Type", "text/html")])
            return
        if self.path.startswith("/old/"):
            self.reply(302, b"", [("Location", "/p/" + self.path[5:])])
            return
        if self.path.startswith("/p/"):
            if f"sid_{srv.name}=s3cret-{srv.name}" not in cookie:
                with st["lock"]:
                    st["no_cookie"].append((srv.name, self.path, cookie))
                self.reply(403, b"no cookie")
                return
            i = int(self.path[3:])
            if i == 100:
                with st["lock"]:
                    st["n100"] += 1
                    first = st["n100"] == 1
                if first:
                    self.reply(503, b"busy, try again")
                    return
            links = []
            for j in (i + 1, i + 7):
                if j >= PAGES:
                    continue
                path = f"/old/{j}" if j == 50 else f"/p/{j}"
                owner = "a" if j % 2 == 0 else "b"
                links.append(path if owner == srv.name else other + path)
            body = html.format(f"page {i}", "".join(f'<a href="{h}">{h}</a> ' for h in links)).encode()
            hdrs = [("Content-Type", "text/html; charset=utf-8")]
            if i % 10 == 3 and "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body)  # decoded by guise: Scrapy must not decode it again
                hdrs.append(("Content-Encoding", "gzip"))
            self.reply(200, body, hdrs)
            return
        self.reply(404, b"")


class TLSSite(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, name, ctx, state):
        super().__init__(addr, Site)
        self.name, self.ctx, self.state = name, ctx, state
        self.tl = threading.local()

    def finish_request(self, request, client_address):
        # The ClientHello as it came, before the handshake reads it.
        request.settimeout(10)
        data = b""
        while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
            more = request.recv(65536, socket.MSG_PEEK)
            if len(more) == len(data):
                if not more:
                    return
                time.sleep(0.01)
            data = more
        conn = Conn(self.name, data[:5 + int.from_bytes(data[3:5], "big")])
        with self.state["lock"]:
            self.state["conns"].append(conn)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            conn.paths.append(f"handshake failed: {e}")
            return
        self.tl.conn = conn
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def connect_proxy(state):
    """A CONNECT proxy on 127.0.0.1 that records each CONNECT line and its
    Proxy-Authorization, then relays bytes both ways."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)

    def pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def one(c):
        c.settimeout(20)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            d = c.recv(4096)
            if not d:
                c.close()
                return
            head += d
        lines = head.split(b"\r\n")
        target = lines[0].split()[1].decode()
        auth = next((ln.split(b":", 1)[1].strip().decode() for ln in lines[1:]
                     if ln.lower().startswith(b"proxy-authorization:")), None)
        with state["lock"]:
            state["connects"].append((target, auth))
        host, port = target.rsplit(":", 1)
        ip = {"site-a.test": "127.0.0.1", "site-b.test": "127.0.0.2"}.get(host, host)
        try:
            up = socket.create_connection((ip, int(port)), timeout=10)
        except OSError:
            c.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            c.close()
            return
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        c.settimeout(None)
        up.settimeout(None)
        threading.Thread(target=pipe, args=(up, c), daemon=True).start()
        pipe(c, up)

    def loop():
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return lsock


def expected(guise_bin, profile):
    r = subprocess.run([guise_bin, "profile", "show", profile], capture_output=True, text=True, timeout=30)
    return json.loads(r.stdout)["expected"]


def ja4_of(guise_bin, tmp, hello):
    """JA4 of one ClientHello record, by `guise fp` (the observer of guise echo)."""
    path = os.path.join(tmp, "hello.hex")
    with open(path, "w") as f:
        f.write(hello.hex())
    r = subprocess.run([guise_bin, "fp", path], capture_output=True, text=True, timeout=30)
    try:
        return json.loads(r.stdout.splitlines()[0])["tls"]["fingerprints"]["ja4"]
    except (IndexError, KeyError, ValueError):
        return f"unparsed: {r.stdout[:200]} {r.stderr[:200]}"


def main():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from guise_testlib import check, finish
    guise_bin = sys.argv[1]
    try:
        import scrapy
    except ImportError:
        check("Scrapy is installed for " + sys.executable + " (python3-scrapy; tools/setup installs it)", False)
        finish()
    try:
        import guise
    except ImportError as e:
        check(f"the guise package imports under {sys.executable} (PYTHONPATH={os.environ.get('PYTHONPATH')})",
              False, e)
        finish()
    print(f"scrapy {scrapy.__version__} under {sys.executable}, guise {guise.version()['guise']}")
    profile = guise.DEFAULT_PROFILE
    want = {profile: expected(guise_bin, profile)["ja4"], FF_PROFILE: expected(guise_bin, FF_PROFILE)["ja4"]}
    check("the two profiles' expected JA4 differ (so the per-request profile is seen)",
          want[profile] != want[FF_PROFILE], want)

    with tempfile.TemporaryDirectory() as tmp:
        key, crt = f"{tmp}/site.key", f"{tmp}/site.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=site-a.test",
                        "-addext", "subjectAltName=DNS:site-a.test,DNS:site-b.test"],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        ctx.set_alpn_protocols(["http/1.1"])
        ctx.num_tickets = 0  # no resumption: every ClientHello is a first one, as "expected" is
        state = {"lock": threading.Lock(), "hits": [], "no_cookie": [], "n100": 0, "conns": [], "ports": {},
                 "ua": set(), "ae": set(), "leaked": [],
                 "connects": []}
        servers = []
        try:
            for name, ip in (("a", "127.0.0.1"), ("b", "127.0.0.2")):
                srv = TLSSite((ip, 0), name, ctx, state)
                state["ports"][name] = srv.server_address[1]
                threading.Thread(target=srv.serve_forever, daemon=True).start()
                servers.append(srv)
            pa, pb = state["ports"]["a"], state["ports"]["b"]
            proxy_sock = connect_proxy(state)
            servers_extra = [proxy_sock]
            cfg = {"start": f"https://site-a.test:{pa}/start", "ff": f"https://site-a.test:{pa}/ff",
                   "via": f"https://site-b.test:{pb}/via",
                   "proxy": f"http://ann:p%40ss@127.0.0.1:{proxy_sock.getsockname()[1]}",
                   "profile": profile, "cacert": crt, "out": f"{tmp}/out.json",
                   "resolve": [f"site-a.test:{pa}:127.0.0.1", f"site-b.test:{pb}:127.0.0.2"]}
            with open(f"{tmp}/cfg.json", "w") as f:
                json.dump(cfg, f)
            t0 = time.monotonic()
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--crawl", f"{tmp}/cfg.json"],
                               capture_output=True, text=True, timeout=180)
            took = time.monotonic() - t0
        finally:
            for srv in servers:
                srv.shutdown()
                srv.server_close()
            for x in locals().get("servers_extra", []):
                x.close()
        check("the crawl process exited 0", r.returncode == 0, r.stderr[-3000:])
        check("the crawl logged no error", "ERROR" not in r.stderr, r.stderr[-3000:])
        try:
            with open(cfg["out"]) as f:
                out = json.load(f)
        except (OSError, ValueError) as e:
            check("the crawl wrote its results", False, e)
            finish()
        seen = out["seen"]
        print(f"crawl: {len(seen)} responses in {took:.1f} s, reactor {out['reactor']}, "
              f"{len(state['conns'])} TLS connections")
        check("Scrapy ran the asyncio reactor", out["reactor"] == "AsyncioSelectorReactor", out["reactor"])
        pages = {int(s["url"].rsplit("/", 1)[1]) for s in seen if "/p/" in s["url"] and s["status"] == 200}
        check(f"every one of the {PAGES} pages was crawled with status 200",
              pages == set(range(PAGES)), sorted(set(range(PAGES)) - pages))
        check("no page was fetched twice but the 503 one",
              len([s for s in seen if "/p/" in s["url"]]) == PAGES, len(seen))
        check("each page came from its own host",
              all(("site-a.test" in s["url"]) == (int(s["url"].rsplit("/", 1)[1]) % 2 == 0)
                  for s in seen if "/p/" in s["url"]))
        check("every request of a /p/ page carried its host's cookie (set by a response before)",
              not state["no_cookie"], state["no_cookie"][:5])
        check("the redirect /old/50 -> /p/50 was followed (by Scrapy's RedirectMiddleware)",
              ("a", "/old/50") in state["hits"] and any(s["url"].endswith(":%d/p/50" % pa) for s in seen),
              [h for h in state["hits"] if "50" in h[1]])
        check("/p/100 answered 503 once, and Scrapy's retry fetched it again",
              state["n100"] == 2 and out["stats"].get("retry/count") == 1, (state["n100"], out["stats"]))
        check("responses are HtmlResponse, with ip_address and protocol",
              all(s["class"] == "HtmlResponse" for s in seen) and
              all(s["ip"] == ("127.0.0.1" if "site-a" in s["url"] or "/via" in s["url"] else "127.0.0.2")
                  for s in seen) and  # /via: the proxy's address
              all(s["protocol"] == "HTTP/1.1" for s in seen), seen[:3])
        check("/ff was fetched", any(s["url"].endswith("/ff") for s in seen))
        want_auth = "Basic " + __import__("base64").b64encode(b"ann:p@ss").decode()
        check("meta['proxy'] with credentials: one CONNECT to site-b through the proxy, with "
              "Proxy-Authorization from the URL's user and password",
              state["connects"] == [(f"site-b.test:{pb}", want_auth)] and
              any(s["url"].endswith("/via") for s in seen), state["connects"])
        check("Proxy-Authorization never reached the site", not state["leaked"], state["leaked"])
        check("the profiles' User-Agent was sent, never Scrapy's default",
              state["ua"] and all(u.startswith("Mozilla/5.0") and "Scrapy" not in u for u in state["ua"]),
              state["ua"])
        check("the profiles' Accept-Encoding was sent (Scrapy's is dropped: guise decodes)",
              state["ae"] and all("zstd" in a or "br" in a for a in state["ae"]) and
              "gzip, deflate" not in state["ae"], state["ae"])

        # Every connection's ClientHello: its profile's real browser's JA4.
        bad = []
        for c in state["conns"]:
            c.ja4 = ja4_of(guise_bin, tmp, c.hello)
            prof = FF_PROFILE if "/ff" in c.paths else profile
            if c.ja4 != want[prof]:
                bad.append((c.host, c.paths[:3], c.ja4, want[prof]))
        check(f"all {len(state['conns'])} connections (both hosts) showed their profile's JA4", not bad and
              len({c.host for c in state["conns"]}) == 2, bad[:5])
        check("the firefox request had a connection of its own with firefox's JA4",
              any("/ff" in c.paths and c.ja4 == want[FF_PROFILE] for c in state["conns"]))
        served = sum(len(c.paths) for c in state["conns"])
        check("connections were reused (fewer connections than requests)",
              len(state["conns"]) < served / 2, (len(state["conns"]), served))
    finish()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--crawl":
        crawl(sys.argv[2])
    else:
        main()

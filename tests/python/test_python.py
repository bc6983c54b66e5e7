#!/usr/bin/env python3
"""The guise Python package (client/python) against loopback servers: guise echo
(what the server saw: the profile's fingerprint for sync and async requests) and a
small HTTP/1.1 server of this test (cookies, redirects, a stall, a reset).

usage: test_python.py GUISE   (PYTHONPATH holds the built package: BUILD/python)
"""
import asyncio
import builtins
import gc
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from guise_testlib import QuietHandler, check, free_port, wait_port, finish  # noqa: E402

import guise  # noqa: E402

GUISE = sys.argv[1]


def expected(profile):
    """The profile's "expected" block: what its real browser showed (guise profile show)."""
    r = subprocess.run([GUISE, "profile", "show", profile], capture_output=True, text=True, timeout=30)
    return json.loads(r.stdout)["expected"]


class Site(QuietHandler):

    def do_GET(self):
        if self.path == "/set":
            self.reply(302, headers=[("Set-Cookie", "sid=abc123; Path=/"), ("Location", "/echo")])
        elif self.path.startswith("/echo"):
            body = json.dumps({"path": self.path, "headers": list(self.headers.items())}).encode()
            self.reply(200, body, [("Content-Type", "application/json; charset=utf-8")])
        elif self.path == "/latin1":
            self.reply(200, "café".encode("latin-1"), [("Content-Type", "text/plain; charset=iso-8859-1")])
        elif self.path == "/stall":
            time.sleep(5)
        elif self.path == "/slowbody":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(50):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif self.path == "/status/503":
            self.reply(503, b"busy")
        else:
            self.reply(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        out = json.dumps({"body": body.decode("latin-1"), "headers": list(self.headers.items())}).encode()
        self.reply(200, out, [("Content-Type", "application/json")])


def main():
    echo_port = free_port()
    echo = subprocess.Popen([GUISE, "echo", "--listen", f"127.0.0.1:{echo_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    site.daemon_threads = True
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{site.server_address[1]}"
    try:
        wait_port(echo_port)
        run(f"https://localhost:{echo_port}", base)  # a name: SNI, as a browser sends
    finally:
        site.shutdown()
        echo.terminate()
        echo.wait(10)
    finish()


def run(echo, base):
    prof = guise.DEFAULT_PROFILE
    want = expected(prof)
    # -- the fingerprint: sync, one-shot, async
    r = guise.get(echo + "/one", verify=False)
    doc = r.json()
    check("one-shot get: 200 over HTTP/2", r.status_code == 200 and r.http_version == "HTTP/2", r)
    check(f"one-shot: JA4 seen by echo is {prof}'s real browser's",
          doc["tls"]["fingerprints"]["ja4"] == want["ja4"], (doc["tls"]["fingerprints"]["ja4"], want["ja4"]))
    check("one-shot: Akamai HTTP/2 fingerprint is the browser's",
          doc["http2"]["akamai"] == want["akamai"], (doc["http2"]["akamai"], want["akamai"]))
    check("Response.tls: TLS 1.3 with X25519MLKEM768", r.tls["version"] == "TLSv1.3" and
          r.tls["group"] == "X25519MLKEM768", r.tls)
    with guise.Client(verify=False) as c:
        docs = [c.get(echo + f"/s{i}").json() for i in range(5)]
    check("Client: five requests, one TLS connection (echo numbers its connections)",
          len({json.dumps(d["connection"]) for d in docs}) == 1, [d.get("connection") for d in docs])
    check("Client: JA4 of every request is the browser's",
          all(d["tls"]["fingerprints"]["ja4"] == want["ja4"] for d in docs))

    async def many():
        async with guise.AsyncClient(verify=False) as c:
            rs = await asyncio.gather(*(c.get(echo + f"/a{i}") for i in range(200)))
            return rs
    rs = asyncio.run(many())
    check("AsyncClient: 200 concurrent requests all 200",
          len(rs) == 200 and all(x.status_code == 200 for x in rs))
    check("AsyncClient: JA4 and Akamai are the browser's",
          all(x.json()["tls"]["fingerprints"]["ja4"] == want["ja4"] and
              x.json()["http2"]["akamai"] == want["akamai"] for x in rs))
    ff = expected("firefox-144")
    r = guise.get(echo + "/ff", verify=False, profile="firefox-144")
    check("profile= per call: Firefox 144's JA4", r.json()["tls"]["fingerprints"]["ja4"] == ff["ja4"])

    # -- guise.batch: the C engine, jobs from a generator
    jobs = (echo + f"/batch{i}" for i in range(500))
    recs = list(guise.batch(jobs, verify=False, concurrency=32, body="text"))
    check("batch over a generator: 500 jobs, 500 records, ids 1..500 once each",
          len(recs) == 500 and sorted(int(r["id"]) for r in recs) == list(range(1, 501)),
          (len(recs), recs[:1]))
    seen = [json.loads(r["body"])["tls"]["fingerprints"]["ja4"] for r in recs if r.get("body")]
    check("batch: JA4 seen by echo is the profile's on every job",
          len(seen) == 500 and set(seen) == {want["ja4"]}, set(seen))
    recs = list(guise.batch(["not a url", {"url": echo + "/j", "id": "x"}, "", "# comment"], verify=False))
    check("batch: a bad line gets an error record with its line number, a dict job its own id",
          [(r["id"], r["error"]) for r in recs] == [("1", "USAGE_INVALID_ARGUMENT"), ("x", None)], recs)
    it = guise.batch((base + "/stall" for _ in range(20)), profile=None, timeout=10)
    old = signal.signal(signal.SIGALRM, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt))
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    t0 = time.monotonic()
    try:
        list(it)
        check("Ctrl-C during guise.batch", False, "no exception")
    except KeyboardInterrupt:
        check("Ctrl-C during guise.batch stops it at once (jobs in flight cancelled)",
              time.monotonic() - t0 < 3, time.monotonic() - t0)
    finally:
        signal.signal(signal.SIGALRM, old)

    # -- cookies, redirects, headers in order, bodies
    with guise.Client(profile=None) as c:
        r = c.get(base + "/set")
        sent = dict((k.lower(), v) for k, v in r.json()["headers"])
        check("redirect followed: 302 then 200, history holds the hop",
              r.status_code == 200 and len(r.history) == 1 and r.history[0][1] == 302, (r, r.history))
        check("cookie from the 302 sent on the next request", sent.get("cookie") == "sid=abc123", sent)
        r = c.get(base + "/echo", headers=[("X-First", "1"), ("X-Second", "2")], params={"q": "a b"})
        names = [k for k, _ in r.json()["headers"]]
        check("headers in the order given", names.index("X-First") < names.index("X-Second"), names)
        check("params encoded into the query", r.json()["path"] == "/echo?q=a+b", r.json()["path"])
        r = c.post(base + "/echo", json={"a": 1})
        d = r.json()
        hd = dict((k.lower(), v) for k, v in d["headers"])
        check("json= body and content-type", d["body"] == '{"a":1}' and hd.get("content-type") == "application/json", d)
        r = c.post(base + "/echo", data={"x": "1 2", "y": "é"})
        check("data= dict form-encoded", r.json()["body"] == "x=1+2&y=%C3%A9", r.json()["body"])
        r = c.get(base + "/latin1")
        check("text decoded with the Content-Type's charset", r.text == "café", repr(r.text))
        r = c.get(base + "/status/503")
        try:
            r.raise_for_status()
            check("raise_for_status on 503", False)
        except guise.HTTPStatusError as e:
            check("raise_for_status on 503 raises HTTPStatusError", e.response.status_code == 503)
        check("Headers: case-insensitive", r.headers["CONTENT-LENGTH"] == "4", r.headers)

    # Request kinds (kind=, referer=): the profile's header set for an image, as the
    # headed Debian chromium 156 sent it over HTTP/1.1 (tests/data/captures/kinds).
    cap_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "captures", "kinds",
                            "chromium-http1.jsonl")
    want = None
    for line in open(cap_file):
        d = json.loads(line)
        if d["kind"] == "image" and d["target"] == "same-origin":
            want = {k.lower(): v for k, v in d["headers"]}
    keys = ("accept", "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "user-agent")
    with guise.Client(profile="chromium-156-linux") as c:
        r = c.get(base + "/echo", kind="image", referer=base + "/page.html")
        got = {k.lower(): v for k, v in r.json()["headers"]}
        check("kind='image', referer=: accept, sec-fetch-*, user-agent as the headed chromium 156's image request",
              want is not None and all(got.get(k) == want.get(k) for k in keys),
              {k: (got.get(k), want and want.get(k)) for k in keys})
        check("... and the Referer is the initiator's page (same origin: the whole URL)",
              got.get("referer") == base + "/page.html", got.get("referer"))
        try:
            c.get(base + "/echo", kind="no-such-kind")
            check("an unknown kind raises UsageError", False)
        except guise.UsageError:
            check("an unknown kind raises UsageError", True)

    # -- errors: the right class
    def raises(what, cls, fn):
        try:
            fn()
            check(what, False, "no exception")
        except cls as e:
            check(what, isinstance(e, guise.GuiseError), repr(e))
        except Exception as e:  # noqa: BLE001
            check(what, False, repr(e))
    dead = free_port()
    raises("refused -> ConnectError", guise.ConnectError, lambda: guise.get(f"http://127.0.0.1:{dead}/"))
    raises("echo's own certificate without verify=False -> CertificateError", guise.CertificateError,
           lambda: guise.get(echo + "/"))
    raises("stalled server -> guise.TimeoutError", guise.TimeoutError,
           lambda: guise.get(base + "/stall", timeout=0.5))
    raises("guise.TimeoutError is also the built-in TimeoutError", builtins.TimeoutError,
           lambda: guise.get(base + "/stall", timeout=0.5))
    raises("malformed URL -> UsageError", guise.UsageError, lambda: guise.get("http://[::1/"))
    raises("unknown profile -> ProfileError", guise.ProfileError,
           lambda: guise.Client(profile="no-such-browser-1"))
    raises("timeout=nan -> UsageError", guise.UsageError, lambda: guise.get(base + "/echo", timeout=float("nan")))
    raises("Content-Length from the caller -> UsageError", guise.UsageError,
           lambda: guise.get(base + "/echo", headers={"Content-Length": "40"}))

    # -- lifetimes: close with requests pending, GC without close, Ctrl-C
    c = guise.Client(profile=None)
    errs = []

    def waiter():
        try:
            c.get(base + "/stall", timeout=10)
        except guise.GuiseError as e:
            errs.append(e)
    ts = [threading.Thread(target=waiter) for _ in range(3)]
    for t in ts:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    c.close()
    for t in ts:
        t.join(5)
    check("close() with 3 requests pending: each ends with ResourceError CANCELLED, at once",
          len(errs) == 3 and all(isinstance(e, guise.ResourceError) and e.name == "CANCELLED" for e in errs)
          and time.monotonic() - t0 < 2, (errs, time.monotonic() - t0))
    raises("a request on a closed client -> ResourceError", guise.ResourceError, lambda: c.get(base + "/echo"))
    tasks_before = len(os.listdir("/proc/self/task"))
    for _ in range(20):
        c = guise.Client(profile=None)
        c.get(base + "/echo")
        del c
    gc.collect()
    time.sleep(0.2)  # the site's handler threads of these 20 connections end
    tasks_after = len(os.listdir("/proc/self/task"))
    check("20 clients dropped without close(): no crash, their engine threads gone",
          tasks_after <= tasks_before, (tasks_before, tasks_after))

    def alarm(sig, frame):
        raise KeyboardInterrupt
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    t0 = time.monotonic()
    try:
        guise.get(base + "/stall", timeout=10)
        check("Ctrl-C during a request", False, "no exception")
    except KeyboardInterrupt:
        check("Ctrl-C (SIGINT's KeyboardInterrupt) during a request ends the wait at once",
              time.monotonic() - t0 < 2, time.monotonic() - t0)
    finally:
        signal.signal(signal.SIGALRM, old)

    async def interrupted():
        async with guise.AsyncClient(profile=None) as ac:
            tasks = [asyncio.ensure_future(ac.get(base + "/stall", timeout=10)) for _ in range(5)]
            await asyncio.sleep(0.3)
            for t in tasks:
                t.cancel()
            res = await asyncio.gather(*tasks, return_exceptions=True)
            ok = await ac.get(base + "/echo")
            return res, ok
    t0 = time.monotonic()
    res, ok = asyncio.run(interrupted())
    check("cancelled AsyncClient tasks end at once and the client goes on",
          all(isinstance(x, asyncio.CancelledError) for x in res) and ok.status_code == 200 and
          time.monotonic() - t0 < 3, (res, time.monotonic() - t0))

    # -- review findings: each of these hung, leaked or crashed before
    recs = list(guise.batch([echo + "/c0"], verify=False, concurrency=0))
    check("batch concurrency=0 means the engine's default (it hung)", len(recs) == 1 and recs[0]["status"] == 200,
          recs)
    raises("batch concurrency=-1 -> UsageError (it wrapped to 4294967295)", guise.UsageError,
           lambda: list(guise.batch([echo], concurrency=-1)))
    raises("Client max_body=-1 -> UsageError", guise.UsageError, lambda: guise.Client(max_body=-1))
    c = guise.Client(profile=None)
    try:
        c._engine.wait(12345)
        check("Engine.wait of a token that is no request: KeyError", False, "no exception")
    except KeyError:
        check("Engine.wait of a token that is no request: KeyError (it was a pointer: a crash)", True)
    c.close()
    try:
        guise.get("http://alice:s3cret@127.0.0.1:%d/" % free_port())
    except guise.GuiseError as e:
        check("an exception's request_url hides the password", "s3cret" not in str(e.request_url) and
              "alice:***@" in str(e.request_url), e.request_url)

    async def close_sync_with_pending():
        ac = guise.AsyncClient(profile=None)
        t = asyncio.ensure_future(ac.get(base + "/stall", timeout=10))
        await asyncio.sleep(0.3)
        ac.close()
        try:
            await asyncio.wait_for(t, 3)
            return "no exception"
        except guise.ResourceError as e:
            return e.name
        except asyncio.TimeoutError:
            return "still pending"
    check("AsyncClient.close() (the sync one) ends a pending request with CANCELLED",
          asyncio.run(close_sync_with_pending()) == "CANCELLED")

    async def cancel_stops():
        async with guise.AsyncClient(profile=None) as ac:
            t = asyncio.ensure_future(ac.get(base + "/slowbody", timeout=10))
            await asyncio.sleep(0.3)
            t.cancel()
            await asyncio.gather(t, return_exceptions=True)
            for _ in range(100):
                if ac._engine.in_flight() == 0:
                    break
                await asyncio.sleep(0.02)
            return ac._engine.in_flight()
    check("a cancelled task stops its request at its next callback (it ran to its timeout)",
          asyncio.run(cancel_stops()) == 0)

    async def drop_async_clients():
        before = len(os.listdir("/proc/self/task"))
        for _ in range(5):
            ac = guise.AsyncClient(verify=False)
            await ac.get(echo + "/drop")
            del ac
        gc.collect()
        await asyncio.sleep(0.2)
        return before, len(os.listdir("/proc/self/task"))
    before, after = asyncio.run(drop_async_clients())
    check("5 AsyncClients dropped without aclose(): their engine threads end with them",
          after <= before, (before, after))
    c = guise.Client(profile=None)
    closers = [threading.Thread(target=c.close) for _ in range(4)]
    for t in closers:
        t.start()
    for t in closers:
        t.join(10)
    check("close() from 4 threads at once returns in all of them (one hung)",
          not any(t.is_alive() for t in closers))

    # -- threads: one client per thread, and one shared by all
    shared = guise.Client(verify=False)
    bad = []

    def worker(i):
        own = guise.Client(verify=False)
        try:
            for j in range(20):
                for cl in (own, shared):
                    if cl.get(echo + f"/t{i}-{j}").status_code != 200:
                        bad.append((i, j))
        except Exception as e:  # noqa: BLE001
            bad.append(repr(e))
        finally:
            own.close()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    shared.close()
    check("4 threads, each with its own client and one shared client: 160 requests, all 200", not bad, bad)


if __name__ == "__main__":
    main()

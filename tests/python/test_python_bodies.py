#!/usr/bin/env python3
"""Bodies in the guise Python package against a loopback HTTP/1.1 server of this test:
Client.stream / AsyncClient.stream over a 50 MB body with bounded memory (a fast
reader, and a slow one whose backlog goes to the spill file), a stream left early,
a stream's error; files= multipart uploads parsed by the server; cookies= per request;
the type stubs against the package; Ctrl-C (SIGINT to a child process) during
guise.batch, an AsyncClient gather, a stream, and threads sharing a client.

usage: test_python_bodies.py GUISE   (PYTHONPATH holds the built package: BUILD/python)
"""
import asyncio
import hashlib
import http.server
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from guise_testlib import QuietHandler, check, finish, free_port  # noqa: E402

import guise  # noqa: E402

BIG = 50 * 1000 * 1000
BLOCK = bytes(range(256)) * 256  # 64 KiB


def big_digest():
    """SHA-256 of the /big body, made here the way the server sends it."""
    h = hashlib.sha256()
    left = BIG
    while left:
        n = min(left, len(BLOCK))
        h.update(BLOCK[:n])
        left -= n
    return h.hexdigest()


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def parse_multipart(ctype, body):
    """[(name, filename or None, content type or None, data)] of a multipart/form-data
    body, read here with no library: split on the boundary of the Content-Type."""
    m = re.search(r'boundary=("?)([^";]+)\1', ctype)
    if not m:
        return None, []
    boundary = m.group(2).encode()
    parts = []
    chunks = body.split(b"--" + boundary)
    if chunks[-1].strip() not in (b"--", b"--\r\n".strip()):
        return boundary.decode(), None  # no closing delimiter
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            return boundary.decode(), None
        head, _, data = chunk[2:-2].partition(b"\r\n\r\n")
        fields = {}
        for line in head.split(b"\r\n"):
            k, _, v = line.decode().partition(":")
            fields[k.strip().lower()] = v.strip()
        cd = fields.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', cd)
        fn = re.search(r'\bfilename="([^"]*)"', cd)
        parts.append((name.group(1) if name else None, fn.group(1) if fn else None,
                      fields.get("content-type"), data))
    return boundary.decode(), parts


class Site(QuietHandler):

    def do_GET(self):
        if self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            left = BIG
            try:
                while left:
                    n = min(left, len(BLOCK))
                    self.wfile.write(BLOCK[:n])
                    left -= n
            except OSError:
                pass
        elif self.path.startswith("/stall"):
            time.sleep(20)
        elif self.path == "/small":
            self.reply(200, b"hello stream", [("Content-Type", "text/plain"), ("X-Test", "1")])
        elif self.path == "/set":
            self.reply(200, b"set", [("Set-Cookie", "jar=kept; Path=/")])
        elif self.path == "/echo":
            self.reply(200, json.dumps(list(self.headers.items())).encode(),
                       [("Content-Type", "application/json")])
        else:
            self.reply(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ctype = self.headers.get("Content-Type", "")
        boundary, parts = parse_multipart(ctype, body)
        out = {"ctype": ctype, "boundary": boundary, "length": n,
               "parts": None if parts is None else
               [[a, b, c, hashlib.sha256(d).hexdigest(), len(d), d[:64].decode("latin-1")]
                for a, b, c, d in parts]}
        self.reply(200, json.dumps(out).encode(), [("Content-Type", "application/json")])


def test_stream(base):
    want = big_digest()
    with guise.Client() as c:
        c.get(base + "/small")  # the engine's thread and buffers exist before the baseline
        before = rss_kib()
        peak = before
        h = hashlib.sha256()
        n = pieces = 0
        biggest = 0
        with c.stream("GET", base + "/big") as r:
            check("stream: status and headers before the body", r.status_code == 200 and
                  r.headers["content-length"] == str(BIG), (r.status_code, r.headers))
            for chunk in r.iter_bytes():
                h.update(chunk)
                n += len(chunk)
                pieces += 1
                biggest = max(biggest, len(chunk))
                if pieces % 8 == 0:
                    peak = max(peak, rss_kib())
        check(f"stream: {BIG} bytes, the server's SHA-256", n == BIG and h.hexdigest() == want, (n, pieces))
        check("stream: no piece above 1 MiB", biggest <= 1 << 20, biggest)
        grew = (peak - before) / 1024
        print(f"stream (fast reader): {pieces} pieces, RSS {before} KiB -> peak {peak} KiB (+{grew:.1f} MiB)")
        check("stream (fast reader): RSS grew less than 8 MiB for a 50 MB body", grew < 8, grew)
        check("stream: info and http_version known at the end", r.http_version == "HTTP/1.1" and
              r.info["body_bytes"] == BIG, (r.http_version, r.info))

        # A slow reader: the engine runs ahead, the backlog beyond 1 MiB goes to the
        # spill file, memory stays bounded, the bytes stay in order.
        before = peak = rss_kib()
        h = hashlib.sha256()
        n = 0
        with c.stream("GET", base + "/big") as r:
            it = r.iter_bytes()
            first = next(it)
            time.sleep(1.5)  # the server sends most of the 50 MB meanwhile
            peak = max(peak, rss_kib())
            spill = []
            for fd in os.listdir("/proc/self/fd"):
                try:
                    spill.append(os.readlink(f"/proc/self/fd/{fd}"))
                except OSError:  # the listing's own descriptor
                    pass
            spill = [p for p in spill if p.endswith("(deleted)")]
            check("stream (slow reader): the backlog went to an unlinked spill file", spill, spill)
            h.update(first)
            n += len(first)
            for chunk in it:
                h.update(chunk)
                n += len(chunk)
                peak = max(peak, rss_kib())
        grew = (peak - before) / 1024
        print(f"stream (slow reader): RSS {before} KiB -> peak {peak} KiB (+{grew:.1f} MiB)")
        check("stream (slow reader): the whole body, in order", n == BIG and h.hexdigest() == want, n)
        check("stream (slow reader): RSS grew less than 8 MiB", grew < 8, grew)

        # No spill file to be had (TMPDIR names no folder): the stream ends with a
        # clear error once the reader falls 1 MiB behind, never with a partial body
        # taken for the whole.
        old_tmp = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = "/nonexistent-guise-test-dir"
        n = 0
        try:
            with c.stream("GET", base + "/big") as r:
                it = r.iter_bytes()
                n += len(next(it))
                time.sleep(1.0)
                for chunk in it:
                    n += len(chunk)
            check("stream without a spill folder: an error", False, n)
        except guise.ResourceError as e:
            check("stream without a spill folder: ResourceError naming the cause",
                  "could not be kept" in e.detail and "No such file" in e.detail and n < BIG, (e.detail, n))
        finally:
            if old_tmp is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = old_tmp
        check("the client works after a stream's error", c.get(base + "/small").content == b"hello stream")

        # Left early: the request stops, the client goes on.
        t0 = time.monotonic()
        with c.stream("GET", base + "/big") as r:
            for chunk in r.iter_bytes():
                break
        r2 = c.get(base + "/small")
        check("stream left early: the client still works", r2.content == b"hello stream", r2)
        check("stream left early: no wait for the rest of the body", time.monotonic() - t0 < 10)
        with c.stream("GET", base + "/small") as r:
            check("stream of a small body: read()", r.read() == b"hello stream" and r.content == b"hello stream")

    port = free_port()
    try:
        with guise.Client() as c, c.stream("GET", f"http://127.0.0.1:{port}/") as r:
            check("stream to a closed port: no response", False, r)
    except guise.ConnectError as e:
        check("stream to a closed port: ConnectError when the block starts", e.name == "CONNECT_REFUSED", e)

    async def astream():
        async with guise.AsyncClient() as c:
            await c.get(base + "/small")
            before = peak = rss_kib()
            h = hashlib.sha256()
            n = 0
            small = await c.get(base + "/small")  # other requests go on while a stream is open
            async with c.stream("GET", base + "/big") as r:
                both = await asyncio.gather(c.get(base + "/small"), c.get(base + "/small"))
                async for chunk in r.aiter_bytes():
                    h.update(chunk)
                    n += len(chunk)
                    peak = max(peak, rss_kib())
            return r, n, h.hexdigest(), (peak - before) / 1024, [x.content for x in both] + [small.content]
    r, n, digest, grew, smalls = asyncio.run(astream())
    print(f"async stream: RSS +{grew:.1f} MiB")
    check("async stream: 50 MB with the server's SHA-256", n == BIG and digest == want, n)
    check("async stream: RSS grew less than 8 MiB", grew < 8, grew)
    check("async stream: requests made while a stream is open complete", smalls == [b"hello stream"] * 3, smalls)


def test_files_cookies(base):
    with guise.Client() as c:
        data = os.urandom(300_000)
        r = c.post(base + "/upload", files={"doc": ("report.bin", io.BytesIO(data), "application/x-test")},
                   data={"title": "Q3", "note": "ünï"})
        doc = r.json()
        ok = re.fullmatch(r"----WebKitFormBoundary[A-Za-z0-9]{16}", doc["boundary"] or "")
        check("files=: Content-Type multipart/form-data with a Chrome-shaped boundary",
              doc["ctype"].startswith("multipart/form-data; boundary=") and ok, doc["ctype"])
        parts = doc["parts"]
        check("files=: the body parses (closing delimiter, CRLFs)", parts is not None, doc)
        if parts:
            names = [(p[0], p[1], p[2]) for p in parts]
            check("files=: fields first, then the file, with filename and type",
                  names == [("title", None, None), ("note", None, None), ("doc", "report.bin", "application/x-test")],
                  names)
            check("files=: the file's bytes arrive whole", parts[2][3] == hashlib.sha256(data).hexdigest()
                  and parts[2][4] == len(data), parts[2][4])
            check("files=: form values as UTF-8", parts[1][5] == "ünï".encode().decode("latin-1"), parts[1])
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"guise-upload-{os.getpid()}.txt")
        with open(path, "wb") as f:
            f.write(b"line one\nline two\n")
        try:
            with open(path, "rb") as f:
                r = c.post(base + "/upload", files=[("a", f), ("b", ("x.json", b'{"k":1}')),
                                                     ("c", ("c.txt", "text value", "text/plain"))])
            parts = r.json()["parts"] or []
            check("files=: a bare file object (its base name, a type from the name), bytes and str contents",
                  [(p[0], p[1], p[2], p[5]) for p in parts] ==
                  [("a", os.path.basename(path), "text/plain", "line one\nline two\n"),
                   ("b", "x.json", "application/json", '{"k":1}'), ("c", "c.txt", "text/plain", "text value")],
                  parts)
        finally:
            os.unlink(path)
        try:
            c.post(base + "/upload", files={"a": ("x", b"1", "text/plain\r\nX-Evil: 1")})
            check("files=: a content type with a line break is refused", False)
        except guise.UsageError:
            check("files=: a content type with a line break: UsageError (no part header injected)", True)
        r = c.post(base + "/upload", files={'we"ird\r\nname': ('a"b\nc.txt', b"x")})
        parts = r.json()["parts"] or [[None, None]]
        check("files=: quotes and line breaks in names percent-escaped, as Chrome does",
              parts[0][:2] == ["we%22ird%0D%0Aname", "a%22b%0Ac.txt"], parts)
        try:
            c.post(base + "/upload", files={"a": ("x", b"1")}, json={"k": 1})
            check("files= with json=: refused", False)
        except guise.UsageError:
            check("files= with json=: UsageError", True)

        # cookies= per request, next to the client's jar.
        c.get(base + "/set")
        hdrs = dict((k.lower(), v) for k, v in c.get(base + "/echo", cookies={"one": "1", "two": "2"}).json())
        cookie = hdrs.get("cookie", "")
        check("cookies=: the request's cookies are sent", "one=1" in cookie and "two=2" in cookie, cookie)
        # As the command's -b: the request's Cookie field as given wins over the jar's
        # (docs/COOKIES.md; the library has no call giving the jar's cookies for a URL).
        check("cookies=: one Cookie field, exactly the request's", cookie == "one=1; two=2" and
              [k.lower() for k, _ in c.get(base + "/echo", cookies=[("z", "9")]).json()].count("cookie") == 1,
              cookie)
        hdrs = dict((k.lower(), v) for k, v in c.get(base + "/echo").json())
        check("cookies=: only for that request; the jar's cookie comes back after it",
              hdrs.get("cookie") == "jar=kept", hdrs.get("cookie"))


def test_stubs():
    """The type stubs installed with the package name what the package has."""
    import ast
    pkg = os.path.dirname(guise.__file__)

    def stub(name):
        with open(os.path.join(pkg, name)) as f:
            tree = ast.parse(f.read())
        top, classes = set(), {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                top.add(node.name)
            if isinstance(node, ast.ClassDef):
                classes[node.name] = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
                classes[node.name] |= {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
            elif isinstance(node, ast.AnnAssign):
                top.add(node.target.id)
        return top, classes
    top, classes = stub("__init__.pyi")
    missing = [n for n in guise.__all__ if n not in top]
    check("__init__.pyi: every name of guise.__all__", not missing, missing)
    for cls in ("Client", "AsyncClient", "Response"):
        real = {n for n in dir(getattr(guise, cls)) if not n.startswith("_")}
        have = set(classes.get(cls, ())) | set(classes.get("_Base", ()))
        check(f"__init__.pyi: every public method of {cls}", real <= have, sorted(real - have))
    top, classes = stub("_guise.pyi")
    from guise import _guise
    real = {n for n in dir(_guise) if not n.startswith("_")}
    check("_guise.pyi: every name of the C module", real <= top, sorted(real - top))
    for cls in ("Engine", "Batch"):
        real = {n for n in dir(getattr(_guise, cls)) if not n.startswith("_")}
        check(f"_guise.pyi: every method of {cls}", real <= classes.get(cls, set()),
              sorted(real - classes.get(cls, set())))


SIGINT_CHILDREN = {
    "guise.batch": """
import guise, sys
jobs = (f"{BASE}/stall?{i}" for i in range(2000))
print("ready", flush=True)
for rec in guise.batch(jobs, concurrency=64, profile=None, timeout=30):
    pass
""",
    "AsyncClient gather": """
import asyncio, guise
async def main():
    c = guise.AsyncClient(profile=None)
    tasks = [c.get(f"{BASE}/stall?{i}") for i in range(200)]
    print("ready", flush=True)
    await asyncio.gather(*tasks)
asyncio.run(main())
""",
    "a stream's iter_bytes": """
import guise
with guise.Client(profile=None) as c, c.stream("GET", f"{BASE}/big") as r:
    print("ready", flush=True)
    for chunk in r.iter_bytes():
        __import__("time").sleep(0.05)
""",
    "threads with a shared client": """
import guise, threading
c = guise.Client(profile=None)
def w():
    try:
        c.get(f"{BASE}/stall")
    except guise.GuiseError:
        pass
ts = [threading.Thread(target=w, daemon=True) for _ in range(4)]
for t in ts: t.start()
print("ready", flush=True)
for t in ts: t.join()
""",
}


def test_sigint(base):
    """Ctrl-C (SIGINT) in a child process in the middle of each of these: it ends with
    KeyboardInterrupt within seconds, with no crash and no hang."""
    for what, code in SIGINT_CHILDREN.items():
        p = subprocess.Popen([sys.executable, "-c", f"BASE = {base!r}\n" + code], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            ready = p.stdout.readline().strip()
            time.sleep(0.7)
            t0 = time.monotonic()
            p.send_signal(signal.SIGINT)
            try:
                _, err = p.communicate(timeout=10)
                took = time.monotonic() - t0
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                took = None
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        check(f"Ctrl-C during {what}: the process ends within 10 s by KeyboardInterrupt",
              ready == "ready" and took is not None and p.returncode in (-signal.SIGINT, 130, 1) and
              "KeyboardInterrupt" in err and "Fatal Python error" not in err and "Segmentation" not in err,
              (ready, took, p.returncode, err[-1500:]))
        print(f"  ({what}: exit {p.returncode} after {took if took is None else round(took, 2)} s)")


def main():
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    site.daemon_threads = True
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{site.server_address[1]}"
    try:
        test_stubs()
        test_stream(base)
        test_files_cookies(base)
        test_sigint(base)
    finally:
        site.shutdown()
        site.server_close()
    finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""guise.batch's records and iterator (client/python/src/_guise.c, "Iteration" and
"A record's JSON text as a dict"):

- the record reader (_guise._record_dict) gives what json.loads gives, to the type,
  the key order and the sign of zero, on the engine's record shapes, on hand-made
  texts (escapes, surrogate pairs, lone surrogates, numbers at the edges, nesting past
  the reader's depth, invalid texts) and on 3,000 random JSON documents and 3,000
  damaged records;
- a record of guise.batch is the record the `guise batch` command writes for the same
  job (timings and the Date field masked), for a URL, a JSON job with meta, escapes and
  headers, a 404, a redirect followed, a refused connection and a line that is not a
  job; and guise.batch's ordinary records are made without json.loads (the Python
  side's cost per record: docs/BENCHMARKS.md);
- the iterator: bytes and str jobs that are not UTF-8 get their error record, close()
  and an exception from the jobs' iterator end the batch at once, next() after the end
  is StopIteration, two threads cannot read one batch at the same time.

Servers: a small HTTP/1.1 server of this test, on loopback.
usage: test_python_batch.py GUISE   (PYTHONPATH holds the built package: BUILD/python)
"""
import http.server
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from guise_testlib import QuietHandler, check, finish  # noqa: E402

import guise  # noqa: E402
from guise import _guise  # noqa: E402

GUISE = sys.argv[1]


class Site(QuietHandler):

    def do_GET(self):
        if self.path == "/moved":
            self.reply(301, headers=[("Location", "/text")])
        elif self.path == "/text":
            # quotes, backslashes, a control character, non-ASCII, an astral character
            body = 'a "quoted" \\ back\tslash\x01 café 😀 \u2028 end'.encode()
            self.reply(200, body, [("Content-Type", "text/plain; charset=utf-8"),
                                   ("X-Odd", 'v"a\\l')])
        elif self.path.startswith("/stall1"):
            time.sleep(1)
            self.reply(200, b"late")
        elif self.path.startswith("/stall"):
            time.sleep(5)
            self.reply(200, b"late")
        else:
            self.reply(404, b"no such page")


def same(a, b):
    """Equal as JSON values and as Python objects: types (int/float), key order, -0.0."""
    return repr(a) == repr(b)


def loads_or_error(text):
    try:
        return ("ok", json.loads(text.decode("utf-8", "backslashreplace")))
    except Exception as e:  # noqa: BLE001 — what json.loads raises is the expectation
        return ("error", type(e).__name__)


def reader(text):
    try:
        return ("ok", _guise._record_dict(text, json.loads))
    except Exception as e:  # noqa: BLE001
        return ("error", type(e).__name__)


def rand_str(rng):
    pool = ['a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\x00', '\x1f', '\x7f', 'é', '€', '😀',
            '\u2028', '\ud800', '\udfff', '\ud83d\ude00']
    return "".join(rng.choice(pool) for _ in range(rng.randrange(0, 8)))


def rand_num(rng):
    k = rng.randrange(8)
    if k == 0:
        return rng.randrange(-10**20, 10**20)
    if k == 1:
        return rng.randrange(-1000, 1000)
    if k == 2:
        return round(rng.uniform(-1e6, 1e6), rng.randrange(0, 7))
    if k == 3:
        return rng.uniform(-1, 1) * 10 ** rng.randrange(-30, 30)
    if k == 4:
        return float(rng.randrange(-10, 10))
    return rng.randrange(0, 10**6) / 1000  # the writer's milliseconds


def rand_value(rng, depth=0):
    k = rng.randrange(7 if depth < 5 else 4)
    if k == 0:
        return rand_str(rng)
    if k == 1:
        return rand_num(rng)
    if k == 2:
        return rng.choice([True, False, None])
    if k == 3:
        return -0.0 if rng.random() < 0.1 else rng.randrange(10)
    if k in (4, 5):
        keys = ["id", "url", "status", "timings", "tls", "meta", "x", rand_str(rng), "id"]
        return {rng.choice(keys): rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 6))}
    return [rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]


def dump(v, rng):
    """JSON text of |v| written in one of several ways (blanks, ASCII or not, floats
    as repr or with few digits)."""
    text = json.dumps(v, ensure_ascii=rng.random() < 0.5,
                      separators=rng.choice([(",", ":"), (", ", ": "), (" ,\n", " :\t")]))
    return text.encode("utf-8", "surrogatepass")


def test_reader():
    rec = (b'{"id":"p-17","line":3,"url":"https://example.test/a","final_url":"https://example.test/a",'
           b'"status":200,"http_version":"HTTP/2","error":null,"attempts":1,"profile":"firefox-144",'
           b'"reused":true,"bytes":1256,"wire_bytes":512,"timings":{"dns":0,"connect":0,"tls":0,'
           b'"ttfb":3.1,"total":3.4},"remote":"127.0.0.1:8443","tls":{"version":"TLSv1.3",'
           b'"cipher":"TLS_AES_128_GCM_SHA256","group":"X25519MLKEM768","alpn":"h2"},'
           b'"meta":{"anything":["echoed","back"]}}')
    hand = [
        rec,
        b'{"id":"1","line":1,"url":null,"status":0,"error":"USAGE_INVALID_ARGUMENT","error_class":"usage",'
        b'"error_detail":"not a URL: \\"x\\" \\u00e9\\u0001","attempts":0}',
        b'{"s":"\\ud83d\\ude00 \\ud800 \\udc00 \\ud800\\u0041 \\ud800\\ud800\\udc00 \\/ \\b\\f\\n\\r\\t"}',
        '{"s":"caf\u00e9 \u20ac \U0001F600","k\u00e9":1}'.encode(),
        b'{"a":0,"b":-0,"c":-0.0,"d":0.1,"e":1e2,"f":1E-2,"g":-1.5e+3,"h":123456789012345678,'
        b'"i":1234567890123456789,"j":99999999999999999999999,"k":0.30000000000000004,'
        b'"l":123456789012.345,"m":1234567890123456.7,"n":1e400,"o":-1e-400,"p":5e-324}',
        b'{"a":1,"a":2,"b":{"a":3},"a":4}',
        b' \n{ "x" : [ 1 , { } , [ ] , "" ] }\r\n',
        b'{"deep":' + b"[" * 100 + b"1" + b"]" * 100 + b"}",
        b'{"deep":' + b"[" * 63 + b"1" + b"]" * 63 + b"}",
        b'{"nan":NaN,"inf":-Infinity}',
        # not JSON, or not as json.loads takes it: the same exception from both
        b'', b'{', b'{"a":}', b'{"a":1,}', b'{"a" 1}', b'{"a":01}', b'{"a":1.}', b'{"a":.5}',
        b'{"a":1e}', b'{"a":-}', b'{"a":"\\x"}', b'{"a":"\\u12"}', b'{"a":"\x01"}', b'{"a":tru}',
        b'{"a":1} x', b'[1,2]', b'"str"', b'{"a":"\xff\xfe"}', b'{"a":"\xed\xa0\x80"}',
        b'{"a":"\xc3"}', b'{1:2}', b'{"a":[1 2]}', b'{"a":"unterminated}',
    ]
    bad = [t for t in hand if not same(reader(t), loads_or_error(t))]
    check(f"record reader: {len(hand)} hand-made texts as json.loads gives them (or the same error)",
          not bad, [(t[:60], reader(t), loads_or_error(t)) for t in bad[:3]])
    check("record reader: a record of the engine's shape is a dict with its keys in order",
          list(_guise._record_dict(rec, json.loads)) == list(json.loads(rec)))

    rng = random.Random(17)
    docs = []
    for _ in range(3000):
        v = {"id": rand_str(rng), "status": rand_num(rng)}
        extra = rand_value(rng)
        v.update(extra if isinstance(extra, dict) else {"meta": extra})
        docs.append(dump(v, rng))
    bad = [t for t in docs if not same(reader(t), loads_or_error(t))]
    check("record reader: 3,000 random JSON documents as json.loads gives them",
          not bad, [(t[:80], reader(t), loads_or_error(t)) for t in bad[:3]])

    damaged = []
    for _ in range(3000):
        t = bytearray(rng.choice(hand[:8] + docs[:50]))
        for _ in range(rng.randrange(1, 4)):
            op = rng.randrange(3)
            i = rng.randrange(len(t) + 1)
            if op == 0 and t:
                del t[min(i, len(t) - 1)]
            elif op == 1:
                t.insert(i, rng.choice(b'{}[]",:\\0123456789.eE-+ntfu\x00\xff\xc3\xa9'))
            else:
                del t[i:]
        damaged.append(bytes(t))
    bad = [t for t in damaged if not same(reader(t), loads_or_error(t))]
    check("record reader: 3,000 damaged records: the same dict or the same exception as json.loads",
          not bad, [(t[:80], reader(t), loads_or_error(t)) for t in bad[:3]])
    nans = _guise._record_dict(b'{"n":NaN}', json.loads)
    check("record reader: what it leaves (NaN) goes to json.loads", math.isnan(nans["n"]), nans)


def mask(rec):
    rec = json.loads(json.dumps(rec))
    if "timings" in rec:
        rec["timings"] = {k: "ms" for k in rec["timings"]}
    for h in rec.get("headers") or []:
        if h[0].lower() == "date":
            h[1] = "date"
    return rec


def test_same_records(base):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    closed.close()  # nothing listens there any more: connection refused
    jobs = [
        f"{base}/text",
        json.dumps({"url": f"{base}/text", "id": "j \"1\" é", "method": "GET",
                    "headers": [["X-Test", "a\"b\\c"], ["Accept-Language", "fr"]],
                    "meta": {"n": [1, -0.5, 2e-3, 12345678901234567890], "s": "\u2028\ud83d\ude00",
                             "deep": [[[{"k": None, "t": True}]]]}}),
        f"{base}/nothing",
        json.dumps({"url": f"{base}/moved", "id": "redir"}),
        json.dumps({"url": dead, "id": "refused"}),
        "not a url",
        json.dumps({"url": f"{base}/text", "meta": "\udc80"}),  # the job reader refuses it
    ]
    opts = dict(profile=guise.DEFAULT_PROFILE, include_headers=True, body="text", follow_redirects=True,
                retries=0)
    with tempfile.TemporaryDirectory(prefix="guise-test-batch-") as tmp:
        with open(f"{tmp}/jobs", "w") as f:
            f.write("\n".join(jobs) + "\n")
        p = subprocess.run([GUISE, "batch", "-c", "1", "--workers", "1", "--progress", "never",
                            "--profile", guise.DEFAULT_PROFILE, "--include-headers", "--body", "text",
                            "-L", "--retries", "0", "-o", f"{tmp}/out", f"{tmp}/jobs"],
                           capture_output=True, timeout=60)
        with open(f"{tmp}/out", encoding="utf-8") as f:
            cmd = {r["id"]: r for r in map(json.loads, f)}
    check("the command wrote a record per job", p.returncode == 0 and len(cmd) == len(jobs),
          (p.returncode, p.stderr[-300:], sorted(cmd)))
    py = {r["id"]: r for r in guise.batch(jobs, concurrency=1, workers=1, **opts)}
    check("guise.batch gave a record per job, with the command's ids", sorted(py) == sorted(cmd),
          (sorted(py), sorted(cmd)))
    for rid in sorted(cmd):
        a, b = mask(py.get(rid, {})), mask(cmd[rid])
        check(f"record {rid!r}: guise.batch's is the command's (key order and types too; timings "
              f"and Date masked)", json.dumps(a) == json.dumps(b), (a, b))
    check("the records hold what they were made to test (escapes in body and headers, meta, "
          "a redirect, an error, a usage error)",
          '"quoted"' in py["1"]["body"] and py["j \"1\" é"]["meta"]["n"][1] == -0.5
          and py["redir"].get("redirects") and py["refused"]["error"] and
          any(r["error"] == "USAGE_INVALID_ARGUMENT" for r in py.values()), py)

    # No json.loads for the engine's records (it was most of the Python cost per record).
    calls = []
    real = guise._json.loads

    def counting(s, *a, **k):
        calls.append(s)
        return real(s, *a, **k)
    guise._json.loads = counting
    try:
        recs = list(guise.batch([f"{base}/text"] * 50, concurrency=8, **opts))
    finally:
        guise._json.loads = real
    check("guise.batch: 50 records, none made by json.loads (the reader in C took them)",
          len(recs) == 50 and not calls and all(r["status"] == 200 for r in recs), (len(recs), len(calls)))


def test_iterator(base):
    recs = list(guise.batch([b"\xff" + f"{base}/x".encode(), f"{base}/\udc80", f"{base}/text".encode()],
                            profile=None))
    got = sorted((r["id"], r["error"], r.get("error_detail")) for r in recs)
    check("bytes and str that are not UTF-8: an error record each; bytes that are UTF-8 run",
          got == [("1", "USAGE_INVALID_ARGUMENT", "the line is not valid UTF-8"),
                  ("2", "USAGE_INVALID_ARGUMENT", "the line is not valid UTF-8"), ("3", None, None)], got)

    # jobs in flight: the first record, then close() with 20 stalled jobs running
    it = guise.batch([f"{base}/text"] + [f"{base}/stall?{i}" for i in range(20)], profile=None,
                     concurrency=32)
    first = next(it)
    t0 = time.monotonic()
    it.close()
    check("close() with 20 stalled jobs in flight: at once (they are cancelled), then StopIteration",
          first["status"] == 200 and time.monotonic() - t0 < 2 and list(it) == [], time.monotonic() - t0)

    # another thread may not close (or read) a batch while next() runs (as a generator)
    it = guise.batch([f"{base}/stall1?{i}" for i in range(3)], profile=None)
    seen = []

    def other():
        for f in (it.close, it.stats):
            try:
                f()
                seen.append("ran")
            except ValueError as e:
                seen.append(str(e))
    t = threading.Timer(0.3, other)
    t.start()
    recs = list(it)
    t.join()
    check("close() and stats() from another thread while next() waits: ValueError there (the "
          "engine may be freed meanwhile), the reader's batch goes on to its end",
          len(recs) == 3 and len(seen) == 2 and all("another thread" in x for x in seen), (len(recs), seen))
    check("stats() after the end: None", it.stats() is None)
    it = guise.batch([f"{base}/text"] * 3, profile=None)
    recs = list(it)
    it2 = guise.batch([f"{base}/text"], profile=None)
    st = it2.stats()
    check("stats() before the first next(): the engine's counters", isinstance(st, dict) and
          st.get("submitted") == 0, st)
    it2.close()

    it = guise.batch((f"{base}/stall?{i}" for i in range(50)), profile=None, concurrency=8)
    t0 = time.monotonic()
    it.close()
    check("close() before any next(): at once, and next() is then StopIteration",
          time.monotonic() - t0 < 3 and list(it) == [], time.monotonic() - t0)

    def jobs():
        yield f"{base}/text"
        yield f"{base}/stall"
        raise RuntimeError("the jobs' iterator broke")
    t0 = time.monotonic()
    try:
        list(guise.batch(jobs(), profile=None))
        check("an exception from the jobs' iterator reaches the reader", False, "none")
    except RuntimeError as e:
        check("an exception from the jobs' iterator reaches the reader, in flight cancelled at once",
              "broke" in str(e) and time.monotonic() - t0 < 3, (e, time.monotonic() - t0))

    it = guise.batch([f"{base}/text"], profile=None)
    first = next(it)
    check("one job: one record, then StopIteration, and again", first["status"] == 200 and
          list(it) == [] and list(it) == [])
    check("guise.batch(5): TypeError at once (not an iterable)", raises_type(lambda: guise.batch(5)))


def raises_type(f):
    try:
        f()
    except TypeError:
        return True
    return False


def main():
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    site.daemon_threads = True
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{site.server_address[1]}"
    try:
        test_reader()
        test_same_records(base)
        test_iterator(base)
    finally:
        site.shutdown()
        site.server_close()
    finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""guise_job_parse (client/lib/job.c, a JSON reader of its own over CBS) held against
Python's json module, line by line.

Lines: hand-written edge cases, 3,000 random valid jobs (escapes, non-ASCII, blanks,
both header forms, nested meta, base64 bodies), and 3,000 mutations of them (bytes
flipped, dropped, inserted; cut short). For each line the expected outcome comes from
json.loads plus the job rules of docs/BATCH.md (types, duplicates of known keys, NUL
characters, lone surrogates, base64); the probe must agree — accepted or refused — and,
when accepted, give the same fields.

    test_job_parse.py JOB_PROBE
"""
import base64
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

PROBE = sys.argv[1]
KNOWN = ("id", "url", "method", "profile", "proxy", "headers", "body", "body_base64", "http", "meta")


class Refused(Exception):
    pass


def b64_decode(s):
    """RFC 4648, either alphabet (not mixed within a value here), padding optional,
    canonical only (no dangling character, unused bits zero, padding that fits)."""
    t = s
    pad = 0
    while t.endswith("=") and pad < 2:
        t, pad = t[:-1], pad + 1
    if pad and (len(t) + pad) % 4:
        raise Refused("padding")
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_" for c in t):
        raise Refused("not base64")
    if len(t) % 4 == 1:
        raise Refused("dangling")
    std = t.replace("-", "+").replace("_", "/")
    raw = base64.b64decode(std + "=" * (-len(std) % 4))
    if base64.b64encode(raw).decode().rstrip("=") != std:
        raise Refused("unused bits")
    return raw


def no_surrogates(v):
    if isinstance(v, str):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
            raise Refused("lone surrogate")
    elif isinstance(v, list):
        for x in v:
            no_surrogates(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            no_surrogates(k)
            no_surrogates(x)


def depth(v):
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    return 0


def expect(line):
    """('OK', fields) or ('ERR', None) for one JSON-job line (bytes, no newline)."""
    try:
        text = line.decode("utf-8")
        pairs_seen = []

        def hook(pairs):
            pairs_seen.append(pairs)
            return dict(pairs)

        def constant(name):
            raise Refused(name)

        obj = json.loads(text, object_pairs_hook=hook, parse_constant=constant)
        if not isinstance(obj, dict):
            raise Refused("not an object")
        top = pairs_seen[-1]
        names = [k for k, _ in top if k in KNOWN]
        if len(names) != len(set(names)):
            raise Refused("known key twice")
        for _, v in top:
            no_surrogates(v)
        for pairs in pairs_seen:
            for k, _ in pairs:
                no_surrogates(k)
        if depth(obj.get("meta")) > 64:
            raise Refused("deep")

        def string(key):
            v = obj.get(key)
            if v is None:
                return None
            if not isinstance(v, str) or "\0" in v:
                raise Refused(key)
            return v.encode()

        f = {}
        v = obj.get("id")
        if isinstance(v, bool) or isinstance(v, float):
            raise Refused("id")
        f["id"] = ("int", v) if isinstance(v, int) else string("id")
        # docs/BATCH.md, the id rules: 1..1024 bytes, no control character, not "#..."
        if isinstance(v, str) and (not 1 <= len(f["id"]) <= 1024 or v.startswith("#") or
                                   any(ord(c) < 0x20 or ord(c) == 0x7f for c in v)):
            raise Refused("id rules")
        if isinstance(v, int) and len(str(v)) > 1024:
            raise Refused("id rules")
        for k in ("url", "method", "profile", "proxy"):
            f[k] = string(k)
        if f["url"] is None:
            raise Refused("no url")
        h = obj.get("headers")
        hdrs = []
        if isinstance(h, list):
            for e in h:
                if not (isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) and "\0" not in x for x in e)):
                    raise Refused("header entry")
                hdrs.append((e[0].encode(), e[1].encode()))
        elif isinstance(h, dict):
            hpairs = None
            for p in pairs_seen:
                if dict(p) == h:
                    hpairs = p
            names = [k for k, _ in hpairs]
            if len(names) != len(set(names)):
                raise Refused("header twice")
            for k, x in hpairs:
                if not isinstance(x, str) or "\0" in k or "\0" in x:
                    raise Refused("header value")
                hdrs.append((k.encode(), x.encode()))
        elif h is not None:
            raise Refused("headers")
        if len(hdrs) > 100:
            raise Refused("too many headers")
        f["headers"] = hdrs
        body, b64 = obj.get("body"), obj.get("body_base64")
        if body is not None and not isinstance(body, str):
            raise Refused("body")
        if b64 is not None and not isinstance(b64, str):
            raise Refused("body_base64")
        if "body" in obj and "body_base64" in obj:
            raise Refused("both")
        f["body"] = body.encode() if body is not None else b64_decode(b64) if b64 is not None else None
        http = obj.get("http")
        # docs/BATCH.md: "1.1", "2", "3" (raced against TCP) or "3-only"; guise.h's
        # GUISE_HTTP_1_1 1, GUISE_HTTP_2 2, GUISE_HTTP_3 3, GUISE_HTTP_3_ONLY 4.
        if http is not None and http not in ("1.1", "2", "3", "3-only"):
            raise Refused("http")
        f["http"] = {"1.1": 1, "2": 2, "3": 3, "3-only": 4}.get(http, 0)
        f["meta"] = ("meta", obj["meta"]) if "meta" in obj else None
        return "OK", f
    except (Refused, ValueError, UnicodeDecodeError, RecursionError):
        return "ERR", None


def no_blanks(text):
    """No blank between tokens (only inside strings)."""
    in_str = esc = False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        elif c in b" \t\r\n":
            return False
        elif c == 0x22:
            in_str = True
    return True


def unhex(t):
    return None if t == "-" else bytes.fromhex(t[1:])


def agree(line, answer):
    want, f = expect(line)
    if answer.startswith("ERR"):
        return want == "ERR", (want, f, answer)
    if not answer.startswith("OK ") or want != "OK":
        return False, (want, f, answer)
    t = answer.split(" ")[1:]
    got_id, url, method, profile, proxy, http, body, meta, n = t[:9]
    hd = t[9:]
    gid = unhex(got_id)
    if isinstance(f["id"], tuple):
        ok_id = gid is not None and int(gid) == f["id"][1]
    else:
        ok_id = gid == f["id"]
    gmeta = unhex(meta)
    if f["meta"] is None:
        ok_meta = gmeta is None
    else:
        ok_meta = gmeta is not None and json.loads(gmeta) == f["meta"][1] and no_blanks(gmeta)
    headers = [(unhex(hd[i]), unhex(hd[i + 1])) for i in range(0, len(hd), 2)]
    ok = (ok_id and unhex(url) == f["url"] and unhex(method) == f["method"] and unhex(profile) == f["profile"]
          and unhex(proxy) == f["proxy"] and int(http) == f["http"] and unhex(body) == f["body"] and ok_meta
          and int(n) == len(f["headers"]) and headers == f["headers"])
    return ok, (f, answer)


def rand_str(rng):
    pieces = []
    for _ in range(rng.randrange(0, 8)):
        k = rng.randrange(9)
        if k == 0:
            pieces.append(rng.choice(["\\n", "\\t", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r"]))
        elif k == 1:
            pieces.append("\\u%04x" % rng.choice([0x41, 0xe9, 0x20ac, 0x7f, 0x1f, 0xfffd]))
        elif k == 2:
            pieces.append("\\ud83d\\ude00")
        elif k == 3:
            pieces.append(rng.choice(["é", "€", "😀", "中文"]))
        else:
            pieces.append("".join(rng.choice("abcXYZ09 -_.:/?=&") for _ in range(rng.randrange(1, 6))))
    return '"' + "".join(pieces) + '"'


def rand_value(rng, d=0):
    k = rng.randrange(7 if d < 4 else 4)
    if k == 0:
        return rand_str(rng)
    if k == 1:
        return rng.choice(["0", "-1", "12", "3.5", "-2e3", "1E+2", "0.25e-1"])
    if k == 2:
        return rng.choice(["true", "false", "null"])
    if k == 3:
        return rand_str(rng)
    if k in (4, 5):
        return "[" + ", ".join(rand_value(rng, d + 1) for _ in range(rng.randrange(0, 4))) + "]"
    return "{" + ",".join(f'{rand_str(rng)} : {rand_value(rng, d + 1)}' for _ in range(rng.randrange(0, 4))) + "}"


def rand_id(rng):
    """A random JSON string that keeps docs/BATCH.md's id rules (1..1024 bytes, no
    control character, not "#...")."""
    while True:
        t = rand_str(rng)
        try:
            v = json.loads(t)
            n = len(v.encode())
        except (ValueError, UnicodeEncodeError):
            continue
        if 1 <= n <= 1024 and not v.startswith("#") and not any(ord(c) < 0x20 or ord(c) == 0x7f for c in v):
            return t


def rand_job(rng, i):
    sp = lambda: rng.choice(["", " ", "  ", "\t"])  # noqa: E731
    members = [f'"url"{sp()}:{sp()}"https://h{i}.test/p?q={i}"']
    if rng.random() < 0.7:
        members.append(f'"id":{sp()}' + (str(rng.randrange(10**9)) if rng.random() < 0.5 else rand_id(rng)))
    if rng.random() < 0.5:
        members.append('"method": ' + rng.choice(['"GET"', '"POST"', "null"]))
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            names = rng.sample(["a", "B", "x-y", "Accept", "é"], rng.randrange(0, 4))
            members.append('"headers": {' + ", ".join(f'"{n}": {rand_str(rng)}' for n in names) + "}")
        else:
            members.append('"headers": [' + ", ".join(f"[{rand_str(rng)}, {rand_str(rng)}]"
                                                      for _ in range(rng.randrange(0, 4))) + "]")
    r = rng.random()
    if r < 0.3:
        members.append('"body": ' + rand_str(rng))
    elif r < 0.5:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        enc = base64.b64encode(raw) if rng.random() < 0.5 else base64.urlsafe_b64encode(raw)
        if rng.random() < 0.5:
            enc = enc.rstrip(b"=")
        members.append('"body_base64": "' + enc.decode() + '"')
    if rng.random() < 0.3:
        members.append('"http": ' + rng.choice(['"1.1"', '"2"', '"3"', '"3-only"', "null"]))
    if rng.random() < 0.3:
        members.append('"profile": "chrome-150"')
    if rng.random() < 0.5:
        members.append('"meta": ' + rand_value(rng))
    if rng.random() < 0.3:
        members.append(f'"other{i}": ' + rand_value(rng))
    rng.shuffle(members)
    return (sp() + "{" + sp() + ("," + sp()).join(members) + sp() + "}" + sp()).encode()


def mutate(rng, b):
    b = bytearray(b)
    for _ in range(rng.randrange(1, 4)):
        k = rng.randrange(4)
        if not b:
            break
        p = rng.randrange(len(b))
        if k == 0:
            b[p] = rng.choice(b'{}[]":,\\u0 -e.9aZ\x7f\xc3\xa9\xff\xed\xa0\x01')
        elif k == 1:
            del b[p]
        elif k == 2:
            b.insert(p, rng.choice(b'{}[]":,\\ \x80\xe2'))
        else:
            del b[p:]
    return bytes(b).replace(b"\n", b"").replace(b"\r", b"").replace(b"\0", b"")


cases = [
    b'{"url": "https://a.test/"}',
    b'{"url": "https://a.test/", "id": 7}',
    b'{"url": "https://a.test/", "id": -0}',
    b'{"url": "https://a.test/", "id": 7.5}',
    b'{"url": "https://a.test/", "id": true}',
    b'{"url": "https://a.test/", "url": "https://b.test/"}',
    b'{"url": "https://a.test/", "x": 1, "x": 2}',
    b'{"url": "https://a.test/"} trailing',
    b'{"url": "https://a.test/",}',
    b'{"url": "https://a.test/", "meta": NaN}',
    b'{"url": "https://a\\u0000.test/"}',
    b'{"url": "https://a.test/", "headers": {"a": "1", "a": "2"}}',
    b'{"url": "https://a.test/", "headers": [["a", "1"], ["a", "2"]]}',
    b'{"url": "https://a.test/", "headers": [["a", 1]]}',
    b'{"url": "https://a.test/", "body": "x", "body_base64": "eA=="}',
    b'{"url": "https://a.test/", "body_base64": "eA=x"}',
    b'{"url": "https://a.test/", "body_base64": "e$=="}',
    b'{"url": "https://a.test/", "http": "3"}',
    b'{"url": "https://a.test/", "http": "3-only"}',
    b'{"url": "https://a.test/", "http": "3.0"}',
    b'{"url": "https://a.test/", "http": "3-ONLY"}',
    b'{"url": "https://a.test/", "meta": "\\ud800"}',
    b'{"url": "https://a.test/", "meta": "\\udc00\\ud800"}',
    b'{"url": "https://a.test/", "meta": "\xed\xa0\x80"}',
    b'{"url": "https://a.test/", "meta": "\xc0\xaf"}',
    b'{"url": "https://a.test/", "meta": "\xf4\x90\x80\x80"}',
    b'{"url": "https://a.test/", "meta": "\x01"}',
    b'{"url": "https://a.test/", "meta": [' + b"[" * 63 + b"]" * 63 + b"]}",
    b'{"url": "https://a.test/", "meta": [' + b"[" * 64 + b"]" * 64 + b"]}",
    b'{"url": "https://a.test/", "meta": { "a" : [ 1 , 2.0e-3 , "x y" ] , "b":{}}}',
    b'{"url": "https://a.test/", "meta": 01}',
    b'{"url": "https://a.test/", "meta": 1.}',
    b'{"url": "https://a.test/", "meta": -}',
    b'{"url": "https://a.test/", "meta": tru}',
    b'{"url": "https://a.test/", "headers": ' + b'[["h","v"],' * 100 + b'["h","v"]' + b"]}",
    b'{"url": null}',
    b'{}',
    b'{"url": "https://a.test/", "meta": "\\x"}',
    b'{"url": "https://a.test/", "body_base64": "Q"}',
    b'{"url": "https://a.test/", "body_base64": "QQ="}',
    b'{"url": "https://a.test/", "body_base64": "QR=="}',
    b'{"url": "https://a.test/", "body_base64": "QQ=="}',
    b'{"url": "https://a.test/", "body_base64": "QUE="}',
    b'{"url": "https://a.test/", "body_base64": "===="}',
    b'{"url\\u0000zz": "https://a.test/"}',
    b'{"url": "https://a.test/", "http": "2\\u0000x"}',
]
rng = random.Random(8)
valid = [rand_job(rng, i) for i in range(3000)]
mutated = [mutate(rng, valid[rng.randrange(len(valid))]) for _ in range(3000)]
mutated = [m for m in mutated if m.lstrip(b" \t").startswith(b"{")]
lines = cases + valid + mutated

p = subprocess.run([PROBE], input=b"\n".join(lines) + b"\n", capture_output=True, timeout=120)
answers = p.stdout.decode().splitlines()
check("probe: one answer per line", p.returncode == 0 and len(answers) == len(lines),
      (p.returncode, len(answers), len(lines), p.stderr[-300:]))
bad = []
for line, ans in zip(lines, answers):
    ok, detail = agree(line, ans)
    if not ok:
        bad.append((line[:300], detail))
n_ok = sum(1 for a in answers if a.startswith("OK"))
check(f"hand-written edge cases agree with json.loads + the job rules ({len(cases)})",
      not [b for b in bad if b[0] in [c[:300] for c in cases]], [b for b in bad if b[0] in [c[:300] for c in cases]][:5])
check(f"3,000 random valid jobs: all accepted, same fields as json.loads",
      all(a.startswith("OK") for a in answers[len(cases):len(cases) + len(valid)]) and
      not [b for b in bad if b[0] in set(v[:300] for v in valid)], bad[:5])
check(f"{len(mutated)} mutated lines: accepted/refused as json.loads + the rules say ({n_ok} accepted in all)",
      not bad, bad[:5])
finish()

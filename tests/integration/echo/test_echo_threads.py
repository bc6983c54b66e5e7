#!/usr/bin/env python3
"""guise echo --threads N --log: connections served on several loops, one log.

usage: test_echo_threads.py GUISE

- 24 TLS connections at once (Python's ssl, HTTP/1.1 keep-alive, 4 requests each)
  and 8 HTTP/2 connections (the guise client, 3 requests each) against echo with
  --threads 3: every answer is the JSON text of its document exactly as
  json.dumps(indent=2) writes it (the answer reuses the connection's serialized
  TLS and HTTP/2 reports from the second request on: they must equal those of the
  first), request_number counts 1..n on each connection, connection numbers are
  distinct, and the process runs two threads more than with --threads 1.
- The log has exactly one whole JSON line per connection (lines from several
  loops never interleave), with its request_count, and the same tls document the
  answers showed.
- Hostile first flights (garbage, a truncated ClientHello, SSH) on the worker
  loops give their error records; the server keeps serving.
- An HTTP/2 request with more than 256 KiB of header fields (100 copies of a 4 KB
  field named by its HPACK index: a 4 KB block) is reset, the next stream on its
  connection answered.
- Clients that reset (SO_LINGER 0) while a 500 KB answer is being written end
  their connections, not the observer (it died of SIGPIPE before).
- SIGTERM with connections still open on every loop: each gets its log line,
  exit 0.
- --threads 1 serves the same; --threads 0, 257 and x are usage errors (exit 2).
"""
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)

GUISE = sys.argv[1]
DEADLINE = time.monotonic() + 100
failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {detail}"))
    if not cond:
        failures += 1


class Echo:
    def __init__(self, tmp, *extra):
        self.log = os.path.join(tmp, "echo.jsonl")
        self.proc = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0", "--log", self.log,
                                      *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise SystemExit(f"guise echo did not start: {line} {self.proc.stderr.read()}")
        self.port = int(line[1].rsplit(":", 1)[1])

    def records(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        check("echo exits 0 on SIGTERM", rc == 0, f"rc={rc} stderr={self.proc.stderr.read()[-2000:]}")


def tls_client():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def read_answer(s, buf):
    """One HTTP/1.1 answer from |s| (buf: bytes already read); returns (status, body, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise AssertionError("connection closed before the answer's head")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    length = next(int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:"))
    while len(rest) < length:
        d = s.recv(65536)
        if not d:
            raise AssertionError("connection closed inside the answer")
        rest += d
    return int(lines[0].split()[1]), rest[:length].decode(), rest[length:]


def documents(text):
    """The JSON documents of |text| in order, each with its exact text."""
    dec, pos, out = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        obj, end = dec.raw_decode(text, pos)
        out.append((obj, text[pos:end]))
        pos = end


def h1_connection(port, n, results, i):
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        s = tls_client().wrap_socket(raw, server_hostname="localhost")
        buf, docs = b"", []
        for k in range(n):
            s.sendall(f"GET /t/{i}/{k} HTTP/1.1\r\nHost: localhost\r\nX-Conn: {i}\r\n\r\n".encode())
            status, body, buf = read_answer(s, buf)
            docs.append((status, body))
        s.close()
        results[i] = docs
    except Exception as e:  # noqa: BLE001  (reported as a failed check)
        results[i] = e


def well_formed(what, docs):
    """docs: [(obj, text)] of one connection's answers."""
    texts_ok = all(t == json.dumps(o, indent=2, ensure_ascii=False) for o, t in docs)
    check(f"{what}: every answer is the exact JSON text of its document", texts_ok)
    check(f"{what}: request_number counts 1..{len(docs)}",
          [o["request_number"] for o, _ in docs] == list(range(1, len(docs) + 1)))
    first = docs[0][0]
    same = all(o["tls"] == first["tls"] and o.get("http2") == first.get("http2") and
               o["connection"] == first["connection"] for o, _ in docs)
    check(f"{what}: tls/http2/connection the same on every answer", same)
    return first


def hpack_int(v, prefix_bits, first=0):
    """RFC 7541 §5.1."""
    limit = (1 << prefix_bits) - 1
    if v < limit:
        return bytes([first | v])
    out, v = [first | limit], v - limit
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    return bytes(out + [v])


def hpack_literal(name, value, index=False):
    """A literal field, new name, no Huffman: with incremental indexing (RFC 7541
    §6.2.1) or without (§6.2.2)."""
    return ((b"\x40" if index else b"\x00") + hpack_int(len(name), 7) + name +
            hpack_int(len(value), 7) + value)


def h2c_big_headers(port, copies):
    """h2c with prior knowledge: stream 1's header block, about 4 KB, adds a 4,000-byte
    field to the HPACK dynamic table and names it |copies| more times by its index (one
    byte each: 4,003 bytes of header list per byte of block); stream 3 is a plain GET.
    Returns (whether stream 1 was reset, the :path stream 3's answer showed or None)."""
    from guise_testlib import h2_frame, h2_frames
    base = lambda path: b"".join(hpack_literal(n, v) for n, v in (
        (b":method", b"GET"), (b":scheme", b"http"), (b":path", path), (b":authority", b"a")))
    block = base(b"/big") + hpack_literal(b"x-b", b"v" * 4000, index=True) + b"\xbe" * copies
    settings = h2_frame(4, 0, 0, (4).to_bytes(2, "big") + (1 << 24).to_bytes(4, "big"))
    window = h2_frame(8, 0, 0, (1 << 24).to_bytes(4, "big"))
    with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
        c.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings + window +
                  h2_frame(1, 0x5, 1, block) + h2_frame(1, 0x5, 3, base(b"/after-big")))
        buf, reset, body3, done3 = b"", False, b"", False
        deadline = time.monotonic() + 20
        while not done3 and time.monotonic() < deadline:
            d = c.recv(65536)
            if not d:
                break
            got, buf = h2_frames(buf + d)
            for ftype, flags, stream, payload in got:
                if ftype == 3 and stream == 1:
                    reset = True
                if ftype == 4 and not flags & 1:
                    c.sendall(h2_frame(4, 1, 0))
                if ftype == 0 and stream == 3:
                    body3 += payload
                    done3 = bool(flags & 1)
        path = None
        if done3:
            path = dict(json.loads(body3)["request"]["headers"]).get(":path")
        return reset, path


def reset_mid_answer(port):
    """h2c: one request whose answer is about 500 KB (60 copies of a 4 KB field,
    in the answer twice), the first bytes of the answer read, then a reset
    (SO_LINGER 0) while the observer is still writing."""
    from guise_testlib import h2_frame
    block = b"".join(hpack_literal(n, v) for n, v in (
        (b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/reset"), (b":authority", b"a")))
    block += hpack_literal(b"x-b", b"v" * 4000, index=True) + b"\xbe" * 59
    settings = h2_frame(4, 0, 0, (4).to_bytes(2, "big") + (1 << 24).to_bytes(4, "big"))
    window = h2_frame(8, 0, 0, (1 << 24).to_bytes(4, "big"))
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings + window + h2_frame(1, 0x5, 1, block))
    got = 0
    while got < 20000:
        d = c.recv(4096)
        if not d:
            break
        got += len(d)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def serving_threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def main():
    for bad in ("0", "257", "x"):
        r = subprocess.run([GUISE, "echo", "--listen", "127.0.0.1:0", "--threads", bad],
                           capture_output=True, text=True, timeout=10)
        check(f"--threads {bad} is a usage error (exit 2)", r.returncode == 2 and "--threads" in r.stderr,
              f"rc={r.returncode} {r.stderr}")

    nthreads = {}
    for threads in (3, 1):
        with tempfile.TemporaryDirectory() as tmp:
            echo = Echo(tmp, "--threads", str(threads))
            try:
                what = f"--threads {threads}"
                # The serving loops and the log writer (a sanitizer runtime may add its own).
                nthreads[threads] = serving_threads(echo.proc.pid)
                n_h1, per_h1 = 24, 4
                results = [None] * n_h1
                ts = [threading.Thread(target=h1_connection, args=(echo.port, per_h1, results, i))
                      for i in range(n_h1)]
                for t in ts:
                    t.start()
                n_h2, per_h2 = 8, 3
                urls = [f"https://localhost:{echo.port}/h2/{k}" for k in range(per_h2)]
                h2 = [subprocess.Popen([GUISE, "-sk", "--profile", "chrome-150", *urls],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                      for _ in range(n_h2)]
                h2_out = [p.communicate(timeout=max(1, DEADLINE - time.monotonic())) for p in h2]
                for t in ts:
                    t.join(timeout=max(1, DEADLINE - time.monotonic()))
                errors = [r for r in results if not isinstance(r, list)]
                check(f"{what}: {n_h1} TLS HTTP/1.1 connections answered", not errors, str(errors[:3]))
                answers = {}
                for i, docs in enumerate(results):
                    if not isinstance(docs, list):
                        continue
                    if any(st != 200 for st, _ in docs):
                        check(f"{what}: h1 connection {i} answers 200", False, str([st for st, _ in docs]))
                        continue
                    parsed = [documents(b)[0] for _, b in docs]
                    first = well_formed(f"{what} h1 connection {i}", parsed)
                    heads = [dict(o["http1"]["headers"]).get("X-Conn") for o, _ in parsed]
                    check(f"{what} h1 connection {i}: its own requests", heads == [str(i)] * per_h1, str(heads))
                    answers[first["connection"]] = (first, per_h1)
                for k, (out, err) in enumerate(h2_out):
                    docs = documents(out.decode())
                    check(f"{what} h2 client {k}: {per_h2} answers", len(docs) == per_h2, err.decode()[-500:])
                    if len(docs) == per_h2:
                        first = well_formed(f"{what} h2 client {k}", docs)
                        check(f"{what} h2 client {k}: over h2", first["http_version"] == "h2")
                        answers[first["connection"]] = (first, per_h2)
                check(f"{what}: {n_h1 + n_h2} distinct connection numbers", len(answers) == n_h1 + n_h2,
                      str(sorted(answers)))

                # 60 requests on one h2 connection, past the 32 the log keeps (their
                # answers are made without a tree), with a header of quote, backslash,
                # tab and bytes that are not UTF-8 (each byte >= 0x80 becomes U+FFFD,
                # OBSERVER.md).
                many = [f"https://localhost:{echo.port}/many/{k}" for k in range(60)]
                r = subprocess.run([GUISE, "-sk", "-H", b'X-Odd: q"b\\s\t\xc3\xa9\xff~', *many],
                                   capture_output=True, timeout=60)
                docs = documents(r.stdout.decode())
                check(f"{what}: 60 answers on one h2 connection", len(docs) == 60, r.stderr.decode()[-500:])
                if len(docs) == 60:
                    first = well_formed(f"{what} 60 requests", docs)
                    odd = [[v for n, v in o["request"]["headers"] if n == "x-odd"] for o, _ in docs]
                    check(f"{what}: the odd header in every answer", odd == [['q"b\\s\t\ufffd\ufffd\ufffd~']] * 60,
                          str(odd[:2]))
                    paths = [dict(o["request"]["headers"])[":path"] for o, _ in docs]
                    check(f"{what}: each answer its own request", sorted(paths) == sorted(f"/many/{k}" for k in range(60)))
                    answers[first["connection"]] = (first, 60)
                    many_conn = (first["connection"], [o["request"] for o, _ in docs])

                # Hostile first flights, spread over the loops; then a normal request.
                hostile = [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 20,  # cut short
                           b"\x00\xffgarbage" * 8, b"SSH-2.0-OpenSSH_9.2\r\n"]
                for k in range(2 * threads):
                    with socket.create_connection(("127.0.0.1", echo.port), timeout=10) as s:
                        s.sendall(hostile[k % len(hostile)])
                        s.shutdown(socket.SHUT_WR)
                        try:
                            while s.recv(4096):
                                pass
                        except OSError:
                            pass
                r = subprocess.run([GUISE, "-sk", f"https://localhost:{echo.port}/after"],
                                   capture_output=True, timeout=20)
                check(f"{what}: serves after hostile first flights", r.returncode == 0 and b"request_number" in r.stdout,
                      r.stderr.decode()[-500:])

                # A request whose header list is longer than 256 KiB (Chrome's
                # SETTINGS_MAX_HEADER_LIST_SIZE) is reset; the connection goes on.
                # 100 copies of a 4 KB field by its HPACK index: 400 KB from 4 KB.
                reset, path = h2c_big_headers(echo.port, 99)
                check(f"{what}: a 400 KB header list (an HPACK bomb) resets its stream", reset)
                check(f"{what}: the next stream on that connection is answered", path == "/after-big", str(path))

                # Clients that reset while their answer is being written end their
                # own connections, not the observer (before: SIGPIPE killed it).
                for _ in range(2 * threads + 2):
                    reset_mid_answer(echo.port)
                time.sleep(0.3)
                check(f"{what}: alive after clients reset mid-answer", echo.proc.poll() is None,
                      f"exit status {echo.proc.poll()}")
                r = subprocess.run([GUISE, "-sk", f"https://localhost:{echo.port}/after-resets"],
                                   capture_output=True, timeout=20)
                check(f"{what}: serves after the resets", r.returncode == 0 and b"/after-resets" in r.stdout)

                # Open connections on every loop, then SIGTERM: each gets its line.
                held = []
                for k in range(2 * threads):
                    s = socket.create_connection(("127.0.0.1", echo.port), timeout=10)
                    s.sendall(f"GET /held/{k} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
                    read_answer(s, b"")
                    held.append(s)
            finally:
                echo.stop()
            for s in held:
                s.close()
            with open(echo.log) as f:
                lines = f.read().split("\n")
            check(f"{what}: the log ends with a newline", lines[-1] == "")
            recs = []
            for line in lines[:-1]:
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    check(f"{what}: every log line is one JSON object", False, line[:200])
            want = n_h1 + n_h2 + 1 + 2 * threads + 1 + 1 + (2 * threads + 2) + 1 + 2 * threads
            check(f"{what}: one log line per connection ({want})", len(recs) == want, f"{len(recs)} lines")
            by_id = {r["connection"]: r for r in recs}
            check(f"{what}: distinct connection numbers in the log", len(by_id) == len(recs))
            agree = all(cid in by_id and by_id[cid]["request_count"] == n and by_id[cid]["tls"] == first["tls"]
                        and by_id[cid].get("http2") == first.get("http2")
                        for cid, (first, n) in answers.items())
            check(f"{what}: each connection's record has its request_count and the answers' tls/http2", agree)
            kept = by_id.get(many_conn[0], {}).get("requests", [])
            check(f"{what}: the log keeps the first 32 of 60 requests, as answered",
                  len(kept) == 32 and all(k in many_conn[1] for k in kept), f"{len(kept)} kept")
            errs = [r["error"]["stage"] for r in recs if "error" in r and r.get("request_count") == 0]
            check(f"{what}: the hostile first flights have error records",
                  sorted(errs).count("tls") >= 1 and "first flight" in errs, str(errs))
            held_recs = [r for r in recs if r.get("requests") and r["requests"][0].get("target", "").startswith("/held/")]
            check(f"{what}: connections open at SIGTERM have their lines", len(held_recs) == 2 * threads,
                  f"{len(held_recs)}")

    check("--threads 3 runs two threads more than --threads 1", nthreads[3] - nthreads[1] == 2, str(nthreads))
    check("--threads 1 runs the loop's thread and the log writer", nthreads[1] >= 2, str(nthreads))
    print("PASS" if failures == 0 else f"{failures} check(s) FAILED")
    sys.exit(1 if failures else 0)


main()

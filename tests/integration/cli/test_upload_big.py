"""A 200 MiB upload with -T, streamed: over HTTP/1.1 (Content-Length from the
file's size) and over HTTP/2 (prior knowledge on loopback: DATA frames paced
by the server's WINDOW_UPDATEs), and from stdin (-T -: chunked over HTTP/1.1, no
content-length over HTTP/2). The servers are the test's own: they count and
hash what arrives (the expected SHA-256 is the file's, computed here), and the
guise process's peak memory (ru_maxrss from wait4) must stay far below the
file's size: the body is never held whole. Usage: test_upload_big.py GUISE"""
import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guise_testlib import check, finish
from upload_servers import h1_handle, h2_handle, listen, lock, results

GUISE = sys.argv[1]
# A sanitizer's build keeps freed memory in quarantine (ASan: 256 MiB) and has a
# large baseline: there the bytes are checked on a smaller file and the peak RSS
# only shown.
with open(GUISE, "rb") as f:
    exe = f.read()
SANITIZED = b"__asan_init" in exe or b"__tsan_init" in exe
del exe
SIZE = (32 if SANITIZED else 200) << 20
RSS_MAX_KIB = 64 << 10  # 64 MiB: under a third of the file


def run(args, stdin_path=None):
    """guise with |args|: exit status, stderr, peak RSS in KiB (wait4's ru_maxrss)."""
    fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        p = subprocess.Popen([GUISE, *args], stdin=fin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdin_path:
            fin.close()
    return p.returncode, err.decode("utf-8", "replace"), ru.ru_maxrss


tmp = tempfile.mkdtemp(prefix="guise-upload-")
s1 = s2 = None
try:
    path = os.path.join(tmp, "big.bin")
    block = os.urandom(1 << 20)
    want = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(SIZE >> 20):
            b = bytes([i & 255]) + block[1:]
            f.write(b)
            want.update(b)
    want = want.hexdigest()
    s1, p1 = listen(h1_handle)
    s2, p2 = listen(h2_handle)
    cases = [
        ("HTTP/1.1, -T FILE", ["--http1.1", "-T", path, f"http://127.0.0.1:{p1}/up/"], None, False),
        ("HTTP/1.1, -T - (stdin)", ["--http1.1", "-T", "-", f"http://127.0.0.1:{p1}/in"], path, True),
        ("HTTP/2, -T FILE", ["--http2", "-T", path, f"http://127.0.0.1:{p2}/up"], None, False),
        ("HTTP/2, -T - (stdin)", ["--http2", "-T", "-", f"http://127.0.0.1:{p2}/in"], path, False),
    ]
    for name, args, stdin_path, chunked in cases:
        with lock:
            results.clear()
        rc, err, rss = run(["-s", "-S", "--max-time", "60", *args], stdin_path)
        with lock:
            got = list(results)
        check(f"{name}: exit 0", rc == 0, f"rc={rc} {err}")
        check(f"{name}: one request arrived", len(got) == 1, got)
        if len(got) != 1:
            continue
        method, upath, fields, n, digest, was_chunked = got[0]
        check(f"{name}: every byte arrived, in order (SHA-256 of the file)", n == SIZE and digest == want,
              f"{n} bytes, {digest}")
        if SANITIZED:
            print(f"note: {name}: peak RSS {rss} KiB under a sanitizer (not checked)")
        else:
            check(f"{name}: peak RSS {rss} KiB, under {RSS_MAX_KIB} KiB for a {SIZE >> 20} MiB body",
                  rss < RSS_MAX_KIB, rss)
        if "HTTP/1.1" in name:
            check(f"{name}: PUT", method == "PUT", method)
            if stdin_path:
                check(f"{name}: chunked, no Content-Length (RFC 9112 7.1)",
                      was_chunked and "content-length" not in fields, fields)
            else:
                check(f"{name}: a URL ending in '/' gets the file's name (curl's rule)", upath == "/up/big.bin", upath)
                check(f"{name}: Content-Length is the file's size", f"content-length: {SIZE}" in fields, fields)
        else:
            check(f"{name}: :method neither GET nor POST (PUT)", method == "PUT", fields)
            if stdin_path:
                check(f"{name}: no content-length for a body of unknown length",
                      "content-length" not in fields, fields)
finally:
    for s in (s1, s2):
        if s:
            s.close()
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
finish()

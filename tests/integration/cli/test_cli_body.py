"""The body options of guise URL (client/cli/fetch_body.c) against curl itself:
-d/--data, --data-ascii, --data-binary, --data-raw, --data-urlencode (every
form), --json, several of them joined, -G, -F (values, @file with type= and
filename=, <file, --form-string), -T (a file, a URL ending in '/', a URL with no
path, stdin, two URLs). Each case runs curl (Debian's, installed) and guise with
the same words against one loopback server that records the raw requests, and
compares the method, the request target, the body bytes (a multipart boundary
put back to one name) and the Content-Type (up to the boundary): curl is the
reference. Then what curl refuses (exit 2), a file that cannot be read (26),
guise's deliberate differences (-d @missing, -G with -F), and the multipart
body against the headed browsers' own (tests/data/captures/forms: the boundary's
form and the part layout). Usage: test_cli_body.py GUISE"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import accept_loop, check, finish

GUISE = sys.argv[1]
CURL = shutil.which("curl")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "captures", "forms")
seen = []
lock = threading.Lock()


def handle(c):
    try:
        c.settimeout(10)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:]]
        low = {k.lower(): v for k, v in fields}
        if low.get("expect", "").lower() == "100-continue":
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "content-length" in low:
            n = int(low["content-length"])
            while len(body) < n:
                d = c.recv(65536)
                if not d:
                    break
                body += d
        elif low.get("transfer-encoding", "").lower() == "chunked":
            raw = body
            out = b""
            while True:
                while b"\r\n" not in raw:
                    raw += c.recv(65536)
                size, _, raw = raw.partition(b"\r\n")
                size = int(size, 16)
                while len(raw) < size + 2:
                    raw += c.recv(65536)
                out += raw[:size]
                raw = raw[size + 2:]
                if size == 0:
                    break
            body = out
        method, target, _ = lines[0].split(" ", 2)
        with lock:
            seen.append((method, target, fields, body))
            first = sum(1 for r in seen if r[1] == target) == 1
        if target.startswith("/flaky") and first:  # 503 the first time (--retry)
            c.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    except (OSError, ValueError):
        pass
    finally:
        c.close()


def run(prog, args, stdin=b""):
    with lock:
        seen.clear()
    extra = ["--profile", "none"] if prog == GUISE and "--profile" not in args else []
    p = subprocess.run([prog, "-s", "-S", "-o", "/dev/null", *extra, *args], capture_output=True, timeout=30,
                       input=stdin)
    with lock:
        got = list(seen)
    return p.returncode, p.stderr.decode("utf-8", "replace"), got


def field(fields, name):
    for k, v in fields:
        if k.lower() == name:
            return v
    return None


def normal(req):
    """method, target, Content-Type up to the boundary, body with the boundary named B."""
    method, target, fields, body = req
    ct = field(fields, "content-type")
    m = re.search(r"boundary=(\S+)", ct or "")
    if m:
        body = body.replace(m.group(1).encode(), b"B")
        ct = ct[:m.start()] + "boundary=B"
    return method, target, ct, body


srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
port = srv.getsockname()[1]
accept_loop(srv, handle, seconds=120)
U = f"http://127.0.0.1:{port}"
tmp = tempfile.mkdtemp(prefix="guise-cli-body-")
try:
    f_txt = os.path.join(tmp, "f.txt")
    with open(f_txt, "wb") as f:
        f.write(b"a\r\nb\nc")
    raw = os.path.join(tmp, "raw.bin")
    with open(raw, "wb") as f:
        f.write(bytes(range(256)) * 300)
    odd = os.path.join(tmp, "we ird.json")
    with open(odd, "wb") as f:
        f.write(b'{"k": [1, 2]}')
    cases = [
        ("-d joined with &", ["-d", "a=1", "-d", "b=2", U + "/p"]),
        ("-d @file drops CR and LF, --data-binary keeps them, --data-raw keeps '@'",
         ["-d", "@" + f_txt, "--data-binary", "@" + f_txt, "--data-raw", "@x", U + "/p"]),
        ("--data-ascii", ["--data-ascii", "x y", U + "/p"]),
        ("--data-urlencode: content, =content, name=content, @file, name@file",
         ["--data-urlencode", "a b&c=d~._-*", "--data-urlencode", "=x y", "--data-urlencode", "n=v w",
          "--data-urlencode", "@" + f_txt, "--data-urlencode", "m@" + f_txt, "--data-urlencode", "plain é/?",
          U + "/p"]),
        ("--json twice: concatenated", ["--json", '{"a":1}', "--json", '{"b":2}', U + "/j"]),
        ("--json @file", ["--json", "@" + odd, U + "/j"]),
        ("-d then --json", ["-d", "a=1", "--json", '{"b":2}', U + "/j"]),
        ("-X PUT -d", ["-X", "PUT", "-d", "a=1", U + "/p"]),
        ("-G: the data into the query", ["-G", "-d", "a=1", "--data-urlencode", "b=x y", U + "/g?q=1"]),
        ("-G without a query", ["-G", "-d", "a=1", U + "/g"]),
        ("-d --data-binary @binary file", ["--data-binary", "@" + raw, U + "/b"]),
        ("-F: value, @file, <file, type=, filename=, an unknown ;word",
         ["-F", "a=b;c", "-F", "f=@" + f_txt, "-F", "g=<" + f_txt, "-F",
          f'h=@{f_txt};type=text/foo;filename=z"q.bin', "-F", "j=@" + odd, U + "/form"]),
        ("--form-string takes ';' and '@' as they are", ["--form-string", "s=@x;type=y", "-F", "t=1", U + "/form"]),
        ("-F name=@binary file", ["-F", "bin=@" + raw, U + "/form"]),
        ("-T FILE to a URL ending in '/'", ["-T", f_txt, U + "/dir/"]),
        ("-T FILE to a URL with no path", ["-T", f_txt, U]),
        ("-T FILE to a named URL", ["-T", odd, U + "/name.json"]),
        ("-X POST -T FILE", ["-X", "POST", "-T", f_txt, U + "/x"]),
        ("-d '' (an empty body)", ["-d", "", U + "/e"]),
        ("-F with an empty value and a name with a quote", ["-F", 'a"b=', U + "/form"]),
        ("-F empty file part", ["-F", "e=@" + os.devnull, U + "/form"]),
        ("-T an empty file", ["-T", os.devnull, U + "/null"]),
    ]
    for name, args in cases:
        crc, cerr, want = run(CURL, args)
        grc, gerr, got = run(GUISE, args)
        check(f"{name}: exit {crc} as curl", grc == crc, f"guise {grc} {gerr} / curl {crc} {cerr}")
        ok = len(got) == len(want) == 1 and normal(got[0]) == normal(want[0])
        check(f"{name}: method, target, Content-Type and body as curl's", ok,
              f"guise {[normal(r) for r in got]} / curl {[normal(r) for r in want]}")
        if "--json" in args and got:
            check(f"{name}: Accept application/json as curl", field(got[0][2], "accept") == "application/json",
                  got[0][2])
    # stdin: -T - (chunked as curl over HTTP/1.1), -d @-
    for name, args in (("-T - (stdin, chunked)", ["-T", "-", U + "/in"]), ("-d @-", ["-d", "@-", U + "/in"]),
                       ("-F f=@- (stdin part)", ["-F", "f=@-", U + "/in"])):
        crc, cerr, want = run(CURL, args, stdin=b"from\r\nstdin")
        grc, gerr, got = run(GUISE, args, stdin=b"from\r\nstdin")
        ok = len(got) == len(want) == 1 and normal(got[0]) == normal(want[0])
        check(f"{name}: exit {crc}, method, target, Content-Type and body as curl's", grc == crc and ok,
              f"guise {grc} {[normal(r) for r in got]} / curl {crc} {[normal(r) for r in want]}")
        if name.startswith("-T") and got:
            check(f"{name}: Transfer-Encoding chunked as curl's",
                  field(got[0][2], "transfer-encoding") == field(want[0][2], "transfer-encoding") == "chunked",
                  (got[0][2], want[0][2]))
    # -T with two URLs: the second is a GET (curl: one -T per URL)
    crc, cerr, want = run(CURL, ["-T", f_txt, U + "/one", U + "/two"])
    with lock:
        seen.clear()
    p = subprocess.run([GUISE, "-s", "-S", "--profile", "none", "-T", f_txt, U + "/one", U + "/two"],
                       capture_output=True, timeout=30)
    with lock:
        got = list(seen)
    check("-T FILE URL1 URL2: PUT then GET, as curl", [(r[0], r[1]) for r in got] == [(r[0], r[1]) for r in want]
          == [("PUT", "/one"), ("GET", "/two")], (got, want))
    # --retry: a file is sent whole again (as curl); stdin goes once (guise's rule)
    crc, cerr, want = run(CURL, ["--retry", "1", "--retry-delay", "1", "-T", f_txt, U + "/flaky"])
    grc, gerr, got = run(GUISE, ["--retry", "1", "--retry-delay", "1", "-T", f_txt, U + "/flaky"])
    check("-T FILE --retry 1 after a 503: two PUTs with the whole file, as curl",
          grc == crc == 0 and [(r[0], r[3]) for r in got] == [(r[0], r[3]) for r in want]
          == [("PUT", b"a\r\nb\nc")] * 2, (grc, gerr, got, crc, want))
    grc, gerr, got = run(GUISE, ["--retry", "1", "--retry-delay", "1", "-T", "-", U + "/flaky2"], stdin=b"once")
    check("-T - --retry 1 after a 503: one PUT (stdin cannot be read again)",
          grc == 0 and [(r[0], r[3]) for r in got] == [("PUT", b"once")], (grc, gerr, got))
    # A server that answers 413 and closes while the upload goes on: guise ends
    # with the answer or a send error (curl's 55), never killed by SIGPIPE.
    def refuse(c):
        try:
            c.recv(65536)
            c.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        c.close()
    big = os.path.join(tmp, "big.bin")
    with open(big, "wb") as f:
        f.truncate(64 << 20)
    rs = socket.socket()
    rs.bind(("127.0.0.1", 0))
    rs.listen(4)
    accept_loop(rs, refuse, seconds=60)
    try:
        for attempt in range(3):
            p = subprocess.run([GUISE, "-s", "-S", "--profile", "none", "-o", "/dev/null", "-w", "%{http_code}",
                                "-T", big, f"http://127.0.0.1:{rs.getsockname()[1]}/up"], capture_output=True,
                               timeout=30)
            err = p.stderr.decode("utf-8", "replace")
            check(f"-T to a server that answers 413 and closes (run {attempt + 1}): exit 0 with 413 or 55 "
                  f"naming the send failure, no signal",
                  (p.returncode == 0 and p.stdout == b"413") or (p.returncode == 55 and "send" in err),
                  (p.returncode, p.stdout, err))
    finally:
        rs.close()
    # curl refuses these pairs: exit 2, nothing sent
    for args in (["-I", "-d", "a=1", U], ["-I", "-T", f_txt, U], ["-I", "-F", "a=1", U]):
        crc, _, want = run(CURL, args)
        grc, gerr, got = run(GUISE, args)
        check(f"{args[0]} {args[1]}: exit 2 as curl, nothing sent, the message names both",
              grc == crc == 2 and not got and not want and args[1] in gerr and "HEAD" in gerr, (grc, crc, gerr))
    for args in (["-T", f_txt, "-d", "a=1", U], ["-F", "a=1", "-d", "a=1", U], ["-F", "a=1", "-T", f_txt, U]):
        crc, _, want = run(CURL, args)
        grc, gerr, got = run(GUISE, args)
        check(f"{' '.join(a for a in args if not a.startswith('/') and not a.startswith('http'))}: "
              f"exit 2 as curl, nothing sent", grc == crc == 2 and not got and not want, (grc, crc, gerr, got))
        check("  and the message names both options", "one body a request" in gerr, gerr)
    # a file that cannot be read: curl's 26, before any request
    for args in (["-T", tmp + "/missing", U], ["-F", "f=@" + tmp + "/missing", U]):
        crc, _, want = run(CURL, args)
        grc, gerr, got = run(GUISE, args)
        check(f"{args[0]} with a missing file: exit 26 as curl, nothing sent", grc == crc == 26 and not got,
              (grc, crc, gerr))
        check("  the message names the file", "missing" in gerr and "cannot read" in gerr, gerr)
    # guise's own rules where curl is lax (docs/CLI.md)
    grc, gerr, got = run(GUISE, ["-d", "@" + tmp + "/missing", U])
    check("-d @missing: exit 2 naming it, no request (curl sends an empty body)",
          grc == 2 and not got and "-d @" + tmp + "/missing" in gerr, (grc, gerr))
    grc, gerr, got = run(GUISE, ["-G", "-F", "a=1", U])
    check("-G with -F: exit 2 (curl ignores -G)", grc == 2 and not got and "-G" in gerr, (grc, gerr))
    grc, gerr, got = run(GUISE, ["-F", "novalue", U])
    check("-F without '=': exit 2 naming it", grc == 2 and "-F" in gerr and "novalue" in gerr, gerr)
    # The browsers' own multipart bodies: guise with their profile sends the
    # same bytes but the boundary, and a boundary of the same form.
    with open(os.path.join(tmp, "f.txt"), "wb") as f:
        f.write(b"xyz")
    for prof, cap, form in (("chromium-156-linux", "chromium-156-headless.http", r"----WebKitFormBoundary[A-Za-z0-9]{16}"),
                            ("firefox-esr-153-linux", "firefox-esr-153-headless.http",
                             r"----geckoformboundary[0-9a-f]{1,32}")):
        with open(os.path.join(DATA, cap), "rb") as f:
            captured = f.read()
        chead, _, cbody = captured.partition(b"\r\n\r\n")
        cb = re.search(rb"boundary=(\S+)", chead).group(1).decode()
        check(f"{cap}: its boundary has the form {form}", re.fullmatch(form, cb) is not None, cb)
        grc, gerr, got = run(GUISE, ["--profile", prof, "-F", "a=1", "-F", "f=@" + f_txt, U + "/form"])
        ok = grc == 0 and len(got) == 1
        gb = re.search(r"boundary=(\S+)", field(got[0][2], "content-type") or "").group(1) if ok else ""
        check(f"--profile {prof} -F: the boundary has the browser's form", re.fullmatch(form, gb) is not None,
              (grc, gerr, gb))
        check(f"--profile {prof} -F: the body is the browser's, boundary aside",
              ok and got[0][3].replace(gb.encode(), b"B") == cbody.replace(cb.encode(), b"B"),
              (got[0][3] if ok else gerr, cbody))
finally:
    srv.close()
    shutil.rmtree(tmp, ignore_errors=True)
finish()

"""Helpers shared by the Python tests: checks that count failures, loopback ports,
and no process left behind.

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
    from guise_testlib import check, free_port, wait_port, finish

Importing this module makes the test stop, when it ends for any reason but
SIGKILL (a normal end, an exception, SIGTERM, SIGINT, SIGHUP), every process it
started: each subprocess.Popen (subprocess.run too) is registered, and every
descendant, even one that left its parent, carries this test's mark in its
environment (GUISE_TESTLIB_OWNERS) and is found in /proc by it. A ctest run
checks the rest (tests/lib/leftovers.py, docs/TESTING.md).
"""
import atexit
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time

failures = 0

# ---- processes this test started -----------------------------------------------

_OWNER_VAR = "GUISE_TESTLIB_OWNERS"


def _start_time(pid):
    """The start time of |pid| in clock ticks since boot (proc(5) stat field 22), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


# This process's mark: pid and start time, so a later process with the same pid
# is not taken for it. Descendants inherit it; a nested test process adds its own.
_OWNER = f"{os.getpid()}.{_start_time(os.getpid())}"
os.environ[_OWNER_VAR] = ":".join(x for x in (os.environ.get(_OWNER_VAR), _OWNER) if x)
_started = []
_started_lock = threading.Lock()
_Popen = subprocess.Popen


class _TrackedPopen(_Popen):
    """subprocess.Popen that registers the child and marks an explicit env too."""

    def __init__(self, *args, **kwargs):
        env = kwargs.get("env")
        if env is not None:
            env = dict(env)
            env[_OWNER_VAR] = os.environ[_OWNER_VAR]
            if "GUISE_TEST_RUN" in os.environ and "GUISE_TEST_RUN" not in env:
                env["GUISE_TEST_RUN"] = os.environ["GUISE_TEST_RUN"]
            kwargs["env"] = env
        super().__init__(*args, **kwargs)
        with _started_lock:
            _started.append(self)


subprocess.Popen = _TrackedPopen


def marked_processes(var, value, contains=False):
    """Pids (not this process's) whose environment has |var|=|value| (with
    |contains|: |value| among its ':'-separated parts), with their command lines
    and the ctest test that started them (GUISE_TEST_NAME, or "")."""
    want = f"{var}=".encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone, or not ours to read
        name = next((e[16:].decode(errors="replace") for e in env if e.startswith(b"GUISE_TEST_NAME=")), "")
        for e in env:
            if e.startswith(want):
                v = e[len(want):].decode(errors="replace")
                if v == value or (contains and value in v.split(":")):
                    found.append((int(d), cmd, name))
                break
    return found


def _signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _wait_gone(pids, seconds):
    t0 = time.monotonic()
    while pids and time.monotonic() - t0 < seconds:
        pids = [p for p in pids if os.path.exists(f"/proc/{p}") and _state(p) != "Z"]
        if pids:
            time.sleep(0.05)
    return pids


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:].split()[0].decode()
    except (OSError, ValueError, IndexError):
        return "Z"


def stop_started(quiet=False, seconds=3):
    """Stops what this test started and is still running: each registered child
    (its process group too when it leads one), then every process carrying this
    test's mark. SIGTERM, then SIGKILL after |seconds|. Returns what was found."""
    with _started_lock:
        procs = [p for p in _started if p.poll() is None]
    left = []
    for p in procs:
        try:
            if os.getpgid(p.pid) == p.pid and p.pid != os.getpgid(0):
                os.killpg(p.pid, signal.SIGTERM)
            else:
                p.terminate()
        except OSError:
            pass
        left.append((p.pid, " ".join(map(str, p.args)) if isinstance(p.args, (list, tuple)) else str(p.args)))
    for p in procs:
        try:
            p.wait(seconds)
        except subprocess.TimeoutExpired:
            try:
                if os.getpgid(p.pid) == p.pid and p.pid != os.getpgid(0):
                    os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.kill()
            try:
                p.wait(seconds)
            except subprocess.TimeoutExpired:
                pass
    stray = [(pid, cmd) for pid, cmd, _ in marked_processes(_OWNER_VAR, _OWNER, contains=True)]
    if stray:
        pids = [pid for pid, _ in stray]
        _signal_all(pids, signal.SIGTERM)
        rest = _wait_gone(pids, seconds)
        _signal_all(rest, signal.SIGKILL)
        _wait_gone(rest, seconds)
        left += [x for x in stray if x[0] not in {pid for pid, _ in left}]
    if left and not quiet:
        for pid, cmd in left:
            print(f"guise_testlib: stopped pid {pid} left running by the test: {cmd[:200]}",
                  file=sys.stderr, flush=True)
    return left


atexit.register(stop_started)


def _on_signal(sig, frame):
    # Unwinds through the test's finally blocks, then atexit stops the rest.
    raise SystemExit(128 + sig)


# SIGINT already raises KeyboardInterrupt, which unwinds the same way.
if threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_sig) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(_sig, _on_signal)


def check(what, cond, detail=""):
    """Prints ok/FAIL for |what|; a failure shows |detail| (cut at 2,000 characters)."""
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {str(detail)[:2000]}"))
    failures += 0 if cond else 1
    return cond


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, seconds=10):
    """Waits until something accepts on 127.0.0.1:|port| and returns True; exits the
    test if nothing does."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def stop_all(procs, seconds=5):
    """Terminates the servers a test started, killing those that do not end."""
    import subprocess
    for p in procs:
        p.terminate()
        try:
            p.wait(seconds)
        except subprocess.TimeoutExpired:
            p.kill()


def finish():
    """Prints the verdict and exits with it."""
    print(f"{'FAIL' if failures else 'ok'}: {failures} failure(s)")
    sys.exit(1 if failures else 0)


def accept_loop(srv, handle, seconds=30):
    """Accepts on |srv| in a daemon thread, each connection to |handle(sock)| in a
    thread of its own, until |srv| is closed or nothing comes for |seconds|."""
    import threading

    def loop():
        srv.settimeout(seconds)
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A loopback HTTP/1.1 test server's handler base: no access log, and
    reply(status, body, headers) with a Content-Length. Subclasses add do_GET etc."""
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


def h2_frame(ftype, flags, stream, payload=b""):
    """One HTTP/2 frame (RFC 9113 §4.1)."""
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload


def h2_frames(buf):
    """The whole frames at the start of |buf| as (type, flags, stream, payload), and the rest."""
    out = []
    while len(buf) >= 9:
        ln = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + ln:
            break
        out.append((buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + ln]))
        buf = buf[9 + ln:]
    return out, buf


def h2_read_preface(c):
    """Reads the client's 24-byte connection preface from socket |c|: the bytes that
    came after it, or None if the peer closed first."""
    buf = b""
    while len(buf) < 24:
        d = c.recv(65536)
        if not d:
            return None
        buf += d
    return buf[24:]


def nghttpd_requests(log):
    """The requests `nghttpd -v` logged, in the order they came:
    {(connection id, stream id): {"fields": [(name, value)], "prio": (depends_on,
    weight, exclusive), "none" (HEADERS without priority) or None}}."""
    import re
    out = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"\[id=(\d+)\] \[[ \d.]+\] recv \(stream_id=(\d+)(?:, sensitive)?\) (\S+?): (.*)$", line)
        if m:
            out.setdefault((int(m.group(1)), int(m.group(2))), {"fields": [], "prio": None})["fields"].append(
                (m.group(3), m.group(4)))
            continue
        m = re.search(r"\[id=(\d+)\] \[[ \d.]+\] recv HEADERS frame <length=\d+, flags=0x[0-9a-f]+, stream_id=(\d+)>",
                      line)
        if m:
            body = " ".join(lines[i + 1:i + 3])
            p = re.search(r"dep_stream_id=(\d+), weight=(\d+), exclusive=(\d)", body)
            r = out.setdefault((int(m.group(1)), int(m.group(2))), {"fields": [], "prio": None})
            r["prio"] = (int(p.group(1)), int(p.group(2)), p.group(3) == "1") if p else "none"
    return out


def read_http1_request(t):
    """One HTTP/1.1 request read from the socket |t| as it was sent: {"method",
    "path", "headers" (name, value pairs in order and case), "body" (bytes, as
    Content-Length says)}. The head is read up to 64 KiB; a cut one raises
    ValueError or IndexError."""
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < 65536:
        d = t.recv(4096)
        if not d:
            break
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hs = [tuple(x.split(": ", 1)) for x in lines[1:] if ": " in x]
    n = int(dict((k.lower(), v) for k, v in hs).get("content-length", "0"))
    while len(body) < n:
        d = t.recv(4096)
        if not d:
            break
        body += d
    parts = lines[0].split(" ")
    return {"method": parts[0], "path": parts[1], "headers": hs, "body": body}


def h1_recording_server(ctx):
    """A TLS listener on loopback (|ctx|: an ssl server context, e.g. offering only
    http/1.1) that keeps each request as sent — {"method", "path", "headers" (name,
    value pairs in order and case), "body", "headers_priority": None} — and answers
    200 "ok", closing. Returns (listening socket, list of requests); close the socket
    to stop it. Heads over 64 KiB are cut."""
    import ssl
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    heads = []

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            try:
                t = ctx.wrap_socket(c, server_side=True)
                t.settimeout(5)
                q = read_http1_request(t)
                q["headers_priority"] = None
                heads.append(q)
                t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                t.close()
            except (OSError, ssl.SSLError, ValueError, IndexError):
                c.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, heads


def fake_socks5_udp(reply):
    """A SOCKS5 proxy (RFC 1928) on loopback that takes "no authentication", answers
    the UDP ASSOCIATE with |reply| (bytes) and holds the connection: the listening
    socket, to close when done."""
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            try:
                c.settimeout(5)
                c.recv(16)
                c.sendall(b"\x05\x00")
                c.recv(64)
                c.sendall(reply)
                c.recv(1)
            except OSError:
                pass
            finally:
                c.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv


def h3_server(binary, workdir, seconds=60, tcp=False):
    """Starts tests/interop/h3server (quic-go's HTTP/3, built into the build dir as
    h3server) on a free loopback UDP port with a throwaway certificate made here
    by openssl in |workdir|; with |tcp| also its TLS twin (h2, HTTP/1.1, Alt-Svc:
    h3) on the same TCP port. A context manager: yields a namespace with port,
    log (its JSON-lines request log), cert, key and records() (the log read as
    dicts); stops the server on the way out, whatever happened. The server also
    exits by itself after |seconds|. Raises RuntimeError, with the reason, when the
    binary is missing or does not start (nothing is skipped)."""
    import contextlib
    import json
    import tempfile
    import types

    @contextlib.contextmanager
    def run():
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"{binary} is missing: it is built from tests/interop/h3server with "
                               "tools/setup's quic-go (tools/go/fetch-quic-go); run tools/setup, then gbuild")
        cert, key = os.path.join(workdir, "h3-cert.pem"), os.path.join(workdir, "h3-key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"openssl could not make the h3server certificate: {r.stderr.strip()}")
        fd, log = tempfile.mkstemp(prefix="h3server-", suffix=".jsonl", dir=workdir)
        os.close(fd)
        cmd = [binary, "-listen", "127.0.0.1:0", "-cert", cert, "-key", key, "-log", log,
               "-seconds", str(seconds)] + (["-tcp"] if tcp else [])
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            words = p.stdout.readline().split()
            if len(words) != 2 or words[0] != "listening":
                p.kill()
                raise RuntimeError(f"h3server did not start: {words} {p.stderr.read().strip()}")

            def records():
                try:
                    with open(log) as f:
                        return [json.loads(x) for x in f if x.strip()]
                except FileNotFoundError:
                    return []
            yield types.SimpleNamespace(port=int(words[1].rsplit(":", 1)[1]), log=log, cert=cert, key=key,
                                        records=records, proc=p)
        finally:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
    return run()

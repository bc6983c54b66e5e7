#!/usr/bin/env python3
"""The connection pool, checked against what the servers saw.

guise echo numbers its connections and requests and reports the client's
address; nginx logs $connection and $connection_requests; a small server here
closes a kept-alive connection just as the next request arrives. Every claim of
reuse, multiplexing, caps and idle timeouts is read from the server side.

usage: test_pool.py GUISE POOL_PROBE
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

GUISE, PROBE = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import (accept_loop, check, finish, free_port, h2_frame as frame, h2_frames, h2_read_preface,  # noqa: E402
                           stop_all, wait_port)


def probe(*args):
    r = subprocess.run([PROBE, *map(str, args)], capture_output=True, timeout=60)
    lines = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
    return r.returncode, lines, r.stderr.decode()


def conns(lines):
    return {l["body"]["connection"] for l in lines if l.get("body")}


def keepalive_race_server():
    """HTTP/1.1 on loopback: connection 1 answers one request with keep-alive,
    then reads the next request and closes without a byte (a server's idle
    timeout meeting the request); connection 2 answers. Records what it served."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    seen = []

    def read_request(c):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                return None
            data += chunk
        return data.split(b"\r\n", 1)[0].decode()

    def serve():
        srv.settimeout(20)
        for n in range(2):
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                line = read_request(c)
                seen.append((n, line))
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
                if n == 0:
                    line = read_request(c)
                    seen.append((n, line))  # read, then dropped unanswered
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv.getsockname()[1], seen, t


def slow_h2c_server(delay=0.3):
    """h2c (prior knowledge) on loopback, written from RFC 9113 frames: every
    request is answered |delay| seconds after its HEADERS arrive, with a body
    naming the connection. Records per connection the most streams open at once."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stats = {"connections": 0, "max_open": {}, "requests": 0}
    lock = threading.Lock()

    def conn(c, n):
        wlock = threading.Lock()
        open_now = [0]

        def send(b):
            with wlock:
                try:
                    c.sendall(b)
                except OSError:
                    pass

        def answer(sid):
            time.sleep(delay)
            body = str(n).encode()
            # :status 200 is HPACK static index 8 (RFC 7541 Appendix A).
            send(frame(1, 0x4, sid, b"\x88") + frame(0, 0x1, sid, body))
            with lock:
                open_now[0] -= 1

        try:
            buf = h2_read_preface(c)
            if buf is None:
                return
            send(frame(4, 0, 0))  # our SETTINGS: no limit on streams
            while True:
                frames, buf = h2_frames(buf)
                for ftype, flags, sid, _ in frames:
                    if ftype == 4 and not flags & 1:
                        send(frame(4, 1, 0))
                    elif ftype == 1:
                        with lock:
                            open_now[0] += 1
                            stats["requests"] += 1
                            stats["max_open"][n] = max(stats["max_open"].get(n, 0), open_now[0])
                        threading.Thread(target=answer, args=(sid,), daemon=True).start()
                d = c.recv(65536)
                if not d:
                    return
                buf += d
        except OSError:
            return
        finally:
            c.close()

    def accepted(c):
        with lock:
            stats["connections"] += 1
            n = stats["connections"]
        conn(c, n)

    accept_loop(srv, accepted)
    return srv, srv.getsockname()[1], stats


tmp = tempfile.mkdtemp(prefix="guise-pool-")
procs = []
try:
    port = free_port()
    echo = subprocess.Popen([GUISE, "echo", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(echo)
    wait_port(port)
    base = f"https://127.0.0.1:{port}"

    # HTTP/2: one connection carries requests one after the other.
    rc, lines, err = probe("seq", f"{base}/seq", 4)
    check("h2 sequential: 4 requests, all OK", rc == 0 and len(lines) == 4 and
          all(l["err"] == "OK" for l in lines), (rc, lines, err))
    check("h2 sequential: the server saw one connection, requests 1..4 on it",
          len(conns(lines)) == 1 and [l["body"]["request_number"] for l in lines] == [1, 2, 3, 4], lines)
    check("h2 sequential: reused is 0 then 1, our local address is the server's peer",
          [l["reused"] for l in lines] == [0, 1, 1, 1] and all(l["local"] == l["body"]["peer"] for l in lines), lines)

    # HTTP/2: requests at once are streams of one connection, up to the cap per connection.
    rc, lines, err = probe("streams", f"{base}/streams", 12, 100)
    check("h2 at once: 12 requests, one connection", rc == 0 and len(lines) == 12 and len(conns(lines)) == 1,
          (rc, lines, err))
    # The cap of streams per connection, seen by a server that answers after 300 ms.
    ssrv, sport, stats = slow_h2c_server()
    rc, lines, err = probe("streams", f"http://127.0.0.1:{sport}/slow", 12, 4)
    ssrv.close()
    check("h2 at once, 4 streams per connection: 12 requests OK on 3 connections, never more than 4 open on one",
          rc == 0 and len(lines) == 12 and all(l["err"] == "OK" for l in lines) and
          stats["connections"] == 3 and max(stats["max_open"].values()) == 4 and
          len({l["body"] for l in lines}) == 3, (rc, lines, err, stats))

    # HTTP/1.1: keep-alive, and a cap per origin when requests come at once.
    rc, lines, err = probe("par", f"{base}/par", 10, 3)
    check("http/1.1 at once, cap 3: 10 requests OK on exactly 3 connections",
          rc == 0 and len(lines) == 10 and all(l["err"] == "OK" for l in lines) and len(conns(lines)) == 3 and
          all(l["version"] == "HTTP/1.1" for l in lines), (rc, lines, err))

    # Idle timeout: reused soon after, a new connection after the timeout.
    rc, lines, err = probe("idle", f"{base}/idle", 1, 200)
    ids = [l["body"]["connection"] for l in lines if l.get("body")]
    check("idle timeout 200 ms: request 2 reuses, request 3 (after 600 ms) opens a new connection",
          rc == 0 and len(ids) == 3 and ids[0] == ids[1] != ids[2] and [l["reused"] for l in lines] == [0, 1, 0],
          (rc, lines, err))

    # Closing the client with requests in flight: each ends exactly once, CANCELLED.
    rc, lines, err = probe("close", f"{base}/close", 20)
    check("client closed with 20 requests queued: 20 completions, each once, CANCELLED, loop clean",
          rc == 0 and sorted(l["n"] for l in lines) == list(range(20)) and
          all(l["completions"] == 1 and l["err"] == "CANCELLED" for l in lines), (rc, lines, err))

    # The profile is part of the pool key: chrome and firefox never share a connection.
    rc, lines, err = probe("profiles", f"{base}/p")
    by_n = {l["n"]: l for l in lines}
    ok = rc == 0 and len(by_n) == 3 and all(l["err"] == "OK" for l in lines)
    if ok:
        c0, c1, c2 = (by_n[i]["body"]["connection"] for i in range(3))
        ja = [by_n[i]["body"]["tls"]["fingerprints"]["ja4"] for i in range(3)]
        ok = c0 == c2 != c1 and ja[0] == ja[2] != ja[1]
    check("two profiles on one origin: two connections; the same profile shares one", ok, (rc, lines, err))

    # Happy eyeballs (RFC 8305): the first address drops SYNs (a listener on
    # 127.0.0.2 whose accept queue is full), the second answers: connected after
    # the 250 ms attempt delay, not after the 5 s connect timeout.
    hole = socket.socket()
    hole.bind(("127.0.0.2", port))
    hole.listen(0)
    fillers = []
    for _ in range(3):
        fc = socket.socket()
        fc.setblocking(False)
        try:
            fc.connect(("127.0.0.2", port))
        except BlockingIOError:
            pass
        fillers.append(fc)
    time.sleep(0.3)
    t0 = time.monotonic()
    r = subprocess.run([GUISE, "--profile", "none", "-k", "-s", "-o", os.devnull, "--connect-timeout", "5",
                        "--resolve", f"www.guise.test:{port}:127.0.0.2,127.0.0.1", "-w",
                        "%{http_code} %{remote_ip} %{time_connect}", f"https://www.guise.test:{port}/he"],
                       capture_output=True, timeout=30)
    took = time.monotonic() - t0
    out = r.stdout.decode().split()
    check("happy eyeballs: the second address answers after the attempt delay (0.25 s), not the connect timeout",
          r.returncode == 0 and out[:2] == ["200", "127.0.0.1"] and 0.24 <= float(out[2]) < 1.5 and took < 3,
          (r.returncode, out, took, r.stderr))
    for fc in fillers:
        fc.close()
    hole.close()

    # The command: several URLs reuse the connection (curl's behaviour), -Z runs them at once.
    fmt = "%{num_connects} %{local_port}\\n"
    # One -o per URL: as curl, an -o belongs to one URL (the others would go to stdout).
    r = subprocess.run([GUISE, "--profile", "none", "-k", "-s", "-o", os.devnull, "-o", os.devnull,
                        "-o", os.devnull, "-w", fmt, f"{base}/1", f"{base}/2", f"{base}/3"],
                       capture_output=True, timeout=30)
    rows = [l.split() for l in r.stdout.decode().splitlines()]
    check("guise URL URL URL: one connect, one local port", r.returncode == 0 and
          [x[0] for x in rows] == ["1", "0", "0"] and len({x[1] for x in rows}) == 1, (r.returncode, rows))
    r = subprocess.run([GUISE, "--profile", "none", "-k", "-s", "--no-keepalive", "-o", os.devnull, "-o",
                        os.devnull, "-w", fmt, f"{base}/1", f"{base}/2"], capture_output=True, timeout=30)
    rows = [l.split() for l in r.stdout.decode().splitlines()]
    check("--no-keepalive: a connection per URL", r.returncode == 0 and len({x[1] for x in rows}) == 2, rows)

    # nginx (Debian), HTTP/1.1 keep-alive: its own log says which connection served what.
    nport = free_port()
    os.makedirs(f"{tmp}/www")
    with open(f"{tmp}/www/a.txt", "w") as f:
        f.write("a" * 100)
    with open(f"{tmp}/nginx.conf", "w") as f:
        f.write(f"""worker_processes 1; daemon off; master_process off; pid {tmp}/nginx.pid;
error_log {tmp}/error.log; events {{ worker_connections 64; }}
http {{ log_format pool '$connection $connection_requests $request_uri';
  access_log {tmp}/access.log pool; client_body_temp_path {tmp}; proxy_temp_path {tmp};
  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp}; default_type text/plain;
  server {{ listen 127.0.0.1:{nport}; root {tmp}/www; }} }}
""")
    ng = subprocess.Popen(["nginx", "-c", f"{tmp}/nginx.conf", "-p", tmp], stderr=subprocess.DEVNULL)
    procs.append(ng)
    wait_port(nport)
    nurl = f"http://127.0.0.1:{nport}"
    r = subprocess.run([GUISE, "-s", "-o", os.devnull, "-o", os.devnull, "-o", os.devnull,
                        f"{nurl}/a.txt?1", f"{nurl}/a.txt?2", f"{nurl}/a.txt?3"], capture_output=True, timeout=30)
    time.sleep(0.2)
    with open(f"{tmp}/access.log") as f:
        log = [l.split() for l in f if "/a.txt?" in l]
    check("nginx: three URLs on one connection, its requests 1, 2, 3",
          r.returncode == 0 and len(log) == 3 and len({x[0] for x in log}) == 1 and
          [x[1] for x in log] == ["1", "2", "3"], (r.returncode, log, r.stderr))

    # A kept-alive connection that the server closes as the next request arrives:
    # the request goes again on a new connection (no byte of a response had come).
    kport, seen, t = keepalive_race_server()
    r = subprocess.run([GUISE, "--profile", "none", "-s", "-w", "%{http_code} %{num_connects}\\n",
                        f"http://127.0.0.1:{kport}/first", f"http://127.0.0.1:{kport}/second"],
                       capture_output=True, timeout=30)
    t.join(5)
    check("reused HTTP/1.1 connection closed before the response: retried on a new one, exit 0",
          r.returncode == 0 and r.stdout.decode().split("\n")[1::2] and
          seen == [(0, "GET /first HTTP/1.1"), (0, "GET /second HTTP/1.1"), (1, "GET /second HTTP/1.1")],
          (r.returncode, r.stdout, r.stderr, seen))
finally:
    stop_all(procs)
    shutil.rmtree(tmp, ignore_errors=True)

finish()

#!/usr/bin/env python3
"""The guise command against real servers on loopback: guise echo (which reports
exactly what arrived) and nginx from Debian (gzip), over HTTP/2, HTTP/1.1 and h2c.

usage: test_client.py GUISE
"""
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, wait_port  # noqa: E402


def guise(*args, timeout=30):
    # No browser profile unless a test asks: these tests check what the caller gives.
    if "--profile" not in args:
        args = ("--profile", "none") + args
    return subprocess.run([GUISE, *args], capture_output=True, timeout=timeout)


def goaway_server():
    """h2c on loopback: the first connection gets SETTINGS + GOAWAY(last stream 0),
    the second a 200 with an empty body (HEADERS, HPACK static index 8 = :status 200)."""
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    seen = {"connections": 0}

    def frame(ftype, flags, stream, payload=b""):
        return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload

    def serve():
        srv.settimeout(20)
        for n in range(2):
            try:
                c, _ = srv.accept()
            except OSError:
                return
            seen["connections"] += 1
            c.settimeout(10)
            data = b""
            try:
                while len(data) < 24 + 9:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                c.sendall(frame(4, 0, 0))  # SETTINGS
                if n == 0:
                    c.sendall(frame(7, 0, 0, (0).to_bytes(4, "big") + (0).to_bytes(4, "big")))  # GOAWAY
                else:
                    # wait for the request's HEADERS, then answer on stream 1
                    while b"\x01\x05\x00\x00\x00\x01" not in data and b"\x01\x04\x00\x00\x00\x01" not in data:
                        chunk = c.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    c.sendall(frame(1, 0x5, 1, b"\x88"))  # END_STREAM | END_HEADERS
                    time.sleep(0.2)
            except OSError:
                pass
            c.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], seen


tmp = tempfile.mkdtemp(prefix="guise-client-")
procs = []
try:
    echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    procs.append(echo)
    port = echo.stdout.readline().split()[1].rsplit(":", 1)[1]
    base = f"https://127.0.0.1:{port}"

    # HTTP/2: header order as given, names lowercased, :authority from the URL.
    r = guise("-k", "-H", "Accept: text/html", "-H", "X-Second: 2", "-H", "Accept-Language: en", f"{base}/a?q=1")
    doc = json.loads(r.stdout)
    hs = doc["request"]["headers"]
    check("h2: exit 0, ALPN h2", r.returncode == 0 and doc["http_version"] == "h2", r.stderr)
    check("h2: pseudo-headers then the given headers in order",
          [h[0] for h in hs] == [":method", ":authority", ":scheme", ":path", "accept", "x-second", "accept-language"], hs)
    check("h2: :path carries the query", [v for n, v in hs if n == ":path"] == ["/a?q=1"], hs)

    # HTTP/1.1: exact order and case; Host first; Content-Length for the body.
    r = guise("-k", "--http1.1", "-H", "X-Mixed-Case: Yes", "-H", "accept: */*", "-d", "hello=1", f"{base}/post")
    doc = json.loads(r.stdout)
    names = [h[0] for h in doc["http1"]["headers"]]
    check("http/1.1: Host first, then the headers as given, -d's Content-Type, Content-Length last",
          names == ["Host", "X-Mixed-Case", "accept", "Content-Type", "Content-Length"], names)
    check("http/1.1: POST with the body's length", doc["http1"]["method"] == "POST" and
          ["Content-Length", "7"] in doc["http1"]["headers"], doc["http1"])

    # h2c prior knowledge and -w.
    r = guise("--http2", "-s", "-o", os.devnull, "-w", "%{http_code} %{http_version}", f"http://127.0.0.1:{port}/c")
    check("h2c with --http2 and -w", r.stdout.decode() == "200 2", r.stdout)

    # -i prints the head; -I sends HEAD.
    r = guise("-k", "-I", f"{base}/head")
    check("-I: a head (curl's HTTP/2 status line), no body", r.returncode == 0 and
          r.stdout.startswith(b"HTTP/2 200 \r\n") and
          r.stdout.endswith(b"\r\n\r\n"), r.stdout[:200])

    # Certificates and exit codes.
    r = guise(f"{base}/")
    check("self-signed certificate refused by default: exit 60, named", r.returncode == 60 and
          b"CERT_SELF_SIGNED" in r.stderr, (r.returncode, r.stderr))
    closed = free_port()
    r = guise("-k", f"https://127.0.0.1:{closed}/")
    check("connection refused: exit 7", r.returncode == 7 and b"CONNECT_REFUSED" in r.stderr, (r.returncode, r.stderr))
    r = guise("ftp://example.invalid/")
    check("unsupported scheme: exit 1 (curl's UNSUPPORTED_PROTOCOL)", r.returncode == 1, (r.returncode, r.stderr))
    r = guise("-k", "--resolve", f"www.guise.test:{port}:127.0.0.1", "-w", "%{remote_ip}", "-o", os.devnull,
              f"https://www.guise.test:{port}/")
    check("--resolve", r.returncode == 0 and r.stdout == b"127.0.0.1", (r.returncode, r.stdout, r.stderr))

    # nginx with gzip: the body is decoded; --raw keeps it as sent.
    text = ("guise " * 4000).encode()
    os.makedirs(f"{tmp}/www")
    with open(f"{tmp}/www/page.txt", "wb") as f:
        f.write(text)
    nport = free_port()
    conf = f"{tmp}/nginx.conf"
    with open(conf, "w") as f:
        # Brotli through Debian's libnginx-mod-http-brotli-filter.
        f.write(f"""load_module /usr/lib/nginx/modules/ngx_http_brotli_filter_module.so;
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx.pid;
error_log {tmp}/error.log; events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp}; default_type text/plain;
  gzip on; gzip_types text/plain; gzip_min_length 10;
  brotli on; brotli_types text/plain; brotli_min_length 10;
  server {{ listen 127.0.0.1:{nport}; root {tmp}/www; }} }}
""")
    ng = subprocess.Popen(["nginx", "-c", conf, "-p", tmp], stderr=subprocess.DEVNULL)
    procs.append(ng)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", nport), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    url = f"http://127.0.0.1:{nport}/page.txt"
    r = guise("-H", "Accept-Encoding: gzip", "-i", url)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    check("nginx gzip: Content-Encoding gzip, body decoded to the file",
          b"Content-Encoding: gzip" in head and body == text, head)
    r = guise("-H", "Accept-Encoding: gzip", "--raw", url)
    check("--raw keeps the gzip bytes (they decompress to the file)", gzip.decompress(r.stdout) == text)
    r = guise("-H", "Accept-Encoding: br", "-i", url)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    check("nginx brotli: Content-Encoding br, body decoded to the file",
          b"Content-Encoding: br" in head and body == text, head)
    r = guise("-H", "Accept-Encoding: br", "--raw", "-w", "%{size_download}", "-o", os.devnull, url)
    check("nginx brotli --raw: the compressed bytes only (smaller than the file)",
          r.returncode == 0 and 0 < int(r.stdout or b"0") < len(text) // 10, r.stdout)
    r = guise("-w", "%{http_code}", "-o", os.devnull, f"http://127.0.0.1:{nport}/missing")
    check("404 is a response, not an error: exit 0", r.returncode == 0 and r.stdout == b"404", (r.returncode, r.stdout))

    # h2o (Debian): HTTP/2 and HTTP/1.1 over TLS, brotli or gzip decoded.
    hport = free_port()
    key, crt = f"{tmp}/h2o.key", f"{tmp}/h2o.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
    with open(f"{tmp}/h2o.conf", "w") as f:
        f.write(f"""listen:
  port: {hport}
  host: 127.0.0.1
  ssl:
    certificate-file: {crt}
    key-file: {key}
hosts:
  "localhost":
    paths:
      "/":
        file.dir: {tmp}/www
        compress: ON
access-log: /dev/null
error-log: {tmp}/h2o-error.log
pid-file: {tmp}/h2o.pid
user: root
""")
    h2o = subprocess.Popen(["h2o", "-c", f"{tmp}/h2o.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(h2o)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", hport), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    for proto, enc in (("--http2", "br"), ("--http1.1", "gzip")):
        r = guise("-k", proto, "-H", f"accept-encoding: {enc}", "-w", "%{http_version}", "-o", f"{tmp}/got",
                  f"https://127.0.0.1:{hport}/page.txt")
        got = open(f"{tmp}/got", "rb").read() if os.path.exists(f"{tmp}/got") else b""
        check(f"h2o {proto} with {enc}: body decoded to the file", r.returncode == 0 and got == text,
              (r.returncode, r.stdout, r.stderr[-300:], len(got)))

    # A server that refuses the first connection's stream with GOAWAY (last id 0,
    # RFC 9113 6.8: not processed) and answers on the second: guise retries once.
    gport, seen = goaway_server()
    r = guise("--http2", "-w", "%{http_code}", "-o", os.devnull, f"http://127.0.0.1:{gport}/retry")
    check("GOAWAY-unprocessed request retried on a new connection", r.returncode == 0 and r.stdout == b"200"
          and seen["connections"] == 2, (r.returncode, r.stdout, r.stderr, seen))

    # A TLS 1.2 server whose one cipher the Chrome profile does not offer: the
    # handshake fails with the server's alert, and -v says so in the TLS
    # library's words.
    import ssl
    import threading
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.maximum_version = ssl.TLSVersion.TLSv1_2
    sctx.set_ciphers("ECDHE-ECDSA-AES128-SHA256")
    sctx.load_cert_chain(crt, key)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(20)

    def serve_once():
        try:
            c, _ = lsock.accept()
            try:
                sctx.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError):
                pass
            c.close()
        except OSError:
            pass

    t = threading.Thread(target=serve_once, daemon=True)
    t.start()
    r = guise("-k", "-v", "--profile", "chrome-150", f"https://127.0.0.1:{lsock.getsockname()[1]}/")
    t.join(timeout=10)
    lsock.close()
    check("no common cipher: the server's alert, named in the library's words",
          r.returncode != 0 and b"TLS library: SSLV3_ALERT_HANDSHAKE_FAILURE" in r.stderr, (r.returncode, r.stderr[-300:]))
finally:
    for p in procs:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(tmp, ignore_errors=True)
finish()

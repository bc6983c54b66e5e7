#!/usr/bin/env python3
"""Browser-shaped hellos against nginx (Debian, OpenSSL 3.0, no post-quantum).

usage: test_nginx_shapes.py SHAPED_CLIENT BROWSERS_JSON

nginx on loopback with an ECDSA P-256 certificate, TLS 1.2 and 1.3, ALPN h2.
Chrome 150-, Firefox 144- and Safari 26-shaped clients (ML-KEM offered first,
which OpenSSL 3.0 does not know) must complete the handshake on X25519, TLS 1.3;
a TLS 1.2-only nginx must still complete with each of them.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CLIENT, BROWSERS = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from guise_testlib import check, finish, free_port  # noqa: E402


def nginx(tmp, protocols):
    port = free_port()
    key, crt = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    if not os.path.exists(key):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
    conf = os.path.join(tmp, f"nginx-{port}.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; master_process off; pid {tmp}/nginx-{port}.pid;
error_log {tmp}/error-{port}.log; events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port} ssl http2; ssl_certificate {crt}; ssl_certificate_key {key};
    ssl_protocols {protocols}; location / {{ return 200 "ok\\n"; }} }} }}
""")
    p = subprocess.Popen(["nginx", "-c", conf, "-p", tmp], stderr=subprocess.PIPE)
    t0 = time.time()
    while time.time() - t0 < 10:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nginx did not start: {p.stderr.read()[-500:]}")


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()


tmp = tempfile.mkdtemp(prefix="guise-nginx-")
try:
    browsers = ["chrome_150.0.7871.127_macOS", "firefox_144.0.0_linux", "safari_26.0.1_macOS"]
    srv, port = nginx(tmp, "TLSv1.2 TLSv1.3")
    for b in browsers:
        r = subprocess.run([CLIENT, BROWSERS, b, str(port)], capture_output=True, text=True, timeout=20)
        check(f"{b} shape completes with nginx on X25519, TLS 1.3, h2",
              r.returncode == 0 and "version=TLSv1.3" in r.stdout and "group=X25519 " in r.stdout
              and "alpn=h2" in r.stdout, r.stdout + r.stderr)
    stop(srv)
    srv, port = nginx(tmp, "TLSv1.2")
    for b in browsers:
        r = subprocess.run([CLIENT, BROWSERS, b, str(port)], capture_output=True, text=True, timeout=20)
        check(f"{b} shape completes with a TLS 1.2-only nginx",
              r.returncode == 0 and "version=TLSv1.2" in r.stdout, r.stdout + r.stderr)
    stop(srv)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
finish()

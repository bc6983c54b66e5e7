"""Shared parts of the benchmark scripts of tools/bench (batch, python): nginx on
loopback pinned to CPU 0 (TLS 1.3, ECDSA P-256, HTTP/2), runs of a client pinned to
CPU 1 timed by /usr/bin/time, and nginx's own CPU time. Loopback only."""
import os
import socket
import subprocess
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wrap(cmd):
    """|cmd| under /usr/bin/time: user+sys seconds and peak RSS (parse_time)."""
    return ["/usr/bin/time", "-f", "GUISE_TIME %U %S %M", *cmd]


def parse_time(err):
    """(CPU seconds, peak RSS KiB) from the stderr of a wrap()ped command."""
    for line in err.decode(errors="replace").splitlines()[::-1]:
        if line.startswith("GUISE_TIME "):
            u, s, m = line.split()[1:4]
            return float(u) + float(s), int(m)
    return None, None


def start_nginx(tmp, body):
    """nginx on CPU 0 serving |body| bytes at /body; returns (process, URL)."""
    key, crt = f"{tmp}/key.pem", f"{tmp}/cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    os.makedirs(f"{tmp}/www", exist_ok=True)
    with open(f"{tmp}/www/body", "wb") as f:
        f.write(b"x" * body)
    port = free_port()
    with open(f"{tmp}/nginx.conf", "w") as f:
        f.write(f"""worker_processes 1; daemon off; master_process off; pid {tmp}/nginx.pid;
worker_rlimit_nofile 65536;
error_log {tmp}/error.log; events {{ worker_connections 16384; }}
http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp}; keepalive_requests 1000000; http2_max_requests 1000000;
  server {{ listen 127.0.0.1:{port} ssl http2 reuseport backlog=4096; ssl_certificate {crt};
    ssl_certificate_key {key}; ssl_protocols TLSv1.3; root {tmp}/www;
    location / {{ default_type text/plain; }} }} }}
""")
    ng = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", f"{tmp}/nginx.conf", "-p", tmp],
                          stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return ng, port, f"https://127.0.0.1:{port}/body"


def process_cpu(pid):
    """user+sys CPU seconds of process |pid| (/proc/PID/stat, clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

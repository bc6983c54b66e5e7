#!/usr/bin/env python3
"""guise through real proxies on loopback: tinyproxy (HTTP CONNECT, with and
without Basic credentials) and microsocks (SOCKS5, with and without
user/password), in front of guise echo. The fingerprints guise echo sees through
each proxy must equal the ones it sees directly; every proxy failure ends the
request with its own error name and curl's exit status for it (7 refused, 56 an HTTP
proxy's refusal or garbage, 97 a SOCKS proxy's, 60 its certificate, 28 no answer),
within the timeouts.

usage: test_proxy.py GUISE
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

GUISE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, finish, free_port, wait_port  # noqa: E402
procs = []


def start(args, port):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    if not wait_port(port):
        raise SystemExit(f"{args[0]} did not start")
    return p


def tinyproxy(tmp, extra=""):
    port = free_port()
    conf = os.path.join(tmp, f"tinyproxy-{port}.conf")
    with open(conf, "w") as f:
        f.write(f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\n{extra}")
    start(["tinyproxy", "-d", "-c", conf], port)
    return port


def microsocks(*auth):
    port = free_port()
    start(["microsocks", "-i", "127.0.0.1", "-p", str(port), *auth], port)
    return port


def dante(tmp):
    """dante-server (Debian) speaking SOCKS4 and SOCKS5, no authentication. Dante
    refuses SOCKS4A names (reply 91); the 4A encoding of a name is checked
    byte by byte in tests/unit/proxy."""
    port = free_port()
    conf = os.path.join(tmp, f"danted-{port}.conf")
    with open(conf, "w") as f:
        f.write(f"""logoutput: {tmp}/danted.log
internal: 127.0.0.1 port = {port}
external: lo
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}
socks pass {{ from: 127.0.0.0/8 to: 127.0.0.0/8 }}
""")
    start(["danted", "-f", conf, "-p", os.path.join(tmp, f"danted-{port}.pid")], port)
    return port


def https_proxy(tmp, backend):
    """An HTTPS proxy: stunnel4 (Debian) terminating TLS in front of tinyproxy."""
    port = free_port()
    key, crt = os.path.join(tmp, "proxy.key"), os.path.join(tmp, "proxy.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    conf = os.path.join(tmp, f"stunnel-{port}.conf")
    with open(conf, "w") as f:
        f.write(f"foreground = yes\npid =\n[proxy]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{backend}\n"
                f"cert = {crt}\nkey = {key}\n")
    start(["stunnel4", conf], port)
    return port, crt


def guise(*args, timeout=30):
    return subprocess.run([GUISE, "-k", *args], capture_output=True, timeout=timeout)


def fingerprints(r):
    d = json.loads(r.stdout)
    return d["tls"]["fingerprints"]["ja4"], d["tls"]["fingerprints"]["ja3n"], d["http2"]["akamai"]


def bad_server(reply):
    """Accepts connections on loopback and answers each with |reply| (None: silence)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)

    def run():
        held = []
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            try:
                c.recv(4096)
                if reply is not None:
                    c.sendall(reply)
            except OSError:
                pass
            held.append(c)  # keep silent ones open until the test ends

    threading.Thread(target=run, daemon=True).start()
    return s


with tempfile.TemporaryDirectory() as tmp:
    try:
        echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        procs.append(echo)
        eport = int(echo.stdout.readline().split()[1].rsplit(":", 1)[1])
        origin = f"https://localhost:{eport}/"
        direct = guise(origin)
        check("direct request", direct.returncode == 0, direct.stderr)
        want = fingerprints(direct)

        http = tinyproxy(tmp)
        http_auth = tinyproxy(tmp, "BasicAuth guise s3cret\n")
        http_443 = tinyproxy(tmp, "ConnectPort 443\n")
        socks = microsocks()
        socks_auth = microsocks("-u", "guise", "-P", "s3cr:t")
        for name, url in (("HTTP CONNECT", f"http://127.0.0.1:{http}"),
                          ("HTTP CONNECT with Basic credentials", f"http://guise:s3%63ret@127.0.0.1:{http_auth}"),
                          ("SOCKS5, the proxy resolves", f"socks5h://127.0.0.1:{socks}"),
                          ("SOCKS5, resolved here", f"socks5://127.0.0.1:{socks}"),
                          ("SOCKS5 with user/password", f"socks5h://guise:s3cr%3At@127.0.0.1:{socks_auth}")):
            r = guise("-x", url, origin)
            if r.returncode != 0:
                check(f"{name}: request", False, (r.returncode, r.stderr))
                continue
            check(f"{name}: the fingerprints guise echo sees equal the direct ones", fingerprints(r) == want,
                  f"{fingerprints(r)} vs {want}")
        d_port = dante(tmp)
        h_port, h_cert = https_proxy(tmp, http)
        origin_ip = f"https://127.0.0.1:{eport}/"
        want_ip = fingerprints(guise(origin_ip))
        for name, url, o, w in (("SOCKS4 (dante), resolved here", f"socks4://127.0.0.1:{d_port}", origin, want),
                                ("SOCKS4A (dante), an IP literal", f"socks4a://127.0.0.1:{d_port}", origin_ip, want_ip),
                                ("SOCKS5 (dante)", f"socks5h://127.0.0.1:{d_port}", origin, want),
                                ("HTTPS proxy (stunnel4 + tinyproxy): TLS to the proxy, then TLS inside",
                                 f"https://127.0.0.1:{h_port}", origin, want)):
            r = guise("--proxy-cacert", h_cert, "-x", url, o)
            if r.returncode != 0:
                check(f"{name}: request", False, (r.returncode, r.stderr))
                continue
            check(f"{name}: the fingerprints guise echo sees equal the direct ones", fingerprints(r) == w,
                  f"{fingerprints(r)} vs {w}")
        r = guise("-x", f"socks4a://127.0.0.1:{d_port}", origin)
        check("SOCKS4A name refused by dante (reply 91): PROXY_CONNECT_REJECTED, exit 97",
              r.returncode == 97 and b"PROXY_CONNECT_REJECTED" in r.stderr and b"replied 91" in r.stderr,
              (r.returncode, r.stderr))
        r = subprocess.run([GUISE, "-x", f"https://127.0.0.1:{h_port}", origin], capture_output=True, timeout=30)
        check("HTTPS proxy with a certificate nobody trusts: PROXY_CERT, exit 60",
              r.returncode == 60 and b"PROXY_CERT" in r.stderr, (r.returncode, r.stderr))
        # -k is the origin's (curl's rule): the proxy's certificate is still
        # checked, and Proxy-Authorization never goes to a proxy nobody checked.
        hp = f"https://127.0.0.1:{h_port}"
        r = guise("-x", f"https://guise:s3cret@127.0.0.1:{h_port}", origin)
        check("-k alone with an HTTPS proxy whose certificate nobody trusts: PROXY_CERT, exit 60",
              r.returncode == 60 and b"PROXY_CERT" in r.stderr, (r.returncode, r.stderr))
        r = guise("--proxy-insecure", "-x", hp, origin)
        check("-k --proxy-insecure: the proxy's certificate is not checked, the request passes",
              r.returncode == 0 and fingerprints(r) == want, (r.returncode, r.stderr))
        r = guise("--proxy-cacert", h_cert, "-x", hp, origin)
        check("-k --proxy-cacert CA: the proxy is trusted by its CA, the request passes",
              r.returncode == 0 and fingerprints(r) == want, (r.returncode, r.stderr))
        r = subprocess.run([GUISE, "--cacert", h_cert, "-x", hp, origin], capture_output=True, timeout=30)
        check("--cacert is the origin's only: the proxy signed by it is still refused (PROXY_CERT, exit 60)",
              r.returncode == 60 and b"PROXY_CERT" in r.stderr, (r.returncode, r.stderr))
        r = subprocess.run([GUISE, "--proxy-cacert", h_cert, "-x", hp, origin], capture_output=True, timeout=30)
        check("--proxy-cacert without -k: the proxy passes, echo's self-signed origin is then refused (exit 60)",
              r.returncode == 60 and b"CERT_" in r.stderr and b"PROXY_CERT" not in r.stderr,
              (r.returncode, r.stderr))
        r = guise("--proxy-cacert", os.path.join(tmp, "missing.pem"), "-x", hp, origin)
        check("--proxy-cacert with a missing file: exit 2 naming the option",
              r.returncode == 2 and b"--proxy-cacert" in r.stderr, (r.returncode, r.stderr))
        r = guise("--proxy-insecure", "-x", hp, "--http1.1", f"http://localhost:{eport}/")
        check("HTTPS proxy carries plaintext HTTP/1.1 too",
              r.returncode == 0 and json.loads(r.stdout).get("http1", {}).get("method") == "GET",
              (r.returncode, r.stdout[:200], r.stderr))
        # A malformed proxy URL is named with its password as *** (guise_url_redact's
        # rule, "user:***@"; before, the whole userinfo became "***@").
        r = guise("-x", "http://guise:s3cret@[::1:8080", origin)
        check("-x with a malformed URL: exit 5 (curl 7.88's), naming -x, the user kept, the password as ***",
              r.returncode == 5 and r.stderr.startswith(b"guise: -x 'http://guise:***@[::1:8080'") and
              b"s3cret" not in r.stderr, (r.returncode, r.stderr))
        # guise batch takes the same proxy trust options (-k is the origins' only).
        def batch_rec(*args):
            b = subprocess.run([GUISE, "batch", "--progress", "never", "-k", "-x", hp, *args, "-"],
                               input=json.dumps({"id": "p", "url": origin}) + "\n", capture_output=True,
                               text=True, timeout=60)
            recs = [json.loads(l) for l in b.stdout.splitlines() if l.strip()]
            return b, (recs[0] if len(recs) == 1 else {})
        b, rec = batch_rec()
        check("batch -k alone with an untrusted HTTPS proxy: the record is PROXY_CERT",
              b.returncode == 0 and rec.get("error") == "PROXY_CERT", (b.returncode, b.stdout[:300], b.stderr[:300]))
        b, rec = batch_rec("--proxy-insecure")
        check("batch -k --proxy-insecure: the job passes through the unchecked proxy",
              b.returncode == 0 and not rec.get("error") and rec.get("status") == 200,
              (b.returncode, b.stdout[:300], b.stderr[:300]))
        b, rec = batch_rec("--proxy-cacert", h_cert)
        check("batch -k --proxy-cacert CA: the job passes, the proxy trusted by its CA",
              b.returncode == 0 and not rec.get("error") and rec.get("status") == 200,
              (b.returncode, b.stdout[:300], b.stderr[:300]))
        b, rec = batch_rec("--proxy-cacert", os.path.join(tmp, "missing.pem"))
        check("batch --proxy-cacert with a missing file: exit 2 naming the option",
              b.returncode == 2 and "--proxy-cacert" in b.stderr, (b.returncode, b.stderr[:300]))
        # Proxies from the environment, as curl reads them; never for loopback
        # destinations (so no setting of this machine can send a test elsewhere).
        dead = free_port()
        named = f"https://www.guise.test:{eport}/"
        res = ("--resolve", f"www.guise.test:{eport}:127.0.0.1")
        env = dict(os.environ, ALL_PROXY=f"socks5://127.0.0.1:{dead}")
        def envrun(*args, extra=None):
            return subprocess.run([GUISE, "-k", "-s", "-o", os.devnull, *args], capture_output=True, timeout=30,
                                  env=dict(env, **(extra or {})))
        r = envrun(*res, named)
        check("ALL_PROXY is used for a named host (a dead proxy there: exit 7, curl's)", r.returncode == 7, r.returncode)
        r = envrun(*res, named, extra={"NO_PROXY": "example.org, guise.test"})
        check("NO_PROXY with a domain suffix: direct", r.returncode == 0, r.returncode)
        r = envrun(*res, "--noproxy", "*", named)
        check("--noproxy '*': direct", r.returncode == 0, r.returncode)
        r = envrun(f"https://127.0.0.1:{eport}/")
        check("a loopback destination never takes the environment's proxy", r.returncode == 0, r.returncode)
        r = envrun(*res, "-x", f"socks5://127.0.0.1:{socks}", named)
        check("-x wins over the environment", r.returncode == 0, r.returncode)
        r = subprocess.run([GUISE, "batch", "-k", "--progress", "never", *res], input=(named + "\n").encode(),
                           capture_output=True, timeout=30, env=env)
        check("guise batch reads the environment too", b'"error_class":"proxy"' in r.stdout, r.stdout[:300])
        # tinyproxy waits for the end of a request head that never comes: the
        # connect timeout (which covers the proxy's TLS and handshake) ends it.
        t0 = time.time()
        r = guise("--connect-timeout", "2", "-x", f"https://127.0.0.1:{http}", origin)
        check("https:// proxy URL to a plaintext proxy: a proxy error (PROXY_TLS or PROXY_TIMEOUT) within the "
              "connect timeout, exit 35 or 28", (r.returncode, b"PROXY_TLS" in r.stderr) == (35, True) or
              (r.returncode, b"PROXY_TIMEOUT" in r.stderr) == (28, True) and time.time() - t0 < 10,
              (r.returncode, r.stderr, time.time() - t0))
        r = guise("-x", f"http://127.0.0.1:{http}", "--http1.1", f"http://localhost:{eport}/")
        check("HTTP CONNECT carries plaintext HTTP/1.1 too",
              r.returncode == 0 and json.loads(r.stdout).get("http1", {}).get("method") == "GET",
              (r.returncode, r.stdout[:200], r.stderr))

        def fails(what, name, code, *args, timeout=30):
            t0 = time.time()
            r = guise(*args, timeout=timeout)
            check(f"{what}: exit {code} (curl's), {name}", r.returncode == code and name.encode() in r.stderr,
                  (r.returncode, r.stderr[-300:]))
            return time.time() - t0

        closed = free_port()
        fails("nothing listening at the proxy", "PROXY_CONNECT_REFUSED", 7, "-x", f"http://127.0.0.1:{closed}", origin)
        fails("HTTP proxy wants credentials", "PROXY_AUTH_REQUIRED", 56, "-x", f"http://127.0.0.1:{http_auth}", origin)
        fails("HTTP proxy, wrong password", "PROXY_AUTH_FAILED", 56, "-x", f"http://guise:nope@127.0.0.1:{http_auth}",
              origin)
        fails("HTTP proxy refuses the CONNECT port", "PROXY_CONNECT_REJECTED", 56, "-x", f"http://127.0.0.1:{http_443}",
              origin)
        fails("SOCKS5 proxy wants credentials", "PROXY_AUTH_REQUIRED", 97, "-x", f"socks5h://127.0.0.1:{socks_auth}",
              origin)
        fails("SOCKS5 proxy, wrong password", "PROXY_AUTH_FAILED", 97, "-x",
              f"socks5h://guise:nope@127.0.0.1:{socks_auth}", origin)
        fails("SOCKS5 proxy cannot reach the destination", "PROXY_SOCKS_REFUSED", 97, "-x", f"socks5h://127.0.0.1:{socks}",
              f"https://localhost:{closed}/")
        g = bad_server(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        fails("garbage from an HTTP proxy", "PROXY_PROTOCOL", 56, "-x", f"http://127.0.0.1:{g.getsockname()[1]}", origin)
        fails("garbage from a SOCKS5 proxy", "PROXY_PROTOCOL", 97, "-x", f"socks5h://127.0.0.1:{g.getsockname()[1]}",
              origin)
        q = bad_server(None)
        took = fails("a proxy that never answers", "PROXY_TIMEOUT", 28, "--connect-timeout", "1", "-x",
                     f"http://127.0.0.1:{q.getsockname()[1]}", origin)
        check("... ends within the timeout (1 s), not a hang", took < 5, took)
        r = guise("-x", "ftp://127.0.0.1:1", origin)
        check("unsupported proxy scheme: exit 7 (curl 7.88's)", r.returncode == 7, (r.returncode, r.stderr))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
finish()

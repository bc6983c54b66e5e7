#!/usr/bin/env python3
"""guise's HTTP/3 client on loopback.

usage: test_http3_client.py GUISE GUISE_H3_LISTEN H3SERVER

- guise_h3_listen (tools/quic/h3-listen.c, the same QUIC stack): --http3-only GET
  and POST are answered over HTTP/3 (the server's log has the request, its method
  and body length; -w %{http_version} is curl's "3"); what -v says was sent, for
  both browser profiles, is the field order the server received.
- --http3 to an HTTPS server with nothing on its UDP port (a Python TLS listener):
  the QUIC attempt is refused by ICMP and the request is served over TCP (exit 0,
  HTTP/1.1, the listener saw it); --http3-only to it fails with curl's 7
  ("couldn't connect") and names the UDP port.
- A UDP port that answers with garbage (and a 65,000-byte datagram): --http3-only
  ends at the connect timeout (28), --http3 goes over TCP.
- --http3-only through an http:// or socks4:// proxy and to an http:// URL:
  refused before anything is sent, curl's 1 (unsupported protocol).
- --http3-only through dante (Debian's SOCKS server) with socks5:// and socks5h://:
  SOCKS5 UDP ASSOCIATE, answered over HTTP/3 through dante's UDP relay (-w's remote
  port is the relay's; guise_h3_listen logs both requests); a SOCKS5 proxy that
  refuses the association or answers garbage: curl's 97.
- The Alt-Svc cache, against quic-go's h3server with its TCP twin (tests/interop/
  h3server, Alt-Svc: h3=":PORT"; ma=60 on its h2 answers): nine URLs in one guise
  run with the chromium profile and no --http3: the first goes over HTTP/2, the
  last over HTTP/3, none back to HTTP/2 once one went over HTTP/3 — the server's
  own log says which protocol each request came on. With --http2 (the version
  narrowed) all stay on HTTP/2.
- guise batch with job lines "http": "3" and "http": "3-only" against h3server:
  records with HTTP/3 and the server's log has them over HTTP/3; "http": "4" is
  refused with the job's error record.
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import check, fake_socks5_udp, finish, free_port, h1_recording_server, h3_server  # noqa: E402

GUISE, LISTEN, H3SERVER = sys.argv[1], sys.argv[2], sys.argv[3]
PROFILE = "chromium-156-linux"


def guise(*args, timeout=30, stdin=None):
    return subprocess.run([GUISE, *args], capture_output=True, text=True, timeout=timeout, input=stdin)


def h3_listen(tmp):
    """guise_h3_listen on a free UDP port with a throwaway certificate: (process, port, log)."""
    log = os.path.join(tmp, "listen.jsonl")
    p = subprocess.Popen([LISTEN, "--listen", "127.0.0.1:0", "--self-signed", "--log", log, "--seconds", "30"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    words = p.stdout.readline().split()
    if len(words) != 2 or words[0] != "port":
        p.kill()
        raise SystemExit(f"guise_h3_listen did not start: {words} {p.stderr.read()}")
    return p, int(words[1]), log


def listen_records(log):
    try:
        with open(log) as f:
            return [json.loads(x) for x in f if x.strip()]
    except FileNotFoundError:
        return []


def same_stack(tmp):
    p, port, log = h3_listen(tmp)
    try:
        url = f"https://127.0.0.1:{port}/same"
        r = guise("--http3-only", "-k", "--profile", PROFILE, "-w", "\n%{http_version} %{http_code}", url)
        check("guise_h3_listen: --http3-only GET is 200 over HTTP/3 (-w says 3)",
              r.returncode == 0 and r.stdout.endswith("\n3 200") and "h3 ok" in r.stdout, (r.returncode, r.stdout, r.stderr))
        r = guise("--http3-only", "-k", "--profile", PROFILE, "-d", "x" * 5000, "-w", "%{http_version}", "-o",
                  os.devnull, f"https://127.0.0.1:{port}/post")
        check("guise_h3_listen: --http3-only POST of 5000 bytes is answered over HTTP/3",
              r.returncode == 0 and r.stdout == "3", (r.returncode, r.stdout, r.stderr))
        shown = {}
        for prof in ("chromium-156-linux", "firefox-esr-153-linux"):
            r = guise("--http3-only", "-k", "--profile", prof, "-v", "-o", os.devnull,
                      f"https://127.0.0.1:{port}/v-{prof}")
            shown[prof] = [x[2:].split(":", 1)[0] if not x.startswith("> :") else ":" + x[3:].split(":", 1)[0]
                           for x in r.stderr.splitlines() if x.startswith("> ") and ": " in x]
    finally:
        p.terminate()
        p.wait(timeout=10)
    reqs = [q for rec in listen_records(log) for q in rec.get("requests", [])]
    heads = [dict((k, v) for k, v in q["headers"]) for q in reqs]
    check("guise_h3_listen's log has the GET and the POST (method, path, content-length)",
          [(h.get(":method"), h.get(":path"), h.get("content-length")) for h in heads][:2]
          == [("GET", "/same", None), ("POST", "/post", "5000")], heads)
    for prof, names in shown.items():
        got = [[k for k, _ in q["headers"]] for q in reqs if dict(q["headers"]).get(":path") == f"/v-{prof}"]
        check(f"{prof}: -v shows the fields in the order guise_h3_listen received them (pseudo-headers included)",
              len(got) == 1 and got[0] == names and names[0].startswith(":"), (names, got))


def tls_server_ctx(tmp):
    cert, key = os.path.join(tmp, "tcp-cert.pem"), os.path.join(tmp, "tcp-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def udp_port_closed(port):
    """Nothing is bound on UDP |port| of 127.0.0.1 (so the kernel answers ICMP unreachable)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def tcp_server_udp_free(tmp, keep_udp=False):
    """A TLS listener (h1_recording_server) on a port whose UDP twin is free too
    (other tests' QUIC sockets take ephemeral UDP ports): (srv, heads, port, the
    bound UDP socket when |keep_udp|, else None)."""
    ctx = tls_server_ctx(tmp)
    for _ in range(50):
        srv, heads = h1_recording_server(ctx)
        port = srv.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            srv.close()
            continue
        if keep_udp:
            return srv, heads, port, u
        u.close()
        return srv, heads, port, None
    raise SystemExit("no port free on both TCP and UDP")


def fallback(tmp):
    srv, heads, port, _ = tcp_server_udp_free(tmp)
    try:
        check("the TCP-only server's port has nothing on UDP", udp_port_closed(port))
        url = f"https://127.0.0.1:{port}/tcp"
        t0 = time.monotonic()
        r = guise("--http3", "-k", "--profile", PROFILE, "-w", "%{http_version} %{http_code}", "-o", os.devnull, url)
        took = time.monotonic() - t0
        check("--http3 with nothing on UDP: served over TCP (HTTP/1.1 200, exit 0)",
              r.returncode == 0 and r.stdout == "1.1 200", (r.returncode, r.stdout, r.stderr))
        check("--http3 fallback does not wait for a QUIC timeout (under 5 s)", took < 5, took)
        check("the TCP server got the request", [h["path"] for h in heads] == ["/tcp"], heads)
        r = guise("--http3-only", "-k", "--profile", PROFILE, "-o", os.devnull, url)
        check("--http3-only with nothing on UDP: curl's 7 (couldn't connect), naming the UDP port",
              r.returncode == 7 and f"UDP port {port}" in r.stderr, (r.returncode, r.stderr))
        check("--http3-only sent nothing over TCP", len(heads) == 1, heads)
    finally:
        srv.close()


def hostile(tmp):
    """A UDP port that answers every datagram with garbage (the datagram's size of
    random bytes, then one of 65,000 bytes), with a TLS server on the TCP side."""
    import threading
    srv, heads, port, u = tcp_server_udp_free(tmp, keep_udp=True)
    u.settimeout(0.2)
    stop = threading.Event()
    seen = []

    def answer():
        while not stop.is_set():
            try:
                d, peer = u.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            seen.append(len(d))
            try:
                u.sendto(os.urandom(len(d)), peer)
                u.sendto(os.urandom(65000), peer)
            except OSError:
                pass

    th = threading.Thread(target=answer, daemon=True)
    th.start()
    try:
        url = f"https://127.0.0.1:{port}/hostile"
        t0 = time.monotonic()
        r = guise("--http3-only", "-k", "--profile", PROFILE, "--connect-timeout", "1", "-o", os.devnull, url)
        took = time.monotonic() - t0
        check("garbage answers on UDP: --http3-only ends at the connect timeout, curl's 28, naming the QUIC handshake",
              r.returncode == 28 and "QUIC handshake" in r.stderr and took < 5, (r.returncode, r.stderr, took))
        check("the client's Initials were at least 1200 bytes (RFC 9000 14.1)", seen and min(seen) >= 1200, seen[:5])
        r = guise("--http3", "-k", "--profile", PROFILE, "--connect-timeout", "1", "-w", "%{http_version}", "-o",
                  os.devnull, url)
        check("garbage answers on UDP: --http3 is served over TCP", r.returncode == 0 and r.stdout == "1.1",
              (r.returncode, r.stdout, r.stderr))
    finally:
        stop.set()
        u.close()
        srv.close()
        th.join(timeout=5)


def refusals():
    for proxy in ("http://127.0.0.1:9", "socks4://127.0.0.1:9"):
        r = guise("--http3-only", "-k", "--profile", PROFILE, "-x", proxy, "https://127.0.0.1:9/")
        check(f"--http3-only through {proxy.split(':')[0]}:// (no UDP): curl's 1 (unsupported protocol), saying so",
              r.returncode == 1 and "proxy" in r.stderr and "HTTP/3" in r.stderr, (r.returncode, r.stderr))
    r = guise("--http3-only", "--profile", PROFILE, "http://127.0.0.1:9/")
    check("--http3-only to http://: curl's 1, saying HTTP/3 is for https://",
          r.returncode == 1 and "https://" in r.stderr, (r.returncode, r.stderr))


def dante(tmp):
    """dante-server (Debian) with UDP ASSOCIATE allowed on loopback: (process, port)."""
    for _ in range(20):
        port = free_port()
        conf = os.path.join(tmp, f"danted-{port}.conf")
        with open(conf, "w") as f:
            f.write(f"""logoutput: {tmp}/danted-{port}.log
internal: 127.0.0.1 port = {port}
external: lo
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}
socks pass {{ from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect udpassociate udpreply }}
""")
        p = subprocess.Popen(["danted", "-f", conf, "-p", os.path.join(tmp, f"danted-{port}.pid")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return p, port
            except OSError:
                if p.poll() is not None:
                    break
                time.sleep(0.05)
        p.kill()
        p.wait()
    raise SystemExit("danted did not start")


def socks5_udp(tmp):
    p, port, log = h3_listen(tmp)
    d, dport = dante(tmp)
    try:
        for scheme in ("socks5", "socks5h"):
            r = guise("--http3-only", "-k", "--profile", PROFILE, "-x", f"{scheme}://127.0.0.1:{dport}", "-w",
                      "%{http_version} %{remote_port}", "-o", os.devnull, f"https://127.0.0.1:{port}/via-{scheme}")
            words = r.stdout.split()
            check(f"--http3-only through dante ({scheme}://, UDP ASSOCIATE): 200 over HTTP/3 via its UDP relay",
                  r.returncode == 0 and len(words) == 2 and words[0] == "3" and words[1] not in (str(port), str(dport)),
                  (r.returncode, r.stdout, r.stderr))
        bad = fake_socks5_udp(b"\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00")
        r = guise("--http3-only", "-k", "--profile", PROFILE, "-x", f"socks5://127.0.0.1:{bad.getsockname()[1]}",
                  "-o", os.devnull, f"https://127.0.0.1:{port}/refused")
        check("a SOCKS5 proxy refusing UDP ASSOCIATE: curl's 97 (proxy), naming its reply",
              r.returncode == 97 and "UDP ASSOCIATE: reply 1" in r.stderr, (r.returncode, r.stderr))
        bad.close()
        bad = fake_socks5_udp(b"\x06garbage")
        r = guise("--http3-only", "-k", "--profile", PROFILE, "-x", f"socks5://127.0.0.1:{bad.getsockname()[1]}",
                  "-o", os.devnull, f"https://127.0.0.1:{port}/garbage")
        check("a SOCKS5 proxy answering garbage: curl's 97, 'not a SOCKS5 reply'",
              r.returncode == 97 and "not a SOCKS5 reply" in r.stderr, (r.returncode, r.stderr))
        bad.close()
    finally:
        d.terminate()
        d.wait(timeout=10)
        p.terminate()
        p.wait(timeout=10)
    remotes = [rec.get("remote") for rec in listen_records(log) if any(
        q["headers"] and dict(q["headers"]).get(":path", "").startswith("/via-") for q in rec.get("requests", []))]
    check("guise_h3_listen got both requests (over dante's relay)", len(remotes) == 2, listen_records(log))


def alt_svc(tmp):
    with h3_server(H3SERVER, tmp, seconds=60, tcp=True) as srv:
        base = f"https://127.0.0.1:{srv.port}"
        # /first over h2 brings Alt-Svc; /second is served at once by that h2
        # connection while HTTP/3 starts beside it (Chrome's orphaned QUIC job);
        # its 8 MiB give the QUIC handshake time to finish (a second 8 MiB
        # later, for a loaded machine), and the requests after it find the
        # HTTP/3 connection up.
        paths = (["/headers?first", "/bytes/8388608"] + [f"/headers?then{i}" for i in range(3)] + ["/bytes/8388608"]
                 + [f"/headers?last{i}" for i in range(3)])
        args = [base + x for x in paths]
        outs = [a for x in paths for a in ("-o", os.devnull)]
        r = guise("--cacert", srv.cert, "--profile", PROFILE, "-w", "%{http_version}\n", *outs, *args, timeout=60)
        vs = r.stdout.split()
        check("Alt-Svc: the first request over HTTP/2, the last over HTTP/3 (-w), none back to 2 after a 3",
              r.returncode == 0 and len(vs) == len(paths) and vs[0] == "2" and vs[-1] == "3"
              and "2" not in vs[vs.index("3"):], (r.returncode, r.stdout, r.stderr))
        got = [x.get("protocol") for x in srv.records()]
        check("Alt-Svc: h3server's log agrees (its first request HTTP/2.0, its last HTTP/3.0)",
              len(got) == len(paths) and got[0] == "HTTP/2.0" and got[-1] == "HTTP/3.0", srv.records())
        r = guise("--http2", "--cacert", srv.cert, "--profile", PROFILE, "-w", "%{http_version}\n", *outs, *args,
                  timeout=60)
        check("Alt-Svc is not used when the version is narrowed (--http2): all over HTTP/2",
              r.returncode == 0 and r.stdout.split() == ["2"] * len(paths), (r.returncode, r.stdout, r.stderr))


def batch(tmp):
    with h3_server(H3SERVER, tmp, seconds=60) as srv:
        base = f"https://127.0.0.1:{srv.port}"
        jobs = "".join(json.dumps(j) + "\n" for j in (
            {"id": "a", "url": base + "/headers?batch-a", "http": "3"},
            {"id": "b", "url": base + "/echo-body", "http": "3-only", "method": "POST", "body": "hello"},
            {"id": "c", "url": base + "/batch-c", "http": "4"}))
        r = guise("batch", "--cacert", srv.cert, "--profile", PROFILE, "-", stdin=jobs, timeout=60)
        recs = {x["id"]: x for x in (json.loads(y) for y in r.stdout.splitlines() if y.strip())}
        check("batch: jobs \"http\": \"3\" and \"3-only\" are 200 over HTTP/3",
              r.returncode == 0 and all(recs.get(i, {}).get("status") == 200 and recs[i].get("http_version") == "HTTP/3"
                                        for i in "ab"), (r.returncode, r.stdout, r.stderr))
        bad = recs.get("3", {})
        check("batch: \"http\": \"4\" is line 3's error record naming the field",
              bad.get("error") == "USAGE_INVALID_ARGUMENT" and "\"http\"" in bad.get("error_detail", ""), recs)
        got = sorted((x.get("method"), x.get("protocol"), x.get("body_length")) for x in srv.records())
        check("batch: h3server's log has both jobs over HTTP/3 (the POST's 5 bytes)",
              got == [("GET", "HTTP/3.0", 0), ("POST", "HTTP/3.0", 5)], got)


with tempfile.TemporaryDirectory() as tmp:
    same_stack(tmp)
    fallback(tmp)
    hostile(tmp)
    refusals()
    socks5_udp(tmp)
    alt_svc(tmp)
    batch(tmp)
finish()

#!/usr/bin/env python3
"""Client certificates (--cert, --key, --pass, --cert-type; issue #19) against a
loopback TLS server that requires one (Python's ssl, CERT_REQUIRED, trusting a
CA made here with openssl), beside curl with the same options; and the
ClientHello unchanged by --cert (guise echo's JA4, JA3N and peetprint with and
without it, for a profile that permutes its extensions and one that does not).

usage: test_client_cert.py GUISE
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

GUISE = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
from guise_testlib import check, finish  # noqa: E402

CURL = shutil.which("curl")


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def make_pki(d):
    """CA, a server certificate for cert.test, a client certificate (plain key,
    encrypted key, certificate and key in one file) and a stranger's key."""
    j = lambda n: os.path.join(d, n)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    sh("openssl", "req", "-x509", *ec, "-keyout", j("ca.key"), "-out", j("ca.pem"), "-days", "2",
       "-subj", "/CN=guise test CA")
    for name, ext in (("server", "subjectAltName=DNS:cert.test\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        sh("openssl", "req", *ec, "-keyout", j(f"{name}.key"), "-out", j(f"{name}.csr"), "-subj", f"/CN=guise-{name}")
        with open(j(f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        sh("openssl", "x509", "-req", "-in", j(f"{name}.csr"), "-CA", j("ca.pem"), "-CAkey", j("ca.key"),
           "-CAcreateserial", "-days", "2", "-extfile", j(f"{name}.ext"), "-out", j(f"{name}.pem"))
    sh("openssl", "pkey", "-in", j("client.key"), "-aes256", "-passout", "pass:sekrit", "-out", j("client-enc.key"))
    with open(j("client-both.pem"), "w") as f:
        f.write(open(j("client.pem")).read() + open(j("client.key")).read())
    sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", j("other.key"))
    return j


def mtls_server(j):
    """TLS on loopback that requires a client certificate from the CA; answers
    with the certificate's CN."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(j("server.pem"), j("server.key"))
    ctx.load_verify_locations(j("ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["http/1.1"])
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)

    def conn(raw):
        try:
            raw.settimeout(10)
            c = ctx.wrap_socket(raw, server_side=True)
            b = b""
            while b"\r\n\r\n" not in b:
                d = c.recv(4096)
                if not d:
                    return
                b += d
            cn = dict(x[0] for x in c.getpeercert()["subject"])["commonName"]
            body = f"hello {cn}".encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            c.close()
        except (OSError, ssl.SSLError, KeyError):
            raw.close()

    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=conn, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return s


def run(tool, args):
    p = subprocess.run([tool, "-sS"] + args, capture_output=True, timeout=30)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def main():
    tmp = tempfile.mkdtemp(prefix="guise-cert-")
    srv = echo = None
    try:
        j = make_pki(tmp)
        srv = mtls_server(j)
        port = srv.getsockname()[1]
        base = ["--cacert", j("ca.pem"), "--resolve", f"cert.test:{port}:127.0.0.1", f"https://cert.test:{port}/"]
        ok_cases = [
            ("--cert and --key", ["--cert", j("client.pem"), "--key", j("client.key")]),
            ("--cert with the key in the same file", ["--cert", j("client-both.pem")]),
            ("--cert FILE:PASS with an encrypted --key", ["--cert", j("client.pem") + ":sekrit", "--key",
                                                          j("client-enc.key")]),
            ("--pass with an encrypted --key, --cert-type PEM", ["--cert", j("client.pem"), "--key",
                                                                 j("client-enc.key"), "--pass", "sekrit",
                                                                 "--cert-type", "PEM", "--key-type", "pem"]),
        ]
        for what, args in ok_cases:
            rc, out, err = run(GUISE, args + base)
            check(f"{what}: the server saw the client certificate", rc == 0 and out == b"hello guise-client",
                  (rc, out, err))
            if CURL:
                crc, cout, cerr = run(CURL, args + base)
                check(f"{what}: curl the same", crc == 0 and cout == out, (crc, cout, cerr))
        rc, out, err = run(GUISE, base)
        check("no --cert: the server refuses, a TLS error (class tls)",
              rc != 0 and out == b"" and ("(TLS_" in err or "(CONNECT_" in err), (rc, out, err))
        if CURL:
            crc, _, cerr = run(CURL, base)
            check("no --cert: curl fails too", crc != 0, (crc, cerr))
        bad = [
            ("a wrong password", ["--cert", j("client.pem"), "--key", j("client-enc.key"), "--pass", "nope"],
             ["--key", "password"]),
            ("an encrypted key and no password", ["--cert", j("client.pem"), "--key", j("client-enc.key")],
             ["--key", "--pass"]),
            ("a key that is not the certificate's", ["--cert", j("client.pem"), "--key", j("other.key")],
             ["not the certificate's"]),
            ("a certificate file that does not exist", ["--cert", j("missing.pem")], ["--cert", "missing.pem"]),
            ("a certificate file without a certificate", ["--cert", j("client.key")], ["no PEM certificate"]),
            ("a key file without a key", ["--cert", j("client.pem"), "--key", j("ca.pem")], ["no private key"]),
            ("--cert-type DER", ["--cert", j("client.pem"), "--key", j("client.key"), "--cert-type", "DER"],
             ["--cert-type", "PEM"]),
            ("--key without --cert", ["--key", j("client.key")], ["--key needs --cert"]),
        ]
        for what, args, words in bad:
            rc, out, err = run(GUISE, args + base)
            check(f"{what}: refused before any connection (exit 2), saying why",
                  rc == 2 and all(w in err for w in words), (rc, err))

        # The hello is the same with a certificate configured: guise echo asks
        # for none, and sees the same fingerprints.
        echo = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        line = echo.stdout.readline().split()
        eport = int(line[1].rsplit(":", 1)[1])
        for prof in ("chrome-150", "firefox-144"):
            fps = []
            for extra in ([], ["--cert", j("client.pem"), "--key", j("client.key")]):
                rc, out, err = run(GUISE, ["-k", "--profile", prof] + extra + [f"https://127.0.0.1:{eport}/"])
                try:
                    fp = json.loads(out)["tls"]["fingerprints"]
                except (ValueError, KeyError):
                    fp = None
                fps.append(fp)
            same = fps[0] and fps[1] and all(fps[0][k] == fps[1][k] for k in ("ja4", "ja3n", "peetprint"))
            check(f"{prof}: JA4, JA3N and peetprint the same with and without --cert", same, fps)
            if prof.startswith("firefox") and same:
                check(f"{prof}: the extension order too (JA4_o)", fps[0]["ja4_o"] == fps[1]["ja4_o"], fps)
    finally:
        if srv:
            srv.close()
        if echo:
            echo.send_signal(signal.SIGTERM)
            try:
                echo.wait(10)
            except subprocess.TimeoutExpired:
                echo.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()

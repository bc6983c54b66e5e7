#!/usr/bin/env python3
"""The connection layer against guise echo with test certificates: every
certificate case rejected by default with its own error name, accepted with -k;
--resolve overrides; connection refused; ALPN and timings reported.

usage: test_conn_certs.py CONN_PROBE GUISE
"""
import os
import shutil
import socket
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)
import tempfile
import threading
import time

PROBE, GUISE = sys.argv[1], sys.argv[2]
failures = 0


def check(what, cond, detail=""):
    global failures
    print(("ok: " if cond else "FAIL: ") + what + ("" if cond else f" -- {detail}"))
    failures += 0 if cond else 1


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def make_pki(d):
    """A test CA, and leaves for localhost: good, expired, not yet valid,
    self-signed, signed by an unknown CA (Python cryptography); a 1024-bit RSA
    key and a SHA-1 signature (openssl, which still signs them)."""
    import datetime
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def save(name, key, cert):
        with open(f"{d}/{name}.key", "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(f"{d}/{name}.pem", "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))

    def build(subject, issuer, key, signer, ca, start, end):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return b.sign(signer, hashes.SHA256())

    cas = {}
    for name in ("ca", "ca2"):
        k = ec.generate_private_key(ec.SECP256R1())
        n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"guise test {name}")])
        cas[name] = (k, n)
        save(name, k, build(n, n, k, k, True, now - day, now + 30 * day))
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    for name, ca, start, end in [("good", "ca", now - day, now + 10 * day),
                                 ("expired", "ca", now - 60 * day, now - 30 * day),
                                 ("future", "ca", now + 30 * day, now + 60 * day),
                                 ("foreign", "ca2", now - day, now + 10 * day)]:
        k = ec.generate_private_key(ec.SECP256R1())
        save(name, k, build(leaf_name, cas[ca][1], k, cas[ca][0], False, start, end))
    k = ec.generate_private_key(ec.SECP256R1())
    save("self", k, build(leaf_name, leaf_name, k, k, False, now - day, now + 10 * day))
    # An intermediate under the test CA, and a leaf under it: served alone
    # ("nochain", the server forgot its intermediate) and with it ("chain").
    ik = ec.generate_private_key(ec.SECP256R1())
    iname = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guise test intermediate")])
    icert = build(iname, cas["ca"][1], ik, cas["ca"][0], True, now - day, now + 20 * day)
    k = ec.generate_private_key(ec.SECP256R1())
    # Like every public CA's leaf, it names where its issuer can be fetched (AIA
    # caIssuers): what tells a missing intermediate from an unknown root.
    from cryptography.x509.oid import AuthorityInformationAccessOID
    aia = x509.AuthorityInformationAccess([x509.AccessDescription(
        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier("http://ca.guise.test/int.der"))])
    leaf = (x509.CertificateBuilder().subject_name(leaf_name).issuer_name(iname).public_key(k.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - day).not_valid_after(now + 10 * day)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(aia, critical=False).sign(ik, hashes.SHA256()))
    save("nochain", k, leaf)
    save("chain", k, leaf)
    with open(f"{d}/chain.pem", "ab") as f:
        f.write(icert.public_bytes(serialization.Encoding.PEM))
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    for name, key, md in [("rsa1024", "rsa:1024", "-sha256"), ("sha1", "rsa:2048", "-sha1")]:
        sh("openssl", "req", "-new", "-newkey", key, "-nodes", "-keyout", f"{d}/{name}.key",
           "-out", f"{d}/{name}.csr", "-subj", "/CN=localhost")
        sh("openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.pem", "-CAkey",
           f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/{name}.pem", md, "-extfile", f"{d}/ext.cnf",
           "-days", "10")


def dns_server(sock, stop):
    """Answers A queries (RFC 1035 4.1): 127.0.0.1 for www.guise.test, NXDOMAIN
    otherwise; AAAA and the rest get an empty NOERROR answer."""
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            q, addr = sock.recvfrom(512)
        except socket.timeout:
            continue
        if len(q) < 12:
            continue
        i, labels = 12, []
        while i < len(q) and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        qtype = int.from_bytes(q[i + 1:i + 3], "big")
        question = q[12:i + 5]
        name = ".".join(labels).lower()
        known = name == "www.guise.test"
        rcode = 0 if known else 3
        answers = b""
        if known and qtype == 1:
            answers = b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + (30).to_bytes(4, "big") \
                + (4).to_bytes(2, "big") + bytes([127, 0, 0, 1])
        header = q[:2] + bytes([0x81, 0x80 | rcode]) + (1).to_bytes(2, "big") + \
            (1 if answers else 0).to_bytes(2, "big") + b"\0\0\0\0"
        sock.sendto(header + question + answers, addr)


def echo(d, name):
    p = subprocess.Popen([GUISE, "echo", "--listen", "127.0.0.1:0", "--cert", f"{d}/{name}.pem",
                          "--key", f"{d}/{name}.key"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    port = p.stdout.readline().split()[1].rsplit(":", 1)[1]
    return p, port


def probe(*args):
    r = subprocess.run([PROBE, *args], capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout.strip()


d = tempfile.mkdtemp(prefix="guise-certs-")
try:
    make_pki(d)
    ca = f"{d}/ca.pem"
    cases = [("good", "ok"), ("expired", "CERT_EXPIRED"), ("future", "CERT_NOT_YET_VALID"),
             ("self", "CERT_SELF_SIGNED"), ("foreign", "CERT_UNTRUSTED"), ("rsa1024", "CERT_WEAK_KEY"),
             ("sha1", "CERT_WEAK_SIGNATURE"), ("chain", "ok"), ("nochain", "CERT_MISSING_INTERMEDIATE")]
    for name, want in cases:
        srv, port = echo(d, name)
        rc, out = probe("--cacert", ca, "localhost", port)
        check(f"{name}: {want}", out.startswith(want) if want == "ok" else out == f"error {want}", out)
        if want != "ok":
            rc, out = probe("-k", "localhost", port)
            check(f"{name}: accepted with -k", out.startswith("ok alpn=h2"), out)
        srv.terminate()
        srv.wait(timeout=5)
    srv, port = echo(d, "good")
    rc, out = probe("--cacert", ca, "--verify-host", "example.com", "localhost", port)
    check("wrong host name: CERT_HOSTNAME", out == "error CERT_HOSTNAME", out)
    rc, out = probe("localhost", port)
    check("system CA bundle does not know the test CA: CERT_UNTRUSTED", out == "error CERT_UNTRUSTED", out)
    rc, out = probe("--cacert", ca, "--resolve", f"www.guise.test:{port}:127.0.0.1",
                    "--verify-host", "localhost", "www.guise.test", port)
    check("--resolve override reaches the server", out.startswith("ok alpn=h2 version=TLSv1.3"), out)
    rc, out = probe("--cacert", ca, "127.0.0.1", port)
    check("IP literal matched against the IP SAN", out.startswith("ok"), out)
    # SSLKEYLOGFILE: the NSS key log lets tshark decrypt the captured handshake
    # (an independent check that the secrets are the connection's own).
    keylog, pcap = f"{d}/keys.log", f"{d}/tls.pcap"
    cap = subprocess.Popen(["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", pcap, "-q"],
                           stderr=subprocess.PIPE, text=True)
    while "Capturing on" not in cap.stderr.readline():
        pass
    for _ in range(50):  # until the capture filter is live
        size = os.path.getsize(pcap) if os.path.exists(pcap) else 0
        socket.create_connection(("127.0.0.1", int(port))).close()
        time.sleep(0.1)
        if size and os.path.getsize(pcap) > size:
            break
    r = subprocess.run([PROBE, "--cacert", ca, "localhost", port], capture_output=True, text=True,
                       timeout=20, env=dict(os.environ, SSLKEYLOGFILE=keylog))
    time.sleep(0.5)
    cap.send_signal(2)
    cap.wait(timeout=10)
    lines = open(keylog).read().split("\n") if os.path.exists(keylog) else []
    labels = sorted({l.split()[0] for l in lines if l})
    check("SSLKEYLOGFILE holds the TLS 1.3 secrets",
          {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
           "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} <= set(labels), labels)
    t = subprocess.run(["tshark", "-r", pcap, "-o", f"tls.keylog_file:{keylog}", "-d", f"tcp.port=={port},tls",
                        "-Y", "tls.handshake.type == 11", "-T", "fields", "-e", "tcp.srcport"],
                       capture_output=True, text=True, timeout=30)
    check("tshark decrypts the server's Certificate with the key log", t.stdout.strip() == port, t.stdout)
    srv.terminate()
    srv.wait(timeout=5)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed_port = str(s.getsockname()[1])
    s.close()
    rc, out = probe("-k", "127.0.0.1", closed_port)
    check("nothing listening: CONNECT_REFUSED", out == "error CONNECT_REFUSED", out)
    # A DNS server of our own on loopback (the machine's resolver is never asked):
    # www.guise.test has an A record for 127.0.0.1, every other name is NXDOMAIN.
    dns_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns_sock.bind(("127.0.0.1", 0))
    dns_port = dns_sock.getsockname()[1]
    stop = threading.Event()
    threading.Thread(target=dns_server, args=(dns_sock, stop), daemon=True).start()
    srv, port = echo(d, "good")
    rc, out = probe("--cacert", ca, "--dns-servers", f"127.0.0.1:{dns_port}", "--verify-host", "localhost",
                    "www.guise.test", port)
    check("name resolved by c-ares through a DNS server", out.startswith("ok alpn=h2"), out)
    rc, out = probe("-k", "--dns-servers", f"127.0.0.1:{dns_port}", "no-such-host.guise.test", port)
    check("unknown name: DNS_NOT_FOUND", out == "error DNS_NOT_FOUND", out)
    srv.terminate()
    srv.wait(timeout=5)
    stop.set()
finally:
    shutil.rmtree(d, ignore_errors=True)
print(f"{'FAIL' if failures else 'PASS'}: {failures} failure(s)")
sys.exit(1 if failures else 0)

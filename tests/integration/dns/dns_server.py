"""A scripted DNS server on loopback for the resolver tests: UDP and TCP on one port.

    srv = ScriptedDNS("tc")      # a mode, below
    try:
        ... srv.port ... srv.udp_queries, srv.tcp_queries ...
    finally:
        srv.close()

Modes (every question gets the same treatment):
  ok         A: |address| (TTL 60); any other type: no records (NOERROR, NODATA)
  nxdomain   RCODE 3: the name does not exist
  refused    RCODE 5 (REFUSED), over UDP and TCP
  servfail   RCODE 2 (SERVFAIL)
  silent     reads every query and never answers
  tc         UDP: an empty answer with TC=1 (RFC 1035 4.2.1: retry over TCP);
             TCP: as "ok", one answer per connection, then the server closes it
             (as simple servers do: the client reconnects for its next question)
  tc-keep    the same, TCP connections kept open for further questions
  garbage    answers with the query's id followed by random bytes
  badanswer  a well-formed header and question, then an answer record cut short
closed_port() gives a port where nothing listens (UDP and TCP), for the "nobody
there" case. Messages are built here from RFC 1035 4.1, not by the code under test.
"""
import os
import socket
import struct
import threading

MODES = ("ok", "nxdomain", "refused", "servfail", "silent", "tc", "tc-keep", "garbage", "badanswer")


def closed_port():
    """A loopback port with nothing bound on it, UDP or TCP, right now."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            t.close()
            continue
        u.close()
        t.close()
        return port
    raise SystemExit("no free loopback port")


def parse_question(msg):
    """(id, flags, qname bytes with terminator, qtype, qclass), or None when |msg| is not
    a query with one question."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1:
        return None
    i = 12
    while i < len(msg):
        n = msg[i]
        if n == 0:
            break
        if n & 0xC0:
            return None
        i += 1 + n
    if i + 5 > len(msg):
        return None
    qname = msg[12:i + 1]
    qtype, qclass = struct.unpack("!HH", msg[i + 1:i + 5])
    return qid, flags, qname, qtype, qclass


def response(msg, rcode=0, tc=False, address=None, cut=False):
    """The answer to query |msg|: header and question echoed, an A record for
    |address| when the question is type A (1), IN (1)."""
    q = parse_question(msg)
    if q is None:
        return None
    qid, qflags, qname, qtype, qclass = q
    # QR=1, opcode as asked, AA=1, TC, RD as asked, RA=1 (RFC 1035 4.1.1)
    flags = 0x8000 | (qflags & 0x7800) | 0x0400 | (0x0200 if tc else 0) | (qflags & 0x0100) | 0x0080 | rcode
    answers = b""
    an = 0
    if address and not tc and rcode == 0 and qtype == 1 and qclass == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(address)
        an = 1
    out = struct.pack("!HHHHHH", qid, flags, 1, an, 0, 0) + qname + struct.pack("!HH", qtype, qclass)
    if cut:  # one answer announced, its record stops inside the fixed part
        out = struct.pack("!HHHHHH", qid, flags, 1, 1, 0, 0) + qname + struct.pack("!HH", qtype, qclass)
        out += b"\xc0\x0c\x00\x01\x00"
    return out + answers


class ScriptedDNS:
    def __init__(self, mode, address="127.0.0.1"):
        if mode not in MODES:
            raise ValueError(mode)
        self.mode = mode
        self.address = address
        self.udp_queries = 0
        self.tcp_queries = 0
        self.lock = threading.Lock()
        self.closing = False
        for _ in range(50):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket()
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        else:
            raise SystemExit("no loopback port free for UDP and TCP at once")
        self.tcp.listen(16)
        self.conns = []
        self.threads = [threading.Thread(target=self._udp_loop, daemon=True),
                        threading.Thread(target=self._tcp_loop, daemon=True)]
        for t in self.threads:
            t.start()

    def answer(self, msg, transport):
        m = self.mode
        if m == "silent":
            return None
        if m == "garbage":
            return msg[:2] + os.urandom(40)
        if m == "badanswer":
            return response(msg, cut=True)
        if m == "refused":
            return response(msg, rcode=5)
        if m == "servfail":
            return response(msg, rcode=2)
        if m == "nxdomain":
            return response(msg, rcode=3)
        if m in ("tc", "tc-keep") and transport == "udp":
            return response(msg, tc=True)
        return response(msg, address=self.address)

    def _udp_loop(self):
        while not self.closing:
            try:
                msg, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            if self.closing or peer is None:
                return
            with self.lock:
                self.udp_queries += 1
            out = self.answer(msg, "udp")
            if out is not None:
                try:
                    self.udp.sendto(out, peer)
                except OSError:
                    pass

    def _tcp_loop(self):
        while not self.closing:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._tcp_conn, args=(c,), daemon=True).start()

    def _tcp_conn(self, c):
        buf = b""
        try:
            while True:
                while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                n = struct.unpack("!H", buf[:2])[0]
                msg, buf = buf[2:2 + n], buf[2 + n:]
                with self.lock:
                    self.tcp_queries += 1
                out = self.answer(msg, "tcp")
                if out is not None:
                    c.sendall(struct.pack("!H", len(out)) + out)
                if self.mode == "tc":
                    return
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.closing = True
        for s in (self.udp, self.tcp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self.threads:
            t.join(2)

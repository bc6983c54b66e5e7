"""Loopback servers that take request bodies and say what came, for the upload
tests (test_upload_big.py, test_upload_api.py): HTTP/1.1 (Content-Length or
chunked, read by the test's own code; a path starting with /307 is answered
with a 307 to /target) and the least HTTP/2 server that takes an upload (raw
frames: SETTINGS with a 1 MiB initial window, WINDOW_UPDATEs as DATA arrives,
:status 201 at END_STREAM). Each request appends (method, path, fields, bytes,
SHA-256, chunked) to |results|."""
import hashlib
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from guise_testlib import accept_loop, h2_frame

results = []  # (method, path, headers text, bytes, sha256 hex, chunked) per request
lock = threading.Lock()
# HTTP/2: refuse this many streams at their first DATA frame (RST_STREAM
# REFUSED_STREAM, then GOAWAY): the client must send the request again,
# body included, on another connection.
refuse_h2 = {"left": 0}


def recv_exact(c, buf, n):
    while len(buf) < n:
        d = c.recv(1 << 20)
        if not d:
            raise ConnectionError("closed")
        buf += d
    return buf


# ---- HTTP/1.1 ----------------------------------------------------------------------

def h1_handle(c):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        fields = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        h = hashlib.sha256()
        total = 0
        chunked = fields.get("transfer-encoding", "").lower() == "chunked"
        if chunked:
            # RFC 9112 7.1, read here: size CRLF data CRLF ... 0 CRLF CRLF
            buf = bytearray(rest)
            pos = 0
            while True:
                while b"\r\n" not in buf[pos:pos + 20]:
                    buf += c.recv(1 << 20)
                eol = buf.index(b"\r\n", pos)
                size = int(buf[pos:eol], 16)
                pos = eol + 2
                while len(buf) < pos + size + 2:
                    d = c.recv(1 << 20)
                    if not d:
                        raise ConnectionError("closed in a chunk")
                    buf += d
                if size == 0:
                    break
                h.update(buf[pos:pos + size])
                total += size
                pos += size + 2
                if pos > (4 << 20):
                    del buf[:pos]
                    pos = 0
        else:
            left = int(fields.get("content-length", "0"))
            h.update(rest[:left])
            total += len(rest[:left])
            left -= len(rest[:left])
            while left:
                d = c.recv(min(left, 1 << 20))
                if not d:
                    break
                h.update(d)
                total += len(d)
                left -= len(d)
        with lock:
            results.append((method, path, "\n".join(lines[1:]).lower(), total, h.hexdigest(), chunked))
        if path.startswith("/307"):
            c.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /target\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
        else:
            c.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    except (OSError, ValueError, ConnectionError):
        pass
    finally:
        c.close()


# ---- HTTP/2 (the least a server must do to take an upload) --------------------------

def hpack_names(block):
    """The literal names and indexed static entries in an HPACK block, enough to
    know :method and whether content-length came (RFC 7541; no Huffman decoding
    needed for the static table indices guise's fields use; literals with Huffman
    names are skipped)."""
    static = {2: ":method GET", 3: ":method POST", 28: "content-length"}
    out = []
    i = 0

    def integer(prefix):
        nonlocal i
        v = block[i] & ((1 << prefix) - 1)
        i += 1
        if v == (1 << prefix) - 1:
            m = 0
            while True:
                b = block[i]
                i += 1
                v += (b & 127) << m
                m += 7
                if not b & 128:
                    break
        return v

    def string():
        nonlocal i
        huff = block[i] & 128
        n = integer(7)
        s = block[i:i + n]
        i += n
        return None if huff else s.decode("latin-1")

    while i < len(block):
        b = block[i]
        if b & 128:
            idx = integer(7)
            out.append(static.get(idx, f"#{idx}"))
        elif b & 0xE0 == 0x20:
            integer(5)  # table size update
        else:
            prefix = 6 if b & 0x40 else 4
            idx = integer(prefix)
            name = static.get(idx, f"#{idx}").split(" ")[0] if idx else string()
            value = string()
            out.append(f"{name} {value}" if name else f"? {value}")
    return out


def h2_handle(c):
    try:
        buf = recv_exact(c, b"", 24)
        buf = bytearray(buf[24:])
        # SETTINGS: INITIAL_WINDOW_SIZE 1 MiB; the connection window opened to 16 MiB.
        c.sendall(h2_frame(4, 0, 0, (4).to_bytes(2, "big") + (1 << 20).to_bytes(4, "big")) +
                  h2_frame(8, 0, 0, ((16 << 20) - 65535).to_bytes(4, "big")))
        h = hashlib.sha256()
        total = 0
        names = []
        pos = 0
        done = False
        unacked = 0
        while not done:
            while len(buf) - pos < 9:
                d = c.recv(1 << 20)
                if not d:
                    raise ConnectionError("closed")
                buf += d
            ln = int.from_bytes(buf[pos:pos + 3], "big")
            while len(buf) - pos < 9 + ln:
                d = c.recv(1 << 20)
                if not d:
                    raise ConnectionError("closed")
                buf += d
            ftype, flags = buf[pos + 3], buf[pos + 4]
            stream = int.from_bytes(buf[pos + 5:pos + 9], "big") & 0x7FFFFFFF
            payload = bytes(buf[pos + 9:pos + 9 + ln])
            pos += 9 + ln
            if pos > (4 << 20):
                del buf[:pos]
                pos = 0
            if ftype == 4 and not flags & 1:
                c.sendall(h2_frame(4, 1, 0))
            elif ftype == 1:
                block = payload
                if flags & 8:
                    block = block[1:len(block) - block[0]]
                if flags & 0x20:
                    block = block[5:]
                names = hpack_names(block)
                if flags & 1:
                    done = True
            elif ftype == 0 and refuse_h2["left"] > 0:
                with lock:
                    refuse_h2["left"] -= 1
                    results.append(("REFUSED", "", "", len(payload), "", False))
                c.sendall(h2_frame(3, 0, stream, (7).to_bytes(4, "big")) + h2_frame(7, 0, 0, bytes(8)))
                break
            elif ftype == 0:
                data = payload
                if flags & 8:
                    data = data[1:len(data) - data[0]]
                h.update(data)
                total += len(data)
                unacked += ln
                if unacked >= (256 << 10):
                    inc = unacked.to_bytes(4, "big")
                    c.sendall(h2_frame(8, 0, 0, inc) + h2_frame(8, 0, stream, inc))
                    unacked = 0
                if flags & 1:
                    done = True
        if not done:
            # refused: read on until the client closes (as servers do after
            # GOAWAY), so that its writes meanwhile do not fail on a closed socket
            c.settimeout(5)
            try:
                while c.recv(1 << 20):
                    pass
            except OSError:
                pass
            return
        with lock:
            # :method PUT is a literal (only GET and POST are static entries), its
            # value possibly Huffman-coded: "neither GET nor POST" is what is checked.
            method = "PUT" if any(n.startswith(":method ") and n not in (":method GET", ":method POST")
                                  for n in names) else "?"
            results.append((method, "",
                            "\n".join(names), total, h.hexdigest(), False))
        # :status 201: a literal with the static table's name :status (index 8), END_STREAM | END_HEADERS
        c.sendall(h2_frame(1, 5, stream, bytes([0x08, 3]) + b"201") + h2_frame(7, 0, 0, (stream).to_bytes(4, "big") + bytes(4)))
        c.settimeout(2)
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass
    except (OSError, ValueError, ConnectionError, IndexError):
        pass
    finally:
        c.close()


def listen(handle):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    accept_loop(s, handle, seconds=120)
    return s, s.getsockname()[1]



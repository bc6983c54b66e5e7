"""What the independent observers saw: tshark's decode of capture.pcap and nghttpd's -v log.

Standard library only. Nothing here imports or runs guise.
"""
import re
import subprocess
import xml.etree.ElementTree as ET

# ---- tshark ---------------------------------------------------------------------------------

# tshark field holding the values of each list-shaped extension (value attribute = the
# field's own wire bytes, so no parsing of tshark's display strings).
EXT_LIST_FIELDS = {
    0x0005: "tls.handshake.extensions_status_request_type",
    0x000A: "tls.handshake.extensions_supported_group",
    0x000B: "tls.handshake.extensions_ec_point_format",
    0x000D: "tls.handshake.sig_hash_alg",
    0x001B: "tls.compress_certificate.algorithm",
    0x001C: "tls.record_size_limit",
    0x0022: "tls.handshake.sig_hash_alg",  # delegated_credentials
    0x002B: "tls.handshake.extensions.supported_version",
    0x002D: "tls.extension.psk_ke_mode",
    0x0032: "tls.handshake.sig_hash_alg",  # signature_algorithms_cert
}


def _fields(node, name):
    return [f for f in node.iter("field") if f.get("name") == name]


def _first(node, name):
    found = _fields(node, name)
    return found[0] if found else None


def _int_value(field):
    return int(field.get("value"), 16)


class TsharkHello:
    """One ClientHello as tshark decoded it."""

    def __init__(self, stream, client_port, record_pos, record_version, handshake, payload_hex):
        self.stream = stream
        self.client_port = client_port
        self.payload_hex = payload_hex  # TCP payload (reassembled if it was split)
        self.record_version = record_version
        self.handshake_length = _int_value(_first(handshake, "tls.handshake.length"))
        self.legacy_version = _int_value(_first(handshake, "tls.handshake.version"))
        self.random = _first(handshake, "tls.handshake.random").get("value")
        sid = _first(handshake, "tls.handshake.session_id")
        self.session_id = sid.get("value") if sid is not None else ""
        self.compression_methods = "".join(
            f.get("value") for f in _fields(handshake, "tls.handshake.comp_method"))
        self.ciphers = [_int_value(f) for f in _fields(handshake, "tls.handshake.ciphersuite")]
        self.ja3_full = (_first(handshake, "tls.handshake.ja3_full").get("show")
                         if _first(handshake, "tls.handshake.ja3_full") is not None else None)
        self.ja3 = (_first(handshake, "tls.handshake.ja3").get("show")
                    if _first(handshake, "tls.handshake.ja3") is not None else None)
        # Extensions: the direct children of the handshake that hold an extension.type.
        self.extensions = []
        for child in handshake:
            t = [f for f in child if f.get("name") == "tls.handshake.extension.type"]
            if not t:
                continue
            ext = {"type": _int_value(t[0]),
                   "offset": int(child.get("pos")) - record_pos,
                   "size": int(child.get("size")),
                   "node": child}
            ext["length"] = ext["size"] - 4
            self.extensions.append(ext)

    def ext(self, ext_type):
        for e in self.extensions:
            if e["type"] == ext_type:
                return e
        return None

    def ext_values(self, ext_type):
        """Decoded list values of a list-shaped extension, [] when absent."""
        e = self.ext(ext_type)
        if e is None:
            return []
        return [_int_value(f) for f in _fields(e["node"], EXT_LIST_FIELDS[ext_type])]

    @property
    def alpn(self):
        e = self.ext(0x0010)
        if e is None:
            return []
        return [bytes.fromhex(f.get("value")) for f in
                _fields(e["node"], "tls.handshake.extensions_alpn_str")]

    @property
    def server_name(self):
        e = self.ext(0x0000)
        f = _first(e["node"], "tls.handshake.extensions_server_name") if e else None
        return bytes.fromhex(f.get("value")).decode("ascii", "replace") if f is not None else None

    @property
    def key_shares(self):
        e = self.ext(0x0033)
        if e is None:
            return []
        groups = _fields(e["node"], "tls.handshake.extensions_key_share_group")
        lengths = _fields(e["node"], "tls.handshake.extensions_key_share_key_exchange_length")
        return [(_int_value(g), _int_value(n)) for g, n in zip(groups, lengths)]

    def plain(self):
        """The dict that ja4_independent takes."""
        return {
            "legacy_version": self.legacy_version,
            "ciphers": self.ciphers,
            "extensions": [e["type"] for e in self.extensions],
            "alpn": self.alpn,
            "supported_versions": self.ext_values(0x002B),
            "sigalgs": self.ext_values(0x000D),
            "groups": self.ext_values(0x000A),
            "point_formats": self.ext_values(0x000B),
            "psk_modes": self.ext_values(0x002D),
            "cert_compression": self.ext_values(0x001B),
        }


def tshark_client_hellos(pcap, server_port, timeout=60):
    """Every ClientHello sent to |server_port| in |pcap|, keyed by client port."""
    argv = ["tshark", "-n", "-r", pcap, "-d", f"tcp.port=={server_port},tls",
            "-Y", f"tls.handshake.type == 1 && tcp.dstport == {server_port}", "-T", "pdml"]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"tshark failed: {r.stderr.decode(errors='replace')[-500:]}")
    root = ET.fromstring(r.stdout)
    hellos = {}
    for packet in root.iter("packet"):
        tcp = [p for p in packet if p.get("name") == "tcp"][0]
        stream = int(_first(tcp, "tcp.stream").get("show"))
        client_port = int(_first(tcp, "tcp.srcport").get("show"))
        reassembled = _first(packet, "tcp.reassembled.data")
        payload = (reassembled if reassembled is not None else _first(tcp, "tcp.payload"))
        for proto in packet:
            if proto.get("name") != "tls":
                continue
            for record in _fields(proto, "tls.record"):
                for hs in [f for f in record if f.get("name") == "tls.handshake"]:
                    t = _first(hs, "tls.handshake.type")
                    # The first ClientHello of the connection: the one the echo reports
                    # (a second one would follow a HelloRetryRequest).
                    if t is not None and t.get("show") == "1" and client_port not in hellos:
                        version = _int_value(_first(record, "tls.record.version"))
                        hellos[client_port] = TsharkHello(stream, client_port,
                                                          int(record.get("pos")), version, hs,
                                                          payload.get("value"))
    return hellos


# ---- nghttpd ------------------------------------------------------------------------------

_FRAME = re.compile(r"^\[id=(\d+)\] \[\s*[\d.]+\] recv (\S+) frame <length=(\d+), "
                    r"flags=0x([0-9a-f]+), stream_id=(\d+)>")
_HEADER = re.compile(r"^\[id=(\d+)\] \[\s*[\d.]+\] recv \(stream_id=(\d+)\) (:?[^:]+): ?(.*)$")
_SETTING = re.compile(r"^\s+\[SETTINGS_\w+\(0x([0-9a-f]+)\):(\d+)\]")
_INCREMENT = re.compile(r"^\s+\(window_size_increment=(\d+)\)")
_PRIORITY = re.compile(r"^\s+\((?:padlen=\d+, )?dep_stream_id=(\d+), weight=(\d+), "
                       r"exclusive=(\d)\)")


def nghttpd_connections(text):
    """The frames each connection received, in order: {id: [frame dict]}.

    A frame: {"type", "length", "flags", "stream", "settings": [(id, value)],
    "increment", "priority": {"depends_on", "weight" (1..256), "exclusive"},
    "headers": [(name, value)]} — nghttpd prints a HEADERS frame's fields before the frame.
    """
    conns = {}
    pending = {}  # (conn, stream) -> header fields printed before their HEADERS frame
    current = None
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            cid, stream = int(m.group(1)), int(m.group(2))
            pending.setdefault((cid, stream), []).append((m.group(3), m.group(4)))
            current = None
            continue
        m = _FRAME.match(line)
        if m:
            cid = int(m.group(1))
            current = {"type": m.group(2), "length": int(m.group(3)),
                       "flags": int(m.group(4), 16), "stream": int(m.group(5))}
            if current["type"] == "SETTINGS":
                current["settings"] = []
            if current["type"] == "HEADERS":
                current["headers"] = pending.pop((cid, current["stream"]), [])
            conns.setdefault(cid, []).append(current)
            continue
        if line.startswith("["):  # a send line or another event: not ours
            current = None
            continue
        if current is None:
            continue
        m = _SETTING.match(line)
        if m and "settings" in current:
            current["settings"].append((int(m.group(1), 16), int(m.group(2))))
            continue
        m = _INCREMENT.match(line)
        if m:
            current["increment"] = int(m.group(1))
            continue
        m = _PRIORITY.match(line)
        if m:
            current["priority"] = {"depends_on": int(m.group(1)), "weight": int(m.group(2)),
                                   "exclusive": m.group(3) == "1"}
    return conns

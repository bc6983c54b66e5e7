"""Fingerprints of a ClientHello computed from plain decoded fields, independently of guise.

The input is what another decoder (here tshark) made of the bytes: lists of integers and
the ALPN values as bytes. The definitions are those of FoxIO JA4.md and salesforce/ja3 (docs/OBSERVER.md)
(JA4 from FoxIO's JA4.md, BSD-3-Clause part; JA3 from salesforce/ja3; JA3N as
browserleaks; peetprint as tls.peet.ws). Standard library only.

hello = {
    "legacy_version": int, "ciphers": [int], "extensions": [int] (wire order),
    "alpn": [bytes], "supported_versions": [int], "sigalgs": [int] (extension 13 only),
    "groups": [int], "point_formats": [int], "psk_modes": [int], "cert_compression": [int],
}
"""
import hashlib


def is_grease(v):
    """RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa."""
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def _clean(values):
    return [v for v in values if not is_grease(v)]


# ---- JA3 / JA3N ---------------------------------------------------------------------------

def ja3_string(h, sort_extensions=False):
    exts = _clean(h["extensions"])
    if sort_extensions:
        exts = sorted(exts)
    fields = [
        str(h["legacy_version"]),
        "-".join(str(v) for v in _clean(h["ciphers"])),
        "-".join(str(v) for v in exts),
        "-".join(str(v) for v in _clean(h["groups"])),
        "-".join(str(v) for v in h["point_formats"]),
    ]
    return ",".join(fields)


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


# ---- JA4 ---------------------------------------------------------------------------------

_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
             0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}


def _alnum(b):
    return chr(b).isascii() and chr(b).isalnum()


def ja4_alpn(value):
    """The two ALPN characters of JA4 'a' from the first ALPN value (bytes or None)."""
    if not value:
        return "00"
    first, last = value[0], value[-1]
    if _alnum(first) and _alnum(last):
        return chr(first) + chr(last)
    hx = value.hex()
    return hx[0] + hx[-1]


def ja4_a(h, transport="t"):
    versions = _clean(h["supported_versions"])
    version = max(versions) if versions else h["legacy_version"]
    sni = "d" if 0 in h["extensions"] else "i"
    nc = min(len(_clean(h["ciphers"])), 99)
    ne = min(len(_clean(h["extensions"])), 99)
    alpn = h["alpn"][0] if h["alpn"] else None
    return f"{transport}{_VERSIONS.get(version, '00')}{sni}{nc:02d}{ne:02d}{ja4_alpn(alpn)}"


def _hex4(values):
    return ",".join(f"{v:04x}" for v in values)


def _sha12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"


def ja4_parts(h, original=False):
    """(a, b_raw, c_raw) — sorted and without SNI/ALPN unless |original| (JA4_o/_ro)."""
    ciphers = _clean(h["ciphers"])
    exts = _clean(h["extensions"])
    if not original:
        ciphers = sorted(ciphers)
        exts = sorted(v for v in exts if v not in (0x0000, 0x0010))
    b = _hex4(ciphers)
    c = _hex4(exts)
    sig = _clean(h["sigalgs"])
    if c and sig:
        c += "_" + _hex4(sig)
    return ja4_a(h), b, c


def ja4_all(h):
    """JA4, JA4_r (raw), JA4_o (original order), JA4_ro."""
    out = {}
    for hashed, raw, original in (("ja4", "ja4_r", False), ("ja4_o", "ja4_ro", True)):
        a, b, c = ja4_parts(h, original)
        out[hashed] = f"{a}_{_sha12(b)}_{_sha12(c)}"
        out[raw] = f"{a}_{b}_{c}"
    return out


# ---- peetprint -----------------------------------------------------------------------------

def _peet(values):
    return "-".join("GREASE" if is_grease(v) else str(v) for v in values)


def peetprint(h):
    names = {b"h2": "2", b"http/1.1": "1.1", b"http/1.0": "1.0"}
    protocols = "-".join(names[p] for p in h["alpn"] if p in names)
    exts = sorted(("GREASE" if is_grease(v) else str(v)) for v in h["extensions"])
    return "|".join([
        _peet(h["supported_versions"]), protocols, _peet(h["groups"]), _peet(h["sigalgs"]),
        str(h["psk_modes"][0]) if h["psk_modes"] else "0", _peet(h["cert_compression"]),
        _peet(h["ciphers"]), "-".join(exts),
    ])


def all_fingerprints(h):
    fp = {"ja3": ja3_string(h), "ja3n": ja3_string(h, sort_extensions=True)}
    fp["ja3_md5"] = md5(fp["ja3"])
    fp["ja3n_md5"] = md5(fp["ja3n"])
    fp.update(ja4_all(h))
    fp["peetprint"] = peetprint(h)
    fp["peetprint_md5"] = md5(fp["peetprint"])
    return fp


# ---- self-test on the spec's vectors ---------------------------------------------------------

def self_test(ja4_vectors, ja3_vectors):
    """Checks this implementation against the parsed ja4_spec_examples.json and
    ja3_readme_examples.json of tests/data/vectors. Returns failure strings."""
    bad = []
    for case in ja4_vectors.get("cases", []):
        inp = case.get("input")
        if inp is None:
            continue
        if "expected" in case and _sha12(inp) != case["expected"]:
            bad.append(f"sha256[:12]({inp!r}) = {_sha12(inp)}, spec says {case['expected']}")
        for key in ("expected_ja4", "expected_ja4_o"):
            if key in case:
                a, b, c = inp.split("_", 2)
                got = f"{a}_{_sha12(b)}_{_sha12(c)}"
                if got != case[key]:
                    bad.append(f"hash of {inp[:40]}... = {got}, spec says {case[key]}")
    if _sha12("") != "000000000000":
        bad.append("empty section must be twelve zeros")
    for case in ja4_vectors.get("alpn_cases_from_spec", []):
        got = ja4_alpn(bytes.fromhex(case["first_alpn_bytes_hex"]))
        if got != case["expected"]:
            bad.append(f"ALPN {case['first_alpn_bytes_hex']!r} -> {got}, spec says {case['expected']}")
    for case in ja3_vectors.get("cases", []):
        if md5(case["ja3_string"]) != case["expected_md5"]:
            bad.append(f"md5({case['ja3_string']!r}) != {case['expected_md5']}")
    # The worked example of JA4.md run through the whole pipeline from decoded fields.
    h = {"legacy_version": 0x0303,
         "ciphers": [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                     0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035],
         "extensions": [0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005,
                        0x0023, 0x0012, 0x002B, 0xFF01, 0x000B, 0x000A, 0x0015],
         "alpn": [b"h2", b"http/1.1"], "supported_versions": [0x0304, 0x0303],
         "sigalgs": [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
         "groups": [], "point_formats": [], "psk_modes": [], "cert_compression": []}
    fp = ja4_all(h)
    for key, want in (("ja4", "t13d1516h2_8daaf6152771_e5627efa2ab1"),
                      ("ja4_o", "t13d1516h2_acb858a92679_18f69afefd3d")):
        if fp[key] != want:
            bad.append(f"worked example {key} = {fp[key]}, JA4.md says {want}")
    return bad

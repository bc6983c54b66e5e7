#!/usr/bin/env python3
"""The http3 section of chromium-156-linux and firefox-esr-153-linux is what the real
browsers sent (tests/data/captures/quic: two runs each, and one of chromium over IPv4), by two readers that share no
code with the profile loader:

1. tshark (Wireshark decrypts QUIC Initial packets by itself) against guise fp on every
   pcap: cipher suites, extension types in order, supported groups, key share groups,
   signature algorithms (with the delegated-credential ones, as tshark lists them), ALPN,
   DCID/SCID, transport parameter ids in order and their values (tshark's raw varints
   decoded here).
2. The profile (profiles/NAME.json) against guise fp's JSON of the captures: QUIC
   version, the DCID/SCID ranges (the captures' lengths), the first datagram's size
   (tshark's udp.length), the QUIC hello's lists (names turned into code points by the
   IANA registries written out below, not by guise's name tables), the transport
   parameters in the first capture's order (GREASE ones as placeholders; the GREASE
   length range covering both runs), permute flags (true exactly when the two runs'
   orders differ).
3. The section's settings, navigate_header_order and navigate_priority against the
   HTTP/3 logs of capture-quic --server (BROWSER-h3-RUN.jsonl: what the browser sent to
   guise_h3_listen), read here: SETTINGS ids and values in order (GREASE ids as
   {"id": "GREASE"}), the GET / field names in order, its priority field.
4. tools/profiles/quic-from-captures run again on a copy of the profile writes the same
   section (the shipped section is the tool's, not edited by hand).

    test_quic_profile.py GUISE TOP
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

# IANA TLS registries (Cipher Suites, ExtensionType Values, Supported Groups,
# SignatureScheme, TLS Certificate Compression Algorithm IDs), the names the profiles use.
IANA = {
    "TLS_AES_128_GCM_SHA256": 0x1301, "TLS_AES_256_GCM_SHA384": 0x1302,
    "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    "server_name": 0, "status_request": 5, "supported_groups": 10, "signature_algorithms": 13,
    "application_layer_protocol_negotiation": 16, "extended_master_secret": 23,
    "compress_certificate": 27, "record_size_limit": 28, "delegated_credentials": 34,
    "supported_versions": 43, "psk_key_exchange_modes": 45, "key_share": 51,
    "application_settings": 17613, "encrypted_client_hello": 65037,
    "renegotiation_info": 65281,
    "X25519MLKEM768": 0x11ec, "x25519": 0x001d, "secp256r1": 0x0017, "secp384r1": 0x0018,
    "secp521r1": 0x0019,
    "ecdsa_secp256r1_sha256": 0x0403, "ecdsa_secp384r1_sha384": 0x0503,
    "ecdsa_secp521r1_sha512": 0x0603, "ecdsa_sha1": 0x0203, "rsa_pss_rsae_sha256": 0x0804,
    "rsa_pss_rsae_sha384": 0x0805, "rsa_pss_rsae_sha512": 0x0806, "rsa_pkcs1_sha256": 0x0401,
    "rsa_pkcs1_sha384": 0x0501, "rsa_pkcs1_sha512": 0x0601, "rsa_pkcs1_sha1": 0x0201,
    "TLS1.3": 0x0304,
}
CERTCOMP = {"zlib": 1, "brotli": 2, "zstd": 3}
BROWSERS = {"chromium": "chromium-156-linux", "firefox-esr": "firefox-esr-153-linux"}
# The captures each profile's section is made from (tests/data/captures/quic/README.md).
PCAPS = {"chromium": ["chromium-1", "chromium-2", "chromium-ipv4-1"],
         "firefox-esr": ["firefox-esr-1", "firefox-esr-2"]}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def code(n):
    return int(n, 16) if n.startswith("0x") else IANA[n]


def fp(guise, pcap):
    out = subprocess.run([guise, "fp", pcap], capture_output=True, timeout=30, check=True).stdout
    recs = [json.loads(l) for l in out.decode().splitlines()]
    recs = [r for r in recs if r.get("flow", {}).get("transport") == "quic" and "tls" in r]
    assert len(recs) == 1, f"{pcap}: {len(recs)} QUIC hellos from guise fp"
    return recs[0]


def varint(b):
    n = 1 << (b[0] >> 6)
    v = b[0] & 0x3f
    for x in b[1:n]:
        v = v << 8 | x
    assert len(b) == n, f"varint {b.hex()} of {len(b)} bytes"
    return v


TSHARK_FIELDS = ["tls.handshake.ciphersuite", "tls.handshake.extension.type",
                 "tls.quic.parameter.type", "tls.quic.parameter.value",
                 "tls.handshake.extensions_supported_group",
                 "tls.handshake.extensions_key_share_group", "tls.handshake.sig_hash_alg",
                 "tls.handshake.extensions_alpn_str", "quic.dcid", "quic.scid"]


def tshark(pcap):
    argv = ["tshark", "-r", pcap, "-Y", "tls.handshake.type == 1", "-T", "fields",
            "-E", "separator=|", "-E", "occurrence=a"]
    for f in TSHARK_FIELDS:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, timeout=60, check=True).stdout.decode()
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 1, f"{pcap}: tshark found {len(lines)} ClientHellos"
    cols = lines[0].split("|")
    return {f: (c.split(",") if c else []) for f, c in zip(TSHARK_FIELDS, cols)}


def tshark_udp_len(pcap):
    """(family, UDP payload, padding) of the first datagram, by tshark: "frames" when the
    QUIC packet (quic.packet_length) is the whole UDP payload, "zeros" when it is shorter
    (and tshark's quic.remaining_payload / quic.padding is what follows)."""
    out = subprocess.run(["tshark", "-r", pcap, "-c", "1", "-T", "fields", "-e", "ip.version",
                          "-e", "udp.length", "-e", "quic.packet_length"], capture_output=True,
                         timeout=30, check=True).stdout.decode().split()
    payload = int(out[1]) - 8
    return ("ipv4" if out[0] == "4" else "ipv6"), payload, ("frames" if int(out[2]) == payload else "zeros")


def ext(ch, t):
    return next((e for e in ch["extensions"] if e["type"] == t), None)


def against_tshark(name, rec, ts):
    ch = rec["tls"]["client_hello"]
    h = lambda xs: [int(x, 16) for x in xs]  # noqa: E731
    check(h(ch["cipher_suites"]) == h(ts["tls.handshake.ciphersuite"]), f"{name}: ciphers")
    check([e["type"] for e in ch["extensions"]] == [int(x) for x in ts["tls.handshake.extension.type"]],
          f"{name}: extension types")
    check(h(ext(ch, 10)["values"]) == h(ts["tls.handshake.extensions_supported_group"]), f"{name}: groups")
    check([int(k["group"], 16) for k in ext(ch, 51)["key_shares"]] ==
          [int(x) for x in ts["tls.handshake.extensions_key_share_group"]], f"{name}: key shares")
    # tshark lists both extensions' algorithms in the hello's extension order.
    sig = [x for e in ch["extensions"] if e["type"] in (13, 34) for x in h(e["values"])]
    check(sig == h(ts["tls.handshake.sig_hash_alg"]), f"{name}: signature algorithms")
    check(ext(ch, 16)["protocols"] == ts["tls.handshake.extensions_alpn_str"], f"{name}: ALPN")
    check(rec["flow"]["dcid"] == ts["quic.dcid"][0].replace(":", ""), f"{name}: DCID")
    check(rec["flow"]["scid"] == (ts["quic.scid"][0].replace(":", "") if ts["quic.scid"] else ""),
          f"{name}: SCID")
    params = ext(ch, 57)["parameters"]
    check([p["id"] for p in params] == [int(x) for x in ts["tls.quic.parameter.type"]],
          f"{name}: transport parameter ids in order")
    values = [v if v != "<MISSING>" else "" for v in ts["tls.quic.parameter.value"]]
    check(len(values) == len(params), f"{name}: tshark values {len(values)} for {len(params)} parameters")
    for p, v in zip(params, values):
        if "value" in p:
            check(p["value"] == varint(bytes.fromhex(v)), f"{name}: parameter {p['id']} value")
        else:
            check(p["data"] == v, f"{name}: parameter {p['id']} bytes")


def against_profile(name, h3, recs, sizes):
    chs = [r["tls"]["client_hello"] for r in recs]
    ch = chs[0]
    check(h3["quic_version"] == "0x" + recs[0]["flow"]["quic_version"], f"{name}: quic_version")
    check(all(r["flow"]["quic_version"] == "00000001" for r in recs), f"{name}: QUIC v1 in every run")
    dl = [len(r["flow"]["dcid"]) // 2 for r in recs]
    sl = [len(r["flow"]["scid"]) // 2 for r in recs]
    check(h3["dcid_length"] == [min(dl), max(dl)], f"{name}: dcid_length {h3['dcid_length']} vs {dl}")
    check(h3["scid_length"] == [min(sl), max(sl)], f"{name}: scid_length {h3['scid_length']} vs {sl}")
    by_family = {}
    for fam, n, _ in sizes.values():
        by_family.setdefault(fam, set()).add(n)
    check({pad for _, _, pad in sizes.values()} == {h3["initial_padding"]},
          f"{name}: initial_padding {h3['initial_padding']} vs tshark {sizes}")
    check({k: {v} for k, v in h3["initial_size"].items()} == by_family,
          f"{name}: initial_size {h3['initial_size']} vs tshark {sizes}")
    t = h3["tls"]
    types = [e["type"] for e in ch["extensions"]]
    check([code(x) for x in t["extensions"]] == types, f"{name}: tls.extensions (first run's order)")
    check(t["permute_extensions"] == any([e["type"] for e in c["extensions"]] != types for c in chs),
          f"{name}: permute_extensions")
    check([code(x) for x in t["cipher_suites"]] == [int(c, 16) for c in ch["cipher_suites"]], f"{name}: ciphers")
    check([code(x) for x in t["versions"]] == [int(v, 16) for v in ext(ch, 43)["values"]], f"{name}: versions")
    check([code(x) for x in t["supported_groups"]] == [int(v, 16) for v in ext(ch, 10)["values"]], f"{name}: groups")
    check([code(x) for x in t["key_shares"]] == [int(k["group"], 16) for k in ext(ch, 51)["key_shares"]],
          f"{name}: key shares")
    check([code(x) for x in t["signature_algorithms"]] == [int(v, 16) for v in ext(ch, 13)["values"]],
          f"{name}: signature algorithms")
    dc = ext(ch, 34)
    check([code(x) for x in t.get("delegated_credentials", [])] == ([int(v, 16) for v in dc["values"]] if dc else []),
          f"{name}: delegated credentials")
    check(t["alpn"] == ext(ch, 16)["protocols"] == ["h3"], f"{name}: ALPN h3")
    alps = ext(ch, 17613)
    check(t.get("alps") == ({"codepoint": 17613, "protocols": alps["protocols"]} if alps else None), f"{name}: ALPS")
    check([CERTCOMP[x] for x in t["certificate_compression"]] == [int(v, 16) for v in ext(ch, 27)["values"]],
          f"{name}: certificate compression")
    check(t["ech_grease"] == (65037 in types) and t["status_request"] == (5 in types), f"{name}: ECH, status_request")
    rsl = ext(ch, 28)
    check(t.get("record_size_limit") == (rsl["record_size_limit"] if rsl else None), f"{name}: record_size_limit")
    for r in t.get("raw_extensions", []):
        check(r["data"] == ext(ch, code(r["type"]))["data"], f"{name}: raw extension {r['type']}")
    # Transport parameters, in the first run's order.
    params = ext(ch, 57)["parameters"]
    tp = h3["transport_parameters"]
    check(len(tp) == len(params), f"{name}: {len(tp)} transport parameters, {len(params)} captured")
    glens = [p["length"] for c in chs for p in ext(c, 57)["parameters"] if p["name"] == "GREASE"]
    for want, got in zip(params, tp):
        if want["name"] == "GREASE":
            check(got == {"id": "GREASE", "length": [min(glens), max(glens)]}, f"{name}: GREASE parameter {got}")
            check((want["id"] - 27) % 31 == 0, f"{name}: GREASE id {want['id']} is 31N+27")
        elif want["id"] == 15:
            check(got == {"id": 15, "source_connection_id": True} and want["data"] == recs[0]["flow"]["scid"],
                  f"{name}: initial_source_connection_id is the SCID")
        elif want["id"] == 17:
            d = bytes.fromhex(want["data"])
            vs = [int.from_bytes(d[i:i + 4], "big") for i in range(0, len(d), 4)]
            check(got["id"] == 17 and got["versions"] == ["GREASE" if v & 0x0f0f0f0f == 0x0a0a0a0a else f"0x{v:08x}"
                                                           for v in vs], f"{name}: version_information")
        elif "value" in want:
            check(got == {"id": want["id"], "value": want["value"]}, f"{name}: parameter {want['id']}: {got}")
        else:
            check(got == {"id": want["id"], "data": want["data"]}, f"{name}: parameter {want['id']}: {got}")
    order = lambda c: [p["id"] if p["name"] != "GREASE" else "G" for p in ext(c, 57)["parameters"]]  # noqa: E731
    check(h3["permute_transport_parameters"] == any(order(c) != order(ch) for c in chs),
          f"{name}: permute_transport_parameters")


def against_h3_logs(name, h3, logs):
    for p in logs:
        with open(p) as f:
            conns = [json.loads(x) for x in f if x.strip()]
        navs = [(c, r) for c in conns for r in c["requests"]
                if [v for k, v in r["headers"] if k == ":path"] == ["/"]]
        check(navs, f"{name}: {os.path.basename(p)} has a GET /")
        for c, r in navs:
            want = [{"id": "GREASE"} if (s["id"] >= 0x21 and (s["id"] - 0x21) % 0x1f == 0)
                    else {"id": s["id"], "value": s["value"]} for s in c["settings"]]
            check(h3.get("settings") == want, f"{name}: settings {h3.get('settings')} vs {want}")
            names = [k for k, _ in r["headers"]]
            check(h3.get("navigate_header_order") == names,
                  f"{name}: navigate_header_order {h3.get('navigate_header_order')} vs {names}")
            prio = [v for k, v in r["headers"] if k == "priority"]
            check([h3.get("navigate_priority")] == prio,
                  f"{name}: navigate_priority {h3.get('navigate_priority')} vs {prio}")


def main():
    guise, top = sys.argv[1], sys.argv[2]
    data = os.path.join(top, "tests", "data", "captures", "quic")
    work = tempfile.mkdtemp(prefix="test-quic-profile-")
    try:
        for browser, prof in BROWSERS.items():
            pcaps = [os.path.join(data, f"{n}.pcap") for n in PCAPS[browser]]
            recs = [fp(guise, p) for p in pcaps]
            for p, r in zip(pcaps, recs):
                against_tshark(os.path.basename(p), r, tshark(p))
            with open(os.path.join(top, "profiles", f"{prof}.json")) as f:
                shipped = json.load(f)
            check("http3" in shipped and shipped.get("format") == 2, f"{prof}: an http3 section, format 2")
            if "http3" not in shipped:
                continue
            against_profile(prof, shipped["http3"], recs, {p: tshark_udp_len(p) for p in pcaps})
            logs = [os.path.join(data, f"{browser}-h3-{n}.jsonl") for n in (1, 2)]
            against_h3_logs(prof, shipped["http3"], logs)
            copy = os.path.join(work, f"{prof}.json")
            shutil.copy(os.path.join(top, "profiles", f"{prof}.json"), copy)
            rel = [os.path.relpath(p, top) for p in pcaps + logs]
            subprocess.run([os.path.join(top, "tools", "profiles", "quic-from-captures"), "--guise", guise,
                            copy, *rel], cwd=top, check=True, timeout=60)
            with open(copy) as f:
                check(json.load(f)["http3"] == shipped["http3"], f"{prof}: quic-from-captures writes the shipped section")
            with open(copy) as f, open(os.path.join(top, "profiles", f"{prof}.json")) as g:
                check(f.read() == g.read(), f"{prof}: the tool leaves the rest of the file byte-identical")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS" if not failures else f"FAIL: {len(failures)} check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""ML-KEM-768 of guise's BoringSSL against Python cryptography (OpenSSL 4.0 inside).

usage: test_mlkem_oracle.py MLKEM_TOOL [ROUNDS]

Deterministic key generation from seeds, encapsulation and decapsulation in both
directions, implicit rejection on corrupted ciphertexts (checked against FIPS 203's
J(z || c) = SHAKE-256(z || c) computed here with hashlib), and rejection of
encapsulation keys with a coefficient >= q (FIPS 203 §7.2 modulus check).
"""
import hashlib
import os
import random
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import guise_testlib  # noqa: E402,F401  (stops what this test starts, even when it fails)

try:
    from cryptography.hazmat.primitives.asymmetric import mlkem
except ImportError:
    sys.exit("FAIL: this test needs Python cryptography >= 46 with ML-KEM (the machine image has 48)")

tool = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
rng = random.Random(20261126)  # reproducible inputs
failures = 0


def ask(*words):
    tool.stdin.write(" ".join(words) + "\n")
    tool.stdin.flush()
    return tool.stdout.readline().split()


def check(what, cond):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def rand(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


for i in range(rounds):
    seed = rand(64)
    ref_priv = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)
    ref_ek = ref_priv.public_key().public_bytes_raw()
    (ek_hex,) = ask("keygen", seed.hex())
    check(f"round {i}: encapsulation key from the seed", bytes.fromhex(ek_hex) == ref_ek)

    # guise encapsulates, the reference decapsulates.
    m = rand(32)
    ct_hex, ss_hex = ask("encap", ek_hex, m.hex())
    check(f"round {i}: reference decapsulates guise's ciphertext",
          ref_priv.decapsulate(bytes.fromhex(ct_hex)) == bytes.fromhex(ss_hex))

    # The reference encapsulates, guise decapsulates.
    ref_ss, ref_ct = mlkem.MLKEM768PublicKey.from_public_bytes(ref_ek).encapsulate()
    (ss2,) = ask("decap", seed.hex(), ref_ct.hex())
    check(f"round {i}: guise decapsulates the reference's ciphertext", bytes.fromhex(ss2) == ref_ss)

    # Implicit rejection: a flipped bit yields SHAKE-256(z || c'), the same in both.
    bad = bytearray(ref_ct)
    bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
    bad = bytes(bad)
    (ss3,) = ask("decap", seed.hex(), bad.hex())
    z = seed[32:]
    check(f"round {i}: implicit rejection is J(z || c)",
          bytes.fromhex(ss3) == hashlib.shake_256(z + bad).digest(32) == ref_priv.decapsulate(bad))

# Encapsulation keys that fail the modulus check: one 12-bit coefficient set to q..4095.
seed = rand(64)
ek = bytearray(mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw())
for coeff, value in [(0, 3329), (255, 4095), (767, 3330)]:
    bad = bytearray(ek)
    byte = coeff * 3 // 2  # two coefficients per 3 bytes, little-endian 12-bit
    if coeff % 2 == 0:
        bad[byte] = value & 0xFF
        bad[byte + 1] = (bad[byte + 1] & 0xF0) | (value >> 8)
    else:
        bad[byte] = (bad[byte] & 0x0F) | ((value & 0x0F) << 4)
        bad[byte + 1] = value >> 4
    check(f"coefficient {coeff} = {value}: guise rejects the key", ask("encap", bytes(bad).hex(), "00" * 32) == ["badkey"])
    try:
        mlkem.MLKEM768PublicKey.from_public_bytes(bytes(bad))
        ref_rejects = False
    except ValueError:
        ref_rejects = True
    check(f"coefficient {coeff} = {value}: the reference rejects it too", ref_rejects)
check("truncated key rejected", ask("encap", bytes(ek[:-1]).hex(), "00" * 32) == ["badkey"])
check("over-long key rejected", ask("encap", (bytes(ek) + b"\0").hex(), "00" * 32) == ["badkey"])

tool.stdin.close()
tool.wait()
print(f"{rounds} rounds: {'FAIL' if failures else 'PASS'}: {failures} failure(s)")
sys.exit(1 if failures else 0)

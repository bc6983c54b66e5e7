/*
 * test_mlkem_kat.c — known-answer tests of ML-KEM-768 (patch 0001, sped up by
 * patch 0010), on whichever code path the process uses: ctest runs it twice,
 * once as is (the AVX2 path on a CPU with AVX2) and once with
 * GUISE_MLKEM_PORTABLE=1 (the portable path), and the test checks that the path
 * it was meant to exercise is the one that ran (MLKEM768_implementation against
 * the CPU's own flags, read here with __builtin_cpu_supports).
 *
 *   test_mlkem_kat DATA_DIR [COUNT]
 *
 * DATA_DIR is tests/data/mlkem768 (each file has a .source.txt naming where it
 * comes from):
 *
 * - cctv-unluckysample-768.txt: C2SP CCTV's "unlucky" vector, whose key needs
 *   582 bytes of SHAKE-128 output for matrix entry (0, 0) — four blocks, while
 *   the three other entries of the same four-way batch need three: key
 *   generation (ek and the 2400-byte dk), encapsulation with the given m (c and
 *   K), decapsulation of c (K) and of c with a bit flipped (implicit rejection,
 *   SHAKE-256(z || c') computed by this file's own Keccak).
 * - go-accumulated.txt: the accumulated vectors of Go 1.24's crypto/mlkem
 *   (TestAccumulated): COUNT rounds (100 and 10000 when not given) of key
 *   generation from 64 bytes of a SHAKE-128 stream of the empty string,
 *   encapsulation with the next 32 bytes, decapsulation of that ciphertext (must
 *   give the same key) and of the next 1088 bytes of the stream as a ciphertext;
 *   ek, c, K and the second key go into a second SHAKE-128, whose first 32 bytes
 *   must equal Go's.
 *
 * SHAKE here is this file's own Keccak (from FIPS 202, checked against the
 * published start of SHAKE-128("")), not BoringSSL's, whose Keccak the patch
 * series changes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/kyber.h>
#include <openssl/mem.h>

#include "tcheck.h"

/* ---- An independent, plain Keccak (FIPS 202), incremental absorb and squeeze. */

typedef struct {
  uint64_t a[25];
  size_t rate, pos; /* pos: bytes absorbed into / squeezed from the block */
  int squeezing;
} shake;

static uint64_t rol(uint64_t x, int n) { return n ? (x << n) | (x >> (64 - n)) : x; }

static void keccak_p(uint64_t a[25]) {
  static const int r[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                            25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
  uint64_t rc = 0, lfsr = 1; /* round constants from the LFSR of FIPS 202 §3.2.5 */
  for (int round = 0; round < 24; round++) {
    uint64_t c[5], b[25];
    for (int x = 0; x < 5; x++)
      c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; x++)
      for (int y = 0; y < 5; y++)
        a[x + 5 * y] ^= c[(x + 4) % 5] ^ rol(c[(x + 1) % 5], 1);
    for (int x = 0; x < 5; x++)
      for (int y = 0; y < 5; y++)
        b[y + 5 * ((2 * x + 3 * y) % 5)] = rol(a[x + 5 * y], r[x + 5 * y]);
    for (int x = 0; x < 5; x++)
      for (int y = 0; y < 5; y++)
        a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
    rc = 0;
    for (int j = 0; j < 7; j++) {
      if (lfsr & 1)
        rc |= 1ull << ((1 << j) - 1);
      lfsr = (lfsr << 1) ^ ((lfsr & 0x80) ? 0x171 : 0);
    }
    a[0] ^= rc;
  }
}

static uint8_t *state_byte(shake *s, size_t i) { return (uint8_t *)s->a + i; } /* little-endian host */

static void shake_init(shake *s, int bits) {
  memset(s, 0, sizeof(*s));
  s->rate = 200 - 2 * bits / 8;
}

static void shake_absorb(shake *s, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    *state_byte(s, s->pos++) ^= p[i];
    if (s->pos == s->rate) {
      keccak_p(s->a);
      s->pos = 0;
    }
  }
}

static void shake_squeeze(shake *s, uint8_t *out, size_t n) {
  if (!s->squeezing) {
    *state_byte(s, s->pos) ^= 0x1f;
    *state_byte(s, s->rate - 1) ^= 0x80;
    keccak_p(s->a);
    s->pos = 0;
    s->squeezing = 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (s->pos == s->rate) {
      keccak_p(s->a);
      s->pos = 0;
    }
    out[i] = *state_byte(s, s->pos++);
  }
}

/* ---- Test data. */

static void to_hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", p[i]);
}

/* Finds "NAME = HEX" in |text| and decodes exactly |want| bytes into |out|. */
static int field(const char *text, const char *name, uint8_t *out, size_t want) {
  char key[32];
  snprintf(key, sizeof(key), "\n%s = ", name);
  const char *p = strstr(text, key);
  if (p == NULL)
    return 0;
  p += strlen(key);
  for (size_t i = 0; i < want; i++) {
    int hi = tc_hexval((unsigned char)p[2 * i]), lo = hi < 0 ? -1 : tc_hexval((unsigned char)p[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return 0;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return p[2 * want] == '\n' || p[2 * want] == '\0';
}

static char *read_text(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  size_t len;
  uint8_t *buf = tc_read_file(path, &len);
  if (buf == NULL) {
    fprintf(stderr, "test_mlkem_kat: cannot read %s\n", path);
    exit(2);
  }
  char *text = malloc(len + 2);
  text[0] = '\n'; /* so that every field, the first too, follows a newline */
  memcpy(text + 1, buf, len);
  text[len + 1] = '\0';
  free(buf);
  return text;
}

static struct KYBER_private_key priv;
static struct KYBER_public_key pub;

static void unlucky(const char *dir) {
  char *text = read_text(dir, "cctv-unluckysample-768.txt");
  static uint8_t dz[64], ek[KYBER_PUBLIC_KEY_BYTES], dk[KYBER_PRIVATE_KEY_BYTES], m[32], k[32],
      c[KYBER_CIPHERTEXT_BYTES];
  int parsed = field(text, "d", dz, 32) && field(text, "z", dz + 32, 32) &&
               field(text, "ek", ek, sizeof(ek)) && field(text, "dk", dk, sizeof(dk)) &&
               field(text, "m", m, 32) && field(text, "K", k, 32) && field(text, "c", c, sizeof(c));
  free(text);
  if (!CHECK_NAMED("unlucky vector: file parsed", parsed, NULL))
    return;

  static uint8_t got_ek[KYBER_PUBLIC_KEY_BYTES], got_c[KYBER_CIPHERTEXT_BYTES], got_k[32];
  MLKEM768_generate_key_external_seed(got_ek, &priv, dz);
  CHECK_NAMED("unlucky vector: ek from d || z", memcmp(got_ek, ek, sizeof(ek)) == 0, NULL);

  CBB cbb;
  uint8_t *got_dk = NULL;
  size_t dk_len = 0;
  int ok = CBB_init(&cbb, sizeof(dk)) && KYBER_marshal_private_key(&cbb, &priv) &&
           CBB_finish(&cbb, &got_dk, &dk_len);
  CHECK_NAMED("unlucky vector: dk (2400 bytes)", ok && dk_len == sizeof(dk) && memcmp(got_dk, dk, sizeof(dk)) == 0,
              NULL);
  OPENSSL_free(got_dk);

  CBS cbs;
  CBS_init(&cbs, ek, sizeof(ek));
  if (!CHECK_NAMED("unlucky vector: ek parses", KYBER_parse_public_key(&pub, &cbs), NULL))
    return;
  MLKEM768_encap_external_entropy(got_c, got_k, &pub, m);
  CHECK_NAMED("unlucky vector: c from Encaps(ek, m)", memcmp(got_c, c, sizeof(c)) == 0, NULL);
  CHECK_NAMED("unlucky vector: K from Encaps(ek, m)", memcmp(got_k, k, 32) == 0, NULL);
  memset(got_k, 0, sizeof(got_k));
  MLKEM768_decap(got_k, c, &priv);
  CHECK_NAMED("unlucky vector: K from Decaps(dk, c)", memcmp(got_k, k, 32) == 0, NULL);

  /* Implicit rejection: J(z || c') with c' = c with its last bit flipped. */
  c[sizeof(c) - 1] ^= 0x80;
  uint8_t want_j[32];
  shake j;
  shake_init(&j, 256);
  shake_absorb(&j, dz + 32, 32);
  shake_absorb(&j, c, sizeof(c));
  shake_squeeze(&j, want_j, 32);
  MLKEM768_decap(got_k, c, &priv);
  CHECK_NAMED("unlucky vector: Decaps(dk, c') = SHAKE-256(z || c')", memcmp(got_k, want_j, 32) == 0, NULL);
}

/* Go 1.24 crypto/mlkem TestAccumulated, |n| rounds; writes the hex digest. */
static void accumulate(int n, char hex[65]) {
  shake rng, acc;
  shake_init(&rng, 128);
  shake_init(&acc, 128);
  static uint8_t seed[64], msg[32], ek[KYBER_PUBLIC_KEY_BYTES], ct[KYBER_CIPHERTEXT_BYTES],
      ct1[KYBER_CIPHERTEXT_BYTES], k[32], kk[32], k1[32];
  int mismatches = 0;
  for (int i = 0; i < n; i++) {
    shake_squeeze(&rng, seed, sizeof(seed));
    MLKEM768_generate_key_external_seed(ek, &priv, seed);
    shake_absorb(&acc, ek, sizeof(ek));
    shake_squeeze(&rng, msg, sizeof(msg));
    CBS cbs;
    CBS_init(&cbs, ek, sizeof(ek));
    if (!KYBER_parse_public_key(&pub, &cbs)) {
      mismatches++;
      continue;
    }
    MLKEM768_encap_external_entropy(ct, k, &pub, msg);
    shake_absorb(&acc, ct, sizeof(ct));
    shake_absorb(&acc, k, sizeof(k));
    MLKEM768_decap(kk, ct, &priv);
    mismatches += memcmp(kk, k, 32) != 0;
    shake_squeeze(&rng, ct1, sizeof(ct1));
    MLKEM768_decap(k1, ct1, &priv);
    shake_absorb(&acc, k1, sizeof(k1));
  }
  CHECK_EQ(mismatches, 0); /* every round: the key parses, Decaps(c) = Encaps' K */
  uint8_t digest[32];
  shake_squeeze(&acc, digest, sizeof(digest));
  to_hex(digest, sizeof(digest), hex);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: test_mlkem_kat DATA_DIR [COUNT]\n");
    return 2;
  }
  const char *dir = argv[1];
  int only = argc == 3 ? atoi(argv[2]) : 0;

  /* The path under test is the one meant. */
  const char *want_impl = "portable";
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (getenv("GUISE_MLKEM_PORTABLE") == NULL && __builtin_cpu_supports("avx2"))
    want_impl = "avx2";
#endif
  printf("ML-KEM-768 implementation: %s\n", MLKEM768_implementation());
  CHECK_STR(MLKEM768_implementation(), want_impl);

  /* This file's SHAKE-128 against the stream start published by C2SP CCTV. */
  shake s;
  uint8_t start[16];
  char hex[65];
  shake_init(&s, 128);
  shake_squeeze(&s, start, sizeof(start));
  to_hex(start, sizeof(start), hex);
  CHECK_STR(hex, "7f9c2ba4e88f827d616045507605853e");

  unlucky(dir);

  char *text = read_text(dir, "go-accumulated.txt");
  int ran = 0;
  for (const char *line = text; line != NULL && *line; line = strchr(line + 1, '\n')) {
    int count;
    char want[65];
    if (sscanf(line, " %d %64s", &count, want) != 2 || count <= 0 || (only && count != only))
      continue;
    accumulate(count, hex);
    char what[96];
    snprintf(what, sizeof(what), "Go 1.24 accumulated vectors, %d rounds", count);
    char detail[160];
    snprintf(detail, sizeof(detail), "got %s, want %s", hex, want);
    CHECK_NAMED(what, strcmp(hex, want) == 0, detail);
    ran++;
  }
  free(text);
  CHECK_MSG(ran > 0, "no accumulated vector with %d rounds in go-accumulated.txt", only);
  return tc_summary("test_mlkem_kat");
}

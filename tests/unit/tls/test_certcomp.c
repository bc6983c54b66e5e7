/*
 * test_certcomp.c — certificate compression (client/lib/tls_certcomp.c, RFC 8879)
 * checked three ways: the decoders alone against streams made by independent
 * tools, the ClientHello's compress_certificate list on the wire (observer
 * library), and whole handshakes in which a BoringSSL server really sends a
 * CompressedCertificate — honest ones, and broken ones that must fail cleanly.
 */
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/obj.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <zlib.h>
#include <zstd.h>

#include "tcheck.h"
#include "tls_certcomp.h"
#include "tls_pair.h"

static const uint16_t kAllAlgs[] = {1, 2, 3};

/* ---- independent vectors ---- */

/* The input of the vectors: 300 text lines, then 256 bytes of an LCG. The
 * streams below were made from it with Python 3's zlib module and the zstd
 * 1.5.4 command-line tool:
 *   kZlibPyL9         zlib.compress(d, 9)
 *   kZlibPyL1W9       zlib.compressobj(1, zlib.DEFLATED, 9): a 512-byte window
 *   kZstdCli19        zstd -19 (content size and XXH64 checksum in the frame)
 *   kZstdCli1NoCheck  zstd -1 --no-check --no-content-size
 * and two streams that are not RFC 1950 zlib, of "guise certificate\n":
 *   kGzipSmall        gzip.compress(s, mtime=0)
 *   kDeflateRawSmall  zlib.compressobj(6, zlib.DEFLATED, -15): raw deflate
 * The brotli command-line tool is not installed on the build machines, so the
 * brotli decoder is checked against streams built by hand from RFC 7932. */
#define VECTOR_LEN 9856

static size_t vector_input(uint8_t *out, size_t cap) {
  size_t n = 0;
  for (int i = 0; i < 300; i++)
    n += (size_t)snprintf((char *)out + n, cap - n, "guise RFC 8879 vector line %04d\n", i);
  uint32_t x = 12345;
  for (int i = 0; i < 256 && n < cap; i++) {
    x = (x * 1103515245u + 12345u) & 0x7fffffffu;
    out[n++] = (uint8_t)(x >> 16);
  }
  return n;
}

static const char kZlibPyL9[] =
    "78da85d7e96bcf0100c7f15a734d6a88b0c6af48ee7c3edfdbf1084bf1c813b769fa655bee5b2df2c45252ce"
    "e54cca031a7b30478d3c9ac4e498ab5c931c65a51c314ce32fd8fbf3f4f3ecfdecb57273d5c67c6e5ed98c5c"
    "9a26596e4b7ec5a6b51b72abaad6e47393ffaf6865b7bfe037fc01fc21fc11fc31fc09fc29fc59f7bfa09fa0"
    "9fa09fa09fa09fa09fa09fa09fa09fa09fa19fa19fa19fa19fa19fa19fa19fa19fa19fa15f00fd02e81740bf"
    "00fa05d02f807e01f40ba05f00fd02e81742bf10fa85d02f847e21f40ba15f08fd42e81742bf10fa45d02f82"
    "7e11f48ba05f04fd22e81741bf08fa45d02f827e31f48ba15f0cfd62e81743bf18fac5d02f867e31f48ba15f"
    "02fd12e89740bf04fa25d02f817e09f44ba05f02fd12e89742bf14faa5d02f857e29f44ba15f0afd52e89742"
    "bf14fa65d02f837e19f4cba05f06fd32e89741bf0cfa65d02febbe9fc01f027f08fc21f087c01f027f08fc21"
    "f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc"
    "21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08"
    "fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f"
    "08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f02"
    "7f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c01f027f08fc21f087c11f067f18fc61f087c11f"
    "067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c1"
    "1f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087"
    "c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f0"
    "87c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61"
    "f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fc61f087c11f067f18fce1fffe7859983f3fe2"
    "42e9a2e7efeb4b86970f5cb77dd5dfe2aea10dcb4b0beb2f95168c2fdbb671cad7b6f28b577b2f7cf8392b6e"
    "997df8f2dd3d63fb77f5bc5231a96ddaafe8ef9c4363eef4a999d958b0ec4879e3a7d5f58f27ee5a53d5f0e6"
    "43eddc13851f5be3a51396dffef47dfb8fdda7db0f8e7e5731e049bf96c6ad83aaaba75436ed7bb1a977d9a9"
    "6ff71a8b3a1ebcaabcd651fe7bd4d7d6ce21b57f96d4365d4a7df678c9f4e29a9fdb9eee7cbbbaa3fffeb13b"
    "0e1e6e197073febd455f1e0f1ef26ce8f5c2c53b8ee6bf9c39b4be795c7df5b9b479f3ad0b4e0b46f4983ae1"
    "e8b0cef641afef5736bda9b9fe74785dc9b1be276fd4ad7874a0b3a1edccdeba91b32ada5ff5caafeb5ab0a7"
    "fafecf3bff001e25ae48";

static const char kZlibPyL1W9[] =
    "181985c9df6b175418c06118ab6c214cc3d0c6f40b4564999cf39e5fef6b75a58da0aebaa9ac9c4cbeb80d35"
    "4b2d85a178e3102228b5615a84d04531dbc5ac6049578ae4424bcda0d249588203410b9d3559fd05e7f3dc3e"
    "6bb7f46d6a365ee85ade502dd678abb966f3eb6f36d6f56d6836dcffdad656dfc30b7c808ff0093ec3177885"
    "b7fa7b07efe1053ec047f8049fe10bbcc25bfdc5c17b78810ff0113ec167f802aff056ffe0e03dbcc007f808"
    "9fe0337c815778ab7f74f01e5ee0037c844ff019bec02bbcd53f39780f2ff0013ec227f80c5fe015deea9f1d"
    "bc8717f8001fe1137c862ff00a6ff52f0edec30b7c808ff0093ec3177885b7faab83f7f0021fe0237c82cff0"
    "055ee1adfee6e03dbcc007f8089fe0337c815778abbe770edec30b7c808ff0093ec3177885b7fa7b07efe105"
    "3ec047f8049fe10bbcc25bfdc5c17b78810ff0113ec167f802aff056ffe0e03dbcc007f8089fe0337c815778"
    "ab7f74f01e5ee0037c844ff019bec02bbcd53f39780f2ff0013ec227f80c5fe015deea9f1dbc8717f8001fe1"
    "137c862ff00a6ff52f0edec30b7c808ff0093ec3177885b7faab83f7f0021fe0237c82cff0055ee1adfee6e0"
    "3dbcc007f8089fe0337c815778abbe3807efe1053ec047f8049fe10bbcc25bfdbd83f7f0021fe0237c82cff0"
    "055ee1adfee2e03dbcc007f8089fe0337c815778ab7f70f01e5ee0037c844ff019bec02bbcd53f3a780f2ff0"
    "013ec227f80c5fe015deea9f1cbc8717f8001fe1137c862ff00a6ff5cf0edec30b7c808ff0093ec3177885b7"
    "fa1707efe1053ec047f8049fe10bbcc25bfdd5c17b78810ff0113ec167f802aff0567f73f01e5ee0037c844f"
    "f019bec02bbcb5fdd6dafc7cd1e1ce95bffc31dcb1b0fbfe8ddbd6dd699f5930b2bab375f84867cbe35d5b37"
    "2dbb31d1fdc5d7b35efef19ab58f3fbbefcbef772f9e3373f7573d4b279eba9dee3cb7f7d193f70eac186d59"
    "f541f7e8d5f5c3e79ed8b9a16fe4d29f83cf1f6cbd7226bfb664f57757ffde7673d727937b1eb9dc33f7a7d9"
    "e3a36fcfebef5fd63bf6eeaf9b67757dfcd7a9d1b6a91f2ef47e33d5fdcfc337ce4ccf1ffcf7d5c1b1232a9f"
    "1ee878ba7de0d6d6f33b7e5f3f35e7bdc5dbf7ec1b9f7bfcc5532baf9f7b60fecf0b8eb6beb27d7ff3faa1bd"
    "6f1c7b6cb8ff333db6e5c461d19645773db964ff83d393f32e9eee1dbb3470f4fcc2a18e0feffbe8dba13567"
    "df9f1e9938f4ced043cff44c5eb8a7b971e6a5ddfda76f9dfc0f1e25ae48";

static const char kZstdCli19[] =
    "28b52ffd648025e51200d6a6862fb0b8e10cea1f69658948cfde661056c40d06cd5bebca403fb31487fedb24"
    "e013289394524aa963cdaba638181d2e01680060008600b6dafe7ceb8cafadd5d6fe7ceb8cafadbd3fdf3ae3"
    "6bebf7e75b677c6de5fdf9d6195f5b777fbe75c6d756dd9f6f9df1b535f7e75b677c6dc5fdf9d6195f5b6f7f"
    "be75c6d756db9f6f9df1b506b5d6fa8cf2e4e83c817a846ca244cfceff9f24272bcf6850ced04db6eafe7ceb"
    "8cafadb93fdf3ae36b2beecfb7cef8da7afbf3ad33beb6dafe7ceb8cafadf5d6fe7ceb8cafadbd3fdf3ae36b"
    "ebf7e75b677c6de5fdf9d6195f5b777fbe75c6d756dd9f6f9df1b535f7e75b677c6dc5fdf9d6195f5b6f7fbe"
    "75c6379347928c72341d325b6fd1b9a5d2a4685896c3b3e4c137dd6134835acd0098952015cc6550a5686a4b"
    "91c28f9a34814d050da73ab42a14ba84ee98e742a046062d840409323ae10098389b3a2768ca20361334758e"
    "7c18a01412d344c09789b10ab1a853d0a03fdf3ae36b6befcfb7cef8dafafdf9d6195f5b797fbe75c6d7d6dd"
    "9f6f9df10d73947752a7964d9fe8c060638d89c5d5d3576159a6d49ecd951bd74196c415855f1b92e11ace1d"
    "61436366045647484005c0dfb1b8a1b70f934e37de7ea8be1ea3584930ce3688bf0707bec7173b16b805baaa"
    "a9248d2885ca9d43253f234aa48411092db0fb676b4d31984d0f997a901797d04a369c41bc4a0333bbc8ae13"
    "02a140a8351c10a9b4a1c88c0ea16fa1061163aad18b29812ba811905fd8ff0de16f0611fcff23041c3fa96e"
    "bdf5d6b6de7aebad6dbda3026aea514f3df5d4a39e7aea391550a69e7aeaa94d3df5d4537b3087c15655494b"
    "830b";

static const char kZstdCli1NoCheck[] =
    "28b52ffd00204d110076657e47b0944a8603ac6db2c8b43beb14a308e270986dbbf6f3a05f3bb4ae8a30b5b2"
    "f32971b5bb7253a8353a238b31924a366247c2affcc92684109224d59b54ae4aad7cc468e24fb30468003100"
    "7b006ddbb66d39c9510cc1fb95e524473104ef37cb498e6208de8f2c27398a2178bfb19ce42886e0fdc47292"
    "a31882f70bcb498e6208de0f2c27398a2178bfcb498e6208deafe524473104afcbf77d5f6e572434942b3102"
    "09686722579273e628f068c8ed8e84924404ffffffffffffffffffffffffffffff6ddbb66ddbb66ddbb66ddb"
    "b66ddbb66ddbb66ddbb66ddbb66ddbb66ddbb66ddbb66d5068355450599a7216c44707c4180605272383d313"
    "b32ba1a2140fc47a446758ba172158b02a300de8621085c14dac22a10cc2cf8e006f30394f4274485df07a29"
    "a310e9d0c22387ae4c6de74889c7018b4d560f67e37345f3f6e236b46464407753d37382a4c7c60a07c70ea7"
    "c4a52cffffffffffffffffffff035d6b60bc270e6f463b0164683f16124cada82abb6a73510468cac70c0230"
    "6aa66ec6b698ccb482c096c8a0b521a0d289000087656e0524896bdee0f51a709188aa4adb513579c06dd11c"
    "99392096d6f3b5e1478c971454534e0b1836222628c694d6985e26d4c4b0f1ccd272fa70c569a62d4c4d8115"
    "1d5b8f20b2216c2e585f5268f0b4202561a115b4c3e3c99cc0f22a6024e6a7c982812ba811e05bffcff16bec"
    "0611fcff270c3f6ddddab5ed06d968747e7106cee08c9cc1195c8333b4c2c1b0d42a";

static const char kGzipSmall[] =
    "1f8b08000000000002034b2fcd2c4e55484e2d2ac94ccb4c4e2c49e502001342d56612000000";

static const char kDeflateRawSmall[] =
    "4b2fcd2c4e55484e2d2ac94ccb4c4e2c49e50200";

/* Runs the decoder into an exact-size heap buffer (so that ASan sees any
 * write past |want_len|) and returns 0 when the output equals |want|. */
static int decompress_equals(uint16_t alg, const uint8_t *in, size_t in_len, const uint8_t *want,
                             size_t want_len, const char **why) {
  uint8_t *out = malloc(want_len ? want_len : 1);
  if (out == NULL) abort();
  int rc = guise_tls_certcomp_decompress(alg, in, in_len, out, want_len, why);
  if (rc == 0 && memcmp(out, want, want_len) != 0) rc = 1;
  free(out);
  return rc;
}

static uint8_t *unhex(const char *hex, size_t *len) {
  uint8_t *b = tc_unhex(hex, strlen(hex), len);
  if (b == NULL) abort();
  return b;
}

static int contains(const char *s, const char *part) {
  return s != NULL && strstr(s, part) != NULL;
}

/* RFC 7932 §9 by hand: WBITS 16 (one 0 bit); an uncompressed meta-block
 * (ISLAST 0, MNIBBLES 4 coded as 0, MLEN-1 in 16 bits, ISUNCOMPRESSED 1, zero
 * bits to the byte boundary), the raw bytes; then an empty last meta-block
 * (ISLAST 1, ISLASTEMPTY 1). |len| is 1..65536; |out| holds len + 4 bytes. */
static size_t brotli_stored(const uint8_t *in, size_t len, uint8_t *out) {
  uint32_t bits = ((uint32_t)(len - 1) << 4) | (1u << 20);
  out[0] = (uint8_t)bits;
  out[1] = (uint8_t)(bits >> 8);
  out[2] = (uint8_t)(bits >> 16);
  memcpy(out + 3, in, len);
  out[3 + len] = 0x03;
  return len + 4;
}

static void test_certcomp_decompress_independent_vectors(void) {
  static uint8_t input[VECTOR_LEN + 1];
  size_t n = vector_input(input, sizeof(input));
  TC_EQ(n, VECTOR_LEN);
  const struct {
    uint16_t alg;
    const char *hex;
  } good[] = {
      {GUISE_TLS_CERTCOMP_ZLIB, kZlibPyL9},
      {GUISE_TLS_CERTCOMP_ZLIB, kZlibPyL1W9},
      {GUISE_TLS_CERTCOMP_ZSTD, kZstdCli19},
      {GUISE_TLS_CERTCOMP_ZSTD, kZstdCli1NoCheck},
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    size_t len;
    uint8_t *c = unhex(good[i].hex, &len);
    const char *why = NULL;
    TC_EQ(decompress_equals(good[i].alg, c, len, input, n, &why), 0);
    if (why) fprintf(stderr, "  vector %zu: %s\n", i, why);
    /* The same stream is no stream of the other two algorithms. */
    for (uint16_t other = 1; other <= 3; other++)
      if (other != good[i].alg) TC_CHECK(decompress_equals(other, c, len, input, n, NULL) != 0);
    free(c);
  }

  /* RFC 8879 §3 says zlib, i.e. RFC 1950: gzip and raw deflate are refused. */
  static const uint8_t small[] = "guise certificate\n";
  size_t small_len = sizeof(small) - 1, len;
  uint8_t *g = unhex(kGzipSmall, &len);
  TC_CHECK(decompress_equals(GUISE_TLS_CERTCOMP_ZLIB, g, len, small, small_len, NULL) != 0);
  free(g);
  g = unhex(kDeflateRawSmall, &len);
  TC_CHECK(decompress_equals(GUISE_TLS_CERTCOMP_ZLIB, g, len, small, small_len, NULL) != 0);
  free(g);

  /* brotli: the hand-built stream, then the same with each framing error. */
  static uint8_t b[VECTOR_LEN + 8];
  size_t blen = brotli_stored(input, n, b);
  const char *why = NULL;
  TC_EQ(decompress_equals(GUISE_TLS_CERTCOMP_BROTLI, b, blen, input, n, &why), 0);
  if (why) fprintf(stderr, "  brotli stored: %s\n", why);
  why = NULL;
  TC_CHECK(decompress_equals(GUISE_TLS_CERTCOMP_BROTLI, b, blen - 1, input, n, &why) != 0);
  TC_CHECK(contains(why, "truncated"));
  b[blen] = 0;
  TC_CHECK(decompress_equals(GUISE_TLS_CERTCOMP_BROTLI, b, blen + 1, input, n, &why) != 0);
  TC_CHECK(contains(why, "trailing"));
  b[blen - 1] = 0x07; /* a non-zero padding bit after ISLASTEMPTY */
  TC_CHECK(decompress_equals(GUISE_TLS_CERTCOMP_BROTLI, b, blen, input, n, NULL) != 0);
}

/* Compresses |in| with guise's own compressor into a malloc'd buffer. */
static uint8_t *compress_with(uint16_t alg, const uint8_t *in, size_t in_len, size_t *out_len) {
  CBB cbb;
  uint8_t *out = NULL;
  if (!CBB_init(&cbb, 0) || guise_tls_certcomp_compress(alg, &cbb, in, in_len, NULL) != 0 ||
      !CBB_finish(&cbb, &out, out_len))
    abort();
  return out;
}

/* Declared length against real output, both ways, and framing errors. */
static void test_certcomp_decompress_exact_length(void) {
  static uint8_t input[VECTOR_LEN + 1];
  size_t n = vector_input(input, sizeof(input));
  for (uint16_t alg = 1; alg <= 3; alg++) {
    size_t clen;
    uint8_t *c = compress_with(alg, input, n, &clen);
    const char *why = NULL;
    TC_EQ(decompress_equals(alg, c, clen, input, n, &why), 0);
    why = NULL;
    TC_CHECK(decompress_equals(alg, c, clen, input, n - 1, &why) != 0);
    TC_CHECK(contains(why, "exceeds"));
    why = NULL;
    /* Declared one byte longer than the stream's output. */
    uint8_t *big = malloc(n + 1);
    memcpy(big, input, n);
    big[n] = 0;
    TC_CHECK(decompress_equals(alg, c, clen, big, n + 1, &why) != 0);
    TC_CHECK(contains(why, "shorter"));
    free(big);
    why = NULL;
    TC_CHECK(decompress_equals(alg, c, clen - 1, input, n, &why) != 0);
    TC_CHECK(why != NULL);
    /* One byte of garbage after a complete stream. */
    uint8_t *t = malloc(clen + 1);
    memcpy(t, c, clen);
    t[clen] = 0x5a;
    why = NULL;
    TC_CHECK(decompress_equals(alg, t, clen + 1, input, n, &why) != 0);
    TC_CHECK(why != NULL);
    free(t);
    TC_CHECK(decompress_equals(alg, c, 0, input, n, NULL) != 0);
    TC_CHECK(decompress_equals(alg, NULL, 0, input, n, NULL) != 0);
    why = NULL;
    TC_CHECK(decompress_equals(alg, c, clen, input, 0, &why) != 0);
    TC_CHECK(contains(why, "zero"));
    OPENSSL_free(c);
  }
  /* Unknown algorithms, and the cap checked before any decoding. */
  static uint8_t cap_buf[GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED + 1];
  const char *why = NULL;
  TC_CHECK(guise_tls_certcomp_decompress(0, input, 10, cap_buf, 10, &why) != 0);
  TC_CHECK(contains(why, "unknown"));
  TC_CHECK(guise_tls_certcomp_decompress(4, input, 10, cap_buf, 10, NULL) != 0);
  why = NULL;
  TC_CHECK(guise_tls_certcomp_decompress(1, input, 10, cap_buf, sizeof(cap_buf), &why) != 0);
  TC_CHECK(contains(why, "cap"));
  TC_STREQ(guise_tls_certcomp_name(1), "zlib");
  TC_STREQ(guise_tls_certcomp_name(2), "brotli");
  TC_STREQ(guise_tls_certcomp_name(3), "zstd");
  TC_CHECK(guise_tls_certcomp_name(4) == NULL);
}

/* A stream whose output is far beyond the declared length stops at the bound. */
static void test_certcomp_decompress_bomb(void) {
  size_t big = 8u << 20;
  uint8_t *zeros = calloc(big, 1);
  for (uint16_t alg = 1; alg <= 3; alg++) {
    size_t clen;
    uint8_t *c = compress_with(alg, zeros, big, &clen);
    const char *why = NULL;
    /* brotli may stop earlier, at its memory budget: its 8 MiB meta-block
     * asks for a ring buffer the declared length does not justify. */
    TC_CHECK(decompress_equals(alg, c, clen, zeros, 1000, &why) != 0);
    int brotli = alg == GUISE_TLS_CERTCOMP_BROTLI;
    TC_CHECK(contains(why, "exceeds") || (brotli && contains(why, "memory")));
    if (why) printf("  %s bomb, 1000 declared: %s\n", guise_tls_certcomp_name(alg), why);
    why = NULL;
    size_t cap = GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED;
    TC_CHECK(decompress_equals(alg, c, clen, zeros, cap, &why) != 0);
    TC_CHECK(contains(why, "exceeds") || (brotli && contains(why, "memory")));
    if (why) printf("  %s bomb, cap declared: %s\n", guise_tls_certcomp_name(alg), why);
    OPENSSL_free(c);
  }
  free(zeros);

  /* RFC 7932 header claiming a 16 MiB window and a 16 MiB uncompressed
   * meta-block, followed by 64 bytes: WBITS 24 ('1' then 7 in 3 bits), ISLAST
   * 0, MNIBBLES 6 (coded 2), MLEN-1 = 0xffffff, ISUNCOMPRESSED 1. The decoder
   * would size its ring buffer from the claim; the budget refuses it. */
  uint8_t s[4 + 64];
  uint32_t bits = 1u | (7u << 1) | (2u << 5) | (0xffffffu << 7) | (1u << 31);
  for (int i = 0; i < 4; i++) s[i] = (uint8_t)(bits >> (8 * i));
  memset(s + 4, 'a', 64);
  uint8_t want[64];
  memset(want, 'a', sizeof(want));
  const char *why = NULL;
  TC_CHECK(decompress_equals(GUISE_TLS_CERTCOMP_BROTLI, s, sizeof(s), want, sizeof(want), &why) !=
           0);
  TC_CHECK(contains(why, "memory"));
  if (why) printf("  brotli 16 MiB claim: %s\n", why);
}

/* The encoders across their settings (brotli's decoder has no other
 * independent source here), at sizes up to the cap. */
static void test_certcomp_roundtrip_settings(void) {
  size_t n = GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED;
  uint8_t *in = malloc(n);
  uint32_t x = 1;
  for (size_t i = 0; i < n; i++) {
    x = x * 1664525u + 1013904223u;
    /* Letters with repeats: compressible, not trivially. */
    in[i] = (uint8_t)('a' + ((x >> 24) % 8));
  }
  size_t sizes[] = {1, 100, 5000, n};
  for (size_t si = 0; si < 4; si++) {
    size_t len = sizes[si];
    for (int q = 0; q <= 11; q += (len == n ? 11 : 1)) {
      for (int lgwin = 10; lgwin <= 24; lgwin += 7) {
        size_t cap = BrotliEncoderMaxCompressedSize(len), clen = cap;
        uint8_t *c = malloc(cap);
        TC_CHECK(BrotliEncoderCompress(q, lgwin, BROTLI_MODE_TEXT, len, in, &clen, c));
        const char *why = NULL;
        TC_EQ(decompress_equals(GUISE_TLS_CERTCOMP_BROTLI, c, clen, in, len, &why), 0);
        if (why) fprintf(stderr, "  brotli q%d w%d len %zu: %s\n", q, lgwin, len, why);
        free(c);
      }
    }
    for (int level = 0; level <= 9; level += 3) {
      uLongf clen = compressBound((uLong)len);
      uint8_t *c = malloc(clen);
      TC_EQ(compress2(c, &clen, in, (uLong)len, level), Z_OK);
      TC_EQ(decompress_equals(GUISE_TLS_CERTCOMP_ZLIB, c, clen, in, len, NULL), 0);
      free(c);
    }
    for (int level = -5; level <= 19; level += 6) {
      size_t cap = ZSTD_compressBound(len);
      uint8_t *c = malloc(cap);
      size_t clen = ZSTD_compress(c, cap, in, len, level);
      TC_CHECK(!ZSTD_isError(clen));
      TC_EQ(decompress_equals(GUISE_TLS_CERTCOMP_ZSTD, c, clen, in, len, NULL), 0);
      free(c);
    }
    for (uint16_t alg = 1; alg <= 3; alg++) {
      size_t clen;
      uint8_t *c = compress_with(alg, in, len, &clen);
      TC_EQ(decompress_equals(alg, c, clen, in, len, NULL), 0);
      OPENSSL_free(c);
    }
  }
  free(in);
}

/* ---- registration and the ClientHello ---- */

static void hello_with(const uint16_t *algs, size_t n, tp_result *r, int *reg_rc) {
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  *reg_rc = guise_tls_certcomp_register(cctx, algs, n, GUISE_TLS_CERTCOMP_DECOMPRESS, NULL);
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  tp_handshake(c, s, r);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* The extension lists exactly the profile's order (Firefox 1,2,3; Chrome 2;
 * Safari 1), whatever that order is. */
static void test_certcomp_clienthello_order(void) {
  static const uint16_t firefox[] = {1, 2, 3}, chrome[] = {2}, safari[] = {1}, rev[] = {3, 2, 1},
                        two[] = {2, 3}, zstd_zlib[] = {3, 1};
  const struct {
    const uint16_t *v;
    size_t n;
  } orders[] = {{firefox, 3}, {chrome, 1}, {safari, 1}, {rev, 3}, {two, 2}, {zstd_zlib, 2}};
  for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
    static tp_result r;
    int rc;
    hello_with(orders[i].v, orders[i].n, &r, &rc);
    TC_EQ(rc, 0);
    TC_CHECK(r.ok);
    TC_CHECK(r.ch != NULL);
    const gfp_ext *e = r.ch ? gfp_ch_find_ext(r.ch, 27) : NULL;
    TC_CHECK(e != NULL);
    if (e) {
      TC_EQ(e->u.list.n, orders[i].n);
      for (size_t k = 0; k < orders[i].n && k < e->u.list.n; k++)
        TC_EQ(e->u.list.v[k], orders[i].v[k]);
    }
    gfp_ch_free(r.ch);
  }
  /* An empty list sends no extension. */
  static tp_result r;
  int rc;
  hello_with(NULL, 0, &r, &rc);
  TC_EQ(rc, 0);
  TC_CHECK(r.ch != NULL && gfp_ch_find_ext(r.ch, 27) == NULL);
  gfp_ch_free(r.ch);
}

static void test_certcomp_register_rejects_bad_lists(void) {
  static const uint16_t unknown[] = {1, 4}, zero[] = {0}, dup[] = {2, 3, 2}, big[] = {0xffff};
  const struct {
    const uint16_t *v;
    size_t n;
    const char *why;
  } bad[] = {{unknown, 2, "unknown"}, {zero, 1, "unknown"}, {dup, 3, "twice"}, {big, 1, "unknown"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    static tp_result r;
    int rc;
    hello_with(bad[i].v, bad[i].n, &r, &rc);
    TC_EQ(rc, -1);
    /* Refused as a whole: nothing was registered, so nothing is advertised. */
    TC_CHECK(r.ch != NULL && gfp_ch_find_ext(r.ch, 27) == NULL);
    gfp_ch_free(r.ch);
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    const char *why = NULL;
    TC_EQ(guise_tls_certcomp_register(ctx, bad[i].v, bad[i].n, GUISE_TLS_CERTCOMP_DECOMPRESS, &why),
          -1);
    TC_CHECK(contains(why, bad[i].why));
    SSL_CTX_free(ctx);
  }
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  const char *why = NULL;
  TC_EQ(guise_tls_certcomp_register(NULL, kAllAlgs, 3, GUISE_TLS_CERTCOMP_DECOMPRESS, &why), -1);
  TC_EQ(guise_tls_certcomp_register(ctx, NULL, 1, GUISE_TLS_CERTCOMP_DECOMPRESS, &why), -1);
  TC_EQ(guise_tls_certcomp_register(ctx, kAllAlgs, 3, 0, &why), -1);
  TC_EQ(guise_tls_certcomp_register(ctx, kAllAlgs, 3, 4, &why), -1);
  TC_EQ(guise_tls_certcomp_register(ctx, kAllAlgs, 3, GUISE_TLS_CERTCOMP_DECOMPRESS, NULL), 0);
  /* A second registration of the same id is BoringSSL's refusal. */
  why = NULL;
  TC_EQ(guise_tls_certcomp_register(ctx, kAllAlgs + 1, 1, GUISE_TLS_CERTCOMP_COMPRESS, &why), -1);
  TC_CHECK(contains(why, "BoringSSL"));
  TC_EQ(ERR_peek_error(), 0);
  SSL_CTX_free(ctx);
}

/* ---- handshakes ---- */

/* What one side saw of the certificate messages, through the message callback. */
typedef struct wire_seen {
  int want_write;   /* 1: count what this side writes (server); 0: what it reads */
  int certificate;  /* Certificate (11) messages */
  int compressed;   /* CompressedCertificate (25) messages */
  uint16_t alg;
  uint32_t uncompressed_len;
  size_t compressed_len;
} wire_seen;

static void observe(int write_p, int version, int content_type, const void *buf, size_t len,
                    SSL *ssl, void *arg) {
  wire_seen *w = arg;
  const uint8_t *p = buf;
  if (w == NULL || write_p != w->want_write || content_type != SSL3_RT_HANDSHAKE || len < 1) return;
  if (p[0] == SSL3_MT_CERTIFICATE) w->certificate++;
  if (p[0] != SSL3_MT_COMPRESSED_CERTIFICATE) return;
  /* RFC 8879 §4: algorithm u16, uncompressed_length u24, compressed bytes u24-prefixed. */
  CBS m, body, data;
  uint8_t type;
  uint16_t alg;
  uint32_t ulen;
  CBS_init(&m, p, len);
  if (CBS_get_u8(&m, &type) && CBS_get_u24_length_prefixed(&m, &body) && CBS_len(&m) == 0 &&
      CBS_get_u16(&body, &alg) && CBS_get_u24(&body, &ulen) &&
      CBS_get_u24_length_prefixed(&body, &data) && CBS_len(&body) == 0) {
    w->compressed++;
    w->alg = alg;
    w->uncompressed_len = ulen;
    w->compressed_len = CBS_len(&data);
  }
}

/* A P-256 self-signed certificate whose netscape-comment extension carries
 * |pad| letters (IA5String): a stand-in for intermediates of any size. With
 * |period| > 0 the letters repeat every |period| bytes. */
static X509 *make_cert(const char *cn, size_t pad, size_t period) {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *pkey = EVP_PKEY_new();
  X509 *x = X509_new();
  ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
  CBB cbb, str;
  uint8_t *der = NULL, *letters = NULL;
  size_t der_len;
  if (ec == NULL || pkey == NULL || x == NULL || os == NULL || !CBB_init(&cbb, pad + 8) ||
      !CBB_add_asn1(&cbb, &str, CBS_ASN1_IA5STRING) || !CBB_add_space(&str, &letters, pad))
    abort();
  uint32_t s = 7;
  for (size_t i = 0; i < pad; i++) {
    if (period == 0 || i < period) {
      s = s * 1664525u + 1013904223u;
      letters[i] = (uint8_t)('a' + ((s >> 24) % 26));
    } else {
      letters[i] = letters[i - period];
    }
  }
  if (!CBB_finish(&cbb, &der, &der_len) || !ASN1_OCTET_STRING_set(os, der, (int)der_len))
    abort();
  X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(NULL, NID_netscape_comment, 0, os);
  if (ext == NULL || !EC_KEY_generate_key(ec) || !EVP_PKEY_set1_EC_KEY(pkey, ec) ||
      !X509_set_version(x, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 2) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
      !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                  (const uint8_t *)cn, -1, -1, 0) ||
      !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_set_pubkey(x, pkey) ||
      !X509_add_ext(x, ext, -1) || !X509_sign(x, pkey, EVP_sha256()))
    abort();
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(os);
  OPENSSL_free(der);
  EVP_PKEY_free(pkey);
  EC_KEY_free(ec);
  return x;
}

/* A server context (tp_server_ctx's leaf) with one more certificate in its chain. */
static SSL_CTX *server_with_chain(size_t pad, size_t period) {
  SSL_CTX *sctx = tp_server_ctx();
  X509 *inter = make_cert("guise test intermediate", pad, period);
  if (!SSL_CTX_add1_chain_cert(sctx, inter)) abort();
  X509_free(inter);
  return sctx;
}

/* The client received exactly the server's chain, byte for byte. */
static int chain_equal(SSL *c, SSL_CTX *sctx) {
  const STACK_OF(CRYPTO_BUFFER) *peer = SSL_get0_peer_certificates(c);
  STACK_OF(X509) *chain = NULL;
  X509 *leaf = SSL_CTX_get0_certificate(sctx);
  if (peer == NULL || leaf == NULL || !SSL_CTX_get0_chain_certs(sctx, &chain)) return 0;
  size_t n_chain = chain ? sk_X509_num(chain) : 0;
  if (sk_CRYPTO_BUFFER_num(peer) != 1 + n_chain) return 0;
  for (size_t i = 0; i <= n_chain; i++) {
    X509 *x = i == 0 ? leaf : sk_X509_value(chain, i - 1);
    uint8_t *der = NULL;
    int len = i2d_X509(x, &der);
    const CRYPTO_BUFFER *b = sk_CRYPTO_BUFFER_value(peer, i);
    int same = len > 0 && (size_t)len == CRYPTO_BUFFER_len(b) &&
               memcmp(der, CRYPTO_BUFFER_data(b), (size_t)len) == 0;
    OPENSSL_free(der);
    if (!same) return 0;
  }
  X509 *pl = SSL_get_peer_certificate(c);
  int ok = pl != NULL && X509_cmp(pl, leaf) == 0;
  X509_free(pl);
  return ok;
}

typedef struct run {
  tp_result r;
  wire_seen server, client;
  int chain_ok;
} run;

/* Client advertising |calgs| (guise's decoders) against |sctx|. */
static void run_handshake(SSL_CTX *sctx, const uint16_t *calgs, size_t cn, size_t max_cert_list,
                          run *out) {
  memset(&out->server, 0, sizeof(out->server));
  memset(&out->client, 0, sizeof(out->client));
  out->server.want_write = 1;
  SSL_CTX *cctx = tp_client_ctx();
  TC_EQ(guise_tls_certcomp_register(cctx, calgs, cn, GUISE_TLS_CERTCOMP_DECOMPRESS, NULL), 0);
  if (max_cert_list) SSL_CTX_set_max_cert_list(cctx, max_cert_list);
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  SSL_set_msg_callback(s, observe);
  SSL_set_msg_callback_arg(s, &out->server);
  tp_handshake(c, s, &out->r);
  out->chain_ok = out->r.ok && chain_equal(c, sctx);
  gfp_ch_free(out->r.ch);
  out->r.ch = NULL;
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
}

/* Like run_handshake, observing the client's reads too. */
static void run_handshake_observed(SSL_CTX *sctx, const uint16_t *calgs, size_t cn, run *out) {
  memset(&out->server, 0, sizeof(out->server));
  memset(&out->client, 0, sizeof(out->client));
  out->server.want_write = 1;
  SSL_CTX *cctx = tp_client_ctx();
  TC_EQ(guise_tls_certcomp_register(cctx, calgs, cn, GUISE_TLS_CERTCOMP_DECOMPRESS, NULL), 0);
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  SSL_set_msg_callback(s, observe);
  SSL_set_msg_callback_arg(s, &out->server);
  /* Replaces the client's hello capture, which these tests do not use. */
  SSL_set_msg_callback(c, observe);
  SSL_set_msg_callback_arg(c, &out->client);
  tp_handshake(c, s, &out->r);
  out->chain_ok = out->r.ok && chain_equal(c, sctx);
  gfp_ch_free(out->r.ch);
  out->r.ch = NULL;
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
}

/* The server compresses with each algorithm; the client decompresses and
 * ends up with the server's exact chain. */
static void test_certcomp_handshake_each_alg(void) {
  for (uint16_t alg = 1; alg <= 3; alg++) {
    SSL_CTX *sctx = server_with_chain(3000, 0);
    TC_EQ(guise_tls_certcomp_register(sctx, &alg, 1, GUISE_TLS_CERTCOMP_COMPRESS, NULL), 0);
    static run x;
    run_handshake_observed(sctx, kAllAlgs, 3, &x);
    TC_CHECK(x.r.ok);
    if (!x.r.ok)
      fprintf(stderr, "  alg %u: client %s / server %s\n", alg, x.r.client_error,
              x.r.server_error);
    TC_EQ(x.server.compressed, 1);
    TC_EQ(x.server.certificate, 0);
    TC_EQ(x.server.alg, alg);
    TC_EQ(x.client.compressed, 1);
    TC_EQ(x.client.alg, alg);
    TC_EQ(x.client.certificate, 0);
    /* Really compressed: the letters of the chain shrink. */
    TC_CHECK(x.server.compressed_len < x.server.uncompressed_len);
    TC_CHECK(x.server.uncompressed_len > 3000);
    TC_CHECK(x.chain_ok);
    printf("  %s: Certificate %u bytes sent as %zu\n", guise_tls_certcomp_name(alg),
           (unsigned)x.server.uncompressed_len, x.server.compressed_len);
    SSL_CTX_free(sctx);
  }
}

/* The server picks by its own preference among what the client offers. */
static void test_certcomp_handshake_server_preference(void) {
  static const uint16_t server_pref[] = {3, 2, 1}, chrome[] = {2}, safari[] = {1};
  SSL_CTX *sctx = server_with_chain(1000, 0);
  TC_EQ(guise_tls_certcomp_register(sctx, server_pref, 3, GUISE_TLS_CERTCOMP_COMPRESS, NULL), 0);
  static run x;
  run_handshake(sctx, kAllAlgs, 3, 0, &x);
  TC_CHECK(x.r.ok && x.chain_ok);
  TC_EQ(x.server.alg, 3);
  run_handshake(sctx, chrome, 1, 0, &x);
  TC_CHECK(x.r.ok && x.chain_ok);
  TC_EQ(x.server.alg, 2);
  run_handshake(sctx, safari, 1, 0, &x);
  TC_CHECK(x.r.ok && x.chain_ok);
  TC_EQ(x.server.alg, 1);
  /* No offer, no compression. */
  run_handshake(sctx, NULL, 0, 0, &x);
  TC_CHECK(x.r.ok && x.chain_ok);
  TC_EQ(x.server.compressed, 0);
  TC_EQ(x.server.certificate, 1);
  SSL_CTX_free(sctx);
}

/* A hostile server: its compressor (installed directly in BoringSSL) sends
 * streams whose output is wrong in one way. */
enum { EVIL_CORRUPT, EVIL_LONGER, EVIL_SHORTER, EVIL_BOMB };
static int g_evil_mode;
static uint16_t g_evil_alg;

static int evil_compress(SSL *ssl, CBB *out, const uint8_t *in, size_t in_len) {
  size_t n = in_len;
  if (g_evil_mode == EVIL_LONGER) n = in_len + 16;
  if (g_evil_mode == EVIL_SHORTER) n = in_len - 16;
  if (g_evil_mode == EVIL_BOMB) n = in_len + (8u << 20);
  uint8_t *plain = calloc(n, 1);
  if (plain == NULL) return 0;
  memcpy(plain, in, n < in_len ? n : in_len);
  size_t clen;
  uint8_t *c = compress_with(g_evil_alg, plain, n, &clen);
  free(plain);
  if (g_evil_mode == EVIL_CORRUPT) {
    /* Flip a byte from the middle on until the stream no longer decodes
     * (brotli and zstd without a checksum may decode a flipped literal). */
    uint8_t *scratch = malloc(in_len);
    size_t k;
    for (k = clen / 2; k < clen; k++) {
      c[k] ^= 0x55;
      if (guise_tls_certcomp_decompress(g_evil_alg, c, clen, scratch, in_len, NULL) != 0) break;
      c[k] ^= 0x55;
    }
    free(scratch);
    if (k == clen) abort();
  }
  int ok = CBB_add_bytes(out, c, clen);
  OPENSSL_free(c);
  return ok;
}

static void test_certcomp_handshake_fails_cleanly(void) {
  static const char *names[] = {"corrupt", "longer", "shorter", "bomb"};
  for (uint16_t alg = 1; alg <= 3; alg++) {
    for (int mode = EVIL_CORRUPT; mode <= EVIL_BOMB; mode++) {
      SSL_CTX *sctx = server_with_chain(2000, 0);
      TC_CHECK(SSL_CTX_add_cert_compression_alg(sctx, alg, evil_compress, NULL));
      g_evil_alg = alg;
      g_evil_mode = mode;
      static run x;
      run_handshake(sctx, kAllAlgs, 3, 0, &x);
      TC_CHECK(!x.r.ok);
      TC_EQ(x.server.compressed, 1);
      TC_EQ(x.server.alg, alg);
      TC_CHECK(contains(x.r.client_error, "CERT_DECOMPRESSION_FAILED"));
      if (!contains(x.r.client_error, "CERT_DECOMPRESSION_FAILED"))
        fprintf(stderr, "  %s %s: %s\n", guise_tls_certcomp_name(alg), names[mode],
                x.r.client_error);
      SSL_CTX_free(sctx);
    }
  }
}

/* The declared length: over BoringSSL's default max_cert_list (Chrome's
 * limit), over guise's cap when a caller has raised max_cert_list, and just
 * under the cap. */
static void test_certcomp_handshake_length_limits(void) {
  /* ~140 KiB of repeating letters: a small CompressedCertificate declaring a
   * large Certificate. */
  SSL_CTX *sctx = server_with_chain(140 * 1024, 4096);
  TC_EQ(guise_tls_certcomp_register(sctx, kAllAlgs, 3, GUISE_TLS_CERTCOMP_COMPRESS, NULL), 0);
  static run x;
  run_handshake(sctx, kAllAlgs, 3, 0, &x);
  TC_CHECK(!x.r.ok);
  TC_CHECK(x.server.uncompressed_len > GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED);
  TC_CHECK(contains(x.r.client_error, "UNCOMPRESSED_CERT_TOO_LARGE"));
  run_handshake(sctx, kAllAlgs, 3, (1u << 24) - 1, &x);
  TC_CHECK(!x.r.ok);
  TC_CHECK(contains(x.r.client_error, "CERT_DECOMPRESSION_FAILED"));
  SSL_CTX_free(sctx);

  /* Just under the cap: accepted once max_cert_list allows it, by every
   * algorithm (brotli's memory budget included). */
  for (uint16_t alg = 1; alg <= 3; alg++) {
    sctx = server_with_chain(GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED - 2048, 4096);
    TC_EQ(guise_tls_certcomp_register(sctx, &alg, 1, GUISE_TLS_CERTCOMP_COMPRESS, NULL), 0);
    run_handshake(sctx, kAllAlgs, 3, (1u << 24) - 1, &x);
    TC_CHECK(x.r.ok && x.chain_ok);
    if (!x.r.ok)
      fprintf(stderr, "  near cap %u: %s / %s\n", alg, x.r.client_error, x.r.server_error);
    TC_EQ(x.server.alg, alg);
    TC_CHECK(x.server.uncompressed_len > 100 * 1024 &&
             x.server.uncompressed_len <= GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED);
    /* With Chrome's default limit the same chain is refused before decoding. */
    run_handshake(sctx, kAllAlgs, 3, 0, &x);
    TC_CHECK(!x.r.ok && contains(x.r.client_error, "UNCOMPRESSED_CERT_TOO_LARGE"));
    SSL_CTX_free(sctx);
  }
}

int main(void) {
  test_certcomp_decompress_independent_vectors();
  test_certcomp_decompress_exact_length();
  test_certcomp_decompress_bomb();
  test_certcomp_roundtrip_settings();
  test_certcomp_register_rejects_bad_lists();
  test_certcomp_clienthello_order();
  test_certcomp_handshake_each_alg();
  test_certcomp_handshake_server_preference();
  test_certcomp_handshake_fails_cleanly();
  test_certcomp_handshake_length_limits();
  return tc_summary("test_certcomp");
}

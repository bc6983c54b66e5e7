/*
 * test_decode.c — streaming content decoding (client/lib/decode.c) against
 * streams made by independent tools (vectors.h, see gen_vectors.py): whole,
 * byte-at-a-time and randomly split input give identical output; multi-member
 * gzip, raw-deflate fallback, stacked codings, trailing bytes, truncated and
 * corrupt bodies, bombs of every coding against the size cap, the ratio cap
 * and the memory budget, zstd window refusal, and the header parsers.
 *
 * Two measurements use the library encoders linked for the certificate code
 * (libbrotlienc, libzstd) because their inputs are too large to embed: a
 * 20 MiB incompressible body at the largest windows, to measure the decoders'
 * peak memory against DECODE_BUDGET_*.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <guise.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>

#include "decode.h"
#include "tcheck.h"
#include "vectors.h"

/* ---- helpers ---- */

static size_t plain_input(uint8_t *out) {
  size_t n = 0;
  for (int i = 0; i < 1000; i++)
    n += (size_t)sprintf((char *)out + n, "guise decode vector line %04d: the quick brown fox\n", i);
  uint32_t x = 12345;
  for (int i = 0; i < 4096; i++) {
    x = (x * 1103515245u + 12345u) & 0x7fffffffu;
    out[n++] = (uint8_t)(x >> 16);
  }
  return n;
}

static uint8_t g_plain[PLAIN_LEN + 64];

static uint8_t *from_hex(const char *hex, size_t *len) {
  size_t n = strlen(hex) / 2;
  uint8_t *out = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
  *len = n;
  return out;
}

typedef struct collector {
  uint8_t *data;
  size_t len, cap;
  size_t calls, max_chunk;
  size_t cancel_after; /* 0: never */
  int keep;            /* keep the bytes (bombs only count them) */
} collector;

static int collect(void *arg, const uint8_t *p, size_t n) {
  collector *c = arg;
  c->calls++;
  if (n > c->max_chunk) c->max_chunk = n;
  if (n == 0) return GUISE_E_INTERNAL; /* the API promises 1..chunk_size */
  if (c->keep) {
    if (c->len + n > c->cap) {
      c->cap = (c->len + n) * 2;
      c->data = realloc(c->data, c->cap);
    }
    memcpy(c->data + c->len, p, n);
  }
  c->len += n;
  if (c->cancel_after != 0 && c->calls >= c->cancel_after) return GUISE_E_CANCELLED;
  return 0;
}

enum split { WHOLE, BYTES, RANDOM };

static uint32_t g_rng = 1;
static uint32_t rnd(void) {
  g_rng = g_rng * 1664525u + 1013904223u;
  return g_rng >> 8;
}

typedef struct run {
  int rc;
  collector out;
  decode_stats st;
  const char *reason;
} run;

/* Decodes |in| as |ce| with |lim| (NULL: defaults), fed as |how| says. */
static run decode_with(const char *ce, const uint8_t *in, size_t len, const decode_limits *lim,
                       enum split how, uint32_t seed) {
  run r;
  memset(&r, 0, sizeof(r));
  r.out.keep = 1;
  decode *d = NULL;
  r.rc = decode_new(&d, ce, ce ? strlen(ce) : 0, lim, collect, &r.out, NULL);
  if (r.rc != 0) return r;
  g_rng = seed;
  size_t pos = 0;
  while (pos < len && r.rc == 0) {
    size_t k = len - pos;
    if (how == BYTES) k = 1;
    if (how == RANDOM) {
      size_t cap = (rnd() % 4 == 0) ? 4096 : 64;
      k = 1 + rnd() % cap;
      if (k > len - pos) k = len - pos;
    }
    r.rc = decode_push(d, in + pos, k);
    pos += k;
  }
  if (r.rc == 0) r.rc = decode_finish(d);
  decode_get_stats(d, &r.st);
  r.reason = decode_reason(d);
  decode_free(d);
  return r;
}

static void run_free(run *r) { free(r->out.data); }

typedef struct vector {
  const char *name, *ce, *hex;
  int single; /* one coding: truncation tests apply */
} vector;

static const vector kVectors[] = {
    {"gzip GNU", "gzip", kGzipGnu, 1},
    {"gzip Python", "x-gzip", kGzipPy, 1},
    {"gzip two members", "gzip", kGzipTwoMembers, 1},
    {"deflate zlib", "deflate", kZlibPy, 1},
    {"deflate raw", "deflate", kDeflateRawPy, 1},
    {"br node", "br", kBrNode, 1},
    {"zstd CLI", "zstd", kZstdCli, 1},
    {"zstd frames", "zstd", kZstdFrames, 1},
    {"gzip, br", "gzip, br", kGzipThenBr, 0},
    {"deflate, gzip, zstd", "Deflate , GZIP,zstd", kDeflateGzipZstd, 0},
    {"gzip, gzip", "gzip, identity, gzip", kGzipGzip, 0},
};
#define N_VECTORS (sizeof(kVectors) / sizeof(kVectors[0]))

static int same_as_plain(const run *r) {
  return r->out.len == PLAIN_LEN && memcmp(r->out.data, g_plain, PLAIN_LEN) == 0;
}

/* ---- tests ---- */

/* Every vector decodes to the plain text whole, byte at a time and in 20
 * random splits, in chunks no larger than asked. */
static void test_decode_vectors_any_split(void) {
  for (size_t v = 0; v < N_VECTORS; v++) {
    size_t len;
    uint8_t *in = from_hex(kVectors[v].hex, &len);
    for (int t = 0; t < 22; t++) {
      enum split how = t == 0 ? WHOLE : t == 1 ? BYTES : RANDOM;
      run r = decode_with(kVectors[v].ce, in, len, NULL, how, (uint32_t)(t * 7919 + v));
      TC_EQ(r.rc, 0);
      TC_CHECK(same_as_plain(&r));
      TC_CHECK(r.out.max_chunk <= DECODE_DEFAULT_CHUNK);
      TC_CHECK(r.st.mem_peak <= r.st.mem_limit);
      if (r.rc != 0 || !same_as_plain(&r))
        fprintf(stderr, "  vector %s split %d: rc %d (%s), %zu bytes\n", kVectors[v].name, t, r.rc,
                r.reason, r.out.len);
      run_free(&r);
    }
    /* The smallest chunk size: every callback within it. */
    decode_limits lim;
    decode_limits_init(&lim);
    lim.chunk_size = DECODE_MIN_CHUNK;
    run r = decode_with(kVectors[v].ce, in, len, &lim, RANDOM, 99);
    TC_EQ(r.rc, 0);
    TC_CHECK(same_as_plain(&r));
    TC_CHECK(r.out.max_chunk <= DECODE_MIN_CHUNK);
    run_free(&r);
    free(in);
  }
}

/* Bytes after the end of a stream are ignored (as browsers do); a second
 * gzip member, once its magic is there, must be valid and complete. */
static void test_decode_trailing_bytes(void) {
  static const struct {
    const char *ce, *hex, *tail;
    size_t tail_len;
    int want;
  } cases[] = {
      {"gzip", kGzipGnu, "garbage after the member", 24, 0},
      {"gzip", kGzipPy, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16, 0}, /* tape-style padding */
      {"gzip", kGzipPy, "\x1f", 1, 0},                                 /* too short to be a member */
      {"gzip", kGzipPy, "\x1f\x8bjunk that is no member", 23, GUISE_E_DECODE_CORRUPT},
      {"gzip", kGzipPy, "\x1f\x8b\x08\x00\x00\x00", 6, GUISE_E_DECODE_CORRUPT}, /* truncated member */
      {"deflate", kZlibPy, "trailing", 8, 0},
      {"deflate", kDeflateRawPy, "trailing", 8, 0},
      {"br", kBrNode, "trailing", 8, 0},
      {"zstd", kZstdCli, "trailing", 8, 0},
      {"zstd", kZstdCli, "\x28\xb5", 2, 0}, /* part of a magic number, then the end */
      {"zstd", kZstdCli, "\x28\xb5\x2f\xfd", 4, GUISE_E_DECODE_CORRUPT}, /* a frame begun */
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    size_t len;
    uint8_t *in = from_hex(cases[k].hex, &len);
    in = realloc(in, len + cases[k].tail_len);
    memcpy(in + len, cases[k].tail, cases[k].tail_len);
    for (int how = WHOLE; how <= RANDOM; how++) {
      run r = decode_with(cases[k].ce, in, len + cases[k].tail_len, NULL, (enum split)how, 5);
      TC_EQ(r.rc, cases[k].want);
      TC_CHECK(same_as_plain(&r) || cases[k].want != 0);
      if (r.rc != cases[k].want) fprintf(stderr, "  trailing case %zu: %s\n", k, r.reason);
      run_free(&r);
    }
    free(in);
  }
}

/* A body cut short inside a member, stream or frame is corrupt, however it
 * was fed; output given before the cut is a prefix of the plain text. */
static void test_decode_truncated(void) {
  for (size_t v = 0; v < N_VECTORS; v++) {
    size_t len;
    uint8_t *in = from_hex(kVectors[v].hex, &len);
    size_t cuts[] = {1, 5, len / 3, len / 2, len - 4, len - 1};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
      for (int how = WHOLE; how <= BYTES; how++) {
        run r = decode_with(kVectors[v].ce, in, cuts[c], NULL, (enum split)how, 1);
        TC_EQ(r.rc, GUISE_E_DECODE_CORRUPT);
        TC_CHECK(r.out.len <= PLAIN_LEN && memcmp(r.out.data ? (void *)r.out.data : (void *)g_plain,
                                                  g_plain, r.out.len) == 0);
        if (r.rc != GUISE_E_DECODE_CORRUPT)
          fprintf(stderr, "  %s cut at %zu: rc %d\n", kVectors[v].name, cuts[c], r.rc);
        run_free(&r);
      }
    }
    free(in);
  }
}

/* Corrupt data: wrong magic, flipped bytes under a checksum, formats and
 * features that HTTP content coding does not allow. */
static void test_decode_corrupt(void) {
  static const uint8_t text[] = "<html>not compressed at all</html>";
  const char *ces[] = {"gzip", "zstd"};
  for (size_t k = 0; k < 2; k++) {
    run r = decode_with(ces[k], text, sizeof(text) - 1, NULL, WHOLE, 0);
    TC_EQ(r.rc, GUISE_E_DECODE_CORRUPT);
    TC_EQ(r.out.len, 0);
    run_free(&r);
  }
  /* Plain text as "deflate": no zlib header, so raw deflate, which fails. */
  run r = decode_with("deflate", text, sizeof(text) - 1, NULL, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_CORRUPT);
  run_free(&r);

  /* One flipped byte in the middle: CRC-32, Adler-32 or XXH64 catches it. */
  const struct {
    const char *ce, *hex;
  } checked[] = {{"gzip", kGzipGnu}, {"deflate", kZlibPy}, {"zstd", kZstdCli}};
  for (size_t k = 0; k < 3; k++) {
    size_t len;
    uint8_t *in = from_hex(checked[k].hex, &len);
    for (size_t at = len / 4; at < len - 8; at += len / 5) {
      in[at] ^= 0x20;
      run f = decode_with(checked[k].ce, in, len, NULL, RANDOM, (uint32_t)at);
      TC_EQ(f.rc, GUISE_E_DECODE_CORRUPT);
      run_free(&f);
      in[at] ^= 0x20;
    }
    free(in);
  }

  /* zlib header with FDICT (78 20): a preset dictionary HTTP cannot name. */
  static const uint8_t fdict[] = {0x78, 0x20, 0, 0, 0, 1, 0x03, 0x00};
  r = decode_with("deflate", fdict, sizeof(fdict), NULL, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_CORRUPT);
  run_free(&r);

  /* A pre-standard zstd frame (v0.7 magic 0xFD2FB527): never handed to the
   * legacy decoders. */
  static const uint8_t legacy[] = {0x27, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x00, 0x00};
  r = decode_with("zstd", legacy, sizeof(legacy), NULL, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_CORRUPT);
  run_free(&r);

  /* A zstd frame naming dictionary 7: one raw block of one byte. */
  static const uint8_t dict[] = {0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x00, 0x07, 0x09, 0x00, 0x00, 'x'};
  r = decode_with("zstd", dict, sizeof(dict), NULL, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_CORRUPT);
  TC_STREQ(r.reason, "zstd: frame needs a dictionary");
  run_free(&r);

  /* Brotli's large-window signature (first byte 0x11, not RFC 7932). */
  static const uint8_t large[] = {0x11, 0x1e, 0x00, 0x00, 0x00};
  r = decode_with("br", large, sizeof(large), NULL, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_CORRUPT);
  run_free(&r);
}

typedef struct bomb {
  const char *name, *ce, *hex;
} bomb;

static const bomb kBombs[] = {
    {"gzip", "gzip", kBombGzip},       {"deflate", "deflate", kBombZlib},
    {"raw deflate", "deflate", kBombRaw}, {"br", "br", kBombBr},
    {"zstd", "zstd", kBombZstd},
};
#define N_BOMBS (sizeof(kBombs) / sizeof(kBombs[0]))

/* 10 MiB of zeros against a 1 MB cap: TOO_LARGE, with exactly the cap given
 * to the callback, whole or byte at a time. */
static void test_decode_bomb_size_cap(void) {
  decode_limits lim;
  decode_limits_init(&lim);
  lim.max_output = 1000000;
  lim.max_ratio = 0;
  for (size_t b = 0; b < N_BOMBS; b++) {
    size_t len;
    uint8_t *in = from_hex(kBombs[b].hex, &len);
    for (int how = WHOLE; how <= BYTES; how++) {
      run r = decode_with(kBombs[b].ce, in, len, &lim, (enum split)how, 3);
      TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
      TC_EQ(r.out.len, lim.max_output); /* exactly up to the cap, then the error */
      TC_CHECK(r.st.mem_peak <= r.st.mem_limit);
      run_free(&r);
    }
    free(in);
  }
  /* A stacked bomb: the gzip bomb wrapped in zstd (library encoder),
   * decoded as "gzip, zstd": the inner stage stops at the cap. */
  size_t glen;
  uint8_t *g = from_hex(kBombGzip, &glen);
  size_t zcap = ZSTD_compressBound(glen), zlen;
  uint8_t *z = malloc(zcap);
  zlen = ZSTD_compress(z, zcap, g, glen, 3);
  TC_CHECK(!ZSTD_isError(zlen));
  for (int how = WHOLE; how <= BYTES; how++) {
    run r = decode_with("gzip, zstd", z, zlen, &lim, (enum split)how, 3);
    TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
    TC_EQ(r.out.len, lim.max_output);
    run_free(&r);
  }
  free(z);
  free(g);
}

/* The same bombs against the ratio cap: output stops at max(grace, ratio x
 * bytes received). */
static void test_decode_bomb_ratio_cap(void) {
  decode_limits lim;
  decode_limits_init(&lim);
  lim.max_output = (uint64_t)1 << 30;
  lim.max_ratio = 100;
  lim.ratio_grace = 1 << 20;
  for (size_t b = 0; b < N_BOMBS; b++) {
    size_t len;
    uint8_t *in = from_hex(kBombs[b].hex, &len);
    run r = decode_with(kBombs[b].ce, in, len, &lim, WHOLE, 0);
    uint64_t bound = (uint64_t)len * lim.max_ratio;
    if (bound < lim.ratio_grace) bound = lim.ratio_grace;
    TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
    TC_EQ(r.out.len, bound); /* whole input pushed: the bound is final */
    TC_STREQ(r.reason, "decoded body over max_ratio times its input");
    run_free(&r);
    /* Byte at a time the bound grows with every byte: still caught. */
    r = decode_with(kBombs[b].ce, in, len, &lim, BYTES, 0);
    TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
    TC_CHECK(r.out.len <= bound);
    run_free(&r);
    /* With the defaults (128 MiB, 1000:1) br and zstd bombs are caught at
     * the grace; the deflate family's 1027:1 only just before the end. */
    r = decode_with(kBombs[b].ce, in, len, NULL, WHOLE, 0);
    TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
    run_free(&r);
    free(in);
  }
}

/* A cap of exactly the decoded size passes; one byte less fails, for every
 * vector, stacked ones included, and nothing past it reaches the callback. */
static void test_decode_exact_cap(void) {
  for (size_t v = 0; v < N_VECTORS; v++) {
    size_t len;
    uint8_t *in = from_hex(kVectors[v].hex, &len);
    decode_limits lim;
    decode_limits_init(&lim);
    lim.max_output = PLAIN_LEN;
    run r = decode_with(kVectors[v].ce, in, len, &lim, RANDOM, 11);
    TC_EQ(r.rc, 0);
    TC_CHECK(same_as_plain(&r));
    run_free(&r);
    lim.max_output = PLAIN_LEN - 1;
    r = decode_with(kVectors[v].ce, in, len, &lim, RANDOM, 11);
    TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
    TC_EQ(r.out.len, PLAIN_LEN - 1);
    TC_CHECK(memcmp(r.out.data, g_plain, PLAIN_LEN - 1) == 0);
    run_free(&r);
    free(in);
  }
}

/* A zstd frame header claiming a window over 8 MiB is refused before the
 * window is allocated: the peak stays the context's size. */
static void test_decode_zstd_window_refused(void) {
  /* Window_Descriptor (RFC 8878 §3.1.1.1.2): exponent 21 (2 GiB), then
   * exponent 13 mantissa 1 (9 MiB), each followed by a raw last block. */
  static const uint8_t huge[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x09, 0x00, 0x00, 'x'};
  static const uint8_t nine[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x69, 0x09, 0x00, 0x00, 'x'};
  const uint8_t *frames[] = {huge, nine};
  for (size_t k = 0; k < 2; k++) {
    run r = decode_with("zstd", frames[k], sizeof(huge), NULL, WHOLE, 0);
    TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
    TC_STREQ(r.reason, "zstd: frame window over 8 MiB");
    TC_CHECK(r.st.mem_peak < ((size_t)1 << 20));
    TC_EQ(r.st.refused, 0);
    run_free(&r);
  }
  /* The zstd bomb's own frame has an 8 MiB window: allowed, and decoded in
   * full under a larger cap within DECODE_BUDGET_ZSTD. */
  size_t len;
  uint8_t *in = from_hex(kBombZstd, &len);
  ZSTD_frameHeader fh;
  TC_EQ(ZSTD_getFrameHeader(&fh, in, len), 0);
  TC_EQ(fh.windowSize, (uint64_t)8 << 20);
  free(in);
}

/* Peak memory of each coding on its largest legal window, measured through
 * the allocator hooks, stays under its DECODE_BUDGET_*. */
static void test_decode_memory_bounded(void) {
  decode_limits lim;
  decode_limits_init(&lim);
  lim.max_output = (uint64_t)64 << 20;
  lim.max_ratio = 0;
  for (size_t b = 0; b < N_BOMBS; b++) {
    size_t len;
    uint8_t *in = from_hex(kBombs[b].hex, &len);
    run r = decode_with(kBombs[b].ce, in, len, &lim, RANDOM, 17);
    r.out.keep = 0;
    TC_EQ(r.rc, 0);
    TC_EQ(r.out.len, BOMB_LEN);
    TC_CHECK(r.st.mem_peak <= r.st.mem_limit);
    TC_CHECK(r.st.mem_now <= r.st.mem_peak);
    printf("  %-12s 10 MiB of zeros: peak %zu bytes in %llu allocations (budget %zu)\n",
           kBombs[b].name, r.st.mem_peak, (unsigned long long)r.st.allocations, r.st.mem_limit);
    run_free(&r);
    free(in);
  }

  /* 20 MiB of incompressible bytes at the largest windows: brotli lgwin 24
   * (16 MiB), zstd windowLog 23 (8 MiB). Library encoders, see the top. */
  size_t big = (size_t)20 << 20;
  uint8_t *raw = malloc(big);
  uint32_t x = 777;
  for (size_t i = 0; i < big; i++) {
    x = x * 1103515245u + 12345u;
    raw[i] = (uint8_t)(x >> 23);
  }
  size_t blen = BrotliEncoderMaxCompressedSize(big);
  uint8_t *bz = malloc(blen);
  TC_CHECK(BrotliEncoderCompress(1, 24, BROTLI_MODE_GENERIC, big, raw, &blen, bz));
  run r = decode_with("br", bz, blen, &lim, WHOLE, 0);
  TC_EQ(r.rc, 0);
  TC_CHECK(r.out.len == big && memcmp(r.out.data, raw, big) == 0);
  TC_CHECK(r.st.mem_peak <= DECODE_BUDGET_BROTLI);
  printf("  br lgwin 24, 20 MiB incompressible: peak %zu bytes (budget %zu)\n", r.st.mem_peak,
         (size_t)DECODE_BUDGET_BROTLI);
  run_free(&r);
  free(bz);

  ZSTD_CCtx *cc = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 23);
  size_t zcap = ZSTD_compressBound(big);
  uint8_t *zz = malloc(zcap);
  size_t zlen = ZSTD_compress2(cc, zz, zcap, raw, big);
  TC_CHECK(!ZSTD_isError(zlen));
  ZSTD_freeCCtx(cc);
  r = decode_with("zstd", zz, zlen, &lim, RANDOM, 23);
  TC_EQ(r.rc, 0);
  TC_CHECK(r.out.len == big && memcmp(r.out.data, raw, big) == 0);
  TC_CHECK(r.st.mem_peak <= DECODE_BUDGET_ZSTD);
  printf("  zstd window 8 MiB, 20 MiB incompressible: peak %zu bytes (budget %zu)\n", r.st.mem_peak,
         (size_t)DECODE_BUDGET_ZSTD);
  run_free(&r);
  free(zz);
  free(raw);
}

/* A smaller budget is enforced: the library's request is refused before
 * malloc, and the error is TOO_LARGE. */
/* Decoders sharing a budget (a client's): together they stay under it; the one
 * that would cross it fails as too large, naming the shared budget; memory
 * given back is usable again. */
static void test_decode_shared_budget(void) {
  decode_shared sh = {0, (size_t)12 << 20, 0};
  decode_limits lim;
  decode_limits_init(&lim);
  lim.shared = &sh;
  size_t len;
  uint8_t *in = from_hex(kBombZstd, &len);
  decode *a = NULL, *b = NULL;
  collector ca = {0}, cb = {0};
  TC_EQ(decode_new(&a, "zstd", 4, &lim, collect, &ca, NULL), 0);
  TC_EQ(decode_new(&b, "zstd", 4, &lim, collect, &cb, NULL), 0);
  /* the first takes its 8 MiB window; the second's would cross 12 MiB */
  int ra = decode_push(a, in, len / 2);
  TC_CHECK(ra == 0 || ra == GUISE_E_DECODE_TOO_LARGE);
  TC_CHECK(sh.used > (size_t)8 << 20);
  TC_EQ(decode_push(b, in, len / 2), GUISE_E_DECODE_TOO_LARGE);
  TC_CHECK(strstr(decode_reason(b), "shared") != NULL);
  TC_CHECK(sh.refused > 0 && sh.used <= sh.limit);
  decode_free(a);
  decode_free(b);
  TC_EQ(sh.used, 0);
  /* with the first gone, a new decoder gets the room */
  decode *c2 = NULL;
  collector cc = {0};
  TC_EQ(decode_new(&c2, "zstd", 4, &lim, collect, &cc, NULL), 0);
  int rc = decode_push(c2, in, len / 2);
  TC_CHECK(rc == 0 || (rc == GUISE_E_DECODE_TOO_LARGE && strstr(decode_reason(c2), "shared") == NULL));
  decode_free(c2);
  TC_EQ(sh.used, 0);
  free(ca.data);
  free(cb.data);
  free(cc.data);
  free(in);
}

static void test_decode_memory_budget_enforced(void) {
  decode_limits lim;
  decode_limits_init(&lim);
  lim.max_ratio = 0;
  lim.max_memory = (size_t)1 << 20; /* 1 MiB: under brotli's 16 MiB ring buffer */
  size_t len;
  uint8_t *in = from_hex(kBombBr, &len);
  run r = decode_with("br", in, len, &lim, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
  TC_STREQ(r.reason, "decoder memory over the budget");
  TC_CHECK(r.st.mem_peak <= lim.max_memory);
  TC_CHECK(r.st.refused >= 1);
  run_free(&r);
  free(in);

  /* inflate's 32 KiB window does not fit beside the buffer. */
  lim.max_memory = DECODE_DEFAULT_CHUNK + 12 * 1024;
  in = from_hex(kGzipGnu, &len);
  r = decode_with("gzip", in, len, &lim, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
  TC_CHECK(r.st.mem_peak <= lim.max_memory);
  run_free(&r);
  free(in);

  /* The zstd context itself does not fit: refused at creation. */
  lim.max_memory = 64 * 1024;
  decode *d = NULL;
  collector c = {0};
  TC_EQ(decode_new(&d, "zstd", 4, &lim, collect, &c, NULL), GUISE_E_DECODE_TOO_LARGE);
  TC_CHECK(d == NULL);

  /* The 8 MiB zstd window under a 4 MiB budget. */
  lim.max_memory = (size_t)4 << 20;
  in = from_hex(kBombZstd, &len);
  r = decode_with("zstd", in, len, &lim, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
  TC_CHECK(r.st.mem_peak <= lim.max_memory);
  run_free(&r);
  free(in);
}

static void test_decode_content_encoding_parse(void) {
  static const struct {
    const char *ce;
    int rc;
    size_t n;
    decode_coding first;
    const char *bad;
  } cases[] = {
      {NULL, 0, 0, DECODE_IDENTITY, NULL},
      {"", 0, 0, DECODE_IDENTITY, NULL},
      {"identity", 0, 0, DECODE_IDENTITY, NULL},
      {"GZip", 0, 1, DECODE_GZIP, NULL},
      {" x-gzip\t", 0, 1, DECODE_GZIP, NULL},
      {", ,gzip,, br ,", 0, 2, DECODE_BR, NULL},
      {"deflate, identity", 0, 1, DECODE_DEFLATE, NULL},
      {"gzip, deflate, zstd", 0, 3, DECODE_ZSTD, NULL},
      {"compress", GUISE_E_DECODE_UNSUPPORTED, 0, 0, "compress"},
      {"gzip, dcb", GUISE_E_DECODE_UNSUPPORTED, 0, 0, "dcb"},
      {"gzip;q=1", GUISE_E_DECODE_UNSUPPORTED, 0, 0, "gzip;q=1"},
      {"gz ip", GUISE_E_DECODE_UNSUPPORTED, 0, 0, "gz ip"},
      {"gzip, gzip, gzip, br", GUISE_E_DECODE_UNSUPPORTED, 0, 0, "br"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    decode *d = NULL;
    collector c = {0};
    decode_span bad = {0};
    const char *ce = cases[k].ce;
    int rc = decode_new(&d, ce, ce ? strlen(ce) : 0, NULL, collect, &c, &bad);
    TC_EQ(rc, cases[k].rc);
    if (rc == 0) {
      decode_coding got[DECODE_MAX_CODINGS];
      TC_EQ(decode_codings(d, got, DECODE_MAX_CODINGS), cases[k].n);
      if (cases[k].n > 0) TC_EQ(got[0], cases[k].first);
    } else if (cases[k].bad != NULL) {
      TC_CHECK(bad.len == strlen(cases[k].bad) && memcmp(bad.ptr, cases[k].bad, bad.len) == 0);
    }
    decode_free(d);
  }
  TC_STREQ(decode_coding_name(DECODE_BR), "br");
}

static void test_decode_accept_encoding(void) {
  static const struct {
    const char *value;
    int rc;
    const char *bad;
  } cases[] = {
      {"gzip, deflate, br, zstd", 0, NULL}, /* Chrome 123+, Firefox 126+ */
      {"gzip, deflate, br", 0, NULL},       /* Safari */
      {"", 0, NULL},
      {"gzip;q=1.0, identity; q=0.5, br;Q=0.999", 0, NULL},
      {"compress;q=0, gzip", 0, NULL},
      {"*;q=0.000, zstd", 0, NULL},
      {"gzip, deflate, br, zstd, dcb, dcz", GUISE_E_DECODE_UNSUPPORTED, "dcb"},
      {"gzip, *", GUISE_E_DECODE_UNSUPPORTED, "*"},
      {"compress;q=0.001", GUISE_E_DECODE_UNSUPPORTED, "compress"},
      {"gzip;q=2", GUISE_E_USAGE_INVALID_ARGUMENT, "gzip;q=2"},
      {"gzip;q=1.001", GUISE_E_USAGE_INVALID_ARGUMENT, "gzip;q=1.001"},
      {"gzip;q=0.5000", GUISE_E_USAGE_INVALID_ARGUMENT, "gzip;q=0.5000"},
      {"gzip;level=9", GUISE_E_USAGE_INVALID_ARGUMENT, "gzip;level=9"},
      {"br, ;q=1", GUISE_E_USAGE_INVALID_ARGUMENT, ";q=1"},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    decode_span out = {0}, bad = {0};
    const char *v = cases[k].value;
    int rc = decode_accept_encoding(v, strlen(v), &out, &bad);
    TC_EQ(rc, cases[k].rc);
    if (rc == 0) {
      TC_CHECK(out.ptr == v && out.len == strlen(v));
    } else {
      TC_CHECK(bad.len == strlen(cases[k].bad) && memcmp(bad.ptr, cases[k].bad, bad.len) == 0);
    }
  }
  decode_span out;
  TC_EQ(decode_accept_encoding(NULL, 1, &out, NULL), GUISE_E_USAGE_INVALID_ARGUMENT);
}

/* identity: the body itself, in chunks, under the cap. */
static void test_decode_identity(void) {
  run r = decode_with("identity", g_plain, PLAIN_LEN, NULL, RANDOM, 4);
  TC_EQ(r.rc, 0);
  TC_CHECK(same_as_plain(&r));
  TC_CHECK(r.out.max_chunk <= DECODE_DEFAULT_CHUNK);
  run_free(&r);
  decode_limits lim;
  decode_limits_init(&lim);
  lim.max_output = 1000;
  r = decode_with(NULL, g_plain, PLAIN_LEN, &lim, WHOLE, 0);
  TC_EQ(r.rc, GUISE_E_DECODE_TOO_LARGE);
  TC_EQ(r.out.len, 1000);
  run_free(&r);
}

/* No byte at all: an empty body, for every coding. */
static void test_decode_empty_body(void) {
  const char *ces[] = {"gzip", "deflate", "br", "zstd", "gzip, br, zstd"};
  for (size_t k = 0; k < 5; k++) {
    decode *d = NULL;
    collector c = {0};
    TC_EQ(decode_new(&d, ces[k], strlen(ces[k]), NULL, collect, &c, NULL), 0);
    TC_EQ(decode_push(d, (const uint8_t *)"", 0), 0);
    TC_EQ(decode_finish(d), 0);
    TC_EQ(c.calls, 0);
    decode_free(d);
  }
}

/* The callback's non-zero return stops the decoder, and sticks. */
static void test_decode_callback_stops(void) {
  size_t len;
  uint8_t *in = from_hex(kZstdCli, &len);
  decode *d = NULL;
  collector c = {0};
  c.cancel_after = 1;
  TC_EQ(decode_new(&d, "zstd", 4, NULL, collect, &c, NULL), 0);
  TC_EQ(decode_push(d, in, len), GUISE_E_CANCELLED);
  TC_EQ(c.calls, 1);
  TC_EQ(decode_push(d, in, len), GUISE_E_CANCELLED);
  TC_EQ(decode_finish(d), GUISE_E_CANCELLED);
  TC_EQ(c.calls, 1);
  decode_free(d);
  free(in);
}

static void test_decode_usage(void) {
  decode *d = NULL;
  collector c = {0};
  decode_limits lim;
  decode_limits_init(&lim);
  lim.chunk_size = 100;
  TC_EQ(decode_new(&d, "gzip", 4, &lim, collect, &c, NULL), GUISE_E_USAGE_INVALID_ARGUMENT);
  lim.chunk_size = DECODE_DEFAULT_CHUNK;
  lim.max_output = 0;
  TC_EQ(decode_new(&d, "gzip", 4, &lim, collect, &c, NULL), GUISE_E_USAGE_INVALID_ARGUMENT);
  TC_EQ(decode_new(&d, "gzip", 4, NULL, NULL, &c, NULL), GUISE_E_USAGE_INVALID_ARGUMENT);
  TC_EQ(decode_new(&d, "gzip", 4, NULL, collect, &c, NULL), 0);
  TC_EQ(decode_push(d, NULL, 3), GUISE_E_USAGE_INVALID_ARGUMENT);
  TC_EQ(decode_finish(d), 0);
  TC_EQ(decode_push(d, (const uint8_t *)"x", 1), GUISE_E_USAGE_INVALID_ARGUMENT);
  TC_EQ(decode_finish(d), 0);
  decode_free(d);
  decode_free(NULL);
  TC_EQ(decode_push(NULL, NULL, 0), GUISE_E_USAGE_INVALID_ARGUMENT);
}

int main(void) {
  TC_EQ(plain_input(g_plain), PLAIN_LEN);
  test_decode_vectors_any_split();
  test_decode_trailing_bytes();
  test_decode_truncated();
  test_decode_corrupt();
  test_decode_bomb_size_cap();
  test_decode_bomb_ratio_cap();
  test_decode_exact_cap();
  test_decode_zstd_window_refused();
  test_decode_memory_bounded();
  test_decode_memory_budget_enforced();
  test_decode_shared_budget();
  test_decode_content_encoding_parse();
  test_decode_accept_encoding();
  test_decode_identity();
  test_decode_empty_body();
  test_decode_callback_stops();
  test_decode_usage();
  return tc_summary("test_decode");
}

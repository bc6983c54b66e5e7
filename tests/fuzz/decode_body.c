/*
 * libFuzzer target: streaming content decoding (client/lib/decode.c) on
 * hostile bodies, every coding and stacks of them, with random splits.
 *
 * Input: 1 byte choosing the Content-Encoding (low 4 bits, table below) and
 * the chunk size (high bits), 1 byte seeding the split, then the body.
 * Contract checked (decode.h, "Splitting"), with the ratio cap off (it is
 * measured against bytes received, so it depends on the split by design):
 *  - whole, in random pieces, and byte at a time when the body is short:
 *    success in one way is success in all, with the same bytes; a failure
 *    is a failure in all, with outputs that agree as far as both go;
 *  - no callback larger than the chunk size, output never over max_output,
 *    memory never over the budget, all of it returned by decode_free;
 *  - only the decoding errors (and NOMEM) come out of a decoder.
 * The ratio cap, the header parsers and the Accept-Encoding checker run on
 * the same bytes without checks beyond the sanitizers.
 */
#include <stdlib.h>
#include <string.h>

#include <guise.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kCodings[16] = {
    "gzip",       "deflate",          "br",           "zstd",
    "identity",   "gzip, br",         "deflate, zstd", "br, gzip, zstd",
    "gzip, gzip", "zstd, deflate",    "x-gzip",       "br, br",
    "zstd, zstd", "deflate, br, gzip", "gzip, zstd",  "br, deflate",
};

/* Small, to keep the fuzzer fast; bombs hit it within a few chunks. */
#define FUZZ_MAX_OUTPUT (1u << 20)

typedef struct sink_state {
  uint8_t *buf;
  size_t len, chunk;
} sink_state;

static int sink(void *arg, const uint8_t *p, size_t n) {
  sink_state *s = arg;
  if (n == 0 || n > s->chunk || s->len + n > FUZZ_MAX_OUTPUT) abort();
  memcpy(s->buf + s->len, p, n);
  s->len += n;
  return 0;
}

static uint32_t g_rng;
static uint32_t rnd(void) {
  g_rng = g_rng * 1664525u + 1013904223u;
  return g_rng >> 8;
}

/* Decodes |body| in pieces: 0 whole, 1 byte at a time, 2 random. */
static int run(const char *ce, const decode_limits *lim, const uint8_t *body, size_t len, int how,
               sink_state *out) {
  decode *d = NULL;
  out->len = 0;
  out->chunk = lim->chunk_size;
  int rc = decode_new(&d, ce, strlen(ce), lim, sink, out, NULL);
  if (rc != 0) abort(); /* every table entry is supported and within limits */
  size_t pos = 0;
  while (pos < len && rc == 0) {
    size_t k = how == 0 ? len - pos : how == 1 ? 1 : 1 + rnd() % 300;
    if (k > len - pos) k = len - pos;
    rc = decode_push(d, body + pos, k);
    pos += k;
  }
  if (rc == 0) rc = decode_finish(d);
  decode_stats st;
  decode_get_stats(d, &st);
  if (st.mem_peak > st.mem_limit || st.out != out->len) abort();
  if (rc != 0 && rc != GUISE_E_DECODE_CORRUPT && rc != GUISE_E_DECODE_TOO_LARGE &&
      rc != GUISE_E_NOMEM)
    abort();
  decode_free(d);
  return rc;
}

/* Two runs of one body split differently agree (see the top). */
static void check_same(int rc1, const sink_state *o1, int rc2, const sink_state *o2) {
  if ((rc1 == 0) != (rc2 == 0)) abort();
  if (rc1 == 0 && o1->len != o2->len) abort();
  size_t n = o1->len < o2->len ? o1->len : o2->len;
  if (memcmp(o1->buf, o2->buf, n) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const char *ce = kCodings[data[0] & 15];
  static const size_t chunks[4] = {DECODE_MIN_CHUNK, 1000, DECODE_DEFAULT_CHUNK, 65536};
  decode_limits lim;
  decode_limits_init(&lim);
  lim.chunk_size = chunks[data[0] >> 6];
  lim.max_output = FUZZ_MAX_OUTPUT;
  lim.max_ratio = 0;
  const uint8_t *body = data + 2;
  size_t len = size - 2;

  sink_state a = {malloc(FUZZ_MAX_OUTPUT), 0, 0}, b = {malloc(FUZZ_MAX_OUTPUT), 0, 0};
  if (a.buf == NULL || b.buf == NULL) abort();
  int rc_whole = run(ce, &lim, body, len, 0, &a);
  g_rng = data[1];
  check_same(rc_whole, &a, run(ce, &lim, body, len, 2, &b), &b);
  if (len <= 512) check_same(rc_whole, &a, run(ce, &lim, body, len, 1, &b), &b);

  /* The ratio cap with a small grace: exercised, not compared. */
  lim.max_ratio = 50;
  lim.ratio_grace = 4096;
  run(ce, &lim, body, len, 2, &b);
  free(a.buf);
  free(b.buf);

  /* The same bytes as header values. */
  decode *d = NULL;
  decode_span sp;
  if (decode_new(&d, (const char *)body, len, NULL, sink, &a, &sp) == GUISE_E_DECODE_UNSUPPORTED &&
      (sp.ptr < (const char *)body || sp.ptr + sp.len > (const char *)body + len))
    abort();
  decode_free(d);
  int rc = decode_accept_encoding((const char *)body, len, &sp, NULL);
  if (rc == 0 && (sp.ptr != (const char *)body || sp.len != len)) abort();
  return 0;
}

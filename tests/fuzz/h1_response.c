/*
 * libFuzzer target: client/lib/h1_response.c — the incremental response
 * parser on hostile bytes, fed whole, one byte at a time, and in splits drawn
 * from the input.
 *
 * Input: 1 byte of flags (bit 0 HEAD request, bit 1 CONNECT request, bit 2
 * end with EOF), 2 bytes seeding the split points, then the response bytes.
 * Contract checked: every body span lies inside the bytes just given; no call
 * consumes more than it was given; NEED_MORE consumes everything; every
 * split ends a complete response at the same byte and gives the same digest
 * of events: status, version, reason, fields,
 * body, trailers, keep-alive, framing, final result and error offset.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "h1_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FNV-1a over everything the parser reported. */
typedef struct digest {
  uint64_t h;
  uint64_t consumed;
  int result;
} digest;

static void mix(digest *d, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) d->h = (d->h ^ b[i]) * 1099511628211ull;
}

static void mix_int(digest *d, long v) {
  mix(d, &v, sizeof(v));
}

static void mix_fields(digest *d, const h1_response *p, int trailers) {
  size_t n = trailers ? h1_response_trailer_count(p) : h1_response_header_count(p);
  mix_int(d, (long)n);
  for (size_t i = 0; i < n; i++) {
    h1_header h = trailers ? h1_response_trailer(p, i) : h1_response_header(p, i);
    mix(d, h.name.p, h.name.len);
    mix_int(d, (long)h.name.len);
    mix(d, h.value.p, h.value.len);
    mix_int(d, (long)h.value.len);
  }
}

/* mode 0: whole; 1: byte at a time; 2: sizes from |seed|. */
static digest run(const uint8_t *in, size_t n, unsigned flags, int eof, int mode, uint32_t seed) {
  digest d = {1469598103934665603ull, 0, 0};
  h1_response p;
  h1_response_init(&p, flags);
  size_t i = 0;
  int rc = H1R_NEED_MORE;
  for (;;) {
    size_t chunk = n - i;
    if (mode == 1 && chunk > 1) chunk = 1;
    if (mode == 2 && chunk > 1) {
      seed = seed * 1103515245u + 12345u;
      chunk = 1 + (seed >> 8) % (chunk < 64 ? chunk : 64);
    }
    size_t left = chunk;
    for (;;) {
      size_t used = 0;
      h1_span b;
      rc = h1_response_feed(&p, in + i, left, &used, &b);
      if (used > left) abort();
      i += used;
      left -= used;
      if (rc == H1R_HEAD) {
        h1_span r = h1_response_reason(&p);
        mix_int(&d, 1000 + h1_response_status(&p));
        mix_int(&d, h1_response_version(&p));
        mix(&d, r.p, r.len);
        mix_fields(&d, &p, 0);
        continue;
      }
      if (rc == H1R_BODY) {
        if (b.len == 0 || b.len > used || b.p < in || b.p + b.len > in + i) abort();
        mix(&d, b.p, b.len);
        continue;
      }
      break;
    }
    if (rc == H1R_NEED_MORE && left != 0) abort();
    if (rc == H1R_NEED_MORE && i < n) continue;
    break;
  }
  if (rc == H1R_NEED_MORE && eof) rc = h1_response_eof(&p);
  if (rc == H1R_DONE) {
    mix_fields(&d, &p, 1);
    mix_int(&d, h1_response_keep_alive(&p));
    mix_int(&d, h1_response_framing(&p));
  } else if (rc < 0) {
    uint64_t at = 0;
    if (h1_response_error(&p, &at) == NULL) abort();
    mix_int(&d, (long)at);
  }
  d.result = rc;
  d.consumed = i;
  h1_response_free(&p);
  return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  CBS cbs;
  uint8_t flags;
  uint16_t seed;
  CBS_init(&cbs, data, size);
  if (!CBS_get_u8(&cbs, &flags) || !CBS_get_u16(&cbs, &seed)) return 0;
  const uint8_t *in = CBS_data(&cbs);
  size_t n = CBS_len(&cbs);
  unsigned req = flags & 3u;
  int eof = (flags >> 2) & 1;
  digest whole = run(in, n, req, eof, 0, 0);
  digest bytes = run(in, n, req, eof, 1, 0);
  digest split = run(in, n, req, eof, 2, seed);
  if (whole.h != bytes.h || whole.result != bytes.result) abort();
  if (whole.h != split.h || whole.result != split.result) abort();
  /* Where a complete response ends does not depend on the split either (after
   * an error the consumed count means nothing: the connection is dropped). */
  if (whole.result >= 0 && (whole.consumed != bytes.consumed || whole.consumed != split.consumed))
    abort();
  return 0;
}

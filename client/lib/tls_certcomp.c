/*
 * tls_certcomp.c — certificate compression (RFC 8879) for BoringSSL contexts:
 * real decoders for zlib (1), brotli (2) and zstd (3), registered in profile
 * order. See tls_certcomp.h.
 *
 * Size cap (GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED, 128 KiB) — why this value:
 *  - RFC 8879 §4 bounds uncompressed_length only by its uint24 field (< 2^24,
 *    16 MiB) and gives it so that the receiver can "pre-allocate the buffer
 *    ... and enforce limits on the message size before performing
 *    decompression"; §5 requires output beyond the declared length to abort.
 *  - Chrome: BoringSSL refuses uncompressed_length > SSL_get_max_cert_list()
 *    (default SSL_MAX_CERT_LIST_DEFAULT, 100 KiB) before calling any decoder
 *    (ssl/tls13_both.cc, tls13_process_certificate), and Chromium's
 *    net/ssl/cert_compression.cc then allocates exactly uncompressed_len and
 *    decodes into it. guise links the same check, so with the default
 *    max_cert_list its effective limit is Chrome's: a server probing sizes
 *    cannot tell the two apart.
 *  - This cap is a second bound inside the decoder, independent of a caller
 *    raising max_cert_list (BoringSSL allows up to 2^24 - 1). It sits above
 *    the 100 KiB default so that it never changes a default client, and far
 *    above real chains (leaf + two intermediates: 3-6 KiB; even ML-DSA-87
 *    post-quantum chains stay near 30 KiB), while bounding what one handshake
 *    can make guise allocate when thousands run at once.
 * No ratio cap: the output allocation is already bounded by the cap, and a
 * browser accepts any ratio, so a ratio rule would only be a way to tell
 * guise from a browser.
 *
 * Every decoder writes into the caller's buffer of exactly uncompressed_len
 * bytes and stops there, so a "bomb" fails without growing anything; each
 * also bounds its own working memory (see the brotli and zstd notes below).
 */
#define ZLIB_CONST /* zlib's next_in becomes const: no casts over |in| */
#include "tls_certcomp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/pool.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

static int fail(const char **reason, const char *why) {
  if (reason != NULL) *reason = why;
  return -1;
}

/* ---- zlib (RFC 8879 §3: "zlib", the RFC 1950 format, Adler-32 trailer) ---- */

static int decompress_zlib(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                           const char **reason) {
  /* uInt is 32 bits; the CompressedCertificate's u24 prefix keeps real input
   * far below, the check covers direct callers (the fuzz target). */
  if (in_len > UINT_MAX) return fail(reason, "zlib: input too long");
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  /* inflateInit, not inflateInit2 with other window bits: only the RFC 1950
   * wrapper is accepted (no raw deflate, no gzip), any window up to 32 KiB. */
  if (inflateInit(&zs) != Z_OK) return fail(reason, "zlib: out of memory");
  zs.next_in = in;
  zs.avail_in = (uInt)in_len;
  zs.next_out = out;
  zs.avail_out = (uInt)out_len;
  /* One call with Z_FINISH: inflate decodes straight into |out| (no window
   * is allocated when it completes) and stops when |out| is full. */
  int rc = inflate(&zs, Z_FINISH);
  int ret = 0;
  if (rc == Z_STREAM_END) {
    if (zs.avail_out != 0) ret = fail(reason, "zlib: output shorter than uncompressed_length");
    else if (zs.avail_in != 0) ret = fail(reason, "zlib: trailing bytes after the stream");
  } else if (rc == Z_NEED_DICT) {
    /* RFC 8879 defines no dictionary for zlib: a preset one cannot be known. */
    ret = fail(reason, "zlib: stream needs a preset dictionary");
  } else if (rc == Z_MEM_ERROR) {
    ret = fail(reason, "zlib: out of memory");
  } else if (rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
    ret = fail(reason, "zlib: corrupt stream");
  } else if (zs.avail_out == 0) {
    ret = fail(reason, "zlib: output exceeds uncompressed_length");
  } else {
    ret = fail(reason, "zlib: truncated stream");
  }
  inflateEnd(&zs);
  return ret;
}

static int compress_zlib(CBB *out, const uint8_t *in, size_t in_len, const char **reason) {
  uLong bound = compressBound((uLong)in_len);
  uint8_t *dst;
  if (!CBB_reserve(out, &dst, bound)) return fail(reason, "zlib: out of memory");
  uLongf n = bound;
  if (compress2(dst, &n, in, (uLong)in_len, Z_DEFAULT_COMPRESSION) != Z_OK)
    return fail(reason, "zlib: compression failed");
  return CBB_did_write(out, n) ? 0 : fail(reason, "zlib: out of memory");
}

/* ---- brotli (RFC 7932) ---- */

/*
 * The brotli decoder keeps a ring buffer sized from the stream's window
 * (up to 16 MiB) and the current meta-block's declared length, so ten bytes
 * claiming a 16 MiB meta-block make it allocate 16 MiB before the first byte
 * of output. Its allocations therefore go through a budget: the "canny" ring
 * buffer of an honest stream is the next power of two of its output (at most
 * 2 x out_len, 1.5x that while it grows) plus 542 bytes of slack, and the
 * Huffman tables of one meta-block are at most 256 trees in each of the
 * literal, command and distance groups (630, 1080 and 920 four-byte entries
 * per tree: under 3 MiB with the context maps). So out_len x 3 + 4 MiB
 * refuses no valid stream whose output fits, and stops the ring-buffer claims
 * (up to 16 MiB) that the declared length does not justify.
 */
#define BROTLI_TABLES_BUDGET ((size_t)4 << 20)

typedef struct mem_budget {
  size_t used, limit;
} mem_budget;

/* Each block carries its size in front, kept at the strictest alignment. */
typedef union block_header {
  max_align_t align;
  size_t size;
} block_header;

static void *budget_alloc(void *opaque, size_t size) {
  mem_budget *b = opaque;
  if (size > b->limit - b->used || size > SIZE_MAX - sizeof(block_header)) return NULL;
  block_header *h = malloc(sizeof(block_header) + size);
  if (h == NULL) return NULL;
  h->size = size;
  b->used += size;
  return h + 1;
}

static void budget_free(void *opaque, void *ptr) {
  if (ptr == NULL) return;
  mem_budget *b = opaque;
  block_header *h = (block_header *)ptr - 1;
  b->used -= h->size;
  free(h);
}

static int decompress_brotli(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                             const char **reason) {
  mem_budget budget = {0, out_len * 3 + BROTLI_TABLES_BUDGET};
  BrotliDecoderState *st = BrotliDecoderCreateInstance(budget_alloc, budget_free, &budget);
  if (st == NULL) return fail(reason, "brotli: out of memory");
  size_t avail_in = in_len, avail_out = out_len;
  const uint8_t *next_in = in;
  uint8_t *next_out = out;
  /* All input at once, output bounded by |out|: the decoder returns
   * NEEDS_MORE_OUTPUT instead of writing past it. */
  BrotliDecoderResult r =
      BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, NULL);
  int ret = 0;
  if (r == BROTLI_DECODER_RESULT_SUCCESS) {
    if (avail_out != 0) ret = fail(reason, "brotli: output shorter than uncompressed_length");
    else if (avail_in != 0) ret = fail(reason, "brotli: trailing bytes after the stream");
  } else if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
    ret = fail(reason, "brotli: output exceeds uncompressed_length");
  } else if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
    ret = fail(reason, "brotli: truncated stream");
  } else {
    switch (BrotliDecoderGetErrorCode(st)) {
    case BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES:
    case BROTLI_DECODER_ERROR_ALLOC_TREE_GROUPS:
    case BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MAP:
    case BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_1:
    case BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_2:
    case BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES:
      ret = fail(reason, "brotli: decoder memory over the bound the declared length allows");
      break;
    default:
      ret = fail(reason, "brotli: corrupt stream");
      break;
    }
  }
  BrotliDecoderDestroyInstance(st);
  return ret;
}

static int compress_brotli(CBB *out, const uint8_t *in, size_t in_len, const char **reason) {
  size_t bound = BrotliEncoderMaxCompressedSize(in_len);
  uint8_t *dst;
  if (bound == 0 || !CBB_reserve(out, &dst, bound)) return fail(reason, "brotli: out of memory");
  size_t n = bound;
  /* Quality 9, 4 MiB window: BoringSSL compresses on every handshake (no
   * cache), so the echo server avoids quality 11's cost. */
  if (!BrotliEncoderCompress(9, 22, BROTLI_MODE_GENERIC, in_len, in, &n, dst))
    return fail(reason, "brotli: compression failed");
  return CBB_did_write(out, n) ? 0 : fail(reason, "brotli: out of memory");
}

/* ---- zstd (RFC 8879 §3 cites RFC 8478, now RFC 8878) ---- */

/*
 * Checks that |in| is a sequence of whole RFC 8878 frames (Zstandard or
 * skippable), so that libzstd's pre-standard "legacy" decoders, which a
 * distribution build may include, never see peer bytes.
 */
static int zstd_frames_ok(const uint8_t *in, size_t in_len, const char **reason) {
  CBS cbs;
  CBS_init(&cbs, in, in_len);
  while (CBS_len(&cbs) > 0) {
    CBS peek = cbs;
    uint32_t magic;
    if (!CBS_get_u32le(&peek, &magic)) return fail(reason, "zstd: trailing bytes after the stream");
    if (magic != ZSTD_MAGICNUMBER &&
        (magic & ZSTD_MAGIC_SKIPPABLE_MASK) != ZSTD_MAGIC_SKIPPABLE_START)
      return fail(reason, "zstd: not a Zstandard frame");
    size_t n = ZSTD_findFrameCompressedSize(CBS_data(&cbs), CBS_len(&cbs));
    if (ZSTD_isError(n) || n == 0 || !CBS_skip(&cbs, n))
      return fail(reason, "zstd: corrupt or truncated frame");
  }
  return 0;
}

static int decompress_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                           const char **reason) {
  if (zstd_frames_ok(in, in_len, reason) != 0) return -1;
  ZSTD_DCtx *d = ZSTD_createDCtx();
  if (d == NULL) return fail(reason, "zstd: out of memory");
  /* The one-shot decoder, on purpose: it uses |out| itself as the history,
   * so it allocates no window, while the streaming one allocates the window
   * the frame header claims (up to 128 MiB by default). It fails with
   * dstSize_tooSmall rather than write past |out|. */
  size_t n = ZSTD_decompressDCtx(d, out, out_len, in, in_len);
  ZSTD_freeDCtx(d);
  if (ZSTD_isError(n)) {
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
      return fail(reason, "zstd: output exceeds uncompressed_length");
    if (ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation)
      return fail(reason, "zstd: out of memory");
    return fail(reason, "zstd: corrupt stream");
  }
  if (n != out_len) return fail(reason, "zstd: output shorter than uncompressed_length");
  return 0;
}

static int compress_zstd(CBB *out, const uint8_t *in, size_t in_len, const char **reason) {
  size_t bound = ZSTD_compressBound(in_len);
  uint8_t *dst;
  if (ZSTD_isError(bound) || !CBB_reserve(out, &dst, bound))
    return fail(reason, "zstd: out of memory");
  size_t n = ZSTD_compress(dst, bound, in, in_len, 9);
  if (ZSTD_isError(n)) return fail(reason, "zstd: compression failed");
  return CBB_did_write(out, n) ? 0 : fail(reason, "zstd: out of memory");
}

/* ---- BoringSSL callbacks (ssl.h: ssl_cert_[de]compression_func_t) ---- */

/* BoringSSL passes no algorithm id to its callbacks: one pair per id. */
static int ssl_decompress(uint16_t alg, CRYPTO_BUFFER **out, size_t len, const uint8_t *in,
                          size_t in_len) {
  const char *why = NULL;
  uint8_t *data = NULL;
  CRYPTO_BUFFER *buf = NULL;
  /* Checked before allocating: BoringSSL has already applied max_cert_list,
   * this is the fixed bound a raised max_cert_list cannot lift. */
  if (len == 0 || len > GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED)
    why = len == 0 ? "uncompressed_length is zero" : "uncompressed_length over guise's cap";
  else if ((buf = CRYPTO_BUFFER_alloc(&data, len)) == NULL)
    why = "out of memory";
  else if (guise_tls_certcomp_decompress(alg, in, in_len, data, len, &why) == 0) {
    *out = buf;
    return 1;
  }
  CRYPTO_BUFFER_free(buf);
  /* Our reason goes first on the queue; BoringSSL then adds its own
   * CERT_DECOMPRESSION_FAILED with "alg=N" and sends the alert. */
  OPENSSL_PUT_ERROR(SSL, SSL_R_CERT_DECOMPRESSION_FAILED);
  ERR_add_error_data(1, why);
  return 0;
}

static int ssl_compress(uint16_t alg, SSL *ssl, CBB *out, const uint8_t *in, size_t in_len) {
  const char *why = NULL;
  if (guise_tls_certcomp_compress(alg, out, in, in_len, &why) == 0) return 1;
  OPENSSL_PUT_ERROR(SSL, ERR_R_INTERNAL_ERROR);
  ERR_add_error_data(1, why);
  return 0;
}

static int decompress_1(SSL *ssl, CRYPTO_BUFFER **out, size_t len, const uint8_t *in, size_t n) {
  return ssl_decompress(GUISE_TLS_CERTCOMP_ZLIB, out, len, in, n);
}
static int decompress_2(SSL *ssl, CRYPTO_BUFFER **out, size_t len, const uint8_t *in, size_t n) {
  return ssl_decompress(GUISE_TLS_CERTCOMP_BROTLI, out, len, in, n);
}
static int decompress_3(SSL *ssl, CRYPTO_BUFFER **out, size_t len, const uint8_t *in, size_t n) {
  return ssl_decompress(GUISE_TLS_CERTCOMP_ZSTD, out, len, in, n);
}
static int compress_1(SSL *ssl, CBB *out, const uint8_t *in, size_t n) {
  return ssl_compress(GUISE_TLS_CERTCOMP_ZLIB, ssl, out, in, n);
}
static int compress_2(SSL *ssl, CBB *out, const uint8_t *in, size_t n) {
  return ssl_compress(GUISE_TLS_CERTCOMP_BROTLI, ssl, out, in, n);
}
static int compress_3(SSL *ssl, CBB *out, const uint8_t *in, size_t n) {
  return ssl_compress(GUISE_TLS_CERTCOMP_ZSTD, ssl, out, in, n);
}

typedef struct certcomp_alg {
  uint16_t id;
  const char *name;
  ssl_cert_compression_func_t compress;
  ssl_cert_decompression_func_t decompress;
} certcomp_alg;

static const certcomp_alg kAlgs[] = {
    {GUISE_TLS_CERTCOMP_ZLIB, "zlib", compress_1, decompress_1},
    {GUISE_TLS_CERTCOMP_BROTLI, "brotli", compress_2, decompress_2},
    {GUISE_TLS_CERTCOMP_ZSTD, "zstd", compress_3, decompress_3},
};

static const certcomp_alg *find_alg(uint16_t id) {
  for (size_t i = 0; i < sizeof(kAlgs) / sizeof(kAlgs[0]); i++)
    if (kAlgs[i].id == id) return &kAlgs[i];
  return NULL;
}

/* ---- API ---- */

const char *guise_tls_certcomp_name(uint16_t alg) {
  const certcomp_alg *a = find_alg(alg);
  return a ? a->name : NULL;
}

int guise_tls_certcomp_decompress(uint16_t alg, const uint8_t *in, size_t in_len, uint8_t *out,
                                  size_t out_len, const char **reason) {
  if (out_len == 0) return fail(reason, "uncompressed_length is zero");
  if (out_len > GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED)
    return fail(reason, "uncompressed_length over guise's cap");
  switch (alg) {
  case GUISE_TLS_CERTCOMP_ZLIB: return decompress_zlib(in, in_len, out, out_len, reason);
  case GUISE_TLS_CERTCOMP_BROTLI: return decompress_brotli(in, in_len, out, out_len, reason);
  case GUISE_TLS_CERTCOMP_ZSTD: return decompress_zstd(in, in_len, out, out_len, reason);
  default: return fail(reason, "unknown certificate compression algorithm");
  }
}

int guise_tls_certcomp_compress(uint16_t alg, CBB *out, const uint8_t *in, size_t in_len,
                                const char **reason) {
  switch (alg) {
  case GUISE_TLS_CERTCOMP_ZLIB: return compress_zlib(out, in, in_len, reason);
  case GUISE_TLS_CERTCOMP_BROTLI: return compress_brotli(out, in, in_len, reason);
  case GUISE_TLS_CERTCOMP_ZSTD: return compress_zstd(out, in, in_len, reason);
  default: return fail(reason, "unknown certificate compression algorithm");
  }
}

int guise_tls_certcomp_register(SSL_CTX *ctx, const uint16_t *algs, size_t n, unsigned flags,
                                const char **reason) {
  const unsigned all = GUISE_TLS_CERTCOMP_DECOMPRESS | GUISE_TLS_CERTCOMP_COMPRESS;
  if (ctx == NULL) return fail(reason, "no SSL_CTX");
  if (algs == NULL && n > 0) return fail(reason, "no algorithm list");
  if (flags == 0 || (flags & ~all) != 0) return fail(reason, "bad direction flags");
  /* The whole list first, so that a bad profile leaves |ctx| untouched. RFC
   * 8879 §3 forbids nothing about duplicates on the client side, but
   * BoringSSL's server rejects a hello that lists an id twice
   * (extensions.cc, cert_compression_parse_clienthello), and no browser does. */
  for (size_t i = 0; i < n; i++) {
    if (find_alg(algs[i]) == NULL)
      return fail(reason,
                  "unknown certificate compression algorithm (known: 1 zlib, 2 brotli, 3 zstd)");
    for (size_t j = 0; j < i; j++)
      if (algs[j] == algs[i]) return fail(reason, "certificate compression algorithm listed twice");
  }
  for (size_t i = 0; i < n; i++) {
    const certcomp_alg *a = find_alg(algs[i]);
    if (!SSL_CTX_add_cert_compression_alg(
            ctx, a->id, (flags & GUISE_TLS_CERTCOMP_COMPRESS) ? a->compress : NULL,
            (flags & GUISE_TLS_CERTCOMP_DECOMPRESS) ? a->decompress : NULL)) {
      ERR_clear_error();
      return fail(reason, "BoringSSL refused the algorithm (already registered on this SSL_CTX?)");
    }
  }
  return 0;
}

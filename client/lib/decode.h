/*
 * decode.h — streaming content decoding of HTTP response bodies (RFC 9110
 * §8.4): gzip, deflate, br, zstd and identity, stacked as a Content-Encoding
 * list names them, with a size cap, an expansion-ratio cap and a memory
 * budget fixed at creation.
 *
 * Internal to libguise (not part of guise.h). I/O-free, in the shape of
 * nghttp2's session: bytes in (decode_push), decoded bytes out through a
 * callback in chunks of at most |chunk_size| bytes, the end of the body
 * announced by decode_finish. Memory stays bounded whatever the input: one
 * output buffer per coding plus each library's state, which is O(window)
 * (32 KiB for deflate, 8 MiB for zstd, 16 MiB for brotli) and goes through
 * a counting allocator with a hard budget.
 *
 * Decisions, and where browsers stand (docs/DECODING.md has the long form):
 *  - gzip: every member of a multi-member body is decoded (RFC 1952 §2.2);
 *    bytes after a member that do not start with the gzip magic (1f 8b) are
 *    ignored, as Chromium ignores anything after the first member
 *    (net/filter/gzip_source_stream.h, STATE_IGNORING_EXTRA_BYTES: "matches
 *    the behavior of other browsers"). CRC-32 and ISIZE are checked.
 *  - deflate: the RFC 1950 zlib wrapper; when the first two bytes are not a
 *    valid zlib header the body is read as raw RFC 1951 deflate, as Chromium
 *    does for servers that send raw deflate. Bytes after the end of the
 *    stream are ignored (Chromium).
 *  - br: one RFC 7932 stream; bytes after it are ignored (Chromium).
 *  - zstd: every frame (RFC 8878 §3: one or more frames; skippable frames
 *    skipped), a window of at most 8 MiB (RFC 8878 §3.1.1.1.2, RFC 9659;
 *    Chromium sets ZSTD_d_windowLogMax 23). Bytes after a complete frame that
 *    do not start with a frame magic number are ignored, as for gzip.
 *  - An empty body (no byte pushed) decodes to nothing for every coding:
 *    servers send Content-Encoding on empty 200s, and browsers accept them.
 *  - A body that ends inside a member, stream or frame is corrupt.
 *  - An unknown coding is GUISE_E_DECODE_UNSUPPORTED. (Chromium passes the
 *    raw body through instead; the caller may do that with the error.)
 */
#ifndef GUISE_DECODE_H
#define GUISE_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* ---- Limits: every value with its reason ---- */

/*
 * Codings in one Content-Encoding list (identity not counted). Real servers
 * send one; two appear with misconfigured proxies ("gzip, gzip"). Each coding
 * costs a window of memory and a pass over the data, so a longer list is
 * refused as unsupported rather than decoded.
 */
#define DECODE_MAX_CODINGS 3

/*
 * Default cap on the decoded body (bytes), at every stage of the chain.
 * Far above real documents (the largest common resources, JavaScript bundles
 * and JSON API answers, decode to tens of MiB) and small enough that a bomb
 * that gets past the ratio cap costs at most about a tenth of a second of
 * inflate time and no memory (output is streamed, never kept).
 */
#define DECODE_DEFAULT_MAX_OUTPUT ((uint64_t)128 << 20)

/*
 * Default cap on decoded bytes per byte received. Honest web content decodes
 * at 3:1 to 20:1, and even whitespace-padded pages stay under a few hundred.
 * Deflate cannot expand more than 1032:1 (a 258-byte match in two bits at
 * best), so gzip and deflate reach 1000 only on a run of one repeated byte;
 * brotli and zstd reach millions to one on such input, and stacked codings
 * multiply — the bombs this cap is for. Measured against the bytes received
 * so far, so where a stream near the line trips depends on how it arrived;
 * the grace below keeps honest bodies far from it.
 */
#define DECODE_DEFAULT_MAX_RATIO 1000u

/*
 * Output allowed before the ratio applies. A small body of one repeated byte
 * (a 200 KiB page of spaces is 20 bytes of brotli) is honest and harmless;
 * below 1 MiB of output nothing is worth refusing.
 */
#define DECODE_DEFAULT_RATIO_GRACE ((uint64_t)1 << 20)

/*
 * Output chunk size: the callback never gets more in one call, and each
 * coding of the chain owns one buffer of this size. 16 KiB is one TLS record
 * and one default HTTP/2 DATA frame, so a push of one network read usually
 * makes one call. Bounds: at least 256 bytes (below that the per-call cost of
 * the libraries dominates), at most 1 MiB (a buffer per coding, and the
 * window is the memory that matters).
 */
#define DECODE_DEFAULT_CHUNK (16u * 1024u)
#define DECODE_MIN_CHUNK 256u
#define DECODE_MAX_CHUNK (1u << 20)

/*
 * zstd window cap, as a log: 8 MiB. RFC 8878 §3.1.1.1.2 recommends that
 * decoders support at least 8 MiB and may refuse more; RFC 9659 makes 8 MiB
 * the limit of the "zstd" content coding; Chromium sets ZSTD_d_windowLogMax
 * to 23 (net/filter/zstd_source_stream.cc) and fails larger frames with
 * ERR_ZSTD_WINDOW_SIZE_TOO_BIG. Without it libzstd would allocate up to
 * 128 MiB on the word of a six-byte frame header.
 */
#define DECODE_ZSTD_WINDOW_LOG_MAX 23

/*
 * Memory budget of one coding's library state (bytes), used when the limits
 * leave |max_memory| at 0 (the output buffers are added to it). Peaks
 * measured through the allocator hooks (tests/unit/decode, libz 1.2.13,
 * libbrotli 1.0.9, libzstd 1.5.4): inflate 39 KiB (7 KiB state + the 32 KiB
 * window); zstd with an 8 MiB window 8.47 MiB (window + a 128 KiB block +
 * the context); brotli with a 16 MiB window 16.02 MiB. Brotli's worst case is
 * higher: its ring buffer grows by reallocation, so the old 8 MiB and the new
 * 16 MiB can live together for the copy, plus up to 3 MiB of Huffman tables
 * for 256 trees in each group. Each budget has headroom over its worst case,
 * so that no valid stream within the window caps is refused.
 */
#define DECODE_BUDGET_DEFLATE ((size_t)64 << 10)
#define DECODE_BUDGET_ZSTD ((size_t)10 << 20)
#define DECODE_BUDGET_BROTLI ((size_t)30 << 20)

/* ---- Types ---- */

typedef enum decode_coding {
  DECODE_IDENTITY = 0,
  DECODE_GZIP,    /* "gzip", "x-gzip" (RFC 9110 §8.4.1.3) */
  DECODE_DEFLATE, /* "deflate" */
  DECODE_BR,      /* "br" */
  DECODE_ZSTD,    /* "zstd" */
} decode_coding;

/* A run of bytes inside a caller's string (not NUL-terminated). */
typedef struct decode_span {
  const char *ptr;
  size_t len;
} decode_span;

/*
 * The limits of one decoder. Fill with decode_limits_init(), then change
 * what differs; fields are only ever added at the end.
 */
/* Memory shared by several decoders (one per loop thread: a client's): their
 * allocations together stay under |limit|. Not thread-safe. */
typedef struct decode_shared {
  size_t used, limit;
  uint64_t refused;
} decode_shared;

typedef struct decode_limits {
  /* Decoded bytes allowed, at each stage of the chain. Default
   * DECODE_DEFAULT_MAX_OUTPUT; must be > 0. */
  uint64_t max_output;
  /* Decoded bytes allowed per byte pushed, once |ratio_grace| bytes have been
   * produced; 0 turns the ratio cap off. Default DECODE_DEFAULT_MAX_RATIO. */
  uint32_t max_ratio;
  uint64_t ratio_grace; /* Default DECODE_DEFAULT_RATIO_GRACE. */
  /* Largest chunk given to the callback, and the size of each coding's
   * output buffer. Default DECODE_DEFAULT_CHUNK, DECODE_MIN_CHUNK to
   * DECODE_MAX_CHUNK. */
  size_t chunk_size;
  /* Bytes the decoder may hold at once: its output buffers and every
   * allocation of zlib, brotli and libzstd. 0 (default): the sum of
   * DECODE_BUDGET_* of the codings plus the buffers. */
  size_t max_memory;
  /* A budget shared with other decoders (NULL: none). A request past it fails
   * the decoder with GUISE_E_DECODE_TOO_LARGE, as its own budget does. */
  decode_shared *shared;
} decode_limits;

/* decode_limits_init sets every field of |l| to its default. */
void decode_limits_init(decode_limits *l);

/*
 * The callback that receives decoded bytes: |len| is 1 to chunk_size bytes
 * at |data|, valid only during the call. Return 0 to go on; any other value
 * (a negative guise code, e.g. GUISE_E_CANCELLED) stops the decoder, and the
 * decode_push or decode_finish that called it returns that value.
 */
typedef int (*decode_sink)(void *arg, const uint8_t *data, size_t len);

/* What a decoder has done so far (decode_get_stats). */
typedef struct decode_stats {
  uint64_t in;          /* bytes pushed */
  uint64_t out;         /* bytes given to the callback */
  size_t mem_now;       /* bytes held now (buffers + library state) */
  size_t mem_peak;      /* the most held at once */
  size_t mem_limit;     /* the budget */
  uint64_t allocations; /* allocation calls, refused ones included */
  uint64_t refused;     /* allocations refused by the budget */
} decode_stats;

typedef struct decode decode;

/* ---- Decoders ---- */

/*
 * decode_new makes a decoder for the Content-Encoding field value |ce|
 * (|ce_len| bytes; NULL or empty: identity). The value is a comma-separated
 * list of codings, case-insensitive, with optional whitespace and empty
 * elements (RFC 9110 §5.6.1); the codings were applied in list order, so
 * they are undone from the last to the first. "identity" elements are
 * skipped. |limits| NULL means the defaults. |sink| is required.
 *
 * Returns 0 and sets |*out|, or:
 *  - GUISE_E_DECODE_UNSUPPORTED: a coding other than the five above
 *    ("compress", "dcb", a token with parameters, a malformed element), or
 *    more than DECODE_MAX_CODINGS codings; |*unsupported| (when not NULL)
 *    then spans the offending element inside |ce|;
 *  - GUISE_E_USAGE_INVALID_ARGUMENT: |out| or |sink| NULL, a limit out of
 *    range;
 *  - GUISE_E_DECODE_TOO_LARGE: |max_memory| cannot hold the buffers and
 *    library contexts;
 *  - GUISE_E_NOMEM.
 * The decoder keeps no pointer into |ce|.
 */
int decode_new(decode **out, const char *ce, size_t ce_len, const decode_limits *limits,
               decode_sink sink, void *arg, decode_span *unsupported);

/*
 * decode_push decodes |len| bytes of body at |in| (len 0 is a no-op), giving
 * every decoded byte it can to the callback before it returns; it keeps
 * nothing of |in| after returning. Returns 0, or:
 *  - GUISE_E_DECODE_CORRUPT: the input is not a valid stream of its coding
 *    (bad header, bad data, checksum mismatch, a zstd frame of the
 *    pre-standard "legacy" formats or needing a dictionary);
 *  - GUISE_E_DECODE_TOO_LARGE: the output would pass |max_output| at some
 *    stage or |max_ratio| overall (nothing beyond the cap reaches the
 *    callback), a zstd frame asks for a window over 8 MiB, or a library
 *    asks for memory over the budget (refused before it is allocated);
 *  - GUISE_E_NOMEM: the system allocator failed;
 *  - GUISE_E_USAGE_INVALID_ARGUMENT: |d| NULL, |in| NULL with len > 0, or
 *    called after decode_finish;
 *  - whatever non-zero value the callback returned.
 * After an error the decoder is dead: every later push or finish returns the
 * same error. Output already given to the callback stays given.
 *
 * Splitting: a body that decodes gives the same bytes, in the same total,
 * however it is split into pushes, and a valid body over max_output gives
 * exactly max_output bytes. A body that fails fails however split, but how
 * much output precedes the error — and so, for a body both corrupt and over
 * a cap, or corrupt in two stages of a stack, which error comes first — can
 * depend on the split: the libraries release decoded bytes at different
 * points (brotli holds a meta-block in its ring buffer). The ratio cap
 * depends on the split by definition (see DECODE_DEFAULT_MAX_RATIO).
 */
int decode_push(decode *d, const uint8_t *in, size_t len);

/*
 * decode_finish says the body is complete. Returns 0 when every coding ended
 * cleanly (or no byte was pushed at all); GUISE_E_DECODE_CORRUPT when the
 * body stopped inside a gzip member, a zlib or brotli stream or a zstd frame
 * (a truncated body); or the error a push already returned. Call it once.
 */
int decode_finish(decode *d);

/* decode_free frees |d| and everything it holds. NULL is a no-op. */
void decode_free(decode *d);

/* A static English sentence about the last error of |d| ("" when none). */
const char *decode_reason(const decode *d);

/* decode_get_stats fills |st| with what |d| has done so far. */
void decode_get_stats(const decode *d, decode_stats *st);

/* The codings of |d| in the order they are undone (the last listed first);
 * returns how many (0 for identity) and writes at most |cap| of them. */
size_t decode_codings(const decode *d, decode_coding *codings, size_t cap);

/* The token of a coding: "identity", "gzip", "deflate", "br", "zstd". */
const char *decode_coding_name(decode_coding c);

/* ---- Accept-Encoding ---- */

/*
 * decode_accept_encoding checks a profile's Accept-Encoding field value
 * (|value|, |len| bytes) against what this module decodes: guise only offers
 * what it can decode, because a server may answer with any coding offered.
 * Elements are codings with optional parameters ("br;q=0.9"); gzip, x-gzip,
 * deflate, br, zstd and identity are supported; an element whose q is 0
 * refuses its coding, so it may name anything. "*" is not supported: it
 * offers every coding, "compress" included.
 *
 * Returns 0 and sets |*out| to the whole value, unchanged (same pointer, same
 * length), or:
 *  - GUISE_E_DECODE_UNSUPPORTED: an element offers a coding guise cannot
 *    decode (Chrome's "dcb" and "dcz" need a shared dictionary; "compress",
 *    "*"); |*unsupported| spans that coding's token inside |value|;
 *  - GUISE_E_USAGE_INVALID_ARGUMENT: |value| NULL with len > 0, |out| NULL,
 *    or the value is not a valid Accept-Encoding (RFC 9110 §12.5.3: a bad
 *    token, parameter or q-value); |*unsupported| then spans the element.
 * |unsupported| may be NULL.
 */
int decode_accept_encoding(const char *value, size_t len, decode_span *out,
                           decode_span *unsupported);

#endif /* GUISE_DECODE_H */

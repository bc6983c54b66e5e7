/*
 * decode.c — streaming HTTP content decoding (RFC 9110 §8.4). See decode.h
 * for the API and the decisions; docs/DECODING.md for the long form.
 *
 * Shape: a chain of at most DECODE_MAX_CODINGS stages, the last listed coding
 * first. Each stage owns one output buffer of chunk_size bytes; what a stage
 * decodes into it is handed at once, synchronously, to the next stage (or to
 * the callback), which consumes all of it before the stage decodes more. So
 * nothing is queued between stages and the memory of a decoder is its
 * buffers plus each library's state, all of it counted by one budget.
 *
 * Before each library call the room given for output is at most one byte
 * more than the caps still allow (out_room), so a bomb is caught on the
 * first byte past a cap, without producing — or allocating for — the rest.
 * The bytes up to the cap are still passed on, so a valid body over a cap
 * yields exactly the cap's worth, however it was split.
 *
 * Boundaries between gzip members and zstd frames are handled here, not by
 * the libraries: the first bytes of each unit are gathered (two for the gzip
 * magic and the zlib header, four for a zstd magic number) and judged before
 * the library sees them. That is what lets trailing garbage be ignored
 * (browsers do) and keeps libzstd's pre-standard "legacy" decoders, which a
 * distribution build may contain, away from server bytes.
 */
#define ZLIB_CONST               /* next_in becomes const: no casts over the input */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem, ZSTD_createDCtx_advanced */
#include "decode.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <guise.h>
#include <openssl/bytestring.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* ---- The memory budget ---- */

/*
 * Every allocation of a decoder — its output buffers, zlib's zalloc,
 * brotli's alloc_func, libzstd's customMem — goes through here. A request
 * over the limit is refused before malloc is asked, and |over| remembers it
 * so that the library error that follows is reported as TOO_LARGE, not as
 * corruption or lack of memory.
 */
typedef struct budget {
  size_t used, peak, limit;
  uint64_t allocations, refused;
  int over;   /* the budget refused a request since the flag was cleared */
  int failed; /* malloc failed since the flag was cleared */
  int shared_over;       /* ... and it was the shared budget */
  decode_shared *shared; /* NULL: none */
} budget;

/* Each block carries its size in front, at the strictest alignment. */
typedef union block_head {
  max_align_t align;
  size_t size;
} block_head;

static void *budget_alloc(budget *b, size_t size) {
  b->allocations++;
  if (size > b->limit - b->used || size > SIZE_MAX - sizeof(block_head)) {
    b->refused++;
    b->over = 1;
    return NULL;
  }
  if (b->shared && size > b->shared->limit - b->shared->used) {
    b->refused++;
    b->shared->refused++;
    b->over = b->shared_over = 1;
    return NULL;
  }
  block_head *h = malloc(sizeof(block_head) + size);
  if (h == NULL) {
    b->failed = 1;
    return NULL;
  }
  h->size = size;
  b->used += size;
  if (b->shared) b->shared->used += size;
  if (b->used > b->peak) b->peak = b->used;
  return h + 1;
}

static void budget_free(budget *b, void *p) {
  if (p == NULL) return;
  block_head *h = (block_head *)p - 1;
  b->used -= h->size;
  if (b->shared) b->shared->used -= h->size;
  free(h);
}

static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size) {
  if (items != 0 && size > SIZE_MAX / items) return Z_NULL;
  return budget_alloc(opaque, (size_t)items * size);
}
static void zlib_free(voidpf opaque, voidpf p) { budget_free(opaque, p); }
static void *brotli_alloc(void *opaque, size_t size) { return budget_alloc(opaque, size); }
static void brotli_free(void *opaque, void *p) { budget_free(opaque, p); }
static void *zstd_alloc(void *opaque, size_t size) { return budget_alloc(opaque, size); }
static void zstd_free(void *opaque, void *p) { budget_free(opaque, p); }

/* ---- The decoder ---- */

/* Where a stage stands in its input. */
typedef enum phase {
  PH_HEAD,     /* gathering the first bytes of a member / stream / frame */
  PH_BODY,     /* inside one: the library has the input */
  PH_TRAILING, /* after the end: every further byte is ignored */
} phase;

typedef struct stage {
  decode_coding coding;
  phase ph;
  int inited;      /* the library state below exists */
  int started;     /* at least one byte came in */
  uint64_t units;  /* gzip members, zlib / brotli streams, zstd frames completed */
  uint64_t out;    /* bytes this stage produced */
  uint8_t head[4]; /* the first bytes of the next unit */
  size_t nhead;
  uint8_t *buf; /* chunk_size bytes of output */
  union {
    z_stream zs;
    BrotliDecoderState *br;
    ZSTD_DCtx *zd;
  } u;
} stage;

struct decode {
  stage st[DECODE_MAX_CODINGS]; /* st[0] gets the body: the last coding listed */
  size_t n;
  decode_limits lim;
  budget mem;
  decode_sink sink;
  void *arg;
  uint64_t in, out;
  int err;      /* sticky: the first error */
  int finished; /* decode_finish was called; its result is |err| */
  const char *reason;
};

void decode_limits_init(decode_limits *l) {
  memset(l, 0, sizeof(*l));
  l->max_output = DECODE_DEFAULT_MAX_OUTPUT;
  l->max_ratio = DECODE_DEFAULT_MAX_RATIO;
  l->ratio_grace = DECODE_DEFAULT_RATIO_GRACE;
  l->chunk_size = DECODE_DEFAULT_CHUNK;
  l->max_memory = 0;
  l->shared = NULL;
}

static int fail(decode *d, int code, const char *why) {
  d->reason = why;
  return code;
}

/* Takes the budget's flags about the library call that just returned (the
 * stages further down clear them for their own calls). */
static int mem_flags(decode *d) {
  int f = (d->mem.over ? 1 : 0) | (d->mem.failed ? 2 : 0);
  d->mem.over = d->mem.failed = 0;
  return f;
}

/* After a library error: was it our budget (|flags| from mem_flags), the
 * system, or the data? */
static int lib_fail(decode *d, int flags, const char *corrupt_why) {
  if (flags & 1)
    return fail(d, GUISE_E_DECODE_TOO_LARGE,
                d->mem.shared_over ? "the decoders of this client hold their shared memory budget already"
                                   : "decoder memory over the budget");
  if (flags & 2) return fail(d, GUISE_E_NOMEM, "out of memory");
  return fail(d, GUISE_E_DECODE_CORRUPT, corrupt_why);
}

/* The bytes the decoder may still give the callback under the ratio cap. */
static uint64_t ratio_room(const decode *d) {
  if (d->lim.max_ratio == 0) return UINT64_MAX;
  uint64_t allow = d->in > UINT64_MAX / d->lim.max_ratio ? UINT64_MAX : d->in * d->lim.max_ratio;
  if (allow < d->lim.ratio_grace) allow = d->lim.ratio_grace;
  return allow > d->out ? allow - d->out : 0;
}

/*
 * Output room for stage |i|'s next library call: a chunk, or one byte more
 * than the caps still allow, whichever is smaller, so that crossing a cap
 * shows as an output one byte too long rather than as a chunk decoded.
 */
static size_t out_room(const decode *d, size_t i) {
  const stage *s = &d->st[i];
  uint64_t room = d->lim.max_output - s->out;
  if (i + 1 == d->n) {
    uint64_t r = ratio_room(d);
    if (r < room) room = r;
  }
  return room >= d->lim.chunk_size ? d->lim.chunk_size : (size_t)room + 1;
}

/*
 * Gives |n| decoded bytes to the callback, within the caps. Bytes past a cap
 * are cut off, the part within it still delivered, so that a valid body over
 * a cap gives the callback the same bytes however it was split.
 */
static int deliver(decode *d, const uint8_t *p, size_t n) {
  uint64_t size_room = d->lim.max_output - d->out, ratio = ratio_room(d);
  uint64_t room = size_room < ratio ? size_room : ratio;
  size_t k = n > room ? (size_t)room : n;
  if (k > 0) {
    d->out += k;
    int rc = d->sink(d->arg, p, k);
    if (rc != 0) return fail(d, rc, "stopped by the callback");
  }
  if (k == n) return 0;
  return fail(d, GUISE_E_DECODE_TOO_LARGE,
              room == size_room ? "decoded body over max_output"
                                : "decoded body over max_ratio times its input");
}

static int stage_feed(decode *d, size_t i, const uint8_t *in, size_t len);

/* Stage |i| made |n| bytes: pass them on, up to its cap (same cut as in
 * deliver, and for the same reason). */
static int emit(decode *d, size_t i, const uint8_t *p, size_t n) {
  stage *s = &d->st[i];
  uint64_t room = d->lim.max_output - s->out;
  size_t k = n > room ? (size_t)room : n;
  s->out += k;
  int rc = 0;
  if (k > 0) rc = i + 1 < d->n ? stage_feed(d, i + 1, p, k) : deliver(d, p, k);
  if (rc != 0 || k == n) return rc;
  return fail(d, GUISE_E_DECODE_TOO_LARGE, "decoded data over max_output");
}

/* ---- gzip and deflate (zlib) ---- */

/* RFC 1950 §2.2: CM 8 (deflate), CINFO <= 7 (window <= 32 KiB), and
 * CMF * 256 + FLG a multiple of 31. */
static int zlib_header_ok(const uint8_t h[2]) {
  return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((h[0] << 8) | h[1]) % 31 == 0;
}

static int body_zlib(decode *d, size_t i, const uint8_t **in, size_t *len) {
  stage *s = &d->st[i];
  z_stream *zs = &s->u.zs;
  for (;;) {
    size_t room = out_room(d, i);
    /* uInt is 32 bits: a larger push goes through in slices. */
    uInt give = *len > UINT_MAX ? UINT_MAX : (uInt)*len;
    zs->next_in = *in;
    zs->avail_in = give;
    zs->next_out = s->buf;
    zs->avail_out = (uInt)room;
    d->mem.over = d->mem.failed = 0;
    int zr = inflate(zs, Z_NO_FLUSH);
    int flags = mem_flags(d);
    size_t used = give - zs->avail_in, made = room - zs->avail_out;
    *in += used;
    *len -= used;
    /* What was decoded before an error goes out first: the error is
     * reported where it is in the stream. */
    if (made > 0) {
      int rc = emit(d, i, s->buf, made);
      if (rc != 0) return rc;
    }
    switch (zr) {
    case Z_OK:
    case Z_STREAM_END:
    case Z_BUF_ERROR: /* no progress possible: the input is used up */
      break;
    case Z_NEED_DICT:
      /* HTTP has no way to name a preset dictionary (RFC 1950 FDICT). */
      return fail(d, GUISE_E_DECODE_CORRUPT, "deflate: stream needs a preset dictionary");
    case Z_MEM_ERROR:
      return lib_fail(d, flags, "zlib: out of memory");
    default: /* Z_DATA_ERROR; Z_STREAM_ERROR cannot happen on a live stream */
      return fail(d, GUISE_E_DECODE_CORRUPT,
                  s->coding == DECODE_GZIP ? "gzip: corrupt member" : "deflate: corrupt stream");
    }
    if (zr == Z_STREAM_END) {
      s->units++;
      if (s->coding == DECODE_GZIP) {
        /* RFC 1952 §2.2: a gzip body is a series of members. */
        inflateReset(zs);
        s->ph = PH_HEAD;
      } else {
        s->ph = PH_TRAILING;
      }
      return 0;
    }
    /* inflate fills the output as far as it can: room left over means it
     * has nothing pending, so it waits for input. */
    if (*len == 0 && zs->avail_out != 0) return 0;
    if (used == 0 && made == 0)
      return fail(d, GUISE_E_INTERNAL, "zlib: no progress with input and room");
  }
}

/* ---- br (brotli) ---- */

static int body_brotli(decode *d, size_t i, const uint8_t **in, size_t *len) {
  stage *s = &d->st[i];
  for (;;) {
    size_t room = out_room(d, i), avail_out = room, avail_in = *len;
    const uint8_t *next_in = *in;
    uint8_t *next_out = s->buf;
    d->mem.over = d->mem.failed = 0;
    BrotliDecoderResult r =
        BrotliDecoderDecompressStream(s->u.br, &avail_in, &next_in, &avail_out, &next_out, NULL);
    int flags = mem_flags(d);
    *in = next_in;
    *len = avail_in;
    size_t made = room - avail_out;
    if (made > 0) {
      int rc = emit(d, i, s->buf, made);
      if (rc != 0) return rc;
    }
    if (r == BROTLI_DECODER_RESULT_ERROR) return lib_fail(d, flags, "br: corrupt stream");
    if (r == BROTLI_DECODER_RESULT_SUCCESS) {
      s->units++;
      s->ph = PH_TRAILING; /* RFC 7932 has one stream: the rest is ignored */
      return 0;
    }
    if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return 0; /* all input taken */
    /* NEEDS_MORE_OUTPUT: the buffer was filled, go round. */
  }
}

/* ---- zstd ---- */

static int body_zstd(decode *d, size_t i, const uint8_t **in, size_t *len) {
  stage *s = &d->st[i];
  for (;;) {
    size_t room = out_room(d, i);
    ZSTD_inBuffer zin = {*in, *len, 0};
    ZSTD_outBuffer zout = {s->buf, room, 0};
    d->mem.over = d->mem.failed = 0;
    size_t r = ZSTD_decompressStream(s->u.zd, &zout, &zin);
    int flags = mem_flags(d);
    *in += zin.pos;
    *len -= zin.pos;
    if (zout.pos > 0) {
      int rc = emit(d, i, s->buf, zout.pos);
      if (rc != 0) return rc;
    }
    if (ZSTD_isError(r)) {
      switch (ZSTD_getErrorCode(r)) {
      case ZSTD_error_frameParameter_windowTooLarge:
        return fail(d, GUISE_E_DECODE_TOO_LARGE, "zstd: frame window over 8 MiB");
      case ZSTD_error_memory_allocation:
        return lib_fail(d, flags, "zstd: out of memory");
      case ZSTD_error_dictionary_wrong:
        /* Dictionary-compressed frames belong to "dcz", which guise does
         * not offer (decode_accept_encoding refuses it). */
        return fail(d, GUISE_E_DECODE_CORRUPT, "zstd: frame needs a dictionary");
      default:
        return fail(d, GUISE_E_DECODE_CORRUPT, "zstd: corrupt frame");
      }
    }
    if (r == 0) { /* a frame decoded and flushed entirely */
      s->units++;
      s->ph = PH_HEAD;
      return 0;
    }
    if (*len == 0 && zout.pos < zout.size) return 0;
    if (zin.pos == 0 && zout.pos == 0)
      return fail(d, GUISE_E_INTERNAL, "zstd: no progress with input and room");
  }
}

/* ---- Units: heads, bodies, trailing bytes ---- */

/* Bytes gathered before a unit is judged. */
static size_t head_len(decode_coding c) {
  switch (c) {
  case DECODE_GZIP:
  case DECODE_DEFLATE:
    return 2;
  case DECODE_ZSTD:
    return 4;
  default:
    return 0;
  }
}

/* Judges the gathered head of the next unit: into PH_BODY or PH_TRAILING. */
static int head_decide(decode *d, stage *s) {
  const uint8_t *h = s->head;
  switch (s->coding) {
  case DECODE_GZIP:
    if (h[0] == 0x1f && h[1] == 0x8b) {
      s->ph = PH_BODY;
    } else if (s->units == 0) {
      return fail(d, GUISE_E_DECODE_CORRUPT, "gzip: no gzip magic (1f 8b) at the start");
    } else {
      /* Padding or junk after a member: Chromium ignores whatever follows
       * the first member, "the behavior of other browsers". */
      s->ph = PH_TRAILING;
    }
    return 0;
  case DECODE_DEFLATE:
    /* "deflate" is RFC 1950 (RFC 9110 §8.4.1.2), but servers have long sent
     * raw RFC 1951 data under it, and browsers read both (Chromium:
     * net/filter/gzip_source_stream.cc, STATE_SNIFFING_DEFLATE_HEADER). A
     * valid zlib header decides. A raw stream cannot start with one as an
     * encoder writes it: CM 8 in the low nibble means BFINAL 0, BTYPE 00
     * (stored) and a set padding bit, which encoders leave clear. */
    if (inflateReset2(&s->u.zs, zlib_header_ok(h) ? MAX_WBITS : -MAX_WBITS) != Z_OK)
      return fail(d, GUISE_E_INTERNAL, "zlib: inflateReset2 refused");
    s->ph = PH_BODY;
    return 0;
  case DECODE_ZSTD: {
    uint32_t magic = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    if (magic == ZSTD_MAGICNUMBER ||
        (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START) {
      s->ph = PH_BODY;
    } else if (s->units == 0) {
      return fail(d, GUISE_E_DECODE_CORRUPT, "zstd: not a Zstandard frame (RFC 8878 magic)");
    } else {
      s->ph = PH_TRAILING; /* as for gzip */
    }
    return 0;
  }
  default:
    return fail(d, GUISE_E_INTERNAL, "decode: head of a coding without one");
  }
}

static int body(decode *d, size_t i, const uint8_t **in, size_t *len) {
  switch (d->st[i].coding) {
  case DECODE_GZIP:
  case DECODE_DEFLATE:
    return body_zlib(d, i, in, len);
  case DECODE_BR:
    return body_brotli(d, i, in, len);
  case DECODE_ZSTD:
    return body_zstd(d, i, in, len);
  default:
    return fail(d, GUISE_E_INTERNAL, "decode: stage without a coding");
  }
}

/* Stage |i| takes all of |in|: heads gathered and judged, bodies decoded
 * (their output pushed down the chain), trailing bytes dropped. */
static int stage_feed(decode *d, size_t i, const uint8_t *in, size_t len) {
  stage *s = &d->st[i];
  if (len > 0) s->started = 1;
  while (len > 0) {
    int rc = 0;
    switch (s->ph) {
    case PH_TRAILING:
      return 0;
    case PH_HEAD: {
      size_t need = head_len(s->coding), take = need - s->nhead;
      if (take > len) take = len;
      memcpy(s->head + s->nhead, in, take);
      s->nhead += take;
      in += take;
      len -= take;
      if (s->nhead < need) return 0;
      if ((rc = head_decide(d, s)) != 0) return rc;
      if (s->ph == PH_BODY) {
        /* The library gets the head bytes first. No unit is shorter than its
         * head (a gzip header is 10 bytes, a zstd frame header 6), so they
         * cannot end one. */
        uint8_t h[sizeof(s->head)];
        size_t nh = s->nhead;
        memcpy(h, s->head, nh);
        s->nhead = 0;
        const uint8_t *p = h;
        if ((rc = body(d, i, &p, &nh)) != 0) return rc;
        if (nh != 0) return fail(d, GUISE_E_INTERNAL, "decode: a unit ended inside its head");
      } else {
        s->nhead = 0;
      }
      break;
    }
    case PH_BODY:
      if ((rc = body(d, i, &in, &len)) != 0) return rc;
      break;
    }
  }
  return 0;
}

/* ---- Content-Encoding ---- */

/* RFC 9110 §5.6.2 tchar. */
static int is_tchar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(uint8_t c) { return c == ' ' || c == '\t'; }

/* Trims RFC 9110 OWS (SP, HTAB) from both ends of |cbs|. */
static void trim_ows(CBS *cbs) {
  const uint8_t *p = CBS_data(cbs);
  size_t n = CBS_len(cbs);
  while (n > 0 && is_ows(p[0])) p++, n--;
  while (n > 0 && is_ows(p[n - 1])) n--;
  CBS_init(cbs, p, n);
}

/* Splits the next list element off |list| (RFC 9110 §5.6.1), OWS trimmed. */
static void next_element(CBS *list, CBS *elem) {
  if (CBS_get_until_first(list, elem, ',')) {
    CBS_skip(list, 1);
  } else {
    *elem = *list;
    CBS_init(list, CBS_data(list) + CBS_len(list), 0);
  }
  trim_ows(elem);
}

static int is_token(const CBS *cbs) {
  if (CBS_len(cbs) == 0) return 0;
  for (size_t k = 0; k < CBS_len(cbs); k++)
    if (!is_tchar(CBS_data(cbs)[k])) return 0;
  return 1;
}

static int token_is(const CBS *cbs, const char *name) {
  size_t n = strlen(name);
  if (CBS_len(cbs) != n) return 0;
  for (size_t k = 0; k < n; k++) {
    uint8_t c = CBS_data(cbs)[k];
    if (c >= 'A' && c <= 'Z') c = (uint8_t)(c - 'A' + 'a');
    if (c != (uint8_t)name[k]) return 0;
  }
  return 1;
}

/* The coding a token names; -1 for one this module cannot decode. */
static int coding_of(const CBS *tok) {
  if (token_is(tok, "gzip") || token_is(tok, "x-gzip")) return DECODE_GZIP;
  if (token_is(tok, "deflate")) return DECODE_DEFLATE;
  if (token_is(tok, "br")) return DECODE_BR;
  if (token_is(tok, "zstd")) return DECODE_ZSTD;
  if (token_is(tok, "identity")) return DECODE_IDENTITY;
  return -1;
}

static void set_span(decode_span *sp, const CBS *cbs) {
  if (sp != NULL) {
    sp->ptr = (const char *)CBS_data(cbs);
    sp->len = CBS_len(cbs);
  }
}

const char *decode_coding_name(decode_coding c) {
  switch (c) {
  case DECODE_IDENTITY:
    return "identity";
  case DECODE_GZIP:
    return "gzip";
  case DECODE_DEFLATE:
    return "deflate";
  case DECODE_BR:
    return "br";
  case DECODE_ZSTD:
    return "zstd";
  }
  return "unknown";
}

static size_t coding_budget(decode_coding c) {
  switch (c) {
  case DECODE_GZIP:
  case DECODE_DEFLATE:
    return DECODE_BUDGET_DEFLATE;
  case DECODE_BR:
    return DECODE_BUDGET_BROTLI;
  case DECODE_ZSTD:
    return DECODE_BUDGET_ZSTD;
  default:
    return 0;
  }
}

static int stage_init(decode *d, stage *s) {
  d->mem.over = d->mem.failed = 0;
  s->ph = head_len(s->coding) > 0 ? PH_HEAD : PH_BODY;
  s->buf = budget_alloc(&d->mem, d->lim.chunk_size);
  if (s->buf == NULL) return lib_fail(d, mem_flags(d), "out of memory");
  switch (s->coding) {
  case DECODE_GZIP:
  case DECODE_DEFLATE:
    s->u.zs.zalloc = zlib_alloc;
    s->u.zs.zfree = zlib_free;
    s->u.zs.opaque = &d->mem;
    /* 16 + 15: gzip wrapper only, any window up to 32 KiB. deflate is
     * re-set by head_decide once its first two bytes are known. */
    if (inflateInit2(&s->u.zs, s->coding == DECODE_GZIP ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK)
      return lib_fail(d, mem_flags(d), "zlib: inflateInit2 failed");
    break;
  case DECODE_BR:
    /* Brotli's large-window extension stays off (the decoder's default):
     * RFC 7932 windows end at 16 MiB, and so does what browsers accept. */
    s->u.br = BrotliDecoderCreateInstance(brotli_alloc, brotli_free, &d->mem);
    if (s->u.br == NULL) return lib_fail(d, mem_flags(d), "br: cannot create the decoder");
    break;
  case DECODE_ZSTD: {
    ZSTD_customMem cm = {zstd_alloc, zstd_free, &d->mem};
    s->u.zd = ZSTD_createDCtx_advanced(cm);
    if (s->u.zd == NULL) return lib_fail(d, mem_flags(d), "zstd: cannot create the decoder");
    s->inited = 1;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(s->u.zd, ZSTD_d_windowLogMax,
                                            DECODE_ZSTD_WINDOW_LOG_MAX)))
      return fail(d, GUISE_E_INTERNAL, "zstd: windowLogMax refused");
    break;
  }
  default:
    return fail(d, GUISE_E_INTERNAL, "decode: stage without a coding");
  }
  s->inited = 1;
  return 0;
}

static void stage_end(decode *d, stage *s) {
  if (s->inited) {
    switch (s->coding) {
    case DECODE_GZIP:
    case DECODE_DEFLATE:
      inflateEnd(&s->u.zs);
      break;
    case DECODE_BR:
      BrotliDecoderDestroyInstance(s->u.br);
      break;
    case DECODE_ZSTD:
      ZSTD_freeDCtx(s->u.zd);
      break;
    default:
      break;
    }
    s->inited = 0;
  }
  budget_free(&d->mem, s->buf);
  s->buf = NULL;
}

int decode_new(decode **out, const char *ce, size_t ce_len, const decode_limits *limits,
               decode_sink sink, void *arg, decode_span *unsupported) {
  if (out == NULL || sink == NULL || (ce == NULL && ce_len > 0))
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  *out = NULL;
  decode_limits lim;
  if (limits != NULL)
    lim = *limits;
  else
    decode_limits_init(&lim);
  if (lim.max_output == 0 || lim.chunk_size < DECODE_MIN_CHUNK ||
      lim.chunk_size > DECODE_MAX_CHUNK)
    return GUISE_E_USAGE_INVALID_ARGUMENT;

  /* RFC 9110 §8.4: the codings in the order applied; undone in reverse. */
  decode_coding listed[DECODE_MAX_CODINGS];
  size_t n = 0;
  CBS list, elem;
  CBS_init(&list, (const uint8_t *)(ce != NULL ? ce : ""), ce_len);
  while (CBS_len(&list) > 0) {
    next_element(&list, &elem);
    if (CBS_len(&elem) == 0) continue; /* §5.6.1.2: empty elements are ignored */
    int c = is_token(&elem) ? coding_of(&elem) : -1;
    if (c == DECODE_IDENTITY) continue;
    if (c < 0 || n == DECODE_MAX_CODINGS) {
      set_span(unsupported, &elem);
      return GUISE_E_DECODE_UNSUPPORTED;
    }
    listed[n++] = (decode_coding)c;
  }

  decode *d = calloc(1, sizeof(*d));
  if (d == NULL) return GUISE_E_NOMEM;
  d->lim = lim;
  d->sink = sink;
  d->arg = arg;
  d->reason = "";
  d->n = n;
  size_t limit = 0;
  for (size_t k = 0; k < n; k++) {
    d->st[k].coding = listed[n - 1 - k];
    limit += coding_budget(d->st[k].coding) + lim.chunk_size;
  }
  d->mem.limit = lim.max_memory != 0 ? lim.max_memory : limit;
  d->mem.shared = lim.shared;
  for (size_t k = 0; k < n; k++) {
    int rc = stage_init(d, &d->st[k]);
    if (rc != 0) {
      decode_free(d);
      return rc;
    }
  }
  *out = d;
  return 0;
}

int decode_push(decode *d, const uint8_t *in, size_t len) {
  if (d == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (d->err != 0) return d->err;
  if (d->finished || (in == NULL && len > 0)) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (len == 0) return 0;
  d->in += len;
  int rc = 0;
  if (d->n == 0) {
    /* identity: the body itself, in chunks, under the size cap. */
    while (len > 0 && rc == 0) {
      size_t k = len < d->lim.chunk_size ? len : d->lim.chunk_size;
      rc = deliver(d, in, k);
      in += k;
      len -= k;
    }
  } else {
    rc = stage_feed(d, 0, in, len);
  }
  d->err = rc;
  return rc;
}

int decode_finish(decode *d) {
  if (d == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (d->finished || d->err != 0) return d->err;
  d->finished = 1;
  for (size_t i = 0; i < d->n && d->err == 0; i++) {
    const stage *s = &d->st[i];
    /* A stage that got nothing produced nothing: an empty body is fine. */
    if (!s->started || s->ph == PH_TRAILING) continue;
    /* Bytes after a complete unit too few to judge are trailing bytes. */
    if (s->ph == PH_HEAD && s->units > 0) continue;
    switch (s->coding) {
    case DECODE_GZIP:
      d->err = fail(d, GUISE_E_DECODE_CORRUPT, "gzip: body ends inside a member");
      break;
    case DECODE_DEFLATE:
      d->err = fail(d, GUISE_E_DECODE_CORRUPT, "deflate: body ends inside the stream");
      break;
    case DECODE_BR:
      d->err = fail(d, GUISE_E_DECODE_CORRUPT, "br: body ends inside the stream");
      break;
    default:
      d->err = fail(d, GUISE_E_DECODE_CORRUPT, "zstd: body ends inside a frame");
      break;
    }
  }
  return d->err;
}

void decode_free(decode *d) {
  if (d == NULL) return;
  for (size_t i = 0; i < d->n; i++) stage_end(d, &d->st[i]);
  free(d);
}

const char *decode_reason(const decode *d) { return d != NULL && d->reason ? d->reason : ""; }

void decode_get_stats(const decode *d, decode_stats *st) {
  memset(st, 0, sizeof(*st));
  if (d == NULL) return;
  st->in = d->in;
  st->out = d->out;
  st->mem_now = d->mem.used;
  st->mem_peak = d->mem.peak;
  st->mem_limit = d->mem.limit;
  st->allocations = d->mem.allocations;
  st->refused = d->mem.refused;
}

size_t decode_codings(const decode *d, decode_coding *codings, size_t cap) {
  if (d == NULL) return 0;
  for (size_t i = 0; i < d->n && i < cap; i++) codings[i] = d->st[i].coding;
  return d->n;
}

/* ---- Accept-Encoding ---- */

/*
 * RFC 9110 §12.5.3: weight = OWS ";" OWS "q=" qvalue, qvalue = ("0" ["."
 * 0*3DIGIT]) / ("1" ["." 0*3("0")]). Sets |*zero| when the value is 0.
 * Returns 0 for anything else (another parameter, a malformed value).
 */
static int parse_weight(CBS *params, int *zero) {
  uint8_t c, q, eq;
  trim_ows(params);
  if (!CBS_get_u8(params, &c) || c != ';') return 0;
  trim_ows(params);
  if (!CBS_get_u8(params, &q) || (q != 'q' && q != 'Q') || !CBS_get_u8(params, &eq) || eq != '=')
    return 0;
  uint8_t first;
  if (!CBS_get_u8(params, &first) || (first != '0' && first != '1')) return 0;
  int nonzero = first == '1';
  if (CBS_len(params) > 0) {
    uint8_t dot;
    if (!CBS_get_u8(params, &dot) || dot != '.' || CBS_len(params) > 3) return 0;
    while (CBS_len(params) > 0) {
      uint8_t digit;
      CBS_get_u8(params, &digit);
      if (digit < '0' || digit > '9' || (first == '1' && digit != '0')) return 0;
      if (digit != '0') nonzero = 1;
    }
  }
  *zero = !nonzero;
  return 1;
}

int decode_accept_encoding(const char *value, size_t len, decode_span *out,
                           decode_span *unsupported) {
  if (out == NULL || (value == NULL && len > 0)) return GUISE_E_USAGE_INVALID_ARGUMENT;
  CBS list, elem;
  CBS_init(&list, (const uint8_t *)(value != NULL ? value : ""), len);
  while (CBS_len(&list) > 0) {
    next_element(&list, &elem);
    if (CBS_len(&elem) == 0) continue;
    /* The coding token, then at most a weight. */
    CBS tok, params;
    size_t k = 0;
    while (k < CBS_len(&elem) && is_tchar(CBS_data(&elem)[k])) k++;
    CBS_init(&tok, CBS_data(&elem), k);
    CBS_init(&params, CBS_data(&elem) + k, CBS_len(&elem) - k);
    int zero = 0;
    trim_ows(&params);
    if (k == 0 || (CBS_len(&params) > 0 && !parse_weight(&params, &zero))) {
      set_span(unsupported, &elem);
      return GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    /* "*" matches every coding (§12.5.3), "compress" included; a q of 0
     * refuses its coding, so refusing one guise cannot decode is fine. */
    if (!zero && (token_is(&tok, "*") || coding_of(&tok) < 0)) {
      set_span(unsupported, &tok);
      return GUISE_E_DECODE_UNSUPPORTED;
    }
  }
  out->ptr = value;
  out->len = len;
  return 0;
}

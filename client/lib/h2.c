/* h2.c — a browser-shaped HTTP/2 client connection over nghttp2 (see h2.h and
 * docs/HTTP2.md). */
#include "h2.h"

#include <malloc.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "guise.h"

#if defined(__SANITIZE_ADDRESS__)
#define H2_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H2_ASAN 1
#endif
#endif
#ifdef H2_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* RFC 9113 §6.5.2 setting ids nghttp2 checks the values of (nghttp2_iv_check). */
enum {
  SET_ENABLE_PUSH = 0x2,
  SET_INITIAL_WINDOW_SIZE = 0x4,
  SET_MAX_FRAME_SIZE = 0x5,
  SET_MAX_HEADER_LIST_SIZE = 0x6,
  SET_ENABLE_CONNECT_PROTOCOL = 0x8,  /* RFC 8441 */
  SET_NO_RFC7540_PRIORITIES = 0x9     /* RFC 9218 §2.1 */
};

#define MAX_WINDOW 0x7fffffffu   /* RFC 9113 §6.9.1: 2^31-1 */
#define INITIAL_WINDOW 65535u    /* RFC 9113 §6.9.2 */
#define MAX_STREAM_ID 0x7fffffffu

#define H2_INLINE_FIELDS 16

/* The connection's cache of freed small blocks (cmalloc/cfree): a request's
 * ~13 blocks of nghttp2's (its stream, its outbound item, one buffer per
 * received field value) and its h2_stream are the same few sizes every time,
 * and glibc's malloc and free cost ~260 instructions a pair here (its per-size
 * cache holds 7 blocks; a read brings ~10 responses). Classes by glibc's
 * usable size: 24, 40, ..., 24 + 16 * (CACHE_CLASSES - 1) bytes. Bounded per
 * class and in bytes, still counted in mem_used, given back by
 * h2_idle_release(). */
#define CACHE_CLASSES 64
#define CACHE_PER_CLASS 16
#define CACHE_BYTES 8192

/* The lists, in a block of their own made at the first block cached and freed
 * with the last by h2_idle_release(): an idle connection keeps none of it
 * (the lists are ~600 bytes; issue 21's idle target is per connection). */
typedef struct block_cache {
  void *head[CACHE_CLASSES];  /* each a list linked through its blocks' first word */
  uint8_t n[CACHE_CLASSES];
  size_t bytes;               /* 24 + 16 k for each block of class k */
} block_cache;

/* Per-request state, from h2_submit() until on_close. Allocated from the
 * connection's counted heap. */
typedef struct h2_stream {
  struct h2_stream *prev, *next;
  h2_conn *conn;
  int32_t id;
  uint16_t weight; /* of its HEADERS priority; 0: none */
  int headers_sent; /* its HEADERS left (or will never: counted off) */
  int body_pending; /* a request body not yet read to its end */
  h2_stream_callbacks cb;
  void *ud;
  h2_body body;
  int has_body;
  int paused;      /* body read() returned H2_BODY_PAUSE */
  int remote_end;  /* END_STREAM received */
  int final_seen;  /* a final (non-1xx) response was delivered */
  int rst_recv;    /* the server sent RST_STREAM ... */
  uint32_t rst_code;  /* ... with this code */
  int err;         /* a local verdict that wins over the close code */
  const char *why; /* ... and its reason, when one of ours (h2_close_reason) */
  unsigned interim;     /* interim (1xx) responses received */
  unsigned empty_data;  /* empty DATA frames without END_STREAM in a row */
  /* The header block being received: fields point into nghttp2's reference-
   * counted buffers, held (incref) until delivered. */
  int block_bad;
  int status;
  h2_header *hdrs;
  nghttp2_rcbuf **rcs;  /* 2 per field */
  size_t n_hdrs, cap_hdrs, list_bytes;
  /* The first H2_INLINE_FIELDS fields in the stream itself (a response has ~10):
   * no allocation per response. */
  h2_header hdrs_in[H2_INLINE_FIELDS];
  nghttp2_rcbuf *rcs_in[2 * H2_INLINE_FIELDS];
} h2_stream;

struct h2_conn {
  nghttp2_session *ng;
  /* What requests need of the shape (the preface's part is used once, when the
   * connection is made; a whole h2_shape is ~0.5 KB an idle connection kept). */
  char pseudo_order[5];
  int cookie_crumbs;
  int headers_priority_flag, headers_priority_chain;
  h2_priority headers_priority;
  h2_limits lim;
  size_t max_header_list;  /* min(limit, announced MAX_HEADER_LIST_SIZE) */
  h2_conn_callbacks cb;
  void *ud;
  size_t mem_used;
  h2_stream *streams;  /* open and queued requests */
  size_t n_streams;
  const uint8_t *pend;  /* the rest of nghttp2's last mem_send chunk */
  size_t pend_len;
  int over;        /* no more events: every request is closed */
  int dead;        /* nghttp2 failed fatally: the session may not be used */
  int nomem;       /* the memory cap was hit */
  int proto_error; /* the server broke the protocol: a GOAWAY with an error is queued */
  int goaway_recv;
  int settings_recv; /* the server's first SETTINGS (not an ACK) arrived */
  uint32_t goaway_last, goaway_code;
  int goaway_sent;
  int closed;      /* h2_eof(): the transport is gone, nothing more to send */
  int32_t last_id; /* of the last request submitted */
  size_t unsent_headers; /* requests whose HEADERS wait in nghttp2's queue */
  size_t bodies_pending; /* streams with request body still to send */
  int ng_err;
  char ng_msg[128];
  unsigned empty_data;    /* empty DATA frames in a row, any stream */
  const char *why;        /* the reason of a connection error of ours */
  const char *closing_why; /* during an on_close: h2_close_reason() */
  /* nghttp2's outbound frame buffer (one chunk of NGHTTP2_FRAMEBUF_CHUNKLEN),
   * the first allocation of that size made while the session is created: in
   * pages of its own, so that only the pages a frame writes are resident and
   * h2_idle_release() can give them back. */
  /* The stream of the header block being received (on_begin_headers): the
   * field callbacks skip nghttp2's stream lookup. Cleared when it ends. */
  h2_stream *blk;
  int32_t blk_id;
  int creating;
  uint8_t *fb;
  size_t fb_map;  /* its mapping's length (whole pages) */
  block_cache *cache;  /* NULL: nothing cached */
};

/* ---- Shape ----------------------------------------------------------------------- */

void h2_shape_init(h2_shape *s) {
  memset(s, 0, sizeof(*s));
  s->first_stream_id = 1;
  memcpy(s->pseudo_order, "masp", 5);
}

#define FAIL(msg)   \
  do {              \
    *why = (msg);   \
    return -1;      \
  } while (0)

static int priority_ok(const h2_priority *p) {
  return p->weight >= 1 && p->weight <= 256 && p->depends_on <= MAX_STREAM_ID;
}

static int pseudo_order_ok(const char *o) {
  if (strnlen(o, 5) != 4) return 0;
  for (const char *l = "masp"; *l; l++)
    if (memchr(o, *l, 4) == NULL) return 0;
  return 1;
}

int h2_shape_check(const h2_shape *s, const char **why) {
  if (s->n_settings > H2_SHAPE_MAX_SETTINGS) FAIL("too many SETTINGS parameters");
  for (size_t i = 0; i < s->n_settings; i++) {
    uint32_t v = s->settings[i].value;
    switch (s->settings[i].id) {
    case SET_ENABLE_PUSH:
    case SET_ENABLE_CONNECT_PROTOCOL:
    case SET_NO_RFC7540_PRIORITIES:
      if (v > 1) FAIL("a boolean SETTINGS parameter is not 0 or 1");
      break;
    case SET_INITIAL_WINDOW_SIZE:
      if (v > MAX_WINDOW) FAIL("SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1");
      break;
    case SET_MAX_FRAME_SIZE:
      if (v < 16384 || v > 16777215) FAIL("SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1");
      break;
    default:
      break;
    }
  }
  if (s->window_update > MAX_WINDOW - INITIAL_WINDOW)
    FAIL("WINDOW_UPDATE would take the connection window over 2^31-1");
  if (s->n_priority_frames > H2_SHAPE_MAX_PRIORITY_FRAMES) FAIL("too many PRIORITY frames");
  for (size_t i = 0; i < s->n_priority_frames; i++) {
    const h2_priority_frame *f = &s->priority_frames[i];
    if (f->stream_id == 0 || f->stream_id > MAX_STREAM_ID) FAIL("PRIORITY frame on stream 0");
    if (!priority_ok(&f->priority)) FAIL("PRIORITY weight outside 1..256");
    if (f->priority.depends_on == f->stream_id) FAIL("PRIORITY frame depends on itself");
  }
  if (s->headers_priority_chain && !s->headers_priority_flag)
    FAIL("HEADERS priority chain without a HEADERS priority");
  if (s->headers_priority_flag) {
    const h2_priority *p = &s->headers_priority;
    if (!priority_ok(p)) FAIL("HEADERS priority weight outside 1..256");
    /* nghttp2_submit_request() drops a priority equal to the RFC default and
     * sends no PRIORITY flag: the wire would not match the shape. */
    if (p->weight == 16 && !p->exclusive && p->depends_on == 0)
      FAIL("HEADERS priority flag with the default priority (nghttp2 omits it)");
  }
  if (s->first_stream_id == 0 || s->first_stream_id > MAX_STREAM_ID ||
      s->first_stream_id % 2 == 0)
    FAIL("first stream id not odd in 1..2^31-1");
  if (!pseudo_order_ok(s->pseudo_order)) FAIL("pseudo-header order is not a permutation of masp");
  return 0;
}

void h2_limits_init(h2_limits *l) {
  l->max_header_fields = H2_DEFAULT_MAX_HEADER_FIELDS;
  l->max_header_list = H2_DEFAULT_MAX_HEADER_LIST;
  l->max_requests = H2_DEFAULT_MAX_REQUESTS;
  l->max_memory = H2_DEFAULT_MAX_MEMORY;
}

/* ---- Counted heap ---------------------------------------------------------------- */

/* Blocks are plain malloc() blocks, counted by their usable size (glibc's
 * malloc_usable_size): no size prefix, which on an idle connection's ~60 live
 * blocks (the HPACK tables' entries above all) was ~1 KB. */

/* nghttp2 1.x: a frame buffer chunk is a 9-byte frame header, a pad length
 * byte and the largest payload (NGHTTP2_FRAMEBUF_CHUNKLEN, lib/nghttp2_session.h). */
#define FRAMEBUF_CHUNKLEN (9 + 1 + 16384)

/* glibc (64-bit): a chunk is the request + 8 rounded up to 16, at least 32;
 * its usable size is the chunk less 8. The cache class of a block of usable
 * size |us|, or CACHE_CLASSES when it is not cached. */
static size_t cache_class(size_t us) {
  return us >= 24 && us <= 24 + 16 * (CACHE_CLASSES - 1) ? (us - 24) / 16 : CACHE_CLASSES;
}

static size_t usable_of(size_t size) {
  return size <= 24 ? 24 : ((size + 8 + 15) & ~(size_t)15) - 8;
}

/* Gives every cached block and the lists back to the heap; returns their
 * bytes. */
static size_t cache_drain(h2_conn *c) {
  block_cache *bc = c->cache;
  if (bc == NULL) return 0;
  size_t freed = 0;
  for (size_t k = 0; k < CACHE_CLASSES; k++) {
    while (bc->head[k] != NULL) {
      void *p = bc->head[k];
      UNPOISON(p, malloc_usable_size(p));
      bc->head[k] = *(void **)p;
      size_t us = malloc_usable_size(p);
      c->mem_used -= us;
      freed += us;
      free(p);
    }
  }
  size_t us = malloc_usable_size(bc);
  c->mem_used -= us;
  free(bc);
  c->cache = NULL;
  return freed + us;
}

static void *cmalloc(size_t size, void *ud) {
  h2_conn *c = ud;
  size_t k = cache_class(usable_of(size));
  block_cache *bc = c->cache;
  if (bc != NULL && k < CACHE_CLASSES && bc->head[k] != NULL) {
    void *p = bc->head[k];
    UNPOISON(p, malloc_usable_size(p));
    bc->head[k] = *(void **)p;
    bc->n[k]--;
    bc->bytes -= 24 + 16 * k;
    return p;
  }
  if (size > c->lim.max_memory - c->mem_used) {
    c->nomem = 1;
    return NULL;
  }
  if (c->creating && c->fb == NULL && size == FRAMEBUF_CHUNKLEN) {
    long page = sysconf(_SC_PAGESIZE);
    size_t map = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
    void *m = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
      c->fb = m;
      c->fb_map = map;
      c->mem_used += map;
      return m;
    } /* else from the heap like the rest */
  }
  void *p = malloc(size);
  if (p == NULL) {
    c->nomem = 1;
    return NULL;
  }
  c->mem_used += malloc_usable_size(p);
  return p;
}

static void cfree(void *p, void *ud) {
  h2_conn *c = ud;
  if (p == NULL) return;
  if (p == c->fb) {
    munmap(c->fb, c->fb_map);
    c->fb = NULL;
    c->mem_used -= c->fb_map;
    return;
  }
  size_t us = malloc_usable_size(p), k = cache_class(us);
  if (k < CACHE_CLASSES && c->cache == NULL && !c->closed &&
      sizeof(block_cache) <= c->lim.max_memory - c->mem_used) {
    c->cache = calloc(1, sizeof(block_cache)); /* NULL: blocks go back to the heap */
    if (c->cache != NULL) c->mem_used += malloc_usable_size(c->cache);
  }
  block_cache *bc = c->cache;
  /* A block of class k has at least 24 + 16 k usable bytes: any request that
   * maps to k fits. */
  if (bc != NULL && k < CACHE_CLASSES && bc->n[k] < CACHE_PER_CLASS &&
      bc->bytes + 24 + 16 * k <= CACHE_BYTES) {
    *(void **)p = bc->head[k];
    bc->head[k] = p;
    bc->n[k]++;
    bc->bytes += 24 + 16 * k;
    POISON(p, us);
    return;
  }
  c->mem_used -= us;
  free(p);
}

static void *ccalloc(size_t nmemb, size_t size, void *ud) {
  if (size != 0 && nmemb > SIZE_MAX / size) return NULL;
  void *p = cmalloc(nmemb * size, ud);
  if (p != NULL) memset(p, 0, nmemb * size);
  return p;
}

static void *crealloc(void *p, size_t size, void *ud) {
  h2_conn *c = ud;
  if (p == NULL) return cmalloc(size, ud);
  if (size == 0) {
    cfree(p, ud);
    return NULL;
  }
  if (p == c->fb) {
    /* Not done by nghttp2 (a chunk keeps its length); kept correct anyway. */
    if (size <= c->fb_map) return p;
    void *n = cmalloc(size, ud);
    if (n == NULL) return NULL;
    memcpy(n, p, c->fb_map);
    cfree(p, ud);
    return n;
  }
  size_t old = malloc_usable_size(p);
  if (size > old && size - old > c->lim.max_memory - c->mem_used) {
    c->nomem = 1;
    return NULL;
  }
  void *n = realloc(p, size);
  if (n == NULL) {
    c->nomem = 1;
    return NULL;
  }
  c->mem_used = c->mem_used - old + malloc_usable_size(n);
  return n;
}

/* ---- Streams --------------------------------------------------------------------- */

static h2_stream *find_req(h2_conn *c, int32_t id) {
  for (h2_stream *s = c->streams; s; s = s->next)
    if (s->id == id) return s;
  return NULL;
}

static void block_release(h2_stream *s) {
  for (size_t i = 0; i < 2 * s->n_hdrs; i++) nghttp2_rcbuf_decref(s->rcs[i]);
  s->n_hdrs = 0;
  s->list_bytes = 0;
  s->status = 0;
  s->block_bad = 0;
}

/* Reports |s| closed exactly once and frees it. The stream is unlinked before the
 * callback, so the callback may submit new requests. */
static void stream_counted_off(h2_conn *c, h2_stream *s) {
  if (!s->headers_sent) {
    s->headers_sent = 1;
    c->unsent_headers--;
  }
  if (s->body_pending) {
    s->body_pending = 0;
    c->bodies_pending--;
  }
}

static void stream_finish(h2_conn *c, h2_stream *s, int err, uint32_t h2_error) {
  stream_counted_off(c, s);
  if (c->blk == s) {
    c->blk = NULL;
    c->blk_id = 0;
  }
  if (s->prev) s->prev->next = s->next;
  else c->streams = s->next;
  if (s->next) s->next->prev = s->prev;
  c->n_streams--;
  block_release(s);
  /* nghttp2 may still hold the pointer (a queued HEADERS, an open stream). */
  if (!c->dead) nghttp2_session_set_stream_user_data(c->ng, s->id, NULL);
  c->closing_why = s->why ? s->why : err == GUISE_E_HTTP2_PROTOCOL ? c->why : NULL;
  if (s->cb.on_close) s->cb.on_close(s->ud, s->id, err, h2_error);
  c->closing_why = NULL;
  if (s->rcs != s->rcs_in) cfree(s->rcs, c);
  if (s->hdrs != s->hdrs_in) cfree(s->hdrs, c);
  cfree(s, c);
}

/* The result of a request that the connection's end found still open. */
static int end_code(const h2_conn *c, const h2_stream *s, int fallback) {
  if (s->err) return s->err;
  if (c->nomem) return GUISE_E_NOMEM;
  if (c->proto_error) return GUISE_E_HTTP2_PROTOCOL;
  if (c->goaway_recv) {
    /* RFC 9113 §6.8: streams above last_stream_id were not processed. A request
     * never sent (no nghttp2 stream) was not processed either. */
    if ((uint32_t)s->id > c->goaway_last) return GUISE_E_HTTP2_REFUSED;
    if (c->dead || nghttp2_session_find_stream(c->ng, s->id) == NULL)
      return GUISE_E_HTTP2_REFUSED;
    return GUISE_E_HTTP2_GOAWAY;
  }
  return fallback;
}

static void finish_all(h2_conn *c, int fallback) {
  c->over = 1;
  h2_stream *s;
  while ((s = c->streams) != NULL)
    stream_finish(c, s, end_code(c, s, fallback), c->goaway_recv ? c->goaway_code : 0);
}

/* A fatal nghttp2 error: the session may not be used any more. */
static int fail_fatal(h2_conn *c, int ng) {
  c->ng_err = ng;
  c->dead = 1;
  c->pend_len = 0;
  int err = (ng == NGHTTP2_ERR_NOMEM || c->nomem) ? GUISE_E_NOMEM : GUISE_E_HTTP2_PROTOCOL;
  if (err == GUISE_E_NOMEM) c->nomem = 1;
  else c->proto_error = 1;
  finish_all(c, err);
  return err;
}

/* Called after every exchange: once nghttp2 neither reads nor writes, the
 * connection is over and whatever is still open is closed. */
static void check_end(h2_conn *c) {
  if (c->over || c->pend_len) return;
  if (nghttp2_session_want_read(c->ng) || nghttp2_session_want_write(c->ng)) return;
  finish_all(c, GUISE_E_HTTP2_PROTOCOL);
}

/* ---- nghttp2 callbacks ----------------------------------------------------------- */

/* The request of stream |id|. The last one found is kept (c->blk): a
 * response's HEADERS, its fields, its DATA and its close come one after
 * another, and nghttp2's stream map costs a lookup each. stream_finish()
 * clears it with the request. */
static h2_stream *stream_of(h2_conn *c, int32_t id) {
  if (c->blk != NULL && c->blk_id == id) return c->blk;
  h2_stream *s = nghttp2_session_get_stream_user_data(c->ng, id);
  if (s != NULL) {
    c->blk = s;
    c->blk_id = id;
  }
  return s;
}

/* Cancels from inside a callback: the verdict is kept, nghttp2 resets the
 * stream and on_stream_close reports it. */
static void cancel_inside(h2_conn *c, h2_stream *s, int err) {
  if (!s->err) s->err = err;
  nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud) {
  h2_conn *c = ud;
  if (frame->hd.type == NGHTTP2_PUSH_PROMISE) {
    /* Only reachable when the shape leaves ENABLE_PUSH on (every browser shape
     * sends 2:0 and nghttp2 then treats a push as a connection error). Refuse the
     * promised stream like a browser that does not want it (RFC 9113 §8.4). */
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->push_promise.promised_stream_id,
                              NGHTTP2_CANCEL);
    return 0;
  }
  h2_stream *s = stream_of(c, frame->hd.stream_id);
  if (s) block_release(s);
  return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, nghttp2_rcbuf *name,
                     nghttp2_rcbuf *value, uint8_t flags, void *ud) {
  h2_conn *c = ud;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  h2_stream *s = stream_of(c, frame->hd.stream_id);
  if (s == NULL || s->err || s->block_bad) return 0;
  nghttp2_vec n = nghttp2_rcbuf_get_buf(name), v = nghttp2_rcbuf_get_buf(value);
  /* RFC 9113 §6.5.2: the size of a field is name + value + 32. */
  size_t add = n.len + v.len + 32;
  if (s->n_hdrs >= c->lim.max_header_fields || add > c->max_header_list - s->list_bytes) {
    s->block_bad = 1;
    s->err = GUISE_E_HTTP_HEADERS_TOO_LARGE;
    /* nghttp2 resets the stream (INTERNAL_ERROR) and skips the rest of the block
     * while keeping the HPACK state in step. */
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  s->list_bytes += add;
  if (n.len == 7 && memcmp(n.base, ":status", 7) == 0) {
    /* nghttp2's HTTP messaging checks already required three digits. */
    int st = 0;
    for (size_t i = 0; i < v.len && i < 3; i++) st = st * 10 + (v.base[i] - '0');
    s->status = st;
    return 0;
  }
  if (s->n_hdrs == s->cap_hdrs) {
    if (s->cap_hdrs == 0) {
      s->hdrs = s->hdrs_in;
      s->rcs = s->rcs_in;
      s->cap_hdrs = H2_INLINE_FIELDS;
    } else {
      size_t cap = s->cap_hdrs * 2;
      if (cap > c->lim.max_header_fields) cap = c->lim.max_header_fields;
      int in = s->hdrs == s->hdrs_in;
      h2_header *h = crealloc(in ? NULL : s->hdrs, cap * sizeof(*h), c);
      if (h == NULL) return NGHTTP2_ERR_CALLBACK_FAILURE;
      if (in) memcpy(h, s->hdrs_in, sizeof(s->hdrs_in));
      s->hdrs = h;
      nghttp2_rcbuf **r = crealloc(in ? NULL : s->rcs, 2 * cap * sizeof(*r), c);
      if (r == NULL) return NGHTTP2_ERR_CALLBACK_FAILURE;
      if (in) memcpy(r, s->rcs_in, sizeof(s->rcs_in));
      s->rcs = r;
      s->cap_hdrs = cap;
    }
  }
  nghttp2_rcbuf_incref(name);
  nghttp2_rcbuf_incref(value);
  s->rcs[2 * s->n_hdrs] = name;
  s->rcs[2 * s->n_hdrs + 1] = value;
  s->hdrs[s->n_hdrs++] = (h2_header){(const char *)n.base, n.len, (const char *)v.base, v.len};
  (void)flags;
  return 0;
}

/* Ends |s| for a flood of the server's, from inside a callback: RST_STREAM
 * ENHANCE_YOUR_CALM (RFC 9113 7: "behavior that might be generating excessive
 * load"), and GUISE_E_HTTP2_PROTOCOL with |why| for the request. */
static void stream_flood(h2_conn *c, h2_stream *s, const char *why) {
  s->err = GUISE_E_HTTP2_PROTOCOL;
  s->why = why;
  nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_ENHANCE_YOUR_CALM);
}

static void deliver_headers(h2_conn *c, h2_stream *s) {
  h2_headers_kind kind;
  int status = s->status;
  if (s->final_seen) {
    kind = H2_HEADERS_TRAILERS;
    status = 0;
  } else if (status >= 100 && status < 200) {
    kind = H2_HEADERS_INFORMATIONAL;
    if (++s->interim > H2_MAX_INTERIM) {
      block_release(s);
      stream_flood(c, s, "more than 32 interim (1xx) responses on the stream");
      return;
    }
  } else {
    kind = H2_HEADERS_RESPONSE;
    s->final_seen = 1;
  }
  int rv = 0;
  if (s->cb.on_headers) rv = s->cb.on_headers(s->ud, s->id, kind, status, s->hdrs, s->n_hdrs);
  block_release(s);
  if (rv != 0) cancel_inside(c, s, rv < 0 ? rv : GUISE_E_CANCELLED); /* as on_data_chunk */
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud) {
  h2_conn *c = ud;
  h2_stream *s = frame->hd.stream_id ? stream_of(c, frame->hd.stream_id) : NULL;
  switch (frame->hd.type) {
  case NGHTTP2_HEADERS:
    c->empty_data = 0;
    if (s == NULL) break;
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) s->remote_end = 1;
    if (!s->err && !s->block_bad) deliver_headers(c, s);
    else block_release(s);
    break;
  case NGHTTP2_DATA:
    if (s && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) s->remote_end = 1;
    if (frame->hd.length > frame->data.padlen) { /* padlen counts the Pad Length byte */
      c->empty_data = 0;
      if (s) s->empty_data = 0;
    } else if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !c->why) {
      /* Nothing in it and not the end: bounded per stream and per connection
       * (H2_MAX_EMPTY_DATA_*). Once the connection is ending, the rest of
       * what was read is not counted (h2_recv ends every stream). */
      if (++c->empty_data >= H2_MAX_EMPTY_DATA_CONN) {
        c->why = "10000 empty DATA frames in a row on the connection";
        nghttp2_session_terminate_session(ng, NGHTTP2_ENHANCE_YOUR_CALM);
      } else if (s && !s->err && ++s->empty_data >= H2_MAX_EMPTY_DATA_STREAM) {
        stream_flood(c, s, "1000 empty DATA frames in a row on the stream");
      }
    }
    break;
  case NGHTTP2_SETTINGS:
    if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) c->settings_recv = 1;
    break;
  case NGHTTP2_RST_STREAM:
    if (s) {
      s->rst_recv = 1;
      s->rst_code = frame->rst_stream.error_code;
    }
    break;
  case NGHTTP2_GOAWAY:
    /* A second GOAWAY may only lower last_stream_id (RFC 9113 §6.8). */
    if (!c->goaway_recv || (uint32_t)frame->goaway.last_stream_id < c->goaway_last)
      c->goaway_last = (uint32_t)frame->goaway.last_stream_id;
    c->goaway_recv = 1;
    c->goaway_code = frame->goaway.error_code;
    if (c->cb.on_goaway) c->cb.on_goaway(c->ud, c->goaway_last, c->goaway_code);
    break;
  default:
    break;
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *ud) {
  h2_conn *c = ud;
  h2_stream *s = stream_of(c, stream_id);
  if (s == NULL || s->err) return 0;
  /* The callback's own GUISE_E_* code (a body over the cap: HTTP_BODY_TOO_LARGE,
   * as over HTTP/1.1) is the stream's verdict; any other non-zero is a cancel. */
  int rv = s->cb.on_data ? s->cb.on_data(s->ud, stream_id, data, len) : 0;
  if (rv != 0) cancel_inside(c, s, rv < 0 ? rv : GUISE_E_CANCELLED);
  (void)flags;
  return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code,
                           void *ud) {
  h2_conn *c = ud;
  h2_stream *s = stream_of(c, stream_id);
  if (s == NULL) return 0;
  int err;
  uint32_t code = error_code;
  if (s->err) {
    err = s->err;
  } else if (s->rst_recv) {
    code = s->rst_code;
    /* RFC 9113 §8.1: RST_STREAM NO_ERROR after a complete response only stops
     * the request body; REFUSED_STREAM means not processed (§8.7). */
    if (s->rst_code == NGHTTP2_NO_ERROR && s->remote_end && s->final_seen) err = 0;
    else if (s->rst_code == NGHTTP2_REFUSED_STREAM) err = GUISE_E_HTTP2_REFUSED;
    else err = GUISE_E_HTTP2_STREAM_RESET;
  } else if (error_code == NGHTTP2_NO_ERROR) {
    err = (s->remote_end && s->final_seen) ? 0 : GUISE_E_HTTP2_PROTOCOL;
  } else if (error_code == NGHTTP2_REFUSED_STREAM) {
    /* nghttp2 closes streams above a received GOAWAY's last_stream_id so. */
    err = GUISE_E_HTTP2_REFUSED;
  } else {
    /* nghttp2 reset the stream for a malformed response (RFC 9113 §8.1.1). */
    err = GUISE_E_HTTP2_PROTOCOL;
  }
  stream_finish(c, s, err, code);
  return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud) {
  h2_conn *c = ud;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    h2_stream *s = find_req(c, frame->hd.stream_id);
    if (s && !s->headers_sent) {
      s->headers_sent = 1;
      c->unsent_headers--;
    }
  }
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    c->goaway_sent = 1;
    if (frame->goaway.error_code != NGHTTP2_NO_ERROR) c->proto_error = 1;
  }
  (void)ng;
  return 0;
}

static int on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error,
                             void *ud) {
  h2_conn *c = ud;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  h2_stream *s = find_req(c, frame->hd.stream_id);
  /* An opened stream is reported by on_stream_close; only a request that never
   * became a stream ends here. */
  if (s == NULL || nghttp2_session_find_stream(ng, s->id) != NULL) return 0;
  int err = s->err;
  if (!err) {
    switch (lib_error) {
    case NGHTTP2_ERR_START_STREAM_NOT_ALLOWED: err = GUISE_E_HTTP2_REFUSED; break;
    case NGHTTP2_ERR_STREAM_CLOSING: err = GUISE_E_CANCELLED; break;
    case NGHTTP2_ERR_NOMEM: err = GUISE_E_NOMEM; break;
    case NGHTTP2_ERR_FRAME_SIZE_ERROR:  /* header block over 64 KiB encoded */
      err = GUISE_E_USAGE_INVALID_ARGUMENT;
      break;
    default: err = GUISE_E_INTERNAL; break;
    }
  }
  c->ng_err = lib_error;
  stream_finish(c, s, err, 0);
  return 0;
}

static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error,
                            void *ud) {
  h2_conn *c = ud;
  c->ng_err = lib_error;
  (void)ng;
  (void)frame;
  return 0;
}

static int on_error(nghttp2_session *ng, int lib_error, const char *msg, size_t len, void *ud) {
  h2_conn *c = ud;
  c->ng_err = lib_error;
  if (len >= sizeof(c->ng_msg)) len = sizeof(c->ng_msg) - 1;
  memcpy(c->ng_msg, msg, len);
  c->ng_msg[len] = '\0';
  (void)ng;
  return 0;
}

static ssize_t read_body(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t len,
                         uint32_t *data_flags, nghttp2_data_source *src, void *ud) {
  /* Looked up by id, not through src->ptr: a request closed early (h2_eof, a
   * connection error) has its user data cleared while nghttp2 may still hold
   * the data item. */
  h2_conn *c = ud;
  h2_stream *s = stream_of(c, stream_id);
  (void)src;
  if (s == NULL || s->err) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  int eof = 0;
  long r = s->body.read(s->body.arg, buf, len, &eof);
  if (r == H2_BODY_PAUSE) {
    s->paused = 1;
    return NGHTTP2_ERR_DEFERRED;
  }
  if (r < 0 || (size_t)r > len) {
    s->err = r < 0 ? (int)r : GUISE_E_INTERNAL;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  if (eof) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (s->body_pending) {
      s->body_pending = 0;
      s->conn->bodies_pending--;
    }
  }
  return r;
}

/* ---- Connection ------------------------------------------------------------------ */

static int submit_preface(h2_conn *c, const h2_shape *sh) {
  nghttp2_settings_entry iv[H2_SHAPE_MAX_SETTINGS];
  for (size_t i = 0; i < sh->n_settings; i++) {
    iv[i].settings_id = sh->settings[i].id;
    iv[i].value = sh->settings[i].value;
  }
  /* nghttp2 sends no SETTINGS of its own: this is the only one, ids and order as
   * given. It goes to the urgent queue, sent right after the client magic that
   * nghttp2_session_client_new put in the output buffer. */
  if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sh->n_settings) != 0) return -1;
  /* WINDOW_UPDATE and PRIORITY share the regular queue, sent in submission order
   * after SETTINGS and before any request HEADERS (the stream-opening queue). */
  if (sh->window_update &&
      nghttp2_submit_window_update(c->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)sh->window_update) != 0)
    return -1;
  for (size_t i = 0; i < sh->n_priority_frames; i++) {
    const h2_priority_frame *f = &sh->priority_frames[i];
    nghttp2_priority_spec spec;
    nghttp2_priority_spec_init(&spec, (int32_t)f->priority.depends_on, f->priority.weight,
                               f->priority.exclusive);
    if (nghttp2_submit_priority(c->ng, NGHTTP2_FLAG_NONE, (int32_t)f->stream_id, &spec) != 0)
      return -1;
  }
  if (sh->first_stream_id != 1 &&
      nghttp2_session_set_next_stream_id(c->ng, (int32_t)sh->first_stream_id) != 0)
    return -1;
  return 0;
}

int h2_conn_new(h2_conn **out, const h2_shape *shape, const h2_limits *limits,
                const h2_conn_callbacks *cb, void *ud) {
  const char *why;
  *out = NULL;
  if (shape == NULL || h2_shape_check(shape, &why) != 0) return GUISE_E_USAGE_INVALID_ARGUMENT;
  h2_limits lim;
  if (limits) lim = *limits;
  else h2_limits_init(&lim);
  if (lim.max_header_fields == 0 || lim.max_header_list == 0 || lim.max_requests == 0 ||
      lim.max_memory < 65536)
    return GUISE_E_USAGE_INVALID_ARGUMENT;

  h2_conn *c = calloc(1, sizeof(*c));
  if (c == NULL) return GUISE_E_NOMEM;
  memcpy(c->pseudo_order, shape->pseudo_order, sizeof(c->pseudo_order));
  c->cookie_crumbs = shape->cookie_crumbs;
  c->headers_priority_flag = shape->headers_priority_flag;
  c->headers_priority_chain = shape->headers_priority_chain;
  c->headers_priority = shape->headers_priority;
  c->lim = lim;
  c->max_header_list = lim.max_header_list;
  /* What we announced is what we accept (RFC 9113 §6.5.2 makes it advisory). */
  for (size_t i = 0; i < shape->n_settings; i++)
    if (shape->settings[i].id == SET_MAX_HEADER_LIST_SIZE &&
        shape->settings[i].value < c->max_header_list)
      c->max_header_list = shape->settings[i].value;
  if (cb) c->cb = *cb;
  c->ud = ud;

  nghttp2_session_callbacks *cbs = NULL;
  nghttp2_option *opt = NULL;
  int rv = GUISE_E_NOMEM;
  if (nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0) goto done;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback2(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, on_invalid_frame);
  nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
  /* Options left at nghttp2's defaults on purpose, because they match what a
   * browser does: PING and SETTINGS are acknowledged automatically, stream and
   * connection WINDOW_UPDATEs are sent once half a window is consumed (Chrome's
   * rule too), HTTP messaging rules are checked on responses, at most 100
   * streams are opened before the server's SETTINGS arrive (Chrome's initial
   * limit). None of these sends a frame before the first request. */
  /* Safari's order (h2_shape.wait_for_server_settings): no stream may open
   * while the server's concurrency is 0, and nghttp2 takes the server's first
   * SETTINGS as setting it (unlimited unless it says otherwise). It queues that
   * SETTINGS' ACK on the urgent queue while handling the frame, and urgent
   * frames leave before the stream-opening HEADERS: SETTINGS ACK, then HEADERS. */
  if (shape->wait_for_server_settings) nghttp2_option_set_peer_max_concurrent_streams(opt, 0);
  nghttp2_mem mem = {c, cmalloc, cfree, ccalloc, crealloc};
  c->creating = 1;
  int made = nghttp2_session_client_new3(&c->ng, cbs, c, opt, &mem);
  c->creating = 0;
  if (made != 0) goto done;
  if (submit_preface(c, shape) != 0) {
    rv = c->nomem ? GUISE_E_NOMEM : GUISE_E_USAGE_INVALID_ARGUMENT;
    goto done;
  }
  *out = c;
  rv = 0;
done:
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    if (c->ng) nghttp2_session_del(c->ng);
    cache_drain(c);
    free(c);
  }
  return rv;
}

void h2_conn_free(h2_conn *c) {
  if (c == NULL) return;
  c->closed = 1;
  if (!c->over) finish_all(c, GUISE_E_CANCELLED);
  nghttp2_session_del(c->ng);
  cache_drain(c);
  free(c);
}

/* ---- Requests -------------------------------------------------------------------- */

/* RFC 9110 §5.6.2 tchar, lowercase only (RFC 9113 §8.2.1). */
static int name_ok(const char *p, size_t n) {
  static const char tchar_lower[256] = {
      ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
      ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
      ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
      ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
      ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
      ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
      ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1};
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!tchar_lower[(unsigned char)p[i]]) return 0;
  return 1;
}

/* RFC 9113 §8.2.1: no NUL, CR or LF; no leading or trailing SP or HTAB. */
static int value_ok(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p[i] <= '\r' && (p[i] == 0 || p[i] == '\r' || p[i] == '\n')) return 0;
  if (n && (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t')) return 0;
  return 1;
}

static int eq(const h2_header *h, const char *s) {
  size_t n = strlen(s);
  return h->name_len == n && memcmp(h->name, s, n) == 0;
}

/* RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2. */
static int connection_specific(const h2_header *h) {
  if (eq(h, "connection") || eq(h, "keep-alive") || eq(h, "proxy-connection") ||
      eq(h, "transfer-encoding") || eq(h, "upgrade"))
    return 1;
  return eq(h, "te") && !(h->value_len == 8 && memcmp(h->value, "trailers", 8) == 0);
}

/* A pseudo-header value: not empty, a valid field value (value_ok), without
 * blanks when |no_space|. Its length in |*len|. One pass: the string's end, CR
 * or LF, and blanks at once (three passes were ~450 instructions a request). */
static int pseudo_ok(const char *v, int no_space, size_t *len) {
  enum { CRLF = 1, BLANK = 2 };
  static const unsigned char cls[256] = {['\r'] = CRLF, ['\n'] = CRLF, [' '] = BLANK, ['\t'] = BLANK};
  if (v == NULL || *v == '\0') return 0;
  size_t n = 0;
  unsigned seen = 0;
  for (; v[n] != '\0'; n++) seen |= cls[(unsigned char)v[n]];
  *len = n;
  if (seen & CRLF) return 0;
  if (seen & BLANK) {
    if (no_space) return 0;
    if (cls[(unsigned char)v[0]] == BLANK || cls[(unsigned char)v[n - 1]] == BLANK) return 0;
  }
  return 1;
}

static nghttp2_nv nv_of(const char *name, size_t nlen, const char *value, size_t vlen) {
  return (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, nlen, vlen, NGHTTP2_NV_FLAG_NONE};
}

int h2_headers_check(const h2_header *headers, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const h2_header *h = &headers[i];
    if (h->name == NULL || (h->value == NULL && h->value_len) || !name_ok(h->name, h->name_len) ||
        !value_ok(h->value, h->value_len) || connection_specific(h))
      return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  return 0;
}

/* ---- cookie crumbs (RFC 9113 §8.2.3) -------------------------------------------- */

static int is_cookie(const h2_header *h) {
  return h->name_len == 6 && memcmp(h->name, "cookie", 6) == 0 && h->value && h->value_len;
}

/* The value split at each ';', each piece without blanks at its ends (empty
 * pieces too, as written) into |out| when not NULL. Returns the number of
 * pieces. */
static size_t crumbs(const h2_header *h, nghttp2_nv *out) {
  const char *v = h->value;
  size_t len = h->value_len, b = 0, n = 0;
  while (b < len && (v[b] == ' ' || v[b] == '\t')) b++;
  while (len > b && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
  for (size_t pos = b;;) {
    const char *semi = memchr(v + pos, ';', len - pos);
    size_t end = semi ? (size_t)(semi - v) : len;
    /* no blank at either end of a field value (RFC 9113 §8.2.1) */
    size_t from = pos, to = end;
    while (from < to && (v[from] == ' ' || v[from] == '\t')) from++;
    while (to > from && (v[to - 1] == ' ' || v[to - 1] == '\t')) to--;
    if (out) out[n] = nv_of(h->name, h->name_len, v + from, to - from);
    n++;
    if (!semi) break;
    pos = end + 1;
  }
  return n;
}

/* Lengths of a request's pseudo-header values: method, authority, scheme,
 * path (0 for NULL). */
typedef struct pseudo_lens {
  size_t m, a, s, p;
} pseudo_lens;

/* The fields of |req| in the order they go out on a connection of |shape|:
 * pseudo-headers in the shape's order (CONNECT: :method and :authority), then
 * the regular fields, a cookie as crumbs when the shape says so. The first
 * |cap| into |out| (NULL: none); returns the count of the whole list. One
 * pass: a request that fits the caller's array is built once. */
static size_t build_nv(const char *pseudo_order, int cookie_crumbs, const h2_request *req,
                       const pseudo_lens *len, nghttp2_nv *out, size_t cap) {
  int is_connect = len->m == 7 && memcmp(req->method, "CONNECT", 7) == 0;
  size_t k = 0;
  if (out == NULL) cap = 0;
  for (int i = 0; i < 4; i++) {
    nghttp2_nv nv;
    switch (pseudo_order[i]) {
    case 'm': nv = nv_of(":method", 7, req->method, len->m); break;
    case 'a': nv = nv_of(":authority", 10, req->authority, len->a); break;
    case 's':
      if (is_connect) continue;
      nv = nv_of(":scheme", 7, req->scheme, len->s);
      break;
    case 'p':
      if (is_connect) continue;
      nv = nv_of(":path", 5, req->path, len->p);
      break;
    default: continue;
    }
    if (k < cap) out[k] = nv;
    k++;
  }
  for (size_t i = 0; i < req->n_headers; i++) {
    const h2_header *h = &req->headers[i];
    if (cookie_crumbs && is_cookie(h)) {
      size_t n = crumbs(h, NULL);
      if (k + n <= cap) crumbs(h, out + k);
      else cap = k; /* past the array: only counted from here on */
      k += n;
      continue;
    }
    if (k < cap) out[k] = nv_of(h->name, h->name_len, h->value ? h->value : "", h->value_len);
    k++;
  }
  return k;
}

static size_t len_or_0(const char *v) {
  return v ? strlen(v) : 0;
}

size_t h2_request_fields(const h2_shape *shape, const h2_request *req, h2_header *out, size_t cap) {
  if (shape == NULL || req == NULL || req->method == NULL || (req->n_headers && req->headers == NULL)) return 0;
  pseudo_lens len = {len_or_0(req->method), len_or_0(req->authority), len_or_0(req->scheme),
                     len_or_0(req->path)};
  size_t n = build_nv(shape->pseudo_order, shape->cookie_crumbs, req, &len, NULL, 0);
  nghttp2_nv *nv = malloc((n ? n : 1) * sizeof(*nv));
  if (nv == NULL) return 0;
  build_nv(shape->pseudo_order, shape->cookie_crumbs, req, &len, nv, n);
  for (size_t i = 0; i < n && i < cap; i++)
    out[i] = (h2_header){(const char *)nv[i].name, nv[i].namelen, (const char *)nv[i].value, nv[i].valuelen};
  free(nv);
  return n;
}

int h2_submit(h2_conn *c, const h2_request *req, const h2_stream_callbacks *cb, void *ud,
              int32_t *stream_id) {
  if (stream_id) *stream_id = 0;
  if (c == NULL || req == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  pseudo_lens len = {0, 0, 0, 0};
  if (!pseudo_ok(req->method, 1, &len.m) || !pseudo_ok(req->authority, 0, &len.a))
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  int is_connect = len.m == 7 && memcmp(req->method, "CONNECT", 7) == 0;
  if (!is_connect && (!pseudo_ok(req->scheme, 1, &len.s) || !pseudo_ok(req->path, 1, &len.p)))
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (req->n_headers && req->headers == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (!req->headers_checked && h2_headers_check(req->headers, req->n_headers) != 0)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (req->body && req->body->read == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  const h2_priority *prio = req->priority;
  if (prio == NULL && c->headers_priority_flag) prio = &c->headers_priority;
  if (prio && (!priority_ok(prio) ||
               (prio->weight == 16 && !prio->exclusive && prio->depends_on == 0)))
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (c->over || c->dead || c->closed || c->goaway_recv || c->goaway_sent || c->proto_error)
    return GUISE_E_HTTP2_GOAWAY;
  if (c->n_streams >= c->lim.max_requests) return GUISE_E_NOMEM;

  /* The fields on the stack when they fit (a browser's request has ~20). */
  nghttp2_nv nv_stack[64], *nva = nv_stack;
  size_t k = build_nv(c->pseudo_order, c->cookie_crumbs, req, &len, nv_stack, 64);
  if (k > 64) nva = cmalloc(k * sizeof(*nva), c);
  h2_stream *s = cmalloc(sizeof(*s), c);
  if (nva == NULL || s == NULL) {
    if (nva != nv_stack) cfree(nva, c);
    cfree(s, c);
    c->nomem = 0;  /* a refused submit is not a connection failure */
    return GUISE_E_NOMEM;
  }
  memset(s, 0, offsetof(h2_stream, hdrs_in)); /* the inline field arrays are filled as used */
  if (nva != nv_stack) build_nv(c->pseudo_order, c->cookie_crumbs, req, &len, nva, k);
  if (req->strings_kept)
    for (size_t i = 0; i < k; i++) nva[i].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;

  s->conn = c;
  if (cb) s->cb = *cb;
  s->ud = ud;
  nghttp2_data_provider prd, *prdp = NULL;
  if (req->body) {
    s->body = *req->body;
    s->has_body = 1;
    prd.source.ptr = s;
    prd.read_callback = read_body;
    prdp = &prd;
  }
  nghttp2_priority_spec spec;
  if (prio) {
    int32_t dep = (int32_t)prio->depends_on;
    if (prio == &c->headers_priority && c->headers_priority_chain) {
      /* The newest open stream of the nearest priority at or above this one's
       * (its own level first, then the next higher, ...), as Chromium's
       * PriorityLowerBound walks its levels. |streams| is newest first and
       * holds the streams not yet closed. */
      const h2_stream *best = NULL;
      for (const h2_stream *o = c->streams; o; o = o->next) {
        if (o->weight >= prio->weight && (best == NULL || o->weight < best->weight)) best = o;
        if (best && best->weight == prio->weight) break; /* its own level: the nearest */
      }
      if (best) dep = best->id;
    }
    nghttp2_priority_spec_init(&spec, dep, prio->weight, prio->exclusive);
    s->weight = prio->weight;
  }
  /* nghttp2 copies the fields (NGHTTP2_NV_FLAG_NONE), so a request that waits
   * for a free stream slot keeps its own copy — unless the caller keeps them. */
  int32_t id = nghttp2_submit_request(c->ng, prio ? &spec : NULL, nva, k, prdp, s);
  if (nva != nv_stack) cfree(nva, c);
  if (id < 0) {
    cfree(s, c);
    c->nomem = 0;
    c->ng_err = id;
    if (id == NGHTTP2_ERR_NOMEM) return GUISE_E_NOMEM;
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) return GUISE_E_HTTP2_GOAWAY;
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  s->id = id;
  c->last_id = id;
  c->unsent_headers++;
  if (s->has_body) {
    s->body_pending = 1;
    c->bodies_pending++;
  }
  s->next = c->streams;
  if (c->streams) c->streams->prev = s;
  c->streams = s;
  c->n_streams++;
  if (stream_id) *stream_id = id;
  return 0;
}

/* Whether nghttp2 has decided to end the connection for an error of the
 * server's (it queued GOAWAY with an error code, and takes no new request). The
 * only public sign of that before the GOAWAY leaves is that requests are no
 * longer allowed while no GOAWAY was received and stream ids remain. */
static int terminating(h2_conn *c) {
  return !c->goaway_recv && c->last_id != (int32_t)MAX_STREAM_ID &&
         !nghttp2_session_check_request_allowed(c->ng);
}

int h2_recv(h2_conn *c, const uint8_t *data, size_t len) {
  if (c->dead) return c->nomem ? GUISE_E_NOMEM : GUISE_E_HTTP2_PROTOCOL;
  if (c->over) return c->proto_error ? GUISE_E_HTTP2_PROTOCOL : 0;
  ssize_t r = nghttp2_session_mem_recv(c->ng, data, len);
  if (r < 0) return fail_fatal(c, (int)r);
  if (!c->over && (terminating(c) || c->why)) {
    c->proto_error = 1;
    finish_all(c, GUISE_E_HTTP2_PROTOCOL);
  }
  check_end(c);
  return c->proto_error ? GUISE_E_HTTP2_PROTOCOL : 0;
}

int h2_send(h2_conn *c, uint8_t *out, size_t cap, size_t *n) {
  *n = 0;
  if (c->dead) return c->nomem ? GUISE_E_NOMEM : GUISE_E_HTTP2_PROTOCOL;
  while (*n < cap && !c->closed) {
    if (c->pend_len == 0) {
      /* After the end only what nghttp2 still owes the server goes out (the
       * GOAWAY of a protocol error, acknowledgements). */
      if (c->over && !nghttp2_session_want_write(c->ng)) break;
      const uint8_t *p;
      ssize_t r = nghttp2_session_mem_send(c->ng, &p);
      if (r < 0) return fail_fatal(c, (int)r);
      if (r == 0) break;
      c->pend = p;
      c->pend_len = (size_t)r;
    }
    size_t k = cap - *n < c->pend_len ? cap - *n : c->pend_len;
    memcpy(out + *n, c->pend, k);
    *n += k;
    c->pend += k;
    c->pend_len -= k;
  }
  check_end(c);
  return 0;
}

int h2_want_write(const h2_conn *c) {
  if (c->dead || c->closed) return 0;
  return c->pend_len > 0 || nghttp2_session_want_write(c->ng);
}

size_t h2_unsent_requests(const h2_conn *c) { return c->unsent_headers; }
int h2_bodies_pending(const h2_conn *c) { return c->bodies_pending > 0; }

size_t h2_queued_frames(const h2_conn *c) {
  if (c->dead || c->closed) return 0;
  return nghttp2_session_get_outbound_queue_size(c->ng) + (c->pend_len > 0);
}

int h2_want_read(const h2_conn *c) {
  if (c->dead || c->over || c->closed) return 0;
  return nghttp2_session_want_read(c->ng);
}

size_t h2_open_requests(const h2_conn *c) { return c->n_streams; }

int h2_server_settings_seen(const h2_conn *c) { return c->settings_recv; }

int h2_takes_requests(const h2_conn *c) {
  if (c->over || c->dead || c->closed || c->goaway_recv || c->goaway_sent || c->proto_error) return 0;
  return c->last_id != (int32_t)MAX_STREAM_ID && nghttp2_session_check_request_allowed(c->ng);
}

size_t h2_memory_used(const h2_conn *c) { return c->mem_used; }

size_t h2_idle_release(h2_conn *c) {
  if (c == NULL || c->fb == NULL || c->n_streams || c->pend_len || c->dead || c->closed ||
      nghttp2_session_want_write(c->ng))
    return 0;
  /* Nothing is queued and no frame is half sent: nghttp2 writes its next frame
   * into the buffer from the start, so the pages may come back zeroed. */
  size_t cached = cache_drain(c);
  if (madvise(c->fb, c->fb_map, MADV_DONTNEED) != 0) return cached;
  return c->fb_map + cached;
}

size_t h2_cached_bytes(const h2_conn *c) { return c && c->cache ? c->cache->bytes : 0; }

size_t h2_out_buffer_resident(const h2_conn *c) {
  if (c == NULL || c->fb == NULL) return 0;
  long page = sysconf(_SC_PAGESIZE);
  unsigned char vec[16];
  size_t pages = c->fb_map / (size_t)page, n = 0;
  if (pages > sizeof(vec) || mincore(c->fb, c->fb_map, vec) != 0) return 0;
  for (size_t i = 0; i < pages; i++) n += vec[i] & 1;
  return n * (size_t)page;
}

void h2_eof(h2_conn *c, int err) {
  c->closed = 1;
  c->pend_len = 0;
  if (!c->over) finish_all(c, err);
}

int h2_cancel(h2_conn *c, int32_t stream_id) {
  h2_stream *s = find_req(c, stream_id);
  if (s == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (!s->err) s->err = GUISE_E_CANCELLED;
  if (c->dead || c->closed) {
    stream_finish(c, s, GUISE_E_CANCELLED, 0);
    return 0;
  }
  /* For a request still queued, nghttp2 marks its HEADERS cancelled (it will
   * never be sent); it may wait in the queue behind MAX_CONCURRENT_STREAMS, so
   * report it now. An open stream gets RST_STREAM CANCEL and is reported by
   * on_stream_close once that frame is out. */
  int opened = nghttp2_session_find_stream(c->ng, stream_id) != NULL;
  int rv = nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
  if (rv == NGHTTP2_ERR_NOMEM) return GUISE_E_NOMEM;
  if (!opened) stream_finish(c, s, GUISE_E_CANCELLED, 0);
  return 0;
}

int h2_resume_body(h2_conn *c, int32_t stream_id) {
  h2_stream *s = find_req(c, stream_id);
  if (s == NULL || !s->has_body || !s->paused || c->dead) return GUISE_E_USAGE_INVALID_ARGUMENT;
  s->paused = 0;
  if (nghttp2_session_resume_data(c->ng, stream_id) != 0) return GUISE_E_USAGE_INVALID_ARGUMENT;
  return 0;
}

const char *h2_close_reason(const h2_conn *c) { return c->closing_why; }

int h2_last_nghttp2_error(const h2_conn *c, const char **text) {
  if (text) *text = c->ng_msg[0] ? c->ng_msg : nghttp2_strerror(c->ng_err);
  return c->ng_err;
}

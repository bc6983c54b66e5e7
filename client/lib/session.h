/*
 * session.h — the protocol seam: one HTTP session on one connection, I/O-free.
 *
 * A session turns requests into bytes for the server and the server's bytes into
 * responses; it never touches a socket, a timer or TLS (as nghttp2's session
 * API: recv, send, want_write). The pool (pool.c) drives every session the same
 * way, whatever the protocol:
 *
 *      request.c ──submit/cancel──▶ session ◀──recv/send/eof/timeout── pool.c ──▶ conn (filters)
 *          ▲                          │
 *          └── on_head/on_data/on_close (per stream)
 *
 * Implementations: session_h1.c (HTTP/1.1: the request writer, the response
 * parser, keep-alive, one stream at a time) and session_h2.c (HTTP/2 over h2.c,
 * with the write-coalescing hold). HTTP/3 will be a third. The ALPN a connection
 * negotiated chooses which one the pool makes (session_new).
 *
 * Retries have one path: a stream the server did not process ends with
 * |retryable| set (HTTP/2 REFUSED_STREAM or above GOAWAY's last stream id;
 * HTTP/1.1 a reused connection that closed before any byte of the response), and
 * the request decides whether to go again on another connection.
 *
 * Not thread-safe: a session belongs to its connection's loop thread.
 */
#ifndef GUISE_SESSION_H
#define GUISE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "gerr.h"
#include "h2.h"

typedef struct session session;

/* SESSION_H3: HTTP/3 over QUIC (session_h3.h). Its recv() takes exactly one UDP
 * datagram per call and its send() writes at most one datagram per call (*n 0:
 * nothing now; the host loops send while want_write); it carries its own TLS, so
 * its connection has no TLS filter. */
typedef enum session_proto { SESSION_H1 = 1, SESSION_H2 = 2, SESSION_H3 = 3 } session_proto;

/* A header field: h2.h's h2_header (name, name_len, value, value_len), so that
 * the HTTP/2 session hands nghttp2's fields on without converting them. Names
 * and values given to callbacks are NUL-terminated and valid during the call
 * only; those of an HTTP/1.1 request are NUL-terminated too. */
typedef h2_header session_header;

/* A request body, pulled as the session can send it (HTTP/2 flow control, the
 * connection's output). read(): as h2_body's (bytes, *eof with the last; or
 * H2_BODY_PAUSE, after which nothing more is asked until session_resume(); or
 * a negative GUISE_E_* code that ends the stream). */
typedef struct session_body {
  long (*read)(void *arg, uint8_t *buf, size_t len, int *eof);
  void *arg;
  /* Content-Length for HTTP/1.1, or SESSION_BODY_UNKNOWN: the length is not
   * known ahead, and HTTP/1.1 sends it with "Transfer-Encoding: chunked"
   * (RFC 9112 7.1; HTTP/2 frames it by DATA and END_STREAM alone). */
  uint64_t length;
} session_body;

#define SESSION_BODY_UNKNOWN UINT64_MAX

typedef struct session_request {
  const char *method, *scheme, *authority, *path;
  /* In the session's own form (session_proto): HTTP/2 lowercase names without
   * connection-specific fields; HTTP/1.1 names as written, Host included. */
  const session_header *headers;
  size_t n_headers;
  const session_body *body;     /* NULL: no body */
  const h2_priority *priority;  /* HTTP/2: NULL for the shape's */
  int headers_checked;          /* HTTP/2: as h2_request */
  int strings_kept;             /* every string lives until on_close */
} session_request;

typedef enum session_head_kind {
  SESSION_HEAD_INTERIM = 1,     /* a 1xx response; more follow */
  SESSION_HEAD_FINAL = 2,       /* the response */
  SESSION_HEAD_TRAILERS = 3     /* trailer fields after the body (status 0) */
} session_head_kind;

/* A stream's events; a non-zero return from on_head or on_data ends the stream
 * (a negative GUISE_E_* code is its result, anything else GUISE_E_CANCELLED). */
typedef struct session_stream_callbacks {
  int (*on_head)(void *ud, session_head_kind kind, int status, const session_header *h, size_t n);
  int (*on_data)(void *ud, const uint8_t *p, size_t n);
  /* Exactly once per accepted submit, last. |err|->code 0: the whole response
   * arrived. |retryable|: the server did not process the request. */
  void (*on_close)(void *ud, const gerr *err, int retryable);
} session_stream_callbacks;

/* What a session may ask of the pool: one timer (0 stops it); when it fires the
 * pool calls session_timeout(). */
typedef struct session_host {
  void (*set_timer)(void *arg, unsigned ms);
  void *arg;
} session_host;

typedef struct session_config {
  size_t max_streams;           /* streams open at once (HTTP/2); HTTP/1.1: 1 */
  unsigned coalesce_ms;         /* HTTP/2 write coalescing hold; 0: off */
} session_config;

typedef struct session_ops {
  session_proto proto;
  const char *name;             /* "HTTP/1.1", "HTTP/2", "HTTP/3" */
  /* 0 and *stream, or a GUISE_E_* code (nothing queued, on_close not called). */
  int (*submit)(session *s, const session_request *r, const session_stream_callbacks *cb, void *ud,
                uint32_t *stream);
  /* Bytes from the server; callbacks run inside. 0, or a code after which the
   * connection is over (every open stream has closed with it). */
  int (*recv)(session *s, const uint8_t *p, size_t n);
  /* Up to |cap| bytes to send into |out|, *n their count; 0 or a code as recv. */
  int (*send)(session *s, uint8_t *out, size_t cap, size_t *n);
  int (*want_write)(const session *s);  /* bytes to send now (a hold says no) */
  size_t (*capacity)(const session *s); /* new streams it takes now */
  size_t (*open_streams)(const session *s);
  int (*alive)(const session *s);       /* 0: over; close the connection */
  void (*cancel)(session *s, uint32_t stream); /* on_close follows (CANCELLED) */
  void (*eof)(session *s, const gerr *why);    /* the transport ended */
  void (*timeout)(session *s);                 /* the host's timer fired */
  void (*free)(session *s);                    /* open streams: on_close CANCELLED */
  /* The body of |stream| whose read() returned H2_BODY_PAUSE has bytes again:
   * it is asked for them as the connection can send (the host then flushes).
   * GUISE_E_USAGE_INVALID_ARGUMENT for a stream that is not open or not paused. */
  int (*resume)(session *s, uint32_t stream);
  /* During on_head: the reason phrase of that head as received, |*len| bytes,
   * not NUL-terminated (HTTP/1.1; may be empty). NULL: the protocol has none
   * (HTTP/2), or the op is absent. */
  const uint8_t *(*reason)(const session *s, size_t *len);
} session_ops;

/* Every implementation's struct begins with this. */
struct session {
  const session_ops *ops;
};

int session_h1_new(session **out, const session_config *cfg, const session_host *host);
int session_h2_new(session **out, const h2_shape *shape, const session_config *cfg,
                   const session_host *host);

static inline session_proto session_protocol(const session *s) { return s->ops->proto; }
static inline const uint8_t *session_reason(const session *s, size_t *len) {
  *len = 0;
  return s->ops->reason ? s->ops->reason(s, len) : NULL;
}
static inline int session_submit(session *s, const session_request *r, const session_stream_callbacks *cb,
                                 void *ud, uint32_t *stream) {
  return s->ops->submit(s, r, cb, ud, stream);
}
static inline int session_recv(session *s, const uint8_t *p, size_t n) { return s->ops->recv(s, p, n); }
static inline int session_send(session *s, uint8_t *out, size_t cap, size_t *n) {
  return s->ops->send(s, out, cap, n);
}
static inline int session_want_write(const session *s) { return s->ops->want_write(s); }
static inline size_t session_capacity(const session *s) { return s->ops->capacity(s); }
static inline size_t session_open_streams(const session *s) { return s->ops->open_streams(s); }
static inline int session_alive(const session *s) { return s->ops->alive(s); }
static inline void session_cancel(session *s, uint32_t stream) { s->ops->cancel(s, stream); }
static inline void session_eof(session *s, const gerr *why) { s->ops->eof(s, why); }
static inline void session_timeout(session *s) { s->ops->timeout(s); }
static inline int session_resume(session *s, uint32_t stream) { return s->ops->resume(s, stream); }
static inline void session_free(session *s) {
  if (s) s->ops->free(s);
}

#endif

/*
 * h2.h — the HTTP/2 client side of libguise: a connection shaped like a given
 * browser's (SETTINGS order and values, connection WINDOW_UPDATE, PRIORITY
 * frames, HEADERS priority, first stream id, pseudo-header order), over
 * nghttp2's session API. See docs/HTTP2.md.
 *
 * Internal to libguise. I/O-free, like nghttp2 itself: bytes from the server go
 * in through h2_recv(), bytes for the server come out of h2_send(), and events
 * come back through callbacks called from inside those two functions. Nothing
 * here touches a socket, a timer or TLS. Its one caller is session_h2.c, the
 * HTTP/2 session the pool drives (session.h); the pool moves the bytes.
 *
 * Two parts:
 *   h2_shape  plain data, capped: what the client preface and every request
 *             HEADERS look like. Profiles load into it; this module is the only
 *             place that turns it into nghttp2 calls.
 *   h2_conn   one client connection made from a shape: requests in, responses
 *             out, each request's end reported exactly once with a GUISE_E_* code.
 *
 * Not thread-safe; one connection belongs to one loop thread.
 */
#ifndef GUISE_H2_H
#define GUISE_H2_H

#include <stddef.h>
#include <stdint.h>

/* ---- Limits ---------------------------------------------------------------------- */

/* SETTINGS parameters in the shape. Browsers send 3 to 6 (Safari 26: 4, Chrome: 4,
 * old Firefox: 6); nghttp2 refuses more than 32 in one incoming frame by default
 * (NGHTTP2_DEFAULT_MAX_SETTINGS), so a real server may do the same. */
#define H2_SHAPE_MAX_SETTINGS 16

/* PRIORITY frames sent after the preface. Firefox before version 89 sent 6 (idle
 * streams 3..13 building its dependency tree), nghttp 5. */
#define H2_SHAPE_MAX_PRIORITY_FRAMES 16

/* Default cap on one response header block: fields. Same order as nginx and
 * Apache's default request field limit (100) with room for Set-Cookie-heavy
 * responses; the observer keeps 128 (GFP_H2_MAX_HEADERS). */
#define H2_DEFAULT_MAX_HEADER_FIELDS 256

/* Default cap on one response header block: bytes, counted as RFC 9113 §6.5.2
 * does (name + value + 32 per field). 256 KiB is what Chrome announces and
 * enforces (SETTINGS_MAX_HEADER_LIST_SIZE 262144). A shape that announces
 * MAX_HEADER_LIST_SIZE lowers the cap to its value: what we promised to accept. */
#define H2_DEFAULT_MAX_HEADER_LIST 262144

/* Default cap on requests one connection holds at once, open and queued (those
 * waiting for the server's MAX_CONCURRENT_STREAMS). Browsers keep far fewer on one
 * connection; the scheduler should never come near it. */
#define H2_DEFAULT_MAX_REQUESTS 1024

/* Default cap on the heap one connection may use, nghttp2's included (its
 * allocator is ours, counting). Covers the HPACK tables (64 KiB announced by
 * Chrome and Firefox), queued frames and up to H2_DEFAULT_MAX_REQUESTS copied
 * request header lists; a server cannot make the client grow past it. */
#define H2_DEFAULT_MAX_MEMORY (32u * 1024u * 1024u)

/* Interim (1xx) responses taken on one stream before it fails: the bound HTTP/1.1
 * has (H1_MAX_INTERIM). A real server sends one or two (100 Continue, 103 Early
 * Hints); one that never stops would keep the client busy forever. */
#define H2_MAX_INTERIM 32
/* DATA frames without payload (length 0, or padding only) and without END_STREAM,
 * in a row, before the stream fails: they carry nothing and cost a callback each
 * (nghttp2 has no bound of its own). Servers send none (an empty DATA frame is
 * how some end a stream, with END_STREAM, which is not counted) or a stray one
 * after a flush; 1000 in a row is 9 KB of frames with no byte of content, no
 * server's behaviour but a flood's. A frame with payload starts the count again. */
#define H2_MAX_EMPTY_DATA_STREAM 1000
/* The same on the whole connection, across its streams (a flood spread over many
 * streams stays under each stream's bound): past it the connection ends with
 * GOAWAY ENHANCE_YOUR_CALM. Ten streams' worth. */
#define H2_MAX_EMPTY_DATA_CONN 10000
/* With h2_shape.wait_for_server_settings: how long the first request waits for
 * the server's SETTINGS before the connection fails. RFC 9113 §3.4 makes
 * SETTINGS the server's first frame, sent at once; a server that has sent none
 * after 10 s is not going to, and sending HEADERS anyway would show a frame
 * order the profile's browser never sends. */
#define H2_SERVER_SETTINGS_WAIT_MS 10000
/* ---- Shape ----------------------------------------------------------------------- */

/* One SETTINGS parameter (RFC 9113 §6.5.1), sent exactly as given: any id, known
 * or not, in the order of the array. */
typedef struct h2_setting {
  uint16_t id;
  uint32_t value;
} h2_setting;

/* RFC 7540 §5.3 priority fields (deprecated by RFC 9113 §5.3.2, still sent by
 * browsers). |weight| is the RFC value 1..256; the wire carries weight - 1. */
typedef struct h2_priority {
  int exclusive;
  uint32_t depends_on;
  uint16_t weight;
} h2_priority;

/* A PRIORITY frame (RFC 9113 §6.3) on |stream_id|, usually an idle stream. */
typedef struct h2_priority_frame {
  uint32_t stream_id;
  h2_priority priority;
} h2_priority_frame;

typedef struct h2_shape {
  /* The one SETTINGS frame of the preface, sent right after the client magic:
   * these ids and values, this order, nothing added. Empty: an empty SETTINGS
   * frame (RFC 9113 §3.4 requires one). */
  h2_setting settings[H2_SHAPE_MAX_SETTINGS];
  size_t n_settings;
  /* Connection-level WINDOW_UPDATE sent after SETTINGS; 0: none. Chrome
   * 15663105 (a 15 MiB window), Firefox 12517377 (12 MiB). 1..2^31-65536. */
  uint32_t window_update;
  /* PRIORITY frames sent after the WINDOW_UPDATE, in this order. */
  h2_priority_frame priority_frames[H2_SHAPE_MAX_PRIORITY_FRAMES];
  size_t n_priority_frames;
  /* Every request's HEADERS carries the PRIORITY flag with |headers_priority|
   * (Chrome: weight 256, exclusive, depends on 0; Firefox: 42, not exclusive).
   * nghttp2 cannot send the flag with the RFC default (weight 16, not exclusive,
   * on 0): h2_shape_check() refuses that combination. */
  int headers_priority_flag;
  h2_priority headers_priority;
  /* With the flag: a stream opened while others are open depends on the newest
   * of them whose weight is at least its own (|headers_priority.depends_on| when
   * none is), exclusive as given — Chromium's Http2PriorityDependencies, which
   * chains concurrent streams: a Debian chromium 156 page load with six
   * stylesheets sent streams 3..13 depending on 0, 3, 5, 7, 9, 11 (nghttpd -v;
   * tests/integration/browsers/test_stream_chain.py). */
  int headers_priority_chain;
  /* A "cookie" field goes out as one field per cookie ("a=1; b=2" as "a=1" and
   * "b=2", in its place), as RFC 9113 §8.2.3 allows and Chromium does: a Debian
   * chromium 156 request with three cookies sent three "cookie" fields between
   * accept-language and priority (nghttpd -v; tests/integration/browsers/
   * test_cookie_crumbs.py). */
  int cookie_crumbs;
  /* The first request's HEADERS waits for the server's SETTINGS, so that the
   * SETTINGS ACK goes out before it: SETTINGS, WINDOW_UPDATE, SETTINGS ACK,
   * HEADERS, as Safari on macOS sends (curl-impersonate's Safari 17.0, 18.0,
   * 18.4, 26.0 and 26.0.1 macOS signatures; its iOS ones send HEADERS first).
   * A server that sends no SETTINGS within H2_SERVER_SETTINGS_WAIT_MS fails the
   * connection (session_h2.c). */
  int wait_for_server_settings;
  /* Stream id of the first request: 1 (Chrome, Safari), 3 (Firefox ESR 153),
   * 15 (Firefox with the old priority tree). Odd, 1..2^31-1. */
  uint32_t first_stream_id;
  /* Pseudo-header order: a permutation of the letters m a s p (":method",
   * ":authority", ":scheme", ":path"), NUL-terminated. Chrome "masp", Firefox
   * "mpas", Safari "msap". */
  char pseudo_order[5];
} h2_shape;

/* Fills |s| with the smallest valid shape: empty SETTINGS, no WINDOW_UPDATE, no
 * PRIORITY frames, no HEADERS priority, first stream 1, order "masp". */
void h2_shape_init(h2_shape *s);

/* Returns 0 if |s| can be sent as given, or -1 with a static reason in |*why|:
 * counts over the caps, a setting value nghttp2 refuses (ENABLE_PUSH,
 * ENABLE_CONNECT_PROTOCOL or NO_RFC7540_PRIORITIES not 0/1, INITIAL_WINDOW_SIZE
 * over 2^31-1, MAX_FRAME_SIZE outside 2^14..2^24-1), a WINDOW_UPDATE that would
 * overflow the window, a weight outside 1..256, a PRIORITY frame on stream 0 or
 * depending on itself, an even or zero first stream, a pseudo order that is not a
 * permutation of "masp", or the default HEADERS priority with the flag set. */
int h2_shape_check(const h2_shape *s, const char **why);

/* ---- Connection ------------------------------------------------------------------ */

typedef struct h2_limits {
  size_t max_header_fields; /* per response header block (trailers are one too) */
  size_t max_header_list;   /* bytes per block, RFC 9113 §6.5.2 counting */
  size_t max_requests;      /* open + queued requests on the connection */
  size_t max_memory;        /* heap of the connection, nghttp2's included */
} h2_limits;

/* Sets every limit of |l| to its H2_DEFAULT_* value. */
void h2_limits_init(h2_limits *l);

/* A header field. Request fields are read during h2_submit() only (nghttp2 copies
 * them). Response fields passed to a callback are valid during the call only, and
 * NUL-terminated: nghttp2 keeps every field in a buffer with a terminating NUL and
 * has refused fields holding NUL, CR or LF (RFC 9113 8.2.1). */
typedef struct h2_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} h2_header;

/* Return value of h2_body.read meaning "no bytes now": the body is paused until
 * h2_resume_body(). */
#define H2_BODY_PAUSE (-1)

/* A request body, pulled as flow control allows. read() writes up to |len| bytes
 * to |buf| and returns their count, setting *eof = 1 with the last bytes (or with
 * 0 bytes); or returns H2_BODY_PAUSE; or a negative GUISE_E_* code, which resets
 * the stream (RST_STREAM INTERNAL_ERROR) and becomes the request's result. */
typedef struct h2_body {
  long (*read)(void *arg, uint8_t *buf, size_t len, int *eof);
  void *arg;
} h2_body;

typedef enum h2_headers_kind {
  H2_HEADERS_INFORMATIONAL = 1, /* a 1xx response; more follow */
  H2_HEADERS_RESPONSE = 2,      /* the final response (status 200..599) */
  H2_HEADERS_TRAILERS = 3       /* trailer fields after the body (status 0) */
} h2_headers_kind;

/*
 * Callbacks of one request; every one may be NULL. |ud| is the user_data given to
 * h2_submit(). A non-zero return from on_headers or on_data cancels the request
 * (RST_STREAM CANCEL): a negative GUISE_E_* code returned is the stream's result
 * (on_close gets it), any other non-zero value gives GUISE_E_CANCELLED.
 */
typedef struct h2_stream_callbacks {
  /* A complete header block: |status| and the regular fields in wire order
   * (":status" is not among them). Valid during the call only. */
  int (*on_headers)(void *ud, int32_t stream_id, h2_headers_kind kind, int status,
                    const h2_header *headers, size_t n);
  /* Response body bytes, as they arrive. Valid during the call only. */
  int (*on_data)(void *ud, int32_t stream_id, const uint8_t *data, size_t len);
  /*
   * The request is over; called exactly once per successful h2_submit(), after
   * which the stream id and |ud| are no longer used. |err| is:
   *   0                              the whole response arrived
   *   GUISE_E_HTTP2_REFUSED          not processed by the server, safe to retry
   *                                  (RST_STREAM REFUSED_STREAM; a stream above
   *                                  GOAWAY's last_stream_id; never sent)
   *   GUISE_E_HTTP2_STREAM_RESET     the server reset it (any other RST_STREAM)
   *   GUISE_E_HTTP2_GOAWAY           the connection ended after a GOAWAY that
   *                                  covered it, before the response was complete
   *   GUISE_E_HTTP2_PROTOCOL         malformed response or connection error; more
   *                                  than H2_MAX_INTERIM interim responses, or
   *                                  H2_MAX_EMPTY_DATA_STREAM / _CONN empty DATA
   *                                  frames in a row (h2_close_reason names it;
   *                                  RST_STREAM / GOAWAY ENHANCE_YOUR_CALM sent)
   *   GUISE_E_HTTP_HEADERS_TOO_LARGE a header block over the limits
   *   GUISE_E_CANCELLED              h2_cancel(), a callback's non-zero return,
   *                                  or h2_conn_free() with the request open
   *   GUISE_E_NOMEM                  the connection ran out of its memory cap
   *   the code given to h2_eof()     the transport ended first
   *   a body read()'s negative code
   * |h2_error| is the HTTP/2 error code seen (RST_STREAM's, or GOAWAY's), 0 if none.
   */
  void (*on_close)(void *ud, int32_t stream_id, int err, uint32_t h2_error);
} h2_stream_callbacks;

/* Connection events. */
typedef struct h2_conn_callbacks {
  /* The server sent GOAWAY. Requests above |last_stream_id| get on_close with
   * GUISE_E_HTTP2_REFUSED; no new request can be submitted. May be NULL. */
  void (*on_goaway)(void *ud, uint32_t last_stream_id, uint32_t error_code);
} h2_conn_callbacks;

typedef struct h2_conn h2_conn;

/*
 * Creates a client connection from |shape| (checked with h2_shape_check) and
 * queues its preface: client magic, SETTINGS, WINDOW_UPDATE, PRIORITY frames, in
 * that order, ahead of any request. |limits| NULL: the defaults. |cb| may be NULL;
 * it is copied. Returns 0 and *out, or GUISE_E_USAGE_INVALID_ARGUMENT (a bad
 * shape or limit) or GUISE_E_NOMEM. Free with h2_conn_free().
 */
int h2_conn_new(h2_conn **out, const h2_shape *shape, const h2_limits *limits,
                const h2_conn_callbacks *cb, void *ud);

/* Ends every request still open with GUISE_E_CANCELLED (on_close is called) and
 * frees |c|. Not from inside a callback of |c|. NULL is ignored. */
void h2_conn_free(h2_conn *c);

/* A request: pseudo-header values (NUL-terminated) and regular fields in the
 * order to send. */
typedef struct h2_request {
  const char *method;
  const char *scheme;
  const char *authority;
  const char *path;
  const h2_header *headers;
  size_t n_headers;
  const h2_body *body;          /* NULL: no body, END_STREAM on HEADERS */
  const h2_priority *priority;  /* NULL: the shape's HEADERS priority */
  /* |headers| passed h2_headers_check() already: not checked again. */
  int headers_checked;
  /* Every string (pseudo-header values, names and values) stays valid until
   * on_close: nghttp2 keeps pointers instead of copies. */
  int strings_kept;
} h2_request;

/* The checks h2_submit() makes on regular fields: 0, or
 * GUISE_E_USAGE_INVALID_ARGUMENT. A list that passes may be given with
 * |headers_checked| for every request that sends it unchanged. */
int h2_headers_check(const h2_header *headers, size_t n);

/*
 * Queues a request. Pseudo-headers go first in the shape's order; regular fields
 * follow exactly as given. Names must be lowercase tokens (RFC 9113 §8.2.1);
 * connection-specific fields (connection, keep-alive, proxy-connection,
 * transfer-encoding, upgrade; te other than "trailers") are refused (§8.2.2);
 * values may not hold NUL, CR or LF nor start or end with space or tab. For
 * CONNECT only :method and :authority are sent (§8.5).
 *
 * The request waits while the server's MAX_CONCURRENT_STREAMS is reached and goes
 * out when a stream ends. *stream_id (may be NULL) receives its id. |cb| and
 * |body| are copied; body->arg and |ud| must live until on_close.
 *
 * Returns 0, or: GUISE_E_USAGE_INVALID_ARGUMENT (an invalid field or priority),
 * GUISE_E_HTTP2_GOAWAY (the connection takes no new streams: GOAWAY received or
 * sent, stream ids used up, the session ended), GUISE_E_NOMEM (memory cap, or
 * max_requests reached). On error nothing is queued and on_close is not called.
 * May be called from inside a callback.
 */
int h2_submit(h2_conn *c, const h2_request *req, const h2_stream_callbacks *cb, void *ud,
              int32_t *stream_id);

/*
 * The fields of |req| exactly as h2_submit() hands them to nghttp2 on a
 * connection of |shape| (the same code builds both): the pseudo-headers in the
 * shape's order (CONNECT: :method and :authority only), then the regular fields
 * in order, a "cookie" as one field per cookie with |shape->cookie_crumbs|.
 * Writes at most |cap| into |out| (names and values point into |req|'s strings
 * or static text; not NUL-terminated in general: use the lengths) and returns
 * the count of the whole list (more than |cap|: |out| holds the first |cap|).
 * 0 for a NULL argument or no memory. Nothing is checked: a list h2_submit()
 * refuses is still listed.
 */
size_t h2_request_fields(const h2_shape *shape, const h2_request *req, h2_header *out, size_t cap);

/*
 * Feeds bytes received from the server. Callbacks run from inside. Returns 0, or
 * a negative code when the connection failed (GUISE_E_HTTP2_PROTOCOL,
 * GUISE_E_NOMEM): every open request has then been closed with it; flush
 * h2_send() (a GOAWAY may be queued) and close the transport.
 */
int h2_recv(h2_conn *c, const uint8_t *data, size_t len);

/*
 * Copies up to |cap| bytes to send to the server into |out|, *n their count (0:
 * nothing to send now). Returns 0 or a negative code as h2_recv(). Call until
 * *n < cap or h2_want_write() is 0.
 */
int h2_send(h2_conn *c, uint8_t *out, size_t cap, size_t *n);

/* Non-zero while h2_send() has bytes to give. */
int h2_want_write(const h2_conn *c);
/* Frames queued to go out (requests' HEADERS among them), and 1 more while a
 * part of the last one is still unsent. */
size_t h2_queued_frames(const h2_conn *c);
/* Requests whose HEADERS have not left yet (h2_open_requests() counts them
 * too); whether some request body is still to be sent. */
size_t h2_unsent_requests(const h2_conn *c);
int h2_bodies_pending(const h2_conn *c);

/* Non-zero while the connection expects bytes from the server: 0 once it is over
 * (GOAWAY exchanged with nothing open, a connection error, h2_eof()). */
int h2_want_read(const h2_conn *c);

/* Non-zero once the server's first SETTINGS frame has been received. */
int h2_server_settings_seen(const h2_conn *c);

/* Requests submitted and not yet closed. */
size_t h2_open_requests(const h2_conn *c);

/* Non-zero while h2_submit() can take a request: no GOAWAY received or sent, no
 * connection error, stream ids left, the connection not ended. */
int h2_takes_requests(const h2_conn *c);

/* Heap bytes the connection holds now (never above limits.max_memory). */
size_t h2_memory_used(const h2_conn *c);

/* Gives back the pages of nghttp2's outbound frame buffer (16 KiB, mapped on
 * its own) and the cached small blocks (h2_cached_bytes) while the connection
 * is idle: no stream open, nothing queued or half sent. Returns the bytes
 * released (0: not idle, or nothing to release). The
 * next frame faults in the pages it writes. The pool calls it once a
 * connection has waited idle for a while (pool.c, POOL_TRIM_MS). */
size_t h2_idle_release(h2_conn *c);

/* Bytes of freed small blocks the connection keeps for its next requests
 * (counted in h2_memory_used(); h2_idle_release() gives them back). For tests. */
size_t h2_cached_bytes(const h2_conn *c);

/* Bytes of that buffer resident in memory now (mincore; for tests). */
size_t h2_out_buffer_resident(const h2_conn *c);

/* h2_idle_release() of an HTTP/2 session (session_h2.c). */
struct session;
size_t session_h2_idle_release(struct session *s);

/*
 * The transport ended (EOF, reset, TLS error): every open request is closed with
 * |err| — or, for a request covered by a received GOAWAY, GUISE_E_HTTP2_GOAWAY;
 * above its last_stream_id, GUISE_E_HTTP2_REFUSED. The connection is then over.
 */
void h2_eof(h2_conn *c, int err);

/* Cancels a request: RST_STREAM CANCEL if it was sent, dropped if still queued;
 * on_close follows with GUISE_E_CANCELLED. GUISE_E_USAGE_INVALID_ARGUMENT for an
 * unknown stream. */
int h2_cancel(h2_conn *c, int32_t stream_id);

/* Resumes a body that returned H2_BODY_PAUSE. GUISE_E_USAGE_INVALID_ARGUMENT for an
 * unknown stream or one not paused. */
int h2_resume_body(h2_conn *c, int32_t stream_id);

/* Inside a stream's on_close: why this module ended it, as a static one-line
 * text naming the cause (e.g. "more than 32 interim (1xx) responses on the
 * stream"), or NULL when the cause is the |err| code alone. */
const char *h2_close_reason(const h2_conn *c);

/* The last nghttp2 library error on |c| (0 if none) and its description (static,
 * or the session's message), kept for verbose output. */
int h2_last_nghttp2_error(const h2_conn *c, const char **text);

#endif

/*
 * h1_response.h — incremental, bounded HTTP/1.x response parser (RFC 9112).
 *
 * Internal to libguise; called by session_h1.c (the HTTP/1.1 session) only.
 * I/O-free: bytes in through h1_response_feed(), one
 * event out per call (picohttpparser style: distinct results for "need more",
 * "head ready", "body bytes", "done", error), body bytes returned as spans of
 * the caller's input (no copy). Any split of the input, down to one byte per
 * call, gives the same head, body, trailers, keep-alive verdict and error.
 *
 * What it accepts, as Chrome does: HTTP/1.0 and HTTP/1.1 (any 1.x minor is
 * read as 1.1, RFC 9110 §2.5), an empty or missing reason phrase, bare LF as
 * a line end (RFC 9112 §2.2 MAY), empty lines before the status line
 * (stray CRLFs after a previous body). What it refuses (GUISE_E_HTTP_PROTOCOL):
 * obs-fold (RFC 9112 §5.2), whitespace before a field's colon (§5.1), a bare
 * CR, NUL in a field, a malformed or conflicting Content-Length, "chunked"
 * not last or twice, malformed chunk sizes and chunk-size overflow.
 * A transfer coding other than chunked (gzip, deflate as transfer codings)
 * gives GUISE_E_DECODE_UNSUPPORTED; "identity" is ignored.
 *
 * Framing (RFC 9112 §6.3), in this order: no body for a HEAD request, for
 * 1xx, 204 and 304, and for a 2xx answer to CONNECT (a tunnel); otherwise
 * Transfer-Encoding (chunked, last) wins over Content-Length, and a message
 * with both is read as chunked but makes the connection not reusable;
 * otherwise Content-Length; otherwise the body runs to the connection's end.
 * 1xx interim responses (100, 103, ...) are skipped; 101 is reported as the
 * final head (the connection then belongs to the new protocol).
 *
 * Caps (each value and why):
 *  H1_MAX_LINE    8 KiB  one status, header or trailer line: nginx's
 *                        large_client_header_buffers default, Apache's
 *                        LimitRequestFieldSize 8190; Chrome allows a 256 KiB
 *                        head in total but real lines stay far below 8 KiB
 *                        (the biggest are Set-Cookie and CSP, ~4 KiB).
 *  H1_MAX_HEADERS 100    header fields of one response: Apache's
 *                        LimitRequestFields 100; real responses carry 10-40.
 *  H1_MAX_HEAD    64 KiB all lines of the head with their line ends. Real
 *                        heads are 0.3-4 KiB (10 KiB with many cookies);
 *                        Chrome allows more, but 64 KiB keeps thousands of
 *                        parsers bounded and is far above what origins send.
 *  H1_MAX_TRAILERS 32    trailer fields (gRPC-web sends 2-3); the trailer
 *                        section is also bounded by H1_MAX_HEAD as a whole.
 *  H1_MAX_CHUNK_LINE 4 KiB a chunk-size line with its extensions: the size
 *                        needs at most 16 hex digits; nobody sends extensions,
 *                        the cap only keeps a hostile one bounded.
 *  H1_MAX_INTERIM 32     1xx responses skipped before the final one: real
 *                        servers send one 100 and one or two 103; a server
 *                        streaming 1xx forever must not hold the request.
 * Over H1_MAX_LINE, H1_MAX_HEADERS or H1_MAX_HEAD: GUISE_E_HTTP_HEADERS_TOO_LARGE.
 */
#ifndef GUISE_H1_RESPONSE_H
#define GUISE_H1_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#define H1_MAX_LINE (8u * 1024u)
#define H1_MAX_HEADERS 100
#define H1_MAX_HEAD (64u * 1024u)
#define H1_MAX_TRAILERS 32
#define H1_MAX_CHUNK_LINE (4u * 1024u)
#define H1_MAX_INTERIM 32

/* Results of h1_response_feed (non-negative); errors are GUISE_E_* (< 0). */
#define H1R_NEED_MORE 0 /* every byte given was consumed; feed more */
#define H1R_HEAD 1      /* the final head is complete: status and fields are readable */
#define H1R_BODY 2      /* *body holds body bytes (a span of the input) */
#define H1R_DONE 3      /* the response is complete; bytes after it are not consumed */

/* What the request was: it changes the framing of the answer. */
#define H1R_REQ_HEAD 1u    /* a HEAD request: never a body */
#define H1R_REQ_CONNECT 2u /* a CONNECT request: a 2xx opens a tunnel, no body */

/* How the body is delimited (RFC 9112 §6.3). */
typedef enum h1_framing {
  H1_FRAMING_NONE = 0,   /* no body */
  H1_FRAMING_LENGTH = 1, /* Content-Length */
  H1_FRAMING_CHUNKED = 2,
  H1_FRAMING_CLOSE = 3 /* until the connection closes */
} h1_framing;

/* A span of bytes; not NUL-terminated. */
typedef struct h1_span {
  const uint8_t *p;
  size_t len;
} h1_span;

typedef struct h1_header {
  h1_span name, value; /* value without surrounding whitespace */
} h1_header;

/* Offsets of a field inside the parser's buffers (they may move as they grow). */
typedef struct h1_field_at {
  uint32_t name_off, name_len, value_off, value_len;
} h1_field_at;

/* A growable byte buffer with a hard maximum, set at creation. */
typedef struct h1_buf {
  uint8_t *p;
  size_t len, cap, max;
} h1_buf;

/* The parser. Plain data so it can be embedded; use only the functions. */
typedef struct h1_response {
  unsigned flags; /* H1R_REQ_* */
  int state;
  int error;           /* sticky error code, 0 while none */
  const char *reason;  /* why the error */
  uint64_t offset;     /* bytes of this response consumed so far */
  uint64_t err_offset; /* response byte at which the error was found */
  /* head */
  h1_buf head;
  size_t line_start; /* start in |head|, |trail| or |scratch| of the line being read */
  size_t line_end;   /* and the end of the last line read (a NUL follows it there) */
  int in_line;       /* a line has begun and its LF has not arrived */
  uint64_t line_off; /* response offset of the first byte of that line */
  size_t head_bytes; /* bytes of the current head section, line ends included */
  unsigned interim;  /* 1xx responses skipped */
  int version;       /* 10 or 11 */
  int status;
  uint32_t reason_off, reason_len;
  h1_field_at fields[H1_MAX_HEADERS];
  size_t n_fields;
  /* trailers */
  h1_buf trail;
  h1_field_at tfields[H1_MAX_TRAILERS];
  size_t n_tfields;
  /* body */
  h1_buf scratch; /* chunk-size lines and the line ends after chunk data */
  h1_framing framing;
  uint64_t content_length;
  uint64_t remaining;  /* of the Content-Length body or of the current chunk */
  uint64_t body_bytes; /* delivered so far */
  int keep_alive;
  int upgraded;
} h1_response;

/* Prepares |p| for the response to a request described by |flags| (0 or
 * H1R_REQ_*). Allocates nothing; buffers grow on demand up to the caps. */
void h1_response_init(h1_response *p, unsigned flags);

/* Prepares |p| for the next response on the same connection, keeping its
 * buffers. Spans from the previous response become invalid. */
void h1_response_reset(h1_response *p, unsigned flags);

/* Frees the buffers of |p| (not |p| itself). |p| may then be inited again. */
void h1_response_free(h1_response *p);

/*
 * Feeds |in[0..len-1]|, the next bytes of the response, and returns at the
 * first event, with |*consumed| bytes of |in| used (the caller passes the
 * rest again). Returns:
 *  H1R_NEED_MORE  all |len| bytes consumed, no event (|len| 0 is fine);
 *  H1R_HEAD       the final head is complete (status >= 200, or 101);
 *  H1R_BODY       |*body| holds 1 or more body bytes: a span of |in|, valid
 *                 as long as |in| is (chunk framing is removed);
 *  H1R_DONE       the response is complete, trailers included; |*consumed|
 *                 stops at its last byte (further calls return H1R_DONE and
 *                 consume nothing);
 *  GUISE_E_HTTP_PROTOCOL, GUISE_E_HTTP_HEADERS_TOO_LARGE,
 *  GUISE_E_DECODE_UNSUPPORTED (a transfer coding other than chunked),
 *  GUISE_E_NOMEM. Errors are sticky: later calls return the same code.
 *  h1_response_error() says why and where (the same offset for any split
 *  of the input); |*consumed| means nothing after an error: the connection
 *  cannot be used any more.
 * |body| may be NULL only if the caller knows no body can come.
 */
int h1_response_feed(h1_response *p, const uint8_t *in, size_t len, size_t *consumed,
                     h1_span *body);

/*
 * Tells |p| the connection has ended (EOF, or TLS close_notify). Returns
 * H1R_DONE when that completes the response (a close-delimited body, or a
 * response already done); GUISE_E_CONNECT_CLOSED when not a single byte of
 * the response had arrived (on a reused connection: safe to retry);
 * GUISE_E_HTTP_TRUNCATED when the head, a Content-Length body or a chunked
 * body was cut short; or the sticky error.
 */
int h1_response_eof(h1_response *p);

/* After H1R_HEAD: the status code (100..999), the version (10 or 11), the
 * reason phrase (possibly empty). */
int h1_response_status(const h1_response *p);
int h1_response_version(const h1_response *p);
h1_span h1_response_reason(const h1_response *p);

/* After H1R_HEAD: the header fields in the order received, names in their
 * original case. Spans valid until h1_response_reset or h1_response_free.
 * Names and values are NUL-terminated (name.p[name.len] == 0, the same for
 * value): they can be given on as C strings without a copy. The same holds
 * for trailers and the reason phrase. */
size_t h1_response_header_count(const h1_response *p);
h1_header h1_response_header(const h1_response *p, size_t i);

/* After H1R_DONE: the trailer fields of a chunked body, in order. */
size_t h1_response_trailer_count(const h1_response *p);
h1_header h1_response_trailer(const h1_response *p, size_t i);

/* After H1R_HEAD: how the body is delimited, and its Content-Length (only
 * meaningful with H1_FRAMING_LENGTH). */
h1_framing h1_response_framing(const h1_response *p);
uint64_t h1_response_content_length(const h1_response *p);

/*
 * After H1R_DONE: whether the connection may carry another request — not
 * when "Connection: close", HTTP/1.0 without "Connection: keep-alive", a
 * close-delimited body, Transfer-Encoding with Content-Length (RFC 9112
 * §6.3 item 3), Transfer-Encoding in HTTP/1.0 (§6.1), 101 or a CONNECT tunnel.
 */
int h1_response_keep_alive(const h1_response *p);

/* The reason of the sticky error (static English, NULL when none) and the
 * offset in the response of the byte where it was found (|offset| may be NULL). */
const char *h1_response_error(const h1_response *p, uint64_t *offset);

#endif /* GUISE_H1_RESPONSE_H */

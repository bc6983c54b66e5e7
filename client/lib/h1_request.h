/*
 * h1_request.h — the HTTP/1.1 request head writer (RFC 9112 §3, §5): request
 * line, then the header fields exactly in the order and letter case given —
 * a profile gives Chrome's Title-Case names ("Host", "Connection",
 * "User-Agent", ...) and its order, and a WAF compares both — then the empty
 * line. Nothing is added, removed, reordered or recased, except one
 * Content-Length (see h1_request.has_body).
 *
 * Internal to libguise. I/O-free. The body is not copied: the caller sends
 * its body_len bytes after the head. Called by session_h1.c only (the
 * HTTP/1.1 session, which pulls the body after the head).
 */
#ifndef GUISE_H1_REQUEST_H
#define GUISE_H1_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

/*
 * Caps.
 * H1_REQUEST_MAX_FIELDS (100): Apache refuses a request with more header
 * fields (LimitRequestFields 100); browsers send 10-25.
 * H1_REQUEST_MAX_HEAD (64 KiB): the largest head written. nginx refuses a
 * line over 8 KiB and a head over 4 x 8 KiB (large_client_header_buffers),
 * Apache a line over 8190 bytes; nothing common accepts more than 64 KiB, so
 * a bigger head is a caller's mistake (a runaway cookie jar), not a request.
 */
#define H1_REQUEST_MAX_FIELDS 100
#define H1_REQUEST_MAX_HEAD (64u * 1024u)

/* One header field, both strings NUL-terminated. |value| NULL is allowed for
 * Content-Length only: "write the body length here". */
typedef struct h1_field {
  const char *name;
  const char *value;
} h1_field;

typedef struct h1_request {
  const char *method; /* a token: "GET", "POST", ... */
  const char *target; /* origin-form from url_target(), or "*", or authority-form */
  const h1_field *fields;
  size_t n_fields;
  /*
   * When set, the message has a body of |body_len| bytes (0 allowed: Chrome
   * sends "Content-Length: 0" for an empty POST). Then: a Content-Length
   * field with a NULL value is written with body_len at its place in the
   * list; one with a value must equal body_len; when there is none and no
   * Transfer-Encoding, "Content-Length: N" is written after the last field.
   * When clear, no Content-Length is added (a NULL-valued one is an error).
   */
  int has_body;
  uint64_t body_len;
} h1_request;

/* Why a request was refused: |field| is the index in |fields| of the field at
 * fault, or -1 for the method, target, or the request as a whole. */
typedef struct h1_request_err {
  long field;
  const char *reason;
} h1_request_err;

/*
 * Checks |r| and sets |*len| to the exact size of its head.
 *
 * Returns 0, or GUISE_E_USAGE_INVALID_ARGUMENT with |*err| (when not NULL)
 * for: a method that is not an RFC 9110 token; an empty target or one with a
 * byte outside 0x21..0x7E; a field name that is not a token; a value with CR,
 * LF or NUL (header injection); no Host field or more than one (RFC 9112
 * §3.2); more than one Content-Length; Content-Length together with
 * Transfer-Encoding (RFC 9112 §6.2); a Content-Length value different from
 * body_len; a NULL value other than a Content-Length with has_body; more
 * than H1_REQUEST_MAX_FIELDS fields; a head over H1_REQUEST_MAX_HEAD.
 */
int h1_request_size(const h1_request *r, size_t *len, h1_request_err *err);

/*
 * Writes the head of |r| into |out| (|cap| bytes) and sets |*len| to its
 * size. Nothing is written unless the whole head fits. Returns 0, the errors
 * of h1_request_size, or GUISE_E_USAGE_INVALID_ARGUMENT when the head is
 * larger than |cap| (reason "head larger than the buffer").
 */
int h1_request_write(const h1_request *r, uint8_t *out, size_t cap, size_t *len,
                     h1_request_err *err);

/*
 * Writes the head of |r| into |*buf| (|*cap| bytes), growing it first with
 * realloc to the head's size when it is smaller (|*buf| NULL and |*cap| 0 to
 * start): one check of |r|, and no allocation once the buffer has held a head
 * as large. Sets |*len|. Returns 0, the errors of h1_request_size (nothing
 * written, the buffer as it was), or GUISE_E_NOMEM (the buffer as it was).
 */
int h1_request_write_grow(const h1_request *r, uint8_t **buf, size_t *cap, size_t *len,
                          h1_request_err *err);

/*
 * Appends the head of |r| to |cbb| (growable or fixed), refusing a head over
 * |max| bytes (and over H1_REQUEST_MAX_HEAD) before anything is appended.
 * Returns 0, the errors of h1_request_size, GUISE_E_USAGE_INVALID_ARGUMENT
 * over |max|, or GUISE_E_NOMEM when |cbb| cannot grow (|cbb| is then in
 * BoringSSL's error state; only CBB_cleanup is allowed).
 */
int h1_request_write_cbb(const h1_request *r, CBB *cbb, size_t max, h1_request_err *err);

#endif /* GUISE_H1_REQUEST_H */

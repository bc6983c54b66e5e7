/*
 * session_h1.c — the HTTP/1.1 session of session.h: one request at a time on a
 * connection, its head written by h1_request.c, its body pulled from the
 * caller, the response read by h1_response.c; keep-alive, and the rule for a
 * reused connection the server had already closed.
 *
 * I/O-free: it calls h1_request.c, h1_response.c and gerr.c only, and needs no
 * timer. The pool calls it through session.h's ops; nothing else does.
 *
 * Memory: the request head is written into a buffer of the session's, grown to
 * the largest head sent on the connection (at most H1_REQUEST_MAX_HEAD); the
 * parser keeps its buffers from one response to the next (h1_response_reset).
 * Response fields go to on_head as the parser's own NUL-terminated spans: no
 * copy.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guise.h"
#include "h1_request.h"
#include "h1_response.h"
#include "session.h"

typedef struct session_h1 {
  session base;          /* first: session.h's */
  int open;              /* a stream is open */
  uint32_t id;           /* its id; ids count up from 1 */
  session_stream_callbacks cb;
  void *ud;
  int got_bytes;         /* a byte of its response arrived */
  int conn_close;        /* it sent "Connection: close" */
  /* the request: its head in |out|, then its body pulled through |body| */
  uint8_t *out;
  size_t out_len, out_off, out_cap;
  int has_body, body_done, body_paused;
  int chunked;           /* the body's length is not known: chunked coding */
  int body_eof;          /* chunked: the source ended; the last chunk is due */
  session_body body;
  uint64_t body_sent;
  /* the response */
  h1_response rsp;
  int rsp_init;
  /* the connection */
  unsigned completed;    /* responses read whole, the connection kept after each */
  int reusable;          /* another request may follow (0 after close, error, cancel) */
  int failed;            /* recv or send gave this code: the connection is over */
} session_h1;

/* Whether the comma-separated list |v| holds the token |tok| (any case, blanks
 * around elements ignored: RFC 9110 5.6.1). */
static int list_has(const char *v, size_t len, const char *tok) {
  size_t tl = strlen(tok);
  const char *end = v + len;
  while (v < end) {
    while (v < end && (*v == ' ' || *v == '\t' || *v == ',')) v++;
    const char *e = v;
    while (e < end && *e != ',') e++;
    const char *t = e;
    while (t > v && (t[-1] == ' ' || t[-1] == '\t')) t--;
    if ((size_t)(t - v) == tl && strncasecmp(v, tok, tl) == 0) return 1;
    v = e;
  }
  return 0;
}

/* Ends the open stream: on_close once, last. The session is ready for the next
 * request (or over) before the callback, which may submit one. */
static void close_stream(session_h1 *s, const gerr *e, int retryable) {
  if (!s->open) return;
  s->open = 0;
  session_stream_callbacks cb = s->cb;
  void *ud = s->ud;
  if (cb.on_close) cb.on_close(ud, e, retryable);
}

/* The stream fails and the connection with it. */
static void fail_stream(session_h1 *s, int code, const char *text) {
  s->reusable = 0;
  gerr e;
  gerr_clear(&e);
  gerr_set(&e, code, "http1", 0, text ? "%s" : NULL, text);
  close_stream(s, &e, 0);
}

/* ---- ops ----------------------------------------------------------------------- */

static int h1s_submit(session *ss, const session_request *r, const session_stream_callbacks *cb, void *ud,
                      uint32_t *stream) {
  session_h1 *s = (session_h1 *)ss;
  if (stream) *stream = 0;
  if (r == NULL || cb == NULL || r->method == NULL || r->path == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (s->failed || !s->reusable) return GUISE_E_CONNECT_CLOSED;
  if (s->open) return GUISE_E_USAGE_INVALID_ARGUMENT; /* one at a time: capacity() said 0 */
  if (r->n_headers > H1_REQUEST_MAX_FIELDS) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (r->body && r->body->length > 0 && r->body->read == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  h1_field fields[H1_REQUEST_MAX_FIELDS + 1];
  size_t nf = 0;
  int conn_close = 0;
  int chunked = r->body != NULL && r->body->length == SESSION_BODY_UNKNOWN;
  for (size_t i = 0; i < r->n_headers; i++) {
    const session_header *h = &r->headers[i];
    /* A Content-Length place (a NULL value) has no number to take when the
     * length is not known: the body goes chunked instead. */
    if (chunked && h->value == NULL && h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0)
      continue;
    fields[nf].name = h->name;
    fields[nf].value = h->value;
    nf++;
    /* RFC 9112 9.6: after "Connection: close" the server may close without
     * saying so; the connection is not used again. */
    if (h->name_len == 10 && strncasecmp(h->name, "connection", 10) == 0 && h->value &&
        list_has(h->value, h->value_len, "close"))
      conn_close = 1;
  }
  /* RFC 9112 6.1, 7.1: a body of unknown length goes chunked; the field is
   * last (request.c refuses a caller's Transfer-Encoding). */
  if (chunked) fields[nf++] = (h1_field){"Transfer-Encoding", "chunked"};
  h1_request hr = {.method = r->method,
                   .target = r->path,
                   .fields = fields,
                   .n_fields = nf,
                   .has_body = r->body != NULL && !chunked,
                   .body_len = r->body && !chunked ? r->body->length : 0};
  size_t len = 0;
  int e = h1_request_write_grow(&hr, &s->out, &s->out_cap, &len, NULL);
  if (e) return e;
  s->out_len = len;
  unsigned flags = strcmp(r->method, "HEAD") == 0 ? H1R_REQ_HEAD : 0;
  if (s->rsp_init) {
    h1_response_reset(&s->rsp, flags);
  } else {
    h1_response_init(&s->rsp, flags);
    s->rsp_init = 1;
  }
  s->out_off = 0;
  s->has_body = r->body != NULL;
  if (s->has_body) s->body = *r->body;
  s->body_sent = 0;
  s->chunked = chunked;
  s->body_eof = 0;
  s->body_done = !s->has_body || s->body.length == 0;
  s->body_paused = 0;
  s->conn_close = conn_close;
  s->got_bytes = 0;
  s->cb = *cb;
  s->ud = ud;
  s->id++;
  s->open = 1;
  if (stream) *stream = s->id;
  return 0;
}

/* The response's final head to on_head: the parser's spans are NUL-terminated. */
static int deliver_head(session_h1 *s, session_head_kind kind) {
  session_header list[H1_MAX_HEADERS > H1_MAX_TRAILERS ? H1_MAX_HEADERS : H1_MAX_TRAILERS];
  int trailers = kind == SESSION_HEAD_TRAILERS;
  size_t m = trailers ? h1_response_trailer_count(&s->rsp) : h1_response_header_count(&s->rsp);
  for (size_t i = 0; i < m; i++) {
    h1_header h = trailers ? h1_response_trailer(&s->rsp, i) : h1_response_header(&s->rsp, i);
    list[i].name = (const char *)h.name.p;
    list[i].name_len = h.name.len;
    list[i].value = (const char *)h.value.p;
    list[i].value_len = h.value.len;
  }
  if (s->cb.on_head == NULL) return 0;
  return s->cb.on_head(s->ud, kind, trailers ? 0 : h1_response_status(&s->rsp), list, m);
}

/* A callback's non-zero return ends the stream (session.h); the rest of the
 * response is not read, so the connection ends too. */
static void callback_ended(session_h1 *s, uint32_t id, int rv) {
  if (!s->open || s->id != id) return; /* cancelled from inside the callback */
  fail_stream(s, rv < 0 ? rv : GUISE_E_CANCELLED, NULL);
}

static int h1s_recv(session *ss, const uint8_t *p, size_t n) {
  session_h1 *s = (session_h1 *)ss;
  if (s->failed) return s->failed;
  if (!s->open) {
    /* Bytes nobody asked for (a 408 on an idle connection, or the rest of a
     * response whose stream ended): the connection is not trusted again. */
    s->reusable = 0;
    s->failed = GUISE_E_HTTP_PROTOCOL;
    return s->failed;
  }
  if (n) s->got_bytes = 1;
  uint32_t id = s->id;
  while (s->open && s->id == id) {
    size_t used = 0;
    h1_span span = {0};
    int k = h1_response_feed(&s->rsp, p, n, &used, &span);
    if (k < 0) {
      fail_stream(s, k, h1_response_error(&s->rsp, NULL));
      s->failed = k;
      return k;
    }
    p += used;
    n -= used;
    if (k == H1R_HEAD) {
      int rv = deliver_head(s, SESSION_HEAD_FINAL);
      if (rv) callback_ended(s, id, rv);
    } else if (k == H1R_BODY) {
      int rv = s->cb.on_data ? s->cb.on_data(s->ud, span.p, span.len) : 0;
      if (rv) callback_ended(s, id, rv);
    } else if (k == H1R_DONE) {
      if (h1_response_trailer_count(&s->rsp) > 0) {
        int rv = deliver_head(s, SESSION_HEAD_TRAILERS);
        if (rv) {
          callback_ended(s, id, rv);
          break;
        }
      }
      /* Kept for the next request when the server allows it and sent nothing
       * more (guise does not pipeline: bytes past the response are an error
       * of the server's, and the connection is not trusted again), the caller
       * did not ask for its end (RFC 9112 9.6: after "Connection: close" the
       * server may close without saying so), and the request went out whole
       * (a server may answer before the body has been read). */
      int whole = s->out_off == s->out_len && s->body_done;
      s->reusable = h1_response_keep_alive(&s->rsp) && n == 0 && !s->conn_close && whole;
      if (s->reusable) s->completed++;
      gerr ok;
      gerr_clear(&ok);
      close_stream(s, &ok, 0);
      return 0;
    } else if (n == 0) {
      return 0; /* NEED_MORE */
    }
  }
  return 0;
}

/* The chunk-size line and the CRLF around a chunk's data (RFC 9112 7.1): at
 * most 8 hex digits (a chunk is at most |cap| bytes), CRLF; CRLF after. */
#define CHUNK_HEAD_MAX 10
#define CHUNK_TAIL 2
#define CHUNK_LAST "0\r\n\r\n" /* the last chunk and the end of the (empty) trailer section */

/* A chunked body into |out| after the head: each read becomes one chunk, the
 * source's end the last chunk. The data is read past the longest size line
 * and moved back to follow the real one. */
static int send_chunks(session_h1 *s, uint8_t *out, size_t cap, size_t *n) {
  while (!s->body_done && !s->body_paused) {
    size_t room = cap - *n;
    if (s->body_eof) {
      if (room < sizeof(CHUNK_LAST) - 1) break;
      memcpy(out + *n, CHUNK_LAST, sizeof(CHUNK_LAST) - 1);
      *n += sizeof(CHUNK_LAST) - 1;
      s->body_done = 1;
      break;
    }
    if (room < CHUNK_HEAD_MAX + CHUNK_TAIL + 1) break;
    size_t want = room - CHUNK_HEAD_MAX - CHUNK_TAIL;
    if (want > 0xffffffffu) want = 0xffffffffu;
    int eof = 0;
    uint8_t *data = out + *n + CHUNK_HEAD_MAX;
    long got = s->body.read(s->body.arg, data, want, &eof);
    if (got == H2_BODY_PAUSE) {
      s->body_paused = 1; /* until session_resume() */
      break;
    }
    if (got < 0 || (size_t)got > want) {
      int code = got < 0 ? (int)got : GUISE_E_INTERNAL;
      fail_stream(s, code, got < 0 ? NULL : "the request body source gave more bytes than asked for");
      s->failed = code;
      return code;
    }
    if (eof) s->body_eof = 1;
    if (got == 0) {
      if (!eof) break; /* nothing now */
      continue;        /* the last chunk */
    }
    char head[CHUNK_HEAD_MAX + 1];
    int hl = snprintf(head, sizeof(head), "%lx\r\n", (unsigned long)got);
    memcpy(out + *n, head, (size_t)hl);
    memmove(out + *n + (size_t)hl, data, (size_t)got);
    *n += (size_t)hl + (size_t)got;
    memcpy(out + *n, "\r\n", CHUNK_TAIL);
    *n += CHUNK_TAIL;
    s->body_sent += (uint64_t)got;
  }
  return 0;
}

static int h1s_send(session *ss, uint8_t *out, size_t cap, size_t *n) {
  session_h1 *s = (session_h1 *)ss;
  *n = 0;
  if (s->failed) return s->failed;
  if (!s->open) return 0;
  size_t k = s->out_len - s->out_off < cap ? s->out_len - s->out_off : cap;
  memcpy(out, s->out + s->out_off, k);
  s->out_off += k;
  *n = k;
  /* The head goes out in a send of its own and the body in the next ones, so
   * each is a write of its own below (TLS records as the head and the body
   * written one after the other: the layout before the session seam). */
  if (k) return 0;
  if (s->chunked) return send_chunks(s, out, cap, n);
  while (*n < cap && s->out_off == s->out_len && !s->body_done && !s->body_paused) {
    uint64_t left = s->body.length - s->body_sent;
    size_t want = cap - *n;
    if ((uint64_t)want > left) want = (size_t)left;
    int eof = 0;
    long got = s->body.read(s->body.arg, out + *n, want, &eof);
    if (got == H2_BODY_PAUSE) {
      s->body_paused = 1; /* until session_resume() */
      break;
    }
    if (got < 0 || (size_t)got > want || (eof && s->body_sent + (uint64_t)got != s->body.length)) {
      /* The body's own error, or more or fewer bytes than its Content-Length:
       * the server would read the rest as a request of its own. */
      int code = got < 0 ? (int)got : GUISE_E_INTERNAL;
      fail_stream(s, code, got < 0 ? NULL : "the request body did not match its Content-Length");
      s->failed = code;
      return code;
    }
    *n += (size_t)got;
    s->body_sent += (uint64_t)got;
    if (s->body_sent == s->body.length) s->body_done = 1;
    if (got == 0 && !eof) break; /* nothing now */
  }
  return 0;
}

static int h1s_want_write(const session *ss) {
  const session_h1 *s = (const session_h1 *)ss;
  if (s->failed || !s->open) return 0;
  return s->out_off < s->out_len || (!s->body_done && !s->body_paused);
}

static size_t h1s_capacity(const session *ss) {
  const session_h1 *s = (const session_h1 *)ss;
  return !s->open && s->reusable && !s->failed;
}

static size_t h1s_open_streams(const session *ss) { return ((const session_h1 *)ss)->open; }

static int h1s_alive(const session *ss) {
  const session_h1 *s = (const session_h1 *)ss;
  if (s->failed) return 0;
  return s->open || s->reusable;
}

static void h1s_cancel(session *ss, uint32_t stream) {
  session_h1 *s = (session_h1 *)ss;
  if (!s->open || stream != s->id) return;
  /* The rest of the response would come on the connection: it is not used again. */
  fail_stream(s, GUISE_E_CANCELLED, NULL);
}

static void h1s_eof(session *ss, const gerr *why) {
  session_h1 *s = (session_h1 *)ss;
  s->reusable = 0;
  if (!s->open) return;
  int code = why ? why->code : 0;
  gerr e;
  gerr_clear(&e);
  int k = h1_response_eof(&s->rsp);
  if (k == H1R_DONE) {
    close_stream(s, &e, 0); /* a body delimited by the close ends cleanly */
    return;
  }
  int err = k < 0 && k != GUISE_E_CONNECT_CLOSED ? k : code ? code : GUISE_E_CONNECT_CLOSED;
  /* The transport's words when it failed (a reset, a TLS alert), as its layer. */
  if (code && why->text[0]) gerr_set(&e, err, why->layer ? why->layer : "http1", why->lib, "%s", why->text);
  else gerr_set(&e, err, code && why->layer ? why->layer : "http1", code ? why->lib : 0, NULL);
  /* A reused connection the server had closed as the request went (its idle
   * timeout): not a byte of the answer came, so the request was not
   * processed; it may go again on another connection. */
  int stale = s->completed > 0 && !s->got_bytes &&
              (code == 0 || code == GUISE_E_CONNECT_RESET || code == GUISE_E_CONNECT_CLOSED);
  close_stream(s, &e, stale);
}

static void h1s_timeout(session *ss) { (void)ss; /* no timer is asked for */ }

static int h1s_resume(session *ss, uint32_t stream) {
  session_h1 *s = (session_h1 *)ss;
  if (!s->open || stream != s->id || !s->body_paused || s->failed) return GUISE_E_USAGE_INVALID_ARGUMENT;
  s->body_paused = 0;
  return 0;
}

static void h1s_free(session *ss) {
  session_h1 *s = (session_h1 *)ss;
  if (s->open) {
    gerr e;
    gerr_clear(&e);
    gerr_set(&e, GUISE_E_CANCELLED, "http1", 0, NULL);
    s->reusable = 0;
    close_stream(s, &e, 0);
  }
  if (s->rsp_init) h1_response_free(&s->rsp);
  free(s->out);
  free(s);
}

static const uint8_t *h1s_reason(const session *ss, size_t *len) {
  const session_h1 *s = (const session_h1 *)ss;
  h1_span r = h1_response_reason(&s->rsp);
  *len = r.len;
  return r.p;
}

static const session_ops h1s_ops = {
    .proto = SESSION_H1,
    .name = "HTTP/1.1",
    .submit = h1s_submit,
    .recv = h1s_recv,
    .send = h1s_send,
    .want_write = h1s_want_write,
    .capacity = h1s_capacity,
    .open_streams = h1s_open_streams,
    .alive = h1s_alive,
    .cancel = h1s_cancel,
    .eof = h1s_eof,
    .timeout = h1s_timeout,
    .free = h1s_free,
    .resume = h1s_resume,
    .reason = h1s_reason,
};

int session_h1_new(session **out, const session_config *cfg, const session_host *host) {
  (void)cfg, (void)host; /* one stream at a time, no timer */
  *out = NULL;
  session_h1 *s = calloc(1, sizeof(*s));
  if (s == NULL) return GUISE_E_NOMEM;
  s->base.ops = &h1s_ops;
  s->reusable = 1;
  *out = &s->base;
  return 0;
}

/*
 * test_session_h1.c — client/lib/session_h1.c without sockets: a scripted server
 * side. Each response text is fed split at every byte boundary (and one byte at
 * a time); the request bytes the session gives are compared with
 * h1_request_write's own output for the same request (what request.c wrote
 * before the session existed). Covers Content-Length, chunked and
 * close-delimited bodies, HEAD, keep-alive against Connection: close (capacity
 * and alive after), the stale-connection retry rule, parse errors and their
 * texts, interim responses and their bound, cancel, eof with a stream open,
 * bytes on an idle connection, and a callback that ends the stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/gtest_check.h"
#include "guise.h"
#include "h1_request.h"
#include "session.h"

/* ---- what a stream saw --------------------------------------------------------- */

typedef struct rec {
  int heads, trailers_seen, closed, retryable, status;
  int err;
  char layer[16];
  char text[GERR_TEXT_MAX];
  char fields[512];   /* "Name: value|..." of the final head */
  char trailers[128];
  char body[256];
  size_t body_len;
  int nul_ok;         /* every name and value ended in a NUL at its length */
  int stop_head;      /* on_head returns this */
  int stop_data;      /* on_data returns this */
} rec;

static void join(char *dst, size_t cap, const session_header *h, size_t n, int *nul_ok) {
  dst[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (strlen(h[i].name) != h[i].name_len || strlen(h[i].value) != h[i].value_len) *nul_ok = 0;
    size_t used = strlen(dst);
    snprintf(dst + used, cap - used, "%s%s: %s", i ? "|" : "", h[i].name, h[i].value);
  }
}

static int on_head(void *ud, session_head_kind kind, int status, const session_header *h, size_t n) {
  rec *r = ud;
  if (kind == SESSION_HEAD_TRAILERS) {
    r->trailers_seen++;
    join(r->trailers, sizeof(r->trailers), h, n, &r->nul_ok);
    return 0;
  }
  r->heads++;
  r->status = status;
  join(r->fields, sizeof(r->fields), h, n, &r->nul_ok);
  return r->stop_head;
}

static int on_data(void *ud, const uint8_t *p, size_t n) {
  rec *r = ud;
  if (r->body_len + n < sizeof(r->body)) {
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
  }
  return r->stop_data;
}

static void on_close(void *ud, const gerr *e, int retryable) {
  rec *r = ud;
  r->closed++;
  r->err = e->code;
  r->retryable = retryable;
  snprintf(r->layer, sizeof(r->layer), "%s", e->layer ? e->layer : "");
  snprintf(r->text, sizeof(r->text), "%s", e->text);
}

static const session_stream_callbacks CB = {on_head, on_data, on_close};

/* A string literal as recv's bytes and count. */
#define TXT(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static void rec_init(rec *r) {
  memset(r, 0, sizeof(*r));
  r->nul_ok = 1;
}

/* ---- the request side ---------------------------------------------------------- */

static const char *body_src;
static size_t body_off;

static long read_body(void *arg, uint8_t *buf, size_t len, int *eof) {
  (void)arg;
  size_t left = strlen(body_src) - body_off;
  size_t n = left < len ? left : len;
  memcpy(buf, body_src + body_off, n);
  body_off += n;
  *eof = body_off == strlen(body_src);
  return (long)n;
}

static session *new_h1(void) {
  session_config cfg = {1, 0};
  session *s = NULL;
  CHECK_EQ(session_h1_new(&s, &cfg, NULL), 0);
  return s;
}

/* Submits |method| / with three fields (and |extra| as a fourth when given),
 * and |body| when not NULL. Returns the stream id, or the error code. */
static long submit(session *s, const char *method, const char *body, const session_header *extra, rec *r) {
  session_header hs[4] = {{"Host", 4, "example.com", 11},
                          {"User-Agent", 10, "t/1", 3},
                          {"Accept", 6, "*/*", 3}};
  size_t n = 3;
  if (extra) hs[n++] = *extra;
  session_body b = {read_body, NULL, body ? strlen(body) : 0};
  body_src = body;
  body_off = 0;
  session_request req = {.method = method, .scheme = "http", .authority = "example.com", .path = "/p",
                         .headers = hs, .n_headers = n, .body = body ? &b : NULL};
  uint32_t id = 0;
  int e = session_submit(s, &req, &CB, r, &id);
  return e ? e : (long)id;
}

/* What the session must send for that request: h1_request_write's head, then
 * the body (as request.c's start_h1 wrote them). */
static size_t expected_request(const char *method, const char *body, const session_header *extra, uint8_t *out,
                               size_t cap) {
  h1_field f[4] = {{"Host", "example.com"}, {"User-Agent", "t/1"}, {"Accept", "*/*"}};
  size_t n = 3;
  if (extra) f[n++] = (h1_field){extra->name, extra->value};
  h1_request hr = {method, "/p", f, n, body != NULL, body ? strlen(body) : 0};
  size_t len = 0;
  CHECK_EQ(h1_request_write(&hr, out, cap, &len, NULL), 0);
  if (body) {
    memcpy(out + len, body, strlen(body));
    len += strlen(body);
  }
  return len;
}

/* Everything the session has to send, |chunk| bytes per call at most. */
static size_t drain(session *s, uint8_t *out, size_t cap, size_t chunk) {
  size_t total = 0;
  for (int i = 0; i < 100000 && session_want_write(s); i++) {
    size_t n = 0;
    size_t room = cap - total < chunk ? cap - total : chunk;
    if (session_send(s, out + total, room, &n) != 0 || n == 0) break;
    total += n;
  }
  return total;
}

/* Feeds |text| in two parts cut at |cut| (0..len), then eof when |eof| is set. */
static void feed_cut(session *s, const char *text, size_t cut, int eof) {
  size_t len = strlen(text);
  if (cut > len) cut = len;
  if (cut) session_recv(s, (const uint8_t *)text, cut);
  if (len - cut) session_recv(s, (const uint8_t *)text + cut, len - cut);
  if (eof) {
    gerr why;
    gerr_clear(&why);
    session_eof(s, &why);
  }
}

/* ---- tests --------------------------------------------------------------------- */

typedef struct want {
  int status, err, reusable;
  const char *fields, *body, *trailers, *text;
} want;

/* One request and |resp| at every cut (and one byte at a time); |eof| ends the
 * connection after it. */
static void every_cut(const char *name, const char *method, const char *resp, int eof, const want *w) {
  size_t len = strlen(resp);
  int bad = 0;
  for (size_t cut = 0; cut <= len + 1; cut++) {
    session *s = new_h1();
    rec r;
    rec_init(&r);
    CHECK_EQ(submit(s, method, NULL, NULL, &r), 1);
    uint8_t out[4096];
    drain(s, out, sizeof(out), sizeof(out));
    if (cut <= len) {
      feed_cut(s, resp, cut, eof);
    } else {
      for (size_t i = 0; i < len; i++) session_recv(s, (const uint8_t *)resp + i, 1);
      if (eof) {
        gerr why;
        gerr_clear(&why);
        session_eof(s, &why);
      }
    }
    int ok = r.closed == 1 && r.err == w->err && r.status == w->status && r.nul_ok && !r.retryable &&
             (w->fields == NULL || strcmp(r.fields, w->fields) == 0) &&
             (w->body == NULL || strcmp(r.body, w->body) == 0) &&
             (w->trailers == NULL || strcmp(r.trailers, w->trailers) == 0) &&
             (w->text == NULL || strcmp(r.text, w->text) == 0) &&
             (int)session_capacity(s) == w->reusable && session_alive(s) == w->reusable &&
             session_open_streams(s) == 0;
    if (!ok && !bad) {
      fprintf(stderr, "%s, cut %zu: closed %d err %d status %d fields \"%s\" body \"%s\" trailers \"%s\" "
              "text \"%s\" capacity %zu alive %d nul_ok %d retryable %d\n",
              name, cut, r.closed, r.err, r.status, r.fields, r.body, r.trailers, r.text, session_capacity(s),
              session_alive(s), r.nul_ok, r.retryable);
      bad = 1;
    }
    session_free(s);
  }
  CHECK_NAMED(name, !bad, "see above");
}

static void test_responses(void) {
  want cl = {200, 0, 1, "Content-Length: 5|X-A: 1", "hello", NULL, NULL};
  every_cut("Content-Length body, kept alive", "GET",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello", 0, &cl);
  want ch = {200, 0, 1, "Transfer-Encoding: chunked", "hello world", "X-T: 9", NULL};
  every_cut("chunked body with trailers, kept alive", "GET",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 9\r\n\r\n", 0,
            &ch);
  want cd = {200, 0, 0, "Content-Type: text/plain", "hello", NULL, NULL};
  every_cut("close-delimited body ends cleanly at eof", "GET",
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", 1, &cd);
  want head = {200, 0, 1, "Content-Length: 100", "", NULL, NULL};
  every_cut("HEAD: no body despite Content-Length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0,
            &head);
  want srv_close = {200, 0, 0, "Connection: close|Content-Length: 2", "ok", NULL, NULL};
  every_cut("server's Connection: close: not reused", "GET",
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 0, &srv_close);
  want h10 = {200, 0, 0, "Content-Length: 2", "ok", NULL, NULL};
  every_cut("HTTP/1.0 without keep-alive: not reused", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0,
            &h10);
  want interim = {204, 0, 1, "X-Final: 1", "", NULL, NULL};
  every_cut("interim responses skipped", "GET",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            "HTTP/1.1 204 No Content\r\nX-Final: 1\r\n\r\n",
            0, &interim);
  want trunc = {200, GUISE_E_HTTP_TRUNCATED, 0, NULL, "hello", NULL, ""};
  every_cut("eof inside a Content-Length body: truncated", "GET",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", 1, &trunc);
  want bad = {0, GUISE_E_HTTP_PROTOCOL, 0, NULL, NULL, NULL, "whitespace between field name and colon (RFC 9112 §5.1)"};
  every_cut("malformed field: the parser's error and text", "GET", "HTTP/1.1 200 OK\r\nBad : x\r\n\r\n", 0, &bad);
}

static void test_interim_bound(void) {
  char resp[2048] = "";
  for (int i = 0; i < 33; i++) strcat(resp, "HTTP/1.1 100 Continue\r\n\r\n");
  strcat(resp, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  session *s = new_h1();
  rec r;
  rec_init(&r);
  CHECK_EQ(submit(s, "GET", NULL, NULL, &r), 1);
  uint8_t out[4096];
  drain(s, out, sizeof(out), sizeof(out));
  CHECK(session_recv(s, (const uint8_t *)resp, strlen(resp)) == GUISE_E_HTTP_PROTOCOL);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_HTTP_PROTOCOL);
  CHECK_STR(r.text, "more than 32 interim responses");
  CHECK_STR(r.layer, "http1");
  CHECK_EQ(r.heads, 0);
  CHECK_EQ(session_alive(s), 0);
  session_free(s);
}

/* The request bytes: h1_request_write's head, then the body; the same at any
 * size of send(). */
static void test_request_bytes(void) {
  session_header conn = {"Connection", 10, "keep-alive", 10};
  struct {
    const char *method, *body;
    const session_header *extra;
  } cases[] = {{"GET", NULL, NULL}, {"POST", "a=1&b=2", &conn}, {"POST", "", NULL}, {"HEAD", NULL, NULL}};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    uint8_t expect[4096];
    size_t wn = expected_request(cases[c].method, cases[c].body, cases[c].extra, expect, sizeof(expect));
    for (size_t chunk = 1; chunk <= 4096; chunk = chunk < 8 ? chunk + 1 : chunk * 8) {
      session *s = new_h1();
      rec r;
      rec_init(&r);
      CHECK_EQ(submit(s, cases[c].method, cases[c].body, cases[c].extra, &r), 1);
      uint8_t got[4096];
      size_t gn = drain(s, got, sizeof(got), chunk);
      CHECK_MSG(gn == wn && memcmp(got, expect, wn) == 0, "request %zu sent in pieces of %zu: %zu bytes, want %zu",
                c, chunk, gn, wn);
      CHECK_EQ(session_want_write(s), 0);
      session_free(s);
    }
  }
  /* A refused head: the writer's code, nothing queued, no on_close. */
  session *s = new_h1();
  rec r;
  rec_init(&r);
  session_header bad = {"X-Bad", 5, "a\r\nInjected: 1", 14};
  CHECK_EQ(submit(s, "GET", NULL, &bad, &r), GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK_EQ(session_want_write(s), 0);
  CHECK_EQ(session_capacity(s), 1);
  CHECK_EQ(r.closed, 0);
  session_free(s);
}

/* A body reader that ends before its Content-Length: the stream fails and the
 * connection with it (the server would read what follows as a request). */
static long short_body(void *arg, uint8_t *buf, size_t len, int *eof) {
  (void)arg, (void)len;
  memcpy(buf, "ab", 2);
  *eof = 1;
  return 2;
}

static void test_body_shorter_than_length(void) {
  session *s = new_h1();
  rec r;
  rec_init(&r);
  session_header hs[] = {{"Host", 4, "example.com", 11}};
  session_body b = {short_body, NULL, 5};
  session_request req = {.method = "POST", .path = "/", .headers = hs, .n_headers = 1, .body = &b};
  uint32_t id;
  CHECK_EQ(session_submit(s, &req, &CB, &r, &id), 0);
  uint8_t out[4096];
  size_t n = 0;
  /* The head goes out alone, as a write of its own (the TLS records of a head
   * and a body written one after the other); the body follows. */
  CHECK_EQ(session_send(s, out, sizeof(out), &n), 0);
  CHECK(n > 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
  CHECK_EQ(r.closed, 0);
  CHECK_EQ(session_send(s, out, sizeof(out), &n), GUISE_E_INTERNAL);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_INTERNAL);
  CHECK_STR(r.text, "the request body did not match its Content-Length");
  CHECK_EQ(session_alive(s), 0);
  session_free(s);
  CHECK_EQ(r.closed, 1);
}

/* One connection, heads of growing then shrinking size: the session's buffer
 * grows and is reused, each head exact. */
static void test_request_bytes_reused(void) {
  session *s = new_h1();
  static const char big[] = "a-long-value-a-long-value-a-long-value-a-long-value-a-long-value-a-long-value";
  session_header extra[3] = {{"X-Small", 7, "1", 1}, {"X-Big", 5, big, sizeof(big) - 1}, {"X-S", 3, "", 0}};
  for (int i = 0; i < 3; i++) {
    rec r;
    rec_init(&r);
    CHECK_EQ(submit(s, "GET", NULL, &extra[i], &r), i + 1);
    uint8_t expect[4096], got[4096];
    size_t wn = expected_request("GET", NULL, &extra[i], expect, sizeof(expect));
    size_t gn = drain(s, got, sizeof(got), 7);
    CHECK_MSG(gn == wn && memcmp(got, expect, wn) == 0, "head %d on a reused connection", i);
    CHECK_EQ(session_recv(s, TXT("HTTP/1.1 204 No Content\r\n\r\n")), 0);
    CHECK_EQ(r.closed, 1);
  }
  session_free(s);
}

/* Capacity and alive: 1 and 1 idle; 0 while a stream is open; after a complete
 * response 1 again, unless the request said "Connection: close". */
static void test_keep_alive(void) {
  static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (int close = 0; close < 2; close++) {
    session *s = new_h1();
    CHECK_EQ(session_capacity(s), 1);
    CHECK_EQ(session_alive(s), 1);
    rec r;
    rec_init(&r);
    session_header conn = {"connection", 10, "Upgrade, CLOSE", 14};
    CHECK_EQ(submit(s, "GET", NULL, close ? &conn : NULL, &r), 1);
    CHECK_EQ(session_capacity(s), 0);
    CHECK_EQ(session_open_streams(s), 1);
    CHECK_EQ(submit(s, "GET", NULL, NULL, &r), GUISE_E_USAGE_INVALID_ARGUMENT); /* one at a time */
    uint8_t out[4096];
    drain(s, out, sizeof(out), sizeof(out));
    CHECK_EQ(session_recv(s, (const uint8_t *)resp, strlen(resp)), 0);
    CHECK_EQ(r.closed, 1);
    CHECK_EQ(r.err, 0);
    CHECK_EQ(session_capacity(s), close ? 0 : 1);
    CHECK_EQ(session_alive(s), close ? 0 : 1);
    if (!close) { /* the next request on it: stream 2 */
      rec r2;
      rec_init(&r2);
      CHECK_EQ(submit(s, "GET", NULL, NULL, &r2), 2);
      drain(s, out, sizeof(out), sizeof(out));
      CHECK_EQ(session_recv(s, (const uint8_t *)resp, strlen(resp)), 0);
      CHECK_EQ(r2.closed, 1);
      CHECK_STR(r2.body, "ok");
    }
    session_free(s);
  }
  /* Bytes after the response: the server's error, not used again. */
  session *s = new_h1();
  rec r;
  rec_init(&r);
  CHECK_EQ(submit(s, "GET", NULL, NULL, &r), 1);
  uint8_t out[4096];
  drain(s, out, sizeof(out), sizeof(out));
  session_recv(s, TXT("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP"));
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, 0);
  CHECK_EQ(session_capacity(s), 0);
  CHECK_EQ(session_alive(s), 0);
  session_free(s);
}

/* A 408 (or anything) on an idle connection: recv says the connection is over. */
static void test_bytes_when_idle(void) {
  session *s = new_h1();
  CHECK(session_recv(s, TXT("HTTP/1.1 408 Request Timeout\r\n\r\n")) < 0);
  CHECK_EQ(session_alive(s), 0);
  CHECK_EQ(session_capacity(s), 0);
  session_free(s);
}

/* The stale rule: retryable only on a reused connection, with no byte of the
 * response, and a clean close or a reset. */
static void stale_case(const char *name, int reused, const char *partial, int code, int want_retry, int want_err) {
  session *s = new_h1();
  uint8_t out[4096];
  if (reused) {
    rec r0;
    rec_init(&r0);
    submit(s, "GET", NULL, NULL, &r0);
    drain(s, out, sizeof(out), sizeof(out));
    session_recv(s, TXT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    CHECK_EQ(r0.closed, 1);
  }
  rec r;
  rec_init(&r);
  CHECK(submit(s, "GET", NULL, NULL, &r) > 0);
  drain(s, out, sizeof(out), sizeof(out));
  if (partial) session_recv(s, (const uint8_t *)partial, strlen(partial));
  gerr why;
  gerr_clear(&why);
  gerr_set(&why, code, "tcp", code ? 104 : 0, code ? "read: connection reset by peer" : NULL);
  session_eof(s, &why);
  char detail[200];
  snprintf(detail, sizeof(detail), "closed %d retryable %d err %d", r.closed, r.retryable, r.err);
  CHECK_NAMED(name, r.closed == 1 && r.retryable == want_retry && r.err == want_err, detail);
  CHECK_EQ(session_alive(s), 0);
  session_free(s);
}

static void test_stale_rule(void) {
  stale_case("stale: reused, clean close, no byte -> retryable", 1, NULL, 0, 1, GUISE_E_CONNECT_CLOSED);
  stale_case("stale: reused, reset, no byte -> retryable", 1, NULL, GUISE_E_CONNECT_RESET, 1,
             GUISE_E_CONNECT_RESET);
  stale_case("stale: reused, closed code, no byte -> retryable", 1, NULL, GUISE_E_CONNECT_CLOSED, 1,
             GUISE_E_CONNECT_CLOSED);
  stale_case("stale: first request on the connection -> not retryable", 0, NULL, 0, 0, GUISE_E_CONNECT_CLOSED);
  stale_case("stale: reused but a byte came -> not retryable", 1, "HTTP/1.1 2", 0, 0, GUISE_E_HTTP_TRUNCATED);
  stale_case("stale: reused, a TLS failure -> not retryable", 1, NULL, GUISE_E_TLS_HANDSHAKE, 0,
             GUISE_E_TLS_HANDSHAKE);
}

/* eof with the stream open: the parser's verdict as code, the transport's words
 * and layer as the detail (request.c's req_h1_eof kept the transport's detail). */
static void test_eof_detail(void) {
  session *s = new_h1();
  rec r;
  rec_init(&r);
  submit(s, "GET", NULL, NULL, &r);
  uint8_t out[4096];
  drain(s, out, sizeof(out), sizeof(out));
  session_recv(s, TXT("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"));
  gerr why;
  gerr_clear(&why);
  gerr_set(&why, GUISE_E_CONNECT_RESET, "tls", 5, "%s", "read: connection reset by peer");
  session_eof(s, &why);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_HTTP_TRUNCATED);
  CHECK_STR(r.text, "read: connection reset by peer");
  CHECK_STR(r.layer, "tls");
  CHECK_STR(r.body, "abc");
  CHECK_EQ(r.retryable, 0);
  session_free(s);
}

static void test_cancel_and_callbacks(void) {
  /* cancel: on_close CANCELLED once; the connection is not used again */
  session *s = new_h1();
  rec r;
  rec_init(&r);
  CHECK_EQ(submit(s, "GET", NULL, NULL, &r), 1);
  session_cancel(s, 7); /* not its stream: nothing */
  CHECK_EQ(r.closed, 0);
  session_cancel(s, 1);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_CANCELLED);
  session_cancel(s, 1);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(session_alive(s), 0);
  CHECK_EQ(session_want_write(s), 0);
  session_free(s);
  CHECK_EQ(r.closed, 1);

  /* on_data's code ends the stream with it */
  s = new_h1();
  rec_init(&r);
  r.stop_data = GUISE_E_HTTP_BODY_TOO_LARGE;
  submit(s, "GET", NULL, NULL, &r);
  uint8_t out[4096];
  drain(s, out, sizeof(out), sizeof(out));
  CHECK_EQ(session_recv(s, TXT("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")), 0);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_HTTP_BODY_TOO_LARGE);
  CHECK_EQ(session_alive(s), 0);
  session_free(s);

  /* on_head's positive return: CANCELLED */
  s = new_h1();
  rec_init(&r);
  r.stop_head = 1;
  submit(s, "GET", NULL, NULL, &r);
  drain(s, out, sizeof(out), sizeof(out));
  session_recv(s, TXT("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"));
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_CANCELLED);
  CHECK_EQ(r.body_len, 0);
  session_free(s);

  /* free with a stream open: on_close CANCELLED */
  s = new_h1();
  rec_init(&r);
  submit(s, "GET", NULL, NULL, &r);
  session_free(s);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_CANCELLED);
}

int main(void) {
  test_responses();
  test_interim_bound();
  test_request_bytes();
  test_request_bytes_reused();
  test_body_shorter_than_length();
  test_keep_alive();
  test_bytes_when_idle();
  test_stale_rule();
  test_eof_detail();
  test_cancel_and_callbacks();
  return gt_done("test_session_h1");
}

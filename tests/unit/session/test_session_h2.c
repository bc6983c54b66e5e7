/*
 * test_session_h2.c — client/lib/session_h2.c without sockets, against an
 * in-memory nghttp2 server session driven by the test: the response's heads
 * (interim, final, trailers), body and close; the request's fields as the
 * server decoded them; REFUSED_STREAM and GOAWAY ending streams as retryable;
 * other resets not; the coalescing hold (want_write 0 while held, the host's
 * timer set to coalesce_ms, released by timeout() or by answers); cancel; eof
 * and protocol errors with streams open (codes, layers, texts); capacity and
 * alive through it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "../../lib/gtest_check.h"
#include "guise.h"
#include "session.h"

/* ---- the server ------------------------------------------------------------------ */

typedef enum { REPLY_OK, REPLY_HOLD, REPLY_RST, REPLY_FULL, REPLY_INTERIM_FLOOD } reply_mode;

typedef struct server {
  nghttp2_session *ng;
  reply_mode mode;
  uint32_t rst_code;
  int n_req;
  int32_t ids[16];
  char fields[16][512]; /* "name: value|..." as decoded, in wire order */
  int rst_recv;
  uint32_t rst_recv_code;
} server;

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, 0}

static ssize_t read_hello(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                          nghttp2_data_source *src, void *ud) {
  (void)ng, (void)id, (void)len, (void)src, (void)ud;
  memcpy(buf, "hello", 5);
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  return 5;
}

static ssize_t read_hello_trailers(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                                   nghttp2_data_source *src, void *ud) {
  (void)len, (void)src, (void)ud;
  memcpy(buf, "hello", 5);
  *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
  nghttp2_nv tr[] = {NV("x-trailer", "t")};
  nghttp2_submit_trailer(ng, id, tr, 1);
  return 5;
}

static void srv_reply(server *s, int32_t id) {
  nghttp2_data_provider hello = {{0}, read_hello}, hello_tr = {{0}, read_hello_trailers};
  nghttp2_nv ok[] = {NV(":status", "200"), NV("content-type", "text/plain"), NV("x-b", "2")};
  nghttp2_nv early[] = {NV(":status", "103"), NV("link", "</a>")};
  nghttp2_nv cont[] = {NV(":status", "100")};
  switch (s->mode) {
  case REPLY_OK:
    nghttp2_submit_response(s->ng, id, ok, 3, &hello);
    break;
  case REPLY_HOLD:
    break;
  case REPLY_RST:
    nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, id, s->rst_code);
    break;
  case REPLY_FULL:
    nghttp2_submit_headers(s->ng, NGHTTP2_FLAG_NONE, id, NULL, early, 2, NULL);
    nghttp2_submit_response(s->ng, id, ok, 3, &hello_tr);
    break;
  case REPLY_INTERIM_FLOOD:
    for (int i = 0; i < 33; i++) nghttp2_submit_headers(s->ng, NGHTTP2_FLAG_NONE, id, NULL, cont, 1, NULL);
    nghttp2_submit_response(s->ng, id, ok, 3, &hello);
    break;
  }
}

static int srv_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud) {
  (void)ng;
  server *s = ud;
  if (f->hd.type == NGHTTP2_HEADERS && s->n_req < 16) {
    s->ids[s->n_req] = f->hd.stream_id;
    s->fields[s->n_req][0] = '\0';
    s->n_req++;
  }
  return 0;
}

static int srv_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                      const uint8_t *value, size_t valuelen, uint8_t flags, void *ud) {
  (void)ng, (void)flags;
  server *s = ud;
  for (int i = 0; i < s->n_req; i++) {
    if (s->ids[i] != f->hd.stream_id) continue;
    char *d = s->fields[i];
    size_t used = strlen(d);
    snprintf(d + used, 512 - used, "%s%.*s: %.*s", used ? "|" : "", (int)namelen, (const char *)name,
             (int)valuelen, (const char *)value);
  }
  return 0;
}

static int srv_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud) {
  (void)ng;
  server *s = ud;
  if (f->hd.type == NGHTTP2_RST_STREAM) {
    s->rst_recv++;
    s->rst_recv_code = f->rst_stream.error_code;
  }
  if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
    srv_reply(s, f->hd.stream_id);
  return 0;
}

static void server_init(server *s, reply_mode mode) {
  memset(s, 0, sizeof(*s));
  s->mode = mode;
  nghttp2_session_callbacks *cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, srv_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, srv_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame_recv);
  nghttp2_session_server_new(&s->ng, cb, s);
  nghttp2_session_callbacks_del(cb);
  nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, NULL, 0);
}

/* ---- the client side ------------------------------------------------------------- */

typedef struct rec {
  int closed, retryable, err, lib;
  char layer[16], text[GERR_TEXT_MAX];
  char kinds[64];    /* "I103 F200 T0" */
  char fields[256];  /* of the final head */
  char body[64];
  int stop_head;
  session *then_submit; /* on_close submits a request on it (into |next|) */
  struct rec *next;
} rec;

static int on_head(void *ud, session_head_kind kind, int status, const session_header *h, size_t n) {
  rec *r = ud;
  size_t used = strlen(r->kinds);
  snprintf(r->kinds + used, sizeof(r->kinds) - used, "%s%c%d", used ? " " : "",
           kind == SESSION_HEAD_INTERIM ? 'I' : kind == SESSION_HEAD_FINAL ? 'F' : 'T', status);
  if (kind == SESSION_HEAD_FINAL) {
    r->fields[0] = '\0';
    for (size_t i = 0; i < n; i++) {
      size_t u = strlen(r->fields);
      snprintf(r->fields + u, sizeof(r->fields) - u, "%s%s: %s", i ? "|" : "", h[i].name, h[i].value);
    }
  }
  return r->stop_head;
}

static int on_data(void *ud, const uint8_t *p, size_t n) {
  rec *r = ud;
  size_t used = strlen(r->body);
  snprintf(r->body + used, sizeof(r->body) - used, "%.*s", (int)n, (const char *)p);
  return 0;
}

static void on_close(void *ud, const gerr *e, int retryable) {
  rec *r = ud;
  r->closed++;
  r->retryable = retryable;
  r->err = e->code;
  r->lib = e->lib;
  snprintf(r->layer, sizeof(r->layer), "%s", e->layer ? e->layer : "");
  snprintf(r->text, sizeof(r->text), "%s", e->text);
  if (r->then_submit) {
    static const session_header hs[] = {{"accept", 6, "*/*", 3}};
    session_request req = {.method = "GET", .scheme = "https", .authority = "example.com", .path = "/next",
                           .headers = hs, .n_headers = 1};
    uint32_t id;
    memset(r->next, 0, sizeof(*r->next));
    static const session_stream_callbacks cb = {NULL, NULL, on_close};
    session_submit(r->then_submit, &req, &cb, r->next, &id);
  }
}

static const session_stream_callbacks CB = {on_head, on_data, on_close};

/* The host's timer: every set_timer call, in order. */
static unsigned timer_calls[32];
static int n_timer_calls;

static void set_timer(void *arg, unsigned ms) {
  (void)arg;
  if (n_timer_calls < 32) timer_calls[n_timer_calls++] = ms;
}

static session *client(size_t max_streams, unsigned coalesce_ms) {
  h2_shape shape;
  h2_shape_init(&shape);
  shape.settings[0] = (h2_setting){2, 0};
  shape.settings[1] = (h2_setting){4, 6291456};
  shape.n_settings = 2;
  shape.window_update = 15663105;
  session_config cfg = {max_streams, coalesce_ms};
  session_host host = {set_timer, NULL};
  n_timer_calls = 0;
  session *s = NULL;
  CHECK_EQ(session_h2_new(&s, &shape, &cfg, &host), 0);
  return s;
}

static long get(session *s, const char *path, rec *r) {
  static const session_header hs[] = {{"accept", 6, "*/*", 3}, {"user-agent", 10, "t", 1}};
  session_request req = {.method = "GET", .scheme = "https", .authority = "example.com", .path = path,
                         .headers = hs, .n_headers = 2};
  memset(r, 0, sizeof(*r));
  uint32_t id = 0;
  int e = session_submit(s, &req, &CB, r, &id);
  return e ? e : (long)id;
}

/* Moves bytes both ways until neither side has anything to say (the client's
 * hold is respected: what it holds stays). */
static void pump(session *c, server *s) {
  static uint8_t buf[1 << 16];
  for (int round = 0; round < 1000; round++) {
    size_t moved = 0;
    while (session_want_write(c)) {
      size_t n = 0;
      if (session_send(c, buf, sizeof(buf), &n) != 0 || n == 0) break;
      CHECK(nghttp2_session_mem_recv(s->ng, buf, n) == (ssize_t)n);
      moved += n;
    }
    const uint8_t *out;
    ssize_t m = nghttp2_session_mem_send(s->ng, &out);
    if (m > 0) {
      session_recv(c, out, (size_t)m);
      moved += (size_t)m;
    }
    if (moved == 0) return;
  }
  CHECK(!"pump did not settle");
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_response(void) {
  server srv;
  server_init(&srv, REPLY_FULL);
  session *c = client(3, 0);
  CHECK_EQ(session_capacity(c), 3);
  CHECK_EQ(session_alive(c), 1);
  rec r;
  CHECK_EQ(get(c, "/a", &r), 1);
  CHECK_EQ(session_capacity(c), 2);
  CHECK_EQ(session_open_streams(c), 1);
  pump(c, &srv);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, 0);
  CHECK_EQ(r.retryable, 0);
  CHECK_STR(r.kinds, "I103 F200 T0");
  CHECK_STR(r.fields, "content-type: text/plain|x-b: 2");
  CHECK_STR(r.body, "hello");
  /* The request as the server decoded it: the shape's pseudo order (masp), then
   * the fields as given. */
  CHECK_EQ(srv.n_req, 1);
  CHECK_STR(srv.fields[0], ":method: GET|:authority: example.com|:scheme: https|:path: /a|accept: */*|user-agent: t");
  CHECK_EQ(session_open_streams(c), 0);
  CHECK_EQ(session_capacity(c), 3);
  CHECK_EQ(session_alive(c), 1);
  CHECK_EQ(n_timer_calls, 0);
  session_free(c);
  nghttp2_session_del(srv.ng);
}

static void reset_case(const char *name, uint32_t code, int want_err, int want_retry) {
  server srv;
  server_init(&srv, REPLY_RST);
  srv.rst_code = code;
  session *c = client(10, 0);
  rec r;
  CHECK_EQ(get(c, "/", &r), 1);
  pump(c, &srv);
  char d[300];
  snprintf(d, sizeof(d), "closed %d err %d retryable %d layer %s lib %d text \"%s\"", r.closed, r.err, r.retryable,
           r.layer, r.lib, r.text);
  CHECK_NAMED(name,
              r.closed == 1 && r.err == want_err && r.retryable == want_retry && strcmp(r.layer, "http2") == 0 &&
                  r.lib == (int)code && strcmp(r.text, "the HTTP/2 stream ended with an error") == 0,
              d);
  CHECK_EQ(session_alive(c), 1); /* the connection goes on */
  session_free(c);
  nghttp2_session_del(srv.ng);
}

static void test_resets(void) {
  reset_case("RST_STREAM REFUSED_STREAM: retryable", NGHTTP2_REFUSED_STREAM, GUISE_E_HTTP2_REFUSED, 1);
  reset_case("RST_STREAM INTERNAL_ERROR: not retryable", NGHTTP2_INTERNAL_ERROR, GUISE_E_HTTP2_STREAM_RESET, 0);
}

static void test_goaway(void) {
  server srv;
  server_init(&srv, REPLY_HOLD);
  session *c = client(10, 0);
  rec r1, r3, r5;
  CHECK_EQ(get(c, "/1", &r1), 1);
  CHECK_EQ(get(c, "/3", &r3), 3);
  pump(c, &srv);
  CHECK_EQ(srv.n_req, 2);
  nghttp2_submit_goaway(srv.ng, NGHTTP2_FLAG_NONE, 1, NGHTTP2_NO_ERROR, NULL, 0);
  pump(c, &srv);
  CHECK_EQ(r3.closed, 1);
  CHECK_EQ(r3.err, GUISE_E_HTTP2_REFUSED);
  CHECK_EQ(r3.retryable, 1);
  CHECK_EQ(r1.closed, 0);
  CHECK_EQ(session_capacity(c), 0);
  CHECK_EQ(session_alive(c), 1); /* stream 1 still runs */
  CHECK_EQ(get(c, "/5", &r5), GUISE_E_HTTP2_GOAWAY);
  srv.mode = REPLY_OK;
  srv_reply(&srv, 1);
  pump(c, &srv);
  CHECK_EQ(r1.closed, 1);
  CHECK_EQ(r1.err, 0);
  CHECK_EQ(r1.retryable, 0);
  CHECK_EQ(session_alive(c), 0); /* GOAWAY and nothing open: over */
  session_free(c);
  nghttp2_session_del(srv.ng);
}

/* max_streams 4, so "enough" is 2: with 3 requests awaiting answers, a 4th is
 * held (1 unsent < 2, 4 open >= 1 + 2, nothing else queued). */
static void test_coalescing_hold(void) {
  for (int how = 0; how < 3; how++) { /* released by: timeout, answers; 2: coalescing off */
    server srv;
    server_init(&srv, REPLY_HOLD);
    unsigned ms = how == 2 ? 0 : 5;
    session *c = client(4, ms);
    pump(c, &srv); /* the prefaces and SETTINGS ACKs */
    rec r[4];
    for (int i = 0; i < 3; i++) CHECK_EQ(get(c, "/", &r[i]), 2 * i + 1);
    CHECK_EQ(session_want_write(c), 1); /* 3 unsent >= 2: no hold */
    pump(c, &srv);
    CHECK_EQ(srv.n_req, 3);
    CHECK_EQ(n_timer_calls, 0);
    CHECK_EQ(get(c, "/", &r[3]), 7);
    if (how == 2) {
      CHECK_EQ(session_want_write(c), 1);
      CHECK_EQ(n_timer_calls, 0);
      pump(c, &srv);
      CHECK_EQ(srv.n_req, 4);
    } else {
      CHECK_EQ(session_want_write(c), 0);
      CHECK_EQ(n_timer_calls, 1);
      CHECK_EQ(timer_calls[0], 5);
      size_t n = 99;
      uint8_t buf[256];
      CHECK_EQ(session_send(c, buf, sizeof(buf), &n), 0);
      CHECK_EQ(n, 0); /* send gives nothing while held */
      pump(c, &srv);
      CHECK_EQ(srv.n_req, 3);
      if (how == 0) {
        session_timeout(c);
        CHECK_EQ(session_want_write(c), 1);
      } else {
        /* answers for two streams: 2 open < 1 + 2, the hold ends and its timer stops */
        srv.mode = REPLY_OK;
        srv_reply(&srv, 1);
        srv_reply(&srv, 3);
        const uint8_t *out;
        ssize_t m;
        while ((m = nghttp2_session_mem_send(srv.ng, &out)) > 0) CHECK_EQ(session_recv(c, out, (size_t)m), 0);
        CHECK_EQ(r[0].closed + r[1].closed, 2);
        CHECK_EQ(session_want_write(c), 1);
        CHECK_EQ(n_timer_calls, 2);
        CHECK_EQ(timer_calls[1], 0);
      }
      pump(c, &srv);
      CHECK_EQ(srv.n_req, 4);
    }
    session_free(c);
    nghttp2_session_del(srv.ng);
  }
}

/* A request submitted from a stream's end inside send() goes out with that
 * flush, not held (as pool.c's flush did before the session: the hold was
 * decided only after a submit or a read). */
static void test_no_hold_inside_send(void) {
  server srv;
  server_init(&srv, REPLY_HOLD);
  session *c = client(4, 5);
  pump(c, &srv);
  rec r[5];
  for (int i = 0; i < 4; i++) CHECK_EQ(get(c, "/", &r[i]), 2 * i + 1);
  CHECK_EQ(session_want_write(c), 1);
  pump(c, &srv);
  CHECK_EQ(srv.n_req, 4);
  CHECK_EQ(n_timer_calls, 0);
  r[0].then_submit = c;
  r[0].next = &r[4];
  session_cancel(c, 1); /* RST_STREAM queued: no hold; the stream ends once it is out */
  pump(c, &srv);
  CHECK_EQ(r[0].closed, 1);
  CHECK_EQ(srv.n_req, 5); /* the request made inside send() went out at once */
  CHECK_EQ(n_timer_calls, 0);
  session_free(c);
  nghttp2_session_del(srv.ng);
}

static void test_cancel(void) {
  server srv;
  server_init(&srv, REPLY_HOLD);
  session *c = client(10, 0);
  rec r;
  CHECK_EQ(get(c, "/", &r), 1);
  pump(c, &srv);
  session_cancel(c, 1);
  pump(c, &srv);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_CANCELLED);
  CHECK_EQ(r.retryable, 0);
  CHECK_EQ(srv.rst_recv, 1);
  CHECK_EQ(srv.rst_recv_code, NGHTTP2_CANCEL);
  session_cancel(c, 1); /* gone: nothing */
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(session_alive(c), 1);
  /* a callback's code ends its stream with it */
  srv.mode = REPLY_OK;
  rec r2;
  CHECK_EQ(get(c, "/", &r2), 3);
  r2.stop_head = GUISE_E_HTTP_TOO_MANY_REDIRECTS;
  pump(c, &srv);
  CHECK_EQ(r2.closed, 1);
  CHECK_EQ(r2.err, GUISE_E_HTTP_TOO_MANY_REDIRECTS);
  /* free with a stream open: CANCELLED */
  srv.mode = REPLY_HOLD;
  rec r3;
  CHECK_EQ(get(c, "/", &r3), 5);
  session_free(c);
  CHECK_EQ(r3.closed, 1);
  CHECK_EQ(r3.err, GUISE_E_CANCELLED);
  nghttp2_session_del(srv.ng);
}

static void test_eof_and_errors(void) {
  /* the transport ends: its code and layer, the stream text of before */
  server srv;
  server_init(&srv, REPLY_HOLD);
  session *c = client(10, 0);
  rec r;
  CHECK_EQ(get(c, "/", &r), 1);
  pump(c, &srv);
  gerr why;
  gerr_clear(&why);
  gerr_set(&why, GUISE_E_CONNECT_RESET, "tcp", 104, "%s", "read: connection reset by peer");
  session_eof(c, &why);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_CONNECT_RESET);
  CHECK_EQ(r.retryable, 0);
  CHECK_STR(r.layer, "tcp");
  CHECK_EQ(r.lib, 104);
  CHECK_STR(r.text, "the HTTP/2 stream ended with an error");
  CHECK_EQ(session_alive(c), 0);
  CHECK_EQ(session_capacity(c), 0);
  session_free(c);
  nghttp2_session_del(srv.ng);

  /* bytes that are not HTTP/2: a connection error, every stream with it */
  server_init(&srv, REPLY_HOLD);
  c = client(10, 0);
  CHECK_EQ(get(c, "/", &r), 1);
  pump(c, &srv);
  static const uint8_t junk[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  CHECK_EQ(session_recv(c, junk, sizeof(junk) - 1), GUISE_E_HTTP2_PROTOCOL);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_HTTP2_PROTOCOL);
  CHECK_EQ(r.retryable, 0);
  CHECK_EQ(session_alive(c), 0);
  CHECK_EQ(session_capacity(c), 0);
  CHECK(session_recv(c, junk, 1) != 0);
  session_free(c);
  nghttp2_session_del(srv.ng);

  /* h2.c's own reason for a stream it failed becomes the text */
  server_init(&srv, REPLY_INTERIM_FLOOD);
  c = client(10, 0);
  CHECK_EQ(get(c, "/", &r), 1);
  pump(c, &srv);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_HTTP2_PROTOCOL);
  CHECK_STR(r.text, "more than 32 interim (1xx) responses on the stream");
  CHECK_STR(r.layer, "http2");
  session_free(c);
  nghttp2_session_del(srv.ng);
}

int main(void) {
  test_response();
  test_resets();
  test_goaway();
  test_coalescing_hold();
  test_no_hold_inside_send();
  test_cancel();
  test_eof_and_errors();
  return gt_done("test_session_h2");
}

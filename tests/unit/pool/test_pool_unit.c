/*
 * test_pool_unit.c — the pool (client/lib/pool.c) and the request's one retry path
 * (client/lib/request.c) without sockets: a guise_client made with
 * client_new_with_seams whose connections, resolver and sessions are this
 * file's fakes. A uv loop runs the timers (idle, max-time) and the fakes' close
 * callbacks; no descriptor is opened. Each case drives the fakes by hand (a
 * connection comes up or fails, a stream gets its answer or is refused) and
 * checks what the pool did: which connections it opened, which request went on
 * which connection in which order, what each request ended with.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "../../lib/gtest_check.h"
#include "client_internal.h"
#include "conn.h"
#include "pool.h"
#include "session.h"

/* ---- fake connections ------------------------------------------------------------- */

#define MAX_CONNS 32

typedef struct fsess fsess;

struct conn {
  int id;
  conn_callbacks cb;
  void *ud;
  int ready, closing, closed;
  int close_err;
  gerr err;
  uv_timer_t t; /* delivers on_close from the loop, as conn.c does */
  size_t written;
  fsess *s;     /* its session once ready */
  int udp;      /* an HTTP/3 connection (conn_options.udp) */
};

static conn *conns[MAX_CONNS];
static int n_conns;

static void fc_closed(uv_handle_t *h) { free(h->data); }

static void fc_deliver_close(uv_timer_t *t) {
  conn *c = t->data;
  c->closed = 1;
  c->cb.on_close(c, c->close_err, c->ud);
  for (int i = 0; i < n_conns; i++)
    if (conns[i] == c) conns[i] = NULL; /* gone: the test no longer touches it */
  uv_close((uv_handle_t *)&c->t, fc_closed);
}

static void fc_end(conn *c, int err) {
  if (c->closing) return;
  c->closing = 1;
  c->close_err = err;
  uv_timer_start(&c->t, fc_deliver_close, 0, 0);
}

static int fc_open(uv_loop_t *loop, const conn_options *o, const conn_callbacks *cb, void *ud, conn **out) {
  if (n_conns == MAX_CONNS) return GUISE_E_NOMEM;
  conn *c = calloc(1, sizeof(*c));
  c->id = n_conns;
  c->udp = o->udp;
  c->cb = *cb;
  c->ud = ud;
  uv_timer_init(loop, &c->t);
  c->t.data = c;
  conns[n_conns++] = c;
  *out = c;
  return 0;
}
static int fc_write(conn *c, const uint8_t *p, size_t n) {
  (void)p;
  c->written += n;
  return 0;
}
static void fc_close(conn *c) { fc_end(c, 0); }
static const gerr *fc_error(const conn *c) { return &c->err; }
static void fc_set_ref(conn *c, int ref) { (void)c, (void)ref; }
/* An address as conn.c writes it (the pool reads an HTTP/3 socket's back). */
static void fc_addr(conn *c, char *out, size_t cap) { snprintf(out, cap, "127.0.0.1:%d", 1000 + c->id); }
static SSL *fc_ssl(conn *c) { (void)c; return NULL; }
static double fc_ms(const conn *c) { (void)c; return 0; }

static const pool_conn_ops fake_conn_ops = {fc_open, fc_write, fc_close, fc_error, fc_set_ref,
                                            fc_addr, fc_addr,  fc_ssl,   fc_ms,    fc_ms,
                                            NULL /* queued: never */};

/* The server side of connection |i|: up with |alpn|, or failed with |err| and words. */
static void conn_up(int i, const char *alpn) {
  CHECK_MSG(conns[i] != NULL, "connection %d was opened", i);
  if (conns[i] == NULL) return;
  conns[i]->ready = 1;
  conns[i]->cb.on_ready(conns[i], alpn, conns[i]->ud);
}
static void conn_fail(int i, int err, const char *text) {
  CHECK_MSG(conns[i] != NULL, "connection %d was opened", i);
  if (conns[i] == NULL) return;
  gerr_set(&conns[i]->err, err, "tcp", 0, "%s", text);
  fc_end(conns[i], err);
}

/* ---- a fake resolver: every name is 127.0.0.1, answered at once ------------------ */

static int fr_resolve(void *r, const char *host, unsigned port, dns_cb cb, void *ud) {
  (void)r, (void)host;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  uv_ip4_addr("127.0.0.1", (int)port, (struct sockaddr_in *)&ss);
  cb(0, &ss, 1, "", ud);
  return 0;
}
static int fr_cancel(void *r, void *ud) { (void)r, (void)ud; return 0; }
static const char *fr_text(const void *r) { (void)r; return "fake DNS"; }
static const pool_resolver_ops fake_resolver = {fr_resolve, fr_cancel, fr_text};

/* ---- fake sessions ------------------------------------------------------------------ */

#define MAX_STREAMS 16

typedef struct fstream {
  int open;
  session_stream_callbacks cb;
  void *ud;
  char path[32];
} fstream;

struct fsess {
  session base;
  session_proto proto;
  size_t max;            /* streams at once: 1 for HTTP/1.1 */
  int alive;             /* 0: over (the pool closes the connection) */
  int close_after;       /* HTTP/1.1 "Connection: close": not alive after the stream */
  fstream st[MAX_STREAMS];
  size_t n_open, pending;
  conn *c;
  int hs_pending;        /* HTTP/3: the handshake is not done (capacity 0) */
};

/* Sessions in the order they were made; each knows its connection once it
 * carries a stream (the pool makes it inside on_ready). */
static fsess *sessions[MAX_CONNS];
static int n_sessions;
static int h1_close_after; /* new HTTP/1.1 sessions say "Connection: close" */

static int fs_submit(session *ss, const session_request *r, const session_stream_callbacks *cb, void *ud,
                     uint32_t *stream) {
  fsess *s = (fsess *)ss;
  if (!s->alive || s->n_open >= s->max) return GUISE_E_HTTP2_GOAWAY;
  for (uint32_t i = 0; i < MAX_STREAMS; i++) {
    if (s->st[i].open) continue;
    s->st[i].open = 1;
    s->st[i].cb = *cb;
    s->st[i].ud = ud;
    snprintf(s->st[i].path, sizeof(s->st[i].path), "%s", r->path);
    s->n_open++;
    s->pending += 10; /* "request bytes" for the pool to write */
    *stream = i + 1;
    return 0;
  }
  return GUISE_E_NOMEM;
}
static int fs_recv(session *ss, const uint8_t *p, size_t n) { (void)ss, (void)p, (void)n; return 0; }
static int fs_send(session *ss, uint8_t *out, size_t cap, size_t *n) {
  fsess *s = (fsess *)ss;
  *n = s->pending < cap ? s->pending : cap;
  memset(out, 'x', *n);
  s->pending -= *n;
  return 0;
}
static int fs_want_write(const session *ss) { return ((const fsess *)ss)->pending > 0; }
static size_t fs_capacity(const session *ss) {
  const fsess *s = (const fsess *)ss;
  if (s->hs_pending) return 0;
  return s->alive && s->n_open < s->max ? s->max - s->n_open : 0;
}
static size_t fs_open_streams(const session *ss) { return ((const fsess *)ss)->n_open; }
static int fs_alive(const session *ss) { return ((const fsess *)ss)->alive; }

/* Ends stream |i| of |s|: on_close with |code| (0: the whole response) and |retryable|. */
static void fs_end(fsess *s, int i, int code, const char *text, int retryable) {
  if (s == NULL || !s->st[i].open) return;
  s->st[i].open = 0;
  s->n_open--;
  if (s->close_after) s->alive = 0;
  gerr e;
  gerr_clear(&e);
  gerr_set(&e, code, "http2", 0, text ? "%s" : NULL, text);
  s->st[i].cb.on_close(s->st[i].ud, &e, retryable);
}

/* Stream |i| gets a 200 response with a 2-byte body and ends. */
static void fs_answer(fsess *s, int i) {
  CHECK(s != NULL);
  if (s == NULL) return;
  fstream *st = &s->st[i];
  CHECK(st->open);
  if (!st->open) return;
  if (st->cb.on_head(st->ud, SESSION_HEAD_FINAL, 200, NULL, 0) == 0) st->cb.on_data(st->ud, (const uint8_t *)"ok", 2);
  fs_end(s, i, 0, NULL, 0);
}

static void fs_cancel(session *ss, uint32_t stream) {
  fsess *s = (fsess *)ss;
  if (s->proto == SESSION_H1) s->alive = 0;
  fs_end(s, (int)stream - 1, GUISE_E_CANCELLED, NULL, 0);
}
static int eof_retryable; /* eof: the open streams were not processed */
static void fs_eof(session *ss, const gerr *why) {
  fsess *s = (fsess *)ss;
  s->alive = 0;
  for (int i = 0; i < MAX_STREAMS; i++)
    fs_end(s, i, why->code ? why->code : GUISE_E_CONNECT_CLOSED, why->text, eof_retryable);
}
static void fs_timeout(session *ss) { (void)ss; }
static void fs_free(session *ss) {
  fsess *s = (fsess *)ss;
  for (int i = 0; i < MAX_STREAMS; i++) fs_end(s, i, GUISE_E_CANCELLED, NULL, 0);
  for (int i = 0; i < n_sessions; i++)
    if (sessions[i] == s) sessions[i] = NULL;
  free(s);
}

static const session_ops fs_h1_ops = {SESSION_H1, "HTTP/1.1", fs_submit, fs_recv, fs_send, fs_want_write,
                                      fs_capacity, fs_open_streams, fs_alive, fs_cancel, fs_eof, fs_timeout,
                                      fs_free, NULL /* resume: no bodies here */, NULL /* reason */};
static const session_ops fs_h2_ops = {SESSION_H2, "HTTP/2", fs_submit, fs_recv, fs_send, fs_want_write,
                                      fs_capacity, fs_open_streams, fs_alive, fs_cancel, fs_eof, fs_timeout,
                                      fs_free, NULL /* resume: no bodies here */, NULL /* reason */};

static const session_ops fs_h3_ops = {SESSION_H3, "HTTP/3", fs_submit, fs_recv, fs_send, fs_want_write,
                                      fs_capacity, fs_open_streams, fs_alive, fs_cancel, fs_eof, fs_timeout,
                                      fs_free, NULL, NULL};

/* pool_config.h3_new: an HTTP/3 session whose handshake the test completes
 * (h3_handshake) or fails (h3_dies); its Initial is ready to go. */
static int fs_h3_new(void *arg, const pool_h3_params *p, const session_host *host, session **out, const char **why) {
  (void)arg, (void)p, (void)host, (void)why;
  fsess *s = calloc(1, sizeof(*s));
  s->base.ops = &fs_h3_ops;
  s->proto = SESSION_H3;
  s->max = MAX_STREAMS;
  s->alive = 1;
  s->hs_pending = 1;
  s->pending = 1200;
  sessions[n_sessions++] = s;
  *out = &s->base;
  return 0;
}

static int fs_new(void *arg, session_proto proto, const h2_shape *shape, const session_config *cfg,
                  const session_host *host, session **out) {
  (void)arg, (void)shape, (void)host;
  fsess *s = calloc(1, sizeof(*s));
  s->base.ops = proto == SESSION_H2 ? &fs_h2_ops : &fs_h1_ops;
  s->proto = proto;
  s->max = proto == SESSION_H2 ? (cfg->max_streams < MAX_STREAMS ? cfg->max_streams : MAX_STREAMS) : 1;
  s->alive = 1;
  s->close_after = proto == SESSION_H1 && h1_close_after;
  sessions[n_sessions++] = s;
  *out = &s->base;
  return 0;
}

static const client_seams seams = {&fake_conn_ops, &fake_resolver, NULL, fs_new, fs_h3_new};

/* ---- requests ----------------------------------------------------------------------- */

#define MAX_REQS 16

typedef struct treq {
  int done, err, status;
  char detail[160];
  char http_version[16];
  char remote[32];
  int reused;
  int order; /* when it completed */
} treq;

static treq reqs[MAX_REQS];
static int n_done;

static void on_complete(void *ud, int err, const guise_response_info *info) {
  treq *t = ud;
  t->done = 1;
  t->err = err;
  t->status = info->status;
  t->reused = info->reused;
  t->order = n_done++;
  snprintf(t->detail, sizeof(t->detail), "%s", info->error_detail ? info->error_detail : "");
  snprintf(t->http_version, sizeof(t->http_version), "%s", info->http_version ? info->http_version : "");
  snprintf(t->remote, sizeof(t->remote), "%s", info->remote ? info->remote : "");
}

static const guise_callbacks callbacks = {NULL, NULL, on_complete};

static uv_loop_t loop;
static guise_client *cl;

static void reset(unsigned per_origin, unsigned idle_ms) {
  memset(conns, 0, sizeof(conns));
  memset(sessions, 0, sizeof(sessions));
  memset(reqs, 0, sizeof(reqs));
  n_conns = n_sessions = n_done = 0;
  eof_retryable = 0;
  h1_close_after = 0;
  guise_client_options co;
  guise_client_options_init(&co);
  co.profile = "none";
  co.max_connections_per_origin = per_origin;
  co.idle_timeout_ms = idle_ms;
  cl = NULL;
  int e = client_new_with_seams((struct uv_loop_s *)&loop, &co, &seams, &cl);
  CHECK_EQ(e, 0);
}

static void submit_v(int i, const char *target, int http_version) {
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = target;
  o.http_version = http_version;
  CHECK_EQ(guise_client_request(cl, &o, &callbacks, &reqs[i]), 0);
}
static void submit(int i, const char *target) { submit_v(i, target, 0); }

/* Runs what is due now (fake closes, handle closes), without blocking. */
static void pump(void) {
  for (int i = 0; i < 4; i++) uv_run(&loop, UV_RUN_NOWAIT);
}

/* Runs the loop for |ms| (an idle connection's timer does not keep it alive). */
static void on_wake(uv_timer_t *t) { (void)t; }
static void run_for(unsigned ms) {
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, on_wake, ms, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

static void finish_client(void) {
  guise_client_close(cl);
  cl = NULL;
  uv_run(&loop, UV_RUN_DEFAULT); /* every fake close, every handle: nothing left */
}

/* ---- the cases ---------------------------------------------------------------------- */

/* HTTP/1.1, one connection allowed: the requests wait and go in order, one at
 * a time, on the one connection; the second and third reuse it. */
static void test_order_and_h1_one_stream(void) {
  reset(1, 0);
  submit(0, "http://a.test/1");
  submit(1, "http://a.test/2");
  submit(2, "http://a.test/3");
  CHECK_EQ(n_conns, 1); /* the per-origin cap */
  conn_up(0, "");
  CHECK_EQ(n_sessions, 1);
  fsess *s = sessions[0];
  CHECK_EQ(s->n_open, 1); /* HTTP/1.1: one stream */
  CHECK_STR(s->st[0].path, "/1");
  CHECK(conns[0]->written > 0); /* the pool wrote what the session gave */
  fs_answer(s, 0);
  CHECK(reqs[0].done && reqs[0].status == 200 && !reqs[0].reused);
  CHECK_EQ(s->n_open, 1);
  CHECK_STR(s->st[0].path, "/2");
  fs_answer(s, 0);
  CHECK_STR(s->st[0].path, "/3");
  fs_answer(s, 0);
  CHECK(reqs[1].done && reqs[2].done && reqs[2].reused);
  CHECK(reqs[0].order == 0 && reqs[1].order == 1 && reqs[2].order == 2);
  CHECK_STR(reqs[2].http_version, "HTTP/1.1");
  CHECK_EQ(n_conns, 1);
  finish_client();
}

/* HTTP/1.1 opens one connection per waiting request up to the cap; HTTP/2 one,
 * carrying them all as streams. */
static void test_cap_and_h2_capacity(void) {
  reset(2, 0);
  for (int i = 0; i < 5; i++) submit(i, "http://b.test/x");
  CHECK_EQ(n_conns, 2); /* cap 2, five waiting */
  finish_client();
  for (int i = 0; i < 5; i++) CHECK(reqs[i].done && reqs[i].err == GUISE_E_CANCELLED);

  reset(6, 0);
  for (int i = 0; i < 5; i++) submit(i, "https://c.test/x");
  CHECK_EQ(n_conns, 1); /* the protocol is not known yet: one at a time */
  conn_up(0, "h2");
  CHECK_EQ(n_sessions, 1);
  CHECK_EQ(sessions[0]->n_open, 5); /* all of them on the one connection */
  CHECK_EQ(n_conns, 1);
  for (int i = 0; i < 5; i++) fs_answer(sessions[0], i);
  for (int i = 0; i < 5; i++) CHECK(reqs[i].done && reqs[i].status == 200);
  CHECK_STR(reqs[4].http_version, "HTTP/2");
  finish_client();
}

/* A stream closed as not processed goes again on another connection, once:
 * a second refusal ends the request with the session's error. */
static void test_retry_once_elsewhere(void) {
  reset(6, 0);
  submit(0, "https://d.test/r");
  conn_up(0, "h2");
  fsess *s0 = sessions[0];
  CHECK_EQ(s0->n_open, 1);
  fs_end(s0, 0, GUISE_E_HTTP2_REFUSED, "refused by the server", 1);
  CHECK(!reqs[0].done);
  CHECK_EQ(n_conns, 2); /* a new connection for it: the first takes no new stream */
  CHECK_EQ(s0->n_open, 0);
  conn_up(1, "h2");
  CHECK_EQ(n_sessions, 2);
  fsess *s1 = sessions[1];
  CHECK(s1 != NULL && s1->n_open == 1);
  CHECK_EQ(s0->n_open, 0);
  fs_end(s1, 0, GUISE_E_HTTP2_REFUSED, "refused by the server", 1);
  CHECK(reqs[0].done);
  CHECK_EQ(reqs[0].err, GUISE_E_HTTP2_REFUSED);
  CHECK_STR(reqs[0].detail, "refused by the server");
  CHECK_EQ(n_conns, 2); /* not a third time */
  finish_client();
}

/* A connection that fails before it is up fails the first waiting request when
 * another connection is left, all of them when none is; with the transport's
 * code and words. */
static void test_fail_before_ready(void) {
  reset(1, 0);
  for (int i = 0; i < 3; i++) submit(i, "http://e.test/f");
  CHECK_EQ(n_conns, 1);
  conn_fail(0, GUISE_E_CONNECT_REFUSED, "connection refused by 127.0.0.1:80");
  pump();
  for (int i = 0; i < 3; i++) {
    CHECK(reqs[i].done);
    CHECK_EQ(reqs[i].err, GUISE_E_CONNECT_REFUSED);
    CHECK_STR(reqs[i].detail, "connection refused by 127.0.0.1:80");
  }
  finish_client();

  reset(2, 0);
  for (int i = 0; i < 3; i++) submit(i, "http://e.test/f");
  CHECK_EQ(n_conns, 2);
  conn_fail(0, GUISE_E_CONNECT_REFUSED, "refused");
  pump();
  CHECK(reqs[0].done && reqs[0].err == GUISE_E_CONNECT_REFUSED);
  CHECK(!reqs[1].done && !reqs[2].done); /* the other connection may serve them */
  finish_client();
}

/* An unused connection is closed at the idle timeout, not before. */
static void test_idle_timeout(void) {
  reset(6, 300);
  submit(0, "http://g.test/i");
  conn_up(0, "");
  conn *c = conns[0];
  fs_answer(sessions[0], 0);
  CHECK(reqs[0].done && reqs[0].status == 200);
  run_for(5);
  CHECK(conns[0] != NULL && !c->closing); /* kept for the next request */
  run_for(700);                           /* past the idle timeout (300 ms) */
  CHECK(conns[0] == NULL);                /* closed and gone */
  finish_client();
}

/* An HTTP/2 connection's idle wait is cut in two at POOL_TRIM_MS (500 ms), where
 * its frame buffer is given back: it is still closed at the idle timeout, not at
 * the cut and not later; a request in between finds it. */
static void test_idle_timeout_h2_trim(void) {
  reset(6, 1200);
  submit(0, "https://t.test/i");
  conn_up(0, "h2");
  conn *c = conns[0];
  fs_answer(sessions[0], 0);
  CHECK(reqs[0].done && reqs[0].status == 200);
  run_for(700); /* past the cut */
  CHECK(conns[0] != NULL && !c->closing);
  submit(1, "https://t.test/j"); /* reused: the wait starts again when it ends */
  CHECK_EQ(n_conns, 1);
  fs_answer(sessions[0], 0);
  CHECK(reqs[1].done && reqs[1].status == 200 && reqs[1].reused);
  run_for(900); /* 900 ms idle: past a cut, before the timeout */
  CHECK(conns[0] != NULL && !c->closing);
  run_for(700); /* 1,600 ms idle */
  CHECK(conns[0] == NULL);
  finish_client();
}

/* A session that is no longer alive (HTTP/1.1 after "Connection: close") has
 * its connection closed once its stream has ended; the next request gets a
 * new one. */
static void test_not_alive_closes(void) {
  reset(6, 0);
  h1_close_after = 1;
  submit(0, "http://h.test/a");
  submit(1, "http://h.test/b");
  CHECK_EQ(n_conns, 2);
  conn_up(0, "");
  conn *c = conns[0];
  fs_answer(sessions[0], 0);
  CHECK(reqs[0].done);
  CHECK(c && c->closing); /* closed by the pool */
  pump();
  conn_up(1, "");
  fs_answer(sessions[1], 0);
  CHECK(reqs[1].done && reqs[1].status == 200);
  finish_client();
}

/* Closing the client fails every waiting request (CANCELLED, "the client was
 * closed") and closes the connections. */
static void test_close_fails_queued(void) {
  reset(1, 0);
  for (int i = 0; i < 3; i++) submit(i, "http://k.test/q");
  conn *c = conns[0];
  guise_client_close(cl);
  for (int i = 0; i < 3; i++) {
    CHECK(reqs[i].done);
    CHECK_EQ(reqs[i].err, GUISE_E_CANCELLED);
    CHECK_STR(reqs[i].detail, "the client was closed");
  }
  CHECK(c->closing);
  cl = NULL;
  uv_run(&loop, UV_RUN_DEFAULT);
}

/* ---- HTTP/3 ------------------------------------------------------------------------- */

/* The connections opened, by kind. */
static int count_conns(int udp) {
  int n = 0;
  for (int i = 0; i < n_conns; i++) n += conns[i] && conns[i]->udp == udp;
  return n;
}
static int find_conn(int udp) {
  for (int i = 0; i < n_conns; i++)
    if (conns[i] && conns[i]->udp == udp) return i;
  return -1;
}
static fsess *find_session(session_proto proto) {
  for (int i = 0; i < n_sessions; i++)
    if (sessions[i] && sessions[i]->proto == proto) return sessions[i];
  return NULL;
}
/* The server's first datagrams: the session's handshake is done, or it died. */
static void h3_handshake(int conn_i, int ok) {
  fsess *s = find_session(SESSION_H3);
  CHECK(s != NULL && conns[conn_i] != NULL);
  if (s == NULL || conns[conn_i] == NULL) return;
  if (ok) s->hs_pending = 0;
  else s->alive = 0;
  conns[conn_i]->cb.on_data(conns[conn_i], (const uint8_t *)"d", 1, conns[conn_i]->ud);
}
static int stream_open_on(session_proto proto) {
  fsess *s = find_session(proto);
  return s ? (int)s->n_open : -1;
}

/* --http3: HTTP/3 and TCP both start; the QUIC handshake done first takes the
 * request; TCP coming up after it stays idle; the next request goes over
 * HTTP/3 too. The UDP socket got the Initial before any answer. */
static void test_h3_race_quic_first(void) {
  reset(6, 0);
  submit_v(0, "https://h.test/1", GUISE_HTTP_3);
  CHECK_EQ(count_conns(1), 1);
  CHECK_EQ(count_conns(0), 1);
  int u = find_conn(1), t = find_conn(0);
  conn_up(u, "h3");
  CHECK(conns[u]->written >= 1200); /* the Initial, before any answer */
  CHECK_EQ(stream_open_on(SESSION_H3), 0); /* capacity 0 until the handshake is done */
  h3_handshake(u, 1);
  CHECK_EQ(stream_open_on(SESSION_H3), 1);
  conn_up(t, "h2");
  CHECK_EQ(stream_open_on(SESSION_H2), 0);
  fs_answer(find_session(SESSION_H3), 0);
  CHECK(reqs[0].done && reqs[0].err == 0);
  CHECK_STR(reqs[0].http_version, "HTTP/3");
  submit_v(1, "https://h.test/2", GUISE_HTTP_3);
  CHECK_EQ(stream_open_on(SESSION_H3), 1);
  CHECK_EQ(n_conns, 2);
  fs_answer(find_session(SESSION_H3), 0);
  CHECK_STR(reqs[1].http_version, "HTTP/3");
  finish_client();
}

/* --http3: TCP first takes the request; HTTP/3 up later is preferred by the
 * requests after it (Chrome uses its QUIC session once it has one). */
static void test_h3_race_tcp_first(void) {
  reset(6, 0);
  submit_v(0, "https://h.test/1", GUISE_HTTP_3);
  int u = find_conn(1), t = find_conn(0);
  conn_up(t, "h2");
  CHECK_EQ(stream_open_on(SESSION_H2), 1);
  conn_up(u, "h3");
  h3_handshake(u, 1);
  CHECK_EQ(stream_open_on(SESSION_H3), 0);
  fs_answer(find_session(SESSION_H2), 0);
  CHECK_STR(reqs[0].http_version, "HTTP/2");
  submit_v(1, "https://h.test/2", GUISE_HTTP_3);
  CHECK_EQ(stream_open_on(SESSION_H3), 1);
  CHECK_EQ(stream_open_on(SESSION_H2), 0);
  fs_answer(find_session(SESSION_H3), 0);
  CHECK_STR(reqs[1].http_version, "HTTP/3");
  finish_client();
}

/* --http3: the UDP port is refused (ICMP) while TCP connects: the request is not
 * failed with it but served by TCP, and the next raced request to the origin
 * opens no HTTP/3 connection again (broken). */
static void test_h3_race_quic_fails(void) {
  reset(6, 0);
  submit_v(0, "https://h.test/1", GUISE_HTTP_3);
  int u = find_conn(1), t = find_conn(0);
  conn_fail(u, GUISE_E_CONNECT_REFUSED, "nothing answers on UDP port 443");
  pump();
  CHECK(!reqs[0].done);
  conn_up(t, "h2");
  CHECK_EQ(stream_open_on(SESSION_H2), 1);
  submit_v(1, "https://h.test/2", GUISE_HTTP_3);
  CHECK_EQ(stream_open_on(SESSION_H2), 2);
  CHECK_EQ(count_conns(1), 0);
  CHECK_EQ(n_conns, 2);
  fsess *s = find_session(SESSION_H2);
  fs_answer(s, 0);
  fs_answer(s, 1);
  CHECK(reqs[0].err == 0 && reqs[1].err == 0);
  finish_client();
}

/* --http3: TCP refused while the QUIC handshake runs: the request waits for
 * HTTP/3, which serves it. */
static void test_h3_race_tcp_fails(void) {
  reset(6, 0);
  submit_v(0, "https://h.test/1", GUISE_HTTP_3);
  int u = find_conn(1), t = find_conn(0);
  conn_fail(t, GUISE_E_CONNECT_REFUSED, "refused");
  pump();
  CHECK(!reqs[0].done);
  conn_up(u, "h3");
  h3_handshake(u, 1);
  CHECK_EQ(stream_open_on(SESSION_H3), 1);
  fs_answer(find_session(SESSION_H3), 0);
  CHECK(reqs[0].done && reqs[0].err == 0);
  finish_client();
}

/* --http3-only: no TCP connection at all; a refused UDP port fails the
 * request with its error; a handshake that dies fails the next one with
 * TLS_HANDSHAKE (the QUIC layer's words). */
static void test_h3_only(void) {
  reset(6, 0);
  submit_v(0, "https://o.test/1", GUISE_HTTP_3_ONLY);
  CHECK_EQ(count_conns(0), 0);
  CHECK_EQ(count_conns(1), 1);
  conn_fail(find_conn(1), GUISE_E_CONNECT_REFUSED, "nothing answers on UDP port 443");
  pump();
  CHECK(reqs[0].done);
  CHECK_EQ(reqs[0].err, GUISE_E_CONNECT_REFUSED);
  CHECK_STR(reqs[0].detail, "nothing answers on UDP port 443");
  submit_v(1, "https://o2.test/1", GUISE_HTTP_3_ONLY);
  int u = find_conn(1);
  conn_up(u, "h3");
  h3_handshake(u, 0);
  pump();
  CHECK(reqs[1].done);
  CHECK_EQ(reqs[1].err, GUISE_E_TLS_HANDSHAKE);
  CHECK_MSG(strstr(reqs[1].detail, "QUIC handshake with o2.test") != NULL, "detail: %s", reqs[1].detail);
  CHECK_EQ(count_conns(0), 0);
  finish_client();
}

/* A plain request (no version asked) never takes an HTTP/3 connection of its
 * origin, and an http:// --http3 request is plain TCP. */
static void test_h3_not_for_others(void) {
  reset(6, 0);
  submit_v(0, "http://p.test/1", GUISE_HTTP_3);
  CHECK_EQ(count_conns(1), 0);
  conn_up(find_conn(0), "");
  fs_answer(find_session(SESSION_H1), 0);
  CHECK(reqs[0].done && reqs[0].err == 0);
  finish_client();
}

/* Runs the loop for |ms| exactly (uv_stop at the end), whatever keeps it alive. */
static void on_stop(uv_timer_t *t) { uv_stop(t->loop); }
static void run_exactly(unsigned ms) {
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, on_stop, ms, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

/* Once QUIC has worked in the client, a raced request to a new origin opens
 * no TCP at first (Chrome holds its TCP job: 300 ms without an RTT known);
 * the hold ends at its time (TCP opens), or at once when HTTP/3 fails. */
static void test_h3_hold_after_quic_worked(void) {
  reset(6, 0);
  submit_v(0, "https://w.test/1", GUISE_HTTP_3); /* QUIC never worked: both at once */
  CHECK_EQ(count_conns(0), 1);
  int u = find_conn(1);
  conn_up(u, "h3");
  h3_handshake(u, 1);
  fs_answer(find_session(SESSION_H3), 0);
  CHECK_STR(reqs[0].http_version, "HTTP/3");
  submit_v(1, "https://x.test/1", GUISE_HTTP_3);
  CHECK_EQ(count_conns(1), 2);
  CHECK_EQ(count_conns(0), 1); /* held */
  int u2 = -1;
  for (int i = 0; i < n_conns; i++)
    if (conns[i] && conns[i]->udp && i != u) u2 = i;
  conn_up(u2, "h3");
  run_exactly(150);
  CHECK_EQ(count_conns(0), 1); /* still held at 150 ms */
  run_exactly(250);
  CHECK_EQ(count_conns(0), 2); /* opened after 300 ms */
  submit_v(2, "https://y.test/1", GUISE_HTTP_3);
  CHECK_EQ(count_conns(0), 2); /* held */
  int u3 = n_conns - 1;
  CHECK(conns[u3] != NULL && conns[u3]->udp);
  conn_fail(u3, GUISE_E_CONNECT_REFUSED, "nothing answers on UDP port 443");
  pump();
  CHECK_EQ(count_conns(0), 3); /* HTTP/3 failed: TCP at once */
  CHECK(!reqs[2].done);
  finish_client();
}

int main(void) {
  uv_loop_init(&loop);
  test_order_and_h1_one_stream();
  test_cap_and_h2_capacity();
  test_retry_once_elsewhere();
  test_fail_before_ready();
  test_idle_timeout();
  test_idle_timeout_h2_trim();
  test_not_alive_closes();
  test_close_fails_queued();
  test_h3_race_quic_first();
  test_h3_race_tcp_first();
  test_h3_race_quic_fails();
  test_h3_race_tcp_fails();
  test_h3_only();
  test_h3_not_for_others();
  test_h3_hold_after_quic_worked();
  CHECK_EQ(uv_loop_close(&loop), 0); /* every handle closed: nothing leaked on the loop */
  return gt_done("test_pool_unit");
}

/*
 * test_h2_behaviour.c — client/lib/h2 against an in-memory nghttp2 server session
 * driven by the test: responses, MAX_CONCURRENT_STREAMS queueing, RST_STREAM,
 * GOAWAY, PING, flow control both ways, header caps, request validation,
 * protocol errors and transport loss. Every exchange runs twice: whole buffers,
 * then one byte at a time in both directions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "guise.h"
#include "h2.h"
#include "tcheck.h"

static int byte_mode; /* deliver one byte at a time */

/* ---- The server ------------------------------------------------------------------ */

#define SRV_MAX_REQ 8

typedef enum { REPLY_OK, REPLY_HOLD, REPLY_RST, REPLY_BIG_HEADERS, REPLY_MANY_HEADERS,
               REPLY_BIG_BODY, REPLY_40_HEADERS } reply_mode;

typedef struct srv_req {
  int32_t id;
  char names[512]; /* request field names joined by ',' in wire order */
  size_t body_bytes;
  int body_ok;     /* body matched the pattern so far */
  int complete;    /* END_STREAM seen */
} srv_req;

typedef struct server {
  nghttp2_session *ng;
  reply_mode mode;
  uint32_t rst_code;
  srv_req req[SRV_MAX_REQ];
  size_t n_req;
  int ping_acks;
  uint8_t ping_data[8];
  int window_updates;  /* WINDOW_UPDATE frames received */
  size_t big_sent;     /* REPLY_BIG_BODY progress */
} server;

#define BIG_BODY (1u << 20)

static uint8_t pattern(size_t i) { return (uint8_t)(i * 131u + (i >> 8)); }

static srv_req *srv_find(server *s, int32_t id) {
  for (size_t i = 0; i < s->n_req; i++)
    if (s->req[i].id == id) return &s->req[i];
  return NULL;
}

static ssize_t srv_read_big(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud) {
  server *s = ud;
  size_t n = BIG_BODY - s->big_sent < len ? BIG_BODY - s->big_sent : len;
  for (size_t i = 0; i < n; i++) buf[i] = pattern(s->big_sent + i);
  s->big_sent += n;
  if (s->big_sent == BIG_BODY) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static ssize_t srv_read_hello(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                              uint32_t *flags, nghttp2_data_source *src, void *ud) {
  memcpy(buf, "hello", 5);
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  return 5;
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, 0}

static void srv_reply(server *s, int32_t id) {
  static char big[2000];
  memset(big, 'x', sizeof(big));
  nghttp2_data_provider hello = {{0}, srv_read_hello}, bigb = {{0}, srv_read_big};
  switch (s->mode) {
  case REPLY_OK: {
    nghttp2_nv nv[] = {NV(":status", "200"), NV("content-type", "text/plain"), NV("x-b", "2"),
                       NV("x-a", "1")};
    nghttp2_submit_response(s->ng, id, nv, 4, &hello);
    break;
  }
  case REPLY_HOLD:
    break;
  case REPLY_RST:
    nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, id, s->rst_code);
    break;
  case REPLY_BIG_HEADERS: {
    nghttp2_nv nv[] = {NV(":status", "200"), {(uint8_t *)"x-big", (uint8_t *)big, 5, sizeof(big), 0}};
    nghttp2_submit_response(s->ng, id, nv, 2, &hello);
    break;
  }
  case REPLY_MANY_HEADERS: {
    nghttp2_nv nv[] = {NV(":status", "200"), NV("a", "1"), NV("b", "2"), NV("c", "3"),
                       NV("d", "4"), NV("e", "5"), NV("f", "6")};
    nghttp2_submit_response(s->ng, id, nv, 7, &hello);
    break;
  }
  case REPLY_BIG_BODY: {
    nghttp2_nv nv[] = {NV(":status", "200")};
    nghttp2_submit_response(s->ng, id, nv, 1, &bigb);
    break;
  }
  case REPLY_40_HEADERS: { /* f00 .. f39, values v00 .. v39 */
    static char names[40][4], values[40][4];
    nghttp2_nv nv[41] = {NV(":status", "200")};
    for (int i = 0; i < 40; i++) {
      snprintf(names[i], sizeof(names[i]), "f%02d", i);
      snprintf(values[i], sizeof(values[i]), "v%02d", i);
      nv[i + 1] = (nghttp2_nv){(uint8_t *)names[i], (uint8_t *)values[i], 3, 3, 0};
    }
    nghttp2_submit_response(s->ng, id, nv, 41, &hello);
    break;
  }
  }
}

static int srv_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud) {
  server *s = ud;
  if (f->hd.type == NGHTTP2_HEADERS && s->n_req < SRV_MAX_REQ) {
    srv_req *r = &s->req[s->n_req++];
    memset(r, 0, sizeof(*r));
    r->id = f->hd.stream_id;
    r->body_ok = 1;
  }
  return 0;
}

static int srv_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                      size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                      void *ud) {
  srv_req *r = srv_find(ud, f->hd.stream_id);
  if (r == NULL) return 0;
  size_t used = strlen(r->names);
  if (used + namelen + 2 < sizeof(r->names)) {
    if (used) r->names[used++] = ',';
    memcpy(r->names + used, name, namelen);
    r->names[used + namelen] = '\0';
  }
  return 0;
}

static int srv_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                    size_t len, void *ud) {
  srv_req *r = srv_find(ud, id);
  if (r == NULL) return 0;
  for (size_t i = 0; i < len; i++)
    if (data[i] != pattern(r->body_bytes + i)) r->body_ok = 0;
  r->body_bytes += len;
  return 0;
}

static int srv_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud) {
  server *s = ud;
  if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK)) {
    s->ping_acks++;
    memcpy(s->ping_data, f->ping.opaque_data, 8);
  }
  if (f->hd.type == NGHTTP2_WINDOW_UPDATE) s->window_updates++;
  if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
      (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    srv_req *r = srv_find(s, f->hd.stream_id);
    if (r) {
      r->complete = 1;
      srv_reply(s, f->hd.stream_id);
    }
  }
  return 0;
}

static void server_init(server *s, const nghttp2_settings_entry *iv, size_t niv) {
  memset(s, 0, sizeof(*s));
  nghttp2_session_callbacks *cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, srv_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, srv_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, srv_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame_recv);
  nghttp2_session_server_new(&s->ng, cb, s);
  nghttp2_session_callbacks_del(cb);
  nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, niv);
}

/* ---- The client side ------------------------------------------------------------- */

typedef struct result {
  int closed, err;
  uint32_t h2_error;
  int status, n_headers_calls;
  char names[256];
  char values[256]; /* the values, joined the same way */
  size_t body;
  int body_ok;
} result;

static int on_headers(void *ud, int32_t id, h2_headers_kind kind, int status,
                      const h2_header *h, size_t n) {
  result *r = ud;
  r->n_headers_calls++;
  r->status = status;
  r->names[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(r->names);
    if (used + h[i].name_len + 2 >= sizeof(r->names)) break;
    if (used) r->names[used++] = ',';
    memcpy(r->names + used, h[i].name, h[i].name_len);
    r->names[used + h[i].name_len] = '\0';
  }
  r->values[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(r->values);
    if (used + h[i].value_len + 2 >= sizeof(r->values)) break;
    if (used) r->values[used++] = ',';
    memcpy(r->values + used, h[i].value, h[i].value_len);
    r->values[used + h[i].value_len] = '\0';
  }
  return 0;
}

static int on_data(void *ud, int32_t id, const uint8_t *d, size_t n) {
  result *r = ud;
  if (r->body == 0) r->body_ok = 1;
  for (size_t i = 0; i < n; i++)
    if (d[i] != pattern(r->body + i)) r->body_ok = 0;
  r->body += n;
  return 0;
}

static void on_close(void *ud, int32_t id, int err, uint32_t h2_error) {
  result *r = ud;
  r->closed++;
  r->err = err;
  r->h2_error = h2_error;
}

static const h2_stream_callbacks CBS = {on_headers, on_data, on_close};

static int goaway_calls;
static uint32_t goaway_last;

static void on_goaway(void *ud, uint32_t last, uint32_t code) {
  goaway_calls++;
  goaway_last = last;
}

static const h2_conn_callbacks CONN_CBS = {on_goaway};

/* Moves bytes both ways until neither side has anything to say. */
static void pump(h2_conn *c, server *s) {
  static uint8_t buf[1 << 16];
  for (int round = 0; round < 100000; round++) {
    size_t n = 0, moved = 0;
    while (h2_send(c, buf, byte_mode ? 1 : sizeof(buf), &n) == 0 && n) {
      if (nghttp2_session_mem_recv(s->ng, buf, n) != (ssize_t)n) TC_CHECK(!"server refused");
      moved += n;
    }
    const uint8_t *out;
    ssize_t m = nghttp2_session_mem_send(s->ng, &out);
    TC_CHECK(m >= 0);
    for (ssize_t i = 0; m > 0 && i < m; i += byte_mode ? 1 : m)
      h2_recv(c, out + i, byte_mode ? 1 : (size_t)m);
    if (m > 0) moved += (size_t)m;
    if (moved == 0) return;
  }
  TC_CHECK(!"pump did not settle");
}

static h2_conn *client(const h2_shape *shape, const h2_limits *lim) {
  h2_shape def;
  if (shape == NULL) {
    h2_shape_init(&def);
    def.settings[0] = (h2_setting){2, 0};
    def.settings[1] = (h2_setting){4, 6291456};
    def.n_settings = 2;
    def.window_update = 15663105;
    shape = &def;
  }
  h2_conn *c = NULL;
  TC_EQ(h2_conn_new(&c, shape, lim, &CONN_CBS, NULL), 0);
  return c;
}

static int get(h2_conn *c, const char *path, result *r) {
  static const h2_header hdrs[] = {{"accept", 6, "*/*", 3}, {"user-agent", 10, "t", 1},
                                   {"x-z", 3, "z", 1}};
  h2_request req = {"GET", "https", "example.com", path, hdrs, 3, NULL, NULL, 0, 0};
  memset(r, 0, sizeof(*r));
  int32_t id = 0;
  int rv = h2_submit(c, &req, &CBS, r, &id);
  return rv == 0 ? id : rv;
}

/* ---- Tests ----------------------------------------------------------------------- */

static void test_h2_response_delivered(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_OK;
  h2_conn *c = client(NULL, NULL);
  result r;
  TC_EQ(get(c, "/a", &r), 1);
  pump(c, &s);
  TC_EQ(r.closed, 1);
  TC_EQ(r.err, 0);
  TC_EQ(r.status, 200);
  TC_STREQ(r.names, "content-type,x-b,x-a");
  TC_EQ(r.body, 5);
  /* The server saw the pseudo-headers in the shape's order, then ours as given. */
  TC_EQ(s.n_req, 1);
  TC_STREQ(s.req[0].names, ":method,:authority,:scheme,:path,accept,user-agent,x-z");
  TC_EQ(h2_open_requests(c), 0);
  TC_CHECK(h2_want_read(c));
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

static void test_h2_max_concurrent_streams_queues(void) {
  server s;
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1}};
  server_init(&s, iv, 1);
  s.mode = REPLY_HOLD;
  h2_conn *c = client(NULL, NULL);
  result r1, r2;
  TC_EQ(get(c, "/1", &r1), 1);
  pump(c, &s); /* the server's SETTINGS (1 stream) is now known */
  TC_EQ(get(c, "/2", &r2), 3);
  pump(c, &s);
  TC_EQ(s.n_req, 1); /* the second request waits in the client */
  TC_EQ(h2_open_requests(c), 2);
  s.mode = REPLY_OK;
  srv_reply(&s, 1);
  pump(c, &s);
  TC_EQ(r1.closed, 1);
  TC_EQ(r1.err, 0);
  TC_EQ(s.n_req, 2); /* sent once the first ended */
  TC_EQ(s.req[1].id, 3);
  TC_EQ(r2.closed, 1);
  TC_EQ(r2.err, 0);
  TC_EQ(r2.status, 200);
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

static void test_h2_rst_stream(void) {
  static const struct {
    uint32_t code;
    int want;
  } cases[] = {{NGHTTP2_INTERNAL_ERROR, GUISE_E_HTTP2_STREAM_RESET},
               {NGHTTP2_REFUSED_STREAM, GUISE_E_HTTP2_REFUSED},
               {NGHTTP2_CANCEL, GUISE_E_HTTP2_STREAM_RESET}};
  for (size_t i = 0; i < 3; i++) {
    server s;
    server_init(&s, NULL, 0);
    s.mode = REPLY_RST;
    s.rst_code = cases[i].code;
    h2_conn *c = client(NULL, NULL);
    result r;
    TC_EQ(get(c, "/", &r), 1);
    pump(c, &s);
    TC_EQ(r.closed, 1);
    TC_EQ(r.err, cases[i].want);
    TC_EQ(r.h2_error, cases[i].code);
    TC_EQ(r.n_headers_calls, 0);
    /* The connection stays usable. */
    s.mode = REPLY_OK;
    result r2;
    TC_EQ(get(c, "/", &r2), 3);
    pump(c, &s);
    TC_EQ(r2.err, 0);
    TC_EQ(r2.closed, 1);
    h2_conn_free(c);
    nghttp2_session_del(s.ng);
  }
}

static void test_h2_goaway_refuses_streams_above_last(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_HOLD;
  goaway_calls = 0;
  h2_conn *c = client(NULL, NULL);
  result r1, r2, r3;
  TC_EQ(get(c, "/1", &r1), 1);
  TC_EQ(get(c, "/2", &r2), 3);
  pump(c, &s);
  TC_EQ(s.n_req, 2);
  nghttp2_submit_goaway(s.ng, NGHTTP2_FLAG_NONE, 1, NGHTTP2_NO_ERROR, NULL, 0);
  pump(c, &s);
  TC_EQ(goaway_calls, 1);
  TC_EQ(goaway_last, 1);
  TC_EQ(r2.closed, 1);
  TC_EQ(r2.err, GUISE_E_HTTP2_REFUSED); /* above last_stream_id: not processed */
  TC_EQ(r1.closed, 0);                  /* covered: still running */
  TC_EQ(get(c, "/3", &r3), GUISE_E_HTTP2_GOAWAY);
  s.mode = REPLY_OK;
  srv_reply(&s, 1);
  pump(c, &s);
  TC_EQ(r1.closed, 1);
  TC_EQ(r1.err, 0);
  TC_EQ(r1.status, 200);
  TC_CHECK(!h2_want_read(c)); /* GOAWAY and nothing open: over */
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

static void test_h2_goaway_then_eof(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_HOLD;
  h2_conn *c = client(NULL, NULL);
  result r1, r2;
  TC_EQ(get(c, "/1", &r1), 1);
  pump(c, &s);
  TC_EQ(get(c, "/2", &r2), 3); /* queued, never sent: the GOAWAY comes first */
  nghttp2_submit_goaway(s.ng, NGHTTP2_FLAG_NONE, 1, NGHTTP2_NO_ERROR, NULL, 0);
  const uint8_t *out;
  ssize_t m = nghttp2_session_mem_send(s.ng, &out);
  TC_CHECK(m > 0);
  TC_EQ(h2_recv(c, out, (size_t)m), 0);
  h2_eof(c, GUISE_E_CONNECT_CLOSED);
  TC_EQ(r1.closed, 1);
  TC_EQ(r1.err, GUISE_E_HTTP2_GOAWAY); /* covered but unanswered */
  TC_EQ(r2.closed, 1);
  TC_EQ(r2.err, GUISE_E_HTTP2_REFUSED);
  TC_EQ(h2_open_requests(c), 0);
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

static void test_h2_ping_answered(void) {
  server s;
  server_init(&s, NULL, 0);
  h2_conn *c = client(NULL, NULL);
  pump(c, &s);
  nghttp2_submit_ping(s.ng, NGHTTP2_FLAG_NONE, (const uint8_t *)"guise-pi");
  pump(c, &s);
  TC_EQ(s.ping_acks, 1);
  TC_CHECK(memcmp(s.ping_data, "guise-pi", 8) == 0);
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

typedef struct upload {
  size_t sent, total;
  int pauses_left;
} upload;

static long read_upload(void *arg, uint8_t *buf, size_t len, int *eof) {
  upload *u = arg;
  if (u->pauses_left > 0 && u->sent > 0 && u->sent % 100000 < 16384) {
    u->pauses_left--;
    return H2_BODY_PAUSE;
  }
  size_t n = u->total - u->sent < len ? u->total - u->sent : len;
  for (size_t i = 0; i < n; i++) buf[i] = pattern(u->sent + i);
  u->sent += n;
  if (u->sent == u->total) *eof = 1;
  return (long)n;
}

static void test_h2_flow_control_upload_small_window(void) {
  server s;
  /* 1000-byte stream windows: the 1 MiB body needs hundreds of WINDOW_UPDATEs. */
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000}};
  server_init(&s, iv, 1);
  s.mode = REPLY_OK;
  h2_conn *c = client(NULL, NULL);
  pump(c, &s);
  upload u = {0, BIG_BODY, 3};
  h2_body body = {read_upload, &u};
  static const h2_header hdrs[] = {{"content-type", 12, "application/octet-stream", 24}};
  h2_request req = {"POST", "https", "example.com", "/up", hdrs, 1, &body, NULL, 0, 0};
  result r;
  memset(&r, 0, sizeof(r));
  int32_t id;
  TC_EQ(h2_submit(c, &req, &CBS, &r, &id), 0);
  for (int i = 0; i < 10 && !r.closed; i++) {
    pump(c, &s);
    h2_resume_body(c, id);
  }
  TC_EQ(s.n_req, 1);
  TC_EQ(s.req[0].body_bytes, BIG_BODY);
  TC_EQ(s.req[0].body_ok, 1);
  TC_EQ(s.req[0].complete, 1);
  TC_EQ(u.pauses_left, 0);
  TC_EQ(r.closed, 1);
  TC_EQ(r.err, 0);
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

static void test_h2_flow_control_download_small_window(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_BIG_BODY;
  h2_shape sh;
  h2_shape_init(&sh);
  sh.settings[0] = (h2_setting){4, 16384}; /* no connection WINDOW_UPDATE either */
  sh.n_settings = 1;
  h2_conn *c = client(&sh, NULL);
  result r;
  TC_EQ(get(c, "/big", &r), 1);
  pump(c, &s);
  TC_EQ(r.closed, 1);
  TC_EQ(r.err, 0);
  TC_EQ(r.body, BIG_BODY);
  TC_EQ(r.body_ok, 1);
  /* 1 MiB through 16 KiB stream and 64 KiB connection windows. */
  TC_CHECK(s.window_updates > 64);
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

static void test_h2_header_list_over_limit(void) {
  for (int many = 0; many < 2; many++) {
    server s;
    server_init(&s, NULL, 0);
    s.mode = many ? REPLY_MANY_HEADERS : REPLY_BIG_HEADERS;
    h2_limits lim;
    h2_limits_init(&lim);
    if (many) lim.max_header_fields = 4;
    else lim.max_header_list = 1024;
    h2_conn *c = client(NULL, &lim);
    result r;
    TC_EQ(get(c, "/", &r), 1);
    pump(c, &s);
    TC_EQ(r.closed, 1);
    TC_EQ(r.err, GUISE_E_HTTP_HEADERS_TOO_LARGE);
    TC_EQ(r.n_headers_calls, 0);
    TC_EQ(r.body, 0);
    /* HPACK state stayed in step: the next response on the connection decodes. */
    s.mode = REPLY_OK;
    result r2;
    TC_EQ(get(c, "/", &r2), 3);
    pump(c, &s);
    TC_EQ(r2.err, 0);
    TC_STREQ(r2.names, "content-type,x-b,x-a");
    h2_conn_free(c);
    nghttp2_session_del(s.ng);
  }
}

static void test_h2_shape_max_header_list_lowers_cap(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_BIG_HEADERS;
  h2_shape sh;
  h2_shape_init(&sh);
  sh.settings[0] = (h2_setting){6, 1500}; /* announced: accept no more */
  sh.n_settings = 1;
  h2_conn *c = client(&sh, NULL);
  result r;
  TC_EQ(get(c, "/", &r), 1);
  pump(c, &s);
  TC_EQ(r.err, GUISE_E_HTTP_HEADERS_TOO_LARGE);
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

static void test_h2_request_validation(void) {
  h2_conn *c = client(NULL, NULL);
  static const struct {
    h2_header h;
    int ok;
  } cases[] = {
      {{"accept", 6, "*/*", 3}, 1},
      {{"Accept", 6, "*/*", 3}, 0},
      {{"connection", 10, "keep-alive", 10}, 0},
      {{"keep-alive", 10, "5", 1}, 0},
      {{"transfer-encoding", 17, "chunked", 7}, 0},
      {{"upgrade", 7, "h2c", 3}, 0},
      {{"te", 2, "gzip", 4}, 0},
      {{"te", 2, "trailers", 8}, 1},
      {{":path", 5, "/", 1}, 0},
      {{"x-a", 3, "a\r\nb", 4}, 0},
      {{"x-a", 3, " a", 2}, 0},
      {{"x a", 3, "a", 1}, 0},
      {{"", 0, "a", 1}, 0},
  };
  static result rs[16]; /* accepted requests stay open until h2_conn_free */
  memset(rs, 0, sizeof(rs));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    h2_request req = {"GET", "https", "example.com", "/", &cases[i].h, 1, NULL, NULL, 0, 0};
    int rv = h2_submit(c, &req, &CBS, &rs[i], NULL);
    TC_EQ(rv, cases[i].ok ? 0 : GUISE_E_USAGE_INVALID_ARGUMENT);
  }
  h2_request bad = {"GET", "https", "example.com", "", NULL, 0, NULL, NULL, 0, 0};
  TC_EQ(h2_submit(c, &bad, NULL, NULL, NULL), GUISE_E_USAGE_INVALID_ARGUMENT);
  /* Pseudo-header values (RFC 9113 §8.2.1, §8.3.1): no CR or LF anywhere, no
   * blank at either end; no blank at all in :method, :scheme, :path. */
  static const struct {
    const char *method, *scheme, *authority, *path;
  } bad_pseudo[] = {
      {"GET", "https", "example.com", "/a b"},  {"GET", "https", "example.com", "/a\tb"},
      {"GET", "https", "example.com", "/a\rb"}, {"GET", "https", "example.com", "/a\n"},
      {"G T", "https", "example.com", "/"},     {"GET", "ht\ttps", "example.com", "/"},
      {"GET", "https", " example.com", "/"},    {"GET", "https", "example.com\t", "/"},
      {"GET", "https", "exa\rmple.com", "/"},   {"GET", "https", "", "/"},
      {"", "https", "example.com", "/"},
  };
  for (size_t i = 0; i < sizeof(bad_pseudo) / sizeof(bad_pseudo[0]); i++) {
    h2_request b = {bad_pseudo[i].method, bad_pseudo[i].scheme, bad_pseudo[i].authority,
                    bad_pseudo[i].path, NULL, 0, NULL, NULL, 0, 0};
    TC_EQ(h2_submit(c, &b, NULL, NULL, NULL), GUISE_E_USAGE_INVALID_ARGUMENT);
  }
  /* A blank inside :authority is only a field value's (the host name checks
   * are the URL parser's): taken here. */
  static result inner;
  memset(&inner, 0, sizeof(inner));
  h2_request in_auth = {"GET", "https", "exa mple.com", "/", NULL, 0, NULL, NULL, 0, 0};
  TC_EQ(h2_submit(c, &in_auth, &CBS, &inner, NULL), 0);
  h2_priority p = {0, 0, 16};
  h2_request defprio = {"GET", "https", "example.com", "/", NULL, 0, NULL, &p, 0, 0};
  TC_EQ(h2_submit(c, &defprio, NULL, NULL, NULL), GUISE_E_USAGE_INVALID_ARGUMENT);
  h2_conn_free(c);
  TC_EQ(inner.closed, 1);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    TC_EQ(rs[i].closed, cases[i].ok);
    if (cases[i].ok) TC_EQ(rs[i].err, GUISE_E_CANCELLED);
  }

  h2_shape sh;
  const char *why;
  h2_shape_init(&sh);
  TC_EQ(h2_shape_check(&sh, &why), 0);
  memcpy(sh.pseudo_order, "mass", 5);
  TC_EQ(h2_shape_check(&sh, &why), -1);
  h2_shape_init(&sh);
  sh.first_stream_id = 2;
  TC_EQ(h2_shape_check(&sh, &why), -1);
  h2_shape_init(&sh);
  sh.settings[0] = (h2_setting){2, 2};
  sh.n_settings = 1;
  TC_EQ(h2_shape_check(&sh, &why), -1);
  h2_shape_init(&sh);
  sh.headers_priority_flag = 1;
  sh.headers_priority = (h2_priority){0, 0, 0};
  TC_EQ(h2_shape_check(&sh, &why), -1);
}

static void test_h2_protocol_error_closes_all(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_HOLD;
  h2_conn *c = client(NULL, NULL);
  result r;
  TC_EQ(get(c, "/", &r), 1);
  pump(c, &s);
  /* DATA on stream 0 is a connection error (RFC 9113 §6.1). */
  static const uint8_t bad[] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 'x'};
  TC_EQ(h2_recv(c, bad, sizeof(bad)), GUISE_E_HTTP2_PROTOCOL);
  TC_EQ(r.closed, 1);
  TC_EQ(r.err, GUISE_E_HTTP2_PROTOCOL);
  /* The GOAWAY (PROTOCOL_ERROR) still goes out. */
  uint8_t out[256];
  size_t n;
  TC_EQ(h2_send(c, out, sizeof(out), &n), 0);
  TC_CHECK(n >= 17 && out[3] == 0x7 && out[16] == NGHTTP2_PROTOCOL_ERROR);
  TC_CHECK(!h2_want_read(c));
  TC_EQ(get(c, "/", &r), GUISE_E_HTTP2_GOAWAY);
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

static void test_h2_eof_and_cancel(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_HOLD;
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1}};
  nghttp2_submit_settings(s.ng, NGHTTP2_FLAG_NONE, iv, 1);
  h2_conn *c = client(NULL, NULL);
  result r1, r2, r3;
  TC_EQ(get(c, "/1", &r1), 1);
  pump(c, &s);
  TC_EQ(get(c, "/2", &r2), 3);
  TC_EQ(get(c, "/3", &r3), 5);
  TC_EQ(h2_cancel(c, 3), 0); /* queued: reported at once */
  TC_EQ(r2.closed, 1);
  TC_EQ(r2.err, GUISE_E_CANCELLED);
  TC_EQ(h2_cancel(c, 3), GUISE_E_USAGE_INVALID_ARGUMENT);
  h2_eof(c, GUISE_E_CONNECT_RESET);
  TC_EQ(r1.closed, 1);
  TC_EQ(r1.err, GUISE_E_CONNECT_RESET);
  TC_EQ(r3.closed, 1);
  TC_EQ(r3.err, GUISE_E_CONNECT_RESET);
  TC_CHECK(!h2_want_write(c) && !h2_want_read(c));
  h2_conn_free(c);
  /* An open request at free is cancelled. */
  c = client(NULL, NULL);
  TC_EQ(get(c, "/", &r1), 1);
  h2_conn_free(c);
  TC_EQ(r1.closed, 1);
  TC_EQ(r1.err, GUISE_E_CANCELLED);
  nghttp2_session_del(s.ng);
}

/* A response with more fields than the stream keeps inline (16) arrives whole
 * and in order, names and values, twice on one connection. */
static void test_h2_many_fields_delivered(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_40_HEADERS;
  h2_conn *c = client(NULL, NULL);
  for (int round = 0; round < 2; round++) {
    result r;
    TC_EQ(get(c, "/", &r), 1 + 2 * round);
    pump(c, &s);
    TC_EQ(r.err, 0);
    TC_EQ(r.status, 200);
    char want[512] = "";
    for (int i = 0; i < 40; i++) {
      char one[8];
      snprintf(one, sizeof(one), "%sf%02d", i ? "," : "", i);
      strcat(want, one);
    }
    TC_STREQ(r.names, want);
    TC_CHECK(strstr(r.values, "v00,v01") == r.values && strstr(r.values, "v38,v39") != NULL);
  }
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

/* nghttp2's 16 KiB outbound frame buffer is in pages of its own: only the
 * pages frames wrote are resident, and an idle connection gives them back. */
static void test_h2_idle_release(void) {
  server s;
  server_init(&s, NULL, 0);
  s.mode = REPLY_OK;
  h2_conn *c = client(NULL, NULL);
  result r;
  TC_EQ(get(c, "/a", &r), 1);
  /* Open stream, HEADERS not sent yet: not idle. */
  TC_EQ(h2_idle_release(c), 0);
  pump(c, &s);
  TC_EQ(r.closed, 1);
  size_t used = h2_memory_used(c);
  size_t res = h2_out_buffer_resident(c);
  TC_CHECK(res > 0);     /* the preface and the HEADERS were written into it */
  TC_CHECK(res < 16384); /* small frames touch the first page(s) only */
  size_t cached = h2_cached_bytes(c);
  TC_CHECK(cached > 0); /* the finished request's blocks, kept for the next */
  TC_CHECK(h2_idle_release(c) >= 16384 + cached);
  TC_EQ(h2_out_buffer_resident(c), 0);
  TC_EQ(h2_cached_bytes(c), 0);
  /* the buffer is still nghttp2's; the cached blocks went back to the heap */
  TC_CHECK(h2_memory_used(c) <= used - cached);
  /* The next request writes its frames into the fresh pages. */
  TC_EQ(get(c, "/b", &r), 3);
  pump(c, &s);
  TC_EQ(r.closed, 1);
  TC_EQ(r.err, 0);
  TC_EQ(r.status, 200);
  TC_EQ(s.n_req, 2);
  TC_STREQ(s.req[1].names, ":method,:authority,:scheme,:path,accept,user-agent,x-z");
  TC_CHECK(h2_out_buffer_resident(c) > 0);
  h2_conn_free(c);
  nghttp2_session_del(s.ng);
}

int main(void) {
  for (byte_mode = 0; byte_mode < 2; byte_mode++) {
    printf("%s\n", byte_mode ? "one byte at a time" : "whole buffers");
    test_h2_response_delivered();
    test_h2_max_concurrent_streams_queues();
    test_h2_rst_stream();
    test_h2_goaway_refuses_streams_above_last();
    test_h2_goaway_then_eof();
    test_h2_ping_answered();
    test_h2_flow_control_upload_small_window();
    test_h2_flow_control_download_small_window();
    test_h2_header_list_over_limit();
    test_h2_shape_max_header_list_lowers_cap();
    test_h2_protocol_error_closes_all();
    test_h2_eof_and_cancel();
    test_h2_idle_release();
    test_h2_many_fields_delivered();
  }
  test_h2_request_validation();
  return tc_summary("test_h2_behaviour");
}

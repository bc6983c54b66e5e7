/*
 * test_upload.c — streamed request bodies through client/lib/session_h1.c and
 * session_h2.c without sockets: a body source that pauses (H2_BODY_PAUSE)
 * every other read and is resumed with session_resume(), of known length and
 * of unknown length (SESSION_BODY_UNKNOWN). The expected bytes come from the
 * test's own pattern and the protocols' framing rules: HTTP/1.1 chunked
 * coding as RFC 9112 7.1 writes it (decoded here by the test's own reader),
 * HTTP/2 DATA frames as an in-memory nghttp2 server session received them
 * (RFC 9113: no content-length sent for an unknown length, END_STREAM last).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "../../lib/gtest_check.h"
#include "guise.h"
#include "session.h"

#define BODY_MAX (300 * 1000)

/* ---- the source ---------------------------------------------------------------- */

typedef struct source {
  size_t total, off;
  size_t piece;    /* bytes per read at most */
  int ready;       /* 0: the next read pauses (and sets it for the one after) */
  int pauses, reads;
  int pause_every; /* pause before every read (1) or never (0) */
} source;

static uint8_t pattern_at(size_t i) { return (uint8_t)((i * 7 + (i >> 8)) & 0xff); }

static long src_read(void *arg, uint8_t *buf, size_t len, int *eof) {
  source *s = arg;
  s->reads++;
  if (s->pause_every && !s->ready) {
    s->ready = 1;
    s->pauses++;
    return H2_BODY_PAUSE;
  }
  s->ready = 0;
  size_t n = s->total - s->off;
  if (n > len) n = len;
  if (n > s->piece) n = s->piece;
  for (size_t i = 0; i < n; i++) buf[i] = pattern_at(s->off + i);
  s->off += n;
  *eof = s->off == s->total;
  return (long)n;
}

/* ---- a stream's end ------------------------------------------------------------ */

typedef struct rec {
  int closed, err, status;
  char body[64];
} rec;

static int on_head(void *ud, session_head_kind kind, int status, const session_header *h, size_t n) {
  (void)h, (void)n;
  rec *r = ud;
  if (kind == SESSION_HEAD_FINAL) r->status = status;
  return 0;
}

static int on_data(void *ud, const uint8_t *p, size_t n) {
  rec *r = ud;
  size_t used = strlen(r->body);
  snprintf(r->body + used, sizeof(r->body) - used, "%.*s", (int)n, (const char *)p);
  return 0;
}

static void on_close(void *ud, const gerr *e, int retryable) {
  (void)retryable;
  rec *r = ud;
  r->closed++;
  r->err = e->code;
}

static const session_stream_callbacks CB = {on_head, on_data, on_close};

/* ---- HTTP/1.1 ------------------------------------------------------------------ */

static uint8_t wire[BODY_MAX * 2];

/* Sends everything, |cap| bytes per send; each time the body pauses the
 * session must have nothing to say until session_resume(). */
static size_t h1_pump(session *s, uint32_t id, source *src, size_t cap) {
  size_t total = 0;
  for (int round = 0; round < 1000000; round++) {
    if (!session_want_write(s)) {
      if (src->ready && src->off < src->total) {
        CHECK_EQ(session_resume(s, id), 0);
        CHECK_EQ(session_want_write(s), 1);
        continue;
      }
      /* the source's end is due (the last read paused before saying it) */
      if (src->ready && session_resume(s, id) == 0) continue;
      break;
    }
    size_t n = 0;
    CHECK_EQ(session_send(s, wire + total, cap < sizeof(wire) - total ? cap : sizeof(wire) - total, &n), 0);
    total += n;
  }
  return total;
}

/* RFC 9112 7.1's chunked-body, read by the test: chunk-size (hex) CRLF data
 * CRLF, ..., "0" CRLF, CRLF (no extensions, no trailers sent). Returns the
 * decoded length, or (size_t)-1 for a text that is not that. */
static size_t dechunk(const uint8_t *p, size_t len, uint8_t *out, int *chunks) {
  size_t i = 0, o = 0;
  *chunks = 0;
  for (;;) {
    size_t size = 0, digits = 0;
    while (i < len && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
      size = size * 16 + (size_t)(p[i] <= '9' ? p[i] - '0' : p[i] - 'a' + 10);
      i++, digits++;
    }
    if (digits == 0 || i + 2 > len || p[i] != '\r' || p[i + 1] != '\n') return (size_t)-1;
    i += 2;
    if (size == 0) return i + 2 == len && p[i] == '\r' && p[i + 1] == '\n' ? o : (size_t)-1;
    if (i + size + 2 > len || p[i + size] != '\r' || p[i + size + 1] != '\n') return (size_t)-1;
    memcpy(out + o, p + i, size);
    o += size;
    i += size + 2;
    (*chunks)++;
  }
}

static int body_is_pattern(const uint8_t *p, size_t n, size_t want) {
  if (n != want) return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern_at(i)) return 0;
  return 1;
}

static size_t head_end(const uint8_t *p, size_t n) {
  for (size_t i = 0; i + 4 <= n; i++)
    if (memcmp(p + i, "\r\n\r\n", 4) == 0) return i + 4;
  return 0;
}

static void h1_case(const char *name, uint64_t length, size_t total, size_t piece, size_t cap, int with_place) {
  session_config cfg = {1, 0};
  session *s = NULL;
  CHECK_EQ(session_h1_new(&s, &cfg, NULL), 0);
  source src = {.total = total, .piece = piece, .pause_every = 1};
  session_body b = {src_read, &src, length};
  /* A Content-Length place (NULL value), as a profile's kind may put one. */
  session_header hs[3] = {{"Host", 4, "example.com", 11}, {"Content-Length", 14, NULL, 0}, {"Accept", 6, "*/*", 3}};
  session_header plain[2] = {{"Host", 4, "example.com", 11}, {"Accept", 6, "*/*", 3}};
  session_request req = {.method = "PUT", .scheme = "http", .authority = "example.com", .path = "/up",
                         .headers = with_place ? hs : plain, .n_headers = with_place ? 3 : 2, .body = &b};
  rec r = {0};
  uint32_t id = 0;
  CHECK_EQ(session_submit(s, &req, &CB, &r, &id), 0);
  size_t n = h1_pump(s, id, &src, cap);
  size_t he = head_end(wire, n);
  CHECK_MSG(he > 0, "%s: no head", name);
  char head[1024];
  snprintf(head, sizeof(head), "%.*s", (int)he, (const char *)wire);
  static uint8_t dec[BODY_MAX];
  int chunks = 0;
  if (length == SESSION_BODY_UNKNOWN) {
    CHECK_MSG(strstr(head, "\r\nTransfer-Encoding: chunked\r\n") != NULL, "%s: head %s", name, head);
    CHECK_MSG(strstr(head, "Content-Length") == NULL, "%s: head %s", name, head);
    size_t got = dechunk(wire + he, n - he, dec, &chunks);
    CHECK_MSG(got != (size_t)-1 && body_is_pattern(dec, got, total), "%s: chunked body wrong (%zu)", name, got);
    CHECK_MSG(total == 0 || chunks >= (int)((total + piece - 1) / piece), "%s: %d chunks", name, chunks);
  } else {
    char cl[64];
    snprintf(cl, sizeof(cl), "\r\nContent-Length: %llu\r\n", (unsigned long long)length);
    CHECK_MSG(strstr(head, cl) != NULL, "%s: head %s", name, head);
    CHECK_MSG(strstr(head, "Transfer-Encoding") == NULL, "%s: head %s", name, head);
    CHECK_MSG(body_is_pattern(wire + he, n - he, total), "%s: body of %zu bytes wrong", name, n - he);
  }
  CHECK_MSG(src.pauses > 0, "%s: the source never paused", name);
  CHECK_EQ(r.closed, 0);
  static const char rsp[] = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  CHECK_EQ(session_recv(s, (const uint8_t *)rsp, sizeof(rsp) - 1), 0);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, 0);
  CHECK_EQ(r.status, 201);
  CHECK_STR(r.body, "ok");
  CHECK_MSG(session_capacity(s) == 1, "%s: the connection was not kept after a whole upload", name);
  session_free(s);
}

static void test_h1(void) {
  h1_case("h1 chunked, paused, 16 KiB sends", SESSION_BODY_UNKNOWN, 200000, 5000, 16384, 0);
  h1_case("h1 chunked, a Content-Length place dropped", SESSION_BODY_UNKNOWN, 70000, 65536, 16384, 1);
  h1_case("h1 chunked, tiny sends", SESSION_BODY_UNKNOWN, 3000, 1000, 16, 0);
  h1_case("h1 chunked, empty body", SESSION_BODY_UNKNOWN, 0, 100, 4096, 0);
  h1_case("h1 Content-Length, paused", 150000, 150000, 7000, 16384, 0);
  h1_case("h1 Content-Length into its place, paused", 1000, 1000, 300, 512, 1);
}

/* resume on a stream that is not paused, or not the open one: refused. */
static void test_h1_resume_refused(void) {
  session_config cfg = {1, 0};
  session *s = NULL;
  CHECK_EQ(session_h1_new(&s, &cfg, NULL), 0);
  CHECK_EQ(session_resume(s, 1), GUISE_E_USAGE_INVALID_ARGUMENT);
  source src = {.total = 10, .piece = 10, .pause_every = 0};
  session_body b = {src_read, &src, SESSION_BODY_UNKNOWN};
  session_header hs[1] = {{"Host", 4, "h", 1}};
  session_request req = {.method = "POST", .path = "/", .headers = hs, .n_headers = 1, .body = &b};
  rec r = {0};
  uint32_t id = 0;
  CHECK_EQ(session_submit(s, &req, &CB, &r, &id), 0);
  CHECK_EQ(session_resume(s, id), GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK_EQ(session_resume(s, id + 1), GUISE_E_USAGE_INVALID_ARGUMENT);
  session_free(s);
}

/* A source error mid-body ends the stream with its code and the connection
 * with it (the server would read what follows as the rest of the body). */
static long failing_read(void *arg, uint8_t *buf, size_t len, int *eof) {
  int *calls = arg;
  (void)eof;
  if ((*calls)++ == 0) {
    memset(buf, 'x', len < 100 ? len : 100);
    return len < 100 ? (long)len : 100;
  }
  return GUISE_E_IO;
}

static void test_h1_source_error(void) {
  session_config cfg = {1, 0};
  session *s = NULL;
  CHECK_EQ(session_h1_new(&s, &cfg, NULL), 0);
  int calls = 0;
  session_body b = {failing_read, &calls, SESSION_BODY_UNKNOWN};
  session_header hs[1] = {{"Host", 4, "h", 1}};
  session_request req = {.method = "POST", .path = "/", .headers = hs, .n_headers = 1, .body = &b};
  rec r = {0};
  uint32_t id = 0;
  CHECK_EQ(session_submit(s, &req, &CB, &r, &id), 0);
  uint8_t out[4096];
  size_t n = 0;
  CHECK_EQ(session_send(s, out, sizeof(out), &n), 0); /* the head */
  CHECK_EQ(session_send(s, out, sizeof(out), &n), GUISE_E_IO);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, GUISE_E_IO);
  CHECK_EQ(session_alive(s), 0);
  session_free(s);
}

/* ---- HTTP/2 -------------------------------------------------------------------- */

typedef struct server {
  nghttp2_session *ng;
  char fields[512];
  uint8_t body[BODY_MAX];
  size_t body_len;
  int ended, data_frames;
} server;

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, 0}

static int srv_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                      const uint8_t *value, size_t valuelen, uint8_t flags, void *ud) {
  (void)ng, (void)f, (void)flags;
  server *s = ud;
  size_t used = strlen(s->fields);
  snprintf(s->fields + used, sizeof(s->fields) - used, "%s%.*s: %.*s", used ? "|" : "", (int)namelen,
           (const char *)name, (int)valuelen, (const char *)value);
  return 0;
}

static int srv_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *p, size_t n, void *ud) {
  (void)ng, (void)flags, (void)id;
  server *s = ud;
  if (s->body_len + n <= sizeof(s->body)) memcpy(s->body + s->body_len, p, n);
  s->body_len += n;
  return 0;
}

static int srv_frame(nghttp2_session *ng, const nghttp2_frame *f, void *ud) {
  server *s = ud;
  if (f->hd.type == NGHTTP2_DATA) s->data_frames++;
  if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    s->ended = 1;
    nghttp2_nv ok[] = {NV(":status", "201")};
    nghttp2_submit_response(ng, f->hd.stream_id, ok, 1, NULL);
  }
  return 0;
}

static void server_init(server *s) {
  memset(s, 0, sizeof(*s));
  nghttp2_session_callbacks *cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, srv_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, srv_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame);
  nghttp2_session_server_new(&s->ng, cb, s);
  nghttp2_session_callbacks_del(cb);
  nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, NULL, 0);
}

/* Bytes both ways until neither side has anything to say. */
static void pump(session *c, server *s) {
  static uint8_t buf[1 << 16];
  for (int round = 0; round < 100000; round++) {
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

static void h2_case(const char *name, uint64_t length, size_t total, size_t piece) {
  static server srv_store;
  server *sv = &srv_store;
  server_init(sv);
  h2_shape shape;
  h2_shape_init(&shape);
  session_config cfg = {10, 0};
  session *c = NULL;
  CHECK_EQ(session_h2_new(&c, &shape, &cfg, NULL), 0);
  source src = {.total = total, .piece = piece, .pause_every = 1};
  session_body b = {src_read, &src, length};
  static const session_header hs[] = {{"accept", 6, "*/*", 3}};
  session_request req = {.method = "PUT", .scheme = "https", .authority = "example.com", .path = "/up",
                         .headers = hs, .n_headers = 1, .body = &b};
  rec r = {0};
  uint32_t id = 0;
  CHECK_EQ(session_submit(c, &req, &CB, &r, &id), 0);
  int resumes = 0;
  for (int round = 0; round < 100000 && !sv->ended; round++) {
    pump(c, sv);
    if (sv->ended) break;
    /* Paused: the session says nothing until it is resumed. */
    CHECK_EQ(session_want_write(c), 0);
    CHECK_EQ(session_resume(c, id), 0);
    resumes++;
  }
  pump(c, sv);
  CHECK_MSG(sv->ended, "%s: END_STREAM never came", name);
  CHECK_MSG(body_is_pattern(sv->body, sv->body_len, total), "%s: the server got %zu bytes, not the pattern",
            name, sv->body_len);
  CHECK_MSG(strstr(sv->fields, "content-length") == NULL, "%s: fields %s", name, sv->fields);
  CHECK_MSG(resumes > 0 && src.pauses > 0, "%s: no pause", name);
  CHECK_EQ(r.closed, 1);
  CHECK_EQ(r.err, 0);
  CHECK_EQ(r.status, 201);
  /* resume on a closed stream: refused */
  CHECK_EQ(session_resume(c, id), GUISE_E_USAGE_INVALID_ARGUMENT);
  session_free(c);
  nghttp2_session_del(sv->ng);
}

static void test_h2(void) {
  /* past the 65,535-byte initial windows: WINDOW_UPDATEs from the server */
  h2_case("h2 unknown length, paused", SESSION_BODY_UNKNOWN, 200000, 9000);
  h2_case("h2 known length, paused", 100000, 100000, 40000);
  h2_case("h2 empty body", SESSION_BODY_UNKNOWN, 0, 10);
}

int main(void) {
  test_h1();
  test_h1_resume_refused();
  test_h1_source_error();
  test_h2();
  return gt_done("test_upload");
}

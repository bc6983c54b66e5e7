/*
 * test_session_h3 — the HTTP/3 session (client/lib/session_h3.c) against the
 * in-process ngtcp2 + nghttp3 server of h3_test_server.c: datagrams passed in
 * memory, one fake clock for both sides, the session's timer kept by a fake
 * host (the pump below advances the clock to the next deadline when nothing
 * moves, so idle timeouts take no real time).
 *
 * Checked, with the built-in chromium-156-linux and firefox-esr-153-linux
 * profiles (their http3 sections):
 *   - the first datagram is the profile's Initial size (1250 for Chromium over
 *     IPv4, 1230 over IPv6, 1252 for Firefox: tests/data/captures/quic/README.md,
 *     the browsers' captures) and capacity() is 0 until the handshake completes;
 *   - GET 200 with a 20,000-byte body, the certificate verified against the
 *     server's own (a CA file); the pseudo-headers in the browser's order
 *     (Chromium :method :authority :scheme :path, Firefox :method :scheme
 *     :authority :path: the captures' HTTP/3 logs *-h3-1.jsonl);
 *   - POST of 100,000 bytes (several 16 KiB chunks, each kept until
 *     acknowledged) echoed back byte for byte;
 *   - five streams at once, each its own body length;
 *   - trailers (x-checksum: 42 after "abc");
 *   - a stream the server resets with H3_REQUEST_REJECTED: GUISE_E_HTTP2_REFUSED,
 *     retryable;
 *   - GOAWAY: the answered stream ends well, the one the server had not seen
 *     with GUISE_E_HTTP2_GOAWAY, retryable; no new request; over when idle;
 *   - the server's CONNECTION_CLOSE (H3_INTERNAL_ERROR 0x102, "test close"):
 *     GUISE_E_CONNECT_CLOSED naming both, the session not alive;
 *   - garbage datagrams (random, short, long-header-looking) are dropped and
 *     the connection still serves a request;
 *   - a stateless reset: GUISE_E_CONNECT_RESET;
 *   - the idle timeout through the host's timer: GUISE_E_TIMEOUT_IDLE after
 *     the profile's 30 s of silence (fake time);
 *   - a self-signed certificate not in the trust store (the system bundle):
 *     recv fails with GUISE_E_CERT_SELF_SIGNED and the session is over;
 *   - hostile responses: 32 interim responses taken, a 33rd ends the stream
 *     (HTTP_PROTOCOL); 302 header fields (over 256): HTTP_HEADERS_TOO_LARGE, the
 *     connection goes on; a header block without :status: HTTP_PROTOCOL;
 *   - Version Negotiation offering only a draft version: GUISE_E_CONNECT_FAILED;
 *   - a server that negotiates no ALPN: its TLS alert 120 (no_application_protocol)
 *     in CONNECTION_CLOSE: GUISE_E_TLS_ALERT;
 *   - the unidirectional streams and PRIORITY_UPDATE frames of the browsers'
 *     HTTP/3 logs (test_uni_and_priority_update): Chromium's silent decoder
 *     stream, which speaks once the server's encoder inserts; 450 requests
 *     through the control stream's ring; Firefox's encoder before its decoder.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ngtcp2/ngtcp2.h>
#include <openssl/rand.h>

#include "guise.h"
#include "h3_test_server.h"
#include "profile.h"
#include "session.h"
#include "session_h3.h"

static int failures;
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
      failures++;                                          \
    }                                                      \
  } while (0)

static uint64_t fake_now = 1000000000ull;
static uint64_t clock_fn(void *arg) {
  (void)arg;
  return fake_now;
}

static char cafile[64];
static int use_v6; /* the session's path is [::1] (the in-memory server does not care) */

/* ---- one stream's result ---- */

typedef struct result {
  int status, finals, interims;
  char trailer[32];
  uint8_t *body;
  size_t body_len;
  int closed;
  gerr err;
  int retryable;
  int stop_data; /* on_data returns 1: the caller ends the stream */
} result;

static int on_head(void *ud, session_head_kind kind, int status, const session_header *h, size_t n) {
  result *r = ud;
  if (kind == SESSION_HEAD_FINAL) {
    r->status = status;
    r->finals++;
  } else if (kind == SESSION_HEAD_INTERIM) {
    r->interims++;
  } else {
    for (size_t i = 0; i < n; i++)
      if (strcmp(h[i].name, "x-checksum") == 0) snprintf(r->trailer, sizeof r->trailer, "%s", h[i].value);
  }
  return 0;
}

static int on_data(void *ud, const uint8_t *p, size_t n) {
  result *r = ud;
  if (r->stop_data) return 1;
  uint8_t *nb = realloc(r->body, r->body_len + n + 1);
  if (nb == NULL) return GUISE_E_NOMEM;
  r->body = nb;
  memcpy(r->body + r->body_len, p, n);
  r->body_len += n;
  return 0;
}

static void on_close(void *ud, const gerr *err, int retryable) {
  result *r = ud;
  r->closed++;
  r->err = *err;
  r->retryable = retryable;
}

static const session_stream_callbacks cbs = {on_head, on_data, on_close};

/* ---- the harness ---- */

typedef struct tc {
  session *s;
  h3ts *srv;
  uint64_t deadline; /* the session's timer */
  profile prof;
  int recv_err;
} tc;

static void set_timer(void *arg, unsigned ms) {
  tc *t = arg;
  t->deadline = ms ? fake_now + (uint64_t)ms * 1000000u : UINT64_MAX;
}

static int setup(tc *t, const char *profile_name, int trust_server) {
  memset(t, 0, sizeof *t);
  t->deadline = UINT64_MAX;
  char err[256];
  if (profile_load_builtin(profile_name, &t->prof, err, sizeof err) != 0) {
    fprintf(stderr, "profile %s: %s\n", profile_name, err);
    return -1;
  }
  t->srv = h3ts_new(clock_fn, NULL);
  if (t->srv == NULL || h3ts_write_cert(t->srv, cafile) != 0) return -1;
  tls_client_config cc;
  memset(&cc, 0, sizeof cc);
  cc.cafile = trust_server ? cafile : NULL; /* NULL: the system bundle */
  int e = 0;
  const char *why = NULL;
  SSL_CTX *ctx = session_h3_ctx_new(&t->prof, &cc, &e, &why);
  if (ctx == NULL) {
    fprintf(stderr, "session_h3_ctx_new: %d %s\n", e, why);
    return -1;
  }
  struct sockaddr_in remote, local;
  h3ts_loopback_addrs(&remote, &local);
  struct sockaddr_in6 remote6, local6;
  memset(&remote6, 0, sizeof remote6);
  remote6.sin6_family = AF_INET6;
  remote6.sin6_port = htons(443);
  remote6.sin6_addr = in6addr_loopback;
  local6 = remote6;
  local6.sin6_port = htons(50000);
  session_h3_config cfg = {.profile = &t->prof,
                           .server_name = "localhost",
                           .remote = use_v6 ? (struct sockaddr *)&remote6 : (struct sockaddr *)&remote,
                           .remote_len = use_v6 ? sizeof remote6 : sizeof remote,
                           .local = use_v6 ? (struct sockaddr *)&local6 : (struct sockaddr *)&local,
                           .local_len = use_v6 ? sizeof local6 : sizeof local,
                           .ctx = ctx,
                           .verify = 1,
                           .max_streams = 10,
                           .now_ns = clock_fn};
  session_host host = {set_timer, t};
  e = session_h3_new(&cfg, &host, &t->s);
  SSL_CTX_free(ctx); /* the session holds its own reference */
  if (e) fprintf(stderr, "session_h3_new: %d\n", e);
  return e ? -1 : 0;
}

static void teardown(tc *t) {
  session_free(t->s);
  h3ts_free(t->srv);
}

typedef int (*until_fn)(tc *t, void *arg);

/* Moves datagrams both ways until |until| holds; when nothing moves, time
 * jumps to the next deadline of either side. 0: it held. */
static int pump(tc *t, until_fn until, void *arg, int max_rounds) {
  static uint8_t buf[2048];
  for (int round = 0; round < max_rounds; round++) {
    int moved = 0;
    for (int i = 0; i < 256 && session_alive(t->s) && session_want_write(t->s); i++) {
      size_t n = 0;
      if (session_send(t->s, buf, sizeof buf, &n) != 0 || n == 0) break;
      moved = 1;
      h3ts_recv(t->srv, buf, n);
    }
    for (int i = 0; i < 256; i++) {
      size_t n = h3ts_send(t->srv, buf, sizeof buf);
      if (n == 0) break;
      moved = 1;
      int e = session_recv(t->s, buf, n);
      if (e && !t->recv_err) t->recv_err = e;
    }
    if (until(t, arg)) return 0;
    if (!moved) {
      uint64_t next = t->deadline, se = h3ts_expiry(t->srv);
      if (se < next) next = se;
      if (next == UINT64_MAX) return -1;
      if (next > fake_now) fake_now = next;
      if (t->deadline <= fake_now) {
        t->deadline = UINT64_MAX;
        session_timeout(t->s);
      }
      if (h3ts_expiry(t->srv) <= fake_now) h3ts_timeout(t->srv);
    }
  }
  return -1;
}

/* Datagrams both ways for |rounds| rounds, the clock standing still. */
static void exchange(tc *t, int rounds) {
  static uint8_t buf[2048];
  for (int round = 0; round < rounds; round++) {
    h3ts_take_from(t->srv, t->s);
    for (size_t n; (n = h3ts_send(t->srv, buf, sizeof buf)) > 0;) session_recv(t->s, buf, n);
  }
}

static int until_capacity(tc *t, void *arg) {
  (void)arg;
  return session_capacity(t->s) > 0 || !session_alive(t->s);
}

static int until_closed(tc *t, void *arg) {
  (void)t;
  result *r = arg;
  return r->closed > 0;
}

typedef struct many {
  result *r;
  size_t n;
} many;

static int until_all_closed(tc *t, void *arg) {
  (void)t;
  many *m = arg;
  for (size_t i = 0; i < m->n; i++)
    if (!m->r[i].closed) return 0;
  return 1;
}

static int until_dead(tc *t, void *arg) {
  (void)arg;
  return !session_alive(t->s);
}

static int until_server_saw(tc *t, void *arg) {
  (void)arg;
  const h3ts_request *rq;
  return h3ts_requests(t->srv, &rq) > 0 && rq[0].done;
}

static int until_server_saw_n(tc *t, void *arg) {
  const h3ts_request *rq;
  size_t want = (size_t)(uintptr_t)arg;
  return h3ts_requests(t->srv, &rq) >= want && rq[want - 1].done;
}

static int handshake(tc *t) {
  if (pump(t, until_capacity, NULL, 200) != 0 || session_capacity(t->s) == 0) {
    fprintf(stderr, "no handshake (recv error %d)\n", t->recv_err);
    return -1;
  }
  return 0;
}

static int submit(tc *t, const char *method, const char *path, const session_body *body, result *r,
                  uint32_t *id) {
  static const session_header hs[] = {
      {"user-agent", 10, "test", 4},
      {"accept", 6, "*/*", 3},
      {"priority", 8, "u=0, i", 6},
  };
  session_request rq = {.method = method,
                        .scheme = "https",
                        .authority = "localhost",
                        .path = path,
                        .headers = hs,
                        .n_headers = 3,
                        .body = body};
  memset(r, 0, sizeof *r);
  return session_submit(t->s, &rq, &cbs, r, id);
}

static int body_is_pattern(const result *r, size_t n) {
  if (r->body_len != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (r->body[i] != h3ts_pattern(i)) return 0;
  return 1;
}

/* ---- the cases ---- */

static void test_initial_and_get(const char *pname, size_t initial, const char *const order[4]) {
  tc t;
  if (setup(&t, pname, 1) != 0) {
    CHECK(0, "%s: setup", pname);
    return;
  }
  CHECK(session_protocol(t.s) == SESSION_H3, "%s: protocol", pname);
  CHECK(strcmp(t.s->ops->name, "HTTP/3") == 0, "%s: name", pname);
  CHECK(session_capacity(t.s) == 0, "%s: capacity before the handshake", pname);
  uint8_t buf[2048];
  size_t n = 0;
  CHECK(session_want_write(t.s), "%s: the Initial is ready", pname);
  CHECK(session_send(t.s, buf, sizeof buf, &n) == 0 && n == initial, "%s: first datagram %zu bytes, expected %zu",
        pname, n, initial);
  CHECK(n > 0 && (buf[0] & 0xf0) == 0xc0, "%s: a long-header Initial", pname);
  h3ts_recv(t.srv, buf, n);
  if (handshake(&t) != 0) {
    CHECK(0, "%s: handshake", pname);
    teardown(&t);
    return;
  }
  CHECK(session_capacity(t.s) == 10, "%s: capacity %zu after the handshake, expected max_streams 10", pname,
        session_capacity(t.s));
  result r;
  uint32_t id = 99;
  CHECK(submit(&t, "GET", "/body?20000", NULL, &r, &id) == 0, "%s: submit", pname);
  CHECK(id == 0, "%s: the first request on stream 0 (got %u)", pname, id);
  CHECK(session_open_streams(t.s) == 1 && session_capacity(t.s) == 9, "%s: one open stream", pname);
  CHECK(pump(&t, until_closed, &r, 400) == 0, "%s: GET did not end", pname);
  CHECK(r.closed == 1 && r.err.code == 0, "%s: GET ended with %d (%s)", pname, r.err.code, r.err.text);
  CHECK(r.status == 200 && r.finals == 1, "%s: status %d", pname, r.status);
  CHECK(body_is_pattern(&r, 20000), "%s: body %zu bytes, not the 20000-byte pattern", pname, r.body_len);
  CHECK(session_open_streams(t.s) == 0 && session_alive(t.s), "%s: idle and alive after the GET", pname);
  const h3ts_request *rq;
  size_t nr = h3ts_requests(t.srv, &rq);
  CHECK(nr == 1 && strcmp(rq[0].method, "GET") == 0 && strcmp(rq[0].path, "/body?20000") == 0,
        "%s: server saw %s %s", pname, nr ? rq[0].method : "", nr ? rq[0].path : "");
  if (nr == 1 && rq[0].n_names >= 7) {
    for (int i = 0; i < 4; i++)
      CHECK(strcmp(rq[0].names[i], order[i]) == 0, "%s: field %d is %s, expected %s", pname, i, rq[0].names[i],
            order[i]);
    CHECK(strcmp(rq[0].names[4], "user-agent") == 0 && strcmp(rq[0].names[6], "priority") == 0,
          "%s: the caller's fields follow in their order", pname);
  } else {
    CHECK(0, "%s: %zu fields", pname, nr ? rq[0].n_names : 0);
  }
  /* session_h3_close: one CONNECTION_CLOSE, then over; the server drains */
  CHECK(session_h3_close(t.s) == 0 && session_alive(t.s) && session_want_write(t.s), "%s: close queued", pname);
  n = 0;
  CHECK(session_send(t.s, buf, sizeof buf, &n) == 0 && n > 0, "%s: the close datagram", pname);
  CHECK(h3ts_recv(t.srv, buf, n) == -1, "%s: the server did not take it as the end", pname);
  size_t n2 = 1;
  CHECK(!session_alive(t.s) && session_send(t.s, buf, sizeof buf, &n2) == 0 && n2 == 0, "%s: nothing after it",
        pname);
  CHECK(session_h3_failure(t.s) && session_h3_failure(t.s)->code == GUISE_E_CANCELLED, "%s: closed: CANCELLED",
        pname);
  free(r.body);
  teardown(&t);
}

/* A QUIC variable-length integer (RFC 9000 16) from |p| at |*at| (< n). */
static int get_varint(const uint8_t *p, size_t n, size_t *at, uint64_t *v) {
  if (*at >= n) return -1;
  size_t len = (size_t)1 << (p[*at] >> 6);
  if (*at + len > n) return -1;
  *v = p[*at] & 0x3f;
  for (size_t i = 1; i < len; i++) *v = *v << 8 | p[*at + i];
  *at += len;
  return 0;
}

/*
 * The client's unidirectional streams and control frames, as the browsers'
 * HTTP/3 logs show them (tests/data/captures/quic/ *-h3-*.jsonl, read by
 * guise_h3_listen): Chromium 156 opens control 2, QPACK decoder 6, encoder 10,
 * and sends nothing on 6 (not its type) until it has an instruction; it sends a
 * PRIORITY_UPDATE (0xf0700) per request with the request's stream id and
 * priority field. Firefox 153: control 2, encoder 6, decoder 10, each type at
 * once, in that order, no PRIORITY_UPDATE. |dtable|: the server's QPACK
 * encoder table (0: it never inserts, so the decoder never has anything to
 * say; 4096: it inserts response fields, and Chromium's decoder stream must
 * then speak). |nreq| requests one after the other (450: the control stream's
 * 4 KiB ring wraps; every PRIORITY_UPDATE must still come whole and in order).
 */
static void test_uni_and_priority_update(const char *pname, size_t dtable, const int64_t *want_id,
                                         const uint64_t *want_type, size_t n_want, int want_pu, size_t nreq) {
  tc t;
  if (setup(&t, pname, 1) != 0) {
    CHECK(0, "%s: setup", pname);
    return;
  }
  h3ts_set_encoder_dtable(t.srv, dtable);
  if (handshake(&t) != 0) {
    CHECK(0, "%s: handshake", pname);
    teardown(&t);
    return;
  }
  for (size_t i = 0; i < nreq; i++) {
    result r;
    uint32_t id = 0;
    if (submit(&t, "GET", "/body?10", NULL, &r, &id) != 0 || pump(&t, until_closed, &r, 400) != 0 ||
        r.err.code != 0 || r.status != 200) {
      CHECK(0, "%s: request %zu did not complete (%d %s)", pname, i, r.err.code, r.err.text);
      free(r.body);
      break;
    }
    free(r.body);
  }
  exchange(&t, 4);
  const int64_t *ids;
  const uint64_t *types;
  size_t nu = h3ts_client_uni(t.srv, &ids, &types);
  int same = nu == n_want;
  for (size_t i = 0; same && i < nu; i++) same = ids[i] == want_id[i] && types[i] == want_type[i];
  char got[128] = "";
  for (size_t i = 0; i < nu; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), " (%lld,%llu)", (long long)ids[i],
             (unsigned long long)types[i]);
  CHECK(same, "%s (server table %zu): unidirectional streams (id,type) in order:%s; expected %zu others", pname,
        dtable, got, n_want);
  /* the control stream: type 0, SETTINGS, a reserved frame, then PRIORITY_UPDATEs */
  const uint8_t *c;
  size_t cl = h3ts_client_control(t.srv, &c), at = 0, npu = 0;
  uint64_t type = 99, ftype, flen;
  CHECK(get_varint(c, cl, &at, &type) == 0 && type == 0, "%s: control stream type", pname);
  int first = 1, bad = 0;
  while (at < cl && !bad) {
    if (get_varint(c, cl, &at, &ftype) != 0 || get_varint(c, cl, &at, &flen) != 0 || at + flen > cl) {
      bad = 1;
      break;
    }
    if (first) CHECK(ftype == 4, "%s: SETTINGS first (got 0x%llx)", pname, (unsigned long long)ftype);
    first = 0;
    if (ftype == 0xf0700) {
      size_t p = at;
      uint64_t elem;
      if (get_varint(c, at + flen, &p, &elem) != 0) {
        bad = 1;
        break;
      }
      CHECK(elem == 4 * npu && at + flen - p == 6 && memcmp(c + p, "u=0, i", 6) == 0,
            "%s: PRIORITY_UPDATE %zu: element %llu, value %.*s", pname, npu, (unsigned long long)elem,
            (int)(at + flen - p), (const char *)c + p);
      npu++;
    }
    at += flen;
  }
  CHECK(!bad && cl < H3TS_CTRL_MAX, "%s: the control stream's %zu bytes parse as frames", pname, cl);
  CHECK(npu == (want_pu ? nreq : 0), "%s: %zu PRIORITY_UPDATE frames for %zu requests", pname, npu, nreq);
  CHECK(nreq < 400 || cl > 4096, "%s: %zu control stream bytes: session_h3's 4 KiB ring did not wrap", pname, cl);
  teardown(&t);
}

typedef struct src {
  size_t len, off;
  size_t pause_at; /* 0: never; else H2_BODY_PAUSE once there */
  int paused;
} src;

static long body_read(void *arg, uint8_t *buf, size_t len, int *eof) {
  src *s = arg;
  if (s->pause_at && s->off >= s->pause_at && !s->paused) {
    s->paused = 1;
    return H2_BODY_PAUSE;
  }
  if (s->pause_at && s->off + len > s->pause_at && !s->paused) len = s->pause_at - s->off;
  size_t n = s->len - s->off < len ? s->len - s->off : len;
  if (n > 7000) n = 7000; /* several reads a chunk */
  for (size_t i = 0; i < n; i++) buf[i] = h3ts_pattern(s->off + i);
  s->off += n;
  *eof = s->off == s->len;
  return (long)n;
}

static void test_post(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "post: setup");
    teardown(&t);
    return;
  }
  src s = {100000, 0, 0, 0};
  session_body b = {body_read, &s, 100000};
  result r;
  CHECK(submit(&t, "POST", "/echo", &b, &r, NULL) == 0, "post: submit");
  CHECK(pump(&t, until_closed, &r, 2000) == 0, "post: did not end");
  CHECK(r.err.code == 0 && r.status == 200, "post: %d %s status %d", r.err.code, r.err.text, r.status);
  CHECK(body_is_pattern(&r, 100000), "post: echo %zu bytes, not the 100000 sent", r.body_len);
  const h3ts_request *rq;
  CHECK(h3ts_requests(t.srv, &rq) == 1 && rq[0].body_len == 100000 && strcmp(rq[0].method, "POST") == 0,
        "post: server got %zu body bytes", rq[0].body_len);
  free(r.body);
  teardown(&t);
}

/* A body that pauses (H2_BODY_PAUSE) halfway: nothing more is asked until
 * session_resume, then the rest goes and the echo is whole. */
static int until_paused(tc *t, void *arg) {
  (void)t;
  return ((src *)arg)->paused;
}

static void test_post_pause(void) {
  tc t;
  if (setup(&t, "firefox-esr-153-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "pause: setup");
    teardown(&t);
    return;
  }
  src s = {60000, 0, 30000, 0};
  session_body b = {body_read, &s, 60000};
  result r;
  uint32_t id = 0;
  CHECK(submit(&t, "POST", "/echo", &b, &r, &id) == 0, "pause: submit");
  CHECK(pump(&t, until_paused, &s, 400) == 0, "pause: the body did not pause");
  CHECK(s.off == 30000, "pause: %zu bytes read before the pause", s.off);
  exchange(&t, 20); /* acknowledgements, no more body */
  CHECK(!r.closed && s.off == 30000, "pause: read on while paused (%zu)", s.off);
  CHECK(session_resume(t.s, id) == 0, "pause: resume");
  CHECK(session_resume(t.s, id) == GUISE_E_USAGE_INVALID_ARGUMENT, "pause: a second resume is refused");
  CHECK(pump(&t, until_closed, &r, 2000) == 0, "pause: did not end");
  CHECK(r.err.code == 0 && body_is_pattern(&r, 60000), "pause: echo %zu bytes (%d)", r.body_len, r.err.code);
  free(r.body);
  teardown(&t);
}

static void test_streams(void) {
  tc t;
  if (setup(&t, "firefox-esr-153-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "streams: setup");
    teardown(&t);
    return;
  }
  result r[5];
  char paths[5][32];
  for (int i = 0; i < 5; i++) {
    snprintf(paths[i], sizeof paths[i], "/body?%d", 1000 + 7919 * i);
    CHECK(submit(&t, "GET", paths[i], NULL, &r[i], NULL) == 0, "streams: submit %d", i);
  }
  CHECK(session_open_streams(t.s) == 5 && session_capacity(t.s) == 5, "streams: 5 open, capacity %zu",
        session_capacity(t.s));
  many m = {r, 5};
  CHECK(pump(&t, until_all_closed, &m, 2000) == 0, "streams: not all ended");
  for (int i = 0; i < 5; i++) {
    CHECK(r[i].closed == 1 && r[i].err.code == 0 && r[i].status == 200, "streams: %d ended %d", i, r[i].err.code);
    CHECK(body_is_pattern(&r[i], (size_t)(1000 + 7919 * i)), "streams: %d body %zu", i, r[i].body_len);
    free(r[i].body);
  }
  teardown(&t);
}

static void test_trailers(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "trailers: setup");
    teardown(&t);
    return;
  }
  result r;
  CHECK(submit(&t, "GET", "/trailers", NULL, &r, NULL) == 0, "trailers: submit");
  CHECK(pump(&t, until_closed, &r, 400) == 0, "trailers: did not end");
  CHECK(r.err.code == 0 && r.status == 200, "trailers: %d", r.err.code);
  CHECK(r.body_len == 3 && memcmp(r.body, "abc", 3) == 0, "trailers: body");
  CHECK(strcmp(r.trailer, "42") == 0, "trailers: x-checksum '%s', expected 42", r.trailer);
  free(r.body);
  teardown(&t);
}

static void test_reject(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "reject: setup");
    teardown(&t);
    return;
  }
  result r, ok;
  CHECK(submit(&t, "GET", "/reject", NULL, &r, NULL) == 0, "reject: submit");
  CHECK(pump(&t, until_closed, &r, 400) == 0, "reject: did not end");
  CHECK(r.err.code == GUISE_E_HTTP2_REFUSED && r.retryable, "reject: code %d retryable %d (%s)", r.err.code,
        r.retryable, r.err.text);
  CHECK(r.status == 0, "reject: no response");
  CHECK(session_alive(t.s) && session_capacity(t.s) > 0, "reject: the connection goes on");
  CHECK(submit(&t, "GET", "/body?10", NULL, &ok, NULL) == 0 && pump(&t, until_closed, &ok, 400) == 0 &&
            ok.status == 200,
        "reject: a request after it");
  free(r.body);
  free(ok.body);
  teardown(&t);
}

static void test_close(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "close: setup");
    teardown(&t);
    return;
  }
  result r, other;
  CHECK(submit(&t, "GET", "/hang", NULL, &other, NULL) == 0, "close: submit /hang");
  CHECK(submit(&t, "GET", "/close", NULL, &r, NULL) == 0, "close: submit");
  CHECK(pump(&t, until_closed, &r, 400) == 0, "close: did not end");
  CHECK(r.err.code == GUISE_E_CONNECT_CLOSED && !r.retryable, "close: code %d (%s)", r.err.code, r.err.text);
  CHECK(strstr(r.err.text, "0x102") && strstr(r.err.text, "test close"), "close: text '%s'", r.err.text);
  CHECK(other.closed == 1 && other.err.code == GUISE_E_CONNECT_CLOSED, "close: the other stream ended %d",
        other.err.code);
  CHECK(!session_alive(t.s) && session_capacity(t.s) == 0, "close: the session is over");
  CHECK(t.recv_err == GUISE_E_CONNECT_CLOSED, "close: recv returned %d", t.recv_err);
  const gerr *why = session_h3_failure(t.s);
  CHECK(why && why->code == GUISE_E_CONNECT_CLOSED, "close: session_h3_failure");
  teardown(&t);
}

static void test_garbage(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "garbage: setup");
    teardown(&t);
    return;
  }
  uint8_t g[1400];
  static const size_t lens[] = {1, 5, 20, 50, 1200, 1399};
  for (int k = 0; k < 60; k++) {
    size_t n = lens[k % 6];
    RAND_bytes(g, n);
    if (k % 3 == 0) g[0] |= 0xc0;          /* long header, any type */
    if (k % 3 == 1) g[0] = (g[0] & 0x3f) | 0x40; /* short header */
    int e = session_recv(t.s, g, n);
    CHECK(e == 0, "garbage: datagram %d (%zu bytes) returned %d", k, n, e);
  }
  CHECK(session_recv(t.s, g, 0) == 0, "garbage: an empty datagram");
  CHECK(session_alive(t.s), "garbage: the session is alive");
  result r;
  CHECK(submit(&t, "GET", "/body?500", NULL, &r, NULL) == 0 && pump(&t, until_closed, &r, 400) == 0,
        "garbage: request after garbage");
  CHECK(r.status == 200 && body_is_pattern(&r, 500), "garbage: status %d", r.status);
  free(r.body);
  teardown(&t);
}

static void test_stateless_reset(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "reset: setup");
    teardown(&t);
    return;
  }
  result r;
  CHECK(submit(&t, "GET", "/hang", NULL, &r, NULL) == 0, "reset: submit");
  CHECK(pump(&t, until_server_saw, NULL, 200) == 0, "reset: the request did not reach the server");
  uint8_t sr[100];
  size_t n = h3ts_stateless_reset(t.srv, sr, sizeof sr);
  int e = session_recv(t.s, sr, n);
  CHECK(e == GUISE_E_CONNECT_RESET, "reset: recv returned %d", e);
  CHECK(r.closed == 1 && r.err.code == GUISE_E_CONNECT_RESET, "reset: stream ended %d (%s)", r.err.code, r.err.text);
  CHECK(!session_alive(t.s), "reset: over");
  teardown(&t);
}

static void test_idle(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "idle: setup");
    teardown(&t);
    return;
  }
  result r;
  CHECK(submit(&t, "GET", "/hang", NULL, &r, NULL) == 0, "idle: submit");
  uint64_t start = fake_now;
  CHECK(pump(&t, until_closed, &r, 2000) == 0, "idle: did not end");
  CHECK(r.err.code == GUISE_E_TIMEOUT_IDLE, "idle: code %d (%s)", r.err.code, r.err.text);
  /* the profile's max_idle_timeout (transport parameter 1): 30000 ms */
  CHECK(fake_now - start >= 30000000000ull && fake_now - start < 40000000000ull, "idle: after %llu ms",
        (unsigned long long)((fake_now - start) / 1000000));
  CHECK(!session_alive(t.s), "idle: over");
  teardown(&t);
}

static void test_cert_refused(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 0) != 0) {
    CHECK(0, "cert: setup");
    teardown(&t);
    return;
  }
  pump(&t, until_dead, NULL, 200);
  CHECK(!session_alive(t.s) && session_capacity(t.s) == 0, "cert: the session is over");
  CHECK(t.recv_err == GUISE_E_CERT_SELF_SIGNED, "cert: recv returned %d, expected CERT_SELF_SIGNED", t.recv_err);
  const gerr *why = session_h3_failure(t.s);
  CHECK(why && why->code == GUISE_E_CERT_SELF_SIGNED && strcmp(why->layer, "tls") == 0, "cert: failure %d %s",
        why ? why->code : 0, why ? why->text : "");
  CHECK(!h3ts_handshake_done(t.srv), "cert: the server did not complete the handshake");
  teardown(&t);
}

/* The caller ends streams: from on_data (inside nghttp3's read) and by cancel()
 * while the response is on its way; the connection goes on. */
static void test_cancel(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "cancel: setup");
    teardown(&t);
    return;
  }
  result a, b, c;
  uint32_t ida = 0, idb = 0;
  CHECK(submit(&t, "GET", "/body?300000", NULL, &a, &ida) == 0, "cancel: submit a");
  a.stop_data = 1;
  CHECK(submit(&t, "GET", "/hang", NULL, &b, &idb) == 0, "cancel: submit b");
  CHECK(pump(&t, until_closed, &a, 400) == 0, "cancel: a did not end");
  CHECK(a.err.code == GUISE_E_CANCELLED && a.body_len == 0, "cancel: a ended %d after %zu bytes", a.err.code,
        a.body_len);
  CHECK(pump(&t, until_server_saw_n, (void *)2, 400) == 0, "cancel: b did not reach the server");
  session_cancel(t.s, idb);
  CHECK(b.closed == 1 && b.err.code == GUISE_E_CANCELLED, "cancel: b ended %d", b.err.code);
  session_cancel(t.s, idb); /* twice: nothing more */
  CHECK(b.closed == 1 && session_open_streams(t.s) == 0, "cancel: b closed once, nothing open");
  CHECK(submit(&t, "GET", "/body?1000", NULL, &c, NULL) == 0 && pump(&t, until_closed, &c, 400) == 0 &&
            c.status == 200 && body_is_pattern(&c, 1000),
        "cancel: a request after the cancels");
  CHECK(session_alive(t.s), "cancel: alive");
  free(a.body);
  free(b.body);
  free(c.body);
  teardown(&t);
}

/* Datagrams from the client to the server only. */
static void to_server(tc *t) { h3ts_take_from(t->srv, t->s); }

/* GOAWAY (RFC 9114 5.2): the stream the server had answered ends well, one it
 * had not seen is retryable, no new request is taken, the session ends once
 * nothing is open. */
static void test_goaway(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "goaway: setup");
    teardown(&t);
    return;
  }
  result a, b, c;
  CHECK(submit(&t, "GET", "/goaway", NULL, &a, NULL) == 0, "goaway: submit a");
  to_server(&t); /* the server reads a and queues its GOAWAY (id 4) */
  CHECK(submit(&t, "GET", "/body?10", NULL, &b, NULL) == 0, "goaway: submit b");
  to_server(&t);
  CHECK(pump(&t, until_closed, &a, 400) == 0 && pump(&t, until_closed, &b, 400) == 0, "goaway: streams did not end");
  CHECK(a.err.code == 0 && a.status == 200, "goaway: a ended %d", a.err.code);
  CHECK(b.retryable && b.err.code == GUISE_E_HTTP2_GOAWAY,
        "goaway: b ended %d retryable %d (%s)", b.err.code, b.retryable, b.err.text);
  CHECK(session_capacity(t.s) == 0, "goaway: capacity %zu", session_capacity(t.s));
  CHECK(submit(&t, "GET", "/body?10", NULL, &c, NULL) == GUISE_E_HTTP2_GOAWAY, "goaway: a new request refused");
  CHECK(!session_alive(t.s), "goaway: over once nothing is open");
  free(a.body);
  teardown(&t);
}

/* Hostile responses: limits of the session and nghttp3's own checks. */
static void test_hostile_responses(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "hostile: setup");
    teardown(&t);
    return;
  }
  result a, b, c, d;
  CHECK(submit(&t, "GET", "/interim?32", NULL, &a, NULL) == 0 && pump(&t, until_closed, &a, 400) == 0,
        "hostile: 32 interim");
  CHECK(a.err.code == 0 && a.interims == 32 && a.status == 200 && a.body_len == 10,
        "hostile: 32 interim responses are taken (%d, %d interim)", a.err.code, a.interims);
  CHECK(submit(&t, "GET", "/interim?33", NULL, &b, NULL) == 0 && pump(&t, until_closed, &b, 400) == 0,
        "hostile: 33 interim");
  CHECK(b.err.code == GUISE_E_HTTP_PROTOCOL && b.interims == 32 && b.status == 0,
        "hostile: the 33rd interim response ends the stream (%d after %d)", b.err.code, b.interims);
  CHECK(submit(&t, "GET", "/bigheaders", NULL, &c, NULL) == 0 && pump(&t, until_closed, &c, 400) == 0,
        "hostile: big headers");
  CHECK(c.err.code == GUISE_E_HTTP_HEADERS_TOO_LARGE && c.status == 0, "hostile: 302 fields: %d (%s)", c.err.code,
        c.err.text);
  CHECK(session_alive(t.s), "hostile: the connection goes on after stream errors");
  CHECK(submit(&t, "GET", "/nostatus", NULL, &d, NULL) == 0 && pump(&t, until_closed, &d, 400) == 0,
        "hostile: no :status");
  CHECK(d.err.code == GUISE_E_HTTP_PROTOCOL && d.status == 0, "hostile: no :status: %d (%s)", d.err.code,
        d.err.text);
  free(a.body);
  free(b.body);
  free(c.body);
  free(d.body);
  teardown(&t);
}

/* Raw HTTP/3 frames from the server on the request stream (RFC 9114 7.2, RFC
 * 9204 4.5): a HEADERS frame whose field section is ":status: 200" from the QPACK
 * static table (required insert count 0, base 0, indexed field line 0xc0|25)
 * then DATA "hi" is a response; DATA before HEADERS (RFC 9114 4.1:
 * H3_FRAME_UNEXPECTED) and a frame cut by FIN fail the connection with
 * HTTP_PROTOCOL. */
static void raw_case(const char *what, const uint8_t *p, size_t n, int want_code, int want_status) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0 || handshake(&t) != 0) {
    CHECK(0, "raw %s: setup", what);
    teardown(&t);
    return;
  }
  result r;
  h3ts_set_raw(t.srv, p, n);
  CHECK(submit(&t, "GET", "/raw", NULL, &r, NULL) == 0 && pump(&t, until_closed, &r, 400) == 0, "raw %s: no end",
        what);
  CHECK(r.err.code == want_code && r.status == want_status, "raw %s: ended %d status %d (%s)", what, r.err.code,
        r.status, r.err.text);
  if (want_code == 0) CHECK(r.body_len == 2 && memcmp(r.body, "hi", 2) == 0, "raw %s: body", what);
  free(r.body);
  teardown(&t);
}

static void test_raw_frames(void) {
  static const uint8_t ok[] = {0x01, 0x03, 0x00, 0x00, 0xd9, 0x00, 0x02, 'h', 'i'};
  static const uint8_t data_first[] = {0x00, 0x02, 'h', 'i', 0x01, 0x03, 0x00, 0x00, 0xd9};
  static const uint8_t cut[] = {0x01, 0x05, 0x00, 0x00};
  raw_case("response", ok, sizeof ok, 0, 200);
  raw_case("DATA first", data_first, sizeof data_first, GUISE_E_HTTP_PROTOCOL, 0);
  raw_case("cut frame", cut, sizeof cut, GUISE_E_HTTP_PROTOCOL, 0);
}

static void test_version_negotiation(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0) {
    CHECK(0, "vn: setup");
    teardown(&t);
    return;
  }
  uint8_t buf[2048], vn[256];
  size_t n = 0;
  CHECK(session_send(t.s, buf, sizeof buf, &n) == 0 && n > 0, "vn: no Initial");
  ngtcp2_version_cid vc;
  CHECK(ngtcp2_pkt_decode_version_cid(&vc, buf, n, 0) == 0, "vn: the Initial's header");
  /* RFC 9000 17.2.1: the server's CIDs are the client's swapped; it offers only a
   * draft version (0xff00001d) */
  uint32_t sv[] = {0xff00001du};
  ngtcp2_ssize w = ngtcp2_pkt_write_version_negotiation(vn, sizeof vn, 0x40, vc.scid, vc.scidlen, vc.dcid,
                                                        vc.dcidlen, sv, 1);
  CHECK(w > 0, "vn: writing it");
  int e = session_recv(t.s, vn, w > 0 ? (size_t)w : 0);
  CHECK(e == GUISE_E_CONNECT_FAILED, "vn: recv returned %d, expected CONNECT_FAILED", e);
  const gerr *why = session_h3_failure(t.s);
  CHECK(why && strstr(why->text, "Version Negotiation"), "vn: text %s", why ? why->text : "");
  CHECK(!session_alive(t.s), "vn: over");
  teardown(&t);
}

static void test_no_alpn(void) {
  tc t;
  if (setup(&t, "chromium-156-linux", 1) != 0) {
    CHECK(0, "alpn: setup");
    teardown(&t);
    return;
  }
  h3ts_set_alpn(t.srv, 0);
  pump(&t, until_dead, NULL, 200);
  /* the server's TLS refuses a QUIC handshake without ALPN (RFC 9001 8.1):
   * no_application_protocol, alert 120 */
  CHECK(t.recv_err == GUISE_E_TLS_ALERT, "alpn: recv returned %d, expected TLS_ALERT", t.recv_err);
  const gerr *why = session_h3_failure(t.s);
  CHECK(why && strstr(why->text, "alert 120"), "alpn: text %s", why ? why->text : "");
  CHECK(!session_alive(t.s) && session_capacity(t.s) == 0, "alpn: over");
  teardown(&t);
}

int main(void) {
  snprintf(cafile, sizeof cafile, "/tmp/test_session_h3.%d.pem", (int)getpid());
  /* Chromium's QUIC pseudo-header order: chromium-h3-1.jsonl; Firefox's:
   * firefox-esr-h3-1.jsonl (tests/data/captures/quic). */
  static const char *const chromium[4] = {":method", ":authority", ":scheme", ":path"};
  static const char *const firefox[4] = {":method", ":scheme", ":authority", ":path"};
  test_initial_and_get("chromium-156-linux", 1250, chromium);
  test_initial_and_get("firefox-esr-153-linux", 1252, firefox);
  /* Chromium over IPv6: 1230-byte datagrams (chromium-1.pcap, chromium-2.pcap) */
  use_v6 = 1;
  test_initial_and_get("chromium-156-linux", 1230, chromium);
  use_v6 = 0;
  {
    static const int64_t cid[] = {2, 10, 6}, fid[] = {2, 6, 10};
    static const uint64_t ctype[] = {0, 2, 3}, ftype[] = {0, 2, 3};
    test_uni_and_priority_update("chromium-156-linux", 0, cid, ctype, 2, 1, 3);
    test_uni_and_priority_update("chromium-156-linux", 4096, cid, ctype, 3, 1, 3);
    test_uni_and_priority_update("chromium-156-linux", 0, cid, ctype, 2, 1, 450);
    test_uni_and_priority_update("firefox-esr-153-linux", 4096, fid, ftype, 3, 0, 3);
  }
  test_post();
  test_post_pause();
  test_streams();
  test_trailers();
  test_reject();
  test_close();
  test_garbage();
  test_stateless_reset();
  test_idle();
  test_cert_refused();
  test_version_negotiation();
  test_no_alpn();
  test_cancel();
  test_goaway();
  test_hostile_responses();
  test_raw_frames();
  unlink(cafile);
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("ok: session_h3 against the in-process server\n");
  return 0;
}

/*
 * test_conn_filters.c — a connection's filter chain (client/lib/filter.h)
 * without sockets: a memory pipe as the bottom filter, an owner that records
 * what the chain reports, the proxy filter against scripted CONNECT and SOCKS5
 * replies (whole, refused, byte by byte, with bytes after the answer), and the
 * TLS filter against in-process BoringSSL servers over memory — alone, and
 * twice with a CONNECT between (the https:// proxy's chain). Bytes are checked
 * exactly both ways with a non-periodic pattern, so a filter that drops,
 * repeats or reorders bytes fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "../../lib/gtest_check.h"
#include "filter.h"
#include "filter_proxy.h"
#include "filter_tls.h"
#include "guise.h"
#include "proxy.h"
#include "tls_pair.h"

/* ---- a growable byte buffer (test-side only) ---------------------------------------- */
typedef struct bytes {
  uint8_t *p;
  size_t n, cap;
} bytes;

static void bytes_add(bytes *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    if (b->p == NULL) abort();
  }
  if (n) memcpy(b->p + b->n, p, n);
  b->n += n;
}

static int bytes_is(const bytes *b, const void *p, size_t n) { return b->n == n && (n == 0 || !memcmp(b->p, p, n)); }

/* ---- the bottom: a memory pipe -------------------------------------------------------- */
typedef struct pipe_f {
  filter f;
  bytes out;             /* everything sent down to the "socket" */
  size_t taken;          /* how much of |out| the test's peer has read */
  const uint8_t *last_p; /* the last send's pointer: a pass-through must not copy */
  int fail_with;         /* a send error to report, 0: none */
} pipe_f;

static int pipe_send(filter *f, const uint8_t *p, size_t n) {
  pipe_f *pp = (pipe_f *)f;
  if (pp->fail_with) return pp->fail_with;
  pp->last_p = p;
  bytes_add(&pp->out, p, n);
  return 0;
}

static void pipe_close(filter *f) { (void)f; }

static const filter_ops pipe_ops = {NULL, pipe_send, NULL, pipe_close};

static void pipe_init(pipe_f *p) {
  memset(p, 0, sizeof(*p));
  p->f.ops = &pipe_ops;
  p->f.layer = "pipe";
  p->f.timeout_code = GUISE_E_TIMEOUT_CONNECT;
  p->f.eof_code = GUISE_E_CONNECT_CLOSED;
}

/* ---- the owner: what the chain reports ------------------------------------------------ */
typedef struct owner {
  filter_chain ch; /* first */
  int ups, ends, timers;
  unsigned timer_ms;
  bytes got;      /* plaintext out of the top */
  gerr err;       /* as it was at the end */
} owner;

static void own_up(filter_chain *ch) { ((owner *)ch)->ups++; }
static void own_data(filter_chain *ch, const uint8_t *p, size_t n) { bytes_add(&((owner *)ch)->got, p, n); }
static void own_end(filter_chain *ch) {
  owner *o = (owner *)ch;
  o->ends++;
  o->err = ch->err;
  ch->closed = 1; /* what conn.c's finish does */
}
static void own_timer(filter_chain *ch, unsigned ms) {
  ((owner *)ch)->timers++;
  ((owner *)ch)->timer_ms = ms;
}

static const filter_chain_ops owner_ops = {own_up, own_data, own_end, own_timer};

static void owner_init(owner *o, filter **f, size_t n) {
  memset(o, 0, sizeof(*o));
  filter_chain_init(&o->ch, &owner_ops, f, n);
}

static void owner_free(owner *o, filter **f, size_t n) {
  for (size_t i = 0; i < n; i++) f[i]->ops->close(f[i]);
  free(o->got.p);
}

/* Bytes into the bottom as a socket would hand them: in reads of varied sizes
 * (1, 2, 3, 5, 8, ... bytes, then large ones), stopping if the chain ends. */
static void feed(pipe_f *p, const uint8_t *b, size_t n) {
  static const size_t sizes[] = {1, 2, 3, 5, 8, 13, 21, 700, 1, 4099, 16390, 65536, 70001};
  static size_t k;
  while (n > 0 && !p->f.chain->closed) {
    size_t s = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
    if (s > n) s = n;
    filter_pass(&p->f, b, s);
    b += s;
    n -= s;
  }
}

static void feed_str(pipe_f *p, const char *s) { filter_pass(&p->f, (const uint8_t *)s, strlen(s)); }

/* A pattern with no short period (xorshift32), so a reordering shows. */
static void pattern(uint8_t *p, size_t n, uint32_t seed) {
  uint32_t x = seed;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    p[i] = (uint8_t)x;
  }
}

static proxy_cfg proxy_of(const char *url) {
  proxy_cfg c;
  if (proxy_parse(url, &c) != 0) abort();
  return c;
}

/* ---- the proxy filter -------------------------------------------------------------- */

static void test_connect_ok(void) {
  proxy_cfg pc = proxy_of("http://proxy.test:3128");
  pipe_f pipe;
  filter_proxy px;
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  filter *f[] = {&pipe.f, &px.f};
  owner o;
  owner_init(&o, f, 2);
  filter_up(&pipe.f); /* TCP up: the CONNECT goes out */
  const char *req = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";
  CHECK_MSG(bytes_is(&pipe.out, req, strlen(req)), "the CONNECT request (%zu bytes)", pipe.out.n);
  CHECK_EQ(o.timers, 0); /* the proxy's handshake runs under the connect timeout */
  /* The answer split inside its blank line: up only at its last byte. */
  feed_str(&pipe, "HTTP/1.1 200 Connection established\r\nVia: 1.1 proxy\r\n\r");
  CHECK_EQ(o.ups, 0);
  feed_str(&pipe, "\n");
  CHECK_EQ(o.ups, 1);
  CHECK_EQ(o.ends, 0);
  /* The tunnel: bytes in later reads reach the top in order, untouched. */
  uint8_t in[100000];
  pattern(in, sizeof(in), 1);
  feed(&pipe, in, sizeof(in));
  CHECK_MSG(bytes_is(&o.got, in, sizeof(in)), "tunnel bytes up: %zu of %zu, or changed", o.got.n, sizeof(in));
  /* Down: passed through without a copy. */
  size_t before = pipe.out.n;
  CHECK_EQ(px.f.ops->send(&px.f, in, 5000), 0);
  CHECK(pipe.last_p == in);
  CHECK(pipe.out.n == before + 5000 && !memcmp(pipe.out.p + before, in, 5000));
  /* The peer closes after the tunnel is up: a clean end. */
  filter_eof(&pipe.f);
  CHECK_EQ(o.ends, 1);
  CHECK_EQ(o.err.code, 0);
  owner_free(&o, f, 2);
  free(pipe.out.p);
}

/* The CONNECT answer cut at every position into two reads: up once, after
 * the second, and the next read's bytes all go up. */
static void test_connect_every_split(void) {
  proxy_cfg pc = proxy_of("http://proxy.test:3128");
  const char *ans = "HTTP/1.0 200 Connection established\r\nProxy-Agent: x\r\n\r\n";
  size_t len = strlen(ans);
  int bad = 0;
  for (size_t k = 1; k < len; k++) {
    pipe_f pipe;
    filter_proxy px;
    pipe_init(&pipe);
    if (filter_proxy_init(&px, &pc, "origin.test", 443, NULL) != 0) abort();
    filter *f[] = {&pipe.f, &px.f};
    owner o;
    owner_init(&o, f, 2);
    filter_up(&pipe.f);
    filter_pass(&pipe.f, (const uint8_t *)ans, k);
    int early = o.ups != 0;
    filter_pass(&pipe.f, (const uint8_t *)ans + k, len - k);
    filter_pass(&pipe.f, (const uint8_t *)"\x16\x03\x03", 3);
    if (early || o.ups != 1 || o.ends != 0 || !bytes_is(&o.got, "\x16\x03\x03", 3)) {
      fprintf(stderr, "split at %zu: ups %d (early %d), ends %d, %zu bytes up\n", k, o.ups, early, o.ends, o.got.n);
      bad++;
    }
    owner_free(&o, f, 2);
    free(pipe.out.p);
  }
  CHECK_EQ(bad, 0);
}

/* A proxy answer that fails the chain: code, layer, library code and text. */
static void expect_end(const owner *o, int code, const char *layer, int lib, const char *text) {
  CHECK_EQ(o->ends, 1);
  CHECK_EQ(o->ups, 0);
  CHECK_MSG(o->err.code == code, "code %s, want %s", guise_err_name(o->err.code), guise_err_name(code));
  CHECK_STR(o->err.layer, layer);
  CHECK_EQ(o->err.lib, lib);
  CHECK_STR(o->err.text, text);
}

static void test_connect_refused(void) {
  proxy_cfg pc = proxy_of("http://proxy.test:3128");
  pipe_f pipe;
  filter_proxy px;
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  filter *f[] = {&pipe.f, &px.f};
  owner o;
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  feed_str(&pipe, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
  expect_end(&o, GUISE_E_PROXY_CONNECT_REJECTED, "proxy", 403, "the proxy answered CONNECT with 403");
  CHECK_EQ(o.got.n, 0);
  owner_free(&o, f, 2);
  free(pipe.out.p);

  /* 407 without credentials. */
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  feed_str(&pipe, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
  expect_end(&o, GUISE_E_PROXY_AUTH_REQUIRED, "proxy", 407, "the proxy answered CONNECT with 407");
  owner_free(&o, f, 2);
  free(pipe.out.p);
}

static void test_connect_extra_bytes(void) {
  /* Bytes after the answer in the same read cannot be the origin's (it has
   * not been sent a byte): the proxy's fault, named as such, nothing passed up. */
  proxy_cfg pc = proxy_of("http://proxy.test:3128");
  pipe_f pipe;
  filter_proxy px;
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  filter *f[] = {&pipe.f, &px.f};
  owner o;
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  feed_str(&pipe, "HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01");
  expect_end(&o, GUISE_E_PROXY_PROTOCOL, "proxy", 0, "the proxy sent bytes after its answer");
  CHECK_EQ(o.got.n, 0);
  owner_free(&o, f, 2);
  free(pipe.out.p);
}

static void test_socks5_byte_by_byte(void) {
  proxy_cfg pc = proxy_of("socks5h://proxy.test:1080");
  pipe_f pipe;
  filter_proxy px;
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  filter *f[] = {&pipe.f, &px.f};
  owner o;
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  /* RFC 1928 3: VER 5, one method, 0 (none). */
  CHECK(bytes_is(&pipe.out, "\x05\x01\x00", 3));
  filter_pass(&pipe.f, (const uint8_t *)"\x05", 1);
  CHECK_EQ(pipe.out.n, 3);
  filter_pass(&pipe.f, (const uint8_t *)"\x00", 1);
  /* RFC 1928 4: VER CMD=1 RSV ATYP=3 len "origin.test" port 443. */
  static const uint8_t want[] = "\x05\x01\x00\x03\x0borigin.test\x01\xbb";
  CHECK_MSG(pipe.out.n == 3 + sizeof(want) - 1 && !memcmp(pipe.out.p + 3, want, sizeof(want) - 1),
            "the SOCKS5 request (%zu bytes sent)", pipe.out.n);
  /* The reply, IPv4 bound address, one byte per read. */
  static const uint8_t reply[] = {5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38};
  for (size_t i = 0; i < sizeof(reply); i++) {
    CHECK_MSG(o.ups == 0, "up before the reply's byte %zu", i);
    filter_pass(&pipe.f, reply + i, 1);
  }
  CHECK_EQ(o.ups, 1);
  CHECK_EQ(o.ends, 0);
  uint8_t in[3000];
  pattern(in, sizeof(in), 2);
  feed(&pipe, in, sizeof(in));
  CHECK(bytes_is(&o.got, in, sizeof(in)));
  owner_free(&o, f, 2);
  free(pipe.out.p);

  /* A refusal (REP 5). */
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  filter_pass(&pipe.f, (const uint8_t *)"\x05\x00", 2);
  filter_pass(&pipe.f, (const uint8_t *)"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 10);
  expect_end(&o, GUISE_E_PROXY_SOCKS_REFUSED, "proxy", 5, "the SOCKS proxy replied 5");
  owner_free(&o, f, 2);
  free(pipe.out.p);
}

static void test_proxy_ends_early(void) {
  proxy_cfg pc = proxy_of("http://proxy.test:3128");
  pipe_f pipe;
  filter_proxy px;
  filter *f[] = {&pipe.f, &px.f};
  owner o;
  /* The peer closes during the handshake: the proxy's protocol error. */
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  feed_str(&pipe, "HTTP/1.1 200");
  filter_eof(&pipe.f);
  expect_end(&o, GUISE_E_PROXY_PROTOCOL, "proxy", 0, "");
  owner_free(&o, f, 2);
  free(pipe.out.p);
  /* The timer: the filter in its handshake names it (before TCP: the bottom). */
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  owner_init(&o, f, 2);
  filter_chain_timeout(&o.ch);
  expect_end(&o, GUISE_E_TIMEOUT_CONNECT, "pipe", 0, "");
  owner_free(&o, f, 2);
  free(pipe.out.p);
  pipe_init(&pipe);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  filter_chain_timeout(&o.ch);
  expect_end(&o, GUISE_E_PROXY_TIMEOUT, "proxy", 0, "");
  owner_free(&o, f, 2);
  free(pipe.out.p);
  /* The request cannot go out: the failure is the layer below's. */
  pipe_init(&pipe);
  pipe.fail_with = GUISE_E_CONNECT_RESET;
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  expect_end(&o, GUISE_E_CONNECT_RESET, "pipe", 0, "");
  owner_free(&o, f, 2);
  free(pipe.out.p);
}

/* ---- TLS: in-process servers over memory BIOs ------------------------------------------ */

typedef struct server {
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by |ssl| */
  bytes got;        /* plaintext received */
} server;

static void server_init(server *s, SSL_CTX *ctx) {
  memset(s, 0, sizeof(*s));
  s->ssl = SSL_new(ctx);
  s->rbio = BIO_new(BIO_s_mem());
  s->wbio = BIO_new(BIO_s_mem());
  if (s->ssl == NULL || s->rbio == NULL || s->wbio == NULL) abort();
  SSL_set_bio(s->ssl, s->rbio, s->wbio);
  SSL_set_accept_state(s->ssl);
}

static void server_free(server *s) {
  SSL_free(s->ssl);
  free(s->got.p);
}

/* Runs the server on what it has; returns 1 if it read plaintext. */
static int server_step(server *s) {
  if (!SSL_is_init_finished(s->ssl)) {
    SSL_do_handshake(s->ssl);
    if (!SSL_is_init_finished(s->ssl)) return 0;
  }
  uint8_t b[16384];
  int r, any = 0;
  while ((r = SSL_read(s->ssl, b, sizeof(b))) > 0) {
    bytes_add(&s->got, b, (size_t)r);
    any = 1;
  }
  return any;
}

static void server_write(server *s, const uint8_t *p, size_t n) {
  while (n > 0) {
    int k = n > 16384 ? 16384 : (int)n;
    if (SSL_write(s->ssl, p, k) != k) abort();
    p += k;
    n -= (size_t)k;
  }
}

/* Moves bytes until nothing moves: the client's (pipe.out) to |px| (the https
 * proxy, when given) or to |org|; the proxy answers one CONNECT (checked
 * exactly) and then relays between its plaintext and the origin; what goes to
 * the client is fed in reads of varied sizes. */
typedef struct world {
  pipe_f *pipe;
  server *px;        /* NULL: the client talks to |org| directly */
  server *org;
  size_t px_used;    /* proxy plaintext consumed (the CONNECT, then relayed) */
  int answered;
  int bad_connect;
} world;

static void pump(world *w) {
  uint8_t b[70000];
  for (int iter = 0; iter < 1000; iter++) {
    int moved = 0;
    server *first = w->px ? w->px : w->org;
    if (w->pipe->out.n > w->pipe->taken) {
      BIO_write(first->rbio, w->pipe->out.p + w->pipe->taken, (int)(w->pipe->out.n - w->pipe->taken));
      w->pipe->taken = w->pipe->out.n;
      moved = 1;
    }
    if (w->px) {
      server_step(w->px);
      if (!w->answered) {
        const char *want = "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n";
        if (w->px->got.n >= strlen(want)) {
          w->bad_connect = memcmp(w->px->got.p, want, strlen(want)) != 0;
          w->px_used = strlen(want);
          server_write(w->px, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19);
          w->answered = 1;
          moved = 1;
        }
      }
      if (w->answered && w->px->got.n > w->px_used) {
        BIO_write(w->org->rbio, w->px->got.p + w->px_used, (int)(w->px->got.n - w->px_used));
        w->px_used = w->px->got.n;
        moved = 1;
      }
    }
    if (!w->px || w->answered) server_step(w->org);
    int n;
    while ((n = BIO_read(w->org->wbio, b, sizeof(b))) > 0) {
      if (w->px) server_write(w->px, b, (size_t)n);
      else feed(w->pipe, b, (size_t)n);
      moved = 1;
    }
    while (w->px && (n = BIO_read(w->px->wbio, b, sizeof(b))) > 0) {
      feed(w->pipe, b, (size_t)n);
      moved = 1;
    }
    if (!moved || w->pipe->f.chain->closed) return;
  }
}

static filter_tls_config tls_config(filter_tls_role role, SSL_CTX *ctx, int slot, int restarts, unsigned ms) {
  filter_tls_config c;
  memset(&c, 0, sizeof(c));
  c.role = role;
  c.ctx = ctx;
  c.sni = "localhost";
  c.scratch_slot = slot;
  c.restarts_timer = restarts;
  c.timeout_ms = ms;
  return c;
}

/* Both ways through an established chain, then the origin's close_notify. */
static void exchange(world *w, owner *o, filter *top) {
  static uint8_t down[200000], up[150000];
  pattern(down, sizeof(down), 3);
  pattern(up, sizeof(up), 4);
  server_write(w->org, down, sizeof(down)); /* more than one read buffer (64 KiB) */
  pump(w);
  CHECK_MSG(bytes_is(&o->got, down, sizeof(down)), "server to client: %zu of %zu bytes, or changed", o->got.n,
            sizeof(down));
  CHECK_EQ(top->ops->send(top, up, sizeof(up)), 0);
  pump(w);
  CHECK_MSG(bytes_is(&w->org->got, up, sizeof(up)), "client to server: %zu of %zu bytes, or changed",
            w->org->got.n, sizeof(up));
  CHECK_EQ(o->ends, 0);
  SSL_shutdown(w->org->ssl);
  pump(w);
  CHECK_EQ(o->ends, 1);
  CHECK_MSG(o->err.code == 0, "close_notify ends cleanly, got %s", guise_err_name(o->err.code));
}

static void test_tls_direct(SSL_CTX *sctx, SSL_CTX *cctx) {
  pipe_f pipe;
  filter_tls tls;
  pipe_init(&pipe);
  filter_tls_config tc = tls_config(FILTER_TLS_ORIGIN, cctx, 1, 1, 4321);
  CHECK_EQ(filter_tls_init(&tls, &tc), 0);
  filter *f[] = {&pipe.f, &tls.f};
  owner o;
  owner_init(&o, f, 2);
  server org;
  server_init(&org, sctx);
  world w = {&pipe, NULL, &org, 0, 0, 0};
  filter_up(&pipe.f);
  CHECK_EQ(o.timers, 1); /* the origin's handshake has its own timer */
  CHECK_EQ(o.timer_ms, 4321);
  CHECK(pipe.out.n > 0 && pipe.out.p[0] == 22); /* a handshake record: the ClientHello */
  pump(&w);
  CHECK_EQ(o.ups, 1);
  CHECK(SSL_is_init_finished(org.ssl));
  exchange(&w, &o, &tls.f);
  server_free(&org);
  owner_free(&o, f, 2);
  free(pipe.out.p);
}

static void test_tls_https_proxy(SSL_CTX *sctx, SSL_CTX *cctx) {
  proxy_cfg pc = proxy_of("https://proxy.test:8443");
  pipe_f pipe;
  filter_tls ptls, tls;
  filter_proxy px;
  pipe_init(&pipe);
  filter_tls_config ptc = tls_config(FILTER_TLS_PROXY, cctx, 2, 0, 0);
  filter_tls_config tc = tls_config(FILTER_TLS_ORIGIN, cctx, 1, 1, 999);
  CHECK_EQ(filter_tls_init(&ptls, &ptc), 0);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  CHECK_EQ(filter_tls_init(&tls, &tc), 0);
  CHECK(ptls.ssl != tls.ssl);
  filter *f[] = {&pipe.f, &ptls.f, &px.f, &tls.f};
  owner o;
  owner_init(&o, f, 4);
  server prx, org;
  server_init(&prx, sctx);
  server_init(&org, sctx);
  world w = {&pipe, &prx, &org, 0, 0, 0};
  filter_up(&pipe.f);
  CHECK_EQ(o.timers, 0); /* TLS to the proxy: under the connect timeout */
  pump(&w);
  CHECK(w.answered && !w.bad_connect);
  CHECK_EQ(o.timers, 1); /* the origin's TLS started after the tunnel */
  CHECK_EQ(o.timer_ms, 999);
  CHECK_EQ(o.ups, 1);
  CHECK(ptls.f.up && px.f.up && tls.f.up);
  CHECK(SSL_is_init_finished(prx.ssl) && SSL_is_init_finished(org.ssl));
  exchange(&w, &o, &tls.f);
  server_free(&prx);
  server_free(&org);
  owner_free(&o, f, 4);
  free(pipe.out.p);
}

/* A peer that answers a ClientHello in plain HTTP: named, as the server's or
 * as the proxy's. */
static void test_tls_not_tls(SSL_CTX *cctx) {
  pipe_f pipe;
  filter_tls tls;
  pipe_init(&pipe);
  filter_tls_config tc = tls_config(FILTER_TLS_ORIGIN, cctx, 1, 1, 0);
  CHECK_EQ(filter_tls_init(&tls, &tc), 0);
  filter *f[] = {&pipe.f, &tls.f};
  owner o;
  owner_init(&o, f, 2);
  filter_up(&pipe.f);
  feed_str(&pipe, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  CHECK_EQ(o.ends, 1);
  CHECK_MSG(o.err.code == GUISE_E_TLS_HANDSHAKE, "code %s", guise_err_name(o.err.code));
  CHECK_STR(o.err.layer, "tls");
  CHECK_STR(o.err.text, "the server answered in plain HTTP, not TLS (an http:// port?)");
  owner_free(&o, f, 2);
  free(pipe.out.p);

  proxy_cfg pc = proxy_of("https://proxy.test:8443");
  filter_tls ptls;
  filter_proxy px;
  pipe_init(&pipe);
  filter_tls_config ptc = tls_config(FILTER_TLS_PROXY, cctx, 2, 0, 0);
  CHECK_EQ(filter_tls_init(&ptls, &ptc), 0);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  filter *g[] = {&pipe.f, &ptls.f, &px.f};
  owner_init(&o, g, 3);
  filter_up(&pipe.f);
  feed_str(&pipe, "SSH-2.0-OpenSSH_9.2\r\n");
  CHECK_EQ(o.ends, 1);
  CHECK_MSG(o.err.code == GUISE_E_PROXY_TLS, "code %s", guise_err_name(o.err.code));
  CHECK_STR(o.err.layer, "proxy-tls");
  CHECK_STR(o.err.text, "TLS to the proxy: the proxy did not answer in TLS (not a TLS port?); its first bytes: "
                        "\"SSH-2.0-\"");
  /* The peer closing during the proxy's TLS is the proxy's fault. */
  owner_free(&o, g, 3);
  free(pipe.out.p);
  pipe_init(&pipe);
  CHECK_EQ(filter_tls_init(&ptls, &ptc), 0);
  CHECK_EQ(filter_proxy_init(&px, &pc, "origin.test", 443, NULL), 0);
  owner_init(&o, g, 3);
  filter_up(&pipe.f);
  filter_eof(&pipe.f);
  CHECK_MSG(o.err.code == GUISE_E_PROXY_PROTOCOL, "code %s", guise_err_name(o.err.code));
  CHECK_STR(o.err.layer, "proxy-tls");
  owner_free(&o, g, 3);
  free(pipe.out.p);
}

int main(void) {
  filter_scratch_chains(+1); /* as conn.c does per connection */
  test_connect_ok();
  test_connect_every_split();
  test_connect_refused();
  test_connect_extra_bytes();
  test_socks5_byte_by_byte();
  test_proxy_ends_early();
  SSL_CTX *sctx = tp_server_ctx();
  SSL_CTX *cctx = SSL_CTX_new(TLS_method());
  if (cctx == NULL) abort();
  test_tls_direct(sctx, cctx);
  test_tls_https_proxy(sctx, cctx);
  test_tls_not_tls(cctx);
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  filter_scratch_chains(-1);
  return gt_done("test_conn_filters");
}

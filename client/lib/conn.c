/* conn.c — a client connection over libuv, TLS via memory BIOs (see conn.h). */
#include "conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "escape.h"
#include "guise.h"
#include "proxy.h"
#include "tls_verify.h"

/* Plaintext read per SSL_read and the libuv read buffer: a TLS record and more.
 * Both are lent per thread for the length of one callback (scratch_take), so an
 * idle connection holds no buffer: its memory is the struct below, BoringSSL's
 * SSL (which frees its record buffers when empty) and the protocol above. */
#define CONN_READ_BUF (64u * 1024u)
/* Output queued but not yet written to the socket; past it conn_write fails:
 * the protocols above never need more than a window of data in flight. */
#define CONN_MAX_QUEUED (8u * 1024u * 1024u)

enum conn_state { S_CONNECTING, S_PROXY_TLS, S_PROXY, S_TLS, S_READY, S_CLOSING };

/* What a BIO of ours reads from and writes to. A connection has one or two:
 * |raw| is the socket; through an https:// proxy, |tun| is the plaintext of the
 * TLS session with the proxy, which the origin's TLS then runs inside. */
struct bio_io {
  struct conn *c;
  const uint8_t *in_p; /* bytes received and not yet read by TLS */
  size_t in_n;
  int via_proxy_tls;   /* writes go through the proxy's TLS session */
};

struct conn {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_timer_t timer;
  uv_loop_t *loop;
  enum conn_state state;
  int pending_closes;
  int close_err;
  int verify;
  int proxy_verify;           /* the https:// proxy's certificate is checked */
  conn_callbacks cb;
  void *ud;
  SSL *ssl;
  const tls_shape *shape;
  unsigned tls_timeout_ms;
  uint64_t t0;
  double connect_ms, tls_ms;
  int bio_err;                /* a GUISE_E_* code from the BIO's write, else 0 */
  struct bio_io io_raw, io_tun;
  SSL *pssl;                  /* TLS with an https:// proxy, or NULL */
  char detail[160];           /* why the handshake failed, in the library's words */
  uint8_t first[8];           /* the peer's first bytes of a TLS handshake (origin's
                                 or proxy's), to name a server that is not TLS */
  size_t first_n;
  struct tunnel *proxy;       /* during the proxy handshake only; NULL: direct, or done */
  int proxied;                /* through a proxy (for the life of the connection) */
};

/* ---- per-thread scratch buffers ----------------------------------------------------
 * Two (libuv's read buffer and SSL_read's plaintext), lent for one callback. A
 * nested use on the same thread (a callback running another loop) gets a buffer
 * of its own. Freed when the thread's last connection closes. */
static _Thread_local uint8_t *scratch[3];
static _Thread_local int scratch_busy[3];
static _Thread_local size_t live_conns;

static uint8_t *scratch_take(int i) {
  if (scratch_busy[i]) return malloc(CONN_READ_BUF);
  if (scratch[i] == NULL && (scratch[i] = malloc(CONN_READ_BUF)) == NULL) return NULL;
  scratch_busy[i] = 1;
  return scratch[i];
}

static void scratch_give(int i, uint8_t *p) {
  if (p == NULL) return;
  if (p == scratch[i]) scratch_busy[i] = 0;
  else free(p);
}

static void conn_count(int delta) {
  live_conns = (size_t)((long)live_conns + delta);
  if (live_conns == 0)
    for (int i = 0; i < 3; i++)
      if (!scratch_busy[i]) {
        free(scratch[i]);
        scratch[i] = NULL;
      }
}

static int map_uv(int r) {
  switch (r) {
    case UV_ECONNREFUSED: return GUISE_E_CONNECT_REFUSED;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH: return GUISE_E_CONNECT_UNREACHABLE;
    case UV_ECONNRESET:
    case UV_EPIPE: return GUISE_E_CONNECT_RESET;
    case UV_EADDRNOTAVAIL:
    case UV_EADDRINUSE: return GUISE_E_CONNECT_NO_PORTS;
    case UV_EMFILE:
    case UV_ENFILE: return GUISE_E_CONNECT_NO_DESCRIPTORS;
    case UV_ENOMEM:
    case UV_ENOBUFS: return GUISE_E_NOMEM;
    case UV_ETIMEDOUT: return GUISE_E_TIMEOUT_CONNECT;
    default: return GUISE_E_CONNECT_FAILED;
  }
}

/* Keeps the first bytes the peer sent in a TLS handshake. */
static void note_first(conn *c, const uint8_t *p, size_t n) {
  while (n > 0 && c->first_n < sizeof(c->first)) c->first[c->first_n++] = *p++, n--;
}

/* A peer whose first bytes cannot start a TLS record (RFC 8446 5.1: a content
 * type 20-24, then version major 3) does not speak TLS: say what it spoke. A
 * plain HTTP server answers a ClientHello with "HTTP/1.1 400 ..." — what
 * https:// to an http:// port looks like. Returns 1 with |c->detail| set. */
static int not_tls(conn *c, const char *who) {
  if (c->first_n == 0) return 0;
  if (c->first[0] >= 20 && c->first[0] <= 24 && (c->first_n < 2 || c->first[1] == 3)) return 0;
  if (c->first_n >= 5 && memcmp(c->first, "HTTP/", 5) == 0) {
    snprintf(c->detail, sizeof(c->detail), "%s answered in plain HTTP, not TLS (an http:// port?)", who);
  } else {
    /* The bytes are the peer's: escaped (text_escape) before they are quoted. */
    char shown[sizeof(c->first) * 4 + 1];
    text_escape((const char *)c->first, c->first_n, shown, sizeof(shown));
    snprintf(c->detail, sizeof(c->detail), "%s did not answer in TLS (not a TLS port?); its first bytes: \"%s\"",
             who, shown);
  }
  return 1;
}

/* A failed handshake's reason: the certificate when it was the cause, else the
 * library's verdict from its error queue (oldest first: a received alert comes
 * before what the handshake concluded from it). |c->detail| gets the reasons.
 * The verify result is consulted only when the library says the certificate
 * check failed: before a certificate arrives it is not X509_V_OK either, and a
 * plaintext server would otherwise read as a certificate error. */
static int map_tls_failure(conn *c, SSL *ssl, int verify) {
  int cert = 0;
  int code = GUISE_E_TLS_HANDSHAKE;
  size_t off = 0;
  const char *data;
  int flags;
  uint32_t e;
  while ((e = ERR_get_error_line_data(NULL, NULL, &data, &flags)) != 0) {
    if (verify && !cert && ERR_GET_LIB(e) == ERR_LIB_SSL &&
        ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
      cert = tls_verify_error(ssl);
    if (off < sizeof(c->detail)) {
      int n = snprintf(c->detail + off, sizeof(c->detail) - off, "%s%s%s%s",
                       off ? "; " : "TLS library: ", ERR_reason_error_string(e),
                       (flags & ERR_FLAG_STRING) && data && *data ? ", " : "",
                       (flags & ERR_FLAG_STRING) && data ? data : "");
      off += n > 0 ? (size_t)n : 0;
    }
    if (ERR_GET_LIB(e) != ERR_LIB_SSL || code != GUISE_E_TLS_HANDSHAKE) continue;
    int r = ERR_GET_REASON(e);
    if (r == SSL_R_WRONG_CIPHER_RETURNED || r == SSL_R_UNKNOWN_CIPHER_RETURNED)
      code = GUISE_E_TLS_WRONG_CIPHER;
    else if (r == SSL_R_WRONG_CURVE) code = GUISE_E_TLS_WRONG_GROUP;
    else if (r == SSL_R_INVALID_DELEGATED_CREDENTIAL) code = GUISE_E_TLS_DELEGATED_CREDENTIAL;
    else if (r == SSL_R_CERT_DECOMPRESSION_FAILED || r == SSL_R_UNCOMPRESSED_CERT_TOO_LARGE)
      code = GUISE_E_TLS_CERT_DECOMPRESSION;
    else if (r >= SSL_AD_REASON_OFFSET) code = GUISE_E_TLS_ALERT;
  }
  if (cert) {
    c->detail[0] = '\0'; /* the certificate error names the cause */
    return cert;
  }
  if (not_tls(c, ssl == c->pssl ? "the proxy" : "the server")) return GUISE_E_TLS_HANDSHAKE;
  return code;
}

static double elapsed_ms(const conn *c) { return (double)(uv_hrtime() - c->t0) / 1e6; }

static void on_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->pending_closes > 0) return;
  if (c->cb.on_close) c->cb.on_close(c, c->close_err, c->ud);
  SSL_free(c->ssl);
  SSL_free(c->pssl);
  free(c->proxy);
  free(c);
  conn_count(-1);
}

static void finish(conn *c, int err) {
  if (c->state == S_CLOSING) return;
  c->state = S_CLOSING;
  c->close_err = err;
  c->pending_closes = 2;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
  uv_close((uv_handle_t *)&c->timer, on_closed);
}

void conn_close(conn *c) { finish(c, 0); }

const char *conn_error_detail(const conn *c) { return c->detail; }

SSL *conn_ssl(conn *c) { return c->ssl; }

void conn_set_ref(conn *c, int ref) {
  if (c->state == S_CLOSING) return;
  if (ref) {
    uv_ref((uv_handle_t *)&c->tcp);
    uv_ref((uv_handle_t *)&c->timer);
  } else {
    uv_unref((uv_handle_t *)&c->tcp);
    uv_unref((uv_handle_t *)&c->timer);
  }
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t cap);

void conn_local(conn *c, char *out, size_t cap) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  out[0] = '\0';
  if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0) addr_text(&ss, out, cap);
}

void conn_remote(conn *c, char *out, size_t cap) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  out[0] = '\0';
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) addr_text(&ss, out, cap);
}

static void addr_text(const struct sockaddr_storage *ssp, char *out, size_t cap) {
  struct sockaddr_storage ss = *ssp;
  char ip[64];
  if (ss.ss_family == AF_INET) {
    uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
    snprintf(out, cap, "%s:%u", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
    snprintf(out, cap, "[%s]:%u", ip, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
  }
}
double conn_connect_ms(const conn *c) { return c->connect_ms; }
double conn_tls_ms(const conn *c) { return c->tls_ms; }

typedef struct wreq {
  uv_write_t req;
  conn *c;
  size_t len;
  uint8_t data[];
} wreq;

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  conn *c = w->c;
  free(w);
  if (status < 0 && c->state != S_CLOSING) finish(c, map_uv(status));
}

static int send_raw(conn *c, const uint8_t *p, size_t n) {
  if (n == 0) return 0;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > CONN_MAX_QUEUED)
    return GUISE_E_INTERNAL;
  /* At once when nothing is queued (libuv refuses otherwise, keeping the
   * order): no copy, no request — and no epoll_ctl, which every completed
   * uv_write costs (its watcher is re-armed; strace: one per read, write
   * pair). What the socket does not take now is queued. */
  uv_buf_t now = uv_buf_init((char *)p, (unsigned)n);
  int t = uv_try_write((uv_stream_t *)&c->tcp, &now, 1);
  if (t > 0) {
    p += t;
    n -= (size_t)t;
    if (n == 0) return 0;
  }
  /* An error (a peer that reset the connection) is left to uv_write, which
   * reports it later through on_written as before: the connection's close then
   * decides, and a request on a stale reused connection is retried. */
  wreq *w = malloc(sizeof(*w) + n);
  if (w == NULL) return GUISE_E_NOMEM;
  w->c = c;
  w->len = n;
  memcpy(w->data, p, n);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
  int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
  if (r < 0) {
    free(w);
    return map_uv(r);
  }
  return 0;
}

/* Bytes for the layer below: the socket, or the TLS session with the proxy. */
static int wire_send(conn *c, const uint8_t *p, size_t n) {
  if (c->pssl == NULL) return send_raw(c, p, n);
  while (n > 0) {
    int chunk = n > 16384 ? 16384 : (int)n;
    if (SSL_write(c->pssl, p, chunk) != chunk) return c->bio_err ? c->bio_err : GUISE_E_PROXY_TLS;
    p += chunk;
    n -= (size_t)chunk;
  }
  return 0;
}

/* ---- the TLS transport: a BIO reading from the bytes just received and writing
 * straight to the socket (no buffer of its own that would keep its high-water
 * size for the connection's life, as a memory BIO does). */
static int wire_send(conn *c, const uint8_t *p, size_t n);

static int bio_write(BIO *b, const char *p, int n) {
  struct bio_io *io = BIO_get_data(b);
  conn *c = io->c;
  BIO_clear_retry_flags(b);
  if (n <= 0) return 0;
  int e = io->via_proxy_tls ? wire_send(c, (const uint8_t *)p, (size_t)n) : send_raw(c, (const uint8_t *)p, (size_t)n);
  if (e) {
    if (!c->bio_err) c->bio_err = e;
    return -1;
  }
  return n;
}

static int bio_read(BIO *b, char *out, int len) {
  struct bio_io *io = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  if (io->in_n == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = io->in_n < (size_t)len ? io->in_n : (size_t)len;
  memcpy(out, io->in_p, n);
  io->in_p += n;
  io->in_n -= n;
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long larg, void *parg) {
  (void)b, (void)larg, (void)parg;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void bio_method_init(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "guise conn");
  if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
      BIO_meth_set_ctrl(m, bio_ctrl))
    bio_method = m;
}

/* A TLS-level write failure: the transport's code if it had one. */
static int tls_write_err(conn *c) { return c->bio_err ? c->bio_err : GUISE_E_TLS_PROTOCOL; }

int conn_write(conn *c, const uint8_t *p, size_t n) {
  if (c->state != S_READY) return GUISE_E_CONNECT_CLOSED;
  if (c->ssl == NULL) return wire_send(c, p, n);
  while (n > 0) {
    int chunk = n > 16384 ? 16384 : (int)n;
    if (SSL_write(c->ssl, p, chunk) != chunk) return tls_write_err(c);
    p += chunk;
    n -= (size_t)chunk;
  }
  return 0;
}

static void ready(conn *c) {
  c->state = S_READY;
  uv_timer_stop(&c->timer);
  const uint8_t *alpn = NULL;
  unsigned alpn_len = 0;
  char proto[32] = "";
  if (c->ssl) {
    SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
    /* No ALPN selected: BoringSSL gives NULL and 0, and memcpy from NULL is
     * undefined even for 0 bytes (C11 7.24.1p2). */
    if (alpn != NULL && alpn_len > 0 && alpn_len < sizeof(proto)) {
      memcpy(proto, alpn, alpn_len);
      proto[alpn_len] = '\0';
    }
  }
  if (c->cb.on_ready) c->cb.on_ready(c, proto, c->ud);
}

static void tls_progress(conn *c) {
  if (c->state == S_TLS) {
    int r = SSL_do_handshake(c->ssl);
    if (c->bio_err) {
      finish(c, c->bio_err);
      return;
    }
    if (r != 1) {
      if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) return;
      finish(c, map_tls_failure(c, c->ssl, c->verify));
      return;
    }
    c->tls_ms = elapsed_ms(c);
    ready(c);
    if (c->state != S_READY) return;
  }
  uint8_t *buf = scratch_take(1);
  if (buf == NULL) {
    finish(c, GUISE_E_NOMEM);
    return;
  }
  /* Every record of what arrived goes up in one on_data call (not one per
   * record): the protocol above answers a whole read at once — one write for
   * the requests that the responses in it made room for. */
  size_t have = 0;
  for (;;) {
    int r = SSL_read(c->ssl, buf + have, (int)(CONN_READ_BUF - have));
    if (r > 0) {
      have += (size_t)r;
      if (have < CONN_READ_BUF) continue;
      if (c->cb.on_data) c->cb.on_data(c, buf, have, c->ud);
      have = 0;
      if (c->state != S_READY) break;
      continue;
    }
    int e = SSL_get_error(c->ssl, r);
    if (have && c->cb.on_data) {
      c->cb.on_data(c, buf, have, c->ud);
      have = 0;
      if (c->state != S_READY) break;
    }
    if (e == SSL_ERROR_WANT_READ) {
      if (c->bio_err) finish(c, c->bio_err); /* a post-handshake reply could not go out */
      break;
    }
    finish(c, e == SSL_ERROR_ZERO_RETURN ? 0 : c->bio_err ? c->bio_err : GUISE_E_TLS_PROTOCOL);
    break;
  }
  scratch_give(1, buf);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h, (void)suggested;
  uint8_t *p = scratch_take(0);
  *buf = uv_buf_init((char *)p, p ? CONN_READ_BUF : 0);
}

static void start_session(conn *c);

/* A proxy handshake in progress: freed once the tunnel is up. */
struct tunnel {
  proxy_hs hs;
  uint8_t first[PROXY_MAX_OUT]; /* what to send once TCP is up */
  size_t first_len;
};

/* Bytes from the proxy during the tunnel handshake. */
static void proxy_feed(conn *c, const uint8_t *p, size_t n) {
  uint8_t out[PROXY_MAX_OUT];
  size_t used, olen;
  proxy_hs *hs = &c->proxy->hs;
  int r = proxy_hs_feed(hs, p, n, &used, out, sizeof(out), &olen);
  if (r < 0) {
    if (hs->http_status)
      snprintf(c->detail, sizeof(c->detail), "the proxy answered CONNECT with %d", hs->http_status);
    else if (hs->socks_reply)
      snprintf(c->detail, sizeof(c->detail), "the SOCKS proxy replied %d", hs->socks_reply);
    finish(c, r);
    return;
  }
  if (olen) {
    int e = wire_send(c, out, olen);
    if (e) {
      finish(c, e);
      return;
    }
  }
  if (r == 1) {
    /* Nothing may follow the proxy's answer before we speak (TLS or HTTP). */
    if (used != n) {
      snprintf(c->detail, sizeof(c->detail), "the proxy sent bytes after its answer");
      finish(c, GUISE_E_PROXY_PROTOCOL);
      return;
    }
    free(c->proxy); /* its buffers are not needed for the connection's life */
    c->proxy = NULL;
    start_session(c);
  }
}

/* Bytes of the layer above the socket (or above the TLS with the proxy). */
static void deliver_plain(conn *c, const uint8_t *p, size_t n) {
  if (c->state == S_PROXY) {
    proxy_feed(c, p, n);
    return;
  }
  if (c->ssl == NULL) {
    if (c->cb.on_data) c->cb.on_data(c, p, n, c->ud);
    return;
  }
  struct bio_io *io = c->pssl ? &c->io_tun : &c->io_raw;
  if (c->state == S_TLS) note_first(c, p, n);
  io->in_p = p;
  io->in_n = n;
  tls_progress(c);
  io->in_p = NULL;
  io->in_n = 0; /* the connection closed early; what is left is not needed */
}

/* TLS with an https:// proxy: its handshake, then the CONNECT request inside. */
static void proxy_tls_step(conn *c) {
  int r = SSL_do_handshake(c->pssl);
  if (c->bio_err) {
    finish(c, c->bio_err);
    return;
  }
  if (r != 1) {
    if (SSL_get_error(c->pssl, r) == SSL_ERROR_WANT_READ) return;
    int code = map_tls_failure(c, c->pssl, c->proxy_verify);
    char why[sizeof(c->detail)];
    snprintf(why, sizeof(why), "%s", c->detail[0] ? c->detail : guise_strerror(code));
    snprintf(c->detail, sizeof(c->detail), "TLS to the proxy: %.130s", why);
    finish(c, code <= GUISE_E_CERT_EXPIRED && code >= GUISE_E_CERT_INVALID ? GUISE_E_PROXY_CERT : GUISE_E_PROXY_TLS);
    return;
  }
  c->state = S_PROXY;
  int e = wire_send(c, c->proxy->first, c->proxy->first_len);
  if (e) finish(c, e);
}

static void on_read_buf(conn *c, ssize_t nread, const uv_buf_t *buf) {
  if (c->state == S_CLOSING) return;
  if (nread < 0) {
    int err = nread == UV_EOF ? (c->state == S_READY                                    ? 0
                                 : c->state == S_PROXY || c->state == S_PROXY_TLS ? GUISE_E_PROXY_PROTOCOL
                                                                                  : GUISE_E_CONNECT_CLOSED)
              : nread == UV_ENOBUFS ? GUISE_E_NOMEM
                                    : map_uv((int)nread);
    finish(c, err);
    return;
  }
  if (nread == 0) return;
  if (c->pssl == NULL) {
    deliver_plain(c, (const uint8_t *)buf->base, (size_t)nread);
    return;
  }
  c->io_raw.in_p = (const uint8_t *)buf->base;
  c->io_raw.in_n = (size_t)nread;
  if (c->state == S_PROXY_TLS) {
    note_first(c, (const uint8_t *)buf->base, (size_t)nread);
    proxy_tls_step(c);
  }
  uint8_t *pb = c->state != S_PROXY_TLS && c->state != S_CLOSING ? scratch_take(2) : NULL;
  while (pb && c->state != S_CLOSING) {
    int r = SSL_read(c->pssl, pb, CONN_READ_BUF);
    if (r > 0) {
      deliver_plain(c, pb, (size_t)r);
      continue;
    }
    int e = SSL_get_error(c->pssl, r);
    if (e == SSL_ERROR_WANT_READ) break;
    finish(c, e == SSL_ERROR_ZERO_RETURN && c->state == S_READY ? 0
              : c->state == S_READY                             ? GUISE_E_CONNECT_CLOSED
                                                                : GUISE_E_PROXY_PROTOCOL);
  }
  scratch_give(2, pb);
  c->io_raw.in_p = NULL;
  c->io_raw.in_n = 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  if (nread > 0 && (c->state != S_READY || c->proxied)) {
    /* A delayed ACK (40 ms on Linux) holds the next segment of a peer that
     * keeps it back by Nagle's algorithm until the last one is acknowledged —
     * proxies such as tinyproxy and microsocks do not set TCP_NODELAY, and a
     * small record (a SETTINGS ACK) followed by the response waited 44 ms
     * (tcpdump on lo; tools/bench/proxy). ACK at once: during the handshakes
     * on every connection, and always through a proxy. Linux forgets
     * TCP_QUICKACK after a while: set it again on each such read. */
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)s, &fd) == 0) setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
  }
  on_read_buf(c, nread, buf);
  scratch_give(0, (uint8_t *)buf->base);
}

static void on_timeout(uv_timer_t *t) {
  conn *c = t->data;
  if (c->proxy) finish(c, GUISE_E_PROXY_TIMEOUT); /* TCP to the proxy or its handshake */
  else finish(c, c->state == S_CONNECTING ? GUISE_E_TIMEOUT_CONNECT : GUISE_E_TIMEOUT_TLS);
}

static void on_connect(uv_connect_t *req, int status) {
  conn *c = req->data;
  if (c->state == S_CLOSING) return;
  if (status < 0) {
    finish(c, c->proxy && status == UV_ECONNREFUSED ? GUISE_E_PROXY_CONNECT_REFUSED : map_uv(status));
    return;
  }
  c->connect_ms = elapsed_ms(c);
  uv_tcp_nodelay(&c->tcp, 1);
  int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (r < 0) {
    finish(c, map_uv(r));
    return;
  }
  if (c->pssl) {
    c->state = S_PROXY_TLS; /* the connect timeout covers it */
    proxy_tls_step(c);
    return;
  }
  if (c->proxy) {
    c->state = S_PROXY; /* the first bytes were queued by conn_open */
    int e = send_raw(c, c->proxy->first, c->proxy->first_len);
    if (e) finish(c, e);
    return;
  }
  start_session(c);
}

/* TCP is up (and the tunnel, through a proxy): TLS, or ready for plaintext. */
static void start_session(conn *c) {
  if (c->ssl == NULL) {
    ready(c);
    return;
  }
  c->state = S_TLS;
  c->first_n = 0; /* the origin's bytes from here (the proxy's were before) */
  uv_timer_stop(&c->timer);
  if (c->tls_timeout_ms) uv_timer_start(&c->timer, on_timeout, c->tls_timeout_ms, 0);
  tls_progress(c);
}

int conn_open(uv_loop_t *loop, const conn_options *o, const conn_callbacks *cb, void *ud,
              conn **out) {
  if (o->addr == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  conn *c = calloc(1, sizeof(*c));
  if (c == NULL) return GUISE_E_NOMEM;
  c->loop = loop;
  c->cb = *cb;
  c->ud = ud;
  c->verify = o->verify;
  c->proxy_verify = o->proxy_verify;
  c->shape = o->shape;
  c->tls_timeout_ms = o->tls_timeout_ms;
  c->t0 = uv_hrtime();
  if (o->ctx) {
    const char *why = NULL;
    pthread_once(&bio_once, bio_method_init);
    c->ssl = SSL_new(o->ctx);
    BIO *bio = bio_method ? BIO_new(bio_method) : NULL;
    if (c->ssl == NULL || bio == NULL) {
      BIO_free(bio);
      SSL_free(c->ssl);
      free(c);
      return GUISE_E_NOMEM;
    }
    int tunnelled = o->proxy && o->proxy->kind == PROXY_HTTPS;
    struct bio_io *io = tunnelled ? &c->io_tun : &c->io_raw;
    io->c = c;
    io->via_proxy_tls = tunnelled;
    BIO_set_data(bio, io);
    BIO_set_init(bio, 1);
    SSL_set_bio(c->ssl, bio, bio); /* one reference, taken by the SSL */
    SSL_set_connect_state(c->ssl);
    int r = 0;
    if (o->shape && tls_shape_apply_ssl(c->ssl, o->shape, &why) != 0) r = GUISE_E_PROFILE_UNSUPPORTED;
    if (!r && o->sni && !SSL_set_tlsext_host_name(c->ssl, o->sni)) r = GUISE_E_NOMEM;
    const char *vh = o->verify_host ? o->verify_host : o->sni;
    if (!r && o->verify && vh) r = tls_verify_expect_host(c->ssl, vh);
    if (!r && o->sessions && o->session_key &&
        tls_session_cache_begin(o->sessions, c->ssl, o->session_key, 1) != 0)
      r = GUISE_E_NOMEM;
    if (r) {
      SSL_free(c->ssl);
      free(c);
      return r;
    }
  }
  if (o->proxy && o->proxy->kind == PROXY_HTTPS) {
    /* TLS to the proxy: the library's plain hello, ALPN http/1.1 (the proxy's
     * context), its name checked against its certificate unless the proxy's
     * own setting says not to (-k is the origin's). */
    pthread_once(&bio_once, bio_method_init);
    c->pssl = o->proxy_ctx ? SSL_new(o->proxy_ctx) : NULL;
    BIO *pb = c->pssl && bio_method ? BIO_new(bio_method) : NULL;
    int r = c->pssl && pb ? 0 : GUISE_E_NOMEM;
    if (!r) {
      c->io_raw.c = c;
      BIO_set_data(pb, &c->io_raw);
      BIO_set_init(pb, 1);
      SSL_set_bio(c->pssl, pb, pb);
      pb = NULL;
      SSL_set_connect_state(c->pssl);
      uint8_t tmp[16];
      int is_ip = inet_pton(AF_INET, o->proxy->host, tmp) == 1 || inet_pton(AF_INET6, o->proxy->host, tmp) == 1;
      if (!is_ip && !SSL_set_tlsext_host_name(c->pssl, o->proxy->host)) r = GUISE_E_NOMEM;
      if (!r && o->proxy_verify) r = tls_verify_expect_host(c->pssl, o->proxy->host);
    }
    if (r) {
      BIO_free(pb);
      SSL_free(c->pssl);
      SSL_free(c->ssl);
      free(c);
      return r;
    }
  }
  c->proxied = o->proxy != NULL;
  if (o->proxy) {
    c->proxy = malloc(sizeof(*c->proxy));
    int r = c->proxy ? proxy_hs_begin(&c->proxy->hs, o->proxy, o->proxy_target_host, o->proxy_target_port,
                                      o->proxy_target_addr, c->proxy->first, sizeof(c->proxy->first),
                                      &c->proxy->first_len)
                     : GUISE_E_NOMEM;
    if (r) {
      free(c->proxy);
      SSL_free(c->pssl);
      SSL_free(c->ssl);
      free(c);
      return r;
    }
  }
  conn_count(+1); /* from here on_closed runs, which counts it out */
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c->timer.data = c->connect_req.data = c;
  c->state = S_CONNECTING;
  int r = uv_tcp_connect(&c->connect_req, &c->tcp, o->addr, on_connect);
  if (r < 0) {
    /* The handles exist: close them through the loop, report synchronously. */
    c->cb.on_close = NULL;
    finish(c, map_uv(r));
    return map_uv(r);
  }
  if (o->connect_timeout_ms) uv_timer_start(&c->timer, on_timeout, o->connect_timeout_ms, 0);
  *out = c;
  return 0;
}

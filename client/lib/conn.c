/*
 * conn.c — a client connection (conn.h): builds the chain of filters from
 * conn_options (filter.h: socket, [TLS to an https:// proxy], [proxy
 * handshake], [TLS to the origin]), owns the libuv handles (the socket's and the
 * handshake timer), and turns the chain's up, data and end into conn.h's
 * callbacks. Called by pool.c.
 *
 * Memory: an idle connection holds no read buffer. libuv's read buffer and each
 * TLS filter's plaintext are lent per thread for one callback (filter.h's
 * scratch), so an idle connection is this struct, BoringSSL's SSL (which frees
 * its record buffers when empty) and the protocol above.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "filter_proxy.h"
#include "filter_tcp.h"
#include "filter_tls.h"
#include "filter_udp.h"
#include "guise.h"
#include "proxy.h"

/* The per-thread plaintext buffers of the two TLS filters (slot 0: the socket). */
#define SLOT_TLS 1
#define SLOT_PROXY_TLS 2

/* The filters of a connection through a proxy: allocated with it, only then. */
struct conn_proxy {
  filter_tls ptls;   /* TLS with an https:// proxy (ptls.ssl NULL: none) */
  filter_proxy tun;  /* the tunnel handshake */
};

/* The socket of an HTTP/3 connection (conn_options.udp), instead of |tcp|:
 * allocated with it, only then. */
struct conn_udp {
  filter_udp udp;    /* first: the handle's data is this */
  conn *c;
  int socks;         /* through a SOCKS5 proxy: |socks| on conn.tcp, the control connection */
  filter_socks_udp su;
};

struct conn {
  filter_chain chain;
  filter_tcp tcp;    /* unused (never initialised) when |udp| is set */
  struct conn_udp *udp;
  filter_tls tls;    /* TLS with the origin (tls.f.ops NULL: plaintext) */
  uv_timer_t timer;  /* connect timeout, then the origin's TLS timeout */
  int pending_closes;
  int close_err;
  int proxied;       /* |px| exists */
  conn_callbacks cb;
  void *ud;
  uint64_t t0;
  double tls_ms;
  struct conn_proxy px[]; /* one through a proxy, else none */
};

static double elapsed_ms(const conn *c) { return (double)(uv_hrtime() - c->t0) / 1e6; }

static conn *of_chain(filter_chain *ch) { return (conn *)((char *)ch - offsetof(conn, chain)); }

/* The filters that hold something, released after on_close. */
static void close_filters(conn *c) {
  filter *f[] = {&c->tls.f, c->proxied ? &c->px->tun.f : NULL, c->proxied ? &c->px->ptls.f : NULL};
  for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
    if (f[i] && f[i]->ops) f[i]->ops->close(f[i]);
}

static void on_closed_one(conn *c) {
  if (--c->pending_closes > 0) return;
  if (c->cb.on_close) c->cb.on_close(c, c->close_err, c->ud);
  close_filters(c);
  free(c->udp);
  free(c);
  filter_scratch_chains(-1);
}

static void on_tcp_closed(uv_handle_t *h) {
  filter_tcp *t = h->data;
  on_closed_one((conn *)((char *)t - offsetof(conn, tcp)));
}

static void on_udp_closed(uv_handle_t *h) { on_closed_one(((struct conn_udp *)h->data)->c); }

static void on_timer_closed(uv_handle_t *h) { on_closed_one(h->data); }

static void finish(conn *c, int err) {
  if (c->chain.closed) return;
  c->chain.closed = 1;
  c->close_err = err;
  c->pending_closes = 1 + (c->udp ? filter_udp_close(&c->udp->udp, on_udp_closed) : 0) +
                      (c->udp == NULL || c->udp->socks ? filter_tcp_close(&c->tcp, on_tcp_closed) : 0);
  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

void conn_close(conn *c) { finish(c, 0); }

const gerr *conn_error(const conn *c) { return &c->chain.err; }

const char *conn_error_detail(const conn *c) { return c->chain.err.text; }

SSL *conn_ssl(conn *c) { return c->tls.ssl; }

void conn_set_ref(conn *c, int ref) {
  if (c->chain.closed) return;
  uv_handle_t *sock = c->udp ? (uv_handle_t *)&c->udp->udp.handle : (uv_handle_t *)&c->tcp.handle;
  uv_handle_t *ctl = c->udp && c->udp->socks ? (uv_handle_t *)&c->tcp.handle : NULL;
  if (ref) {
    uv_ref(sock);
    uv_ref((uv_handle_t *)&c->timer);
    if (ctl) uv_ref(ctl);
  } else {
    uv_unref(sock);
    uv_unref((uv_handle_t *)&c->timer);
    if (ctl) uv_unref(ctl);
  }
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

void conn_local(conn *c, char *out, size_t cap) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  out[0] = '\0';
  if (c->udp) {
    if (filter_udp_local(&c->udp->udp, &ss) == 0) addr_text(&ss, out, cap);
    return;
  }
  if (uv_tcp_getsockname(&c->tcp.handle, (struct sockaddr *)&ss, &len) == 0) addr_text(&ss, out, cap);
}

void conn_remote(conn *c, char *out, size_t cap) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  out[0] = '\0';
  if (c->udp) {
    if (filter_udp_remote(&c->udp->udp, &ss) == 0) addr_text(&ss, out, cap);
    return;
  }
  if (uv_tcp_getpeername(&c->tcp.handle, (struct sockaddr *)&ss, &len) == 0) addr_text(&ss, out, cap);
}

double conn_connect_ms(const conn *c) {
  uint64_t t = c->udp ? c->udp->udp.connected : c->tcp.connected;
  return t ? (double)(t - c->t0) / 1e6 : 0;
}
double conn_tls_ms(const conn *c) { return c->tls_ms; }

size_t conn_queued(const conn *c) {
  if (c->udp) return uv_udp_get_send_queue_size(&c->udp->udp.handle);
  return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp.handle);
}

int conn_write(conn *c, const uint8_t *p, size_t n) {
  if (!c->chain.up || c->chain.closed) return GUISE_E_CONNECT_CLOSED;
  filter *top = c->chain.top;
  return top->ops->send(top, p, n);
}

/* ---- the chain's owner ------------------------------------------------------------- */

static void chain_up(filter_chain *ch) {
  conn *c = of_chain(ch);
  uv_timer_stop(&c->timer);
  char proto[32] = "";
  if (c->udp) snprintf(proto, sizeof(proto), "h3"); /* QUIC's own TLS chose it, in the session */
  if (c->tls.ssl) {
    c->tls_ms = elapsed_ms(c);
    const uint8_t *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(c->tls.ssl, &alpn, &alpn_len);
    /* No ALPN selected: BoringSSL gives NULL and 0, and memcpy from NULL is
     * undefined even for 0 bytes (C11 7.24.1p2). */
    if (alpn != NULL && alpn_len > 0 && alpn_len < sizeof(proto)) {
      memcpy(proto, alpn, alpn_len);
      proto[alpn_len] = '\0';
    }
  }
  if (c->cb.on_ready) c->cb.on_ready(c, proto, c->ud);
}

static void chain_data(filter_chain *ch, const uint8_t *p, size_t n) {
  conn *c = of_chain(ch);
  if (c->cb.on_data) c->cb.on_data(c, p, n, c->ud);
}

static void chain_end(filter_chain *ch) { finish(of_chain(ch), ch->err.code); }

static void on_timeout(uv_timer_t *t) {
  conn *c = t->data;
  filter_chain_timeout(&c->chain);
}

/* A UDP socket is up once connected (no handshake of its own): reported from
 * the loop, not from inside conn_open, so that the owner has the conn first. */
static void on_udp_start(uv_timer_t *t) {
  conn *c = t->data;
  if (!c->chain.closed && !c->chain.up) filter_up(&c->udp->udp.f);
}

static const filter_chain_ops chain_ops;

/* The end of an open over TCP, |r| the result of starting the connect. A
 * failure: the handles exist, so they are closed through the loop, and |r| is
 * reported synchronously (no on_close). Otherwise the connect timeout starts
 * (|timeout_ms|, 0: none) and |c| is given out. */
static int connect_started(conn *c, int r, unsigned timeout_ms, conn **out) {
  if (r) {
    c->cb.on_close = NULL;
    finish(c, r);
    return r;
  }
  if (timeout_ms) uv_timer_start(&c->timer, on_timeout, timeout_ms, 0);
  *out = c;
  return 0;
}

/* conn_open for conn_options.udp: the UDP filter alone (filter_udp.h). */
static int open_udp(uv_loop_t *loop, const conn_options *o, conn *c, conn **out) {
  if (o->ctx || (o->proxy && o->proxy->kind != PROXY_SOCKS5 && o->proxy->kind != PROXY_SOCKS5H)) {
    free(c);
    return GUISE_E_USAGE_INVALID_ARGUMENT; /* QUIC's TLS is the session's; SOCKS5 only carries UDP */
  }
  c->udp = calloc(1, sizeof(*c->udp));
  if (c->udp == NULL) {
    free(c);
    return GUISE_E_NOMEM;
  }
  c->udp->c = c;
  filter_scratch_chains(+1);
  filter_udp_init(&c->udp->udp, loop, o->local);
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  if (o->proxy) {
    /* The control connection to the proxy, SOCKS5 UDP ASSOCIATE on it, then
     * the UDP socket to its relay (filter_udp.h). */
    c->udp->socks = 1;
    filter_tcp_init(&c->tcp, loop, 1, o->local);
    int r = filter_socks_udp_init(&c->udp->su, &c->udp->udp, o->proxy, o->addr, o->proxy_target_host,
                                  o->proxy_target_port, o->proxy_target_addr);
    filter *f[2] = {&c->tcp.f, &c->udp->su.f};
    filter_chain_init(&c->chain, &chain_ops, f, 2);
    filter_socks_udp_link(&c->udp->su, &c->chain);
    if (!r) r = filter_tcp_connect(&c->tcp, o->addr);
    return connect_started(c, r, o->connect_timeout_ms, out);
  }
  filter *f[1] = {&c->udp->udp.f};
  filter_chain_init(&c->chain, &chain_ops, f, 1);
  int r = filter_udp_connect(&c->udp->udp, o->addr, o->local);
  if (r) {
    c->cb.on_close = NULL;
    finish(c, r);
    return r;
  }
  uv_timer_start(&c->timer, on_udp_start, 0, 0);
  *out = c;
  return 0;
}

static void chain_timer(filter_chain *ch, unsigned ms) {
  conn *c = of_chain(ch);
  uv_timer_stop(&c->timer);
  if (ms) uv_timer_start(&c->timer, on_timeout, ms, 0);
}

static const filter_chain_ops chain_ops = {chain_up, chain_data, chain_end, chain_timer};

int conn_open(uv_loop_t *loop, const conn_options *o, const conn_callbacks *cb, void *ud, conn **out) {
  if (o->addr == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  conn *c = calloc(1, sizeof(*c) + (o->proxy ? sizeof(struct conn_proxy) : 0));
  if (c == NULL) return GUISE_E_NOMEM;
  c->proxied = o->proxy != NULL;
  c->cb = *cb;
  c->ud = ud;
  c->t0 = uv_hrtime();
  if (o->udp) return open_udp(loop, o, c, out);
  int r = 0;
  if (o->ctx) {
    const char *vh = o->verify_host ? o->verify_host : o->sni;
    filter_tls_config tc = {FILTER_TLS_ORIGIN, o->ctx, o->shape, o->sni, o->verify, o->verify ? vh : NULL,
                            o->sessions, o->session_key, SLOT_TLS, 1, o->tls_timeout_ms};
    r = filter_tls_init(&c->tls, &tc);
  }
  if (!r && o->proxy && o->proxy->kind == PROXY_HTTPS) {
    /* TLS to the proxy: the library's plain hello, ALPN http/1.1 (the proxy's
     * context), no SNI for an IP literal (RFC 6066 3), its name checked against
     * its certificate unless the proxy's own setting says not to (-k is the
     * origin's). Part of the connect timeout. */
    uint8_t tmp[16];
    const char *host = o->proxy->host;
    int is_ip = inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
    filter_tls_config pc = {FILTER_TLS_PROXY, o->proxy_ctx, NULL, is_ip ? NULL : host, o->proxy_verify,
                            o->proxy_verify ? host : NULL, NULL, NULL, SLOT_PROXY_TLS, 0, 0};
    r = filter_tls_init(&c->px->ptls, &pc);
  }
  if (!r && o->proxy)
    r = filter_proxy_init(&c->px->tun, o->proxy, o->proxy_target_host, o->proxy_target_port, o->proxy_target_addr);
  if (r) {
    close_filters(c);
    free(c);
    return r;
  }
  filter_scratch_chains(+1); /* from here the close callbacks run, which count it out */
  filter_tcp_init(&c->tcp, loop, o->proxy != NULL, o->local);
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  filter *f[4];
  size_t n = 0;
  f[n++] = &c->tcp.f;
  if (c->proxied && c->px->ptls.ssl) f[n++] = &c->px->ptls.f;
  if (c->proxied) f[n++] = &c->px->tun.f;
  if (c->tls.ssl) f[n++] = &c->tls.f;
  filter_chain_init(&c->chain, &chain_ops, f, n);
  return connect_started(c, filter_tcp_connect(&c->tcp, o->addr), o->connect_timeout_ms, out);
}

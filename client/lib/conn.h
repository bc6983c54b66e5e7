/*
 * conn.h — one client connection: a chain of filters (filter.h) built from
 * conn_options — TCP through libuv, then for a proxy its TLS (https://) and its
 * tunnel handshake, then for https the origin's TLS through BoringSSL, shaped
 * by a tls_shape. The protocol above (HTTP/1.1 or HTTP/2, in pool.c) sees
 * plaintext bytes only. A loop module: only this, filter_tcp.c and the
 * scheduler include uv.h.
 *
 * Lifetime (libuv's rule): after conn_close, the object stays valid until
 * on_close has been called; its memory is freed right after on_close returns.
 */
#ifndef GUISE_CONN_H
#define GUISE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "gerr.h"
#include "tls_session_cache.h"
#include "tls_shape.h"

typedef struct conn conn;

typedef struct conn_callbacks {
  /* TCP (and TLS) are up. |alpn| is the negotiated protocol ("" for none or
   * plaintext). */
  void (*on_ready)(conn *c, const char *alpn, void *ud);
  /* Plaintext bytes from the server. */
  void (*on_data)(conn *c, const uint8_t *p, size_t n, void *ud);
  /* The connection ended: 0 after a clean close by the server or conn_close,
   * else a GUISE_E_* code. Called exactly once. */
  void (*on_close)(conn *c, int err, void *ud);
} conn_callbacks;

typedef struct conn_options {
  const struct sockaddr *addr;  /* IPv4 or IPv6, port set */
  SSL_CTX *ctx;                 /* NULL: plaintext */
  const tls_shape *shape;       /* per-connection TLS parts (ALPN, ALPS, ...) */
  const char *sni;              /* server name to send and verify; NULL: none */
  int verify;                   /* check the certificate against |sni| or the IP */
  const char *verify_host;      /* name the certificate must match (default |sni|) */
  tls_session_cache *sessions;  /* NULL: no resumption */
  const char *session_key;
  unsigned connect_timeout_ms;  /* TCP connect; 0: none */
  unsigned tls_timeout_ms;      /* TLS handshake; 0: none */
  /* Through a proxy: |addr| is the proxy's; the tunnel goes to
   * |proxy_target_host|:|proxy_target_port| (SOCKS5 with local resolution:
   * |proxy_target_addr|). The connect timeout covers the tunnel handshake. */
  const struct proxy_cfg *proxy;
  SSL_CTX *proxy_ctx;           /* https:// proxies: TLS to the proxy */
  int proxy_verify;             /* check the proxy's certificate against its host
                                   (its own setting: |verify| is the origin's) */
  const char *proxy_target_host;
  uint16_t proxy_target_port;
  const struct sockaddr *proxy_target_addr;
  /* The local side and receive pacing (filter_tcp.h); NULL: none. */
  const struct tcp_local *local;
  /* HTTP/3: a connected UDP socket alone (filter_udp.h), each write one
   * datagram and each on_data one datagram; |ctx| must be NULL (QUIC's TLS is
   * the session's), |proxy| NULL or SOCKS5 (UDP ASSOCIATE: |addr| the proxy's,
   * the target as for a tunnel). on_ready follows from the loop with ALPN
   * "h3"; the QUIC handshake is the session's, after it. */
  int udp;
} conn_options;

/* Starts a connection. Returns 0 (callbacks follow) or a GUISE_E_* code (none
 * will). */
int conn_open(uv_loop_t *loop, const conn_options *o, const conn_callbacks *cb, void *ud,
              conn **out);

/* Queues plaintext for the server. Returns 0 or a GUISE_E_* code. */
int conn_write(conn *c, const uint8_t *p, size_t n);

/* Closes the connection; on_close(c, 0) follows from the loop. */
void conn_close(conn *c);

/* Why the connection failed, filled once by the layer that saw it: the code
 * given to on_close, the layer ("tcp", "proxy-tls", "proxy", "tls"), the
 * library's code (a libuv error, a packed BoringSSL error, the proxy's reply
 * status) and its words. Code 0: no failure (yet). Valid until on_close
 * returns. */
const gerr *conn_error(const conn *c);

/* conn_error(c)'s text: why the TLS handshake or the proxy failed, in the
 * library's words, or "". Valid until on_close returns. */
const char *conn_error_detail(const conn *c);

/* Whether the connection's handles keep the loop alive (uv_ref / uv_unref): an
 * idle pooled connection does not. */
void conn_set_ref(conn *c, int ref);

/* The local address, "ip:port" ("[ip]:port" for IPv6), or "" before TCP is up. */
void conn_local(conn *c, char *out, size_t cap);
/* The peer's address, the same way (through a proxy: the proxy's). */
void conn_remote(conn *c, char *out, size_t cap);

/* The origin's TLS object, for the negotiated details (NULL for plaintext;
 * never the TLS with an https:// proxy). */
SSL *conn_ssl(conn *c);

/* Bytes written to the connection that its socket has not taken yet (libuv's
 * write queue): the pool asks its session for more only below a mark, so that
 * an upload goes at the socket's pace. */
size_t conn_queued(const conn *c);

/* Timings in milliseconds from conn_open: TCP connected, TLS done (0 if none). */
double conn_connect_ms(const conn *c);
double conn_tls_ms(const conn *c);

#endif

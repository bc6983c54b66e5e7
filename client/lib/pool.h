/*
 * pool.h — the connection pool: origins (one per pool key), the requests that
 * wait in each origin's queue, dialing (DNS, happy eyeballs), and the
 * connections, busy or idle. A loop module; not thread-safe (one pool belongs
 * to one loop thread).
 *
 * Who calls whom (no circle):
 *
 *   client.c ──pool_new/close/free──▶ pool.c ──conn ops──▶ conn.c (default)
 *   request.c ──pool_submit/requeue/release──▶ pool.c ──resolver ops──▶ dns.c (default)
 *   pool.c ──waiter->ops (on_bind, on_fail)──▶ the waiting request (request.c)
 *   pool.c ──recv/send/eof/timeout──▶ session (session_h1.c, session_h2.c, by ALPN)
 *   request.c ──submit/cancel──▶ the session of the connection it was given
 *
 * The pool drives every session the same way: the connection's bytes go to
 * session_recv, what session_send gives goes to the connection until
 * session_want_write is 0, the connection's end is session_eof; a request is
 * bound to a connection whose session_capacity() is above 0, a connection with
 * no open stream is idle, and one whose session is no longer alive is closed.
 *
 * pool.c calls nothing in client.c or request.c by name: what it needs from
 * its owner comes through pool_config (options, seams, hooks), what it tells a
 * request through the request's pool_waiter.
 *
 * HTTP/3: an origin's connections may be HTTP/3 ones beside TCP ones (one
 * key: the same origin), chosen per request (pool_waiter.h3): never, raced
 * against TCP (the first usable connection takes the request; once an HTTP/3
 * connection is up, it is preferred, as Chrome prefers its QUIC session), or
 * HTTP/3 only. An HTTP/3 connection is a UDP socket (conn_options.udp) whose
 * session makes the QUIC handshake: it counts as connecting until the
 * session's capacity() is above 0, and a session that dies before (or the
 * connect timeout) fails it like a TCP connection that never came. A failed
 * HTTP/3 connection marks the origin's HTTP/3 broken: raced requests go on
 * TCP, HTTP/3-only ones fail with its error (pool_config.h3_failed tells the
 * owner, whose Alt-Svc cache forgets the entry).
 *
 * Pool key: (scheme, host, port, variant, proxy identity). The variant covers
 * the profile, the ALPN narrowing (--http1.1/--http2) and the trust settings,
 * which all change what the connection is; the proxy identity is its URL with
 * the credentials, so that a rotation by proxy user name is a new connection
 * (and a new TLS session-cache entry).
 */
#ifndef GUISE_POOL_H
#define GUISE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "conn.h"
#include "dns.h"
#include "gerr.h"
#include "guise.h"
#include "h2.h"
#include "proxy.h"
#include "queue.h"
#include "session.h"
#include "tls_session_cache.h"
#include "url.h"
#include "variant.h"

/* Chrome's limit of connections per group (host, port, privacy mode, proxy):
 * net/socket/client_socket_pool_manager.cc, g_max_sockets_per_group = 6. */
#define POOL_DEFAULT_PER_ORIGIN 6
/* Streams one HTTP/2 connection carries before the pool opens another: nginx's
 * and h2o's default SETTINGS_MAX_CONCURRENT_STREAMS (128 and 100). */
#define POOL_DEFAULT_STREAMS 100
/* How long an unused connection is kept: curl's default CURLOPT_MAXAGE_CONN
 * (118 s). Servers usually close sooner (nginx keepalive_timeout 75 s). */
#define POOL_DEFAULT_IDLE_MS 118000
/* Plaintext handed from a session to its connection per write. */
#define POOL_OUT 16384
/* The connect timeout when neither the request nor the client sets one. */
#define POOL_DEFAULT_CONNECT_MS 30000

typedef struct pool pool;
typedef struct origin origin;
typedef struct pool_conn pool_conn;
typedef struct pool_waiter pool_waiter;

/* How the pool opens and drives a transport connection: conn.h's functions
 * (pool_conn_ops_default), or a test's fakes. */
typedef struct pool_conn_ops {
  int (*open)(uv_loop_t *loop, const conn_options *o, const conn_callbacks *cb, void *ud, conn **out);
  int (*write)(conn *c, const uint8_t *p, size_t n);
  void (*close)(conn *c);
  const gerr *(*error)(const conn *c);
  void (*set_ref)(conn *c, int ref);
  void (*local)(conn *c, char *out, size_t cap);
  void (*remote)(conn *c, char *out, size_t cap);
  SSL *(*ssl)(conn *c);
  double (*connect_ms)(const conn *c);
  double (*tls_ms)(const conn *c);
  size_t (*queued)(const conn *c); /* NULL: nothing is ever queued */
} pool_conn_ops;
extern const pool_conn_ops pool_conn_ops_default;

/* How the pool resolves names: dns.h's functions on a dns * (pool_resolver_ops_default),
 * or a test's fakes. Not called after pool_close. */
typedef struct pool_resolver_ops {
  int (*resolve)(void *r, const char *host, unsigned port, dns_cb cb, void *ud);
  int (*cancel)(void *r, void *ud);
  const char *(*servers_text)(const void *r);
} pool_resolver_ops;
extern const pool_resolver_ops pool_resolver_ops_default;

/* Makes the session for a connection that negotiated |proto|: session_h1_new or
 * session_h2_new (pool_session_new_default), or a test's fake. */
typedef int (*pool_session_new_fn)(void *arg, session_proto proto, const h2_shape *shape,
                                   const session_config *cfg, const session_host *host, session **out);
int pool_session_new_default(void *arg, session_proto proto, const h2_shape *shape,
                             const session_config *cfg, const session_host *host, session **out);

/* What an HTTP/3 connection's session is made from (the UDP socket is
 * connected): the variant (its profile), the name to send and check, the
 * socket's two addresses. */
typedef struct pool_h3_params {
  variant *v;
  const char *server_name;      /* NULL: an IP literal (no SNI) */
  const char *verify_host;      /* the name or IP the certificate must match */
  const struct sockaddr *remote, *local;
  size_t max_streams;
} pool_h3_params;
/* Makes the HTTP/3 session: session_h3_new with the owner's context for the
 * variant (pool_config.h3_ctx) by default, or a test's fake. 0 or a GUISE_E_*
 * code, with a static reason in |*why| (may stay NULL). */
typedef int (*pool_h3_new_fn)(void *arg, const pool_h3_params *p, const session_host *host, session **out,
                              const char **why);

typedef struct pool_config {
  uv_loop_t *loop;
  unsigned connect_timeout_ms;  /* 0: POOL_DEFAULT_CONNECT_MS (a request may set its own) */
  unsigned per_origin;          /* connections per origin */
  unsigned streams;             /* HTTP/2 streams per connection */
  unsigned idle_ms;             /* an unused connection is closed after it */
  unsigned h2_coalesce_ms;      /* HTTP/2 write coalescing; 0: off */
  int no_reuse;                 /* one request per connection, closed after it */
  tls_session_cache *sessions;  /* TLS resumption; NULL: none */
  const pool_conn_ops *conn;    /* NULL: pool_conn_ops_default */
  const pool_resolver_ops *resolver_ops; /* NULL: pool_resolver_ops_default */
  void *resolver;               /* a dns * for the default */
  pool_session_new_fn session_new; /* NULL: pool_session_new_default */
  /* The owner's hooks (|arg| their argument): */
  void *arg;
  /* An origin took (1) or dropped (0) its reference on a variant. */
  void (*variant_ref)(void *arg, variant *v, int take);
  /* The TLS context for https:// proxies and whether to verify the proxy's
   * certificate: 0 or a GUISE_E_* code. */
  int (*proxy_ctx)(void *arg, SSL_CTX **ctx, int *verify);
  /* After pool_close: the last connection is gone; pool_free may be called (also
   * from inside this hook). */
  void (*on_closed)(void *arg);
  /* Each connection's local side and receive pacing (conn_options.local);
   * NULL: none. */
  const struct tcp_local *local;
  /* HTTP/3: the session maker (NULL: session_h3_new through |h3_ctx|), the
   * QUIC TLS context of a variant (made once by the owner; 0 or a GUISE_E_*
   * code and a static reason), and what the owner hears when HTTP/3 to
   * |host|:|port| (the UDP port tried) failed, |why| its error. */
  pool_h3_new_fn h3_new;
  int (*h3_ctx)(void *arg, variant *v, SSL_CTX **ctx, const char **why);
  void (*h3_failed)(void *arg, const char *host, unsigned port, const gerr *why);
} pool_config;

/* A request's place in the pool: in an origin's queue while it waits, bound to
 * a connection once it has one. The owner embeds it and sets |ops| (and
 * |connect_timeout_ms|) before pool_submit; the rest is the pool's. */
typedef struct pool_waiter_ops {
  /* A connection for it: send the request. */
  void (*on_bind)(pool_waiter *w, pool_conn *pc);
  /* No connection could be made for it (DNS, connect, TLS, proxy, ...), or the
   * pool was closed: |err| says why (its text may be ""). It is out of the
   * pool already. */
  void (*on_fail)(pool_waiter *w, const gerr *err);
} pool_waiter_ops;

/* pool_waiter.h3: HTTP/3 never, raced against TCP, or only. */
enum { POOL_H3_NO = 0, POOL_H3_RACE = 1, POOL_H3_ONLY = 2 };

struct pool_waiter {
  const pool_waiter_ops *ops;
  unsigned connect_timeout_ms;  /* for a connection opened for it; 0: the pool's */
  uint8_t h3;                   /* POOL_H3_*: https:// origins, direct or through SOCKS5 only */
  uint16_t h3_port;             /* HTTP/3's UDP port (Alt-Svc); 0: the origin's */
  /* the pool's */
  gq link;                      /* in its origin's queue while waiting */
  origin *org;                  /* while queued or bound */
  pool_conn *pc;                /* while bound to a connection */
};

/* A pool on cfg->loop (the config is copied). NULL: no memory. */
pool *pool_new(const pool_config *cfg);

/* Closes every connection and fails every queued request (on_fail CANCELLED,
 * "the client was closed"); nothing new is dialed after. Returns 1 when no
 * connection is left (pool_free may follow at once), 0 when on_closed will say so. */
int pool_close(pool *p);

/* Frees the pool and its origins (after pool_close, once it returned 1 or
 * on_closed ran). */
void pool_free(pool *p);

/* Queues |w| on the origin of (|u|, |v|, |proxy|) and gives it a connection as
 * soon as one is free (on_bind) or fails it (on_fail). 0, or GUISE_E_NOMEM
 * (nothing queued). |proxy_id| is the proxy URL as given (NULL: direct). */
int pool_submit(pool *p, pool_waiter *w, const url *u, variant *v, const proxy_cfg *proxy,
                const char *proxy_id);

/* Puts a request back at the head of its origin's queue, for a new connection
 * (a stream the server did not process, a reused connection that died first).
 * |avoid_connection|: the connection it had takes no new request. */
void pool_requeue(pool_waiter *w, int avoid_connection);

/* The request is done with its queue place or its connection: once its stream
 * has closed (or when it submitted none). Whether the connection carries
 * another request is its session's to say. */
void pool_release(pool_waiter *w);

/* ---- a pooled connection, for the request bound to it ------------------------------ */

/* The connection's session: submit the request's stream to it, cancel it. */
session *pool_conn_session(pool_conn *pc);
/* Sends what the session has to send (after a submit or a cancel); an error
 * closes the connection (every stream ends with it). From inside the
 * session's callbacks it is done when the session returns. */
void pool_conn_flush(pool_conn *pc);
/* Requests ever given this connection, the current one included. */
unsigned pool_conn_bound(const pool_conn *pc);
/* What the caller reports about the connection. */
typedef struct pool_conn_info {
  const char *remote, *local, *alpn;
  const char *tls_version, *tls_cipher, *tls_group;
  double dns_ms, connect_ms, tls_ms; /* cumulative from the connection's start */
  int h3;                            /* an HTTP/3 (QUIC) connection */
} pool_conn_info;
void pool_conn_get_info(const pool_conn *pc, pool_conn_info *out);

#endif

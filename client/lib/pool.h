/*
 * pool.h — the connection pool of a guise_client, and what the client, the pool
 * and the request module share. A loop module; not thread-safe (one client
 * belongs to one loop thread).
 *
 *   client.c   the guise_client object: options, DNS, TLS sessions, and the
 *              variants (a profile loaded once with its TLS context).
 *   pool.c     origins (one per pool key) and their connections: HTTP/2
 *              multiplexing, HTTP/1.1 keep-alive, idle timeouts, a cap per
 *              origin; requests wait in their origin's queue for a connection.
 *   request.c  one request: its headers and body on a connection the pool
 *              gives it, the response, decoding, the caller's callbacks.
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
#include "cookie.h"
#include "decode.h"
#include "dns.h"
#include "guise.h"
#include "h2.h"
#include "profile.h"
#include "proxy.h"
#include "tls_session_cache.h"
#include "tls_shape.h"
#include "url.h"

/* Chrome's limit of connections per group (host, port, privacy mode, proxy):
 * net/socket/client_socket_pool_manager.cc, g_max_sockets_per_group = 6. */
#define POOL_DEFAULT_PER_ORIGIN 6
/* Streams one HTTP/2 connection carries before the pool opens another: nginx's
 * and h2o's default SETTINGS_MAX_CONCURRENT_STREAMS (128 and 100). */
#define POOL_DEFAULT_STREAMS 100
/* How long an unused connection is kept: curl's default CURLOPT_MAXAGE_CONN
 * (118 s). Servers usually close sooner (nginx keepalive_timeout 75 s). */
#define POOL_DEFAULT_IDLE_MS 118000
/* Memory of all a client's content decoders together: 256 MiB, room for eight
 * brotli streams at their largest window (30 MiB budget each) or 25 zstd ones. */
#define POOL_DEFAULT_DECODE_MEMORY (256ull << 20)
/* Variants (profile x ALPN x trust) kept per client; unused ones beyond it go. */
#define POOL_MAX_VARIANTS 64
/* TLS sessions kept per client for resumption. */
#define POOL_MAX_SESSIONS 4096

typedef struct origin origin;
typedef struct pconn pconn;
typedef struct req req;

/* A profile loaded once, with its shapes and its TLS context. Shared by the
 * requests and connections that use it (counted references). */
typedef struct variant {
  struct variant *next;
  int refs;
  char *key;            /* "profile|http_version|insecure|cafile" */
  char *profile_arg;    /* the profile as asked for (name or file), "" for none */
  profile *prof;        /* NULL: no profile */
  const char *name;     /* profile name for the TLS session key, "" for none */
  tls_shape tls;
  h2_shape h2;
  int http_version;
  int insecure;
  char *cafile;
  SSL_CTX *ctx;         /* made with the first https request */
  SSL_CTX *proxy_ctx;   /* TLS to https:// proxies: made with the first use */
  /* The profile's HTTP/2 navigation headers as sent when a request adds none:
   * connection-specific fields and Host dropped (RFC 9113 8.2.2), pointing into
   * |prof|. Made once, used by every such request. */
  h2_header h2_nav[PROFILE_MAX_HEADERS];
  size_t n_h2_nav;
  int h2_nav_ok;        /* |h2_nav| passed h2_headers_check() */
} variant;

/* The part of a request the pool sees: the first member of struct req. */
typedef struct req_head {
  struct req_head *qnext, *qprev; /* in its origin's queue while waiting */
  origin *org;                    /* while queued or bound */
  pconn *pc;                      /* while bound to a connection */
  int queued;
  unsigned connect_timeout_ms;    /* for a connection opened for it */
} req_head;

struct guise_client {
  uv_loop_t *loop;
  dns *dns;
  tls_session_cache *sessions;
  variant *variants;
  size_t n_variants;
  /* origins: a hash table of chains, by key */
  origin **buckets;
  size_t n_buckets, n_origins;
  /* options */
  char *profile, *proxy, *cafile;
  int insecure;
  /* https:// proxies: their own trust settings (client.c), and the TLS context
   * made from them with the first use */
  int proxy_insecure;
  char *proxy_cafile;
  SSL_CTX *proxy_ctx;
  unsigned connect_timeout_ms, per_origin, streams, idle_ms;
  unsigned h2_coalesce_ms;        /* write coalescing on HTTP/2 (pool.c); 0: off */
  int no_reuse;
  cookie_jar *jar;                /* NULL: no cookies */
  decode_shared decode_mem;       /* the decoders of all its responses */
  void (*cookie_warn)(void *arg, const char *what);
  void *cookie_warn_arg;
  /* lifetime */
  size_t holds;                   /* requests and connections alive */
  size_t active_reqs;
  int closing;
  int oneshot;                    /* close once its requests are over */
};

/* ---- client.c --------------------------------------------------------------------- */

/* The variant for these settings, loaded on first use, with a reference for the
 * caller; |need_ctx|: make its TLS context now. 0 or GUISE_E_* (profile errors,
 * a bad cafile), with *out NULL. */
int client_variant(guise_client *cl, const char *prof_name, int http_version, int insecure,
                   const char *cafile, int need_ctx, variant **out);
void client_variant_put(guise_client *cl, variant *v);
/* Makes the TLS context of |v| when it has none (a redirect to https). */
int client_variant_ctx(guise_client *cl, variant *v);
/* Makes the context for TLS to https:// proxies (plain hello, ALPN http/1.1,
 * the client's proxy trust settings, not the variant's) when the client has
 * none: cl->proxy_ctx. */
int client_variant_proxy_ctx(guise_client *cl, variant *v);
/* Fields never sent in HTTP/2 requests: Host (it becomes :authority) and the
 * connection-specific ones (RFC 9113 8.2.2). */
int h2_connection_specific(const char *name);
/* A request or a connection began / ended (the client is freed when it is
 * closing and nothing is left). */
void client_hold(guise_client *cl);
void client_release(guise_client *cl);
/* A request has ended (on_complete called). */
void client_request_done(guise_client *cl);

/* ---- pool.c ----------------------------------------------------------------------- */

/* Queues |rh| on the origin of (|u|, |v|, |proxy|) and gives it a connection as
 * soon as one is free (req_bind) or fails it (req_fail). 0, or GUISE_E_NOMEM
 * (nothing queued). |proxy_id| is the proxy URL as given (NULL: direct). */
int pool_submit(guise_client *cl, req_head *rh, const url *u, variant *v, const proxy_cfg *proxy,
                const char *proxy_id);

/* Puts a request back at the head of its origin's queue, for a new connection
 * (a stream the server did not process, a reused connection that died first). */
void pool_requeue(req_head *rh, int avoid_connection);

/* The request is done with its queue place or its connection. |reusable|: an
 * HTTP/1.1 response ended cleanly and the connection may carry the next one;
 * 0 closes it. For HTTP/2, call once the stream has closed. */
void pool_release(req_head *rh, int reusable);

/* Closes every connection and fails every queued request (client close). */
void pool_close_all(guise_client *cl);

/* Frees the origin table (all origins are gone). */
void pool_free(guise_client *cl);

/* ---- pooled connections, for request.c -------------------------------------------- */

int pconn_is_h2(const pconn *pc);
h2_conn *pconn_h2(pconn *pc);
/* Sends what the HTTP/2 session has queued; an error closes the connection
 * (every stream ends with it). Not from inside h2 callbacks of |pc|. */
void pconn_flush(pconn *pc);
/* Queues bytes on the connection (HTTP/1.1). 0 or GUISE_E_*. */
int pconn_write(pconn *pc, const uint8_t *p, size_t n);
/* Requests this connection carried to the end before the current one. */
unsigned pconn_served(const pconn *pc);
/* Requests ever given this connection, the current one included. */
unsigned pconn_bound(const pconn *pc);
/* What the caller reports about the connection. */
typedef struct pconn_info {
  const char *remote, *local, *alpn;
  const char *tls_version, *tls_cipher, *tls_group;
  double dns_ms, connect_ms, tls_ms; /* cumulative from the connection's start */
} pconn_info;
void pconn_get_info(pconn *pc, pconn_info *out);

/* ---- request.c, called by the pool ------------------------------------------------ */

/* A connection for the request: send it. */
void req_bind(req_head *rh, pconn *pc);
/* No connection could be made for it (DNS, connect, TLS, proxy, ...). */
void req_fail(req_head *rh, int err, const char *detail);
/* HTTP/1.1 bytes for the bound request. */
void req_h1_data(req_head *rh, const uint8_t *p, size_t n);
/* The HTTP/1.1 connection ended with the request bound (|err| 0 for a clean
 * close). The pool has already unbound it. */
void req_h1_eof(req_head *rh, int err, int reused, const char *detail);

#endif

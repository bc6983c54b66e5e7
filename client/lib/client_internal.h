/*
 * client_internal.h — what request.c needs of the guise_client it runs in,
 * through functions: struct guise_client is private to client.c. client.c owns
 * the options, the resolver, the TLS session cache, the cookie jar, the
 * variants (variant.h) and the pool (pool.h), and lives as long as a request
 * or a connection of its pool does. Included by client.c and request.c only;
 * the pool knows nothing of the client (it gets its pool_config).
 *
 *   guise_client_request (request.c) ──▶ client_* (client.c) ──▶ pool_new/close/free
 *                  └──────────────────────▶ pool_submit/requeue/release (pool.c)
 */
#ifndef GUISE_CLIENT_INTERNAL_H
#define GUISE_CLIENT_INTERNAL_H

#include <uv.h>

#include "cookie.h"
#include "decode.h"
#include "guise.h"
#include "pool.h"
#include "variant.h"

/* Memory of all a client's content decoders together: 256 MiB, room for eight
 * brotli streams at their largest window (30 MiB budget each) or 25 zstd ones. */
#define CLIENT_DEFAULT_DECODE_MEMORY (256ull << 20)
/* Variants (profile x ALPN x trust) kept per client; unused ones beyond it go. */
#define CLIENT_MAX_VARIANTS 64
/* TLS sessions kept per client for resumption. */
#define CLIENT_MAX_SESSIONS 4096

/* The client's options a request falls back to. */
typedef struct client_defaults {
  const char *profile, *proxy, *cafile; /* NULL: none */
  int insecure;
  unsigned connect_timeout_ms;          /* 0: the pool's default */
} client_defaults;

const client_defaults *client_defaults_of(const guise_client *cl);
uv_loop_t *client_loop(const guise_client *cl);
pool *client_pool(const guise_client *cl);
cookie_jar *client_jar(const guise_client *cl); /* NULL: no cookies */
/* Reports a refused Set-Cookie through the caller's on_cookie_warning, if any. */
int client_warns(const guise_client *cl);
void client_cookie_warning(const guise_client *cl, const char *msg);
decode_shared *client_decode_mem(guise_client *cl);
int client_closing(const guise_client *cl);
/* curl's --resolve for this client's resolver: 0 or GUISE_E_USAGE_INVALID_ARGUMENT. */
int client_add_resolve(guise_client *cl, const char *spec);
/* guise_request's own client: closed once its requests are over. */
void client_set_oneshot(guise_client *cl);

/* A request began: it holds the client until client_request_free. */
void client_request_begin(guise_client *cl);
/* The request has ended (on_complete called). */
void client_request_done(guise_client *cl);
/* The request's memory is gone (the client is freed when it is closing and
 * nothing is left). */
void client_request_free(guise_client *cl);

/* The variant for these settings, loaded on first use, with a reference for the
 * caller; |need_ctx|: make its TLS context now. 0 or GUISE_E_* (profile errors,
 * a bad cafile), with *out NULL. */
int client_variant(guise_client *cl, const char *prof_name, int http_version, int insecure,
                   const char *cafile, int need_ctx, variant **out);
void client_variant_put(guise_client *cl, variant *v);
/* Makes the TLS context of |v| when it has none (a redirect to https). */
int client_variant_ctx(guise_client *cl, variant *v);

/* The pool's seams (pool_config): NULL members keep the defaults. */
typedef struct client_seams {
  const pool_conn_ops *conn;
  const pool_resolver_ops *resolver_ops;
  void *resolver;
  pool_session_new_fn session_new;
  pool_h3_new_fn h3_new;
} client_seams;

/* guise_client_new with the pool's connections, resolver or sessions replaced:
 * the unit tests' fakes (tests/unit/pool). */
int client_new_with_seams(struct uv_loop_s *loop, const guise_client_options *o, const client_seams *seams,
                          guise_client **out);

/* The Alt-Svc cache (alt_svc.h): the HTTP/3 port to race for https://host:port
 * now (0: none), and a response's alt-svc value from that origin (a malformed
 * one is logged and ignored). */
unsigned client_alt_svc_lookup(guise_client *cl, const char *host, unsigned port);
void client_alt_svc_learn(guise_client *cl, const char *host, unsigned port, const char *value);

/* Fields never sent in HTTP/2 requests: Host (it becomes :authority) and the
 * connection-specific ones (RFC 9113 8.2.2). */
int h2_connection_specific(const char *name);

#endif

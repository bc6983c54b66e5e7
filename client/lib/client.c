/*
 * client.c — the guise_client object: options, the resolver, the TLS session
 * cache, the cookie jar, the variants (variant.h: a profile parsed once, with
 * its shapes and TLS context, shared by every request and connection that uses
 * it) and the connection pool (pool.h), made with a pool_config whose hooks
 * come back here. struct guise_client is private to this file; request.c uses
 * it through client_internal.h. Calls pool.c, dns.c, cookie.c, profile.c,
 * tls_client.c; called by request.c and the public API.
 *
 * Lifetime (refs.h): every request alive holds the client (counted), and after
 * guise_client_close the pool does until its last connection is gone; the
 * client is freed when it is closing and nothing holds it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>

#include "alt_svc.h"
#include "client_internal.h"
#include "filter_tcp.h"
#include "log.h"
#include "refs.h"
#include "session_h3.h"
#include "tls_client.h"

/* The largest timeouts taken (a day, as the command's --connect-timeout and
 * guise_batch_new), and the longest write coalescing (guise batch --coalesce-ms). */
#define CLIENT_MAX_TIMEOUT_MS 86400000u
#define CLIENT_MAX_COALESCE_MS 60000u

/* Named holders of a client. */
enum { CL_HOLD_POOL = 1u << 0 };

struct guise_client {
  uv_loop_t *loop;
  dns *dns;
  tls_session_cache *sessions;
  pool *pool;
  variant *variants;
  size_t n_variants;
  client_defaults defaults;       /* profile, proxy, cafile: strings owned here */
  /* https:// proxies: their own trust settings, and the TLS context made from
   * them with the first use */
  int proxy_insecure;
  char *proxy_cafile;
  SSL_CTX *proxy_ctx;
  cookie_jar *jar;                /* NULL: no cookies */
  decode_shared decode_mem;       /* the decoders of all its responses */
  glog log;                       /* the caller's log and on_cookie_warning (log.h) */
  tcp_local local;                /* interface, local ports, receive rate (pool_config.local) */
  int has_local;
  tls_client_cert *cert;          /* client certificate; NULL: none */
  /* curl's TLS options: without a profile applied, with one checked (client_variant) */
  int tls_min, tls_max;
  char *tls_ciphers, *tls_curves;
  /* HTTP/3: the Alt-Svc cache (alt_svc.h) and the QUIC TLS context of each
   * variant that made an HTTP/3 connection */
  alt_svc_cache *alt_svc;
  struct h3_ctx *h3_ctxs;
  /* lifetime */
  refs refs;                      /* requests alive (counted); the pool while closing */
  size_t active_reqs;             /* requests not yet completed */
  int closing;
  int oneshot;                    /* close once its requests are over */
};

static int proxy_ctx(guise_client *cl);
static int plain_lists_check(const char *ciphers, const char *curves);

void guise_client_options_init(guise_client_options *o) {
  memset(o, 0, sizeof(*o));
  o->size = sizeof(*o);
}

int h2_connection_specific(const char *name) {
  return !strcasecmp(name, "host") || !strcasecmp(name, "connection") || !strcasecmp(name, "keep-alive") ||
         !strcasecmp(name, "transfer-encoding") || !strcasecmp(name, "upgrade") ||
         !strcasecmp(name, "proxy-connection");
}

/* A variant's QUIC context (session_h3_ctx_new), made with its first HTTP/3
 * connection and freed with the variant. */
struct h3_ctx {
  struct h3_ctx *next;
  const variant *v;
  SSL_CTX *ctx;
};

static void h3_ctx_drop(guise_client *cl, const variant *v) {
  for (struct h3_ctx **pp = &cl->h3_ctxs; *pp;) {
    struct h3_ctx *h = *pp;
    if (v && h->v != v) {
      pp = &h->next;
      continue;
    }
    *pp = h->next;
    SSL_CTX_free(h->ctx);
    free(h);
  }
}

static void variant_free(variant *v) {
  SSL_CTX_free(v->ctx);
  free(v->prof);
  free(v->key);
  free(v->cafile);
  free(v->profile_arg);
  free(v);
}

static void client_free(guise_client *cl) {
  pool_free(cl->pool); /* its origins' variant references first */
  h3_ctx_drop(cl, NULL);
  alt_svc_cache_free(cl->alt_svc);
  for (variant *v = cl->variants, *next; v; v = next) {
    next = v->next;
    variant_free(v);
  }
  tls_session_cache_free(cl->sessions);
  cookie_jar_free(cl->jar);
  free((char *)cl->defaults.profile);
  free((char *)cl->defaults.proxy);
  free((char *)cl->defaults.cafile);
  SSL_CTX_free(cl->proxy_ctx);
  free(cl->proxy_cafile);
  tls_client_cert_free(cl->cert);
  free(cl->tls_ciphers);
  free(cl->tls_curves);
  free(cl);
}

const client_defaults *client_defaults_of(const guise_client *cl) { return &cl->defaults; }
uv_loop_t *client_loop(const guise_client *cl) { return cl->loop; }
pool *client_pool(const guise_client *cl) { return cl->pool; }
cookie_jar *client_jar(const guise_client *cl) { return cl->jar; }
int client_warns(const guise_client *cl) {
  return cl->log.cookie_warn != NULL || glog_on(&cl->log, GUISE_LOG_WARN);
}
void client_cookie_warning(const guise_client *cl, const char *msg) { glog_cookie(&cl->log, msg); }
const glog *client_log_sink(const guise_client *cl) { return &cl->log; }
decode_shared *client_decode_mem(guise_client *cl) { return &cl->decode_mem; }
int client_closing(const guise_client *cl) { return cl->closing; }
int client_add_resolve(guise_client *cl, const char *spec) { return dns_add_override(cl->dns, spec); }
void client_set_oneshot(guise_client *cl) { cl->oneshot = 1; }

void client_request_begin(guise_client *cl) {
  refs_add(&cl->refs);
  cl->active_reqs++;
}

void client_request_free(guise_client *cl) {
  if (refs_sub(&cl->refs) && cl->closing) client_free(cl);
}

void client_request_done(guise_client *cl) {
  cl->active_reqs--;
  if (cl->oneshot && cl->active_reqs == 0) guise_client_close(cl);
}

/* ---- the pool's hooks ---------------------------------------------------------------- */

static void pool_variant_ref(void *arg, variant *v, int take) {
  if (take) v->refs++;
  else client_variant_put(arg, v);
}

static int pool_proxy_ctx(void *arg, SSL_CTX **ctx, int *verify) {
  guise_client *cl = arg;
  int e = proxy_ctx(cl);
  *ctx = cl->proxy_ctx;
  *verify = !cl->proxy_insecure;
  return e;
}

static int pool_h3_ctx(void *arg, variant *v, SSL_CTX **ctx, const char **why) {
  guise_client *cl = arg;
  for (struct h3_ctx *h = cl->h3_ctxs; h; h = h->next)
    if (h->v == v) {
      *ctx = h->ctx;
      return 0;
    }
  struct h3_ctx *h = calloc(1, sizeof(*h));
  if (h == NULL) return GUISE_E_NOMEM;
  tls_client_config tc;
  memset(&tc, 0, sizeof(tc));
  tc.cafile = v->cafile;
  tc.insecure = v->insecure;
  tc.cert = cl->cert;
  int e = 0;
  h->ctx = session_h3_ctx_new(v->prof, &tc, &e, why);
  if (h->ctx == NULL) {
    free(h);
    return e ? e : GUISE_E_INTERNAL;
  }
  h->v = v;
  h->next = cl->h3_ctxs;
  cl->h3_ctxs = h;
  *ctx = h->ctx;
  return 0;
}

static void pool_h3_failed(void *arg, const char *host, unsigned port, const gerr *why) {
  guise_client *cl = arg;
  alt_svc_cache_broken(cl->alt_svc, host, port, uv_now(cl->loop));
  glog_printf(&cl->log, GUISE_LOG_INFO, "HTTP/3 to %s port %u failed (%s): not raced for %u s", host, port,
              why->text[0] ? why->text : guise_strerror(why->code), ALT_SVC_BROKEN_MS / 1000);
}

unsigned client_alt_svc_lookup(guise_client *cl, const char *host, unsigned port) {
  return alt_svc_cache_lookup(cl->alt_svc, host, port, uv_now(cl->loop));
}

void client_alt_svc_learn(guise_client *cl, const char *host, unsigned port, const char *value) {
  alt_svc_h3 h;
  const char *why;
  if (alt_svc_parse((const uint8_t *)value, strlen(value), host, &h, &why) != 0) {
    glog_printf(&cl->log, GUISE_LOG_WARN, "https://%s:%u: %s: ignored", host, port, why);
    return;
  }
  alt_svc_cache_learn(cl->alt_svc, host, port, &h, uv_now(cl->loop));
}

static void pool_closed(void *arg) {
  guise_client *cl = arg;
  if (refs_drop(&cl->refs, CL_HOLD_POOL)) client_free(cl);
}

static int dup_opt(char **dst, const char *s) {
  *dst = NULL;
  return s && (*dst = strdup(s)) == NULL ? GUISE_E_NOMEM : 0;
}

/* A cookie file's warnings name it: "FILE:LINE". */
typedef struct file_warn_ctx {
  guise_client *cl;
  const char *path;
} file_warn_ctx;

static void file_warning(void *arg, size_t line, const char *why) {
  const file_warn_ctx *w = arg;
  if (!client_warns(w->cl)) return;
  char msg[4400];
  snprintf(msg, sizeof(msg), "cookie file %s:%zu skipped: %s", w->path, line, why);
  glog_cookie(&w->cl->log, msg);
}

static void variant_incoherent(void *arg, const char *msg) {
  GLOG(&((const guise_client *)arg)->log, GUISE_LOG_WARN, "%s", msg);
}

/* Reads a Netscape cookie file into the jar, at most 64 MiB. */
static int load_cookies(guise_client *cl, const char *path) {
  if (path == NULL) return 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return errno == ENOENT ? 0 : GUISE_E_USAGE_FILE; /* curl: a missing file is no cookies */
  size_t cap = 64u << 20, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    fclose(f);
    return GUISE_E_NOMEM;
  }
  len = fread(buf, 1, cap, f);
  int too_big = len == cap && fgetc(f) != EOF;
  fclose(f);
  file_warn_ctx w = {cl, path};
  if (!too_big) cookie_jar_load_netscape(cl->jar, buf, len, (int64_t)time(NULL), file_warning, &w);
  free(buf);
  return too_big ? GUISE_E_USAGE_FILE : 0;
}

int guise_client_new(struct uv_loop_s *loop, const guise_client_options *in, guise_client **out) {
  return client_new_with_seams(loop, in, NULL, out);
}

int client_new_with_seams(struct uv_loop_s *loop, const guise_client_options *in, const client_seams *seams,
                          guise_client **out) {
  if (loop == NULL || out == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  guise_client_options o;
  guise_client_options_init(&o);
  if (in) memcpy(&o, in, in->size < sizeof(o) ? in->size : sizeof(o));
  *out = NULL;
  /* Times are milliseconds, so no NaN can come here; but a timeout of weeks or a
   * write held for minutes is a caller's mistake (a seconds value taken for
   * milliseconds), refused like the command's and guise_batch_new's limits. */
  if (o.connect_timeout_ms > CLIENT_MAX_TIMEOUT_MS || o.idle_timeout_ms > CLIENT_MAX_TIMEOUT_MS ||
      o.h2_coalesce_ms > CLIENT_MAX_COALESCE_MS)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (o.ip_version != 0 && o.ip_version != 4 && o.ip_version != 6) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if ((o.tls_min_version && (o.tls_min_version < 0x0301 || o.tls_min_version > 0x0304)) ||
      (o.tls_max_version && (o.tls_max_version < 0x0301 || o.tls_max_version > 0x0304)) ||
      (o.tls_min_version && o.tls_max_version && o.tls_max_version < o.tls_min_version) ||
      ((o.tls_ciphers || o.tls_curves) && plain_lists_check(o.tls_ciphers, o.tls_curves) != 0))
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (o.proxy && *o.proxy) {
    proxy_cfg check;
    int e = proxy_parse(o.proxy, &check);
    if (e) return e;
  }
  guise_client *cl = calloc(1, sizeof(*cl));
  if (cl == NULL) return GUISE_E_NOMEM;
  cl->loop = (uv_loop_t *)loop;
  char *prof_s = NULL, *proxy_s = NULL, *cafile_s = NULL;
  int e = dup_opt(&prof_s, o.profile);
  if (!e) e = dup_opt(&proxy_s, o.proxy && *o.proxy ? o.proxy : NULL);
  if (!e) e = dup_opt(&cafile_s, o.cafile);
  cl->defaults.profile = prof_s;
  cl->defaults.proxy = proxy_s;
  cl->defaults.cafile = cafile_s;
  if (!e) e = dup_opt(&cl->proxy_cafile, o.proxy_cafile);
  cl->proxy_insecure = o.proxy_insecure;
  /* A proxy CA file is read now: a bad one is the caller's mistake, not a
   * failure of the first request through the proxy. */
  if (!e && o.proxy_cafile && !o.proxy_insecure) e = proxy_ctx(cl);
  if (!e && (cl->sessions = tls_session_cache_new(CLIENT_MAX_SESSIONS)) == NULL) e = GUISE_E_NOMEM;
  if (!e) e = dns_new(cl->loop, &cl->dns);
  for (size_t i = 0; !e && i < o.n_resolve; i++) e = dns_add_override(cl->dns, o.resolve[i]);
  if (!e && o.dns_servers) e = dns_set_servers(cl->dns, o.dns_servers);
  if (!e && o.ip_version) dns_set_family(cl->dns, o.ip_version == 4 ? AF_INET : AF_INET6);
  if (!e && o.client_cert) {
    char why[256];
    e = tls_client_cert_load(o.client_cert, o.client_key, o.client_key_password, &cl->cert, why, sizeof(why));
  }
  cl->tls_min = o.tls_min_version;
  cl->tls_max = o.tls_max_version;
  if (!e) e = dup_opt(&cl->tls_ciphers, o.tls_ciphers);
  if (!e) e = dup_opt(&cl->tls_curves, o.tls_curves);
  if (!e && ((o.interface && *o.interface) || o.local_port_min || o.local_port_max || o.max_recv_rate)) {
    e = tcp_local_init(&cl->local, o.interface, o.local_port_min, o.local_port_max, o.max_recv_rate);
    cl->has_local = !e;
  }
  cl->defaults.insecure = o.insecure;
  cl->defaults.connect_timeout_ms = o.connect_timeout_ms;
  cl->decode_mem.limit = (size_t)(o.max_decode_memory ? o.max_decode_memory : CLIENT_DEFAULT_DECODE_MEMORY);
  glog_init(&cl->log, &o);
  if (!e && (o.cookies || o.cookie_file)) {
    cl->jar = cookie_jar_new();
    e = cl->jar ? load_cookies(cl, o.cookie_file) : GUISE_E_NOMEM;
  }
  if (!e) {
    pool_config pc = {.loop = cl->loop,
                      .connect_timeout_ms = o.connect_timeout_ms,
                      .per_origin = o.max_connections_per_origin ? o.max_connections_per_origin
                                                                 : POOL_DEFAULT_PER_ORIGIN,
                      .streams = o.max_streams_per_connection ? o.max_streams_per_connection
                                                              : POOL_DEFAULT_STREAMS,
                      .idle_ms = o.idle_timeout_ms ? o.idle_timeout_ms : POOL_DEFAULT_IDLE_MS,
                      .h2_coalesce_ms = o.h2_coalesce_ms,
                      .no_reuse = o.no_reuse,
                      .sessions = cl->sessions,
                      .resolver = cl->dns,
                      .arg = cl,
                      .variant_ref = pool_variant_ref,
                      .proxy_ctx = pool_proxy_ctx,
                      .on_closed = pool_closed,
                      .local = cl->has_local ? &cl->local : NULL,
                      .h3_ctx = pool_h3_ctx,
                      .h3_failed = pool_h3_failed};
    if ((cl->alt_svc = alt_svc_cache_new()) == NULL) e = GUISE_E_NOMEM;
    if (seams) {
      pc.conn = seams->conn;
      pc.session_new = seams->session_new;
      pc.h3_new = seams->h3_new;
      if (seams->resolver_ops) {
        pc.resolver_ops = seams->resolver_ops;
        pc.resolver = seams->resolver;
      }
    }
    if (!e && (cl->pool = pool_new(&pc)) == NULL) e = GUISE_E_NOMEM;
  }
  if (e) {
    if (cl->dns) dns_free(cl->dns);
    client_free(cl);
    return e;
  }
  *out = cl;
  return 0;
}

int guise_client_save_cookies(guise_client *cl, const char *path) {
  if (cl == NULL || cl->jar == NULL || path == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  return cookie_jar_save_netscape(cl->jar, path, (int64_t)time(NULL)) == 0 ? 0 : GUISE_E_USAGE_FILE;
}

void guise_client_close(guise_client *cl) {
  if (cl == NULL || cl->closing) return;
  cl->closing = 1;
  if (!pool_close(cl->pool)) refs_take(&cl->refs, CL_HOLD_POOL); /* until pool_closed */
  if (cl->dns) dns_free(cl->dns); /* queries still out end with GUISE_E_CANCELLED */
  cl->dns = NULL;
  if (refs_none(&cl->refs)) client_free(cl);
}

/* Drops variants nobody uses once there are too many. */
static void trim_variants(guise_client *cl) {
  for (variant **pp = &cl->variants; *pp && cl->n_variants > CLIENT_MAX_VARIANTS;) {
    variant *v = *pp;
    if (v->refs > 0) {
      pp = &v->next;
      continue;
    }
    *pp = v->next;
    cl->n_variants--;
    h3_ctx_drop(cl, v);
    variant_free(v);
  }
}

void client_variant_put(guise_client *cl, variant *v) {
  if (v == NULL) return;
  v->refs--;
  trim_variants(cl);
}

/* A TLS context for |shape| with the variant's trust settings and the
 * client's certificate, into *out; without a profile, curl's TLS options too. */
static int new_ctx(const guise_client *cl, const variant *v, const tls_shape *shape, SSL_CTX **out) {
  tls_client_config tc;
  memset(&tc, 0, sizeof(tc));
  tc.shape = shape;
  tc.cafile = v->cafile;
  tc.insecure = v->insecure;
  tc.cert = cl->cert;
  if (v->prof == NULL) {
    tc.min_version = cl->tls_min;
    tc.max_version = cl->tls_max;
    tc.ciphers = cl->tls_ciphers;
    tc.curves = cl->tls_curves;
  }
  const char *why;
  int e = 0;
  *out = tls_client_ctx_new(&tc, &e, &why);
  return *out ? 0 : e ? e : GUISE_E_INTERNAL;
}

static int make_ctx(const guise_client *cl, variant *v) { return new_ctx(cl, v, &v->tls, &v->ctx); }

/* The lowest and highest version of |t|'s supported_versions, GREASE left out
 * (RFC 8701: 0x?A?A); none listed: BoringSSL's default, TLS 1.2 to 1.3. */
static void shape_range(const tls_shape *t, int *lo, int *hi) {
  *lo = *hi = 0;
  for (size_t i = 0; i < t->n_versions; i++) {
    int v = t->versions[i];
    if ((v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)) continue;
    if (*lo == 0 || v < *lo) *lo = v;
    if (v > *hi) *hi = v;
  }
  if (*lo == 0) {
    *lo = 0x0303;
    *hi = 0x0304;
  }
}

/* Whether the client's TLS options leave the profile's hello as it is. */
static int profile_agrees(const guise_client *cl, const tls_shape *t) {
  int lo, hi;
  shape_range(t, &lo, &hi);
  return !cl->tls_ciphers && !cl->tls_curves && (!cl->tls_min || cl->tls_min <= lo) &&
         (!cl->tls_max || cl->tls_max >= hi);
}

/* TLS 1.2 suites and groups the library takes, checked once on a scratch context. */
static int plain_lists_check(const char *ciphers, const char *curves) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  int ok = ctx && (!ciphers || SSL_CTX_set_strict_cipher_list(ctx, ciphers)) &&
           (!curves || SSL_CTX_set1_curves_list(ctx, curves));
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return ok ? 0 : -1;
}

int guise_profile_tls_range(const char *name_or_file, int *lowest, int *highest) {
  if (name_or_file == NULL || lowest == NULL || highest == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  profile *p = malloc(sizeof(*p));
  char perr[512];
  int e = p ? profile_resolve(name_or_file, p, perr, sizeof(perr)) : GUISE_E_NOMEM;
  if (!e) shape_range(&p->tls, lowest, highest);
  free(p);
  return e;
}

int guise_tls_lists_check(const char *ciphers, const char *curves, char *why, size_t cap) {
  char scratch[8];
  if (why == NULL || cap == 0) {
    why = scratch;
    cap = sizeof(scratch);
  }
  why[0] = '\0';
  if (ciphers && plain_lists_check(ciphers, NULL) != 0) {
    snprintf(why, cap, "--ciphers %.80s: a suite the TLS library does not know (OpenSSL's names, ':' between)",
             ciphers);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  if (curves && plain_lists_check(NULL, curves) != 0) {
    snprintf(why, cap, "--curves %.80s: a group the TLS library does not know (X25519, P-256, P-384, ...)", curves);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  return 0;
}

int guise_client_cert_check(const char *cert_file, const char *key_file, const char *password, char *why,
                            size_t cap) {
  char scratch[8];
  if (why == NULL || cap == 0) {
    why = scratch;
    cap = sizeof(scratch);
  }
  why[0] = '\0';
  if (cert_file == NULL) {
    snprintf(why, cap, "no certificate file");
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  tls_client_cert *c = NULL;
  int e = tls_client_cert_load(cert_file, key_file, password, &c, why, cap);
  tls_client_cert_free(c);
  return e;
}

/* TLS to an https:// proxy is the client's, whatever the request's variant:
 * the proxy's trust (proxy_insecure, proxy_cafile: curl's --proxy-insecure and
 * --proxy-cacert) is not the origin's, so that -k for a test origin never sends
 * Proxy-Authorization to an unchecked proxy. Made with the first use (or by
 * guise_client_new when a proxy CA file is given): plain hello, ALPN http/1.1. */
static int proxy_ctx(guise_client *cl) {
  if (cl->proxy_ctx) return 0;
  tls_shape plain;
  tls_shape_init(&plain);
  snprintf(plain.alpn[plain.n_alpn++], TLS_SHAPE_MAX_PROTO, "http/1.1");
  tls_client_config tc;
  memset(&tc, 0, sizeof(tc));
  tc.shape = &plain;
  tc.cafile = cl->proxy_cafile;
  tc.insecure = cl->proxy_insecure;
  const char *why;
  int e = 0;
  cl->proxy_ctx = tls_client_ctx_new(&tc, &e, &why);
  return cl->proxy_ctx ? 0 : e ? e : GUISE_E_INTERNAL;
}

int client_variant_ctx(guise_client *cl, variant *v) { return v->ctx ? 0 : make_ctx(cl, v); }

int client_variant(guise_client *cl, const char *prof_name, int http_version, int insecure,
                   const char *cafile, int need_ctx, variant **out) {
  *out = NULL;
  if (prof_name && strcmp(prof_name, "none") == 0) prof_name = NULL;
  variant *v = cl->variants;
  while (v && !(v->http_version == http_version && v->insecure == (insecure ? 1 : 0) &&
                strcmp(v->profile_arg, prof_name ? prof_name : "") == 0 &&
                strcmp(v->cafile ? v->cafile : "", cafile ? cafile : "") == 0))
    v = v->next;
  if (v == NULL) {
    char *key = NULL;
    if (asprintf(&key, "%s|%d|%d|%s", prof_name ? prof_name : "", http_version, insecure ? 1 : 0,
                 cafile ? cafile : "") < 0)
      return GUISE_E_NOMEM;
    v = calloc(1, sizeof(*v));
    if (v == NULL || (cafile && (v->cafile = strdup(cafile)) == NULL) ||
        (v->profile_arg = strdup(prof_name ? prof_name : "")) == NULL) {
      if (v) {
        free(v->cafile);
        free(v->profile_arg);
      }
      free(v);
      free(key);
      return GUISE_E_NOMEM;
    }
    v->key = key;
    v->http_version = http_version;
    v->insecure = insecure ? 1 : 0;
    v->name = "";
    h2_shape_init(&v->h2);
    tls_shape_init(&v->tls);
    if (prof_name) {
      char perr[512];
      v->prof = malloc(sizeof(*v->prof));
      int e = v->prof ? profile_resolve(prof_name, v->prof, perr, sizeof(perr)) : GUISE_E_NOMEM;
      if (e) {
        /* guise_profile_check_syntax() gives the message. */
        free(v->prof);
        free(v->cafile);
        free(v->profile_arg);
        free(v->key);
        free(v);
        return e;
      }
      /* A profile whose user-agent, client hints and shapes disagree still loads;
       * the log says what disagrees (profiles/FORMAT.md, Coherence). */
      profile_coherence(v->prof, variant_incoherent, cl);
      if (!profile_agrees(cl, &v->prof->tls)) {
        /* A browser's hello is fixed: curl's TLS options only where it agrees. */
        free(v->prof);
        free(v->cafile);
        free(v->profile_arg);
        free(v->key);
        free(v);
        return GUISE_E_USAGE_INVALID_ARGUMENT;
      }
      v->name = v->prof->name;
      v->tls = v->prof->tls;
      v->h2 = v->prof->h2;
      for (size_t i = 0; i < v->prof->n_nav_h2; i++) {
        const profile_header *ph = &v->prof->nav_h2[i];
        if (h2_connection_specific(ph->name)) continue;
        v->h2_nav[v->n_h2_nav++] = (h2_header){ph->name, strlen(ph->name), ph->value, strlen(ph->value)};
      }
      v->h2_nav_ok = h2_headers_check(v->h2_nav, v->n_h2_nav) == 0;
    }
    /* --http1.1 / --http2 narrow ALPN, as curl-impersonate does with a profile;
     * without a profile, ALPN is h2 then http/1.1, like curl. */
    /* HTTP/3 (3, 4): the TCP connections of the race keep the profile's ALPN. */
    if (!prof_name || (http_version != 0 && http_version != GUISE_HTTP_3 && http_version != GUISE_HTTP_3_ONLY)) {
      v->tls.n_alpn = 0;
      if (http_version != 1) snprintf(v->tls.alpn[v->tls.n_alpn++], TLS_SHAPE_MAX_PROTO, "h2");
      if (http_version != 2) snprintf(v->tls.alpn[v->tls.n_alpn++], TLS_SHAPE_MAX_PROTO, "http/1.1");
    }
    v->next = cl->variants;
    cl->variants = v;
    cl->n_variants++;
  }
  if (need_ctx && v->ctx == NULL) {
    int e = make_ctx(cl, v);
    if (e) {
      trim_variants(cl);
      return e;
    }
  }
  v->refs++;
  trim_variants(cl);
  *out = v;
  return 0;
}

/*
 * request.c — one request: its header fields built for the protocol of the
 * connection the pool gives it (HTTP/2: lowercase, no connection-specific
 * fields; HTTP/1.1: as written, Host first), submitted as a stream to that
 * connection's session (session.h), the response from the stream's callbacks,
 * content decoding (decode.c), and the caller's callbacks. A loop module.
 *
 * Retries, one path, without the caller seeing them: a stream the session
 * closes as not processed by the server (|retryable|: HTTP/2 REFUSED_STREAM or
 * above GOAWAY's last stream id, RFC 9113 8.1.4; a reused HTTP/1.1 connection
 * that closed before any byte of the response, the server having timed it out
 * as the request went) goes once more on another connection, as browsers do —
 * once per protocol, as before the session seam.
 *
 * Errors: one gerr per request, set where the failure is seen (first wins); its
 * text is guise_response_info.error_detail.
 *
 * Also here: redirects (follow), the cookie jar's fields and Set-Cookie, Basic
 * credentials from the URL. Calls the pool (pool.h) and the client
 * (client_internal.h); the pool calls back only through the request's
 * pool_waiter ops; called by the public API (guise_client_request, guise_request,
 * guise_fetch).
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpsl.h>
#include <openssl/base64.h>
#include <pthread.h>
#include <uv.h>

#include "cookie.h"
#include "decode.h"
#include "guise.h"
#include "gerr.h"
#include "h1_response.h"
#include "h2.h"
#include "client_internal.h"
#include "pool.h"
#include "profile.h"
#include "proxy.h"
#include "refs.h"
#include "session.h"
#include "url.h"

/* Request headers kept: as many as the HTTP/1.1 writer accepts (Apache's 100). */
#define REQ_MAX_HEADERS H1_MAX_HEADERS
/* New connections tried for a request the server did not process, per protocol
 * (HTTP/1.1, HTTP/2). Browsers retry once; so does guise. */
#define REQ_MAX_RETRIES 1
/* Response fields handed to on_headers: the HTTP/2 layer's cap per block. */
#define REQ_MAX_RESPONSE_FIELDS (H2_DEFAULT_MAX_HEADER_FIELDS > H1_MAX_HEADERS ? H2_DEFAULT_MAX_HEADER_FIELDS : H1_MAX_HEADERS)
/* The default decoded-body cap: large downloads are for -o, not for bombs. */
#define REQ_DEFAULT_MAX_BODY (1ull << 30)
/* Redirects followed by default: Chrome's limit (net/url_request/
 * url_request.cc, kMaxRedirects = 20). */
#define REQ_DEFAULT_MAX_REDIRECTS 20
/* Hops remembered for the report (the limit itself can be higher). */
#define REQ_MAX_HOPS 64
#define REQ_MAX_TIMEOUT_MS 86400000u /* max_time_ms, connect_timeout_ms: a day, as guise_client_new */

/* Named holders of a request's memory. */
enum { REQ_HOLD_TIMER = 1u << 0, REQ_HOLD_STREAM = 1u << 1 };

typedef struct req {
  pool_waiter w;             /* its place in the pool */
  guise_client *cl;
  guise_callbacks cb;
  void *ud;
  guise_request_options o;
  char *arena;               /* copies of every string of |o| */
  guise_header *headers;      /* the caller's, strings in |arena|: after the struct, in its block */
  size_t n_headers;
  uint8_t *body;
  variant *v;
  proxy_cfg *proxy;          /* in the block after the struct, or NULL: direct */
  const char *proxy_id;      /* the proxy URL as given (in |arena|) */
  uv_timer_t timer;          /* max_time */
  int clock_started;         /* max_time_from_connection: the timer runs */
  refs refs;                 /* the timer; the stream while open */
  int done;
  int retries[2];            /* unprocessed streams sent again: HTTP/1.1, HTTP/2 or 3 */
  uint64_t t0;
  int head_seen;
  /* redirects */
  char *location;            /* the Location of a redirect being followed */
  char *cookie;              /* the Cookie value from the jar for the current request */
  int redirect_status;
  const char *url;           /* the URL as given, password hidden (guise_url_redact; in |arena|) */
  char *cur_url;             /* after a redirect: the current URL (malloc'd href, password hidden); else NULL */
  char *auth;                /* "Basic ..." from the current URL's userinfo, or NULL */
  char **hop_url;             /* REQ_MAX_HOPS of each, made at the first redirect */
  int *hop_status;            /* (in hop_url's block) */
  size_t n_hops;
  /* the stream on the connection's session */
  session *sess;             /* while the stream is open */
  uint32_t stream;
  int stream_open;
  session_proto proto;       /* of the connection it was last given */
  session_body sbody;
  size_t body_off;           /* request body bytes the session has taken */
  /* a streamed body (guise_request_options.body_read) */
  int body_paused;           /* its read returned GUISE_BODY_PAUSE: guise_body_resume */
  int in_body_read;          /* inside body_read: a resume asks again at once */
  int body_resumed;          /* guise_body_resume was called inside it */
  int body_ended;            /* the source said its end (0) */
  int refused;               /* a GUISE_E_* code: ended before it was queued */
  int kind;                  /* profile_kind_id: the header set and priority sent */
  char origin[320];          /* an Origin the profile's place gets: the URL's origin */
  url *ref;                  /* the initiator (guise_request_options.referer), or NULL */
  int site;                  /* its worst relation to the URLs so far: SITE_* */
  char *referer;             /* the Referer sent to the current URL (from |ref|), or NULL */
  url *first;                /* without |ref|, once a redirect left it: the first URL, the
                                request's origin (Fetch); it is the block's own (url0) */
  int cross_origin;          /* a URL of the chain so far is not of the request's origin */
  int tainted;               /* a redirect-tainted origin (Fetch): Origin is "null" */
  int ref_level;             /* the Referer so far: 0 the page's URL, 1 its origin, 2 none */
  int origin_added;          /* place_body_fields added an Origin the list has no place for */
  char clen[24];             /* the Content-Length value sent over HTTP/2 */
  /* body */
  decode *dec;
  int status;
  guise_response_info info;
  gerr err;                  /* why it failed: the first error seen; text is error_detail */
  char remote[64], local[64], alpn[16];
  /* The current URL: the first one after the struct in the same block (url0),
   * each redirect's in a block of its own; both sized to the URL (url_dup). */
  url *u;
  url *u0;                   /* the first URL's place in the block, after |headers| */
} req;

static url *url0(req *r) { return r->u0; }

static double now_ms(const req *r) { return (double)(uv_hrtime() - r->t0) / 1e6; }

static void release(req *r, unsigned holder) {
  if (!refs_drop(&r->refs, holder)) return;
  guise_client *cl = r->cl;
  decode_free(r->dec);
  client_variant_put(cl, r->v);
  free(r->location);
  free(r->cookie);
  free(r->cur_url);
  free(r->ref);
  if (r->u != url0(r)) free(r->u); /* |first| is url0 or NULL */
  free(r->referer);
  free(r->auth);
  for (size_t i = 0; i < r->n_hops; i++) free(r->hop_url[i]);
  free(r->hop_url);
  free(r->arena);
  free(r->body);
  free(r);
  client_request_free(cl);
}

static void on_timer_closed(uv_handle_t *h) { release(h->data, REQ_HOLD_TIMER); }

/* Ends the request once: out of the pool, on_complete, then freed from the
 * loop. An open stream is cancelled (HTTP/2: reset; HTTP/1.1: the connection is
 * not used again); the request leaves the pool when the stream has closed.
 * |detail|: the words for |err| when none were set where it happened. */
static void finish(req *r, int err, const char *detail) {
  if (r->done) return;
  r->done = 1;
  if (detail && !r->err.text[0]) {
    gerr_clear(&r->err); /* a code alone was set: the words come with it */
    gerr_set(&r->err, err ? err : GUISE_E_INTERNAL, "client", 0, "%s", detail);
  }
  uv_timer_stop(&r->timer);
  pool_conn *pc = r->w.pc;
  if (pc && r->stream_open) {
    session_cancel(r->sess, r->stream); /* on_close follows, now or from the session's output */
    if (r->w.pc) pool_conn_flush(pc);   /* still bound: the RST_STREAM goes out */
  } else {
    pool_release(&r->w);
  }
  r->info.total_ms = now_ms(r);
  r->info.status = r->status;
  r->info.error_detail = r->err.text;
  r->info.effective_url = r->cur_url ? r->cur_url : r->url;
  r->info.n_redirects = r->n_hops;
  static const char *const no_urls[1];
  static const int no_statuses[1];
  r->info.redirect_urls = r->hop_url ? (const char *const *)r->hop_url : no_urls;
  r->info.redirect_statuses = r->hop_status ? r->hop_status : no_statuses;
  if (r->cb.on_complete) r->cb.on_complete(r->ud, err, &r->info);
  uv_close((uv_handle_t *)&r->timer, on_timer_closed);
  client_request_done(r->cl);
}

/* max_time_from_connection: no connection of the origin came free in time. */
static void on_queue_time(uv_timer_t *t) {
  req *r = t->data;
  finish(r, GUISE_E_TIMEOUT_CONNECT,
         "no connection within the connect timeout (none came free, or a new one was still being made)");
}

/* Refused by guise_client_request (r->refused, the reason in r->err). */
static void on_refused(uv_timer_t *t) {
  req *r = t->data;
  finish(r, r->refused, NULL);
}

static void on_max_time(uv_timer_t *t) {
  req *r = t->data;
  finish(r, r->head_seen ? GUISE_E_TIMEOUT_TOTAL : r->w.pc ? GUISE_E_TIMEOUT_RESPONSE : GUISE_E_TIMEOUT_TOTAL,
         "--max-time reached");
}

/* ---- body ------------------------------------------------------------------------- */

static int deliver(void *arg, const uint8_t *p, size_t n) {
  req *r = arg;
  r->info.body_bytes += n;
  uint64_t cap = r->o.max_body ? r->o.max_body : REQ_DEFAULT_MAX_BODY;
  if (r->info.body_bytes > cap) {
    gerr_set(&r->err, GUISE_E_HTTP_BODY_TOO_LARGE, "client", 0, "response body larger than %llu bytes",
             (unsigned long long)cap);
    return GUISE_E_HTTP_BODY_TOO_LARGE;
  }
  if (r->cb.on_body && r->cb.on_body(r->ud, p, n) != 0) return GUISE_E_CANCELLED;
  return 0;
}

static int body_bytes(req *r, const uint8_t *p, size_t n) {
  if (r->location) return 0; /* a redirect's body: read and dropped */
  r->info.wire_body_bytes += n;
  if (r->dec) {
    int e = decode_push(r->dec, p, n);
    if (e) gerr_set(&r->err, e, "decode", 0, "%s", decode_reason(r->dec));
    return e;
  }
  return deliver(r, p, n);
}

static int body_end(req *r) {
  if (r->location) return 0;
  if (r->dec) {
    int e = decode_finish(r->dec);
    if (e) gerr_set(&r->err, e, "decode", 0, "%s", decode_reason(r->dec));
    return e;
  }
  return 0;
}

/* strcasecmp(name, lit) == 0 for a lowercase |lit|, its first byte compared
 * inline first: most fields differ there, and this runs for every field of
 * every response (four scans of a head: 14 strcasecmp calls were ~580
 * instructions a response). */
static int name_is(const char *name, const char *lit) {
  return ((unsigned char)name[0] | 0x20) == (unsigned char)lit[0] && strcasecmp(name, lit) == 0;
}

/* The response head: the caller's callback, and a decoder for Content-Encoding. */
static int head(req *r, int status, const guise_header *h, size_t n) {
  r->status = status;
  r->head_seen = 1;
  r->info.ttfb_ms = now_ms(r);
  cookie_jar *jar = client_jar(r->cl);
  for (size_t i = 0; jar && i < n; i++) {
    if (!name_is(h[i].name, "set-cookie")) continue;
    const char *why;
    if (!cookie_jar_set(jar, url_host(r->u), url_target(r->u), r->u->scheme == URL_HTTPS, h[i].value,
                        strlen(h[i].value), (int64_t)time(NULL), &why) &&
        client_warns(r->cl)) {
      char msg[300];
      snprintf(msg, sizeof(msg), "Set-Cookie from %s ignored: %s", url_host(r->u), why);
      client_cookie_warning(r->cl, msg);
    }
  }
  if (r->o.follow_redirects && (status == 301 || status == 302 || status == 303 || status == 307 ||
                                status == 308)) {
    for (size_t i = 0; i < n; i++) {
      if (!name_is(h[i].name, "location")) continue;
      unsigned max = r->o.max_redirects ? r->o.max_redirects : REQ_DEFAULT_MAX_REDIRECTS;
      if (r->n_hops >= max) {
        gerr_set(&r->err, GUISE_E_HTTP_TOO_MANY_REDIRECTS, "client", 0, "more than %u redirects", max);
        return GUISE_E_HTTP_TOO_MANY_REDIRECTS;
      }
      r->location = strdup(h[i].value);
      if (r->location == NULL) return GUISE_E_NOMEM;
      r->redirect_status = status;
      return 0; /* the caller sees the last response only */
    }
  }
  for (size_t i = 0; i < n && !r->o.raw; i++) {
    if (!name_is(h[i].name, "content-encoding")) continue;
    decode_limits lim;
    decode_limits_init(&lim);
    uint64_t cap = r->o.max_body ? r->o.max_body : REQ_DEFAULT_MAX_BODY;
    if (cap < lim.max_output) lim.max_output = cap;
    lim.shared = client_decode_mem(r->cl);
    decode_span bad;
    int e = decode_new(&r->dec, h[i].value, strlen(h[i].value), &lim, deliver, r, &bad);
    if (e) {
      gerr_set(&r->err, e, "decode", 0, "Content-Encoding \"%s\" cannot be decoded", h[i].value);
      return e;
    }
    break;
  }
  if (r->cb.on_headers && r->cb.on_headers(r->ud, status, h, n) != 0) return GUISE_E_CANCELLED;
  return 0;
}

static void reset_attempt(req *r);
static int body_restart(req *r, int redirect);
static int set_h3(req *r);

/*
 * Basic credentials (RFC 7617) from the current URL's userinfo into r->auth, as
 * curl sends them: user and password percent-decoded (taken as written when a
 * '%' is not followed by two hex digits), "user:password" in base64. A URL with
 * an '@' but neither user nor ':' ("http://@host/") has none. The userinfo is
 * the URL's own: a redirect keeps it only with a reference that keeps the
 * authority (url_resolve), so credentials never go to another origin, and a
 * caller's Authorization wins (merge_headers). Returns 0 or GUISE_E_NOMEM.
 */
static int url_basic(req *r) {
  free(r->auth);
  r->auth = NULL;
  const url *u = r->u;
  if (!u->has_userinfo || (u->user.len == 0 && !u->has_password)) return 0;
  /* Decoded pieces are no longer than their encoded form. */
  size_t cap = (size_t)u->user.len + 1 + u->password.len + 1;
  uint8_t *plain = malloc(cap);
  if (plain == NULL) return GUISE_E_NOMEM;
  size_t ul = 0, pl = 0;
  if (url_userinfo(u, 0, 1, (char *)plain, cap, &ul) != 0) url_userinfo(u, 0, 0, (char *)plain, cap, &ul);
  plain[ul] = ':';
  char *pw = (char *)plain + ul + 1;
  if (url_userinfo(u, 1, 1, pw, cap - ul - 1, &pl) != 0) url_userinfo(u, 1, 0, pw, cap - ul - 1, &pl);
  size_t n = ul + 1 + pl, b64 = (n + 2) / 3 * 4;
  r->auth = malloc(6 + b64 + 1);
  if (r->auth != NULL) {
    memcpy(r->auth, "Basic ", 6);
    EVP_EncodeBlock((uint8_t *)r->auth + 6, plain, n);
  }
  OPENSSL_cleanse(plain, cap);
  free(plain);
  return r->auth ? 0 : GUISE_E_NOMEM;
}

static int same_origin(const url *a, const url *b) {
  return a->scheme == b->scheme && a->port == b->port && strcmp(url_host(a), url_host(b)) == 0;
}

/* Browser families, for where fields go and redirect rules (profile_family). */
enum { FAMILY_OTHER = 0, FAMILY_CHROMIUM = 1, FAMILY_GECKO = 2 };
static int profile_family(const profile *pf);
static int kind_is_cors(const req *r);

/* The response was a redirect, now read to its end: the request goes on to its
 * Location, out of this connection and into the pool again (maybe another
 * origin). Returns 0, or a GUISE_E_* code that ends the request. */
static int follow(req *r) {
  url parsed; /* url_resolve's room (URL_STORE); kept in a block sized to it */
  url_err ue;
  int e = url_resolve(r->u, r->location, strlen(r->location), &parsed, &ue);
  if (e) {
    char shown[URL_MAX_LEN + 4];
    gerr_set(&r->err, e, "client", 0, "redirect to \"%.80s\": %s",
             guise_url_redact(r->location, shown, sizeof(shown)),
             ue.reason ? ue.reason : "not a URL guise can follow");
    return e;
  }
  url *next = url_dup(&parsed, NULL, 0);
  if (next == NULL) return GUISE_E_NOMEM;
  char href[URL_MAX_LEN + 1];
  if (url_href(next, href, sizeof(href)) < 0 || r->n_hops >= REQ_MAX_HOPS) {
    free(next);
    return r->n_hops >= REQ_MAX_HOPS ? GUISE_E_HTTP_TOO_MANY_REDIRECTS : GUISE_E_USAGE_URL_MALFORMED;
  }
  if (r->hop_url == NULL) {
    r->hop_url = malloc(REQ_MAX_HOPS * (sizeof(char *) + sizeof(int)));
    if (r->hop_url == NULL) {
      free(next);
      return GUISE_E_NOMEM;
    }
    r->hop_status = (int *)(void *)(r->hop_url + REQ_MAX_HOPS);
  }
  char shown[URL_MAX_LEN + 4];
  char *href_copy = strdup(guise_url_redact(href, shown, sizeof(shown)));
  char *answered = r->cur_url ? r->cur_url : strdup(r->url);
  if (href_copy == NULL || answered == NULL) {
    free(href_copy);
    if (answered != r->cur_url) free(answered);
    free(next);
    return GUISE_E_NOMEM;
  }
  /* the hop: the URL that answered with a redirect, and its status */
  r->hop_url[r->n_hops] = answered;
  r->hop_status[r->n_hops] = r->redirect_status;
  r->n_hops++;
  r->cur_url = href_copy;
  /* RFC 9110 15.4: 301 and 302 may turn POST into GET (browsers do); 303 is a
   * GET (or HEAD) of the new resource; 307 and 308 repeat the request as it was. */
  int st = r->redirect_status;
  if ((st == 303 && strcmp(r->o.method, "HEAD") != 0) ||
      ((st == 301 || st == 302) && strcmp(r->o.method, "POST") == 0)) {
    r->o.method = "GET";
    r->o.has_body = 0;
    /* A form's POST answered by 301/302/303 goes on as a top-level GET: the
     * browser sends it as a navigation. */
    if (r->kind == PROFILE_KIND_NAVIGATE_POST) r->kind = PROFILE_KIND_NAVIGATE;
    r->o.body_len = 0;
    /* The body's fields go with it (Fetch, HTTP-redirect fetch: the
     * request-body-header names): -d's Content-Type is not sent on the GET. */
    size_t k = 0;
    for (size_t i = 0; i < r->n_headers; i++) {
      const char *nm = r->headers[i].name;
      if (!strcasecmp(nm, "content-type") || !strcasecmp(nm, "content-encoding") ||
          !strcasecmp(nm, "content-language") || !strcasecmp(nm, "content-location"))
        continue;
      r->headers[k++] = r->headers[i];
    }
    r->n_headers = k;
  }
  /* Credentials the caller gave are for the first origin only (curl's rule,
   * and what a browser does with its own); so is a caller's Host, which names
   * that origin (curl drops it too). */
  if (!same_origin(r->u, next)) {
    size_t k = 0;
    for (size_t i = 0; i < r->n_headers; i++) {
      const char *nm = r->headers[i].name;
      if (!strcasecmp(nm, "authorization") || !strcasecmp(nm, "cookie") ||
          !strcasecmp(nm, "proxy-authorization") || !strcasecmp(nm, "host"))
        continue;
      r->headers[k++] = r->headers[i];
    }
    r->n_headers = k;
  }
  /* Fetch, "redirect-tainted origin": a hop from a URL of another origin than
   * the request's to a URL of a third (or back) makes its Origin "null". */
  /* The request's origin (Fetch) is the first URL's: kept once the request
   * leaves it (before, |r->u| is the first URL; no copy per request). */
  if (r->ref == NULL && r->first == NULL) r->first = r->u; /* url0: stays where it is */
  const url *org = r->ref ? r->ref : r->first;
  if (org && !same_origin(r->u, next) && !same_origin(org, r->u)) r->tainted = 1;
  /* Chromium (net's redirect handling, for what is not a cors request) makes
   * it "null" at any redirect to another origin: a form POST from A sent on by
   * A to B reaches B with Origin null, where Firefox sends A as Fetch says
   * (tests/data/captures/redirects). */
  if (!same_origin(r->u, next) && profile_family(r->v->prof) == FAMILY_CHROMIUM && !kind_is_cors(r))
    r->tainted = 1;
  int https = next->scheme == URL_HTTPS;
  if (r->u != url0(r)) free(r->u); /* a hop's own block (|first| is url0) */
  r->u = next;
  if ((e = url_basic(r)) != 0) return e;
  free(r->location);
  r->location = NULL;
  r->head_seen = 0;
  r->status = 0;
  pool_release(&r->w);
  if ((e = body_restart(r, 1)) != 0) return e;
  reset_attempt(r);
  r->retries[0] = r->retries[1] = 0;
  if (https && r->v->ctx == NULL && (e = client_variant_ctx(r->cl, r->v)) != 0) return e;
  if ((e = set_h3(r)) != 0) return e;
  return pool_submit(client_pool(r->cl), &r->w, r->u, r->v, r->proxy, r->proxy_id);
}

/* HTTP/3 for the request's current URL (pool_waiter.h3): asked for
 * (GUISE_HTTP_3 raced, GUISE_HTTP_3_ONLY), or announced by the origin in an
 * Alt-Svc the client has (a request that leaves the version to the client,
 * with a profile that has an http3 section, as Chrome). 0, or
 * GUISE_E_USAGE_URL_SCHEME (curl's "unsupported protocol") with the reason in
 * r->err: HTTP/3 only, to an http:// URL or through a proxy. */
static int set_h3(req *r) {
  int ver = r->v->http_version, https = r->u->scheme == URL_HTTPS;
  r->w.h3 = POOL_H3_NO;
  r->w.h3_port = 0;
  /* Through a proxy only SOCKS5 carries UDP (UDP ASSOCIATE). */
  int proxy_ok = r->proxy == NULL || r->proxy->kind == PROXY_SOCKS5 || r->proxy->kind == PROXY_SOCKS5H;
  if (ver == GUISE_HTTP_3_ONLY) {
    if (!https || !proxy_ok) {
      gerr_set(&r->err, GUISE_E_USAGE_URL_SCHEME, "client", 0, "%s",
               !https ? "HTTP/3 only: HTTP/3 is for https:// URLs"
                      : "HTTP/3 only: an http://, https:// or SOCKS4 proxy carries no UDP (socks5:// and socks5h:// do)");
      return GUISE_E_USAGE_URL_SCHEME;
    }
    r->w.h3 = POOL_H3_ONLY;
    return 0;
  }
  if (!https || !proxy_ok) return 0; /* raced HTTP/3 falls back to TCP at once */
  if (ver == GUISE_HTTP_3) {
    r->w.h3 = POOL_H3_RACE;
  } else if (ver == 0 && r->proxy == NULL && r->v->prof && r->v->prof->h3.present) {
    unsigned port = client_alt_svc_lookup(r->cl, url_host(r->u), r->u->port);
    if (port) {
      r->w.h3 = POOL_H3_RACE;
      r->w.h3_port = (uint16_t)port;
    }
  }
  return 0;
}

/* The response ended (|err| 0) or failed: a redirect goes on, anything else
 * ends the request. */
static void complete(req *r, int err) {
  if (!err && r->location && !r->done) {
    err = follow(r);
    if (!err) return;
  }
  finish(r, err, NULL);
}

/* ---- the stream ---------------------------------------------------------------------- */

static int on_head(void *ud, session_head_kind kind, int status, const session_header *hs, size_t n) {
  req *r = ud;
  if (kind == SESSION_HEAD_TRAILERS || r->done) return 0; /* trailers: not the caller's */
  /* Names and values are NUL-terminated (session.h); as many as the HTTP/2
   * layer takes in a block. */
  guise_header list[REQ_MAX_RESPONSE_FIELDS];
  size_t m = n < REQ_MAX_RESPONSE_FIELDS ? n : REQ_MAX_RESPONSE_FIELDS;
  for (size_t i = 0; i < m; i++) {
    list[i].name = hs[i].name;
    list[i].value = hs[i].value;
  }
  /* Every hop's head, 1xx included, for on_response_head; the caller's
   * on_headers sees the final response of the last hop only. */
  if (r->o.on_response_head) {
    /* The HTTP/1.1 reason phrase as sent, cut at 127 bytes (NULL over HTTP/2). */
    char why[128];
    const char *reason = NULL;
    size_t rlen = 0;
    const uint8_t *rp = r->sess ? session_reason(r->sess, &rlen) : NULL;
    if (rp) {
      if (rlen >= sizeof(why)) rlen = sizeof(why) - 1;
      memcpy(why, rp, rlen);
      why[rlen] = '\0';
      reason = why;
    }
    if (r->o.on_response_head(r->ud, (unsigned)r->n_hops, status, list, m, (int)r->proto, reason) != 0)
      return GUISE_E_CANCELLED;
  }
  if (kind != SESSION_HEAD_FINAL) return 0; /* 1xx: not on_headers' */
  /* Alt-Svc of an https:// origin reached directly (RFC 7838 2.1: only from a
   * secure origin; through a proxy HTTP/3 is not used), into the client's cache. */
  if (r->u->scheme == URL_HTTPS && r->proxy == NULL)
    for (size_t i = 0; i < m; i++)
      if (name_is(list[i].name, "alt-svc")) client_alt_svc_learn(r->cl, url_host(r->u), r->u->port, list[i].value);
  return head(r, status, list, m);
}

static int on_data(void *ud, const uint8_t *p, size_t n) {
  req *r = ud;
  return r->done ? 0 : body_bytes(r, p, n);
}

static void reset_attempt(req *r) {
  decode_free(r->dec);
  r->dec = NULL;
  r->status = 0;
  r->info.wire_body_bytes = r->info.body_bytes = 0;
  r->body_off = 0;
  r->body_paused = r->body_ended = 0;
}

/* The request body goes again from its first byte (a 307/308, a retry): a
 * buffer always can; a streamed body that was read from only through its
 * rewind. 0, or GUISE_E_IO with the reason in r->err. */
static int body_restart(req *r, int redirect) {
  if (!r->o.has_body || r->o.body_read == NULL || (r->body_off == 0 && !r->body_ended)) return 0;
  if (r->o.body_rewind && r->o.body_rewind(r->o.body_ud) == 0) return 0;
  gerr_set(&r->err, GUISE_E_IO, "client", 0,
           "the request body must be sent again (%s) but its source %s",
           redirect ? "a 307/308 redirect keeps it" : "the server did not process the first attempt",
           r->o.body_rewind ? "failed to rewind" : "cannot rewind (a pipe or stdin)");
  return GUISE_E_IO;
}

/* The one retry path: a stream the server did not process goes again on
 * another connection, once per protocol. */
static void on_close(void *ud, const gerr *err, int retryable) {
  req *r = ud;
  r->stream_open = 0;
  r->sess = NULL;
  if (r->done) { /* cancelled by finish(): now it leaves the pool */
    pool_release(&r->w);
    release(r, REQ_HOLD_STREAM);
    return;
  }
  int *budget = &r->retries[r->proto != SESSION_H1];
  if (retryable && !r->head_seen && *budget < REQ_MAX_RETRIES) {
    (*budget)++;
    int be = body_restart(r, 0);
    if (be) {
      finish(r, be, NULL);
      release(r, REQ_HOLD_STREAM);
      return;
    }
    reset_attempt(r);
    pool_requeue(&r->w, 1);
    release(r, REQ_HOLD_STREAM);
    return;
  }
  int code = err->code;
  if (code) {
    gerr_copy(&r->err, err);
    finish(r, code, NULL);
  } else {
    complete(r, body_end(r));
  }
  release(r, REQ_HOLD_STREAM);
}

/* The headers to send: the profile's (in its order; Title-Case names for
 * HTTP/1.1 when it records only HTTP/2 names, as profiles/FORMAT.md says), the
 * caller's replacing the same name in place (an empty value removes it) or
 * appended. Returns the count written to |out|. */
/* The Cookie value the jar has for the current URL, kept in r->cookie (NULL: none). */
static void jar_cookie(req *r) {
  free(r->cookie);
  r->cookie = NULL;
  cookie_jar *jar = client_jar(r->cl);
  if (jar == NULL) return;
  char buf[COOKIE_MAX_SET_COOKIE * 2];
  size_t n = cookie_header(jar, url_host(r->u), url_target(r->u), r->u->scheme == URL_HTTPS,
                           (int64_t)time(NULL), buf, sizeof(buf));
  if (n) r->cookie = strdup(buf);
}

/* The initiator's relation to a URL, as Sec-Fetch-Site names it (Fetch
 * Metadata: the worst over the request's URL list). */
enum { SITE_SAME_ORIGIN = 1, SITE_SAME_SITE = 2, SITE_CROSS_SITE = 3 };
static const char *const site_names[] = {"none", "same-origin", "same-site", "cross-site"};

static const psl_ctx_t *site_psl;
static pthread_once_t site_psl_once = PTHREAD_ONCE_INIT;
static void site_psl_init(void) { site_psl = psl_latest(NULL); }

static int site_of(const url *a, const url *b) {
  if (same_origin(a, b)) return SITE_SAME_ORIGIN;
  if (a->scheme != b->scheme) return SITE_CROSS_SITE; /* schemeful same-site */
  const char *ha = url_host(a), *hb = url_host(b);
  if (strcmp(ha, hb) == 0) return SITE_SAME_SITE;
  pthread_once(&site_psl_once, site_psl_init);
  /* An IP address or a name with no registrable domain is its own site. */
  const char *ra = site_psl ? psl_registrable_domain(site_psl, ha) : NULL;
  const char *rb = site_psl ? psl_registrable_domain(site_psl, hb) : NULL;
  return ra && rb && strcmp(ra, rb) == 0 ? SITE_SAME_SITE : SITE_CROSS_SITE;
}

/* The Referer strict-origin-when-cross-origin sends from |r->ref| to the
 * current URL (Referrer Policy 3.x): the whole URL (no fragment, no
 * credentials) to its own origin, its origin and "/" elsewhere, nothing from
 * https to http. Kept in r->referer (NULL: none). */
static void ref_update(req *r) {
  /* Without an initiator, the page is taken to be of the first URL's origin
   * (the kinds' captured same-origin requests): a redirect elsewhere makes the
   * request cross-origin, and its Sec-Fetch-Site follows. */
  const url *org = r->ref ? r->ref : r->first ? r->first : r->u;
  if (org && !same_origin(org, r->u)) r->cross_origin = 1;
  int s = org ? site_of(org, r->u) : 0;
  if (s > r->site) r->site = s;
  free(r->referer);
  r->referer = NULL;
  if (r->ref == NULL) return;
  /* Each hop's referrer is the one computed for the hop before (Fetch, main
   * fetch: "set request's referrer to the result of determine request's
   * referrer"): once cut to the origin it stays so, back on the page's origin
   * too; once dropped it stays dropped. Debian chromium 156 and firefox-esr 153
   * send page, origin, origin over same-origin -> cross-site -> same-origin
   * (tests/data/captures/redirects). */
  if (r->ref_level < 2 && r->ref->scheme == URL_HTTPS && r->u->scheme != URL_HTTPS) r->ref_level = 2;
  if (r->ref_level == 0 && s != SITE_SAME_ORIGIN) r->ref_level = 1;
  if (r->ref_level == 2) return;
  const char *sch = url_scheme_name(r->ref), *auth = url_authority(r->ref);
  const char *path = r->ref_level == 0 ? url_target(r->ref) : "/";
  size_t need = strlen(sch) + 3 + strlen(auth) + strlen(path) + 1;
  r->referer = malloc(need);
  if (r->referer) snprintf(r->referer, need, "%s://%s%s", sch, auth, path);
}

/* The value of field |name| in |h| (any case), or "" */
static const char *field_value(const guise_header *h, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcasecmp(h[i].name, name)) return h[i].value;
  return "";
}

static size_t field_index(const guise_header *h, size_t n, const char *name) {
  size_t i = 0;
  while (i < n && strcasecmp(h[i].name, name) != 0) i++;
  return i;
}

static int safe_method(const req *r) { return !strcmp(r->o.method, "GET") || !strcmp(r->o.method, "HEAD"); }

/*
 * The Origin a browser sends (Fetch, "serializing a request origin" and
 * "append a request Origin header"): "null" when a redirect tainted it (a hop
 * from a URL of another origin than the request's to a third one), or, for a
 * request that is not a cors one and not GET/HEAD, from an https page to an
 * http URL (strict-origin-when-cross-origin); else the request's origin: the
 * initiator's (|ref|), without one the first URL's. |out|: the fields so far
 * (their sec-fetch-mode says cors or not).
 */
static const char *origin_value(req *r, const guise_header *out, size_t n) {
  const url *org = r->ref ? r->ref : r->first ? r->first : r->u;
  int cors = strcmp(field_value(out, n, "sec-fetch-mode"), "cors") == 0;
  if (r->tainted || (!cors && !safe_method(r) && org->scheme == URL_HTTPS && r->u->scheme != URL_HTTPS))
    return "null";
  int w = snprintf(r->origin, sizeof(r->origin), "%s://%s", url_scheme_name(org), url_authority(org));
  return w > 0 && (size_t)w < sizeof(r->origin) ? r->origin : "null";
}

/* Where a browser family puts the fields of a body and Origin (from the
 * headed captures, tests/data/captures/kinds: a form POST and a fetch() POST of
 * JSON, same-origin and cross-site, HTTP/2 and HTTP/1.1). Told by the
 * profile's own navigation user-agent (not a caller's). Other browsers (Safari,
 * OkHttp: no capture of a POST) keep guise's earlier placement. */
static int profile_family(const profile *pf) {
  if (pf == NULL) return FAMILY_OTHER;
  for (size_t i = 0; i < pf->n_nav_h2; i++) {
    if (strcasecmp(pf->nav_h2[i].name, "user-agent") != 0) continue;
    if (strstr(pf->nav_h2[i].value, "Firefox/")) return FAMILY_GECKO;
    if (strstr(pf->nav_h2[i].value, "Chrome/")) return FAMILY_CHROMIUM;
  }
  return FAMILY_OTHER;
}

/* Whether the request's kind is a cors one: its list's sec-fetch-mode. */
static int kind_is_cors(const req *r) {
  const profile *pf = r->v->prof;
  if (pf == NULL) return 0;
  const profile_kind *pk = r->kind != PROFILE_KIND_NAVIGATE ? &pf->kinds[r->kind] : NULL;
  const profile_header *l = pk ? pk->h2 : pf->nav_h2;
  size_t n = pk ? pk->n_h2 : pf->n_nav_h2;
  for (size_t i = 0; i < n; i++)
    if (!strcasecmp(l[i].name, "sec-fetch-mode")) return strcmp(l[i].value, "cors") == 0;
  return 0;
}

/* The request body's length when known before it is sent: 1 and |*len|. */
static int body_length_known(const req *r, uint64_t *len) {
  if (r->o.body_read) { /* a streamed body: its length, or -1 */
    if (r->o.body_length < 0) return 0;
    *len = (uint64_t)r->o.body_length;
    return 1;
  }
  if (!r->o.has_body) return 0;
  *len = r->o.body_len;
  return 1;
}

/* An HTTP/1.1 Content-Length place: session_h1.c writes the body's length there
 * (h1_request.h: a NULL value), or leaves it out for a body of unknown length. */
static const char content_length_place[] = "";

static size_t insert_at(guise_header *out, size_t n, size_t at, const char *name, const char *value) {
  if (at > n) at = n;
  memmove(&out[at + 1], &out[at], (n - at) * sizeof(out[0]));
  out[at].name = name;
  out[at].value = value;
  return n + 1;
}

/* Where Connection is (HTTP/1.1), or would be (HTTP/2, which has none: before the
 * field that follows it in the kind's HTTP/1.1 list); |n| when neither. */
static size_t connection_place(const req *r, int h1, const guise_header *out, size_t n) {
  const profile *pf = r->v->prof;
  if (h1) return field_index(out, n, "connection");
  if (pf == NULL) return n;
  const profile_kind *pk = r->kind != PROFILE_KIND_NAVIGATE ? &pf->kinds[r->kind] : NULL;
  const profile_header *l1 = pk ? pk->h1 : pf->nav_h1;
  size_t n1 = pk ? pk->n_h1 : pf->n_nav_h1;
  for (size_t i = 0; i + 1 < n1; i++)
    if (!strcasecmp(l1[i].name, "connection")) return field_index(out, n, l1[i + 1].name);
  return n;
}

/*
 * Content-Length, a Content-Type without a place in the kind's list, and an
 * Origin the list has no place for, where the profile's browser sends them:
 * - Chromium: Content-Length first (HTTP/1.1: after Host and Connection);
 *   Content-Type before sec-ch-ua-mobile; Origin before sec-fetch-site.
 * - Firefox: Content-Type, Content-Length, Origin together, before Connection
 *   (HTTP/2, which has no Connection: before the field that follows it in the
 *   kind's HTTP/1.1 list); Content-Length right after a Content-Type the list
 *   places.
 * - others: Content-Length last over HTTP/1.1, none over HTTP/2 (as before).
 * Origin is added (Fetch: a cors request once a URL of the chain is of another
 * origin, or any request but GET/HEAD) with a profile of the first two only,
 * unless the caller gave or removed one. |ct_placed|: the kind's list has a
 * Content-Type (a value or a place). Returns the new count (at most |cap|).
 */
static size_t place_body_fields(req *r, int h1, guise_header *out, size_t n, size_t cap, int ct_placed) {
  const profile *pf = r->v->prof;
  int fam = profile_family(pf);
  uint64_t len = 0;
  int with_len = body_length_known(r, &len);
  const char *cl_value = NULL;
  if (with_len) {
    snprintf(r->clen, sizeof(r->clen), "%llu", (unsigned long long)len);
    cl_value = h1 ? content_length_place : r->clen;
  }
  const char *cl_name = h1 ? "Content-Length" : "content-length";
  if (fam == FAMILY_OTHER) {
    if (with_len && h1 && n < cap) n = insert_at(out, n, n, cl_name, cl_value);
    return n;
  }
  int own_origin = 0;
  for (size_t i = 0; i < r->n_headers; i++) own_origin |= !strcasecmp(r->headers[i].name, "origin");
  int cors = strcmp(field_value(out, n, "sec-fetch-mode"), "cors") == 0;
  int want_origin = !own_origin && field_index(out, n, "origin") == n &&
                    ((cors && r->cross_origin) || !safe_method(r));
  r->origin_added = want_origin;
  /* A caller's Content-Type the list had no place for was appended: taken out
   * to go where the browser sends it. */
  guise_header ct = {NULL, NULL};
  size_t ci = field_index(out, n, "content-type");
  if (!ct_placed && ci < n) {
    ct = out[ci];
    memmove(&out[ci], &out[ci + 1], (n - ci - 1) * sizeof(out[0]));
    n--;
  }
  const char *origin_name = h1 ? "Origin" : "origin";
  if (fam == FAMILY_CHROMIUM) {
    if (ct.name && n < cap) n = insert_at(out, n, field_index(out, n, "sec-ch-ua-mobile"), ct.name, ct.value);
    if (want_origin && n < cap) {
      const char *v = origin_value(r, out, n);
      n = insert_at(out, n, field_index(out, n, "sec-fetch-site"), origin_name, v);
    }
    if (with_len && n < cap) {
      size_t at = 0;
      while (at < n && (!strcasecmp(out[at].name, "host") || !strcasecmp(out[at].name, "connection"))) at++;
      n = insert_at(out, n, at, cl_name, cl_value);
    }
    return n;
  }
  /* Firefox: the anchor is Connection's place. */
  size_t at = connection_place(r, h1, out, n);
  if (ct.name && n < cap) n = insert_at(out, n, at++, ct.name, ct.value);
  if (with_len && n < cap) {
    size_t c = field_index(out, n, "content-type");
    if (c < n) {
      n = insert_at(out, n, c + 1, cl_name, cl_value);
      if (c + 1 <= at) at++;
    } else {
      n = insert_at(out, n, at++, cl_name, cl_value);
    }
  }
  if (want_origin && n < cap) {
    size_t c = field_index(out, n, "content-length");
    const char *v = origin_value(r, out, n);
    n = insert_at(out, n, c < n && c + 1 > at ? c + 1 : at, origin_name, v);
  }
  return n;
}

/* Moves out[from] to just before out[to] (|to| as an index of the list before
 * the move; n: after the last). */
static void move_field(guise_header *out, size_t n, size_t from, size_t to) {
  if (from >= n || to > n || from == to || from + 1 == to) return;
  guise_header f = out[from];
  if (from < to) {
    memmove(&out[from], &out[from + 1], (to - from - 1) * sizeof(out[0]));
    out[to - 1] = f;
  } else {
    memmove(&out[to + 1], &out[to], (from - to) * sizeof(out[0]));
    out[to] = f;
  }
}

/*
 * A request after a redirect: the order the browsers send then, which is not
 * their first request's (headed Debian chromium 156 and firefox-esr 153 over
 * HTTP/1.1, tests/data/captures/redirects; applied over HTTP/2 too):
 * - Chromium: a navigation's sec-ch-ua, sec-ch-ua-mobile, sec-ch-ua-platform come
 *   right after sec-fetch-dest (they are added again for the new URL); an Origin
 *   added across origins (a cors request) comes right after sec-fetch-dest too.
 * - Firefox: the Referer goes right before Connection (HTTP/2: where Connection
 *   would be, connection_place), with an Origin: after an Origin added across
 *   origins, before one the first request had (a form's).
 */
static void redirect_order(req *r, int h1, guise_header *out, size_t n) {
  int fam = profile_family(r->v->prof);
  size_t o = field_index(out, n, "origin"), ref = field_index(out, n, "referer");
  if (fam == FAMILY_CHROMIUM) {
    if (strcmp(field_value(out, n, "sec-fetch-mode"), "navigate") == 0) {
      static const char *const hints[] = {"sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform"};
      const char *after = "sec-fetch-dest";
      for (size_t i = 0; i < 3; i++) {
        size_t h = field_index(out, n, hints[i]), d = field_index(out, n, after);
        if (h < n && d < n) {
          move_field(out, n, h, d + 1);
          after = hints[i];
        }
      }
    }
    if (r->origin_added && o < n) {
      size_t d = field_index(out, n, "sec-fetch-dest");
      if (d < n) move_field(out, n, o, d + 1);
    }
  } else if (fam == FAMILY_GECKO && ref < n) {
    guise_header rf = out[ref];
    memmove(&out[ref], &out[ref + 1], (n - ref - 1) * sizeof(out[0]));
    size_t m = n - 1;
    size_t at = connection_place(r, h1, out, m);
    size_t oi = field_index(out, m, "origin");
    if (oi < m && oi + 1 == at && !r->origin_added) at = oi; /* a form's Origin stays last */
    memmove(&out[at + 1], &out[at], (m - at) * sizeof(out[0]));
    out[at] = rf;
    if (r->origin_added && oi < m) { /* an added Origin: right before the Referer */
      size_t o2 = field_index(out, n, "origin"), r2 = field_index(out, n, "referer");
      if (o2 + 1 != r2) move_field(out, n, o2, r2);
    }
  }
}

static size_t merge_headers(req *r, int h1, guise_header *out, char (*names)[PROFILE_MAX_NAME],
                            size_t cap) {
  size_t n = 0;
  int ct_placed = 0;
  ref_update(r);
  if (r->v->prof) {
    const profile *pf = r->v->prof;
    const profile_kind *pk = r->kind != PROFILE_KIND_NAVIGATE ? &pf->kinds[r->kind] : NULL;
    int have_h1 = pk ? pk->n_h1 > 0 : pf->n_nav_h1 > 0;
    const profile_header *base = pk ? (h1 && have_h1 ? pk->h1 : pk->h2)
                                    : (h1 && have_h1 ? pf->nav_h1 : pf->nav_h2);
    size_t nb = pk ? (h1 && have_h1 ? pk->n_h1 : pk->n_h2) : (h1 && have_h1 ? pf->n_nav_h1 : pf->n_nav_h2);
    /* An HTTP/3 navigation: the fields of http3.navigate_header_order in its
     * order, each with its HTTP/2 navigation value, alt-used the authority;
     * the others not sent (Firefox 153 sends no te and adds alt-used over
     * HTTP/3; docs/HTTP3.md). */
    const profile_http3 *h3 = !pk && !h1 && r->proto == SESSION_H3 && pf->h3.n_nav_order ? &pf->h3 : NULL;
    for (size_t i = 0; h3 && i < h3->n_nav_order && n < cap; i++) {
      const char *v = strcmp(h3->nav_order[i], "alt-used") == 0 ? url_authority(r->u) : NULL;
      for (size_t k = 0; v == NULL && k < nb; k++)
        if (!strcasecmp(base[k].name, h3->nav_order[i])) v = base[k].value;
      if (v == NULL || h3->nav_order[i][0] == ':') continue;
      memcpy(names[n], h3->nav_order[i], PROFILE_MAX_NAME);
      out[n].name = names[n];
      out[n].value = v;
      n++;
    }
    if (h3) nb = 0;
    for (size_t i = 0; i < nb && n < cap; i++) {
      memcpy(names[n], base[i].name, PROFILE_MAX_NAME); /* NUL-terminated, same size */
      if (h1 && !have_h1)
        for (char *c = names[n]; *c; c++)
          if ((c == names[n] || c[-1] == '-') && *c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
      out[n].name = names[n];
      out[n].value = base[i].value;
      ct_placed |= !strcasecmp(base[i].name, "content-type");
      n++;
    }
  }
  for (size_t i = 0; i < r->n_headers; i++) {
    size_t k = 0;
    while (k < n && strcasecmp(out[k].name, r->headers[i].name) != 0) k++;
    if (k < n) {
      if (r->headers[i].value[0] == '\0') {
        memmove(&out[k], &out[k + 1], (n - k - 1) * sizeof(out[0]));
        n--;
      } else {
        out[k].value = r->headers[i].value;
      }
    } else if (r->headers[i].value[0] != '\0' && n < cap) {
      /* A Cookie goes where the jar's would (below); other fields last. */
      size_t at = strcasecmp(r->headers[i].name, "cookie") == 0 && n &&
                          strcasecmp(out[n - 1].name, "priority") == 0
                      ? n - 1
                      : n;
      memmove(&out[at + 1], &out[at], (n - at) * sizeof(out[0]));
      out[at] = r->headers[i];
      n++;
    }
  }
  /* A profile's field with an empty value (Host aside, which the URL fills)
   * is a place, not a value: a Referer, Origin or Content-Type the caller gives
   * goes there; without one it is not sent (profiles/FORMAT.md). An Origin
   * without the caller's is the URL's own origin: the kinds are captured from
   * same-origin requests (sec-fetch-site same-origin), whose Origin that is. */
  int own_referer = 0, own_site = 0, placed = 0;
  for (size_t i = 0; i < r->n_headers; i++) {
    own_referer |= !strcasecmp(r->headers[i].name, "referer");
    own_site |= !strcasecmp(r->headers[i].name, "sec-fetch-site");
  }
  for (size_t k = 0; k < n; k++) placed |= !strcasecmp(out[k].name, "referer");
  /* A list with no referer place (a navigation: captured without one) takes
   * the initiator's Referer where the profile's navigate-post, a navigation
   * with one, has it: before the field that follows it there. */
  if (r->referer && !own_referer && !placed && n < cap && r->v->prof) {
    const profile_kind *np = &r->v->prof->kinds[PROFILE_KIND_NAVIGATE_POST];
    size_t at = n;
    for (size_t i = 0; np->present && i + 1 < np->n_h2; i++) {
      if (strcasecmp(np->h2[i].name, "referer") != 0) continue;
      for (size_t k = 0; k < n; k++)
        if (!strcasecmp(out[k].name, np->h2[i + 1].name)) at = k;
    }
    memmove(&out[at + 1], &out[at], (n - at) * sizeof(out[0]));
    out[at].name = h1 ? "Referer" : "referer";
    out[at].value = r->referer;
    n++;
  }
  for (size_t k = 0; k < n;) {
    if (out[k].value[0] == '\0' && strcasecmp(out[k].name, "origin") == 0) out[k].value = origin_value(r, out, n);
    if (out[k].value[0] == '\0' && !own_referer && r->referer && strcasecmp(out[k].name, "referer") == 0)
      out[k].value = r->referer;
    /* The captured "none" (a navigation typed by the user) stays without an
     * initiator, over redirects too. */
    if (r->site && !own_site && strcasecmp(out[k].name, "sec-fetch-site") == 0 && out[k].value[0] &&
        (r->ref || strcmp(out[k].value, "none") != 0))
      out[k].value = site_names[r->site];
    /* Sent by the browsers only across sites (Storage Access Headers; "none":
     * no storage access granted, the captured value). */
    if (out[k].value[0] == '\0' && r->site == SITE_CROSS_SITE &&
        strcasecmp(out[k].name, "sec-fetch-storage-access") == 0)
      out[k].value = "none";
    if (out[k].value[0] == '\0' && strcasecmp(out[k].name, "host") != 0) {
      memmove(&out[k], &out[k + 1], (n - k - 1) * sizeof(out[0]));
      n--;
    } else {
      k++;
    }
  }
  /* Basic credentials from the URL, unless the caller gave Authorization (or
   * removed it with an empty value): where the caller's would go, before a
   * last "priority" field. */
  if (r->auth && n < cap) {
    int own = 0;
    for (size_t i = 0; i < r->n_headers; i++) own |= !strcasecmp(r->headers[i].name, "authorization");
    if (!own) {
      size_t at = n && strcasecmp(out[n - 1].name, "priority") == 0 ? n - 1 : n;
      memmove(&out[at + 1], &out[at], (n - at) * sizeof(out[0]));
      out[at].name = h1 ? "Authorization" : "authorization";
      out[at].value = r->auth;
      n++;
    }
  }
  /* The jar's cookies, unless the caller gave a Cookie header: before a last
   * "priority" field when there is one, else last — where Debian chromium 156
   * sends its cookies (after accept-language, before priority: nghttpd -v,
   * tests/integration/browsers/test_cookie_crumbs.py). */
  jar_cookie(r);
  if (r->cookie && n < cap) {
    size_t k = 0;
    while (k < n && strcasecmp(out[k].name, "cookie") != 0) k++;
    if (k == n) {
      size_t at = n && strcasecmp(out[n - 1].name, "priority") == 0 ? n - 1 : n;
      memmove(&out[at + 1], &out[at], (n - at) * sizeof(out[0]));
      out[at].name = h1 ? "Cookie" : "cookie";
      out[at].value = r->cookie;
      n++;
    }
  }
  n = place_body_fields(r, h1, out, n, cap, ct_placed);
  if (r->n_hops > 0) redirect_order(r, h1, out, n);
  return n;
}

/* A streamed body (guise_request_options.body_read) for the session: bytes up
 * to its length when known; its pause; its end, checked against the length. */
static long read_stream(req *r, uint8_t *buf, size_t len, int *eof) {
  int known = r->o.body_length >= 0;
  uint64_t total = known ? (uint64_t)r->o.body_length : 0;
  if (known) {
    uint64_t left = total - r->body_off;
    if (left == 0) {
      *eof = 1;
      return 0;
    }
    if ((uint64_t)len > left) len = (size_t)left;
  }
  if (len > (size_t)LONG_MAX) len = (size_t)LONG_MAX;
  long n;
  do {
    r->in_body_read = 1;
    r->body_resumed = 0;
    n = r->o.body_read(r->o.body_ud, buf, len, (guise_body_ctl *)r);
    r->in_body_read = 0;
  } while (n == GUISE_BODY_PAUSE && r->body_resumed && !r->done);
  if (n == GUISE_BODY_PAUSE) {
    r->body_paused = 1;
    return H2_BODY_PAUSE;
  }
  if (n < 0 || (size_t)n > len) {
    int code = n < 0 ? (int)n : GUISE_E_INTERNAL;
    if (code < -1999 || code > -100) code = GUISE_E_IO; /* not a GUISE_E_* code */
    gerr_set(&r->err, code, "client", 0,
             n < 0 ? "the request body source failed after %llu bytes"
                   : "the request body source gave more bytes than asked for after %llu bytes",
             (unsigned long long)r->body_off);
    return code;
  }
  if (n == 0) {
    if (known) {
      gerr_set(&r->err, GUISE_E_IO, "client", 0, "the request body ended after %llu of its %llu bytes",
               (unsigned long long)r->body_off, (unsigned long long)total);
      return GUISE_E_IO;
    }
    r->body_ended = 1;
    *eof = 1;
    return 0;
  }
  r->body_off += (size_t)n;
  if (known && r->body_off == total) *eof = 1; /* bytes past the length are not asked for */
  return n;
}

/* The request body, pulled as the session can send it (HTTP/2 flow control). */
static long read_body(void *arg, uint8_t *buf, size_t len, int *eof) {
  req *r = arg;
  if (r->o.body_read) return read_stream(r, buf, len, eof);
  size_t left = r->o.body_len - r->body_off;
  size_t n = left < len ? left : len;
  if (n) memcpy(buf, r->body + r->body_off, n);
  r->body_off += n;
  *eof = r->body_off == r->o.body_len;
  return (long)n;
}

/* guise_request_options.on_request_sent: the request the session took, every
 * field as it goes out. HTTP/2: the list h2.c gives nghttp2 (h2_request_fields,
 * the code h2_submit uses: pseudo-headers in the shape's order, cookie crumbs);
 * HTTP/1.1: the list h1_request.c writes, with what session_h1.c does to it
 * for a body of unknown length (no Content-Length; Transfer-Encoding: chunked
 * last). */
static void report_sent(req *r, const session_request *sr) {
  if (r->o.on_request_sent == NULL) return;
  size_t cap = sr->n_headers + 5, n = 0;
  h2_header *wire = NULL;
  guise_header *list = NULL;
  char *text = NULL;
  int chunked = sr->body != NULL && sr->body->length == SESSION_BODY_UNKNOWN;
  if (r->proto == SESSION_H3) {
    /* session_h3.c's list: the four pseudo-headers in the profile's HTTP/3
     * navigate order (those it does not name after, in :method :scheme
     * :authority :path order), then the fields as given. */
    static const char *const pn[4] = {":method", ":scheme", ":authority", ":path"};
    const char *pv[4] = {sr->method, sr->scheme, sr->authority, sr->path};
    const profile_http3 *h3 = r->v->prof && r->v->prof->h3.present ? &r->v->prof->h3 : NULL;
    int order[4], seen[4] = {0, 0, 0, 0}, np = 0;
    for (size_t i = 0; h3 && i < h3->n_nav_order && np < 4; i++)
      for (int k = 0; k < 4; k++)
        if (!seen[k] && strcmp(h3->nav_order[i], pn[k]) == 0) {
          seen[k] = 1;
          order[np++] = k;
        }
    for (int k = 0; k < 4; k++)
      if (!seen[k]) order[np++] = k;
    cap = sr->n_headers + 4;
    wire = malloc(cap * sizeof(*wire));
    for (int i = 0; wire && i < 4; i++)
      wire[n++] = (h2_header){pn[order[i]], strlen(pn[order[i]]), pv[order[i]], strlen(pv[order[i]])};
    for (size_t i = 0; wire && i < sr->n_headers; i++) wire[n++] = sr->headers[i];
  } else if (r->proto == SESSION_H2) {
    h2_request hr = {.method = sr->method, .scheme = sr->scheme, .authority = sr->authority,
                     .path = sr->path, .headers = sr->headers, .n_headers = sr->n_headers};
    cap = h2_request_fields(&r->v->h2, &hr, NULL, 0);
    wire = malloc((cap ? cap : 1) * sizeof(*wire));
    if (wire) n = h2_request_fields(&r->v->h2, &hr, wire, cap);
  } else {
    wire = malloc(cap * sizeof(*wire));
    for (size_t i = 0; wire && i < sr->n_headers; i++) {
      const session_header *h = &sr->headers[i];
      if (h->value == NULL && (chunked || !sr->body)) continue; /* a Content-Length place left empty */
      wire[n++] = *h;
    }
    if (wire && chunked) wire[n++] = (h2_header){"Transfer-Encoding", 17, "chunked", 7};
  }
  /* NUL-terminated copies: crumbs point into the middle of a cookie value. */
  size_t bytes = 0;
  for (size_t i = 0; wire && i < n; i++) bytes += wire[i].name_len + (wire[i].value ? wire[i].value_len : 24) + 2;
  list = malloc((n ? n : 1) * sizeof(*list));
  text = malloc(bytes ? bytes : 1);
  if (wire && list && text) {
    char *at = text;
    char len_text[24];
    for (size_t i = 0; i < n; i++) {
      const char *v = wire[i].value;
      size_t vl = wire[i].value_len;
      if (v == NULL) { /* HTTP/1.1 Content-Length place: the body's length */
        vl = (size_t)snprintf(len_text, sizeof(len_text), "%llu", (unsigned long long)sr->body->length);
        v = len_text;
      }
      list[i].name = at;
      memcpy(at, wire[i].name, wire[i].name_len);
      at += wire[i].name_len;
      *at++ = '\0';
      list[i].value = at;
      memcpy(at, v, vl);
      at += vl;
      *at++ = '\0';
    }
    r->o.on_request_sent(r->ud, (unsigned)r->n_hops, r->o.method, r->cur_url ? r->cur_url : r->url, list, n,
                         (int)r->proto);
  }
  free(wire);
  free(list);
  free(text);
}

/* Submits the stream to the connection's session. |refused|: the words when
 * the session takes no such request. */
static void submit(req *r, pool_conn *pc, session_request *sr, const char *refused) {
  session *s = pool_conn_session(pc);
  if (r->o.has_body) {
    r->sbody.read = read_body;
    r->sbody.arg = r;
    r->sbody.length = r->o.body_read == NULL      ? r->o.body_len
                      : r->o.body_length >= 0 ? (uint64_t)r->o.body_length
                                              : SESSION_BODY_UNKNOWN;
    sr->body = &r->sbody;
  }
  static const session_stream_callbacks scb = {on_head, on_data, on_close};
  int e = session_submit(s, sr, &scb, r, &r->stream);
  int *budget = &r->retries[r->proto != SESSION_H1];
  if (e == GUISE_E_HTTP2_GOAWAY && *budget < REQ_MAX_RETRIES) {
    (*budget)++; /* the connection stopped taking streams: another one */
    pool_requeue(&r->w, 1);
    return;
  }
  if (e) {
    finish(r, e, refused);
    return;
  }
  r->sess = s;
  r->stream_open = 1;
  refs_take(&r->refs, REQ_HOLD_STREAM);
  report_sent(r, sr);
  pool_conn_flush(pc);
}

static void start_h2(req *r, pool_conn *pc) {
  h2_header own[REQ_MAX_HEADERS];
  const h2_header *hs = own;
  char lower[REQ_MAX_HEADERS][128];
  size_t n = 0;
  int prepared = r->n_headers == 0 && r->v->prof && r->v->h2_nav_ok && client_jar(r->cl) == NULL &&
                 r->auth == NULL && r->kind == PROFILE_KIND_NAVIGATE && r->ref == NULL &&
                 !r->o.has_body && safe_method(r) && r->n_hops == 0 && r->proto != SESSION_H3;
  /* The prepared list sends every field as written: not one with a place (an
   * empty value), which merge_headers fills or leaves out. */
  for (size_t i = 0; prepared && i < r->v->n_h2_nav; i++) prepared = r->v->h2_nav[i].value_len != 0;
  if (prepared) {
    /* The profile's headers alone: prepared and checked once per variant. */
    hs = r->v->h2_nav;
    n = r->v->n_h2_nav;
  } else {
    guise_header merged[REQ_MAX_HEADERS];
    char names[REQ_MAX_HEADERS][PROFILE_MAX_NAME];
    size_t nm = merge_headers(r, 0, merged, names, REQ_MAX_HEADERS);
    for (size_t i = 0; i < nm; i++) {
      /* Host becomes :authority; connection-specific fields are not sent
       * (RFC 9113 8.2.2). */
      const char *name = merged[i].name;
      if (h2_connection_specific(name)) continue;
      size_t len = strlen(name);
      if (len >= sizeof(lower[0])) {
        finish(r, GUISE_E_USAGE_INVALID_ARGUMENT, "header name too long");
        return;
      }
      for (size_t k = 0; k <= len; k++)
        lower[n][k] = (name[k] >= 'A' && name[k] <= 'Z') ? (char)(name[k] - 'A' + 'a') : name[k];
      own[n].name = lower[n];
      own[n].name_len = len;
      own[n].value = merged[i].value;
      own[n].value_len = strlen(merged[i].value);
      n++;
    }
  }
  /* A caller's Host is the :authority (RFC 9113 8.3.1: it replaces Host;
   * curl does the same with -H Host); else the URL's. */
  const char *authority = url_authority(r->u);
  for (size_t i = 0; i < r->n_headers; i++)
    if (!strcasecmp(r->headers[i].name, "host") && r->headers[i].value[0]) authority = r->headers[i].value;
  session_request sr = {.method = r->o.method,
                        .scheme = url_scheme_name(r->u),
                        .authority = authority,
                        .path = url_target(r->u),
                        .headers = hs,
                        .n_headers = n,
                        /* the variant's list; method, authority and path live in |r|,
                         * which lives until the stream closes, as does the variant */
                        .headers_checked = prepared,
                        .strings_kept = prepared};
  /* The kind's HEADERS priority; NULL leaves the shape's (and its chain). A
   * kind written with null sends none: its own list of no priority is not
   * expressible here, so the shape's stays (FORMAT.md says so). */
  const profile_kind *pk = r->v->prof && r->kind ? &r->v->prof->kinds[r->kind] : NULL;
  if (pk && pk->priority_flag && !pk->priority_none) sr.priority = &pk->priority;
  submit(r, pc, &sr, "the request was refused by the HTTP/2 layer");
}

static void start_h1(req *r, pool_conn *pc) {
  guise_header merged[REQ_MAX_HEADERS];
  char names[REQ_MAX_HEADERS][PROFILE_MAX_NAME];
  size_t nm = merge_headers(r, 1, merged, names, REQ_MAX_HEADERS);
  session_header fields[REQ_MAX_HEADERS + 1];
  size_t n = 0;
  int has_host = 0;
  for (size_t i = 0; i < nm; i++) has_host |= !strcasecmp(merged[i].name, "host");
  /* Like a browser (and curl): Host first when nothing placed it. A profile's
   * Host with an empty value is filled with the URL's authority. */
  const char *authority = url_authority(r->u);
  if (!has_host) fields[n++] = (session_header){"Host", 4, authority, strlen(authority)};
  for (size_t i = 0; i < nm && n < REQ_MAX_HEADERS + 1; i++) {
    const char *v = merged[i].value;
    if (!strcasecmp(merged[i].name, "host") && v[0] == '\0') v = authority;
    if (v == content_length_place) { /* the session writes the body's length there */
      fields[n++] = (session_header){merged[i].name, strlen(merged[i].name), NULL, 0};
      continue;
    }
    fields[n++] = (session_header){merged[i].name, strlen(merged[i].name), v, strlen(v)};
  }
  session_request sr = {.method = r->o.method,
                        .scheme = url_scheme_name(r->u),
                        .authority = authority,
                        .path = url_target(r->u),
                        .headers = fields,
                        .n_headers = n};
  submit(r, pc, &sr, "the request head was refused (bad header name or value)");
}

/* ---- the pool's calls ---------------------------------------------------------------- */

/* strlcpy: |src| cut to fit. */
static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static req *req_of(pool_waiter *w) { return (req *)(void *)((char *)w - offsetof(req, w)); }

static void req_bind(pool_waiter *w, pool_conn *pc) {
  req *r = req_of(w);
  pool_conn_info ci;
  pool_conn_get_info(pc, &ci);
  r->info.reused = pool_conn_bound(pc) > 1;
  if (!r->info.reused) {
    r->info.dns_ms = ci.dns_ms;
    r->info.connect_ms = ci.connect_ms;
    r->info.tls_ms = ci.tls_ms;
  } else {
    r->info.dns_ms = r->info.connect_ms = r->info.tls_ms = 0;
  }
  copy_str(r->remote, sizeof(r->remote), ci.remote);
  copy_str(r->local, sizeof(r->local), ci.local);
  copy_str(r->alpn, sizeof(r->alpn), ci.alpn);
  r->info.tls_version = ci.tls_version;
  r->info.tls_cipher = ci.tls_cipher;
  r->info.tls_group = ci.tls_group;
  session *s = pool_conn_session(pc);
  r->proto = session_protocol(s);
  r->info.http_version = s->ops->name;
  /* From the first connection (a redirect or a retry keeps the clock going). */
  if (r->o.max_time_from_connection && !r->clock_started) {
    r->clock_started = 1;
    uv_timer_stop(&r->timer); /* the wait is over */
    if (r->o.max_time_ms) uv_timer_start(&r->timer, on_max_time, r->o.max_time_ms, 0);
  }
  if (r->proto == SESSION_H1) start_h1(r, pc);
  else start_h2(r, pc); /* HTTP/3 takes the HTTP/2 form: lowercase, no connection-specific fields */
}

static void req_fail(pool_waiter *w, const gerr *err) {
  req *r = req_of(w);
  gerr_copy(&r->err, err);
  finish(r, err->code, NULL);
}

/* ---- public ------------------------------------------------------------------------ */

void guise_request_options_init(guise_request_options *o) {
  memset(o, 0, sizeof(*o));
  o->size = sizeof(*o);
  o->body_length = -1;
}

int guise_body_resume(guise_body_ctl *ctl) {
  req *r = (req *)ctl;
  if (r == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (r->in_body_read) {
    r->body_resumed = 1; /* read_stream asks again when the read returns */
    return 0;
  }
  if (r->done || !r->body_paused) return 0;
  r->body_paused = 0;
  if (r->stream_open && r->sess && r->w.pc) {
    (void)session_resume(r->sess, r->stream);
    pool_conn_flush(r->w.pc);
  }
  return 0;
}

/* Copies |s| into the arena at |*at|; the arena was sized beforehand. */
static const char *keep(char **at, const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  memcpy(*at, s, n);
  const char *p = *at;
  *at += n;
  return p;
}

/*
 * The caller's header fields guise refuses, checked before anything is sent;
 * returns 0, or -1 with a one-line reason naming the field in |why|.
 * Content-Length and Transfer-Encoding frame the message: guise writes them
 * from the body (HTTP/1.1; HTTP/2 frames by DATA and END_STREAM). A caller's
 * own would not match what is sent — a Content-Length without its body, or
 * "chunked" over a raw body — and on a kept-alive HTTP/1.1 connection the
 * server would read the next request (another job's, with its cookies) as
 * this one's body (request smuggling, RFC 9112 6.3 and 11.2). TE: guise
 * decodes no transfer coding but chunked, and HTTP/2 allows only "trailers"
 * (RFC 9113 8.2.2), so that is the one value taken (an empty value, as for
 * every field, removes the profile's). The other connection-specific fields
 * (Connection, Keep-Alive, Proxy-Connection, Upgrade) go as given over
 * HTTP/1.1 and are left out over HTTP/2, as Chrome does; Host is the
 * :authority there.
 */
static int caller_headers_check(req *r, char *why, size_t cap) {
  for (size_t i = 0; i < r->n_headers; i++) {
    const char *nm = r->headers[i].name, *v = r->headers[i].value;
    if (!strcasecmp(nm, "content-length") || !strcasecmp(nm, "transfer-encoding")) {
      snprintf(why, cap, "header \"%.40s\" refused: guise writes the message framing from the body", nm);
      return -1;
    }
    if (!strcasecmp(nm, "te") && v[0] && strcmp(v, "trailers") != 0) {
      snprintf(why, cap, "header \"%.40s: %.40s\" refused: only \"trailers\" is allowed", nm, v);
      return -1;
    }
  }
  return 0;
}

/*
 * The request's kind (profiles/FORMAT.md, request kinds): |name|, or with none
 * "navigate-post" for a request with a body when the profile has that kind,
 * else the navigation set. A kind the profile does not have is refused (-1,
 * |why|): sending the navigation set under another name would be a request no
 * browser makes.
 */
static int request_kind(req *r, const char *name, char *why, size_t cap) {
  const profile *pf = r->v->prof;
  r->kind = PROFILE_KIND_NAVIGATE;
  if (name == NULL || name[0] == '\0') {
    if (r->o.has_body && pf && pf->kinds[PROFILE_KIND_NAVIGATE_POST].present)
      r->kind = PROFILE_KIND_NAVIGATE_POST;
    return 0;
  }
  int k = profile_kind_of(name);
  if (k < 0) {
    int n = snprintf(why, cap, "unknown request kind \"%.40s\" (navigate, navigate-post, fetch, ", name);
    if (n > 0 && (size_t)n < cap)
      snprintf(why + n, cap - (size_t)n, "fetch-cors, fetch-same-origin, fetch-no-cors, script, style, image, font, iframe)");
    return -1;
  }
  if (k != PROFILE_KIND_NAVIGATE && (pf == NULL || !pf->kinds[k].present)) {
    snprintf(why, cap, "profile \"%.60s\" has no request kind \"%s\" (no capture of it)",
             pf ? pf->name : "(none)", profile_kind_name((profile_kind_id)k));
    return -1;
  }
  r->kind = k;
  return 0;
}

int guise_client_request(guise_client *cl, const guise_request_options *in,
                         const guise_callbacks *cb, void *ud) {
  if (cl == NULL || in == NULL || in->url == NULL || cb == NULL)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (client_closing(cl)) return GUISE_E_CANCELLED;
  if (in->n_headers > REQ_MAX_HEADERS) return GUISE_E_USAGE_INVALID_ARGUMENT;
  guise_request_options o;
  guise_request_options_init(&o);
  memcpy(&o, in, in->size < sizeof(o) ? in->size : sizeof(o));
  o.size = sizeof(o);
  if (o.body_read) o.has_body = 1; /* a streamed body: |body| and |body_len| are not read */
  if (o.body_read && o.body_length < -1) return GUISE_E_USAGE_INVALID_ARGUMENT;
  /* client options (guise_request() moves them into its own client) */
  if (o.dns_servers || o.proxy_insecure || o.proxy_cafile) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (o.max_time_ms > REQ_MAX_TIMEOUT_MS || o.connect_timeout_ms > REQ_MAX_TIMEOUT_MS)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  for (size_t i = 0; i < o.n_resolve; i++) {
    int e = client_add_resolve(cl, o.resolve[i]);
    if (e) return e;
  }
  /* Parsed into URL_STORE on the stack, kept after the request in its block
   * with the bytes it uses (a few hundred, not 16 KiB per request). */
  url parsed;
  url_err uerr;
  int e = url_parse(&parsed, in->url, strlen(in->url), &uerr);
  if (e) return e;
  const client_defaults *cd = client_defaults_of(cl);
  const char *proxy = o.proxy ? o.proxy : cd->proxy;
  int proxied = proxy && *proxy;
  /* One block: the request, its proxy's settings when it has one, the
   * caller's fields (as many as given, not REQ_MAX_HEADERS), the first URL. */
  size_t psize = proxied ? (sizeof(proxy_cfg) + 7) / 8 * 8 : 0;
  size_t usize = url_size(&parsed), hsize = o.n_headers * sizeof(guise_header);
  req *r = malloc(sizeof(*r) + psize + hsize + usize);
  if (r == NULL) return GUISE_E_NOMEM;
  memset(r, 0, sizeof(*r));
  r->o = o;
  char *after = (char *)(r + 1);
  r->headers = (guise_header *)(void *)(after + psize);
  r->u0 = (url *)(void *)(after + psize + hsize);
  r->u = url_dup(&parsed, r->u0, usize);
  if (proxied) {
    r->proxy = (proxy_cfg *)(void *)after;
    e = proxy_parse(proxy, r->proxy);
  }
  if (e) {
    free(r);
    return e;
  }
  /* The URL is kept for reports only (effective_url, redirect chains): with its
   * password hidden. */
  char shown[URL_MAX_LEN + 4];
  const char *url_shown = guise_url_redact(in->url, shown, sizeof(shown));
  size_t need = 1 + strlen(url_shown) + 1 + (o.method ? strlen(o.method) + 1 : 0) +
                (r->proxy ? strlen(proxy) + 1 : 0);
  for (size_t i = 0; i < o.n_headers; i++)
    need += strlen(o.headers[i].name) + strlen(o.headers[i].value) + 2;
  r->arena = malloc(need);
  if (r->arena == NULL) {
    free(r);
    return GUISE_E_NOMEM;
  }
  char *at = r->arena;
  r->o.method = o.method ? keep(&at, o.method) : o.has_body ? "POST" : "GET";
  r->proxy_id = r->proxy ? keep(&at, proxy) : NULL;
  r->url = keep(&at, url_shown);
  for (size_t i = 0; i < o.n_headers; i++) {
    r->headers[i].name = keep(&at, o.headers[i].name);
    r->headers[i].value = keep(&at, o.headers[i].value);
  }
  r->n_headers = o.n_headers;
  r->o.headers = NULL;
  r->o.proxy = r->o.cafile = r->o.profile = r->o.kind = r->o.referer = NULL; /* the caller's strings may go */
  r->o.resolve = NULL;
  r->o.n_resolve = 0;
  if (o.has_body && o.body_len && o.body_read == NULL) {
    r->body = malloc(o.body_len);
    if (r->body == NULL) {
      free(r->arena);
      free(r);
      return GUISE_E_NOMEM;
    }
    memcpy(r->body, o.body, o.body_len);
  }
  e = client_variant(cl, o.profile ? o.profile : cd->profile, o.http_version,
                     o.insecure || cd->insecure, o.cafile ? o.cafile : cd->cafile,
                     r->u->scheme == URL_HTTPS, &r->v);
  if (e) {
    free(r->body);
    free(r->arena);
    free(r);
    return e;
  }
  r->cl = cl;
  r->cb = *cb;
  r->ud = ud;
  r->t0 = uv_hrtime();
  r->info.size = sizeof(r->info);
  r->info.http_version = r->info.tls_version = r->info.tls_cipher = r->info.tls_group = "";
  r->info.alpn = r->alpn;
  r->info.remote = r->remote;
  r->info.local = r->local;
  r->info.error_detail = r->err.text;
  static const pool_waiter_ops wops = {req_bind, req_fail};
  r->w.ops = &wops;
  r->w.connect_timeout_ms = o.connect_timeout_ms;
  gq_init(&r->w.link);
  uv_timer_init(client_loop(cl), &r->timer);
  r->timer.data = r;
  refs_take(&r->refs, REQ_HOLD_TIMER);
  client_request_begin(cl);
  if (r->o.max_time_ms && !r->o.max_time_from_connection)
    uv_timer_start(&r->timer, on_max_time, r->o.max_time_ms, 0);
  char why[GERR_TEXT_MAX];
  if (request_kind(r, o.kind, why, sizeof(why)) != 0) {
    r->refused = GUISE_E_USAGE_INVALID_ARGUMENT;
    gerr_set(&r->err, r->refused, "client", 0, "%s", why);
  } else if (o.referer && o.referer[0]) {
    url_err rerr;
    if (url_parse(&parsed, o.referer, strlen(o.referer), &rerr) != 0) {
      r->refused = GUISE_E_USAGE_URL_MALFORMED;
      gerr_set(&r->err, r->refused, "client", 0, "referer: not an absolute http(s) URL");
    } else if ((r->ref = url_dup(&parsed, NULL, 0)) == NULL) {
      r->refused = GUISE_E_NOMEM;
      gerr_set(&r->err, r->refused, "client", 0, "no memory for the referer");
    }
  }
  if (r->refused) {
    ; /* the reason is set */
  } else if (url_basic(r) != 0) {
    r->refused = GUISE_E_NOMEM;
    gerr_set(&r->err, r->refused, "client", 0, "no memory for the URL's credentials");
  } else if (caller_headers_check(r, why, sizeof(why)) != 0) {
    r->refused = GUISE_E_USAGE_INVALID_ARGUMENT;
    gerr_set(&r->err, r->refused, "client", 0, "%s", why);
  } else if (o.http_version < 0 || o.http_version > GUISE_HTTP_3_ONLY) {
    r->refused = GUISE_E_USAGE_INVALID_ARGUMENT;
    gerr_set(&r->err, r->refused, "client", 0, "http_version %d: 0 to 4", o.http_version);
  } else if (set_h3(r) != 0) {
    r->refused = GUISE_E_USAGE_URL_SCHEME;
  }
  if (r->refused) {
    /* Ended before anything is sent, through on_complete from the loop like
     * any failure, so that the reason reaches the caller (a batch record, the
     * command's message). */
    uv_timer_stop(&r->timer);
    uv_timer_start(&r->timer, on_refused, 0, 0);
    return 0;
  }
  e = pool_submit(client_pool(cl), &r->w, r->u, r->v, r->proxy, r->proxy_id);
  if (e) finish(r, e, "cannot queue the request");
  else if (r->o.max_time_from_connection && !r->done && !r->clock_started)
    /* The wait for a connection: the connect timeout, the pool's. Started after
     * pool_submit, so that a connection opened for it (its DNS query, its TCP
     * connect), timing out at the same moment, ends it first with its own
     * reason ("no answer from DNS server ..."). */
    uv_timer_start(&r->timer, on_queue_time,
                   o.connect_timeout_ms   ? o.connect_timeout_ms
                   : cd->connect_timeout_ms ? cd->connect_timeout_ms
                                            : POOL_DEFAULT_CONNECT_MS,
                   0);
  return 0;
}

int guise_request(struct uv_loop_s *loop, const guise_request_options *in,
                  const guise_callbacks *cb, void *ud) {
  if (loop == NULL || in == NULL || in->url == NULL || cb == NULL)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  guise_request_options o;
  guise_request_options_init(&o);
  memcpy(&o, in, in->size < sizeof(o) ? in->size : sizeof(o));
  o.size = sizeof(o);
  if (o.max_time_ms > REQ_MAX_TIMEOUT_MS || o.connect_timeout_ms > REQ_MAX_TIMEOUT_MS)
    return GUISE_E_USAGE_INVALID_ARGUMENT; /* as guise_client_request, before a client is made */
  /* A client of its own: the request's connection settings are its options. */
  guise_client_options co;
  guise_client_options_init(&co);
  co.resolve = o.resolve;
  co.n_resolve = o.n_resolve;
  co.dns_servers = o.dns_servers;
  co.profile = o.profile ? o.profile : "none";
  co.no_reuse = 1;
  co.proxy_insecure = o.proxy_insecure;
  co.proxy_cafile = o.proxy_cafile;
  guise_client *cl;
  int e = guise_client_new(loop, &co, &cl);
  if (e) return e;
  client_set_oneshot(cl);
  o.resolve = NULL;
  o.n_resolve = 0;
  o.dns_servers = NULL;
  o.proxy_insecure = 0;
  o.proxy_cafile = NULL;
  o.proxy = o.proxy ? o.proxy : "";
  e = guise_client_request(cl, &o, cb, ud);
  if (e) guise_client_close(cl);
  return e;
}

/* guise_fetch's own callbacks: the caller's, plus the final code kept. */
typedef struct fetch {
  const guise_callbacks *inner;
  void *ud;
  int result;
  guise_request_options o;   /* the caller's, for its hooks */
} fetch;

static void fetch_sent(void *ud, unsigned hop, const char *method, const char *where, const guise_header *h,
                       size_t n, int http_version) {
  fetch *f = ud;
  f->o.on_request_sent(f->ud, hop, method, where, h, n, http_version);
}

static int fetch_head(void *ud, unsigned hop, int status, const guise_header *h, size_t n, int http_version,
                      const char *reason) {
  fetch *f = ud;
  return f->o.on_response_head(f->ud, hop, status, h, n, http_version, reason);
}

static int fetch_headers(void *ud, int status, const guise_header *h, size_t n) {
  fetch *f = ud;
  return f->inner->on_headers ? f->inner->on_headers(f->ud, status, h, n) : 0;
}

static int fetch_body(void *ud, const unsigned char *p, size_t n) {
  fetch *f = ud;
  return f->inner->on_body ? f->inner->on_body(f->ud, p, n) : 0;
}

static void fetch_complete(void *ud, int err, const guise_response_info *info) {
  fetch *f = ud;
  f->result = err;
  if (f->inner->on_complete) f->inner->on_complete(f->ud, err, info);
}

int guise_fetch(const guise_request_options *o, const guise_callbacks *cb, void *ud) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return GUISE_E_NOMEM;
  static const guise_callbacks wrap = {fetch_headers, fetch_body, fetch_complete};
  fetch f = {cb, ud, GUISE_E_INTERNAL, {0}};
  /* The hooks get the caller's |ud| too, not this wrapper's. */
  guise_request_options_init(&f.o);
  if (o) memcpy(&f.o, o, o->size < sizeof(f.o) ? o->size : sizeof(f.o));
  f.o.size = sizeof(f.o);
  guise_request_options mine = f.o;
  if (mine.on_request_sent) mine.on_request_sent = fetch_sent;
  if (mine.on_response_head) mine.on_response_head = fetch_head;
  int e = guise_request((struct uv_loop_s *)&loop, o ? &mine : NULL, &wrap, &f);
  uv_run(&loop, UV_RUN_DEFAULT); /* the request, or the closing of a refused one */
  if (e == 0) e = f.result;
  uv_loop_close(&loop);
  return e;
}

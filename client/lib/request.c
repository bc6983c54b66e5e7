/*
 * request.c — one request over a new connection: URL → DNS (dns.c) → TCP and
 * TLS (conn.c) → HTTP/2 (h2.c) or HTTP/1.1 (h1_request.c, h1_response.c) →
 * content decoding (decode.c) → the caller's callbacks. A loop module.
 *
 * Through a proxy (proxy.c), DNS resolves the proxy's name (and for socks5://
 * the origin's first); the tunnel is built by conn.c before TLS.
 *
 * Not yet here (later steps of the engine): connection reuse and pooling,
 * redirects, cookies, HTTPS proxies.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "conn.h"
#include "decode.h"
#include "dns.h"
#include "guise.h"
#include "h1_request.h"
#include "h1_response.h"
#include "h2.h"
#include "profile.h"
#include "proxy.h"
#include "tls_client.h"
#include "url.h"

/* Request headers kept: as many as the HTTP/1.1 writer accepts (Apache's 100). */
#define REQ_MAX_HEADERS H1_MAX_HEADERS
/* Plaintext buffer for HTTP/2 output between the session and the connection. */
#define REQ_H2_OUT 16384
/* New connections tried for a request the server did not process (RFC 9113
 * 6.8: streams above GOAWAY's last id, and REFUSED_STREAM, are safe to retry).
 * Browsers retry once; so does guise. */
#define REQ_MAX_RETRIES 1
/* The default decoded-body cap: large downloads are for -o, not for bombs. */
#define REQ_DEFAULT_MAX_BODY (1ull << 30)

typedef struct req {
  uv_loop_t *loop;
  guise_callbacks cb;
  void *ud;
  guise_request_options o;
  url u;
  char *arena;               /* copies of every string of |o| */
  guise_header headers[REQ_MAX_HEADERS];
  size_t n_headers;
  uint8_t *body;
  dns *dns;
  SSL_CTX *ctx;
  tls_shape shape;
  profile *prof;             /* NULL: no profile */
  h2_shape h2shape;
  proxy_cfg *proxy;          /* &proxy_store, or NULL: direct */
  proxy_cfg proxy_store;
  struct sockaddr_storage target; /* socks5://: the origin's address */
  int target_known;
  conn *conn;
  struct sockaddr_storage addrs[DNS_MAX_ADDRS];
  size_t n_addrs, next_addr;
  uv_timer_t timer;
  int holds;                 /* conn and timer close callbacks still to come */
  int done;
  int retry;                 /* closing this connection to retry on a new one */
  int attempts;              /* retries made */
  uint64_t t0;
  int head_seen;
  /* HTTP/2 */
  h2_conn *h2;
  int32_t stream;
  h2_body h2body;
  size_t h2_body_off;
  /* HTTP/1.1 */
  h1_response h1;
  int h1_started;
  /* body */
  decode *dec;
  int status;
  guise_response_info info;
  char remote[64], alpn[32], detail[160];
} req;

static double now_ms(const req *r) { return (double)(uv_hrtime() - r->t0) / 1e6; }

static void release(req *r) {
  if (--r->holds > 0) return;
  if (r->h2) h2_conn_free(r->h2);
  if (r->h1_started) h1_response_free(&r->h1);
  decode_free(r->dec);
  SSL_CTX_free(r->ctx);
  free(r->prof);
  free(r->arena);
  free(r->body);
  free(r);
}

static void on_timer_closed(uv_handle_t *h) { release(h->data); }

/* Ends the request once: on_complete, then everything is closed and freed from
 * the loop. */
static void finish(req *r, int err, const char *detail) {
  if (r->done) return;
  r->done = 1;
  if (detail && !r->detail[0]) snprintf(r->detail, sizeof(r->detail), "%s", detail);
  r->info.total_ms = now_ms(r);
  r->info.status = r->status;
  r->info.error_detail = r->detail;
  if (r->cb.on_complete) r->cb.on_complete(r->ud, err, &r->info);
  uv_timer_stop(&r->timer);
  uv_close((uv_handle_t *)&r->timer, on_timer_closed);
  /* Each hold is released by its own close callback: the timer's above, the
   * connection's in on_conn_close. */
  if (r->conn) conn_close(r->conn);
  dns_free(r->dns);
  r->dns = NULL;
}

static void on_max_time(uv_timer_t *t) {
  req *r = t->data;
  finish(r, r->head_seen ? GUISE_E_TIMEOUT_TOTAL
            : r->conn && r->info.tls_ms + r->info.connect_ms > 0 ? GUISE_E_TIMEOUT_RESPONSE
                                                                 : GUISE_E_TIMEOUT_TOTAL,
         "--max-time reached");
}

/* ---- body ------------------------------------------------------------------------- */

static int deliver(void *arg, const uint8_t *p, size_t n) {
  req *r = arg;
  r->info.body_bytes += n;
  uint64_t cap = r->o.max_body ? r->o.max_body : REQ_DEFAULT_MAX_BODY;
  if (r->info.body_bytes > cap) return GUISE_E_HTTP_BODY_TOO_LARGE;
  if (r->cb.on_body && r->cb.on_body(r->ud, p, n) != 0) return GUISE_E_CANCELLED;
  return 0;
}

static int body_bytes(req *r, const uint8_t *p, size_t n) {
  r->info.wire_body_bytes += n;
  if (r->dec) {
    int e = decode_push(r->dec, p, n);
    if (e) snprintf(r->detail, sizeof(r->detail), "%s", decode_reason(r->dec));
    return e;
  }
  return deliver(r, p, n);
}

static int body_end(req *r) {
  if (r->dec) {
    int e = decode_finish(r->dec);
    if (e) snprintf(r->detail, sizeof(r->detail), "%s", decode_reason(r->dec));
    return e;
  }
  return 0;
}

/* The response head: the caller's callback, and a decoder for Content-Encoding. */
static int head(req *r, int status, const guise_header *h, size_t n) {
  r->status = status;
  r->head_seen = 1;
  r->info.ttfb_ms = now_ms(r);
  for (size_t i = 0; i < n && !r->o.raw; i++) {
    if (strcasecmp(h[i].name, "content-encoding") != 0) continue;
    decode_limits lim;
    decode_limits_init(&lim);
    uint64_t cap = r->o.max_body ? r->o.max_body : REQ_DEFAULT_MAX_BODY;
    if (cap < lim.max_output) lim.max_output = cap;
    decode_span bad;
    int e = decode_new(&r->dec, h[i].value, strlen(h[i].value), &lim, deliver, r, &bad);
    if (e) {
      snprintf(r->detail, sizeof(r->detail), "Content-Encoding \"%s\" cannot be decoded", h[i].value);
      return e;
    }
    break;
  }
  if (r->cb.on_headers && r->cb.on_headers(r->ud, status, h, n) != 0) return GUISE_E_CANCELLED;
  return 0;
}

/* ---- HTTP/2 ----------------------------------------------------------------------- */

static void h2_pump(req *r) {
  uint8_t out[REQ_H2_OUT];
  size_t n;
  while (!r->done && !r->retry && h2_want_write(r->h2)) {
    int e = h2_send(r->h2, out, sizeof(out), &n);
    if (e) {
      finish(r, e, "HTTP/2 session error");
      return;
    }
    if (n == 0) break;
    e = conn_write(r->conn, out, n);
    if (e) {
      finish(r, e, "write failed");
      return;
    }
  }
}

static int h2_on_headers(void *ud, int32_t id, h2_headers_kind kind, int status,
                         const h2_header *hs, size_t n) {
  req *r = ud;
  if (kind != H2_HEADERS_RESPONSE) return 0;
  /* The h2 layer caps a block at H2_DEFAULT_MAX_HEADER_FIELDS fields. */
  guise_header list[H2_DEFAULT_MAX_HEADER_FIELDS] = {{0}};
  char *copy[H2_DEFAULT_MAX_HEADER_FIELDS][2];
  size_t m = 0;
  for (size_t i = 0; i < n && m < sizeof(list) / sizeof(list[0]); i++, m++) {
    copy[m][0] = strndup(hs[i].name, hs[i].name_len);
    copy[m][1] = strndup(hs[i].value, hs[i].value_len);
    list[m].name = copy[m][0] ? copy[m][0] : "";
    list[m].value = copy[m][1] ? copy[m][1] : "";
  }
  int e = head(r, status, list, m);
  for (size_t i = 0; i < m; i++) {
    free(copy[i][0]);
    free(copy[i][1]);
  }
  return e;
}

static int h2_on_data(void *ud, int32_t id, const uint8_t *p, size_t n) {
  return body_bytes(ud, p, n);
}

static void h2_on_close(void *ud, int32_t id, int err, uint32_t h2_error) {
  req *r = ud;
  if (err == GUISE_E_HTTP2_REFUSED && !r->head_seen && r->attempts < REQ_MAX_RETRIES && r->conn) {
    /* Not processed by the server: again, on a new connection (on_conn_close). */
    r->retry = 1;
    conn_close(r->conn);
    return;
  }
  if (!err) err = body_end(r);
  finish(r, err, err ? "the HTTP/2 stream ended with an error" : NULL);
}

/* The headers to send: the profile's (in its order; Title-Case names for
 * HTTP/1.1 when it records only HTTP/2 names, as profiles/FORMAT.md says), the
 * caller's replacing the same name in place (an empty value removes it) or
 * appended. Returns the count written to |out|. */
static size_t merge_headers(const req *r, int h1, guise_header *out, char (*names)[PROFILE_MAX_NAME],
                            size_t cap) {
  size_t n = 0;
  if (r->prof) {
    int have_h1 = r->prof->n_nav_h1 > 0;
    const profile_header *base = h1 && have_h1 ? r->prof->nav_h1 : r->prof->nav_h2;
    size_t nb = h1 && have_h1 ? r->prof->n_nav_h1 : r->prof->n_nav_h2;
    for (size_t i = 0; i < nb && n < cap; i++) {
      memcpy(names[n], base[i].name, PROFILE_MAX_NAME); /* NUL-terminated, same size */
      if (h1 && !have_h1)
        for (char *c = names[n]; *c; c++)
          if ((c == names[n] || c[-1] == '-') && *c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
      out[n].name = names[n];
      out[n].value = base[i].value;
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
      out[n++] = r->headers[i];
    }
  }
  return n;
}

/* The request body for HTTP/2, pulled as flow control allows. */
static long h2_read_body(void *arg, uint8_t *buf, size_t len, int *eof) {
  req *r = arg;
  size_t left = r->o.body_len - r->h2_body_off;
  size_t n = left < len ? left : len;
  if (n) memcpy(buf, r->body + r->h2_body_off, n);
  r->h2_body_off += n;
  *eof = r->h2_body_off == r->o.body_len;
  return (long)n;
}

static void start_h2(req *r) {
  h2_limits lim;
  h2_limits_init(&lim);
  static const h2_conn_callbacks ccb = {NULL};
  if (h2_conn_new(&r->h2, &r->h2shape, &lim, &ccb, r) != 0) {
    finish(r, GUISE_E_NOMEM, "cannot make the HTTP/2 session");
    return;
  }
  guise_header merged[REQ_MAX_HEADERS];
  static char names[REQ_MAX_HEADERS][PROFILE_MAX_NAME];
  size_t nm = merge_headers(r, 0, merged, names, REQ_MAX_HEADERS);
  h2_header hs[REQ_MAX_HEADERS];
  char lower[REQ_MAX_HEADERS][128];
  size_t n = 0;
  for (size_t i = 0; i < nm; i++) {
    /* Host becomes :authority; connection-specific fields are not sent
     * (RFC 9113 8.2.2). */
    const char *name = merged[i].name;
    if (!strcasecmp(name, "host") || !strcasecmp(name, "connection") ||
        !strcasecmp(name, "keep-alive") || !strcasecmp(name, "transfer-encoding") ||
        !strcasecmp(name, "upgrade") || !strcasecmp(name, "proxy-connection"))
      continue;
    size_t len = strlen(name);
    if (len >= sizeof(lower[0])) {
      finish(r, GUISE_E_USAGE_INVALID_ARGUMENT, "header name too long");
      return;
    }
    for (size_t k = 0; k <= len; k++)
      lower[n][k] = (name[k] >= 'A' && name[k] <= 'Z') ? (char)(name[k] - 'A' + 'a') : name[k];
    hs[n].name = lower[n];
    hs[n].name_len = len;
    hs[n].value = merged[i].value;
    hs[n].value_len = strlen(merged[i].value);
    n++;
  }
  h2_request hr = {.method = r->o.method,
                   .scheme = url_scheme_name(&r->u),
                   .authority = url_authority(&r->u),
                   .path = url_target(&r->u),
                   .headers = hs,
                   .n_headers = n};
  static const h2_stream_callbacks scb = {h2_on_headers, h2_on_data, h2_on_close};
  if (r->o.has_body) {
    r->h2body.read = h2_read_body;
    r->h2body.arg = r;
    hr.body = &r->h2body;
  }
  int e = h2_submit(r->h2, &hr, &scb, r, &r->stream);
  if (e) {
    finish(r, e, "the request was refused by the HTTP/2 layer");
    return;
  }
  h2_pump(r);
}

/* ---- HTTP/1.1 --------------------------------------------------------------------- */

static void h1_feed(req *r, const uint8_t *p, size_t n) {
  while (!r->done) {
    size_t used = 0;
    h1_span span = {0};
    int k = h1_response_feed(&r->h1, p, n, &used, &span);
    if (k < 0) {
      uint64_t off;
      snprintf(r->detail, sizeof(r->detail), "%s", h1_response_error(&r->h1, &off));
      finish(r, k, NULL);
      return;
    }
    p += used;
    n -= used;
    if (k == H1R_HEAD) {
      size_t m = h1_response_header_count(&r->h1);
      guise_header list[H1_MAX_HEADERS] = {{0}};
      char *copy[H1_MAX_HEADERS][2];
      for (size_t i = 0; i < m; i++) {
        h1_header h = h1_response_header(&r->h1, i);
        copy[i][0] = strndup((const char *)h.name.p, h.name.len);
        copy[i][1] = strndup((const char *)h.value.p, h.value.len);
        list[i].name = copy[i][0] ? copy[i][0] : "";
        list[i].value = copy[i][1] ? copy[i][1] : "";
      }
      int e = head(r, h1_response_status(&r->h1), list, m);
      for (size_t i = 0; i < m; i++) {
        free(copy[i][0]);
        free(copy[i][1]);
      }
      if (e) {
        finish(r, e, NULL);
        return;
      }
    } else if (k == H1R_BODY) {
      int e = body_bytes(r, span.p, span.len);
      if (e) {
        finish(r, e, NULL);
        return;
      }
    } else if (k == H1R_DONE) {
      finish(r, body_end(r), NULL);
      return;
    } else if (n == 0) {
      return; /* NEED_MORE */
    }
  }
}

static void start_h1(req *r) {
  guise_header merged[REQ_MAX_HEADERS];
  static char names[REQ_MAX_HEADERS][PROFILE_MAX_NAME];
  size_t nm = merge_headers(r, 1, merged, names, REQ_MAX_HEADERS);
  h1_field fields[REQ_MAX_HEADERS + 1];
  size_t n = 0;
  int has_host = 0;
  for (size_t i = 0; i < nm; i++) has_host |= !strcasecmp(merged[i].name, "host");
  /* Like a browser (and curl): Host first when nothing placed it. A profile's
   * Host with an empty value is filled with the URL's authority. */
  if (!has_host) fields[n++] = (h1_field){"Host", url_authority(&r->u)};
  for (size_t i = 0; i < nm && n < REQ_MAX_HEADERS + 1; i++) {
    const char *v = merged[i].value;
    if (!strcasecmp(merged[i].name, "host") && v[0] == '\0') v = url_authority(&r->u);
    fields[n++] = (h1_field){merged[i].name, v};
  }
  h1_request hr = {.method = r->o.method,
                   .target = url_target(&r->u),
                   .fields = fields,
                   .n_fields = n,
                   .has_body = r->o.has_body,
                   .body_len = r->o.body_len};
  uint8_t head_buf[H1_MAX_HEAD];
  size_t len;
  h1_request_err herr;
  int e = h1_request_write(&hr, head_buf, sizeof(head_buf), &len, &herr);
  if (e) {
    finish(r, e, "the request head was refused (bad header name or value)");
    return;
  }
  h1_response_init(&r->h1, strcmp(r->o.method, "HEAD") == 0 ? H1R_REQ_HEAD : 0);
  r->h1_started = 1;
  e = conn_write(r->conn, head_buf, len);
  if (!e && r->o.has_body) e = conn_write(r->conn, r->body, r->o.body_len);
  if (e) finish(r, e, "write failed");
}

/* ---- connection ------------------------------------------------------------------- */

static void on_conn_ready(conn *c, const char *alpn, void *ud) {
  req *r = ud;
  r->info.connect_ms = conn_connect_ms(c);
  r->info.tls_ms = conn_tls_ms(c);
  snprintf(r->alpn, sizeof(r->alpn), "%s", alpn);
  SSL *ssl = conn_ssl(c);
  if (ssl) {
    r->info.tls_version = SSL_get_version(ssl);
    r->info.tls_cipher = SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl));
    const char *g = SSL_get_curve_name(SSL_get_curve_id(ssl));
    r->info.tls_group = g ? g : "";
  }
  int h2 = strcmp(alpn, "h2") == 0 || (ssl == NULL && r->o.http_version == 2);
  if (r->o.http_version == 2 && !h2) {
    finish(r, GUISE_E_HTTP2_PROTOCOL, "--http2: the server did not agree to HTTP/2 (ALPN)");
    return;
  }
  r->info.http_version = h2 ? "HTTP/2" : "HTTP/1.1";
  if (h2) start_h2(r);
  else start_h1(r);
}

static void on_conn_data(conn *c, const uint8_t *p, size_t n, void *ud) {
  req *r = ud;
  if (r->done || r->retry) return;
  if (r->h2) {
    int e = h2_recv(r->h2, p, n);
    if (r->retry) return; /* the stream was refused; a new connection follows */
    if (e) {
      h2_pump(r);
      finish(r, e, "HTTP/2 protocol error from the server");
      return;
    }
    h2_pump(r);
  } else if (r->h1_started) {
    h1_feed(r, p, n);
  }
}

static void connect_next(req *r);

static void on_conn_close(conn *c, int err, void *ud) {
  req *r = ud;
  r->conn = NULL;
  if (err && !r->done && conn_error_detail(c)[0])
    snprintf(r->detail, sizeof(r->detail), "%s", conn_error_detail(c));
  if (!r->done && r->retry) {
    r->retry = 0;
    r->attempts++;
    h2_conn_free(r->h2);
    r->h2 = NULL;
    r->next_addr = 0;
    connect_next(r);
    release(r);
    return;
  }
  if (!r->done) {
    /* Another address of the name may answer (IPv6 then IPv4, several A records). */
    if (!r->info.connect_ms && err && err != GUISE_E_TIMEOUT_TLS && r->next_addr < r->n_addrs) {
      connect_next(r);
      release(r);
      return;
    }
    if (r->h2) {
      h2_eof(r->h2, err ? err : GUISE_E_CONNECT_CLOSED); /* reports the open stream */
    } else if (r->h1_started) {
      int k = h1_response_eof(&r->h1);
      if (k == H1R_DONE) finish(r, body_end(r), NULL);
      else finish(r, k < 0 ? k : err ? err : GUISE_E_CONNECT_CLOSED, NULL);
    }
    if (!r->done) finish(r, err ? err : GUISE_E_CONNECT_CLOSED, NULL);
  }
  release(r);
}

static void connect_next(req *r) {
  struct sockaddr_storage *ss = &r->addrs[r->next_addr++];
  char host[64] = "?";
  if (ss->ss_family == AF_INET) {
    uv_ip4_name((struct sockaddr_in *)ss, host, sizeof(host));
    snprintf(r->remote, sizeof(r->remote), "%s:%u", host, ntohs(((struct sockaddr_in *)ss)->sin_port));
  } else {
    uv_ip6_name((struct sockaddr_in6 *)ss, host, sizeof(host));
    snprintf(r->remote, sizeof(r->remote), "[%s]:%u", host, ntohs(((struct sockaddr_in6 *)ss)->sin6_port));
  }
  conn_options co;
  memset(&co, 0, sizeof(co));
  co.addr = (struct sockaddr *)ss;
  co.ctx = r->ctx;
  co.shape = r->ctx ? &r->shape : NULL;
  /* RFC 6066 3: no SNI for IP literals. */
  co.sni = r->u.host_type == URL_HOST_NAME ? url_host(&r->u) : NULL;
  co.verify = !r->o.insecure;
  co.verify_host = url_host(&r->u);
  co.connect_timeout_ms = r->o.connect_timeout_ms ? r->o.connect_timeout_ms : 30000;
  co.tls_timeout_ms = co.connect_timeout_ms;
  if (r->proxy) {
    co.proxy = r->proxy;
    co.proxy_target_host = url_host(&r->u);
    co.proxy_target_port = (uint16_t)r->u.port;
    co.proxy_target_addr = r->target_known ? (struct sockaddr *)&r->target : NULL;
  }
  static const conn_callbacks cb = {on_conn_ready, on_conn_data, on_conn_close};
  int e = conn_open(r->loop, &co, &cb, r, &r->conn);
  if (e) {
    finish(r, e, "cannot open the connection");
    return;
  }
  r->holds++;
}

static void on_resolved(int err, const struct sockaddr_storage *addrs, size_t n, void *ud) {
  req *r = ud;
  if (r->done) return;
  r->info.dns_ms = now_ms(r);
  if (err) {
    finish(r, err, "name resolution failed");
    return;
  }
  if (r->proxy && r->proxy->kind == PROXY_SOCKS5 && !r->target_known) {
    /* socks5://: the origin's address found here goes in the request; now the proxy's. */
    r->target = addrs[0];
    r->target_known = 1;
    int e = dns_resolve(r->dns, r->proxy->host, r->proxy->port, on_resolved, r);
    if (e) finish(r, e, "name resolution of the proxy could not start");
    return;
  }
  memcpy(r->addrs, addrs, n * sizeof(addrs[0]));
  r->n_addrs = n;
  connect_next(r);
}

/* ---- public ------------------------------------------------------------------------ */

void guise_request_options_init(guise_request_options *o) {
  memset(o, 0, sizeof(*o));
  o->size = sizeof(*o);
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

int guise_request(struct uv_loop_s *loop, const guise_request_options *in,
                  const guise_callbacks *cb, void *ud) {
  if (loop == NULL || in == NULL || in->url == NULL || cb == NULL)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (in->n_headers > REQ_MAX_HEADERS) return GUISE_E_USAGE_INVALID_ARGUMENT;
  req *r = calloc(1, sizeof(*r));
  if (r == NULL) return GUISE_E_NOMEM;
  guise_request_options_init(&r->o);
  memcpy(&r->o, in, in->size < sizeof(r->o) ? in->size : sizeof(r->o));
  r->o.size = sizeof(r->o);
  url_err uerr;
  int e = url_parse(&r->u, in->url, strlen(in->url), &uerr);
  if (!e && in->size > offsetof(guise_request_options, proxy) && in->proxy && *in->proxy) {
    r->proxy = &r->proxy_store;
    e = proxy_parse(in->proxy, r->proxy);
  }
  r->o.proxy = NULL; /* parsed into proxy_store; the caller's string may go */
  if (e) {
    free(r);
    return e;
  }
  size_t need = 1 + (in->method ? strlen(in->method) + 1 : 0) +
                (in->cafile ? strlen(in->cafile) + 1 : 0) +
                (in->dns_servers ? strlen(in->dns_servers) + 1 : 0);
  for (size_t i = 0; i < in->n_headers; i++)
    need += strlen(in->headers[i].name) + strlen(in->headers[i].value) + 2;
  r->arena = malloc(need);
  if (r->arena == NULL) {
    free(r);
    return GUISE_E_NOMEM;
  }
  char *at = r->arena;
  r->o.method = in->method ? keep(&at, in->method) : in->has_body ? "POST" : "GET";
  r->o.cafile = keep(&at, in->cafile);
  r->o.dns_servers = keep(&at, in->dns_servers);
  for (size_t i = 0; i < in->n_headers; i++) {
    r->headers[i].name = keep(&at, in->headers[i].name);
    r->headers[i].value = keep(&at, in->headers[i].value);
  }
  r->n_headers = in->n_headers;
  r->o.headers = NULL;
  if (in->has_body && in->body_len) {
    r->body = malloc(in->body_len);
    if (r->body == NULL) {
      free(r->arena);
      free(r);
      return GUISE_E_NOMEM;
    }
    memcpy(r->body, in->body, in->body_len);
  }
  r->loop = (uv_loop_t *)loop;
  r->cb = *cb;
  r->ud = ud;
  r->t0 = uv_hrtime();
  r->info.size = sizeof(r->info);
  r->info.http_version = r->info.tls_version = r->info.tls_cipher = r->info.tls_group = "";
  r->info.alpn = r->alpn;
  r->info.remote = r->remote;
  r->info.error_detail = r->detail;
  h2_shape_init(&r->h2shape);
  tls_shape_init(&r->shape);
  if (in->profile) {
    r->prof = malloc(sizeof(*r->prof));
    char perr[512];
    e = r->prof ? profile_resolve(in->profile, r->prof, perr, sizeof(perr)) : GUISE_E_NOMEM;
    if (e) {
      /* Refused before it started; guise_profile_check_syntax() gives the message. */
      free(r->prof);
      free(r->body);
      free(r->arena);
      free(r);
      return e;
    }
    r->shape = r->prof->tls;
    r->h2shape = r->prof->h2;
  }
  if (r->u.scheme == URL_HTTPS) {
    /* --http1.1 / --http2 narrow ALPN, as curl-impersonate does with a profile. */
    if (!r->prof || r->o.http_version != 0) {
      r->shape.n_alpn = 0;
      if (r->o.http_version != 1) snprintf(r->shape.alpn[r->shape.n_alpn++], TLS_SHAPE_MAX_PROTO, "h2");
      if (r->o.http_version != 2)
        snprintf(r->shape.alpn[r->shape.n_alpn++], TLS_SHAPE_MAX_PROTO, "http/1.1");
    }
    tls_client_config tc = {&r->shape, r->o.cafile, r->o.insecure, NULL};
    const char *why;
    r->ctx = tls_client_ctx_new(&tc, &e, &why);
    if (r->ctx == NULL) {
      free(r->prof);
      free(r->body);
      free(r->arena);
      free(r);
      return e;
    }
  }
  e = dns_new(r->loop, &r->dns);
  for (size_t i = 0; !e && i < in->n_resolve; i++) e = dns_add_override(r->dns, in->resolve[i]);
  if (!e && r->o.dns_servers) e = dns_set_servers(r->dns, r->o.dns_servers);
  if (e) {
    dns_free(r->dns);
    SSL_CTX_free(r->ctx);
    free(r->body);
    free(r->arena);
    free(r);
    return e;
  }
  uv_timer_init(r->loop, &r->timer);
  r->timer.data = r;
  r->holds = 1; /* the timer */
  if (r->o.max_time_ms) uv_timer_start(&r->timer, on_max_time, r->o.max_time_ms, 0);
  if (r->proxy && r->proxy->kind != PROXY_SOCKS5)
    e = dns_resolve(r->dns, r->proxy->host, r->proxy->port, on_resolved, r);
  else
    e = dns_resolve(r->dns, url_host(&r->u), r->u.port, on_resolved, r);
  if (e) finish(r, e, "name resolution could not start");
  return 0;
}

/* guise_fetch's own callbacks: the caller's, plus the final code kept. */
typedef struct fetch {
  const guise_callbacks *inner;
  void *ud;
  int result;
} fetch;

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
  fetch f = {cb, ud, GUISE_E_INTERNAL};
  int e = guise_request((struct uv_loop_s *)&loop, o, &wrap, &f);
  if (e == 0) {
    uv_run(&loop, UV_RUN_DEFAULT);
    e = f.result;
  }
  uv_loop_close(&loop);
  return e;
}

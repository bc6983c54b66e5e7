/*
 * pool.c — origins and their connections (see pool.h). Calls conn.h and dns.h
 * only through the seams of its pool_config, its owner only through the
 * config's hooks, a request only through its pool_waiter. Called by client.c
 * (pool_new, pool_close, pool_free) and request.c (submit, requeue, release,
 * the pool_conn_* functions for the connection it was given).
 *
 * A connection's protocol is its session's (session.h): the pool feeds it the
 * connection's bytes, writes what it gives, binds requests while it has
 * capacity, keeps it idle with no open stream and closes it once it is no
 * longer alive; the ALPN chooses which session (pool_config.session_new).
 *
 * An origin is one pool key. Requests wait in its queue; dispatch() gives each
 * the first usable connection (HTTP/2: ready, not draining, under the stream
 * cap, i.e. session capacity; HTTP/1.1: ready and free) and opens connections
 * when none is: for
 * HTTP/1.1 one per waiting request, for HTTP/2 or a protocol not yet known one
 * at a time (a browser waits for ALPN before opening a second connection to an
 * origin that may multiplex), never more than the per-origin cap.
 *
 * A connection: DNS (the proxy's name, or the origin's), then each address in
 * turn until one connects (conn.c: TCP, proxy tunnel, TLS), then HTTP/2 or
 * HTTP/1.1 by ALPN. Unused, it waits for the idle timeout without keeping the
 * loop alive. Reentrancy: callbacks reach the caller's code, which may submit
 * or end requests; dispatch() is never nested for one origin (|dispatching|),
 * and an origin is freed only at the end of dispatch(), when it has neither
 * connections nor waiting requests.
 *
 * Lifetime of a connection's memory (refs.h): its two timers and its DNS query
 * are named holders, each transport attempt (the first, a racer beside it) a
 * counted one; it is freed when none is left. The pool counts the connections
 * alive and, once closed, tells its owner when the last one is gone.
 */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hmap.h"
#include "refs.h"
#include "session_h3.h"

/* Happy eyeballs (RFC 8305 5, "Connection Attempt Delay", 250 ms recommended):
 * while an address has not answered for this long, the next one is tried beside
 * it; the first connection up wins and the other is closed. */
#define POOL_ATTEMPT_DELAY_MS 250
/* An HTTP/2 connection idle this long gives back its outbound frame buffer's
 * pages (h2_idle_release): long enough that a connection going idle between
 * requests of a run does not pay a page fault per request. */
#define POOL_TRIM_MS 500

enum pc_state { PC_RESOLVING, PC_CONNECTING, PC_READY, PC_CLOSED };

/* Named holders of a connection's memory. */
enum { PC_HOLD_IDLE = 1u << 0, PC_HOLD_STIMER = 1u << 1, PC_HOLD_DNS = 1u << 2, PC_HOLD_WCHECK = 1u << 3 };

/* Output the connection has queued (its socket has not taken it yet) past
 * which the pool stops asking the session for more, and asks again after each
 * turn of the loop (a write completing is one): a request body goes at the
 * socket's pace with this much in memory, never the whole of it (and the TCP
 * filter's own cap, TCP_MAX_QUEUED, is never reached). */
#define POOL_MAX_QUEUED (512u * 1024u)

/* What a connection needs until it is up: the addresses to try in turn. */
struct dial {
  struct sockaddr_storage addrs[DNS_MAX_ADDRS];
  size_t n_addrs, next_addr;
  struct sockaddr_storage target; /* socks5:// (local DNS): the origin's address */
  int target_known;
};

typedef struct pool_conn pconn;

struct pool_conn {
  gq link;                       /* in the origin's connections */
  origin *org;
  pool *pool;
  conn *c;
  conn *racer;                   /* a second attempt to the next address (RFC 8305) */
  enum pc_state state;
  refs refs;                     /* the timers, the DNS query (named); attempts (counted) */
  session *s;                    /* once ready */
  int draining;                  /* takes no new request */
  int h3;                        /* HTTP/3: a UDP socket, the QUIC handshake in the session */
  int hs;                        /* HTTP/3: the session is made, its handshake not done */
  int h3_rx;                     /* HTTP/3: a datagram came from the server */
  int holds_tcp;                 /* HTTP/3: its origin's raced TCP waits for it (origin.tcp_hold) */
  int in_session, want_flush;    /* inside session_recv/send: flush when it returns */
  uv_timer_t stimer;             /* the session's timer (session_host) */
  uv_check_t wcheck;             /* flushes again once the queued output is taken */
  gerr fail;                     /* set before ready: fail the waiting requests with it on close */
  gerr close_why;                /* why we closed it: what open streams get (code 0: cleanly) */
  gerr last;                     /* the last transport attempt's failure with words */
  size_t n_bound;                /* requests bound to it now */
  unsigned bound;                /* requests ever given it */
  uv_timer_t idle;
  uint64_t idle_left;            /* after the trim at POOL_TRIM_MS, the rest of the idle timeout */
  uint64_t t0;
  double dns_ms;
  struct dial *dial;             /* while connecting; freed once ready */
  unsigned connect_timeout_ms;
  const char *tls_version, *tls_cipher, *tls_group;
  double connect_ms, tls_ms;
  char remote[64], local[64], alpn[16];
};

struct origin {
  hmap_node node;                /* in the pool's table, by |key| */
  pool *pool;
  char *key;
  variant *v;
  int https;
  int host_is_name;
  char *host;
  uint16_t port;
  proxy_cfg *proxy;              /* NULL: direct */
  char *proxy_id;
  gq conns;                      /* pool_conn.link */
  size_t n_conns, n_connecting;
  gq queue;                      /* pool_waiter.link */
  size_t n_queued;
  int proto;                     /* TCP's: 0 unknown, 1 HTTP/1.1, 2 HTTP/2 */
  int dispatching, again;
  /* HTTP/3 (pool_waiter.h3): its connections among |conns| (|n_connecting| is
   * TCP's), the queued requests by mode, whether it failed here, its UDP port. */
  size_t n_h3, n_h3_connecting, n_q_only, n_q_race;
  int h3_broken;
  uint16_t h3_port;
  /* Chrome's delay of the TCP job (once QUIC has worked in this pool): raced
   * requests open no TCP while an HTTP/3 handshake holds it, for 1.5 x the
   * last handshake's time here (300 ms unknown); |h3_rtt_ms| 0: unknown. */
  int tcp_hold;
  double h3_rtt_ms;
};

struct pool {
  pool_config cfg;
  const pool_conn_ops *co;
  const pool_resolver_ops *ro;
  hmap origins;
  size_t n_alive;                /* connections whose memory is not freed yet */
  int closing;
  int h3_worked;                 /* an HTTP/3 handshake completed in this pool */
};

static void dispatch(origin *o);

/* ---- the default seams ------------------------------------------------------------ */

const pool_conn_ops pool_conn_ops_default = {conn_open,    conn_write, conn_close,
                                             conn_error,   conn_set_ref, conn_local,
                                             conn_remote,  conn_ssl,   conn_connect_ms,
                                             conn_tls_ms,  conn_queued};

static int dns_resolve_(void *r, const char *host, unsigned port, dns_cb cb, void *ud) {
  return dns_resolve(r, host, port, cb, ud);
}
static int dns_cancel_(void *r, void *ud) { return dns_cancel(r, ud); }
static const char *dns_servers_text_(const void *r) { return dns_servers_text(r); }

const pool_resolver_ops pool_resolver_ops_default = {dns_resolve_, dns_cancel_, dns_servers_text_};

int pool_session_new_default(void *arg, session_proto proto, const h2_shape *shape,
                             const session_config *cfg, const session_host *host, session **out) {
  (void)arg;
  return proto == SESSION_H2 ? session_h2_new(out, shape, cfg, host) : session_h1_new(out, cfg, host);
}

/* session_h3_new with the owner's QUIC context for the variant. */
static int h3_new_default(pool *p, const pool_h3_params *hp, const session_host *host, session **out,
                          const char **why) {
  SSL_CTX *ctx = NULL;
  *why = NULL;
  if (hp->v->prof == NULL) {
    *why = "HTTP/3 needs a profile with an http3 section (--profile)";
    return GUISE_E_PROFILE_UNSUPPORTED;
  }
  int e = p->cfg.h3_ctx ? p->cfg.h3_ctx(p->cfg.arg, hp->v, &ctx, why) : GUISE_E_INTERNAL;
  if (e) return e;
  session_h3_config c;
  memset(&c, 0, sizeof(c));
  c.profile = hp->v->prof;
  c.server_name = hp->verify_host;
  c.remote = hp->remote;
  c.remote_len = hp->remote->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  c.local = hp->local;
  c.local_len = hp->local->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  c.ctx = ctx;
  c.verify = !hp->v->insecure;
  c.max_streams = hp->max_streams;
  e = session_h3_new(&c, host, out);
  if (e && *why == NULL)
    *why = e == GUISE_E_PROFILE_UNSUPPORTED ? "the profile's http3 section cannot be sent"
           : e == GUISE_E_USAGE_INVALID_ARGUMENT ? "the profile has no http3 section"
                                                 : "cannot make the HTTP/3 session";
  return e;
}

/* ---- the pool --------------------------------------------------------------------- */

pool *pool_new(const pool_config *cfg) {
  pool *p = calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  p->cfg = *cfg;
  p->co = cfg->conn ? cfg->conn : &pool_conn_ops_default;
  p->ro = cfg->resolver_ops ? cfg->resolver_ops : &pool_resolver_ops_default;
  if (p->cfg.session_new == NULL) p->cfg.session_new = pool_session_new_default;
  if (p->cfg.per_origin == 0) p->cfg.per_origin = POOL_DEFAULT_PER_ORIGIN;
  if (p->cfg.streams == 0) p->cfg.streams = POOL_DEFAULT_STREAMS;
  if (p->cfg.idle_ms == 0) p->cfg.idle_ms = POOL_DEFAULT_IDLE_MS;
  hmap_init(&p->origins);
  return p;
}

/* ---- origins ---------------------------------------------------------------------- */

static void origin_free(origin *o) {
  pool *p = o->pool;
  hmap_remove(&p->origins, &o->node);
  if (p->cfg.variant_ref) p->cfg.variant_ref(p->cfg.arg, o->v, 0);
  free(o->key);
  free(o->host);
  free(o->proxy_id);
  free(o->proxy);
  free(o);
}

static origin *origin_get(pool *p, const url *u, variant *v, const proxy_cfg *proxy, const char *proxy_id) {
  /* The key, built without printf (once per request): scheme://host:port|variant|proxy */
  const char *host = url_host(u);
  const char *parts[] = {url_scheme_name(u), "://", host, ":", NULL, "|", v->key, "|",
                         proxy ? proxy_id : ""};
  char portbuf[8];
  size_t pk = sizeof(portbuf) - 1;
  portbuf[pk] = '\0';
  unsigned port = u->port;
  do {
    portbuf[--pk] = (char)('0' + port % 10);
    port /= 10;
  } while (port);
  parts[4] = portbuf + pk;
  size_t len = 0, lens[9];
  for (int i = 0; i < 9; i++) len += lens[i] = strlen(parts[i]);
  char stackkey[512];
  char *key = len < sizeof(stackkey) ? stackkey : malloc(len + 1);
  if (key == NULL) return NULL;
  for (size_t i = 0, at = 0; i < 9; at += lens[i], i++) memcpy(key + at, parts[i], lens[i]);
  key[len] = '\0';
  uint64_t h = hmap_hash(key, len);
  for (hmap_node *n = hmap_chain(&p->origins, h); n; n = n->next) {
    origin *o = (origin *)n; /* the node is the first member */
    if (n->hash == h && strcmp(o->key, key) == 0) {
      if (key != stackkey) free(key);
      return o;
    }
  }
  if (key == stackkey && (key = strdup(stackkey)) == NULL) return NULL;
  origin *o = calloc(1, sizeof(*o));
  if (o == NULL || (o->host = strdup(host)) == NULL ||
      (proxy && ((o->proxy_id = strdup(proxy_id)) == NULL || (o->proxy = malloc(sizeof(*o->proxy))) == NULL)) ||
      hmap_insert(&p->origins, &o->node, h) != 0) {
    if (o) {
      free(o->host);
      free(o->proxy_id);
      free(o->proxy);
    }
    free(o);
    free(key);
    return NULL;
  }
  o->pool = p;
  o->key = key;
  o->v = v;
  if (p->cfg.variant_ref) p->cfg.variant_ref(p->cfg.arg, v, 1);
  o->https = u->scheme == URL_HTTPS;
  o->host_is_name = u->host_type == URL_HOST_NAME;
  o->port = u->port;
  if (proxy) *o->proxy = *proxy;
  gq_init(&o->conns);
  gq_init(&o->queue);
  /* Cleartext HTTP/1.1 unless HTTP/2 is asked for (prior knowledge). */
  if (!o->https) o->proto = v->http_version == 2 ? 2 : 1;
  return o;
}

/* Proxies that carry HTTP/3: SOCKS5's UDP ASSOCIATE (filter_udp.h). */
static int proxy_udp(const proxy_cfg *p) { return p->kind == PROXY_SOCKS5 || p->kind == PROXY_SOCKS5H; }

static void enqueue(origin *o, pool_waiter *w, int at_head) {
  w->org = o;
  w->pc = NULL;
  /* HTTP/3 is for https:// without a proxy (the request refuses the rest). */
  if (!o->https || (o->proxy && !proxy_udp(o->proxy))) w->h3 = POOL_H3_NO;
  if (at_head) gq_insert_head(&o->queue, &w->link);
  else gq_insert_tail(&o->queue, &w->link);
  o->n_queued++;
  if (w->h3 == POOL_H3_ONLY) o->n_q_only++;
  if (w->h3 == POOL_H3_RACE) o->n_q_race++;
}

static void dequeue(origin *o, pool_waiter *w) {
  gq_remove(&w->link);
  o->n_queued--;
  if (w->h3 == POOL_H3_ONLY) o->n_q_only--;
  if (w->h3 == POOL_H3_RACE) o->n_q_race--;
}

/* Whether |w| takes an HTTP/3 connection (raced: until HTTP/3 failed here),
 * and a TCP one. */
static int wants_h3(const origin *o, const pool_waiter *w) {
  return w->h3 == POOL_H3_ONLY || (w->h3 == POOL_H3_RACE && !o->h3_broken);
}
static int wants_tcp(const pool_waiter *w) { return w->h3 != POOL_H3_ONLY; }

static pool_waiter *first_waiter(const origin *o) {
  gq *q = gq_first(&o->queue);
  return q ? gq_data(q, pool_waiter, link) : NULL;
}

/* Fails the first |n| waiting requests (all when n is 0). */
static void fail_queued(origin *o, size_t n, const gerr *err) {
  int was = o->dispatching;
  o->dispatching = 1; /* the callbacks may queue more: they wait for dispatch() */
  pool_waiter *w;
  for (size_t i = 0; (w = first_waiter(o)) != NULL && (n == 0 || i < n); i++) {
    dequeue(o, w);
    w->org = NULL;
    w->ops->on_fail(w, err);
  }
  o->dispatching = was;
}

/* A connection of kind |h3| never came (|err|): the waiting requests it was
 * for that no other connection can serve get its error — all of them when
 * none of its kind is left, else the first (one connection failed, one
 * request). A raced request whose other kind is still under way waits for it.
 * Without HTTP/3 in the origin this is fail_queued(o, n_conns ? 1 : 0). */
static void fail_kind(origin *o, int h3, const gerr *err) {
  size_t same = h3 ? o->n_h3 : o->n_conns - o->n_h3;
  gq doomed;
  gq_init(&doomed);
  gq *q, *tmp;
  gq_foreach_safe(q, tmp, &o->queue) {
    pool_waiter *w = gq_data(q, pool_waiter, link);
    int takes = h3 ? w->h3 != POOL_H3_NO : wants_tcp(w);
    if (!takes) continue;
    /* the other kind: TCP for a raced request whose HTTP/3 failed; an HTTP/3
     * connection alive or coming for a raced one whose TCP failed */
    int other = h3 ? wants_tcp(w) : (wants_h3(o, w) && o->n_h3 > 0);
    if (other) continue;
    dequeue(o, w);
    gq_insert_tail(&doomed, &w->link);
    if (same) break;
  }
  int was = o->dispatching;
  o->dispatching = 1; /* the callbacks may queue more: they wait for dispatch() */
  while ((q = gq_first(&doomed)) != NULL) {
    pool_waiter *w = gq_data(q, pool_waiter, link);
    gq_remove(q);
    w->org = NULL;
    w->ops->on_fail(w, err);
  }
  o->dispatching = was;
}

/* ---- connections ------------------------------------------------------------------ */

/* The last holder is gone: the memory goes; after pool_close, the owner hears
 * when it was the last connection (the call may free the pool: nothing after it). */
static void pconn_free(pconn *pc) {
  pool *p = pc->pool;
  free(pc->dial);
  free(pc);
  if (--p->n_alive == 0 && p->closing && p->cfg.on_closed) p->cfg.on_closed(p->cfg.arg);
}

static void pconn_drop(pconn *pc, unsigned holder) {
  if (refs_drop(&pc->refs, holder)) pconn_free(pc);
}

/* A transport attempt has ended (its on_close). */
static void pconn_drop_attempt(pconn *pc) {
  if (refs_sub(&pc->refs)) pconn_free(pc);
}

static void on_idle_closed(uv_handle_t *h) { pconn_drop(h->data, PC_HOLD_IDLE); }
static void on_stimer_closed(uv_handle_t *h) { pconn_drop(h->data, PC_HOLD_STIMER); }
static void on_wcheck_closed(uv_handle_t *h) { pconn_drop(h->data, PC_HOLD_WCHECK); }

/* The connection is gone (or never came): out of its origin, requests waiting
 * for it failed when it never came, memory freed once its handles are closed. */
static void pconn_end(pconn *pc, const gerr *err) {
  if (pc->state == PC_CLOSED && pc->org == NULL) return;
  origin *o = pc->org;
  int never_ready = pc->state < PC_READY;
  pc->state = PC_CLOSED;
  gq_remove(&pc->link);
  o->n_conns--;
  if (pc->h3) {
    o->n_h3--;
    if (never_ready) o->n_h3_connecting--;
    if (pc->holds_tcp) o->tcp_hold = pc->holds_tcp = 0; /* dispatch() below opens TCP */
  } else if (never_ready) {
    o->n_connecting--;
  }
  pc->org = NULL;
  session *s = pc->s;
  pc->s = NULL;
  session_free(s); /* its streams ended with session_eof */
  uv_close((uv_handle_t *)&pc->idle, on_idle_closed);
  uv_close((uv_handle_t *)&pc->stimer, on_stimer_closed);
  uv_close((uv_handle_t *)&pc->wcheck, on_wcheck_closed);
  if (never_ready && err && err->code && pc->h3) {
    /* HTTP/3 does not work here: raced requests go on TCP from now on. */
    o->h3_broken = 1;
    pool *p = pc->pool;
    if (p->cfg.h3_failed) p->cfg.h3_failed(p->cfg.arg, o->host, o->h3_port ? o->h3_port : o->port, err);
  }
  if (never_ready && err && err->code)
    /* Its error is theirs: all of them when no other connection is left to
     * serve them, else the first (one connection failed, one request). */
    fail_kind(o, pc->h3, err);
  dispatch(o);
}

/* A connection that never came: the waiting requests get |code|, |layer|, |text|. */
static void pconn_fail(pconn *pc, int code, const char *layer, const char *text) {
  gerr e;
  gerr_clear(&e);
  gerr_set(&e, code, layer, 0, text ? "%s" : NULL, text);
  pconn_end(pc, &e);
}

static int usable(const pool *p, const pconn *pc) {
  if (pc->state != PC_READY || pc->draining || pc->s == NULL) return 0;
  if (p->cfg.no_reuse && pc->bound) return 0;
  return session_capacity(pc->s) > 0;
}

static void set_busy(pconn *pc, int busy) {
  if (pc->c == NULL) return;
  /* An idle connection keeps no loop alive: nor its session's timer (QUIC's
   * ACK and idle timers run while no request does). */
  if (busy) {
    uv_timer_stop(&pc->idle);
    pc->pool->co->set_ref(pc->c, 1);
    uv_ref((uv_handle_t *)&pc->stimer);
  } else {
    pc->pool->co->set_ref(pc->c, 0);
    uv_unref((uv_handle_t *)&pc->stimer);
  }
}

/* Closes the connection; its open streams end with |err| (0: as the transport
 * ends) and |text| when the transport gives no words of its own. */
static void pconn_close(pconn *pc, int err, const char *text) {
  /* An idle HTTP/3 connection the client ends itself (no reuse, the client
   * closed) says so: CONNECTION_CLOSE (H3_NO_ERROR) as its last datagram, so
   * that the server need not wait for its idle timeout (RFC 9000 10.2). Not
   * with streams open (they end as the transport ends), not from inside the
   * session, not for a connection already over. */
  if (pc->h3 && pc->s && pc->c && pc->state == PC_READY && !pc->draining && !pc->in_session &&
      (err == 0 || err == GUISE_E_CANCELLED) && session_alive(pc->s) && session_open_streams(pc->s) == 0 &&
      session_h3_close(pc->s) == 0) {
    pool_conn_flush(pc);
    if (pc->draining) return; /* the flush failed: closed with its error */
  }
  pc->draining = 1;
  gerr_set(&pc->close_why, err, "client", 0, text ? "%s" : NULL, text);
  if (pc->racer) pc->pool->co->close(pc->racer);
  if (pc->c) pc->pool->co->close(pc->c);
}

static void on_idle_timeout(uv_timer_t *t) {
  pconn *pc = t->data;
  if (pc->idle_left) {
    uint64_t left = pc->idle_left;
    pc->idle_left = 0;
    if (pc->s) session_h2_idle_release(pc->s);
    uv_timer_start(&pc->idle, on_idle_timeout, left, 0);
    return;
  }
  pconn_close(pc, 0, NULL);
}

/* Nothing bound: close it, or keep it for the idle timeout. */
static void maybe_idle(pconn *pc) {
  if (pc->state != PC_READY || pc->n_bound || (pc->s && session_open_streams(pc->s))) return;
  pool *p = pc->pool;
  if (pc->draining || p->cfg.no_reuse || p->closing || pc->s == NULL || !session_alive(pc->s)) {
    pconn_close(pc, 0, NULL);
    return;
  }
  set_busy(pc, 0);
  uint64_t ms = p->cfg.idle_ms;
  pc->idle_left = 0;
  if (ms > POOL_TRIM_MS && session_protocol(pc->s) == SESSION_H2) {
    pc->idle_left = ms - POOL_TRIM_MS;
    ms = POOL_TRIM_MS;
  }
  uv_timer_start(&pc->idle, on_idle_timeout, ms, 0);
  uv_unref((uv_handle_t *)&pc->idle);
}

static void on_wcheck(uv_check_t *h);

/* What the session has to send goes to the connection, until it has no more
 * (or holds it back: write coalescing is the HTTP/2 session's). */
void pool_conn_flush(pconn *pc) {
  if (pc->in_session) {
    pc->want_flush = 1; /* the loop below, or the caller of recv, sends it */
    return;
  }
  uint8_t out[POOL_OUT];
  while (pc->s && pc->c && (pc->state == PC_READY || pc->hs) && session_want_write(pc->s)) {
    if (pc->pool->co->queued && pc->pool->co->queued(pc->c) > POOL_MAX_QUEUED) {
      uv_check_start(&pc->wcheck, on_wcheck);
      return;
    }
    size_t n = 0;
    pc->in_session = 1; /* stream callbacks run from inside send (a body, a close) */
    int e = session_send(pc->s, out, sizeof(out), &n);
    pc->in_session = 0;
    pc->want_flush = 0;
    if (!e && n) e = pc->pool->co->write(pc->c, out, n);
    if (e) {
      pconn_close(pc, e, session_protocol(pc->s) == SESSION_H2   ? "HTTP/2 output failed"
                         : session_protocol(pc->s) == SESSION_H3 ? "HTTP/3 output failed"
                                                                 : "write failed");
      return;
    }
    if (n == 0) break;
  }
}

/* A turn of the loop after the flush stopped at POOL_MAX_QUEUED. */
static void on_wcheck(uv_check_t *h) {
  pconn *pc = h->data;
  uv_check_stop(h);
  pool_conn_flush(pc);
}

/* The session's timer (session_host). */
static void h3_progress(pconn *pc, int e);

static void on_session_timer(uv_timer_t *t) {
  pconn *pc = t->data;
  if (pc->s == NULL) return;
  pc->in_session = 1; /* streams may end from inside (QUIC's idle timeout) */
  session_timeout(pc->s);
  pc->in_session = 0;
  pc->want_flush = 0;
  pool_conn_flush(pc);
  /* QUIC's timers end connections (loss, idle timeout): a TCP session's does not. */
  if (pc->h3 && pc->s) {
    if (pc->hs) h3_progress(pc, 0);
    else if (!session_alive(pc->s)) pconn_close(pc, 0, NULL);
  }
}

static void set_session_timer(void *arg, unsigned ms) {
  pconn *pc = arg;
  if (ms) uv_timer_start(&pc->stimer, on_session_timer, ms, 0);
  else uv_timer_stop(&pc->stimer);
}

session *pool_conn_session(pconn *pc) { return pc->s; }
unsigned pool_conn_bound(const pconn *pc) { return pc->bound; }

void pool_conn_get_info(const pconn *pc, pool_conn_info *out) {
  out->remote = pc->remote;
  out->local = pc->local;
  out->alpn = pc->alpn;
  out->tls_version = pc->tls_version ? pc->tls_version : "";
  out->tls_cipher = pc->tls_cipher ? pc->tls_cipher : "";
  out->tls_group = pc->tls_group ? pc->tls_group : "";
  out->dns_ms = pc->dns_ms;
  out->connect_ms = pc->connect_ms;
  out->tls_ms = pc->tls_ms;
  out->h3 = pc->h3;
}

/* ---- HTTP/3: the QUIC handshake in the session -------------------------------------- */

/* "ip:port" or "[ip]:port" (conn_local, conn_remote) as an address: 0 or -1. */
static int addr_parse(const char *text, struct sockaddr_storage *out) {
  char ip[64];
  memset(out, 0, sizeof(*out));
  const char *colon = strrchr(text, ':');
  if (colon == NULL) return -1;
  int port = atoi(colon + 1);
  size_t n = (size_t)(colon - text);
  if (text[0] == '[') {
    if (n < 2 || n - 2 >= sizeof(ip)) return -1;
    memcpy(ip, text + 1, n - 2);
    ip[n - 2] = '\0';
    return uv_ip6_addr(ip, port, (struct sockaddr_in6 *)out) == 0 ? 0 : -1;
  }
  if (n >= sizeof(ip)) return -1;
  memcpy(ip, text, n);
  ip[n] = '\0';
  return uv_ip4_addr(ip, port, (struct sockaddr_in *)out) == 0 ? 0 : -1;
}

/* A handshake that did not complete: the requests waiting for it hear why
 * (|what|: the sentence's end). */
static void h3_fail_at(pconn *pc, int code, const char *layer, const char *what) {
  if (!pc->hs) return;
  pc->hs = 0;
  uv_timer_stop(&pc->idle);
  origin *o = pc->org;
  gerr_set(&pc->fail, code, layer, 0, "QUIC handshake with %s (%s): %s", o ? o->host : "", pc->remote, what);
  /* |what| may carry the server's CONNECTION_CLOSE reason, the peer's bytes:
   * printable ASCII only, so it cannot break a line of -v or the terminal. */
  for (char *t = pc->fail.text; *t; t++)
    if ((unsigned char)*t < 0x20 || (unsigned char)*t >= 0x7f) *t = '?';
  if (pc->c) pc->pool->co->close(pc->c);
}

static void h3_fail(pconn *pc, int code, const char *what) { h3_fail_at(pc, code, "quic", what); }

static void h3_up(pconn *pc) {
  origin *o = pc->org;
  pc->hs = 0;
  uv_timer_stop(&pc->idle);
  pc->state = PC_READY;
  o->n_h3_connecting--;
  if (pc->holds_tcp) o->tcp_hold = pc->holds_tcp = 0;
  pc->pool->h3_worked = 1;
  o->h3_rtt_ms = (double)(uv_hrtime() - pc->t0) / 1e6;
  free(pc->dial);
  pc->dial = NULL;
  /* QUIC's handshake is its connect and its TLS at once (curl's time_connect
   * and time_appconnect are both its end over HTTP/3). */
  pc->connect_ms = pc->tls_ms = (double)(uv_hrtime() - pc->t0) / 1e6;
  pc->tls_version = "TLSv1.3";
  /* The cipher and group from the session's SSL, as on_ready reads a TCP
   * connection's (a fake session in the unit tests has none: "" stays). */
  const char *v, *ci, *g;
  if (session_h3_tls_info(pc->s, &v, &ci, &g) == 0) {
    pc->tls_version = v;
    pc->tls_cipher = ci;
    pc->tls_group = g;
  }
  dispatch(o);
  maybe_idle(pc);
}

/* After the session took datagrams or its timer: up, failed, or on its way. */
static void h3_progress(pconn *pc, int e) {
  if (!pc->hs || pc->s == NULL) return;
  if (!e && !session_alive(pc->s) && !pc->h3_rx) /* QUIC's own timers gave up: nothing ever came */
    h3_fail(pc, GUISE_E_TIMEOUT_CONNECT, "no answer from the server's UDP port");
  else if (e || !session_alive(pc->s)) {
    /* The session's own account (the server's CONNECTION_CLOSE code and
     * reason, its TLS alert, the certificate) rather than the code's name. */
    const gerr *f = session_h3_failure(pc->s);
    if (f && f->code && f->text[0])
      h3_fail_at(pc, f->code, f->layer ? f->layer : "quic", f->text);
    else
      h3_fail(pc, e ? e : GUISE_E_TLS_HANDSHAKE, guise_strerror(e ? e : GUISE_E_TLS_HANDSHAKE));
  }
  else if (session_capacity(pc->s) > 0)
    h3_up(pc);
}

static void on_h3_timeout(uv_timer_t *t) {
  pconn *pc = t->data;
  char what[96];
  snprintf(what, sizeof(what), "no answer within the connect timeout (%u ms)", pc->connect_timeout_ms);
  h3_fail(pc, GUISE_E_TIMEOUT_CONNECT, what);
}

/* How long raced TCP waits for this handshake: Chrome's 1.5 x SRTT, its
 * 300 ms when it knows none (net/quic/quic_session_pool.cc,
 * GetTimeDelayForWaitingJob); here the last handshake's time to the origin
 * stands for the RTT. */
static unsigned h3_hold_ms(const origin *o) {
  double ms = o->h3_rtt_ms > 0 ? 1.5 * o->h3_rtt_ms : 300;
  return ms < 1 ? 1 : (unsigned)ms;
}

/* The hold is over: raced requests open TCP too; the handshake goes on to
 * the connect timeout. */
static void on_h3_hold(uv_timer_t *t) {
  pconn *pc = t->data;
  origin *o = pc->org;
  unsigned held = o ? h3_hold_ms(o) : 0;
  uv_timer_start(&pc->idle, on_h3_timeout, pc->connect_timeout_ms > held ? pc->connect_timeout_ms - held : 1, 0);
  if (!pc->holds_tcp || o == NULL) return;
  o->tcp_hold = pc->holds_tcp = 0;
  dispatch(o);
}

/* The UDP socket is connected: the session, its Initial, the handshake's timer. */
static void h3_ready(pconn *pc, conn *c) {
  pool *p = pc->pool;
  origin *o = pc->org;
  const pool_conn_ops *co = p->co;
  co->remote(c, pc->remote, sizeof(pc->remote));
  co->local(c, pc->local, sizeof(pc->local));
  snprintf(pc->alpn, sizeof(pc->alpn), "h3");
  struct sockaddr_storage rs, ls;
  const char *why = NULL;
  int e = addr_parse(pc->remote, &rs) || addr_parse(pc->local, &ls) ? GUISE_E_INTERNAL : 0;
  if (!e) {
    pool_h3_params hp = {o->v, o->host_is_name ? o->host : NULL, o->host, (struct sockaddr *)&rs,
                         (struct sockaddr *)&ls, p->cfg.streams};
    session_host host = {set_session_timer, pc};
    e = p->cfg.h3_new ? p->cfg.h3_new(p->cfg.arg, &hp, &host, &pc->s, &why)
                      : h3_new_default(p, &hp, &host, &pc->s, &why);
  }
  if (e) {
    pc->s = NULL;
    gerr_set(&pc->fail, e, "quic", 0, "HTTP/3 to %s: %s", o->host, why ? why : "cannot make the session");
    co->close(c);
    return;
  }
  pc->hs = 1;
  if (pc->holds_tcp && h3_hold_ms(o) < pc->connect_timeout_ms)
    uv_timer_start(&pc->idle, on_h3_hold, h3_hold_ms(o), 0);
  else
    uv_timer_start(&pc->idle, on_h3_timeout, pc->connect_timeout_ms, 0);
  pool_conn_flush(pc); /* the Initial */
}

static void on_ready(conn *c, const char *alpn, void *ud) {
  pconn *pc = ud;
  origin *o = pc->org;
  const pool_conn_ops *co = pc->pool->co;
  /* The first attempt up wins; the other is closed (its close is ignored). */
  uv_timer_stop(&pc->idle);
  if (c == pc->racer) {
    conn *loser = pc->c;
    pc->c = c;
    pc->racer = NULL;
    if (loser) co->close(loser);
  } else if (pc->racer) {
    co->close(pc->racer);
    pc->racer = NULL;
  }
  if (pc->h3) {
    h3_ready(pc, c);
    return;
  }
  co->remote(c, pc->remote, sizeof(pc->remote));
  pc->state = PC_READY;
  o->n_connecting--;
  free(pc->dial); /* addresses are not needed once up */
  pc->dial = NULL;
  /* From the connection's start (the winner may have started later). */
  double total = (double)(uv_hrtime() - pc->t0) / 1e6;
  double tls_part = co->tls_ms(c) ? co->tls_ms(c) - co->connect_ms(c) : 0;
  pc->connect_ms = total - tls_part;
  pc->tls_ms = co->tls_ms(c) ? total : 0;
  snprintf(pc->alpn, sizeof(pc->alpn), "%s", alpn);
  co->local(c, pc->local, sizeof(pc->local));
  SSL *ssl = co->ssl(c);
  if (ssl) {
    pc->tls_version = SSL_get_version(ssl);
    pc->tls_cipher = SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl));
    pc->tls_group = SSL_get_curve_name(SSL_get_curve_id(ssl));
  }
  /* The ALPN chooses the session (cleartext: HTTP/2 by prior knowledge only). */
  int h2 = strcmp(alpn, "h2") == 0 || (ssl == NULL && o->v->http_version == 2);
  if (o->v->http_version == 2 && !h2) {
    /* Treated as a connection that never came: the waiting requests get it. */
    pc->state = PC_CONNECTING;
    o->n_connecting++;
    gerr_set(&pc->fail, GUISE_E_HTTP2_PROTOCOL, "tls", 0, "--http2: the server did not agree to HTTP/2 (ALPN)");
    co->close(c);
    return;
  }
  pool *p = pc->pool;
  session_config sc = {.max_streams = p->cfg.streams, .coalesce_ms = p->cfg.h2_coalesce_ms};
  session_host host = {set_session_timer, pc};
  if (p->cfg.session_new(p->cfg.arg, h2 ? SESSION_H2 : SESSION_H1, &o->v->h2, &sc, &host, &pc->s) != 0) {
    pc->s = NULL;
    pc->state = PC_CONNECTING;
    o->n_connecting++;
    gerr_set(&pc->fail, GUISE_E_NOMEM, "client", 0,
             h2 ? "cannot make the HTTP/2 session" : "cannot make the HTTP/1.1 session");
    co->close(c);
    return;
  }
  o->proto = h2 ? 2 : 1;
  dispatch(o);
  /* Still no request (they ended while it connected): the preface can wait
   * for the first one, as a browser's does; the connection waits idle. */
  maybe_idle(pc);
}

static void on_data(conn *c, const uint8_t *p, size_t n, void *ud) {
  (void)c;
  pconn *pc = ud;
  if ((pc->state != PC_READY && !pc->hs) || pc->s == NULL) return;
  pc->h3_rx = 1;
  pc->in_session = 1; /* stream callbacks run from inside recv */
  int e = session_recv(pc->s, p, n);
  pc->in_session = 0;
  pc->want_flush = 0;
  pool_conn_flush(pc); /* replies (SETTINGS ACK, PING, WINDOW_UPDATE), requests bound meanwhile */
  if (pc->hs) {
    h3_progress(pc, e);
  } else if (e) {
    /* The session has ended its streams: a protocol error, bytes nobody asked for
     * (a 408 on an idle HTTP/1.1 connection). */
    pconn_close(pc, e, NULL);
  } else if (pc->s && !session_alive(pc->s)) {
    pconn_close(pc, 0, NULL);
  }
}

static void dial(pconn *pc, int racer);

/* An address has not answered for the attempt delay: the next one beside it. */
static void on_attempt_delay(uv_timer_t *t) {
  pconn *pc = t->data;
  if (pc->state < PC_READY && pc->state != PC_RESOLVING && !pc->racer && pc->dial && !pc->h3 &&
      pc->dial->next_addr < pc->dial->n_addrs && !pc->pool->closing)
    dial(pc, 1);
}

/* Proxies given the origin's address (resolved here) rather than its name. */
static int proxy_local_dns(const proxy_cfg *p) { return p->kind == PROXY_SOCKS5 || p->kind == PROXY_SOCKS4; }

static void on_close(conn *c, int err, void *ud) {
  pconn *pc = ud;
  pool *p = pc->pool;
  if (c != pc->c && c != pc->racer) { /* the loser of a race, closed by us */
    pconn_drop_attempt(pc); /* the last hold when the winner ended first */
    return;
  }
  const gerr *ce = p->co->error(c);
  if (err && ce && ce->code && ce->text[0]) pc->last = *ce; /* the words of the latest attempt that had some */
  if (c == pc->racer) {
    /* The second attempt failed; the first goes on (maybe with a third beside it). */
    pc->racer = NULL;
    if (refs_sub(&pc->refs)) { /* the connection had ended already */
      pconn_free(pc);
      return;
    }
    if (pc->state < PC_READY && pc->dial && pc->dial->next_addr < pc->dial->n_addrs && !p->closing)
      dial(pc, 1);
    return;
  }
  pc->c = NULL;
  if (refs_sub(&pc->refs)) { /* the connection had ended already */
    pconn_free(pc);
    return;
  }
  if (pc->state < PC_READY && pc->racer && !pc->fail.code) {
    /* The first attempt failed while the second runs: it carries on alone. */
    pc->c = pc->racer;
    pc->racer = NULL;
    if (pc->dial->next_addr < pc->dial->n_addrs && !p->closing)
      uv_timer_start(&pc->idle, on_attempt_delay, POOL_ATTEMPT_DELAY_MS, 0);
    return;
  }
  if (pc->state < PC_READY) {
    if (pc->h3 && pc->s) { /* a handshake that did not come: no stream was open */
      session *s = pc->s;
      pc->s = NULL;
      pc->hs = 0;
      session_free(s);
    }
    if (pc->fail.code) {
      pconn_end(pc, &pc->fail);
    } else if (!pc->connect_ms && err && err != GUISE_E_TIMEOUT_TLS && !p->closing &&
               pc->dial->next_addr < pc->dial->n_addrs) {
      /* Another address of the name may answer (IPv6 then IPv4, several A records). */
      dial(pc, 0);
    } else {
      int code = err ? err : pc->close_why.code ? pc->close_why.code : GUISE_E_CONNECT_CLOSED;
      gerr e;
      gerr_clear(&e);
      gerr_set(&e, code, pc->last.code ? pc->last.layer : "tcp", pc->last.code ? pc->last.lib : 0,
               pc->last.text[0] ? "%s" : NULL, pc->last.text);
      pconn_end(pc, &e);
    }
    return;
  }
  /* Up: the session hears the end (each open stream ends, or asks to go
   * again); |why|'s code 0 is a clean close. */
  gerr why;
  gerr_clear(&why);
  if (err && ce && ce->code == err) why = *ce;
  else if (err) gerr_set(&why, err, "tcp", 0, NULL);
  else why = pc->close_why;
  pc->state = PC_CLOSED; /* nothing binds to it from the callbacks below */
  if (pc->s) session_eof(pc->s, &why);
  pconn_end(pc, NULL);
}

/* Opens a connection to the next address: the attempt (|racer| 0), or a second
 * one beside it (RFC 8305). */
static void dial(pconn *pc, int racer) {
  origin *o = pc->org;
  pool *p = pc->pool;
  struct dial *d = pc->dial;
  struct sockaddr_storage *ss = &d->addrs[d->next_addr++];
  if (pc->h3 && o->h3_port && !o->proxy) { /* Alt-Svc's port (through a proxy: the target's, below) */
    if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons(o->h3_port);
    else ((struct sockaddr_in6 *)ss)->sin6_port = htons(o->h3_port);
  }
  char host[64] = "?";
  if (ss->ss_family == AF_INET) {
    uv_ip4_name((struct sockaddr_in *)ss, host, sizeof(host));
    snprintf(pc->remote, sizeof(pc->remote), "%s:%u", host, ntohs(((struct sockaddr_in *)ss)->sin_port));
  } else {
    uv_ip6_name((struct sockaddr_in6 *)ss, host, sizeof(host));
    snprintf(pc->remote, sizeof(pc->remote), "[%s]:%u", host,
             ntohs(((struct sockaddr_in6 *)ss)->sin6_port));
  }
  conn_options co;
  memset(&co, 0, sizeof(co));
  co.addr = (struct sockaddr *)ss;
  co.ctx = o->https ? o->v->ctx : NULL;
  co.shape = co.ctx ? &o->v->tls : NULL;
  /* RFC 6066 3: no SNI for IP literals. */
  co.sni = o->host_is_name ? o->host : NULL;
  co.verify = !o->v->insecure;
  co.verify_host = o->host;
  co.connect_timeout_ms = pc->connect_timeout_ms;
  co.tls_timeout_ms = pc->connect_timeout_ms;
  co.local = p->cfg.local;
  if (pc->h3) { /* QUIC's TLS is the session's (no resumption yet); no proxy */
    co.udp = 1;
    co.ctx = NULL;
    co.shape = NULL;
  }
  char skey[TLS_SESSION_KEY_MAX];
  if (co.ctx && p->cfg.sessions && (o->v->prof == NULL || o->v->prof->resumption) &&
      tls_session_key(skey, sizeof(skey), o->host, o->port, o->v->key, o->proxy ? o->proxy_id : NULL) == 0) {
    co.sessions = p->cfg.sessions;
    co.session_key = skey;
  }
  struct sockaddr_storage h3_target; /* the target with Alt-Svc's port, through a proxy */
  if (o->proxy) {
    co.proxy = o->proxy;
    if (o->proxy->kind == PROXY_HTTPS) {
      int e = p->cfg.proxy_ctx ? p->cfg.proxy_ctx(p->cfg.arg, &co.proxy_ctx, &co.proxy_verify) : GUISE_E_INTERNAL;
      if (e) {
        pconn_fail(pc, e, "proxy-tls",
                   e == GUISE_E_USAGE_FILE ? "cannot read the proxy's CA file (--proxy-cacert)"
                                           : "cannot make the TLS context for the proxy");
        return;
      }
    }
    co.proxy_target_host = o->host;
    co.proxy_target_port = o->port;
    co.proxy_target_addr = d->target_known ? (struct sockaddr *)&d->target : NULL;
    if (pc->h3 && o->h3_port) {
      co.proxy_target_port = o->h3_port;
      if (d->target_known) {
        h3_target = d->target;
        if (h3_target.ss_family == AF_INET) ((struct sockaddr_in *)&h3_target)->sin_port = htons(o->h3_port);
        else ((struct sockaddr_in6 *)&h3_target)->sin6_port = htons(o->h3_port);
        co.proxy_target_addr = (struct sockaddr *)&h3_target;
      }
    }
  }
  static const conn_callbacks cb = {on_ready, on_data, on_close};
  conn **slot = racer ? &pc->racer : &pc->c;
  int e = p->co->open(p->cfg.loop, &co, &cb, pc, slot);
  if (e && racer) { /* the first attempt goes on */
    pc->racer = NULL;
    return;
  }
  if (e) {
    pc->c = NULL;
    char why[160];
    struct rlimit rl;
    if (e == GUISE_E_CONNECT_NO_DESCRIPTORS && getrlimit(RLIMIT_NOFILE, &rl) == 0)
      snprintf(why, sizeof(why), "out of file descriptors (RLIMIT_NOFILE %llu): lower the concurrency or raise the limit",
               (unsigned long long)rl.rlim_cur);
    else if (e == GUISE_E_CONNECT_NO_PORTS)
      snprintf(why, sizeof(why), "no local port free (net.ipv4.ip_local_port_range used up): "
                                 "lower the concurrency; connections are reused when they can be");
    else
      snprintf(why, sizeof(why), pc->h3 ? "cannot open the UDP socket" : "cannot open the connection");
    pconn_fail(pc, e, pc->h3 ? "udp" : "tcp", why);
    return;
  }
  refs_add(&pc->refs);
  pc->state = PC_CONNECTING;
  if (!racer && !pc->h3 && d->next_addr < d->n_addrs)
    uv_timer_start(&pc->idle, on_attempt_delay, POOL_ATTEMPT_DELAY_MS, 0);
}

/* DNS counts under the connect timeout: a resolver that does not answer (c-ares
 * alone would retry for 75 s) ends the connection at it, naming the servers. */
static void on_resolve_timeout(uv_timer_t *t) {
  pconn *pc = t->data;
  pool *p = pc->pool;
  if (pc->state != PC_RESOLVING || pc->org == NULL) return;
  /* The pool is closing (closed from a callback of a timer due at the same
   * moment, e.g. the request's --max-time in a one-shot guise_request): its
   * resolver is gone, and the query it had ends through on_resolved. */
  if (p->closing) return;
  if (p->ro->cancel(p->cfg.resolver, pc) > 0) refs_drop(&pc->refs, PC_HOLD_DNS); /* on_resolved will not run */
  char why[160];
  snprintf(why, sizeof(why), "no answer from %s within the connect timeout (%u ms)",
           p->ro->servers_text(p->cfg.resolver), pc->connect_timeout_ms);
  pconn_fail(pc, GUISE_E_TIMEOUT_CONNECT, "dns", why);
}

static void on_resolved(int err, const struct sockaddr_storage *addrs, size_t n, const char *why, void *ud) {
  pconn *pc = ud;
  origin *o = pc->org;
  pool *p = pc->pool;
  if (o == NULL) { /* ended meanwhile */
    pconn_drop(pc, PC_HOLD_DNS);
    return;
  }
  refs_drop(&pc->refs, PC_HOLD_DNS); /* the timers still hold it */
  pc->dns_ms = (double)(uv_hrtime() - pc->t0) / 1e6;
  struct dial *d = pc->dial;
  /* The proxy's own name not found: a failure of the proxy (curl's 5, "could
   * not resolve proxy"), not of the origin's name. */
  if ((err == GUISE_E_DNS_NOT_FOUND || err == GUISE_E_DNS_FAILED) && o->proxy &&
      (!proxy_local_dns(o->proxy) || d->target_known))
    err = GUISE_E_PROXY_NOT_FOUND;
  if (err || p->closing) {
    pconn_fail(pc, err ? err : GUISE_E_CANCELLED, "dns", why && *why ? why : "name resolution failed");
    return;
  }
  if (o->proxy && proxy_local_dns(o->proxy) && !d->target_known) {
    /* socks5:// and socks4://: the origin's address found here goes in the
     * request (SOCKS4: an IPv4 one); now the proxy's. */
    size_t k = 0;
    if (o->proxy->kind == PROXY_SOCKS4)
      while (k < n && addrs[k].ss_family != AF_INET) k++;
    if (k == n) {
      pconn_fail(pc, GUISE_E_PROXY_SOCKS_UNSUPPORTED, "proxy", "SOCKS4 takes IPv4 addresses only (socks4a:// sends the name)");
      return;
    }
    d->target = addrs[k];
    d->target_known = 1;
    refs_take(&pc->refs, PC_HOLD_DNS);
    int e = p->ro->resolve(p->cfg.resolver, o->proxy->host, o->proxy->port, on_resolved, pc);
    if (e) {
      refs_drop(&pc->refs, PC_HOLD_DNS);
      pconn_fail(pc, e, "dns", "name resolution of the proxy could not start");
    }
    return;
  }
  memcpy(d->addrs, addrs, n * sizeof(addrs[0]));
  d->n_addrs = n;
  uv_timer_stop(&pc->idle); /* the resolve timeout */
  dial(pc, 0);
}

static void pconn_open(origin *o, int h3) {
  pool *p = o->pool;
  pconn *pc = calloc(1, sizeof(*pc));
  struct dial *d = pc ? calloc(1, sizeof(*d)) : NULL;
  if (d == NULL) {
    free(pc);
    gerr e;
    gerr_clear(&e);
    gerr_set(&e, GUISE_E_NOMEM, "client", 0, "cannot allocate a connection");
    fail_queued(o, 1, &e);
    return;
  }
  pc->dial = d;
  pc->org = o;
  pc->pool = p;
  pc->h3 = h3;
  pc->t0 = uv_hrtime();
  gq_insert_head(&o->conns, &pc->link);
  o->n_conns++;
  if (h3) {
    o->n_h3++;
    o->n_h3_connecting++;
  } else {
    o->n_connecting++;
  }
  p->n_alive++;
  pool_waiter *first = first_waiter(o);
  pc->connect_timeout_ms = first && first->connect_timeout_ms ? first->connect_timeout_ms
                           : p->cfg.connect_timeout_ms        ? p->cfg.connect_timeout_ms
                                                              : POOL_DEFAULT_CONNECT_MS;
  uv_timer_init(p->cfg.loop, &pc->idle);
  pc->idle.data = pc;
  uv_timer_init(p->cfg.loop, &pc->stimer);
  pc->stimer.data = pc;
  uv_check_init(p->cfg.loop, &pc->wcheck);
  pc->wcheck.data = pc;
  refs_take(&pc->refs, PC_HOLD_IDLE);
  refs_take(&pc->refs, PC_HOLD_STIMER);
  refs_take(&pc->refs, PC_HOLD_WCHECK);
  refs_take(&pc->refs, PC_HOLD_DNS);
  pc->state = PC_RESOLVING;
  const char *host = o->proxy && !proxy_local_dns(o->proxy) ? o->proxy->host : o->host;
  unsigned port = o->proxy && !proxy_local_dns(o->proxy) ? o->proxy->port : o->port;
  int e = p->ro->resolve(p->cfg.resolver, host, port, on_resolved, pc);
  if (e) {
    refs_drop(&pc->refs, PC_HOLD_DNS);
    pconn_fail(pc, e, "dns", "name resolution could not start");
  } else if (pc->state == PC_RESOLVING) { /* not answered at once */
    uv_timer_start(&pc->idle, on_resolve_timeout, pc->connect_timeout_ms, 0);
  }
}

/* ---- dispatch --------------------------------------------------------------------- */

static void dispatch(origin *o) {
  if (o->dispatching) {
    o->again = 1;
    return;
  }
  pool *p = o->pool;
  o->dispatching = 1;
  do {
    o->again = 0;
    pool_waiter *w;
    uint16_t bg_h3 = 0; /* a raced request took TCP with no HTTP/3 under way: its UDP port */
    while ((w = first_waiter(o)) != NULL) {
      /* HTTP/3 first when the request takes it (Chrome uses a QUIC session
       * once it has one), else TCP. */
      pconn *pc = NULL, *tcp = NULL;
      int h3 = wants_h3(o, w), t = wants_tcp(w);
      gq *q;
      gq_foreach(q, &o->conns) {
        pconn *c = gq_data(q, pconn, link);
        if (!usable(p, c)) continue;
        if (c->h3 && h3) {
          pc = c;
          break;
        }
        if (!c->h3 && t && tcp == NULL) {
          tcp = c;
          if (!h3 || o->n_h3 == 0) break;
        }
      }
      if (pc == NULL) pc = tcp;
      if (pc == NULL) break;
      if (!pc->h3 && h3 && o->n_h3 == 0) bg_h3 = w->h3_port ? w->h3_port : o->port;
      dequeue(o, w);
      w->pc = pc;
      pc->bound++;
      pc->n_bound++;
      set_busy(pc, 1);
      w->ops->on_bind(w, pc);
    }
    /* As Chrome's orphaned QUIC job: a raced request served at once by a TCP
     * connection still starts HTTP/3 beside it, for the requests after it. */
    if (bg_h3 && o->n_h3 == 0 && !o->h3_broken && !p->closing && o->n_conns < p->cfg.per_origin) {
      o->h3_port = bg_h3 == o->port ? 0 : bg_h3;
      pconn_open(o, 1);
    }
    if (!gq_empty(&o->queue) && !p->closing) {
      /* HTTP/3: one handshake at a time, when no HTTP/3 connection takes the
       * requests that want it (every QUIC connection multiplexes). */
      size_t want_h3 = o->n_q_only + (o->h3_broken ? 0 : o->n_q_race);
      if (want_h3 && o->n_h3_connecting == 0 && o->n_conns < p->cfg.per_origin) {
        int free_h3 = 0;
        gq *q;
        gq_foreach(q, &o->conns) free_h3 |= gq_data(q, pconn, link)->h3 && usable(p, gq_data(q, pconn, link));
        if (!free_h3) {
          pool_waiter *f = first_waiter(o);
          if (f->h3_port) o->h3_port = f->h3_port;
          pconn_open(o, 1);
          /* QUIC has worked here: Chrome holds the TCP job back (h3_hold_ms). */
          pconn *made = gq_first(&o->conns) ? gq_data(gq_first(&o->conns), pconn, link) : NULL;
          if (p->h3_worked && o->n_q_race && made && made->h3 && made->state < PC_READY && !o->h3_broken)
            o->tcp_hold = made->holds_tcp = 1;
        }
      }
      /* TCP for the others, raced ones included (the race: both go). */
      size_t tcp_q = o->n_queued - o->n_q_only - (o->tcp_hold ? o->n_q_race : 0), want = 0;
      if (o->proto == 1 || p->cfg.no_reuse)
        want = tcp_q > o->n_connecting ? tcp_q - o->n_connecting : 0;
      else if (o->n_connecting == 0 && tcp_q)
        want = 1;
      while (want-- > 0 && o->n_conns < p->cfg.per_origin && !gq_empty(&o->queue)) pconn_open(o, 0);
    }
  } while (o->again);
  o->dispatching = 0;
  if (o->n_conns == 0 && gq_empty(&o->queue)) origin_free(o);
}

/* ---- the request side ------------------------------------------------------------- */

int pool_submit(pool *p, pool_waiter *w, const url *u, variant *v, const proxy_cfg *proxy,
                const char *proxy_id) {
  origin *o = origin_get(p, u, v, proxy, proxy_id);
  if (o == NULL) return GUISE_E_NOMEM;
  enqueue(o, w, 0);
  dispatch(o);
  return 0;
}

void pool_requeue(pool_waiter *w, int avoid_connection) {
  origin *o = w->org;
  pconn *pc = w->pc;
  if (pc) {
    w->pc = NULL;
    pc->n_bound--;
    if (avoid_connection) pc->draining = 1;
    maybe_idle(pc);
  }
  enqueue(o, w, 1);
  dispatch(o);
}

void pool_release(pool_waiter *w) {
  origin *o = w->org;
  pconn *pc = w->pc;
  w->org = NULL;
  w->pc = NULL;
  if (o == NULL) return;
  if (gq_linked(&w->link)) {
    dequeue(o, w);
  } else if (pc) {
    pc->n_bound--;
    maybe_idle(pc);
  }
  dispatch(o);
}

int pool_close(pool *p) {
  p->closing = 1;
  size_t i;
  hmap_node *n;
  gerr why;
  gerr_clear(&why);
  gerr_set(&why, GUISE_E_CANCELLED, "client", 0, "the client was closed");
  hmap_foreach(&p->origins, i, n) {
    origin *o = (origin *)n;
    fail_queued(o, 0, &why);
    gq *q;
    gq_foreach(q, &o->conns) pconn_close(gq_data(q, pconn, link), GUISE_E_CANCELLED, NULL);
  }
  /* Origins without connections go now; the others with their last connection. */
  for (i = 0; i < p->origins.n_buckets; i++) {
    for (n = p->origins.buckets[i]; n;) {
      origin *o = (origin *)n;
      n = n->next;
      if (!o->dispatching && o->n_conns == 0 && gq_empty(&o->queue)) origin_free(o);
    }
  }
  return p->n_alive == 0;
}

void pool_free(pool *p) {
  if (p == NULL) return;
  /* Origins left (an origin outlives its last connection only until its
   * dispatch() ends): their requests were failed by pool_close. */
  for (size_t i = 0; i < p->origins.n_buckets; i++)
    while (p->origins.buckets[i]) origin_free((origin *)p->origins.buckets[i]);
  hmap_free(&p->origins);
  free(p);
}

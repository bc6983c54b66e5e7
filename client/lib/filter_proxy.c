/*
 * filter_proxy.c — the proxy handshake as a filter (filter_proxy.h). Calls
 * proxy.c, the filter below (send), the one above and the chain (filter.h).
 */
#include "filter_proxy.h"

#include <stdlib.h>
#include <string.h>

#include "guise.h"

/* A handshake in progress: freed once the tunnel is up. */
struct proxy_tunnel {
  proxy_hs hs;
  uint8_t first[PROXY_MAX_OUT]; /* what to send once the layer below is up */
  size_t first_len;
};

static int send_below(filter *f, const uint8_t *p, size_t n) {
  int e = f->below->ops->send(f->below, p, n);
  if (e) filter_fail(f->below, e, 0, NULL);
  return e;
}

static void proxy_connect(filter *f) {
  filter_proxy *p = (filter_proxy *)f;
  send_below(f, p->t->first, p->t->first_len);
}

static void proxy_recv(filter *f, const uint8_t *data, size_t n) {
  filter_proxy *p = (filter_proxy *)f;
  if (f->up) {
    filter_pass(f, data, n);
    return;
  }
  uint8_t out[PROXY_MAX_OUT];
  size_t used, olen;
  proxy_hs *hs = &p->t->hs;
  int r = proxy_hs_feed(hs, data, n, &used, out, sizeof(out), &olen);
  if (r < 0) {
    if (hs->http_status) filter_fail(f, r, hs->http_status, "the proxy answered CONNECT with %d", hs->http_status);
    else if (hs->socks_reply) filter_fail(f, r, hs->socks_reply, "the SOCKS proxy replied %d", hs->socks_reply);
    else filter_fail(f, r, 0, NULL);
    return;
  }
  if (olen && send_below(f, out, olen)) return;
  if (r == 1) {
    /* Nothing may follow the proxy's answer before we speak (TLS or HTTP): the
     * origin has not been sent a byte yet, so the bytes are the proxy's. */
    if (used != n) {
      filter_fail(f, GUISE_E_PROXY_PROTOCOL, 0, "the proxy sent bytes after its answer");
      return;
    }
    free(p->t);
    p->t = NULL;
    filter_up(f);
  }
}

/* Only once the whole chain is up (conn_write): the tunnel's bytes. */
static int proxy_send(filter *f, const uint8_t *data, size_t n) { return f->below->ops->send(f->below, data, n); }

static void proxy_close(filter *f) {
  filter_proxy *p = (filter_proxy *)f;
  free(p->t);
  p->t = NULL;
}

static const filter_ops proxy_ops = {proxy_connect, proxy_send, proxy_recv, proxy_close};

int filter_proxy_init(filter_proxy *p, const proxy_cfg *cfg, const char *host, uint16_t port,
                      const struct sockaddr *target) {
  memset(p, 0, sizeof(*p));
  p->f.ops = &proxy_ops;
  p->f.layer = "proxy";
  p->f.timeout_code = GUISE_E_PROXY_TIMEOUT; /* the connect timeout covers the tunnel */
  p->f.eof_code = GUISE_E_PROXY_PROTOCOL;
  p->t = malloc(sizeof(*p->t));
  if (p->t == NULL) return GUISE_E_NOMEM;
  return proxy_hs_begin(&p->t->hs, cfg, host, port, target, p->t->first, sizeof(p->t->first), &p->t->first_len);
}

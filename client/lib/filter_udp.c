/*
 * filter_udp.c — a connected UDP socket at the bottom of an HTTP/3
 * connection's chain (see filter_udp.h). Calls libuv; conn.c creates and
 * closes it.
 */
#include "filter_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guise.h"

/* The bottom's scratch slot (filter.h): the first of the chain. */
#define UDP_SCRATCH 0

typedef struct sreq {
  uv_udp_send_t req;
  filter_udp *u;
  uint8_t data[];
} sreq;

/* A refusal by ICMP names the port, so that "--http3 to a server without
 * HTTP/3" reads as what it is. */
static void fail_io(filter_udp *u, int r, int sending) {
  if (r == UV_ECONNREFUSED) {
    filter_fail(&u->f, GUISE_E_CONNECT_REFUSED, r,
                "nothing answers on UDP port %u (ICMP port unreachable): no HTTP/3 there", u->port);
    return;
  }
  int code = r == UV_ENETUNREACH || r == UV_EHOSTUNREACH ? GUISE_E_CONNECT_UNREACHABLE
             : r == UV_ENOMEM || r == UV_ENOBUFS       ? GUISE_E_NOMEM
             : sending                                  ? GUISE_E_CONNECT_SEND_FAILED
                                                        : GUISE_E_CONNECT_RECV_FAILED;
  filter_fail(&u->f, code, r, "%s: %s", sending ? "UDP send" : "UDP receive", uv_strerror(r));
}

static void on_sent(uv_udp_send_t *req, int status) {
  sreq *s = (sreq *)req;
  filter_udp *u = s->u;
  free(s);
  /* Cancelled by the handle's close: the chain is being ended already. */
  if (status < 0 && status != UV_ECANCELED && !u->f.chain->closed) fail_io(u, status, 1);
}

/* One datagram. */
static int udp_send(filter *f, const uint8_t *p, size_t n) {
  filter_udp *u = (filter_udp *)f;
  if (n == 0) return 0;
  if (n > UDP_MAX_DATAGRAM) return GUISE_E_USAGE_INVALID_ARGUMENT;
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  int r = uv_udp_try_send(&u->handle, &b, 1, NULL);
  if (r >= 0) return 0;
  if (r == UV_ECONNREFUSED) {
    fail_io(u, r, 1);
    return GUISE_E_CONNECT_REFUSED;
  }
  if (r != UV_EAGAIN && r != UV_ENOBUFS) {
    fail_io(u, r, 1);
    return GUISE_E_CONNECT_SEND_FAILED;
  }
  /* The socket's buffer is full (or datagrams are queued already, which
   * libuv keeps in order): queue a copy, up to the cap. */
  if (uv_udp_get_send_queue_size(&u->handle) + n > UDP_MAX_QUEUED) {
    u->dropped_out++;
    return 0;
  }
  sreq *s = malloc(sizeof(*s) + n);
  if (s == NULL) return GUISE_E_NOMEM;
  s->u = u;
  memcpy(s->data, p, n);
  b = uv_buf_init((char *)s->data, (unsigned)n);
  r = uv_udp_send(&s->req, &u->handle, &b, 1, NULL, on_sent);
  if (r < 0) {
    free(s);
    fail_io(u, r, 1);
    return GUISE_E_CONNECT_SEND_FAILED;
  }
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h, (void)suggested;
  uint8_t *p = filter_scratch_take(UDP_SCRATCH);
  *buf = uv_buf_init((char *)p, p ? UDP_MAX_DATAGRAM : 0);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags) {
  filter_udp *u = h->data;
  filter_chain *ch = u->f.chain;
  if (!ch->closed) {
    if (nread < 0) fail_io(u, (int)nread, 0);
    else if (nread > 0 && (flags & UV_UDP_PARTIAL)) u->dropped_in++;
    /* nread 0 with no address: nothing more to read now; with one, an empty
     * datagram, which QUIC has no use for. */
    else if (nread > 0 && addr) filter_pass(&u->f, (const uint8_t *)buf->base, (size_t)nread);
  }
  filter_scratch_give(UDP_SCRATCH, (uint8_t *)buf->base);
}

static void udp_close(filter *f) { (void)f; /* the owner closed the handle */ }

static const filter_ops udp_ops = {NULL, udp_send, NULL, udp_close};

void filter_udp_init(filter_udp *u, uv_loop_t *loop, const tcp_local *local) {
  (void)local;
  memset(u, 0, sizeof(*u));
  u->f.ops = &udp_ops;
  u->f.layer = "udp";
  /* The connect timeout covers the QUIC handshake (the session's); UDP has no
   * handshake of its own. */
  u->f.timeout_code = GUISE_E_TIMEOUT_CONNECT;
  u->f.eof_code = GUISE_E_CONNECT_CLOSED;
  uv_udp_init(loop, &u->handle); /* AF_UNSPEC: no socket before connect */
  u->handle.data = u;
}

int filter_udp_connect(filter_udp *u, const struct sockaddr *addr, const tcp_local *local) {
  u->port = ntohs(addr->sa_family == AF_INET ? ((const struct sockaddr_in *)addr)->sin_port
                                              : ((const struct sockaddr_in6 *)addr)->sin6_port);
  int r;
  if (local && local->addr.ss_family) {
    if (local->addr.ss_family != addr->sa_family) return GUISE_E_CONNECT_BIND_FAILED;
    r = uv_udp_bind(&u->handle, (const struct sockaddr *)&local->addr, 0);
    if (r < 0) return GUISE_E_CONNECT_BIND_FAILED;
  } else if (local && local->device[0]) {
    struct sockaddr_storage any;
    memset(&any, 0, sizeof(any));
    any.ss_family = addr->sa_family;
    r = uv_udp_bind(&u->handle, (const struct sockaddr *)&any, 0);
    uv_os_fd_t fd;
    if (r == 0 && uv_fileno((uv_handle_t *)&u->handle, &fd) == 0 &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, local->device, (socklen_t)strlen(local->device)) != 0 &&
        errno == ENODEV)
      r = UV_ENODEV;
    if (r < 0) return GUISE_E_CONNECT_BIND_FAILED;
  }
  r = uv_udp_connect(&u->handle, addr);
  if (r < 0) return filter_tcp_map_uv(r);
  r = uv_udp_recv_start(&u->handle, on_alloc, on_recv);
  if (r < 0) return filter_tcp_map_uv(r);
  u->reading = 1;
  u->connected = uv_hrtime();
  return 0;
}

int filter_udp_close(filter_udp *u, uv_close_cb cb) {
  uv_close((uv_handle_t *)&u->handle, cb);
  return 1;
}

int filter_udp_local(const filter_udp *u, struct sockaddr_storage *out) {
  int len = sizeof(*out);
  return uv_udp_getsockname(&u->handle, (struct sockaddr *)out, &len) == 0 ? 0 : -1;
}

int filter_udp_remote(const filter_udp *u, struct sockaddr_storage *out) {
  int len = sizeof(*out);
  return uv_udp_getpeername(&u->handle, (struct sockaddr *)out, &len) == 0 ? 0 : -1;
}

/* ---- SOCKS5 UDP ASSOCIATE ------------------------------------------------------------ */

#include <openssl/bytestring.h>

enum { SU_GREETING = 0, SU_AUTH = 1, SU_ASSOCIATE = 2, SU_UP = 3 };

int socks_udp_reply(const uint8_t *p, size_t n, struct sockaddr_storage *relay, int *zero, size_t *used,
                    const char **why, int *lib) {
  CBS c, a;
  CBS_init(&c, p, n);
  uint8_t ver, rep, rsv, atyp;
  uint16_t port;
  memset(relay, 0, sizeof(*relay));
  *zero = 1;
  *lib = 0;
  if (!CBS_get_u8(&c, &ver) || !CBS_get_u8(&c, &rep) || !CBS_get_u8(&c, &rsv) || !CBS_get_u8(&c, &atyp))
    return 0;
  if (ver != 5) {
    *why = "not a SOCKS5 reply: version byte";
    *lib = ver;
    return GUISE_E_PROXY_PROTOCOL;
  }
  if (rep != 0) {
    *why = "the SOCKS5 proxy refused UDP ASSOCIATE: reply";
    *lib = rep;
    return GUISE_E_PROXY_CONNECT_REJECTED;
  }
  if (atyp != 1 && atyp != 4) {
    *why = "the SOCKS5 proxy named its UDP relay by a name or an unknown kind: address type";
    *lib = atyp;
    return GUISE_E_PROXY_SOCKS_UNSUPPORTED;
  }
  if (!CBS_get_bytes(&c, &a, atyp == 1 ? 4 : 16) || !CBS_get_u16(&c, &port)) return 0;
  for (size_t i = 0; i < CBS_len(&a); i++) *zero &= CBS_data(&a)[i] == 0;
  if (port == 0) {
    *why = "the SOCKS5 proxy named its UDP relay with port";
    return GUISE_E_PROXY_PROTOCOL;
  }
  if (atyp == 1) {
    struct sockaddr_in *in = (struct sockaddr_in *)relay;
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, CBS_data(&a), 4);
    in->sin_port = htons(port);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)relay;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, CBS_data(&a), 16);
    in6->sin6_port = htons(port);
  }
  *used = n - CBS_len(&c);
  return 1;
}

int socks_udp_unwrap(const uint8_t *p, size_t n, const uint8_t **payload, size_t *len) {
  CBS c, skip;
  CBS_init(&c, p, n);
  uint16_t rsv, port;
  uint8_t frag, atyp, hl;
  if (!CBS_get_u16(&c, &rsv) || !CBS_get_u8(&c, &frag) || !CBS_get_u8(&c, &atyp) || frag != 0) return 0;
  int ok = atyp == 1 ? CBS_skip(&c, 4)
           : atyp == 4 ? CBS_skip(&c, 16)
           : atyp == 3 ? CBS_get_u8(&c, &hl) && hl > 0 && CBS_get_bytes(&c, &skip, hl)
                       : 0;
  if (!ok || !CBS_get_u16(&c, &port) || CBS_len(&c) == 0) return 0;
  (void)rsv;
  *payload = CBS_data(&c);
  *len = CBS_len(&c);
  return 1;
}

static filter_socks_udp *su_of(filter *f) { return (filter_socks_udp *)f; }
static filter_socks_udp *su_of_unwrap(filter *f) {
  return (filter_socks_udp *)(void *)((char *)f - offsetof(filter_socks_udp, unwrap));
}

static int su_out(filter_socks_udp *s, const uint8_t *p, size_t n) {
  int e = s->f.below->ops->send(s->f.below, p, n);
  if (e) filter_fail(&s->f, e, 0, "cannot write to the SOCKS5 proxy");
  return e;
}

static void su_greet(filter *f) {
  filter_socks_udp *s = su_of(f);
  static const uint8_t none[] = {5, 1, 0}, both[] = {5, 2, 0, 2};
  if (s->proxy->has_auth) su_out(s, both, sizeof(both));
  else su_out(s, none, sizeof(none));
}

/* UDP ASSOCIATE with DST 0.0.0.0:0: the client does not know its relay-facing
 * address yet (RFC 1928 7 allows zeros). */
static void su_associate(filter_socks_udp *s) {
  static const uint8_t req[] = {5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
  s->state = SU_ASSOCIATE;
  su_out(s, req, sizeof(req));
}

static void su_auth(filter_socks_udp *s) {
  uint8_t req[3 + 2 * PROXY_MAX_CRED];
  size_t ul = strlen(s->proxy->user), pl = strlen(s->proxy->pass), n = 0;
  req[n++] = 1;
  req[n++] = (uint8_t)ul;
  memcpy(req + n, s->proxy->user, ul);
  n += ul;
  req[n++] = (uint8_t)pl;
  memcpy(req + n, s->proxy->pass, pl);
  n += pl;
  s->state = SU_AUTH;
  su_out(s, req, n);
}

/* The proxy's bytes on the control connection, through CBS; 0 when more are needed. */
static void su_recv(filter *f, const uint8_t *p, size_t n) {
  filter_socks_udp *s = su_of(f);
  if (s->state == SU_UP) return; /* nothing is expected once associated */
  if (n > sizeof(s->in) - s->in_len) {
    filter_fail(f, GUISE_E_PROXY_PROTOCOL, 0, "the SOCKS5 proxy sent more than 512 bytes before the association");
    return;
  }
  memcpy(s->in + s->in_len, p, n);
  s->in_len += n;
  for (;;) {
    CBS c;
    CBS_init(&c, s->in, s->in_len);
    uint8_t ver, v2;
    if (s->state == SU_GREETING || s->state == SU_AUTH) {
      if (!CBS_get_u8(&c, &ver) || !CBS_get_u8(&c, &v2)) return;
      if (s->state == SU_GREETING) {
        if (ver != 5) {
          filter_fail(f, GUISE_E_PROXY_PROTOCOL, ver, "not a SOCKS5 proxy (version byte %u)", ver);
          return;
        }
        if (v2 == 2 && s->proxy->has_auth) su_auth(s);
        else if (v2 == 0) su_associate(s);
        else {
          filter_fail(f, GUISE_E_PROXY_AUTH_REQUIRED, v2, "the SOCKS5 proxy accepts none of our methods (it chose %u)", v2);
          return;
        }
      } else if (ver != 1 || v2 != 0) {
        filter_fail(f, GUISE_E_PROXY_AUTH_FAILED, v2, "the SOCKS5 proxy refused the user name and password (status %u)", v2);
        return;
      } else {
        su_associate(s);
      }
      size_t used = s->in_len - CBS_len(&c);
      memmove(s->in, s->in + used, s->in_len - used);
      s->in_len -= used;
      if (f->chain->closed) return;
      continue;
    }
    /* SU_ASSOCIATE: VER REP RSV ATYP BND.ADDR BND.PORT */
    struct sockaddr_storage relay;
    int zero = 0, lib = 0;
    size_t used = 0;
    const char *why = NULL;
    int r = socks_udp_reply(s->in, s->in_len, &relay, &zero, &used, &why, &lib);
    if (r == 0) return;
    if (r < 0) {
      filter_fail(f, r, lib, "%s %d", why, lib);
      return;
    }
    uint16_t port = ntohs(relay.ss_family == AF_INET ? ((struct sockaddr_in *)&relay)->sin_port
                                                      : ((struct sockaddr_in6 *)&relay)->sin6_port);
    if (zero) { /* "use my own address" */
      relay = s->proxy_addr;
      if (relay.ss_family == AF_INET) ((struct sockaddr_in *)&relay)->sin_port = htons(port);
      else ((struct sockaddr_in6 *)&relay)->sin6_port = htons(port);
    }
    int e = filter_udp_connect(s->udp, (struct sockaddr *)&relay, NULL);
    if (e) {
      filter_fail(f, e, 0, "cannot reach the SOCKS5 proxy's UDP relay");
      return;
    }
    s->state = SU_UP;
    s->in_len = 0;
    filter_up(f);
    return;
  }
}

/* One datagram for the origin: the header, then it, to the relay. */
static int su_send(filter *f, const uint8_t *p, size_t n) {
  filter_socks_udp *s = su_of(f);
  if (s->state != SU_UP) return GUISE_E_CONNECT_CLOSED;
  if (n + s->hdr_len > UDP_MAX_DATAGRAM) return GUISE_E_USAGE_INVALID_ARGUMENT;
  uint8_t buf[2048];
  uint8_t *out = n + s->hdr_len <= sizeof(buf) ? buf : malloc(n + s->hdr_len);
  if (out == NULL) return GUISE_E_NOMEM;
  memcpy(out, s->hdr, s->hdr_len);
  memcpy(out + s->hdr_len, p, n);
  int e = s->udp->f.ops->send(&s->udp->f, out, n + s->hdr_len);
  if (out != buf) free(out);
  return e;
}

/* A datagram from the relay: its header read and taken off; a fragment or a
 * header cut short is dropped (RFC 1928 7: fragments may be dropped). */
static void su_unwrap(filter *f, const uint8_t *p, size_t n) {
  filter_socks_udp *s = su_of_unwrap(f);
  const uint8_t *payload;
  size_t len;
  if (socks_udp_unwrap(p, n, &payload, &len)) filter_pass(&s->f, payload, len);
}

static void su_close(filter *f) { (void)f; }

static const filter_ops su_ops = {su_greet, su_send, su_recv, su_close};
static const filter_ops su_unwrap_ops = {NULL, NULL, su_unwrap, su_close};

int filter_socks_udp_init(filter_socks_udp *s, filter_udp *udp, const proxy_cfg *proxy,
                          const struct sockaddr *proxy_addr, const char *host, uint16_t port,
                          const struct sockaddr *target_addr) {
  memset(s, 0, sizeof(*s));
  s->f.ops = &su_ops;
  s->f.layer = "proxy";
  s->f.timeout_code = GUISE_E_PROXY_TIMEOUT;
  s->f.eof_code = GUISE_E_PROXY_PROTOCOL;
  s->unwrap.ops = &su_unwrap_ops;
  s->unwrap.layer = "proxy";
  s->udp = udp;
  s->proxy = proxy;
  memcpy(&s->proxy_addr, proxy_addr,
         proxy_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
  size_t n = 0;
  s->hdr[n++] = 0;
  s->hdr[n++] = 0;
  s->hdr[n++] = 0;
  if (target_addr && target_addr->sa_family == AF_INET) {
    s->hdr[n++] = 1;
    memcpy(s->hdr + n, &((const struct sockaddr_in *)target_addr)->sin_addr, 4);
    n += 4;
  } else if (target_addr && target_addr->sa_family == AF_INET6) {
    s->hdr[n++] = 4;
    memcpy(s->hdr + n, &((const struct sockaddr_in6 *)target_addr)->sin6_addr, 16);
    n += 16;
  } else {
    size_t hl = host ? strlen(host) : 0;
    if (hl == 0 || hl > 255) return GUISE_E_USAGE_INVALID_ARGUMENT;
    s->hdr[n++] = 3;
    s->hdr[n++] = (uint8_t)hl;
    memcpy(s->hdr + n, host, hl);
    n += hl;
  }
  s->hdr[n++] = (uint8_t)(port >> 8);
  s->hdr[n++] = (uint8_t)port;
  s->hdr_len = n;
  return 0;
}

void filter_socks_udp_link(filter_socks_udp *s, filter_chain *ch) {
  s->unwrap.chain = ch;
  s->udp->f.chain = ch;
  s->udp->f.above = &s->unwrap;
  s->udp->f.below = NULL;
  s->udp->f.up = 1;
  s->unwrap.up = 1;
}

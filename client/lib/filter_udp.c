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

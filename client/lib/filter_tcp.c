/*
 * filter_tcp.c — the socket at the bottom of a connection's chain (see
 * filter_tcp.h). The one filter that calls libuv; conn.c creates and closes it.
 */
#include "filter_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guise.h"

/* Output queued but not yet written to the socket; past it a send fails: the
 * protocols above never need more than a window of data in flight. */
#define TCP_MAX_QUEUED (8u * 1024u * 1024u)
/* The bottom's scratch slot: the first of the chain (filter.h). */
#define TCP_SCRATCH 0
/* Receive pacing's burst: a quarter second of the rate, at least one read
 * buffer (a read takes up to FILTER_READ_BUF bytes at once, so a smaller
 * bucket would pause after every read). */
#define TCP_PACE_MIN_BURST ((double)FILTER_READ_BUF)

int filter_tcp_map_uv(int r) {
  switch (r) {
    case UV_ECONNREFUSED: return GUISE_E_CONNECT_REFUSED;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH: return GUISE_E_CONNECT_UNREACHABLE;
    case UV_ECONNRESET:
    case UV_EPIPE: return GUISE_E_CONNECT_RESET;
    case UV_EADDRNOTAVAIL:
    case UV_EADDRINUSE: return GUISE_E_CONNECT_NO_PORTS;
    case UV_EMFILE:
    case UV_ENFILE: return GUISE_E_CONNECT_NO_DESCRIPTORS;
    case UV_ENOMEM:
    case UV_ENOBUFS: return GUISE_E_NOMEM;
    case UV_ETIMEDOUT: return GUISE_E_TIMEOUT_CONNECT;
    default: return GUISE_E_CONNECT_FAILED;
  }
}

/* A failure of a connected socket, by direction: curl's 55 (send) and 56
 * (receive) tell them apart, and "connection failed" is for connecting. A
 * reset while reading stays CONNECT_RESET (the receiving side's usual end);
 * the rest keep their resource codes. libuv reads before it writes, so a
 * peer's reset is seen by the read even while an upload is under way — as
 * curl, which reads while it sends, reports it too (56, "Recv failure"). */
static int map_io(int r, int sending) {
  switch (r) {
    case UV_ENOMEM:
    case UV_ENOBUFS: return GUISE_E_NOMEM;
    case UV_ECONNRESET: return sending ? GUISE_E_CONNECT_SEND_FAILED : GUISE_E_CONNECT_RESET;
    default: return sending ? GUISE_E_CONNECT_SEND_FAILED : GUISE_E_CONNECT_RECV_FAILED;
  }
}

typedef struct wreq {
  uv_write_t req;
  filter_tcp *t;
  uint8_t data[];
} wreq;

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  filter_tcp *t = w->t;
  free(w);
  /* Before the handle's close callback (libuv cancels pending writes first):
   * the chain is still there. */
  if (status < 0) filter_fail(&t->f, map_io(status, 1), status, "send: %s", uv_strerror(status));
}

static int tcp_send(filter *f, const uint8_t *p, size_t n) {
  filter_tcp *t = (filter_tcp *)f;
  if (n == 0) return 0;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&t->handle) > TCP_MAX_QUEUED) return GUISE_E_INTERNAL;
  /* At once when nothing is queued (libuv refuses otherwise, keeping the
   * order): no copy, no request — and no epoll_ctl, which every completed
   * uv_write costs (its watcher is re-armed; strace: one per read, write
   * pair). What the socket does not take now is queued. */
  uv_buf_t now = uv_buf_init((char *)p, (unsigned)n);
  int k = uv_try_write((uv_stream_t *)&t->handle, &now, 1);
  if (k > 0) {
    p += k;
    n -= (size_t)k;
    if (n == 0) return 0;
  }
  /* An error (a peer that reset the connection) is left to uv_write, which
   * reports it later through on_written: the connection's close then decides,
   * and a request on a stale reused connection is retried. */
  wreq *w = malloc(sizeof(*w) + n);
  if (w == NULL) return GUISE_E_NOMEM;
  w->t = t;
  memcpy(w->data, p, n);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
  int r = uv_write(&w->req, (uv_stream_t *)&t->handle, &b, 1, on_written);
  if (r < 0) {
    free(w);
    return map_io(r, 1);
  }
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h, (void)suggested;
  uint8_t *p = filter_scratch_take(TCP_SCRATCH);
  *buf = uv_buf_init((char *)p, p ? FILTER_READ_BUF : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static double pace_burst(const filter_tcp *t) {
  double b = (double)t->local->recv_rate / 4;
  return b < TCP_PACE_MIN_BURST ? TCP_PACE_MIN_BURST : b;
}

static void refill(filter_tcp *t) {
  uint64_t now = uv_hrtime();
  t->tokens += (double)(now - t->refilled) / 1e9 * (double)t->local->recv_rate;
  if (t->tokens > pace_burst(t)) t->tokens = pace_burst(t);
  t->refilled = now;
}

static void on_pace(uv_timer_t *timer) {
  filter_tcp *t = timer->data;
  if (t->f.chain->closed || !t->paused) return;
  refill(t);
  t->paused = 0;
  int r = uv_read_start((uv_stream_t *)&t->handle, on_alloc, on_read);
  if (r < 0) filter_fail(&t->f, map_io(r, 0), r, "recv: %s", uv_strerror(r));
}

/* |n| bytes were read: ahead of the rate, the socket is not read until the
 * bucket is back to zero (TCP's window then holds the server back, as curl's
 * --limit-rate does by not reading). */
static void pace(filter_tcp *t, size_t n) {
  refill(t);
  t->tokens -= (double)n;
  if (t->tokens >= 0 || t->paused) return;
  uint64_t ms = (uint64_t)(-t->tokens * 1000 / (double)t->local->recv_rate) + 1;
  uv_read_stop((uv_stream_t *)&t->handle);
  t->paused = 1;
  uv_timer_start(&t->pace, on_pace, ms, 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  filter_tcp *t = s->data;
  filter_chain *ch = t->f.chain;
  if (nread > 0 && (!ch->up || t->proxied)) {
    /* A delayed ACK (40 ms on Linux) holds the next segment of a peer that
     * keeps it back by Nagle's algorithm until the last one is acknowledged —
     * proxies such as tinyproxy and microsocks do not set TCP_NODELAY, and a
     * small record (a SETTINGS ACK) followed by the response waited 44 ms
     * (tcpdump on lo; tools/bench/proxy). ACK at once: during the handshakes
     * on every connection, and always through a proxy. Linux forgets
     * TCP_QUICKACK after a while: set it again on each such read. */
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)s, &fd) == 0) setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
  }
  if (!ch->closed) {
    if (nread > 0 && t->pace_made) pace(t, (size_t)nread);
    if (nread > 0) filter_pass(&t->f, (const uint8_t *)buf->base, (size_t)nread);
    else if (nread == UV_EOF) filter_eof(&t->f);
    else if (nread < 0)
      filter_fail(&t->f, map_io((int)nread, 0), (int)nread, "recv: %s", uv_strerror((int)nread));
  }
  filter_scratch_give(TCP_SCRATCH, (uint8_t *)buf->base);
}

static void on_connect(uv_connect_t *req, int status) {
  filter_tcp *t = req->data;
  if (t->f.chain->closed) return;
  if (status < 0) {
    filter_fail(&t->f, t->proxied && status == UV_ECONNREFUSED ? GUISE_E_PROXY_CONNECT_REFUSED
                                                               : filter_tcp_map_uv(status),
                status, NULL);
    return;
  }
  t->connected = uv_hrtime();
  t->refilled = t->connected;
  if (t->pace_made) t->tokens = pace_burst(t);
  uv_tcp_nodelay(&t->handle, 1);
  int r = uv_read_start((uv_stream_t *)&t->handle, on_alloc, on_read);
  if (r < 0) {
    filter_fail(&t->f, filter_tcp_map_uv(r), r, NULL);
    return;
  }
  filter_up(&t->f);
}

static void tcp_close(filter *f) { (void)f; /* the owner closed the handle */ }

static const filter_ops tcp_ops = {NULL, tcp_send, NULL, tcp_close};

int tcp_local_init(tcp_local *l, const char *iface, unsigned port_min, unsigned port_max, uint64_t recv_rate) {
  memset(l, 0, sizeof(*l));
  if (port_max == 0) port_max = port_min;
  if (port_min > 65535 || port_max > 65535 || port_max < port_min || (port_min == 0 && port_max != 0))
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  l->port_min = (uint16_t)port_min;
  l->port_max = (uint16_t)port_max;
  l->recv_rate = recv_rate;
  if (iface == NULL || *iface == '\0') return 0;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&l->addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&l->addr;
  if (inet_pton(AF_INET, iface, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    return 0;
  }
  memset(&l->addr, 0, sizeof(l->addr));
  if (inet_pton(AF_INET6, iface, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    return 0;
  }
  memset(&l->addr, 0, sizeof(l->addr));
  size_t len = strlen(iface);
  if (len >= sizeof(l->device) || strpbrk(iface, "/: \t") != NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  memcpy(l->device, iface, len + 1);
  return 0;
}

/* The first address of |family| of interface |name| (IPv6: not link-local,
 * which needs a scope). 0 or -1. */
static int interface_addr(const char *name, int family, struct sockaddr_storage *out) {
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) != 0) return -1;
  int found = -1;
  for (struct ifaddrs *i = list; i && found; i = i->ifa_next) {
    if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family || strcmp(i->ifa_name, name) != 0) continue;
    if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr)) continue;
    memset(out, 0, sizeof(*out));
    memcpy(out, i->ifa_addr, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    found = 0;
  }
  freeifaddrs(list);
  return found;
}

static void set_port(struct sockaddr_storage *ss, unsigned port) {
  if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
  else ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static const char *family_name(int family) { return family == AF_INET ? "IPv4" : "IPv6"; }

/* The socket for a connection with a local side asked for: on the device or
 * bound to the address, on a port of the range. 0 and |*fd|, or the code with
 * the reason in |why|. */
static int open_bound(const tcp_local *l, int family, int *fd, char *why, size_t cap) {
  int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    snprintf(why, cap, "socket: %s", strerror(errno));
    return errno == EMFILE || errno == ENFILE ? GUISE_E_CONNECT_NO_DESCRIPTORS : GUISE_E_CONNECT_FAILED;
  }
  struct sockaddr_storage b;
  memset(&b, 0, sizeof(b));
  b.ss_family = (sa_family_t)family; /* the any address */
  int bind_addr = 0;
  if (l->device[0]) {
    if (setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, l->device, (socklen_t)strlen(l->device)) != 0) {
      int en = errno;
      if (en == ENODEV) {
        snprintf(why, cap, "--interface %s: no such interface", l->device);
        close(s);
        return GUISE_E_CONNECT_BIND_FAILED;
      }
      /* Not allowed here (CAP_NET_RAW before Linux 5.7): the interface's
       * address instead, so that at least the source address is its. */
      if (interface_addr(l->device, family, &b) != 0) {
        snprintf(why, cap, "--interface %s: %s, and it has no %s address to bind to", l->device, strerror(en),
                 family_name(family));
        close(s);
        return GUISE_E_CONNECT_BIND_FAILED;
      }
      bind_addr = 1;
    }
  } else if (l->addr.ss_family) {
    if (l->addr.ss_family != family) {
      snprintf(why, cap, "--interface: an %s address cannot reach the server's %s address",
               family_name(l->addr.ss_family), family_name(family));
      close(s);
      return GUISE_E_CONNECT_BIND_FAILED;
    }
    b = l->addr;
    bind_addr = 1;
  }
  if (bind_addr || l->port_min) {
    socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    int one = 1;
    /* An address without a port: the port is chosen at connect, per
     * destination, as without a bind (no early use of the ephemeral range). */
    if (!l->port_min) setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    unsigned p = l->port_min;
    for (;;) {
      set_port(&b, p);
      if (bind(s, (struct sockaddr *)&b, len) == 0) break;
      int en = errno;
      if ((en == EADDRINUSE || en == EACCES) && p && p < l->port_max) {
        p++;
        continue;
      }
      char ip[INET6_ADDRSTRLEN] = "";
      inet_ntop(family, family == AF_INET ? (void *)&((struct sockaddr_in *)&b)->sin_addr
                                          : (void *)&((struct sockaddr_in6 *)&b)->sin6_addr, ip, sizeof(ip));
      if (l->port_min)
        snprintf(why, cap, "cannot bind %s to a local port %u-%u: %s", ip, l->port_min, l->port_max, strerror(en));
      else
        snprintf(why, cap, "cannot bind to %s: %s", ip, strerror(en));
      close(s);
      return GUISE_E_CONNECT_BIND_FAILED;
    }
  }
  *fd = s;
  return 0;
}

int filter_tcp_close(filter_tcp *t, uv_close_cb cb) {
  uv_close((uv_handle_t *)&t->handle, cb);
  if (!t->pace_made) return 1;
  uv_close((uv_handle_t *)&t->pace, cb);
  return 2;
}

void filter_tcp_init(filter_tcp *t, uv_loop_t *loop, int proxied, const tcp_local *local) {
  memset(&t->f, 0, sizeof(t->f));
  t->f.ops = &tcp_ops;
  t->f.layer = "tcp";
  /* The connect timeout covers TCP, and through a proxy the whole tunnel. */
  t->f.timeout_code = proxied ? GUISE_E_PROXY_TIMEOUT : GUISE_E_TIMEOUT_CONNECT;
  t->f.eof_code = GUISE_E_CONNECT_CLOSED;
  t->proxied = proxied;
  t->connected = 0;
  t->local = local;
  t->pace_made = t->paused = 0;
  t->tokens = 0;
  uv_tcp_init(loop, &t->handle); /* AF_UNSPEC: no socket before connect, no failure */
  t->handle.data = t;
  t->req.data = t;
  if (local && local->recv_rate) {
    uv_timer_init(loop, &t->pace);
    t->pace.data = t;
    t->pace_made = 1;
  }
}

int filter_tcp_connect(filter_tcp *t, const struct sockaddr *addr) {
  const tcp_local *l = t->local;
  if (l && (l->device[0] || l->addr.ss_family || l->port_min)) {
    char why[GERR_TEXT_MAX];
    int fd = -1;
    int e = open_bound(l, addr->sa_family, &fd, why, sizeof(why));
    if (e == 0 && (e = uv_tcp_open(&t->handle, fd)) < 0) {
      close(fd);
      e = filter_tcp_map_uv(e);
      snprintf(why, sizeof(why), "cannot use the socket");
    }
    if (e) {
      /* Through the chain, so that the reason reaches the request. */
      filter_fail(&t->f, e, 0, "%s", why);
      return 0;
    }
  }
  int r = uv_tcp_connect(&t->req, &t->handle, addr, on_connect);
  return r < 0 ? filter_tcp_map_uv(r) : 0;
}

/*
 * filter_tcp.c — the socket at the bottom of a connection's chain (see
 * filter_tcp.h). The one filter that calls libuv; conn.c creates and closes it.
 */
#include "filter_tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"

/* Output queued but not yet written to the socket; past it a send fails: the
 * protocols above never need more than a window of data in flight. */
#define TCP_MAX_QUEUED (8u * 1024u * 1024u)
/* The bottom's scratch slot: the first of the chain (filter.h). */
#define TCP_SCRATCH 0

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

void filter_tcp_init(filter_tcp *t, uv_loop_t *loop, int proxied) {
  memset(&t->f, 0, sizeof(t->f));
  t->f.ops = &tcp_ops;
  t->f.layer = "tcp";
  /* The connect timeout covers TCP, and through a proxy the whole tunnel. */
  t->f.timeout_code = proxied ? GUISE_E_PROXY_TIMEOUT : GUISE_E_TIMEOUT_CONNECT;
  t->f.eof_code = GUISE_E_CONNECT_CLOSED;
  t->proxied = proxied;
  t->connected = 0;
  uv_tcp_init(loop, &t->handle); /* AF_UNSPEC: no socket before connect, no failure */
  t->handle.data = t;
  t->req.data = t;
}

int filter_tcp_connect(filter_tcp *t, const struct sockaddr *addr) {
  int r = uv_tcp_connect(&t->req, &t->handle, addr, on_connect);
  return r < 0 ? filter_tcp_map_uv(r) : 0;
}

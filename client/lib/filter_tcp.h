/*
 * filter_tcp.h — the bottom of a connection's chain (filter.h): a TCP socket
 * through libuv. It connects, reads into a per-thread buffer lent for the
 * callback, and writes at once when the socket takes it (queuing a copy only of
 * what it does not). Used by conn.c, which owns the handle's lifetime.
 */
#ifndef GUISE_FILTER_TCP_H
#define GUISE_FILTER_TCP_H

#include <net/if.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "filter.h"

/* Where a client's connections leave from and how fast they read
 * (guise_client_options: interface, local_port_min/max, max_recv_rate). Made
 * once per client (tcp_local_init) and read by its connections. */
typedef struct tcp_local {
  char device[IF_NAMESIZE];      /* an interface name: SO_BINDTODEVICE, else its address; "" none */
  struct sockaddr_storage addr;  /* an address to bind to (port 0); ss_family 0: none */
  uint16_t port_min, port_max;   /* local ports tried in turn; 0: the system picks */
  uint64_t recv_rate;            /* bytes a second read at most on average; 0: no limit */
} tcp_local;

/* Fills |l|: |iface| NULL, an interface name or an IP address; |port_max| 0:
 * |port_min|. Returns 0, or GUISE_E_USAGE_INVALID_ARGUMENT (a name too long
 * for an interface, port_max below port_min). Whether the interface exists is
 * found when a connection is made (it may come and go). */
int tcp_local_init(tcp_local *l, const char *iface, unsigned port_min, unsigned port_max, uint64_t recv_rate);

typedef struct filter_tcp {
  filter f;            /* first: the chain sees this */
  uv_tcp_t handle;     /* handle.data: this filter */
  uv_connect_t req;
  int proxied;         /* the peer is a proxy: refusal is the proxy's, and every
                          read is acknowledged at once (TCP_QUICKACK) */
  uint64_t connected;  /* uv_hrtime() when TCP came up, 0 before */
  const tcp_local *local; /* NULL: none of it */
  /* Receive pacing (local->recv_rate): a token bucket in bytes, refilled at
   * the rate up to a burst; below zero the socket is not read until the
   * timer has let the bucket fill again. */
  uv_timer_t pace;     /* pace.data: this filter; made only with a rate */
  int pace_made;
  int paused;
  double tokens;
  uint64_t refilled;   /* uv_hrtime() of the last refill */
} filter_tcp;

/* Makes the handle on |loop| (which cannot fail: no socket yet); |local| (NULL:
 * none) must outlive the connection. */
void filter_tcp_init(filter_tcp *t, uv_loop_t *loop, int proxied, const tcp_local *local);
/* Starts connecting to |addr|; filter_up follows. Returns 0 or a GUISE_E_* code
 * (then nothing follows). A local interface or port that cannot be had fails
 * the chain (GUISE_E_CONNECT_BIND_FAILED, the reason in its text) from inside
 * the call, with 0 returned. */
int filter_tcp_connect(filter_tcp *t, const struct sockaddr *addr);
/* Closes the filter's libuv handles with |cb| (their data: the filter) and
 * returns how many closes will call it. */
int filter_tcp_close(filter_tcp *t, uv_close_cb cb);

/* A libuv error as a GUISE_E_* code. */
int filter_tcp_map_uv(int r);

#endif

/*
 * filter_tcp.h — the bottom of a connection's chain (filter.h): a TCP socket
 * through libuv. It connects, reads into a per-thread buffer lent for the
 * callback, and writes at once when the socket takes it (queuing a copy only of
 * what it does not). Used by conn.c, which owns the handle's lifetime.
 */
#ifndef GUISE_FILTER_TCP_H
#define GUISE_FILTER_TCP_H

#include <stdint.h>

#include <uv.h>

#include "filter.h"

typedef struct filter_tcp {
  filter f;            /* first: the chain sees this */
  uv_tcp_t handle;     /* handle.data: this filter */
  uv_connect_t req;
  int proxied;         /* the peer is a proxy: refusal is the proxy's, and every
                          read is acknowledged at once (TCP_QUICKACK) */
  uint64_t connected;  /* uv_hrtime() when TCP came up, 0 before */
} filter_tcp;

/* Makes the handle on |loop| (which cannot fail: no socket yet). */
void filter_tcp_init(filter_tcp *t, uv_loop_t *loop, int proxied);
/* Starts connecting to |addr|; filter_up follows. Returns 0 or a GUISE_E_* code
 * (then nothing follows). */
int filter_tcp_connect(filter_tcp *t, const struct sockaddr *addr);

/* A libuv error as a GUISE_E_* code. */
int filter_tcp_map_uv(int r);

#endif

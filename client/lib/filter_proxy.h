/*
 * filter_proxy.h — the tunnel handshake as a filter of a connection's chain
 * (filter.h): HTTP CONNECT, SOCKS4/4a or SOCKS5, the bytes made and read by
 * proxy.c's I/O-free proxy_hs. Once the tunnel is up it passes bytes through
 * both ways without a copy. Built by conn.c.
 */
#ifndef GUISE_FILTER_PROXY_H
#define GUISE_FILTER_PROXY_H

#include <stdint.h>

#include "filter.h"
#include "proxy.h"

typedef struct filter_proxy {
  filter f;              /* first: the chain sees this */
  struct proxy_tunnel *t; /* during the handshake only (its buffers are ~10 KiB) */
} filter_proxy;

/* Prepares the handshake with the proxy of |cfg| (which must outlive the
 * filter) towards |host|:|port| (|target|: the origin's address, for the
 * kinds resolved here). Returns 0 or a GUISE_E_* code; either way |p| can be
 * closed. */
int filter_proxy_init(filter_proxy *p, const proxy_cfg *cfg, const char *host, uint16_t port,
                      const struct sockaddr *target);

#endif

/*
 * filter_udp.h — the bottom of an HTTP/3 connection's chain (filter.h): a
 * connected UDP socket through libuv (uv_udp_t), the only other libuv user of
 * a chain besides filter_tcp.c.
 *
 * Datagram boundaries: the chain of a UDP connection has this filter alone
 * (QUIC carries its own TLS), so every filter_pass() from it is exactly one
 * datagram and every send() it is given is sent as exactly one datagram. A
 * filter that would sit above it (a SOCKS5 UDP ASSOCIATE wrapper) must keep
 * that one-to-one rule; a stream filter (TLS, a CONNECT tunnel) must never.
 *
 * The socket is connect(2)ed to the peer, so the kernel drops datagrams from
 * anyone else and reports the peer's ICMP port unreachable as ECONNREFUSED on
 * the next receive or send: that ends the chain with GUISE_E_CONNECT_REFUSED
 * and "nothing answers on UDP port N". Used by conn.c, which owns the handle's
 * lifetime.
 */
#ifndef GUISE_FILTER_UDP_H
#define GUISE_FILTER_UDP_H

#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "filter.h"
#include "filter_tcp.h"

/* The largest datagram taken: a datagram is read into the per-thread scratch
 * buffer (FILTER_READ_BUF, 64 KiB, above any UDP payload over IPv4 or IPv6
 * without jumbograms); one that does not fit whole (MSG_TRUNC) is dropped and
 * counted, never passed up cut. */
#define UDP_MAX_DATAGRAM FILTER_READ_BUF
/* Datagrams the socket did not take at once, queued in libuv: past this many
 * bytes a datagram is dropped (QUIC's loss recovery sends it again), so a
 * peer that stops reading cannot make the client hold more. */
#define UDP_MAX_QUEUED (256u * 1024u)
typedef struct filter_udp {
  filter f;              /* first: the chain sees this */
  uv_udp_t handle;       /* handle.data: this filter */
  uint16_t port;         /* the peer's, for the words of a refusal */
  int reading;
  uint64_t connected;    /* uv_hrtime() when connected, 0 before */
  uint64_t dropped_in;   /* datagrams too large for the buffer */
  uint64_t dropped_out;  /* datagrams not sent: the queue was full */
} filter_udp;

/* Makes the handle on |loop| (no socket yet); |local| (NULL: none) must outlive
 * the connection: its address or device is used, its port range and receive
 * rate are not (TCP's). */
void filter_udp_init(filter_udp *u, uv_loop_t *loop, const tcp_local *local);
/* Binds (when |local| asks) and connects the socket to |addr|, and starts
 * reading. 0: connected at once (the owner calls filter_up when it is ready
 * for the first datagram), or a GUISE_E_* code (nothing follows). */
int filter_udp_connect(filter_udp *u, const struct sockaddr *addr, const tcp_local *local);
/* Closes the handle with |cb| (its data: the filter); returns 1, the number of
 * closes that will call it. */
int filter_udp_close(filter_udp *u, uv_close_cb cb);
/* Local and peer addresses of the connected socket; 0 or -1. */
int filter_udp_local(const filter_udp *u, struct sockaddr_storage *out);
int filter_udp_remote(const filter_udp *u, struct sockaddr_storage *out);

/*
 * SOCKS5 UDP ASSOCIATE (RFC 1928 4, 6, 7) for HTTP/3 through a socks5:// or
 * socks5h:// proxy: the filter sits on the TCP control connection to the proxy
 * (layer "proxy"), asks for an association (the RFC 1929 user name and password
 * when the proxy URL has them), connects the UDP socket to the relay the proxy
 * names (its own address when it answers 0.0.0.0) and is up. Then each datagram
 * from above goes to the relay with the header RSV RSV FRAG=0 ATYP DST.ADDR
 * DST.PORT of the origin (its address for socks5://, its name for socks5h://),
 * and each datagram from the relay has its header read through CBS and taken
 * off (FRAG other than 0, a header cut short: dropped) before it goes up, one
 * datagram each way as filter_udp.h requires. The association lives as long as
 * the control connection: the proxy closing it ends the connection. The
 * proxy's replies are read through CBS, at most 512 bytes.
 */
#include "proxy.h"

typedef struct filter_socks_udp {
  filter f;                /* in the chain, above the control connection's TCP */
  filter unwrap;           /* above |udp|: takes the relay's header off */
  filter_udp *udp;
  const proxy_cfg *proxy;
  struct sockaddr_storage proxy_addr;
  uint8_t hdr[4 + 1 + 255 + 2]; /* the origin's datagram header */
  size_t hdr_len;
  int state;
  uint8_t in[512];
  size_t in_len;
} filter_socks_udp;

/* |proxy| (kind PROXY_SOCKS5 or PROXY_SOCKS5H) must outlive the filter; the
 * origin is |target_addr| (socks5://) or |host| (socks5h://) and |port|.
 * GUISE_E_USAGE_INVALID_ARGUMENT for a name longer than 255 bytes. */
int filter_socks_udp_init(filter_socks_udp *s, filter_udp *udp, const proxy_cfg *proxy,
                          const struct sockaddr *proxy_addr, const char *host, uint16_t port,
                          const struct sockaddr *target_addr);
/* The proxy's reply to UDP ASSOCIATE at the start of |p| (RFC 1928 6),
 * through CBS, no I/O: 0 (more bytes needed); 1 with |*relay| (|*zero|: its
 * address is all zeros, "the proxy's own") and |*used|; or a negative GUISE_E_*
 * code with a static reason in |*why| and the byte it is about in |*lib|. */
int socks_udp_reply(const uint8_t *p, size_t n, struct sockaddr_storage *relay, int *zero, size_t *used,
                    const char **why, int *lib);
/* A datagram from the relay (RFC 1928 7): 1 and its payload, or 0 (a
 * fragment, a cut or unknown header, no payload: drop it). */
int socks_udp_unwrap(const uint8_t *p, size_t n, const uint8_t **payload, size_t *len);

/* After filter_chain_init: hangs |udp| under the unwrapping filter of |s|. */
void filter_socks_udp_link(filter_socks_udp *s, filter_chain *ch);

#endif

/*
 * filter.h — a connection as a chain of filters, the lowest first:
 *
 *   owner (conn.c)    up / data / end / timer          (filter_chain_ops)
 *        ^  | send
 *   [TLS to the origin]          filter_tls.c, "tls"
 *   [proxy handshake]            filter_proxy.c, "proxy" (CONNECT, SOCKS4/4a/5)
 *   [TLS to an https:// proxy]   filter_tls.c again, "proxy-tls"
 *   socket                       filter_tcp.c, "tcp" (touches libuv)
 *
 * HTTP/3's chain is one filter, filter_udp.c ("udp", libuv too): no stream
 * filter sits on it, so each pass up is one datagram and each send one
 * datagram (filter_udp.h).
 *
 * Bytes from the peer go up (recv), bytes from the owner go down (send). Each
 * filter starts its handshake when the one below reports up (connect), and
 * reports up itself when done; when the top is up, so is the connection. The
 * filters call only the one below (send), the one above (filter_up, filter_pass)
 * and the chain (filter_fail, filter_eof); the owner builds the chain, feeds the
 * bottom from its socket and ends it. Every filter is I/O-free but the bottom,
 * so a test can put a memory pipe there (tests/unit/conn).
 */
#ifndef GUISE_FILTER_H
#define GUISE_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "gerr.h"

typedef struct filter filter;
typedef struct filter_chain filter_chain;

typedef struct filter_ops {
  /* The filter below is up: start the handshake (NULL for the bottom, which the
   * owner starts). */
  void (*connect)(filter *f);
  /* Bytes from above for the peer. Returns 0 or a GUISE_E_* code (the chain
   * goes on: the caller decides). */
  int (*send)(filter *f, const uint8_t *p, size_t n);
  /* Bytes from below (NULL for the bottom). */
  void (*recv)(filter *f, const uint8_t *p, size_t n);
  /* Frees what the filter holds; called once, after the owner's end. */
  void (*close)(filter *f);
} filter_ops;

struct filter {
  const filter_ops *ops;
  filter *below, *above;
  filter_chain *chain;
  const char *layer;   /* static: the gerr layer of its failures */
  int timeout_code;    /* the timer fired during its handshake */
  int eof_code;        /* the peer closed during its handshake */
  unsigned timeout_ms; /* its handshake's own timer, when |restarts_timer| */
  uint8_t restarts_timer;
  uint8_t up;
};

typedef struct filter_chain_ops {
  void (*up)(filter_chain *ch);                                /* every filter is up */
  void (*data)(filter_chain *ch, const uint8_t *p, size_t n);  /* out of the top */
  void (*end)(filter_chain *ch);   /* ended: ch->err says why (code 0: a clean close) */
  void (*timer)(filter_chain *ch, unsigned ms);  /* restart the handshake timer; 0: none */
} filter_chain_ops;

struct filter_chain {
  const filter_chain_ops *ops;
  filter *bottom, *top;
  gerr err;
  int up;      /* every filter is up */
  int closed;  /* set by the owner when it ends the chain: filters stop */
};

/* Links |n| filters, |f[0]| the bottom, into |ch|. */
void filter_chain_init(filter_chain *ch, const filter_chain_ops *ops, filter **f, size_t n);

/* |f| is up: the next starts (its timer first), or the owner hears up. */
void filter_up(filter *f);
/* Bytes from |f| to the filter above, or the owner's data. */
void filter_pass(filter *f, const uint8_t *p, size_t n);
/* |f| failed: the chain's error (the first wins) with |f|'s layer, then end. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void filter_fail(filter *f, int code, int lib, const char *fmt, ...);
/* The peer closed the byte stream at |f|: a clean end when every filter is up,
 * else the first one still in its handshake fails with its eof_code. */
void filter_eof(filter *f);
/* The timer fired: the first filter still in its handshake fails with its
 * timeout_code. */
void filter_chain_timeout(filter_chain *ch);

/* Per-thread read buffers of FILTER_READ_BUF bytes, lent for one callback by
 * slot (one per position in a chain, so nested filters never share); freed
 * when the thread's last chain is gone (filter_scratch_chains). */
#define FILTER_READ_BUF (64u * 1024u)
#define FILTER_SCRATCH_SLOTS 3
uint8_t *filter_scratch_take(int slot);
void filter_scratch_give(int slot, uint8_t *p);
void filter_scratch_chains(int delta);

#endif

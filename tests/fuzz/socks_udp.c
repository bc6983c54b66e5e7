/* Fuzz target: what a SOCKS5 proxy sends back for HTTP/3 (client/lib/filter_udp.c):
 * its reply to UDP ASSOCIATE (socks_udp_reply) and the datagrams of its UDP relay
 * (socks_udp_unwrap), both from a hostile proxy. The input is given to each.
 *
 * Contract checked: the reply reader asks for more bytes, or takes a whole reply
 * (used within the input, an IPv4 or IPv6 relay with a port above 0, "zero" only
 * for an all-zero address), or refuses with a reason and a negative code; the
 * unwrapper gives a non-empty payload inside the datagram, ending where it ends,
 * after a header of the RFC's form (FRAG 0), or drops it. */
#define _GNU_SOURCE /* uv.h, through filter_udp.h */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter_udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct sockaddr_storage relay;
  int zero = 0, lib = 0;
  size_t used = 0;
  const char *why = NULL;
  int r = socks_udp_reply(data, size, &relay, &zero, &used, &why, &lib);
  if (r < 0 && (why == NULL || why[0] == '\0')) abort();
  if (r == 1) {
    if (used == 0 || used > size) abort();
    if (relay.ss_family == AF_INET) {
      const struct sockaddr_in *in = (const struct sockaddr_in *)&relay;
      if (in->sin_port == 0 || (zero && in->sin_addr.s_addr != 0)) abort();
    } else if (relay.ss_family == AF_INET6) {
      if (((const struct sockaddr_in6 *)&relay)->sin6_port == 0) abort();
    } else {
      abort();
    }
  }
  if (r > 1) abort();
  const uint8_t *payload = NULL;
  size_t len = 0;
  if (socks_udp_unwrap(data, size, &payload, &len)) {
    /* the shortest header: RSV RSV FRAG ATYP=3, a one-byte name, PORT */
    if (len == 0 || payload < data + 8 || payload + len != data + size) abort();
    if (data[2] != 0) abort(); /* FRAG */
  }
  return 0;
}

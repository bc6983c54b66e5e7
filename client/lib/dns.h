/*
 * dns.h — name resolution for the client: c-ares driven by the libuv loop, a
 * small cache of answers, and curl-style overrides (--resolve host:port:addr).
 * A loop module (includes uv.h). One per loop; not thread-safe.
 */
#ifndef GUISE_DNS_H
#define GUISE_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

typedef struct dns dns;

/* Addresses kept per answer: enough for happy-eyeballs-style fallback. */
#define DNS_MAX_ADDRS 8

/* Called once per dns_resolve: 0 and the addresses (port set), or a GUISE_E_*
 * code (DNS_NOT_FOUND, DNS_FAILED, NOMEM) and n == 0. */
typedef void (*dns_cb)(int err, const struct sockaddr_storage *addrs, size_t n, void *ud);

/* A resolver on |loop|. Returns 0 and |*out|, or a GUISE_E_* code. */
int dns_new(uv_loop_t *loop, dns **out);

/* Closes the resolver from the next loop iteration (safe inside a dns_cb);
 * pending queries end with GUISE_E_CANCELLED. Memory is released once the loop
 * has run the closing callbacks. */
void dns_free(dns *d);

/* curl's --dns-servers: "ip[:port][,ip[:port]...]" instead of /etc/resolv.conf.
 * Returns 0 or GUISE_E_USAGE_INVALID_ARGUMENT. */
int dns_set_servers(dns *d, const char *servers);

/* curl's --resolve: "host:port:addr[,addr...]" (IPv6 in brackets). Returns 0 or
 * GUISE_E_USAGE_INVALID_ARGUMENT. */
int dns_add_override(dns *d, const char *spec);

/* Resolves |host| for |port|: an IP literal or an override answers at once (the
 * callback runs before dns_resolve returns), a cached answer too; otherwise
 * c-ares asks. Returns 0 (the callback will run) or a GUISE_E_* code (it will
 * not). */
int dns_resolve(dns *d, const char *host, unsigned port, dns_cb cb, void *ud);

#endif

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

/* Room for a dns_cb's |why|, NUL included (a request's error detail keeps 159
 * bytes: this much is only reached with a host name over 40 bytes). */
#define DNS_WHY_MAX 200

/* Called once per dns_resolve, unless dns_cancel took the query back: 0 and the
 * addresses (port set), or a GUISE_E_* code and n == 0 — DNS_NOT_FOUND (the
 * server says the name does not exist or has no address), DNS_FAILED (the
 * servers refused, were unreachable, did not answer, or answered something
 * malformed), CANCELLED (dns_free), NOMEM. |why|: one line for the error that
 * names the host or the servers asked ("" on success), valid during the call. */
typedef void (*dns_cb)(int err, const struct sockaddr_storage *addrs, size_t n, const char *why,
                       void *ud);

/* A resolver on |loop|. Returns 0 and |*out|, or a GUISE_E_* code. It puts no
 * handle on the loop until the first query that goes to a DNS server. */
int dns_new(uv_loop_t *loop, dns **out);

/* Closes the resolver (safe inside a dns_cb; |d| is not to be used after). One
 * that never sent a query is freed at once; otherwise it closes from the next
 * loop iteration, pending queries end with GUISE_E_CANCELLED, and memory is
 * released once the loop has run the closing callbacks. */
void dns_free(dns *d);

/* curl's --dns-servers: "ip[:port][,ip[:port]...]" instead of /etc/resolv.conf
 * (IPv6 as [ip]:port, or bare without a port; port 1-65535, 53 by default; at
 * most 8 entries, none empty). Returns 0 or GUISE_E_USAGE_INVALID_ARGUMENT
 * (guise_dns_servers_check says why). */
int dns_set_servers(dns *d, const char *servers);

/* The servers that queries go to, for messages: "DNS server 127.0.0.1:5353",
 * "DNS servers a, b, c and 2 more". Valid until dns_free. */
const char *dns_servers_text(const dns *d);

/* curl's --resolve: "host:port:addr[,addr...]" (IPv6 in brackets). Returns 0 or
 * GUISE_E_USAGE_INVALID_ARGUMENT. */
int dns_add_override(dns *d, const char *spec);

/* curl's -4 / -6: AF_INET or AF_INET6 asks for, and answers with, addresses
 * of that family only (overrides and IP literals included; none:
 * GUISE_E_DNS_NOT_FOUND); AF_UNSPEC (the default): both. Before the first
 * query. */
void dns_set_family(dns *d, int family);

/* Resolves |host| for |port|: an IP literal or an override answers at once (the
 * callback runs before dns_resolve returns), a cached answer too; otherwise
 * c-ares asks. Returns 0 (the callback will run) or a GUISE_E_* code (it will
 * not). */
int dns_resolve(dns *d, const char *host, unsigned port, dns_cb cb, void *ud);

/* Takes back the queries of |ud| still waiting for c-ares (the caller gave up,
 * e.g. its connect timeout): their callbacks will not run. When no query is left
 * that someone waits for, c-ares's are cancelled from the next loop iteration,
 * so that its retries (75 s with the defaults) do not keep the loop alive.
 * Returns how many were taken back. */
int dns_cancel(dns *d, void *ud);

#endif

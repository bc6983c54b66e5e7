/*
 * alt_svc.h — the Alt-Svc header (RFC 7838) and a client's cache of the HTTP/3
 * alternatives it announced, as Chrome keeps them (net/http/
 * http_server_properties): after a response over HTTP/1.1 or HTTP/2 with
 * `alt-svc: h3=":443"; ma=86400`, later requests to that origin race HTTP/3
 * against TCP until |ma| seconds have passed; `clear` forgets the origin's
 * entry; an HTTP/3 attempt that failed marks the entry broken for
 * ALT_SVC_BROKEN_MS, during which the origin is not raced (Chrome: 5 minutes,
 * doubling on each failure; here fixed).
 *
 * Only "h3" is taken (not the drafts' "h3-29" nor "h2"), and only an
 * alternative on the same host (an empty host, `h3=":8443"`, or the origin's
 * own name): another host would need its certificate checked for the origin,
 * which guise does not do. The first h3 alternative of a header wins.
 *
 * The header is read through CBS with caps: ALT_SVC_MAX_VALUE bytes,
 * ALT_SVC_MAX_ALTS alternatives, ALT_SVC_MAX_PARAMS parameters each; a value
 * past a cap or malformed is ignored as a whole (the cache keeps what it had),
 * with a reason for the log. No I/O: times are the caller's (milliseconds).
 * Not thread-safe: a cache belongs to one client.
 */
#ifndef GUISE_ALT_SVC_H
#define GUISE_ALT_SVC_H

#include <stddef.h>
#include <stdint.h>

#define ALT_SVC_MAX_VALUE 4096
#define ALT_SVC_MAX_ALTS 16
#define ALT_SVC_MAX_PARAMS 8
#define ALT_SVC_MAX_HOST 255
/* Origins kept per client; past it the entry closest to expiry goes. */
#define ALT_SVC_MAX_ENTRIES 1024
/* RFC 7838 3.1: ma's default, 24 hours. */
#define ALT_SVC_DEFAULT_MA 86400u
#define ALT_SVC_BROKEN_MS (5u * 60u * 1000u)

/* What one header value says about HTTP/3. */
typedef struct alt_svc_h3 {
  int clear;             /* "clear": forget the origin's alternatives */
  int found;             /* an h3 alternative on the same host */
  uint16_t port;         /* its UDP port */
  uint64_t max_age;      /* seconds (ma=, default ALT_SVC_DEFAULT_MA; capped at 2^32) */
} alt_svc_h3;

/* Reads one Alt-Svc field value for |origin_host| (the request's host, for
 * "same host"). 0 and |*out|; or -1 with a static reason in |*why| (the value
 * is then to be ignored). */
int alt_svc_parse(const uint8_t *p, size_t n, const char *origin_host, alt_svc_h3 *out, const char **why);

typedef struct alt_svc_cache alt_svc_cache;

alt_svc_cache *alt_svc_cache_new(void);
void alt_svc_cache_free(alt_svc_cache *c);
/* Applies a parsed header of the response from https://|host|:|port| at |now|. */
void alt_svc_cache_learn(alt_svc_cache *c, const char *host, unsigned port, const alt_svc_h3 *h, uint64_t now);
/* The HTTP/3 port to race for https://|host|:|port| at |now|, or 0 (none,
 * expired, or broken). */
unsigned alt_svc_cache_lookup(alt_svc_cache *c, const char *host, unsigned port, uint64_t now);
/* HTTP/3 to |host|:|port| failed: its entry is not used for ALT_SVC_BROKEN_MS. */
void alt_svc_cache_broken(alt_svc_cache *c, const char *host, unsigned port, uint64_t now);
size_t alt_svc_cache_size(const alt_svc_cache *c);

#endif

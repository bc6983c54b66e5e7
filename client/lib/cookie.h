/*
 * cookie.h — a cookie jar after RFC 6265 (section numbers below are its):
 * Set-Cookie parsing (5.2) and storage (5.3) with public-suffix checks through
 * libpsl, the Cookie header for a request (5.4), and Netscape cookie files as
 * curl reads and writes them (-b FILE, -c FILE). See docs/COOKIES.md.
 *
 * I/O-free and loop-free; one jar belongs to one thread. Untrusted input
 * (Set-Cookie values, cookie files) is read through CBS and bounded:
 * a field over its cap drops the cookie, never the jar.
 */
#ifndef GUISE_COOKIE_H
#define GUISE_COOKIE_H

#include <stddef.h>
#include <stdint.h>

/* Caps. Chrome's CookieMonster keeps at most 180 cookies per domain and 3300 in
 * all (net/cookies/cookie_monster.h, kDomainMaxCookies, kMaxCookies); RFC 6265
 * 6.1 asks for at least 4096 bytes per cookie (name + value + attributes) and
 * 50 per domain. */
#define COOKIE_MAX_TOTAL 3300
#define COOKIE_MAX_PER_DOMAIN 180
#define COOKIE_MAX_NAME_VALUE 4096
#define COOKIE_MAX_DOMAIN 253
#define COOKIE_MAX_PATH 1024
#define COOKIE_MAX_SET_COOKIE 8192 /* one Set-Cookie header value */

typedef enum cookie_samesite {
  COOKIE_SAMESITE_UNSET = 0,
  COOKIE_SAMESITE_NONE,
  COOKIE_SAMESITE_LAX,
  COOKIE_SAMESITE_STRICT
} cookie_samesite;

typedef struct cookie {
  char *name, *value;
  char *domain;           /* lowercase, no leading dot */
  char *path;
  int64_t expires;        /* Unix seconds; 0: a session cookie */
  uint64_t created;       /* order of creation (5.4 step 2) */
  int host_only, secure, http_only;
  cookie_samesite samesite;
} cookie;

typedef struct cookie_jar cookie_jar;

/* A jar; NULL on allocation failure. */
cookie_jar *cookie_jar_new(void);
void cookie_jar_free(cookie_jar *j);
size_t cookie_jar_count(const cookie_jar *j);
const cookie *cookie_jar_at(const cookie_jar *j, size_t i);

/*
 * Stores the Set-Cookie header |v| (|len| bytes) received from |host| (lowercase
 * name or IP literal) for a request to |path| over https (|secure_origin|) at
 * Unix time |now|. Returns 1 stored (or an existing cookie replaced or deleted),
 * 0 ignored, with a reason in |why| (static): no '=', an empty name, a Domain
 * that does not match the host or is a public suffix, Secure from http, a
 * __Secure-/__Host- prefix broken, over a cap.
 */
int cookie_jar_set(cookie_jar *j, const char *host, const char *path, int secure_origin, const char *v,
                   size_t len, int64_t now, const char **why);

/*
 * Writes the Cookie header value for a request to |host| |path| (https:
 * |secure|) at |now| into |out| (|cap| bytes, NUL-terminated): "a=1; b=2",
 * longer paths first, then older cookies first (5.4). Returns the length, 0 if
 * no cookie applies; cookies that would not fit are left out.
 */
size_t cookie_header(const cookie_jar *j, const char *host, const char *path, int secure, int64_t now,
                     char *out, size_t cap);

/*
 * Reads a Netscape cookie file (curl's format: domain, include-subdomains,
 * path, secure, expiry, name, value, tab-separated; "#HttpOnly_" before the
 * domain for HttpOnly; other '#' lines are comments) from |text| (|len| bytes).
 * Expired cookies are dropped. Each malformed line is skipped and reported to
 * |warn| (may be NULL) with its number and reason. Returns the cookies added.
 */
size_t cookie_jar_load_netscape(cookie_jar *j, const char *text, size_t len, int64_t now,
                                void (*warn)(void *arg, size_t line, const char *why), void *arg);

/* Writes the jar in the same format (session cookies with expiry 0, as curl
 * does) to |path|, replacing it atomically. 0 or -1 with errno. */
int cookie_jar_save_netscape(const cookie_jar *j, const char *path, int64_t now);

#endif

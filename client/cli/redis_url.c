/* redis_url.c — see redis_url.h. */
#include "redis_url.h"

#include <openssl/bytestring.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "guise.h"

int redis_url_is(const char *s) {
  return strncasecmp(s, "redis://", 8) == 0 || strncasecmp(s, "rediss://", 9) == 0;
}

/* The reason, with the byte offset from the start of the URL. The text is
 * ours; nothing of the URL is quoted (it may hold the password). */
static int fail(char *err, size_t errlen, size_t at, const char *why) {
  if (errlen) snprintf(err, errlen, "%s (at byte %zu)", why, at);
  return -1;
}

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes all of |in| into |out| (|max| bytes and a NUL). A raw byte
 * must be visible ASCII or above 0x7f and not in |refused|; a decoded one must
 * not be NUL. |base| is |in|'s offset in the URL, for the messages. */
static int decode_part(CBS in, char *out, size_t max, size_t *out_len, const char *refused, const char *what,
                       size_t base, char *err, size_t errlen) {
  size_t n = 0, start = CBS_len(&in);
  char why[96];
  while (CBS_len(&in)) {
    size_t at = base + start - CBS_len(&in);
    uint8_t c, h, l;
    if (!CBS_get_u8(&in, &c)) break;
    if (c == '%') {
      if (!CBS_get_u8(&in, &h) || !CBS_get_u8(&in, &l) || hexval(h) < 0 || hexval(l) < 0) {
        snprintf(why, sizeof(why), "the %s has a '%%' not followed by two hex digits", what);
        return fail(err, errlen, at, why);
      }
      c = (uint8_t)(hexval(h) * 16 + hexval(l));
      if (c == 0) {
        snprintf(why, sizeof(why), "the %s has %%00 (a NUL byte)", what);
        return fail(err, errlen, at, why);
      }
    } else if (c <= 0x20 || c == 0x7f || strchr(refused, c)) {
      snprintf(why, sizeof(why), "the %s has a byte it cannot have unescaped (0x%02x)", what, c);
      return fail(err, errlen, at, why);
    }
    if (n == max) {
      snprintf(why, sizeof(why), "the %s is longer than %zu bytes", what, max);
      return fail(err, errlen, at, why);
    }
    out[n++] = (char)c;
  }
  out[n] = '\0';
  if (out_len) *out_len = n;
  return 0;
}

/* A decimal number of 1 to 10 digits, all of |in|, in [lo, hi]. */
static int get_number(CBS in, long lo, long hi, long *v) {
  if (CBS_len(&in) == 0 || CBS_len(&in) > 10) return -1;
  long n = 0;
  uint8_t c;
  while (CBS_get_u8(&in, &c)) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  if (n < lo || n > hi) return -1;
  *v = n;
  return 0;
}

/* The first offset of any byte of |set| in |in|, or CBS_len(in). */
static size_t span_until(const CBS *in, const char *set) {
  const uint8_t *p = CBS_data(in);
  size_t n = CBS_len(in);
  for (size_t i = 0; i < n; i++)
    if (p[i] && strchr(set, p[i])) return i;
  return n;
}

/* The last offset of |c| in |in|, or -1. */
static long last_of(const CBS *in, uint8_t c) {
  const uint8_t *p = CBS_data(in);
  for (size_t i = CBS_len(in); i > 0; i--)
    if (p[i - 1] == c) return (long)(i - 1);
  return -1;
}

int redis_url_parse(const char *s, size_t len, redis_url *u, char *err, size_t errlen) {
  memset(u, 0, sizeof(*u));
  u->db = -1;
  u->port = 6379;
  if (errlen) err[0] = '\0';
  if (len > REDIS_URL_MAX) return fail(err, errlen, REDIS_URL_MAX, "longer than 4096 bytes");
  CBS url, scheme;
  CBS_init(&url, (const uint8_t *)s, len);
  size_t colon = span_until(&url, ":");
  if (!CBS_get_bytes(&url, &scheme, colon) || !CBS_skip(&url, 1))
    return fail(err, errlen, 0, "no scheme: expected redis:// or rediss://");
  if (CBS_len(&scheme) == 5 && strncasecmp((const char *)CBS_data(&scheme), "redis", 5) == 0) u->tls = 0;
  else if (CBS_len(&scheme) == 6 && strncasecmp((const char *)CBS_data(&scheme), "rediss", 6) == 0) u->tls = 1;
  else return fail(err, errlen, 0, "the scheme is not redis:// or rediss://");
  uint8_t a, b;
  if (!CBS_get_u8(&url, &a) || !CBS_get_u8(&url, &b) || a != '/' || b != '/')
    return fail(err, errlen, colon + 1, "expected // after the scheme");
  size_t auth_at = len - CBS_len(&url);

  /* The authority ends at the first '/', '?' or '#' (RFC 3986 3.2); the
   * userinfo is what comes before its last '@'. */
  CBS auth;
  CBS_get_bytes(&url, &auth, span_until(&url, "/?#"));
  long atpos = last_of(&auth, '@');
  if (atpos >= 0) {
    CBS info, user, pass;
    CBS_get_bytes(&auth, &info, (size_t)atpos);
    CBS_skip(&auth, 1);
    size_t c = span_until(&info, ":");
    if (c == CBS_len(&info))
      return fail(err, errlen, auth_at,
                  "a user name without a password (write :PASSWORD@ for the default user, USER:PASSWORD@ for an ACL user)");
    CBS_get_bytes(&info, &user, c);
    CBS_skip(&info, 1);
    pass = info;
    if (decode_part(user, u->user, REDIS_USER_MAX, NULL, ":/?#[]", "user name", auth_at, err, errlen) != 0) return -1;
    /* The password's own message says where, never what. */
    if (decode_part(pass, u->password, REDIS_PASSWORD_MAX, NULL, "/?#[]", "password", auth_at + c + 1, err,
                    errlen) != 0)
      return -1;
    if (u->password[0] == '\0') return fail(err, errlen, auth_at + c + 1, "an empty password");
    u->has_password = 1;
  }
  size_t host_at = len - CBS_len(&url) - CBS_len(&auth);

  /* HOST[:PORT], HOST a name or an IPv4 address, or [IPv6]. */
  CBS host;
  uint8_t first;
  if (CBS_len(&auth) && CBS_data(&auth)[0] == '[') {
    CBS_skip(&auth, 1);
    size_t close = span_until(&auth, "]");
    if (close == CBS_len(&auth)) return fail(err, errlen, host_at, "an IPv6 address without its closing ']'");
    CBS_get_bytes(&auth, &host, close);
    CBS_skip(&auth, 1);
    if (CBS_len(&host) == 0) return fail(err, errlen, host_at, "an empty IPv6 address");
    const uint8_t *p = CBS_data(&host);
    for (size_t i = 0; i < CBS_len(&host); i++)
      if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F') ||
            p[i] == ':' || p[i] == '.'))
        return fail(err, errlen, host_at + 1 + i, "the IPv6 address has a byte an address cannot have");
  } else {
    CBS_get_bytes(&auth, &host, span_until(&auth, ":"));
    if (CBS_len(&host) == 0) return fail(err, errlen, host_at, "no host");
    const uint8_t *p = CBS_data(&host);
    for (size_t i = 0; i < CBS_len(&host); i++)
      if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
            p[i] == '-' || p[i] == '.' || p[i] == '_'))
        return fail(err, errlen, host_at + i, "the host has a byte a host name cannot have");
  }
  if (CBS_len(&host) > REDIS_HOST_MAX) return fail(err, errlen, host_at, "the host is longer than 255 bytes");
  memcpy(u->host, CBS_data(&host), CBS_len(&host));
  u->host[CBS_len(&host)] = '\0';
  if (CBS_len(&auth)) {
    size_t port_at = len - CBS_len(&url) - CBS_len(&auth);
    long port;
    if (!CBS_get_u8(&auth, &first) || first != ':')
      return fail(err, errlen, port_at, "expected ':PORT' or the path after the host");
    if (get_number(auth, 1, 65535, &port) != 0)
      return fail(err, errlen, port_at + 1, "the port is not a number from 1 to 65535");
    u->port = (unsigned)port;
  }

  /* /KEY or /DB/KEY, nothing after. */
  size_t path_at = len - CBS_len(&url);
  if (CBS_len(&url) == 0) return fail(err, errlen, path_at, "no stream key: expected /KEY or /DB/KEY after the host");
  if (!CBS_get_u8(&url, &first) || first != '/')
    return fail(err, errlen, path_at, "a query or fragment ('?', '#') is not taken");
  CBS seg1, seg2;
  CBS_get_bytes(&url, &seg1, span_until(&url, "/?#"));
  if (CBS_len(&url) && CBS_data(&url)[0] != '/')
    return fail(err, errlen, len - CBS_len(&url), "a query or fragment ('?', '#') is not taken");
  CBS key = seg1;
  size_t key_at = path_at + 1;
  if (CBS_get_u8(&url, &first)) {
    size_t seg2_at = len - CBS_len(&url);
    CBS_get_bytes(&url, &seg2, span_until(&url, "/?#"));
    if (CBS_len(&url)) {
      return fail(err, errlen, len - CBS_len(&url),
                  CBS_data(&url)[0] == '/' ? "more than /DB/KEY in the path (a '/' in the key is written %2F)"
                                           : "a query or fragment ('?', '#') is not taken");
    }
    if (get_number(seg1, 0, 2147483647, &u->db) != 0)
      return fail(err, errlen, path_at + 1, "the database is not a number from 0 to 2147483647");
    key = seg2;
    key_at = seg2_at;
  }
  if (CBS_len(&key) == 0) return fail(err, errlen, key_at, "an empty stream key");
  return decode_part(key, u->key, REDIS_KEY_MAX, &u->key_len, "/?#", "stream key", key_at, err, errlen);
}

void redis_url_shown(const redis_url *u, char *out, size_t cap) {
  char raw[REDIS_HOST_MAX + REDIS_USER_MAX + REDIS_KEY_MAX + 64];
  int v6 = strchr(u->host, ':') != NULL;
  char db[24] = "";
  if (u->db >= 0) snprintf(db, sizeof(db), "/%ld", u->db);
  int n = snprintf(raw, sizeof(raw), "%s://%s%s%s%s%s:%u%s/%s", u->tls ? "rediss" : "redis", u->user,
                   u->has_password ? ":***@" : "", v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, db, u->key);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof(raw)) n = (int)sizeof(raw) - 1;
  if (cap) guise_escape_text(raw, (size_t)n, out, cap);
}

void redis_url_redact_raw(const char *s, size_t len, char *out, size_t cap) {
  if (cap == 0) return;
  if (len > REDIS_URL_MAX) len = REDIS_URL_MAX;
  const char *sep = NULL;
  for (size_t i = 0; i + 3 <= len && sep == NULL; i++)
    if (memcmp(s + i, "://", 3) == 0) sep = s + i;
  const char *at = NULL;
  for (size_t i = len; i > 0; i--)
    if (s[i - 1] == '@') {
      at = s + i - 1;
      break;
    }
  char raw[REDIS_URL_MAX + 8];
  size_t n = 0;
  if (at) {
    /* Everything before the last '@', scheme included when there is no "://"
     * before it: a password is somewhere in there. */
    size_t keep = sep && sep < at ? (size_t)(sep - s) + 3 : 0;
    memcpy(raw, s, keep);
    n = keep;
    memcpy(raw + n, "***", 3);
    n += 3;
    memcpy(raw + n, at, len - (size_t)(at - s));
    n += len - (size_t)(at - s);
  } else {
    memcpy(raw, s, len);
    n = len;
  }
  guise_escape_text(raw, n, out, cap);
}

/*
 * url.c — absolute http/https URLs and RFC 3986 §5.2 reference resolution.
 * See url.h for what is normalized, what is refused, and the caps.
 *
 * The input is read through a CBS (BoringSSL's bounded cursor): every piece
 * is taken with CBS_get_bytes after a scan that stops at the piece's
 * delimiters, so no offset is computed by hand. Output goes through a bounded
 * writer over url.buf that records overflow instead of writing past the end.
 */
#include "url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "guise.h"

/* ---- small helpers ---- */

static int fail(url_err *err, int code, size_t offset, const char *why) {
  if (err != NULL) {
    err->offset = offset;
    err->reason = why;
  }
  return code;
}

static int is_alpha(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}

static int is_hex(uint8_t c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_val(uint8_t c) {
  if (is_digit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

static uint8_t lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static int is_scheme_char(uint8_t c) {
  return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}

/* Number of leading bytes of |c| that satisfy |pred|. */
static size_t span(const CBS *c, int (*pred)(uint8_t)) {
  const uint8_t *p = CBS_data(c);
  size_t n = 0;
  while (n < CBS_len(c) && pred(p[n])) n++;
  return n;
}

/* Number of leading bytes of |c| that are none of |stops| (NUL-free). */
static size_t until(const CBS *c, const char *stops) {
  const uint8_t *p = CBS_data(c);
  size_t len = CBS_len(c), n = 0;
  for (; n < len; n++) { /* |stops| is a few characters: no strchr call per byte */
    const char *s = stops;
    while (*s && (uint8_t)*s != p[n]) s++;
    if (*s) break;
  }
  return n;
}

/* Offset of the cursor |c| in the string that starts at |base|. */
static size_t off(const CBS *c, const char *base) {
  return (size_t)((const char *)CBS_data(c) - base);
}

static int cbs_eq_nocase(const CBS *c, const char *lit) {
  size_t n = strlen(lit);
  if (CBS_len(c) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (lower(CBS_data(c)[i]) != (uint8_t)lit[i]) return 0;
  return 1;
}

/* Takes one byte |want| from |c| if it is next. */
static int take(CBS *c, uint8_t want) {
  if (CBS_len(c) == 0 || CBS_data(c)[0] != want) return 0;
  return CBS_skip(c, 1);
}

/* ---- percent-encode sets (WHATWG URL standard §1.3, special schemes) ---- */

/* C0 control percent-encode set: C0 controls and everything above '~'. */
static int enc_c0(uint8_t c) {
  return c < 0x20 || c > 0x7e;
}

static int enc_fragment(uint8_t c) {
  return enc_c0(c) || c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
}

/* Query set plus "'" (the special-query set used for http and https). */
static int enc_query(uint8_t c) {
  return enc_c0(c) || c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'';
}

static int enc_path(uint8_t c) {
  return enc_c0(c) || c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '?' ||
         c == '`' || c == '{' || c == '}';
}

static int enc_userinfo(uint8_t c) {
  return enc_path(c) || (c != 0 && strchr("/:;=@[\\]^|", c) != NULL);
}

/* ---- bounded writer over a char array ---- */

typedef struct wbuf {
  char *p;
  size_t len, cap; /* cap excludes nothing: every byte, NULs included */
  int full;        /* a write did not fit; the content is then unusable */
} wbuf;

static void put(wbuf *w, const void *b, size_t n) {
  if (n == 0) return; /* |b| may be NULL then (an empty CBS) */
  if (w->full || n > w->cap - w->len) {
    w->full = 1;
    return;
  }
  memcpy(w->p + w->len, b, n);
  w->len += n;
}

static void put_c(wbuf *w, char c) {
  put(w, &c, 1);
}

static void put_str(wbuf *w, const char *s) {
  put(w, s, strlen(s));
}

/* Writes |b[0..n-1]|, each byte in |enc| as %XX (uppercase, as Chrome). */
static void put_enc(wbuf *w, const uint8_t *b, size_t n, int (*enc)(uint8_t)) {
  static const char kHex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    if (enc(b[i])) {
      char e[3] = {'%', kHex[b[i] >> 4], kHex[b[i] & 15]};
      put(w, e, 3);
    } else {
      put_c(w, (char)b[i]);
    }
  }
}

/* Starts a piece at the writer's position. */
static url_piece piece_begin(const wbuf *w) {
  url_piece p = {(uint32_t)w->len, 0};
  return p;
}

/* Ends piece |p| at the writer's position and writes its NUL. */
static void piece_end(wbuf *w, url_piece *p) {
  if (!w->full) p->len = (uint32_t)(w->len - p->off);
  put_c(w, '\0');
}

/* ---- dot segments (RFC 3986 §5.2.4) ---- */

/* Removes the last segment and its preceding '/' from the output written
 * since |start| (the "remove the last segment" of rules C). */
static void pop_segment(wbuf *w, size_t start) {
  if (w->full) return;
  size_t i = w->len;
  while (i > start && w->p[i - 1] != '/') i--;
  w->len = i > start ? i - 1 : start;
}

/*
 * Writes remove_dot_segments(p[0..n-1]) to |w|, percent-encoding each moved
 * segment with the path set. |p| is a scratch copy the function may modify:
 * the RFC's "replace that prefix with '/'" is done by stepping over all but
 * the last byte of the prefix and writing '/' there.
 */
static void remove_dots(wbuf *w, char *p, size_t n) {
  size_t start = w->len;
  while (n > 0) {
    if (n >= 3 && memcmp(p, "../", 3) == 0) { /* A */
      p += 3, n -= 3;
    } else if (n >= 2 && memcmp(p, "./", 2) == 0) { /* A */
      p += 2, n -= 2;
    } else if (n >= 3 && memcmp(p, "/./", 3) == 0) { /* B */
      p += 2, n -= 2;
    } else if (n == 2 && memcmp(p, "/.", 2) == 0) { /* B */
      p += 1, n -= 1;
      p[0] = '/';
    } else if (n >= 4 && memcmp(p, "/../", 4) == 0) { /* C */
      p += 3, n -= 3;
      pop_segment(w, start);
    } else if (n == 3 && memcmp(p, "/..", 3) == 0) { /* C */
      p += 2, n -= 2;
      p[0] = '/';
      pop_segment(w, start);
    } else if ((n == 1 && p[0] == '.') || (n == 2 && memcmp(p, "..", 2) == 0)) { /* D */
      n = 0;
    } else { /* E: the first segment, with its leading '/' if any */
      size_t k = p[0] == '/' ? 1 : 0;
      while (k < n && p[k] != '/') k++;
      put_enc(w, (const uint8_t *)p, k, enc_path);
      p += k, n -= k;
    }
  }
}

/* ---- hosts ---- */

/* RFC 5952 / WHATWG serialization: the first longest run of two or more zero
 * pieces becomes "::", pieces in lowercase hex without leading zeros. */
static void put_ipv6(wbuf *w, const uint8_t a[16]) {
  unsigned piece[8];
  for (int i = 0; i < 8; i++) piece[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (piece[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && piece[j] == 0) j++;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j;
  }
  for (int i = 0; i < 8; i++) {
    if (i == best) {
      put_str(w, i == 0 ? "::" : ":");
      i += best_len - 1;
      continue;
    }
    char h[8];
    snprintf(h, sizeof(h), "%x", piece[i]);
    put_str(w, h);
    if (i != 7) put_c(w, ':');
  }
}

static int host_char(uint8_t c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

/*
 * Checks the reg-name or IPv4 text |h| (at offset |at| of the input), and
 * writes it lowercased to |w|. Sets |*type|.
 */
static int parse_host_name(wbuf *w, CBS h, size_t at, url_host_type *type, url_err *err) {
  const uint8_t *p = CBS_data(&h);
  size_t n = CBS_len(&h);
  if (n == 0) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: empty");
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (host_char(c)) continue;
    const char *why = "host: invalid character (allowed: letters, digits, '-', '.', '_')";
    if (c == ' ') why = "host: space";
    else if (c < 0x20 || c == 0x7f) why = "host: control character";
    else if (c >= 0x80) why = "host: non-ASCII byte (IDNA is not supported; give the xn-- form)";
    else if (c == '%') why = "host: percent-encoding is not supported in a host name";
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, at + i, why);
  }
  /* One trailing dot (a fully qualified name) is allowed; labels are not
   * empty and fit DNS (RFC 1035 §2.3.4). */
  size_t name_len = p[n - 1] == '.' ? n - 1 : n;
  if (name_len == 0) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: empty label");
  if (name_len > URL_HOST_MAX)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: longer than 253 bytes (DNS limit)");
  size_t label = 0, last_label = 0;
  for (size_t i = 0; i <= name_len; i++) {
    if (i == name_len || p[i] == '.') {
      if (i == label) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at + i, "host: empty label");
      if (i - label > URL_LABEL_MAX)
        return fail(err, GUISE_E_USAGE_URL_MALFORMED, at + label,
                    "host: label longer than 63 bytes (DNS limit)");
      last_label = label;
      label = i + 1;
    }
  }
  /* A name whose last label is a number is an IPv4 address to a browser
   * (WHATWG "ends in a number"); only the strict dotted quad is accepted. */
  int numeric = 1;
  size_t k = last_label;
  if (name_len - k > 2 && p[k] == '0' && (p[k + 1] | 0x20) == 'x') {
    for (k += 2; k < name_len; k++) numeric &= is_hex(p[k]);
  } else {
    for (; k < name_len; k++) numeric &= is_digit(p[k]);
  }
  if (numeric) {
    char text[URL_HOST_MAX + 1];
    struct in_addr a4;
    memcpy(text, p, name_len);
    text[name_len] = '\0';
    if (inet_pton(AF_INET, text, &a4) != 1)
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, at,
                  "host: numeric host is not a dotted-quad IPv4 address (a.b.c.d, no leading zeros)");
    put(w, text, name_len);
    *type = URL_HOST_IPV4;
    return 0;
  }
  for (size_t i = 0; i < n; i++) put_c(w, (char)lower(p[i]));
  *type = URL_HOST_NAME;
  return 0;
}

/* Checks the text between '[' and ']' (at offset |at|) and writes its
 * canonical form to |w|. */
static int parse_host_v6(wbuf *w, CBS h, size_t at, url_err *err) {
  char text[INET6_ADDRSTRLEN];
  uint8_t a6[16];
  if (memchr(CBS_data(&h), '%', CBS_len(&h)) != NULL)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: IPv6 zone identifiers are not supported");
  if (CBS_len(&h) == 0 || CBS_len(&h) >= sizeof(text))
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: invalid IPv6 address");
  memcpy(text, CBS_data(&h), CBS_len(&h));
  text[CBS_len(&h)] = '\0';
  if (inet_pton(AF_INET6, text, a6) != 1)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: invalid IPv6 address");
  put_ipv6(w, a6);
  return 0;
}

/* RFC 3986 §3.2.3 port = *DIGIT; empty means the default. */
static int parse_port(CBS p, size_t at, url_scheme scheme, uint16_t *port, url_err *err) {
  uint32_t v = 0;
  if (CBS_len(&p) == 0) {
    *port = scheme == URL_HTTPS ? 443 : 80;
    return 0;
  }
  for (size_t i = 0; i < CBS_len(&p); i++) {
    uint8_t c = CBS_data(&p)[i];
    if (!is_digit(c)) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at + i, "port: not a number");
    v = v * 10 + (uint32_t)(c - '0');
    if (v > 65535) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "port: out of range 1..65535");
  }
  if (v == 0) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "port: out of range 1..65535");
  *port = (uint16_t)v;
  return 0;
}

/* ---- parse ---- */

/* NUL, TAB, CR and LF are refused anywhere (url.h says why). */
static int check_bytes(const char *s, size_t len, url_err *err) {
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '\0' || c == '\t' || c == '\r' || c == '\n')
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, i, "NUL, TAB, CR or LF in the URL");
  }
  return 0;
}

/* Takes a scheme and its ':' from the front of |in| when there is one. */
static int take_scheme(CBS *in, CBS *scheme) {
  size_t n = span(in, is_scheme_char);
  if (n == 0 || !is_alpha(CBS_data(in)[0]) || n == CBS_len(in) || CBS_data(in)[n] != ':')
    return 0;
  return CBS_get_bytes(in, scheme, n) && CBS_skip(in, 1);
}

int url_parse(url *u, const char *s, size_t len, url_err *err) {
  if (u == NULL || (s == NULL && len > 0))
    return fail(err, GUISE_E_USAGE_INVALID_ARGUMENT, 0, "no url or no string");
  memset(u, 0, offsetof(url, buf));
  u->buf[0] = '\0';
  if (len > URL_MAX_LEN)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, URL_MAX_LEN, "URL longer than 8192 bytes");
  int rc = check_bytes(s, len, err);
  if (rc != 0) return rc;

  CBS in, scheme, auth;
  CBS_init(&in, (const uint8_t *)s, len);
  if (!take_scheme(&in, &scheme))
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, 0, "no scheme (expected http:// or https://)");
  if (cbs_eq_nocase(&scheme, "http")) u->scheme = URL_HTTP;
  else if (cbs_eq_nocase(&scheme, "https")) u->scheme = URL_HTTPS;
  else return fail(err, GUISE_E_USAGE_URL_SCHEME, 0, "scheme: only http and https are supported");
  size_t slashes_at = off(&in, s);
  if (!take(&in, '/') || !take(&in, '/'))
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, slashes_at, "expected \"//\" after the scheme");

  /* authority = [ userinfo "@" ] host [ ":" port ]; the last '@' ends the
   * userinfo, as in browsers. */
  size_t auth_at = off(&in, s);
  if (!CBS_get_bytes(&in, &auth, until(&in, "/?#")))
    return fail(err, GUISE_E_INTERNAL, auth_at, "authority");
  size_t at_sign = CBS_len(&auth);
  for (size_t i = 0; i < CBS_len(&auth); i++)
    if (CBS_data(&auth)[i] == '@') at_sign = i;

  wbuf w = {u->buf, 0, sizeof(u->buf), 0};
  CBS user, pass;
  CBS_init(&user, NULL, 0);
  CBS_init(&pass, NULL, 0);
  if (at_sign < CBS_len(&auth)) {
    CBS ui;
    if (!CBS_get_bytes(&auth, &ui, at_sign) || !CBS_skip(&auth, 1) ||
        !CBS_get_bytes(&ui, &user, until(&ui, ":")))
      return fail(err, GUISE_E_INTERNAL, auth_at, "userinfo");
    u->has_userinfo = 1;
    u->has_password = take(&ui, ':');
    pass = ui;
  }
  u->user = piece_begin(&w);
  put_enc(&w, CBS_data(&user), CBS_len(&user), enc_userinfo);
  piece_end(&w, &u->user);
  u->password = piece_begin(&w);
  put_enc(&w, CBS_data(&pass), CBS_len(&pass), enc_userinfo);
  piece_end(&w, &u->password);

  /* host [ ":" port ] */
  size_t host_at = off(&auth, s);
  CBS host;
  u->host = piece_begin(&w);
  if (take(&auth, '[')) {
    if (!CBS_get_bytes(&auth, &host, until(&auth, "]")) || !take(&auth, ']'))
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, host_at, "host: '[' without ']'");
    rc = parse_host_v6(&w, host, host_at + 1, err);
    u->host_type = URL_HOST_IPV6;
    if (rc == 0 && CBS_len(&auth) > 0 && CBS_data(&auth)[0] != ':')
      rc = fail(err, GUISE_E_USAGE_URL_MALFORMED, off(&auth, s),
                "host: unexpected character after the IPv6 literal");
  } else {
    if (!CBS_get_bytes(&auth, &host, until(&auth, ":")))
      return fail(err, GUISE_E_INTERNAL, host_at, "host");
    rc = parse_host_name(&w, host, host_at, &u->host_type, err);
  }
  if (rc != 0) return rc;
  piece_end(&w, &u->host);
  size_t port_at = off(&auth, s) + 1;
  take(&auth, ':');
  rc = parse_port(auth, port_at, u->scheme, &u->port, err);
  if (rc != 0) return rc;

  u->authority = piece_begin(&w);
  if (u->host_type == URL_HOST_IPV6) put_c(&w, '[');
  put(&w, u->buf + u->host.off, u->host.len);
  if (u->host_type == URL_HOST_IPV6) put_c(&w, ']');
  if (u->port != (u->scheme == URL_HTTPS ? 443 : 80)) {
    char p[8];
    size_t k = sizeof(p);
    unsigned v = u->port;
    do {
      p[--k] = (char)('0' + v % 10);
      v /= 10;
    } while (v);
    p[--k] = ':';
    put(&w, p + k, sizeof(p) - k);
  }
  piece_end(&w, &u->authority);

  /* path-abempty [ "?" query ] [ "#" fragment ] */
  CBS path, query, frag;
  CBS_init(&query, NULL, 0);
  CBS_init(&frag, NULL, 0);
  if (!CBS_get_bytes(&in, &path, until(&in, "?#"))) return fail(err, GUISE_E_INTERNAL, 0, "path");
  if (take(&in, '?')) {
    u->has_query = 1;
    if (!CBS_get_bytes(&in, &query, until(&in, "#"))) return fail(err, GUISE_E_INTERNAL, 0, "query");
  }
  if (take(&in, '#')) {
    u->has_fragment = 1;
    frag = in;
  }

  u->target = piece_begin(&w);
  if (CBS_len(&path) == 0) {
    put_c(&w, '/');
  } else {
    char scratch[URL_MAX_LEN];
    memcpy(scratch, CBS_data(&path), CBS_len(&path));
    remove_dots(&w, scratch, CBS_len(&path));
    /* Every segment was a dot segment ("/.."): the path is the root. */
    if (!w.full && w.len == u->target.off) put_c(&w, '/');
  }
  u->path_len = (uint32_t)(w.len - u->target.off);
  if (u->has_query) {
    put_c(&w, '?');
    put_enc(&w, CBS_data(&query), CBS_len(&query), enc_query);
  }
  piece_end(&w, &u->target);
  if (w.full || u->target.len > URL_MAX_LEN)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, off(&path, s),
                "path and query longer than 8192 bytes once percent-encoded");
  u->fragment = piece_begin(&w);
  put_enc(&w, CBS_data(&frag), CBS_len(&frag), enc_fragment);
  piece_end(&w, &u->fragment);
  if (w.full)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, 0, "URL too long once percent-encoded");
  return 0;
}

/* ---- resolve ---- */

int url_resolve(const url *base, const char *ref, size_t ref_len, url *out, url_err *err) {
  if (base == NULL || out == NULL || out == base || (ref == NULL && ref_len > 0))
    return fail(err, GUISE_E_USAGE_INVALID_ARGUMENT, 0, "no base, no output, or output is the base");
  if (ref_len > URL_MAX_LEN)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, URL_MAX_LEN, "reference longer than 8192 bytes");
  int rc = check_bytes(ref, ref_len, err);
  if (rc != 0) return rc;

  /* RFC 3986 Appendix B split of the reference. */
  CBS in, scheme, auth, path, query, frag;
  CBS_init(&in, (const uint8_t *)ref, ref_len);
  CBS rest = in;
  if (take_scheme(&rest, &scheme)) {
    /* §5.2.2 non-strict: the base's own scheme without an authority is a
     * relative reference ("http:g"). */
    int same = cbs_eq_nocase(&scheme, url_scheme_name(base));
    int has_slashes = CBS_len(&rest) >= 2 && memcmp(CBS_data(&rest), "//", 2) == 0;
    if (!same || has_slashes) return url_parse(out, ref, ref_len, err);
    in = rest;
  }
  int has_auth = CBS_len(&in) >= 2 && memcmp(CBS_data(&in), "//", 2) == 0;
  CBS_init(&auth, NULL, 0);
  CBS_init(&query, NULL, 0);
  CBS_init(&frag, NULL, 0);
  if (has_auth && (!CBS_skip(&in, 2) || !CBS_get_bytes(&in, &auth, until(&in, "/?#"))))
    return fail(err, GUISE_E_INTERNAL, 0, "authority");
  if (!CBS_get_bytes(&in, &path, until(&in, "?#"))) return fail(err, GUISE_E_INTERNAL, 0, "path");
  int has_query = take(&in, '?');
  if (has_query && !CBS_get_bytes(&in, &query, until(&in, "#")))
    return fail(err, GUISE_E_INTERNAL, 0, "query");
  int has_frag = take(&in, '#');
  if (has_frag) frag = in;

  /* Compose T (§5.2.2) as a string and let url_parse check and normalize it:
   * that removes the dot segments of the merged path (§5.2.4) too. */
  char t[URL_MAX_LEN];
  wbuf w = {t, 0, sizeof(t), 0};
  put_str(&w, url_scheme_name(base));
  put_str(&w, "://");
  const char *bpath = url_target(base);
  if (has_auth) {
    put(&w, CBS_data(&auth), CBS_len(&auth));
    put(&w, CBS_data(&path), CBS_len(&path));
  } else {
    if (base->has_userinfo) {
      put(&w, base->buf + base->user.off, base->user.len);
      if (base->has_password) {
        put_c(&w, ':');
        put(&w, base->buf + base->password.off, base->password.len);
      }
      put_c(&w, '@');
    }
    put_str(&w, url_authority(base));
    if (CBS_len(&path) == 0) {
      put(&w, bpath, base->path_len);
      if (!has_query && base->has_query) {
        put_c(&w, '?');
        put(&w, bpath + base->path_len + 1, base->target.len - base->path_len - 1);
      }
    } else if (CBS_data(&path)[0] == '/') {
      put(&w, CBS_data(&path), CBS_len(&path));
    } else {
      /* §5.2.3 merge: the base path up to and including its last '/'. */
      size_t dir = base->path_len;
      while (dir > 0 && bpath[dir - 1] != '/') dir--;
      put(&w, bpath, dir);
      put(&w, CBS_data(&path), CBS_len(&path));
    }
  }
  if (has_query) {
    put_c(&w, '?');
    put(&w, CBS_data(&query), CBS_len(&query));
  }
  if (has_frag) {
    put_c(&w, '#');
    put(&w, CBS_data(&frag), CBS_len(&frag));
  }
  if (w.full)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, 0, "resolved URL longer than 8192 bytes");
  return url_parse(out, t, w.len, err);
}

/* ---- accessors ---- */

const char *url_host(const url *u) {
  return u->buf + u->host.off;
}

const char *url_authority(const url *u) {
  return u->buf + u->authority.off;
}

const char *url_target(const url *u) {
  return u->buf + u->target.off;
}

const char *url_scheme_name(const url *u) {
  return u->scheme == URL_HTTPS ? "https" : "http";
}

int url_userinfo(const url *u, int which, int decode, char *out, size_t cap, size_t *len) {
  if (cap > 0) out[0] = '\0';
  if (len != NULL) *len = 0;
  const url_piece *pc = which ? &u->password : &u->user;
  CBS in;
  CBS_init(&in, (const uint8_t *)u->buf + pc->off, pc->len);
  size_t n = 0;
  uint8_t c;
  while (CBS_get_u8(&in, &c)) {
    if (decode && c == '%') {
      uint8_t h, l;
      if (!CBS_get_u8(&in, &h) || !CBS_get_u8(&in, &l) || !is_hex(h) || !is_hex(l)) {
        if (cap > 0) out[0] = '\0';
        return GUISE_E_USAGE_URL_MALFORMED;
      }
      c = (uint8_t)(hex_val(h) << 4 | hex_val(l));
    }
    if (n + 1 >= cap) {
      if (cap > 0) out[0] = '\0';
      return GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    out[n++] = (char)c;
  }
  if (cap == 0) return GUISE_E_USAGE_INVALID_ARGUMENT;
  out[n] = '\0';
  if (len != NULL) *len = n;
  return 0;
}

long url_href(const url *u, char *out, size_t cap) {
  wbuf w = {out, 0, cap, 0};
  put_str(&w, url_scheme_name(u));
  put_str(&w, "://");
  if (u->has_userinfo) {
    put(&w, u->buf + u->user.off, u->user.len);
    if (u->has_password) {
      put_c(&w, ':');
      put(&w, u->buf + u->password.off, u->password.len);
    }
    put_c(&w, '@');
  }
  put_str(&w, url_authority(u));
  put(&w, url_target(u), u->target.len);
  if (u->has_fragment) {
    put_c(&w, '#');
    put(&w, u->buf + u->fragment.off, u->fragment.len);
  }
  put_c(&w, '\0');
  if (w.full) {
    if (cap > 0) out[0] = '\0';
    return -1;
  }
  return (long)(w.len - 1);
}

/* The password of a URL's userinfo is the text between the first ':' and the
 * last '@' of the authority, which starts after "scheme:" and its slashes (at
 * the start of the text when no slash follows a scheme) and ends at the first
 * '/', '?' or '#' — as url_parse reads it, so that what is hidden is what would
 * be sent. Any string is taken: a URL that does not parse is still written in
 * messages and records, and in doubt more is hidden, never less. */
const char *guise_url_redact(const char *text, char *buf, size_t cap) {
  if (text == NULL) return "";
  const char *p = text;
  if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
    const char *q = p;
    while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '+' ||
           *q == '-' || *q == '.')
      q++;
    if (q[0] == ':' && q[1] == '/') p = q + 1; /* else "user:pw@host": no scheme */
  }
  while (*p == '/') p++;
  size_t auth_len = strcspn(p, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < auth_len; i++)
    if (p[i] == '@') at = p + i;
  const char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
  if (colon == NULL) return text; /* no password */
  if (buf == NULL || cap == 0) return "";
  /* text[.. colon] "***" at[..], cut to |cap| - 1 bytes */
  size_t head = (size_t)(colon + 1 - text), n = 0;
  const char *parts[3] = {text, URL_REDACTED, at};
  size_t lens[3] = {head, sizeof(URL_REDACTED) - 1, strlen(at)};
  for (int i = 0; i < 3; i++) {
    size_t k = lens[i] < cap - 1 - n ? lens[i] : cap - 1 - n;
    memcpy(buf + n, parts[i], k);
    n += k;
  }
  buf[n] = '\0';
  return buf;
}

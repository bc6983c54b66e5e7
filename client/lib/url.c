/*
 * url.c — absolute http/https URLs and reference resolution by the WHATWG URL
 * Standard's basic URL parser (special schemes only). See url.h for what is
 * normalized, what is refused, and the caps.
 *
 * The input is read through a CBS (BoringSSL's bounded cursor): every piece
 * (authority, host, port, path, query, fragment) is taken with CBS_get_bytes
 * after a scan that stops at the piece's delimiters; the host and path
 * scanners then index only below the piece's length. Output goes through a
 * bounded writer over url.buf that records overflow instead of writing past
 * the end.
 */
#include "url.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
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

/* The byte classes of the parser, one table look-up per byte (a search of a
 * set of characters per byte was a quarter of a parse's cost):
 *   STOP_AUTH   ends the authority: / \ ? #
 *   STOP_PATH   ends the path: ? #
 *   STOP_QUERY  ends the query: #
 *   ENC_*       the WHATWG percent-encode sets (URL Standard §1.3, special
 *               schemes): the C0 control set (C0 controls and every byte
 *               above '~') plus, for the fragment, space " < > `; for the
 *               special query, space " # < > '; for the path, space " # < > ?
 *               ` { }; for the userinfo, the path set and / : ; = @ [ \ ] ^ |
 *   FORBIDDEN   WHATWG forbidden domain code points (ASCII): C0 controls,
 *               space, DEL and # % / : < > ? @ [ \ ] ^ |
 * tests/unit/http/test_url.c checks every byte of every set against the
 * Standard's lists. */
enum {
  STOP_AUTH = 1,
  STOP_PATH = 2,
  STOP_QUERY = 4,
  ENC_FRAGMENT = 8,
  ENC_QUERY = 16,
  ENC_PATH = 32,
  ENC_USERINFO = 64,
  FORBIDDEN = 128
};

static const uint8_t kClass[256] = {
    0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8,
    0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8, 0xf8,
    0xf8, 0x00, 0x78, 0xf7, 0x00, 0x80, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc1,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x40, 0xf8, 0x40, 0xf8, 0xe3,
    0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xc1, 0xc0, 0xc0, 0x00,
    0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0xc0, 0x60, 0x00, 0xf8,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
};

/* Number of leading bytes of |c| that are not of class |stop|. */
static size_t until(const CBS *c, unsigned stop) {
  const uint8_t *p = CBS_data(c);
  size_t len = CBS_len(c), n = 0;
  while (n < len && !(kClass[p[n]] & stop)) n++;
  return n;
}

/* Offset of the cursor |c| in the string that starts at |base|. */
static size_t off(const CBS *c, const char *base) {
  return (size_t)((const char *)CBS_data(c) - base);
}

/* Whether |c| is the |n| bytes of the lowercase |lit|, in any case. */
static int cbs_eq_nocase(const CBS *c, const char *lit, size_t n) {
  if (CBS_len(c) != n) return 0;
  const uint8_t *p = CBS_data(c);
  for (size_t i = 0; i < n; i++)
    if (lower(p[i]) != (uint8_t)lit[i]) return 0;
  return 1;
}

/* Takes one byte |want| from |c| if it is next. */
static int take(CBS *c, uint8_t want) {
  if (CBS_len(c) == 0 || CBS_data(c)[0] != want) return 0;
  return CBS_skip(c, 1);
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

/* Writes |b[0..n-1]|, each byte of class |enc| (an ENC_* set) as %XX
 * (uppercase, as Chrome); runs of other bytes at once. */
static void put_enc(wbuf *w, const uint8_t *b, size_t n, unsigned enc) {
  static const char kHex[] = "0123456789ABCDEF";
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && !(kClass[b[j]] & enc)) j++;
    put(w, b + i, j - i);
    if (j == n) break;
    char e[3] = {'%', kHex[b[j] >> 4], kHex[b[j] & 15]};
    put(w, e, 3);
    i = j + 1;
  }
}

/* Writes |v| in decimal (no snprintf: the IPv4 text and the port of every
 * parse; a tenth of its cost). */
static void put_dec(wbuf *w, unsigned v) {
  char d[10];
  size_t n = 0;
  do {
    d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < sizeof(d));
  put(w, d + sizeof(d) - n, n);
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

/* ---- path (WHATWG path state, special schemes) ---- */

static int seg_is(const uint8_t *p, size_t n, const char *dotted) {
  /* |dotted| is "." or ".."; each '.' may be written "%2e" in any case. */
  size_t i = 0;
  for (const char *d = dotted; *d; d++) {
    if (i < n && p[i] == '.') {
      i++;
    } else if (n - i >= 3 && p[i] == '%' && p[i + 1] == '2' && (p[i + 2] | 0x20) == 'e') {
      i += 3;
    } else {
      return 0;
    }
  }
  return i == n;
}

/* Removes the last segment ("/seg") of the path written since |start|. */
static void pop_segment(wbuf *w, size_t start) {
  if (w->full) return;
  size_t i = w->len;
  while (i > start && w->p[i - 1] != '/') i--;
  w->len = i > start ? i - 1 : start;
}

/*
 * Appends the segments of |p[0..n-1]| (the path text after its leading slash,
 * or a relative path) to the path written since |start|: '/' and '\' both
 * separate segments, "." and ".." (also as %2e) are applied, a dot segment at
 * the end leaves an empty last segment ("/a/.." is "/"), and every other
 * segment is written as "/" + its bytes in the path percent-encode set.
 */
static void put_segments(wbuf *w, size_t start, const uint8_t *p, size_t n) {
  size_t i = 0;
  for (;;) {
    size_t k = i;
    while (k < n && p[k] != '/' && p[k] != '\\') k++;
    int last = k == n;
    if (seg_is(p + i, k - i, "..")) {
      pop_segment(w, start);
      if (last) put_c(w, '/');
    } else if (seg_is(p + i, k - i, ".")) {
      if (last) put_c(w, '/');
    } else {
      put_c(w, '/');
      put_enc(w, p + i, k - i, ENC_PATH);
    }
    if (last) break;
    i = k + 1;
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

/*
 * WHATWG IPv4 number parser: decimal, "0x" hex or "0" octal; an empty text
 * after the prefix is 0. Returns 0 and |*v| (saturated above 2^32), or -1.
 */
static int ipv4_number(const uint8_t *p, size_t n, uint64_t *v) {
  unsigned radix = 10;
  if (n == 0) return -1;
  if (n >= 2 && p[0] == '0' && (p[1] | 0x20) == 'x') {
    radix = 16, p += 2, n -= 2;
  } else if (n >= 2 && p[0] == '0') {
    radix = 8, p += 1, n -= 1;
  }
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d;
    if (is_digit(p[i])) d = (unsigned)(p[i] - '0');
    else if (radix == 16 && is_hex(p[i])) d = (unsigned)hex_val(p[i]);
    else return -1;
    if (d >= radix) return -1;
    x = x * radix + d;
    if (x > 0xffffffffull) x = 0x100000000ull; /* saturate: too big either way */
  }
  *v = x;
  return 0;
}

/* WHATWG "ends in a number": the last label (a trailing empty one dropped)
 * is all digits or a valid IPv4 number. */
static int ends_in_number(const uint8_t *p, size_t n) {
  if (n > 0 && p[n - 1] == '.') {
    if (n == 1) return 0;
    n--;
  }
  size_t k = n;
  while (k > 0 && p[k - 1] != '.') k--;
  if (k == n) return 0;
  size_t digits = k;
  while (digits < n && is_digit(p[digits])) digits++;
  if (digits == n) return 1;
  uint64_t v;
  return ipv4_number(p + k, n - k, &v) == 0;
}

/* WHATWG IPv4 parser over the ASCII name |p[0..n-1]|; writes the dotted quad. */
static int parse_ipv4(wbuf *w, const uint8_t *p, size_t n, size_t at, url_err *err) {
  uint64_t part[4];
  size_t count = 0, i = 0;
  if (n > 0 && p[n - 1] == '.') n--; /* one trailing empty part is dropped */
  for (;;) {
    size_t k = i;
    while (k < n && p[k] != '.') k++;
    if (count == 4)
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: IPv4 address with more than four parts");
    if (ipv4_number(p + i, k - i, &part[count]) != 0)
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, at + i, "host: invalid IPv4 address part");
    count++;
    if (k == n) break;
    i = k + 1;
  }
  for (size_t j = 0; j + 1 < count; j++)
    if (part[j] > 255)
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: IPv4 address part above 255");
  uint64_t limit = 1ull << (8 * (5 - count));
  if (part[count - 1] >= limit)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: IPv4 address out of range");
  uint64_t v = part[count - 1];
  for (size_t j = 0; j + 1 < count; j++) v += part[j] << (8 * (3 - j));
  for (int shift = 24; shift >= 0; shift -= 8) {
    put_dec(w, (unsigned)(v >> shift) & 255);
    if (shift) put_c(w, '.');
  }
  return 0;
}

/* Whether a label of |p[0..n-1]| starts with "xn--" (any case). */
static int has_xn_label(const uint8_t *p, size_t n) {
  for (size_t i = 0; i + 4 <= n; i++) {
    if ((i == 0 || p[i - 1] == '.') && (p[i] | 0x20) == 'x' && (p[i + 1] | 0x20) == 'n' &&
        p[i + 2] == '-' && p[i + 3] == '-')
      return 1;
  }
  return 0;
}

/*
 * WHATWG host parser for a special scheme, the "[...]" form aside: percent-
 * decode, domain to ASCII (UTS #46 through libidn2 when the name is not plain
 * ASCII or has an xn-- label; else ASCII lowercase), refuse forbidden domain
 * code points, and read a name that ends in a number as IPv4. |h| is at offset
 * |at| of the (cleaned) input. Writes the host to |w| and sets |*type|.
 */
static int parse_host_name(wbuf *w, CBS h, size_t at, url_host_type *type, url_err *err) {
  uint8_t d[URL_MAX_LEN + 1];
  size_t n = 0;
  const uint8_t *p = CBS_data(&h);
  size_t len = CBS_len(&h);
  if (len == 0) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: empty");
  int ascii = 1;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = p[i];
    size_t at_c = at + i;
    if (c == '%' && i + 2 < len && is_hex(p[i + 1]) && is_hex(p[i + 2])) {
      c = (uint8_t)(hex_val(p[i + 1]) << 4 | hex_val(p[i + 2]));
      i += 2;
    }
    if (c == 0) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at_c, "host: NUL byte");
    if (c >= 0x80) ascii = 0;
    d[n++] = c;
  }
  d[n] = '\0';
  char name[URL_HOST_MAX + 2];
  size_t name_len;
  if (!ascii || has_xn_label(d, n)) {
    char *out = NULL;
    int rc = idn2_to_ascii_8z((const char *)d, &out, IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK || out == NULL) {
      idn2_free(out);
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, at,
                  "host: not a valid international domain name (UTS #46 / IDNA2008)");
    }
    name_len = strlen(out);
    if (name_len > URL_HOST_MAX + 1) {
      idn2_free(out);
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: longer than 253 bytes (DNS limit)");
    }
    for (size_t i = 0; i < name_len; i++) name[i] = (char)lower((uint8_t)out[i]);
    idn2_free(out);
  } else {
    if (n > URL_HOST_MAX + 1)
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: longer than 253 bytes (DNS limit)");
    name_len = n;
    for (size_t i = 0; i < n; i++) name[i] = (char)lower(d[i]);
  }
  name[name_len] = '\0';
  const uint8_t *q = (const uint8_t *)name;
  if (name_len == 0) return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: empty");
  for (size_t i = 0; i < name_len; i++) {
    if (!(kClass[q[i]] & FORBIDDEN)) continue;
    const char *why = "host: forbidden character (one of space # % / : < > ? @ [ \\ ] ^ |)";
    if (q[i] < 0x20 || q[i] == 0x7f) why = "host: control character";
    else if (q[i] == ' ') why = "host: space";
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, ascii ? at + i : at, why);
  }
  if (ends_in_number(q, name_len)) {
    *type = URL_HOST_IPV4;
    return parse_ipv4(w, q, name_len, at, err);
  }
  /* DNS's limits (RFC 1035 §2.3.4): a name past them cannot be resolved. */
  size_t dns_len = q[name_len - 1] == '.' ? name_len - 1 : name_len;
  if (dns_len > URL_HOST_MAX)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: longer than 253 bytes (DNS limit)");
  size_t label = 0;
  for (size_t i = 0; i <= dns_len; i++) {
    if (i == dns_len || q[i] == '.') {
      if (i - label > URL_LABEL_MAX)
        return fail(err, GUISE_E_USAGE_URL_MALFORMED, at, "host: label longer than 63 bytes (DNS limit)");
      label = i + 1;
    }
  }
  put(w, name, name_len);
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

/* WHATWG port state: ASCII digits (leading zeros allowed); empty means the
 * default. Port 0 is refused: it cannot be connected to. */
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

/* ---- parse (WHATWG basic URL parser, http and https only) ---- */

/* Takes a scheme and its ':' from the front of |in| when there is one. */
static int take_scheme(CBS *in, CBS *scheme) {
  size_t n = span(in, is_scheme_char);
  if (n == 0 || !is_alpha(CBS_data(in)[0]) || n == CBS_len(in) || CBS_data(in)[n] != ':')
    return 0;
  return CBS_get_bytes(in, scheme, n) && CBS_skip(in, 1);
}

static int is_slash(uint8_t c) {
  return c == '/' || c == '\\';
}

/* Writes the authority piece from the host and port already set. */
static void put_authority(url *u, wbuf *w) {
  u->authority = piece_begin(w);
  if (u->host_type == URL_HOST_IPV6) put_c(w, '[');
  put(w, u->buf + u->host.off, u->host.len);
  if (u->host_type == URL_HOST_IPV6) put_c(w, ']');
  if (u->port != (u->scheme == URL_HTTPS ? 443 : 80)) {
    put_c(w, ':');
    put_dec(w, u->port);
  }
  piece_end(w, &u->authority);
}

/*
 * Authority ("special authority ignore slashes" state onwards): skips any
 * '/' and '\', then [userinfo "@"] host [":" port] up to '/', '\', '?', '#'.
 * |s| is the cleaned input, for offsets.
 */
static int parse_authority(url *u, wbuf *w, CBS *in, const char *s, url_err *err) {
  while (CBS_len(in) > 0 && is_slash(CBS_data(in)[0])) CBS_skip(in, 1);
  size_t auth_at = off(in, s);
  CBS auth;
  if (!CBS_get_bytes(in, &auth, until(in, STOP_AUTH)))
    return fail(err, GUISE_E_INTERNAL, auth_at, "authority");
  /* The last '@' ends the userinfo; the first ':' before it starts the password. */
  const uint8_t *ap = CBS_data(&auth);
  size_t alen = CBS_len(&auth), at_sign = alen;
  for (size_t i = 0; i < alen; i++)
    if (ap[i] == '@') at_sign = i;
  CBS user, pass;
  CBS_init(&user, NULL, 0);
  CBS_init(&pass, NULL, 0);
  if (at_sign < CBS_len(&auth)) {
    CBS ui;
    const uint8_t *colon = at_sign ? memchr(ap, ':', at_sign) : NULL;
    if (!CBS_get_bytes(&auth, &ui, at_sign) || !CBS_skip(&auth, 1) ||
        !CBS_get_bytes(&ui, &user, colon ? (size_t)(colon - ap) : at_sign))
      return fail(err, GUISE_E_INTERNAL, auth_at, "userinfo");
    u->has_password = take(&ui, ':');
    pass = ui;
    /* WHATWG keeps no empty credentials: "http://:@h/" is "http://h/". */
    u->has_userinfo = CBS_len(&user) > 0 || CBS_len(&pass) > 0;
    if (CBS_len(&pass) == 0) u->has_password = 0;
  }
  u->user = piece_begin(w);
  put_enc(w, CBS_data(&user), CBS_len(&user), ENC_USERINFO);
  piece_end(w, &u->user);
  u->password = piece_begin(w);
  put_enc(w, CBS_data(&pass), CBS_len(&pass), ENC_USERINFO);
  piece_end(w, &u->password);

  /* host [ ":" port ]: a ':' inside "[...]" is part of the host. */
  size_t host_at = off(&auth, s);
  size_t hn = 0, hlen = CBS_len(&auth);
  const uint8_t *hp = CBS_data(&auth);
  int brackets = 0;
  for (; hn < hlen; hn++) {
    uint8_t c = hp[hn];
    if (c == '[') brackets = 1;
    else if (c == ']') brackets = 0;
    else if (c == ':' && !brackets) break;
  }
  CBS host;
  if (!CBS_get_bytes(&auth, &host, hn)) return fail(err, GUISE_E_INTERNAL, host_at, "host");
  int rc;
  u->host = piece_begin(w);
  if (CBS_len(&host) > 0 && CBS_data(&host)[0] == '[') {
    if (CBS_data(&host)[CBS_len(&host) - 1] != ']')
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, host_at, "host: '[' without ']' at the end");
    CBS inner;
    CBS_init(&inner, CBS_data(&host) + 1, CBS_len(&host) >= 2 ? CBS_len(&host) - 2 : 0);
    rc = parse_host_v6(w, inner, host_at + 1, err);
    u->host_type = URL_HOST_IPV6;
  } else {
    rc = parse_host_name(w, host, host_at, &u->host_type, err);
  }
  if (rc != 0) return rc;
  piece_end(w, &u->host);
  size_t port_at = off(&auth, s) + 1;
  take(&auth, ':');
  rc = parse_port(auth, port_at, u->scheme, &u->port, err);
  if (rc != 0) return rc;
  put_authority(u, w);
  return 0;
}

/* Copies the base's userinfo, host and port into |u| (relative states). */
static void copy_authority(url *u, wbuf *w, const url *base) {
  u->has_userinfo = base->has_userinfo;
  u->has_password = base->has_password;
  u->host_type = base->host_type;
  u->port = base->port;
  u->user = piece_begin(w);
  put(w, base->buf + base->user.off, base->user.len);
  piece_end(w, &u->user);
  u->password = piece_begin(w);
  put(w, base->buf + base->password.off, base->password.len);
  piece_end(w, &u->password);
  u->host = piece_begin(w);
  put(w, base->buf + base->host.off, base->host.len);
  piece_end(w, &u->host);
  put_authority(u, w);
}

/*
 * The WHATWG basic URL parser for a special scheme, with or without a base:
 * leading and trailing C0 controls and spaces are stripped and every TAB, LF
 * and CR removed first; '\' is '/' wherever '/' delimits.
 */
static int parse_url(url *u, const url *base, const char *s0, size_t len0, url_err *err) {
  memset(u, 0, offsetof(url, buf));
  u->buf[0] = '\0';
  if (len0 > URL_MAX_LEN)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, URL_MAX_LEN, "URL longer than 8192 bytes");
  char buf[URL_MAX_LEN];
  const char *s = buf;
  size_t b = 0, e = len0, len = 0;
  while (b < e && (uint8_t)s0[b] <= 0x20) b++;
  while (e > b && (uint8_t)s0[e - 1] <= 0x20) e--;
  if (e > b && memchr(s0 + b, '\t', e - b) == NULL && memchr(s0 + b, '\n', e - b) == NULL &&
      memchr(s0 + b, '\r', e - b) == NULL) {
    s = s0 + b; /* nothing to remove (the usual case): no copy */
    len = e - b;
  } else {
    for (size_t i = b; i < e; i++)
      if (s0[i] != '\t' && s0[i] != '\n' && s0[i] != '\r') buf[len++] = s0[i];
  }

  CBS in, scheme;
  CBS_init(&in, (const uint8_t *)s, len);
  wbuf w = {u->buf, 0, sizeof(u->buf), 0};
  int rc;
  int relative = 0;
  CBS rest = in;
  if (take_scheme(&rest, &scheme)) {
    if (cbs_eq_nocase(&scheme, "http", 4)) u->scheme = URL_HTTP;
    else if (cbs_eq_nocase(&scheme, "https", 5)) u->scheme = URL_HTTPS;
    else return fail(err, GUISE_E_USAGE_URL_SCHEME, 0, "scheme: only http and https are supported");
    in = rest;
    /* "http:g" against an http base is relative; "http://g" or "https:g" is not. */
    int slashes = CBS_len(&in) >= 2 && CBS_data(&in)[0] == '/' && CBS_data(&in)[1] == '/';
    relative = base != NULL && base->scheme == u->scheme && !slashes;
  } else {
    if (base == NULL)
      return fail(err, GUISE_E_USAGE_URL_MALFORMED, 0, "no scheme (expected http:// or https://)");
    u->scheme = base->scheme;
    relative = 1;
  }

  const uint8_t *p = CBS_data(&in);
  size_t n = CBS_len(&in);
  int keep_base_path = 0, keep_base_query = 0, base_dir = 0;
  if (!relative || (n >= 2 && is_slash(p[0]) && is_slash(p[1]))) {
    rc = parse_authority(u, &w, &in, s, err);
    if (rc != 0) return rc;
  } else {
    copy_authority(u, &w, base);
    if (n == 0) keep_base_path = keep_base_query = 1;
    else if (p[0] == '?') keep_base_path = 1;
    else if (p[0] == '#') keep_base_path = keep_base_query = 1;
    else if (!is_slash(p[0])) base_dir = 1;
  }

  /* path [ "?" query ] [ "#" fragment ] */
  CBS path, query, frag;
  CBS_init(&query, NULL, 0);
  CBS_init(&frag, NULL, 0);
  if (!CBS_get_bytes(&in, &path, until(&in, STOP_PATH))) return fail(err, GUISE_E_INTERNAL, 0, "path");
  if (take(&in, '?')) {
    u->has_query = 1;
    if (!CBS_get_bytes(&in, &query, until(&in, STOP_QUERY))) return fail(err, GUISE_E_INTERNAL, 0, "query");
  }
  if (take(&in, '#')) {
    u->has_fragment = 1;
    frag = in;
  }

  u->target = piece_begin(&w);
  const char *bt = keep_base_path || base_dir ? url_target(base) : NULL;
  if (keep_base_path) {
    put(&w, bt, base->path_len);
  } else {
    size_t start = w.len;
    const uint8_t *pp = CBS_data(&path);
    size_t pn = CBS_len(&path);
    if (base_dir) {
      /* The base path without its last segment. */
      size_t dir = base->path_len;
      while (dir > 0 && bt[dir - 1] != '/') dir--;
      put(&w, bt, dir > 0 ? dir - 1 : 0);
    } else if (pn > 0 && is_slash(pp[0])) {
      pp++, pn--;
    }
    put_segments(&w, start, pp, pn);
  }
  u->path_len = (uint32_t)(w.len - u->target.off);
  if (keep_base_query && base->has_query) {
    u->has_query = 1;
    put(&w, bt + base->path_len, base->target.len - base->path_len);
  } else if (u->has_query) {
    put_c(&w, '?');
    put_enc(&w, CBS_data(&query), CBS_len(&query), ENC_QUERY);
  }
  piece_end(&w, &u->target);
  if (w.full || u->target.len > URL_MAX_LEN)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, off(&path, s),
                "path and query longer than 8192 bytes once percent-encoded");
  u->fragment = piece_begin(&w);
  put_enc(&w, CBS_data(&frag), CBS_len(&frag), ENC_FRAGMENT);
  piece_end(&w, &u->fragment);
  if (w.full)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, 0, "URL too long once percent-encoded");
  return 0;
}

int url_parse(url *u, const char *s, size_t len, url_err *err) {
  if (u == NULL || (s == NULL && len > 0))
    return fail(err, GUISE_E_USAGE_INVALID_ARGUMENT, 0, "no url or no string");
  return parse_url(u, NULL, s, len, err);
}

int url_resolve(const url *base, const char *ref, size_t ref_len, url *out, url_err *err) {
  if (base == NULL || out == NULL || out == base || (ref == NULL && ref_len > 0))
    return fail(err, GUISE_E_USAGE_INVALID_ARGUMENT, 0, "no base, no output, or output is the base");
  if (ref_len > URL_MAX_LEN)
    return fail(err, GUISE_E_USAGE_URL_MALFORMED, URL_MAX_LEN, "reference longer than 8192 bytes");
  return parse_url(out, base, ref, ref_len, err);
}

/* ---- accessors ---- */

size_t url_size(const url *u) {
  const url_piece *ps[] = {&u->user, &u->password, &u->host, &u->authority, &u->target, &u->fragment};
  size_t end = 1; /* buf[0], the NUL an absent piece points at */
  for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
    size_t e = (size_t)ps[i]->off + ps[i]->len + 1;
    if (e > end) end = e;
  }
  return offsetof(url, buf) + (end < URL_STORE ? end : URL_STORE);
}

url *url_dup(const url *u, void *out, size_t cap) {
  size_t n = url_size(u);
  if (out == NULL) out = malloc(n);
  else if (cap < n) return NULL;
  if (out != NULL) memcpy(out, u, n);
  return out;
}

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

static int tab_or_newline(char c) {
  return c == '\t' || c == '\n' || c == '\r';
}

/* The password of a URL's userinfo is the text between the first ':' and the
 * last '@' of the authority, which starts after "scheme:" and its slashes or
 * backslashes (at the start of the text when none follows a scheme) and ends
 * at the first '/', '?' or '#' — as url_parse reads it, leading spaces and
 * controls and TAB/LF/CR anywhere skipped as it skips them, so that what is
 * hidden is what would be sent. Any string is taken: a URL that does not parse
 * is still written in messages and records, and in doubt more is hidden,
 * never less ('\' does not end the authority here: more is hidden). */
const char *guise_url_redact(const char *text, char *buf, size_t cap) {
  if (text == NULL) return "";
  if (strchr(text, '@') == NULL) return text; /* no userinfo, so no password (most URLs) */
  const char *p = text;
  while (*p != '\0' && (unsigned char)*p <= 0x20) p++;
  if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
    const char *q = p;
    while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '+' ||
           *q == '-' || *q == '.' || tab_or_newline(*q))
      q++;
    const char *r = q + (q[0] == ':');
    while (q[0] == ':' && tab_or_newline(*r)) r++;
    if (q[0] == ':' && (*r == '/' || *r == '\\')) p = r; /* else "user:pw@host": no scheme */
    else p = text;
  } else {
    p = text;
  }
  while (*p == '/' || *p == '\\' || tab_or_newline(*p)) p++;
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

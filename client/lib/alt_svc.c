/*
 * alt_svc.c — Alt-Svc (RFC 7838 3) read through CBS, and the per-client cache
 * of HTTP/3 alternatives (see alt_svc.h). No I/O; called by client.c.
 */
#include "alt_svc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bytestring.h>

/* ---- the header ------------------------------------------------------------------ */

static int peek(const CBS *s) { return CBS_len(s) ? CBS_data(s)[0] : -1; }

static void skip_ows(CBS *s) {
  while (peek(s) == ' ' || peek(s) == '\t') CBS_skip(s, 1);
}

/* RFC 9110 5.6.2 tchar. */
static int tchar(int c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != -1 && strchr("!#$%&'*+-.^_`|~", c) != NULL && c != 0);
}

static int get_token(CBS *s, CBS *tok) {
  size_t n = 0;
  const uint8_t *d = CBS_data(s);
  while (n < CBS_len(s) && tchar(d[n])) n++;
  return n > 0 && CBS_get_bytes(s, tok, n);
}

/* A quoted-string (RFC 9110 5.6.4), unescaped into |out| (cap bytes with the NUL). */
static int get_quoted(CBS *s, char *out, size_t cap, size_t *len) {
  uint8_t c;
  size_t n = 0;
  if (!CBS_get_u8(s, &c) || c != '"') return 0;
  for (;;) {
    if (!CBS_get_u8(s, &c)) return 0; /* unterminated */
    if (c == '"') break;
    if (c == '\\' && !CBS_get_u8(s, &c)) return 0;
    if (c < 0x20 && c != '\t') return 0;
    if (c == 0x7f) return 0;
    if (n + 1 >= cap) return 0;
    out[n++] = (char)c;
  }
  out[n] = '\0';
  *len = n;
  return 1;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A protocol-id: a token percent-decoded (RFC 7838 3) into |out|. */
static int decode_protocol(const CBS *tok, char *out, size_t cap) {
  CBS t = *tok;
  size_t n = 0;
  uint8_t c;
  while (CBS_get_u8(&t, &c)) {
    if (c == '%') {
      uint8_t h, l;
      if (!CBS_get_u8(&t, &h) || !CBS_get_u8(&t, &l) || hexval(h) < 0 || hexval(l) < 0) return 0;
      c = (uint8_t)(hexval(h) * 16 + hexval(l));
    }
    if (n + 1 >= cap) return 0;
    out[n++] = (char)c;
  }
  out[n] = '\0';
  return 1;
}

/* "[host]:port" of an alt-authority: the host (without brackets) and the port. */
static int split_authority(const char *a, size_t len, char *host, size_t cap, unsigned *port) {
  const char *colon = NULL;
  for (size_t i = len; i > 0; i--)
    if (a[i - 1] == ':') {
      colon = a + i - 1;
      break;
    }
  if (colon == NULL) return 0;
  const char *ps = colon + 1, *pe = a + len;
  if (ps == pe || pe - ps > 5) return 0;
  unsigned v = 0;
  for (const char *q = ps; q < pe; q++) {
    if (*q < '0' || *q > '9') return 0;
    v = v * 10 + (unsigned)(*q - '0');
  }
  if (v == 0 || v > 65535) return 0;
  size_t hl = (size_t)(colon - a);
  const char *h = a;
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl >= cap) return 0;
  memcpy(host, h, hl);
  host[hl] = '\0';
  *port = v;
  return 1;
}

int alt_svc_parse(const uint8_t *p, size_t n, const char *origin_host, alt_svc_h3 *out, const char **why) {
  memset(out, 0, sizeof(*out));
  *why = NULL;
  if (n > ALT_SVC_MAX_VALUE) {
    *why = "alt-svc value longer than 4096 bytes";
    return -1;
  }
  CBS s;
  CBS_init(&s, p, n);
  skip_ows(&s);
  /* "clear" alone (the value trimmed). */
  {
    CBS t = s, tok;
    if (get_token(&t, &tok) && CBS_len(&tok) == 5 && memcmp(CBS_data(&tok), "clear", 5) == 0) {
      skip_ows(&t);
      if (CBS_len(&t) == 0) {
        out->clear = 1;
        return 0;
      }
    }
  }
  size_t alts = 0;
  alt_svc_h3 first;
  memset(&first, 0, sizeof(first));
  for (;;) {
    skip_ows(&s);
    if (CBS_len(&s) == 0) break;
    if (peek(&s) == ',') { /* an empty list element (RFC 9110 5.6.1) */
      CBS_skip(&s, 1);
      continue;
    }
    if (++alts > ALT_SVC_MAX_ALTS) {
      *why = "alt-svc: more than 16 alternatives";
      return -1;
    }
    CBS tok;
    char proto[32], auth[ALT_SVC_MAX_HOST + 16], host[ALT_SVC_MAX_HOST + 1];
    size_t alen = 0;
    unsigned port = 0;
    if (!get_token(&s, &tok) || !decode_protocol(&tok, proto, sizeof(proto))) {
      *why = "alt-svc: a protocol-id is not a token";
      return -1;
    }
    uint8_t c;
    if (!CBS_get_u8(&s, &c) || c != '=' || !get_quoted(&s, auth, sizeof(auth), &alen) ||
        !split_authority(auth, alen, host, sizeof(host), &port)) {
      *why = "alt-svc: an alternative is not protocol-id=\"[host]:port\"";
      return -1;
    }
    uint64_t ma = ALT_SVC_DEFAULT_MA;
    size_t params = 0;
    for (;;) {
      skip_ows(&s);
      if (peek(&s) != ';') break;
      CBS_skip(&s, 1);
      skip_ows(&s);
      if (++params > ALT_SVC_MAX_PARAMS) {
        *why = "alt-svc: more than 8 parameters on an alternative";
        return -1;
      }
      CBS name, val;
      char qv[64];
      size_t qlen = 0;
      if (!get_token(&s, &name) || !CBS_get_u8(&s, &c) || c != '=') {
        *why = "alt-svc: a parameter is not name=value";
        return -1;
      }
      const uint8_t *vp;
      size_t vl;
      if (peek(&s) == '"') {
        if (!get_quoted(&s, qv, sizeof(qv), &qlen)) {
          *why = "alt-svc: a parameter's quoted value is malformed or too long";
          return -1;
        }
        vp = (const uint8_t *)qv;
        vl = qlen;
      } else {
        if (!get_token(&s, &val)) {
          *why = "alt-svc: a parameter has no value";
          return -1;
        }
        vp = CBS_data(&val);
        vl = CBS_len(&val);
      }
      if (CBS_len(&name) == 2 && strncasecmp((const char *)CBS_data(&name), "ma", 2) == 0) {
        if (vl == 0) {
          *why = "alt-svc: ma is not a number";
          return -1;
        }
        uint64_t v = 0;
        for (size_t i = 0; i < vl; i++) {
          if (vp[i] < '0' || vp[i] > '9') {
            *why = "alt-svc: ma is not a number";
            return -1;
          }
          if (v < (1ull << 32)) v = v * 10 + (uint64_t)(vp[i] - '0');
        }
        ma = v > (1ull << 32) ? (1ull << 32) : v;
      }
    }
    skip_ows(&s);
    if (CBS_len(&s) && peek(&s) != ',') {
      *why = "alt-svc: bytes after an alternative";
      return -1;
    }
    if (!first.found && strcmp(proto, "h3") == 0 &&
        (host[0] == '\0' || (origin_host && strcasecmp(host, origin_host) == 0))) {
      first.found = 1;
      first.port = (uint16_t)port;
      first.max_age = ma;
    }
  }
  if (alts == 0) {
    *why = "alt-svc: empty";
    return -1;
  }
  *out = first;
  return 0;
}

/* ---- the cache ------------------------------------------------------------------- */

typedef struct entry {
  char *host;
  unsigned port, h3_port;
  uint64_t expires, broken_until;
} entry;

struct alt_svc_cache {
  entry *e;
  size_t n, cap;
};

alt_svc_cache *alt_svc_cache_new(void) { return calloc(1, sizeof(alt_svc_cache)); }

void alt_svc_cache_free(alt_svc_cache *c) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->n; i++) free(c->e[i].host);
  free(c->e);
  free(c);
}

size_t alt_svc_cache_size(const alt_svc_cache *c) { return c ? c->n : 0; }

static entry *find(alt_svc_cache *c, const char *host, unsigned port) {
  for (size_t i = 0; i < c->n; i++)
    if (c->e[i].port == port && strcasecmp(c->e[i].host, host) == 0) return &c->e[i];
  return NULL;
}

static void drop(alt_svc_cache *c, entry *e) {
  free(e->host);
  *e = c->e[--c->n];
}

void alt_svc_cache_learn(alt_svc_cache *c, const char *host, unsigned port, const alt_svc_h3 *h, uint64_t now) {
  if (c == NULL) return;
  entry *e = find(c, host, port);
  if (h->clear || (h->found && h->max_age == 0)) {
    if (e) drop(c, e);
    return;
  }
  if (!h->found) return; /* other protocols only: what was known stays */
  uint64_t expires = now + h->max_age * 1000u;
  if (e == NULL) {
    if (c->n == ALT_SVC_MAX_ENTRIES) { /* the one closest to expiry goes */
      entry *soon = &c->e[0];
      for (size_t i = 1; i < c->n; i++)
        if (c->e[i].expires < soon->expires) soon = &c->e[i];
      drop(c, soon);
    }
    if (c->n == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 8;
      entry *ne = realloc(c->e, cap * sizeof(*ne));
      if (ne == NULL) return;
      c->e = ne;
      c->cap = cap;
    }
    char *copy = strdup(host);
    if (copy == NULL) return;
    e = &c->e[c->n++];
    memset(e, 0, sizeof(*e));
    e->host = copy;
    e->port = port;
  }
  e->h3_port = h->port;
  e->expires = expires;
}

unsigned alt_svc_cache_lookup(alt_svc_cache *c, const char *host, unsigned port, uint64_t now) {
  if (c == NULL) return 0;
  entry *e = find(c, host, port);
  if (e == NULL) return 0;
  if (now >= e->expires) {
    drop(c, e);
    return 0;
  }
  return now < e->broken_until ? 0 : e->h3_port;
}

void alt_svc_cache_broken(alt_svc_cache *c, const char *host, unsigned port, uint64_t now) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->n; i++)
    if (c->e[i].h3_port == port && strcasecmp(c->e[i].host, host) == 0) c->e[i].broken_until = now + ALT_SVC_BROKEN_MS;
}

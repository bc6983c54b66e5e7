/*
 * libFuzzer target: client/lib/url.c — url_parse on hostile input, then
 * url_resolve of a reference against it.
 *
 * Input: the base URL, optionally followed by LF and a reference (the first
 * LF separates them; the parser removes any further LF, as WHATWG says).
 * Contract checked: a refusal has a reason and an offset inside the input; an
 * accepted URL has a request-target of bytes 0x21..0x7E only, within
 * URL_MAX_LEN, starting with '/'; a non-empty host and an authority (the Host
 * header) of bytes 0x21..0x7E only; and its href parses back to itself
 * (normalization is idempotent). The same holds for every resolved URL. A URL
 * with a password, redacted by guise_url_redact, parses to the same user, host
 * and request-target with the password "***".
 */
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static url a, b, c, d;
static char href[URL_STORE + 8], again[URL_STORE + 8], red[URL_STORE + 16];
static char p1[URL_STORE], p2[URL_STORE];

static void check_redacted(const url *u, const char *text, size_t n) {
  const char *r = guise_url_redact(text, red, sizeof(red));
  url_err e;
  if (url_parse(&d, r, strlen(r), &e) != 0) abort();
  if (url_userinfo(&d, 1, 0, p1, sizeof(p1), NULL) != 0 || strcmp(p1, URL_REDACTED) != 0) abort();
  if (url_userinfo(u, 0, 0, p1, sizeof(p1), NULL) != 0 || url_userinfo(&d, 0, 0, p2, sizeof(p2), NULL) != 0 ||
      strcmp(p1, p2) != 0)
    abort();
  if (strcmp(url_host(u), url_host(&d)) != 0 || strcmp(url_target(u), url_target(&d)) != 0) abort();
  (void)n;
}

static void check_ok(const url *u) {
  const char *t = url_target(u);
  if (u->target.len == 0 || u->target.len > URL_MAX_LEN || t[0] != '/') abort();
  for (size_t i = 0; i < u->target.len; i++)
    if (t[i] <= 0x20 || t[i] >= 0x7f) abort();
  if (strlen(t) != u->target.len || u->path_len > u->target.len) abort();
  if (url_host(u)[0] == '\0' || url_authority(u)[0] == '\0' || u->port == 0) abort();
  for (const char *h = url_authority(u); *h; h++)
    if (*h <= 0x20 || *h >= 0x7f) abort();
  long n = url_href(u, href, sizeof(href));
  if (n < 0) abort();
  if ((size_t)n > URL_MAX_LEN) return; /* encoded userinfo/fragment may outgrow the input cap */
  url_err e;
  if (url_parse(&c, href, (size_t)n, &e) != 0) abort();
  long m = url_href(&c, again, sizeof(again));
  if (m != n || memcmp(href, again, (size_t)n) != 0) abort();
  if (u->has_password && (size_t)n + 8 <= URL_MAX_LEN) check_redacted(u, href, (size_t)n);
}

static void check_err(int rc, const url_err *e, size_t len) {
  if (rc >= 0 || e->reason == NULL) abort();
  if (e->offset > len && e->offset != URL_MAX_LEN) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  const uint8_t *lf = memchr(data, '\n', size);
  size_t base_len = lf ? (size_t)(lf - data) : size;
  url_err e = {0, NULL};
  int rc = url_parse(&a, s, base_len, &e);
  if (rc != 0) {
    check_err(rc, &e, base_len);
    return 0;
  }
  check_ok(&a);
  if (lf == NULL) return 0;
  const char *ref = (const char *)lf + 1;
  size_t ref_len = size - base_len - 1;
  e.reason = NULL;
  rc = url_resolve(&a, ref, ref_len, &b, &e);
  if (rc != 0) {
    if (e.reason == NULL) abort();
    return 0;
  }
  check_ok(&b);
  return 0;
}

/* Fuzz target: the cookie jar (client/lib/cookie.c). The input is split at its
 * first NUL: before it, Set-Cookie values, one per line, stored from a host
 * chosen by the first byte; after it, a Netscape cookie file. Then a Cookie
 * header is built and the jar written and read back: nothing may crash, and
 * the header must fit its buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *hosts[] = {"example.com", "www.example.co.uk", "127.0.0.1", "a.b.github.io"};
  cookie_jar *j = cookie_jar_new();
  if (j == NULL) return 0;
  const char *host = hosts[size ? data[0] % 4 : 0];
  const char *p = (const char *)data, *end = p + size;
  const char *nul = memchr(p, '\0', size);
  const char *sc_end = nul ? nul : end;
  while (p < sc_end) {
    const char *nl = memchr(p, '\n', (size_t)(sc_end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(sc_end - p);
    const char *why;
    cookie_jar_set(j, host, "/a/b", size & 1, p, n, 1700000000, &why);
    p = nl ? nl + 1 : sc_end;
  }
  if (nul) cookie_jar_load_netscape(j, nul + 1, (size_t)(end - nul - 1), 1700000000, NULL, NULL);
  char buf[512];
  size_t n = cookie_header(j, host, "/a/b/c", 1, 1700000000, buf, sizeof(buf));
  if (n >= sizeof(buf) || strlen(buf) != n) abort();
  cookie_jar_free(j);
  return 0;
}

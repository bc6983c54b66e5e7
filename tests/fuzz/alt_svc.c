/* Fuzz target: an Alt-Svc field value from a server (alt_svc_parse, client/lib/
 * alt_svc.c), then the cache fed with it. Input: the origin's host, LF, the
 * value (no LF: the value alone for host "a.example").
 *
 * Contract checked: a refusal has a reason; an accepted value is either clear
 * (and no alternative) or says whether an h3 alternative on the same host was
 * found, with a port 1..65535 and ma at most 2^32; values over ALT_SVC_MAX_VALUE
 * are refused. The cache then answers the learnt port before ma runs out (ma
 * above 0) and nothing at it, and forgets the origin on clear. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alt_svc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char host[64] = "a.example";
  const uint8_t *v = data;
  size_t n = size;
  const uint8_t *lf = memchr(data, '\n', size);
  if (lf && (size_t)(lf - data) < sizeof(host)) {
    memcpy(host, data, (size_t)(lf - data));
    host[lf - data] = '\0';
    v = lf + 1;
    n = size - (size_t)(lf - data) - 1;
  }
  alt_svc_h3 h;
  const char *why = NULL;
  if (alt_svc_parse(v, n, host, &h, &why) != 0) {
    if (why == NULL || why[0] == '\0') abort();
    return 0;
  }
  if (n > ALT_SVC_MAX_VALUE) abort();
  if (h.clear && h.found) abort();
  if (h.found && (h.port == 0 || h.max_age > (1ull << 32))) abort();
  alt_svc_cache *c = alt_svc_cache_new();
  if (c == NULL) return 0;
  alt_svc_h3 seed = {0, 1, 443, 60};
  alt_svc_cache_learn(c, host, 443, &seed, 1000);
  alt_svc_cache_learn(c, host, 443, &h, 2000);
  unsigned got = alt_svc_cache_lookup(c, host, 443, 2000);
  if (h.clear && got != 0) abort();
  if (h.found && h.max_age > 0 && got != h.port) abort();
  if (h.found && h.max_age == 0 && got != 0) abort();
  if (!h.clear && !h.found && got != 443) abort();
  if (h.found && h.max_age > 0 && alt_svc_cache_lookup(c, host, 443, 2000 + h.max_age * 1000) != 0) abort();
  alt_svc_cache_free(c);
  return 0;
}

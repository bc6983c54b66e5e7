/* Fuzz target: a --dns-servers value (guise_dns_servers_check, client/lib/dns.c),
 * which the command, guise batch and the API read the same way. The reason fits
 * its buffer, NUL-terminated, with no control character (the bad entry is quoted
 * escaped); a value taken has 1 to 8 entries, none empty, and fits the length cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *s = malloc(size + 1);
  if (s == NULL) return 0;
  memcpy(s, data, size);
  s[size] = '\0'; /* a C string: stops at the first NUL, as argv would */
  char err[256];
  memset(err, 0x55, sizeof(err));
  unsigned cap = size ? 1 + data[size - 1] % (unsigned)sizeof(err) : (unsigned)sizeof(err);
  int e = guise_dns_servers_check(s, err, cap);
  if (memchr(err, '\0', cap) == NULL) abort();
  if (cap < sizeof(err) && (unsigned char)err[cap] != 0x55) abort(); /* nothing past |cap| */
  for (const char *p = err; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) abort();
  if (e != 0 && e != GUISE_E_USAGE_INVALID_ARGUMENT) abort();
  if (e == 0) {
    size_t len = strlen(s), entries = 1;
    if (err[0] != '\0' || len == 0 || len > 1024 || s[0] == ',' || s[len - 1] == ',' || strstr(s, ",,")) abort();
    for (const char *p = s; *p; p++) entries += *p == ',';
    if (entries > 8) abort();
  }
  char again[256];
  if (guise_dns_servers_check(s, again, sizeof(again)) != e) abort(); /* no state */
  free(s);
  return 0;
}

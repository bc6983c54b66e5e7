/* Fuzz target: the server's words guise URL turns into file names and numbers
 * (client/cli/fetch_output.c): a Content-Disposition value for -J, a URL for
 * -O, and the size and seconds parsers of --max-filesize, -C and --retry-delay.
 * A name that is accepted is never a path: no '/', no NUL or control
 * character, not "." or "..", not empty, and it fits its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/cli/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void name_ok(const char *name, size_t cap) {
  const char *nul = memchr(name, '\0', cap);
  if (nul == NULL || nul == name) abort();
  size_t len = (size_t)(nul - name);
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) abort();
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c == 0x7f || c == '/') abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  char *s = malloc(size + 1);
  if (s == NULL) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  char name[256];
  memset(name, 0x55, sizeof(name));
  if (fetch_disposition_name(s, name, sizeof(name)) == 0) name_ok(name, sizeof(name));
  char small[8];
  if (fetch_disposition_name(s, small, sizeof(small)) == 0) name_ok(small, sizeof(small));
  memset(name, 0x55, sizeof(name));
  if (fetch_remote_name(s, name, sizeof(name)) == 0) name_ok(name, sizeof(name));
  unsigned long long n;
  if (fetch_parse_size(s, &n) == 0 && (s[0] < '0' || s[0] > '9')) abort();
  unsigned long long ms;
  if (fetch_parse_seconds(s, 86400, &ms) == 0 && ms > 86400000ull) abort();
  char line[64];
  fetch_status_line(line, sizeof(line), size && data[0] & 1 ? "HTTP/2" : "HTTP/1.1", (int)(size % 1000), NULL);
  if (memchr(line, '\0', sizeof(line)) == NULL) abort();
  free(s);
  return 0;
}

/* Fuzz target: a .netrc file as -n / --netrc-file read it (fetch_netrc_parse,
 * client/cli/fetch_netrc.c) through a CBS. The first byte picks the host asked
 * for (one the seeds name, one they do not, an empty one). Credentials found are
 * "login:password" of at most two words of NETRC_MAX_TOKEN bytes (a login may
 * start with ':' or hold one); a refusal
 * carries a reason and a line of the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/cli/fetch_netrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const hosts[] = {"example.com", "127.0.0.1", "", "EXAMPLE.COM"};
  if (size == 0) return 0;
  const char *host = hosts[data[0] % 4];
  data++, size--;
  size_t lines = 1;
  for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
  CBS in;
  CBS_init(&in, data, size);
  char out[2 * NETRC_MAX_TOKEN + 2], why[120];
  memset(out, 0x55, sizeof(out));
  why[0] = '\0';
  size_t line = 0;
  int r = fetch_netrc_parse(&in, host, out, sizeof(out), &line, why, sizeof(why));
  if (r == 1) {
    const char *nul = memchr(out, '\0', sizeof(out));
    /* a login may itself hold ':' (curl sends it as it is) */
    if (nul == NULL || memchr(out, ':', (size_t)(nul - out)) == NULL || (size_t)(nul - out) > 2 * NETRC_MAX_TOKEN + 1)
      abort();
  } else if (r < 0) {
    if (why[0] == '\0' || line == 0 || line > lines) abort();
  } else if (r != 0) {
    abort();
  }
  /* A small output buffer is refused, never overrun. */
  char small[4];
  CBS_init(&in, data, size);
  if (fetch_netrc_parse(&in, host, small, sizeof(small), &line, why, sizeof(why)) == 1 &&
      memchr(small, '\0', sizeof(small)) == NULL)
    abort();
  return 0;
}

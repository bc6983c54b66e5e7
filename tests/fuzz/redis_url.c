/* Fuzz target: a Redis address of guise enqueue / guise batch (redis_url_parse,
 * client/cli/redis_url.c), which comes from the command line or a script. A
 * refusal has a reason and never quotes the URL; an accepted one has a host, a
 * port in range and a key; the shown forms are NUL-terminated within their
 * buffers, and the password's place in them is "***". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  redis_url u;
  char err[200], shown[64];
  memset(shown, 0x55, sizeof(shown));
  const char *s = (const char *)data;
  if (redis_url_parse(s, size, &u, err, sizeof(err)) != 0) {
    if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) abort();
    redis_url_redact_raw(s, size, shown, sizeof(shown));
    if (memchr(shown, '\0', sizeof(shown)) == NULL) abort();
    return 0;
  }
  if (u.host[0] == '\0' || strlen(u.host) > REDIS_HOST_MAX || u.port < 1 || u.port > 65535) abort();
  if (u.key_len == 0 || u.key_len != strlen(u.key) || u.key_len > REDIS_KEY_MAX) abort();
  if (u.has_password != (u.password[0] != '\0')) abort();
  char big[REDIS_HOST_MAX * 4 + REDIS_USER_MAX * 4 + REDIS_KEY_MAX * 4 + 64];
  redis_url_shown(&u, big, sizeof(big));
  if (u.has_password) {
    /* Right after "redis://USER" comes ":***@", never the password (which the
     * key may hold as text of its own). */
    char user[REDIS_USER_MAX * 4 + 1];
    guise_escape_text(u.user, strlen(u.user), user, sizeof(user));
    size_t at = strlen(u.tls ? "rediss://" : "redis://") + strlen(user);
    if (strncmp(big, u.tls ? "rediss://" : "redis://", at - strlen(user)) != 0 ||
        strncmp(big + at - strlen(user), user, strlen(user)) != 0 || strncmp(big + at, ":***@", 5) != 0)
      abort();
  }
  redis_url_shown(&u, shown, sizeof(shown)); /* cut, still terminated */
  if (memchr(shown, '\0', sizeof(shown)) == NULL) abort();
  return 0;
}

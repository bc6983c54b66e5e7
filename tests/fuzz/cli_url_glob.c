/* Fuzz target: a URL pattern as guise URL globs it (fetch_glob_parse and the
 * expansion, client/cli/fetch_glob.c). A refusal has a reason and a position; a
 * pattern taken has at most 10 sets and makes as many URLs as its count says
 * (the first 2,000 walked), each as long as fetch_glob_url says, cut safely into
 * a small buffer; "#N" names fit theirs; a pattern without {}[] or a backslash
 * is its only URL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/cli/fetch_glob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *pattern = malloc(size + 1);
  if (pattern == NULL) return 0;
  memcpy(pattern, data, size);
  pattern[size] = '\0'; /* a command-line word: up to its first NUL */
  char why[160];
  why[0] = '\0';
  glob_url *gu = fetch_glob_parse(pattern, why, sizeof(why));
  if (gu == NULL) {
    if (why[0] == '\0' || strstr(why, " at ") == NULL) abort();
    free(pattern);
    return 0;
  }
  size_t sets = fetch_glob_sets(gu), count = fetch_glob_count(gu);
  if (sets > GLOB_MAX || count == 0) abort();
  if (strpbrk(pattern, "{}[]\\") == NULL && sets != 0) abort();
  size_t idx[GLOB_MAX] = {0}, walked = 0;
  size_t cap = strlen(pattern) * 8 + 64;
  char *url = malloc(cap);
  if (url == NULL) abort();
  do {
    size_t need = fetch_glob_url(gu, idx, NULL, 0);
    if (need + 1 > cap) abort(); /* a value is at most 19 bytes, its set at least 2 */
    memset(url, 0x55, cap);
    if (fetch_glob_url(gu, idx, url, cap) != need || strlen(url) != need) abort();
    if (sets == 0 && strpbrk(pattern, "{}[]\\") == NULL && strcmp(url, pattern) != 0) abort();
    char small[8];
    fetch_glob_url(gu, idx, small, sizeof(small));
    if (memchr(small, '\0', sizeof(small)) == NULL || strncmp(small, url, strlen(small)) != 0) abort();
    char name[16];
    fetch_glob_name(gu, idx, "#1-#2.#9#", name, sizeof(name));
    if (memchr(name, '\0', sizeof(name)) == NULL) abort();
    walked++;
  } while (walked < 2000 && fetch_glob_next(gu, idx));
  if (walked < 2000 && walked != count) abort();
  free(url);
  fetch_glob_free(gu);
  free(pattern);
  return 0;
}

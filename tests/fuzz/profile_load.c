/* profile_load.c — libFuzzer target: arbitrary bytes as a profile file. Nothing
 * may crash, hang or allocate without bound; a result is either a loaded
 * profile or one error message. A loaded profile is written by the one writer
 * (profile_write) and loaded again: it must load, to the same profile field by
 * field, and writing that gives the same text; its coherence check runs on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "profile_write.h"
#include "../unit/profile/profile_compare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static profile p, q;
  char err[1024];
  if (size > PROFILE_MAX_FILE) return 0;
  err[0] = '\0';
  memset(&p, 0, sizeof(p));
  if (profile_load((const char *)data, size, "fuzz.json", &p, err, sizeof(err)) != 0) {
    if (err[0] == '\0') abort(); /* every refusal says why */
    return 0;
  }
  /* The coherence check reads every header value the file gave: a count, no crash. */
  if (profile_coherence(&p, NULL, NULL) < 0) abort();
  char *text, *again;
  size_t len, len2;
  if (profile_write(&p, &text, &len) != 0) abort();
  memset(&q, 0, sizeof(q));
  if (profile_load(text, len, "written.json", &q, err, sizeof(err)) != 0) abort();
  if (profile_compare(&p, &q) != NULL) abort();
  if (profile_write(&q, &again, &len2) != 0 || len2 != len || memcmp(text, again, len) != 0) abort();
  free(text);
  free(again);
  return 0;
}

/* profile_load.c — libFuzzer target: arbitrary bytes as a profile file. Nothing
 * may crash, hang or allocate without bound; a result is either a loaded
 * profile or one error message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static profile p;
  char err[1024];
  if (size > PROFILE_MAX_FILE) return 0;
  err[0] = '\0';
  if (profile_load((const char *)data, size, "fuzz.json", &p, err, sizeof(err)) != 0 &&
      err[0] == '\0')
    abort(); /* every refusal says why */
  return 0;
}

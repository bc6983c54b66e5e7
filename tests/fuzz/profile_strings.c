/* profile_strings.c — libFuzzer target: arbitrary bytes as the JA3 and Akamai
 * strings of `guise profile import --ja3 --akamai` (split at the first
 * newline). Nothing may crash; a refusal says why; what is accepted is written
 * (profile_write) and read by the strict loader (profile_emit), which loads it or
 * refuses it with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guise_fp.h"
#include "profile.h"
#include "profile_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char text[8192];
  static profile p;
  if (size >= sizeof(text)) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  if (strlen(text) != size) return 0; /* command-line strings hold no NUL */
  char ja4[256];
  (void)gfp_ja4_toggle_padding(text, ja4, sizeof(ja4)); /* any text as a JA4_r */
  char *akamai = strchr(text, '\n');
  if (akamai == NULL) return 0;
  *akamai++ = '\0';
  profile_string_options opt = {NULL, NULL, NULL, size & 1, 0};
  char err[1024] = "";
  if (profile_from_strings(text, akamai, "fuzz", &opt, &p, err, sizeof(err)) != 0) {
    if (err[0] == '\0') abort(); /* every refusal says why */
    return 0;
  }
  char *out = NULL;
  size_t len;
  err[0] = '\0';
  if (profile_emit(&p, "fuzz.json", &out, &len, err, sizeof(err)) != 0) {
    if (err[0] == '\0') abort();
    return 0;
  }
  free(out);
  return 0;
}

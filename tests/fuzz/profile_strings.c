/* profile_strings.c — libFuzzer target: arbitrary bytes as the JA3 and Akamai
 * strings of `guise profile import --ja3 --akamai` (split at the first
 * newline). Nothing may crash; a refusal says why; what is accepted makes a
 * profile document that the strict loader reads or refuses with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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
  json_t *doc = profile_from_strings(text, akamai, "fuzz", &opt, err, sizeof(err));
  if (doc == NULL) {
    if (err[0] == '\0') abort(); /* every refusal says why */
    return 0;
  }
  char *out = json_dumps(doc, JSON_PRESERVE_ORDER);
  json_decref(doc);
  if (out == NULL) abort();
  err[0] = '\0';
  if (profile_load(out, strlen(out), "fuzz.json", &p, err, sizeof(err)) != 0 && err[0] == '\0') abort();
  free(out);
  return 0;
}

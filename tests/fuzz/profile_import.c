/* profile_import.c — libFuzzer target: arbitrary bytes as the JSON documents
 * `guise profile import` reads (a tls.peet.ws dump, a tls.browserleaks.com
 * dump, a guise echo record, a browsers.json record); each importer is run on
 * whatever parses as JSON. Nothing may crash; a refusal says why; what is made
 * goes through the strict loader, which loads it or says why not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "profile.h"
#include "profile_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(json_t *p, const char *err) {
  static profile prof;
  if (p == NULL) {
    if (err[0] == '\0') abort(); /* every refusal says why */
    return;
  }
  char *text = json_dumps(p, JSON_PRESERVE_ORDER);
  json_decref(p);
  if (text == NULL) abort();
  char lerr[1024] = "";
  if (profile_load(text, strlen(text), "fuzz.json", &prof, lerr, sizeof(lerr)) != 0 && lerr[0] == '\0')
    abort();
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  json_t *d = json_loadb((const char *)data, size, 0, NULL);
  if (d == NULL) return 0;
  char err[1024];
  err[0] = '\0';
  load(profile_from_peet(d, "fuzz", (int)(size & 1), err, sizeof(err)), err);
  err[0] = '\0';
  load(profile_from_browserleaks(d, "fuzz", (int)(size & 1), err, sizeof(err)), err);
  err[0] = '\0';
  load(profile_from_echo(d, "fuzz", "fuzz", (int)(size & 1), err, sizeof(err)), err);
  err[0] = '\0';
  load(profile_from_browsers_json(d, "fuzz", err, sizeof(err)), err);
  json_decref(d);
  return 0;
}

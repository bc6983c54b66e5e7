/* profile_import.c — libFuzzer target: arbitrary bytes as the JSON documents
 * `guise profile import` reads (a tls.peet.ws dump, a tls.browserleaks.com
 * dump, a guise echo record, a browsers.json record), read by the bounded JSON
 * reader; each importer is run on whatever parses. Nothing may crash; a refusal
 * says why; what is made is written (profile_write) and goes through the strict
 * loader (profile_emit), which loads it or says why not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"
#include "profile.h"
#include "profile_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emit(int imported, const profile *p, const char *err) {
  if (imported != 0) {
    if (err[0] == '\0') abort(); /* every refusal says why */
    return;
  }
  char *text = NULL, lerr[1024] = "";
  size_t len;
  if (profile_emit(p, "fuzz.json", &text, &len, lerr, sizeof(lerr)) != 0) {
    if (lerr[0] == '\0') abort();
    return;
  }
  if (strlen(text) != len) abort();
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static profile p;
  if (size > 65536) return 0;
  jv_doc doc;
  const char *why;
  size_t at;
  if (jv_parse((const char *)data, size, &doc, &why, &at) != 0) return 0;
  int permute = (int)(size & 1);
  char err[1024];
  err[0] = '\0';
  emit(profile_from_peet(doc.root, "fuzz", permute, &p, err, sizeof(err)), &p, err);
  err[0] = '\0';
  emit(profile_from_browserleaks(doc.root, "fuzz", permute, &p, err, sizeof(err)), &p, err);
  err[0] = '\0';
  emit(profile_from_echo(doc.root, "fuzz", "fuzz", permute, &p, err, sizeof(err)), &p, err);
  err[0] = '\0';
  emit(profile_from_browsers_json(doc.root, "fuzz", &p, err, sizeof(err)), &p, err);
  err[0] = '\0';
  emit(profile_from_capture(doc.root, permute ? doc.root : NULL, "1:65536;2:0|15663105|0|m,a,s,p", "fuzz",
                            "fuzz", permute, &p, err, sizeof(err)), &p, err);
  jv_free(&doc);
  return 0;
}

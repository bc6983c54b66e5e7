/* profile_api.c — the public profile functions (guise.h) over profile.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guise.h"
#include "profile.h"
#include "profile_import.h"
#include "json_jansson.h"

/* The longest line of a guise echo log read here: the echo caps what it logs. */
#define PROFILE_API_LINE (1u << 20)
/* Largest dump or browsers.json an importer reads. */
#define PROFILE_API_FILE (64u << 20)

size_t guise_profile_count(void) { return profile_builtin_count(); }
const char *guise_profile_name(size_t i) { return profile_builtin_name(i); }
const char *guise_profile_default(void) { return PROFILE_DEFAULT; }

const char *guise_profile_text(const char *name, size_t *len) {
  return profile_builtin_text(name, len);
}

/* A built-in name, else a file; the code tells what went wrong. (Used by
 * request.c too, hence not static.) */
int profile_resolve(const char *name_or_file, profile *out, char *err, size_t errlen) {
  size_t len;
  int r;
  if (profile_builtin_text(name_or_file, &len) != NULL) {
    r = profile_load_builtin(name_or_file, out, err, errlen);
  } else if (strchr(name_or_file, '/') || strstr(name_or_file, ".json")) {
    FILE *f = fopen(name_or_file, "rb");
    if (f == NULL) {
      snprintf(err, errlen, "profile %s: no such built-in profile or file", name_or_file);
      return GUISE_E_PROFILE_NOT_FOUND;
    }
    fclose(f);
    r = profile_load_file(name_or_file, out, err, errlen);
  } else {
    snprintf(err, errlen, "no built-in profile \"%s\" (guise profile list)", name_or_file);
    return GUISE_E_PROFILE_NOT_FOUND;
  }
  switch (r) {
    case 0: return 0;
    case PROFILE_ERR_INVALID: return GUISE_E_PROFILE_INVALID;
    case PROFILE_ERR_UNSUPPORTED: return GUISE_E_PROFILE_UNSUPPORTED;
    case PROFILE_ERR_NOMEM: return GUISE_E_NOMEM;
    case PROFILE_ERR_NOT_FOUND: return GUISE_E_PROFILE_NOT_FOUND;
    default: return GUISE_E_PROFILE_SYNTAX;
  }
}

int guise_profile_check_syntax(const char *name_or_file, char *err, unsigned errlen) {
  profile *p = malloc(sizeof(*p));
  if (p == NULL) return GUISE_E_NOMEM;
  int r = profile_resolve(name_or_file, p, err, errlen);
  free(p);
  return r;
}

int guise_profile_expected(const char *name_or_file, char *ja4, char *ja3n, char *ja3, char *akamai,
                           char *peetprint, size_t cap, char *err, unsigned errlen) {
  profile *p = malloc(sizeof(*p));
  if (p == NULL) return GUISE_E_NOMEM;
  int r = profile_resolve(name_or_file, p, err, errlen);
  if (r == 0) {
    snprintf(ja4, cap, "%s", p->expected.ja4);
    snprintf(ja3n, cap, "%s", p->expected.ja3n);
    snprintf(ja3, cap, "%s", p->expected.ja3);
    snprintf(akamai, cap, "%s", p->expected.akamai);
    snprintf(peetprint, cap, "%s", p->expected.peetprint);
  }
  free(p);
  return r;
}

/* Writes the imported profile |p| (consumed) as indented JSON to |*out| (|*len|
 * bytes, malloc'd), once the strict loader has taken it: whatever an importer
 * makes either loads or is refused here with the loader's message. */
int profile_emit(json_t *p, const char *origin, char **out, size_t *len, char *err,
                 unsigned errlen) {
  char *text = json_dumps(p, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(p);
  profile *check = malloc(sizeof(*check));
  if (text == NULL || check == NULL) {
    free(text);
    free(check);
    return GUISE_E_NOMEM;
  }
  int r = profile_load(text, strlen(text), origin, check, err, errlen);
  free(check);
  if (r) {
    free(text);
    return GUISE_E_PROFILE_INVALID;
  }
  *len = strlen(text);
  *out = text;
  return 0;
}

int guise_profile_import_browsers_json(const char *file, const char *id, const char *name,
                                       char **out, size_t *len, char *err, unsigned errlen) {
  char why[200];
  json_t *root = json_read_jansson_file(file, PROFILE_API_FILE, why, sizeof(why));
  if (root == NULL) {
    snprintf(err, errlen, "%s:%s", file, why);
    return GUISE_E_USAGE_FILE;
  }
  json_t *found = NULL, *b;
  size_t i;
  json_array_foreach(json_object_get(root, "browsers"), i, b) {
    const char *bid = json_string_value(json_object_get(b, "id"));
    if (bid && strcmp(bid, id) == 0) found = b;
  }
  if (found == NULL) {
    snprintf(err, errlen, "%s: no record \"%s\"", file, id);
    json_decref(root);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  json_t *p = profile_from_browsers_json(found, name, err, errlen);
  json_decref(root);
  if (p == NULL) return GUISE_E_PROFILE_INVALID;
  return profile_emit(p, "(made from the record)", out, len, err, errlen);
}

int guise_profile_import_echo_log(const char *file, const char *name, const char *description,
                                  int permute, char **out, size_t *len, char *err,
                                  unsigned errlen) {
  FILE *f = fopen(file, "r");
  if (f == NULL) {
    snprintf(err, errlen, "%s: cannot open", file);
    return GUISE_E_USAGE_FILE;
  }
  /* One JSON document per line; lines are bounded by the echo's own caps. The
   * buffer is the call's own: importers may run on several threads at once. */
  char *line = malloc(PROFILE_API_LINE);
  if (line == NULL) {
    fclose(f);
    snprintf(err, errlen, "out of memory");
    return GUISE_E_NOMEM;
  }
  json_t *p = NULL;
  int lineno = 0;
  while (p == NULL && fgets(line, PROFILE_API_LINE, f)) {
    lineno++;
    json_t *rec = json_read_jansson(line, strlen(line), NULL, 0);
    if (rec == NULL) continue; /* a torn or foreign line: skip it */
    json_t *reqs = json_object_get(rec, "requests");
    if (json_is_object(json_object_get(rec, "http2")) && json_array_size(reqs) > 0)
      p = profile_from_echo(rec, name, description ? description : name, permute, err, errlen);
    json_decref(rec);
  }
  free(line);
  fclose(f);
  if (p == NULL) {
    snprintf(err, errlen, "%s: no connection with an HTTP/2 request in %d lines", file, lineno);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  return profile_emit(p, "(made from the echo log)", out, len, err, errlen);
}

/* pcap (either byte order, micro- or nanoseconds) or pcapng: the magic numbers of
 * the pcap file format (draft-ietf-opsawg-pcap) and the pcapng Section Header Block. */
static int is_capture_magic(const unsigned char m[4]) {
  static const unsigned char magics[][4] = {
      {0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},
      {0x4d, 0x3c, 0xb2, 0xa1}, {0x0a, 0x0d, 0x0d, 0x0a}};
  for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
    if (memcmp(m, magics[i], 4) == 0) return 1;
  return 0;
}

int guise_profile_import(const char *file, const char *id, const char *name, int permute,
                         char **out, size_t *len, char *err, unsigned errlen) {
  FILE *fh = fopen(file, "rb");
  unsigned char head[4];
  size_t nh = fh ? fread(head, 1, sizeof(head), fh) : 0;
  if (fh) fclose(fh);
  if (nh == sizeof(head) && is_capture_magic(head)) {
    snprintf(err, errlen, "%s is a pcap or pcapng capture: captures are imported by "
             "guise_profile_import_capture (libguise-capture, guise_capture.h)", file);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  char why[200];
  json_t *root = json_read_jansson_file(file, PROFILE_API_FILE, why, sizeof(why));
  if (root && json_is_array(json_object_get(root, "browsers"))) {
    json_decref(root);
    if (id == NULL) {
      snprintf(err, errlen, "%s is a browsers.json file: --id names the record", file);
      return GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    return guise_profile_import_browsers_json(file, id, name, out, len, err, errlen);
  }
  if (root && json_is_array(json_object_get(json_object_get(root, "tls"), "ciphers")) &&
      json_is_array(json_object_get(json_object_get(root, "http2"), "sent_frames"))) {
    json_t *p = profile_from_peet(root, name, permute, err, errlen);
    json_decref(root);
    if (p == NULL) return GUISE_E_PROFILE_INVALID;
    return profile_emit(p, "(made from the dump)", out, len, err, errlen);
  }
  if (root && json_is_array(json_object_get(json_object_get(root, "tls"), "extensions")) &&
      json_is_array(json_object_get(root, "http2"))) {
    json_t *p = profile_from_browserleaks(root, name, permute, err, errlen);
    json_decref(root);
    if (p == NULL) return GUISE_E_PROFILE_INVALID;
    return profile_emit(p, "(made from the dump)", out, len, err, errlen);
  }
  json_decref(root);
  /* Otherwise: one JSON document per line, a guise echo log. */
  return guise_profile_import_echo_log(file, name, NULL, permute, out, len, err, errlen);
}

int guise_profile_import_strings(const char *ja3, const char *akamai, const char *name,
                                 const char *sigalgs, const char *key_shares, const char *alpn,
                                 int grease, int permute, char **out, size_t *len, char *err,
                                 unsigned errlen) {
  profile_string_options opt = {sigalgs, key_shares, alpn, grease, permute};
  json_t *p = profile_from_strings(ja3, akamai, name, &opt, err, errlen);
  if (p == NULL) return GUISE_E_PROFILE_INVALID;
  return profile_emit(p, "(made from the strings)", out, len, err, errlen);
}

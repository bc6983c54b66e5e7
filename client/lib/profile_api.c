/* profile_api.c — the public profile functions (guise.h) over profile.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guise.h"
#include "profile.h"
#include "profile_import.h"
#include "json_jansson.h"
#include "capture.h"

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
static int emit(json_t *p, const char *origin, char **out, size_t *len, char *err,
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
  return emit(p, "(made from the record)", out, len, err, errlen);
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
  return emit(p, "(made from the echo log)", out, len, err, errlen);
}

int guise_profile_import(const char *file, const char *id, const char *name, int permute,
                         char **out, size_t *len, char *err, unsigned errlen) {
  FILE *fh = fopen(file, "rb");
  unsigned char head[4];
  size_t nh = fh ? fread(head, 1, sizeof(head), fh) : 0;
  if (fh) fclose(fh);
  if (gcap_detect(head, nh) != GCAP_INPUT_HEX)
    return guise_profile_import_capture(file, NULL, NULL, name, permute, out, len, err, errlen);
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
    return emit(p, "(made from the dump)", out, len, err, errlen);
  }
  if (root && json_is_array(json_object_get(json_object_get(root, "tls"), "extensions")) &&
      json_is_array(json_object_get(root, "http2"))) {
    json_t *p = profile_from_browserleaks(root, name, permute, err, errlen);
    json_decref(root);
    if (p == NULL) return GUISE_E_PROFILE_INVALID;
    return emit(p, "(made from the dump)", out, len, err, errlen);
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
  return emit(p, "(made from the strings)", out, len, err, errlen);
}

/* The first ClientHello flight and the first HTTP/2 preface flight of a capture. */
typedef struct first_flights {
  json_t *tls, *h2;
} first_flights;

static void keep_first(json_t *rec, bool is_error, void *arg) {
  first_flights *f = arg;
  if (is_error) return;
  if (f->tls == NULL && json_is_object(json_object_get(json_object_get(rec, "tls"), "client_hello")))
    f->tls = json_incref(rec);
  json_t *h2 = json_object_get(rec, "http2");
  if (f->h2 == NULL && json_is_object(h2) && json_object_get(h2, "error") == NULL)
    f->h2 = json_incref(rec);
}

/* The record of |log| (a guise echo log) whose ClientHello has |random|, with an
 * HTTP/2 preface; NULL when none. Lines are bounded by the echo's own caps. */
static json_t *echo_record_by_random(const char *log, const char *random, int *lines, char *err,
                                     unsigned errlen) {
  FILE *f = fopen(log, "r");
  if (f == NULL) {
    snprintf(err, errlen, "%s: cannot open", log);
    *lines = -1;
    return NULL;
  }
  char *line = malloc(PROFILE_API_LINE);
  if (line == NULL) {
    fclose(f);
    snprintf(err, errlen, "out of memory");
    *lines = -1;
    return NULL;
  }
  json_t *found = NULL;
  *lines = 0;
  while (found == NULL && fgets(line, PROFILE_API_LINE, f)) {
    (*lines)++;
    json_t *rec = json_read_jansson(line, strlen(line), NULL, 0);
    const char *r = json_string_value(
        json_object_get(json_object_get(json_object_get(rec, "tls"), "client_hello"), "random"));
    json_t *h2 = json_object_get(rec, "http2");
    if (r && random && strcmp(r, random) == 0 && json_is_object(h2) && json_object_get(h2, "error") == NULL)
      found = json_incref(rec);
    json_decref(rec);
  }
  free(line);
  fclose(f);
  return found;
}

int guise_profile_import_capture(const char *file, const char *akamai, const char *echo_log,
                                 const char *name, int permute, char **out, size_t *len, char *err,
                                 unsigned errlen) {
  gcap_options o;
  gcap_options_init(&o);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  first_flights f = {NULL, NULL};
  if (gcap_read_file(file, NULL, &o, keep_first, &f, &st, err, errlen) != 0)
    return GUISE_E_USAGE_FILE;
  if (f.tls == NULL) {
    json_decref(f.h2);
    snprintf(err, errlen, "%s: no TLS ClientHello among %llu records", file,
             (unsigned long long)st.records);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  json_t *flow = json_object_get(f.tls, "flow");
  char source[512];
  snprintf(source, sizeof(source), "capture %s, connection %s -> %s (guise fp)", file,
           json_string_value(json_object_get(flow, "client")) ? json_string_value(json_object_get(flow, "client")) : "-",
           json_string_value(json_object_get(flow, "server")) ? json_string_value(json_object_get(flow, "server")) : "-");
  if (echo_log) {
    const char *random = json_string_value(
        json_object_get(json_object_get(json_object_get(f.tls, "tls"), "client_hello"), "random"));
    int lines;
    json_t *rec = echo_record_by_random(echo_log, random, &lines, err, errlen);
    if (rec == NULL) {
      if (lines >= 0)
        snprintf(err, errlen, "%s: no connection with the capture's client random %.16s... and an HTTP/2 preface among %d lines",
                 echo_log, random ? random : "?", lines);
      json_decref(f.tls);
      json_decref(f.h2);
      return lines < 0 ? GUISE_E_USAGE_FILE : GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    json_decref(f.h2);
    f.h2 = rec;
    akamai = NULL;
  }
  /* An echo log's record, then an Akamai string, then a cleartext preface in the file. */
  json_t *p = profile_from_capture(f.tls, echo_log || !akamai ? f.h2 : NULL, akamai, name, source, permute, err, errlen);
  json_decref(f.tls);
  json_decref(f.h2);
  if (p == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  return emit(p, "(made from the capture)", out, len, err, errlen);
}

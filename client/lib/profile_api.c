/*
 * profile_api.c — the public profile functions (guise.h): the built-in list, checks,
 * and `guise profile import`: each input read into a tree of the bounded JSON
 * reader (json_read.h), handed to its importer (profile_import.h), which fills a
 * profile; profile_emit() writes it (profile_write.h) and has the loader take it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "json_read.h"
#include "profile.h"
#include "profile_import.h"
#include "profile_write.h"

/* The longest line of a guise echo log read here: the echo caps what it logs. */
#define PROFILE_API_LINE (1u << 20)
/* Largest dump or browsers.json an importer reads. */
#define PROFILE_API_FILE (64u << 20)

size_t guise_profile_count(void) { return profile_builtin_count(); }
const char *guise_profile_name(size_t i) { return profile_builtin_name(i); }
const char *guise_profile_default(void) { return PROFILE_DEFAULT; }

const char *guise_profile_alias(size_t i, const char **target) {
  const char *a = profile_alias_name(i);
  if (target) *target = a ? profile_alias_target(a) : NULL;
  return a;
}

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

int guise_profile_coherence(const char *name_or_file, void (*warn)(void *ud, const char *msg), void *ud,
                            char *err, unsigned errlen) {
  profile *p = malloc(sizeof(*p));
  if (p == NULL) return GUISE_E_NOMEM;
  int r = profile_resolve(name_or_file, p, err, errlen);
  if (r == 0) r = profile_coherence(p, warn, ud);
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

/* Whatever an importer makes either loads or is refused here with the loader's
 * message (which names the line and column of the written text). */
int profile_emit(const profile *p, const char *origin, char **out, size_t *len, char *err,
                 unsigned errlen) {
  char *text = NULL;
  size_t n = 0;
  int r = profile_write(p, &text, &n);
  if (r != 0) {
    snprintf(err, errlen, "%s: %s", origin, r == PROFILE_ERR_NOMEM ? "out of memory" : "too large to write");
    return r == PROFILE_ERR_NOMEM ? GUISE_E_NOMEM : GUISE_E_PROFILE_INVALID;
  }
  profile *check = malloc(sizeof(*check));
  if (check == NULL) {
    free(text);
    return GUISE_E_NOMEM;
  }
  r = profile_load(text, n, origin, check, err, errlen);
  free(check);
  if (r) {
    free(text);
    return GUISE_E_PROFILE_INVALID;
  }
  *len = n;
  *out = text;
  return 0;
}

/* A profile to fill (large: not on the stack), or NULL with |err|. */
static profile *new_profile(char *err, unsigned errlen) {
  profile *p = malloc(sizeof(*p));
  if (p == NULL) snprintf(err, errlen, "out of memory");
  return p;
}

/* The importer's result written out: 0, or GUISE_E_PROFILE_INVALID when the
 * importer refused the input (|err| says why). Frees |p|. */
static int emit(profile *p, int imported, const char *origin, char **out, size_t *len, char *err,
                unsigned errlen) {
  int r = imported == 0 ? profile_emit(p, origin, out, len, err, errlen) : GUISE_E_PROFILE_INVALID;
  free(p);
  return r;
}

int guise_profile_import_browsers_json(const char *file, const char *id, const char *name,
                                       char **out, size_t *len, char *err, unsigned errlen) {
  char why[200];
  jv_doc doc;
  if (profile_import_read_file(file, PROFILE_API_FILE, &doc, why, sizeof(why)) != 0) {
    snprintf(err, errlen, "%s:%s", file, why);
    return GUISE_E_USAGE_FILE;
  }
  const jv *found = NULL, *browsers = jv_get(doc.root, "browsers");
  for (const jv *b = browsers && browsers->type == JV_ARRAY ? browsers->child : NULL; b; b = b->next) {
    const jv *bid = jv_get(b, "id");
    /* the last record of that id, as before */
    if (bid && bid->type == JV_STRING && bid->len == strlen(id) && memcmp(bid->str, id, bid->len) == 0) found = b;
  }
  if (found == NULL) {
    snprintf(err, errlen, "%s: no record \"%s\"", file, id);
    jv_free(&doc);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  profile *p = new_profile(err, errlen);
  if (p == NULL) {
    jv_free(&doc);
    return GUISE_E_NOMEM;
  }
  int imported = profile_from_browsers_json(found, name, p, err, errlen);
  jv_free(&doc);
  return emit(p, imported, "(made from the record)", out, len, err, errlen);
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
  profile *p = new_profile(err, errlen);
  if (p == NULL) {
    free(line);
    fclose(f);
    return GUISE_E_NOMEM;
  }
  int lineno = 0, imported = -2; /* -2: no record with an HTTP/2 request yet */
  while (imported == -2 && fgets(line, PROFILE_API_LINE, f)) {
    lineno++;
    jv_doc doc;
    const char *why;
    size_t at;
    if (jv_parse(line, strlen(line), &doc, &why, &at) != 0) continue; /* a torn or foreign line: skip it */
    const jv *h2 = jv_get(doc.root, "http2"), *reqs = jv_get(doc.root, "requests");
    if (h2 && h2->type == JV_OBJECT && reqs && reqs->type == JV_ARRAY && reqs->len > 0)
      imported = profile_from_echo(doc.root, name, description ? description : name, permute, p, err, errlen);
    jv_free(&doc);
  }
  free(line);
  fclose(f);
  if (imported == -2) {
    free(p);
    snprintf(err, errlen, "%s: no connection with an HTTP/2 request in %d lines", file, lineno);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  return emit(p, imported, "(made from the echo log)", out, len, err, errlen);
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
  jv_doc doc;
  const jv *root = profile_import_read_file(file, PROFILE_API_FILE, &doc, why, sizeof(why)) == 0 ? doc.root : NULL;
#define IS(v, t) ((v) != NULL && (v)->type == (t))
  if (IS(jv_get(root, "browsers"), JV_ARRAY)) {
    jv_free(&doc);
    if (id == NULL) {
      snprintf(err, errlen, "%s is a browsers.json file: --id names the record", file);
      return GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    return guise_profile_import_browsers_json(file, id, name, out, len, err, errlen);
  }
  int peet = IS(jv_get(jv_get(root, "tls"), "ciphers"), JV_ARRAY) &&
             IS(jv_get(jv_get(root, "http2"), "sent_frames"), JV_ARRAY);
  int browserleaks = IS(jv_get(jv_get(root, "tls"), "extensions"), JV_ARRAY) && IS(jv_get(root, "http2"), JV_ARRAY);
#undef IS
  if (peet || browserleaks) {
    profile *p = new_profile(err, errlen);
    int imported = p == NULL ? -1
                   : peet    ? profile_from_peet(root, name, permute, p, err, errlen)
                             : profile_from_browserleaks(root, name, permute, p, err, errlen);
    jv_free(&doc);
    if (p == NULL) return GUISE_E_NOMEM;
    return emit(p, imported, "(made from the dump)", out, len, err, errlen);
  }
  if (root) jv_free(&doc);
  /* Otherwise: one JSON document per line, a guise echo log. */
  return guise_profile_import_echo_log(file, name, NULL, permute, out, len, err, errlen);
}

/* |a| and |b| as sets (GREASE values left out, JA3 has none): |a ∩ b| / |a ∪ b|, 1
 * for two empty sets. */
static double jaccard(const uint16_t *a, size_t na, const uint16_t *b, size_t nb) {
  size_t inter = 0, ua = 0, ub = 0;
  for (size_t i = 0; i < na; i++) {
    if ((a[i] & 0x0f0f) == 0x0a0a) continue;
    int dup = 0;
    for (size_t k = 0; k < i && !dup; k++) dup = a[k] == a[i];
    if (dup) continue;
    ua++;
    for (size_t k = 0; k < nb; k++)
      if (b[k] == a[i]) {
        inter++;
        break;
      }
  }
  for (size_t i = 0; i < nb; i++) {
    if ((b[i] & 0x0f0f) == 0x0a0a) continue;
    int dup = 0;
    for (size_t k = 0; k < i && !dup; k++) dup = b[k] == b[i];
    if (!dup) ub++;
  }
  size_t uni = ua + ub - inter;
  return uni ? (double)inter / (double)uni : 1.0;
}

/* The first number in a profile's name ("chrome-android-143": 143). */
static long name_version(const char *n) {
  while (*n && (*n < '0' || *n > '9')) n++;
  return *n ? strtol(n, NULL, 10) : -1;
}

/*
 * A JA3 + Akamai import (or a capture without its echo log) carries no request
 * headers. It takes them (and the request
 * kinds) from the shipped profile nearest to its hello: the highest sum of the
 * Jaccard similarities of the cipher, extension and group sets (JA3's own fields;
 * GREASE aside, order aside since Chrome shuffles its extensions), among the shipped
 * profiles that send a user-agent; a tie goes to the higher version in the name.
 * The choice is written into "source". 0, or -1 when no shipped profile loads.
 */
int profile_take_nearest_headers(profile *p) {
  profile *b = malloc(sizeof(*b));
  if (b == NULL) return -1;
  char err[256], best[PROFILE_MAX_NAME] = "";
  double best_score = -1;
  for (size_t i = 0; i < profile_builtin_count(); i++) {
    const char *n = profile_builtin_name(i);
    if (profile_load_builtin(n, b, err, sizeof(err)) != 0) continue;
    int ua = 0;
    for (size_t k = 0; k < b->n_nav_h2; k++) ua |= !strcmp(b->nav_h2[k].name, "user-agent");
    if (!ua) continue;
    double sc = jaccard(p->tls.ciphers, p->tls.n_ciphers, b->tls.ciphers, b->tls.n_ciphers) +
                jaccard(p->tls.extensions, p->tls.n_extensions, b->tls.extensions, b->tls.n_extensions) +
                jaccard(p->tls.groups, p->tls.n_groups, b->tls.groups, b->tls.n_groups);
    if (sc > best_score + 1e-9 || (sc > best_score - 1e-9 && name_version(n) > name_version(best))) {
      best_score = sc;
      snprintf(best, sizeof(best), "%s", n);
    }
  }
  int r = -1;
  if (best[0] && profile_load_builtin(best, b, err, sizeof(err)) == 0) {
    memcpy(p->nav_h2, b->nav_h2, sizeof(p->nav_h2));
    p->n_nav_h2 = b->n_nav_h2;
    memcpy(p->nav_h1, b->nav_h1, sizeof(p->nav_h1));
    p->n_nav_h1 = b->n_nav_h1;
    memcpy(p->kinds, b->kinds, sizeof(p->kinds));
    size_t used = strlen(p->source);
    snprintf(p->source + used, sizeof(p->source) - used,
             "; request headers and kinds from %s, the shipped profile nearest to this hello (cipher, "
             "extension and group sets: %.2f of 3)",
             best, best_score);
    r = 0;
  }
  free(b);
  return r;
}

int guise_profile_import_strings(const char *ja3, const char *akamai, const char *name,
                                 const char *sigalgs, const char *key_shares, const char *alpn,
                                 int grease, int permute, char **out, size_t *len, char *err,
                                 unsigned errlen) {
  profile_string_options opt = {sigalgs, key_shares, alpn, grease, permute};
  profile *p = new_profile(err, errlen);
  if (p == NULL) return GUISE_E_NOMEM;
  int imported = profile_from_strings(ja3, akamai, name, &opt, p, err, errlen);
  if (imported == 0 && p->n_nav_h2 == 0 && profile_take_nearest_headers(p) != 0) {
    snprintf(err, errlen, "no shipped profile to take the request headers from");
    imported = -1;
  }
  return emit(p, imported, "(made from the strings)", out, len, err, errlen);
}

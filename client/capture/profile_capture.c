/* profile_capture.c — guise_profile_import_capture() (guise_capture.h): a profile from
 * the first ClientHello of a capture, read by the capture reader. In libguise-capture,
 * beside guise_fp_file, so that libguise needs no libpcap.
 *
 * The capture reader hands its records over as jansson trees (fingerprints/capture);
 * the two kept are serialised and read back through the bounded JSON reader, so the
 * importer (profile_from_capture, profile_import.h) reads one kind of tree whatever
 * the input. Calls the capture reader, profile_import.h; called by the command. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guise_capture.h"
#include "capture.h"
#include "json_read.h"
#include "profile_import.h"

/* The longest line of a guise echo log read here: the echo caps what it logs. */
#define PROFILE_CAPTURE_LINE (1u << 20)

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

/* A capture reader's record as a tree of the bounded reader: 0, or -1 (out of memory). */
static int record_tree(json_t *rec, jv_doc *doc) {
  char *text = json_dumps(rec, JSON_COMPACT);
  if (text == NULL) return -1;
  const char *why;
  size_t at;
  int r = jv_parse(text, strlen(text), doc, &why, &at);
  free(text);
  return r;
}

/* The record of |log| (a guise echo log) whose ClientHello has |random|, with an
 * HTTP/2 preface, into |found| (1); 0 when none. Lines are bounded by the echo's own
 * caps. */
static int echo_record_by_random(const char *log, const char *random, jv_doc *found, int *lines,
                                 char *err, unsigned errlen) {
  FILE *f = fopen(log, "r");
  if (f == NULL) {
    snprintf(err, errlen, "%s: cannot open", log);
    *lines = -1;
    return 0;
  }
  char *line = malloc(PROFILE_CAPTURE_LINE);
  if (line == NULL) {
    fclose(f);
    snprintf(err, errlen, "out of memory");
    *lines = -1;
    return 0;
  }
  int have = 0;
  *lines = 0;
  while (!have && fgets(line, PROFILE_CAPTURE_LINE, f)) {
    (*lines)++;
    jv_doc doc;
    const char *why;
    size_t at;
    if (jv_parse(line, strlen(line), &doc, &why, &at) != 0) continue; /* a torn or foreign line */
    const jv *r = jv_get(jv_get(jv_get(doc.root, "tls"), "client_hello"), "random");
    const jv *h2 = jv_get(doc.root, "http2");
    if (r && r->type == JV_STRING && random && strlen(random) == r->len && memcmp(r->str, random, r->len) == 0 &&
        h2 && h2->type == JV_OBJECT && jv_get(h2, "error") == NULL) {
      *found = doc;
      have = 1;
    } else {
      jv_free(&doc);
    }
  }
  free(line);
  fclose(f);
  return have;
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
  jv_doc tls_doc, h2_doc;
  int have_h2 = 0;
  if (echo_log) {
    const char *random = json_string_value(
        json_object_get(json_object_get(json_object_get(f.tls, "tls"), "client_hello"), "random"));
    int lines;
    if (!echo_record_by_random(echo_log, random, &h2_doc, &lines, err, errlen)) {
      if (lines >= 0)
        snprintf(err, errlen, "%s: no connection with the capture's client random %.16s... and an HTTP/2 preface among %d lines",
                 echo_log, random ? random : "?", lines);
      json_decref(f.tls);
      json_decref(f.h2);
      return lines < 0 ? GUISE_E_USAGE_FILE : GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    have_h2 = 1;
    akamai = NULL;
  } else if (f.h2 && !akamai) {
    if (record_tree(f.h2, &h2_doc) != 0) {
      json_decref(f.tls);
      json_decref(f.h2);
      snprintf(err, errlen, "out of memory");
      return GUISE_E_NOMEM;
    }
    have_h2 = 1;
  }
  json_decref(f.h2);
  int r = record_tree(f.tls, &tls_doc);
  json_decref(f.tls);
  profile *p = r == 0 ? malloc(sizeof(*p)) : NULL;
  if (p == NULL) {
    if (r == 0) jv_free(&tls_doc);
    if (have_h2) jv_free(&h2_doc);
    snprintf(err, errlen, "out of memory");
    return GUISE_E_NOMEM;
  }
  /* An echo log's record, then an Akamai string, then a cleartext preface in the file. */
  int imported = profile_from_capture(tls_doc.root, have_h2 ? h2_doc.root : NULL, akamai, name, source, permute,
                                      p, err, errlen);
  jv_free(&tls_doc);
  if (have_h2) jv_free(&h2_doc);
  /* Without the echo log's request (an Akamai string, a bare hello), the request
   * headers of the nearest shipped profile: no browser sends none. */
  if (imported == 0 && p->n_nav_h2 == 0 && profile_take_nearest_headers(p) != 0) {
    snprintf(err, errlen, "no shipped profile to take the request headers from");
    imported = -1;
  }
  r = imported == 0 ? profile_emit(p, "(made from the capture)", out, len, err, errlen)
                    : GUISE_E_USAGE_INVALID_ARGUMENT;
  free(p);
  return r;
}

int guise_fp_is_capture(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  uint8_t head[4];
  size_t n = fread(head, 1, sizeof(head), f);
  int failed = ferror(f);
  fclose(f);
  if (failed) return -1;
  return gcap_detect(head, n) != GCAP_INPUT_HEX;
}

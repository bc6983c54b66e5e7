/* profile_capture.c — guise_profile_import_capture() (guise_capture.h): a profile from
 * the first ClientHello of a capture, read by the capture reader. In libguise-capture,
 * beside guise_fp_file, so that libguise needs no libpcap. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guise_capture.h"
#include "capture.h"
#include "json_jansson.h"
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
  char *line = malloc(PROFILE_CAPTURE_LINE);
  if (line == NULL) {
    fclose(f);
    snprintf(err, errlen, "out of memory");
    *lines = -1;
    return NULL;
  }
  json_t *found = NULL;
  *lines = 0;
  while (found == NULL && fgets(line, PROFILE_CAPTURE_LINE, f)) {
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
  return profile_emit(p, "(made from the capture)", out, len, err, errlen);
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

/*
 * batch_record.h — the record writer of the batch engine (docs/BATCH.md): the one
 * JSON object a job ends with, and the error record of an input line that is not
 * a job (guise_batch_record_error). Pure formatting: no I/O, no locks, no libuv;
 * it calls only libc, BoringSSL's base64 encoder and guise_url_redact /
 * guise_err_name / guise_err_class.
 *
 * Called by batch.c (a job's record, its response headers and inline body kept
 * in sbufs while it runs) and, through guise_batch_record_error, by the guise
 * batch command and anyone submitting lines of their own.
 */
#ifndef GUISE_BATCH_RECORD_H
#define GUISE_BATCH_RECORD_H

#include <stddef.h>
#include <string.h>

#include "guise.h"

/* A growable byte buffer with a hard maximum (|max|), always NUL-terminated
 * once written. A write that would pass |max| sets |over| and writes nothing. */
typedef struct sbuf {
  char *p;
  size_t len, cap, max;
  int over;
  int borrowed; /* |p| is the caller's (its stack): moved to the heap on growth, never freed here */
} sbuf;

/* Grows |b| for |n| more bytes: 0, or -1 (over |max|: |over| set; no memory). */
int sb_grow(sbuf *b, size_t n);

/* A record makes some sixty of these: the common case inline, no call. */
static inline int sb_put(sbuf *b, const void *p, size_t n) {
  if ((b->len + n + 1 > b->cap || b->len + n > b->max) && sb_grow(b, n) != 0) return -1;
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

/* |n| bytes of |s| as a JSON string: valid UTF-8 (RFC 3629) passed through,
 * other bytes and control characters escaped. */
void sb_json(sbuf *b, const char *s, size_t n);

/* What the record of one job says. Strings are NUL-terminated; NULL where noted. */
typedef struct batch_record_in {
  const char *id;                   /* NULL: the line number */
  unsigned long long line;          /* 0: no "line" */
  const char *url;                  /* NULL: "" */
  const char *profile;              /* the job's, else the batch's, else "none" */
  const char *meta;                 /* JSON text copied as it is, or NULL */
  unsigned attempts;
  int err;                          /* 0 or GUISE_E_* */
  const guise_response_info *info;  /* NULL: the job did not start */
  const char *detail;               /* NULL: info's error_detail */
  const sbuf *headers_json;         /* "[name,value],..." or NULL: no "headers" */
  int body_mode;                    /* GUISE_BODY_* */
  const sbuf *body;                 /* TEXT, BASE64: what was kept (|over|: truncated) */
  const char *body_path;            /* DIR: the file, or NULL */
} batch_record_in;

/* Appends the record of |in| to |out| (one JSON object, no newline). Sets
 * |out->over| (and may leave a partial record) when |out| cannot hold it. */
void batch_record_write(sbuf *out, const batch_record_in *in);

/* Appends the error record of input line |line| that is not run, under |id|
 * (see guise_batch_record_error). */
void batch_record_line_error(sbuf *out, const char *id, unsigned long long line, const char *why);

#endif

/*
 * write_out.h — -w FORMAT (--write-out) as curl 7.88 reads it, apart from the
 * transfer so that it can be fuzzed: %{name} (curl's names that guise keeps),
 * %header{NAME}, %% for %, \n \r \t, %{stderr} and %{stdout} switching where
 * the rest goes, %{json} and %{header_json}. An unknown name is said on the
 * error stream and prints nothing; a '%' that starts no variable, or a "%{"
 * without its '}', is printed as it is.
 *
 * Output is bounded by the format: each byte of it prints itself, or a
 * variable prints at most the fields kept (WRITE_OUT_HEADS_MAX, six bytes each
 * when JSON-escaped), the URLs (cut at about 8 KiB) and the texts given.
 */
#ifndef GUISE_CLI_WRITE_OUT_H
#define GUISE_CLI_WRITE_OUT_H

#include <stddef.h>
#include <stdio.h>

#include "guise.h"

#define WRITE_OUT_HEADS_MAX 65536 /* the fields kept of one response: a larger head keeps its first */

/* A response's fields, kept for %{content_type}, %header{NAME},
 * %{header_json}, %{redirect_url}: "name\0value\0" each, at most
 * WRITE_OUT_HEADS_MAX bytes. Zero it to start; write_out_heads_free at the end. */
typedef struct write_out_heads {
  char *heads;
  size_t heads_len, n_heads;
} write_out_heads;

/* Keeps the |n| fields of |h| (the previous ones freed); the first that fit the
 * cap. Out of memory keeps none. */
void write_out_keep(write_out_heads *k, const guise_header *h, size_t n);
void write_out_heads_free(write_out_heads *k);

/* What the command knows of one URL besides the library's report. */
typedef struct write_out_vars {
  const char *url;      /* as given (its password hidden when printed) */
  const char *message;  /* the command's own failure, "" or NULL: the library's text for |err| */
  const char *filename; /* %{filename_effective}, or NULL: none (null in %{json}) */
  const char *method;   /* the last request's method */
  int exit;             /* %{exitcode} */
  const write_out_heads *heads;
} write_out_vars;

/* Interprets |fmt| for one transfer: to |out|, and to |errs| after %{stderr}
 * and for the messages about unknown names. Both are flushed at the end. */
void write_out(FILE *out, FILE *errs, const char *fmt, const write_out_vars *v, int err,
               const guise_response_info *info);

#endif

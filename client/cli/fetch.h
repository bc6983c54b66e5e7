/* fetch.h — the pieces of `guise URL` (cmd_fetch.c) that live in files of
 * their own: curl's exit statuses (fetch_exit.c), output files and response
 * heads (fetch_output.c), the progress meter (progress.c). Uses guise.h only. */
#ifndef GUISE_CLI_FETCH_H
#define GUISE_CLI_FETCH_H

#include <stddef.h>
#include <stdio.h>

#include "guise.h"

/* ---- fetch_exit.c: curl's exit statuses -------------------------------------------- */

/* Failures the command itself finds (not a library code). */
enum {
  FETCH_FAIL_NONE = 0,
  FETCH_FAIL_HTTP,      /* -f: status >= 400: 22 */
  FETCH_FAIL_WRITE,     /* the output could not be written or made: 23 */
  FETCH_FAIL_READ,      /* a file to send could not be read: 26 */
  FETCH_FAIL_RANGE,     /* -C: the server ignored the Range: 33 */
  FETCH_FAIL_FILESIZE,  /* --max-filesize: 63 */
  FETCH_FAIL_PROTO,     /* --proto-redir: a redirect to a scheme left out: 1 */
};

/* What decides a request's exit status besides its code. */
typedef struct fetch_outcome {
  int err;          /* the library's GUISE_E_* code, or 0 */
  int fail;         /* FETCH_FAIL_*: wins over |err| */
  int status;       /* the last response's status, 0 when no head arrived */
  int proxy_kind;   /* 0 direct, 1 an http:// or https:// proxy, 2 a SOCKS proxy */
} fetch_outcome;

/* curl's exit status for |o| (docs/CLI.md, "Exit status"). */
int fetch_exit_status(const fetch_outcome *o);

/* The proxy kind of a proxy URL (NULL or "": direct). */
int fetch_proxy_kind(const char *proxy);

/* ---- fetch_output.c: response heads and output files --------------------------------- */

/* "HTTP/1.1 200 OK", "HTTP/2 206": the status line curl prints for -i and -D,
 * into |out|. |version| is the library's ("HTTP/1.1", "HTTP/2"); |reason| the
 * server's reason phrase (NULL: the standard one of |status|, RFC 9110 15). */
void fetch_status_line(char *out, size_t cap, const char *version, int status, const char *reason);

/* The standard reason phrase of |status| (RFC 9110 section 15), or "". */
const char *fetch_reason_phrase(int status);

/* -O: the file name of |url| (its last path segment, without query or
 * fragment), into |out|; -1 when it has none ("http://h/", "http://h/a/"). */
int fetch_remote_name(const char *url, char *out, size_t cap);

/* -J: the file name a Content-Disposition value gives (filename*= UTF-8 first,
 * then filename=), reduced to its last path part and refused when it is empty,
 * ".", "..", starts with a dot-dot or has control characters or NUL bytes:
 * 0 and |out|, or -1. */
int fetch_disposition_name(const char *value, char *out, size_t cap);

/* --create-dirs: makes the folders of |path| (0750 less the umask, as curl);
 * 0, or -1 with errno. */
int fetch_make_dirs(const char *path);

/* Parses a byte count: digits with an optional k, M, G (1024-based, as curl's
 * --max-filesize) suffix: 0, or -1. */
int fetch_parse_size(const char *s, unsigned long long *out);

/* Parses seconds ("1", "0.5"; 0 allowed) up to |max|, as milliseconds: 0 or -1. */
int fetch_parse_seconds(const char *s, double max, unsigned long long *ms);

/* Writes the response head as curl's -i and -D do: the status line, each
 * field "Name: value" (server bytes escaped: guise_escape_text), CRLF after
 * each, and an empty line. */
void fetch_write_head(FILE *to, const char *status_line, const guise_header *h, size_t n);

/* Writes |s| (text a server chose) with control characters and invalid UTF-8
 * escaped. */
void fetch_put_remote(FILE *to, const char *s);

/* ---- progress.c: the progress meter -------------------------------------------------- */

typedef struct fetch_progress {
  int on;              /* 0: nothing is drawn */
  int bar;             /* -#: the bar instead of the meter */
  FILE *to;            /* stderr */
  double start_ms;     /* when the transfer began (uv_hrtime in ms) */
  double last_ms;      /* the last redraw */
  unsigned long long total, done; /* the announced length (0: unknown), the bytes so far */
  int header_done;
} fetch_progress;

/* Starts a meter for one transfer. */
void fetch_progress_start(fetch_progress *p, int on, int bar, FILE *to);
/* A head arrived: |total| is its Content-Length, 0 when unknown. */
void fetch_progress_total(fetch_progress *p, unsigned long long total);
/* |n| more bytes; redraws at most every 200 ms. */
void fetch_progress_add(fetch_progress *p, size_t n);
/* The transfer ended: the final line, and a newline. */
void fetch_progress_end(fetch_progress *p);

#endif

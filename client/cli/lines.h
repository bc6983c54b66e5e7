/*
 * lines.h — the input lines of guise batch and guise enqueue as they come
 * (read(2): a job that trickles in through a pipe starts at once), NUL bytes
 * included (fgets lost the length: a NUL-only line looked blank and got no
 * record). One read buffer of |chunk| bytes; a line longer than the caller's
 * cap is cut and reported, never grown into.
 */
#ifndef GUISE_CLI_LINES_H
#define GUISE_CLI_LINES_H

#include <stddef.h>

typedef struct cli_lines {
  int fd;
  char *buf; /* |chunk| bytes */
  size_t chunk, pos, end;
  int eof;
  int at;            /* 1: read with pread(2) from |off| (cli_lines_init_at) */
  long long off;     /* the next pread offset */
} cli_lines;

/* Reads |fd| through a buffer of |chunk| bytes: 0, or -1 when it cannot be
 * allocated. */
int cli_lines_init(cli_lines *r, int fd, size_t chunk);
void cli_lines_free(cli_lines *r);

/* The same for a regular file read again from byte |offset| with pread(2): the
 * descriptor's own offset (a reader of cli_lines_init on it) is not moved. */
int cli_lines_init_at(cli_lines *r, int fd, size_t chunk, long long offset);

/* The next line, its '\n' included, into |line| (|max| + 1 bytes). 1, or 2 when
 * it was longer than |max| (the rest skipped; |line| holds its start); 0 at the
 * end; -1 on a read error (errno). */
int cli_lines_next(cli_lines *r, char *line, size_t max, size_t *len);

#endif

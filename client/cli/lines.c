/* lines.c — input lines as they come (lines.h). */
#include "lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_lines_init(cli_lines *r, int fd, size_t chunk) {
  memset(r, 0, sizeof(*r));
  r->fd = fd;
  r->chunk = chunk;
  r->buf = malloc(chunk);
  return r->buf ? 0 : -1;
}

int cli_lines_init_at(cli_lines *r, int fd, size_t chunk, long long offset) {
  int rc = cli_lines_init(r, fd, chunk);
  r->at = 1;
  r->off = offset;
  return rc;
}

void cli_lines_free(cli_lines *r) {
  free(r->buf);
  r->buf = NULL;
}

int cli_lines_next(cli_lines *r, char *line, size_t max, size_t *len) {
  size_t n = 0;
  int over = 0, any = 0;
  for (;;) {
    if (r->pos == r->end) {
      if (r->eof) break;
      ssize_t k = r->at ? pread(r->fd, r->buf, r->chunk, (off_t)r->off) : read(r->fd, r->buf, r->chunk);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return -1;
      r->off += k;
      if (k == 0) {
        r->eof = 1;
        break;
      }
      r->pos = 0;
      r->end = (size_t)k;
    }
    any = 1;
    const char *start = r->buf + r->pos;
    const char *nl = memchr(start, '\n', r->end - r->pos);
    size_t take = nl ? (size_t)(nl - start) + 1 : r->end - r->pos;
    if (!over && take > max - n) over = 1;
    if (!over) {
      memcpy(line + n, start, take);
      n += take;
    }
    r->pos += take;
    if (nl) break;
  }
  line[n] = '\0';
  *len = n;
  return !any ? 0 : over ? 2 : 1;
}

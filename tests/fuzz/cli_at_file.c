/* Fuzz target: the small files of -H @FILE and -w @FILE (client/cli/at_file.c).
 * The first byte picks the reader:
 *   0: the -H line splitter (cli_next_text_line) over a CBS. Checked against a
 *      plain count made here: the lines are the non-empty runs of bytes between
 *      CRs and LFs, in order, each numbered 1 + the LFs before it, and the
 *      cursor ends on 1 + all the LFs;
 *   1: the -w joiner (cli_join_format_lines), compared byte for byte with a
 *      small state machine (a line kept up to its first CR, LF ends a line);
 *   2: the whole -H @FILE reader (cli_header_file) on the bytes as a file (a
 *      memfd named by /proc/self/fd/N): at most CLI_MAX_HEADERS headers reach
 *      the caller, none empty, none with a NUL, a CR, an LF or a leading '@'.
 * Once per process: the CLI_AT_FILE_MAX cap of cli_read_file (a file of the
 * cap is read whole, one byte more is refused with EFBIG, unread). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../client/cli/at_file.h"
#include "../../client/cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd_with(const uint8_t *data, size_t size, char *path, size_t path_len) {
  int fd = memfd_create("guise_fuzz_at_file", MFD_CLOEXEC);
  if (fd < 0) return -1;
  for (size_t done = 0; done < size;) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    done += (size_t)w;
  }
  snprintf(path, path_len, "/proc/self/fd/%d", fd);
  return fd;
}

static void check_cap(void) {
  static int done;
  if (done) return;
  done = 1;
  uint8_t *big = malloc(CLI_AT_FILE_MAX + 1);
  if (big == NULL) return;
  memset(big, 'a', CLI_AT_FILE_MAX + 1);
  char path[64];
  for (size_t extra = 0; extra < 2; extra++) {
    int fd = memfd_with(big, CLI_AT_FILE_MAX + extra, path, sizeof(path));
    if (fd < 0) continue;
    uint8_t *out = NULL;
    size_t len = 0;
    errno = 0;
    int r = cli_read_file(path, 0, CLI_AT_FILE_MAX, &out, &len);
    if (extra == 0 && (r != 0 || len != CLI_AT_FILE_MAX || out[len] != '\0')) abort();
    if (extra == 1 && (r != -1 || errno != EFBIG || out != NULL)) abort();
    free(out);
    close(fd);
  }
  free(big);
}

typedef struct {
  size_t calls;
} header_seen;

static int add_header(cli_settings *s, const char *as, const char *line, void *arg) {
  header_seen *seen = arg;
  (void)as;
  size_t n = strlen(line);
  if (n == 0 || line[0] == '@' || strchr(line, '\r') || strchr(line, '\n')) abort();
  if (++seen->calls > CLI_MAX_HEADERS || s->n_headers >= CLI_MAX_HEADERS) abort();
  s->n_headers++;
  return CLI_NEXT;
}

static void split(const uint8_t *data, size_t size) {
  CBS in, line;
  CBS_init(&in, data, size);
  size_t at = 1, line_no = 0, kept = 0, pos = 0;
  while (cli_next_text_line(&in, &at, &line, &line_no)) {
    size_t len = CBS_len(&line);
    const uint8_t *p = CBS_data(&line);
    if (len == 0 || p < data + pos || p + len > data + size) abort();
    /* the bytes before it: separators only; the one after it: one or the end */
    size_t lfs = 0;
    for (size_t i = 0; i < (size_t)(p - data); i++) lfs += data[i] == '\n';
    for (size_t i = pos; i < (size_t)(p - data); i++)
      if (data[i] != '\r' && data[i] != '\n') abort();
    if (memchr(p, '\r', len) || memchr(p, '\n', len)) abort();
    if (p + len < data + size && p[len] != '\r' && p[len] != '\n') abort();
    if (line_no != 1 + lfs) abort();
    kept += len;
    pos = (size_t)(p - data) + len;
  }
  size_t text = 0, lfs = 0;
  for (size_t i = 0; i < size; i++) {
    text += data[i] != '\r' && data[i] != '\n';
    lfs += data[i] == '\n';
  }
  if (kept != text || at != 1 + lfs || CBS_len(&in) != 0) abort();
}

static void join(const uint8_t *data, size_t size) {
  uint8_t *buf = malloc(size ? size : 1), *want = malloc(size ? size : 1);
  if (buf == NULL || want == NULL) {
    free(buf);
    free(want);
    return;
  }
  memcpy(buf, data, size);
  size_t n = 0;
  int cut = 0; /* after a CR, until the LF */
  for (size_t i = 0; i < size; i++) {
    if (data[i] == '\n') cut = 0;
    else if (data[i] == '\r') cut = 1;
    else if (!cut) want[n++] = data[i];
  }
  size_t k = cli_join_format_lines(buf, size);
  if (k != n || memcmp(buf, want, n) != 0) abort();
  free(buf);
  free(want);
}

static void header_file(const uint8_t *data, size_t size) {
  char path[64];
  int fd = memfd_with(data, size, path, sizeof(path));
  if (fd < 0) return;
  cli_settings s;
  memset(&s, 0, sizeof(s));
  s.prog = "guise";
  header_seen seen = {0};
  int rc = cli_header_file(&s, "-H", path, add_header, &seen);
  if (rc != CLI_NEXT && rc != EXIT_USAGE) abort();
  /* lines with NUL or '@' and the 101st header are refused */
  if (rc == CLI_NEXT && memchr(data, '\0', size)) abort();
  close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_cap();
  if (size == 0) return 0;
  int which = data[0] % 3;
  data++, size--;
  if (which == 0) split(data, size);
  else if (which == 1) join(data, size);
  else header_file(data, size);
  return 0;
}

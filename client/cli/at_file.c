/* at_file.c — the command line's small files, read with a cap (at_file.h). */
#include "at_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "guise.h"

int cli_read_file(const char *path, int dash_is_stdin, size_t cap, uint8_t **out, size_t *len) {
  int from_stdin = dash_is_stdin && strcmp(path, "-") == 0;
  int fd = from_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat sb;
  int err = 0;
  if (fstat(fd, &sb) != 0) err = errno;
  else if (S_ISDIR(sb.st_mode)) err = EISDIR;
  else if (S_ISREG(sb.st_mode) && (unsigned long long)sb.st_size > cap) err = EFBIG;
  /* A regular file: its size and one byte (it may grow while read); anything
   * else grows its buffer as bytes come, never past the cap and one byte. */
  size_t size = !err && S_ISREG(sb.st_mode) ? (size_t)sb.st_size + 1 : 4096;
  if (size > cap + 1) size = cap + 1;
  uint8_t *buf = err ? NULL : malloc(size + 1);
  if (!err && buf == NULL) err = ENOMEM;
  size_t n = 0;
  while (!err) {
    if (n == size) {
      if (size == cap + 1) {
        err = EFBIG;
        break;
      }
      size_t grown = size * 2 > cap + 1 ? cap + 1 : size * 2;
      uint8_t *p = realloc(buf, grown + 1);
      if (p == NULL) {
        err = ENOMEM;
        break;
      }
      buf = p;
      size = grown;
    }
    ssize_t r = read(fd, buf + n, size - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) err = errno;
    if (r <= 0) break;
    n += (size_t)r;
  }
  if (n > cap) err = EFBIG;
  if (!from_stdin) close(fd);
  if (err) {
    free(buf);
    errno = err;
    return -1;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

const char *cli_read_file_error(int err, size_t cap, char *buf, size_t buf_len) {
  if (err == EISDIR) return "is a directory";
  if (err == EFBIG) {
    snprintf(buf, buf_len, "larger than %zu bytes (%zu KiB)", cap, cap / 1024);
    return buf;
  }
  return strerror(err);
}

int cli_next_text_line(CBS *in, size_t *at, CBS *line, size_t *line_no) {
  while (CBS_len(in)) {
    const uint8_t *d = CBS_data(in);
    size_t k = 0;
    while (k < CBS_len(in) && d[k] != '\r' && d[k] != '\n') k++;
    size_t here = *at;
    uint8_t end = 0;
    if (!CBS_get_bytes(in, line, k) || (CBS_len(in) && !CBS_get_u8(in, &end))) return 0;
    if (end == '\n') ++*at;
    if (CBS_len(line)) {
      *line_no = here;
      return 1;
    }
  }
  return 0;
}

/* A failed cli_read_file said on stderr: "PROG: WHAT @FILE: why". Returns
 * its errno. */
static int say_read_error(const char *prog, const char *what, const char *shown) {
  int e = errno;
  char why[80];
  fprintf(stderr, "%s: %s @%s: %s\n", prog, what, shown, cli_read_file_error(e, CLI_AT_FILE_MAX, why, sizeof(why)));
  return e;
}

int cli_header_file(cli_settings *s, const char *as, const char *path,
                    int (*add)(cli_settings *s, const char *as, const char *line, void *arg), void *arg) {
  const char *prog = s->prog;
  char shown[300]; /* the file's name, escaped, for messages */
  guise_escape_text(path, strlen(path), shown, sizeof(shown));
  uint8_t *data;
  size_t len;
  if (cli_read_file(path, 1, CLI_AT_FILE_MAX, &data, &len) != 0)
    return say_read_error(prog, as, shown) == EFBIG ? EXIT_USAGE : 26; /* curl's read error */
  CBS in, ln;
  CBS_init(&in, data, len);
  size_t at = 1, line_no = 0;
  int rc = CLI_NEXT;
  char where[400]; /* "guise: FILE:LINE", the start of every message about the line */
  while (rc == CLI_NEXT && cli_next_text_line(&in, &at, &ln, &line_no)) {
    snprintf(where, sizeof(where), "%s: %s:%zu", prog, shown, line_no);
    const char *why = NULL;
    char many[64];
    snprintf(many, sizeof(many), "at most %d headers (-H and -b cookies together)", CLI_MAX_HEADERS);
    if (memchr(CBS_data(&ln), '\0', CBS_len(&ln))) why = "a NUL byte (not a text file?)";
    else if (CBS_data(&ln)[0] == '@') why = "a line starting with '@' (a header file names no other file)";
    else if (s->n_headers >= CLI_MAX_HEADERS) why = many;
    if (why) {
      fprintf(stderr, "%s: %s: %s\n", where, as, why);
      rc = EXIT_USAGE;
      break;
    }
    char *text = strndup((const char *)CBS_data(&ln), CBS_len(&ln));
    if (text == NULL) {
      fprintf(stderr, "%s: out of memory\n", where);
      rc = EXIT_USAGE;
      break;
    }
    s->prog = where;
    rc = add(s, as, text, arg);
    s->prog = prog;
    free(text);
  }
  free(data);
  return rc;
}

size_t cli_join_format_lines(uint8_t *data, size_t len) {
  /* curl 7.88 reads the file a line at a time and keeps each line up to its
   * first CR or LF: the lines are joined, "a\r\nb\n" is "ab", "a\rb" is "a"
   * (measured). Variables and \n escapes make the format's line breaks. */
  size_t k = 0;
  for (size_t i = 0; i < len;) {
    const uint8_t *nl = memchr(data + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - data) : len, stop = i;
    while (stop < end && data[stop] != '\r') stop++;
    memmove(data + k, data + i, stop - i);
    k += stop - i;
    i = end + 1;
  }
  return k;
}

int cli_write_out_file(cli_settings *s, const char *path, const char **format) {
  char shown[300];
  guise_escape_text(path, strlen(path), shown, sizeof(shown));
  uint8_t *data;
  size_t len;
  if (cli_read_file(path, 1, CLI_AT_FILE_MAX, &data, &len) != 0) {
    say_read_error(s->prog, "(26) -w", shown);
    return 26;
  }
  const uint8_t *nul = memchr(data, '\0', len);
  if (nul) {
    size_t line = 1;
    for (const uint8_t *p = data; p < nul; p++) line += *p == '\n';
    fprintf(stderr, "%s: -w @%s:%zu: a NUL byte (not a text file?)\n", s->prog, shown, line);
    free(data);
    return EXIT_USAGE;
  }
  size_t k = cli_join_format_lines(data, len);
  char *kept = cli_keep(s, (const char *)data, k);
  free(data);
  if (kept == NULL) {
    fprintf(stderr, "%s: -w @%s: out of memory\n", s->prog, shown);
    return EXIT_USAGE;
  }
  *format = kept;
  return CLI_NEXT;
}

/* config_file.c — see config_file.h. */
#include "config_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_file.h"
#include "cli.h"
#include "numopt.h"

static int is_blank(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int fail(char *why, size_t why_len, const char *text) {
  snprintf(why, why_len, "%s", text);
  return -1;
}

/* The rest of a line after a value: white space, then nothing or a comment. */
static int only_comment(CBS *rest) {
  uint8_t c;
  while (CBS_len(rest) && is_blank(CBS_data(rest)[0])) CBS_skip(rest, 1);
  return CBS_len(rest) == 0 || (CBS_get_u8(rest, &c) && c == '#');
}

/* One line (without its '\n'): 1 an option, 0 nothing (blank or comment), -1. */
static int parse_line(CBS *ln, cli_config_item *it, char *buf, size_t cap, char *why,
                      size_t why_len) {
  while (CBS_len(ln) && is_blank(CBS_data(ln)[0])) CBS_skip(ln, 1);
  if (CBS_len(ln) == 0 || CBS_data(ln)[0] == '#') return 0;
  /* The name: up to white space, or (without dashes) '=' or ':'. */
  int dashed = CBS_data(ln)[0] == '-';
  size_t n = 0;
  while (n < CBS_len(ln)) {
    uint8_t c = CBS_data(ln)[n];
    if (is_blank(c) || (!dashed && (c == '=' || c == ':'))) break;
    n++;
  }
  if (n == 0) return fail(why, why_len, "a line starts with '=' or ':' (no option name)");
  if (n > CLI_CONFIG_MAX_NAME) return fail(why, why_len, "the option name is too long");
  size_t at = 0;
  if (!dashed) {
    it->name[at++] = '-';
    it->name[at++] = '-';
  }
  CBS name;
  if (!CBS_get_bytes(ln, &name, n)) return fail(why, why_len, "cannot read the option name");
  memcpy(it->name + at, CBS_data(&name), n);
  it->name[at + n] = '\0';
  /* curl skips every blank, '=' and ':' (without dashes) between name and value. */
  while (CBS_len(ln)) {
    uint8_t c = CBS_data(ln)[0];
    if (!(is_blank(c) || (!dashed && (c == '=' || c == ':')))) break;
    CBS_skip(ln, 1);
  }
  it->has_value = 0;
  it->value_len = 0;
  if (CBS_len(ln) == 0 || CBS_data(ln)[0] == '#') {
    buf[0] = '\0';
    return 1;
  }
  if (cap < CBS_len(ln) + 1) return fail(why, why_len, "no room for the value");
  size_t len = 0;
  uint8_t c;
  if (CBS_data(ln)[0] == '"') {
    CBS_skip(ln, 1);
    for (;;) {
      if (!CBS_get_u8(ln, &c)) return fail(why, why_len, "the value's double quote is not closed");
      if (c == '"') break;
      if (c == '\\') {
        if (!CBS_get_u8(ln, &c))
          return fail(why, why_len, "the value ends with a backslash inside quotes");
        switch (c) {
        case 't':
          c = '\t';
          break;
        case 'n':
          c = '\n';
          break;
        case 'r':
          c = '\r';
          break;
        case 'v':
          c = '\v';
          break;
        default:
          break; /* \\, \", and any other: the character itself */
        }
      }
      buf[len++] = (char)c;
    }
    if (!only_comment(ln)) return fail(why, why_len, "text after the closing double quote");
  } else {
    while (CBS_len(ln) && !is_blank(CBS_data(ln)[0])) {
      CBS_get_u8(ln, &c);
      buf[len++] = (char)c;
    }
    if (!only_comment(ln))
      return fail(why, why_len, "the value has white space in it: put it in double quotes");
  }
  buf[len] = '\0';
  it->has_value = 1;
  it->value_len = len;
  return 1;
}

int cli_config_next(CBS *in, size_t *line, cli_config_item *it, char *buf, size_t cap, char *why,
                    size_t why_len) {
  while (CBS_len(in)) {
    const uint8_t *nl = memchr(CBS_data(in), '\n', CBS_len(in));
    size_t n = nl ? (size_t)(nl - CBS_data(in)) : CBS_len(in);
    CBS ln;
    if (!CBS_get_bytes(in, &ln, n) || (nl && !CBS_skip(in, 1)))
      return fail(why, why_len, "cannot read a line");
    ++*line;
    if (memchr(CBS_data(&ln), '\0', CBS_len(&ln)))
      return fail(why, why_len, "a NUL byte (not a text file?)");
    int r = parse_line(&ln, it, buf, cap, why, why_len);
    if (r != 0) {
      it->line = *line;
      return r;
    }
  }
  return 0;
}

int cli_config_read(const cli_command *cmd, cli_settings *s, const char *path) {
  const char *prog = s->prog;
  char shown[300]; /* the file's name, escaped, for messages */
  guise_escape_text(path, strlen(path), shown, sizeof(shown));
  if (s->config_depth >= CLI_CONFIG_MAX_DEPTH) {
    fprintf(stderr, "%s: -K %s: more than %d config files inside each other (a loop?)\n", prog,
            shown, CLI_CONFIG_MAX_DEPTH);
    return EXIT_USAGE;
  }
  uint8_t *data;
  size_t len;
  /* at_file.c: a directory refused, an endless pipe stopped at the cap */
  if (cli_read_file(path, 1, CLI_CONFIG_MAX_BYTES, &data, &len)) {
    if (errno == EFBIG)
      fprintf(stderr, "%s: -K %s: larger than %u bytes (a config file holds options)\n", prog,
              shown, CLI_CONFIG_MAX_BYTES);
    else fprintf(stderr, "%s: -K %s: %s\n", prog, shown, errno == EISDIR ? "is a directory" : strerror(errno));
    return EXIT_USAGE;
  }
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    free(data);
    fprintf(stderr, "%s: -K %s: out of memory\n", prog, shown);
    return EXIT_USAGE;
  }
  s->config_depth++;
  CBS in;
  CBS_init(&in, data, len);
  size_t line = 0;
  int rc = CLI_NEXT;
  char where[400]; /* "guise: FILE:LINE", the start of every message about the line */
  for (;;) {
    cli_config_item it;
    char why[120];
    int r = cli_config_next(&in, &line, &it, buf, len + 1, why, sizeof(why));
    if (r == 0) break;
    if (r < 0) {
      fprintf(stderr, "%s: %s:%zu: %s\n", prog, shown, line, why);
      rc = EXIT_USAGE;
      break;
    }
    /* Messages of the options' own checks name the line: they start with s->prog. */
    snprintf(where, sizeof(where), "%s: %s:%zu", prog, shown, it.line);
    s->prog = where;
    cli_numopt_command(where);
    char *value = it.has_value ? cli_keep(s, buf, it.value_len) : NULL;
    int used = 0;
    if (it.has_value && value == NULL) {
      fprintf(stderr, "%s: out of memory\n", where);
      rc = EXIT_USAGE;
    } else if (strcmp(it.name, "-") == 0 || strcmp(it.name, "--") == 0) {
      fprintf(stderr, "%s: '%s' is not an option (a config file has no operands: url = URL)\n",
              where, it.name);
      rc = EXIT_USAGE;
    } else {
      rc = cli_apply(cmd, s, it.name, value, &used);
      if (rc == CLI_NEXT && it.has_value && !used) {
        cli_usage_error(where, it.name, value, "takes no value");
        rc = EXIT_USAGE;
      }
    }
    s->prog = prog;
    cli_numopt_command(prog);
    if (rc != CLI_NEXT) break;
  }
  s->config_depth--;
  free(buf);
  free(data);
  return rc;
}

/*
 * config_file.h — `-K/--config FILE`: options from a file in curl's config
 * syntax (curl's documentation of -K):
 *   - one option a line: "name = value", "name: value", "name value" (a name
 *     without dashes is the long option --name), or "--name value" / "-x value"
 *     (with dashes only white space separates the value);
 *   - a value with white space, or starting with '=' or ':', is in double quotes;
 *     inside them \\ \" \t \n \r \v are escapes, and a backslash before any other
 *     character is dropped;
 *   - a line whose first non-blank character is '#' is a comment, and so is the
 *     rest of a line after a value and white space;
 *   - "url = URL" names a URL (--url); "-K -" reads standard input.
 * curl's default file (~/.curlrc) is not read: guise reads only the files -K names.
 * guise is stricter than curl where curl warns and goes on: text after a quoted
 * value or after an unquoted value and white space, an unterminated quote, a NUL
 * byte, or a file over CLI_CONFIG_MAX_BYTES is an error naming FILE:LINE; a
 * quoted empty value ("") is an empty value (curl drops it).
 *
 * The tokenizer (cli_config_next) is I/O-free and reads through a CBS: fuzzed
 * by tests/fuzz/cli_config.c.
 */
#ifndef GUISE_CLI_CONFIG_FILE_H
#define GUISE_CLI_CONFIG_FILE_H

#include <stddef.h>

#include <openssl/bytestring.h>

#include "options.h"

#define CLI_CONFIG_MAX_BYTES (4u << 20) /* a config file: options, not bodies (use -d @FILE) */
#define CLI_CONFIG_MAX_NAME 64          /* longer than any option's name */
#define CLI_CONFIG_MAX_DEPTH 8          /* -K inside a config file: a loop ends here */

/* One option line. */
typedef struct cli_config_item {
  char name[CLI_CONFIG_MAX_NAME + 3]; /* as the command line spells it: "--output", "-o", "-sS" */
  int has_value;
  size_t value_len; /* the value, unquoted, in the caller's buffer (NUL-ended) */
  size_t line;      /* 1-based */
} cli_config_item;

/* Reads the next option of |in| (the file's bytes; |*line| the number of the
 * last line read, 0 at the start) into |*it|, its value decoded into |buf|
 * (|cap| at least the length of |in| + 1). Returns 1 with an option, 0 at the
 * end, -1 with |why| (what is wrong; |*line| its line). */
int cli_config_next(CBS *in, size_t *line, cli_config_item *it, char *buf, size_t cap, char *why,
                    size_t why_len);

/* Reads FILE ("-": standard input) and applies its options to |s| as if they
 * were on the command line where -K is. CLI_NEXT, or an exit status after a
 * message naming FILE:LINE (EXIT_USAGE for the file's own errors). */
int cli_config_read(const cli_command *cmd, cli_settings *s, const char *path);

#endif

/*
 * fetch_glob.h — URL globbing of `guise URL`, curl's: {a,b,c}, [1-10], [01-10],
 * [a-z], [1-10:2]; "#N" in an -o name takes the Nth set's value. Limits: 10
 * sets in a URL, 1,000 values in a set, |cap| URLs in all (docs/CLI.md).
 *
 * The pattern is read as curl 7.88 reads it (measured): inside braces a
 * backslash takes the next character whatever it is, a '{' or '[' is a nested
 * brace, a ']' an unexpected close bracket, "{}" an empty set; outside, "\{",
 * "\}", "\[", "\]" are those characters; a '[' right after "://" or '@' is an
 * IPv6 address; a range is two numbers or two letters of one case and an
 * optional step of at least 1 and at most the range's width (1 when the range
 * has one value). The parser (fetch_glob_parse) is I/O-free and reads the
 * pattern through a CBS: fuzzed by tests/fuzz/cli_url_glob.c.
 */
#ifndef GUISE_CLI_FETCH_GLOB_H
#define GUISE_CLI_FETCH_GLOB_H

#include <stddef.h>

#include "options.h"

#define GLOB_MAX 10         /* sets in one URL */
#define GLOB_MAX_ITEMS 1000 /* values in one set (the command's URL cap caps the product) */

typedef struct glob_url glob_url;

/* Reads |pattern|: a new glob_url (fetch_glob_free), or NULL with |why|
 * ("nested brace at 24", ...; positions 1-based, as curl's). */
glob_url *fetch_glob_parse(const char *pattern, char *why, size_t why_len);

/* The number of URLs |gu| makes, saturated at (size_t)-1; its sets. */
size_t fetch_glob_count(const glob_url *gu);
size_t fetch_glob_sets(const glob_url *gu);

/* The URL of combination |idx| (one index a set, each below its set's size)
 * into |out| (NUL-ended when |cap| > 0); returns the length it needs, as
 * snprintf. */
size_t fetch_glob_url(const glob_url *gu, const size_t *idx, char *out, size_t cap);

/* "#N" in |name| replaced by the Nth set's value, into |out|. */
void fetch_glob_name(const glob_url *gu, const size_t *idx, const char *name, char *out, size_t cap);

/* Steps |idx| to the next combination, the last set turning fastest: 1, or 0
 * after the last. */
int fetch_glob_next(const glob_url *gu, size_t *idx);

void fetch_glob_free(glob_url *gu);

/* Expands |st|'s operands into |urls| (|cap| entries) and their -o names into
 * |outs|, the last set turning fastest, and points |st|'s operands and outputs
 * at them. CLI_NEXT, or an exit status after a message (curl's 3, "bad URL"). */
int fetch_glob_expand(cli_settings *st, const char **urls, const char **outs, size_t cap);

#endif

/*
 * fetch_glob.h — URL globbing of `guise URL`, curl's: {a,b,c}, [1-10], [01-10],
 * [a-z], [1-10:2]; "#N" in an -o name takes the Nth set's value. Limits: 10
 * sets in a URL, 1,000 values in a set, |cap| URLs in all (docs/CLI.md).
 */
#ifndef GUISE_CLI_FETCH_GLOB_H
#define GUISE_CLI_FETCH_GLOB_H

#include <stddef.h>

#include "options.h"

/* Expands |st|'s operands into |urls| (|cap| entries) and their -o names into
 * |outs|, the last set turning fastest, and points |st|'s operands and outputs
 * at them. CLI_NEXT, or an exit status after a message (curl's 3, "bad URL"). */
int fetch_glob_expand(cli_settings *st, const char **urls, const char **outs, size_t cap);

#endif

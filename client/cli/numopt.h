/* numopt.h — number values of command-line options, checked once for every
 * subcommand: a finite decimal number inside a range, or an error naming the
 * option. strtod alone takes "nan", "inf" and "1e-300", which then reach
 * conversions to integers (undefined behaviour for NaN and out-of-range
 * values, C11 6.3.1.4). */
#ifndef GUISE_NUMOPT_H
#define GUISE_NUMOPT_H

/* Parses |s| as a finite number in [lo, hi] into |*out|. On anything else — not
 * a number, trailing text, NaN, an infinity, outside the range, or a value that
 * is not 0 but under |min_nonzero| when |min_nonzero| > 0 (seconds that would
 * round to zero milliseconds, a rate that would mean one request a century) —
 * prints "guise: OPT VALUE: expected ..." on stderr (cli_numopt_command) and
 * returns -1. */
int cli_double(const char *opt, const char *s, double lo, double hi, double min_nonzero,
               double *out);

/* The command named at the start of those messages: "guise" (the default) or,
 * say, "guise batch". |name| must outlive the calls. */
void cli_numopt_command(const char *name);

/* Seconds as whole milliseconds: a finite number of seconds over 0 and at most
 * |max_s|, at least 0.001; rounded to the nearest millisecond. The error names
 * |opt| as cli_double's does. */
int cli_seconds_ms(const char *opt, const char *s, double max_s, unsigned *out_ms);

#endif

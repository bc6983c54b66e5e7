/* numopt.c — see numopt.h. */
#include "numopt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *command = "guise";

void cli_numopt_command(const char *name) { command = name ? name : "guise"; }

int cli_double(const char *opt, const char *s, double lo, double hi, double min_nonzero,
               double *out) {
  char *end = NULL;
  errno = 0;
  double v = s ? strtod(s, &end) : 0;
  /* ERANGE: an overflow (an infinity) or an underflow (a denormal or 0 from a
   * value like 1e-400), neither of which the user meant. */
  int bad = s == NULL || end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo ||
            v > hi || (min_nonzero > 0 && v != 0 && v < min_nonzero);
  if (bad) {
    /* %.15g: 10000000 and 86400 as written, not 1e+07 */
    if (min_nonzero > 0 && lo <= 0)
      fprintf(stderr, "%s: %s %s: expected a number from %.15g to %.15g (0, or at least %.15g)\n", command,
              opt, s ? s : "", lo, hi, min_nonzero);
    else
      fprintf(stderr, "%s: %s %s: expected a number from %.15g to %.15g\n", command, opt, s ? s : "",
              min_nonzero > lo ? min_nonzero : lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_seconds_ms(const char *opt, const char *s, double max_s, unsigned *out_ms) {
  double v;
  if (cli_double(opt, s, 0.001, max_s, 0, &v) != 0) return -1;
  /* max_s is far below UINT_MAX / 1000: the conversion is defined. */
  *out_ms = (unsigned)(v * 1000 + 0.5);
  return 0;
}

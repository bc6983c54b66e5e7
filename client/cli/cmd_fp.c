/* cmd_fp.c — `guise fp`: fingerprints of captured client flights (placeholder until
 * the capture reader lands; exits with a usage error). */
#include <stdio.h>

#include "cli.h"

int cmd_fp(int argc, char **argv) {
  fputs("guise fp: not built yet\n", stderr);
  return EXIT_USAGE;
}

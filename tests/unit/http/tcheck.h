/* tcheck.h — the CHECK macros of the HTTP/1 and URL tests: report and count, never stop. */
#ifndef GUISE_TESTS_HTTP_TCHECK_H
#define GUISE_TESTS_HTTP_TCHECK_H

#include <stdio.h>
#include <string.h>

static int failures;
static int checks;

#define CHECK(c)                                                                        \
  do {                                                                                  \
    checks++;                                                                           \
    if (!(c)) {                                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);             \
      failures++;                                                                       \
    }                                                                                   \
  } while (0)

#define CHECK_STR(got, want)                                                            \
  do {                                                                                  \
    const char *g_ = (got), *w_ = (want);                                               \
    checks++;                                                                           \
    if (g_ == NULL || strcmp(g_, w_) != 0) {                                            \
      fprintf(stderr, "%s:%d: %s\n  got  \"%s\"\n  want \"%s\"\n", __FILE__, __LINE__,  \
              #got, g_ ? g_ : "(null)", w_);                                            \
      failures++;                                                                       \
    }                                                                                   \
  } while (0)

/* Prints the summary line and gives main's exit status. */
static inline int tcheck_done(const char *name) {
  printf("%s: %d checks, %d failed\n", name, checks, failures);
  return failures != 0;
}

#endif

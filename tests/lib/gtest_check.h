/*
 * gtest_check.h — the one check helper of the C tests (header-only; the Python
 * tests have guise_testlib.py next to it). A check reports and counts, never
 * stops the test: one run shows every failure. Include it once per test
 * program (its counters are static), from the test's folder as
 * "../../lib/gtest_check.h".
 *
 *   CHECK(cond)                    silent when true; FILE:LINE and the condition when not
 *   CHECK_MSG(cond, fmt, ...)      the same with a printf message of what was checked
 *   CHECK_STR(got, want)           strings equal (NULL never equals): both printed
 *   CHECK_EQ(got, want)            integers equal (as long long): both printed
 *   CHECK_NAMED(what, ok, detail)  a named case: "ok: WHAT" or "FAIL: WHAT -- DETAIL"
 *                                  on standard output, whichever it is (detail may be NULL)
 *   gt_failures, gt_checks         the counts so far
 *   gt_done(name)                  prints "NAME: N checks, M failed"; main's exit status
 */
#ifndef GUISE_TESTS_GTEST_CHECK_H
#define GUISE_TESTS_GTEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int gt_failures;
static int gt_checks;

#define CHECK(c)                                                                        \
  do {                                                                                  \
    gt_checks++;                                                                        \
    if (!(c)) {                                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);             \
      gt_failures++;                                                                    \
    }                                                                                   \
  } while (0)

#define CHECK_MSG(c, ...)                                                               \
  do {                                                                                  \
    gt_checks++;                                                                        \
    if (!(c)) {                                                                         \
      fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                                     \
      fputc('\n', stderr);                                                              \
      gt_failures++;                                                                    \
    }                                                                                   \
  } while (0)

#define CHECK_STR(got, want)                                                            \
  do {                                                                                  \
    const char *g_ = (got), *w_ = (want);                                               \
    gt_checks++;                                                                        \
    if (g_ == NULL || w_ == NULL || strcmp(g_, w_) != 0) {                              \
      fprintf(stderr, "%s:%d: %s\n  got  \"%s\"\n  want \"%s\"\n", __FILE__, __LINE__,  \
              #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");                            \
      gt_failures++;                                                                    \
    }                                                                                   \
  } while (0)

#define CHECK_EQ(got, want)                                                             \
  do {                                                                                  \
    long long g_ = (long long)(got), w_ = (long long)(want);                            \
    gt_checks++;                                                                        \
    if (g_ != w_) {                                                                     \
      fprintf(stderr, "%s:%d: %s == %lld, want %lld\n", __FILE__, __LINE__, #got, g_,   \
              w_);                                                                      \
      gt_failures++;                                                                    \
    }                                                                                   \
  } while (0)

static inline int gt_named(const char *what, int ok, const char *detail) {
  gt_checks++;
  printf("%s: %s%s%s\n", ok ? "ok" : "FAIL", what, ok || !detail ? "" : " -- ",
         ok || !detail ? "" : detail);
  gt_failures += !ok;
  return ok;
}
#define CHECK_NAMED(what, ok, detail) gt_named((what), (ok), (detail))

/* Prints the summary line and gives main's exit status. */
static inline int gt_done(const char *name) {
  printf("%s: %d checks, %d failed\n", name, gt_checks, gt_failures);
  return gt_failures != 0;
}

#endif

/* test_url_wpt.c — client/lib/url.c against the Web Platform Tests' URL cases
 * (tests/data/wpt/urltestdata-http.json: the cases of WPT's urltestdata.json
 * whose input and base are http(s), or relative to an http(s) base; see the
 * README there). Each case is parsed (no base, or "about:blank": url_parse) or
 * resolved against its base (url_resolve); the href, or the failure, must be
 * what the WHATWG URL Standard says. The cases guise decides otherwise are
 * listed below with the reason, and the test checks that they still differ
 * (so that the list cannot go stale). */
#include <stdlib.h>

#include <jansson.h>

#include "guise.h"
#include "../../lib/gtest_check.h"
#include "url.h"

static url base_url, out;

/* Where guise departs from the standard on purpose. */
typedef struct deviation {
  const char *input, *base, *reason;
} deviation;

static const deviation kDeviations[] = {
    {"http://f:0/c", "http://example.org/foo/bar",
     "port 0 is refused: nothing can be connected to on it"},
    {"http://f:00000000000000/c", "http://example.org/foo/bar",
     "port 0 is refused: nothing can be connected to on it"},
    {"https://%e2%98%83", "about:blank",
     "libidn2 checks IDNA2008's code point table (RFC 5892), which refuses symbols such as "
     "U+2603 that UTS #46 maps and allows: such a name is refused (Chrome gives xn--n3h)"},
};

static const deviation *find_deviation(const char *input, const char *base) {
  for (size_t i = 0; i < sizeof(kDeviations) / sizeof(kDeviations[0]); i++)
    if (strcmp(kDeviations[i].input, input) == 0 && strcmp(kDeviations[i].base, base) == 0)
      return &kDeviations[i];
  return NULL;
}

int main(void) {
  json_error_t jerr;
  json_t *cases = json_load_file(GUISE_WPT_URL_DATA, JSON_ALLOW_NUL, &jerr);
  if (cases == NULL || !json_is_array(cases)) {
    fprintf(stderr, "%s: %s (line %d)\n", GUISE_WPT_URL_DATA, jerr.text, jerr.line);
    return 1;
  }
  size_t i, run = 0, pass = 0, deviated = 0;
  json_t *c;
  static char href[URL_STORE + 16];
  json_array_foreach(cases, i, c) {
    if (!json_is_object(c)) continue; /* a comment line */
    json_t *jin = json_object_get(c, "input"), *jbase = json_object_get(c, "base");
    json_t *jhref = json_object_get(c, "href");
    int want_fail = json_is_true(json_object_get(c, "failure"));
    const char *in = json_string_value(jin);
    size_t in_len = json_string_length(jin);
    const char *b = json_is_string(jbase) ? json_string_value(jbase) : "about:blank";
    CHECK(in != NULL && (want_fail || json_is_string(jhref)));
    if (in == NULL) continue;
    run++;
    url_err e = {0, NULL};
    int rc;
    if (strcmp(b, "about:blank") == 0) {
      rc = url_parse(&out, in, in_len, &e);
    } else {
      int brc = url_parse(&base_url, b, strlen(b), &e);
      CHECK_MSG(brc == 0, "base %s parses", b);
      if (brc != 0) continue;
      rc = url_resolve(&base_url, in, in_len, &out, &e);
    }
    int ok;
    char got[URL_STORE + 64];
    if (rc != 0) {
      snprintf(got, sizeof(got), "failure (%s at %zu)", e.reason ? e.reason : "?", e.offset);
      ok = want_fail;
    } else {
      long n = url_href(&out, href, sizeof(href));
      snprintf(got, sizeof(got), "%s", n >= 0 ? href : "(href does not fit)");
      ok = !want_fail && n >= 0 && strcmp(href, json_string_value(jhref)) == 0;
    }
    const deviation *d = find_deviation(in, b);
    if (d != NULL) {
      deviated++;
      CHECK_MSG(!ok, "listed deviation \"%s\" (%s) now passes: remove it from the list", in, d->reason);
      continue;
    }
    if (ok) pass++;
    else
      fprintf(stderr, "FAIL: input \"%s\" base \"%s\": want %s, got %s\n", in, b,
              want_fail ? "failure" : json_string_value(jhref), got);
    CHECK(ok);
  }
  printf("WPT URL cases: %zu run, %zu pass, %zu listed deviations, %zu fail\n", run, pass, deviated,
         run - pass - deviated);
  json_decref(cases);
  return gt_done("test_url_wpt");
}

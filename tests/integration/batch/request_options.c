/*
 * request_options — what guise_request() and guise_client_request() refuse
 * before starting anything (issue 14, items 6 and 7): max_time_ms or
 * connect_timeout_ms over a day (86,400,000 ms, guise_client_new's limit), and,
 * on a client, the proxy trust fields that belong to the client. The edges of
 * the ranges are taken. Expected values come from guise.h's contract. Prints one
 * line per case; exit 0 when every case agrees.
 */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "../../lib/gtest_check.h"
#include "guise.h"

static int completions;

static void on_complete(void *ud, int err, const guise_response_info *info) {
  (void)ud, (void)err, (void)info;
  completions++;
}

static void check(const char *what, int got, int want) {
  char detail[96];
  snprintf(detail, sizeof(detail), "got %s, want %s", guise_err_name(got), guise_err_name(want));
  CHECK_NAMED(what, got == want, detail);
}

/* A URL where nothing listens: a request that is started ends at once. */
#define DEAD "http://127.0.0.1:1/"

int main(void) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return 2;
  guise_callbacks cb;
  memset(&cb, 0, sizeof(cb));
  cb.on_complete = on_complete;
  guise_client *cl = NULL;
  if (guise_client_new((struct uv_loop_s *)&loop, NULL, &cl) != 0) return 2;

  static const struct {
    const char *what;
    unsigned max_time_ms, connect_timeout_ms;
    int want;
  } cases[] = {
      {"max_time_ms 86400001 refused", 86400001u, 0, GUISE_E_USAGE_INVALID_ARGUMENT},
      {"max_time_ms 4000000000 refused", 4000000000u, 0, GUISE_E_USAGE_INVALID_ARGUMENT},
      {"connect_timeout_ms 86400001 refused", 0, 86400001u, GUISE_E_USAGE_INVALID_ARGUMENT},
      {"max_time_ms and connect_timeout_ms of a day taken", 86400000u, 86400000u, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    guise_request_options o;
    guise_request_options_init(&o);
    o.url = DEAD;
    o.max_time_ms = cases[i].max_time_ms;
    o.connect_timeout_ms = cases[i].connect_timeout_ms;
    char what[160];
    snprintf(what, sizeof(what), "guise_request: %s", cases[i].what);
    check(what, guise_request((struct uv_loop_s *)&loop, &o, &cb, NULL), cases[i].want);
    snprintf(what, sizeof(what), "guise_client_request: %s", cases[i].what);
    check(what, guise_client_request(cl, &o, &cb, NULL), cases[i].want);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  char n[32];
  snprintf(n, sizeof(n), "%d completions", completions);
  CHECK_NAMED("the two requests taken each completed once", completions == 2, n);

  /* Proxy trust is the client's: refused per request on a client... */
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = DEAD;
  o.proxy_insecure = 1;
  check("guise_client_request: proxy_insecure refused (a client option)", guise_client_request(cl, &o, &cb, NULL),
        GUISE_E_USAGE_INVALID_ARGUMENT);
  guise_request_options_init(&o);
  o.url = DEAD;
  o.proxy_cafile = "/nonexistent/ca.pem";
  check("guise_client_request: proxy_cafile refused (a client option)", guise_client_request(cl, &o, &cb, NULL),
        GUISE_E_USAGE_INVALID_ARGUMENT);
  /* ... and taken by the one-shot calls, whose client is the request's own. */
  check("guise_request: an unreadable proxy_cafile is USAGE_FILE",
        guise_request((struct uv_loop_s *)&loop, &o, &cb, NULL), GUISE_E_USAGE_FILE);
  check("guise_fetch: an unreadable proxy_cafile is USAGE_FILE", guise_fetch(&o, &cb, NULL), GUISE_E_USAGE_FILE);
  guise_client_close(cl);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return gt_done("request_options");
}

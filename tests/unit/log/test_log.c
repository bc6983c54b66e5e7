/*
 * test_log.c — the client's log sink (client/lib/log.h) as guise.h describes
 * guise_client_options.log: a refused cookie reaches both the log callback (at
 * GUISE_LOG_WARN) and the older on_cookie_warning; a level above log_level is
 * dropped before it is formatted; no callback, no call. Expected values come
 * from guise.h's contract.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/gtest_check.h"
#include "guise.h"
#include "log.h"

typedef struct seen {
  int calls, level;
  size_t len; /* of the whole message */
  char msg[256];
} seen;

static void on_log(void *arg, int level, const char *msg) {
  seen *s = arg;
  s->calls++;
  s->level = level;
  s->len = strlen(msg);
  snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

static void on_cookie(void *arg, const char *what) {
  seen *s = arg;
  s->calls++;
  snprintf(s->msg, sizeof(s->msg), "%s", what);
}

static int formatted;

/* An argument whose evaluation the test can see: GLOG must not format a
 * message of a level that is off. */
static const char *counted(const char *s) {
  formatted++;
  return s;
}

int main(void) {
  guise_client_options o;
  guise_client_options_init(&o);
  CHECK(o.log == NULL && o.log_level == 0);

  /* The defaults: no callback at all, nothing called. */
  glog lg;
  glog_init(&lg, &o);
  CHECK(!glog_on(&lg, GUISE_LOG_ERROR));
  glog_cookie(&lg, "Set-Cookie from a.test ignored: no name");
  GLOG(&lg, GUISE_LOG_ERROR, "%s", counted("x"));
  CHECK_EQ(formatted, 0);

  /* A log callback at the default level (WARN): a refused cookie reaches it. */
  seen log = {0}, cookie = {0};
  o.log = on_log;
  o.log_arg = &log;
  glog_init(&lg, &o);
  glog_cookie(&lg, "Set-Cookie from a.test ignored: no name");
  CHECK_EQ(log.calls, 1);
  CHECK_EQ(log.level, GUISE_LOG_WARN);
  CHECK_STR(log.msg, "Set-Cookie from a.test ignored: no name");
  GLOG(&lg, GUISE_LOG_INFO, "%s", counted("connection closed"));
  CHECK_EQ(log.calls, 1);
  CHECK_EQ(formatted, 0);
  GLOG(&lg, GUISE_LOG_ERROR, "request %d: %s", 7, counted("failed"));
  CHECK_EQ(log.calls, 2);
  CHECK_EQ(log.level, GUISE_LOG_ERROR);
  CHECK_STR(log.msg, "request 7: failed");
  CHECK_EQ(formatted, 1);

  /* log_level DEBUG lets everything through. */
  o.log_level = GUISE_LOG_DEBUG;
  glog_init(&lg, &o);
  GLOG(&lg, GUISE_LOG_DEBUG, "%s", "frame");
  CHECK_EQ(log.calls, 3);
  CHECK_EQ(log.level, GUISE_LOG_DEBUG);

  /* Both callbacks: on_cookie_warning keeps getting what it got before. */
  memset(&log, 0, sizeof(log));
  o.log_level = 0;
  o.on_cookie_warning = on_cookie;
  o.cookie_warning_arg = &cookie;
  glog_init(&lg, &o);
  glog_cookie(&lg, "cookie file jar.txt:3 skipped: bad expiry");
  CHECK_EQ(cookie.calls, 1);
  CHECK_STR(cookie.msg, "cookie file jar.txt:3 skipped: bad expiry");
  CHECK_EQ(log.calls, 1);
  CHECK_STR(log.msg, "cookie file jar.txt:3 skipped: bad expiry");

  /* Only the old callback: it alone is called. */
  o.log = NULL;
  glog_init(&lg, &o);
  glog_cookie(&lg, "Set-Cookie from b.test ignored: public suffix");
  CHECK_EQ(cookie.calls, 2);
  CHECK_EQ(log.calls, 1);

  /* A message longer than the cap is cut, NUL-terminated. */
  static char big[GLOG_MAX_MSG + 100];
  memset(big, 'a', sizeof(big) - 1);
  o.log = on_log;
  glog_init(&lg, &o);
  GLOG(&lg, GUISE_LOG_WARN, "%s", big);
  CHECK_EQ(log.len, GLOG_MAX_MSG - 1);
  return gt_done("test_log");
}

/* log.c — the client's log sink (log.h): the caller's callbacks, nothing else. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void glog_init(glog *lg, const guise_client_options *o) {
  lg->fn = o->log;
  lg->arg = o->log_arg;
  lg->max_level = o->log_level > 0 ? o->log_level : GUISE_LOG_WARN;
  lg->cookie_warn = o->on_cookie_warning;
  lg->cookie_arg = o->cookie_warning_arg;
}

void glog_printf(const glog *lg, int level, const char *fmt, ...) {
  if (!glog_on(lg, level)) return;
  char msg[GLOG_MAX_MSG];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  lg->fn(lg->arg, level, msg);
}

void glog_cookie(const glog *lg, const char *what) {
  if (lg->cookie_warn != NULL) lg->cookie_warn(lg->cookie_arg, what);
  if (glog_on(lg, GUISE_LOG_WARN)) lg->fn(lg->arg, GUISE_LOG_WARN, what);
}

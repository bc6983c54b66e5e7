/*
 * log.h — the library's log: one sink per client for everything it has to say
 * (the library never prints). A sink is filled from guise_client_options by
 * glog_init: the caller's |log| callback with its level, and the older
 * on_cookie_warning callback, which glog_cookie still calls (API compatibility).
 *
 * Calls nothing but the caller's callbacks and vsnprintf; no uv, no global state.
 * Used by the client's modules: client.c fills one sink per client
 * (glog_init(&cl->log, &o) in guise_client_new) and routes the cookie warnings
 * through it (client_cookie_warning, the cookie file's lines); request.c and
 * pool.c write to it with
 *
 *   client_log(cl, GUISE_LOG_INFO, "connection to %s closed: %s", host, why);
 *
 * (a module holding a glog of its own, such as a pool given one in its config,
 * uses GLOG(lg, level, fmt, ...) the same way).
 *
 * GLOG tests the level before anything is formatted, so a disabled level costs
 * one compare (curl's infof does the same).
 */
#ifndef GUISE_LOG_H
#define GUISE_LOG_H

#include "guise.h"

typedef struct glog {
  void (*fn)(void *arg, int level, const char *msg);
  void *arg;
  int max_level; /* messages with a level above it are dropped unformatted */
  void (*cookie_warn)(void *arg, const char *what);
  void *cookie_arg;
} glog;

/* The longest message passed to a callback; longer ones are cut (the cookie
 * warnings carry a file path of up to PATH_MAX and a reason). */
#define GLOG_MAX_MSG 4608u

/* Fills |lg| from |o| (already completed with guise_client_options_init). */
void glog_init(glog *lg, const guise_client_options *o);

/* 1 when a message of |level| reaches the callback. */
static inline int glog_on(const glog *lg, int level) {
  return lg->fn != NULL && level <= lg->max_level;
}

/* Formats and passes a message; callers go through GLOG. */
__attribute__((format(printf, 3, 4))) void glog_printf(const glog *lg, int level,
                                                       const char *fmt, ...);

#define GLOG(lg, level, ...)                                    \
  do {                                                          \
    if (glog_on((lg), (level))) glog_printf((lg), (level), __VA_ARGS__); \
  } while (0)

/* A refused cookie (a Set-Cookie or a cookie-file line): |what| to
 * on_cookie_warning and, at GUISE_LOG_WARN, to the log. */
void glog_cookie(const glog *lg, const char *what);

/* The sink of a client (defined in client.c, whose struct is private), and the
 * call for the modules that hold a client: client_log(cl, GUISE_LOG_INFO, ...). */
const glog *client_log_sink(const guise_client *cl);
#define client_log(cl, level, ...) GLOG(client_log_sink(cl), (level), __VA_ARGS__)

#endif

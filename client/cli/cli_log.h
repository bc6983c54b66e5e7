/*
 * cli_log.h — the library's log (guise_client_options.log) on the command's
 * stderr (client/cli/main.c). Warnings (a profile whose user-agent and hello
 * disagree, ...) as "guise: warning: ...", unless -s without -v; INFO and DEBUG
 * lines as "* ..." with -v only. The text may quote a server's bytes: escaped.
 */
#ifndef GUISE_CLI_LOG_H
#define GUISE_CLI_LOG_H

typedef struct cli_log {
  int silent;       /* -s: no warnings (unless -v) */
  int verbose;      /* -v */
  int skip_cookies; /* the cookie warnings come through on_cookie_warning already */
} cli_log;

/* A guise_client_options.log callback; |arg| is a cli_log. */
void cli_log_stderr(void *arg, int level, const char *msg);

#endif

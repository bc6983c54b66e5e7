/*
 * echo_run.c — guise_echo_run, the blocking form of the observer kept for
 * programs written against it: a loop of its own, the open-file limit raised,
 * SIGINT and SIGTERM handled and SIGPIPE ignored while it runs. Everything
 * process-wide about the observer lives here, not in echo_server.c. It calls
 * guise_echo_new/close and libuv; nothing in guise calls it (the command,
 * cmd_echo.c, does the same around the handle itself).
 */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include <uv.h>

#include "guise.h"

typedef struct runner {
  guise_echo *echo;
  uv_signal_t sigint, sigterm;
} runner;

static void on_signal(uv_signal_t *sig, int signum) {
  (void)signum;
  runner *r = sig->data;
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  guise_echo_close(r->echo, NULL, NULL);
}

int guise_echo_run(const guise_echo_options *opts, char *err, unsigned errlen) {
  /* Many concurrent clients: use every descriptor the hard limit allows. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  uv_loop_t loop;
  int e = uv_loop_init(&loop);
  if (e != 0) {
    snprintf(err, errlen, "uv_loop_init: %s", uv_strerror(e));
    return -1;
  }
  /* libuv writes without MSG_NOSIGNAL: a client that resets while an answer is
   * written must end its connection (EPIPE), not the process. Restored after. */
  struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, &old_pipe);
  runner r = {0};
  int rc = 0;
  if (guise_echo_new(&loop, opts, &r.echo, err, errlen) != 0) {
    rc = -1;
  } else {
    uv_signal_init(&loop, &r.sigint);
    uv_signal_init(&loop, &r.sigterm);
    r.sigint.data = r.sigterm.data = &r;
    uv_signal_start(&r.sigint, on_signal, SIGINT);
    uv_signal_start(&r.sigterm, on_signal, SIGTERM);
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* a failed start leaves handles closing */
  uv_loop_close(&loop);
  sigaction(SIGPIPE, &old_pipe, NULL);
  return rc;
}

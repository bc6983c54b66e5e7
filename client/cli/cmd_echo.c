/*
 * cmd_echo.c — `guise echo`: the loopback fingerprint observer as a command. The
 * observer is a handle on a loop (guise_echo_new, fingerprints/echo); what a
 * process does around it is here: the options, the open-file limit raised, a
 * loop of its own, SIGINT/SIGTERM to stop, SIGPIPE ignored, the "listening" line. Called by
 * main.c.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "cli.h"
#include "guise.h"

static const char usage[] =
    "usage: guise echo [--listen HOST:PORT] [--cert FILE --key FILE] [--log FILE]\n"
    "                  [--max-connections N] [--idle-timeout MS] [--threads N]\n"
    "                  [--allow-remote] [--alt-svc] [--no-http3]\n"
    "\n"
    "Serves HTTPS (TLS 1.2/1.3, h2 and http/1.1; plaintext HTTP/1 and h2c too) on\n"
    "HOST:PORT (default 127.0.0.1:8443; port 0 picks a free one), and HTTP/3 over\n"
    "QUIC on the same UDP port, and answers every request with a JSON document of\n"
    "what the client sent and every fingerprint. --alt-svc: answers over TCP carry\n"
    "alt-svc: h3=\":PORT\" (browsers switch to HTTP/3); --no-http3: no UDP.\n"
    "--threads N serves on N event loops (default: one per CPU; --log is written\n"
    "by a thread of its own). Prints 'listening HOST:PORT' on standard output\n"
    "once ready. Stops on SIGINT/SIGTERM.\n";

static void on_listening(const char *addr, void *arg) {
  printf("listening %s\n", addr);
  fflush(stdout);
  fprintf(stderr, "guise echo: serving https://%s/ (Ctrl-C stops)\n", addr);
}

typedef struct echo_cmd {
  guise_echo *echo;
  uv_signal_t sigint, sigterm;
} echo_cmd;

static void on_signal(uv_signal_t *sig, int signum) {
  (void)signum;
  echo_cmd *ec = sig->data;
  uv_close((uv_handle_t *)&ec->sigint, NULL);
  uv_close((uv_handle_t *)&ec->sigterm, NULL);
  guise_echo_close(ec->echo, NULL, NULL);
}

/* Many concurrent clients: use every descriptor the hard limit allows. */
static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int cmd_echo(int argc, char **argv) {
  guise_echo_options o;
  guise_echo_options_init(&o);
  o.on_listening = on_listening;
  o.threads = 0; /* one loop per CPU unless --threads says otherwise */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes_value = strcmp(a, "--listen") == 0 || strcmp(a, "--cert") == 0 ||
                      strcmp(a, "--key") == 0 || strcmp(a, "--log") == 0 ||
                      strcmp(a, "--max-connections") == 0 || strcmp(a, "--idle-timeout") == 0 ||
                      strcmp(a, "--threads") == 0;
    if (takes_value && v == NULL) {
      fprintf(stderr, "guise echo: %s needs a value\n", a);
      return EXIT_USAGE;
    }
    if (strcmp(a, "--listen") == 0) o.listen = v;
    else if (strcmp(a, "--cert") == 0) o.cert_file = v;
    else if (strcmp(a, "--key") == 0) o.key_file = v;
    else if (strcmp(a, "--log") == 0) o.log_file = v;
    else if (strcmp(a, "--max-connections") == 0) {
      long long n = cli_number(a, v, 1, 1000000);
      if (n < 0) return EXIT_USAGE;
      o.max_connections = (unsigned)n;
    } else if (strcmp(a, "--idle-timeout") == 0) {
      long long n = cli_number(a, v, 1, 86400000);
      if (n < 0) return EXIT_USAGE;
      o.idle_timeout_ms = (unsigned)n;
    } else if (strcmp(a, "--threads") == 0) {
      long long n = cli_number(a, v, 1, 256);
      if (n < 0) return EXIT_USAGE;
      o.threads = (unsigned)n;
    } else if (strcmp(a, "--allow-remote") == 0) {
      o.allow_remote = 1;
      continue;
    } else if (strcmp(a, "--alt-svc") == 0) {
      o.alt_svc = 1;
      continue;
    } else if (strcmp(a, "--no-http3") == 0) {
      o.no_http3 = 1;
      continue;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return EXIT_OK;
    } else {
      fprintf(stderr, "guise echo: unknown option %s\n%s", a, usage);
      return EXIT_USAGE;
    }
    i++;
  }
  if (o.alt_svc && o.no_http3) {
    fprintf(stderr, "guise echo: --alt-svc advertises the HTTP/3 that --no-http3 turns off\n");
    return EXIT_USAGE;
  }
  if ((o.cert_file == NULL) != (o.key_file == NULL)) {
    fprintf(stderr, "guise echo: --cert and --key go together\n");
    return EXIT_USAGE;
  }
  raise_nofile();
  /* libuv writes without MSG_NOSIGNAL: a client that resets its connection while
   * an answer is being written would end the observer with SIGPIPE. The write
   * fails with EPIPE instead, and only that connection ends. */
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  int r = uv_loop_init(&loop);
  if (r != 0) {
    fprintf(stderr, "guise echo: uv_loop_init: %s\n", uv_strerror(r));
    return EXIT_FAILURE_GENERIC;
  }
  char err[512];
  echo_cmd ec = {0};
  int rc = EXIT_OK;
  if (guise_echo_new(&loop, &o, &ec.echo, err, sizeof(err)) != 0) {
    fprintf(stderr, "guise echo: %s\n", err);
    rc = EXIT_FAILURE_GENERIC;
  } else {
    uv_signal_init(&loop, &ec.sigint);
    uv_signal_init(&loop, &ec.sigterm);
    ec.sigint.data = ec.sigterm.data = &ec;
    uv_signal_start(&ec.sigint, on_signal, SIGINT);
    uv_signal_start(&ec.sigterm, on_signal, SIGTERM);
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* after a failed start: until its handles have closed */
  uv_loop_close(&loop);
  return rc;
}

/* main.c — the guise command: dispatches to the subcommands; the top-level
 * --help, --help all|GROUP (options.c's table), --completion (completion.c).
 * Uses only the public header. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_log.h"
#include "guise.h"
#include "options.h"

long long cli_number(const char *opt, const char *s, long long min, long long max) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) {
    fprintf(stderr, "guise: %s %s: expected a whole number from %lld to %lld\n", opt, s, min, max);
    return -1;
  }
  return v;
}

void cli_log_stderr(void *arg, int level, const char *msg) {
  const cli_log *lg = arg;
  /* glog_cookie hands a cookie warning to on_cookie_warning and to the log:
   * the command prints it once, from the first (its own rules for -v). */
  if (lg->skip_cookies && (strncmp(msg, "cookie file ", 12) == 0 || strncmp(msg, "Set-Cookie from ", 16) == 0))
    return;
  if (level > GUISE_LOG_WARN ? !lg->verbose : lg->silent && !lg->verbose) return;
  char small[1024];
  size_t len = strlen(msg), need = len * 4 + 1;
  char *buf = need <= sizeof(small) ? small : malloc(need);
  if (buf == NULL) return;
  guise_escape_text(msg, len, buf, buf == small ? sizeof(small) : need);
  fprintf(stderr, "%s%s\n", level > GUISE_LOG_WARN ? "* " : "guise: warning: ", buf);
  if (buf != small) free(buf);
}

static int print_version(void) {
  const guise_version_info *v = guise_version();
  printf("guise %s\n", v->guise);
  printf("  %s %s + %u guise patch%s\n", v->tls_library, v->boringssl_revision,
         v->boringssl_patches, v->boringssl_patches == 1 ? "" : "es");
  printf("  nghttp2 %s\n", v->nghttp2);
  printf("  libuv %s\n", v->libuv);
  printf("  brotli %s\n", v->brotli);
  printf("  zlib %s\n", v->zlib);
  printf("  zstd %s\n", v->zstd);
  printf("  jansson %s\n", v->jansson);
  printf("  c-ares %s\n", v->cares);
  return EXIT_OK;
}

/* The subcommands: `guise NAME ...` runs |run| with argv from NAME on. A new one
 * is one line here and its line in |usage|. */
static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
} subcommands[] = {
    {"batch", cmd_batch},
    {"echo", cmd_echo},
    {"fp", cmd_fp},
    {"profile", cmd_profile},
    {"enqueue", cmd_enqueue},
};

static const char usage[] =
    "usage: guise [options] URL...     requests, curl-like (guise URL --help: the common\n"
    "                                  options; guise --help all: every option by group)\n"
    "       guise batch [options] [FILE|-]  many requests from URLs or JSON jobs, one JSON\n"
    "                                  record each (guise batch --help)\n"
    "       guise profile list|show|check|import  browser profiles (guise profile --help)\n"
    "       guise echo [options]       loopback fingerprint observer (guise echo --help)\n"
    "       guise fp FILE...           fingerprints of every client flight in a pcap,\n"
    "                                  pcapng or hex dump (guise fp --help)\n"
    "       guise enqueue [FILE|-] redis://HOST:PORT[/DB]/STREAM  jobs into a Redis stream\n"
    "                                  for guise batch (guise enqueue --help)\n"
    "       guise --version\n"
    "       guise --help all|GROUP|category  the options of guise URL and guise batch\n"
    "       guise --completion bash|zsh  a completion script for the shell\n";

/* `guise --help category`: the groups, as `curl --help category` lists its own. */
static int print_groups(void) {
  puts("The groups of options (guise --help GROUP):");
  for (unsigned g = 0; cli_group_name(g); g++) printf("  %s\n", cli_group_name(g));
  return EXIT_OK;
}

int main(int argc, char **argv) {
  for (size_t i = 0; argc >= 2 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
    if (strcmp(argv[1], subcommands[i].name) == 0) return subcommands[i].run(argc - 1, argv + 1);
  if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
    return print_version();
  int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
  if (help && argc == 2) {
    fputs(usage, stdout);
    return EXIT_OK;
  }
  if (help && argc == 3) {
    if (strcmp(argv[2], "category") == 0) return print_groups();
    if (cli_usage_groups(strcmp(argv[2], "all") == 0 ? NULL : argv[2], stdout) == 0) return EXIT_OK;
    /* not a group: guise -h URL, guise URL's own --help */
  }
  if (argc >= 2 && strcmp(argv[1], "--completion") == 0) {
    if (argc != 3) {
      fputs("guise: --completion needs one value: bash or zsh\n", stderr);
      return EXIT_USAGE;
    }
    int r = cli_completion(argv[2], stdout);
    if (r) fprintf(stderr, "guise: --completion %s: expected bash or zsh\n", argv[2]);
    return r ? EXIT_USAGE : EXIT_OK;
  }
  if (argc >= 2) return cmd_fetch(argc, argv);
  fputs(usage, stderr);
  return EXIT_USAGE;
}

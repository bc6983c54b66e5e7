/* test_cli_table.c — the option table (client/cli/options.c): its shape, the
 * lookups a later parser will use, and cli_parse filling cli_settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"

#include "../../lib/gtest_check.h"

/* main.c's, which this test does not link: the same rule, written again here. */
long long cli_number(const char *opt, const char *s, long long min, long long max) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || v < min || v > max) {
    fprintf(stderr, "guise: %s %s: expected a whole number from %lld to %lld\n", opt, s, min, max);
    return -1;
  }
  return v;
}

/* Every name and letter a command takes leads to one option; every option
 * with help text for the command is listed once in its --help. */
static void check_command(const cli_command *cmd, const char *const *names, size_t n_names) {
  int which = cmd->id == CLI_BATCH;
  for (size_t i = 0; i < n_names; i++) {
    const cli_option *o = cli_find_long(cmd, names[i], strlen(names[i]));
    CHECK(o != NULL);
    if (o == NULL) continue;
    CHECK(o->commands & cmd->id);
    if (o->letter) CHECK(cli_find_short(cmd, o->letter) == o); /* no other option has its letter */
    int listed = 0;
    for (const char *const *p = cmd->order; *p; p++) listed += strcmp(*p, o->name) == 0;
    CHECK(listed == (o->help[which] != NULL));
  }
  for (const char *const *p = cmd->order; *p; p++) {
    const cli_option *o = cli_find_long(cmd, *p, strlen(*p));
    CHECK(o != NULL && o->help[which] != NULL);
  }
}

static char **argv_of(const char *const *words, int *argc) {
  int n = 0;
  while (words[n]) n++;
  char **v = calloc((size_t)n + 1, sizeof(char *));
  for (int i = 0; i < n; i++) v[i] = (char *)words[i];
  *argc = n;
  return v;
}

int main(void) {
  /* Every option of each command, as the docs (docs/CLI.md, docs/BATCH.md) name them. */
  static const char *const fetch_names[] = {
      "--request", "--header", "--data", "--data-binary", "--output", "--include", "--head", "--silent",
      "--verbose", "--insecure", "--cacert", "--proxy-insecure", "--proxy-cacert", "--http1.1", "--http2",
      "--http2-prior-knowledge", "--resolve", "--dns-servers", "--proxy", "--noproxy", "--connect-timeout",
      "--max-time", "--raw", "--cookie", "--cookie-jar", "--location", "--max-redirs", "--parallel",
      "--no-keepalive", "--profile", "--write-out", "--help"};
  static const char *const batch_names[] = {
      "--output", "--resume", "--workers", "--concurrency", "--per-host", "--rate", "--per-host-rate",
      "--retries", "--connections-per-host", "--streams", "--no-keepalive", "--coalesce-ms", "--location",
      "--max-redirs", "--cookies", "--include-headers", "--body", "--body-dir", "--stats-json", "--progress",
      "--insecure", "--cacert", "--proxy-insecure", "--proxy-cacert", "--profile", "--http1.1", "--http2",
      "--proxy", "--noproxy", "--resolve", "--dns-servers", "--connect-timeout", "--max-time", "--help"};
  check_command(&cli_fetch_command, fetch_names, sizeof(fetch_names) / sizeof(fetch_names[0]));
  check_command(&cli_batch_command, batch_names, sizeof(batch_names) / sizeof(batch_names[0]));

  /* One letter, two options: -c. And options of one command only. */
  CHECK(strcmp(cli_find_short(&cli_fetch_command, 'c')->name, "--cookie-jar") == 0);
  CHECK(strcmp(cli_find_short(&cli_batch_command, 'c')->name, "--concurrency") == 0);
  CHECK(cli_find_long(&cli_batch_command, "--parallel", 10) == NULL);
  CHECK(cli_find_long(&cli_fetch_command, "--rate", 6) == NULL);
  CHECK(cli_find_short(&cli_batch_command, 'Z') == NULL);
  /* A name given with its length: "--max-time=3" is --max-time for a parser
   * that splits at '=' (not this one, yet); a prefix is no match. */
  CHECK(cli_find_long(&cli_fetch_command, "--max-time=3", 10) == cli_find_short(&cli_fetch_command, 'm'));
  CHECK(cli_find_long(&cli_fetch_command, "--max", 5) == NULL);
  CHECK(cli_find_short(&cli_fetch_command, 0) == NULL);

  /* cli_parse fills the settings: guise URL. */
  const char *resolve[4], *urls[4];
  cli_settings s;
  cli_settings_init(&s, &cli_fetch_command);
  s.resolve = resolve;
  s.max_resolve = 4;
  s.operands = urls;
  s.max_operands = 4;
  static const char *const fw[] = {"guise", "-k", "-x", "socks5h://127.0.0.1:1080", "--resolve", "a:1:127.0.0.1",
                                   "-H", "X-A:  1", "-b", "k=v", "-c", "jar.txt", "-I", "-m", "1.5", "-d", "body",
                                   "--http2-prior-knowledge", "http://a/", "-", NULL};
  int argc;
  char **argv = argv_of(fw, &argc);
  CHECK(cli_parse(&cli_fetch_command, &s, argc, argv) == CLI_NEXT);
  CHECK(s.insecure == 1 && strcmp(s.proxy, "socks5h://127.0.0.1:1080") == 0);
  CHECK(s.n_resolve == 1 && strcmp(s.resolve[0], "a:1:127.0.0.1") == 0);
  CHECK(s.n_headers == 2 && strcmp(s.headers[0].name, "X-A") == 0 && strcmp(s.headers[0].value, "1") == 0 &&
        strcmp(s.headers[1].name, "Cookie") == 0 && strcmp(s.headers[1].value, "k=v") == 0);
  CHECK(s.cookies == 1 && strcmp(s.cookie_jar, "jar.txt") == 0 && s.cookie_file == NULL);
  CHECK(s.head_only == 1 && strcmp(s.method, "HEAD") == 0);
  CHECK(s.max_time_ms == 1500 && s.has_body && s.body_len == 4 && memcmp(s.body, "body", 4) == 0);
  CHECK(s.http_version == 2);
  CHECK(s.n_operands == 2 && strcmp(urls[0], "http://a/") == 0 && strcmp(urls[1], "-") == 0);
  cli_settings_free(&s);
  free(argv);

  /* guise batch: its numbers land in the batch's own options. */
  cli_settings_init(&s, &cli_batch_command);
  const char *input = NULL;
  s.resolve = resolve;
  s.max_resolve = 4;
  s.operands = &input;
  s.max_operands = 1;
  static const char *const bw[] = {"batch", "-c", "7", "--workers", "3", "--rate", "2.5", "--coalesce-ms", "0",
                                   "--body", "base64", "--body-dir", "out", "--retries", "0", "-L",
                                   "--max-redirs", "4", "--progress", "never", "jobs.jsonl", NULL};
  argv = argv_of(bw, &argc);
  CHECK(cli_parse(&cli_batch_command, &s, argc, argv) == CLI_NEXT);
  CHECK(s.batch.concurrency == 7 && s.batch.workers == 3 && s.batch.rate == 2.5);
  CHECK(s.batch.h2_coalesce_ms == 0 && s.batch.no_coalesce == 1);
  CHECK(s.batch.body_mode == GUISE_BODY_DIR && strcmp(s.batch.body_dir, "out") == 0); /* the later one wins */
  CHECK(s.batch.retries == 0 && s.follow_redirects == 1 && s.max_redirects == 4);
  CHECK(strcmp(s.progress, "never") == 0 && input && strcmp(input, "jobs.jsonl") == 0);
  free(argv);
  /* The default a batch keeps when no option says otherwise. */
  cli_settings_init(&s, &cli_batch_command);
  CHECK(s.batch.retries == 2 && s.batch.size == sizeof(guise_batch_options));

  /* --help ends the command with 0, a bad value with 2 (messages on stderr). */
  static const char *const help[] = {"guise", "--help", NULL};
  argv = argv_of(help, &argc);
  cli_settings_init(&s, &cli_fetch_command);
  FILE *keep = stdout;
  stdout = fopen("/dev/null", "w");
  int r = cli_parse(&cli_fetch_command, &s, argc, argv);
  fclose(stdout);
  stdout = keep;
  CHECK(r == EXIT_OK);
  free(argv);
  static const char *const bad[] = {"guise", "--max-redirs", "0", NULL};
  argv = argv_of(bad, &argc);
  CHECK(cli_parse(&cli_fetch_command, &s, argc, argv) == EXIT_USAGE);
  free(argv);

  return gt_done("test_cli_table");
}

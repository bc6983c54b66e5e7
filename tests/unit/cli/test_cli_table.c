/* test_cli_table.c — the option table (client/cli/options.c): its shape, the
 * lookups a later parser will use, and cli_parse filling cli_settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config_file.h"
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

/* Settings for guise URL over the caller's arrays. */
static void fetch_settings(cli_settings *s, const char **resolve, const char **urls) {
  cli_settings_init(s, &cli_fetch_command);
  s->resolve = resolve;
  s->max_resolve = 4;
  s->operands = urls;
  s->max_operands = 4;
}

static int parse_words(cli_settings *s, const char *const *words) {
  int argc;
  char **argv = argv_of(words, &argc);
  FILE *keep = stderr; /* the refusals' messages: the Python test checks them */
  stderr = fopen("/dev/null", "w");
  int r = cli_parse(&cli_fetch_command, s, argc, argv);
  fclose(stderr);
  stderr = keep;
  free(argv);
  return r;
}

/* The getopt forms curl's command line takes (curl's manual, "OPTIONS"): letters
 * bundled, a value-taking letter last with its value attached or next, "--"
 * ending options, options after the URLs; and "--name=value" (getopt_long's,
 * which curl lacks). */
static void check_getopt_forms(const char **resolve, const char **urls) {
  cli_settings s;
  fetch_settings(&s, resolve, urls);
  static const char *const w1[] = {"guise", "-kLsi", "-XPOST", "-o-", "example.test:8080/x", "-m2",
                                   "--max-redirs=7", "--resolve=a:1:127.0.0.1", "-vHX-B: 2", "--",
                                   "-k", "--silent", NULL};
  CHECK(parse_words(&s, w1) == CLI_NEXT);
  CHECK(s.insecure == 1 && s.follow_redirects == 1 && s.silent == 1 && s.include == 1 && s.verbose == 1);
  CHECK(s.method && strcmp(s.method, "POST") == 0);
  CHECK(s.output && strcmp(s.output, "-") == 0);
  CHECK(s.max_time_ms == 2000 && s.max_redirects == 7);
  CHECK(s.n_resolve == 1 && strcmp(s.resolve[0], "a:1:127.0.0.1") == 0);
  CHECK(s.n_headers == 1 && strcmp(s.headers[0].name, "X-B") == 0 && strcmp(s.headers[0].value, "2") == 0);
  /* after "--" every word is a URL: "-k" and "--silent" without a scheme */
  CHECK(s.n_operands == 3 && strcmp(urls[0], "http://example.test:8080/x") == 0 &&
        strcmp(urls[1], "http://-k") == 0 && strcmp(urls[2], "http://--silent") == 0);
  cli_settings_free(&s);

  /* A letter that takes a value, last in a bundle, takes the next word. --no-NAME
   * undoes one of curl's booleans; a URL with a scheme is kept as written. */
  fetch_settings(&s, resolve, urls);
  static const char *const w2[] = {"guise", "HTTPS://a.test/", "-Lko", "out.bin", "--no-location", "--no-insecure",
                                   "-I", "--no-head", "a+b.c-d://x/", NULL};
  CHECK(parse_words(&s, w2) == CLI_NEXT);
  CHECK(s.output && strcmp(s.output, "out.bin") == 0);
  CHECK(s.follow_redirects == 0 && s.insecure == 0 && s.head_only == 0 && s.method == NULL);
  CHECK(s.n_operands == 2 && strcmp(urls[0], "HTTPS://a.test/") == 0 && strcmp(urls[1], "a+b.c-d://x/") == 0);
  cli_settings_free(&s);

  /* Refusals: exit 2. */
  const char *const *const bad[] = {
      (const char *const[]){"guise", "-sW", "u", NULL},           /* an unknown letter in a bundle */
      (const char *const[]){"guise", "--locaton", "u", NULL},     /* a typo */
      (const char *const[]){"guise", "--silent=1", "u", NULL},    /* a flag given a value */
      (const char *const[]){"guise", "--no-request", "u", NULL},  /* --no- of a non-boolean (curl refuses it) */
      (const char *const[]){"guise", "--no-http1.1", "u", NULL},  /* curl: not a boolean either */
      (const char *const[]){"guise", "u", "-sX", NULL},           /* -X last with no word after it */
      (const char *const[]){"guise", "--max-time=", "u", NULL},   /* an empty value is still checked */
      (const char *const[]){"guise", "--no-", "u", NULL},
      (const char *const[]){"guise", "-", "u", NULL},             /* curl: "option -: is unknown" */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    fetch_settings(&s, resolve, urls);
    int r = parse_words(&s, bad[i]);
    if (r != EXIT_USAGE) fprintf(stderr, "refusal %zu: got %d\n", i, r);
    CHECK(r == EXIT_USAGE);
    cli_settings_free(&s);
  }
}

/* One config text through the tokenizer: the |n| options it should give, as
 * "name=value" ("name" alone when there is no value), or the line of an error. */
static void config_case(const char *text, const char *const *want, size_t n, size_t error_line) {
  CBS in;
  CBS_init(&in, (const uint8_t *)text, strlen(text));
  char buf[512], why[120];
  size_t line = 0, got = 0;
  cli_config_item it;
  int r;
  while ((r = cli_config_next(&in, &line, &it, buf, sizeof(buf), why, sizeof(why))) == 1) {
    char shown[600];
    snprintf(shown, sizeof(shown), it.has_value ? "%s=%s" : "%s", it.name, buf);
    int ok = got < n && strcmp(shown, want[got]) == 0 && strlen(buf) == it.value_len;
    if (!ok) fprintf(stderr, "config %.30s: option %zu: got [%s]\n", text, got, shown);
    CHECK(ok);
    got++;
  }
  if (r < 0 && error_line == 0) fprintf(stderr, "config %.30s: line %zu: %s\n", text, line, why);
  CHECK(got == n);
  CHECK(error_line ? r == -1 && line == error_line && why[0] : r == 0);
}

/* curl's -K syntax (curl's manual, -K/--config): separators '=', ':' or white
 * space (only white space after a dashed name), quotes with \\ \" \t \n \r \v
 * and any other backslash dropped, '#' comments, one option a line. */
static void check_config_lines(void) {
  config_case("# a comment\n\n   # another\n\t\n", NULL, 0, 0);
  config_case("url = \"http://a.test/x y\"\noutput: out.html\nuser-agent superagent/1.0\n-O\n"
              "referer = \"http://nowhere.test/\"\n",
              (const char *const[]){"--url=http://a.test/x y", "--output=out.html", "--user-agent=superagent/1.0",
                                    "-O", "--referer=http://nowhere.test/"},
              5, 0);
  /* dashed: the value after white space; "name == value" (curl skips them all) */
  config_case("--max-time 3\n  -o   f.txt  # trailing comment\nmax-redirs==:4\r\nsilent\n",
              (const char *const[]){"--max-time=3", "-o=f.txt", "--max-redirs=4", "--silent"}, 4, 0);
  /* escapes, an empty quoted value, a value starting with '=' in quotes */
  config_case("header = \"a: \\\"q\\\" \\t\\x\\\\\"\ndata \"\"\ndata \"=x\"\n",
              (const char *const[]){"--header=a: \"q\" \tx\\", "--data=", "--data==x"}, 3, 0);
  /* no newline at the end */
  config_case("insecure", (const char *const[]){"--insecure"}, 1, 0);
  /* errors, with their line */
  config_case("silent\nuser-agent = \"open\n", (const char *const[]){"--silent"}, 1, 2);
  config_case("a = \"x\" y\n", NULL, 0, 1);                     /* text after the quote */
  config_case("\n\nuser-agent = Mozilla/5.0 (X11)\n", NULL, 0, 3); /* curl warns; guise refuses */
  config_case("= x\n", NULL, 0, 1);
  static const char nul[] = "silent\nx\0y\n";
  CBS in;
  CBS_init(&in, (const uint8_t *)nul, sizeof(nul) - 1);
  char buf[64], why[120];
  size_t line = 0;
  cli_config_item it;
  CHECK(cli_config_next(&in, &line, &it, buf, sizeof(buf), why, sizeof(why)) == 1);
  CHECK(cli_config_next(&in, &line, &it, buf, sizeof(buf), why, sizeof(why)) == -1 && line == 2);
}

/* -K FILE applied where it stands: options and url lines land in the settings. */
static void check_config_files(const char **resolve, const char **urls) {
  char path[] = "/tmp/test_cli_table.XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs("# curl -K\nurl = \"example.test/a\"\nlocation\n-X PUT\nmax-time: 4\n--header \"X-C: 3\"\n", f);
  fclose(f);
  cli_settings s;
  fetch_settings(&s, resolve, urls);
  const char *const w[] = {"guise", "-K", path, "-m", "5", NULL};
  CHECK(parse_words(&s, w) == CLI_NEXT);
  CHECK(s.follow_redirects == 1 && s.method && strcmp(s.method, "PUT") == 0 && s.max_time_ms == 5000);
  CHECK(s.n_headers == 1 && strcmp(s.headers[0].value, "3") == 0);
  CHECK(s.n_operands == 1 && strcmp(urls[0], "http://example.test/a") == 0);
  cli_settings_free(&s);
  /* A file that names itself: the nesting cap ends it. */
  f = fopen(path, "w");
  fprintf(f, "config = \"%s\"\n", path);
  fclose(f);
  fetch_settings(&s, resolve, urls);
  CHECK(parse_words(&s, w) == EXIT_USAGE);
  cli_settings_free(&s);
  /* A value a flag cannot take. */
  f = fopen(path, "w");
  fputs("silent = yes\n", f);
  fclose(f);
  fetch_settings(&s, resolve, urls);
  CHECK(parse_words(&s, w) == EXIT_USAGE);
  cli_settings_free(&s);
  unlink(path);
}

/* No two options of a command share a name or a letter (a row pasted twice
 * would shadow itself), and every group is a known one. */
static void check_unique(void) {
  const cli_option *a, *b;
  for (size_t i = 0; (a = cli_option_at(i)) != NULL; i++) {
    CHECK(cli_group_name(a->group) != NULL);
    CHECK(a->name[0] == '-' && a->name[1] == '-');
    for (size_t j = i + 1; (b = cli_option_at(j)) != NULL; j++) {
      if (!(a->commands & b->commands)) continue;
      int clash = strcmp(a->name, b->name) == 0 || (a->letter && a->letter == b->letter);
      if (clash) fprintf(stderr, "options %s and %s clash\n", a->name, b->name);
      CHECK(!clash);
    }
  }
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
                                   "--http2-prior-knowledge", "http://a/", NULL};
  int argc;
  char **argv = argv_of(fw, &argc);
  CHECK(cli_parse(&cli_fetch_command, &s, argc, argv) == CLI_NEXT);
  CHECK(s.insecure == 1 && strcmp(s.proxy, "socks5h://127.0.0.1:1080") == 0);
  CHECK(s.n_resolve == 1 && strcmp(s.resolve[0], "a:1:127.0.0.1") == 0);
  CHECK(s.n_headers == 2 && strcmp(s.headers[0].name, "X-A") == 0 && strcmp(s.headers[0].value, "1") == 0 &&
        strcmp(s.headers[1].name, "Cookie") == 0 && strcmp(s.headers[1].value, "k=v") == 0);
  CHECK(s.cookies == 1 && strcmp(s.cookie_jar, "jar.txt") == 0 && s.cookie_file == NULL);
  CHECK(s.head_only == 1 && strcmp(s.method, "HEAD") == 0);
  CHECK(s.max_time_ms == 1500 && s.n_body_args == 1 && strcmp(s.body_args[0].name, "--data") == 0 &&
        strcmp(s.body_args[0].as, "-d") == 0 && strcmp(s.body_args[0].value, "body") == 0);
  CHECK(s.http_version == 2);
  CHECK(s.n_operands == 1 && strcmp(urls[0], "http://a/") == 0);
  cli_settings_free(&s);
  free(argv);

  check_unique();
  check_getopt_forms(resolve, urls);
  check_config_lines();
  check_config_files(resolve, urls);

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

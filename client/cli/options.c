/* options.c — see options.h. */
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "at_file.h"
#include "cli.h"
#include "config_file.h"
#include "numopt.h"

#define MAX_SECONDS 86400          /* --max-time, --connect-timeout: a day (the library's limit) */
#define BATCH_MIN_RATE 0.001       /* --rate: one request in 1,000 s; below, waits overflow */
#define BATCH_MAX_RATE 1e7

/* Strings the settings keep beyond argv (config file values, URLs given a
 * scheme): one list for the process, so that they stay reachable until
 * cli_settings_free even for a command that returns without calling it. */
struct cli_string {
  struct cli_string *next;
  char text[];
};
static struct cli_string *kept;

/* ---- messages -------------------------------------------------------------------- */

void cli_usage_error(const char *prog, const char *opt, const char *arg, const char *why) {
  size_t len = strlen(arg);
  char small[512];
  char *shown = len < sizeof(small) / 4 ? small : malloc(len * 4 + 1);
  if (shown) guise_escape_text(arg, len, shown, shown == small ? sizeof(small) : len * 4 + 1);
  fprintf(stderr, "%s: %s '%s': %s\n", prog, opt, shown ? shown : "[out of memory]", why);
  if (shown != small) free(shown);
}

/* ---- setters --------------------------------------------------------------------- */

#define FIELD(s, o, type) ((type *)(void *)((char *)(s) + (o)->field))

/* A flag: the field (an int) takes |lo|. */
static int set_flag(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)as, (void)v;
  *FIELD(s, o, int) = (int)o->lo;
  return CLI_NEXT;
}

/* A string kept as given (argv outlives the command). */
static int set_string(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)as;
  *FIELD(s, o, const char *) = v;
  return CLI_NEXT;
}

/* A whole number in [lo, hi] into an unsigned field; the message names the
 * command (and the config file line: s->prog). */
static int set_number(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || end == v || *end || n < o->lo || n > o->hi) {
    fprintf(stderr, "%s: %s %s: expected a whole number from %lld to %lld\n", s->prog, as, v, o->lo, o->hi);
    return EXIT_USAGE;
  }
  *FIELD(s, o, unsigned) = (unsigned)n;
  return CLI_NEXT;
}

/* Seconds (numopt.c: "nan" and "inf" refused), as milliseconds: 1 ms to a day. */
static int set_seconds(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  return cli_seconds_ms(as, v, MAX_SECONDS, FIELD(s, o, unsigned)) ? EXIT_USAGE : CLI_NEXT;
}

/* Requests per second: 0 (no limit), or 0.001 to 10,000,000 (guise_batch_new's). */
static int set_rate(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  return cli_double(as, v, 0, BATCH_MAX_RATE, BATCH_MIN_RATE, FIELD(s, o, double)) ? EXIT_USAGE : CLI_NEXT;
}

static const cli_command *command_of(const cli_settings *s) {
  return s->command == CLI_BATCH ? &cli_batch_command : &cli_fetch_command;
}

static int set_help(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as, (void)v;
  cli_usage(command_of(s), stdout);
  return EXIT_OK;
}

static int set_resolve(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as;
  if (s->n_resolve == s->max_resolve) {
    fprintf(stderr, "%s: more than %zu --resolve\n", s->prog, s->max_resolve);
    return EXIT_USAGE;
  }
  s->resolve[s->n_resolve++] = v;
  return CLI_NEXT;
}

static int set_dns_servers(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as;
  char why[200]; /* names the bad entry, escaped */
  if (guise_dns_servers_check(v, why, sizeof(why))) {
    fprintf(stderr, "%s: --dns-servers: %s\n", s->prog, why);
    return EXIT_USAGE;
  }
  s->dns_servers = v;
  return CLI_NEXT;
}

/* A header from -H (or the cookies of -b) as RFC 9110 allows it: the name a
 * token (5.6.2), the value visible characters, obs-text, spaces and tabs
 * (5.5). Checked while the command line is read, so that a bad one is a usage
 * error (exit 2) before any connection, not a failure after it. Returns NULL
 * or why, with the byte's position in |*at|. */
static const char *header_problem(const char *name, const char *value, size_t *at) {
  static const char tchar[] = "!#$%&'*+-.^_`|~";
  *at = 0;
  if (name[0] == '\0') return "empty header name";
  for (const char *p = name; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          strchr(tchar, ch))) {
      *at = (size_t)(p - name);
      return "the name has a character a header name cannot have (RFC 9110 5.6.2)";
    }
  }
  for (const char *p = value; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
      *at = (size_t)(p - value);
      return ch == '\r' || ch == '\n' ? "the value has a CR or LF (it would end the header)"
                                      : "the value has a control character (RFC 9110 5.5)";
    }
  }
  return NULL;
}

static int set_header(cli_settings *s, const cli_option *o, const char *as, const char *v);

static int set_header_line(cli_settings *s, const char *as, const char *line, void *o) {
  return set_header(s, o, as, line);
}

/* -H @FILE: a header a line (at_file.c: capped, CBS, FILE:LINE in messages). */
static int set_header_file(cli_settings *s, const cli_option *o, const char *as, const char *path) {
  return cli_header_file(s, as, path, set_header_line, (void *)o);
}

static int set_header(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o;
  if (v[0] == '@') return set_header_file(s, o, as, v + 1);
  const char *colon = strchr(v, ':');
  if (colon == NULL || colon == v || s->n_headers == CLI_MAX_HEADERS) {
    fprintf(stderr, "%s: -H '%s': expected 'Name: value'\n", s->prog, v);
    return EXIT_USAGE;
  }
  char *copy = strdup(v);
  if (copy == NULL) return EXIT_USAGE;
  copy[colon - v] = '\0';
  const char *value = copy + (colon - v) + 1;
  while (*value == ' ' || *value == '\t') value++;
  size_t at;
  const char *why = header_problem(copy, value, &at);
  if (why) {
    cli_usage_error(s->prog, as, v, why);
    free(copy);
    return EXIT_USAGE;
  }
  s->header_copies[s->n_headers] = copy;
  s->headers[s->n_headers++] = (guise_header){copy, value};
  return CLI_NEXT;
}

/* -d, --data-*, --json, -F, --form-string, -T, -G: kept as given, in order;
 * fetch_body.c reads them (files included) before the first request. */
static int set_body_arg(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  if (cli_negated(as)) { /* --no-get: the -G before it is undone, as curl */
    size_t k = 0;
    for (size_t i = 0; i < s->n_body_args; i++)
      if (strcmp(s->body_args[i].name, o->name) != 0) s->body_args[k++] = s->body_args[i];
    s->n_body_args = k;
    return CLI_NEXT;
  }
  if (s->n_body_args == CLI_MAX_BODY_ARGS) {
    fprintf(stderr, "%s: more than %d body options (-d, -F, -T, --json, ...)\n", s->prog, CLI_MAX_BODY_ARGS);
    return EXIT_USAGE;
  }
  cli_body_arg *a = &s->body_args[s->n_body_args++];
  a->name = o->name;
  snprintf(a->as, sizeof(a->as), "%s", as);
  a->value = v;
  return CLI_NEXT;
}

static int set_head(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)v;
  static const char head[] = "HEAD";
  if (cli_negated(as)) { /* --no-head: back to the method -X gave, if any */
    s->head_only = 0;
    if (s->method == head) s->method = NULL;
    return CLI_NEXT;
  }
  s->head_only = 1;
  s->method = head;
  return CLI_NEXT;
}

const char cli_remote_name[] = "(-O)";

/* -O: the next URL's file is named from it (curl's pairing, as -o);
 * --no-remote-name: --remote-name-all off (an -O given stays, as curl 7.88). */
static int set_remote_name(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)v;
  if (cli_negated(as)) {
    s->remote_name = 0;
    return CLI_NEXT;
  }
  if (s->n_outputs == s->max_outputs) {
    fprintf(stderr, "%s: more than %zu -o and -O options\n", s->prog, s->max_outputs);
    return EXIT_USAGE;
  }
  s->outputs[s->n_outputs++] = cli_remote_name;
  return CLI_NEXT;
}

/* -o FILE: guise batch's records; guise URL's nth -o is the nth URL's file,
 * as curl pairs them (URLs past the last -o go to stdout). */
static int set_output(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o;
  if (s->outputs) {
    if (s->n_outputs == s->max_outputs) {
      fprintf(stderr, "%s: more than %zu %s options\n", s->prog, s->max_outputs, as);
      return EXIT_USAGE;
    }
    s->outputs[s->n_outputs++] = v;
  }
  s->output = v;
  return CLI_NEXT;
}

/* --url: an operand given as an option (curl's; a config file's only way to
 * name a URL). */
static int set_url(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as;
  return command_of(s)->operand(s, v);
}

/* -K FILE: the options of a config file (config_file.c). */
static int set_config(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as;
  return cli_config_read(command_of(s), s, v);
}

/* -b: curl's rule: with a '=' it is the cookies themselves, else a file. */
static int set_cookie(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o;
  if (strchr(v, '=')) {
    size_t at;
    const char *why = header_problem("Cookie", v, &at);
    if (why) {
      cli_usage_error(s->prog, as, v, why);
      return EXIT_USAGE;
    }
    if (s->n_headers == CLI_MAX_HEADERS) {
      fprintf(stderr, "%s: %s: at most %d headers (-H and -b cookies together)\n", s->prog, as, CLI_MAX_HEADERS);
      return EXIT_USAGE;
    }
    char *copy = strdup(v);
    if (copy == NULL) return EXIT_USAGE;
    s->header_copies[s->n_headers] = copy;
    s->headers[s->n_headers++] = (guise_header){"Cookie", copy};
  } else {
    s->cookie_file = v;
  }
  s->cookies = 1;
  return CLI_NEXT;
}

static int set_cookie_jar(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as;
  s->cookie_jar = v;
  s->cookies = 1;
  return CLI_NEXT;
}

/* --coalesce-ms N: 0 turns coalescing off. */
static int set_coalesce(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  int r = set_number(s, o, as, v);
  s->batch.no_coalesce = s->batch.h2_coalesce_ms == 0;
  return r;
}

static int set_body(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as;
  if (strcmp(v, "discard") == 0) s->batch.body_mode = GUISE_BODY_DISCARD;
  else if (strcmp(v, "text") == 0) s->batch.body_mode = GUISE_BODY_TEXT;
  else if (strcmp(v, "base64") == 0) s->batch.body_mode = GUISE_BODY_BASE64;
  else {
    fprintf(stderr, "%s: --body %s: expected discard, text or base64\n", s->prog, v);
    return EXIT_USAGE;
  }
  return CLI_NEXT;
}

static int set_body_dir(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as;
  s->batch.body_mode = GUISE_BODY_DIR;
  s->batch.body_dir = v;
  return CLI_NEXT;
}

static int set_progress(cli_settings *s, const cli_option *o, const char *as, const char *v) {
  (void)o, (void)as;
  if (strcmp(v, "auto") && strcmp(v, "always") && strcmp(v, "never")) {
    fprintf(stderr, "%s: --progress %s: expected auto, always or never\n", s->prog, v);
    return EXIT_USAGE;
  }
  s->progress = v;
  return CLI_NEXT;
}

/* ---- the table ------------------------------------------------------------------- */

#define F CLI_FETCH
#define B CLI_BATCH
#define AT(f) offsetof(cli_settings, f)
#define FLAG(f, value) set_flag, AT(f), value, 0
#define STRING(f) set_string, AT(f), 0, 0
#define NUMBER(f, lo, hi) set_number, AT(f), lo, hi
#define CALL(fn) fn, 0, 0, 0

/* A row without its group (the last field) is CLI_G_OTHER: allowed, so that
 * a row written before the field existed keeps compiling. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const cli_option options[] = {
    /* both commands */
    {"--output", 'o', "FILE", F | B, CALL(set_output),
     {"write the body to FILE", "records (JSONL) to FILE instead of stdout"}, CLI_G_OUTPUT},
    {"--insecure", 'k', NULL, F | B, FLAG(insecure, 1),
     {"do not check the server's certificate (not the proxy's)", NULL}, CLI_G_TLS, CLI_BOOL},
    {"--cacert", 0, "FILE", F | B, STRING(cafile), {"trust anchors instead of the system bundle", NULL}, CLI_G_TLS},
    {"--proxy-insecure", 0, NULL, F | B, FLAG(proxy_insecure, 1),
     {"do not check an https:// proxy's certificate", NULL}, CLI_G_PROXY, CLI_BOOL},
    {"--proxy-cacert", 0, "FILE", F | B, STRING(proxy_cafile), {"trust anchors for an https:// proxy", NULL}, CLI_G_PROXY},
    {"--http1.1", 0, NULL, F | B, FLAG(http_version, 1), {"HTTP/1.1 only", NULL}, CLI_G_HTTP},
    {"--http2", 0, NULL, F | B, FLAG(http_version, 2), {"HTTP/2 only (prior knowledge for http://)", NULL}, CLI_G_HTTP},
    {"--http2-prior-knowledge", 0, NULL, F, FLAG(http_version, 2), {NULL, NULL}, CLI_G_HTTP}, /* curl's name */
    {"--http3", 0, NULL, F | B, FLAG(http_version, 3),
     {"HTTP/3 raced against TCP, as Chrome (https://)", NULL}, CLI_G_HTTP},
    {"--http3-only", 0, NULL, F | B, FLAG(http_version, 4), {"HTTP/3 or an error (https://)", NULL}, CLI_G_HTTP},
    {"--resolve", 0, "H:P:ADDR", F | B, CALL(set_resolve), {"use ADDR for host H and port P", NULL}, CLI_G_DNS},
    {"--dns-servers", 0, "LIST", F | B, CALL(set_dns_servers), {"DNS servers instead of /etc/resolv.conf", NULL}, CLI_G_DNS},
    {"--proxy", 'x', "URL", F | B, STRING(proxy),
     {"http://, https://, socks4://, socks4a://, socks5:// or\n"
      "socks5h://[user:pass@]host[:port] (docs/PROXIES.md);\n"
      "without it, curl's variables (https_proxy, ...)",
      NULL}, CLI_G_PROXY},
    {"--noproxy", 0, "LIST", F | B, STRING(noproxy),
     {"hosts that go direct (',': names or suffixes, '*': all)", NULL}, CLI_G_PROXY},
    {"--connect-timeout", 0, "S", F | B, set_seconds, AT(connect_timeout_ms), 0, 0,
     {"seconds for TCP and TLS (default 30)", NULL}, CLI_G_CONNECTION},
    {"--max-time", 'm', "S", F | B, set_seconds, AT(max_time_ms), 0, 0, {"seconds for the whole request", NULL}, CLI_G_CONNECTION},
    {"--location", 'L', NULL, F | B, FLAG(follow_redirects, 1),
     {"follow redirects (301/302/303 as GET, 307/308 as sent)",
      "follow redirects (the record has final_url and redirects)"}, CLI_G_HTTP, CLI_BOOL},
    {"--max-redirs", 0, "N", F | B, NUMBER(max_redirects, 1, 1000),
     {"at most N redirects (default 20)", "at most N (default 20)"}, CLI_G_HTTP},
    {"--no-keepalive", 0, NULL, F | B, FLAG(no_keepalive, 1),
     {"a new connection for every URL", "a new connection (full TLS handshake) per request"}, CLI_G_CONNECTION},
    {"--profile", 0, "NAME|FILE", F | B, STRING(profile),
     {"the browser to look like (default: the newest Chrome;\n'none': no profile; guise profile list)", NULL}, CLI_G_PROFILE},
    {"--config", 'K', "FILE", F | B, CALL(set_config),
     {"read options from FILE, curl's -K syntax ('-': stdin;\n~/.curlrc is not read)",
      "options from FILE, curl's -K syntax ('-': stdin)"}, CLI_G_OTHER},
    {"--url", 0, "URL", F, CALL(set_url), {"a URL, as an option (config files: url = ...)", NULL}, CLI_G_HTTP},
    {"--keepalive", 0, NULL, F | B, FLAG(no_keepalive, 0), {NULL, NULL}, CLI_G_CONNECTION}, /* curl's */
    {"--help", 'h', NULL, F | B, CALL(set_help), {NULL, NULL}, CLI_G_OTHER},
    /* guise URL */
    {"--request", 'X', "METHOD", F, STRING(method), {"request method (default GET, or POST with data)", NULL}, CLI_G_HTTP},
    {"--header", 'H', "'N: V'", F, CALL(set_header), {"add a header (sent in the order given)", NULL}, CLI_G_HTTP},
    {"--data", 'd', "DATA", F, CALL(set_body_arg),
     {"request body (POST, form-urlencoded); @FILE reads a file\n"
      "(CR and LF left out); several are joined with '&'", NULL}, CLI_G_POST},
    {"--data-ascii", 0, "DATA", F, CALL(set_body_arg), {"the same as -d", NULL}, CLI_G_POST},
    {"--data-binary", 0, "DATA", F, CALL(set_body_arg), {"the same, @FILE's bytes kept as they are", NULL}, CLI_G_POST},
    {"--data-raw", 0, "DATA", F, CALL(set_body_arg), {"the same as -d, '@' not special", NULL}, CLI_G_POST},
    {"--data-urlencode", 0, "DATA", F, CALL(set_body_arg),
     {"content, =content, name=content, @FILE or name@FILE,\nURL-encoded", NULL}, CLI_G_POST},
    {"--json", 0, "DATA", F, CALL(set_body_arg),
     {"JSON body (POST; @FILE reads a file); Content-Type and\nAccept application/json", NULL}, CLI_G_POST},
    {"--form", 'F', "NAME=VALUE", F, CALL(set_body_arg),
     {"a multipart/form-data field: name=value, name=@FILE\n"
      "(;type=T;filename=N), name=<FILE; streamed from the files", NULL}, CLI_G_POST},
    {"--form-string", 0, "NAME=VALUE", F, CALL(set_body_arg), {"a form field whose value is taken as it is", NULL},
     CLI_G_POST},
    {"--upload-file", 'T', "FILE", F, CALL(set_body_arg),
     {"PUT FILE ('-': stdin) to the next URL, streamed; a URL\nending in '/' gets the file's name", NULL},
     CLI_G_UPLOAD},
    {"--get", 'G', NULL, F, CALL(set_body_arg), {"send the -d data in the URL's query, as a GET", NULL}, CLI_G_HTTP,
     CLI_BOOL},
    {"--url-query", 0, "DATA", F, CALL(set_body_arg),
     {"add DATA to each URL's query, read as --data-urlencode\n('+DATA': as it is); with any method", NULL}, CLI_G_HTTP},
    {"--kind", 0, "KIND", F, STRING(kind),
     {"the request a browser would make: navigate, navigate-post,\n"
      "fetch, fetch-same-origin, fetch-no-cors, script, style,\n"
      "image, font, iframe (the profile's set; profiles/FORMAT.md)", NULL}, CLI_G_PROFILE},
    {"--referer", 'e', "URL", F, STRING(referer),
     {"the page making the request: Sec-Fetch-Site from it,\n"
      "Referer as strict-origin-when-cross-origin sends it", NULL}, CLI_G_HTTP},
    {"--include", 'i', NULL, F, FLAG(include, 1), {"print the response head before the body", NULL}, CLI_G_OUTPUT, CLI_BOOL},
    {"--head", 'I', NULL, F, CALL(set_head), {"HEAD request, print the head", NULL}, CLI_G_HTTP, CLI_BOOL},
    {"--silent", 's', NULL, F, FLAG(silent, 1), {"nothing on stderr (-S: errors still shown)", NULL}, CLI_G_VERBOSE, CLI_BOOL},
    {"--verbose", 'v', NULL, F, FLAG(verbose, 1), {"request, response, TLS and timings on stderr", NULL}, CLI_G_VERBOSE, CLI_BOOL},
    {"--raw", 0, NULL, F, FLAG(raw, 1), {"do not decode Content-Encoding", NULL}, CLI_G_HTTP, CLI_BOOL},
    {"--cookie", 'b', "DATA|FILE", F, CALL(set_cookie),
     {"send cookies ('a=1; b=2'), or start the jar from a\nNetscape cookie FILE; either turns the jar on", NULL}, CLI_G_HTTP},
    {"--cookie-jar", 'c', "FILE", F, CALL(set_cookie_jar), {"keep cookies and write them to FILE at the end", NULL}, CLI_G_HTTP},
    {"--parallel", 'Z', NULL, F, FLAG(parallel, 1), {"all URLs at once", NULL}, CLI_G_CONNECTION, CLI_BOOL},
    {"--write-out", 'w', "FORMAT", F, STRING(write_out),
     {"print FORMAT at the end: %{http_code} %{http_version}\n"
      "%{time_total} %{time_connect} %{time_appconnect}\n"
      "%{time_starttransfer} %{size_download} %{remote_ip}\n"
      "%{errormsg} %{errorname} %{num_connects}\n"
      "%{local_port} %{url} %{url_effective}\n"
      "%{num_redirects} %{exitcode} %{response_code}\n"
      "%{filename_effective} \\n",
      NULL}, CLI_G_OUTPUT},
    /* guise URL: failure, output, progress, retries (cmd_fetch.c) */
    {"--fail", 'f', NULL, F, FLAG(fail, 1), {"an HTTP status of 400 or more is exit 22, no body", NULL}, CLI_G_HTTP, CLI_BOOL},
    {"--fail-with-body", 0, NULL, F, FLAG(fail_with_body, 1),
     {"an HTTP status of 400 or more is exit 22, body written", NULL}, CLI_G_HTTP, CLI_BOOL},
    {"--show-error", 'S', NULL, F, FLAG(show_error, 1), {"with -s: error messages still shown", NULL}, CLI_G_VERBOSE, CLI_BOOL},
    {"--user-agent", 'A', "UA", F, STRING(user_agent),
     {"User-Agent in place of the profile's (\"\": none)", NULL}, CLI_G_HTTP},
    {"--user", 'u', "USER:PASS", F, STRING(user), {"Basic credentials for the server", NULL}, CLI_G_AUTH},
    {"--proxy-user", 0, "USER:PASS", F, STRING(proxy_user), {"credentials for the proxy", NULL}, CLI_G_AUTH},
    {"--compressed", 0, NULL, F, FLAG(compressed, 1),
     {"accepted for curl: bodies are always decoded", NULL}, CLI_G_HTTP, CLI_BOOL},
    {"--remote-name", 'O', NULL, F, CALL(set_remote_name),
     {"write the next URL's body to a file named from it", NULL}, CLI_G_OUTPUT, CLI_BOOL},
    {"--remote-name-all", 0, NULL, F, FLAG(remote_name, 1),
     {"-O for every URL", NULL}, CLI_G_OUTPUT, CLI_BOOL},
    {"--range", 'r', "RANGE", F, STRING(range),
     {"ask for bytes RANGE only (Range: bytes=RANGE): 0-99, 100-, -500", NULL}, CLI_G_HTTP},
    {"--proto", 0, "PROTOCOLS", F, STRING(proto),
     {"the schemes the URLs may have, curl's syntax ('=https',\n'-http', 'all'); another is exit 1", NULL},
     CLI_G_CONNECTION},
    {"--oauth2-bearer", 0, "TOKEN", F, STRING(oauth2_bearer),
     {"Authorization: Bearer TOKEN", NULL}, CLI_G_AUTH},
    {"--no-progress-meter", 0, NULL, F, FLAG(no_progress_meter, 1),
     {"no progress meter (messages still shown)", NULL}, CLI_G_VERBOSE},
    {"--globoff", 'g', NULL, F, FLAG(globoff, 1),
     {"no URL globbing: {} and [] are sent as written", NULL}, CLI_G_OTHER, CLI_BOOL},
    {"--parallel-max", 0, "N", F, NUMBER(parallel_max, 1, 300),
     {"with -Z: at most N transfers at once (default: all)", NULL}, CLI_G_CONNECTION},
    {"--remote-header-name", 'J', NULL, F, FLAG(remote_header_name, 1),
     {"with -O: the Content-Disposition file name (no folders)", NULL}, CLI_G_OUTPUT, CLI_BOOL},
    {"--create-dirs", 0, NULL, F, FLAG(create_dirs, 1), {"make the folders -o names", NULL}, CLI_G_OUTPUT, CLI_BOOL},
    {"--continue-at", 'C', "OFFSET", F, STRING(continue_at),
     {"resume at OFFSET ('-': the size of the -o/-O file)", NULL}, CLI_G_OUTPUT},
    {"--max-filesize", 0, "BYTES", F, STRING(max_filesize),
     {"a longer body is exit 63 (k, M, G suffixes)", NULL}, CLI_G_CONNECTION},
    {"--dump-header", 'D', "FILE", F, STRING(dump_header),
     {"write the response heads to FILE ('-': stdout)", NULL}, CLI_G_OUTPUT},
    {"--trace-ascii", 0, "FILE", F, STRING(trace_ascii),
     {"what was sent and received, curl's layout, to FILE", NULL}, CLI_G_VERBOSE},
    {"--progress-bar", '#', NULL, F, FLAG(progress_bar, 1), {"a bar instead of the progress meter", NULL}, CLI_G_VERBOSE, CLI_BOOL},
    {"--retry", 0, "N", F, NUMBER(retry, 0, 10000),
     {"retry transient failures N times (timeouts,\n408/429/500/502/503/504)", NULL}, CLI_G_CONNECTION},
    {"--retry-delay", 0, "S", F, STRING(retry_delay),
     {"seconds between retries (default: 1, doubling)", NULL}, CLI_G_CONNECTION},
    {"--retry-max-time", 0, "S", F, STRING(retry_max_time),
     {"no retry after S seconds", NULL}, CLI_G_CONNECTION},
    {"--proto-redir", 0, "PROTOCOLS", F, STRING(proto_redir),
     {"the schemes a redirect may go to, --proto's syntax\n(default: http, https); another is exit 1", NULL},
     CLI_G_CONNECTION},
    {"--no-buffer", 'N', NULL, F, FLAG(no_buffer, 1),
     {"write each piece of the body as it comes (streams)", NULL}, CLI_G_OUTPUT},
    {"--buffer", 0, NULL, F, FLAG(no_buffer, 0), {NULL, NULL}, CLI_G_OUTPUT}, /* curl's --no-buffer is --buffer off */
    {"--fail-early", 0, NULL, F, FLAG(fail_early, 1),
     {"with several URLs: stop at the first that fails", NULL}, CLI_G_CONNECTION, CLI_BOOL},
    {"--stderr", 0, "FILE", F, STRING(stderr_to), {"messages to FILE ('-': stdout)", NULL}, CLI_G_VERBOSE},
    {"--netrc", 'n', NULL, F, FLAG(netrc, 1),
     {"the login of each URL's host from ~/.netrc (Basic)", NULL}, CLI_G_AUTH, CLI_BOOL},
    {"--netrc-optional", 0, NULL, F, FLAG(netrc, 1), {"the same as -n (a missing file is no error)", NULL}, CLI_G_AUTH,
     CLI_BOOL},
    {"--netrc-file", 0, "FILE", F, STRING(netrc_file), {"-n with FILE instead of ~/.netrc", NULL}, CLI_G_AUTH},
    {"--basic", 0, NULL, F, FLAG(ignored, 1), {"accepted for curl: -u is Basic", NULL}, CLI_G_AUTH, CLI_BOOL},
    {"--disable", 'q', NULL, F, FLAG(ignored, 1),
     {"accepted for curl: guise reads no ~/.curlrc", NULL}, CLI_G_OTHER, CLI_BOOL},
    {"--retry-all-errors", 0, NULL, F, FLAG(retry_all_errors, 1),
     {"with --retry: every failure is transient (with -f, any\nstatus of 400 or more)", NULL}, CLI_G_CONNECTION,
     CLI_BOOL},
    {"--output-dir", 0, "DIR", F, STRING(output_dir),
     {"the -o, -O and -J files go into DIR (--create-dirs: made)", NULL}, CLI_G_OUTPUT},
    {"--retry-connrefused", 0, NULL, F, FLAG(retry_connrefused, 1),
     {"with --retry: a refused connection is transient", NULL}, CLI_G_CONNECTION, CLI_BOOL},
    /* guise URL: network and TLS (fetch_net.c) */
    {"--ipv4", '4', NULL, F, FLAG(ip_version, 4), {"IPv4 addresses only", NULL}, CLI_G_CONNECTION},
    {"--ipv6", '6', NULL, F, FLAG(ip_version, 6), {"IPv6 addresses only", NULL}, CLI_G_CONNECTION},
    {"--interface", 0, "NAME|ADDR", F, STRING(interface),
     {"connect from this interface (SO_BINDTODEVICE, else\nits address) or this local IP address", NULL},
     CLI_G_CONNECTION},
    {"--local-port", 0, "N[-M]", F, STRING(local_port),
     {"connect from local port N, or the first free of N-M", NULL}, CLI_G_CONNECTION},
    {"--limit-rate", 0, "RATE", F, STRING(limit_rate),
     {"read at most RATE bytes a second (k, M, G: 1024s)", NULL}, CLI_G_CONNECTION},
    {"--cert", 'E', "FILE[:PASS]", F, STRING(cert),
     {"client certificate (PEM; the key too unless --key),\nsent when the server asks; the hello is unchanged", NULL},
     CLI_G_TLS},
    {"--key", 0, "FILE", F, STRING(key), {"the client certificate's private key (PEM)", NULL}, CLI_G_TLS},
    {"--cert-type", 0, "PEM", F, STRING(cert_type), {"PEM (the only type taken)", NULL}, CLI_G_TLS},
    {"--key-type", 0, "PEM", F, STRING(key_type), {"PEM (the only type taken)", NULL}, CLI_G_TLS},
    {"--pass", 0, "PHRASE", F, STRING(key_pass), {"passphrase of the private key", NULL}, CLI_G_TLS},
    {"--tlsv1", '1', NULL, F, FLAG(tls_min, 10), {NULL, NULL}, CLI_G_TLS},
    {"--tlsv1.0", 0, NULL, F, FLAG(tls_min, 10), {NULL, NULL}, CLI_G_TLS},
    {"--tlsv1.1", 0, NULL, F, FLAG(tls_min, 11), {NULL, NULL}, CLI_G_TLS},
    {"--tlsv1.2", 0, NULL, F, FLAG(tls_min, 12),
     {"TLS 1.2 or later (--tlsv1, --tlsv1.0, 1.1, 1.3 alike);\n"
      "with a profile, only where its hello agrees", NULL}, CLI_G_TLS},
    {"--tlsv1.3", 0, NULL, F, FLAG(tls_min, 13), {NULL, NULL}, CLI_G_TLS},
    {"--tls-max", 0, "VERSION", F, STRING(tls_max),
     {"at most this TLS version (1.0 to 1.3, default);\nwith a profile, only where its hello agrees", NULL},
     CLI_G_TLS},
    {"--ciphers", 0, "LIST", F, STRING(ciphers),
     {"TLS 1.2 cipher suites (OpenSSL names); --profile none only", NULL}, CLI_G_TLS},
    {"--curves", 0, "LIST", F, STRING(curves), {"key exchange groups; --profile none only", NULL}, CLI_G_TLS},
    {"--tls13-ciphers", 0, "LIST", F, STRING(tls13_ciphers), {NULL, NULL}, CLI_G_TLS},
    /* guise batch */
    {"--resume", 0, NULL, B, FLAG(resume, 1),
     {NULL, "with -o: skip ids already in FILE, repair a torn last line"}, CLI_G_BATCH},
    {"--workers", 0, "N", B, NUMBER(batch.workers, 1, 256), {NULL, "threads (default: one per core)"}, CLI_G_BATCH},
    {"--concurrency", 'c', "N", B, NUMBER(batch.concurrency, 1, 1000000),
     {NULL, "requests in flight (default 256)"}, CLI_G_BATCH},
    {"--per-host", 0, "N", B, NUMBER(batch.per_host, 1, 1000000),
     {NULL, "requests in flight per host (default: no limit)"}, CLI_G_BATCH},
    {"--rate", 0, "R", B, set_rate, AT(batch.rate), 0, 0, {NULL, "requests started per second (default: no limit)"}, CLI_G_BATCH},
    {"--per-host-rate", 0, "R", B, set_rate, AT(batch.per_host_rate), 0, 0, {NULL, "per host"}, CLI_G_BATCH},
    {"--retries", 0, "N", B, NUMBER(batch.retries, 0, 100),
     {NULL, "more attempts for connect errors, resets, refused\nstreams, 429/503 (Retry-After honoured); default 2"}, CLI_G_BATCH},
    {"--connections-per-host", 0, "N", B, NUMBER(batch.connections_per_host, 1, 10000),
     {NULL, "pool connections per origin (default 6)"}, CLI_G_BATCH},
    {"--streams", 0, "N", B, NUMBER(batch.streams_per_connection, 1, 1000),
     {NULL, "HTTP/2 streams per connection (default 100)"}, CLI_G_BATCH},
    {"--coalesce-ms", 0, "N", B, set_coalesce, AT(batch.h2_coalesce_ms), 0, 60000,
     {NULL, "HTTP/2: new requests for fewer than half of a busy\nconnection's streams wait up to N ms to go out\n"
            "together (default 1; 0: each written at once)"}, CLI_G_BATCH},
    {"--cookies", 0, NULL, B, FLAG(batch.cookies, 1),
     {NULL, "keep cookies: a jar per worker, shared by the jobs\nof its hosts (jobs of one host share a worker)"}, CLI_G_BATCH},
    {"--include-headers", 0, NULL, B, FLAG(batch.include_headers, 1), {NULL, "response headers in the record"}, CLI_G_BATCH},
    {"--body", 0, "MODE", B, CALL(set_body), {NULL, "discard (default), text, base64"}, CLI_G_BATCH},
    {"--body-dir", 0, "DIR", B, CALL(set_body_dir), {NULL, "each body to a file in DIR (named from the id)"}, CLI_G_BATCH},
    {"--stats-json", 0, "FILE", B, STRING(stats_json), {NULL, "the final counters as JSON"}, CLI_G_BATCH},
    {"--progress", 0, "WHEN", B, CALL(set_progress),
     {NULL, "auto (default: live on a terminal, a line every 5 s\notherwise), always, never"}, CLI_G_BATCH},
    /* guise batch redis://... (docs/REDIS.md) */
    {"--group", 0, "NAME", B, STRING(redis_group),
     {NULL, "jobs from redis://: the consumer group (default guise)"}, CLI_G_BATCH},
    {"--consumer", 0, "NAME", B, STRING(redis_consumer),
     {NULL, "jobs from redis://: this worker's name in the group\n(default: host name-pid)"}, CLI_G_BATCH},
    {"--claim-idle", 0, "S", B, set_seconds, AT(redis_claim_idle_ms), 0, 0,
     {NULL, "jobs from redis://: take over the jobs another worker\nleft pending S seconds (default 300)"},
     CLI_G_BATCH},
    {"--follow", 0, NULL, B, FLAG(redis_follow, 1),
     {NULL, "jobs from redis://: wait for more when the stream is\ndrained (default: end)"}, CLI_G_BATCH},
    {"--status", 0, NULL, B, FLAG(redis_status, 1),
     {NULL, "with redis://...STREAM: print the group's totals, end"}, CLI_G_BATCH},
};

#pragma GCC diagnostic pop

#undef F
#undef B

/* ---- groups ---------------------------------------------------------------------- */

static const char *const group_names[CLI_G_COUNT] = {
    [CLI_G_OTHER] = "misc",         [CLI_G_HTTP] = "http",   [CLI_G_POST] = "post",
    [CLI_G_UPLOAD] = "upload",      [CLI_G_OUTPUT] = "output", [CLI_G_VERBOSE] = "verbose",
    [CLI_G_CONNECTION] = "connection", [CLI_G_DNS] = "dns",  [CLI_G_TLS] = "tls",
    [CLI_G_PROXY] = "proxy",        [CLI_G_AUTH] = "auth",   [CLI_G_PROFILE] = "profile",
    [CLI_G_BATCH] = "batch",
};

const char *cli_group_name(unsigned group) {
  return group < CLI_G_COUNT ? group_names[group] : NULL;
}

/* ---- the commands ---------------------------------------------------------------- */

/* Whether |url| starts with a scheme and "://" (RFC 3986 3.1: ALPHA *( ALPHA /
 * DIGIT / "+" / "-" / "." )). */
static int has_scheme(const char *url) {
  const char *p = url;
  if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return 0;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
         *p == '-' || *p == '.')
    p++;
  return strncmp(p, "://", 3) == 0;
}

static int fetch_operand(cli_settings *s, const char *word) {
  if (s->n_operands == s->max_operands) {
    fprintf(stderr, "%s: at most %zu URLs (guise batch takes more)\n", s->prog, s->max_operands);
    return EXIT_USAGE;
  }
  /* A URL without a scheme is http://, as curl takes it ("example.test:8080/x";
   * curl guesses ftp:// etc. from a host's prefix, guise speaks only HTTP). */
  if (!has_scheme(word)) {
    size_t len = strlen(word);
    char *with = cli_keep(s, NULL, 7 + len);
    if (with == NULL) return EXIT_USAGE;
    memcpy(with, "http://", 7);
    memcpy(with + 7, word, len + 1);
    word = with;
  }
  s->operands[s->n_operands++] = word;
  return CLI_NEXT;
}

static int batch_operand(cli_settings *s, const char *word) {
  if (s->n_operands) {
    fprintf(stderr, "%s: one input (got %s and %s)\n", s->prog, s->operands[0], word);
    return EXIT_USAGE;
  }
  s->operands[s->n_operands++] = word;
  return CLI_NEXT;
}

static const char *const fetch_order[] = {
    "--request", "--header", "--data", "--data-ascii", "--data-binary", "--data-raw", "--data-urlencode",
    "--json", "--form", "--form-string", "--upload-file", "--get", "--url-query", "--output", "--include", "--head", "--silent",
    "--verbose", "--insecure", "--cacert", "--proxy-insecure", "--proxy-cacert", "--http1.1", "--http2",
    "--http3", "--http3-only", "--resolve", "--dns-servers", "--proxy", "--noproxy", "--connect-timeout", "--max-time", "--raw",
    "--cookie", "--cookie-jar", "--location", "--max-redirs", "--parallel", "--no-keepalive", "--profile",
    "--write-out", "--fail", "--fail-with-body", "--show-error", "--user-agent", "--user", "--proxy-user",
    "--compressed", "--remote-name", "--remote-name-all", "--range", "--proto", "--oauth2-bearer",
    "--no-progress-meter", "--globoff", "--parallel-max", "--remote-header-name", "--create-dirs", "--continue-at",
    "--max-filesize", "--dump-header", "--trace-ascii", "--progress-bar", "--retry", "--retry-delay",
    "--retry-max-time", "--proto-redir", "--no-buffer", "--fail-early", "--stderr", "--netrc", "--netrc-optional", "--netrc-file", "--basic",
    "--disable", "--retry-all-errors", "--output-dir", "--retry-connrefused", "--ipv4", "--ipv6", "--interface",
    "--local-port", "--limit-rate", "--cert", "--key", "--cert-type", "--key-type", "--pass", "--tlsv1.2",
    "--tls-max", "--ciphers", "--curves", "--url", "--config", NULL};

const cli_command cli_fetch_command = {
    CLI_FETCH, "guise",
    "usage: guise [options] URL...\n"
    "  several URLs go one after the other on one client: a connection to the\n"
    "  same place is reused (-Z: all at once, HTTP/2 streams side by side)\n",
    fetch_order, 27,
    "Exit status: curl's where curl has one (docs/CLI.md): 0 ok, 2 usage, 3 profile,\n"
    "5/6 proxy/host not found, 7 connect, 18 partial body, 22 -f, 23 write, 28 timeout,\n"
    "35 TLS, 47 redirects, 52 empty reply, 56 receive, 60 certificate, 63 size, 97 SOCKS.\n",
    fetch_operand};

static const char *const batch_order[] = {
    "--output", "--resume", "--workers", "--concurrency", "--per-host", "--rate", "--per-host-rate",
    "--retries", "--connections-per-host", "--streams", "--no-keepalive", "--coalesce-ms", "--location",
    "--max-redirs", "--cookies", "--include-headers", "--body", "--body-dir", "--stats-json", "--progress",
    "--group", "--consumer", "--claim-idle", "--follow", "--status", "--config", NULL};

const cli_command cli_batch_command = {
    CLI_BATCH, "guise batch",
    "usage: guise batch [options] [FILE|-]\n"
    "  input: one URL per line, or one JSON job per line: {\"id\", \"url\", \"method\",\n"
    "  \"headers\", \"body\" | \"body_base64\", \"profile\", \"proxy\", \"meta\"}; '-' or none: stdin\n",
    batch_order, 29,
    "  -k, --cacert, --proxy-insecure, --proxy-cacert, --profile, --http1.1, --http2,\n"
    "  --http3, --http3-only,\n"
    "  -x/--proxy, --noproxy, --resolve, --dns-servers, --connect-timeout S, --max-time S\n"
    "  (per attempt, from when it has a connection; default 60): as for one request\n"
    "  (guise --help all; -k and --cacert are for the origins, the --proxy-* for an\n"
    "  https:// proxy)\n"
    "Exit status: 0 when every job has its record (failures included), 2 usage,\n"
    "1 input or output errors, 130 interrupted (run again with --resume).\n",
    batch_operand};

/* ---- lookup, parsing, help ------------------------------------------------------- */

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

const cli_option *cli_find_long(const cli_command *cmd, const char *name, size_t len) {
  for (size_t i = 0; i < N_OPTIONS; i++)
    if ((options[i].commands & cmd->id) && strncmp(options[i].name, name, len) == 0 &&
        options[i].name[len] == '\0')
      return &options[i];
  return NULL;
}

const cli_option *cli_find_short(const cli_command *cmd, char letter) {
  for (size_t i = 0; letter && i < N_OPTIONS; i++)
    if ((options[i].commands & cmd->id) && options[i].letter == letter) return &options[i];
  return NULL;
}

void cli_settings_init(cli_settings *s, const cli_command *cmd) {
  memset(s, 0, sizeof(*s));
  s->command = cmd->id;
  s->prog = cmd->prog;
  guise_batch_options_init(&s->batch);
}

void cli_settings_free(cli_settings *s) {
  while (kept) {
    struct cli_string *next = kept->next;
    free(kept);
    kept = next;
  }
  for (size_t i = 0; i < s->n_headers; i++) free(s->header_copies[i]);
  s->n_headers = 0;
  free(s->body);
  s->body = NULL;
  if (s->body_state_free) s->body_state_free(s->body_state);
  s->body_state = NULL;
  s->body_state_free = NULL;
}

int cli_negated(const char *as) { return as != NULL && strncmp(as, "--no-", 5) == 0; }


char *cli_keep(cli_settings *s, const char *p, size_t len) {
  (void)s;
  if (len > (size_t)-1 - sizeof(struct cli_string) - 1) return NULL;
  struct cli_string *k = malloc(sizeof(*k) + len + 1);
  if (k == NULL) return NULL;
  if (p) memcpy(k->text, p, len);
  k->text[len] = '\0';
  k->next = kept;
  kept = k;
  return k->text;
}

/* Edit distance of two short names (|a|, |b| at most 64 bytes): for "did you mean". */
static size_t distance(const char *a, size_t la, const char *b, size_t lb) {
  size_t row[65];
  if (la > 64 || lb > 64) return (size_t)-1;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* "PROG: option WORD: is unknown", the nearest long option of |cmd| when one is
 * near (at most a third of the name wrong). */
static int unknown(const cli_command *cmd, const cli_settings *s, const char *word, size_t len) {
  const cli_option *best = NULL;
  size_t best_d = (size_t)-1;
  for (size_t i = 0; i < N_OPTIONS; i++) {
    if (!(options[i].commands & cmd->id)) continue;
    size_t d = distance(word, len, options[i].name, strlen(options[i].name));
    if (d < best_d) best_d = d, best = &options[i];
  }
  /* near: at most one edit in four characters (--locaton, --insecur), so that a
   * short name is not "corrected" to an unrelated one */
  int near = best && best_d <= (len > 4 ? len / 4 : 1);
  /* A prefix of one option only ("--verb"): curl 7.88 takes it, undocumented;
   * guise names the option instead (docs/CLI.md, "Where guise differs"). */
  const cli_option *prefix_of = NULL;
  size_t n_prefix = 0;
  for (size_t i = 0; len > 3 && word[1] == '-' && i < N_OPTIONS; i++)
    if ((options[i].commands & cmd->id) && strlen(options[i].name) > len &&
        strncmp(options[i].name, word, len) == 0)
      prefix_of = &options[i], n_prefix++;
  if (n_prefix == 1) best = prefix_of, near = 1;
  /* the other command's option: say so rather than guess */
  const cli_command *other = cmd->id == CLI_FETCH ? &cli_batch_command : &cli_fetch_command;
  const cli_option *theirs = len > 2 && word[1] == '-' ? cli_find_long(other, word, len)
                             : len == 2                ? cli_find_short(other, word[1])
                                                       : NULL;
  if (theirs) {
    fprintf(stderr, "%s: option %.*s: is one of %s's, not %s's (%s --help)\n", s->prog, (int)len, word,
            other->prog, cmd->id == CLI_FETCH ? "guise URL" : cmd->prog, cmd->prog);
    return EXIT_USAGE;
  }
  char shown[4 * 200 + 1]; /* the word may hold control characters: escaped, cut at 200 bytes */
  guise_escape_text(word, len > 200 ? 200 : len, shown, sizeof(shown));
  fprintf(stderr, "%s: option %s: is unknown%s%s%s (%s --help%s)\n", s->prog, shown,
          near ? ", did you mean " : "", near ? best->name : "", near ? "?" : "", cmd->prog,
          cmd->id == CLI_FETCH ? " all" : "");
  return EXIT_USAGE;
}

static int needs_value(const cli_settings *s, const char *as) {
  fprintf(stderr, "%s: %s needs a value\n", s->prog, as);
  return EXIT_USAGE;
}

/* "--name", "--name=value", "--no-name". */
static int apply_long(const cli_command *cmd, cli_settings *s, const char *word, const char *next, int *used) {
  const char *eq = strchr(word, '=');
  size_t len = eq ? (size_t)(eq - word) : strlen(word);
  const cli_option *o = cli_find_long(cmd, word, len);
  int negated = 0;
  if (o == NULL && len > 5 && strncmp(word, "--no-", 5) == 0) {
    char name[80];
    if (len - 3 < sizeof(name)) {
      snprintf(name, sizeof(name), "--%.*s", (int)(len - 5), word + 5);
      o = cli_find_long(cmd, name, len - 3);
    }
    if (o && !o->negatable) {
      fprintf(stderr, "%s: option %.*s: used '--no-' for an option that is not a boolean\n", s->prog, (int)len, word);
      return EXIT_USAGE;
    }
    negated = o != NULL;
  }
  if (o == NULL) return unknown(cmd, s, word, len);
  if (o->arg == NULL) {
    if (eq) {
      cli_usage_error(s->prog, o->name, eq + 1, "takes no value");
      return EXIT_USAGE;
    }
    if (negated && o->set == set_flag) {
      *FIELD(s, o, int) = 0;
      return CLI_NEXT;
    }
    return o->set(s, o, negated ? word : o->name, NULL);
  }
  if (eq) return o->set(s, o, o->name, eq + 1);
  if (next == NULL) return needs_value(s, o->name);
  *used = 1;
  return o->set(s, o, o->name, next);
}

/* "-x", "-xVALUE", "-sSL", "-sSo FILE": letters that take no value, then at
 * most one that does, last: its value is the rest of the word or the next word. */
static int apply_short(const cli_command *cmd, cli_settings *s, const char *word, const char *next, int *used) {
  for (const char *p = word + 1; *p; p++) {
    const cli_option *o = cli_find_short(cmd, *p);
    if (o == NULL) {
      if (p == word + 1 && p[1] == '\0') return unknown(cmd, s, word, 2);
      char shown[4 * 200 + 1];
      size_t len = strlen(word);
      guise_escape_text(word, len > 200 ? 200 : len, shown, sizeof(shown));
      char letter[8];
      guise_escape_text(p, 1, letter, sizeof(letter));
      fprintf(stderr, "%s: option %s: -%s is unknown (%s --help%s)\n", s->prog, shown, letter, cmd->prog,
              cmd->id == CLI_FETCH ? " all" : "");
      return EXIT_USAGE;
    }
    char as[3] = {'-', *p, '\0'};
    if (o->arg == NULL) {
      int r = o->set(s, o, as, NULL);
      if (r != CLI_NEXT) return r;
      continue;
    }
    if (p[1]) return o->set(s, o, as, p + 1);
    if (next == NULL) return needs_value(s, as);
    *used = 1;
    return o->set(s, o, as, next);
  }
  return CLI_NEXT;
}

int cli_apply(const cli_command *cmd, cli_settings *s, const char *word, const char *next, int *used_next) {
  *used_next = 0;
  return word[1] == '-' ? apply_long(cmd, s, word, next, used_next) : apply_short(cmd, s, word, next, used_next);
}

int cli_parse(const cli_command *cmd, cli_settings *s, int argc, char **argv) {
  cli_numopt_command(cmd->prog);
  int options_end = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    /* An option: a word that starts with '-', but every word after "--" is an
     * operand, as with getopt, and so is "-" alone for guise batch (standard
     * input); guise URL refuses "-" as curl does ("option -: is unknown"). */
    if (!options_end && a[0] == '-' && (a[1] != '\0' || cmd->id != CLI_BATCH)) {
      if (strcmp(a, "--") == 0) {
        options_end = 1;
        continue;
      }
      if (a[1] == '\0') return unknown(cmd, s, a, 1);
      int used = 0;
      int r = cli_apply(cmd, s, a, i + 1 < argc ? argv[i + 1] : NULL, &used);
      if (r != CLI_NEXT) return r;
      i += used;
      continue;
    }
    int r = cmd->operand(s, a);
    if (r != CLI_NEXT) return r;
  }
  return CLI_NEXT;
}

/* One option's lines of --help: "  -x, --name ARG" and |text| at |column|. */
static void print_option(const cli_option *o, const char *text, int column, const char *tag, FILE *to) {
  char left[80];
  if (o->letter)
    snprintf(left, sizeof(left), "  -%c, %s%s%s", o->letter, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
  else
    snprintf(left, sizeof(left), "      %s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
  fputs(left, to);
  /* the text at the column; a name too long for it is followed by three spaces */
  int len = (int)strlen(left);
  fprintf(to, "%*s", len < column ? column - len : 3, "");
  for (const char *p = text;;) {
    const char *nl = strchr(p, '\n');
    if (nl == NULL) {
      fprintf(to, "%s%s\n", p, tag);
      break;
    }
    fprintf(to, "%.*s\n%*s", (int)(nl - p), p, column, "");
    p = nl + 1;
  }
}

void cli_usage(const cli_command *cmd, FILE *to) {
  int which = cmd->id == CLI_BATCH;
  fputs(cmd->head, to);
  for (const char *const *name = cmd->order; *name; name++) {
    const cli_option *o = cli_find_long(cmd, *name, strlen(*name));
    if (o == NULL || o->help[which] == NULL) continue;
    print_option(o, o->help[which], cmd->column, "", to);
  }
  fputs(cmd->foot, to);
}

const cli_option *cli_option_at(size_t i) { return i < N_OPTIONS ? &options[i] : NULL; }

static int by_name(const void *a, const void *b) {
  return strcmp((*(const cli_option *const *)a)->name, (*(const cli_option *const *)b)->name);
}

int cli_usage_groups(const char *group, FILE *to) {
  unsigned only = CLI_G_COUNT;
  if (group) {
    for (unsigned g = 0; g < CLI_G_COUNT; g++)
      if (strcmp(group, group_names[g]) == 0) only = g;
    if (only == CLI_G_COUNT) return -1;
  }
  /* Each group's options by name (curl's order), the text of guise URL's --help
   * or, for guise batch's own, of guise batch's; options with no text (aliases
   * such as --http2-prior-knowledge) are left out, as from each command's --help. */
  const cli_option *sorted[N_OPTIONS];
  for (size_t i = 0; i < N_OPTIONS; i++) sorted[i] = &options[i];
  qsort(sorted, N_OPTIONS, sizeof(sorted[0]), by_name);
  if (group == NULL)
    fputs("usage: guise [options] URL...   and   guise batch [options] [FILE|-]\n"
          "Every option, by group (guise --help GROUP: one group). [batch]: guise batch's\n"
          "own; guise batch --help lists which of the others it takes.\n", to);
  for (unsigned g = 0; g < CLI_G_COUNT; g++) {
    if (only != CLI_G_COUNT && g != only) continue;
    int any = 0;
    for (size_t i = 0; i < N_OPTIONS; i++) {
      const cli_option *o = sorted[i];
      const char *text = o->help[0] ? o->help[0] : o->help[1];
      if (o->group != g || text == NULL) continue;
      if (!any) fprintf(to, "%s%s:\n", group == NULL ? "\n" : "", group_names[g]);
      any = 1;
      const char *tag = !(o->commands & CLI_FETCH) ? " [batch]" : "";
      print_option(o, text, 30, tag, to);
    }
  }
  return 0;
}

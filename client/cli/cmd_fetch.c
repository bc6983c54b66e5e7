/* cmd_fetch.c — `guise [options] URL...`: requests, curl-like, on one client (a
 * connection is reused by the next URL, as curl does). The options come from
 * options.c (the table guise batch shares). Uses only guise.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "cli.h"
#include "guise.h"
#include "options.h"

/* Caps on what the command line may carry. */
#define FETCH_MAX_RESOLVE 64
#define FETCH_MAX_URLS 1000        /* more is a job for guise batch */

typedef struct fetch_state {
  FILE *out;
  int include, head_only, verbose, silent;
  const char *write_out;
  int status;
} fetch_state;

static int exit_code(int err) {
  static const struct { const char *cls; int code; } map[] = {
      {"ok", 0},      {"usage", 2},     {"dns", 6},     {"connect", 7},  {"tls", 35},
      {"certificate", 60}, {"proxy", 97}, {"http", 8}, {"decoding", 61}, {"profile", 3},
      {"timeout", 28}, {"resource", 1},
  };
  const char *cls = guise_err_class(err);
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(map[i].cls, cls) == 0) return map[i].code;
  return 1;
}

/* Writes |s|, text a server chose, with its control characters and invalid
 * UTF-8 escaped (guise_escape_text): an ESC or a CR from a header value must
 * not reach the terminal. */
static void put_remote(FILE *to, const char *s) {
  char small[512];
  size_t len = strlen(s);
  char *buf = len < sizeof(small) / 4 ? small : malloc(len * 4 + 1);
  if (buf == NULL) {
    fputs("[out of memory]", to);
    return;
  }
  guise_escape_text(s, len, buf, buf == small ? sizeof(small) : len * 4 + 1);
  fputs(buf, to);
  if (buf != small) free(buf);
}

static int on_headers(void *ud, int status, const guise_header *h, size_t n) {
  fetch_state *f = ud;
  f->status = status;
  if (f->verbose) {
    fprintf(stderr, "< %d\n", status);
    for (size_t i = 0; i < n; i++) {
      fputs("< ", stderr);
      put_remote(stderr, h[i].name);
      fputs(": ", stderr);
      put_remote(stderr, h[i].value);
      fputc('\n', stderr);
    }
    fprintf(stderr, "<\n");
  }
  if (f->include || f->head_only) {
    fprintf(f->out, "status: %d\r\n", status);
    for (size_t i = 0; i < n; i++) {
      put_remote(f->out, h[i].name);
      fputs(": ", f->out);
      put_remote(f->out, h[i].value);
      fputs("\r\n", f->out);
    }
    fputs("\r\n", f->out);
  }
  return 0;
}

static int on_body(void *ud, const unsigned char *p, size_t n) {
  fetch_state *f = ud;
  return fwrite(p, 1, n, f->out) == n ? 0 : -1;
}

static void write_out(const char *fmt, const char *url, int err, const guise_response_info *info) {
  char shown[8200]; /* a URL, its password hidden (guise_url_redact); longer ones are cut */
  char remote_ip[64] = "";
  const char *colon = strrchr(info->remote, ':');
  if (colon) {
    size_t len = (size_t)(colon - info->remote);
    if (len >= sizeof(remote_ip)) len = sizeof(remote_ip) - 1;
    memcpy(remote_ip, info->remote, len);
    remote_ip[len] = '\0';
  }
  for (const char *p = fmt; *p; p++) {
    if (p[0] == '\\' && p[1] == 'n') {
      putchar('\n');
      p++;
      continue;
    }
    if (p[0] != '%' || p[1] != '{') {
      putchar(*p);
      continue;
    }
    const char *end = strchr(p, '}');
    if (end == NULL) {
      fputs(p, stdout);
      break;
    }
    size_t len = (size_t)(end - p - 2);
    const char *k = p + 2;
#define IS(name) (len == strlen(name) && strncmp(k, name, len) == 0)
    if (IS("http_code")) printf("%03d", info->status);
    else if (IS("http_version")) printf("%s", strcmp(info->http_version, "HTTP/2") == 0 ? "2" : info->http_version[0] ? "1.1" : "0");
    else if (IS("time_total")) printf("%.6f", info->total_ms / 1000);
    else if (IS("time_namelookup")) printf("%.6f", info->dns_ms / 1000);
    else if (IS("time_connect")) printf("%.6f", info->connect_ms / 1000);
    else if (IS("time_appconnect")) printf("%.6f", info->tls_ms / 1000);
    else if (IS("time_starttransfer")) printf("%.6f", info->ttfb_ms / 1000);
    else if (IS("size_download")) printf("%llu", info->body_bytes);
    else if (IS("remote_ip")) printf("%s", remote_ip);
    else if (IS("errormsg")) printf("%s", err ? guise_strerror(err) : "");
    else if (IS("errorname")) printf("%s", err ? guise_err_name(err) : "");
    else if (IS("num_connects")) printf("%d", info->http_version[0] && !info->reused ? 1 : 0);
    else if (IS("local_port")) printf("%s", strrchr(info->local, ':') ? strrchr(info->local, ':') + 1 : "");
    else if (IS("url")) printf("%s", guise_url_redact(url, shown, sizeof(shown)));
    else if (IS("url_effective"))
      printf("%s", info->effective_url && info->effective_url[0] ? info->effective_url
                                                                 : guise_url_redact(url, shown, sizeof(shown)));
    else if (IS("num_redirects")) printf("%zu", info->n_redirects);
    else fwrite(p, 1, (size_t)(end - p + 1), stdout);
#undef IS
    p = end;
  }
  fflush(stdout);
}

/* One URL of the command line. */
typedef struct fetch_one {
  fetch_state *f;
  const char *url;
  int err;
  int done;
} fetch_one;

static int one_headers(void *ud, int status, const guise_header *h, size_t n) {
  return on_headers(((fetch_one *)ud)->f, status, h, n);
}

static int one_body(void *ud, const unsigned char *p, size_t n) {
  return on_body(((fetch_one *)ud)->f, p, n);
}

static void on_complete(void *ud, int err, const guise_response_info *info) {
  fetch_one *one = ud;
  fetch_state *f = one->f;
  one->err = err;
  one->done = 1;
  if (f->verbose) {
    for (size_t i = 0; i < info->n_redirects; i++)
      fprintf(stderr, "* redirect %zu: %d from %s\n", i + 1, info->redirect_statuses[i], info->redirect_urls[i]);
    if (info->tls_version[0])
      fprintf(stderr, "* %s, %s, %s, ALPN %s\n", info->tls_version, info->tls_cipher,
              info->tls_group, info->alpn[0] ? info->alpn : "none");
    fprintf(stderr, "* %s from %s: dns %.1f ms, connect %.1f ms, tls %.1f ms, first byte %.1f ms, "
            "total %.1f ms, %llu bytes (%llu on the wire)\n",
            info->http_version[0] ? info->http_version : "no response",
            info->remote[0] ? info->remote : "-", info->dns_ms, info->connect_ms, info->tls_ms,
            info->ttfb_ms, info->total_ms, info->body_bytes, info->wire_body_bytes);
    fprintf(stderr, "* connection %s%s%s\n", info->local[0] ? info->local : "-",
            info->reused ? ", reused" : "", info->http_version[0] ? "" : " (none)");
  }
  if (err && !f->silent) {
    /* The detail may quote the server (a Location, a status line): escaped. */
    fprintf(stderr, "guise: %s (%s)%s", guise_strerror(err), guise_err_name(err),
            info->error_detail[0] ? ": " : "");
    put_remote(stderr, info->error_detail);
    fputc('\n', stderr);
  }
  if (f->write_out) write_out(f->write_out, one->url, err, info);
}

/* Runs |loop| until the |n| requests of |ones| have ended. */
static void run_until_done(uv_loop_t *loop, const fetch_one *ones, size_t n) {
  for (size_t i = 0; i < n; i++)
    while (!ones[i].done && uv_run(loop, UV_RUN_ONCE) != 0) {
    }
}

static void cookie_warning(void *arg, const char *what) {
  const fetch_state *f = arg;
  /* A refused Set-Cookie is the server's business: -v only. A cookie-file line
   * skipped is the user's: always (but -s). It may quote a Set-Cookie the
   * server sent: escaped. */
  int from_file = strncmp(what, "cookie file ", 12) == 0;
  if (from_file ? f->silent : !f->verbose) return;
  fputs(from_file ? "guise: warning: " : "* ", stderr);
  put_remote(stderr, what);
  fputc('\n', stderr);
}

/* A usage error about |arg| (an option's value from the command line, which may
 * hold control characters): escaped. */
static void usage_error(const char *opt, const char *arg, const char *why) {
  cli_usage_error("guise", opt, arg, why);
}

/* A proxy URL for messages: its password written as *** (guise_url_redact, the
 * library's one rule: "http://user:***@host:port"), into |out|. */
static void url_for_message(const char *u, char *out, size_t cap) {
  const char *r = guise_url_redact(u, out, cap);
  if (r != out) snprintf(out, cap, "%s", r); /* no password: |u| itself came back */
}

/* Whether the host of |u| has bytes outside ASCII (an internationalised name
 * given as Unicode). */
static int host_not_ascii(const char *u) {
  const char *start = strstr(u, "://");
  start = start ? start + 3 : u;
  size_t auth_len = strcspn(start, "/?#");
  for (size_t i = 0; i < auth_len; i++)
    if ((unsigned char)start[i] >= 0x80) return 1;
  return 0;
}

/* guise_client_new with |co| only to see whether it takes it; the client is
 * closed at once. */
static int client_takes(const guise_client_options *co) {
  /* On a loop of its own: running the command's loop here would run the
   * requests already started on it (to their end, or a connection nobody waits
   * for to its connect timeout). */
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return GUISE_E_NOMEM;
  guise_client *cl = NULL;
  int e = guise_client_new((struct uv_loop_s *)&loop, co, &cl);
  if (cl) guise_client_close(cl);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return e;
}

/* guise_client_new refused |co| with |e|: finds the option at fault, one at a
 * time, so that the message names it (the library's code alone cannot say
 * whether a --resolve entry or the proxy URL was wrong). */
static void explain_client_error(const guise_client_options *co, int e) {
  guise_client_options one;
  char shown[2048];
  if (co->proxy) {
    guise_client_options_init(&one);
    one.proxy = co->proxy;
    int pe = client_takes(&one);
    if (pe) {
      url_for_message(co->proxy, shown, sizeof(shown));
      usage_error("-x", shown, pe == GUISE_E_USAGE_URL_SCHEME
                                   ? "unsupported proxy scheme (http, https, socks4, socks4a, socks5, socks5h)"
                                   : "malformed proxy URL (scheme://[user:password@]host[:port])");
      return;
    }
  }
  for (size_t i = 0; i < co->n_resolve; i++) {
    guise_client_options_init(&one);
    one.resolve = &co->resolve[i];
    one.n_resolve = 1;
    if (client_takes(&one)) {
      usage_error("--resolve", co->resolve[i], "expected HOST:PORT:ADDR[,ADDR...] with a port from 1 to "
                                               "65535 and IP addresses");
      return;
    }
  }
  if (co->dns_servers) {
    guise_client_options_init(&one);
    one.dns_servers = co->dns_servers;
    if (client_takes(&one)) {
      usage_error("--dns-servers", co->dns_servers, "expected IP[:PORT],... (IPv6 as [IP]:PORT)");
      return;
    }
  }
  if (co->proxy_cafile) {
    guise_client_options_init(&one);
    one.proxy_cafile = co->proxy_cafile;
    if (client_takes(&one)) {
      usage_error("--proxy-cacert", co->proxy_cafile, "cannot read PEM certificates from it");
      return;
    }
  }
  if (co->cookie_file) {
    guise_client_options_init(&one);
    one.cookies = 1;
    one.cookie_file = co->cookie_file;
    if (client_takes(&one)) {
      usage_error("-b", co->cookie_file, "cannot read it as a cookie file");
      return;
    }
  }
  fprintf(stderr, "guise: %s (%s)\n", guise_strerror(e), guise_err_name(e));
}

int cmd_fetch(int argc, char **argv) {
  const char *resolve[FETCH_MAX_RESOLVE];
  const char *urls[FETCH_MAX_URLS];
  cli_settings st;
  cli_settings_init(&st, &cli_fetch_command);
  st.resolve = resolve;
  st.max_resolve = FETCH_MAX_RESOLVE;
  st.operands = urls;
  st.max_operands = FETCH_MAX_URLS;
  guise_file *out_file = NULL; /* -o: a temp file until every transfer succeeded */
  int rc = cli_parse(&cli_fetch_command, &st, argc, argv);
  if (rc != CLI_NEXT) goto out;
  rc = EXIT_USAGE;
  size_t n_urls = st.n_operands;
  if (n_urls == 0) {
    cli_usage(&cli_fetch_command, stderr);
    goto out;
  }
  /* The command line: the request's options, the client's, the command's own. */
  guise_request_options o;
  guise_request_options_init(&o);
  o.method = st.method;
  o.body = st.body;
  o.body_len = st.body_len;
  o.has_body = st.has_body;
  o.kind = st.kind;
  o.referer = st.referer;
  /* -d: a form's body, as curl and a browser's form submission label it,
   * unless -H gave a Content-Type (or removed it with an empty value). The
   * profile's kind may place the field (a "content-type" in its list). */
  if (st.has_body) {
    int own = 0;
    for (size_t i = 0; i < st.n_headers; i++) own |= !strcasecmp(st.headers[i].name, "content-type");
    if (!own && st.n_headers < CLI_MAX_HEADERS)
      st.headers[st.n_headers++] = (guise_header){"Content-Type", "application/x-www-form-urlencoded"};
  }
  o.insecure = st.insecure;
  o.cafile = st.cafile;
  o.http_version = st.http_version;
  o.proxy = st.proxy;
  o.dns_servers = st.dns_servers;
  o.connect_timeout_ms = st.connect_timeout_ms;
  o.max_time_ms = st.max_time_ms;
  o.profile = st.profile;
  o.raw = st.raw;
  o.follow_redirects = st.follow_redirects;
  o.max_redirects = st.max_redirects;
  guise_client_options co;
  guise_client_options_init(&co);
  co.proxy_insecure = st.proxy_insecure;
  co.proxy_cafile = st.proxy_cafile;
  co.cookie_file = st.cookie_file;
  co.cookies = st.cookies;
  fetch_state f = {.out = stdout,
                   .include = st.include,
                   .head_only = st.head_only,
                   .verbose = st.verbose,
                   .silent = st.silent,
                   .write_out = st.write_out};
  const char *output = st.output, *cookie_jar_out = st.cookie_jar, *noproxy = st.noproxy;
  const guise_header *headers = st.headers;
  size_t n_headers = st.n_headers;
  const char **resolve_list = st.resolve;
  size_t n_resolve = st.n_resolve;
  int parallel = st.parallel, no_keepalive = st.no_keepalive;
  if (output) {
    /* Not FILE itself: a temp file beside it, renamed over it at success, so a
     * failed request leaves the old FILE as it was (docs/CLI.md). */
    /* A folder we may not write (the temp file): FILE itself, in place, as curl. */
    f.out = guise_file_open(output, 0666, GUISE_FILE_SYNC | GUISE_FILE_IN_PLACE, &out_file) == 0
                ? guise_file_stream(out_file)
                : NULL;
    if (f.out && f.verbose && guise_file_in_place(out_file))
      fprintf(stderr, "* -o: no temp file can be made in the folder; writing the file in place\n");
    if (f.out == NULL) {
      fprintf(stderr, "guise: -o %s: %s\n", output, strerror(errno));
      rc = exit_code(GUISE_E_USAGE_FILE);
      goto out;
    }
  }
  if (o.profile == NULL) o.profile = guise_profile_default();
  if (strcmp(o.profile, "none") != 0) {
    char perr[1024];
    int pe = guise_profile_check_syntax(o.profile, perr, sizeof(perr));
    if (pe) {
      fprintf(stderr, "guise: %s\n", perr);
      rc = exit_code(pe);
      goto out;
    }
  }
  o.headers = headers;
  o.n_headers = n_headers;
  int explicit_proxy = o.proxy != NULL;
  /* -x is the client's proxy (guise_client_new checks it, and a bad one is
   * then named as the proxy's fault, not the URL's); requests take it. */
  co.proxy = o.proxy;
  o.proxy = NULL;
  /* Connection settings belong to the client; the rest to each request. */
  co.resolve = resolve_list;
  co.n_resolve = n_resolve;
  co.dns_servers = o.dns_servers;
  co.no_reuse = no_keepalive;
  co.on_cookie_warning = cookie_warning;
  co.cookie_warning_arg = &f;
  o.dns_servers = NULL;
  uv_loop_t loop;
  guise_client *cl = NULL;
  if (uv_loop_init(&loop) != 0) goto out;
  int e = guise_client_new((struct uv_loop_s *)&loop, &co, &cl);
  fetch_one *ones = e ? NULL : calloc(n_urls, sizeof(*ones));
  if (e || ones == NULL) {
    if (!f.silent && e) explain_client_error(&co, e);
    else if (!f.silent) fprintf(stderr, "guise: %s (%s)\n", guise_strerror(GUISE_E_NOMEM),
                                guise_err_name(GUISE_E_NOMEM));
    rc = exit_code(e ? e : GUISE_E_NOMEM);
    guise_client_close(cl);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    goto out;
  }
  guise_callbacks cb = {one_headers, f.head_only ? NULL : one_body, on_complete};
  int last_err = 0;
  char url_shown[8200]; /* a URL, its password hidden (guise_url_redact); longer ones are cut */
  for (size_t i = 0; i < n_urls; i++) {
    ones[i] = (fetch_one){&f, urls[i], 0, 0};
    o.url = urls[i];
    if (!explicit_proxy) o.proxy = cli_proxy_from_env(urls[i], noproxy);
    if (f.verbose) {
      fprintf(stderr, "> %s %s\n", o.method ? o.method : o.has_body ? "POST" : "GET",
              guise_url_redact(urls[i], url_shown, sizeof(url_shown)));
      for (size_t k = 0; k < n_headers; k++)
        fprintf(stderr, "> %s: %s\n", headers[k].name, headers[k].value);
      fprintf(stderr, ">\n");
    }
    e = guise_client_request(cl, &o, &cb, &ones[i]);
    if (e) {
      /* Refused before it started: a usage error. Say which part was wrong:
       * a proxy from the environment, a host name in Unicode, or the URL. */
      guise_client_options po;
      guise_client_options_init(&po);
      po.proxy = o.proxy;
      if (f.silent) {
      } else if (o.proxy && *o.proxy && client_takes(&po) != 0) {
        char shown[2048];
        url_for_message(o.proxy, shown, sizeof(shown));
        usage_error("the proxy from the environment (https_proxy, http_proxy, all_proxy)", shown,
                    "malformed or unsupported proxy URL");
      } else if (e == GUISE_E_USAGE_URL_MALFORMED && host_not_ascii(urls[i])) {
        usage_error("URL", guise_url_redact(urls[i], url_shown, sizeof(url_shown)),
                    "the host is not a valid internationalised domain name (IDNA, UTS #46)");
      } else {
        fprintf(stderr, "guise: %s: %s (%s)\n", guise_url_redact(urls[i], url_shown, sizeof(url_shown)),
                guise_strerror(e), guise_err_name(e));
      }
      ones[i].err = e;
      ones[i].done = 1;
    }
    /* Until the request is over — not until the loop is idle: a connection still
     * being made that no request waits for any more (the request hit --max-time
     * first) would keep the command waiting until its connect timeout. */
    if (!parallel) run_until_done(&loop, &ones[i], 1);
  }
  run_until_done(&loop, ones, n_urls);
  if (cookie_jar_out && guise_client_save_cookies(cl, cookie_jar_out) != 0) {
    fprintf(stderr, "guise: -c %s: %s\n", cookie_jar_out, strerror(errno));
    last_err = GUISE_E_USAGE_FILE;
  }
  guise_client_close(cl);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  /* curl's rule: the status of the last transfer that failed. */
  for (size_t i = 0; i < n_urls; i++)
    if (ones[i].err) last_err = ones[i].err;
  free(ones);
  if (output && last_err == 0) {
    int ce = guise_file_commit(out_file); /* frees it either way */
    out_file = NULL;
    if (ce != 0) {
      fprintf(stderr, "guise: -o %s: %s\n", output, strerror(errno));
      last_err = GUISE_E_USAGE_FILE;
    }
  }
  rc = exit_code(last_err);
out:
  guise_file_abort(out_file); /* not committed: the temp file goes, FILE stays */
  cli_settings_free(&st);
  return rc;
}

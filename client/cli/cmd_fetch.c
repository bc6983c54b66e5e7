/* cmd_fetch.c — `guise [options] URL...`: requests, curl-like, on one client (a
 * connection is reused by the next URL, as curl does). Uses only guise.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "cli.h"
#include "guise.h"
#include "numopt.h"

/* Caps on what the command line may carry. */
#define FETCH_MAX_HEADERS 100      /* the engine's limit */
#define FETCH_MAX_RESOLVE 64
#define FETCH_MAX_URLS 1000        /* more is a job for guise batch */
#define FETCH_MAX_BODY (64u << 20) /* --data-binary @file: a request body, not a transfer */

static const char usage[] =
    "usage: guise [options] URL...\n"
    "  several URLs go one after the other on one client: a connection to the\n"
    "  same place is reused (-Z: all at once, HTTP/2 streams side by side)\n"
    "  -X, --request METHOD     request method (default GET, or POST with data)\n"
    "  -H, --header 'N: V'      add a header (sent in the order given)\n"
    "  -d, --data DATA          request body (POST); @FILE reads a file\n"
    "      --data-binary DATA   the same, bytes kept as they are\n"
    "  -o, --output FILE        write the body to FILE\n"
    "  -i, --include            print the response head before the body\n"
    "  -I, --head               HEAD request, print the head\n"
    "  -s, --silent             no error messages\n"
    "  -v, --verbose            request, response, TLS and timings on stderr\n"
    "  -k, --insecure           do not check the server's certificate (not the proxy's)\n"
    "      --cacert FILE        trust anchors instead of the system bundle\n"
    "      --proxy-insecure     do not check an https:// proxy's certificate\n"
    "      --proxy-cacert FILE  trust anchors for an https:// proxy\n"
    "      --http1.1            HTTP/1.1 only\n"
    "      --http2              HTTP/2 only (prior knowledge for http://)\n"
    "      --resolve H:P:ADDR   use ADDR for host H and port P\n"
    "      --dns-servers LIST   DNS servers instead of /etc/resolv.conf\n"
    "  -x, --proxy URL          http://, https://, socks4://, socks4a://, socks5:// or\n"
    "                           socks5h://[user:pass@]host[:port] (docs/PROXIES.md);\n"
    "                           without it, curl's variables (https_proxy, ...)\n"
    "      --noproxy LIST       hosts that go direct (',': names or suffixes, '*': all)\n"
    "      --connect-timeout S  seconds for TCP and TLS (default 30)\n"
    "      --max-time S         seconds for the whole request\n"
    "      --raw                do not decode Content-Encoding\n"
    "  -b, --cookie DATA|FILE   send cookies ('a=1; b=2'), or start the jar from a\n"
    "                           Netscape cookie FILE; either turns the jar on\n"
    "  -c, --cookie-jar FILE    keep cookies and write them to FILE at the end\n"
    "  -L, --location           follow redirects (301/302/303 as GET, 307/308 as sent)\n"
    "      --max-redirs N       at most N redirects (default 20)\n"
    "  -Z, --parallel           all URLs at once\n"
    "      --no-keepalive       a new connection for every URL\n"
    "      --profile NAME|FILE  the browser to look like (default: the newest Chrome;\n"
    "                           'none': no profile; guise profile list)\n"
    "  -w, --write-out FORMAT   print FORMAT at the end: %{http_code} %{http_version}\n"
    "                           %{time_total} %{time_connect} %{time_appconnect}\n"
    "                           %{time_starttransfer} %{size_download} %{remote_ip}\n"
    "                           %{errormsg} %{errorname} %{num_connects}\n"
    "                           %{local_port} %{url} %{url_effective}\n"
    "                           %{num_redirects} \\n\n"
    "Exit status by error class (docs/CLI.md): 0 ok, 2 usage, 6 DNS, 7 connect,\n"
    "35 TLS, 60 certificate, 97 proxy, 8 HTTP, 61 decoding, 3 profile, 28 timeout,\n"
    "1 other.\n";

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

/* Reads @FILE for --data / --data-binary, bounded. */
static unsigned char *read_file(const char *path, size_t *len) {
  FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (fp == NULL) return NULL;
  unsigned char *buf = malloc(FETCH_MAX_BODY);
  size_t n = buf ? fread(buf, 1, FETCH_MAX_BODY, fp) : 0;
  int too_big = buf && n == FETCH_MAX_BODY && fgetc(fp) != EOF;
  if (fp != stdin) fclose(fp);
  if (buf == NULL || too_big) {
    free(buf);
    errno = too_big ? EFBIG : ENOMEM;
    return NULL;
  }
  *len = n;
  return buf;
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

/* Prints a usage error about |arg| (an option's value from the command line,
 * which may hold control characters): escaped. */
static void usage_error(const char *opt, const char *arg, const char *why) {
  fprintf(stderr, "guise: %s '", opt);
  put_remote(stderr, arg);
  fprintf(stderr, "': %s\n", why);
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

/* Seconds for --connect-timeout and --max-time: finite, from 1 ms to a day
 * (numopt.c: "nan" and "inf" are refused rather than converted). */
static int seconds_ms(const char *opt, const char *v, unsigned *out) {
  return cli_seconds_ms(opt, v, 86400, out);
}

int cmd_fetch(int argc, char **argv) {
  guise_request_options o;
  guise_request_options_init(&o);
  fetch_state f = {.out = stdout};
  guise_header headers[FETCH_MAX_HEADERS];
  char *header_copies[FETCH_MAX_HEADERS];
  size_t n_headers = 0;
  const char *resolve[FETCH_MAX_RESOLVE];
  size_t n_resolve = 0;
  const char *urls[FETCH_MAX_URLS];
  size_t n_urls = 0;
  const char *output = NULL;
  guise_file *out_file = NULL; /* -o: a temp file until every transfer succeeded */
  unsigned char *body = NULL;
  int rc = EXIT_USAGE;
  int parallel = 0, no_keepalive = 0;
  const char *cookie_jar_out = NULL;
  const char *noproxy = NULL;
  guise_client_options co;
  guise_client_options_init(&co);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(s, l) (strcmp(a, s) == 0 || strcmp(a, l) == 0)
#define NEED_VALUE                                                  \
  do {                                                              \
    if (v == NULL) {                                                \
      fprintf(stderr, "guise: %s needs a value\n", a);              \
      goto out;                                                     \
    }                                                               \
    i++;                                                            \
  } while (0)
    if (OPT("-X", "--request")) {
      NEED_VALUE;
      o.method = v;
    } else if (OPT("-H", "--header")) {
      NEED_VALUE;
      const char *colon = strchr(v, ':');
      if (colon == NULL || colon == v || n_headers == FETCH_MAX_HEADERS) {
        fprintf(stderr, "guise: -H '%s': expected 'Name: value'\n", v);
        goto out;
      }
      char *copy = strdup(v);
      if (copy == NULL) goto out;
      copy[colon - v] = '\0';
      const char *value = copy + (colon - v) + 1;
      while (*value == ' ' || *value == '\t') value++;
      size_t at;
      const char *why = header_problem(copy, value, &at);
      if (why) {
        usage_error(a, v, why);
        free(copy);
        goto out;
      }
      header_copies[n_headers] = copy;
      headers[n_headers++] = (guise_header){copy, value};
    } else if (OPT("-d", "--data") || strcmp(a, "--data-binary") == 0) {
      NEED_VALUE;
      free(body);
      body = NULL;
      size_t len = 0;
      if (v[0] == '@') {
        body = read_file(v + 1, &len);
        if (body == NULL) {
          fprintf(stderr, "guise: %s %s: %s\n", a, v, strerror(errno));
          rc = exit_code(GUISE_E_USAGE_FILE);
          goto out;
        }
      } else {
        len = strlen(v);
        body = (unsigned char *)strdup(v);
        if (body == NULL) goto out;
      }
      o.body = body;
      o.body_len = len;
      o.has_body = 1;
    } else if (OPT("-o", "--output")) {
      NEED_VALUE;
      output = v;
    } else if (OPT("-i", "--include")) {
      f.include = 1;
    } else if (OPT("-I", "--head")) {
      f.head_only = 1;
      o.method = "HEAD";
    } else if (OPT("-s", "--silent")) {
      f.silent = 1;
    } else if (OPT("-v", "--verbose")) {
      f.verbose = 1;
    } else if (OPT("-k", "--insecure")) {
      o.insecure = 1;
    } else if (strcmp(a, "--cacert") == 0) {
      NEED_VALUE;
      o.cafile = v;
    } else if (strcmp(a, "--proxy-insecure") == 0) {
      co.proxy_insecure = 1;
    } else if (strcmp(a, "--proxy-cacert") == 0) {
      NEED_VALUE;
      co.proxy_cafile = v;
    } else if (strcmp(a, "--http1.1") == 0) {
      o.http_version = 1;
    } else if (strcmp(a, "--http2") == 0 || strcmp(a, "--http2-prior-knowledge") == 0) {
      o.http_version = 2;
    } else if (strcmp(a, "--resolve") == 0) {
      NEED_VALUE;
      if (n_resolve == FETCH_MAX_RESOLVE) goto out;
      resolve[n_resolve++] = v;
    } else if (OPT("-x", "--proxy")) {
      NEED_VALUE;
      o.proxy = v;
    } else if (strcmp(a, "--noproxy") == 0) {
      NEED_VALUE;
      noproxy = v;
    } else if (strcmp(a, "--dns-servers") == 0) {
      NEED_VALUE;
      char dns_why[200]; /* names the bad entry, escaped */
      if (guise_dns_servers_check(v, dns_why, sizeof(dns_why))) {
        fprintf(stderr, "guise: --dns-servers: %s\n", dns_why);
        goto out;
      }
      o.dns_servers = v;
    } else if (strcmp(a, "--connect-timeout") == 0) {
      NEED_VALUE;
      if (seconds_ms(a, v, &o.connect_timeout_ms)) goto out;
    } else if (OPT("-m", "--max-time")) {
      NEED_VALUE;
      if (seconds_ms(a, v, &o.max_time_ms)) goto out;
    } else if (strcmp(a, "--profile") == 0) {
      NEED_VALUE;
      o.profile = v;
    } else if (strcmp(a, "--raw") == 0) {
      o.raw = 1;
    } else if (OPT("-w", "--write-out")) {
      NEED_VALUE;
      f.write_out = v;
    } else if (OPT("-b", "--cookie")) {
      NEED_VALUE;
      /* curl's rule: with a '=' it is the cookies themselves, else a file */
      if (strchr(v, '=')) {
        size_t at;
        const char *why = header_problem("Cookie", v, &at);
        if (why) {
          usage_error(a, v, why);
          goto out;
        }
        if (n_headers == FETCH_MAX_HEADERS) goto out;
        char *copy = strdup(v);
        if (copy == NULL) goto out;
        header_copies[n_headers] = copy;
        headers[n_headers++] = (guise_header){"Cookie", copy};
      } else {
        co.cookie_file = v;
      }
      co.cookies = 1;
    } else if (OPT("-c", "--cookie-jar")) {
      NEED_VALUE;
      cookie_jar_out = v;
      co.cookies = 1;
    } else if (OPT("-L", "--location")) {
      o.follow_redirects = 1;
    } else if (strcmp(a, "--max-redirs") == 0) {
      NEED_VALUE;
      long long mr = cli_number(a, v, 1, 1000);
      if (mr < 0) goto out;
      o.max_redirects = (unsigned)mr;
    } else if (OPT("-Z", "--parallel")) {
      parallel = 1;
    } else if (strcmp(a, "--no-keepalive") == 0) {
      no_keepalive = 1;
    } else if (OPT("-h", "--help")) {
      fputs(usage, stdout);
      rc = EXIT_OK;
      goto out;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "guise: unknown option %s (guise --help)\n", a);
      goto out;
    } else if (n_urls < FETCH_MAX_URLS) {
      urls[n_urls++] = a;
    } else {
      fprintf(stderr, "guise: at most %d URLs (guise batch takes more)\n", FETCH_MAX_URLS);
      goto out;
    }
#undef OPT
#undef NEED_VALUE
  }
  if (n_urls == 0) {
    fputs(usage, stderr);
    goto out;
  }
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
  co.resolve = resolve;
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
                    "internationalised host names are not supported; use the "
                                    "punycode form (xn--...)");
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
  for (size_t i = 0; i < n_headers; i++) free(header_copies[i]);
  free(body);
  return rc;
}

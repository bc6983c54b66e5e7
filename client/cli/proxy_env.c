/*
 * proxy_env.c — proxies from the environment, as curl reads them: http_proxy
 * (lowercase only: HTTP_PROXY can be set by a CGI request's Proxy header) for
 * http://, HTTPS_PROXY / https_proxy for https://, then ALL_PROXY / all_proxy;
 * NO_PROXY / no_proxy (comma-separated names, domain suffixes, "*") and
 * --noproxy exempt hosts.
 *
 * Loopback destinations (localhost, 127.0.0.0/8, ::1) never take a proxy from
 * the environment — Go's net/http rule (ProxyFromEnvironment), and what keeps
 * the project's tests and benchmarks on loopback whatever the machine has set.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char *env2(const char *a, const char *b) {
  const char *v = getenv(a);
  if ((v == NULL || *v == '\0') && b) v = getenv(b);
  return v && *v ? v : NULL;
}

/* The host of |url| into |out| (lowercased, brackets dropped). 0 or -1. */
static int url_host_of(const char *url, char *out, size_t cap, int *https) {
  const char *p = strstr(url, "://");
  if (p == NULL) return -1;
  *https = (size_t)(p - url) == 5 && strncasecmp(url, "https", 5) == 0;
  p += 3;
  size_t n = strcspn(p, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < n; i++)
    if (p[i] == '@') at = p + i;
  if (at) {
    n -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  size_t h;
  if (n && p[0] == '[') {
    const char *rb = memchr(p, ']', n);
    if (rb == NULL) return -1;
    p++;
    h = (size_t)(rb - p);
  } else {
    const char *colon = memchr(p, ':', n);
    h = colon ? (size_t)(colon - p) : n;
  }
  if (h == 0 || h >= cap) return -1;
  for (size_t i = 0; i < h; i++) out[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
  out[h] = '\0';
  return 0;
}

static int is_loopback(const char *h) {
  if (!strcmp(h, "localhost") || !strcmp(h, "::1")) return 1;
  size_t n = strlen(h);
  if (n > 10 && !strcmp(h + n - 10, ".localhost")) return 1;
  return !strncmp(h, "127.", 4) && strspn(h, "0123456789.") == n;
}

/* |host| matches an entry of the comma list |list|: "*", a name, ".suffix" or
 * a name matching as a domain suffix (curl's rule). */
static int listed(const char *list, const char *host) {
  size_t hl = strlen(host);
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    const char *e = p;
    size_t el = n;
    while (el && (*e == ' ' || *e == '\t')) e++, el--;
    while (el && (e[el - 1] == ' ' || e[el - 1] == '\t')) el--;
    if (el == 1 && *e == '*') return 1;
    if (el && *e == '.') e++, el--;
    if (el && el <= hl && strncasecmp(host + hl - el, e, el) == 0 && (el == hl || host[hl - el - 1] == '.'))
      return 1;
    p += n + (p[n] == ',');
  }
  return 0;
}

const char *cli_proxy_from_env(const char *url, const char *noproxy) {
  char host[256];
  int https = 0;
  if (url_host_of(url, host, sizeof(host), &https) != 0 || is_loopback(host)) return NULL;
  if (noproxy && listed(noproxy, host)) return NULL;
  const char *np = env2("NO_PROXY", "no_proxy");
  if (np && listed(np, host)) return NULL;
  const char *v = https ? env2("HTTPS_PROXY", "https_proxy") : env2("http_proxy", NULL);
  return v ? v : env2("ALL_PROXY", "all_proxy");
}

int cli_env_names_proxy(void) {
  static const char *const names[] = {"HTTPS_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const char *v = getenv(names[i]);
    if (v && *v) return 1;
  }
  return 0;
}

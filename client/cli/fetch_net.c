/* fetch_net.c — see fetch_net.h. The option meanings are curl's (its manual
 * page); where a browser profile makes one impossible without changing the
 * hello, the option is refused rather than quietly ignored or applied. */
#include "fetch_net.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "numopt.h"

#define EXIT_USAGE 2

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int refuse(int show, const char *fmt, ...) {
  if (show) {
    va_list ap;
    va_start(ap, fmt);
    fputs("guise: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
  }
  return EXIT_USAGE;
}

/* "N" or "N-M", ports 1 to 65535, M >= N. */
static int parse_ports(const char *v, unsigned *lo, unsigned *hi) {
  char *end;
  if (*v < '0' || *v > '9') return -1;
  unsigned long a = strtoul(v, &end, 10), b = a;
  if (*end == '-') {
    const char *m = end + 1;
    if (*m < '0' || *m > '9') return -1;
    b = strtoul(m, &end, 10);
  }
  if (*end || a < 1 || a > 65535 || b < a || b > 65535) return -1;
  *lo = (unsigned)a;
  *hi = (unsigned)b;
  return 0;
}

/* curl's --limit-rate: bytes a second, k/K, m/M, g/G for 1024-based units. */
static int parse_rate(const char *v, unsigned long long *out) {
  char num[64];
  size_t len = strlen(v);
  if (len == 0 || len >= sizeof(num)) return -1;
  memcpy(num, v, len + 1);
  double unit = 1;
  switch (num[len - 1]) {
    case 'k': case 'K': unit = 1024.0; break;
    case 'm': case 'M': unit = 1024.0 * 1024; break;
    case 'g': case 'G': unit = 1024.0 * 1024 * 1024; break;
    default: break;
  }
  if (unit > 1) num[len - 1] = '\0';
  double d;
  /* 1 byte a second to 1 TiB a second: 0 would be no limit, which is no option. */
  if (cli_double("--limit-rate", num, 1.0 / unit, 1099511627776.0 / unit, 0, &d) != 0) return -2;
  double bytes = d * unit;
  if (bytes < 1) return -1;
  *out = (unsigned long long)bytes;
  return 0;
}

/* "1.0" to "1.3" as the wire's 0x0301 to 0x0304, "default" as 0; -1 for other text. */
static int parse_version(const char *v) {
  if (strcmp(v, "default") == 0) return 0;
  if (strlen(v) == 3 && v[0] == '1' && v[1] == '.' && v[2] >= '0' && v[2] <= '3') return 0x0301 + (v[2] - '0');
  return -1;
}

static const char *version_name(int v) {
  static const char *const names[] = {"1.0", "1.1", "1.2", "1.3"};
  return v >= 0x0301 && v <= 0x0304 ? names[v - 0x0301] : "?";
}

/* curl's --cert FILE[:PASSWORD]: the first ':' not escaped by '\' ends the file
 * name ("\:" is a colon in it). Copies into |file| and |pass| (static: the
 * command runs once). */
static int split_cert(const char *v, const char **file, const char **pass) {
  static char f[4096], p[1024];
  size_t n = 0;
  const char *c = v;
  for (; *c && *c != ':'; c++) {
    if (c[0] == '\\' && c[1] == ':') c++;
    if (n + 1 >= sizeof(f)) return -1;
    f[n++] = *c;
  }
  f[n] = '\0';
  *file = f;
  *pass = NULL;
  if (*c == ':') {
    if (strlen(c + 1) >= sizeof(p)) return -1;
    strcpy(p, c + 1);
    *pass = p;
  }
  return n ? 0 : -1;
}

static const char *tls_min_name(int m) {
  return m == 10 ? "--tlsv1.0" : m == 11 ? "--tlsv1.1" : m == 12 ? "--tlsv1.2" : "--tlsv1.3";
}

int fetch_net_apply(const cli_settings *s, guise_client_options *co, const char *profile, int show) {
  co->ip_version = s->ip_version;
  if (s->interface) {
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, s->interface, ip) == 1 || inet_pton(AF_INET6, s->interface, ip) == 1;
    if (!is_ip && (*s->interface == '\0' || strlen(s->interface) >= 16 || strpbrk(s->interface, "/: \t") != NULL))
      return refuse(show, "--interface %s: expected an interface name (at most 15 characters) or an IP address",
                    s->interface);
    co->interface = s->interface;
  }
  if (s->local_port) {
    unsigned lo, hi;
    if (parse_ports(s->local_port, &lo, &hi) != 0)
      return refuse(show, "--local-port %s: expected N or N-M, ports 1 to 65535", s->local_port);
    co->local_port_min = lo;
    co->local_port_max = hi;
  }
  if (s->limit_rate) {
    int r = parse_rate(s->limit_rate, &co->max_recv_rate);
    if (r == -2) return EXIT_USAGE; /* cli_double said why */
    if (r != 0)
      return refuse(show, "--limit-rate %s: expected bytes a second, with k, M or G", s->limit_rate);
  }
  const char *types[2][2] = {{"--cert-type", s->cert_type}, {"--key-type", s->key_type}};
  for (int i = 0; i < 2; i++)
    if (types[i][1] && strcasecmp(types[i][1], "PEM") != 0)
      return refuse(show, "%s %s: only PEM is taken", types[i][0], types[i][1]);
  if (s->key && !s->cert) return refuse(show, "--key needs --cert");
  if (s->cert) {
    const char *file, *pass;
    if (split_cert(s->cert, &file, &pass) != 0) return refuse(show, "--cert %s: expected FILE[:PASSWORD]", s->cert);
    if (s->key_pass) pass = s->key_pass;
    char why[256];
    if (guise_client_cert_check(file, s->key, pass, why, sizeof(why)) != 0)
      return refuse(show, "%s", why);
    co->client_cert = file;
    co->client_key = s->key;
    co->client_key_password = pass;
  }
  if (s->tls13_ciphers)
    return refuse(show, "--tls13-ciphers: not taken: the TLS library (BoringSSL) has a fixed TLS 1.3 suite list");
  int max = 0;
  if (s->tls_max && (max = parse_version(s->tls_max)) < 0)
    return refuse(show, "--tls-max %s: expected 1.0, 1.1, 1.2, 1.3 or default", s->tls_max);
  int min = s->tls_min ? 0x0301 + (s->tls_min - 10) : 0;
  if (min && max && max < min)
    return refuse(show, "%s with --tls-max %s: no version left", tls_min_name(s->tls_min), s->tls_max);
  int none = profile == NULL || strcmp(profile, "none") == 0;
  if (!none) {
    /* A browser profile's hello is fixed: an option is taken only where the
     * hello already does what it asks (docs/CLI.md). */
    if (s->ciphers || s->curves)
      return refuse(show, "%s: the profile %s fixes its hello's %s; taken with --profile none only",
                    s->ciphers ? "--ciphers" : "--curves", profile, s->ciphers ? "cipher suites" : "groups");
    if (min || max) {
      int lo, hi;
      int e = guise_profile_tls_range(profile, &lo, &hi);
      if (e) return 0; /* the profile's own error comes with the request */
      char range[32];
      snprintf(range, sizeof(range), "%s to %s", version_name(lo), version_name(hi));
      if (min > lo)
        return refuse(show, "%s: the profile %s offers TLS %s; taking the lower versions out would change its hello",
                      tls_min_name(s->tls_min), profile, range);
      if (max && max < hi)
        return refuse(show, "--tls-max %s: the profile %s offers TLS %s; taking the higher versions out would change its hello",
                      s->tls_max, profile, range);
    }
    return 0; /* agrees: the hello is the profile's */
  }
  char why[256];
  if (guise_tls_lists_check(s->ciphers, s->curves, why, sizeof(why)) != 0) return refuse(show, "%s", why);
  co->tls_min_version = min;
  co->tls_max_version = max;
  co->tls_ciphers = s->ciphers;
  co->tls_curves = s->curves;
  return 0;
}

/* cookie.c — the cookie jar (see cookie.h). Section numbers are RFC 6265's. */
#include "cookie.h"
#include "safe_file.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libpsl.h>
#include <openssl/bytestring.h>

struct cookie_jar {
  cookie **c;
  size_t n, cap;
  uint64_t next_created;
};

/* libpsl's newest list: the system's (Debian's publicsuffix package) or the
 * built-in one, whichever is newer. NULL when there is none: Domain attributes
 * are then not trusted (every cookie is host-only). */
static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static void psl_init(void) { psl = psl_latest(NULL); }

cookie_jar *cookie_jar_new(void) { return calloc(1, sizeof(cookie_jar)); }

static void cookie_free(cookie *c) {
  if (c == NULL) return;
  free(c->name);
  free(c->value);
  free(c->domain);
  free(c->path);
  free(c);
}

void cookie_jar_free(cookie_jar *j) {
  if (j == NULL) return;
  for (size_t i = 0; i < j->n; i++) cookie_free(j->c[i]);
  free(j->c);
  free(j);
}

size_t cookie_jar_count(const cookie_jar *j) { return j->n; }
const cookie *cookie_jar_at(const cookie_jar *j, size_t i) { return i < j->n ? j->c[i] : NULL; }

static void jar_remove(cookie_jar *j, size_t i) {
  cookie_free(j->c[i]);
  memmove(&j->c[i], &j->c[i + 1], (j->n - i - 1) * sizeof(j->c[0]));
  j->n--;
}

/* ---- helpers --------------------------------------------------------------------- */

static int is_ip(const char *h) {
  unsigned char buf[16];
  return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

/* 5.1.3 */
static int domain_match(const char *host, const char *domain) {
  if (strcmp(host, domain) == 0) return 1;
  size_t hl = strlen(host), dl = strlen(domain);
  return hl > dl && host[hl - dl - 1] == '.' && strcmp(host + hl - dl, domain) == 0 && !is_ip(host);
}

/* 5.1.4 */
static int path_match(const char *req, const char *cpath) {
  size_t n = strlen(cpath);
  if (strncmp(req, cpath, n) != 0) return 0;
  return req[n] == '\0' || cpath[n - 1] == '/' || req[n] == '/';
}

/* 5.1.4: the directory of the request path. */
static char *default_path(const char *p) {
  if (p == NULL || p[0] != '/') return strdup("/");
  size_t n = strcspn(p, "?#");
  const char *last = NULL;
  for (size_t i = 0; i < n; i++)
    if (p[i] == '/') last = p + i;
  if (last == p) return strdup("/");
  return strndup(p, (size_t)(last - p));
}

/* The next |sep|-separated piece of |in| into |part|, the separator consumed;
 * the rest when there is none. 0 when |in| is empty. */
static int next_piece(CBS *in, uint8_t sep, CBS *part) {
  if (CBS_len(in) == 0) return 0;
  if (CBS_get_until_first(in, part, sep)) return CBS_skip(in, 1);
  return CBS_get_bytes(in, part, CBS_len(in));
}

static const char *trim(const char *s, size_t *n) {
  while (*n && (s[0] == ' ' || s[0] == '\t')) {
    s++;
    (*n)--;
  }
  while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t')) (*n)--;
  return s;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  /* proleptic Gregorian day count from 1970-01-01 */
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int is_delim(unsigned char c) {
  return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
         (c >= 0x7b && c <= 0x7e);
}

/* 5.1.1, the cookie-date algorithm. 0 and *out, or -1. */
static int parse_cookie_date(const char *s, size_t n, int64_t *out) {
  int have_time = 0, have_day = 0, have_month = 0, have_year = 0;
  int hh = 0, mm = 0, ss = 0, day = 0, month = 0, year = 0;
  static const char months[12][4] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
  size_t i = 0;
  while (i < n) {
    while (i < n && is_delim((unsigned char)s[i])) i++;
    size_t st = i;
    while (i < n && !is_delim((unsigned char)s[i])) i++;
    size_t tl = i - st;
    const char *t = s + st;
    if (tl == 0) continue;
    int a, b, c, k;
    char tok[32];
    if (tl >= sizeof(tok)) continue;
    memcpy(tok, t, tl);
    tok[tl] = '\0';
    /* time: 1*2DIGIT ":" 1*2DIGIT ":" 1*2DIGIT ( non-digit *OCTET ) */
    if (!have_time && sscanf(tok, "%2d:%2d:%2d%n", &a, &b, &c, &k) == 3 && (tok[k] < '0' || tok[k] > '9')) {
      have_time = 1, hh = a, mm = b, ss = c;
      continue;
    }
    size_t digits = 0;
    while (digits < tl && tok[digits] >= '0' && tok[digits] <= '9') digits++;
    /* day-of-month: 1*2DIGIT ( non-digit *OCTET ) */
    if (!have_day && digits >= 1 && digits <= 2) {
      have_day = 1, day = atoi(tok);
      continue;
    }
    if (!have_month && tl >= 3) {
      int found = 0;
      for (int m = 0; m < 12; m++)
        if (strncasecmp(tok, months[m], 3) == 0) {
          month = m + 1, found = 1;
          break;
        }
      if (found) {
        have_month = 1;
        continue;
      }
    }
    /* year: 2*4DIGIT ( non-digit *OCTET ) */
    if (!have_year && digits >= 2 && digits <= 4) {
      year = atoi(tok);
      have_year = 1;
      continue;
    }
  }
  if (!have_time || !have_day || !have_month || !have_year) return -1;
  if (year >= 70 && year <= 99) year += 1900;
  else if (year >= 0 && year <= 69) year += 2000;
  if (day < 1 || day > 31 || year < 1601 || hh > 23 || mm > 59 || ss > 59) return -1;
  *out = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
  return 0;
}

/* ---- the rules every cookie obeys -------------------------------------------------- */

/* RFC 6265bis (draft 15) 5.6 step 1: a control character other than HTAB
 * (%x00-08 / %x0A-1F / %x7F) ignores the whole cookie. |tab_ok| 0: HTAB too. */
static int has_ctl(const char *s, size_t n, int tab_ok) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && !(tab_ok && c == '\t')) || c == 0x7f) return 1;
  }
  return 0;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* A domain as stored: lowercase letters, digits, '-', '_', '.', and ':' '[' ']'
 * of an IPv6 literal; no empty label but a trailing root one. */
static int domain_chars_ok(const char *d) {
  size_t n = strlen(d);
  if (n == 0 || n > COOKIE_MAX_DOMAIN || d[0] == '.' || strstr(d, "..")) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = d[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':' ||
          c == '[' || c == ']'))
      return 0;
  }
  return 1;
}

/*
 * The checks a cookie gets wherever it comes from, a Set-Cookie header or a line
 * of a cookie file (one function, so that a file cannot carry what a server could
 * not set): name, value, domain and path characters and sizes, a public suffix
 * as a Domain (5.3 step 5), the __Secure- and __Host- prefixes (6265bis 4.1.3).
 * What depends on the response (the Domain against the host, Secure from http)
 * is checked by cookie_jar_set. NULL, or the reason (static).
 */
static const char *cookie_check(const cookie *c) {
  size_t nl = strlen(c->name), vl = strlen(c->value);
  if (nl == 0) return "an empty cookie name";
  if (is_blank(c->name[0]) || is_blank(c->name[nl - 1])) return "blanks around the cookie name";
  if (nl + vl > COOKIE_MAX_NAME_VALUE) return "name and value longer than 4096 bytes";
  if (has_ctl(c->name, nl, 0) || has_ctl(c->value, vl, 1)) return "a control character in the name or value";
  if (strchr(c->name, ';') || strchr(c->name, '=') || strchr(c->value, ';')) return "';' or '=' where it cannot be";
  if (!domain_chars_ok(c->domain)) return "a malformed domain";
  size_t pl = strlen(c->path);
  if (pl == 0 || c->path[0] != '/' || pl > COOKIE_MAX_PATH || has_ctl(c->path, pl, 0) || strchr(c->path, ';'))
    return "a malformed path";
  if (!c->host_only) {
    pthread_once(&psl_once, psl_init);
    if (psl == NULL) return "Domain given and no public-suffix list";
    if (psl_is_public_suffix2(psl, c->domain, PSL_TYPE_ANY)) return "Domain is a public suffix";
  }
  if (strncmp(c->name, "__Secure-", 9) == 0 && !c->secure) return "__Secure- prefix without Secure";
  if (strncmp(c->name, "__Host-", 7) == 0 && !(c->secure && c->host_only && strcmp(c->path, "/") == 0))
    return "__Host- prefix without Secure, host-only and Path=/";
  return NULL;
}

/* ---- Set-Cookie ------------------------------------------------------------------ */

static int count_domain(const cookie_jar *j, const char *domain) {
  int n = 0;
  for (size_t i = 0; i < j->n; i++) n += strcmp(j->c[i]->domain, domain) == 0;
  return n;
}

/* The oldest cookie of |domain| (or of all when NULL). */
static size_t oldest(const cookie_jar *j, const char *domain) {
  size_t best = j->n;
  for (size_t i = 0; i < j->n; i++)
    if ((domain == NULL || strcmp(j->c[i]->domain, domain) == 0) &&
        (best == j->n || j->c[i]->created < j->c[best]->created))
      best = i;
  return best;
}

/* Stores |c| (taken), replacing the cookie of the same name, domain and path. */
static int jar_store(cookie_jar *j, cookie *c, int64_t now, const char **why) {
  for (size_t i = 0; i < j->n; i++) {
    cookie *o = j->c[i];
    if (strcmp(o->name, c->name) == 0 && strcmp(o->domain, c->domain) == 0 && strcmp(o->path, c->path) == 0) {
      c->created = o->created; /* 5.3 step 11.3 */
      jar_remove(j, i);
      break;
    }
  }
  if (c->expires && c->expires <= now) { /* an expiry in the past deletes */
    cookie_free(c);
    return 1;
  }
  if (count_domain(j, c->domain) >= COOKIE_MAX_PER_DOMAIN) jar_remove(j, oldest(j, c->domain));
  if (j->n >= COOKIE_MAX_TOTAL) jar_remove(j, oldest(j, NULL));
  if (j->n == j->cap) {
    size_t nc = j->cap ? j->cap * 2 : 16;
    cookie **p = realloc(j->c, nc * sizeof(*p));
    if (p == NULL) {
      cookie_free(c);
      *why = "out of memory";
      return 0;
    }
    j->c = p;
    j->cap = nc;
  }
  j->c[j->n++] = c;
  return 1;
}

int cookie_jar_set(cookie_jar *j, const char *host, const char *path, int secure_origin, const char *v,
                   size_t len, int64_t now, const char **why) {
  *why = "";
  if (len > COOKIE_MAX_SET_COOKIE) {
    *why = "Set-Cookie longer than 8192 bytes";
    return 0;
  }
  if (has_ctl(v, len, 1)) {
    *why = "a control character in Set-Cookie";
    return 0;
  }
  /* 5.2 steps 1-5: the name-value pair */
  CBS in, pair, nm;
  CBS_init(&in, (const uint8_t *)v, len);
  if (!next_piece(&in, ';', &pair) || !CBS_get_until_first(&pair, &nm, '=') || !CBS_skip(&pair, 1)) {
    *why = "no '=' in the name-value pair";
    return 0;
  }
  size_t nl = CBS_len(&nm), vl = CBS_len(&pair);
  const char *name = trim((const char *)CBS_data(&nm), &nl);
  const char *value = trim((const char *)CBS_data(&pair), &vl);
  if (nl == 0) {
    *why = "an empty cookie name";
    return 0;
  }
  if (nl + vl > COOKIE_MAX_NAME_VALUE) {
    *why = "name and value longer than 4096 bytes";
    return 0;
  }
  cookie *c = calloc(1, sizeof(*c));
  if (c == NULL || (c->name = strndup(name, nl)) == NULL || (c->value = strndup(value, vl)) == NULL) {
    cookie_free(c);
    *why = "out of memory";
    return 0;
  }
  /* 5.2 step 6: attributes; the last of each kind wins */
  int64_t max_age = 0, expires = 0;
  int have_max_age = 0, have_expires = 0;
  char *domain_attr = NULL, *path_attr = NULL;
  CBS attr, key;
  while (next_piece(&in, ';', &attr)) {
    int has_value = CBS_get_until_first(&attr, &key, '=') && CBS_skip(&attr, 1);
    if (!has_value) key = attr; /* a bare attribute (Secure, HttpOnly) */
    size_t kl = CBS_len(&key), avl = has_value ? CBS_len(&attr) : 0;
    const char *k = trim((const char *)CBS_data(&key), &kl);
    const char *av = has_value ? trim((const char *)CBS_data(&attr), &avl) : "";
    if (kl == 7 && strncasecmp(k, "expires", 7) == 0) {
      int64_t t;
      if (parse_cookie_date(av, avl, &t) == 0) expires = t, have_expires = 1;
    } else if (kl == 7 && strncasecmp(k, "max-age", 7) == 0) {
      /* 5.2.2: a leading '-' or digit, then digits only */
      int ok = avl > 0 && ((av[0] >= '0' && av[0] <= '9') || av[0] == '-');
      for (size_t i = 1; ok && i < avl; i++) ok = av[i] >= '0' && av[i] <= '9';
      if (ok && avl < 19) {
        char tmp[20];
        memcpy(tmp, av, avl);
        tmp[avl] = '\0';
        max_age = strtoll(tmp, NULL, 10), have_max_age = 1;
      } else if (ok) {
        max_age = av[0] == '-' ? -1 : INT64_C(400) * 86400, have_max_age = 1;
      }
    } else if (kl == 6 && strncasecmp(k, "domain", 6) == 0) {
      if (avl && av[0] == '.') av++, avl--;
      if (avl && avl <= COOKIE_MAX_DOMAIN) {
        free(domain_attr);
        domain_attr = strndup(av, avl);
        for (char *d = domain_attr; d && *d; d++)
          if (*d >= 'A' && *d <= 'Z') *d = (char)(*d - 'A' + 'a');
      }
    } else if (kl == 4 && strncasecmp(k, "path", 4) == 0) {
      free(path_attr);
      path_attr = avl && av[0] == '/' && avl <= COOKIE_MAX_PATH ? strndup(av, avl) : NULL;
    } else if (kl == 6 && strncasecmp(k, "secure", 6) == 0) {
      c->secure = 1;
    } else if (kl == 8 && strncasecmp(k, "httponly", 8) == 0) {
      c->http_only = 1;
    } else if (kl == 8 && strncasecmp(k, "samesite", 8) == 0) {
      c->samesite = avl == 4 && !strncasecmp(av, "none", 4)     ? COOKIE_SAMESITE_NONE
                    : avl == 3 && !strncasecmp(av, "lax", 3)    ? COOKIE_SAMESITE_LAX
                    : avl == 6 && !strncasecmp(av, "strict", 6) ? COOKIE_SAMESITE_STRICT
                                                                : COOKIE_SAMESITE_UNSET;
    }
  }
  const char *bad = NULL;
  /* 5.3: storage */
  if (have_max_age) c->expires = max_age <= 0 ? 1 /* the earliest time: deletes */ : now + max_age;
  else if (have_expires) c->expires = expires <= 0 ? 1 : expires;
  /* RFC 6265bis (draft 15) 5.6 step 12: a non-secure origin cannot set Secure. */
  if (c->secure && !secure_origin) bad = "Secure from an http:// origin";
  pthread_once(&psl_once, psl_init);
  if (!bad && domain_attr) {
    if (psl == NULL || psl_is_public_suffix2(psl, domain_attr, PSL_TYPE_ANY)) {
      /* 5.3 step 5: a public suffix is only accepted as the host itself */
      if (strcmp(domain_attr, host) == 0) {
        free(domain_attr);
        domain_attr = NULL;
      } else {
        bad = psl ? "Domain is a public suffix" : "Domain given and no public-suffix list";
      }
    } else if (!domain_match(host, domain_attr)) {
      bad = "Domain does not match the host";
    }
  }
  if (!bad) {
    c->host_only = domain_attr == NULL;
    c->domain = domain_attr ? domain_attr : strdup(host);
    domain_attr = NULL;
    c->path = path_attr ? path_attr : default_path(path);
    path_attr = NULL;
    if (c->domain == NULL || c->path == NULL) bad = "out of memory";
  }
  /* The rules a cookie file's lines obey too (prefixes, RFC 6265bis 4.1.3,
   * included: Secure is only ever set from https, checked above). */
  if (!bad) bad = cookie_check(c);
  free(domain_attr);
  free(path_attr);
  if (bad) {
    *why = bad;
    cookie_free(c);
    return 0;
  }
  c->created = ++j->next_created;
  return jar_store(j, c, now, why);
}

/* ---- Cookie ---------------------------------------------------------------------- */

static int order(const void *a, const void *b) {
  const cookie *x = *(const cookie *const *)a, *y = *(const cookie *const *)b;
  size_t lx = strlen(x->path), ly = strlen(y->path);
  if (lx != ly) return lx > ly ? -1 : 1;
  return x->created < y->created ? -1 : x->created > y->created;
}

size_t cookie_header(const cookie_jar *j, const char *host, const char *path, int secure, int64_t now,
                     char *out, size_t cap) {
  if (cap) out[0] = '\0';
  if (j == NULL || j->n == 0 || cap == 0) return 0;
  const cookie **pick = malloc(j->n * sizeof(*pick));
  if (pick == NULL) return 0;
  size_t m = 0;
  char rpath[COOKIE_MAX_PATH + 1];
  size_t pl = path ? strcspn(path, "?#") : 0;
  if (pl == 0 || pl > COOKIE_MAX_PATH) pl = 1, path = "/";
  memcpy(rpath, path, pl);
  rpath[pl] = '\0';
  for (size_t i = 0; i < j->n; i++) {
    const cookie *c = j->c[i];
    if (c->expires && c->expires <= now) continue;
    if (c->host_only ? strcmp(host, c->domain) != 0 : !domain_match(host, c->domain)) continue;
    if (!path_match(rpath, c->path) || (c->secure && !secure)) continue;
    pick[m++] = c;
  }
  qsort(pick, m, sizeof(*pick), order);
  size_t len = 0;
  for (size_t i = 0; i < m; i++) {
    size_t need = (len ? 2 : 0) + strlen(pick[i]->name) + 1 + strlen(pick[i]->value);
    if (len + need + 1 > cap) continue; /* left out: the header has a cap */
    len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", len ? "; " : "", pick[i]->name, pick[i]->value);
  }
  free(pick);
  return len;
}

/* ---- Netscape files -------------------------------------------------------------- */

size_t cookie_jar_load_netscape(cookie_jar *j, const char *text, size_t len, int64_t now,
                                void (*warn)(void *arg, size_t line, const char *why), void *arg) {
  size_t added = 0, lineno = 0;
  CBS in, ln;
  CBS_init(&in, (const uint8_t *)text, len);
  while (next_piece(&in, '\n', &ln)) {
    lineno++;
    const char *line = (const char *)CBS_data(&ln);
    size_t ll = CBS_len(&ln);
    if (ll && line[ll - 1] == '\r') ll--;
    int http_only = 0;
    if (ll >= 10 && strncmp(line, "#HttpOnly_", 10) == 0) {
      http_only = 1;
      line += 10, ll -= 10;
    } else if (ll == 0 || line[0] == '#') {
      continue;
    }
    const char *f[7];
    size_t fl[7], nf = 0;
    CBS fields, fld;
    CBS_init(&fields, (const uint8_t *)line, ll);
    while (nf < 7 && next_piece(&fields, '\t', &fld)) {
      f[nf] = (const char *)CBS_data(&fld);
      fl[nf] = CBS_len(&fld);
      nf++;
    }
    if (CBS_len(&fields)) nf = 8; /* more than seven fields */
    const char *why = NULL;
    if (nf == 6) f[6] = "", fl[6] = 0, nf = 7; /* an empty value */
    if (nf != 7) why = "not 7 tab-separated fields";
    else if (fl[0] == 0 || fl[0] > COOKIE_MAX_DOMAIN + 1) why = "bad domain";
    else if (fl[2] == 0 || f[2][0] != '/' || fl[2] > COOKIE_MAX_PATH) why = "bad path";
    else if (fl[5] == 0 || fl[5] + fl[6] > COOKIE_MAX_NAME_VALUE) why = "bad name or value length";
    else if (memchr(f[0], '\0', fl[0]) || memchr(f[2], '\0', fl[2]) || memchr(f[5], '\0', fl[5]) ||
             memchr(f[6], '\0', fl[6]))
      why = "a control character in the name or value"; /* a NUL would cut the copies below */
    else if ((fl[1] != 4 || strncasecmp(f[1], "TRUE", 4) != 0) && (fl[1] != 5 || strncasecmp(f[1], "FALSE", 5) != 0))
      why = "include-subdomains is neither TRUE nor FALSE";
    else if ((fl[3] != 4 || strncasecmp(f[3], "TRUE", 4) != 0) && (fl[3] != 5 || strncasecmp(f[3], "FALSE", 5) != 0))
      why = "secure is neither TRUE nor FALSE";
    int64_t exp = 0;
    if (!why) {
      char tmp[24];
      size_t el = fl[4] < sizeof(tmp) - 1 ? fl[4] : sizeof(tmp) - 1;
      memcpy(tmp, f[4], el);
      tmp[el] = '\0';
      char *e2;
      errno = 0;
      exp = strtoll(tmp, &e2, 10);
      if (errno || e2 == tmp || *e2 || exp < 0) why = "bad expiry";
    }
    if (why) {
      if (warn) warn(arg, lineno, why);
      continue;
    }
    if (exp && exp <= now) continue; /* expired: dropped */
    cookie *c = calloc(1, sizeof(*c));
    int sub = fl[1] == 4 && strncasecmp(f[1], "TRUE", 4) == 0;
    const char *dom = f[0];
    size_t dl = fl[0];
    if (dl && dom[0] == '.') dom++, dl--, sub = 1;
    if (c == NULL || (c->domain = strndup(dom, dl)) == NULL || (c->path = strndup(f[2], fl[2])) == NULL ||
        (c->name = strndup(f[5], fl[5])) == NULL || (c->value = strndup(f[6], fl[6])) == NULL) {
      cookie_free(c);
      if (warn) warn(arg, lineno, "out of memory");
      continue;
    }
    for (char *d = c->domain; *d; d++)
      if (*d >= 'A' && *d <= 'Z') *d = (char)(*d - 'A' + 'a');
    c->host_only = !sub;
    c->secure = fl[3] == 4 && strncasecmp(f[3], "TRUE", 4) == 0;
    c->http_only = http_only;
    c->expires = exp;
    /* The rules of Set-Cookie: a file line cannot hold what no server could set
     * (a ".com" cookie, a CR that breaks every later request to the host). */
    if ((why = cookie_check(c)) != NULL) {
      cookie_free(c);
      if (warn) warn(arg, lineno, why);
      continue;
    }
    c->created = ++j->next_created;
    const char *w2;
    if (jar_store(j, c, now, &w2)) added++;
    else if (warn) warn(arg, lineno, w2);
  }
  return added;
}

int cookie_jar_save_netscape(const cookie_jar *j, const char *path, int64_t now) {
  /* A temp file of mkstemp's in the same folder, renamed over the jar: never a
   * predictable name (a symlink planted there was followed), and the jar is
   * 0600 (cookies are credentials) or keeps the mode the user gave it. A
   * symlink at the jar's name is replaced, as the rename always did. */
  safe_file sf;
  if (safe_file_open(&sf, path, 0600, SAFE_FILE_SYNC | SAFE_FILE_NO_FOLLOW) != 0) return -1;
  FILE *f = sf.f;
  fputs("# Netscape HTTP Cookie File\n# Written by guise. Edit at your own risk.\n\n", f);
  for (size_t i = 0; i < j->n; i++) {
    const cookie *c = j->c[i];
    if (c->expires && c->expires <= now) continue;
    fprintf(f, "%s%s%s\t%s\t%s\t%s\t%lld\t%s\t%s\n", c->http_only ? "#HttpOnly_" : "", c->host_only ? "" : ".",
            c->domain, c->host_only ? "FALSE" : "TRUE", c->path, c->secure ? "TRUE" : "FALSE",
            (long long)c->expires, c->name, c->value);
  }
  return safe_file_commit(&sf);
}

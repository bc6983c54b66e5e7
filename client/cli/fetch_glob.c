/* fetch_glob.c — URL globbing as curl does it (fetch_glob.h). */
#include "fetch_glob.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- URL globbing, curl's: {a,b,c} and [1-10], [01-10], [a-z], [1-10:2] ---- */

#define GLOB_MAX 10         /* sets in one URL */
#define GLOB_MAX_ITEMS 1000 /* values in one set (FETCH_MAX_URLS caps the product) */

typedef struct glob_set {
  size_t at;                /* where in the pattern text it stands */
  int kind;                 /* 0: list, 1: numbers, 2: letters */
  const char *list[GLOB_MAX_ITEMS]; /* kind 0: the values (in |text|) */
  size_t n;                 /* values */
  long lo, step;            /* kind 1, 2 */
  int width;                /* kind 1: zero-padded to this width */
} glob_set;

typedef struct glob_url {
  char *text;               /* the pattern, sets cut out (a NUL at each set's place) */
  size_t len;
  glob_set sets[GLOB_MAX];
  size_t n_sets;
} glob_url;

/* The |k|th value of |g| into |out|. */
static void glob_value(const glob_set *g, size_t k, char *out, size_t cap) {
  if (g->kind == 0) snprintf(out, cap, "%s", g->list[k]);
  else if (g->kind == 1) snprintf(out, cap, "%0*ld", g->width, g->lo + (long)k * g->step);
  else snprintf(out, cap, "%c", (char)(g->lo + (long)k * g->step));
}

/* Reads |url| into |gu|: 0, or -1 with |why| (curl's "bad range", "unmatched
 * brace" ...). A '[' right after "://" or '@' is an IPv6 literal, not a set; a
 * backslash keeps the next character. */
static int glob_parse(const char *url, glob_url *gu, char *why, size_t cap) {
  size_t len = strlen(url);
  gu->text = malloc(len + 1);
  gu->len = 0;
  gu->n_sets = 0;
  if (gu->text == NULL) return snprintf(why, cap, "out of memory"), -1;
  for (size_t i = 0; i < len; i++) {
    char c = url[i];
    if (c == '\\' && i + 1 < len && strchr("{}[],", url[i + 1])) {
      gu->text[gu->len++] = url[++i];
      continue;
    }
    int ipv6 = c == '[' && ((i >= 3 && strncmp(url + i - 3, "://", 3) == 0) || (i && url[i - 1] == '@'));
    if (c == '[' && ipv6) {
      const char *close = strchr(url + i, ']');
      size_t n = close ? (size_t)(close - url - i) + 1 : len - i;
      memcpy(gu->text + gu->len, url + i, n);
      gu->len += n;
      i += n - 1;
      continue;
    }
    if (c != '{' && c != '[') {
      if (c == '}' || c == ']') return snprintf(why, cap, "unmatched '%c' at %zu", c, i + 1), -1;
      gu->text[gu->len++] = c;
      continue;
    }
    if (gu->n_sets == GLOB_MAX) return snprintf(why, cap, "more than %d sets", GLOB_MAX), -1;
    glob_set *g = &gu->sets[gu->n_sets++];
    memset(g, 0, sizeof(*g));
    g->at = gu->len;
    const char *close = strchr(url + i, c == '{' ? '}' : ']');
    if (close == NULL) return snprintf(why, cap, "unmatched '%c' at %zu", c, i + 1), -1;
    size_t body = i + 1, end = (size_t)(close - url);
    if (c == '{') {
      /* the values, each NUL-ended in |text| after the set's mark */
      gu->text[gu->len++] = '\0';
      size_t k = body;
      for (;;) {
        size_t e = k;
        while (e < end && url[e] != ',') e++;
        if (g->n == GLOB_MAX_ITEMS) return snprintf(why, cap, "more than %d values in a set", GLOB_MAX_ITEMS), -1;
        g->list[g->n++] = gu->text + gu->len;
        memcpy(gu->text + gu->len, url + k, e - k);
        gu->len += e - k;
        gu->text[gu->len++] = '\0';
        if (e >= end) break;
        k = e + 1;
      }
    } else {
      char a[24], b[24];
      long step = 1;
      size_t dash = body;
      while (dash < end && url[dash] != '-') dash++;
      size_t colon = dash;
      while (colon < end && url[colon] != ':') colon++;
      if (dash >= end || dash - body >= sizeof(a) || colon - dash - 1 >= sizeof(b) || dash == body)
        return snprintf(why, cap, "bad range at %zu (expected [N-M], [a-z] or [N-M:STEP])", i + 1), -1;
      memcpy(a, url + body, dash - body);
      a[dash - body] = '\0';
      memcpy(b, url + dash + 1, colon - dash - 1);
      b[colon - dash - 1] = '\0';
      if (colon < end) {
        char *e;
        step = strtol(url + colon + 1, &e, 10);
        if (e != close || step < 1) return snprintf(why, cap, "bad step at %zu", i + 1), -1;
      }
      int digits = strspn(a, "0123456789") == strlen(a) && strspn(b, "0123456789") == strlen(b) && a[0] && b[0];
      int letters = strlen(a) == 1 && strlen(b) == 1 && ((islower((unsigned char)a[0]) && islower((unsigned char)b[0])) ||
                                                         (isupper((unsigned char)a[0]) && isupper((unsigned char)b[0])));
      long lo = digits ? strtol(a, NULL, 10) : a[0], hi = digits ? strtol(b, NULL, 10) : b[0];
      if ((!digits && !letters) || hi < lo || strlen(a) > 9 || strlen(b) > 9)
        return snprintf(why, cap, "bad range [%s-%s] at %zu", a, b, i + 1), -1;
      g->kind = digits ? 1 : 2;
      g->lo = lo;
      g->step = step;
      g->width = digits && a[0] == '0' && strlen(a) > 1 ? (int)strlen(a) : 0;
      g->n = (size_t)((hi - lo) / step) + 1;
      if (g->n > GLOB_MAX_ITEMS) return snprintf(why, cap, "more than %d values in a range", GLOB_MAX_ITEMS), -1;
      gu->text[gu->len++] = '\0';
    }
    i = end;
  }
  gu->text[gu->len] = '\0';
  return 0;
}

/* "#N" in |name| replaced by the Nth set's value, into |out|. */
static void glob_name(const char *name, const glob_url *gu, const size_t *idx, char *out, size_t cap) {
  size_t o = 0;
  for (const char *p = name; *p && o + 1 < cap; p++) {
    if (*p == '#' && p[1] >= '1' && p[1] <= '9' && (size_t)(p[1] - '0') <= gu->n_sets) {
      char v[64];
      glob_value(&gu->sets[p[1] - '1'], idx[p[1] - '1'], v, sizeof(v));
      o += (size_t)snprintf(out + o, cap - o, "%s", v);
      if (o >= cap) o = cap - 1;
      p++;
      continue;
    }
    out[o++] = *p;
  }
  out[o] = '\0';
}

/* The URLs of the command line with their sets expanded, in curl's order (the
 * last set turns fastest), each -o of a pattern given its "#N" values:
 * |st|'s operands and outputs replaced. CLI_NEXT, or an exit status after a
 * message (curl: 3, "bad URL"). */
int fetch_glob_expand(cli_settings *st, const char **urls, const char **outs, size_t cap) {
  size_t n = 0, n_out = 0;
  int rc = CLI_NEXT;
  glob_url *gu = malloc(sizeof(*gu));
  if (gu == NULL) return EXIT_USAGE;
  for (size_t u = 0; u < st->n_operands && rc == CLI_NEXT; u++) {
    const char *url = st->operands[u], *out = u < st->n_outputs ? st->outputs[u] : NULL;
    char why[128];
    if (strpbrk(url, "{}[]") == NULL) {
      if (n == cap) goto too_many;
      if (out) outs[n_out++] = out;
      urls[n++] = url;
      continue;
    }
    if (glob_parse(url, gu, why, sizeof(why)) != 0) {
      fprintf(stderr, "guise: (3) bad URL pattern %s: %s (-g: no globbing)\n", url, why);
      rc = 3;
      free(gu->text);
      break;
    }
    size_t idx[GLOB_MAX] = {0};
    for (;;) {
      if (n == cap) {
        free(gu->text);
        goto too_many;
      }
      /* this combination's URL */
      size_t need = 1;
      char v[64];
      for (size_t k = 0, at = 0; k <= gu->n_sets; k++) {
        size_t stop = k < gu->n_sets ? gu->sets[k].at : gu->len;
        need += stop - at;
        if (k < gu->n_sets) {
          glob_value(&gu->sets[k], idx[k], v, sizeof(v));
          need += strlen(v);
          at = stop + 1;
          if (gu->sets[k].kind == 0) at = (size_t)(gu->sets[k].list[gu->sets[k].n - 1] - gu->text) +
                                          strlen(gu->sets[k].list[gu->sets[k].n - 1]) + 1;
        }
      }
      char *x = cli_keep(st, NULL, need);
      if (x == NULL) {
        rc = EXIT_USAGE;
        break;
      }
      size_t o = 0;
      for (size_t k = 0, at = 0; k <= gu->n_sets; k++) {
        size_t stop = k < gu->n_sets ? gu->sets[k].at : gu->len;
        memcpy(x + o, gu->text + at, stop - at);
        o += stop - at;
        if (k < gu->n_sets) {
          glob_value(&gu->sets[k], idx[k], v, sizeof(v));
          memcpy(x + o, v, strlen(v));
          o += strlen(v);
          at = stop + 1;
          if (gu->sets[k].kind == 0) at = (size_t)(gu->sets[k].list[gu->sets[k].n - 1] - gu->text) +
                                          strlen(gu->sets[k].list[gu->sets[k].n - 1]) + 1;
        }
      }
      x[o] = '\0';
      urls[n++] = x;
      if (out == cli_remote_name) {
        outs[n_out++] = out; /* -O: each URL named from itself */
      } else if (out) {
        char name[4096];
        glob_name(out, gu, idx, name, sizeof(name));
        outs[n_out++] = cli_keep(st, name, strlen(name));
      }
      size_t k = gu->n_sets;
      while (k > 0 && ++idx[k - 1] == gu->sets[k - 1].n) idx[--k] = 0;
      if (k == 0) break;
    }
    free(gu->text);
  }
  free(gu);
  if (rc != CLI_NEXT) return rc;
  st->operands = urls;
  st->n_operands = n;
  st->outputs = outs;
  st->n_outputs = n_out;
  return CLI_NEXT;
too_many:
  free(gu);
  fprintf(stderr, "guise: (3) more than %zu URLs from the patterns (guise batch takes more)\n", cap);
  return 3;
}

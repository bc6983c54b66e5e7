/* fetch_glob.c — URL globbing as curl does it (fetch_glob.h). */
#include "fetch_glob.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "cli.h"

#define GLOB_MAX_DIGITS 18 /* a range's numbers: below 10^18, so lo + k * step fits a long long */

typedef struct glob_set {
  size_t at;          /* where in |text| its value goes */
  int kind;           /* 0: list, 1: numbers, 2: letters */
  size_t n;           /* values */
  size_t first;       /* kind 0: its first value in |vals| */
  long long lo, step; /* kinds 1, 2 */
  int width;          /* kind 1: zero-padded to this width */
} glob_set;

struct glob_url {
  char *text; /* the pattern's literal parts, one after the other */
  size_t len;
  char *pool;        /* the lists' values, each NUL-ended */
  const char **vals; /* pointers into |pool| */
  size_t n_vals;
  glob_set sets[GLOB_MAX];
  size_t n_sets;
};

/* The |k|th value of |g| into |out| (32 bytes at least for kinds 1 and 2). */
static const char *glob_value(const glob_url *gu, const glob_set *g, size_t k, char *out, size_t cap) {
  if (g->kind == 0) return gu->vals[g->first + k];
  if (g->kind == 1) snprintf(out, cap, "%0*lld", g->width, g->lo + (long long)k * g->step);
  else snprintf(out, cap, "%c", (char)(g->lo + (long long)k * g->step));
  return out;
}

void fetch_glob_free(glob_url *gu) {
  if (gu == NULL) return;
  free(gu->text);
  free(gu->pool);
  free(gu->vals);
  free(gu);
}

static glob_url *fail(glob_url *gu, char *why, size_t why_len, const char *what, size_t pos) {
  snprintf(why, why_len, "%s at %zu", what, pos);
  fetch_glob_free(gu);
  return NULL;
}

/* Up to GLOB_MAX_DIGITS decimal digits of |in| into |*v|: their count, 0 when
 * none, -1 when too many. */
static int get_number(CBS *in, long long *v) {
  int n = 0;
  *v = 0;
  while (CBS_len(in) && CBS_data(in)[0] >= '0' && CBS_data(in)[0] <= '9') {
    if (++n > GLOB_MAX_DIGITS) return -1;
    uint8_t d;
    CBS_get_u8(in, &d);
    *v = *v * 10 + (d - '0');
  }
  return n;
}

static int is_lower(uint8_t c) {
  return c >= 'a' && c <= 'z';
}

static int is_upper(uint8_t c) {
  return c >= 'A' && c <= 'Z';
}

/* A range's body (between '[' and ']') into |g|: 1, 0 a bad range, -1 a bad
 * range specification (curl's two words: the first character is neither a
 * digit nor a letter). */
static int parse_range(CBS *body, glob_set *g) {
  if (CBS_len(body) == 0) return -1;
  uint8_t first = CBS_data(body)[0], dash, b;
  long long lo, hi, step = 1;
  if (first >= '0' && first <= '9') {
    int digits = get_number(body, &lo);
    if (digits < 0 || !CBS_get_u8(body, &dash) || dash != '-' || get_number(body, &hi) <= 0) return 0;
    g->kind = 1;
    g->width = first == '0' && digits > 1 ? digits : 0;
  } else if (is_lower(first) || is_upper(first)) {
    uint8_t a;
    if (!CBS_get_u8(body, &a) || !CBS_get_u8(body, &dash) || dash != '-' || !CBS_get_u8(body, &b) ||
        (is_lower(a) ? !is_lower(b) : !is_upper(b)))
      return 0;
    lo = a;
    hi = b;
    g->kind = 2;
  } else {
    return -1;
  }
  uint8_t colon;
  if (CBS_get_u8(body, &colon)) {
    if (colon != ':') return 0;
    if (CBS_len(body) && CBS_data(body)[0] == '+') CBS_skip(body, 1); /* curl's strtoul takes "+1" */
    if (get_number(body, &step) <= 0) return 0;
  }
  /* curl 7.88 (measured): step 1 at least, and at most the range's width, or 1
   * when the range is one value ([1-3:2] and [1-1:1] taken, [1-3:3] and
   * [1-1:2] not). */
  if (CBS_len(body) != 0 || hi < lo || step < 1 || (hi > lo ? step > hi - lo : step != 1)) return 0;
  g->lo = lo;
  g->step = step;
  g->n = (size_t)((hi - lo) / step) + 1;
  return 1;
}

glob_url *fetch_glob_parse(const char *pattern, char *why, size_t why_len) {
  size_t len = strlen(pattern);
  glob_url *gu = calloc(1, sizeof(*gu));
  if (gu == NULL) return fail(NULL, why, why_len, "out of memory", 0);
  gu->text = malloc(len + 1);
  gu->pool = malloc(len + 1);
  gu->vals = malloc((len + 1) * sizeof(*gu->vals));
  if (gu->text == NULL || gu->pool == NULL || gu->vals == NULL) return fail(gu, why, why_len, "out of memory", 0);
  CBS in;
  CBS_init(&in, (const uint8_t *)pattern, len);
  size_t pool_len = 0;
  uint8_t c;
  while (CBS_get_u8(&in, &c)) {
    size_t i = len - CBS_len(&in) - 1; /* c's offset; curl's positions are i + 1 */
    if (c == '\\' && CBS_len(&in) && memchr("{}[]", CBS_data(&in)[0], 4)) {
      CBS_get_u8(&in, &c);
      gu->text[gu->len++] = (char)c;
      continue;
    }
    if (c == '[' && ((i >= 3 && memcmp(pattern + i - 3, "://", 3) == 0) || (i && pattern[i - 1] == '@'))) {
      /* an IPv6 address, up to its ']' */
      const uint8_t *close = memchr(CBS_data(&in), ']', CBS_len(&in));
      size_t n = close ? (size_t)(close - CBS_data(&in)) + 1 : CBS_len(&in);
      gu->text[gu->len++] = (char)c;
      memcpy(gu->text + gu->len, CBS_data(&in), n);
      gu->len += n;
      CBS_skip(&in, n);
      continue;
    }
    if (c == '}' || c == ']') return fail(gu, why, why_len, "unmatched close brace/bracket", i + 1);
    if (c != '{' && c != '[') {
      gu->text[gu->len++] = (char)c;
      continue;
    }
    if (gu->n_sets == GLOB_MAX) return fail(gu, why, why_len, "more than 10 sets", i + 1);
    glob_set *g = &gu->sets[gu->n_sets++];
    memset(g, 0, sizeof(*g));
    g->at = gu->len;
    if (c == '[') {
      const uint8_t *close = memchr(CBS_data(&in), ']', CBS_len(&in));
      CBS body;
      if (close == NULL || !CBS_get_bytes(&in, &body, (size_t)(close - CBS_data(&in))) || !CBS_skip(&in, 1))
        return fail(gu, why, why_len, "bad range (no closing ']')", i + 1);
      int r = parse_range(&body, g);
      if (r <= 0)
        return fail(gu, why, why_len,
                    r < 0 ? "bad range specification (expected [N-M], [a-z] or [N-M:STEP])"
                          : "bad range (expected [N-M], [a-z] or [N-M:STEP], M not below N, STEP at most M-N)",
                    i + 1);
      if (g->n > GLOB_MAX_ITEMS) return fail(gu, why, why_len, "more than 1000 values in a range", i + 1);
      continue;
    }
    /* {a,b,c}: each value NUL-ended in |pool|; a backslash takes the next
     * character, whatever it is (curl). */
    g->first = gu->n_vals;
    gu->vals[gu->n_vals] = gu->pool + pool_len;
    for (;;) {
      if (!CBS_get_u8(&in, &c)) return fail(gu, why, why_len, "unmatched brace", i + 1);
      size_t at = len - CBS_len(&in);
      if (c == '\\') {
        if (!CBS_get_u8(&in, &c)) return fail(gu, why, why_len, "unmatched brace", i + 1);
      } else if (c == '{' || c == '[') {
        return fail(gu, why, why_len, "nested brace", at);
      } else if (c == ']') {
        return fail(gu, why, why_len, "unexpected close bracket", at);
      } else if (c == ',' || c == '}') {
        gu->pool[pool_len++] = '\0';
        gu->n_vals++;
        if (++g->n > GLOB_MAX_ITEMS) return fail(gu, why, why_len, "more than 1000 values in a set", i + 1);
        if (c == '}') {
          if (g->n == 1 && gu->vals[g->first][0] == '\0')
            return fail(gu, why, why_len, "empty string within braces", at);
          break;
        }
        gu->vals[gu->n_vals] = gu->pool + pool_len;
        continue;
      }
      gu->pool[pool_len++] = (char)c;
    }
  }
  gu->text[gu->len] = '\0';
  return gu;
}

size_t fetch_glob_count(const glob_url *gu) {
  size_t n = 1;
  for (size_t k = 0; k < gu->n_sets; k++) {
    if (gu->sets[k].n && n > (size_t)-1 / gu->sets[k].n) return (size_t)-1;
    n *= gu->sets[k].n;
  }
  return n;
}

size_t fetch_glob_sets(const glob_url *gu) {
  return gu->n_sets;
}

size_t fetch_glob_url(const glob_url *gu, const size_t *idx, char *out, size_t cap) {
  size_t o = 0, at = 0;
  char v[32];
  for (size_t k = 0; k <= gu->n_sets; k++) {
    size_t stop = k < gu->n_sets ? gu->sets[k].at : gu->len;
    const char *piece = gu->text + at;
    size_t n = stop - at;
    for (int part = 0; part < 2; part++) {
      if (o < cap) memcpy(out + o, piece, o + n < cap ? n : cap - o);
      o += n;
      if (k == gu->n_sets || part == 1) break;
      piece = glob_value(gu, &gu->sets[k], idx[k], v, sizeof(v));
      n = strlen(piece);
    }
    at = stop;
  }
  if (cap) out[o < cap ? o : cap - 1] = '\0';
  return o;
}

void fetch_glob_name(const glob_url *gu, const size_t *idx, const char *name, char *out, size_t cap) {
  size_t o = 0;
  if (cap == 0) return;
  for (const char *p = name; *p && o + 1 < cap; p++) {
    if (*p == '#' && p[1] >= '1' && p[1] <= '9' && (size_t)(p[1] - '0') <= gu->n_sets) {
      char v[32];
      const char *s = glob_value(gu, &gu->sets[p[1] - '1'], idx[p[1] - '1'], v, sizeof(v));
      o += (size_t)snprintf(out + o, cap - o, "%s", s);
      if (o >= cap) o = cap - 1;
      p++;
      continue;
    }
    out[o++] = *p;
  }
  out[o] = '\0';
}

int fetch_glob_next(const glob_url *gu, size_t *idx) {
  size_t k = gu->n_sets;
  while (k > 0 && ++idx[k - 1] == gu->sets[k - 1].n) idx[--k] = 0;
  return k != 0;
}

/* The URLs of the command line with their sets expanded, in curl's order (the
 * last set turns fastest), each -o of a pattern given its "#N" values:
 * |st|'s operands and outputs replaced. CLI_NEXT, or an exit status after a
 * message (curl: 3, "bad URL"). */
int fetch_glob_expand(cli_settings *st, const char **urls, const char **outs, size_t cap) {
  size_t n = 0, n_out = 0;
  for (size_t u = 0; u < st->n_operands; u++) {
    const char *url = st->operands[u], *out = u < st->n_outputs ? st->outputs[u] : NULL;
    char why[160];
    if (strpbrk(url, "{}[]") == NULL) {
      if (n == cap) goto too_many;
      if (out) outs[n_out++] = out;
      urls[n++] = url;
      continue;
    }
    glob_url *gu = fetch_glob_parse(url, why, sizeof(why));
    if (gu == NULL) {
      fprintf(stderr, "guise: (3) bad URL pattern %s: %s (-g: no globbing)\n", url, why);
      return 3;
    }
    if (fetch_glob_count(gu) > cap - n) {
      fetch_glob_free(gu);
      goto too_many;
    }
    size_t idx[GLOB_MAX] = {0};
    do {
      size_t need = fetch_glob_url(gu, idx, NULL, 0);
      char *x = cli_keep(st, NULL, need);
      if (x == NULL) {
        fetch_glob_free(gu);
        return EXIT_USAGE;
      }
      fetch_glob_url(gu, idx, x, need + 1);
      urls[n++] = x;
      if (out == cli_remote_name) {
        outs[n_out++] = out; /* -O: each URL named from itself */
      } else if (out) {
        char name[4096];
        fetch_glob_name(gu, idx, out, name, sizeof(name));
        outs[n_out++] = cli_keep(st, name, strlen(name));
      }
    } while (fetch_glob_next(gu, idx));
    fetch_glob_free(gu);
  }
  st->operands = urls;
  st->n_operands = n;
  st->outputs = outs;
  st->n_outputs = n_out;
  return CLI_NEXT;
too_many:
  fprintf(stderr, "guise: (3) more than %zu URLs from the patterns (guise batch takes more)\n", cap);
  return 3;
}

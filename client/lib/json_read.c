/* json_read.c — see json_read.h. */
#include "json_read.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void jread_init(jread *r, const uint8_t *text, size_t len, char *arena, size_t cap) {
  memset(r, 0, sizeof(*r));
  CBS_init(&r->in, text, len);
  r->base = text;
  r->arena = arena;
  r->cap = cap;
}

int jread_fail(jread *r, const char *why) {
  if (r->why == NULL) {
    r->why = why;
    r->at = (size_t)(CBS_data(&r->in) - r->base);
  }
  return -1;
}

void jread_ws(jread *r) {
  while (CBS_len(&r->in)) {
    uint8_t c = CBS_data(&r->in)[0];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    CBS_skip(&r->in, 1);
  }
}

int jread_peek(const jread *r) { return CBS_len(&r->in) ? CBS_data(&r->in)[0] : -1; }

int jread_take(jread *r, uint8_t c) {
  if (jread_peek(r) != c) return 0;
  CBS_skip(&r->in, 1);
  return 1;
}

static int literal(jread *r, const char *lit) {
  size_t n = strlen(lit);
  if (CBS_len(&r->in) < n || memcmp(CBS_data(&r->in), lit, n) != 0) return jread_fail(r, "invalid token");
  CBS_skip(&r->in, n);
  return 0;
}

static int hex4(CBS *c, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t h;
    if (!CBS_get_u8(c, &h)) return -1;
    v <<= 4;
    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Length of the well-formed UTF-8 sequence (RFC 3629 §4) at the start of |p|
 * (n bytes, first byte >= 0x80), or 0. */
static size_t utf8_len(const uint8_t *p, size_t n) {
  uint8_t c = p[0];
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF; /* the second byte's range */
  if (c >= 0xC2 && c <= 0xDF) need = 2;
  else if (c == 0xE0) need = 3, lo = 0xA0;
  else if (c == 0xED) need = 3, hi = 0x9F; /* no surrogates */
  else if (c >= 0xE1 && c <= 0xEF) need = 3;
  else if (c == 0xF0) need = 4, lo = 0x90;
  else if (c == 0xF4) need = 4, hi = 0x8F; /* <= U+10FFFF */
  else if (c >= 0xF1 && c <= 0xF3) need = 4;
  else return 0;
  if (n < need || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < need; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return need;
}

/* The error at the byte just taken. */
static int fail_back(jread *r, const char *why) {
  if (r->why == NULL) {
    r->why = why;
    r->at = (size_t)(CBS_data(&r->in) - r->base) - 1;
  }
  return -1;
}

/* A string (the opening quote next), decoded into the arena, NUL-terminated.
 * |out| NULL: checked and skipped. */
/* The bytes a string's plain run may hold: printable ASCII but '"' and '\\'. */
#define P16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const uint8_t plain_byte[256] = {
    [0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x22 '"' */
    [0x30] = P16, P16,
    [0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x5c '\\' */
    [0x60] = P16, P16,
};
#undef P16

int jread_string(jread *r, const char **out, size_t *out_len) {
  if (!jread_take(r, '"')) return jread_fail(r, "expected a string");
  if (out && r->arena == NULL) return jread_fail(r, "no room for strings");
  char *o = out ? r->arena + r->used : NULL;
  size_t room = out ? r->cap - r->used : 0; /* an arena of the text's length + 1 always has it */
  size_t k = 0;
/* |n| more bytes and the NUL still fit */
#define ROOM(n) \
  if (o && k + (n) + 1 > room) return jread_fail(r, "string too long")
  for (;;) {
    /* A run of plain ASCII (no quote, backslash or control byte) is taken at
     * once: most of a job line (callgrind: a byte at a time through
     * CBS_get_u8 was half of the job's parse). Within the CBS's length. */
    const uint8_t *p = CBS_data(&r->in);
    size_t avail = CBS_len(&r->in), run = 0;
    while (run < avail && plain_byte[p[run]]) run++;
    if (run) {
      ROOM(run);
      if (o) memcpy(o + k, p, run);
      k += run;
      CBS_skip(&r->in, run);
    }
    uint8_t c;
    if (!CBS_get_u8(&r->in, &c)) return jread_fail(r, "unterminated string");
    if (c == '"') break;
    if (c < 0x20) return fail_back(r, "control character in a string");
    if (c == '\\') {
      uint8_t e;
      if (!CBS_get_u8(&r->in, &e)) return jread_fail(r, "unterminated string");
      char one = 0;
      switch (e) {
      case '"': one = '"'; break;
      case '\\': one = '\\'; break;
      case '/': one = '/'; break;
      case 'b': one = '\b'; break;
      case 'f': one = '\f'; break;
      case 'n': one = '\n'; break;
      case 'r': one = '\r'; break;
      case 't': one = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (hex4(&r->in, &cp) != 0) return jread_fail(r, "invalid \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF) return jread_fail(r, "unpaired surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint8_t b1, b2;
          if (!CBS_get_u8(&r->in, &b1) || !CBS_get_u8(&r->in, &b2) || b1 != '\\' || b2 != 'u' ||
              hex4(&r->in, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
            return jread_fail(r, "unpaired surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        ROOM(4);
        if (o) k += put_utf8(o + k, cp);
        else k += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        continue;
      }
      default:
        return fail_back(r, "invalid escape");
      }
      ROOM(1);
      if (o) o[k] = one;
      k++;
      continue;
    }
    if (c >= 0x80) {
      /* |c| was taken: look at it again with what follows */
      size_t n = utf8_len(CBS_data(&r->in) - 1, CBS_len(&r->in) + 1);
      if (n == 0) return fail_back(r, "invalid UTF-8 in a string");
      ROOM(n);
      if (o) memcpy(o + k, CBS_data(&r->in) - 1, n);
      k += n;
      CBS_skip(&r->in, n - 1);
      continue;
    }
    ROOM(1);
    if (o) o[k] = (char)c;
    k++;
  }
#undef ROOM
  if (o) {
    o[k] = '\0';
    r->used += k + 1;
    *out = o;
  }
  if (out_len) *out_len = k;
  return 0;
}

/* A number (RFC 8259 §6); *is_int: no fraction, no exponent. */
int jread_number(jread *r, int *is_int) {
  jread_take(r, '-');
  int c = jread_peek(r);
  if (c == '0') {
    CBS_skip(&r->in, 1);
  } else if (c >= '1' && c <= '9') {
    while ((c = jread_peek(r)) >= '0' && c <= '9') CBS_skip(&r->in, 1);
  } else {
    return jread_fail(r, "invalid number");
  }
  *is_int = 1;
  if (jread_take(r, '.')) {
    *is_int = 0;
    if (!((c = jread_peek(r)) >= '0' && c <= '9')) return jread_fail(r, "invalid number");
    while ((c = jread_peek(r)) >= '0' && c <= '9') CBS_skip(&r->in, 1);
  }
  if (jread_take(r, 'e') || jread_take(r, 'E')) {
    *is_int = 0;
    if (!jread_take(r, '+')) jread_take(r, '-');
    if (!((c = jread_peek(r)) >= '0' && c <= '9')) return jread_fail(r, "invalid number");
    while ((c = jread_peek(r)) >= '0' && c <= '9') CBS_skip(&r->in, 1);
  }
  return 0;
}

/* Any value, checked and skipped. */
int jread_skip(jread *r, int depth) {
  jread_ws(r);
  r->values++;
  int c = jread_peek(r);
  int is_int;
  switch (c) {
  case '"':
    return jread_string(r, NULL, NULL);
  case 't':
    return literal(r, "true");
  case 'f':
    return literal(r, "false");
  case 'n':
    return literal(r, "null");
  case '[':
  case '{': {
    if (depth >= JREAD_MAX_DEPTH) return jread_fail(r, "nested too deep");
    int obj = c == '{';
    CBS_skip(&r->in, 1);
    jread_ws(r);
    if (jread_take(r, obj ? '}' : ']')) return 0;
    for (;;) {
      if (obj) {
        jread_ws(r);
        if (jread_string(r, NULL, NULL) != 0) return -1;
        jread_ws(r);
        if (!jread_take(r, ':')) return jread_fail(r, "expected ':'");
      }
      if (jread_skip(r, depth + 1) != 0) return -1;
      jread_ws(r);
      if (jread_take(r, ',')) continue;
      if (jread_take(r, obj ? '}' : ']')) return 0;
      return jread_fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  default:
    if (c == '-' || (c >= '0' && c <= '9')) return jread_number(r, &is_int);
    return jread_fail(r, c < 0 ? "unexpected end" : "invalid token");
  }
}

/* Whether the next value is null (taken if so). */
int jread_null(jread *r) {
  jread_ws(r);
  if (jread_peek(r) != 'n') return 0;
  return literal(r, "null") == 0;
}

/* A copy of the value's text without the blanks between tokens, into the arena. */
int jread_compact(jread *r, const char **out) {
  jread_ws(r);
  if (r->arena == NULL) return jread_fail(r, "no room for strings");
  const uint8_t *from = CBS_data(&r->in);
  if (jread_skip(r, 0) != 0) return -1;
  size_t n = (size_t)(CBS_data(&r->in) - from);
  if (n + 1 > r->cap - r->used) return jread_fail(r, "value too long");
  char *o = r->arena + r->used;
  size_t k = 0;
  int in_str = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = from[i];
    if (in_str) {
      o[k++] = (char)c;
      if (c == '\\') o[k++] = (char)from[++i]; /* checked above: an escape has its byte */
      else if (c == '"') in_str = 0;
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      o[k++] = (char)c;
      in_str = c == '"';
    }
  }
  o[k] = '\0';
  r->used += k + 1;
  *out = o;
  return 0;
}


void jread_line_col(const char *text, size_t len, size_t at, int *line, int *col) {
  int l = 1, c = 1;
  for (size_t i = 0; i < at && i < len; i++) {
    if (text[i] == '\n') {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = l;
  *col = c;
}

/* ---- the tree --------------------------------------------------------------------- */

static int keys_equal(const jv *a, const char *k, size_t n) {
  return a->key_len == n && memcmp(a->key, k, n) == 0;
}

/* Parses |integer text| into a long long; 0 when it does not fit. */
static int to_ll(const uint8_t *p, size_t n, long long *out) {
  int neg = n && p[0] == '-';
  unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
  for (size_t i = neg; i < n; i++) {
    unsigned d = (unsigned)(p[i] - '0');
    if (v > (lim - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = neg ? (long long)(0 - v) : (long long)v;
  return 1;
}

/* Objects up to this size are checked for duplicate keys member by member;
 * larger ones once closed, by sorting (no quadratic time on hostile input). */
#define JV_LINEAR_DUPS 16

static int key_cmp(const void *a, const void *b) {
  const jv *x = *(const jv *const *)a, *y = *(const jv *const *)b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->key, y->key, n);
  if (c) return c;
  return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* The member whose key repeats an earlier one's, or NULL; -1 in *oom when the
 * check could not be made. */
static const jv *sorted_dup(const jv *obj, int *oom) {
  *oom = 0;
  const jv **m = malloc(obj->len * sizeof(*m));
  if (m == NULL) {
    *oom = 1;
    return NULL;
  }
  size_t n = 0;
  for (const jv *c = obj->child; c; c = c->next) m[n++] = c;
  qsort(m, n, sizeof(*m), key_cmp);
  const jv *dup = NULL;
  for (size_t i = 1; i < n; i++)
    if (key_cmp(&m[i - 1], &m[i]) == 0) {
      const jv *later = m[i]->key_off > m[i - 1]->key_off ? m[i] : m[i - 1];
      if (dup == NULL || later->key_off < dup->key_off) dup = later;
    }
  free(m);
  return dup;
}

static int fail_at_offset(jread *r, size_t at, const char *why) {
  r->why = NULL;
  CBS_init(&r->in, r->base + at, 0);
  return jread_fail(r, why);
}

static jv *build(jread *r, jv *nodes, size_t n_nodes, size_t *next, int depth) {
  jread_ws(r);
  if (*next == n_nodes) {
    jread_fail(r, "internal: node count");
    return NULL;
  }
  jv *v = &nodes[(*next)++];
  memset(v, 0, sizeof(*v));
  v->off = (size_t)(CBS_data(&r->in) - r->base);
  int c = jread_peek(r);
  if (c == '"') {
    v->type = JV_STRING;
    return jread_string(r, &v->str, &v->len) == 0 ? v : NULL;
  }
  if (c == 't' || c == 'f' || c == 'n') {
    v->type = c == 't' ? JV_TRUE : c == 'f' ? JV_FALSE : JV_NULL;
    return literal(r, c == 't' ? "true" : c == 'f' ? "false" : "null") == 0 ? v : NULL;
  }
  if (c == '[' || c == '{') {
    if (depth >= JREAD_MAX_DEPTH) {
      jread_fail(r, "nested too deep");
      return NULL;
    }
    int obj = c == '{';
    v->type = obj ? JV_OBJECT : JV_ARRAY;
    CBS_skip(&r->in, 1);
    jread_ws(r);
    if (jread_take(r, obj ? '}' : ']')) return v;
    jv **tail = &v->child;
    for (;;) {
      const char *key = NULL;
      size_t klen = 0, key_at = 0;
      if (obj) {
        jread_ws(r);
        key_at = (size_t)(CBS_data(&r->in) - r->base);
        if (jread_string(r, &key, &klen) != 0) return NULL;
        if (v->len < JV_LINEAR_DUPS)
          for (const jv *m = v->child; m; m = m->next)
            if (keys_equal(m, key, klen)) {
              fail_at_offset(r, key_at, "duplicate key");
              return NULL;
            }
        jread_ws(r);
        if (!jread_take(r, ':')) {
          jread_fail(r, "expected ':'");
          return NULL;
        }
      }
      jv *m = build(r, nodes, n_nodes, next, depth + 1);
      if (m == NULL) return NULL;
      m->key = key;
      m->key_len = klen;
      m->key_off = key_at;
      *tail = m;
      tail = &m->next;
      v->len++;
      jread_ws(r);
      if (jread_take(r, ',')) continue;
      if (jread_take(r, obj ? '}' : ']')) break;
      jread_fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
      return NULL;
    }
    if (obj && v->len > JV_LINEAR_DUPS) {
      int oom;
      const jv *dup = sorted_dup(v, &oom);
      if (oom || dup) {
        fail_at_offset(r, dup ? dup->key_off : v->off, dup ? "duplicate key" : "out of memory");
        return NULL;
      }
    }
    return v;
  }
  const uint8_t *from = CBS_data(&r->in);
  int is_int;
  if (jread_number(r, &is_int) != 0) return NULL;
  v->type = is_int ? JV_INTEGER : JV_REAL;
  if (is_int) v->num_ok = to_ll(from, (size_t)(CBS_data(&r->in) - from), &v->num);
  return v;
}

int jv_parse(const char *text, size_t len, jv_doc *doc, const char **why, size_t *at) {
  memset(doc, 0, sizeof(*doc));
  *why = NULL;
  *at = 0;
  /* First the syntax, counting the values; then the nodes, one each. */
  jread r;
  jread_init(&r, (const uint8_t *)text, len, NULL, 0);
  if (jread_skip(&r, 0) == 0) {
    jread_ws(&r);
    if (CBS_len(&r.in)) jread_fail(&r, "end of text expected");
  }
  if (r.why) {
    *why = r.why;
    *at = r.at;
    return -1;
  }
  size_t n_nodes = r.values;
  doc->nodes = malloc(n_nodes * sizeof(jv));
  doc->arena = malloc(len + 1);
  if (doc->nodes == NULL || doc->arena == NULL) {
    jv_free(doc);
    *why = "out of memory";
    return -1;
  }
  jread_init(&r, (const uint8_t *)text, len, doc->arena, len + 1);
  size_t next = 0;
  doc->root = build(&r, doc->nodes, n_nodes, &next, 0);
  if (doc->root == NULL) {
    *why = r.why ? r.why : "invalid JSON";
    *at = r.at;
    jv_free(doc);
    return -1;
  }
  return 0;
}

void jv_free(jv_doc *doc) {
  free(doc->nodes);
  free(doc->arena);
  memset(doc, 0, sizeof(*doc));
}

const jv *jv_get(const jv *obj, const char *key) {
  if (obj == NULL || obj->type != JV_OBJECT) return NULL;
  size_t n = strlen(key);
  for (const jv *m = obj->child; m; m = m->next)
    if (keys_equal(m, key, n)) return m;
  return NULL;
}

const jv *jv_at(const jv *arr, size_t i) {
  if (arr == NULL || arr->type != JV_ARRAY) return NULL;
  const jv *m = arr->child;
  while (m && i--) m = m->next;
  return m;
}

/*
 * job.c — one line of a batch input: a URL, or a JSON object (guise_job_parse,
 * docs/BATCH.md). The line is untrusted: it is read only through a CBS, bounded
 * by its length (and by JOB_MAX_LINE), with a JSON reader of its own (RFC 8259,
 * strict: UTF-8 checked, no trailing bytes, nesting bounded by JOB_MAX_DEPTH).
 *
 * Every string the job points to is decoded into one arena of the line's length
 * + 1: a JSON string never decodes longer than its quoted form, nor a base64 body
 * longer than its text, nor "meta" compacted longer than as written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "guise.h"

/* Longest job line: a request body inline, base64 included. */
#define JOB_MAX_LINE (8u << 20)
/* Headers per job: as many as a request takes. */
#define JOB_MAX_HEADERS 100
/* Nesting of arrays and objects (inside "meta"). */
#define JOB_MAX_DEPTH 64

struct guise_job_store {
  char *arena;
  size_t used, cap;
  guise_header headers[JOB_MAX_HEADERS];
};

void guise_job_free(guise_job_store *s) {
  if (s == NULL) return;
  free(s->arena);
  free(s);
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return GUISE_E_USAGE_INVALID_ARGUMENT;
}

/* ---- the JSON reader ---------------------------------------------------------------- */

typedef struct jr {
  CBS in;
  const uint8_t *line; /* for columns in messages */
  guise_job_store *s;
  const char *why;     /* the first error */
  size_t at;           /* its offset in the line */
} jr;

static int jr_fail(jr *r, const char *why) {
  if (r->why == NULL) {
    r->why = why;
    r->at = (size_t)(CBS_data(&r->in) - r->line);
  }
  return -1;
}

static void ws(jr *r) {
  while (CBS_len(&r->in)) {
    uint8_t c = CBS_data(&r->in)[0];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    CBS_skip(&r->in, 1);
  }
}

static int peek(const jr *r) { return CBS_len(&r->in) ? CBS_data(&r->in)[0] : -1; }

static int take(jr *r, uint8_t c) {
  if (peek(r) != c) return 0;
  CBS_skip(&r->in, 1);
  return 1;
}

static int literal(jr *r, const char *lit) {
  size_t n = strlen(lit);
  if (CBS_len(&r->in) < n || memcmp(CBS_data(&r->in), lit, n) != 0) return jr_fail(r, "invalid token");
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

/* A string (the opening quote next), decoded into the arena, NUL-terminated.
 * |out| NULL: checked and skipped. */
static int jstring(jr *r, const char **out, size_t *out_len) {
  if (!take(r, '"')) return jr_fail(r, "expected a string");
  char *o = out ? r->s->arena + r->s->used : NULL;
  size_t room = out ? r->s->cap - r->s->used : 0; /* a job's arena always has it */
  size_t k = 0;
  for (;;) {
    if (o && k + 5 > room) return jr_fail(r, "string too long");
    uint8_t c;
    if (!CBS_get_u8(&r->in, &c)) return jr_fail(r, "unterminated string");
    if (c == '"') break;
    if (c < 0x20) return jr_fail(r, "control character in a string");
    if (c == '\\') {
      uint8_t e;
      if (!CBS_get_u8(&r->in, &e)) return jr_fail(r, "unterminated string");
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
        if (hex4(&r->in, &cp) != 0) return jr_fail(r, "invalid \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF) return jr_fail(r, "unpaired surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint8_t b1, b2;
          if (!CBS_get_u8(&r->in, &b1) || !CBS_get_u8(&r->in, &b2) || b1 != '\\' || b2 != 'u' ||
              hex4(&r->in, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
            return jr_fail(r, "unpaired surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (o) k += put_utf8(o + k, cp);
        continue;
      }
      default:
        return jr_fail(r, "invalid escape");
      }
      if (o) o[k] = one;
      k++;
      continue;
    }
    if (c >= 0x80) {
      /* |c| was taken: look at it again with what follows */
      size_t n = utf8_len(CBS_data(&r->in) - 1, CBS_len(&r->in) + 1);
      if (n == 0) return jr_fail(r, "invalid UTF-8 in a string");
      if (o) memcpy(o + k, CBS_data(&r->in) - 1, n);
      k += n;
      CBS_skip(&r->in, n - 1);
      continue;
    }
    if (o) o[k] = (char)c;
    k++;
  }
  if (o) {
    o[k] = '\0';
    r->s->used += k + 1;
    *out = o;
    if (out_len) *out_len = k;
  }
  return 0;
}

/* A number (RFC 8259 §6); *is_int: no fraction, no exponent. */
static int jnumber(jr *r, int *is_int) {
  take(r, '-');
  int c = peek(r);
  if (c == '0') {
    CBS_skip(&r->in, 1);
  } else if (c >= '1' && c <= '9') {
    while ((c = peek(r)) >= '0' && c <= '9') CBS_skip(&r->in, 1);
  } else {
    return jr_fail(r, "invalid number");
  }
  *is_int = 1;
  if (take(r, '.')) {
    *is_int = 0;
    if (!((c = peek(r)) >= '0' && c <= '9')) return jr_fail(r, "invalid number");
    while ((c = peek(r)) >= '0' && c <= '9') CBS_skip(&r->in, 1);
  }
  if (take(r, 'e') || take(r, 'E')) {
    *is_int = 0;
    if (!take(r, '+')) take(r, '-');
    if (!((c = peek(r)) >= '0' && c <= '9')) return jr_fail(r, "invalid number");
    while ((c = peek(r)) >= '0' && c <= '9') CBS_skip(&r->in, 1);
  }
  return 0;
}

/* Any value, checked and skipped. */
static int jskip(jr *r, int depth) {
  ws(r);
  int c = peek(r);
  int is_int;
  switch (c) {
  case '"':
    return jstring(r, NULL, NULL);
  case 't':
    return literal(r, "true");
  case 'f':
    return literal(r, "false");
  case 'n':
    return literal(r, "null");
  case '[':
  case '{': {
    if (depth >= JOB_MAX_DEPTH) return jr_fail(r, "nested too deep (64 levels)");
    int obj = c == '{';
    CBS_skip(&r->in, 1);
    ws(r);
    if (take(r, obj ? '}' : ']')) return 0;
    for (;;) {
      if (obj) {
        ws(r);
        if (jstring(r, NULL, NULL) != 0) return -1;
        ws(r);
        if (!take(r, ':')) return jr_fail(r, "expected ':'");
      }
      if (jskip(r, depth + 1) != 0) return -1;
      ws(r);
      if (take(r, ',')) continue;
      if (take(r, obj ? '}' : ']')) return 0;
      return jr_fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  default:
    if (c == '-' || (c >= '0' && c <= '9')) return jnumber(r, &is_int);
    return jr_fail(r, c < 0 ? "unexpected end of line" : "invalid token");
  }
}

/* Whether the next value is null (taken if so). */
static int take_null(jr *r) {
  ws(r);
  if (peek(r) != 'n') return 0;
  return literal(r, "null") == 0;
}

/* A copy of the value's text without the blanks between tokens, into the arena. */
static int jcompact(jr *r, const char **out) {
  ws(r);
  const uint8_t *from = CBS_data(&r->in);
  if (jskip(r, 0) != 0) return -1;
  size_t n = (size_t)(CBS_data(&r->in) - from);
  char *o = r->s->arena + r->s->used;
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
  r->s->used += k + 1;
  *out = o;
  return 0;
}

/* RFC 4648 base64 (either alphabet), padding optional, decoded in place (the
 * output never passes the input). -1 on a bad character. */
static long b64_in_place(char *s, size_t n) {
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '=') {
      /* only padding may follow */
      for (size_t j = i; j < n; j++)
        if (s[j] != '=') return -1;
      break;
    }
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+' || c == '-' ? 62
            : c == '/' || c == '_' ? 63
                                   : -1;
    if (v < 0) return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      s[o++] = (char)(acc >> bits);
    }
  }
  return (long)o;
}

/* ---- the job ---------------------------------------------------------------------- */

enum { K_ID, K_URL, K_METHOD, K_PROFILE, K_PROXY, K_HEADERS, K_BODY, K_BODY64, K_HTTP, K_META, K_N };
static const char *const job_keys[K_N] = {"id", "url", "method", "profile", "proxy",
                                          "headers", "body", "body_base64", "http", "meta"};

/* A string field's value, or null (left NULL). */
static int str_field(jr *r, const char *key, const char **out, char *err, size_t errlen) {
  if (take_null(r)) return 0;
  if (r->why) return -1;
  ws(r);
  if (peek(r) != '"') return fail(err, errlen, "\"%s\" must be a string", key);
  size_t n;
  if (jstring(r, out, &n) != 0) return -1;
  if (strlen(*out) != n) return fail(err, errlen, "\"%s\" holds a NUL character", key);
  return 0;
}

static int header_str(jr *r, const char **out, char *err, size_t errlen) {
  ws(r);
  if (peek(r) != '"') return fail(err, errlen, "%s", "\"headers\": names and values must be strings");
  size_t n;
  if (jstring(r, out, &n) != 0) return -1;
  if (strlen(*out) != n) return fail(err, errlen, "%s", "\"headers\": a NUL character");
  return 0;
}

static int headers_field(jr *r, guise_job *job, char *err, size_t errlen) {
  guise_job_store *s = r->s;
  size_t nh = 0;
  if (take_null(r)) return 0;
  ws(r);
  int obj = peek(r) == '{';
  if (!obj && peek(r) != '[')
    return r->why ? -1 : fail(err, errlen, "%s", "\"headers\" must be an object or an array of [name, value]");
  CBS_skip(&r->in, 1);
  ws(r);
  if (!take(r, obj ? '}' : ']')) {
    for (;;) {
      if (nh == JOB_MAX_HEADERS) return fail(err, errlen, "\"headers\": more than %s", "100");
      guise_header *h = &s->headers[nh];
      if (obj) {
        ws(r);
        size_t n;
        if (jstring(r, &h->name, &n) != 0) return -1;
        if (strlen(h->name) != n) return fail(err, errlen, "%s", "\"headers\": a NUL character");
        for (size_t i = 0; i < nh; i++) /* at most 100: quadratic is fine */
          if (strcmp(s->headers[i].name, h->name) == 0)
            return fail(err, errlen, "\"headers\": \"%.64s\" twice (use an array of [name, value])", h->name);
        ws(r);
        if (!take(r, ':')) return jr_fail(r, "expected ':'");
        ws(r);
        if (peek(r) != '"') return r->why ? -1 : fail(err, errlen, "%s", "\"headers\": values must be strings");
        if (header_str(r, &h->value, err, errlen) != 0) return -1;
      } else {
        ws(r);
        if (!take(r, '[')) return fail(err, errlen, "%s", "\"headers\": each entry must be [name, value]");
        if (header_str(r, &h->name, err, errlen) != 0) return -1;
        ws(r);
        if (!take(r, ',')) return fail(err, errlen, "%s", "\"headers\": each entry must be [name, value]");
        if (header_str(r, &h->value, err, errlen) != 0) return -1;
        ws(r);
        if (!take(r, ']')) return fail(err, errlen, "%s", "\"headers\": each entry must be [name, value]");
      }
      nh++;
      ws(r);
      if (take(r, ',')) continue;
      if (take(r, obj ? '}' : ']')) break;
      return jr_fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  job->headers = s->headers;
  job->n_headers = nh;
  return 0;
}

/* The members of a JSON job; the opening brace is next. */
static int parse_object(jr *r, guise_job *job, char *err, size_t errlen) {
  unsigned seen = 0;
  const char *body = NULL, *b64 = NULL, *http = NULL;
  size_t body_len = 0, b64_len = 0;
  int e = 0;
  if (!take(r, '{')) return fail(err, errlen, "%s", "a JSON job must be an object");
  ws(r);
  if (!take(r, '}')) {
    for (;;) {
      ws(r);
      /* The key, decoded and compared; its copy is not kept. */
      const char *key;
      size_t used = r->s->used;
      if (jstring(r, &key, NULL) != 0) return -1;
      r->s->used = used;
      int k = 0;
      while (k < K_N && strcmp(job_keys[k], key) != 0) k++;
      if (k < K_N) {
        if (seen & (1u << k)) return fail(err, errlen, "\"%s\" twice", job_keys[k]);
        seen |= 1u << k;
      }
      ws(r);
      if (!take(r, ':')) return jr_fail(r, "expected ':'");
      ws(r);
      switch (k) {
      case K_ID: {
        int c = peek(r);
        if (c == '-' || (c >= '0' && c <= '9')) {
          /* A number id is kept as its text: "id": 7 and "id": "7" are the same job. */
          const uint8_t *from = CBS_data(&r->in);
          int is_int;
          if (jnumber(r, &is_int) != 0) return -1;
          if (!is_int) return fail(err, errlen, "%s", "\"id\" must be a string or an integer");
          size_t n = (size_t)(CBS_data(&r->in) - from);
          char *o = r->s->arena + r->s->used;
          memcpy(o, from, n);
          o[n] = '\0';
          r->s->used += n + 1;
          job->id = o;
        } else if (c == '"' || c == 'n') {
          e = str_field(r, "id", &job->id, err, errlen);
        } else {
          if (jskip(r, 0) != 0) return -1;
          return fail(err, errlen, "%s", "\"id\" must be a string or an integer");
        }
        break;
      }
      case K_URL: e = str_field(r, "url", &job->url, err, errlen); break;
      case K_METHOD: e = str_field(r, "method", &job->method, err, errlen); break;
      case K_PROFILE: e = str_field(r, "profile", &job->profile, err, errlen); break;
      case K_PROXY: e = str_field(r, "proxy", &job->proxy, err, errlen); break;
      case K_HEADERS: e = headers_field(r, job, err, errlen); break;
      case K_BODY:
        if (take_null(r)) break;
        if (peek(r) != '"') {
          e = r->why ? -1 : fail(err, errlen, "%s", "\"body\" must be a string");
          break;
        }
        e = jstring(r, &body, &body_len);
        break;
      case K_BODY64:
        if (take_null(r)) break;
        if (peek(r) != '"') {
          e = r->why ? -1 : fail(err, errlen, "%s", "\"body_base64\" must be a string");
          break;
        }
        e = jstring(r, &b64, &b64_len);
        break;
      case K_HTTP:
        if (take_null(r)) break;
        if (peek(r) != '"') {
          e = r->why ? -1 : fail(err, errlen, "%s", "\"http\" must be \"1.1\" or \"2\"");
          break;
        }
        e = jstring(r, &http, NULL);
        break;
      case K_META: e = jcompact(r, &job->meta); break;
      default: e = jskip(r, 0); break; /* not ours: checked, ignored */
      }
      if (e) return e;
      ws(r);
      if (take(r, ',')) continue;
      if (take(r, '}')) break;
      return jr_fail(r, "expected ',' or '}'");
    }
  }
  ws(r);
  if (CBS_len(&r->in)) return jr_fail(r, "end of line expected");
  if (job->url == NULL) return fail(err, errlen, "%s", "no \"url\"");
  if (body && b64) return fail(err, errlen, "%s", "\"body\" and \"body_base64\" together");
  if (body) {
    job->body = (const unsigned char *)body;
    job->body_len = body_len;
    job->has_body = 1;
  }
  if (b64) {
    long got = b64_in_place((char *)b64, b64_len);
    if (got < 0) return fail(err, errlen, "%s", "\"body_base64\" is not base64");
    job->body = (const unsigned char *)b64;
    job->body_len = (size_t)got;
    job->has_body = 1;
  }
  if (http) {
    if (!strcmp(http, "1.1")) job->http_version = 1;
    else if (!strcmp(http, "2")) job->http_version = 2;
    else return fail(err, errlen, "%s", "\"http\" must be \"1.1\" or \"2\"");
  }
  return 0;
}

int guise_job_parse(const char *line, size_t len, guise_job *job, guise_job_store **store, char *err,
                    size_t errlen) {
  *store = NULL;
  err[0] = '\0';
  unsigned long long lineno = job->line;
  memset(job, 0, sizeof(*job));
  job->size = sizeof(*job);
  job->line = lineno;
  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  size_t i = 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
  if (i == len || line[i] == '#') return 1;
  if (len > JOB_MAX_LINE) return fail(err, errlen, "line longer than %s", "8 MiB");
  guise_job_store *s = calloc(1, sizeof(*s));
  if (s == NULL) return GUISE_E_NOMEM;
  s->cap = len - i + 1;
  s->arena = malloc(s->cap);
  if (s->arena == NULL) {
    free(s);
    return GUISE_E_NOMEM;
  }
  if (line[i] != '{') {
    /* A plain URL: the rest of the line, trailing blanks dropped. */
    size_t end = len;
    while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t')) end--;
    if (memchr(line + i, '\0', end - i) || memchr(line + i, ' ', end - i)) {
      guise_job_free(s);
      return fail(err, errlen, "%s", "a URL line holds a space or NUL (a JSON job starts with '{')");
    }
    memcpy(s->arena, line + i, end - i);
    s->arena[end - i] = '\0';
    job->url = s->arena;
    *store = s;
    return 0;
  }
  jr r = {.line = (const uint8_t *)line, .s = s};
  CBS_init(&r.in, (const uint8_t *)line + i, len - i);
  int e = parse_object(&r, job, err, errlen);
  if (e && r.why) e = fail(err, errlen, "JSON: %s at column %zu", r.why, r.at + 1);
  if (e) {
    guise_job_free(s);
    memset(job, 0, sizeof(*job));
    job->size = sizeof(*job);
    job->line = lineno;
    return e;
  }
  *store = s;
  return 0;
}

int guise_record_id(const char *line, size_t len, char *id, size_t cap) {
  if (line == NULL || id == NULL || cap == 0) return -1;
  /* The record's first member, as guise batch writes it: {"id":"..." */
  guise_job_store st;
  st.arena = id;
  st.used = 0;
  st.cap = cap;
  jr r = {.line = (const uint8_t *)line, .s = &st};
  CBS_init(&r.in, (const uint8_t *)line, len);
  ws(&r);
  if (!take(&r, '{')) return -1;
  ws(&r);
  const char *key;
  if (jstring(&r, &key, NULL) != 0 || strcmp(key, "id") != 0) return -1;
  st.used = 0;
  ws(&r);
  if (!take(&r, ':')) return -1;
  ws(&r);
  const char *v;
  size_t n;
  if (jstring(&r, &v, &n) != 0 || strlen(v) != n) return -1;
  return 0;
}

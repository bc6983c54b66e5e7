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

#include "guise.h"
#include "json_read.h"

/* Longest job line: a request body inline, base64 included. */
#define JOB_MAX_LINE (8u << 20)
/* Headers per job: as many as a request takes. */
#define JOB_MAX_HEADERS 100
/* The longest id: what --resume reads back from a record (docs/BATCH.md). */
#define JOB_MAX_ID 1024

/* One allocation per job: the store and its arena after it. Not zeroed: the
 * headers are written as they are read, and only those are read back. */
struct guise_job_store {
  char *arena;
  size_t used, cap;
  guise_header headers[JOB_MAX_HEADERS];
};

void guise_job_free(guise_job_store *s) { free(s); }

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return GUISE_E_USAGE_INVALID_ARGUMENT;
}

/* RFC 4648 base64 (either alphabet), padding optional, decoded in place (the
 * output never passes the input). Canonical only: a dangling character, unused
 * bits that are not zero, or padding that does not fit are refused (-1). */
static long b64_in_place(char *s, size_t n) {
  size_t pad = 0;
  while (n && s[n - 1] == '=' && pad < 2) {
    n--;
    pad++;
  }
  if (pad && (n + pad) % 4 != 0) return -1;
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
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
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return -1;
  return (long)o;
}

/* ---- the job ---------------------------------------------------------------------- */

enum { K_ID, K_URL, K_METHOD, K_PROFILE, K_PROXY, K_HEADERS, K_BODY, K_BODY64, K_HTTP, K_META, K_KIND, K_REFERER, K_N };
static const char *const job_keys[K_N] = {"id",   "url",         "method", "profile", "proxy", "headers",
                                          "body", "body_base64", "http",   "meta",    "kind",  "referer"};

/* A string field's value, or null (left NULL). */
static int str_field(jread *r, const char *key, const char **out, char *err, size_t errlen) {
  if (jread_null(r)) return 0;
  if (r->why) return -1;
  jread_ws(r);
  if (jread_peek(r) != '"') return fail(err, errlen, "\"%s\" must be a string", key);
  size_t n;
  if (jread_string(r, out, &n) != 0) return -1;
  if (strlen(*out) != n) return fail(err, errlen, "\"%s\" holds a NUL character", key);
  return 0;
}

static int header_str(jread *r, const char **out, char *err, size_t errlen) {
  jread_ws(r);
  if (jread_peek(r) != '"') return fail(err, errlen, "%s", "\"headers\": names and values must be strings");
  size_t n;
  if (jread_string(r, out, &n) != 0) return -1;
  if (strlen(*out) != n) return fail(err, errlen, "%s", "\"headers\": a NUL character");
  return 0;
}

static int headers_field(jread *r, guise_job_store *s, guise_job *job, char *err, size_t errlen) {
  size_t nh = 0;
  if (jread_null(r)) return 0;
  jread_ws(r);
  int obj = jread_peek(r) == '{';
  if (!obj && jread_peek(r) != '[')
    return r->why ? -1 : fail(err, errlen, "%s", "\"headers\" must be an object or an array of [name, value]");
  CBS_skip(&r->in, 1);
  jread_ws(r);
  if (!jread_take(r, obj ? '}' : ']')) {
    for (;;) {
      if (nh == JOB_MAX_HEADERS) return fail(err, errlen, "\"headers\": more than %s", "100");
      guise_header *h = &s->headers[nh];
      if (obj) {
        jread_ws(r);
        size_t n;
        if (jread_string(r, &h->name, &n) != 0) return -1;
        if (strlen(h->name) != n) return fail(err, errlen, "%s", "\"headers\": a NUL character");
        for (size_t i = 0; i < nh; i++) /* at most 100: quadratic is fine */
          if (strcmp(s->headers[i].name, h->name) == 0)
            return fail(err, errlen, "\"headers\": \"%.64s\" twice (use an array of [name, value])", h->name);
        jread_ws(r);
        if (!jread_take(r, ':')) return jread_fail(r, "expected ':'");
        jread_ws(r);
        if (jread_peek(r) != '"') return r->why ? -1 : fail(err, errlen, "%s", "\"headers\": values must be strings");
        if (header_str(r, &h->value, err, errlen) != 0) return -1;
      } else {
        jread_ws(r);
        if (!jread_take(r, '[')) return fail(err, errlen, "%s", "\"headers\": each entry must be [name, value]");
        if (header_str(r, &h->name, err, errlen) != 0) return -1;
        jread_ws(r);
        if (!jread_take(r, ',')) return fail(err, errlen, "%s", "\"headers\": each entry must be [name, value]");
        if (header_str(r, &h->value, err, errlen) != 0) return -1;
        jread_ws(r);
        if (!jread_take(r, ']')) return fail(err, errlen, "%s", "\"headers\": each entry must be [name, value]");
      }
      nh++;
      jread_ws(r);
      if (jread_take(r, ',')) continue;
      if (jread_take(r, obj ? '}' : ']')) break;
      return jread_fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  job->headers = s->headers;
  job->n_headers = nh;
  return 0;
}

/* The id rules (docs/BATCH.md): 1 to 1,024 bytes (--resume reads ids back from
 * the records; a longer one was not remembered and ran again on every resume),
 * no control character (U+0000-U+001F, U+007F), not starting with '#' (the ids
 * guise batch gives lines of its own: "#N"). The JSON reader made it UTF-8. */
static int id_check(const char *id, char *err, size_t errlen) {
  size_t n = strlen(id);
  if (n == 0) return fail(err, errlen, "%s", "\"id\" is empty");
  if (n > JOB_MAX_ID) return fail(err, errlen, "\"id\" is %zu bytes long (at most 1024)", n);
  if (id[0] == '#') return fail(err, errlen, "%s", "\"id\" starts with '#' (kept for ids guise gives)");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
      return fail(err, errlen, "\"id\" holds a control character at byte %zu", i + 1);
  return 0;
}

/* The members of a JSON job; the opening brace is next. */
static int parse_object(jread *r, guise_job_store *r_store, guise_job *job, char *err, size_t errlen) {
  unsigned seen = 0;
  const char *body = NULL, *b64 = NULL, *http = NULL;
  size_t body_len = 0, b64_len = 0, http_len = 0;
  int e = 0;
  if (!jread_take(r, '{')) return fail(err, errlen, "%s", "a JSON job must be an object");
  jread_ws(r);
  if (!jread_take(r, '}')) {
    for (;;) {
      jread_ws(r);
      /* The key, decoded and compared; its copy is not kept. */
      const char *key;
      size_t used = r->used;
      size_t key_len;
      if (jread_string(r, &key, &key_len) != 0) return -1;
      r->used = used;
      int k = 0;
      while (k < K_N && (strlen(job_keys[k]) != key_len || memcmp(job_keys[k], key, key_len) != 0)) k++;
      if (k < K_N) {
        if (seen & (1u << k)) return fail(err, errlen, "\"%s\" twice", job_keys[k]);
        seen |= 1u << k;
      }
      jread_ws(r);
      if (!jread_take(r, ':')) return jread_fail(r, "expected ':'");
      jread_ws(r);
      switch (k) {
      case K_ID: {
        int c = jread_peek(r);
        if (c == '-' || (c >= '0' && c <= '9')) {
          /* A number id is kept as its text: "id": 7 and "id": "7" are the same job. */
          const uint8_t *from = CBS_data(&r->in);
          int is_int;
          if (jread_number(r, &is_int) != 0) return -1;
          if (!is_int) return fail(err, errlen, "%s", "\"id\" must be a string or an integer");
          size_t n = (size_t)(CBS_data(&r->in) - from);
          char *o = r->arena + r->used;
          memcpy(o, from, n);
          o[n] = '\0';
          r->used += n + 1;
          job->id = o;
        } else if (c == '"' || c == 'n') {
          e = str_field(r, "id", &job->id, err, errlen);
        } else {
          if (jread_skip(r, 0) != 0) return -1;
          return fail(err, errlen, "%s", "\"id\" must be a string or an integer");
        }
        break;
      }
      case K_URL: e = str_field(r, "url", &job->url, err, errlen); break;
      case K_METHOD: e = str_field(r, "method", &job->method, err, errlen); break;
      case K_PROFILE: e = str_field(r, "profile", &job->profile, err, errlen); break;
      case K_PROXY: e = str_field(r, "proxy", &job->proxy, err, errlen); break;
      case K_KIND: e = str_field(r, "kind", &job->kind, err, errlen); break;
      case K_REFERER: e = str_field(r, "referer", &job->referer, err, errlen); break;
      case K_HEADERS: e = headers_field(r, r_store, job, err, errlen); break;
      case K_BODY:
        if (jread_null(r)) break;
        if (jread_peek(r) != '"') {
          e = r->why ? -1 : fail(err, errlen, "%s", "\"body\" must be a string");
          break;
        }
        e = jread_string(r, &body, &body_len);
        break;
      case K_BODY64:
        if (jread_null(r)) break;
        if (jread_peek(r) != '"') {
          e = r->why ? -1 : fail(err, errlen, "%s", "\"body_base64\" must be a string");
          break;
        }
        e = jread_string(r, &b64, &b64_len);
        break;
      case K_HTTP:
        if (jread_null(r)) break;
        if (jread_peek(r) != '"') {
          e = r->why ? -1 : fail(err, errlen, "%s", "\"http\" must be \"1.1\" or \"2\"");
          break;
        }
        e = jread_string(r, &http, &http_len);
        break;
      case K_META: e = jread_compact(r, &job->meta); break;
      default: e = jread_skip(r, 0); break; /* not ours: checked, ignored */
      }
      if (e) return e;
      jread_ws(r);
      if (jread_take(r, ',')) continue;
      if (jread_take(r, '}')) break;
      return jread_fail(r, "expected ',' or '}'");
    }
  }
  jread_ws(r);
  if (CBS_len(&r->in)) return jread_fail(r, "end of line expected");
  if (job->url == NULL) return fail(err, errlen, "%s", "no \"url\"");
  if (job->id && (e = id_check(job->id, err, errlen)) != 0) return e;
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
    if (http_len == 3 && !memcmp(http, "1.1", 3)) job->http_version = 1;
    else if (http_len == 1 && http[0] == '2') job->http_version = 2;
    else if (http_len == 1 && http[0] == '3') job->http_version = GUISE_HTTP_3;
    else if (http_len == 6 && !memcmp(http, "3-only", 6)) job->http_version = GUISE_HTTP_3_ONLY;
    else return fail(err, errlen, "%s", "\"http\" must be \"1.1\", \"2\", \"3\" or \"3-only\"");
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
  size_t cap = len - i + 1;
  guise_job_store *s = malloc(sizeof(*s) + cap);
  if (s == NULL) return GUISE_E_NOMEM;
  s->arena = (char *)(s + 1);
  s->used = 0;
  s->cap = cap;
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
  jread r;
  jread_init(&r, (const uint8_t *)line + i, len - i, s->arena, s->cap);
  r.base = (const uint8_t *)line; /* columns count from the line's start */
  int e = parse_object(&r, s, job, err, errlen);
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
  jread r;
  jread_init(&r, (const uint8_t *)line, len, id, cap);
  jread_ws(&r);
  if (!jread_take(&r, '{')) return -1;
  jread_ws(&r);
  const char *key;
  size_t key_len;
  if (jread_string(&r, &key, &key_len) != 0 || key_len != 2 || memcmp(key, "id", 2) != 0) return -1;
  r.used = 0;
  jread_ws(&r);
  if (!jread_take(&r, ':')) return -1;
  jread_ws(&r);
  const char *v;
  size_t n;
  if (jread_string(&r, &v, &n) != 0 || strlen(v) != n) return -1;
  return 0;
}

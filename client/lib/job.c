/*
 * job.c — one line of a batch input: a URL, or a JSON object (guise_job_parse,
 * docs/BATCH.md). The line is bounded by the caller (and here by
 * JOB_MAX_LINE); jansson parses it from its length, never past it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guise.h"

/* Longest job line: a request body inline, base64 included. */
#define JOB_MAX_LINE (8u << 20)
/* Headers per job: as many as a request takes. */
#define JOB_MAX_HEADERS 100

struct guise_job_store {
  json_t *root;
  char *url;                       /* a plain-URL line */
  guise_header headers[JOB_MAX_HEADERS];
  unsigned char *body;             /* body_base64 decoded */
  char *meta;                      /* "meta" re-serialised */
};

void guise_job_free(guise_job_store *s) {
  if (s == NULL) return;
  json_decref(s->root);
  free(s->url);
  free(s->body);
  free(s->meta);
  free(s);
}

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* RFC 4648 base64 (either alphabet), padding optional. -1 on a bad character. */
static long b64decode(const char *s, size_t n, unsigned char *out) {
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=') break;
    int v = b64val((unsigned char)s[i]);
    if (v < 0) return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
    }
  }
  return (long)o;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return GUISE_E_USAGE_INVALID_ARGUMENT;
}

static int opt_string(json_t *root, const char *key, const char **out, char *err, size_t errlen) {
  json_t *v = json_object_get(root, key);
  if (v == NULL || json_is_null(v)) return 0;
  if (!json_is_string(v)) return fail(err, errlen, "\"%s\" must be a string", key);
  if (strlen(json_string_value(v)) != json_string_length(v))
    return fail(err, errlen, "\"%s\" holds a NUL character", key);
  *out = json_string_value(v);
  return 0;
}

static int header_pair(guise_job_store *s, size_t *n, json_t *name, json_t *value, char *err,
                       size_t errlen) {
  if (!json_is_string(name) || !json_is_string(value))
    return fail(err, errlen, "%s", "\"headers\": names and values must be strings");
  if (*n == JOB_MAX_HEADERS) return fail(err, errlen, "\"headers\": more than %s", "100");
  if (strlen(json_string_value(name)) != json_string_length(name) ||
      strlen(json_string_value(value)) != json_string_length(value))
    return fail(err, errlen, "%s", "\"headers\": a NUL character");
  s->headers[*n].name = json_string_value(name);
  s->headers[*n].value = json_string_value(value);
  (*n)++;
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
  if (line[i] != '{') {
    /* A plain URL: the rest of the line, trailing blanks dropped. */
    size_t end = len;
    while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t')) end--;
    if (memchr(line + i, '\0', end - i) || memchr(line + i, ' ', end - i)) {
      guise_job_free(s);
      return fail(err, errlen, "%s", "a URL line holds a space or NUL (a JSON job starts with '{')");
    }
    s->url = strndup(line + i, end - i);
    if (s->url == NULL) {
      guise_job_free(s);
      return GUISE_E_NOMEM;
    }
    job->url = s->url;
    *store = s;
    return 0;
  }
  json_error_t je;
  s->root = json_loadb(line + i, len - i, JSON_REJECT_DUPLICATES, &je);
  if (s->root == NULL || !json_is_object(s->root)) {
    if (s->root) snprintf(err, errlen, "a JSON job must be an object");
    else snprintf(err, errlen, "JSON: %s at column %d", je.text, je.column + (int)i);
    guise_job_free(s);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  json_t *root = s->root;
  int e = 0;
  json_t *id = json_object_get(root, "id");
  if (id && json_is_integer(id)) {
    /* A number id is kept as its text: "id": 7 and "id": "7" are the same job. */
    char *txt = json_dumps(id, JSON_ENCODE_ANY);
    if (txt) {
      json_object_set_new(root, "id", json_string(txt));
      free(txt);
    }
  } else if (id && !json_is_string(id) && !json_is_null(id)) {
    e = fail(err, errlen, "%s", "\"id\" must be a string or an integer");
  }
  if (!e) e = opt_string(root, "id", &job->id, err, errlen);
  if (!e) e = opt_string(root, "url", &job->url, err, errlen);
  if (!e && job->url == NULL) e = fail(err, errlen, "%s", "no \"url\"");
  if (!e) e = opt_string(root, "method", &job->method, err, errlen);
  if (!e) e = opt_string(root, "profile", &job->profile, err, errlen);
  if (!e) e = opt_string(root, "proxy", &job->proxy, err, errlen);
  json_t *h = json_object_get(root, "headers");
  size_t nh = 0;
  if (!e && h && json_is_object(h)) {
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) {
      if (!json_is_string(v)) {
        e = fail(err, errlen, "%s", "\"headers\": values must be strings");
        break;
      }
      if (nh == JOB_MAX_HEADERS) {
        e = fail(err, errlen, "\"headers\": more than %s", "100");
        break;
      }
      if (strlen(json_string_value(v)) != json_string_length(v)) {
        e = fail(err, errlen, "%s", "\"headers\": a NUL character");
        break;
      }
      s->headers[nh].name = k;
      s->headers[nh].value = json_string_value(v);
      nh++;
    }
  } else if (!e && h && json_is_array(h)) {
    size_t idx;
    json_t *pair;
    json_array_foreach(h, idx, pair) {
      if (!json_is_array(pair) || json_array_size(pair) != 2) {
        e = fail(err, errlen, "%s", "\"headers\": each entry must be [name, value]");
        break;
      }
      e = header_pair(s, &nh, json_array_get(pair, 0), json_array_get(pair, 1), err, errlen);
      if (e) break;
    }
  } else if (!e && h && !json_is_null(h)) {
    e = fail(err, errlen, "%s", "\"headers\" must be an object or an array of [name, value]");
  }
  job->headers = s->headers;
  job->n_headers = nh;
  json_t *body = json_object_get(root, "body");
  json_t *b64 = json_object_get(root, "body_base64");
  if (!e && body && b64) e = fail(err, errlen, "%s", "\"body\" and \"body_base64\" together");
  if (!e && body && !json_is_null(body)) {
    if (!json_is_string(body)) {
      e = fail(err, errlen, "%s", "\"body\" must be a string");
    } else {
      job->body = (const unsigned char *)json_string_value(body);
      job->body_len = json_string_length(body);
      job->has_body = 1;
    }
  }
  if (!e && b64 && !json_is_null(b64)) {
    if (!json_is_string(b64)) {
      e = fail(err, errlen, "%s", "\"body_base64\" must be a string");
    } else {
      size_t n = json_string_length(b64);
      s->body = malloc(n / 4 * 3 + 3);
      long got = s->body ? b64decode(json_string_value(b64), n, s->body) : -1;
      if (got < 0) {
        e = fail(err, errlen, "%s", "\"body_base64\" is not base64");
      } else {
        job->body = s->body;
        job->body_len = (size_t)got;
        job->has_body = 1;
      }
    }
  }
  json_t *hv = json_object_get(root, "http");
  if (!e && hv && !json_is_null(hv)) {
    const char *v = json_is_string(hv) ? json_string_value(hv) : "";
    if (!strcmp(v, "1.1")) job->http_version = 1;
    else if (!strcmp(v, "2")) job->http_version = 2;
    else e = fail(err, errlen, "%s", "\"http\" must be \"1.1\" or \"2\"");
  }
  json_t *meta = json_object_get(root, "meta");
  if (!e && meta) {
    s->meta = json_dumps(meta, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s->meta == NULL) e = GUISE_E_NOMEM;
    job->meta = s->meta;
  }
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

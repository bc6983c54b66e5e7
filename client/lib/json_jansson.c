/* json_jansson.c — see json_jansson.h. */
#include "json_jansson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"

/* NULL with |*why| set when a value cannot be carried (a string holding NUL,
 * a number out of a double's range), or out of memory. */
static json_t *convert(const jv *v, const char *text, size_t len, const char **why) {
  switch (v->type) {
  case JV_OBJECT: {
    json_t *o = json_object();
    for (const jv *m = v->child; o && m; m = m->next) {
      if (strlen(m->key) != m->key_len) {
        *why = "a key holds a NUL character";
        json_decref(o);
        return NULL;
      }
      json_t *c = convert(m, text, len, why);
      if (c == NULL || json_object_setn_new(o, m->key, m->key_len, c) != 0) {
        json_decref(o);
        return NULL;
      }
    }
    return o;
  }
  case JV_ARRAY: {
    json_t *a = json_array();
    for (const jv *m = v->child; a && m; m = m->next) {
      json_t *c = convert(m, text, len, why);
      if (c == NULL || json_array_append_new(a, c) != 0) {
        json_decref(a);
        return NULL;
      }
    }
    return a;
  }
  case JV_STRING:
    if (strlen(v->str) != v->len) {
      *why = "a string holds a NUL character";
      return NULL;
    }
    return json_stringn(v->str, v->len);
  case JV_TRUE:
    return json_true();
  case JV_FALSE:
    return json_false();
  case JV_NULL:
    return json_null();
  case JV_INTEGER:
  case JV_REAL: {
    if (v->type == JV_INTEGER && v->num_ok) return json_integer(v->num);
    /* a fraction, an exponent, or an integer beyond long long: a double. The
     * number's extent is found again with the reader (checked already). */
    jread r;
    jread_init(&r, (const uint8_t *)text + v->off, len - v->off, NULL, 0);
    int is_int;
    if (jread_number(&r, &is_int) != 0) {
      *why = "invalid number";
      return NULL;
    }
    size_t n = (size_t)(CBS_data(&r.in) - r.base);
    char *num = malloc(n + 1);
    if (num == NULL) return NULL;
    memcpy(num, text + v->off, n);
    num[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(num, &end);
    int bad = errno == ERANGE && (d > 1 || d < -1); /* overflow; underflow to 0 is fine */
    free(num);
    if (bad) {
      *why = "a number out of range";
      return NULL;
    }
    return json_real(d);
  }
  }
  return NULL;
}

json_t *json_read_jansson(const char *text, size_t len, char *err, size_t errlen) {
  jv_doc doc;
  const char *why;
  size_t at;
  if (jv_parse(text, len, &doc, &why, &at) != 0) {
    int line, col;
    jread_line_col(text, len, at, &line, &col);
    if (err) snprintf(err, errlen, "%d:%d: %s", line, col, why);
    return NULL;
  }
  const char *bad = NULL;
  json_t *out = convert(doc.root, text, len, &bad);
  jv_free(&doc);
  if (out == NULL && err) snprintf(err, errlen, "%s", bad ? bad : "out of memory");
  return out;
}

json_t *json_read_jansson_file(const char *path, size_t max, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s", strerror(errno));
    return NULL;
  }
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
  int rd_err = ferror(f);
  fclose(f);
  if (buf == NULL || rd_err || n > max) {
    snprintf(err, errlen, "%s", buf == NULL ? "out of memory" : rd_err ? "read error" : "file too large");
    free(buf);
    return NULL;
  }
  json_t *out = json_read_jansson(buf, n, err, errlen);
  free(buf);
  return out;
}

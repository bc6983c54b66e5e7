/* json_jansson.c — see json_jansson.h. */
#include "json_jansson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"

static json_t *convert(const jv *v, const char *text, size_t len) {
  switch (v->type) {
  case JV_OBJECT: {
    json_t *o = json_object();
    for (const jv *m = v->child; o && m; m = m->next) {
      json_t *c = convert(m, text, len);
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
      json_t *c = convert(m, text, len);
      if (c == NULL || json_array_append_new(a, c) != 0) {
        json_decref(a);
        return NULL;
      }
    }
    return a;
  }
  case JV_STRING:
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
    /* a fraction, an exponent, or an integer beyond long long: a real */
    char num[64];
    size_t n = 0;
    while (v->off + n < len && n < sizeof(num) - 1 && strchr("0123456789+-.eE", text[v->off + n]) && text[v->off + n])
      n++;
    memcpy(num, text + v->off, n);
    num[n] = '\0';
    return json_real(strtod(num, NULL));
  }
  }
  return NULL;
}

json_t *json_read_jansson(const char *text, size_t len, char *err, size_t errlen) {
  jv_doc doc;
  const char *why;
  size_t at;
  if (jv_parse(text, len, &doc, &why, &at) != 0) {
    int line = 1, col = 1;
    for (size_t i = 0; i < at && i < len; i++) {
      if (text[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    if (err) snprintf(err, errlen, "%d:%d: %s", line, col, why);
    return NULL;
  }
  json_t *out = convert(doc.root, text, len);
  jv_free(&doc);
  if (out == NULL && err) snprintf(err, errlen, "out of memory");
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

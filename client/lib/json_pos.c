/* json_pos.c — see json_pos.h. A small scanner over valid JSON (RFC 8259),
 * reading through a bounded cursor. */
#include "json_pos.h"

#include <string.h>

#include <openssl/bytestring.h>

typedef struct scan {
  CBS cbs;
  const char *start;
} scan;

static size_t offset(const scan *s) { return (size_t)((const char *)CBS_data(&s->cbs) - s->start); }

static int peek(const scan *s) { return CBS_len(&s->cbs) ? CBS_data(&s->cbs)[0] : -1; }

static void skip_ws(scan *s) {
  while (CBS_len(&s->cbs)) {
    uint8_t c = CBS_data(&s->cbs)[0];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    CBS_skip(&s->cbs, 1);
  }
}

/* Skips a string; with |out|, copies up to |cap| - 1 raw bytes of its content
 * (escapes kept as written: profile keys are plain ASCII). */
static int skip_string(scan *s, char *out, size_t cap) {
  uint8_t c;
  if (!CBS_get_u8(&s->cbs, &c) || c != '"') return -1;
  size_t n = 0;
  while (CBS_get_u8(&s->cbs, &c)) {
    if (c == '"') {
      if (out) out[n < cap ? n : cap - 1] = '\0';
      return 0;
    }
    if (out && n + 1 < cap) out[n++] = (char)c;
    if (c == '\\' && !CBS_skip(&s->cbs, 1)) return -1;
  }
  return -1;
}

static int skip_value(scan *s);

static int skip_container(scan *s, uint8_t close) {
  CBS_skip(&s->cbs, 1);
  skip_ws(s);
  if (peek(s) == close) return CBS_skip(&s->cbs, 1) ? 0 : -1;
  for (;;) {
    skip_ws(s);
    if (close == '}') {
      if (skip_string(s, NULL, 0) != 0) return -1;
      skip_ws(s);
      if (peek(s) != ':' || !CBS_skip(&s->cbs, 1)) return -1;
    }
    if (skip_value(s) != 0) return -1;
    skip_ws(s);
    int c = peek(s);
    if (!CBS_skip(&s->cbs, 1)) return -1;
    if (c == close) return 0;
    if (c != ',') return -1;
  }
}

static int skip_value(scan *s) {
  skip_ws(s);
  int c = peek(s);
  if (c == '"') return skip_string(s, NULL, 0);
  if (c == '{') return skip_container(s, '}');
  if (c == '[') return skip_container(s, ']');
  /* number, true, false, null: up to a delimiter */
  while (CBS_len(&s->cbs)) {
    uint8_t d = CBS_data(&s->cbs)[0];
    if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\n' || d == '\r' || d == '\t') break;
    CBS_skip(&s->cbs, 1);
  }
  return 0;
}

static void to_line_col(const char *text, size_t off, int *line, int *col) {
  int l = 1, c = 1;
  for (size_t i = 0; i < off; i++) {
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

int json_pos_find(const char *text, size_t len, const json_step *path, size_t n, int want_key,
                  int *line, int *col) {
  scan s = {.start = text};
  CBS_init(&s.cbs, (const uint8_t *)text, len);
  skip_ws(&s);
  size_t key_off = 0;
  for (size_t i = 0; i < n; i++) {
    skip_ws(&s);
    int c = peek(&s);
    int found = 0;
    if (path[i].key && c == '{') {
      CBS_skip(&s.cbs, 1);
      while (!found) {
        skip_ws(&s);
        if (peek(&s) == '}') return -1;
        size_t here = offset(&s);
        char key[128];
        if (skip_string(&s, key, sizeof(key)) != 0) return -1;
        skip_ws(&s);
        if (peek(&s) != ':' || !CBS_skip(&s.cbs, 1)) return -1;
        if (strcmp(key, path[i].key) == 0) {
          found = 1;
          key_off = here;
          break;
        }
        if (skip_value(&s) != 0) return -1;
        skip_ws(&s);
        if (peek(&s) == ',') CBS_skip(&s.cbs, 1);
      }
    } else if (!path[i].key && c == '[') {
      CBS_skip(&s.cbs, 1);
      for (size_t k = 0; k < path[i].index; k++) {
        skip_ws(&s);
        if (peek(&s) == ']' || skip_value(&s) != 0) return -1;
        skip_ws(&s);
        if (peek(&s) != ',' || !CBS_skip(&s.cbs, 1)) return -1;
      }
      skip_ws(&s);
      if (peek(&s) == ']') return -1;
      found = 1;
    }
    if (!found) return -1;
  }
  skip_ws(&s);
  size_t off = (want_key && n > 0 && path[n - 1].key) ? key_off : offset(&s);
  to_line_col(text, off, line, col);
  return 0;
}

/*
 * json_read.h — reading untrusted JSON (RFC 8259) through a bounded cursor (a CBS),
 * strictly: UTF-8 checked, lone surrogates and control characters in strings
 * refused, nesting bounded. Two ways to use it:
 *
 *   - a cursor (jread_*): values read one by one, strings decoded into a caller's
 *     arena — a JSON string never decodes longer than its quoted form, so an arena
 *     of the text's length + 1 holds every string of it (job.c);
 *   - a tree (jv_parse): the whole text as nodes, for readers that look values up
 *     by key (profile.c).
 */
#ifndef GUISE_JSON_READ_H
#define GUISE_JSON_READ_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

/* Nesting of arrays and objects. */
#define JREAD_MAX_DEPTH 64

typedef struct jread {
  CBS in;
  const uint8_t *base; /* the text's start: offsets in messages */
  char *arena;         /* decoded strings (NULL: strings may only be skipped) */
  size_t used, cap;
  const char *why;     /* the first error */
  size_t at;           /* its offset */
  size_t values;       /* values read (jread_skip counts them) */
} jread;

void jread_init(jread *r, const uint8_t *text, size_t len, char *arena, size_t cap);
/* -1 and the error (where the cursor is), once: the first one stays. */
int jread_fail(jread *r, const char *why);
void jread_ws(jread *r);
int jread_peek(const jread *r); /* the next byte, -1 at the end */
int jread_take(jread *r, uint8_t c); /* 1 if |c| was next (taken) */
/* A string, the opening quote next: decoded into the arena, NUL-terminated, or
 * only checked when |out| is NULL. 0 or -1. */
int jread_string(jread *r, const char **out, size_t *out_len);
/* A number; *is_int: no fraction or exponent. 0 or -1. */
int jread_number(jread *r, int *is_int);
/* Any value, checked and skipped (blanks before it too). 0 or -1. */
int jread_skip(jread *r, int depth);
/* null next (blanks skipped): taken, 1. */
int jread_null(jread *r);
/* Any value's text without the blanks between its tokens, into the arena. */
int jread_compact(jread *r, const char **out);
/* The 1-based line and column of byte |at| of |text|, as an editor counts them. */
void jread_line_col(const char *text, size_t len, size_t at, int *line, int *col);

/* ---- the tree --------------------------------------------------------------------- */

/* In the order of jansson's json_type, which the profile loader's messages follow. */
typedef enum { JV_OBJECT, JV_ARRAY, JV_STRING, JV_INTEGER, JV_REAL, JV_TRUE, JV_FALSE, JV_NULL } jv_type;

typedef struct jv {
  jv_type type;
  size_t off;             /* where the value starts in the text */
  const char *key;        /* a member's key (decoded), else NULL */
  size_t key_len;
  size_t key_off;         /* where the key starts in the text */
  const char *str;        /* JV_STRING: decoded, NUL-terminated */
  size_t len;             /* JV_STRING: bytes; JV_ARRAY, JV_OBJECT: members */
  long long num;          /* JV_INTEGER, when |num_ok| */
  int num_ok;             /* 0: an integer beyond long long */
  struct jv *child;       /* JV_ARRAY, JV_OBJECT: the first member */
  struct jv *next;        /* the next member of the parent */
} jv;

typedef struct jv_doc {
  jv *root;
  jv *nodes;
  char *arena;
} jv_doc;

/* The whole |text| (nothing may follow the value but blanks). Duplicate keys in an
 * object are refused. 0, or -1 with |why| and the byte offset |*at| of the error. */
int jv_parse(const char *text, size_t len, jv_doc *doc, const char **why, size_t *at);
void jv_free(jv_doc *doc);

const jv *jv_get(const jv *obj, const char *key); /* NULL: no such member, or not an object */
const jv *jv_at(const jv *arr, size_t i);         /* NULL past the end, or not an array */

#endif

/*
 * h1_request.c — HTTP/1.1 request head writer. See h1_request.h.
 *
 * One pass validates and sizes (nothing is written for a refused request),
 * a second writes through a CBB. Field names and values are copied byte for
 * byte: the order and case are the fingerprint (Chrome's HTTP/1.1 head is
 * "Host", "Connection", ... in Title-Case; its HTTP/2 one lowercase).
 */
#include "h1_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guise.h"

static int fail(h1_request_err *err, long field, const char *why) {
  if (err != NULL) {
    err->field = field;
    err->reason = why;
  }
  return GUISE_E_USAGE_INVALID_ARGUMENT;
}

/* RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. */
static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_token(const char *s) {
  if (s == NULL || s[0] == '\0') return 0;
  for (; *s; s++)
    if (!is_tchar((unsigned char)*s)) return 0;
  return 1;
}

/* Field values: everything but CR, LF and NUL, as Chrome's
 * HttpUtil::IsValidHeaderValue; a CR or LF would end the field early and let
 * the rest be read as another field or another request. NUL cannot occur in
 * a C string, so only CR and LF are looked for. */
static int is_safe_value(const char *s) {
  return strpbrk(s, "\r\n") == NULL;
}

/* The decimal text of |v| in |buf| (at least 21 bytes). */
static size_t u64_text(char *buf, uint64_t v) {
  return (size_t)snprintf(buf, 21, "%llu", (unsigned long long)v);
}

/* The plan of one request: validated, with where Content-Length goes. */
typedef struct plan {
  size_t len;
  int append_cl; /* write "Content-Length: N" after the last field */
  char cl[21];
  size_t cl_len;
} plan;

static int make_plan(const h1_request *r, plan *p, h1_request_err *err) {
  memset(p, 0, sizeof(*p));
  if (r == NULL || (r->fields == NULL && r->n_fields > 0)) return fail(err, -1, "no request");
  if (!is_token(r->method)) return fail(err, -1, "method is not a token (RFC 9110 §9.1)");
  if (r->target == NULL || r->target[0] == '\0') return fail(err, -1, "empty request-target");
  for (const char *t = r->target; *t; t++)
    if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
      return fail(err, -1, "request-target byte outside 0x21..0x7E (percent-encode it)");
  if (r->n_fields > H1_REQUEST_MAX_FIELDS) return fail(err, -1, "more than 100 header fields");
  p->cl_len = u64_text(p->cl, r->body_len);

  /* "METHOD SP target SP HTTP/1.1 CRLF" ... CRLF */
  size_t len = strlen(r->method) + 1 + strlen(r->target) + 1 + 8 + 2 + 2;
  int hosts = 0, cls = 0, te = 0;
  for (size_t i = 0; i < r->n_fields; i++) {
    const h1_field *f = &r->fields[i];
    if (!is_token(f->name)) return fail(err, (long)i, "field name is not a token (RFC 9110 §5.1)");
    size_t vlen;
    if (strcasecmp(f->name, "Host") == 0) hosts++;
    if (strcasecmp(f->name, "Transfer-Encoding") == 0) te++;
    if (strcasecmp(f->name, "Content-Length") == 0) {
      if (++cls > 1) return fail(err, (long)i, "more than one Content-Length");
      if (f->value == NULL) {
        if (!r->has_body) return fail(err, (long)i, "Content-Length to fill in, but no body");
        vlen = p->cl_len;
      } else {
        vlen = strlen(f->value);
        if (r->has_body && strcmp(f->value, p->cl) != 0)
          return fail(err, (long)i, "Content-Length differs from the body length");
      }
    } else {
      if (f->value == NULL) return fail(err, (long)i, "field without a value");
      vlen = strlen(f->value);
    }
    if (f->value != NULL && !is_safe_value(f->value))
      return fail(err, (long)i, "CR or LF in a field value (header injection)");
    len += strlen(f->name) + 2 + vlen + 2;
    if (len > H1_REQUEST_MAX_HEAD) return fail(err, (long)i, "head larger than 64 KiB");
  }
  if (hosts == 0) return fail(err, -1, "no Host field (RFC 9112 §3.2)");
  if (hosts > 1) return fail(err, -1, "more than one Host field (RFC 9112 §3.2)");
  if (cls > 0 && te > 0)
    return fail(err, -1, "Content-Length with Transfer-Encoding (RFC 9112 §6.2)");
  if (r->has_body && cls == 0 && te == 0) {
    p->append_cl = 1;
    len += strlen("Content-Length: ") + p->cl_len + 2;
  }
  if (len > H1_REQUEST_MAX_HEAD) return fail(err, -1, "head larger than 64 KiB");
  p->len = len;
  return 0;
}

int h1_request_size(const h1_request *r, size_t *len, h1_request_err *err) {
  plan p;
  int rc = make_plan(r, &p, err);
  if (rc == 0 && len != NULL) *len = p.len;
  return rc;
}

static int add_str(CBB *cbb, const char *s) {
  return CBB_add_bytes(cbb, (const uint8_t *)s, strlen(s));
}

/* Writes the head planned in |p|; the plan has checked everything. */
static int emit(const h1_request *r, const plan *p, CBB *cbb) {
  if (!add_str(cbb, r->method) || !CBB_add_u8(cbb, ' ') || !add_str(cbb, r->target) ||
      !add_str(cbb, " HTTP/1.1\r\n"))
    return 0;
  for (size_t i = 0; i < r->n_fields; i++) {
    const h1_field *f = &r->fields[i];
    const char *v = f->value != NULL ? f->value : p->cl;
    if (!add_str(cbb, f->name) || !add_str(cbb, ": ") || !add_str(cbb, v) ||
        !add_str(cbb, "\r\n"))
      return 0;
  }
  if (p->append_cl &&
      (!add_str(cbb, "Content-Length: ") || !add_str(cbb, p->cl) || !add_str(cbb, "\r\n")))
    return 0;
  return add_str(cbb, "\r\n");
}

int h1_request_write(const h1_request *r, uint8_t *out, size_t cap, size_t *len,
                     h1_request_err *err) {
  plan p;
  int rc = make_plan(r, &p, err);
  if (rc != 0) return rc;
  if (out == NULL || p.len > cap) return fail(err, -1, "head larger than the buffer");
  CBB cbb;
  size_t written;
  uint8_t *unused;
  if (!CBB_init_fixed(&cbb, out, cap) || !emit(r, &p, &cbb) ||
      !CBB_finish(&cbb, &unused, &written)) {
    CBB_cleanup(&cbb);
    return GUISE_E_INTERNAL; /* the plan's size was wrong: a bug here */
  }
  if (len != NULL) *len = written;
  return 0;
}

int h1_request_write_grow(const h1_request *r, uint8_t **buf, size_t *cap, size_t *len,
                          h1_request_err *err) {
  plan p;
  int rc = make_plan(r, &p, err);
  if (rc != 0) return rc;
  if (p.len > *cap) {
    uint8_t *q = realloc(*buf, p.len);
    if (q == NULL) return GUISE_E_NOMEM;
    *buf = q;
    *cap = p.len;
  }
  CBB cbb;
  size_t written;
  uint8_t *unused;
  if (!CBB_init_fixed(&cbb, *buf, *cap) || !emit(r, &p, &cbb) ||
      !CBB_finish(&cbb, &unused, &written)) {
    CBB_cleanup(&cbb);
    return GUISE_E_INTERNAL; /* the plan's size was wrong: a bug here */
  }
  if (len != NULL) *len = written;
  return 0;
}

int h1_request_write_cbb(const h1_request *r, CBB *cbb, size_t max, h1_request_err *err) {
  plan p;
  int rc = make_plan(r, &p, err);
  if (rc != 0) return rc;
  if (cbb == NULL || p.len > max) return fail(err, -1, "head larger than the maximum given");
  return emit(r, &p, cbb) ? 0 : GUISE_E_NOMEM;
}

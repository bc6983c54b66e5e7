/* HTTP/1.x request head (RFC 9112 §2.2 message format, §3 request line, §5 field lines),
 * parsed incrementally: each call resumes after the last complete line, so delivery in
 * any chunking (down to one byte per call) costs O(new bytes). Header names keep their
 * case and order; nothing is normalised. Lines are read through CBS. */
#include "guise_fp.h"

#include <openssl/bytestring.h>

#include <stdlib.h>
#include <string.h>

enum { STAGE_REQUEST_LINE = 0, STAGE_HEADERS = 1, STAGE_DONE = 2, STAGE_ERROR = -1 };

gfp_h1_request *gfp_h1_new(void) {
  gfp_h1_request *req = malloc(sizeof(*req));
  if (req != NULL) gfp_h1_reset(req);
  return req;
}

void gfp_h1_free(gfp_h1_request *req) { free(req); }

void gfp_h1_reset(gfp_h1_request *req) {
  memset(&req->method, 0, sizeof(req->method));
  memset(&req->target, 0, sizeof(req->target));
  req->version_major = req->version_minor = 0;
  req->headers = req->headers_;
  req->header_count = 0;
  req->head_len = 0;
  req->bare_lf = false;
  req->leading_empty_lines = 0;
  req->err_offset = 0;
  req->err_reason = NULL;
  req->scanned_ = 0;
  req->line_start_ = 0;
  req->stage_ = STAGE_REQUEST_LINE;
  req->method_off_ = req->method_len_ = req->target_off_ = req->target_len_ = 0;
}

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9112 §3.2 request-target: no whitespace or control characters. */
static bool is_target_char(uint8_t c) { return c > 0x20 && c != 0x7f; }

/* RFC 9110 §5.5 field-value characters: VCHAR, obs-text, SP, HTAB. */
static bool is_value_char(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static bool is_ows(uint8_t c) { return c == ' ' || c == '\t'; }

/* Number of leading bytes of |c| that satisfy |pred|. */
static size_t span(const CBS *c, bool (*pred)(uint8_t)) {
  const uint8_t *p = CBS_data(c);
  size_t n = 0;
  while (n < CBS_len(c) && pred(p[n])) n++;
  return n;
}

typedef struct h1ctx {
  gfp_h1_request *req;
  const uint8_t *base;
} h1ctx;

static gfp_status fail(h1ctx *c, const CBS *at, const char *reason) {
  c->req->err_offset = (size_t)(CBS_data(at) - c->base);
  c->req->err_reason = reason;
  c->req->stage_ = STAGE_ERROR;
  return GFP_ERROR;
}

static size_t off_of(const h1ctx *c, const CBS *s) { return (size_t)(CBS_data(s) - c->base); }

/* RFC 9112 §3: request-line = method SP request-target SP HTTP-version. */
static gfp_status request_line(h1ctx *c, CBS *line) {
  gfp_h1_request *req = c->req;
  CBS method, target;
  uint8_t sp;
  if (!CBS_get_bytes(line, &method, span(line, is_tchar)) || CBS_len(&method) == 0)
    return fail(c, line, "invalid method token (RFC 9112 §3.1)");
  const CBS sp1_at = *line;
  if (!CBS_get_u8(line, &sp) || sp != ' ')
    return fail(c, &sp1_at, "method not followed by a single SP (RFC 9112 §3)");
  const CBS target_at = *line;
  if (!CBS_get_bytes(line, &target, span(line, is_target_char)) || CBS_len(&target) == 0)
    return fail(c, &target_at, "invalid request-target (RFC 9112 §3.2)");
  const CBS sp2_at = *line;
  if (!CBS_get_u8(line, &sp) || sp != ' ')
    return fail(c, &sp2_at, "request-target not followed by a single SP (RFC 9112 §3)");
  /* RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. */
  const CBS version_at = *line;
  CBS name;
  uint8_t major, dot, minor;
  if (!CBS_get_bytes(line, &name, 5) || memcmp(CBS_data(&name), "HTTP/", 5) != 0 ||
      !CBS_get_u8(line, &major) || !CBS_get_u8(line, &dot) || !CBS_get_u8(line, &minor) ||
      major < '0' || major > '9' || dot != '.' || minor < '0' || minor > '9' || CBS_len(line) != 0)
    return fail(c, &version_at, "invalid HTTP-version (RFC 9112 §2.3)");
  req->method_off_ = off_of(c, &method);
  req->method_len_ = CBS_len(&method);
  req->target_off_ = off_of(c, &target);
  req->target_len_ = CBS_len(&target);
  req->version_major = (uint8_t)(major - '0');
  req->version_minor = (uint8_t)(minor - '0');
  return GFP_NEED_MORE;
}

/* RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. */
static gfp_status field_line(h1ctx *c, CBS *line) {
  gfp_h1_request *req = c->req;
  const CBS line_at = *line;
  uint8_t first = CBS_len(line) > 0 ? CBS_data(line)[0] : 0;
  if (is_ows(first)) /* §5.2: obs-fold is rejected by servers */
    return fail(c, &line_at, "obsolete line folding (RFC 9112 §5.2)");
  if (req->header_count >= GFP_H1_MAX_HEADERS)
    return fail(c, &line_at, "too many header fields (GFP_H1_MAX_HEADERS)");
  CBS name, value;
  uint8_t colon = 0;
  if (!CBS_get_bytes(line, &name, span(line, is_tchar)) || CBS_len(&name) == 0)
    return fail(c, line, "invalid field name (RFC 9110 §5.1)");
  const CBS colon_at = *line;
  if (!CBS_get_u8(line, &colon) || colon != ':') {
    /* §5.1: no whitespace is allowed between the field name and the colon. */
    const char *why = CBS_len(&colon_at) == 0 ? "field line without colon (RFC 9112 §5)"
                      : is_ows(colon)         ? "whitespace before colon (RFC 9112 §5.1)"
                                              : "invalid field name (RFC 9110 §5.1)";
    return fail(c, &colon_at, why);
  }
  /* Leading and trailing OWS are not part of the value (§5.1). Both skips stay inside
     * |line| by construction. */
  CBS_skip(line, span(line, is_ows));
  size_t vlen = CBS_len(line);
  while (vlen > 0 && is_ows(CBS_data(line)[vlen - 1])) vlen--;
  CBS_get_bytes(line, &value, vlen);
  CBS check = value;
  CBS_skip(&check, span(&check, is_value_char));
  if (CBS_len(&check) != 0)
    return fail(c, &check, "invalid character in field value (RFC 9110 §5.5)");
  req->hname_[req->header_count].off = off_of(c, &name);
  req->hname_[req->header_count].len = CBS_len(&name);
  req->hvalue_[req->header_count].off = off_of(c, &value);
  req->hvalue_[req->header_count].len = CBS_len(&value);
  req->header_count++;
  return GFP_NEED_MORE;
}

/* Copies the head into the object and points the public fields at the copy. */
static gfp_status finish(gfp_h1_request *req, const uint8_t *data, size_t head_len) {
  memcpy(req->head_, data, head_len);
  req->head_len = head_len;
  req->method.data = req->head_ + req->method_off_;
  req->method.len = req->method_len_;
  req->target.data = req->head_ + req->target_off_;
  req->target.len = req->target_len_;
  for (size_t i = 0; i < req->header_count; i++) {
    req->headers_[i].name.data = req->head_ + req->hname_[i].off;
    req->headers_[i].name.len = req->hname_[i].len;
    req->headers_[i].value.data = req->head_ + req->hvalue_[i].off;
    req->headers_[i].value.len = req->hvalue_[i].len;
  }
  req->stage_ = STAGE_DONE;
  return GFP_DONE;
}

gfp_status gfp_h1_parse(gfp_h1_request *req, const uint8_t *data, size_t len) {
  if (req->stage_ == STAGE_DONE) return GFP_DONE;
  if (req->stage_ == STAGE_ERROR) return GFP_ERROR;
  h1ctx c = {req, data};
  CBS all;
  CBS_init(&all, data, len);
  if (len < req->scanned_) {
    req->stage_ = STAGE_ERROR;
    req->err_offset = len;
    req->err_reason = "input shorter than in the previous call";
    return GFP_ERROR;
  }
  /* |rest| starts at the current (unterminated) line; |req->scanned_| bytes of it are
     * already known to contain no LF. */
  CBS rest = all;
  if (!CBS_skip(&rest, req->line_start_))
    return GFP_NEED_MORE; /* not reached: line_start_ <= scanned_ <= len */
  for (;;) {
    /* The LF of the current line must lie within GFP_H1_MAX_LINE + 2 bytes of its
         * start (content, CR, LF) and before offset GFP_H1_MAX_HEAD. Searching only that
         * window makes the outcome independent of how the input was chunked. */
    size_t window = CBS_len(&rest);
    size_t line_cap = GFP_H1_MAX_LINE + 2;
    size_t head_cap = GFP_H1_MAX_HEAD - req->line_start_; /* line_start_ <= MAX_HEAD */
    bool line_limited = line_cap <= head_cap;
    size_t cap = line_limited ? line_cap : head_cap;
    if (window > cap) window = cap;
    size_t done = req->scanned_ - req->line_start_;
    const uint8_t *lf = done < window ? memchr(CBS_data(&rest) + done, '\n', window - done) : NULL;
    if (lf == NULL) {
      req->scanned_ = req->line_start_ + window;
      if (CBS_len(&rest) < cap) return GFP_NEED_MORE;
      /* The whole window is here and holds no LF: the limit is exceeded. */
      CBS at = rest;
      if (line_limited) {
        CBS_skip(&at, GFP_H1_MAX_LINE);
        return fail(&c, &at, "line longer than GFP_H1_MAX_LINE");
      }
      CBS_skip(&at, head_cap);
      return fail(&c, &at, "request head larger than GFP_H1_MAX_HEAD");
    }
    CBS line;
    uint8_t nl;
    if (!CBS_get_bytes(&rest, &line, (size_t)(lf - CBS_data(&rest))) || !CBS_get_u8(&rest, &nl))
      return GFP_NEED_MORE;              /* not reached: lf is inside rest */
    size_t line_end = off_of(&c, &rest); /* just after the LF */
    /* RFC 9112 §2.2: CRLF ends a line; a bare LF is tolerated and recorded. */
    if (CBS_len(&line) > 0 && CBS_data(&line)[CBS_len(&line) - 1] == '\r') {
      CBS with_cr = line;
      CBS_get_bytes(&with_cr, &line, CBS_len(&with_cr) - 1);
    } else {
      req->bare_lf = true;
    }
    if (CBS_len(&line) > GFP_H1_MAX_LINE) { /* MAX_LINE + 1 bytes and a bare LF */
      CBS at = line;
      CBS_skip(&at, GFP_H1_MAX_LINE);
      return fail(&c, &at, "line longer than GFP_H1_MAX_LINE");
    }
    gfp_status st = GFP_NEED_MORE;
    if (req->stage_ == STAGE_REQUEST_LINE) {
      /* RFC 9112 §2.2: ignore empty lines received before the request-line. */
      if (CBS_len(&line) == 0) {
        req->leading_empty_lines++;
      } else {
        st = request_line(&c, &line);
        req->stage_ = st == GFP_ERROR ? STAGE_ERROR : STAGE_HEADERS;
      }
    } else if (CBS_len(&line) == 0) {
      return finish(req, data, line_end);
    } else {
      st = field_line(&c, &line);
    }
    if (st == GFP_ERROR) return GFP_ERROR;
    req->line_start_ = req->scanned_ = line_end;
  }
}

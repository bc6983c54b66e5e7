/*
 * h1_response.c — incremental HTTP/1.x response parser (RFC 9112). See
 * h1_response.h for what is accepted, what is refused and the caps.
 *
 * Lines (status, fields, chunk sizes, trailers) are gathered into bounded
 * buffers until their LF, then parsed whole through a CBS, so a line split
 * across any number of calls is parsed exactly once, the same way. Every
 * limit is checked against byte counts of the stream, and errors carry the
 * stream offset of the byte that broke them, so every split of the input
 * yields the same error at the same offset. Body bytes are never copied.
 */
#include "h1_response.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "guise.h"

enum {
  S_STATUS = 0,   /* status line (after optional empty lines) */
  S_HEADERS,      /* field lines up to the empty line */
  S_BODY_LENGTH,  /* Content-Length body */
  S_BODY_CLOSE,   /* body until EOF */
  S_CHUNK_SIZE,   /* chunk-size [ chunk-ext ] CRLF */
  S_CHUNK_DATA,   /* chunk-data */
  S_CHUNK_END,    /* the CRLF after chunk-data */
  S_TRAILERS,     /* trailer field lines up to the empty line */
  S_DONE
};

/* ---- buffers ---- */

static void buf_init(h1_buf *b, size_t max) {
  b->p = NULL;
  b->len = b->cap = 0;
  b->max = max;
}

static int buf_append(h1_buf *b, const uint8_t *d, size_t n) {
  if (n > b->max - b->len) return GUISE_E_INTERNAL; /* callers check the caps first */
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) cap *= 2;
    if (cap > b->max) cap = b->max;
    uint8_t *q = realloc(b->p, cap);
    if (q == NULL) return GUISE_E_NOMEM;
    b->p = q;
    b->cap = cap;
  }
  if (n > 0) memcpy(b->p + b->len, d, n);
  b->len += n;
  return 0;
}

/* ---- life cycle ---- */

void h1_response_init(h1_response *p, unsigned flags) {
  memset(p, 0, sizeof(*p));
  buf_init(&p->head, H1_MAX_HEAD);
  buf_init(&p->trail, H1_MAX_HEAD);
  buf_init(&p->scratch, H1_MAX_CHUNK_LINE + 1);
  p->flags = flags;
  p->state = S_STATUS;
}

void h1_response_reset(h1_response *p, unsigned flags) {
  h1_buf head = p->head, trail = p->trail, scratch = p->scratch;
  memset(p, 0, sizeof(*p));
  p->head = head;
  p->trail = trail;
  p->scratch = scratch;
  p->head.len = p->trail.len = p->scratch.len = 0;
  p->flags = flags;
  p->state = S_STATUS;
}

void h1_response_free(h1_response *p) {
  free(p->head.p);
  free(p->trail.p);
  free(p->scratch.p);
  buf_init(&p->head, H1_MAX_HEAD);
  buf_init(&p->trail, H1_MAX_HEAD);
  buf_init(&p->scratch, H1_MAX_CHUNK_LINE + 1);
}

/* ---- one call's context ---- */

typedef struct feed_ctx {
  h1_response *p;
  const uint8_t *start; /* the caller's input */
  CBS in;               /* what is left of it */
} feed_ctx;

/* Response offset of the next unread input byte, plus |k|. */
static uint64_t pos(const feed_ctx *c, size_t k) {
  return c->p->offset + (uint64_t)(CBS_data(&c->in) - c->start) + k;
}

static int set_error(h1_response *p, int code, uint64_t at, const char *why) {
  p->error = code;
  p->reason = why;
  p->err_offset = at;
  return code;
}

/* ---- characters ---- */

/* RFC 9110 §5.6.2 tchar. */
static int is_tchar(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(uint8_t c) {
  return c == ' ' || c == '\t';
}

static int is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}

static int is_hex(uint8_t c) {
  return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static size_t span(const CBS *c, int (*pred)(uint8_t)) {
  const uint8_t *d = CBS_data(c);
  size_t n = 0;
  while (n < CBS_len(c) && pred(d[n])) n++;
  return n;
}

/* Strips optional whitespace from both ends of |c|. */
static void trim_ows(CBS *c) {
  CBS_skip(c, span(c, is_ows));
  size_t n = CBS_len(c);
  while (n > 0 && is_ows(CBS_data(c)[n - 1])) n--;
  CBS t;
  CBS_get_bytes(c, &t, n);
  *c = t;
}

static int eq_nocase(const CBS *c, const char *lit) {
  size_t n = strlen(lit);
  if (CBS_len(c) != n) return 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t a = CBS_data(c)[i];
    if (a >= 'A' && a <= 'Z') a |= 0x20;
    if (a != (uint8_t)lit[i]) return 0;
  }
  return 1;
}

/* Takes the next element of a comma-separated list (RFC 9110 §5.6.1),
 * trimmed; empty elements are returned as empty. Returns 0 at the end. */
static int next_element(CBS *list, CBS *elem) {
  if (CBS_len(list) == 0) return 0;
  const uint8_t *comma = memchr(CBS_data(list), ',', CBS_len(list));
  size_t n = comma ? (size_t)(comma - CBS_data(list)) : CBS_len(list);
  if (!CBS_get_bytes(list, elem, n)) return 0;
  if (comma) CBS_skip(list, 1);
  trim_ows(elem);
  return 1;
}

/* ---- lines ---- */

/*
 * Moves the bytes of |c->in| up to the next LF into |b| (the LF is consumed,
 * not stored; a CR right before it is dropped). A line may hold |max| bytes;
 * the section it belongs to (|*section|, may be NULL) |section_max| bytes,
 * line ends included. Returns 1 with the line at b->p[line_start..b->len),
 * 0 when the input ran out first, or an error (|too_long| for a cap).
 */
static int read_line(feed_ctx *c, h1_buf *b, size_t max, size_t *section, size_t section_max,
                     int too_long, const char *line_why, const char *section_why) {
  h1_response *p = c->p;
  if (!p->in_line) {
    p->in_line = 1;
    p->line_start = b->len;
    p->line_off = pos(c, 0);
  }
  if (CBS_len(&c->in) == 0) return 0;
  const uint8_t *d = CBS_data(&c->in);
  const uint8_t *lf = memchr(d, '\n', CBS_len(&c->in));
  size_t n = lf ? (size_t)(lf - d) : CBS_len(&c->in); /* bytes before the LF */
  size_t have = b->len - p->line_start;
  size_t line_room = max + 1 - have; /* +1: a CR before the LF */
  size_t take = lf ? n + 1 : n;
  size_t sect_room = section ? section_max - *section : SIZE_MAX;
  /* The first byte of the stream that breaks a cap decides the error. */
  if (n > line_room || take > sect_room) {
    if (take > sect_room && sect_room <= line_room)
      return set_error(p, too_long, pos(c, sect_room), section_why);
    return set_error(p, too_long, pos(c, line_room), line_why);
  }
  int rc = buf_append(b, d, n);
  if (rc != 0) return set_error(p, rc, pos(c, 0), "out of memory");
  CBS_skip(&c->in, take);
  if (section) *section += take;
  if (!lf) return 0;
  p->in_line = 0;
  if (b->len > p->line_start && b->p[b->len - 1] == '\r') b->len--;
  if (b->len - p->line_start > max) return set_error(p, too_long, p->line_off, line_why);
  /* A NUL after the line, so that the fields read from it end in one: it takes
   * the place of the LF, which the section's count holds (and a line has at
   * most |max| bytes in a buffer of |max| + 1), so it never breaks a cap. */
  p->line_end = b->len;
  rc = buf_append(b, (const uint8_t *)"", 1);
  if (rc != 0) return set_error(p, rc, p->line_off, "out of memory");
  return 1;
}

/* The line just read into |b| (a buffer never written to has no memory yet). */
static CBS line_of(const h1_response *p, const h1_buf *b) {
  CBS line;
  if (b->p == NULL) CBS_init(&line, NULL, 0);
  else CBS_init(&line, b->p + p->line_start, p->line_end - p->line_start);
  return line;
}

/* Field bytes: NUL and CR are refused; the rest (HTAB, obs-text, and the
 * other controls Chrome tolerates) pass. */
static const char *check_bytes(const CBS *c) {
  if (CBS_len(c) == 0) return NULL; /* an empty line may have no memory behind it */
  if (memchr(CBS_data(c), '\0', CBS_len(c)) != NULL) return "NUL in the line";
  if (memchr(CBS_data(c), '\r', CBS_len(c)) != NULL) return "bare CR in the line (RFC 9112 §2.2)";
  return NULL;
}

/* What a status line that does not start with "HTTP/" is called: a server
 * that answers in HTTP/0.9 (the body alone, no head) or in another protocol.
 * "response ended before its announced length" would blame the framing. */
static const char kNoStatusLine[] =
    "the server did not send an HTTP/1.x status line (an HTTP/0.9 reply, or not HTTP)";

/* A status line is known to be wrong as soon as its first bytes differ from
 * "HTTP/": an HTTP/0.9 body or another protocol is refused then, not at its
 * first LF or at EOF (which may never come, or come 8 KiB later as a line cap).
 * Looks at the line read so far in |p->head| and the input up to the LF; the
 * error is at the line's offset, as parse_status's would be, so any split of
 * the input gives the same result. A line starting with CR or LF is left to
 * the line reader (an empty line, or a bare CR). */
static int check_status_start(feed_ctx *c) {
  h1_response *p = c->p;
  static const char want[] = "HTTP/";
  uint8_t got[5];
  size_t n = 0;
  if (p->in_line && p->head.p != NULL)
    for (size_t i = p->line_start; i < p->head.len && n < sizeof(got); i++) got[n++] = p->head.p[i];
  CBS in = c->in;
  uint8_t b;
  while (n < sizeof(got) && CBS_get_u8(&in, &b) && b != '\n') got[n++] = b;
  if (n == 0 || got[0] == '\r') return 0;
  for (size_t i = 0; i < n; i++)
    if (got[i] != (uint8_t)want[i])
      return set_error(p, GUISE_E_HTTP_PROTOCOL, p->in_line ? p->line_off : pos(c, 0), kNoStatusLine);
  return 0;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112
 * §4); the SP before an empty reason may be missing, as Chrome allows. */
static int parse_status(h1_response *p, CBS line) {
  const char *bad = check_bytes(&line);
  if (bad != NULL) return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, bad);
  CBS proto, code;
  uint8_t major, dot, minor, sp;
  if (!CBS_get_bytes(&line, &proto, 5) || memcmp(CBS_data(&proto), "HTTP/", 5) != 0)
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, kNoStatusLine);
  if (!CBS_get_u8(&line, &major) || !CBS_get_u8(&line, &dot) || !CBS_get_u8(&line, &minor) ||
      dot != '.' || !is_digit(major) || !is_digit(minor))
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "not an HTTP/1.x status line");
  if (major != '1')
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "HTTP version other than 1.x");
  p->version = minor == '0' ? 10 : 11;
  if (!CBS_get_u8(&line, &sp) || sp != ' ' || !CBS_get_bytes(&line, &code, 3) ||
      span(&code, is_digit) != 3 || CBS_data(&code)[0] == '0')
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "malformed status code");
  p->status = (CBS_data(&code)[0] - '0') * 100 + (CBS_data(&code)[1] - '0') * 10 +
              (CBS_data(&code)[2] - '0');
  if (CBS_len(&line) > 0 && (!CBS_get_u8(&line, &sp) || sp != ' '))
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "no space after the status code");
  p->reason_off = (uint32_t)(CBS_data(&line) - p->head.p);
  p->reason_len = (uint32_t)CBS_len(&line);
  return 0;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5); records it
 * in |fields| (|*n| of |cap|) as offsets into |b|. */
static int parse_field(h1_response *p, h1_buf *b, CBS line, h1_field_at *fields, size_t *n,
                       size_t cap) {
  CBS name;
  uint8_t colon;
  if (CBS_len(&line) > 0 && is_ows(CBS_data(&line)[0]))
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off,
                     "line starts with whitespace: obs-fold or space before the first field "
                     "(RFC 9112 §5.2)");
  if (!CBS_get_bytes(&line, &name, span(&line, is_tchar)) || CBS_len(&name) == 0)
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "field name is not a token");
  if (!CBS_get_u8(&line, &colon))
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "field line without a colon");
  if (is_ows(colon))
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off,
                     "whitespace between field name and colon (RFC 9112 §5.1)");
  if (colon != ':')
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "field name is not a token");
  trim_ows(&line);
  const char *bad = check_bytes(&line);
  if (bad != NULL) return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, bad);
  if (*n >= cap)
    return set_error(p, GUISE_E_HTTP_HEADERS_TOO_LARGE, p->line_off,
                     cap == H1_MAX_HEADERS ? "more than 100 header fields"
                                           : "more than 32 trailer fields");
  h1_field_at *f = &fields[(*n)++];
  f->name_off = (uint32_t)(CBS_data(&name) - b->p);
  f->name_len = (uint32_t)CBS_len(&name);
  f->value_off = (uint32_t)(CBS_data(&line) - b->p);
  f->value_len = (uint32_t)CBS_len(&line);
  /* NUL-terminated in place (h1_response.h): the colon after the name, and the
   * first blank after the value or the NUL that ends the line. */
  b->p[f->name_off + f->name_len] = '\0';
  b->p[f->value_off + f->value_len] = '\0';
  return 0;
}

/* ---- framing (RFC 9112 §6) ---- */

static CBS field_cbs(const h1_buf *b, uint32_t off, uint32_t len) {
  CBS c;
  CBS_init(&c, b->p + off, len);
  return c;
}

/* Decides the framing and keep-alive of the final head just read. */
static int finish_head(h1_response *p) {
  int close = 0, keep_alive_token = 0, has_te = 0, chunked = 0, has_cl = 0;
  uint64_t cl = 0;
  const char *unsupported = NULL;
  /* Whatever a response without a body says about framing is not read
   * (RFC 9112 §6.3 items 1-2), so it cannot fail. */
  int no_body = (p->flags & H1R_REQ_HEAD) || p->status < 200 || p->status == 204 ||
                p->status == 304;
  int tunnel = (p->flags & H1R_REQ_CONNECT) && p->status >= 200 && p->status < 300;
  for (size_t i = 0; i < p->n_fields; i++) {
    CBS name = field_cbs(&p->head, p->fields[i].name_off, p->fields[i].name_len);
    CBS value = field_cbs(&p->head, p->fields[i].value_off, p->fields[i].value_len);
    CBS elem;
    if (eq_nocase(&name, "connection")) {
      while (next_element(&value, &elem)) {
        if (eq_nocase(&elem, "close")) close = 1;
        if (eq_nocase(&elem, "keep-alive")) keep_alive_token = 1;
      }
    } else if (no_body || tunnel) {
      continue;
    } else if (eq_nocase(&name, "transfer-encoding")) {
      /* An empty field says nothing safe to frame by: refused, not skipped,
       * since a Content-Length beside it would otherwise decide. */
      if (CBS_len(&value) == 0)
        return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "empty Transfer-Encoding");
      while (next_element(&value, &elem)) {
        CBS coding; /* a coding's parameters (";q=...") are not ours to read */
        const uint8_t *semi = memchr(CBS_data(&elem), ';', CBS_len(&elem));
        CBS_get_bytes(&elem, &coding, semi ? (size_t)(semi - CBS_data(&elem)) : CBS_len(&elem));
        trim_ows(&coding);
        if (CBS_len(&coding) == 0 || eq_nocase(&coding, "identity")) continue;
        has_te = 1;
        if (eq_nocase(&coding, "chunked")) {
          if (chunked)
            return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off,
                             "chunked applied twice (RFC 9112 §6.1)");
          chunked = 1;
        } else {
          unsupported = "transfer coding other than chunked";
        }
      }
    } else if (eq_nocase(&name, "content-length")) {
      /* "42, 42" is one length said twice (RFC 9110 §8.6); differing
       * values are a framing conflict and refused. */
      int any = 0;
      if (CBS_len(&value) > 0 && (CBS_data(&value)[0] == ',' ||
                                  CBS_data(&value)[CBS_len(&value) - 1] == ','))
        return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "invalid Content-Length");
      while (next_element(&value, &elem)) {
        uint64_t v = 0;
        if (CBS_len(&elem) == 0 || span(&elem, is_digit) != CBS_len(&elem))
          return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "invalid Content-Length");
        for (size_t k = 0; k < CBS_len(&elem); k++) {
          if (v > (UINT64_MAX - 9) / 10)
            return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "Content-Length overflow");
          v = v * 10 + (uint64_t)(CBS_data(&elem)[k] - '0');
        }
        if (has_cl && v != cl)
          return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off,
                           "Content-Length values differ (RFC 9112 §6.3)");
        cl = v;
        has_cl = any = 1;
      }
      if (!any) return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "empty Content-Length");
    }
  }
  p->keep_alive = !close && (p->version >= 11 || keep_alive_token);
  if (p->status == 101 || tunnel) {
    p->upgraded = 1;
    p->keep_alive = 0;
    no_body = 1;
  }
  if (no_body) {
    p->framing = H1_FRAMING_NONE;
    p->state = S_DONE;
    return 0;
  }
  if (unsupported != NULL)
    return set_error(p, GUISE_E_DECODE_UNSUPPORTED, p->line_off, unsupported);
  if (chunked) {
    /* §6.3 item 3: TE overrides CL, and the connection is closed after;
     * §6.1: TE in an HTTP/1.0 message is faulty framing, close after. */
    if (has_cl || p->version == 10) p->keep_alive = 0;
    p->framing = H1_FRAMING_CHUNKED;
    p->state = S_CHUNK_SIZE;
    return 0;
  }
  if (has_te)
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "Transfer-Encoding without chunked");
  if (has_cl) {
    p->framing = H1_FRAMING_LENGTH;
    p->content_length = p->remaining = cl;
    p->state = cl == 0 ? S_DONE : S_BODY_LENGTH;
    return 0;
  }
  p->framing = H1_FRAMING_CLOSE;
  p->keep_alive = 0;
  p->state = S_BODY_CLOSE;
  return 0;
}

/* chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1); extensions are
 * skipped. Sets the chunk's size in |*size|. */
static int parse_chunk_size(h1_response *p, CBS line, uint64_t *size) {
  const char *bad = check_bytes(&line);
  if (bad != NULL) return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, bad);
  size_t digits = span(&line, is_hex);
  if (digits == 0) return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "invalid chunk size");
  uint64_t v = 0;
  uint8_t c;
  for (size_t i = 0; i < digits; i++) {
    if (!CBS_get_u8(&line, &c)) return set_error(p, GUISE_E_INTERNAL, p->line_off, "chunk");
    if (v >> 60 != 0)
      return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "chunk size overflow");
    v = v << 4 | (uint64_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  CBS_skip(&line, span(&line, is_ows)); /* BWS before ';' (RFC 9112 §7.1.1) */
  if (CBS_len(&line) > 0 && CBS_data(&line)[0] != ';')
    return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "invalid chunk size");
  *size = v;
  return 0;
}

/* ---- feed ---- */

/* Takes up to |max| body bytes as a span of the input. */
static int body_span(feed_ctx *c, uint64_t max, h1_span *body) {
  size_t n = CBS_len(&c->in);
  if (n == 0) return H1R_NEED_MORE;
  if ((uint64_t)n > max) n = (size_t)max;
  CBS s;
  CBS_get_bytes(&c->in, &s, n);
  if (body != NULL) {
    body->p = CBS_data(&s);
    body->len = n;
  }
  c->p->body_bytes += n;
  return H1R_BODY;
}

/* One step of the state machine: returns an event, NEED_MORE, an error, or
 * -(INT_MAX) meaning "state advanced, go on". */
#define CONTINUE (-0x7fffffff)

static int step(feed_ctx *c, h1_span *body) {
  h1_response *p = c->p;
  int rc;
  CBS line;
  switch (p->state) {
  case S_STATUS:
  case S_HEADERS:
    if (p->state == S_STATUS && (rc = check_status_start(c)) != 0) return rc;
    rc = read_line(c, &p->head, H1_MAX_LINE, &p->head_bytes, H1_MAX_HEAD,
                   GUISE_E_HTTP_HEADERS_TOO_LARGE, "head line longer than 8 KiB",
                   "head larger than 64 KiB");
    if (rc <= 0) return rc;
    line = line_of(p, &p->head);
    if (p->state == S_STATUS) {
      if (CBS_len(&line) == 0) return CONTINUE; /* stray empty line before the head */
      if ((rc = parse_status(p, line)) != 0) return rc;
      p->state = S_HEADERS;
      return CONTINUE;
    }
    if (CBS_len(&line) > 0) {
      rc = parse_field(p, &p->head, line, p->fields, &p->n_fields, H1_MAX_HEADERS);
      return rc != 0 ? rc : CONTINUE;
    }
    if (p->status < 200 && p->status != 101) {
      /* An interim response (RFC 9110 §15.2): skip it, read the next head. */
      if (++p->interim > H1_MAX_INTERIM)
        return set_error(p, GUISE_E_HTTP_PROTOCOL, p->line_off, "more than 32 interim responses");
      p->head.len = 0;
      p->n_fields = 0;
      p->head_bytes = 0;
      p->state = S_STATUS;
      return CONTINUE;
    }
    if ((rc = finish_head(p)) != 0) return rc;
    return H1R_HEAD;

  case S_BODY_LENGTH:
    rc = body_span(c, p->remaining, body);
    if (rc == H1R_BODY) {
      p->remaining -= body->len;
      if (p->remaining == 0) p->state = S_DONE;
    }
    return rc;

  case S_BODY_CLOSE:
    return body_span(c, UINT64_MAX, body);

  case S_CHUNK_SIZE: {
    uint64_t size;
    rc = read_line(c, &p->scratch, H1_MAX_CHUNK_LINE, NULL, 0, GUISE_E_HTTP_PROTOCOL,
                   "chunk-size line longer than 4 KiB", NULL);
    if (rc <= 0) return rc;
    line = line_of(p, &p->scratch);
    p->scratch.len = 0;
    if ((rc = parse_chunk_size(p, line, &size)) != 0) return rc;
    if (size == 0) {
      p->head_bytes = 0; /* the trailer section has its own H1_MAX_HEAD */
      p->state = S_TRAILERS;
    } else {
      p->remaining = size;
      p->state = S_CHUNK_DATA;
    }
    return CONTINUE;
  }

  case S_CHUNK_DATA:
    rc = body_span(c, p->remaining, body);
    if (rc == H1R_BODY) {
      p->remaining -= body->len;
      if (p->remaining == 0) p->state = S_CHUNK_END;
    }
    return rc;

  case S_CHUNK_END:
    rc = read_line(c, &p->scratch, 0, NULL, 0, GUISE_E_HTTP_PROTOCOL,
                   "no CRLF after chunk data (chunk longer than its size)", NULL);
    if (rc <= 0) return rc;
    p->scratch.len = 0;
    p->state = S_CHUNK_SIZE;
    return CONTINUE;

  case S_TRAILERS:
    rc = read_line(c, &p->trail, H1_MAX_LINE, &p->head_bytes, H1_MAX_HEAD,
                   GUISE_E_HTTP_HEADERS_TOO_LARGE, "trailer line longer than 8 KiB",
                   "trailer section larger than 64 KiB");
    if (rc <= 0) return rc;
    line = line_of(p, &p->trail);
    if (CBS_len(&line) == 0) {
      p->state = S_DONE;
      return H1R_DONE;
    }
    rc = parse_field(p, &p->trail, line, p->tfields, &p->n_tfields, H1_MAX_TRAILERS);
    return rc != 0 ? rc : CONTINUE;

  case S_DONE:
  default:
    return H1R_DONE;
  }
}

int h1_response_feed(h1_response *p, const uint8_t *in, size_t len, size_t *consumed,
                     h1_span *body) {
  *consumed = 0;
  if (body != NULL) {
    body->p = NULL;
    body->len = 0;
  }
  if (p->error != 0) return p->error;
  if (in == NULL && len > 0)
    return set_error(p, GUISE_E_INTERNAL, p->offset, "NULL input with a length");
  feed_ctx c = {p, in, {0}};
  CBS_init(&c.in, in, len);
  h1_span local;
  if (body == NULL) body = &local; /* a body that was not expected still has a place */
  int rc;
  do {
    rc = step(&c, body);
  } while (rc == CONTINUE);
  *consumed = len - CBS_len(&c.in);
  p->offset += *consumed;
  if (rc == 0 && CBS_len(&c.in) != 0) return set_error(p, GUISE_E_INTERNAL, p->offset, "stall");
  return rc;
}

int h1_response_eof(h1_response *p) {
  if (p->error != 0) return p->error;
  switch (p->state) {
  case S_DONE:
    return H1R_DONE;
  case S_BODY_CLOSE:
    p->state = S_DONE;
    return H1R_DONE;
  case S_STATUS:
    if (p->offset == 0)
      return set_error(p, GUISE_E_CONNECT_CLOSED, 0, "connection closed before any response byte");
    /* fall through */
  case S_HEADERS:
    return set_error(p, GUISE_E_HTTP_TRUNCATED, p->offset, "connection closed inside the head");
  default:
    return set_error(p, GUISE_E_HTTP_TRUNCATED, p->offset, "connection closed inside the body");
  }
}

/* ---- accessors ---- */

int h1_response_status(const h1_response *p) {
  return p->status;
}

int h1_response_version(const h1_response *p) {
  return p->version;
}

h1_span h1_response_reason(const h1_response *p) {
  h1_span s = {p->head.p ? p->head.p + p->reason_off : (const uint8_t *)"", p->reason_len};
  return s;
}

static h1_header field_at(const h1_buf *b, const h1_field_at *f) {
  h1_header h = {{b->p + f->name_off, f->name_len}, {b->p + f->value_off, f->value_len}};
  return h;
}

size_t h1_response_header_count(const h1_response *p) {
  return p->n_fields;
}

h1_header h1_response_header(const h1_response *p, size_t i) {
  return field_at(&p->head, &p->fields[i]);
}

size_t h1_response_trailer_count(const h1_response *p) {
  return p->n_tfields;
}

h1_header h1_response_trailer(const h1_response *p, size_t i) {
  return field_at(&p->trail, &p->tfields[i]);
}

h1_framing h1_response_framing(const h1_response *p) {
  return p->framing;
}

uint64_t h1_response_content_length(const h1_response *p) {
  return p->content_length;
}

int h1_response_keep_alive(const h1_response *p) {
  return p->keep_alive;
}

const char *h1_response_error(const h1_response *p, uint64_t *offset) {
  if (offset != NULL) *offset = p->err_offset;
  return p->error != 0 ? p->reason : NULL;
}

/* batch_record.c — see batch_record.h. */
#include "batch_record.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/base64.h>

int sb_grow(sbuf *b, size_t n) {
  if (b->len + n > b->max) {
    b->over = 1;
    return -1;
  }
  size_t nc = b->cap ? b->cap * 2 : 256;
  while (nc < b->len + n + 1) nc *= 2;
  char *q;
  if (b->borrowed) { /* a caller's buffer (on its stack): move to the heap */
    q = malloc(nc);
    if (q && b->len) memcpy(q, b->p, b->len);
  } else {
    q = realloc(b->p, nc);
  }
  if (q == NULL) return -1;
  b->p = q;
  b->cap = nc;
  b->borrowed = 0;
  return 0;
}

static inline void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0) sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Numbers without printf (a record has a dozen; printf's float path dominated
 * the cost of a record), two digits per division. */
static const char kPairs[] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
    "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/* The decimal digits of |v| written backwards ending at |end|; returns the
 * first. Room for 20 digits before |end| is the caller's. */
static char *u64_digits(char *end, unsigned long long v) {
  while (v >= 100) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    end -= 2;
    memcpy(end, kPairs + 2 * r, 2);
  }
  if (v >= 10) {
    end -= 2;
    memcpy(end, kPairs + 2 * v, 2);
  } else {
    *--end = (char)('0' + v);
  }
  return end;
}

static void sb_u64(sbuf *b, unsigned long long v) {
  char t[24];
  char *first = u64_digits(t + sizeof(t), v);
  sb_put(b, first, (size_t)(t + sizeof(t) - first));
}

/* Milliseconds with three decimals (microseconds), as "12.345": one write. */
static void sb_ms(sbuf *b, double ms) {
  if (!(ms >= 0)) ms = 0;
  unsigned long long us = (unsigned long long)(ms * 1000 + 0.5);
  char t[28];
  char *end = t + sizeof(t) - 4;
  unsigned f = (unsigned)(us % 1000);
  end[0] = '.';
  end[1] = (char)('0' + f / 100);
  memcpy(end + 2, kPairs + 2 * (f % 100), 2);
  char *first = u64_digits(end, us / 1000);
  sb_put(b, first, (size_t)(t + sizeof(t) - first));
}

/* Bytes a JSON string takes as they are: printable ASCII but '"' and '\\'. */
static const unsigned char json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* sb_json, static so that the record's calls can be inlined and specialised
 * in this file (sb_json below is for other files). */
static void json_str(sbuf *b, const char *s, size_t n) {
  sb_put(b, "\"", 1);
  size_t i = 0;
  while (i < n) {
    /* The common case first: a run of bytes that need nothing, one table look-up
     * each. */
    size_t j = i;
    while (j < n && json_plain[(unsigned char)s[j]]) j++;
    if (j > i) {
      sb_put(b, s + i, j - i);
      i = j;
      if (i == n) break;
    }
    unsigned char c = (unsigned char)s[i];
    size_t run = 0;
    if (c >= 0x80) {
      /* RFC 3629: accept well-formed sequences only */
      size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
      if (need && i + need <= n) {
        size_t k = 1;
        while (k < need && ((unsigned char)s[i + k] & 0xC0) == 0x80) k++;
        if (k == need) run = need;
      }
      if (run) {
        sb_put(b, s + i, run);
        i += run;
        continue;
      }
      sb_printf(b, "\\u%04x", c);
      i++;
      continue;
    }
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sb_put(b, e, 2);
    } else if (c < 0x20 || c == 0x7f) {
      if (c == '\n') sb_put(b, "\\n", 2);
      else if (c == '\r') sb_put(b, "\\r", 2);
      else if (c == '\t') sb_put(b, "\\t", 2);
      else sb_printf(b, "\\u%04x", c);
    }
    i++;
  }
  sb_put(b, "\"", 1);
}

void sb_json(sbuf *b, const char *s, size_t n) { json_str(b, s, n); }

/* A JSON string of |p| in base64 (RFC 4648, padded): BoringSSL's encoder. */
static void sb_base64(sbuf *b, const unsigned char *p, size_t n) {
  size_t out_len;
  char *tmp = EVP_EncodedLength(&out_len, n) ? malloc(out_len) : NULL;
  if (tmp == NULL) {
    b->over = 1;
    return;
  }
  size_t k = EVP_EncodeBlock((uint8_t *)tmp, p, n);
  sb_put(b, "\"", 1);
  sb_put(b, tmp, k);
  sb_put(b, "\"", 1);
  free(tmp);
}

void batch_record_write(sbuf *r, const batch_record_in *in) {
  const guise_response_info *info = in->info;
  int err = in->err;
#define PUT(s) sb_str(r, s)
  PUT("{\"id\":");
  if (in->id) {
    json_str(r, in->id, strlen(in->id));
  } else {
    PUT("\"");
    sb_u64(r, in->line);
    PUT("\"");
  }
  if (in->line) {
    PUT(",\"line\":");
    sb_u64(r, in->line);
  }
  /* The URL with its password hidden (the library's effective_url and
   * redirect URLs already are); one with a password and over 8 KiB (not a URL
   * guise sends) is cut. */
  char shown[8200];
  const char *url_shown = guise_url_redact(in->url ? in->url : "", shown, sizeof(shown));
  size_t ul = strlen(url_shown);
  PUT(",\"url\":");
  json_str(r, url_shown, ul);
  PUT(",\"final_url\":");
  if (info && info->effective_url && info->effective_url[0])
    json_str(r, info->effective_url, strlen(info->effective_url));
  else
    json_str(r, url_shown, ul);
  if (info && info->n_redirects) {
    PUT(",\"redirects\":[");
    for (size_t i = 0; i < info->n_redirects; i++) {
      PUT(i ? ",{\"url\":" : "{\"url\":");
      json_str(r, info->redirect_urls[i] ? info->redirect_urls[i] : "",
              info->redirect_urls[i] ? strlen(info->redirect_urls[i]) : 0);
      PUT(",\"status\":");
      sb_u64(r, (unsigned long long)info->redirect_statuses[i]);
      PUT("}");
    }
    PUT("]");
  }
  PUT(",\"status\":");
  sb_u64(r, info && info->status > 0 ? (unsigned long long)info->status : 0);
  PUT(",\"http_version\":\"");
  PUT(info ? info->http_version : "");
  PUT("\"");
  if (err) {
    PUT(",\"error\":\"");
    PUT(guise_err_name(err));
    PUT("\",\"error_class\":\"");
    PUT(guise_err_class(err));
    PUT("\"");
    const char *d = in->detail ? in->detail : info && info->error_detail ? info->error_detail : "";
    if (*d) {
      PUT(",\"error_detail\":");
      json_str(r, d, strlen(d));
    }
  } else {
    PUT(",\"error\":null");
  }
  PUT(",\"attempts\":");
  sb_u64(r, in->attempts);
  PUT(",\"profile\":");
  json_str(r, in->profile, strlen(in->profile));
  if (info) {
    PUT(info->reused ? ",\"reused\":true,\"bytes\":" : ",\"reused\":false,\"bytes\":");
    sb_u64(r, info->body_bytes);
    PUT(",\"wire_bytes\":");
    sb_u64(r, info->wire_body_bytes);
    PUT(",\"timings\":{\"dns\":");
    sb_ms(r, info->dns_ms);
    PUT(",\"connect\":");
    sb_ms(r, info->connect_ms);
    PUT(",\"tls\":");
    sb_ms(r, info->tls_ms);
    PUT(",\"ttfb\":");
    sb_ms(r, info->ttfb_ms);
    PUT(",\"total\":");
    sb_ms(r, info->total_ms);
    PUT("}");
    if (info->remote[0]) {
      PUT(",\"remote\":\"");
      PUT(info->remote); /* ip:port, nothing to escape */
      PUT("\"");
    }
    if (info->tls_version[0]) {
      PUT(",\"tls\":{\"version\":\"");
      PUT(info->tls_version);
      PUT("\",\"cipher\":\"");
      PUT(info->tls_cipher);
      PUT("\",\"group\":\"");
      PUT(info->tls_group);
      PUT("\",\"alpn\":");
      json_str(r, info->alpn, strlen(info->alpn));
      PUT("}");
    }
  }
  if (in->headers_json && in->headers_json->len) {
    PUT(",\"headers\":[");
    sb_put(r, in->headers_json->p, in->headers_json->len);
    PUT("]");
  }
  const sbuf *body = in->body;
  if (!err && in->body_mode == GUISE_BODY_TEXT) {
    PUT(",\"body\":");
    json_str(r, body->p ? body->p : "", body->len);
  } else if (!err && in->body_mode == GUISE_BODY_BASE64) {
    PUT(",\"body_base64\":");
    sb_base64(r, (const unsigned char *)(body->p ? body->p : ""), body->len);
  } else if (!err && in->body_mode == GUISE_BODY_DIR && in->body_path) {
    PUT(",\"body_file\":");
    json_str(r, in->body_path, strlen(in->body_path));
  }
  if (body && body->over) PUT(",\"body_truncated\":true");
  if (in->meta) {
    PUT(",\"meta\":");
    PUT(in->meta);
  }
  PUT("}");
#undef PUT
}

void batch_record_line_error(sbuf *r, const char *id, unsigned long long line, const char *why) {
  /* The fields of a job's record that mean something for a line that never ran:
   * "url" null (there may be none), status 0, no attempt. */
  sb_str(r, "{\"id\":");
  json_str(r, id ? id : "", id ? strlen(id) : 0);
  sb_str(r, ",\"line\":");
  sb_u64(r, line);
  sb_str(r, ",\"url\":null,\"status\":0,\"error\":\"");
  sb_str(r, guise_err_name(GUISE_E_USAGE_INVALID_ARGUMENT));
  sb_str(r, "\",\"error_class\":\"");
  sb_str(r, guise_err_class(GUISE_E_USAGE_INVALID_ARGUMENT));
  sb_str(r, "\",\"error_detail\":");
  json_str(r, why ? why : "", why ? strlen(why) : 0);
  sb_str(r, ",\"attempts\":0}");
}

size_t guise_batch_record_error(char *out, size_t cap, const char *id, unsigned long long line,
                                const char *why) {
  if (out == NULL || cap == 0) return 0;
  /* Written in place: |max| below |cap| makes every growth an overflow, never a
   * move to the heap. */
  sbuf r = {.p = out, .cap = cap, .max = cap - 1, .borrowed = 1};
  out[0] = '\0';
  batch_record_line_error(&r, id, line, why);
  if (r.over) {
    out[0] = '\0';
    return 0;
  }
  return r.len;
}

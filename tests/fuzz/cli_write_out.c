/* Fuzz target: -w FORMAT, the --write-out interpreter (write_out,
 * client/cli/write_out.c), on any format against one fixed, made-up transfer.
 * The first byte picks the transfer's variant (bit 0: failed, bit 1: the
 * command's own message, bit 2: no file name, bit 3: no fields kept); the rest
 * is the format (cut at a NUL, as a command line or -w @FILE gives it).
 * Both streams are counting cookies (fopencookie). Checks:
 *   - a format without '{' prints exactly what this harness makes of it
 *     (\n \r \t escapes, "%%" as '%', anything else as it is) and nothing on
 *     the error stream;
 *   - any format prints a bounded amount: one byte per byte of format, plus at
 *     most VAR_MAX per variable, and a variable takes at least three bytes of
 *     format ("%{}"). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/cli/write_out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The made-up transfer: a redirect over HTTP/2 whose fields need JSON escapes. */
static const guise_header fields[] = {
    {"Content-Type", "text/html; charset=\"utf-8\""},
    {"Location", "../next?q=1#frag"},
    {"Set-Cookie", "a=1"},
    {"set-cookie", "b=\\2\t\x01\x7f"},
    {"X-Request-Id", "0123456789abcdef"},
    {"X-Empty", ""},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
#define URL "https://user:secret@example.com:8443/a/b/c?x=1"
#define EFFECTIVE "https://example.com:8443/a/b/c?x=1"
#define MESSAGE "the command's own message with \"quotes\""
#define FILENAME "out/file name.bin"

/* The most one variable may print: %{json} or %{header_json} (every byte of
 * the fields, the URLs, the texts JSON-escaped as \u00XX: six bytes each)
 * with room for the names and numbers. */
#define FIELDS_MAX 1024 /* the fields above, kept: checked at the start */
#define VAR_MAX (6 * (FIELDS_MAX + 3 * sizeof(URL) + sizeof(MESSAGE) + sizeof(FILENAME)) + 4096)

typedef struct {
  size_t n;       /* bytes written */
  char *keep;     /* the first |cap| of them */
  size_t cap;
} counter;

static ssize_t count_write(void *c, const char *buf, size_t n) {
  counter *k = c;
  for (size_t i = 0; i < n && k->n + i < k->cap; i++) k->keep[k->n + i] = buf[i];
  k->n += n;
  return (ssize_t)n;
}

static FILE *counting(counter *k) {
  cookie_io_functions_t io = {NULL, count_write, NULL, NULL};
  return fopencookie(k, "w", io);
}

/* What a format without '{' prints. */
static size_t plain(const char *fmt, char *out) {
  size_t n = 0;
  for (const char *p = fmt; *p; p++) {
    if (p[0] == '\\' && (p[1] == 'n' || p[1] == 'r' || p[1] == 't')) {
      out[n++] = p[1] == 'n' ? '\n' : p[1] == 'r' ? '\r' : '\t';
      p++;
    } else if (p[0] == '%' && p[1] == '%') {
      out[n++] = '%';
      p++;
    } else {
      out[n++] = *p;
    }
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static write_out_heads heads;
  static int made;
  if (!made) {
    write_out_keep(&heads, fields, N_FIELDS);
    if (heads.n_heads != N_FIELDS || heads.heads_len > FIELDS_MAX) abort();
    made = 1;
  }
  if (size == 0) return 0;
  unsigned variant = data[0];
  data++, size--;
  char *fmt = malloc(size + 1), *want = malloc(size + 1), *got = malloc(size + 1);
  if (fmt == NULL || want == NULL || got == NULL) {
    free(fmt), free(want), free(got);
    return 0;
  }
  memcpy(fmt, data, size);
  fmt[size] = '\0';
  size_t len = strlen(fmt);

  static const write_out_heads none;
  guise_response_info info;
  memset(&info, 0, sizeof(info));
  info.size = sizeof(info);
  info.status = 302;
  info.http_version = "HTTP/2";
  info.alpn = "h2";
  info.tls_version = "TLSv1.3";
  info.tls_cipher = "TLS_AES_128_GCM_SHA256";
  info.tls_group = "X25519";
  info.remote = "[::1]:8443";
  info.local = "[::1]:40000";
  info.dns_ms = 1.5, info.connect_ms = 2.25, info.tls_ms = 7.125, info.ttfb_ms = 9, info.total_ms = 12.5;
  info.body_bytes = 1234567, info.wire_body_bytes = 4321;
  info.error_detail = "";
  info.effective_url = EFFECTIVE;
  info.n_redirects = 2;
  int err = variant & 1 ? GUISE_E_CONNECT_REFUSED : 0;
  write_out_vars v = {URL, variant & 2 ? MESSAGE : "", variant & 4 ? NULL : FILENAME, "POST", variant & 1 ? 7 : 0,
                      variant & 8 ? &none : &heads};

  counter out = {0, got, len + 1}, errs = {0, NULL, 0};
  FILE *fo = counting(&out), *fe = counting(&errs);
  if (fo == NULL || fe == NULL) abort();
  write_out(fo, fe, fmt, &v, err, &info);
  fclose(fo);
  fclose(fe);

  if (strchr(fmt, '{') == NULL) {
    size_t n = plain(fmt, want);
    if (out.n != n || memcmp(got, want, n) != 0 || errs.n != 0) abort();
  }
  if (out.n + errs.n > len + (len / 3 + 1) * VAR_MAX) abort();
  free(fmt), free(want), free(got);
  return 0;
}

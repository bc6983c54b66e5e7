/* fetch_output.c — response heads and output file names of `guise URL` (see
 * fetch.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fetch.h"

#define FETCH_MAX_NAME 255 /* a file name (NAME_MAX) */

const char *fetch_reason_phrase(int status) {
  static const struct { int status; const char *reason; } table[] = {
      {100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"},
      {202, "Accepted"}, {203, "Non-Authoritative Information"}, {204, "No Content"},
      {205, "Reset Content"}, {206, "Partial Content"}, {300, "Multiple Choices"},
      {301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"}, {304, "Not Modified"},
      {305, "Use Proxy"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
      {400, "Bad Request"}, {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"},
      {404, "Not Found"}, {405, "Method Not Allowed"}, {406, "Not Acceptable"},
      {407, "Proxy Authentication Required"}, {408, "Request Timeout"}, {409, "Conflict"},
      {410, "Gone"}, {411, "Length Required"}, {412, "Precondition Failed"}, {413, "Content Too Large"},
      {414, "URI Too Long"}, {415, "Unsupported Media Type"}, {416, "Range Not Satisfiable"},
      {417, "Expectation Failed"}, {421, "Misdirected Request"}, {422, "Unprocessable Content"},
      {426, "Upgrade Required"}, {429, "Too Many Requests"}, {500, "Internal Server Error"},
      {501, "Not Implemented"}, {502, "Bad Gateway"}, {503, "Service Unavailable"},
      {504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
  };
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    if (table[i].status == status) return table[i].reason;
  return "";
}

void fetch_status_line(char *out, size_t cap, const char *version, int status, const char *reason) {
  /* HTTP/2 has no reason phrase (RFC 9113 8.3.2): curl 7.88 prints "HTTP/2 200 ",
   * the space included. */
  if (version && strcmp(version, "HTTP/2") == 0) {
    snprintf(out, cap, "HTTP/2 %d ", status);
    return;
  }
  const char *r = reason ? reason : fetch_reason_phrase(status);
  snprintf(out, cap, "%s %d%s%s", version && version[0] ? version : "HTTP/1.1", status, r[0] ? " " : "", r);
}

void fetch_put_remote(FILE *to, const char *s) {
  char small[512];
  size_t len = strlen(s);
  char *buf = len < sizeof(small) / 4 ? small : malloc(len * 4 + 1);
  if (buf == NULL) {
    fputs("[out of memory]", to);
    return;
  }
  guise_escape_text(s, len, buf, buf == small ? sizeof(small) : len * 4 + 1);
  fputs(buf, to);
  if (buf != small) free(buf);
}

void fetch_write_head(FILE *to, const char *status_line, const guise_header *h, size_t n) {
  fetch_put_remote(to, status_line);
  fputs("\r\n", to);
  for (size_t i = 0; i < n; i++) {
    fetch_put_remote(to, h[i].name);
    fputs(": ", to);
    fetch_put_remote(to, h[i].value);
    fputs("\r\n", to);
  }
  fputs("\r\n", to);
}

/* Whether |name| (|len| bytes) may be a file name of ours: not empty, not "."
 * or "..", no '/', no NUL or control character, at most FETCH_MAX_NAME bytes. */
static int name_ok(const char *name, size_t len) {
  if (len == 0 || len > FETCH_MAX_NAME) return 0;
  if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (ch < 0x20 || ch == 0x7f || ch == '/') return 0;
  }
  return 1;
}

int fetch_remote_name(const char *url, char *out, size_t cap) {
  const char *start = strstr(url, "://");
  start = start ? start + 3 : url;
  size_t end = strcspn(start, "?#");
  const char *path = memchr(start, '/', end);
  if (path == NULL) return -1;
  const char *last = path;
  for (const char *p = path; p < start + end; p++)
    if (*p == '/') last = p;
  size_t len = (size_t)(start + end - (last + 1));
  if (!name_ok(last + 1, len) || len + 1 > cap) return -1;
  memcpy(out, last + 1, len);
  out[len] = '\0';
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The value of parameter |param| ("filename", "filename*") of a
 * Content-Disposition field (RFC 6266 4.1): a token or a quoted string
 * (backslash escapes taken), into |out|; -1 when absent or too long. */
static int disposition_param(const char *v, const char *param, char *out, size_t cap) {
  size_t plen = strlen(param);
  const char *p = strchr(v, ';');
  while (p) {
    p++;
    while (*p == ' ' || *p == '\t') p++;
    if (strncasecmp(p, param, plen) == 0) {
      const char *q = p + plen;
      while (*q == ' ' || *q == '\t') q++;
      if (*q == '=') {
        q++;
        while (*q == ' ' || *q == '\t') q++;
        size_t n = 0;
        if (*q == '"') {
          for (q++; *q && *q != '"'; q++) {
            if (*q == '\\' && q[1]) q++;
            if (n + 1 >= cap) return -1;
            out[n++] = *q;
          }
          if (*q != '"') return -1;
        } else {
          for (; *q && *q != ';' && *q != ' ' && *q != '\t'; q++) {
            if (n + 1 >= cap) return -1;
            out[n++] = *q;
          }
        }
        out[n] = '\0';
        return 0;
      }
    }
    p = strchr(p, ';');
  }
  return -1;
}

int fetch_disposition_name(const char *value, char *out, size_t cap) {
  char raw[1024];
  char name[1024];
  size_t n = 0;
  if (disposition_param(value, "filename*", raw, sizeof(raw)) == 0 && strncasecmp(raw, "UTF-8''", 7) == 0) {
    /* RFC 8187: UTF-8''percent-encoded; a %00 or a bad escape refuses it. */
    for (const char *p = raw + 7; *p; p++) {
      if (*p == '%') {
        int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
        if (lo < 0 || (hi == 0 && lo == 0)) return -1;
        name[n++] = (char)(hi * 16 + lo);
        p += 2;
      } else {
        name[n++] = *p;
      }
    }
    name[n] = '\0';
  } else if (disposition_param(value, "filename", name, sizeof(name)) == 0) {
    n = strlen(name);
  } else {
    return -1;
  }
  /* No folders: the part after the last '/' or '\' (curl does the same). */
  const char *base = name;
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == '\\') base = p + 1;
  size_t len = strlen(base);
  if (!name_ok(base, len) || len + 1 > cap) return -1;
  memcpy(out, base, len + 1);
  return 0;
}

int fetch_make_dirs(const char *path) {
  char buf[4096];
  size_t len = strlen(path);
  if (len >= sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, len + 1);
  char *slash = strrchr(buf, '/');
  if (slash == NULL) return 0;
  *slash = '\0';
  for (char *p = buf + 1; ; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (buf[0] && mkdir(buf, 0750) != 0 && errno != EEXIST) return -1;
      if (c == '\0') break;
      *p = c;
    }
  }
  return 0;
}

int fetch_parse_size(const char *s, unsigned long long *out) {
  if (s[0] < '0' || s[0] > '9') return -1;
  errno = 0;
  char *end;
  unsigned long long n = strtoull(s, &end, 10);
  if (errno) return -1;
  unsigned shift = 0;
  if (*end == 'k' || *end == 'K') shift = 10;
  else if (*end == 'm' || *end == 'M') shift = 20;
  else if (*end == 'g' || *end == 'G') shift = 30;
  if (shift) end++;
  if (*end != '\0' || n > (~0ull >> shift)) return -1;
  *out = n << shift;
  return 0;
}

int fetch_parse_seconds(const char *s, double max, unsigned long long *ms) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end != '\0' || !isfinite(v) || v < 0 || v > max) return -1;
  *ms = (unsigned long long)(v * 1000 + 0.5);
  return 0;
}

/* write_out.c — -w FORMAT, curl 7.88's --write-out (write_out.h). */
#include "write_out.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void write_out_heads_free(write_out_heads *one) {
  free(one->heads);
  one->heads = NULL;
  one->heads_len = one->n_heads = 0;
}

/* The fields kept "name\0value\0" each, the first ones that fit the cap. */
void write_out_keep(write_out_heads *one, const guise_header *h, size_t n) {
  write_out_heads_free(one);
  size_t cap = 0;
  for (size_t i = 0; i < n; i++) cap += strlen(h[i].name) + strlen(h[i].value) + 2;
  if (cap > WRITE_OUT_HEADS_MAX) cap = WRITE_OUT_HEADS_MAX;
  if (cap == 0 || (one->heads = malloc(cap)) == NULL) return;
  for (size_t i = 0; i < n; i++) {
    size_t a = strlen(h[i].name) + 1, b = strlen(h[i].value) + 1;
    if (one->heads_len + a + b > cap) break;
    memcpy(one->heads + one->heads_len, h[i].name, a);
    memcpy(one->heads + one->heads_len + a, h[i].value, b);
    one->heads_len += a + b;
    one->n_heads++;
  }
}

/* The |i|th kept field's name and value. */
static const char *kept_name(const write_out_heads *one, size_t i, const char **value) {
  const char *p = one->heads;
  for (size_t k = 0; k < i; k++) p += strlen(p) + 1, p += strlen(p) + 1;
  *value = p + strlen(p) + 1;
  return p;
}

static const char *kept_field(const write_out_heads *one, const char *name, size_t len) {
  for (size_t i = 0; i < one->n_heads; i++) {
    const char *v, *k = kept_name(one, i, &v);
    if (strlen(k) == len && strncasecmp(k, name, len) == 0) return v;
  }
  return NULL;
}

/* |s| as a JSON string (RFC 8259 7). */
static void json_string(FILE *to, const char *s) {
  fputc('"', to);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(to, "\\%c", *p);
    else if (*p == '\n') fputs("\\n", to);
    else if (*p == '\r') fputs("\\r", to);
    else if (*p == '\t') fputs("\\t", to);
    else if (*p < 0x20 || *p == 0x7f) fprintf(to, "\\u%04x", *p);
    else fputc(*p, to);
  }
  fputc('"', to);
}

/* %{header_json}: the fields as curl 7.88 writes them: lower-case names, each
 * name once with its values in an array, in the order first seen. */
static void header_json(FILE *to, const write_out_heads *one) {
  /* The fields' names and values found once (at most the library's 256). */
  const char **k = one->n_heads ? calloc(2 * one->n_heads, sizeof(*k)) : NULL;
  size_t n = k ? one->n_heads : 0;
  for (size_t i = 0; i < n; i++) k[2 * i] = kept_name(one, i, &k[2 * i + 1]);
  fputc('{', to);
  int first = 1;
  for (size_t i = 0; i < n; i++) {
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) seen = strcasecmp(k[2 * i], k[2 * j]) == 0;
    if (seen) continue;
    if (!first) fputs(",\n", to);
    first = 0;
    char lower[256];
    size_t len = strlen(k[2 * i]) < sizeof(lower) - 1 ? strlen(k[2 * i]) : sizeof(lower) - 1;
    for (size_t c = 0; c < len; c++) lower[c] = (char)tolower((unsigned char)k[2 * i][c]);
    lower[len] = '\0';
    json_string(to, lower);
    fputs(":[", to);
    for (size_t j = i, m = 0; j < n; j++) {
      if (strcasecmp(k[2 * i], k[2 * j]) != 0) continue;
      if (m++) fputc(',', to);
      json_string(to, k[2 * j + 1]);
    }
    fputc(']', to);
  }
  fputs("\n}", to);
  free(k);
}

/* %{redirect_url}: where a redirect not followed points, absolute, into
 * |out| ("" when the answer is not one): a relative Location resolved against
 * |base| for the forms servers send (absolute, "//host/...", "/path", "path"). */
static void redirect_url(char *out, size_t cap, const write_out_heads *one, const char *base, int status) {
  const char *loc = status >= 300 && status < 400 ? kept_field(one, "location", 8) : NULL;
  out[0] = '\0';
  if (loc == NULL || loc[0] == '\0') return;
  const char *sep = strstr(base, "://");
  const char *lsep = strstr(loc, "://");
  if (lsep && strcspn(loc, "/?#") > (size_t)(lsep - loc)) {
    snprintf(out, cap, "%s", loc);
  } else if (sep && loc[0] == '/' && loc[1] == '/') {
    snprintf(out, cap, "%.*s%s", (int)(sep - base + 1), base, loc);
  } else if (sep) {
    const char *auth = sep + 3, *path = auth + strcspn(auth, "/?#");
    if (loc[0] == '/') {
      snprintf(out, cap, "%.*s%s", (int)(path - base), base, loc);
    } else {
      size_t plen = strcspn(path, "?#");
      const char *slash = path;
      for (const char *c = path; c < path + plen; c++)
        if (*c == '/') slash = c;
      snprintf(out, cap, "%.*s/%s", (int)(slash - base), base, loc);
    }
  }
}

/* write_out.h; the variables below are curl 7.88's. */
void write_out(FILE *out, FILE *errs, const char *fmt, const write_out_vars *v, int err,
               const guise_response_info *info) {
  const write_out_heads *one = v->heads;
  const char *url = v->url;
  char shown[8200]; /* a URL, its password hidden (guise_url_redact); longer ones are cut */
  char remote_ip[64] = "";
  const char *remote_port = "";
  const char *colon = strrchr(info->remote, ':');
  if (colon) {
    size_t len = (size_t)(colon - info->remote);
    if (len >= sizeof(remote_ip)) len = sizeof(remote_ip) - 1;
    memcpy(remote_ip, info->remote, len);
    remote_ip[len] = '\0';
    remote_port = colon + 1;
    if (len >= 2 && remote_ip[0] == '[' && remote_ip[len - 1] == ']') { /* "[::1]:443" */
      memmove(remote_ip, remote_ip + 1, len - 2);
      remote_ip[len - 2] = '\0';
    }
  }
  const char *effective = info->effective_url && info->effective_url[0] ? info->effective_url
                                                                         : guise_url_redact(url, shown, sizeof(shown));
  const char *ctype = kept_field(one, "content-type", 12);
  const char *version = strcmp(info->http_version, "HTTP/2") == 0   ? "2"
                        : strcmp(info->http_version, "HTTP/3") == 0 ? "3" /* curl's %{http_version} */
                        : info->http_version[0]                     ? "1.1"
                                                                    : "0";
  double seconds = info->total_ms / 1000;
  unsigned long long speed = seconds > 0 ? (unsigned long long)((double)info->body_bytes / seconds) : 0;
  const char *msg = v->message && v->message[0] ? v->message : err ? guise_strerror(err) : "";
  const char *method = v->method;
  const char *filename = v->filename;
  int num_connects = info->http_version[0] && !info->reused ? 1 : 0;
  char redirect[8400];
  redirect_url(redirect, sizeof(redirect), one, effective, info->status);
  FILE *to = out;
  for (const char *p = fmt; *p; p++) {
    if (p[0] == '\\' && (p[1] == 'n' || p[1] == 'r' || p[1] == 't')) {
      fputc(p[1] == 'n' ? '\n' : p[1] == 'r' ? '\r' : '\t', to);
      p++;
      continue;
    }
    if (p[0] == '%' && p[1] == '%') {
      fputc('%', to);
      p++;
      continue;
    }
    if (p[0] == '%' && strncmp(p + 1, "header{", 7) == 0 && strchr(p, '}')) {
      const char *name = p + 8, *end = strchr(p, '}');
      const char *value = kept_field(one, name, (size_t)(end - name));
      if (value) fputs(value, to);
      p = end;
      continue;
    }
    if (p[0] != '%' || p[1] != '{') {
      fputc(*p, to);
      continue;
    }
    const char *end = strchr(p, '}');
    if (end == NULL) {
      fputs(p, to);
      break;
    }
    size_t len = (size_t)(end - p - 2);
    const char *k = p + 2;
#define IS(name) (len == strlen(name) && strncmp(k, name, len) == 0)
    if (IS("http_code") || IS("response_code")) fprintf(to, "%03d", info->status);
    else if (IS("http_version")) fputs(version, to);
    else if (IS("time_total")) fprintf(to, "%.6f", info->total_ms / 1000);
    else if (IS("time_namelookup")) fprintf(to, "%.6f", info->dns_ms / 1000);
    else if (IS("time_connect")) fprintf(to, "%.6f", info->connect_ms / 1000);
    else if (IS("time_appconnect")) fprintf(to, "%.6f", info->tls_ms / 1000);
    else if (IS("time_starttransfer")) fprintf(to, "%.6f", info->ttfb_ms / 1000);
    else if (IS("size_download")) fprintf(to, "%llu", info->body_bytes);
    else if (IS("speed_download")) fprintf(to, "%llu", speed);
    else if (IS("remote_ip")) fputs(remote_ip, to);
    else if (IS("remote_port")) fputs(remote_port, to);
    else if (IS("exitcode")) fprintf(to, "%d", v->exit);
    else if (IS("errormsg")) fputs(msg, to);
    else if (IS("errorname")) fputs(err ? guise_err_name(err) : "", to);
    else if (IS("filename_effective")) fputs(filename ? filename : "", to);
    else if (IS("num_connects")) fprintf(to, "%d", num_connects);
    else if (IS("local_port")) fputs(strrchr(info->local, ':') ? strrchr(info->local, ':') + 1 : "", to);
    else if (IS("url")) fputs(guise_url_redact(url, shown, sizeof(shown)), to);
    else if (IS("url_effective")) fputs(effective, to);
    else if (IS("num_redirects")) fprintf(to, "%zu", info->n_redirects);
    else if (IS("content_type")) fputs(ctype ? ctype : "", to);
    else if (IS("num_headers")) fprintf(to, "%zu", one->n_heads);
    else if (IS("method")) fputs(method, to);
    else if (IS("scheme")) fputs(strncasecmp(effective, "https:", 6) == 0 ? "HTTPS" : "HTTP", to);
    else if (IS("redirect_url")) fputs(redirect, to);
    else if (IS("header_json")) header_json(to, one);
    else if (IS("stderr")) to = errs;
    else if (IS("stdout")) to = out;
    else if (IS("json")) {
      /* curl's %{json}: the variables guise has, as curl types them. */
      fprintf(to, "{\"content_type\":");
      if (ctype) json_string(to, ctype);
      else fputs("null", to);
      fputs(",\"errormsg\":", to);
      if (msg[0]) json_string(to, msg);
      else fputs("null", to);
      fprintf(to, ",\"exitcode\":%d,\"filename_effective\":", v->exit);
      if (filename) json_string(to, filename);
      else fputs("null", to);
      fprintf(to, ",\"http_code\":%d,\"http_version\":\"%s\",\"method\":", info->status, version);
      json_string(to, method);
      fprintf(to, ",\"num_connects\":%d,\"num_headers\":%zu,\"num_redirects\":%zu,\"remote_ip\":", num_connects,
              one->n_heads, info->n_redirects);
      json_string(to, remote_ip);
      fprintf(to, ",\"remote_port\":%s,\"response_code\":%d,\"scheme\":\"%s\",\"size_download\":%llu,"
                  "\"speed_download\":%llu,\"time_appconnect\":%.6f,\"time_connect\":%.6f,"
                  "\"time_namelookup\":%.6f,\"time_starttransfer\":%.6f,\"time_total\":%.6f,\"url\":",
              remote_port[0] ? remote_port : "0", info->status, strncasecmp(effective, "https:", 6) == 0 ? "HTTPS" : "HTTP",
              info->body_bytes, speed, info->tls_ms / 1000, info->connect_ms / 1000, info->dns_ms / 1000,
              info->ttfb_ms / 1000, info->total_ms / 1000);
      json_string(to, guise_url_redact(url, shown, sizeof(shown)));
      fputs(",\"redirect_url\":", to);
      if (redirect[0]) json_string(to, redirect);
      else fputs("null", to);
      fputs(",\"url_effective\":", to);
      json_string(to, effective);
      fputs(",\"errorname\":", to);
      if (err) json_string(to, guise_err_name(err));
      else fputs("null", to);
      fputc('}', to);
    } else if (IS("size_header") || IS("size_request") || IS("size_upload") || IS("speed_upload") ||
               IS("time_pretransfer") || IS("time_redirect") || IS("local_ip") || IS("ssl_verify_result") ||
               IS("proxy_ssl_verify_result") || IS("certs") || IS("num_certs") ||
               IS("http_connect") || IS("referer") || IS("urlnum") || IS("curl_version") || IS("ftp_entry_path")) {
      /* curl's, not kept by guise: nothing printed, and said */
      fprintf(errs, "guise: --write-out variable '%.*s' is curl's; guise does not keep it\n", (int)len, k);
    } else fprintf(errs, "guise: unknown --write-out variable: '%.*s'\n", (int)(len > 64 ? 64 : len), k);
#undef IS
    p = end;
  }
  fflush(out);
  fflush(errs);
}

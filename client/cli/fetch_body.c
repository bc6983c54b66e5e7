/* fetch_body.c — see fetch_body.h. curl's documentation of each option is the
 * reference (its man page: -d, --data-*, --json, -F, -T, -G), checked against
 * curl 7.88 itself on the same command lines (tests/integration/cli/
 * test_cli_body.py). Uses only guise.h and the option table's settings. */
#include "fetch_body.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cli.h"

#define BODY_MEM_MAX (64u << 20) /* -d/--json data in memory (files: -T, -F stream) */
#define FORM_MAX_PARTS 1000
#define MAX_UPLOADS 1000         /* -T: one a URL */
#define BOUNDARY_MAX 80

/* One piece of a streamed body: bytes in memory, or a file (|path|; "-":
 * stdin) of |size| bytes (-1: not known before it is read). */
typedef struct seg {
  const unsigned char *mem;
  size_t len;
  const char *path;
  long long size;
} seg;

/* A streamed body: its pieces, and its length when every piece has one. */
typedef struct stream_body {
  seg *segs;
  size_t n, cap;
  long long length;   /* -1: chunked (HTTP/1.1) */
  int has_stdin;      /* no rewind once read */
} stream_body;

/* One request's reader of a stream_body. */
typedef struct reader {
  const stream_body *b;
  size_t seg;
  unsigned long long off;   /* in the current piece */
  FILE *fp;
  int started;
} reader;

typedef struct fetch_body {
  /* -d and its kin, --json */
  unsigned char *data;
  size_t data_len, data_cap;
  int has_data, json, get;
  /* -F */
  stream_body form;
  char boundary[BOUNDARY_MAX];
  char content_type[BOUNDARY_MAX + 64];
  char **texts;             /* part heads and values we made */
  size_t n_texts, cap_texts;
  /* -T: one a URL */
  stream_body uploads[MAX_UPLOADS];
  size_t n_uploads;
  /* a reader per URL */
  reader *readers;
  size_t n_readers;
  char **urls;              /* URLs we rewrote (-G, -T) */
  size_t n_urls;
} fetch_body;

/* ---- small things ------------------------------------------------------------ */

static void body_free(void *state) {
  fetch_body *fb = state;
  if (fb == NULL) return;
  free(fb->data);
  free(fb->form.segs);
  for (size_t i = 0; i < fb->n_texts; i++) free(fb->texts[i]);
  free(fb->texts);
  for (size_t i = 0; i < fb->n_uploads; i++) free(fb->uploads[i].segs);
  for (size_t i = 0; i < fb->n_readers; i++)
    if (fb->readers[i].fp && fb->readers[i].fp != stdin) fclose(fb->readers[i].fp);
  free(fb->readers);
  for (size_t i = 0; i < fb->n_urls; i++) free(fb->urls[i]);
  free(fb->urls);
  free(fb);
}

static int oom(const cli_settings *s) {
  fprintf(stderr, "%s: out of memory\n", s->prog);
  return EXIT_FAILURE_GENERIC;
}

/* Appends |n| bytes to the in-memory data, capped. 0, or -1 (too large). */
static int data_add(fetch_body *fb, const void *p, size_t n) {
  if (n > BODY_MEM_MAX - fb->data_len) return -1;
  if (fb->data_len + n + 1 > fb->data_cap) {
    size_t cap = fb->data_cap ? fb->data_cap : 256;
    while (cap < fb->data_len + n + 1) cap *= 2;
    unsigned char *d = realloc(fb->data, cap);
    if (d == NULL) return -1;
    fb->data = d;
    fb->data_cap = cap;
  }
  if (n) memcpy(fb->data + fb->data_len, p, n);
  fb->data_len += n;
  fb->data[fb->data_len] = '\0';
  return 0;
}

/* A file (or stdin for "-") read whole into |*out|, at most BODY_MEM_MAX
 * bytes: 0, or -1 with errno. */
static int slurp(const char *path, unsigned char **out, size_t *len) {
  FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  *out = NULL;
  *len = 0;
  if (fp == NULL) return -1;
  size_t cap = 0, n = 0;
  unsigned char *buf = NULL;
  for (;;) {
    if (n == cap) {
      if (cap >= BODY_MEM_MAX) {
        free(buf);
        if (fp != stdin) fclose(fp);
        errno = EFBIG;
        return -1;
      }
      cap = cap ? cap * 2 : 65536;
      unsigned char *b = realloc(buf, cap + 1);
      if (b == NULL) {
        free(buf);
        if (fp != stdin) fclose(fp);
        errno = ENOMEM;
        return -1;
      }
      buf = b;
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(fp);
  int saved = errno;
  if (fp != stdin) fclose(fp);
  if (bad) {
    free(buf);
    errno = saved ? saved : EIO;
    return -1;
  }
  if (n > BODY_MEM_MAX) {
    free(buf);
    errno = EFBIG;
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

static int read_error(const cli_settings *s, const char *as, const char *path) {
  fprintf(stderr, "%s: %s: cannot read '%s': %s\n", s->prog, as, path,
          errno == EFBIG ? "larger than 64 MiB (the cap on data read into memory; -T and -F stream files)"
                         : strerror(errno));
  return FETCH_BODY_EXIT_READ;
}

/* -d @FILE and its kin that cannot be read: a usage error (exit 2) naming the
 * option as given, as guise said before -T and -F (which exit 26, curl's read
 * error, as curl does); curl itself sends an empty body with a warning. */
static int data_file_error(const cli_settings *s, const cli_body_arg *a, const char *path) {
  fprintf(stderr, "%s: %s %s: %s\n", s->prog, a->as, a->value,
          errno == EFBIG ? "larger than 64 MiB (the cap on data read into memory; -T and -F stream files)"
                         : strerror(errno));
  (void)path;
  return EXIT_USAGE;
}

/* curl's --data-urlencode encoding (curl 7.88, checked): letters, digits and
 * "-._~" as they are, space as '+', every other byte %XX (upper case). */
static int urlencode_add(fetch_body *fb, const unsigned char *p, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i];
    char e[3];
    size_t k = 1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      e[0] = (char)c;
    } else if (c == ' ') {
      e[0] = '+';
    } else {
      e[0] = '%', e[1] = hex[c >> 4], e[2] = hex[c & 15], k = 3;
    }
    if (data_add(fb, e, k)) return -1;
  }
  return 0;
}

/* ---- the -d family ------------------------------------------------------------ */

static int data_piece(cli_settings *s, fetch_body *fb, const cli_body_arg *a) {
  const char *v = a->value;
  int json = strcmp(a->name, "--json") == 0;
  /* curl: pieces joined with '&'; a --json piece is added as it is. */
  if (fb->has_data && !json && data_add(fb, "&", 1)) goto big;
  fb->has_data = 1;
  fb->json |= json;
  if (strcmp(a->name, "--data-urlencode") == 0) {
    /* content, =content, name=content, @file, name@file: the first '=' or '@' decides. */
    const char *sep = strpbrk(v, "=@");
    if (sep == NULL) return urlencode_add(fb, (const unsigned char *)v, strlen(v)) ? -2 : CLI_NEXT;
    if (sep > v && data_add(fb, v, (size_t)(sep - v))) goto big;
    if (*sep == '=') {
      if (sep > v && data_add(fb, "=", 1)) goto big;
      return urlencode_add(fb, (const unsigned char *)sep + 1, strlen(sep + 1)) ? -2 : CLI_NEXT;
    }
    unsigned char *buf;
    size_t len;
    if (slurp(sep + 1, &buf, &len)) return data_file_error(s, a, sep + 1);
    int e = (sep > v && data_add(fb, "=", 1)) || urlencode_add(fb, buf, len);
    free(buf);
    return e ? -2 : CLI_NEXT;
  }
  int raw = strcmp(a->name, "--data-raw") == 0;
  if (raw || v[0] != '@') return data_add(fb, v, strlen(v)) ? -2 : CLI_NEXT;
  unsigned char *buf;
  size_t len;
  if (slurp(v + 1, &buf, &len)) return data_file_error(s, a, v + 1);
  /* -d/--data-ascii @file: CR and LF left out (curl's man page); --data-binary and --json keep them. */
  if (strcmp(a->name, "--data") == 0 || strcmp(a->name, "--data-ascii") == 0) {
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
      if (buf[i] != '\r' && buf[i] != '\n') buf[k++] = buf[i];
    len = k;
  }
  int e = data_add(fb, buf, len);
  free(buf);
  return e ? -2 : CLI_NEXT;
big:
  return -2;
}

/* ---- streamed bodies ------------------------------------------------------------ */

static int seg_add(stream_body *b, seg sg) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 16;
    seg *p = realloc(b->segs, cap * sizeof(*p));
    if (p == NULL) return -1;
    b->segs = p;
    b->cap = cap;
  }
  b->segs[b->n++] = sg;
  if (sg.path && strcmp(sg.path, "-") == 0) b->has_stdin = 1;
  if (b->length >= 0) b->length = sg.path ? (sg.size >= 0 ? b->length + sg.size : -1) : b->length + (long long)sg.len;
  return 0;
}

/* A file's size when it is a regular file; -1 for stdin, a pipe, a device.
 * 0, or -1 (cannot be opened) with errno. */
static int file_size(const char *path, long long *size) {
  *size = -1;
  if (strcmp(path, "-") == 0) return 0;
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return -1;
  struct stat st;
  if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) *size = (long long)st.st_size;
  if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(fp);
    errno = EISDIR;
    return -1;
  }
  fclose(fp);
  return 0;
}

static long body_read(void *ud, unsigned char *buf, size_t cap, guise_body_ctl *ctl) {
  (void)ctl; /* files and stdin never pause: a read waits for its bytes */
  reader *r = ud;
  r->started = 1;
  while (r->seg < r->b->n) {
    const seg *sg = &r->b->segs[r->seg];
    if (sg->path == NULL) {
      size_t left = sg->len - (size_t)r->off;
      if (left == 0) {
        r->seg++, r->off = 0;
        continue;
      }
      size_t n = left < cap ? left : cap;
      memcpy(buf, sg->mem + r->off, n);
      r->off += n;
      return (long)n;
    }
    if (r->fp == NULL) {
      r->fp = strcmp(sg->path, "-") == 0 ? stdin : fopen(sg->path, "rb");
      if (r->fp == NULL) return GUISE_E_IO;
    }
    size_t want = cap;
    if (sg->size >= 0 && (unsigned long long)sg->size - r->off < want) want = (size_t)((unsigned long long)sg->size - r->off);
    size_t n = want ? fread(buf, 1, want, r->fp) : 0;
    if (n == 0 && want && ferror(r->fp)) return GUISE_E_IO;
    if (n == 0) {
      /* A file that shrank while it was sent cannot fill its Content-Length. */
      if (sg->size >= 0 && r->off != (unsigned long long)sg->size) return GUISE_E_IO;
      if (r->fp != stdin) fclose(r->fp);
      r->fp = NULL;
      r->seg++, r->off = 0;
      continue;
    }
    r->off += n;
    return (long)n;
  }
  return 0;
}

static int body_rewind(void *ud) {
  reader *r = ud;
  if (r->started && r->b->has_stdin) return -1; /* stdin's bytes are gone */
  if (r->fp && r->fp != stdin) fclose(r->fp);
  r->fp = NULL;
  r->seg = 0;
  r->off = 0;
  return 0;
}

/* ---- -F ---------------------------------------------------------------------- */

/* The boundary the profile's browser would make (RFC 7578 4.1): Chromium and
 * Safari (WebKit's FormDataBuilder) "----WebKitFormBoundary" and 16 letters
 * and digits; Firefox "----geckoformboundary" and two random 64-bit numbers in
 * hex; with no profile, curl's: 24 dashes and 16 hex digits. */
static void make_boundary(fetch_body *fb, const char *profile) {
  unsigned char rnd[16];
  if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
    for (size_t i = 0; i < sizeof(rnd); i++) rnd[i] = (unsigned char)rand(); /* no entropy source: still unique enough */
  }
  int family = 0; /* 0 curl, 1 WebKit, 2 gecko */
  if (profile && strcmp(profile, "none") != 0) {
    size_t len = 0;
    const char *text = guise_profile_text(profile, &len);
    if (text && memmem(text, len, "Firefox/", 8)) family = 2;
    else if (text) family = 1;
    else family = strcasestr(profile, "firefox") || strcasestr(profile, "tor") ? 2 : 1;
  }
  if (family == 1) {
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789AB";
    char tail[17];
    for (int i = 0; i < 16; i++) tail[i] = alnum[rnd[i] & 63];
    tail[16] = '\0';
    snprintf(fb->boundary, sizeof(fb->boundary), "----WebKitFormBoundary%s", tail);
  } else if (family == 2) {
    unsigned long long a = 0, b = 0;
    memcpy(&a, rnd, 8);
    memcpy(&b, rnd + 8, 8);
    snprintf(fb->boundary, sizeof(fb->boundary), "----geckoformboundary%llx%llx", a, b);
  } else {
    snprintf(fb->boundary, sizeof(fb->boundary), "------------------------%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
  }
  snprintf(fb->content_type, sizeof(fb->content_type), "multipart/form-data; boundary=%s", fb->boundary);
}

static char *keep_text(fetch_body *fb, char *t) {
  if (t == NULL) return NULL;
  if (fb->n_texts == fb->cap_texts) {
    size_t cap = fb->cap_texts ? fb->cap_texts * 2 : 16;
    char **p = realloc(fb->texts, cap * sizeof(*p));
    if (p == NULL) {
      free(t);
      return NULL;
    }
    fb->texts = p;
    fb->cap_texts = cap;
  }
  fb->texts[fb->n_texts++] = t;
  return t;
}

/* A name or file name in a Content-Disposition quoted string, as curl and the
 * HTML standard's multipart encoding write it: '"' as %22, CR as %0D, LF as %0A. */
static void quoted_add(char *out, size_t cap, const char *s, size_t n) {
  size_t o = strlen(out);
  for (size_t i = 0; i < n && o + 4 < cap; i++) {
    const char *e = s[i] == '"' ? "%22" : s[i] == '\r' ? "%0D" : s[i] == '\n' ? "%0A" : NULL;
    if (e) {
      memcpy(out + o, e, 3);
      o += 3;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
}

/* curl's type for a file name's extension (its small built-in table, as curl
 * 7.88 sends them: .json is not in it); others application/octet-stream. */
static const char *type_of(const char *name) {
  static const struct { const char *ext, *type; } map[] = {
      {".gif", "image/gif"},       {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
      {".png", "image/png"},       {".svg", "image/svg+xml"},   {".txt", "text/plain"},
      {".htm", "text/html"},       {".html", "text/html"},      {".pdf", "application/pdf"},
      {".xml", "application/xml"},
  };
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    size_t e = strlen(map[i].ext);
    if (n > e && strcasecmp(name + n - e, map[i].ext) == 0) return map[i].type;
  }
  return "application/octet-stream";
}

static const char *base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

/* One -F or --form-string: its part's head, then its value or its file. */
static int form_part(cli_settings *s, fetch_body *fb, const cli_body_arg *a) {
  const char *v = a->value;
  const char *eq = strchr(v, '=');
  if (eq == NULL) {
    cli_usage_error(s->prog, a->as, v, "expected NAME=VALUE, NAME=@FILE or NAME=<FILE");
    return EXIT_USAGE;
  }
  if (fb->form.n / 3 >= FORM_MAX_PARTS) {
    fprintf(stderr, "%s: more than %d form parts\n", s->prog, FORM_MAX_PARTS);
    return EXIT_USAGE;
  }
  const char *val = eq + 1;
  size_t val_len = strlen(val);
  int literal = strcmp(a->name, "--form-string") == 0;
  int file = !literal && val[0] == '@', content = !literal && val[0] == '<';
  char type[256] = "", filename[1024] = "", path[4096] = "";
  int has_filename = 0;
  if (!literal) {
    /* ";type=", ";filename=" after the value or file (curl: other ";" words
     * are dropped with a warning, the value ending at the first ';'). */
    const char *semi = strchr(val, ';');
    val_len = semi ? (size_t)(semi - val) : strlen(val);
    while (semi) {
      const char *attr = semi + 1;
      const char *next = strchr(attr, ';');
      size_t alen = next ? (size_t)(next - attr) : strlen(attr);
      if (alen > 5 && strncasecmp(attr, "type=", 5) == 0) {
        snprintf(type, sizeof(type), "%.*s", (int)(alen - 5), attr + 5);
      } else if (alen > 9 && strncasecmp(attr, "filename=", 9) == 0) {
        snprintf(filename, sizeof(filename), "%.*s", (int)(alen - 9), attr + 9);
        has_filename = 1;
      } else if (alen) {
        fprintf(stderr, "%s: warning: %s: skip unknown form field: %.*s\n", s->prog, a->as, (int)alen, attr);
      }
      semi = next;
    }
    for (const char *t = type; *t; t++)
      if ((unsigned char)*t < 0x20 || *t == 0x7f) {
        cli_usage_error(s->prog, a->as, v, "the type has a control character");
        return EXIT_USAGE;
      }
  }
  if (file || content) {
    if (val_len < 2) {
      cli_usage_error(s->prog, a->as, v, "no file name after '@' or '<'");
      return EXIT_USAGE;
    }
    snprintf(path, sizeof(path), "%.*s", (int)(val_len - 1), val + 1);
  }
  char head[4096];
  snprintf(head, sizeof(head), "--%s\r\nContent-Disposition: form-data; name=\"", fb->boundary);
  quoted_add(head, sizeof(head), v, (size_t)(eq - v));
  strncat(head, "\"", sizeof(head) - strlen(head) - 1);
  long long size = 0;
  if (file) {
    if (file_size(path, &size)) return read_error(s, a->as, path);
    int from_stdin = strcmp(path, "-") == 0;
    if (!has_filename) snprintf(filename, sizeof(filename), "%s", base_name(path));
    strncat(head, "; filename=\"", sizeof(head) - strlen(head) - 1);
    quoted_add(head, sizeof(head), filename, strlen(filename));
    strncat(head, "\"", sizeof(head) - strlen(head) - 1);
    /* curl: stdin's part is filename="-" with no type of its own */
    if (!type[0] && !from_stdin) snprintf(type, sizeof(type), "%s", type_of(filename));
  } else if (content) {
    if (file_size(path, &size)) return read_error(s, a->as, path);
    if (has_filename) {
      strncat(head, "; filename=\"", sizeof(head) - strlen(head) - 1);
      quoted_add(head, sizeof(head), filename, strlen(filename));
      strncat(head, "\"", sizeof(head) - strlen(head) - 1);
    }
  }
  strncat(head, "\r\n", sizeof(head) - strlen(head) - 1);
  if (type[0]) {
    strncat(head, "Content-Type: ", sizeof(head) - strlen(head) - 1);
    strncat(head, type, sizeof(head) - strlen(head) - 1);
    strncat(head, "\r\n", sizeof(head) - strlen(head) - 1);
  }
  strncat(head, "\r\n", sizeof(head) - strlen(head) - 1);
  if (strlen(head) >= sizeof(head) - 8) {
    cli_usage_error(s->prog, a->as, v, "the part's name, file name and type are longer than 4 KiB");
    return EXIT_USAGE;
  }
  char *h = keep_text(fb, strdup(head));
  if (h == NULL) return oom(s);
  if (seg_add(&fb->form, (seg){(const unsigned char *)h, strlen(h), NULL, 0})) return oom(s);
  if (file || content) {
    char *p = keep_text(fb, strdup(path));
    if (p == NULL || seg_add(&fb->form, (seg){NULL, 0, p, size})) return oom(s);
  } else {
    char *p = keep_text(fb, strndup(val, val_len));
    if (p == NULL || seg_add(&fb->form, (seg){(const unsigned char *)p, val_len, NULL, 0})) return oom(s);
  }
  if (seg_add(&fb->form, (seg){(const unsigned char *)"\r\n", 2, NULL, 0})) return oom(s);
  return CLI_NEXT;
}

/* ---- URLs ---------------------------------------------------------------------- */

static const char *keep_url(fetch_body *fb, char *u) {
  if (u == NULL) return NULL;
  char **p = realloc(fb->urls, (fb->n_urls + 1) * sizeof(*p));
  if (p == NULL) {
    free(u);
    return NULL;
  }
  fb->urls = p;
  fb->urls[fb->n_urls++] = u;
  return u;
}

/* -G: the data into the query, before any fragment ('&' after a query). */
static const char *url_with(fetch_body *fb, const char *url, const unsigned char *data, size_t len) {
  size_t frag = strcspn(url, "#");
  int has_query = memchr(url, '?', frag) != NULL;
  size_t n = strlen(url) + len + 2;
  char *u = malloc(n);
  if (u == NULL) return NULL;
  snprintf(u, n, "%.*s%s%.*s%s", (int)frag, url, len ? (has_query ? "&" : "?") : "", (int)len,
           data ? (const char *)data : "", url + frag);
  return keep_url(fb, u);
}

static const char *url_with_query(fetch_body *fb, const char *url) { return url_with(fb, url, fb->data, fb->data_len); }

/* --url-query (curl 7.87): each piece as --data-urlencode reads it ("+" first:
 * as it is), joined with '&', added to every URL's query; the pieces are then
 * taken out of the body options. CLI_NEXT or an exit status. */
static int url_queries(cli_settings *s, fetch_body *fb) {
  fetch_body *q = NULL;
  size_t k = 0;
  int rc = CLI_NEXT;
  for (size_t i = 0; i < s->n_body_args; i++) {
    const cli_body_arg *a = &s->body_args[i];
    if (strcmp(a->name, "--url-query") != 0) {
      s->body_args[k++] = *a;
      continue;
    }
    if (rc != CLI_NEXT) continue;
    if (q == NULL && (q = calloc(1, sizeof(*q))) == NULL) rc = oom(s);
    else if (a->value[0] == '+') {
      if ((q->has_data && data_add(q, "&", 1)) || data_add(q, a->value + 1, strlen(a->value + 1))) rc = -2;
      q->has_data = 1;
    } else {
      cli_body_arg as = *a;
      as.name = "--data-urlencode";
      rc = data_piece(s, q, &as);
    }
    if (rc == -2) {
      fprintf(stderr, "%s: %s: the query is larger than 64 MiB\n", s->prog, a->as);
      rc = EXIT_USAGE;
    }
  }
  s->n_body_args = k;
  for (size_t i = 0; q && rc == CLI_NEXT && i < s->n_operands; i++) {
    const char *u = url_with(fb, s->operands[i], q->data, q->data_len);
    if (u == NULL) rc = oom(s);
    else s->operands[i] = u;
  }
  if (q) free(q->data);
  free(q);
  return rc;
}

/* -T: a URL with no file part (no path, or one ending in '/') gets the
 * file's name, percent-encoded as a path segment (curl's rule). */
static const char *url_with_file(fetch_body *fb, const char *url, const char *path) {
  if (strcmp(path, "-") == 0) return url;
  const char *auth = strstr(url, "://");
  auth = auth ? auth + 3 : url;
  size_t end = strcspn(auth, "?#");
  const char *slash = memchr(auth, '/', end);
  int no_path = slash == NULL;
  if (!no_path && auth[end - 1] != '/') return url;
  const char *name = base_name(path);
  size_t n = strlen(url) + 3 * strlen(name) + 2;
  char *u = malloc(n);
  if (u == NULL) return NULL;
  size_t at = (size_t)(auth - url) + end;
  memcpy(u, url, at);
  size_t o = at;
  if (no_path) u[o++] = '/';
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
      u[o++] = (char)*p;
    } else {
      u[o++] = '%', u[o++] = hex[*p >> 4], u[o++] = hex[*p & 15];
    }
  }
  strcpy(u + o, url + at);
  return keep_url(fb, u);
}

/* ---- the hooks ------------------------------------------------------------------ */

/* |name| unless -H gave it (an empty value too: -H removed it). */
static void default_header(cli_settings *s, const char *name, const char *value) {
  for (size_t i = 0; i < s->n_headers; i++)
    if (strcasecmp(s->headers[i].name, name) == 0) return;
  if (s->n_headers < CLI_MAX_HEADERS) s->headers[s->n_headers++] = (guise_header){name, value};
}

int fetch_body_prepare(cli_settings *s, guise_request_options *o) {
  if (s->n_body_args == 0) return CLI_NEXT;
  fetch_body *fb = calloc(1, sizeof(*fb));
  if (fb == NULL) return oom(s);
  s->body_state = fb;
  s->body_state_free = body_free;
  int qrc = url_queries(s, fb);
  if (qrc != CLI_NEXT) return qrc;
  const char *first_data = NULL, *first_form = NULL, *first_upload = NULL;
  for (size_t i = 0; i < s->n_body_args; i++) {
    const cli_body_arg *a = &s->body_args[i];
    if (strcmp(a->name, "--get") == 0) fb->get = 1;
    else if (strcmp(a->name, "--form") == 0 || strcmp(a->name, "--form-string") == 0) first_form = first_form ? first_form : a->as;
    else if (strcmp(a->name, "--upload-file") == 0) first_upload = first_upload ? first_upload : a->as;
    else first_data = first_data ? first_data : a->as;
  }
  /* curl refuses these pairs ("You can only select one HTTP request method!",
   * exit 2); -G with -F, which curl ignores, is refused too. */
  const char *x = first_data ? first_data : first_form, *y = first_upload ? first_upload : first_form;
  if ((first_data && first_form) || (first_upload && (first_data || first_form)) || (fb->get && (first_form || first_upload))) {
    if (fb->get && !(first_data && first_form) && !(first_upload && (first_data || first_form)))
      x = "-G", y = first_form ? first_form : first_upload;
    fprintf(stderr, "%s: %s and %s: one body a request (-d/--json data, -F form or -T upload)%s\n", s->prog, x, y,
            fb->get ? "; -G takes -d data only" : "");
    return EXIT_USAGE;
  }
  /* -I: a HEAD has no body (curl: "You can only select one HTTP request method", exit 2). */
  const char *body_opt = first_upload ? first_upload : first_form ? first_form : fb->get ? NULL : first_data;
  if (s->head_only && body_opt) {
    fprintf(stderr, "%s: -I and %s: a HEAD request has no body%s\n", s->prog, body_opt,
            first_data && !first_form && !first_upload ? " (-G puts -d data in the query)" : "");
    return EXIT_USAGE;
  }
  if (first_form) make_boundary(fb, o->profile ? o->profile : s->profile ? s->profile : guise_profile_default());
  for (size_t i = 0; i < s->n_body_args; i++) {
    const cli_body_arg *a = &s->body_args[i];
    int rc = CLI_NEXT;
    if (strcmp(a->name, "--get") == 0) continue;
    if (strcmp(a->name, "--form") == 0 || strcmp(a->name, "--form-string") == 0) {
      rc = form_part(s, fb, a);
    } else if (strcmp(a->name, "--upload-file") == 0) {
      if (fb->n_uploads == MAX_UPLOADS) {
        fprintf(stderr, "%s: more than %d -T\n", s->prog, MAX_UPLOADS);
        return EXIT_USAGE;
      }
      long long size;
      if (file_size(a->value, &size)) return read_error(s, a->as, a->value);
      stream_body *b = &fb->uploads[fb->n_uploads++];
      if (seg_add(b, (seg){NULL, 0, a->value, size})) return oom(s);
    } else {
      rc = data_piece(s, fb, a);
      if (rc == -2) {
        fprintf(stderr, "%s: %s: the data is larger than 64 MiB (the cap on data in memory; -T and -F stream files)\n",
                s->prog, a->as);
        return EXIT_USAGE;
      }
    }
    if (rc != CLI_NEXT) return rc;
  }
  if (first_form) {
    char *end = malloc(strlen(fb->boundary) + 8);
    if (end == NULL) return oom(s);
    sprintf(end, "--%s--\r\n", fb->boundary);
    if (keep_text(fb, end) == NULL || seg_add(&fb->form, (seg){(const unsigned char *)end, strlen(end), NULL, 0}))
      return oom(s);
    default_header(s, "Content-Type", fb->content_type);
  }
  if (fb->has_data && fb->get) {
    /* The data goes in each URL's query; the request is a GET with no body. */
    for (size_t i = 0; i < s->n_operands; i++) {
      const char *u = url_with_query(fb, s->operands[i]);
      if (u == NULL) return oom(s);
      s->operands[i] = u;
    }
    if (o->method == NULL) o->method = "GET";
  } else if (fb->has_data) {
    o->body = fb->data ? fb->data : (const unsigned char *)"";
    o->body_len = fb->data_len;
    o->has_body = 1;
    default_header(s, "Content-Type", fb->json ? "application/json" : "application/x-www-form-urlencoded");
    if (fb->json) default_header(s, "Accept", "application/json");
  }
  if (fb->n_uploads) {
    /* -T sends the file's bytes with no Content-Type, as curl and as a
     * browser's fetch() of a Blob without a type: an empty value removes the
     * one of the profile's navigate-post set (a form's), unless -H gave one. */
    default_header(s, "Content-Type", "");
    for (size_t i = 0; i < fb->n_uploads && i < s->n_operands; i++) {
      const char *u = url_with_file(fb, s->operands[i], fb->uploads[i].segs[0].path);
      if (u == NULL) return oom(s);
      s->operands[i] = u;
    }
  }
  fb->n_readers = s->n_operands;
  fb->readers = calloc(fb->n_readers ? fb->n_readers : 1, sizeof(*fb->readers));
  if (fb->readers == NULL) return oom(s);
  return CLI_NEXT;
}

int fetch_body_can_restart(const guise_request_options *o) {
  if (o->body_read != body_read) return 1;
  const reader *r = o->body_ud;
  return !(r->started && r->b->has_stdin);
}

int fetch_body_restart(guise_request_options *o) {
  if (o->body_read != body_read) return 0;
  return body_rewind(o->body_ud) == 0 ? 0 : -1;
}

void fetch_body_for_url(cli_settings *s, guise_request_options *o, size_t i) {
  fetch_body *fb = s->body_state;
  if (fb == NULL || i >= fb->n_readers) return;
  const stream_body *b = fb->form.n ? &fb->form : i < fb->n_uploads ? &fb->uploads[i] : NULL;
  if (b == NULL) {
    if (fb->n_uploads) { /* past the last -T: a GET, as curl */
      o->body_read = NULL;
      o->has_body = 0;
    }
    return;
  }
  reader *r = &fb->readers[i];
  r->b = b;
  o->body_read = body_read;
  o->body_rewind = body_rewind;
  o->body_ud = r;
  o->body_length = b->length;
  o->has_body = 1;
  if (b != &fb->form && o->method == NULL) o->method = "PUT";
}

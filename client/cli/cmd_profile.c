/* cmd_profile.c — `guise profile list | show NAME | import ... | check NAME|FILE`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "cli.h"
#include "guise.h"
#include "guise_capture.h"
#include "guise_fp.h"

static const char usage[] =
    "usage: guise profile list\n"
    "       guise profile show NAME               the built-in profile's JSON\n"
    "       guise profile check NAME|FILE         load it strictly, send it to a local guise echo,\n"
    "                                             compare expected and observed fingerprints\n"
    "       guise profile import --browsers-json FILE ID NAME [-o OUT]\n"
    "                                             a profile from a reference capture record\n"
    "       guise profile import --echo-log FILE NAME [--permute] [--description TEXT] [-o OUT]\n"
    "                                             a profile from a guise echo log of a real visit\n"
    "       guise profile import FILE NAME [--id ID] [--akamai AKAMAI] [--permute] [-o OUT]\n"

    "                                             the kind of FILE told from its content\n"    "       guise profile import --capture FILE NAME [--echo-log LOG | --akamai AKAMAI]\n"
    "                            [--permute] [-o OUT]\n"
    "                                             a profile from the first ClientHello of a pcap,\n"
    "                                             pcapng or hex dump; HTTP/2 from the guise echo\n"
    "                                             log of the same visit, the Akamai string, or a\n"
    "                                             cleartext preface in the capture\n"
    "       guise profile import --ja3 JA3 --akamai AKAMAI NAME [--sigalgs JSON]\n"
    "                            [--key-shares JSON] [--alpn JSON] [--grease] [--permute] [-o OUT]\n"
    "                                             a profile from JA3 and Akamai strings; what\n"
    "                                             they do not carry is the default (docs/CLI.md)\n";

typedef struct collect {
  char *buf;
  size_t len, cap;
} collect;

static int on_body(void *ud, const unsigned char *p, size_t n) {
  collect *c = ud;
  if (c->len + n + 1 > c->cap) {
    size_t cap = (c->len + n + 1) * 2;
    char *nb = realloc(c->buf, cap);
    if (nb == NULL) return -1;
    c->buf = nb;
    c->cap = cap;
  }
  memcpy(c->buf + c->len, p, n);
  c->len += n;
  c->buf[c->len] = '\0';
  return 0;
}

/* |s| with the padding extension (21) dropped from its extension list: the
 * |field|-th (from 0) |sep|-separated field, a '-'-separated list. */
static void drop_padding(const char *s, char sep, int field, char *out, size_t cap) {
  size_t o = 0;
  int f = 0;
  for (const char *p = s; *p && o + 1 < cap;) {
    if (f != field) {
      if (*p == sep) f++;
      out[o++] = *p++;
      continue;
    }
    /* Inside the list: copy items other than "21". */
    const char *end = p;
    while (*end && *end != sep) end++;
    int first = 1;
    for (const char *q = p; q < end;) {
      const char *dash = memchr(q, '-', (size_t)(end - q));
      size_t l = dash ? (size_t)(dash - q) : (size_t)(end - q);
      if (!(l == 2 && q[0] == '2' && q[1] == '1')) {
        if (!first && o + 1 < cap) out[o++] = '-';
        for (size_t k = 0; k < l && o + 1 < cap; k++) out[o++] = q[k];
        first = 0;
      }
      q += l + (dash ? 1 : 0);
    }
    p = end;
    f++;
    if (*p && o + 1 < cap) out[o++] = *p++;
  }
  out[o] = '\0';
}

/* 1 if |exp| and |obs| differ only by the padding extension (RFC 7685), whose
 * presence follows the hello's length (host name, ECH GREASE size). */
static int padding_only(int which, const char *exp, const char *obs, const char *ja4_r) {
  char a[2048], b[2048];
  switch (which) {
    case 0: /* ja4: recompute the observed hello's JA4 with padding toggled */
      return ja4_r && gfp_ja4_toggle_padding(ja4_r, a, sizeof(a)) == 0 && strcmp(a, exp) == 0;
    case 1:
    case 2: /* ja3n, ja3: the third field */
      drop_padding(exp, ',', 2, a, sizeof(a));
      drop_padding(obs, ',', 2, b, sizeof(b));
      return strcmp(a, b) == 0;
    case 4: { /* peetprint: the last field */
      int last = 0;
      for (const char *c = exp; *c; c++) last += *c == '|';
      drop_padding(exp, '|', last, a, sizeof(a));
      drop_padding(obs, '|', last, b, sizeof(b));
      return strcmp(a, b) == 0;
    }
    default: return 0;
  }
}

/* The self-test's one loop: the observer and the request with the profile. */
typedef struct check_run {
  guise_echo *echo;
  collect body;
  int result;
} check_run;

static int on_check_body(void *ud, const unsigned char *p, size_t n) {
  return on_body(&((check_run *)ud)->body, p, n);
}

static void on_check_complete(void *ud, int err, const guise_response_info *info) {
  (void)info;
  check_run *cr = ud;
  cr->result = err;
  guise_echo_close(cr->echo, NULL, NULL);
}

/* The self-test: a guise echo on loopback (in this process, on the loop of the
 * request), one navigation request with the profile, expected against observed. */
static int check_live(const char *profile) {
  char exp[5][1024], err[1024];
  if (guise_profile_expected(profile, exp[0], exp[1], exp[2], exp[3], exp[4], sizeof(exp[0]), err,
                             sizeof(err)) != 0) {
    fprintf(stderr, "%s\n", err);
    return 3;
  }
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return 1;
  check_run cr = {NULL, {0}, GUISE_E_INTERNAL};
  guise_echo_options eo;
  guise_echo_options_init(&eo);
  eo.listen = "127.0.0.1:0";
  if (guise_echo_new(&loop, &eo, &cr.echo, NULL, 0) != 0) {
    fprintf(stderr, "guise profile check: the local guise echo did not start\n");
    uv_run(&loop, UV_RUN_DEFAULT); /* the refused listener's close */
    uv_loop_close(&loop);
    return 1;
  }
  char url[160];
  const char *colon = strrchr(guise_echo_address(cr.echo), ':');
  snprintf(url, sizeof(url), "https://localhost:%d/", atoi(colon ? colon + 1 : "0"));
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = url;
  o.insecure = 1; /* the echo's certificate is self-signed */
  o.profile = profile;
  o.max_time_ms = 20000;
  guise_callbacks cb = {NULL, on_check_body, on_check_complete};
  int r = guise_request((struct uv_loop_s *)&loop, &o, &cb, &cr);
  if (r != 0) guise_echo_close(cr.echo, NULL, NULL); /* no callback will come */
  uv_run(&loop, UV_RUN_DEFAULT); /* the request, then the observer's close */
  uv_loop_close(&loop);
  if (r == 0) r = cr.result;
  collect body = cr.body;
  if (r != 0) {
    fprintf(stderr, "guise profile check: the request failed: %s (%s)\n", guise_strerror(r),
            guise_err_name(r));
    free(body.buf);
    return 1;
  }
  json_error_t jerr;
  json_t *doc = json_loadb(body.buf ? body.buf : "", body.len, 0, &jerr);
  free(body.buf);
  json_t *fp = json_object_get(json_object_get(doc, "tls"), "fingerprints");
  const char *observed[5] = {
      json_string_value(json_object_get(fp, "ja4")), json_string_value(json_object_get(fp, "ja3n")),
      json_string_value(json_object_get(fp, "ja3")),
      json_string_value(json_object_get(json_object_get(doc, "http2"), "akamai")),
      json_string_value(json_object_get(fp, "peetprint"))};
  const char *ja4_r = json_string_value(json_object_get(fp, "ja4_r"));
  static const char *const names[5] = {"ja4", "ja3n", "ja3", "akamai", "peetprint"};
  int differ = 0;
  printf("profile %s against guise echo on loopback\n", profile);
  for (int i = 0; i < 5; i++) {
    const char *o2 = observed[i] ? observed[i] : "(none)";
    if (exp[i][0] == '\0') {
      printf("  %-9s observed %s (no expected value recorded)\n", names[i], o2);
      continue;
    }
    int same = strcmp(exp[i], o2) == 0;
    int padding = !same && observed[i] && padding_only(i, exp[i], o2, ja4_r);
    differ |= !same && !padding;
    printf("  %-9s %s\n            expected %s\n            observed %s\n", names[i],
           same ? "same" : padding ? "same apart from padding (RFC 7685: it follows the hello's length)"
                              : "DIFFERENT",
           exp[i], o2);
  }
  json_decref(doc);
  printf("%s\n", differ ? "DIFFERENT (see above; extension permutation changes ja3)"
                         : "all recorded fingerprints match");
  return differ ? 1 : EXIT_OK;
}

/* Writes an imported profile to |out| (stdout when NULL) and frees it. A file
 * is written through a temp file and renamed whole (guise_file_open): never a
 * half-written profile, nor a symlink followed. */
static int write_profile(char *text, size_t len, const char *out) {
  guise_file *sf = NULL;
  FILE *f = !out ? stdout : guise_file_open(out, 0666, GUISE_FILE_SYNC, &sf) == 0 ? guise_file_stream(sf) : NULL;
  if (f == NULL) {
    fprintf(stderr, "guise profile import: -o %s: %s\n", out, strerror(errno));
    free(text);
    return EXIT_USAGE;
  }
  fwrite(text, 1, len, f);
  fputc('\n', f);
  int bad = out ? guise_file_commit(sf) != 0 : ferror(f) || fflush(f) != 0;
  int e = errno;
  free(text);
  if (bad) {
    fprintf(stderr, "guise profile import: cannot write %s: %s\n", out ? out : "stdout", strerror(e));
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

int cmd_profile(int argc, char **argv) {
  char err[1024];
  if (argc >= 2 && strcmp(argv[1], "list") == 0) {
    /* One profile a line, its name first (scripts take the first word); the
     * default and the aliases that name it after it: "chrome-150 (default, alias
     * chrome)". */
    for (size_t i = 0; i < guise_profile_count(); i++) {
      const char *n = guise_profile_name(i), *a, *t;
      int marks = strcmp(n, guise_profile_default()) == 0;
      fputs(n, stdout);
      if (marks) fputs(" (default", stdout);
      for (size_t k = 0; (a = guise_profile_alias(k, &t)) != NULL; k++)
        if (t && strcmp(t, n) == 0) printf("%salias %s", marks++ ? ", " : " (", a);
      puts(marks ? ")" : "");
    }
    return EXIT_OK;
  }
  if (argc == 3 && strcmp(argv[1], "show") == 0) {
    size_t len;
    const char *text = guise_profile_text(argv[2], &len);
    if (text == NULL) {
      fprintf(stderr, "guise profile: no built-in profile \"%s\" (guise profile list)\n", argv[2]);
      return 3;
    }
    fwrite(text, 1, len, stdout);
    return EXIT_OK;
  }
  if (argc == 3 && strcmp(argv[1], "check") == 0) {
    int r = guise_profile_check_syntax(argv[2], err, sizeof(err));
    if (r) {
      fprintf(stderr, "%s\n", err);
      return 3;
    }
    return check_live(argv[2]);
  }
  if (argc >= 6 && strcmp(argv[1], "import") == 0 && strcmp(argv[2], "--browsers-json") == 0) {
    const char *out = argc == 8 && strcmp(argv[6], "-o") == 0 ? argv[7] : NULL;
    if (argc != 6 && out == NULL) {
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    char *text;
    size_t len;
    int r = guise_profile_import_browsers_json(argv[3], argv[4], argv[5], &text, &len, err, sizeof(err));
    if (r) {
      fprintf(stderr, "guise profile import: %s\n", err);
      return r == GUISE_E_USAGE_FILE || r == GUISE_E_USAGE_INVALID_ARGUMENT ? EXIT_USAGE : 3;
    }
    return write_profile(text, len, out);
  }
  if (argc >= 5 && strcmp(argv[1], "import") == 0 && strcmp(argv[2], "--echo-log") == 0) {
    const char *file = argv[3], *name = argv[4], *out = NULL, *desc = NULL;
    int permute = 0;
    for (int i = 5; i < argc; i++) {
      if (strcmp(argv[i], "--permute") == 0) permute = 1;
      else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
      else if (strcmp(argv[i], "--description") == 0 && i + 1 < argc) desc = argv[++i];
      else {
        fputs(usage, stderr);
        return EXIT_USAGE;
      }
    }
    char *text;
    size_t len;
    int r = guise_profile_import_echo_log(file, name, desc, permute, &text, &len, err, sizeof(err));
    if (r) {
      fprintf(stderr, "guise profile import: %s\n", err);
      return EXIT_USAGE;
    }
    return write_profile(text, len, out);
  }
  if (argc >= 5 && strcmp(argv[1], "import") == 0 && strcmp(argv[2], "--capture") == 0) {
    const char *file = argv[3], *name = argv[4], *out = NULL, *akamai = NULL, *echo_log = NULL;
    int permute = 0;
    for (int i = 5; i < argc; i++) {
      if (strcmp(argv[i], "--permute") == 0) permute = 1;
      else if (strcmp(argv[i], "--echo-log") == 0 && i + 1 < argc) echo_log = argv[++i];
      else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
      else if (strcmp(argv[i], "--akamai") == 0 && i + 1 < argc) akamai = argv[++i];
      else {
        fprintf(stderr, "guise profile import: unexpected \"%s\"\n", argv[i]);
        fputs(usage, stderr);
        return EXIT_USAGE;
      }
    }
    char *text;
    size_t len;
    int r = guise_profile_import_capture(file, akamai, echo_log, name, permute, &text, &len, err, sizeof(err));
    if (r) {
      fprintf(stderr, "guise profile import: %s\n", err);
      return EXIT_USAGE;
    }
    return write_profile(text, len, out);
  }
  if (argc >= 3 && strcmp(argv[1], "import") == 0 &&
      (strcmp(argv[2], "--ja3") == 0 || strcmp(argv[2], "--akamai") == 0)) {
    const char *ja3 = NULL, *akamai = NULL, *name = NULL, *out = NULL;
    const char *sigalgs = NULL, *key_shares = NULL, *alpn = NULL;
    const char *bad = NULL;
    int grease = 0, permute = 0;
    for (int i = 2; i < argc; i++) {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp(a, "--grease") == 0) grease = 1;
      else if (strcmp(a, "--permute") == 0) permute = 1;
      else if (a[0] != '-' && name == NULL) name = a;
      else if (v == NULL) bad = a;
      else if (strcmp(a, "--ja3") == 0) ja3 = argv[++i];
      else if (strcmp(a, "--akamai") == 0) akamai = argv[++i];
      else if (strcmp(a, "--sigalgs") == 0) sigalgs = argv[++i];
      else if (strcmp(a, "--key-shares") == 0) key_shares = argv[++i];
      else if (strcmp(a, "--alpn") == 0) alpn = argv[++i];
      else if (strcmp(a, "-o") == 0) out = argv[++i];
      else bad = a;
      if (bad) break;
    }
    if (bad) {
      fprintf(stderr, "guise profile import: unexpected \"%s\"\n", bad);
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    if (ja3 == NULL || akamai == NULL || name == NULL) {
      fputs("guise profile import: --ja3, --akamai and a NAME are all needed\n", stderr);
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    char *text;
    size_t len;
    int r = guise_profile_import_strings(ja3, akamai, name, sigalgs, key_shares, alpn, grease,
                                         permute, &text, &len, err, sizeof(err));
    if (r) {
      fprintf(stderr, "guise profile import: %s\n", err);
      return EXIT_USAGE;
    }
    return write_profile(text, len, out);
  }
  if (argc >= 4 && strcmp(argv[1], "import") == 0 && argv[2][0] != '-') {
    const char *file = argv[2], *name = argv[3], *out = NULL, *id = NULL, *akamai = NULL;
    int permute = 0;
    for (int i = 4; i < argc; i++) {
      if (strcmp(argv[i], "--permute") == 0) permute = 1;
      else if (strcmp(argv[i], "--akamai") == 0 && i + 1 < argc) akamai = argv[++i];
      else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
      else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc) id = argv[++i];
      else {
        fputs(usage, stderr);
        return EXIT_USAGE;
      }
    }
    char *text;
    size_t len;
    /* Captures go to libguise-capture's importer, everything else to libguise's. */
    int r = akamai || guise_fp_is_capture(file) == 1
                ? guise_profile_import_capture(file, akamai, NULL, name, permute, &text, &len, err, sizeof(err))
                : guise_profile_import(file, id, name, permute, &text, &len, err, sizeof(err));
    if (r) {
      fprintf(stderr, "guise profile import: %s\n", err);
      return EXIT_USAGE;
    }
    return write_profile(text, len, out);
  }
  fputs(usage, argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
  return argc >= 2 && strcmp(argv[1], "--help") == 0 ? EXIT_OK : EXIT_USAGE;
}

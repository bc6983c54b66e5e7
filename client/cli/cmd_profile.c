/* cmd_profile.c — `guise profile list | show NAME | import ... | check NAME|FILE`. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
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
    "                                             the kind of FILE told from its content\n"
    "       guise profile import --capture FILE NAME [--echo-log LOG | --akamai AKAMAI]\n"
    "                            [--permute] [-o OUT]\n"
    "                                             a profile from the first ClientHello of a pcap,\n"
    "                                             pcapng or hex dump; HTTP/2 from the guise echo\n"
    "                                             log of the same visit, the Akamai string, or a\n"
    "                                             cleartext preface in the capture\n"
    "       guise profile import --ja3 JA3 --akamai AKAMAI NAME [--sigalgs JSON]\n"
    "                            [--key-shares JSON] [--alpn JSON] [--grease] [--permute] [-o OUT]\n"
    "                                             a profile from JA3 and Akamai strings; what\n"
    "                                             they do not carry is the default; request\n"
    "                                             headers from the nearest shipped profile\n"
    "Options go anywhere on the line, as --opt VALUE or --opt=VALUE.\n";

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
  /* The observer and the request share this process: libuv writes without
   * MSG_NOSIGNAL, so a peer that closes while the other side still writes (the
   * request ending on an error or its --max-time while the answer is written;
   * a reset) would end the command with SIGPIPE. guise.h asks the caller of
   * guise_echo_new to ignore it, as guise echo, guise URL and guise batch do. */
  signal(SIGPIPE, SIG_IGN);
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
  /* With SIGPIPE ignored a closed standard output is an error to say. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "guise profile check: cannot write the result to standard output: %s\n", strerror(errno));
    return 1;
  }
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

/* A coherence warning (guise_profile_coherence) on stderr. */
static void on_incoherent(void *ud, const char *msg) {
  (void)ud;
  fprintf(stderr, "guise profile: warning: %s\n", msg);
}

/* The options of `guise profile ...`, anywhere on the line ("--opt VALUE" or
 * "--opt=VALUE"; "--" ends them); the other words, in order, are |pos|. */
typedef struct profile_args {
  const char *browsers_json, *echo_log, *capture, *ja3, *akamai, *sigalgs, *key_shares, *alpn, *id,
      *description, *out;
  int permute, grease;
  const char *pos[8];
  int n_pos;
} profile_args;

static int parse_args(int argc, char **argv, profile_args *a) {
  static const struct {
    const char *name;
    size_t off; /* of the value in profile_args; flags below */
  } valued[] = {
      {"--browsers-json", offsetof(profile_args, browsers_json)},
      {"--echo-log", offsetof(profile_args, echo_log)},
      {"--capture", offsetof(profile_args, capture)},
      {"--ja3", offsetof(profile_args, ja3)},
      {"--akamai", offsetof(profile_args, akamai)},
      {"--sigalgs", offsetof(profile_args, sigalgs)},
      {"--key-shares", offsetof(profile_args, key_shares)},
      {"--alpn", offsetof(profile_args, alpn)},
      {"--id", offsetof(profile_args, id)},
      {"--description", offsetof(profile_args, description)},
      {"-o", offsetof(profile_args, out)},
      {"--output", offsetof(profile_args, out)},
  };
  memset(a, 0, sizeof(*a));
  int opts = 1;
  for (int i = 1; i < argc; i++) {
    const char *w = argv[i];
    if (opts && strcmp(w, "--") == 0) {
      opts = 0;
      continue;
    }
    if (!opts || w[0] != '-' || w[1] == '\0') {
      if (a->n_pos == (int)(sizeof(a->pos) / sizeof(a->pos[0]))) {
        fprintf(stderr, "guise profile: unexpected \"%s\"\n", w);
        return -1;
      }
      a->pos[a->n_pos++] = w;
      continue;
    }
    if (strcmp(w, "--permute") == 0) {
      a->permute = 1;
      continue;
    }
    if (strcmp(w, "--grease") == 0) {
      a->grease = 1;
      continue;
    }
    const char *eq = strchr(w, '=');
    size_t nl = eq ? (size_t)(eq - w) : strlen(w);
    size_t k = 0, n = sizeof(valued) / sizeof(valued[0]);
    while (k < n && !(strlen(valued[k].name) == nl && strncmp(valued[k].name, w, nl) == 0)) k++;
    if (k == n) {
      fprintf(stderr, "guise profile: unknown option \"%.*s\"\n", (int)nl, w);
      return -1;
    }
    const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
    if (v == NULL) {
      fprintf(stderr, "guise profile: %s needs a value\n", valued[k].name);
      return -1;
    }
    const char **slot = (const char **)((char *)a + valued[k].off);
    if (*slot) {
      fprintf(stderr, "guise profile: %s given twice\n", valued[k].name);
      return -1;
    }
    *slot = v;
  }
  return 0;
}

/* Refuses the options |a| has that the chosen import does not take (each bit of
 * |allowed| one option, in the order below). */
enum { A_ECHO = 1, A_AKAMAI = 2, A_SIGALGS = 4, A_KEYSHARES = 8, A_ALPN = 16, A_ID = 32, A_DESC = 64,
       A_PERMUTE = 128, A_GREASE = 256 };

static int only_options(const profile_args *a, unsigned allowed, const char *what) {
  const struct {
    unsigned bit;
    int given;
    const char *name;
  } o[] = {{A_ECHO, a->echo_log != NULL, "--echo-log"},    {A_AKAMAI, a->akamai != NULL, "--akamai"},
           {A_SIGALGS, a->sigalgs != NULL, "--sigalgs"},   {A_KEYSHARES, a->key_shares != NULL, "--key-shares"},
           {A_ALPN, a->alpn != NULL, "--alpn"},            {A_ID, a->id != NULL, "--id"},
           {A_DESC, a->description != NULL, "--description"}, {A_PERMUTE, a->permute, "--permute"},
           {A_GREASE, a->grease, "--grease"}};
  for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
    if (o[i].given && !(allowed & o[i].bit)) {
      fprintf(stderr, "guise profile import: %s does not apply to %s\n", o[i].name, what);
      return -1;
    }
  return 0;
}

/* The positional words after "import": exactly |want| of them. */
static int positionals(const profile_args *a, int want, const char *what) {
  if (a->n_pos - 1 == want) return 0;
  if (a->n_pos - 1 > want)
    fprintf(stderr, "guise profile import: unexpected \"%s\"\n", a->pos[1 + want]);
  else
    fprintf(stderr, "guise profile import: %s needs %s\n", what, want == 1 ? "a NAME" : "FILE and NAME");
  return -1;
}

/* Prints where an import took its request headers from, when it says so in its
 * "source" (guise_profile_import_strings: the nearest shipped profile). */
static void say_headers_source(const char *text, size_t len) {
  json_error_t jerr;
  json_t *doc = json_loadb(text, len, 0, &jerr);
  const char *src = json_string_value(json_object_get(doc, "source"));
  const char *at = src ? strstr(src, "request headers and kinds from ") : NULL;
  if (at) {
    const char *end = strchr(at, ';');
    fprintf(stderr, "guise profile import: %.*s\n", (int)(end ? (size_t)(end - at) : strlen(at)), at);
  }
  json_decref(doc);
}

static int cmd_import(const profile_args *a) {
  char err[1024];
  char *text = NULL;
  size_t len = 0;
  int r;
  if (a->browsers_json) {
    if (a->echo_log || a->capture || a->ja3 || only_options(a, A_ID, "--browsers-json") ||
        positionals(a, a->id ? 1 : 2, "--browsers-json FILE")) {
      if (a->echo_log || a->capture || a->ja3)
        fputs("guise profile import: one of --browsers-json, --capture, --echo-log, --ja3 at a time\n", stderr);
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    const char *id = a->id ? a->id : a->pos[1], *name = a->id ? a->pos[1] : a->pos[2];
    r = guise_profile_import_browsers_json(a->browsers_json, id, name, &text, &len, err, sizeof(err));
    if (r) {
      fprintf(stderr, "guise profile import: %s\n", err);
      return r == GUISE_E_USAGE_FILE || r == GUISE_E_USAGE_INVALID_ARGUMENT ? EXIT_USAGE : 3;
    }
    return write_profile(text, len, a->out);
  }
  if (a->capture) {
    if (a->ja3 || only_options(a, A_ECHO | A_AKAMAI | A_PERMUTE, "--capture") ||
        positionals(a, 1, "--capture FILE")) {
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    r = guise_profile_import_capture(a->capture, a->akamai, a->echo_log, a->pos[1], a->permute, &text, &len, err,
                                     sizeof(err));
    if (r == 0) say_headers_source(text, len);
  } else if (a->echo_log) {
    if (a->ja3 || only_options(a, A_ECHO | A_PERMUTE | A_DESC, "--echo-log") ||
        positionals(a, 1, "--echo-log FILE")) {
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    r = guise_profile_import_echo_log(a->echo_log, a->pos[1], a->description, a->permute, &text, &len, err,
                                      sizeof(err));
  } else if (a->ja3 || (a->akamai && a->n_pos == 2)) {
    if (only_options(a, A_AKAMAI | A_SIGALGS | A_KEYSHARES | A_ALPN | A_GREASE | A_PERMUTE, "--ja3") ||
        positionals(a, 1, "--ja3 JA3 --akamai AKAMAI")) {
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    if (a->ja3 == NULL || a->akamai == NULL) {
      fputs("guise profile import: --ja3, --akamai and a NAME are all needed\n", stderr);
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    r = guise_profile_import_strings(a->ja3, a->akamai, a->pos[1], a->sigalgs, a->key_shares, a->alpn, a->grease,
                                     a->permute, &text, &len, err, sizeof(err));
    if (r == 0) say_headers_source(text, len);
  } else {
    if (only_options(a, A_AKAMAI | A_ID | A_PERMUTE, "import FILE NAME") || positionals(a, 2, "import")) {
      fputs(usage, stderr);
      return EXIT_USAGE;
    }
    const char *file = a->pos[1], *name = a->pos[2];
    /* Captures go to libguise-capture's importer, everything else to libguise's. */
    r = a->akamai || guise_fp_is_capture(file) == 1
            ? guise_profile_import_capture(file, a->akamai, NULL, name, a->permute, &text, &len, err, sizeof(err))
            : guise_profile_import(file, a->id, name, a->permute, &text, &len, err, sizeof(err));
    if (r == 0) say_headers_source(text, len);
  }
  if (r) {
    fprintf(stderr, "guise profile import: %s\n", err);
    return EXIT_USAGE;
  }
  return write_profile(text, len, a->out);
}

int cmd_profile(int argc, char **argv) {
  char err[1024];
  profile_args a;
  int help = 0;
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) help |= !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
  if (help) {
    fputs(usage, stdout);
    return EXIT_OK;
  }
  if (parse_args(argc, argv, &a) != 0) {
    fputs(usage, stderr);
    return EXIT_USAGE;
  }
  const char *sub = a.n_pos ? a.pos[0] : "";
  int is_import = strcmp(sub, "import") == 0;
  int has_opts = a.browsers_json || a.echo_log || a.capture || a.ja3 || a.akamai || a.sigalgs || a.key_shares ||
                 a.alpn || a.id || a.description || a.out || a.permute || a.grease;
  if (!is_import && has_opts) {
    fprintf(stderr, "guise profile: options are for \"import\" only\n");
    fputs(usage, stderr);
    return EXIT_USAGE;
  }
  if (strcmp(sub, "list") == 0 && a.n_pos == 1) {
    /* One profile a line, its name first (scripts take the first word); the
     * default and the aliases that name it after it: "chrome-150 (default, alias
     * chrome)". */
    for (size_t i = 0; i < guise_profile_count(); i++) {
      const char *n = guise_profile_name(i), *al, *t;
      int marks = strcmp(n, guise_profile_default()) == 0;
      fputs(n, stdout);
      if (marks) fputs(" (default", stdout);
      for (size_t k = 0; (al = guise_profile_alias(k, &t)) != NULL; k++)
        if (t && strcmp(t, n) == 0) printf("%salias %s", marks++ ? ", " : " (", al);
      puts(marks ? ")" : "");
    }
    return EXIT_OK;
  }
  if (strcmp(sub, "show") == 0 && a.n_pos == 2) {
    size_t len;
    const char *text = guise_profile_text(a.pos[1], &len);
    if (text == NULL) {
      fprintf(stderr, "guise profile: no built-in profile \"%s\" (guise profile list)\n", a.pos[1]);
      return 3;
    }
    fwrite(text, 1, len, stdout);
    return EXIT_OK;
  }
  if (strcmp(sub, "check") == 0 && a.n_pos == 2) {
    int r = guise_profile_check_syntax(a.pos[1], err, sizeof(err));
    if (r) {
      fprintf(stderr, "%s\n", err);
      return 3;
    }
    /* Warnings, not failures: the fingerprints decide the exit status. */
    guise_profile_coherence(a.pos[1], on_incoherent, NULL, err, sizeof(err));
    return check_live(a.pos[1]);
  }
  if (is_import) return cmd_import(&a);
  if (a.n_pos > 0 && (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0 || strcmp(sub, "check") == 0))
    fprintf(stderr, "guise profile %s: %s\n", sub, a.n_pos == 1 ? "needs a NAME" : "takes one NAME");
  fputs(usage, stderr);
  return EXIT_USAGE;
}

/*
 * test_profile_coherence.c — profile_coherence (profile.h): every built-in profile
 * is coherent (no warning), and each hand-made incoherent profile of
 * tests/data/profiles_incoherent (the folder is the first argument; its README says
 * how they were made) loads and gets a warning naming the two fields that disagree,
 * and the profile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

static int failures;

typedef struct seen {
  char text[16][800];
  int n;
} seen;

static void collect(void *ud, const char *msg) {
  seen *s = ud;
  if (s->n < 16) snprintf(s->text[s->n++], sizeof(s->text[0]), "%s", msg);
}

/* One warning must hold all of |want| (NULL-terminated). */
static int has(const seen *s, const char *const *want) {
  for (int i = 0; i < s->n; i++) {
    int all = 1;
    for (const char *const *w = want; *w && all; w++) all = strstr(s->text[i], *w) != NULL;
    if (all) return 1;
  }
  return 0;
}

static void dump(const seen *s) {
  for (int i = 0; i < s->n; i++) fprintf(stderr, "  warning: %s\n", s->text[i]);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_profile_coherence DATA/profiles_incoherent\n");
    return 2;
  }
  static profile p;
  char err[1024];
  for (size_t i = 0; i < profile_builtin_count(); i++) {
    const char *name = profile_builtin_name(i);
    seen s = {.n = 0};
    if (profile_load_builtin(name, &p, err, sizeof(err)) != 0) {
      fprintf(stderr, "FAIL: %s does not load: %s\n", name, err);
      failures++;
      continue;
    }
    int n = profile_coherence(&p, collect, &s);
    if (n != 0 || s.n != 0) {
      fprintf(stderr, "FAIL: shipped %s: %d warning(s)\n", name, n);
      dump(&s);
      failures++;
    }
  }
  /* Each file: the words one warning must hold (the profile, the two fields). */
  static const struct {
    const char *file;
    const char *want[6];
  } cases[] = {
      {"chrome150-ua-chrome124-hello", {"\"incoherent-chrome150-ua-chrome124-hello\"", "user-agent", "Chrome 150",
                                        "tls.supported_groups", "X25519Kyber768Draft00", NULL}},
      {"chrome150-ua-chrome124-hello", {"user-agent", "Chrome 150", "tls.alps.codepoint", "17513", NULL}},
      {"firefox-with-sec-ch-ua", {"\"incoherent-firefox-with-sec-ch-ua\"", "user-agent", "sec-ch-ua", NULL}},
      {"no-user-agent", {"\"incoherent-no-user-agent\"", "no user-agent", NULL}},
      {"brand-version-149", {"user-agent says Chrome 150", "sec-ch-ua says Chromium 149", NULL}},
      {"brand-version-149", {"user-agent says Chrome 150", "sec-ch-ua says Google Chrome 149", NULL}},
      {"windows-ua-linux-platform", {"user-agent is Windows's", "sec-ch-ua-platform is \"Linux\"", NULL}},
      {"chrome150-no-permutation", {"user-agent says Chrome 150", "tls.permute_extensions", NULL}},
      {"firefox-ua-chrome-hello", {"user-agent says Firefox 144", "tls.cipher_suites has GREASE", NULL}},
      {"firefox-ua-chrome-hello", {"user-agent says Firefox 144", "tls.alps", NULL}},
      {"firefox-ua-chrome-hello", {"user-agent says Firefox 144", "http2.pseudo_headers", NULL}},
      {"firefox144-no-mlkem", {"user-agent says Firefox 144", "tls.supported_groups", "X25519MLKEM768", NULL}},
      {"android-mobile-ua-not-mobile", {"user-agent has \"Mobile\"", "sec-ch-ua-mobile is ?0", NULL}},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.json", argv[1], cases[i].file);
    seen s = {.n = 0};
    if (profile_load_file(path, &p, err, sizeof(err)) != 0) {
      fprintf(stderr, "FAIL: %s does not load: %s\n", path, err);
      failures++;
      continue;
    }
    int n = profile_coherence(&p, collect, &s);
    if (n != s.n || !has(&s, cases[i].want)) {
      fprintf(stderr, "FAIL: %s: no warning with all of:", cases[i].file);
      for (const char *const *w = cases[i].want; *w; w++) fprintf(stderr, " [%s]", *w);
      fprintf(stderr, " (%d warning(s))\n", n);
      dump(&s);
      failures++;
    }
  }
  /* Without a callback the warnings are only counted. */
  char path[1024];
  snprintf(path, sizeof(path), "%s/no-user-agent.json", argv[1]);
  if (profile_load_file(path, &p, err, sizeof(err)) != 0 || profile_coherence(&p, NULL, NULL) != 1) {
    fprintf(stderr, "FAIL: no-user-agent without a callback: not one warning counted\n");
    failures++;
  }
  if (failures == 0) printf("ok: test_profile_coherence\n");
  return failures ? 1 : 0;
}

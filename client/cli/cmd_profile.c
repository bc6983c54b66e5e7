/* cmd_profile.c — `guise profile list | show NAME | import ... | check NAME|FILE`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "guise.h"

static const char usage[] =
    "usage: guise profile list\n"
    "       guise profile show NAME               the built-in profile's JSON\n"
    "       guise profile check NAME|FILE         load it strictly; report the first error\n"
    "       guise profile import --browsers-json FILE ID NAME [-o OUT]\n"
    "                                             a profile from a reference capture record\n"
    "       guise profile import --echo-log FILE NAME [--permute] [--description TEXT] [-o OUT]\n"
    "                                             a profile from a guise echo log of a real visit\n";

int cmd_profile(int argc, char **argv) {
  char err[1024];
  if (argc >= 2 && strcmp(argv[1], "list") == 0) {
    for (size_t i = 0; i < guise_profile_count(); i++) {
      const char *n = guise_profile_name(i);
      printf("%s%s\n", n, strcmp(n, guise_profile_default()) == 0 ? " (default)" : "");
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
    printf("%s: ok\n", argv[2]);
    return EXIT_OK;
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
    FILE *f = out ? fopen(out, "w") : stdout;
    if (f == NULL) {
      perror(out);
      free(text);
      return EXIT_USAGE;
    }
    fwrite(text, 1, len, f);
    fputc('\n', f);
    if (f != stdout) fclose(f);
    free(text);
    return EXIT_OK;
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
    FILE *f = out ? fopen(out, "w") : stdout;
    if (f == NULL) {
      perror(out);
      free(text);
      return EXIT_USAGE;
    }
    fwrite(text, 1, len, f);
    fputc('\n', f);
    if (f != stdout) fclose(f);
    free(text);
    return EXIT_OK;
  }
  fputs(usage, argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
  return argc >= 2 && strcmp(argv[1], "--help") == 0 ? EXIT_OK : EXIT_USAGE;
}

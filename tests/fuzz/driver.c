/*
 * driver.c — runs a fuzz target's corpus once (the fuzz-smoke tests): every
 * regular file in the folder given, or the files given, through
 * LLVMFuzzerTestOneInput. A crash or sanitizer report fails the test.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small seeds; refuse anything huge rather than read it. */
#define MAX_INPUT (1u << 22)

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) { perror(path); return 1; }
  uint8_t *buf = malloc(MAX_INPUT);
  size_t n = buf ? fread(buf, 1, MAX_INPUT, f) : 0;
  int too_big = buf && n == MAX_INPUT && fgetc(f) != EOF;
  fclose(f);
  if (buf == NULL || too_big) { fprintf(stderr, "%s: unreadable or larger than %u bytes\n", path, MAX_INPUT); free(buf); return 1; }
  /* An exact-size copy so that ASan sees reads past the end. */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact == NULL) { free(buf); return 1; }
  memcpy(exact, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

int main(int argc, char **argv) {
  int files = 0, errors = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) { perror(argv[i]); return 1; }
    if (!S_ISDIR(st.st_mode)) { errors += run_file(argv[i]); files++; continue; }
    DIR *d = opendir(argv[i]);
    if (d == NULL) { perror(argv[i]); return 1; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
      errors += run_file(path);
      files++;
    }
    closedir(d);
  }
  printf("%d inputs run, %d unreadable\n", files, errors);
  /* An empty corpus is a mistake in the tree, not a pass. */
  return (files == 0 || errors != 0) ? 1 : 0;
}

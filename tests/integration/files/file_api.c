/*
 * file_api — guise_file_open/commit/abort (guise.h, "Files written whole or not
 * at all") through the public API: final modes, the old file untouched until
 * commit, nothing left behind by an abort, symlinks followed or (NO_FOLLOW)
 * replaced, refused arguments. Expected values come from guise.h's contract.
 * usage: file_api DIR (an empty folder of the caller's)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include "../../lib/gtest_check.h"
#include "guise.h"

static void check(const char *what, int ok) { CHECK_NAMED(what, ok, NULL); }

static int content_is(const char *path, const char *want) {
  char buf[256] = {0};
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static unsigned mode_of(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffffu;
}

/* Entries of |dir| (".", ".." aside). */
static int entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d)) != NULL;)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  if (d) closedir(d);
  return n;
}

static int write_file(const char *path, unsigned mode, unsigned flags, const char *text, int commit) {
  guise_file *f = NULL;
  if (guise_file_open(path, mode, flags, &f) != 0) return -1;
  fputs(text, guise_file_stream(f));
  if (commit) return guise_file_commit(f);
  guise_file_abort(f);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  umask(022);
  char a[4096], t[4096], l[4096];
  snprintf(a, sizeof(a), "%s/a.txt", argv[1]);
  snprintf(t, sizeof(t), "%s/target.txt", argv[1]);
  snprintf(l, sizeof(l), "%s/link.txt", argv[1]);

  check("a new file: written at commit, mode 0640 (0640 & ~022)",
        write_file(a, 0640, GUISE_FILE_SYNC, "one", 1) == 0 && content_is(a, "one") && mode_of(a) == 0640);
  chmod(a, 0600);
  check("an existing 0600 file keeps its mode (0666 asked)",
        write_file(a, 0666, 0, "two", 1) == 0 && content_is(a, "two") && mode_of(a) == 0600);
  guise_file *f = NULL;
  int opened = guise_file_open(a, 0666, 0, &f) == 0;
  if (opened) fputs("three", guise_file_stream(f));
  check("until commit the old file is as it was", opened && content_is(a, "two"));
  guise_file_abort(f);
  check("an abort leaves the old file and no temp file", content_is(a, "two") && entries(argv[1]) == 1);

  FILE *tf = fopen(t, "w");
  if (tf) fputs("target", tf), fclose(tf);
  check("a symlink made", symlink("target.txt", l) == 0);
  check("a symlink to a file: its target replaced, the link kept",
        write_file(l, 0666, 0, "via link", 1) == 0 && content_is(t, "via link") &&
            readlink(l, (char[16]){0}, 15) > 0);
  check("GUISE_FILE_NO_FOLLOW: the link replaced by a file, the target untouched",
        write_file(l, 0666, GUISE_FILE_NO_FOLLOW, "own", 1) == 0 && content_is(l, "own") &&
            content_is(t, "via link") && readlink(l, (char[16]){0}, 15) < 0);

  f = (guise_file *)1;
  errno = 0;
  check("an unknown flag: -1, EINVAL", guise_file_open(a, 0666, 0x100, &f) == -1 && errno == EINVAL);
  errno = 0;
  check("a folder: -1, EISDIR", guise_file_open(argv[1], 0666, 0, &f) == -1 && errno == EISDIR);
  f = NULL;
  check("guise_file_in_place(NULL) is 0 and guise_file_abort(NULL) a no-op", guise_file_in_place(NULL) == 0);
  guise_file_abort(NULL);
  check("nothing else left in the folder (a.txt, target.txt, link.txt)", entries(argv[1]) == 3);
  return gt_done("file_api");
}

/* safe_file.c — files written through a temp file and a rename (see safe_file.h). */
#include "safe_file.h"

#include "guise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mode_t safe_file_umask(void) {
  /* Linux 4.7+: "Umask:\t0022" in /proc/self/status. */
  FILE *f = fopen("/proc/self/status", "re");
  if (f) {
    char line[128];
    while (fgets(line, sizeof(line), f))
      if (strncmp(line, "Umask:", 6) == 0) {
        char *end;
        unsigned long u = strtoul(line + 6, &end, 8);
        fclose(f);
        if (end != line + 6 && u <= 0777) return (mode_t)u;
        goto fallback;
      }
    fclose(f);
  }
fallback:;
  mode_t u = umask(022);
  umask(u);
  return u;
}

static void clear(safe_file *sf) {
  free(sf->path);
  free(sf->tmp);
  memset(sf, 0, sizeof(*sf));
  sf->fd = -1;
}

/* SAFE_FILE_IN_PLACE: sf->path itself, if it is a regular file we may write
 * (checked on the open descriptor). Not truncated here (see safe_file.h). */
static int open_in_place(safe_file *sf) {
  int fd = open(sf->path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (sf->f = fdopen(fd, "w")) == NULL) {
    close(fd);
    return -1;
  }
  free(sf->tmp);
  sf->tmp = NULL;
  sf->fd = fd;
  sf->direct = 1;
  sf->in_place = 1;
  return 0;
}

/* An in-place file cut to what was written (the old file's tail goes). */
static int cut_in_place(safe_file *sf) {
  off_t at = ftello(sf->f);
  return at < 0 || ftruncate(sf->fd, at) != 0 ? -1 : 0;
}

int safe_file_open(safe_file *sf, const char *path, mode_t mode, unsigned flags) {
  memset(sf, 0, sizeof(*sf));
  sf->fd = -1;
  sf->flags = flags;
  if (path == NULL || *path == '\0') {
    errno = ENOENT;
    return -1;
  }
  struct stat st, lst;
  int nofollow = (flags & SAFE_FILE_NO_FOLLOW) != 0;
  int exists = (nofollow ? lstat(path, &st) : stat(path, &st)) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return -1;
  }
  /* Replaced like a file: with NO_FOLLOW, a symlink, and a pipe or socket (a
   * planted FIFO would block the open). */
  if (exists && nofollow && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) exists = 0;
  if (exists && !S_ISREG(st.st_mode)) {
    /* /dev/null, /dev/stdout, a pipe: written in place (a rename would replace
     * the device node or link). */
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) return -1;
    sf->f = fdopen(fd, "w");
    if (sf->f == NULL) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    sf->fd = fd;
    sf->direct = 1;
    return 0;
  }
  /* A symlink to a regular file: the target is replaced and the link kept. A
   * dangling one is replaced itself (never followed to create its target). */
  if (exists && !nofollow && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) sf->path = realpath(path, NULL);
  else sf->path = strdup(path);
  if (sf->path == NULL) {
    int e = errno;
    clear(sf);
    errno = e ? e : ENOMEM;
    return -1;
  }
  const char *slash = strrchr(sf->path, '/');
  size_t dl = slash ? (size_t)(slash - sf->path) + 1 : 0;
  const char *base = slash ? slash + 1 : sf->path;
  /* The temp name keeps at most 200 bytes of the name: ".NAME.XXXXXX" must fit
   * NAME_MAX (255) when NAME does. */
  size_t bl = strlen(base) < 200 ? strlen(base) : 200;
  size_t need = dl + 1 + bl + 8;
  if (need > PATH_MAX || (sf->tmp = malloc(need)) == NULL) {
    clear(sf);
    errno = need > PATH_MAX ? ENAMETOOLONG : ENOMEM;
    return -1;
  }
  /* "<folder>/.<name>.XXXXXX": mkstemp opens it with O_CREAT|O_EXCL, mode 0600. */
  memcpy(sf->tmp, sf->path, dl);
  snprintf(sf->tmp + dl, need - dl, ".%.*s.XXXXXX", (int)bl, base);
  int fd = mkostemp(sf->tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (exists && (flags & SAFE_FILE_IN_PLACE) && (e == EACCES || e == EPERM || e == EROFS) &&
        open_in_place(sf) == 0)
      return 0;
    clear(sf);
    errno = e;
    return -1;
  }
  mode_t final = exists ? (st.st_mode & 07777)
                 : (flags & SAFE_FILE_EXACT_MODE) ? (mode & 07777) : (mode & 07777 & ~safe_file_umask());
  if (exists && geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) && fchown(fd, st.st_uid, st.st_gid) != 0) {
    /* keeping the owner is best effort */
  }
  if (fchmod(fd, final) != 0 || (sf->f = fdopen(fd, "w")) == NULL) {
    int e = errno;
    close(fd);
    unlink(sf->tmp);
    clear(sf);
    errno = e;
    return -1;
  }
  sf->fd = fd;
  return 0;
}

int safe_file_commit(safe_file *sf) {
  if (sf->f == NULL) {
    clear(sf);
    errno = EBADF;
    return -1;
  }
  /* errno of the step that failed; a write error seen only by ferror is EIO */
  int bad = 0, e = 0;
  if (fflush(sf->f) != 0) bad = 1, e = errno;
  else if (ferror(sf->f)) bad = 1, e = EIO;
  else if (sf->in_place && cut_in_place(sf) != 0) bad = 1, e = errno;
  if (!bad && sf->in_place && (sf->flags & SAFE_FILE_SYNC) && fsync(sf->fd) != 0) bad = 1, e = errno;
  if (!bad && !sf->direct && (sf->flags & SAFE_FILE_SYNC) && fsync(sf->fd) != 0) bad = 1, e = errno;
  if (fclose(sf->f) != 0 && !bad) bad = 1, e = errno;
  sf->f = NULL;
  if (sf->direct) {
    clear(sf);
    errno = e;
    return bad ? -1 : 0;
  }
  if (!bad && rename(sf->tmp, sf->path) != 0) bad = 1, e = errno;
  if (bad) {
    unlink(sf->tmp);
    clear(sf);
    errno = e;
    return -1;
  }
  if (sf->flags & SAFE_FILE_SYNC) {
    /* the rename itself reaches the disk with the folder */
    char *slash = strrchr(sf->path, '/');
    if (slash == sf->path) slash[1] = '\0';
    else if (slash) *slash = '\0';
    int dfd = open(slash ? sf->path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  clear(sf);
  return 0;
}

void safe_file_abort(safe_file *sf) {
  if (sf->f) { /* open: every successful safe_file_open leaves a FILE */
    /* in place: what was written stays, the old tail goes (curl leaves a
     * partial file too); nothing written, the old file as it was */
    if (sf->in_place && fflush(sf->f) == 0 && ftello(sf->f) > 0) (void)cut_in_place(sf);
    fclose(sf->f);
    if (!sf->direct && sf->tmp) unlink(sf->tmp);
  }
  clear(sf);
}

/* ---- the public API (guise.h): a safe_file behind an opaque handle ---------------- */

_Static_assert(GUISE_FILE_SYNC == SAFE_FILE_SYNC && GUISE_FILE_NO_FOLLOW == SAFE_FILE_NO_FOLLOW &&
                   GUISE_FILE_IN_PLACE == SAFE_FILE_IN_PLACE,
               "guise.h's GUISE_FILE_* flags are safe_file's");

struct guise_file {
  safe_file sf;
};

int guise_file_open(const char *path, unsigned mode, unsigned flags, guise_file **out) {
  if (out == NULL || (flags & ~(GUISE_FILE_SYNC | GUISE_FILE_NO_FOLLOW | GUISE_FILE_IN_PLACE)) || mode > 07777) {
    errno = EINVAL;
    return -1;
  }
  *out = NULL;
  guise_file *f = malloc(sizeof(*f));
  if (f == NULL) return -1;
  if (safe_file_open(&f->sf, path, (mode_t)mode, flags) != 0) {
    int e = errno;
    free(f);
    errno = e;
    return -1;
  }
  *out = f;
  return 0;
}

FILE *guise_file_stream(guise_file *f) { return f ? f->sf.f : NULL; }

int guise_file_in_place(const guise_file *f) { return f ? f->sf.in_place : 0; }

int guise_file_commit(guise_file *f) {
  if (f == NULL) {
    errno = EBADF;
    return -1;
  }
  int r = safe_file_commit(&f->sf);
  int e = errno;
  free(f);
  errno = e;
  return r;
}

void guise_file_abort(guise_file *f) {
  if (f == NULL) return;
  safe_file_abort(&f->sf);
  free(f);
}

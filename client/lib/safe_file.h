/*
 * safe_file.h — every file guise writes goes through here (docs/CLI.md, "Files
 * guise writes"): the cookie jar (-c), -o, --body-dir files, --stats-json,
 * profile import -o.
 *
 * A regular file (or a new one) is written to a temp file made with mkstemp in
 * the same folder (O_EXCL: a symlink or file planted at any name is never
 * followed nor opened), mode 0600 while written, then given its final mode (the
 * old file's, else |mode| & ~umask), flushed, optionally fsync'd, and renamed
 * over the name at commit (and the folder fsync'd). Until then the old file is
 * untouched; an abort removes the temp file. A symlink at the name to a regular
 * file is resolved: its target is replaced, the link kept (as curl and the shell
 * follow it; not with SAFE_FILE_NO_FOLLOW). A character device or a pipe at the
 * name (/dev/null, /dev/stdout) is written in place; a folder is EISDIR.
 *
 * Not an I/O-free module: it is the one place that creates files.
 */
#ifndef GUISE_SAFE_FILE_H
#define GUISE_SAFE_FILE_H

#include <stdio.h>
#include <sys/types.h>

/* fsync the file and its folder at commit (the jar, -o, --stats-json; not the
 * many files of --body-dir). */
#define SAFE_FILE_SYNC 1u
/* |mode| is final, the umask already applied by the caller (who opens many
 * files: safe_file_umask() once, not per file). */
#define SAFE_FILE_EXACT_MODE 2u
/* A symlink at the name is replaced by the file, never followed (the cookie
 * jar, as guise always wrote it; --body-dir files, whose names can be guessed
 * from the ids); so is a pipe or socket (a planted FIFO would block). A
 * character device there (/dev/null) is written in place. */
#define SAFE_FILE_NO_FOLLOW 4u
/* When the temp file cannot be made in the folder (EACCES, EPERM, EROFS: a
 * folder the user may not write) but the name is a regular file the user may
 * write, that file is written in place, as curl does (-o). It is not truncated
 * at open: commit cuts it to what was written; abort too, unless nothing was
 * written (then it stays as it was). */
#define SAFE_FILE_IN_PLACE 8u

typedef struct safe_file {
  FILE *f;       /* write here (a full buffer; fd below) */
  int fd;
  int direct;    /* not a regular file: written in place, no rename */
  int in_place;  /* SAFE_FILE_IN_PLACE taken: a regular file written in place */
  unsigned flags;
  char *path;    /* the name replaced at commit (a symlink resolved) */
  char *tmp;     /* the temp file; NULL when direct */
} safe_file;

/*
 * Opens a replacement for |path|. |mode| is the mode of a new file before the
 * umask (as open(2) takes it); an existing regular file keeps its mode (and,
 * when running as root, its owner). Returns 0, or -1 with errno (the temp file
 * cannot be made: ENOENT/EACCES of the folder, ENAMETOOLONG, ...); nothing is
 * left behind on failure.
 */
int safe_file_open(safe_file *sf, const char *path, mode_t mode, unsigned flags);

/* Flushes (and with SAFE_FILE_SYNC fsyncs) and renames the temp file over the
 * name. Returns 0, or -1 with errno, the temp file removed and the old file as
 * it was. |sf| is closed either way. */
int safe_file_commit(safe_file *sf);

/* Closes and removes the temp file: the old file stays as it was. A direct file
 * is only closed. Safe on a zeroed or already closed |sf|. */
void safe_file_abort(safe_file *sf);

/* The process's umask, read without changing it (/proc/self/status; umask(2)
 * twice when that is not there, which is not thread-safe). */
mode_t safe_file_umask(void);

#endif

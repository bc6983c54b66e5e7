/*
 * cmd_batch.c — `guise batch [options] [FILE|-]`: jobs in (URLs or JSONL, read
 * as a stream), one JSON record per job out, the engine of guise_batch_* in
 * between, live progress on stderr. The options come from options.c (the table
 * guise URL shares); every record, a bad line's too, is the library's JSON
 * (guise_batch_record_error). Uses guise.h, and libguise's FNV-1a (hmap.h)
 * for the ids. docs/BATCH.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "guise.h"
#include "lines.h"
#include "options.h"
#include "redis_batch.h"
#include "redis_url.h"
/* Not a public header: the library's one hash table (FNV-1a), linked from
 * libguise's core archive as the command is. */
#include "../lib/hmap.h"

#define BATCH_MAX_RESOLVE 16384
#define BATCH_MAX_LINE ((8u << 20) + 2) /* a job line, with an inline body */
#define BATCH_OUT_BUF (1u << 20)
#define BATCH_MAX_ID 1024               /* the longest id (guise_job_parse refuses longer ones) */
#define BATCH_READ_CHUNK (64u << 10)    /* input read(2) size */

/* ---- ids of this input: each belongs to one line ---------------------------------- */

/* What finding a duplicate id costs per input line (docs/BATCH.md "Ids"):
 * - a line that takes its number as its id: one bit (autobits), and none for a
 *   stretch of 65,536 lines that all do or all don't;
 * - a job's own id: a 96-bit fingerprint (FNV-1a and 32 bits of a second,
 *   independent hash), 12 bytes, in open-addressing tables (Robin Hood linear
 *   probing) kept between 72 % and 90 % full: 13 to 17 bytes an id whatever its
 *   length. The ids are spread over IDTAB_SHARDS tables by their hash, each
 *   grown by a quarter on its own, so that a growth never holds two copies of
 *   all the ids at once. Two distinct ids share a fingerprint with a chance of
 *   about n^2 / 2^97: none in practice.
 * The line that had an id first is not kept: it is found again by reading the
 * input a second time (a regular file, with pread) when a duplicate is found,
 * for up to DUP_WAIT duplicates at once. An input that cannot be read again (a
 * pipe) keeps the line beside each fingerprint (4 bytes more a slot). */
#define IDTAB_SHARDS 256

typedef struct idshard {
  uint64_t *h1;  /* 0: an empty slot (a hash of 0 is stored as 1) */
  uint32_t *h2;
  uint32_t *line; /* NULL when the input can be read again; 0: past 2^32 - 1 */
  uint32_t cap, n;
} idshard;

typedef struct idtab {
  idshard shard[IDTAB_SHARDS];
  size_t n;
} idtab;

/* A second hash of |s|, independent of FNV-1a (a multiply-xorshift mix). */
static unsigned long long id_hash2(const char *s) {
  unsigned long long b = 0x9e3779b97f4a7c15ull;
  for (; *s; s++) {
    b = (b + (unsigned char)*s) * 0xbf58476d1ce4e5b9ull;
    b ^= b >> 31;
  }
  return b ^ (b >> 29);
}

typedef struct idfp {
  uint64_t h1;
  uint32_t h2;
} idfp;

static idfp id_fingerprint(const char *id) {
  idfp f = {hmap_hash_str(id), (uint32_t)id_hash2(id)};
  if (f.h1 == 0) f.h1 = 1;
  return f;
}

/* FNV-1a's bits mixed (its low bits are weak); the top 8 pick the shard, the
 * next 32 the home slot in it (scaled to |cap|, any size). */
static uint64_t idtab_mix(uint64_t h1) {
  return h1 * 0x9e3779b97f4a7c15ull;
}

static uint32_t idtab_home(uint64_t h1, uint32_t cap) {
  return (uint32_t)(((idtab_mix(h1) >> 24 & 0xffffffffull) * cap) >> 32);
}

static idshard *idtab_shard(idtab *t, uint64_t h1) {
  return &t->shard[idtab_mix(h1) >> 56];
}

/* How far slot |i| of |sh| is from its entry's home. */
static uint32_t idshard_dist(const idshard *sh, uint32_t i) {
  uint32_t home = idtab_home(sh->h1[i], sh->cap);
  return i >= home ? i - home : i + sh->cap - home;
}

/* The slot that holds |f| in |sh|, or -1. */
static long long idshard_find(const idshard *sh, idfp f) {
  if (sh->cap == 0) return -1;
  uint32_t i = idtab_home(f.h1, sh->cap);
  for (uint32_t d = 0;; d++) {
    if (sh->h1[i] == 0 || idshard_dist(sh, i) < d) return -1; /* Robin Hood: it would be here */
    if (sh->h1[i] == f.h1 && sh->h2[i] == f.h2) return i;
    if (++i == sh->cap) i = 0;
  }
}

/* Puts |f| (not in |sh|, which has a free slot) where Robin Hood says. */
static void idshard_put(idshard *sh, idfp f, uint32_t line) {
  uint32_t i = idtab_home(f.h1, sh->cap);
  for (uint32_t d = 0;; d++) {
    if (sh->h1[i] == 0) {
      sh->h1[i] = f.h1;
      sh->h2[i] = f.h2;
      if (sh->line) sh->line[i] = line;
      sh->n++;
      return;
    }
    uint32_t di = idshard_dist(sh, i);
    if (di < d) { /* the richer entry moves on */
      idfp g = {sh->h1[i], sh->h2[i]};
      uint32_t gl = sh->line ? sh->line[i] : 0;
      sh->h1[i] = f.h1;
      sh->h2[i] = f.h2;
      if (sh->line) sh->line[i] = line;
      f = g;
      line = gl;
      d = di;
    }
    if (++i == sh->cap) i = 0;
  }
}

static void idshard_free(idshard *sh) {
  free(sh->h1);
  free(sh->h2);
  free(sh->line);
  memset(sh, 0, sizeof(*sh));
}

/* Room for one more id in |sh|: grows it by a quarter at 90 % full. 0, or -1
 * out of memory (or past 2^32 slots). */
static int idshard_reserve(idshard *sh, int with_lines) {
  if (sh->cap && ((uint64_t)sh->n + 1) * 10 <= (uint64_t)sh->cap * 9) return 0;
  uint64_t cap = sh->cap ? (uint64_t)sh->cap + sh->cap / 4 : 64;
  if (cap > 0xffffffffull) return -1;
  idshard old = *sh, nw = {0};
  nw.cap = (uint32_t)cap;
  nw.h1 = calloc(cap, sizeof(*nw.h1));
  nw.h2 = malloc(cap * sizeof(*nw.h2));
  nw.line = with_lines ? malloc(cap * sizeof(*nw.line)) : NULL;
  if (nw.h1 == NULL || nw.h2 == NULL || (with_lines && nw.line == NULL)) {
    idshard_free(&nw);
    return -1;
  }
  for (uint32_t i = 0; i < old.cap; i++)
    if (old.h1[i]) idshard_put(&nw, (idfp){old.h1[i], old.h2[i]}, old.line ? old.line[i] : 0);
  idshard_free(&old);
  *sh = nw;
  return 0;
}

static void idtab_free(idtab *t) {
  for (size_t i = 0; i < IDTAB_SHARDS; i++) idshard_free(&t->shard[i]);
  t->n = 0;
}

/* ---- ids already done (--resume) --------------------------------------------- */

/* The ids of the previous run's records, as the input's own ids are kept: a
 * 96-bit fingerprint each (about 17 bytes an id, whatever its length). */
typedef struct idset {
  idtab tab;
  size_t n;
} idset;

static int idset_has(idset *s, const char *id) {
  idfp f = id_fingerprint(id);
  return idshard_find(idtab_shard(&s->tab, f.h1), f) >= 0;
}

/* 0 (added, or there already), -1 out of memory. */
static int idset_add(idset *s, const char *id) {
  idfp f = id_fingerprint(id);
  idshard *sh = idtab_shard(&s->tab, f.h1);
  if (idshard_find(sh, f) >= 0) return 0;
  if (idshard_reserve(sh, 0) != 0) return -1;
  idshard_put(sh, f, 0);
  s->n++;
  return 0;
}

static void idset_free(idset *s) { idtab_free(&s->tab); }

/* Lines that took their number as their id: a bit each, in pages of 65,536 lines;
 * a finished page whose bits are all set is kept as AUTOBITS_ALL, one with none
 * set was never allocated (NULL). */
#define AUTOBITS_PAGE_LINES 65536u
static unsigned char autobits_all_page;
#define AUTOBITS_ALL (&autobits_all_page)

typedef struct autobits {
  unsigned char **page;
  size_t n, cap;
} autobits;

static int autobits_is_full(const unsigned char *p) {
  for (size_t i = 0; i < AUTOBITS_PAGE_LINES / 8; i++)
    if (p[i] != 0xff) return 0;
  return 1;
}

/* Marks |line| (from 1, in increasing order). 0, or -1 out of memory. */
static int autobits_set(autobits *a, unsigned long long line) {
  size_t pg = (size_t)((line - 1) / AUTOBITS_PAGE_LINES);
  if (pg >= a->cap) {
    size_t nc = a->cap ? a->cap * 2 : 16;
    while (nc <= pg) nc *= 2;
    unsigned char **np = realloc(a->page, nc * sizeof(*np));
    if (np == NULL) return -1;
    memset(np + a->cap, 0, (nc - a->cap) * sizeof(*np));
    a->page = np;
    a->cap = nc;
  }
  /* Earlier pages are finished: one with every bit set becomes AUTOBITS_ALL. */
  for (size_t i = a->n ? a->n - 1 : 0; i < pg; i++)
    if (a->page[i] && a->page[i] != AUTOBITS_ALL && autobits_is_full(a->page[i])) {
      free(a->page[i]);
      a->page[i] = AUTOBITS_ALL;
    }
  if (pg + 1 > a->n) a->n = pg + 1;
  if (a->page[pg] == NULL && (a->page[pg] = calloc(1, AUTOBITS_PAGE_LINES / 8)) == NULL) return -1;
  unsigned long long bit = (line - 1) % AUTOBITS_PAGE_LINES;
  a->page[pg][bit / 8] |= (unsigned char)(1u << (bit % 8));
  return 0;
}

static int autobits_get(const autobits *a, unsigned long long line) {
  size_t pg = (size_t)((line - 1) / AUTOBITS_PAGE_LINES);
  if (line == 0 || pg >= a->n || a->page[pg] == NULL) return 0;
  if (a->page[pg] == AUTOBITS_ALL) return 1;
  unsigned long long bit = (line - 1) % AUTOBITS_PAGE_LINES;
  return (a->page[pg][bit / 8] >> (bit % 8)) & 1;
}

static void autobits_free(autobits *a) {
  for (size_t i = 0; i < a->n; i++)
    if (a->page[i] != AUTOBITS_ALL) free(a->page[i]);
  free(a->page);
  memset(a, 0, sizeof(*a));
}

/* The line number |id| names ("7": digits, no leading zero), or 0. */
static unsigned long long id_as_line(const char *id) {
  unsigned long long v = 0;
  if (id[0] < '1' || id[0] > '9') return 0;
  for (const char *p = id; *p; p++) {
    if (*p < '0' || *p > '9' || v > (~0ull - 9) / 10) return 0;
    v = v * 10 + (unsigned long long)(*p - '0');
  }
  return v;
}

/* Duplicates whose first line is being looked for: resolved together by one
 * reading of the input when DUP_WAIT are waiting, and at its end. */
#define DUP_WAIT 16384 /* about 100 bytes each while they wait; the array grows to it */
#define DUP_SHOWN 72 /* the id as the message shows it: 64 bytes, "...", NUL */
/* First lines already found, kept for ids that come back (a bounded table). */
#define DUP_KNOWN 16384

typedef struct dup_wait {
  unsigned long long line, first;
  idfp f;
  char shown[DUP_SHOWN];
} dup_wait;

typedef struct dup_known {
  idfp f; /* h1 0: empty */
  unsigned long long first;
} dup_known;

typedef struct idset_in {
  idtab tab;
  autobits autos;
  int reread;               /* the input is a regular file: read again from |start| */
  int fd;
  long long start;
  dup_wait *wait;           /* |wait_cap|, at most DUP_WAIT */
  size_t n_wait, wait_cap;
  dup_known *known;         /* DUP_KNOWN */
  size_t n_known;
  unsigned long long passes; /* readings of the input for first lines */
} idset_in;

static unsigned long long known_first(const idset_in *s, idfp f) {
  if (s->known == NULL) return 0;
  for (size_t i = idtab_home(f.h1, DUP_KNOWN);; i = (i + 1) % DUP_KNOWN) {
    if (s->known[i].f.h1 == 0) return 0;
    if (s->known[i].f.h1 == f.h1 && s->known[i].f.h2 == f.h2) return s->known[i].first;
  }
}

static void known_add(idset_in *s, idfp f, unsigned long long first) {
  if (s->known == NULL && (s->known = calloc(DUP_KNOWN, sizeof(*s->known))) == NULL) return;
  if ((s->n_known + 1) * 4 > DUP_KNOWN * 3) return; /* full: later ones are looked for again */
  size_t i = idtab_home(f.h1, DUP_KNOWN);
  while (s->known[i].f.h1 && !(s->known[i].f.h1 == f.h1 && s->known[i].f.h2 == f.h2)) i = (i + 1) % DUP_KNOWN;
  if (s->known[i].f.h1 == 0) s->n_known++;
  s->known[i].f = f;
  s->known[i].first = first;
}

/* Gives |id| (a job's own) to |line| when no earlier line has it: 0. 1 when one
 * has, *first its line, or 0 when that line is still to be found (the input is
 * read again: dup_wait_add); -1 out of memory. */
static int claim_own_id(idset_in *s, const char *id, unsigned long long line, unsigned long long *first) {
  *first = 0;
  idfp f = id_fingerprint(id);
  idshard *sh = idtab_shard(&s->tab, f.h1);
  long long i = idshard_find(sh, f);
  if (i >= 0) {
    *first = sh->line ? sh->line[i] : known_first(s, f);
    return 1;
  }
  unsigned long long m = id_as_line(id);
  if (m && m < line && autobits_get(&s->autos, m)) {
    *first = m;
    return 1;
  }
  if (idshard_reserve(sh, !s->reread) != 0) return -1;
  idshard_put(sh, f, line <= 0xffffffffull ? (uint32_t)line : 0);
  s->tab.n++;
  return 0;
}

/* A line without an id of its own: 0 when it takes its number, 1 when an earlier
 * line's id is that number (it takes "#N"); -1 out of memory. */
static int claim_line_id(idset_in *s, const char *num, unsigned long long line) {
  idfp f = id_fingerprint(num);
  if (idshard_find(idtab_shard(&s->tab, f.h1), f) >= 0) return 1;
  return autobits_set(&s->autos, line) != 0 ? -1 : 0;
}

static void idset_in_free(idset_in *s) {
  idtab_free(&s->tab);
  autobits_free(&s->autos);
  free(s->wait);
  free(s->known);
}

/* Reads the records of a previous run: their ids, and a torn last line (a run
 * killed mid-write) cut off. Returns 0, or -1 with errno. */
static int load_previous(const char *path, idset *done, unsigned long long *kept, int *repaired) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  FILE *f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  off_t good = 0;
  char id[BATCH_MAX_ID + 8]; /* guise_record_id keeps a few bytes of room */
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n') break; /* torn: not counted, cut below */
    if (guise_record_id(line, (size_t)n, id, sizeof(id)) == 0 && strlen(id) <= BATCH_MAX_ID) {
      if (idset_add(done, id) != 0) {
        free(line);
        fclose(f);
        errno = ENOMEM;
        return -1;
      }
      (*kept)++;
    }
    good += n;
  }
  free(line);
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > good) {
    if (ftruncate(fd, good) != 0) {
      fclose(f);
      return -1;
    }
    *repaired = 1;
  }
  fclose(f);
  return 0;
}

/* ---- output -------------------------------------------------------------------- */

typedef struct output {
  FILE *f;
  pthread_mutex_t lock;
  int failed;
  int err;
} output_t;

static output_t g_out = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void write_line(const char *json, size_t len) {
  pthread_mutex_lock(&g_out.lock);
  if (!g_out.failed && (fwrite(json, 1, len, g_out.f) != len || fputc('\n', g_out.f) == EOF)) {
    g_out.failed = 1;
    g_out.err = errno;
  }
  pthread_mutex_unlock(&g_out.lock);
}

static int output_failed(void) {
  pthread_mutex_lock(&g_out.lock);
  int f = g_out.failed;
  pthread_mutex_unlock(&g_out.lock);
  return f;
}

static void on_record(void *arg, const char *json, size_t len, int err) {
  (void)arg, (void)err;
  write_line(json, len);
}

/* Input lines that were not jobs: their records count as failed usage. */
static atomic_ullong g_line_errors;

/* The record of an input line that is not run (not a job, a duplicate id), under
 * |id| (the line number, or "#N": short ids of our own), as the library writes
 * it (guise_batch_record_error). */
static void line_error(unsigned long long lineno, const char *id, const char *why) {
  /* |id| is at most BATCH_MAX_ID bytes and |why| under 256 (guise_job_parse's
   * reasons, the duplicate message, guise_strerror): always fits. */
  char buf[160 + 6 * (BATCH_MAX_ID + 256)];
  size_t n = guise_batch_record_error(buf, sizeof(buf), id, lineno, why);
  atomic_fetch_add(&g_line_errors, 1);
  if (n) write_line(buf, n);
}

/* ---- duplicate ids whose first line is found again ------------------------------- */

/* The record of a duplicate: |shown| the id as cut for the message, |first| its
 * first line (0: not found again, the input changed). */
static void dup_record(unsigned long long line, const char *shown, unsigned long long first) {
  char err[256], id[32];
  if (first)
    snprintf(err, sizeof(err), "duplicate id \"%s\" (first on line %llu): not run", shown, first);
  else
    snprintf(err, sizeof(err), "duplicate id \"%s\" (first on an earlier line): not run", shown);
  snprintf(id, sizeof(id), "#%llu", line);
  line_error(line, id, err);
}

/* Reads the input again from its start up to the last waiting duplicate, finds
 * each one's first line (the first line whose id is the same: its own, or its
 * number for a line without one, as the first reading decided) and writes their
 * records. |linebuf| is the reader's line buffer (BATCH_MAX_LINE + 1 bytes),
 * free between lines. */
static void dup_resolve(idset_in *s, char *linebuf) {
  static int head[2 * DUP_WAIT], next[DUP_WAIT]; /* touched as far as used */
  if (s->n_wait == 0) return;
  const uint32_t buckets = (uint32_t)(2 * s->n_wait);
  s->passes++;
  for (size_t i = 0; i < buckets; i++) head[i] = -1;
  for (size_t j = 0; j < s->n_wait; j++) {
    size_t b = idtab_home(s->wait[j].f.h1, buckets);
    next[j] = head[b];
    head[b] = (int)j;
  }
  unsigned long long last = s->wait[s->n_wait - 1].line;
  size_t open = s->n_wait;
  cli_lines r;
  if (cli_lines_init_at(&r, s->fd, BATCH_READ_CHUNK, s->start) == 0) {
    for (unsigned long long l = 1; l < last && open; l++) {
      size_t len;
      int got = cli_lines_next(&r, linebuf, BATCH_MAX_LINE, &len);
      if (got <= 0) break;
      guise_job job;
      guise_job_store *store = NULL;
      char err[256], num[32];
      job.line = l;
      int k = got == 2 ? GUISE_E_USAGE_INVALID_ARGUMENT : guise_job_parse(linebuf, len, &job, &store, err, sizeof(err));
      if (k == 1) {
        guise_job_free(store);
        continue;
      }
      const char *id = num;
      if (k == 0 && job.id) id = job.id;
      else snprintf(num, sizeof(num), "%llu", l);
      idfp f = id_fingerprint(id);
      for (int j = head[idtab_home(f.h1, buckets)]; j >= 0; j = next[j]) {
        dup_wait *w = &s->wait[j];
        if (w->first == 0 && w->f.h1 == f.h1 && w->f.h2 == f.h2 && l < w->line) {
          w->first = l;
          open--;
        }
      }
      guise_job_free(store);
    }
  }
  cli_lines_free(&r);
  for (size_t j = 0; j < s->n_wait; j++) {
    if (s->wait[j].first) known_add(s, s->wait[j].f, s->wait[j].first);
    dup_record(s->wait[j].line, s->wait[j].shown, s->wait[j].first);
  }
  s->n_wait = 0;
}

/* Queues the duplicate |id| of |line| until its first line is found; resolves
 * the queue when full. 0, or -1 out of memory. */
static int dup_wait_add(idset_in *s, const char *id, const char *shown, unsigned long long line, char *linebuf) {
  if (s->n_wait == s->wait_cap) {
    size_t cap = s->wait_cap ? s->wait_cap * 2 : 256;
    dup_wait *nw = realloc(s->wait, cap * sizeof(*nw));
    if (nw == NULL) return -1;
    s->wait = nw;
    s->wait_cap = cap;
  }
  dup_wait *w = &s->wait[s->n_wait++];
  w->line = line;
  w->first = 0;
  w->f = id_fingerprint(id);
  snprintf(w->shown, sizeof(w->shown), "%s", shown);
  if (s->n_wait == DUP_WAIT) dup_resolve(s, linebuf);
  return 0;
}

/* ---- progress and signals ------------------------------------------------------ */

/* guise_batch_stats.by_class: the classes of GUISE_ERR_CLASS_MAP by band, then "other". */
static const char *const class_names[GUISE_CLASS_COUNT] = {
#define CLASS_NAME(name, band, text) [(band)-1] = text,
    GUISE_ERR_CLASS_MAP(CLASS_NAME)
#undef CLASS_NAME
        [GUISE_CLASS_COUNT - 1] = "other"};

typedef struct progress {
  guise_batch *b;
  int mode; /* 0 never, 1 live (tty), 2 lines */
  int stop; /* under |lock|; |wake| tells the thread at once */
  pthread_mutex_t lock;
  pthread_cond_t wake; /* on CLOCK_MONOTONIC */
  unsigned long long total; /* 0: unknown */
  struct timespec t0;
} progress;

static double since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}


static void format_stats(guise_batch *b, double secs, unsigned long long total, char *out, size_t cap) {
  guise_batch_stats s;
  guise_batch_stats_get(b, &s);
  unsigned long long le = atomic_load(&g_line_errors);
  s.done += le;
  s.failed += le;
  s.by_class[0] += le;
  size_t k = 0;
  k += (size_t)snprintf(out + k, cap - k, "%llu", s.done);
  if (total) k += (size_t)snprintf(out + k, cap - k, "/%llu", total);
  k += (size_t)snprintf(out + k, cap - k, " done, %.0f/s, ok %llu, failed %llu", secs > 0 ? (double)s.done / secs : 0.0,
                        s.ok, s.failed);
  for (int i = 0; i < GUISE_CLASS_COUNT && k < cap; i++)
    if (s.by_class[i]) k += (size_t)snprintf(out + k, cap - k, " (%s %llu)", class_names[i], s.by_class[i]);
  if (k < cap)
    snprintf(out + k, cap - k, ", in flight %llu, retries %llu, p50 %.1f ms, p99 %.1f ms", s.in_flight, s.retries,
             s.p50_ms, s.p99_ms);
}

/* Ticks every 50 ms until told to stop; the stop is seen at once (a sleep here
 * made every run last until the next tick: up to 50 ms more, 10 % of a 0.5 s
 * benchmark run). */
static int progress_tick(progress *p) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += 50 * 1000 * 1000;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&p->lock);
  while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0) {
  }
  int stop = p->stop;
  pthread_mutex_unlock(&p->lock);
  return !stop;
}

static void progress_stop(progress *p) {
  pthread_mutex_lock(&p->lock);
  p->stop = 1;
  pthread_cond_signal(&p->wake);
  pthread_mutex_unlock(&p->lock);
}

static void *progress_main(void *arg) {
  progress *p = arg;
  double last = 0;
  double flushed = 0;
  while (progress_tick(p)) {
    double t = since(&p->t0);
    if (t - flushed >= 0.2) {
      /* Records reach the file within 0.2 s: a killed run loses at most that
       * much, and --resume runs those jobs again. */
      flushed = t;
      pthread_mutex_lock(&g_out.lock);
      if (!g_out.failed && fflush(g_out.f) != 0) {
        g_out.failed = 1;
        g_out.err = errno;
      }
      pthread_mutex_unlock(&g_out.lock);
    }
    if (p->mode == 0 || t - last < (p->mode == 2 ? 5 : 0.25)) continue;
    last = t;
    char line[512];
    format_stats(p->b, t, p->total, line, sizeof(line));
    if (p->mode == 1) fprintf(stderr, "\r\033[K%s", line);
    else fprintf(stderr, "guise batch: %s\n", line);
  }
  return NULL;
}

/* The batch the signal thread may stop: set and cleared under |g_batch_lock|,
 * so that a signal never reaches a batch being freed. */
static guise_batch *g_batch;
static pthread_mutex_t g_batch_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_signals;

static void *signal_main(void *arg) {
  sigset_t *set = arg;
  for (;;) {
    int sig;
    if (sigwait(set, &sig) != 0) continue;
    int nsig = atomic_fetch_add(&g_signals, 1) + 1;
    pthread_mutex_lock(&g_batch_lock);
    if (nsig == 1) {
      fprintf(stderr, "\nguise batch: stopping: no new jobs; requests in flight finish (again to cancel them)\n");
      if (g_batch) guise_batch_stop(g_batch, 0);
    } else if (nsig == 2) {
      fprintf(stderr, "guise batch: cancelling the requests in flight\n");
      if (g_batch) guise_batch_stop(g_batch, 1);
    } else {
      _exit(130);
    }
    pthread_mutex_unlock(&g_batch_lock);
  }
  return NULL;
}

/* ---- the command --------------------------------------------------------------- */

int cmd_batch(int argc, char **argv) {
  static const char *resolve[BATCH_MAX_RESOLVE];
  const char *input = NULL;
  cli_settings cl;
  cli_settings_init(&cl, &cli_batch_command);
  cl.resolve = resolve;
  cl.max_resolve = BATCH_MAX_RESOLVE;
  cl.operands = &input;
  cl.max_operands = 1;
  int rc = cli_parse(&cli_batch_command, &cl, argc, argv);
  if (rc != CLI_NEXT) return rc;
  /* The batch's options: its own numbers are in cl.batch already. */
  guise_batch_options o = cl.batch;
  o.insecure = cl.insecure;
  o.cafile = cl.cafile;
  o.proxy_insecure = cl.proxy_insecure;
  o.proxy_cafile = cl.proxy_cafile;
  o.profile = cl.profile;
  o.http_version = cl.http_version;
  o.proxy = cl.proxy;
  o.dns_servers = cl.dns_servers;
  o.connect_timeout_ms = cl.connect_timeout_ms;
  o.max_time_ms = cl.max_time_ms;
  o.follow_redirects = cl.follow_redirects;
  o.max_redirects = cl.max_redirects;
  o.no_reuse = cl.no_keepalive;
  const char *output = cl.output, *stats_json = cl.stats_json, *noproxy = cl.noproxy;
  const char *progress_when = cl.progress ? cl.progress : "auto";
  int resume = cl.resume;
  size_t n_resolve = cl.n_resolve;
  if (resume && output == NULL) {
    fprintf(stderr, "guise batch: --resume needs -o FILE (the records of the run to resume)\n");
    return EXIT_USAGE;
  }
  if (o.profile == NULL) o.profile = guise_profile_default();
  if (strcmp(o.profile, "none") != 0) {
    char perr[1024];
    int pe = guise_profile_check_syntax(o.profile, perr, sizeof(perr));
    if (pe) {
      fprintf(stderr, "guise batch: %s\n", perr);
      return EXIT_USAGE;
    }
  }
  if (o.body_mode == GUISE_BODY_DIR) {
    struct stat st;
    if (stat(o.body_dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(o.body_dir, W_OK) != 0) {
      fprintf(stderr, "guise batch: --body-dir %s: not a writable directory\n", o.body_dir);
      return EXIT_FAILURE_GENERIC;
    }
  }
  o.resolve = resolve;
  o.n_resolve = n_resolve;
  /* Jobs from a Redis stream: a worker of a consumer group (docs/REDIS.md). */
  redis_batch_args ra = {.group = cl.redis_group, .consumer = cl.redis_consumer,
                         .claim_idle_ms = cl.redis_claim_idle_ms, .follow = cl.redis_follow,
                         .status = cl.redis_status};
  int redis_in = input && redis_url_is(input);
  if (!redis_in && (ra.status || ra.group || ra.consumer || ra.claim_idle_ms || ra.follow)) {
    fprintf(stderr, "guise batch: --status, --group, --consumer, --claim-idle and --follow are for jobs from "
                    "redis://HOST:PORT[/DB]/STREAM\n");
    return EXIT_USAGE;
  }
  if (redis_in) {
    for (int k = 0; k < 2; k++) {
      const char *name = k ? ra.consumer : ra.group;
      if (name && (name[0] == '\0' || strlen(name) > 200)) {
        fprintf(stderr, "guise batch: %s: expected a name of 1 to 200 bytes\n", k ? "--consumer" : "--group");
        return EXIT_USAGE;
      }
    }
    ra.input = input;
    ra.output = output;
    ra.progress = cl.progress;
    ra.noproxy = noproxy;
    if (ra.status) return redis_batch_status(&ra);
    if (resume || stats_json) {
      fprintf(stderr, "guise batch: %s is not for jobs from Redis (the group keeps what is done)\n",
              resume ? "--resume" : "--stats-json");
      return EXIT_USAGE;
    }
    return redis_batch_run(&o, &ra);
  }

  /* Input and output are checked before any request goes out. */
  FILE *in = input == NULL || strcmp(input, "-") == 0 ? stdin : fopen(input, "r");
  if (in == NULL) {
    fprintf(stderr, "guise batch: %s: %s\n", input, strerror(errno));
    return EXIT_FAILURE_GENERIC;
  }
  /* The records must not go to the input (-o jobs.jsonl, a symlink or a hard
   * link to it, or stdout sent there): opening the output emptied the jobs and
   * the run ended at once with exit 0 (--resume skipped every job). Checked by
   * device and inode before either file is touched. */
  struct stat ist, ost;
  if (fstat(fileno(in), &ist) == 0 && S_ISREG(ist.st_mode) &&
      (output ? stat(output, &ost) == 0 : fstat(STDOUT_FILENO, &ost) == 0) && ost.st_dev == ist.st_dev &&
      ost.st_ino == ist.st_ino) {
    fprintf(stderr, "guise batch: %s %s is the input %s (the same file): the records would overwrite the jobs\n",
            output ? "-o" : "stdout", output ? output : "", input && strcmp(input, "-") ? input : "(stdin)");
    if (in != stdin) fclose(in);
    return EXIT_USAGE;
  }
  static idset done; /* 8 KiB of shard heads: not on the stack */
  unsigned long long kept = 0;
  int repaired = 0;
  if (resume && load_previous(output, &done, &kept, &repaired) != 0) {
    fprintf(stderr, "guise batch: --resume %s: %s\n", output, strerror(errno));
    if (in != stdin) fclose(in);
    return EXIT_FAILURE_GENERIC;
  }
  /* The records are a stream that --resume reads back after a kill: written in
   * place, not through a temp file (docs/BATCH.md). Without --resume an
   * existing file is replaced (emptied), with it appended to. */
  g_out.f = stdout;
  if (output) {
    int ofd = open(output, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | (resume ? O_APPEND : O_TRUNC), 0666);
    g_out.f = ofd >= 0 ? fdopen(ofd, resume ? "a" : "w") : NULL;
    if (g_out.f == NULL && ofd >= 0) close(ofd);
  }
  if (g_out.f == NULL) {
    fprintf(stderr, "guise batch: -o %s: %s\n", output, strerror(errno));
    if (in != stdin) fclose(in);
    idset_free(&done);
    return EXIT_FAILURE_GENERIC;
  }
  /* glibc ignores the size when given no buffer (it takes st_blksize: 4 KiB,
   * a write(2) per ~10 records); a buffer of our own makes the size real. */
  static char out_buf[BATCH_OUT_BUF];
  setvbuf(g_out.f, out_buf, _IOFBF, sizeof(out_buf));
  if (resume)
    fprintf(stderr, "guise batch: resuming: %llu records kept%s\n", kept,
            repaired ? ", a torn last line cut off" : "");

  /* Descriptors: as many as the hard limit allows (one per connection). */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  /* Signals go to one thread of ours (the workers must not get them). */
  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  pthread_t sig_thread;
  pthread_create(&sig_thread, NULL, signal_main, &set);
  pthread_detach(sig_thread);

  o.on_record = on_record;
  guise_batch *b;
  int e = guise_batch_new(&o, &b);
  if (e == GUISE_E_USAGE_FILE && o.proxy_cafile) {
    char shown[256];
    guise_escape_text(o.proxy_cafile, strlen(o.proxy_cafile), shown, sizeof(shown));
    fprintf(stderr, "guise batch: --proxy-cacert %s: cannot read PEM certificates from it\n", shown);
  } else if (e) {
    fprintf(stderr, "guise batch: %s (%s)\n", guise_strerror(e), guise_err_name(e));
  }
  if (e) {
    if (in != stdin) fclose(in);
    idset_free(&done);
    return e == GUISE_E_NOMEM ? EXIT_FAILURE_GENERIC : EXIT_USAGE;
  }
  pthread_mutex_lock(&g_batch_lock);
  g_batch = b;
  pthread_mutex_unlock(&g_batch_lock);
  progress pr = {.b = b};
  pthread_mutex_init(&pr.lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&pr.wake, &ca);
  pthread_condattr_destroy(&ca);
  pr.mode = strcmp(progress_when, "never") == 0 ? 0
            : strcmp(progress_when, "always") == 0 ? (isatty(2) ? 1 : 2)
            : isatty(2) ? 1 : 2;
  clock_gettime(CLOCK_MONOTONIC, &pr.t0);
  pthread_t prog_thread;
  pthread_create(&prog_thread, NULL, progress_main, &pr);

  char *line = malloc(BATCH_MAX_LINE + 1);
  cli_lines lr;
  (void)cli_lines_init(&lr, fileno(in), BATCH_READ_CHUNK);
  idset_in ids = {0};
  {
    /* A regular file can be read again for the first line of a duplicate id;
     * other input keeps each id's line. */
    struct stat inst;
    ids.fd = fileno(in);
    ids.start = fstat(ids.fd, &inst) == 0 && S_ISREG(inst.st_mode) ? (long long)lseek(ids.fd, 0, SEEK_CUR) : -1;
    ids.reread = ids.start >= 0;
  }
  unsigned long long lineno = 0, skipped = 0;
  int read_error = 0;
  const int env_proxy = cli_env_names_proxy();
  while (line && lr.buf && !atomic_load(&g_signals) && !output_failed()) {
    size_t len;
    int got = cli_lines_next(&lr, line, BATCH_MAX_LINE, &len);
    if (got <= 0) {
      read_error = got < 0;
      break;
    }
    lineno++;
    /* Every line but a blank one or a comment gets exactly one record, across
     * runs: each line's id is decided from the input alone. A job's own id is
     * its id unless an earlier line has it (then the line is not run: a
     * duplicate). A line without one (or that is not a job) takes its number,
     * or "#N" when an earlier line's id is that number; ids the input gives
     * cannot start with '#'. */
    guise_job job;
    guise_job_store *store = NULL;
    char err[256];
    job.line = lineno;
    int k = got == 2 ? GUISE_E_USAGE_INVALID_ARGUMENT : guise_job_parse(line, len, &job, &store, err, sizeof(err));
    if (got == 2) snprintf(err, sizeof(err), "line longer than 8 MiB");
    if (k == 1) continue;
    char idbuf[32];
    const char *id = idbuf;
    unsigned long long first = 0;
    int dup = 0, own = k == 0 && job.id;
    if (own) {
      id = job.id;
      dup = claim_own_id(&ids, id, lineno, &first);
    } else {
      snprintf(idbuf, sizeof(idbuf), "%llu", lineno);
      dup = claim_line_id(&ids, idbuf, lineno);
    }
    if (dup < 0) {
      guise_job_free(store);
      fprintf(stderr, "guise batch: no memory for the ids of the input; stopping\n");
      read_error = 1;
      errno = ENOMEM;
      break;
    }
    char shown[DUP_SHOWN];
    if (dup && own) {
      /* the id, cut at 64 bytes on a UTF-8 boundary (line_error escapes it) */
      size_t n = strlen(job.id);
      if (n > 64) {
        n = 64;
        while (n && ((unsigned char)job.id[n] & 0xC0) == 0x80) n--;
      }
      snprintf(shown, sizeof(shown), "%.*s%s", (int)n, job.id, job.id[n] ? "..." : "");
      if (first)
        snprintf(err, sizeof(err), "duplicate id \"%s\" (first on line %llu): not run", shown, first);
      else /* a pipe past line 2^32 - 1 */
        snprintf(err, sizeof(err), "duplicate id \"%s\" (first on an earlier line): not run", shown);
      k = GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    if (dup) {
      snprintf(idbuf, sizeof(idbuf), "#%llu", lineno);
      if (own && first == 0 && ids.reread) {
        /* its first line is found by reading the input again: the record waits */
        if (done.n && idset_has(&done, idbuf)) skipped++;
        else if (dup_wait_add(&ids, job.id, shown, lineno, line) != 0) {
          guise_job_free(store);
          fprintf(stderr, "guise batch: no memory for the ids of the input; stopping\n");
          read_error = 1;
          errno = ENOMEM;
          break;
        }
        guise_job_free(store);
        continue;
      }
      id = idbuf;
      if (k == 0) job.id = id; /* no id of its own: renamed, and run */
    }
    if (done.n && idset_has(&done, id)) {
      skipped++;
      guise_job_free(store);
      continue;
    }
    if (k != 0) {
      guise_job_free(store);
      line_error(lineno, id, err);
      continue;
    }
    /* No proxy named (by -x or the job): the environment's, as curl reads it. */
    if (job.proxy == NULL && o.proxy == NULL && env_proxy) job.proxy = cli_proxy_from_env(job.url, noproxy);
    e = guise_batch_submit(b, &job);
    if (e && e != GUISE_E_CANCELLED) line_error(lineno, id, guise_strerror(e)); /* |id| may be in |store| */
    guise_job_free(store);
    if (e == GUISE_E_CANCELLED) break;
  }
  /* The duplicates still waiting for their first line (none after a signal:
   * --resume writes their records). */
  if (line && !read_error && !atomic_load(&g_signals) && !output_failed()) dup_resolve(&ids, line);
  free(line);
  cli_lines_free(&lr);
  idset_in_free(&ids);
  if (read_error) {
    fprintf(stderr, "guise batch: reading %s: %s; stopping\n", input ? input : "stdin", strerror(errno));
    guise_batch_stop(b, 0);
  }
  guise_batch_wait(b);
  progress_stop(&pr);
  pthread_join(prog_thread, NULL);
  pthread_cond_destroy(&pr.wake);
  pthread_mutex_destroy(&pr.lock);
  guise_batch_stats st;
  guise_batch_stats_get(b, &st);
  unsigned long long le = atomic_load(&g_line_errors);
  st.done += le;
  st.failed += le;
  st.by_class[0] += le;
  double secs = since(&pr.t0);
  char summary[512];
  format_stats(b, secs, 0, summary, sizeof(summary));
  pthread_mutex_lock(&g_batch_lock);
  g_batch = NULL;
  pthread_mutex_unlock(&g_batch_lock);
  guise_batch_finish(b);
  if (pr.mode == 1) fputs("\r\033[K", stderr);
  fprintf(stderr, "guise batch: %s; %.2f s%s\n", summary, secs,
          st.interrupted ? "; interrupted jobs have no record: run again with --resume" : "");
  if (skipped) fprintf(stderr, "guise batch: %llu jobs skipped (already in %s)\n", skipped, output);
  if (stats_json) {
    /* Written whole or not at all, through a temp file (guise_file_open). */
    guise_file *sfile = NULL;
    FILE *sf = guise_file_open(stats_json, 0666, GUISE_FILE_SYNC, &sfile) == 0 ? guise_file_stream(sfile) : NULL;
    if (sf == NULL) {
      fprintf(stderr, "guise batch: --stats-json %s: %s\n", stats_json, strerror(errno));
    } else {
      fprintf(sf, "{\"submitted\":%llu,\"done\":%llu,\"ok\":%llu,\"failed\":%llu,\"retries\":%llu,"
                  "\"interrupted\":%llu,\"skipped\":%llu,\"lines\":%llu,\"seconds\":%.3f,\"rate\":%.1f,"
                  "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"by_class\":{",
              st.submitted, st.done, st.ok, st.failed, st.retries, st.interrupted, skipped, lineno, secs,
              secs > 0 ? (double)st.done / secs : 0.0, st.p50_ms, st.p99_ms);
      for (int i = 0, first = 1; i < GUISE_CLASS_COUNT; i++)
        if (st.by_class[i]) {
          fprintf(sf, "%s\"%s\":%llu", first ? "" : ",", class_names[i], st.by_class[i]);
          first = 0;
        }
      fputs("}}\n", sf);
      if (guise_file_commit(sfile) != 0)
        fprintf(stderr, "guise batch: --stats-json %s: %s\n", stats_json, strerror(errno));
    }
  }
  if (in != stdin) fclose(in);
  idset_free(&done);
  pthread_mutex_lock(&g_out.lock);
  if (fflush(g_out.f) != 0 && !g_out.failed) {
    g_out.failed = 1;
    g_out.err = errno;
  }
  if (g_out.f != stdout && fclose(g_out.f) != 0 && !g_out.failed) {
    g_out.failed = 1;
    g_out.err = errno;
  }
  pthread_mutex_unlock(&g_out.lock);
  if (g_out.failed) {
    fprintf(stderr, "guise batch: writing %s: %s\n", output ? output : "stdout", strerror(g_out.err));
    return EXIT_FAILURE_GENERIC;
  }
  return atomic_load(&g_signals) ? 130 : read_error ? EXIT_FAILURE_GENERIC : EXIT_OK;
}

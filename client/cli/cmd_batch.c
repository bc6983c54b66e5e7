/*
 * cmd_batch.c — `guise batch [options] [FILE|-]`: jobs in (URLs or JSONL, read
 * as a stream), one JSON record per job out, the engine of guise_batch_* in
 * between, live progress on stderr. The options come from options.c (the table
 * guise URL shares); every record, a bad line's too, is the library's JSON
 * (guise_batch_record_error). Uses guise.h, and libguise's hash table (hmap.h)
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

/* ---- ids already done (--resume) --------------------------------------------- */

/* The ids of the previous run's records, each in a node of its own. */
typedef struct done_id {
  hmap_node node;
  char id[];
} done_id;

typedef struct idset {
  hmap map;
  size_t n;
} idset;

static int idset_has(const idset *s, const char *id) {
  uint64_t h = hmap_hash_str(id);
  for (hmap_node *n = hmap_chain(&s->map, h); n; n = n->next)
    if (n->hash == h && strcmp(((done_id *)(void *)n)->id, id) == 0) return 1;
  return 0;
}

static int idset_add(idset *s, const char *id) {
  if (idset_has(s, id)) return 0;
  size_t len = strlen(id);
  done_id *d = malloc(sizeof(*d) + len + 1);
  if (d == NULL) return -1;
  memcpy(d->id, id, len + 1);
  if (hmap_insert(&s->map, &d->node, hmap_hash_str(id)) != 0) {
    free(d);
    return -1;
  }
  s->n++;
  return 0;
}

static void idset_free(idset *s) {
  for (size_t i = 0; i < s->map.n_buckets; i++)
    for (hmap_node *n = s->map.buckets[i], *next; n; n = next) {
      next = n->next;
      free(n); /* the node starts the done_id */
    }
  hmap_free(&s->map);
}

/* ---- ids of this input: each belongs to one line ---------------------------------- */

/* The ids the input's lines have taken so far, as two 64-bit hashes each (the
 * node's FNV-1a and |h2|, 16 bytes, not the id: memory stays ~50 bytes a line
 * however long the ids), with the line that took it. Nodes come from blocks of
 * CLAIMS_PER_BLOCK (no allocation per line). Two distinct ids share both hashes
 * with a chance of about n^2 / 2^129: none in practice. */
typedef struct claim {
  hmap_node node; /* hash: FNV-1a of the id */
  unsigned long long h2, line;
} claim;

#define CLAIMS_PER_BLOCK 4096

typedef struct claim_block {
  struct claim_block *prev;
  claim c[CLAIMS_PER_BLOCK];
} claim_block;

typedef struct claimset {
  hmap map;
  claim_block *block; /* the newest; |used| of its claims taken */
  size_t used;
} claimset;

/* A second hash of |s|, independent of FNV-1a (a multiply-xorshift mix). */
static unsigned long long id_hash2(const char *s) {
  unsigned long long b = 0x9e3779b97f4a7c15ull;
  for (; *s; s++) {
    b = (b + (unsigned char)*s) * 0xbf58476d1ce4e5b9ull;
    b ^= b >> 31;
  }
  return b ^ (b >> 29);
}

/* Gives |id| to |line| when no earlier line has it: 0. 1 and *first when one
 * has; -1 out of memory. */
static int claim_id(claimset *s, const char *id, unsigned long long line, unsigned long long *first) {
  uint64_t h1 = hmap_hash_str(id);
  unsigned long long h2 = id_hash2(id);
  for (hmap_node *n = hmap_chain(&s->map, h1); n; n = n->next) {
    claim *c = (claim *)(void *)n;
    if (n->hash == h1 && c->h2 == h2) {
      *first = c->line;
      return 1;
    }
  }
  if (s->block == NULL || s->used == CLAIMS_PER_BLOCK) {
    claim_block *nb = malloc(sizeof(*nb));
    if (nb == NULL) return -1;
    nb->prev = s->block;
    s->block = nb;
    s->used = 0;
  }
  claim *c = &s->block->c[s->used];
  c->h2 = h2;
  c->line = line;
  if (hmap_insert(&s->map, &c->node, h1) != 0) return -1;
  s->used++;
  return 0;
}

static void claimset_free(claimset *s) {
  for (claim_block *b = s->block, *prev; b; b = prev) {
    prev = b->prev;
    free(b);
  }
  hmap_free(&s->map);
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

/* ---- input lines (lines.h) ------------------------------------------------------- */

/* Whether the environment names a proxy at all (cli_proxy_from_env's
 * variables): when none does, the jobs are not looked at one by one for it. */
static int env_names_proxy(void) {
  static const char *const names[] = {"HTTPS_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const char *v = getenv(names[i]);
    if (v && *v) return 1;
  }
  return 0;
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
  idset done = {0};
  hmap_init(&done.map);
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
  claimset claims = {0};
  hmap_init(&claims.map);
  unsigned long long lineno = 0, skipped = 0;
  int read_error = 0;
  const int env_proxy = env_names_proxy();
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
    int dup = 0;
    if (k == 0 && job.id) {
      id = job.id;
      dup = claim_id(&claims, id, lineno, &first);
    } else {
      snprintf(idbuf, sizeof(idbuf), "%llu", lineno);
      dup = claim_id(&claims, idbuf, lineno, &first);
    }
    if (dup < 0) {
      guise_job_free(store);
      fprintf(stderr, "guise batch: no memory for the ids of the input; stopping\n");
      read_error = 1;
      errno = ENOMEM;
      break;
    }
    if (dup) {
      if (k == 0 && job.id) {
        /* the id, cut at 64 bytes on a UTF-8 boundary (line_error escapes it) */
        size_t n = strlen(job.id);
        if (n > 64) {
          n = 64;
          while (n && ((unsigned char)job.id[n] & 0xC0) == 0x80) n--;
        }
        snprintf(err, sizeof(err), "duplicate id \"%.*s%s\" (first on line %llu): not run", (int)n, job.id,
                 job.id[n] ? "..." : "", first);
        k = GUISE_E_USAGE_INVALID_ARGUMENT;
      }
      snprintf(idbuf, sizeof(idbuf), "#%llu", lineno);
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
  free(line);
  cli_lines_free(&lr);
  claimset_free(&claims);
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

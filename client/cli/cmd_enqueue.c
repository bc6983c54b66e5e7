/*
 * cmd_enqueue.c — `guise enqueue [options] [FILE|-] redis://HOST:PORT[/DB]/STREAM`:
 * jobs (URLs or JSONL, the format of guise batch) into a Redis stream, one entry
 * per line (fields "job" = the line, "src" = this run's token and the line's
 * sequence), for `guise batch redis://...` workers to take (docs/REDIS.md). Every
 * line is checked with guise_job_parse first: a bad one is reported with its
 * line number and not enqueued. XADDs go out pipelined, in chunks; --max-backlog
 * holds the input while the stream has more unprocessed entries than N. When
 * Redis goes away mid-chunk, the command waits, reconnects, finds the chunk's
 * last entry that arrived (by its "src") and sends only the rest: no entry twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "guise.h"
#include "lines.h"
#include "redis_conn.h"

#define ENQ_PROG "guise enqueue"
#define ENQ_MAX_LINE ((8u << 20) + 2)  /* a job line with an inline body, as guise batch */
#define ENQ_CHUNK 512                  /* entries per pipelined round trip */
#define ENQ_CHUNK_BYTES (4u << 20)     /* and at most this many bytes of jobs in it */
#define ENQ_READ_CHUNK (64u << 10)
#define ENQ_BACKLOG_POLL_MS 200
#define ENQ_MAX_SHARDS 64              /* --shards (redis_batch.c reads as many) */

static const char enqueue_usage[] =
    "usage: guise enqueue [options] [FILE|-] redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]/STREAM\n"
    "  each line of FILE (or stdin): a URL or a JSON job, as for guise batch; bad lines are\n"
    "  reported with their numbers and not enqueued (docs/REDIS.md)\n"
    "      --max-backlog N   wait while the stream holds more than N unprocessed entries\n"
    "                        (its groups' lag + pending; its length when it has no group)\n"
    "      --progress WHEN   auto (default: live on a terminal, a line every 5 s otherwise),\n"
    "                        always, never\n"
    "      --shards K        jobs in K streams STREAM:shard:I by host (2-64; affinity: each\n"
    "                        worker reads its own shard first); a sharded stream keeps its K\n"
    "Exit status: 0 every line enqueued, 1 some lines were bad (the rest enqueued) or\n"
    "input/Redis errors, 2 usage.\n";

/* One chunk of entries, sent together. */
typedef struct chunk {
  char *data;                 /* the lines, back to back */
  size_t used;
  size_t off[ENQ_CHUNK], len[ENQ_CHUNK];
  unsigned long long seq[ENQ_CHUNK];
  int shard[ENQ_CHUNK];
  int n;
} chunk;

typedef struct enq {
  rconn r;
  const char *key;
  size_t key_len;
  int shards;                 /* 1: the stream KEY; K: KEY:shard:0 .. K-1 */
  char *skey[ENQ_MAX_SHARDS];
  size_t skey_len[ENQ_MAX_SHARDS];
  char token[48];             /* this run's: "src" of its entries is TOKEN:SEQ */
  unsigned long long max_backlog, enqueued, bad, seq;
  int progress;               /* 0 never, 1 live, 2 lines */
  struct timespec t0, last_progress;
} enq;

static double secs_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void show_progress(enq *e, long long backlog, int final) {
  if (e->progress == 0 && !final) return;
  double t = secs_since(&e->t0);
  if (!final && secs_since(&e->last_progress) < (e->progress == 2 ? 5 : 0.25)) return;
  clock_gettime(CLOCK_MONOTONIC, &e->last_progress);
  char line[256];
  int n = snprintf(line, sizeof(line), "%llu enqueued, %.0f/s, %llu bad lines", e->enqueued,
                   t > 0 ? (double)e->enqueued / t : 0.0, e->bad);
  if (backlog >= 0 && n > 0 && (size_t)n < sizeof(line))
    snprintf(line + n, sizeof(line) - (size_t)n, ", backlog %lld", backlog);
  if (e->progress == 1) fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
  else fprintf(stderr, "%s: %s%s\n", ENQ_PROG, line, final ? "; done" : "");
}

/* The stream's unprocessed entries: the largest lag + pending of its groups, or
 * its length when it has no group (or a group's lag is unknown: entries were
 * deleted). -1 and r->why when Redis failed. */
static long long backlog_of1(enq *e, int sh);

static long long backlog_of(enq *e) {
  long long sum = 0;
  for (int i = 0; i < e->shards; i++) {
    long long b = backlog_of1(e, i);
    if (b < 0) return b;
    sum += b;
  }
  return sum;
}

static long long backlog_of1(enq *e, int sh) {
  rargs a = {0};
  rargs_add(&a, "XINFO");
  rargs_add(&a, "GROUPS");
  rargs_addn(&a, e->skey[sh], e->skey_len[sh]);
  redisReply *rep = rconn_cmd(&e->r, a.n, a.v, a.len);
  if (rep == NULL) return -1;
  long long worst = -1;
  int unknown = rep->type != REDIS_REPLY_ARRAY || rep->elements == 0;
  if (!unknown)
    for (size_t i = 0; i < rep->elements; i++) {
      long long lag, pending;
      if (rreply_field_int(rep->element[i], "lag", &lag) != 0 ||
          rreply_field_int(rep->element[i], "pending", &pending) != 0) {
        unknown = 1;
        break;
      }
      if (lag + pending > worst) worst = lag + pending;
    }
  freeReplyObject(rep);
  if (!unknown) return worst;
  rargs b = {0};
  rargs_add(&b, "XLEN");
  rargs_addn(&b, e->skey[sh], e->skey_len[sh]);
  rep = rconn_cmd(&e->r, b.n, b.v, b.len);
  if (rep == NULL) return -1;
  long long len = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
  freeReplyObject(rep);
  return len;
}

static const atomic_int no_stop;

/* Waits while the backlog is above the limit. 0, or -1 on a Redis error
 * (after which the caller reconnects). */
static int wait_backlog(enq *e) {
  if (e->max_backlog == 0) return 0;
  int said = 0;
  for (;;) {
    long long b = backlog_of(e);
    if (b < 0) return -1;
    show_progress(e, b, 0);
    if ((unsigned long long)b <= e->max_backlog) {
      if (said && e->progress == 2) fprintf(stderr, "%s: backlog %lld, going on\n", ENQ_PROG, b);
      return 0;
    }
    if (!said && e->progress == 2)
      fprintf(stderr, "%s: backlog %lld above --max-backlog %llu: waiting\n", ENQ_PROG, b, e->max_backlog);
    said = 1;
    usleep(ENQ_BACKLOG_POLL_MS * 1000);
  }
}

/* The sequence of the newest entry this run wrote, from the stream's last
 * entries (XREVRANGE): 0 when none of ours is there. -1 when the connection
 * was lost, -2 for an error reply (LOADING...). */
static long long last_seq_in_stream1(enq *e, int sh, int look);

static long long last_seq_in_stream(enq *e, int look) {
  long long best = 0;
  for (int i = 0; i < e->shards; i++) {
    long long v = last_seq_in_stream1(e, i, look);
    if (v < 0) return v;
    if (v > best) best = v;
  }
  return best;
}

static long long last_seq_in_stream1(enq *e, int sh, int look) {
  char count[16];
  snprintf(count, sizeof(count), "%d", look);
  rargs a = {0};
  rargs_add(&a, "XREVRANGE");
  rargs_addn(&a, e->skey[sh], e->skey_len[sh]);
  rargs_add(&a, "+");
  rargs_add(&a, "-");
  rargs_add(&a, "COUNT");
  rargs_add(&a, count);
  redisReply *rep = rconn_cmd(&e->r, a.n, a.v, a.len);
  if (rep == NULL) return -1;
  if (rep->type == REDIS_REPLY_ERROR) { /* LOADING (a restart reading its AOF), ...: ask again */
    freeReplyObject(rep);
    return -2;
  }
  long long found = 0;
  size_t tl = strlen(e->token);
  for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && !found; i++) {
    const redisReply *ent = rep->element[i];
    if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2) continue;
    const redisReply *src = rreply_field(ent->element[1], "src");
    if (src && src->type == REDIS_REPLY_STRING && src->len > tl + 1 && memcmp(src->str, e->token, tl) == 0 &&
        src->str[tl] == ':')
      found = strtoll(src->str + tl + 1, NULL, 10);
  }
  freeReplyObject(rep);
  return found;
}

/* Sends the chunk's entries from |from|, pipelined. 0, or -1 when the
 * connection failed (some may have arrived), -3 when Redis answered some with
 * LOADING or the like (some may have arrived). Another error reply (a key of
 * another type, OOM) is fatal: -2 with the message printed. */
static int send_chunk(enq *e, chunk *c, int from) {
  redisContext *rc = e->r.c;
  if (rc == NULL) return -1;
  for (int i = from; i < c->n; i++) {
    char src[80];
    int sl = snprintf(src, sizeof(src), "%s:%llu", e->token, c->seq[i]);
    int sh = c->shard[i];
    const char *argv[7] = {"XADD", e->skey[sh], "*", "job", c->data + c->off[i], "src", src};
    size_t lens[7] = {4, e->skey_len[sh], 1, 3, c->len[i], 3, (size_t)sl};
    if (redisAppendCommandArgv(rc, 7, argv, lens) != REDIS_OK) {
      snprintf(e->r.why, sizeof(e->r.why), "out of memory");
      rconn_close(&e->r);
      return -1;
    }
  }
  int fatal = 0, transient = 0;
  for (int i = from; i < c->n; i++) {
    void *rep = NULL;
    if (redisGetReply(rc, &rep) != REDIS_OK || rep == NULL) {
      snprintf(e->r.why, sizeof(e->r.why), "%s", rc->errstr[0] ? rc->errstr : "connection lost");
      rconn_close(&e->r);
      return -1;
    }
    redisReply *r = rep;
    if (rreply_transient(r)) {
      transient = 1; /* this XADD did not happen; which did is asked after */
    } else if (r->type == REDIS_REPLY_ERROR && !fatal) {
      char shown[200];
      guise_escape_text(r->str, r->len, shown, sizeof(shown));
      fprintf(stderr, "%s: XADD to %s refused: %s\n", ENQ_PROG, e->r.shown, shown);
      fatal = 1;
    } else if (r->type != REDIS_REPLY_ERROR) {
      e->enqueued++;
    }
    freeReplyObject(r);
  }
  return fatal ? -2 : transient ? -3 : 0;
}

/* Sends the whole chunk, across reconnections, each entry once: after a
 * failure, the entries that did arrive are found (last_seq_in_stream) before
 * anything is sent again. */
static int flush_chunk(enq *e, chunk *c) {
  if (c->n == 0) return 0;
  int from = 0, check = 0;
  unsigned long long base = e->enqueued;
  for (;;) {
    if (e->r.c == NULL && rconn_reopen(&e->r, &no_stop, "the input waits") != 0) return -1;
    if (check) {
      /* Ours are the newest entries unless other writers added after them:
       * look back over as many entries as the chunk has, and more. */
      long long last = last_seq_in_stream(e, c->n * 4 + 64);
      if (last == -1) continue; /* lost again: reconnect, ask again */
      if (last == -2) {
        usleep(100 * 1000);
        continue;
      }
      from = 0;
      while (from < c->n && (long long)c->seq[from] <= last) from++;
      e->enqueued = base + (unsigned long long)from; /* replies lost with the connection */
      check = 0;
      if (from == c->n) break;
    }
    if (wait_backlog(e) != 0) continue;
    int k = send_chunk(e, c, from);
    if (k == 0) break;
    if (k == -2) return -1;
    if (k == -3) usleep(100 * 1000);
    check = 1;
  }
  c->n = 0;
  c->used = 0;
  show_progress(e, -1, 0);
  return 0;
}


/* FNV-1a of the URL's authority (after "scheme://", before the path; userinfo
 * dropped; lowercased): jobs of one host, and port, go to one shard. */
static unsigned long long host_hash(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t n = strcspn(p, "/?#");
  for (size_t i = n; i > 0; i--)
    if (p[i - 1] == '@') {
      p += i;
      n -= i;
      break;
    }
  unsigned long long h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch >= 'A' && ch <= 'Z') ch = (unsigned char)(ch - 'A' + 'a');
    h = (h ^ ch) * 0x100000001b3ull;
  }
  return h;
}

/* The stream's sharding: KEY:shards names K when a run made it sharded; a run
 * with --shards sets it (when unset) and must agree with it. 0, or -1 with the
 * message printed. */
static int setup_shards(enq *e, int want) {
  char k[REDIS_KEY_MAX + 16];
  snprintf(k, sizeof(k), "%.*s:shards", (int)e->key_len, e->key);
  rargs g = {0};
  rargs_add(&g, "GET");
  rargs_add(&g, k);
  redisReply *rep = rconn_cmd(&e->r, g.n, g.v, g.len);
  if (rep == NULL) {
    fprintf(stderr, "%s: Redis %s: %s\n", ENQ_PROG, e->r.shown, e->r.why);
    return -1;
  }
  long have = rep->type == REDIS_REPLY_STRING ? strtol(rep->str, NULL, 10) : 0;
  freeReplyObject(rep);
  if (have > ENQ_MAX_SHARDS || (have && want && have != want)) {
    fprintf(stderr, "%s: %s is sharded in %ld streams (%s:shards), not %d\n", ENQ_PROG, e->r.shown, have, k, want);
    return -1;
  }
  int shards = have ? (int)have : want ? want : 1;
  if (shards > 1 && !have) {
    /* Jobs already in the unsharded stream would never be read by workers of
     * the sharded one. */
    rargs x = {0};
    rargs_add(&x, "EXISTS");
    rargs_addn(&x, e->key, e->key_len);
    rep = rconn_cmd(&e->r, x.n, x.v, x.len);
    int exists = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
    if (rep) freeReplyObject(rep);
    if (exists) {
      fprintf(stderr, "%s: --shards %d: %s holds an unsharded stream already (use another key)\n", ENQ_PROG, want,
              e->r.shown);
      return -1;
    }
    char v[16];
    snprintf(v, sizeof(v), "%d", shards);
    rargs set = {0};
    rargs_add(&set, "SET");
    rargs_add(&set, k);
    rargs_add(&set, v);
    rargs_add(&set, "NX");
    rep = rconn_cmd(&e->r, set.n, set.v, set.len);
    if (rep) freeReplyObject(rep);
  }
  e->shards = shards;
  if (shards == 1) {
    e->skey[0] = (char *)e->key;
    e->skey_len[0] = e->key_len;
    return 0;
  }
  for (int i = 0; i < shards; i++) {
    e->skey[i] = malloc(e->key_len + 24);
    if (e->skey[i] == NULL) return -1;
    e->skey_len[i] = (size_t)snprintf(e->skey[i], e->key_len + 24, "%.*s:shard:%d", (int)e->key_len, e->key, i);
  }
  return 0;
}

int cmd_enqueue(int argc, char **argv) {
  const char *ops[2] = {NULL, NULL};
  int n_ops = 0;
  enq e = {0};
  const char *progress = "auto";
  int want_shards = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(enqueue_usage, stdout);
      return EXIT_OK;
    }
    if (strcmp(a, "--max-backlog") == 0 || strcmp(a, "--progress") == 0 || strcmp(a, "--shards") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", ENQ_PROG, a);
        return EXIT_USAGE;
      }
      const char *v = argv[++i];
      if (a[2] == 's') {
        long long n = cli_number(a, v, 2, ENQ_MAX_SHARDS);
        if (n < 0) return EXIT_USAGE;
        want_shards = (int)n;
      } else if (a[2] == 'm') {
        long long n = cli_number(a, v, 1, 1000000000000LL);
        if (n < 0) return EXIT_USAGE;
        e.max_backlog = (unsigned long long)n;
      } else if (strcmp(v, "auto") && strcmp(v, "always") && strcmp(v, "never")) {
        fprintf(stderr, "%s: --progress %s: expected auto, always or never\n", ENQ_PROG, v);
        return EXIT_USAGE;
      } else {
        progress = v;
      }
      continue;
    }
    if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "%s: unknown option %s (%s --help)\n", ENQ_PROG, a, ENQ_PROG);
      return EXIT_USAGE;
    }
    if (n_ops == 2) {
      fprintf(stderr, "%s: expected [FILE|-] redis://.../STREAM (%s --help)\n", ENQ_PROG, ENQ_PROG);
      return EXIT_USAGE;
    }
    ops[n_ops++] = a;
  }
  if (n_ops == 0 || !redis_url_is(ops[n_ops - 1])) {
    fprintf(stderr, "%s: the last operand is the stream: redis://HOST:PORT[/DB]/STREAM (%s --help)\n", ENQ_PROG,
            ENQ_PROG);
    return EXIT_USAGE;
  }
  const char *input = n_ops == 2 ? ops[0] : NULL;
  if (rconn_init(&e.r, ENQ_PROG, ops[n_ops - 1]) != 0) return EXIT_USAGE;
  e.key = e.r.url.key;
  e.key_len = e.r.url.key_len;
  int in_fd = input == NULL || strcmp(input, "-") == 0 ? STDIN_FILENO : open(input, O_RDONLY | O_CLOEXEC);
  if (in_fd < 0) {
    fprintf(stderr, "%s: %s: %s\n", ENQ_PROG, input, strerror(errno));
    return EXIT_FAILURE_GENERIC;
  }
  if (rconn_open(&e.r) != 0) {
    fprintf(stderr, "%s: cannot reach Redis %s: %s\n", ENQ_PROG, e.r.shown, e.r.why);
    if (in_fd != STDIN_FILENO) close(in_fd);
    return EXIT_FAILURE_GENERIC;
  }
  if (setup_shards(&e, want_shards) != 0) {
    rconn_close(&e.r);
    if (in_fd != STDIN_FILENO) close(in_fd);
    return EXIT_FAILURE_GENERIC;
  }
  e.progress = strcmp(progress, "never") == 0 ? 0 : isatty(2) ? 1 : 2;
  clock_gettime(CLOCK_MONOTONIC, &e.t0);
  e.last_progress = e.t0;
  struct timespec seed;
  clock_gettime(CLOCK_REALTIME, &seed);
  srand((unsigned)(seed.tv_nsec ^ getpid()));
  snprintf(e.token, sizeof(e.token), "%lx.%lx.%x", (unsigned long)seed.tv_sec, (unsigned long)seed.tv_nsec,
           (unsigned)getpid());

  const char *name = input && strcmp(input, "-") ? input : "stdin";
  char *line = malloc(ENQ_MAX_LINE + 1);
  cli_lines lr;
  (void)cli_lines_init(&lr, in_fd, ENQ_READ_CHUNK);
  chunk c = {.data = malloc(ENQ_CHUNK_BYTES + ENQ_MAX_LINE)};
  int rc = EXIT_OK;
  unsigned long long lineno = 0;
  if (line == NULL || lr.buf == NULL || c.data == NULL) {
    fprintf(stderr, "%s: out of memory\n", ENQ_PROG);
    rc = EXIT_FAILURE_GENERIC;
  }
  while (rc == EXIT_OK) {
    size_t len;
    int got = cli_lines_next(&lr, line, ENQ_MAX_LINE, &len);
    if (got < 0) {
      fprintf(stderr, "%s: reading %s: %s\n", ENQ_PROG, name, strerror(errno));
      rc = EXIT_FAILURE_GENERIC;
      break;
    }
    if (got == 0) break;
    lineno++;
    guise_job job;
    guise_job_store *store = NULL;
    char err[256];
    int k = got == 2 ? GUISE_E_USAGE_INVALID_ARGUMENT : guise_job_parse(line, len, &job, &store, err, sizeof(err));
    if (got == 2) snprintf(err, sizeof(err), "line longer than 8 MiB");
    int sh = k == 0 && e.shards > 1 ? (int)(host_hash(job.url) % (unsigned long long)e.shards) : 0;
    guise_job_free(store);
    if (k == 1) continue;
    if (k != 0) {
      char shown[600];
      guise_escape_text(err, strlen(err), shown, sizeof(shown));
      fprintf(stderr, "%s: %s:%llu: %s: not enqueued\n", ENQ_PROG, name, lineno, shown);
      e.bad++;
      continue;
    }
    /* The line as written, without its line end. */
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    c.off[c.n] = c.used;
    c.len[c.n] = len;
    c.seq[c.n] = ++e.seq;
    c.shard[c.n] = sh;
    memcpy(c.data + c.used, line, len);
    c.used += len;
    c.n++;
    if ((c.n == ENQ_CHUNK || c.used >= ENQ_CHUNK_BYTES) && flush_chunk(&e, &c) != 0) rc = EXIT_FAILURE_GENERIC;
  }
  if (rc == EXIT_OK && flush_chunk(&e, &c) != 0) rc = EXIT_FAILURE_GENERIC;
  show_progress(&e, -1, 1);
  if (rc == EXIT_OK && e.bad) {
    fprintf(stderr, "%s: %llu bad line%s not enqueued\n", ENQ_PROG, e.bad, e.bad == 1 ? "" : "s");
    rc = EXIT_FAILURE_GENERIC;
  }
  free(line);
  cli_lines_free(&lr);
  free(c.data);
  for (int i = 0; e.shards > 1 && i < e.shards; i++) free(e.skey[i]);
  rconn_close(&e.r);
  if (in_fd != STDIN_FILENO) close(in_fd);
  return rc;
}

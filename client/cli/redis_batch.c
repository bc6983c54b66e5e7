/*
 * redis_batch.c — see redis_batch.h. Three kinds of threads:
 *   - the main thread reads the stream (XREADGROUP, XAUTOCLAIM on its own
 *     connection) and submits jobs to the engine (guise_batch_submit);
 *   - the engine's workers call on_record (serialised): the record is queued,
 *     matched to its stream entry by the job id;
 *   - the writer thread (its own connection) runs, per record, one Lua script
 *     that checks the done-mark, adds the record to the records stream, sets
 *     the done-mark and acknowledges the entry: atomic, so a redelivered job
 *     whose record exists is acknowledged without a second record. Sent again
 *     after a lost connection, the script finds its own done-mark: no duplicate.
 * While Redis is away both threads wait and reconnect with backoff; records
 * stay queued up to REDIS_BUFFER_MAX bytes, and above it no new job is taken.
 */
#include "redis_batch.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "redis_conn.h"
/* The library's hash table, as cmd_batch.c uses it (linked from guise_core). */
#include "../lib/batch_sched.h"
#include "../lib/hmap.h"

#define REDIS_BUFFER_MAX (64u << 20)   /* records waiting for Redis; above: no new jobs */
#define REDIS_DONE_TTL "604800"        /* done-marks live 7 days (docs/REDIS.md) */
#define REDIS_READ_COUNT 256           /* entries per XREADGROUP at most */
#define REDIS_WRITE_BATCH 256          /* records per script call (one round trip) */
/* Records' bytes per script call: a script holds Redis for every client while
 * it runs, so a call of large records stops at about this size. */
#define REDIS_WRITE_BYTES (4u << 20)
#define REDIS_MAX_ID 1024              /* guise_job_parse's longest id */
#define REDIS_CLAIM_DEFAULT_MS 300000  /* 5 min: longer than a job's attempts */
#define REDIS_GROUP_DEFAULT "guise"
#define REDIS_MAX_SHARDS 64            /* guise enqueue --shards */
#define REDIS_STEAL_COUNT 16           /* entries taken from other shards at a time */
/* A sharded worker holds a lease on each shard it reads as its own
 * (KEY:shard:I:owner = consumer, PX): renewed every second; a shard whose
 * lease has lapsed (its worker died or ended) is adopted by a worker whose
 * own shards are drained, and read as its home from then on. */
#define REDIS_LEASE_MS "3000"
#define REDIS_LEASE_EVERY_S 1.0

/* An entry as this process keeps it: "ID" in an unsharded stream, "SHARD/ID"
 * in a sharded one (entry ids of two shards may be equal). The shard, and the
 * id in *|id|. */
static int entry_shard(const char *entry, const char **id) {
  const char *slash = strchr(entry, '/');
  if (slash == NULL) {
    *id = entry;
    return 0;
  }
  *id = slash + 1;
  return atoi(entry);
}

/* The records of a batch, in one call (one round trip and one script run for
 * up to REDIS_WRITE_BATCH jobs; a script runs alone, so each job's check,
 * record, done-mark and XACK are atomic as before). KEYS, per record i (from
 * 0): KEYS[2i+1] the job's stream, KEYS[2i+2] its done-mark; then the records
 * stream when there is one (ARGV[3] "1"). ARGV[1] group, ARGV[2] done-mark
 * lifetime (s), ARGV[3] "1" or "0", then per record: entry id, job id, record.
 * Per record, the done-mark is set if absent (SET NX: the check and the mark
 * in one call) and only then the record added; the entries are acknowledged
 * at the end, one XACK per stream. The reply: per record 1 (written) or 0
 * (the job had its record already: acknowledged only). Sent again after a lost
 * connection, each job finds its own done-mark: no duplicate. */
static const char write_script[] =
    "local n = (#ARGV - 3) / 3\n"
    "local rk = nil\n"
    "if ARGV[3] == '1' then rk = KEYS[2 * n + 1] end\n"
    /* A script's writes stay when a later call fails (no rollback): an XADD
     * refused after its SET NX would leave a done-mark without a record, and
     * the job would never get one. The one XADD error that a call can meet
     * (the key holds another type) is checked before anything is written. */
    "if rk then\n"
    "  local t = redis.call('TYPE', rk)['ok']\n"
    "  if t ~= 'stream' and t ~= 'none' then\n"
    "    return redis.error_reply('WRONGTYPE the records key holds a ' .. t .. ', not a stream')\n"
    "  end\n"
    "end\n"
    "local out, acks = {}, {}\n"
    "for i = 0, n - 1 do\n"
    "  local s, d, a = KEYS[2 * i + 1], KEYS[2 * i + 2], 3 + 3 * i\n"
    /* SET NX is the check and the done-mark in one call: nil when it exists. */
    "  if redis.call('SET', d, '1', 'NX', 'EX', ARGV[2]) then\n"
    "    if rk then redis.call('XADD', rk, '*', 'id', ARGV[a + 2], 'record', ARGV[a + 3]) end\n"
    "    out[i + 1] = 1\n"
    "  else\n"
    "    out[i + 1] = 0\n"
    "  end\n"
    "  local l = acks[s]\n"
    "  if not l then l = {}; acks[s] = l end\n"
    "  l[#l + 1] = ARGV[a + 1]\n"
    "end\n"
    /* One XACK per stream for the whole call (at most 256 ids). */
    "for s, l in pairs(acks) do redis.call('XACK', s, ARGV[1], unpack(l)) end\n"
    "return out\n";

/* ---- the state shared by the threads (under |lock|) ----------------------------- */

typedef struct rec {
  struct rec *next;
  char *entry;  /* the stream entry to acknowledge */
  char *id;     /* the job id (the done-mark's) */
  char *json;   /* the record */
  size_t json_len;
} rec;

/* A job in flight: its id and the entry it came from; jobs of one id (the
 * same job enqueued twice) chain in |same| in the order they were submitted. */
typedef struct flight {
  hmap_node by_id;
  struct flight *same;
  char *entry;
  char id[];
} flight;

/* An entry in flight (so that a claimed entry this worker runs already is not
 * run twice here). */
typedef struct entry_node {
  hmap_node node;
  char id[];
} entry_node;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t more;
  rec *head, *tail;
  size_t bytes, n;
  int closing;
  hmap jobs;    /* flight by job id */
  hmap entries; /* entry_node by entry id */
  size_t in_flight;
  unsigned long long written, already, errors, lost;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER};

static atomic_int g_stop;   /* no new jobs (a signal, or the end) */
static atomic_int g_abort;  /* a second signal: give up waiting for Redis */
static atomic_int g_signals;
/* Redis refused a command for good (NOPERM: an ACL user without EVAL,
 * WRONGTYPE: a key of ours holding something else): no new jobs, exit 1. Left
 * going, a refused admission never started a job and said nothing, and refused
 * records had their jobs claimed and run again every --claim-idle forever. */
static atomic_int g_refused;
static guise_batch *g_b;
static pthread_mutex_t g_b_lock = PTHREAD_MUTEX_INITIALIZER;

#define PROG "guise batch"

/* An error reply that asking again will not change: the user may not run it
 * (NOPERM, NOAUTH), a key holds another type (WRONGTYPE), the command or script
 * is refused as such (ERR: an unknown or renamed EVAL, a script error).
 * Others (LOADING, BUSY, OOM, NOREPLICAS, MISCONF, READONLY...) are a state of
 * the server that may pass: asked again, or the jobs left pending, as before. */
static int reply_refusal(const redisReply *r) {
  static const char *const codes[] = {"NOPERM ", "NOAUTH ", "WRONGTYPE ", "ERR "};
  if (r == NULL || r->type != REDIS_REPLY_ERROR) return 0;
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (strncmp(r->str, codes[i], strlen(codes[i])) == 0) return 1;
  return 0;
}

/* Says |what| was refused with Redis' |text| (escaped) once, and stops new
 * jobs: those in flight end, and their entries, like the refused ones, stay
 * pending for the group. */
static void refused(const char *what, const char *text, size_t len) {
  if (atomic_exchange(&g_refused, 1)) return;
  char shown[200];
  guise_escape_text(text, len, shown, sizeof(shown));
  fprintf(stderr, "%s: %s refused by Redis: %s; stopping (the jobs stay pending)\n", PROG, what, shown);
  atomic_store(&g_stop, 1);
}

static char *dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

static entry_node *entry_find(const char *id) {
  uint64_t h = hmap_hash_str(id);
  for (hmap_node *n = hmap_chain(&S.entries, h); n; n = n->next)
    if (n->hash == h && strcmp(((entry_node *)(void *)n)->id, id) == 0) return (entry_node *)(void *)n;
  return NULL;
}

static flight *flight_find(const char *id) {
  uint64_t h = hmap_hash_str(id);
  for (hmap_node *n = hmap_chain(&S.jobs, h); n; n = n->next)
    if (n->hash == h && strcmp(((flight *)(void *)n)->id, id) == 0) return (flight *)(void *)n;
  return NULL;
}

/* Registers a job about to be submitted. 0, or -1 out of memory. Locked. */
static int flight_add(const char *id, const char *entry) {
  size_t il = strlen(id), el = strlen(entry);
  flight *f = calloc(1, sizeof(*f) + il + 1);
  entry_node *e = malloc(sizeof(*e) + el + 1);
  char *ecopy = dupn(entry, el);
  if (f == NULL || e == NULL || ecopy == NULL) goto fail;
  memcpy(f->id, id, il + 1);
  f->entry = ecopy;
  memcpy(e->id, entry, el + 1);
  if (hmap_insert(&S.entries, &e->node, hmap_hash_str(entry)) != 0) goto fail;
  flight *first = flight_find(id);
  if (first) {
    while (first->same) first = first->same;
    first->same = f;
  } else if (hmap_insert(&S.jobs, &f->by_id, hmap_hash_str(id)) != 0) {
    hmap_remove(&S.entries, &e->node);
    goto fail;
  }
  S.in_flight++;
  return 0;
fail:
  free(f);
  free(e);
  free(ecopy);
  return -1;
}

/* Takes the oldest flight of |id| out; its entry (the caller's to free) or
 * NULL. Locked. */
static char *flight_take(const char *id) {
  flight *f = flight_find(id);
  if (f == NULL) return NULL;
  hmap_remove(&S.jobs, &f->by_id);
  if (f->same && hmap_insert(&S.jobs, &f->same->by_id, hmap_hash_str(id)) != 0) {
    /* Cannot fail: the table has buckets already (an insert only grows them). */
  }
  char *entry = f->entry;
  entry_node *e = entry_find(entry);
  if (e) {
    hmap_remove(&S.entries, &e->node);
    free(e);
  }
  free(f);
  S.in_flight--;
  return entry;
}

/* Queues a record for the writer (the record and its id in one block with
 * the rec). Locked by the caller. */
static void push_rec(char *entry, const char *id, const char *json, size_t len) {
  size_t il = strlen(id);
  rec *r = malloc(sizeof(*r) + il + 1 + len + 1);
  if (r == NULL) {
    /* The entry stays pending: another worker (or this one, after
     * --claim-idle) runs the job again. */
    fprintf(stderr, "%s: out of memory for a record; its job stays pending\n", PROG);
    free(entry);
    S.lost++;
    return;
  }
  r->next = NULL;
  r->entry = entry;
  r->id = (char *)(r + 1);
  memcpy(r->id, id, il + 1);
  r->json = r->id + il + 1;
  memcpy(r->json, json, len);
  r->json[len] = '\0';
  r->json_len = len;
  if (S.tail) S.tail->next = r;
  else S.head = r;
  S.tail = r;
  S.bytes += len + strlen(id) + strlen(entry) + sizeof(*r);
  S.n++;
  pthread_cond_signal(&S.more);
}

static void on_record(void *arg, const char *json, size_t len, int err) {
  (void)arg, (void)err;
  char id[REDIS_MAX_ID + 8];
  pthread_mutex_lock(&S.lock);
  char *entry = guise_record_id(json, len, id, sizeof(id)) == 0 ? flight_take(id) : NULL;
  if (entry == NULL) {
    fprintf(stderr, "%s: a record whose job is not known here (internal error); not written\n", PROG);
    S.lost++;
  } else {
    push_rec(entry, id, json, len);
  }
  pthread_mutex_unlock(&S.lock);
}

/* The record of an entry that is not run (not a job): written as a job's. */
static void entry_error(const char *entry, const char *id, const char *why) {
  char buf[160 + 6 * (REDIS_MAX_ID + 300)];
  size_t n = guise_batch_record_error(buf, sizeof(buf), id, 0, why);
  pthread_mutex_lock(&S.lock);
  char *e = dupn(entry, strlen(entry));
  if (n && e) push_rec(e, id, buf, n);
  else free(e);
  pthread_mutex_unlock(&S.lock);
}

/* ---- the writer ------------------------------------------------------------------ */

typedef struct writer {
  rconn r;
  const char *jobs_key;      /* the stream's key (the reader's URL): done-marks */
  size_t jobs_key_len;
  char *const *streams;      /* the stream of each shard (the reader's) */
  const size_t *streams_len;
  const char *records_key;   /* NULL: |file| */
  size_t records_key_len;
  const char *group;
  FILE *file;                /* -o FILE or stdout, when not a stream */
  int file_failed;
} writer;

/* "<jobs key>:done:<job id>" into |k| (room for it and a NUL); its length. */
static size_t done_key_into(const writer *w, const char *id, char *k) {
  size_t il = strlen(id);
  memcpy(k, w->jobs_key, w->jobs_key_len);
  memcpy(k + w->jobs_key_len, ":done:", 6);
  memcpy(k + w->jobs_key_len + 6, id, il + 1);
  return w->jobs_key_len + 6 + il;
}

/* Runs the script for the |n| records (one call). 0; -1 when the connection
 * was lost, 1 when Redis said to try again (LOADING...): then every record is
 * sent again (the script is idempotent). */
static int write_batch(writer *w, rec **recs, int n) {
  redisContext *c = w->r.c;
  if (c == NULL) return -1;
  /* EVAL, script, numkeys, records stream, group, lifetime, flag */
  enum { FIXED = 7 };
  const char *argv[FIXED + 5 * REDIS_WRITE_BATCH];
  size_t lens[FIXED + 5 * REDIS_WRITE_BATCH];
  /* The done-mark keys of the call, in one buffer. */
  size_t arena_len = 0;
  for (int i = 0; i < n; i++) arena_len += w->jobs_key_len + 6 + strlen(recs[i]->id) + 1;
  char *arena = malloc(arena_len ? arena_len : 1), *at = arena;
  if (arena == NULL) {
    /* Out of memory: sent again later. (An empty key in place of the
     * done-marks would be one done-mark for every record of such a call, and
     * the next call's records would count as done without being written.) */
    usleep(100 * 1000);
    return 1;
  }
  char nkeys[16];
  snprintf(nkeys, sizeof(nkeys), "%d", 2 * n + (w->records_key ? 1 : 0));
  int k = 0;
#define ARG(s, l) (argv[k] = (s), lens[k++] = (l))
  ARG("EVAL", 4);
  ARG(write_script, sizeof(write_script) - 1);
  ARG(nkeys, strlen(nkeys));
  for (int i = 0; i < n; i++) {
    const char *eid;
    int sh = entry_shard(recs[i]->entry, &eid);
    ARG(w->streams[sh], w->streams_len[sh]);
    size_t dl = done_key_into(w, recs[i]->id, at);
    ARG(at, dl);
    at += dl + 1;
  }
  if (w->records_key) ARG(w->records_key, w->records_key_len);
  ARG(w->group, strlen(w->group));
  ARG(REDIS_DONE_TTL, strlen(REDIS_DONE_TTL));
  ARG(w->records_key ? "1" : "0", 1);
  for (int i = 0; i < n; i++) {
    const char *eid;
    entry_shard(recs[i]->entry, &eid);
    ARG(eid, strlen(eid));
    ARG(recs[i]->id, strlen(recs[i]->id));
    ARG(recs[i]->json, recs[i]->json_len);
  }
#undef ARG
  /* k is FIXED + 5 * n at most: the vectors' size. */
  redisReply *r = rconn_cmd(&w->r, k, argv, lens);
  free(arena);
  if (r == NULL) return -1; /* closed by rconn_cmd: r.why says why */
  if (rreply_transient(r)) {
    /* A restarted Redis loading its data: the whole batch again (a record
     * whose script did run finds its done-mark). */
    freeReplyObject(r);
    usleep(100 * 1000);
    return 1;
  }
  pthread_mutex_lock(&S.lock);
  if (r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n) {
    for (int i = 0; i < n; i++) {
      const redisReply *e = r->element[i];
      if (e->type == REDIS_REPLY_INTEGER && e->integer == 1) S.written++;
      else S.already++;
    }
  } else if (reply_refusal(r)) {
    S.errors += (unsigned long long)n;
    refused("writing the records", r->str, r->len);
  } else {
    S.errors += (unsigned long long)n;
    char shown[200];
    guise_escape_text(r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply",
                      r->type == REDIS_REPLY_ERROR ? r->len : 16, shown, sizeof(shown));
    fprintf(stderr, "%s: writing the records of %d jobs (%s...) refused by Redis: %s (the jobs stay pending)\n",
            PROG, n, recs[0]->entry, shown);
  }
  pthread_mutex_unlock(&S.lock);
  freeReplyObject(r);
  return 0;
}

static void *writer_main(void *arg) {
  writer *w = arg;
  rec *batch[REDIS_WRITE_BATCH];
  for (;;) {
    pthread_mutex_lock(&S.lock);
    while (S.head == NULL && !S.closing) pthread_cond_wait(&S.more, &S.lock);
    int n = 0;
    size_t call_bytes = 0;
    while (S.head && n < REDIS_WRITE_BATCH && call_bytes < REDIS_WRITE_BYTES) {
      call_bytes += S.head->json_len;
      batch[n++] = S.head;
      S.head = S.head->next;
    }
    if (S.head == NULL) S.tail = NULL;
    int closing = S.closing;
    pthread_mutex_unlock(&S.lock);
    if (n == 0 && closing) break;
    /* To a file first (flushed), then the done-mark and the XACK: a crash
     * between the two runs the job again (docs/REDIS.md: at least once). */
    if (w->file && !w->file_failed) {
      for (int i = 0; i < n; i++)
        if (fwrite(batch[i]->json, 1, batch[i]->json_len, w->file) != batch[i]->json_len ||
            fputc('\n', w->file) == EOF)
          w->file_failed = errno ? errno : EIO;
      if (!w->file_failed && fflush(w->file) != 0) w->file_failed = errno ? errno : EIO;
      if (w->file_failed) {
        fprintf(stderr, "%s: writing the records: %s; stopping (the jobs stay pending)\n", PROG,
                strerror(w->file_failed));
        atomic_store(&g_stop, 1);
      }
    }
    if (!w->file_failed) {
      char note[96];
      for (;;) {
        if (w->r.c == NULL) {
          pthread_mutex_lock(&S.lock);
          snprintf(note, sizeof(note), "%zu records buffered (%zu KiB)", S.n, S.bytes >> 10);
          pthread_mutex_unlock(&S.lock);
          if (rconn_reopen(&w->r, &g_abort, note) != 0) break;
        }
        if (write_batch(w, batch, n) == 0) break;
        if (atomic_load(&g_abort)) break;
      }
    }
    pthread_mutex_lock(&S.lock);
    for (int i = 0; i < n; i++) {
      S.bytes -= batch[i]->json_len + strlen(batch[i]->id) + strlen(batch[i]->entry) + sizeof(rec);
      S.n--;
      free(batch[i]->entry); /* its id and record are in its block */
      free(batch[i]);
    }
    pthread_mutex_unlock(&S.lock);
  }
  return NULL;
}

/* ---- politeness across the group ------------------------------------------------- */

/* --per-host and --per-host-rate held in Redis for the whole group, asked by
 * the engine before each attempt (guise_batch_options.admit) on the worker's
 * loop thread: one round trip on a connection of that thread's own.
 * KEYS[1] the host's slots (a sorted set: holder -> expiry, ms), KEYS[2] its
 * token bucket (a hash: tokens, ts). ARGV: per_host (0: none), rate per s (0:
 * none), the lease (ms), the holder. 0: start (a slot taken, a token spent);
 * else the ms to wait. Slots expire after the lease, so a dead worker's come
 * back; the bucket is as the engine's own (a burst of max(1, rate / 10)), on
 * Redis' clock (TIME), shared by every worker. */
static const char admit_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local per = tonumber(ARGV[1])\n"
    "local rate = tonumber(ARGV[2])\n"
    "local lease = tonumber(ARGV[3])\n"
    "if per > 0 then\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "  if redis.call('ZCARD', KEYS[1]) >= per then return 10 end\n"
    "end\n"
    "if rate > 0 then\n"
    "  local burst = math.max(1, rate / 10)\n"
    "  local b = redis.call('HMGET', KEYS[2], 'tokens', 'ts')\n"
    "  local tokens = tonumber(b[1]) or 1\n"
    "  local ts = tonumber(b[2]) or now\n"
    "  if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end\n"
    "  if tokens < 1 then\n"
    "    redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'ts', now)\n"
    "    redis.call('PEXPIRE', KEYS[2], 3600000)\n"
    "    return math.max(1, math.ceil((1 - tokens) * 1000 / rate))\n"
    "  end\n"
    "  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'ts', now)\n"
    "  redis.call('PEXPIRE', KEYS[2], 3600000)\n"
    "end\n"
    "if per > 0 then\n"
    "  redis.call('ZADD', KEYS[1], now + lease, ARGV[4])\n"
    "  redis.call('PEXPIRE', KEYS[1], lease + 1000)\n"
    "end\n"
    "return 0\n";

/* The engine asks on its worker loops, which must not wait for Redis: the
 * asking is a table lookup. A host without a grant is queued for the
 * admission thread and the engine asks again in 1 ms; the thread sends every
 * queued request (and every slot to give back) in one pipeline on its own
 * connection, and puts each answer in the table: a grant (the slot taken, the
 * token spent, with its ticket) for the next ask of that host, or the time
 * before which it is not asked again. A grant not taken within
 * ADMIT_GRANT_TTL_S (the job was stopped) is given back. */
#define ADMIT_GRANT_TTL_S 1.0
/* A host not asked about for this long leaves the table (a crawl of many hosts
 * does not keep one entry per host it ever saw). */
#define ADMIT_HOST_IDLE_S 60.0
#define ADMIT_PIPELINE 256

typedef struct adm_host {
  hmap_node node;
  struct adm_host *all;       /* every host, for the sweep and the end */
  int asked;                  /* a request queued or in flight */
  unsigned long long grant;   /* granted, not yet taken: its ticket (0: none) */
  double granted_at, retry_at, used;
  char name[];
} adm_host;

typedef struct adm_op {
  struct adm_op *next;
  adm_host *h;                /* a request for |h|, or NULL: a release */
  unsigned long long ticket;
  char host[];                /* a release's host */
} adm_op;

typedef struct admission {
  const char *url;       /* the jobs' address */
  const char *key;       /* the jobs stream's key: the prefix of ours */
  size_t key_len;
  const char *consumer;
  char per_host[16], rate[32], lease[24];
  unsigned long long next_ticket;
  pthread_mutex_t lock;
  pthread_cond_t more;
  hmap hosts;
  adm_host *all;
  adm_op *head, *tail;
  int closing, down, running;
  int error_said;        /* an error reply that may pass (OOM...) said once */
  atomic_int stop;
  pthread_t thread;
  rconn r;
} admission;

static double now_s(void);
static admission *g_ad; /* set while the admission thread runs */

static adm_host *adm_find(admission *ad, const char *host, double now) {
  uint64_t hh = hmap_hash_str(host);
  for (hmap_node *n = hmap_chain(&ad->hosts, hh); n; n = n->next)
    if (n->hash == hh && strcmp(((adm_host *)(void *)n)->name, host) == 0) {
      ((adm_host *)(void *)n)->used = now;
      return (adm_host *)(void *)n;
    }
  size_t len = strlen(host);
  adm_host *h = calloc(1, sizeof(*h) + len + 1);
  if (h == NULL) return NULL;
  memcpy(h->name, host, len + 1);
  if (hmap_insert(&ad->hosts, &h->node, hh) != 0) {
    free(h);
    return NULL;
  }
  h->all = ad->all;
  h->used = now;
  ad->all = h;
  return h;
}

/* Queues an op. Locked. 0, or -1 out of memory. */
static int adm_push(admission *ad, adm_host *h, const char *host, unsigned long long ticket) {
  size_t len = h ? 0 : strlen(host);
  adm_op *op = calloc(1, sizeof(*op) + len + 1);
  if (op == NULL) return -1;
  op->h = h;
  op->ticket = ticket;
  if (!h) memcpy(op->host, host, len + 1);
  if (ad->tail) ad->tail->next = op;
  else ad->head = op;
  ad->tail = op;
  pthread_cond_signal(&ad->more);
  return 0;
}

static unsigned admit_cb(void *arg, const char *host, unsigned long long *ticket) {
  admission *ad = arg;
  unsigned wait = 1;
  double now = now_s();
  pthread_mutex_lock(&ad->lock);
  adm_host *h = adm_find(ad, host, now);
  if (h == NULL) {
    wait = 500; /* out of memory: later */
  } else if (h->grant) {
    *ticket = h->grant;
    h->grant = 0;
    wait = 0;
  } else if (now < h->retry_at) {
    double ms = (h->retry_at - now) * 1000;
    wait = ms < 1 ? 1 : ms > 60000 ? 60000 : (unsigned)ms;
  } else if (!h->asked) {
    if (adm_push(ad, h, NULL, ++ad->next_ticket) == 0) h->asked = 1;
    else wait = 500;
  }
  /* Redis away: no new starts; asked again in 0.5 s (not spun on). */
  if (wait && ad->down) wait = 500;
  pthread_mutex_unlock(&ad->lock);
  return wait;
}

/* The reader, as it hands a job to the engine: its host's grant is asked for
 * now (one pipeline for the hosts of a read), so that the engine's ask finds
 * it waiting instead of asking and waiting a round trip per host in turn. A
 * grant not taken is given back after ADMIT_GRANT_TTL_S (a token spent for
 * nothing: the rate stays under the limit). */
static void admit_prefetch(admission *ad, const char *const *urls, size_t n) {
  double now = now_s();
  pthread_mutex_lock(&ad->lock); /* all queued before the thread takes any: one pipeline */
  for (size_t i = 0; i < n && !ad->down; i++) {
    char host[300];
    bsched_host_key(urls[i], host, sizeof(host)); /* the engine's key */
    adm_host *h = adm_find(ad, host, now);
    if (h && !h->grant && !h->asked && now >= h->retry_at && adm_push(ad, h, NULL, ++ad->next_ticket) == 0)
      h->asked = 1;
  }
  pthread_mutex_unlock(&ad->lock);
}

static void release_cb(void *arg, const char *host, unsigned long long ticket) {
  admission *ad = arg;
  if (ad->per_host[0] == '0') return; /* no slots taken */
  pthread_mutex_lock(&ad->lock);
  if (adm_push(ad, NULL, host, ticket) != 0) {
    /* Out of memory: the slot comes back with its lease. */
  }
  pthread_mutex_unlock(&ad->lock);
}

/* "<jobs key>:host:<what>:<host>" */
static size_t host_key(const admission *ad, const char *what, const char *host, char *out, size_t cap) {
  int n = snprintf(out, cap, "%.*s:host:%s:%s", (int)ad->key_len, ad->key, what, host);
  return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Appends |op|'s command to the connection's output (not sent yet). 0, -1. */
static int adm_append(admission *ad, const adm_op *op) {
  char sem[REDIS_KEY_MAX + 300], bucket[REDIS_KEY_MAX + 300], holder[340];
  const char *host = op->h ? op->h->name : op->host;
  snprintf(holder, sizeof(holder), "%s:%llu", ad->consumer, op->ticket);
  rargs a = {0};
  if (op->h) {
    rargs_add(&a, "EVAL");
    rargs_add(&a, admit_script);
    rargs_add(&a, "2");
    rargs_addn(&a, sem, host_key(ad, "slots", host, sem, sizeof(sem)));
    rargs_addn(&a, bucket, host_key(ad, "rate", host, bucket, sizeof(bucket)));
    rargs_add(&a, ad->per_host);
    rargs_add(&a, ad->rate);
    rargs_add(&a, ad->lease);
    rargs_add(&a, holder);
  } else {
    rargs_add(&a, "ZREM");
    rargs_addn(&a, sem, host_key(ad, "slots", host, sem, sizeof(sem)));
    rargs_add(&a, holder);
  }
  return redisAppendCommandArgv(ad->r.c, a.n, a.v, a.len) == REDIS_OK ? 0 : -1;
}

static void *admission_main(void *arg) {
  admission *ad = arg;
  adm_op *batch[ADMIT_PIPELINE];
  double last_sweep = now_s(), last_prune = last_sweep;
  for (;;) {
    pthread_mutex_lock(&ad->lock);
    if (ad->head == NULL && !ad->closing) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 200 * 1000000L;
      if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
      pthread_cond_timedwait(&ad->more, &ad->lock, &until);
    }
    /* Grants nobody took (their jobs were stopped): given back. */
    double now = now_s();
    if (now - last_sweep >= ADMIT_GRANT_TTL_S / 2) {
      last_sweep = now;
      for (adm_host *h = ad->all; h; h = h->all)
        if (h->grant && now - h->granted_at > ADMIT_GRANT_TTL_S) {
          if (ad->per_host[0] != '0') adm_push(ad, NULL, h->name, h->grant);
          h->grant = 0;
        }
    }
    if (now - last_prune >= ADMIT_HOST_IDLE_S / 6) {
      last_prune = now;
      for (adm_host **pp = &ad->all; *pp;) {
        adm_host *h = *pp;
        if (!h->asked && !h->grant && now - h->used > ADMIT_HOST_IDLE_S && now >= h->retry_at) {
          *pp = h->all;
          hmap_remove(&ad->hosts, &h->node);
          free(h);
        } else {
          pp = &h->all;
        }
      }
    }
    int n = 0;
    while (ad->head && n < ADMIT_PIPELINE) {
      batch[n++] = ad->head;
      ad->head = ad->head->next;
    }
    if (ad->head == NULL) ad->tail = NULL;
    int closing = ad->closing;
    pthread_mutex_unlock(&ad->lock);
    if (n == 0) {
      if (closing) break;
      continue;
    }
    if (ad->r.c == NULL) {
      pthread_mutex_lock(&ad->lock);
      ad->down = 1;
      pthread_mutex_unlock(&ad->lock);
      if (closing || rconn_reopen(&ad->r, &ad->stop, "no job starts under --per-host/--per-host-rate meanwhile") != 0) {
        for (int i = 0; i < n; i++) free(batch[i]); /* the end: slots come back with their leases */
        if (closing) continue;
        break;
      }
      pthread_mutex_lock(&ad->lock);
      ad->down = 0;
      pthread_mutex_unlock(&ad->lock);
    }
    /* One pipeline: every command written, then every reply read. */
    int sent = 0;
    while (sent < n && adm_append(ad, batch[sent]) == 0) sent++;
    redisReply *rep[ADMIT_PIPELINE];
    int got = 0;
    while (got < sent) {
      void *r = NULL;
      if (redisGetReply(ad->r.c, &r) != REDIS_OK || r == NULL) break;
      rep[got++] = r;
    }
    if (got < n) {
      snprintf(ad->r.why, sizeof(ad->r.why), "%s", ad->r.c->errstr[0] ? ad->r.c->errstr : "connection lost");
      rconn_close(&ad->r);
    } else if (ad->r.out && got) {
      /* A reply after a reconnection: rconn_cmd would say so; said here. */
      redisReply *ping = rconn_cmd(&ad->r, 1, (const char *[]){"PING"}, (const size_t[]){4});
      if (ping) freeReplyObject(ping);
    }
    char refusal[200], other[200];
    size_t refusal_len = 0, other_len = 0;
    pthread_mutex_lock(&ad->lock);
    double t = now_s();
    for (int i = 0; i < n; i++) {
      adm_op *op = batch[i];
      if (i >= got) {
        /* Not answered (the connection was lost): asked again after the
         * reconnection; a release then too. */
        op->next = NULL;
        if (ad->tail) ad->tail->next = op;
        else ad->head = op;
        ad->tail = op;
        continue;
      }
      if (reply_refusal(rep[i]) && refusal_len == 0) {
        refusal_len = rep[i]->len < sizeof(refusal) ? rep[i]->len : sizeof(refusal);
        memcpy(refusal, rep[i]->str, refusal_len);
      } else if (rep[i]->type == REDIS_REPLY_ERROR && !rreply_transient(rep[i]) && !ad->error_said) {
        /* OOM, NOREPLICAS...: asked again, but said (no job starts meanwhile). */
        ad->error_said = 1;
        other_len = rep[i]->len < sizeof(other) ? rep[i]->len : sizeof(other);
        memcpy(other, rep[i]->str, other_len);
      }
      if (op->h) {
        op->h->asked = 0;
        if (rep[i]->type == REDIS_REPLY_INTEGER && rep[i]->integer == 0) {
          op->h->grant = op->ticket;
          op->h->granted_at = t;
        } else {
          long long ms = rep[i]->type == REDIS_REPLY_INTEGER ? rep[i]->integer : 200; /* LOADING...: later */
          op->h->retry_at = t + (double)(ms < 1 ? 1 : ms > 60000 ? 60000 : ms) / 1000;
        }
      }
      freeReplyObject(rep[i]);
      free(op);
    }
    pthread_mutex_unlock(&ad->lock);
    if (other_len) {
      char shown[200];
      guise_escape_text(other, other_len, shown, sizeof(shown));
      fprintf(stderr, "%s: the group's admission (--per-host, --per-host-rate): Redis answers %s; asked again "
                      "(no job starts meanwhile)\n", PROG, shown);
    }
    if (refusal_len) {
      /* No job would ever be admitted: stopped, not left waiting in silence
       * (the reader may be held in guise_batch_submit by those jobs). */
      refused("the group's admission (--per-host, --per-host-rate)", refusal, refusal_len);
      pthread_mutex_lock(&g_b_lock);
      if (g_b) guise_batch_stop(g_b, 0);
      pthread_mutex_unlock(&g_b_lock);
    }
  }
  return NULL;
}

/* ---- signals ------------------------------------------------------------------------ */

/* Ends the admission thread (after the workers: the slots they gave back are
 * sent first) and frees its table. */
static void admission_end(admission *ad) {
  if (!ad->running) return;
  g_ad = NULL;
  pthread_mutex_lock(&ad->lock);
  ad->closing = 1;
  atomic_store(&ad->stop, 1);
  pthread_cond_signal(&ad->more);
  pthread_mutex_unlock(&ad->lock);
  pthread_join(ad->thread, NULL);
  rconn_close(&ad->r);
  for (adm_host *h = ad->all, *next; h; h = next) {
    next = h->all;
    free(h);
  }
  ad->all = NULL;
  hmap_free(&ad->hosts);
  ad->running = 0;
}

static void *signal_main(void *arg) {
  sigset_t *set = arg;
  for (;;) {
    int sig;
    if (sigwait(set, &sig) != 0) continue;
    int n = atomic_fetch_add(&g_signals, 1) + 1;
    pthread_mutex_lock(&g_b_lock);
    if (n == 1) {
      fprintf(stderr, "\n%s: stopping: no new jobs; requests in flight finish, their records are written "
                      "(again to cancel them)\n", PROG);
      atomic_store(&g_stop, 1);
      if (g_b) guise_batch_stop(g_b, 0);
    } else if (n == 2) {
      fprintf(stderr, "%s: cancelling the requests in flight; their jobs stay pending for the group\n", PROG);
      atomic_store(&g_abort, 1);
      if (g_b) guise_batch_stop(g_b, 1);
    } else {
      _exit(130);
    }
    pthread_mutex_unlock(&g_b_lock);
  }
  return NULL;
}

/* ---- the reader --------------------------------------------------------------------- */

typedef struct reader {
  rconn r;
  const char *key;           /* the address's key: done-marks, shards, admission */
  size_t key_len;
  int n_streams, home;       /* 1 and 0 unsharded; else guise enqueue --shards' K */
  uint64_t owned;            /* sharded: the shards read as home (bit i: shard i) */
  double last_lease, last_orphans;
  char *stream[REDIS_MAX_SHARDS]; /* KEY, or KEY:shard:I */
  size_t stream_len[REDIS_MAX_SHARDS];
  const char *group, *consumer, *noproxy;
  int env_proxy;             /* no -x, and the environment names a proxy */
  char claim_ms[24];
  guise_batch *b;
  size_t max_in_flight;
  int buffer_said;
} reader;

static redisReply *cmd(reader *rd, rargs *a) {
  return rconn_cmd(&rd->r, a->n, a->v, a->len);
}

/* XGROUP CREATE ... 0 MKSTREAM: every entry already in the stream is for the
 * group. 0, or -1 (connection lost, or refused: message printed, *fatal). */
static int create_group1(reader *rd, int sh, int *fatal);

static int create_group(reader *rd, int *fatal) {
  for (int i = 0; i < rd->n_streams; i++)
    if (create_group1(rd, i, fatal) != 0) return -1;
  return 0;
}

static int create_group1(reader *rd, int sh, int *fatal) {
  rargs a = {0};
  rargs_add(&a, "XGROUP");
  rargs_add(&a, "CREATE");
  rargs_addn(&a, rd->stream[sh], rd->stream_len[sh]);
  rargs_add(&a, rd->group);
  rargs_add(&a, "0");
  rargs_add(&a, "MKSTREAM");
  redisReply *rep = cmd(rd, &a);
  if (rep == NULL) return -1;
  if (rreply_transient(rep)) {
    freeReplyObject(rep);
    usleep(100 * 1000);
    return -1; /* not fatal: asked again */
  }
  int bad = rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "BUSYGROUP", 9) != 0;
  if (bad) {
    char shown[200];
    guise_escape_text(rep->str, rep->len, shown, sizeof(shown));
    fprintf(stderr, "%s: XGROUP CREATE on %s refused: %s\n", PROG, rd->r.shown, shown);
    *fatal = 1;
  }
  freeReplyObject(rep);
  return bad ? -1 : 0;
}

static void ack(reader *rd, const char *entry) {
  const char *eid;
  int sh = entry_shard(entry, &eid);
  rargs a = {0};
  rargs_add(&a, "XACK");
  rargs_addn(&a, rd->stream[sh], rd->stream_len[sh]);
  rargs_add(&a, rd->group);
  rargs_add(&a, eid);
  redisReply *rep = cmd(rd, &a);
  if (rep) freeReplyObject(rep);
}

/* Whether |id|'s done-mark exists: 1, 0, or -1 (connection lost). */
static int is_done(reader *rd, const char *id) {
  size_t il = strlen(id);
  char *k = malloc(rd->key_len + 6 + il + 1);
  if (k == NULL) return 0;
  memcpy(k, rd->key, rd->key_len);
  memcpy(k + rd->key_len, ":done:", 6);
  memcpy(k + rd->key_len + 6, id, il + 1);
  rargs a = {0};
  rargs_add(&a, "EXISTS");
  rargs_addn(&a, k, rd->key_len + 6 + il);
  redisReply *rep = cmd(rd, &a);
  free(k);
  if (rep == NULL) return -1;
  int done = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
  freeReplyObject(rep);
  return done;
}

/* One stream entry: [id, [field, value, ...] | nil]. Returns -1 when the
 * connection was lost (the entry stays pending: claimed later), else 0. */
/* The name this process keeps |ent| under (entry_shard) into |out| (80
 * bytes): 0, or -1 when it is not an entry. */
static int entry_name(const reader *rd, const redisReply *ent, int sh, char *out) {
  if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 || ent->element[0]->type != REDIS_REPLY_STRING ||
      ent->element[0]->len >= 64)
    return -1;
  if (rd->n_streams > 1) snprintf(out, 80, "%d/%.*s", sh, (int)ent->element[0]->len, ent->element[0]->str);
  else snprintf(out, 80, "%.*s", (int)ent->element[0]->len, ent->element[0]->str);
  return 0;
}

/* An entry of a read, parsed once: the MGET of the done-marks and the run
 * both use it. */
enum { P_SKIP, P_JOB, P_BLANK, P_BAD, P_NOFIELD, P_DELETED };
typedef struct parsed {
  int state;
  char entry[80];           /* the name this process keeps it under */
  guise_job job;            /* P_JOB: its id is the job's or the entry */
  guise_job_store *store;
  char *err;                /* P_BAD: why (NULL: out of memory) */
  signed char done;         /* the done-mark: 1, 0, -1 not asked */
} parsed;

static void parse_entry(const reader *rd, const redisReply *ent, int sh, parsed *p) {
  memset(p, 0, sizeof(*p));
  p->done = -1;
  if (entry_name(rd, ent, sh, p->entry) != 0) return; /* P_SKIP */
  const redisReply *fields = ent->element[1];
  if (fields->type != REDIS_REPLY_ARRAY) { /* deleted from the stream while pending */
    p->state = P_DELETED;
    return;
  }
  const redisReply *line = rreply_field(fields, "job");
  if (line == NULL || line->type != REDIS_REPLY_STRING) {
    p->state = P_NOFIELD;
    return;
  }
  char err[256];
  int k = guise_job_parse(line->str, line->len, &p->job, &p->store, err, sizeof(err));
  if (k == 1) {
    p->state = P_BLANK;
  } else if (k != 0) {
    p->state = P_BAD;
    p->err = dupn(err, strlen(err));
  } else {
    p->state = P_JOB;
    /* A job without an id is known by its entry: stable across redeliveries. */
    if (p->job.id == NULL) p->job.id = p->entry;
    p->job.line = 0;
  }
}

static void parsed_free(parsed *p) {
  guise_job_free(p->store);
  free(p->err);
}

/* The done-marks of the jobs of |ps|, asked in one MGET (one round trip, one
 * command): ps[i].done 1 or 0, -1 where not asked (not a job, or an error
 * reply: asked again one by one). 0, or -1 when the connection was lost. */
static int prefetch_done(reader *rd, parsed *ps, size_t n) {
  size_t arena_len = 0; /* the keys, in one buffer */
  for (size_t i = 0; i < n; i++)
    if (ps[i].state == P_JOB) arena_len += rd->key_len + 6 + strlen(ps[i].job.id) + 1;
  char *arena = malloc(arena_len ? arena_len : 1), *at = arena;
  const char **argv = calloc(n + 1, sizeof(char *));
  size_t *lens = calloc(n + 1, sizeof(size_t));
  size_t *slot = calloc(n ? n : 1, sizeof(size_t)); /* the entry of each key */
  if (arena == NULL || argv == NULL || lens == NULL || slot == NULL) {
    free(arena), free(argv), free(lens), free(slot);
    return 0;
  }
  size_t k = 0;
  argv[0] = "MGET", lens[0] = 4;
  for (size_t i = 0; i < n; i++) {
    if (ps[i].state != P_JOB) continue;
    const char *id = ps[i].job.id;
    size_t il = strlen(id);
    char *key = at;
    at += rd->key_len + 6 + il + 1;
    memcpy(key, rd->key, rd->key_len);
    memcpy(key + rd->key_len, ":done:", 6);
    memcpy(key + rd->key_len + 6, id, il + 1);
    slot[k] = i;
    argv[k + 1] = key, lens[k + 1] = rd->key_len + 6 + il;
    k++;
  }
  int lost = 0;
  if (k) {
    redisReply *r = rconn_cmd(&rd->r, (int)k + 1, argv, lens);
    if (r == NULL) {
      lost = 1; /* closed by rconn_cmd */
    } else {
      if (r->type == REDIS_REPLY_ARRAY && r->elements == k)
        for (size_t j = 0; j < k; j++) ps[slot[j]].done = r->element[j]->type == REDIS_REPLY_STRING;
      freeReplyObject(r);
    }
  }
  free(arena), free(argv), free(lens), free(slot);
  return lost ? -1 : 0;
}

/* Runs (submits) one parsed entry, or acknowledges it, or writes its error
 * record. 0, or -1 when the connection was lost (the entry stays pending:
 * claimed later). */
static int take_entry(reader *rd, parsed *p) {
  if (p->state == P_SKIP) return 0;
  const char *entry = p->entry;
  pthread_mutex_lock(&S.lock);
  int mine = entry_find(entry) != NULL;
  pthread_mutex_unlock(&S.lock);
  if (mine) return 0; /* running here already (claimed back after --claim-idle) */
  switch (p->state) {
  case P_DELETED:
  case P_BLANK: /* blank or a comment: nothing to run */
    ack(rd, entry);
    return rd->r.c ? 0 : -1;
  case P_NOFIELD:
    entry_error(entry, entry, "the stream entry has no \"job\" field (guise enqueue writes one)");
    return 0;
  case P_BAD:
    entry_error(entry, entry, p->err ? p->err : "out of memory");
    return 0;
  default:
    break;
  }
  guise_job job = p->job;
  int done = p->done >= 0 ? p->done : is_done(rd, job.id);
  if (done < 0) return -1;
  if (done) {
    /* Its record exists (a redelivery after a crash between record and
     * acknowledgement, or the same job enqueued twice): acknowledged only. */
    ack(rd, entry);
    pthread_mutex_lock(&S.lock);
    S.already++;
    pthread_mutex_unlock(&S.lock);
    return rd->r.c ? 0 : -1;
  }
  /* No proxy named (by -x or the job): the environment's, as curl reads it. */
  if (job.proxy == NULL && rd->env_proxy) job.proxy = cli_proxy_from_env(job.url, rd->noproxy);
  pthread_mutex_lock(&S.lock);
  int added = flight_add(job.id, entry);
  pthread_mutex_unlock(&S.lock);
  if (added != 0) {
    fprintf(stderr, "%s: out of memory; stopping (the job stays pending)\n", PROG);
    atomic_store(&g_stop, 1);
    return 0;
  }
  int e = guise_batch_submit(rd->b, &job);
  if (e) {
    pthread_mutex_lock(&S.lock);
    char *ent_copy = flight_take(job.id);
    if (e != GUISE_E_CANCELLED && ent_copy) {
      char buf[160 + 6 * (REDIS_MAX_ID + 300)];
      size_t n = guise_batch_record_error(buf, sizeof(buf), job.id, 0, guise_strerror(e));
      if (n) push_rec(ent_copy, job.id, buf, n);
      else free(ent_copy);
    } else {
      free(ent_copy); /* stopped: stays pending for the group */
    }
    pthread_mutex_unlock(&S.lock);
  }
  return 0;
}

/* The entries of one XREADGROUP stream ([key, entries]) or XAUTOCLAIM reply.
 * The id of the last into |last| (for reading one's own pending history). */
static int take_entries(reader *rd, const redisReply *entries, int sh, char *last, size_t cap, size_t *n) {
  *n = 0;
  if (entries == NULL || entries->type != REDIS_REPLY_ARRAY) return 0;
  size_t count = entries->elements;
  parsed *ps = malloc((count ? count : 1) * sizeof(parsed));
  if (ps == NULL) return 0; /* stays pending: claimed later */
  for (size_t i = 0; i < count; i++) parse_entry(rd, entries->element[i], sh, &ps[i]);
  int rc = prefetch_done(rd, ps, count);
  if (rc == 0 && g_ad) {
    /* The group's admission for the hosts of the jobs about to run. */
    const char **urls = calloc(count ? count : 1, sizeof(char *));
    size_t nu = 0;
    for (size_t i = 0; urls && i < count; i++)
      if (ps[i].state == P_JOB && ps[i].done != 1) urls[nu++] = ps[i].job.url;
    if (urls) admit_prefetch(g_ad, urls, nu);
    free(urls);
  }
  for (size_t i = 0; rc == 0 && i < count && !atomic_load(&g_stop); i++) {
    const redisReply *ent = entries->element[i];
    if (take_entry(rd, &ps[i]) != 0) {
      rc = -1;
      break;
    }
    (*n)++;
    if (last && ent->type == REDIS_REPLY_ARRAY && ent->elements == 2 && ent->element[0]->type == REDIS_REPLY_STRING &&
        ent->element[0]->len < cap) {
      memcpy(last, ent->element[0]->str, ent->element[0]->len);
      last[ent->element[0]->len] = '\0';
    }
  }
  for (size_t i = 0; i < count; i++) parsed_free(&ps[i]);
  free(ps);
  return rc;
}

/* XAUTOCLAIM of entries idle longer than --claim-idle (a dead consumer's),
 * a few rounds. -1: connection lost. */
static int autoclaim1(reader *rd, int sh);

static int autoclaim(reader *rd) {
  for (int i = 0; i < rd->n_streams; i++)
    if (autoclaim1(rd, (rd->home + i) % rd->n_streams) != 0) return -1;
  return 0;
}

static int autoclaim1(reader *rd, int sh) {
  char cursor[64] = "0-0";
  for (int round = 0; round < 8 && !atomic_load(&g_stop); round++) {
    rargs a = {0};
    rargs_add(&a, "XAUTOCLAIM");
    rargs_addn(&a, rd->stream[sh], rd->stream_len[sh]);
    rargs_add(&a, rd->group);
    rargs_add(&a, rd->consumer);
    rargs_add(&a, rd->claim_ms);
    rargs_add(&a, cursor);
    rargs_add(&a, "COUNT");
    rargs_add(&a, "64");
    redisReply *rep = cmd(rd, &a);
    if (rep == NULL) return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[0]->len >= sizeof(cursor)) {
      freeReplyObject(rep);
      return 0;
    }
    memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
    cursor[rep->element[0]->len] = '\0';
    size_t n;
    int k = take_entries(rd, rep->element[1], sh, NULL, 0, &n);
    freeReplyObject(rep);
    if (k) return -1;
    if (n && !atomic_load(&g_stop)) fprintf(stderr, "%s: claimed %zu idle entries\n", PROG, n);
    if (strcmp(cursor, "0-0") == 0) break;
  }
  return 0;
}

/* The group's pending entries (XPENDING summary), -1 (connection lost) or -2
 * (an error reply). */
static long long group_pending(reader *rd) {
  long long sum = 0;
  for (int i = 0; i < rd->n_streams; i++) {
    rargs a = {0};
    rargs_add(&a, "XPENDING");
    rargs_addn(&a, rd->stream[i], rd->stream_len[i]);
    rargs_add(&a, rd->group);
    redisReply *rep = cmd(rd, &a);
    if (rep == NULL) return -1;
    /* An error (LOADING...) is not "nothing pending": -2, asked again later. */
    long long n = rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
                          rep->element[0]->type == REDIS_REPLY_INTEGER
                      ? rep->element[0]->integer
                      : -2;
    freeReplyObject(rep);
    if (n < 0) return n;
    sum += n;
  }
  return sum;
}

/* The shard of a stream key in a reply, or -1. */
static int shard_of(const reader *rd, const redisReply *key) {
  if (key->type != REDIS_REPLY_STRING) return -1;
  for (int i = 0; i < rd->n_streams; i++)
    if (key->len == rd->stream_len[i] && memcmp(key->str, rd->stream[i], key->len) == 0) return i;
  return -1;
}

/* XREADGROUP over the streams |sh|[0..n-1]: with |ids| (history, by shard) or
 * ">", |count| entries, blocking |block_ms| (0: not). The reply (NULL:
 * connection lost). */
static redisReply *read_streams(reader *rd, const int *sh, int n, const char *const *ids, const char *count,
                                const char *block_ms) {
  const char *argv[10 + 2 * REDIS_MAX_SHARDS];
  size_t lens[10 + 2 * REDIS_MAX_SHARDS];
  int k = 0;
#define ARG(s, l) (argv[k] = (s), lens[k++] = (l))
  ARG("XREADGROUP", 10);
  ARG("GROUP", 5);
  ARG(rd->group, strlen(rd->group));
  ARG(rd->consumer, strlen(rd->consumer));
  ARG("COUNT", 5);
  ARG(count, strlen(count));
  if (block_ms) {
    ARG("BLOCK", 5);
    ARG(block_ms, strlen(block_ms));
  }
  ARG("STREAMS", 7);
  for (int i = 0; i < n; i++) ARG(rd->stream[sh[i]], rd->stream_len[sh[i]]);
  for (int i = 0; i < n; i++) ARG(ids ? ids[sh[i]] : ">", ids ? strlen(ids[sh[i]]) : 1);
#undef ARG
  return rconn_cmd(&rd->r, k, argv, lens);
}

/* The shards of |mask| into |out| (the home first, then in turn from it):
 * their count. */
static int shard_list(const reader *rd, uint64_t mask, int *out) {
  int n = 0;
  for (int i = 0; i < rd->n_streams; i++) {
    int sh = (rd->home + i) % rd->n_streams;
    if (mask & ((uint64_t)1 << sh)) out[n++] = sh;
  }
  return n;
}

/* "KEY:shard:I:owner" into |out|. */
static size_t owner_key(const reader *rd, int sh, char *out, size_t cap) {
  int n = snprintf(out, cap, "%.*s:owner", (int)rd->stream_len[sh], rd->stream[sh]);
  return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Renews the leases of the shards this worker reads as its own. -1:
 * connection lost. */
static int renew_leases(reader *rd) {
  int sh[REDIS_MAX_SHARDS];
  int n = shard_list(rd, rd->owned, sh);
  for (int i = 0; i < n; i++) {
    char k[REDIS_KEY_MAX + 40];
    rargs a = {0};
    rargs_add(&a, "SET");
    rargs_addn(&a, k, owner_key(rd, sh[i], k, sizeof(k)));
    rargs_add(&a, rd->consumer);
    rargs_add(&a, "PX");
    rargs_add(&a, REDIS_LEASE_MS);
    redisReply *rep = cmd(rd, &a);
    if (rep == NULL) return -1;
    freeReplyObject(rep);
  }
  return 0;
}

/* Adopts the shards whose lease has lapsed (SET NX: one worker each). The
 * number adopted, or -1: connection lost. */
static int adopt_orphans(reader *rd) {
  int adopted = 0;
  for (int sh = 0; sh < rd->n_streams; sh++) {
    if (rd->owned & ((uint64_t)1 << sh)) continue;
    char k[REDIS_KEY_MAX + 40];
    rargs a = {0};
    rargs_add(&a, "SET");
    rargs_addn(&a, k, owner_key(rd, sh, k, sizeof(k)));
    rargs_add(&a, rd->consumer);
    rargs_add(&a, "NX");
    rargs_add(&a, "PX");
    rargs_add(&a, REDIS_LEASE_MS);
    redisReply *rep = cmd(rd, &a);
    if (rep == NULL) return -1;
    if (rep->type == REDIS_REPLY_STATUS) { /* OK: nobody held it */
      rd->owned |= (uint64_t)1 << sh;
      adopted++;
      fprintf(stderr, "%s: shard %d has no live worker: read here as home from now on\n", PROG, sh);
    }
    freeReplyObject(rep);
  }
  return adopted;
}

/* The entries of an XREADGROUP reply ([[key, entries], ...]). -1: connection
 * lost. |last| (history): the id of the last entry of stream |hist|. */
static int take_read(reader *rd, const redisReply *rep, size_t *n, int hist, char *last, size_t cap) {
  *n = 0;
  if (rep->type != REDIS_REPLY_ARRAY) return 0;
  for (size_t i = 0; i < rep->elements; i++) {
    const redisReply *st = rep->element[i];
    if (st->type != REDIS_REPLY_ARRAY || st->elements != 2) continue;
    int sh = shard_of(rd, st->element[0]);
    if (sh < 0) continue;
    size_t got = 0;
    int k = take_entries(rd, st->element[1], sh, sh == hist ? last : NULL, cap, &got);
    *n += got;
    if (k) return -1;
  }
  return 0;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void progress_line(guise_batch *b, double t0, int live) {
  guise_batch_stats st;
  guise_batch_stats_get(b, &st);
  pthread_mutex_lock(&S.lock);
  unsigned long long written = S.written, already = S.already, errors = S.errors;
  size_t buffered = S.n;
  pthread_mutex_unlock(&S.lock);
  double t = now_s() - t0;
  char line[320];
  snprintf(line, sizeof(line),
           "%llu done, %.0f/s, ok %llu, failed %llu, in flight %llu; records written %llu, already done %llu, "
           "buffered %zu%s",
           st.done, t > 0 ? (double)st.done / t : 0.0, st.ok, st.failed, st.in_flight, written, already, buffered,
           errors ? ", Redis errors" : "");
  if (live) fprintf(stderr, "\r\033[K%s", line);
  else fprintf(stderr, "%s: %s\n", PROG, line);
}

int redis_batch_run(guise_batch_options *o, const redis_batch_args *a) {
  reader rd = {0};
  writer w = {0};
  if (rconn_init(&rd.r, PROG, a->input) != 0) return EXIT_USAGE;
  rd.key = rd.r.url.key;
  rd.key_len = rd.r.url.key_len;
  rd.group = a->group ? a->group : REDIS_GROUP_DEFAULT;
  rd.noproxy = a->noproxy;
  rd.env_proxy = o->proxy == NULL && cli_env_names_proxy();
  char consumer[300];
  if (a->consumer) {
    snprintf(consumer, sizeof(consumer), "%s", a->consumer);
  } else {
    char host[256] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(consumer, sizeof(consumer), "%s-%ld", host, (long)getpid());
  }
  rd.consumer = consumer;
  snprintf(rd.claim_ms, sizeof(rd.claim_ms), "%u", a->claim_idle_ms ? a->claim_idle_ms : REDIS_CLAIM_DEFAULT_MS);
  double claim_every = (a->claim_idle_ms ? a->claim_idle_ms : REDIS_CLAIM_DEFAULT_MS) / 2000.0;

  /* Where the records go: a stream of the same server and database (one
   * script writes the record and acknowledges the job), or a file. */
  w.jobs_key = rd.key;
  w.jobs_key_len = rd.key_len;
  w.group = rd.group;
  if (rconn_init(&w.r, PROG, a->input) != 0) return EXIT_USAGE;
  if (a->output && redis_url_is(a->output)) {
    rconn out;
    if (rconn_init(&out, PROG, a->output) != 0) return EXIT_USAGE;
    if (strcasecmp(out.url.host, rd.r.url.host) != 0 || out.url.port != rd.r.url.port ||
        (out.url.db < 0 ? 0 : out.url.db) != (rd.r.url.db < 0 ? 0 : rd.r.url.db)) {
      fprintf(stderr,
              "%s: -o %s: the records stream must be on the jobs' server and database (%s): the record, its "
              "done-mark and the XACK are one script\n",
              PROG, out.shown, rd.r.shown);
      return EXIT_USAGE;
    }
    static char records_key[REDIS_KEY_MAX + 1];
    memcpy(records_key, out.url.key, out.url.key_len + 1);
    w.records_key = records_key;
    w.records_key_len = out.url.key_len;
    if (w.records_key_len == rd.key_len && memcmp(records_key, rd.key, rd.key_len) == 0) {
      fprintf(stderr, "%s: -o %s is the jobs stream itself\n", PROG, out.shown);
      return EXIT_USAGE;
    }
  } else if (a->output) {
    w.file = fopen(a->output, "a");
    if (w.file == NULL) {
      fprintf(stderr, "%s: -o %s: %s\n", PROG, a->output, strerror(errno));
      return EXIT_FAILURE_GENERIC;
    }
  } else {
    w.file = stdout;
  }

  /* Unreachable at the start: a clear error, exit 1 (a worker started against
   * the wrong address should not wait forever). */
  if (rconn_open(&rd.r) != 0) {
    fprintf(stderr, "%s: cannot reach Redis %s: %s\n", PROG, rd.r.shown, rd.r.why);
    if (w.file && w.file != stdout) fclose(w.file);
    return EXIT_FAILURE_GENERIC;
  }
  /* A stream guise enqueue --shards K filled: KEY:shards says K, the jobs are
   * in KEY:shard:0 .. K-1 by host; this worker's home shard is its arrival
   * number (INCR KEY:workers) modulo K. */
  rd.n_streams = 1;
  rd.stream[0] = (char *)rd.key;
  rd.stream_len[0] = rd.key_len;
  {
    char k[REDIS_KEY_MAX + 16];
    snprintf(k, sizeof(k), "%.*s:shards", (int)rd.key_len, rd.key);
    rargs g = {0};
    rargs_add(&g, "GET");
    rargs_add(&g, k);
    redisReply *rep = cmd(&rd, &g);
    long shards = rep && rep->type == REDIS_REPLY_STRING ? strtol(rep->str, NULL, 10) : 0;
    if (rep) freeReplyObject(rep);
    if (shards > REDIS_MAX_SHARDS) {
      fprintf(stderr, "%s: %s says %ld shards: at most %d\n", PROG, rd.r.shown, shards, REDIS_MAX_SHARDS);
      rconn_close(&rd.r);
      return EXIT_FAILURE_GENERIC;
    }
    if (shards > 1) {
      for (int i = 0; i < shards; i++) {
        rd.stream[i] = malloc(rd.key_len + 24);
        if (rd.stream[i] == NULL) return EXIT_FAILURE_GENERIC;
        rd.stream_len[i] = (size_t)snprintf(rd.stream[i], rd.key_len + 24, "%.*s:shard:%d", (int)rd.key_len, rd.key, i);
      }
      rd.n_streams = (int)shards;
      snprintf(k, sizeof(k), "%.*s:workers", (int)rd.key_len, rd.key);
      rargs in = {0};
      rargs_add(&in, "INCR");
      rargs_add(&in, k);
      rep = cmd(&rd, &in);
      long long nth = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : 1;
      if (rep) freeReplyObject(rep);
      /* KEY:workers is Redis' to keep; one set below 1 by hand is read as 1
       * (a negative home shard would be a negative shift). */
      rd.home = (int)((nth < 1 ? 0 : nth - 1) % shards);
      rd.owned = (uint64_t)1 << rd.home;
    }
  }
  w.streams = rd.stream;
  w.streams_len = rd.stream_len;
  int fatal = 0;
  if (create_group(&rd, &fatal) != 0) {
    if (!fatal) fprintf(stderr, "%s: Redis %s: %s\n", PROG, rd.r.shown, rd.r.why);
    rconn_close(&rd.r);
    if (w.file && w.file != stdout) fclose(w.file);
    return EXIT_FAILURE_GENERIC;
  }
  if (rconn_open(&w.r) != 0) w.r.c = NULL; /* the writer reconnects when it has work */

  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  pthread_t sig_thread;
  pthread_create(&sig_thread, NULL, signal_main, &set);
  pthread_detach(sig_thread);
  struct timespec seed;
  clock_gettime(CLOCK_REALTIME, &seed);
  srand((unsigned)(seed.tv_nsec ^ getpid()));

  hmap_init(&S.jobs);
  hmap_init(&S.entries);
  o->on_record = on_record;
  /* --per-host and --per-host-rate: for the whole group, in Redis (the
   * engine's own limits stay: no process goes above them either). */
  static admission ad;
  if (o->per_host || o->per_host_rate > 0) {
    ad.url = a->input;
    ad.key = rd.key;
    ad.key_len = rd.key_len;
    ad.consumer = consumer;
    snprintf(ad.per_host, sizeof(ad.per_host), "%u", o->per_host);
    snprintf(ad.rate, sizeof(ad.rate), "%.6f", o->per_host_rate);
    /* A slot is held at most one attempt's time (connect + --max-time) and 5 s:
     * then a dead worker's slot is free again. */
    unsigned long long lease = (unsigned long long)(o->max_time_ms ? o->max_time_ms : 60000) +
                               (o->connect_timeout_ms ? o->connect_timeout_ms : 30000) + 5000;
    snprintf(ad.lease, sizeof(ad.lease), "%llu", lease);
    pthread_mutex_init(&ad.lock, NULL);
    pthread_cond_init(&ad.more, NULL);
    hmap_init(&ad.hosts);
    if (rconn_init(&ad.r, PROG, a->input) != 0) return EXIT_USAGE; /* parsed before: cannot fail */
    if (rconn_open(&ad.r) != 0) ad.r.c = NULL; /* the thread reconnects */
    pthread_create(&ad.thread, NULL, admission_main, &ad);
    ad.running = 1;
    g_ad = &ad;
    o->admit = admit_cb;
    o->release = release_cb;
    o->admit_arg = &ad;
  }
  guise_batch *b;
  int e = guise_batch_new(o, &b);
  if (e) {
    fprintf(stderr, "%s: %s (%s)\n", PROG, guise_strerror(e), guise_err_name(e));
    admission_end(&ad); /* was left running, its connection open */
    rconn_close(&rd.r);
    rconn_close(&w.r);
    if (w.file && w.file != stdout) fclose(w.file);
    for (int i = 0; rd.n_streams > 1 && i < rd.n_streams; i++) free(rd.stream[i]);
    return e == GUISE_E_NOMEM ? EXIT_FAILURE_GENERIC : EXIT_USAGE;
  }
  pthread_mutex_lock(&g_b_lock);
  g_b = b;
  pthread_mutex_unlock(&g_b_lock);
  rd.b = b;
  unsigned conc = o->concurrency ? o->concurrency : 256;
  rd.max_in_flight = o->max_pending ? o->max_pending : 4 * (size_t)conc;
  pthread_t wt;
  pthread_create(&wt, NULL, writer_main, &w);

  const char *when = a->progress ? a->progress : "auto";
  int live = isatty(2), show = strcmp(when, "never") != 0;
  double t0 = now_s(), last_claim = 0, last_progress = t0;
  /* This consumer's own pending entries first (a restart under one name). */
  static char history_buf[REDIS_MAX_SHARDS][64];
  char *history[REDIS_MAX_SHARDS];
  for (int i = 0; i < REDIS_MAX_SHARDS; i++) {
    strcpy(history_buf[i], "0");
    history[i] = history_buf[i];
  }
  int hist = 0, home_empty = 0;
  int rc = EXIT_OK;
  if (rd.n_streams > 1)
    fprintf(stderr, "%s: consumer %s of group %s on %s, home shard %d of %d\n", PROG, consumer, rd.group,
            rd.r.shown, rd.home, rd.n_streams);
  else
    fprintf(stderr, "%s: consumer %s of group %s on %s\n", PROG, consumer, rd.group, rd.r.shown);
  while (!atomic_load(&g_stop)) {
    if (show && now_s() - last_progress >= (live ? 0.25 : 5)) {
      last_progress = now_s();
      progress_line(b, t0, live);
    }
    if (rd.r.c == NULL) {
      if (rconn_reopen(&rd.r, &g_stop, "jobs in flight go on, their records are buffered") != 0) break;
      continue;
    }
    /* Renewed whatever the worker waits for (its jobs, Redis' writes): a
     * busy worker keeps its shards. */
    if (rd.n_streams > 1 && now_s() - rd.last_lease >= REDIS_LEASE_EVERY_S) {
      rd.last_lease = now_s();
      if (renew_leases(&rd) != 0) continue;
    }
    pthread_mutex_lock(&S.lock);
    size_t buffered = S.bytes, in_flight = S.in_flight;
    pthread_mutex_unlock(&S.lock);
    if (buffered > REDIS_BUFFER_MAX || in_flight >= rd.max_in_flight) {
      if (buffered > REDIS_BUFFER_MAX && !rd.buffer_said) {
        fprintf(stderr, "%s: %zu MiB of records wait for Redis: no new jobs until they are written\n", PROG,
                buffered >> 20);
        rd.buffer_said = 1;
      }
      usleep(20 * 1000);
      continue;
    }
    rd.buffer_said = 0;
    if (now_s() - last_claim >= claim_every) {
      last_claim = now_s();
      if (autoclaim(&rd) != 0) continue;
    }
    size_t room = rd.max_in_flight - in_flight;
    char count[16], steal[16];
    snprintf(count, sizeof(count), "%zu", room < REDIS_READ_COUNT ? room : REDIS_READ_COUNT);
    snprintf(steal, sizeof(steal), "%zu", room < REDIS_STEAL_COUNT ? room : REDIS_STEAL_COUNT);
    /* This consumer's own pending entries first, stream by stream; then the
     * home shard without waiting; then every shard (the others' too: stealing
     * when the home shard has nothing), waiting up to a second. */
    redisReply *rep;
    int phase = hist < rd.n_streams ? 0 : rd.n_streams > 1 && !home_empty ? 1 : 2;
    /* Stealing only when idle: while jobs of the home shard are in flight, the
     * wait is for the home shard (a steal adds a connection to each host it
     * touches). */
    if (phase == 2 && rd.n_streams > 1 && in_flight > 0) phase = 3;
    int sh[REDIS_MAX_SHARDS];
    int nsh = 0;
    if (phase == 0) {
      sh[0] = hist;
      rep = read_streams(&rd, sh, 1, (const char *const *)history, count, NULL);
    } else if (phase == 1 || phase == 3) {
      nsh = shard_list(&rd, rd.owned, sh);
      rep = read_streams(&rd, sh, nsh, NULL, count, phase == 3 ? "100" : NULL);
    } else {
      nsh = shard_list(&rd, ~(uint64_t)0, sh);
      rep = read_streams(&rd, sh, nsh, NULL, rd.n_streams > 1 ? steal : count, "1000");
    }
    if (rep == NULL) continue; /* reconnect above */
    if (rreply_transient(rep)) {
      freeReplyObject(rep);
      usleep(100 * 1000);
      continue;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
      /* NOGROUP: a Redis restarted without its data (no AOF): the group again. */
      int nogroup = strncmp(rep->str, "NOGROUP", 7) == 0;
      if (!nogroup) {
        char shown[200];
        guise_escape_text(rep->str, rep->len, shown, sizeof(shown));
        fprintf(stderr, "%s: XREADGROUP on %s refused: %s\n", PROG, rd.r.shown, shown);
        rc = EXIT_FAILURE_GENERIC;
        freeReplyObject(rep);
        break;
      }
      freeReplyObject(rep);
      int f = 0;
      if (create_group(&rd, &f) != 0 && f) {
        rc = EXIT_FAILURE_GENERIC;
        break;
      }
      continue;
    }
    size_t n = 0;
    int lost = take_read(&rd, rep, &n, phase == 0 ? hist : -1, phase == 0 ? history[hist] : NULL, 64);
    freeReplyObject(rep);
    if (lost) continue;
    if (phase == 0) {
      if (n == 0) hist++;
      continue;
    }
    if (phase == 1 || phase == 3) {
      if (n == 0) home_empty = 1; /* then a blocking read of every shard, or of home while busy */
      else home_empty = 0;
      /* Its own shards drained: a shard whose worker is gone becomes its
       * own (read in full, not 16 entries at a time when idle). */
      if (n == 0 && now_s() - rd.last_orphans >= REDIS_LEASE_EVERY_S) {
        rd.last_orphans = now_s();
        int k = adopt_orphans(&rd);
        if (k > 0) home_empty = 0;
      }
      continue;
    }
    home_empty = 0;
    if (n == 0 && !a->follow) {
      /* Nothing new for a second: the end when nothing is pending in the whole
       * group (this worker's unwritten records included). */
      long long p = group_pending(&rd);
      pthread_mutex_lock(&S.lock);
      int idle = S.in_flight == 0 && S.n == 0;
      pthread_mutex_unlock(&S.lock);
      if (p == 0 && idle) break;
    }
  }
  /* Refused by Redis: jobs waiting for the admission never start. */
  if (atomic_load(&g_refused)) guise_batch_stop(b, 0);
  guise_batch_wait(b);
  pthread_mutex_lock(&S.lock);
  S.closing = 1;
  pthread_cond_signal(&S.more);
  pthread_mutex_unlock(&S.lock);
  pthread_join(wt, NULL);
  pthread_mutex_lock(&g_b_lock);
  g_b = NULL;
  pthread_mutex_unlock(&g_b_lock);
  guise_batch_stats st;
  guise_batch_stats_get(b, &st);
  guise_batch_finish(b);
  /* The workers are gone: the slots they gave back are sent, then the
   * admission thread ends. */
  admission_end(&ad);
  if (show && live) fputs("\r\033[K", stderr);
  fprintf(stderr, "%s: %llu jobs run here (ok %llu, failed %llu), %llu records written, %llu already done "
                  "(acknowledged only)%s; %.2f s\n",
          PROG, st.done, st.ok, st.failed, S.written, S.already, S.errors || S.lost ? ", some not written" : "",
          now_s() - t0);
  rconn_close(&rd.r);
  rconn_close(&w.r);
  for (int i = 0; rd.n_streams > 1 && i < rd.n_streams; i++) free(rd.stream[i]);
  if (w.file && w.file != stdout && fclose(w.file) != 0 && !w.file_failed) w.file_failed = errno;
  if (w.file_failed || atomic_load(&g_refused)) rc = EXIT_FAILURE_GENERIC;
  return atomic_load(&g_signals) ? 130 : rc;
}

/* ---- --status ----------------------------------------------------------------------- */

/* One stream's length, its groups and their consumers. */
static void status_stream(rconn *r, const redis_batch_args *a, const char *key, size_t key_len, const char *shown) {
  rargs x = {0};
  rargs_add(&x, "XLEN");
  rargs_addn(&x, key, key_len);
  redisReply *rep = rconn_cmd(r, x.n, x.v, x.len);
  long long len = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
  if (rep) freeReplyObject(rep);
  printf("stream %s: %lld entries\n", shown, len);
  rargs g = {0};
  rargs_add(&g, "XINFO");
  rargs_add(&g, "GROUPS");
  rargs_addn(&g, key, key_len);
  rep = rconn_cmd(r, g.n, g.v, g.len);
  for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
    const redisReply *name = rreply_field(rep->element[i], "name");
    if (name == NULL || name->type != REDIS_REPLY_STRING) continue;
    long long lag = -1, pending = 0, consumers = 0;
    rreply_field_int(rep->element[i], "lag", &lag);
    rreply_field_int(rep->element[i], "pending", &pending);
    rreply_field_int(rep->element[i], "consumers", &consumers);
    char gname[800];
    guise_escape_text(name->str, name->len, gname, sizeof(gname));
    if (a->group && strcmp(a->group, name->str) != 0) continue;
    if (lag >= 0)
      printf("group %s: backlog %lld (not yet delivered), pending %lld, consumers %lld\n", gname, lag, pending,
             consumers);
    else
      printf("group %s: backlog unknown, pending %lld, consumers %lld\n", gname, pending, consumers);
    rargs c = {0};
    rargs_add(&c, "XINFO");
    rargs_add(&c, "CONSUMERS");
    rargs_addn(&c, key, key_len);
    rargs_addn(&c, name->str, name->len);
    redisReply *cr = rconn_cmd(r, c.n, c.v, c.len);
    for (size_t j = 0; cr && cr->type == REDIS_REPLY_ARRAY && j < cr->elements; j++) {
      const redisReply *cn = rreply_field(cr->element[j], "name");
      long long cp = 0, idle = 0;
      rreply_field_int(cr->element[j], "pending", &cp);
      rreply_field_int(cr->element[j], "idle", &idle);
      if (cn == NULL || cn->type != REDIS_REPLY_STRING) continue;
      char cname[800];
      guise_escape_text(cn->str, cn->len, cname, sizeof(cname));
      printf("  consumer %s: pending %lld, idle %.1f s\n", cname, cp, (double)idle / 1000);
    }
    if (cr) freeReplyObject(cr);
  }
  if (rep) freeReplyObject(rep);
}

int redis_batch_status(const redis_batch_args *a) {
  rconn r;
  if (rconn_init(&r, PROG, a->input) != 0) return EXIT_USAGE;
  if (rconn_open(&r) != 0) {
    fprintf(stderr, "%s: cannot reach Redis %s: %s\n", PROG, r.shown, r.why);
    return EXIT_FAILURE_GENERIC;
  }
  char k[REDIS_KEY_MAX + 24];
  snprintf(k, sizeof(k), "%.*s:shards", (int)r.url.key_len, r.url.key);
  rargs sg = {0};
  rargs_add(&sg, "GET");
  rargs_add(&sg, k);
  redisReply *rep = rconn_cmd(&r, sg.n, sg.v, sg.len);
  long shards = rep && rep->type == REDIS_REPLY_STRING ? strtol(rep->str, NULL, 10) : 0;
  if (rep) freeReplyObject(rep);
  if (shards > 1 && shards <= REDIS_MAX_SHARDS) {
    for (long i = 0; i < shards; i++) {
      int n = snprintf(k, sizeof(k), "%.*s:shard:%ld", (int)r.url.key_len, r.url.key, i);
      char shown[sizeof(r.shown) + 64];
      snprintf(shown, sizeof(shown), "%s (shard %ld of %ld)", r.shown, i, shards);
      status_stream(&r, a, k, (size_t)n, shown);
    }
  } else {
    status_stream(&r, a, r.url.key, r.url.key_len, r.shown);
  }
  /* The records stream (-o redis://...): its length, and the rate from its
   * first record to its last (entry ids are Redis' clock in ms). */
  if (a->output && redis_url_is(a->output)) {
    rconn out;
    if (rconn_init(&out, PROG, a->output) != 0) {
      rconn_close(&r);
      return EXIT_USAGE;
    }
    rargs s = {0};
    rargs_add(&s, "XINFO");
    rargs_add(&s, "STREAM");
    rargs_addn(&s, out.url.key, out.url.key_len);
    rep = rconn_cmd(&r, s.n, s.v, s.len);
    long long n = 0;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rreply_field_int(rep, "length", &n) == 0) {
      const redisReply *first = rreply_field(rep, "first-entry"), *last = rreply_field(rep, "last-entry");
      double t0 = 0, t1 = 0;
      if (first && first->type == REDIS_REPLY_ARRAY && first->elements >= 1 && first->element[0]->type == REDIS_REPLY_STRING)
        t0 = strtod(first->element[0]->str, NULL);
      if (last && last->type == REDIS_REPLY_ARRAY && last->elements >= 1 && last->element[0]->type == REDIS_REPLY_STRING)
        t1 = strtod(last->element[0]->str, NULL);
      if (n > 1 && t1 > t0)
        printf("records %s: %lld, %.1f/s from the first to the last\n", out.shown, n, (double)(n - 1) * 1000 / (t1 - t0));
      else
        printf("records %s: %lld\n", out.shown, n);
    } else {
      printf("records %s: none\n", out.shown);
    }
    if (rep) freeReplyObject(rep);
  }
  rconn_close(&r);
  return EXIT_OK;
}

/*
 * batch.c — the batch engine's threads and public API (docs/BATCH.md): worker
 * threads, each with its own libuv loop and guise_client (pool, DNS cache, TLS
 * sessions); jobs are sharded by host so that connection reuse, the per-host
 * limit and the per-host rate are all local to one worker. A loop module: it
 * calls the client API (guise_client_*), the scheduler (batch_sched.h: which job
 * starts next) and the record writer (batch_record.h: the JSON of a job).
 * Called by guise batch (client/cli/cmd_batch.c) and the Python binding.
 *
 *   submit (any thread) --> staged, per worker (submit_lock), in runs
 *     --> worker inbox (mutex + uv_async) --> scheduler: ready queue
 *   ready --> [global concurrency share] --> [host: in-flight cap, token bucket]
 *         --> [global token bucket] --> guise_client_request
 *   complete --> retry later (backoff + jitter, Retry-After) or one record
 *
 * Every submitted job ends exactly once: one record through on_record, or (after
 * guise_batch_stop) counted as interrupted without a record, so that a resumed
 * run does it again. Memory is bounded by max_pending jobs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "batch_record.h"
#include "batch_sched.h"
#include "guise.h"
#include "queue.h"
#include "safe_file.h"

#define BATCH_DEFAULT_CONCURRENCY 256
#define BATCH_DEFAULT_RETRIES 2
#define BATCH_DEFAULT_MAX_TIME 60000
#define BATCH_MAX_WORKERS 256
#define BATCH_INLINE_CAP (1u << 20)      /* inline body kept per job */
#define BATCH_HEADERS_CAP (256u << 10)   /* response headers kept per job */
#define BATCH_BACKOFF_BASE_MS 250
#define BATCH_BACKOFF_MAX_MS 30000
#define BATCH_RETRY_AFTER_MAX_S 300      /* a longer Retry-After ends the job with its status */
#define BATCH_HIST 64                    /* latency histogram buckets (log2 of microseconds) */
/* Rates a batch takes (requests per second): below the least, a token's wait in
 * ms overflows a 64-bit integer (1e-300 was undefined behaviour). */
#define BATCH_MIN_RATE 0.001
#define BATCH_MAX_RATE 1e7
#define BATCH_MAX_TIME_MS 86400000u      /* timeouts: a day at most */

typedef struct worker worker;

/* ---- jobs ------------------------------------------------------------------------ */

typedef struct bjob {
  bs_job sched;                  /* its queue (staged, inbox, ready, parked, delayed) and host */
  worker *w;
  /* every string of the job follows the struct, in the same allocation */
  const char *id, *url, *method, *profile, *proxy, *meta, *kind, *referer;
  const char *host_key;          /* bsched_host_key of |url|, made once by the submitter */
  uint64_t host_hash;            /* hmap_hash_str(host_key) */
  guise_header *headers;
  size_t n_headers;
  unsigned char *body;
  size_t body_len;
  int has_body;
  unsigned long long line;
  int http_version;
  unsigned attempts;
  /* the attempt in flight */
  int admitted;                  /* guise_batch_options.admit said yes: release when it ends */
  unsigned long long ticket;
  int status;
  double retry_after_s;          /* from a 429/503, -1 if none */
  sbuf headers_json;
  sbuf body_buf;
  safe_file body_file;           /* --body-dir: a temp file, renamed to body_path when the job succeeds */
  int body_fd;                   /* body_file.fd while it is open, else -1 */
  char *body_path;
  unsigned long long body_bytes;
} bjob;

#define JOB(q) gq_data((q), bjob, sched)

struct worker {
  guise_batch *b;
  int index;
  uv_thread_t thread;
  uv_loop_t loop;
  uv_async_t wake;
  uv_timer_t timer;              /* retries and rate waits */
  guise_client *client;
  pthread_mutex_t lock;          /* inbox */
  gq inbox;                      /* bjob.sched.link */
  /* loop-thread only */
  bsched s;                      /* ready, delayed, hosts, in flight */
  int stopping, cancel, closing;
  uint64_t timer_due;
  /* requests from other threads, under |lock| */
  int ctl_stop, ctl_cancel, ctl_quit;
};

struct guise_batch {
  guise_batch_options o;
  char *profile, *proxy, *cafile, *proxy_cafile, *dns_servers, *body_dir;
  mode_t body_mode;              /* of new --body-dir files: 0644 less the umask */
  char **resolve;
  worker *workers;
  unsigned n_workers;
  pthread_mutex_t lock;          /* waiting for |pending|, rate */
  pthread_cond_t cond;
  pthread_mutex_t rec_lock;      /* on_record calls, one at a time */
  pthread_mutex_t submit_lock;   /* submitters, and the staged jobs */
  /* Jobs submitted and not ended. A submitter that finds max_pending waits until
   * it falls to the low mark (3/4 of it), then submits a run of jobs: a wake-up
   * per run, not per job. */
  atomic_ullong pending;
  atomic_uint waiters;           /* submitters waiting for the low mark */
  atomic_uint end_waiters;       /* guise_batch_wait() callers, for 0 */
  unsigned long long low_mark;
  atomic_int stopped;
  /* Jobs handed to a worker in runs: staged here (under submit_lock), one queue
   * per worker, and moved to the worker's inbox 64 at a time, or at once when
   * the workers may be short of work. |staged_total| is written under
   * submit_lock and read without it by job_ended; |handover_wanted|: a job
   * ended while the lock was held (see hand_over_staged). */
  gq *staged;
  unsigned *n_staged;
  atomic_uint staged_total;
  atomic_int handover_wanted;
  bs_bucket rate;                /* the global rate, under |lock| */
  /* stats */
  atomic_ullong submitted, done, ok, failed, retries, in_flight, interrupted;
  atomic_ullong by_class[12];
  atomic_ullong hist[BATCH_HIST];
};

void guise_batch_options_init(guise_batch_options *o) {
  memset(o, 0, sizeof(*o));
  o->size = sizeof(*o);
  o->retries = BATCH_DEFAULT_RETRIES;
}

_Static_assert(sizeof(((guise_batch_stats *)0)->by_class) / sizeof(unsigned long long) == GUISE_CLASS_COUNT,
               "guise_batch_stats.by_class holds every class of GUISE_ERR_CLASS_MAP and one for the rest");

int guise_batch_class_index(int code) {
  /* The bands of GUISE_ERR_CLASS_MAP (1..11) less one; OK and unknown codes last. */
  guise_err_class_id id = guise_err_class_of(code);
  return id == GUISE_CLASS_NONE ? GUISE_CLASS_COUNT - 1 : (int)id - 1;
}

static void job_free(bjob *j) {
  free(j->headers_json.p);
  free(j->body_buf.p);
  safe_file_abort(&j->body_file); /* not renamed: the temp file goes */
  free(j->body_path);
  free(j);
}

/* One job ended (recorded or interrupted): a waiting submitter may go on once
 * the low mark is reached, guise_batch_wait() once nothing is pending. */
static void hand_over_staged(guise_batch *b);

static void job_ended(guise_batch *b) {
  unsigned long long left = atomic_fetch_sub(&b->pending, 1) - 1;
  /* Staged jobs must not wait for a submit that may never come (input that
   * pauses, a caller that waits for records before it submits more): once the
   * workers may run short of work, what is staged goes to them now. */
  unsigned staged = atomic_load(&b->staged_total);
  if (staged && (left <= staged || left - staged < b->o.concurrency)) hand_over_staged(b);
  if ((atomic_load(&b->waiters) && left <= b->low_mark) || (left == 0 && atomic_load(&b->end_waiters))) {
    pthread_mutex_lock(&b->lock);
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
  }
}

/* A job that will have no record (a stop): counted, freed, ended. */
static void interrupt(bjob *j) {
  guise_batch *b = j->w->b;
  atomic_fetch_add(&b->interrupted, 1);
  job_free(j);
  job_ended(b);
}

static void emit(guise_batch *b, const char *json, size_t len, int err) {
  pthread_mutex_lock(&b->rec_lock);
  b->o.on_record(b->o.arg, json, len, err);
  pthread_mutex_unlock(&b->rec_lock);
}

/* Moves every job of |from| to the end of |to| (queue.h has no such step). */
static void queue_append_all(gq *to, gq *from) {
  if (gq_empty(from)) return;
  gq *first = from->next, *last = from->prev;
  first->prev = to->prev;
  to->prev->next = first;
  last->next = to;
  to->prev = last;
  gq_init(from);
}

static uint64_t global_take(guise_batch *b) {
  if (b->o.rate <= 0) return 0;
  pthread_mutex_lock(&b->lock);
  uint64_t ms = bs_bucket_take(&b->rate, b->o.rate, uv_hrtime());
  pthread_mutex_unlock(&b->lock);
  return ms;
}

/* ---- records --------------------------------------------------------------------- */

static void record(bjob *j, int err, const guise_response_info *info, const char *detail) {
  worker *w = j->w;
  guise_batch *b = w->b;
  batch_record_in in = {
      .id = j->id,
      .line = j->line,
      .url = j->url,
      .profile = j->profile ? j->profile : b->profile ? b->profile : "none",
      .meta = j->meta,
      .attempts = j->attempts,
      .err = err,
      .info = info,
      .detail = detail,
      .headers_json = b->o.include_headers ? &j->headers_json : NULL,
      .body_mode = b->o.body_mode,
      .body = &j->body_buf,
      .body_path = j->body_path,
  };
  /* Most records fit on the stack: no allocation for them. */
  char stack[2048];
  sbuf r = {.p = stack, .cap = sizeof(stack), .max = SIZE_MAX, .borrowed = 1};
  batch_record_write(&r, &in);
  emit(b, r.p, r.len, err);
  if (r.p != stack) free(r.p);
  /* stats */
  atomic_fetch_add(&b->done, 1);
  if (err) {
    atomic_fetch_add(&b->failed, 1);
    atomic_fetch_add(&b->by_class[guise_batch_class_index(err)], 1);
  } else {
    atomic_fetch_add(&b->ok, 1);
  }
  if (info) {
    double us = info->total_ms * 1000;
    int k = 0;
    while (k < BATCH_HIST - 1 && us >= (double)(1ull << k)) k++;
    atomic_fetch_add(&b->hist[k], 1);
  }
}

/* ---- running a job --------------------------------------------------------------- */

static void pump(worker *w);

static int retryable(int err, int status) {
  if (status == 429 || status == 503) return 1;
  switch (err) {
    case GUISE_E_CONNECT_REFUSED:
    case GUISE_E_CONNECT_UNREACHABLE:
    case GUISE_E_CONNECT_RESET:
    case GUISE_E_CONNECT_CLOSED:
    case GUISE_E_CONNECT_FAILED:
    case GUISE_E_CONNECT_NO_PORTS:
    case GUISE_E_TIMEOUT_CONNECT:
    case GUISE_E_TIMEOUT_TLS:
    case GUISE_E_HTTP2_REFUSED:
    case GUISE_E_HTTP2_GOAWAY:
    case GUISE_E_HTTP2_STREAM_RESET:
    case GUISE_E_DNS_FAILED:
    case GUISE_E_PROXY_CONNECT_REFUSED:
    case GUISE_E_PROXY_TIMEOUT:
      return 1;
    default:
      return 0;
  }
}

/* Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date. -1 if absent or bad. */
static double parse_retry_after(const char *v) {
  char *end;
  errno = 0;
  unsigned long s = strtoul(v, &end, 10);
  if (end != v && *end == '\0' && !errno) return (double)s;
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *p = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (p == NULL || *p) return -1;
  double d = difftime(timegm(&tm), time(NULL));
  return d < 0 ? 0 : d;
}

static void reset_attempt(bjob *j) {
  j->status = 0;
  j->retry_after_s = -1;
  j->headers_json.len = 0;
  j->headers_json.over = 0;
  j->body_buf.len = 0;
  j->body_buf.over = 0;
  j->body_bytes = 0;
  if (j->body_fd >= 0 && (ftruncate(j->body_fd, 0) != 0 || lseek(j->body_fd, 0, SEEK_SET) != 0)) {
    /* the next attempt starts a new temp file */
    safe_file_abort(&j->body_file);
    j->body_fd = -1;
  }
}

static void arm(worker *w, uint64_t ms);

static int on_headers(void *ud, int status, const guise_header *h, size_t n) {
  bjob *j = ud;
  j->status = status;
  /* A new connection's first answer: it is made, the next may be (from the loop's
   * next turn: not from inside this request's callback). */
  if (bsched_opened(&j->w->s, &j->sched)) arm(j->w, 0);
  for (size_t i = 0; i < n; i++) {
    if ((status == 429 || status == 503) && strcasecmp(h[i].name, "retry-after") == 0)
      j->retry_after_s = parse_retry_after(h[i].value);
    if (j->w->b->o.include_headers) {
      sbuf *s = &j->headers_json;
      if (s->len) sb_put(s, ",", 1);
      sb_put(s, "[", 1);
      sb_json(s, h[i].name, strlen(h[i].name));
      sb_put(s, ",", 1);
      sb_json(s, h[i].value, strlen(h[i].value));
      sb_put(s, "]", 1);
    }
  }
  if (j->headers_json.over) j->headers_json.len = 0;
  return 0;
}

static int on_body(void *ud, const unsigned char *p, size_t n) {
  bjob *j = ud;
  guise_batch *b = j->w->b;
  j->body_bytes += n;
  if (b->o.body_mode == GUISE_BODY_TEXT || b->o.body_mode == GUISE_BODY_BASE64) {
    if (!j->body_buf.over && sb_put(&j->body_buf, p, n) != 0) {
      /* keep what fits */
      size_t room = j->body_buf.max - j->body_buf.len;
      j->body_buf.over = 0;
      if (room) sb_put(&j->body_buf, p, room);
      j->body_buf.over = 1;
    }
  } else if (b->o.body_mode == GUISE_BODY_DIR && j->body_fd >= 0) {
    while (n) {
      ssize_t k = write(j->body_fd, p, n);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return 1; /* cancels: the record says CANCELLED with the detail */
      p += k;
      n -= (size_t)k;
    }
  }
  return 0;
}

static void start(worker *w, bjob *j);

/* The admission of the attempt that ended (or did not start) goes back. */
static void admit_release(guise_batch *b, bjob *j) {
  if (!j->admitted) return;
  j->admitted = 0;
  if (b->o.release) b->o.release(b->o.admit_arg, j->sched.host->name, j->ticket);
}

static void on_complete(void *ud, int err, const guise_response_info *info) {
  bjob *j = ud;
  worker *w = j->w;
  guise_batch *b = w->b;
  atomic_fetch_sub(&b->in_flight, 1);
  admit_release(b, j);
  bsched_done(&w->s, &j->sched);
  if (w->cancel || (w->stopping && err == GUISE_E_CANCELLED)) {
    interrupt(j);
    pump(w);
    return;
  }
  int status = err ? 0 : info->status;
  if (retryable(err, status) && j->attempts <= b->o.retries && !w->stopping &&
      !(j->retry_after_s > BATCH_RETRY_AFTER_MAX_S)) {
    /* Exponential backoff with full jitter; Retry-After wins when given. */
    uint64_t cap = (uint64_t)BATCH_BACKOFF_BASE_MS << (j->attempts - 1 < 10 ? j->attempts - 1 : 10);
    if (cap > BATCH_BACKOFF_MAX_MS) cap = BATCH_BACKOFF_MAX_MS;
    uint64_t delay = cap / 2 + (uint64_t)rand() % (cap / 2 + 1);
    if (j->retry_after_s >= 0) delay = (uint64_t)(j->retry_after_s * 1000);
    atomic_fetch_add(&b->retries, 1);
    reset_attempt(j);
    bsched_delay(&w->s, &j->sched, uv_now(&w->loop) + delay);
    pump(w);
    return;
  }
  /* The body file appears under its name only whole, for a job that succeeded. */
  char why[200];
  const char *detail = NULL;
  if (j->body_fd >= 0) {
    j->body_fd = -1;
    if (err) {
      safe_file_abort(&j->body_file);
    } else if (safe_file_commit(&j->body_file) != 0) {
      snprintf(why, sizeof(why), "--body-dir: writing the body file: %s", strerror(errno));
      err = GUISE_E_USAGE_FILE;
      detail = why;
    }
  }
  record(j, err, info, detail);
  job_free(j);
  job_ended(b);
  pump(w);
}

/* A job that cannot start (its URL, its profile): its record now. */
static void record_refused(worker *w, bjob *j, int err, const char *why) {
  record(j, err, NULL, why);
  job_free(j);
  job_ended(w->b);
}

static void start(worker *w, bjob *j) {
  guise_batch *b = w->b;
  bsched_start(&w->s, &j->sched); /* out of the ready queue, counted in flight */
  j->attempts++;
  j->retry_after_s = -1;
  if (b->o.body_mode == GUISE_BODY_DIR && j->body_fd < 0) {
    /* A temp file of mkstemp's in the folder (a name that can be guessed from the
     * id is never opened: a symlink planted there was followed). */
    if (j->body_path == NULL || safe_file_open(&j->body_file, j->body_path, b->body_mode,
                                                SAFE_FILE_EXACT_MODE | SAFE_FILE_NO_FOLLOW) != 0) {
      char why[200];
      admit_release(b, j);
      bsched_unstart(&w->s, &j->sched);
      snprintf(why, sizeof(why), "--body-dir: cannot create the body file: %s",
               j->body_path ? strerror(errno) : "no memory");
      record_refused(w, j, j->body_path ? GUISE_E_USAGE_FILE : GUISE_E_NOMEM, why);
      return;
    }
    j->body_fd = j->body_file.fd;
  }
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = j->url;
  o.method = j->method;
  o.headers = j->headers;
  o.n_headers = j->n_headers;
  o.body = j->body;
  o.body_len = j->body_len;
  o.has_body = j->has_body;
  o.profile = j->profile;
  o.proxy = j->proxy;
  o.kind = j->kind;
  o.referer = j->referer;
  o.max_time_ms = b->o.max_time_ms ? b->o.max_time_ms : BATCH_DEFAULT_MAX_TIME;
  /* Not the wait for one of the origin's connections: jobs queued behind slow
   * ones would time out without having been sent (a chaos run lost 290 of
   * 100,000 jobs that way). */
  o.max_time_from_connection = 1;
  o.connect_timeout_ms = b->o.connect_timeout_ms;
  o.max_body = b->o.max_body;
  o.http_version = j->http_version ? j->http_version : b->o.http_version;
  o.follow_redirects = b->o.follow_redirects;
  o.max_redirects = b->o.max_redirects;
  static const guise_callbacks cb = {on_headers, on_body, on_complete};
  atomic_fetch_add(&b->in_flight, 1);
  int e = guise_client_request(w->client, &o, &cb, j);
  if (e) {
    admit_release(b, j);
    bsched_unstart(&w->s, &j->sched);
    atomic_fetch_sub(&b->in_flight, 1);
    record_refused(w, j, e,
                   guise_err_class(e)[0] == 'u' ? "refused before it started: check the URL, method and headers"
                                                : "refused before it started");
  }
}

static void on_timer(uv_timer_t *t) {
  worker *w = t->data;
  w->timer_due = 0;
  pump(w);
}

static void arm(worker *w, uint64_t ms) {
  uint64_t due = uv_now(&w->loop) + ms;
  if (w->timer_due && w->timer_due <= due) return;
  w->timer_due = due;
  uv_timer_start(&w->timer, on_timer, ms, 0);
}

static void interrupt_job(bs_job *q, void *arg) {
  (void)arg;
  interrupt(JOB(q));
}

static void pump(worker *w) {
  guise_batch *b = w->b;
  if (w->closing) return;
  uint64_t now = uv_now(&w->loop);
  if (w->stopping) {
    /* jobs that never started, and retries not started again: interrupted, no record */
    bsched_drain(&w->s, interrupt_job, NULL);
    return;
  }
  bsched_release_due(&w->s, now); /* retries whose time has come go to the front */
  for (;;) {
    uint64_t wait;
    bs_job *q = bsched_peek(&w->s, uv_hrtime(), &wait); /* the time: per-host rates, and hosts cold again */
    if (q && b->o.admit) {
      /* Local limits passed: the group's (guise_batch_options.admit). A refusal
       * gives back the host token bsched_peek took. */
      bjob *j = JOB(q);
      unsigned long long ticket = 0;
      unsigned aw = b->o.admit(b->o.admit_arg, q->host->name, &ticket);
      if (aw) {
        if (w->s.per_host_rate > 0) q->host->bucket.tokens += 1;
        arm(w, aw);
        break;
      }
      j->admitted = 1;
      j->ticket = ticket;
    }
    if (q && !(wait = global_take(b))) {
      start(w, JOB(q));
      continue;
    }
    if (q) admit_release(b, JOB(q)); /* the global rate said wait: asked again then */
    if (wait) arm(w, wait);
    break;
  }
  uint64_t due;
  if (bsched_next_due(&w->s, &due)) arm(w, due > now ? due - now : 1);
}

/* Every job has ended: the worker's handles close and its loop returns. */
static void close_worker(worker *w) {
  if (w->closing) return;
  w->closing = 1;
  if (w->client) guise_client_close(w->client);
  w->client = NULL;
  uv_close((uv_handle_t *)&w->wake, NULL);
  uv_close((uv_handle_t *)&w->timer, NULL);
  bsched_free(&w->s);
}

/* Jobs from the submitter: each gets its host, then waits in the ready queue. */
static void on_wake(uv_async_t *a) {
  worker *w = a->data;
  gq list;
  gq_init(&list);
  pthread_mutex_lock(&w->lock);
  queue_append_all(&list, &w->inbox);
  int stop = w->ctl_stop, cancel = w->ctl_cancel, quit = w->ctl_quit;
  pthread_mutex_unlock(&w->lock);
  if (w->closing) return;
  gq *q;
  while ((q = gq_first(&list))) {
    gq_remove(q);
    bjob *j = JOB(q);
    j->w = w;
    /* The per-host key is the URL's authority as written (lowercased, without
     * userinfo); the URL itself is checked by guise_client_request. */
    j->sched.host = bsched_host_find(&w->s, j->host_key, j->host_hash);
    if (j->sched.host == NULL) j->sched.host = bsched_host_add(&w->s, j->host_key, j->host_hash, uv_hrtime());
    if (j->sched.host == NULL) {
      record_refused(w, j, GUISE_E_NOMEM, "no memory for the host table");
      continue;
    }
    if (w->b->o.body_mode == GUISE_BODY_DIR) {
      char name[160];
      size_t k = 0;
      const char *id = j->id;
      char num[32];
      if (id == NULL) {
        snprintf(num, sizeof(num), "%llu", j->line);
        id = num;
      }
      for (const char *c = id; *c && k < 100; c++)
        name[k++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                            *c == '-' || *c == '_' || *c == '.'
                        ? *c
                        : '_';
      name[k] = '\0';
      /* the hash keeps distinct ids apart after the name was cleaned */
      if (asprintf(&j->body_path, "%s/%s-%016llx", w->b->body_dir, name,
                   (unsigned long long)hmap_hash_str(id)) < 0)
        j->body_path = NULL;
    }
    bsched_push(&w->s, &j->sched);
  }
  if (stop) w->stopping = 1;
  if (cancel && !w->cancel) {
    w->cancel = 1;
    guise_client_close(w->client); /* in-flight requests end CANCELLED: interrupted */
    w->client = NULL;
  }
  pump(w);
  if (quit) close_worker(w);
}

static void worker_main(void *arg) {
  worker *w = arg;
  uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* ---- public ---------------------------------------------------------------------- */

static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

/* 0 (no limit), or a finite rate from BATCH_MIN_RATE to BATCH_MAX_RATE. */
static int rate_ok(double r) { return r == 0 || (isfinite(r) && r >= BATCH_MIN_RATE && r <= BATCH_MAX_RATE); }

static void batch_free(guise_batch *b) {
  for (size_t i = 0; b->resolve && i < b->o.n_resolve; i++) free(b->resolve[i]);
  free(b->resolve);
  free(b->profile);
  free(b->proxy);
  free(b->cafile);
  free(b->proxy_cafile);
  free(b->dns_servers);
  free(b->body_dir);
  free(b->workers);
  free(b->staged);
  free(b->n_staged);
  pthread_mutex_destroy(&b->lock);
  pthread_mutex_destroy(&b->rec_lock);
  pthread_mutex_destroy(&b->submit_lock);
  pthread_cond_destroy(&b->cond);
  free(b);
}

int guise_batch_new(const guise_batch_options *in, guise_batch **out) {
  *out = NULL;
  if (in == NULL || in->on_record == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  guise_batch *b = calloc(1, sizeof(*b));
  if (b == NULL) return GUISE_E_NOMEM;
  guise_batch_options_init(&b->o);
  memcpy(&b->o, in, in->size < sizeof(b->o) ? in->size : sizeof(b->o));
  pthread_mutex_init(&b->lock, NULL);
  pthread_mutex_init(&b->rec_lock, NULL);
  pthread_mutex_init(&b->submit_lock, NULL);
  pthread_cond_init(&b->cond, NULL);
  guise_batch_options *o = &b->o;
  if (o->body_mode == GUISE_BODY_DIR && o->body_dir == NULL) {
    batch_free(b);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  /* Numbers: NaN passes every "x < lo || x > hi" test, and a tiny rate makes a
   * token's wait overflow its integer (undefined behaviour); both refused. */
  if (!rate_ok(o->rate) || !rate_ok(o->per_host_rate) || o->max_time_ms > BATCH_MAX_TIME_MS ||
      o->connect_timeout_ms > BATCH_MAX_TIME_MS) {
    batch_free(b);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  b->body_mode = 0644 & ~safe_file_umask();
  if (o->profile && strcmp(o->profile, "none") == 0) o->profile = NULL;
  b->profile = dup0(o->profile);
  b->proxy = dup0(o->proxy);
  b->cafile = dup0(o->cafile);
  b->proxy_cafile = dup0(o->proxy_cafile);
  b->dns_servers = dup0(o->dns_servers);
  b->body_dir = dup0(o->body_dir);
  b->resolve = o->n_resolve ? calloc(o->n_resolve, sizeof(char *)) : NULL;
  for (size_t i = 0; b->resolve && i < o->n_resolve; i++) b->resolve[i] = dup0(o->resolve[i]);
  unsigned n = o->workers;
  if (n == 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    n = c > 0 ? (unsigned)c : 1;
  }
  if (n > BATCH_MAX_WORKERS) n = BATCH_MAX_WORKERS;
  unsigned conc = o->concurrency ? o->concurrency : BATCH_DEFAULT_CONCURRENCY;
  if (n > conc) n = conc;
  o->concurrency = conc;
  if (o->max_pending == 0) o->max_pending = conc * 4 > 1024 ? conc * 4 : 1024;
  b->low_mark = o->max_pending - o->max_pending / 4;
  b->n_workers = n;
  b->staged = calloc(n, sizeof(*b->staged));
  b->n_staged = calloc(n, sizeof(*b->n_staged));
  if (!b->staged || !b->n_staged) {
    batch_free(b);
    return GUISE_E_NOMEM;
  }
  for (unsigned i = 0; i < n; i++) gq_init(&b->staged[i]);
  bs_bucket_init(&b->rate, uv_hrtime());
  b->workers = calloc(n, sizeof(worker));
  if (b->workers == NULL) {
    batch_free(b);
    return GUISE_E_NOMEM;
  }
  guise_client_options co;
  guise_client_options_init(&co);
  co.profile = b->profile ? b->profile : "none";
  co.proxy = b->proxy;
  co.insecure = o->insecure;
  co.cafile = b->cafile;
  co.proxy_insecure = o->proxy_insecure;
  co.proxy_cafile = b->proxy_cafile;
  co.resolve = (const char *const *)b->resolve;
  co.n_resolve = o->n_resolve;
  co.dns_servers = b->dns_servers;
  co.connect_timeout_ms = o->connect_timeout_ms;
  co.max_connections_per_origin = o->connections_per_host;
  co.max_streams_per_connection = o->streams_per_connection;
  co.no_reuse = o->no_reuse;
  co.cookies = o->cookies;
  co.h2_coalesce_ms = o->no_coalesce ? 0 : o->h2_coalesce_ms ? o->h2_coalesce_ms : 1;
  unsigned started = 0;
  int e = 0;
  for (unsigned i = 0; i < n && !e; i++) {
    worker *w = &b->workers[i];
    w->b = b;
    w->index = (int)i;
    /* the global cap shared out (bsched_init below): the first (conc % n)
     * workers take one more */
    pthread_mutex_init(&w->lock, NULL);
    gq_init(&w->inbox);
    bsched_init(&w->s, conc / n + (i < conc % n ? 1 : 0), o->per_host, o->per_host_rate);
    if (uv_loop_init(&w->loop) != 0) {
      e = GUISE_E_NOMEM;
      break;
    }
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    uv_timer_init(&w->loop, &w->timer);
    w->timer.data = w;
    e = guise_client_new((struct uv_loop_s *)&w->loop, &co, &w->client);
    if (e) {
      uv_close((uv_handle_t *)&w->wake, NULL);
      uv_close((uv_handle_t *)&w->timer, NULL);
      uv_run(&w->loop, UV_RUN_DEFAULT);
      uv_loop_close(&w->loop);
      break;
    }
    if (uv_thread_create(&w->thread, worker_main, w) != 0) {
      close_worker(w);
      uv_run(&w->loop, UV_RUN_DEFAULT);
      uv_loop_close(&w->loop);
      e = GUISE_E_NOMEM;
      break;
    }
    started++;
  }
  if (e) {
    b->n_workers = started;
    guise_batch_finish(b);
    return e;
  }
  *out = b;
  return 0;
}

/* The worker of a job: by host, so that a host's jobs share one pool and its
 * limits (the same key as the worker's host table). */

/* Moves the staged jobs of every worker to its inbox (under submit_lock). */
static void hand_over(guise_batch *b) {
  for (unsigned i = 0; i < b->n_workers && b->staged_total; i++) {
    if (gq_empty(&b->staged[i])) continue;
    worker *w = &b->workers[i];
    pthread_mutex_lock(&w->lock);
    queue_append_all(&w->inbox, &b->staged[i]);
    pthread_mutex_unlock(&w->lock);
    b->staged_total -= b->n_staged[i];
    b->n_staged[i] = 0;
    uv_async_send(&w->wake);
  }
}

/* hand_over() from a thread that is not the submitter. The wish is raised first,
 * then whoever gets the lock hands over: this thread (trylock; a blocking lock
 * would deadlock with a submitter that waits on |cond| holding the lock), or the
 * holder — a worker in here, or a submitter, which looks at |handover_wanted|
 * after it unlocks (guise_batch_submit). Raised before the trylock, the wish
 * cannot fall between a submitter's last look and its unlock unseen. */
static void hand_over_staged(guise_batch *b) {
  atomic_store(&b->handover_wanted, 1);
  while (atomic_load(&b->handover_wanted) && pthread_mutex_trylock(&b->submit_lock) == 0) {
    atomic_store(&b->handover_wanted, 0);
    hand_over(b);
    pthread_mutex_unlock(&b->submit_lock);
  }
}

int guise_batch_submit(guise_batch *b, const guise_job *in) {
  if (b == NULL || in == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  guise_job jb;
  memset(&jb, 0, sizeof(jb));
  memcpy(&jb, in, in->size < sizeof(jb) ? in->size : sizeof(jb));
  /* The per-host key (the URL's authority as written, lowercased, without
   * userinfo): made here once, outside the lock, for the shard and the
   * worker's host table. */
  char key[300];
  bsched_host_key(jb.url ? jb.url : "", key, sizeof(key));
  size_t key_len = strlen(key) + 1;
  pthread_mutex_lock(&b->submit_lock);
  if (atomic_load(&b->pending) >= b->o.max_pending && !atomic_load(&b->stopped)) {
    hand_over(b); /* the workers need what is staged to get below the mark */
    pthread_mutex_lock(&b->lock);
    atomic_fetch_add(&b->waiters, 1);
    while (!atomic_load(&b->stopped) && atomic_load(&b->pending) > b->low_mark)
      pthread_cond_wait(&b->cond, &b->lock);
    atomic_fetch_sub(&b->waiters, 1);
    pthread_mutex_unlock(&b->lock);
  }
  if (atomic_load(&b->stopped)) {
    pthread_mutex_unlock(&b->submit_lock);
    return GUISE_E_CANCELLED;
  }
  atomic_fetch_add(&b->pending, 1);
  atomic_fetch_add(&b->submitted, 1);
  /* One allocation for the strings, one for the job. */
  size_t need = 0;
#define LEN(s) ((s) ? strlen(s) + 1 : 0)
  need += LEN(jb.id) + LEN(jb.url) + LEN(jb.method) + LEN(jb.profile) + LEN(jb.proxy) + LEN(jb.meta) +
          LEN(jb.kind) + LEN(jb.referer);
  for (size_t i = 0; i < jb.n_headers; i++) need += LEN(jb.headers[i].name) + LEN(jb.headers[i].value);
#undef LEN
  need += key_len;
  need += jb.n_headers * sizeof(guise_header) + (jb.has_body ? jb.body_len : 0) + 16;
  /* One allocation: the job, then its strings (fewer trips to the allocator,
   * whose lock the submitter and the workers share). */
  bjob *j = malloc(sizeof(*j) + need);
  char *arena = j ? (char *)(j + 1) : NULL;
  if (j) memset(j, 0, sizeof(*j));
  if (arena == NULL) {
    pthread_mutex_unlock(&b->submit_lock);
    job_ended(b);
    return GUISE_E_NOMEM;
  }
  gq_init(&j->sched.link);
  j->body_fd = -1;
  j->retry_after_s = -1;
  j->body_buf.max = b->o.max_body && b->o.max_body < BATCH_INLINE_CAP ? b->o.max_body : BATCH_INLINE_CAP;
  j->headers_json.max = BATCH_HEADERS_CAP;
  char *at = arena;
  j->headers = (guise_header *)at;
  at += jb.n_headers * sizeof(guise_header);
#define KEEP(dst, s)                 \
  do {                               \
    if (s) {                         \
      size_t l_ = strlen(s) + 1;     \
      memcpy(at, s, l_);             \
      dst = at;                      \
      at += l_;                      \
    }                                \
  } while (0)
  KEEP(j->id, jb.id);
  KEEP(j->url, jb.url);
  KEEP(j->method, jb.method);
  KEEP(j->profile, jb.profile);
  KEEP(j->proxy, jb.proxy);
  KEEP(j->meta, jb.meta);
  KEEP(j->kind, jb.kind);
  KEEP(j->referer, jb.referer);
  for (size_t i = 0; i < jb.n_headers; i++) {
    KEEP(j->headers[i].name, jb.headers[i].name);
    KEEP(j->headers[i].value, jb.headers[i].value);
  }
#undef KEEP
  j->n_headers = jb.n_headers;
  if (jb.has_body) {
    j->body = (unsigned char *)at;
    if (jb.body_len) memcpy(at, jb.body, jb.body_len);
    at += jb.body_len;
    j->body_len = jb.body_len;
    j->has_body = 1;
  }
  j->line = jb.line;
  j->http_version = jb.size > offsetof(guise_job, http_version) ? jb.http_version : 0;
  if (j->url == NULL) j->url = "";
  memcpy(at, key, key_len);
  j->host_key = at;
  at += key_len;
  j->host_hash = hmap_hash_str(key);
  unsigned wi = (unsigned)(j->host_hash % b->n_workers);
  gq_insert_tail(&b->staged[wi], &j->sched.link);
  b->n_staged[wi]++;
  b->staged_total++;
  /* Hand over in runs; at once when the workers may run short (few pending
   * beyond what is staged: the start, or input that trickles in). */
  if (b->staged_total >= 64 || atomic_load(&b->pending) - b->staged_total < b->o.concurrency) hand_over(b);
  pthread_mutex_unlock(&b->submit_lock);
  if (atomic_exchange(&b->handover_wanted, 0)) hand_over_staged(b);
  return 0;
}

void guise_batch_stop(guise_batch *b, int cancel) {
  pthread_mutex_lock(&b->lock);
  atomic_store(&b->stopped, 1);
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
  for (unsigned i = 0; i < b->n_workers; i++) {
    worker *w = &b->workers[i];
    pthread_mutex_lock(&w->lock);
    w->ctl_stop = 1;
    if (cancel) w->ctl_cancel = 1;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->wake);
  }
}

void guise_batch_wait(guise_batch *b) {
  pthread_mutex_lock(&b->submit_lock);
  hand_over(b);
  pthread_mutex_unlock(&b->submit_lock);
  pthread_mutex_lock(&b->lock);
  atomic_fetch_add(&b->end_waiters, 1);
  while (atomic_load(&b->pending) > 0) pthread_cond_wait(&b->cond, &b->lock);
  atomic_fetch_sub(&b->end_waiters, 1);
  pthread_mutex_unlock(&b->lock);
}

int guise_batch_finish(guise_batch *b) {
  if (b == NULL) return 0;
  guise_batch_wait(b);
  for (unsigned i = 0; i < b->n_workers; i++) {
    worker *w = &b->workers[i];
    pthread_mutex_lock(&w->lock);
    w->ctl_quit = 1;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->wake);
  }
  for (unsigned i = 0; i < b->n_workers; i++) {
    worker *w = &b->workers[i];
    uv_thread_join(&w->thread);
    uv_loop_close(&w->loop);
    pthread_mutex_destroy(&w->lock);
  }
  batch_free(b);
  return 0;
}

void guise_batch_stats_get(guise_batch *b, guise_batch_stats *out) {
  memset(out, 0, sizeof(*out));
  out->size = sizeof(*out);
  out->submitted = atomic_load(&b->submitted);
  out->done = atomic_load(&b->done);
  out->ok = atomic_load(&b->ok);
  out->failed = atomic_load(&b->failed);
  out->retries = atomic_load(&b->retries);
  out->in_flight = atomic_load(&b->in_flight);
  out->interrupted = atomic_load(&b->interrupted);
  for (int i = 0; i < 12; i++) out->by_class[i] = atomic_load(&b->by_class[i]);
  unsigned long long hist[BATCH_HIST], total = 0;
  for (int i = 0; i < BATCH_HIST; i++) total += hist[i] = atomic_load(&b->hist[i]);
  /* bucket k holds [2^(k-1), 2^k) microseconds: report its upper edge */
  for (int q = 0; q < 2 && total; q++) {
    unsigned long long want = (unsigned long long)((q ? 0.99 : 0.5) * (double)total), acc = 0;
    int k = 0;
    while (k < BATCH_HIST - 1 && acc + hist[k] <= want) acc += hist[k++];
    double ms = (double)(1ull << k) / 1000.0;
    if (q) out->p99_ms = ms;
    else out->p50_ms = ms;
  }
}

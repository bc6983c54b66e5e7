/*
 * batch.c — the batch scheduler (docs/BATCH.md): worker threads, each with its
 * own libuv loop and guise_client (pool, DNS cache, TLS sessions); jobs are
 * sharded by host so that connection reuse, the per-host limit and the per-host
 * rate are all local to one worker. A loop module.
 *
 *   submit (any thread) --> worker inbox (mutex + uv_async) --> ready queue
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
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/base64.h>
#include <uv.h>

#include "guise.h"
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
#define BATCH_HOSTS_MAX 65536            /* per worker; idle host entries beyond go */
#define BATCH_HIST 64                    /* latency histogram buckets (log2 of microseconds) */
/* Rates a batch takes (requests per second): below the least, a token's wait in
 * ms overflows a 64-bit integer (1e-300 was undefined behaviour). */
#define BATCH_MIN_RATE 0.001
#define BATCH_MAX_RATE 1e7
#define BATCH_MAX_TIME_MS 86400000u      /* timeouts: a day at most */

typedef struct worker worker;
typedef struct host host;

/* A growable byte buffer with a cap. */
typedef struct sbuf {
  char *p;
  size_t len, cap, max;
  int over;
  int borrowed; /* |p| is not ours to realloc or free */
} sbuf;

static int sb_grow(sbuf *b, size_t n) {
  if (b->len + n > b->max) {
    b->over = 1;
    return -1;
  }
  size_t nc = b->cap ? b->cap * 2 : 256;
  while (nc < b->len + n + 1) nc *= 2;
  char *q;
  if (b->borrowed) { /* a caller's buffer (on its stack): move to the heap */
    q = malloc(nc);
    if (q && b->len) memcpy(q, b->p, b->len);
  } else {
    q = realloc(b->p, nc);
  }
  if (q == NULL) return -1;
  b->p = q;
  b->cap = nc;
  b->borrowed = 0;
  return 0;
}

/* A record makes some sixty of these: the common case inline, no call. */
static inline int sb_put(sbuf *b, const void *p, size_t n) {
  if ((b->len + n + 1 > b->cap || b->len + n > b->max) && sb_grow(b, n) != 0) return -1;
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static inline void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0) sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Numbers without printf (a record has a dozen; printf's float path dominated
 * the cost of a record). */
static void sb_u64(sbuf *b, unsigned long long v) {
  char t[24];
  size_t k = sizeof(t);
  do {
    t[--k] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sb_put(b, t + k, sizeof(t) - k);
}

/* Milliseconds with three decimals (microseconds), as "12.345". */
static void sb_ms(sbuf *b, double ms) {
  if (!(ms >= 0)) ms = 0;
  unsigned long long us = (unsigned long long)(ms * 1000 + 0.5);
  sb_u64(b, us / 1000);
  char f[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10)};
  sb_put(b, f, 4);
}

/* A JSON string: UTF-8 passed through when valid, other bytes as \u00XX. */
static void sb_json(sbuf *b, const char *s, size_t n) {
  sb_put(b, "\"", 1);
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t run = 0;
    if (c >= 0x80) {
      /* RFC 3629: accept well-formed sequences only */
      size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
      if (need && i + need <= n) {
        size_t k = 1;
        while (k < need && ((unsigned char)s[i + k] & 0xC0) == 0x80) k++;
        if (k == need) run = need;
      }
      if (run) {
        sb_put(b, s + i, run);
        i += run;
        continue;
      }
      sb_printf(b, "\\u%04x", c);
      i++;
      continue;
    }
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sb_put(b, e, 2);
    } else if (c < 0x20 || c == 0x7f) {
      if (c == '\n') sb_put(b, "\\n", 2);
      else if (c == '\r') sb_put(b, "\\r", 2);
      else if (c == '\t') sb_put(b, "\\t", 2);
      else sb_printf(b, "\\u%04x", c);
    } else {
      size_t j = i;
      while (j < n && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x7f && s[j] != '"' && s[j] != '\\') j++;
      sb_put(b, s + i, j - i);
      i = j;
      continue;
    }
    i++;
  }
  sb_put(b, "\"", 1);
}

/* A JSON string of |p| in base64 (RFC 4648, padded): BoringSSL's encoder. */
static void sb_base64(sbuf *b, const unsigned char *p, size_t n) {
  size_t out_len;
  char *tmp = EVP_EncodedLength(&out_len, n) ? malloc(out_len) : NULL;
  if (tmp == NULL) {
    b->over = 1;
    return;
  }
  size_t k = EVP_EncodeBlock((uint8_t *)tmp, p, n);
  sb_put(b, "\"", 1);
  sb_put(b, tmp, k);
  sb_put(b, "\"", 1);
  free(tmp);
}

/* ---- jobs ------------------------------------------------------------------------ */

typedef struct bjob {
  struct bjob *next;
  worker *w;
  host *h;
  /* every string of the job follows the struct, in the same allocation */
  const char *id, *url, *method, *profile, *proxy, *meta;
  guise_header *headers;
  size_t n_headers;
  unsigned char *body;
  size_t body_len;
  int has_body;
  unsigned long long line;
  int http_version;
  unsigned attempts;
  uint64_t not_before;           /* uv_now() of the worker */
  /* the attempt in flight */
  int status;
  double retry_after_s;          /* from a 429/503, -1 if none */
  sbuf headers_json;
  sbuf body_buf;
  safe_file body_file;           /* --body-dir: a temp file, renamed to body_path when the job succeeds */
  int body_fd;                   /* body_file.fd while it is open, else -1 */
  char *body_path;
  unsigned long long body_bytes;
} bjob;

struct host {
  host *next;                    /* hash chain */
  char *name;
  unsigned in_flight;
  bjob *parked, *parked_tail;    /* waiting for the host's in-flight cap */
  double tokens;
  uint64_t refill_ns;
};

struct worker {
  guise_batch *b;
  int index;
  uv_thread_t thread;
  uv_loop_t loop;
  uv_async_t wake;
  uv_timer_t timer;              /* retries and rate waits */
  guise_client *client;
  pthread_mutex_t lock;          /* inbox */
  bjob *inbox, *inbox_tail;
  /* loop-thread only */
  bjob *ready, *ready_tail;
  bjob *delayed;                 /* sorted by not_before */
  host **hosts;
  size_t n_hosts, n_buckets;
  unsigned in_flight, cap;
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
  /* Jobs handed to a worker in runs: staged here (under submit_lock) and moved
   * to the worker's inbox 64 at a time, or at once when the workers may be short
   * of work. |staged_total| is written under submit_lock and read without it by
   * job_ended; |handover_wanted|: a job ended while the lock was held (see
   * hand_over_staged). */
  struct bjob **staged_head, **staged_tail;
  unsigned *n_staged;
  atomic_uint staged_total;
  atomic_int handover_wanted;
  /* global rate */
  double tokens;
  uint64_t refill_ns;
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

int guise_batch_class_index(int code) {
  static const char *const names[] = {"usage", "dns", "connect", "tls", "certificate", "proxy",
                                      "http", "decoding", "profile", "timeout", "resource"};
  const char *c = guise_err_class(code);
  for (int i = 0; i < 11; i++)
    if (strcmp(c, names[i]) == 0) return i;
  return 11;
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

/* ---- hosts ----------------------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

static host *host_get(worker *w, const char *name) {
  if (w->n_buckets == 0 || w->n_hosts + 1 > w->n_buckets) {
    size_t nb = w->n_buckets ? w->n_buckets * 2 : 256;
    host **nbk = calloc(nb, sizeof(*nbk));
    if (nbk == NULL) return NULL;
    for (size_t i = 0; i < w->n_buckets; i++)
      for (host *h = w->hosts[i], *next; h; h = next) {
        next = h->next;
        size_t k = hash_str(h->name) & (nb - 1);
        h->next = nbk[k];
        nbk[k] = h;
      }
    free(w->hosts);
    w->hosts = nbk;
    w->n_buckets = nb;
  }
  size_t k = hash_str(name) & (w->n_buckets - 1);
  for (host *h = w->hosts[k]; h; h = h->next)
    if (strcmp(h->name, name) == 0) return h;
  host *h = calloc(1, sizeof(*h));
  if (h == NULL || (h->name = strdup(name)) == NULL) {
    free(h);
    return NULL;
  }
  h->tokens = 1;
  h->refill_ns = uv_hrtime();
  h->next = w->hosts[k];
  w->hosts[k] = h;
  w->n_hosts++;
  return h;
}

/* Token buckets: |rate| per second, a burst of max(1, rate / 10). Returns 0 when
 * a token was taken, else the milliseconds until one is there. */
static uint64_t bucket_take(double *tokens, uint64_t *refill_ns, double rate) {
  if (rate <= 0) return 0;
  uint64_t now = uv_hrtime();
  double burst = rate / 10 > 1 ? rate / 10 : 1;
  *tokens += (double)(now - *refill_ns) / 1e9 * rate;
  if (*tokens > burst) *tokens = burst;
  *refill_ns = now;
  if (*tokens >= 1) {
    *tokens -= 1;
    return 0;
  }
  uint64_t ms = (uint64_t)ceil((1 - *tokens) / rate * 1000);
  return ms ? ms : 1;
}

static uint64_t global_take(guise_batch *b) {
  if (b->o.rate <= 0) return 0;
  pthread_mutex_lock(&b->lock);
  uint64_t ms = bucket_take(&b->tokens, &b->refill_ns, b->o.rate);
  pthread_mutex_unlock(&b->lock);
  return ms;
}

/* ---- records --------------------------------------------------------------------- */

static void record(bjob *j, int err, const guise_response_info *info, const char *detail) {
  worker *w = j->w;
  guise_batch *b = w->b;
  char stack[2048];
  sbuf r = {.p = NULL, .max = SIZE_MAX};
  /* Most records fit on the stack: no allocation for them. */
  r.p = stack;
  r.cap = sizeof(stack);
  r.borrowed = 1;
  int on_stack;
#define PUT(s) sb_str(&r, s)
  PUT("{\"id\":");
  if (j->id) {
    sb_json(&r, j->id, strlen(j->id));
  } else {
    PUT("\"");
    sb_u64(&r, j->line);
    PUT("\"");
  }
  if (j->line) {
    PUT(",\"line\":");
    sb_u64(&r, j->line);
  }
  /* The URL with its password hidden (the library's effective_url and
   * redirect URLs already are); one with a password and over 8 KiB (not a URL
   * guise sends) is cut. */
  char shown[8200];
  const char *url_shown = guise_url_redact(j->url ? j->url : "", shown, sizeof(shown));
  size_t ul = strlen(url_shown);
  PUT(",\"url\":");
  sb_json(&r, url_shown, ul);
  PUT(",\"final_url\":");
  if (info && info->effective_url && info->effective_url[0])
    sb_json(&r, info->effective_url, strlen(info->effective_url));
  else
    sb_json(&r, url_shown, ul);
  if (info && info->n_redirects) {
    PUT(",\"redirects\":[");
    for (size_t i = 0; i < info->n_redirects; i++) {
      PUT(i ? ",{\"url\":" : "{\"url\":");
      sb_json(&r, info->redirect_urls[i] ? info->redirect_urls[i] : "",
              info->redirect_urls[i] ? strlen(info->redirect_urls[i]) : 0);
      PUT(",\"status\":");
      sb_u64(&r, (unsigned long long)info->redirect_statuses[i]);
      PUT("}");
    }
    PUT("]");
  }
  PUT(",\"status\":");
  sb_u64(&r, info && info->status > 0 ? (unsigned long long)info->status : 0);
  PUT(",\"http_version\":\"");
  PUT(info ? info->http_version : "");
  PUT("\"");
  if (err) {
    PUT(",\"error\":\"");
    PUT(guise_err_name(err));
    PUT("\",\"error_class\":\"");
    PUT(guise_err_class(err));
    PUT("\"");
    const char *d = detail ? detail : info && info->error_detail ? info->error_detail : "";
    if (*d) {
      PUT(",\"error_detail\":");
      sb_json(&r, d, strlen(d));
    }
  } else {
    PUT(",\"error\":null");
  }
  PUT(",\"attempts\":");
  sb_u64(&r, j->attempts);
  const char *prof = j->profile ? j->profile : b->profile ? b->profile : "none";
  PUT(",\"profile\":");
  sb_json(&r, prof, strlen(prof));
  if (info) {
    PUT(info->reused ? ",\"reused\":true,\"bytes\":" : ",\"reused\":false,\"bytes\":");
    sb_u64(&r, info->body_bytes);
    PUT(",\"wire_bytes\":");
    sb_u64(&r, info->wire_body_bytes);
    PUT(",\"timings\":{\"dns\":");
    sb_ms(&r, info->dns_ms);
    PUT(",\"connect\":");
    sb_ms(&r, info->connect_ms);
    PUT(",\"tls\":");
    sb_ms(&r, info->tls_ms);
    PUT(",\"ttfb\":");
    sb_ms(&r, info->ttfb_ms);
    PUT(",\"total\":");
    sb_ms(&r, info->total_ms);
    PUT("}");
    if (info->remote[0]) {
      PUT(",\"remote\":\"");
      PUT(info->remote); /* ip:port, nothing to escape */
      PUT("\"");
    }
    if (info->tls_version[0]) {
      PUT(",\"tls\":{\"version\":\"");
      PUT(info->tls_version);
      PUT("\",\"cipher\":\"");
      PUT(info->tls_cipher);
      PUT("\",\"group\":\"");
      PUT(info->tls_group);
      PUT("\",\"alpn\":");
      sb_json(&r, info->alpn, strlen(info->alpn));
      PUT("}");
    }
  }
  if (b->o.include_headers && j->headers_json.len) {
    PUT(",\"headers\":[");
    sb_put(&r, j->headers_json.p, j->headers_json.len);
    PUT("]");
  }
  if (!err && b->o.body_mode == GUISE_BODY_TEXT) {
    PUT(",\"body\":");
    sb_json(&r, j->body_buf.p ? j->body_buf.p : "", j->body_buf.len);
  } else if (!err && b->o.body_mode == GUISE_BODY_BASE64) {
    PUT(",\"body_base64\":");
    sb_base64(&r, (const unsigned char *)(j->body_buf.p ? j->body_buf.p : ""), j->body_buf.len);
  } else if (!err && b->o.body_mode == GUISE_BODY_DIR && j->body_path) {
    PUT(",\"body_file\":");
    sb_json(&r, j->body_path, strlen(j->body_path));
  }
  if (j->body_buf.over) PUT(",\"body_truncated\":true");
  if (j->meta) {
    PUT(",\"meta\":");
    PUT(j->meta);
  }
  PUT("}");
#undef PUT
  on_stack = r.p == stack;
  if (r.p) emit(b, r.p, r.len, err);
  if (!on_stack) free(r.p);
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

static void delay_insert(worker *w, bjob *j) {
  bjob **pp = &w->delayed;
  while (*pp && (*pp)->not_before <= j->not_before) pp = &(*pp)->next;
  j->next = *pp;
  *pp = j;
}

static void host_done(worker *w, host *h) {
  h->in_flight--;
  if (h->parked) { /* the next of this host goes first */
    bjob *j = h->parked;
    h->parked = j->next;
    if (!h->parked) h->parked_tail = NULL;
    j->next = w->ready;
    w->ready = j;
    if (!w->ready_tail) w->ready_tail = j;
  }
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

static int on_headers(void *ud, int status, const guise_header *h, size_t n) {
  bjob *j = ud;
  j->status = status;
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

static void on_complete(void *ud, int err, const guise_response_info *info) {
  bjob *j = ud;
  worker *w = j->w;
  guise_batch *b = w->b;
  atomic_fetch_sub(&b->in_flight, 1);
  w->in_flight--;
  host_done(w, j->h);
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
    j->not_before = uv_now(&w->loop) + delay;
    delay_insert(w, j);
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
  j->attempts++;
  j->retry_after_s = -1;
  if (b->o.body_mode == GUISE_BODY_DIR && j->body_fd < 0) {
    /* A temp file of mkstemp's in the folder (a name that can be guessed from the
     * id is never opened: a symlink planted there was followed). */
    if (j->body_path == NULL || safe_file_open(&j->body_file, j->body_path, b->body_mode,
                                                SAFE_FILE_EXACT_MODE | SAFE_FILE_NO_FOLLOW) != 0) {
      char why[200];
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
  w->in_flight++;
  j->h->in_flight++;
  atomic_fetch_add(&b->in_flight, 1);
  int e = guise_client_request(w->client, &o, &cb, j);
  if (e) {
    w->in_flight--;
    j->h->in_flight--;
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

static void pump(worker *w) {
  guise_batch *b = w->b;
  if (w->closing) return;
  uint64_t now = uv_now(&w->loop);
  /* retries whose time has come go to the front */
  while (w->delayed && (w->delayed->not_before <= now || w->stopping)) {
    bjob *j = w->delayed;
    w->delayed = j->next;
    if (w->stopping) { /* not started again: interrupted */
      interrupt(j);
      continue;
    }
    j->next = w->ready;
    w->ready = j;
    if (!w->ready_tail) w->ready_tail = j;
  }
  while (w->ready && w->in_flight < w->cap && !w->stopping) {
    bjob *j = w->ready;
    host *h = j->h;
    if (b->o.per_host && h->in_flight >= b->o.per_host) {
      w->ready = j->next;
      if (!w->ready) w->ready_tail = NULL;
      j->next = NULL;
      if (h->parked_tail) h->parked_tail->next = j;
      else h->parked = j;
      h->parked_tail = j;
      continue;
    }
    uint64_t wait = bucket_take(&h->tokens, &h->refill_ns, b->o.per_host_rate);
    if (!wait) wait = global_take(b);
    if (wait) {
      arm(w, wait);
      break;
    }
    w->ready = j->next;
    if (!w->ready) w->ready_tail = NULL;
    start(w, j);
  }
  if (w->stopping) {
    /* jobs that never started: interrupted, no record */
    while (w->ready) {
      bjob *j = w->ready;
      w->ready = j->next;
      interrupt(j);
    }
    w->ready_tail = NULL;
    for (size_t i = 0; i < w->n_buckets; i++)
      for (host *h = w->hosts[i]; h; h = h->next)
        while (h->parked) {
          bjob *j = h->parked;
          h->parked = j->next;
          interrupt(j);
        }
  }
  if (w->delayed && !w->stopping) arm(w, w->delayed->not_before > now ? w->delayed->not_before - now : 1);
}

static void free_hosts(worker *w) {
  for (size_t i = 0; i < w->n_buckets; i++)
    for (host *h = w->hosts[i], *next; h; h = next) {
      next = h->next;
      free(h->name);
      free(h);
    }
  free(w->hosts);
  w->hosts = NULL;
  w->n_buckets = w->n_hosts = 0;
}

/* Every job has ended: the worker's handles close and its loop returns. */
static void close_worker(worker *w) {
  if (w->closing) return;
  w->closing = 1;
  if (w->client) guise_client_close(w->client);
  w->client = NULL;
  uv_close((uv_handle_t *)&w->wake, NULL);
  uv_close((uv_handle_t *)&w->timer, NULL);
  free_hosts(w);
}

/* The authority of |u| (after "scheme://", before the path; userinfo dropped),
 * lowercased, truncated to |cap| - 1. */
static void authority_key(const char *u, char *out, size_t cap) {
  const char *p = strstr(u, "://");
  p = p ? p + 3 : u;
  size_t n = strcspn(p, "/?#");
  const char *at = memchr(p, '@', n);
  while (at) { /* the last '@' ends the userinfo */
    const char *next = memchr(at + 1, '@', n - (size_t)(at + 1 - p));
    if (!next) break;
    at = next;
  }
  if (at) {
    n -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  if (n >= cap) n = cap - 1;
  for (size_t i = 0; i < n; i++) out[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
  out[n] = '\0';
}

/* Jobs from the submitter: each gets its host, then waits in the ready queue. */
static void on_wake(uv_async_t *a) {
  worker *w = a->data;
  pthread_mutex_lock(&w->lock);
  bjob *list = w->inbox;
  w->inbox = w->inbox_tail = NULL;
  int stop = w->ctl_stop, cancel = w->ctl_cancel, quit = w->ctl_quit;
  pthread_mutex_unlock(&w->lock);
  if (w->closing) return;
  for (bjob *j = list, *next; j; j = next) {
    next = j->next;
    j->next = NULL;
    j->w = w;
    /* The per-host key is the URL's authority as written (lowercased, without
     * userinfo); the URL itself is checked by guise_client_request. */
    char key[300];
    authority_key(j->url, key, sizeof(key));
    j->h = host_get(w, key);
    if (j->h == NULL) {
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
                   (unsigned long long)hash_str(id)) < 0)
        j->body_path = NULL;
    }
    if (w->ready_tail) w->ready_tail->next = j;
    else w->ready = j;
    w->ready_tail = j;
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
  free(b->staged_head);
  free(b->staged_tail);
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
  b->staged_head = calloc(n, sizeof(*b->staged_head));
  b->staged_tail = calloc(n, sizeof(*b->staged_tail));
  b->n_staged = calloc(n, sizeof(*b->n_staged));
  if (!b->staged_head || !b->staged_tail || !b->n_staged) {
    batch_free(b);
    return GUISE_E_NOMEM;
  }
  b->tokens = 1;
  b->refill_ns = uv_hrtime();
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
    /* the global cap shared out: the first (conc % n) workers take one more */
    w->cap = conc / n + (i < conc % n ? 1 : 0);
    pthread_mutex_init(&w->lock, NULL);
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
static unsigned shard(const guise_batch *b, const char *u) {
  char key[300];
  authority_key(u, key, sizeof(key));
  return (unsigned)(hash_str(key) % b->n_workers);
}

/* Moves the staged jobs of every worker to its inbox (under submit_lock). */
static void hand_over(guise_batch *b) {
  for (unsigned i = 0; i < b->n_workers && b->staged_total; i++) {
    if (!b->staged_head[i]) continue;
    worker *w = &b->workers[i];
    pthread_mutex_lock(&w->lock);
    if (w->inbox_tail) w->inbox_tail->next = b->staged_head[i];
    else w->inbox = b->staged_head[i];
    w->inbox_tail = b->staged_tail[i];
    pthread_mutex_unlock(&w->lock);
    b->staged_total -= b->n_staged[i];
    b->staged_head[i] = b->staged_tail[i] = NULL;
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
  need += LEN(jb.id) + LEN(jb.url) + LEN(jb.method) + LEN(jb.profile) + LEN(jb.proxy) + LEN(jb.meta);
  for (size_t i = 0; i < jb.n_headers; i++) need += LEN(jb.headers[i].name) + LEN(jb.headers[i].value);
#undef LEN
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
  for (size_t i = 0; i < jb.n_headers; i++) {
    KEEP(j->headers[i].name, jb.headers[i].name);
    KEEP(j->headers[i].value, jb.headers[i].value);
  }
#undef KEEP
  j->n_headers = jb.n_headers;
  if (jb.has_body) {
    j->body = (unsigned char *)at;
    if (jb.body_len) memcpy(at, jb.body, jb.body_len);
    j->body_len = jb.body_len;
    j->has_body = 1;
  }
  j->line = jb.line;
  j->http_version = jb.size > offsetof(guise_job, http_version) ? jb.http_version : 0;
  if (j->url == NULL) j->url = "";
  unsigned wi = shard(b, j->url);
  if (b->staged_tail[wi]) b->staged_tail[wi]->next = j;
  else b->staged_head[wi] = j;
  b->staged_tail[wi] = j;
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

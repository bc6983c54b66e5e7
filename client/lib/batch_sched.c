/* batch_sched.c — see batch_sched.h. */
#include "batch_sched.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bs_bucket_init(bs_bucket *k, uint64_t now_ns) {
  k->tokens = 1;
  k->refill_ns = now_ns;
}

uint64_t bs_bucket_take(bs_bucket *k, double rate, uint64_t now_ns) {
  if (rate <= 0) return 0;
  double burst = rate / 10 > 1 ? rate / 10 : 1;
  k->tokens += (double)(now_ns - k->refill_ns) / 1e9 * rate;
  if (k->tokens > burst) k->tokens = burst;
  k->refill_ns = now_ns;
  if (k->tokens >= 1) {
    k->tokens -= 1;
    return 0;
  }
  /* rate >= 0.001 (guise_batch_new): the wait fits in 64 bits */
  uint64_t ms = (uint64_t)ceil((1 - k->tokens) / rate * 1000);
  return ms ? ms : 1;
}

void bsched_init(bsched *s, unsigned cap, unsigned per_host, double per_host_rate) {
  memset(s, 0, sizeof(*s));
  hmap_init(&s->hosts);
  gq_init(&s->ready);
  gq_init(&s->delayed);
  gq_init(&s->cold);
  gq_init(&s->openers);
  s->cap = cap;
  s->max_opening = BSCHED_MAX_OPENING;
  s->per_host = per_host;
  s->per_host_rate = per_host_rate;
}

void bsched_free(bsched *s) {
  for (size_t i = 0; i < s->hosts.n_buckets; i++)
    for (hmap_node *n = s->hosts.buckets[i], *next; n; n = next) {
      next = n->next;
      free(gq_data(n, bs_host, node));
    }
  hmap_free(&s->hosts);
}

bs_host *bsched_host_find(const bsched *s, const char *name, uint64_t hash) {
  for (hmap_node *n = hmap_chain(&s->hosts, hash); n; n = n->next) {
    bs_host *h = gq_data(n, bs_host, node);
    if (n->hash == hash && strcmp(h->name, name) == 0) return h;
  }
  return NULL;
}

bs_host *bsched_host_add(bsched *s, const char *name, uint64_t hash, uint64_t now_ns) {
  size_t len = strlen(name);
  bs_host *h = malloc(sizeof(*h) + len + 1);
  if (h == NULL) return NULL;
  memcpy(h->name, name, len + 1);
  h->in_flight = 0;
  h->warm = 0;
  h->opening = 0;
  h->last_end_ns = 0;
  gq_init(&h->parked);
  bs_bucket_init(&h->bucket, now_ns);
  if (hmap_insert(&s->hosts, &h->node, hash) != 0) {
    free(h);
    return NULL;
  }
  return h;
}

void bsched_push(bsched *s, bs_job *j) { gq_insert_tail(&s->ready, &j->link); }

void bsched_delay(bsched *s, bs_job *j, uint64_t not_before) {
  j->not_before = not_before;
  /* After the last job due no later: from the tail, where a new backoff usually
   * belongs. */
  gq *q = s->delayed.prev;
  while (q != &s->delayed && gq_data(q, bs_job, link)->not_before > not_before) q = q->prev;
  gq_insert_head(q, &j->link); /* after |q| */
}

void bsched_release_due(bsched *s, uint64_t now_ms) {
  gq *q;
  while ((q = gq_first(&s->delayed)) && gq_data(q, bs_job, link)->not_before <= now_ms) {
    gq_remove(q);
    gq_insert_head(&s->ready, q); /* a retry goes before the jobs that have not had a turn */
  }
}

int bsched_next_due(const bsched *s, uint64_t *due) {
  gq *q = gq_first(&s->delayed);
  if (q == NULL) return 0;
  *due = gq_data(q, bs_job, link)->not_before;
  return 1;
}

/* |h|'s next job would make a new connection: the host is cold and no job of it
 * is making one (the others go on that one, or queue in the pool for it). */
static int needs_opening(const bsched *s, const bs_host *h) {
  if (h->opening) return 0;
  return !h->warm || (h->in_flight == 0 && s->now_ns - h->last_end_ns > BSCHED_WARM_NS);
}

/* |j| stops counting as its host's opener: the host counts as reached (its
 * connection made, failed, or slow: its other jobs go on that one, or queue in
 * the pool for it). */
static void release(bsched *s, bs_job *j) {
  if (!j->opener) return;
  gq_remove(&j->link);
  j->opener = 0;
  j->host->opening = 0;
  j->host->warm = 1;
  j->host->last_end_ns = s->now_ns;
  s->opening--;
}

bs_job *bsched_peek(bsched *s, uint64_t now_ns, uint64_t *wait_ms) {
  *wait_ms = 0;
  if (now_ns > s->now_ns) s->now_ns = now_ns;
  gq *q;
  while ((q = gq_first(&s->openers)) && s->now_ns - gq_data(q, bs_job, link)->opened_ns >= BSCHED_OPENING_MAX_NS)
    release(s, gq_data(q, bs_job, link));
  while (s->in_flight < s->cap) {
    int room = !s->max_opening || s->opening < s->max_opening;
    q = room ? gq_first(&s->cold) : NULL;
    if (q == NULL && (q = gq_first(&s->ready)) == NULL) break;
    bs_job *j = gq_data(q, bs_job, link);
    bs_host *h = j->host;
    if (s->per_host && h->in_flight >= s->per_host) {
      gq_remove(q);
      gq_insert_tail(&h->parked, q);
      continue;
    }
    if (!room && needs_opening(s, h)) {
      /* from the ready queue (|cold| is not read without room): wait there */
      gq_remove(q);
      gq_insert_tail(&s->cold, q);
      continue;
    }
    uint64_t wait = bs_bucket_take(&h->bucket, s->per_host_rate, now_ns);
    if (wait) {
      *wait_ms = wait;
      return NULL;
    }
    return j;
  }
  if (s->in_flight < s->cap && !gq_empty(&s->cold) && (q = gq_first(&s->openers))) {
    /* jobs wait for |max_opening|: asked again when the oldest opener stops counting */
    uint64_t left = gq_data(q, bs_job, link)->opened_ns + BSCHED_OPENING_MAX_NS - s->now_ns;
    *wait_ms = left / 1000000 + 1;
  }
  return NULL;
}

void bsched_start(bsched *s, bs_job *j) {
  gq_remove(&j->link);
  j->opener = needs_opening(s, j->host); /* before it counts in its host's in flight */
  s->in_flight++;
  j->host->in_flight++;
  if (j->opener) {
    j->host->opening = 1;
    s->opening++;
    j->opened_ns = s->now_ns;
    gq_insert_tail(&s->openers, &j->link);
  }
}

int bsched_opened(bsched *s, bs_job *j) {
  if (!j->opener) return 0;
  release(s, j);
  return !gq_empty(&s->cold);
}

void bsched_unstart(bsched *s, bs_job *j) {
  s->in_flight--;
  j->host->in_flight--;
  if (!j->opener) return;
  /* never started: the host stays cold */
  gq_remove(&j->link);
  j->opener = 0;
  j->host->opening = 0;
  s->opening--;
}

void bsched_done(bsched *s, bs_job *j) {
  bs_host *h = j->host;
  s->in_flight--;
  h->in_flight--;
  release(s, j);
  h->last_end_ns = s->now_ns;
  gq *q = gq_first(&h->parked);
  if (q) { /* the next of this host goes first */
    gq_remove(q);
    gq_insert_head(&s->ready, q);
  }
}

/* Takes every job of |head| out, each before |fn| sees it. */
static void drain_queue(gq *head, void (*fn)(bs_job *, void *), void *arg) {
  gq *q;
  while ((q = gq_first(head))) {
    gq_remove(q);
    fn(gq_data(q, bs_job, link), arg);
  }
}

void bsched_drain(bsched *s, void (*fn)(bs_job *j, void *arg), void *arg) {
  drain_queue(&s->delayed, fn, arg);
  drain_queue(&s->cold, fn, arg);
  drain_queue(&s->ready, fn, arg);
  for (size_t i = 0; i < s->hosts.n_buckets; i++)
    for (hmap_node *n = s->hosts.buckets[i]; n; n = n->next) drain_queue(&gq_data(n, bs_host, node)->parked, fn, arg);
}

void bsched_host_key(const char *u, char *out, size_t cap) {
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

/* test_batch_sched.c — the batch scheduler (client/lib/batch_sched.h) on its own:
 * a fake clock, jobs as plain structs, no loop, no sockets. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_sched.h"

#include "../../lib/gtest_check.h"

#define MS 1000000ull /* ns */

typedef struct job {
  bs_job s;
  int n;
} job;

static int num(bs_job *q) { return q ? gq_data(q, job, s)->n : -1; }

/* Peeks and starts one job at |now_ns|: its number, or -1. */
static int start_one(bsched *s, uint64_t now_ns, uint64_t *wait) {
  bs_job *q = bsched_peek(s, now_ns, wait);
  if (q) bsched_start(s, q);
  return num(q);
}

/* The host |name|, added when new (as a worker does). */
static bs_host *host(bsched *s, const char *name, uint64_t now_ns) {
  uint64_t hash = hmap_hash_str(name);
  bs_host *h = bsched_host_find(s, name, hash);
  return h ? h : bsched_host_add(s, name, hash, now_ns);
}

static void test_bucket(void) {
  bs_bucket k;
  uint64_t t = 5 * MS;
  bs_bucket_init(&k, t);
  CHECK(bs_bucket_take(&k, 0, t) == 0); /* no limit */
  CHECK(bs_bucket_take(&k, 2, t) == 0); /* the first token */
  /* 2 per second, burst 1: the next in 500 ms */
  CHECK(bs_bucket_take(&k, 2, t) == 500);
  CHECK(bs_bucket_take(&k, 2, t + 250 * MS) == 250);
  CHECK(bs_bucket_take(&k, 2, t + 500 * MS) == 0);
  /* 100 per second: a burst of 10 after a second of rest, then 10 ms apart */
  bs_bucket_init(&k, 0);
  k.tokens = 0;
  int got = 0;
  while (bs_bucket_take(&k, 100, 1000 * MS) == 0) got++;
  CHECK(got == 10);
  CHECK(bs_bucket_take(&k, 100, 1000 * MS) == 10);
  /* the least rate the batch takes: a wait of 1,000 s, no overflow */
  bs_bucket_init(&k, 0);
  CHECK(bs_bucket_take(&k, 0.001, 0) == 0);
  uint64_t w = bs_bucket_take(&k, 0.001, 0);
  CHECK(w >= 1000000 && w <= 1000001);
}

static void test_hosts(void) {
  bsched s;
  bsched_init(&s, 10, 0, 0);
  CHECK(bsched_host_find(&s, "a.test:443", hmap_hash_str("a.test:443")) == NULL);
  bs_host *a = host(&s, "a.test:443", 0);
  CHECK(bsched_host_find(&s, "a.test:443", hmap_hash_str("a.test:443")) == a);
  bs_host *b = host(&s, "b.test", 0);
  CHECK(a && b && a != b);
  CHECK(host(&s, "a.test:443", 7) == a);
  CHECK(strcmp(a->name, "a.test:443") == 0 && a->in_flight == 0);
  /* many hosts: the table grows and finds each again */
  bs_host *h[3000];
  char name[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof(name), "h%d.test", i);
    h[i] = host(&s, name, 0);
  }
  int same = 1;
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof(name), "h%d.test", i);
    same &= host(&s, name, 0) == h[i];
  }
  CHECK(same && s.hosts.n == 3002);
  bsched_free(&s);
}

/* The worker's share of the concurrency, the per-host cap (parked, then the
 * next of the host first), order kept. */
static void test_caps(void) {
  bsched s;
  bsched_init(&s, 3, 1, 0);
  bs_host *a = host(&s, "a", 0), *b = host(&s, "b", 0);
  job j[6];
  bs_host *hs[6] = {a, a, b, a, b, b};
  for (int i = 0; i < 6; i++) {
    j[i].n = i;
    gq_init(&j[i].s.link);
    j[i].s.host = hs[i];
    bsched_push(&s, &j[i].s);
  }
  uint64_t wait = 99;
  CHECK(start_one(&s, 0, &wait) == 0);
  /* 1 (host a, full) parked; 2 (b) next */
  CHECK(start_one(&s, 0, &wait) == 2);
  /* 3 (a) parked, 4 (b) parked, 5 (b) parked: nothing can start */
  CHECK(start_one(&s, 0, &wait) == -1 && wait == 0);
  CHECK(s.in_flight == 2 && a->in_flight == 1 && b->in_flight == 1);
  CHECK(gq_empty(&s.ready));
  /* 0 ends: 1, the first parked on a, goes first */
  bsched_done(&s, &j[0].s);
  CHECK(start_one(&s, 0, &wait) == 1);
  bsched_done(&s, &j[2].s);
  CHECK(start_one(&s, 0, &wait) == 4);
  CHECK(s.in_flight == 2);
  bsched_done(&s, &j[1].s); /* 3 unparked */
  bsched_done(&s, &j[4].s); /* 5 unparked, ahead of 3 */
  CHECK(start_one(&s, 0, &wait) == 5);
  CHECK(start_one(&s, 0, &wait) == 3);
  CHECK(s.in_flight == 2);
  /* the worker cap: three of a fresh host */
  bs_host *c = host(&s, "c", 0);
  s.per_host = 0;
  job k[3];
  for (int i = 0; i < 3; i++) {
    k[i].n = 10 + i;
    gq_init(&k[i].s.link);
    k[i].s.host = c;
    bsched_push(&s, &k[i].s);
  }
  CHECK(start_one(&s, 0, &wait) == 10);
  CHECK(start_one(&s, 0, &wait) == -1 && wait == 0); /* 3 in flight */
  /* a start that failed at once frees its place */
  bsched_unstart(&s, &k[0].s);
  CHECK(start_one(&s, 0, &wait) == 11);
  bsched_free(&s);
}

/* Per-host rate: the host's bucket says how long to wait; the job stays first. */
static void test_host_rate(void) {
  bsched s;
  bsched_init(&s, 100, 0, 4); /* 4 per second per host, burst 1 */
  bs_host *a = host(&s, "a", 0);
  job j[2];
  for (int i = 0; i < 2; i++) {
    j[i].n = i;
    gq_init(&j[i].s.link);
    j[i].s.host = a;
    bsched_push(&s, &j[i].s);
  }
  uint64_t wait = 0;
  CHECK(start_one(&s, 0, &wait) == 0);
  CHECK(start_one(&s, 100 * MS, &wait) == -1 && wait == 150);
  CHECK(start_one(&s, 260 * MS, &wait) == 1);
  bsched_free(&s);
}

/* Backoff: sorted by due time (equal times in arrival order), released to the
 * front of the ready queue when due. */
static void test_delayed(void) {
  bsched s;
  bsched_init(&s, 100, 0, 0);
  bs_host *a = host(&s, "a", 0);
  job j[5];
  for (int i = 0; i < 5; i++) {
    j[i].n = i;
    gq_init(&j[i].s.link);
    j[i].s.host = a;
  }
  uint64_t due = 0;
  CHECK(bsched_next_due(&s, &due) == 0);
  bsched_delay(&s, &j[0].s, 300);
  bsched_delay(&s, &j[1].s, 100);
  bsched_delay(&s, &j[2].s, 300);
  bsched_delay(&s, &j[3].s, 200);
  CHECK(bsched_next_due(&s, &due) == 1 && due == 100);
  bsched_push(&s, &j[4].s);
  bsched_release_due(&s, 99);
  uint64_t wait;
  CHECK(num(bsched_peek(&s, 0, &wait)) == 4);
  bsched_release_due(&s, 200); /* 1 then 3: each to the front */
  int order[5], k = 0;
  bs_job *q;
  while ((q = bsched_peek(&s, 0, &wait)) && k < 5) {
    bsched_start(&s, q);
    order[k++] = num(q);
  }
  CHECK(k == 3 && order[0] == 3 && order[1] == 1 && order[2] == 4);
  CHECK(bsched_next_due(&s, &due) == 1 && due == 300);
  bsched_release_due(&s, 1000);
  k = 0;
  while ((q = bsched_peek(&s, 0, &wait)) && k < 5) {
    bsched_start(&s, q);
    order[k++] = num(q);
  }
  CHECK(k == 2 && order[0] == 2 && order[1] == 0);
  CHECK(bsched_next_due(&s, &due) == 0);
  bsched_free(&s);
}

/* New connections bounded per worker: a cold host's first job counts until it
 * ends (here: the clock stands still, and no answer's head comes), the cold hosts
 * past the bound wait in order while jobs of warm hosts, and of a host whose
 * connection is being made, go past them. */
static void test_opening(void) {
  bsched s;
  bsched_init(&s, 100, 0, 0);
  CHECK(s.max_opening == BSCHED_MAX_OPENING && s.max_opening > 0);
  s.max_opening = 2;
  bs_host *a = host(&s, "a", 0), *b = host(&s, "b", 0), *c = host(&s, "c", 0), *d = host(&s, "d", 0);
  job j[8];
  bs_host *hs[8] = {a, b, c, a, d, a, c, b};
  for (int i = 0; i < 8; i++) {
    j[i].n = i;
    gq_init(&j[i].s.link);
    j[i].s.host = hs[i];
  }
  for (int i = 0; i < 5; i++) bsched_push(&s, &j[i].s);
  uint64_t wait = 99;
  CHECK(start_one(&s, 0, &wait) == 0); /* a: opens */
  CHECK(start_one(&s, 0, &wait) == 1); /* b: opens, the bound reached */
  /* 2 (c) waits; 3 (a, its connection being made) goes past; 4 (d) waits */
  CHECK(start_one(&s, 0, &wait) == 3);
  /* asked again when the oldest opener stops counting (BSCHED_OPENING_MAX_NS) */
  CHECK(start_one(&s, 0, &wait) == -1 && wait == BSCHED_OPENING_MAX_NS / MS + 1);
  CHECK(s.opening == 2 && s.in_flight == 3 && gq_empty(&s.ready));
  /* 0 ends: a is warm, and c, the first waiting, opens */
  bsched_done(&s, &j[0].s);
  CHECK(a->warm && !b->warm && s.opening == 1);
  CHECK(start_one(&s, 0, &wait) == 2);
  CHECK(start_one(&s, 0, &wait) == -1 && s.opening == 2);
  /* a warm host's job starts while the bound is reached */
  bsched_push(&s, &j[5].s);
  CHECK(start_one(&s, 0, &wait) == 5);
  /* a start that failed at once gives its place back, and the host stays cold */
  bsched_unstart(&s, &j[2].s);
  CHECK(s.opening == 1 && !c->warm && !c->opening);
  CHECK(start_one(&s, 0, &wait) == 4); /* d opens */
  CHECK(s.opening == 2);
  bsched_done(&s, &j[1].s); /* b warm */
  bsched_push(&s, &j[6].s); /* c, still cold */
  bsched_push(&s, &j[7].s); /* b */
  CHECK(start_one(&s, 0, &wait) == 6 && j[6].s.opener);
  CHECK(start_one(&s, 0, &wait) == 7 && !j[7].s.opener);
  CHECK(s.opening == 2 && s.in_flight == 5);
  /* no bound */
  s.max_opening = 0;
  bs_host *e = host(&s, "e", 0), *f = host(&s, "f", 0);
  job k[2];
  k[0].s.host = e;
  k[1].s.host = f;
  for (int i = 0; i < 2; i++) {
    k[i].n = 10 + i;
    gq_init(&k[i].s.link);
    bsched_push(&s, &k[i].s);
  }
  CHECK(start_one(&s, 0, &wait) == 10 && start_one(&s, 0, &wait) == 11 && s.opening == 4);
  bsched_free(&s);
}

/* A host idle for longer than BSCHED_WARM_NS is cold again: its connection may
 * be gone, so its next job counts as opening one; a host with a job in flight
 * stays warm however long that job takes. */
static void test_cold_again(void) {
  bsched s;
  bsched_init(&s, 100, 0, 0);
  s.max_opening = 1;
  bs_host *a = host(&s, "a", 0), *b = host(&s, "b", 0);
  job j[6];
  bs_host *hs[6] = {a, a, b, a, a, a};
  for (int i = 0; i < 6; i++) {
    j[i].n = i;
    gq_init(&j[i].s.link);
    j[i].s.host = hs[i];
  }
  uint64_t t = 1000 * MS, wait;
  bsched_push(&s, &j[0].s);
  CHECK(start_one(&s, t, &wait) == 0 && j[0].s.opener);
  bsched_done(&s, &j[0].s); /* a warm, its last job ended at t */
  /* b opens: the bound reached */
  bsched_push(&s, &j[2].s);
  CHECK(start_one(&s, t, &wait) == 2 && s.opening == 1);
  /* a, idle for less than BSCHED_WARM_NS: goes past the bound */
  bsched_push(&s, &j[1].s);
  CHECK(start_one(&s, t + BSCHED_WARM_NS - MS, &wait) == 1 && !j[1].s.opener);
  /* a job of a in flight for longer than that: a stays warm meanwhile */
  bsched_push(&s, &j[3].s);
  CHECK(start_one(&s, t + 3 * BSCHED_WARM_NS, &wait) == 3 && !j[3].s.opener);
  bsched_done(&s, &j[1].s);
  bsched_done(&s, &j[3].s); /* both ended at t + 3 W */
  /* b's opening, long ago, no longer counts; b ends, and c opens now */
  CHECK(s.opening == 0 && gq_empty(&s.openers));
  bsched_done(&s, &j[2].s);
  bs_host *c = host(&s, "c", 0);
  job jc = {.n = 9};
  gq_init(&jc.s.link);
  jc.s.host = c;
  bsched_push(&s, &jc.s);
  CHECK(start_one(&s, t + 4 * BSCHED_WARM_NS, &wait) == 9 && jc.s.opener && s.opening == 1);
  /* a, idle past BSCHED_WARM_NS: cold again, waits for c's opening to end */
  bsched_push(&s, &j[4].s);
  CHECK(start_one(&s, t + 4 * BSCHED_WARM_NS + MS, &wait) == -1 && !gq_empty(&s.cold));
  CHECK(bsched_opened(&s, &jc.s) == 1 && s.opening == 0 && c->warm); /* c's answer came */
  CHECK(bsched_opened(&s, &jc.s) == 0);
  CHECK(start_one(&s, t + 4 * BSCHED_WARM_NS + 2 * MS, &wait) == 4 && j[4].s.opener && s.opening == 1);
  bsched_done(&s, &j[4].s);
  bsched_done(&s, &jc.s);
  bsched_push(&s, &j[5].s);
  CHECK(start_one(&s, t + 4 * BSCHED_WARM_NS + 3 * MS, &wait) == 5 && !j[5].s.opener);
  bsched_free(&s);
}

/* An opener counts for at most BSCHED_OPENING_MAX_NS: a slow server does not
 * hold the place; the waiting job is told when to ask again. */
static void test_opening_cap(void) {
  bsched s;
  bsched_init(&s, 100, 0, 0);
  s.max_opening = 1;
  bs_host *a = host(&s, "a", 0), *b = host(&s, "b", 0);
  job j[2];
  j[0].s.host = a;
  j[1].s.host = b;
  for (int i = 0; i < 2; i++) {
    j[i].n = i;
    gq_init(&j[i].s.link);
    bsched_push(&s, &j[i].s);
  }
  uint64_t t = 5000 * MS, wait;
  CHECK(start_one(&s, t, &wait) == 0 && s.opening == 1);
  CHECK(start_one(&s, t + 10 * MS, &wait) == -1 && wait == (BSCHED_OPENING_MAX_NS - 10 * MS) / MS + 1);
  CHECK(start_one(&s, t + BSCHED_OPENING_MAX_NS, &wait) == 1 && j[1].s.opener && !j[0].s.opener);
  CHECK(s.opening == 1 && a->warm && !a->opening);
  /* the released opener ends later: nothing counted twice */
  bsched_done(&s, &j[0].s);
  CHECK(s.opening == 1 && s.in_flight == 1);
  bsched_done(&s, &j[1].s);
  CHECK(s.opening == 0 && s.in_flight == 0 && b->warm);
  bsched_free(&s);
}

static void count_drained(bs_job *q, void *arg) {
  int *seen = arg;
  CHECK(!gq_linked(&q->link));
  seen[num(q)]++;
}

/* A stop: every job not in flight (ready, parked, delayed) comes out once. */
static void test_drain(void) {
  bsched s;
  bsched_init(&s, 100, 1, 0);
  bs_host *a = host(&s, "a", 0), *b = host(&s, "b", 0);
  job j[6];
  for (int i = 0; i < 6; i++) {
    j[i].n = i;
    gq_init(&j[i].s.link);
    j[i].s.host = i % 2 ? b : a;
  }
  for (int i = 0; i < 4; i++) bsched_push(&s, &j[i].s);
  uint64_t wait;
  CHECK(start_one(&s, 0, &wait) == 0);
  CHECK(start_one(&s, 0, &wait) == 1);
  CHECK(start_one(&s, 0, &wait) == -1); /* 2 and 3 parked */
  bsched_push(&s, &j[4].s);
  bsched_delay(&s, &j[5].s, 50);
  /* one waiting for a new connection's turn */
  bs_host *c = host(&s, "c", 0);
  job jc = {.n = 6};
  gq_init(&jc.s.link);
  jc.s.host = c;
  bsched_push(&s, &jc.s);
  s.max_opening = 2;
  CHECK(start_one(&s, 0, &wait) == -1 && !gq_empty(&s.cold));
  int seen[7] = {0};
  bsched_drain(&s, count_drained, seen);
  CHECK(seen[0] == 0 && seen[1] == 0 && seen[2] == 1 && seen[3] == 1 && seen[4] == 1 && seen[5] == 1 &&
        seen[6] == 1);
  CHECK(gq_empty(&s.ready) && gq_empty(&s.delayed) && gq_empty(&s.cold) && gq_empty(&a->parked) &&
        gq_empty(&b->parked));
  CHECK(s.in_flight == 2);
  bsched_free(&s);
}

/* The per-host key shared by the host table, the sharding and the admission
 * hook (guise.h: the authority as written, userinfo dropped, lowercased). */
static void test_host_key(void) {
  char k[64];
  bsched_host_key("https://Example.TEST/x?y#z", k, sizeof(k));
  CHECK(strcmp(k, "example.test") == 0);
  bsched_host_key("https://u:p@a@Host.test:8443/p", k, sizeof(k)); /* the last '@' ends userinfo */
  CHECK(strcmp(k, "host.test:8443") == 0);
  bsched_host_key("http://[::1]:80?q", k, sizeof(k));
  CHECK(strcmp(k, "[::1]:80") == 0);
  bsched_host_key("no-scheme.test/a", k, sizeof(k));
  CHECK(strcmp(k, "no-scheme.test") == 0);
  bsched_host_key("https://abcdefghij.test/", k, 5); /* cut to cap - 1 */
  CHECK(strcmp(k, "abcd") == 0);
}

int main(void) {
  test_bucket();
  test_hosts();
  test_caps();
  test_host_rate();
  test_delayed();
  test_opening();
  test_cold_again();
  test_opening_cap();
  test_drain();
  test_host_key();
  return gt_done("test_batch_sched");
}

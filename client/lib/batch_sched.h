/*
 * batch_sched.h — the scheduler of one batch worker (docs/BATCH.md): which job
 * starts next. It keeps the ready queue, the delayed jobs (retries waiting for
 * their backoff, sorted by due time), the host table (per host: requests in
 * flight, the jobs parked behind its in-flight cap, its token bucket) and the
 * worker's share of the global concurrency. I/O-free: no libuv, no clock of its
 * own (the caller passes the times), no threads; it calls only hmap and queue.h.
 *
 * Called by batch.c, on a worker's loop thread: jobs embed a bs_job; the worker
 * asks bsched_peek for the next job that may start, starts it, and tells the
 * scheduler when it ends.
 *
 * New connections are admitted at a bounded number per worker (|max_opening|):
 * the first job of a host not yet reached (a "cold" host) will make the
 * connection and its TLS handshake, and only so many such jobs count at once —
 * each until its answer's head came (bsched_opened), it ended, or
 * BSCHED_OPENING_MAX_NS passed, so that a slow server or a long download does
 * not hold the place; the other cold hosts' jobs wait in |cold|, in order, while jobs of hosts
 * already reached go past them. A crawl over many hosts otherwise starts a
 * burst of handshakes as large as the concurrency on one loop, and every one of
 * them, and every request sharing the loop, waits for the whole burst
 * (docs/BENCHMARKS.md, "Many hosts"). Token buckets are also used by batch.c for the global
 * rate (under the batch's lock).
 *
 *   push ──> ready ──peek──> [worker cap] ─> [host in-flight cap: else parked]
 *                             ─> [host bucket] ─> start ... done ─> unpark one
 *   delay ──> delayed (sorted) ──release_due──> front of ready
 */
#ifndef GUISE_BATCH_SCHED_H
#define GUISE_BATCH_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "queue.h"

/* A token bucket: |rate| per second, a burst of max(1, rate / 10). */
typedef struct bs_bucket {
  double tokens;
  uint64_t refill_ns;
} bs_bucket;

/* A full-of-one bucket at |now_ns|. */
void bs_bucket_init(bs_bucket *k, uint64_t now_ns);
/* Takes a token at |now_ns|: 0, or the milliseconds until one is there (at
 * least 1). |rate| <= 0: no limit (0). */
uint64_t bs_bucket_take(bs_bucket *k, double rate, uint64_t now_ns);

/* A host of the table (the URL's authority, lowercased). */
typedef struct bs_host {
  hmap_node node;
  unsigned in_flight;
  unsigned char warm;    /* a job of the host has ended: its connection is made */
  unsigned char opening; /* its first job (the one making the connection) is in flight */
  uint64_t last_end_ns;  /* when a job of it last ended (the scheduler's clock) */
  gq parked;        /* bs_job.link: waiting for the in-flight cap */
  bs_bucket bucket; /* per_host_rate */
  char name[];
} bs_host;

/* The scheduler's part of a job, embedded in it. |link| puts the job in one
 * queue at a time: the batch's staged jobs, a worker's inbox, then the ready,
 * parked or delayed jobs here. */
typedef struct bs_job {
  gq link;
  bs_host *host;
  uint64_t not_before; /* delayed: the worker loop's clock, ms */
  int opener;          /* in flight as its cold host's first job, and counted */
  uint64_t opened_ns;  /* when it started (the scheduler's clock) */
} bs_job;

/* New connections (cold hosts' first jobs) in flight per worker. Measured on
 * 20,000 requests over 1,000 hosts (tools/bench/many_hosts): a handshake costs
 * the client about 0.3 ms of CPU and the server about as much, so a few in
 * flight keep both busy; a burst as large as the concurrency only lengthens
 * every one of them. */
#define BSCHED_MAX_OPENING 8

/* A host whose last job ended longer ago than this is cold again: its
 * connection may be gone (the pool closes it after 118 s idle, servers
 * sooner: nginx's keepalive_timeout is 75 s), so its next job counts as
 * opening one. */
#define BSCHED_WARM_NS (60ull * 1000000000ull)

/* The longest a new connection counts against |max_opening|: a TLS handshake
 * is a few ms of CPU and a round trip or two, so past this the opener waits for
 * its server, not for this loop, and the next may start (at least 8 new
 * connections per 25 ms per worker, 320 a second: about what one loop's CPU
 * handshakes with ML-KEM). */
#define BSCHED_OPENING_MAX_NS (25ull * 1000000ull)

typedef struct bsched {
  hmap hosts;
  gq ready;         /* in order; retries and unparked jobs at the front */
  gq delayed;       /* sorted by not_before */
  gq cold;          /* cold hosts' jobs waiting for |max_opening|, in order */
  gq openers;       /* the openers counted in |opening|, by start time (bs_job.link) */
  unsigned in_flight, cap;
  unsigned opening, max_opening; /* cold hosts' first jobs in flight; 0: no limit */
  uint64_t now_ns;       /* the clock of the last bsched_peek */
  unsigned per_host;     /* 0: no in-flight limit per host */
  double per_host_rate;  /* 0: none */
} bsched;

void bsched_init(bsched *s, unsigned cap, unsigned per_host, double per_host_rate);
/* Frees the host table; the jobs are the caller's (take them out first with
 * bsched_drain). */
void bsched_free(bsched *s);

/* The host |name| of hash |hash| (hmap_hash_str), or NULL when not there yet. */
bs_host *bsched_host_find(const bsched *s, const char *name, uint64_t hash);
/* Adds host |name| (not there yet), its bucket full at |now_ns|: the host, or
 * NULL out of memory. */
bs_host *bsched_host_add(bsched *s, const char *name, uint64_t hash, uint64_t now_ns);

/* |j| (its host set) at the end of the ready queue. */
void bsched_push(bsched *s, bs_job *j);
/* |j| waits until |not_before| (after every job due no later). */
void bsched_delay(bsched *s, bs_job *j, uint64_t not_before);
/* Moves the delayed jobs due at |now_ms| to the front of the ready queue. */
void bsched_release_due(bsched *s, uint64_t now_ms);
/* 1 and the due time of the first delayed job in |*due|, or 0 when none. */
int bsched_next_due(const bsched *s, uint64_t *due);

/* The job at the front of the ready queue if it may start now: the worker has
 * room, its host is under its in-flight cap (jobs of a full host are parked on
 * the way), a new connection is within |max_opening| (jobs of a cold host
 * without one go to |cold| on the way; the first of |cold| comes before the
 * ready queue while there is room) and its host's bucket gave a token at
 * |now_ns| (read with a per-host rate; the time also tells when a host is cold
 * again, BSCHED_WARM_NS). NULL otherwise, with |*wait_ms| the milliseconds until a token,
 * or until the oldest opener stops counting when jobs wait for |max_opening|
 * (0: nothing ready, or no room). The job stays queued until bsched_start. */
bs_job *bsched_peek(bsched *s, uint64_t now_ns, uint64_t *wait_ms);
/* |j| (from bsched_peek) leaves the ready queue and counts as in flight. */
void bsched_start(bsched *s, bs_job *j);
/* |j|'s answer's head came: if it was opening its host's connection, the
 * connection is made; it stops counting against |max_opening|. 1 if jobs wait
 * for that (the caller should peek again), else 0. */
int bsched_opened(bsched *s, bs_job *j);
/* A start that failed at once: no longer in flight (the parked stay parked). */
void bsched_unstart(bsched *s, bs_job *j);
/* |j| ended: no longer in flight; the first job parked on its host goes to
 * the front of the ready queue. A host's first job ending makes it warm (its
 * connection made, or failed: a retry of it is not counted again) until
 * BSCHED_WARM_NS after its last job ended (the time of the last peek). */
void bsched_done(bsched *s, bs_job *j);

/* Every job not in flight (delayed, ready, cold, parked), taken out and handed to
 * |fn|, which may free it (and must not call the scheduler). */
void bsched_drain(bsched *s, void (*fn)(bs_job *j, void *arg), void *arg);

/* The per-host key of a job's URL |u|, the one the host table, the workers'
 * sharding and guise_batch_options.admit use: the authority as written (after
 * "scheme://", before the path; userinfo dropped, no default port added),
 * lowercased, truncated to |cap| - 1 bytes. */
void bsched_host_key(const char *u, char *out, size_t cap);

#endif

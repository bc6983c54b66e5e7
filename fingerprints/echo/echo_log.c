/*
 * echo_log.c — the observer's --log writer: one thread that owns the file and
 * writes, with one write(2) per wake, every line the serving loops queued since
 * the last one. The serving loops (one per --threads) never wait for the disk;
 * under load many records go out in one write, and since each line enters the
 * queue whole under the lock, lines from different loops never interleave.
 *
 * The queue is bounded (ECHO_LOG_QUEUE_CAP): a loop that finds it full waits until
 * the writer has taken it, so a slow disk slows the observer down instead of
 * growing its memory or dropping records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "echo_internal.h"

/* Bytes of records waiting for the writer before a serving loop waits: a few
 * hundred records of browser connections (each 10–40 KB), far more than a
 * write(2) to a local file takes to drain. */
#define ECHO_LOG_QUEUE_CAP (8u * 1024u * 1024u)

struct echo_log {
  int fd;
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t more; /* the queue has lines, or stop was asked */
  uv_cond_t room; /* the writer took the queue */
  char *q;        /* queued lines, each ending in '\n' */
  size_t qlen, qcap;
  int stop;
};

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* a full disk loses the records, as fputs did */
    p += w;
    n -= (size_t)w;
  }
}

static void writer(void *arg) {
  echo_log *l = arg;
  char *out = NULL;
  size_t outcap = 0;
  uv_mutex_lock(&l->mu);
  for (;;) {
    while (l->qlen == 0 && !l->stop) uv_cond_wait(&l->more, &l->mu);
    if (l->qlen == 0) break; /* stop, and everything written */
    /* Take the queue whole by swapping buffers; the loops go on filling the other. */
    char *p = l->q;
    size_t n = l->qlen, cap = l->qcap;
    l->q = out;
    l->qcap = outcap;
    l->qlen = 0;
    uv_cond_broadcast(&l->room);
    uv_mutex_unlock(&l->mu);
    write_all(l->fd, p, n);
    out = p;
    outcap = cap;
    uv_mutex_lock(&l->mu);
  }
  uv_mutex_unlock(&l->mu);
  free(out);
}

echo_log *echo_log_open(const char *path, char *err, size_t errlen) {
  echo_log *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    snprintf(err, errlen, "--log %s: out of memory", path);
    return NULL;
  }
  l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (l->fd < 0) {
    snprintf(err, errlen, "--log %s: %s", path, strerror(errno));
    free(l);
    return NULL;
  }
  if (uv_mutex_init(&l->mu) != 0) goto fail_fd;
  if (uv_cond_init(&l->more) != 0) goto fail_mu;
  if (uv_cond_init(&l->room) != 0) goto fail_more;
  if (uv_thread_create(&l->thread, writer, l) != 0) goto fail_room;
  return l;
fail_room:
  uv_cond_destroy(&l->room);
fail_more:
  uv_cond_destroy(&l->more);
fail_mu:
  uv_mutex_destroy(&l->mu);
fail_fd:
  close(l->fd);
  free(l);
  snprintf(err, errlen, "--log %s: cannot start the writer thread", path);
  return NULL;
}

void echo_log_line(echo_log *l, const char *p, size_t n) {
  uv_mutex_lock(&l->mu);
  /* Bounded: wait while the queue is full (one line larger than the cap still
   * goes in alone, into an empty queue). */
  while (l->qlen > 0 && l->qlen + n + 1 > ECHO_LOG_QUEUE_CAP) uv_cond_wait(&l->room, &l->mu);
  if (l->qlen + n + 1 > l->qcap) {
    size_t ncap = l->qcap ? l->qcap : 64u * 1024u;
    while (ncap < l->qlen + n + 1) ncap *= 2;
    char *np = realloc(l->q, ncap);
    if (np == NULL) { /* the record is lost, the observer goes on */
      uv_mutex_unlock(&l->mu);
      return;
    }
    l->q = np;
    l->qcap = ncap;
  }
  memcpy(l->q + l->qlen, p, n);
  l->q[l->qlen + n] = '\n';
  l->qlen += n + 1;
  uv_cond_signal(&l->more);
  uv_mutex_unlock(&l->mu);
}

void echo_log_close(echo_log *l) {
  if (l == NULL) return;
  uv_mutex_lock(&l->mu);
  l->stop = 1;
  uv_cond_signal(&l->more);
  uv_mutex_unlock(&l->mu);
  uv_thread_join(&l->thread);
  uv_cond_destroy(&l->room);
  uv_cond_destroy(&l->more);
  uv_mutex_destroy(&l->mu);
  close(l->fd);
  free(l->q);
  free(l);
}

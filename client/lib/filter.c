/*
 * filter.c — the chain's plumbing (filter.h): linking, passing up, failing and
 * the per-thread read buffers. No I/O; called by every filter and by conn.c.
 */
#include "filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void filter_chain_init(filter_chain *ch, const filter_chain_ops *ops, filter **f, size_t n) {
  ch->ops = ops;
  gerr_clear(&ch->err);
  ch->up = ch->closed = 0;
  for (size_t i = 0; i < n; i++) {
    f[i]->chain = ch;
    f[i]->below = i ? f[i - 1] : NULL;
    f[i]->above = i + 1 < n ? f[i + 1] : NULL;
    f[i]->up = 0;
  }
  ch->bottom = n ? f[0] : NULL;
  ch->top = n ? f[n - 1] : NULL;
}

void filter_up(filter *f) {
  filter_chain *ch = f->chain;
  f->up = 1;
  filter *a = f->above;
  if (a == NULL) {
    ch->up = 1;
    ch->ops->up(ch);
    return;
  }
  if (a->restarts_timer) ch->ops->timer(ch, a->timeout_ms);
  a->ops->connect(a);
}

void filter_pass(filter *f, const uint8_t *p, size_t n) {
  if (f->above) f->above->ops->recv(f->above, p, n);
  else f->chain->ops->data(f->chain, p, n);
}

void filter_fail(filter *f, int code, int lib, const char *fmt, ...) {
  filter_chain *ch = f->chain;
  if (ch->closed) return;
  if (ch->err.code == 0 && fmt) {
    char text[GERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    gerr_set(&ch->err, code, f->layer, lib, "%s", text);
  } else {
    gerr_set(&ch->err, code, f->layer, lib, NULL);
  }
  ch->ops->end(ch);
}

/* The lowest filter from |f| up still in its handshake, or NULL. */
static filter *handshaking(filter *f) {
  while (f && f->up) f = f->above;
  return f;
}

void filter_eof(filter *f) {
  filter_chain *ch = f->chain;
  if (ch->closed) return;
  filter *h = handshaking(f);
  if (h) filter_fail(h, h->eof_code, 0, NULL);
  else ch->ops->end(ch);
}

void filter_chain_timeout(filter_chain *ch) {
  if (ch->closed) return;
  filter *h = handshaking(ch->bottom);
  if (h) filter_fail(h, h->timeout_code, 0, NULL);
}

/* ---- per-thread read buffers ------------------------------------------------------
 * libuv's read buffer and each TLS filter's plaintext, lent for one callback, so
 * an idle connection holds none. A nested use of a slot on the same thread (a
 * callback running another loop) gets a buffer of its own. */
static _Thread_local uint8_t *scratch[FILTER_SCRATCH_SLOTS];
static _Thread_local int scratch_busy[FILTER_SCRATCH_SLOTS];
static _Thread_local size_t live_chains;

uint8_t *filter_scratch_take(int i) {
  if (scratch_busy[i]) return malloc(FILTER_READ_BUF);
  if (scratch[i] == NULL && (scratch[i] = malloc(FILTER_READ_BUF)) == NULL) return NULL;
  scratch_busy[i] = 1;
  return scratch[i];
}

void filter_scratch_give(int i, uint8_t *p) {
  if (p == NULL) return;
  if (p == scratch[i]) scratch_busy[i] = 0;
  else free(p);
}

void filter_scratch_chains(int delta) {
  live_chains = (size_t)((long)live_chains + delta);
  if (live_chains == 0)
    for (int i = 0; i < FILTER_SCRATCH_SLOTS; i++)
      if (!scratch_busy[i]) {
        free(scratch[i]);
        scratch[i] = NULL;
      }
}

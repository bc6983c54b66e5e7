/*
 * queue.h — an intrusive doubly linked queue (circular, with a head node), in the
 * style of libuv's queue: the links live inside the caller's struct, so putting
 * a thing in a queue never allocates. Header-only; used by the pool (origins'
 * waiting requests, connections) and the batch scheduler (inbox, ready, parked).
 *
 *   struct job { gq link; ... };
 *   gq ready; gq_init(&ready);
 *   gq_insert_tail(&ready, &j->link);
 *   gq *q = gq_first(&ready);              NULL when empty
 *   struct job *j = gq_data(q, struct job, link);
 *   gq_remove(&j->link);                   unlinked again: gq_linked() is 0
 */
#ifndef GUISE_QUEUE_H
#define GUISE_QUEUE_H

#include <stddef.h>

typedef struct gq {
  struct gq *next, *prev;
} gq;

/* The struct of type |type| whose member |field| is at |ptr|. */
#define gq_data(ptr, type, field) ((type *)(void *)((char *)(ptr)-offsetof(type, field)))

/* Every element of |head|, in order; the body must not remove |q|. */
#define gq_foreach(q, head) for ((q) = (head)->next; (q) != (head); (q) = (q)->next)
/* The same, and the body may remove (or free) |q|. */
#define gq_foreach_safe(q, tmp, head) \
  for ((q) = (head)->next, (tmp) = (q)->next; (q) != (head); (q) = (tmp), (tmp) = (q)->next)

/* An empty queue head, or a node in no queue. */
static inline void gq_init(gq *q) { q->next = q->prev = q; }

static inline int gq_empty(const gq *head) { return head->next == head; }

/* Whether node |n| (initialised with gq_init once) is in a queue. */
static inline int gq_linked(const gq *n) { return n->next != n; }

static inline void gq_insert_tail(gq *head, gq *n) {
  n->next = head;
  n->prev = head->prev;
  n->prev->next = n;
  head->prev = n;
}

static inline void gq_insert_head(gq *head, gq *n) {
  n->prev = head;
  n->next = head->next;
  n->next->prev = n;
  head->next = n;
}

/* Takes |n| out of its queue and leaves it unlinked; a no-op for an unlinked node. */
static inline void gq_remove(gq *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  gq_init(n);
}

static inline gq *gq_first(const gq *head) { return gq_empty(head) ? NULL : head->next; }

#endif

/*
 * refs.h — reference counts with named holders. An object that lives as long as
 * anything holds it (a request: its timer, its stream, the caller's call; a
 * client: its requests and connections) says who holds it:
 *
 *   enum { REQ_HOLD_TIMER = 1u << 0, REQ_HOLD_STREAM = 1u << 1 };
 *   refs_take(&r->refs, REQ_HOLD_TIMER);
 *   ...
 *   if (refs_drop(&r->refs, REQ_HOLD_TIMER)) req_free(r);
 *
 * A named holder is one bit: taking it twice or dropping it when not held is a
 * bug, caught by assert. Holders of which there are many (a client's requests)
 * are counted with refs_add / refs_sub. Header-only; not atomic (one loop thread).
 */
#ifndef GUISE_REFS_H
#define GUISE_REFS_H

#include <assert.h>
#include <stddef.h>

typedef struct refs {
  unsigned named;  /* one bit per named holder */
  size_t counted;  /* holders of which there may be many */
} refs;

static inline void refs_take(refs *r, unsigned holder) {
  assert(holder != 0 && (holder & (holder - 1)) == 0);
  assert(!(r->named & holder));
  r->named |= holder;
}

static inline int refs_held(const refs *r, unsigned holder) { return (r->named & holder) != 0; }

static inline int refs_none(const refs *r) { return r->named == 0 && r->counted == 0; }

/* Returns 1 when nothing holds |r| any more. */
static inline int refs_drop(refs *r, unsigned holder) {
  assert(r->named & holder);
  r->named &= ~holder;
  return refs_none(r);
}

static inline void refs_add(refs *r) { r->counted++; }

/* Returns 1 when nothing holds |r| any more. */
static inline int refs_sub(refs *r) {
  assert(r->counted > 0);
  r->counted--;
  return refs_none(r);
}

#endif

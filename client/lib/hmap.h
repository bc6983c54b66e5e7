/*
 * hmap.h — the one hash table of libguise: separate chaining, power-of-two
 * buckets, nodes embedded in the caller's structs (inserting never allocates a
 * node; only the bucket array grows). Keys are the caller's: a node carries its
 * 64-bit hash, and a lookup walks the chain comparing the hash first, then the
 * caller's key.
 *
 *   struct origin { hmap_node node; char *key; ... };
 *   uint64_t h = hmap_hash_str(key);
 *   for (hmap_node *n = hmap_chain(&m, h); n; n = n->next)
 *     if (n->hash == h && strcmp(gq_data-like container(n)->key, key) == 0) ...
 *
 * Used by the pool (origins), the batch scheduler (hosts), the TLS session cache
 * and the batch command's id sets. Hashing: FNV-1a, 64 bits — keys are host
 * names, ports, profile names and job ids; a caller whose keys an attacker
 * chooses bounds the table's size (every user does), so a crafted collision
 * costs a longer chain, not unbounded memory.
 * Not thread-safe; a table belongs to one thread.
 */
#ifndef GUISE_HMAP_H
#define GUISE_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hmap_node {
  struct hmap_node *next;
  uint64_t hash;
} hmap_node;

typedef struct hmap {
  hmap_node **buckets;
  size_t n_buckets; /* 0 or a power of two */
  size_t n;         /* nodes in the table */
} hmap;

/* FNV-1a over |n| bytes / a NUL-terminated string. */
uint64_t hmap_hash(const void *p, size_t n);
uint64_t hmap_hash_str(const char *s);

void hmap_init(hmap *m);
/* Frees the bucket array (the nodes are the caller's) and leaves |m| empty. */
void hmap_free(hmap *m);

/* Adds |n| with |hash|. The table doubles when it holds as many nodes as buckets
 * (when it cannot, the chains get longer). 0, or -1 when the first bucket array
 * cannot be made (nothing inserted). Keys are not checked for duplicates: look
 * up first when they must be unique. */
int hmap_insert(hmap *m, hmap_node *n, uint64_t hash);

/* Takes |n| out of |m| (it must be in it). The buckets do not shrink. */
void hmap_remove(hmap *m, hmap_node *n);

/* The chain where nodes of |hash| live (NULL: none); walk ->next and compare
 * ->hash, then the key. */
static inline hmap_node *hmap_chain(const hmap *m, uint64_t hash) {
  return m->n_buckets ? m->buckets[hash & (m->n_buckets - 1)] : NULL;
}

/* Every node: |i| a size_t, |n| a hmap_node pointer. The body must not remove
 * |n| (collect first, or restart). */
#define hmap_foreach(m, i, n)                  \
  for ((i) = 0; (i) < (m)->n_buckets; (i)++) \
    for ((n) = (m)->buckets[(i)]; (n); (n) = (n)->next)

#endif

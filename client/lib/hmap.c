/* hmap.c — see hmap.h. */
#include "hmap.h"

#include <stdlib.h>

/* FNV-1a, 64-bit: offset basis 14695981039346656037, prime 1099511628211
 * (Fowler, Noll, Vo; the parameters published with the algorithm). */
uint64_t hmap_hash(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t hmap_hash_str(const char *s) {
  uint64_t h = 14695981039346656037ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

void hmap_init(hmap *m) {
  m->buckets = NULL;
  m->n_buckets = m->n = 0;
}

void hmap_free(hmap *m) {
  free(m->buckets);
  hmap_init(m);
}

#define HMAP_FIRST_BUCKETS 16

static int grow(hmap *m) {
  size_t nb = m->n_buckets ? m->n_buckets * 2 : HMAP_FIRST_BUCKETS;
  if (nb < m->n_buckets || nb > SIZE_MAX / sizeof(hmap_node *)) return -1;
  hmap_node **b = calloc(nb, sizeof(*b));
  if (b == NULL) return -1;
  for (size_t i = 0; i < m->n_buckets; i++) {
    for (hmap_node *n = m->buckets[i], *next; n; n = next) {
      next = n->next;
      size_t k = n->hash & (nb - 1);
      n->next = b[k];
      b[k] = n;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->n_buckets = nb;
  return 0;
}

int hmap_insert(hmap *m, hmap_node *n, uint64_t hash) {
  if (m->n >= m->n_buckets && grow(m) != 0 && m->n_buckets == 0) return -1;
  /* A failed growth with buckets in place still inserts: the chains get longer. */
  n->hash = hash;
  hmap_node **slot = &m->buckets[hash & (m->n_buckets - 1)];
  n->next = *slot;
  *slot = n;
  m->n++;
  return 0;
}

void hmap_remove(hmap *m, hmap_node *n) {
  hmap_node **p = &m->buckets[n->hash & (m->n_buckets - 1)];
  while (*p && *p != n) p = &(*p)->next;
  if (*p) {
    *p = n->next;
    n->next = NULL;
    m->n--;
  }
}

/* tls_session_cache.c — see tls_session_cache.h. */
#include "tls_session_cache.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

typedef struct entry {
  hmap_node node;              /* in |map|, by key */
  struct entry *older, *newer; /* store order, for eviction */
  SSL_SESSION *sess;
  char key[];
} entry;

struct tls_session_cache {
  hmap map; /* keys are short and not chosen by an attacker (host, port, names) */
  size_t size, max;
  entry *oldest, *newest;
};

tls_session_cache *tls_session_cache_new(size_t max_entries) {
  if (max_entries == 0) max_entries = 1;
  tls_session_cache *c = calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  hmap_init(&c->map);
  c->max = max_entries;
  return c;
}

static void unlink_entry(tls_session_cache *c, entry *e) {
  hmap_remove(&c->map, &e->node);
  if (e->older) e->older->newer = e->newer;
  else c->oldest = e->newer;
  if (e->newer) e->newer->older = e->older;
  else c->newest = e->older;
  c->size--;
}

static void free_entry(entry *e) {
  SSL_SESSION_free(e->sess);
  free(e);
}

void tls_session_cache_free(tls_session_cache *c) {
  if (c == NULL) return;
  for (entry *e = c->oldest, *next; e; e = next) {
    next = e->newer;
    free_entry(e);
  }
  hmap_free(&c->map);
  free(c);
}

static entry *find(const tls_session_cache *c, const char *key, uint64_t hash) {
  for (hmap_node *n = hmap_chain(&c->map, hash); n; n = n->next) {
    entry *e = (entry *)(void *)((char *)n - offsetof(entry, node));
    if (n->hash == hash && strcmp(e->key, key) == 0) return e;
  }
  return NULL;
}

int tls_session_key(char *out, size_t len, const char *host, unsigned port, const char *profile,
                    const char *proxy) {
  /* Fields separated by a byte no host, profile name or URL contains. */
  int n = snprintf(out, len, "%s\x1f%u\x1f%s\x1f%s", host, port, profile ? profile : "",
                   proxy ? proxy : "");
  return n < 0 || (size_t)n >= len ? -1 : 0;
}

int tls_session_cache_put(tls_session_cache *c, const char *key, SSL_SESSION *sess) {
  size_t klen = strlen(key);
  if (klen >= TLS_SESSION_KEY_MAX) return -1;
  entry *e = malloc(sizeof(*e) + klen + 1);
  if (e == NULL) return -1;
  memcpy(e->key, key, klen + 1);
  uint64_t hash = hmap_hash(key, klen);
  entry *old = find(c, key, hash);
  if (old) {
    unlink_entry(c, old);
    free_entry(old);
  }
  while (c->size >= c->max && c->oldest) {
    entry *victim = c->oldest;
    unlink_entry(c, victim);
    free_entry(victim);
  }
  if (hmap_insert(&c->map, &e->node, hash) != 0) {
    free(e); /* no memory for the first buckets: not kept */
    return -1;
  }
  SSL_SESSION_up_ref(sess);
  e->sess = sess;
  e->older = c->newest;
  e->newer = NULL;
  if (c->newest) c->newest->newer = e;
  else c->oldest = e;
  c->newest = e;
  c->size++;
  return 0;
}

SSL_SESSION *tls_session_cache_take(tls_session_cache *c, const char *key) {
  entry *e = find(c, key, hmap_hash_str(key));
  if (e == NULL) return NULL;
  SSL_SESSION *s = e->sess;
  if (SSL_SESSION_should_be_single_use(s)) {
    unlink_entry(c, e);
    free(e); /* the cache's reference goes to the caller */
    return s;
  }
  SSL_SESSION_up_ref(s);
  return s;
}

size_t tls_session_cache_size(const tls_session_cache *c) { return c->size; }

/* Per connection: where its new sessions go. */
typedef struct binding {
  tls_session_cache *cache;
  char key[];
} binding;

static int binding_index = -1;
static pthread_once_t binding_once = PTHREAD_ONCE_INIT;
static void binding_init(void);

static void free_binding(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int index, long argl,
                         void *argp) {
  free(ptr);
}

static void binding_init(void) { binding_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_binding); }

static int on_new_session(SSL *ssl, SSL_SESSION *sess) {
  binding *b = SSL_get_ex_data(ssl, binding_index);
  if (b != NULL) tls_session_cache_put(b->cache, b->key, sess);
  return 0; /* the cache took its own reference */
}

void tls_session_cache_attach(SSL_CTX *ctx) {
  /* The index is process-wide, made once (worker threads attach at once). */
  pthread_once(&binding_once, binding_init);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

int tls_session_cache_begin(tls_session_cache *c, SSL *ssl, const char *key, int resume) {
  if (!resume || binding_index < 0) return 0;
  size_t klen = strlen(key);
  if (klen >= TLS_SESSION_KEY_MAX) return -1;
  binding *b = malloc(sizeof(*b) + klen + 1);
  if (b == NULL) return -1;
  b->cache = c;
  memcpy(b->key, key, klen + 1);
  if (!SSL_set_ex_data(ssl, binding_index, b)) {
    free(b);
    return -1;
  }
  SSL_SESSION *s = tls_session_cache_take(c, key);
  if (s != NULL) {
    SSL_set_session(ssl, s);
    SSL_SESSION_free(s);
  }
  return 0;
}

/* test_util.c — the shared helpers of libguise: queue.h, hmap, refs.h, gerr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gerr.h"
#include "guise.h"
#include "hmap.h"
#include "queue.h"
#include "refs.h"

#include "../../lib/gtest_check.h"

typedef struct item {
  gq link;
  hmap_node node;
  int v;
  char key[16];
} item;

static void test_queue(void) {
  item it[5];
  gq head, *q, *tmp;
  gq_init(&head);
  CHECK(gq_empty(&head) && gq_first(&head) == NULL);
  for (int i = 0; i < 5; i++) {
    it[i].v = i;
    gq_init(&it[i].link);
    CHECK(!gq_linked(&it[i].link));
  }
  gq_insert_tail(&head, &it[1].link);
  gq_insert_tail(&head, &it[2].link);
  gq_insert_head(&head, &it[0].link);
  gq_insert_tail(&head, &it[3].link);
  CHECK(gq_linked(&it[2].link) && !gq_linked(&it[4].link));
  int want[] = {0, 1, 2, 3}, k = 0;
  gq_foreach(q, &head) {
    CHECK(k < 4 && gq_data(q, item, link)->v == want[k]);
    k++;
  }
  CHECK(k == 4);
  gq_remove(&it[2].link);
  CHECK(!gq_linked(&it[2].link));
  gq_remove(&it[2].link); /* unlinked: a no-op */
  int want2[] = {0, 1, 3};
  k = 0;
  gq_foreach_safe(q, tmp, &head) {
    CHECK(k < 3 && gq_data(q, item, link)->v == want2[k]);
    k++;
    gq_remove(q);
  }
  CHECK(k == 3 && gq_empty(&head));
}

static item *find(const hmap *m, const char *key) {
  uint64_t h = hmap_hash_str(key);
  for (hmap_node *n = hmap_chain(m, h); n; n = n->next) {
    item *it = gq_data(n, item, node);
    if (n->hash == h && strcmp(it->key, key) == 0) return it;
  }
  return NULL;
}

static void test_hmap(void) {
  /* FNV-1a 64 test values from the algorithm's published test suite: "" and "a". */
  CHECK(hmap_hash("", 0) == 0xcbf29ce484222325ull);
  CHECK(hmap_hash("a", 1) == 0xaf63dc4c8601ec8cull);
  CHECK(hmap_hash_str("foobar") == 0x85944171f73967e8ull);
  CHECK(hmap_hash_str("foobar") == hmap_hash("foobar", 6));

  enum { N = 1000 };
  item *its = calloc(N, sizeof(*its));
  hmap m;
  hmap_init(&m);
  CHECK(find(&m, "x") == NULL);
  for (int i = 0; i < N; i++) {
    snprintf(its[i].key, sizeof(its[i].key), "k%d", i);
    its[i].v = i;
    CHECK(hmap_insert(&m, &its[i].node, hmap_hash_str(its[i].key)) == 0);
  }
  CHECK(m.n == N && m.n_buckets >= N && (m.n_buckets & (m.n_buckets - 1)) == 0);
  for (int i = 0; i < N; i++) CHECK(find(&m, its[i].key) == &its[i]);
  for (int i = 0; i < N; i += 2) hmap_remove(&m, &its[i].node);
  CHECK(m.n == N / 2);
  for (int i = 0; i < N; i++) CHECK(find(&m, its[i].key) == (i % 2 ? &its[i] : NULL));
  size_t b, seen = 0;
  hmap_node *n;
  hmap_foreach(&m, b, n) {
    CHECK(gq_data(n, item, node)->v % 2 == 1);
    seen++;
  }
  CHECK(seen == N / 2);
  hmap_free(&m);
  CHECK(m.n == 0 && m.n_buckets == 0 && find(&m, "k1") == NULL);
  free(its);
}

enum { HOLD_A = 1u << 0, HOLD_B = 1u << 1 };

static void test_refs(void) {
  refs r = {0};
  CHECK(refs_none(&r));
  refs_take(&r, HOLD_A);
  refs_take(&r, HOLD_B);
  refs_add(&r);
  CHECK(refs_held(&r, HOLD_A) && refs_held(&r, HOLD_B));
  CHECK(refs_drop(&r, HOLD_A) == 0);
  CHECK(refs_sub(&r) == 0);
  CHECK(!refs_held(&r, HOLD_A));
  CHECK(refs_drop(&r, HOLD_B) == 1);
}

static void test_gerr(void) {
  gerr e;
  gerr_clear(&e);
  CHECK(e.code == 0 && e.layer == NULL);
  gerr_set(&e, GUISE_E_TLS_HANDSHAKE, "tls", 42, "alert %d", 40);
  CHECK(e.code == GUISE_E_TLS_HANDSHAKE && e.lib == 42 && strcmp(e.layer, "tls") == 0);
  CHECK(strcmp(gerr_text(&e), "alert 40") == 0);
  gerr_set(&e, GUISE_E_CONNECT_REFUSED, "tcp", 0, "later"); /* the first error wins */
  CHECK(e.code == GUISE_E_TLS_HANDSHAKE && strcmp(e.text, "alert 40") == 0);
  gerr f;
  gerr_clear(&f);
  gerr_set(&f, GUISE_E_CONNECT_REFUSED, "tcp", 0, NULL);
  CHECK(strcmp(gerr_text(&f), guise_strerror(GUISE_E_CONNECT_REFUSED)) == 0);
  gerr_copy(&f, &e); /* f is set: unchanged */
  CHECK(f.code == GUISE_E_CONNECT_REFUSED);
  gerr g;
  gerr_clear(&g);
  gerr_copy(&g, &e);
  CHECK(g.code == e.code && strcmp(g.text, e.text) == 0 && g.layer == e.layer);
  char longtext[400];
  memset(longtext, 'x', sizeof(longtext) - 1);
  longtext[sizeof(longtext) - 1] = '\0';
  gerr_clear(&g);
  gerr_set(&g, GUISE_E_TLS_HANDSHAKE, "tls", 0, "%s", longtext);
  CHECK(strlen(g.text) == GERR_TEXT_MAX - 1);
}

int main(void) {
  test_queue();
  test_hmap();
  test_refs();
  test_gerr();
  return gt_done("test_util");
}

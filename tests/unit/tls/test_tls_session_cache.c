/*
 * test_tls_session_cache.c — resumption as browsers do it: a ticket from one
 * connection is offered by the next one to the same (host, port, profile,
 * proxy identity), never to another, once (TLS 1.3 tickets are single-use),
 * and not at all when resumption is off; pre_shared_key is last and counted in
 * the padding.
 */
#include <string.h>

#include <openssl/ssl.h>

#include "tcheck.h"
#include "tls_pair.h"
#include "tls_session_cache.h"

/* One connection from |cctx| to |sctx| under |key|; returns whether the client
 * offered a PSK, and sets |*resumed|. */
static int connect_once(SSL_CTX *cctx, SSL_CTX *sctx, tls_session_cache *cache, const char *key,
                        int resume, int *resumed, size_t *hello_len, int *psk_last) {
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  SSL_set_tlsext_host_name(c, "example.com");
  TC_CHECK(tls_session_cache_begin(cache, c, key, resume) == 0);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  int offered = 0;
  if (r.ch) {
    const gfp_ext *psk = gfp_ch_find_ext(r.ch, 41);
    offered = psk != NULL;
    if (psk) {
      /* RFC 8446 4.2.11: one identity; a SHA-256 binder for AES-128-GCM suites. */
      TC_EQ(psk->u.psk.identity_count, 1);
      TC_CHECK(psk->u.psk.binder_lengths.n == 1 && psk->u.psk.binder_lengths.v[0] == 32);
    }
    if (psk_last) *psk_last = psk == &r.ch->exts[r.ch->ext_count - 1];
    if (hello_len) *hello_len = r.ch->body_len + 4;
  }
  TC_CHECK(r.ch != NULL);
  *resumed = SSL_session_reused(c);
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  return offered;
}

static void test_tls_session_resumption_per_key(void) {
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  tls_session_cache_attach(cctx);
  tls_session_cache *cache = tls_session_cache_new(64);
  char direct[TLS_SESSION_KEY_MAX], proxied[TLS_SESSION_KEY_MAX], other_user[TLS_SESSION_KEY_MAX];
  TC_CHECK(tls_session_key(direct, sizeof(direct), "example.com", 443, "chrome-150", NULL) == 0);
  TC_CHECK(tls_session_key(proxied, sizeof(proxied), "example.com", 443, "chrome-150",
                           "http://alice:pw@127.0.0.1:3128") == 0);
  TC_CHECK(tls_session_key(other_user, sizeof(other_user), "example.com", 443, "chrome-150",
                           "http://bob:pw@127.0.0.1:3128") == 0);
  int resumed, psk_last = 0;
  TC_CHECK(!connect_once(cctx, sctx, cache, direct, 1, &resumed, NULL, NULL));
  TC_CHECK(!resumed);
  TC_EQ(tls_session_cache_size(cache), 1);
  /* The second connection offers the ticket, last, and resumes. */
  TC_CHECK(connect_once(cctx, sctx, cache, direct, 1, &resumed, NULL, &psk_last));
  TC_CHECK(resumed && psk_last);
  /* A proxy identity is part of the key: no ticket leaks to another exit. */
  TC_CHECK(!connect_once(cctx, sctx, cache, proxied, 1, &resumed, NULL, NULL));
  TC_CHECK(!connect_once(cctx, sctx, cache, other_user, 1, &resumed, NULL, NULL));
  TC_EQ(tls_session_cache_size(cache), 3);
  /* Single use: taking the direct ticket twice in a row finds nothing the second
   * time (the connection that took it stored a fresh one; take that too). */
  SSL_SESSION *t1 = tls_session_cache_take(cache, direct);
  SSL_SESSION *t2 = tls_session_cache_take(cache, direct);
  TC_CHECK(t1 != NULL && t2 == NULL);
  SSL_SESSION_free(t1);
  /* Resumption off: nothing offered, nothing stored. */
  size_t before = tls_session_cache_size(cache);
  TC_CHECK(!connect_once(cctx, sctx, cache, direct, 0, &resumed, NULL, NULL));
  TC_EQ(tls_session_cache_size(cache), before);
  tls_session_cache_free(cache);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* With an explicit extension order, pre_shared_key comes last, after the padding,
 * and the padding counts it: a 256..511-byte hello is 512 bytes with the PSK. */
static void test_tls_session_psk_and_padding(void) {
  static const uint16_t order[] = {0, 23, 65281, 10, 35, 13, 21, 43, 45, 51, 0x4321, 41};
  static uint8_t filler[24];
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  TC_CHECK(SSL_CTX_set_client_extension_order(cctx, order, sizeof(order) / sizeof(order[0])));
  TC_CHECK(SSL_CTX_add_client_raw_extension(cctx, 0x4321, filler, sizeof(filler)));
  TC_CHECK(SSL_CTX_set1_curves_list(cctx, "X25519"));
  tls_session_cache_attach(cctx);
  tls_session_cache *cache = tls_session_cache_new(4);
  int resumed, psk_last = 0;
  size_t len1 = 0, len2 = 0;
  TC_CHECK(!connect_once(cctx, sctx, cache, "k", 1, &resumed, &len1, NULL));
  TC_CHECK(connect_once(cctx, sctx, cache, "k", 1, &resumed, &len2, &psk_last));
  TC_CHECK(resumed && psk_last);
  printf("hello without PSK: %zu bytes, with PSK: %zu bytes\n", len1, len2);
  /* Both hellos fall in the padded range (RFC 7685, 256..511 bytes before
   * padding): each comes out at exactly 512 bytes, the PSK counted. */
  TC_EQ(len1, 512);
  TC_EQ(len2, 512);
  tls_session_cache_free(cache);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* The cache is bounded: the least recently stored entry goes first. */
static void test_tls_session_cache_eviction(void) {
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  tls_session_cache_attach(cctx);
  tls_session_cache *cache = tls_session_cache_new(2);
  int resumed;
  connect_once(cctx, sctx, cache, "a", 1, &resumed, NULL, NULL);
  connect_once(cctx, sctx, cache, "b", 1, &resumed, NULL, NULL);
  connect_once(cctx, sctx, cache, "c", 1, &resumed, NULL, NULL);
  TC_EQ(tls_session_cache_size(cache), 2);
  SSL_SESSION *a = tls_session_cache_take(cache, "a"), *c = tls_session_cache_take(cache, "c");
  TC_CHECK(a == NULL && c != NULL);
  SSL_SESSION_free(c);
  char key[16];
  TC_CHECK(tls_session_key(key, sizeof(key), "a-very-long-host-name", 443, "p", NULL) == -1);
  tls_session_cache_free(cache);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

int main(void) {
  test_tls_session_resumption_per_key();
  test_tls_session_psk_and_padding();
  test_tls_session_cache_eviction();
  return tc_summary("test_tls_session_cache");
}

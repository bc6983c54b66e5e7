/*
 * test_bssl_default_checks.c — BoringSSL's client-side checks of a ServerHello on
 * its default path (no wire-exact list set), where guise's patch series rewrote
 * the code that makes them:
 *
 *   0003: a TLS 1.2 server must choose a cipher suite the client enabled
 *         (do_read_server_hello, SSL_R_WRONG_CIPHER_RETURNED);
 *   0005: a TLS 1.3 server's key_share must be one the client offered
 *         (ssl_ext_key_share_parse_serverhello, SSL_R_WRONG_CURVE).
 *
 * Upstream tests both in its Go runner (ssl/test/runner), which is not built here,
 * and BoringSSL's ssl_test passes with either check removed (tried in a scratch
 * build, docs/TESTING.md). So each is checked here against canned ServerHellos,
 * with an accepted answer next to each refused one: the client must still be
 * waiting for the server's next message after the good one, and must fail with
 * exactly the reason above after the bad one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/ssl.h>

#include "tcheck.h"

/* A client over memory BIOs: |*out_wbio| receives what it sends (borrowed). */
static SSL *client_new(SSL_CTX *ctx, BIO **out_wbio) {
  SSL *ssl = SSL_new(ctx);
  BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
  if (ssl == NULL || rbio == NULL || wbio == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  SSL_set_connect_state(ssl);
  SSL_set_bio(ssl, rbio, wbio);
  *out_wbio = wbio;
  return ssl;
}

/* Advances the handshake. Returns 1 if the client waits for more bytes (it
 * accepted everything so far), 0 if it failed; |*reason| is then the SSL
 * library's reason code of the first queued error (0 if none). */
static int client_step(SSL *ssl, int *reason) {
  ERR_clear_error();
  *reason = 0;
  int rv = SSL_do_handshake(ssl);
  if (rv != 1 && SSL_get_error(ssl, rv) == SSL_ERROR_WANT_READ) return 1;
  uint32_t err = ERR_peek_error();
  if (ERR_GET_LIB(err) == ERR_LIB_SSL) *reason = ERR_GET_REASON(err);
  ERR_clear_error();
  return 0;
}

/* The legacy_session_id of the ClientHello in |wbio| (one record, as BoringSSL
 * writes a first flight), which a TLS 1.3 ServerHello must echo. */
static int client_hello_session_id(BIO *wbio, CBS *out) {
  const uint8_t *data;
  size_t len;
  CBS cbs, record, hello;
  uint8_t content_type, msg_type;
  uint16_t version, client_version;
  if (!BIO_mem_contents(wbio, &data, &len)) return 0;
  CBS_init(&cbs, data, len);
  return CBS_get_u8(&cbs, &content_type) && content_type == SSL3_RT_HANDSHAKE &&
         CBS_get_u16(&cbs, &version) && CBS_get_u16_length_prefixed(&cbs, &record) &&
         CBS_get_u8(&record, &msg_type) && msg_type == SSL3_MT_CLIENT_HELLO &&
         CBS_get_u24_length_prefixed(&record, &hello) && CBS_len(&record) == 0 &&
         CBS_get_u16(&hello, &client_version) && CBS_skip(&hello, SSL3_RANDOM_SIZE) &&
         CBS_get_u8_length_prefixed(&hello, out);
}

/* A ServerHello record (legacy_version TLS 1.2) choosing |cipher|, echoing
 * |session_id| (NULL: empty), with the extensions |exts| (NULL: no extensions
 * block). Returns the record (OPENSSL_free). */
static uint8_t *server_hello(uint16_t cipher, const CBS *session_id, const uint8_t *exts,
                             size_t exts_len, size_t *out_len) {
  CBB cbb, record, msg, body, ext_block;
  uint8_t random[SSL3_RANDOM_SIZE];
  uint8_t *out = NULL;
  memset(random, 0x42, sizeof(random)); /* no downgrade marker, not the HRR value */
  if (!CBB_init(&cbb, 128) || !CBB_add_u8(&cbb, SSL3_RT_HANDSHAKE) ||
      !CBB_add_u16(&cbb, TLS1_2_VERSION) || !CBB_add_u16_length_prefixed(&cbb, &record) ||
      !CBB_add_u8(&record, SSL3_MT_SERVER_HELLO) ||
      !CBB_add_u24_length_prefixed(&record, &msg) || !CBB_add_u16(&msg, TLS1_2_VERSION) ||
      !CBB_add_bytes(&msg, random, sizeof(random)) ||
      !CBB_add_u8_length_prefixed(&msg, &body) ||
      !CBB_add_bytes(&body, session_id ? CBS_data(session_id) : NULL,
                     session_id ? CBS_len(session_id) : 0) ||
      !CBB_add_u16(&msg, cipher) || !CBB_add_u8(&msg, 0 /* no compression */)) {
    goto err;
  }
  if (exts != NULL) {
    if (!CBB_add_u16_length_prefixed(&msg, &ext_block) ||
        !CBB_add_bytes(&ext_block, exts, exts_len)) {
      goto err;
    }
  }
  if (!CBB_finish(&cbb, &out, out_len)) goto err;
  return out;
err:
  fprintf(stderr, "out of memory\n");
  exit(2);
}

/* 0003's default path: the client enabled only ECDHE-RSA-AES128-GCM-SHA256
 * (c02f). A server choosing it is accepted; one choosing ECDHE-RSA-AES256-GCM-
 * SHA384 (c030, implemented but not enabled) is refused. */
static void regress_default_cipher_must_be_enabled(void) {
  static const struct {
    uint16_t chosen;
    int accepted;
  } cases[] = {{0xc02f, 1}, {0xc030, 0}};
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  TC_CHECK(ctx != NULL);
  TC_CHECK(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION));
  TC_CHECK(SSL_CTX_set_strict_cipher_list(ctx, "ECDHE-RSA-AES128-GCM-SHA256"));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    BIO *wbio;
    SSL *ssl = client_new(ctx, &wbio);
    int reason;
    TC_EQ(client_step(ssl, &reason), 1); /* ClientHello written */
    size_t len;
    uint8_t *sh = server_hello(cases[i].chosen, NULL, NULL, 0, &len);
    TC_EQ(BIO_write(SSL_get_rbio(ssl), sh, (int)len), (int)len);
    OPENSSL_free(sh);
    int waiting = client_step(ssl, &reason);
    TC_EQ(waiting, cases[i].accepted);
    if (!cases[i].accepted) TC_EQ(reason, SSL_R_WRONG_CIPHER_RETURNED);
    if (waiting != cases[i].accepted)
      fprintf(stderr, "  cipher %04x: reason %d\n", cases[i].chosen, reason);
    SSL_free(ssl);
  }
  SSL_CTX_free(ctx);
}

/* 0005's default path: a default client offers one key share, X25519, and lists
 * P-256 in supported_groups. A TLS 1.3 ServerHello with an X25519 share is
 * accepted; one with a P-256 share (not offered: the server should have sent a
 * HelloRetryRequest) is refused as WRONG_CURVE, before any key is computed. */
static void regress_default_key_share_must_be_offered(void) {
  /* X25519's base point u = 9: a valid public value (RFC 7748 section 4.1). */
  static const uint8_t x25519_share[32] = {9};
  /* An uncompressed P-256 point's length (RFC 8446 section 4.2.8.2); never read. */
  static const uint8_t p256_share[65] = {4};
  static const struct {
    uint16_t group;
    const uint8_t *key;
    size_t key_len;
    int accepted;
  } cases[] = {
      {SSL_CURVE_X25519, x25519_share, sizeof(x25519_share), 1},
      {SSL_CURVE_SECP256R1, p256_share, sizeof(p256_share), 0},
  };
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  TC_CHECK(ctx != NULL);
  TC_CHECK(SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    BIO *wbio;
    SSL *ssl = client_new(ctx, &wbio);
    int reason;
    TC_EQ(client_step(ssl, &reason), 1);
    CBS session_id;
    TC_CHECK(client_hello_session_id(wbio, &session_id));
    /* supported_versions (TLS 1.3) and key_share (the case's group and key). */
    CBB exts, ext, share;
    uint8_t *ext_bytes = NULL;
    size_t ext_len = 0;
    TC_CHECK(CBB_init(&exts, 128) && CBB_add_u16(&exts, TLSEXT_TYPE_supported_versions) &&
             CBB_add_u16_length_prefixed(&exts, &ext) && CBB_add_u16(&ext, TLS1_3_VERSION) &&
             CBB_add_u16(&exts, TLSEXT_TYPE_key_share) &&
             CBB_add_u16_length_prefixed(&exts, &ext) && CBB_add_u16(&ext, cases[i].group) &&
             CBB_add_u16_length_prefixed(&ext, &share) &&
             CBB_add_bytes(&share, cases[i].key, cases[i].key_len) &&
             CBB_finish(&exts, &ext_bytes, &ext_len));
    size_t len;
    uint8_t *sh = server_hello(TLS1_3_CK_AES_128_GCM_SHA256 & 0xffff, &session_id, ext_bytes,
                               ext_len, &len);
    TC_EQ(BIO_write(SSL_get_rbio(ssl), sh, (int)len), (int)len);
    OPENSSL_free(sh);
    OPENSSL_free(ext_bytes);
    int waiting = client_step(ssl, &reason);
    TC_EQ(waiting, cases[i].accepted);
    if (!cases[i].accepted) TC_EQ(reason, SSL_R_WRONG_CURVE);
    if (waiting != cases[i].accepted)
      fprintf(stderr, "  key share %04x: reason %d\n", cases[i].group, reason);
    SSL_free(ssl);
  }
  SSL_CTX_free(ctx);
}

int main(void) {
  regress_default_cipher_must_be_enabled();
  regress_default_key_share_must_be_offered();
  return tc_summary("test_bssl_default_checks");
}

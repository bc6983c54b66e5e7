/*
 * test_tls_patches.c — each patch of tools/boringssl/patches, checked on the wire:
 * an in-memory handshake between two BoringSSL endpoints, the client's
 * ClientHello captured by the message callback and parsed by the observer.
 */
#include <string.h>

#include <openssl/ssl.h>

#include "tcheck.h"
#include "tls_pair.h"

static const uint8_t kH2[] = {'h', '2'};
static const uint8_t kAlpn[] = "\x02h2";

/* 0001: X25519MLKEM768 is offered with a 1216-byte share and a separate X25519
 * key, and negotiated when both sides have it. */
static void test_tls_x25519mlkem768_shares_and_handshake(void) {
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  TC_CHECK(SSL_CTX_set1_curves_list(cctx, "X25519MLKEM768:X25519:P-256"));
  TC_CHECK(SSL_CTX_set1_curves_list(sctx, "X25519MLKEM768:X25519"));
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  TC_CHECK(r.ch != NULL);
  if (r.ch) {
    const gfp_ext *groups = gfp_ch_find_ext(r.ch, 10);
    TC_CHECK(groups && groups->u.list.n == 3);
    if (groups && groups->u.list.n == 3) {
      TC_EQ(groups->u.list.v[0], 0x11ec);
      TC_EQ(groups->u.list.v[1], 0x001d);
      TC_EQ(groups->u.list.v[2], 0x0017);
    }
    uint16_t g[8];
    const uint8_t *k[8];
    size_t kl[8];
    size_t n = tp_key_shares(r.ch, g, k, kl, 8);
    TC_EQ(n, 2);
    if (n == 2) {
      TC_EQ(g[0], 0x11ec);
      TC_EQ(kl[0], 1216);
      TC_EQ(g[1], 0x001d);
      TC_EQ(kl[1], 32);
      /* Chrome uses a fresh X25519 key in the hybrid share; reusing the plain
       * share's key would be a detectable difference. */
      TC_CHECK(kl[0] == 1216 && memcmp(k[0] + 1184, k[1], 32) != 0);
    }
  }
  TC_EQ(SSL_get_curve_id(c), 0x11ec);
  TC_EQ(SSL_get_curve_id(s), 0x11ec);
  TC_STREQ(SSL_get_curve_name(0x11ec), "X25519MLKEM768");
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* 0002: ALPS under 17513 (default) or 17613, negotiated under the code point the
 * client used. */
static int select_h2(SSL *ssl, const uint8_t **out, uint8_t *outlen, const uint8_t *in,
                     unsigned inlen, void *arg) {
  *out = kH2;
  *outlen = 2;
  return SSL_TLSEXT_ERR_OK;
}

static void test_tls_alps_codepoint(int use_new) {
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  static const uint8_t csettings[] = "client-settings", ssettings[] = "server-settings";
  SSL_CTX_set_alpn_select_cb(sctx, select_h2, NULL);
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  TC_CHECK(SSL_set_alpn_protos(c, kAlpn, 3) == 0);
  TC_CHECK(SSL_add_application_settings(c, kH2, 2, csettings, sizeof(csettings)));
  TC_CHECK(SSL_add_application_settings(s, kH2, 2, ssettings, sizeof(ssettings)));
  SSL_set_alps_use_new_codepoint(c, use_new);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  TC_CHECK(r.ch != NULL);
  if (r.ch) {
    const gfp_ext *sent = gfp_ch_find_ext(r.ch, use_new ? 17613 : 17513);
    TC_CHECK(sent != NULL);
    TC_CHECK(gfp_ch_find_ext(r.ch, use_new ? 17513 : 17613) == NULL);
    TC_CHECK(sent && sent->u.protocols.n == 1 && sent->u.protocols.v[0].len == 2 &&
             memcmp(sent->u.protocols.v[0].data, "h2", 2) == 0);
  }
  /* Both sides negotiated ALPS and hold the other's settings: the client's
   * EncryptedExtensions carried them under the same code point. */
  TC_CHECK(SSL_has_application_settings(c));
  TC_CHECK(SSL_has_application_settings(s));
  const uint8_t *peer;
  size_t peer_len;
  SSL_get0_peer_application_settings(c, &peer, &peer_len);
  TC_CHECK(peer_len == sizeof(ssettings) && memcmp(peer, ssettings, peer_len) == 0);
  SSL_get0_peer_application_settings(s, &peer, &peer_len);
  TC_CHECK(peer_len == sizeof(csettings) && memcmp(peer, csettings, peer_len) == 0);
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* 0003: the cipher_suites list is sent as given (GREASE placeholder, TLS 1.3
 * order, advertise-only ids) and the handshake completes on a listed suite. */
static void test_tls_client_cipher_ids_on_the_wire(void) {
  /* Firefox's TLS 1.3 order (1301,1303,1302) and Safari's advertise-only 3DES
   * suites c008/c012, behind a GREASE placeholder. */
  static const uint16_t ids[] = {0x0a0a, 0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f,
                                 0xcca9, 0xc008, 0xc012, 0x002f};
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  TC_CHECK(SSL_CTX_set_client_cipher_ids(cctx, ids, sizeof(ids) / sizeof(ids[0])));
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  TC_CHECK(r.ch != NULL);
  if (r.ch) {
    TC_EQ(r.ch->ciphers.n, sizeof(ids) / sizeof(ids[0]));
    for (size_t i = 0; i < r.ch->ciphers.n && i < sizeof(ids) / sizeof(ids[0]); i++) {
      if (i == 0) TC_CHECK(gfp_is_grease(r.ch->ciphers.v[0]));
      else TC_EQ(r.ch->ciphers.v[i], ids[i]);
    }
  }
  TC_EQ(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(c)), 0x1301);
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  /* Too long a list is refused. */
  static uint16_t many[257];
  TC_CHECK(!SSL_CTX_set_client_cipher_ids(cctx, many, 257));
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* A TLS 1.2 ServerHello choosing |cipher|, as one record. */
static size_t server_hello_12(uint16_t cipher, uint8_t *out) {
  static const uint8_t head[] = {0x16, 0x03, 0x03, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x03};
  memcpy(out, head, sizeof(head));
  memset(out + sizeof(head), 0x42, 32); /* server random */
  size_t n = sizeof(head) + 32;
  out[n++] = 0;                         /* session id */
  out[n++] = (uint8_t)(cipher >> 8);
  out[n++] = (uint8_t)cipher;
  out[n++] = 0;                         /* compression */
  return n;
}

/* 0003: a server choosing an advertise-only suite, or one not offered, fails the
 * handshake cleanly; a listed implemented suite is accepted. */
static void test_tls_client_cipher_ids_server_choice(void) {
  static const uint16_t ids[] = {0xc02f, 0xc008, 0xc012};
  static const struct { uint16_t chosen; int accepted; } cases[] = {
      {0xc02f, 1}, /* listed and implemented */
      {0xc012, 0}, /* listed, advertise-only */
      {0xc008, 0}, /* listed, advertise-only */
      {0xc02b, 0}, /* implemented, not listed */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    SSL_CTX *cctx = tp_client_ctx();
    SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
    TC_CHECK(SSL_CTX_set_client_cipher_ids(cctx, ids, 3));
    SSL *c = SSL_new(cctx);
    uint8_t sh[128];
    static tp_result r;
    int waiting = tp_client_vs_bytes(c, sh, server_hello_12(cases[i].chosen, sh), &r);
    TC_EQ(waiting, cases[i].accepted);
    if (!cases[i].accepted) {
      TC_CHECK(strstr(r.client_error, "WRONG_CIPHER_RETURNED") != NULL);
      if (!strstr(r.client_error, "WRONG_CIPHER_RETURNED"))
        fprintf(stderr, "  cipher %04x: %s\n", cases[i].chosen, r.client_error);
    }
    SSL_free(c);
    SSL_CTX_free(cctx);
  }
}

int main(void) {
  test_tls_x25519mlkem768_shares_and_handshake();
  test_tls_alps_codepoint(0);
  test_tls_alps_codepoint(1);
  test_tls_client_cipher_ids_on_the_wire();
  test_tls_client_cipher_ids_server_choice();
  return tc_summary("test_tls_patches");
}

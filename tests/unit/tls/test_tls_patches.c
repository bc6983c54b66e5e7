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

int main(void) {
  test_tls_x25519mlkem768_shares_and_handshake();
  test_tls_alps_codepoint(0);
  test_tls_alps_codepoint(1);
  return tc_summary("test_tls_patches");
}

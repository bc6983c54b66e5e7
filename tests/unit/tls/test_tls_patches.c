/*
 * test_tls_patches.c — each patch of tools/boringssl/patches, checked on the wire:
 * an in-memory handshake between two BoringSSL endpoints, the client's
 * ClientHello captured by the message callback and parsed by the observer.
 */
#include <string.h>

#include <openssl/ssl.h>

#include <time.h>

#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/pool.h>
#include <openssl/x509.h>

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

/* A TLS 1.2 ServerHello choosing |cipher|, with |ext_len| bytes of extensions
 * (without the length prefix) or none, as one record. */
static size_t server_hello_12_ext(uint16_t cipher, const uint8_t *exts, size_t ext_len,
                                  uint8_t *out) {
  size_t body = 2 + 32 + 1 + 2 + 1 + (exts ? 2 + ext_len : 0);
  size_t n = 0;
  out[n++] = 0x16;
  out[n++] = 0x03;
  out[n++] = 0x03;
  out[n++] = (uint8_t)((body + 4) >> 8);
  out[n++] = (uint8_t)(body + 4);
  out[n++] = 0x02;
  out[n++] = 0;
  out[n++] = (uint8_t)(body >> 8);
  out[n++] = (uint8_t)body;
  out[n++] = 0x03;
  out[n++] = 0x03;
  memset(out + n, 0x42, 32); /* server random */
  n += 32;
  out[n++] = 0;              /* session id */
  out[n++] = (uint8_t)(cipher >> 8);
  out[n++] = (uint8_t)cipher;
  out[n++] = 0;              /* compression */
  if (exts) {
    out[n++] = (uint8_t)(ext_len >> 8);
    out[n++] = (uint8_t)ext_len;
    memcpy(out + n, exts, ext_len);
    n += ext_len;
  }
  return n;
}

static size_t server_hello_12(uint16_t cipher, uint8_t *out) {
  return server_hello_12_ext(cipher, NULL, 0, out);
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

/* The extension types of a parsed hello, GREASE written as 0x0a0a. */
static size_t ext_types(const gfp_clienthello *ch, uint16_t *out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < ch->ext_count && n < max; i++)
    out[n++] = ch->exts[i].grease ? 0x0a0a : ch->exts[i].type;
  return n;
}

/* 0004: an explicit extension order with GREASE, a raw extension and padding. */
static void test_tls_client_extension_order_on_the_wire(void) {
  /* A Firefox-like order (no permutation) plus Chromium 156's 0xca34 as a raw
   * extension and two GREASE slots. */
  static const uint16_t order[] = {0x0a0a, 0, 23, 65281, 10, 11, 35, 16, 5, 51, 43, 13,
                                   45, 0xca34, 0x0a0a, 21};
  static const uint8_t raw_body[] = {0x00, 0x01, 0x02};
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  TC_CHECK(SSL_CTX_set_client_extension_order(cctx, order, sizeof(order) / sizeof(order[0])));
  TC_CHECK(SSL_CTX_add_client_raw_extension(cctx, 0xca34, raw_body, sizeof(raw_body)));
  /* An ML-KEM share makes the hello larger than 512 bytes: no padding. */
  TC_CHECK(SSL_CTX_set1_curves_list(cctx, "X25519MLKEM768:X25519"));
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  TC_CHECK(SSL_set_tlsext_host_name(c, "localhost"));
  TC_CHECK(SSL_set_alpn_protos(c, kAlpn, 3) == 0);
  SSL_enable_ocsp_stapling(c);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  TC_CHECK(r.ch != NULL);
  if (r.ch) {
    uint16_t got[64];
    size_t n = ext_types(r.ch, got, 64);
    /* Padding only when the hello needs it: this one is above 512 bytes. */
    size_t want_n = sizeof(order) / sizeof(order[0]) - 1;
    TC_EQ(n, want_n);
    for (size_t i = 0; i < n && i < want_n; i++) TC_EQ(got[i], order[i]);
    const gfp_ext *raw = gfp_ch_find_ext(r.ch, 0xca34);
    TC_CHECK(raw && raw->body.len == 3 && memcmp(raw->body.data, raw_body, 3) == 0);
    /* RFC 8701 GREASE as Chrome: first empty, second one zero byte. */
    TC_CHECK(r.ch->exts[0].grease && r.ch->exts[0].body.len == 0);
    TC_CHECK(r.ch->exts[14].grease && r.ch->exts[14].body.len == 1);
    TC_CHECK(r.ch->exts[0].type != r.ch->exts[14].type);
  }
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* 0004: the padding goes where it is listed, and brings a 256..511-byte hello to
 * exactly 512 bytes (RFC 7685, BoringSSL's rule) counting what follows it. */
static void test_tls_client_extension_order_padding_position(void) {
  static const uint16_t order[] = {0, 21, 10, 11, 51, 43, 13, 0x4321};
  static uint8_t filler[80]; /* brings the hello into the 256..511 range */
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  TC_CHECK(SSL_CTX_set_client_extension_order(cctx, order, sizeof(order) / sizeof(order[0])));
  TC_CHECK(SSL_CTX_add_client_raw_extension(cctx, 0x4321, filler, sizeof(filler)));
  TC_CHECK(SSL_CTX_set1_curves_list(cctx, "X25519"));
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  TC_CHECK(SSL_set_tlsext_host_name(c, "localhost"));
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  if (r.ch) {
    TC_EQ(r.ch->exts[1].type, 21);
    TC_EQ(r.ch->body_len + 4, 512);
    TC_EQ(r.ch->ext_count, 8);
    TC_EQ(r.ch->exts[7].type, 0x4321);
  }
  TC_CHECK(r.ch != NULL);
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* 0004: malformed lists are refused. */
static void test_tls_client_extension_order_rejects(void) {
  SSL_CTX *ctx = tp_client_ctx();
  static const uint16_t psk_not_last[] = {41, 0};
  static const uint16_t duplicate[] = {0, 10, 0};
  static const uint16_t three_grease[] = {0x0a0a, 0x1a1a, 0x2a2a};
  static const uint16_t psk_last[] = {0, 10, 41};
  TC_CHECK(!SSL_CTX_set_client_extension_order(ctx, psk_not_last, 2));
  TC_CHECK(!SSL_CTX_set_client_extension_order(ctx, duplicate, 3));
  TC_CHECK(!SSL_CTX_set_client_extension_order(ctx, three_grease, 3));
  TC_CHECK(SSL_CTX_set_client_extension_order(ctx, psk_last, 3));
  /* Raw extensions cannot shadow implemented, GREASE, padding or PSK types. */
  static const uint8_t b[] = {1};
  TC_CHECK(!SSL_CTX_add_client_raw_extension(ctx, 16, b, 1));
  TC_CHECK(!SSL_CTX_add_client_raw_extension(ctx, 0x1a1a, b, 1));
  TC_CHECK(!SSL_CTX_add_client_raw_extension(ctx, 21, b, 1));
  TC_CHECK(!SSL_CTX_add_client_raw_extension(ctx, 41, b, 1));
  TC_CHECK(!SSL_CTX_add_client_raw_extension(ctx, 17513, b, 1));
  TC_CHECK(SSL_CTX_add_client_raw_extension(ctx, 0x4321, b, 1));
  TC_CHECK(!SSL_CTX_add_client_raw_extension(ctx, 0x4321, b, 1));
  /* A listed type that is neither implemented nor raw fails the handshake. */
  static const uint16_t unknown[] = {0, 0x7777};
  TC_CHECK(SSL_CTX_set_client_extension_order(ctx, unknown, 2));
  SSL *c = SSL_new(ctx);
  uint8_t sh[128];
  static tp_result r;
  TC_CHECK(!tp_client_vs_bytes(c, sh, server_hello_12(0xc02f, sh), &r));
  TC_CHECK(strstr(r.client_error, "ERROR_ADDING_EXTENSION") != NULL);
  if (!strstr(r.client_error, "ERROR_ADDING_EXTENSION")) fprintf(stderr, "  got: %s\n", r.client_error);
  SSL_free(c);
  SSL_CTX_free(ctx);
}

/* 0004: with permutation the listed entries are shuffled per connection; GREASE,
 * padding and pre_shared_key keep their places. */
static void test_tls_client_extension_order_permuted(void) {
  static const uint16_t order[] = {0x0a0a, 0, 23, 65281, 10, 11, 35, 16, 5, 51, 43, 13, 45, 0x0a0a};
  const size_t n = sizeof(order) / sizeof(order[0]);
  int differs = 0;
  for (int round = 0; round < 8; round++) {
    SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
    TC_CHECK(SSL_CTX_set_client_extension_order(cctx, order, n));
    SSL_CTX_set_permute_extensions(cctx, 1);
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    TC_CHECK(SSL_set_tlsext_host_name(c, "localhost"));
    TC_CHECK(SSL_set_alpn_protos(c, kAlpn, 3) == 0);
    SSL_enable_ocsp_stapling(c);
    static tp_result r;
    tp_handshake(c, s, &r);
    TC_CHECK(r.ok && r.ch);
    if (r.ch) {
      uint16_t got[64];
      TC_EQ(ext_types(r.ch, got, 64), n);
      TC_EQ(got[0], 0x0a0a);
      TC_EQ(got[n - 1], 0x0a0a);
      int same_set = 1;
      for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t k = 0; k < n; k++) found |= got[k] == order[i];
        same_set &= found;
        differs |= got[i] != order[i];
      }
      TC_CHECK(same_set);
    }
    gfp_ch_free(r.ch);
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
  }
  TC_CHECK(differs);
}

/* 0004: a server echoing a raw extension is tolerated; an extension that was
 * never sent is still refused. */
static void test_tls_client_raw_extension_echo(void) {
  static const uint16_t order[] = {0, 0xca34, 65281};
  static const uint8_t b[] = {0xaa};
  static const uint8_t echo_raw[] = {0xca, 0x34, 0x00, 0x00, 0xff, 0x01, 0x00, 0x01, 0x00};
  static const uint8_t echo_other[] = {0x12, 0x34, 0x00, 0x00, 0xff, 0x01, 0x00, 0x01, 0x00};
  for (int k = 0; k < 2; k++) {
    SSL_CTX *ctx = tp_client_ctx();
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    TC_CHECK(SSL_CTX_set_client_extension_order(ctx, order, 3));
    TC_CHECK(SSL_CTX_add_client_raw_extension(ctx, 0xca34, b, 1));
    SSL *c = SSL_new(ctx);
    uint8_t sh[128];
    static tp_result r;
    int waiting = tp_client_vs_bytes(
        c, sh, server_hello_12_ext(0xc02f, k == 0 ? echo_raw : echo_other, sizeof(echo_raw), sh), &r);
    TC_EQ(waiting, k == 0);
    if (k == 1) TC_CHECK(strstr(r.client_error, "UNEXPECTED_EXTENSION") != NULL);
    SSL_free(c);
    SSL_CTX_free(ctx);
  }
}

/* 0005: Firefox's supported_groups with advertise-only ffdhe, and its three key
 * shares; a P-256-only server needs no HelloRetryRequest. */
static void test_tls_client_groups_and_three_key_shares(void) {
  static const uint16_t groups[] = {0x11ec, 0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101};
  static const uint16_t shares[] = {0x11ec, 0x001d, 0x0017};
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  TC_CHECK(SSL_CTX_set_client_group_ids(cctx, groups, 7));
  TC_CHECK(SSL_CTX_set_client_key_share_groups(cctx, shares, 3));
  TC_CHECK(SSL_CTX_set1_curves_list(sctx, "P-256"));
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  TC_CHECK(r.ch != NULL);
  if (r.ch) {
    const gfp_ext *g = gfp_ch_find_ext(r.ch, 10);
    TC_CHECK(g && g->u.list.n == 7);
    for (size_t i = 0; g && i < g->u.list.n && i < 7; i++) TC_EQ(g->u.list.v[i], groups[i]);
    uint16_t kg[8];
    const uint8_t *k[8];
    size_t kl[8];
    size_t n = tp_key_shares(r.ch, kg, k, kl, 8);
    static const size_t want_len[] = {1216, 32, 65}; /* RFC 8446 4.2.8.2: P-256 uncompressed */
    TC_EQ(n, 3);
    for (size_t i = 0; i < n && i < 3; i++) {
      TC_EQ(kg[i], shares[i]);
      TC_EQ(kl[i], want_len[i]);
    }
  }
  TC_EQ(SSL_get_curve_id(c), 0x0017);
  TC_CHECK(!SSL_used_hello_retry_request(c));
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* 0005: Chrome's GREASE group and its one-byte GREASE key share carry the same
 * value. */
static void test_tls_client_grease_key_share(void) {
  static const uint16_t groups[] = {0x0a0a, 0x11ec, 0x001d, 0x0017, 0x0018};
  static const uint16_t shares[] = {0x0a0a, 0x11ec, 0x001d};
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  TC_CHECK(SSL_CTX_set_client_group_ids(cctx, groups, 5));
  TC_CHECK(SSL_CTX_set_client_key_share_groups(cctx, shares, 3));
  TC_CHECK(SSL_CTX_set1_curves_list(sctx, "X25519MLKEM768:X25519"));
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  if (r.ch) {
    const gfp_ext *g = gfp_ch_find_ext(r.ch, 10);
    uint16_t kg[8];
    const uint8_t *k[8];
    size_t kl[8];
    size_t n = tp_key_shares(r.ch, kg, k, kl, 8);
    TC_EQ(n, 3);
    TC_CHECK(g && gfp_is_grease(g->u.list.v[0]) && kg[0] == g->u.list.v[0]);
    TC_EQ(kl[0], 1);
    TC_EQ(kg[1], 0x11ec);
    TC_EQ(kg[2], 0x001d);
  }
  TC_CHECK(r.ch != NULL);
  TC_EQ(SSL_get_curve_id(c), 0x11ec);
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* A TLS 1.3 HelloRetryRequest (RFC 8446 4.1.3) asking for |group|, echoing the
 * hello's session id. */
static size_t hello_retry_request(const gfp_clienthello *ch, uint16_t group, uint8_t *out) {
  static const uint8_t hrr_random[32] = {
      0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
      0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
  uint8_t body[256];
  size_t n = 0;
  body[n++] = 0x03;
  body[n++] = 0x03;
  memcpy(body + n, hrr_random, 32);
  n += 32;
  body[n++] = (uint8_t)ch->session_id.len;
  memcpy(body + n, ch->session_id.data, ch->session_id.len);
  n += ch->session_id.len;
  static const uint8_t rest[] = {0x13, 0x01, 0x00, 0x00, 0x0c, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04,
                                 0x00, 0x33, 0x00, 0x02};
  memcpy(body + n, rest, sizeof(rest));
  n += sizeof(rest);
  body[n++] = (uint8_t)(group >> 8);
  body[n++] = (uint8_t)group;
  size_t m = 0;
  out[m++] = 0x16;
  out[m++] = 0x03;
  out[m++] = 0x03;
  out[m++] = (uint8_t)((n + 4) >> 8);
  out[m++] = (uint8_t)(n + 4);
  out[m++] = 0x02;
  out[m++] = 0;
  out[m++] = (uint8_t)(n >> 8);
  out[m++] = (uint8_t)n;
  memcpy(out + m, body, n);
  return m + n;
}

/* 0005: a server asking for an advertise-only group (ffdhe2048) fails cleanly;
 * one asking for an accepted group without a share is followed. */
static void test_tls_client_group_server_choice(void) {
  static const uint16_t groups[] = {0x001d, 0x0017, 0x0100};
  static const uint16_t shares[] = {0x001d};
  static const struct { uint16_t asked; int followed; } cases[] = {{0x0100, 0}, {0x0017, 1}, {0x0018, 0}};
  for (size_t i = 0; i < 3; i++) {
    SSL_CTX *cctx = tp_client_ctx();
    TC_CHECK(SSL_CTX_set_client_group_ids(cctx, groups, 3));
    TC_CHECK(SSL_CTX_set_client_key_share_groups(cctx, shares, 1));
    SSL *c = SSL_new(cctx);
    static tp_result r;
    TC_CHECK(tp_client_start(c, &r) && r.ch);
    if (r.ch) {
      uint8_t hrr[300];
      int waiting = tp_client_feed(c, hrr, hello_retry_request(r.ch, cases[i].asked, hrr), &r);
      TC_EQ(waiting, cases[i].followed);
      if (!cases[i].followed) TC_CHECK(strstr(r.client_error, "WRONG_CURVE") != NULL);
    }
    gfp_ch_free(r.ch);
    SSL_free(c);
    SSL_CTX_free(cctx);
  }
}

/* 0005: malformed key-share choices are refused. */
static void test_tls_client_key_share_rejects(void) {
  SSL_CTX *ctx = tp_client_ctx();
  static const uint16_t five[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x11ec};
  static const uint16_t dup[] = {0x001d, 0x001d};
  static const uint16_t ffdhe[] = {0x0100};
  static const uint16_t only_ffdhe[] = {0x0100, 0x0101};
  TC_CHECK(!SSL_CTX_set_client_key_share_groups(ctx, five, 5));
  TC_CHECK(!SSL_CTX_set_client_key_share_groups(ctx, dup, 2));
  TC_CHECK(!SSL_CTX_set_client_key_share_groups(ctx, ffdhe, 1));
  TC_CHECK(!SSL_CTX_set_client_key_share_groups(ctx, five, 0));
  TC_CHECK(!SSL_CTX_set_client_group_ids(ctx, only_ffdhe, 2));
  /* A share for a group the client does not accept fails at the handshake. */
  static const uint16_t groups[] = {0x001d};
  static const uint16_t p256[] = {0x0017};
  TC_CHECK(SSL_CTX_set_client_group_ids(ctx, groups, 1));
  TC_CHECK(SSL_CTX_set_client_key_share_groups(ctx, p256, 1));
  SSL *c = SSL_new(ctx);
  static tp_result r;
  TC_CHECK(!tp_client_start(c, &r));
  TC_CHECK(strstr(r.client_error, "WRONG_CURVE") != NULL);
  SSL_free(c);
  SSL_CTX_free(ctx);
}

/* 0006: signature_algorithms verbatim: Safari's duplicate 0x0805, Chromium 156's
 * GREASE and ML-DSA first; the handshake still verifies the server (0x0403). */
static void test_tls_client_sigalgs_verbatim(void) {
  static const uint16_t safari[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0203, 0x0805,
                                    0x0805, 0x0501, 0x0806, 0x0601, 0x0201};
  static const uint16_t chromium156[] = {0x0a0a, 0x0904, 0x0905, 0x0906, 0x0403, 0x0804,
                                         0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
  const struct { const uint16_t *v; size_t n; } lists[] = {{safari, 11}, {chromium156, 12}};
  for (size_t k = 0; k < 2; k++) {
    SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
    TC_CHECK(SSL_CTX_set_client_sigalgs(cctx, lists[k].v, lists[k].n));
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    static tp_result r;
    tp_handshake(c, s, &r);
    TC_CHECK(r.ok);
    TC_CHECK(r.ch != NULL);
    if (r.ch) {
      const gfp_ext *e = gfp_ch_find_ext(r.ch, 13);
      TC_CHECK(e && e->u.list.n == lists[k].n);
      for (size_t i = 0; e && i < e->u.list.n && i < lists[k].n; i++) {
        if (gfp_is_grease(lists[k].v[i])) TC_CHECK(gfp_is_grease(e->u.list.v[i]));
        else TC_EQ(e->u.list.v[i], lists[k].v[i]);
      }
    }
    TC_EQ(SSL_get_peer_signature_algorithm(c), 0x0403);
    gfp_ch_free(r.ch);
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
  }
  /* Only advertise-only algorithms: nothing could verify the server. */
  static const uint16_t mldsa[] = {0x0904, 0x0905};
  SSL_CTX *ctx = tp_client_ctx();
  TC_CHECK(!SSL_CTX_set_client_sigalgs(ctx, mldsa, 2));
  /* A server signing with an algorithm outside the accepted list is refused:
   * the accepted list is only RSA-PSS here, the server signs with ECDSA. */
  static const uint16_t rsa_only[] = {0x0904, 0x0804};
  TC_CHECK(SSL_CTX_set_client_sigalgs(ctx, rsa_only, 2));
  SSL_CTX *sctx = tp_server_ctx();
  SSL *c = SSL_new(ctx), *s = SSL_new(sctx);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(!r.ok);
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(ctx);
  SSL_CTX_free(sctx);
}

/* Largest single SSL_read on |to| after |from| writes |n| bytes: one record's
 * data at most, so it shows the record size the writer used. */
static size_t largest_record(SSL *from, SSL *to, size_t n) {
  static uint8_t buf[20000];
  memset(buf, 'r', sizeof(buf));
  if (n > sizeof(buf) || SSL_write(from, buf, (int)n) != (int)n) return 0;
  size_t got = 0, largest = 0;
  while (got < n) {
    int r = SSL_read(to, buf, sizeof(buf));
    if (r <= 0) return 0;
    if ((size_t)r > largest) largest = (size_t)r;
    got += (size_t)r;
  }
  return largest;
}

/* 0007: record_size_limit is sent, answered, and honoured on send both ways. */
static void test_tls_record_size_limit(int tls13) {
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  TC_CHECK(SSL_CTX_set_record_size_limit(cctx, 16385)); /* Firefox's value */
  TC_CHECK(SSL_CTX_set_record_size_limit(sctx, 1000));
  if (!tls13) SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  static tp_result r;
  tp_handshake(c, s, &r);
  TC_CHECK(r.ok);
  if (r.ch) {
    const gfp_ext *e = gfp_ch_find_ext(r.ch, 28);
    TC_CHECK(e && e->u.record_size_limit == 16385);
  }
  TC_CHECK(r.ch != NULL);
  /* The server said 1000: the client's TLS 1.3 records carry 999 bytes of data. */
  TC_EQ(largest_record(c, s, 5000), tls13 ? 999 : 1000);
  /* The client said 16385: the server may send full records. */
  TC_EQ(largest_record(s, c, 17000), 16384);
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  /* Out-of-range values are refused. */
  TC_CHECK(!SSL_CTX_set_record_size_limit(cctx, 63));
  TC_CHECK(!SSL_CTX_set_record_size_limit(cctx, 16386));
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* 0008: the AES-hardware override decides the default TLS 1.3 order and the
 * GREASE ECH AEAD (RFC 9180: 0x0001 AES-128-GCM, 0x0003 ChaCha20-Poly1305). */
static void test_tls_aes_hw_override(void) {
  for (int hw = 0; hw <= 1; hw++) {
    SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
    SSL_CTX_set_aes_hw_override(cctx, hw);
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    SSL_set_enable_ech_grease(c, 1);
    static tp_result r;
    tp_handshake(c, s, &r);
    TC_CHECK(r.ok);
    TC_CHECK(r.ch != NULL);
    if (r.ch) {
      static const uint16_t with_hw[] = {0x1301, 0x1302, 0x1303};
      static const uint16_t without_hw[] = {0x1303, 0x1301, 0x1302};
      const uint16_t *want = hw ? with_hw : without_hw;
      TC_CHECK(r.ch->ciphers.n >= 3);
      for (size_t i = 0; i < 3 && i < r.ch->ciphers.n; i++) TC_EQ(r.ch->ciphers.v[i], want[i]);
      const gfp_ext *ech = gfp_ch_find_ext(r.ch, 0xfe0d);
      TC_CHECK(ech && ech->kind == GFP_EXT_ECH && ech->u.ech.type == 0);
      if (ech) TC_EQ(ech->u.ech.aead_id, hw ? 0x0001 : 0x0003);
    }
    gfp_ch_free(r.ch);
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
  }
}

/* A server context whose P-256 leaf (notBefore an hour ago) carries
 * DelegationUsage or not, and a delegated credential for |ssl| signed by the
 * leaf key (RFC 9345 section 4): valid |valid_time| seconds from the leaf's
 * notBefore, algorithm 0x0403, its signature corrupted on request. */
static SSL_CTX *dc_server_ctx(int delegation_usage, EVP_PKEY **out_leaf_key, X509 **out_leaf) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *key = EVP_PKEY_new();
  X509 *x = X509_new();
  if (!EC_KEY_generate_key(ec) || !EVP_PKEY_set1_EC_KEY(key, ec)) abort();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             (const uint8_t *)"localhost", -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_set_pubkey(x, key);
  if (delegation_usage) {
    /* OID 1.3.6.1.4.1.44363.44 with a NULL value, as RFC 9345 section 4.2 defines. */
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.44363.44", 1);
    ASN1_OCTET_STRING *null_value = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(null_value, (const uint8_t *)"\x05\x00", 2);
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, null_value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(null_value);
    ASN1_OBJECT_free(oid);
  }
  if (!X509_sign(x, key, EVP_sha256()) || !SSL_CTX_use_certificate(ctx, x) ||
      !SSL_CTX_use_PrivateKey(ctx, key))
    abort();
  EC_KEY_free(ec);
  *out_leaf_key = key;
  *out_leaf = x;
  return ctx;
}

static void attach_dc(SSL *ssl, EVP_PKEY *leaf_key, X509 *leaf, uint32_t valid_time, int corrupt) {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *dc_key = EVP_PKEY_new();
  if (!EC_KEY_generate_key(ec) || !EVP_PKEY_set1_EC_KEY(dc_key, ec)) abort();
  CBB cred, spki;
  uint8_t *cred_bytes;
  size_t cred_len;
  CBB_init(&cred, 256);
  CBB_add_u32(&cred, valid_time);
  CBB_add_u16(&cred, 0x0403);
  CBB_add_u24_length_prefixed(&cred, &spki);
  EVP_marshal_public_key(&spki, dc_key);
  CBB_finish(&cred, &cred_bytes, &cred_len);
  uint8_t *der = NULL;
  int der_len = i2d_X509(leaf, &der);
  CBB msg;
  uint8_t *msg_bytes;
  size_t msg_len;
  CBB_init(&msg, 1024);
  for (int i = 0; i < 64; i++) CBB_add_u8(&msg, 0x20);
  CBB_add_bytes(&msg, (const uint8_t *)"TLS, server delegated credentials", 34); /* with the 0 */
  CBB_add_bytes(&msg, der, (size_t)der_len);
  CBB_add_bytes(&msg, cred_bytes, cred_len);
  CBB_add_u16(&msg, 0x0403);
  CBB_finish(&msg, &msg_bytes, &msg_len);
  uint8_t sig[128];
  size_t sig_len = sizeof(sig);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, leaf_key) ||
      !EVP_DigestSign(md, sig, &sig_len, msg_bytes, msg_len))
    abort();
  if (corrupt) sig[sig_len / 2] ^= 1;
  CBB dc, s;
  uint8_t *dc_bytes;
  size_t dc_len;
  CBB_init(&dc, 512);
  CBB_add_bytes(&dc, cred_bytes, cred_len);
  CBB_add_u16(&dc, 0x0403);
  CBB_add_u16_length_prefixed(&dc, &s);
  CBB_add_bytes(&s, sig, sig_len);
  CBB_finish(&dc, &dc_bytes, &dc_len);
  CRYPTO_BUFFER *buf = CRYPTO_BUFFER_new(dc_bytes, dc_len, NULL);
  if (!SSL_set1_delegated_credential(ssl, buf, dc_key, NULL)) abort();
  CRYPTO_BUFFER_free(buf);
  OPENSSL_free(dc_bytes);
  OPENSSL_free(msg_bytes);
  OPENSSL_free(cred_bytes);
  OPENSSL_free(der);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(dc_key);
  EC_KEY_free(ec);
}

/* 0009: delegated credentials offered, used when valid, refused otherwise. */
static void test_tls_delegated_credentials(void) {
  static const uint16_t firefox_dc[] = {0x0403, 0x0503, 0x0603, 0x0203};
  const uint32_t age = 3600; /* the leaf's notBefore is an hour ago */
  const struct {
    const char *what;
    int usage, corrupt, offer;
    uint32_t valid_time;
    int ok, used;
  } cases[] = {
      {"valid, three days left", 1, 0, 1, age + 3 * 86400, 1, 1},
      {"bad signature", 1, 1, 1, age + 3 * 86400, 0, 0},
      {"expired", 1, 0, 1, age - 600, 0, 0},
      {"more than seven days left", 1, 0, 1, age + 8 * 86400, 0, 0},
      {"leaf without DelegationUsage", 0, 0, 1, age + 3 * 86400, 0, 0},
      {"not offered: none sent", 1, 0, 0, age + 3 * 86400, 1, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    EVP_PKEY *leaf_key;
    X509 *leaf;
    SSL_CTX *sctx = dc_server_ctx(cases[i].usage, &leaf_key, &leaf);
    SSL_CTX *cctx = tp_client_ctx();
    if (cases[i].offer) TC_CHECK(SSL_CTX_set_delegated_credential_sigalgs(cctx, firefox_dc, 4));
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    attach_dc(s, leaf_key, leaf, cases[i].valid_time, cases[i].corrupt);
    static tp_result r;
    tp_handshake(c, s, &r);
    if (r.ok != cases[i].ok || SSL_delegated_credential_used(c) != cases[i].used)
      fprintf(stderr, "  case '%s': ok=%d used=%d (%s)\n", cases[i].what, r.ok,
              SSL_delegated_credential_used(c), r.client_error);
    TC_EQ(r.ok, cases[i].ok);
    TC_EQ(SSL_delegated_credential_used(c), cases[i].used);
    if (!cases[i].ok && !strstr(r.client_error, "INVALID_DELEGATED_CREDENTIAL"))
      fprintf(stderr, "  case %s: %s\n", cases[i].what, r.client_error);
    if (!cases[i].ok) TC_CHECK(strstr(r.client_error, "INVALID_DELEGATED_CREDENTIAL") != NULL);
    if (r.ch && cases[i].offer) {
      const gfp_ext *e = gfp_ch_find_ext(r.ch, 34);
      TC_CHECK(e && e->u.list.n == 4);
      for (size_t k = 0; e && k < e->u.list.n && k < 4; k++) TC_EQ(e->u.list.v[k], firefox_dc[k]);
    }
    gfp_ch_free(r.ch);
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    EVP_PKEY_free(leaf_key);
    X509_free(leaf);
  }
}

int main(void) {
  test_tls_x25519mlkem768_shares_and_handshake();
  test_tls_alps_codepoint(0);
  test_tls_alps_codepoint(1);
  test_tls_client_cipher_ids_on_the_wire();
  test_tls_client_cipher_ids_server_choice();
  test_tls_client_extension_order_on_the_wire();
  test_tls_client_extension_order_padding_position();
  test_tls_client_extension_order_rejects();
  test_tls_client_extension_order_permuted();
  test_tls_client_raw_extension_echo();
  test_tls_client_groups_and_three_key_shares();
  test_tls_client_grease_key_share();
  test_tls_client_group_server_choice();
  test_tls_client_key_share_rejects();
  test_tls_client_sigalgs_verbatim();
  test_tls_record_size_limit(1);
  test_tls_record_size_limit(0);
  test_tls_aes_hw_override();
  test_tls_delegated_credentials();
  return tc_summary("test_tls_patches");
}

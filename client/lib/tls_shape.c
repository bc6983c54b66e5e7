/* tls_shape.c — a ClientHello shape applied to BoringSSL (see tls_shape.h). */
#include "tls_shape.h"

#include <string.h>

#include "tls_certcomp.h"

static int is_grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

void tls_shape_init(tls_shape *s) {
  memset(s, 0, sizeof(*s));
  s->alps_codepoint = 17513;
  s->session_ticket = 1;
  s->aes_hw = -1;
}

#define FAIL(msg)   \
  do {              \
    *why = (msg);   \
    return -1;      \
  } while (0)

int tls_shape_apply_ctx(SSL_CTX *ctx, const tls_shape *s, const char **why) {
  /* supported_versions: the range, and GREASE when the list carries it (RFC
   * 8701; BoringSSL writes it first, as every GREASE-sending browser). */
  if (s->n_versions > 0) {
    uint16_t lo = 0xffff, hi = 0;
    int grease = 0;
    for (size_t i = 0; i < s->n_versions; i++) {
      if (is_grease(s->versions[i])) {
        grease = 1;
        continue;
      }
      if (s->versions[i] < lo) lo = s->versions[i];
      if (s->versions[i] > hi) hi = s->versions[i];
    }
    if (hi == 0 || !SSL_CTX_set_min_proto_version(ctx, lo) ||
        !SSL_CTX_set_max_proto_version(ctx, hi))
      FAIL("supported_versions names no usable TLS version");
    SSL_CTX_set_grease_enabled(ctx, grease);
  }
  if (s->n_ciphers && !SSL_CTX_set_client_cipher_ids(ctx, s->ciphers, s->n_ciphers))
    FAIL("cipher list refused");
  for (size_t i = 0; i < s->n_raw; i++)
    if (!SSL_CTX_add_client_raw_extension(ctx, s->raw[i].type, s->raw[i].body, s->raw[i].len))
      FAIL("raw extension refused (implemented, reserved or duplicated type)");
  if (s->n_extensions &&
      !SSL_CTX_set_client_extension_order(ctx, s->extensions, s->n_extensions))
    FAIL("extension order refused (duplicate, more than two GREASE, or pre_shared_key not last)");
  SSL_CTX_set_permute_extensions(ctx, s->permute_extensions);
  if (s->n_groups && !SSL_CTX_set_client_group_ids(ctx, s->groups, s->n_groups))
    FAIL("supported_groups names no implemented group");
  if (s->n_key_shares &&
      !SSL_CTX_set_client_key_share_groups(ctx, s->key_shares, s->n_key_shares))
    FAIL("key shares refused (one to four implemented, distinct groups)");
  if (s->n_sigalgs && !SSL_CTX_set_client_sigalgs(ctx, s->sigalgs, s->n_sigalgs))
    FAIL("signature_algorithms names no implemented algorithm");
  if (s->n_dc_sigalgs &&
      !SSL_CTX_set_delegated_credential_sigalgs(ctx, s->dc_sigalgs, s->n_dc_sigalgs))
    FAIL("delegated credential algorithms refused");
  if (s->record_size_limit && !SSL_CTX_set_record_size_limit(ctx, s->record_size_limit))
    FAIL("record_size_limit out of range (64..16385)");
  if (s->n_certcomp &&
      guise_tls_certcomp_register(ctx, s->certcomp, s->n_certcomp, GUISE_TLS_CERTCOMP_DECOMPRESS,
                                  why) != 0)
    return -1;
  SSL_CTX_set_aes_hw_override(ctx, s->aes_hw);
  if (!s->session_ticket) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  return 0;
}

int tls_shape_apply_ssl(SSL *ssl, const tls_shape *s, const char **why) {
  if (s->n_alpn) {
    uint8_t wire[TLS_SHAPE_MAX_ALPN * (TLS_SHAPE_MAX_PROTO + 1)];
    size_t n = 0;
    for (size_t i = 0; i < s->n_alpn; i++) {
      size_t len = strnlen(s->alpn[i], TLS_SHAPE_MAX_PROTO);
      if (len == 0 || len >= TLS_SHAPE_MAX_PROTO) FAIL("empty or over-long ALPN protocol");
      wire[n++] = (uint8_t)len;
      memcpy(wire + n, s->alpn[i], len);
      n += len;
    }
    if (SSL_set_alpn_protos(ssl, wire, n) != 0) FAIL("ALPN list refused");
  }
  for (size_t i = 0; i < s->n_alps; i++) {
    /* The settings a browser sends in EncryptedExtensions; empty is valid. */
    size_t len = strnlen(s->alps[i], TLS_SHAPE_MAX_PROTO);
    if (!SSL_add_application_settings(ssl, (const uint8_t *)s->alps[i], len, NULL, 0))
      FAIL("ALPS protocol refused");
  }
  SSL_set_alps_use_new_codepoint(ssl, s->alps_codepoint == 17613);
  SSL_set_enable_ech_grease(ssl, s->ech_grease);
  if (s->status_request) SSL_enable_ocsp_stapling(ssl);
  if (s->sct) SSL_enable_signed_cert_timestamps(ssl);
  return 0;
}

int tls_shape_ext_implemented(SSL_CTX *scratch, uint16_t type) {
  return !SSL_CTX_add_client_raw_extension(scratch, type, NULL, 0);
}

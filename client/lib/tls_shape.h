/*
 * tls_shape.h — the shape of a ClientHello, as plain data, and its application
 * to a BoringSSL context and connection through the patch series of
 * tools/boringssl/patches (docs/TLS.md). Profiles (JSON) load into this struct;
 * this module is the only place that turns it into BoringSSL calls.
 *
 * Internal to libguise. I/O-free. Every list has a fixed cap; GREASE is written
 * as any RFC 8701 value (0x0a0a) and stands for the connection's GREASE value.
 */
#ifndef GUISE_TLS_SHAPE_H
#define GUISE_TLS_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* Caps: far above any browser (Safari 26: 21 suites, Chromium 156: 18
 * extensions, Firefox: 11 signature algorithms). */
#define TLS_SHAPE_MAX_CIPHERS 64
#define TLS_SHAPE_MAX_EXTENSIONS 48
#define TLS_SHAPE_MAX_RAW 8
#define TLS_SHAPE_MAX_RAW_BODY 512
#define TLS_SHAPE_MAX_GROUPS 32
#define TLS_SHAPE_MAX_KEY_SHARES 4
#define TLS_SHAPE_MAX_SIGALGS 48
#define TLS_SHAPE_MAX_VERSIONS 8
#define TLS_SHAPE_MAX_ALPN 8
#define TLS_SHAPE_MAX_PROTO 32
#define TLS_SHAPE_MAX_CERTCOMP 3

typedef struct tls_shape_raw_ext {
  uint16_t type;
  uint16_t len;
  uint8_t body[TLS_SHAPE_MAX_RAW_BODY];
} tls_shape_raw_ext;

typedef struct tls_shape {
  uint16_t ciphers[TLS_SHAPE_MAX_CIPHERS];
  size_t n_ciphers;
  uint16_t extensions[TLS_SHAPE_MAX_EXTENSIONS]; /* exact order; empty: BoringSSL's */
  size_t n_extensions;
  int permute_extensions;                        /* Chrome 110+ */
  tls_shape_raw_ext raw[TLS_SHAPE_MAX_RAW];
  size_t n_raw;
  uint16_t groups[TLS_SHAPE_MAX_GROUPS];
  size_t n_groups;
  uint16_t key_shares[TLS_SHAPE_MAX_KEY_SHARES];
  size_t n_key_shares;
  uint16_t sigalgs[TLS_SHAPE_MAX_SIGALGS];
  size_t n_sigalgs;
  uint16_t dc_sigalgs[TLS_SHAPE_MAX_SIGALGS];  /* delegated_credentials; empty: not sent */
  size_t n_dc_sigalgs;
  uint16_t versions[TLS_SHAPE_MAX_VERSIONS];   /* supported_versions, e.g. GREASE 0304 0303 */
  size_t n_versions;
  char alpn[TLS_SHAPE_MAX_ALPN][TLS_SHAPE_MAX_PROTO];
  size_t n_alpn;
  char alps[TLS_SHAPE_MAX_ALPN][TLS_SHAPE_MAX_PROTO]; /* ALPS protocols; empty: no ALPS */
  size_t n_alps;
  uint16_t alps_codepoint;                     /* 17513 or 17613 */
  uint16_t certcomp[TLS_SHAPE_MAX_CERTCOMP];   /* RFC 8879 ids in order */
  size_t n_certcomp;
  uint16_t record_size_limit;                  /* 0: not sent */
  int ech_grease, status_request, sct, session_ticket;
  int aes_hw;                                  /* 1, 0, -1 detect */
} tls_shape;

/* Fills |s| with an empty shape (BoringSSL's defaults everywhere). */
void tls_shape_init(tls_shape *s);

/*
 * Applies the context-wide parts of |s| to a client context |ctx| (ciphers,
 * extension order, raw extensions, groups, key shares, sigalgs, delegated
 * credentials, versions, GREASE, certificate compression, record size limit,
 * AES override, tickets). Returns 0, or -1 with a static reason in |*why| when
 * BoringSSL refuses a part (an unimplemented key-share group, a malformed
 * extension order, a duplicate raw extension). Call once, before SSL_new.
 */
int tls_shape_apply_ctx(SSL_CTX *ctx, const tls_shape *s, const char **why);

/* Applies the per-connection parts (ALPN, ALPS, ECH GREASE, OCSP and SCT
 * requests, ALPS code point) to |ssl|. Returns 0 or -1 with |*why|. */
int tls_shape_apply_ssl(SSL *ssl, const tls_shape *s, const char **why);

/* 1 if the TLS library writes extension |type| itself (from the rest of the
 * shape), 0 if it can only be sent as a raw extension with a given body.
 * GREASE, padding and pre_shared_key count as implemented. |scratch| is a
 * client context used only for asking (the library refuses a raw extension of
 * a type it implements, patch 0004); ask about each type once per context: a
 * type already added as raw also answers 1. */
int tls_shape_ext_implemented(SSL_CTX *scratch, uint16_t type);

#endif

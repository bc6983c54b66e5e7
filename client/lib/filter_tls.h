/*
 * filter_tls.h — TLS as a filter of a connection's chain (filter.h), through
 * BoringSSL with a BIO of ours that reads the bytes just received from below
 * and writes straight to the filter below (no buffer of its own that would keep
 * its high-water size for the connection's life, as a memory BIO does).
 *
 * One module, two instances on a connection through an https:// proxy: the
 * origin's TLS (shaped by the profile) and, under the proxy handshake, the TLS
 * to the proxy (the context's plain hello, ALPN http/1.1). The role names the
 * failures as the user knows them (TLS_* / CERT_* against PROXY_TLS /
 * PROXY_CERT) and their layer ("tls" / "proxy-tls"). Built by conn.c.
 */
#ifndef GUISE_FILTER_TLS_H
#define GUISE_FILTER_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "filter.h"
#include "tls_session_cache.h"
#include "tls_shape.h"

typedef enum filter_tls_role { FILTER_TLS_ORIGIN, FILTER_TLS_PROXY } filter_tls_role;

typedef struct filter_tls_config {
  filter_tls_role role;
  SSL_CTX *ctx;
  const tls_shape *shape;       /* per-connection parts of the hello; NULL: none */
  const char *sni;              /* NULL: no server name sent */
  int verify;                   /* the certificate is checked (names CERT_* failures) */
  const char *verify_host;      /* the name it must match; NULL: none */
  tls_session_cache *sessions;  /* NULL: no resumption */
  const char *session_key;
  int scratch_slot;             /* its per-thread plaintext buffer (filter.h) */
  int restarts_timer;           /* the handshake has its own timer of |timeout_ms| */
  unsigned timeout_ms;
} filter_tls_config;

typedef struct filter_tls {
  filter f;                     /* first: the chain sees this */
  SSL *ssl;
  const uint8_t *in_p;          /* received, not yet read by TLS (one recv call) */
  size_t in_n;
  int bio_err;                  /* a GUISE_E_* code from the send below, else 0 */
  uint8_t role;                 /* filter_tls_role */
  uint8_t verify;
  uint8_t slot;
  uint8_t first_n;
  uint8_t first[8];             /* the peer's first bytes, to name a server that is not TLS */
} filter_tls;

/* Makes the SSL object: shape, SNI, expected name, session. Returns 0 or a
 * GUISE_E_* code (NOMEM, PROFILE_UNSUPPORTED); either way |t| can be closed. */
int filter_tls_init(filter_tls *t, const filter_tls_config *cfg);

#endif

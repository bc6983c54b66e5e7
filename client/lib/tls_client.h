/*
 * tls_client.h — the client TLS context of one profile: its shape applied
 * (tls_shape), trust anchors and certificate checks (tls_verify), resumption
 * (tls_session_cache) and key logging for SSLKEYLOGFILE. One context per
 * client, profile variant and trust setting (client.c; each batch worker has
 * its own client), used by that client's connections on its loop thread; the
 * TLS filter (filter_tls.c) makes each connection's SSL from it.
 */
#ifndef GUISE_TLS_CLIENT_H
#define GUISE_TLS_CLIENT_H

#include <openssl/ssl.h>

#include "tls_shape.h"

typedef struct tls_client_config {
  const tls_shape *shape;
  const char *cafile;  /* NULL: the system bundle */
  int insecure;        /* -k: no certificate checks */
  const char *keylog;  /* NSS key log file; NULL: $SSLKEYLOGFILE if set, else none */
} tls_client_config;

/* A new client context, or NULL with a GUISE_E_* code in |*err| and a static
 * reason in |*why|. */
SSL_CTX *tls_client_ctx_new(const tls_client_config *cfg, int *err, const char **why);

#endif

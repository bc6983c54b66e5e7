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

/* A client certificate with its chain and private key, read once per client
 * (tls_client_cert_load) and given to each of its contexts. */
typedef struct tls_client_cert tls_client_cert;

/* Where a client certificate cannot be read from a file that is larger. */
#define TLS_CLIENT_CERT_FILE_MAX (1u << 20)

/* Reads |cert_file| (PEM: the certificate, then its chain; the private key too
 * when |key_file| is NULL) and |key_file| (PEM), the key decrypted with
 * |password| (NULL: none). Returns 0 and |*out|, or GUISE_E_USAGE_FILE (a file
 * missing, over TLS_CLIENT_CERT_FILE_MAX, not PEM, no key, a wrong password, a
 * key that is not the certificate's) or GUISE_E_NOMEM, with the reason in
 * |why|. */
int tls_client_cert_load(const char *cert_file, const char *key_file, const char *password, tls_client_cert **out,
                         char *why, size_t cap);
void tls_client_cert_free(tls_client_cert *c);

typedef struct tls_client_config {
  const tls_shape *shape;
  const char *cafile;  /* NULL: the system bundle */
  int insecure;        /* -k: no certificate checks */
  const char *keylog;  /* NSS key log file; NULL: $SSLKEYLOGFILE if set, else none */
  /* Sent when a server asks (CertificateRequest): the ClientHello does not
   * change with it. NULL: none. */
  const tls_client_cert *cert;
  /* Without a profile only (a profile's shape fixes them): the version range
   * (0: the library's), TLS 1.2 suites and groups (NULL: the library's). */
  int min_version, max_version;
  const char *ciphers, *curves;
} tls_client_config;

/* A new client context, or NULL with a GUISE_E_* code in |*err| and a static
 * reason in |*why|. */
SSL_CTX *tls_client_ctx_new(const tls_client_config *cfg, int *err, const char **why);

#endif

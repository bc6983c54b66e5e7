/*
 * tls_verify.h — certificate verification for client connections: the system
 * CA bundle (or a --cacert file), the host name (RFC 6125 via BoringSSL), and
 * browser-like refusals BoringSSL's verifier does not make by itself (RSA keys
 * under 2048 bits, SHA-1 signatures below the root), each mapped to its own
 * GUISE_E_CERT_* code so that a user learns why.
 */
#ifndef GUISE_TLS_VERIFY_H
#define GUISE_TLS_VERIFY_H

#include <openssl/ssl.h>

/* The default CA bundle of Debian's ca-certificates package. */
#define TLS_VERIFY_DEFAULT_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/*
 * Loads the trust anchors into |ctx| (|cafile|, or the default bundle when
 * NULL) and turns verification on; with |insecure| nothing is checked (-k).
 * Returns 0, or GUISE_E_USAGE_FILE when the file cannot be read.
 */
int tls_verify_setup(SSL_CTX *ctx, const char *cafile, int insecure);

/* Before the handshake: the name the certificate must match (a DNS name or an
 * IP literal). Returns 0 or GUISE_E_NOMEM. */
int tls_verify_expect_host(SSL *ssl, const char *host);

/* After a failed handshake: the GUISE_E_CERT_* code for |ssl|'s verification
 * result, or 0 when the certificate was not the problem. */
int tls_verify_error(const SSL *ssl);

/* Maps a BoringSSL X509_V_ERR_* value to a GUISE_E_CERT_* code (0 for X509_V_OK). */
int tls_verify_map(long x509_err);

#endif

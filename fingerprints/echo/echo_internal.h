/* echo_internal.h — shared by the modules of the observer server (guise echo). */
#ifndef GUISE_ECHO_INTERNAL_H
#define GUISE_ECHO_INTERNAL_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/ssl.h>

/* A TLS server context: |cert_file|/|key_file| (PEM) or, both NULL, a self-signed
 * P-256 certificate for localhost. NULL with a message in |err| on failure. */
SSL_CTX *echo_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen);

/* Adds "negotiated": {version, cipher, group, alpn, sni, resumed} to |tls|. */
void echo_tls_describe(SSL *ssl, json_t *tls);

#endif

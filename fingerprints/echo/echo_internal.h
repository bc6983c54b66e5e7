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

/* The --log writer (echo_log.c): a thread that appends the queued lines to the
 * file. echo_log_open opens |path| for appending and starts it (NULL with a
 * message in |err| on failure). echo_log_line queues one record, |n| bytes without
 * its newline, from any thread; it waits while the queue is full. echo_log_close
 * writes everything queued, stops the thread and closes the file. */
typedef struct echo_log echo_log;
echo_log *echo_log_open(const char *path, char *err, size_t errlen);
void echo_log_line(echo_log *l, const char *p, size_t n);
void echo_log_close(echo_log *l);

#endif

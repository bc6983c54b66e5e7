/*
 * tls_pair.h — in-memory TLS handshakes between two BoringSSL endpoints, for the
 * patch-series tests: the client's ClientHello is captured through BoringSSL's
 * message callback, wrapped in one TLS record and parsed by the observer library,
 * so each test compares what the wire carried with what was asked.
 */
#ifndef GUISE_TEST_TLS_PAIR_H
#define GUISE_TEST_TLS_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "guise_fp.h"

/* A server context with a fresh self-signed P-256 certificate for "localhost". */
SSL_CTX *tp_server_ctx(void);

/* A TLS 1.3-capable client context that records its first ClientHello. */
SSL_CTX *tp_client_ctx(void);

typedef struct tp_result {
  int ok;                 /* both sides completed the handshake */
  uint8_t hello[70000];   /* the first ClientHello as one TLS record (5-byte header) */
  size_t hello_len;
  gfp_clienthello *ch;    /* the observer's parse of |hello| (GFP_DONE or NULL) */
  char client_error[256]; /* BoringSSL's reason when the client failed */
  char server_error[256];
} tp_result;

/* Runs a handshake between |client| and |server| (made from the contexts above,
 * or configured further by the test) over memory BIOs, then exchanges one byte
 * each way. Fills |r|; the caller frees r->ch with gfp_ch_free. */
void tp_handshake(SSL *client, SSL *server, tp_result *r);

/* Runs |client| against canned server bytes: the client sends its ClientHello,
 * then reads |server| (whole TLS records). Returns 1 if the client is still
 * waiting for more (it accepted what it read), 0 if it failed (reason in
 * r->client_error). */
int tp_client_vs_bytes(SSL *client, const uint8_t *server, size_t len, tp_result *r);

/* The two halves of tp_client_vs_bytes, for canned replies that depend on the
 * hello: tp_client_start sends and captures the ClientHello (and parses it into
 * r->ch); tp_client_feed gives the client server bytes. Both return 1 while the
 * client waits for more, 0 once it failed (reason in r->client_error). */
int tp_client_start(SSL *client, tp_result *r);
int tp_client_feed(SSL *client, const uint8_t *server, size_t len, tp_result *r);

/* The key_share entries of the captured hello: groups and the raw keys. Returns
 * the number of entries (at most |max|). */
size_t tp_key_shares(const gfp_clienthello *ch, uint16_t *groups, const uint8_t **keys,
                     size_t *key_lens, size_t max);

#endif

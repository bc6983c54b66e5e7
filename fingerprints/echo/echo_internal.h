/* echo_internal.h — shared by the modules of the observer server (guise echo). */
#ifndef GUISE_ECHO_INTERNAL_H
#define GUISE_ECHO_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/ssl.h>
#include <uv.h>

/* The key-exchange groups echo accepts, over TCP and QUIC alike: the post-quantum
 * hybrid first (tools/boringssl/patches/0001), as current browsers offer it; then
 * what every TLS 1.3 client has. */
#define ECHO_TLS_GROUPS "X25519MLKEM768:X25519:P-256:P-384:X25519Kyber"

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

/* The UDP side (echo_quic.c): QUIC and HTTP/3 on the listening loop. */
typedef struct echo_quic echo_quic;
typedef struct echo_quic_config {
  const struct sockaddr *addr; /* the TCP listener's address as bound: same port */
  int udp_fd;                  /* a UDP socket bound there already (taken), or -1 */
  SSL_CTX *tcp_ctx;            /* its certificate, chain and key are used */
  echo_log *log;               /* NULL: no records */
  unsigned idle_timeout_ms;
  unsigned max_connections;    /* against *nconns, shared with the TCP side */
  atomic_uint *nconns;
  uint64_t *next_id; /* the listening loop's connection counter */
  int allow_remote;
} echo_quic_config;

/* Binds the UDP socket and serves on |loop|. Returns 0 and *out; or a libuv error
 * with a message in |err|, and *out set when a handle is on the loop (the caller
 * then calls echo_quic_close to free it) or NULL. */
int echo_quic_new(uv_loop_t *loop, const echo_quic_config *cfg, echo_quic **out, char *err,
                  size_t errlen);

/* Ends every QUIC connection (each writes its record; each is sent a CONNECTION_CLOSE
 * with H3_NO_ERROR), closes the socket, and calls |on_closed| from the loop once the
 * memory is freed. */
void echo_quic_close(echo_quic *q, void (*on_closed)(void *arg), void *arg);

#endif

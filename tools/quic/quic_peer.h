/*
 * quic_peer — the ngtcp2 + nghttp3 set-up that the project's own QUIC peers share: the
 * build-only server guise_h3_listen (tools/quic/h3-listen.c) and the test peers under
 * tests/unit/quic. Not part of libguise; a static library (quic_peer, tools/quic/quic.cmake).
 *
 * Randomness is BoringSSL's RAND_bytes; the clock is CLOCK_MONOTONIC.
 */
#ifndef GUISE_QUIC_PEER_H
#define GUISE_QUIC_PEER_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <openssl/ssl.h>

/* CLOCK_MONOTONIC in nanoseconds, ngtcp2's timestamp. */
ngtcp2_tstamp qp_now_ns(void);

/* ngtcp2's rand callback and nghttp3's rand callback: RAND_bytes. */
void qp_rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx);
void qp_h3_rand_cb(uint8_t *dest, size_t len);

/* ngtcp2's get_new_connection_id callback: a random id of CIDLEN bytes and a random
 * stateless reset token. */
int qp_new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                  void *user_data);

/* Clears *CB and fills in ngtcp2_crypto's callbacks for a server (SERVER != 0:
 * recv_client_initial) or a client (client_initial, recv_retry), with the TLS,
 * packet protection and version negotiation callbacks both share, qp_rand_cb and
 * qp_new_cid_cb. The caller adds its stream callbacks. */
void qp_callbacks(ngtcp2_callbacks *cb, int server);

/* An ALPN select callback body: picks "h3" from the client's list IN (INLEN bytes,
 * length-prefixed names read only within INLEN). SSL_TLSEXT_ERR_OK with *OUT, *OUTLEN
 * pointing into IN, or SSL_TLSEXT_ERR_ALERT_FATAL when the client did not offer h3. */
int qp_alpn_select_h3(SSL *ssl, const uint8_t **out, uint8_t *outlen, const uint8_t *in,
                      unsigned inlen, void *arg);

/* Puts a fresh self-signed P-256 certificate for CN=localhost (valid from a minute ago
 * for an hour) and its key into CTX. 0, or -1 if BoringSSL failed. */
int qp_self_signed(SSL_CTX *ctx);

/* Writes one QUIC packet of Q into BUF (at most CAP bytes) at time TS, with HTTP/3 stream
 * data of H3 (NULL before HTTP/3 is set up) first: nghttp3's next stream data goes in
 * while the connection has flow-control credit, a blocked or shut stream is told to
 * nghttp3 and the next one tried, data coalesced into a packet (WRITE_MORE) is acked to
 * nghttp3 as written. PATH may be NULL. Returns the packet's length, 0 when there is
 * nothing more to send, or -1 on an error of ngtcp2 or nghttp3 (named on stderr after
 * WHO unless WHO is NULL) or after 1024 retries without a packet. */
long qp_write_pkt(ngtcp2_conn *q, nghttp3_conn *h3, ngtcp2_path *path, uint8_t *buf,
                  size_t cap, ngtcp2_tstamp ts, const char *who);

#endif

/*
 * h3_test_server.h — an in-process HTTP/3 server (ngtcp2 + nghttp3 on the
 * project's BoringSSL) for the session_h3 tests: datagrams in and out through
 * memory, time from the caller's clock, a fresh self-signed P-256 certificate
 * for "localhost" (SAN DNS:localhost) that the test can write out as a CA file.
 *
 * What it answers, by the request's :path:
 *   /body?N   200, content-type application/octet-stream, N bytes of
 *             h3ts_pattern (default 20000)
 *   /echo     200 with the request body as its body
 *   /trailers 200, body "abc", then the trailer field x-checksum: 42
 *   /reject   resets the stream with H3_REQUEST_REJECTED (both directions)
 *   /close    closes the connection: CONNECTION_CLOSE, HTTP/3 error
 *             H3_INTERNAL_ERROR (0x102), reason "test close"
 *   /goaway   GOAWAY (the streams after this one's are not processed), then as /body
 *   /interim?N  N interim responses (103, link), then 200 with 10 bytes
 *   /bigheaders 200 with 300 header fields x-h-000..x-h-299
 *   /nostatus   a response header block without :status
 *   /hang     nothing
 * Every request's method, path, header field names in order and body length
 * are recorded (the first H3TS_MAX_REQ; past them the last record is reused).
 */
#ifndef H3_TEST_SERVER_H
#define H3_TEST_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#define H3TS_MAX_REQ 32
#define H3TS_MAX_FIELDS 48

typedef struct h3ts_request {
  char method[16], path[128];
  char names[H3TS_MAX_FIELDS][64];
  size_t n_names;
  size_t body_len;
  int done;
} h3ts_request;

typedef struct h3ts h3ts;

h3ts *h3ts_new(uint64_t (*now_ns)(void *), void *arg);
/* The addresses a session_h3 under test is given (no socket is opened): the server
 * 127.0.0.1:443 into |remote|, the client 127.0.0.1:50000 into |local|. */
void h3ts_loopback_addrs(struct sockaddr_in *remote, struct sockaddr_in *local);
/* Every datagram the session under test has to send (at most 256, session_send into a
 * buffer of 2048 bytes), given to the server in turn: how many. */
struct session;
int h3ts_take_from(h3ts *t, struct session *s);
void h3ts_free(h3ts *t);
/* The certificate as PEM into |path|: 0 or -1. */
int h3ts_write_cert(h3ts *t, const char *path);
/* One datagram from the client: 0, or -1 when the server's connection failed. */
int h3ts_recv(h3ts *t, const uint8_t *p, size_t n);
/* One datagram to the client into |out| (cap >= 1500): its length, 0 none. */
size_t h3ts_send(h3ts *t, uint8_t *out, size_t cap);
uint64_t h3ts_expiry(h3ts *t);
void h3ts_timeout(h3ts *t);
/* A stateless reset for the client's current connection into |out|: its length. */
size_t h3ts_stateless_reset(h3ts *t, uint8_t *out, size_t cap);
int h3ts_handshake_done(h3ts *t);
/* 0: the server negotiates no ALPN protocol (its TLS refuses the QUIC handshake). */
void h3ts_set_alpn(h3ts *t, int on);
/* The next request's stream is answered with these |n| bytes (copied) and FIN
 * instead of a response from nghttp3: HTTP/3 frames as a hostile server writes
 * them. 0 or -1. */
int h3ts_set_raw(h3ts *t, const uint8_t *p, size_t n);
size_t h3ts_requests(h3ts *t, const h3ts_request **out);

uint8_t h3ts_pattern(size_t i);

/* The QPACK encoder's dynamic table capacity, before the first request (the
 * default: nghttp3's 4096, so the server inserts response fields into the
 * client's table when the client allows it; 0: it never does). */
void h3ts_set_encoder_dtable(h3ts *t, size_t cap);
/* The client's unidirectional streams in the order their first bytes came: ids
 * and types (UINT64_MAX: a type of more than one byte). */
#define H3TS_MAX_UNI 8
size_t h3ts_client_uni(h3ts *t, const int64_t **ids, const uint64_t **types);
/* The bytes of the client's control stream received so far (at most H3TS_CTRL_MAX). */
#define H3TS_CTRL_MAX 16384
size_t h3ts_client_control(h3ts *t, const uint8_t **p);

#endif

/*
 * session_h3.h — the HTTP/3 session of session.h: one QUIC connection
 * (ngtcp2) with its TLS 1.3 handshake (BoringSSL, shaped by the profile's
 * "http3" section) and HTTP/3 on it (nghttp3), I/O-free like the other
 * sessions. docs/HTTP3.md says what matches the browser and what does not.
 *
 * Datagrams, not bytes: for this session recv(s, p, n) takes exactly ONE UDP
 * datagram per call (its payload), and send(s, out, cap, &n) writes at most ONE
 * datagram per call (cap >= SESSION_H3_MIN_DATAGRAM; *n 0: nothing to send
 * now); the host calls send while want_write says so. ECN and GSO are not
 * used. The one timer of session_host carries ngtcp2's expiry (loss detection,
 * ACK delay, idle timeout); when it fires the host calls session_timeout().
 *
 * Streams: capacity() is 0 until the handshake has completed (no 0-RTT: the
 * first request goes out with the 1-RTT keys, as Chromium's and Firefox's
 * first connection to an origin), then min(max_streams, the streams the
 * server's MAX_STREAMS allow) minus the open ones. A submit before then is
 * refused with GUISE_E_USAGE_INVALID_ARGUMENT (the pool asks capacity first).
 *
 * How streams end (on_close's gerr; layer "quic" or "http3"):
 *   the whole response                      code 0
 *   certificate refused                     GUISE_E_CERT_* (tls_verify_map)
 *   handshake failed, server's TLS alert    GUISE_E_TLS_HANDSHAKE, GUISE_E_TLS_ALERT
 *   the server did not choose ALPN h3       GUISE_E_TLS_HANDSHAKE
 *   Version Negotiation (no QUIC v1)        GUISE_E_CONNECT_FAILED
 *   no packet within the idle timeout       GUISE_E_TIMEOUT_IDLE (GUISE_E_TIMEOUT_TLS
 *                                           before the handshake completed)
 *   stateless reset                         GUISE_E_CONNECT_RESET
 *   the server's CONNECTION_CLOSE           GUISE_E_CONNECT_CLOSED (its code and
 *                                           reason in the text)
 *   a QUIC or HTTP/3 protocol error         GUISE_E_HTTP_PROTOCOL
 *   the server reset the stream             GUISE_E_HTTP2_STREAM_RESET
 *   H3_REQUEST_REJECTED, or above GOAWAY    GUISE_E_HTTP2_REFUSED / GUISE_E_HTTP2_GOAWAY,
 *                                           |retryable| set
 *   eof() from the host (socket error)      the host's gerr
 *   cancel(), free()                        GUISE_E_CANCELLED
 *
 * Not thread-safe: a session belongs to its connection's loop thread.
 */
#ifndef GUISE_SESSION_H3_H
#define GUISE_SESSION_H3_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <openssl/ssl.h>

#include "profile.h"
#include "session.h"
#include "tls_client.h"

/* The smallest |cap| send() takes: RFC 9000 14.1's 1200-byte minimum for
 * Initial datagrams, with room for the profiles' 1250/1252 (1500: Ethernet). */
#define SESSION_H3_MIN_DATAGRAM 1500

typedef struct session_h3_config {
  /* The profile: its http3 section (present) shapes the Initial, the TLS
   * ClientHello, the transport parameters, SETTINGS and pseudo-header order.
   * Read during session_h3_new only (copied). */
  const profile *profile;
  /* SNI and the name the certificate must match (NULL: neither; an IP literal
   * is checked but not sent as SNI, as browsers). Copied. */
  const char *server_name;
  /* The UDP path: the connected socket's peer and local address (ngtcp2
   * binds the connection to it). Copied. */
  const struct sockaddr *remote;
  socklen_t remote_len;
  const struct sockaddr *local;
  socklen_t local_len;
  /* A context from session_h3_ctx_new (the session takes a reference). */
  SSL_CTX *ctx;
  /* Nonzero: the context verifies certificates (not -k): the name is checked. */
  int verify;
  size_t max_streams;   /* requests open at once (and the server's MAX_STREAMS); 0: 100 */
  /* Monotonic time in nanoseconds; NULL: CLOCK_MONOTONIC. Tests give a fake
   * clock to drive the timers. */
  uint64_t (*now_ns)(void *arg);
  void *now_arg;
} session_h3_config;

/*
 * A client context for HTTP/3 connections of profile |p|: tls_client_ctx_new
 * with |cfg| (trust, -k, key log, client certificate) but the shape of
 * p->h3.tls (TLS 1.3 only, ALPN h3, the QUIC extension list), made ready for
 * QUIC (ngtcp2's BoringSSL glue). One per client and profile, like the TCP
 * context; free with SSL_CTX_free. NULL with |*err| (GUISE_E_PROFILE_UNSUPPORTED:
 * the profile has no http3 section or BoringSSL refuses its shape; or as
 * tls_client_ctx_new) and a static reason in |*why|. cfg->shape is ignored.
 */
SSL_CTX *session_h3_ctx_new(const profile *p, const tls_client_config *cfg, int *err, const char **why);

/*
 * A new HTTP/3 session: the QUIC connection is made and its first Initial is
 * ready to send (want_write is 1). |host| (copied; may be NULL) gets the
 * timer. Returns 0 and |*out|, or GUISE_E_USAGE_INVALID_ARGUMENT (no profile,
 * no http3 section, no ctx, an address that is not IPv4/IPv6),
 * GUISE_E_PROFILE_UNSUPPORTED (the profile's transport parameters or TLS shape
 * cannot be sent), GUISE_E_NOMEM.
 */
int session_h3_new(const session_h3_config *cfg, const session_host *host, session **out);

/* Closes the connection as browsers do (CONNECTION_CLOSE with H3_NO_ERROR,
 * RFC 9114 5.2): open streams end with GUISE_E_CANCELLED, the close datagram
 * is the next (and last) send(), then alive() is 0. Call before session_free
 * so the server need not wait for the idle timeout. 0, or
 * GUISE_E_USAGE_INVALID_ARGUMENT for a session that is not HTTP/3; a
 * connection already over sends nothing. */
int session_h3_close(session *s);

/* Why the connection ended (the error recv/send returned, with its layer and
 * text), or NULL while it is alive or for a session that is not HTTP/3. Valid
 * until session_free. */
const gerr *session_h3_failure(const session *s);

/* What the handshake agreed, as the TCP path reads it from its SSL: the
 * version ("TLSv1.3"), the cipher's standard name ("TLS_AES_128_GCM_SHA256")
 * and the group's name ("X25519MLKEM768"; "" when the library has none). Each
 * out pointer may be NULL; the strings are the library's static ones (valid
 * after session_free). 0, or GUISE_E_USAGE_INVALID_ARGUMENT for a session
 * that is not HTTP/3 or whose handshake has not completed. */
int session_h3_tls_info(const session *s, const char **version, const char **cipher, const char **group);

#endif

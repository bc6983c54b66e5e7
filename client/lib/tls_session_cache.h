/*
 * tls_session_cache.h — TLS sessions kept for resumption, as browsers keep
 * them: one entry per (host, port, profile, proxy identity), so that a second
 * connection to the same place, with the same profile, through the same proxy
 * exit, offers a pre_shared_key (RFC 8446 §4.2.11) — and a connection through
 * another proxy identity never shows a ticket issued to the first.
 *
 * TLS 1.3 tickets are used once (RFC 8446 §C.4; Chrome and Firefox do the same):
 * taking a session removes it; the server's next ticket replaces it. The cache
 * is bounded (least recently stored entries go first) and not thread-safe: one
 * per worker loop.
 */
#ifndef GUISE_TLS_SESSION_CACHE_H
#define GUISE_TLS_SESSION_CACHE_H

#include <stddef.h>

#include <openssl/ssl.h>

typedef struct tls_session_cache tls_session_cache;

/* The longest key: host (253, RFC 1035), port, profile name and proxy identity. */
#define TLS_SESSION_KEY_MAX 1024

/* A cache of at most |max_entries| sessions (at least 1). NULL on allocation
 * failure. */
tls_session_cache *tls_session_cache_new(size_t max_entries);
void tls_session_cache_free(tls_session_cache *c);

/* Writes the cache key of a connection into |out| (|len| bytes, NUL-terminated).
 * |proxy| is the proxy URL with its credentials, or NULL for a direct
 * connection. Returns 0, or -1 if the key does not fit. */
int tls_session_key(char *out, size_t len, const char *host, unsigned port, const char *profile,
                    const char *proxy);

/* Stores |sess| (the cache takes a reference) under |key|, replacing what was
 * there. Returns 0 or -1 (allocation failure; nothing changed). */
int tls_session_cache_put(tls_session_cache *c, const char *key, SSL_SESSION *sess);

/* Returns the session stored under |key| with a reference for the caller, or
 * NULL. A single-use session (TLS 1.3) is removed from the cache. */
SSL_SESSION *tls_session_cache_take(tls_session_cache *c, const char *key);

/* The number of sessions held. */
size_t tls_session_cache_size(const tls_session_cache *c);

/*
 * Wires |ctx| to |c|: every session a server gives a connection of |ctx| is
 * stored under the key set on that connection with tls_session_cache_begin.
 * Call once per context, before SSL_new.
 */
void tls_session_cache_attach(SSL_CTX *ctx);

/* Before the handshake of |ssl| (made from an attached context): offers the
 * session cached under |key|, if any, and arranges for the sessions the server
 * gives |ssl| to be stored under |key| in |c| (the key is copied; |c| must
 * outlive |ssl|). With |resume| 0 nothing is offered and nothing stored: the
 * profile's option to turn resumption off. Returns 0, or -1 on allocation
 * failure or an over-long key. */
int tls_session_cache_begin(tls_session_cache *c, SSL *ssl, const char *key, int resume);

#endif

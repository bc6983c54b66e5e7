/*
 * guise.h — the one public header of libguise, a browser-impersonating HTTP client.
 *
 * Every exported symbol starts with guise_ (functions, types) or GUISE_ (macros).
 * libguise links its own patched BoringSSL statically and hides it: a program may
 * load the system's OpenSSL in the same process.
 */
#ifndef GUISE_H
#define GUISE_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GUISE_BUILDING) && defined(__GNUC__)
#define GUISE_EXTERN __attribute__((visibility("default")))
#else
#define GUISE_EXTERN
#endif

#define GUISE_VERSION_MAJOR 0
#define GUISE_VERSION_MINOR 1
#define GUISE_VERSION_PATCH 0
#define GUISE_VERSION_STRING "0.1.0"

/*
 * guise_version_info describes this build of libguise and the libraries in it.
 * Every string is static, NUL-terminated and never NULL ("unknown" when a
 * library cannot tell). Fields are only ever added at the end; |size| is
 * sizeof(guise_version_info) of the library that filled it in.
 */
typedef struct guise_version_info {
  unsigned size;
  const char *guise;              /* "0.1.0" */
  const char *tls_library;        /* what the linked TLS library calls itself: "BoringSSL" */
  const char *boringssl_revision; /* upstream commit of Debian's BoringSSL source */
  unsigned boringssl_patches;     /* patches of tools/boringssl/patches applied */
  const char *nghttp2;
  const char *libuv;
  const char *brotli;
  const char *zlib;
  const char *zstd;
  const char *jansson;
  const char *cares;
} guise_version_info;

/*
 * guise_version returns the version information of the loaded libguise. The
 * result points to static storage, valid for the life of the process. Library
 * versions are read at run time from the loaded libraries where they say.
 * Thread-safe after the first call returns.
 */
GUISE_EXTERN const guise_version_info *guise_version(void);

/* ---- The observer: guise echo -------------------------------------------------------- */

/*
 * guise_echo_options configures guise_echo_run(). Initialise with
 * guise_echo_options_init(), then set what differs; fields are only ever added
 * at the end.
 */
typedef struct guise_echo_options {
  unsigned size;
  /* "HOST:PORT" (IPv6 as "[::1]:PORT"); port 0 picks a free one. Default
   * "127.0.0.1:8443". A non-loopback HOST is refused unless |allow_remote|. */
  const char *listen;
  int allow_remote;
  /* PEM certificate chain and key; both NULL (default): a self-signed ECDSA
   * P-256 certificate for localhost, 127.0.0.1 and ::1 is made at start. */
  const char *cert_file;
  const char *key_file;
  /* Append one JSON line per connection to this file; NULL (default): none. */
  const char *log_file;
  /* Connections served at once; more are accepted and closed at once. Default 4096. */
  unsigned max_connections;
  /* A connection with nothing received for this long is closed. Default 10000. */
  unsigned idle_timeout_ms;
  /* Called once the socket listens, with the address actually bound ("127.0.0.1:8443"). */
  void (*on_listening)(const char *address, void *arg);
  void *arg;
} guise_echo_options;

/* guise_echo_options_init sets every field of |opts| to its default. */
GUISE_EXTERN void guise_echo_options_init(guise_echo_options *opts);

/*
 * guise_echo_run serves the observer until SIGINT or SIGTERM: an HTTPS server
 * (TLS 1.2/1.3, ALPN h2 and http/1.1; plaintext HTTP/1 and h2c on the same port)
 * that answers every request with a JSON document of what the client sent — the
 * decoded ClientHello, the HTTP/2 frames or HTTP/1 header block, every
 * fingerprint — and of what was negotiated. See docs/OBSERVER.md.
 *
 * Returns 0 after a signal, or -1 when it cannot start, with a message naming the
 * reason written to |err| (|errlen| bytes, NUL-terminated).
 */
GUISE_EXTERN int guise_echo_run(const guise_echo_options *opts, char *err, unsigned errlen);

#ifdef __cplusplus
}
#endif
#endif /* GUISE_H */

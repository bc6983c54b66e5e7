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

/* ---- Captures: guise fp ---- */

/*
 * guise_fp_options configures guise_fp_file(). Initialise with
 * guise_fp_options_init(), then set what differs; fields are only ever added
 * at the end.
 */
typedef struct guise_fp_options {
  unsigned size;
  /* Records indented (2 spaces) instead of one compact line each. Default 0. */
  int pretty;
  /* TCP connections tracked per capture file; past it one error record is
   * written and later connections are ignored. Default 65536, 1 to 4194304. */
  unsigned max_flows;
  /* Client bytes kept per connection, and the largest decoded hex dump; a first
   * flight that needs more is an error record. Default 262144 (256 KiB), 64 to
   * 16777216. */
  unsigned max_flow_bytes;
  /* Required. Called once per record, in the order records are complete (a
   * connection's record as soon as its first flight is parsed; the rest at the
   * end of the file, in order of first packet). |json| is one NUL-terminated JSON
   * document without a trailing newline, valid only during the call; |is_error|
   * is 1 when the record is an error record. */
  void (*on_record)(const char *json, int is_error, void *arg);
  void *arg;
} guise_fp_options;

/*
 * guise_fp_stats counts what guise_fp_file() saw in one file. Fields are only
 * ever added at the end; |size| is sizeof(guise_fp_stats) of the library that
 * filled it in.
 */
typedef struct guise_fp_stats {
  unsigned size;
  unsigned long long packets;         /* packet records read */
  unsigned long long tcp_segments;    /* of which decoded TCP segments */
  unsigned long long ignored_packets; /* not IP/TCP, IP fragments, malformed, over max_flows */
  unsigned long long flows;           /* TCP connections */
  unsigned long long records;         /* records written, error records included */
  unsigned long long errors;          /* error records */
  unsigned long long empty_flows;     /* connections without client payload (no record) */
  unsigned long long other_flows;     /* other protocols, or joined mid-way (no record) */
} guise_fp_stats;

/* guise_fp_options_init sets every field of |opts| to its default. */
GUISE_EXTERN void guise_fp_options_init(guise_fp_options *opts);

/*
 * guise_fp_file reads one file and reports every client flight in it — the first
 * bytes a client sent on a connection: a TLS ClientHello, an h2c connection
 * preface or an HTTP/1 request head — as the JSON documents of `guise echo`
 * under a "flow" member saying where the flight was found. See docs/FP.md.
 *
 * The kind of file is told from its first bytes: pcap (any byte order, micro- or
 * nanosecond) or pcapng, read with libpcap (link types Ethernet, Linux cooked
 * SLL/SLL2, raw IPv4/IPv6, BSD loopback; TCP over IPv4 and IPv6 reassembled per
 * connection); anything else is read as a hex dump of one client flight (hex
 * digits and whitespace).
 *
 * Problems inside the file — a flight that does not parse or is incomplete, a
 * hole in a TCP stream, a truncated or corrupt capture record, malformed hex —
 * are error records ({"flow": ..., "error": {"stage", "offset", "reason"}}),
 * counted in |stats|->errors, and the function returns 0. |stats| may be NULL.
 *
 * Returns -1 when the file cannot be read at all — it cannot be opened or read,
 * libpcap rejects its header, its link type is not supported — or when |opts| is
 * invalid (no on_record, a limit out of range), with a message naming the file
 * written to |err| (|errlen| bytes, NUL-terminated). Nothing is kept after the
 * call returns.
 */
GUISE_EXTERN int guise_fp_file(const char *path, const guise_fp_options *opts,
                               guise_fp_stats *stats, char *err, unsigned errlen);

#ifdef __cplusplus
}
#endif
#endif /* GUISE_H */

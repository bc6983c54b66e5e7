/*
 * guise.h — the one public header of libguise, a browser-impersonating HTTP client.
 *
 * Every exported symbol starts with guise_ (functions, types) or GUISE_ (macros).
 * libguise links its own patched BoringSSL statically and hides it: a program may
 * load the system's OpenSSL in the same process.
 */
#ifndef GUISE_H
#define GUISE_H

#include <stddef.h>
#include <stdio.h>

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

/* ---- Errors ------------------------------------------------------------------------ */

/*
 * One table of errors, banded by class (the hundreds of the code). Public
 * functions return 0 or one of these negative codes. Names and numbers are
 * stable: a code is never reused for something else; new codes are only added.
 *
 *   -1xx usage       -2xx DNS           -3xx connect      -4xx TLS
 *   -5xx certificate -6xx proxy         -7xx HTTP         -8xx decoding
 *   -9xx profile     -10xx timeout      -11xx resource / internal
 */
#define GUISE_ERRNO_MAP(XX)                                                             \
  XX(USAGE_INVALID_ARGUMENT, -101, "invalid argument")                                  \
  XX(USAGE_URL_MALFORMED, -102, "malformed URL")                                        \
  XX(USAGE_URL_SCHEME, -103, "unsupported URL scheme")                                  \
  XX(USAGE_FILE, -104, "cannot read or write a file given as an argument")              \
  XX(DNS_NOT_FOUND, -201, "host name not found")                                        \
  XX(DNS_FAILED, -202, "name resolution failed")                                        \
  XX(CONNECT_REFUSED, -301, "connection refused")                                       \
  XX(CONNECT_UNREACHABLE, -302, "network or host unreachable")                          \
  XX(CONNECT_RESET, -303, "connection reset by the peer")                               \
  XX(CONNECT_CLOSED, -304, "connection closed by the peer")                             \
  XX(CONNECT_NO_PORTS, -305, "no local port or address available")                      \
  XX(CONNECT_NO_DESCRIPTORS, -306, "out of file descriptors")                           \
  XX(CONNECT_FAILED, -307, "connection failed")                                         \
  XX(CONNECT_SEND_FAILED, -308, "sending on the connection failed")                     \
  XX(CONNECT_RECV_FAILED, -309, "receiving on the connection failed")                   \
  XX(CONNECT_BIND_FAILED, -310, "cannot use the local interface, address or port asked for") \
  XX(TLS_HANDSHAKE, -401, "TLS handshake failed")                                       \
  XX(TLS_ALERT, -402, "the server sent a TLS alert")                                    \
  XX(TLS_WRONG_CIPHER, -403, "the server chose a cipher suite that was not offered")    \
  XX(TLS_WRONG_GROUP, -404, "the server chose a group that was not offered")            \
  XX(TLS_DELEGATED_CREDENTIAL, -405, "invalid delegated credential")                    \
  XX(TLS_CERT_DECOMPRESSION, -406, "certificate decompression failed")                  \
  XX(TLS_PROTOCOL, -407, "TLS protocol error")                                          \
  XX(CERT_EXPIRED, -501, "certificate expired")                                         \
  XX(CERT_NOT_YET_VALID, -502, "certificate not yet valid")                             \
  XX(CERT_HOSTNAME, -503, "certificate does not match the host name")                   \
  XX(CERT_SELF_SIGNED, -504, "self-signed certificate")                                 \
  XX(CERT_UNTRUSTED, -505, "certificate chain ends at an untrusted root")               \
  XX(CERT_WEAK_KEY, -506, "certificate key too weak")                                   \
  XX(CERT_WEAK_SIGNATURE, -507, "certificate signed with a weak algorithm")             \
  XX(CERT_MISSING_INTERMEDIATE, -508, "certificate chain incomplete")                   \
  XX(CERT_INVALID, -509, "certificate verification failed")                             \
  XX(PROXY_CONNECT_REFUSED, -601, "connection to the proxy refused")                    \
  XX(PROXY_AUTH_REQUIRED, -602, "the proxy requires authentication")                    \
  XX(PROXY_AUTH_FAILED, -603, "the proxy refused the credentials")                      \
  XX(PROXY_CONNECT_REJECTED, -604, "the proxy refused the CONNECT request")             \
  XX(PROXY_TIMEOUT, -605, "the proxy did not answer in time")                           \
  XX(PROXY_PROTOCOL, -606, "the proxy answered with something unexpected")              \
  XX(PROXY_SOCKS_GENERAL, -607, "SOCKS: general server failure")                        \
  XX(PROXY_SOCKS_NOT_ALLOWED, -608, "SOCKS: connection not allowed by ruleset")         \
  XX(PROXY_SOCKS_NET_UNREACHABLE, -609, "SOCKS: network unreachable")                   \
  XX(PROXY_SOCKS_HOST_UNREACHABLE, -610, "SOCKS: host unreachable")                     \
  XX(PROXY_SOCKS_REFUSED, -611, "SOCKS: connection refused by the destination")         \
  XX(PROXY_SOCKS_TTL_EXPIRED, -612, "SOCKS: TTL expired")                               \
  XX(PROXY_SOCKS_UNSUPPORTED, -613, "SOCKS: command or address type not supported")     \
  XX(PROXY_TLS, -614, "TLS to the proxy failed")                                        \
  XX(PROXY_CERT, -615, "the proxy's certificate was refused")                           \
  XX(PROXY_NOT_FOUND, -616, "the proxy's host name could not be resolved")              \
  XX(HTTP_PROTOCOL, -701, "malformed HTTP response")                                    \
  XX(HTTP_HEADERS_TOO_LARGE, -702, "response headers larger than the limit")            \
  XX(HTTP_BODY_TOO_LARGE, -703, "response body larger than the limit")                  \
  XX(HTTP_TRUNCATED, -704, "response ended before its announced length")                \
  XX(HTTP2_PROTOCOL, -705, "HTTP/2 protocol error")                                     \
  XX(HTTP2_STREAM_RESET, -706, "the server reset the HTTP/2 stream")                    \
  XX(HTTP2_GOAWAY, -707, "the server closed the HTTP/2 connection (GOAWAY)")            \
  XX(HTTP2_REFUSED, -708, "the server refused the stream; it was not processed")        \
  XX(HTTP_TOO_MANY_REDIRECTS, -709, "too many redirects")                               \
  XX(DECODE_CORRUPT, -801, "corrupt compressed body")                                   \
  XX(DECODE_TOO_LARGE, -802, "decoded body over its size or expansion limit")           \
  XX(DECODE_UNSUPPORTED, -803, "unsupported content encoding")                          \
  XX(PROFILE_NOT_FOUND, -901, "no such profile")                                        \
  XX(PROFILE_SYNTAX, -902, "profile is not valid JSON")                                 \
  XX(PROFILE_INVALID, -903, "profile is invalid")                                       \
  XX(PROFILE_UNSUPPORTED, -904, "profile asks for something this build cannot do")      \
  XX(TIMEOUT_CONNECT, -1001, "connect timeout")                                         \
  XX(TIMEOUT_TLS, -1002, "TLS handshake timeout")                                       \
  XX(TIMEOUT_RESPONSE, -1003, "no response in time")                                    \
  XX(TIMEOUT_TOTAL, -1004, "the whole request took too long")                           \
  XX(TIMEOUT_IDLE, -1005, "the connection went idle")                                   \
  XX(NOMEM, -1101, "out of memory")                                                     \
  XX(IO, -1102, "input/output error")                                                   \
  XX(CANCELLED, -1103, "cancelled")                                                     \
  XX(INTERNAL, -1104, "internal error")

typedef enum guise_errno {
  GUISE_OK = 0,
#define GUISE_ERRNO_ENUM(name, code, text) GUISE_E_##name = (code),
  GUISE_ERRNO_MAP(GUISE_ERRNO_ENUM)
#undef GUISE_ERRNO_ENUM
} guise_errno;

/* guise_err_name returns the stable name of |code| ("CONNECT_REFUSED", "OK"), or
 * "UNKNOWN" for a code not in the table. Static storage. */
GUISE_EXTERN const char *guise_err_name(int code);

/* guise_strerror returns a short English description of |code|. Static storage. */
GUISE_EXTERN const char *guise_strerror(int code);

/*
 * The classes of the table above, one per band (the hundreds of the negated
 * code): XX(NAME, band, "name"). The names are stable; records (guise batch's
 * "error_class"), exit codes and the Python exceptions are keyed by them.
 */
#define GUISE_ERR_CLASS_MAP(XX)     \
  XX(USAGE, 1, "usage")             \
  XX(DNS, 2, "dns")                 \
  XX(CONNECT, 3, "connect")         \
  XX(TLS, 4, "tls")                 \
  XX(CERTIFICATE, 5, "certificate") \
  XX(PROXY, 6, "proxy")             \
  XX(HTTP, 7, "http")               \
  XX(DECODING, 8, "decoding")       \
  XX(PROFILE, 9, "profile")         \
  XX(TIMEOUT, 10, "timeout")        \
  XX(RESOURCE, 11, "resource")

/* A class as a number: its band, GUISE_CLASS_NONE for OK and unknown codes. */
typedef enum guise_err_class_id {
  GUISE_CLASS_NONE = 0,
#define GUISE_ERR_CLASS_ENUM(name, band, text) GUISE_CLASS_##name = (band),
  GUISE_ERR_CLASS_MAP(GUISE_ERR_CLASS_ENUM)
#undef GUISE_ERR_CLASS_ENUM
  GUISE_CLASS_COUNT /* one past the last band */
} guise_err_class_id;

/* guise_err_class returns the class of |code|: "usage", "dns", "connect", "tls",
 * "certificate", "proxy", "http", "decoding", "profile", "timeout", "resource"
 * (GUISE_ERR_CLASS_MAP), "ok", or "unknown". Static storage. */
GUISE_EXTERN const char *guise_err_class(int code);

/* guise_err_class_of returns the class of |code| as its band (1 for usage to 11
 * for resource), or GUISE_CLASS_NONE for 0 and for a code not in the table. */
GUISE_EXTERN guise_err_class_id guise_err_class_of(int code);

/*
 * guise_url_redact returns |url| with the password of its userinfo replaced by
 * "***" ("http://user:***@host/"), for writing a URL anywhere (logs, -v, -w,
 * records): the library's own reports (guise_response_info.effective_url,
 * redirect_urls, error details) are already redacted. A URL without a password
 * is returned as it is (|url| itself); otherwise the redacted text is written to
 * |buf| (|cap| bytes, NUL-terminated, cut to fit: |cap| = strlen(url) + 4 always
 * fits) and |buf| is returned, or "" when |buf| is NULL or |cap| 0. Any string is
 * taken, a malformed URL too. Thread-safe.
 */
GUISE_EXTERN const char *guise_url_redact(const char *url, char *buf, size_t cap);

/*
 * guise_escape_text makes |len| bytes of text from the network (a status line,
 * a header value, guise_response_info.error_detail) safe to print on a
 * terminal: every C0 control (TAB included), DEL, C1 control, every byte of a
 * bidirectional or invisible format character (U+061C, U+200B-200F, U+202A-202E,
 * U+2060-2069, U+FEFF) and every byte
 * that is not part of well-formed UTF-8 becomes "\xHH"; the rest is copied.
 * Writes at most |cap| bytes to |out|, NUL-terminated when |cap| > 0, never
 * cutting an escape or a character. Returns the length the whole result
 * needs (without the NUL), as snprintf: 4 * |len| + 1 bytes always suffice.
 */
GUISE_EXTERN size_t guise_escape_text(const char *in, size_t len, char *out, size_t cap);

/* ---- One request ------------------------------------------------------------------- */

struct uv_loop_s; /* libuv's uv_loop_t */

/* A header field. Strings are NUL-terminated; in callbacks they are valid
 * during the call only. */
typedef struct guise_header {
  const char *name;
  const char *value;
} guise_header;

/* What is known about a request when it ends. Fields are only ever added at the
 * end; |size| is sizeof(guise_response_info) of the library. Strings are
 * static or owned by the request, valid during on_complete only. */
typedef struct guise_response_info {
  unsigned size;
  int status;                    /* 0 when no response head arrived */
  const char *http_version;      /* "HTTP/1.1", "HTTP/2", "HTTP/3", or "" */
  const char *alpn;              /* negotiated ALPN, "" for none */
  const char *tls_version;       /* "TLSv1.3", or "" for plaintext */
  const char *tls_cipher;        /* IANA name, or "" */
  const char *tls_group;         /* "X25519MLKEM768", "X25519", ..., or "" */
  const char *remote;            /* "ip:port" connected to, or "" */
  double dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms; /* from the start */
  unsigned long long body_bytes; /* delivered to on_body (decoded) */
  unsigned long long wire_body_bytes; /* as received */
  const char *error_detail;      /* a sentence for -v when the request failed, or "" */
  int reused;                    /* 1: the connection had carried another request
                                    (dns/connect/tls_ms are then 0) */
  const char *local;             /* our "ip:port" of the connection, or "" */
  /* Redirects followed (|follow_redirects|): the URL of the last request (the
   * URL as given when none was followed), and each hop's URL and status, oldest
   * first (n_redirects entries); a password in them written as ***. */
  const char *effective_url;
  size_t n_redirects;
  const char *const *redirect_urls;
  const int *redirect_statuses;
} guise_response_info;

typedef struct guise_callbacks {
  /* The final response head: status and fields in wire order and case.
   * Non-zero return cancels the request (GUISE_E_CANCELLED). May be NULL. */
  int (*on_headers)(void *ud, int status, const guise_header *headers, size_t n);
  /* Body bytes, decoded unless the request is |raw|. Non-zero return cancels. */
  int (*on_body)(void *ud, const unsigned char *data, size_t len);
  /* Called exactly once per started request: 0 or a GUISE_E_* code. */
  void (*on_complete)(void *ud, int err, const guise_response_info *info);
} guise_callbacks;

/* A request whose streamed body (guise_request_options.body_read) paused;
 * valid until its on_complete. */
typedef struct guise_body_ctl guise_body_ctl;

/* HTTP/3 (guise_request_options.http_version, guise_job.http_version,
 * guise_batch_options.http_version), https:// only, with a profile that has an
 * "http3" section (profiles/FORMAT.md):
 *   GUISE_HTTP_3       HTTP/3 raced against TCP, as Chrome races a QUIC job
 *                      against its TCP one: both start, the first connection
 *                      ready takes the request; once an HTTP/3 connection to
 *                      the origin is up, later requests take it. HTTP/3 that
 *                      fails (no answer, ICMP unreachable, a handshake error)
 *                      leaves TCP alone. curl's --http3.
 *   GUISE_HTTP_3_ONLY  HTTP/3 or the request fails with HTTP/3's error. curl's
 *                      --http3-only.
 * Through socks5:// and socks5h:// proxies HTTP/3 goes over SOCKS5 UDP
 * ASSOCIATE; other proxies carry no UDP, nor is HTTP/3 for http:// URLs: there
 * GUISE_HTTP_3 is plain TCP and GUISE_HTTP_3_ONLY is refused before anything
 * is sent with GUISE_E_USAGE_URL_SCHEME (curl's exit 1, unsupported protocol),
 * the reason in error_detail. Over HTTP/3, guise_response_info.tls_cipher and .tls_group are
 * "" (the QUIC session does not report them yet).
 * Without either, a client still races HTTP/3 for an origin that announced it
 * in Alt-Svc (h3=":port", RFC 7838) over HTTP/1.1 or HTTP/2, as Chrome does,
 * when the request's profile has an http3 section and |http_version| is 0; the
 * cache is per client (docs/CLI.md, "HTTP/3"). */
enum { GUISE_HTTP_3 = 3, GUISE_HTTP_3_ONLY = 4 };

/* One request. Initialise with guise_request_options_init(). Every string and
 * array is copied by guise_request(): the caller may free them on return. */
typedef struct guise_request_options {
  unsigned size;
  const char *method;            /* NULL: GET, or POST when |has_body| */
  const char *url;               /* absolute http:// or https:// URL */
  const guise_header *headers;   /* sent in this order; case kept in HTTP/1.1,
                                    lowercased in HTTP/2 (RFC 9113 8.2.1) */
  size_t n_headers;
  const unsigned char *body;
  size_t body_len;
  int has_body;
  int http_version;              /* 0: ALPN decides (h2, then http/1.1); 1: HTTP/1.1
                                    only; 2: HTTP/2 only (prior knowledge for http://);
                                    GUISE_HTTP_3, GUISE_HTTP_3_ONLY: below */
  int insecure;                  /* -k: no certificate checks */
  const char *cafile;            /* trust anchors; NULL: the system bundle */
  const char *const *resolve;    /* curl-style "host:port:addr" overrides */
  size_t n_resolve;
  const char *dns_servers;       /* "ip[:port],..." instead of /etc/resolv.conf */
  unsigned connect_timeout_ms;   /* 0: 30000; at most 86400000 (a day) */
  unsigned max_time_ms;          /* the whole request; 0: no limit; at most 86400000 */
  /* |max_time_ms| counts from the moment the request has a connection, not
   * from the call; the wait for it — a free connection of its origin (the
   * pool's per-origin and per-connection caps) or a new one — is bounded by
   * |connect_timeout_ms| instead (GUISE_E_TIMEOUT_CONNECT). */
  int max_time_from_connection;
  int raw;                       /* deliver the body as received (no decoding) */
  unsigned long long max_body;   /* decoded body cap; 0: 1 GiB */
  /* The browser to look like: a built-in profile name ("chrome-150") or a
   * profile file; NULL: no profile (BoringSSL's and nghttp2's plain defaults,
   * no default headers). The profile's navigation headers are sent, in its
   * order; |headers| replace the profile's of the same name in place (an empty
   * value removes it) and the others are appended. */
  const char *profile;
  /* A proxy, curl's URL form: http://, https:// (TLS to the proxy), socks5://
   * and socks4:// (the name resolved here), socks5h:// and socks4a:// (resolved
   * by the proxy), with user:password@ (percent-encoded) and port 1080 by
   * default. NULL: direct. Environment variables are not read. docs/PROXIES.md. */
  const char *proxy;
  /* -L: follow 301, 302, 303, 307 and 308 (docs/REDIRECTS.md). 301/302/303 go
   * on as GET without a body (303: any method but HEAD), 307/308 keep the method
   * and body; Authorization, Cookie and Proxy-Authorization given here are not
   * sent to another origin. on_headers and on_body see the last response only. */
  int follow_redirects;
  unsigned max_redirects;        /* 0: 20 (Chrome's limit); past it HTTP_TOO_MANY_REDIRECTS */
  /* Trust in an https:// |proxy|, as guise_client_options.proxy_insecure and
   * .proxy_cafile (|insecure| and |cafile| are for the origin only). Taken by
   * guise_request() and guise_fetch(), whose client is the request's own;
   * guise_client_request() refuses them (GUISE_E_USAGE_INVALID_ARGUMENT): there
   * the client's options decide. */
  int proxy_insecure;
  const char *proxy_cafile;
  /* The kind of request the profile's browser would make (profiles/FORMAT.md,
   * request kinds): "navigate", "navigate-post", "fetch" (= "fetch-cors"),
   * "fetch-same-origin", "fetch-no-cors", "script", "style", "image", "font",
   * "iframe": that kind's header set, order and HTTP/2 HEADERS priority. NULL:
   * "navigate-post" for a request with a body when the profile has it, else
   * the navigation set. A kind the profile does not have is refused
   * (GUISE_E_USAGE_INVALID_ARGUMENT, the reason in error_detail). */
  const char *kind;
  /* The page that makes the request (an absolute http(s) URL), as a browser's
   * initiator: Sec-Fetch-Site becomes same-origin, same-site (registrable
   * domain, public suffix list, same scheme) or cross-site, the worst over a
   * redirect chain; Referer is sent as strict-origin-when-cross-origin gives it
   * (the whole URL to its own origin, its origin elsewhere, none from https to
   * http) unless |headers| give one; an "origin" place of the profile gets its
   * origin. NULL: none (the profile's captured values). */
  const char *referer;
  /* The request as it goes on the wire, once per request sent: the first, each
   * redirect hop, each send again on another connection (a stream the server
   * did not process). Called with the |ud| of the request's callbacks, on the
   * loop thread, when the session has taken the request (its head is queued
   * to go out; a request refused before that is not reported). |hop|: 0 for
   * the first URL, n after n redirects. |method| and |url| (the current URL,
   * its password hidden). |h|: every header field in the order and letter case
   * sent — over HTTP/2 the pseudo-headers first in the profile's order, a
   * cookie as one field per cookie where the profile sends it so; over
   * HTTP/1.1 Host, and Content-Length or Transfer-Encoding where they go —
   * with the profile's fields, the caller's, the jar's Cookie, Authorization
   * from the URL, and the computed sec-fetch-site, referer and origin.
   * |http_version|: 1 (HTTP/1.1), 2 (HTTP/2) or 3 (HTTP/3). Strings valid during the call
   * only. May be NULL. */
  void (*on_request_sent)(void *ud, unsigned hop, const char *method, const char *url,
                          const guise_header *h, size_t n, int http_version);
  /* The response head of every hop, redirects and 1xx interim responses
   * included (on_headers sees the final response only): |status| and the
   * fields in wire order and case (HTTP/2: without :status); |reason|, the
   * HTTP/1.1 reason phrase as the server sent it (possibly empty, its first 127
   * bytes, not escaped; NULL over HTTP/2, which has none). Called before
   * on_headers for the last one. A non-zero return cancels the request
   * (GUISE_E_CANCELLED). May be NULL. */
  int (*on_response_head)(void *ud, unsigned hop, int status, const guise_header *h, size_t n,
                          int http_version, const char *reason);
  /* A streamed request body, instead of |body| and |body_len| (ignored when
   * |body_read| is set; the request has a body, POST by default): the library
   * pulls it as the connection can send (HTTP/2 flow control, the socket's
   * pace: at most 512 KiB waits for the socket), so a body of any size costs
   * no more memory than that. body_read() copies up to |cap| bytes to |buf| and
   * returns their count; 0 at the end of the body; GUISE_BODY_PAUSE when no
   * bytes are ready yet (keep |ctl|, and call guise_body_resume(ctl) on the
   * client's loop thread when they are); or a negative GUISE_E_* code, which
   * ends the request with it (e.g. GUISE_E_IO for a read error). Called on
   * the client's loop thread. */
  long (*body_read)(void *body_ud, unsigned char *buf, size_t cap, guise_body_ctl *ctl);
  /* Starts the body again from its first byte, for a 307/308 redirect or a
   * request sent again on another connection (the server did not process
   * it): 0, or non-zero when it cannot. NULL: the body cannot be sent twice,
   * and such a request ends with GUISE_E_IO (error_detail says why). */
  int (*body_rewind)(void *body_ud);
  void *body_ud;
  /* Its length in bytes (Content-Length), or -1 (the default): not known,
   * sent with "Transfer-Encoding: chunked" over HTTP/1.1 and without a
   * content-length over HTTP/2. A body that ends before it ends the request
   * (GUISE_E_IO); bytes past it are not asked for. */
  long long body_length;
} guise_request_options;

/* body_read()'s "no bytes now": the library asks again after guise_body_resume(). */
#define GUISE_BODY_PAUSE (-1L)

/* Its body has bytes again: body_read() is called as the connection can send.
 * On the client's loop thread, before the request's on_complete; a request
 * not paused is left as it is. Returns 0, or GUISE_E_USAGE_INVALID_ARGUMENT
 * for a NULL |ctl|. */
GUISE_EXTERN int guise_body_resume(guise_body_ctl *ctl);

/* guise_request_options_init sets every field of |o| to its default. */
GUISE_EXTERN void guise_request_options_init(guise_request_options *o);

/* ---- Clients: connections kept and shared -------------------------------------------- */

/*
 * A client owns a pool of connections on one loop, keyed by (scheme, host, port,
 * profile and its ALPN and trust settings, proxy identity): HTTP/2 connections
 * carry many requests at once, HTTP/1.1 connections are kept alive and reused,
 * unused ones close after an idle timeout. It also parses each profile once,
 * caches DNS answers and keeps TLS sessions for resumption per pool key. See
 * docs/CLIENT.md. One client belongs to one loop and its thread.
 */
typedef struct guise_client guise_client;

typedef struct guise_client_options {
  unsigned size;
  /* Defaults for requests that leave them unset (NULL): a profile name or file
   * ("none": no profile), a proxy URL. */
  const char *profile;
  const char *proxy;
  int insecure;                  /* -k for every request */
  const char *cafile;            /* trust anchors; NULL: the system bundle */
  const char *const *resolve;    /* curl-style "host:port:addr" overrides */
  size_t n_resolve;
  const char *dns_servers;       /* "ip[:port],..." instead of /etc/resolv.conf */
  unsigned connect_timeout_ms;   /* 0: 30000 (a request's own value wins) */
  unsigned max_connections_per_origin; /* 0: 6, Chrome's per-host limit */
  unsigned max_streams_per_connection; /* HTTP/2 requests at once on one connection
                                          before another is opened; 0: 100 */
  unsigned idle_timeout_ms;      /* an unused connection is closed after it; 0: 118000 */
  int no_reuse;                  /* every request on a connection of its own, closed after */
  /* Cookies (docs/COOKIES.md): a jar for the client's requests, RFC 6265 with
   * public-suffix checks; |cookie_file| a Netscape cookie file to start it with
   * (a missing file is an empty jar). A Set-Cookie or file line that is
   * refused is reported to |on_cookie_warning| (may be NULL): "cookie file
   * FILE:N skipped: WHY" for a line of |cookie_file|, "Set-Cookie from HOST
   * ignored: WHY" for a server's (which may quote remote bytes: escape them). */
  int cookies;
  const char *cookie_file;
  void (*on_cookie_warning)(void *arg, const char *what);
  void *cookie_warning_arg;
  /* Memory all the client's content decoders may hold together (each also has
   * its own cap, docs/DECODING.md); past it a response whose decoding needs more
   * ends with GUISE_E_DECODE_TOO_LARGE. 0: 256 MiB. */
  unsigned long long max_decode_memory;
  /* HTTP/2 write coalescing, for throughput: new requests for fewer than half
   * of a connection's streams (max_streams_per_connection), while the answers
   * of half or more are awaited, wait up to this many ms — or until the answers
   * make room for that half — and go out in one write: fewer reads and TLS
   * records for the server. 0: off, each request is written at once. guise
   * batch uses 1 (docs/BATCH.md). */
  unsigned h2_coalesce_ms;
  /* Trust in an https:// proxy (curl's --proxy-insecure and --proxy-cacert):
   * its certificate is checked against its host name and |proxy_cafile| (NULL:
   * the system bundle), unless |proxy_insecure|. |insecure| and |cafile| (the
   * client's and each request's) are for the origin only: credentials for the
   * proxy never go to a proxy that was not checked unless asked. A
   * |proxy_cafile| that cannot be read fails guise_client_new with
   * GUISE_E_USAGE_FILE. */
  int proxy_insecure;
  const char *proxy_cafile;
  /* The library never prints: what it has to say goes to |log| (may be NULL),
   * one line without a newline per call, with its guise_log_level; messages
   * above |log_level| are not even formatted (0: GUISE_LOG_WARN). A refused
   * cookie is a GUISE_LOG_WARN message with the text on_cookie_warning gets,
   * which is still called as well. Called on the client's loop thread; |msg| is
   * valid during the call only and may quote remote bytes (escape them). */
  void (*log)(void *arg, int level, const char *msg);
  void *log_arg;
  int log_level;
  /* The network side (curl's -4/-6, --interface, --local-port, --limit-rate;
   * docs/CLIENT.md). |ip_version| 4 or 6: names resolve to, and connections
   * go to, addresses of that version only (a name without one is
   * GUISE_E_DNS_NOT_FOUND); 0: both. */
  int ip_version;
  /* Connections leave from this interface: a name ("eth0": SO_BINDTODEVICE
   * where the process may, else the interface's first address of the
   * destination's version) or an IP address to bind to. NULL: any. A name
   * that is no interface, or an interface without an address of the right
   * version, fails the connection with GUISE_E_CONNECT_BIND_FAILED. */
  const char *interface;
  /* Local ports tried in turn, |local_port_min| to |local_port_max| (0: the
   * same as min); 0: the system picks. All taken: GUISE_E_CONNECT_BIND_FAILED. */
  unsigned local_port_min, local_port_max;
  /* Each connection reads at most this many bytes per second on average (the
   * socket is not read while ahead, so the server's sending is held back by
   * TCP flow control); 0: no limit. */
  unsigned long long max_recv_rate;
  /* A client certificate for servers that ask for one (TLS CertificateRequest;
   * the ClientHello is the same with or without): |client_cert| a PEM file
   * with the certificate (and its chain; the key too when |client_key| is
   * NULL), |client_key| a PEM private key, |client_key_password| for an
   * encrypted key (NULL: none). Read by guise_client_new: a file that cannot
   * be read, or a key that does not match the certificate, fails it with
   * GUISE_E_USAGE_FILE. */
  const char *client_cert;
  const char *client_key;
  const char *client_key_password;
  /* curl's --tlsv1.x, --tls-max, --ciphers, --curves. A browser profile fixes
   * its hello: with one, a request is refused (GUISE_E_USAGE_INVALID_ARGUMENT)
   * unless the profile already agrees — its lowest offered version at least
   * |tls_min_version|, its highest at most |tls_max_version| (see
   * guise_profile_tls_range) — and |tls_ciphers| and |tls_curves| are taken
   * without a profile only. Versions as on the wire: 0x0301 (TLS 1.0) to
   * 0x0304 (TLS 1.3), 0: the default. |tls_ciphers|: TLS 1.2 suites in
   * OpenSSL's names ("ECDHE-RSA-AES128-GCM-SHA256:..."); |tls_curves|: groups
   * ("X25519:P-256"); NULL: the default. A list the TLS library does not take
   * fails guise_client_new with GUISE_E_USAGE_INVALID_ARGUMENT. */
  int tls_min_version, tls_max_version;
  const char *tls_ciphers;
  const char *tls_curves;
} guise_client_options;

/* The levels of guise_client_options.log, most severe first. */
typedef enum guise_log_level {
  GUISE_LOG_ERROR = 1, /* something failed that no return code reports */
  GUISE_LOG_WARN = 2,  /* input refused or ignored: a cookie, a file line */
  GUISE_LOG_INFO = 3,  /* what a connection or request did */
  GUISE_LOG_DEBUG = 4  /* detail for finding a bug */
} guise_log_level;

/* guise_client_options_init sets every field of |o| to its default. */
GUISE_EXTERN void guise_client_options_init(guise_client_options *o);

/*
 * guise_client_new makes a client on |loop| (a uv_loop_t). |o| may be NULL (the
 * defaults); its strings are copied. Returns 0 and *out, or a GUISE_E_* code
 * (a malformed proxy URL or resolve entry, NOMEM; USAGE_INVALID_ARGUMENT for
 * |connect_timeout_ms| or |idle_timeout_ms| over 86400000 (a day) or
 * |h2_coalesce_ms| over 60000; USAGE_FILE for a |proxy_cafile| it cannot read).
 */
GUISE_EXTERN int guise_client_new(struct uv_loop_s *loop, const guise_client_options *o,
                                  guise_client **out);

/*
 * guise_dns_servers_check reads |servers| as guise_client_new reads |dns_servers|:
 * "IP[:PORT][,IP[:PORT]...]" — IPv4 a.b.c.d, IPv6 in brackets ([::1]:5353) or
 * bare without a port; PORT 1-65535 (53 when absent); 1 to 8 entries, none
 * empty. Returns 0, or GUISE_E_USAGE_INVALID_ARGUMENT with the bad entry and
 * why in |err| ("entry 2 \"127.0.0.1:99999\": the port is out of range
 * (1-65535)"). guise_client_new, guise_request and guise_batch_new refuse such
 * a value with the same code.
 */
GUISE_EXTERN int guise_dns_servers_check(const char *servers, char *err, unsigned errlen);

/*
 * guise_client_request starts a request on |c|: it waits for a free connection
 * of its pool key, or one is opened. Same contract as guise_request(). Per
 * request: |profile| and |proxy| NULL take the client's (proxy "" is direct);
 * |insecure| adds to the client's; |resolve| entries are added to the client's
 * overrides; |dns_servers|, |proxy_insecure| and |proxy_cafile| must be unset
 * (client options). |max_time_ms| or |connect_timeout_ms| over 86400000 (a day)
 * is GUISE_E_USAGE_INVALID_ARGUMENT, as for guise_request(). Refused with
 * GUISE_E_CANCELLED once the client is closing.
 */
GUISE_EXTERN int guise_client_request(guise_client *c, const guise_request_options *o,
                                      const guise_callbacks *cb, void *ud);

/*
 * guise_client_close ends every request still waiting or running
 * (GUISE_E_CANCELLED), closes the connections and frees the client once the
 * loop has run their close callbacks: run the loop until it returns. Safe from
 * inside a callback; |c| must not be used after. Idle connections do not keep
 * the loop alive; requests in flight do.
 */
GUISE_EXTERN void guise_client_close(guise_client *c);

/* Writes the client's cookie jar as a Netscape cookie file (curl -c), atomically.
 * 0, GUISE_E_USAGE_INVALID_ARGUMENT when the client keeps no cookies, or
 * GUISE_E_USAGE_FILE. */
GUISE_EXTERN int guise_client_save_cookies(guise_client *c, const char *path);

/*
 * guise_request starts one request on |loop| (a uv_loop_t) over a new
 * connection, closed after it (a client of its own with |no_reuse|). Returns 0, after which |cb| is called from the loop and
 * on_complete exactly once; or a negative GUISE_E_* code (usage errors: a bad
 * URL, method or header; GUISE_E_USAGE_INVALID_ARGUMENT for |max_time_ms| or
 * |connect_timeout_ms| over 86400000, a day), after which no callback is
 * called. A header refused by rule (Content-Length, Transfer-Encoding, TE other
 * than trailers) gives 0, then on_complete with GUISE_E_USAGE_INVALID_ARGUMENT
 * and a detail naming it.
 */
GUISE_EXTERN int guise_request(struct uv_loop_s *loop, const guise_request_options *o,
                               const guise_callbacks *cb, void *ud);

/*
 * guise_fetch runs one request to the end on a loop of its own (the blocking
 * convenience call) and returns its final code (0 or GUISE_E_*).
 */
GUISE_EXTERN int guise_fetch(const guise_request_options *o, const guise_callbacks *cb, void *ud);

/* ---- Batches: many requests, scheduled (docs/BATCH.md) --------------------------------- */

/* One job. Every string is copied by guise_batch_submit(). */
typedef struct guise_job {
  unsigned size;
  const char *id;                /* echoed in the record; NULL: the line number */
  const char *url;
  const char *method;            /* NULL: GET, or POST with a body */
  const guise_header *headers;
  size_t n_headers;
  const unsigned char *body;
  size_t body_len;
  int has_body;
  const char *profile;           /* NULL: the batch's */
  const char *proxy;             /* NULL: the batch's; "": direct */
  const char *meta;              /* a JSON value echoed as "meta", or NULL */
  unsigned long long line;       /* input line, for the record; 0: none */
  int http_version;              /* 0: the batch's; 1: HTTP/1.1 only; 2: HTTP/2 only;
                                    GUISE_HTTP_3, GUISE_HTTP_3_ONLY */
  const char *kind;              /* request kind (guise_request_options.kind); NULL: as there */
  const char *referer;           /* the initiator's URL (guise_request_options.referer); NULL: none */
} guise_job;

enum { GUISE_BODY_DISCARD = 0, GUISE_BODY_TEXT = 1, GUISE_BODY_BASE64 = 2, GUISE_BODY_DIR = 3 };

typedef struct guise_batch_options {
  unsigned size;
  unsigned workers;              /* threads, each with its own loop and pool; 0: one per core */
  unsigned concurrency;          /* requests in flight, all workers together; 0: 256 */
  unsigned per_host;             /* in flight per host; 0: no limit beyond |concurrency| */
  double rate;                   /* requests started per second, all together; 0: no limit */
  double per_host_rate;          /* per host; 0: no limit */
  unsigned retries;              /* more attempts for a retryable failure; default 2 */
  unsigned connections_per_host; /* pool: connections per origin; 0: 6 */
  unsigned streams_per_connection; /* pool: HTTP/2 streams per connection; 0: 100 */
  unsigned max_pending;          /* jobs submitted and not yet ended; submit waits above it; 0: 4 x concurrency */
  /* Defaults of every job, as in guise_request_options. */
  const char *profile;           /* NULL or "none": no profile */
  const char *proxy;
  int insecure;
  const char *cafile;
  int http_version;
  const char *const *resolve;
  size_t n_resolve;
  const char *dns_servers;
  unsigned connect_timeout_ms;
  unsigned max_time_ms;          /* per attempt, from when it has a connection; 0: 60000 */
  unsigned long long max_body;   /* decoded body cap per job; 0: 1 GiB (inline bodies: 1 MiB) */
  /* What the record carries. */
  int include_headers;           /* response headers, in wire order */
  int body_mode;                 /* GUISE_BODY_* */
  const char *body_dir;          /* GUISE_BODY_DIR: one file per job, named from its id */
  /* Called once per job, from a worker thread (calls are serialised): the record,
   * one JSON object without newline, valid during the call. Required. */
  void (*on_record)(void *arg, const char *json, size_t len, int err);
  void *arg;
  int no_reuse;                  /* a new connection for every request (--no-keepalive) */
  int follow_redirects;          /* -L; the record's "final_url" and "redirects" say where */
  unsigned max_redirects;        /* 0: 20 */
  int cookies;                   /* a cookie jar per worker, shared by the jobs of its hosts */
  /* HTTP/2 write coalescing (guise_client_options.h2_coalesce_ms): 0: 1 ms;
   * |no_coalesce|: off, every request written at once. */
  unsigned h2_coalesce_ms;
  int no_coalesce;
  /* Trust in an https:// |proxy| (guise batch --proxy-insecure, --proxy-cacert),
   * as guise_client_options.proxy_insecure and .proxy_cafile: |insecure| and
   * |cafile| are for the origins only. A |proxy_cafile| that cannot be read fails
   * guise_batch_new with GUISE_E_USAGE_FILE. */
  int proxy_insecure;
  const char *proxy_cafile;
  /* Admission shared with other processes (guise batch redis://: --per-host and
   * --per-host-rate held for a whole group, docs/REDIS.md). When |admit| is set,
   * a job whose local limits (per_host, per_host_rate, rate) let it start asks
   * admit(|admit_arg|, HOST, &ticket) first, HOST its URL's authority as written,
   * without userinfo, lowercased ("example.test" for https://Example.test/x,
   * "example.test:8443" with that port in the URL): 0 starts the attempt, and
   * release(|admit_arg|, HOST,
   * ticket) is called once when that attempt ends; N > 0 asks again in N ms (the
   * worker's queue waits behind that job, as for a local per-host rate). Called
   * on the worker's loop thread, from each worker thread: it must be quick and
   * thread-safe. NULL: no admission. */
  unsigned (*admit)(void *arg, const char *host, unsigned long long *ticket);
  void (*release)(void *arg, const char *host, unsigned long long ticket);
  void *admit_arg;
} guise_batch_options;

typedef struct guise_batch guise_batch;

/* Counters, readable at any time from any thread (guise_batch_stats). */
typedef struct guise_batch_stats {
  unsigned size;
  unsigned long long submitted, done, ok, failed, retries, in_flight, interrupted;
  unsigned long long by_class[12]; /* usage dns connect tls certificate proxy http decoding
                                      profile timeout resource other */
  double p50_ms, p99_ms;         /* total time of ended jobs */
} guise_batch_stats;

GUISE_EXTERN void guise_batch_options_init(guise_batch_options *o);

/* Starts the workers. 0 or a GUISE_E_* code (a bad option, a bad resolve entry).
 * GUISE_E_USAGE_INVALID_ARGUMENT for numbers it cannot honour: |rate| and
 * |per_host_rate| must be 0 (no limit) or from 0.001 to 10,000,000 per second
 * (NaN and infinities refused); |max_time_ms| and |connect_timeout_ms| at most
 * 86,400,000 (a day). GUISE_E_USAGE_FILE for a |proxy_cafile| it cannot read. */
GUISE_EXTERN int guise_batch_new(const guise_batch_options *o, guise_batch **out);

/* Queues a job; waits while |max_pending| jobs are pending. 0, or a GUISE_E_*
 * code after which the job has no record: GUISE_E_CANCELLED after a stop. A job
 * with a bad URL or field still gets its record (an error record). */
GUISE_EXTERN int guise_batch_submit(guise_batch *b, const guise_job *job);

/* No more jobs will start; |cancel| also ends those in flight. Jobs that had not
 * ended get no record (they are counted as interrupted). Thread-safe, not
 * async-signal-safe. */
GUISE_EXTERN void guise_batch_stop(guise_batch *b, int cancel);

/* Waits until every submitted job has ended (or been interrupted). */
GUISE_EXTERN void guise_batch_wait(guise_batch *b);

/* Waits as guise_batch_wait(), stops the workers and frees |b|. Returns 0. */
GUISE_EXTERN int guise_batch_finish(guise_batch *b);

GUISE_EXTERN void guise_batch_stats_get(guise_batch *b, guise_batch_stats *out);

/* The class index (0..11) of guise_batch_stats.by_class for |code|. */
GUISE_EXTERN int guise_batch_class_index(int code);

/*
 * guise_batch_record_error writes the record of an input line that is not run
 * (not a job, a duplicate id): {"id":ID,"line":LINE,"url":null,"status":0,
 * "error":"USAGE_INVALID_ARGUMENT","error_class":"usage","error_detail":WHY,
 * "attempts":0}, one JSON object without newline, as guise batch writes it
 * (docs/BATCH.md). |id| and |why| are escaped as in every record (invalid UTF-8
 * and control characters as \u00XX). Into |out| (|cap| bytes, NUL-terminated);
 * returns the record's length, or 0 when it does not fit (|out| is then "").
 * 160 + 6 x (strlen(id) + strlen(why)) bytes always suffice. No allocation.
 */
GUISE_EXTERN size_t guise_batch_record_error(char *out, size_t cap, const char *id,
                                             unsigned long long line, const char *why);

/*
 * guise_job_parse reads one input line: a URL (http:// or https://), or a JSON
 * object with "url" and optionally "id", "method", "headers" (an object, or an
 * array of [name, value]), "body" (text) or "body_base64", "profile", "proxy",
 * "http" ("1.1" or "2"), "meta" (any value). |store| receives the copies the job points to; free it
 * with guise_job_free(). Returns 0, 1 for a blank line or a comment (#), or
 * GUISE_E_USAGE_INVALID_ARGUMENT with a reason in |err|.
 */
typedef struct guise_job_store guise_job_store;
GUISE_EXTERN int guise_job_parse(const char *line, size_t len, guise_job *job,
                                 guise_job_store **store, char *err, size_t errlen);
GUISE_EXTERN void guise_job_free(guise_job_store *store);

/*
 * guise_record_id reads the id of one output record (a line guise batch wrote:
 * {"id":"...",...) into |id| (|cap| bytes, NUL-terminated), as --resume does.
 * Returns 0, or -1 when the line does not start that way, the id is not a
 * well-formed JSON string without NUL, or it does not fit.
 */
GUISE_EXTERN int guise_record_id(const char *line, size_t len, char *id, size_t cap);

/* ---- Profiles (profiles/FORMAT.md) --------------------------------------------------- */

/* The number of built-in profiles, and the name of the |i|th (NULL past the end). */
GUISE_EXTERN size_t guise_profile_count(void);
GUISE_EXTERN const char *guise_profile_name(size_t i);

/* The name of the default profile (the newest Chrome). */
GUISE_EXTERN const char *guise_profile_default(void);

/* The TLS versions the hello of profile |name_or_file| (a built-in name, an
 * alias or a file) offers in supported_versions, lowest and highest, as on
 * the wire (0x0303 for TLS 1.2, 0x0304 for 1.3). Returns 0, or the profile's
 * load error (GUISE_E_PROFILE_*; guise_profile_check_syntax says why). */
GUISE_EXTERN int guise_profile_tls_range(const char *name_or_file, int *lowest, int *highest);

/* Reads a client certificate as guise_client_new would
 * (guise_client_options.client_cert, client_key, client_key_password) and
 * says why it cannot be used: 0, or GUISE_E_USAGE_FILE / GUISE_E_NOMEM with
 * one line in |why| (|cap| bytes, NUL-terminated) naming the file. */
GUISE_EXTERN int guise_client_cert_check(const char *cert_file, const char *key_file, const char *password,
                                         char *why, size_t cap);

/* Whether the TLS library takes |ciphers| and |curves| (NULL: not checked) as
 * guise_client_options.tls_ciphers and tls_curves: 0, or
 * GUISE_E_USAGE_INVALID_ARGUMENT with one line in |why| naming the list. */
GUISE_EXTERN int guise_tls_lists_check(const char *ciphers, const char *curves, char *why, size_t cap);

/* The |i|th alias ("chrome", "firefox", "safari", "edge", "chrome-android",
 * "safari-ios"; NULL past the end) and, in |*target| (may be NULL), the built-in
 * profile it names: that browser's with the highest version in its name. Every
 * function taking a built-in profile name takes an alias too. */
GUISE_EXTERN const char *guise_profile_alias(size_t i, const char **target);

/*
 * guise_profile_check_syntax loads |name_or_file| (a built-in name or a file) as
 * a request would. Returns 0, or GUISE_E_PROFILE_NOT_FOUND / _SYNTAX / _INVALID /
 * _UNSUPPORTED with "file:line:column: reason" in |err|.
 */
GUISE_EXTERN int guise_profile_check_syntax(const char *name_or_file, char *err, unsigned errlen);

/*
 * guise_profile_coherence loads |name_or_file| as guise_profile_check_syntax does
 * and checks that its user-agent, sec-ch-ua* fields and TLS and HTTP/2 shapes
 * belong to one browser (profiles/FORMAT.md, "Coherence"). Each disagreement is
 * passed to |warn| (may be NULL) as one line naming the profile and the two
 * fields. Returns their number (0: coherent), or the GUISE_E_PROFILE_* code of
 * guise_profile_check_syntax with |err|.
 */
GUISE_EXTERN int guise_profile_coherence(const char *name_or_file,
                                         void (*warn)(void *ud, const char *msg), void *ud,
                                         char *err, unsigned errlen);

/* The JSON text of the built-in |name| (static storage, |*len| bytes), or NULL. */
GUISE_EXTERN const char *guise_profile_text(const char *name, size_t *len);

/*
 * guise_profile_expected fills the fingerprints the profile records from the
 * real browser (empty strings when not recorded). Each buffer is |cap| bytes.
 */
GUISE_EXTERN int guise_profile_expected(const char *name_or_file, char *ja4, char *ja3n, char *ja3,
                                        char *akamai, char *peetprint, size_t cap, char *err,
                                        unsigned errlen);

/*
 * guise_profile_import_browsers_json makes a profile named |name| from the
 * record |id| of a browsers.json file (the project's reference captures) and
 * writes its JSON to |out| (|*len| bytes, malloc'd, the caller frees). Returns
 * 0 or a GUISE_E_* code with a message in |err|.
 */
GUISE_EXTERN int guise_profile_import_browsers_json(const char *file, const char *id,
                                                    const char *name, char **out, size_t *len,
                                                    char *err, unsigned errlen);

/*
 * guise_profile_import_echo_log makes a profile named |name| from a guise echo
 * log (--log): the first connection that carried an HTTP/2 request, its
 * ClientHello, HTTP/2 preface and request headers, and the fingerprints the
 * observer computed as "expected". |permute|: the browser shuffles its
 * extensions (Chromium). Same results as guise_profile_import_browsers_json.
 */
GUISE_EXTERN int guise_profile_import_echo_log(const char *file, const char *name,
                                               const char *description, int permute, char **out,
                                               size_t *len, char *err, unsigned errlen);

/*
 * guise_profile_import makes a profile named |name| from |file|, whose kind is
 * told from its content: a browsers.json reference file (|id| names the
 * record), a tls.browserleaks.com JSON dump, or a guise echo log; a pcap or pcapng
 * capture is refused here (GUISE_E_USAGE_INVALID_ARGUMENT): captures are read by
 * guise_profile_import_capture of libguise-capture (guise_capture.h). |permute|:
 * the browser shuffles its extensions. Same results as above.
 */
GUISE_EXTERN int guise_profile_import(const char *file, const char *id, const char *name,
                                      int permute, char **out, size_t *len, char *err,
                                      unsigned errlen);

/*
 * guise_profile_import_strings makes a profile named |name| from a JA3 string
 * (version,ciphers,extensions,groups,formats) and an Akamai HTTP/2 string
 * (SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo-headers). What the strings do not
 * carry is the library's default unless given: |sigalgs|, |key_shares| and
 * |alpn| are JSON arrays of names (NULL: default); |grease| puts GREASE where
 * Chromium does; |permute| shuffles the extensions. Same results as above.
 */
GUISE_EXTERN int guise_profile_import_strings(const char *ja3, const char *akamai,
                                              const char *name, const char *sigalgs,
                                              const char *key_shares, const char *alpn,
                                              int grease, int permute, char **out, size_t *len,
                                              char *err, unsigned errlen);

/* ---- The observer: guise echo -------------------------------------------------------- */

/*
 * guise_echo_options configures guise_echo_new() and guise_echo_run(). Initialise
 * with guise_echo_options_init(), then set what differs; fields are only ever
 * added at the end.
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
  /* Called once the socket listens, with the address actually bound
   * ("127.0.0.1:8443"): by guise_echo_new() before it returns. May be NULL. */
  void (*on_listening)(const char *address, void *arg);
  void *arg;
  /* Serving loops. 1 (the default): everything on the caller's loop and thread.
   * N > 1: the caller's loop listens and serves too, and N - 1 threads of the
   * handle's own, each with a loop, serve the connections handed to them (a new
   * one goes to the loop with the fewest); the log is written by a thread of its
   * own either way. 0: one loop per CPU (uv_available_parallelism). At most 256;
   * more is GUISE_E_USAGE_INVALID_ARGUMENT. */
  unsigned threads;
  /* 0 (default): QUIC and HTTP/3 are served on UDP at the TCP port too (on the
   * caller's loop); a UDP port taken is GUISE_E_CONNECT_NO_PORTS. 1: TCP only. */
  int no_http3;
  /* 1: every answer over TCP carries `alt-svc: h3=":PORT"; ma=86400` (RFC 7838,
   * RFC 9114 §3.1.1), so that a browser switches to HTTP/3. 0 (default): nothing
   * is advertised. */
  int alt_svc;
} guise_echo_options;

/* guise_echo_options_init sets every field of |opts| to its default. */
GUISE_EXTERN void guise_echo_options_init(guise_echo_options *opts);

/*
 * The observer as a handle on the caller's libuv loop: an HTTPS server (TLS
 * 1.2/1.3, ALPN h2 and http/1.1; plaintext HTTP/1 and h2c on the same port)
 * that answers every request with a JSON document of what the client sent —
 * the decoded ClientHello, the HTTP/2 frames or HTTP/1 header block, every
 * fingerprint — and of what was negotiated. See docs/OBSERVER.md. It installs
 * no signal handler, changes no resource limit and keeps no process-wide state:
 * several may run in one process, a client on the same loop may talk to it.
 * One handle belongs to one loop and its thread: its functions are called there
 * (the threads it starts with |threads| > 1, and the --log writer, are its own).
 * The caller ignores SIGPIPE (libuv writes without MSG_NOSIGNAL): otherwise a
 * client that resets while its answer is written ends the process.
 */
typedef struct guise_echo guise_echo;

/*
 * guise_echo_new binds and listens on |loop| (a uv_loop_t) as |opts| says
 * (copied; NULL: the defaults) and returns 0 and *out; connections are served
 * while the caller runs the loop. On failure nothing is left on the loop and a
 * message naming the reason is written to |err| (|errlen| bytes, NUL-terminated;
 * |err| may be NULL): GUISE_E_USAGE_INVALID_ARGUMENT (a malformed |listen|, a
 * non-loopback one without |allow_remote|, a NULL |loop| or |out|),
 * GUISE_E_USAGE_FILE (the certificate, key or log file), GUISE_E_CONNECT_NO_PORTS
 * (the address is taken or not local), GUISE_E_IO (another listen failure),
 * GUISE_E_INTERNAL (the self-signed certificate could not be made),
 * GUISE_E_NOMEM.
 */
GUISE_EXTERN int guise_echo_new(struct uv_loop_s *loop, const guise_echo_options *opts,
                                guise_echo **out, char *err, unsigned errlen);

/*
 * guise_echo_address returns the address bound, "127.0.0.1:8443" or
 * "[::1]:8443", valid until guise_echo_close() is called.
 */
GUISE_EXTERN const char *guise_echo_address(const guise_echo *e);

/*
 * guise_echo_close stops listening and closes every connection (each writes its
 * log line). Its memory is freed once the loop has run the close callbacks of
 * its handles; then |on_closed| (may be NULL) is called with |arg|, from the
 * loop. |e| must not be used after this call. Safe from inside a callback run
 * by the loop (a request's on_complete); call it once.
 */
GUISE_EXTERN void guise_echo_close(guise_echo *e, void (*on_closed)(void *arg), void *arg);

/*
 * guise_echo_run is the blocking form, kept for programs written against it:
 * it raises the open-file limit to its hard limit, runs a guise_echo on a loop
 * of its own and stops at SIGINT or SIGTERM (it installs handlers for both
 * while it runs). Returns 0 after a signal, or -1 when it cannot start, with
 * the message in |err| (|errlen| bytes, NUL-terminated). A program with a loop
 * of its own uses guise_echo_new().
 */
GUISE_EXTERN int guise_echo_run(const guise_echo_options *opts, char *err, unsigned errlen);

/* ---- Files written whole or not at all -------------------------------------------- */

/*
 * The way guise writes every file (the cookie jar, -o, --body-dir, --stats-json,
 * profile import -o), for programs that write files next to it. docs/CLI.md,
 * "Files guise writes".
 *
 * guise_file_open makes a temp file in |path|'s folder (mkstemp: created with
 * O_EXCL, mode 0600 while written, so nothing planted at a guessable name is
 * followed or opened) and gives it its final mode: an existing file's (and, as
 * root, its owner), else |mode| & ~umask. Write through guise_file_stream().
 * guise_file_commit flushes, fsyncs with GUISE_FILE_SYNC (and the folder after),
 * and renames the temp file over |path|; until then the old file is untouched,
 * and guise_file_abort removes the temp file. A symlink at |path| to a regular
 * file: its target is replaced, the link kept (with GUISE_FILE_NO_FOLLOW the
 * link itself is replaced, never followed, and so is a pipe or socket). A
 * character device or pipe at |path| (/dev/null, /dev/stdout) is written in
 * place; a folder is EISDIR.
 *
 * GUISE_FILE_IN_PLACE: when the temp file cannot be made (EACCES, EPERM, EROFS:
 * a folder the caller may not write) but |path| is a regular file it may write,
 * that file is written in place, as curl does: not truncated at open; commit
 * cuts it to what was written, abort too unless nothing was written (then it is
 * left as it was). guise_file_in_place() says when that happened.
 *
 * guise_file_open returns 0 and *out, or -1 with errno set (nothing left behind).
 * guise_file_commit returns 0, or -1 with errno (the temp file removed, the old
 * file as it was); |f| is freed either way. guise_file_abort frees |f| (NULL is
 * a no-op).
 */
typedef struct guise_file guise_file;
#define GUISE_FILE_SYNC 1u      /* fsync the file and its folder at commit */
#define GUISE_FILE_NO_FOLLOW 4u /* a symlink at the name is replaced, never followed */
#define GUISE_FILE_IN_PLACE 8u  /* fall back to writing the file in place (above) */

GUISE_EXTERN int guise_file_open(const char *path, unsigned mode, unsigned flags, guise_file **out);
GUISE_EXTERN FILE *guise_file_stream(guise_file *f);
GUISE_EXTERN int guise_file_in_place(const guise_file *f);
GUISE_EXTERN int guise_file_commit(guise_file *f);
GUISE_EXTERN void guise_file_abort(guise_file *f);

/* Captures (guise fp) are read by a library of their own, libguise-capture, so that
 * libguise needs no libpcap: see guise_capture.h. */

#ifdef __cplusplus
}
#endif
#endif /* GUISE_H */

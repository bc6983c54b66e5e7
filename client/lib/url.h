/*
 * url.h — absolute http/https URLs (a subset of RFC 3986 §3) parsed into the
 * pieces a request needs, and RFC 3986 §5.2 resolution of a reference against
 * a base (redirects).
 *
 * Internal to libguise. I/O-free, no allocation: a url holds its normalized
 * pieces in a fixed buffer inside the struct, so it can be copied with memcpy
 * (pieces are offsets, not pointers).
 *
 * What parsing normalizes, as Chrome's URL parser does (WHATWG URL standard):
 *  - the scheme and a host name are lowercased; an IPv6 literal is written in
 *    its canonical form (RFC 5952 compression, lowercase hex, no dotted tail);
 *  - a default port (80 for http, 443 for https) is dropped;
 *  - "." and ".." path segments are removed (RFC 3986 §5.2.4); an empty path
 *    becomes "/";
 *  - bytes a browser percent-encodes are encoded as %XX (uppercase hex): in the
 *    path C0 controls, space, " < > ` { } DEL and every byte >= 0x80; in the
 *    query C0 controls, space, " # < > ' DEL and >= 0x80; in the userinfo the
 *    WHATWG userinfo set. '%' is never re-encoded (an existing %XX, valid or
 *    not, is kept as it is, as browsers do).
 * What parsing refuses rather than repairs (a browser would repair; a client
 * fed URLs by a program is better told):
 *  - NUL, TAB, CR and LF anywhere (WHATWG strips TAB/CR/LF silently; in a URL
 *    handed to an HTTP client they mostly mean a pasted line break or an
 *    injection attempt);
 *  - host names that are not ASCII letters, digits, '-', '.', '_' (no IDNA:
 *    give the xn-- A-label), and numeric hosts that are not a strict dotted
 *    quad (Chrome reads "127.1" and "0x7f.1" as IPv4; guise refuses them);
 *  - IPv6 zone identifiers ("[fe80::1%25eth0]").
 * The fragment is kept (for url_href and for redirects, RFC 9110 §10.2.2) but
 * is never part of the request-target.
 */
#ifndef GUISE_URL_H
#define GUISE_URL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Caps.
 * URL_MAX_LEN (8 KiB) bounds the input and the request-target after
 * percent-encoding. Chrome accepts URLs up to 2 MiB, but servers refuse a
 * request line over 8 KiB (nginx large_client_header_buffers 8k -> 414, Apache
 * LimitRequestLine 8190), so a longer URL could only fail later, and a bound
 * here keeps every url a fixed size.
 * URL_STORE (16 KiB) holds every normalized piece (userinfo, host, authority,
 * target, fragment) with their terminators; percent-encoding can triple the
 * bytes of the userinfo and fragment, which are not sent in the request line.
 * URL_HOST_MAX / URL_LABEL_MAX are DNS's limits (RFC 1035 §2.3.4): a longer
 * name cannot be resolved, so it is refused at parse time with that reason.
 */
#define URL_MAX_LEN 8192
#define URL_STORE (2 * URL_MAX_LEN)
#define URL_HOST_MAX 253
#define URL_LABEL_MAX 63

typedef enum url_scheme { URL_HTTP = 1, URL_HTTPS = 2 } url_scheme;

typedef enum url_host_type {
  URL_HOST_NAME = 1, /* reg-name, lowercased */
  URL_HOST_IPV4 = 2, /* dotted quad */
  URL_HOST_IPV6 = 3  /* canonical text, without brackets in url_host() */
} url_host_type;

/* A piece of a url: |off| into url.buf, |len| bytes, NUL-terminated there. */
typedef struct url_piece {
  uint32_t off, len;
} url_piece;

typedef struct url {
  url_scheme scheme;
  url_host_type host_type;
  uint16_t port;         /* effective port: explicit, or 80 / 443 */
  int has_userinfo;      /* an '@' was present (the user may be empty) */
  int has_password;      /* a ':' was present in the userinfo */
  int has_query;         /* a '?' was present (the query may be empty) */
  int has_fragment;      /* a '#' was present */
  url_piece user, password; /* percent-encoded as stored */
  url_piece host;           /* lowercased name, dotted quad, or IPv6 text */
  url_piece authority;      /* Host / :authority value */
  url_piece target;         /* path [ "?" query ] */
  uint32_t path_len;        /* bytes of |target| before the '?' */
  url_piece fragment;       /* without the '#' */
  char buf[URL_STORE];
} url;

/* Where and why a parse failed: |offset| is a byte offset into the string
 * given, |reason| a static English phrase naming the part ("host: space"). */
typedef struct url_err {
  size_t offset;
  const char *reason;
} url_err;

/*
 * Parses the absolute URL |s[0..len-1]| into |u|.
 *
 * Returns 0, or:
 *  GUISE_E_USAGE_URL_SCHEME     the scheme is well formed but not http/https
 *                               (compared case-insensitively);
 *  GUISE_E_USAGE_URL_MALFORMED  anything else: over URL_MAX_LEN, no scheme,
 *                               no "//", NUL/TAB/CR/LF, an empty or invalid
 *                               host, an invalid IPv4/IPv6 literal, a port
 *                               outside 1..65535, a target over URL_MAX_LEN
 *                               once percent-encoded;
 *  GUISE_E_USAGE_INVALID_ARGUMENT  |u| or |s| is NULL.
 * On failure |*err| (when |err| is not NULL) says where and why, and |u| holds
 * nothing usable. |s| need not be NUL-terminated; nothing of it is kept.
 */
int url_parse(url *u, const char *s, size_t len, url_err *err);

/*
 * Resolves the reference |ref[0..ref_len-1]| (absolute, network-path,
 * absolute-path, relative-path, query-only, fragment-only or empty) against
 * |base| by RFC 3986 §5.2.2 with dot-segment removal (§5.2.4), into |out|
 * (which may not be |base|). A reference with the base's scheme and no
 * authority ("http:g") is resolved as relative: the RFC's non-strict mode,
 * which is what browsers do.
 *
 * Returns 0, or the errors of url_parse for the resolved URL (e.g.
 * GUISE_E_USAGE_URL_SCHEME for "ftp://x/" or "g:h"), or
 * GUISE_E_USAGE_URL_MALFORMED when the resolved URL would be longer than
 * URL_MAX_LEN. |err->offset| is into |ref| for a NUL/TAB/CR/LF in |ref|, else
 * into the resolved URL before normalization.
 */
int url_resolve(const url *base, const char *ref, size_t ref_len, url *out, url_err *err);

/* The host: a lowercased name, a dotted quad, or IPv6 text without brackets
 * (what DNS or inet_pton takes). NUL-terminated, owned by |u|. */
const char *url_host(const url *u);

/* The Host header / :authority value: host, "[v6]" for IPv6, ":port" only
 * when the port is not the scheme's default. NUL-terminated, owned by |u|. */
const char *url_authority(const url *u);

/* The request-target in origin-form (RFC 9112 §3.2.1): path [ "?" query ],
 * percent-encoded, never with the fragment. Only bytes 0x21..0x7E.
 * NUL-terminated, owned by |u|; its length is u->target.len. */
const char *url_target(const url *u);

/* "http" or "https". */
const char *url_scheme_name(const url *u);

/*
 * Copies the user (|which| == 0) or password (|which| == 1) of |u| into
 * |out| (|cap| bytes), percent-decoded when |decode| is non-zero, followed by
 * a NUL; |*len| (when not NULL) receives the length without the NUL (a
 * decoded value may hold a NUL byte of its own). An absent piece is empty.
 *
 * Returns 0, GUISE_E_USAGE_URL_MALFORMED when |decode| is set and a '%' is not
 * followed by two hex digits, or GUISE_E_USAGE_INVALID_ARGUMENT when the value
 * and its NUL do not fit in |cap| bytes. |out| is always NUL-terminated when
 * |cap| > 0.
 */
int url_userinfo(const url *u, int which, int decode, char *out, size_t cap, size_t *len);

/*
 * Writes the whole normalized URL, scheme "://" [userinfo "@"] authority
 * target [ "#" fragment ], NUL-terminated, into |out| (|cap| bytes). Returns
 * its length (without the NUL), or -1 when it does not fit (|out| then holds
 * an empty string when |cap| > 0). Parsing the result gives the same url.
 */
long url_href(const url *u, char *out, size_t cap);

/* What guise_url_redact (client/include/guise.h, code in url.c) writes in place
 * of a URL's password wherever guise writes a URL: -v, -w, batch records,
 * redirect chains, error details. */
#define URL_REDACTED "***"

#endif /* GUISE_URL_H */

/*
 * url.h — absolute http/https URLs parsed into the pieces a request needs, and
 * resolution of a reference (a Location) against a base, both by the WHATWG
 * URL Standard's basic URL parser for special schemes (what browsers run).
 *
 * Internal to libguise. I/O-free, no allocation but libidn2's for a name that
 * needs IDNA (and url_dup's block): a url holds its normalized pieces in a
 * fixed buffer inside the struct, so it can be copied with memcpy (pieces are
 * offsets, not pointers), and a copy of its used bytes only (url_dup) works
 * for reading.
 *
 * What parsing does, as a browser does (WHATWG URL Standard, special schemes):
 *  - leading and trailing C0 controls and spaces are stripped, and every TAB,
 *    CR and LF removed (so none can reach a request line or a header);
 *  - '\' is read as '/' wherever '/' delimits; "http:h", "http:/h",
 *    "http:\\\\h" and "http:///h" all mean host h; against a base of the
 *    same scheme, "http:g" is relative;
 *  - the scheme is lowercased; a default port (80 for http, 443 for https) is
 *    dropped, leading zeros of a port too;
 *  - the host is percent-decoded, then mapped to ASCII by UTS #46 (libidn2,
 *    non-transitional) when it is not plain ASCII or has an xn-- label, else
 *    lowercased; a forbidden domain code point (space # % / : < > ? @ [ \ ] ^
 *    |, C0 controls, DEL) refuses it; a name whose last label is a number is an
 *    IPv4 address in any of its forms (127.1, 0x7f.1, 2130706433, octal 010),
 *    written as a dotted quad; an IPv6 literal is written in its canonical form
 *    (RFC 5952 compression, lowercase hex, no dotted tail);
 *  - "." and ".." path segments, also as %2e, are applied; an empty path
 *    becomes "/";
 *  - bytes are percent-encoded as %XX (uppercase hex) by the standard's sets:
 *    path: C0 controls, space, " # < > ? ` { } DEL and >= 0x80; query: C0,
 *    space, " # < > ' DEL and >= 0x80; fragment: C0, space, " < > ` DEL and
 *    >= 0x80; userinfo: the userinfo set. '%' is never re-encoded;
 *  - empty credentials are dropped ("http://:@h/" is "http://h/").
 * Where guise departs from the standard (tests/unit/http/test_url_wpt.c lists
 * the WPT cases concerned):
 *  - port 0 is refused (nothing can be connected to on it);
 *  - a host name over DNS's limits (253 bytes, labels of 63) is refused: it
 *    could not be resolved;
 *  - libidn2 checks IDNA2008's code point table (RFC 5892), stricter than
 *    UTS #46 for symbols (U+2603 is refused; Chrome gives xn--n3h) and for
 *    hyphens at the start or end of a non-ASCII label;
 *  - IPv6 zone identifiers ("[fe80::1%25eth0]") are refused, as the standard
 *    does; IPv6 text is read with inet_pton;
 *  - only http and https are taken (any other scheme: GUISE_E_USAGE_URL_SCHEME).
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
 *                               an empty or invalid host (forbidden code
 *                               point, invalid IDNA name, a number that is
 *                               not an IPv4 address), an invalid IPv6
 *                               literal, a port outside 1..65535, a target
 *                               over URL_MAX_LEN once percent-encoded;
 *  GUISE_E_USAGE_INVALID_ARGUMENT  |u| or |s| is NULL.
 * On failure |*err| (when |err| is not NULL) says where and why, and |u| holds
 * nothing usable. |err->offset| is into |s| once its leading C0 controls and
 * spaces and its TAB/CR/LF are removed (into |s| itself when it has none).
 * |s| need not be NUL-terminated; a NUL inside is a byte like others
 * (percent-encoded in the path, refused in the host); nothing of it is kept.
 */
int url_parse(url *u, const char *s, size_t len, url_err *err);

/*
 * Resolves the reference |ref[0..ref_len-1]| against |base| by the WHATWG
 * basic URL parser with |base| as the base URL (scheme-relative "//h",
 * path-absolute "/p" or "\\p", relative "g", "?q", "#f", empty, or absolute),
 * into |out| (which may not be |base|). A reference with the base's scheme
 * and no "//" ("http:g") is relative, one with the other special scheme
 * ("https:g" against http) is absolute (host g), as browsers read them.
 *
 * Returns 0, or the errors of url_parse for the resolved URL (e.g.
 * GUISE_E_USAGE_URL_SCHEME for "ftp://x/" or "g:h"), with |err->offset| into
 * |ref| as url_parse's is into its string.
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
 * The bytes of |u| its pieces use: the fields, then |buf| up to the last
 * piece's NUL (a parsed URL of 60 bytes takes about 200, not sizeof(url)).
 * url_dup copies that many into a block of its own (malloc; NULL when out of
 * memory), or into |out| when |out| is not NULL and has |cap| >= url_size(u)
 * bytes. Such a copy is read-only for the accessors above, url_href, and as
 * url_resolve's |base|; never parse into it, never copy it by sizeof(url).
 */
size_t url_size(const url *u);
url *url_dup(const url *u, void *out, size_t cap);

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

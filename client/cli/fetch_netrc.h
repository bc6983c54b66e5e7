/*
 * fetch_netrc.h — -n, --netrc-file, --netrc-optional of `guise URL`: the login
 * and password of a host from a .netrc file, as curl 7.88 reads it: words split
 * by white space, a "quoted word" with \" \\ \n \r \t inside (curl 7.84+), '#'
 * at the start of a word making the rest of its line a comment, macdef bodies
 * (up to an empty line) skipped. Where curl goes on silently, guise refuses
 * naming FILE:LINE: a word over NETRC_MAX_TOKEN bytes (curl keeps up to its
 * 4,096-byte line and drops longer ones; guise cut them, sending wrong
 * credentials), a NUL byte, more than NETRC_MAX_MACHINES entries, a file over
 * NETRC_MAX_BYTES or a directory. curl's own parser error, a quoted word not
 * closed on its line, is refused as curl does (exit 26).
 *
 * The parser (fetch_netrc_parse) is I/O-free and reads through a CBS: fuzzed by
 * tests/fuzz/cli_netrc.c.
 */
#ifndef GUISE_CLI_FETCH_NETRC_H
#define GUISE_CLI_FETCH_NETRC_H

#include <stddef.h>

#include <openssl/bytestring.h>

#define NETRC_MAX_BYTES (1u << 20) /* a file of logins, not data */
#define NETRC_MAX_TOKEN 255        /* a host name, login or password */
#define NETRC_MAX_MACHINES 10000   /* "machine" and "default" entries */

/* "login:password" of |host| (the first "machine HOST", else "default") from
 * the text |in| into |out| (|cap| at least 2 * NETRC_MAX_TOKEN + 2): 1, 0 when
 * the text has none, -1 with |why| (the reason) and |*line| (its 1-based line). */
int fetch_netrc_parse(CBS *in, const char *host, char *out, size_t cap, size_t *line, char *why,
                      size_t why_len);

/* fetch_netrc_parse on the file |path|: 1, 0 when the file is missing (as curl,
 * nothing said) or has none, -1 with |why| ("FILE:LINE: reason", or "FILE:
 * reason" for a file that cannot be read). */
int fetch_netrc_lookup(const char *path, const char *host, char *out, size_t cap, char *why,
                       size_t why_len);

/* The host of |url| (no userinfo, no port, an IPv6 address without its
 * brackets) into |out|; 0, or -1 when the URL has credentials of its own. */
int fetch_url_host(const char *url, char *out, size_t cap);

#endif

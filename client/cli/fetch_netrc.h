/*
 * fetch_netrc.h — -n, --netrc-file, --netrc-optional of `guise URL`: the login
 * and password of a host from a .netrc file, as curl reads it.
 */
#ifndef GUISE_CLI_FETCH_NETRC_H
#define GUISE_CLI_FETCH_NETRC_H

#include <stddef.h>

/* "login:password" of |host| (the first "machine HOST", else "default";
 * macdef bodies skipped) into |out|: 1, or 0 when the file is missing (as curl,
 * nothing said), unreadable or has none. Read whole, at most 1 MiB. */
int fetch_netrc_lookup(const char *path, const char *host, char *out, size_t cap);

/* The host of |url| (no userinfo, no port, an IPv6 address without its
 * brackets) into |out|; 0, or -1 when the URL has credentials of its own. */
int fetch_url_host(const char *url, char *out, size_t cap);

#endif

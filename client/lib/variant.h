/*
 * variant.h — a variant: a profile loaded once, with its shapes and its TLS
 * context, for one (profile, ALPN narrowing, trust settings). Made and freed by
 * client.c (client_variant, client_variant_put in client_internal.h); read by
 * request.c (headers) and pool.c (what a connection's TLS and HTTP/2 look like).
 * Counted references: every request and every origin of the pool that uses it
 * holds one. A plain struct; includes no loop header. Not thread-safe.
 */
#ifndef GUISE_VARIANT_H
#define GUISE_VARIANT_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "h2.h"
#include "profile.h"
#include "tls_shape.h"

typedef struct variant {
  struct variant *next;
  int refs;
  char *key;            /* "profile|http_version|insecure|cafile" */
  char *profile_arg;    /* the profile as asked for (name or file), "" for none */
  profile *prof;        /* NULL: no profile */
  const char *name;     /* profile name for the TLS session key, "" for none */
  tls_shape tls;
  h2_shape h2;
  int http_version;
  int insecure;
  char *cafile;
  SSL_CTX *ctx;         /* made with the first https request */
  /* The profile's HTTP/2 navigation headers as sent when a request adds none:
   * connection-specific fields and Host dropped (RFC 9113 8.2.2), pointing into
   * |prof|. Made once, used by every such request. */
  h2_header h2_nav[PROFILE_MAX_HEADERS];
  size_t n_h2_nav;
  int h2_nav_ok;        /* |h2_nav| passed h2_headers_check() */
} variant;

#endif

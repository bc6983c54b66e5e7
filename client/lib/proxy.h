/*
 * proxy.h — proxies in front of a connection: the proxy URL, and the tunnel
 * handshake as a byte-in, byte-out machine (no I/O here; filter_proxy.c drives
 * it as a filter of the connection's chain).
 *
 *   http://   HTTP CONNECT (RFC 9110 9.3.6), Basic credentials (RFC 7617)
 *   socks5h:// SOCKS5 (RFC 1928), the proxy resolves the name
 *   socks5:// SOCKS5, the name resolved here and the address sent
 *   user/password for SOCKS5: RFC 1929
 *   socks4a:// SOCKS4A, the proxy resolves; socks4:// SOCKS4, IPv4 resolved here
 *              (the user name, if any, is the USERID field; no password exists)
 *   https://  TLS to the proxy (a filter_tls.c instance), then HTTP CONNECT inside it
 */
#ifndef GUISE_PROXY_H
#define GUISE_PROXY_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

typedef enum proxy_kind {
  PROXY_NONE = 0,
  PROXY_HTTP,
  PROXY_SOCKS5,
  PROXY_SOCKS5H,
  PROXY_SOCKS4,
  PROXY_SOCKS4A,
  PROXY_HTTPS
} proxy_kind;

/* Field caps: RFC 1929 limits SOCKS user names and passwords to 255 bytes. */
#define PROXY_MAX_HOST 255
#define PROXY_MAX_CRED 255
/* The largest CONNECT response head read; more is a protocol error. */
#define PROXY_MAX_REPLY 8192
/* The most bytes a handshake step writes (a CONNECT with Basic credentials). */
#define PROXY_MAX_OUT 1536

typedef struct proxy_cfg {
  proxy_kind kind;
  char host[PROXY_MAX_HOST + 1]; /* name or IP literal, without brackets */
  uint16_t port;
  int has_auth;
  char user[PROXY_MAX_CRED + 1], pass[PROXY_MAX_CRED + 1];
} proxy_cfg;

/* Parses curl's proxy URL form, scheme://[user[:password]@]host[:port][/]:
 * http, https, socks4, socks4a, socks5, socks5h; credentials percent-decoded;
 * port 1080 by default (curl's rule for every scheme, https included).
 * Returns 0, or GUISE_E_USAGE_URL_SCHEME / GUISE_E_USAGE_URL_MALFORMED. */
int proxy_parse(const char *url, proxy_cfg *out);

typedef struct proxy_hs {
  const proxy_cfg *cfg;
  int state;
  char host[PROXY_MAX_HOST + 1]; /* the origin's host (CONNECT, SOCKS5h) */
  uint16_t port;
  uint8_t addr[16];              /* SOCKS5 with local resolution */
  size_t addr_len;               /* 4 or 16; 0: send |host| */
  uint8_t in[PROXY_MAX_REPLY];
  size_t in_len;
  int http_status;               /* the CONNECT answer's status, for messages */
  int socks_reply;               /* the SOCKS5 REP field, for messages */
} proxy_hs;

/* Starts the handshake towards |host|:|port| (|target|, when not NULL, is the
 * resolved address for SOCKS5). Writes the first bytes to send to |out|
 * (|cap| >= PROXY_MAX_OUT), their count to |*n|. Returns 0 or a GUISE_E_* code. */
int proxy_hs_begin(proxy_hs *h, const proxy_cfg *cfg, const char *host, uint16_t port,
                   const struct sockaddr *target, uint8_t *out, size_t cap, size_t *n);

/* Feeds |len| bytes from the proxy. Returns 0 (more is needed; |*n| bytes of
 * |out| to send first, maybe none), 1 (the tunnel is up: |*used| bytes were the
 * proxy's, the rest belong to the tunnel), or a GUISE_E_PROXY_* code. */
int proxy_hs_feed(proxy_hs *h, const uint8_t *data, size_t len, size_t *used, uint8_t *out,
                  size_t cap, size_t *n);

#endif

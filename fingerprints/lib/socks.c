/* SOCKS client handshakes, read from the client's bytes alone so that a capture's TLS
 * inside a SOCKS tunnel is found where it starts:
 *
 *   SOCKS5 (RFC 1928 §3, §4): greeting VER=5 NMETHODS METHODS; then, if the server chose
 *     username/password (RFC 1929 §2: VER=1 ULEN UNAME PLEN PASSWD — recognised by its
 *     version byte 1 where a request has 5), that; then the request VER=5 CMD RSV=0 ATYP
 *     DST.ADDR DST.PORT.
 *   SOCKS4 (and 4a): VER=4 CD DSTPORT DSTIP USERID NUL [HOST NUL when DSTIP is 0.0.0.x].
 *
 * The password is skipped, never kept. Every byte is read through CBS. */
#include "guise_fp.h"

#include <openssl/bytestring.h>

#include <string.h>

enum {
  SOCKS_MAX_STRING = 255 /* SOCKS4 USERID / 4a host: no limit in the memo; a bound here */
};

static gfp_status socks_error(gfp_socks *s, const CBS *at, const uint8_t *base,
                              const char *reason) {
  s->err_offset = (size_t)(CBS_data(at) - base);
  s->err_reason = reason;
  return GFP_ERROR;
}

/* A NUL-terminated string of at most SOCKS_MAX_STRING bytes (SOCKS4 USERID, 4a host).
 * Returns 1 done, 0 need more, -1 too long. */
static int get_cstring(CBS *in, CBS *out) {
  size_t room = CBS_len(in) < SOCKS_MAX_STRING + 1 ? CBS_len(in) : SOCKS_MAX_STRING + 1;
  const uint8_t *nul = memchr(CBS_data(in), 0, room);
  if (nul == NULL) return CBS_len(in) > SOCKS_MAX_STRING ? -1 : 0;
  size_t n = (size_t)(nul - CBS_data(in));
  if (!CBS_get_bytes(in, out, n) || !CBS_skip(in, 1)) return 0;
  return 1;
}

static gfp_status socks4(gfp_socks *s, CBS *in, const uint8_t *base) {
  const CBS at = *in;
  uint8_t ver, cd;
  uint32_t ip;
  if (!CBS_get_u8(in, &ver) || !CBS_get_u8(in, &cd) || !CBS_get_u16(in, &s->port) ||
      !CBS_get_u32(in, &ip))
    return GFP_NEED_MORE;
  if (cd != 1 && cd != 2)
    return socks_error(s, &at, base, "SOCKS4 command is neither CONNECT (1) nor BIND (2)");
  s->version = 4;
  s->command = cd;
  s->greeting_len = 8;
  CBS user, host;
  int r = get_cstring(in, &user);
  if (r < 0) return socks_error(s, in, base, "SOCKS4 USERID longer than 255 bytes");
  if (r == 0) return GFP_NEED_MORE;
  s->username_len = CBS_len(&user);
  /* SOCKS4a: DSTIP 0.0.0.x, x != 0, means "the host name follows the USERID". */
  if ((ip >> 8) == 0 && ip != 0) {
    r = get_cstring(in, &host);
    if (r < 0) return socks_error(s, in, base, "SOCKS4a host name longer than 255 bytes");
    if (r == 0) return GFP_NEED_MORE;
    if (CBS_len(&host) == 0) return socks_error(s, &host, base, "empty SOCKS4a host name");
    s->atyp = 3;
    memcpy(s->host, CBS_data(&host), CBS_len(&host));
    s->host[CBS_len(&host)] = '\0';
    s->host_len = CBS_len(&host);
  } else {
    s->atyp = 1;
    s->host[0] = (uint8_t)(ip >> 24);
    s->host[1] = (uint8_t)(ip >> 16);
    s->host[2] = (uint8_t)(ip >> 8);
    s->host[3] = (uint8_t)ip;
    s->host_len = 4;
  }
  s->len = (size_t)(CBS_data(in) - base);
  return GFP_DONE;
}

static gfp_status socks5(gfp_socks *s, CBS *in, const uint8_t *base) {
  uint8_t ver, n;
  CBS methods;
  if (!CBS_get_u8(in, &ver) || !CBS_get_u8(in, &n)) return GFP_NEED_MORE;
  if (n == 0) /* RFC 1928 §3: METHODS is 1 to 255 octets */
    return socks_error(s, in, base, "SOCKS5 greeting offers no method");
  if (!CBS_get_bytes(in, &methods, n)) return GFP_NEED_MORE;
  s->version = 5;
  memcpy(s->methods, CBS_data(&methods), n);
  s->method_count = n;
  s->greeting_len = 2 + (size_t)n;
  bool offers_userpass = memchr(s->methods, 2, n) != NULL;

  uint8_t next;
  if (!CBS_get_u8(in, &next)) return GFP_NEED_MORE;
  if (next == 1) {
    /* RFC 1929 §2: only after the server chose method 2, which the client offered. */
    const CBS at = *in;
    CBS user, pass;
    if (!offers_userpass)
      return socks_error(s, &at, base,
                         "SOCKS5 sub-negotiation for a method the greeting did not offer");
    if (!CBS_get_u8_length_prefixed(in, &user) || !CBS_get_u8_length_prefixed(in, &pass))
      return GFP_NEED_MORE;
    s->userpass = true;
    s->username_len = CBS_len(&user);
    if (!CBS_get_u8(in, &next)) return GFP_NEED_MORE;
  }
  CBS req_at;
  CBS_init(&req_at, CBS_data(in) - 1, CBS_len(in) + 1);
  if (next != 5)
    return socks_error(s, &req_at, base, "SOCKS5 request does not start with version 5");
  uint8_t cmd, rsv, atyp;
  if (!CBS_get_u8(in, &cmd) || !CBS_get_u8(in, &rsv) || !CBS_get_u8(in, &atyp))
    return GFP_NEED_MORE;
  if (cmd < 1 || cmd > 3)
    return socks_error(s, &req_at, base, "SOCKS5 request command is not 1, 2 or 3");
  if (rsv != 0) return socks_error(s, &req_at, base, "SOCKS5 request reserved byte is not 0");
  CBS addr;
  switch (atyp) {
  case 1:
    if (!CBS_get_bytes(in, &addr, 4)) return GFP_NEED_MORE;
    break;
  case 3:
    if (!CBS_get_u8_length_prefixed(in, &addr)) return GFP_NEED_MORE;
    if (CBS_len(&addr) == 0) return socks_error(s, &addr, base, "empty SOCKS5 domain name");
    break;
  case 4:
    if (!CBS_get_bytes(in, &addr, 16)) return GFP_NEED_MORE;
    break;
  default:
    return socks_error(s, &req_at, base, "SOCKS5 address type is not 1, 3 or 4");
  }
  if (!CBS_get_u16(in, &s->port)) return GFP_NEED_MORE;
  s->command = cmd;
  s->atyp = atyp;
  memcpy(s->host, CBS_data(&addr), CBS_len(&addr));
  s->host[CBS_len(&addr)] = '\0';
  s->host_len = CBS_len(&addr);
  s->len = (size_t)(CBS_data(in) - base);
  return GFP_DONE;
}

gfp_status gfp_socks_parse(gfp_socks *s, const uint8_t *data, size_t len) {
  memset(s, 0, sizeof(*s));
  if (len == 0) return GFP_NEED_MORE;
  CBS in;
  CBS_init(&in, data, len);
  if (data[0] == 4) return socks4(s, &in, data);
  if (data[0] == 5) return socks5(s, &in, data);
  return socks_error(s, &in, data, "not a SOCKS client handshake (version 4 or 5)");
}

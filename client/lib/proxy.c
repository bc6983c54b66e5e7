/*
 * proxy.c — proxy URLs and tunnel handshakes (proxy.h). The proxy's bytes are
 * untrusted: they are read through CBS, and the CONNECT answer is capped at
 * PROXY_MAX_REPLY bytes.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/base64.h>
#include <openssl/bytestring.h>

#include "guise.h"
#include "url.h"

enum {
  HS_HTTP_REPLY = 1,   /* CONNECT sent, reading the answer's head */
  HS_SOCKS_METHOD,     /* greeting sent, reading the chosen method */
  HS_SOCKS_AUTH,       /* RFC 1929 credentials sent, reading the verdict */
  HS_SOCKS_REPLY,      /* request sent, reading the reply */
  HS_SOCKS4_REPLY,     /* SOCKS4 request sent, reading the 8-byte reply */
  HS_DONE
};

int proxy_parse(const char *spec, proxy_cfg *out) {
  memset(out, 0, sizeof(*out));
  const char *sep = strstr(spec, "://");
  if (sep == NULL) return GUISE_E_USAGE_URL_MALFORMED;
  size_t sl = (size_t)(sep - spec);
  if (sl == 4 && strncasecmp(spec, "http", 4) == 0) out->kind = PROXY_HTTP;
  else if (sl == 6 && strncasecmp(spec, "socks5", 6) == 0) out->kind = PROXY_SOCKS5;
  else if (sl == 7 && strncasecmp(spec, "socks5h", 7) == 0) out->kind = PROXY_SOCKS5H;
  else if (sl == 6 && strncasecmp(spec, "socks4", 6) == 0) out->kind = PROXY_SOCKS4;
  else if (sl == 7 && strncasecmp(spec, "socks4a", 7) == 0) out->kind = PROXY_SOCKS4A;
  else if (sl == 5 && strncasecmp(spec, "https", 5) == 0) out->kind = PROXY_HTTPS;
  else return GUISE_E_USAGE_URL_SCHEME;
  /* The rest is an http URL's authority: url.c parses and decodes it. */
  char text[URL_MAX_LEN + 8];
  if (snprintf(text, sizeof(text), "http%s", sep) >= (int)sizeof(text)) return GUISE_E_USAGE_URL_MALFORMED;
  url u; /* 16 KiB: url.c's own cap */
  int e = url_parse(&u, text, strlen(text), NULL);
  if (e) return e;
  if (strcmp(url_target(&u), "/") != 0 || u.has_query || u.has_fragment) return GUISE_E_USAGE_URL_MALFORMED;
  const char *host = url_host(&u);
  if (strlen(host) > PROXY_MAX_HOST) return GUISE_E_USAGE_URL_MALFORMED;
  snprintf(out->host, sizeof(out->host), "%s", host);
  /* curl's default port for every proxy scheme is 1080; url.c fills in 80 for
   * http, so a port is taken only when the authority names one. */
  const char *auth = sep + 3, *end = auth + strcspn(auth, "/?#"), *at = NULL;
  for (const char *q = auth; q < end; q++)
    if (*q == '@') at = q;
  const char *hostpart = at ? at + 1 : auth, *rb = memchr(hostpart, ']', (size_t)(end - hostpart));
  out->port = memchr(rb ? rb : hostpart, ':', (size_t)(end - (rb ? rb : hostpart))) ? u.port : 1080;
  if (u.has_userinfo) {
    size_t ul, pl;
    if (url_userinfo(&u, 0, 1, out->user, sizeof(out->user), &ul) != 0 ||
        url_userinfo(&u, 1, 1, out->pass, sizeof(out->pass), &pl) != 0 || strlen(out->user) != ul ||
        strlen(out->pass) != pl)
      return GUISE_E_USAGE_URL_MALFORMED; /* malformed, too long, or a NUL inside */
    out->has_auth = 1;
  }
  return 0;
}

/* "host:port", IPv6 literals in brackets (RFC 9110 9.3.6: authority-form). */
static void authority(const proxy_hs *h, char *out, size_t cap) {
  if (strchr(h->host, ':')) snprintf(out, cap, "[%s]:%u", h->host, h->port);
  else snprintf(out, cap, "%s:%u", h->host, h->port);
}

static int http_begin(proxy_hs *h, uint8_t *out, size_t cap, size_t *n) {
  char auth[PROXY_MAX_HOST + 16];
  authority(h, auth, sizeof(auth));
  int k = snprintf((char *)out, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", auth, auth);
  if (k < 0 || (size_t)k >= cap) return GUISE_E_INTERNAL;
  size_t o = (size_t)k;
  if (h->cfg->has_auth) {
    char cred[2 * PROXY_MAX_CRED + 2];
    int cl = snprintf(cred, sizeof(cred), "%s:%s", h->cfg->user, h->cfg->pass);
    uint8_t b64[4 * ((sizeof(cred) + 2) / 3) + 1];
    size_t bl = EVP_EncodeBlock(b64, (const uint8_t *)cred, (size_t)cl);
    k = snprintf((char *)out + o, cap - o, "Proxy-Authorization: Basic %.*s\r\n", (int)bl, (const char *)b64);
    if (k < 0 || (size_t)k >= cap - o) return GUISE_E_INTERNAL;
    o += (size_t)k;
  }
  if (o + 2 > cap) return GUISE_E_INTERNAL;
  memcpy(out + o, "\r\n", 2);
  *n = o + 2;
  h->state = HS_HTTP_REPLY;
  return 0;
}

/* SOCKS4 (the 1992 NEC protocol, socks4.protocol) and its 4A extension:
 * VN=4 CD=1 DSTPORT DSTIP USERID NUL [host NUL]; 4A sends 0.0.0.1 and the name. */
static int socks4_begin(proxy_hs *h, const struct sockaddr *target, uint8_t *out, size_t cap, size_t *n) {
  size_t ul = strlen(h->cfg->user), hl = strlen(h->host), o = 0;
  if (9 + ul + hl + 1 > cap) return GUISE_E_USAGE_INVALID_ARGUMENT;
  out[o++] = 4, out[o++] = 1;
  out[o++] = (uint8_t)(h->port >> 8), out[o++] = (uint8_t)h->port;
  uint8_t v4[4];
  int literal = inet_pton(AF_INET, h->host, v4) == 1;
  if (h->cfg->kind == PROXY_SOCKS4) {
    if (target == NULL || target->sa_family != AF_INET) return GUISE_E_PROXY_SOCKS_UNSUPPORTED; /* IPv4 only */
    memcpy(out + o, &((const struct sockaddr_in *)target)->sin_addr, 4);
  } else if (literal) {
    memcpy(out + o, v4, 4);
  } else {
    out[o] = 0, out[o + 1] = 0, out[o + 2] = 0, out[o + 3] = 1;
  }
  o += 4;
  memcpy(out + o, h->cfg->user, ul);
  o += ul;
  out[o++] = 0;
  if (h->cfg->kind == PROXY_SOCKS4A && !literal) {
    memcpy(out + o, h->host, hl);
    o += hl;
    out[o++] = 0;
  }
  *n = o;
  h->state = HS_SOCKS4_REPLY;
  return 0;
}

int proxy_hs_begin(proxy_hs *h, const proxy_cfg *cfg, const char *host, uint16_t port,
                   const struct sockaddr *target, uint8_t *out, size_t cap, size_t *n) {
  memset(h, 0, sizeof(*h));
  h->cfg = cfg;
  h->port = port;
  *n = 0;
  if (strlen(host) > PROXY_MAX_HOST || cap < PROXY_MAX_OUT) return GUISE_E_USAGE_INVALID_ARGUMENT;
  snprintf(h->host, sizeof(h->host), "%s", host);
  if (cfg->kind == PROXY_HTTP || cfg->kind == PROXY_HTTPS) return http_begin(h, out, cap, n);
  if (cfg->kind == PROXY_SOCKS4 || cfg->kind == PROXY_SOCKS4A) return socks4_begin(h, target, out, cap, n);
  if (cfg->kind == PROXY_SOCKS5) {
    /* Local resolution: the address, or an IP literal as one. */
    if (target && target->sa_family == AF_INET) {
      memcpy(h->addr, &((const struct sockaddr_in *)target)->sin_addr, 4);
      h->addr_len = 4;
    } else if (target && target->sa_family == AF_INET6) {
      memcpy(h->addr, &((const struct sockaddr_in6 *)target)->sin6_addr, 16);
      h->addr_len = 16;
    } else {
      return GUISE_E_USAGE_INVALID_ARGUMENT;
    }
  } else if (cfg->kind == PROXY_SOCKS5H) {
    if (inet_pton(AF_INET, host, h->addr) == 1) h->addr_len = 4;
    else if (inet_pton(AF_INET6, host, h->addr) == 1) h->addr_len = 16;
  } else {
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  /* RFC 1928 3: VER, NMETHODS, METHODS (0: none, 2: user/password, RFC 1929). */
  out[0] = 5;
  if (cfg->has_auth) {
    out[1] = 2, out[2] = 0, out[3] = 2;
    *n = 4;
  } else {
    out[1] = 1, out[2] = 0;
    *n = 3;
  }
  h->state = HS_SOCKS_METHOD;
  return 0;
}

/* RFC 1928 4: VER CMD RSV ATYP DST.ADDR DST.PORT. */
static size_t socks_request(const proxy_hs *h, uint8_t *out) {
  size_t o = 0;
  out[o++] = 5, out[o++] = 1, out[o++] = 0;
  if (h->addr_len) {
    out[o++] = h->addr_len == 4 ? 1 : 4;
    memcpy(out + o, h->addr, h->addr_len);
    o += h->addr_len;
  } else {
    size_t l = strlen(h->host);
    out[o++] = 3, out[o++] = (uint8_t)l;
    memcpy(out + o, h->host, l);
    o += l;
  }
  out[o++] = (uint8_t)(h->port >> 8), out[o++] = (uint8_t)h->port;
  return o;
}

/* RFC 1928 6: REP codes 1..8. */
static int socks_error(int rep) {
  switch (rep) {
    case 1: return GUISE_E_PROXY_SOCKS_GENERAL;
    case 2: return GUISE_E_PROXY_SOCKS_NOT_ALLOWED;
    case 3: return GUISE_E_PROXY_SOCKS_NET_UNREACHABLE;
    case 4: return GUISE_E_PROXY_SOCKS_HOST_UNREACHABLE;
    case 5: return GUISE_E_PROXY_SOCKS_REFUSED;
    case 6: return GUISE_E_PROXY_SOCKS_TTL_EXPIRED;
    case 7:
    case 8: return GUISE_E_PROXY_SOCKS_UNSUPPORTED;
    default: return GUISE_E_PROXY_PROTOCOL;
  }
}

/* The CONNECT answer's head is complete in |h->in| up to |head| bytes. */
static int http_reply(proxy_hs *h, size_t head) {
  CBS cbs;
  CBS_init(&cbs, h->in, head);
  /* Status line: HTTP/1.x SP 3DIGIT ... (RFC 9112 4). */
  uint8_t v[9];
  if (!CBS_copy_bytes(&cbs, v, sizeof(v)) || memcmp(v, "HTTP/1.", 7) != 0 || (v[7] != '0' && v[7] != '1') ||
      v[8] != ' ')
    return GUISE_E_PROXY_PROTOCOL;
  uint8_t d[3];
  if (!CBS_copy_bytes(&cbs, d, 3)) return GUISE_E_PROXY_PROTOCOL;
  for (int i = 0; i < 3; i++)
    if (d[i] < '0' || d[i] > '9') return GUISE_E_PROXY_PROTOCOL;
  h->http_status = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
  if (h->http_status >= 200 && h->http_status < 300) return 1;
  /* 407 (RFC 9110 15.5.8); tinyproxy answers 401 to wrong credentials: for a
   * CONNECT the origin has not seen anything, so both are the proxy's. */
  if (h->http_status == 407 || h->http_status == 401)
    return h->cfg->has_auth ? GUISE_E_PROXY_AUTH_FAILED : GUISE_E_PROXY_AUTH_REQUIRED;
  return GUISE_E_PROXY_CONNECT_REJECTED;
}

int proxy_hs_feed(proxy_hs *h, const uint8_t *data, size_t len, size_t *used, uint8_t *out,
                  size_t cap, size_t *n) {
  *n = 0;
  *used = 0;
  if (h->state == HS_DONE || h->state == 0) return GUISE_E_INTERNAL;
  /* |h->in| holds at most one unfinished answer; a step that needs an answer
   * from us leaves nothing behind (a proxy does not speak before it is asked). */
  size_t before = h->in_len;
  size_t take = len < sizeof(h->in) - before ? len : sizeof(h->in) - before;
  memcpy(h->in + before, data, take);
  h->in_len += take;
  CBS cbs;
  CBS_init(&cbs, h->in, h->in_len);
  size_t consumed = 0;
  int done = 0;
  if (h->state == HS_HTTP_REPLY) {
    size_t head = 0;
    for (size_t i = before > 3 ? before - 3 : 0; i + 4 <= h->in_len && head == 0; i++)
      if (memcmp(h->in + i, "\r\n\r\n", 4) == 0) head = i + 4;
    if (head == 0) goto more;
    int r = http_reply(h, head);
    if (r != 1) return r;
    consumed = head;
    done = 1;
  } else if (h->state == HS_SOCKS_METHOD) {
    uint8_t ver, method;
    if (!CBS_get_u8(&cbs, &ver) || !CBS_get_u8(&cbs, &method)) goto more;
    if (ver != 5) return GUISE_E_PROXY_PROTOCOL;
    consumed = 2;
    if (method == 0xff) return h->cfg->has_auth ? GUISE_E_PROXY_AUTH_FAILED : GUISE_E_PROXY_AUTH_REQUIRED;
    if (method == 2 && h->cfg->has_auth) {
      /* RFC 1929 2: VER=1 ULEN UNAME PLEN PASSWD. */
      size_t ul = strlen(h->cfg->user), pl = strlen(h->cfg->pass), o = 0;
      if (3 + ul + pl > cap) return GUISE_E_INTERNAL;
      out[o++] = 1;
      out[o++] = (uint8_t)ul;
      memcpy(out + o, h->cfg->user, ul);
      o += ul;
      out[o++] = (uint8_t)pl;
      memcpy(out + o, h->cfg->pass, pl);
      o += pl;
      *n = o;
      h->state = HS_SOCKS_AUTH;
    } else if (method == 0) {
      *n = socks_request(h, out);
      h->state = HS_SOCKS_REPLY;
    } else {
      return GUISE_E_PROXY_PROTOCOL; /* a method that was not offered */
    }
  } else if (h->state == HS_SOCKS_AUTH) {
    uint8_t ver, status;
    if (!CBS_get_u8(&cbs, &ver) || !CBS_get_u8(&cbs, &status)) goto more;
    if (ver != 1) return GUISE_E_PROXY_PROTOCOL;
    if (status != 0) return GUISE_E_PROXY_AUTH_FAILED;
    consumed = 2;
    *n = socks_request(h, out);
    h->state = HS_SOCKS_REPLY;
  } else if (h->state == HS_SOCKS4_REPLY) {
    /* VN=0 CD DSTPORT DSTIP: 90 granted, 91 rejected or failed, 92/93 identd */
    uint8_t vn, cd;
    if (!CBS_get_u8(&cbs, &vn) || !CBS_get_u8(&cbs, &cd) || !CBS_skip(&cbs, 6)) goto more;
    if (vn != 0) return GUISE_E_PROXY_PROTOCOL;
    h->socks_reply = cd;
    if (cd == 91) return GUISE_E_PROXY_CONNECT_REJECTED;
    if (cd == 92 || cd == 93) return GUISE_E_PROXY_AUTH_FAILED;
    if (cd != 90) return GUISE_E_PROXY_PROTOCOL;
    consumed = 8;
    done = 1;
  } else if (h->state == HS_SOCKS_REPLY) {
    uint8_t ver, rep, rsv, atyp, l = 0;
    if (!CBS_get_u8(&cbs, &ver) || !CBS_get_u8(&cbs, &rep)) goto more;
    if (ver != 5) return GUISE_E_PROXY_PROTOCOL;
    h->socks_reply = rep;
    if (rep != 0) return socks_error(rep);
    if (!CBS_get_u8(&cbs, &rsv) || !CBS_get_u8(&cbs, &atyp)) goto more;
    size_t alen;
    if (atyp == 1) alen = 4;
    else if (atyp == 4) alen = 16;
    else if (atyp == 3) {
      if (!CBS_get_u8(&cbs, &l)) goto more;
      alen = l;
    } else {
      return GUISE_E_PROXY_PROTOCOL;
    }
    if (!CBS_skip(&cbs, alen + 2)) goto more; /* BND.ADDR, BND.PORT */
    consumed = h->in_len - CBS_len(&cbs);
    done = 1;
  }
  /* The step ends in this call's bytes: an earlier call would have finished it. */
  if (done) {
    h->state = HS_DONE;
    *used = consumed - before;
    return 1;
  }
  if (h->in_len > consumed) return GUISE_E_PROXY_PROTOCOL; /* spoke before being asked */
  h->in_len = 0;
  *used = take;
  return take < len ? GUISE_E_PROXY_PROTOCOL : 0;
more:
  if (h->in_len == sizeof(h->in)) return GUISE_E_PROXY_PROTOCOL; /* answer too large */
  *used = take;
  return 0;
}

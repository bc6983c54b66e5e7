/*
 * test_proxy_handshake.c — proxy URLs (curl's forms) and the exact bytes of
 * the tunnel handshakes: RFC 9110 9.3.6 CONNECT with RFC 7617 Basic
 * credentials, RFC 1928 SOCKS5 and RFC 1929 user/password, byte by byte.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/gtest_check.h"
#include "guise.h"
#include "proxy.h"

int main(void) {
  proxy_cfg c;
  CHECK_MSG(proxy_parse("http://proxy.test", &c) == 0 && c.kind == PROXY_HTTP && c.port == 1080 &&
            !strcmp(c.host, "proxy.test") && !c.has_auth, "plain http");
  CHECK_MSG(proxy_parse("SOCKS5H://u%40x:p%3Aw%25@[::1]:9050/", &c) == 0 && c.kind == PROXY_SOCKS5H &&
            !strcmp(c.host, "::1") && c.port == 9050 && !strcmp(c.user, "u@x") && !strcmp(c.pass, "p:w%"),
        "socks5h, IPv6, percent-decoded credentials: %s %s %s", c.host, c.user, c.pass);
  CHECK_MSG(proxy_parse("socks5://user@10.0.0.1:1", &c) == 0 && c.has_auth && !strcmp(c.pass, ""), "user only");
  CHECK_MSG(proxy_parse("ftp://x", &c) == GUISE_E_USAGE_URL_SCHEME, "scheme");
  CHECK_MSG(proxy_parse("socks4a://id@proxy.test", &c) == 0 && c.kind == PROXY_SOCKS4A && c.port == 1080 &&
            !strcmp(c.user, "id"), "socks4a with a user id");
  CHECK_MSG(proxy_parse("https://proxy.test:8443", &c) == 0 && c.kind == PROXY_HTTPS && c.port == 8443, "https proxy");
  {
    /* SOCKS4A (the 4A extension text): VN=4 CD=1 DSTPORT=443 DSTIP=0.0.0.1
     * USERID "id" NUL, then the name NUL; the reply VN=0 CD=90 grants. */
    proxy_cfg s4;
    proxy_parse("socks4a://id@127.0.0.1:1080", &s4);
    proxy_hs h;
    uint8_t out[PROXY_MAX_OUT];
    size_t n = 0, used = 0;
    CHECK_MSG(proxy_hs_begin(&h, &s4, "example.test", 443, NULL, out, sizeof(out), &n) == 0, "socks4a begin");
    static const uint8_t want[] = {4, 1, 0x01, 0xbb, 0, 0, 0, 1, 'i', 'd', 0,
                                   'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 't', 'e', 's', 't', 0};
    CHECK_MSG(n == sizeof(want) && memcmp(out, want, n) == 0, "socks4a request bytes (%zu)", n);
    static const uint8_t granted[] = {0, 90, 0, 0, 0, 0, 0, 0};
    CHECK_MSG(proxy_hs_feed(&h, granted, sizeof(granted), &used, out, sizeof(out), &n) == 1 && used == 8, "granted");
    proxy_hs_begin(&h, &s4, "example.test", 443, NULL, out, sizeof(out), &n);
    static const uint8_t rejected[] = {0, 91, 0, 0, 0, 0, 0, 0};
    CHECK_MSG(proxy_hs_feed(&h, rejected, 8, &used, out, sizeof(out), &n) == GUISE_E_PROXY_CONNECT_REJECTED, "91");
    proxy_hs_begin(&h, &s4, "example.test", 443, NULL, out, sizeof(out), &n);
    static const uint8_t identd[] = {0, 92, 0, 0, 0, 0, 0, 0};
    CHECK_MSG(proxy_hs_feed(&h, identd, 8, &used, out, sizeof(out), &n) == GUISE_E_PROXY_AUTH_FAILED, "92");
    /* SOCKS4: the resolved IPv4 address, no name; IPv6 is refused */
    proxy_parse("socks4://127.0.0.1:1080", &s4);
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    a4.sin_addr.s_addr = htonl(0x0a000001);
    CHECK_MSG(proxy_hs_begin(&h, &s4, "example.test", 80, (struct sockaddr *)&a4, out, sizeof(out), &n) == 0 && n == 9 &&
              out[0] == 4 && out[1] == 1 && out[2] == 0 && out[3] == 80 && out[4] == 10 && out[7] == 1 && out[8] == 0,
          "socks4 request bytes");
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    CHECK_MSG(proxy_hs_begin(&h, &s4, "example.test", 80, (struct sockaddr *)&a6, out, sizeof(out), &n) ==
              GUISE_E_PROXY_SOCKS_UNSUPPORTED, "socks4 refuses IPv6");
  }
  CHECK_MSG(proxy_parse("http://x:0", &c) == GUISE_E_USAGE_URL_MALFORMED, "port 0");
  CHECK_MSG(proxy_parse("http://x:65536", &c) == GUISE_E_USAGE_URL_MALFORMED, "port too large");
  CHECK_MSG(proxy_parse("http://x/path", &c) == GUISE_E_USAGE_URL_MALFORMED, "a path");
  CHECK_MSG(proxy_parse("http://u:%0@x", &c) == GUISE_E_USAGE_URL_MALFORMED, "bad escape");
  CHECK_MSG(proxy_parse("http://u:%00@x", &c) == GUISE_E_USAGE_URL_MALFORMED, "NUL escape");
  CHECK_MSG(proxy_parse("http://", &c) == GUISE_E_USAGE_URL_MALFORMED, "no host");
  CHECK_MSG(proxy_parse("x", &c) == GUISE_E_USAGE_URL_MALFORMED, "no scheme");

  /* CONNECT: authority-form, Host, Basic base64("Aladdin:open sesame") from RFC 7617 2. */
  static proxy_hs h;
  uint8_t out[PROXY_MAX_OUT];
  size_t n, used;
  proxy_parse("http://Aladdin:open%20sesame@p:3128", &c);
  CHECK_MSG(proxy_hs_begin(&h, &c, "::1", 443, NULL, out, sizeof(out), &n) == 0, "begin");
  static const char want[] =
      "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n"
      "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n";
  CHECK_MSG(n == strlen(want) && !memcmp(out, want, n), "CONNECT bytes: %.*s", (int)n, (const char *)out);
  static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03";
  /* Byte by byte: nothing finishes before the blank line; the two TLS bytes after it are not the proxy's. */
  int r = 0;
  size_t i;
  for (i = 0; i < sizeof(ok) - 1 && r == 0; i++) r = proxy_hs_feed(&h, (const uint8_t *)ok + i, 1, &used, out, sizeof(out), &n);
  CHECK_MSG(r == 1 && i == sizeof(ok) - 3, "CONNECT done at the blank line (r=%d i=%zu)", r, i);
  proxy_hs_begin(&h, &c, "a.test", 443, NULL, out, sizeof(out), &n);
  r = proxy_hs_feed(&h, (const uint8_t *)ok, sizeof(ok) - 1, &used, out, sizeof(out), &n);
  CHECK_MSG(r == 1 && used == sizeof(ok) - 3, "CONNECT whole: used %zu", used);
  proxy_hs_begin(&h, &c, "a.test", 443, NULL, out, sizeof(out), &n);
  static const char denied[] = "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n";
  CHECK_MSG(proxy_hs_feed(&h, (const uint8_t *)denied, strlen(denied), &used, out, sizeof(out), &n) ==
            GUISE_E_PROXY_AUTH_FAILED, "407 with credentials");
  proxy_hs_begin(&h, &c, "a.test", 443, NULL, out, sizeof(out), &n);
  static const char forbidden[] = "HTTP/1.0 403 Forbidden\r\n\r\n";
  CHECK_MSG(proxy_hs_feed(&h, (const uint8_t *)forbidden, strlen(forbidden), &used, out, sizeof(out), &n) ==
            GUISE_E_PROXY_CONNECT_REJECTED && h.http_status == 403, "403");
  /* An endless head: refused at PROXY_MAX_REPLY, never buffered past it. */
  proxy_hs_begin(&h, &c, "a.test", 443, NULL, out, sizeof(out), &n);
  static uint8_t junk[PROXY_MAX_REPLY + 10];
  memcpy(junk, "HTTP/1.1 200 OK\r\n", 17);
  memset(junk + 17, 'a', sizeof(junk) - 17);
  CHECK_MSG(proxy_hs_feed(&h, junk, sizeof(junk), &used, out, sizeof(out), &n) == GUISE_E_PROXY_PROTOCOL, "cap");

  /* SOCKS5 with user/password, the name sent (socks5h). */
  proxy_parse("socks5h://guise:pw@127.0.0.1", &c);
  CHECK_MSG(proxy_hs_begin(&h, &c, "localhost", 8443, NULL, out, sizeof(out), &n) == 0 && n == 4 &&
            !memcmp(out, "\x05\x02\x00\x02", 4), "greeting offers none and user/password");
  CHECK_MSG(proxy_hs_feed(&h, (const uint8_t *)"\x05\x02", 2, &used, out, sizeof(out), &n) == 0 && n == 10 &&
            !memcmp(out, "\x01\x05guise\x02pw", 10), "RFC 1929 request");
  CHECK_MSG(proxy_hs_feed(&h, (const uint8_t *)"\x01\x00", 2, &used, out, sizeof(out), &n) == 0 && n == 16 &&
            !memcmp(out, "\x05\x01\x00\x03\x09localhost\x20\xfb", 16), "CONNECT request, domain name");
  static const uint8_t rep[] = {5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x90};
  r = 0;
  for (i = 0; i < sizeof(rep) && r == 0; i++) r = proxy_hs_feed(&h, rep + i, 1, &used, out, sizeof(out), &n);
  CHECK_MSG(r == 1 && i == sizeof(rep), "reply with an IPv6 bound address, byte by byte");
  /* SOCKS5, resolved here: the address is sent. */
  proxy_parse("socks5://127.0.0.1", &c);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
  proxy_hs_begin(&h, &c, "www.test", 443, (struct sockaddr *)&sin, out, sizeof(out), &n);
  CHECK_MSG(n == 3 && !memcmp(out, "\x05\x01\x00", 3), "greeting, no credentials");
  CHECK_MSG(proxy_hs_feed(&h, (const uint8_t *)"\x05\x00", 2, &used, out, sizeof(out), &n) == 0 && n == 10 &&
            !memcmp(out, "\x05\x01\x00\x01\xc0\x00\x02\x07\x01\xbb", 10), "CONNECT request, IPv4");
  CHECK_MSG(proxy_hs_feed(&h, (const uint8_t *)"\x05\x04", 2, &used, out, sizeof(out), &n) ==
            GUISE_E_PROXY_SOCKS_HOST_UNREACHABLE, "REP 4");
  proxy_hs_begin(&h, &c, "www.test", 443, (struct sockaddr *)&sin, out, sizeof(out), &n);
  CHECK_MSG(proxy_hs_feed(&h, (const uint8_t *)"\x05\xff", 2, &used, out, sizeof(out), &n) ==
            GUISE_E_PROXY_AUTH_REQUIRED, "no acceptable method");
  proxy_hs_begin(&h, &c, "www.test", 443, (struct sockaddr *)&sin, out, sizeof(out), &n);
  CHECK_MSG(proxy_hs_feed(&h, (const uint8_t *)"\x05\x00\x05", 3, &used, out, sizeof(out), &n) ==
            GUISE_E_PROXY_PROTOCOL, "speaks before it is asked");
  return gt_done("test_proxy_handshake");
}

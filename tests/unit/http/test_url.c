/* test_url.c — client/lib/url.c: parsing and normalization of http/https URLs,
 * refusals with their offsets, and RFC 3986 §5.4 reference resolution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "../../lib/gtest_check.h"
#include "url.h"

static url u, v; /* 16 KiB each: not on the stack */

/* A parse that must succeed, with its normalized pieces. */
typedef struct ok_case {
  const char *in;
  const char *scheme, *host, *authority, *target, *href;
  unsigned port;
  url_host_type type;
} ok_case;

static const ok_case kOk[] = {
    {"http://example.com", "http", "example.com", "example.com", "/", "http://example.com/", 80,
     URL_HOST_NAME},
    {"HTTPS://WWW.Example.COM:443/a/B?c=D#Frag", "https", "www.example.com", "www.example.com",
     "/a/B?c=D", "https://www.example.com/a/B?c=D#Frag", 443, URL_HOST_NAME},
    {"http://example.com:8080/", "http", "example.com", "example.com:8080", "/",
     "http://example.com:8080/", 8080, URL_HOST_NAME},
    {"https://example.com:80/", "https", "example.com", "example.com:80", "/",
     "https://example.com:80/", 80, URL_HOST_NAME},
    {"http://example.com:080/", "http", "example.com", "example.com", "/", "http://example.com/",
     80, URL_HOST_NAME},
    {"http://example.com:/p", "http", "example.com", "example.com", "/p", "http://example.com/p",
     80, URL_HOST_NAME},
    {"http://h:65535/", "http", "h", "h:65535", "/", "http://h:65535/", 65535, URL_HOST_NAME},
    {"http://[::1]/", "http", "::1", "[::1]", "/", "http://[::1]/", 80, URL_HOST_IPV6},
    {"http://[2001:DB8:0:0:0:0:0:1]:8443/x", "http", "2001:db8::1", "[2001:db8::1]:8443", "/x",
     "http://[2001:db8::1]:8443/x", 8443, URL_HOST_IPV6},
    /* WHATWG serializes IPv4-mapped addresses in hex, as Chrome does. */
    {"http://[::ffff:192.0.2.1]/", "http", "::ffff:c000:201", "[::ffff:c000:201]", "/",
     "http://[::ffff:c000:201]/", 80, URL_HOST_IPV6},
    /* The longest zero run is compressed; of equal runs the first; a lone zero never. */
    {"http://[1:0:0:2:0:0:0:3]/", "http", "1:0:0:2::3", "[1:0:0:2::3]", "/",
     "http://[1:0:0:2::3]/", 80, URL_HOST_IPV6},
    {"http://[1:0:0:2:3:0:0:4]/", "http", "1::2:3:0:0:4", "[1::2:3:0:0:4]", "/",
     "http://[1::2:3:0:0:4]/", 80, URL_HOST_IPV6},
    {"http://[1:2:3:4:5:6:0:8]/", "http", "1:2:3:4:5:6:0:8", "[1:2:3:4:5:6:0:8]", "/",
     "http://[1:2:3:4:5:6:0:8]/", 80, URL_HOST_IPV6},
    {"http://[1::]/", "http", "1::", "[1::]", "/", "http://[1::]/", 80, URL_HOST_IPV6},
    {"https://192.0.2.1:8443/", "https", "192.0.2.1", "192.0.2.1:8443", "/",
     "https://192.0.2.1:8443/", 8443, URL_HOST_IPV4},
    {"http://example.com./", "http", "example.com.", "example.com.", "/", "http://example.com./",
     80, URL_HOST_NAME},
    {"http://A.b_c-D.example/", "http", "a.b_c-d.example", "a.b_c-d.example", "/",
     "http://a.b_c-d.example/", 80, URL_HOST_NAME},
    /* A numeric label that is not the last one does not make an IPv4 address. */
    {"http://1.2.3.example/", "http", "1.2.3.example", "1.2.3.example", "/",
     "http://1.2.3.example/", 80, URL_HOST_NAME},
    {"http://example.com?x", "http", "example.com", "example.com", "/?x", "http://example.com/?x",
     80, URL_HOST_NAME},
    {"http://example.com?", "http", "example.com", "example.com", "/?", "http://example.com/?", 80,
     URL_HOST_NAME},
    {"http://example.com#f", "http", "example.com", "example.com", "/", "http://example.com/#f",
     80, URL_HOST_NAME},
    /* Percent-encoding: space and non-ASCII everywhere, the WHATWG sets per part. */
    {"http://h/a b/\xc3\xa9?q r=\xc3\xa9#f g", "http", "h", "h", "/a%20b/%C3%A9?q%20r=%C3%A9",
     "http://h/a%20b/%C3%A9?q%20r=%C3%A9#f%20g", 80, URL_HOST_NAME},
    {"http://h/\"<>`{}|\x01\x7f^", "http", "h", "h", "/%22%3C%3E%60%7B%7D|%01%7F^",
     "http://h/%22%3C%3E%60%7B%7D|%01%7F^", 80, URL_HOST_NAME},
    {"http://h/?'\"<>`{}|", "http", "h", "h", "/?%27%22%3C%3E`{}|", "http://h/?%27%22%3C%3E`{}|",
     80, URL_HOST_NAME},
    {"http://h/%zz%41%2F?%", "http", "h", "h", "/%zz%41%2F?%", "http://h/%zz%41%2F?%", 80,
     URL_HOST_NAME},
    /* Dot segments go, also above the root; "%2e" is a dot too (WHATWG path state). */
    {"http://h/a/./b/../c", "http", "h", "h", "/a/c", "http://h/a/c", 80, URL_HOST_NAME},
    {"http://h/..", "http", "h", "h", "/", "http://h/", 80, URL_HOST_NAME},
    {"http://h/a/..", "http", "h", "h", "/", "http://h/", 80, URL_HOST_NAME},
    {"http://h/../../x/./", "http", "h", "h", "/x/", "http://h/x/", 80, URL_HOST_NAME},
    {"http://h/a/%2e/b", "http", "h", "h", "/a/b", "http://h/a/b", 80, URL_HOST_NAME},
    {"http://h/a/b/%2E%2e/c", "http", "h", "h", "/a/c", "http://h/a/c", 80, URL_HOST_NAME},
    {"http://h/a/.b/..c/", "http", "h", "h", "/a/.b/..c/", "http://h/a/.b/..c/", 80,
     URL_HOST_NAME},
    {"http://h//a//", "http", "h", "h", "//a//", "http://h//a//", 80, URL_HOST_NAME},
    /* Userinfo: the last '@' ends it; the WHATWG userinfo set is encoded. */
    {"http://user:pass@h/", "http", "h", "h", "/", "http://user:pass@h/", 80, URL_HOST_NAME},
    {"http://a@b:c:d@h:81/", "http", "h", "h:81", "/", "http://a%40b:c%3Ad@h:81/", 81,
     URL_HOST_NAME},
    /* Empty credentials are not kept (WHATWG serializer). */
    {"http://@h/", "http", "h", "h", "/", "http://h/", 80, URL_HOST_NAME},
    {"http://u:@h/", "http", "h", "h", "/", "http://u@h/", 80, URL_HOST_NAME},
    /* What a browser repairs, guise repairs the same way (WHATWG URL Standard):
     * missing or extra slashes and backslashes after the scheme, '\' as '/',
     * TAB/CR/LF removed, leading and trailing C0 controls and spaces stripped. */
    {"http:/h", "http", "h", "h", "/", "http://h/", 80, URL_HOST_NAME},
    {"http:h", "http", "h", "h", "/", "http://h/", 80, URL_HOST_NAME},
    {"http:///x", "http", "x", "x", "/", "http://x/", 80, URL_HOST_NAME},
    {"http:\\\\g\\a", "http", "g", "g", "/a", "http://g/a", 80, URL_HOST_NAME},
    {"http://a\\b/", "http", "a", "a", "/b/", "http://a/b/", 80, URL_HOST_NAME},
    {"http://a\tb/", "http", "ab", "ab", "/", "http://ab/", 80, URL_HOST_NAME},
    {"http://h/\r\nX-Injected: 1", "http", "h", "h", "/X-Injected:%201", "http://h/X-Injected:%201", 80,
     URL_HOST_NAME},
    {" \x01http://h/a\nb \x1f", "http", "h", "h", "/ab", "http://h/ab", 80, URL_HOST_NAME},
    /* Hosts: percent-decoded, IDNA to punycode, IPv4 number forms. */
    {"http://b\xc3\xbc" "cher.DE/", "http", "xn--bcher-kva.de", "xn--bcher-kva.de", "/",
     "http://xn--bcher-kva.de/", 80, URL_HOST_NAME},
    {"http://a%41.com/", "http", "aa.com", "aa.com", "/", "http://aa.com/", 80, URL_HOST_NAME},
    {"http://127.1/", "http", "127.0.0.1", "127.0.0.1", "/", "http://127.0.0.1/", 80, URL_HOST_IPV4},
    {"http://1.2.3.010/", "http", "1.2.3.8", "1.2.3.8", "/", "http://1.2.3.8/", 80, URL_HOST_IPV4},
    {"http://0x7f.0.0.1/", "http", "127.0.0.1", "127.0.0.1", "/", "http://127.0.0.1/", 80,
     URL_HOST_IPV4},
    {"http://2130706433/", "http", "127.0.0.1", "127.0.0.1", "/", "http://127.0.0.1/", 80,
     URL_HOST_IPV4},
    {"http://a..b/", "http", "a..b", "a..b", "/", "http://a..b/", 80, URL_HOST_NAME},
};

/* A parse that must fail: code, offset, and a word the reason must hold. */
typedef struct bad_case {
  const char *in;
  int rc;
  size_t offset;
  const char *word;
} bad_case;

static const bad_case kBad[] = {
    {"", GUISE_E_USAGE_URL_MALFORMED, 0, "scheme"},
    {"example.com/x", GUISE_E_USAGE_URL_MALFORMED, 0, "scheme"},
    {"/relative", GUISE_E_USAGE_URL_MALFORMED, 0, "scheme"},
    {"1http://h/", GUISE_E_USAGE_URL_MALFORMED, 0, "scheme"},
    {"ftp://h/", GUISE_E_USAGE_URL_SCHEME, 0, "http"},
    {"javascript:alert(1)", GUISE_E_USAGE_URL_SCHEME, 0, "http"},
    {"httpx://h/", GUISE_E_USAGE_URL_SCHEME, 0, "http"},
    {"http://", GUISE_E_USAGE_URL_MALFORMED, 7, "empty"},
    {"http://u@/x", GUISE_E_USAGE_URL_MALFORMED, 9, "empty"},
    {"http://:80/", GUISE_E_USAGE_URL_MALFORMED, 7, "empty"},
    {"http://exa mple.com/", GUISE_E_USAGE_URL_MALFORMED, 10, "space"},
    {"http://ex\x01mple/", GUISE_E_USAGE_URL_MALFORMED, 9, "control"},
    {"http://ex\x7fmple/", GUISE_E_USAGE_URL_MALFORMED, 9, "control"},
    {"http://h:0/", GUISE_E_USAGE_URL_MALFORMED, 9, "range"},
    {"http://h:65536/", GUISE_E_USAGE_URL_MALFORMED, 9, "range"},
    {"http://h:99999999999999999999/", GUISE_E_USAGE_URL_MALFORMED, 9, "range"},
    {"http://h:8o/", GUISE_E_USAGE_URL_MALFORMED, 10, "number"},
    {"http://h:-1/", GUISE_E_USAGE_URL_MALFORMED, 9, "number"},
    {"http://a.0x7f/", GUISE_E_USAGE_URL_MALFORMED, 7, "IPv4"},
    {"http://256.1.1.1/", GUISE_E_USAGE_URL_MALFORMED, 7, "above 255"},
    {"http://1.2.3.4.5/", GUISE_E_USAGE_URL_MALFORMED, 7, "more than four"},
    {"http://1.2.3.08/", GUISE_E_USAGE_URL_MALFORMED, 13, "IPv4"},
    {"http://4294967296/", GUISE_E_USAGE_URL_MALFORMED, 7, "out of range"},
    {"http://a%2fb/", GUISE_E_USAGE_URL_MALFORMED, 8, "forbidden"},
    {"http://a%00b/", GUISE_E_USAGE_URL_MALFORMED, 8, "NUL"},
    {"http://\xe2\x98\x83/", GUISE_E_USAGE_URL_MALFORMED, 7, "international"},
    {"http://\xff/", GUISE_E_USAGE_URL_MALFORMED, 7, "international"},
    {"http://[::1/", GUISE_E_USAGE_URL_MALFORMED, 7, "]"},
    {"http://[::1]x/", GUISE_E_USAGE_URL_MALFORMED, 7, "]"},
    {"http://[fe80::1%25eth0]/", GUISE_E_USAGE_URL_MALFORMED, 8, "zone"},
    {"http://[1:2]/", GUISE_E_USAGE_URL_MALFORMED, 8, "IPv6"},
    {"http://[]/", GUISE_E_USAGE_URL_MALFORMED, 8, "IPv6"},
    {"http://[1.2.3.4]/", GUISE_E_USAGE_URL_MALFORMED, 8, "IPv6"},
    {"http://[::1]:0/", GUISE_E_USAGE_URL_MALFORMED, 13, "range"},
};

static void test_url_parse_normalizes(void) {
  char href[URL_STORE];
  for (size_t i = 0; i < sizeof(kOk) / sizeof(kOk[0]); i++) {
    const ok_case *c = &kOk[i];
    url_err e = {0, NULL};
    int rc = url_parse(&u, c->in, strlen(c->in), &e);
    if (rc != 0) fprintf(stderr, "case %zu \"%s\": %d %s at %zu\n", i, c->in, rc, e.reason, e.offset);
    CHECK(rc == 0);
    if (rc != 0) continue;
    CHECK_STR(url_scheme_name(&u), c->scheme);
    CHECK_STR(url_host(&u), c->host);
    CHECK_STR(url_authority(&u), c->authority);
    CHECK_STR(url_target(&u), c->target);
    CHECK(u.target.len == strlen(c->target));
    CHECK(u.port == c->port);
    CHECK(u.host_type == c->type);
    CHECK(url_href(&u, href, sizeof(href)) == (long)strlen(c->href));
    CHECK_STR(href, c->href);
    /* Normalization is idempotent: the href parses to itself. */
    CHECK(url_parse(&v, href, strlen(href), NULL) == 0);
    char again[URL_STORE];
    CHECK(url_href(&v, again, sizeof(again)) >= 0);
    CHECK_STR(again, href);
    /* Only visible ASCII in the request-target. */
    for (const char *t = url_target(&u); *t; t++) CHECK(*t > 0x20 && *t < 0x7f);
  }
}

static void test_url_parse_refuses_with_offset(void) {
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    const bad_case *c = &kBad[i];
    url_err e = {999, NULL};
    int rc = url_parse(&u, c->in, strlen(c->in), &e);
    if (rc != c->rc || e.offset != c->offset || e.reason == NULL || !strstr(e.reason, c->word))
      fprintf(stderr, "bad case %zu \"%s\": rc %d at %zu: %s\n", i, c->in, rc, e.offset,
              e.reason ? e.reason : "(null)");
    CHECK(rc == c->rc);
    CHECK(e.offset == c->offset);
    CHECK(e.reason != NULL && strstr(e.reason, c->word) != NULL);
  }
  /* The length given is what counts: a NUL inside is encoded, bytes after are not read. */
  url_err e;
  CHECK(url_parse(&u, "http://h/\0x", 11, &e) == 0);
  CHECK_STR(url_target(&u), "/%00x");
  CHECK(url_parse(&u, "http://h/abc", 10, &e) == 0);
  CHECK_STR(url_target(&u), "/a");
  CHECK(url_parse(NULL, "http://h/", 9, &e) == GUISE_E_USAGE_INVALID_ARGUMENT);
}

static void test_url_parse_caps(void) {
  static char big[URL_MAX_LEN + 64];
  url_err e;
  /* Exactly URL_MAX_LEN bytes parse; one more does not. */
  memcpy(big, "http://h/", 9);
  memset(big + 9, 'a', URL_MAX_LEN - 9);
  CHECK(url_parse(&u, big, URL_MAX_LEN, &e) == 0);
  CHECK(u.target.len == URL_MAX_LEN - 8);
  big[URL_MAX_LEN] = 'a';
  CHECK(url_parse(&u, big, URL_MAX_LEN + 1, &e) == GUISE_E_USAGE_URL_MALFORMED);
  CHECK(e.offset == URL_MAX_LEN);
  /* Percent-encoding may not take the target over the cap: 3000 non-ASCII bytes are 9000. */
  memset(big + 9, 0xff, 3000);
  CHECK(url_parse(&u, big, 3009, &e) == GUISE_E_USAGE_URL_MALFORMED);
  CHECK(e.reason != NULL && strstr(e.reason, "percent-encoded") != NULL);
  CHECK(url_parse(&u, big, 2009, &e) == 0);
  CHECK(u.target.len == 1 + 3 * 2000);
  /* DNS limits: a 63-byte label and a 253-byte name pass, one more byte does not. */
  char host[400];
  int n = snprintf(host, sizeof(host), "http://%.63s.com/", big + 5000);
  memset(host + 7, 'a', 63);
  CHECK(url_parse(&u, host, (size_t)n, &e) == 0);
  n = snprintf(host, sizeof(host), "http://%064d.com/", 0);
  memset(host + 7, 'a', 64);
  CHECK(url_parse(&u, host, (size_t)n, &e) == GUISE_E_USAGE_URL_MALFORMED);
  CHECK(e.offset == 7 && strstr(e.reason, "63") != NULL);
  /* 4 labels of 63 + 1 of 1 with dots: 4*64 + 1 = 257 > 253; 3*64 + 61 = 253 fits. */
  char name[300];
  size_t k = 0;
  for (int l = 0; l < 3; l++) {
    memset(name + k, 'b', 63);
    k += 63;
    name[k++] = '.';
  }
  memset(name + k, 'c', 61);
  k += 61;
  n = snprintf(host, sizeof(host), "http://%.*s/", (int)k, name);
  CHECK(k == 253 && url_parse(&u, host, (size_t)n, &e) == 0);
  n = snprintf(host, sizeof(host), "http://%.*sc/", (int)k, name);
  CHECK(url_parse(&u, host, (size_t)n, &e) == GUISE_E_USAGE_URL_MALFORMED);
  CHECK(strstr(e.reason, "253") != NULL);
  /* ... and the trailing dot of a 253-byte name does not count. */
  n = snprintf(host, sizeof(host), "http://%.*s./", (int)k, name);
  CHECK(url_parse(&u, host, (size_t)n, &e) == 0);
}

static void test_url_userinfo_decoding(void) {
  char out[64];
  size_t len;
  const char *s = "http://us%20er:p%40ss%00x@h/";
  CHECK(url_parse(&u, s, strlen(s), NULL) == 0);
  CHECK(u.has_userinfo && u.has_password);
  CHECK(url_userinfo(&u, 0, 0, out, sizeof(out), &len) == 0);
  CHECK_STR(out, "us%20er");
  CHECK(url_userinfo(&u, 0, 1, out, sizeof(out), &len) == 0);
  CHECK_STR(out, "us er");
  CHECK(len == 5);
  CHECK(url_userinfo(&u, 1, 1, out, sizeof(out), &len) == 0);
  CHECK(len == 6 && memcmp(out, "p@ss\0x", 6) == 0);
  /* The value and its NUL must fit. */
  CHECK(url_userinfo(&u, 0, 1, out, 5, &len) == GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK(out[0] == '\0');
  CHECK(url_userinfo(&u, 0, 1, out, 6, &len) == 0 && len == 5);
  /* Raw bytes the URL carried unencoded come back after a decode. */
  s = "http://a b:c:d@h/";
  CHECK(url_parse(&u, s, strlen(s), NULL) == 0);
  CHECK(url_userinfo(&u, 0, 1, out, sizeof(out), &len) == 0);
  CHECK_STR(out, "a b");
  CHECK(url_userinfo(&u, 1, 1, out, sizeof(out), &len) == 0);
  CHECK_STR(out, "c:d");
  /* A broken escape is kept as stored but refused when decoding. */
  s = "http://a%2:x%zz@h/";
  CHECK(url_parse(&u, s, strlen(s), NULL) == 0);
  CHECK(url_userinfo(&u, 0, 0, out, sizeof(out), &len) == 0);
  CHECK_STR(out, "a%2");
  CHECK(url_userinfo(&u, 0, 1, out, sizeof(out), &len) == GUISE_E_USAGE_URL_MALFORMED);
  CHECK(url_userinfo(&u, 1, 1, out, sizeof(out), &len) == GUISE_E_USAGE_URL_MALFORMED);
  /* No userinfo: both empty. */
  CHECK(url_parse(&u, "http://h/", 9, NULL) == 0);
  CHECK(!u.has_userinfo);
  CHECK(url_userinfo(&u, 1, 1, out, sizeof(out), &len) == 0 && len == 0);
  /* url_href into a buffer one byte short fails cleanly. */
  char small[9];
  CHECK(url_href(&u, small, sizeof(small)) == -1 && small[0] == '\0');
  char exact[10];
  CHECK(url_href(&u, exact, sizeof(exact)) == 9);
}

/* RFC 3986 §5.4: reference resolution examples, base "http://a/b/c/d;p?q".
 * Results are the RFC's, written the way url_href serializes them: the one
 * difference is "//g", where an empty path becomes "/" (RFC 3986 §6.2.3). */
typedef struct res_case {
  const char *ref, *want;
} res_case;

static const res_case kNormal[] = {
    {"g", "http://a/b/c/g"},          {"./g", "http://a/b/c/g"},
    {"g/", "http://a/b/c/g/"},        {"/g", "http://a/g"},
    {"//g", "http://g/"},             {"?y", "http://a/b/c/d;p?y"},
    {"g?y", "http://a/b/c/g?y"},      {"#s", "http://a/b/c/d;p?q#s"},
    {"g#s", "http://a/b/c/g#s"},      {"g?y#s", "http://a/b/c/g?y#s"},
    {";x", "http://a/b/c/;x"},        {"g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "http://a/b/c/g;x?y#s"}, {"", "http://a/b/c/d;p?q"},
    {".", "http://a/b/c/"},           {"./", "http://a/b/c/"},
    {"..", "http://a/b/"},            {"../", "http://a/b/"},
    {"../g", "http://a/b/g"},         {"../..", "http://a/"},
    {"../../", "http://a/"},          {"../../g", "http://a/g"},
};

static const res_case kAbnormal[] = {
    {"../../../g", "http://a/g"},     {"../../../../g", "http://a/g"},
    {"/./g", "http://a/g"},           {"/../g", "http://a/g"},
    {"g.", "http://a/b/c/g."},        {".g", "http://a/b/c/.g"},
    {"g..", "http://a/b/c/g.."},      {"..g", "http://a/b/c/..g"},
    {"./../g", "http://a/b/g"},       {"./g/.", "http://a/b/c/g/"},
    {"g/./h", "http://a/b/c/g/h"},    {"g/../h", "http://a/b/c/h"},
    {"g;x=1/./y", "http://a/b/c/g;x=1/y"}, {"g;x=1/../y", "http://a/b/c/y"},
    {"g?y/./x", "http://a/b/c/g?y/./x"}, {"g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "http://a/b/c/g#s/./x"}, {"g#s/../x", "http://a/b/c/g#s/../x"},
    /* The RFC's non-strict reading (browsers'); a strict parser gives "http:g". */
    {"http:g", "http://a/b/c/g"},
};

static void check_resolve(const url *base, const res_case *c) {
  char href[URL_STORE];
  url_err e = {0, NULL};
  int rc = url_resolve(base, c->ref, strlen(c->ref), &v, &e);
  if (rc != 0) fprintf(stderr, "resolve \"%s\": %d %s\n", c->ref, rc, e.reason);
  CHECK(rc == 0);
  if (rc != 0) return;
  CHECK(url_href(&v, href, sizeof(href)) >= 0);
  CHECK_STR(href, c->want);
}

static void test_url_resolve_rfc3986_examples(void) {
  const char *b = "http://a/b/c/d;p?q";
  CHECK(url_parse(&u, b, strlen(b), NULL) == 0);
  for (size_t i = 0; i < sizeof(kNormal) / sizeof(kNormal[0]); i++) check_resolve(&u, &kNormal[i]);
  for (size_t i = 0; i < sizeof(kAbnormal) / sizeof(kAbnormal[0]); i++)
    check_resolve(&u, &kAbnormal[i]);
  /* "g:h" is an absolute URL of scheme g: resolved to itself, which guise cannot fetch. */
  url_err e;
  CHECK(url_resolve(&u, "g:h", 3, &v, &e) == GUISE_E_USAGE_URL_SCHEME);
}

static void test_url_resolve_redirects(void) {
  const char *b = "https://user:pw@Example.com:8443/dir/page.html?x=1#top";
  CHECK(url_parse(&u, b, strlen(b), NULL) == 0);
  static const res_case kRedirects[] = {
      /* Userinfo, host and a non-default port carry over; the base fragment does not. */
      {"next", "https://user:pw@example.com:8443/dir/next"},
      {"/login?r=a b", "https://user:pw@example.com:8443/login?r=a%20b"},
      {"?page=2", "https://user:pw@example.com:8443/dir/page.html?page=2"},
      {"", "https://user:pw@example.com:8443/dir/page.html?x=1"},
      {"#frag", "https://user:pw@example.com:8443/dir/page.html?x=1#frag"},
      /* A network-path reference keeps only the scheme. */
      {"//cdn.example.net/a/../b", "https://cdn.example.net/b"},
      {"//[::1]:443/", "https://[::1]/"},
      /* Absolute: a scheme change and a different host; ".." in it is removed too. */
      {"http://Other.example/x/../y", "http://other.example/y"},
      {"HTTPS:other", "https://user:pw@example.com:8443/dir/other"},
      {"https://h2/\xc3\xa9", "https://h2/%C3%A9"},
      {"../../../../up", "https://user:pw@example.com:8443/up"},
  };
  for (size_t i = 0; i < sizeof(kRedirects) / sizeof(kRedirects[0]); i++)
    check_resolve(&u, &kRedirects[i]);
  url_err e;
  CHECK(url_resolve(&u, "ftp://x/", 8, &v, &e) == GUISE_E_USAGE_URL_SCHEME);
  /* CR and LF are removed (WHATWG): no header can be injected through a Location. */
  CHECK(url_resolve(&u, "/a\r\nSet-Cookie: x", 17, &v, &e) == 0);
  CHECK_STR(url_target(&v), "/aSet-Cookie:%20x");
  /* A browser's repairs of a Location: backslashes, "/\\host", %2e%2e. */
  static const res_case kBrowser[] = {
      {"\\g", "https://user:pw@example.com:8443/g"},
      {"/\\g/x", "https://g/x"},
      {"\\\\g\\x", "https://g/x"},
      {"%2e%2e/%2E%2e/g", "https://user:pw@example.com:8443/g"},
      {"a/.%2e/b", "https://user:pw@example.com:8443/dir/b"},
      {" \t/p\n ", "https://user:pw@example.com:8443/p"},
      {"http:g", "http://g/"},
  };
  for (size_t i = 0; i < sizeof(kBrowser) / sizeof(kBrowser[0]); i++) check_resolve(&u, &kBrowser[i]);
  CHECK(url_resolve(&u, "//bad host/", 11, &v, &e) == GUISE_E_USAGE_URL_MALFORMED);
  CHECK(url_resolve(&u, "x", 1, &u, &e) == GUISE_E_USAGE_INVALID_ARGUMENT);
  /* The resolved URL is bounded too. */
  static char longref[URL_MAX_LEN];
  memset(longref, 'a', sizeof(longref));
  CHECK(url_resolve(&u, longref, sizeof(longref), &v, &e) == GUISE_E_USAGE_URL_MALFORMED);
}

/* Every spelling url_parse reads a password from has it hidden by
 * guise_url_redact: leading spaces and controls, TAB/LF/CR inside the scheme,
 * backslashes for slashes (the WHATWG parser accepts them all). */
static void test_url_redact_whatwg_forms(void) {
  static const char *const kIn[] = {
      "http://u:pw@h/",  " http://u:pw@h/", "\x01\x1f http://u:pw@h/", "ht\ttp://u:pw@h/",
      "http:\t//u:pw@h/", "http:\\\\u:pw@h/", "http:/\\u:pw@h/", "http:u:pw@h/",
      "\thttp:\n\\/u:pw@h/",
  };
  char buf[256];
  for (size_t i = 0; i < sizeof(kIn) / sizeof(kIn[0]); i++) {
    const char *in = kIn[i];
    CHECK_MSG(url_parse(&u, in, strlen(in), NULL) == 0 && u.has_password, "\"%s\" has a password", in);
    const char *r = guise_url_redact(in, buf, sizeof(buf));
    CHECK_MSG(strstr(r, "pw") == NULL && strstr(r, URL_REDACTED) != NULL, "\"%s\" redacted: \"%s\"", in, r);
  }
}

/* The WHATWG URL Standard's sets, byte by byte (§1.3 percent-encode sets,
 * §3.1 forbidden domain code points), written here from the Standard's text:
 * each byte in the middle of a path segment, a query, a fragment, a user name
 * and a host, and what the parse must make of it. */
static int c0_set(unsigned c) { return c < 0x20 || c > 0x7e; }
static int in_list(unsigned c, const char *list) { return c != 0 && strchr(list, (int)c) != NULL; }

static void test_url_byte_classes(void) {
  for (unsigned c = 0; c < 256; c++) {
    if (c == '\t' || c == '\n' || c == '\r') continue; /* removed before parsing */
    char in[64], want[64];
    char enc[4];
    url_err e;
    /* path: the C0 set and space " # < > ? ` { } (§1.3 path percent-encode set) */
    if (!in_list(c, "/\\?#") && c != '.') {
      int pct = c0_set(c) || in_list(c, " \"#<>?`{}");
      snprintf(enc, sizeof(enc), pct ? "%%%02X" : "%c", c);
      int n = snprintf(in, sizeof(in), "http://h/a%cb", (int)c);
      snprintf(want, sizeof(want), "/a%sb", enc);
      CHECK_MSG(url_parse(&u, in, (size_t)n, &e) == 0 && strcmp(url_target(&u), want) == 0,
                "path byte 0x%02x: want %s", c, want);
    }
    /* special query: the C0 set and space " # < > ' */
    if (c != '#') {
      int pct = c0_set(c) || in_list(c, " \"#<>'");
      snprintf(enc, sizeof(enc), pct ? "%%%02X" : "%c", c);
      int n = snprintf(in, sizeof(in), "http://h/?a%cb", (int)c);
      snprintf(want, sizeof(want), "/?a%sb", enc);
      CHECK_MSG(url_parse(&u, in, (size_t)n, &e) == 0 && strcmp(url_target(&u), want) == 0,
                "query byte 0x%02x: want %s", c, want);
    }
    /* fragment: the C0 set and space " < > ` */
    {
      int pct = c0_set(c) || in_list(c, " \"<>`");
      snprintf(enc, sizeof(enc), pct ? "%%%02X" : "%c", c);
      int n = snprintf(in, sizeof(in), "http://h/#a%cb", (int)c);
      snprintf(want, sizeof(want), "http://h/#a%sb", enc);
      char href[128];
      CHECK_MSG(url_parse(&u, in, (size_t)n, &e) == 0 && url_href(&u, href, sizeof(href)) > 0 &&
                    strcmp(href, want) == 0,
                "fragment byte 0x%02x: want %s", c, want);
    }
    /* userinfo: the path set and / : ; = @ [ \ ] ^ | */
    if (!in_list(c, "/\\?#@:")) {
      int pct = c0_set(c) || in_list(c, " \"#<>?`{}") || in_list(c, "/:;=@[\\]^|");
      snprintf(enc, sizeof(enc), pct ? "%%%02X" : "%c", c);
      int n = snprintf(in, sizeof(in), "http://a%cb:p@h/", (int)c);
      snprintf(want, sizeof(want), "http://a%sb:p@h/", enc);
      char href[128];
      CHECK_MSG(url_parse(&u, in, (size_t)n, &e) == 0 && url_href(&u, href, sizeof(href)) > 0 &&
                    strcmp(href, want) == 0,
                "userinfo byte 0x%02x: want %s", c, want);
    }
    /* host (ASCII): forbidden are C0 controls, space, DEL and # % / : < > ? @ [ \ ] ^ |
     * (the delimiters, '%' that decodes, '.', and non-ASCII for IDNA aside) */
    if (c < 0x80 && !in_list(c, "/\\?#@:%[].")) {
      int bad = c <= 0x20 || c == 0x7f || in_list(c, "#%/:<>?@[\\]^|");
      int n = snprintf(in, sizeof(in), "http://a%cb/", (int)c);
      int rc = url_parse(&u, in, (size_t)n, &e);
      CHECK_MSG(bad ? rc == GUISE_E_USAGE_URL_MALFORMED : rc == 0, "host byte 0x%02x: %s", c,
                bad ? "refused" : "taken");
    }
  }
}

int main(void) {
  test_url_byte_classes();
  test_url_redact_whatwg_forms();
  test_url_parse_normalizes();
  test_url_parse_refuses_with_offset();
  test_url_parse_caps();
  test_url_userinfo_decoding();
  test_url_resolve_rfc3986_examples();
  test_url_resolve_redirects();
  return gt_done("test_url");
}

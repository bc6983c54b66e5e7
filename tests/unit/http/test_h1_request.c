/* test_h1_request.c — client/lib/h1_request.c: exact bytes, order and case kept,
 * Content-Length placement, refusals (header injection above all), both output
 * modes, and the observer's parser (fingerprints/) reading the result back. */
#include <stdlib.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "guise.h"
#include "guise_fp.h"
#include "h1_request.h"
#include "../../lib/gtest_check.h"

/* A Chrome-shaped HTTP/1.1 navigation: Title-Case except the client hints,
 * which Chrome sends lowercase even over HTTP/1.1. */
static const h1_field kChrome[] = {
    {"Host", "example.com"},
    {"Connection", "keep-alive"},
    {"sec-ch-ua", "\"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\""},
    {"sec-ch-ua-mobile", "?0"},
    {"sec-ch-ua-platform", "\"Linux\""},
    {"Upgrade-Insecure-Requests", "1"},
    {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/124.0.0.0 Safari/537.36"},
    {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
               "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"},
    {"Sec-Fetch-Site", "none"},
    {"Sec-Fetch-Mode", "navigate"},
    {"Sec-Fetch-User", "?1"},
    {"Sec-Fetch-Dest", "document"},
    {"Accept-Encoding", "gzip, deflate, br, zstd"},
    {"Accept-Language", "en-US,en;q=0.9"},
};

static const char kChromeWire[] =
    "GET /path?q=1 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: none\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "\r\n";

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t out[H1_REQUEST_MAX_HEAD + 64];

/* Writes |r| and compares with |want| (NUL-terminated). */
static void expect_wire(const h1_request *r, const char *want) {
  size_t len = 0, size = 0;
  h1_request_err e = {0, NULL};
  int rc = h1_request_write(r, out, sizeof(out), &len, &e);
  if (rc != 0) fprintf(stderr, "write: %d %s (field %ld)\n", rc, e.reason, e.field);
  CHECK(rc == 0);
  CHECK(h1_request_size(r, &size, NULL) == 0 && size == len);
  CHECK(len == strlen(want) && memcmp(out, want, len) == 0);
  if (len != strlen(want) || memcmp(out, want, len) != 0)
    fprintf(stderr, "got:\n%.*s\nwant:\n%s\n", (int)len, (const char *)out, want);
}

/* Expects |r| refused for field |field| with |word| in the reason. */
static void expect_refused(const h1_request *r, long field, const char *word) {
  h1_request_err e = {99, NULL};
  size_t len = 12345;
  memset(out, 0xAA, 64);
  CHECK(h1_request_write(r, out, sizeof(out), &len, &e) == GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK(e.field == field);
  CHECK(e.reason != NULL && strstr(e.reason, word) != NULL);
  if (e.field != field || e.reason == NULL || strstr(e.reason, word) == NULL)
    fprintf(stderr, "refusal: field %ld reason %s (want %ld, %s)\n", e.field, e.reason, field, word);
  CHECK(out[0] == 0xAA && len == 12345); /* nothing written */
  CHECK(h1_request_size(r, &len, NULL) == GUISE_E_USAGE_INVALID_ARGUMENT);
}

static void test_h1_request_exact_order_and_case(void) {
  h1_request r = {"GET", "/path?q=1", kChrome, N(kChrome), 0, 0};
  expect_wire(&r, kChromeWire);

  /* The observer reads back the same request line, names (case kept), order and values. */
  gfp_h1_request *req = gfp_h1_new();
  CHECK(req != NULL);
  if (req == NULL) return;
  size_t len = 0;
  CHECK(h1_request_write(&r, out, sizeof(out), &len, NULL) == 0);
  CHECK(gfp_h1_parse(req, out, len) == GFP_DONE);
  CHECK(req->method.len == 3 && memcmp(req->method.data, "GET", 3) == 0);
  CHECK(req->target.len == 9 && memcmp(req->target.data, "/path?q=1", 9) == 0);
  CHECK(req->version_major == 1 && req->version_minor == 1);
  CHECK(req->header_count == N(kChrome));
  CHECK(req->head_len == len);
  CHECK(!req->bare_lf);
  for (size_t i = 0; i < N(kChrome) && i < req->header_count; i++) {
    CHECK(req->headers[i].name.len == strlen(kChrome[i].name));
    CHECK(memcmp(req->headers[i].name.data, kChrome[i].name, strlen(kChrome[i].name)) == 0);
    CHECK(req->headers[i].value.len == strlen(kChrome[i].value));
    CHECK(memcmp(req->headers[i].value.data, kChrome[i].value, strlen(kChrome[i].value)) == 0);
  }
  gfp_h1_free(req);

  /* Odd but legal: repeated names, lowercase Host late in the list, an empty value,
   * tokens with every tchar, obs-text and HTAB in a value. */
  const h1_field odd[] = {
      {"X-A", "1"}, {"x-a", "2"}, {"host", "h:8080"}, {"X-Empty", ""},
      {"!#$%&'*+-.^_`|~09aZ", "v"}, {"X-Bin", "caf\xc3\xa9\tx"},
  };
  h1_request r2 = {"M-SEARCH", "*", odd, N(odd), 0, 0};
  expect_wire(&r2, "M-SEARCH * HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nhost: h:8080\r\nX-Empty: \r\n"
                   "!#$%&'*+-.^_`|~09aZ: v\r\nX-Bin: caf\xc3\xa9\tx\r\n\r\n");
}

static void test_h1_request_content_length(void) {
  /* A NULL-valued Content-Length is filled in where the profile put it (Chrome: early). */
  const h1_field placed[] = {{"Host", "h"}, {"Connection", "keep-alive"},
                             {"Content-Length", NULL}, {"Content-Type", "text/plain"}};
  h1_request r = {"POST", "/", placed, N(placed), 1, 5};
  expect_wire(&r, "POST / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nContent-Length: 5\r\n"
                  "Content-Type: text/plain\r\n\r\n");
  /* None given: appended after the last field. */
  const h1_field plain[] = {{"Host", "h"}, {"Content-Type", "text/plain"}};
  h1_request r2 = {"POST", "/", plain, N(plain), 1, 18446744073709551615ull};
  expect_wire(&r2, "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 18446744073709551615\r\n\r\n");
  /* An empty body still says 0, as Chrome does for an empty POST. */
  h1_request r3 = {"POST", "/", plain, N(plain), 1, 0};
  expect_wire(&r3, "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n");
  /* No body: nothing added. */
  h1_request r4 = {"GET", "/", plain, N(plain), 0, 77};
  expect_wire(&r4, "GET / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n\r\n");
  /* A matching value given by the caller is kept, case included. */
  const h1_field given[] = {{"content-length", "12"}, {"Host", "h"}};
  h1_request r5 = {"PUT", "/x", given, N(given), 1, 12};
  expect_wire(&r5, "PUT /x HTTP/1.1\r\ncontent-length: 12\r\nHost: h\r\n\r\n");
  /* ... without a body it is passed through as given. */
  h1_request r6 = {"PUT", "/x", given, N(given), 0, 0};
  expect_wire(&r6, "PUT /x HTTP/1.1\r\ncontent-length: 12\r\nHost: h\r\n\r\n");
  /* Transfer-Encoding: the caller chunks; no Content-Length is added. */
  const h1_field te[] = {{"Host", "h"}, {"Transfer-Encoding", "chunked"}};
  h1_request r7 = {"POST", "/", te, N(te), 1, 100};
  expect_wire(&r7, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");

  h1_request bad = {"PUT", "/x", given, N(given), 1, 13};
  expect_refused(&bad, 0, "differs");
  const h1_field two[] = {{"Host", "h"}, {"Content-Length", "1"}, {"Content-length", "1"}};
  h1_request bad2 = {"POST", "/", two, N(two), 1, 1};
  expect_refused(&bad2, 2, "more than one Content-Length");
  h1_request bad3 = {"GET", "/", placed, N(placed), 0, 0};
  expect_refused(&bad3, 2, "no body");
  const h1_field both[] = {{"Host", "h"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}};
  h1_request bad4 = {"POST", "/", both, N(both), 1, 3};
  expect_refused(&bad4, -1, "Transfer-Encoding");
  /* Content-Length "05" is not the body length's text: refused, not reinterpreted. */
  const h1_field padded[] = {{"Host", "h"}, {"Content-Length", "05"}};
  h1_request bad5 = {"POST", "/", padded, N(padded), 1, 5};
  expect_refused(&bad5, 1, "differs");
}

static void test_h1_request_refuses_injection(void) {
  const h1_field crlf[] = {{"Host", "h"}, {"X-A", "ok\r\nX-Injected: 1"}};
  h1_request r = {"GET", "/", crlf, N(crlf), 0, 0};
  expect_refused(&r, 1, "injection");
  const h1_field lf[] = {{"Host", "h"}, {"X-A", "a\nb"}};
  h1_request r1 = {"GET", "/", lf, N(lf), 0, 0};
  expect_refused(&r1, 1, "injection");
  const h1_field cr[] = {{"Host", "h\r"}};
  h1_request r2 = {"GET", "/", cr, N(cr), 0, 0};
  expect_refused(&r2, 0, "injection");
  /* Names: tokens only — no space, colon, CR, LF, empty, or non-ASCII. */
  const char *bad_names[] = {"X A", "X:A", "X\r\nA", "", "X\xc3\xa9", "X\tA", "(X)", "X/A"};
  for (size_t i = 0; i < N(bad_names); i++) {
    const h1_field f[] = {{"Host", "h"}, {bad_names[i], "v"}};
    h1_request rn = {"GET", "/", f, N(f), 0, 0};
    expect_refused(&rn, 1, "token");
  }
  const h1_field nullname[] = {{"Host", "h"}, {NULL, "v"}};
  h1_request rnn = {"GET", "/", nullname, N(nullname), 0, 0};
  expect_refused(&rnn, 1, "token");
  const h1_field nullval[] = {{"Host", "h"}, {"X", NULL}};
  h1_request rnv = {"GET", "/", nullval, N(nullval), 0, 0};
  expect_refused(&rnv, 1, "without a value");
  /* Method and target. */
  const h1_field host[] = {{"Host", "h"}};
  const char *bad_methods[] = {"GE T", "", "GET\r\n", "G:T"};
  for (size_t i = 0; i < N(bad_methods); i++) {
    h1_request rm = {bad_methods[i], "/", host, 1, 0, 0};
    expect_refused(&rm, -1, "method");
  }
  h1_request rm0 = {NULL, "/", host, 1, 0, 0};
  expect_refused(&rm0, -1, "method");
  const char *bad_targets[] = {"/a b", "/a\r\nX: y", "/\x7f", "/\xc3\xa9", "/\t"};
  for (size_t i = 0; i < N(bad_targets); i++) {
    h1_request rt = {"GET", bad_targets[i], host, 1, 0, 0};
    expect_refused(&rt, -1, "request-target");
  }
  h1_request rt0 = {"GET", "", host, 1, 0, 0};
  expect_refused(&rt0, -1, "empty request-target");
  /* Host: exactly one (RFC 9112 §3.2). */
  const h1_field nohost[] = {{"Accept", "*/*"}};
  h1_request rh = {"GET", "/", nohost, 1, 0, 0};
  expect_refused(&rh, -1, "no Host");
  h1_request rh0 = {"GET", "/", NULL, 0, 0, 0};
  expect_refused(&rh0, -1, "no Host");
  const h1_field twohosts[] = {{"Host", "a"}, {"HOST", "b"}};
  h1_request rh2 = {"GET", "/", twohosts, 2, 0, 0};
  expect_refused(&rh2, -1, "more than one Host");
  CHECK(h1_request_size(NULL, NULL, NULL) == GUISE_E_USAGE_INVALID_ARGUMENT);
}

static void test_h1_request_caps_and_buffers(void) {
  const h1_field host[] = {{"Host", "h"}};
  h1_request r = {"GET", "/", host, 1, 0, 0};
  const char *want = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  size_t n = strlen(want), len = 0;
  /* Caller buffer: exact fit works, one byte less writes nothing. */
  uint8_t small[64];
  memset(small, 0xAA, sizeof(small));
  h1_request_err e;
  CHECK(h1_request_write(&r, small, n - 1, &len, &e) == GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK(strstr(e.reason, "buffer") != NULL && small[0] == 0xAA);
  CHECK(h1_request_write(&r, small, n, &len, &e) == 0 && len == n && memcmp(small, want, n) == 0);
  CHECK(small[n] == 0xAA);

  /* Growable CBB with a hard maximum: refused before anything is appended. */
  CBB cbb;
  CHECK(CBB_init(&cbb, 0));
  CHECK(CBB_add_u8(&cbb, 'X'));
  CHECK(h1_request_write_cbb(&r, &cbb, n - 1, &e) == GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK(CBB_len(&cbb) == 1);
  CHECK(h1_request_write_cbb(&r, &cbb, n, &e) == 0);
  CHECK(CBB_len(&cbb) == n + 1 && memcmp(CBB_data(&cbb) + 1, want, n) == 0);
  CBB_cleanup(&cbb);

  /* 100 fields pass, 101 do not. */
  static h1_field many[H1_REQUEST_MAX_FIELDS + 1];
  many[0].name = "Host";
  many[0].value = "h";
  for (size_t i = 1; i < N(many); i++) {
    many[i].name = "X";
    many[i].value = "1";
  }
  h1_request rm = {"GET", "/", many, H1_REQUEST_MAX_FIELDS, 0, 0};
  CHECK(h1_request_size(&rm, &len, NULL) == 0);
  rm.n_fields++;
  expect_refused(&rm, -1, "100");

  /* The head cap: a value that brings the head to exactly 64 KiB passes, one more byte not. */
  static char big[H1_REQUEST_MAX_HEAD];
  const size_t fixed = strlen("GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n");
  memset(big, 'v', sizeof(big));
  big[H1_REQUEST_MAX_HEAD - fixed] = '\0';
  const h1_field huge[] = {{"Host", "h"}, {"X", big}};
  h1_request rb = {"GET", "/", huge, 2, 0, 0};
  CHECK(h1_request_size(&rb, &len, NULL) == 0 && len == H1_REQUEST_MAX_HEAD);
  CHECK(h1_request_write(&rb, out, sizeof(out), &len, NULL) == 0 && len == H1_REQUEST_MAX_HEAD);
  big[H1_REQUEST_MAX_HEAD - fixed] = 'v';
  big[H1_REQUEST_MAX_HEAD - fixed + 1] = '\0';
  expect_refused(&rb, 1, "64 KiB");
  /* The growable writer obeys the same cap whatever maximum it is given. */
  CHECK(CBB_init(&cbb, 0));
  CHECK(h1_request_write_cbb(&rb, &cbb, SIZE_MAX, &e) == GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK(CBB_len(&cbb) == 0);
  CBB_cleanup(&cbb);
}

int main(void) {
  test_h1_request_exact_order_and_case();
  test_h1_request_content_length();
  test_h1_request_refuses_injection();
  test_h1_request_caps_and_buffers();
  return gt_done("test_h1_request");
}

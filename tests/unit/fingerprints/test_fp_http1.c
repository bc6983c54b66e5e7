/* HTTP/1.x request-head parser: field order and case, OWS handling, byte-at-a-time and
 * odd chunkings, RFC 9112 tolerances, and malformed / over-limit heads with the exact
 * error offset and reason. */
#include "guise_fp.h"
#include "tcheck.h"

static const char kCurl[] = "GET /index.html?q=1 HTTP/1.1\r\n"
                            "Host: localhost:18443\r\n"
                            "User-Agent: curl/7.88.1\r\n"
                            "Accept: */*\r\n"
                            "x-Mixed-CASE:  spaced value \t\r\n"
                            "Empty:\r\n"
                            "\r\n"
                            "BODY";

static bool bytes_is(gfp_bytes b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

static void check_curl(const gfp_h1_request *r)
{
    TC_CHECK(bytes_is(r->method, "GET"));
    TC_CHECK(bytes_is(r->target, "/index.html?q=1"));
    TC_EQ(r->version_major, 1);
    TC_EQ(r->version_minor, 1);
    TC_EQ(r->header_count, 5);
    static const char *const want[][2] = {{"Host", "localhost:18443"},
                                          {"User-Agent", "curl/7.88.1"},
                                          {"Accept", "*/*"},
                                          {"x-Mixed-CASE", "spaced value"},
                                          {"Empty", ""}};
    for (size_t i = 0; i < 5 && i < r->header_count; i++) {
        TC_CHECK(bytes_is(r->headers[i].name, want[i][0]));
        TC_CHECK(bytes_is(r->headers[i].value, want[i][1]));
    }
    TC_EQ(r->head_len, strlen(kCurl) - 4);
    TC_CHECK(!r->bare_lf);
}

static void test_good(void)
{
    const uint8_t *d = (const uint8_t *)kCurl;
    size_t len = strlen(kCurl);
    gfp_h1_request *r = gfp_h1_new();

    TC_EQ(gfp_h1_parse(r, d, len), GFP_DONE);
    check_curl(r);
    TC_EQ(gfp_h1_parse(r, d, len), GFP_DONE); /* sticky */

    /* Byte at a time on one object: NEED_MORE until the empty line's LF. */
    size_t head = len - 4;
    for (size_t step = 1; step <= 7; step += 3) {
        gfp_h1_reset(r);
        bool ok = true;
        size_t i = 0;
        for (; i + step < head; i += step)
            ok &= gfp_h1_parse(r, d, i) == GFP_NEED_MORE;
        TC_CHECK(ok);
        TC_EQ(gfp_h1_parse(r, d, len), GFP_DONE);
        check_curl(r);
    }
    gfp_h1_reset(r);
    for (size_t i = 0; i < head; i++)
        TC_EQ(gfp_h1_parse(r, d, i), GFP_NEED_MORE);
    TC_EQ(gfp_h1_parse(r, d, head), GFP_DONE);
    check_curl(r);

    /* Bare LF and leading empty lines (RFC 9112 §2.2). */
    static const char lf[] = "\r\n\r\nPOST * HTTP/1.0\nA: b\n\n";
    gfp_h1_reset(r);
    TC_EQ(gfp_h1_parse(r, (const uint8_t *)lf, strlen(lf)), GFP_DONE);
    TC_CHECK(r->bare_lf);
    TC_EQ(r->leading_empty_lines, 2);
    TC_CHECK(bytes_is(r->method, "POST"));
    TC_CHECK(bytes_is(r->target, "*"));
    TC_EQ(r->version_minor, 0);
    TC_EQ(r->header_count, 1);
    TC_EQ(r->head_len, strlen(lf));

    /* obs-text in values is kept. */
    static const char obs[] = "GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n";
    gfp_h1_reset(r);
    TC_EQ(gfp_h1_parse(r, (const uint8_t *)obs, strlen(obs)), GFP_DONE);
    TC_CHECK(bytes_is(r->headers[0].value, "caf\xc3\xa9"));
    gfp_h1_free(r);
}

/* Expects |req| to fail with |reason| at |offset|, whole and byte by byte (the error must
 * appear no later than when the whole input is present). */
static void expect_error(const char *req, size_t len, size_t offset, const char *reason)
{
    gfp_h1_request *r = gfp_h1_new();
    TC_EQ(gfp_h1_parse(r, (const uint8_t *)req, len), GFP_ERROR);
    TC_EQ(r->err_offset, offset);
    TC_STREQ(r->err_reason, reason);
    TC_EQ(gfp_h1_parse(r, (const uint8_t *)req, len), GFP_ERROR); /* sticky */
    gfp_h1_reset(r);
    gfp_status st = GFP_NEED_MORE;
    for (size_t i = 0; i <= len && st == GFP_NEED_MORE; i++)
        st = gfp_h1_parse(r, (const uint8_t *)req, i);
    TC_EQ(st, GFP_ERROR);
    TC_EQ(r->err_offset, offset);
    gfp_h1_free(r);
}

#define ERR(s, off, why) expect_error(s, sizeof(s) - 1, off, why)

static void test_errors(void)
{
    ERR("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 22, "obsolete line folding (RFC 9112 §5.2)");
    ERR("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 20, "whitespace before colon (RFC 9112 §5.1)");
    ERR("GET / HTTP/1.1\r\nHost\r\n\r\n", 20, "field line without colon (RFC 9112 §5)");
    ERR("GET / HTTP/1.1\r\n: x\r\n\r\n", 16, "invalid field name (RFC 9110 §5.1)");
    ERR("GET / HTTP/1.1\r\nA(b: x\r\n\r\n", 17, "invalid field name (RFC 9110 §5.1)");
    ERR("GET / HTTP/1.1\r\nA: x\0y\r\n\r\n", 20, "invalid character in field value (RFC 9110 §5.5)");
    ERR("GET / HTTP/1.1\r\nA: x\ry\r\n\r\n", 20, "invalid character in field value (RFC 9110 §5.5)");
    ERR("GET / HTTP/1.1x\r\n\r\n", 6, "invalid HTTP-version (RFC 9112 §2.3)");
    ERR("GET / http/1.1\r\n\r\n", 6, "invalid HTTP-version (RFC 9112 §2.3)");
    ERR("GET  / HTTP/1.1\r\n\r\n", 4, "invalid request-target (RFC 9112 §3.2)");
    ERR("GET /a\x01 HTTP/1.1\r\n\r\n", 6, "request-target not followed by a single SP (RFC 9112 §3)");
    ERR("G(T / HTTP/1.1\r\n\r\n", 1, "method not followed by a single SP (RFC 9112 §3)");
    ERR(" GET / HTTP/1.1\r\n\r\n", 0, "invalid method token (RFC 9112 §3.1)");

    /* A line over GFP_H1_MAX_LINE fails as soon as MAX_LINE + 2 bytes lack an LF. */
    size_t n = 16 + GFP_H1_MAX_LINE + 10;
    char *big = malloc(n + 1);
    memcpy(big, "GET / HTTP/1.1\r\n", 16);
    memset(big + 16, 'a', n - 16);
    big[n] = '\0';
    expect_error(big, n, 16 + GFP_H1_MAX_LINE, "line longer than GFP_H1_MAX_LINE");
    /* ... and also when its LF is already there. */
    memcpy(big + 16, "X: ", 3);
    memcpy(big + n - 4, "\r\n\r\n", 4);
    expect_error(big, n, 16 + GFP_H1_MAX_LINE, "line longer than GFP_H1_MAX_LINE");
    free(big);

    /* Too many fields: the 101st line fails at its first byte. */
    size_t cap = 16 + (GFP_H1_MAX_HEADERS + 1) * 8 + 2;
    char *many = malloc(cap + 1);
    size_t o = 0;
    memcpy(many, "GET / HTTP/1.1\r\n", 16);
    o = 16;
    for (size_t i = 0; i <= GFP_H1_MAX_HEADERS; i++) {
        memcpy(many + o, "X-a: b\r\n", 8);
        o += 8;
    }
    memcpy(many + o, "\r\n", 2);
    o += 2;
    expect_error(many, o, 16 + GFP_H1_MAX_HEADERS * 8, "too many header fields (GFP_H1_MAX_HEADERS)");
    free(many);

    /* Head over GFP_H1_MAX_HEAD: 90 fields of 1000 bytes. */
    size_t hn = 16 + 90 * 1000 + 2;
    char *huge = malloc(hn);
    memcpy(huge, "GET / HTTP/1.1\r\n", 16);
    for (size_t i = 0; i < 90; i++) {
        char *l = huge + 16 + i * 1000;
        memset(l, 'v', 1000);
        memcpy(l, "X-a: ", 5);
        memcpy(l + 998, "\r\n", 2);
    }
    memcpy(huge + hn - 2, "\r\n", 2);
    expect_error(huge, hn, GFP_H1_MAX_HEAD, "request head larger than GFP_H1_MAX_HEAD");
    free(huge);

    /* Misuse: a shorter buffer than last time. */
    gfp_h1_request *r = gfp_h1_new();
    TC_EQ(gfp_h1_parse(r, (const uint8_t *)"GET / HTTP/1.1\r\nA", 17), GFP_NEED_MORE);
    TC_EQ(gfp_h1_parse(r, (const uint8_t *)"GET", 3), GFP_ERROR);
    TC_STREQ(r->err_reason, "input shorter than in the previous call");
    gfp_h1_free(r);
}

int main(void)
{
    test_good();
    test_errors();
    return tc_summary("test_fp_http1");
}

/* HTTP/2 preface parser and Akamai fingerprint: golden h2c captures (curl, nghttp),
 * synthetic Chromium- and Firefox-shaped prefaces built with CBB + nghttp2's HPACK
 * deflater, byte-at-a-time delivery, and malformed / over-limit input with the exact
 * error offset and reason.
 *
 * Usage: test_fp_h2 <vectors dir> */
#include "guise_fp.h"
#include "tcheck.h"
#include "tpcap.h"

#include <jansson.h>
#include <nghttp2/nghttp2.h>
#include <openssl/bytestring.h>
#include <openssl/mem.h>

static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* ---- builders ---------------------------------------------------------------------- */

static void frame(CBB *out, uint8_t type, uint8_t flags, uint32_t stream, const uint8_t *p,
                  size_t n)
{
    TC_CHECK(CBB_add_u24(out, (uint32_t)n) && CBB_add_u8(out, type) &&
             CBB_add_u8(out, flags) && CBB_add_u32(out, stream) &&
             (n == 0 || CBB_add_bytes(out, p, n)));
}

static void settings(CBB *out, const uint32_t (*kv)[2], size_t n)
{
    CBB p;
    TC_CHECK(CBB_init(&p, 64));
    for (size_t i = 0; i < n; i++)
        TC_CHECK(CBB_add_u16(&p, (uint16_t)kv[i][0]) && CBB_add_u32(&p, kv[i][1]));
    frame(out, GFP_H2_SETTINGS, 0, 0, CBB_data(&p), CBB_len(&p));
    CBB_cleanup(&p);
}

static void window_update(CBB *out, uint32_t stream, uint32_t inc)
{
    uint8_t p[4] = {(uint8_t)(inc >> 24), (uint8_t)(inc >> 16), (uint8_t)(inc >> 8),
                    (uint8_t)inc};
    frame(out, GFP_H2_WINDOW_UPDATE, 0, stream, p, 4);
}

/* HPACK-encodes |n| name/value pairs with a fresh deflater into |buf|. */
static size_t hpack(const char *const (*nv)[2], size_t n, uint8_t *buf, size_t cap)
{
    nghttp2_hd_deflater *def;
    nghttp2_nv v[32];
    TC_CHECK(n <= 32 && nghttp2_hd_deflate_new(&def, 4096) == 0);
    for (size_t i = 0; i < n; i++) {
        v[i].name = (uint8_t *)(uintptr_t)nv[i][0];
        v[i].namelen = strlen(nv[i][0]);
        v[i].value = (uint8_t *)(uintptr_t)nv[i][1];
        v[i].valuelen = strlen(nv[i][1]);
        v[i].flags = NGHTTP2_NV_FLAG_NONE;
    }
    ssize_t r = nghttp2_hd_deflate_hd(def, buf, cap, v, n);
    nghttp2_hd_deflate_del(def);
    TC_CHECK(r > 0);
    return r > 0 ? (size_t)r : 0;
}

static const char *const kChromeHeaders[][2] = {
    {":method", "GET"},
    {":authority", "localhost:8443"},
    {":scheme", "https"},
    {":path", "/"},
    {"sec-ch-ua", "\"Chromium\";v=\"156\""},
    {"sec-ch-ua-mobile", "?0"},
    {"upgrade-insecure-requests", "1"},
    {"user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36"},
    {"accept", "text/html,application/xhtml+xml"},
    {"accept-encoding", "gzip, deflate, br, zstd"},
    {"priority", "u=0, i"},
};

static const char *const kFirefoxHeaders[][2] = {
    {":method", "GET"},
    {":path", "/"},
    {":authority", "localhost:8443"},
    {":scheme", "https"},
    {"user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0"},
    {"accept", "text/html"},
    {"accept-language", "en-US,en;q=0.5"},
    {"te", "trailers"},
};

/* Chromium 156 as measured (FINGERPRINTS.md): SETTINGS, WINDOW_UPDATE, HEADERS with
 * priority weight 256 exclusive on stream 1. */
static void build_chrome(CBB *out)
{
    static const uint32_t s[][2] = {{1, 65536}, {2, 0}, {4, 6291456}, {6, 262144}};
    uint8_t block[1024], p[1100];
    size_t n = hpack(kChromeHeaders, sizeof(kChromeHeaders) / sizeof(kChromeHeaders[0]), block,
                     sizeof(block));
    TC_CHECK(CBB_add_bytes(out, (const uint8_t *)kPreface, 24));
    settings(out, s, 4);
    window_update(out, 0, 15663105);
    /* E=1, dependency 0, weight 255 (256). */
    p[0] = 0x80, p[1] = 0, p[2] = 0, p[3] = 0, p[4] = 255;
    memcpy(p + 5, block, n);
    frame(out, GFP_H2_HEADERS, 0x1 | 0x4 | 0x20, 1, p, n + 5);
}

/* Firefox ESR 153 shape, with the header block split over a padded HEADERS and two
 * CONTINUATION frames, and a PING in front to check it is tolerated. */
static void build_firefox(CBB *out)
{
    static const uint32_t s[][2] = {{1, 65536}, {2, 0}, {4, 131072}, {5, 16384}};
    uint8_t block[1024], p[1100];
    size_t n = hpack(kFirefoxHeaders, sizeof(kFirefoxHeaders) / sizeof(kFirefoxHeaders[0]),
                     block, sizeof(block));
    static const uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    TC_CHECK(CBB_add_bytes(out, (const uint8_t *)kPreface, 24));
    settings(out, s, 4);
    window_update(out, 0, 12517377);
    frame(out, GFP_H2_PING, 0, 0, ping, 8);
    /* PADDED + PRIORITY: pad length 3, E=0 dependency 0, weight 41 (42). */
    size_t first = n / 3, second = n / 3;
    p[0] = 3, p[1] = 0, p[2] = 0, p[3] = 0, p[4] = 0, p[5] = 41;
    memcpy(p + 6, block, first);
    memset(p + 6 + first, 0, 3);
    frame(out, GFP_H2_HEADERS, 0x1 | 0x8 | 0x20, 3, p, first + 9);
    frame(out, GFP_H2_CONTINUATION, 0, 3, block + first, second);
    frame(out, GFP_H2_CONTINUATION, 0x4, 3, block + first + second, n - first - second);
}

/* Parses |data| whole, then every prefix up to the end of the first request's block
 * (NEED_MORE each), then whole again; returns the final status. */
static gfp_status parse_all_ways(gfp_h2_preface *h2, const uint8_t *data, size_t len)
{
    if (gfp_h2_parse(h2, data, len) != GFP_DONE)
        return GFP_ERROR;
    size_t end = h2->consumed;
    bool prefixes_ok = true;
    for (size_t i = 0; i < end; i++)
        prefixes_ok &= gfp_h2_parse(h2, data, i) == GFP_NEED_MORE;
    TC_CHECK(prefixes_ok);
    TC_EQ(gfp_h2_parse(h2, data, end), GFP_DONE);
    return gfp_h2_parse(h2, data, len);
}

static bool header_is(const gfp_h2_header *h, const char *name, const char *value)
{
    return h->name.len == strlen(name) && memcmp(h->name.data, name, h->name.len) == 0 &&
           h->value.len == strlen(value) && memcmp(h->value.data, value, h->value.len) == 0;
}

static void test_synthetic(void)
{
    gfp_h2_preface *h2 = gfp_h2_new();
    gfp_h2_fp fp;
    CBB b;

    TC_CHECK(CBB_init(&b, 2048));
    build_chrome(&b);
    TC_EQ(parse_all_ways(h2, CBB_data(&b), CBB_len(&b)), GFP_DONE);
    TC_EQ(h2->consumed, CBB_len(&b));
    TC_EQ(h2->frame_count, 3);
    TC_CHECK(h2->headers_frame != NULL && h2->headers_frame->stream_id == 1 &&
             h2->headers_frame->has_priority && h2->headers_frame->priority.exclusive &&
             h2->headers_frame->priority.weight == 256 &&
             h2->headers_frame->priority.depends_on == 0);
    TC_EQ(h2->header_count, sizeof(kChromeHeaders) / sizeof(kChromeHeaders[0]));
    for (size_t i = 0; i < h2->header_count; i++)
        TC_CHECK(header_is(&h2->headers[i], kChromeHeaders[i][0], kChromeHeaders[i][1]));
    TC_EQ(gfp_h2_fp_compute(h2, &fp), 0);
    TC_STREQ(fp.akamai, "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p");
    TC_STREQ(fp.akamai_md5, "52d84b11737d980aef856699f885ca86");
    gfp_h2_fp_free(&fp);
    /* Extra bytes after the block (e.g. a DATA frame) are not consumed. */
    TC_CHECK(CBB_add_bytes(&b, (const uint8_t *)"\0\0\0\0\0\0\0\0\1", 9));
    TC_EQ(gfp_h2_parse(h2, CBB_data(&b), CBB_len(&b)), GFP_DONE);
    TC_EQ(h2->consumed, CBB_len(&b) - 9);
    CBB_cleanup(&b);

    TC_CHECK(CBB_init(&b, 2048));
    build_firefox(&b);
    TC_EQ(parse_all_ways(h2, CBB_data(&b), CBB_len(&b)), GFP_DONE);
    TC_EQ(h2->frame_count, 6);
    TC_CHECK(h2->headers_frame != NULL && h2->headers_frame->stream_id == 3 &&
             h2->headers_frame->has_priority && !h2->headers_frame->priority.exclusive &&
             h2->headers_frame->priority.weight == 42);
    TC_EQ(h2->header_count, sizeof(kFirefoxHeaders) / sizeof(kFirefoxHeaders[0]));
    for (size_t i = 0; i < h2->header_count; i++)
        TC_CHECK(header_is(&h2->headers[i], kFirefoxHeaders[i][0], kFirefoxHeaders[i][1]));
    TC_EQ(h2->settings_count, 4);
    TC_EQ(gfp_h2_fp_compute(h2, &fp), 0);
    TC_STREQ(fp.akamai, "1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s");
    gfp_h2_fp_free(&fp);
    CBB_cleanup(&b);
    gfp_h2_free(h2);
}

/* Expects |data| to fail with |reason| at |offset|, both whole and as soon as the
 * offending bytes have arrived when fed byte by byte. */
static void expect_error(const uint8_t *data, size_t len, size_t offset, const char *reason)
{
    gfp_h2_preface *h2 = gfp_h2_new();
    TC_EQ(gfp_h2_parse(h2, data, len), GFP_ERROR);
    TC_EQ(h2->err_offset, offset);
    TC_STREQ(h2->err_reason, reason);
    size_t i = 0;
    while (i <= len && gfp_h2_parse(h2, data, i) == GFP_NEED_MORE)
        i++;
    TC_CHECK(i <= len && h2->err_offset == offset);
    gfp_h2_free(h2);
}

static void test_errors(void)
{
    static const uint32_t s1[][2] = {{3, 100}};
    uint8_t buf[256];
    CBB b;

    expect_error((const uint8_t *)"PRI * HTTP/1.1\r\n", 16, 11,
                 "not the HTTP/2 client preface (RFC 9113 §3.4)");

    /* WINDOW_UPDATE before SETTINGS. */
    TC_CHECK(CBB_init(&b, 256) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
    window_update(&b, 0, 1000);
    expect_error(CBB_data(&b), CBB_len(&b), 24,
                 "first frame after the preface is not SETTINGS (RFC 9113 §3.4)");
    CBB_cleanup(&b);

    /* Over-size frame: the header alone is enough to refuse it. */
    TC_CHECK(CBB_init(&b, 256) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24) &&
             CBB_add_u24(&b, GFP_H2_MAX_FRAME_PAYLOAD + 1) && CBB_add_u8(&b, 4) &&
             CBB_add_u8(&b, 0) && CBB_add_u32(&b, 0));
    expect_error(CBB_data(&b), CBB_len(&b), 24,
                 "frame larger than SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2)");
    CBB_cleanup(&b);

    /* SETTINGS of 7 bytes. */
    TC_CHECK(CBB_init(&b, 256) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
    frame(&b, GFP_H2_SETTINGS, 0, 0, buf, 7);
    expect_error(CBB_data(&b), CBB_len(&b), 24,
                 "SETTINGS length not a multiple of 6 (RFC 9113 §6.5)");
    CBB_cleanup(&b);

    /* Header block interrupted by a PING (offset: the PING's header). */
    TC_CHECK(CBB_init(&b, 256) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
    settings(&b, s1, 1);                         /* 24 .. 39 */
    frame(&b, GFP_H2_HEADERS, 0, 1, buf, 0);     /* 39 .. 48, no END_HEADERS */
    memset(buf, 0, 8);
    frame(&b, GFP_H2_PING, 0, 0, buf, 8);        /* 48 */
    expect_error(CBB_data(&b), CBB_len(&b), 48,
                 "header block interrupted before END_HEADERS (RFC 9113 §6.10)");
    CBB_cleanup(&b);

    /* Padding longer than the payload: offset is the first byte after Pad Length. */
    TC_CHECK(CBB_init(&b, 256) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
    settings(&b, s1, 1);
    buf[0] = 10, buf[1] = 0x82, buf[2] = 0x84;
    frame(&b, GFP_H2_HEADERS, 0x4 | 0x8, 1, buf, 3); /* header at 39, payload at 48 */
    expect_error(CBB_data(&b), CBB_len(&b), 49,
                 "HEADERS padding longer than the payload (RFC 9113 §6.2)");
    CBB_cleanup(&b);

    /* DATA before HEADERS. */
    TC_CHECK(CBB_init(&b, 256) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
    settings(&b, s1, 1);
    frame(&b, GFP_H2_DATA, 0, 1, buf, 1);
    expect_error(CBB_data(&b), CBB_len(&b), 39, "DATA before the first HEADERS (RFC 9113 §5.1)");
    CBB_cleanup(&b);

    /* Undecodable HPACK: indexed field 0x7f+huge index. Offset: the block's first byte. */
    TC_CHECK(CBB_init(&b, 256) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
    settings(&b, s1, 1);
    memset(buf, 0xff, 6);
    frame(&b, GFP_H2_HEADERS, 0x4, 1, buf, 6); /* payload at 48 */
    expect_error(CBB_data(&b), CBB_len(&b), 48, "HPACK decoding error (RFC 7541)");
    CBB_cleanup(&b);

    /* Too many frames: SETTINGS then PINGs. */
    TC_CHECK(CBB_init(&b, 2048) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
    settings(&b, s1, 1);
    for (size_t i = 1; i < GFP_H2_MAX_FRAMES + 1; i++)
        frame(&b, GFP_H2_PING, 0, 0, buf, 8);
    expect_error(CBB_data(&b), CBB_len(&b), 39 + (GFP_H2_MAX_FRAMES - 1) * 17,
                 "too many frames before the first request (GFP_H2_MAX_FRAMES)");
    CBB_cleanup(&b);

    /* Header block over GFP_H2_MAX_HEADER_BLOCK: four full frames fit exactly, one more
     * byte in a fifth (CONTINUATION) fails at that byte. */
    {
        static uint8_t big[GFP_H2_MAX_FRAME_PAYLOAD];
        memset(big, 0x82, sizeof(big));
        TC_CHECK(CBB_init(&b, 5 * (9 + sizeof(big)) + 64) &&
                 CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
        settings(&b, s1, 1);
        frame(&b, GFP_H2_HEADERS, 0, 1, big, sizeof(big));
        for (int i = 0; i < 3; i++)
            frame(&b, GFP_H2_CONTINUATION, 0, 1, big, sizeof(big));
        frame(&b, GFP_H2_CONTINUATION, 0x4, 1, big, 1);
        TC_CHECK(4 * sizeof(big) == GFP_H2_MAX_HEADER_BLOCK);
        expect_error(CBB_data(&b), CBB_len(&b), 39 + 4 * (9 + sizeof(big)) + 9,
                     "header block larger than GFP_H2_MAX_HEADER_BLOCK");
        CBB_cleanup(&b);
    }

    /* HPACK expansion: one 3000-byte literal added to the dynamic table (nghttp2 does
     * not index entries above 3/4 of the table), then indexed 40 times from a 40-byte
     * tail: must stop at GFP_H2_MAX_DECODED. */
    {
        nghttp2_hd_deflater *def;
        static char big[3001];
        memset(big, 'a', 3000);
        nghttp2_nv nv = {(uint8_t *)"x", (uint8_t *)big, 1, 3000, NGHTTP2_NV_FLAG_NONE};
        uint8_t block[8192];
        TC_CHECK(nghttp2_hd_deflate_new(&def, 4096) == 0);
        ssize_t n = nghttp2_hd_deflate_hd(def, block, sizeof(block), &nv, 1);
        nghttp2_hd_deflate_del(def);
        TC_CHECK(n > 0);
        for (int i = 0; i < 40; i++)
            block[n + i] = 0x80 | 62; /* indexed: first dynamic entry (RFC 7541 §2.3.3) */
        TC_CHECK(CBB_init(&b, 9000) && CBB_add_bytes(&b, (const uint8_t *)kPreface, 24));
        settings(&b, s1, 1);
        frame(&b, GFP_H2_HEADERS, 0x4, 1, block, (size_t)n + 40);
        gfp_h2_preface *h2 = gfp_h2_new();
        TC_EQ(gfp_h2_parse(h2, CBB_data(&b), CBB_len(&b)), GFP_ERROR);
        TC_STREQ(h2->err_reason, "decoded headers larger than GFP_H2_MAX_DECODED");
        /* 21 fields fit in 64 KiB (21 * 3001); the 22nd (the 21st index byte) does not. */
        TC_EQ(h2->err_offset, 48 + (size_t)n + 20);
        gfp_h2_free(h2);
        CBB_cleanup(&b);
    }
}

/* h2c captures: nghttp (stream 0) and curl (stream 1) against nghttpd on port 18445. */
static void test_pcap(const char *vdir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/h2/akamai_examples.json", vdir);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    TC_CHECK(j != NULL);
    snprintf(path, sizeof(path), "%s/h2/nghttp1.52_and_curl_h2c_port18445.pcap", vdir);
    size_t len;
    uint8_t *file = tc_read_file(path, &len);
    TC_CHECK(file != NULL);
    if (j == NULL || file == NULL) {
        json_decref(j);
        free(file);
        return;
    }
    tp_capture cap;
    TC_CHECK(tp_load(file, len, 18445, &cap));
    TC_EQ(cap.n, 2);
    gfp_h2_preface *h2 = gfp_h2_new();
    size_t i, checked = 0;
    json_t *line;
    json_array_foreach(json_object_get(json_object_get(j, "tool_output_now"), "h2c"), i, line) {
        json_t *rec = json_loads(json_string_value(line), 0, &jerr);
        TC_CHECK(rec != NULL);
        size_t stream = (size_t)atoi(json_string_value(json_object_get(rec, "tcp_stream")));
        TC_CHECK(stream < cap.n);
        if (rec == NULL || stream >= cap.n) {
            json_decref(rec);
            continue;
        }
        tp_stream *s = &cap.s[stream];
        TC_EQ(parse_all_ways(h2, s->data, s->len), GFP_DONE);
        gfp_h2_fp fp;
        TC_EQ(gfp_h2_fp_compute(h2, &fp), 0);
        TC_STREQ(fp.akamai, json_string_value(json_object_get(rec, "akamai")));
        TC_STREQ(fp.akamai_md5, json_string_value(json_object_get(rec, "akamai_hash")));
        gfp_h2_fp_free(&fp);
        json_decref(rec);
        checked++;
    }
    TC_EQ(checked, 2);
    /* Every documented akamai string hashes to its documented MD5. */
    json_t *c;
    json_array_foreach(json_object_get(j, "cases"), i, c) {
        const char *s = json_string_value(json_object_get(c, "akamai"));
        char md5[33];
        gfp_md5_hex(s, strlen(s), md5);
        TC_STREQ(md5, json_string_value(json_object_get(c, "akamai_md5")));
    }
    gfp_h2_free(h2);
    tp_free(&cap);
    free(file);
    json_decref(j);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <vectors dir>\n", argv[0]);
        return 2;
    }
    test_synthetic();
    test_errors();
    test_pcap(argv[1]);
    return tc_summary("test_fp_h2");
}

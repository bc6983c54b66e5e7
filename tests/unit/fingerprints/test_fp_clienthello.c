/* ClientHello parser and TLS fingerprints on synthetic hellos built with CBB: every
 * decoded extension, GREASE handling in each fingerprint, JA4 edge cases, first-flight
 * classification, and malformed / over-limit input with exact offset and reason. */
#include "guise_fp.h"
#include "tcheck.h"

#include <openssl/bytestring.h>

typedef struct xext {
    uint16_t type;
    const char *body; /* bytes, may contain NULs */
    size_t len;
} xext;

#define X(t, lit) {t, lit, sizeof(lit) - 1}

/* Builds record header + handshake header + ClientHello body into |out|. */
static size_t build(uint8_t *out, size_t cap, uint16_t legacy, const char *sid, size_t sid_len,
                    const uint16_t *ciphers, size_t nc, const xext *exts, size_t ne,
                    bool ext_block)
{
    CBB cbb, rec, hs, body, v, e, eb;
    uint8_t random[32];
    memset(random, 0x11, sizeof(random));
    TC_CHECK(CBB_init_fixed(&cbb, out, cap) && CBB_add_u8(&cbb, 22) &&
             CBB_add_u16(&cbb, 0x0301) && CBB_add_u16_length_prefixed(&cbb, &rec) &&
             CBB_add_u8(&rec, 1) && CBB_add_u24_length_prefixed(&rec, &hs) &&
             CBB_add_u16(&hs, legacy) && CBB_add_bytes(&hs, random, 32) &&
             CBB_add_u8_length_prefixed(&hs, &v) &&
             CBB_add_bytes(&v, (const uint8_t *)sid, sid_len) &&
             CBB_add_u16_length_prefixed(&hs, &v));
    for (size_t i = 0; i < nc; i++)
        TC_CHECK(CBB_add_u16(&v, ciphers[i]));
    TC_CHECK(CBB_add_u8_length_prefixed(&hs, &v) && CBB_add_u8(&v, 0));
    if (ext_block) {
        TC_CHECK(CBB_add_u16_length_prefixed(&hs, &body));
        for (size_t i = 0; i < ne; i++)
            TC_CHECK(CBB_add_u16(&body, exts[i].type) &&
                     CBB_add_u16_length_prefixed(&body, &e) &&
                     CBB_add_bytes(&e, (const uint8_t *)exts[i].body, exts[i].len));
    }
    (void)eb;
    size_t len = 0;
    uint8_t *p;
    TC_CHECK(CBB_finish(&cbb, &p, &len));
    return len;
}

static const uint16_t kCiphers[] = {0x0a0a, 0x1301, 0x1302, 0xc02b};

static const xext kExts[] = {
    X(0x1a1a, ""),
    X(0, "\x00\x0e\x00\x00\x0b" "example.com"),
    X(23, ""),
    X(0xff01, "\x00"),
    X(10, "\x00\x08\x2a\x2a\x11\xec\x00\x1d\x00\x17"),
    X(11, "\x01\x00"),
    X(35, ""),
    X(16, "\x00\x0c\x02h2\x08http/1.1"),
    X(5, "\x01\x00\x00\x00\x00"),
    X(13, "\x00\x08\x3a\x3a\x04\x03\x08\x04\x04\x01"),
    X(18, ""),
    X(51, "\x00\x29\x2a\x2a\x00\x01\x00\x00\x1d\x00\x20"
          "0123456789abcdef0123456789abcdef"),
    X(45, "\x01\x01"),
    X(43, "\x06\x3a\x3a\x03\x04\x03\x03"),
    X(27, "\x02\x00\x02"),
    X(17613, "\x00\x03\x02h2"),
    X(0xfe0d, "\x00\x00\x01\x00\x01\x7f\x00\x04" "ENC!" "\x00\x05" "hello"),
    X(28, "\x40\x01"),
    X(34, "\x00\x04\x04\x03\x05\x03"),
    X(50, "\x00\x02\x04\x03"),
    X(21, "\0\0\0\0\0\0\0\0\0\0"),
    X(0x4a4a, "\x00"),
    X(41, "\x00\x0b\x00\x05" "abcde" "\x00\x00\x00\x01"
          "\x00\x21\x20" "01234567890123456789012345678901"),
};

/* The fingerprints of a hello with kExts' extensions (ciphers kCiphers, legacy 0x0303),
 * written out by hand from FINGERPRINTS.md. |which|: the GFP_FP_* families to check;
 * the others must be NULL (not computable). */
enum { kAll = GFP_FP_JA3 | GFP_FP_JA3N | GFP_FP_JA4 | GFP_FP_PEETPRINT };

static void expect_kexts_fps(const gfp_tls_fp *fp, unsigned which)
{
    if (which & GFP_FP_JA3)
        TC_STREQ(fp->ja3, "771,4865-4866-49195,0-23-65281-10-11-35-16-5-13-18-51-45-43-27-"
                          "17613-65037-28-34-50-21-41,4588-29-23,0");
    else
        TC_CHECK(fp->ja3 == NULL && fp->ja3_md5[0] == '\0');
    if (which & GFP_FP_JA3N)
        TC_STREQ(fp->ja3n, "771,4865-4866-49195,0-5-10-11-13-16-18-21-23-27-28-34-35-41-43-"
                           "45-50-51-17613-65037-65281,4588-29-23,0");
    else
        TC_CHECK(fp->ja3n == NULL && fp->ja3n_md5[0] == '\0');
    const char *b = "1301,1302,c02b";
    const char *c = "0005,000a,000b,000d,0012,0015,0017,001b,001c,0022,0023,0029,002b,002d,"
                    "0032,0033,44cd,fe0d,ff01_0403,0804,0401";
    const char *co = "0000,0017,ff01,000a,000b,0023,0010,0005,000d,0012,0033,002d,002b,001b,"
                     "44cd,fe0d,001c,0022,0032,0015,0029_0403,0804,0401";
    char want[1024], hb[13], hc[13];
    if (which & GFP_FP_JA4) {
        snprintf(want, sizeof(want), "t13d0321h2_%s_%s", b, c);
        TC_STREQ(fp->ja4_r, want);
        snprintf(want, sizeof(want), "t13d0321h2_%s_%s", b, co);
        TC_STREQ(fp->ja4_ro, want);
        gfp_sha256_hex12(b, strlen(b), hb);
        gfp_sha256_hex12(c, strlen(c), hc);
        snprintf(want, sizeof(want), "t13d0321h2_%s_%s", hb, hc);
        TC_STREQ(fp->ja4, want);
        gfp_sha256_hex12(co, strlen(co), hc);
        snprintf(want, sizeof(want), "t13d0321h2_%s_%s", hb, hc);
        TC_STREQ(fp->ja4_o, want);
    } else {
        TC_CHECK(fp->ja4 == NULL && fp->ja4_r == NULL && fp->ja4_o == NULL && fp->ja4_ro == NULL);
    }
    if (which & GFP_FP_PEETPRINT) {
        TC_STREQ(fp->peetprint, "GREASE-772-771|2-1.1|GREASE-4588-29-23|GREASE-1027-2052-1025|1|"
                                "2|GREASE-4865-4866-49195|0-10-11-13-16-17613-18-21-23-27-28-34-"
                                "35-41-43-45-5-50-51-65037-65281-GREASE-GREASE");
        char md5[33];
        if (fp->peetprint != NULL) {
            gfp_md5_hex(fp->peetprint, strlen(fp->peetprint), md5);
            TC_STREQ(fp->peetprint_md5, md5);
        }
    } else {
        TC_CHECK(fp->peetprint == NULL && fp->peetprint_md5[0] == '\0');
    }
}

static void test_full(void)
{
    uint8_t buf[4096];
    size_t len = build(buf, sizeof(buf), 0x0303, "\x42\x42", 2, kCiphers, 4, kExts,
                       sizeof(kExts) / sizeof(kExts[0]), true);
    gfp_clienthello *ch = gfp_ch_new();
    for (size_t i = 0; i < len; i++)
        TC_EQ(gfp_ch_parse(ch, buf, i), GFP_NEED_MORE);
    TC_EQ(gfp_ch_parse(ch, buf, len), GFP_DONE);
    TC_EQ(ch->kind, GFP_FLIGHT_TLS);
    TC_EQ(ch->record_version, 0x0301);
    TC_EQ(ch->legacy_version, 0x0303);
    TC_EQ(ch->session_id.len, 2);
    TC_EQ(ch->ciphers.n, 4);
    TC_EQ(ch->compression_methods.len, 1);
    TC_EQ(ch->ext_count, sizeof(kExts) / sizeof(kExts[0]));
    TC_EQ(ch->consumed, len);
    TC_EQ(ch->trailing_handshake, 0);
    TC_CHECK(ch->exts[0].grease && ch->exts[0].kind == GFP_EXT_RAW);
    TC_EQ(ch->exts[1].offset, 5 + 4 + 2 + 32 + 3 + 2 + 8 + 2 + 2 + 4); /* after GREASE ext */
    TC_STREQ(gfp_tls_ext_name(0xfe0d), "encrypted_client_hello");
    TC_STREQ(gfp_tls_ext_name(0x5a5a), "GREASE");

    const gfp_ext *e = gfp_ch_find_ext(ch, 0);
    TC_CHECK(e && e->kind == GFP_EXT_SERVER_NAME && e->u.sni.count == 1 &&
             e->u.sni.host_name.len == 11 && memcmp(e->u.sni.host_name.data, "example.com", 11) == 0);
    e = gfp_ch_find_ext(ch, 51);
    TC_CHECK(e && e->kind == GFP_EXT_KEY_SHARE && e->u.key_share.n == 2 &&
             e->u.key_share.v[0].group == 0x2a2a && e->u.key_share.v[0].key_len == 1 &&
             e->u.key_share.v[1].group == 0x1d && e->u.key_share.v[1].key_len == 32);
    e = gfp_ch_find_ext(ch, 0xfe0d);
    TC_CHECK(e && e->kind == GFP_EXT_ECH && e->u.ech.type == 0 && e->u.ech.kdf_id == 1 &&
             e->u.ech.aead_id == 1 && e->u.ech.config_id == 0x7f && e->u.ech.enc_len == 4 &&
             e->u.ech.payload_len == 5);
    e = gfp_ch_find_ext(ch, 41);
    TC_CHECK(e && e->kind == GFP_EXT_PRE_SHARED_KEY && e->u.psk.identity_count == 1 &&
             e->u.psk.identity_lengths.v[0] == 5 && e->u.psk.binder_lengths.n == 1 &&
             e->u.psk.binder_lengths.v[0] == 32);
    e = gfp_ch_find_ext(ch, 17613);
    TC_CHECK(e && e->kind == GFP_EXT_ALPN && e->u.protocols.n == 1 &&
             e->u.protocols.v[0].len == 2);
    e = gfp_ch_find_ext(ch, 5);
    TC_CHECK(e && e->kind == GFP_EXT_STATUS_REQUEST && e->u.status_request.status_type == 1);
    e = gfp_ch_find_ext(ch, 28);
    TC_CHECK(e && e->kind == GFP_EXT_RECORD_SIZE && e->u.record_size_limit == 0x4001);
    e = gfp_ch_find_ext(ch, 21);
    TC_CHECK(e && e->kind == GFP_EXT_LENGTH && e->u.length == 10);
    e = gfp_ch_find_ext(ch, 0xff01);
    TC_CHECK(e && e->kind == GFP_EXT_RENEGOTIATION && e->u.length == 0);
    e = gfp_ch_find_ext(ch, 34);
    TC_CHECK(e && e->kind == GFP_EXT_U16_LIST && e->u.list.n == 2 && e->u.list.v[1] == 0x0503);
    e = gfp_ch_find_ext(ch, 45);
    TC_CHECK(e && e->kind == GFP_EXT_U16_LIST && e->u.list.n == 1 && e->u.list.v[0] == 1);

    gfp_tls_fp fp;
    TC_EQ(gfp_tls_fp_compute(ch, 't', &fp), 0);
    expect_kexts_fps(&fp, kAll);
    gfp_tls_fp_free(&fp);

    /* QUIC transport letter. */
    TC_EQ(gfp_tls_fp_compute(ch, 'q', &fp), 0);
    TC_CHECK(fp.ja4[0] == 'q');
    gfp_tls_fp_free(&fp);
    gfp_ch_free(ch);
}

/* SSL 3.0-style hello: no extensions block at all. */
static void test_minimal(void)
{
    static const uint16_t ciphers[] = {0x002f};
    uint8_t buf[256];
    size_t len = build(buf, sizeof(buf), 0x0301, "", 0, ciphers, 1, NULL, 0, false);
    gfp_clienthello *ch = gfp_ch_new();
    TC_EQ(gfp_ch_parse(ch, buf, len), GFP_DONE);
    TC_CHECK(!ch->has_extensions_block);
    gfp_tls_fp fp;
    TC_EQ(gfp_tls_fp_compute(ch, 't', &fp), 0);
    TC_STREQ(fp.ja3, "769,47,,,");
    TC_STREQ(fp.ja4_r, "t10i010000_002f_");
    char hb[13], want[64];
    gfp_sha256_hex12("002f", 4, hb);
    snprintf(want, sizeof(want), "t10i010000_%s_000000000000", hb);
    TC_STREQ(fp.ja4, want);
    TC_STREQ(fp.peetprint, "||||0||47|");
    gfp_tls_fp_free(&fp);

    /* Only SNI and ALPN: JA4 "c" is empty -> zeros; ALPN value "a" -> "aa". */
    static const xext two[] = {X(16, "\x00\x02\x01" "a"), X(0, "\x00\x04\x00\x00\x01x")};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, two, 2, true);
    TC_EQ(gfp_ch_parse(ch, buf, len), GFP_DONE);
    TC_EQ(gfp_tls_fp_compute(ch, 't', &fp), 0);
    snprintf(want, sizeof(want), "t12d0102aa_%s_000000000000", hb);
    TC_STREQ(fp.ja4, want);
    TC_STREQ(fp.ja4_ro, "t12d0102aa_002f_0010,0000");
    gfp_tls_fp_free(&fp);

    /* supported_versions with only GREASE falls back to legacy_version; an empty ALPN
     * value gives "00". */
    static const xext sv[] = {X(43, "\x02\x7a\x7a"), X(16, "\x00\x01\x00")};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, sv, 2, true);
    TC_EQ(gfp_ch_parse(ch, buf, len), GFP_DONE);
    TC_EQ(gfp_tls_fp_compute(ch, 't', &fp), 0);
    TC_CHECK(strncmp(fp.ja4, "t12i010200_", 11) == 0);
    gfp_tls_fp_free(&fp);
    gfp_ch_free(ch);
}

static void test_kinds(void)
{
    gfp_clienthello *ch = gfp_ch_new();
    static const struct {
        const char *in;
        size_t len;
        gfp_status st;
        gfp_flight_kind kind;
    } k[] = {
        {"GET / HTTP/1.1\r\n", 16, GFP_NOT_TLS, GFP_FLIGHT_HTTP1},
        {"OPTIONS ", 8, GFP_NOT_TLS, GFP_FLIGHT_HTTP1},
        {"GE", 2, GFP_NEED_MORE, GFP_FLIGHT_UNKNOWN},
        {"PRI * HTTP/2.0\r\n", 16, GFP_NOT_TLS, GFP_FLIGHT_H2_PREFACE},
        {"PRI * HT", 8, GFP_NEED_MORE, GFP_FLIGHT_UNKNOWN},
        {"\x80\x2e\x01\x03\x01", 5, GFP_NOT_TLS, GFP_FLIGHT_SSLV2},
        {"\x00\x01\x02", 3, GFP_NOT_TLS, GFP_FLIGHT_UNKNOWN},
        {"SSH-2.0-OpenSSH_9.2\r\n", 21, GFP_NOT_TLS, GFP_FLIGHT_SSH},
        /* RFC 4253 §4.2 with comments: a token and a space, but SSH, not HTTP/1. */
        {"SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5\r\n", 41, GFP_NOT_TLS, GFP_FLIGHT_SSH},
        {"SSH", 3, GFP_NEED_MORE, GFP_FLIGHT_UNKNOWN},
        {"\x05\x01\x00", 3, GFP_NOT_TLS, GFP_FLIGHT_SOCKS},
        {"\x04\x01\x01\xbb", 4, GFP_NOT_TLS, GFP_FLIGHT_SOCKS},
        {"", 0, GFP_NEED_MORE, GFP_FLIGHT_UNKNOWN},
        {"\x16\x03\x01\x02", 4, GFP_NEED_MORE, GFP_FLIGHT_TLS},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        TC_EQ(gfp_ch_parse(ch, (const uint8_t *)k[i].in, k[i].len), k[i].st);
        TC_EQ(ch->kind, k[i].kind);
    }
    gfp_ch_free(ch);
}

static void expect_error(const uint8_t *in, size_t len, size_t offset, const char *reason)
{
    gfp_clienthello *ch = gfp_ch_new();
    TC_EQ(gfp_ch_parse(ch, in, len), GFP_ERROR);
    TC_EQ(ch->err_offset, offset);
    TC_STREQ(ch->err_reason, reason);
    gfp_ch_free(ch);
}

/* A hello whose one extension of |type| has a bad body: still GFP_DONE, the extension
 * kept raw and flagged with the byte where its decoding stopped. */
static void expect_malformed(const uint8_t *in, size_t len, uint16_t type, size_t offset,
                             const char *reason)
{
    gfp_clienthello *ch = gfp_ch_new();
    TC_EQ(gfp_ch_parse(ch, in, len), GFP_DONE);
    TC_EQ(ch->malformed_count, 1);
    const gfp_ext *e = gfp_ch_find_ext(ch, type);
    TC_CHECK(e != NULL);
    if (e != NULL) {
        TC_EQ(e->kind, GFP_EXT_RAW);
        TC_EQ(e->malformed_offset, offset);
        TC_STREQ(e->malformed, reason);
    }
    gfp_ch_free(ch);
}

#define ERRB(lit, off, why) expect_error((const uint8_t *)(lit), sizeof(lit) - 1, off, why)

/* Offsets below: record header 0..4, handshake header 5..8, legacy_version 9..10,
 * random 11..42, session id length 43, then (empty session id, one cipher) cipher length
 * 44..45, cipher 46..47, compression 48..49, extensions length 50..51, first ext 52. */
static void test_errors(void)
{
    ERRB("\x15\x03\x01\x00\x02\x02\x28", 0, "non-handshake record before the end of ClientHello");
    ERRB("\x16\x02\x00\x00\x01\x01", 1, "record version is not 3.x");
    ERRB("\x16\x03\x01\x40\x01", 3, "record longer than 2^14 bytes");
    ERRB("\x16\x03\x01\x00\x00", 3, "zero-length handshake record");
    ERRB("\x16\x03\x01\x00\x04\x02\x00\x00\x00", 5, "first handshake message is not ClientHello");
    ERRB("\x16\x03\x01\x00\x04\x01\x01\x00\x01", 6, "ClientHello longer than GFP_CH_MAX_BODY");
    /* A second record of another type while the hello is incomplete. */
    ERRB("\x16\x03\x01\x00\x02\x01\x00\x17\x03\x03\x00\x01\x00", 7,
         "non-handshake record before the end of ClientHello");

    static const uint16_t ciphers[] = {0x1301};
    uint8_t buf[4096];
    size_t len;
    char sid[33];
    memset(sid, 1, sizeof(sid));
    len = build(buf, sizeof(buf), 0x0303, sid, 33, ciphers, 1, NULL, 0, true);
    expect_error(buf, len, 44, "legacy_session_id longer than 32 bytes");

    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 0, NULL, 0, true);
    expect_error(buf, len, 46, "empty cipher_suites");

    /* supported_versions with a trailing byte: extension at 52, body at 56. */
    static const xext sv[] = {X(43, "\x02\x03\x04\x00")};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, sv, 1, true);
    expect_malformed(buf, len, 43, 59, "trailing bytes in extension");
    /* Same hello across two records: offsets after the split move by 5. */
    {
        uint8_t two[4096];
        size_t first = 30, msg = len - 5;
        memcpy(two, buf, 5);
        two[3] = 0, two[4] = (uint8_t)first;
        memcpy(two + 5, buf + 5, first);
        memcpy(two + 5 + first, "\x16\x03\x01\x00", 4);
        two[9 + first] = (uint8_t)(msg - first);
        memcpy(two + 10 + first, buf + 5 + first, msg - first);
        expect_malformed(two, len + 5, 43, 64, "trailing bytes in extension");
    }

    static const xext ks[] = {X(51, "\x00\x04\x00\x1d\x00\x00")};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, ks, 1, true);
    expect_malformed(buf, len, 51, 62, "empty key_exchange");

    static const xext ech[] = {X(0xfe0d, "\x05")};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, ech, 1, true);
    expect_malformed(buf, len, 0xfe0d, 56, "unknown ECHClientHelloType");

    static const xext odd[] = {X(10, "\x00\x03\x00\x1d\x00")};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, odd, 1, true);
    expect_malformed(buf, len, 10, 58, "odd length in a list of 16-bit values");

    static const xext empty_groups[] = {X(10, "\x00\x00")};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, empty_groups, 1, true);
    expect_malformed(buf, len, 10, 58, "empty list");

    /* An extension whose length runs past the extensions block. */
    static const xext ok1[] = {X(23, "")};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, ok1, 1, true);
    buf[len - 1] = 1; /* ext 23 now claims one body byte that is not there */
    expect_error(buf, len, 52, "truncated extension");

    /* Too many extensions: 257 empty unknown ones; the 257th fails at its offset. */
    static xext many[GFP_CH_MAX_EXTENSIONS + 1];
    for (size_t i = 0; i <= GFP_CH_MAX_EXTENSIONS; i++)
        many[i] = (xext){(uint16_t)(0x3000 + i), "", 0};
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, many, GFP_CH_MAX_EXTENSIONS + 1,
                true);
    expect_error(buf, len, 52 + 4 * GFP_CH_MAX_EXTENSIONS,
                 "too many extensions (GFP_CH_MAX_EXTENSIONS)");

    /* Trailing garbage after the extensions block. */
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, ok1, 1, true);
    {
        uint8_t g[256];
        memcpy(g, buf, len);
        g[len] = 0xee;
        g[4]++;      /* record length */
        g[8]++;      /* handshake length (low byte) */
        expect_error(g, len + 1, len, "trailing bytes after extensions");
    }

    /* Truncated: every prefix of a valid hello is NEED_MORE, never an error. */
    len = build(buf, sizeof(buf), 0x0303, "", 0, ciphers, 1, kExts,
                sizeof(kExts) / sizeof(kExts[0]), true);
    gfp_clienthello *ch = gfp_ch_new();
    bool ok = true;
    for (size_t i = 0; i < len; i++)
        ok &= gfp_ch_parse(ch, buf, i) == GFP_NEED_MORE;
    TC_CHECK(ok);
    gfp_ch_free(ch);
}

/* One malformed extension no longer loses the hello: an 8-byte all-zero
 * encrypted_client_hello (as one real client sends: outer, KDF 0, AEAD 0, config 0, an
 * empty enc and no payload length) leaves every fingerprint computable, since none reads
 * the ECH body; a malformed supported_groups removes exactly JA3, JA3N and peetprint,
 * a malformed ALPN exactly JA4 and peetprint. Before, each was a GFP_ERROR. */
static void test_malformed_extension(void)
{
    enum { N = sizeof(kExts) / sizeof(kExts[0]) };
    static const struct {
        uint16_t type;
        xext bad;
        unsigned fps;
        const char *reason;
        size_t at; /* of the failure, from the start of the bad extension's body */
    } cases[] = {
        {0xfe0d, X(0xfe0d, "\0\0\0\0\0\0\0\0"), kAll, "truncated outer ECHClientHello", 8},
        {10, X(10, "\x00\x08\x2a\x2a\x11\xec\x00\x1d\x00"), GFP_FP_JA4,
         "truncated list", 2},
        {16, X(16, "\x00\x0c\x02h2\x09http/1.1"), GFP_FP_JA3 | GFP_FP_JA3N,
         "truncated protocol name", 6},
        {51, X(51, "\x00\x05\x00\x1d\x00\x00\x00"), kAll, "empty key_exchange", 6},
        {0, X(0, "\x00\x0d\x00\x00\x0b" "example.co"), kAll, "truncated server_name entry",
         5},
    };
    gfp_clienthello *ch = gfp_ch_new();
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        xext exts[N];
        size_t idx = N;
        memcpy(exts, kExts, sizeof(exts));
        for (size_t i = 0; i < N; i++) {
            if (exts[i].type == cases[k].type) {
                exts[i] = cases[k].bad;
                idx = i;
            }
        }
        TC_CHECK(idx < N);
        uint8_t buf[4096];
        size_t len = build(buf, sizeof(buf), 0x0303, "\x42\x42", 2, kCiphers, 4, exts, N, true);
        TC_EQ(gfp_ch_parse(ch, buf, len), GFP_DONE);
        TC_EQ(ch->ext_count, N);
        TC_EQ(ch->malformed_count, 1);
        const gfp_ext *e = &ch->exts[idx < N ? idx : 0];
        TC_EQ(e->type, cases[k].type);
        TC_EQ(e->kind, GFP_EXT_RAW);
        TC_EQ(e->body.len, cases[k].bad.len);
        TC_STREQ(e->malformed, cases[k].reason);
        TC_EQ(e->malformed_offset, e->offset + 4 + cases[k].at);
        for (size_t i = 0; i < N; i++)
            TC_CHECK(i == idx || ch->exts[i].malformed == NULL);
        gfp_tls_fp fp;
        TC_EQ(gfp_tls_fp_compute(ch, 't', &fp), 0);
        expect_kexts_fps(&fp, cases[k].fps);
        gfp_tls_fp_free(&fp);
    }
    /* The table behind it, against FINGERPRINTS.md. */
    TC_EQ(gfp_tls_fp_depends(0xfe0d), 0);
    TC_EQ(gfp_tls_fp_depends(0), 0);
    TC_EQ(gfp_tls_fp_depends(51), 0);
    TC_EQ(gfp_tls_fp_depends(11), GFP_FP_JA3 | GFP_FP_JA3N);
    TC_EQ(gfp_tls_fp_depends(13), GFP_FP_JA4 | GFP_FP_PEETPRINT);
    TC_EQ(gfp_tls_fp_depends(43), GFP_FP_JA4 | GFP_FP_PEETPRINT);
    TC_EQ(gfp_tls_fp_depends(45), GFP_FP_PEETPRINT);
    TC_EQ(gfp_tls_fp_depends(27), GFP_FP_PEETPRINT);
    TC_EQ(gfp_tls_fp_depends(50), 0);
    gfp_ch_free(ch);
}

int main(void)
{
    test_malformed_extension();
    test_full();
    test_minimal();
    test_kinds();
    test_errors();
    return tc_summary("test_fp_clienthello");
}

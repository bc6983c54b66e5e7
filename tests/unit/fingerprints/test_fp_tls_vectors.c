/* Golden vectors: every ClientHello in tests/data/vectors/clienthello must give
 * the fingerprints recorded by the reference implementation and by tshark, whole and
 * when delivered byte by byte or re-fragmented into other record layouts; the JA3/JA4
 * documentation examples and the browserleaks observation must hash as recorded.
 *
 * Usage: test_fp_tls_vectors <vectors dir> */
#define _POSIX_C_SOURCE 200809L
#include "guise_fp.h"
#include "tcheck.h"
#include "tpcap.h"

#include <dirent.h>
#include <jansson.h>

static const char *vdir;

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (j == NULL) {
        /* A missing or broken data file ends the test here, naming the file: the
         * checks below would otherwise read through the NULL tree. */
        fprintf(stderr, "FAIL: test data file %s: line %d: %s\n", path, err.line, err.text);
        exit(1);
    }
    return j;
}

static const char *jstr(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* JA4 from its raw form: hash the cipher section and the extension(+sigalg) section. */
static void ja4_from_raw(const char *raw, char *out, size_t outlen)
{
    const char *u1 = strchr(raw, '_');
    const char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
    if (u2 == NULL) {
        snprintf(out, outlen, "(bad raw)");
        return;
    }
    char b[13], c[13];
    gfp_sha256_hex12(u1 + 1, (size_t)(u2 - u1 - 1), b);
    gfp_sha256_hex12(u2 + 1, strlen(u2 + 1), c);
    snprintf(out, outlen, "%.*s_%s_%s", (int)(u1 - raw), raw, b, c);
}

/* Compares every fingerprint that |exp| (an expected.json object) records. */
static void compare(const char *name, const gfp_clienthello *ch, const gfp_tls_fp *fp,
                    json_t *exp)
{
    json_t *ref = json_object_get(exp, "reference_impl");
    TC_CHECK(ref != NULL);
    struct {
        const char *key, *got;
    } refs[] = {
        {"ja3", fp->ja3},           {"ja3_hash", fp->ja3_md5},  {"ja3n", fp->ja3n},
        {"ja3n_hash", fp->ja3n_md5}, {"ja4", fp->ja4},           {"ja4_r", fp->ja4_r},
        {"ja4_o", fp->ja4_o},       {"ja4_ro", fp->ja4_ro},     {"peetprint", fp->peetprint},
        {"peetprint_hash", fp->peetprint_md5},
    };
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        const char *want = jstr(ref, refs[i].key);
        if (want == NULL)
            continue;
        if (strcmp(refs[i].got, want) != 0)
            fprintf(stderr, "[%s] reference_impl.%s\n", name, refs[i].key);
        TC_STREQ(refs[i].got, want);
    }
    /* SNI host name. */
    const gfp_ext *sni = gfp_ch_find_ext(ch, 0);
    const char *want_sni = jstr(ref, "sni");
    if (want_sni != NULL) {
        TC_CHECK(sni != NULL && sni->kind == GFP_EXT_SERVER_NAME);
        if (sni != NULL) {
            TC_EQ(sni->u.sni.host_name.len, strlen(want_sni));
            TC_CHECK(memcmp(sni->u.sni.host_name.data, want_sni, strlen(want_sni)) == 0);
        }
    } else {
        TC_CHECK(sni == NULL);
    }
    /* Every tshark block: ja3 (MD5), ja3_full, ja4, ja4_r. */
    const char *key;
    json_t *val;
    json_object_foreach(exp, key, val) {
        if (strncmp(key, "tshark", 6) != 0)
            continue;
        const char *v;
        if ((v = jstr(val, "ja3")) != NULL)
            TC_STREQ(fp->ja3_md5, v);
        if ((v = jstr(val, "ja3_full")) != NULL)
            TC_STREQ(fp->ja3, v);
        if ((v = jstr(val, "ja4")) != NULL)
            TC_STREQ(fp->ja4, v);
        if ((v = jstr(val, "ja4_r")) != NULL)
            TC_STREQ(fp->ja4_r, v);
    }
    /* First ALPN value. */
    json_t *alpn = json_object_get(exp, "first_alpn_hex");
    const gfp_ext *e = gfp_ch_find_ext(ch, 16);
    if (json_is_string(alpn)) {
        TC_CHECK(e != NULL && e->kind == GFP_EXT_ALPN && e->u.protocols.n > 0);
        if (e != NULL && e->u.protocols.n > 0) {
            char hex[520] = "";
            for (size_t i = 0; i < e->u.protocols.v[0].len && i < 255; i++)
                snprintf(hex + 2 * i, 3, "%02x", e->u.protocols.v[0].data[i]);
            TC_STREQ(hex, json_string_value(alpn));
        }
    } else if (json_is_null(alpn)) {
        TC_CHECK(e == NULL);
    }
}

static bool same_fp(const gfp_tls_fp *a, const gfp_tls_fp *b)
{
    return strcmp(a->ja3, b->ja3) == 0 && strcmp(a->ja3n, b->ja3n) == 0 &&
           strcmp(a->ja4, b->ja4) == 0 && strcmp(a->ja4_r, b->ja4_r) == 0 &&
           strcmp(a->ja4_o, b->ja4_o) == 0 && strcmp(a->ja4_ro, b->ja4_ro) == 0 &&
           strcmp(a->peetprint, b->peetprint) == 0;
}

/* Rewrites a single-record flight so its handshake message is carried in records of
 * |frag| bytes (RFC 8446 §5.1 allows any fragmentation). */
static uint8_t *refragment(const uint8_t *in, size_t len, size_t frag, size_t *out_len)
{
    size_t msg_len = len - 5;
    size_t nrec = (msg_len + frag - 1) / frag;
    uint8_t *out = malloc(msg_len + 5 * nrec);
    size_t o = 0;
    for (size_t off = 0; off < msg_len; off += frag) {
        size_t n = msg_len - off < frag ? msg_len - off : frag;
        out[o++] = 22;
        out[o++] = in[1];
        out[o++] = in[2];
        out[o++] = (uint8_t)(n >> 8);
        out[o++] = (uint8_t)n;
        memcpy(out + o, in + 5 + off, n);
        o += n;
    }
    *out_len = o;
    return out;
}

static void check_vector(const char *base)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/clienthello/%s.hex", vdir, base);
    size_t len;
    uint8_t *data = tc_read_hex_file(path, &len);
    TC_CHECK(data != NULL);
    snprintf(path, sizeof(path), "%s/clienthello/%s.expected.json", vdir, base);
    json_t *exp = load_json(path);
    TC_CHECK(exp != NULL);
    if (data == NULL || exp == NULL) {
        free(data);
        json_decref(exp);
        return;
    }
    gfp_clienthello *ch = gfp_ch_new();
    gfp_tls_fp fp, fp2;

    TC_EQ(gfp_ch_parse(ch, data, len), GFP_DONE);
    TC_EQ(ch->kind, GFP_FLIGHT_TLS);
    TC_EQ(len, json_integer_value(json_object_get(exp, "record_bytes")));
    TC_EQ(ch->consumed, len);
    TC_EQ(ch->record_count, 1);
    TC_EQ(gfp_tls_fp_compute(ch, 't', &fp), 0);
    compare(base, ch, &fp, exp);

    /* Byte at a time: NEED_MORE for every strict prefix, same result at the end. */
    bool prefixes_ok = true;
    for (size_t i = 0; i < len; i++)
        prefixes_ok &= gfp_ch_parse(ch, data, i) == GFP_NEED_MORE;
    TC_CHECK(prefixes_ok);
    TC_EQ(gfp_ch_parse(ch, data, len), GFP_DONE);
    TC_EQ(gfp_tls_fp_compute(ch, 't', &fp2), 0);
    TC_CHECK(same_fp(&fp, &fp2));
    gfp_tls_fp_free(&fp2);

    /* Other record layouts, including a handshake header split across records. */
    static const size_t frags[] = {2, 3, 37, 100, 511};
    for (size_t k = 0; k < sizeof(frags) / sizeof(frags[0]); k++) {
        size_t rlen;
        uint8_t *r = refragment(data, len, frags[k], &rlen);
        gfp_status st = gfp_ch_parse(ch, r, rlen);
        if ((len - 5 + frags[k] - 1) / frags[k] > GFP_CH_MAX_RECORDS) {
            TC_EQ(st, GFP_ERROR);
            TC_STREQ(ch->err_reason, "ClientHello spans too many records (GFP_CH_MAX_RECORDS)");
            TC_EQ(ch->err_offset, (size_t)GFP_CH_MAX_RECORDS * (5 + frags[k]));
        } else {
            TC_EQ(st, GFP_DONE);
            TC_EQ(ch->consumed, rlen);
            TC_EQ(gfp_tls_fp_compute(ch, 't', &fp2), 0);
            TC_CHECK(same_fp(&fp, &fp2));
            gfp_tls_fp_free(&fp2);
            /* Byte at a time over the fragmented layout too. */
            bool ok = true;
            for (size_t i = 0; i < rlen; i++)
                ok &= gfp_ch_parse(ch, r, i) == GFP_NEED_MORE;
            TC_CHECK(ok);
        }
        free(r);
    }
    gfp_tls_fp_free(&fp);
    gfp_ch_free(ch);
    json_decref(exp);
    free(data);
}

/* The two curl hellos of local_curl7.88.1_two_handshakes.pcap must be the .hex vectors'. */
static void check_pcap(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/clienthello/local_curl7.88.1_two_handshakes.pcap", vdir);
    size_t len;
    uint8_t *file = tc_read_file(path, &len);
    TC_CHECK(file != NULL);
    if (file == NULL)
        return;
    tp_capture cap;
    TC_CHECK(tp_load(file, len, 18443, &cap));
    TC_EQ(cap.n, 2);
    static const struct {
        size_t stream;
        const char *base;
    } map[] = {{0, "local_curl7.88.1_openssl3.0_http1.1_sni"},
               {1, "local_curl7.88.1_openssl3.0_h2_ip"}};
    gfp_clienthello *ch = gfp_ch_new();
    for (size_t i = 0; i < 2 && i < cap.n; i++) {
        snprintf(path, sizeof(path), "%s/clienthello/%s.hex", vdir, map[i].base);
        size_t hlen;
        uint8_t *hex = tc_read_hex_file(path, &hlen);
        tp_stream *s = &cap.s[map[i].stream];
        TC_EQ(gfp_ch_parse(ch, s->data, s->len), GFP_DONE);
        TC_CHECK(hex != NULL && ch->consumed == hlen && memcmp(s->data, hex, hlen) == 0);
        free(hex);
    }
    gfp_ch_free(ch);
    tp_free(&cap);
    free(file);
}

static void check_doc_examples(void)
{
    char path[1024], out[2048];
    snprintf(path, sizeof(path), "%s/ja3_readme_examples.json", vdir);
    json_t *j = load_json(path);
    TC_CHECK(j != NULL);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "cases"), i, c) {
        const char *s = jstr(c, "ja3_string");
        char md5[33];
        gfp_md5_hex(s, strlen(s), md5);
        TC_STREQ(md5, jstr(c, "expected_md5"));
    }
    json_decref(j);

    snprintf(path, sizeof(path), "%s/ja4_spec_examples.json", vdir);
    j = load_json(path);
    TC_CHECK(j != NULL);
    json_array_foreach(json_object_get(j, "cases"), i, c) {
        const char *input = jstr(c, "input");
        char h[13];
        if (input == NULL) { /* the "empty section" rule */
            gfp_sha256_hex12("", 0, h);
            TC_STREQ(h, jstr(c, "expected"));
        } else if (jstr(c, "expected_ja4") != NULL) {
            ja4_from_raw(input, out, sizeof(out));
            TC_STREQ(out, jstr(c, "expected_ja4"));
        } else if (jstr(c, "expected_ja4_o") != NULL) {
            ja4_from_raw(input, out, sizeof(out));
            TC_STREQ(out, jstr(c, "expected_ja4_o"));
        } else {
            gfp_sha256_hex12(input, strlen(input), h);
            TC_STREQ(h, jstr(c, "expected"));
        }
    }
    json_array_foreach(json_object_get(j, "alpn_cases_from_spec"), i, c) {
        size_t n = 0;
        const char *hex = jstr(c, "first_alpn_bytes_hex");
        uint8_t *bytes = tc_unhex(hex, strlen(hex), &n);
        char aa[3];
        gfp_ja4_alpn(bytes, n, aa);
        TC_STREQ(aa, jstr(c, "expected"));
        free(bytes);
    }
    json_decref(j);

    snprintf(path, sizeof(path), "%s/browserleaks_chrome143_example.json", vdir);
    j = load_json(path);
    TC_CHECK(j != NULL);
    json_t *v = json_object_get(j, "values");
    char md5[33];
    gfp_md5_hex(jstr(v, "ja3_text"), strlen(jstr(v, "ja3_text")), md5);
    TC_STREQ(md5, jstr(v, "ja3_hash"));
    gfp_md5_hex(jstr(v, "ja3n_text"), strlen(jstr(v, "ja3n_text")), md5);
    TC_STREQ(md5, jstr(v, "ja3n_hash"));
    ja4_from_raw(jstr(v, "ja4_r"), out, sizeof(out));
    TC_STREQ(out, jstr(v, "ja4"));
    ja4_from_raw(jstr(v, "ja4_ro"), out, sizeof(out));
    TC_STREQ(out, jstr(v, "ja4_o"));
    json_decref(j);

    /* FINGERPRINTS.md version table. */
    static const struct {
        uint16_t v;
        const char *s;
    } vt[] = {{0x0304, "13"}, {0x0303, "12"}, {0x0302, "11"}, {0x0301, "10"},
              {0x0300, "s3"}, {0x0002, "s2"}, {0xfeff, "d1"}, {0xfefd, "d2"},
              {0xfefc, "d3"}, {0x7f1c, "00"}};
    for (i = 0; i < sizeof(vt) / sizeof(vt[0]); i++) {
        char vv[3];
        gfp_ja4_version(vt[i].v, vv);
        TC_STREQ(vv, vt[i].s);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <vectors dir>\n", argv[0]);
        return 2;
    }
    vdir = argv[1];
    char path[1024];
    snprintf(path, sizeof(path), "%s/clienthello", vdir);
    DIR *d = opendir(path);
    TC_CHECK(d != NULL);
    int nvec = 0;
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        const char *suffix = ".expected.json";
        size_t n = strlen(de->d_name), sl = strlen(suffix);
        if (n <= sl || strcmp(de->d_name + n - sl, suffix) != 0)
            continue;
        char base[512];
        snprintf(base, sizeof(base), "%.*s", (int)(n - sl), de->d_name);
        check_vector(base);
        nvec++;
    }
    if (d != NULL)
        closedir(d);
    TC_CHECK(nvec >= 7);
    printf("clienthello vectors: %d\n", nvec);
    check_pcap();
    check_doc_examples();
    return tc_summary("test_fp_tls_vectors");
}

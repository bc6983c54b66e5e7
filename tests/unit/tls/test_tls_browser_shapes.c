/*
 * test_tls_browser_shapes.c — Chrome-, Firefox- and Safari-shaped ClientHellos
 * made by the patched BoringSSL, compared field by field with the real browser
 * captures of tests/data/browsers.json.
 *
 * usage: test_tls_browser_shapes BROWSERS_JSON
 *
 * The capture's "tls" block is turned into a tls_shape (client/lib/tls_shape.h),
 * applied, and a handshake is run in memory against a BoringSSL server. The
 * observer parses the ClientHello that went out; every field the capture
 * records is compared, and JA3 (non-permuting browsers), JA3N, JA4 and JA4_r
 * with the capture's computed fingerprints.
 */
#include <string.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "tcheck.h"
#include "tls_pair.h"
#include "shape_capture.h"
#include "tls_shape.h"

static const char *const kBrowsers[] = {
    "chrome_150.0.7871.127_macOS", /* permutes extensions, GREASE, ALPS 17613, ML-KEM, ML-DSA */
    "firefox_144.0.0_linux",       /* no GREASE, fixed order, DC, record_size_limit, 3 shares */
    "safari_26.0.1_macOS",         /* duplicate sigalg, 3DES advertise-only, GREASE */
    "chrome_131.0.6778.86",        /* ALPS 17513 */
    "safari_18.4_macOS",
};

/* Observed u16 list equals the captured one, GREASE positions included. */
static int same_list(const char *what, const uint16_t *got, size_t n_got, const uint16_t *want,
                     size_t n_want) {
  int ok = n_got == n_want;
  for (size_t i = 0; ok && i < n_got; i++)
    ok = (want[i] == 0x0a0a) ? gfp_is_grease(got[i]) : got[i] == want[i];
  if (!ok) {
    fprintf(stderr, "  %s differs:\n    got ", what);
    for (size_t i = 0; i < n_got; i++) fprintf(stderr, " %04x", got[i]);
    fprintf(stderr, "\n    want");
    for (size_t i = 0; i < n_want; i++) fprintf(stderr, " %04x", want[i]);
    fprintf(stderr, "\n");
  }
  return ok;
}

static int str_field(const char *what, const char *got, json_t *want) {
  if (!json_is_string(want)) return 1; /* not recorded */
  int ok = got && strcmp(got, json_string_value(want)) == 0;
  if (!ok) fprintf(stderr, "  %s: got %s, want %s\n", what, got ? got : "(null)", json_string_value(want));
  return ok;
}

static void check_browser(json_t *b) {
  const char *id = json_string_value(json_object_get(b, "id"));
  json_t *tls = json_object_get(b, "tls");
  json_t *fps = json_object_get(b, "fingerprints_computed");
  tls_shape shape;
  shape_from_capture(tls, &shape);
  SSL_CTX *cctx = tp_client_ctx(), *sctx = tp_server_ctx();
  const char *why = "";
  TC_CHECK(tls_shape_apply_ctx(cctx, &shape, &why) == 0);
  TC_CHECK(SSL_CTX_set1_curves_list(sctx, "X25519MLKEM768:X25519:P-256:P-384"));
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  TC_CHECK(tls_shape_apply_ssl(c, &shape, &why) == 0);
  SSL_set_tlsext_host_name(c, "example.com");
  static tp_result r;
  tp_handshake(c, s, &r);
  printf("%s: handshake %s%s%s\n", id, r.ok ? "ok" : "FAILED ", r.ok ? "" : r.client_error,
         r.ok ? "" : r.server_error);
  TC_CHECK(r.ok);
  TC_CHECK(r.ch != NULL);
  if (r.ch == NULL) goto out;
  const gfp_clienthello *ch = r.ch;
  int before = tc_failures;

  TC_CHECK(same_list("cipher_suites", ch->ciphers.v, ch->ciphers.n, shape.ciphers, shape.n_ciphers));
  uint16_t types[64];
  size_t nt = 0;
  for (size_t i = 0; i < ch->ext_count && nt < 64; i++) types[nt++] = ch->exts[i].type;
  if (shape.permute_extensions) {
    /* One random sample was captured: compare as multisets. */
    int ok = nt == shape.n_extensions;
    for (size_t i = 0; ok && i < shape.n_extensions; i++) {
      size_t want = 0, got = 0;
      for (size_t k = 0; k < nt; k++)
        got += shape.extensions[i] == 0x0a0a ? gfp_is_grease(types[k]) : types[k] == shape.extensions[i];
      for (size_t k = 0; k < shape.n_extensions; k++) want += shape.extensions[k] == shape.extensions[i];
      ok = got == want;
    }
    TC_CHECK(ok || same_list("extension set", types, nt, shape.extensions, shape.n_extensions));
  } else {
    TC_CHECK(same_list("extension order", types, nt, shape.extensions, shape.n_extensions));
  }
  const gfp_ext *e;
  if ((e = gfp_ch_find_ext(ch, 10)))
    TC_CHECK(same_list("supported_groups", e->u.list.v, e->u.list.n, shape.groups, shape.n_groups));
  if ((e = gfp_ch_find_ext(ch, 13)))
    TC_CHECK(same_list("signature_algorithms", e->u.list.v, e->u.list.n, shape.sigalgs, shape.n_sigalgs));
  if ((e = gfp_ch_find_ext(ch, 43)))
    TC_CHECK(same_list("supported_versions", e->u.list.v, e->u.list.n, shape.versions, shape.n_versions));
  if ((e = gfp_ch_find_ext(ch, 27)))
    TC_CHECK(same_list("compress_certificate", e->u.list.v, e->u.list.n, shape.certcomp, shape.n_certcomp));
  if ((e = gfp_ch_find_ext(ch, 34)))
    TC_CHECK(same_list("delegated_credentials", e->u.list.v, e->u.list.n, shape.dc_sigalgs, shape.n_dc_sigalgs));
  if ((e = gfp_ch_find_ext(ch, 28))) TC_EQ(e->u.record_size_limit, shape.record_size_limit);
  uint16_t kg[8], want_len[8];
  const uint8_t *k[8];
  size_t kl[8];
  size_t nk = tp_key_shares(ch, kg, k, kl, 8);
  TC_CHECK(same_list("key_share groups", kg, nk, shape.key_shares, shape.n_key_shares));
  size_t nwl = shape_u16_list(json_object_get(tls, "key_share_lengths"), want_len, 8);
  TC_EQ(nk, nwl);
  for (size_t i = 0; i < nk && i < nwl; i++) TC_EQ(kl[i], want_len[i]);
  if ((e = gfp_ch_find_ext(ch, 16))) {
    TC_EQ(e->u.protocols.n, shape.n_alpn);
    for (size_t i = 0; i < e->u.protocols.n && i < shape.n_alpn; i++)
      TC_CHECK(e->u.protocols.v[i].len == strlen(shape.alpn[i]) &&
               memcmp(e->u.protocols.v[i].data, shape.alpn[i], e->u.protocols.v[i].len) == 0);
  }
  if (shape.n_alps) TC_CHECK(gfp_ch_find_ext(ch, shape.alps_codepoint) != NULL);
  TC_EQ(ch->session_id.len, json_integer_value(json_object_get(tls, "session_id_length")));

  gfp_tls_fp fp;
  TC_CHECK(gfp_tls_fp_compute(ch, 't', &fp) == 0);
  /* The JA4 'd' needs SNI: every capture here had one. */
  if (!shape.permute_extensions) {
    TC_CHECK(str_field("ja3", fp.ja3, json_object_get(fps, "ja3_text")));
    TC_CHECK(str_field("ja4_o", fp.ja4_o, json_object_get(fps, "ja4_o")));
  }
  TC_CHECK(str_field("ja3n", fp.ja3n, json_object_get(fps, "ja3n_text")));
  TC_CHECK(str_field("ja4", fp.ja4, json_object_get(fps, "ja4")));
  TC_CHECK(str_field("ja4_r", fp.ja4_r, json_object_get(fps, "ja4_r")));
  printf("%s: ja4 %s, %d field difference(s)\n", id, fp.ja4, tc_failures - before);
  gfp_tls_fp_free(&fp);
out:
  gfp_ch_free(r.ch);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_tls_browser_shapes BROWSERS_JSON\n");
    return 2;
  }
  json_error_t jerr;
  json_t *root = json_load_file(argv[1], 0, &jerr);
  if (root == NULL) {
    fprintf(stderr, "%s:%d:%d: %s\n", argv[1], jerr.line, jerr.column, jerr.text);
    return 2;
  }
  for (size_t k = 0; k < sizeof(kBrowsers) / sizeof(kBrowsers[0]); k++) {
    json_t *found = shape_find_browser(root, kBrowsers[k]);
    TC_CHECK(found != NULL);
    if (found) check_browser(found);
  }
  json_decref(root);
  return tc_summary("test_tls_browser_shapes");
}

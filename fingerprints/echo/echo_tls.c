/* echo_tls.c — the observer's TLS server context: a self-signed ECDSA P-256
 * certificate made at start (or one loaded from PEM files), TLS 1.2 and 1.3, ALPN
 * h2 and http/1.1. */
#include "echo_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static void tls_error(char *err, size_t errlen, const char *what) {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  snprintf(err, errlen, "%s: %s", what, buf);
}

/* A certificate for localhost, 127.0.0.1 and ::1, valid from an hour ago for 30
 * days, self-signed with a fresh P-256 key. */
static int self_signed(SSL_CTX *ctx, char *err, size_t errlen) {
  int ok = 0;
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *pkey = EVP_PKEY_new();
  X509 *x = X509_new();
  X509_EXTENSION *san = NULL;
  if (ec == NULL || pkey == NULL || x == NULL || !EC_KEY_generate_key(ec) ||
      !EVP_PKEY_set1_EC_KEY(pkey, ec)) {
    tls_error(err, errlen, "generating the P-256 key");
    goto out;
  }
  X509_NAME *name = X509_get_subject_name(x);
  san = X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  if (!X509_set_version(x, X509_VERSION_3) ||
      !ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) ||
      !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const uint8_t *)"guise echo", -1, -1,
                                  0) ||
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const uint8_t *)"localhost", -1, -1,
                                  0) ||
      !X509_set_issuer_name(x, name) || san == NULL || !X509_add_ext(x, san, -1) ||
      !X509_set_pubkey(x, pkey) || !X509_sign(x, pkey, EVP_sha256())) {
    tls_error(err, errlen, "making the self-signed certificate");
    goto out;
  }
  if (!SSL_CTX_use_certificate(ctx, x) || !SSL_CTX_use_PrivateKey(ctx, pkey)) {
    tls_error(err, errlen, "installing the self-signed certificate");
    goto out;
  }
  ok = 1;
out:
  X509_EXTENSION_free(san);
  X509_free(x);
  EVP_PKEY_free(pkey);
  EC_KEY_free(ec);
  return ok;
}

/* RFC 7301 §3.2: the server picks; h2 first, then http/1.1, as servers usually do. */
static int select_alpn(SSL *ssl, const uint8_t **out, uint8_t *outlen, const uint8_t *in,
                       unsigned inlen, void *arg) {
  static const uint8_t prefs[] = "\x02h2\x08http/1.1";
  uint8_t *sel;
  uint8_t sel_len;
  if (SSL_select_next_proto(&sel, &sel_len, prefs, sizeof(prefs) - 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK; /* no common protocol: go on without ALPN */
  *out = sel;
  *outlen = sel_len;
  return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *echo_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  if (ctx == NULL) {
    tls_error(err, errlen, "SSL_CTX_new");
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
  if (!SSL_CTX_set1_curves_list(ctx, ECHO_TLS_GROUPS)) {
    tls_error(err, errlen, "setting the key-exchange groups");
    SSL_CTX_free(ctx);
    return NULL;
  }
  int ok;
  if (cert_file != NULL) {
    ok = SSL_CTX_use_certificate_chain_file(ctx, cert_file);
    if (!ok) tls_error(err, errlen, cert_file);
    if (ok &&
        !(ok = SSL_CTX_use_PrivateKey_file(ctx, key_file ? key_file : cert_file, SSL_FILETYPE_PEM)))
      tls_error(err, errlen, key_file ? key_file : cert_file);
    if (ok && !(ok = SSL_CTX_check_private_key(ctx)))
      tls_error(err, errlen, "certificate and key do not match");
  } else {
    ok = self_signed(ctx, err, errlen);
  }
  if (!ok) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

void echo_tls_describe(SSL *ssl, json_t *tls) {
  const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
  uint16_t group = SSL_get_curve_id(ssl);
  const uint8_t *alpn;
  unsigned alpn_len;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  json_t *neg = json_object();
  if (neg == NULL) return;
  json_object_set_new(neg, "version", json_string(SSL_get_version(ssl)));
  json_object_set_new(neg, "cipher", c ? json_string(SSL_CIPHER_standard_name(c)) : json_null());
  const char *gname = group ? SSL_get_curve_name(group) : NULL;
  json_object_set_new(neg, "group", gname ? json_string(gname) : json_null());
  json_object_set_new(neg, "alpn",
                      alpn_len ? json_stringn((const char *)alpn, alpn_len) : json_null());
  json_object_set_new(neg, "sni", sni ? json_string(sni) : json_null());
  json_object_set_new(neg, "resumed", json_boolean(SSL_session_reused(ssl)));
  json_object_set_new(tls, "negotiated", neg);
}

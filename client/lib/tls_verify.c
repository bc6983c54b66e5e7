/* tls_verify.c — see tls_verify.h. */
#include "tls_verify.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "guise.h"

/* Extra errors of this module, outside BoringSSL's range of X509_V_ERR_*. */
enum { VERIFY_WEAK_KEY = 0x6775, VERIFY_WEAK_SIGNATURE = 0x6776 };

int tls_verify_map(long e) {
  switch (e) {
    case X509_V_OK: return 0;
    case X509_V_ERR_CERT_HAS_EXPIRED: return GUISE_E_CERT_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID: return GUISE_E_CERT_NOT_YET_VALID;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return GUISE_E_CERT_HOSTNAME;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return GUISE_E_CERT_SELF_SIGNED;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_CERT_UNTRUSTED: return GUISE_E_CERT_UNTRUSTED;
    /* No issuer found in the chain or the store, and the leaf is not a root:
     * a server that forgot its intermediate (browsers would fetch it via AIA;
     * guise reports it). */
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return GUISE_E_CERT_MISSING_INTERMEDIATE;
    case VERIFY_WEAK_KEY: return GUISE_E_CERT_WEAK_KEY;
    case VERIFY_WEAK_SIGNATURE: return GUISE_E_CERT_WEAK_SIGNATURE;
    default: return GUISE_E_CERT_INVALID;
  }
}

/* Browsers refuse RSA keys under 2048 bits (CA/Browser Forum Baseline
 * Requirements 6.1.5) and SHA-1 signatures (BR 7.1.3; Chrome since 2017). The
 * root's own self-signature is not checked: trust in a root does not come from
 * its signature. */
static int weak(X509_STORE_CTX *store) {
  STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(store);
  size_t n = chain ? sk_X509_num(chain) : 0;
  for (size_t i = 0; i < n; i++) {
    X509 *x = sk_X509_value(chain, i);
    EVP_PKEY *key = X509_get_pubkey(x);
    int too_small = key && EVP_PKEY_id(key) == EVP_PKEY_RSA && EVP_PKEY_bits(key) < 2048;
    EVP_PKEY_free(key);
    if (too_small) return VERIFY_WEAK_KEY;
    if (i + 1 < n) {
      int nid = X509_get_signature_nid(x);
      if (nid == NID_sha1WithRSAEncryption || nid == NID_ecdsa_with_SHA1 ||
          nid == NID_md5WithRSAEncryption)
        return VERIFY_WEAK_SIGNATURE;
    }
  }
  return 0;
}

/* Whether |x| names where its issuer can be fetched (RFC 5280 4.2.2.1,
 * Authority Information Access, caIssuers). */
static int has_ca_issuers(X509 *x) {
  AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
  int found = 0;
  for (size_t i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia); i++)
    if (OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, i)->method) == NID_ad_ca_issuers) found = 1;
  AUTHORITY_INFO_ACCESS_free(aia);
  return found;
}

static int verify_cb(int ok, X509_STORE_CTX *store) {
  if (!ok) {
    /* An issuer that is nowhere (not sent, not trusted): an incomplete chain
     * when the certificate says where to fetch its issuer — what a server that
     * forgot its intermediate looks like (browsers fetch it; guise reports it);
     * else an untrusted root. */
    if (X509_STORE_CTX_get_error(store) == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) {
      X509 *x = X509_STORE_CTX_get_current_cert(store);
      if (x && has_ca_issuers(x)) X509_STORE_CTX_set_error(store, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT);
    }
    return 0;
  }
  /* Called per certificate; check the whole chain once, at the leaf (depth 0,
   * the last call). */
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  int w = weak(store);
  if (w) {
    X509_STORE_CTX_set_error(store, w);
    return 0;
  }
  return 1;
}

int tls_verify_setup(SSL_CTX *ctx, const char *cafile, int insecure) {
  if (insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return 0;
  }
  if (!SSL_CTX_load_verify_locations(ctx, cafile ? cafile : TLS_VERIFY_DEFAULT_BUNDLE, NULL))
    return GUISE_E_USAGE_FILE;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
  return 0;
}

int tls_verify_expect_host(SSL *ssl, const char *host) {
  X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
  /* An IP literal is matched against IP SANs, a name against DNS SANs. */
  int ok = X509_VERIFY_PARAM_set1_ip_asc(param, host);
  ERR_clear_error(); /* "not an IP literal" is an answer, not an error */
  ok = ok ||
           X509_VERIFY_PARAM_set1_host(param, host, strlen(host));
  return ok ? 0 : GUISE_E_NOMEM;
}

int tls_verify_error(const SSL *ssl) {
  long r = SSL_get_verify_result(ssl);
  return r == X509_V_OK ? 0 : tls_verify_map(r);
}

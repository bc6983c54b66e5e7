/* tls_pair.c — see tls_pair.h. */
#include "tls_pair.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/x509.h>

SSL_CTX *tp_server_ctx(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *pkey = EVP_PKEY_new();
  X509 *x = X509_new();
  if (ctx == NULL || ec == NULL || pkey == NULL || x == NULL || !EC_KEY_generate_key(ec) ||
      !EVP_PKEY_set1_EC_KEY(pkey, ec) || !X509_set_version(x, X509_VERSION_3) ||
      !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
      !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                  (const uint8_t *)"localhost", -1, -1, 0) ||
      !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_set_pubkey(x, pkey) ||
      !X509_sign(x, pkey, EVP_sha256()) || !SSL_CTX_use_certificate(ctx, x) ||
      !SSL_CTX_use_PrivateKey(ctx, pkey)) {
    fprintf(stderr, "tp_server_ctx failed\n");
    abort();
  }
  X509_free(x);
  EVP_PKEY_free(pkey);
  EC_KEY_free(ec);
  return ctx;
}

/* The message callback sees each handshake message once, with its 4-byte header. */
static void on_message(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg) {
  tp_result *r = SSL_get_app_data(ssl);
  const uint8_t *p = buf;
  if (r == NULL || !write_p || content_type != SSL3_RT_HANDSHAKE || len < 1 ||
      p[0] != SSL3_MT_CLIENT_HELLO || r->hello_len != 0 || len + 5 > sizeof(r->hello))
    return;
  r->hello[0] = SSL3_RT_HANDSHAKE;
  r->hello[1] = 0x03;
  r->hello[2] = 0x01;
  r->hello[3] = (uint8_t)(len >> 8);
  r->hello[4] = (uint8_t)len;
  memcpy(r->hello + 5, p, len);
  r->hello_len = len + 5;
}

SSL_CTX *tp_client_ctx(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  if (ctx == NULL) abort();
  SSL_CTX_set_msg_callback(ctx, on_message);
  return ctx;
}

/* Every queued error, oldest first, joined with " | ": the library's own verdict
 * comes after a lower layer's detail. */
static void reason(char *out, size_t n) {
  size_t used = 0;
  out[0] = '\0';
  uint32_t e;
  while ((e = ERR_get_error()) != 0 && used + 4 < n) {
    char one[256];
    ERR_error_string_n(e, one, sizeof(one));
    int w = snprintf(out + used, n - used, "%s%s", used ? " | " : "", one);
    if (w < 0) break;
    used += (size_t)w;
  }
  ERR_clear_error();
}

void tp_handshake(SSL *client, SSL *server, tp_result *r) {
  memset(r, 0, offsetof(tp_result, hello) + 0);
  r->ok = 0;
  r->hello_len = 0;
  r->ch = NULL;
  r->client_error[0] = r->server_error[0] = '\0';
  BIO *c2s_c, *c2s_s;
  if (!BIO_new_bio_pair(&c2s_c, 0, &c2s_s, 0)) abort();
  SSL_set_bio(client, c2s_c, c2s_c);
  SSL_set_bio(server, c2s_s, c2s_s);
  SSL_set_app_data(client, r);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  int cdone = 0, sdone = 0, cfail = 0, sfail = 0;
  for (int round = 0; round < 64 && !(cdone && sdone) && !cfail && !sfail; round++) {
    if (!cdone) {
      int rc = SSL_do_handshake(client);
      if (rc == 1) cdone = 1;
      else if (SSL_get_error(client, rc) != SSL_ERROR_WANT_READ) { cfail = 1; reason(r->client_error, sizeof(r->client_error)); }
    }
    if (!sdone) {
      int rc = SSL_do_handshake(server);
      if (rc == 1) sdone = 1;
      else if (SSL_get_error(server, rc) != SSL_ERROR_WANT_READ) { sfail = 1; reason(r->server_error, sizeof(r->server_error)); }
    }
  }
  if (cdone && sdone) {
    /* One byte each way: TLS 1.3 clients process post-handshake messages here. */
    uint8_t b = 'x', got = 0;
    r->ok = SSL_write(client, &b, 1) == 1 && SSL_read(server, &got, 1) == 1 && got == 'x' &&
            SSL_write(server, &b, 1) == 1 && SSL_read(client, &got, 1) == 1;
  } else if (cfail && !r->client_error[0]) {
    snprintf(r->client_error, sizeof(r->client_error), "client failed");
  }
  if (r->hello_len) {
    r->ch = gfp_ch_new();
    if (r->ch && gfp_ch_parse(r->ch, r->hello, r->hello_len) != GFP_DONE) {
      gfp_ch_free(r->ch);
      r->ch = NULL;
    }
  }
}

int tp_client_start(SSL *client, tp_result *r) {
  r->ok = 0;
  r->hello_len = 0;
  r->ch = NULL;
  r->client_error[0] = r->server_error[0] = '\0';
  BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
  if (rbio == NULL || wbio == NULL) abort();
  BIO_set_mem_eof_return(rbio, -1);
  SSL_set_bio(client, rbio, wbio);
  SSL_set_app_data(client, r);
  SSL_set_connect_state(client);
  int rc = SSL_do_handshake(client);
  if (rc == 1 || SSL_get_error(client, rc) != SSL_ERROR_WANT_READ) {
    reason(r->client_error, sizeof(r->client_error));
    return 0;
  }
  r->ch = gfp_ch_new();
  if (r->ch && gfp_ch_parse(r->ch, r->hello, r->hello_len) != GFP_DONE) {
    gfp_ch_free(r->ch);
    r->ch = NULL;
  }
  return 1;
}

int tp_client_feed(SSL *client, const uint8_t *server, size_t len, tp_result *r) {
  BIO_write(SSL_get_rbio(client), server, (int)len);
  int rc = SSL_do_handshake(client);
  int waiting = rc != 1 && SSL_get_error(client, rc) == SSL_ERROR_WANT_READ;
  if (!waiting) reason(r->client_error, sizeof(r->client_error));
  return waiting;
}

int tp_client_vs_bytes(SSL *client, const uint8_t *server, size_t len, tp_result *r) {
  int waiting = tp_client_start(client, r) && tp_client_feed(client, server, len, r);
  gfp_ch_free(r->ch);
  r->ch = NULL;
  return waiting;
}

size_t tp_key_shares(const gfp_clienthello *ch, uint16_t *groups, const uint8_t **keys,
                     size_t *key_lens, size_t max) {
  const gfp_ext *e = gfp_ch_find_ext(ch, 51);
  if (e == NULL) return 0;
  CBS body, list;
  CBS_init(&body, e->body.data, e->body.len);
  if (!CBS_get_u16_length_prefixed(&body, &list)) return 0;
  size_t n = 0;
  while (CBS_len(&list) > 0 && n < max) {
    uint16_t g;
    CBS key;
    if (!CBS_get_u16(&list, &g) || !CBS_get_u16_length_prefixed(&list, &key)) return n;
    groups[n] = g;
    keys[n] = CBS_data(&key);
    key_lens[n] = CBS_len(&key);
    n++;
  }
  return n;
}

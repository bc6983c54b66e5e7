/* quic_peer.c — see quic_peer.h. */
#include "quic_peer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

ngtcp2_tstamp qp_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

void qp_rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  RAND_bytes(dest, len);
}

void qp_h3_rand_cb(uint8_t *dest, size_t len) { RAND_bytes(dest, len); }

int qp_new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                  void *user_data) {
  (void)conn, (void)user_data;
  RAND_bytes(cid->data, cidlen);
  cid->datalen = cidlen;
  RAND_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
  return 0;
}

void qp_callbacks(ngtcp2_callbacks *cb, int server) {
  memset(cb, 0, sizeof *cb);
  if (server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = ngtcp2_crypto_update_key_cb;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->rand = qp_rand_cb;
  cb->get_new_connection_id = qp_new_cid_cb;
}

int qp_alpn_select_h3(SSL *ssl, const uint8_t **out, uint8_t *outlen, const uint8_t *in,
                      unsigned inlen, void *arg) {
  (void)ssl, (void)arg;
  for (unsigned i = 0; i < inlen;) {
    unsigned l = in[i];
    if (i + 1 + l > inlen) break;
    if (l == 2 && memcmp(in + i + 1, "h3", 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + l;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

int qp_self_signed(SSL_CTX *ctx) {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *pkey = EVP_PKEY_new();
  X509 *x = X509_new();
  int ok = ec && pkey && x && EC_KEY_generate_key(ec) && EVP_PKEY_assign_EC_KEY(pkey, ec);
  if (ok) ec = NULL;
  ok = ok && X509_set_version(x, X509_VERSION_3) &&
       ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
       X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
       X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, pkey) &&
       X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                  (const uint8_t *)"localhost", -1, -1, 0) &&
       X509_set_issuer_name(x, X509_get_subject_name(x)) && X509_sign(x, pkey, EVP_sha256()) &&
       SSL_CTX_use_certificate(ctx, x) && SSL_CTX_use_PrivateKey(ctx, pkey);
  EC_KEY_free(ec);
  EVP_PKEY_free(pkey);
  X509_free(x);
  return ok ? 0 : -1;
}

long qp_write_pkt(ngtcp2_conn *q, nghttp3_conn *h3, ngtcp2_path *path, uint8_t *buf,
                  size_t cap, ngtcp2_tstamp ts, const char *who) {
  for (int guard = 0; guard < 1024; guard++) {
    int64_t sid = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize cnt = 0;
    if (h3 && ngtcp2_conn_get_max_data_left(q) > 0) {
      cnt = nghttp3_conn_writev_stream(h3, &sid, &fin, vec, 16);
      if (cnt < 0) {
        if (who) fprintf(stderr, "%s: nghttp3_conn_writev_stream: %s\n", who, nghttp3_strerror((int)cnt));
        return -1;
      }
    }
    ngtcp2_ssize ndata = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(q, path, &pi, buf, cap, &ndata, flags, sid,
                                               (const ngtcp2_vec *)vec, (size_t)cnt, ts);
    if (n < 0) {
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        nghttp3_conn_block_stream(h3, sid);
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
        nghttp3_conn_shutdown_stream_write(h3, sid);
        continue;
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        if (nghttp3_conn_add_write_offset(h3, sid, (uint64_t)ndata) != 0) return -1;
        continue;
      }
      if (who) fprintf(stderr, "%s: ngtcp2_conn_writev_stream: %s\n", who, ngtcp2_strerror((int)n));
      return -1;
    }
    if (ndata >= 0 && nghttp3_conn_add_write_offset(h3, sid, (uint64_t)ndata) != 0) return -1;
    return (long)n;
  }
  return -1;
}

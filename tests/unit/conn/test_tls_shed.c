/* test_tls_shed.c — client/lib/filter_tls.c: the SSL a connection's TLS filter
 * makes gives back its handshake configuration (BoringSSL's SSL_CONFIG: ALPS,
 * the CERT copy, verify parameters) once the handshake is done, ~1.6 KB per
 * idle connection, and still reads after it (the post-handshake messages:
 * TLS 1.3 tickets, a byte each way). SSL_set_trust answers 0 once the
 * configuration is gone (BoringSSL, ssl_x509.cc), 1 while it is there. */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../../lib/gtest_check.h"
#include "filter_tls.h"
#include "tls_pair.h"

static void handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *what) {
  filter_tls_config c;
  memset(&c, 0, sizeof(c));
  c.role = FILTER_TLS_ORIGIN;
  c.ctx = cctx;
  c.sni = "localhost";
  c.scratch_slot = 1;
  filter_tls t;
  CHECK_EQ(filter_tls_init(&t, &c), 0);
  if (t.ssl == NULL) return;
  CHECK_MSG(SSL_set_trust(t.ssl, X509_TRUST_SSL_SERVER) == 1, "%s: configuration before", what);
  SSL *s = SSL_new(sctx);
  tp_result *r = calloc(1, sizeof(*r));
  if (s == NULL || r == NULL) abort();
  tp_handshake(t.ssl, s, r); /* memory BIOs in place of the filter's */
  CHECK_MSG(r->ok, "%s: handshake and a byte each way (%s / %s)", what, r->client_error, r->server_error);
  CHECK_MSG(SSL_set_trust(t.ssl, X509_TRUST_SSL_SERVER) == 0, "%s: configuration shed", what);
  CHECK_MSG(SSL_get_current_cipher(t.ssl) != NULL, "%s: the handshake's results stay", what);
  gfp_ch_free(r->ch);
  free(r);
  SSL_free(s);
  SSL_free(t.ssl);
}

int main(void) {
  SSL_CTX *sctx = tp_server_ctx();
  SSL_CTX *cctx = SSL_CTX_new(TLS_method());
  if (sctx == NULL || cctx == NULL) abort();
  handshake(sctx, cctx, "TLS 1.3");
  SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
  handshake(sctx, cctx, "TLS 1.2");
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  return gt_done("test_tls_shed");
}

/*
 * openssl_coexist.c — a program that links libguise (BoringSSL inside) and the
 * system's OpenSSL 3 and uses both in one process. Linked with OpenSSL first, so
 * an exported BoringSSL symbol in libguise would either clash at link time or be
 * interposed at run time; both are caught here.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "../lib/gtest_check.h"
#include "guise.h"

int main(void) {
  /* The system library, called directly. */
  const char *sys = OpenSSL_version(OPENSSL_VERSION);
  CHECK(strncmp(sys, "OpenSSL 3.", 10) == 0);
  CHECK(OpenSSL_version_num() >= 0x30000000UL);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  CHECK(ctx != NULL);
  CHECK(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1);
  SSL *ssl = ctx ? SSL_new(ctx) : NULL;
  CHECK(ssl != NULL);
  SSL_free(ssl);
  SSL_CTX_free(ctx);

  /* The process-wide SSL_CTX_new is OpenSSL's, not one leaked by libguise. */
  Dl_info info;
  void *sym = dlsym(RTLD_DEFAULT, "SSL_CTX_new");
  CHECK(sym != NULL && dladdr(sym, &info) && strstr(info.dli_fname, "libssl.so.3") != NULL);

  /* libguise's own calls reach its BoringSSL, not the system's OpenSSL. */
  const guise_version_info *v = guise_version();
  CHECK(strcmp(v->tls_library, "BoringSSL") == 0);
  printf("system: %s; libguise: %s %s\n", sys, v->tls_library, v->boringssl_revision);
  return gt_done("openssl_coexist");
}

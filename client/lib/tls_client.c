/* tls_client.c — see tls_client.h. */
#include "tls_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "guise.h"
#include "tls_session_cache.h"
#include "tls_verify.h"

/* One key log for the process: every context appends to the same file, one
 * line per secret in the NSS key log format BoringSSL produces (what Wireshark
 * and tshark read). Secrets go nowhere else: never to logs. */
static FILE *keylog_file;
static pthread_mutex_t keylog_lock = PTHREAD_MUTEX_INITIALIZER;

static void keylog_line(const SSL *ssl, const char *line) {
  pthread_mutex_lock(&keylog_lock);
  if (keylog_file) {
    fputs(line, keylog_file);
    fputc('\n', keylog_file);
    fflush(keylog_file);
  }
  pthread_mutex_unlock(&keylog_lock);
}

static int open_keylog(const char *path) {
  pthread_mutex_lock(&keylog_lock);
  if (keylog_file == NULL) keylog_file = fopen(path, "a");
  int ok = keylog_file != NULL;
  pthread_mutex_unlock(&keylog_lock);
  return ok;
}

struct tls_client_cert {
  X509 *leaf;
  STACK_OF(X509) *chain; /* the certificates after the leaf, as in the file */
  EVP_PKEY *key;
};

void tls_client_cert_free(tls_client_cert *c) {
  if (c == NULL) return;
  X509_free(c->leaf);
  sk_X509_pop_free(c->chain, X509_free);
  EVP_PKEY_free(c->key);
  free(c);
}

/* The whole of |path| into a memory BIO, at most TLS_CLIENT_CERT_FILE_MAX
 * bytes (a certificate file is a few KiB: a larger one is not one). */
static BIO *read_file(const char *path, const char *what, char *why, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(why, cap, "%s %.80s: %s", what, path, strerror(errno));
    return NULL;
  }
  char *buf = malloc(TLS_CLIENT_CERT_FILE_MAX + 1);
  size_t n = buf ? fread(buf, 1, TLS_CLIENT_CERT_FILE_MAX + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (buf == NULL || bad || n > TLS_CLIENT_CERT_FILE_MAX) {
    snprintf(why, cap, "%s %.80s: %s", what, path,
             buf == NULL ? "out of memory" : bad ? "read error" : "larger than 1 MiB");
    free(buf);
    return NULL;
  }
  /* BIO_new_mem_buf does not copy: the BIO owns nothing, so copy into one that does. */
  BIO *b = BIO_new(BIO_s_mem());
  if (b == NULL || BIO_write(b, buf, (int)n) != (int)n) {
    BIO_free(b);
    b = NULL;
    snprintf(why, cap, "out of memory");
  }
  free(buf);
  return b;
}

static int pem_password(char *buf, int size, int rwflag, void *ud) {
  (void)rwflag;
  const char *pw = ud;
  if (pw == NULL) return 0;
  size_t n = strlen(pw);
  if (n > (size_t)size) return 0;
  memcpy(buf, pw, n);
  return (int)n;
}

int tls_client_cert_load(const char *cert_file, const char *key_file, const char *password, tls_client_cert **out,
                         char *why, size_t cap) {
  *out = NULL;
  tls_client_cert *c = calloc(1, sizeof(*c));
  if (c == NULL || (c->chain = sk_X509_new_null()) == NULL) {
    tls_client_cert_free(c);
    snprintf(why, cap, "out of memory");
    return GUISE_E_NOMEM;
  }
  BIO *b = read_file(cert_file, "--cert", why, cap);
  if (b == NULL) goto fail;
  c->leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
  if (c->leaf == NULL) {
    snprintf(why, cap, "--cert %.80s: no PEM certificate in it", cert_file);
    BIO_free(b);
    goto fail;
  }
  for (X509 *x; (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL;)
    if (!sk_X509_push(c->chain, x)) {
      X509_free(x);
      BIO_free(b);
      snprintf(why, cap, "out of memory");
      goto fail;
    }
  ERR_clear_error(); /* the end of the certificates */
  if (key_file) {
    BIO_free(b);
    if ((b = read_file(key_file, "--key", why, cap)) == NULL) goto fail;
  } else {
    BIO_free(b); /* the key is looked for from the start of the file */
    if ((b = read_file(cert_file, "--cert", why, cap)) == NULL) goto fail;
  }
  c->key = PEM_read_bio_PrivateKey(b, NULL, pem_password, (void *)password);
  BIO_free(b);
  if (c->key == NULL) {
    uint32_t e = ERR_peek_last_error();
    int bad_pw = ERR_GET_LIB(e) == ERR_LIB_PEM || ERR_GET_LIB(e) == ERR_LIB_CIPHER;
    ERR_clear_error();
    snprintf(why, cap, "%s %.80s: %s", key_file ? "--key" : "--cert", key_file ? key_file : cert_file,
             bad_pw && password ? "the private key cannot be decrypted with the password given"
             : bad_pw           ? "no private key in it, or it is encrypted (--pass)"
                                : "no private key in it");
    goto fail;
  }
  if (!X509_check_private_key(c->leaf, c->key)) {
    ERR_clear_error();
    snprintf(why, cap, "the private key is not the certificate's (--cert %.60s)", cert_file);
    goto fail;
  }
  *out = c;
  return 0;
fail:
  tls_client_cert_free(c);
  return GUISE_E_USAGE_FILE;
}

/* The client certificate on |ctx|: sent only in answer to a CertificateRequest. */
static int use_cert(SSL_CTX *ctx, const tls_client_cert *c) {
  if (!SSL_CTX_use_certificate(ctx, c->leaf) || !SSL_CTX_use_PrivateKey(ctx, c->key)) return -1;
  for (size_t i = 0; i < sk_X509_num(c->chain); i++)
    if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(c->chain, i))) return -1;
  return 0;
}

/* --profile none: curl's version, cipher and group options on the library's hello. */
static int plain_options(SSL_CTX *ctx, const tls_client_config *cfg, const char **why) {
  if (cfg->min_version && !SSL_CTX_set_min_proto_version(ctx, (uint16_t)cfg->min_version)) {
    *why = "TLS version (--tlsv1.x) not supported";
    return -1;
  }
  if (cfg->max_version && !SSL_CTX_set_max_proto_version(ctx, (uint16_t)cfg->max_version)) {
    *why = "TLS version (--tls-max) not supported";
    return -1;
  }
  if (cfg->ciphers && !SSL_CTX_set_strict_cipher_list(ctx, cfg->ciphers)) {
    *why = "a cipher suite of --ciphers is unknown";
    return -1;
  }
  if (cfg->curves && !SSL_CTX_set1_curves_list(ctx, cfg->curves)) {
    *why = "a group of --curves is unknown";
    return -1;
  }
  return 0;
}

SSL_CTX *tls_client_ctx_new(const tls_client_config *cfg, int *err, const char **why) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  if (ctx == NULL) {
    *err = GUISE_E_NOMEM;
    *why = "out of memory";
    return NULL;
  }
  if (cfg->shape && tls_shape_apply_ctx(ctx, cfg->shape, why) != 0) {
    *err = GUISE_E_PROFILE_UNSUPPORTED;
    SSL_CTX_free(ctx);
    return NULL;
  }
  int r = tls_verify_setup(ctx, cfg->cafile, cfg->insecure);
  if (r) {
    *err = r;
    *why = "cannot read the CA file";
    SSL_CTX_free(ctx);
    return NULL;
  }
  if (cfg->cert && use_cert(ctx, cfg->cert) != 0) {
    ERR_clear_error();
    *err = GUISE_E_NOMEM;
    *why = "cannot set the client certificate";
    SSL_CTX_free(ctx);
    return NULL;
  }
  if (plain_options(ctx, cfg, why) != 0) {
    ERR_clear_error();
    *err = GUISE_E_USAGE_INVALID_ARGUMENT;
    SSL_CTX_free(ctx);
    return NULL;
  }
  tls_session_cache_attach(ctx);
  const char *keylog = cfg->keylog ? cfg->keylog : getenv("SSLKEYLOGFILE");
  if (keylog && *keylog) {
    if (!open_keylog(keylog)) {
      *err = GUISE_E_USAGE_FILE;
      *why = "cannot open the key log file (SSLKEYLOGFILE)";
      SSL_CTX_free(ctx);
      return NULL;
    }
    SSL_CTX_set_keylog_callback(ctx, keylog_line);
  }
  return ctx;
}

/* tls_client.c — see tls_client.h. */
#include "tls_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * conn_probe.c — one connection through the engine's loop modules (dns, conn,
 * tls_verify): resolve HOST (with --resolve overrides), connect to PORT, run
 * the TLS handshake with ALPN h2/http/1.1 and certificate checks, then print
 * "ok alpn=... version=... connect_ms=... tls_ms=..." or "error NAME".
 *
 *   conn_probe [-k] [--cacert FILE] [--resolve H:P:A] [--verify-host NAME] HOST PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "conn.h"
#include "dns.h"
#include "guise.h"
#include "tls_client.h"
#include "tls_shape.h"

static struct {
  uv_loop_t *loop;
  dns *dns;
  SSL_CTX *ctx;
  tls_shape shape;
  const char *host, *verify_host;
  int insecure;
  int result;
} P;

static void on_ready(conn *c, const char *alpn, void *ud) {
  SSL *ssl = conn_ssl(c);
  printf("ok alpn=%s version=%s group=%s connect_ms=%.2f tls_ms=%.2f\n", alpn,
         SSL_get_version(ssl), SSL_get_curve_name(SSL_get_curve_id(ssl)), conn_connect_ms(c),
         conn_tls_ms(c));
  P.result = 0;
  conn_close(c);
}

static void on_data(conn *c, const uint8_t *p, size_t n, void *ud) {}

static void on_close(conn *c, int err, void *ud) {
  if (err) {
    printf("error %s\n", guise_err_name(err));
    P.result = err;
  }
  dns_free(P.dns);
}

static void on_resolved(int err, const struct sockaddr_storage *addrs, size_t n, const char *why, void *ud) {
  if (err) {
    printf("error %s\n", guise_err_name(err));
    P.result = err;
    dns_free(P.dns);
    return;
  }
  conn_options o;
  memset(&o, 0, sizeof(o));
  o.addr = (const struct sockaddr *)&addrs[0];
  o.ctx = P.ctx;
  o.shape = &P.shape;
  o.sni = P.host;
  o.verify = !P.insecure;
  o.verify_host = P.verify_host;
  o.connect_timeout_ms = 5000;
  o.tls_timeout_ms = 5000;
  static const conn_callbacks cb = {on_ready, on_data, on_close};
  conn *c;
  int r = conn_open(P.loop, &o, &cb, NULL, &c);
  if (r) {
    printf("error %s\n", guise_err_name(r));
    P.result = r;
    dns_free(P.dns);
  }
}

int main(int argc, char **argv) {
  const char *cafile = NULL;
  P.loop = uv_default_loop();
  P.result = GUISE_E_INTERNAL;
  if (dns_new(P.loop, &P.dns) != 0) return 2;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-k") == 0) P.insecure = 1;
    else if (strcmp(argv[i], "--cacert") == 0 && i + 1 < argc) cafile = argv[++i];
    else if (strcmp(argv[i], "--verify-host") == 0 && i + 1 < argc) P.verify_host = argv[++i];
    else if (strcmp(argv[i], "--dns-servers") == 0 && i + 1 < argc) {
      if (dns_set_servers(P.dns, argv[++i]) != 0) return 2;
    }
    else if (strcmp(argv[i], "--resolve") == 0 && i + 1 < argc) {
      if (dns_add_override(P.dns, argv[++i]) != 0) {
        fprintf(stderr, "bad --resolve %s\n", argv[i]);
        return 2;
      }
    } else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (argc - i != 2) {
    fprintf(stderr, "usage: conn_probe [-k] [--cacert FILE] [--resolve H:P:A] HOST PORT\n");
    return 2;
  }
  P.host = argv[i];
  tls_shape_init(&P.shape);
  snprintf(P.shape.alpn[0], TLS_SHAPE_MAX_PROTO, "h2");
  snprintf(P.shape.alpn[1], TLS_SHAPE_MAX_PROTO, "http/1.1");
  P.shape.n_alpn = 2;
  const char *why;
  int err;
  tls_client_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.shape = &P.shape;
  cfg.cafile = cafile;
  cfg.insecure = P.insecure;
  P.ctx = tls_client_ctx_new(&cfg, &err, &why);
  if (P.ctx == NULL) {
    printf("error %s\n", guise_err_name(err));
    return 1;
  }
  int r = dns_resolve(P.dns, P.host, (unsigned)atoi(argv[i + 1]), on_resolved, NULL);
  if (r) {
    printf("error %s\n", guise_err_name(r));
    return 1;
  }
  uv_run(P.loop, UV_RUN_DEFAULT);
  SSL_CTX_free(P.ctx);
  uv_loop_close(P.loop);
  return P.result == 0 ? 0 : 1;
}

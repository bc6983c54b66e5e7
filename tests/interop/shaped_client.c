/*
 * shaped_client.c — a browser-shaped TLS client for interop tests: the shape of
 * a capture in browsers.json (client/lib/tls_shape through the patch series),
 * one handshake with 127.0.0.1:PORT, then "version=... group=... alpn=...".
 *
 *   shaped_client BROWSERS_JSON BROWSER_ID PORT
 *
 * Exit 0 on a completed handshake, 1 with BoringSSL's reasons otherwise.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "shape_capture.h"

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: shaped_client BROWSERS_JSON BROWSER_ID PORT\n");
    return 2;
  }
  json_error_t jerr;
  json_t *root = json_load_file(argv[1], 0, &jerr);
  json_t *b = root ? shape_find_browser(root, argv[2]) : NULL;
  if (b == NULL) {
    fprintf(stderr, "no browser %s in %s\n", argv[2], argv[1]);
    return 2;
  }
  static tls_shape shape;
  shape_from_capture(json_object_get(b, "tls"), &shape);
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  const char *why = "";
  if (tls_shape_apply_ctx(ctx, &shape, &why) != 0) {
    fprintf(stderr, "shape refused: %s\n", why);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
    perror("connect");
    return 1;
  }
  SSL *ssl = SSL_new(ctx);
  if (tls_shape_apply_ssl(ssl, &shape, &why) != 0) {
    fprintf(stderr, "shape refused: %s\n", why);
    return 2;
  }
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) != 1) {
    uint32_t e;
    printf("handshake failed:");
    while ((e = ERR_get_error()) != 0) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof(buf));
      printf(" %s", buf);
    }
    printf("\n");
    return 1;
  }
  const uint8_t *alpn;
  unsigned alpn_len;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  printf("version=%s group=%s cipher=%s alpn=%.*s\n", SSL_get_version(ssl),
         SSL_get_curve_name(SSL_get_curve_id(ssl)),
         SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl)), (int)alpn_len, alpn);
  SSL_shutdown(ssl);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  json_decref(root);
  return 0;
}

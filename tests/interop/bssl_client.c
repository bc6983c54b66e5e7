/*
 * bssl_client.c — a TLS client on guise's patched BoringSSL for interop tests:
 * connects to 127.0.0.1:PORT offering GROUPS (colon-separated names, first ones
 * get key shares as BoringSSL decides), completes the handshake and prints
 * "version=... group=... cipher=...". Exit 0 on a completed handshake, 1 with
 * BoringSSL's reason otherwise. A blocking socket: this is a test tool.
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

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bssl_client PORT GROUPS\n");
    return 2;
  }
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  if (ctx == NULL || !SSL_CTX_set1_curves_list(ctx, argv[2])) {
    fprintf(stderr, "bad groups %s\n", argv[2]);
    return 2;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
    perror("connect");
    return 1;
  }
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) != 1) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    printf("handshake failed: %s\n", buf);
    return 1;
  }
  printf("version=%s group=%s cipher=%s\n", SSL_get_version(ssl),
         SSL_get_curve_name(SSL_get_curve_id(ssl)),
         SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl)));
  SSL_shutdown(ssl);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return 0;
}

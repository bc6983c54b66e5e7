/*
 * handshake_client.c — full TLS 1.3 handshakes on guise's patched BoringSSL,
 * one after another, for the handshake benchmark (tools/bench/handshake).
 *
 *   bench_handshake_client PORT GROUPS COUNT
 *
 * Each round: TCP connect to 127.0.0.1:PORT, a full handshake (no resumption)
 * offering GROUPS, close. Prints one line: handshakes, wall seconds, and the
 * process's user+system CPU per handshake in microseconds (getrusage), the
 * figure that stays stable on a shared machine.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: bench_handshake_client PORT GROUPS COUNT\n");
    return 2;
  }
  int port = atoi(argv[1]), count = atoi(argv[3]);
  if (port <= 0 || port > 65535 || count <= 0 || count > 1000000) {
    fprintf(stderr, "bad PORT or COUNT\n");
    return 2;
  }
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  if (!SSL_CTX_set1_curves_list(ctx, argv[2])) {
    fprintf(stderr, "bad groups %s\n", argv[2]);
    return 2;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  double c0 = cpu_seconds(), w0 = wall_seconds();
  uint16_t group = 0;
  for (int i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
      fprintf(stderr, "handshake %d failed: %s\n", i, buf);
      return 1;
    }
    group = SSL_get_curve_id(ssl);
    SSL_free(ssl);
    close(fd);
  }
  double cpu = cpu_seconds() - c0, wall = wall_seconds() - w0;
  printf("handshakes=%d group=%s wall_s=%.3f cpu_us_per_handshake=%.1f\n", count,
         SSL_get_curve_name(group), wall, cpu * 1e6 / count);
  SSL_CTX_free(ctx);
  return 0;
}

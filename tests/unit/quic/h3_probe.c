/*
 * h3_probe — session_h3 with a built-in profile, for the wire checks of
 * test_session_h3_wire.py (tshark and guise_h3_listen read what it sends).
 *
 *   h3_probe initial PROFILE OUT.pcap
 *       Makes a session to 127.0.0.1:443 (from 127.0.0.1:50000) and writes the
 *       datagrams of its first flight (every send() until it has nothing more)
 *       to OUT.pcap as IPv4/UDP packets (LINKTYPE_RAW), for tshark to decrypt.
 *   h3_probe get PROFILE PORT
 *       GET https://localhost:PORT/ over a real UDP socket to 127.0.0.1:PORT
 *       (certificates not checked: guise_h3_listen --self-signed), with the
 *       profile's navigation fields in the order of its http3 navigate order
 *       (values from its HTTP/2 navigation set; alt-used is the authority, as
 *       Firefox sends it to an Alt-Svc origin), then closes the connection.
 *       Exit 0 on a 200.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "guise.h"
#include "h3_test_server.h"
#include "profile.h"
#include "session.h"
#include "session_h3.h"

static profile prof;

static int load(const char *name) {
  char err[256];
  if (profile_load_builtin(name, &prof, err, sizeof err) != 0) {
    fprintf(stderr, "h3_probe: %s\n", err);
    return -1;
  }
  return 0;
}

static SSL_CTX *ctx_new(void) {
  tls_client_config cc;
  memset(&cc, 0, sizeof cc);
  cc.insecure = 1;
  int e = 0;
  const char *why = NULL;
  SSL_CTX *ctx = session_h3_ctx_new(&prof, &cc, &e, &why);
  if (ctx == NULL) fprintf(stderr, "h3_probe: session_h3_ctx_new: %d %s\n", e, why);
  return ctx;
}

/* ---- initial ---- */

static void put16(uint8_t *p, unsigned v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32le(FILE *f, uint32_t v) {
  uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  fwrite(b, 1, 4, f);
}

static void write_packet(FILE *f, const uint8_t *payload, size_t n, unsigned i) {
  uint8_t h[28] = {0};
  h[0] = 0x45;
  put16(h + 2, (unsigned)(28 + n));
  h[8] = 64;
  h[9] = 17; /* UDP */
  h[12] = 127, h[15] = 1;
  h[16] = 127, h[19] = 1;
  unsigned sum = 0;
  for (int k = 0; k < 20; k += 2) sum += (unsigned)(h[k] << 8 | h[k + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(h + 10, ~sum & 0xffff);
  put16(h + 20, 50000);
  put16(h + 22, 443);
  put16(h + 24, (unsigned)(8 + n)); /* checksum 0: none (RFC 768) */
  put32le(f, 1700000000u);
  put32le(f, i * 1000u);
  put32le(f, (uint32_t)(28 + n));
  put32le(f, (uint32_t)(28 + n));
  fwrite(h, 1, 28, f);
  fwrite(payload, 1, n, f);
}

static int cmd_initial(const char *out) {
  SSL_CTX *ctx = ctx_new();
  if (ctx == NULL) return 1;
  struct sockaddr_in remote, local;
  h3ts_loopback_addrs(&remote, &local);
  session_h3_config cfg = {.profile = &prof,
                           .server_name = "localhost",
                           .remote = (struct sockaddr *)&remote,
                           .remote_len = sizeof remote,
                           .local = (struct sockaddr *)&local,
                           .local_len = sizeof local,
                           .ctx = ctx,
                           .max_streams = 1};
  session *s = NULL;
  int e = session_h3_new(&cfg, NULL, &s);
  SSL_CTX_free(ctx);
  if (e) {
    fprintf(stderr, "h3_probe: session_h3_new: %d\n", e);
    return 1;
  }
  FILE *f = fopen(out, "wb");
  if (f == NULL) {
    fprintf(stderr, "h3_probe: %s: %s\n", out, strerror(errno));
    session_free(s);
    return 1;
  }
  put32le(f, 0xa1b2c3d4u);
  uint8_t v[4] = {2, 0, 4, 0};
  fwrite(v, 1, 4, f);
  put32le(f, 0);
  put32le(f, 0);
  put32le(f, 65535);
  put32le(f, 101); /* LINKTYPE_RAW */
  uint8_t buf[2048];
  unsigned count = 0;
  for (;;) {
    size_t n = 0;
    if (session_send(s, buf, sizeof buf, &n) != 0 || n == 0 || count == 16) break;
    write_packet(f, buf, n, count++);
  }
  session_free(s);
  if (fclose(f) != 0 || count == 0) {
    fprintf(stderr, "h3_probe: no datagram written\n");
    return 1;
  }
  fprintf(stderr, "h3_probe: %u datagram(s) of the first flight\n", count);
  return 0;
}

/* ---- get ---- */

static uint64_t deadline_ms = UINT64_MAX;
static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
static void set_timer(void *arg, unsigned ms) {
  (void)arg;
  deadline_ms = ms ? mono_ms() + ms : UINT64_MAX;
}

static int status, closed;
static gerr close_err;
static int on_head(void *ud, session_head_kind kind, int st, const session_header *h, size_t n) {
  (void)ud, (void)h, (void)n;
  if (kind == SESSION_HEAD_FINAL) status = st;
  return 0;
}
static int on_data(void *ud, const uint8_t *p, size_t n) {
  (void)ud, (void)p, (void)n;
  return 0;
}
static void on_close(void *ud, const gerr *err, int retryable) {
  (void)ud, (void)retryable;
  closed = 1;
  close_err = *err;
}

static int flush(session *s, int fd) {
  uint8_t buf[2048];
  for (int i = 0; i < 256 && session_want_write(s); i++) {
    size_t n = 0;
    if (session_send(s, buf, sizeof buf, &n) != 0 || n == 0) break;
    if (send(fd, buf, n, 0) < 0 && errno != ECONNREFUSED) return -1;
  }
  return 0;
}

static int cmd_get(const char *port_s) {
  unsigned port = (unsigned)strtoul(port_s, NULL, 10);
  SSL_CTX *ctx = ctx_new();
  if (ctx == NULL || port == 0 || port > 65535) return 1;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in remote, local;
  memset(&remote, 0, sizeof remote);
  remote.sin_family = AF_INET;
  remote.sin_port = htons((uint16_t)port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t ll = sizeof local;
  if (fd < 0 || connect(fd, (struct sockaddr *)&remote, sizeof remote) != 0 ||
      getsockname(fd, (struct sockaddr *)&local, &ll) != 0) {
    fprintf(stderr, "h3_probe: socket: %s\n", strerror(errno));
    return 1;
  }
  session_h3_config cfg = {.profile = &prof,
                           .server_name = "localhost",
                           .remote = (struct sockaddr *)&remote,
                           .remote_len = sizeof remote,
                           .local = (struct sockaddr *)&local,
                           .local_len = ll,
                           .ctx = ctx,
                           .max_streams = 10};
  session_host host = {set_timer, NULL};
  session *s = NULL;
  int e = session_h3_new(&cfg, &host, &s);
  SSL_CTX_free(ctx);
  if (e) return 1;
  /* the navigation fields in the http3 navigate order */
  char authority[64];
  snprintf(authority, sizeof authority, "localhost:%u", port);
  session_header hs[PROFILE_MAX_HEADERS];
  size_t nh = 0;
  const profile_http3 *h3 = &prof.h3;
  for (size_t i = 0; i < h3->n_nav_order && nh < PROFILE_MAX_HEADERS; i++) {
    const char *name = h3->nav_order[i];
    if (name[0] == ':') continue;
    const char *value = NULL;
    if (strcmp(name, "alt-used") == 0) value = authority;
    for (size_t k = 0; value == NULL && k < prof.n_nav_h2; k++)
      if (strcmp(prof.nav_h2[k].name, name) == 0) value = prof.nav_h2[k].value;
    if (value == NULL && strcmp(name, "priority") == 0) value = h3->nav_priority;
    if (value == NULL) value = "";
    hs[nh++] = (session_header){name, strlen(name), value, strlen(value)};
  }
  session_request rq = {.method = "GET", .scheme = "https", .authority = authority, .path = "/",
                        .headers = hs, .n_headers = nh};
  static const session_stream_callbacks cbs = {on_head, on_data, on_close};
  int submitted = 0, rc = 1;
  uint64_t give_up = mono_ms() + 10000;
  while (mono_ms() < give_up && session_alive(s) && !closed) {
    if (!submitted && session_capacity(s) > 0) {
      if (session_submit(s, &rq, &cbs, NULL, NULL) != 0) break;
      submitted = 1;
    }
    if (flush(s, fd) != 0) break;
    uint64_t t = mono_ms();
    int wait = deadline_ms == UINT64_MAX ? 100 : deadline_ms <= t ? 0 : (int)(deadline_ms - t);
    if (wait > 100) wait = 100;
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, wait) > 0) {
      uint8_t buf[65536];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0) session_recv(s, buf, (size_t)n);
    }
    if (deadline_ms <= mono_ms()) {
      deadline_ms = UINT64_MAX;
      session_timeout(s);
    }
  }
  if (closed && close_err.code == 0 && status == 200) rc = 0;
  else fprintf(stderr, "h3_probe: status %d, end %d (%s)\n", status, close_err.code, close_err.text);
  session_h3_close(s);
  flush(s, fd);
  session_free(s);
  close(fd);
  return rc;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "initial") == 0) return load(argv[2]) ? 1 : cmd_initial(argv[3]);
  if (argc == 4 && strcmp(argv[1], "get") == 0) return load(argv[2]) ? 1 : cmd_get(argv[3]);
  fprintf(stderr, "usage: h3_probe initial PROFILE OUT.pcap | get PROFILE PORT\n");
  return 2;
}

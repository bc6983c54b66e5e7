/*
 * test_h3_listen — guise_h3_listen (tools/quic/h3-listen.c) records what an HTTP/3
 * client sends.
 *
 * An ngtcp2 + nghttp3 client on a real UDP socket talks to guise_h3_listen on
 * 127.0.0.1 (argv[1]; --self-signed, --conns 1): its SETTINGS are set to values nghttp3
 * would never pick by itself (max_field_section_size 12345, qpack_max_table_capacity
 * 4000, qpack_blocked_streams 77, h3_datagram 1), its request carries six header fields
 * in a known order and a priority field, and a PRIORITY_UPDATE for the request goes on
 * its control stream. Expected, from RFC 9114 7.2.4.1 / RFC 9204 5 / RFC 9297 2.1.1 ids
 * and the order nghttp3's SETTINGS writer (nghttp3_stream_write_settings) puts them in:
 * the log line lists ids 6, 1, 7, 0x33 with those values, the uni streams 2/6/10 as
 * control/QPACK encoder/QPACK decoder, the header fields in the order sent, the
 * priority field, the PRIORITY_UPDATE (type 0xf0700) for stream 0; the client gets 200.
 * Garbage and truncated long-header datagrams sent before the handshake are dropped
 * without a log line or a reply, and the server still serves the real connection.
 *
 * With --echo PATH/guise the same client talks to `guise echo` (its UDP side,
 * fingerprints/echo/echo_quic.c), which must log the same things in its record format
 * (http3.settings with names, http3.uni_streams, http3.priority_updates, requests), with
 * http_version "3", ALPN h3 and a JA4 with the q prefix, and exit 0 at SIGTERM.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_boringssl.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "quic_peer.h"

extern char **environ;

static int failures;
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
      failures++;                                          \
    }                                                      \
  } while (0)

typedef struct client {
  int fd;
  ngtcp2_conn *q;
  nghttp3_conn *h3;
  SSL_CTX *ctx;
  SSL *ssl;
  ngtcp2_crypto_conn_ref ref;
  struct sockaddr_in local, remote;
  int status, done;
} client;

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) { return ((client *)ref->user_data)->q; }

static int h3_recv_header(nghttp3_conn *h, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *ud, void *sud) {
  (void)h, (void)sid, (void)token, (void)flags, (void)sud;
  client *c = ud;
  nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
  if (n.len == 7 && memcmp(n.base, ":status", 7) == 0 && v.len == 3)
    c->status = (v.base[0] - '0') * 100 + (v.base[1] - '0') * 10 + (v.base[2] - '0');
  return 0;
}
static int h3_end_stream(nghttp3_conn *h, int64_t sid, void *ud, void *sud) {
  (void)h, (void)sid, (void)sud;
  ((client *)ud)->done = 1;
  return 0;
}
static int h3_recv_data(nghttp3_conn *h, int64_t sid, const uint8_t *d, size_t n, void *ud,
                        void *sud) {
  (void)h, (void)d, (void)sud;
  client *c = ud;
  ngtcp2_conn_extend_max_stream_offset(c->q, sid, n);
  ngtcp2_conn_extend_max_offset(c->q, n);
  return 0;
}
static int h3_deferred(nghttp3_conn *h, int64_t sid, size_t n, void *ud, void *sud) {
  return h3_recv_data(h, sid, NULL, n, ud, sud);
}

static int recv_stream_data(ngtcp2_conn *q, uint32_t flags, int64_t sid, uint64_t off,
                            const uint8_t *d, size_t n, void *ud, void *sud) {
  (void)off, (void)sud;
  client *c = ud;
  nghttp3_ssize r =
      nghttp3_conn_read_stream2(c->h3, sid, d, n, flags & NGTCP2_STREAM_DATA_FLAG_FIN, qp_now_ns());
  if (r < 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  ngtcp2_conn_extend_max_stream_offset(q, sid, (uint64_t)r);
  ngtcp2_conn_extend_max_offset(q, (uint64_t)r);
  return 0;
}
static int acked(ngtcp2_conn *q, int64_t sid, uint64_t off, uint64_t len, void *ud, void *sud) {
  (void)q, (void)off, (void)sud;
  client *c = ud;
  return c->h3 && nghttp3_conn_add_ack_offset(c->h3, sid, len) != 0
             ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}
static int stream_close(ngtcp2_conn *q, uint32_t flags, int64_t sid, uint64_t code, void *ud,
                        void *sud) {
  (void)q, (void)sud;
  client *c = ud;
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) code = NGHTTP3_H3_NO_ERROR;
  int rv = c->h3 ? nghttp3_conn_close_stream(c->h3, sid, code) : 0;
  return rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int flush(client *c) {
  uint8_t buf[1452];
  for (int guard = 0; guard < 256; guard++) {
    long n = qp_write_pkt(c->q, c->h3, NULL, buf, sizeof buf, qp_now_ns(), NULL);
    if (n <= 0) return (int)n;
    send(c->fd, buf, (size_t)n, 0);
  }
  return 0;
}

static int client_new(client *c, unsigned port) {
  c->fd = socket(AF_INET, SOCK_DGRAM, 0);
  memset(&c->remote, 0, sizeof c->remote);
  c->remote.sin_family = AF_INET;
  c->remote.sin_port = htons((uint16_t)port);
  c->remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t ll = sizeof c->local;
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&c->remote, sizeof c->remote) != 0 ||
      getsockname(c->fd, (struct sockaddr *)&c->local, &ll) != 0)
    return -1;
  c->ctx = SSL_CTX_new(TLS_method());
  if (!c->ctx || ngtcp2_crypto_boringssl_configure_client_context(c->ctx) != 0) return -1;
  c->ssl = SSL_new(c->ctx);
  if (!c->ssl) return -1;
  c->ref.get_conn = get_conn;
  c->ref.user_data = c;
  SSL_set_app_data(c->ssl, &c->ref);
  SSL_set_connect_state(c->ssl);
  static const uint8_t alpn[] = {2, 'h', '3'};
  SSL_set_alpn_protos(c->ssl, alpn, sizeof alpn);
  SSL_set_tlsext_host_name(c->ssl, "localhost");
  ngtcp2_callbacks cb;
  qp_callbacks(&cb, 0);
  cb.recv_stream_data = recv_stream_data;
  cb.acked_stream_data_offset = acked;
  cb.stream_close = stream_close;
  ngtcp2_settings s;
  ngtcp2_settings_default(&s);
  s.initial_ts = qp_now_ns();
  ngtcp2_transport_params p;
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = 256 * 1024;
  p.initial_max_stream_data_uni = 256 * 1024;
  p.initial_max_data = 1024 * 1024;
  p.initial_max_streams_uni = 3;
  p.max_idle_timeout = 10 * NGTCP2_SECONDS;
  ngtcp2_cid dcid = {.datalen = 16}, scid = {.datalen = 8};
  RAND_bytes(dcid.data, dcid.datalen);
  RAND_bytes(scid.data, scid.datalen);
  ngtcp2_path path = {{(ngtcp2_sockaddr *)&c->local, sizeof c->local},
                      {(ngtcp2_sockaddr *)&c->remote, sizeof c->remote}, NULL};
  if (ngtcp2_conn_client_new(&c->q, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &s, &p, NULL,
                             c) != 0)
    return -1;
  ngtcp2_conn_set_tls_native_handle(c->q, c->ssl);
  return 0;
}

#define NV(n, v) {(uint8_t *)n, (uint8_t *)v, sizeof n - 1, sizeof v - 1, NGHTTP3_NV_FLAG_NONE}

static int client_request(client *c) {
  nghttp3_callbacks cb = {.recv_header = h3_recv_header, .end_stream = h3_end_stream,
                          .recv_data = h3_recv_data, .deferred_consume = h3_deferred,
                          .rand = qp_h3_rand_cb};
  nghttp3_settings s;
  nghttp3_settings_default(&s);
  s.max_field_section_size = 12345;
  s.qpack_max_dtable_capacity = 4000;
  s.qpack_blocked_streams = 77;
  s.h3_datagram = 1;
  int64_t ctrl, enc, dec, sid;
  if (nghttp3_conn_client_new(&c->h3, &cb, &s, NULL, c) != 0 ||
      ngtcp2_conn_open_uni_stream(c->q, &ctrl, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(c->q, &enc, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(c->q, &dec, NULL) != 0 ||
      nghttp3_conn_bind_control_stream(c->h3, ctrl) != 0 ||
      nghttp3_conn_bind_qpack_streams(c->h3, enc, dec) != 0 ||
      ngtcp2_conn_open_bidi_stream(c->q, &sid, NULL) != 0)
    return -1;
  nghttp3_nv nva[] = {
      NV(":method", "GET"), NV(":authority", "localhost"), NV(":scheme", "https"),
      NV(":path", "/t?x=\"1\""), NV("user-agent", "h3-listen-test/1"), NV("priority", "u=0, i"),
      NV("accept", "text/html"),
  };
  if (nghttp3_conn_submit_request(c->h3, sid, nva, sizeof nva / sizeof nva[0], NULL, NULL) != 0)
    return -1;
  return nghttp3_conn_set_client_stream_priority(c->h3, sid, (const uint8_t *)"u=2", 3);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  int echo = argc == 3 && strcmp(argv[1], "--echo") == 0;
  if (argc != 2 && !echo) {
    fprintf(stderr, "usage: test_h3_listen PATH/guise_h3_listen | --echo PATH/guise\n");
    return 2;
  }
  const char *prog = argv[argc - 1];
  char log_path[] = "/tmp/test_h3_listen.XXXXXX";
  int lfd = mkstemp(log_path);
  if (lfd < 0) return 2;
  close(lfd);
  int pfd[2];
  if (pipe(pfd) != 0) return 2;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  posix_spawn_file_actions_addclose(&fa, pfd[0]);
  char *args[] = {(char *)prog, "--listen", "127.0.0.1:0", "--self-signed", "--conns", "1",
                  "--seconds", "20", "--log", log_path, NULL};
  char *echo_args[] = {(char *)prog, "echo", "--listen", "127.0.0.1:0", "--threads", "1",
                       "--log", log_path, NULL};
  pid_t pid;
  if (posix_spawn(&pid, prog, &fa, NULL, echo ? echo_args : args, environ) != 0) {
    fprintf(stderr, "FAIL: cannot run %s\n", prog);
    return 1;
  }
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  char line[64] = {0};
  unsigned port = 0;
  struct pollfd pp = {pfd[0], POLLIN, 0};
  if (poll(&pp, 1, 10000) > 0) {
    ssize_t n = read(pfd[0], line, sizeof line - 1);
    if (n > 0) sscanf(line, echo ? "listening 127.0.0.1:%u" : "port %u", &port);
  }
  client c = {0};
  int err = port == 0 || client_new(&c, port) != 0;
  CHECK(!err, "no port from guise_h3_listen or client setup failed (%s)", line);
  /* Hostile datagrams first, from the same socket: garbage, a long header cut short,
   * an Initial-looking header with a bad length, one byte. Each is dropped; the
   * connection after them is served and is the only one logged. */
  if (!err) {
    static const uint8_t junk1[] = "not quic at all";
    static const uint8_t junk2[] = {0xc0, 0x00, 0x00, 0x00, 0x01, 0x08, 1, 2, 3};
    uint8_t junk3[1200];
    memset(junk3, 0, sizeof junk3);
    memcpy(junk3, (const uint8_t[]){0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x7f,
                                     0xff}, 18);
    send(c.fd, junk1, sizeof junk1 - 1, 0);
    send(c.fd, junk2, sizeof junk2, 0);
    send(c.fd, junk3, sizeof junk3, 0);
    send(c.fd, junk3, 1, 0);
  }
  int requested = 0;
  ngtcp2_tstamp deadline = qp_now_ns() + 10 * NGTCP2_SECONDS;
  while (!err && !c.done && qp_now_ns() < deadline) {
    if (flush(&c) != 0) {
      err = 1;
      break;
    }
    ngtcp2_tstamp t = qp_now_ns(), e = ngtcp2_conn_get_expiry(c.q);
    int timeout = e <= t ? 0 : (int)((e - t) / NGTCP2_MILLISECONDS) + 1;
    if (timeout > 200) timeout = 200;
    struct pollfd sp = {c.fd, POLLIN, 0};
    if (poll(&sp, 1, timeout) > 0) {
      uint8_t buf[65536];
      ssize_t n;
      while ((n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        ngtcp2_path path = {{(ngtcp2_sockaddr *)&c.local, sizeof c.local},
                            {(ngtcp2_sockaddr *)&c.remote, sizeof c.remote}, NULL};
        ngtcp2_pkt_info pi = {0};
        if (ngtcp2_conn_read_pkt(c.q, &path, &pi, buf, (size_t)n, qp_now_ns()) != 0) err = 1;
      }
    }
    t = qp_now_ns();
    if (ngtcp2_conn_get_expiry(c.q) <= t && ngtcp2_conn_handle_expiry(c.q, t) != 0) err = 1;
    if (!err && !requested && ngtcp2_conn_get_handshake_completed(c.q)) {
      if (client_request(&c) != 0) err = 1;
      requested = 1;
    }
  }
  CHECK(!err && c.done && c.status == 200, "no 200 response (err %d, done %d, status %d)", err,
        c.done, c.status);
  /* Close the connection so that guise_h3_listen writes its line and exits (--conns 1). */
  if (c.q) {
    uint8_t buf[1452];
    ngtcp2_ccerr ce;
    ngtcp2_ccerr_default(&ce);
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(c.q, NULL, NULL, buf, sizeof buf, &ce,
                                                        qp_now_ns());
    if (n > 0) send(c.fd, buf, (size_t)n, 0);
  }
  int status = 0;
  if (echo) { /* echo logs the connection once the close arrives; SIGTERM ends it */
    usleep(300000);
    kill(pid, SIGTERM);
  }
  for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++) usleep(50000);
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    CHECK(0, "guise_h3_listen did not exit after the connection closed");
  } else {
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "guise_h3_listen exit status %#x",
          status);
  }
  const char *log = slurp(log_path);
  unlink(log_path);
  CHECK(log && strchr(log, '\n') == log + strlen(log) - 1, "want one log line, got: %s",
        log ? log : "(none)");
  if (!log) log = "";
  const char *want_echo[] = {
      "\"http_version\":\"3\"",
      "\"request_count\":1,",
      "\"alpn\":\"h3\"",
      "\"ja4\":\"q13",
      "\"settings\":[{\"id\":6,\"name\":\"MAX_FIELD_SECTION_SIZE\",\"value\":12345,\"grease\":"
      "false},{\"id\":1,\"name\":\"QPACK_MAX_TABLE_CAPACITY\",\"value\":4000,\"grease\":false},"
      "{\"id\":7,\"name\":\"QPACK_BLOCKED_STREAMS\",\"value\":77,\"grease\":false},{\"id\":51,"
      "\"name\":\"H3_DATAGRAM\",\"value\":1,\"grease\":false}]",
      "{\"id\":2,\"type\":0,\"kind\":\"control\"}",
      "{\"id\":6,\"type\":2,\"kind\":\"qpack_encoder\"}",
      "{\"id\":10,\"type\":3,\"kind\":\"qpack_decoder\"}",
      "\"control_frames\":[{\"type\":4,",
      "\"priority_updates\":[{\"type\":984832,\"element\":0,\"value\":\"u=2\"}]",
      "\"requests\":[{\"stream\":0,\"headers\":[[\":method\",\"GET\"],[\":authority\","
      "\"localhost\"],[\":scheme\",\"https\"],[\":path\",\"/t?x=\\\"1\\\"\"],[\"user-agent\","
      "\"h3-listen-test/1\"],[\"priority\",\"u=0, i\"],[\"accept\",\"text/html\"]],"
      "\"priority\":\"u=0, i\"}]",
  };
  const char *want[] = {
      "\"handshake\":true,\"alpn\":\"h3\"",
      "\"settings\":[{\"id\":6,\"value\":12345,\"grease\":false},"
      "{\"id\":1,\"value\":4000,\"grease\":false},{\"id\":7,\"value\":77,\"grease\":false},"
      "{\"id\":51,\"value\":1,\"grease\":false}]",
      "{\"id\":2,\"type\":0,\"kind\":\"control\"}",
      "{\"id\":6,\"type\":2,\"kind\":\"qpack_encoder\"}",
      "{\"id\":10,\"type\":3,\"kind\":\"qpack_decoder\"}",
      "\"control_frames\":[{\"type\":4,",
      "\"priority_updates\":[{\"type\":984832,\"element\":0,\"value\":\"u=2\"}]",
      "\"requests\":[{\"stream\":0,\"headers\":[[\":method\",\"GET\"],[\":authority\","
      "\"localhost\"],[\":scheme\",\"https\"],[\":path\",\"/t?x=\\\"1\\\"\"],[\"user-agent\","
      "\"h3-listen-test/1\"],[\"priority\",\"u=0, i\"],[\"accept\",\"text/html\"]],"
      "\"priority\":\"u=0, i\",\"truncated\":false}]",
      "\"truncated\":false}\n",
  };
  if (echo)
    for (size_t i = 0; i < sizeof want_echo / sizeof want_echo[0]; i++)
      CHECK(strstr(log, want_echo[i]), "echo's record lacks %s\nlog: %s", want_echo[i], log);
  else
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
      CHECK(strstr(log, want[i]), "log line lacks %s\nlog: %s", want[i], log);
  nghttp3_conn_del(c.h3);
  ngtcp2_conn_del(c.q);
  SSL_free(c.ssl);
  SSL_CTX_free(c.ctx);
  if (failures) return 1;
  printf("ok: %s logged the client's SETTINGS, streams, PRIORITY_UPDATE and header order\n",
         echo ? "guise echo" : "guise_h3_listen");
  return 0;
}

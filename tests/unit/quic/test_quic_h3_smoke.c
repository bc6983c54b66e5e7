/*
 * test_quic_h3_smoke — the QUIC + HTTP/3 stack (ngtcp2, ngtcp2_crypto_boringssl,
 * nghttp3; tools/quic/quic.cmake) works on the project's patched BoringSSL.
 *
 * An ngtcp2 client and an ngtcp2 server in one process, both on bssl_ssl, exchange
 * UDP payloads through memory queues (the path says 127.0.0.1, no socket is
 * opened): a QUIC v1 handshake, then one HTTP/3 GET of /smoke whose response body is
 * a known pattern. Checked: both sides complete the handshake, the negotiated
 * QUIC version is 1, the TLS 1.3 cipher suite is TLS_AES_128_GCM_SHA256 on both
 * sides (RFC 9001 5.3; AES preferred as on a machine with AES hardware), ALPN is h3,
 * the server saw GET /smoke, and the client got :status 200 and the whole body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_boringssl.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "quic_peer.h"

static int failures;
#define CHECK(cond, ...)                                         \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);       \
      fprintf(stderr, __VA_ARGS__);                              \
      fputc('\n', stderr);                                       \
      failures++;                                                \
    }                                                            \
  } while (0)

enum { MAX_PKT = 1452, MAX_QUEUE = 256, BODY_LEN = 20000, MAX_ROUNDS = 2000 };

typedef struct queue {
  uint8_t data[MAX_QUEUE][MAX_PKT];
  size_t len[MAX_QUEUE];
  size_t n;
} queue;

typedef struct endpoint {
  const char *name;
  int server;
  ngtcp2_conn *conn;
  nghttp3_conn *h3;
  SSL_CTX *ctx;
  SSL *ssl;
  ngtcp2_crypto_conn_ref ref;
  struct sockaddr_in local, remote;
  /* server: the request it saw */
  char method[16], path[64];
  int responded;
  /* client: the response */
  int status;
  uint8_t *body;
  size_t body_len;
  int done;
  int fatal;
} endpoint;

static uint8_t body_pattern[BODY_LEN];

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((endpoint *)ref->user_data)->conn;
}

/* ---- nghttp3 callbacks ---- */

static int h3_recv_header(nghttp3_conn *c, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *ud, void *sud) {
  (void)c, (void)sid, (void)token, (void)flags, (void)sud;
  endpoint *e = ud;
  nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
  if (e->server) {
    char *dst = NULL;
    size_t cap = 0;
    if (n.len == 7 && memcmp(n.base, ":method", 7) == 0) dst = e->method, cap = sizeof e->method;
    if (n.len == 5 && memcmp(n.base, ":path", 5) == 0) dst = e->path, cap = sizeof e->path;
    if (dst && v.len < cap) {
      memcpy(dst, v.base, v.len);
      dst[v.len] = 0;
    }
  } else if (n.len == 7 && memcmp(n.base, ":status", 7) == 0 && v.len == 3) {
    e->status = (v.base[0] - '0') * 100 + (v.base[1] - '0') * 10 + (v.base[2] - '0');
  }
  return 0;
}

static nghttp3_ssize read_body(nghttp3_conn *c, int64_t sid, nghttp3_vec *vec, size_t veccnt,
                               uint32_t *pflags, void *ud, void *sud) {
  (void)c, (void)sid, (void)veccnt, (void)ud, (void)sud;
  vec[0].base = body_pattern;
  vec[0].len = sizeof body_pattern;
  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  return 1;
}

static int h3_end_stream(nghttp3_conn *c, int64_t sid, void *ud, void *sud) {
  (void)sud;
  endpoint *e = ud;
  if (!e->server) {
    e->done = 1;
    return 0;
  }
  nghttp3_nv nva[] = {
      {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"application/octet-stream", 12, 24,
       NGHTTP3_NV_FLAG_NONE},
  };
  nghttp3_data_reader dr = {read_body};
  if (nghttp3_conn_submit_response(c, sid, nva, 2, &dr) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
  e->responded = 1;
  return 0;
}

static int h3_recv_data(nghttp3_conn *c, int64_t sid, const uint8_t *data, size_t len, void *ud,
                        void *sud) {
  (void)c, (void)sud;
  endpoint *e = ud;
  if (e->body_len + len > BODY_LEN) return NGHTTP3_ERR_CALLBACK_FAILURE;
  memcpy(e->body + e->body_len, data, len);
  e->body_len += len;
  /* DATA payload is not part of what nghttp3_conn_read_stream reports consumed. */
  ngtcp2_conn_extend_max_stream_offset(e->conn, sid, len);
  ngtcp2_conn_extend_max_offset(e->conn, len);
  return 0;
}

static int h3_deferred_consume(nghttp3_conn *c, int64_t sid, size_t consumed, void *ud,
                               void *sud) {
  (void)c, (void)sud;
  endpoint *e = ud;
  ngtcp2_conn_extend_max_stream_offset(e->conn, sid, consumed);
  ngtcp2_conn_extend_max_offset(e->conn, consumed);
  return 0;
}

static int h3_acked(nghttp3_conn *c, int64_t sid, uint64_t len, void *ud, void *sud) {
  (void)c, (void)sid, (void)len, (void)ud, (void)sud;
  return 0;
}

/* Creates the endpoint's HTTP/3 connection and its control and QPACK streams. */
static int setup_h3(endpoint *e) {
  if (e->h3) return 0;
  if (ngtcp2_conn_get_streams_uni_left(e->conn) < 3) return -1;
  nghttp3_callbacks cb = {
      .acked_stream_data = h3_acked,
      .recv_data = h3_recv_data,
      .deferred_consume = h3_deferred_consume,
      .recv_header = h3_recv_header,
      .end_stream = h3_end_stream,
      .rand = qp_h3_rand_cb,
  };
  nghttp3_settings settings;
  nghttp3_settings_default(&settings);
  int rv = e->server ? nghttp3_conn_server_new(&e->h3, &cb, &settings, NULL, e)
                     : nghttp3_conn_client_new(&e->h3, &cb, &settings, NULL, e);
  if (rv != 0) return -1;
  if (e->server) nghttp3_conn_set_max_client_streams_bidi(e->h3, 100);
  int64_t ctrl, enc, dec;
  if (ngtcp2_conn_open_uni_stream(e->conn, &ctrl, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(e->conn, &enc, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(e->conn, &dec, NULL) != 0)
    return -1;
  if (nghttp3_conn_bind_control_stream(e->h3, ctrl) != 0 ||
      nghttp3_conn_bind_qpack_streams(e->h3, enc, dec) != 0)
    return -1;
  return 0;
}

/* ---- ngtcp2 callbacks ---- */

static int recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t offset,
                            const uint8_t *data, size_t len, void *ud, void *sud) {
  (void)offset, (void)sud;
  endpoint *e = ud;
  if (!e->h3 && setup_h3(e) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  nghttp3_ssize n = nghttp3_conn_read_stream2(e->h3, sid, data, len,
                                              flags & NGTCP2_STREAM_DATA_FLAG_FIN, qp_now_ns());
  if (n < 0) {
    fprintf(stderr, "%s: nghttp3_conn_read_stream2: %s\n", e->name, nghttp3_strerror((int)n));
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  ngtcp2_conn_extend_max_stream_offset(conn, sid, (uint64_t)n);
  ngtcp2_conn_extend_max_offset(conn, (uint64_t)n);
  return 0;
}

static int acked_stream_data_offset(ngtcp2_conn *conn, int64_t sid, uint64_t offset,
                                    uint64_t len, void *ud, void *sud) {
  (void)conn, (void)offset, (void)sud;
  endpoint *e = ud;
  if (e->h3 && nghttp3_conn_add_ack_offset(e->h3, sid, len) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t code, void *ud,
                        void *sud) {
  (void)conn, (void)sud;
  endpoint *e = ud;
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) code = NGHTTP3_H3_NO_ERROR;
  if (e->h3) {
    int rv = nghttp3_conn_close_stream(e->h3, sid, code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int extend_max_stream_data(ngtcp2_conn *conn, int64_t sid, uint64_t max, void *ud,
                                  void *sud) {
  (void)conn, (void)max, (void)sud;
  endpoint *e = ud;
  if (e->h3 && nghttp3_conn_unblock_stream(e->h3, sid) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static void fill_callbacks(ngtcp2_callbacks *cb, int server) {
  qp_callbacks(cb, server);
  cb->recv_stream_data = recv_stream_data;
  cb->acked_stream_data_offset = acked_stream_data_offset;
  cb->stream_close = stream_close;
  cb->extend_max_stream_data = extend_max_stream_data;
}

static void fill_params(ngtcp2_settings *s, ngtcp2_transport_params *p) {
  ngtcp2_settings_default(s);
  s->initial_ts = qp_now_ns();
  ngtcp2_transport_params_default(p);
  p->initial_max_stream_data_bidi_local = 256 * 1024;
  p->initial_max_stream_data_bidi_remote = 256 * 1024;
  p->initial_max_stream_data_uni = 256 * 1024;
  p->initial_max_data = 1024 * 1024;
  p->initial_max_streams_bidi = 100;
  p->initial_max_streams_uni = 3;
  p->max_idle_timeout = 10 * NGTCP2_SECONDS;
}

static ngtcp2_path path_of(endpoint *e) {
  ngtcp2_path path = {
      .local = {(ngtcp2_sockaddr *)&e->local, sizeof e->local},
      .remote = {(ngtcp2_sockaddr *)&e->remote, sizeof e->remote},
  };
  return path;
}

static int make_ssl(endpoint *e) {
  e->ctx = SSL_CTX_new(TLS_method());
  if (!e->ctx) return -1;
  if (e->server) {
    if (ngtcp2_crypto_boringssl_configure_server_context(e->ctx) != 0 || qp_self_signed(e->ctx) != 0)
      return -1;
    SSL_CTX_set_alpn_select_cb(e->ctx, qp_alpn_select_h3, NULL);
  } else if (ngtcp2_crypto_boringssl_configure_client_context(e->ctx) != 0) {
    return -1;
  }
  /* Both sides rank AES-GCM first whatever this machine's CPU has. */
  SSL_CTX_set_aes_hw_override(e->ctx, 1);
  e->ssl = SSL_new(e->ctx);
  if (!e->ssl) return -1;
  e->ref.get_conn = get_conn;
  e->ref.user_data = e;
  SSL_set_app_data(e->ssl, &e->ref);
  if (e->server) {
    SSL_set_accept_state(e->ssl);
  } else {
    static const uint8_t alpn[] = {2, 'h', '3'};
    SSL_set_connect_state(e->ssl);
    SSL_set_alpn_protos(e->ssl, alpn, sizeof alpn);
    SSL_set_tlsext_host_name(e->ssl, "localhost");
  }
  return 0;
}

static void set_addr(struct sockaddr_in *sa, uint16_t port) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static int client_new(endpoint *c) {
  set_addr(&c->local, 50000);
  set_addr(&c->remote, 4433);
  if (make_ssl(c) != 0) return -1;
  ngtcp2_cid dcid, scid;
  dcid.datalen = 16;
  scid.datalen = 8;
  RAND_bytes(dcid.data, dcid.datalen);
  RAND_bytes(scid.data, scid.datalen);
  ngtcp2_callbacks cb;
  ngtcp2_settings s;
  ngtcp2_transport_params p;
  fill_callbacks(&cb, 0);
  fill_params(&s, &p);
  ngtcp2_path path = path_of(c);
  if (ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &s, &p,
                             NULL, c) != 0)
    return -1;
  ngtcp2_conn_set_tls_native_handle(c->conn, c->ssl);
  return 0;
}

/* The server side of the first Initial: ngtcp2_accept, then a connection whose
 * original_dcid is the client's chosen DCID (RFC 9000 7.3). */
static int server_new(endpoint *s, const uint8_t *pkt, size_t len) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0) return -1;
  set_addr(&s->local, 4433);
  set_addr(&s->remote, 50000);
  if (make_ssl(s) != 0) return -1;
  ngtcp2_cid scid;
  scid.datalen = 8;
  RAND_bytes(scid.data, scid.datalen);
  ngtcp2_callbacks cb;
  ngtcp2_settings st;
  ngtcp2_transport_params p;
  fill_callbacks(&cb, 1);
  fill_params(&st, &p);
  p.original_dcid = hd.dcid;
  p.original_dcid_present = 1;
  RAND_bytes(p.stateless_reset_token, sizeof p.stateless_reset_token);
  p.stateless_reset_token_present = 1;
  ngtcp2_path path = path_of(s);
  if (ngtcp2_conn_server_new(&s->conn, &hd.scid, &scid, &path, hd.version, &cb, &st, &p, NULL,
                             s) != 0)
    return -1;
  ngtcp2_conn_set_tls_native_handle(s->conn, s->ssl);
  return 0;
}

/* Writes every packet the endpoint has (HTTP/3 stream data first) into |out|. */
static int flush(endpoint *e, queue *out) {
  for (;;) {
    if (out->n == MAX_QUEUE) return -1;
    long n = qp_write_pkt(e->conn, e->h3, NULL, out->data[out->n], MAX_PKT, qp_now_ns(), e->name);
    if (n <= 0) return (int)n;
    out->len[out->n++] = (size_t)n;
  }
}

static int deliver(endpoint *e, queue *in) {
  for (size_t i = 0; i < in->n; i++) {
    if (!e->conn && server_new(e, in->data[i], in->len[i]) != 0) {
      fprintf(stderr, "%s: the first Initial was not accepted\n", e->name);
      return -1;
    }
    ngtcp2_path path = path_of(e);
    ngtcp2_pkt_info pi = {0};
    int rv = ngtcp2_conn_read_pkt(e->conn, &path, &pi, in->data[i], in->len[i], qp_now_ns());
    if (rv != 0) {
      fprintf(stderr, "%s: ngtcp2_conn_read_pkt: %s\n", e->name, ngtcp2_strerror(rv));
      return -1;
    }
  }
  in->n = 0;
  return 0;
}

static int client_request(endpoint *c) {
  int64_t sid;
  if (setup_h3(c) != 0 || ngtcp2_conn_open_bidi_stream(c->conn, &sid, NULL) != 0) return -1;
  nghttp3_nv nva[] = {
      {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)":authority", (uint8_t *)"localhost:4433", 10, 14, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)":path", (uint8_t *)"/smoke", 5, 6, NGHTTP3_NV_FLAG_NONE},
  };
  return nghttp3_conn_submit_request(c->h3, sid, nva, 4, NULL, NULL);
}

static const char *cipher_name(SSL *ssl) {
  const SSL_CIPHER *c = ssl ? SSL_get_current_cipher(ssl) : NULL;
  return c ? SSL_CIPHER_standard_name(c) : "(none)";
}

int main(void) {
  static queue to_server, to_client;
  for (size_t i = 0; i < BODY_LEN; i++) body_pattern[i] = (uint8_t)(i * 7 + i / 251);
  endpoint client = {.name = "client"}, server = {.name = "server", .server = 1};
  client.body = malloc(BODY_LEN);
  if (!client.body || client_new(&client) != 0) {
    fprintf(stderr, "FAIL: the client could not be created\n");
    return 1;
  }
  int requested = 0, rounds = 0, err = 0;
  for (; rounds < MAX_ROUNDS && !client.done && !err; rounds++) {
    if (flush(&client, &to_server) != 0 || deliver(&server, &to_server) != 0) err = 1;
    if (!err && server.conn && (flush(&server, &to_client) != 0 || deliver(&client, &to_client) != 0))
      err = 1;
    if (!err && !requested && ngtcp2_conn_get_handshake_completed(client.conn)) {
      if (client_request(&client) != 0) err = 1;
      requested = 1;
    }
    if (err || client.done || to_server.n || to_client.n) continue;
    /* Nothing queued: let the timers (ACK delay, PTO) fire. */
    ngtcp2_tstamp t = qp_now_ns();
    if (ngtcp2_conn_get_expiry(client.conn) <= t) ngtcp2_conn_handle_expiry(client.conn, t);
    if (server.conn && ngtcp2_conn_get_expiry(server.conn) <= t)
      ngtcp2_conn_handle_expiry(server.conn, t);
  }
  CHECK(!err, "the exchange failed (above)");
  CHECK(client.done, "no complete response after %d rounds", rounds);
  CHECK(ngtcp2_conn_get_handshake_completed(client.conn), "client handshake incomplete");
  CHECK(server.conn && ngtcp2_conn_get_handshake_completed(server.conn),
        "server handshake incomplete");
  CHECK(ngtcp2_conn_get_negotiated_version(client.conn) == NGTCP2_PROTO_VER_V1,
        "negotiated QUIC version %#x, expected 1",
        ngtcp2_conn_get_negotiated_version(client.conn));
  CHECK(SSL_version(client.ssl) == TLS1_3_VERSION, "client TLS version %#x", SSL_version(client.ssl));
  CHECK(strcmp(cipher_name(client.ssl), "TLS_AES_128_GCM_SHA256") == 0, "client cipher %s",
        cipher_name(client.ssl));
  CHECK(strcmp(cipher_name(server.ssl), "TLS_AES_128_GCM_SHA256") == 0, "server cipher %s",
        cipher_name(server.ssl));
  const uint8_t *alpn = NULL;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(client.ssl, &alpn, &alpn_len);
  CHECK(alpn_len == 2 && memcmp(alpn, "h3", 2) == 0, "ALPN is not h3");
  CHECK(strcmp(server.method, "GET") == 0 && strcmp(server.path, "/smoke") == 0,
        "server saw %s %s, expected GET /smoke", server.method, server.path);
  CHECK(server.responded, "server did not respond");
  CHECK(client.status == 200, "status %d, expected 200", client.status);
  CHECK(client.body_len == BODY_LEN && memcmp(client.body, body_pattern, BODY_LEN) == 0,
        "body: %zu bytes, expected the %d-byte pattern", client.body_len, BODY_LEN);

  endpoint *eps[] = {&client, &server};
  for (int i = 0; i < 2; i++) {
    nghttp3_conn_del(eps[i]->h3);
    ngtcp2_conn_del(eps[i]->conn);
    SSL_free(eps[i]->ssl);
    SSL_CTX_free(eps[i]->ctx);
  }
  free(client.body);
  if (failures) return 1;
  printf("ok: QUIC v1 handshake (%s, ALPN h3) and HTTP/3 GET /smoke: 200, %d bytes, %d rounds\n",
         "TLS_AES_128_GCM_SHA256", BODY_LEN, rounds);
  return 0;
}

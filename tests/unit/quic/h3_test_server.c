/* h3_test_server.c — see h3_test_server.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also built by tests/fuzz/session_h3_targets.cmake, without it */
#endif
#include "h3_test_server.h"
#include "quic_peer.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_boringssl.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define ECHO_MAX (1u << 20)

typedef struct sstream {
  int64_t id;
  int req;          /* index in reqs */
  uint8_t *echo;    /* /echo: the body received */
  size_t echo_len;
  size_t body_len;  /* the response body's length */
  int trailers;
  struct sstream *next;
} sstream;

struct h3ts {
  uint64_t (*now)(void *);
  void *arg;
  ngtcp2_conn *conn;
  nghttp3_conn *h3;
  SSL_CTX *ctx;
  SSL *ssl;
  X509 *cert;
  ngtcp2_crypto_conn_ref ref;
  struct sockaddr_in local, remote;
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  h3ts_request reqs[H3TS_MAX_REQ];
  size_t n_reqs;
  sstream *streams;
  int close_pending;
  uint8_t close_pkt[1500];
  size_t close_len;
  int dead;
  int no_alpn;
  uint8_t *raw; /* h3ts_set_raw: the next request's stream gets these bytes */
  size_t raw_len, raw_sent;
  int64_t raw_sid;
  int raw_done;     /* all of it and FIN written */
  size_t enc_dtable; /* the QPACK encoder's table (h3ts_set_encoder_dtable) */
  int64_t uni_id[H3TS_MAX_UNI];  /* the client's uni streams by their first bytes */
  uint64_t uni_type[H3TS_MAX_UNI];
  size_t n_uni;
  int64_t client_ctrl;           /* the client's control stream, -1 before it is seen */
  uint8_t ctrl[H3TS_CTRL_MAX];   /* its bytes */
  size_t ctrl_len;
};

uint8_t h3ts_pattern(size_t i) { return (uint8_t)(i * 7 + i / 251); }

void h3ts_set_encoder_dtable(h3ts *t, size_t cap) { t->enc_dtable = cap; }

size_t h3ts_client_uni(h3ts *t, const int64_t **ids, const uint64_t **types) {
  *ids = t->uni_id;
  *types = t->uni_type;
  return t->n_uni;
}

size_t h3ts_client_control(h3ts *t, const uint8_t **p) {
  *p = t->ctrl;
  return t->ctrl_len;
}

static ngtcp2_tstamp tnow(h3ts *t) { return t->now(t->arg); }

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) { return ((h3ts *)ref->user_data)->conn; }

static sstream *find(h3ts *t, int64_t id) {
  for (sstream *s = t->streams; s; s = s->next)
    if (s->id == id) return s;
  return NULL;
}

static sstream *get_stream(h3ts *t, int64_t id) {
  sstream *s = find(t, id);
  if (s) return s;
  s = calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  s->id = id;
  /* past H3TS_MAX_REQ the last record is reused: a long run is answered */
  if (t->n_reqs == H3TS_MAX_REQ) memset(&t->reqs[H3TS_MAX_REQ - 1], 0, sizeof t->reqs[0]);
  s->req = t->n_reqs < H3TS_MAX_REQ ? (int)t->n_reqs++ : H3TS_MAX_REQ - 1;
  s->next = t->streams;
  t->streams = s;
  return s;
}

/* ---- nghttp3 ---- */

static int recv_header(nghttp3_conn *c, int64_t sid, int32_t token, nghttp3_rcbuf *name, nghttp3_rcbuf *value,
                       uint8_t flags, void *ud, void *sud) {
  (void)c, (void)token, (void)flags, (void)sud;
  h3ts *t = ud;
  sstream *s = get_stream(t, sid);
  if (s == NULL || s->req < 0) return 0;
  h3ts_request *r = &t->reqs[s->req];
  nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
  if (r->n_names < H3TS_MAX_FIELDS && n.len < 64) {
    memcpy(r->names[r->n_names], n.base, n.len);
    r->names[r->n_names++][n.len] = 0;
  }
  char *dst = NULL;
  size_t cap = 0;
  if (n.len == 7 && memcmp(n.base, ":method", 7) == 0) dst = r->method, cap = sizeof r->method;
  if (n.len == 5 && memcmp(n.base, ":path", 5) == 0) dst = r->path, cap = sizeof r->path;
  if (dst && v.len < cap) {
    memcpy(dst, v.base, v.len);
    dst[v.len] = 0;
  }
  return 0;
}

static nghttp3_ssize read_body(nghttp3_conn *c, int64_t sid, nghttp3_vec *vec, size_t veccnt, uint32_t *pflags,
                               void *ud, void *sud) {
  (void)c, (void)veccnt;
  h3ts *t = ud;
  sstream *s = sud ? sud : find(t, sid);
  static uint8_t pat[1 << 20];
  static int pat_made;
  if (!pat_made) {
    for (size_t i = 0; i < sizeof pat; i++) pat[i] = h3ts_pattern(i);
    pat_made = 1;
  }
  if (s->trailers) {
    static const uint8_t abc[] = "abc";
    vec[0].base = (uint8_t *)abc;
    vec[0].len = 3;
    *pflags |= NGHTTP3_DATA_FLAG_EOF | NGHTTP3_DATA_FLAG_NO_END_STREAM;
    nghttp3_nv tr[] = {{(uint8_t *)"x-checksum", (uint8_t *)"42", 10, 2, NGHTTP3_NV_FLAG_NONE}};
    if (nghttp3_conn_submit_trailers(c, sid, tr, 1) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
    return 1;
  }
  vec[0].base = s->echo ? s->echo : pat;
  vec[0].len = s->echo ? s->echo_len : s->body_len;
  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  return vec[0].len ? 1 : 0;
}

static int recv_data(nghttp3_conn *c, int64_t sid, const uint8_t *data, size_t len, void *ud, void *sud) {
  (void)c, (void)sud;
  h3ts *t = ud;
  ngtcp2_conn_extend_max_stream_offset(t->conn, sid, len);
  ngtcp2_conn_extend_max_offset(t->conn, len);
  sstream *s = get_stream(t, sid);
  if (s == NULL) return 0;
  if (s->req >= 0) t->reqs[s->req].body_len += len;
  if (s->echo_len + len <= ECHO_MAX) {
    if (s->echo == NULL && (s->echo = malloc(ECHO_MAX)) == NULL) return NGHTTP3_ERR_CALLBACK_FAILURE;
    memcpy(s->echo + s->echo_len, data, len);
    s->echo_len += len;
  }
  return 0;
}

static int deferred_consume(nghttp3_conn *c, int64_t sid, size_t n, void *ud, void *sud) {
  (void)c, (void)sud;
  h3ts *t = ud;
  ngtcp2_conn_extend_max_stream_offset(t->conn, sid, n);
  ngtcp2_conn_extend_max_offset(t->conn, n);
  return 0;
}

static int end_stream(nghttp3_conn *c, int64_t sid, void *ud, void *sud) {
  (void)sud;
  h3ts *t = ud;
  sstream *s = get_stream(t, sid);
  if (s == NULL || s->req < 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
  h3ts_request *r = &t->reqs[s->req];
  r->done = 1;
  if (t->raw && t->raw_sid < 0) {
    t->raw_sid = sid;
    return 0;
  }
  if (strcmp(r->path, "/hang") == 0) return 0;
  if (strcmp(r->path, "/reject") == 0) {
    nghttp3_conn_shutdown_stream_read(c, sid);
    ngtcp2_conn_shutdown_stream(t->conn, 0, sid, NGHTTP3_H3_REQUEST_REJECTED);
    return 0;
  }
  if (strcmp(r->path, "/goaway") == 0 && nghttp3_conn_shutdown(c) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
  if (strcmp(r->path, "/close") == 0) {
    t->close_pending = 1;
    return 0;
  }
  if (strcmp(r->path, "/echo") != 0) {
    free(s->echo);
    s->echo = NULL;
    s->echo_len = 0;
  }
  if (strncmp(r->path, "/body?", 6) == 0) s->body_len = (size_t)strtoul(r->path + 6, NULL, 10);
  else s->body_len = 20000;
  if (s->body_len > (1u << 20)) s->body_len = 1u << 20;
  s->trailers = strcmp(r->path, "/trailers") == 0;
  if (strncmp(r->path, "/interim?", 9) == 0) {
    unsigned n = (unsigned)strtoul(r->path + 9, NULL, 10);
    nghttp3_nv info[] = {{(uint8_t *)":status", (uint8_t *)"103", 7, 3, NGHTTP3_NV_FLAG_NONE},
                         {(uint8_t *)"link", (uint8_t *)"</a.css>", 4, 8, NGHTTP3_NV_FLAG_NONE}};
    for (unsigned i = 0; i < n && i < 100; i++)
      if (nghttp3_conn_submit_info(c, sid, info, 2) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
    s->body_len = 10;
  }
  static char big[300][16];
  nghttp3_nv nva[302] = {
      {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"application/octet-stream", 12, 24, NGHTTP3_NV_FLAG_NONE},
  };
  size_t nn = 2;
  if (strcmp(r->path, "/bigheaders") == 0)
    for (int i = 0; i < 300; i++, nn++) {
      snprintf(big[i], sizeof big[i], "x-h-%03d", i);
      nva[nn] = (nghttp3_nv){(uint8_t *)big[i], (uint8_t *)"v", strlen(big[i]), 1, NGHTTP3_NV_FLAG_NONE};
    }
  const nghttp3_nv *resp = nva;
  if (strcmp(r->path, "/nostatus") == 0) resp = nva + 1, nn = 1; /* no :status */
  nghttp3_data_reader dr = {read_body};
  if (nghttp3_conn_set_stream_user_data(c, sid, s) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
  if (nghttp3_conn_submit_response(c, sid, resp, nn, &dr) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
  return 0;
}

static int acked(nghttp3_conn *c, int64_t sid, uint64_t len, void *ud, void *sud) {
  (void)c, (void)sid, (void)len, (void)ud, (void)sud;
  return 0;
}

static int setup_h3(h3ts *t) {
  if (t->h3) return 0;
  nghttp3_callbacks cb = {
      .acked_stream_data = acked,
      .recv_data = recv_data,
      .deferred_consume = deferred_consume,
      .recv_header = recv_header,
      .end_stream = end_stream,
      .rand = qp_h3_rand_cb,
  };
  nghttp3_settings st;
  nghttp3_settings_default(&st);
  st.qpack_encoder_max_dtable_capacity = t->enc_dtable;
  if (nghttp3_conn_server_new(&t->h3, &cb, &st, NULL, t) != 0) return -1;
  /* the streams ngtcp2 allows over the connection's life (stream_close extends
   * them): nghttp3 refuses a stream id past this (H3_ID_ERROR) */
  nghttp3_conn_set_max_client_streams_bidi(t->h3, 4096);
  int64_t ctrl, enc, dec;
  if (ngtcp2_conn_open_uni_stream(t->conn, &ctrl, NULL) != 0 || ngtcp2_conn_open_uni_stream(t->conn, &enc, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(t->conn, &dec, NULL) != 0)
    return -1;
  if (nghttp3_conn_bind_control_stream(t->h3, ctrl) != 0 || nghttp3_conn_bind_qpack_streams(t->h3, enc, dec) != 0)
    return -1;
  return 0;
}

/* ---- ngtcp2 ---- */

static int recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t offset, const uint8_t *data,
                            size_t len, void *ud, void *sud) {
  (void)offset, (void)sud;
  h3ts *t = ud;
  if (setup_h3(t) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  /* the client's uni streams (id & 3 == 2): the type at offset 0 (one byte for
   * the types 0-3 a client sends), and its control stream's bytes */
  if ((sid & 3) == 2 && offset == 0 && len > 0 && t->n_uni < H3TS_MAX_UNI) {
    t->uni_id[t->n_uni] = sid;
    t->uni_type[t->n_uni++] = data[0] < 0x40 ? data[0] : UINT64_MAX;
    if (data[0] == 0x00) t->client_ctrl = sid;
  }
  if (sid == t->client_ctrl)
    for (size_t i = 0; i < len && t->ctrl_len < H3TS_CTRL_MAX; i++) t->ctrl[t->ctrl_len++] = data[i];
  nghttp3_ssize n =
      nghttp3_conn_read_stream2(t->h3, sid, data, len, flags & NGTCP2_STREAM_DATA_FLAG_FIN, tnow(t));
  if (n < 0) {
    fprintf(stderr, "test server: nghttp3_conn_read_stream2: %s\n", nghttp3_strerror((int)n));
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  ngtcp2_conn_extend_max_stream_offset(conn, sid, (uint64_t)n);
  ngtcp2_conn_extend_max_offset(conn, (uint64_t)n);
  return 0;
}

static int acked_offset(ngtcp2_conn *conn, int64_t sid, uint64_t offset, uint64_t len, void *ud, void *sud) {
  (void)conn, (void)offset, (void)sud;
  h3ts *t = ud;
  if (t->h3 && nghttp3_conn_add_ack_offset(t->h3, sid, len) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t code, void *ud, void *sud) {
  (void)sud;
  h3ts *t = ud;
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) code = NGHTTP3_H3_NO_ERROR;
  if (t->h3) {
    int rv = nghttp3_conn_close_stream(t->h3, sid, code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  /* a closed request stream makes room for another (RFC 9000 4.6) */
  if ((sid & 3) == 0) ngtcp2_conn_extend_max_streams_bidi(conn, 1);
  return 0;
}

static int stream_reset(ngtcp2_conn *conn, int64_t sid, uint64_t fs, uint64_t code, void *ud, void *sud) {
  (void)conn, (void)fs, (void)code, (void)sud;
  h3ts *t = ud;
  if (t->h3) nghttp3_conn_shutdown_stream_read(t->h3, sid);
  return 0;
}

static int extend_max_stream_data(ngtcp2_conn *conn, int64_t sid, uint64_t max, void *ud, void *sud) {
  (void)conn, (void)max, (void)sud;
  h3ts *t = ud;
  if (t->h3 && nghttp3_conn_unblock_stream(t->h3, sid) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int alpn_select(SSL *ssl, const uint8_t **out, uint8_t *outlen, const uint8_t *in, unsigned inlen, void *arg) {
  if (((h3ts *)arg)->no_alpn) return SSL_TLSEXT_ERR_NOACK;
  return qp_alpn_select_h3(ssl, out, outlen, in, inlen, arg);
}

static int add_cert(h3ts *t) {
  EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EVP_PKEY *pkey = EVP_PKEY_new();
  X509 *x = X509_new();
  int ok = ec && pkey && x && EC_KEY_generate_key(ec) && EVP_PKEY_assign_EC_KEY(pkey, ec);
  if (ok) ec = NULL;
  X509_EXTENSION *san = ok ? X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name, "DNS:localhost") : NULL;
  X509_EXTENSION *bc = ok ? X509V3_EXT_nconf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE") : NULL;
  ok = ok && san && bc && X509_set_version(x, X509_VERSION_3) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
       X509_gmtime_adj(X509_getm_notBefore(x), -60) && X509_gmtime_adj(X509_getm_notAfter(x), 3600) &&
       X509_set_pubkey(x, pkey) &&
       X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const uint8_t *)"localhost", -1, -1,
                                  0) &&
       X509_set_issuer_name(x, X509_get_subject_name(x)) && X509_add_ext(x, san, -1) && X509_add_ext(x, bc, -1) &&
       X509_sign(x, pkey, EVP_sha256()) && SSL_CTX_use_certificate(t->ctx, x) && SSL_CTX_use_PrivateKey(t->ctx, pkey);
  X509_EXTENSION_free(san);
  X509_EXTENSION_free(bc);
  EC_KEY_free(ec);
  EVP_PKEY_free(pkey);
  if (!ok) {
    X509_free(x);
    return -1;
  }
  t->cert = x;
  return 0;
}

void h3ts_loopback_addrs(struct sockaddr_in *remote, struct sockaddr_in *local) {
  memset(remote, 0, sizeof *remote);
  remote->sin_family = AF_INET;
  remote->sin_port = htons(443);
  remote->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  *local = *remote;
  local->sin_port = htons(50000);
}

int h3ts_take_from(h3ts *t, session *s) {
  static uint8_t buf[2048];
  int i = 0;
  for (; i < 256 && session_want_write(s); i++) {
    size_t n = 0;
    if (session_send(s, buf, sizeof buf, &n) != 0 || n == 0) break;
    h3ts_recv(t, buf, n);
  }
  return i;
}

h3ts *h3ts_new(uint64_t (*now_ns)(void *), void *arg) {
  h3ts *t = calloc(1, sizeof(*t));
  if (t == NULL) return NULL;
  t->now = now_ns;
  t->arg = arg;
  t->raw_sid = -1;
  t->client_ctrl = -1;
  t->enc_dtable = 4096; /* nghttp3's default (NGHTTP3_QPACK_ENCODER_MAX_DTABLE_CAPACITY) */
  t->ctx = SSL_CTX_new(TLS_method());
  if (t->ctx == NULL || ngtcp2_crypto_boringssl_configure_server_context(t->ctx) != 0 || add_cert(t) != 0) {
    h3ts_free(t);
    return NULL;
  }
  SSL_CTX_set_alpn_select_cb(t->ctx, alpn_select, t);
  return t;
}

int h3ts_write_cert(h3ts *t, const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return -1;
  int ok = PEM_write_X509(f, t->cert);
  return fclose(f) == 0 && ok ? 0 : -1;
}

static void set_addr(struct sockaddr_in *sa, uint16_t port) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static ngtcp2_path path_of(h3ts *t) {
  ngtcp2_path p = {.local = {(ngtcp2_sockaddr *)&t->local, sizeof t->local},
                   .remote = {(ngtcp2_sockaddr *)&t->remote, sizeof t->remote}};
  return p;
}

static int server_new(h3ts *t, const uint8_t *pkt, size_t len) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0) return -1;
  set_addr(&t->local, 443);
  set_addr(&t->remote, 50000);
  t->ssl = SSL_new(t->ctx);
  if (t->ssl == NULL) return -1;
  t->ref.get_conn = get_conn;
  t->ref.user_data = t;
  SSL_set_app_data(t->ssl, &t->ref);
  SSL_set_accept_state(t->ssl);
  ngtcp2_cid scid;
  scid.datalen = 8;
  RAND_bytes(scid.data, scid.datalen);
  ngtcp2_callbacks cb;
  qp_callbacks(&cb, 1);
  cb.recv_stream_data = recv_stream_data;
  cb.acked_stream_data_offset = acked_offset;
  cb.stream_close = stream_close;
  cb.stream_reset = stream_reset;
  cb.extend_max_stream_data = extend_max_stream_data;
  ngtcp2_settings st;
  ngtcp2_settings_default(&st);
  st.initial_ts = tnow(t);
  ngtcp2_transport_params p;
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = 1 << 20;
  p.initial_max_stream_data_bidi_remote = 1 << 20;
  p.initial_max_stream_data_uni = 1 << 20;
  p.initial_max_data = 4 << 20;
  p.initial_max_streams_bidi = 100;
  p.initial_max_streams_uni = 3;
  p.max_idle_timeout = 60 * NGTCP2_SECONDS;
  p.original_dcid = hd.dcid;
  p.original_dcid_present = 1;
  RAND_bytes(t->token, sizeof t->token);
  memcpy(p.stateless_reset_token, t->token, sizeof t->token);
  p.stateless_reset_token_present = 1;
  ngtcp2_path path = path_of(t);
  if (ngtcp2_conn_server_new(&t->conn, &hd.scid, &scid, &path, hd.version, &cb, &st, &p, NULL, t) != 0) return -1;
  ngtcp2_conn_set_tls_native_handle(t->conn, t->ssl);
  return 0;
}

int h3ts_recv(h3ts *t, const uint8_t *p, size_t n) {
  if (t->dead) return -1;
  if (t->conn == NULL && server_new(t, p, n) != 0) return 0; /* not an Initial: dropped */
  ngtcp2_path path = path_of(t);
  ngtcp2_pkt_info pi = {0};
  int rv = ngtcp2_conn_read_pkt(t->conn, &path, &pi, p, n, tnow(t));
  if (rv != 0) {
    t->dead = 1;
    if (rv == NGTCP2_ERR_CRYPTO || rv == NGTCP2_ERR_PROTO) { /* tell the client, as a server does */
      ngtcp2_ccerr cc;
      ngtcp2_ccerr_default(&cc);
      if (rv == NGTCP2_ERR_CRYPTO) ngtcp2_ccerr_set_tls_alert(&cc, ngtcp2_conn_get_tls_alert(t->conn), NULL, 0);
      else ngtcp2_ccerr_set_liberr(&cc, rv, NULL, 0);
      ngtcp2_pkt_info cpi;
      ngtcp2_ssize w = ngtcp2_conn_write_connection_close(t->conn, NULL, &cpi, t->close_pkt, 1452, &cc, tnow(t));
      t->close_len = w > 0 ? (size_t)w : 0;
    }
    return -1;
  }
  return 0;
}

size_t h3ts_send(h3ts *t, uint8_t *out, size_t cap) {
  if (t->close_len) {
    size_t n = t->close_len;
    memcpy(out, t->close_pkt, n);
    t->close_len = 0;
    return n;
  }
  if (t->dead || t->conn == NULL) return 0;
  if (t->close_pending) {
    t->close_pending = 0;
    t->dead = 1;
    ngtcp2_ccerr cc;
    ngtcp2_ccerr_default(&cc);
    ngtcp2_ccerr_set_application_error(&cc, NGHTTP3_H3_INTERNAL_ERROR, (const uint8_t *)"test close", 10);
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize w = ngtcp2_conn_write_connection_close(t->conn, &ps.path, &pi, out, cap < 1452 ? cap : 1452, &cc,
                                                        tnow(t));
    return w > 0 ? (size_t)w : 0;
  }
  for (;;) {
    int64_t sid = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize cnt = 0;
    int raw = t->raw_sid >= 0 && !t->raw_done;
    if (raw) { /* the raw bytes with FIN */
      sid = t->raw_sid;
      vec[0].base = t->raw + t->raw_sent;
      vec[0].len = t->raw_len - t->raw_sent;
      cnt = 1;
      fin = 1;
    } else if (t->h3 && ngtcp2_conn_get_max_data_left(t->conn) > 0) {
      cnt = nghttp3_conn_writev_stream(t->h3, &sid, &fin, vec, 16);
      if (cnt < 0) {
        t->dead = 1;
        return 0;
      }
    }
    ngtcp2_ssize ndata = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_pkt_info pi;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(t->conn, &ps.path, &pi, out, cap < 1452 ? cap : 1452, &ndata, flags,
                                               sid, (const ngtcp2_vec *)vec, (size_t)cnt, tnow(t));
    if (n < 0) {
      if (raw && (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR)) {
        t->raw_done = 1; /* give up on it */
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        nghttp3_conn_block_stream(t->h3, sid);
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
        nghttp3_conn_shutdown_stream_write(t->h3, sid);
        continue;
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        if (raw) t->raw_done = (t->raw_sent += (size_t)ndata) == t->raw_len;
        else nghttp3_conn_add_write_offset(t->h3, sid, (uint64_t)ndata);
        continue;
      }
      t->dead = 1;
      return 0;
    }
    if (ndata >= 0) {
      /* ngtcp2 sends FIN with the last byte of data written with the FIN flag */
      if (raw) t->raw_done = (t->raw_sent += (size_t)ndata) == t->raw_len;
      else nghttp3_conn_add_write_offset(t->h3, sid, (uint64_t)ndata);
    }
    return (size_t)n;
  }
}

uint64_t h3ts_expiry(h3ts *t) { return t->conn && !t->dead ? ngtcp2_conn_get_expiry(t->conn) : UINT64_MAX; }

void h3ts_timeout(h3ts *t) {
  if (t->conn && !t->dead && ngtcp2_conn_handle_expiry(t->conn, tnow(t)) != 0) t->dead = 1;
}

size_t h3ts_stateless_reset(h3ts *t, uint8_t *out, size_t cap) {
  uint8_t rnd[40];
  RAND_bytes(rnd, sizeof rnd);
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(out, cap, t->token, rnd, sizeof rnd);
  return n > 0 ? (size_t)n : 0;
}

void h3ts_set_alpn(h3ts *t, int on) { t->no_alpn = !on; }

int h3ts_set_raw(h3ts *t, const uint8_t *p, size_t n) {
  free(t->raw);
  t->raw = malloc(n ? n : 1);
  if (t->raw == NULL) return -1;
  if (n) memcpy(t->raw, p, n);
  t->raw_len = n;
  t->raw_sent = 0;
  t->raw_sid = -1;
  t->raw_done = 0;
  return 0;
}

int h3ts_handshake_done(h3ts *t) { return t->conn && ngtcp2_conn_get_handshake_completed(t->conn); }

size_t h3ts_requests(h3ts *t, const h3ts_request **out) {
  *out = t->reqs;
  return t->n_reqs;
}

void h3ts_free(h3ts *t) {
  if (t == NULL) return;
  for (sstream *s = t->streams, *n; s; s = n) {
    n = s->next;
    free(s->echo);
    free(s);
  }
  nghttp3_conn_del(t->h3);
  ngtcp2_conn_del(t->conn);
  SSL_free(t->ssl);
  SSL_CTX_free(t->ctx);
  X509_free(t->cert);
  free(t->raw);
  free(t);
}

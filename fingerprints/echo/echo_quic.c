/*
 * echo_quic.c — guise echo's UDP side: QUIC (ngtcp2 on the project's BoringSSL) and
 * HTTP/3 (echo_h3.c) on the TCP listener's port, on the listening loop. Every request
 * is answered with the same kind of JSON document as over TCP, with "http_version"
 * "3": the ClientHello the client sent in its Initial packets (JA4 with the 'q'
 * prefix), its QUIC transport parameters, its HTTP/3 SETTINGS and stream types, and
 * each request's header fields and priority. One log record per QUIC connection.
 *
 * The ClientHello is taken from the CRYPTO stream of the Initial packets as ngtcp2
 * hands it over in order (RFC 9001 §4.1.3), before BoringSSL reads it, and decoded by
 * the fingerprints library, as the TCP side decodes its first flight.
 *
 * Hostile UDP: a datagram that does not open a connection (garbage, a cut or
 * undecryptable Initial, an unknown version, a short header for no connection) is
 * dropped without a reply; Initials past the connection cap are dropped; echo sends
 * only what ngtcp2 writes for a connection, and ngtcp2 holds a server to three times
 * the bytes received from an address it has not validated (RFC 9000 §8.1). Tokens are
 * never issued, so a token in an Initial validates nothing (§8.1.3).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_boringssl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "echo_h3.h"
#include "echo_internal.h"
#include "fp_report.h"
#include "guise_fp.h"
#include "quic_initial.h"

/* QUIC connections at once, whatever --max-connections says: each holds an ngtcp2
 * connection, an SSL, nghttp3's state and a timer (tens of KB). */
#define ECHO_QUIC_MAX_CONNS 1024u
/* The largest datagram read. */
#define ECHO_QUIC_DGRAM 65536u
/* A QUIC packet echo writes: ngtcp2's default max_tx_udp_payload_size is 1452. */
#define ECHO_QUIC_PKT 1500u
/* Packets written per turn for one connection: the congestion window ends it first. */
#define ECHO_QUIC_WRITE_TURN 256
/* Request streams a client may open at once (initial_max_streams_bidi), as HTTP/2's
 * SETTINGS_MAX_CONCURRENT_STREAMS on the TCP side. */
#define ECHO_QUIC_MAX_STREAMS 100u
/* Server connection IDs echo hands out per connection (ngtcp2 asks for a few). */
#define ECHO_QUIC_MAX_SCIDS 8u
/* Records of requests kept per connection for its log line (the count is exact). */
#define ECHO_QUIC_LOG_REQUESTS 32u
/* TLS records the ClientHello is split into for the ClientHello parser (which reads
 * the TCP form: records of at most 2^14 bytes, RFC 8446 §5.1). */
#define ECHO_QUIC_REC_MAX 16384u

typedef struct qconn qconn;

struct echo_quic {
  uv_loop_t *loop;
  uv_udp_t udp;
  SSL_CTX *ctx;
  echo_quic_config cfg;
  struct sockaddr_storage local;
  socklen_t local_len;
  gfp_clienthello *ch; /* scratch for the ClientHello parser */
  qconn *conns;
  unsigned nconns;
  int handles; /* open uv handles: the socket and each connection's timer */
  int closing;
  void (*on_closed)(void *arg);
  void *closed_arg;
  uint64_t dropped; /* datagrams that opened nothing */
  uint8_t rbuf[ECHO_QUIC_DGRAM];
};

struct qconn {
  echo_quic *q;
  qconn *prev, *next;
  uv_timer_t timer;
  ngtcp2_conn *conn;
  SSL *ssl;
  ngtcp2_crypto_conn_ref ref;
  echo_h3 *h3;
  struct sockaddr_storage remote;
  socklen_t remote_len;
  ngtcp2_cid odcid;
  ngtcp2_cid scids[ECHO_QUIC_MAX_SCIDS];
  unsigned nscids;
  uint64_t id;
  char peer[64];
  int ended;
  /* What the client sent. */
  uint8_t *hello; /* the Initial CRYPTO stream, up to the end of the ClientHello */
  size_t hello_len;
  int hello_done;
  json_t *tls;  /* {client_hello, fingerprints, negotiated} */
  json_t *quic; /* {version, dcid_length, scid_length, token_length, ...} */
  json_t *requests;
  unsigned nrequests;
  json_t *error;
  uint64_t bytes_in, bytes_out;
};

static ngtcp2_tstamp now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

static void set_error(qconn *c, const char *stage, size_t offset, const char *reason) {
  if (c->error == NULL) c->error = gfp_report_error(stage, offset, reason);
}

static void format_peer(const struct sockaddr_storage *sa, char *out, size_t len) {
  char host[64] = "?";
  if (sa->ss_family == AF_INET) {
    uv_ip4_name((const struct sockaddr_in *)sa, host, sizeof(host));
    snprintf(out, len, "%s:%d", host, ntohs(((const struct sockaddr_in *)sa)->sin_port));
  } else {
    uv_ip6_name((const struct sockaddr_in6 *)sa, host, sizeof(host));
    snprintf(out, len, "[%s]:%d", host, ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
  }
}

static int is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6) {
    static const uint8_t one[16] = {[15] = 1};
    return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, one, 16) == 0;
  }
  return 0;
}

/* ---- the record -------------------------------------------------------------------- */

/* {"version", "dcid_length", "scid_length", "token_length", "initial_datagram",
 * "transport_parameters"} from the client's first datagram; the parameters are those of
 * the ClientHello's quic_transport_parameters extension, added once it is decoded. */
static json_t *quic_doc(const uint8_t *d, size_t n) {
  gqi_header h;
  const char *why = NULL;
  if (gqi_parse_long_header(d, n, &h, &why) != 0) return json_pack("{s:s}", "error", why);
  char v[16];
  snprintf(v, sizeof(v), "0x%08x", h.version);
  return json_pack("{s:s, s:i, s:i, s:I, s:I}", "version", v, "dcid_length", (int)h.dcid_len,
                   "scid_length", (int)h.scid_len, "token_length", (json_int_t)h.token_len,
                   "initial_datagram", (json_int_t)n);
}

/* The quic_transport_parameters extension's "parameters" in the hello's report. */
static void add_transport_params(qconn *c) {
  json_t *exts = json_object_get(json_object_get(c->tls, "client_hello"), "extensions");
  for (size_t i = 0; i < json_array_size(exts); i++) {
    json_t *e = json_array_get(exts, i);
    if (json_integer_value(json_object_get(e, "type")) == 57 && c->quic != NULL) {
      json_t *p = json_object_get(e, "parameters");
      if (p) json_object_set(c->quic, "transport_parameters", p);
    }
  }
}

/* The Initial CRYPTO stream, in order (ngtcp2 reassembles it): once it holds the
 * whole ClientHello, the hello is decoded as the TCP side decodes its first flight. */
static void hello_input(qconn *c, uint64_t off, const uint8_t *d, size_t n) {
  echo_quic *q = c->q;
  if (off != c->hello_len) {
    c->hello_done = 1;
    set_error(c, "quic", c->hello_len, "CRYPTO data out of order");
    return;
  }
  if (c->hello == NULL && (c->hello = malloc(GQI_MAX_CRYPTO)) == NULL) {
    c->hello_done = 1;
    return;
  }
  size_t room = GQI_MAX_CRYPTO - c->hello_len, k = n < room ? n : room;
  memcpy(c->hello + c->hello_len, d, k);
  c->hello_len += k;
  if (c->hello_len < 4) return;
  const uint8_t *m = c->hello;
  size_t body = ((size_t)m[1] << 16) | ((size_t)m[2] << 8) | m[3];
  if (m[0] != 1 || body > GFP_CH_MAX_BODY) {
    c->hello_done = 1;
    set_error(c, "tls", m[0] != 1 ? 0 : 1,
              m[0] != 1 ? "the client's Initial CRYPTO data does not start with a ClientHello"
                        : "ClientHello larger than the limit");
    return;
  }
  if (c->hello_len < 4 + body) return;
  c->hello_done = 1;
  size_t len = 4 + body, nrec = (len + ECHO_QUIC_REC_MAX - 1) / ECHO_QUIC_REC_MAX;
  uint8_t *w = malloc(len + nrec * 5);
  if (w == NULL) return;
  size_t wl = 0;
  for (size_t at = 0; at < len; at += ECHO_QUIC_REC_MAX) {
    size_t part = len - at < ECHO_QUIC_REC_MAX ? len - at : ECHO_QUIC_REC_MAX;
    w[wl++] = 22; /* handshake */
    w[wl++] = 3;
    w[wl++] = 3;
    w[wl++] = (uint8_t)(part >> 8);
    w[wl++] = (uint8_t)part;
    memcpy(w + wl, m + at, part);
    wl += part;
  }
  gfp_status st = gfp_ch_parse(q->ch, w, wl);
  free(w);
  if (st == GFP_DONE) {
    json_decref(c->tls);
    c->tls = gfp_report_tls_quic(q->ch, m, len);
    add_transport_params(c);
  } else {
    size_t at = q->ch->err_offset;
    at = at - (at / (ECHO_QUIC_REC_MAX + 5) + 1) * 5; /* an offset in the message */
    set_error(c, "tls", st == GFP_ERROR ? at : len,
              st == GFP_ERROR ? q->ch->err_reason : "ClientHello incomplete");
  }
  free(c->hello);
  c->hello = NULL;
}

static void keep_request(qconn *c, echo_h3_req *r) {
  if (c->requests == NULL) c->requests = json_array();
  if (c->requests && json_array_size(c->requests) < ECHO_QUIC_LOG_REQUESTS)
    json_array_append_new(c->requests, echo_h3_request_report(r));
}

static char *answer(void *arg, echo_h3_req *r, size_t *len) {
  qconn *c = arg;
  c->nrequests++;
  keep_request(c, r);
  json_t *h3 = echo_h3_report(c->h3), *req = echo_h3_request_report(r);
  json_t *doc = json_pack("{s:s, s:I, s:i, s:s, s:O, s:O, s:O, s:O}", "peer", c->peer,
                          "connection", (json_int_t)c->id, "request_number", (int)c->nrequests,
                          "http_version", "3", "tls", c->tls ? c->tls : json_null(), "quic",
                          c->quic ? c->quic : json_null(), "http3", h3 ? h3 : json_null(),
                          "request", req ? req : json_null());
  json_decref(h3);
  json_decref(req);
  char *t = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(doc);
  if (t == NULL) return NULL;
  size_t n = strlen(t);
  char *out = realloc(t, n + 2);
  if (out == NULL) {
    free(t);
    return NULL;
  }
  memcpy(out + n, "\n", 2);
  *len = n + 1;
  return out;
}

static void write_log(qconn *c) {
  echo_log *log = c->q->cfg.log;
  if (log == NULL) return;
  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *h3 = c->h3 ? echo_h3_report(c->h3) : NULL;
  json_t *rec = json_pack("{s:s, s:s, s:I, s:I, s:s, s:O, s:O, s:O, s:{s:I, s:I}}", "time", when,
                          "peer", c->peer, "connection", (json_int_t)c->id, "request_count",
                          (json_int_t)c->nrequests, "http_version", "3", "tls",
                          c->tls ? c->tls : json_null(), "quic", c->quic ? c->quic : json_null(),
                          "http3", h3 ? h3 : json_null(), "udp", "received",
                          (json_int_t)c->bytes_in, "sent", (json_int_t)c->bytes_out);
  json_decref(h3);
  if (rec == NULL) return;
  if (c->requests) json_object_set(rec, "requests", c->requests);
  else json_object_set_new(rec, "requests", json_array());
  if (c->error) json_object_set(rec, "error", c->error);
  char *line = json_dumps(rec, JSON_COMPACT);
  json_decref(rec);
  if (line == NULL) return;
  echo_log_line(log, line, strlen(line));
  free(line);
}

/* ---- connection lifetime ------------------------------------------------------------ */

static void maybe_closed(echo_quic *q) {
  if (!q->closing || q->handles > 0) return;
  void (*cb)(void *) = q->on_closed;
  void *arg = q->closed_arg;
  gfp_ch_free(q->ch);
  SSL_CTX_free(q->ctx);
  free(q);
  if (cb) cb(arg);
}

static void on_timer_closed(uv_handle_t *h) {
  qconn *c = h->data;
  echo_quic *q = c->q;
  ngtcp2_conn_del(c->conn);
  SSL_free(c->ssl);
  echo_h3_free(c->h3);
  free(c->hello);
  json_decref(c->tls);
  json_decref(c->quic);
  json_decref(c->requests);
  json_decref(c->error);
  free(c);
  q->handles--;
  maybe_closed(q);
}

/* Ends |c|: its record is written, it leaves the table at once, its memory goes
 * when its timer has closed. */
static void conn_end(qconn *c) {
  if (c->ended) return;
  c->ended = 1;
  echo_quic *q = c->q;
  write_log(c);
  if (c->prev) c->prev->next = c->next;
  else q->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  q->nconns--;
  atomic_fetch_sub(q->cfg.nconns, 1);
  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/* ---- output ---------------------------------------------------------------------------- */

static void send_dgram(qconn *c, const ngtcp2_path *path, const uint8_t *p, size_t n) {
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  const struct sockaddr *to = path ? (const struct sockaddr *)path->remote.addr
                                   : (const struct sockaddr *)&c->remote;
  /* Not queued: a datagram the socket cannot take now is lost, and QUIC resends. */
  if (uv_udp_try_send(&c->q->udp, &b, 1, to) == (int)n) c->bytes_out += n;
}

static void timer_update(qconn *c);

/* Sends what the connection has: stream data nghttp3 gives, ACKs, handshake bytes. Returns
 * -1 when the connection must end. */
static int write_out(qconn *c) {
  uint8_t buf[ECHO_QUIC_PKT];
  nghttp3_conn *h3 = c->h3 ? echo_h3_conn(c->h3) : NULL;
  for (int turn = 0; turn < ECHO_QUIC_WRITE_TURN; turn++) {
    int64_t sid = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize cnt = 0;
    if (h3 && ngtcp2_conn_get_max_data_left(c->conn) > 0) {
      cnt = nghttp3_conn_writev_stream(h3, &sid, &fin, vec, 16);
      if (cnt < 0) {
        set_error(c, "http3", 0, nghttp3_strerror((int)cnt));
        return -1;
      }
    }
    ngtcp2_ssize ndata = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(c->conn, &ps.path, &pi, buf, sizeof(buf), &ndata,
                                               flags, sid, (const ngtcp2_vec *)vec, (size_t)cnt,
                                               now_ns());
    if (n < 0) {
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        nghttp3_conn_block_stream(h3, sid);
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
        nghttp3_conn_shutdown_stream_write(h3, sid);
        continue;
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        if (nghttp3_conn_add_write_offset(h3, sid, (uint64_t)ndata) != 0) return -1;
        continue;
      }
      set_error(c, "quic", 0, ngtcp2_strerror((int)n));
      return -1;
    }
    if (ndata >= 0 && nghttp3_conn_add_write_offset(h3, sid, (uint64_t)ndata) != 0) return -1;
    if (n == 0) break;
    send_dgram(c, &ps.path, buf, (size_t)n);
  }
  timer_update(c);
  return 0;
}

/* A CONNECTION_CLOSE for |liberr| (ngtcp2 bounds it like every packet), then the end. */
static void close_with(qconn *c, int liberr) {
  if (liberr != NGTCP2_ERR_DRAINING && liberr != NGTCP2_ERR_CLOSING &&
      liberr != NGTCP2_ERR_DROP_CONN && liberr != NGTCP2_ERR_IDLE_CLOSE &&
      !ngtcp2_conn_in_closing_period(c->conn) && !ngtcp2_conn_in_draining_period(c->conn)) {
    ngtcp2_ccerr e;
    ngtcp2_ccerr_default(&e);
    if (liberr == NGTCP2_ERR_CRYPTO)
      ngtcp2_ccerr_set_tls_alert(&e, ngtcp2_conn_get_tls_alert(c->conn), NULL, 0);
    else if (liberr == 0) /* shutting down: H3_NO_ERROR (RFC 9114 §8.1) */
      ngtcp2_ccerr_set_application_error(&e, NGHTTP3_H3_NO_ERROR, NULL, 0);
    else ngtcp2_ccerr_set_liberr(&e, liberr, NULL, 0);
    uint8_t buf[ECHO_QUIC_PKT];
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(c->conn, &ps.path, &pi, buf, sizeof(buf),
                                                         &e, now_ns());
    if (n > 0) send_dgram(c, &ps.path, buf, (size_t)n);
  }
  conn_end(c);
}

static void on_timer(uv_timer_t *t) {
  qconn *c = t->data;
  if (c->ended) return;
  int rv = ngtcp2_conn_handle_expiry(c->conn, now_ns());
  if (rv != 0) {
    if (rv == NGTCP2_ERR_IDLE_CLOSE) set_error(c, "idle", 0, "idle timeout");
    else if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT)
      set_error(c, "idle", 0, "QUIC handshake not complete within the idle timeout");
    else set_error(c, "quic", 0, ngtcp2_strerror(rv));
    close_with(c, rv);
    return;
  }
  if (ngtcp2_conn_in_closing_period(c->conn) || ngtcp2_conn_in_draining_period(c->conn)) {
    conn_end(c);
    return;
  }
  if (write_out(c) != 0) close_with(c, NGTCP2_ERR_INTERNAL);
}

static void timer_update(qconn *c) {
  if (c->ended) return;
  ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(c->conn), now = now_ns();
  if (exp == UINT64_MAX) {
    uv_timer_stop(&c->timer);
    return;
  }
  uint64_t ms = exp <= now ? 0 : (exp - now + NGTCP2_MILLISECONDS - 1) / NGTCP2_MILLISECONDS;
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ---- ngtcp2 and nghttp3 glue --------------------------------------------------------------- */

static void consumed(void *arg, int64_t sid, size_t n) {
  qconn *c = arg;
  ngtcp2_conn_extend_max_stream_offset(c->conn, sid, n);
  ngtcp2_conn_extend_max_offset(c->conn, n);
}

static int setup_h3(qconn *c) {
  if (c->h3) return 0;
  if (ngtcp2_conn_get_streams_uni_left(c->conn) < 3) return -1;
  echo_h3_ops ops = {answer, consumed};
  if (echo_h3_new(&c->h3, &ops, c) != 0) return -1;
  nghttp3_conn *h3 = echo_h3_conn(c->h3);
  int64_t ctrl, enc, dec;
  if (ngtcp2_conn_open_uni_stream(c->conn, &ctrl, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(c->conn, &enc, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(c->conn, &dec, NULL) != 0 ||
      nghttp3_conn_bind_control_stream(h3, ctrl) != 0 ||
      nghttp3_conn_bind_qpack_streams(h3, enc, dec) != 0)
    return -1;
  return 0;
}

static int cb_recv_crypto(ngtcp2_conn *conn, ngtcp2_encryption_level lvl, uint64_t off,
                          const uint8_t *d, size_t n, void *ud) {
  qconn *c = ud;
  if (lvl == NGTCP2_ENCRYPTION_LEVEL_INITIAL && !c->hello_done) hello_input(c, off, d, n);
  return ngtcp2_crypto_recv_crypto_data_cb(conn, lvl, off, d, n, ud);
}

static int cb_handshake_completed(ngtcp2_conn *conn, void *ud) {
  (void)conn;
  qconn *c = ud;
  if (c->tls == NULL) c->tls = json_pack("{s:n, s:n}", "client_hello", "fingerprints");
  if (c->tls) echo_tls_describe(c->ssl, c->tls);
  return 0;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t off,
                               const uint8_t *d, size_t n, void *ud, void *sud) {
  (void)off, (void)sud;
  qconn *c = ud;
  if (setup_h3(c) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  nghttp3_ssize r = echo_h3_read(c->h3, sid, d, n, flags & NGTCP2_STREAM_DATA_FLAG_FIN, now_ns());
  if (r < 0) {
    char why[128];
    snprintf(why, sizeof(why), "stream %lld: %s", (long long)sid, nghttp3_strerror((int)r));
    if (echo_h3_overloaded(c->h3))
      set_error(c, "write", 0, "client does not acknowledge its answers (4 MiB held)");
    else set_error(c, "http3", 0, why);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  ngtcp2_conn_extend_max_stream_offset(conn, sid, (uint64_t)r);
  ngtcp2_conn_extend_max_offset(conn, (uint64_t)r);
  return 0;
}

static int cb_acked(ngtcp2_conn *conn, int64_t sid, uint64_t off, uint64_t len, void *ud,
                    void *sud) {
  (void)conn, (void)off, (void)sud;
  qconn *c = ud;
  if (c->h3 && nghttp3_conn_add_ack_offset(echo_h3_conn(c->h3), sid, len) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t code, void *ud,
                           void *sud) {
  (void)conn, (void)sud;
  qconn *c = ud;
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) code = NGHTTP3_H3_NO_ERROR;
  if (c->h3) {
    int rv = nghttp3_conn_close_stream(echo_h3_conn(c->h3), sid, code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int cb_stream_reset(ngtcp2_conn *conn, int64_t sid, uint64_t fs, uint64_t code, void *ud,
                           void *sud) {
  (void)conn, (void)fs, (void)code, (void)sud;
  qconn *c = ud;
  if (c->h3 && nghttp3_conn_shutdown_stream_read(echo_h3_conn(c->h3), sid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int cb_extend_stream(ngtcp2_conn *conn, int64_t sid, uint64_t max, void *ud, void *sud) {
  (void)conn, (void)max, (void)sud;
  qconn *c = ud;
  if (c->h3 && nghttp3_conn_unblock_stream(echo_h3_conn(c->h3), sid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int cb_extend_bidi(ngtcp2_conn *conn, uint64_t max, void *ud) {
  (void)conn;
  qconn *c = ud;
  if (c->h3) nghttp3_conn_set_max_client_streams_bidi(echo_h3_conn(c->h3), max);
  return 0;
}

static void cb_rand(uint8_t *d, size_t n, const ngtcp2_rand_ctx *rc) {
  (void)rc;
  RAND_bytes(d, n);
}

static int cb_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t len, void *ud) {
  (void)conn;
  qconn *c = ud;
  if (c->nscids == ECHO_QUIC_MAX_SCIDS) return NGTCP2_ERR_CALLBACK_FAILURE;
  RAND_bytes(cid->data, len);
  cid->datalen = len;
  RAND_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
  c->scids[c->nscids++] = *cid;
  return 0;
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) { return ((qconn *)ref->user_data)->conn; }

/* ---- connections ----------------------------------------------------------------------- */

static qconn *conn_find(echo_quic *q, const uint8_t *dcid, size_t len) {
  for (qconn *c = q->conns; c; c = c->next) {
    if (c->odcid.datalen == len && memcmp(c->odcid.data, dcid, len) == 0) return c;
    for (unsigned i = 0; i < c->nscids; i++)
      if (c->scids[i].datalen == len && memcmp(c->scids[i].data, dcid, len) == 0) return c;
  }
  return NULL;
}

static qconn *conn_new(echo_quic *q, const ngtcp2_pkt_hd *hd, const struct sockaddr *from,
                       size_t from_len, const uint8_t *d, size_t n) {
  qconn *c = calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  c->q = q;
  memcpy(&c->remote, from, from_len);
  c->remote_len = (socklen_t)from_len;
  c->odcid = hd->dcid;
  format_peer(&c->remote, c->peer, sizeof(c->peer));
  c->quic = quic_doc(d, n);
  c->ssl = SSL_new(q->ctx);
  if (c->ssl == NULL) goto fail;
  c->ref.get_conn = get_conn;
  c->ref.user_data = c;
  SSL_set_app_data(c->ssl, &c->ref);
  SSL_set_accept_state(c->ssl);
  ngtcp2_callbacks cb = {
      .recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
      .recv_crypto_data = cb_recv_crypto,
      .handshake_completed = cb_handshake_completed,
      .encrypt = ngtcp2_crypto_encrypt_cb,
      .decrypt = ngtcp2_crypto_decrypt_cb,
      .hp_mask = ngtcp2_crypto_hp_mask_cb,
      .update_key = ngtcp2_crypto_update_key_cb,
      .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
      .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
      .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
      .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
      .rand = cb_rand,
      .get_new_connection_id = cb_new_cid,
      .recv_stream_data = cb_recv_stream_data,
      .acked_stream_data_offset = cb_acked,
      .stream_close = cb_stream_close,
      .stream_reset = cb_stream_reset,
      .extend_max_stream_data = cb_extend_stream,
      .extend_max_remote_streams_bidi = cb_extend_bidi,
  };
  ngtcp2_settings s;
  ngtcp2_settings_default(&s);
  s.initial_ts = now_ns();
  /* A handshake that does not finish within the idle timeout ends: a replayed or
   * abandoned Initial holds its slot no longer than an idle connection. */
  s.handshake_timeout = (ngtcp2_duration)q->cfg.idle_timeout_ms * NGTCP2_MILLISECONDS;
  ngtcp2_transport_params p;
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = 256 * 1024;
  p.initial_max_stream_data_bidi_remote = 256 * 1024;
  p.initial_max_stream_data_uni = 256 * 1024;
  p.initial_max_data = 1024 * 1024;
  p.initial_max_streams_bidi = ECHO_QUIC_MAX_STREAMS;
  p.initial_max_streams_uni = ECHO_H3_MAX_UNI;
  p.max_idle_timeout = (ngtcp2_duration)q->cfg.idle_timeout_ms * NGTCP2_MILLISECONDS;
  p.active_connection_id_limit = 4;
  p.original_dcid = hd->dcid;
  p.original_dcid_present = 1;
  RAND_bytes(p.stateless_reset_token, sizeof(p.stateless_reset_token));
  p.stateless_reset_token_present = 1;
  ngtcp2_cid scid;
  scid.datalen = 8;
  RAND_bytes(scid.data, scid.datalen);
  c->scids[c->nscids++] = scid;
  ngtcp2_path path = {{(ngtcp2_sockaddr *)&q->local, q->local_len},
                      {(ngtcp2_sockaddr *)&c->remote, c->remote_len}, NULL};
  if (ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &path, hd->version, &cb, &s, &p, NULL,
                             c) != 0)
    goto fail;
  ngtcp2_conn_set_tls_native_handle(c->conn, c->ssl);
  return c;
fail:
  SSL_free(c->ssl);
  json_decref(c->quic);
  free(c);
  return NULL;
}

/* A connection made for a first datagram that did not decrypt: never a connection. */
static void conn_drop(qconn *c) {
  ngtcp2_conn_del(c->conn);
  SSL_free(c->ssl);
  echo_h3_free(c->h3);
  free(c->hello);
  json_decref(c->tls);
  json_decref(c->quic);
  json_decref(c->requests);
  json_decref(c->error);
  free(c);
}

static void on_datagram(echo_quic *q, const uint8_t *d, size_t n, const struct sockaddr *from) {
  size_t from_len =
      from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  ngtcp2_version_cid vc;
  if (ngtcp2_pkt_decode_version_cid(&vc, d, n, 8) != 0) {
    q->dropped++;
    return;
  }
  qconn *c = conn_find(q, vc.dcid, vc.dcidlen);
  if (c == NULL) {
    ngtcp2_pkt_hd hd;
    /* A new connection starts with an Initial of a version ngtcp2 speaks (RFC 9000
     * §10.3: nothing is answered to a short header nobody owns; no Version Negotiation
     * either: a Version Negotiation packet answers unauthenticated bytes). */
    if (q->nconns >= ECHO_QUIC_MAX_CONNS ||
        atomic_load(q->cfg.nconns) >= q->cfg.max_connections || ngtcp2_accept(&hd, d, n) != 0) {
      q->dropped++;
      return;
    }
    c = conn_new(q, &hd, from, from_len, d, n);
    if (c == NULL) return;
    ngtcp2_path path = {{(ngtcp2_sockaddr *)&q->local, q->local_len},
                        {(ngtcp2_sockaddr *)from, (ngtcp2_socklen)from_len}, NULL};
    ngtcp2_pkt_info pi = {0};
    if (ngtcp2_conn_read_pkt(c->conn, &path, &pi, d, n, now_ns()) != 0) {
      /* ngtcp2_accept reads the header only: garbage behind an Initial-looking header,
       * or an Initial that does not decrypt, opens nothing and gets nothing. */
      conn_drop(c);
      q->dropped++;
      return;
    }
    c->bytes_in = n;
    c->id = ++*q->cfg.next_id;
    atomic_fetch_add(q->cfg.nconns, 1);
    q->nconns++;
    uv_timer_init(q->loop, &c->timer);
    c->timer.data = c;
    q->handles++;
    c->next = q->conns;
    if (q->conns) q->conns->prev = c;
    q->conns = c;
  } else {
    c->bytes_in += n;
    ngtcp2_path path = {{(ngtcp2_sockaddr *)&q->local, q->local_len},
                        {(ngtcp2_sockaddr *)from, (ngtcp2_socklen)from_len}, NULL};
    ngtcp2_pkt_info pi = {0};
    int rv = ngtcp2_conn_read_pkt(c->conn, &path, &pi, d, n, now_ns());
    if (rv != 0) {
      if (rv == NGTCP2_ERR_CRYPTO) {
        /* BoringSSL's reason, as the TCP side reports a refused handshake. */
        char why[256];
        uint32_t e = ERR_peek_last_error();
        if (e != 0) ERR_error_string_n(e, why, sizeof(why));
        else snprintf(why, sizeof(why), "TLS alert %u", ngtcp2_conn_get_tls_alert(c->conn));
        ERR_clear_error();
        set_error(c, "tls handshake", 0, why);
      } else if (rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_CLOSING &&
                 rv != NGTCP2_ERR_DROP_CONN) {
        set_error(c, "quic", 0, ngtcp2_strerror(rv));
      }
      close_with(c, rv);
      return;
    }
  }
  if (ngtcp2_conn_get_handshake_completed(c->conn) && setup_h3(c) != 0) {
    set_error(c, "http3", 0, "the client allows fewer than 3 unidirectional streams");
    close_with(c, NGTCP2_ERR_INTERNAL);
    return;
  }
  if (write_out(c) != 0) close_with(c, NGTCP2_ERR_INTERNAL);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  echo_quic *q = h->data;
  *buf = uv_buf_init((char *)q->rbuf, sizeof(q->rbuf));
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags) {
  echo_quic *q = u->data;
  if (nread <= 0 || from == NULL || q->closing) return;
  if (flags & UV_UDP_PARTIAL) { /* longer than any QUIC datagram: not QUIC */
    q->dropped++;
    return;
  }
  if (!q->cfg.allow_remote && !is_loopback(from)) return;
  on_datagram(q, (const uint8_t *)buf->base, (size_t)nread, from);
}

/* ---- the TLS context ------------------------------------------------------------------- */

static int select_h3(SSL *ssl, const uint8_t **out, uint8_t *outlen, const uint8_t *in,
                     unsigned inlen, void *arg) {
  (void)ssl, (void)arg;
  uint8_t *sel;
  uint8_t sel_len;
  /* RFC 9114 §3.1: "h3"; a client that offers nothing else gets no_application_protocol. */
  if (SSL_select_next_proto(&sel, &sel_len, (const uint8_t *)"\x02h3", 3, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = sel;
  *outlen = sel_len;
  return SSL_TLSEXT_ERR_OK;
}

/* A QUIC server context with the certificate, chain and key of |tcp|: one identity on
 * both transports (a browser pinned to one SPKI accepts both). */
static SSL_CTX *quic_ctx(SSL_CTX *tcp) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  STACK_OF(X509) *chain = NULL;
  if (ctx == NULL || ngtcp2_crypto_boringssl_configure_server_context(ctx) != 0 ||
      !SSL_CTX_set1_curves_list(ctx, ECHO_TLS_GROUPS) ||
      !SSL_CTX_use_certificate(ctx, SSL_CTX_get0_certificate(tcp)) ||
      !SSL_CTX_use_PrivateKey(ctx, SSL_CTX_get0_privatekey(tcp)) ||
      !SSL_CTX_get0_chain_certs(tcp, &chain)) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  for (size_t i = 0; i < sk_X509_num(chain); i++)
    if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i))) {
      SSL_CTX_free(ctx);
      return NULL;
    }
  SSL_CTX_set_alpn_select_cb(ctx, select_h3, NULL);
  return ctx;
}

/* ---- entry ----------------------------------------------------------------------------- */

int echo_quic_new(uv_loop_t *loop, const echo_quic_config *cfg, echo_quic **out, char *err,
                  size_t errlen) {
  *out = NULL;
  echo_quic *q = calloc(1, sizeof(*q));
  if (q == NULL) {
    snprintf(err, errlen, "out of memory");
    return UV_ENOMEM;
  }
  q->loop = loop;
  q->cfg = *cfg;
  q->ch = gfp_ch_new();
  q->ctx = quic_ctx(cfg->tcp_ctx);
  if (q->ch == NULL || q->ctx == NULL) {
    snprintf(err, errlen, "HTTP/3: no TLS context for QUIC");
    gfp_ch_free(q->ch);
    SSL_CTX_free(q->ctx);
    free(q);
    return UV_ENOMEM;
  }
  uv_udp_init(loop, &q->udp);
  q->udp.data = q;
  q->handles = 1;
  int r = cfg->udp_fd >= 0 ? uv_udp_open(&q->udp, cfg->udp_fd) : uv_udp_bind(&q->udp, cfg->addr, 0);
  if (r != 0 && cfg->udp_fd >= 0) close(cfg->udp_fd);
  int len = sizeof(q->local);
  if (r == 0) r = uv_udp_getsockname(&q->udp, (struct sockaddr *)&q->local, &len);
  if (r == 0) r = uv_udp_recv_start(&q->udp, on_alloc, on_recv);
  if (r != 0) {
    snprintf(err, errlen, "UDP (HTTP/3) on the same port: %s", uv_strerror(r));
    *out = q; /* its socket handle is on the loop: echo_quic_close frees it */
    return r;
  }
  q->local_len = (socklen_t)len;
  *out = q;
  return 0;
}

static void on_udp_closed(uv_handle_t *h) {
  echo_quic *q = h->data;
  q->handles--;
  maybe_closed(q);
}

void echo_quic_close(echo_quic *q, void (*on_closed)(void *arg), void *arg) {
  if (q == NULL || q->closing) return;
  q->closing = 1;
  q->on_closed = on_closed;
  q->closed_arg = arg;
  while (q->conns) close_with(q->conns, 0);
  if (!uv_is_closing((uv_handle_t *)&q->udp)) uv_close((uv_handle_t *)&q->udp, on_udp_closed);
}

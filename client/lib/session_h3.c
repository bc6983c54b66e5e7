/*
 * session_h3.c — the HTTP/3 session of session.h (see session_h3.h): an
 * ngtcp2 client connection whose TLS is a BoringSSL SSL shaped by the
 * profile's http3 section, and an nghttp3 client connection on it.
 *
 * What is the profile's and not the libraries':
 *   - the quic_transport_parameters extension: written here, in the profile's
 *     order (or permuted per connection), with its values, the GREASE
 *     parameter, version_information and the browser's own ids, and handed to
 *     BoringSSL instead of ngtcp2's encoding (client_initial below). ngtcp2 is
 *     given the same values, so what it enforces is what was announced;
 *   - the HTTP/3 control stream: written here (type, SETTINGS in the profile's
 *     order with its GREASE setting, then a reserved frame as both captured
 *     browsers send one), since nghttp3 writes its own fixed SETTINGS and no
 *     GREASE; nghttp3 gets the same QPACK values, which are the ones it decodes
 *     with;
 *   - the pseudo-header order of requests (the profile's navigate order);
 *   - the Initial datagram size (the profile's ipv4/ipv6 size: ngtcp2 pads the
 *     first Initial datagram with PADDING frames to the size it may write);
 *   - the Destination and Source Connection ID lengths.
 * docs/HTTP3.md lists what ngtcp2 does its own way (CRYPTO frame order, zero
 * padding after the packet, the QPACK streams' order).
 *
 * I/O-free: datagrams in (recv), datagrams out (send), one timer through the
 * host carrying ngtcp2's expiry.
 */
#include "session_h3.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_boringssl.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "guise.h"
#include "tls_verify.h"

/* From ngtcp2's crypto/shared.h (compiled into ngtcp2_crypto_boringssl; the
 * header is not installed): the Initial keys for the client's chosen DCID, the
 * first step of ngtcp2_crypto_client_initial_cb, which client_initial below
 * repeats with the profile's transport parameters. */
int ngtcp2_crypto_derive_and_install_initial_key(ngtcp2_conn *conn, uint8_t *rx_secret, uint8_t *tx_secret,
                                                 uint8_t *initial_secret, uint8_t *rx_key, uint8_t *rx_iv,
                                                 uint8_t *rx_hp, uint8_t *tx_key, uint8_t *tx_iv, uint8_t *tx_hp,
                                                 uint32_t version, const ngtcp2_cid *client_dcid);

/* Limits (why each value):
 * - the encoded transport parameters: 13 browser parameters of at most a few
 *   dozen bytes each, plus a GREASE one of up to PROFILE_H3_MAX_PARAM_DATA;
 * - the control stream's first flight: type, SETTINGS of at most 16 pairs of
 *   8-byte varints, a reserved frame (H3_CTRL_FIRST);
 * - the control stream's bytes not yet acknowledged: the first flight and
 *   PRIORITY_UPDATE frames of at most 80 bytes, one per request (4 KiB: some
 *   40 requests in flight before the server's ACK; a frame that finds no room
 *   is not sent: it is advice, RFC 9218 7);
 * - a response's header block: 256 KiB is Chromium's SETTINGS_MAX_FIELD_SECTION_SIZE
 *   (the profile's setting 6), 256 fields far above any real response;
 * - 32 interim (1xx) responses, as the HTTP/2 session;
 * - a request body goes out in chunks of 16 KiB, each kept until the server
 *   acknowledged it (ngtcp2 and nghttp3 keep pointers to unacknowledged data),
 *   four of them (64 KiB) in flight a stream. */
#define H3_TP_MAX 1024
#define H3_CTRL_FIRST 512
#define H3_CTRL_MAX 4096
#define H3_PRIORITY_VALUE_MAX 64
#define H3_HEADER_BYTES_MAX (256u * 1024u)
#define H3_HEADER_FIELDS_MAX 256
#define H3_INTERIM_MAX 32
#define H3_BODY_CHUNK (16u * 1024u)
#define H3_BODY_CHUNKS 4

/* RFC 9114 8.1 error codes. */
#define H3_NO_ERROR 0x100
#define H3_REQUEST_REJECTED 0x10b
#define H3_REQUEST_CANCELLED 0x10c

typedef struct session_h3 session_h3;

typedef struct h3_stream {
  session_h3 *s;
  int64_t id;
  session_stream_callbacks cb;
  void *ud;
  int user_closed;   /* on_close has run */
  int final_seen;    /* a final response head was delivered */
  unsigned interim;
  /* the header block being received */
  char *hbuf;
  size_t hlen, hcap;
  size_t hoff[H3_HEADER_FIELDS_MAX][4]; /* name off, name len, value off, value len */
  size_t nfields;
  int status;
  int block_err;     /* a GUISE_E_* code found in the block */
  /* the request body */
  session_body body;
  int has_body, body_eof, paused, wait_ack;
  int abort_pending;   /* stream_abort asked inside a library call */
  uint64_t abort_code;
  uint8_t *chunk[H3_BODY_CHUNKS]; /* a ring: |chead| the oldest unacknowledged */
  size_t clen[H3_BODY_CHUNKS];
  size_t chead, ccount, head_acked;
  struct h3_stream *prev, *next;
} h3_stream;

struct session_h3 {
  session base; /* first: session.h's */
  session_host host;
  uint64_t (*now_ns)(void *);
  void *now_arg;
  ngtcp2_conn *conn;
  nghttp3_conn *h3;
  SSL_CTX *ctx;
  SSL *ssl;
  int verify;
  ngtcp2_crypto_conn_ref ref;
  struct sockaddr_storage local, remote;
  ngtcp2_path path;
  size_t max_streams;
  size_t udp_size;           /* the largest datagram written */
  int zero_padding;          /* the profile's Initial padding is zeros after the packet */
  /* the profile's parts kept */
  uint8_t tp[H3_TP_MAX];
  size_t tp_len;
  int pseudo[4];             /* order of :method :scheme :authority :path (indices) */
  nghttp3_settings h3set;
  /* the control stream */
  int64_t ctrl_id;
  uint8_t ctrl[H3_CTRL_MAX];  /* a ring: stream offset o is at ctrl[o % H3_CTRL_MAX] */
  uint64_t ctrl_len, ctrl_sent, ctrl_acked; /* stream offsets: written, sent, acknowledged */
  int ctrl_blocked;
  int priority_update;       /* the profile's: a PRIORITY_UPDATE per request */
  int uni[3];                /* the profile's order of the uni streams */
  /* the QPACK decoder stream held back (the profile's qpack_decoder_stream_lazy)
   * until the server's encoder stream has an instruction for it */
  int64_t qdec_id, qenc_id;
  int qdec_held;
  int qdec_after_enc;        /* the decoder's type waits for the encoder's (Firefox: 6 then 10) */
  int64_t peer_enc_id;       /* the server's QPACK encoder stream, -1 before it is seen */
  /* state */
  int dirty;                 /* something happened since send() last had nothing */
  int handshake_done;
  int failed;                /* a GUISE_E_* code: the connection is over */
  gerr fail;
  int stateless_reset;
  int goaway;
  int64_t goaway_id;
  uint8_t close_pkt[SESSION_H3_MIN_DATAGRAM]; /* a CONNECTION_CLOSE to send */
  size_t close_len;
  int in_lib;                /* inside ngtcp2 or nghttp3: aborts wait (run_aborts) */
  int aborts_pending;
  h3_stream *streams;        /* every stream not yet freed */
  size_t n_open;             /* streams whose on_close has not run */
};

/* ---- time, randomness ---------------------------------------------------------- */

static uint64_t mono_ns(void *arg) {
  (void)arg;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static ngtcp2_tstamp now(const session_h3 *s) { return s->now_ns(s->now_arg); }

static uint64_t rand_u64(void) {
  uint64_t v;
  RAND_bytes((uint8_t *)&v, sizeof v);
  return v;
}

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  RAND_bytes(dest, len);
}

static void h3_rand_cb(uint8_t *dest, size_t len) { RAND_bytes(dest, len); }

/* ---- wire helpers ---------------------------------------------------------------- */

/* RFC 9000 16: the shortest variable-length integer. */
static int put_varint(CBB *b, uint64_t v) {
  if (v < 64) return CBB_add_u8(b, (uint8_t)v);
  if (v < 16384) return CBB_add_u16(b, (uint16_t)(0x4000 | v));
  if (v < (1u << 30)) return CBB_add_u32(b, (uint32_t)(0x80000000u | v));
  if (v < (1ull << 62)) return CBB_add_u64(b, 0xc000000000000000ull | v);
  return 0;
}

static size_t varint_len(uint64_t v) { return v < 64 ? 1 : v < 16384 ? 2 : v < (1u << 30) ? 4 : 8; }

/* An RFC 9287-style reserved id 0x1f*N+0x21 (RFC 9114 7.2.4.1, 7.2.8), N drawn
 * so that the id stays a varint. */
static uint64_t h3_grease_id(void) { return 0x1f * (rand_u64() % 0x7fffffffu) + 0x21; }

/* ---- transport parameters -------------------------------------------------------- */

/* The quic_transport_parameters extension body of |h| for a connection whose
 * Source Connection ID is |scid| (RFC 9000 18). */
static int encode_tp(session_h3 *s, const profile_http3 *h, const ngtcp2_cid *scid) {
  size_t order[PROFILE_H3_MAX_PARAMS];
  for (size_t i = 0; i < h->n_params; i++) order[i] = i;
  if (h->permute_params)
    for (size_t i = h->n_params; i > 1; i--) { /* Fisher-Yates */
      size_t j = (size_t)(rand_u64() % i), t = order[i - 1];
      order[i - 1] = order[j];
      order[j] = t;
    }
  CBB b;
  if (!CBB_init_fixed(&b, s->tp, sizeof s->tp)) return -1;
  int ok = 1;
  for (size_t k = 0; ok && k < h->n_params; k++) {
    const profile_h3_param *p = &h->params[order[k]];
    switch (p->kind) {
      case PROFILE_H3_PARAM_VALUE:
        ok = put_varint(&b, p->id) && put_varint(&b, varint_len(p->value)) && put_varint(&b, p->value);
        break;
      case PROFILE_H3_PARAM_DATA:
        ok = put_varint(&b, p->id) && put_varint(&b, p->len) && CBB_add_bytes(&b, p->data, p->len);
        break;
      case PROFILE_H3_PARAM_SCID:
        ok = put_varint(&b, p->id) && put_varint(&b, scid->datalen) &&
             CBB_add_bytes(&b, scid->data, scid->datalen);
        break;
      case PROFILE_H3_PARAM_VERSIONS: {
        ok = put_varint(&b, p->id) && put_varint(&b, 4 * p->n_versions);
        for (size_t i = 0; ok && i < p->n_versions; i++) {
          uint32_t v = p->versions[i];
          /* RFC 9000 15: a reserved version 0x?a?a?a?a */
          if (v == 0) v = ((uint32_t)rand_u64() & 0xf0f0f0f0u) | 0x0a0a0a0au;
          ok = CBB_add_u32(&b, v);
        }
        break;
      }
      case PROFILE_H3_PARAM_GREASE: {
        /* RFC 9000 18.1: 31*N+27 */
        uint64_t id = 31 * (rand_u64() % 0xffffffffu) + 27;
        size_t span = p->len_max >= p->len ? p->len_max - p->len + 1 : 1;
        size_t len = p->len + (size_t)(rand_u64() % span);
        uint8_t junk[PROFILE_H3_MAX_PARAM_DATA];
        if (len > sizeof junk) len = sizeof junk;
        RAND_bytes(junk, len);
        ok = put_varint(&b, id) && put_varint(&b, len) && CBB_add_bytes(&b, junk, len);
        break;
      }
      default:
        ok = 0;
    }
  }
  size_t len = 0;
  uint8_t *out = NULL;
  if (!ok || !CBB_finish(&b, &out, &len)) {
    CBB_cleanup(&b);
    return -1;
  }
  s->tp_len = len;
  return 0;
}

/* The values ngtcp2 enforces: the profile's (RFC 9000 18.2 ids). */
static void params_for_ngtcp2(const profile_http3 *h, ngtcp2_transport_params *tp) {
  ngtcp2_transport_params_default(tp);
  /* RFC 9000 18.2 defaults where the browser does not send one */
  tp->initial_max_streams_bidi = 0;
  tp->initial_max_streams_uni = 0;
  tp->initial_max_data = 0;
  for (size_t i = 0; i < h->n_params; i++) {
    const profile_h3_param *p = &h->params[i];
    if (p->kind != PROFILE_H3_PARAM_VALUE) continue;
    uint64_t v = p->value;
    switch (p->id) {
      case 0x01: tp->max_idle_timeout = v * NGTCP2_MILLISECONDS; break;
      case 0x03: tp->max_udp_payload_size = v; break;
      case 0x04: tp->initial_max_data = v; break;
      case 0x05: tp->initial_max_stream_data_bidi_local = v; break;
      case 0x06: tp->initial_max_stream_data_bidi_remote = v; break;
      case 0x07: tp->initial_max_stream_data_uni = v; break;
      case 0x08: tp->initial_max_streams_bidi = v; break;
      case 0x09: tp->initial_max_streams_uni = v; break;
      case 0x0a: tp->ack_delay_exponent = v; break;
      case 0x0b: tp->max_ack_delay = v * NGTCP2_MILLISECONDS; break;
      case 0x0e: tp->active_connection_id_limit = v; break;
      case 0x20: tp->max_datagram_frame_size = v; break;
      default: break;
    }
  }
}

/* ---- streams ---------------------------------------------------------------------- */

static void stream_unlink_free(h3_stream *st) {
  session_h3 *s = st->s;
  if (st->prev) st->prev->next = st->next;
  else s->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  free(st->hbuf);
  for (size_t i = 0; i < H3_BODY_CHUNKS; i++) free(st->chunk[i]);
  free(st);
}

/* Runs the stream's on_close once. */
static void stream_end(h3_stream *st, const gerr *e, int retryable) {
  if (st->user_closed) return;
  st->user_closed = 1;
  st->s->n_open--;
  gerr ok;
  gerr_clear(&ok);
  if (st->cb.on_close) st->cb.on_close(st->ud, e ? e : &ok, retryable);
}

static void stream_end_code(h3_stream *st, int code, const char *layer, int lib, const char *text,
                            int retryable) {
  gerr e;
  gerr_clear(&e);
  gerr_set(&e, code, layer, lib, "%s", text);
  stream_end(st, &e, retryable);
}

static h3_stream *find_stream(session_h3 *s, int64_t id) {
  for (h3_stream *st = s->streams; st; st = st->next)
    if (st->id == id) return st;
  return NULL;
}

/* Stops both directions of streams whose abort was asked. ngtcp2 may close a
 * stream from inside ngtcp2_conn_shutdown_stream (nghttp3 then frees its
 * stream and ours): never while ngtcp2 or nghttp3 is working on a stream, so
 * an abort asked from their callbacks waits for the op that called them. */
static void run_aborts(session_h3 *s) {
  while (s->aborts_pending && !s->in_lib) {
    s->aborts_pending = 0;
    for (h3_stream *st = s->streams, *next; st; st = next) {
      next = st->next; /* only |st| itself can be freed below */
      if (!st->abort_pending) continue;
      st->abort_pending = 0;
      s->in_lib++;
      if (s->h3) nghttp3_conn_shutdown_stream_read(s->h3, st->id);
      ngtcp2_conn_shutdown_stream(s->conn, 0, st->id, st->abort_code);
      s->in_lib--;
      s->dirty = 1;
    }
  }
}

static void stream_abort(session_h3 *s, h3_stream *st, uint64_t code) {
  st->abort_pending = 1;
  st->abort_code = code;
  s->aborts_pending = 1;
  run_aborts(s);
}

/* ---- the connection's end ----------------------------------------------------------- */

/* The connection is over: every open stream ends with |e|. */
static void fail_all(session_h3 *s, const gerr *e) {
  if (!s->failed) {
    s->failed = e->code ? e->code : GUISE_E_CONNECT_CLOSED;
    gerr_copy(&s->fail, e);
  }
  for (h3_stream *st = s->streams; st; st = st->next) stream_end(st, &s->fail, 0);
  if (s->host.set_timer) s->host.set_timer(s->host.arg, 0);
}

static void fail_code(session_h3 *s, int code, const char *layer, int lib, const char *prefix, const char *text) {
  gerr e;
  gerr_clear(&e);
  gerr_set(&e, code, layer, lib, "%s%s", prefix, text);
  fail_all(s, &e);
}

/* A CONNECTION_CLOSE for an error found here, sent by the next send(). */
static void queue_close(session_h3 *s, int liberr) {
  ngtcp2_ccerr cc;
  ngtcp2_ccerr_default(&cc);
  ngtcp2_ccerr_set_liberr(&cc, liberr, NULL, 0);
  ngtcp2_pkt_info pi;
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(s->conn, NULL, &pi, s->close_pkt,
                                                      s->udp_size, &cc, now(s));
  s->close_len = n > 0 ? (size_t)n : 0;
}

/* The TLS handshake failed: the certificate when it was the cause, else the
 * library's verdict (as filter_tls.c). */
static void fail_tls(session_h3 *s) {
  int code = s->verify ? tls_verify_error(s->ssl) : 0;
  char text[GERR_TEXT_MAX] = "TLS handshake failed";
  uint32_t e, first = 0;
  int alert = 0;
  while ((e = ERR_get_error()) != 0) {
    if (!first) {
      first = e;
      snprintf(text, sizeof text, "TLS library: %s", ERR_reason_error_string(e));
    }
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET) alert = 1;
  }
  if (code) {
    long vr = SSL_get_verify_result(s->ssl);
    snprintf(text, sizeof text, "certificate: %s", X509_verify_cert_error_string(vr));
  } else {
    code = alert ? GUISE_E_TLS_ALERT : GUISE_E_TLS_HANDSHAKE;
  }
  fail_code(s, code, "tls", (int)first, "", text);
}

/* ngtcp2's verdict |rv| from reading or writing, as the connection's end. */
static void fail_ngtcp2(session_h3 *s, int rv) {
  if (s->failed) return;
  if (rv == NGTCP2_ERR_CRYPTO) {
    queue_close(s, rv);
    fail_tls(s);
    return;
  }
  if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_CLOSING) {
    if (s->stateless_reset) {
      fail_code(s, GUISE_E_CONNECT_RESET, "quic", rv, "", "the server sent a stateless reset");
      return;
    }
    const ngtcp2_ccerr *cc = ngtcp2_conn_get_ccerr(s->conn);
    char text[GERR_TEXT_MAX];
    if (cc->type == NGTCP2_CCERR_TYPE_TRANSPORT && cc->error_code >= NGTCP2_CRYPTO_ERROR &&
        cc->error_code <= NGTCP2_CRYPTO_ERROR + 0xff) {
      /* RFC 9001 4.8: CRYPTO_ERROR carries the TLS alert the server's TLS raised */
      snprintf(text, sizeof text, "the server's TLS alert %u in its CONNECTION_CLOSE (QUIC CRYPTO_ERROR 0x%llx)",
               (unsigned)(cc->error_code - NGTCP2_CRYPTO_ERROR), (unsigned long long)cc->error_code);
      fail_code(s, GUISE_E_TLS_ALERT, "tls", rv, "", text);
      return;
    }
    /* The reason is the peer's bytes: at most 80, printable ASCII only ('?' for
     * any other byte), so no caller (log callback, record, Python) gets a control
     * character or broken UTF-8 from it. */
    char reason[81];
    size_t rn = cc->reason ? (cc->reasonlen > 80 ? 80 : cc->reasonlen) : 0;
    for (size_t i = 0; i < rn; i++) reason[i] = cc->reason[i] >= 0x20 && cc->reason[i] < 0x7f ? (char)cc->reason[i] : '?';
    reason[rn] = '\0';
    snprintf(text, sizeof text, "the server closed the QUIC connection (%s error 0x%llx%s%s)",
             cc->type == NGTCP2_CCERR_TYPE_APPLICATION ? "HTTP/3" : "transport",
             (unsigned long long)cc->error_code, rn ? ": " : "", reason);
    fail_code(s, GUISE_E_CONNECT_CLOSED, "quic", rv, "", text);
    return;
  }
  if (rv == NGTCP2_ERR_RECV_VERSION_NEGOTIATION) {
    fail_code(s, GUISE_E_CONNECT_FAILED, "quic", rv, "",
              "the server answered with Version Negotiation: it does not speak QUIC version 1");
    return;
  }
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    fail_code(s, s->handshake_done ? GUISE_E_TIMEOUT_IDLE : GUISE_E_TIMEOUT_TLS, "quic", rv, "",
              s->handshake_done ? "no packet from the server within the idle timeout"
                                : "the QUIC handshake did not complete within the idle timeout");
    return;
  }
  if (rv == NGTCP2_ERR_NOMEM) {
    fail_code(s, GUISE_E_NOMEM, "quic", rv, "", "out of memory");
    return;
  }
  queue_close(s, rv);
  fail_code(s, GUISE_E_HTTP_PROTOCOL, "quic", rv, "QUIC: ", ngtcp2_strerror(rv));
}

/* ---- nghttp3 callbacks -------------------------------------------------------------- */

static int h3_acked(nghttp3_conn *c, int64_t sid, uint64_t len, void *ud, void *sud) {
  (void)c, (void)sid, (void)ud;
  h3_stream *st = sud;
  if (st == NULL) return 0;
  /* nghttp3 reports the body's bytes acknowledged in order */
  while (len > 0 && st->ccount > 0) {
    size_t left = st->clen[st->chead] - st->head_acked;
    size_t take = len < left ? (size_t)len : left;
    st->head_acked += take;
    len -= take;
    if (st->head_acked == st->clen[st->chead]) {
      st->chead = (st->chead + 1) % H3_BODY_CHUNKS;
      st->ccount--;
      st->head_acked = 0;
    }
  }
  if (st->wait_ack && st->ccount < H3_BODY_CHUNKS) {
    st->wait_ack = 0;
    if (!st->paused) nghttp3_conn_resume_stream(c, sid);
  }
  return 0;
}

static int h3_stream_close(nghttp3_conn *c, int64_t sid, uint64_t code, void *ud, void *sud) {
  (void)c, (void)sid, (void)ud;
  h3_stream *st = sud;
  if (st == NULL) return 0;
  if (!st->user_closed) {
    if (code == H3_REQUEST_REJECTED)
      stream_end_code(st, GUISE_E_HTTP2_REFUSED, "http3", (int)code, "the server rejected the request "
                      "(H3_REQUEST_REJECTED); it was not processed", 1);
    else
      stream_end_code(st, GUISE_E_HTTP2_STREAM_RESET, "http3", (int)code,
                      "the stream closed before the whole response arrived", 0);
  }
  stream_unlink_free(st);
  return 0;
}

static int h3_recv_data(nghttp3_conn *c, int64_t sid, const uint8_t *data, size_t len, void *ud,
                        void *sud) {
  (void)c;
  session_h3 *s = ud;
  h3_stream *st = sud;
  /* DATA payload is not in what nghttp3_conn_read_stream reports consumed. */
  ngtcp2_conn_extend_max_stream_offset(s->conn, sid, len);
  ngtcp2_conn_extend_max_offset(s->conn, len);
  if (st == NULL || st->user_closed) return 0;
  int r = st->cb.on_data ? st->cb.on_data(st->ud, data, len) : 0;
  if (r) {
    stream_end_code(st, r < 0 ? r : GUISE_E_CANCELLED, "http3", 0, "", 0);
    stream_abort(s, st, H3_REQUEST_CANCELLED);
  }
  return 0;
}

static int h3_deferred_consume(nghttp3_conn *c, int64_t sid, size_t consumed, void *ud, void *sud) {
  (void)c, (void)sud;
  session_h3 *s = ud;
  ngtcp2_conn_extend_max_stream_offset(s->conn, sid, consumed);
  ngtcp2_conn_extend_max_offset(s->conn, consumed);
  return 0;
}

static int h3_begin_headers(nghttp3_conn *c, int64_t sid, void *ud, void *sud) {
  (void)c, (void)sid, (void)ud;
  h3_stream *st = sud;
  if (st == NULL) return 0;
  st->hlen = 0;
  st->nfields = 0;
  st->status = 0;
  st->block_err = 0;
  return 0;
}

static int h3_recv_header(nghttp3_conn *c, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *ud, void *sud) {
  (void)c, (void)sid, (void)token, (void)flags, (void)ud;
  h3_stream *st = sud;
  if (st == NULL || st->user_closed || st->block_err) return 0;
  nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
  if (n.len == 7 && memcmp(n.base, ":status", 7) == 0) {
    if (v.len != 3 || v.base[0] < '1' || v.base[0] > '5' || v.base[1] < '0' || v.base[1] > '9' ||
        v.base[2] < '0' || v.base[2] > '9')
      st->block_err = GUISE_E_HTTP_PROTOCOL;
    else
      st->status = (v.base[0] - '0') * 100 + (v.base[1] - '0') * 10 + (v.base[2] - '0');
    return 0;
  }
  if (n.len && n.base[0] == ':') return 0; /* other pseudo-headers: not given on */
  size_t need = n.len + v.len + 2;
  if (st->nfields == H3_HEADER_FIELDS_MAX || st->hlen + need > H3_HEADER_BYTES_MAX) {
    st->block_err = GUISE_E_HTTP_HEADERS_TOO_LARGE;
    return 0;
  }
  if (st->hlen + need > st->hcap) {
    size_t cap = st->hcap ? st->hcap : 1024;
    while (cap < st->hlen + need) cap *= 2;
    if (cap > H3_HEADER_BYTES_MAX) cap = H3_HEADER_BYTES_MAX;
    char *nb = realloc(st->hbuf, cap);
    if (nb == NULL) return NGHTTP3_ERR_NOMEM;
    st->hbuf = nb;
    st->hcap = cap;
  }
  size_t *o = st->hoff[st->nfields++];
  o[0] = st->hlen;
  o[1] = n.len;
  memcpy(st->hbuf + st->hlen, n.base, n.len);
  st->hlen += n.len;
  st->hbuf[st->hlen++] = 0;
  o[2] = st->hlen;
  o[3] = v.len;
  memcpy(st->hbuf + st->hlen, v.base, v.len);
  st->hlen += v.len;
  st->hbuf[st->hlen++] = 0;
  return 0;
}

static int deliver_head(session_h3 *s, h3_stream *st, int trailers) {
  if (st == NULL || st->user_closed) return 0;
  session_head_kind kind;
  const char *bad = NULL;
  if (st->block_err) {
    bad = st->block_err == GUISE_E_HTTP_HEADERS_TOO_LARGE ? "the response's header block is over 256 KiB or 256 fields"
                                                           : "malformed :status in the response";
  } else if (trailers) {
    kind = SESSION_HEAD_TRAILERS;
    st->status = 0;
  } else if (st->status == 0) {
    st->block_err = GUISE_E_HTTP_PROTOCOL;
    bad = "a response header block without :status";
  } else if (st->status < 200) {
    kind = SESSION_HEAD_INTERIM;
    if (st->final_seen || ++st->interim > H3_INTERIM_MAX) {
      st->block_err = GUISE_E_HTTP_PROTOCOL;
      bad = "more than 32 interim (1xx) responses, or one after the final response";
    }
  } else {
    kind = SESSION_HEAD_FINAL;
    if (st->final_seen) {
      st->block_err = GUISE_E_HTTP_PROTOCOL;
      bad = "a second final response on the stream";
    }
    st->final_seen = 1;
  }
  if (bad) {
    stream_end_code(st, st->block_err, "http3", 0, bad, 0);
    stream_abort(s, st, 0x101 /* H3_GENERAL_PROTOCOL_ERROR */);
    return 0;
  }
  session_header h[H3_HEADER_FIELDS_MAX];
  for (size_t i = 0; i < st->nfields; i++) {
    h[i].name = st->hbuf + st->hoff[i][0];
    h[i].name_len = st->hoff[i][1];
    h[i].value = st->hbuf + st->hoff[i][2];
    h[i].value_len = st->hoff[i][3];
  }
  int r = st->cb.on_head ? st->cb.on_head(st->ud, kind, st->status, h, st->nfields) : 0;
  if (r) {
    stream_end_code(st, r < 0 ? r : GUISE_E_CANCELLED, "http3", 0, "", 0);
    stream_abort(s, st, H3_REQUEST_CANCELLED);
  }
  return 0;
}

static int h3_end_headers(nghttp3_conn *c, int64_t sid, int fin, void *ud, void *sud) {
  (void)c, (void)sid, (void)fin;
  return deliver_head(ud, sud, 0);
}

static int h3_end_trailers(nghttp3_conn *c, int64_t sid, int fin, void *ud, void *sud) {
  (void)c, (void)sid, (void)fin;
  return deliver_head(ud, sud, 1);
}

static int h3_end_stream(nghttp3_conn *c, int64_t sid, void *ud, void *sud) {
  (void)c;
  session_h3 *s = ud;
  h3_stream *st = sud;
  if (st == NULL || st->user_closed) return 0;
  if (!st->final_seen) {
    stream_end_code(st, GUISE_E_HTTP_PROTOCOL, "http3", 0, "the stream ended without a final response", 0);
    return 0;
  }
  /* RFC 9114 4.1: a complete response before the whole request: stop sending
   * the body, without error. */
  if (st->has_body && !st->body_eof) ngtcp2_conn_shutdown_stream_write(s->conn, 0, sid, H3_NO_ERROR);
  stream_end(st, NULL, 0);
  return 0;
}

static int h3_stop_sending(nghttp3_conn *c, int64_t sid, uint64_t code, void *ud, void *sud) {
  (void)c, (void)sud;
  session_h3 *s = ud;
  ngtcp2_conn_shutdown_stream_read(s->conn, 0, sid, code);
  return 0;
}

static int h3_reset_stream(nghttp3_conn *c, int64_t sid, uint64_t code, void *ud, void *sud) {
  (void)c, (void)sud;
  session_h3 *s = ud;
  ngtcp2_conn_shutdown_stream_write(s->conn, 0, sid, code);
  return 0;
}

/* GOAWAY (RFC 9114 5.2): no new request; those from |id| on were not processed. */
static int h3_shutdown(nghttp3_conn *c, int64_t id, void *ud) {
  (void)c;
  session_h3 *s = ud;
  s->goaway = 1;
  s->goaway_id = id;
  for (h3_stream *st = s->streams; st; st = st->next)
    if (st->id >= id && !st->user_closed) {
      stream_end_code(st, GUISE_E_HTTP2_GOAWAY, "http3", 0,
                      "the server's GOAWAY: the request was not processed", 1);
      stream_abort(s, st, H3_REQUEST_CANCELLED);
    }
  return 0;
}

/* The body's next chunk for nghttp3, kept until acknowledged. */
static nghttp3_ssize h3_read_body(nghttp3_conn *c, int64_t sid, nghttp3_vec *vec, size_t veccnt, uint32_t *pflags,
                                  void *ud, void *sud) {
  (void)c, (void)sid, (void)veccnt;
  session_h3 *s = ud;
  h3_stream *st = sud;
  if (st == NULL || st->user_closed || st->paused) return NGHTTP3_ERR_WOULDBLOCK;
  if (st->ccount == H3_BODY_CHUNKS) { /* none acknowledged yet */
    st->wait_ack = 1;
    return NGHTTP3_ERR_WOULDBLOCK;
  }
  size_t k = (st->chead + st->ccount) % H3_BODY_CHUNKS;
  if (st->chunk[k] == NULL && (st->chunk[k] = malloc(H3_BODY_CHUNK)) == NULL) {
    stream_end_code(st, GUISE_E_NOMEM, "http3", 0, "out of memory", 0);
    stream_abort(s, st, H3_REQUEST_CANCELLED);
    return NGHTTP3_ERR_WOULDBLOCK;
  }
  int eof = 0;
  long r = st->body.read(st->body.arg, st->chunk[k], H3_BODY_CHUNK, &eof);
  if (r == H2_BODY_PAUSE || (r == 0 && !eof)) {
    st->paused = 1;
    return NGHTTP3_ERR_WOULDBLOCK;
  }
  if (r < 0 || (size_t)r > H3_BODY_CHUNK) {
    stream_end_code(st, r < 0 ? (int)r : GUISE_E_INTERNAL, "http3", 0, "the request body could not be read", 0);
    stream_abort(s, st, H3_REQUEST_CANCELLED);
    return NGHTTP3_ERR_WOULDBLOCK;
  }
  if (eof) {
    st->body_eof = 1;
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
  }
  if (r == 0) return 0;
  st->clen[k] = (size_t)r;
  st->ccount++;
  vec[0].base = st->chunk[k];
  vec[0].len = (size_t)r;
  return 1;
}

/* ---- ngtcp2 callbacks ---------------------------------------------------------------- */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) { return ((session_h3 *)ref->user_data)->conn; }

/* RFC 9001 4.1: the client's first flight, with the profile's transport
 * parameters instead of ngtcp2's encoding of its own. */
static int client_initial(ngtcp2_conn *conn, void *ud) {
  session_h3 *s = ud;
  if (ngtcp2_crypto_derive_and_install_initial_key(conn, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                                   ngtcp2_conn_get_client_chosen_version(conn),
                                                   ngtcp2_conn_get_dcid(conn)) != 0 ||
      SSL_set_quic_transport_params(s->ssl, s->tp, s->tp_len) != 1 ||
      ngtcp2_crypto_read_write_crypto_data(conn, NGTCP2_ENCRYPTION_LEVEL_INITIAL, NULL, 0) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *ud) {
  (void)conn, (void)ud;
  RAND_bytes(cid->data, cidlen);
  cid->datalen = cidlen;
  RAND_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
  return 0;
}

/* The control stream's first flight (RFC 9114 6.2.1, 7.2.4): type 0x00,
 * SETTINGS in the profile's order, then a reserved frame type of one byte as
 * Chromium 156 and Firefox 153 send after SETTINGS (their HTTP/3 logs,
 * tests/data/captures/quic/ *-h3-*.jsonl). */
static int write_control(session_h3 *s, const profile_http3 *h) {
  CBB b;
  if (!CBB_init_fixed(&b, s->ctrl, H3_CTRL_FIRST)) return -1;
  uint8_t body[H3_CTRL_FIRST];
  CBB set;
  if (!CBB_init_fixed(&set, body, sizeof body)) return -1;
  int ok = 1;
  for (size_t i = 0; ok && i < h->n_settings; i++) {
    const profile_h3_setting *st = &h->settings[i];
    if (st->grease)
      ok = put_varint(&set, h3_grease_id()) && put_varint(&set, (uint32_t)rand_u64());
    else
      ok = put_varint(&set, st->id) && put_varint(&set, st->value);
  }
  uint8_t *setp = NULL;
  size_t setlen = 0;
  ok = ok && CBB_finish(&set, &setp, &setlen);
  uint8_t junk;
  RAND_bytes(&junk, 1);
  ok = ok && put_varint(&b, 0x00) && put_varint(&b, 0x04) && put_varint(&b, setlen) &&
       CBB_add_bytes(&b, body, setlen) && put_varint(&b, h3_grease_id()) && put_varint(&b, 1) &&
       CBB_add_u8(&b, junk);
  uint8_t *out = NULL;
  size_t len = 0;
  if (!ok || !CBB_finish(&b, &out, &len)) {
    CBB_cleanup(&b);
    return -1;
  }
  s->ctrl_len = len;
  return 0;
}

/* After the handshake: the HTTP/3 connection, its control stream (ours) and
 * the QPACK streams (nghttp3's). */
static int setup_h3(session_h3 *s) {
  static const nghttp3_callbacks cb = {
      .acked_stream_data = h3_acked,
      .stream_close = h3_stream_close,
      .recv_data = h3_recv_data,
      .deferred_consume = h3_deferred_consume,
      .begin_headers = h3_begin_headers,
      .recv_header = h3_recv_header,
      .end_headers = h3_end_headers,
      .begin_trailers = h3_begin_headers,
      .recv_trailer = h3_recv_header,
      .end_trailers = h3_end_trailers,
      .stop_sending = h3_stop_sending,
      .end_stream = h3_end_stream,
      .reset_stream = h3_reset_stream,
      .shutdown = h3_shutdown,
      .rand = h3_rand_cb,
  };
  if (s->h3) return 0;
  if (ngtcp2_conn_get_streams_uni_left(s->conn) < 3) return GUISE_E_HTTP_PROTOCOL;
  if (nghttp3_conn_client_new(&s->h3, &cb, &s->h3set, NULL, s) != 0) return GUISE_E_NOMEM;
  /* In the profile's order (Chromium: control 2, decoder 6, encoder 10). */
  int64_t ids[3];
  for (int i = 0; i < 3; i++)
    if (ngtcp2_conn_open_uni_stream(s->conn, &ids[s->uni[i]], NULL) != 0) return GUISE_E_HTTP_PROTOCOL;
  s->ctrl_id = ids[PROFILE_H3_UNI_CONTROL];
  s->qdec_id = ids[PROFILE_H3_UNI_QPACK_DECODER];
  s->qenc_id = ids[PROFILE_H3_UNI_QPACK_ENCODER];
  if (nghttp3_conn_bind_qpack_streams(s->h3, s->qenc_id, s->qdec_id) != 0) return GUISE_E_HTTP_PROTOCOL;
  /* nghttp3 writes the decoder stream before the encoder stream; a browser
   * that opens the encoder first (Firefox 153: its type on stream 6 comes
   * before the decoder's on 10) has the decoder wait for it (send_one). */
  s->qdec_after_enc = s->qenc_id < s->qdec_id;
  if (s->qdec_after_enc) nghttp3_conn_block_stream(s->h3, s->qdec_id);
  /* Chromium sends nothing on its decoder stream, not even the type, until it
   * has an instruction (tests/data/captures/quic/chromium-h3-*.jsonl: stream 6
   * never seen, 10 the encoder's): nghttp3 writes the type at once, so the
   * stream stays blocked for nghttp3 until the server's encoder stream carries
   * an instruction (peer_encoder_data). */
  if (s->qdec_held) nghttp3_conn_block_stream(s->h3, s->qdec_id);
  return 0;
}

static int handshake_completed(ngtcp2_conn *conn, void *ud) {
  (void)conn;
  session_h3 *s = ud;
  const uint8_t *alpn = NULL;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(s->ssl, &alpn, &alpn_len);
  if (alpn_len != 2 || memcmp(alpn, "h3", 2) != 0) {
    /* RFC 9001 8.1: no_application_protocol */
    ngtcp2_ccerr cc;
    ngtcp2_ccerr_default(&cc);
    ngtcp2_ccerr_set_tls_alert(&cc, 120, NULL, 0);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize w = ngtcp2_conn_write_connection_close(s->conn, NULL, &pi, s->close_pkt, s->udp_size, &cc, now(s));
    s->close_len = w > 0 ? (size_t)w : 0;
    fail_code(s, GUISE_E_TLS_HANDSHAKE, "tls", 0, "", "the server did not choose ALPN h3");
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  int e = setup_h3(s);
  if (e) {
    fail_code(s, e, "http3", 0, "", "the HTTP/3 connection could not be set up (the server allows fewer than 3 unidirectional streams)");
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  s->handshake_done = 1;
  return 0;
}

/* A held decoder stream goes when the server's encoder stream (RFC 9204 4.2:
 * type 0x02) has bytes after its type: only an encoder instruction can make
 * the decoder write (an Insert Count Increment, a Section Acknowledgment or a
 * Stream Cancellation all need entries inserted). ngtcp2 gives stream data in
 * order, so the type is at offset 0 of the server's first bytes. */
static void peer_encoder_data(session_h3 *s, int64_t sid, uint64_t offset, const uint8_t *data, size_t len) {
  if (!s->qdec_held || (sid & 0x3) != 0x3 || len == 0) return;
  if (offset == 0 && s->peer_enc_id < 0) {
    /* the stream type, a variable-length integer (RFC 9000 16) */
    CBS c;
    uint8_t b0;
    uint64_t type = 0;
    CBS_init(&c, data, len);
    if (!CBS_get_u8(&c, &b0)) return;
    type = b0 & 0x3f;
    int cut = 0;
    for (size_t i = 1; !cut && i < ((size_t)1 << (b0 >> 6)); i++) {
      uint8_t b = 0;
      cut = !CBS_get_u8(&c, &b); /* a type cut by the packet: unknown, the decoder goes */
      type = type << 8 | b;
    }
    if (!cut) {
      if (type != 0x02) return;
      s->peer_enc_id = sid;
      if (CBS_len(&c) == 0) return;
    }
  } else if (sid != s->peer_enc_id) {
    return;
  }
  s->qdec_held = 0;
  if (!s->qdec_after_enc) nghttp3_conn_unblock_stream(s->h3, s->qdec_id);
}

static int recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t offset, const uint8_t *data,
                            size_t len, void *ud, void *sud) {
  (void)sud;
  session_h3 *s = ud;
  /* 1-RTT stream data may be read in the datagram that completes the handshake */
  int e = setup_h3(s);
  if (e) {
    fail_code(s, e, "http3", 0, "", "the HTTP/3 connection could not be set up");
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  peer_encoder_data(s, sid, offset, data, len);
  nghttp3_ssize n = nghttp3_conn_read_stream2(s->h3, sid, data, len, flags & NGTCP2_STREAM_DATA_FLAG_FIN, now(s));
  if (n < 0) {
    ngtcp2_ccerr cc;
    ngtcp2_ccerr_default(&cc);
    ngtcp2_ccerr_set_application_error(&cc, nghttp3_err_infer_quic_app_error_code((int)n), NULL, 0);
    fail_code(s, n == NGHTTP3_ERR_NOMEM ? GUISE_E_NOMEM : GUISE_E_HTTP_PROTOCOL, "http3", (int)n, "HTTP/3: %s",
              nghttp3_strerror((int)n));
    ngtcp2_pkt_info pi;
    ngtcp2_ssize w = ngtcp2_conn_write_connection_close(s->conn, NULL, &pi, s->close_pkt, s->udp_size, &cc, now(s));
    s->close_len = w > 0 ? (size_t)w : 0;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  ngtcp2_conn_extend_max_stream_offset(conn, sid, (uint64_t)n);
  ngtcp2_conn_extend_max_offset(conn, (uint64_t)n);
  return 0;
}

static int acked_stream_data_offset(ngtcp2_conn *conn, int64_t sid, uint64_t offset, uint64_t len, void *ud,
                                    void *sud) {
  (void)conn, (void)offset, (void)sud;
  session_h3 *s = ud;
  if (sid == s->ctrl_id) { /* in order (ngtcp2 reports the acknowledged prefix) */
    if (offset + len > s->ctrl_acked) s->ctrl_acked = offset + len;
    return 0;
  }
  if (s->h3 && nghttp3_conn_add_ack_offset(s->h3, sid, len) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t sid, uint64_t code, void *ud, void *sud) {
  (void)conn, (void)sud;
  session_h3 *s = ud;
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) code = H3_NO_ERROR;
  if (s->h3) {
    int rv = nghttp3_conn_close_stream(s->h3, sid, code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

/* The server reset its side of a stream (RFC 9000 19.4): the response will not
 * come; a rejected request (RFC 9114 8.1) can go again elsewhere. */
static int stream_reset(ngtcp2_conn *conn, int64_t sid, uint64_t final_size, uint64_t code, void *ud, void *sud) {
  (void)conn, (void)final_size, (void)sud;
  session_h3 *s = ud;
  h3_stream *st = find_stream(s, sid);
  if (st && !st->user_closed) {
    char text[GERR_TEXT_MAX];
    snprintf(text, sizeof text, "the server reset the stream (HTTP/3 error 0x%llx)%s", (unsigned long long)code,
             code == H3_REQUEST_REJECTED ? ": the request was not processed" : "");
    stream_end_code(st, code == H3_REQUEST_REJECTED ? GUISE_E_HTTP2_REFUSED : GUISE_E_HTTP2_STREAM_RESET, "http3",
                    (int)code, text, code == H3_REQUEST_REJECTED);
    ngtcp2_conn_shutdown_stream_write(s->conn, 0, sid, H3_REQUEST_CANCELLED);
  }
  if (s->h3 && nghttp3_conn_shutdown_stream_read(s->h3, sid) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int stream_stop_sending(ngtcp2_conn *conn, int64_t sid, uint64_t code, void *ud, void *sud) {
  (void)conn, (void)code, (void)sud;
  session_h3 *s = ud;
  if (s->h3 && nghttp3_conn_shutdown_stream_read(s->h3, sid) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int extend_max_stream_data(ngtcp2_conn *conn, int64_t sid, uint64_t max, void *ud, void *sud) {
  (void)conn, (void)max, (void)sud;
  session_h3 *s = ud;
  if (sid == s->ctrl_id) {
    s->ctrl_blocked = 0;
    return 0;
  }
  if (sid == s->qdec_id && (s->qdec_held || s->qdec_after_enc)) return 0;
  if (s->h3 && nghttp3_conn_unblock_stream(s->h3, sid) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int recv_stateless_reset(ngtcp2_conn *conn, const ngtcp2_pkt_stateless_reset *sr, void *ud) {
  (void)conn, (void)sr;
  ((session_h3 *)ud)->stateless_reset = 1;
  return 0;
}

/* ---- ops -------------------------------------------------------------------------------- */

static void arm_timer(session_h3 *s) {
  if (s->host.set_timer == NULL) return;
  if (s->failed) {
    s->host.set_timer(s->host.arg, 0);
    return;
  }
  ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(s->conn), t = now(s);
  if (exp == UINT64_MAX) {
    s->host.set_timer(s->host.arg, 0);
    return;
  }
  uint64_t ms = exp > t ? (exp - t + NGTCP2_MILLISECONDS - 1) / NGTCP2_MILLISECONDS : 1;
  if (ms == 0) ms = 1;
  if (ms > 0x7fffffff) ms = 0x7fffffff;
  s->host.set_timer(s->host.arg, (unsigned)ms);
}

/* Chromium's PRIORITY_UPDATE (RFC 9218 7.2, type 0xf0700) for a request
 * stream: its id and the request's priority field, on the control stream
 * before the request's HEADERS go (send_one writes the control stream first).
 * Chromium 156 sends one per request with a priority field
 * (tests/data/captures/quic/chromium-h3-*.jsonl: GET / "u=0, i", the favicon
 * "u=1, i"); none without one. */
static void priority_update(session_h3 *s, int64_t sid, const session_request *r) {
  const session_header *pf = NULL;
  for (size_t i = 0; i < r->n_headers; i++)
    if (r->headers[i].name_len == 8 && memcmp(r->headers[i].name, "priority", 8) == 0) pf = &r->headers[i];
  if (pf == NULL || pf->value_len == 0 || pf->value_len > H3_PRIORITY_VALUE_MAX) return;
  uint8_t frame[16 + H3_PRIORITY_VALUE_MAX];
  CBB b;
  uint8_t *out = NULL;
  size_t len = 0;
  if (!CBB_init_fixed(&b, frame, sizeof frame)) return;
  if (!put_varint(&b, 0xf0700) || !put_varint(&b, varint_len((uint64_t)sid) + pf->value_len) ||
      !put_varint(&b, (uint64_t)sid) || !CBB_add_bytes(&b, (const uint8_t *)pf->value, pf->value_len) ||
      !CBB_finish(&b, &out, &len)) {
    CBB_cleanup(&b);
    return;
  }
  if (s->ctrl_len - s->ctrl_acked + len > H3_CTRL_MAX) return; /* no room: the frame is advice */
  for (size_t i = 0; i < len; i++) s->ctrl[(s->ctrl_len + i) % H3_CTRL_MAX] = frame[i];
  s->ctrl_len += len;
}

static int h3s_submit(session *ss, const session_request *r, const session_stream_callbacks *cb, void *ud,
                      uint32_t *stream) {
  session_h3 *s = (session_h3 *)ss;
  if (stream) *stream = 0;
  if (r == NULL || cb == NULL || r->method == NULL || r->scheme == NULL || r->authority == NULL || r->path == NULL)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (s->failed) return s->failed;
  if (s->goaway) return GUISE_E_HTTP2_GOAWAY;
  if (!s->handshake_done || s->n_open >= s->max_streams || r->n_headers > 1024)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  h3_stream *st = calloc(1, sizeof(*st));
  nghttp3_nv *nva = calloc(4 + r->n_headers, sizeof(*nva));
  if (st == NULL || nva == NULL) {
    free(st);
    free(nva);
    return GUISE_E_NOMEM;
  }
  const char *pv[4] = {r->method, r->scheme, r->authority, r->path};
  static const char *const pn[4] = {":method", ":scheme", ":authority", ":path"};
  size_t n = 0;
  for (int i = 0; i < 4; i++) {
    int k = s->pseudo[i];
    nva[n++] = (nghttp3_nv){(uint8_t *)pn[k], (uint8_t *)pv[k], strlen(pn[k]), strlen(pv[k]), NGHTTP3_NV_FLAG_NONE};
  }
  for (size_t i = 0; i < r->n_headers; i++)
    nva[n++] = (nghttp3_nv){(uint8_t *)r->headers[i].name, (uint8_t *)r->headers[i].value, r->headers[i].name_len,
                            r->headers[i].value_len, NGHTTP3_NV_FLAG_NONE};
  int64_t sid;
  int rv = ngtcp2_conn_open_bidi_stream(s->conn, &sid, NULL);
  if (rv != 0) {
    free(st);
    free(nva);
    return rv == NGTCP2_ERR_STREAM_ID_BLOCKED ? GUISE_E_USAGE_INVALID_ARGUMENT : GUISE_E_NOMEM;
  }
  if (s->priority_update) priority_update(s, sid, r);
  st->s = s;
  st->id = sid;
  st->cb = *cb;
  st->ud = ud;
  nghttp3_data_reader dr = {h3_read_body};
  if (r->body) {
    st->body = *r->body;
    st->has_body = 1;
  }
  rv = nghttp3_conn_submit_request(s->h3, sid, nva, n, r->body ? &dr : NULL, st);
  free(nva); /* nghttp3 copied the fields */
  if (rv != 0) {
    ngtcp2_conn_shutdown_stream(s->conn, 0, sid, H3_REQUEST_CANCELLED);
    free(st);
    return rv == NGHTTP3_ERR_NOMEM ? GUISE_E_NOMEM : GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  st->next = s->streams;
  if (s->streams) s->streams->prev = st;
  s->streams = st;
  s->n_open++;
  s->dirty = 1;
  if (stream) *stream = (uint32_t)sid;
  return 0;
}

static int h3s_recv(session *ss, const uint8_t *p, size_t n) {
  session_h3 *s = (session_h3 *)ss;
  if (s->failed) return s->failed;
  ngtcp2_pkt_info pi = {0};
  s->dirty = 1;
  s->in_lib++;
  int rv = ngtcp2_conn_read_pkt(s->conn, &s->path, &pi, p, n, now(s));
  s->in_lib--;
  if (rv != 0) {
    if (rv == NGTCP2_ERR_CALLBACK_FAILURE && s->failed) return s->failed;
    fail_ngtcp2(s, rv);
    if (s->failed) return s->failed;
  }
  run_aborts(s);
  arm_timer(s);
  return 0;
}

/* The encoder stream's type is in a packet: a decoder stream waiting for it
 * may go (unless it is held until it has an instruction). */
static void encoder_written(session_h3 *s, int64_t sid, ngtcp2_ssize ndata) {
  if (!s->qdec_after_enc || sid != s->qenc_id || ndata <= 0) return;
  s->qdec_after_enc = 0;
  if (!s->qdec_held) nghttp3_conn_unblock_stream(s->h3, s->qdec_id);
}

/* One datagram: the pending CONNECTION_CLOSE, or what ngtcp2 has, with our
 * control stream and nghttp3's streams' data. */
static int send_one(session_h3 *s, uint8_t *out, size_t cap, size_t *n) {
  *n = 0;
  if (s->close_len) {
    if (cap < s->close_len) return GUISE_E_USAGE_INVALID_ARGUMENT;
    memcpy(out, s->close_pkt, s->close_len);
    *n = s->close_len;
    s->close_len = 0;
    return 0;
  }
  if (s->failed) return 0;
  if (cap < SESSION_H3_MIN_DATAGRAM) return GUISE_E_USAGE_INVALID_ARGUMENT;
  size_t dlen = s->udp_size;
  /* "zeros" (Firefox): the packets of a datagram with an Initial end at
   * ngtcp2's 1200 bytes and zero bytes fill the datagram to the profile's size
   * (RFC 9000 14.1 allows padding a datagram after its packets). */
  int zero_fill = s->zero_padding && !s->handshake_done && s->udp_size > 1200;
  if (zero_fill) dlen = 1200;
  ngtcp2_tstamp ts = now(s);
  for (int guard = 0; guard < 4096; guard++) {
    int64_t sid = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize cnt = 0;
    int ctrl = 0;
    if (s->h3 && s->ctrl_sent < s->ctrl_len && !s->ctrl_blocked) {
      /* the ring's unsent bytes: up to its end, then from its start */
      size_t at = (size_t)(s->ctrl_sent % H3_CTRL_MAX), left = (size_t)(s->ctrl_len - s->ctrl_sent);
      sid = s->ctrl_id;
      vec[0].base = s->ctrl + at;
      vec[0].len = left < H3_CTRL_MAX - at ? left : H3_CTRL_MAX - at;
      cnt = 1;
      if (vec[0].len < left) {
        vec[1].base = s->ctrl;
        vec[1].len = left - vec[0].len;
        cnt = 2;
      }
      ctrl = 1;
    } else if (s->h3 && ngtcp2_conn_get_max_data_left(s->conn) > 0) {
      cnt = nghttp3_conn_writev_stream(s->h3, &sid, &fin, vec, 16);
      if (cnt < 0) {
        fail_code(s, GUISE_E_HTTP_PROTOCOL, "http3", (int)cnt, "HTTP/3: ", nghttp3_strerror((int)cnt));
        return s->failed;
      }
    }
    ngtcp2_ssize ndata = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize w = ngtcp2_conn_writev_stream(s->conn, NULL, &pi, out, dlen, &ndata, flags, sid,
                                               (const ngtcp2_vec *)vec, (size_t)cnt, ts);
    if (w < 0) {
      if (w == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        if (ctrl) s->ctrl_blocked = 1;
        else nghttp3_conn_block_stream(s->h3, sid);
        continue;
      }
      if (w == NGTCP2_ERR_STREAM_SHUT_WR) {
        if (ctrl) {
          fail_code(s, GUISE_E_HTTP_PROTOCOL, "http3", 0, "", "the server stopped our control stream");
          return s->failed;
        }
        nghttp3_conn_shutdown_stream_write(s->h3, sid);
        continue;
      }
      if (w == NGTCP2_ERR_WRITE_MORE) {
        if (ctrl) s->ctrl_sent += (uint64_t)ndata;
        else if (nghttp3_conn_add_write_offset(s->h3, sid, (uint64_t)ndata) != 0) return GUISE_E_NOMEM;
        encoder_written(s, sid, ndata);
        continue;
      }
      if (w == NGTCP2_ERR_CALLBACK_FAILURE && s->failed) return s->failed;
      fail_ngtcp2(s, (int)w);
      return s->failed;
    }
    if (ndata >= 0) {
      if (ctrl) s->ctrl_sent += (uint64_t)ndata;
      else if (nghttp3_conn_add_write_offset(s->h3, sid, (uint64_t)ndata) != 0) return GUISE_E_NOMEM;
      encoder_written(s, sid, ndata);
    }
    *n = (size_t)w;
    if (w == 0) s->dirty = 0;
    if (zero_fill && w > 0 && (out[0] & 0xf0) == 0xc0 /* v1 long header, Initial */) {
      memset(out + w, 0, s->udp_size - (size_t)w);
      *n = s->udp_size;
    }
    break;
  }
  ngtcp2_conn_update_pkt_tx_time(s->conn, ts);
  arm_timer(s);
  return 0;
}

static int h3s_send(session *ss, uint8_t *out, size_t cap, size_t *n) {
  session_h3 *s = (session_h3 *)ss;
  s->in_lib++; /* a body's read() may end its stream inside nghttp3 */
  int e = send_one(s, out, cap, n);
  s->in_lib--;
  if (!s->failed) run_aborts(s);
  return e;
}

static int h3s_want_write(const session *ss) {
  const session_h3 *s = (const session_h3 *)ss;
  if (s->close_len) return 1;
  if (s->failed) return 0;
  /* ngtcp2 has no "anything to send?" question: after anything that may make
   * a datagram (a datagram in, a request, a timer, a cancel) the answer is
   * yes until send() finds nothing (ngtcp2's pacing and ACK delay come back
   * through the timer). */
  return s->dirty;
}

static size_t h3s_capacity(const session *ss) {
  const session_h3 *s = (const session_h3 *)ss;
  if (s->failed || s->goaway || !s->handshake_done) return 0;
  size_t room = s->n_open < s->max_streams ? s->max_streams - s->n_open : 0;
  uint64_t left = ngtcp2_conn_get_streams_bidi_left(s->conn);
  return left < room ? (size_t)left : room;
}

static size_t h3s_open_streams(const session *ss) { return ((const session_h3 *)ss)->n_open; }

static int h3s_alive(const session *ss) {
  const session_h3 *s = (const session_h3 *)ss;
  if (s->close_len) return 1; /* a CONNECTION_CLOSE still to send */
  if (s->failed) return 0;
  if (s->goaway && s->n_open == 0) return 0;
  return 1;
}

static void h3s_cancel(session *ss, uint32_t stream) {
  session_h3 *s = (session_h3 *)ss;
  h3_stream *st = find_stream(s, stream);
  if (st == NULL || st->user_closed) return;
  stream_end_code(st, GUISE_E_CANCELLED, "http3", 0, "", 0);
  if (!s->failed) stream_abort(s, st, H3_REQUEST_CANCELLED);
  s->dirty = 1;
}

static void h3s_eof(session *ss, const gerr *why) {
  session_h3 *s = (session_h3 *)ss;
  gerr e;
  gerr_clear(&e);
  if (why && why->code) gerr_copy(&e, why);
  else gerr_set(&e, GUISE_E_CONNECT_CLOSED, "quic", 0, "%s", "the UDP socket closed");
  fail_all(s, &e);
}

static void h3s_timeout(session *ss) {
  session_h3 *s = (session_h3 *)ss;
  if (s->failed) return;
  s->dirty = 1;
  s->in_lib++;
  int rv = ngtcp2_conn_handle_expiry(s->conn, now(s));
  s->in_lib--;
  if (rv != 0) {
    fail_ngtcp2(s, rv);
    return;
  }
  run_aborts(s);
  arm_timer(s);
}

static int h3s_resume(session *ss, uint32_t stream) {
  session_h3 *s = (session_h3 *)ss;
  h3_stream *st = find_stream(s, stream);
  if (s->failed || st == NULL || st->user_closed || !st->paused) return GUISE_E_USAGE_INVALID_ARGUMENT;
  st->paused = 0;
  s->dirty = 1;
  if (!st->wait_ack) nghttp3_conn_resume_stream(s->h3, st->id);
  return 0;
}

static void h3s_free(session *ss) {
  session_h3 *s = (session_h3 *)ss;
  gerr e;
  gerr_clear(&e);
  gerr_set(&e, GUISE_E_CANCELLED, "quic", 0, "%s", "the connection was closed");
  for (h3_stream *st = s->streams; st; st = st->next) stream_end(st, &e, 0);
  while (s->streams) stream_unlink_free(s->streams);
  nghttp3_conn_del(s->h3);
  ngtcp2_conn_del(s->conn);
  SSL_free(s->ssl);
  SSL_CTX_free(s->ctx);
  free(s);
}

static const session_ops h3s_ops = {
    .proto = SESSION_H3,
    .name = "HTTP/3",
    .submit = h3s_submit,
    .recv = h3s_recv,
    .send = h3s_send,
    .want_write = h3s_want_write,
    .capacity = h3s_capacity,
    .open_streams = h3s_open_streams,
    .alive = h3s_alive,
    .cancel = h3s_cancel,
    .eof = h3s_eof,
    .timeout = h3s_timeout,
    .free = h3s_free,
    .resume = h3s_resume,
};

int session_h3_close(session *ss) {
  if (ss == NULL || ss->ops != &h3s_ops) return GUISE_E_USAGE_INVALID_ARGUMENT;
  session_h3 *s = (session_h3 *)ss;
  if (s->failed) return 0;
  ngtcp2_ccerr cc;
  ngtcp2_ccerr_default(&cc);
  if (s->handshake_done) ngtcp2_ccerr_set_application_error(&cc, H3_NO_ERROR, NULL, 0);
  ngtcp2_pkt_info pi;
  ngtcp2_ssize w = ngtcp2_conn_write_connection_close(s->conn, NULL, &pi, s->close_pkt, s->udp_size, &cc, now(s));
  s->close_len = w > 0 ? (size_t)w : 0;
  fail_code(s, GUISE_E_CANCELLED, "quic", 0, "", "the connection was closed");
  return 0;
}

const gerr *session_h3_failure(const session *ss) {
  if (ss == NULL || ss->ops != &h3s_ops) return NULL;
  const session_h3 *s = (const session_h3 *)ss;
  return s->failed ? &s->fail : NULL;
}

int session_h3_tls_info(const session *ss, const char **version, const char **cipher, const char **group) {
  if (ss == NULL || ss->ops != &h3s_ops) return GUISE_E_USAGE_INVALID_ARGUMENT;
  const session_h3 *s = (const session_h3 *)ss;
  const SSL_CIPHER *c = s->handshake_done ? SSL_get_current_cipher(s->ssl) : NULL;
  if (c == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  const char *g = SSL_get_curve_name(SSL_get_curve_id(s->ssl));
  if (version) *version = SSL_get_version(s->ssl);
  if (cipher) *cipher = SSL_CIPHER_standard_name(c);
  if (group) *group = g ? g : "";
  return 0;
}

/* ---- making one ------------------------------------------------------------------------- */

SSL_CTX *session_h3_ctx_new(const profile *p, const tls_client_config *cfg, int *err, const char **why) {
  if (p == NULL || cfg == NULL || !p->h3.present) {
    *err = GUISE_E_PROFILE_UNSUPPORTED;
    *why = "the profile has no http3 section";
    return NULL;
  }
  tls_client_config c = *cfg;
  c.shape = &p->h3.tls;
  SSL_CTX *ctx = tls_client_ctx_new(&c, err, why);
  if (ctx == NULL) return NULL;
  if (ngtcp2_crypto_boringssl_configure_client_context(ctx) != 0) {
    SSL_CTX_free(ctx);
    *err = GUISE_E_NOMEM;
    *why = "the TLS context could not be made ready for QUIC";
    return NULL;
  }
  return ctx;
}

static int is_ip_literal(const char *name) {
  uint8_t buf[16];
  return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static int draw_len(int lo, int hi) {
  if (hi < lo) hi = lo;
  return lo + (int)(rand_u64() % (uint64_t)(hi - lo + 1));
}

int session_h3_new(const session_h3_config *cfg, const session_host *host, session **out) {
  *out = NULL;
  if (cfg == NULL || cfg->profile == NULL || !cfg->profile->h3.present || cfg->ctx == NULL || cfg->remote == NULL ||
      cfg->local == NULL || cfg->remote_len > sizeof(struct sockaddr_storage) ||
      cfg->local_len > sizeof(struct sockaddr_storage) ||
      (cfg->remote->sa_family != AF_INET && cfg->remote->sa_family != AF_INET6) ||
      cfg->local->sa_family != cfg->remote->sa_family)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  const profile_http3 *h = &cfg->profile->h3;
  session_h3 *s = calloc(1, sizeof(*s));
  if (s == NULL) return GUISE_E_NOMEM;
  s->base.ops = &h3s_ops;
  if (host) s->host = *host;
  s->now_ns = cfg->now_ns ? cfg->now_ns : mono_ns;
  s->now_arg = cfg->now_arg;
  s->verify = cfg->verify;
  s->ctrl_id = -1;
  s->goaway_id = -1;
  s->qdec_id = s->qenc_id = -1;
  s->peer_enc_id = -1;
  memcpy(&s->local, cfg->local, cfg->local_len);
  memcpy(&s->remote, cfg->remote, cfg->remote_len);
  s->path.local.addr = (ngtcp2_sockaddr *)&s->local;
  s->path.local.addrlen = cfg->local_len;
  s->path.remote.addr = (ngtcp2_sockaddr *)&s->remote;
  s->path.remote.addrlen = cfg->remote_len;
  /* The Initial datagram size of the profile (the IPv6 one is 20 bytes less:
   * the larger header, Chromium's 1250/1230). */
  int v6 = cfg->remote->sa_family == AF_INET6;
  int size = v6 ? h->initial_ipv6 : h->initial_ipv4;
  if (size == 0 && v6 && h->initial_ipv4) size = h->initial_ipv4 - 20;
  if (size < 1200) size = 1200;
  if (size > 1452) size = 1452;
  s->udp_size = (size_t)size;
  s->zero_padding = h->zero_padding;
  s->priority_update = h->priority_update;
  s->qdec_held = h->qpack_decoder_lazy;
  if (h->n_uni == 3) {
    memcpy(s->uni, h->uni, sizeof s->uni);
  } else { /* nghttp3's own order */
    s->uni[0] = PROFILE_H3_UNI_CONTROL;
    s->uni[1] = PROFILE_H3_UNI_QPACK_ENCODER;
    s->uni[2] = PROFILE_H3_UNI_QPACK_DECODER;
  }

  /* pseudo-header order from the navigate order */
  static const char *const pn[4] = {":method", ":scheme", ":authority", ":path"};
  int np = 0, seen[4] = {0};
  for (size_t i = 0; i < h->n_nav_order && np < 4; i++)
    for (int k = 0; k < 4; k++)
      if (!seen[k] && strcmp(h->nav_order[i], pn[k]) == 0) {
        seen[k] = 1;
        s->pseudo[np++] = k;
      }
  for (int k = 0; k < 4; k++)
    if (!seen[k]) s->pseudo[np++] = k;

  /* nghttp3: the QPACK values announced in SETTINGS are the ones it decodes with */
  nghttp3_settings_default(&s->h3set);
  s->h3set.qpack_max_dtable_capacity = 0;
  s->h3set.qpack_blocked_streams = 0;
  for (size_t i = 0; i < h->n_settings; i++) {
    if (h->settings[i].grease) continue;
    uint64_t v = h->settings[i].value;
    switch (h->settings[i].id) {
      case 0x01: s->h3set.qpack_max_dtable_capacity = v > 65536 ? 65536 : (size_t)v; break;
      case 0x06: s->h3set.max_field_section_size = v; break;
      case 0x07: s->h3set.qpack_blocked_streams = v > 100 ? 100 : (size_t)v; break;
      case 0x33: s->h3set.h3_datagram = v != 0; break;
      default: break;
    }
  }
  int e = 0;
  if (write_control(s, h) != 0) e = GUISE_E_PROFILE_UNSUPPORTED;

  /* the SSL */
  const char *why = NULL;
  if (!e && (s->ssl = SSL_new(cfg->ctx)) == NULL) e = GUISE_E_NOMEM;
  if (!e) {
    SSL_CTX_up_ref(cfg->ctx);
    s->ctx = cfg->ctx;
    s->ref.get_conn = get_conn;
    s->ref.user_data = s;
    SSL_set_app_data(s->ssl, &s->ref);
    SSL_set_connect_state(s->ssl);
    if (tls_shape_apply_ssl(s->ssl, &h->tls, &why) != 0) e = GUISE_E_PROFILE_UNSUPPORTED;
  }
  if (!e && cfg->server_name && !is_ip_literal(cfg->server_name) &&
      !SSL_set_tlsext_host_name(s->ssl, cfg->server_name))
    e = GUISE_E_NOMEM;
  if (!e && cfg->verify && cfg->server_name) e = tls_verify_expect_host(s->ssl, cfg->server_name);

  /* the QUIC connection */
  ngtcp2_cid dcid, scid;
  if (!e) {
    dcid.datalen = (size_t)draw_len(h->dcid_min < 8 ? 8 : h->dcid_min, h->dcid_max > 20 ? 20 : h->dcid_max);
    scid.datalen = (size_t)draw_len(h->scid_min < 0 ? 0 : h->scid_min, h->scid_max > 20 ? 20 : h->scid_max);
    RAND_bytes(dcid.data, dcid.datalen);
    RAND_bytes(scid.data, scid.datalen);
    if (encode_tp(s, h, &scid) != 0) e = GUISE_E_PROFILE_UNSUPPORTED;
  }
  if (!e) {
    ngtcp2_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.client_initial = client_initial;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb.rand = rand_cb;
    cb.get_new_connection_id = new_cid;
    cb.handshake_completed = handshake_completed;
    cb.recv_stream_data = recv_stream_data;
    cb.acked_stream_data_offset = acked_stream_data_offset;
    cb.stream_close = stream_close;
    cb.stream_reset = stream_reset;
    cb.stream_stop_sending = stream_stop_sending;
    cb.extend_max_stream_data = extend_max_stream_data;
    cb.recv_stateless_reset = recv_stateless_reset;
    ngtcp2_settings st;
    ngtcp2_settings_default(&st);
    st.initial_ts = now(s);
    /* Datagrams of the profile's Initial size from the first on: without
     * no_tx_udp_payload_size_shaping ngtcp2 keeps to 1200 bytes until the
     * server's max_udp_payload_size is known. ngtcp2 pads a datagram that
     * needs padding to 1200 only (NGTCP2_MAX_UDP_PAYLOAD_SIZE): a first flight
     * whose ClientHello fills more than one packet (both profiles' ML-KEM key
     * share) is not padded in its first datagram. */
    st.max_tx_udp_payload_size = s->udp_size;
    st.no_tx_udp_payload_size_shaping = 1;
    st.no_pmtud = 1;
    ngtcp2_transport_params tp;
    params_for_ngtcp2(h, &tp);
    uint32_t version = h->quic_version ? h->quic_version : NGTCP2_PROTO_VER_V1;
    int rv = ngtcp2_conn_client_new(&s->conn, &dcid, &scid, &s->path, version, &cb, &st, &tp, NULL, s);
    if (rv != 0) e = rv == NGTCP2_ERR_NOMEM ? GUISE_E_NOMEM : GUISE_E_PROFILE_UNSUPPORTED;
    else ngtcp2_conn_set_tls_native_handle(s->conn, s->ssl);
  }
  if (e) {
    ERR_clear_error();
    ngtcp2_conn_del(s->conn);
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
    free(s);
    return e;
  }
  s->max_streams = cfg->max_streams;
  if (s->max_streams == 0) s->max_streams = 100;
  s->dirty = 1; /* the first Initial */
  *out = &s->base;
  return 0;
}

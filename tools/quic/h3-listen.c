/*
 * guise_h3_listen — a small HTTP/3 server on UDP loopback that records what the client
 * sends (issue #22: the browsers' HTTP/3 SETTINGS and header order).
 *
 *   guise_h3_listen --listen 127.0.0.1:0 (--cert leaf.pem --key leaf.key | --self-signed)
 *                   [--log FILE] [--seconds N] [--conns N]
 *
 * Prints "port N" on stdout once bound. Per connection, when it ends (or when the run
 * ends), one JSON line goes to the log (stdout by default):
 *   {"remote":..., "alpn":..., "uni_streams":[{"id":2,"type":0,"kind":"control"},...],
 *    "settings":[{"id":6,"value":...,"grease":false},...],
 *    "control_frames":[{"type":4,"length":..,"grease":false},...],
 *    "priority_updates":[{"type":983808,"element":0,"value":"u=0, i"}],
 *    "requests":[{"stream":0,"headers":[[":method","GET"],...],"priority":"u=0, i"}],
 *    "truncated":false}
 * The control stream is read from the raw bytes of the client's unidirectional streams
 * (RFC 9114 6.2, 7.2; GREASE ids 0x1f*N+0x21, 7.2.8/7.2.4.1); header fields are those
 * nghttp3 decodes, in the order received. Every request is answered 200 with a small
 * HTML body. Loopback only; caps on connections, streams, bytes kept, header fields and
 * run time; bad input ends that connection only.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

#include "quic_peer.h"

enum {
  MAX_CONNS_CAP = 16,     /* connections alive at once */
  MAX_UNI = 8,            /* client uni streams recorded per connection */
  UNI_KEEP = 4096,        /* bytes kept per uni stream */
  MAX_REQ = 16,           /* requests recorded per connection */
  MAX_FIELDS = 64,        /* header fields recorded per request */
  FIELD_BYTES = 16384,    /* name+value bytes recorded per request */
  MAX_PKT = 1500,
  MAX_SECONDS = 600,
};

typedef struct request {
  int64_t sid;
  size_t nfields, used;
  uint32_t off[MAX_FIELDS][2], len[MAX_FIELDS][2];
  char bytes[FIELD_BYTES];
  int truncated, responded;
} request;

typedef struct uni {
  int64_t sid;
  size_t len;
  uint8_t data[UNI_KEEP];
  int truncated;
} uni;

typedef struct conn {
  int used;
  ngtcp2_conn *q;
  nghttp3_conn *h3;
  SSL *ssl;
  ngtcp2_crypto_conn_ref ref;
  struct sockaddr_storage remote;
  socklen_t remote_len;
  ngtcp2_cid odcid;
  uni unis[MAX_UNI];
  size_t nuni;
  request reqs[MAX_REQ];
  size_t nreq;
  int truncated;
} conn;

static int sock = -1;
static struct sockaddr_storage local;
static socklen_t local_len;
static SSL_CTX *ctx;
static conn conns[MAX_CONNS_CAP];
static FILE *log_out;
static int conns_done, conns_limit = MAX_CONNS_CAP * 64;
static volatile sig_atomic_t stop;

static const char body[] =
    "<!doctype html><html><head><title>guise h3</title></head><body>h3 ok</body></html>\n";

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) { return ((conn *)ref->user_data)->q; }

/* ---- recording ---- */

static request *req_for(conn *c, int64_t sid, int create) {
  for (size_t i = 0; i < c->nreq; i++)
    if (c->reqs[i].sid == sid) return &c->reqs[i];
  if (!create) return NULL;
  if (c->nreq == MAX_REQ) {
    c->truncated = 1;
    return NULL;
  }
  request *r = &c->reqs[c->nreq++];
  memset(r, 0, sizeof *r);
  r->sid = sid;
  return r;
}

static void record_uni(conn *c, int64_t sid, const uint8_t *d, size_t n) {
  uni *u = NULL;
  for (size_t i = 0; i < c->nuni; i++)
    if (c->unis[i].sid == sid) u = &c->unis[i];
  if (!u) {
    if (c->nuni == MAX_UNI) {
      c->truncated = 1;
      return;
    }
    u = &c->unis[c->nuni++];
    u->sid = sid;
    u->len = 0;
    u->truncated = 0;
  }
  size_t room = UNI_KEEP - u->len, k = n < room ? n : room;
  memcpy(u->data + u->len, d, k);
  u->len += k;
  if (k < n) u->truncated = 1;
}

/* QUIC variable-length integer (RFC 9000 16); 0 if |*p| does not hold a whole one. */
static int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  if (*p >= end) return 0;
  size_t n = (size_t)1 << (**p >> 6);
  if ((size_t)(end - *p) < n) return 0;
  uint64_t x = **p & 0x3f;
  for (size_t i = 1; i < n; i++) x = (x << 8) | (*p)[i];
  *p += n;
  *v = x;
  return 1;
}

static int is_grease(uint64_t v) { return v >= 0x21 && (v - 0x21) % 0x1f == 0; }

static void json_str(FILE *f, const char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20 || ch >= 0x7f) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static const char *uni_kind(uint64_t t) {
  switch (t) {
    case 0x00: return "control";
    case 0x01: return "push";
    case 0x02: return "qpack_encoder";
    case 0x03: return "qpack_decoder";
    default: return is_grease(t) ? "grease" : "unknown";
  }
}

static void log_conn(conn *c) {
  FILE *f = log_out;
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (c->remote.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&c->remote;
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (c->remote.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&c->remote;
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  const uint8_t *alpn = NULL;
  unsigned alpn_len = 0;
  if (c->ssl) SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
  fprintf(f, "{\"remote\":\"%s\",\"port\":%u,\"handshake\":%s,\"alpn\":", host, port,
          c->q && ngtcp2_conn_get_handshake_completed(c->q) ? "true" : "false");
  json_str(f, (const char *)alpn, alpn_len);
  fputs(",\"uni_streams\":[", f);
  const uni *ctrl = NULL;
  const uint8_t *ctrl_p = NULL;
  for (size_t i = 0; i < c->nuni; i++) {
    const uni *u = &c->unis[i];
    const uint8_t *p = u->data;
    uint64_t t = 0;
    int have = rd_varint(&p, u->data + u->len, &t);
    fprintf(f, "%s{\"id\":%" PRId64 ",", i ? "," : "", u->sid);
    if (have) fprintf(f, "\"type\":%" PRIu64 ",\"kind\":\"%s\"}", t, uni_kind(t));
    else fputs("\"type\":null,\"kind\":\"empty\"}", f);
    if (have && t == 0 && !ctrl) ctrl = u, ctrl_p = p;
  }
  fputs("],\"settings\":[", f);
  /* The control stream: SETTINGS first (RFC 9114 6.2.1), then any frames. */
  int nsettings = 0, nframes = 0, nprio = 0, ctrl_trunc = 0;
  char frames[4096], prios[4096];
  size_t fl = 0, pl = 0;
  frames[0] = prios[0] = 0;
  if (ctrl) {
    const uint8_t *p = ctrl_p, *end = ctrl->data + ctrl->len;
    while (p < end) {
      uint64_t type, len;
      const uint8_t *save = p;
      if (!rd_varint(&p, end, &type) || !rd_varint(&p, end, &len) ||
          len > (uint64_t)(end - p)) {
        p = save;
        ctrl_trunc = 1;
        break;
      }
      const uint8_t *pe = p + len;
      if (fl < sizeof frames - 128)
        fl += (size_t)snprintf(frames + fl, sizeof frames - fl,
                               "%s{\"type\":%" PRIu64 ",\"length\":%" PRIu64 ",\"grease\":%s}",
                               nframes ? "," : "", type, len, is_grease(type) ? "true" : "false");
      nframes++;
      if (type == 0x04 && nframes == 1) {
        while (p < pe) {
          uint64_t id, v;
          if (!rd_varint(&p, pe, &id) || !rd_varint(&p, pe, &v)) break;
          fprintf(f, "%s{\"id\":%" PRIu64 ",\"value\":%" PRIu64 ",\"grease\":%s}",
                  nsettings ? "," : "", id, v, is_grease(id) ? "true" : "false");
          nsettings++;
        }
      } else if ((type == 0xF0700 || type == 0xF0701) && pl < sizeof prios - 256) {
        uint64_t el;
        if (rd_varint(&p, pe, &el)) {
          pl += (size_t)snprintf(prios + pl, sizeof prios - pl,
                                 "%s{\"type\":%" PRIu64 ",\"element\":%" PRIu64 ",\"value\":\"",
                                 nprio ? "," : "", type, el);
          for (; p < pe && pl < sizeof prios - 8; p++)
            if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') prios[pl++] = (char)*p;
          pl += (size_t)snprintf(prios + pl, sizeof prios - pl, "\"}");
          nprio++;
        }
      }
      p = pe;
    }
  }
  fprintf(f, "],\"control_frames\":[%s],\"priority_updates\":[%s],\"requests\":[", frames, prios);
  for (size_t i = 0; i < c->nreq; i++) {
    const request *r = &c->reqs[i];
    fprintf(f, "%s{\"stream\":%" PRId64 ",\"headers\":[", i ? "," : "", r->sid);
    const char *prio = NULL;
    size_t prio_len = 0;
    for (size_t k = 0; k < r->nfields; k++) {
      fputs(k ? ",[" : "[", f);
      json_str(f, r->bytes + r->off[k][0], r->len[k][0]);
      fputc(',', f);
      json_str(f, r->bytes + r->off[k][1], r->len[k][1]);
      fputc(']', f);
      if (r->len[k][0] == 8 && memcmp(r->bytes + r->off[k][0], "priority", 8) == 0)
        prio = r->bytes + r->off[k][1], prio_len = r->len[k][1];
    }
    fputs("],\"priority\":", f);
    if (prio) json_str(f, prio, prio_len);
    else fputs("null", f);
    fprintf(f, ",\"truncated\":%s}", r->truncated ? "true" : "false");
  }
  int trunc = c->truncated || ctrl_trunc || (ctrl && ctrl->truncated);
  fprintf(f, "],\"truncated\":%s}\n", trunc ? "true" : "false");
  fflush(f);
}

/* ---- nghttp3 ---- */

static int h3_recv_header(nghttp3_conn *h, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *ud, void *sud) {
  (void)h, (void)token, (void)flags, (void)sud;
  conn *c = ud;
  request *r = req_for(c, sid, 1);
  if (!r) return 0;
  nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
  if (r->nfields == MAX_FIELDS || n.len + v.len > FIELD_BYTES - r->used) {
    r->truncated = 1;
    return 0;
  }
  r->off[r->nfields][0] = (uint32_t)r->used;
  r->len[r->nfields][0] = (uint32_t)n.len;
  memcpy(r->bytes + r->used, n.base, n.len);
  r->used += n.len;
  r->off[r->nfields][1] = (uint32_t)r->used;
  r->len[r->nfields][1] = (uint32_t)v.len;
  memcpy(r->bytes + r->used, v.base, v.len);
  r->used += v.len;
  r->nfields++;
  return 0;
}

static nghttp3_ssize read_body(nghttp3_conn *h, int64_t sid, nghttp3_vec *vec, size_t veccnt,
                               uint32_t *pflags, void *ud, void *sud) {
  (void)h, (void)sid, (void)veccnt, (void)ud, (void)sud;
  vec[0].base = (uint8_t *)body;
  vec[0].len = sizeof body - 1;
  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  return 1;
}

static int h3_end_stream(nghttp3_conn *h, int64_t sid, void *ud, void *sud) {
  (void)sud;
  conn *c = ud;
  request *r = req_for(c, sid, 0);
  if (r && r->responded) return 0;
  char clen[16];
  int cl = snprintf(clen, sizeof clen, "%zu", sizeof body - 1);
  nghttp3_nv nva[] = {
      {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"text/html; charset=utf-8", 12, 24,
       NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"content-length", (uint8_t *)clen, 14, (size_t)cl, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"cache-control", (uint8_t *)"no-store", 13, 8, NGHTTP3_NV_FLAG_NONE},
  };
  nghttp3_data_reader dr = {read_body};
  if (nghttp3_conn_submit_response(h, sid, nva, 4, &dr) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
  if (r) r->responded = 1;
  return 0;
}

static int h3_recv_data(nghttp3_conn *h, int64_t sid, const uint8_t *d, size_t n, void *ud,
                        void *sud) {
  (void)h, (void)d, (void)sud;
  conn *c = ud;
  ngtcp2_conn_extend_max_stream_offset(c->q, sid, n);
  ngtcp2_conn_extend_max_offset(c->q, n);
  return 0;
}

static int h3_deferred_consume(nghttp3_conn *h, int64_t sid, size_t n, void *ud, void *sud) {
  (void)h, (void)sud;
  conn *c = ud;
  ngtcp2_conn_extend_max_stream_offset(c->q, sid, n);
  ngtcp2_conn_extend_max_offset(c->q, n);
  return 0;
}

static int setup_h3(conn *c) {
  if (c->h3) return 0;
  if (ngtcp2_conn_get_streams_uni_left(c->q) < 3) return -1;
  nghttp3_callbacks cb = {
      .recv_data = h3_recv_data,
      .deferred_consume = h3_deferred_consume,
      .recv_header = h3_recv_header,
      .end_stream = h3_end_stream,
      .rand = qp_h3_rand_cb,
  };
  nghttp3_settings s;
  nghttp3_settings_default(&s);
  s.max_field_section_size = FIELD_BYTES * 4;
  s.qpack_max_dtable_capacity = 4096;
  s.qpack_blocked_streams = 16;
  if (nghttp3_conn_server_new(&c->h3, &cb, &s, NULL, c) != 0) return -1;
  nghttp3_conn_set_max_client_streams_bidi(c->h3, 100);
  int64_t ctrl, enc, dec;
  if (ngtcp2_conn_open_uni_stream(c->q, &ctrl, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(c->q, &enc, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(c->q, &dec, NULL) != 0)
    return -1;
  if (nghttp3_conn_bind_control_stream(c->h3, ctrl) != 0 ||
      nghttp3_conn_bind_qpack_streams(c->h3, enc, dec) != 0)
    return -1;
  return 0;
}

/* ---- ngtcp2 ---- */

static int recv_stream_data(ngtcp2_conn *q, uint32_t flags, int64_t sid, uint64_t offset,
                            const uint8_t *d, size_t n, void *ud, void *sud) {
  (void)offset, (void)sud;
  conn *c = ud;
  if ((sid & 3) == 2) record_uni(c, sid, d, n);
  if (setup_h3(c) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  nghttp3_ssize r =
      nghttp3_conn_read_stream2(c->h3, sid, d, n, flags & NGTCP2_STREAM_DATA_FLAG_FIN, qp_now_ns());
  if (r < 0) {
    fprintf(stderr, "guise_h3_listen: HTTP/3 error on stream %" PRId64 ": %s\n", sid,
            nghttp3_strerror((int)r));
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  ngtcp2_conn_extend_max_stream_offset(q, sid, (uint64_t)r);
  ngtcp2_conn_extend_max_offset(q, (uint64_t)r);
  return 0;
}

static int acked_offset(ngtcp2_conn *q, int64_t sid, uint64_t off, uint64_t len, void *ud,
                        void *sud) {
  (void)q, (void)off, (void)sud;
  conn *c = ud;
  if (c->h3 && nghttp3_conn_add_ack_offset(c->h3, sid, len) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int stream_close(ngtcp2_conn *q, uint32_t flags, int64_t sid, uint64_t code, void *ud,
                        void *sud) {
  (void)q, (void)sud;
  conn *c = ud;
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) code = NGHTTP3_H3_NO_ERROR;
  if (c->h3) {
    int rv = nghttp3_conn_close_stream(c->h3, sid, code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int stream_reset(ngtcp2_conn *q, int64_t sid, uint64_t fs, uint64_t code, void *ud,
                        void *sud) {
  (void)q, (void)fs, (void)code, (void)sud;
  conn *c = ud;
  if (c->h3 && nghttp3_conn_shutdown_stream_read(c->h3, sid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int extend_max_stream_data(ngtcp2_conn *q, int64_t sid, uint64_t max, void *ud,
                                  void *sud) {
  (void)q, (void)max, (void)sud;
  conn *c = ud;
  if (c->h3 && nghttp3_conn_unblock_stream(c->h3, sid) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int extend_max_bidi(ngtcp2_conn *q, uint64_t max, void *ud) {
  (void)q;
  conn *c = ud;
  if (c->h3) nghttp3_conn_set_max_client_streams_bidi(c->h3, max);
  return 0;
}

static void conn_free(conn *c) {
  nghttp3_conn_del(c->h3);
  ngtcp2_conn_del(c->q);
  SSL_free(c->ssl);
  memset(c, 0, sizeof *c);
}

static void conn_end(conn *c) {
  log_conn(c);
  conn_free(c);
  conns_done++;
}

static conn *conn_new(const ngtcp2_pkt_hd *hd, const struct sockaddr_storage *from,
                      socklen_t from_len) {
  conn *c = NULL;
  for (size_t i = 0; i < MAX_CONNS_CAP; i++)
    if (!conns[i].used) {
      c = &conns[i];
      break;
    }
  if (!c) return NULL;
  memset(c, 0, sizeof *c);
  c->used = 1;
  c->remote = *from;
  c->remote_len = from_len;
  c->odcid = hd->dcid;
  c->ssl = SSL_new(ctx);
  if (!c->ssl) goto fail;
  c->ref.get_conn = get_conn;
  c->ref.user_data = c;
  SSL_set_app_data(c->ssl, &c->ref);
  SSL_set_accept_state(c->ssl);
  ngtcp2_callbacks cb;
  qp_callbacks(&cb, 1);
  cb.recv_stream_data = recv_stream_data;
  cb.acked_stream_data_offset = acked_offset;
  cb.stream_close = stream_close;
  cb.stream_reset = stream_reset;
  cb.extend_max_stream_data = extend_max_stream_data;
  cb.extend_max_remote_streams_bidi = extend_max_bidi;
  ngtcp2_settings s;
  ngtcp2_settings_default(&s);
  s.initial_ts = qp_now_ns();
  ngtcp2_transport_params p;
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = 256 * 1024;
  p.initial_max_stream_data_bidi_remote = 256 * 1024;
  p.initial_max_stream_data_uni = 256 * 1024;
  p.initial_max_data = 1024 * 1024;
  p.initial_max_streams_bidi = 100;
  p.initial_max_streams_uni = MAX_UNI;
  p.max_idle_timeout = 5 * NGTCP2_SECONDS;
  p.original_dcid = hd->dcid;
  p.original_dcid_present = 1;
  RAND_bytes(p.stateless_reset_token, sizeof p.stateless_reset_token);
  p.stateless_reset_token_present = 1;
  ngtcp2_cid scid;
  scid.datalen = 8;
  RAND_bytes(scid.data, scid.datalen);
  ngtcp2_path path = {{(ngtcp2_sockaddr *)&local, local_len},
                      {(ngtcp2_sockaddr *)&c->remote, c->remote_len}, NULL};
  if (ngtcp2_conn_server_new(&c->q, &hd->scid, &scid, &path, hd->version, &cb, &s, &p, NULL, c) !=
      0)
    goto fail;
  ngtcp2_conn_set_tls_native_handle(c->q, c->ssl);
  return c;
fail:
  conn_free(c);
  return NULL;
}

static conn *conn_find(const uint8_t *dcid, size_t dcidlen) {
  ngtcp2_cid ids[16];
  for (size_t i = 0; i < MAX_CONNS_CAP; i++) {
    conn *c = &conns[i];
    if (!c->used) continue;
    if (c->odcid.datalen == dcidlen && memcmp(c->odcid.data, dcid, dcidlen) == 0) return c;
    size_t n = ngtcp2_conn_get_scid(c->q, NULL);
    if (n > 16) n = 16;
    ngtcp2_conn_get_scid(c->q, ids);
    for (size_t k = 0; k < n; k++)
      if (ids[k].datalen == dcidlen && memcmp(ids[k].data, dcid, dcidlen) == 0) return c;
  }
  return NULL;
}

/* Sends every packet the connection has; -1 when it must end. */
static int flush(conn *c) {
  uint8_t buf[MAX_PKT];
  for (int guard = 0; guard < 1024; guard++) {
    long n = qp_write_pkt(c->q, c->h3, NULL, buf, sizeof buf, qp_now_ns(), NULL);
    if (n <= 0) return (int)n;
    sendto(sock, buf, (size_t)n, 0, (struct sockaddr *)&c->remote, c->remote_len);
  }
  return 0;
}

static int is_loopback(const struct sockaddr_storage *a) {
  if (a->ss_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
  if (a->ss_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
  return 0;
}

static void on_datagram(const uint8_t *d, size_t n, const struct sockaddr_storage *from,
                        socklen_t from_len) {
  ngtcp2_version_cid vc;
  if (ngtcp2_pkt_decode_version_cid(&vc, d, n, 8) != 0) return;
  conn *c = conn_find(vc.dcid, vc.dcidlen);
  int fresh = 0;
  if (!c) {
    ngtcp2_pkt_hd hd;
    if (conns_done >= conns_limit || ngtcp2_accept(&hd, d, n) != 0) return;
    c = conn_new(&hd, from, from_len);
    if (!c) return;
    fresh = 1;
  }
  ngtcp2_path path = {{(ngtcp2_sockaddr *)&local, local_len},
                      {(ngtcp2_sockaddr *)from, from_len}, NULL};
  ngtcp2_pkt_info pi = {0};
  int rv = ngtcp2_conn_read_pkt(c->q, &path, &pi, d, n, qp_now_ns());
  if (rv != 0 && fresh) {
    /* ngtcp2_accept checks the header only: a first packet that does not decrypt
     * (garbage after an Initial-looking header) opened no connection. */
    conn_free(c);
    return;
  }
  if (rv != 0) {
    if (rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_CLOSING)
      fprintf(stderr, "guise_h3_listen: connection ended: %s\n", ngtcp2_strerror(rv));
    conn_end(c);
    return;
  }
  if (flush(c) != 0) conn_end(c);
}

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len) {
  char host[64];
  const char *colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535) return -1;
  memset(ss, 0, sizeof *ss);
  size_t hl = strlen(host);
  if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
    host[hl - 1] = 0;
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) return -1;
    *len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return -1;
    *len = sizeof *a;
  }
  return is_loopback(ss) ? 0 : -1;
}

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: guise_h3_listen --listen HOST:PORT (--cert PEM --key PEM | --self-signed)\n"
          "                       [--log FILE] [--seconds N (1-%d)] [--conns N]\n",
          MAX_SECONDS);
}

int main(int argc, char **argv) {
  const char *listen_s = NULL, *cert = NULL, *key = NULL, *log_path = NULL;
  int self = 0;
  long seconds = 30;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--self-signed")) {
      self = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "guise_h3_listen: %s needs a value\n", a);
      usage();
      return 2;
    }
    i++;
    char *end;
    if (!strcmp(a, "--listen")) listen_s = v;
    else if (!strcmp(a, "--cert")) cert = v;
    else if (!strcmp(a, "--key")) key = v;
    else if (!strcmp(a, "--log")) log_path = v;
    else if (!strcmp(a, "--seconds")) {
      seconds = strtol(v, &end, 10);
      if (*end || seconds < 1 || seconds > MAX_SECONDS) {
        fprintf(stderr, "guise_h3_listen: --seconds %s: not in 1..%d\n", v, MAX_SECONDS);
        return 2;
      }
    } else if (!strcmp(a, "--conns")) {
      long n = strtol(v, &end, 10);
      if (*end || n < 1 || n > 1000) {
        fprintf(stderr, "guise_h3_listen: --conns %s: not in 1..1000\n", v);
        return 2;
      }
      conns_limit = (int)n;
    } else {
      fprintf(stderr, "guise_h3_listen: unknown option %s\n", a);
      usage();
      return 2;
    }
  }
  if (!listen_s || (!self && (!cert || !key))) {
    usage();
    return 2;
  }
  if (parse_listen(listen_s, &local, &local_len) != 0) {
    fprintf(stderr, "guise_h3_listen: --listen %s: not a loopback HOST:PORT\n", listen_s);
    return 2;
  }
  ctx = SSL_CTX_new(TLS_method());
  if (!ctx || ngtcp2_crypto_boringssl_configure_server_context(ctx) != 0) {
    fprintf(stderr, "guise_h3_listen: TLS context failed\n");
    return 1;
  }
  if (self ? qp_self_signed(ctx) != 0
           : (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
              SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
    fprintf(stderr, "guise_h3_listen: certificate/key not usable (%s, %s)\n",
            cert ? cert : "self-signed", key ? key : "-");
    return 1;
  }
  SSL_CTX_set_alpn_select_cb(ctx, qp_alpn_select_h3, NULL);
  log_out = stdout;
  if (log_path && !(log_out = fopen(log_path, "a"))) {
    fprintf(stderr, "guise_h3_listen: --log %s: %s\n", log_path, strerror(errno));
    return 1;
  }
  sock = socket(local.ss_family, SOCK_DGRAM, 0);
  if (sock < 0 || bind(sock, (struct sockaddr *)&local, local_len) != 0 ||
      getsockname(sock, (struct sockaddr *)&local, &local_len) != 0) {
    fprintf(stderr, "guise_h3_listen: bind %s: %s\n", listen_s, strerror(errno));
    return 1;
  }
  unsigned port = local.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&local)->sin_port)
                                             : ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
  printf("port %u\n", port);
  fflush(stdout);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  ngtcp2_tstamp deadline = qp_now_ns() + (ngtcp2_tstamp)seconds * NGTCP2_SECONDS;
  uint8_t buf[65536];
  while (!stop && conns_done < conns_limit) {
    ngtcp2_tstamp t = qp_now_ns();
    if (t >= deadline) break;
    ngtcp2_tstamp next = deadline;
    for (size_t i = 0; i < MAX_CONNS_CAP; i++)
      if (conns[i].used) {
        ngtcp2_tstamp e = ngtcp2_conn_get_expiry(conns[i].q);
        if (e < next) next = e;
      }
    int timeout = next <= t ? 0 : (int)((next - t) / NGTCP2_MILLISECONDS) + 1;
    if (timeout > 1000) timeout = 1000;
    struct pollfd pfd = {sock, POLLIN, 0};
    if (poll(&pfd, 1, timeout) > 0 && (pfd.revents & POLLIN)) {
      for (int k = 0; k < 64; k++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(sock, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) break;
        if (!is_loopback(&from)) continue;
        on_datagram(buf, (size_t)n, &from, fl);
      }
    }
    t = qp_now_ns();
    for (size_t i = 0; i < MAX_CONNS_CAP; i++) {
      conn *c = &conns[i];
      if (!c->used) continue;
      if (ngtcp2_conn_get_expiry(c->q) <= t) {
        int rv = ngtcp2_conn_handle_expiry(c->q, t);
        if (rv != 0) {
          conn_end(c);
          continue;
        }
      }
      if (ngtcp2_conn_in_closing_period(c->q) || ngtcp2_conn_in_draining_period(c->q)) {
        conn_end(c);
        continue;
      }
      if (flush(c) != 0) conn_end(c);
    }
  }
  for (size_t i = 0; i < MAX_CONNS_CAP; i++)
    if (conns[i].used) conn_end(&conns[i]);
  SSL_CTX_free(ctx);
  if (log_out != stdout) fclose(log_out);
  return 0;
}

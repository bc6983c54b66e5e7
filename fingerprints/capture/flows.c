/* flows.c — TCP connections of a capture: which side is the client, its first bytes in
 * sequence order, and one record per client flight; and QUIC connections (UDP): the
 * client's Initial packets decrypted and their CRYPTO frames put in order until the
 * ClientHello is whole. I/O-free: segments and datagrams come from reader.c, records go
 * to the sink. */
#include "capture.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/siphash.h>

#include "fp_report.h"
#include "guise_fp.h"
#include "quic_initial.h"

enum { F_OPEN = 0, F_DONE = 1 };

/* What is looked for in a connection's client bytes. */
enum {
  PH_FIRST = 0, /* the first flight at |off| (after any tunnel handshakes) */
  PH_RETRY = 1  /* after a reported ClientHello: the one sent again after a
                 * HelloRetryRequest (RFC 8446 §4.1.4), if it comes */
};

/* The reading position in one connection's client bytes (or in a hex dump). */
typedef struct cursor {
  size_t off;    /* client-stream offset where the flight looked for starts */
  size_t parsed; /* bytes past |off| at the last incomplete parse */
  int phase;
  bool confirmed;     /* PH_RETRY: a second ClientHello with the first one's random began */
  json_t *tunnel;     /* tunnel handshakes passed: [{"protocol", "offset", "length", ...}] */
  uint8_t random[32]; /* of the first ClientHello (the retry repeats it, §4.1.2) */
} cursor;

/* A QUIC connection's client side (RFC 9001 §5.2: every client Initial is protected with
 * keys from the Destination Connection ID of its first one, until a Retry changes it). */
typedef struct quic_conn {
  uint32_t version;
  uint8_t odcid[GQI_MAX_CID], scid[GQI_MAX_CID];
  uint8_t odcid_len, scid_len;
  gqi_keys keys;       /* of |odcid| */
  int64_t largest_pn;  /* -1 before the first Initial is opened */
  uint64_t initials;   /* client Initial packets opened */
  uint64_t failed;     /* client Initial packets that did not authenticate */
  gcap_stream *crypto; /* the CRYPTO stream, placed by frame offset */
} quic_conn;

typedef struct flow {
  uint8_t family;
  uint8_t proto; /* GCAP_PROTO_TCP, or GCAP_PROTO_UDP for a QUIC connection (|q|) */
  quic_conn *q;
  uint8_t addr[2][16];
  uint16_t port[2];      /* endpoint 0 sent the first packet seen */
  uint64_t stream;       /* index in order of first packet, as tshark's tcp.stream */
  uint64_t first_packet; /* 1-based packet number */
  int64_t sec;
  long nsec;
  int client; /* endpoint that opened the connection; -1 while unknown */
  int state;
  bool syn[2], base_known[2], closed[2], not_client[2];
  bool snapped;     /* some client segment was cut short by the capture's snaplen */
  uint32_t base[2]; /* sequence number of each direction's first data byte */
  cursor cur;       /* where in the client bytes the next flight is looked for */
  gcap_stream *s[2];
} flow;

struct gcap_flows {
  char *name;
  gcap_options o;
  gcap_sink sink;
  void *arg;
  gcap_stats *st;
  size_t budget; /* client bytes that may still be buffered */
  flow **all;    /* every connection, in order of first packet */
  size_t n, cap;
  uint64_t ntcp, nquic; /* stream numbers given so far, TCP and QUIC apart */
  uint8_t *qplain;      /* a QUIC packet's plaintext (GQI_MAX_DATAGRAM), made when needed */
  uint32_t *slot;       /* open addressing over |all|: index + 1, 0 = empty */
  size_t nslot;
  uint64_t sipkey[2];
  bool overflow_reported;
  gfp_clienthello *ch;
  gfp_h2_preface *h2;
  gfp_h1_request *h1;
  gfp_ssh_ident ssh;
  gfp_socks socks;
};

void gcap_options_init(gcap_options *o) {
  o->max_flows = GCAP_DEFAULT_MAX_FLOWS;
  o->max_flow_bytes = GCAP_DEFAULT_FLOW_BYTES;
  o->max_buffered = GCAP_MAX_BUFFERED_BYTES;
}

gcap_flows *gcap_flows_new(const char *name, const gcap_options *o, gcap_sink sink, void *arg,
                           gcap_stats *stats) {
  gcap_flows *t = calloc(1, sizeof(*t));
  if (t == NULL) return NULL;
  t->name = strdup(name ? name : "");
  t->o = *o;
  t->sink = sink;
  t->arg = arg;
  t->st = stats;
  t->budget = o->max_buffered;
  /* A keyed hash: a capture crafted so that many connections share a bucket would
   * otherwise turn every lookup into a scan. */
  RAND_bytes((uint8_t *)t->sipkey, sizeof(t->sipkey));
  if (t->name == NULL) {
    free(t);
    return NULL;
  }
  return t;
}

static void flow_release(gcap_flows *t, flow *f) {
  json_decref(f->cur.tunnel);
  f->cur.tunnel = NULL;
  if (f->q != NULL) {
    gcap_stream_free(f->q->crypto, &t->budget);
    f->q->crypto = NULL;
  }
  for (int e = 0; e < 2; e++) {
    gcap_stream_free(f->s[e], &t->budget);
    f->s[e] = NULL;
  }
}

void gcap_flows_free(gcap_flows *t) {
  if (t == NULL) return;
  for (size_t i = 0; i < t->n; i++) {
    flow_release(t, t->all[i]);
    free(t->all[i]->q);
    free(t->all[i]);
  }
  free(t->all);
  free(t->slot);
  free(t->qplain);
  gfp_ch_free(t->ch);
  gfp_h2_free(t->h2);
  gfp_h1_free(t->h1);
  free(t->name);
  free(t);
}

/* The parse objects are large (hundreds of KiB) and stateless between flights: one
 * set per file, made when the first flight needs them. */
static bool ensure_parsers(gcap_flows *t) {
  if (t->ch == NULL) t->ch = gfp_ch_new();
  if (t->h2 == NULL) t->h2 = gfp_h2_new();
  if (t->h1 == NULL) t->h1 = gfp_h1_new();
  return t->ch != NULL && t->h2 != NULL && t->h1 != NULL;
}

/* ---- records ------------------------------------------------------------------------- */

static void put(json_t *obj, const char *key, json_t *val, bool *ok) {
  if (val == NULL || json_object_set_new(obj, key, val) != 0) *ok = false;
}

static json_t *endpoint_json(const flow *f, int e) {
  char ip[64], out[80];
  if (inet_ntop(f->family == 4 ? AF_INET : AF_INET6, f->addr[e], ip, sizeof(ip)) == NULL)
    return NULL;
  snprintf(out, sizeof(out), f->family == 4 ? "%s:%u" : "[%s]:%u", ip, (unsigned)f->port[e]);
  return json_string(out);
}

/* RFC 3339 UTC with the nanoseconds the capture recorded (microsecond files end in 000). */
static json_t *time_json(int64_t sec, long nsec) {
  time_t tt = (time_t)sec;
  struct tm tm;
  char buf[64];
  if ((int64_t)tt != sec || gmtime_r(&tt, &tm) == NULL) return json_null();
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  if (n == 0) return json_null();
  snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", nsec);
  return json_string(buf);
}

static json_t *flow_json(const gcap_flows *t, const flow *f) {
  json_t *o = json_object();
  bool ok = o != NULL;
  if (!ok) return NULL;
  put(o, "file", json_string(t->name), &ok);
  if (f != NULL) {
    int c = f->client >= 0 ? f->client : 0;
    put(o, "stream", json_integer((json_int_t)f->stream), &ok);
    put(o, "client", endpoint_json(f, c), &ok);
    put(o, "server", endpoint_json(f, 1 - c), &ok);
    put(o, "first_packet", json_integer((json_int_t)f->first_packet), &ok);
    put(o, "time", time_json(f->sec, f->nsec), &ok);
    if (f->q != NULL) {
      char v[16];
      snprintf(v, sizeof(v), "%08x", (unsigned)f->q->version);
      put(o, "transport", json_string("quic"), &ok);
      put(o, "quic_version", json_string(v), &ok);
      put(o, "dcid", gfp_report_hex(f->q->odcid, f->q->odcid_len), &ok);
      put(o, "scid", gfp_report_hex(f->q->scid, f->q->scid_len), &ok);
      put(o, "initial_packets", json_integer((json_int_t)f->q->initials), &ok);
    }
  }
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* Hands {"flow": |where|, |key|: |val|} to the sink; takes both references. */
static void deliver(gcap_flows *t, json_t *where, const char *key, json_t *val) {
  bool is_error = strcmp(key, "error") == 0;
  json_t *rec = json_object();
  bool ok = rec != NULL && where != NULL && val != NULL;
  if (ok) {
    put(rec, "flow", where, &ok);
    put(rec, key, val, &ok);
  } else {
    json_decref(where);
    json_decref(val);
  }
  if (!ok) {
    /* Out of memory while building the report: say so with the smallest record. */
    json_decref(rec);
    rec = json_pack("{s:{s:s}, s:{s:s, s:i, s:s}}", "flow", "file", t->name, "error", "stage",
                    "capture", "offset", 0, "reason", "out of memory while building the record");
    is_error = true;
    if (rec == NULL) {
      t->st->errors++;
      return;
    }
  }
  t->st->records++;
  if (is_error) t->st->errors++;
  t->sink(rec, is_error, t->arg);
  json_decref(rec);
}

static void flow_error(gcap_flows *t, flow *f, const char *stage, size_t offset,
                       const char *reason) {
  deliver(t, flow_json(t, f), "error", gfp_report_error(stage, offset, reason));
}

void gcap_flows_file_error(gcap_flows *t, const char *stage, size_t offset, const char *reason,
                           uint64_t packet) {
  json_t *where = flow_json(t, NULL);
  if (where != NULL && packet > 0)
    json_object_set_new(where, "packet", json_integer((json_int_t)packet));
  deliver(t, where, "error", gfp_report_error(stage, offset, reason));
}

/* ---- one flight ---------------------------------------------------------------------- */

typedef enum presult {
  P_REPORT, /* *key / *val hold the record member ("tls", "http2", "http1", "ssh", "error") */
  P_TUNNEL, /* a tunnel handshake of *layer_len bytes (*key / *val: its own member) */
  P_MORE,   /* a consistent prefix: *stage names the parser waiting for more */
  P_OTHER   /* not a client flight of a protocol the observer knows */
} presult;

static presult parse_error(const char *stage, size_t offset, const char *reason, const char **key,
                           json_t **val) {
  *key = "error";
  *val = gfp_report_error(stage, offset, reason);
  return P_REPORT;
}

static bool is_connect(const gfp_h1_request *r) {
  /* RFC 9110 §9.3.6; methods are case-sensitive (§9.1). */
  return r->method.len == 7 && memcmp(r->method.data, "CONNECT", 7) == 0;
}

/* The same decisions as guise echo on a connection's first bytes: a TLS ClientHello,
 * else an h2c prior-knowledge preface (RFC 9113 §3.4), else an HTTP/1 request head —
 * and, for captures, an SSH identification string and the tunnel handshakes a client
 * sends to a proxy (HTTP CONNECT, SOCKS) before its real first flight. |d| is the flight
 * at client-stream offset |base| (error offsets are in the stream). |final|: nothing
 * more will arrive. */
static presult parse_flight(gcap_flows *t, const uint8_t *d, size_t n, size_t base, bool final,
                            const char **key, json_t **val, const char **stage, size_t *layer_len,
                            const char **proto) {
  if (!ensure_parsers(t)) return parse_error("capture", base, "out of memory", key, val);
  *stage = (n > 0 && d[0] >= 20 && d[0] <= 23) ? "tls" : "flight";
  gfp_status st = gfp_ch_parse(t->ch, d, n);
  switch (st) {
  case GFP_DONE:
    *key = "tls";
    *val = gfp_report_tls(t->ch, d, n);
    return P_REPORT;
  case GFP_ERROR:
    return parse_error("tls", base + t->ch->err_offset, t->ch->err_reason, key, val);
  case GFP_NEED_MORE:
    return P_MORE;
  case GFP_NOT_TLS:
    break;
  }
  switch (t->ch->kind) {
  case GFP_FLIGHT_H2_PREFACE:
    *stage = "http2";
    st = gfp_h2_parse(t->h2, d, n);
    if (st == GFP_DONE) {
      *key = "http2";
      *val = gfp_report_h2(t->h2);
      return P_REPORT;
    }
    if (st == GFP_ERROR)
      return parse_error("http2", base + t->h2->err_offset, t->h2->err_reason, key, val);
    return P_MORE;
  case GFP_FLIGHT_HTTP1:
    *stage = "http1";
    gfp_h1_reset(t->h1);
    st = gfp_h1_parse(t->h1, d, n);
    if (st == GFP_DONE) {
      *key = "http1";
      *val = gfp_report_h1(t->h1);
      if (!is_connect(t->h1)) return P_REPORT;
      /* RFC 9110 §9.3.6: after the proxy's 2xx the connection is a tunnel and the
         * client's next bytes are its real first flight. */
      *layer_len = t->h1->head_len;
      *proto = "http-connect";
      return P_TUNNEL;
    }
    if (st == GFP_ERROR)
      return parse_error("http1", base + t->h1->err_offset, t->h1->err_reason, key, val);
    return P_MORE;
  case GFP_FLIGHT_SSH:
    *stage = "ssh";
    st = gfp_ssh_parse(&t->ssh, d, n);
    if (st == GFP_DONE) {
      *key = "ssh";
      *val = gfp_report_ssh(&t->ssh);
      return P_REPORT;
    }
    if (st == GFP_ERROR)
      return parse_error("ssh", base + t->ssh.err_offset, t->ssh.err_reason, key, val);
    return P_MORE;
  case GFP_FLIGHT_SOCKS:
    *stage = "socks";
    st = gfp_socks_parse(&t->socks, d, n);
    if (st == GFP_DONE) {
      *key = "socks";
      *val = gfp_report_socks(&t->socks);
      *layer_len = t->socks.len;
      *proto = t->socks.version == 4 ? "socks4" : "socks5";
      return P_TUNNEL;
    }
    /* Before a whole, well-formed first message the bytes only started with 4 or 5:
       * another protocol, not a broken SOCKS client. */
    if (t->socks.greeting_len == 0 && (st == GFP_ERROR || final)) return P_OTHER;
    if (st == GFP_ERROR)
      return parse_error("socks", base + t->socks.err_offset, t->socks.err_reason, key, val);
    return P_MORE;
  case GFP_FLIGHT_SSLV2:
    return parse_error(
        "tls", base, "SSLv2-compatible ClientHello (RFC 5246 appendix E.2): not decoded", key, val);
  case GFP_FLIGHT_TLS:
  case GFP_FLIGHT_UNKNOWN:
    break;
  }
  return P_OTHER;
}

/* Hands a flight's record to the sink: "flow" says where it came from (for a capture's
 * connection |f|, else the hex dump), with the flight's offset in the client bytes when
 * not 0, the tunnels passed, and whether it is the ClientHello sent again after a
 * HelloRetryRequest. Takes |val|. */
static void emit(gcap_flows *t, const flow *f, const cursor *cur, const char *key, json_t *val,
                 bool retry) {
  json_t *where = flow_json(t, f);
  if (where != NULL && f == NULL) json_object_set_new(where, "input", json_string("hex"));
  if (where != NULL && cur->off > 0)
    json_object_set_new(where, "offset", json_integer((json_int_t)cur->off));
  if (where != NULL && cur->tunnel != NULL && json_array_size(cur->tunnel) > 0)
    json_object_set(where, "tunnel", cur->tunnel);
  if (where != NULL && retry) json_object_set_new(where, "hello_retry", json_true());
  deliver(t, where, key, val);
}

typedef enum sresult {
  S_DONE, /* the connection is finished (its records were delivered) */
  S_WAIT, /* more bytes may change the outcome; *stage names what is awaited */
  S_OTHER /* another protocol: no record */
} sresult;

/* After a reported ClientHello: is the client's next record the ClientHello sent again
 * after a HelloRetryRequest (RFC 8446 §4.1.4)? Skips change_cipher_spec records
 * (middlebox compatibility, D.4); anything else ends the search without a record. The
 * retry repeats the first hello's random (§4.1.2), which tells it from an encrypted
 * TLS 1.2 Finished whose first byte happens to be 1. */
static sresult scan_retry(gcap_flows *t, const flow *f, cursor *cur, const uint8_t *d, size_t n,
                          bool final, const char **stage) {
  *stage = "tls";
  const uint8_t *p = d + cur->off;
  size_t m = n - cur->off;
  for (unsigned ccs = 0;; ccs++) {
    p = d + cur->off;
    m = n - cur->off;
    if (m < 5) return final ? S_DONE : S_WAIT;
    if (p[0] != 20) break; /* ContentType.change_cipher_spec */
    size_t rl = ((size_t)p[3] << 8) | p[4];
    if (ccs >= GCAP_MAX_CCS_BEFORE_RETRY || rl == 0 || rl > 16384) return S_DONE;
    if (m < 5 + rl) return final ? S_DONE : S_WAIT;
    cur->off += 5 + rl;
    cur->parsed = 0;
  }
  /* A handshake record whose first message is a client_hello (RFC 8446 §5.1, §4). */
  if (m < 6) return final ? S_DONE : S_WAIT;
  if (p[0] != 22 || p[1] != 3 || p[5] != 1) return S_DONE;
  size_t frag = ((size_t)p[3] << 8) | p[4];
  if (frag >= 4 + 2 + 32) {
    if (m < 5 + 4 + 2 + 32) return final ? S_DONE : S_WAIT;
    if (memcmp(p + 11, cur->random, 32) != 0) return S_DONE;
    cur->confirmed = true;
  }
  gfp_status st = gfp_ch_parse(t->ch, p, m);
  switch (st) {
  case GFP_DONE:
    if (memcmp(t->ch->random, cur->random, 32) != 0) return S_DONE;
    emit(t, f, cur, "tls", gfp_report_tls(t->ch, p, m), true);
    return S_DONE; /* §4.1.4: a second HelloRetryRequest aborts the handshake */
  case GFP_NEED_MORE:
    if (!final) return S_WAIT;
    if (cur->confirmed)
      emit(t, f, cur, "error",
           gfp_report_error("tls", n,
                            "the input ends before the ClientHello sent again after a "
                            "HelloRetryRequest is complete"),
           true);
    return S_DONE;
  case GFP_ERROR:
    if (cur->confirmed)
      emit(t, f, cur, "error",
           gfp_report_error("tls", cur->off + t->ch->err_offset, t->ch->err_reason), true);
    return S_DONE;
  case GFP_NOT_TLS:
    break;
  }
  return S_DONE;
}

/* Reads the client bytes |d|[0..|n|) from |cur| on: passes tunnel handshakes, delivers
 * the flight found there, then looks for a ClientHello sent again after a
 * HelloRetryRequest. |f| is NULL for a hex dump. */
static sresult scan(gcap_flows *t, const flow *f, cursor *cur, const uint8_t *d, size_t n,
                    bool final, const char **stage) {
  for (;;) {
    if (cur->phase == PH_RETRY) return scan_retry(t, f, cur, d, n, final, stage);
    const char *key = NULL, *proto = NULL;
    json_t *val = NULL;
    size_t layer_len = 0, m = n - cur->off;
    size_t depth = cur->tunnel != NULL ? json_array_size(cur->tunnel) : 0;
    presult r = parse_flight(t, d + cur->off, m, cur->off, final, &key, &val, stage, &layer_len,
                             &proto);
    switch (r) {
    case P_REPORT: {
      /* A ClientHello alone in its last record may be followed by a retry. */
      bool tls = strcmp(key, "tls") == 0 && t->ch->trailing_handshake == 0;
      size_t next = tls ? cur->off + t->ch->consumed : 0;
      if (tls) memcpy(cur->random, t->ch->random, sizeof(cur->random));
      emit(t, f, cur, key, val, false);
      if (!tls) return S_DONE;
      cur->phase = PH_RETRY;
      cur->off = next;
      cur->parsed = 0;
      continue;
    }
    case P_TUNNEL:
      if (m > layer_len && depth < GCAP_MAX_TUNNELS) {
        json_t *layer = json_pack("{s:s, s:I, s:I}", "protocol", proto, "offset",
                                  (json_int_t)cur->off, "length", (json_int_t)layer_len);
        if (cur->tunnel == NULL) cur->tunnel = json_array();
        if (layer == NULL || val == NULL || cur->tunnel == NULL ||
            json_object_set_new(layer, key, val) != 0 ||
            json_array_append_new(cur->tunnel, layer) != 0) {
          emit(t, f, cur, "error",
               gfp_report_error("capture", cur->off, "out of memory while building the record"),
               false);
          return S_DONE;
        }
        cur->off += layer_len;
        cur->parsed = 0;
        continue;
      }
      if (!final && depth < GCAP_MAX_TUNNELS) {
        json_decref(val); /* wait for what the client sends through the tunnel */
        return S_WAIT;
      }
      /* Nothing came through (the proxy refused, the capture ends): the handshake
         * itself is the client's flight. */
      emit(t, f, cur, key, val, false);
      return S_DONE;
    case P_MORE:
      return S_WAIT;
    case P_OTHER:
      if (depth == 0) return S_OTHER;
      {
        /* Through the tunnel went a protocol the observer does not know: the last
           * tunnel handshake is the record. */
        json_t *last = json_array_get(cur->tunnel, depth - 1);
        const char *k = strcmp(json_string_value(json_object_get(last, "protocol")),
                               "http-connect") == 0
                            ? "http1"
                            : "socks";
        json_t *v = json_incref(json_object_get(last, k));
        cur->off = (size_t)json_integer_value(json_object_get(last, "offset"));
        json_array_remove(cur->tunnel, depth - 1);
        emit(t, f, cur, k, v, false);
      }
      return S_DONE;
    }
  }
}

void gcap_flows_flight(gcap_flows *t, const uint8_t *data, size_t len) {
  cursor cur;
  memset(&cur, 0, sizeof(cur));
  const char *stage = "flight";
  sresult r = scan(t, NULL, &cur, data, len, true, &stage);
  if (r == S_WAIT)
    emit(t, NULL, &cur, "error",
         gfp_report_error(stage, len, "the input ends before the first flight is complete"), false);
  else if (r == S_OTHER)
    emit(t, NULL, &cur, "error",
         gfp_report_error("flight", 0,
                          "not a TLS ClientHello, an HTTP/1 request, an HTTP/2 connection "
                          "preface or an SSH identification string"),
         false);
  json_decref(cur.tunnel);
}

/* ---- connections --------------------------------------------------------------------- */

static void flow_done(gcap_flows *t, flow *f) {
  f->state = F_DONE;
  flow_release(t, f);
}

/* Tries the client's contiguous bytes. |final|: nothing more will arrive. */
static void evaluate(gcap_flows *t, flow *f, bool final) {
  int c = f->client;
  gcap_stream *s = f->s[c];
  cursor *cur = &f->cur;
  size_t n = gcap_stream_contiguous(s);
  if (!final) {
    if (n == 0 || n <= cur->off) return;
    size_t rel = n - cur->off;
    if (cur->parsed != 0 && rel == cur->parsed) return;
    bool worth = n >= s->limit || rel >= 2 * cur->parsed ||
                 rel >= cur->parsed + GCAP_REPARSE_STEP || f->closed[c];
    if (!worth) return;
  }
  if (n == 0) {
    if (s != NULL && s->nspan > 0) {
      flow_error(t, f, "tcp", 0,
                 f->snapped ? "the capture cut the client's first segment short (snaplen)"
                            : "the client's first bytes are missing from the capture");
    } else {
      t->st->empty_flows++; /* a connection without client payload: nothing to report */
    }
    flow_done(t, f);
    return;
  }
  const char *stage = "flight";
  sresult r = n > cur->off || cur->phase == PH_RETRY ? scan(t, f, cur, s->buf, n, final, &stage)
                                                     : S_WAIT;
  if (r == S_DONE) {
    flow_done(t, f);
    return;
  }
  if (r == S_OTHER) {
    t->st->other_flows++;
    flow_done(t, f);
    return;
  }
  cur->parsed = n - cur->off;
  if (n >= s->limit) {
    if (cur->phase == PH_FIRST || cur->confirmed)
      emit(t, f, cur, "error",
           gfp_report_error("capture", n,
                            "the first flight is longer than the bytes kept per connection "
                            "(guise fp --max-flow-bytes)"),
           cur->phase == PH_RETRY);
    flow_done(t, f);
    return;
  }
  if (!final) return;
  if (gcap_stream_has_gap(s))
    emit(t, f, cur, "error",
         gfp_report_error("tcp", n,
                          f->snapped ? "the capture cut a client segment short (snaplen): bytes "
                                       "missing at this offset of the client stream"
                                     : "a client segment is missing from the capture: the "
                                       "stream has a hole at this offset"),
         false);
  else
    emit(t, f, cur, "error",
         gfp_report_error(stage, n,
                          f->snapped ? "the capture cut a client segment short (snaplen) "
                                       "before the first flight was complete"
                                     : "the capture ends before the first flight is complete"),
         false);
  flow_done(t, f);
}

/* Whether the first bytes of one direction start a client flight, for connections
 * whose SYN was not captured: 1 yes, 0 no, -1 not enough bytes to tell. */
static int looks_like_client(gcap_flows *t, const uint8_t *d, size_t n) {
  if (n == 0) return -1;
  if (d[0] >= 20 && d[0] <= 23) {
    /* RFC 8446 §5.1 record header, then §4 handshake type 1 (client_hello). A server's
     * first record is a ServerHello (2); mid-stream records are application data. */
    if (d[0] != 22) return 0;
    if (n >= 2 && d[1] != 3) return 0;
    if (n < 6) return -1;
    return d[5] == 1;
  }
  if (!ensure_parsers(t)) return 0;
  gfp_status st = gfp_ch_parse(t->ch, d, n);
  if (st == GFP_NEED_MORE) return n >= GCAP_DETECT_BYTES ? 0 : -1;
  return st == GFP_NOT_TLS &&
         (t->ch->kind == GFP_FLIGHT_HTTP1 || t->ch->kind == GFP_FLIGHT_H2_PREFACE);
}

static void progress(gcap_flows *t, flow *f) {
  if (f->state == F_DONE) return;
  if (f->client < 0) {
    for (int e = 0; e < 2 && f->client < 0; e++) {
      if (f->not_client[e] || f->s[e] == NULL) continue;
      int v = looks_like_client(t, f->s[e]->buf, gcap_stream_contiguous(f->s[e]));
      if (v == 1) {
        f->client = e;
      } else if (v == 0) {
        f->not_client[e] = true;
        gcap_stream_free(f->s[e], &t->budget);
        f->s[e] = NULL;
      }
    }
    if (f->client < 0) {
      if (f->not_client[0] && f->not_client[1]) {
        t->st->other_flows++; /* joined mid-way, or another protocol */
        flow_done(t, f);
      }
      return;
    }
  }
  int server = 1 - f->client;
  gcap_stream_free(f->s[server], &t->budget);
  f->s[server] = NULL;
  evaluate(t, f, false);
}

static void quic_finish(gcap_flows *t, flow *f);

static void finish_flow(gcap_flows *t, flow *f) {
  if (f->state == F_DONE) return;
  if (f->q != NULL) {
    quic_finish(t, f);
    return;
  }
  if (f->client < 0) {
    bool any = (f->s[0] != NULL && f->s[0]->nspan > 0) || (f->s[1] != NULL && f->s[1]->nspan > 0) ||
               f->not_client[0] || f->not_client[1];
    if (any) t->st->other_flows++;
    else t->st->empty_flows++;
    flow_done(t, f);
    return;
  }
  evaluate(t, f, true);
}

void gcap_flows_finish(gcap_flows *t) {
  for (size_t i = 0; i < t->n; i++) finish_flow(t, t->all[i]);
}

/* ---- the table ----------------------------------------------------------------------- */

/* The endpoints in a fixed order, so that both directions hash alike. */
static uint64_t hash_key(const gcap_flows *t, uint8_t family, uint8_t proto, const uint8_t *a,
                         uint16_t pa, const uint8_t *b, uint16_t pb) {
  uint8_t k[2 + 2 * 18];
  uint8_t ea[18], eb[18];
  memcpy(ea, a, 16);
  ea[16] = (uint8_t)(pa >> 8);
  ea[17] = (uint8_t)pa;
  memcpy(eb, b, 16);
  eb[16] = (uint8_t)(pb >> 8);
  eb[17] = (uint8_t)pb;
  bool swap = memcmp(ea, eb, sizeof(ea)) > 0;
  k[0] = family;
  k[1] = proto;
  memcpy(k + 2, swap ? eb : ea, 18);
  memcpy(k + 20, swap ? ea : eb, 18);
  return SIPHASH_24(t->sipkey, k, sizeof(k));
}

/* Endpoint index of the segment's source in |f|, or -1 if |f| is another connection. */
static int match(const flow *f, const gcap_segment *seg) {
  if (f->family != seg->family || f->proto != seg->proto) return -1;
  for (int e = 0; e < 2; e++) {
    if (f->port[e] == seg->sport && f->port[1 - e] == seg->dport &&
        memcmp(f->addr[e], seg->src, 16) == 0 && memcmp(f->addr[1 - e], seg->dst, 16) == 0)
      return e;
  }
  return -1;
}

/* Finds the slot of the segment's connection (or the empty slot where it goes). */
static size_t lookup(const gcap_flows *t, const gcap_segment *seg, int *endpoint) {
  uint64_t h = hash_key(t, seg->family, seg->proto, seg->src, seg->sport, seg->dst, seg->dport);
  size_t mask = t->nslot - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    uint32_t v = t->slot[i];
    if (v == 0) {
      *endpoint = -1;
      return i;
    }
    int e = match(t->all[v - 1], seg);
    if (e >= 0) {
      *endpoint = e;
      return i;
    }
  }
}

/* Keeps the table at most half full (so probes stay short and an empty slot exists). */
static bool grow(gcap_flows *t) {
  if (t->n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    flow **all = realloc(t->all, cap * sizeof(*all));
    if (all == NULL) return false;
    t->all = all;
    t->cap = cap;
  }
  if (2 * (t->n + 1) <= t->nslot) return true;
  size_t nslot = t->nslot ? t->nslot * 2 : 512;
  uint32_t *slot = calloc(nslot, sizeof(*slot));
  if (slot == NULL) return false;
  uint32_t *old = t->slot;
  size_t oldn = t->nslot;
  t->slot = slot;
  t->nslot = nslot;
  for (size_t i = 0; i < oldn; i++) {
    if (old[i] == 0) continue;
    const flow *f = t->all[old[i] - 1];
    uint64_t h = hash_key(t, f->family, f->proto, f->addr[0], f->port[0], f->addr[1], f->port[1]);
    size_t j = (size_t)h & (nslot - 1);
    while (slot[j] != 0) j = (j + 1) & (nslot - 1);
    slot[j] = old[i];
  }
  free(old);
  return true;
}

static int64_t seq_offset(uint32_t seq, uint32_t base) {
  /* Sequence numbers are modulo 2^32 (RFC 9293 §3.4): the distance from |base|, taken
   * as the nearer of forward and backward. */
  uint32_t d = seq - base;
  return d < 0x80000000u ? (int64_t)d : (int64_t)d - 0x100000000LL;
}

/* A new connection in the table for the segment's addresses and ports (endpoint 0 is the
 * segment's source), or NULL when the table is full (reported once) or memory ran out:
 * the packet is then counted as ignored. */
static flow *add_flow(gcap_flows *t, const gcap_segment *seg, uint64_t packet, int64_t sec,
                      long nsec) {
  if (t->n >= t->o.max_flows) {
    t->st->ignored_packets++;
    if (!t->overflow_reported) {
      char why[160];
      snprintf(why, sizeof(why),
               "more than %zu TCP and QUIC connections in the file (guise fp --max-flows): "
               "later connections are ignored",
               t->o.max_flows);
      t->overflow_reported = true;
      gcap_flows_file_error(t, "capture", 0, why, packet);
    }
    return NULL;
  }
  flow *f = calloc(1, sizeof(*f));
  if (f == NULL || !grow(t)) {
    free(f);
    t->st->ignored_packets++;
    return NULL;
  }
  f->family = seg->family;
  f->proto = seg->proto;
  memcpy(f->addr[0], seg->src, 16);
  memcpy(f->addr[1], seg->dst, 16);
  f->port[0] = seg->sport;
  f->port[1] = seg->dport;
  f->first_packet = packet;
  f->sec = sec;
  f->nsec = nsec;
  f->client = -1;
  t->all[t->n++] = f;
  /* After grow(): the empty slot, or the slot of the finished connection this one
   * replaces (which stays in |all| for its stream number). */
  int replaced;
  size_t at = lookup(t, seg, &replaced);
  t->slot[at] = (uint32_t)t->n;
  return f;
}

void gcap_flows_segment(gcap_flows *t, const gcap_segment *seg, uint64_t packet, int64_t sec,
                        long nsec) {
  t->st->tcp_segments++;
  bool syn = seg->flags & GCAP_TCP_SYN, ack = seg->flags & GCAP_TCP_ACK;
  int e = -1;
  size_t at = 0;
  flow *f = NULL;
  if (t->nslot > 0) {
    at = lookup(t, seg, &e);
    if (e >= 0) f = t->all[t->slot[at] - 1];
  }
  /* A SYN with another initial sequence number on the same address and port pair is a
   * new connection reusing the ports once the old one closed (RFC 9293 §3.4.1,
   * TIME-WAIT): the old one is finished and the new one gets its own stream. */
  if (f != NULL && syn && !ack &&
      ((f->syn[e] && f->base[e] != seg->seq + 1) || (!f->syn[e] && f->state == F_DONE))) {
    finish_flow(t, f);
    f = NULL;
  }
  if (f == NULL) {
    f = add_flow(t, seg, packet, sec, nsec);
    if (f == NULL) return;
    f->stream = t->ntcp++;
    t->st->flows++;
    e = 0;
  }
  if (f->state == F_DONE) return;

  if (syn) {
    /* RFC 9293 §3.5: the SYN comes from the side that opens; a SYN-ACK answers it. */
    if (f->client < 0) f->client = ack ? 1 - e : e;
    /* §3.4: the SYN occupies one sequence number; data starts at ISN + 1. */
    if (!f->base_known[e]) {
      f->base[e] = seg->seq + 1;
      f->base_known[e] = true;
    }
    f->syn[e] = true;
  }
  if (seg->payload_len > 0 || seg->missing_len > 0) {
    /* Data on a SYN (TCP Fast Open, RFC 7413) follows the SYN's sequence number. */
    uint32_t seq = seg->seq + (syn ? 1u : 0u);
    if (!f->base_known[e]) {
      f->base[e] = seq;
      f->base_known[e] = true;
    }
    bool wanted = f->client < 0 ? !f->not_client[e] : f->client == e;
    if (wanted && seg->payload_len > 0) {
      if (f->s[e] == NULL) f->s[e] = gcap_stream_new(t->o.max_flow_bytes);
      if (f->s[e] == NULL || gcap_stream_add(f->s[e], seq_offset(seq, f->base[e]), seg->payload,
                                             seg->payload_len, &t->budget) != 0) {
        flow_error(t, f, "capture", gcap_stream_contiguous(f->s[e]),
                   "memory for buffered connections exhausted (too many incomplete flights "
                   "at once)");
        flow_done(t, f);
        return;
      }
    }
    if (wanted && seg->missing_len > 0) f->snapped = true;
  }
  if (seg->flags & (GCAP_TCP_FIN | GCAP_TCP_RST)) f->closed[e] = true;
  progress(t, f);
}

/* ---- QUIC ------------------------------------------------------------------------------ */

/* The ClientHello of a QUIC connection travels in CRYPTO frames without TLS records (RFC
 * 9001 §4). The ClientHello parser reads records, so the handshake message is framed in
 * handshake records of at most 2^14 bytes (RFC 8446 §5.1) for it; offsets it reports are
 * mapped back to the message. */
enum { REC_MAX = 16384, REC_HDR = 5 };

static size_t msg_offset(size_t wrapped) {
  size_t rec = wrapped / (REC_MAX + REC_HDR), in = wrapped % (REC_MAX + REC_HDR);
  return rec * REC_MAX + (in >= REC_HDR ? in - REC_HDR : 0);
}

static void quic_error(gcap_flows *t, flow *f, size_t offset, const char *reason) {
  flow_error(t, f, "quic", offset, reason);
  flow_done(t, f);
}

/* Once the CRYPTO stream holds the whole first handshake message, reports it. */
static void quic_try_hello(gcap_flows *t, flow *f) {
  gcap_stream *s = f->q->crypto;
  size_t n = gcap_stream_contiguous(s);
  if (n < 4) return;
  const uint8_t *m = s->buf;
  if (m[0] != 1) {
    quic_error(t, f, 0, "the client's CRYPTO stream does not start with a ClientHello");
    return;
  }
  size_t body = ((size_t)m[1] << 16) | ((size_t)m[2] << 8) | m[3];
  if (body > GFP_CH_MAX_BODY || 4 + body > s->limit) {
    quic_error(t, f, 1, "ClientHello longer than the CRYPTO bytes kept per connection");
    return;
  }
  if (n < 4 + body) return;
  size_t len = 4 + body, nrec = (len + REC_MAX - 1) / REC_MAX;
  uint8_t *w = malloc(len + nrec * REC_HDR);
  if (w == NULL || !ensure_parsers(t)) {
    free(w);
    quic_error(t, f, 0, "out of memory");
    return;
  }
  size_t wl = 0;
  for (size_t off = 0; off < len; off += REC_MAX) {
    size_t part = len - off < REC_MAX ? len - off : REC_MAX;
    w[wl++] = 22; /* handshake */
    w[wl++] = 3;
    w[wl++] = 3;
    w[wl++] = (uint8_t)(part >> 8);
    w[wl++] = (uint8_t)part;
    memcpy(w + wl, m + off, part);
    wl += part;
  }
  gfp_status st = gfp_ch_parse(t->ch, w, wl);
  if (st == GFP_DONE) {
    deliver(t, flow_json(t, f), "tls", gfp_report_tls_quic(t->ch, m, len));
    flow_done(t, f);
  } else {
    quic_error(t, f, st == GFP_ERROR ? msg_offset(t->ch->err_offset) : len,
               st == GFP_ERROR ? t->ch->err_reason : "ClientHello incomplete");
  }
  free(w);
}

typedef struct crypto_ctx {
  gcap_flows *t;
  flow *f;
  bool failed;
} crypto_ctx;

static int on_crypto(uint64_t off, const uint8_t *data, size_t len, void *arg, const char **why) {
  crypto_ctx *c = arg;
  quic_conn *q = c->f->q;
  if (q->crypto == NULL) {
    size_t limit = c->t->o.max_flow_bytes < GQI_MAX_CRYPTO ? c->t->o.max_flow_bytes
                                                           : GQI_MAX_CRYPTO;
    q->crypto = gcap_stream_new(limit);
  }
  if (q->crypto == NULL ||
      gcap_stream_add(q->crypto, (int64_t)off, data, len, &c->t->budget) != 0) {
    *why = "memory for buffered connections exhausted (too many incomplete flights at once)";
    c->failed = true;
    return -1;
  }
  return 0;
}

/* One client Initial packet of |f| (header |h| at |pkt|). */
static void quic_initial(gcap_flows *t, flow *f, const uint8_t *pkt, const gqi_header *h) {
  quic_conn *q = f->q;
  if (t->qplain == NULL) t->qplain = malloc(GQI_MAX_DATAGRAM);
  if (t->qplain == NULL) {
    quic_error(t, f, 0, "out of memory");
    return;
  }
  size_t plen;
  uint64_t pn;
  const char *why = NULL;
  int r = gqi_open_initial(pkt, h, &q->keys, q->largest_pn, t->qplain, GQI_MAX_DATAGRAM, &plen, &pn,
                           &why);
  if (r != 0 && (h->dcid_len != q->odcid_len || memcmp(h->dcid, q->odcid, h->dcid_len) != 0)) {
    /* After a Retry the client derives new keys from the connection ID the Retry gave
     * (RFC 9001 §5.2); the CRYPTO stream starts over with them. */
    gqi_keys k;
    if (gqi_initial_keys(h->version, h->dcid, h->dcid_len, &k) == 0 &&
        gqi_open_initial(pkt, h, &k, -1, t->qplain, GQI_MAX_DATAGRAM, &plen, &pn, &why) == 0) {
      q->keys = k;
      q->largest_pn = -1;
      memcpy(q->odcid, h->dcid, h->dcid_len);
      q->odcid_len = h->dcid_len;
      gcap_stream_free(q->crypto, &t->budget);
      q->crypto = NULL;
      r = 0;
    }
  }
  if (r != 0) {
    q->failed++;
    t->st->quic_undecryptable++;
    return;
  }
  q->initials++;
  t->st->quic_initials++;
  if ((int64_t)pn > q->largest_pn) q->largest_pn = (int64_t)pn;
  crypto_ctx c = {t, f, false};
  size_t eoff = 0;
  if (gqi_walk_frames(t->qplain, plen, on_crypto, &c, NULL, &why, &eoff) != 0) {
    char msg[200];
    snprintf(msg, sizeof(msg), "%s (Initial packet number %llu, payload byte %zu)", why,
             (unsigned long long)pn, eoff);
    quic_error(t, f, q->crypto != NULL ? gcap_stream_contiguous(q->crypto) : 0, msg);
    return;
  }
  if (q->crypto != NULL) quic_try_hello(t, f);
}

/* Whether a datagram from a connection not yet known opens a QUIC connection: its first
 * packet is an Initial of version 1 or 2 (a client's first datagram, RFC 9000 §14.1). */
static bool opens_quic(const gcap_segment *seg, gqi_header *h) {
  const char *why;
  return seg->payload_len > 0 &&
         gqi_parse_long_header(seg->payload, seg->payload_len, h, &why) == 0 &&
         h->type == GQI_INITIAL;
}

void gcap_flows_datagram(gcap_flows *t, const gcap_segment *seg, uint64_t packet, int64_t sec,
                         long nsec) {
  t->st->udp_datagrams++;
  int e = -1;
  flow *f = NULL;
  if (t->nslot > 0) {
    size_t at = lookup(t, seg, &e);
    if (e >= 0) f = t->all[t->slot[at] - 1];
  }
  if (f == NULL) {
    gqi_header h;
    if (!opens_quic(seg, &h)) {
      t->st->ignored_packets++; /* DNS, other UDP protocols, QUIC joined mid-way */
      return;
    }
    quic_conn *q = calloc(1, sizeof(*q));
    if (q == NULL || gqi_initial_keys(h.version, h.dcid, h.dcid_len, &q->keys) != 0) {
      free(q);
      t->st->ignored_packets++;
      return;
    }
    f = add_flow(t, seg, packet, sec, nsec);
    if (f == NULL) {
      free(q);
      return;
    }
    q->version = h.version;
    memcpy(q->odcid, h.dcid, h.dcid_len);
    q->odcid_len = h.dcid_len;
    memcpy(q->scid, h.scid, h.scid_len);
    q->scid_len = h.scid_len;
    q->largest_pn = -1;
    f->q = q;
    f->client = 0;
    f->stream = t->nquic++;
    t->st->quic_flows++;
    e = 0;
  }
  /* RFC 9000 §12.2: several packets may share a datagram; each long header says where
   * it ends. A short header packet, a Retry and a Version Negotiation fill the rest. */
  const uint8_t *p = seg->payload;
  size_t left = seg->payload_len;
  for (unsigned i = 0; i < GQI_MAX_COALESCED && left > 0; i++) {
    /* Zero bytes are no packet (a first byte without the fixed bit, RFC 9000 §17.2). A
     * capture of a segmentation-offload send (UDP GSO) holds several datagrams in one,
     * each padded with zeros to the segment size (Firefox's neqo does so): skip them. */
    while (i > 0 && left > 0 && p[0] == 0) p++, left--;
    if (left == 0) break;
    if ((p[0] & 0x80) == 0) {
      t->st->quic_short++;
      break;
    }
    gqi_header h;
    const char *why;
    if (gqi_parse_long_header(p, left, &h, &why) != 0) {
      t->st->quic_other++;
      break;
    }
    switch (h.type) {
    case GQI_INITIAL:
      if (e != f->client) t->st->quic_server_initials++;
      else if (f->state != F_DONE && h.version == f->q->version) quic_initial(t, f, p, &h);
      break;
    case GQI_ZERO_RTT:
      t->st->quic_zero_rtt++;
      break;
    case GQI_HANDSHAKE:
      t->st->quic_handshake++;
      break;
    case GQI_RETRY:
      t->st->quic_retry++;
      break;
    case GQI_VERSION_NEGOTIATION:
    case GQI_UNKNOWN_VERSION:
      t->st->quic_other++;
      break;
    }
    p += h.packet_len;
    left -= h.packet_len;
  }
}

static void quic_finish(gcap_flows *t, flow *f) {
  quic_conn *q = f->q;
  if (q->crypto != NULL && gcap_stream_contiguous(q->crypto) > 0) {
    quic_error(t, f, gcap_stream_contiguous(q->crypto),
               "the capture ends before the ClientHello in the client's Initial packets is "
               "complete");
  } else if (q->initials == 0) {
    /* Not one Initial decrypted with the keys of its Destination Connection ID (RFC 9001
     * §5.2): a capture that starts with the server's Initial (the client's first was not
     * captured) looks like this, so it is skipped as a TCP connection joined mid-way is,
     * and counted (quic_undecryptable, other_flows). */
    t->st->other_flows++;
    flow_done(t, f);
  } else {
    quic_error(t, f, 0,
               "the client's Initial packets hold no CRYPTO data at the start of the stream");
  }
}

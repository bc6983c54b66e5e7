/*
 * echo_h3.c — guise echo's HTTP/3 server half (echo_h3.h), I/O-free. nghttp3 parses
 * the frames and decodes QPACK; what a fingerprint needs is recorded beside it from
 * the raw bytes: the type of each client unidirectional stream (RFC 9114 §6.2) and the
 * control stream's frames, SETTINGS (§7.2.4, wire order, GREASE ids 0x1f * N + 0x21 of
 * §7.2.4.1) and PRIORITY_UPDATE frames (RFC 9218 §7.2), read with BoringSSL's CBS; the
 * header fields of each request in the order nghttp3 decodes them. Every record has a
 * cap (echo_h3.h); nghttp3's own limits bound the rest.
 */
#include "echo_h3.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/rand.h>

#include "fp_report.h"
#include "quic_initial.h"

typedef struct uni {
  int64_t sid;
  uint8_t tbuf[8]; /* the stream type's varint, as it arrives */
  size_t tlen;
  int have_type;
  uint64_t type;
  uint8_t *data; /* the control stream only: bytes after the type */
  size_t len;
  int cut; /* the control stream went on past ECHO_H3_CONTROL_KEEP */
} uni;

struct echo_h3 {
  nghttp3_conn *conn;
  echo_h3_ops ops;
  void *arg;
  uni unis[ECHO_H3_MAX_UNI];
  size_t nuni;
  int truncated; /* a uni stream past ECHO_H3_MAX_UNI was not recorded */
  echo_h3_req *reqs; /* every request stream still open */
  size_t queued;     /* bytes of the answers of |reqs| */
  int overloaded;
};

static const char body_500[] = "{\"error\": \"no answer could be made\"}\n";

static int is_grease(uint64_t v) { return v >= 0x21 && (v - 0x21) % 0x1f == 0; }

/* ---- the raw control stream ------------------------------------------------------- */

/* RFC 9114 §7.2.4.1, RFC 9204 §5, RFC 9220 §3, RFC 9297 §2.1.1. */
static const char *setting_name(uint64_t id) {
  switch (id) {
  case 0x1: return "QPACK_MAX_TABLE_CAPACITY";
  case 0x6: return "MAX_FIELD_SECTION_SIZE";
  case 0x7: return "QPACK_BLOCKED_STREAMS";
  case 0x8: return "ENABLE_CONNECT_PROTOCOL";
  case 0x33: return "H3_DATAGRAM";
  default: return is_grease(id) ? "GREASE" : NULL;
  }
}

static int put(json_t *o, const char *k, json_t *v) { return v == NULL || json_object_set_new(o, k, v) != 0; }
static int push(json_t *a, json_t *v) { return v == NULL || json_array_append_new(a, v) != 0; }

int echo_h3_control_report(const uint8_t *p, size_t n, int cut, json_t *doc) {
  json_t *settings = json_array(), *frames = json_array(), *prios = json_array();
  int bad = settings == NULL || frames == NULL || prios == NULL;
  const char *error = NULL;
  size_t error_at = 0, nframes = 0, nsettings = 0, nprios = 0;
  int truncated = cut;
  CBS cbs;
  CBS_init(&cbs, p, n);
  while (!bad && CBS_len(&cbs) > 0) {
    size_t at = n - CBS_len(&cbs);
    uint64_t type, len;
    CBS body;
    if (!gqi_get_varint(&cbs, &type) || !gqi_get_varint(&cbs, &len) || len > CBS_len(&cbs) ||
        !CBS_get_bytes(&cbs, &body, (size_t)len)) {
      truncated = 1; /* the kept bytes end inside this frame */
      break;
    }
    if (nframes == 0 && type != 0x04 && error == NULL) {
      error = "the control stream does not start with SETTINGS (RFC 9114 §6.2.1)";
      error_at = at;
    }
    if (nframes++ < ECHO_H3_MAX_FRAMES) {
      json_t *f = json_object();
      bad = f == NULL || put(f, "type", json_integer((json_int_t)type)) ||
            put(f, "length", json_integer((json_int_t)len)) ||
            put(f, "grease", json_boolean(is_grease(type))) || push(frames, f);
    }
    if (type == 0x04 && nframes == 1) {
      while (!bad && CBS_len(&body) > 0) {
        uint64_t id, v;
        size_t sat = n - CBS_len(&cbs) - CBS_len(&body);
        if (!gqi_get_varint(&body, &id) || !gqi_get_varint(&body, &v)) {
          if (error == NULL) {
            error = "SETTINGS ends inside a parameter";
            error_at = sat;
          }
          break;
        }
        if (nsettings++ >= ECHO_H3_MAX_SETTINGS) {
          truncated = 1;
          continue;
        }
        const char *name = setting_name(id);
        json_t *s = json_object();
        bad = s == NULL || put(s, "id", json_integer((json_int_t)id)) ||
              put(s, "name", name ? json_string(name) : json_null()) ||
              put(s, "value", json_integer((json_int_t)v)) ||
              put(s, "grease", json_boolean(is_grease(id))) || push(settings, s);
      }
    } else if ((type == 0xF0700 || type == 0xF0701) && nprios < ECHO_H3_MAX_FRAMES) {
      uint64_t el;
      if (!gqi_get_varint(&body, &el)) {
        if (error == NULL) {
          error = "PRIORITY_UPDATE without a prioritized element id";
          error_at = at;
        }
        continue;
      }
      nprios++;
      json_t *u = json_object();
      bad = u == NULL || put(u, "type", json_integer((json_int_t)type)) ||
            put(u, "element", json_integer((json_int_t)el)) ||
            put(u, "value", gfp_report_text(CBS_data(&body), CBS_len(&body))) || push(prios, u);
    }
  }
  if (nframes > ECHO_H3_MAX_FRAMES) truncated = 1;
  if (!bad) {
    bad = json_object_set(doc, "settings", settings) != 0 ||
          json_object_set(doc, "control_frames", frames) != 0 ||
          json_object_set(doc, "priority_updates", prios) != 0 ||
          put(doc, "truncated", json_boolean(truncated));
    if (!bad && error != NULL)
      bad = put(doc, "error", gfp_report_error("http3 control stream", error_at, error));
  }
  json_decref(settings);
  json_decref(frames);
  json_decref(prios);
  return bad ? -1 : 0;
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

json_t *echo_h3_report(const echo_h3 *h) {
  json_t *doc = json_object(), *unis = json_array();
  int bad = doc == NULL || unis == NULL;
  const uni *ctrl = NULL;
  for (size_t i = 0; !bad && i < h->nuni; i++) {
    const uni *u = &h->unis[i];
    json_t *o = json_object();
    bad = o == NULL || put(o, "id", json_integer((json_int_t)u->sid)) ||
          put(o, "type", u->have_type ? json_integer((json_int_t)u->type) : json_null()) ||
          put(o, "kind", json_string(u->have_type ? uni_kind(u->type) : "empty")) || push(unis, o);
    if (u->have_type && u->type == 0 && ctrl == NULL) ctrl = u;
  }
  if (!bad) bad = json_object_set(doc, "uni_streams", unis) != 0;
  json_decref(unis);
  if (!bad) bad = echo_h3_control_report(ctrl ? ctrl->data : NULL, ctrl ? ctrl->len : 0,
                                         ctrl ? ctrl->cut : 0, doc) != 0;
  if (!bad && h->truncated) bad = put(doc, "truncated", json_true());
  if (bad) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

/* Keeps the type of a client uni stream, and the control stream's first bytes. */
static void record_uni(echo_h3 *h, int64_t sid, const uint8_t *p, size_t n) {
  uni *u = NULL;
  for (size_t i = 0; i < h->nuni && u == NULL; i++)
    if (h->unis[i].sid == sid) u = &h->unis[i];
  if (u == NULL) {
    if (h->nuni == ECHO_H3_MAX_UNI) {
      h->truncated = 1;
      return;
    }
    u = &h->unis[h->nuni++];
    memset(u, 0, sizeof(*u));
    u->sid = sid;
  }
  size_t i = 0;
  while (!u->have_type && i < n) {
    u->tbuf[u->tlen++] = p[i++];
    size_t want = (size_t)1 << (u->tbuf[0] >> 6); /* RFC 9000 §16: 1, 2, 4 or 8 bytes */
    if (u->tlen == want) {
      CBS c;
      CBS_init(&c, u->tbuf, u->tlen);
      u->have_type = gqi_get_varint(&c, &u->type);
    }
  }
  if (!u->have_type || u->type != 0 || i == n) return;
  if (u->data == NULL && (u->data = malloc(ECHO_H3_CONTROL_KEEP)) == NULL) {
    u->cut = 1;
    return;
  }
  size_t room = ECHO_H3_CONTROL_KEEP - u->len, k = n - i < room ? n - i : room;
  memcpy(u->data + u->len, p + i, k);
  u->len += k;
  if (k < n - i) u->cut = 1;
}

/* ---- requests --------------------------------------------------------------------- */

json_t *echo_h3_request_report(const echo_h3_req *req) {
  json_t *prio = json_null();
  for (size_t i = 0; i < json_array_size(req->headers); i++) {
    json_t *pair = json_array_get(req->headers, i);
    const char *name = json_string_value(json_array_get(pair, 0));
    if (name && strcmp(name, "priority") == 0) prio = json_array_get(pair, 1);
  }
  json_t *o = json_pack("{s:I, s:O, s:O}", "stream", (json_int_t)req->sid, "headers",
                        req->headers ? req->headers : json_null(), "priority", prio);
  if (o && req->truncated && put(o, "truncated", json_true())) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static void req_free(echo_h3 *h, echo_h3_req *r) {
  if (r->body) h->queued -= r->body_len;
  if (r->prev) r->prev->next = r->next;
  else h->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  json_decref(r->headers);
  free(r->body);
  free(r);
}

static int cb_begin_headers(nghttp3_conn *conn, int64_t sid, void *ud, void *sud) {
  echo_h3 *h = ud;
  if (sud != NULL || (sid & 3) != 0) return 0; /* trailers, or not a client request */
  echo_h3_req *r = calloc(1, sizeof(*r));
  if (r == NULL || (r->headers = json_array()) == NULL) {
    free(r);
    return NGHTTP3_ERR_NOMEM;
  }
  r->sid = sid;
  r->next = h->reqs;
  if (h->reqs) h->reqs->prev = r;
  h->reqs = r;
  if (nghttp3_conn_set_stream_user_data(conn, sid, r) != 0) {
    req_free(h, r);
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int cb_recv_header(nghttp3_conn *conn, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *ud, void *sud) {
  (void)conn, (void)sid, (void)token, (void)flags, (void)ud;
  echo_h3_req *r = sud;
  if (r == NULL) return 0;
  nghttp3_vec nv = nghttp3_rcbuf_get_buf(name), vv = nghttp3_rcbuf_get_buf(value);
  r->hbytes += nv.len + vv.len;
  if (r->nfields >= ECHO_H3_MAX_FIELDS || r->hbytes > ECHO_H3_HEADER_BYTES) {
    r->truncated = 1;
    return 0;
  }
  if (nv.len == 7 && memcmp(nv.base, ":method", 7) == 0 && vv.len == 4 &&
      memcmp(vv.base, "HEAD", 4) == 0)
    r->head = 1;
  json_t *pair = json_pack("[o, o]", gfp_report_text(nv.base, nv.len),
                           gfp_report_text(vv.base, vv.len));
  if (pair == NULL || json_array_append_new(r->headers, pair) != 0) return NGHTTP3_ERR_NOMEM;
  r->nfields++;
  return 0;
}

static nghttp3_ssize read_body(nghttp3_conn *conn, int64_t sid, nghttp3_vec *vec, size_t veccnt,
                               uint32_t *pflags, void *ud, void *sud) {
  (void)conn, (void)sid, (void)veccnt, (void)ud;
  echo_h3_req *r = sud;
  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  if (r == NULL || r->body == NULL) {
    vec[0].base = (uint8_t *)body_500;
    vec[0].len = sizeof(body_500) - 1;
  } else {
    vec[0].base = (uint8_t *)r->body;
    vec[0].len = r->body_len;
  }
  return 1;
}

static int cb_end_stream(nghttp3_conn *conn, int64_t sid, void *ud, void *sud) {
  echo_h3 *h = ud;
  echo_h3_req *r = sud;
  if (r == NULL || r->answered) return 0;
  r->answered = 1;
  r->body = h->ops.answer ? h->ops.answer(h->arg, r, &r->body_len) : NULL;
  if (r->body && r->body_len > ECHO_H3_MAX_QUEUED - h->queued) {
    free(r->body);
    r->body = NULL;
    h->overloaded = 1;
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  if (r->body) h->queued += r->body_len;
  const char *status = r->body ? "200" : "500";
  size_t len = r->body ? r->body_len : sizeof(body_500) - 1;
  char clen[24];
  int cl = snprintf(clen, sizeof(clen), "%zu", len);
  nghttp3_nv nva[] = {
      {(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"application/json", 12, 16, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"content-length", (uint8_t *)clen, 14, (size_t)cl, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"cache-control", (uint8_t *)"no-store", 13, 8, NGHTTP3_NV_FLAG_NONE},
  };
  nghttp3_data_reader dr = {read_body};
  /* RFC 9110 §9.3.2: a HEAD response has the headers of a GET, and no content. */
  if (nghttp3_conn_submit_response(conn, sid, nva, sizeof(nva) / sizeof(nva[0]),
                                   r->head ? NULL : &dr) != 0)
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  return 0;
}

static int cb_stream_close(nghttp3_conn *conn, int64_t sid, uint64_t code, void *ud, void *sud) {
  (void)conn, (void)sid, (void)code;
  if (sud != NULL) req_free(ud, sud);
  return 0;
}

static int cb_recv_data(nghttp3_conn *conn, int64_t sid, const uint8_t *d, size_t n, void *ud,
                        void *sud) {
  (void)conn, (void)d, (void)sud;
  echo_h3 *h = ud;
  if (h->ops.consumed) h->ops.consumed(h->arg, sid, n); /* request bodies are dropped */
  return 0;
}

static int cb_deferred_consume(nghttp3_conn *conn, int64_t sid, size_t n, void *ud, void *sud) {
  (void)conn, (void)sud;
  echo_h3 *h = ud;
  if (h->ops.consumed) h->ops.consumed(h->arg, sid, n);
  return 0;
}

static void cb_rand(uint8_t *d, size_t n) { RAND_bytes(d, n); }

int echo_h3_new(echo_h3 **out, const echo_h3_ops *ops, void *arg) {
  *out = NULL;
  echo_h3 *h = calloc(1, sizeof(*h));
  if (h == NULL) return -1;
  h->ops = *ops;
  h->arg = arg;
  nghttp3_callbacks cb = {
      .stream_close = cb_stream_close,
      .recv_data = cb_recv_data,
      .deferred_consume = cb_deferred_consume,
      .begin_headers = cb_begin_headers,
      .recv_header = cb_recv_header,
      .end_stream = cb_end_stream,
      .rand = cb_rand,
  };
  nghttp3_settings s;
  nghttp3_settings_default(&s);
  s.max_field_section_size = ECHO_H3_HEADER_BYTES;
  s.qpack_max_dtable_capacity = 4096;
  s.qpack_blocked_streams = 16;
  if (nghttp3_conn_server_new(&h->conn, &cb, &s, NULL, h) != 0) {
    free(h);
    return -1;
  }
  nghttp3_conn_set_max_client_streams_bidi(h->conn, 100);
  *out = h;
  return 0;
}

void echo_h3_free(echo_h3 *h) {
  if (h == NULL) return;
  nghttp3_conn_del(h->conn);
  while (h->reqs) req_free(h, h->reqs);
  for (size_t i = 0; i < h->nuni; i++) free(h->unis[i].data);
  free(h);
}

nghttp3_conn *echo_h3_conn(echo_h3 *h) { return h->conn; }

int echo_h3_overloaded(const echo_h3 *h) { return h->overloaded; }

nghttp3_ssize echo_h3_read(echo_h3 *h, int64_t sid, const uint8_t *p, size_t n, int fin,
                           uint64_t ts) {
  if ((sid & 3) == 2) record_uni(h, sid, p, n);
  return nghttp3_conn_read_stream2(h->conn, sid, p, n, fin, ts);
}

/*
 * session_h2.c — the HTTP/2 session of session.h: requests and responses over
 * h2.c's h2_conn (which shapes the connection like a browser's, over nghttp2),
 * plus the write-coalescing hold.
 *
 * I/O-free: it calls h2.c and gerr.c only, and asks its host (the pool) for one
 * timer through session_host.set_timer. The pool calls it through session.h's
 * ops; nothing else does.
 *
 * Streams: each submitted request takes a slot (max_streams of them at most,
 * and at most H2_DEFAULT_MAX_REQUESTS): the slot is the user_data h2.c gives
 * back to the stream callbacks and holds the caller's callbacks and user_data.
 * Slots are made as the connection's concurrency reaches a new height and kept
 * on a free list for the streams after, so a stream costs no allocation once
 * the connection has carried as many at once, and an idle connection that
 * carried one request at a time holds one slot (tools/bench/idle: making all
 * 100 with the session cost 5.4 KB a connection).
 */
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "h2.h"
#include "session.h"

_Static_assert((int)H2_HEADERS_INFORMATIONAL == (int)SESSION_HEAD_INTERIM &&
                   (int)H2_HEADERS_RESPONSE == (int)SESSION_HEAD_FINAL &&
                   (int)H2_HEADERS_TRAILERS == (int)SESSION_HEAD_TRAILERS,
               "h2 header kinds and session head kinds have the same values");

/* The detail of a stream that ended with an error h2.c gave no reason for. */
#define H2S_STREAM_ERROR "the HTTP/2 stream ended with an error"

typedef struct session_h2 session_h2;

typedef struct h2_slot {
  session_h2 *s;
  session_stream_callbacks cb;
  void *ud;
  struct h2_slot *next_free; /* on the free list */
  struct h2_slot *next_made; /* every slot made, to free them with the session */
} h2_slot;

struct session_h2 {
  session base;       /* first: session.h's */
  h2_conn *h2;
  session_host host;
  session_config cfg;
  h2_slot *free_slots, *made_slots;
  size_t max_slots, n_made, n_free;
  int holding;        /* output held back (coalescing); the host's timer runs */
  int in_recv;        /* inside h2_recv: the hold is decided once it returns */
  int in_send;        /* inside h2_send: a request submitted from a stream's end
                         goes out with this flush, not held */
  int failed;         /* the connection failed: the code recv or send gave */
  int goaway;         /* the server sent GOAWAY */
  int settings_wait;  /* the shape waits for the server's SETTINGS; the host's
                         timer runs from the first request until they come */
  const gerr *eof_why; /* during eof(): the transport's error */
  int cfg_wait;       /* h2_shape.wait_for_server_settings */
  int eof_own_text;   /* during eof(): |eof_why|'s text is the streams' */
};

/* ---- write coalescing ---------------------------------------------------------- */

/* Write coalescing (session_config.coalesce_ms, guise_client_options.h2_coalesce_ms):
 * new requests for fewer than half of a connection's streams, while half or more
 * still await their answers, wait for those answers (or |coalesce_ms|) and go
 * out with the requests they make room for. Without it a busy connection settles
 * into many small writes — the requests that one read of answers made room for —
 * and the server, the bottleneck on a shared core, pays a read and a TLS record
 * for each (strace, 1 connection x 100 streams: 20 requests a write against
 * h2load's 96; server CPU per request 5-8 % above h2load's, 2-4 % with the hold;
 * tools/bench/batch, docs/BENCHMARKS.md). Only HEADERS wait: with a reply queued
 * (SETTINGS or PING ACK, WINDOW_UPDATE, RST_STREAM) or a request body to send,
 * everything goes out at once. */
static int hold_output(const session_h2 *s) {
  if (s->cfg.coalesce_ms == 0 || s->failed) return 0;
  size_t unsent = h2_unsent_requests(s->h2);
  if (unsent == 0) return 0;
  size_t enough = s->cfg.max_streams / 2 > 2 ? s->cfg.max_streams / 2 : 2;
  if (unsent >= enough) return 0;
  /* the answers that will release them: streams sent and not ended */
  size_t open = h2_open_requests(s->h2);
  if (open < unsent + enough) return 0;
  /* nothing else waits: no reply, no request body */
  return !h2_bodies_pending(s->h2) && h2_queued_frames(s->h2) == unsent;
}

/* Decides the hold after what may change it (a request queued, bytes received,
 * a stream cancelled); a hold that runs keeps its timer. */
static void update_hold(session_h2 *s) {
  if (s->in_recv || s->in_send) return;
  if (hold_output(s)) {
    if (!s->holding) {
      s->holding = 1;
      if (s->host.set_timer) s->host.set_timer(s->host.arg, s->cfg.coalesce_ms);
    }
  } else if (s->holding) {
    s->holding = 0;
    if (s->host.set_timer) s->host.set_timer(s->host.arg, 0);
  }
}

/* ---- h2.c's callbacks ------------------------------------------------------------ */

static int on_headers(void *ud, int32_t id, h2_headers_kind kind, int status, const h2_header *h,
                      size_t n) {
  (void)id;
  h2_slot *sl = ud;
  return sl->cb.on_head ? sl->cb.on_head(sl->ud, (session_head_kind)kind, status, h, n) : 0;
}

static int on_data(void *ud, int32_t id, const uint8_t *p, size_t n) {
  (void)id;
  h2_slot *sl = ud;
  return sl->cb.on_data ? sl->cb.on_data(sl->ud, p, n) : 0;
}

static void on_close(void *ud, int32_t id, int err, uint32_t h2_error) {
  (void)id;
  h2_slot *sl = ud;
  session_h2 *s = sl->s;
  gerr e;
  gerr_clear(&e);
  if (err) {
    /* The transport's end: its layer and code, h2.c's words for the stream. */
    const gerr *why = s->eof_why;
    int from_transport = why && why->code == err;
    const char *reason = h2_close_reason(s->h2);
    if (from_transport && s->eof_own_text) reason = why->text; /* the session's own end */
    gerr_set(&e, err, from_transport ? why->layer : "http2", from_transport ? why->lib : (int)h2_error,
             "%s", reason ? reason : H2S_STREAM_ERROR);
  }
  session_stream_callbacks cb = sl->cb;
  void *user = sl->ud;
  /* The slot is free before the callback: it may submit the next request. */
  sl->next_free = s->free_slots;
  s->free_slots = sl;
  s->n_free++;
  if (cb.on_close) cb.on_close(user, &e, err == GUISE_E_HTTP2_REFUSED);
}

static void on_goaway(void *ud, uint32_t last_stream_id, uint32_t error_code) {
  (void)last_stream_id, (void)error_code;
  session_h2 *s = ud;
  s->goaway = 1; /* no new stream; over once the last one ends (alive) */
}

/* ---- ops ----------------------------------------------------------------------- */

static int h2s_submit(session *ss, const session_request *r, const session_stream_callbacks *cb, void *ud,
                      uint32_t *stream) {
  session_h2 *s = (session_h2 *)ss;
  if (stream) *stream = 0;
  if (r == NULL || cb == NULL) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (s->free_slots == NULL) {
    if (s->n_made == s->max_slots) return h2_takes_requests(s->h2) ? GUISE_E_NOMEM : GUISE_E_HTTP2_GOAWAY;
    h2_slot *made = malloc(sizeof(*made));
    if (made == NULL) return GUISE_E_NOMEM;
    made->next_made = s->made_slots;
    s->made_slots = made;
    made->next_free = NULL;
    s->free_slots = made;
    s->n_made++;
    s->n_free++;
  }
  h2_slot *sl = s->free_slots;
  h2_body body; /* copied by h2_submit */
  h2_request hr = {.method = r->method,
                   .scheme = r->scheme,
                   .authority = r->authority,
                   .path = r->path,
                   .headers = r->headers,
                   .n_headers = r->n_headers,
                   .priority = r->priority,
                   .headers_checked = r->headers_checked,
                   .strings_kept = r->strings_kept};
  if (r->body) {
    body.read = r->body->read;
    body.arg = r->body->arg;
    hr.body = &body;
  }
  static const h2_stream_callbacks scb = {on_headers, on_data, on_close};
  sl->s = s;
  sl->cb = *cb;
  sl->ud = ud;
  int32_t id = 0;
  int e = h2_submit(s->h2, &hr, &scb, sl, &id);
  if (e) return e; /* nothing queued: the slot stays free */
  s->free_slots = sl->next_free;
  s->n_free--;
  if (stream) *stream = (uint32_t)id;
  if (s->cfg_wait && !s->settings_wait && !h2_server_settings_seen(s->h2)) {
    /* No hold can run meanwhile: nothing has been sent, so no answer is due. */
    s->settings_wait = 1;
    if (s->host.set_timer) s->host.set_timer(s->host.arg, H2_SERVER_SETTINGS_WAIT_MS);
  }
  update_hold(s);
  return 0;
}

static int h2s_recv(session *ss, const uint8_t *p, size_t n) {
  session_h2 *s = (session_h2 *)ss;
  if (s->failed) return s->failed;
  s->in_recv = 1;
  int e = h2_recv(s->h2, p, n);
  s->in_recv = 0;
  if (e) s->failed = e;
  if (s->settings_wait && h2_server_settings_seen(s->h2)) {
    s->settings_wait = 0;
    if (!s->holding && s->host.set_timer) s->host.set_timer(s->host.arg, 0);
  }
  update_hold(s); /* replies (SETTINGS ACK, PING, WINDOW_UPDATE) release it */
  return e;
}

static int h2s_send(session *ss, uint8_t *out, size_t cap, size_t *n) {
  session_h2 *s = (session_h2 *)ss;
  *n = 0;
  if (s->holding) return 0;
  s->in_send = 1;
  int e = h2_send(s->h2, out, cap, n);
  s->in_send = 0;
  if (e && !s->failed) s->failed = e;
  return e;
}

static int h2s_want_write(const session *ss) {
  const session_h2 *s = (const session_h2 *)ss;
  return !s->holding && h2_want_write(s->h2);
}

static size_t h2s_capacity(const session *ss) {
  const session_h2 *s = (const session_h2 *)ss;
  if (s->failed || s->goaway) return 0;
  size_t open = h2_open_requests(s->h2);
  size_t room = open < s->cfg.max_streams ? s->cfg.max_streams - open : 0;
  size_t slots = s->n_free + (s->max_slots - s->n_made);
  if (slots < room) room = slots;
  /* nghttp2's own check last: the pool asks every connection of an origin in
   * turn, and most of a busy origin's have no room (callgrind, 10 connections x
   * 10 streams: the check first cost 400 instructions a request). */
  return room && h2_takes_requests(s->h2) ? room : 0;
}

static size_t h2s_open_streams(const session *ss) {
  return h2_open_requests(((const session_h2 *)ss)->h2);
}

static int h2s_alive(const session *ss) {
  const session_h2 *s = (const session_h2 *)ss;
  if (s->failed) return 0;
  if (h2_open_requests(s->h2) == 0 && (s->goaway || !h2_want_read(s->h2))) return 0;
  return 1;
}

static void h2s_cancel(session *ss, uint32_t stream) {
  session_h2 *s = (session_h2 *)ss;
  if (stream == 0 || stream > 0x7fffffffu) return;
  (void)h2_cancel(s->h2, (int32_t)stream); /* unknown: nothing to do */
  update_hold(s); /* the RST_STREAM goes out at once */
}

static void h2s_eof(session *ss, const gerr *why) {
  session_h2 *s = (session_h2 *)ss;
  s->eof_why = why;
  h2_eof(s->h2, why && why->code ? why->code : GUISE_E_CONNECT_CLOSED);
  s->eof_why = NULL;
  if (s->holding || s->settings_wait) {
    s->holding = 0;
    s->settings_wait = 0;
    if (s->host.set_timer) s->host.set_timer(s->host.arg, 0);
  }
}

static void h2s_timeout(session *ss) {
  session_h2 *s = (session_h2 *)ss;
  if (s->settings_wait) {
    /* Sending the requests anyway would show a frame order the profile's
     * browser never sends: the connection fails, as on a transport error. */
    s->settings_wait = 0;
    gerr why;
    gerr_clear(&why);
    gerr_set(&why, GUISE_E_HTTP2_PROTOCOL, "http2", 0,
             "no SETTINGS frame from the server within %d ms (RFC 9113 3.4: its first frame); "
             "the profile waits for it before the first request",
             H2_SERVER_SETTINGS_WAIT_MS);
    s->failed = GUISE_E_HTTP2_PROTOCOL;
    s->eof_why = &why;
    s->eof_own_text = 1;
    h2_eof(s->h2, GUISE_E_HTTP2_PROTOCOL);
    s->eof_own_text = 0;
    s->eof_why = NULL;
    return;
  }
  s->holding = 0; /* what was held goes out now, whatever waits */
}

static int h2s_resume(session *ss, uint32_t stream) {
  session_h2 *s = (session_h2 *)ss;
  if (stream == 0 || stream > 0x7fffffffu || s->failed) return GUISE_E_USAGE_INVALID_ARGUMENT;
  int e = h2_resume_body(s->h2, (int32_t)stream);
  update_hold(s); /* a body to send: nothing is held */
  return e;
}

static void h2s_free(session *ss) {
  session_h2 *s = (session_h2 *)ss;
  h2_conn_free(s->h2); /* open streams: on_close CANCELLED */
  for (h2_slot *sl = s->made_slots, *next; sl; sl = next) {
    next = sl->next_made;
    free(sl);
  }
  free(s);
}

static const session_ops h2s_ops;

size_t session_h2_idle_release(session *ss) {
  /* Only this file's sessions (tests give the pool sessions of their own). */
  if (ss == NULL || ss->ops != &h2s_ops) return 0;
  return h2_idle_release(((session_h2 *)ss)->h2);
}

static const session_ops h2s_ops = {
    .proto = SESSION_H2,
    .name = "HTTP/2",
    .submit = h2s_submit,
    .recv = h2s_recv,
    .send = h2s_send,
    .want_write = h2s_want_write,
    .capacity = h2s_capacity,
    .open_streams = h2s_open_streams,
    .alive = h2s_alive,
    .cancel = h2s_cancel,
    .eof = h2s_eof,
    .timeout = h2s_timeout,
    .free = h2s_free,
    .resume = h2s_resume,
};

int session_h2_new(session **out, const h2_shape *shape, const session_config *cfg,
                   const session_host *host) {
  *out = NULL;
  if (shape == NULL || cfg == NULL || cfg->max_streams == 0) return GUISE_E_USAGE_INVALID_ARGUMENT;
  session_h2 *s = calloc(1, sizeof(*s));
  if (s == NULL) return GUISE_E_NOMEM;
  s->base.ops = &h2s_ops;
  s->cfg = *cfg;
  s->cfg_wait = shape->wait_for_server_settings;
  if (host) s->host = *host;
  h2_limits lim;
  h2_limits_init(&lim);
  s->max_slots = cfg->max_streams < lim.max_requests ? cfg->max_streams : lim.max_requests;
  h2_conn_callbacks ccb = {on_goaway};
  int e = h2_conn_new(&s->h2, shape, &lim, &ccb, s);
  if (e) {
    free(s);
    return e;
  }
  *out = &s->base;
  return 0;
}

/*
 * fuzz_session_h3 — the HTTP/3 session (client/lib/session_h3.c) reading what a
 * hostile server sends on a request stream: the input, as raw bytes with FIN, is
 * the server's answer to a GET (HTTP/3 frames, QPACK field sections, anything),
 * carried by a real QUIC connection from the in-process test server
 * (tests/unit/quic/h3_test_server.c) to a session with the chromium-156-linux
 * profile. Datagrams go through memory; time is a fake clock that jumps to the
 * next deadline, so an input that never ends the stream ends it by the idle
 * timeout. Checked: no crash or sanitizer report, the stream ends exactly once
 * (on_close), with 0 only after a final response.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "guise.h"
#include "h3_test_server.h"
#include "profile.h"
#include "session.h"
#include "session_h3.h"

#define MAX_RAW (64u * 1024u)

static uint64_t fake_now = 1000000000ull;
static uint64_t clock_fn(void *arg) {
  (void)arg;
  return fake_now;
}

static uint64_t deadline = UINT64_MAX;
static void set_timer(void *arg, unsigned ms) {
  (void)arg;
  deadline = ms ? fake_now + (uint64_t)ms * 1000000u : UINT64_MAX;
}

static int closed, finals, close_code;
static int on_head(void *ud, session_head_kind kind, int status, const session_header *h, size_t n) {
  (void)ud, (void)status;
  for (size_t i = 0; i < n; i++)
    if (h[i].name[h[i].name_len] != 0 || h[i].value[h[i].value_len] != 0) abort(); /* NUL-terminated */
  if (kind == SESSION_HEAD_FINAL) finals++;
  return 0;
}
static int on_data(void *ud, const uint8_t *p, size_t n) {
  (void)ud;
  volatile uint8_t x = 0;
  for (size_t i = 0; i < n; i++) x ^= p[i]; /* every byte readable */
  (void)x;
  return 0;
}
static void on_close(void *ud, const gerr *err, int retryable) {
  (void)ud, (void)retryable;
  closed++;
  close_code = err->code;
}

static void exchange(session *s, h3ts *srv, int *moved) {
  static uint8_t buf[2048];
  if (h3ts_take_from(srv, s) > 0) *moved = 1;
  for (size_t n; (n = h3ts_send(srv, buf, sizeof buf)) > 0;) {
    *moved = 1;
    session_recv(s, buf, n);
  }
}

/* Runs until |done| or 2000 rounds; when nothing moves, time jumps. */
static void run(session *s, h3ts *srv, int (*done)(session *)) {
  for (int round = 0; round < 2000 && !done(s); round++) {
    int moved = 0;
    exchange(s, srv, &moved);
    if (moved) continue;
    uint64_t next = deadline, se = h3ts_expiry(srv);
    if (se < next) next = se;
    if (next == UINT64_MAX) return;
    if (next > fake_now) fake_now = next;
    if (deadline <= fake_now) {
      deadline = UINT64_MAX;
      session_timeout(s);
    }
    if (h3ts_expiry(srv) <= fake_now) h3ts_timeout(srv);
  }
}

static int ready(session *s) { return session_capacity(s) > 0 || !session_alive(s); }
static int ended(session *s) { return closed > 0 || !session_alive(s); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static profile prof;
  static int loaded;
  char err[256];
  if (!loaded) {
    if (profile_load_builtin("chromium-156-linux", &prof, err, sizeof err) != 0) abort();
    loaded = 1;
  }
  if (size > MAX_RAW) return 0;
  closed = finals = close_code = 0;
  deadline = UINT64_MAX;
  h3ts *srv = h3ts_new(clock_fn, NULL);
  if (srv == NULL) abort();
  tls_client_config cc;
  memset(&cc, 0, sizeof cc);
  cc.insecure = 1;
  int e = 0;
  const char *why = NULL;
  SSL_CTX *ctx = session_h3_ctx_new(&prof, &cc, &e, &why);
  if (ctx == NULL) abort();
  struct sockaddr_in remote, local;
  h3ts_loopback_addrs(&remote, &local);
  session_h3_config cfg = {.profile = &prof,
                           .server_name = "localhost",
                           .remote = (struct sockaddr *)&remote,
                           .remote_len = sizeof remote,
                           .local = (struct sockaddr *)&local,
                           .local_len = sizeof local,
                           .ctx = ctx,
                           .max_streams = 4,
                           .now_ns = clock_fn};
  session_host host = {set_timer, NULL};
  session *s = NULL;
  if (session_h3_new(&cfg, &host, &s) != 0) abort();
  SSL_CTX_free(ctx);
  run(s, srv, ready);
  if (session_capacity(s) == 0) abort(); /* the handshake with the test server always completes */
  h3ts_set_raw(srv, data, size);
  static const session_stream_callbacks cbs = {on_head, on_data, on_close};
  session_request rq = {.method = "GET", .scheme = "https", .authority = "localhost", .path = "/raw"};
  if (session_submit(s, &rq, &cbs, NULL, NULL) != 0) abort();
  run(s, srv, ended);
  if (closed > 1 || (closed == 1 && close_code == 0 && finals != 1)) abort();
  session_free(s);
  if (closed != 1) abort(); /* free() ends a stream still open */
  h3ts_free(srv);
  return 0;
}

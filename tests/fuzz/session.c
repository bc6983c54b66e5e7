/*
 * libFuzzer target: arbitrary server bytes into a protocol session
 * (client/lib/session_h1.c or session_h2.c) after submitted requests.
 *
 * Input: 1 byte of flags (bit 0 HTTP/2, else HTTP/1.1; bit 1 end with eof; bit
 * 2 the first request is HEAD; bit 3 write coalescing on; bit 4 cancel the
 * first stream half-way; bit 5 the host's timer fires after every chunk), then the server's bytes, fed in chunks whose sizes
 * come from the input itself (each chunk is preceded by its length byte). For
 * HTTP/2 the server's first bytes are a valid empty SETTINGS frame. Whenever a
 * stream ends and the session takes another, the next request is submitted.
 *
 * Checks (abort on failure): every accepted submit gets exactly one on_close,
 * never two, none after free; names and values given to on_head are
 * NUL-terminated at their length; open_streams never exceeds what was
 * accepted; after recv or send gives an error the session is not alive and
 * takes nothing; retryable is only set on an error.
 */
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQ 8

static int closes[MAX_REQ];
static int accepted;
volatile uint8_t session_fuzz_sink;

static int on_head(void *ud, session_head_kind kind, int status, const session_header *h, size_t n) {
  (void)ud, (void)kind, (void)status;
  for (size_t i = 0; i < n; i++) {
    if (h[i].name[h[i].name_len] != '\0' || h[i].value[h[i].value_len] != '\0') abort();
    for (size_t k = 0; k < h[i].name_len; k++) session_fuzz_sink = (uint8_t)h[i].name[k];
    for (size_t k = 0; k < h[i].value_len; k++) session_fuzz_sink = (uint8_t)h[i].value[k];
  }
  return 0;
}

static int on_data(void *ud, const uint8_t *p, size_t n) {
  (void)ud;
  for (size_t k = 0; k < n; k++) session_fuzz_sink = p[k];
  return 0;
}

static void on_close(void *ud, const gerr *e, int retryable) {
  int i = (int)(intptr_t)ud;
  if (i < 0 || i >= accepted || closes[i]) abort(); /* once, and only for accepted streams */
  closes[i]++;
  if (retryable && e->code == 0) abort();
}

static const session_stream_callbacks CB = {on_head, on_data, on_close};

static long body_read(void *arg, uint8_t *buf, size_t len, int *eof) {
  size_t *left = arg;
  size_t n = *left < len ? *left : len;
  memset(buf, 'b', n);
  *left -= n;
  *eof = *left == 0;
  return (long)n;
}

static uint32_t ids[MAX_REQ];
static size_t body_left;

static void submit(session *s, int h2, int head) {
  if (accepted >= MAX_REQ || session_capacity(s) == 0) return;
  static const session_header h1f[] = {{"Host", 4, "example.com", 11}, {"Accept", 6, "*/*", 3}};
  static const session_header h2f[] = {{"accept", 6, "*/*", 3}, {"user-agent", 10, "fuzz", 4}};
  session_body body = {body_read, &body_left, 300};
  int post = accepted % 2 == 1;
  if (post) body_left = 300;
  session_request r = {.method = head ? "HEAD" : post ? "POST" : "GET",
                       .scheme = "https",
                       .authority = "example.com",
                       .path = "/",
                       .headers = h2 ? h2f : h1f,
                       .n_headers = 2,
                       .body = post ? &body : NULL};
  if (session_submit(s, &r, &CB, (void *)(intptr_t)accepted, &ids[accepted]) == 0) accepted++;
}

static int drain(session *s) {
  static uint8_t out[16384];
  for (int i = 0; i < 64 && session_want_write(s); i++) {
    size_t n = 0;
    int e = session_send(s, out, sizeof(out), &n);
    if (e) return e;
    if (n == 0) break;
  }
  return 0;
}

static void no_timer(void *arg, unsigned ms) { (void)arg, (void)ms; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t flags = data[0];
  data++, size--;
  int h2 = flags & 1;
  memset(closes, 0, sizeof(closes));
  accepted = 0;
  session_config cfg = {h2 ? 4 : 1, (flags & 8) ? 1 : 0};
  session_host host = {no_timer, NULL};
  session *s = NULL;
  if (h2) {
    h2_shape sh;
    h2_shape_init(&sh);
    sh.settings[0] = (h2_setting){1, 65536};
    sh.settings[1] = (h2_setting){2, 0};
    sh.settings[2] = (h2_setting){4, 6291456};
    sh.n_settings = 3;
    sh.window_update = 15663105;
    if (session_h2_new(&s, &sh, &cfg, &host) != 0) return 0;
  } else if (session_h1_new(&s, &cfg, &host) != 0) {
    return 0;
  }
  submit(s, h2, (flags & 4) != 0);
  if (h2) submit(s, h2, 0);
  int failed = drain(s);
  if (h2 && !failed) {
    static const uint8_t settings[] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    failed = session_recv(s, settings, sizeof(settings));
  }
  size_t at = 0;
  int cancelled = 0;
  while (!failed && at < size) {
    size_t n = data[at++];
    if (n == 0) n = 1;
    if (n > size - at) n = size - at;
    failed = session_recv(s, data + at, n);
    at += n;
    if (!failed && (flags & 32)) session_timeout(s);
    if (!failed) failed = drain(s);
    if ((flags & 16) && !cancelled && at > size / 2) {
      cancelled = 1;
      session_cancel(s, ids[0]);
      if (!failed) failed = drain(s);
    }
    if (session_open_streams(s) > (size_t)accepted) abort();
    if (!failed && session_alive(s)) submit(s, h2, 0);
    if (!session_alive(s)) break;
  }
  if (failed && (session_alive(s) || session_capacity(s) != 0)) abort();
  if (flags & 2) {
    gerr why;
    gerr_clear(&why);
    session_eof(s, &why);
    if (session_open_streams(s) != 0) abort();
  }
  session_free(s);
  for (int i = 0; i < accepted; i++)
    if (closes[i] != 1) abort();
  return 0;
}

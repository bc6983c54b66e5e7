/*
 * libFuzzer target: arbitrary server bytes into an HTTP/2 client connection
 * (client/lib/h2.c). The client has sent a Chrome-shaped preface and one GET and
 * holds a POST whose body pauses; the server's first bytes are a valid empty
 * SETTINGS frame, then the input, cut into chunks whose sizes come from the input
 * itself so that frame boundaries fall anywhere. Checks: no crash, the memory cap
 * holds, every request is reported closed exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "h2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEMORY_CAP (1u << 20)

static int closes[2];
volatile uint8_t h2_fuzz_sink;

static void on_close(void *ud, int32_t id, int err, uint32_t h2_error) {
  closes[(intptr_t)ud]++;
}

static int on_headers(void *ud, int32_t id, h2_headers_kind kind, int status,
                      const h2_header *h, size_t n) {
  /* Touch every byte handed out, so that ASan sees a stale or short field. */
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < h[i].name_len; k++) h2_fuzz_sink = (uint8_t)h[i].name[k];
    for (size_t k = 0; k < h[i].value_len; k++) h2_fuzz_sink = (uint8_t)h[i].value[k];
  }
  return 0;
}

static long body_read(void *arg, uint8_t *buf, size_t len, int *eof) {
  size_t *left = arg;
  if (*left == 0) return H2_BODY_PAUSE;
  size_t n = *left < len ? *left : len;
  memset(buf, 'b', n);
  *left -= n;
  return (long)n;
}

static void drain(h2_conn *c) {
  static uint8_t out[16384];
  size_t n;
  for (int i = 0; i < 64 && h2_send(c, out, sizeof(out), &n) == 0 && n; i++) {
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  h2_shape s;
  h2_shape_init(&s);
  s.settings[0] = (h2_setting){1, 65536};
  s.settings[1] = (h2_setting){2, 0};
  s.settings[2] = (h2_setting){4, 6291456};
  s.settings[3] = (h2_setting){6, 262144};
  s.n_settings = 4;
  s.window_update = 15663105;
  s.headers_priority_flag = 1;
  s.headers_priority = (h2_priority){1, 0, 256};
  h2_limits lim;
  h2_limits_init(&lim);
  lim.max_memory = MEMORY_CAP;
  h2_conn *c;
  if (h2_conn_new(&c, &s, &lim, NULL, NULL) != 0) abort();
  closes[0] = closes[1] = 0;
  h2_stream_callbacks cb = {on_headers, NULL, on_close};
  static const h2_header hdrs[] = {{"accept", 6, "*/*", 3}};
  h2_request get = {"GET", "https", "example.com", "/", hdrs, 1, NULL, NULL, 0, 0};
  size_t left = 70000;
  h2_body body = {body_read, &left};
  h2_request post = {"POST", "https", "example.com", "/p", hdrs, 1, &body, NULL, 0, 0};
  if (h2_submit(c, &get, &cb, (void *)(intptr_t)0, NULL) != 0 ||
      h2_submit(c, &post, &cb, (void *)(intptr_t)1, NULL) != 0)
    abort();
  drain(c);
  static const uint8_t settings[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
  h2_recv(c, settings, sizeof(settings));
  drain(c);
  size_t off = 0, step = size ? (size_t)data[0] % 97 + 1 : 1;
  while (off < size) {
    size_t n = size - off < step ? size - off : step;
    int rv = h2_recv(c, data + off, n);
    drain(c);
    if (h2_memory_used(c) > MEMORY_CAP) abort();
    if (rv == GUISE_E_NOMEM || !h2_want_read(c)) break;
    off += n;
    step = (size_t)data[off - 1] % 4093 + 1;
  }
  if (closes[0] > 1 || closes[1] > 1) abort();
  h2_conn_free(c);
  if (closes[0] != 1 || closes[1] != 1) abort();
  return 0;
}

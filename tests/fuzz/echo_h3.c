/* libFuzzer target: guise echo's HTTP/3 reading (fingerprints/echo/echo_h3.c) — the raw
 * control stream reader (SETTINGS, frames, PRIORITY_UPDATE; CBS) and nghttp3's server
 * connection with echo's callbacks (QPACK decoding into the request's header record,
 * the answer built from the reports), without QUIC.
 *
 * Input: one mode byte, then chunks of [stream byte, 2-byte big-endian length, bytes]
 * (at most 64). The stream byte's low 3 bits pick the client stream the bytes go to:
 * 0 the control stream (2), 1 the QPACK encoder stream (6), 2 the QPACK decoder stream
 * (10), 3 a GREASE uni stream (14), 4-7 request streams 0, 4, 8, 12; bit 7 ends the
 * stream (FIN). Mode bit 0: every chunk goes byte by byte (nghttp3 and the stream type
 * reader get it split). Every chunk for the control stream is also appended to a buffer
 * that echo_h3_control_report reads directly at the end (after its type byte). Reports
 * and answers must serialise; an error from nghttp3 ends the connection as echo does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fingerprints/echo/echo_h3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *answer(void *arg, echo_h3_req *req, size_t *len) {
  echo_h3 *h = *(echo_h3 **)arg;
  json_t *r = echo_h3_request_report(req), *rep = echo_h3_report(h);
  json_t *doc = json_pack("{s:o*, s:o*}", "request", r, "http3", rep);
  char *t = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (t == NULL) return NULL;
  *len = strlen(t);
  return t;
}

static void consumed(void *arg, int64_t sid, size_t n) { (void)arg, (void)sid, (void)n; }

static int feed(echo_h3 *h, int64_t sid, const uint8_t *p, size_t n, int fin, int split) {
  if (!split || n <= 1) return echo_h3_read(h, sid, p, n, fin, 0) < 0 ? -1 : 0;
  for (size_t i = 0; i < n; i++)
    if (echo_h3_read(h, sid, p + i, 1, fin && i + 1 == n, 0) < 0) return -1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int64_t sids[8] = {2, 6, 10, 14, 0, 4, 8, 12};
  if (size < 1) return 0;
  int split = data[0] & 1;
  echo_h3 *h = NULL;
  echo_h3_ops ops = {answer, consumed};
  if (echo_h3_new(&h, &ops, &h) != 0) return 0;
  uint8_t *ctrl = malloc(size);
  size_t clen = 0;
  size_t at = 1;
  int dead = 0;
  for (int k = 0; k < 64 && size - at >= 3 && !dead; k++) {
    uint8_t which = data[at];
    size_t n = (size_t)data[at + 1] << 8 | data[at + 2];
    at += 3;
    if (n > size - at) n = size - at;
    if ((which & 7) == 0 && ctrl) {
      memcpy(ctrl + clen, data + at, n);
      clen += n;
    }
    dead = feed(h, sids[which & 7], data + at, n, which >> 7, split) != 0;
    at += n;
  }
  json_t *rep = echo_h3_report(h);
  char *t = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
  if (rep && t == NULL) abort(); /* every report must serialise */
  free(t);
  json_decref(rep);
  json_t *doc = json_object();
  if (doc && ctrl && clen > 0) {
    if (echo_h3_control_report(ctrl + 1, clen - 1, 0, doc) == 0) {
      t = json_dumps(doc, JSON_COMPACT);
      if (t == NULL) abort();
      free(t);
    }
  }
  json_decref(doc);
  free(ctrl);
  echo_h3_free(h);
  return 0;
}

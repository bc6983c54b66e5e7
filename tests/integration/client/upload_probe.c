/*
 * upload_probe — one request with a streamed body through the public API
 * (guise_request_options.body_read, body_rewind, body_length,
 * guise_body_resume) and one JSON line about it: the code, the status, the
 * error detail, how often the source was read, paused and rewound, and the
 * bytes it gave. test_upload_api.py checks these against what its loopback
 * server received.
 *
 * usage: upload_probe MODE URL HTTP_VERSION N
 *   pause          N bytes, Content-Length; every other read pauses and a
 *                  timer resumes it 2 ms later (guise_body_resume)
 *   pause-unknown  the same, length unknown (-1)
 *   resume-inside  every other read calls guise_body_resume itself, then
 *                  returns GUISE_BODY_PAUSE: asked again at once
 *   short          body_length N, the source ends after N/2 bytes
 *   error          the source fails (GUISE_E_IO) after N/2 bytes
 *   redirect       -L to a 307: the body goes again after body_rewind
 *   redirect-norewind  the same without body_rewind: the request fails
 *   retry          the server refuses the stream (HTTP/2 REFUSED_STREAM) after
 *                  some of the body: sent again on another connection after
 *                  body_rewind
 *   retry-norewind the same without body_rewind: the request fails
 * The bytes are i*7 + (i>>8) mod 256 for i from 0: the server checks them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "guise.h"

static uv_loop_t loop;
static uv_timer_t timer;
static const char *mode;

typedef struct src {
  unsigned long long total, off, limit;
  int ready, reads, pauses, rewinds, resumes;
  guise_body_ctl *ctl;
  int done, err, status;
  char detail[512];
} src;

static unsigned char pattern_at(unsigned long long i) { return (unsigned char)((i * 7 + (i >> 8)) & 0xff); }

static void on_timer(uv_timer_t *t) {
  src *s = t->data;
  if (s->ctl && !s->done) {
    s->resumes++;
    guise_body_resume(s->ctl);
  }
}

static long body_read(void *ud, unsigned char *buf, size_t cap, guise_body_ctl *ctl) {
  src *s = ud;
  s->reads++;
  int pausing = strncmp(mode, "pause", 5) == 0 || strcmp(mode, "resume-inside") == 0;
  if (pausing && !s->ready) {
    s->ready = 1;
    s->pauses++;
    if (strcmp(mode, "resume-inside") == 0) {
      s->resumes++;
      guise_body_resume(ctl); /* the library asks again when this read returns */
    } else {
      s->ctl = ctl;
      uv_timer_start(&timer, on_timer, 2, 0);
    }
    return GUISE_BODY_PAUSE;
  }
  s->ready = 0;
  unsigned long long end = s->limit ? s->limit : s->total;
  if (strcmp(mode, "error") == 0 && s->off >= end) return GUISE_E_IO;
  unsigned long long n = end - s->off;
  if (n > cap) n = cap;
  if (n > 3000) n = 3000; /* many reads */
  for (unsigned long long i = 0; i < n; i++) buf[i] = pattern_at(s->off + i);
  s->off += n;
  return (long)n;
}

static int body_rewind(void *ud) {
  src *s = ud;
  s->rewinds++;
  s->off = 0;
  return 0;
}

static void on_complete(void *ud, int err, const guise_response_info *info) {
  src *s = ud;
  s->done = 1;
  s->err = err;
  s->status = info->status;
  snprintf(s->detail, sizeof(s->detail), "%s", info->error_detail);
  uv_timer_stop(&timer);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: upload_probe MODE URL HTTP_VERSION N\n");
    return 2;
  }
  mode = argv[1];
  signal(SIGPIPE, SIG_IGN); /* a refused stream's peer closes: EPIPE, as libuv asks */
  src s;
  memset(&s, 0, sizeof(s));
  s.total = strtoull(argv[4], NULL, 10);
  if (strcmp(mode, "short") == 0 || strcmp(mode, "error") == 0) s.limit = s.total / 2;
  uv_loop_init(&loop);
  uv_timer_init(&loop, &timer);
  timer.data = &s;
  guise_client_options co;
  guise_client_options_init(&co);
  guise_client *cl = NULL;
  int e = guise_client_new((struct uv_loop_s *)&loop, &co, &cl);
  if (e) {
    fprintf(stderr, "guise_client_new: %s\n", guise_strerror(e));
    return 1;
  }
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = argv[2];
  o.method = "PUT";
  o.http_version = atoi(argv[3]);
  o.profile = "none";
  o.body_read = body_read;
  o.body_ud = &s;
  o.body_length = strcmp(mode, "pause-unknown") == 0 ? -1 : (long long)s.total;
  if (strcmp(mode, "redirect") == 0 || strcmp(mode, "retry") == 0) o.body_rewind = body_rewind;
  o.follow_redirects = strncmp(mode, "redirect", 8) == 0;
  guise_callbacks cb = {NULL, NULL, on_complete};
  e = guise_client_request(cl, &o, &cb, &s);
  if (e) {
    fprintf(stderr, "guise_client_request: %s\n", guise_strerror(e));
    return 1;
  }
  while (!s.done && uv_run(&loop, UV_RUN_ONCE)) {
  }
  printf("{\"err\": \"%s\", \"status\": %d, \"reads\": %d, \"pauses\": %d, \"resumes\": %d, \"rewinds\": %d, "
         "\"given\": %llu, \"detail\": \"",
         s.err ? guise_err_name(s.err) : "", s.status, s.reads, s.pauses, s.resumes, s.rewinds, s.off);
  for (const char *p = s.detail; *p; p++)
    if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) putchar(*p);
  printf("\"}\n");
  guise_client_close(cl);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}

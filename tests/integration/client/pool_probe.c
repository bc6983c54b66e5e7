/*
 * pool_probe — drives a guise_client through the public API and prints one
 * JSON line per request: its code, whether the connection was reused, the local
 * address, and the body (guise echo's JSON, which names the connection the
 * server saw). test_pool.py reads these lines and checks them against the
 * server's view.
 *
 * usage: pool_probe MODE URL [N] [K]
 *   seq     N requests one after the other (keep-alive / multiplexing)
 *   par     N requests at once, HTTP/1.1, K connections per origin at most
 *   streams N requests at once, HTTP/2, K streams per connection at most
 *   idle    a request, another 50 ms after, a third after the idle timeout (K ms)
 *   close   N requests, then the client is closed at once: each ends once
 *   profiles one request with each of two profiles (two pool keys)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "guise.h"

#define MAX_REQ 256
#define MAX_BODY 65536

typedef struct probe {
  int n;
  char body[MAX_BODY];
  size_t len;
  int completions;
} probe;

static uv_loop_t loop;
static guise_client *client;
static const char *url;
static probe probes[MAX_REQ];
static int mode_idle_step;
static unsigned idle_ms;
static uv_timer_t timer;

static int on_body(void *ud, const unsigned char *p, size_t n) {
  probe *pr = ud;
  if (pr->len + n > sizeof(pr->body)) return 1;
  memcpy(pr->body + pr->len, p, n);
  pr->len += n;
  return 0;
}

static void submit(int i, const char *profile, int http_version);

static void on_timer(uv_timer_t *t) {
  (void)t;
  submit(mode_idle_step, NULL, 0);
}

static void on_complete(void *ud, int err, const guise_response_info *info) {
  probe *pr = ud;
  pr->completions++;
  for (size_t i = 0; i < pr->len; i++) /* one line: JSON whitespace only */
    if (pr->body[i] == '\n' || pr->body[i] == '\r') pr->body[i] = ' ';
  printf("{\"n\":%d,\"err\":\"%s\",\"completions\":%d,\"reused\":%d,\"local\":\"%s\",\"version\":\"%s\","
         "\"body\":%.*s}\n",
         pr->n, guise_err_name(err), pr->completions, info->reused, info->local, info->http_version,
         err || pr->len == 0 ? 4 : (int)pr->len, err || pr->len == 0 ? "null" : pr->body);
  fflush(stdout);
  if (mode_idle_step > 0 && mode_idle_step < 3) {
    /* idle mode: the second request soon, the third after the idle timeout */
    uv_timer_start(&timer, on_timer, mode_idle_step == 1 ? 50 : idle_ms * 2 + 200, 0);
    mode_idle_step++;
  }
}

static void submit(int i, const char *profile, int http_version) {
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = url;
  o.insecure = 1;
  o.profile = profile;
  o.http_version = http_version;
  o.max_time_ms = 20000;
  probes[i].n = i;
  static const guise_callbacks cb = {NULL, on_body, on_complete};
  int e = guise_client_request(client, &o, &cb, &probes[i]);
  if (e) {
    printf("{\"n\":%d,\"err\":\"%s\",\"refused\":1}\n", i, guise_err_name(e));
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: pool_probe MODE URL [N] [K]\n");
    return 2;
  }
  const char *mode = argv[1];
  url = argv[2];
  int n = argc > 3 ? atoi(argv[3]) : 3;
  int k = argc > 4 ? atoi(argv[4]) : 0;
  if (n < 1 || n > MAX_REQ) return 2;
  uv_loop_init(&loop);
  uv_timer_init(&loop, &timer);
  guise_client_options co;
  guise_client_options_init(&co);
  co.profile = "none";
  if (strcmp(mode, "par") == 0) co.max_connections_per_origin = (unsigned)k;
  if (strcmp(mode, "streams") == 0) co.max_streams_per_connection = (unsigned)k;
  if (strcmp(mode, "idle") == 0) co.idle_timeout_ms = idle_ms = (unsigned)(k ? k : 200);
  if (guise_client_new((struct uv_loop_s *)&loop, &co, &client) != 0) return 1;
  if (strcmp(mode, "seq") == 0) {
    for (int i = 0; i < n; i++) {
      submit(i, NULL, 0);
      uv_run(&loop, UV_RUN_DEFAULT);
    }
  } else if (strcmp(mode, "par") == 0) {
    for (int i = 0; i < n; i++) submit(i, NULL, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
  } else if (strcmp(mode, "streams") == 0) {
    for (int i = 0; i < n; i++) submit(i, NULL, 2);
    uv_run(&loop, UV_RUN_DEFAULT);
  } else if (strcmp(mode, "idle") == 0) {
    mode_idle_step = 1;
    submit(0, NULL, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
  } else if (strcmp(mode, "close") == 0) {
    for (int i = 0; i < n; i++) submit(i, NULL, 0);
    guise_client_close(client);
    client = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);
  } else if (strcmp(mode, "profiles") == 0) {
    submit(0, "chrome-150", 0);
    submit(1, "firefox-144", 0);
    submit(2, "chrome-150", 0);
    uv_run(&loop, UV_RUN_DEFAULT);
  } else {
    return 2;
  }
  if (client) guise_client_close(client);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop);
  if (rc != 0) {
    fprintf(stderr, "pool_probe: handles left open on the loop\n");
    return 1;
  }
  return 0;
}

/*
 * idle_conns — memory of idle pooled connections: one guise_client opens one
 * connection to each of N origins (h0.test .. hN-1.test on the given loopback
 * ports, through --resolve-style overrides), makes one request on each, and
 * leaves them idle in the pool. Prints one JSON line: RSS and heap in use after
 * a first connection (profile, TLS context and the libraries warmed up) and
 * after all N, and their difference per connection. Run by tools/bench/idle.
 *
 * usage: idle_conns HOSTS PORT[,PORT...] [PROFILE]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "guise.h"

#define MAX_PORTS 64
#define WAVE 256 /* requests in flight at once while opening */

static uv_loop_t loop;
static guise_client *client;
static char **urls;
static size_t n_urls, next_url, limit, done, failed, reused;
static const char *profile;
static int first_err;

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kb;
}

static size_t heap_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static void next(void);

static void on_complete(void *ud, int err, const guise_response_info *info) {
  (void)ud;
  done++;
  if (err) {
    failed++;
    if (!first_err) first_err = err;
  }
  if (info->reused) reused++;
  next();
}

static void next(void) {
  if (next_url >= limit) return;
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = urls[next_url++];
  o.insecure = 1;
  o.profile = profile;
  static const guise_callbacks cb = {NULL, NULL, on_complete};
  int e = guise_client_request(client, &o, &cb, NULL);
  if (e) {
    done++;
    failed++;
    if (!first_err) first_err = e;
  }
}

static void on_waited(uv_timer_t *t) { (void)t; }

/* Requests up to |target| in all, WAVE at a time (each completion sends the
 * next); the loop returns once they are over: idle connections do not hold it.
 * Then the connections wait IDLE_WAIT_MS idle, the loop running (the pool's
 * idle-time work: POOL_TRIM_MS). */
#define IDLE_WAIT_MS 800
static void run_until(size_t target) {
  limit = target;
  for (size_t i = 0; i < WAVE; i++) next();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, on_waited, IDLE_WAIT_MS, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: idle_conns HOSTS PORT[,PORT...] [PROFILE]\n");
    return 2;
  }
  size_t hosts = strtoul(argv[1], NULL, 10);
  unsigned ports[MAX_PORTS];
  size_t n_ports = 0;
  for (char *p = argv[2]; *p && n_ports < MAX_PORTS;) {
    ports[n_ports++] = (unsigned)strtoul(p, &p, 10);
    if (*p == ',') p++;
  }
  profile = argc > 3 ? argv[3] : guise_profile_default();
  n_urls = hosts * n_ports;
  if (hosts == 0 || n_ports == 0 || n_urls > 16384) return 2;
  urls = calloc(n_urls, sizeof(*urls));
  char **resolve = calloc(n_urls, sizeof(*resolve));
  for (size_t h = 0, k = 0; h < hosts; h++)
    for (size_t p = 0; p < n_ports; p++, k++) {
      if (asprintf(&urls[k], "https://h%zu.test:%u/", h, ports[p]) < 0 ||
          asprintf(&resolve[k], "h%zu.test:%u:127.0.0.1", h, ports[p]) < 0)
        return 1;
    }
  uv_loop_init(&loop);
  guise_client_options co;
  guise_client_options_init(&co);
  co.resolve = (const char *const *)resolve;
  co.n_resolve = n_urls;
  co.idle_timeout_ms = 600000;
  int e = guise_client_new((struct uv_loop_s *)&loop, &co, &client);
  if (e) {
    fprintf(stderr, "idle_conns: %s\n", guise_err_name(e));
    return 1;
  }
  run_until(1);
  malloc_trim(0);
  long rss1 = rss_kb();
  size_t heap1 = heap_bytes();
  run_until(n_urls);
  malloc_trim(0);
  long rssn = rss_kb();
  size_t heapn = heap_bytes();
  double per_rss = (double)(rssn - rss1) * 1024.0 / (double)(n_urls - 1 ? n_urls - 1 : 1);
  double per_heap = ((double)heapn - (double)heap1) / (double)(n_urls - 1 ? n_urls - 1 : 1);
  printf("{\"connections\":%zu,\"failed\":%zu,\"first_error\":\"%s\",\"reused\":%zu,\"rss_kb_first\":%ld,"
         "\"rss_kb_all\":%ld,\"heap_first\":%zu,\"heap_all\":%zu,\"rss_per_conn\":%.0f,"
         "\"heap_per_conn\":%.0f}\n",
         n_urls, failed, guise_err_name(first_err), reused, rss1, rssn, heap1, heapn, per_rss, per_heap);
  guise_client_close(client);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  for (size_t i = 0; i < n_urls; i++) {
    free(urls[i]);
    free(resolve[i]);
  }
  free(urls);
  free(resolve);
  return failed ? 1 : 0;
}

/* dns_api_probe SERVERS fetch-timeout — guise_fetch of a name through SERVERS with
 * max_time_ms equal to connect_timeout_ms (500): the request's timer and the
 * resolve timeout are due together, and the one-shot client is closed from the
 * first; prints "fetch NAME".
 *
 * dns_api_probe SERVERS — the public API's answer to a dns_servers value:
 * guise_dns_servers_check, guise_client_new, guise_request (to 127.0.0.1:1,
 * refused at once when the value is taken) and guise_batch_new, one line each:
 *   check NAME [reason]
 *   client NAME
 *   request NAME | request started, then NAME (on_complete's code)
 *   batch NAME
 * NAME is guise_err_name of the code ("OK" for 0). */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "guise.h"

static const char *name(int e) { return e ? guise_err_name(e) : "OK"; }

static void on_complete(void *ud, int err, const guise_response_info *info) {
  (void)info;
  *(int *)ud = err ? err : 1;
}

static void on_record(void *arg, const char *json, size_t len, int err) {
  (void)arg, (void)json, (void)len, (void)err;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: dns_api_probe SERVERS [fetch-timeout]\n");
    return 2;
  }
  const char *servers = argv[1];
  if (argc == 3) {
    guise_request_options fo;
    guise_request_options_init(&fo);
    fo.url = "http://www.guise.test/";
    fo.dns_servers = servers;
    fo.max_time_ms = 500;
    fo.connect_timeout_ms = 500;
    int got = 0;
    guise_callbacks fcb = {NULL, NULL, on_complete};
    int fe = guise_fetch(&fo, &fcb, &got);
    printf("fetch %s\n", name(fe));
    return 0;
  }
  char why[256] = "";
  int e = guise_dns_servers_check(servers, why, sizeof(why));
  printf("check %s%s%s\n", name(e), e ? " " : "", e ? why : "");

  uv_loop_t loop;
  uv_loop_init(&loop);
  guise_client_options co;
  guise_client_options_init(&co);
  co.dns_servers = servers;
  guise_client *cl = NULL;
  e = guise_client_new((struct uv_loop_s *)&loop, &co, &cl);
  printf("client %s\n", name(e));
  if (cl) guise_client_close(cl);
  uv_run(&loop, UV_RUN_DEFAULT);

  guise_request_options ro;
  guise_request_options_init(&ro);
  ro.url = "http://127.0.0.1:1/";
  ro.dns_servers = servers;
  int done = 0;
  guise_callbacks cb = {NULL, NULL, on_complete};
  e = guise_request((struct uv_loop_s *)&loop, &ro, &cb, &done);
  if (e == 0) {
    uv_run(&loop, UV_RUN_DEFAULT);
    printf("request started, then %s\n", done == 0 ? "never completed" : name(done == 1 ? 0 : done));
  } else {
    printf("request %s\n", name(e));
  }
  uv_loop_close(&loop);

  guise_batch_options bo;
  guise_batch_options_init(&bo);
  bo.workers = 1;
  bo.dns_servers = servers;
  bo.on_record = on_record;
  guise_batch *b = NULL;
  e = guise_batch_new(&bo, &b);
  printf("batch %s\n", name(e));
  if (b) guise_batch_finish(b);
  return 0;
}

/*
 * body_cap — one request through guise_fetch() with a body cap (max_body), to
 * compare how HTTP/1.1 and HTTP/2 end a body over it. Prints one line:
 * "ERR_NAME BYTES DETAIL": the request's code, the body bytes the caller
 * received and the error detail.
 *
 * usage: body_cap URL HTTP_VERSION MAX_BODY
 *   HTTP_VERSION: 1 (HTTP/1.1 only) or 2 (HTTP/2, prior knowledge for http://)
 */
#include <stdio.h>
#include <stdlib.h>

#include "guise.h"

typedef struct state {
  unsigned long long got;
  char detail[256];
} state;

static int on_body(void *ud, const unsigned char *p, size_t n) {
  (void)p;
  ((state *)ud)->got += n;
  return 0;
}

static void on_complete(void *ud, int err, const guise_response_info *info) {
  (void)err;
  state *st = ud;
  snprintf(st->detail, sizeof(st->detail), "%s", info && info->error_detail ? info->error_detail : "");
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: body_cap URL HTTP_VERSION MAX_BODY\n");
    return 2;
  }
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = argv[1];
  o.http_version = atoi(argv[2]);
  o.max_body = strtoull(argv[3], NULL, 10);
  o.max_time_ms = 10000;
  guise_callbacks cb = {0};
  cb.on_body = on_body;
  cb.on_complete = on_complete;
  state st = {0};
  int err = guise_fetch(&o, &cb, &st);
  printf("%s %llu %s\n", guise_err_name(err), st.got, st.detail);
  return 0;
}

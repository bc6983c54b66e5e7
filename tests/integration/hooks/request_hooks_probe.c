/*
 * request_hooks_probe — one request through the public API with the two wire
 * hooks of guise_request_options (on_request_sent, on_response_head), each
 * call printed as one JSON line; test_request_hooks.py compares them with what
 * the servers received and sent.
 *
 * usage: request_hooks_probe [-p PROFILE] [-k KIND] [-V 1|2] [-e REFERER]
 *                            [-d BODY] [-c COOKIE_FILE] [-H 'Name: value']...
 *                            [-r host:port:addr]... [-L] [-X METHOD] [-n N] [--fetch] URL
 *   --fetch  through guise_fetch (its own loop and client) instead of a client
 *   -n N     N requests one after the other on the same client (its connections reused)
 *
 * Lines: {"ev":"sent","hop":N,"method":M,"url":U,"v":1|2,"h":[[name,value],...]}
 *        {"ev":"head","hop":N,"status":S,"v":1|2,"h":[...]}
 *        {"ev":"headers","status":S}        on_headers (the final response)
 *        {"ev":"done","err":NAME,"status":S,"hops":N}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "guise.h"

#define MAX_H 64

static void put_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void put_list(const guise_header *h, size_t n) {
  putchar('[');
  for (size_t i = 0; i < n; i++) {
    printf(i ? ",[" : "[");
    put_str(h[i].name);
    putchar(',');
    put_str(h[i].value);
    putchar(']');
  }
  putchar(']');
}

static int tag; /* the ud given: checked in every callback */

static void on_sent(void *ud, unsigned hop, const char *method, const char *url, const guise_header *h,
                    size_t n, int v) {
  printf("{\"ev\":\"sent\",\"ud_ok\":%s,\"hop\":%u,\"method\":", ud == &tag ? "true" : "false", hop);
  put_str(method);
  printf(",\"url\":");
  put_str(url);
  printf(",\"v\":%d,\"h\":", v);
  put_list(h, n);
  printf("}\n");
  fflush(stdout);
}

static int on_head(void *ud, unsigned hop, int status, const guise_header *h, size_t n, int v,
                   const char *reason) {
  printf("{\"ev\":\"head\",\"ud_ok\":%s,\"hop\":%u,\"status\":%d,\"v\":%d,\"reason\":", ud == &tag ? "true" : "false",
         hop, status, v);
  if (reason)
    put_str(reason);
  else
    printf("null");
  printf(",\"h\":");
  put_list(h, n);
  printf("}\n");
  fflush(stdout);
  return 0;
}

static int on_headers(void *ud, int status, const guise_header *h, size_t n) {
  printf("{\"ev\":\"headers\",\"status\":%d}\n", status);
  return 0;
}

static int on_body(void *ud, const unsigned char *p, size_t n) { return 0; }

static guise_client *client;
static guise_request_options opts;
static int left; /* -n: requests still to make after this one */

static void on_complete(void *ud, int err, const guise_response_info *info);
static const guise_callbacks cbs = {on_headers, on_body, on_complete};

static void on_complete(void *ud, int err, const guise_response_info *info) {
  printf("{\"ev\":\"done\",\"err\":\"%s\",\"status\":%d,\"hops\":%zu,\"reused\":%d}\n", guise_err_name(err),
         info->status, info->n_redirects, info->reused);
  fflush(stdout);
  if (client && left > 0) {
    left--;
    if (guise_client_request(client, &opts, &cbs, &tag) != 0) left = 0;
  }
}

int main(int argc, char **argv) {
  guise_request_options o;
  guise_request_options_init(&o);
  guise_header hs[MAX_H];
  char *hcopy[MAX_H];
  size_t nh = 0, nr = 0;
  const char *resolve[MAX_H];
  const char *cookie_file = NULL;
  int use_fetch = 0;
  o.insecure = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--fetch")) use_fetch = 1;
    else if (!strcmp(a, "-L")) o.follow_redirects = 1;
    else if (i + 1 < argc && !strcmp(a, "-p")) o.profile = argv[++i];
    else if (i + 1 < argc && !strcmp(a, "-k")) o.kind = argv[++i];
    else if (i + 1 < argc && !strcmp(a, "-V")) o.http_version = atoi(argv[++i]);
    else if (i + 1 < argc && !strcmp(a, "-e")) o.referer = argv[++i];
    else if (i + 1 < argc && !strcmp(a, "-X")) o.method = argv[++i];
    else if (i + 1 < argc && !strcmp(a, "-n")) left = atoi(argv[++i]) - 1;
    else if (i + 1 < argc && !strcmp(a, "-c")) cookie_file = argv[++i];
    else if (i + 1 < argc && !strcmp(a, "-r") && nr < MAX_H) resolve[nr++] = argv[++i];
    else if (i + 1 < argc && !strcmp(a, "-d")) {
      o.body = (const unsigned char *)argv[++i];
      o.body_len = strlen(argv[i]);
      o.has_body = 1;
    } else if (i + 1 < argc && !strcmp(a, "-H") && nh < MAX_H) {
      hcopy[nh] = strdup(argv[++i]);
      char *colon = hcopy[nh] ? strchr(hcopy[nh], ':') : NULL;
      if (colon == NULL) return 2;
      *colon = '\0';
      hs[nh].name = hcopy[nh];
      hs[nh].value = colon + 1 + (colon[1] == ' ');
      nh++;
    } else if (a[0] != '-') o.url = a;
    else {
      fprintf(stderr, "request_hooks_probe: unknown option %s\n", a);
      return 2;
    }
  }
  if (o.url == NULL) return 2;
  o.headers = hs;
  o.n_headers = nh;
  o.resolve = resolve;
  o.n_resolve = nr;
  o.on_request_sent = on_sent;
  o.on_response_head = on_head;
  opts = o;
  int e;
  if (use_fetch) {
    e = guise_fetch(&o, &cbs, &tag);
  } else {
    uv_loop_t loop;
    uv_loop_init(&loop);
    guise_client_options co;
    guise_client_options_init(&co);
    co.cookies = cookie_file != NULL;
    co.cookie_file = cookie_file;
    co.profile = o.profile ? o.profile : "none";
    e = guise_client_new((struct uv_loop_s *)&loop, &co, &client);
    if (e == 0) {
      e = guise_client_request(client, &opts, &cbs, &tag);
      uv_run(&loop, UV_RUN_DEFAULT);
      guise_client_close(client);
      uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&loop);
  }
  for (size_t i = 0; i < nh; i++) free(hcopy[i]);
  if (e) fprintf(stderr, "request_hooks_probe: %s\n", guise_err_name(e));
  return 0;
}

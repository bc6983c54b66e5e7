/* consumer.c — a program that uses guise the way a user of the installed library
 * does: only <guise.h>, built against an installed tree (pkg-config or
 * find_package). Fetches URL (argv[1]) with the Chrome profile and prints the
 * status, the HTTP version and the body's first line. Exit 0 on a 200. */
#include <stdio.h>
#include <string.h>

#include <guise.h>

static char first_line[256];
static size_t got;

static int on_body(void *ud, const unsigned char *data, size_t len) {
  for (size_t i = 0; i < len && got < sizeof(first_line) - 1 && data[i] != '\n'; i++)
    first_line[got++] = (char)data[i];
  return 0;
}

static void on_complete(void *ud, int err, const guise_response_info *info) {
  *(int *)ud = err ? err : info->status;
  printf("status %d, %s\n", info->status, info->http_version);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: consumer URL\n");
    return 2;
  }
  guise_request_options o;
  guise_request_options_init(&o);
  o.url = argv[1];
  o.profile = guise_profile_default();
  o.insecure = 1; /* guise echo's certificate is its own */
  guise_callbacks cb = {NULL, on_body, on_complete};
  int result = 0;
  int err = guise_fetch(&o, &cb, &result);
  printf("guise %s: %s\n", guise_version()->guise, err ? guise_err_name(err) : "ok");
  printf("body: %s\n", first_line);
  return result == 200 ? 0 : 1;
}

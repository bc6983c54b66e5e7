/* main.c — the guise command. Uses only the public header. */
#include <stdio.h>
#include <string.h>

#include "guise.h"

static int print_version(void) {
  const guise_version_info *v = guise_version();
  printf("guise %s\n", v->guise);
  printf("  %s %s + %u guise patch%s\n", v->tls_library, v->boringssl_revision,
         v->boringssl_patches, v->boringssl_patches == 1 ? "" : "es");
  printf("  nghttp2 %s\n", v->nghttp2);
  printf("  libuv %s\n", v->libuv);
  printf("  brotli %s\n", v->brotli);
  printf("  zlib %s\n", v->zlib);
  printf("  zstd %s\n", v->zstd);
  printf("  jansson %s\n", v->jansson);
  printf("  c-ares %s\n", v->cares);
  return 0;
}

static void usage(FILE *f) {
  fputs("usage: guise --version\n"
        "       guise --help\n", f);
}

int main(int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
    return print_version();
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 2;
}

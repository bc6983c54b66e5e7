/* main.c — the guise command: dispatches to the subcommands. Uses only the public header. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "guise.h"

long long cli_number(const char *opt, const char *s, long long min, long long max) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) {
    fprintf(stderr, "guise: %s %s: expected a whole number from %lld to %lld\n", opt, s, min, max);
    return -1;
  }
  return v;
}

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
  return EXIT_OK;
}

static const char usage[] =
    "usage: guise [options] URL          one request, curl-like (guise URL --help for options)\n"
    "       guise profile list|show|check|import  browser profiles (guise profile --help)\n"
    "       guise --version\n"
    "       guise echo [options]      loopback fingerprint observer (guise echo --help)\n"
    "       guise fp FILE...          fingerprints of every client flight in a pcap,\n"
    "                                 pcapng or hex dump (guise fp --help)\n";

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "batch") == 0) return cmd_batch(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "echo") == 0) return cmd_echo(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "fp") == 0) return cmd_fp(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "profile") == 0) return cmd_profile(argc - 1, argv + 1);
  if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
    return print_version();
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(usage, stdout);
    return EXIT_OK;
  }
  if (argc >= 2) return cmd_fetch(argc, argv);
  fputs(usage, stderr);
  return EXIT_USAGE;
}

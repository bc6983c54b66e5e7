/* cmd_fp.c — `guise fp`: the fingerprints of every client flight in captures and hex
 * dumps, as JSON records on standard output (docs/FP.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "guise_capture.h"

static const char usage[] =
    "usage: guise fp [--pretty] [--stats] [--max-flows N] [--max-flow-bytes N] FILE...\n"
    "\n"
    "Reports every client flight (TLS ClientHello, HTTP/2 preface, HTTP/1 request head,\n"
    "SSH identification string; behind an HTTP CONNECT or SOCKS handshake too)\n"
    "found in each FILE: a pcap or pcapng capture (TCP over IPv4/IPv6 reassembled per\n"
    "connection), or a hex dump of one flight. One JSON document per flight on standard\n"
    "output, one per line (indented with --pretty) — the same as `guise echo` under a\n"
    "\"flow\" member. --stats writes counts per file to standard error.\n"
    "Exit status: 0 all flights parsed, 1 some records are errors, 2 usage error or\n"
    "a file that cannot be read.\n";

static void print_record(const char *json, int is_error, void *arg) {
  fputs(json, stdout);
  putchar('\n');
}

int cmd_fp(int argc, char **argv) {
  guise_fp_options o;
  guise_fp_options_init(&o);
  o.on_record = print_record;
  int stats = 0, i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0') break;
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--pretty") == 0) {
      o.pretty = 1;
    } else if (strcmp(a, "--stats") == 0) {
      stats = 1;
    } else if (strcmp(a, "--max-flows") == 0 || strcmp(a, "--max-flow-bytes") == 0) {
      if (v == NULL) {
        fprintf(stderr, "guise fp: %s needs a value\n", a);
        return EXIT_USAGE;
      }
      int flows = strcmp(a, "--max-flows") == 0;
      long long n = flows ? cli_number(a, v, 1, 4194304) : cli_number(a, v, 64, 16777216);
      if (n < 0) return EXIT_USAGE;
      if (flows)
        o.max_flows = (unsigned)n;
      else
        o.max_flow_bytes = (unsigned)n;
      i++;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return EXIT_OK;
    } else {
      fprintf(stderr, "guise fp: unknown option %s\n%s", a, usage);
      return EXIT_USAGE;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "guise fp: no FILE given\n%s", usage);
    return EXIT_USAGE;
  }
  int status = EXIT_OK, unreadable = 0;
  for (; i < argc; i++) {
    guise_fp_stats st;
    char err[512];
    if (guise_fp_file(argv[i], &o, &st, err, sizeof(err)) != 0) {
      fflush(stdout);
      fprintf(stderr, "guise fp: %s\n", err);
      unreadable = 1;
      continue;
    }
    if (st.errors > 0) status = EXIT_FAILURE_GENERIC;
    if (stats) {
      fflush(stdout);
      fprintf(stderr,
              "guise fp: %s: %llu packets, %llu TCP connections, %llu records (%llu errors); "
              "skipped %llu connections without client data, %llu of other protocols or "
              "joined mid-way; ignored %llu packets (not TCP, fragments, malformed)\n",
              argv[i], st.packets, st.flows, st.records, st.errors, st.empty_flows,
              st.other_flows, st.ignored_packets);
      if (st.quic_flows > 0 || st.quic_undecryptable > 0 || st.quic_server_initials > 0 ||
          st.quic_short > 0 || st.quic_other > 0)
        fprintf(stderr,
                "guise fp: %s: quic: %llu connections, %llu Initials decrypted, %llu "
                "undecryptable; skipped %llu server Initials, %llu Handshake, %llu 0-RTT, "
                "%llu Retry, %llu short header, %llu other\n",
                argv[i], st.quic_flows, st.quic_initials, st.quic_undecryptable,
                st.quic_server_initials, st.quic_handshake, st.quic_zero_rtt, st.quic_retry,
                st.quic_short, st.quic_other);
    }
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    perror("guise fp: standard output");
    return EXIT_FAILURE_GENERIC;
  }
  return unreadable ? EXIT_USAGE : status;
}

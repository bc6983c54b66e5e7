/* libFuzzer target: the capture reader (guise fp) on arbitrary files. The same bytes go
 * through libpcap as a capture (fmemopen + pcap_fopen_offline, whatever the magic says:
 * a seed with a valid header then explores records, link layers, IP, TCP reassembly and
 * the flight parsers) and through the hex-dump path. Every record must serialise. */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(json_t *record, bool is_error, void *arg) {
  char *s = json_dumps(record, JSON_COMPACT);
  if (s == NULL) abort();
  /* Every record names where it came from and carries exactly one more member. */
  if (json_object_get(record, "flow") == NULL || json_object_size(record) != 2) abort();
  if (is_error != (json_object_get(record, "error") != NULL)) abort();
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gcap_options o;
  gcap_options_init(&o);
  /* Small caps so that the limit paths are reachable from small inputs. */
  o.max_flows = 8;
  o.max_flow_bytes = 4096;
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  char err[256];
  if (size > 0) {
    FILE *f = fmemopen((void *)data, size, "rb");
    if (f != NULL) gcap_read_pcap_stream(f, "fuzz", &o, sink, NULL, &st, err, sizeof(err));
  }
  gcap_read_hex(data, size, "fuzz", &o, sink, NULL, &st);
  gcap_read_memory(data, size, "fuzz", &o, sink, NULL, &st, err, sizeof(err));
  if (st.errors > st.records) abort();
  return 0;
}

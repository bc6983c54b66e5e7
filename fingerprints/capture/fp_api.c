/* fp_api.c — guise_fp_file(): the public face of the capture reader (guise_capture.h). */
#include "guise_capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

void guise_fp_options_init(guise_fp_options *opts) {
  memset(opts, 0, sizeof(*opts));
  opts->size = sizeof(*opts);
  opts->max_flows = GCAP_DEFAULT_MAX_FLOWS;
  opts->max_flow_bytes = GCAP_DEFAULT_FLOW_BYTES;
}

typedef struct sink_ctx {
  const guise_fp_options *opts;
  bool failed; /* a record could not be serialised */
} sink_ctx;

static void to_text(json_t *record, bool is_error, void *arg) {
  sink_ctx *c = arg;
  size_t flags = JSON_PRESERVE_ORDER | (c->opts->pretty ? JSON_INDENT(2) : JSON_COMPACT);
  char *s = json_dumps(record, flags);
  if (s == NULL) {
    c->failed = true;
    return;
  }
  c->opts->on_record(s, is_error ? 1 : 0, c->opts->arg);
  free(s);
}

int guise_fp_file(const char *path, const guise_fp_options *opts, guise_fp_stats *stats, char *err,
                  unsigned errlen) {
  if (err != NULL && errlen > 0) err[0] = '\0';
  if (path == NULL || opts == NULL || opts->on_record == NULL) {
    if (err != NULL && errlen > 0) snprintf(err, errlen, "guise_fp_file: no file or no on_record");
    return -1;
  }
  if (opts->max_flows < 1 || opts->max_flows > GCAP_MAX_MAX_FLOWS ||
      opts->max_flow_bytes < GCAP_MIN_FLOW_BYTES || opts->max_flow_bytes > GCAP_MAX_FLOW_BYTES) {
    if (err != NULL && errlen > 0)
      snprintf(err, errlen, "%s: max_flows must be 1 to %u and max_flow_bytes %u to %u", path,
               GCAP_MAX_MAX_FLOWS, GCAP_MIN_FLOW_BYTES, GCAP_MAX_FLOW_BYTES);
    return -1;
  }
  gcap_options o;
  gcap_options_init(&o);
  o.max_flows = opts->max_flows;
  o.max_flow_bytes = opts->max_flow_bytes;
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  sink_ctx c = {opts, false};
  int r = gcap_read_file(path, NULL, &o, to_text, &c, &st, err, errlen);
  if (c.failed) st.errors++; /* a record lost to memory exhaustion is still a failure */
  if (stats != NULL) {
    memset(stats, 0, sizeof(*stats));
    stats->size = sizeof(*stats);
    stats->packets = st.packets;
    stats->tcp_segments = st.tcp_segments;
    stats->ignored_packets = st.ignored_packets;
    stats->flows = st.flows;
    stats->records = st.records;
    stats->errors = st.errors;
    stats->empty_flows = st.empty_flows;
    stats->other_flows = st.other_flows;
    stats->quic_flows = st.quic_flows;
    stats->quic_initials = st.quic_initials;
    stats->quic_undecryptable = st.quic_undecryptable;
    stats->quic_server_initials = st.quic_server_initials;
    stats->quic_handshake = st.quic_handshake;
    stats->quic_zero_rtt = st.quic_zero_rtt;
    stats->quic_retry = st.quic_retry;
    stats->quic_short = st.quic_short;
    stats->quic_other = st.quic_other;
  }
  return r == 0 ? 0 : -1;
}

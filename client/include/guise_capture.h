/*
 * guise_capture.h — the public header of libguise-capture: fingerprints of the client
 * flights in a capture file (pcap, pcapng, hex dump), as `guise fp` prints them.
 *
 * A library of its own beside libguise because it reads captures with libpcap, which
 * an HTTP client does not need. Link with `pkg-config --libs guise-capture`. Every
 * exported symbol starts with guise_fp_ but guise_profile_import_capture (a profile
 * from a capture). See docs/FP.md.
 */
#ifndef GUISE_GUISE_CAPTURE_H
#define GUISE_GUISE_CAPTURE_H

#include "guise.h" /* GUISE_EXTERN, the version macros */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * guise_fp_options configures guise_fp_file(). Initialise with
 * guise_fp_options_init(), then set what differs; fields are only ever added
 * at the end.
 */
typedef struct guise_fp_options {
  unsigned size;
  /* Records indented (2 spaces) instead of one compact line each. Default 0. */
  int pretty;
  /* TCP connections tracked per capture file; past it one error record is
   * written and later connections are ignored. Default 65536, 1 to 4194304. */
  unsigned max_flows;
  /* Client bytes kept per connection, and the largest decoded hex dump; a first
   * flight that needs more is an error record. Default 262144 (256 KiB), 64 to
   * 16777216. */
  unsigned max_flow_bytes;
  /* Required. Called once per record, in the order records are complete (a
   * connection's record as soon as its first flight is parsed; the rest at the
   * end of the file, in order of first packet). |json| is one NUL-terminated JSON
   * document without a trailing newline, valid only during the call; |is_error|
   * is 1 when the record is an error record. */
  void (*on_record)(const char *json, int is_error, void *arg);
  void *arg;
} guise_fp_options;

/*
 * guise_fp_stats counts what guise_fp_file() saw in one file. Fields are only
 * ever added at the end; |size| is sizeof(guise_fp_stats) of the library that
 * filled it in.
 */
typedef struct guise_fp_stats {
  unsigned size;
  unsigned long long packets;         /* packet records read */
  unsigned long long tcp_segments;    /* of which decoded TCP segments */
  unsigned long long ignored_packets; /* not IP/TCP, IP fragments, malformed, over max_flows */
  unsigned long long flows;           /* TCP connections */
  unsigned long long records;         /* records written, error records included */
  unsigned long long errors;          /* error records */
  unsigned long long empty_flows;     /* connections without client payload (no record) */
  unsigned long long other_flows;     /* other protocols, or joined mid-way (no record) */
  /* QUIC (docs/FP.md): connections with a client Initial, the client Initials
   * decrypted and those that did not authenticate, and the packets skipped. */
  unsigned long long quic_flows, quic_initials, quic_undecryptable;
  unsigned long long quic_server_initials, quic_handshake, quic_zero_rtt, quic_retry, quic_short,
      quic_other;
} guise_fp_stats;

/* guise_fp_options_init sets every field of |opts| to its default. */
GUISE_EXTERN void guise_fp_options_init(guise_fp_options *opts);

/*
 * guise_fp_file reads one file and reports every client flight in it — the first
 * bytes a client sent on a connection: a TLS ClientHello, an h2c connection
 * preface, an HTTP/1 request head or an SSH identification string — behind an
 * HTTP CONNECT or SOCKS handshake when there is one — and a ClientHello sent
 * again after a HelloRetryRequest — as the JSON documents of `guise echo`
 * under a "flow" member saying where the flight was found. See docs/FP.md.
 *
 * The kind of file is told from its first bytes: pcap (any byte order, micro- or
 * nanosecond) or pcapng, read with libpcap (link types Ethernet, Linux cooked
 * SLL/SLL2, raw IPv4/IPv6, BSD loopback; TCP over IPv4 and IPv6 reassembled per
 * connection); anything else is read as a hex dump of one client flight (hex
 * digits and whitespace).
 *
 * Problems inside the file — a flight that does not parse or is incomplete, a
 * hole in a TCP stream, a truncated or corrupt capture record, malformed hex —
 * are error records ({"flow": ..., "error": {"stage", "offset", "reason"}}),
 * counted in |stats|->errors, and the function returns 0. |stats| may be NULL.
 *
 * Returns -1 when the file cannot be read at all — it cannot be opened or read,
 * libpcap rejects its header, its link type is not supported — or when |opts| is
 * invalid (no on_record, a limit out of range), with a message naming the file
 * written to |err| (|errlen| bytes, NUL-terminated). Nothing is kept after the
 * call returns.
 */
GUISE_EXTERN int guise_fp_file(const char *path, const guise_fp_options *opts,
                               guise_fp_stats *stats, char *err, unsigned errlen);

/*
 * guise_profile_import_capture makes a profile named |name| from a capture
 * (pcap, pcapng, or a hex dump of one ClientHello; what guise fp reads): the
 * first TLS ClientHello in it, and for HTTP/2, since TLS hides the preface:
 * the connection with the same client random in the guise echo log |echo_log|
 * (the visit was to guise echo), or the browser's Akamai string |akamai|, or
 * the first cleartext preface in the capture, in that order. Same results as
 * guise_profile_import_browsers_json (guise.h).
 */
GUISE_EXTERN int guise_profile_import_capture(const char *file, const char *akamai,
                                              const char *echo_log, const char *name,
                                              int permute, char **out, size_t *len, char *err,
                                              unsigned errlen);

/*
 * guise_fp_is_capture tells from its first bytes whether |path| is a pcap or pcapng
 * capture: 1 if it is, 0 if not (guise_fp_file would read it as a hex dump), -1 if it
 * cannot be read.
 */
GUISE_EXTERN int guise_fp_is_capture(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* GUISE_GUISE_CAPTURE_H */

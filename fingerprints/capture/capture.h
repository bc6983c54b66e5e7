/* capture.h — the capture reader behind `guise fp` (internal, gcap_ prefix).
 *
 * Turns a pcap / pcapng file (read with libpcap, offline) or a hex dump of one client
 * flight into JSON records, one per client flight: the same documents as `guise echo`
 * (fp_report.h) under a "flow" object saying where the flight came from.
 *
 *   packet.c   link layer -> IPv4/IPv6 -> TCP segment, every byte through CBS (I/O-free)
 *   stream.c   one direction of a TCP connection: sequence-ordered bytes (I/O-free)
 *   flows.c    connection table, client side, parsing and records (I/O-free)
 *   hexdump.c  hex text -> bytes (I/O-free)
 *   reader.c   files: input kind, libpcap loop, the hex path
 *
 * Every limit is in capture_limits.h. Nothing here prints; records go to a callback.
 */
#ifndef GUISE_CAPTURE_H
#define GUISE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "capture_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Packets (packet.c) -------------------------------------------------------------- */

/* TCP header flags (RFC 9293 §3.1). */
enum { GCAP_TCP_FIN = 0x01, GCAP_TCP_SYN = 0x02, GCAP_TCP_RST = 0x04, GCAP_TCP_ACK = 0x10 };

/* IP protocol numbers of the segments decoded (IANA). */
enum { GCAP_PROTO_TCP = 6, GCAP_PROTO_UDP = 17 };

/* One TCP segment (or UDP datagram: |proto|, ports and payload only) as decoded from a
 * captured frame. |payload| points into the frame. */
typedef struct gcap_segment {
  uint8_t family;           /* 4 or 6 */
  uint8_t proto;            /* GCAP_PROTO_TCP or GCAP_PROTO_UDP */
  uint8_t src[16], dst[16]; /* IPv4 addresses use the first 4 bytes, the rest is zero */
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t flags;
  const uint8_t *payload;
  size_t payload_len; /* captured payload bytes */
  size_t missing_len; /* payload bytes the IP header announces but the capture cut off */
} gcap_segment;

typedef enum gcap_pkt {
  GCAP_PKT_TCP = 0,  /* |seg| is filled in */
  GCAP_PKT_UDP,      /* |seg| is filled in (a UDP datagram: QUIC is looked for in it) */
  GCAP_PKT_OTHER,    /* not IPv4/IPv6, or neither TCP nor UDP: ignored */
  GCAP_PKT_FRAGMENT, /* an IP fragment: not reassembled, ignored */
  GCAP_PKT_MALFORMED /* a header is truncated or inconsistent: ignored (see |why|) */
} gcap_pkt;

/* Whether a libpcap link type (DLT_*) is one decode can read. */
bool gcap_dlt_supported(int dlt);

/* Decodes one captured frame of link type |dlt| (|len| captured bytes). On
 * GCAP_PKT_MALFORMED, |*why| (may be NULL) is a static reason. */
gcap_pkt gcap_decode(int dlt, const uint8_t *frame, size_t len, gcap_segment *seg,
                     const char **why);

/* ---- One direction of a connection (stream.c) ----------------------------------------- */

/* Bytes of one direction, placed by their offset from the first sequence number
 * (RFC 9293 §3.4), kept up to |limit|. Ranges not yet filled are holes; the first copy
 * of a byte wins over retransmissions and overlapping segments. */
typedef struct gcap_stream {
  uint8_t *buf;
  size_t alloc; /* bytes allocated at |buf| (grows up to |limit|) */
  size_t limit;
  struct {
    size_t start, end;
  } span[GCAP_MAX_SPANS]; /* filled ranges, sorted, disjoint and not adjacent */
  size_t nspan;
  bool past_limit;  /* some byte at or after |limit| was sent */
  uint64_t dropped; /* segments dropped because they would open too many holes */
} gcap_stream;

gcap_stream *gcap_stream_new(size_t limit);
/* Frees |s| and gives its allocation back to |*budget|. NULL is accepted. */
void gcap_stream_free(gcap_stream *s, size_t *budget);

/* Places |len| bytes at stream offset |off| (negative: before the start, those bytes
 * are ignored). Growing the buffer takes from |*budget|. Returns 0, or -1 when the
 * budget or memory ran out (nothing stored). */
int gcap_stream_add(gcap_stream *s, int64_t off, const uint8_t *data, size_t len, size_t *budget);

/* Bytes available from offset 0 without a hole. */
size_t gcap_stream_contiguous(const gcap_stream *s);

/* Whether some byte after the contiguous prefix was received (a hole precedes it). */
bool gcap_stream_has_gap(const gcap_stream *s);

/* ---- Records ---------------------------------------------------------------------- */

typedef struct gcap_options {
  size_t max_flows;      /* TCP connections tracked per file */
  size_t max_flow_bytes; /* client bytes kept per connection, and largest hex dump */
  size_t max_buffered;   /* client bytes buffered at once across connections */
} gcap_options;

void gcap_options_init(gcap_options *o);

/* Counters of one file. */
typedef struct gcap_stats {
  uint64_t packets;         /* records read from the capture */
  uint64_t tcp_segments;    /* of which TCP segments that were decoded */
  uint64_t ignored_packets; /* not IP/TCP, IP fragments, malformed, or over the flow cap */
  uint64_t flows;           /* TCP connections seen */
  uint64_t records;         /* records delivered (flights and errors) */
  uint64_t errors;          /* of which error records */
  uint64_t empty_flows;     /* connections without client payload (skipped) */
  uint64_t other_flows;     /* connections of another protocol, or joined mid-way (skipped) */
  /* QUIC (UDP datagrams whose first packet is a version 1 or 2 long header): */
  uint64_t udp_datagrams;       /* UDP datagrams decoded (QUIC or not) */
  uint64_t quic_flows;          /* QUIC connections: address/port pairs with a client Initial */
  uint64_t quic_initials;       /* client Initial packets decrypted */
  uint64_t quic_undecryptable;  /* client Initial packets that did not authenticate */
  uint64_t quic_server_initials; /* the server's Initial packets (not read: server keys) */
  uint64_t quic_handshake;      /* Handshake packets (keys from the handshake: skipped) */
  uint64_t quic_zero_rtt;       /* 0-RTT packets (skipped) */
  uint64_t quic_retry;          /* Retry packets (skipped) */
  uint64_t quic_short;          /* short header (1-RTT) packets (skipped) */
  uint64_t quic_other;          /* Version Negotiation, other versions, malformed (skipped) */
} gcap_stats;

/* Receives each record. The reader keeps ownership of |record| (json_incref to keep it).
 * |is_error|: the record has an "error" member. */
typedef void (*gcap_sink)(json_t *record, bool is_error, void *arg);

/* Kind of an input file, told from its first bytes. */
typedef enum gcap_input {
  GCAP_INPUT_HEX = 0, /* anything else is read as a hex dump */
  GCAP_INPUT_PCAP,    /* a1b2c3d4 / a1b23c4d (nanosecond) magic, either byte order */
  GCAP_INPUT_PCAPNG   /* section header block 0a0d0d0a */
} gcap_input;

gcap_input gcap_detect(const uint8_t *head, size_t len);

/* Reads the file at |path| and delivers its records to |sink|; |name| is the file name
 * written in each record's "flow" (|path| when NULL). Returns 0 when the file was read
 * (problems inside it are error records, counted in |stats|), or -1 when it cannot be
 * read at all (cannot open; libpcap refuses the header; unsupported link type), with
 * a message naming the file in |err|. */
int gcap_read_file(const char *path, const char *name, const gcap_options *o, gcap_sink sink,
                   void *arg, gcap_stats *stats, char *err, size_t errlen);

/* The same for bytes in memory (pcap input goes through fmemopen). */
int gcap_read_memory(const uint8_t *data, size_t len, const char *name, const gcap_options *o,
                     gcap_sink sink, void *arg, gcap_stats *stats, char *err, size_t errlen);

/* Reads a capture from |f| (libpcap takes ownership and closes it). */
int gcap_read_pcap_stream(FILE *f, const char *name, const gcap_options *o, gcap_sink sink,
                          void *arg, gcap_stats *stats, char *err, size_t errlen);

/* Treats |len| bytes of text as a hex dump of one client flight (records as above). */
int gcap_read_hex(const uint8_t *text, size_t len, const char *name, const gcap_options *o,
                  gcap_sink sink, void *arg, gcap_stats *stats);

/* ---- Hex dumps (hexdump.c) ---------------------------------------------------------- */

/* Decodes hex digits separated by any whitespace into |out| (|*out_len| bytes; |out|
 * holds at least |cap|). Returns 0, or -1 with |*err_offset| the offset in |text| of the
 * offending character and |*why| a static reason: a non-hex character, an odd number
 * of digits, no digits at all, or more than |cap| bytes. */
int gcap_unhex(const uint8_t *text, size_t len, uint8_t *out, size_t cap, size_t *out_len,
               size_t *err_offset, const char **why);

/* ---- Connection table (flows.c) ------------------------------------------------------ */

typedef struct gcap_flows gcap_flows;

/* A table for one file; |name| is copied into records. NULL on allocation failure. */
gcap_flows *gcap_flows_new(const char *name, const gcap_options *o, gcap_sink sink, void *arg,
                           gcap_stats *stats);
/* Handles one captured segment: packet number |packet| (1-based, as tshark's frame
 * numbers) captured at |sec|.|nsec| (UTC). */
void gcap_flows_segment(gcap_flows *t, const gcap_segment *seg, uint64_t packet, int64_t sec,
                        long nsec);
/* Handles one UDP datagram (|seg| from GCAP_PKT_UDP): QUIC Initial packets of a client
 * are decrypted and their CRYPTO frames reassembled until the ClientHello is whole
 * (quic_initial.h); other UDP traffic is counted in ignored_packets. */
void gcap_flows_datagram(gcap_flows *t, const gcap_segment *seg, uint64_t packet, int64_t sec,
                         long nsec);
/* End of input: every connection still waiting is reported (incomplete flights are
 * error records), in order of first packet. */
void gcap_flows_finish(gcap_flows *t);
void gcap_flows_free(gcap_flows *t);

/* Delivers a record that is not about one connection: {"flow": {"file": ...},
 * "error": {stage, offset, reason}} (counted as an error). */
void gcap_flows_file_error(gcap_flows *t, const char *stage, size_t offset, const char *reason,
                           uint64_t packet);

/* Parses one complete flight (a hex dump) and delivers its record. */
void gcap_flows_flight(gcap_flows *t, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* GUISE_CAPTURE_H */

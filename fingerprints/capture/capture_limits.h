/* capture_limits.h — every hard limit of the capture reader (guise fp), in one place.
 *
 * A capture file is untrusted input of any size: the reader keeps only what each
 * connection's first flight needs, and every table it grows has a maximum fixed here.
 */
#ifndef GUISE_CAPTURE_LIMITS_H
#define GUISE_CAPTURE_LIMITS_H

#include "guise_fp_limits.h"

/* Client bytes kept per TCP connection (default of guise_fp_options.max_flow_bytes).
 * The largest first flight the parsers accept is an HTTP/2 preface whose header block
 * reaches GFP_H2_MAX_HEADER_BLOCK (64 KiB) behind up to GFP_H2_MAX_FRAMES other frames,
 * or a 64 KiB ClientHello (GFP_CH_MAX_BODY) in GFP_CH_MAX_RECORDS records; 256 KiB holds
 * either with room, and a flight that needs more is reported as an error. */
#define GCAP_DEFAULT_FLOW_BYTES (256u * 1024u)

/* Smallest and largest per-connection cap accepted from options. Below 64 bytes not even
 * a ClientHello header and its version fit; above 16 MiB a single connection could hold
 * more than any first flight the parsers would ever accept. */
#define GCAP_MIN_FLOW_BYTES 64u
#define GCAP_MAX_FLOW_BYTES (16u * 1024u * 1024u)

/* TCP connections tracked per file (default of guise_fp_options.max_flows). Each costs
 * about 100 bytes once its flight is parsed, so 65536 connections stay under 10 MiB of
 * bookkeeping; a capture with more gets one error record and the rest are ignored. */
#define GCAP_DEFAULT_MAX_FLOWS 65536u
#define GCAP_MAX_MAX_FLOWS (1u << 22)

/* Client bytes buffered at once across every connection whose flight is incomplete.
 * Flights are usually parsed and their bytes freed within a packet or two; this bounds
 * a capture full of connections that stall half-way (256 MiB = 1024 full flows). */
#define GCAP_MAX_BUFFERED_BYTES (256u * 1024u * 1024u)

/* Disjoint byte ranges held per direction while segments are missing (out-of-order
 * data waiting for a retransmission). Real reordering leaves a handful of holes; a
 * segment that would open one more is dropped and counted, so a hostile stream of tiny
 * scattered segments costs O(GCAP_MAX_SPANS) per packet. */
#define GCAP_MAX_SPANS 32u

/* Bytes of each direction looked at before deciding, when no SYN was captured, whether
 * it starts with a client flight: enough for a TLS record plus handshake header (6), and
 * for the HTTP/2 preface line or an HTTP/1 method token (gfp_ch_parse decides by 24). */
#define GCAP_DETECT_BYTES 32u

/* Incomplete flights are re-parsed only when the contiguous client bytes have doubled,
 * or grown by this much, since the last try: parsing stays O(bytes) amortised while a
 * flight arriving in small segments is still reported as soon as it is whole. */
#define GCAP_REPARSE_STEP 4096u

/* Tunnel handshakes (HTTP CONNECT, SOCKS) passed through on one connection before the
 * flight inside is reported. A client behind a proxy chain sends one per hop; real chains
 * are one or two long. Past this the last handshake itself is the record. */
#define GCAP_MAX_TUNNELS 4u

/* change_cipher_spec records skipped between a ClientHello and the ClientHello sent again
 * after a HelloRetryRequest (RFC 8446 D.4: one, in middlebox compatibility mode). */
#define GCAP_MAX_CCS_BEFORE_RETRY 2u

/* IPv6 extension headers walked before giving up on a packet (RFC 8200 §4.1 recommends
 * each appear at most once, destination options twice: 8 covers every legal chain). */
#define GCAP_MAX_IPV6_EXT 8u

/* VLAN tags (IEEE 802.1Q / 802.1ad) skipped in an Ethernet frame: QinQ uses two. */
#define GCAP_MAX_VLAN_TAGS 2u

#endif /* GUISE_CAPTURE_LIMITS_H */

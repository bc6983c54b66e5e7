/* quic_initial.h — the client's QUIC Initial packets, read by an observer (gqi_ prefix).
 *
 * An Initial packet is protected with keys anyone can derive from the Destination
 * Connection ID the client chose (RFC 9001 §5.2; RFC 9369 §3.3 for QUIC version 2), so
 * an observer can remove the protection and read the CRYPTO frames that carry the TLS
 * ClientHello. This module does one packet at a time, I/O-free, every byte through
 * BoringSSL's CBS:
 *
 *   gqi_parse_long_header   RFC 9000 §17.2 long header: version, connection IDs, token,
 *                           Length; where the next coalesced packet starts (§12.2)
 *   gqi_initial_keys        HKDF-Extract / HKDF-Expand-Label of the client's Initial keys
 *   gqi_open_initial        header protection removal (AES-128-ECB on the sample, §5.4),
 *                           packet number decoding (RFC 9000 §A.3), AES-128-GCM open
 *   gqi_walk_frames         the frames an Initial may hold (RFC 9000 §12.4): PADDING,
 *                           PING, ACK, CRYPTO, CONNECTION_CLOSE
 *   gqi_transport_params    the quic_transport_parameters extension (RFC 9000 §18)
 *
 * Reassembling CRYPTO data across packets is the caller's (fingerprints/capture/flows.c),
 * bounded by GQI_MAX_CRYPTO. Nothing here allocates.
 */
#ifndef GUISE_QUIC_INITIAL_H
#define GUISE_QUIC_INITIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

#include "guise_fp_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* QUIC versions whose Initial protection is known (RFC 9000 §15, RFC 9369 §3.1). */
#define GQI_VERSION_1 0x00000001u
#define GQI_VERSION_2 0x6b3343cfu

/* RFC 9000 §17.2: connection IDs are at most 20 bytes in QUIC version 1 (and 2). */
#define GQI_MAX_CID 20u

/* CRYPTO stream bytes kept per connection: the ClientHello's 4-byte handshake header
 * and the largest body the ClientHello parser accepts (GFP_CH_MAX_BODY). A CRYPTO frame
 * reaching past it is an error. */
#define GQI_MAX_CRYPTO (4u + GFP_CH_MAX_BODY)

/* Largest UDP payload (65535 - 8 byte UDP header); a packet's plaintext is never longer. */
#define GQI_MAX_DATAGRAM 65527u

/* Packets read from one datagram (RFC 9000 §12.2 coalescing). A datagram holds at most
 * one packet per packet number space and a short-header packet last: 4 in practice; the
 * cap bounds work on a hostile datagram of minimal long headers. */
#define GQI_MAX_COALESCED 16u

/* Transport parameters decoded from one extension (RFC 9000 §18). Chrome sends about 12
 * (with one GREASE parameter); each takes at least 2 bytes. */
#define GQI_MAX_TRANSPORT_PARAMS 128u

/* Packet types of the long header, whatever the version's wire bits. */
typedef enum gqi_type {
  GQI_INITIAL = 0,
  GQI_ZERO_RTT,
  GQI_HANDSHAKE,
  GQI_RETRY,
  GQI_VERSION_NEGOTIATION, /* version 0 (RFC 9000 §17.2.1) */
  GQI_UNKNOWN_VERSION      /* a long header of a version whose layout is not known */
} gqi_type;

/* A parsed long header. Offsets count from the packet's first byte. */
typedef struct gqi_header {
  uint8_t first; /* the first byte as sent (still header-protected) */
  uint32_t version;
  gqi_type type;
  uint8_t dcid[GQI_MAX_CID], scid[GQI_MAX_CID];
  uint8_t dcid_len, scid_len;
  size_t token_offset, token_len; /* Initial only */
  uint64_t length;                /* the Length field: packet number + payload */
  size_t pn_offset;               /* where the (protected) packet number starts */
  size_t packet_len;              /* bytes of this packet; the next coalesced one follows */
} gqi_header;

/* Parses the long header at the start of |pkt| (|len| bytes: the rest of the datagram).
 * Returns 0, or -1 with |*why| a static reason: not a long header (first bit clear), the
 * fixed bit clear (RFC 9000 §17.2, not QUIC), a connection ID over 20 bytes, a truncated
 * field, a Length past the datagram. For GQI_VERSION_NEGOTIATION, GQI_UNKNOWN_VERSION
 * and GQI_RETRY only the fields up to the SCID are set and |packet_len| is |len| (these
 * packets end the datagram). */
int gqi_parse_long_header(const uint8_t *pkt, size_t len, gqi_header *h, const char **why);

/* The client's Initial packet protection keys (AEAD_AES_128_GCM, RFC 9001 §5). */
typedef struct gqi_keys {
  uint8_t secret[32]; /* client_initial_secret */
  uint8_t key[16];
  uint8_t iv[12];
  uint8_t hp[16];
} gqi_keys;

/* Derives the client's Initial keys for |version| (GQI_VERSION_1 or _2) from the
 * Destination Connection ID of the client's first Initial packet (RFC 9001 §5.2: salt,
 * "client in", "quic key/iv/hp"; RFC 9369 §3.3: its salt, "quicv2 key/iv/hp"). Returns 0,
 * or -1 for another version or a crypto failure. */
int gqi_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, gqi_keys *out);

/* Removes the protection of the Initial packet |pkt| (|h| from gqi_parse_long_header):
 * header protection (RFC 9001 §5.4.1, AES-ECB mask from the 16-byte sample 4 bytes after
 * the packet number's start), the packet number (RFC 9000 §17.1, §A.3, decoded against
 * |largest_pn|, -1 when none was received yet), and the AEAD (§5.3: nonce = iv XOR packet
 * number, the unprotected header as associated data). The plaintext payload goes to |out|,
 * which is also scratch space for the header: |cap| must be at least h->pn_offset +
 * h->length (h->packet_len is enough). Returns 0 with |*out_len| and |*pn|, or -1 with
 * |*why|: packet too short for a sample, a Length below packet number + tag, the
 * reserved bits set (§17.2, checked after removal), authentication failed (wrong keys or
 * damaged packet). */
int gqi_open_initial(const uint8_t *pkt, const gqi_header *h, const gqi_keys *k, int64_t largest_pn,
                     uint8_t *out, size_t cap, size_t *out_len, uint64_t *pn, const char **why);

/* Frames counted in one Initial packet's payload. */
typedef struct gqi_frame_counts {
  size_t padding; /* PADDING bytes */
  size_t ping, ack, crypto, connection_close;
} gqi_frame_counts;

/* Receives each CRYPTO frame's data at stream offset |offset|. Returns 0 to go on, or -1
 * to stop the walk with |*why| (static) as the reason. */
typedef int (*gqi_crypto_fn)(uint64_t offset, const uint8_t *data, size_t len, void *arg,
                             const char **why);

/* Walks the frames of an Initial packet's plaintext (RFC 9000 §19): PADDING, PING, ACK
 * (with or without ECN counts), CRYPTO (handed to |on_crypto|; offset + length must stay
 * within GQI_MAX_CRYPTO), CONNECTION_CLOSE (type 0x1c). Any other frame type is not
 * allowed in an Initial packet (§12.4, §12.5). Returns 0, or -1 with |*why| and
 * |*err_offset| (in |p|). |counts| may be NULL. */
int gqi_walk_frames(const uint8_t *p, size_t n, gqi_crypto_fn on_crypto, void *arg,
                    gqi_frame_counts *counts, const char **why, size_t *err_offset);

/* One transport parameter (RFC 9000 §18), in the order sent. */
typedef struct gqi_param {
  uint64_t id;
  const uint8_t *value; /* points into the extension body given */
  size_t len;
  bool has_int;  /* the value is exactly one variable-length integer */
  uint64_t ival; /* that integer */
} gqi_param;

/* Parses a quic_transport_parameters extension body (RFC 9001 §8.2; RFC 9000 §18:
 * id varint, length varint, value). Returns the number of parameters in |out| (at most
 * |cap|), or -1 with |*why| when the body does not decode or holds more than |cap|. */
int gqi_transport_params(const uint8_t *body, size_t len, gqi_param *out, size_t cap,
                         const char **why);

/* IANA name of a transport parameter id ("max_idle_timeout", ...), "GREASE" for the
 * reserved 31 * N + 27 ids (RFC 9000 §18.1), or NULL. */
const char *gqi_param_name(uint64_t id);

/* Reads a QUIC variable-length integer (RFC 9000 §16) from |cbs|. Returns 1, or 0 when
 * truncated (CBS convention, so that reads chain with ||). */
int gqi_get_varint(CBS *cbs, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif /* GUISE_QUIC_INITIAL_H */

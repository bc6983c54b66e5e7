/*
 * fp_report.h — JSON documents (jansson) of what the observer parsed: the decoded
 * ClientHello with every TLS fingerprint, the HTTP/2 preface with the Akamai
 * fingerprint, the HTTP/1 request head, and error records. I/O-free; shared by
 * `guise echo` and `guise fp`. The layout is documented in docs/OBSERVER.md.
 */
#ifndef GUISE_FP_REPORT_H
#define GUISE_FP_REPORT_H

#include <jansson.h>

#include "guise_fp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* {"client_hello": {...}, "fingerprints": {...}} for a GFP_DONE ClientHello. |flight|
 * and |len| are the bytes it was parsed from (for "raw"). NULL on allocation failure. */
json_t *gfp_report_tls(const gfp_clienthello *ch, const uint8_t *flight, size_t len);

/* The same for a ClientHello that came in QUIC CRYPTO frames (RFC 9001 §4): JA4 with
 * the 'q' prefix, no record fields, and "raw" the |len| bytes of the handshake message
 * |msg|. The quic_transport_parameters extension (57) lists its "parameters" (as it
 * does in gfp_report_tls). NULL on allocation failure. */
json_t *gfp_report_tls_quic(const gfp_clienthello *ch, const uint8_t *msg, size_t len);

/* {"frames": [...], "headers": [[name, value], ...], "akamai": ..., "akamai_md5": ...}
 * for a GFP_DONE HTTP/2 preface. NULL on allocation failure. */
json_t *gfp_report_h2(const gfp_h2_preface *h2);

/* {"method", "target", "version", "headers": [[name, value], ...]} for a GFP_DONE
 * request head. NULL on allocation failure. */
json_t *gfp_report_h1(const gfp_h1_request *req);

/* {"identification", "proto_version", "software_version", ["comments"], "line_end",
 * "length"} for a GFP_DONE SSH identification string. NULL on allocation failure. */
json_t *gfp_report_ssh(const gfp_ssh_ident *id);

/* {"version", "command", ["methods", "username_password"], "address_type", "host",
 * "port", "username_length", "length"} for a GFP_DONE SOCKS client handshake (never the
 * password). NULL on allocation failure. */
json_t *gfp_report_socks(const gfp_socks *s);

/* {"stage": |stage|, "offset": |offset|, "reason": |reason|} */
json_t *gfp_report_error(const char *stage, size_t offset, const char *reason);

/* "what the first flight is" for a GFP_NOT_TLS result. */
const char *gfp_report_flight_kind(gfp_flight_kind kind);

/* A JSON string of |len| bytes as lowercase hex. */
json_t *gfp_report_hex(const uint8_t *data, size_t len);

/* A JSON string of |len| bytes; bytes that are not valid UTF-8 are replaced by
 * U+FFFD so that any peer input yields a valid document. */
json_t *gfp_report_text(const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif

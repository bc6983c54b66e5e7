/* guise fingerprints: every hard limit of the observer parsers, in one place.
 *
 * The observer parses bytes sent by an untrusted peer, so every buffer it keeps has a
 * maximum fixed here, at compile time. Each value says why it is what it is. Raising one
 * only costs memory in the parse objects (they are allocated once, by gfp_*_new()).
 */
#ifndef GUISE_FP_LIMITS_H
#define GUISE_FP_LIMITS_H

/* ---- TLS ClientHello (tls_clienthello.c) ------------------------------------------- */

/* Largest ClientHello body (handshake message without its 4-byte header) we accept.
 * The uint24 length allows 16 MiB. A BoringSSL server without client auth refuses any
 * handshake message above 16 KiB (ssl_max_handshake_message_len, kMaxMessageLen);
 * observing up to 64 KiB still covers post-quantum hellos (X25519MLKEM768 key share
 * ~1.2 KiB, plus padding) with wide margin, and lets us describe over-size hellos a real
 * server would reject instead of failing on them. */
#define GFP_CH_MAX_BODY 65536u

/* Most TLS records the ClientHello may be split across. RFC 8446 §5.1 allows any
 * fragmentation, but 2^14-byte records carry 64 KiB in 4 records; 16 leaves room for
 * deliberately small fragments (used by some censorship-evasion tools) while bounding
 * work on a hostile stream of tiny records. */
#define GFP_CH_MAX_RECORDS 16u

/* RFC 8446 §5.1: TLSPlaintext.length MUST NOT exceed 2^14. */
#define GFP_TLS_MAX_RECORD_PAYLOAD 16384u

/* Most extensions kept. RFC 8446 §4.2 forbids duplicates, so distinct types are at most
 * 65536, but real clients send fewer than 32 (Chromium 156: 18 incl. GREASE). 256 is
 * ample and bounds the fixed extension table. */
#define GFP_CH_MAX_EXTENSIONS 256u

/* Pool for every decoded 16-bit list (ciphers, groups, sigalgs, versions, key-share
 * lengths, ...). Every value stored comes from at least two distinct body bytes except
 * widened 8-bit values, so half the body plus a margin for those is enough for any
 * hello that fits GFP_CH_MAX_BODY; the parser still checks and fails cleanly. */
#define GFP_CH_MAX_U16 (GFP_CH_MAX_BODY / 2u + 1024u)

/* key_share entries kept (RFC 8446 §4.2.8). Browsers send 1 to 3 (GREASE, hybrid PQ,
 * X25519); each entry is at least 5 bytes, so a hostile hello could hold thousands. */
#define GFP_CH_MAX_KEY_SHARES 64u

/* Pool for byte strings inside extensions (ALPN/ALPS protocol names). A real client
 * offers a handful of protocols; 1024 names across all such extensions is generous. */
#define GFP_CH_MAX_NAMES 1024u

/* ---- HTTP/2 client preface (h2_preface.c) ------------------------------------------ */

/* RFC 9113 §4.2: a peer may not send frames above SETTINGS_MAX_FRAME_SIZE of the
 * receiver, whose initial value is 2^14; the observer never advertises more. */
#define GFP_H2_MAX_FRAME_PAYLOAD 16384u

/* Frames accepted before the first complete HEADERS. Browsers send 3 (Chromium) to 9
 * (old Firefox: SETTINGS, WINDOW_UPDATE, 6 PRIORITY, HEADERS). */
#define GFP_H2_MAX_FRAMES 64u

/* SETTINGS parameters kept across all SETTINGS frames. nghttp2 refuses more than 32
 * per frame by default (NGHTTP2_DEFAULT_MAX_SETTINGS); browsers send 3 to 6. */
#define GFP_H2_MAX_SETTINGS 64u

/* Encoded header block (HEADERS + CONTINUATION fragments) of the first request. Real
 * first requests are below 4 KiB; 64 KiB is the usual server-side header limit order. */
#define GFP_H2_MAX_HEADER_BLOCK 65536u

/* Decoded header bytes (names + values), bounding HPACK expansion (RFC 7541 §7.3: a
 * small block can reference large dynamic-table entries repeatedly). */
#define GFP_H2_MAX_DECODED 65536u

/* Decoded header fields kept. Same order as nginx's and Apache's default field limit. */
#define GFP_H2_MAX_HEADERS 128u

/* ---- HTTP/1.x request head (http1_request.c) ---------------------------------------- */

/* One request line or header line (without CRLF): nginx's large_client_header_buffers
 * default is 8 KiB per line. */
#define GFP_H1_MAX_LINE 8192u

/* Header fields: Apache LimitRequestFields default is 100. */
#define GFP_H1_MAX_HEADERS 100u

/* Whole request head including the empty line. */
#define GFP_H1_MAX_HEAD 65536u

/* ---- Fingerprint strings (fp_tls.c, fp_h2.c) ----------------------------------------- */

/* Longest fingerprint string produced. The worst case is peetprint / JA3 over a
 * GFP_CH_MAX_BODY hello: at most 7 output characters ("GREASE-") per 2 input bytes. */
#define GFP_FP_MAX_STRING (GFP_CH_MAX_BODY * 4u)

#endif /* GUISE_FP_LIMITS_H */

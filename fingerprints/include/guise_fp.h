/* guise fingerprints: the I/O-free observer library (internal header, gfp_ prefix).
 *
 * Three parsers for what a client sends first, and the fingerprints computed from them:
 *
 *   TLS ClientHello     gfp_ch_*      -> JA3, JA3N, JA4, JA4_r, JA4_o, JA4_ro, peetprint
 *   HTTP/2 preface      gfp_h2_*      -> Akamai HTTP/2 fingerprint
 *   HTTP/1.x head       gfp_h1_*      -> request line, header names with case and order
 *
 * The library never does I/O, never prints and never keeps a pointer to caller memory:
 * every parser copies what it keeps into its own bounded object (limits in
 * guise_fp_limits.h). Every untrusted byte is read through BoringSSL's CBS.
 *
 * Incremental use: the caller keeps appending what it received to one buffer and calls
 * the parser with the whole buffer (from the first byte of the connection) after each
 * read. The result is GFP_NEED_MORE until enough has arrived, then GFP_DONE (or
 * GFP_ERROR / GFP_NOT_TLS). Calls while incomplete only re-walk record / frame / line
 * headers, so byte-at-a-time delivery costs O(records) (TLS, HTTP/2) or O(new bytes)
 * (HTTP/1) per call. Every call must pass the same leading bytes as the previous one plus
 * possibly more; passing a different buffer requires gfp_*_reset() first (HTTP/1 only —
 * the TLS and HTTP/2 parsers are stateless between calls).
 *
 * Objects are plain data once parsed: a JSON writer walks the public fields directly. The
 * pointers inside (gfp_bytes, gfp_u16s, gfp_names) point into the object itself and are
 * valid until the next parse call, reset or free. Objects must not be copied by value.
 * Objects are not thread-safe; distinct objects may be used from distinct threads.
 */
#ifndef GUISE_FP_H
#define GUISE_FP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guise_fp_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Common ------------------------------------------------------------------------ */

/* Result of every parse call. */
typedef enum gfp_status {
  GFP_ERROR = -1,    /* malformed or over a limit: see err_offset / err_reason */
  GFP_DONE = 0,      /* complete; fields are valid */
  GFP_NEED_MORE = 1, /* consistent so far but incomplete: call again with more bytes */
  GFP_NOT_TLS = 2    /* gfp_ch_parse only: the flight is another protocol (see kind) */
} gfp_status;

/* A byte string owned by a parse object. */
typedef struct gfp_bytes {
  const uint8_t *data;
  size_t len;
} gfp_bytes;

/* A list of 16-bit values (8-bit wire values are widened) owned by a parse object. */
typedef struct gfp_u16s {
  const uint16_t *v;
  size_t n;
} gfp_u16s;

/* A list of byte strings owned by a parse object. */
typedef struct gfp_names {
  const gfp_bytes *v;
  size_t n;
} gfp_names;

/* RFC 8701 GREASE test (0x0a0a, 0x1a1a, ... 0xfafa). Applies to cipher suites,
 * extension types, named groups, signature algorithms and versions. */
bool gfp_is_grease(uint16_t v);

/* Lowercase hex MD5 of |len| bytes at |data| into |out| (33 bytes, NUL-terminated). */
void gfp_md5_hex(const void *data, size_t len, char out[33]);

/* First 12 lowercase hex digits of SHA-256 of |len| bytes into |out| (13 bytes), as
 * JA4 uses them. Writes "000000000000" when |len| is 0 (JA4 empty-section rule). */
void gfp_sha256_hex12(const void *data, size_t len, char out[13]);

/* ---- TLS ClientHello (tls_clienthello.c) ------------------------------------------- */

/* What the first flight turned out to be. */
typedef enum gfp_flight_kind {
  GFP_FLIGHT_UNKNOWN = 0, /* not enough bytes yet, or an unrecognised protocol */
  GFP_FLIGHT_TLS,         /* TLS records (content type 22) */
  GFP_FLIGHT_SSLV2,       /* SSLv2-compatible ClientHello (first byte has bit 7 set) */
  GFP_FLIGHT_HTTP1,       /* plaintext HTTP/1.x request (method token + SP) */
  GFP_FLIGHT_H2_PREFACE,  /* plaintext HTTP/2 connection preface ("PRI * HTTP/2.0") */
  GFP_FLIGHT_SSH,         /* SSH identification string ("SSH-", RFC 4253 §4.2) */
  GFP_FLIGHT_SOCKS        /* SOCKS request (first byte 4 or 5: RFC 1928, SOCKS4(a)) */
} gfp_flight_kind;

/* How an extension body was decoded; selects the member of gfp_ext.u. */
typedef enum gfp_ext_kind {
  GFP_EXT_RAW = 0,        /* unknown or GREASE type: only |body| */
  GFP_EXT_SERVER_NAME,    /* 0      u.sni */
  GFP_EXT_STATUS_REQUEST, /* 5      u.status_request */
  GFP_EXT_U16_LIST,       /* 10 supported_groups, 13 signature_algorithms,
                             * 34 delegated_credentials, 43 supported_versions,
                             * 27 compress_certificate, 50 signature_algorithms_cert,
                             * 11 ec_point_formats, 45 psk_key_exchange_modes
                             * (8-bit values widened)                 u.list */
  GFP_EXT_ALPN,           /* 16 ALPN, 17513 / 17613 ALPS           u.protocols */
  GFP_EXT_KEY_SHARE,      /* 51                                    u.key_share */
  GFP_EXT_PRE_SHARED_KEY, /* 41                                    u.psk */
  GFP_EXT_ECH,            /* 0xfe0d encrypted_client_hello          u.ech */
  GFP_EXT_LENGTH,         /* 21 padding, 35 session_ticket, 18 SCT, 42 early_data,
                             * 23 extended_master_secret: body length u.length */
  GFP_EXT_RENEGOTIATION,  /* 0xff01: renegotiated_connection length u.length */
  GFP_EXT_RECORD_SIZE     /* 28 record_size_limit                  u.record_size_limit */
} gfp_ext_kind;

/* One key_share entry (RFC 8446 §4.2.8). */
typedef struct gfp_key_share {
  uint16_t group;
  uint16_t key_len;
} gfp_key_share;

/* One extension, in wire order. */
typedef struct gfp_ext {
  uint16_t type;
  bool grease;
  gfp_ext_kind kind;
  size_t offset;  /* of the extension's type field, from the start of the flight */
  gfp_bytes body; /* extension_data, always kept */
  /* Non-NULL when the body does not decode as its type requires (static reason):
     * |kind| is then GFP_EXT_RAW, and |malformed_offset| is the byte in the flight where
     * decoding stopped. The hello itself is still GFP_DONE: the extension's type and
     * length are sound, so every fingerprint that does not read this body is still
     * computed (gfp_tls_fp_depends). */
  const char *malformed;
  size_t malformed_offset;
  union {
    struct {
      gfp_bytes host_name; /* first entry of type host_name(0); empty if none */
      size_t count;        /* ServerNameList entries */
    } sni;
    struct {
      uint8_t status_type;           /* 1 = ocsp */
      size_t responder_id_list_len;  /* ocsp only */
      size_t request_extensions_len; /* ocsp only */
    } status_request;
    gfp_u16s list;
    gfp_names protocols;
    struct {
      const gfp_key_share *v;
      size_t n;
    } key_share;
    struct {
      size_t identity_count;
      gfp_u16s identity_lengths;
      gfp_u16s binder_lengths;
    } psk;
    struct {
      uint8_t type;     /* 0 outer, 1 inner (draft-ietf-tls-esni §5) */
      uint16_t kdf_id;  /* outer only */
      uint16_t aead_id; /* outer only */
      uint8_t config_id;
      size_t enc_len;
      size_t payload_len;
    } ech;
    size_t length;
    uint16_t record_size_limit;
  } u;
} gfp_ext;

typedef struct gfp_clienthello gfp_clienthello;

struct gfp_clienthello {
  /* ---- valid after GFP_NOT_TLS, GFP_DONE ---- */
  gfp_flight_kind kind;

  /* ---- valid after GFP_DONE ---- */
  uint16_t record_version;   /* legacy_record_version of the first record */
  size_t record_count;       /* records the ClientHello spanned */
  size_t consumed;           /* flight bytes up to the end of the last of those records */
  size_t trailing_handshake; /* handshake bytes after the ClientHello in its last record */
  size_t body_len;           /* ClientHello body length (handshake header excluded) */

  uint16_t legacy_version; /* RFC 8446 §4.1.2 */
  uint8_t random[32];
  gfp_bytes session_id;
  gfp_u16s ciphers;
  gfp_bytes compression_methods;
  bool has_extensions_block; /* false for an SSL 3.0-style hello without extensions */
  const gfp_ext *exts;
  size_t ext_count;
  size_t malformed_count; /* extensions with a body that did not decode (gfp_ext) */

  /* ---- valid after GFP_ERROR ---- */
  size_t err_offset;      /* byte offset in the flight where parsing failed */
  const char *err_reason; /* static string */

  /* ---- storage, private ---- */
  uint8_t msg_[4 + GFP_CH_MAX_BODY]; /* handshake header + body, reassembled */
  gfp_ext exts_[GFP_CH_MAX_EXTENSIONS];
  gfp_key_share ks_[GFP_CH_MAX_KEY_SHARES];
  size_t ks_used_;
  uint16_t u16_[GFP_CH_MAX_U16];
  size_t u16_used_;
  gfp_bytes names_[GFP_CH_MAX_NAMES];
  size_t names_used_;
  struct {
    size_t msg_off, flight_off, len;
  } frags_[GFP_CH_MAX_RECORDS];
  size_t frag_count_;
};

/* Allocates a parse object (one bounded allocation, about 165 KiB). NULL on failure.
 * Free with gfp_ch_free(). */
gfp_clienthello *gfp_ch_new(void);
void gfp_ch_free(gfp_clienthello *ch);

/* Parses the first |len| bytes a client sent on a connection. Returns:
 *   GFP_DONE       a complete ClientHello was decoded (RFC 8446 §4.1.2, every extension
 *                  in wire order, see gfp_ext);
 *   GFP_NEED_MORE  the bytes so far are a consistent prefix;
 *   GFP_NOT_TLS    the first flight is not TLS records; ch->kind says what it is
 *                  (SSLv2-compatible hello, HTTP/1, HTTP/2 preface, unknown);
 *   GFP_ERROR      malformed, or over a limit of guise_fp_limits.h; ch->err_offset is
 *                  the offset in |data| and ch->err_reason a static description.
 * Stateless: calling again with a longer buffer re-parses from the start. */
gfp_status gfp_ch_parse(gfp_clienthello *ch, const uint8_t *data, size_t len);

/* First extension of |type|, or NULL. */
const gfp_ext *gfp_ch_find_ext(const gfp_clienthello *ch, uint16_t type);

/* IANA name of an extension type ("server_name", "GREASE", ...), or NULL if unknown. */
const char *gfp_tls_ext_name(uint16_t type);

/* ---- TLS fingerprints (fp_tls.c) --------------------------------------------------- */

/* Every TLS fingerprint of FINGERPRINTS.md. Strings are NUL-terminated, owned by the
 * struct, freed by gfp_tls_fp_free(). A fingerprint that reads the body of a malformed
 * extension cannot be computed: its string is NULL (and its _md5 empty). */
typedef struct gfp_tls_fp {
  char *ja3, *ja3n, *ja4, *ja4_r, *ja4_o, *ja4_ro, *peetprint;
  char ja3_md5[33];
  char ja3n_md5[33];
  char peetprint_md5[33];
} gfp_tls_fp;

/* Fingerprint families, as bits of gfp_tls_fp_depends(). */
enum {
  GFP_FP_JA3 = 1u << 0,      /* ja3, ja3_md5 */
  GFP_FP_JA3N = 1u << 1,     /* ja3n, ja3n_md5 */
  GFP_FP_JA4 = 1u << 2,      /* ja4, ja4_r, ja4_o, ja4_ro */
  GFP_FP_PEETPRINT = 1u << 3 /* peetprint, peetprint_md5 */
};

/* The fingerprints that read the BODY of an extension of |type| (the type list alone
 * is read by all of them): supported_groups and ec_point_formats (JA3, JA3N),
 * ALPN, signature_algorithms and supported_versions (JA4, peetprint), the other lists
 * of peetprint (psk_key_exchange_modes, compress_certificate). 0 for every other type
 * (server_name counts for JA4 by its presence only; key_share, ECH, ... are unused). */
unsigned gfp_tls_fp_depends(uint16_t type);

/* Computes every fingerprint of a parsed (GFP_DONE) ClientHello. |transport| is the JA4
 * protocol letter: 't' TCP, 'q' QUIC, 'd' DTLS. Returns 0, or -1 on allocation failure
 * (|out| is then left empty and safe to free). */
int gfp_tls_fp_compute(const gfp_clienthello *ch, char transport, gfp_tls_fp *out);
void gfp_tls_fp_free(gfp_tls_fp *fp);

/* JA4 two-character version code of a TLS/DTLS version ("13", "s3", "d1", "00"). */
void gfp_ja4_version(uint16_t version, char out[3]);

/* JA4 two-character ALPN code of a first ALPN value (|len| may be 0: "00"). */
void gfp_ja4_alpn(const uint8_t *value, size_t len, char out[3]);

/* The JA4 the same ClientHello would have with the padding extension (21, RFC
 * 7685) toggled — removed when |ja4_r| lists it, added otherwise — computed from
 * its JA4_r string ("a_ciphers_extensions_sigalgs"). Padding comes and goes with
 * the hello's length, so two hellos differing only there are one client.
 * Returns 0 with the JA4 in |out| (|cap| bytes), or -1 if |ja4_r| is malformed. */
int gfp_ja4_toggle_padding(const char *ja4_r, char *out, size_t cap);

/* ---- HTTP/2 client preface (h2_preface.c) ------------------------------------------ */

/* RFC 9113 §6 frame types used here. */
enum {
  GFP_H2_DATA = 0x0,
  GFP_H2_HEADERS = 0x1,
  GFP_H2_PRIORITY = 0x2,
  GFP_H2_RST_STREAM = 0x3,
  GFP_H2_SETTINGS = 0x4,
  GFP_H2_PUSH_PROMISE = 0x5,
  GFP_H2_PING = 0x6,
  GFP_H2_GOAWAY = 0x7,
  GFP_H2_WINDOW_UPDATE = 0x8,
  GFP_H2_CONTINUATION = 0x9
};

/* RFC 9113 §6.2 / §6.3 priority fields (RFC 7540 semantics; deprecated but still sent). */
typedef struct gfp_h2_priority {
  bool exclusive;
  uint32_t depends_on;
  uint16_t weight; /* wire value + 1: 1..256 */
} gfp_h2_priority;

typedef struct gfp_h2_setting {
  uint16_t id;
  uint32_t value;
} gfp_h2_setting;

/* One frame, in wire order, up to and including the frame that ended the first request's
 * header block. */
typedef struct gfp_h2_frame {
  size_t offset; /* of the 9-byte frame header, from the start of the input */
  uint32_t length;
  uint8_t type;
  uint8_t flags;
  uint32_t stream_id;
  /* SETTINGS: parameters settings[settings_first .. settings_first+settings_count) */
  size_t settings_first, settings_count;
  uint32_t window_increment; /* WINDOW_UPDATE */
  bool has_priority;         /* PRIORITY, or HEADERS with the PRIORITY flag */
  gfp_h2_priority priority;
} gfp_h2_frame;

/* A decoded header field of the first request, as sent (case and order kept). */
typedef struct gfp_h2_header {
  gfp_bytes name;
  gfp_bytes value;
  bool never_index; /* HPACK "never indexed" literal (RFC 7541 §6.2.3) */
} gfp_h2_header;

typedef struct gfp_h2_preface {
  /* ---- valid after GFP_DONE ---- */
  const gfp_h2_frame *frames;
  size_t frame_count;
  const gfp_h2_setting *settings; /* every SETTINGS parameter, wire order */
  size_t settings_count;
  const gfp_h2_frame *headers_frame; /* the first HEADERS frame */
  const gfp_h2_header *headers;
  size_t header_count;
  size_t consumed; /* input bytes up to the end of the frame that ended the block */

  /* ---- valid after GFP_ERROR ---- */
  size_t err_offset;
  const char *err_reason;

  /* ---- storage, private ---- */
  gfp_h2_frame frames_[GFP_H2_MAX_FRAMES];
  gfp_h2_setting settings_[GFP_H2_MAX_SETTINGS];
  gfp_h2_header headers_[GFP_H2_MAX_HEADERS];
  uint8_t block_[GFP_H2_MAX_HEADER_BLOCK];
  uint8_t decoded_[GFP_H2_MAX_DECODED];
  struct {
    size_t block_off, input_off, len;
  } frags_[GFP_H2_MAX_FRAMES];
} gfp_h2_preface;

/* Allocates a parse object (one bounded allocation, about 140 KiB). NULL on failure.
 * Free with gfp_h2_free(). */
gfp_h2_preface *gfp_h2_new(void);
void gfp_h2_free(gfp_h2_preface *h2);

/* Parses what a client sent on an HTTP/2 connection (after TLS, or h2c prior knowledge):
 * the 24-byte preface (RFC 9113 §3.4), then frames until the first HEADERS block is
 * complete (END_HEADERS, possibly on a CONTINUATION, §6.10), which is decoded with
 * nghttp2's HPACK inflater (RFC 7541). Returns GFP_DONE, GFP_NEED_MORE or GFP_ERROR
 * (err_offset in |data|, err_reason static). Stateless between calls. */
gfp_status gfp_h2_parse(gfp_h2_preface *h2, const uint8_t *data, size_t len);

/* ---- Akamai HTTP/2 fingerprint (fp_h2.c) ------------------------------------------- */

typedef struct gfp_h2_fp {
  char *akamai; /* "S|WU|P|PS", owned, NUL-terminated */
  char akamai_md5[33];
} gfp_h2_fp;

/* Computes the Akamai fingerprint of a GFP_DONE preface. 0, or -1 on allocation failure
 * (|out| is then empty and safe to free). */
int gfp_h2_fp_compute(const gfp_h2_preface *h2, gfp_h2_fp *out);
void gfp_h2_fp_free(gfp_h2_fp *fp);

/* ---- HTTP/1.x request head (http1_request.c) ---------------------------------------- */

typedef struct gfp_h1_header {
  gfp_bytes name;  /* original case */
  gfp_bytes value; /* surrounding whitespace removed (RFC 9112 §5) */
} gfp_h1_header;

typedef struct gfp_h1_request {
  /* ---- valid after GFP_DONE ---- */
  gfp_bytes method;
  gfp_bytes target;
  uint8_t version_major, version_minor;
  const gfp_h1_header *headers;
  size_t header_count;
  size_t head_len;            /* bytes up to and including the empty line */
  bool bare_lf;               /* some line ended in LF without CR (RFC 9112 §2.2 tolerance) */
  size_t leading_empty_lines; /* CRLFs skipped before the request line */

  /* ---- valid after GFP_ERROR ---- */
  size_t err_offset;
  const char *err_reason;

  /* ---- state and storage, private ---- */
  size_t scanned_;    /* bytes whose lines were already validated */
  size_t line_start_; /* start of the current, unterminated line */
  int stage_;         /* 0 request line, 1 headers, 2 done, -1 error */
  struct {
    size_t off, len;
  } hname_[GFP_H1_MAX_HEADERS], hvalue_[GFP_H1_MAX_HEADERS];
  size_t method_off_, method_len_, target_off_, target_len_;
  gfp_h1_header headers_[GFP_H1_MAX_HEADERS];
  uint8_t head_[GFP_H1_MAX_HEAD];
} gfp_h1_request;

/* Allocates a parse object in its initial state (one allocation, about 70 KiB). NULL
 * on failure. Free with gfp_h1_free(). */
gfp_h1_request *gfp_h1_new(void);
void gfp_h1_free(gfp_h1_request *req);
/* Returns |req| to its initial state, to parse another buffer. */
void gfp_h1_reset(gfp_h1_request *req);

/* Parses an HTTP/1.x request head (RFC 9112 §3 request line, §5 fields) from the first
 * |len| bytes of the connection. Incremental: each call resumes after the last complete
 * line, so |data| must start with the bytes of the previous call. Returns GFP_DONE,
 * GFP_NEED_MORE or GFP_ERROR (err_offset in |data|, err_reason static). After DONE or
 * ERROR, further calls return the same result until gfp_h1_reset(). */
gfp_status gfp_h1_parse(gfp_h1_request *req, const uint8_t *data, size_t len);

/* ---- SSH identification string (ssh_ident.c) --------------------------------------- */

/* RFC 4253 §4.2: "SSH-protoversion-softwareversion SP comments CR LF", at most 255
 * bytes including CR LF. A client sends it first; a server may send other lines before
 * its own, a client may not. */
typedef struct gfp_ssh_ident {
  /* ---- valid after GFP_DONE ---- */
  gfp_bytes line;             /* the identification string without its line end */
  gfp_bytes proto_version;    /* "2.0", "1.99", ... */
  gfp_bytes software_version; /* "OpenSSH_9.2p1" */
  gfp_bytes comments;         /* after the first SP; empty if none */
  bool has_comments;
  bool bare_lf; /* ended in LF alone (older implementations) */
  size_t len;   /* bytes including the line end */

  /* ---- valid after GFP_ERROR ---- */
  size_t err_offset;
  const char *err_reason;

  /* ---- storage, private ---- */
  uint8_t line_[256];
} gfp_ssh_ident;

/* Parses the identification string at the start of |data|. Returns GFP_DONE, GFP_NEED_MORE
 * (no line end yet, under 255 bytes) or GFP_ERROR (not "SSH-", a line over 255 bytes, a
 * control character, an empty or ill-formed version). Stateless; no allocation. */
gfp_status gfp_ssh_parse(gfp_ssh_ident *id, const uint8_t *data, size_t len);

/* ---- SOCKS client handshake (socks.c) ------------------------------------------------ */

/* What a SOCKS client sends before the tunnelled bytes: SOCKS5 (RFC 1928) greeting,
 * optional username/password sub-negotiation (RFC 1929), request; or a SOCKS4 / SOCKS4a
 * request. Read from the client's bytes alone (the server's choices are implied by
 * what the client sends next). */
typedef struct gfp_socks {
  /* ---- valid after GFP_DONE ---- */
  uint8_t version;      /* 4 or 5 */
  uint8_t command;      /* 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE (5 only) */
  uint8_t methods[255]; /* SOCKS5 authentication methods offered, in order */
  size_t method_count;
  bool userpass;       /* RFC 1929 sub-negotiation sent */
  size_t username_len; /* RFC 1929 UNAME or SOCKS4 USERID length (never the bytes) */
  uint8_t atyp;        /* SOCKS5: 1 IPv4, 3 domain, 4 IPv6; SOCKS4: 1, or 3 for 4a */
  uint8_t host[256];   /* domain name (NUL-terminated), or the address bytes */
  size_t host_len;
  uint16_t port;
  size_t len; /* client bytes of the whole handshake */

  /* ---- valid after GFP_ERROR ---- */
  size_t greeting_len; /* > 0 once a well-formed first message was read: an error
                          * before it means "not SOCKS", after it "a broken SOCKS client" */
  size_t err_offset;
  const char *err_reason;
} gfp_socks;

/* Parses a SOCKS client handshake at the start of |data|. Returns GFP_DONE (|len| bytes
 * of handshake, the tunnelled bytes follow), GFP_NEED_MORE or GFP_ERROR. Stateless. */
gfp_status gfp_socks_parse(gfp_socks *s, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* GUISE_FP_H */

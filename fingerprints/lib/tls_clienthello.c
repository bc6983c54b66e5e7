/* TLS first flight -> ClientHello (RFC 8446 §5.1 records, §4.1.2 ClientHello, §4.2
 * extensions), decoded in wire order with every untrusted byte read through CBS.
 *
 * The parser is stateless between calls: each call re-walks the record headers of the
 * whole flight (at most GFP_CH_MAX_RECORDS of them, so cheap) and only reassembles and
 * decodes the handshake message once all of its bytes are present. */
#include "guise_fp.h"

#include <openssl/bytestring.h>

#include <stdlib.h>
#include <string.h>

enum {
  TLS_CT_HANDSHAKE = 22,     /* RFC 8446 §5.1 ContentType.handshake */
  TLS_HS_CLIENT_HELLO = 1,   /* RFC 8446 §4 HandshakeType.client_hello */
  TLS_RECORD_HEADER_LEN = 5, /* type(1) legacy_record_version(2) length(2) */
  TLS_HS_HEADER_LEN = 4      /* msg_type(1) length(3) */
};

/* Extension code points (IANA TLS ExtensionType registry). */
enum {
  EXT_SERVER_NAME = 0,
  EXT_STATUS_REQUEST = 5,
  EXT_SUPPORTED_GROUPS = 10,
  EXT_EC_POINT_FORMATS = 11,
  EXT_SIGNATURE_ALGORITHMS = 13,
  EXT_ALPN = 16,
  EXT_SCT = 18,
  EXT_PADDING = 21,
  EXT_EXTENDED_MASTER_SECRET = 23,
  EXT_COMPRESS_CERTIFICATE = 27,
  EXT_RECORD_SIZE_LIMIT = 28,
  EXT_DELEGATED_CREDENTIALS = 34,
  EXT_SESSION_TICKET = 35,
  EXT_PRE_SHARED_KEY = 41,
  EXT_EARLY_DATA = 42,
  EXT_SUPPORTED_VERSIONS = 43,
  EXT_PSK_KEY_EXCHANGE_MODES = 45,
  EXT_SIGNATURE_ALGORITHMS_CERT = 50,
  EXT_KEY_SHARE = 51,
  EXT_ALPS_OLD = 17513, /* application_settings, Chromium's first code point */
  EXT_ALPS = 17613,     /* application_settings, current code point */
  EXT_ECH = 0xfe0d,
  EXT_RENEGOTIATION_INFO = 0xff01
};

gfp_clienthello *gfp_ch_new(void) { return calloc(1, sizeof(gfp_clienthello)); }

void gfp_ch_free(gfp_clienthello *ch) { free(ch); }

const gfp_ext *gfp_ch_find_ext(const gfp_clienthello *ch, uint16_t type) {
  for (size_t i = 0; i < ch->ext_count; i++) {
    if (ch->exts[i].type == type) return &ch->exts[i];
  }
  return NULL;
}

const char *gfp_tls_ext_name(uint16_t type) {
  if (gfp_is_grease(type)) return "GREASE";
  switch (type) {
  case EXT_SERVER_NAME:
    return "server_name";
  case 1:
    return "max_fragment_length";
  case EXT_STATUS_REQUEST:
    return "status_request";
  case EXT_SUPPORTED_GROUPS:
    return "supported_groups";
  case EXT_EC_POINT_FORMATS:
    return "ec_point_formats";
  case EXT_SIGNATURE_ALGORITHMS:
    return "signature_algorithms";
  case 14:
    return "use_srtp";
  case 15:
    return "heartbeat";
  case EXT_ALPN:
    return "application_layer_protocol_negotiation";
  case 17:
    return "status_request_v2";
  case EXT_SCT:
    return "signed_certificate_timestamp";
  case 19:
    return "client_certificate_type";
  case 20:
    return "server_certificate_type";
  case EXT_PADDING:
    return "padding";
  case 22:
    return "encrypt_then_mac";
  case EXT_EXTENDED_MASTER_SECRET:
    return "extended_master_secret";
  case EXT_COMPRESS_CERTIFICATE:
    return "compress_certificate";
  case EXT_RECORD_SIZE_LIMIT:
    return "record_size_limit";
  case EXT_DELEGATED_CREDENTIALS:
    return "delegated_credentials";
  case EXT_SESSION_TICKET:
    return "session_ticket";
  case EXT_PRE_SHARED_KEY:
    return "pre_shared_key";
  case EXT_EARLY_DATA:
    return "early_data";
  case EXT_SUPPORTED_VERSIONS:
    return "supported_versions";
  case 44:
    return "cookie";
  case EXT_PSK_KEY_EXCHANGE_MODES:
    return "psk_key_exchange_modes";
  case 47:
    return "certificate_authorities";
  case 48:
    return "oid_filters";
  case 49:
    return "post_handshake_auth";
  case EXT_SIGNATURE_ALGORITHMS_CERT:
    return "signature_algorithms_cert";
  case EXT_KEY_SHARE:
    return "key_share";
  case 57:
    return "quic_transport_parameters";
  case EXT_ALPS_OLD:
    return "application_settings_old";
  case EXT_ALPS:
    return "application_settings";
  case EXT_ECH:
    return "encrypted_client_hello";
  case EXT_RENEGOTIATION_INFO:
    return "renegotiation_info";
  default:
    return NULL;
  }
}

/* ---- first-byte classification ---------------------------------------------------- */

/* RFC 9110 §5.6.2 tchar, the characters of an HTTP method token. */
static bool is_tchar(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Decides what a non-TLS first flight is. Returns GFP_NEED_MORE while the bytes are
 * still a prefix of something recognisable. */
static gfp_status classify_other(gfp_clienthello *ch, const uint8_t *data, size_t len) {
  /* SSL 2.0 CLIENT-HELLO (RFC 5246 Appendix E.2): a 2-byte record header with the
     * high bit set; TLS records start with a content type below 0x80. */
  if (data[0] & 0x80) {
    ch->kind = GFP_FLIGHT_SSLV2;
    return GFP_NOT_TLS;
  }
  /* RFC 9113 §3.4: the h2c prior-knowledge preface starts "PRI * HTTP/2.0". */
  static const char pri[] = "PRI * HTTP/2.0";
  size_t n = len < sizeof(pri) - 1 ? len : sizeof(pri) - 1;
  if (memcmp(data, pri, n) == 0) {
    if (n < sizeof(pri) - 1) return GFP_NEED_MORE;
    ch->kind = GFP_FLIGHT_H2_PREFACE;
    return GFP_NOT_TLS;
  }
  /* RFC 4253 §4.2: an SSH client starts with its identification string "SSH-...".
     * Checked before HTTP: "SSH-2.0-OpenSSH_7.6p1 Ubuntu" is also a token and a space. */
  static const char ssh[] = "SSH-";
  n = len < sizeof(ssh) - 1 ? len : sizeof(ssh) - 1;
  if (memcmp(data, ssh, n) == 0) {
    if (n < sizeof(ssh) - 1) return GFP_NEED_MORE;
    ch->kind = GFP_FLIGHT_SSH;
    return GFP_NOT_TLS;
  }
  /* SOCKS: a SOCKS4 request or a SOCKS5 greeting starts with its version byte, 4 or 5
     * (RFC 1928 §3), below every TLS content type and every HTTP method character. */
  if (data[0] == 4 || data[0] == 5) {
    ch->kind = GFP_FLIGHT_SOCKS;
    return GFP_NOT_TLS;
  }
  /* RFC 9112 §3: request-line = method SP request-target SP HTTP-version. Methods are
     * tokens; 24 bytes is longer than any registered method. */
  for (size_t i = 0; i < len && i < 24; i++) {
    if (data[i] == ' ' && i > 0) {
      ch->kind = GFP_FLIGHT_HTTP1;
      return GFP_NOT_TLS;
    }
    if (!is_tchar(data[i])) break;
    if (i + 1 == len) return GFP_NEED_MORE;
  }
  ch->kind = GFP_FLIGHT_UNKNOWN;
  return GFP_NOT_TLS;
}

/* ---- decoding context ------------------------------------------------------------- */

typedef struct pctx {
  gfp_clienthello *ch;
  const uint8_t *err_at; /* position in ch->msg_ (or in the flight, see in_flight) */
  const char *reason;
} pctx;

static bool fail(pctx *c, const CBS *at, const char *reason) {
  c->err_at = CBS_data(at);
  c->reason = reason;
  return false;
}

static bool push_u16(pctx *c, const CBS *at, uint16_t v) {
  gfp_clienthello *ch = c->ch;
  if (ch->u16_used_ >= GFP_CH_MAX_U16) return fail(c, at, "too many list values (GFP_CH_MAX_U16)");
  ch->u16_[ch->u16_used_++] = v;
  return true;
}

/* Starts a u16 list at the current end of the pool. */
static void begin_u16s(pctx *c, gfp_u16s *out) {
  out->v = &c->ch->u16_[c->ch->u16_used_];
  out->n = 0;
}

/* Reads all of |list| as 16-bit values (RFC 8446 §3.4 vectors of uint16). */
static bool read_u16s(pctx *c, CBS *list, gfp_u16s *out) {
  begin_u16s(c, out);
  if (CBS_len(list) % 2 != 0) return fail(c, list, "odd length in a list of 16-bit values");
  while (CBS_len(list) > 0) {
    uint16_t v;
    if (!CBS_get_u16(list, &v) || !push_u16(c, list, v)) return false;
    out->n++;
  }
  return true;
}

/* Reads all of |list| as 8-bit values widened to 16 bits. */
static bool read_u8s(pctx *c, CBS *list, gfp_u16s *out) {
  begin_u16s(c, out);
  while (CBS_len(list) > 0) {
    uint8_t v;
    if (!CBS_get_u8(list, &v) || !push_u16(c, list, v)) return false;
    out->n++;
  }
  return true;
}

/* Requires |body| to be fully consumed (every length-prefixed child is exact). */
static bool expect_end(pctx *c, const CBS *body) {
  if (CBS_len(body) != 0) return fail(c, body, "trailing bytes in extension");
  return true;
}

/* uint16 list with a 16-bit length prefix, non-empty: supported_groups (RFC 8446
 * §4.2.7 <2..2^16-1>), signature_algorithms(_cert) and delegated_credentials (RFC 8446
 * §4.2.3, RFC 9345 §4.1.1 <2..2^16-2>). */
static bool ext_u16_list16(pctx *c, CBS *body, gfp_ext *e) {
  CBS list;
  if (!CBS_get_u16_length_prefixed(body, &list)) return fail(c, body, "truncated list");
  if (CBS_len(&list) == 0) return fail(c, &list, "empty list");
  if (!read_u16s(c, &list, &e->u.list) || !expect_end(c, body)) return false;
  e->kind = GFP_EXT_U16_LIST;
  return true;
}

/* uint16 list with an 8-bit length prefix, non-empty: supported_versions (RFC 8446
 * §4.2.1 <2..254>), compress_certificate (RFC 8879 §3 <2..2^8-2>). */
static bool ext_u16_list8(pctx *c, CBS *body, gfp_ext *e) {
  CBS list;
  if (!CBS_get_u8_length_prefixed(body, &list)) return fail(c, body, "truncated list");
  if (CBS_len(&list) == 0) return fail(c, &list, "empty list");
  if (!read_u16s(c, &list, &e->u.list) || !expect_end(c, body)) return false;
  e->kind = GFP_EXT_U16_LIST;
  return true;
}

/* uint8 list with an 8-bit length prefix, non-empty: ec_point_formats (RFC 8422 §5.1.2
 * <1..2^8-1>), psk_key_exchange_modes (RFC 8446 §4.2.9 <1..255>). */
static bool ext_u8_list8(pctx *c, CBS *body, gfp_ext *e) {
  CBS list;
  if (!CBS_get_u8_length_prefixed(body, &list)) return fail(c, body, "truncated list");
  if (CBS_len(&list) == 0) return fail(c, &list, "empty list");
  if (!read_u8s(c, &list, &e->u.list) || !expect_end(c, body)) return false;
  e->kind = GFP_EXT_U16_LIST;
  return true;
}

/* RFC 6066 §3: ServerNameList server_name_list<1..2^16-1>; every entry is a name_type
 * byte and a 16-bit-prefixed name (the only defined type, host_name, has this shape and
 * deployed parsers such as BoringSSL's assume it for all). */
static bool ext_server_name(pctx *c, CBS *body, gfp_ext *e) {
  CBS list;
  if (!CBS_get_u16_length_prefixed(body, &list)) return fail(c, body, "truncated server_name list");
  if (!expect_end(c, body)) return false;
  if (CBS_len(&list) == 0) return fail(c, &list, "empty server_name list");
  e->u.sni.count = 0;
  e->u.sni.host_name.data = NULL;
  e->u.sni.host_name.len = 0;
  while (CBS_len(&list) > 0) {
    uint8_t type;
    CBS name;
    if (!CBS_get_u8(&list, &type) || !CBS_get_u16_length_prefixed(&list, &name))
      return fail(c, &list, "truncated server_name entry");
    if (type == 0 && e->u.sni.host_name.data == NULL) {
      e->u.sni.host_name.data = CBS_data(&name);
      e->u.sni.host_name.len = CBS_len(&name);
    }
    e->u.sni.count++;
  }
  e->kind = GFP_EXT_SERVER_NAME;
  return true;
}

/* RFC 6066 §8: CertificateStatusRequest { status_type; select ocsp: OCSPStatusRequest {
 * ResponderID responder_id_list<0..2^16-1>; Extensions request_extensions; } }. Other
 * status types have no defined body; it is kept raw. */
static bool ext_status_request(pctx *c, CBS *body, gfp_ext *e) {
  uint8_t type;
  if (!CBS_get_u8(body, &type)) return fail(c, body, "empty status_request");
  e->u.status_request.status_type = type;
  e->u.status_request.responder_id_list_len = 0;
  e->u.status_request.request_extensions_len = 0;
  if (type == 1) {
    CBS ids, exts;
    if (!CBS_get_u16_length_prefixed(body, &ids) || !CBS_get_u16_length_prefixed(body, &exts))
      return fail(c, body, "truncated OCSPStatusRequest");
    if (!expect_end(c, body)) return false;
    e->u.status_request.responder_id_list_len = CBS_len(&ids);
    e->u.status_request.request_extensions_len = CBS_len(&exts);
    while (CBS_len(&ids) > 0) {
      CBS id;
      if (!CBS_get_u16_length_prefixed(&ids, &id) || CBS_len(&id) == 0)
        return fail(c, &ids, "malformed ResponderID");
    }
  }
  e->kind = GFP_EXT_STATUS_REQUEST;
  return true;
}

/* RFC 7301 §3.1: ProtocolNameList protocol_name_list<2..2^16-1> of
 * ProtocolName<1..2^8-1>. ALPS (draft-vvv-tls-alps §3) carries the same list. Empty
 * names and an empty list are tolerated and recorded: JA4 defines their fingerprint. */
static bool ext_alpn(pctx *c, CBS *body, gfp_ext *e) {
  gfp_clienthello *ch = c->ch;
  CBS list;
  if (!CBS_get_u16_length_prefixed(body, &list))
    return fail(c, body, "truncated protocol name list");
  if (!expect_end(c, body)) return false;
  e->u.protocols.v = &ch->names_[ch->names_used_];
  e->u.protocols.n = 0;
  while (CBS_len(&list) > 0) {
    CBS name;
    if (!CBS_get_u8_length_prefixed(&list, &name)) return fail(c, &list, "truncated protocol name");
    if (ch->names_used_ >= GFP_CH_MAX_NAMES)
      return fail(c, &name, "too many protocol names (GFP_CH_MAX_NAMES)");
    ch->names_[ch->names_used_].data = CBS_data(&name);
    ch->names_[ch->names_used_].len = CBS_len(&name);
    ch->names_used_++;
    e->u.protocols.n++;
  }
  e->kind = GFP_EXT_ALPN;
  return true;
}

/* RFC 8446 §4.2.8: KeyShareClientHello { KeyShareEntry client_shares<0..2^16-1>; },
 * KeyShareEntry { NamedGroup group; opaque key_exchange<1..2^16-1>; }. */
static bool ext_key_share(pctx *c, CBS *body, gfp_ext *e) {
  gfp_clienthello *ch = c->ch;
  CBS list;
  if (!CBS_get_u16_length_prefixed(body, &list)) return fail(c, body, "truncated client_shares");
  if (!expect_end(c, body)) return false;
  e->u.key_share.v = &ch->ks_[ch->ks_used_];
  e->u.key_share.n = 0;
  while (CBS_len(&list) > 0) {
    uint16_t group;
    CBS key;
    if (!CBS_get_u16(&list, &group) || !CBS_get_u16_length_prefixed(&list, &key))
      return fail(c, &list, "truncated KeyShareEntry");
    if (CBS_len(&key) == 0) return fail(c, &key, "empty key_exchange");
    if (ch->ks_used_ >= GFP_CH_MAX_KEY_SHARES)
      return fail(c, &key, "too many key shares (GFP_CH_MAX_KEY_SHARES)");
    ch->ks_[ch->ks_used_].group = group;
    ch->ks_[ch->ks_used_].key_len = (uint16_t)CBS_len(&key);
    ch->ks_used_++;
    e->u.key_share.n++;
  }
  e->kind = GFP_EXT_KEY_SHARE;
  return true;
}

/* RFC 8446 §4.2.11: OfferedPsks { PskIdentity identities<7..2^16-1>;
 * PskBinderEntry binders<33..2^16-1>; }, PskIdentity { opaque identity<1..2^16-1>;
 * uint32 obfuscated_ticket_age; }, PskBinderEntry opaque<32..255>. */
static bool ext_pre_shared_key(pctx *c, CBS *body, gfp_ext *e) {
  CBS ids, binders;
  if (!CBS_get_u16_length_prefixed(body, &ids) || !CBS_get_u16_length_prefixed(body, &binders))
    return fail(c, body, "truncated OfferedPsks");
  if (!expect_end(c, body)) return false;
  if (CBS_len(&ids) == 0) return fail(c, &ids, "empty PSK identities");
  begin_u16s(c, &e->u.psk.identity_lengths);
  e->u.psk.identity_count = 0;
  while (CBS_len(&ids) > 0) {
    CBS id;
    uint32_t age;
    if (!CBS_get_u16_length_prefixed(&ids, &id) || !CBS_get_u32(&ids, &age))
      return fail(c, &ids, "truncated PskIdentity");
    if (CBS_len(&id) == 0) return fail(c, &id, "empty PSK identity");
    if (!push_u16(c, &id, (uint16_t)CBS_len(&id))) return false;
    e->u.psk.identity_count++;
    e->u.psk.identity_lengths.n++;
  }
  if (CBS_len(&binders) == 0) return fail(c, &binders, "empty PSK binders");
  begin_u16s(c, &e->u.psk.binder_lengths);
  while (CBS_len(&binders) > 0) {
    CBS binder;
    if (!CBS_get_u8_length_prefixed(&binders, &binder))
      return fail(c, &binders, "truncated PskBinderEntry");
    if (!push_u16(c, &binder, (uint16_t)CBS_len(&binder))) return false;
    e->u.psk.binder_lengths.n++;
  }
  e->kind = GFP_EXT_PRE_SHARED_KEY;
  return true;
}

/* draft-ietf-tls-esni-18 §5: ECHClientHello { ECHClientHelloType type; select (type) {
 * case outer: HpkeSymmetricCipherSuite cipher_suite; uint8 config_id;
 * opaque enc<0..2^16-1>; opaque payload<1..2^16-1>; case inner: Empty; } }. */
static bool ext_ech(pctx *c, CBS *body, gfp_ext *e) {
  uint8_t type;
  const CBS type_at = *body;
  if (!CBS_get_u8(body, &type)) return fail(c, body, "empty encrypted_client_hello");
  memset(&e->u.ech, 0, sizeof(e->u.ech));
  e->u.ech.type = type;
  if (type == 0) {
    CBS enc, payload;
    if (!CBS_get_u16(body, &e->u.ech.kdf_id) || !CBS_get_u16(body, &e->u.ech.aead_id) ||
        !CBS_get_u8(body, &e->u.ech.config_id) || !CBS_get_u16_length_prefixed(body, &enc) ||
        !CBS_get_u16_length_prefixed(body, &payload))
      return fail(c, body, "truncated outer ECHClientHello");
    if (CBS_len(&payload) == 0) return fail(c, &payload, "empty ECH payload");
    e->u.ech.enc_len = CBS_len(&enc);
    e->u.ech.payload_len = CBS_len(&payload);
  } else if (type != 1) {
    return fail(c, &type_at, "unknown ECHClientHelloType");
  }
  if (!expect_end(c, body)) return false;
  e->kind = GFP_EXT_ECH;
  return true;
}

/* RFC 5746 §3.2: opaque renegotiated_connection<0..255>. */
static bool ext_renegotiation_info(pctx *c, CBS *body, gfp_ext *e) {
  CBS rc;
  if (!CBS_get_u8_length_prefixed(body, &rc)) return fail(c, body, "truncated renegotiation_info");
  if (!expect_end(c, body)) return false;
  e->u.length = CBS_len(&rc);
  e->kind = GFP_EXT_RENEGOTIATION;
  return true;
}

/* RFC 8449 §4: uint16 RecordSizeLimit. */
static bool ext_record_size_limit(pctx *c, CBS *body, gfp_ext *e) {
  if (!CBS_get_u16(body, &e->u.record_size_limit))
    return fail(c, body, "truncated record_size_limit");
  if (!expect_end(c, body)) return false;
  e->kind = GFP_EXT_RECORD_SIZE;
  return true;
}

/* Decodes one extension body by type. Unknown and GREASE types stay GFP_EXT_RAW. */
static bool decode_ext(pctx *c, CBS *body, gfp_ext *e) {
  if (e->grease) return true;
  switch (e->type) {
  case EXT_SERVER_NAME:
    return ext_server_name(c, body, e);
  case EXT_STATUS_REQUEST:
    return ext_status_request(c, body, e);
  case EXT_SUPPORTED_GROUPS:
  case EXT_SIGNATURE_ALGORITHMS:
  case EXT_SIGNATURE_ALGORITHMS_CERT:
  case EXT_DELEGATED_CREDENTIALS:
    return ext_u16_list16(c, body, e);
  case EXT_SUPPORTED_VERSIONS:
  case EXT_COMPRESS_CERTIFICATE:
    return ext_u16_list8(c, body, e);
  case EXT_EC_POINT_FORMATS:
  case EXT_PSK_KEY_EXCHANGE_MODES:
    return ext_u8_list8(c, body, e);
  case EXT_ALPN:
  case EXT_ALPS_OLD:
  case EXT_ALPS:
    return ext_alpn(c, body, e);
  case EXT_KEY_SHARE:
    return ext_key_share(c, body, e);
  case EXT_PRE_SHARED_KEY:
    return ext_pre_shared_key(c, body, e);
  case EXT_ECH:
    return ext_ech(c, body, e);
  case EXT_RENEGOTIATION_INFO:
    return ext_renegotiation_info(c, body, e);
  case EXT_RECORD_SIZE_LIMIT:
    return ext_record_size_limit(c, body, e);
  case EXT_PADDING:                /* RFC 7685 §3: zero bytes; length is the signal */
  case EXT_SESSION_TICKET:         /* RFC 5077 §3.2: opaque ticket (empty = "want one") */
  case EXT_SCT:                    /* RFC 6962 §3.3.1: empty in ClientHello */
  case EXT_EARLY_DATA:             /* RFC 8446 §4.2.10: empty in ClientHello */
  case EXT_EXTENDED_MASTER_SECRET: /* RFC 7627 §5.1: empty */
    e->u.length = CBS_len(body);
    e->kind = GFP_EXT_LENGTH;
    return true;
  default:
    return true;
  }
}

/* RFC 8446 §4.1.2 ClientHello body (after the 4-byte handshake header). */
static bool decode_body(pctx *c, CBS *b) {
  gfp_clienthello *ch = c->ch;
  CBS sid, ciphers, comp;

  if (!CBS_get_u16(b, &ch->legacy_version) || !CBS_copy_bytes(b, ch->random, sizeof(ch->random)))
    return fail(c, b, "truncated legacy_version / random");
  if (!CBS_get_u8_length_prefixed(b, &sid)) return fail(c, b, "truncated legacy_session_id");
  if (CBS_len(&sid) > 32) /* legacy_session_id<0..32> */
    return fail(c, &sid, "legacy_session_id longer than 32 bytes");
  ch->session_id.data = CBS_data(&sid);
  ch->session_id.len = CBS_len(&sid);

  if (!CBS_get_u16_length_prefixed(b, &ciphers)) return fail(c, b, "truncated cipher_suites");
  if (CBS_len(&ciphers) == 0) /* cipher_suites<2..2^16-2> */
    return fail(c, &ciphers, "empty cipher_suites");
  if (!read_u16s(c, &ciphers, &ch->ciphers)) return false;

  if (!CBS_get_u8_length_prefixed(b, &comp))
    return fail(c, b, "truncated legacy_compression_methods");
  if (CBS_len(&comp) == 0) /* legacy_compression_methods<1..2^8-1> */
    return fail(c, &comp, "empty legacy_compression_methods");
  ch->compression_methods.data = CBS_data(&comp);
  ch->compression_methods.len = CBS_len(&comp);

  /* RFC 5246 §7.4.1.2: a hello may end here (no extensions block). */
  if (CBS_len(b) == 0) return true;
  CBS exts;
  if (!CBS_get_u16_length_prefixed(b, &exts)) return fail(c, b, "truncated extensions block");
  if (CBS_len(b) != 0) return fail(c, b, "trailing bytes after extensions");
  ch->has_extensions_block = true;

  while (CBS_len(&exts) > 0) {
    const CBS at = exts;
    uint16_t type;
    CBS body;
    if (!CBS_get_u16(&exts, &type) || !CBS_get_u16_length_prefixed(&exts, &body))
      return fail(c, &at, "truncated extension");
    if (ch->ext_count >= GFP_CH_MAX_EXTENSIONS)
      return fail(c, &at, "too many extensions (GFP_CH_MAX_EXTENSIONS)");
    gfp_ext *e = &ch->exts_[ch->ext_count++];
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->grease = gfp_is_grease(type);
    e->kind = GFP_EXT_RAW;
    e->offset = (size_t)(CBS_data(&at) - ch->msg_); /* mapped to the flight below */
    e->body.data = CBS_data(&body);
    e->body.len = CBS_len(&body);
    if (!decode_ext(c, &body, e)) {
      /* The extension's own length is sound, so the next one is found and the type
             * list stays exact: a bad body (one real client sends an 8-byte all-zero
             * encrypted_client_hello) is flagged instead of losing the whole hello. List
             * values it pushed stay unused in the pools. */
      e->kind = GFP_EXT_RAW;
      memset(&e->u, 0, sizeof(e->u));
      e->malformed = c->reason;
      e->malformed_offset = (size_t)(c->err_at - ch->msg_); /* mapped below */
      ch->malformed_count++;
      c->err_at = NULL;
      c->reason = NULL;
    }
  }
  return true;
}

/* Maps an offset inside the reassembled handshake message to an offset in the flight. */
static size_t msg_to_flight(const gfp_clienthello *ch, size_t msg_off) {
  for (size_t i = 0; i < ch->frag_count_; i++) {
    if (msg_off < ch->frags_[i].msg_off + ch->frags_[i].len)
      return ch->frags_[i].flight_off + (msg_off - ch->frags_[i].msg_off);
  }
  if (ch->frag_count_ == 0) return 0;
  size_t last = ch->frag_count_ - 1;
  return ch->frags_[last].flight_off + ch->frags_[last].len;
}

static gfp_status error_at(gfp_clienthello *ch, size_t flight_off, const char *reason) {
  ch->err_offset = flight_off;
  ch->err_reason = reason;
  return GFP_ERROR;
}

static void reset_results(gfp_clienthello *ch) {
  ch->kind = GFP_FLIGHT_UNKNOWN;
  ch->record_version = 0;
  ch->record_count = 0;
  ch->consumed = 0;
  ch->trailing_handshake = 0;
  ch->body_len = 0;
  ch->legacy_version = 0;
  memset(ch->random, 0, sizeof(ch->random));
  memset(&ch->session_id, 0, sizeof(ch->session_id));
  memset(&ch->ciphers, 0, sizeof(ch->ciphers));
  memset(&ch->compression_methods, 0, sizeof(ch->compression_methods));
  ch->has_extensions_block = false;
  ch->exts = ch->exts_;
  ch->ext_count = 0;
  ch->malformed_count = 0;
  ch->err_offset = 0;
  ch->err_reason = NULL;
  ch->u16_used_ = 0;
  ch->names_used_ = 0;
  ch->ks_used_ = 0;
  ch->frag_count_ = 0;
}

gfp_status gfp_ch_parse(gfp_clienthello *ch, const uint8_t *data, size_t len) {
  reset_results(ch);
  if (len == 0) return GFP_NEED_MORE;
  /* RFC 8446 §5.1 ContentType 20..23: TLS records. Anything but handshake first is
     * reported as a TLS error below rather than as another protocol. */
  if (data[0] < 20 || data[0] > 23) return classify_other(ch, data, len);
  ch->kind = GFP_FLIGHT_TLS;

  /* Pass 1: walk record headers, note where each handshake fragment lies, and learn
     * the ClientHello length from its handshake header (which may itself be split). */
  CBS in;
  CBS_init(&in, data, len);
  uint8_t hs_hdr[TLS_HS_HEADER_LEN];
  size_t hdr_pos[TLS_HS_HEADER_LEN] = {0, 0, 0, 0};
  size_t have = 0;        /* handshake bytes seen */
  size_t need = SIZE_MAX; /* total handshake bytes of the ClientHello, once known */
  size_t last_frag_left = 0;
  while (have < need) {
    const CBS rec_at = in;
    size_t rec_off = (size_t)(CBS_data(&rec_at) - data);
    uint8_t type;
    uint16_t version, rec_len;
    if (!CBS_get_u8(&in, &type) || !CBS_get_u16(&in, &version) || !CBS_get_u16(&in, &rec_len))
      return GFP_NEED_MORE;
    /* RFC 8446 §5.1: the ClientHello is the first handshake message and nothing else
         * may come before it; interleaving other record types is forbidden while a
         * handshake message is incomplete. */
    if (type != TLS_CT_HANDSHAKE)
      return error_at(ch, rec_off, "non-handshake record before the end of ClientHello");
    /* legacy_record_version: 0x0301 for the first ClientHello (0x0300 from old
         * clients); anything outside 0x03xx is not TLS. */
    if ((version >> 8) != 0x03) return error_at(ch, rec_off + 1, "record version is not 3.x");
    if (rec_len > GFP_TLS_MAX_RECORD_PAYLOAD)
      return error_at(ch, rec_off + 3, "record longer than 2^14 bytes");
    if (rec_len == 0) /* RFC 8446 §5.1: no zero-length handshake fragments */
      return error_at(ch, rec_off + 3, "zero-length handshake record");
    if (ch->frag_count_ >= GFP_CH_MAX_RECORDS)
      return error_at(ch, rec_off, "ClientHello spans too many records (GFP_CH_MAX_RECORDS)");
    if (ch->frag_count_ == 0) ch->record_version = version;

    size_t avail = CBS_len(&in) < rec_len ? CBS_len(&in) : rec_len;
    CBS frag;
    if (!CBS_get_bytes(&in, &frag, avail))
      return GFP_NEED_MORE; /* not reached: avail <= CBS_len(&in) */
    size_t frag_off = (size_t)(CBS_data(&frag) - data);
    size_t start = have; /* handshake-message offset of this fragment */

    /* The 4-byte handshake header may itself be split across records. */
    while (have < TLS_HS_HEADER_LEN && CBS_len(&frag) > 0) {
      hdr_pos[have] = (size_t)(CBS_data(&frag) - data);
      if (!CBS_get_u8(&frag, &hs_hdr[have])) return GFP_NEED_MORE; /* not reached */
      have++;
      if (have == 1 && hs_hdr[0] != TLS_HS_CLIENT_HELLO)
        return error_at(ch, hdr_pos[0], "first handshake message is not ClientHello");
      if (have == TLS_HS_HEADER_LEN) {
        CBS h;
        uint32_t body_len = 0;
        CBS_init(&h, hs_hdr + 1, 3);
        if (!CBS_get_u24(&h, &body_len) || body_len > GFP_CH_MAX_BODY)
          return error_at(ch, hdr_pos[1], "ClientHello longer than GFP_CH_MAX_BODY");
        need = TLS_HS_HEADER_LEN + (size_t)body_len;
      }
    }
    size_t take = CBS_len(&frag);
    if (take > need - have) take = need - have;
    have += take;
    ch->frags_[ch->frag_count_].msg_off = start;
    ch->frags_[ch->frag_count_].flight_off = frag_off;
    ch->frags_[ch->frag_count_].len = have - start;
    ch->frag_count_++;
    /* Handshake bytes after the ClientHello in its last record (the record's tail
         * may not have arrived; it is counted from the record header). */
    last_frag_left = rec_len - (have - start);
    if (have < need && avail < rec_len) return GFP_NEED_MORE;
  }

  /* Pass 2: reassemble and decode. */
  for (size_t i = 0; i < ch->frag_count_; i++)
    memcpy(ch->msg_ + ch->frags_[i].msg_off, data + ch->frags_[i].flight_off, ch->frags_[i].len);
  ch->record_count = ch->frag_count_;
  ch->consumed = ch->frags_[ch->frag_count_ - 1].flight_off + ch->frags_[ch->frag_count_ - 1].len;
  ch->trailing_handshake = last_frag_left;
  ch->body_len = need - TLS_HS_HEADER_LEN;

  pctx c = {ch, NULL, NULL};
  CBS body;
  CBS_init(&body, ch->msg_ + TLS_HS_HEADER_LEN, ch->body_len);
  if (!decode_body(&c, &body))
    return error_at(ch, msg_to_flight(ch, (size_t)(c.err_at - ch->msg_)), c.reason);
  for (size_t i = 0; i < ch->ext_count; i++) {
    ch->exts_[i].offset = msg_to_flight(ch, ch->exts_[i].offset);
    if (ch->exts_[i].malformed != NULL)
      ch->exts_[i].malformed_offset = msg_to_flight(ch, ch->exts_[i].malformed_offset);
  }
  return GFP_DONE;
}

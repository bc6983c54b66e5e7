/* quic_initial.c — reading a client's QUIC Initial packets (see quic_initial.h). */
#include "quic_initial.h"

#include <string.h>

#include <openssl/aead.h>
#include <openssl/aes.h>
#include <openssl/digest.h>
#include <openssl/hkdf.h>
#include <openssl/mem.h>

/* RFC 9001 §5.2 initial_salt of QUIC version 1. */
static const uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
/* RFC 9369 §3.3.1 initial_salt of QUIC version 2. */
static const uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

/* AEAD_AES_128_GCM (RFC 9001 §5.3): 16-byte tag; the header protection sample is 16
 * bytes (§5.4.2). */
enum { TAG_LEN = 16, SAMPLE_LEN = 16 };

static int fail(const char **why, const char *reason) {
  if (why != NULL) *why = reason;
  return -1;
}

int gqi_get_varint(CBS *cbs, uint64_t *out) {
  /* RFC 9000 §16: the two high bits of the first byte give the length, 1 to 8 bytes. */
  uint8_t b;
  if (!CBS_get_u8(cbs, &b)) return 0;
  size_t extra = ((size_t)1 << (b >> 6)) - 1;
  uint64_t v = b & 0x3f;
  for (size_t i = 0; i < extra; i++) {
    if (!CBS_get_u8(cbs, &b)) return 0;
    v = (v << 8) | b;
  }
  *out = v;
  return 1;
}

/* The wire bits of the long packet type (RFC 9000 §17.2 Table 5; RFC 9369 §3.2 moves
 * them around so that a middlebox keyed on version 1's values sees no Initial). */
static gqi_type long_type(uint32_t version, uint8_t first) {
  unsigned bits = (first >> 4) & 3;
  if (version == GQI_VERSION_2) {
    static const gqi_type v2[4] = {GQI_RETRY, GQI_INITIAL, GQI_ZERO_RTT, GQI_HANDSHAKE};
    return v2[bits];
  }
  static const gqi_type v1[4] = {GQI_INITIAL, GQI_ZERO_RTT, GQI_HANDSHAKE, GQI_RETRY};
  return v1[bits];
}

int gqi_parse_long_header(const uint8_t *pkt, size_t len, gqi_header *h, const char **why) {
  memset(h, 0, sizeof(*h));
  CBS in, dcid, scid;
  CBS_init(&in, pkt, len);
  if (!CBS_get_u8(&in, &h->first)) return fail(why, "empty packet");
  if ((h->first & 0x80) == 0) return fail(why, "not a long header packet (header form bit 0)");
  if (!CBS_get_u32(&in, &h->version)) return fail(why, "long header truncated in the version");
  /* RFC 8999 §5.1 (invariants): the connection ID lengths are one byte each; version 1
   * limits them to 20 (RFC 9000 §17.2) and so does version 2. */
  if (!CBS_get_u8_length_prefixed(&in, &dcid) || !CBS_get_u8_length_prefixed(&in, &scid))
    return fail(why, "long header truncated in a connection ID");
  h->packet_len = len;
  if (h->version == 0) {
    h->type = GQI_VERSION_NEGOTIATION;
  } else if (h->version != GQI_VERSION_1 && h->version != GQI_VERSION_2) {
    h->type = GQI_UNKNOWN_VERSION;
  } else {
    h->type = long_type(h->version, h->first);
  }
  if (h->type != GQI_VERSION_NEGOTIATION && h->type != GQI_UNKNOWN_VERSION &&
      (CBS_len(&dcid) > GQI_MAX_CID || CBS_len(&scid) > GQI_MAX_CID))
    return fail(why, "connection ID longer than 20 bytes (RFC 9000 section 17.2)");
  if (CBS_len(&dcid) <= GQI_MAX_CID) {
    h->dcid_len = (uint8_t)CBS_len(&dcid);
    memcpy(h->dcid, CBS_data(&dcid), h->dcid_len);
  }
  if (CBS_len(&scid) <= GQI_MAX_CID) {
    h->scid_len = (uint8_t)CBS_len(&scid);
    memcpy(h->scid, CBS_data(&scid), h->scid_len);
  }
  if (h->type == GQI_VERSION_NEGOTIATION || h->type == GQI_UNKNOWN_VERSION || h->type == GQI_RETRY)
    return 0; /* no Length field: the packet fills the rest of the datagram */
  if ((h->first & 0x40) == 0)
    return fail(why, "fixed bit is 0 (RFC 9000 section 17.2): not a QUIC packet");
  if (h->type == GQI_INITIAL) {
    uint64_t tlen;
    if (!gqi_get_varint(&in, &tlen)) return fail(why, "Initial header truncated in Token Length");
    if (tlen > CBS_len(&in)) return fail(why, "Initial token longer than the datagram");
    h->token_offset = len - CBS_len(&in);
    h->token_len = (size_t)tlen;
    if (!CBS_skip(&in, h->token_len)) return fail(why, "Initial token truncated");
  }
  if (!gqi_get_varint(&in, &h->length)) return fail(why, "long header truncated in Length");
  h->pn_offset = len - CBS_len(&in);
  if (h->length > CBS_len(&in)) return fail(why, "packet Length runs past the end of the datagram");
  h->packet_len = h->pn_offset + (size_t)h->length;
  return 0;
}

/* HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, as RFC 9001 §5.1 uses it. */
static int expand_label(const uint8_t *secret, size_t secret_len, const char *label, uint8_t *out,
                        size_t out_len) {
  uint8_t info[2 + 1 + 255 + 1];
  CBB cbb, lbl, ctx;
  size_t info_len;
  size_t label_len = strlen(label);
  if (!CBB_init_fixed(&cbb, info, sizeof(info)) || !CBB_add_u16(&cbb, (uint16_t)out_len) ||
      !CBB_add_u8_length_prefixed(&cbb, &lbl) ||
      !CBB_add_bytes(&lbl, (const uint8_t *)"tls13 ", 6) ||
      !CBB_add_bytes(&lbl, (const uint8_t *)label, label_len) ||
      !CBB_add_u8_length_prefixed(&cbb, &ctx) || !CBB_finish(&cbb, NULL, &info_len))
    return -1;
  return HKDF_expand(out, out_len, EVP_sha256(), secret, secret_len, info, info_len) ? 0 : -1;
}

int gqi_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, gqi_keys *out) {
  memset(out, 0, sizeof(*out));
  const uint8_t *salt;
  const char *lk, *li, *lh;
  if (version == GQI_VERSION_1) {
    salt = kSaltV1;
    lk = "quic key", li = "quic iv", lh = "quic hp";
  } else if (version == GQI_VERSION_2) {
    /* RFC 9369 §3.3.2: version 2's labels. */
    salt = kSaltV2;
    lk = "quicv2 key", li = "quicv2 iv", lh = "quicv2 hp";
  } else {
    return -1;
  }
  uint8_t initial[32];
  size_t initial_len;
  int ok = HKDF_extract(initial, &initial_len, EVP_sha256(), dcid, dcid_len, salt,
                        sizeof(kSaltV1)) &&
           expand_label(initial, initial_len, "client in", out->secret, 32) == 0 &&
           expand_label(out->secret, 32, lk, out->key, 16) == 0 &&
           expand_label(out->secret, 32, li, out->iv, 12) == 0 &&
           expand_label(out->secret, 32, lh, out->hp, 16) == 0;
  OPENSSL_cleanse(initial, sizeof(initial));
  return ok ? 0 : -1;
}

/* RFC 9000 §A.3: the full packet number nearest the one expected next. */
static uint64_t decode_pn(int64_t largest, uint64_t truncated, unsigned nbits) {
  uint64_t expected = (uint64_t)(largest + 1);
  uint64_t win = (uint64_t)1 << nbits, hwin = win / 2, mask = win - 1;
  uint64_t candidate = (expected & ~mask) | truncated;
  if (candidate + hwin <= expected && candidate < ((uint64_t)1 << 62) - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

int gqi_open_initial(const uint8_t *pkt, const gqi_header *h, const gqi_keys *k, int64_t largest_pn,
                     uint8_t *out, size_t cap, size_t *out_len, uint64_t *pn, const char **why) {
  *out_len = 0;
  *pn = 0;
  if (h->type != GQI_INITIAL) return fail(why, "not an Initial packet");
  /* RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number's first byte,
   * as if the packet number were 4 bytes long. */
  if (h->length < 4 + SAMPLE_LEN)
    return fail(why, "Initial packet too short to sample (RFC 9001 section 5.4.2)");
  if (cap < h->pn_offset + h->length) return fail(why, "output buffer too small");
  uint8_t mask[16];
  AES_KEY hp;
  if (AES_set_encrypt_key(k->hp, 128, &hp) != 0) return fail(why, "AES key setup failed");
  AES_ecb_encrypt(pkt + h->pn_offset + 4, mask, &hp, AES_ENCRYPT);
  /* §5.4.1: the low 4 bits of a long header's first byte are protected. */
  uint8_t first = h->first ^ (mask[0] & 0x0f);
  size_t pn_len = (size_t)(first & 3) + 1;
  if (h->length < pn_len + TAG_LEN)
    return fail(why, "Initial packet Length below packet number and tag");
  /* The header with protection removed is the AEAD's associated data (§5.3); it is built
   * at the start of |out| and the plaintext follows it. */
  size_t hlen = h->pn_offset + pn_len;
  memcpy(out, pkt, hlen);
  out[0] = first;
  uint64_t truncated = 0;
  for (size_t i = 0; i < pn_len; i++) {
    out[h->pn_offset + i] ^= mask[1 + i];
    truncated = (truncated << 8) | out[h->pn_offset + i];
  }
  uint64_t full = decode_pn(largest_pn, truncated, (unsigned)(8 * pn_len));
  uint8_t nonce[12];
  memcpy(nonce, k->iv, sizeof(nonce));
  for (size_t i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(full >> (8 * i));
  EVP_AEAD_CTX ctx;
  if (!EVP_AEAD_CTX_init(&ctx, EVP_aead_aes_128_gcm(), k->key, sizeof(k->key), TAG_LEN, NULL))
    return fail(why, "AEAD setup failed");
  size_t ct_len = (size_t)h->length - pn_len, plain_len = 0;
  int opened = EVP_AEAD_CTX_open(&ctx, out + hlen, &plain_len, cap - hlen, nonce, sizeof(nonce),
                                 pkt + hlen, ct_len, out, hlen);
  EVP_AEAD_CTX_cleanup(&ctx);
  if (!opened) {
    memset(out, 0, hlen);
    return fail(why, "Initial packet does not authenticate with the keys of its connection ID");
  }
  /* RFC 9000 §17.2: the reserved bits must be 0 once protection is removed. */
  if ((first & 0x0c) != 0)
    return fail(why, "reserved bits set in an Initial packet (RFC 9000 section 17.2)");
  memmove(out, out + hlen, plain_len);
  *out_len = plain_len;
  *pn = full;
  return 0;
}

int gqi_walk_frames(const uint8_t *p, size_t n, gqi_crypto_fn on_crypto, void *arg,
                    gqi_frame_counts *counts, const char **why, size_t *err_offset) {
  gqi_frame_counts local;
  if (counts == NULL) counts = &local;
  memset(counts, 0, sizeof(*counts));
  CBS in;
  CBS_init(&in, p, n);
  while (CBS_len(&in) > 0) {
    size_t at = n - CBS_len(&in);
    *err_offset = at;
    uint64_t type;
    if (!gqi_get_varint(&in, &type)) return fail(why, "frame type truncated");
    switch (type) {
    case 0x00: /* PADDING (§19.1) */
      counts->padding++;
      break;
    case 0x01: /* PING (§19.2) */
      counts->ping++;
      break;
    case 0x02:
    case 0x03: { /* ACK (§19.3), 0x03 with ECN counts */
      uint64_t largest, delay, count, first, gap, range, ecn;
      if (!gqi_get_varint(&in, &largest) || !gqi_get_varint(&in, &delay) ||
          !gqi_get_varint(&in, &count) || !gqi_get_varint(&in, &first))
        return fail(why, "ACK frame truncated");
      /* Each range takes at least 2 bytes: a count beyond what is left is a lie. */
      if (count > CBS_len(&in) / 2) return fail(why, "ACK frame range count beyond the packet");
      for (uint64_t i = 0; i < count; i++) {
        if (!gqi_get_varint(&in, &gap) || !gqi_get_varint(&in, &range))
          return fail(why, "ACK range truncated");
      }
      if (type == 0x03) {
        for (int i = 0; i < 3; i++) {
          if (!gqi_get_varint(&in, &ecn)) return fail(why, "ACK ECN counts truncated");
        }
      }
      counts->ack++;
      break;
    }
    case 0x06: { /* CRYPTO (§19.6) */
      uint64_t off, len;
      CBS data;
      if (!gqi_get_varint(&in, &off) || !gqi_get_varint(&in, &len))
        return fail(why, "CRYPTO frame truncated");
      if (len > CBS_len(&in)) return fail(why, "CRYPTO frame data runs past the packet");
      if (off > GQI_MAX_CRYPTO || len > GQI_MAX_CRYPTO - off)
        return fail(why, "CRYPTO data beyond the largest ClientHello kept (64 KiB)");
      CBS_get_bytes(&in, &data, (size_t)len); /* cannot fail: checked above */
      counts->crypto++;
      if (on_crypto != NULL && on_crypto(off, CBS_data(&data), CBS_len(&data), arg, why) != 0)
        return -1;
      break;
    }
    case 0x1c: { /* CONNECTION_CLOSE of the transport (§19.19); 0x1d is not allowed here */
      uint64_t code, ftype;
      CBS reason;
      uint64_t rlen;
      if (!gqi_get_varint(&in, &code) || !gqi_get_varint(&in, &ftype) ||
          !gqi_get_varint(&in, &rlen) || rlen > CBS_len(&in) ||
          !CBS_get_bytes(&in, &reason, (size_t)rlen))
        return fail(why, "CONNECTION_CLOSE frame truncated");
      counts->connection_close++;
      break;
    }
    default:
      return fail(why, "frame type not allowed in an Initial packet (RFC 9000 section 12.4)");
    }
  }
  *err_offset = n;
  return 0;
}

int gqi_transport_params(const uint8_t *body, size_t len, gqi_param *out, size_t cap,
                         const char **why) {
  CBS in;
  CBS_init(&in, body, len);
  size_t count = 0;
  while (CBS_len(&in) > 0) {
    uint64_t id, plen;
    CBS value;
    if (!gqi_get_varint(&in, &id) || !gqi_get_varint(&in, &plen))
      return fail(why, "transport parameter id or length truncated");
    if (plen > CBS_len(&in) || !CBS_get_bytes(&in, &value, (size_t)plen))
      return fail(why, "transport parameter value runs past the extension");
    if (count >= cap) return fail(why, "more transport parameters than kept (128)");
    gqi_param *p = &out[count++];
    p->id = id;
    p->value = CBS_data(&value);
    p->len = CBS_len(&value);
    /* RFC 9000 §18.2: most parameters are one varint filling the value. */
    CBS v = value;
    p->has_int = plen > 0 && gqi_get_varint(&v, &p->ival) && CBS_len(&v) == 0;
    if (!p->has_int) p->ival = 0;
  }
  return (int)count;
}

const char *gqi_param_name(uint64_t id) {
  switch (id) {
  /* RFC 9000 §18.2 */
  case 0x00:
    return "original_destination_connection_id";
  case 0x01:
    return "max_idle_timeout";
  case 0x02:
    return "stateless_reset_token";
  case 0x03:
    return "max_udp_payload_size";
  case 0x04:
    return "initial_max_data";
  case 0x05:
    return "initial_max_stream_data_bidi_local";
  case 0x06:
    return "initial_max_stream_data_bidi_remote";
  case 0x07:
    return "initial_max_stream_data_uni";
  case 0x08:
    return "initial_max_streams_bidi";
  case 0x09:
    return "initial_max_streams_uni";
  case 0x0a:
    return "ack_delay_exponent";
  case 0x0b:
    return "max_ack_delay";
  case 0x0c:
    return "disable_active_migration";
  case 0x0d:
    return "preferred_address";
  case 0x0e:
    return "active_connection_id_limit";
  case 0x0f:
    return "initial_source_connection_id";
  case 0x10:
    return "retry_source_connection_id";
  case 0x11:
    return "version_information"; /* RFC 9368 §3 */
  case 0x20:
    return "max_datagram_frame_size"; /* RFC 9221 §3 */
  case 0x2ab2:
    return "grease_quic_bit"; /* RFC 9287 §3 */
  case 0x3128:
    return "google_connection_options"; /* Chromium's, as Wireshark names it */
  default:
    break;
  }
  /* RFC 9000 §18.1: ids of the form 31 * N + 27 are reserved to exercise the rule that
   * unknown parameters are ignored. */
  if (id >= 27 && (id - 27) % 31 == 0) return "GREASE";
  return NULL;
}

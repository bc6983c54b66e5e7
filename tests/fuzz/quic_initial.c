/* libFuzzer target: the QUIC Initial reader of guise fp, end to end through the capture
 * reader (UDP datagram -> long header -> keys -> protection removal -> frames -> CRYPTO
 * reassembly -> ClientHello -> JSON record).
 *
 * Input: one mode byte, then chunks of [2-byte big-endian length, bytes] (at most 8).
 *   mode bit 0 clear: each chunk is a UDP datagram as captured (bit 15 of its length set:
 *     sent by the server), so headers, coalescing and the AEAD's refusal are fuzzed;
 *   mode bit 0 set: each chunk is the PLAINTEXT payload of one client Initial packet
 *     (QUIC v1, or v2 with mode bit 1), which this harness protects with the real keys
 *     (RFC 9001 §5) so that the frames, the reassembly across packets and the ClientHello
 *     behind the AEAD are reached; mode bits 2-3 pick the packet number length.
 * Also runs the frame walker and the transport parameter decoder on each chunk. */
#include <stdlib.h>
#include <string.h>

#include <openssl/aead.h>
#include <openssl/aes.h>
#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "capture.h"
#include "quic_initial.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(json_t *record, bool is_error, void *arg) {
  (void)is_error;
  char *s = json_dumps(record, JSON_COMPACT);
  if (s == NULL) abort(); /* every record must serialise */
  *(size_t *)arg += strlen(s);
  free(s);
}

static int count_crypto(uint64_t off, const uint8_t *d, size_t n, void *arg, const char **why) {
  (void)off, (void)d, (void)why;
  *(size_t *)arg += n;
  return 0;
}

static const uint8_t kDcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

/* A protected client Initial carrying |plain| as its payload (RFC 9001 §5.3, §5.4). */
static size_t protect(uint32_t version, unsigned pn_len, uint64_t pn, const uint8_t *plain,
                      size_t plen, uint8_t *out, size_t cap) {
  gqi_keys k;
  if (gqi_initial_keys(version, kDcid, sizeof(kDcid), &k) != 0) return 0;
  size_t length = pn_len + plen + 16;
  uint8_t type_bits = version == GQI_VERSION_2 ? 1 : 0;
  CBB b;
  CBB_init_fixed(&b, out, cap);
  CBB_add_u8(&b, (uint8_t)(0xc0 | (type_bits << 4) | (pn_len - 1)));
  CBB_add_u32(&b, version);
  CBB_add_u8(&b, sizeof(kDcid));
  CBB_add_bytes(&b, kDcid, sizeof(kDcid));
  CBB_add_u8(&b, 0);                            /* SCID length */
  CBB_add_u8(&b, 0);                            /* token length */
  CBB_add_u16(&b, (uint16_t)(0x4000 | length)); /* 2-byte varint */
  for (unsigned i = pn_len; i-- > 0;) CBB_add_u8(&b, (uint8_t)(pn >> (8 * i)));
  size_t hlen;
  if (!CBB_flush(&b)) return 0;
  hlen = CBB_len(&b);
  if (hlen + plen + 16 > cap) return 0;
  uint8_t nonce[12];
  memcpy(nonce, k.iv, 12);
  for (size_t i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
  EVP_AEAD_CTX ctx;
  size_t ct_len = 0;
  if (!EVP_AEAD_CTX_init(&ctx, EVP_aead_aes_128_gcm(), k.key, 16, 16, NULL)) return 0;
  int ok = EVP_AEAD_CTX_seal(&ctx, out + hlen, &ct_len, cap - hlen, nonce, 12, plain, plen, out,
                             hlen);
  EVP_AEAD_CTX_cleanup(&ctx);
  if (!ok) return 0;
  size_t pn_off = hlen - pn_len;
  uint8_t mask[16];
  AES_KEY hp;
  AES_set_encrypt_key(k.hp, 128, &hp);
  AES_ecb_encrypt(out + pn_off + 4, mask, &hp, AES_ENCRYPT);
  out[0] ^= mask[0] & 0x0f;
  for (unsigned i = 0; i < pn_len; i++) out[pn_off + i] ^= mask[1 + i];
  return hlen + ct_len;
}

/* One IPv4/UDP raw-IP frame into the capture. */
static void add_frame(CBB *cap, bool from_client, const uint8_t *p, size_t n) {
  static const uint8_t a[4] = {10, 0, 0, 1}, s[4] = {10, 0, 0, 2};
  size_t total = 20 + 8 + n;
  CBB_add_u32le(cap, 0);
  CBB_add_u32le(cap, 0);
  CBB_add_u32le(cap, (uint32_t)total);
  CBB_add_u32le(cap, (uint32_t)total);
  CBB_add_u8(cap, 0x45);
  CBB_add_u8(cap, 0);
  CBB_add_u16(cap, (uint16_t)total);
  CBB_add_u32(cap, 0);
  CBB_add_u8(cap, 64);
  CBB_add_u8(cap, 17);
  CBB_add_u16(cap, 0);
  CBB_add_bytes(cap, from_client ? a : s, 4);
  CBB_add_bytes(cap, from_client ? s : a, 4);
  CBB_add_u16(cap, from_client ? 50000 : 443);
  CBB_add_u16(cap, from_client ? 443 : 50000);
  CBB_add_u16(cap, (uint16_t)(8 + n));
  CBB_add_u16(cap, 0);
  CBB_add_bytes(cap, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  CBS in, chunk;
  uint8_t mode;
  CBS_init(&in, data, size);
  if (!CBS_get_u8(&in, &mode)) return 0;
  CBB cap;
  if (!CBB_init(&cap, 4096)) return 0;
  /* pcap global header, LINKTYPE_RAW (101). */
  CBB_add_u32le(&cap, 0xa1b2c3d4);
  CBB_add_u16le(&cap, 2);
  CBB_add_u16le(&cap, 4);
  CBB_add_u32le(&cap, 0);
  CBB_add_u32le(&cap, 0);
  CBB_add_u32le(&cap, 65535);
  CBB_add_u32le(&cap, 101);
  static uint8_t pkt[GQI_MAX_DATAGRAM];
  uint32_t version = (mode & 2) ? GQI_VERSION_2 : GQI_VERSION_1;
  unsigned pn_len = 1 + ((mode >> 2) & 3);
  for (unsigned i = 0; i < 8; i++) {
    uint16_t len;
    if (!CBS_get_u16(&in, &len)) break;
    bool server = (len & 0x8000) != 0;
    if (!CBS_get_bytes(&in, &chunk, len & 0x7fff)) chunk = in, CBS_skip(&in, CBS_len(&in));
    size_t crypto = 0, eoff;
    const char *why;
    gqi_walk_frames(CBS_data(&chunk), CBS_len(&chunk), count_crypto, &crypto, NULL, &why, &eoff);
    gqi_param params[GQI_MAX_TRANSPORT_PARAMS];
    int np = gqi_transport_params(CBS_data(&chunk), CBS_len(&chunk), params,
                                  GQI_MAX_TRANSPORT_PARAMS, &why);
    for (int k = 0; k < np; k++)
      if (params[k].len > CBS_len(&chunk)) abort();
    if (mode & 1) {
      size_t n = protect(version, pn_len, i, CBS_data(&chunk), CBS_len(&chunk), pkt, 60000);
      if (n > 0) add_frame(&cap, true, pkt, n);
    } else if (CBS_len(&chunk) <= 60000) {
      add_frame(&cap, !server, CBS_data(&chunk), CBS_len(&chunk));
    }
  }
  uint8_t *bytes;
  size_t blen;
  if (!CBB_finish(&cap, &bytes, &blen)) {
    CBB_cleanup(&cap);
    return 0;
  }
  gcap_options o;
  gcap_options_init(&o);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  size_t out = 0;
  char err[256];
  gcap_read_memory(bytes, blen, "fuzz", &o, sink, &out, &st, err, sizeof(err));
  OPENSSL_free(bytes);
  /* Every connection opened is reported, or skipped and counted (none of its Initials
   * decrypted): there are no TCP connections here. */
  if (st.records + st.other_flows < st.quic_flows) abort();
  return 0;
}

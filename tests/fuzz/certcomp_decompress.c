/*
 * libFuzzer target: the certificate decompressors of client/lib/tls_certcomp.c
 * on hostile input, as a CompressedCertificate would carry it (RFC 8879 §4).
 *
 * Input: 1 byte algorithm (low two bits: 0 unknown, 1 zlib, 2 brotli, 3 zstd),
 * 3 bytes uncompressed_length (big-endian, as on the wire), then the
 * compressed bytes. The output buffer is exactly the declared length, so ASan
 * reports any write past it. Contract checked: a length over the cap is
 * refused without touching the buffer; a stream that decodes to exactly N
 * bytes fails when N - 1 or N + 1 is declared; guise's compressor output of
 * the result decodes back to it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "tls_certcomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int decode_len(uint16_t alg, const uint8_t *in, size_t in_len, size_t len) {
  uint8_t *out = malloc(len ? len : 1);
  if (out == NULL) return -1;
  int rc = guise_tls_certcomp_decompress(alg, in, in_len, out, len, NULL);
  free(out);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  CBS cbs;
  uint8_t sel;
  uint32_t declared;
  CBS_init(&cbs, data, size);
  if (!CBS_get_u8(&cbs, &sel) || !CBS_get_u24(&cbs, &declared)) return 0;
  uint16_t alg = sel & 3;
  const uint8_t *in = CBS_data(&cbs);
  size_t in_len = CBS_len(&cbs);

  if (declared > GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED) {
    /* A one-byte buffer: the cap must be checked before any write. */
    uint8_t one;
    if (guise_tls_certcomp_decompress(alg, in, in_len, &one, declared, NULL) != -1) abort();
    return 0;
  }
  uint8_t *out = malloc(declared ? declared : 1);
  if (out == NULL) return 0;
  const char *why = NULL;
  int rc = guise_tls_certcomp_decompress(alg, in, in_len, out, declared, &why);
  if (rc != 0 && why == NULL) abort();
  if (rc == 0) {
    if (alg == 0 || declared == 0) abort();
    if (decode_len(alg, in, in_len, declared - 1) == 0) abort();
    if (declared < GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED &&
        decode_len(alg, in, in_len, declared + 1) == 0)
      abort();
    CBB cbb;
    uint8_t *c = NULL, *back = malloc(declared);
    size_t clen;
    if (back != NULL && CBB_init(&cbb, 0)) {
      if (guise_tls_certcomp_compress(alg, &cbb, out, declared, NULL) == 0 &&
          CBB_finish(&cbb, &c, &clen)) {
        if (guise_tls_certcomp_decompress(alg, c, clen, back, declared, NULL) != 0 ||
            memcmp(back, out, declared) != 0)
          abort();
      } else {
        CBB_cleanup(&cbb);
      }
    }
    OPENSSL_free(c);
    free(back);
  }
  free(out);
  return 0;
}

/* Helpers shared by the fingerprint modules: GREASE test and hash formatting. */
#include "guise_fp.h"

#include <openssl/md5.h>
#include <openssl/sha.h>

#include <string.h>

/* RFC 8701 §2: GREASE values are 0x0a0a, 0x1a1a, ..., 0xfafa — both bytes equal, low
 * nibble of each 0xa. The same 16-bit rule is used for every list FINGERPRINTS.md names. */
bool gfp_is_grease(uint16_t v) { return (v & 0x0f0fu) == 0x0a0au && (v >> 8) == (v & 0xffu); }

static void to_hex(const uint8_t *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 0x0f];
  }
  out[2 * n] = '\0';
}

void gfp_md5_hex(const void *data, size_t len, char out[33]) {
  uint8_t d[MD5_DIGEST_LENGTH];
  MD5(data, len, d);
  to_hex(d, sizeof(d), out);
}

void gfp_sha256_hex12(const void *data, size_t len, char out[13]) {
  /* JA4 (FoxIO JA4.md): an empty cipher or extension section is written as twelve
     * zeros, not as the hash of the empty string. */
  if (len == 0) {
    memcpy(out, "000000000000", 13);
    return;
  }
  uint8_t d[SHA256_DIGEST_LENGTH];
  char full[2 * SHA256_DIGEST_LENGTH + 1];
  SHA256(data, len, d);
  to_hex(d, sizeof(d), full);
  memcpy(out, full, 12);
  out[12] = '\0';
}

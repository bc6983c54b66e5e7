/*
 * mlkem_tool.c — the patched BoringSSL's ML-KEM-768 driven line by line, for the
 * cross-check against an independent implementation (test_mlkem_oracle.py).
 *
 *   keygen SEED            -> EK           (SEED = d || z, 64 bytes hex)
 *   encap EK M             -> CT SS | badkey
 *   decap SEED CT          -> SS
 *
 * Hex in, hex out, one line each; "error" for malformed input.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/kyber.h>

static size_t unhex(const char *s, uint8_t *out, size_t max) {
  size_t n = strlen(s);
  if (n % 2 || n / 2 > max) return (size_t)-1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return (size_t)-1;
    out[i] = (uint8_t)v;
  }
  return n / 2;
}

static void puthex(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

int main(void) {
  static char line[16384];
  static uint8_t a[4096], b[4096];
  static struct KYBER_private_key priv;
  static struct KYBER_public_key pub;
  while (fgets(line, sizeof(line), stdin)) {
    char cmd[16], x[8192], y[8192];
    int n = sscanf(line, "%15s %8191s %8191s", cmd, x, y);
    uint8_t ek[KYBER_PUBLIC_KEY_BYTES], ct[KYBER_CIPHERTEXT_BYTES], ss[MLKEM768_SHARED_SECRET_BYTES];
    if (n == 2 && strcmp(cmd, "keygen") == 0 && unhex(x, a, sizeof(a)) == MLKEM768_SEED_BYTES) {
      MLKEM768_generate_key_external_seed(ek, &priv, a);
      puthex(ek, sizeof(ek));
    } else if (n == 3 && strcmp(cmd, "encap") == 0 && unhex(y, b, sizeof(b)) == MLKEM768_ENCAP_ENTROPY) {
      size_t len = unhex(x, a, sizeof(a));
      CBS cbs;
      CBS_init(&cbs, a, len == (size_t)-1 ? 0 : len);
      if (len == (size_t)-1 || !KYBER_parse_public_key(&pub, &cbs)) {
        fputs("badkey", stdout);
      } else {
        MLKEM768_encap_external_entropy(ct, ss, &pub, b);
        puthex(ct, sizeof(ct));
        putchar(' ');
        puthex(ss, sizeof(ss));
      }
    } else if (n == 3 && strcmp(cmd, "decap") == 0 && unhex(x, a, sizeof(a)) == MLKEM768_SEED_BYTES &&
               unhex(y, b, sizeof(b)) == KYBER_CIPHERTEXT_BYTES) {
      MLKEM768_generate_key_external_seed(ek, &priv, a);
      MLKEM768_decap(ss, b, &priv);
      puthex(ss, sizeof(ss));
    } else {
      fputs("error", stdout);
    }
    putchar('\n');
    fflush(stdout);
  }
  return 0;
}

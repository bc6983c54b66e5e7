/*
 * test_fp_ja4_padding.c — gfp_ja4_toggle_padding against JA4 values computed
 * by others from real hellos: a hello with padding and the same hello without
 * it must map onto each other.
 *   - Edge 120 (browsers.json edge_120.0.2210.61_linux, fingerprints_computed):
 *     its JA4_r lists 0015; its JA4 is t13d1517h2_8daaf6152771_b1ff8ab2d16f.
 *   - Chrome through FoxIO's tls-handshake.pcapng (tests/data vector
 *     foxio_tls-handshake_s0_chrome): tshark 4.4's JA4 t13d1516h2_8daaf6152771_e5627efa2ab1.
 *   - The same Chromium extension set without padding has the JA4 README's
 *     Chrome value t13d1516h2_8daaf6152771_02713d6af862.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/gtest_check.h"
#include "guise_fp.h"

/* |ja4_r| without ",0015". */
static void without_padding(const char *ja4_r, char *out, size_t cap) {
  const char *p = strstr(ja4_r, ",0015");
  snprintf(out, cap, "%.*s%s", (int)(p - ja4_r), ja4_r, p + 5);
  out[7] = (char)(out[7] - 1); /* one extension fewer in the count */
}

static void expect(const char *ja4_r, const char *want) {
  char got[256] = "";
  CHECK_MSG(gfp_ja4_toggle_padding(ja4_r, got, sizeof(got)) == 0 && strcmp(got, want) == 0,
            "%s\n  got  %s\n  want %s", ja4_r, got, want);
}

int main(void) {
  static const char edge[] =
      "t13d1517h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
      "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,fe0d,ff01_"
      "0403,0804,0401,0503,0805,0501,0806,0601";
  static const char chrome[] =
      "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
      "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_"
      "0403,0804,0401,0503,0805,0501,0806,0601";
  char r[512];
  /* Padding removed from a padded hello. */
  expect(edge, "t13d1516h2_8daaf6152771_02713d6af862");
  /* Padding added to the unpadded form: back to what the capture's tools computed. */
  without_padding(edge, r, sizeof(r));
  expect(r, "t13d1517h2_8daaf6152771_b1ff8ab2d16f");
  without_padding(chrome, r, sizeof(r));
  expect(r, "t13d1516h2_8daaf6152771_e5627efa2ab1");
  /* Malformed input is refused. */
  char out[64];
  CHECK_MSG(gfp_ja4_toggle_padding("t13d", out, sizeof(out)) != 0 &&
                gfp_ja4_toggle_padding("t13d1516h2_0005_00x5", out, sizeof(out)) != 0,
            "malformed JA4_r accepted");
  return gt_done("test_fp_ja4_padding");
}

/* test_names.c — name_to_value's "0x" literals: exactly four hex digits, nothing
 * else (strtoul alone took a sign or blanks: "0x-001" became 0xffff, "0x +1d" 0x1d). */
#include <stdio.h>

#include "names.h"

static int failures;

static void expect(const char *name, int ok, uint16_t want) {
  uint16_t v = 0;
  int r = name_to_value(NAME_CIPHER, name, &v);
  if ((r == 0) != ok || (ok && v != want)) {
    printf("FAIL: \"%s\": got %d 0x%04x, want %s 0x%04x\n", name, r, v, ok ? "ok" : "refused", want);
    failures++;
  } else {
    printf("ok: \"%s\"\n", name);
  }
}

int main(void) {
  expect("0x1301", 1, 0x1301);
  expect("0xcCa9", 1, 0xcca9);
  expect("0xffff", 1, 0xffff);
  expect("TLS_AES_128_GCM_SHA256", 1, 0x1301);
  expect("0x-001", 0, 0);
  expect("0x+01d", 0, 0);
  expect("0x 01d", 0, 0);
  expect("0x0x01", 0, 0);
  expect("0x01g1", 0, 0);
  expect("0x130", 0, 0);
  expect("0x13011", 0, 0);
  printf("%s: %d failure(s)\n", failures ? "FAIL" : "ok", failures);
  return failures != 0;
}

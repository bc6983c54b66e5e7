/* hexdump.c — a hex dump of one client flight (the format of the shared vectors: hex
 * digits, any whitespace between them) to bytes. I/O-free. */
#include "capture.h"

static int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int gcap_unhex(const uint8_t *text, size_t len, uint8_t *out, size_t cap, size_t *out_len,
               size_t *err_offset, const char **why) {
  size_t n = 0, high_at = 0;
  int high = -1;
  for (size_t i = 0; i < len; i++) {
    if (is_space(text[i])) continue;
    int v = hex_value(text[i]);
    if (v < 0) {
      *err_offset = i;
      *why = "not a hex digit: a hex dump holds hex digits and whitespace only";
      return -1;
    }
    if (high < 0) {
      high = v;
      high_at = i;
      continue;
    }
    if (n == cap) {
      *err_offset = high_at;
      *why = "hex dump longer than the bytes kept per flight";
      return -1;
    }
    out[n++] = (uint8_t)(high << 4 | v);
    high = -1;
  }
  if (high >= 0) {
    *err_offset = high_at;
    *why = "odd number of hex digits: the last byte has one digit";
    return -1;
  }
  if (n == 0) {
    *err_offset = 0;
    *why = "no hex digits: neither a pcap/pcapng file nor a hex dump";
    return -1;
  }
  *out_len = n;
  return 0;
}

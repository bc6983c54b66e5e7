/* escape.c — see escape.h. Input read through a CBS (a bounded cursor): the
 * bytes are the server's. */
#include "escape.h"

#include <stdint.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "guise.h"

/* The length of the well-formed UTF-8 character at the front of |cbs| that is
 * printable (not a C1 control), or 0. RFC 3629 section 4's table of
 * well-formed sequences. */
static size_t printable_utf8(const CBS *cbs) {
  CBS c = *cbs;
  uint8_t b0, b;
  if (!CBS_get_u8(&c, &b0)) return 0;
  if (b0 < 0x80) return b0 >= 0x20 && b0 != 0x7f;
  size_t n;
  uint32_t cp, min;
  if (b0 >= 0xc2 && b0 <= 0xdf) n = 2, cp = b0 & 0x1f, min = 0x80;
  else if (b0 >= 0xe0 && b0 <= 0xef) n = 3, cp = b0 & 0x0f, min = 0x800;
  else if (b0 >= 0xf0 && b0 <= 0xf4) n = 4, cp = b0 & 0x07, min = 0x10000;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if (!CBS_get_u8(&c, &b) || (b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  if (cp >= 0x80 && cp <= 0x9f) return 0; /* C1 controls: U+009B is CSI */
  /* Bidirectional and invisible format characters (Unicode's Cf class among
   * them): they reorder or hide what a terminal shows ("Trojan Source"). */
  if (cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
      (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff)
    return 0;
  return n;
}

size_t text_escape(const char *in, size_t len, char *out, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  CBS cbs;
  CBS_init(&cbs, (const uint8_t *)(len ? in : ""), len);
  size_t need = 0, put = 0;
  int full = cap == 0;
  while (CBS_len(&cbs) > 0) {
    size_t n = printable_utf8(&cbs);
    const uint8_t *p = CBS_data(&cbs);
    char esc[4];
    const char *piece;
    size_t plen;
    if (n > 0) {
      piece = (const char *)p;
      plen = n;
    } else {
      esc[0] = '\\', esc[1] = 'x', esc[2] = hex[p[0] >> 4], esc[3] = hex[p[0] & 15];
      piece = esc;
      plen = 4;
      n = 1;
    }
    CBS_skip(&cbs, n);
    need += plen;
    if (!full && put + plen < cap) {
      memcpy(out + put, piece, plen);
      put += plen;
    } else {
      full = 1; /* nothing after a piece that did not fit */
    }
  }
  if (cap) out[put] = '\0';
  return need;
}

size_t guise_escape_text(const char *in, size_t len, char *out, size_t cap) {
  return text_escape(in, len, out, cap);
}

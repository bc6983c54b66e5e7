/* Akamai HTTP/2 fingerprint (Shuster & Segal, Black Hat EU 2017), in the form
 * tls.peet.ws reports it: S|WU|P|PS (docs/FINGERPRINTS.md). */
#include "guise_fp.h"

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include <stdio.h>
#include <string.h>

static int put_str(CBB *b, const char *s) {
  return CBB_add_bytes(b, (const uint8_t *)s, strlen(s));
}

static int put_u32(CBB *b, uint32_t v) {
  char tmp[16];
  snprintf(tmp, sizeof(tmp), "%lu", (unsigned long)v);
  return put_str(b, tmp);
}

void gfp_h2_fp_free(gfp_h2_fp *fp) {
  OPENSSL_free(fp->akamai);
  memset(fp, 0, sizeof(*fp));
}

int gfp_h2_fp_compute(const gfp_h2_preface *h2, gfp_h2_fp *out) {
  memset(out, 0, sizeof(*out));
  CBB b;
  if (!CBB_init(&b, 128)) return -1;
  int ok = 1;

  /* S: the first non-ACK SETTINGS frame, "id:value" joined by ';', wire order. */
  for (size_t i = 0; i < h2->frame_count; i++) {
    const gfp_h2_frame *f = &h2->frames[i];
    if (f->type != GFP_H2_SETTINGS || (f->flags & 0x1)) continue;
    for (size_t k = 0; ok && k < f->settings_count; k++) {
      const gfp_h2_setting *s = &h2->settings[f->settings_first + k];
      ok = (k == 0 || put_str(&b, ";")) && put_u32(&b, s->id) && put_str(&b, ":") &&
           put_u32(&b, s->value);
    }
    break;
  }
  ok = ok && put_str(&b, "|");

  /* WU: increment of the first WINDOW_UPDATE, "00" if there was none. */
  const gfp_h2_frame *wu = NULL;
  for (size_t i = 0; i < h2->frame_count && wu == NULL; i++) {
    if (h2->frames[i].type == GFP_H2_WINDOW_UPDATE) wu = &h2->frames[i];
  }
  ok = ok && (wu != NULL ? put_u32(&b, wu->window_increment) : put_str(&b, "00")) &&
       put_str(&b, "|");

  /* P: every PRIORITY frame as stream:exclusive:depends_on:weight (weight = wire + 1);
     * "0" if none. Priority carried inside HEADERS is not part of it. */
  size_t np = 0;
  for (size_t i = 0; ok && i < h2->frame_count; i++) {
    const gfp_h2_frame *f = &h2->frames[i];
    if (f->type != GFP_H2_PRIORITY) continue;
    ok = (np == 0 || put_str(&b, ",")) && put_u32(&b, f->stream_id) && put_str(&b, ":") &&
         put_u32(&b, f->priority.exclusive ? 1 : 0) && put_str(&b, ":") &&
         put_u32(&b, f->priority.depends_on) && put_str(&b, ":") && put_u32(&b, f->priority.weight);
    np++;
  }
  ok = ok && (np > 0 || put_str(&b, "0")) && put_str(&b, "|");

  /* PS: pseudo-header order of the first HEADERS, the letter after ':'. */
  size_t nps = 0;
  for (size_t i = 0; ok && i < h2->header_count; i++) {
    const gfp_bytes *name = &h2->headers[i].name;
    if (name->len < 2 || name->data[0] != ':') continue;
    ok = (nps == 0 || put_str(&b, ",")) && CBB_add_u8(&b, name->data[1]);
    nps++;
  }

  uint8_t *p;
  size_t len;
  if (!ok || CBB_len(&b) > GFP_FP_MAX_STRING || !CBB_add_u8(&b, 0) || !CBB_finish(&b, &p, &len)) {
    CBB_cleanup(&b);
    return -1;
  }
  out->akamai = (char *)p;
  gfp_md5_hex(out->akamai, len - 1, out->akamai_md5);
  return 0;
}

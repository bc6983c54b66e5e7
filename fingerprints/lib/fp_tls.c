/* TLS ClientHello fingerprints, exactly as defined in docs/FINGERPRINTS.md:
 * JA3 / JA3N (salesforce/ja3; JA3N = extensions sorted), JA4 / JA4_r / JA4_o / JA4_ro
 * (FoxIO JA4.md, BSD-3-Clause part only) and tls.peet.ws's peetprint.
 *
 * Strings are built with BoringSSL's CBB (bounded by GFP_FP_MAX_STRING). */
#include "guise_fp.h"

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  EXT_SERVER_NAME = 0,
  EXT_SUPPORTED_GROUPS = 10,
  EXT_EC_POINT_FORMATS = 11,
  EXT_SIGNATURE_ALGORITHMS = 13,
  EXT_ALPN = 16,
  EXT_COMPRESS_CERTIFICATE = 27,
  EXT_SUPPORTED_VERSIONS = 43,
  EXT_PSK_KEY_EXCHANGE_MODES = 45
};

/* ---- small CBB string helpers ------------------------------------------------------- */

static int put_str(CBB *b, const char *s) {
  return CBB_add_bytes(b, (const uint8_t *)s, strlen(s));
}

static int put_dec(CBB *b, unsigned v) {
  char tmp[16];
  snprintf(tmp, sizeof(tmp), "%u", v);
  return put_str(b, tmp);
}

static int put_hex4(CBB *b, uint16_t v) {
  char tmp[8];
  snprintf(tmp, sizeof(tmp), "%04x", (unsigned)v);
  return put_str(b, tmp);
}

/* Terminates |b| and hands its buffer to |*out| (OPENSSL_malloc'd). */
static int finish_str(CBB *b, char **out) {
  uint8_t *p;
  size_t len;
  if (CBB_len(b) > GFP_FP_MAX_STRING || !CBB_add_u8(b, 0) || !CBB_finish(b, &p, &len)) {
    CBB_cleanup(b);
    return 0;
  }
  *out = (char *)p;
  return 1;
}

/* Values of a decoded 16-bit-list extension, or an empty list. */
static gfp_u16s ext_list(const gfp_clienthello *ch, uint16_t type) {
  const gfp_ext *e = gfp_ch_find_ext(ch, type);
  gfp_u16s none = {NULL, 0};
  return e != NULL && e->kind == GFP_EXT_U16_LIST ? e->u.list : none;
}

static gfp_names alpn_list(const gfp_clienthello *ch) {
  const gfp_ext *e = gfp_ch_find_ext(ch, EXT_ALPN);
  gfp_names none = {NULL, 0};
  return e != NULL && e->kind == GFP_EXT_ALPN ? e->u.protocols : none;
}

/* Writes the non-GREASE values of |n| items as decimal (JA3) joined with '-'. */
static int put_dec_list(CBB *b, const uint16_t *v, size_t n) {
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (gfp_is_grease(v[i])) continue;
    if ((!first && !put_str(b, "-")) || !put_dec(b, v[i])) return 0;
    first = false;
  }
  return 1;
}

/* Writes the non-GREASE values as 4-digit lowercase hex (JA4) joined with ','. */
static int put_hex_list(CBB *b, const uint16_t *v, size_t n) {
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (gfp_is_grease(v[i])) continue;
    if ((!first && !put_str(b, ",")) || !put_hex4(b, v[i])) return 0;
    first = false;
  }
  return 1;
}

/* Writes every value, GREASE as the literal "GREASE" (peetprint), joined with '-'. */
static int put_peet_list(CBB *b, const uint16_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if ((i > 0 && !put_str(b, "-")) ||
        !(gfp_is_grease(v[i]) ? put_str(b, "GREASE") : put_dec(b, v[i])))
      return 0;
  }
  return 1;
}

static int cmp_u16(const void *a, const void *b) {
  uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
  return (x > y) - (x < y);
}

/* Copies the non-GREASE values of |in| into |out| (capacity |cap|), optionally without
 * SNI and ALPN, optionally sorted. Returns the count. */
static size_t filtered(const uint16_t *in, size_t n, uint16_t *out, size_t cap, bool drop_sni_alpn,
                       bool sort) {
  size_t k = 0;
  for (size_t i = 0; i < n && k < cap; i++) {
    if (gfp_is_grease(in[i])) continue;
    if (drop_sni_alpn && (in[i] == EXT_SERVER_NAME || in[i] == EXT_ALPN)) continue;
    out[k++] = in[i];
  }
  if (sort && k > 1) qsort(out, k, sizeof(out[0]), cmp_u16);
  return k;
}

/* ---- JA3 / JA3N ---------------------------------------------------------------------- */

/* salesforce/ja3: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats;
 * JA3N sorts the extension field numerically (browserleaks), which makes it stable under
 * Chromium's extension permutation. */
static int make_ja3(const gfp_clienthello *ch, const uint16_t *types, bool sorted, char **out) {
  uint16_t ext[GFP_CH_MAX_EXTENSIONS];
  size_t n = filtered(types, ch->ext_count, ext, GFP_CH_MAX_EXTENSIONS, false, sorted);
  gfp_u16s curves = ext_list(ch, EXT_SUPPORTED_GROUPS);
  gfp_u16s formats = ext_list(ch, EXT_EC_POINT_FORMATS);
  CBB b;
  if (!CBB_init(&b, 256)) return 0;
  if (!put_dec(&b, ch->legacy_version) || !put_str(&b, ",") ||
      !put_dec_list(&b, ch->ciphers.v, ch->ciphers.n) || !put_str(&b, ",") ||
      !put_dec_list(&b, ext, n) || !put_str(&b, ",") || !put_dec_list(&b, curves.v, curves.n) ||
      !put_str(&b, ",") || !put_dec_list(&b, formats.v, formats.n)) {
    CBB_cleanup(&b);
    return 0;
  }
  return finish_str(&b, out);
}

/* ---- JA4 ----------------------------------------------------------------------------- */

void gfp_ja4_version(uint16_t version, char out[3]) {
  const char *s;
  switch (version) {
  case 0x0304:
    s = "13";
    break;
  case 0x0303:
    s = "12";
    break;
  case 0x0302:
    s = "11";
    break;
  case 0x0301:
    s = "10";
    break;
  case 0x0300:
    s = "s3";
    break;
  case 0x0002:
    s = "s2";
    break;
  case 0xfeff:
    s = "d1";
    break;
  case 0xfefd:
    s = "d2";
    break;
  case 0xfefc:
    s = "d3";
    break;
  default:
    s = "00";
    break;
  }
  memcpy(out, s, 3);
}

static bool is_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* JA4.md "ALPN Extension Value": first and last characters of the first ALPN value when
 * both are ASCII alphanumeric (a 1-byte value is both first and last); otherwise the
 * first and last hex digits of the value's lowercase hex; "00" when absent or empty. */
void gfp_ja4_alpn(const uint8_t *value, size_t len, char out[3]) {
  static const char digits[] = "0123456789abcdef";
  if (len == 0) {
    memcpy(out, "00", 3);
    return;
  }
  uint8_t first = value[0], last = value[len - 1];
  if (is_alnum(first) && is_alnum(last)) {
    out[0] = (char)first;
    out[1] = (char)last;
  } else {
    out[0] = digits[first >> 4];
    out[1] = digits[last & 0x0f];
  }
  out[2] = '\0';
}

/* Builds the JA4 "a" section (10 characters). */
static void ja4_a(const gfp_clienthello *ch, char transport, char a[11]) {
  uint16_t version = ch->legacy_version;
  const gfp_ext *sv = gfp_ch_find_ext(ch, EXT_SUPPORTED_VERSIONS);
  if (sv != NULL && sv->kind == GFP_EXT_U16_LIST) {
    /* Highest non-GREASE supported_versions value; legacy_version if none. */
    bool found = false;
    uint16_t best = 0;
    for (size_t i = 0; i < sv->u.list.n; i++) {
      uint16_t v = sv->u.list.v[i];
      if (!gfp_is_grease(v) && (!found || v > best)) {
        best = v;
        found = true;
      }
    }
    if (found) version = best;
  }
  size_t nc = 0, ne = 0;
  for (size_t i = 0; i < ch->ciphers.n; i++) nc += !gfp_is_grease(ch->ciphers.v[i]);
  for (size_t i = 0; i < ch->ext_count; i++) ne += !ch->exts[i].grease;
  char vv[3], aa[3];
  gfp_ja4_version(version, vv);
  gfp_names alpn = alpn_list(ch);
  if (alpn.n > 0) gfp_ja4_alpn(alpn.v[0].data, alpn.v[0].len, aa);
  else gfp_ja4_alpn(NULL, 0, aa);
  snprintf(a, 11, "%c%s%c%02u%02u%s", transport, vv,
           gfp_ch_find_ext(ch, EXT_SERVER_NAME) != NULL ? 'd' : 'i', (unsigned)(nc > 99 ? 99 : nc),
           (unsigned)(ne > 99 ? 99 : ne), aa);
}

/* Raw JA4 "b" (ciphers) and "c" (extensions [_ sigalgs]) sections. |original| keeps wire
 * order and SNI/ALPN (JA4_o / JA4_ro). Either output may be an empty string. */
static int ja4_bc_raw(const gfp_clienthello *ch, const uint16_t *types, bool original, char **b_out,
                      char **c_out) {
  uint16_t *ciphers = malloc((ch->ciphers.n + 1) * sizeof(uint16_t));
  if (ciphers == NULL) return 0;
  size_t nc = filtered(ch->ciphers.v, ch->ciphers.n, ciphers, ch->ciphers.n, false, !original);
  uint16_t ext[GFP_CH_MAX_EXTENSIONS];
  size_t ne = filtered(types, ch->ext_count, ext, GFP_CH_MAX_EXTENSIONS, !original, !original);
  gfp_u16s sig = ext_list(ch, EXT_SIGNATURE_ALGORITHMS);
  size_t nsig = 0;
  for (size_t i = 0; i < sig.n; i++) nsig += !gfp_is_grease(sig.v[i]);

  CBB b, c;
  int ok = CBB_init(&b, 128);
  if (ok && !CBB_init(&c, 128)) {
    CBB_cleanup(&b);
    ok = 0;
  }
  if (!ok) {
    free(ciphers);
    return 0;
  }
  /* Sigalgs in wire order, GREASE ignored (Chromium 156 puts GREASE first there). */
  ok = put_hex_list(&b, ciphers, nc) && put_hex_list(&c, ext, ne) &&
       (nsig == 0 || (put_str(&c, "_") && put_hex_list(&c, sig.v, sig.n)));
  free(ciphers);
  if (!ok) {
    CBB_cleanup(&b);
    CBB_cleanup(&c);
    return 0;
  }
  if (!finish_str(&b, b_out)) {
    CBB_cleanup(&c);
    return 0;
  }
  if (!finish_str(&c, c_out)) {
    OPENSSL_free(*b_out);
    *b_out = NULL;
    return 0;
  }
  /* An empty extension list hashes to zeros even if sigalgs were somehow present. */
  if (ne == 0) (*c_out)[0] = '\0';
  return 1;
}

/* JA4 (hashed) and JA4_r (raw) for one ordering. */
static int make_ja4(const gfp_clienthello *ch, const uint16_t *types, const char a[11],
                    bool original, char **hashed, char **raw) {
  char *b_raw = NULL, *c_raw = NULL;
  if (!ja4_bc_raw(ch, types, original, &b_raw, &c_raw)) return 0;
  char bh[13], chh[13];
  gfp_sha256_hex12(b_raw, strlen(b_raw), bh);
  gfp_sha256_hex12(c_raw, strlen(c_raw), chh);
  CBB h, r;
  int ok = CBB_init(&h, 40);
  if (ok && !CBB_init(&r, 256)) {
    CBB_cleanup(&h);
    ok = 0;
  }
  if (ok) {
    ok = put_str(&h, a) && put_str(&h, "_") && put_str(&h, bh) && put_str(&h, "_") &&
         put_str(&h, chh) && put_str(&r, a) && put_str(&r, "_") && put_str(&r, b_raw) &&
         put_str(&r, "_") && put_str(&r, c_raw);
    if (!ok) {
      CBB_cleanup(&h);
      CBB_cleanup(&r);
    } else if (!finish_str(&h, hashed)) {
      CBB_cleanup(&r);
      ok = 0;
    } else if (!finish_str(&r, raw)) {
      OPENSSL_free(*hashed);
      *hashed = NULL;
      ok = 0;
    }
  }
  OPENSSL_free(b_raw);
  OPENSSL_free(c_raw);
  return ok;
}

/* ---- peetprint ----------------------------------------------------------------------- */

typedef struct ext_str {
  char s[8];
} ext_str;

static int cmp_ext_str(const void *a, const void *b) {
  return strcmp(((const ext_str *)a)->s, ((const ext_str *)b)->s);
}

/* tls.peet.ws: versions|protocols|groups|sigalgs|psk_mode|cert_compression|ciphers|
 * sorted_extensions. GREASE is written literally everywhere (position kept), and the
 * extension list is sorted as strings ("10" < "5", "GREASE" last). */
static int make_peetprint(const gfp_clienthello *ch, char **out) {
  gfp_u16s versions = ext_list(ch, EXT_SUPPORTED_VERSIONS);
  gfp_u16s groups = ext_list(ch, EXT_SUPPORTED_GROUPS);
  gfp_u16s sigalgs = ext_list(ch, EXT_SIGNATURE_ALGORITHMS);
  gfp_u16s modes = ext_list(ch, EXT_PSK_KEY_EXCHANGE_MODES);
  gfp_u16s certc = ext_list(ch, EXT_COMPRESS_CERTIFICATE);
  gfp_names alpn = alpn_list(ch);
  ext_str *exts = calloc(ch->ext_count + 1, sizeof(ext_str));
  if (exts == NULL) return 0;
  for (size_t i = 0; i < ch->ext_count; i++) {
    if (ch->exts[i].grease) memcpy(exts[i].s, "GREASE", 7);
    else snprintf(exts[i].s, sizeof(exts[i].s), "%u", (unsigned)ch->exts[i].type);
  }
  qsort(exts, ch->ext_count, sizeof(ext_str), cmp_ext_str);

  CBB b;
  if (!CBB_init(&b, 512)) {
    free(exts);
    return 0;
  }
  int ok = put_peet_list(&b, versions.v, versions.n) && put_str(&b, "|");
  bool first = true;
  for (size_t i = 0; ok && i < alpn.n; i++) {
    static const struct {
      const char *alpn, *short_name;
    } map[] = {{"h2", "2"}, {"http/1.1", "1.1"}, {"http/1.0", "1.0"}};
    for (size_t j = 0; j < sizeof(map) / sizeof(map[0]); j++) {
      if (alpn.v[i].len == strlen(map[j].alpn) &&
          memcmp(alpn.v[i].data, map[j].alpn, alpn.v[i].len) == 0) {
        ok = (first || put_str(&b, "-")) && put_str(&b, map[j].short_name);
        first = false;
        break;
      }
    }
  }
  ok = ok && put_str(&b, "|") && put_peet_list(&b, groups.v, groups.n) && put_str(&b, "|") &&
       put_peet_list(&b, sigalgs.v, sigalgs.n) && put_str(&b, "|") &&
       put_dec(&b, modes.n > 0 ? modes.v[0] : 0) && put_str(&b, "|") &&
       put_peet_list(&b, certc.v, certc.n) && put_str(&b, "|") &&
       put_peet_list(&b, ch->ciphers.v, ch->ciphers.n) && put_str(&b, "|");
  for (size_t i = 0; ok && i < ch->ext_count; i++)
    ok = (i == 0 || put_str(&b, "-")) && put_str(&b, exts[i].s);
  free(exts);
  if (!ok) {
    CBB_cleanup(&b);
    return 0;
  }
  return finish_str(&b, out);
}

/* ---- public ------------------------------------------------------------------------- */

void gfp_tls_fp_free(gfp_tls_fp *fp) {
  OPENSSL_free(fp->ja3);
  OPENSSL_free(fp->ja3n);
  OPENSSL_free(fp->ja4);
  OPENSSL_free(fp->ja4_r);
  OPENSSL_free(fp->ja4_o);
  OPENSSL_free(fp->ja4_ro);
  OPENSSL_free(fp->peetprint);
  memset(fp, 0, sizeof(*fp));
}

unsigned gfp_tls_fp_depends(uint16_t type) {
  switch (type) {
  case EXT_SUPPORTED_GROUPS: /* JA3 EllipticCurves; peetprint groups */
    return GFP_FP_JA3 | GFP_FP_JA3N | GFP_FP_PEETPRINT;
  case EXT_EC_POINT_FORMATS: /* JA3 EllipticCurvePointFormats */
    return GFP_FP_JA3 | GFP_FP_JA3N;
  case EXT_SIGNATURE_ALGORITHMS: /* JA4 c section; peetprint sigalgs */
  case EXT_ALPN:                 /* JA4 AA (first value); peetprint protocols */
  case EXT_SUPPORTED_VERSIONS:   /* JA4 VV (highest value); peetprint versions */
    return GFP_FP_JA4 | GFP_FP_PEETPRINT;
  case EXT_PSK_KEY_EXCHANGE_MODES: /* peetprint psk_mode */
  case EXT_COMPRESS_CERTIFICATE:   /* peetprint cert_compression */
    return GFP_FP_PEETPRINT;
  default:
    return 0;
  }
}

int gfp_tls_fp_compute(const gfp_clienthello *ch, char transport, gfp_tls_fp *out) {
  memset(out, 0, sizeof(*out));
  /* A fingerprint that reads a malformed body would describe a hello the client did
     * not send (an empty list where it sent bytes): it is left out, the others stay. */
  unsigned skip = 0;
  for (size_t i = 0; i < ch->ext_count; i++) {
    if (ch->exts[i].malformed != NULL) skip |= gfp_tls_fp_depends(ch->exts[i].type);
  }
  uint16_t types[GFP_CH_MAX_EXTENSIONS];
  for (size_t i = 0; i < ch->ext_count; i++) types[i] = ch->exts[i].type;
  char a[11];
  ja4_a(ch, transport, a);
  if ((!(skip & GFP_FP_JA3) && !make_ja3(ch, types, false, &out->ja3)) ||
      (!(skip & GFP_FP_JA3N) && !make_ja3(ch, types, true, &out->ja3n)) ||
      (!(skip & GFP_FP_JA4) && (!make_ja4(ch, types, a, false, &out->ja4, &out->ja4_r) ||
                                !make_ja4(ch, types, a, true, &out->ja4_o, &out->ja4_ro))) ||
      (!(skip & GFP_FP_PEETPRINT) && !make_peetprint(ch, &out->peetprint))) {
    gfp_tls_fp_free(out);
    return -1;
  }
  if (out->ja3 != NULL) gfp_md5_hex(out->ja3, strlen(out->ja3), out->ja3_md5);
  if (out->ja3n != NULL) gfp_md5_hex(out->ja3n, strlen(out->ja3n), out->ja3n_md5);
  if (out->peetprint != NULL)
    gfp_md5_hex(out->peetprint, strlen(out->peetprint), out->peetprint_md5);
  return 0;
}

int gfp_ja4_toggle_padding(const char *ja4_r, char *out, size_t cap) {
  /* JA4_r: a (10 chars) "_" ciphers "_" extensions [ "_" sigalgs ]. */
  char buf[4096];
  size_t n = strlen(ja4_r);
  if (n >= sizeof(buf) || n < 12 || ja4_r[10] != '_') return -1;
  memcpy(buf, ja4_r, n + 1);
  char *ciphers = buf + 11, *exts = strchr(ciphers, '_');
  if (exts == NULL) return -1;
  *exts++ = '\0';
  char *sig = strchr(exts, '_');
  if (sig) *sig++ = '\0';
  /* The extension list, sorted hex, with 0015 toggled. */
  char list[2048] = "";
  size_t len = 0, count = 0;
  int had = 0, added = 0;
  for (char *e = exts; *e;) {
    char *comma = strchr(e, ',');
    size_t el = comma ? (size_t)(comma - e) : strlen(e);
    if (el != 4 || strspn(e, "0123456789abcdef") < 4) return -1;
    if (memcmp(e, "0015", 4) == 0) {
      had = 1;
    } else {
      if (!added && memcmp(e, "0015", 4) > 0) {
        added = 1;
        if (len + 5 >= sizeof(list)) return -1;
        memcpy(list + len, len ? ",0015" : "0015", len ? 5 : 4);
        len += len ? 5 : 4;
        count++;
      }
      if (len + el + 1 >= sizeof(list)) return -1;
      if (len) list[len++] = ',';
      memcpy(list + len, e, el);
      len += el;
      count++;
    }
    e += el + (comma ? 1 : 0);
  }
  if (had) {
    /* Removing: undo a tentative insertion. */
    len = 0;
    count = 0;
    list[0] = '\0';
    for (char *e = exts; *e;) {
      char *comma = strchr(e, ',');
      size_t el = comma ? (size_t)(comma - e) : strlen(e);
      if (memcmp(e, "0015", 4) != 0) {
        if (len) list[len++] = ',';
        memcpy(list + len, e, el);
        len += el;
        count++;
      }
      e += el + (comma ? 1 : 0);
    }
  } else if (!added) {
    if (len + 5 >= sizeof(list)) return -1;
    memcpy(list + len, len ? ",0015" : "0015", len ? 5 : 4);
    len += len ? 5 : 4;
    count++;
  }
  list[len] = '\0';
  /* The a part's extension count counts SNI and ALPN too (JA4 spec), which the
   * list leaves out: move it by one, capped at 99. */
  int old_count = (buf[6] - '0') * 10 + (buf[7] - '0');
  int new_count = old_count + (had ? -1 : 1);
  if (buf[6] < '0' || buf[6] > '9' || buf[7] < '0' || buf[7] > '9' || new_count < 0) return -1;
  if (new_count > 99) new_count = 99;
  char a[11];
  memcpy(a, buf, 10);
  a[10] = '\0';
  a[6] = (char)('0' + new_count / 10);
  a[7] = (char)('0' + new_count % 10);
  /* b: the ciphers' hash; c: extensions "_" sigalgs. */
  char hb[13], hc[13], c[4096];
  gfp_sha256_hex12(ciphers, strlen(ciphers), hb);
  int cl = snprintf(c, sizeof(c), "%s%s%s", list, sig ? "_" : "", sig ? sig : "");
  if (cl < 0 || (size_t)cl >= sizeof(c)) return -1;
  gfp_sha256_hex12(c, (size_t)cl, hc);
  if (snprintf(out, cap, "%s_%s_%s", a, hb, hc) >= (int)cap) return -1;
  return 0;
}

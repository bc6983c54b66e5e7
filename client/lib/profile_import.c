/*
 * profile_import.c — the importers of profile_import.h. Each walks its input's tree
 * (json_read.h) and fills a profile structure with IANA code points; what the
 * structure cannot hold (a wrong type, an unknown name, a list over its cap, a
 * string over its buffer) is refused here, with the input's path; everything else
 * (ranges, duplicates, extensions without their contents, what this build cannot
 * send) is left to the strict loader, which reads the written profile in
 * profile_emit(). The shipped profiles are made with profile_from_browsers_json
 * (tools/profiles/make) and profile_from_echo (tools/profiles/capture-debian).
 */
#include "profile_import.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "tls_shape.h"

/* ---- the importers' common state and readers -------------------------------------- */

/* Stream ids and dependencies: 31 bits; weights 1..256 are checked by the loader. */
#define STREAM_MAX 0x7fffffffLL
#define U32_MAX 0xffffffffLL

typedef struct imp {
  profile *p;
  const char *what; /* the kind of input, first in every message */
  char *err;
  size_t errlen;
  int failed;
} imp;

static void fail(imp *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(imp *m, const char *fmt, ...) {
  if (m->failed) return;
  m->failed = 1;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (m->what) snprintf(m->err, m->errlen, "%s: %s", m->what, msg);
  else snprintf(m->err, m->errlen, "%s", msg);
}

/* An empty profile: the loader's defaults, which the importers then overwrite. */
static void imp_start(imp *m, profile *out, const char *what, const char *name, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof(*out));
  tls_shape_init(&out->tls);
  out->tls.aes_hw = 1;
  out->resumption = 1;
  h2_shape_init(&out->h2);
  *m = (imp){out, what, err, errlen, 0};
  if (err && errlen) err[0] = '\0';
  if (strlen(name) >= sizeof(out->name)) fail(m, "the name is longer than %zu bytes", sizeof(out->name) - 1);
  else memcpy(out->name, name, strlen(name) + 1);
}

static int imp_end(imp *m) { return m->failed ? -1 : 0; }

static const jv *get(const jv *o, const char *k) { return jv_get(o, k); }
static const jv *get2(const jv *o, const char *a, const char *b) { return jv_get(jv_get(o, a), b); }

/* A string without NUL, or NULL. */
static const char *str_of(const jv *v) {
  return v && v->type == JV_STRING && strlen(v->str) == v->len ? v->str : NULL;
}

static int is_array(const jv *v) { return v && v->type == JV_ARRAY; }
static int is_object(const jv *v) { return v && v->type == JV_OBJECT; }
static int is_true(const jv *v) { return v && v->type == JV_TRUE; }
/* A frame on stream 0: the dumps leave the stream out of connection-level frames
 * (tls.peet.ws) or write 0. */
static int stream0(const jv *v) { return v == NULL || (v->type == JV_INTEGER && v->num_ok && v->num == 0); }
/* A non-zero integer (tls.peet.ws writes flags as 0 and 1). */
static int nonzero_int(const jv *v) { return v && v->type == JV_INTEGER && v->num_ok && v->num != 0; }

/* An integer in lo..hi into |*out|: 1; else 0. */
static int int_in(const jv *v, long long lo, long long hi, long long *out) {
  if (!(v && v->type == JV_INTEGER && v->num_ok && v->num >= lo && v->num <= hi)) return 0;
  *out = v->num;
  return 1;
}

/* The integer |v| (|field| in messages), which must fit lo..hi (the structure's
 * field: the loader checks the format's range). |dflt| when |v| is missing. */
static long long int_field(imp *m, const jv *v, const char *field, long long lo, long long hi,
                           long long dflt) {
  long long x;
  if (v == NULL) return dflt;
  if (!int_in(v, lo, hi, &x)) {
    fail(m, "%s: expected an integer %lld..%lld", field, lo, hi);
    return dflt;
  }
  return x;
}

/* true, false, 1 or 0 (the dumps write booleans both ways); |dflt| when missing. */
static int bool_field(imp *m, const jv *v, const char *field, int dflt) {
  if (v == NULL) return dflt;
  if (v->type == JV_TRUE || v->type == JV_FALSE) return v->type == JV_TRUE;
  if (v->type == JV_INTEGER && v->num_ok && (v->num == 0 || v->num == 1)) return (int)v->num;
  fail(m, "%s: expected true or false", field);
  return dflt;
}

/* Copies |s| into |dst| (|cap| bytes with the NUL). */
static void set_text(imp *m, char *dst, size_t cap, const char *s, const char *field) {
  size_t n = strlen(s);
  if (n >= cap) fail(m, "%s: longer than %zu bytes", field, cap - 1);
  else memcpy(dst, s, n + 1);
}

/* The string |v| into |dst|, when it is one (else left as it is). */
static void set_text_of(imp *m, char *dst, size_t cap, const jv *v, const char *field) {
  const char *s = str_of(v);
  if (s) set_text(m, dst, cap, s, field);
}

static void add_code(imp *m, uint16_t *list, size_t *n, size_t cap, uint16_t v, const char *field) {
  if (*n == cap) fail(m, "%s: more than %zu entries", field, cap);
  else list[(*n)++] = v;
}

/* An RFC 8701 GREASE value stands for the connection's own: the placeholder
 * 0x0a0a (names.h). Certificate compression has no GREASE. */
static uint16_t grease(name_kind kind, uint16_t v) {
  if (kind != NAME_CERTCOMP && (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)) return 0x0a0a;
  return v;
}

/* "1301", the guise echo's form of a code point: exactly four hex digits. */
static int hex4(const char *s, uint16_t *out) {
  if (s == NULL || strlen(s) != 4) return 0;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return 0;
    v = v << 4 | (unsigned)d;
  }
  *out = (uint16_t)v;
  return 1;
}

/* A list of four-hex-digit strings (guise echo) as code points of |kind|. */
static void codes_hex(imp *m, const jv *arr, name_kind kind, uint16_t *list, size_t *n, size_t cap,
                      const char *field) {
  *n = 0;
  size_t i = 0;
  for (const jv *v = is_array(arr) ? arr->child : NULL; v && !m->failed; v = v->next, i++) {
    uint16_t c;
    if (!hex4(str_of(v), &c)) fail(m, "%s[%zu]: expected four hex digits", field, i);
    else add_code(m, list, n, cap, grease(kind, c), field);
  }
  if (!m->failed && *n == 0) fail(m, "%s: empty", field);
}

/* A list of {"id": N, ...} objects (tls.browserleaks.com) as code points. */
static void codes_id(imp *m, const jv *arr, name_kind kind, uint16_t *list, size_t *n, size_t cap,
                     const char *field) {
  *n = 0;
  size_t i = 0;
  for (const jv *v = is_array(arr) ? arr->child : NULL; v && !m->failed; v = v->next, i++) {
    long long c;
    if (!int_in(get(v, "id"), 0, 0xffff, &c)) fail(m, "%s[%zu]: expected {\"id\": 0..65535}", field, i);
    else add_code(m, list, n, cap, grease(kind, (uint16_t)c), field);
  }
  if (!m->failed && *n == 0) fail(m, "%s: missing or empty", field);
}

/* A list of names of |kind| (IANA names, "GREASE", "0x" and four hex digits) or
 * numbers 0..65535; browsers.json writes versions as TLS_VERSION_1_3. */
static void codes_named(imp *m, const jv *arr, name_kind kind, uint16_t *list, size_t *n, size_t cap,
                        const char *field) {
  *n = 0;
  size_t i = 0;
  for (const jv *v = is_array(arr) ? arr->child : NULL; v && !m->failed; v = v->next, i++) {
    const char *s = str_of(v);
    long long c;
    uint16_t code;
    if (s) {
      char buf[16];
      if (kind == NAME_VERSION && strncmp(s, "TLS_VERSION_", 12) == 0 && strlen(s) == 15) {
        snprintf(buf, sizeof(buf), "TLS%c.%c", s[12], s[14]);
        s = buf;
      }
      if (name_to_value(kind, s, &code) != 0) fail(m, "%s[%zu]: unknown name \"%s\"", field, i, s);
      else add_code(m, list, n, cap, code, field);
    } else if (int_in(v, 0, 0xffff, &c)) {
      add_code(m, list, n, cap, (uint16_t)c, field);
    } else {
      fail(m, "%s[%zu]: expected a name or a number 0..65535", field, i);
    }
  }
}

/* A list of protocol names (ALPN, ALPS). */
static void protocol_list(imp *m, const jv *arr, char (*list)[TLS_SHAPE_MAX_PROTO], size_t *n,
                          const char *field) {
  *n = 0;
  size_t i = 0;
  if (!is_array(arr)) {
    fail(m, "%s: expected an array of protocol names", field);
    return;
  }
  for (const jv *v = arr->child; v && !m->failed; v = v->next, i++) {
    const char *s = str_of(v);
    if (s == NULL || strlen(s) >= TLS_SHAPE_MAX_PROTO)
      fail(m, "%s[%zu]: expected a protocol name of at most %d bytes", field, i, TLS_SHAPE_MAX_PROTO - 1);
    else if (*n == TLS_SHAPE_MAX_ALPN)
      fail(m, "%s: more than %d entries", field, TLS_SHAPE_MAX_ALPN);
    else
      memcpy(list[(*n)++], s, strlen(s) + 1);
  }
  if (!m->failed && *n == 0) fail(m, "%s: empty", field);
}

static void add_header(imp *m, profile_header *list, size_t *n, const char *name, size_t name_len,
                       const char *value, const char *field) {
  if (*n == PROFILE_MAX_HEADERS) fail(m, "%s: more than %d headers", field, PROFILE_MAX_HEADERS);
  else if (name_len >= PROFILE_MAX_NAME || strlen(value) >= PROFILE_MAX_VALUE)
    fail(m, "%s[%zu]: header name or value too long", field, *n);
  else {
    memcpy(list[*n].name, name, name_len);
    list[*n].name[name_len] = '\0';
    memcpy(list[*n].value, value, strlen(value) + 1);
    (*n)++;
  }
}

/* The four pseudo-headers in the order of |names| (each once). */
static void pseudo_add(imp *m, char *order, size_t *n, const char *name, size_t len) {
  char c = len == 7 && !memcmp(name, ":method", 7) ? 'm' : len == 10 && !memcmp(name, ":authority", 10) ? 'a'
           : len == 7 && !memcmp(name, ":scheme", 7) ? 's' : len == 5 && !memcmp(name, ":path", 5) ? 'p' : 0;
  if (c == 0 || *n == 4 || memchr(order, c, *n))
    fail(m, "pseudo-header \"%.*s\": expected each of :method :authority :scheme :path once", (int)len, name);
  else order[(*n)++] = c;
}

static void pseudo_done(imp *m, char *order, size_t n) {
  if (m->failed) return;
  if (n != 4) {
    fail(m, "the request has %zu of the four pseudo-headers", n);
    return;
  }
  memcpy(m->p->h2.pseudo_order, order, 4);
  m->p->h2.pseudo_order[4] = '\0';
}

static void add_setting(imp *m, long long id, long long value, const char *field) {
  h2_shape *s = &m->p->h2;
  if (s->n_settings == H2_SHAPE_MAX_SETTINGS) fail(m, "%s: more than %d settings", field, H2_SHAPE_MAX_SETTINGS);
  else s->settings[s->n_settings++] = (h2_setting){(uint16_t)id, (uint32_t)value};
}

/* A SETTINGS entry: the identifier |idv| (16 bits) and the value |vv| (32 bits). */
static void setting(imp *m, const jv *idv, const jv *vv, const char *field, size_t i) {
  long long id, v;
  if (!int_in(idv, 0, 0xffff, &id)) fail(m, "%s[%zu]: the identifier is not an integer 0..65535", field, i);
  else if (!int_in(vv, 0, U32_MAX, &v)) fail(m, "%s[%zu]: the value is not an integer 0..4294967295", field, i);
  else add_setting(m, id, v, field);
}

static void add_priority_frame(imp *m, long long stream, long long weight, int exclusive,
                               long long depends_on) {
  h2_shape *s = &m->p->h2;
  if (s->n_priority_frames == H2_SHAPE_MAX_PRIORITY_FRAMES) {
    fail(m, "more than %d PRIORITY frames", H2_SHAPE_MAX_PRIORITY_FRAMES);
    return;
  }
  h2_priority_frame *f = &s->priority_frames[s->n_priority_frames++];
  f->stream_id = (uint32_t)stream;
  f->priority = (h2_priority){exclusive, (uint32_t)depends_on, (uint16_t)weight};
}

static void set_headers_priority(imp *m, long long weight, int exclusive, long long depends_on) {
  h2_shape *s = &m->p->h2;
  s->headers_priority_flag = 1;
  s->headers_priority = (h2_priority){exclusive, (uint32_t)depends_on, (uint16_t)weight};
}

/* ---- from a browsers.json record ---------------------------------------------------- */

int profile_from_browsers_json(const jv *b, const char *name, profile *out, char *err,
                               size_t errlen) {
  imp m;
  imp_start(&m, out, "browsers.json record", name, err, errlen);
  const jv *tls = get(b, "tls"), *h2 = get(b, "http2");
  if (!is_object(tls)) {
    m.what = NULL;
    fail(&m, "the record has no \"tls\" block");
    return imp_end(&m);
  }
  profile *p = out;
  tls_shape *s = &p->tls;
  /* A string member that is missing reads "(null)", as it always has. */
#define OR_NULL(v) (str_of(v) ? str_of(v) : "(null)")
  char desc[512];
  snprintf(desc, sizeof(desc), "%s %s on %s", OR_NULL(get(b, "browser")), OR_NULL(get(b, "version")),
           OR_NULL(get(b, "os")));
  char src[1024];
  snprintf(src, sizeof(src), "browsers.json %s: %s", OR_NULL(get(b, "id")), OR_NULL(get(b, "data_kind")));
#undef OR_NULL
  set_text(&m, p->source, sizeof(p->source), src, "source");

  /* A list the record does not give is left out (the loader refuses an empty
   * one); emulation records give "extensions_order" only. */
  const jv *order = get(tls, "extensions_order_as_captured");
  if (!is_array(order)) order = get(tls, "extensions_order");
  codes_named(&m, get(tls, "supported_versions"), NAME_VERSION, s->versions, &s->n_versions,
              TLS_SHAPE_MAX_VERSIONS, "tls.supported_versions");
  codes_named(&m, get(tls, "cipher_suites"), NAME_CIPHER, s->ciphers, &s->n_ciphers,
              TLS_SHAPE_MAX_CIPHERS, "tls.cipher_suites");
  codes_named(&m, order, NAME_EXTENSION, s->extensions, &s->n_extensions, TLS_SHAPE_MAX_EXTENSIONS,
              "tls.extensions_order");
  s->permute_extensions = is_true(get(tls, "extension_permutation"));
  codes_named(&m, get(tls, "supported_groups"), NAME_GROUP, s->groups, &s->n_groups, TLS_SHAPE_MAX_GROUPS,
              "tls.supported_groups");
  codes_named(&m, get(tls, "key_share_groups"), NAME_GROUP, s->key_shares, &s->n_key_shares,
              TLS_SHAPE_MAX_KEY_SHARES, "tls.key_share_groups");
  codes_named(&m, get(tls, "signature_algorithms"), NAME_SIGALG, s->sigalgs, &s->n_sigalgs,
              TLS_SHAPE_MAX_SIGALGS, "tls.signature_algorithms");
  codes_named(&m, get(tls, "delegated_credentials"), NAME_SIGALG, s->dc_sigalgs, &s->n_dc_sigalgs,
              TLS_SHAPE_MAX_SIGALGS, "tls.delegated_credentials");
  const jv *alpn = get(tls, "alpn");
  if (is_array(alpn) && alpn->child) protocol_list(&m, alpn, s->alpn, &s->n_alpn, "tls.alpn");
  const jv *alps = get(tls, "alps");
  if (is_object(alps)) {
    /* The format's default code point when the record names none. */
    s->alps_codepoint = (uint16_t)int_field(&m, get(alps, "codepoint"), "tls.alps.codepoint", 0, 0xffff, 17613);
    if (get(alps, "protocols")) protocol_list(&m, get(alps, "protocols"), s->alps, &s->n_alps, "tls.alps.protocols");
  }
  codes_named(&m, get(tls, "compress_certificate"), NAME_CERTCOMP, s->certcomp, &s->n_certcomp,
              TLS_SHAPE_MAX_CERTCOMP, "tls.compress_certificate");
  const jv *rsl = get(tls, "record_size_limit");
  if (rsl && rsl->type == JV_INTEGER)
    s->record_size_limit = (uint16_t)int_field(&m, rsl, "tls.record_size_limit", 1, 0xffff, 0);
  s->ech_grease = is_true(get(tls, "encrypted_client_hello_grease"));
  s->status_request = is_true(get(tls, "status_request"));
  s->sct = is_true(get(tls, "signed_certificate_timestamp"));
  s->session_ticket = is_true(get(tls, "session_ticket"));

  if (is_object(h2)) {
    size_t i = 0;
    const jv *e;
    for (e = is_array(get(h2, "settings")) ? get(h2, "settings")->child : NULL; e && !m.failed; e = e->next, i++) {
      setting(&m, jv_at(e, 0), jv_at(e, 1), "http2.settings", i);
    }
    const jv *wu = get(h2, "window_update_increment");
    if (wu && wu->type == JV_INTEGER)
      p->h2.window_update = (uint32_t)int_field(&m, wu, "http2.window_update_increment", 0, U32_MAX, 0);
    i = 0;
    for (e = is_array(get(h2, "priority_frames")) ? get(h2, "priority_frames")->child : NULL; e && !m.failed;
         e = e->next, i++)
      add_priority_frame(&m, int_field(&m, get(e, "stream_id"), "http2.priority_frames.stream_id", 0, STREAM_MAX, 1),
                         int_field(&m, get(e, "weight"), "http2.priority_frames.weight", 0, 0xffff, 16),
                         bool_field(&m, get(e, "exclusive"), "http2.priority_frames.exclusive", 0),
                         int_field(&m, get(e, "depends_on"), "http2.priority_frames.depends_on", 0, STREAM_MAX, 0));
    const jv *hp = get(h2, "headers_priority");
    if (is_object(hp) && is_true(get(hp, "priority_flag"))) {
      const jv *w = get(hp, "weight");
      if (w && w->type == JV_NULL) {
        /* A weight of null means the capture did not record it: nothing is
         * invented, the profile says so in its description instead. */
        size_t n = strlen(desc);
        snprintf(desc + n, sizeof(desc) - n, "; HEADERS priority not recorded by the capture, not sent");
      } else if (w == NULL) {
        fail(&m, "http2.headers_priority.weight: missing");
      } else {
        set_headers_priority(&m, int_field(&m, w, "http2.headers_priority.weight", 0, 0xffff, 16),
                             bool_field(&m, get(hp, "exclusive"), "http2.headers_priority.exclusive", 0),
                             int_field(&m, get(hp, "stream_dependency"), "http2.headers_priority.stream_dependency",
                                       0, STREAM_MAX, 0));
      }
    }
    const jv *sid = get(h2, "headers_stream_id");
    if (sid && sid->type == JV_INTEGER)
      p->h2.first_stream_id = (uint32_t)int_field(&m, sid, "http2.headers_stream_id", 0, STREAM_MAX, 1);
    const jv *po = get(h2, "pseudo_header_order");
    if (po && !is_array(po)) {
      fail(&m, "http2.pseudo_header_order: expected an array");
    } else if (po) {
      char letters[4];
      size_t n = 0;
      for (e = is_array(po) ? po->child : NULL; e && !m.failed; e = e->next) {
        const char *ps = str_of(e);
        pseudo_add(&m, letters, &n, ps ? ps : "", ps ? strlen(ps) : 0);
      }
      pseudo_done(&m, letters, n);
    }
  }
  set_text(&m, p->description, sizeof(p->description), desc, "description");

  static const struct { const char *from; int h1; } lists[] = {{"http_headers_h2_navigation", 0},
                                                               {"http_headers_h1_navigation", 1}};
  for (size_t k = 0; k < 2 && !m.failed; k++) {
    const jv *l = get(b, lists[k].from);
    if (!is_array(l)) continue;
    if (lists[k].h1 && l->child == NULL) fail(&m, "%s: empty", lists[k].from);
    size_t i = 0;
    for (const jv *e = l->child; e && !m.failed; e = e->next, i++) {
      const char *hn = str_of(get(e, "name")), *hv = str_of(get(e, "value"));
      if (hn == NULL || hv == NULL) fail(&m, "%s[%zu]: expected {\"name\": ..., \"value\": ...}", lists[k].from, i);
      else if (lists[k].h1) add_header(&m, p->nav_h1, &p->n_nav_h1, hn, strlen(hn), hv, lists[k].from);
      else add_header(&m, p->nav_h2, &p->n_nav_h2, hn, strlen(hn), hv, lists[k].from);
    }
  }

  const jv *fp = get(b, "fingerprints_computed");
  if (is_object(fp)) {
    set_text_of(&m, p->expected.ja4, sizeof(p->expected.ja4), get(fp, "ja4"), "fingerprints_computed.ja4");
    /* JA3 keeps the wire order: for a browser that permutes its extensions
     * the captured one is a single random sample, not something to expect. */
    if (!s->permute_extensions)
      set_text_of(&m, p->expected.ja3, sizeof(p->expected.ja3), get(fp, "ja3_text"), "fingerprints_computed.ja3_text");
    set_text_of(&m, p->expected.ja3n, sizeof(p->expected.ja3n), get(fp, "ja3n_text"), "fingerprints_computed.ja3n_text");
    set_text_of(&m, p->expected.akamai, sizeof(p->expected.akamai), get(fp, "akamai_text"),
                "fingerprints_computed.akamai_text");
    set_text_of(&m, p->expected.peetprint, sizeof(p->expected.peetprint), get(fp, "peetprint"),
                "fingerprints_computed.peetprint");
    set_text(&m, p->expected.source, sizeof(p->expected.source),
             "browsers.json fingerprints_computed (from the real capture's fields)", "expected.source");
  }
  return imp_end(&m);
}

/* ---- from a guise echo log line ------------------------------------------------------ */

static const jv *ext_by(const jv *exts, const char *key, long long id) {
  for (const jv *e = is_array(exts) ? exts->child : NULL; e; e = e->next) {
    const jv *t = get(e, key);
    if (t && t->type == JV_INTEGER && t->num_ok && t->num == id) return e;
  }
  return NULL;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* An extension the TLS library does not write, sent with the body |hex|. */
static void add_raw(imp *m, uint16_t type, const char *hex, const char *field) {
  tls_shape *s = &m->p->tls;
  size_t n = hex ? strlen(hex) : 0;
  if (hex == NULL || n % 2 || n / 2 > TLS_SHAPE_MAX_RAW_BODY) {
    fail(m, "%s: the body is not an even number of hex digits, at most %d bytes", field, TLS_SHAPE_MAX_RAW_BODY);
    return;
  }
  if (s->n_raw == TLS_SHAPE_MAX_RAW) {
    fail(m, "%s: more than %d extensions the TLS library does not implement", field, TLS_SHAPE_MAX_RAW);
    return;
  }
  tls_shape_raw_ext *r = &s->raw[s->n_raw];
  for (size_t k = 0; k < n / 2; k++) {
    int a = hexval(hex[2 * k]), b = hexval(hex[2 * k + 1]);
    if (a < 0 || b < 0) {
      fail(m, "%s: the body is not hex", field);
      return;
    }
    r->body[k] = (uint8_t)(a << 4 | b);
  }
  r->type = type;
  r->len = (uint16_t)(n / 2);
  s->n_raw++;
}

/* The TLS part of an echo record's ClientHello (the echo's own form: types as
 * numbers, code points as four hex digits). */
static void echo_tls(imp *m, const jv *hello, int permute) {
  tls_shape *s = &m->p->tls;
  const jv *exts = get(hello, "extensions"), *e;
  if ((e = ext_by(exts, "type", 43)))
    codes_hex(m, get(e, "values"), NAME_VERSION, s->versions, &s->n_versions, TLS_SHAPE_MAX_VERSIONS,
              "supported_versions");
  codes_hex(m, get(hello, "cipher_suites"), NAME_CIPHER, s->ciphers, &s->n_ciphers, TLS_SHAPE_MAX_CIPHERS,
            "cipher_suites");
  SSL_CTX *scratch = SSL_CTX_new(TLS_method()); /* asks which types the library writes */
  size_t i = 0;
  for (e = is_array(exts) ? exts->child : NULL; e && !m->failed; e = e->next, i++) {
    uint16_t type;
    if (!hex4(str_of(get(e, "hex")), &type)) {
      fail(m, "extensions[%zu].hex: expected four hex digits", i);
      break;
    }
    type = grease(NAME_EXTENSION, type);
    add_code(m, s->extensions, &s->n_extensions, TLS_SHAPE_MAX_EXTENSIONS, type, "extensions");
    if (type != 0x0a0a && (name_of_value(NAME_EXTENSION, type) == NULL ||
                           (scratch && !tls_shape_ext_implemented(scratch, type))))
      add_raw(m, type, str_of(get(e, "data")), "extensions.data");
  }
  SSL_CTX_free(scratch);
  if (!m->failed && s->n_extensions == 0) fail(m, "extensions: empty");
  s->permute_extensions = permute;
  if ((e = ext_by(exts, "type", 10)))
    codes_hex(m, get(e, "values"), NAME_GROUP, s->groups, &s->n_groups, TLS_SHAPE_MAX_GROUPS, "supported_groups");
  if ((e = ext_by(exts, "type", 51))) {
    size_t k = 0;
    for (const jv *ks = is_array(get(e, "key_shares")) ? get(e, "key_shares")->child : NULL; ks && !m->failed;
         ks = ks->next, k++) {
      uint16_t g;
      if (!hex4(str_of(get(ks, "group")), &g)) fail(m, "key_shares[%zu].group: expected four hex digits", k);
      else add_code(m, s->key_shares, &s->n_key_shares, TLS_SHAPE_MAX_KEY_SHARES, grease(NAME_GROUP, g), "key_shares");
    }
    if (!m->failed && s->n_key_shares == 0) fail(m, "key_shares: empty");
  }
  if ((e = ext_by(exts, "type", 13)))
    codes_hex(m, get(e, "values"), NAME_SIGALG, s->sigalgs, &s->n_sigalgs, TLS_SHAPE_MAX_SIGALGS,
              "signature_algorithms");
  if ((e = ext_by(exts, "type", 34)))
    codes_hex(m, get(e, "values"), NAME_SIGALG, s->dc_sigalgs, &s->n_dc_sigalgs, TLS_SHAPE_MAX_SIGALGS,
              "delegated_credentials");
  if ((e = ext_by(exts, "type", 16))) protocol_list(m, get(e, "protocols"), s->alpn, &s->n_alpn, "alpn");
  const jv *alps = ext_by(exts, "type", 17613);
  s->alps_codepoint = 17613;
  if (!alps) {
    alps = ext_by(exts, "type", 17513);
    s->alps_codepoint = 17513;
  }
  if (alps) protocol_list(m, get(alps, "protocols"), s->alps, &s->n_alps, "application_settings.protocols");
  if ((e = ext_by(exts, "type", 27)))
    codes_hex(m, get(e, "values"), NAME_CERTCOMP, s->certcomp, &s->n_certcomp, TLS_SHAPE_MAX_CERTCOMP,
              "compress_certificate");
  if ((e = ext_by(exts, "type", 28)))
    s->record_size_limit = (uint16_t)int_field(m, get(e, "record_size_limit"), "record_size_limit", 0, 0xffff, 0);
  s->ech_grease = ext_by(exts, "type", 0xfe0d) != NULL;
  s->status_request = ext_by(exts, "type", 5) != NULL;
  s->sct = ext_by(exts, "type", 18) != NULL;
  s->session_ticket = ext_by(exts, "type", 35) != NULL;
}

/* The HTTP/2 part of an echo record: the client's first SETTINGS (not an ACK),
 * WINDOW_UPDATE, PRIORITY frames, the first HEADERS and its fields. */
static void echo_http2(imp *m, const jv *h2) {
  profile *p = m->p;
  int seen_settings = 0;
  for (const jv *f = is_array(get(h2, "frames")) ? get(h2, "frames")->child : NULL; f && !m->failed; f = f->next) {
    const char *type = str_of(get(f, "type"));
    long long flags = 0;
    if (!type) continue;
    if (!strcmp(type, "SETTINGS") && !seen_settings && !(int_in(get(f, "flags"), 0, 255, &flags) && (flags & 1))) {
      seen_settings = 1;
      size_t k = 0;
      for (const jv *s = is_array(get(f, "settings")) ? get(f, "settings")->child : NULL; s && !m->failed;
           s = s->next, k++) {
        setting(m, get(s, "id"), get(s, "value"), "http2 SETTINGS", k);
      }
    } else if (!strcmp(type, "WINDOW_UPDATE") && stream0(get(f, "stream"))) {
      p->h2.window_update = (uint32_t)int_field(m, get(f, "increment"), "http2 WINDOW_UPDATE increment", 0, U32_MAX, 0);
    } else if (!strcmp(type, "PRIORITY")) {
      const jv *pr = get(f, "priority");
      add_priority_frame(m, int_field(m, get(f, "stream"), "http2 PRIORITY stream", 0, STREAM_MAX, 1),
                         int_field(m, get(pr, "weight"), "http2 PRIORITY weight", 0, 0xffff, 16),
                         bool_field(m, get(pr, "exclusive"), "http2 PRIORITY exclusive", 0),
                         int_field(m, get(pr, "depends_on"), "http2 PRIORITY depends_on", 0, STREAM_MAX, 0));
    } else if (!strcmp(type, "HEADERS")) {
      p->h2.first_stream_id = (uint32_t)int_field(m, get(f, "stream"), "http2 HEADERS stream", 0, STREAM_MAX, 1);
      const jv *pr = get(f, "priority");
      if (is_object(pr))
        set_headers_priority(m, int_field(m, get(pr, "weight"), "http2 HEADERS weight", 0, 0xffff, 16),
                             bool_field(m, get(pr, "exclusive"), "http2 HEADERS exclusive", 0),
                             int_field(m, get(pr, "depends_on"), "http2 HEADERS depends_on", 0, STREAM_MAX, 0));
      break;
    }
  }
  char order[4];
  size_t n = 0, i = 0;
  for (const jv *h = is_array(get(h2, "headers")) ? get(h2, "headers")->child : NULL; h && !m->failed;
       h = h->next, i++) {
    const char *hn = str_of(jv_at(h, 0)), *hv = str_of(jv_at(h, 1));
    if (!is_array(h) || h->len != 2 || hn == NULL || hv == NULL) fail(m, "http2.headers[%zu]: expected [name, value]", i);
    else if (hn[0] == ':') pseudo_add(m, order, &n, hn, strlen(hn));
    else add_header(m, p->nav_h2, &p->n_nav_h2, hn, strlen(hn), hv, "http2.headers");
  }
  pseudo_done(m, order, n);
}

/* An echo record's ClientHello (|tls|: its "tls" member) and, when |h2| is not
 * NULL, its HTTP/2 preface and request. */
static void from_echo(imp *m, const jv *tls, const jv *h2, const char *description, int permute) {
  profile *p = m->p;
  set_text(m, p->description, sizeof(p->description), description, "description");
  set_text(m, p->source, sizeof(p->source), "guise echo log of a real visit (tools/profiles/capture-debian)", "source");
  echo_tls(m, get(tls, "client_hello"), permute);
  if (h2) echo_http2(m, h2);
  const jv *fps = get(tls, "fingerprints");
  set_text_of(m, p->expected.ja4, sizeof(p->expected.ja4), get(fps, "ja4"), "fingerprints.ja4");
  if (!permute) set_text_of(m, p->expected.ja3, sizeof(p->expected.ja3), get(fps, "ja3"), "fingerprints.ja3");
  set_text_of(m, p->expected.ja3n, sizeof(p->expected.ja3n), get(fps, "ja3n"), "fingerprints.ja3n");
  set_text_of(m, p->expected.peetprint, sizeof(p->expected.peetprint), get(fps, "peetprint"), "fingerprints.peetprint");
  if (h2) set_text_of(m, p->expected.akamai, sizeof(p->expected.akamai), get(h2, "akamai"), "http2.akamai");
  set_text(m, p->expected.source, sizeof(p->expected.source), "the same visit, as guise echo observed it",
           "expected.source");
}

int profile_from_echo(const jv *rec, const char *name, const char *description, int permute,
                      profile *out, char *err, size_t errlen) {
  imp m;
  imp_start(&m, out, "echo record", name, err, errlen);
  const jv *tls = get(rec, "tls"), *h2 = get(rec, "http2");
  if (!is_object(get(tls, "client_hello")) || !is_object(h2) || get(h2, "error")) {
    m.what = NULL;
    fail(&m, "the record has no decoded ClientHello and HTTP/2 preface");
    return imp_end(&m);
  }
  from_echo(&m, tls, h2, description, permute);
  return imp_end(&m);
}

/* ---- from a tls.browserleaks.com JSON dump ------------------------------------------ */

int profile_from_browserleaks(const jv *d, const char *name, int permute, profile *out, char *err,
                              size_t errlen) {
  imp m;
  imp_start(&m, out, "tls.browserleaks.com dump", name, err, errlen);
  const jv *tls = get(d, "tls"), *exts = get(tls, "extensions"), *frames = get(d, "http2");
  if (!is_array(exts) || !is_array(frames)) {
    m.what = NULL;
    fail(&m, "not a browserleaks dump with tls.extensions and http2 frames");
    return imp_end(&m);
  }
  profile *p = out;
  tls_shape *s = &p->tls;
  const char *ua = str_of(get(d, "user_agent"));
  char desc[512];
  snprintf(desc, sizeof(desc), "%s (tls.browserleaks.com dump)", ua ? ua : "(null)");
  set_text(&m, p->description, sizeof(p->description), desc, "description");
  set_text(&m, p->source, sizeof(p->source), "a tls.browserleaks.com JSON dump of the real browser", "source");
  codes_id(&m, exts, NAME_EXTENSION, s->extensions, &s->n_extensions, TLS_SHAPE_MAX_EXTENSIONS, "tls.extensions");
#define DATA(id) get(ext_by(exts, "id", id), "data")
  codes_id(&m, get(DATA(43), "versions"), NAME_VERSION, s->versions, &s->n_versions, TLS_SHAPE_MAX_VERSIONS,
           "supported_versions");
  codes_id(&m, get(tls, "cipher_suites"), NAME_CIPHER, s->ciphers, &s->n_ciphers, TLS_SHAPE_MAX_CIPHERS,
           "tls.cipher_suites");
  s->permute_extensions = permute;
  codes_id(&m, get(DATA(10), "named_group_list"), NAME_GROUP, s->groups, &s->n_groups, TLS_SHAPE_MAX_GROUPS,
           "supported_groups");
  size_t i = 0;
  for (const jv *k = is_array(get(DATA(51), "client_shares")) ? get(DATA(51), "client_shares")->child : NULL;
       k && !m.failed; k = k->next, i++) {
    long long g;
    if (!int_in(get2(k, "group", "id"), 0, 0xffff, &g)) fail(&m, "client_shares[%zu]: expected a group id", i);
    else add_code(&m, s->key_shares, &s->n_key_shares, TLS_SHAPE_MAX_KEY_SHARES, grease(NAME_GROUP, (uint16_t)g),
                  "key_share");
  }
  if (!m.failed && s->n_key_shares == 0) fail(&m, "key_share: missing or empty");
  codes_id(&m, get(DATA(13), "supported_signature_algorithms"), NAME_SIGALG, s->sigalgs, &s->n_sigalgs,
           TLS_SHAPE_MAX_SIGALGS, "signature_algorithms");
  if (get(DATA(16), "protocol_name_list"))
    protocol_list(&m, get(DATA(16), "protocol_name_list"), s->alpn, &s->n_alpn, "application_layer_protocol_negotiation");
  uint16_t cp = DATA(17613) ? 17613 : DATA(17513) ? 17513 : 0;
  if (cp) {
    s->alps_codepoint = cp;
    protocol_list(&m, get(DATA(cp), "supported_protocols"), s->alps, &s->n_alps, "application_settings");
  }
  if (DATA(27))
    codes_id(&m, get(DATA(27), "algorithms"), NAME_CERTCOMP, s->certcomp, &s->n_certcomp, TLS_SHAPE_MAX_CERTCOMP,
             "compress_certificate");
#undef DATA
  s->ech_grease = ext_by(exts, "id", 0xfe0d) != NULL;
  s->status_request = ext_by(exts, "id", 5) != NULL;
  s->sct = ext_by(exts, "id", 18) != NULL;
  s->session_ticket = ext_by(exts, "id", 35) != NULL;

  char order[4];
  size_t n = 0;
  for (const jv *f = frames->child; f && !m.failed; f = f->next) {
    const char *type = str_of(get(f, "name"));
    if (!type) continue;
    if (!strcmp(type, "SETTINGS")) {
      i = 0;
      for (const jv *st = is_array(get(f, "settings")) ? get(f, "settings")->child : NULL; st && !m.failed;
           st = st->next, i++) {
        setting(&m, get(st, "id"), get(st, "value"), "http2 SETTINGS", i);
      }
    } else if (!strcmp(type, "WINDOW_UPDATE") && stream0(get(f, "stream_id"))) {
      p->h2.window_update = (uint32_t)int_field(&m, get(f, "window_size_increment"), "http2 WINDOW_UPDATE", 0, U32_MAX, 0);
    } else if (!strcmp(type, "HEADERS")) {
      p->h2.first_stream_id = (uint32_t)int_field(&m, get(f, "stream_id"), "http2 HEADERS stream_id", 0, STREAM_MAX, 1);
      const jv *pr = get(f, "priority");
      if (is_object(pr)) {
        /* The dump's weight is the wire byte + 1 kept in 8 bits: 0 stands for
         * 256 (Chrome's weight). */
        long long w = int_field(&m, get(pr, "weight"), "http2 HEADERS weight", 0, 0xffff, 0);
        long long x = 0;
        set_headers_priority(&m, w == 0 ? 256 : w, int_in(get(pr, "exclusive"), 1, 1, &x),
                             int_field(&m, get(pr, "stream_dependency"), "http2 HEADERS stream_dependency", 0,
                                       STREAM_MAX, 0));
      }
      i = 0;
      for (const jv *h = is_object(get(f, "headers")) ? get(f, "headers")->child : NULL; h && !m.failed;
           h = h->next, i++) {
        const char *hv = str_of(h);
        if (strlen(h->key) != h->key_len || hv == NULL) fail(&m, "http2 HEADERS headers[%zu]: expected \"name\": \"value\"", i);
        else if (h->key[0] == ':') pseudo_add(&m, order, &n, h->key, h->key_len);
        else add_header(&m, p->nav_h2, &p->n_nav_h2, h->key, h->key_len, hv, "http2 HEADERS headers");
      }
      break;
    }
  }
  pseudo_done(&m, order, n);
  static const struct { const char *from; size_t off, cap; } fps[] = {
      {"ja4", offsetof(profile, expected.ja4), sizeof(out->expected.ja4)},
      {"ja3n_text", offsetof(profile, expected.ja3n), sizeof(out->expected.ja3n)},
      {"akamai_text", offsetof(profile, expected.akamai), sizeof(out->expected.akamai)},
      {"ja3_text", offsetof(profile, expected.ja3), sizeof(out->expected.ja3)},
  };
  for (size_t k = 0; k < sizeof(fps) / sizeof(fps[0]); k++) {
    if (permute && !strcmp(fps[k].from, "ja3_text")) continue; /* one random order */
    set_text_of(&m, (char *)p + fps[k].off, fps[k].cap, get(d, fps[k].from), fps[k].from);
  }
  set_text(&m, p->expected.source, sizeof(p->expected.source), "the dump's own fingerprints (tls.browserleaks.com)",
           "expected.source");
  return imp_end(&m);
}

/* ---- from JA3 and Akamai strings ------------------------------------------------------- */

/* Splits |s| at |sep| into at most |cap| fields of |buf| (a copy). */
static size_t split(char *buf, char sep, char **out, size_t cap) {
  size_t n = 0;
  char *p = buf;
  while (n < cap) {
    out[n++] = p;
    char *q = strchr(p, sep);
    if (q == NULL) break;
    *q = '\0';
    p = q + 1;
  }
  return n;
}

/* A '-'-separated list of decimal code points; -1 on a bad number, -2 past |cap|. */
static int dec_codes(const char *field, name_kind kind, uint16_t *list, size_t *n, size_t cap) {
  if (*field == '\0') return 0;
  char buf[2048];
  snprintf(buf, sizeof(buf), "%s", field);
  char *parts[256];
  size_t np = split(buf, '-', parts, 256);
  for (size_t i = 0; i < np; i++) {
    char *end;
    unsigned long v = strtoul(parts[i], &end, 10);
    if (*parts[i] < '0' || *parts[i] > '9' || *end || v > 0xffff) return -1;
    if (*n == cap) return -2;
    list[(*n)++] = grease(kind, (uint16_t)v);
  }
  return 0;
}

/* The profile's HTTP/2 shape for an Akamai HTTP/2 string
 * (SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo-headers). */
static void http2_from_akamai(imp *m, const char *akamai) {
  const char *was = m->what;
  m->what = "Akamai";
  char buf[4096];
  char *a[4];
  if (strlen(akamai) >= sizeof(buf)) {
    fail(m, "longer than %zu bytes", sizeof(buf) - 1);
    return;
  }
  snprintf(buf, sizeof(buf), "%s", akamai);
  if (split(buf, '|', a, 4) != 4 || strchr(a[3], '|') != NULL) {
    fail(m, "expected four |-separated fields (SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo-headers)");
    return;
  }
  h2_shape *h = &m->p->h2;
  h2_shape_init(h);
  char *s[32];
  size_t ns = *a[0] ? split(a[0], ';', s, 32) : 0;
  for (size_t i = 0; i < ns && !m->failed; i++) {
    unsigned long id, v;
    int used = 0;
    if (s[i][0] < '0' || s[i][0] > '9' || sscanf(s[i], "%lu:%lu%n", &id, &v, &used) != 2 || s[i][used] != '\0' ||
        id > 0xffff || v > 0xffffffffUL)
      fail(m, "setting \"%s\" is not id:value", s[i]);
    else
      add_setting(m, (long long)id, (long long)v, "SETTINGS");
  }
  if (m->failed) return;
  char *end;
  unsigned long wu = strtoul(a[1], &end, 10);
  if (*a[1] < '0' || *a[1] > '9' || *end || wu > 0x7fffffffUL) {
    fail(m, "WINDOW_UPDATE is not a number 0..2^31-1");
    return;
  }
  h->window_update = (uint32_t)wu; /* "00": none */
  if (strcmp(a[2], "0") != 0) {
    char *fr[16];
    size_t nf = split(a[2], ',', fr, 16);
    for (size_t i = 0; i < nf && !m->failed; i++) {
      unsigned long st, ex, dep, w;
      int used = 0;
      if (fr[i][0] < '0' || fr[i][0] > '9' || sscanf(fr[i], "%lu:%lu:%lu:%lu%n", &st, &ex, &dep, &w, &used) != 4 ||
          fr[i][used] != '\0' || st == 0 || st > 0x7fffffffUL || ex > 1 || dep > 0x7fffffffUL || w < 1 || w > 256)
        fail(m, "a PRIORITY frame is not stream:exclusive:depends_on:weight");
      else
        add_priority_frame(m, (long long)st, (long long)w, ex != 0, (long long)dep);
    }
  }
  char *ps[5];
  size_t np = split(a[3], ',', ps, 5);
  char order[4];
  size_t n = 0;
  for (size_t i = 0; i < np && !m->failed; i++) {
    char c = !strcmp(ps[i], "m") ? 'm' : !strcmp(ps[i], "a") ? 'a' : !strcmp(ps[i], "s") ? 's' : !strcmp(ps[i], "p") ? 'p' : 0;
    if (c == 0 || np != 4 || memchr(order, c, n)) fail(m, "the pseudo-headers are not the four letters m, a, s, p in some order");
    else order[n++] = c;
  }
  if (!m->failed) {
    memcpy(h->pseudo_order, order, 4);
    h->pseudo_order[4] = '\0';
  }
  m->what = was;
}

/* A JSON array of names (--sigalgs, --key-shares) into |list|. */
static void option_codes(imp *m, const char *text, const char *flag, name_kind kind, uint16_t *list, size_t *n,
                         size_t cap) {
  jv_doc doc;
  const char *why;
  size_t at;
  if (jv_parse(text, strlen(text), &doc, &why, &at) != 0) {
    int line, col;
    jread_line_col(text, strlen(text), at, &line, &col);
    fail(m, "%s: not a JSON array of names (%d:%d: %s)", flag, line, col, why);
    return;
  }
  if (!is_array(doc.root)) fail(m, "%s: not a JSON array of names (another JSON value)", flag);
  size_t i = 0;
  for (const jv *v = is_array(doc.root) ? doc.root->child : NULL; v && !m->failed; v = v->next, i++) {
    const char *s = str_of(v);
    uint16_t c;
    if (s == NULL) fail(m, "%s[%zu]: expected a name (a string)", flag, i);
    else if (name_to_value(kind, s, &c) != 0)
      fail(m, "%s[%zu]: unknown name \"%s\" (use the IANA name, or \"0x\" and four hex digits)", flag, i, s);
    else add_code(m, list, n, cap, c, flag);
  }
  if (!m->failed && *n == 0) fail(m, "%s: empty (leave the option out for the library's default)", flag);
  jv_free(&doc);
}

static void option_protocols(imp *m, const char *text, const char *flag, char (*list)[TLS_SHAPE_MAX_PROTO],
                             size_t *n) {
  jv_doc doc;
  const char *why;
  size_t at;
  if (jv_parse(text, strlen(text), &doc, &why, &at) != 0) {
    int line, col;
    jread_line_col(text, strlen(text), at, &line, &col);
    fail(m, "%s: not a JSON array of names (%d:%d: %s)", flag, line, col, why);
    return;
  }
  if (!is_array(doc.root)) fail(m, "%s: not a JSON array of names (another JSON value)", flag);
  else protocol_list(m, doc.root, list, n, flag);
  jv_free(&doc);
}

int profile_from_strings(const char *ja3, const char *akamai, const char *name,
                         const profile_string_options *opt, profile *out, char *err, size_t errlen) {
  imp m;
  imp_start(&m, out, NULL, name, err, errlen);
  char buf[4096];
  if (strlen(ja3) >= sizeof(buf) || strlen(akamai) >= sizeof(buf)) {
    fail(&m, "%s: longer than %zu bytes", strlen(ja3) >= sizeof(buf) ? "JA3" : "Akamai", sizeof(buf) - 1);
    return imp_end(&m);
  }
  snprintf(buf, sizeof(buf), "%s", ja3);
  char *f[5];
  if (split(buf, ',', f, 5) != 5 || strchr(f[4], ',') != NULL) {
    fail(&m, "JA3: expected five comma-separated fields (version,ciphers,extensions,groups,formats)");
    return imp_end(&m);
  }
  profile *p = out;
  tls_shape *s = &p->tls;
  set_text(&m, p->description, sizeof(p->description), "made from a JA3 and an Akamai string", "description");
  set_text(&m, p->source, sizeof(p->source),
           "JA3 and Akamai strings; what they do not carry is the library's default unless given", "source");
  if (opt->grease) {
    s->ciphers[s->n_ciphers++] = 0x0a0a;
    s->extensions[s->n_extensions++] = 0x0a0a;
    s->groups[s->n_groups++] = 0x0a0a;
  }
  int r = 0;
  if ((r = dec_codes(f[1], NAME_CIPHER, s->ciphers, &s->n_ciphers, TLS_SHAPE_MAX_CIPHERS)) == 0 &&
      (r = dec_codes(f[2], NAME_EXTENSION, s->extensions, &s->n_extensions,
                     TLS_SHAPE_MAX_EXTENSIONS - (opt->grease ? 1 : 0))) == 0)
    r = dec_codes(f[3], NAME_GROUP, s->groups, &s->n_groups, TLS_SHAPE_MAX_GROUPS);
  if (r != 0) {
    fail(&m, r == -1 ? "JA3: a field of ciphers, extensions or groups is not a list of numbers 0..65535"
                     : "JA3: more ciphers, extensions or groups than a profile holds");
    return imp_end(&m);
  }
  if (opt->grease) s->extensions[s->n_extensions++] = 0x0a0a;
  if (opt->grease) s->versions[s->n_versions++] = 0x0a0a;
  s->versions[s->n_versions++] = 0x0304;
  s->versions[s->n_versions++] = 0x0303;
  s->permute_extensions = opt->permute;
  if (opt->key_shares)
    option_codes(&m, opt->key_shares, "--key-shares", NAME_GROUP, s->key_shares, &s->n_key_shares,
                 TLS_SHAPE_MAX_KEY_SHARES);
  if (opt->sigalgs)
    option_codes(&m, opt->sigalgs, "--sigalgs", NAME_SIGALG, s->sigalgs, &s->n_sigalgs, TLS_SHAPE_MAX_SIGALGS);
  if (opt->alpn) option_protocols(&m, opt->alpn, "--alpn", s->alpn, &s->n_alpn);
  if (m.failed) return imp_end(&m);
  /* The contents of listed extensions that JA3 does not carry: the values of
   * the current browsers (docs/CLI.md lists them). */
  for (size_t i = 0; i < s->n_extensions; i++) {
    switch (s->extensions[i]) {
      case 5: s->status_request = 1; break;
      case 18: s->sct = 1; break;
      case 28: s->record_size_limit = 16385; break; /* Firefox */
      case 65037: s->ech_grease = 1; break;
      case 16:
        if (!opt->alpn) {
          memcpy(s->alpn[0], "h2", 3);
          memcpy(s->alpn[1], "http/1.1", 9);
          s->n_alpn = 2;
        }
        break;
      case 27: { /* Chrome sends brotli alone, Firefox zlib, brotli, zstd */
        static const uint16_t chrome[] = {2}, firefox[] = {1, 2, 3};
        const uint16_t *l = opt->grease ? chrome : firefox;
        s->n_certcomp = opt->grease ? 1 : 3;
        memcpy(s->certcomp, l, s->n_certcomp * sizeof(l[0]));
        break;
      }
      case 34: { /* Firefox's delegated_credentials list */
        static const uint16_t dc[] = {0x0403, 0x0503, 0x0603, 0x0203};
        memcpy(s->dc_sigalgs, dc, sizeof(dc));
        s->n_dc_sigalgs = 4;
        break;
      }
      case 17513:
      case 17613:
        s->alps_codepoint = s->extensions[i];
        memcpy(s->alps[0], "h2", 3);
        s->n_alps = 1;
        break;
      default: break;
    }
  }
  http2_from_akamai(&m, akamai);
  if (!opt->permute) set_text(&m, p->expected.ja3, sizeof(p->expected.ja3), ja3, "JA3");
  set_text(&m, p->expected.akamai, sizeof(p->expected.akamai), akamai, "Akamai");
  set_text(&m, p->expected.source, sizeof(p->expected.source), "the JA3 and Akamai strings given", "expected.source");
  return imp_end(&m);
}

/* ---- from a capture (pcap, pcapng or hex dump, read by guise fp) -------------------- */

int profile_from_capture(const jv *tls_rec, const jv *h2_rec, const char *akamai, const char *name,
                         const char *source, int permute, profile *out, char *err, size_t errlen) {
  imp m;
  imp_start(&m, out, NULL, name, err, errlen);
  if (h2_rec == NULL && akamai == NULL) {
    fail(&m, "no HTTP/2 preface in the capture (TLS hides it): give the browser's Akamai string (--akamai)");
    return imp_end(&m);
  }
  const jv *tls = get(tls_rec, "tls"), *h2 = h2_rec ? get(h2_rec, "http2") : NULL;
  if (!is_object(get(tls, "client_hello")) || (h2_rec && (!is_object(h2) || get(h2, "error")))) {
    fail(&m, "the record has no decoded ClientHello and HTTP/2 preface");
    return imp_end(&m);
  }
  m.what = "capture";
  from_echo(&m, tls, h2, name, permute);
  m.what = NULL;
  profile *p = out;
  set_text(&m, p->source, sizeof(p->source), source, "source");
  if (h2_rec == NULL) {
    http2_from_akamai(&m, akamai); /* the request headers were encrypted: none */
    set_text(&m, p->expected.akamai, sizeof(p->expected.akamai), akamai, "Akamai");
    set_text(&m, p->expected.source, sizeof(p->expected.source),
             "the capture's ClientHello, as guise fp read it; the Akamai string given", "expected.source");
  } else {
    set_text(&m, p->expected.source, sizeof(p->expected.source), "the capture's flights, as guise fp read them",
             "expected.source");
  }
  return imp_end(&m);
}

/* ---- from a tls.peet.ws /api/all JSON dump ------------------------------------------ */

/* The code point in the last "(...)" of |s| ("X25519 (29)", "TLS_GREASE (0x9a9a)"). */
static int paren_num(const char *s, unsigned *out) {
  const char *open = s ? strrchr(s, '(') : NULL;
  if (open == NULL) return -1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(open + 1, &end, 0);
  if (end == open + 1 || *end != ')' || end[1] != '\0' || v > 0xffff || errno) return -1;
  *out = (unsigned)v;
  return 0;
}

/* A "Name (N)" string as a code point of |kind| (GREASE for RFC 8701 values). */
static int peet_code(const char *s, name_kind kind, uint16_t *out) {
  unsigned v;
  if (s && strncmp(s, "TLS_GREASE", 10) == 0) {
    *out = 0x0a0a;
    return 0;
  }
  if (paren_num(s, &v) != 0) return -1;
  *out = grease(kind, (uint16_t)v);
  return 0;
}

static void peet_fail(imp *m, const char *what, const char *value) {
  fail(m, "%s \"%s\"", what, value ? value : "(missing)");
}

/* A list of "Name (N)" strings. */
static void peet_codes(imp *m, const jv *arr, name_kind kind, uint16_t *list, size_t *n, size_t cap,
                       const char *what) {
  *n = 0;
  for (const jv *v = is_array(arr) ? arr->child : NULL; v && !m->failed; v = v->next) {
    uint16_t c;
    if (peet_code(str_of(v), kind, &c) != 0) peet_fail(m, what, str_of(v));
    else add_code(m, list, n, cap, c, what);
  }
  if (!m->failed && *n == 0) fail(m, "no %s", what);
}

/* A list of IANA names checked against the tables. */
static void peet_iana(imp *m, const jv *arr, name_kind kind, uint16_t *list, size_t *n, size_t cap,
                      const char *what) {
  *n = 0;
  for (const jv *v = is_array(arr) ? arr->child : NULL; v && !m->failed; v = v->next) {
    const char *s = str_of(v);
    uint16_t c;
    if (s && strncmp(s, "TLS_GREASE", 10) == 0) add_code(m, list, n, cap, 0x0a0a, what);
    else if (s == NULL || name_to_value(kind, s, &c) != 0) peet_fail(m, what, s);
    else add_code(m, list, n, cap, c, what);
  }
  if (!m->failed && *n == 0) fail(m, "no %s", what);
}

static void peet_tls(imp *m, const jv *tls, int permute) {
  tls_shape *s = &m->p->tls;
  peet_iana(m, get(tls, "ciphers"), NAME_CIPHER, s->ciphers, &s->n_ciphers, TLS_SHAPE_MAX_CIPHERS, "cipher");
  SSL_CTX *scratch = SSL_CTX_new(TLS_method()); /* asks which types the library writes */
  for (const jv *e = is_array(get(tls, "extensions")) ? get(tls, "extensions")->child : NULL; e && !m->failed;
       e = e->next) {
    const char *en = str_of(get(e, "name"));
    unsigned type = 0;
    uint16_t code;
    int is_grease = en && strncmp(en, "TLS_GREASE", 10) == 0;
    if (peet_code(en, NAME_EXTENSION, &code) != 0 || (!is_grease && paren_num(en, &type) != 0)) {
      peet_fail(m, "extension", en);
      break;
    }
    add_code(m, s->extensions, &s->n_extensions, TLS_SHAPE_MAX_EXTENSIONS, code, "extension");
    if (is_grease) continue;
    switch (type) {
      case 10:
        peet_codes(m, get(e, "supported_groups"), NAME_GROUP, s->groups, &s->n_groups, TLS_SHAPE_MAX_GROUPS, "group");
        break;
      case 13:
        peet_iana(m, get(e, "signature_algorithms"), NAME_SIGALG, s->sigalgs, &s->n_sigalgs, TLS_SHAPE_MAX_SIGALGS,
                  "signature algorithm");
        break;
      case 16:
        if (get(e, "protocols")) protocol_list(m, get(e, "protocols"), s->alpn, &s->n_alpn, "alpn protocols");
        break;
      case 17513:
      case 17613:
        if (get(e, "protocols")) {
          s->alps_codepoint = (uint16_t)type;
          protocol_list(m, get(e, "protocols"), s->alps, &s->n_alps, "application_settings protocols");
        }
        break;
      case 27:
        peet_codes(m, get(e, "algorithms"), NAME_CERTCOMP, s->certcomp, &s->n_certcomp, TLS_SHAPE_MAX_CERTCOMP,
                   "certificate compression");
        break;
      case 43: /* a second supported_versions: the last one counts */
        s->n_versions = 0;
        for (const jv *v = is_array(get(e, "versions")) ? get(e, "versions")->child : NULL; v && !m->failed;
             v = v->next) {
          const char *vs = str_of(v);
          uint16_t c = !vs ? 0 : !strncmp(vs, "TLS_GREASE", 10) ? 0x0a0a : !strcmp(vs, "TLS 1.3") ? 0x0304
                       : !strcmp(vs, "TLS 1.2") ? 0x0303 : !strcmp(vs, "TLS 1.1") ? 0x0302
                       : !strcmp(vs, "TLS 1.0") ? 0x0301 : 0;
          if (c == 0) peet_fail(m, "version", vs);
          else add_code(m, s->versions, &s->n_versions, TLS_SHAPE_MAX_VERSIONS, c, "version");
        }
        if (!m->failed && s->n_versions == 0) fail(m, "no version");
        break;
      case 51:
        s->n_key_shares = 0;
        for (const jv *k = is_array(get(e, "shared_keys")) ? get(e, "shared_keys")->child : NULL; k && !m->failed;
             k = k->next) {
          /* {"X25519 (29)": "...the share..."} */
          const char *g = is_object(k) && k->len == 1 && strlen(k->child->key) == k->child->key_len ? k->child->key : NULL;
          uint16_t c;
          if (peet_code(g, NAME_GROUP, &c) != 0) peet_fail(m, "key share", g);
          else add_code(m, s->key_shares, &s->n_key_shares, TLS_SHAPE_MAX_KEY_SHARES, c, "key share");
        }
        if (!m->failed && s->n_key_shares == 0) fail(m, "no key share");
        break;
      case 5: s->status_request = 1; break;
      case 18: s->sct = 1; break;
      case 35: s->session_ticket = 1; break;
      case 65037: s->ech_grease = 1; break;
      default: {
        if (scratch == NULL || tls_shape_ext_implemented(scratch, (uint16_t)type)) break;
        /* Not implemented by the TLS library: sent as captured, when the dump has the body. */
        const char *data = str_of(get(e, "data"));
        if (data == NULL) peet_fail(m, "an extension the TLS library does not implement, without its data", en);
        else add_raw(m, code, data, "extension data");
      }
    }
  }
  SSL_CTX_free(scratch);
  if (!m->failed && s->n_extensions == 0) fail(m, "no extension");
  s->permute_extensions = permute;
}

static void peet_http2(imp *m, const jv *h2) {
  profile *p = m->p;
  char order[4];
  size_t n = 0;
  for (const jv *f = is_array(get(h2, "sent_frames")) ? get(h2, "sent_frames")->child : NULL; f && !m->failed;
       f = f->next) {
    const char *type = str_of(get(f, "frame_type"));
    if (type == NULL) continue;
    if (!strcmp(type, "SETTINGS") && p->h2.n_settings == 0) {
      for (const jv *s = is_array(get(f, "settings")) ? get(f, "settings")->child : NULL; s && !m->failed;
           s = s->next) {
        char sn[48];
        unsigned long long v;
        uint16_t id;
        const char *txt = str_of(s);
        if (!txt || sscanf(txt, "%47s = %llu", sn, &v) != 2 || v > 0xffffffffULL ||
            name_to_value(NAME_H2_SETTING, sn, &id) != 0)
          peet_fail(m, "setting", txt);
        else
          add_setting(m, id, (long long)v, "setting");
      }
    } else if (!strcmp(type, "WINDOW_UPDATE") && stream0(get(f, "stream_id"))) {
      p->h2.window_update = (uint32_t)int_field(m, get(f, "increment"), "WINDOW_UPDATE increment", 0, U32_MAX, 0);
    } else if (!strcmp(type, "PRIORITY")) {
      const jv *pr = get(f, "priority");
      add_priority_frame(m, int_field(m, get(f, "stream_id"), "PRIORITY stream_id", 0, STREAM_MAX, 1),
                         int_field(m, get(pr, "weight"), "PRIORITY weight", 0, 0xffff, 16),
                         nonzero_int(get(pr, "exclusive")),
                         int_field(m, get(pr, "depends_on"), "PRIORITY depends_on", 0, STREAM_MAX, 0));
    } else if (!strcmp(type, "HEADERS")) {
      p->h2.first_stream_id = (uint32_t)int_field(m, get(f, "stream_id"), "HEADERS stream_id", 0, STREAM_MAX, 1);
      const jv *pr = get(f, "priority");
      if (is_object(pr))
        set_headers_priority(m, int_field(m, get(pr, "weight"), "HEADERS weight", 0, 0xffff, 16),
                             nonzero_int(get(pr, "exclusive")),
                             int_field(m, get(pr, "depends_on"), "HEADERS depends_on", 0, STREAM_MAX, 0));
      for (const jv *h = is_array(get(f, "headers")) ? get(f, "headers")->child : NULL; h && !m->failed;
           h = h->next) {
        const char *line = str_of(h);
        /* "name: value"; a pseudo-header's name starts with ':'. */
        const char *sep = line ? strstr(line + (line[0] == ':'), ": ") : NULL;
        if (sep == NULL) peet_fail(m, "header", line);
        else if (line[0] == ':') pseudo_add(m, order, &n, line, (size_t)(sep - line));
        else add_header(m, p->nav_h2, &p->n_nav_h2, line, (size_t)(sep - line), sep + 2, "header");
      }
      break;
    }
  }
  pseudo_done(m, order, n);
}

int profile_from_peet(const jv *d, const char *name, int permute, profile *out, char *err, size_t errlen) {
  imp m;
  imp_start(&m, out, "tls.peet.ws dump", name, err, errlen);
  profile *p = out;
  const jv *tls = get(d, "tls"), *h2 = get(d, "http2");
  const char *ua = str_of(get(d, "user_agent"));
  set_text(&m, p->description, sizeof(p->description), ua ? ua : name, "user_agent");
  set_text(&m, p->source, sizeof(p->source), "a tls.peet.ws /api/all dump", "source");
  /* The dump names no session_ticket when the browser sent none: the format's
   * default then (the extension list decides what is sent). */
  p->tls.session_ticket = 1;
  peet_tls(&m, tls, permute);
  peet_http2(&m, h2);
  set_text_of(&m, p->expected.ja4, sizeof(p->expected.ja4), get(tls, "ja4"), "tls.ja4");
  if (!permute) set_text_of(&m, p->expected.ja3, sizeof(p->expected.ja3), get(tls, "ja3"), "tls.ja3"); /* one random order */
  set_text_of(&m, p->expected.peetprint, sizeof(p->expected.peetprint), get(tls, "peetprint"), "tls.peetprint");
  /* The dump separates SETTINGS with ',' where the Akamai format has ';'. */
  const char *ak = str_of(get(h2, "akamai_fingerprint"));
  if (ak) {
    set_text(&m, p->expected.akamai, sizeof(p->expected.akamai), ak, "http2.akamai_fingerprint");
    for (char *c = p->expected.akamai; *c && *c != '|'; c++)
      if (*c == ',') *c = ';';
  }
  set_text(&m, p->expected.source, sizeof(p->expected.source), "the dump's own fingerprints (tls.peet.ws)",
           "expected.source");
  return imp_end(&m);
}

/* ---- reading an input file ----------------------------------------------------------- */

int profile_import_read_file(const char *path, size_t max, jv_doc *doc, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s", strerror(errno));
    return -1;
  }
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
  int rd_err = ferror(f);
  fclose(f);
  if (buf == NULL || rd_err || n > max) {
    snprintf(err, errlen, "%s", buf == NULL ? "out of memory" : rd_err ? "read error" : "file too large");
    free(buf);
    return -1;
  }
  const char *why;
  size_t at;
  int r = jv_parse(buf, n, doc, &why, &at);
  if (r != 0) {
    int line, col;
    jread_line_col(buf, n, at, &line, &col);
    snprintf(err, errlen, "%d:%d: %s", line, col, why);
  }
  free(buf); /* the tree holds its own copies of the strings */
  return r;
}

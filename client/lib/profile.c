/* profile.c — the strict profile loader (see profile.h and profiles/FORMAT.md). */
#include "profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

#include "json_pos.h"
#include "json_read.h"
#include "names.h"

/* The loader's walk: where it is (for messages) and the text (to find it). */
typedef struct walk {
  const char *text;
  size_t len;
  const jv *root;
  const char *file;
  json_step path[8];
  size_t depth;
  char *err;
  size_t errlen;
  int failed;
  int unsupported; /* the failure is "this build cannot send it" */
} walk;

static void fail_at(walk *w, int at_key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail_at(walk *w, int at_key, const char *fmt, ...) {
  if (w->failed) return;
  w->failed = 1;
  int line = 0, col = 0;
  if (json_pos_find(w->root, w->text, w->len, w->path, w->depth, at_key, &line, &col) != 0) line = col = 0;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  /* The path, for the reader: tls.cipher_suites[3] */
  char path[256] = "";
  size_t n = 0;
  for (size_t i = 0; i < w->depth && n < sizeof(path) - 1; i++) {
    int k = w->path[i].key ? snprintf(path + n, sizeof(path) - n, "%s%s", i ? "." : "", w->path[i].key)
                           : snprintf(path + n, sizeof(path) - n, "[%zu]", w->path[i].index);
    if (k < 0) break;
    n += (size_t)k;
  }
  snprintf(w->err, w->errlen, "%s:%d:%d: %s%s%s", w->file, line, col, path[0] ? path : "",
           path[0] ? ": " : "", msg);
}

static void push_key(walk *w, const char *key) {
  if (w->depth < sizeof(w->path) / sizeof(w->path[0])) w->path[w->depth] = (json_step){key, 0};
  w->depth++;
}

static void push_index(walk *w, size_t i) {
  if (w->depth < sizeof(w->path) / sizeof(w->path[0])) w->path[w->depth] = (json_step){NULL, i};
  w->depth++;
}

static void pop(walk *w) { w->depth--; }

/* name_to_value() with the "0x" form held to exactly four hex digits: strtoul
 * alone would take "0x-001" (as 0xffff), "0x+001" or "0x 001". */
static int code_point(name_kind kind, const char *s, uint16_t *out) {
  if (s[0] == '0' && s[1] == 'x') {
    for (int i = 2; i < 6; i++)
      if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
        return -1;
    if (s[6] != '\0') return -1;
  }
  return name_to_value(kind, s, out);
}

/* The first byte of |s| (|len| bytes, valid UTF-8: the reader checked it) that
 * is a control character: C0, DEL, or C1 (U+0080..U+009F, which some terminals
 * take as escape sequences). -1 when there is none. */
static long control_at(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len; i++) {
    if (u[i] < 0x20 || u[i] == 0x7f) return (long)i;
    if (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) return (long)i;
  }
  return -1;
}

/* The first byte of |s| outside printable ASCII without space (0x21..0x7E), or -1. */
static long non_graphic_at(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return (long)i;
  return -1;
}

/* RFC 9110 §5.6.2 tchar. */
static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A member that must be a list with at least one entry: an empty one would
 * leave the library's default on the wire, not what the profile says. */
static void not_empty(walk *w, const jv *obj, const char *key, const char *instead) {
  const jv *v = jv_get(obj, key);
  if (v == NULL || v->type != JV_ARRAY || v->child != NULL) return;
  push_key(w, key);
  fail_at(w, 0, "must not be empty (%s)", instead);
  pop(w);
}

/* Every member of |obj| must be one of |allowed| (NULL-terminated). */
static void only_keys(walk *w, const jv *obj, const char *const *allowed) {
  for (const jv *m = obj->child; m; m = m->next) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++) ok |= strlen(*a) == m->key_len && memcmp(*a, m->key, m->key_len) == 0;
    if (!ok) {
      push_key(w, m->key);
      fail_at(w, 1, "unknown key");
      pop(w);
      return;
    }
  }
}

static const jv *member(walk *w, const jv *obj, const char *key, jv_type type, int required) {
  const jv *v = jv_get(obj, key);
  if (v == NULL) {
    if (required) fail_at(w, 0, "missing key \"%s\"", key);
    return NULL;
  }
  if (v->type != type && !(type == JV_TRUE && v->type == JV_FALSE)) {
    static const char *const names[] = {"an object", "an array", "a string", "an integer",
                                        "a number", "true or false", "true or false", "null"};
    push_key(w, key);
    fail_at(w, 0, "expected %s", names[type]);
    pop(w);
    return NULL;
  }
  if (type == JV_STRING && strlen(v->str) != v->len) {
    push_key(w, key);
    fail_at(w, 0, "holds a NUL character");
    pop(w);
    return NULL;
  }
  return v;
}

static void copy_string(walk *w, const jv *obj, const char *key, char *out, size_t cap, int required) {
  const jv *v = member(w, obj, key, JV_STRING, required);
  if (v == NULL) return;
  if (v->len >= cap) {
    push_key(w, key);
    fail_at(w, 0, "longer than %zu bytes", cap - 1);
    pop(w);
    return;
  }
  memcpy(out, v->str, v->len + 1);
}

static int get_bool(walk *w, const jv *obj, const char *key, int dflt) {
  const jv *v = member(w, obj, key, JV_TRUE, 0);
  return v ? (v->type == JV_TRUE) : dflt;
}

static long long get_int(walk *w, const jv *obj, const char *key, long long lo, long long hi,
                         long long dflt) {
  const jv *v = member(w, obj, key, JV_INTEGER, 0);
  if (v == NULL) return dflt;
  long long x = v->num;
  if (!v->num_ok) {
    push_key(w, key);
    fail_at(w, 0, "out of range (%lld to %lld)", lo, hi);
    pop(w);
    return dflt;
  }
  if (x < lo || x > hi) {
    push_key(w, key);
    fail_at(w, 0, "%lld is out of range (%lld to %lld)", x, lo, hi);
    pop(w);
    return dflt;
  }
  return x;
}

/* A list of names of |kind| into |out| (at most |cap|); duplicates refused
 * unless |dups| (signature_algorithms: Safari repeats one). */
static size_t name_list(walk *w, const jv *obj, const char *key, name_kind kind, uint16_t *out,
                        size_t cap, int dups) {
  const jv *arr = member(w, obj, key, JV_ARRAY, 0);
  if (arr == NULL) return 0;
  push_key(w, key);
  size_t n = 0, i;
  const jv *v;
  for (i = 0, v = arr->child; v; v = v->next, i++) {
    push_index(w, i);
    if (!(v && v->type == JV_STRING && strlen(v->str) == v->len)) {
      fail_at(w, 0, "expected a name (a string)");
    } else if (n == cap) {
      fail_at(w, 0, "more than %zu entries", cap);
    } else if (code_point(kind, v->str, &out[n]) != 0) {
      fail_at(w, 0, "unknown name \"%s\" (use the IANA name, or \"0x\" and four hex digits)",
              v->str);
    } else {
      for (size_t k = 0; k < n && !dups; k++)
        if (out[k] == out[n] && out[n] != 0x0a0a) fail_at(w, 0, "\"%s\" listed twice", v->str);
      n++;
    }
    pop(w);
    if (w->failed) break;
  }
  pop(w);
  return n;
}

static size_t string_list(walk *w, const jv *obj, const char *key, char (*out)[TLS_SHAPE_MAX_PROTO],
                          size_t cap) {
  const jv *arr = member(w, obj, key, JV_ARRAY, 0);
  if (arr == NULL) return 0;
  push_key(w, key);
  size_t n = 0, i;
  const jv *v;
  for (i = 0, v = arr->child; v; v = v->next, i++) {
    push_index(w, i);
    long bad;
    if (!(v && v->type == JV_STRING && strlen(v->str) == v->len) || v->len == 0 || v->len >= TLS_SHAPE_MAX_PROTO)
      fail_at(w, 0, "expected a protocol name of 1 to %d bytes", TLS_SHAPE_MAX_PROTO - 1);
    else if ((bad = non_graphic_at(v->str, v->len)) >= 0)
      /* Every registered ALPN ID is printable ASCII (IANA TLS ALPN Protocol IDs). */
      fail_at(w, 0, "byte %ld of the protocol name is 0x%02x: expected printable ASCII without spaces",
              bad, (unsigned char)v->str[bad]);
    else if (n == cap)
      fail_at(w, 0, "more than %zu entries", cap);
    else {
      for (size_t k = 0; k < n; k++)
        if (strcmp(out[k], v->str) == 0) fail_at(w, 0, "\"%s\" listed twice", v->str);
      memcpy(out[n++], v->str, v->len + 1);
    }
    pop(w);
    if (w->failed) break;
  }
  pop(w);
  return n;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A "tls" object into |s|; |resumption| NULL: the QUIC hello of "http3", whose
 * object has no "resumption", "aes_hardware" or "session_ticket" (the TCP
 * connection's settings; RFC 9001 has no session_ticket extension). */
static void load_tls_shape(walk *w, const jv *tls, tls_shape *s, int *resumption) {
  static const char *const keys[] = {
      "versions", "cipher_suites", "extensions", "permute_extensions", "raw_extensions",
      "supported_groups", "key_shares", "signature_algorithms", "delegated_credentials", "alpn",
      "alps", "certificate_compression", "record_size_limit", "ech_grease", "status_request",
      "signed_certificate_timestamps", "session_ticket", "resumption", "aes_hardware", NULL};
  static const char *const quic_keys[] = {
      "versions", "cipher_suites", "extensions", "permute_extensions", "raw_extensions",
      "supported_groups", "key_shares", "signature_algorithms", "delegated_credentials", "alpn",
      "alps", "certificate_compression", "record_size_limit", "ech_grease", "status_request",
      "signed_certificate_timestamps", NULL};
  only_keys(w, tls, resumption ? keys : quic_keys);
  tls_shape_init(s);
  static const struct { const char *key, *instead; } lists[] = {
      {"versions", "leave the key out for the library's versions"},
      {"cipher_suites", "leave the key out for the library's cipher suites"},
      {"extensions", "leave the key out for the library's extensions"},
      {"supported_groups", "leave the key out for the library's groups"},
      {"key_shares", "leave the key out for the library's key shares"},
      {"signature_algorithms", "leave the key out for the library's algorithms"},
      {"delegated_credentials", "leave the key out to offer none"},
      {"alpn", "leave the key out to send no ALPN"},
      {"certificate_compression", "leave the key out to offer none"},
  };
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
    not_empty(w, tls, lists[i].key, lists[i].instead);
  if (w->failed) return;
  s->n_versions = name_list(w, tls, "versions", NAME_VERSION, s->versions, TLS_SHAPE_MAX_VERSIONS, 0);
  s->n_ciphers = name_list(w, tls, "cipher_suites", NAME_CIPHER, s->ciphers, TLS_SHAPE_MAX_CIPHERS, 0);
  s->n_extensions =
      name_list(w, tls, "extensions", NAME_EXTENSION, s->extensions, TLS_SHAPE_MAX_EXTENSIONS, 0);
  s->permute_extensions = get_bool(w, tls, "permute_extensions", 0);
  s->n_groups = name_list(w, tls, "supported_groups", NAME_GROUP, s->groups, TLS_SHAPE_MAX_GROUPS, 0);
  s->n_key_shares = name_list(w, tls, "key_shares", NAME_GROUP, s->key_shares, TLS_SHAPE_MAX_KEY_SHARES, 0);
  s->n_sigalgs =
      name_list(w, tls, "signature_algorithms", NAME_SIGALG, s->sigalgs, TLS_SHAPE_MAX_SIGALGS, 1);
  s->n_dc_sigalgs = name_list(w, tls, "delegated_credentials", NAME_SIGALG, s->dc_sigalgs,
                              TLS_SHAPE_MAX_SIGALGS, 0);
  s->n_alpn = string_list(w, tls, "alpn", s->alpn, TLS_SHAPE_MAX_ALPN);
  s->n_certcomp = name_list(w, tls, "certificate_compression", NAME_CERTCOMP, s->certcomp,
                            TLS_SHAPE_MAX_CERTCOMP, 0);
  s->record_size_limit = (uint16_t)get_int(w, tls, "record_size_limit", 64, 16385, 0);
  s->ech_grease = get_bool(w, tls, "ech_grease", 0);
  s->status_request = get_bool(w, tls, "status_request", 0);
  s->sct = get_bool(w, tls, "signed_certificate_timestamps", 0);
  s->session_ticket = get_bool(w, tls, "session_ticket", resumption != NULL);
  if (resumption) *resumption = get_bool(w, tls, "resumption", 1);
  s->aes_hw = get_bool(w, tls, "aes_hardware", 1);
  const jv *alps = member(w, tls, "alps", JV_OBJECT, 0);
  if (alps) {
    push_key(w, "alps");
    static const char *const akeys[] = {"codepoint", "protocols", NULL};
    only_keys(w, alps, akeys);
    s->alps_codepoint = (uint16_t)get_int(w, alps, "codepoint", 17513, 17613, 17613);
    if (s->alps_codepoint != 17513 && s->alps_codepoint != 17613)
      fail_at(w, 0, "codepoint must be 17513 or 17613");
    not_empty(w, alps, "protocols", "leave \"alps\" out to send none");
    s->n_alps = string_list(w, alps, "protocols", s->alps, TLS_SHAPE_MAX_ALPN);
    pop(w);
  }
  const jv *raw = member(w, tls, "raw_extensions", JV_ARRAY, 0);
  if (raw) {
    push_key(w, "raw_extensions");
    size_t i;
    const jv *e;
    for (i = 0, e = raw->child; e; e = e->next, i++) {
      push_index(w, i);
      if (!(e->type == JV_OBJECT)) fail_at(w, 0, "expected {\"type\": ..., \"data\": ...}");
      else if (s->n_raw == TLS_SHAPE_MAX_RAW) fail_at(w, 0, "more than %d raw extensions", TLS_SHAPE_MAX_RAW);
      if (!w->failed) {
        static const char *const rkeys[] = {"type", "data", NULL};
        only_keys(w, e, rkeys);
        const jv *t = member(w, e, "type", JV_STRING, 1);
        const jv *d = member(w, e, "data", JV_STRING, 1);
        tls_shape_raw_ext *r = &s->raw[s->n_raw];
        if (t && code_point(NAME_EXTENSION, t->str, &r->type) != 0)
          fail_at(w, 0, "unknown extension type \"%s\"", t->str);
        if (d) {
          size_t hl = d->len;
          const char *h = d->str;
          if (hl % 2 || hl / 2 > TLS_SHAPE_MAX_RAW_BODY) fail_at(w, 0, "data: an even number of hex digits, at most %d bytes", TLS_SHAPE_MAX_RAW_BODY);
          for (size_t k = 0; !w->failed && k < hl / 2; k++) {
            int a = hexval(h[2 * k]), b = hexval(h[2 * k + 1]);
            if (a < 0 || b < 0) fail_at(w, 0, "data: not hex");
            else r->body[k] = (uint8_t)(a << 4 | b);
          }
          r->len = (uint16_t)(hl / 2);
        }
        if (!w->failed) s->n_raw++;
      }
      pop(w);
      if (w->failed) break;
    }
    pop(w);
  }
}

static void load_tls(walk *w, const jv *tls, profile *p) { load_tls_shape(w, tls, &p->tls, &p->resumption); }

/* An extension in the list whose contents the profile does not give would be
 * dropped from the wire without a word; the loader says so instead. Code
 * points: IANA TLS ExtensionType Values. */
static void check_extension_contents(walk *w, const tls_shape *s) {
  static const struct { uint16_t type; const char *key; } need[] = {
      {5, "status_request"},          {16, "alpn"},
      {18, "signed_certificate_timestamps"}, {27, "certificate_compression"},
      {28, "record_size_limit"},      {34, "delegated_credentials"},
      {35, "session_ticket"},         {17513, "alps"},
      {17613, "alps"},                {65037, "ech_grease"},
  };
  for (size_t i = 0; i < s->n_extensions && !w->failed; i++) {
    for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
      if (s->extensions[i] != need[k].type) continue;
      int have;
      switch (need[k].type) {
        case 5: have = s->status_request; break;
        case 16: have = s->n_alpn > 0; break;
        case 18: have = s->sct; break;
        case 27: have = s->n_certcomp > 0; break;
        case 28: have = s->record_size_limit != 0; break;
        case 34: have = s->n_dc_sigalgs > 0; break;
        case 35: have = s->session_ticket; break;
        case 65037: have = s->ech_grease; break;
        default: have = s->n_alps > 0 && s->alps_codepoint == need[k].type; break;
      }
      if (!have) {
        push_key(w, "extensions");
        push_index(w, i);
        fail_at(w, 0, "listed, but \"%s\" does not give its contents%s", need[k].key,
                need[k].type >= 17513 && need[k].type <= 17613 ? " (or names the other code point)" : "");
        pop(w);
        pop(w);
      }
    }
  }
}

static int listed(const uint16_t *list, size_t n, uint16_t v) {
  for (size_t i = 0; i < n; i++)
    if (list[i] == v) return 1;
  return 0;
}

/* Parts of the TLS shape that load but would not reach the wire as written.
 * Code points: IANA TLS registries (43 supported_versions, 51 key_share). */
static void check_tls_consistency(walk *w, const tls_shape *s) {
  /* RFC 8446 §4.2.8: every KeyShareEntry is for a group in supported_groups. */
  for (size_t i = 0; !w->failed && s->n_groups && i < s->n_key_shares; i++) {
    if (s->key_shares[i] == 0x0a0a || listed(s->groups, s->n_groups, s->key_shares[i])) continue;
    push_key(w, "key_shares");
    push_index(w, i);
    fail_at(w, 0, "not in \"supported_groups\" (RFC 8446 4.2.8: a server refuses the hello)");
    pop(w);
    pop(w);
  }
  /* A raw extension goes only where "extensions" lists its type (patch 0004). */
  for (size_t i = 0; !w->failed && i < s->n_raw; i++) {
    if (listed(s->extensions, s->n_extensions, s->raw[i].type)) continue;
    push_key(w, "raw_extensions");
    push_index(w, i);
    push_key(w, "type");
    fail_at(w, 0, "not in \"extensions\", so never sent");
    pop(w);
    pop(w);
    pop(w);
  }
  /* BoringSSL writes supported_versions (and key_share) only when offering TLS
   * 1.3, and with an exact extension list nothing else carries the versions. */
  if (!w->failed && s->n_versions && s->n_extensions) {
    int tls13 = listed(s->versions, s->n_versions, 0x0304);
    int has43 = listed(s->extensions, s->n_extensions, 43);
    if (tls13 && !has43) {
      push_key(w, "versions");
      fail_at(w, 0, "lists TLS1.3, but \"extensions\" has no supported_versions to carry it");
      pop(w);
    } else if (!tls13 && has43) {
      push_key(w, "versions");
      fail_at(w, 0, "no TLS1.3, so supported_versions (listed in \"extensions\") would not be sent");
      pop(w);
    } else if (!tls13 && listed(s->extensions, s->n_extensions, 51)) {
      push_key(w, "versions");
      fail_at(w, 0, "no TLS1.3, so key_share (listed in \"extensions\") would not be sent");
      pop(w);
    }
  }
}

/* SETTINGS value ranges (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1), and
 * where the range is ours, why. Identifiers: IANA HTTP/2 Settings. */
static long long setting_min(uint16_t id) {
  switch (id) {
    case 4: return 1;      /* INITIAL_WINDOW_SIZE 0: the server could send no body byte */
    case 5: return 16384;  /* MAX_FRAME_SIZE */
    case 6: return 42;     /* MAX_HEADER_LIST_SIZE: ":status" alone is 7 + 3 + 32 */
    default: return 0;
  }
}

static long long setting_max(uint16_t id) {
  switch (id) {
    case 2: case 8: case 9: return 1;  /* ENABLE_PUSH, ENABLE_CONNECT_PROTOCOL, NO_RFC7540_PRIORITIES */
    case 4: return 0x7fffffff;         /* INITIAL_WINDOW_SIZE: 2^31-1 */
    case 5: return 16777215;           /* MAX_FRAME_SIZE: 2^24-1 */
    default: return 0xffffffffLL;
  }
}

static const char *setting_why(uint16_t id) {
  switch (id) {
    case 4: return ": 0 would stall every response body";
    case 6: return ": below 42 no response header block fits";
    default: return "";
  }
}

static int setting_listed(const h2_shape *s, uint16_t id) {
  for (size_t i = 0; i < s->n_settings; i++)
    if (s->settings[i].id == id) return 1;
  return 0;
}

static void load_http2(walk *w, const jv *h2, profile *p) {
  static const char *const keys[] = {"settings", "window_update", "priority_frames",
                                     "headers_priority", "first_stream_id", "pseudo_headers",
                                     "cookie_crumbs", "wait_for_server_settings", NULL};
  only_keys(w, h2, keys);
  h2_shape *s = &p->h2;
  h2_shape_init(s);
  s->cookie_crumbs = get_bool(w, h2, "cookie_crumbs", 0);
  s->wait_for_server_settings = get_bool(w, h2, "wait_for_server_settings", 0);
  const jv *settings = member(w, h2, "settings", JV_ARRAY, 0);
  if (settings) {
    push_key(w, "settings");
    size_t i;
    const jv *e;
    for (i = 0, e = settings->child; e; e = e->next, i++) {
      push_index(w, i);
      const jv *n = jv_at(e, 0), *v = jv_at(e, 1);
      uint16_t id;
      if (!(e->type == JV_ARRAY) || e->len != 2 || !(n && n->type == JV_STRING && strlen(n->str) == n->len) || !(v && v->type == JV_INTEGER && v->num_ok))
        fail_at(w, 0, "expected [\"NAME\", value]");
      else if (code_point(NAME_H2_SETTING, n->str, &id) != 0)
        fail_at(w, 0, "unknown setting \"%s\"", n->str);
      else if (v->num < setting_min(id) || v->num > setting_max(id))
        fail_at(w, 0, "%s %lld is out of range (%lld to %lld%s)", n->str, v->num, setting_min(id),
                setting_max(id), setting_why(id));
      else if (setting_listed(s, id))
        fail_at(w, 0, "\"%s\" listed twice", n->str);
      else if (s->n_settings == H2_SHAPE_MAX_SETTINGS)
        fail_at(w, 0, "more than %d settings", H2_SHAPE_MAX_SETTINGS);
      else
        s->settings[s->n_settings++] = (h2_setting){id, (uint32_t)v->num};
      pop(w);
      if (w->failed) break;
    }
    pop(w);
  }
  /* The connection window starts at 65535 and may not pass 2^31-1 (RFC 9113 6.9.1). */
  s->window_update = (uint32_t)get_int(w, h2, "window_update", 0, 0x7fffffff - 65535, 0);
  s->first_stream_id = (uint32_t)get_int(w, h2, "first_stream_id", 1, 0x7fffffff, 1);
  if (!w->failed && s->first_stream_id % 2 == 0) {
    /* RFC 9113 §5.1.1: streams a client opens are odd. */
    push_key(w, "first_stream_id");
    fail_at(w, 0, "must be odd (RFC 9113 5.1.1: a client's streams are odd)");
    pop(w);
  }
  const jv *hp = jv_get(h2, "headers_priority");
  if (hp && !(hp->type == JV_NULL)) {
    hp = member(w, h2, "headers_priority", JV_OBJECT, 0);
    if (hp) {
      push_key(w, "headers_priority");
      static const char *const pkeys[] = {"weight", "exclusive", "depends_on", "chain", NULL};
      only_keys(w, hp, pkeys);
      s->headers_priority_flag = 1;
      s->headers_priority.weight = (uint16_t)get_int(w, hp, "weight", 1, 256, 16);
      s->headers_priority.exclusive = get_bool(w, hp, "exclusive", 0);
      s->headers_priority.depends_on = (uint32_t)get_int(w, hp, "depends_on", 0, 0x7fffffff, 0);
      s->headers_priority_chain = get_bool(w, hp, "chain", 0);
      uint32_t d = s->headers_priority.depends_on;
      if (!w->failed && d % 2 == 1 && d >= s->first_stream_id) {
        /* The request on stream |d| would depend on itself: PROTOCOL_ERROR
         * (RFC 9113 5.3.1). Streams before the first one are idle and fine. */
        push_key(w, "depends_on");
        fail_at(w, 0, "stream %u is one of this client's own request streams (first_stream_id %u): "
                "that request would depend on itself", d, s->first_stream_id);
        pop(w);
      }
      if (!w->failed && s->headers_priority.weight == 16 && !s->headers_priority.exclusive && d == 0)
        fail_at(w, 0, "the default priority (weight 16 on stream 0) is sent as no priority: "
                "use null");
      pop(w);
    }
  }
  const jv *pf = member(w, h2, "priority_frames", JV_ARRAY, 0);
  if (pf) {
    push_key(w, "priority_frames");
    size_t i;
    const jv *e;
    for (i = 0, e = pf->child; e; e = e->next, i++) {
      push_index(w, i);
      if (!(e->type == JV_OBJECT) || s->n_priority_frames == H2_SHAPE_MAX_PRIORITY_FRAMES) {
        fail_at(w, 0, "expected {\"stream\", \"weight\", \"exclusive\", \"depends_on\"} (at most %d)",
                H2_SHAPE_MAX_PRIORITY_FRAMES);
      } else {
        static const char *const fkeys[] = {"stream", "weight", "exclusive", "depends_on", NULL};
        only_keys(w, e, fkeys);
        h2_priority_frame *f = &s->priority_frames[s->n_priority_frames++];
        f->stream_id = (uint32_t)get_int(w, e, "stream", 1, 0x7fffffff, 1);
        f->priority.weight = (uint16_t)get_int(w, e, "weight", 1, 256, 16);
        f->priority.exclusive = get_bool(w, e, "exclusive", 0);
        f->priority.depends_on = (uint32_t)get_int(w, e, "depends_on", 0, 0x7fffffff, 0);
        if (!w->failed && f->priority.depends_on == f->stream_id)
          fail_at(w, 0, "stream %u depends on itself (RFC 9113 5.3.1)", f->stream_id);
      }
      pop(w);
      if (w->failed) break;
    }
    pop(w);
  }
  const jv *ph = member(w, h2, "pseudo_headers", JV_ARRAY, 0);
  if (ph) {
    push_key(w, "pseudo_headers");
    char order[5] = "";
    size_t i;
    const jv *e;
    for (i = 0, e = ph->child; e; e = e->next, i++) {
      push_index(w, i);
      const char *n = e->type == JV_STRING && strlen(e->str) == e->len ? e->str : NULL;
      char letter = 0;
      if (n && strcmp(n, ":method") == 0) letter = 'm';
      else if (n && strcmp(n, ":authority") == 0) letter = 'a';
      else if (n && strcmp(n, ":scheme") == 0) letter = 's';
      else if (n && strcmp(n, ":path") == 0) letter = 'p';
      if (!letter || i >= 4 || strchr(order, letter)) fail_at(w, 0, "expected each of :method :authority :scheme :path once");
      else order[i] = letter;
      pop(w);
      if (w->failed) break;
    }
    if (!w->failed && strlen(order) != 4) fail_at(w, 0, "all four pseudo-headers are needed");
    if (!w->failed) memcpy(s->pseudo_order, order, 5);
    pop(w);
  }
  const char *why;
  if (!w->failed && h2_shape_check(s, &why) != 0) fail_at(w, 0, "%s", why);
}

/* Why field |nm| = |v| cannot stand in a navigation list (|h2|: the HTTP/2
 * one, which HTTP/1.1 requests also use, Title-Cased, when there is no
 * "http1" list), or NULL. RFC 9110 §5.1 (names are tokens), §5.5 (values),
 * RFC 9113 §8.2.1 (lower-case names, no blanks at a value's ends), §8.2.2. */
static const char *header_problem(const jv *nm, const jv *v, int h2, char *buf, size_t cap) {
  for (size_t i = 0; i < nm->len; i++) {
    unsigned char c = (unsigned char)nm->str[i];
    if (!is_tchar(c)) {
      snprintf(buf, cap, "byte %zu of the name is 0x%02x: a field name is a token (RFC 9110 5.6.2)", i, c);
      return buf;
    }
    if (h2 && c >= 'A' && c <= 'Z') {
      snprintf(buf, cap, "\"%s\": HTTP/2 field names are lower-case (RFC 9113 8.2.1)", nm->str);
      return buf;
    }
  }
  for (size_t i = 0; i < v->len; i++) {
    unsigned char c = (unsigned char)v->str[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      snprintf(buf, cap, "byte %zu of the value is 0x%02x: a control character (RFC 9110 5.5)", i, c);
      return buf;
    }
  }
  if (v->len && (v->str[0] == ' ' || v->str[0] == '\t' || v->str[v->len - 1] == ' ' ||
                 v->str[v->len - 1] == '\t'))
    return "the value starts or ends with a blank (RFC 9113 8.2.1 refuses it)";
  if (!strcasecmp(nm->str, "content-length") || !strcasecmp(nm->str, "transfer-encoding"))
    return "guise writes the message framing (Content-Length, Transfer-Encoding) from the body";
  if (!strcasecmp(nm->str, "host") && v->len)
    return "Host comes from the URL: give it an empty value to place it";
  if (h2 && !strcmp(nm->str, "te") && strcmp(v->str, "trailers") != 0)
    return "te other than \"trailers\" is malformed in HTTP/2 (RFC 9113 8.2.2)";
  return NULL;
}

static size_t header_list(walk *w, const jv *obj, const char *key, profile_header *out, int h2,
                          size_t cap) {
  const jv *arr = member(w, obj, key, JV_ARRAY, 0);
  if (arr == NULL) return 0;
  push_key(w, key);
  size_t n = 0, i;
  const jv *e;
  char why[160];
  const char *bad;
  for (i = 0, e = arr->child; e; e = e->next, i++) {
    push_index(w, i);
    const jv *nm = jv_at(e, 0), *v = jv_at(e, 1);
    if (!(e->type == JV_ARRAY) || e->len != 2 || !(nm && nm->type == JV_STRING && strlen(nm->str) == nm->len) || !(v && v->type == JV_STRING && strlen(v->str) == v->len))
      fail_at(w, 0, "expected [\"name\", \"value\"]");
    else if (n == cap)
      fail_at(w, 0, "more than %zu headers", cap);
    else if (nm->len == 0 || nm->len >= PROFILE_MAX_NAME ||
             v->len >= PROFILE_MAX_VALUE)
      fail_at(w, 0, "header name or value too long");
    else if ((bad = header_problem(nm, v, h2, why, sizeof(why))) != NULL)
      fail_at(w, 0, "forbidden field: %s", bad);
    else {
      for (size_t k = 0; k < n; k++)
        if (strcasecmp(out[k].name, nm->str) == 0) fail_at(w, 0, "\"%s\" listed twice", nm->str);
      memcpy(out[n].name, nm->str, nm->len + 1);
      memcpy(out[n].value, v->str, v->len + 1);
      n++;
    }
    pop(w);
    if (w->failed) break;
  }
  pop(w);
  return n;
}

static const char *const kind_names[PROFILE_KIND_COUNT] = {
    "navigation", "navigate-post", "fetch-cors", "fetch-same-origin", "fetch-no-cors",
    "script",     "style",         "image",      "font",              "iframe"};

const char *profile_kind_name(profile_kind_id id) {
  return (int)id >= 0 && id < PROFILE_KIND_COUNT ? kind_names[id] : NULL;
}

int profile_kind_of(const char *name) {
  if (name == NULL) return -1;
  if (!strcmp(name, "navigate")) return PROFILE_KIND_NAVIGATE;
  if (!strcmp(name, "fetch")) return PROFILE_KIND_FETCH_CORS;
  for (int i = 0; i < PROFILE_KIND_COUNT; i++)
    if (!strcmp(name, kind_names[i])) return i;
  return -1;
}

/* One browser sends one identity: the user-agent and the client hints of every
 * list (the HTTP/1.1 one, each kind's) must be the navigation h2 list's when
 * both have the field. A profile whose image requests say another browser
 * than its pages (a kind captured from another build, a hand edit) is refused,
 * pointing at the field. */
static void same_identity(walk *w, const char *key, const profile_header *list, size_t n,
                          const profile *p) {
  static const char *const ids[] = {"user-agent", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform"};
  for (size_t i = 0; i < n && !w->failed; i++)
    for (size_t d = 0; d < sizeof(ids) / sizeof(ids[0]); d++) {
      if (strcasecmp(list[i].name, ids[d]) != 0) continue;
      for (size_t k = 0; k < p->n_nav_h2; k++) {
        if (strcasecmp(p->nav_h2[k].name, ids[d]) != 0 || strcmp(p->nav_h2[k].value, list[i].value) == 0)
          continue;
        push_key(w, key);
        push_index(w, i);
        fail_at(w, 0, "%s differs from headers.navigation.h2's (\"%.60s\"): one browser sends one", ids[d],
                p->nav_h2[k].value);
        pop(w);
        pop(w);
        return;
      }
    }
}

/* One kind of "headers" (format 2): {"h2": [...], "http1": [...],
 * "headers_priority": {...} | null}. */
static void load_kind(walk *w, const jv *kj, profile_kind *k, const profile *p) {
  static const char *const kkeys[] = {"h2", "http1", "headers_priority", NULL};
  only_keys(w, kj, kkeys);
  if (!w->failed && jv_get(kj, "h2") == NULL) fail_at(w, 1, "a request kind needs its \"h2\" list");
  not_empty(w, kj, "http1", "leave the key out to use the h2 list");
  not_empty(w, kj, "h2", "a request kind sends its browser's headers");
  k->n_h2 = header_list(w, kj, "h2", k->h2, 1, PROFILE_KIND_MAX_HEADERS);
  k->n_h1 = header_list(w, kj, "http1", k->h1, 0, PROFILE_KIND_MAX_HEADERS);
  if (!w->failed) same_identity(w, "h2", k->h2, k->n_h2, p);
  if (!w->failed) same_identity(w, "http1", k->h1, k->n_h1, p);
  const jv *hp = jv_get(kj, "headers_priority");
  if (hp && !w->failed) {
    if (hp->type == JV_NULL) {
      k->priority_flag = 1;
      k->priority_none = 1;
    } else if ((hp = member(w, kj, "headers_priority", JV_OBJECT, 0)) != NULL && !w->failed) {
      push_key(w, "headers_priority");
      static const char *const pkeys[] = {"weight", "exclusive", "depends_on", NULL};
      only_keys(w, hp, pkeys);
      k->priority_flag = 1;
      k->priority.weight = (uint16_t)get_int(w, hp, "weight", 1, 256, 16);
      k->priority.exclusive = get_bool(w, hp, "exclusive", 0);
      /* Only stream 0: a kind's stream depends on no other (the chain of
       * http2.headers_priority does not apply to kinds). */
      k->priority.depends_on = (uint32_t)get_int(w, hp, "depends_on", 0, 0, 0);
      if (!w->failed && k->priority.weight == 16 && !k->priority.exclusive)
        fail_at(w, 0, "the default priority (weight 16 on stream 0) is sent as no priority: "
                      "write null");
      pop(w);
    }
  }
  k->present = !w->failed;
}

/* Copies the member |key| of |obj|, text for people: no control characters,
 * which would reach a terminal through every message naming the profile. */
static void copy_text(walk *w, const jv *obj, const char *key, char *out, size_t cap, int required) {
  copy_string(w, obj, key, out, cap, required);
  long bad = w->failed ? -1 : control_at(out, strlen(out));
  if (bad >= 0) {
    push_key(w, key);
    fail_at(w, 0, "byte %ld is a control character (0x%02x)", bad, (unsigned char)out[bad]);
    pop(w);
  }
}

/* A fingerprint string: printable ASCII without spaces, as every format is. */
static void copy_fingerprint(walk *w, const jv *obj, const char *key, char *out, size_t cap) {
  copy_string(w, obj, key, out, cap, 0);
  long bad = w->failed ? -1 : non_graphic_at(out, strlen(out));
  if (bad >= 0) {
    push_key(w, key);
    fail_at(w, 0, "byte %ld is 0x%02x: expected printable ASCII without spaces", bad,
            (unsigned char)out[bad]);
    pop(w);
  }
}

/* A profile name: what `--profile` takes and records carry. */
static void check_name(walk *w, const char *name) {
  for (size_t i = 0; !w->failed && name[i]; i++) {
    unsigned char c = (unsigned char)name[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        ((c == '.' || c == '_' || c == '-' || c == '+') && i > 0))
      continue;
    push_key(w, "name");
    fail_at(w, 0, "byte %zu is 0x%02x: a profile name is letters, digits and . _ - + (not first)", i, c);
    pop(w);
  }
  if (!w->failed && name[0] == '\0') {
    push_key(w, "name");
    fail_at(w, 0, "must not be empty");
    pop(w);
  }
}

/* ---- http3 (profiles/FORMAT.md "http3") ---- */

/* RFC 9000 18.2 / RFC 9221 3: the parameters whose value is one variable-length
 * integer, with the range each may take. */
static int h3_value_param(uint64_t id, uint64_t *lo, uint64_t *hi) {
  *lo = 0;
  *hi = (1ull << 62) - 1;
  switch (id) {
    case 0x01: case 0x04: case 0x05: case 0x06: case 0x07: case 0x20: return 1;
    case 0x03: *lo = 1200; *hi = 65527; return 1;             /* max_udp_payload_size */
    case 0x08: case 0x09: *hi = 1ull << 60; return 1;         /* initial_max_streams_* */
    case 0x0a: *hi = 20; return 1;                            /* ack_delay_exponent */
    case 0x0b: *hi = (1ull << 14) - 1; return 1;              /* max_ack_delay */
    case 0x0e: *lo = 2; return 1;                             /* active_connection_id_limit */
    default: return 0;
  }
}

static int h3_grease_id(uint64_t id) { return id >= 27 && (id - 27) % 31 == 0; }
static int h3_grease_version(uint32_t v) { return (v & 0x0f0f0f0fu) == 0x0a0a0a0au; }

/* "0x" and eight hex digits: a QUIC version. */
static int h3_version(const char *s, size_t len, uint32_t *out) {
  if (len != 10 || s[0] != '0' || s[1] != 'x') return -1;
  uint32_t v = 0;
  for (size_t i = 2; i < 10; i++) {
    int d = hexval(s[i]);
    if (d < 0) return -1;
    v = v << 4 | (uint32_t)d;
  }
  *out = v;
  return 0;
}

/* [min, max] of a connection ID length into |lo|, |hi|. */
static void h3_cid_range(walk *w, const jv *h3, const char *key, int min, int *lo, int *hi) {
  const jv *a = member(w, h3, key, JV_ARRAY, 1);
  if (a == NULL) return;
  push_key(w, key);
  const jv *x = jv_at(a, 0), *y = jv_at(a, 1);
  if (a->len != 2 || !(x && x->type == JV_INTEGER && x->num_ok) || !(y && y->type == JV_INTEGER && y->num_ok))
    fail_at(w, 0, "expected [min, max]");
  else if (x->num < min || y->num > 20 || x->num > y->num)
    fail_at(w, 0, "expected %d <= min <= max <= 20 (RFC 9000 7.2, 17.2)", min);
  else {
    *lo = (int)x->num;
    *hi = (int)y->num;
  }
  pop(w);
}

static void load_h3_param(walk *w, const jv *e, profile_http3 *h) {
  static const char *const pkeys[] = {"id", "value", "data", "length", "source_connection_id",
                                      "versions", NULL};
  if (e->type != JV_OBJECT) {
    fail_at(w, 0, "expected {\"id\": ..., and one of \"value\", \"data\", \"length\", "
            "\"source_connection_id\", \"versions\"}");
    return;
  }
  only_keys(w, e, pkeys);
  if (w->failed) return;
  if (h->n_params == PROFILE_H3_MAX_PARAMS) {
    fail_at(w, 0, "more than %d transport parameters", PROFILE_H3_MAX_PARAMS);
    return;
  }
  profile_h3_param *q = &h->params[h->n_params];
  memset(q, 0, sizeof(*q));
  const jv *id = jv_get(e, "id");
  int forms = (jv_get(e, "value") != NULL) + (jv_get(e, "data") != NULL) +
              (jv_get(e, "length") != NULL) + (jv_get(e, "source_connection_id") != NULL) +
              (jv_get(e, "versions") != NULL);
  if (id == NULL) {
    fail_at(w, 0, "missing key \"id\"");
    return;
  }
  if (forms != 1) {
    fail_at(w, 0, "give exactly one of \"value\", \"data\", \"length\" (GREASE), "
            "\"source_connection_id\", \"versions\"");
    return;
  }
  push_key(w, "id");
  if (id->type == JV_STRING && strcmp(id->str, "GREASE") == 0 && id->len == 6) {
    q->kind = PROFILE_H3_PARAM_GREASE;
  } else if (id->type != JV_INTEGER || !id->num_ok || id->num < 0 || (uint64_t)id->num > (1ull << 62) - 1) {
    fail_at(w, 0, "expected an integer of 0 to 2^62-1, or \"GREASE\"");
  } else {
    q->id = (uint64_t)id->num;
    if (h3_grease_id(q->id))
      fail_at(w, 0, "%llu is a reserved (GREASE) id: write \"GREASE\" (the sender draws one per "
              "connection)", (unsigned long long)q->id);
    else if (q->id == 0x00 || q->id == 0x02 || q->id == 0x0d || q->id == 0x10)
      fail_at(w, 0, "%llu is a server's parameter (RFC 9000 18.2: a client must not send it)",
              (unsigned long long)q->id);
    for (size_t i = 0; !w->failed && i < h->n_params; i++)
      if (h->params[i].kind != PROFILE_H3_PARAM_GREASE && h->params[i].id == q->id)
        fail_at(w, 0, "%llu listed twice (RFC 9000 7.4)", (unsigned long long)q->id);
  }
  pop(w);
  if (w->failed) return;
  uint64_t lo, hi;
  int is_value = q->kind != PROFILE_H3_PARAM_GREASE && h3_value_param(q->id, &lo, &hi);
  if (q->kind == PROFILE_H3_PARAM_GREASE) {
    const jv *l = member(w, e, "length", JV_ARRAY, 0);
    const jv *x = l ? jv_at(l, 0) : NULL, *y = l ? jv_at(l, 1) : NULL;
    push_key(w, "length");
    if (!w->failed && (l == NULL || l->len != 2 || !(x && x->type == JV_INTEGER && x->num_ok) ||
                       !(y && y->type == JV_INTEGER && y->num_ok) || x->num < 0 || x->num > y->num ||
                       y->num > PROFILE_H3_MAX_PARAM_DATA))
      fail_at(w, 0, "a GREASE parameter gives \"length\": [min, max], 0 <= min <= max <= %d",
              PROFILE_H3_MAX_PARAM_DATA);
    else if (!w->failed) {
      q->len = (size_t)x->num;
      q->len_max = (size_t)y->num;
    }
    pop(w);
  } else if (jv_get(e, "length")) {
    fail_at(w, 1, "\"length\" is for a GREASE parameter");
  } else if (q->id == 0x0f) {
    if (!get_bool(w, e, "source_connection_id", 0))
      fail_at(w, 0, "initial_source_connection_id (15) is {\"id\": 15, \"source_connection_id\": "
              "true}: its value is the connection's Source Connection ID (RFC 9000 7.3)");
    q->kind = PROFILE_H3_PARAM_SCID;
  } else if (jv_get(e, "source_connection_id")) {
    fail_at(w, 1, "only initial_source_connection_id (15) has \"source_connection_id\"");
  } else if (is_value) {
    const jv *v = member(w, e, "value", JV_INTEGER, 0);
    if (v == NULL) {
      if (!w->failed) fail_at(w, 0, "parameter %llu is an integer: give \"value\"", (unsigned long long)q->id);
    } else if (!v->num_ok || v->num < 0 || (uint64_t)v->num < lo || (uint64_t)v->num > hi) {
      push_key(w, "value");
      fail_at(w, 0, "out of range for parameter %llu (%llu to %llu, RFC 9000 18.2)",
              (unsigned long long)q->id, (unsigned long long)lo, (unsigned long long)hi);
      pop(w);
    } else {
      q->kind = PROFILE_H3_PARAM_VALUE;
      q->value = (uint64_t)v->num;
    }
  } else if (jv_get(e, "value")) {
    fail_at(w, 1, "parameter %llu is not an integer one: give \"data\"", (unsigned long long)q->id);
  } else if (q->id == 0x11) {
    const jv *vs = member(w, e, "versions", JV_ARRAY, 1);
    if (vs == NULL) {
      if (!w->failed) fail_at(w, 0, "version_information (17) gives \"versions\"");
    } else {
      push_key(w, "versions");
      size_t i;
      const jv *x;
      for (i = 0, x = vs->child; x && !w->failed; x = x->next, i++) {
        push_index(w, i);
        uint32_t v = 0;
        if (i == PROFILE_H3_MAX_VERSIONS) fail_at(w, 0, "more than %d versions", PROFILE_H3_MAX_VERSIONS);
        else if (x->type == JV_STRING && x->len == 6 && strcmp(x->str, "GREASE") == 0) v = 0;
        else if (x->type != JV_STRING || h3_version(x->str, x->len, &v) != 0 || v == 0)
          fail_at(w, 0, "expected \"0x\" and eight hex digits (not 0), or \"GREASE\"");
        else if (h3_grease_version(v))
          fail_at(w, 0, "a reserved (GREASE) version: write \"GREASE\"");
        if (!w->failed) q->versions[q->n_versions++] = v;
        pop(w);
      }
      if (!w->failed && (q->n_versions == 0 || q->versions[0] == 0))
        fail_at(w, 0, "the first entry is the Chosen Version (RFC 9368 3): a real version");
      pop(w);
      q->kind = PROFILE_H3_PARAM_VERSIONS;
    }
  } else if (jv_get(e, "versions")) {
    fail_at(w, 1, "only version_information (17) has \"versions\"");
  } else {
    const jv *d = member(w, e, "data", JV_STRING, 1);
    if (d) {
      push_key(w, "data");
      if (d->len % 2 || d->len / 2 > PROFILE_H3_MAX_PARAM_DATA)
        fail_at(w, 0, "an even number of hex digits, at most %d bytes", PROFILE_H3_MAX_PARAM_DATA);
      for (size_t k = 0; !w->failed && k < d->len / 2; k++) {
        int a = hexval(d->str[2 * k]), b = hexval(d->str[2 * k + 1]);
        if (a < 0 || b < 0) fail_at(w, 0, "not hex");
        else q->data[k] = (uint8_t)(a << 4 | b);
      }
      q->len = d->len / 2;
      pop(w);
      q->kind = PROFILE_H3_PARAM_DATA;
    }
  }
  if (!w->failed) h->n_params++;
}

/* "settings": [{"id": N, "value": N} | {"id": "GREASE"}, ...] (RFC 9114 7.2.4). */
static void load_h3_settings(walk *w, const jv *arr, profile_http3 *h) {
  size_t i;
  const jv *e;
  for (i = 0, e = arr->child; e && !w->failed; e = e->next, i++) {
    push_index(w, i);
    if (h->n_settings == PROFILE_H3_MAX_SETTINGS) {
      fail_at(w, 0, "more than %d settings", PROFILE_H3_MAX_SETTINGS);
      pop(w);
      return;
    }
    if (e->type != JV_OBJECT) {
      fail_at(w, 0, "expected {\"id\": N, \"value\": N} or {\"id\": \"GREASE\"}");
      pop(w);
      return;
    }
    static const char *const skeys[] = {"id", "value", NULL};
    only_keys(w, e, skeys);
    profile_h3_setting *s = &h->settings[h->n_settings];
    memset(s, 0, sizeof(*s));
    const jv *id = w->failed ? NULL : jv_get(e, "id");
    const jv *v = w->failed ? NULL : jv_get(e, "value");
    if (!w->failed && id == NULL) fail_at(w, 0, "missing key \"id\"");
    if (!w->failed) {
      push_key(w, "id");
      if (id->type == JV_STRING && id->len == 6 && strcmp(id->str, "GREASE") == 0) {
        s->grease = 1;
        for (size_t k = 0; k < h->n_settings; k++)
          if (h->settings[k].grease) fail_at(w, 0, "a second GREASE setting");
      } else if (id->type != JV_INTEGER || !id->num_ok || id->num < 0 ||
                 (uint64_t)id->num > (1ull << 62) - 1) {
        fail_at(w, 0, "expected an integer of 0 to 2^62-1, or \"GREASE\"");
      } else {
        s->id = (uint64_t)id->num;
        if (s->id >= 0x21 && (s->id - 0x21) % 0x1f == 0)
          fail_at(w, 0, "%llu is a reserved (GREASE) id: write \"GREASE\" (drawn per "
                  "connection)", (unsigned long long)s->id);
        else if (s->id <= 0x05 && s->id != 0x01)
          fail_at(w, 0, "%llu is an HTTP/2 setting reserved in HTTP/3 (RFC 9114 7.2.4.1)",
                  (unsigned long long)s->id);
        for (size_t k = 0; !w->failed && k < h->n_settings; k++)
          if (!h->settings[k].grease && h->settings[k].id == s->id)
            fail_at(w, 0, "%llu listed twice (RFC 9114 7.2.4)", (unsigned long long)s->id);
      }
      pop(w);
    }
    if (!w->failed && s->grease && v != NULL) {
      push_key(w, "value");
      fail_at(w, 0, "a GREASE setting has no value here (drawn per connection)");
      pop(w);
    } else if (!w->failed && !s->grease) {
      if (v == NULL) fail_at(w, 0, "missing key \"value\"");
      else if (v->type != JV_INTEGER || !v->num_ok || v->num < 0 ||
               (uint64_t)v->num > (1ull << 62) - 1) {
        push_key(w, "value");
        fail_at(w, 0, "expected an integer of 0 to 2^62-1");
        pop(w);
      } else {
        s->value = (uint64_t)v->num;
      }
    }
    if (!w->failed) h->n_settings++;
    pop(w);
  }
}

/* "navigate_header_order": lowercase names, pseudo-headers first, each of :method,
 * :scheme, :authority, :path once (RFC 9114 4.3.1), no name twice. */
static void load_h3_order(walk *w, const jv *arr, profile_http3 *h) {
  size_t i;
  const jv *e;
  int regular = 0, pseudo = 0;
  for (i = 0, e = arr->child; e && !w->failed; e = e->next, i++) {
    push_index(w, i);
    if (h->n_nav_order == PROFILE_MAX_HEADERS) {
      fail_at(w, 0, "more than %d names", PROFILE_MAX_HEADERS);
    } else if (e->type != JV_STRING || e->len == 0 || e->len >= PROFILE_MAX_NAME ||
               strlen(e->str) != e->len) {
      fail_at(w, 0, "expected a field name of 1 to %d bytes", PROFILE_MAX_NAME - 1);
    } else {
      const char *n = e->str;
      for (size_t k = n[0] == ':'; k < e->len && !w->failed; k++) {
        char c = n[k];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c)))
          fail_at(w, 0, "\"%s\": byte %zu is not a lowercase token character "
                  "(RFC 9114 4.2)", n, k);
      }
      if (!w->failed && n[0] == ':') {
        static const char *const ok[] = {":method", ":scheme", ":authority", ":path"};
        int known = 0;
        for (size_t k = 0; k < 4; k++) known |= strcmp(n, ok[k]) == 0;
        if (!known) fail_at(w, 0, "\"%s\" is not a request pseudo-header of a navigation", n);
        else if (regular) fail_at(w, 0, "\"%s\" after a regular field (RFC 9114 4.3)", n);
        else pseudo++;
      } else {
        regular = 1;
      }
      for (size_t k = 0; !w->failed && k < h->n_nav_order; k++)
        if (strcmp(h->nav_order[k], n) == 0) fail_at(w, 0, "\"%s\" listed twice", n);
      if (!w->failed) memcpy(h->nav_order[h->n_nav_order++], n, e->len + 1);
    }
    pop(w);
  }
  if (!w->failed && pseudo != 4)
    fail_at(w, 0, "needs :method, :scheme, :authority and :path (RFC 9114 4.3.1)");
}

/* "uni_streams": the three streams a client opens (RFC 9114 6.2.1, RFC 9204 4.2),
 * each once, in the order the browser opens them. */
static void load_h3_uni(walk *w, const jv *arr, profile_http3 *h) {
  static const char *const kinds[] = {"control", "qpack_encoder", "qpack_decoder"};
  size_t i;
  const jv *e;
  for (i = 0, e = arr->child; e && !w->failed; e = e->next, i++) {
    push_index(w, i);
    int k = -1;
    for (int j = 0; e->type == JV_STRING && j < 3; j++)
      if (strcmp(e->str, kinds[j]) == 0 && strlen(kinds[j]) == e->len) k = j;
    if (k < 0) fail_at(w, 0, "expected \"control\", \"qpack_encoder\" or \"qpack_decoder\"");
    for (size_t j = 0; !w->failed && j < h->n_uni; j++)
      if (h->uni[j] == k) fail_at(w, 0, "\"%s\" listed twice (RFC 9114 6.2: one of each)", kinds[k]);
    if (!w->failed) h->uni[h->n_uni++] = k;
    pop(w);
  }
  if (!w->failed && h->n_uni != 3) fail_at(w, 0, "needs control, qpack_encoder and qpack_decoder, each once");
}

static void load_http3(walk *w, const jv *h3j, profile_http3 *h) {
  static const char *const keys[] = {"quic_version", "dcid_length", "scid_length", "initial_size",
                                     "initial_padding", "tls", "transport_parameters",
                                     "permute_transport_parameters", "settings",
                                     "navigate_header_order", "navigate_priority", "uni_streams",
                                     "qpack_decoder_stream_lazy", "priority_update", "source", NULL};
  only_keys(w, h3j, keys);
  if (w->failed) return;
  memset(h, 0, sizeof(*h));
  h->present = 1;
  const jv *v = member(w, h3j, "quic_version", JV_STRING, 1);
  if (v) {
    push_key(w, "quic_version");
    if (h3_version(v->str, v->len, &h->quic_version) != 0 || h->quic_version == 0 ||
        h3_grease_version(h->quic_version))
      fail_at(w, 0, "expected \"0x\" and eight hex digits, a QUIC version (not 0, not GREASE)");
    pop(w);
  }
  /* A client's first Destination Connection ID is at least 8 bytes (RFC 9000 7.2). */
  h3_cid_range(w, h3j, "dcid_length", 8, &h->dcid_min, &h->dcid_max);
  h3_cid_range(w, h3j, "scid_length", 0, &h->scid_min, &h->scid_max);
  const jv *is = member(w, h3j, "initial_size", JV_OBJECT, 0);
  if (is && !w->failed) {
    push_key(w, "initial_size");
    static const char *const ikeys[] = {"ipv4", "ipv6", NULL};
    only_keys(w, is, ikeys);
    /* RFC 9000 14.1: a client pads a datagram with an Initial to at least 1200 bytes. */
    h->initial_ipv4 = (int)get_int(w, is, "ipv4", 1200, 65527, 0);
    h->initial_ipv6 = (int)get_int(w, is, "ipv6", 1200, 65527, 0);
    if (!w->failed && !h->initial_ipv4 && !h->initial_ipv6) fail_at(w, 0, "give \"ipv4\" or \"ipv6\" (or leave the key out)");
    pop(w);
  }
  const jv *pad = member(w, h3j, "initial_padding", JV_STRING, 0);
  if (pad && !w->failed) {
    if (strcmp(pad->str, "zeros") == 0 && pad->len == 5) h->zero_padding = 1;
    else if (!(strcmp(pad->str, "frames") == 0 && pad->len == 6)) {
      push_key(w, "initial_padding");
      fail_at(w, 0, "expected \"frames\" (PADDING frames in the packet) or \"zeros\" (zero "
              "bytes after the packet)");
      pop(w);
    }
  }
  const jv *tls = member(w, h3j, "tls", JV_OBJECT, 1);
  if (tls && !w->failed) {
    push_key(w, "tls");
    static const char *const need[] = {"cipher_suites", "extensions", "alpn", NULL};
    for (const char *const *k = need; *k && !w->failed; k++)
      if (jv_get(tls, *k) == NULL) fail_at(w, 0, "missing key \"%s\" (a QUIC hello is given whole)", *k);
    if (!w->failed) load_tls_shape(w, tls, &h->tls, NULL);
    if (!w->failed) check_extension_contents(w, &h->tls);
    if (!w->failed) check_tls_consistency(w, &h->tls);
    if (!w->failed && !listed(h->tls.extensions, h->tls.n_extensions, 57)) {
      push_key(w, "extensions");
      fail_at(w, 0, "no quic_transport_parameters (RFC 9001 8.2: a QUIC client sends it)");
      pop(w);
    }
    for (size_t i = 0; !w->failed && i < h->tls.n_versions; i++) {
      if (h->tls.versions[i] == 0x0304 || h->tls.versions[i] == 0x0a0a) continue;
      push_key(w, "versions");
      push_index(w, i);
      fail_at(w, 0, "QUIC uses TLS 1.3 only (RFC 9001 4.2)");
      pop(w);
      pop(w);
    }
    pop(w);
  }
  const jv *tp = member(w, h3j, "transport_parameters", JV_ARRAY, 1);
  if (tp && !w->failed) {
    push_key(w, "transport_parameters");
    if (tp->child == NULL) fail_at(w, 0, "must not be empty (RFC 9000 7.3: a client sends "
                                   "initial_source_connection_id)");
    size_t i;
    const jv *e;
    for (i = 0, e = tp->child; e && !w->failed; e = e->next, i++) {
      push_index(w, i);
      load_h3_param(w, e, h);
      pop(w);
    }
    int scid = 0;
    for (size_t k = 0; k < h->n_params; k++) scid |= h->params[k].kind == PROFILE_H3_PARAM_SCID;
    if (!w->failed && !scid)
      fail_at(w, 0, "no initial_source_connection_id (RFC 9000 7.3: a client always sends it)");
    pop(w);
  }
  h->permute_params = get_bool(w, h3j, "permute_transport_parameters", 0);
  const jv *st = w->failed ? NULL : member(w, h3j, "settings", JV_ARRAY, 0);
  if (st) {
    push_key(w, "settings");
    if (st->child == NULL) fail_at(w, 0, "must not be empty (leave the key out)");
    else load_h3_settings(w, st, h);
    pop(w);
  }
  const jv *ho = w->failed ? NULL : member(w, h3j, "navigate_header_order", JV_ARRAY, 0);
  if (ho) {
    push_key(w, "navigate_header_order");
    load_h3_order(w, ho, h);
    pop(w);
  }
  if (!w->failed) copy_text(w, h3j, "navigate_priority", h->nav_priority,
                            sizeof(h->nav_priority), 0);
  const jv *us = w->failed ? NULL : member(w, h3j, "uni_streams", JV_ARRAY, 0);
  if (us) {
    push_key(w, "uni_streams");
    load_h3_uni(w, us, h);
    pop(w);
  }
  h->qpack_decoder_lazy = get_bool(w, h3j, "qpack_decoder_stream_lazy", 0);
  h->priority_update = get_bool(w, h3j, "priority_update", 0);
  copy_text(w, h3j, "source", h->source, sizeof(h->source), 0);
}

int profile_load(const char *text, size_t len, const char *file, profile *out, char *err,
                 size_t errlen) {
  jv_doc doc;
  const char *syntax;
  size_t at;
  if (jv_parse(text, len, &doc, &syntax, &at) != 0) {
    int line, col;
    jread_line_col(text, len, at, &line, &col);
    snprintf(err, errlen, "%s:%d:%d: %s", file, line, col, syntax);
    return PROFILE_ERR_SYNTAX;
  }
  const jv *root = doc.root;
  walk w = {.text = text, .len = len, .root = root, .file = file, .err = err, .errlen = errlen};
  profile *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    jv_free(&doc);
    snprintf(err, errlen, "%s: out of memory", file);
    return PROFILE_ERR_NOMEM;
  }
  int format = 0;
  if (!(root->type == JV_OBJECT)) fail_at(&w, 0, "a profile is a JSON object");
  if (!w.failed) {
    static const char *const keys[] = {"format", "name", "description", "source", "tls",
                                       "http2", "http3", "headers", "expected", NULL};
    only_keys(&w, root, keys);
    format = (int)get_int(&w, root, "format", 1, 2, 0);
    if (format == 0 && !w.failed) fail_at(&w, 0, "missing \"format\": 1 or 2");
    copy_string(&w, root, "name", p->name, sizeof(p->name), 1);
    if (!w.failed) check_name(&w, p->name);
    copy_text(&w, root, "description", p->description, sizeof(p->description), 0);
    copy_text(&w, root, "source", p->source, sizeof(p->source), 0);
    const jv *tls = member(&w, root, "tls", JV_OBJECT, 1);
    if (tls && !w.failed) {
      push_key(&w, "tls");
      load_tls(&w, tls, p);
      if (!w.failed) check_extension_contents(&w, &p->tls);
      if (!w.failed) check_tls_consistency(&w, &p->tls);
      pop(&w);
    }
    const jv *h2 = member(&w, root, "http2", JV_OBJECT, 0);
    if (h2 && !w.failed) {
      push_key(&w, "http2");
      load_http2(&w, h2, p);
      pop(&w);
    } else if (!h2) {
      h2_shape_init(&p->h2);
    }
    const jv *h3 = member(&w, root, "http3", JV_OBJECT, 0);
    if (h3 && !w.failed) {
      push_key(&w, "http3");
      if (format < 2) fail_at(&w, 1, "\"http3\" needs \"format\": 2");
      else load_http3(&w, h3, &p->h3);
      pop(&w);
    }
    const jv *headers = member(&w, root, "headers", JV_OBJECT, 0);
    if (headers && !w.failed) {
      push_key(&w, "headers");
      static const char *const hkeys[] = {"navigation", "navigate-post", "fetch-cors",
                                          "fetch-same-origin", "fetch-no-cors", "script",
                                          "style", "image", "font", "iframe", NULL};
      only_keys(&w, headers, hkeys);
      const jv *nav = member(&w, headers, "navigation", JV_OBJECT, 0);
      if (nav && !w.failed) {
        push_key(&w, "navigation");
        static const char *const nkeys[] = {"h2", "http1", NULL};
        only_keys(&w, nav, nkeys);
        /* An empty "http1" would read as none: the h2 list, Title-Cased. */
        not_empty(&w, nav, "http1", "leave the key out to use the h2 list");
        p->n_nav_h2 = header_list(&w, nav, "h2", p->nav_h2, 1, PROFILE_MAX_HEADERS);
        p->n_nav_h1 = header_list(&w, nav, "http1", p->nav_h1, 0, PROFILE_MAX_HEADERS);
        if (!w.failed) same_identity(&w, "http1", p->nav_h1, p->n_nav_h1, p);
        pop(&w);
      }
      for (int k = 1; k < PROFILE_KIND_COUNT && !w.failed; k++) {
        const char *kn = profile_kind_name((profile_kind_id)k);
        const jv *kj = member(&w, headers, kn, JV_OBJECT, 0);
        if (kj == NULL || w.failed) continue;
        push_key(&w, kn);
        if (format < 2) fail_at(&w, 1, "request kinds other than navigation need \"format\": 2");
        else load_kind(&w, kj, &p->kinds[k], p);
        pop(&w);
      }
      pop(&w);
    }
    const jv *exp = member(&w, root, "expected", JV_OBJECT, 0);
    if (exp && !w.failed) {
      push_key(&w, "expected");
      static const char *const ekeys[] = {"ja4", "ja3", "ja3n", "akamai", "peetprint", "source", NULL};
      only_keys(&w, exp, ekeys);
      copy_fingerprint(&w, exp, "ja4", p->expected.ja4, sizeof(p->expected.ja4));
      copy_fingerprint(&w, exp, "ja3", p->expected.ja3, sizeof(p->expected.ja3));
      copy_fingerprint(&w, exp, "ja3n", p->expected.ja3n, sizeof(p->expected.ja3n));
      copy_fingerprint(&w, exp, "akamai", p->expected.akamai, sizeof(p->expected.akamai));
      copy_fingerprint(&w, exp, "peetprint", p->expected.peetprint, sizeof(p->expected.peetprint));
      copy_text(&w, exp, "source", p->expected.source, sizeof(p->expected.source), 0);
      pop(&w);
    }
  }
  /* What this build cannot send is a load error too: apply the TLS shape to a
   * scratch context (the patch series checks every list). */
  if (!w.failed) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    const char *why = NULL;
    if (ctx == NULL || tls_shape_apply_ctx(ctx, &p->tls, &why) != 0) {
      w.depth = 0;
      push_key(&w, "tls");
      w.unsupported = 1;
      fail_at(&w, 1, "this build cannot send it: %s", why ? why : "out of memory");
    }
    /* A listed type the library does not write and raw_extensions does not give
     * would fail every handshake; list entries are distinct, raw ones already
     * added to |ctx| answer "implemented". */
    for (size_t i = 0; !w.failed && i < p->tls.n_extensions; i++) {
      if (tls_shape_ext_implemented(ctx, p->tls.extensions[i])) continue;
      w.depth = 0;
      push_key(&w, "tls");
      push_key(&w, "extensions");
      push_index(&w, i);
      fail_at(&w, 0, "the TLS library does not implement this extension: give its body in \"raw_extensions\"");
    }
    SSL_CTX_free(ctx);
  }
  jv_free(&doc);
  if (!w.failed) *out = *p;
  free(p);
  return !w.failed ? 0 : w.unsupported ? PROFILE_ERR_UNSUPPORTED : PROFILE_ERR_INVALID;
}

int profile_load_file(const char *path, profile *out, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return PROFILE_ERR_SYNTAX;
  }
  char *buf = malloc(PROFILE_MAX_FILE + 1);
  size_t n = buf ? fread(buf, 1, PROFILE_MAX_FILE + 1, f) : 0;
  fclose(f);
  if (buf == NULL || n > PROFILE_MAX_FILE) {
    free(buf);
    snprintf(err, errlen, "%s: larger than %u bytes", path, PROFILE_MAX_FILE);
    return PROFILE_ERR_SYNTAX;
  }
  int r = profile_load(buf, n, path, out, err, errlen);
  free(buf);
  return r;
}

/* ---- built-in profiles (profiles_builtin.c, generated) ---------------------------- */

struct profile_builtin {
  const char *name;
  const unsigned char *data;
  size_t len;
};
extern const struct profile_builtin profile_builtins[];
extern const size_t profile_builtins_count;

size_t profile_builtin_count(void) { return profile_builtins_count; }

const char *profile_builtin_name(size_t i) {
  return i < profile_builtins_count ? profile_builtins[i].name : NULL;
}

/* ---- aliases: a browser's name for its newest built-in profile ---------------------- */

static const char *const profile_aliases[] = {"chrome", "firefox", "safari", "edge",
                                              "chrome-android", "safari-ios"};
#define N_PROFILE_ALIASES (sizeof(profile_aliases) / sizeof(profile_aliases[0]))

size_t profile_alias_count(void) { return N_PROFILE_ALIASES; }

const char *profile_alias_name(size_t i) { return i < N_PROFILE_ALIASES ? profile_aliases[i] : NULL; }

/* The version in |name| when it is one of |alias|'s profiles: |alias|, "-", then
 * a version (digits and dots, starting with a digit), then nothing or "-" and a
 * platform ("safari-26.0.1-macos"); "firefox" takes "firefox-esr-" too. NULL
 * otherwise ("chrome-android-143" is not a "chrome" one: "android" is no version). */
static const char *alias_version(const char *alias, const char *name) {
  size_t n = strlen(alias);
  if (strncmp(name, alias, n) != 0 || name[n] != '-') return NULL;
  const char *v = name + n + 1;
  if (strcmp(alias, "firefox") == 0 && strncmp(v, "esr-", 4) == 0) v += 4;
  if (*v < '0' || *v > '9') return NULL;
  const char *e = v;
  while ((*e >= '0' && *e <= '9') || *e == '.') e++;
  return *e == '\0' || *e == '-' ? v : NULL;
}

/* Compares two versions part by part as numbers ("26.0.1" > "26", "150" > "99"). */
static int version_cmp(const char *a, const char *b) {
  for (;;) {
    unsigned long x = 0, y = 0;
    int ha = *a >= '0' && *a <= '9', hb = *b >= '0' && *b <= '9';
    if (!ha && !hb) return 0;
    while (*a >= '0' && *a <= '9' && x < 100000000) x = x * 10 + (unsigned long)(*a++ - '0');
    while (*b >= '0' && *b <= '9' && y < 100000000) y = y * 10 + (unsigned long)(*b++ - '0');
    if (x != y) return x < y ? -1 : 1;
    if (*a == '.') a++;
    if (*b == '.') b++;
  }
}

const char *profile_alias_target(const char *name) {
  size_t a;
  for (a = 0; a < N_PROFILE_ALIASES; a++)
    if (strcmp(profile_aliases[a], name) == 0) break;
  if (a == N_PROFILE_ALIASES) return NULL;
  const char *best = NULL, *best_v = NULL;
  for (size_t i = 0; i < profile_builtins_count; i++) {
    const char *v = alias_version(name, profile_builtins[i].name);
    if (v && (best == NULL || version_cmp(v, best_v) > 0)) {
      best = profile_builtins[i].name;
      best_v = v;
    }
  }
  return best;
}

static const struct profile_builtin *builtin_find(const char *name) {
  for (int pass = 0; pass < 2 && name; pass++) {
    for (size_t i = 0; i < profile_builtins_count; i++)
      if (strcmp(profile_builtins[i].name, name) == 0) return &profile_builtins[i];
    name = profile_alias_target(name); /* a profile's own name first, then an alias */
  }
  return NULL;
}

const char *profile_builtin_text(const char *name, size_t *len) {
  const struct profile_builtin *b = builtin_find(name);
  if (b == NULL) return NULL;
  *len = b->len;
  return (const char *)b->data;
}

int profile_load_builtin(const char *name, profile *out, char *err, size_t errlen) {
  const struct profile_builtin *b = builtin_find(name);
  if (b == NULL) {
    snprintf(err, errlen, "no built-in profile \"%s\" (guise profile list)", name);
    return PROFILE_ERR_NOT_FOUND;
  }
  size_t len = b->len;
  const char *text = (const char *)b->data;
  char file[PROFILE_MAX_NAME + 32];
  snprintf(file, sizeof(file), "profiles/%s.json", b->name);
  return profile_load(text, len, file, out, err, errlen);
}

/* ---- Coherence (profile.h: profile_coherence) ------------------------------------ */

/* The value of |name| in the navigation h2 list, or NULL. */
static const char *nav_value(const profile *p, const char *name) {
  for (size_t i = 0; i < p->n_nav_h2; i++)
    if (!strcasecmp(p->nav_h2[i].name, name)) return p->nav_h2[i].value;
  return NULL;
}

/* The number after |token| in |s| ("Chrome/" in a user-agent, "\"Chromium\";v=\""
 * in sec-ch-ua), or -1. */
static long number_after(const char *s, const char *token) {
  const char *t = s ? strstr(s, token) : NULL;
  if (t == NULL) return -1;
  t += strlen(token);
  if (*t < '0' || *t > '9') return -1;
  long v = 0;
  while (*t >= '0' && *t <= '9' && v < 100000) v = v * 10 + (*t++ - '0');
  return v;
}

static int has_group(const tls_shape *s, uint16_t g) {
  for (size_t i = 0; i < s->n_groups; i++)
    if (s->groups[i] == g) return 1;
  return 0;
}

static int is_grease_value(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

/* The sec-ch-ua-platform a user-agent implies (the UA-CH spec's values), or NULL. */
static const char *ua_platform(const char *ua) {
  if (strstr(ua, "Android")) return "Android";
  if (strstr(ua, "CrOS")) return "Chrome OS";
  if (strstr(ua, "iPhone") || strstr(ua, "iPad")) return "iOS";
  if (strstr(ua, "Windows")) return "Windows";
  if (strstr(ua, "Macintosh")) return "macOS";
  if (strstr(ua, "Linux") || strstr(ua, "X11")) return "Linux";
  return NULL;
}

typedef struct coherence {
  const profile *p;
  void (*warn)(void *ud, const char *msg);
  void *ud;
  int n;
} coherence;

static void incoherent(coherence *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void incoherent(coherence *c, const char *fmt, ...) {
  char msg[768];
  int o = snprintf(msg, sizeof(msg), "profile \"%s\": ", c->p->name);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + o, sizeof(msg) - (size_t)o, fmt, ap);
  va_end(ap);
  c->n++;
  if (c->warn) c->warn(c->ud, msg);
}

/* The ClientHello of a Chrome user-agent against the version bands the reference
 * captures show (curl-impersonate's tests/signatures, tests/data/browsers.json):
 * extension permutation from Chrome 110 (chrome_107 has none, chrome_110
 * tls_permute_extensions); the hybrid group X25519Kyber768Draft00 (0x6399) from
 * Chrome 124 (chrome_123 has no post-quantum group, chrome_124 offers 0x6399) and
 * X25519MLKEM768 (0x11ec) from Chrome 131 (chrome_131 offers 0x11ec: Chrome moved to
 * ML-KEM in 131); the ALPS code point 17513 up to Chrome 131 and 17613 from Chrome 133
 * (chrome_131 application_settings, chrome_133 application_settings_new). Bands
 * without a capture (108, 109, 132) are given the benefit of the doubt. */
static void chrome_hello(coherence *c, long v) {
  const tls_shape *s = &c->p->tls;
  if (v >= 110 && !s->permute_extensions)
    incoherent(c, "user-agent says Chrome %ld but tls.permute_extensions is off (Chrome shuffles its "
               "extensions from 110 on)", v);
  if (v <= 107 && s->permute_extensions)
    incoherent(c, "user-agent says Chrome %ld but tls.permute_extensions is on (Chrome shuffles its "
               "extensions only from 110 on)", v);
  int kyber = has_group(s, 0x6399), mlkem = has_group(s, 0x11ec);
  if (v >= 131 && kyber && !mlkem)
    incoherent(c, "user-agent says Chrome %ld but tls.supported_groups offers X25519Kyber768Draft00 "
               "(0x6399), Chrome 124-130's hybrid group (Chrome 131 and later offer X25519MLKEM768, 0x11ec)", v);
  else if (v >= 131 && !mlkem)
    incoherent(c, "user-agent says Chrome %ld but tls.supported_groups has no X25519MLKEM768 (0x11ec), "
               "which Chrome offers from 131 on", v);
  else if (v >= 124 && v < 131 && !kyber)
    incoherent(c, "user-agent says Chrome %ld but tls.supported_groups has no X25519Kyber768Draft00 "
               "(0x6399), which Chrome 124-130 offer%s", v, mlkem ? " (X25519MLKEM768 came with 131)" : "");
  else if (v < 124 && (kyber || mlkem))
    incoherent(c, "user-agent says Chrome %ld but tls.supported_groups offers %s, a hybrid group Chrome "
               "sends only from 124 on", v, mlkem ? "X25519MLKEM768 (0x11ec)" : "X25519Kyber768Draft00 (0x6399)");
  if (s->n_alps && s->alps_codepoint == 17513 && v >= 133)
    incoherent(c, "user-agent says Chrome %ld but tls.alps.codepoint is 17513, the code point Chrome used "
               "up to 131 (17613 from 133 on)", v);
  if (s->n_alps && s->alps_codepoint == 17613 && v <= 131)
    incoherent(c, "user-agent says Chrome %ld but tls.alps.codepoint is 17613, the code point Chrome uses "
               "only from 133 on (17513 before)", v);
}

int profile_coherence(const profile *p, void (*warn)(void *ud, const char *msg), void *ud) {
  coherence c = {.p = p, .warn = warn, .ud = ud};
  const char *ua = nav_value(p, "user-agent");
  const char *ch = nav_value(p, "sec-ch-ua");
  const char *plat = nav_value(p, "sec-ch-ua-platform");
  const char *mobile = nav_value(p, "sec-ch-ua-mobile");
  if (ua == NULL || *ua == '\0') {
    incoherent(&c, "headers.navigation.h2 has no user-agent: every browser sends one, a request "
               "without it stands out at once");
    return c.n;
  }
  /* The families by their user-agent tokens: Chromium-based ("Chrome/N", Edge adds
   * "Edg/N"), Firefox ("Firefox/N" with "Gecko/"), Safari ("Version/N ... Safari/"
   * without Chrome/). */
  long chrome = number_after(ua, "Chrome/");
  long firefox = strstr(ua, "Gecko/") ? number_after(ua, "Firefox/") : -1;
  int safari = chrome < 0 && firefox < 0 && strstr(ua, "Safari/") && strstr(ua, "Version/");
  const tls_shape *s = &p->tls;
  int grease = 0;
  for (size_t i = 0; i < s->n_ciphers; i++) grease |= is_grease_value(s->ciphers[i]);

  if (chrome < 0) {
    /* User-agent client hints are Chromium's alone: Firefox and Safari send no
     * sec-ch-ua* field (MDN's compatibility tables of Sec-CH-UA*). */
    for (size_t i = 0; i < p->n_nav_h2; i++)
      if (!strncasecmp(p->nav_h2[i].name, "sec-ch-ua", 9)) {
        if (firefox >= 0)
          incoherent(&c, "user-agent says Firefox %ld but headers.navigation.h2 has %s: only Chromium browsers "
                     "send user-agent client hints", firefox, p->nav_h2[i].name);
        else
          incoherent(&c, "user-agent is not Chromium's (\"%.60s\") but headers.navigation.h2 has %s: only "
                     "Chromium browsers send user-agent client hints", ua, p->nav_h2[i].name);
        break;
      }
  }
  if (chrome >= 0) {
    long edge = number_after(ua, "Edg/");
    long brand = number_after(ch, "\"Chromium\";v=\"");
    if (ch == NULL)
      incoherent(&c, "user-agent says Chrome %ld but headers.navigation.h2 has no sec-ch-ua: Chromium "
                 "sends it on every request to https", chrome);
    else if (brand >= 0 && brand != chrome)
      incoherent(&c, "user-agent says Chrome %ld but sec-ch-ua says Chromium %ld", chrome, brand);
    long gc = number_after(ch, "\"Google Chrome\";v=\"");
    if (gc >= 0 && gc != chrome)
      incoherent(&c, "user-agent says Chrome %ld but sec-ch-ua says Google Chrome %ld", chrome, gc);
    long me = number_after(ch, "\"Microsoft Edge\";v=\"");
    if (me >= 0 && edge >= 0 && me != edge)
      incoherent(&c, "user-agent says Edge %ld but sec-ch-ua says Microsoft Edge %ld", edge, me);
    if (me >= 0 && edge < 0)
      incoherent(&c, "sec-ch-ua names Microsoft Edge but the user-agent has no Edg/ token");
    const char *want = ua_platform(ua);
    if (plat && want) {
      size_t n = strlen(plat);
      int same = n == strlen(want) + 2 && plat[0] == '"' && plat[n - 1] == '"' &&
                 !strncmp(plat + 1, want, n - 2);
      if (!same)
        incoherent(&c, "user-agent is %s's (\"%.60s\") but sec-ch-ua-platform is %s", want, ua, plat);
    }
    if (mobile) {
      int ua_mobile = strstr(ua, "Mobile") != NULL;
      if (ua_mobile != !strcmp(mobile, "?1"))
        incoherent(&c, "user-agent %s \"Mobile\" but sec-ch-ua-mobile is %s", ua_mobile ? "has" : "has no",
                   mobile);
    }
    chrome_hello(&c, chrome);
    if (!grease)
      incoherent(&c, "user-agent says Chrome %ld but tls.cipher_suites has no GREASE: Chrome has sent "
                 "GREASE since 55", chrome);
    if (strcmp(p->h2.pseudo_order, "masp"))
      incoherent(&c, "user-agent says Chrome %ld but http2.pseudo_headers is not Chrome's order "
                 "(:method :authority :scheme :path)", chrome);
  }
  if (firefox >= 0) {
    if (grease)
      incoherent(&c, "user-agent says Firefox %ld but tls.cipher_suites has GREASE, which Firefox does not "
                 "send (a Chromium- or Safari-shaped hello)", firefox);
    if (s->n_alps)
      incoherent(&c, "user-agent says Firefox %ld but tls.alps is set: ALPS is Chromium's alone", firefox);
    if (strcmp(p->h2.pseudo_order, "mpas"))
      incoherent(&c, "user-agent says Firefox %ld but http2.pseudo_headers is not Firefox's order "
                 "(:method :path :authority :scheme)", firefox);
    /* X25519MLKEM768: curl-impersonate's firefox_133 offers it, tor_14.5 (Firefox
     * 128 ESR) does not; 129-132 are not judged. */
    int mlkem = has_group(s, 0x11ec);
    if (firefox >= 133 && !mlkem)
      incoherent(&c, "user-agent says Firefox %ld but tls.supported_groups has no X25519MLKEM768 (0x11ec), "
                 "which Firefox offers from 133 on", firefox);
    if (firefox <= 128 && mlkem)
      incoherent(&c, "user-agent says Firefox %ld but tls.supported_groups offers X25519MLKEM768 (0x11ec), "
                 "which Firefox 128 did not", firefox);
  }
  if (safari && s->n_alps)
    incoherent(&c, "user-agent is Safari's but tls.alps is set: ALPS is Chromium's alone");
  return c.n;
}

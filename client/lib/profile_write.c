/* profile_write.c — see profile_write.h. */
#include "profile_write.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

/* Nesting of the format: root, tls, alps or raw_extensions, an entry: 4. */
#define PW_MAX_DEPTH 8

/* The text being written: indented as jansson's JSON_INDENT(2) writes it (and
 * Python's json.dump(indent=2), which wrote some of the shipped files): one member
 * per line, "key": value, empty lists as [], no space before a comma. */
typedef struct pw {
  char *buf; /* malloc'd: the caller frees the text with free() */
  size_t len, cap;
  int failed; /* out of memory, or past PROFILE_MAX_FILE */
  int too_long;
  int depth;
  int first[PW_MAX_DEPTH]; /* nothing written yet at this level */
} pw;

static void put(pw *w, const void *s, size_t n) {
  if (w->failed) return;
  if (n > PROFILE_MAX_FILE - w->len) {
    w->failed = w->too_long = 1;
    return;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 8192;
    while (cap < w->len + n) cap *= 2;
    if (cap > PROFILE_MAX_FILE) cap = PROFILE_MAX_FILE;
    char *b = realloc(w->buf, cap);
    if (b == NULL) {
      w->failed = 1;
      return;
    }
    w->buf = b;
    w->cap = cap;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

static void puts_(pw *w, const char *s) { put(w, s, strlen(s)); }

static void newline(pw *w) {
  static const char spaces[2 * PW_MAX_DEPTH + 1] = "                ";
  put(w, "\n", 1);
  put(w, spaces, 2 * (size_t)w->depth);
}

static void open_(pw *w, char c) {
  put(w, &c, 1);
  w->depth++;
  w->first[w->depth] = 1;
}

static void close_(pw *w, char c) {
  int empty = w->first[w->depth];
  w->depth--;
  if (!empty) newline(w);
  put(w, &c, 1);
}

/* Before each member of an object or an array. */
static void item(pw *w) {
  if (!w->first[w->depth]) put(w, ",", 1);
  w->first[w->depth] = 0;
  newline(w);
}

/* A JSON string: '"', '\\' and control characters escaped (the short forms where
 * RFC 8259 has one, \u00XX otherwise), every other byte as it is. */
static void str(pw *w, const char *s) {
  put(w, "\"", 1);
  const char *run = s;
  for (const char *c = s;; c++) {
    unsigned char u = (unsigned char)*c;
    if (u != 0 && u != '"' && u != '\\' && u >= 0x20) continue;
    put(w, run, (size_t)(c - run));
    if (u == 0) break;
    char esc[8];
    switch (u) {
      case '"': puts_(w, "\\\""); break;
      case '\\': puts_(w, "\\\\"); break;
      case '\b': puts_(w, "\\b"); break;
      case '\f': puts_(w, "\\f"); break;
      case '\n': puts_(w, "\\n"); break;
      case '\r': puts_(w, "\\r"); break;
      case '\t': puts_(w, "\\t"); break;
      default:
        snprintf(esc, sizeof(esc), "\\u%04X", u);
        puts_(w, esc);
    }
    run = c + 1;
  }
  put(w, "\"", 1);
}

static void key(pw *w, const char *k) {
  item(w);
  str(w, k);
  put(w, ": ", 2);
}

static void num(pw *w, unsigned long long v) {
  char b[24];
  snprintf(b, sizeof(b), "%llu", v);
  puts_(w, b);
}

static void boolean(pw *w, int v) { puts_(w, v ? "true" : "false"); }

/* A code point of |kind| by name (names.h). */
static void code(pw *w, name_kind kind, uint16_t v) {
  const char *n = NULL;
  if (v == 0x0a0a && kind != NAME_CERTCOMP && kind != NAME_H2_SETTING) n = "GREASE";
  if (n == NULL) n = name_of_value(kind, v);
  char hex[8];
  if (n == NULL) {
    snprintf(hex, sizeof(hex), "0x%04x", v);
    n = hex;
  }
  str(w, n);
}

static void key_string(pw *w, const char *k, const char *v) {
  if (v[0] == '\0') return;
  key(w, k);
  str(w, v);
}

static void key_bool(pw *w, const char *k, int v) {
  key(w, k);
  boolean(w, v);
}

static void key_num(pw *w, const char *k, unsigned long long v) {
  key(w, k);
  num(w, v);
}

/* A list of code points; left out when empty (the loader refuses an empty one
 * where a missing key means the library's default). */
static void key_codes(pw *w, const char *k, name_kind kind, const uint16_t *v, size_t n) {
  if (n == 0) return;
  key(w, k);
  open_(w, '[');
  for (size_t i = 0; i < n; i++) {
    item(w);
    code(w, kind, v[i]);
  }
  close_(w, ']');
}

static void protocols(pw *w, const char *k, const char (*v)[TLS_SHAPE_MAX_PROTO], size_t n) {
  if (n == 0) return;
  key(w, k);
  open_(w, '[');
  for (size_t i = 0; i < n; i++) {
    item(w);
    str(w, v[i]);
  }
  close_(w, ']');
}

/* |p| NULL: the QUIC hello of "http3" (no session_ticket, resumption, aes_hardware). */
static void write_tls_shape(pw *w, const tls_shape *s, const profile *p) {
  key(w, "tls");
  open_(w, '{');
  key_codes(w, "versions", NAME_VERSION, s->versions, s->n_versions);
  key_codes(w, "cipher_suites", NAME_CIPHER, s->ciphers, s->n_ciphers);
  key_codes(w, "extensions", NAME_EXTENSION, s->extensions, s->n_extensions);
  key_bool(w, "permute_extensions", s->permute_extensions);
  if (s->n_raw) {
    key(w, "raw_extensions");
    open_(w, '[');
    for (size_t i = 0; i < s->n_raw; i++) {
      item(w);
      open_(w, '{');
      key(w, "type");
      code(w, NAME_EXTENSION, s->raw[i].type);
      key(w, "data");
      char hex[2 * TLS_SHAPE_MAX_RAW_BODY + 1];
      size_t len = s->raw[i].len <= TLS_SHAPE_MAX_RAW_BODY ? s->raw[i].len : TLS_SHAPE_MAX_RAW_BODY;
      for (size_t k = 0; k < len; k++) snprintf(hex + 2 * k, 3, "%02x", s->raw[i].body[k]);
      hex[2 * len] = '\0';
      str(w, hex);
      close_(w, '}');
    }
    close_(w, ']');
  }
  key_codes(w, "supported_groups", NAME_GROUP, s->groups, s->n_groups);
  key_codes(w, "key_shares", NAME_GROUP, s->key_shares, s->n_key_shares);
  key_codes(w, "signature_algorithms", NAME_SIGALG, s->sigalgs, s->n_sigalgs);
  key_codes(w, "delegated_credentials", NAME_SIGALG, s->dc_sigalgs, s->n_dc_sigalgs);
  protocols(w, "alpn", s->alpn, s->n_alpn);
  /* The code point alone (no protocols) loads too, and is kept. */
  if (s->n_alps || s->alps_codepoint != 17513) {
    key(w, "alps");
    open_(w, '{');
    key_num(w, "codepoint", s->alps_codepoint);
    protocols(w, "protocols", s->alps, s->n_alps);
    close_(w, '}');
  }
  key_codes(w, "certificate_compression", NAME_CERTCOMP, s->certcomp, s->n_certcomp);
  if (s->record_size_limit) key_num(w, "record_size_limit", s->record_size_limit);
  key_bool(w, "ech_grease", s->ech_grease);
  key_bool(w, "status_request", s->status_request);
  key_bool(w, "signed_certificate_timestamps", s->sct);
  if (p) {
    key_bool(w, "session_ticket", s->session_ticket);
    key_bool(w, "resumption", p->resumption);
    key_bool(w, "aes_hardware", s->aes_hw != 0);
  }
  close_(w, '}');
}

static void write_tls(pw *w, const profile *p) { write_tls_shape(w, &p->tls, p); }

static void priority(pw *w, const h2_priority *pr) {
  key_num(w, "weight", pr->weight);
  key_bool(w, "exclusive", pr->exclusive);
  key_num(w, "depends_on", pr->depends_on);
}

/* h2_shape_init()'s shape: what a profile without "http2" loads to. */
static int h2_default(const h2_shape *s) {
  return s->n_settings == 0 && s->window_update == 0 && s->n_priority_frames == 0 &&
         !s->headers_priority_flag && !s->headers_priority_chain && !s->cookie_crumbs &&
         !s->wait_for_server_settings &&
         s->first_stream_id == 1 && strcmp(s->pseudo_order, "masp") == 0;
}

static void write_http2(pw *w, const h2_shape *s) {
  key(w, "http2");
  open_(w, '{');
  key(w, "settings");
  open_(w, '[');
  for (size_t i = 0; i < s->n_settings; i++) {
    item(w);
    open_(w, '[');
    item(w);
    code(w, NAME_H2_SETTING, s->settings[i].id);
    item(w);
    num(w, s->settings[i].value);
    close_(w, ']');
  }
  close_(w, ']');
  key_num(w, "window_update", s->window_update);
  key(w, "priority_frames");
  open_(w, '[');
  for (size_t i = 0; i < s->n_priority_frames; i++) {
    item(w);
    open_(w, '{');
    key_num(w, "stream", s->priority_frames[i].stream_id);
    priority(w, &s->priority_frames[i].priority);
    close_(w, '}');
  }
  close_(w, ']');
  key(w, "headers_priority");
  if (s->headers_priority_flag) {
    open_(w, '{');
    priority(w, &s->headers_priority);
    if (s->headers_priority_chain) key_bool(w, "chain", 1);
    close_(w, '}');
  } else {
    puts_(w, "null");
  }
  key_num(w, "first_stream_id", s->first_stream_id);
  key(w, "pseudo_headers");
  open_(w, '[');
  for (const char *c = s->pseudo_order; *c; c++) {
    item(w);
    str(w, *c == 'm' ? ":method" : *c == 'a' ? ":authority" : *c == 's' ? ":scheme" : *c == 'p' ? ":path" : "?");
  }
  close_(w, ']');
  if (s->cookie_crumbs) key_bool(w, "cookie_crumbs", 1);
  if (s->wait_for_server_settings) key_bool(w, "wait_for_server_settings", 1);
  close_(w, '}');
}

static void hex_string(pw *w, const uint8_t *b, size_t n) {
  char hex[2 * PROFILE_H3_MAX_PARAM_DATA + 1];
  if (n > PROFILE_H3_MAX_PARAM_DATA) n = PROFILE_H3_MAX_PARAM_DATA;
  for (size_t k = 0; k < n; k++) snprintf(hex + 2 * k, 3, "%02x", b[k]);
  hex[2 * n] = '\0';
  str(w, hex);
}

static void quic_version(pw *w, uint32_t v) {
  char b[16];
  snprintf(b, sizeof(b), "0x%08x", v);
  str(w, v ? b : "GREASE");
}

static void cid_range(pw *w, const char *k, int lo, int hi) {
  key(w, k);
  open_(w, '[');
  item(w);
  num(w, (unsigned long long)lo);
  item(w);
  num(w, (unsigned long long)hi);
  close_(w, ']');
}

static void write_http3(pw *w, const profile_http3 *h) {
  key(w, "http3");
  open_(w, '{');
  key(w, "quic_version");
  quic_version(w, h->quic_version);
  cid_range(w, "dcid_length", h->dcid_min, h->dcid_max);
  cid_range(w, "scid_length", h->scid_min, h->scid_max);
  if (h->initial_ipv4 || h->initial_ipv6) {
    key(w, "initial_size");
    open_(w, '{');
    if (h->initial_ipv4) key_num(w, "ipv4", (unsigned long long)h->initial_ipv4);
    if (h->initial_ipv6) key_num(w, "ipv6", (unsigned long long)h->initial_ipv6);
    close_(w, '}');
  }
  key(w, "initial_padding");
  str(w, h->zero_padding ? "zeros" : "frames");
  write_tls_shape(w, &h->tls, NULL);
  key(w, "transport_parameters");
  open_(w, '[');
  for (size_t i = 0; i < h->n_params; i++) {
    const profile_h3_param *q = &h->params[i];
    item(w);
    open_(w, '{');
    key(w, "id");
    if (q->kind == PROFILE_H3_PARAM_GREASE) str(w, "GREASE");
    else num(w, q->id);
    switch (q->kind) {
      case PROFILE_H3_PARAM_VALUE: key_num(w, "value", q->value); break;
      case PROFILE_H3_PARAM_GREASE: cid_range(w, "length", (int)q->len, (int)q->len_max); break;
      case PROFILE_H3_PARAM_SCID: key_bool(w, "source_connection_id", 1); break;
      case PROFILE_H3_PARAM_DATA:
        key(w, "data");
        hex_string(w, q->data, q->len);
        break;
      case PROFILE_H3_PARAM_VERSIONS:
        key(w, "versions");
        open_(w, '[');
        for (size_t k = 0; k < q->n_versions; k++) {
          item(w);
          quic_version(w, q->versions[k]);
        }
        close_(w, ']');
        break;
    }
    close_(w, '}');
  }
  close_(w, ']');
  key_bool(w, "permute_transport_parameters", h->permute_params);
  if (h->n_settings) {
    key(w, "settings");
    open_(w, '[');
    for (size_t i = 0; i < h->n_settings; i++) {
      item(w);
      open_(w, '{');
      key(w, "id");
      if (h->settings[i].grease) {
        str(w, "GREASE");
      } else {
        num(w, h->settings[i].id);
        key_num(w, "value", h->settings[i].value);
      }
      close_(w, '}');
    }
    close_(w, ']');
  }
  if (h->n_nav_order) {
    key(w, "navigate_header_order");
    open_(w, '[');
    for (size_t i = 0; i < h->n_nav_order; i++) {
      item(w);
      str(w, h->nav_order[i]);
    }
    close_(w, ']');
  }
  key_string(w, "navigate_priority", h->nav_priority);
  if (h->n_uni) {
    static const char *const kinds[] = {"control", "qpack_encoder", "qpack_decoder"};
    key(w, "uni_streams");
    open_(w, '[');
    for (size_t i = 0; i < h->n_uni; i++) {
      item(w);
      str(w, kinds[h->uni[i]]);
    }
    close_(w, ']');
  }
  if (h->qpack_decoder_lazy) key_bool(w, "qpack_decoder_stream_lazy", 1);
  if (h->priority_update) key_bool(w, "priority_update", 1);
  key_string(w, "source", h->source);
  close_(w, '}');
}

static void header_list(pw *w, const char *k, const profile_header *h, size_t n) {
  if (n == 0) return;
  key(w, k);
  open_(w, '[');
  for (size_t i = 0; i < n; i++) {
    item(w);
    open_(w, '[');
    item(w);
    str(w, h[i].name);
    item(w);
    str(w, h[i].value);
    close_(w, ']');
  }
  close_(w, ']');
}

int profile_write(const profile *p, char **out, size_t *len) {
  pw w;
  memset(&w, 0, sizeof(w));
  open_(&w, '{');
  int kinds = 0;
  for (int k = 1; k < PROFILE_KIND_COUNT; k++) kinds |= p->kinds[k].present;
  key_num(&w, "format", kinds || p->h3.present ? 2 : 1);
  key(&w, "name");
  str(&w, p->name);
  key_string(&w, "description", p->description);
  key_string(&w, "source", p->source);
  write_tls(&w, p);
  if (!h2_default(&p->h2)) write_http2(&w, &p->h2);
  if (p->h3.present) write_http3(&w, &p->h3);
  if (p->n_nav_h2 || p->n_nav_h1 || kinds) {
    key(&w, "headers");
    open_(&w, '{');
    if (p->n_nav_h2 || p->n_nav_h1) {
      key(&w, "navigation");
      open_(&w, '{');
      header_list(&w, "h2", p->nav_h2, p->n_nav_h2);
      header_list(&w, "http1", p->nav_h1, p->n_nav_h1);
      close_(&w, '}');
    }
    for (int k = 1; k < PROFILE_KIND_COUNT; k++) {
      const profile_kind *pk = &p->kinds[k];
      if (!pk->present) continue;
      key(&w, profile_kind_name((profile_kind_id)k));
      open_(&w, '{');
      header_list(&w, "h2", pk->h2, pk->n_h2);
      header_list(&w, "http1", pk->h1, pk->n_h1);
      if (pk->priority_flag) {
        key(&w, "headers_priority");
        if (pk->priority_none) {
          puts_(&w, "null");
        } else {
          open_(&w, '{');
          priority(&w, &pk->priority);
          close_(&w, '}');
        }
      }
      close_(&w, '}');
    }
    close_(&w, '}');
  }
  static const char *const ekeys[] = {"ja4", "ja3", "ja3n", "akamai", "peetprint", "source"};
  const char *ev[] = {p->expected.ja4, p->expected.ja3, p->expected.ja3n, p->expected.akamai,
                      p->expected.peetprint, p->expected.source};
  int any = 0;
  for (size_t i = 0; i < 6; i++) any |= ev[i][0] != '\0';
  if (any) {
    key(&w, "expected");
    open_(&w, '{');
    for (size_t i = 0; i < 6; i++) key_string(&w, ekeys[i], ev[i]);
    close_(&w, '}');
  }
  close_(&w, '}');
  put(&w, "", 1); /* the NUL */
  if (w.failed) {
    free(w.buf);
    return w.too_long ? PROFILE_ERR_INVALID : PROFILE_ERR_NOMEM;
  }
  *out = w.buf;
  *len = w.len - 1;
  return 0;
}

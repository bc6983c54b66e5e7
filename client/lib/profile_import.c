/*
 * profile_import.c — a profile from a capture record of the reference data
 * (tests/data/browsers.json: the "tls", "http2" and navigation
 * header blocks of one browser), written in the profile format with IANA names.
 * The shipped profiles are made with it (tools/profiles/make).
 */
#include "profile_import.h"
#include "json_jansson.h"
#include "tls_shape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static json_t *names(json_t *arr, name_kind kind) {
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (json_is_string(v)) {
      const char *s = json_string_value(v);
      /* browsers.json writes versions as TLS_VERSION_1_3 */
      if (kind == NAME_VERSION && strncmp(s, "TLS_VERSION_", 12) == 0) {
        char buf[16];
        snprintf(buf, sizeof(buf), "TLS%c.%c", s[12], s[14]);
        json_array_append_new(out, json_string(buf));
      } else {
        json_array_append_new(out, json_string(s));
      }
      continue;
    }
    uint16_t code = (uint16_t)json_integer_value(v);
    const char *n = name_of_value(kind, code);
    char hex[8];
    snprintf(hex, sizeof(hex), "0x%04x", code);
    json_array_append_new(out, json_string(n ? n : hex));
  }
  return out;
}

json_t *profile_from_browsers_json(json_t *b, const char *name, char *err, size_t errlen) {
  json_t *tls = json_object_get(b, "tls");
  json_t *h2 = json_object_get(b, "http2");
  if (!json_is_object(tls)) {
    snprintf(err, errlen, "the record has no \"tls\" block");
    return NULL;
  }
  json_t *p = json_object();
  json_object_set_new(p, "format", json_integer(1));
  json_object_set_new(p, "name", json_string(name));
  char desc[256];
  snprintf(desc, sizeof(desc), "%s %s on %s", json_string_value(json_object_get(b, "browser")),
           json_string_value(json_object_get(b, "version")),
           json_string_value(json_object_get(b, "os")));
  json_object_set_new(p, "description", json_string(desc));
  char src[512];
  snprintf(src, sizeof(src), "browsers.json %s: %s", json_string_value(json_object_get(b, "id")),
           json_string_value(json_object_get(b, "data_kind")));
  json_object_set_new(p, "source", json_string(src));

  json_t *t = json_object();
  /* A list the record does not give is left out (the loader refuses an empty
   * one); emulation records give "extensions_order" only. */
  json_t *order = json_object_get(tls, "extensions_order_as_captured");
  if (!json_is_array(order)) order = json_object_get(tls, "extensions_order");
  const struct { const char *key, *from; json_t *alt; name_kind kind; } lists[] = {
      {"versions", "supported_versions", NULL, NAME_VERSION},
      {"cipher_suites", "cipher_suites", NULL, NAME_CIPHER},
      {"extensions", NULL, order, NAME_EXTENSION},
      {"supported_groups", "supported_groups", NULL, NAME_GROUP},
      {"key_shares", "key_share_groups", NULL, NAME_GROUP},
      {"signature_algorithms", "signature_algorithms", NULL, NAME_SIGALG},
  };
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
    json_t *from = lists[i].from ? json_object_get(tls, lists[i].from) : lists[i].alt;
    if (json_array_size(from)) json_object_set_new(t, lists[i].key, names(from, lists[i].kind));
    if (i == 2)
      json_object_set_new(t, "permute_extensions",
                          json_boolean(json_is_true(json_object_get(tls, "extension_permutation"))));
  }
  json_t *dc = json_object_get(tls, "delegated_credentials");
  if (json_array_size(dc)) json_object_set_new(t, "delegated_credentials", names(dc, NAME_SIGALG));
  if (json_array_size(json_object_get(tls, "alpn"))) json_object_set(t, "alpn", json_object_get(tls, "alpn"));
  json_t *alps = json_object_get(tls, "alps");
  if (json_is_object(alps)) {
    json_t *a = json_object();
    json_object_set(a, "codepoint", json_object_get(alps, "codepoint"));
    json_object_set(a, "protocols", json_object_get(alps, "protocols"));
    json_object_set_new(t, "alps", a);
  }
  json_t *cc = json_object_get(tls, "compress_certificate");
  if (json_is_array(cc) && json_array_size(cc))
    json_object_set_new(t, "certificate_compression", names(cc, NAME_CERTCOMP));
  json_t *rsl = json_object_get(tls, "record_size_limit");
  if (json_is_integer(rsl)) json_object_set(t, "record_size_limit", rsl);
  json_object_set_new(t, "ech_grease", json_boolean(json_is_true(json_object_get(tls, "encrypted_client_hello_grease"))));
  json_object_set_new(t, "status_request", json_boolean(json_is_true(json_object_get(tls, "status_request"))));
  json_object_set_new(t, "signed_certificate_timestamps",
                      json_boolean(json_is_true(json_object_get(tls, "signed_certificate_timestamp"))));
  json_object_set_new(t, "session_ticket", json_boolean(json_is_true(json_object_get(tls, "session_ticket"))));
  json_object_set_new(t, "resumption", json_true());
  json_object_set_new(t, "aes_hardware", json_true());
  json_object_set_new(p, "tls", t);

  if (json_is_object(h2)) {
    json_t *o = json_object();
    json_t *settings = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(h2, "settings"), i, e) {
      uint16_t id = (uint16_t)json_integer_value(json_array_get(e, 0));
      const char *n = name_of_value(NAME_H2_SETTING, id);
      char hex[8];
      snprintf(hex, sizeof(hex), "0x%04x", id);
      json_array_append_new(settings, json_pack("[sO]", n ? n : hex, json_array_get(e, 1)));
    }
    json_object_set_new(o, "settings", settings);
    json_t *wu = json_object_get(h2, "window_update_increment");
    json_object_set_new(o, "window_update", json_integer(json_is_integer(wu) ? json_integer_value(wu) : 0));
    json_t *frames = json_array();
    json_array_foreach(json_object_get(h2, "priority_frames"), i, e) {
      json_array_append_new(frames, json_pack("{s:O, s:O, s:b, s:O}", "stream",
                                              json_object_get(e, "stream_id"), "weight",
                                              json_object_get(e, "weight"), "exclusive",
                                              json_is_true(json_object_get(e, "exclusive")) ||
                                                  json_integer_value(json_object_get(e, "exclusive")) == 1,
                                              "depends_on", json_object_get(e, "depends_on")));
    }
    json_object_set_new(o, "priority_frames", frames);
    json_t *hp = json_object_get(h2, "headers_priority");
    /* A weight of null means the capture did not record it: nothing is invented,
     * the profile says so in its description instead. */
    if (json_is_object(hp) && json_is_true(json_object_get(hp, "priority_flag")) &&
        json_is_null(json_object_get(hp, "weight"))) {
      json_object_set_new(o, "headers_priority", json_null());
      char d2[300];
      snprintf(d2, sizeof(d2), "%s; HEADERS priority not recorded by the capture, not sent",
               json_string_value(json_object_get(p, "description")));
      json_object_set_new(p, "description", json_string(d2));
    } else if (json_is_object(hp) && json_is_true(json_object_get(hp, "priority_flag"))) {
      json_t *x = json_object_get(hp, "exclusive");
      json_object_set_new(o, "headers_priority",
                          json_pack("{s:O, s:b, s:O}", "weight", json_object_get(hp, "weight"),
                                    "exclusive", json_is_true(x) || json_integer_value(x) == 1,
                                    "depends_on", json_object_get(hp, "stream_dependency")));
    } else {
      json_object_set_new(o, "headers_priority", json_null());
    }
    json_t *sid = json_object_get(h2, "headers_stream_id");
    json_object_set_new(o, "first_stream_id", json_integer(json_is_integer(sid) ? json_integer_value(sid) : 1));
    json_object_set(o, "pseudo_headers", json_object_get(h2, "pseudo_header_order"));
    json_object_set_new(p, "http2", o);
  }

  json_t *nav = json_object();
  const char *kinds[2][2] = {{"http_headers_h2_navigation", "h2"}, {"http_headers_h1_navigation", "http1"}};
  for (int k = 0; k < 2; k++) {
    json_t *src_list = json_object_get(b, kinds[k][0]);
    if (!json_is_array(src_list)) continue;
    json_t *list = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(src_list, i, e) {
      json_array_append_new(list, json_pack("[OO]", json_object_get(e, "name"), json_object_get(e, "value")));
    }
    json_object_set_new(nav, kinds[k][1], list);
  }
  json_object_set_new(p, "headers", json_pack("{s:o}", "navigation", nav));

  json_t *fp = json_object_get(b, "fingerprints_computed");
  if (json_is_object(fp)) {
    json_t *x = json_object();
    const char *map[][2] = {{"ja4", "ja4"}, {"ja3_text", "ja3"}, {"ja3n_text", "ja3n"},
                            {"akamai_text", "akamai"}, {"peetprint", "peetprint"}};
    /* JA3 keeps the wire order: for a browser that permutes its extensions
     * the captured one is a single random sample, not something to expect. */
    int permuting = json_is_true(json_object_get(tls, "extension_permutation"));
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
      json_t *v = json_object_get(fp, map[i][0]);
      if (permuting && strcmp(map[i][1], "ja3") == 0) continue;
      if (json_is_string(v)) json_object_set(x, map[i][1], v);
    }
    json_object_set_new(x, "source", json_string("browsers.json fingerprints_computed (from the real capture's fields)"));
    json_object_set_new(p, "expected", x);
  }
  return p;
}

/* ---- from a guise echo log line ------------------------------------------------------ */

/* "1301" (the echo's 4-hex form) as a profile name of |kind|. */
static json_t *hex_name(const char *hex, name_kind kind) {
  uint16_t v = (uint16_t)strtoul(hex, NULL, 16);
  if ((v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff) && kind != NAME_CERTCOMP)
    return json_string("GREASE");
  const char *n = name_of_value(kind, v);
  char buf[8];
  snprintf(buf, sizeof(buf), "0x%04x", v);
  return json_string(n ? n : buf);
}

static json_t *hex_names(json_t *arr, name_kind kind) {
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) json_array_append_new(out, hex_name(json_string_value(v), kind));
  return out;
}

static json_t *ext_by_id(json_t *exts, long id) {
  size_t i;
  json_t *e;
  json_array_foreach(exts, i, e) if (json_integer_value(json_object_get(e, "id")) == id) return e;
  return NULL;
}

static json_t *ext_by_type(json_t *exts, long type) {
  size_t i;
  json_t *e;
  json_array_foreach(exts, i, e) if (json_integer_value(json_object_get(e, "type")) == type) return e;
  return NULL;
}

json_t *profile_from_echo(json_t *rec, const char *name, const char *description, int permute,
                          char *err, size_t errlen) {
  json_t *hello = json_object_get(json_object_get(rec, "tls"), "client_hello");
  json_t *fps = json_object_get(json_object_get(rec, "tls"), "fingerprints");
  json_t *h2 = json_object_get(rec, "http2");
  if (!json_is_object(hello) || !json_is_object(h2) || json_object_get(h2, "error")) {
    snprintf(err, errlen, "the record has no decoded ClientHello and HTTP/2 preface");
    return NULL;
  }
  json_t *exts = json_object_get(hello, "extensions");
  json_t *p = json_object();
  json_object_set_new(p, "format", json_integer(1));
  json_object_set_new(p, "name", json_string(name));
  json_object_set_new(p, "description", json_string(description));
  json_object_set_new(p, "source", json_string("guise echo log of a real visit (tools/profiles/capture-debian)"));
  json_t *t = json_object();
  json_t *e;
  if ((e = ext_by_type(exts, 43))) json_object_set_new(t, "versions", hex_names(json_object_get(e, "values"), NAME_VERSION));
  json_object_set_new(t, "cipher_suites", hex_names(json_object_get(hello, "cipher_suites"), NAME_CIPHER));
  json_t *order = json_array(), *raw = json_array();
  SSL_CTX *scratch = SSL_CTX_new(TLS_method()); /* asks which types the library writes */
  size_t i;
  json_array_foreach(exts, i, e) {
    const char *hex = json_string_value(json_object_get(e, "hex"));
    json_t *n = hex_name(hex, NAME_EXTENSION);
    uint16_t type;
    if (json_string_value(n)[0] == '0' ||
        (name_to_value(NAME_EXTENSION, json_string_value(n), &type) == 0 && strcmp(json_string_value(n), "GREASE") &&
         scratch && !tls_shape_ext_implemented(scratch, type)))
      json_array_append_new(raw, json_pack("{s:s, s:O}", "type", json_string_value(n), "data", json_object_get(e, "data")));
    json_array_append_new(order, n);
  }
  SSL_CTX_free(scratch);
  json_object_set_new(t, "extensions", order);
  json_object_set_new(t, "permute_extensions", json_boolean(permute));
  if (json_array_size(raw)) json_object_set_new(t, "raw_extensions", raw);
  else json_decref(raw);
  if ((e = ext_by_type(exts, 10))) json_object_set_new(t, "supported_groups", hex_names(json_object_get(e, "values"), NAME_GROUP));
  if ((e = ext_by_type(exts, 51))) {
    json_t *ks = json_array(), *k;
    size_t j;
    json_array_foreach(json_object_get(e, "key_shares"), j, k)
      json_array_append_new(ks, hex_name(json_string_value(json_object_get(k, "group")), NAME_GROUP));
    json_object_set_new(t, "key_shares", ks);
  }
  if ((e = ext_by_type(exts, 13))) json_object_set_new(t, "signature_algorithms", hex_names(json_object_get(e, "values"), NAME_SIGALG));
  if ((e = ext_by_type(exts, 34))) json_object_set_new(t, "delegated_credentials", hex_names(json_object_get(e, "values"), NAME_SIGALG));
  if ((e = ext_by_type(exts, 16))) json_object_set(t, "alpn", json_object_get(e, "protocols"));
  json_t *alps = ext_by_type(exts, 17613);
  int cp = 17613;
  if (!alps) {
    alps = ext_by_type(exts, 17513);
    cp = 17513;
  }
  if (alps) json_object_set_new(t, "alps", json_pack("{s:i, s:O}", "codepoint", cp, "protocols", json_object_get(alps, "protocols")));
  if ((e = ext_by_type(exts, 27))) json_object_set_new(t, "certificate_compression", hex_names(json_object_get(e, "values"), NAME_CERTCOMP));
  if ((e = ext_by_type(exts, 28))) json_object_set(t, "record_size_limit", json_object_get(e, "record_size_limit"));
  json_object_set_new(t, "ech_grease", json_boolean(ext_by_type(exts, 0xfe0d) != NULL));
  json_object_set_new(t, "status_request", json_boolean(ext_by_type(exts, 5) != NULL));
  json_object_set_new(t, "signed_certificate_timestamps", json_boolean(ext_by_type(exts, 18) != NULL));
  json_object_set_new(t, "session_ticket", json_boolean(ext_by_type(exts, 35) != NULL));
  json_object_set_new(t, "resumption", json_true());
  json_object_set_new(t, "aes_hardware", json_true());
  json_object_set_new(p, "tls", t);

  json_t *o = json_object(), *settings = json_array(), *prio = json_array();
  json_object_set_new(o, "settings", settings);
  json_object_set_new(o, "window_update", json_integer(0));
  json_object_set_new(o, "priority_frames", prio);
  json_object_set_new(o, "headers_priority", json_null());
  json_t *f;
  int seen_settings = 0;
  json_array_foreach(json_object_get(h2, "frames"), i, f) {
    const char *type = json_string_value(json_object_get(f, "type"));
    if (!type) continue;
    if (!strcmp(type, "SETTINGS") && !seen_settings && !(json_integer_value(json_object_get(f, "flags")) & 1)) {
      seen_settings = 1;
      json_t *s;
      size_t k;
      json_array_foreach(json_object_get(f, "settings"), k, s) {
        uint16_t id = (uint16_t)json_integer_value(json_object_get(s, "id"));
        const char *sn = name_of_value(NAME_H2_SETTING, id);
        char hex[8];
        snprintf(hex, sizeof(hex), "0x%04x", id);
        json_array_append_new(settings, json_pack("[sO]", sn ? sn : hex, json_object_get(s, "value")));
      }
    } else if (!strcmp(type, "WINDOW_UPDATE") && json_integer_value(json_object_get(f, "stream")) == 0) {
      json_object_set(o, "window_update", json_object_get(f, "increment"));
    } else if (!strcmp(type, "PRIORITY")) {
      json_t *pr = json_object_get(f, "priority");
      json_array_append_new(prio, json_pack("{s:O, s:O, s:O, s:O}", "stream", json_object_get(f, "stream"),
                                            "weight", json_object_get(pr, "weight"), "exclusive",
                                            json_object_get(pr, "exclusive"), "depends_on",
                                            json_object_get(pr, "depends_on")));
    } else if (!strcmp(type, "HEADERS")) {
      json_object_set(o, "first_stream_id", json_object_get(f, "stream"));
      json_t *pr = json_object_get(f, "priority");
      if (json_is_object(pr))
        json_object_set_new(o, "headers_priority", json_pack("{s:O, s:O, s:O}", "weight", json_object_get(pr, "weight"),
                                                             "exclusive", json_object_get(pr, "exclusive"),
                                                             "depends_on", json_object_get(pr, "depends_on")));
      break;
    }
  }
  json_t *pseudo = json_array(), *nav = json_array(), *h;
  json_array_foreach(json_object_get(h2, "headers"), i, h) {
    const char *hn = json_string_value(json_array_get(h, 0));
    if (hn && hn[0] == ':') json_array_append_new(pseudo, json_string(hn));
    else json_array_append(nav, h);
  }
  json_object_set_new(o, "pseudo_headers", pseudo);
  json_object_set_new(p, "http2", o);
  json_object_set_new(p, "headers", json_pack("{s:{s:o}}", "navigation", "h2", nav));
  json_t *x = json_object();
  const char *map[][2] = {{"ja4", "ja4"}, {"ja3", "ja3"}, {"ja3n", "ja3n"}, {"peetprint", "peetprint"}};
  for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
    if (permute && strcmp(map[k][1], "ja3") == 0) continue; /* one random order */
    json_object_set(x, map[k][1], json_object_get(fps, map[k][0]));
  }
  json_object_set(x, "akamai", json_object_get(h2, "akamai"));
  json_object_set_new(x, "source", json_string("the same visit, as guise echo observed it"));
  json_object_set_new(p, "expected", x);
  return p;
}

/* ---- from a tls.browserleaks.com JSON dump ------------------------------------------ */

/* A list of {"id": N, "name": ...} objects as profile names of |kind|. */
static json_t *id_names(json_t *arr, name_kind kind) {
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    char hex[8];
    snprintf(hex, sizeof(hex), "%04x", (unsigned)json_integer_value(json_object_get(v, "id")));
    json_array_append_new(out, hex_name(hex, kind));
  }
  return out;
}

json_t *profile_from_browserleaks(json_t *d, const char *name, int permute, char *err,
                                  size_t errlen) {
  json_t *tls = json_object_get(d, "tls");
  json_t *exts = json_object_get(tls, "extensions");
  json_t *frames = json_object_get(d, "http2");
  if (!json_is_array(exts) || !json_is_array(frames)) {
    snprintf(err, errlen, "not a browserleaks dump with tls.extensions and http2 frames");
    return NULL;
  }
  json_t *p = json_object();
  json_object_set_new(p, "format", json_integer(1));
  json_object_set_new(p, "name", json_string(name));
  char desc[300];
  snprintf(desc, sizeof(desc), "%s (tls.browserleaks.com dump)", json_string_value(json_object_get(d, "user_agent")));
  json_object_set_new(p, "description", json_string(desc));
  json_object_set_new(p, "source", json_string("a tls.browserleaks.com JSON dump of the real browser"));
  json_t *t = json_object(), *order = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(exts, i, e) {
    char hex[8];
    snprintf(hex, sizeof(hex), "%04x", (unsigned)json_integer_value(json_object_get(e, "id")));
    json_array_append_new(order, hex_name(hex, NAME_EXTENSION));
  }
#define DATA(id) json_object_get(ext_by_id(exts, id), "data")
  json_object_set_new(t, "versions", id_names(json_object_get(DATA(43), "versions"), NAME_VERSION));
  json_object_set_new(t, "cipher_suites", id_names(json_object_get(tls, "cipher_suites"), NAME_CIPHER));
  json_object_set_new(t, "extensions", order);
  json_object_set_new(t, "permute_extensions", json_boolean(permute));
  json_object_set_new(t, "supported_groups", id_names(json_object_get(DATA(10), "named_group_list"), NAME_GROUP));
  json_t *ks = json_array(), *k;
  json_array_foreach(json_object_get(DATA(51), "client_shares"), i, k) {
    char hex[8];
    snprintf(hex, sizeof(hex), "%04x", (unsigned)json_integer_value(json_object_get(json_object_get(k, "group"), "id")));
    json_array_append_new(ks, hex_name(hex, NAME_GROUP));
  }
  json_object_set_new(t, "key_shares", ks);
  json_object_set_new(t, "signature_algorithms",
                      id_names(json_object_get(DATA(13), "supported_signature_algorithms"), NAME_SIGALG));
  json_object_set(t, "alpn", json_object_get(DATA(16), "protocol_name_list"));
  if (DATA(17613))
    json_object_set_new(t, "alps", json_pack("{s:i, s:O}", "codepoint", 17613, "protocols",
                                             json_object_get(DATA(17613), "supported_protocols")));
  else if (DATA(17513))
    json_object_set_new(t, "alps", json_pack("{s:i, s:O}", "codepoint", 17513, "protocols",
                                             json_object_get(DATA(17513), "supported_protocols")));
  if (DATA(27)) json_object_set_new(t, "certificate_compression", id_names(json_object_get(DATA(27), "algorithms"), NAME_CERTCOMP));
  json_object_set_new(t, "ech_grease", json_boolean(ext_by_id(exts, 0xfe0d) != NULL));
  json_object_set_new(t, "status_request", json_boolean(ext_by_id(exts, 5) != NULL));
  json_object_set_new(t, "signed_certificate_timestamps", json_boolean(ext_by_id(exts, 18) != NULL));
  json_object_set_new(t, "session_ticket", json_boolean(ext_by_id(exts, 35) != NULL));
  json_object_set_new(t, "resumption", json_true());
  json_object_set_new(t, "aes_hardware", json_true());
#undef DATA
  json_object_set_new(p, "tls", t);

  json_t *o = json_object(), *settings = json_array(), *nav = json_array(), *pseudo = json_array();
  json_object_set_new(o, "settings", settings);
  json_object_set_new(o, "window_update", json_integer(0));
  json_object_set_new(o, "priority_frames", json_array());
  json_object_set_new(o, "headers_priority", json_null());
  json_t *f;
  json_array_foreach(frames, i, f) {
    const char *type = json_string_value(json_object_get(f, "name"));
    if (!type) continue;
    if (!strcmp(type, "SETTINGS")) {
      json_t *s;
      size_t j;
      json_array_foreach(json_object_get(f, "settings"), j, s) {
        uint16_t id = (uint16_t)json_integer_value(json_object_get(s, "id"));
        const char *sn = name_of_value(NAME_H2_SETTING, id);
        char hex[8];
        snprintf(hex, sizeof(hex), "0x%04x", id);
        json_array_append_new(settings, json_pack("[sO]", sn ? sn : hex, json_object_get(s, "value")));
      }
    } else if (!strcmp(type, "WINDOW_UPDATE") && json_integer_value(json_object_get(f, "stream_id")) == 0) {
      json_object_set(o, "window_update", json_object_get(f, "window_size_increment"));
    } else if (!strcmp(type, "HEADERS")) {
      json_object_set(o, "first_stream_id", json_object_get(f, "stream_id"));
      json_t *pr = json_object_get(f, "priority");
      if (json_is_object(pr)) {
        /* The dump's weight is the wire byte + 1 kept in 8 bits: 0 stands for
         * 256 (Chrome's weight). */
        json_int_t w = json_integer_value(json_object_get(pr, "weight"));
        json_object_set_new(o, "headers_priority",
                            json_pack("{s:I, s:b, s:O}", "weight", w == 0 ? (json_int_t)256 : w, "exclusive",
                                      json_integer_value(json_object_get(pr, "exclusive")) == 1,
                                      "depends_on", json_object_get(pr, "stream_dependency")));
      }
      const char *hn;
      json_t *hv;
      json_object_foreach(json_object_get(f, "headers"), hn, hv) {
        if (hn[0] == ':') json_array_append_new(pseudo, json_string(hn));
        else json_array_append_new(nav, json_pack("[sO]", hn, hv));
      }
      break;
    }
  }
  json_object_set_new(o, "pseudo_headers", pseudo);
  json_object_set_new(p, "http2", o);
  json_object_set_new(p, "headers", json_pack("{s:{s:o}}", "navigation", "h2", nav));
  json_t *x = json_object();
  const char *map[][2] = {{"ja4", "ja4"}, {"ja3n_text", "ja3n"}, {"akamai_text", "akamai"}, {"ja3_text", "ja3"}};
  for (size_t m = 0; m < sizeof(map) / sizeof(map[0]); m++) {
    if (permute && !strcmp(map[m][1], "ja3")) continue;
    json_t *v = json_object_get(d, map[m][0]);
    if (json_is_string(v)) json_object_set(x, map[m][1], v);
  }
  json_object_set_new(x, "source", json_string("the dump's own fingerprints (tls.browserleaks.com)"));
  json_object_set_new(p, "expected", x);
  return p;
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

/* A '-'-separated list of decimal code points as profile names; -1 on a bad number. */
static int dec_names(const char *field, name_kind kind, json_t *out) {
  if (*field == '\0') return 0;
  char buf[2048];
  snprintf(buf, sizeof(buf), "%s", field);
  char *parts[256];
  size_t n = split(buf, '-', parts, 256);
  for (size_t i = 0; i < n; i++) {
    char *end;
    unsigned long v = strtoul(parts[i], &end, 10);
    if (*parts[i] == '\0' || *end || v > 0xffff) return -1;
    char hex[8];
    snprintf(hex, sizeof(hex), "%04lx", v);
    json_array_append_new(out, hex_name(hex, kind));
  }
  return 0;
}

/* The profile's "http2" object for an Akamai HTTP/2 string
 * (SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo-headers); NULL with a message. */
static json_t *http2_from_akamai(const char *akamai, char *err, size_t errlen) {
  char buf[4096];
  if (strlen(akamai) >= sizeof(buf)) {
    snprintf(err, errlen, "Akamai: longer than %zu bytes", sizeof(buf) - 1);
    return NULL;
  }
  snprintf(buf, sizeof(buf), "%s", akamai);
  char *a[4];
  if (split(buf, '|', a, 4) != 4 || strchr(a[3], '|') != NULL) {
    snprintf(err, errlen, "Akamai: expected four |-separated fields (SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo-headers)");
    return NULL;
  }
  json_t *o = json_object(), *settings = json_array(), *prio = json_array(), *pseudo = json_array();
  char *s[32];
  size_t ns = *a[0] ? split(a[0], ';', s, 32) : 0;
  for (size_t i = 0; i < ns; i++) {
    unsigned long id, v;
    int used = 0;
    if (sscanf(s[i], "%lu:%lu%n", &id, &v, &used) != 2 || s[i][used] != '\0' || id > 0xffff ||
        v > 0xffffffffUL) {
      snprintf(err, errlen, "Akamai: setting \"%s\" is not id:value", s[i]);
      json_decref(o);
      json_decref(settings);
      json_decref(prio);
      json_decref(pseudo);
      return NULL;
    }
    const char *sn = name_of_value(NAME_H2_SETTING, (uint16_t)id);
    char hex[8];
    snprintf(hex, sizeof(hex), "0x%04lx", id);
    json_array_append_new(settings, json_pack("[sI]", sn ? sn : hex, (json_int_t)v));
  }
  json_object_set_new(o, "settings", settings);
  const char *bad = NULL;
  char *end;
  unsigned long wu = strtoul(a[1], &end, 10);
  if (*a[1] == '\0' || *end || wu > 0x7fffffffUL) bad = "WINDOW_UPDATE is not a number 0..2^31-1";
  json_object_set_new(o, "window_update", json_integer((json_int_t)wu)); /* "00": none */
  if (!bad && strcmp(a[2], "0") != 0) {
    char *fr[16];
    size_t nf = split(a[2], ',', fr, 16);
    for (size_t i = 0; i < nf && !bad; i++) {
      unsigned long st, ex, dep, w;
      int used = 0;
      if (sscanf(fr[i], "%lu:%lu:%lu:%lu%n", &st, &ex, &dep, &w, &used) != 4 || fr[i][used] != '\0' ||
          st == 0 || st > 0x7fffffffUL || ex > 1 || dep > 0x7fffffffUL || w < 1 || w > 256)
        bad = "a PRIORITY frame is not stream:exclusive:depends_on:weight";
      else
        json_array_append_new(prio, json_pack("{s:I, s:I, s:b, s:I}", "stream", (json_int_t)st, "weight",
                                              (json_int_t)w, "exclusive", ex != 0, "depends_on", (json_int_t)dep));
    }
  }
  json_object_set_new(o, "priority_frames", prio);
  json_object_set_new(o, "headers_priority", json_null());
  char *ps[5];
  size_t np = split(a[3], ',', ps, 5);
  for (size_t i = 0; i < np && !bad; i++) {
    const char *full = !strcmp(ps[i], "m") ? ":method" : !strcmp(ps[i], "a") ? ":authority"
                       : !strcmp(ps[i], "s") ? ":scheme" : !strcmp(ps[i], "p") ? ":path" : NULL;
    if (full == NULL || np != 4) bad = "the pseudo-headers are not the four letters m, a, s, p in some order";
    else json_array_append_new(pseudo, json_string(full));
  }
  if (bad) {
    snprintf(err, errlen, "Akamai: %s", bad);
    json_decref(o);
    json_decref(pseudo);
    return NULL;
  }
  json_object_set_new(o, "pseudo_headers", pseudo);
  return o;
}

json_t *profile_from_strings(const char *ja3, const char *akamai, const char *name,
                             const profile_string_options *opt, char *err, size_t errlen) {
  char buf[4096];
  if (strlen(ja3) >= sizeof(buf) || strlen(akamai) >= sizeof(buf)) {
    snprintf(err, errlen, "%s: longer than %zu bytes", strlen(ja3) >= sizeof(buf) ? "JA3" : "Akamai",
             sizeof(buf) - 1);
    return NULL;
  }
  snprintf(buf, sizeof(buf), "%s", ja3);
  char *f[5];
  if (split(buf, ',', f, 5) != 5 || strchr(f[4], ',') != NULL) {
    snprintf(err, errlen, "JA3: expected five comma-separated fields (version,ciphers,extensions,groups,formats)");
    return NULL;
  }
  json_t *p = json_object(), *t = json_object();
  json_object_set_new(p, "format", json_integer(1));
  json_object_set_new(p, "name", json_string(name));
  json_object_set_new(p, "description", json_string("made from a JA3 and an Akamai string"));
  json_object_set_new(p, "source", json_string("JA3 and Akamai strings; what they do not carry is the library's default unless given"));
  json_t *ciphers = json_array(), *exts = json_array(), *groups = json_array();
  if (opt->grease) {
    json_array_append_new(ciphers, json_string("GREASE"));
    json_array_append_new(exts, json_string("GREASE"));
    json_array_append_new(groups, json_string("GREASE"));
  }
  static const char *const what[] = {"version", "ciphers", "extensions", "groups"};
  if (dec_names(f[1], NAME_CIPHER, ciphers) || dec_names(f[2], NAME_EXTENSION, exts) ||
      dec_names(f[3], NAME_GROUP, groups)) {
    snprintf(err, errlen, "JA3: a field of %s, %s or %s is not a list of numbers 0..65535", what[1],
             what[2], what[3]);
    json_decref(p);
    json_decref(t);
    json_decref(ciphers);
    json_decref(exts);
    json_decref(groups);
    return NULL;
  }
  if (opt->grease) json_array_append_new(exts, json_string("GREASE"));
  json_t *versions = json_array();
  if (opt->grease) json_array_append_new(versions, json_string("GREASE"));
  json_array_append_new(versions, json_string("TLS1.3"));
  json_array_append_new(versions, json_string("TLS1.2"));
  json_object_set_new(t, "versions", versions);
  json_object_set_new(t, "cipher_suites", ciphers);
  json_object_set_new(t, "extensions", exts);
  json_object_set_new(t, "permute_extensions", json_boolean(opt->permute));
  /* No groups in the JA3 (a client without supported_groups): none to give. */
  if (json_array_size(groups)) json_object_set_new(t, "supported_groups", groups);
  else json_decref(groups);
  const struct { const char *key, *text, *flag; } lists[] = {
      {"key_shares", opt->key_shares, "--key-shares"},
      {"signature_algorithms", opt->sigalgs, "--sigalgs"},
      {"alpn", opt->alpn, "--alpn"},
  };
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
    if (lists[i].text == NULL) continue;
    char why[160];
    json_t *v = json_read_jansson(lists[i].text, strlen(lists[i].text), why, sizeof(why));
    if (!json_is_array(v)) {
      snprintf(err, errlen, "%s: not a JSON array of names (%s)", lists[i].flag,
               v ? "another JSON value" : why);
      json_decref(v);
      json_decref(t);
      json_decref(p);
      return NULL;
    }
    json_object_set_new(t, lists[i].key, v);
  }
  /* The contents of listed extensions that JA3 does not carry: the values of
   * the current browsers (docs/CLI.md lists them). */
  size_t ei;
  json_t *e;
  json_array_foreach(exts, ei, e) {
    uint16_t type;
    if (name_to_value(NAME_EXTENSION, json_string_value(e), &type) != 0) continue;
    switch (type) {
      case 5: json_object_set_new(t, "status_request", json_true()); break;
      case 18: json_object_set_new(t, "signed_certificate_timestamps", json_true()); break;
      case 28: json_object_set_new(t, "record_size_limit", json_integer(16385)); break; /* Firefox */
      case 65037: json_object_set_new(t, "ech_grease", json_true()); break;
      case 16:
        if (!opt->alpn) json_object_set_new(t, "alpn", json_pack("[ss]", "h2", "http/1.1"));
        break;
      case 27: /* Chrome sends brotli alone, Firefox zlib, brotli, zstd */
        json_object_set_new(t, "certificate_compression",
                            opt->grease ? json_pack("[s]", "brotli") : json_pack("[sss]", "zlib", "brotli", "zstd"));
        break;
      case 34: /* Firefox's delegated_credentials list */
        json_object_set_new(t, "delegated_credentials",
                            json_pack("[ssss]", "ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384",
                                      "ecdsa_secp521r1_sha512", "ecdsa_sha1"));
        break;
      case 17513:
      case 17613:
        json_object_set_new(t, "alps", json_pack("{s:i, s:[s]}", "codepoint", (int)type, "protocols", "h2"));
        break;
      default: break;
    }
  }
  json_object_set_new(p, "tls", t);

  json_t *o = http2_from_akamai(akamai, err, errlen);
  if (o == NULL) {
    json_decref(p);
    return NULL;
  }
  json_object_set_new(p, "http2", o);
  json_t *x = json_object();
  if (!opt->permute) json_object_set_new(x, "ja3", json_string(ja3));
  json_object_set_new(x, "akamai", json_string(akamai));
  json_object_set_new(x, "source", json_string("the JA3 and Akamai strings given"));
  json_object_set_new(p, "expected", x);
  return p;
}

/* ---- from a capture (pcap, pcapng or hex dump, read by guise fp) -------------------- */

json_t *profile_from_capture(json_t *tls_rec, json_t *h2_rec, const char *akamai, const char *name,
                             const char *source, int permute, char *err, size_t errlen) {
  json_t *o = NULL;
  if (h2_rec == NULL) {
    if (akamai == NULL) {
      snprintf(err, errlen, "no HTTP/2 preface in the capture (TLS hides it): give the browser's Akamai string (--akamai)");
      return NULL;
    }
    if ((o = http2_from_akamai(akamai, err, errlen)) == NULL) return NULL;
  }
  json_t *h2v = h2_rec ? json_incref(json_object_get(h2_rec, "http2")) : json_object();
  json_t *rec = json_pack("{s:O, s:o}", "tls", json_object_get(tls_rec, "tls"), "http2", h2v);
  json_t *p = rec ? profile_from_echo(rec, name, name, permute, err, errlen) : NULL;
  json_decref(rec);
  if (p == NULL) {
    json_decref(o);
    return NULL;
  }
  json_object_set_new(p, "source", json_string(source));
  json_t *x = json_object_get(p, "expected");
  if (o != NULL) {
    json_object_set_new(p, "http2", o);
    json_object_del(p, "headers"); /* the request headers were encrypted */
    json_object_set_new(x, "akamai", json_string(akamai));
    json_object_set_new(x, "source", json_string("the capture's ClientHello, as guise fp read it; the Akamai string given"));
  } else {
    json_object_set_new(x, "source", json_string("the capture's flights, as guise fp read them"));
  }
  /* Keys follow the format's order: http2 before headers, expected last. */
  json_t *hd = json_incref(json_object_get(p, "headers")), *ex = json_incref(x);
  json_object_del(p, "headers");
  json_object_del(p, "expected");
  if (hd) json_object_set_new(p, "headers", hd);
  json_object_set_new(p, "expected", ex);
  return p;
}

/* ---- from a tls.peet.ws /api/all JSON dump ------------------------------------------ */

/* The code point in the last "(...)" of |s| ("X25519 (29)", "TLS_GREASE (0x9a9a)"). */
static int paren_num(const char *s, unsigned *out) {
  const char *open = s ? strrchr(s, '(') : NULL;
  if (open == NULL) return -1;
  char *end;
  unsigned long v = strtoul(open + 1, &end, 0);
  if (end == open + 1 || *end != ')' || v > 0xffff) return -1;
  *out = (unsigned)v;
  return 0;
}

/* A "Name (N)" string as a profile name of |kind| (GREASE for RFC 8701 values). */
static json_t *peet_name(const char *s, name_kind kind) {
  unsigned v;
  if (s && strncmp(s, "TLS_GREASE", 10) == 0) return json_string("GREASE");
  if (paren_num(s, &v) != 0) return NULL;
  char hex[8];
  snprintf(hex, sizeof(hex), "%04x", v);
  return hex_name(hex, kind);
}

typedef struct peet_walk {
  char *err;
  size_t errlen;
  int failed;
} peet_walk;

static void peet_fail(peet_walk *w, const char *what, const char *value) {
  if (w->failed) return;
  w->failed = 1;
  snprintf(w->err, w->errlen, "tls.peet.ws dump: %s \"%s\"", what, value ? value : "(missing)");
}

/* A list of "Name (N)" strings as names; NULL entries fail. */
static json_t *peet_names(peet_walk *w, json_t *arr, name_kind kind, const char *what) {
  json_t *out = json_array(), *v;
  size_t i;
  json_array_foreach(arr, i, v) {
    json_t *n = peet_name(json_string_value(v), kind);
    if (n == NULL) peet_fail(w, what, json_string_value(v));
    else json_array_append_new(out, n);
  }
  return out;
}

/* A list of IANA names checked against the tables. */
static json_t *peet_iana(peet_walk *w, json_t *arr, name_kind kind, const char *what) {
  json_t *out = json_array(), *v;
  size_t i;
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    uint16_t code;
    if (s && strncmp(s, "TLS_GREASE", 10) == 0) json_array_append_new(out, json_string("GREASE"));
    else if (s == NULL || name_to_value(kind, s, &code) != 0) peet_fail(w, what, s);
    else json_array_append_new(out, json_string(s));
  }
  return out;
}

json_t *profile_from_peet(json_t *d, const char *name, int permute, char *err, size_t errlen) {
  peet_walk w = {err, errlen, 0};
  json_t *tls = json_object_get(d, "tls"), *h2 = json_object_get(d, "http2");
  json_t *p = json_object(), *t = json_object();
  json_object_set_new(p, "format", json_integer(1));
  json_object_set_new(p, "name", json_string(name));
  const char *ua = json_string_value(json_object_get(d, "user_agent"));
  json_object_set_new(p, "description", json_string(ua ? ua : name));
  json_object_set_new(p, "source", json_string("a tls.peet.ws /api/all dump"));
  json_t *versions = NULL, *exts = json_array(), *raw = json_array(), *e;
  json_object_set_new(t, "cipher_suites", peet_iana(&w, json_object_get(tls, "ciphers"), NAME_CIPHER, "cipher"));
  SSL_CTX *scratch = SSL_CTX_new(TLS_method()); /* asks which types the library writes */
  size_t i;
  json_array_foreach(json_object_get(tls, "extensions"), i, e) {
    const char *en = json_string_value(json_object_get(e, "name"));
    unsigned type;
    json_t *n = peet_name(en, NAME_EXTENSION);
    if (n == NULL || (strncmp(en, "TLS_GREASE", 10) != 0 && paren_num(en, &type) != 0)) {
      json_decref(n);
      peet_fail(&w, "extension", en);
      break;
    }
    json_array_append_new(exts, n);
    if (strncmp(en, "TLS_GREASE", 10) == 0) continue;
    switch (type) {
      case 10:
        json_object_set_new(t, "supported_groups",
                            peet_names(&w, json_object_get(e, "supported_groups"), NAME_GROUP, "group"));
        break;
      case 13:
        json_object_set_new(t, "signature_algorithms",
                            peet_iana(&w, json_object_get(e, "signature_algorithms"), NAME_SIGALG,
                                      "signature algorithm"));
        break;
      case 16: json_object_set(t, "alpn", json_object_get(e, "protocols")); break;
      case 17513:
      case 17613:
        json_object_set_new(t, "alps", json_pack("{s:i, s:O}", "codepoint", (int)type, "protocols",
                                                 json_object_get(e, "protocols")));
        break;
      case 27:
        json_object_set_new(t, "certificate_compression",
                            peet_names(&w, json_object_get(e, "algorithms"), NAME_CERTCOMP, "certificate compression"));
        break;
      case 43: {
        json_t *v;
        size_t k;
        json_decref(versions); /* a second supported_versions: the last one counts */
        versions = json_array();
        json_array_foreach(json_object_get(e, "versions"), k, v) {
          const char *s = json_string_value(v);
          const char *m = !s ? NULL : !strncmp(s, "TLS_GREASE", 10) ? "GREASE" : !strcmp(s, "TLS 1.3") ? "TLS1.3"
                          : !strcmp(s, "TLS 1.2") ? "TLS1.2" : !strcmp(s, "TLS 1.1") ? "TLS1.1"
                          : !strcmp(s, "TLS 1.0") ? "TLS1.0" : NULL;
          if (m == NULL) peet_fail(&w, "version", s);
          else json_array_append_new(versions, json_string(m));
        }
        break;
      }
      case 51: {
        json_t *ks = json_array(), *k;
        size_t j;
        json_array_foreach(json_object_get(e, "shared_keys"), j, k) {
          const char *g = json_object_size(k) == 1 ? json_object_iter_key(json_object_iter(k)) : NULL;
          json_t *gn = peet_name(g, NAME_GROUP);
          if (gn == NULL) peet_fail(&w, "key share", g);
          else json_array_append_new(ks, gn);
        }
        json_object_set_new(t, "key_shares", ks);
        break;
      }
      case 5: json_object_set_new(t, "status_request", json_true()); break;
      case 18: json_object_set_new(t, "signed_certificate_timestamps", json_true()); break;
      case 35: json_object_set_new(t, "session_ticket", json_true()); break;
      case 65037: json_object_set_new(t, "ech_grease", json_true()); break;
      default: {
        if (scratch == NULL || tls_shape_ext_implemented(scratch, (uint16_t)type)) break;
        /* Not implemented by the TLS library: sent as captured, when the dump has the body. */
        const char *data = json_string_value(json_object_get(e, "data"));
        if (data == NULL) {
          peet_fail(&w, "an extension the TLS library does not implement, without its data", en);
          break;
        }
        char hex[8];
        snprintf(hex, sizeof(hex), "%04x", type);
        json_array_append_new(raw, json_pack("{s:o, s:s}", "type", hex_name(hex, NAME_EXTENSION), "data", data));
      }
    }
  }
  SSL_CTX_free(scratch);
  if (versions) json_object_set_new(t, "versions", versions);
  json_object_set_new(t, "extensions", exts);
  json_object_set_new(t, "permute_extensions", json_boolean(permute));
  if (json_array_size(raw)) json_object_set_new(t, "raw_extensions", raw);
  else json_decref(raw);
  json_object_set_new(p, "tls", t);

  json_t *o = json_object(), *settings = json_array(), *prio = json_array(), *f;
  json_object_set_new(o, "settings", settings);
  json_object_set_new(o, "window_update", json_integer(0));
  json_object_set_new(o, "priority_frames", prio);
  json_object_set_new(o, "headers_priority", json_null());
  json_t *pseudo = json_array(), *nav = json_array();
  json_array_foreach(json_object_get(h2, "sent_frames"), i, f) {
    const char *type = json_string_value(json_object_get(f, "frame_type"));
    if (type == NULL) continue;
    if (!strcmp(type, "SETTINGS") && json_array_size(settings) == 0) {
      json_t *s;
      size_t k;
      json_array_foreach(json_object_get(f, "settings"), k, s) {
        char sn[48];
        unsigned long long v;
        uint16_t id;
        const char *txt = json_string_value(s);
        if (!txt || sscanf(txt, "%47s = %llu", sn, &v) != 2 || v > 0xffffffffULL ||
            name_to_value(NAME_H2_SETTING, sn, &id) != 0)
          peet_fail(&w, "setting", txt);
        else
          json_array_append_new(settings, json_pack("[sI]", sn, (json_int_t)v));
      }
    } else if (!strcmp(type, "WINDOW_UPDATE") && json_integer_value(json_object_get(f, "stream_id")) == 0) {
      json_object_set(o, "window_update", json_object_get(f, "increment"));
    } else if (!strcmp(type, "PRIORITY")) {
      json_t *pr = json_object_get(f, "priority");
      json_array_append_new(prio, json_pack("{s:O, s:O, s:b, s:O}", "stream", json_object_get(f, "stream_id"),
                                            "weight", json_object_get(pr, "weight"), "exclusive",
                                            json_integer_value(json_object_get(pr, "exclusive")) != 0,
                                            "depends_on", json_object_get(pr, "depends_on")));
    } else if (!strcmp(type, "HEADERS")) {
      json_object_set(o, "first_stream_id", json_object_get(f, "stream_id"));
      json_t *pr = json_object_get(f, "priority");
      if (json_is_object(pr))
        json_object_set_new(o, "headers_priority",
                            json_pack("{s:O, s:b, s:O}", "weight", json_object_get(pr, "weight"), "exclusive",
                                      json_integer_value(json_object_get(pr, "exclusive")) != 0, "depends_on",
                                      json_object_get(pr, "depends_on")));
      json_t *h;
      size_t k;
      json_array_foreach(json_object_get(f, "headers"), k, h) {
        const char *line = json_string_value(h);
        /* "name: value"; a pseudo-header's name starts with ':'. */
        const char *sep = line ? strstr(line + (line[0] == ':'), ": ") : NULL;
        if (sep == NULL) {
          peet_fail(&w, "header", line);
          continue;
        }
        json_t *hn = json_stringn(line, (size_t)(sep - line));
        if (line[0] == ':') json_array_append_new(pseudo, hn);
        else json_array_append_new(nav, json_pack("[os]", hn, sep + 2));
      }
      break;
    }
  }
  json_object_set_new(o, "pseudo_headers", pseudo);
  json_object_set_new(p, "http2", o);
  json_object_set_new(p, "headers", json_pack("{s:{s:o}}", "navigation", "h2", nav));
  json_t *x = json_object();
  static const char *const keys[] = {"ja4", "ja3", "peetprint"};
  for (size_t k = 0; k < 3; k++) {
    if (permute && !strcmp(keys[k], "ja3")) continue; /* one random order */
    json_t *v = json_object_get(tls, keys[k]);
    if (json_is_string(v)) json_object_set(x, keys[k], v);
  }
  /* The dump separates SETTINGS with ',' where the Akamai format has ';'. */
  const char *ak = json_string_value(json_object_get(h2, "akamai_fingerprint"));
  if (ak) {
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", ak);
    for (char *c = buf; *c && *c != '|'; c++)
      if (*c == ',') *c = ';';
    json_object_set_new(x, "akamai", json_string(buf));
  }
  json_object_set_new(x, "source", json_string("the dump's own fingerprints (tls.peet.ws)"));
  json_object_set_new(p, "expected", x);
  if (w.failed) {
    json_decref(p);
    return NULL;
  }
  return p;
}

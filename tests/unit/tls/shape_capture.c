/* shape_capture.c — see shape_capture.h. */
#include "shape_capture.h"

#include <stdio.h>
#include <string.h>

static uint16_t u16_of(json_t *v) {
  if (json_is_string(v) && strcmp(json_string_value(v), "GREASE") == 0) return 0x0a0a;
  return (uint16_t)json_integer_value(v);
}

size_t shape_u16_list(json_t *arr, uint16_t *out, size_t cap) {
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (n < cap) out[n++] = u16_of(v);
  }
  return n;
}

static const char *versions_names[] = {"TLS_VERSION_1_3", "TLS_VERSION_1_2", "TLS_VERSION_1_1",
                                       "TLS_VERSION_1_0"};
static const uint16_t versions_values[] = {0x0304, 0x0303, 0x0302, 0x0301};

static uint16_t version_of(json_t *v) {
  if (json_is_integer(v)) return (uint16_t)json_integer_value(v);
  const char *s = json_string_value(v);
  if (s && strcmp(s, "GREASE") == 0) return 0x0a0a;
  for (size_t i = 0; s && i < 4; i++)
    if (strcmp(s, versions_names[i]) == 0) return versions_values[i];
  return 0;
}

/* The capture's tls block as a shape. */
void shape_from_capture(json_t *tls, tls_shape *s) {
  tls_shape_init(s);
  s->n_ciphers = shape_u16_list(json_object_get(tls, "cipher_suites"), s->ciphers, TLS_SHAPE_MAX_CIPHERS);
  s->n_extensions = shape_u16_list(json_object_get(tls, "extensions_order_as_captured"), s->extensions,
                             TLS_SHAPE_MAX_EXTENSIONS);
  s->permute_extensions = json_is_true(json_object_get(tls, "extension_permutation"));
  s->n_groups = shape_u16_list(json_object_get(tls, "supported_groups"), s->groups, TLS_SHAPE_MAX_GROUPS);
  s->n_key_shares =
      shape_u16_list(json_object_get(tls, "key_share_groups"), s->key_shares, TLS_SHAPE_MAX_KEY_SHARES);
  s->n_sigalgs =
      shape_u16_list(json_object_get(tls, "signature_algorithms"), s->sigalgs, TLS_SHAPE_MAX_SIGALGS);
  json_t *dc = json_object_get(tls, "delegated_credentials");
  if (json_is_array(dc)) s->n_dc_sigalgs = shape_u16_list(dc, s->dc_sigalgs, TLS_SHAPE_MAX_SIGALGS);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(tls, "supported_versions"), i, v) {
    if (s->n_versions < TLS_SHAPE_MAX_VERSIONS) s->versions[s->n_versions++] = version_of(v);
  }
  json_array_foreach(json_object_get(tls, "alpn"), i, v) {
    if (s->n_alpn < TLS_SHAPE_MAX_ALPN)
      snprintf(s->alpn[s->n_alpn++], TLS_SHAPE_MAX_PROTO, "%s", json_string_value(v));
  }
  json_t *alps = json_object_get(tls, "alps");
  if (json_is_object(alps)) {
    json_array_foreach(json_object_get(alps, "protocols"), i, v) {
      if (s->n_alps < TLS_SHAPE_MAX_ALPN)
        snprintf(s->alps[s->n_alps++], TLS_SHAPE_MAX_PROTO, "%s", json_string_value(v));
    }
    s->alps_codepoint = (uint16_t)json_integer_value(json_object_get(alps, "codepoint"));
  }
  json_t *cc = json_object_get(tls, "compress_certificate");
  if (json_is_array(cc)) s->n_certcomp = shape_u16_list(cc, s->certcomp, TLS_SHAPE_MAX_CERTCOMP);
  json_t *rsl = json_object_get(tls, "record_size_limit");
  if (json_is_integer(rsl)) s->record_size_limit = (uint16_t)json_integer_value(rsl);
  s->ech_grease = json_is_true(json_object_get(tls, "encrypted_client_hello_grease"));
  s->status_request = json_is_true(json_object_get(tls, "status_request"));
  s->sct = json_is_true(json_object_get(tls, "signed_certificate_timestamp"));
  s->session_ticket = json_is_true(json_object_get(tls, "session_ticket"));
  /* Desktop browsers on x86 and Apple silicon: AES hardware. */
  s->aes_hw = 1;
}

json_t *shape_find_browser(json_t *root, const char *id) {
  json_t *b;
  size_t i;
  json_array_foreach(json_object_get(root, "browsers"), i, b) {
    const char *bid = json_string_value(json_object_get(b, "id"));
    if (bid && strcmp(bid, id) == 0) return b;
  }
  return NULL;
}

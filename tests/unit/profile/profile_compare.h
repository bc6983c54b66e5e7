/*
 * profile_compare.h — every field of two profile structures compared one by one
 * (lists up to their counts, so that what lies past them cannot make a test pass
 * or fail), for the round-trip test of the writer (test_profile_write.c) and the
 * profile_load fuzz target. Test code: the library has no equality of its own.
 */
#ifndef GUISE_TEST_PROFILE_COMPARE_H
#define GUISE_TEST_PROFILE_COMPARE_H

#include <string.h>

#include "profile.h"

/* NULL when |a| and |b| hold the same profile, else the first field that differs. */
#define SAME(field)                                          \
  do {                                                       \
    if (memcmp(&a->field, &b->field, sizeof(a->field)) != 0) \
      return #field;                                         \
  } while (0)

/* Every field of the structure, one by one (lists up to their counts, so that
 * what lies past them cannot make the test pass or fail). */
static inline const char *profile_compare(const profile *a, const profile *b) {
  SAME(name);
  SAME(description);
  SAME(source);
  SAME(resumption);
  const tls_shape *x = &a->tls, *y = &b->tls;
#define LIST(arr, n)                                                                    \
  do {                                                                                  \
    if (x->n != y->n || memcmp(x->arr, y->arr, x->n * sizeof(x->arr[0])) != 0) \
      return "tls." #arr;                                                     \
  } while (0)
  LIST(ciphers, n_ciphers);
  LIST(extensions, n_extensions);
  LIST(groups, n_groups);
  LIST(key_shares, n_key_shares);
  LIST(sigalgs, n_sigalgs);
  LIST(dc_sigalgs, n_dc_sigalgs);
  LIST(versions, n_versions);
  LIST(alpn, n_alpn);
  LIST(alps, n_alps);
  LIST(certcomp, n_certcomp);
#undef LIST
  if (x->n_raw != y->n_raw) return "tls.n_raw";
  for (size_t i = 0; i < x->n_raw && i < y->n_raw; i++)
    if (x->raw[i].type != y->raw[i].type || x->raw[i].len != y->raw[i].len ||
        memcmp(x->raw[i].body, y->raw[i].body, x->raw[i].len) != 0)
      return "tls.raw";
  SAME(tls.permute_extensions);
  SAME(tls.alps_codepoint);
  SAME(tls.record_size_limit);
  SAME(tls.ech_grease);
  SAME(tls.status_request);
  SAME(tls.sct);
  SAME(tls.session_ticket);
  SAME(tls.aes_hw);
  const h2_shape *h = &a->h2, *k = &b->h2;
  if (h->n_settings != k->n_settings) return "h2.n_settings";
  for (size_t i = 0; i < h->n_settings && i < k->n_settings; i++)
    if (h->settings[i].id != k->settings[i].id || h->settings[i].value != k->settings[i].value)
      return "h2.settings";
  SAME(h2.window_update);
  if (h->n_priority_frames != k->n_priority_frames) return "h2.n_priority_frames";
  for (size_t i = 0; i < h->n_priority_frames && i < k->n_priority_frames; i++) {
    const h2_priority_frame *f = &h->priority_frames[i], *g = &k->priority_frames[i];
    if (f->stream_id != g->stream_id || f->priority.weight != g->priority.weight ||
        f->priority.exclusive != g->priority.exclusive || f->priority.depends_on != g->priority.depends_on)
      return "h2.priority_frames";
  }
  SAME(h2.headers_priority_flag);
  SAME(h2.headers_priority.weight);
  SAME(h2.headers_priority.exclusive);
  SAME(h2.headers_priority.depends_on);
  SAME(h2.headers_priority_chain);
  SAME(h2.cookie_crumbs);
  SAME(h2.wait_for_server_settings);
  SAME(h2.first_stream_id);
  SAME(h2.pseudo_order);
  SAME(n_nav_h2);
  SAME(n_nav_h1);
  for (size_t i = 0; i < a->n_nav_h2 && i < b->n_nav_h2; i++) SAME(nav_h2[i]);
  for (size_t i = 0; i < a->n_nav_h1 && i < b->n_nav_h1; i++) SAME(nav_h1[i]);
  for (int kd = 0; kd < PROFILE_KIND_COUNT; kd++) {
    SAME(kinds[kd].present);
    SAME(kinds[kd].n_h2);
    SAME(kinds[kd].n_h1);
    for (size_t i = 0; i < a->kinds[kd].n_h2 && i < b->kinds[kd].n_h2; i++) SAME(kinds[kd].h2[i]);
    for (size_t i = 0; i < a->kinds[kd].n_h1 && i < b->kinds[kd].n_h1; i++) SAME(kinds[kd].h1[i]);
    SAME(kinds[kd].priority_flag);
    SAME(kinds[kd].priority_none);
    SAME(kinds[kd].priority.weight);
    SAME(kinds[kd].priority.exclusive);
    SAME(kinds[kd].priority.depends_on);
  }
  SAME(h3.present);
  if (a->h3.present && b->h3.present) {
    SAME(h3.quic_version);
    SAME(h3.dcid_min);
    SAME(h3.dcid_max);
    SAME(h3.scid_min);
    SAME(h3.scid_max);
    SAME(h3.initial_ipv4);
    SAME(h3.initial_ipv6);
    SAME(h3.zero_padding);
    SAME(h3.permute_params);
    SAME(h3.uni);
    SAME(h3.n_uni);
    SAME(h3.qpack_decoder_lazy);
    SAME(h3.priority_update);
    SAME(h3.source);
    const tls_shape *u = &a->h3.tls, *v = &b->h3.tls;
#define QLIST(arr, n)                                                                  \
  do {                                                                                 \
    if (u->n != v->n || memcmp(u->arr, v->arr, u->n * sizeof(u->arr[0])) != 0) \
      return "h3.tls." #arr;                                                   \
  } while (0)
    QLIST(ciphers, n_ciphers);
    QLIST(extensions, n_extensions);
    QLIST(groups, n_groups);
    QLIST(key_shares, n_key_shares);
    QLIST(sigalgs, n_sigalgs);
    QLIST(dc_sigalgs, n_dc_sigalgs);
    QLIST(versions, n_versions);
    QLIST(alpn, n_alpn);
    QLIST(alps, n_alps);
    QLIST(certcomp, n_certcomp);
#undef QLIST
    if (u->n_raw != v->n_raw) return "h3.tls.n_raw";
    for (size_t i = 0; i < u->n_raw && i < v->n_raw; i++)
      if (u->raw[i].type != v->raw[i].type || u->raw[i].len != v->raw[i].len ||
          memcmp(u->raw[i].body, v->raw[i].body, u->raw[i].len) != 0)
        return "h3.tls.raw";
    SAME(h3.tls.permute_extensions);
    SAME(h3.tls.alps_codepoint);
    SAME(h3.tls.record_size_limit);
    SAME(h3.tls.ech_grease);
    SAME(h3.tls.status_request);
    SAME(h3.tls.sct);
    SAME(h3.n_params);
    for (size_t i = 0; i < a->h3.n_params && i < b->h3.n_params; i++) {
      const profile_h3_param *f = &a->h3.params[i], *g = &b->h3.params[i];
      if (f->kind != g->kind || f->id != g->id || f->value != g->value || f->len != g->len || f->len_max != g->len_max ||
          (f->kind == PROFILE_H3_PARAM_DATA && memcmp(f->data, g->data, f->len) != 0) ||
          f->n_versions != g->n_versions ||
          memcmp(f->versions, g->versions, f->n_versions * sizeof(f->versions[0])) != 0)
        return "h3.params";
    }
    SAME(h3.n_settings);
    for (size_t i = 0; i < a->h3.n_settings && i < b->h3.n_settings; i++)
      if (a->h3.settings[i].grease != b->h3.settings[i].grease ||
          a->h3.settings[i].id != b->h3.settings[i].id ||
          a->h3.settings[i].value != b->h3.settings[i].value)
        return "h3.settings";
    SAME(h3.n_nav_order);
    for (size_t i = 0; i < a->h3.n_nav_order && i < b->h3.n_nav_order; i++)
      if (strcmp(a->h3.nav_order[i], b->h3.nav_order[i]) != 0) return "h3.nav_order";
    if (strcmp(a->h3.nav_priority, b->h3.nav_priority) != 0) return "h3.nav_priority";
  }
  SAME(expected.ja4);
  SAME(expected.ja3);
  SAME(expected.ja3n);
  SAME(expected.akamai);
  SAME(expected.peetprint);
  SAME(expected.source);
  return NULL;
}
#undef SAME

#endif

/*
 * test_h2_golden.c — client/lib/h2 against real browsers' HTTP/2 prefaces.
 *
 * For Chrome 150, Firefox 144 and Safari 26 (tests/data/browsers.json):
 * build an h2_shape from the "http2" block, submit one navigation with the
 * browser's "http_headers_h2_navigation" list, take the bytes the client sends and
 * parse them with the observer (gfp_h2_parse), then compare frame sequence,
 * SETTINGS, WINDOW_UPDATE, PRIORITY frames, HEADERS priority, first stream id,
 * pseudo-header order, every header field, and the Akamai string and hash with
 * "fingerprints_computed". Also the two prefaces measured on this machine and
 * recorded in FINGERPRINTS.md (nghttp 1.52 with its PRIORITY tree, Firefox ESR 153).
 *
 * Usage: test_h2_golden BROWSERS_JSON
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "guise_fp.h"
#include "h2.h"
#include "tcheck.h"

#define OUT_MAX 65536

typedef struct capture {
  uint8_t buf[OUT_MAX];
  size_t len;
} capture;

static void drain(h2_conn *c, capture *cap) {
  size_t n;
  do {
    TC_EQ(h2_send(c, cap->buf + cap->len, sizeof(cap->buf) - cap->len, &n), 0);
    cap->len += n;
  } while (n > 0 && cap->len < sizeof(cap->buf));
}

static const char *frame_name(uint8_t type) {
  static const char *names[] = {"DATA",     "HEADERS", "PRIORITY", "RST_STREAM",    "SETTINGS",
                                "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"};
  return type < 10 ? names[type] : "?";
}

/* The shape of a browsers.json "http2" block. */
static void shape_from_json(json_t *h2, h2_shape *s) {
  h2_shape_init(s);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(h2, "settings"), i, v) {
    s->settings[s->n_settings].id = (uint16_t)json_integer_value(json_array_get(v, 0));
    s->settings[s->n_settings].value = (uint32_t)json_integer_value(json_array_get(v, 1));
    s->n_settings++;
  }
  s->window_update = (uint32_t)json_integer_value(json_object_get(h2, "window_update_increment"));
  json_array_foreach(json_object_get(h2, "priority_frames"), i, v) {
    h2_priority_frame *f = &s->priority_frames[s->n_priority_frames++];
    f->stream_id = (uint32_t)json_integer_value(json_object_get(v, "stream_id"));
    f->priority.exclusive = (int)json_integer_value(json_object_get(v, "exclusive"));
    f->priority.depends_on = (uint32_t)json_integer_value(json_object_get(v, "depends_on"));
    f->priority.weight = (uint16_t)json_integer_value(json_object_get(v, "weight"));
  }
  json_t *hp = json_object_get(h2, "headers_priority");
  s->headers_priority_flag = json_is_true(json_object_get(hp, "priority_flag"));
  if (s->headers_priority_flag) {
    s->headers_priority.weight = (uint16_t)json_integer_value(json_object_get(hp, "weight"));
    s->headers_priority.exclusive = (int)json_integer_value(json_object_get(hp, "exclusive"));
    s->headers_priority.depends_on =
        (uint32_t)json_integer_value(json_object_get(hp, "stream_dependency"));
  }
  s->first_stream_id = (uint32_t)json_integer_value(json_object_get(h2, "headers_stream_id"));
  json_array_foreach(json_object_get(h2, "pseudo_header_order"), i, v) {
    if (i < 4) s->pseudo_order[i] = json_string_value(v)[1];
  }
  s->pseudo_order[4] = '\0';
}

/* Runs one navigation through a shaped connection and returns the client bytes.
 * With |server_settings_first|, the server's (empty) SETTINGS arrives after the
 * preface and before the request, as in Safari's capture. */
static void navigate(const h2_shape *s, const h2_header *hdrs, size_t n, int server_settings_first,
                     capture *cap) {
  h2_conn *c = NULL;
  TC_EQ(h2_conn_new(&c, s, NULL, NULL, NULL), 0);
  if (c == NULL) return;
  cap->len = 0;
  if (server_settings_first) {
    drain(c, cap);
    static const uint8_t settings[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    TC_EQ(h2_recv(c, settings, sizeof(settings)), 0);
  }
  h2_request req = {.method = "GET", .scheme = "https", .authority = "example.com",
                    .path = "/", .headers = hdrs, .n_headers = n};
  int32_t id = 0;
  TC_EQ(h2_submit(c, &req, NULL, NULL, &id), 0);
  TC_EQ(id, (long long)s->first_stream_id);
  drain(c, cap);
  h2_conn_free(c);
}

static void check_browser(json_t *b) {
  const char *name = json_string_value(json_object_get(b, "id"));
  json_t *h2 = json_object_get(b, "http2");
  json_t *nav = json_object_get(b, "http_headers_h2_navigation");
  json_t *fpc = json_object_get(b, "fingerprints_computed");
  printf("%s\n", name);
  h2_shape s;
  shape_from_json(h2, &s);
  const char *why = NULL;
  TC_EQ(h2_shape_check(&s, &why), 0);

  h2_header hdrs[64];
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(nav, i, v) {
    const char *hn = json_string_value(json_object_get(v, "name"));
    const char *hv = json_string_value(json_object_get(v, "value"));
    hdrs[n++] = (h2_header){hn, strlen(hn), hv, strlen(hv)};
  }

  /* The capture's frame sequence: a second SETTINGS before HEADERS is the ACK of
   * the server's SETTINGS, which had arrived before the request went out. */
  json_t *seq = json_object_get(h2, "frame_sequence");
  int settings_seen = 0, ack_in_capture = 0;
  json_array_foreach(seq, i, v) {
    if (strcmp(json_string_value(v), "SETTINGS") == 0 && settings_seen++) ack_in_capture = 1;
  }
  static capture cap;
  navigate(&s, hdrs, n, ack_in_capture, &cap);

  gfp_h2_preface *p = gfp_h2_new();
  TC_EQ(gfp_h2_parse(p, cap.buf, cap.len), GFP_DONE);
  TC_EQ(p->consumed, cap.len); /* nothing after the HEADERS block */

  /* Frame sequence, in full. */
  TC_EQ(p->frame_count, json_array_size(seq));
  for (size_t k = 0; k < p->frame_count && k < json_array_size(seq); k++)
    TC_STREQ(frame_name(p->frames[k].type), json_string_value(json_array_get(seq, k)));
  TC_EQ(p->frames[0].type, GFP_H2_SETTINGS);
  TC_EQ(p->frames[0].flags, 0);
  if (ack_in_capture) {
    TC_EQ(p->frames[2].type, GFP_H2_SETTINGS);
    TC_EQ(p->frames[2].flags, 1);
    TC_EQ(p->frames[2].length, 0);
  }

  /* SETTINGS: ids and values in order, nothing added. */
  json_t *set = json_object_get(h2, "settings");
  TC_EQ(p->frames[0].settings_count, json_array_size(set));
  TC_EQ(p->settings_count, json_array_size(set));
  for (size_t k = 0; k < p->settings_count && k < json_array_size(set); k++) {
    TC_EQ(p->settings[k].id, json_integer_value(json_array_get(json_array_get(set, k), 0)));
    TC_EQ(p->settings[k].value, json_integer_value(json_array_get(json_array_get(set, k), 1)));
  }

  /* WINDOW_UPDATE on the connection, and PRIORITY frames. */
  long long wu = json_integer_value(json_object_get(h2, "window_update_increment"));
  size_t n_wu = 0, n_prio = 0;
  for (size_t k = 0; k < p->frame_count; k++) {
    if (p->frames[k].type == GFP_H2_WINDOW_UPDATE) {
      n_wu++;
      TC_EQ(p->frames[k].stream_id, 0);
      TC_EQ(p->frames[k].window_increment, wu);
    }
    if (p->frames[k].type == GFP_H2_PRIORITY) {
      json_t *pf = json_array_get(json_object_get(h2, "priority_frames"), n_prio++);
      TC_EQ(p->frames[k].stream_id, json_integer_value(json_object_get(pf, "stream_id")));
    }
  }
  TC_EQ(n_wu, wu ? 1 : 0);
  TC_EQ(n_prio, json_array_size(json_object_get(h2, "priority_frames")));

  /* HEADERS: stream, flags, priority. */
  const gfp_h2_frame *hf = p->headers_frame;
  TC_CHECK(hf != NULL);
  if (hf) {
    json_t *hp = json_object_get(h2, "headers_priority");
    TC_EQ(hf->stream_id, json_integer_value(json_object_get(h2, "headers_stream_id")));
    TC_EQ(hf->flags & 0x05, 0x05); /* END_STREAM | END_HEADERS: a GET in one frame */
    TC_EQ(hf->has_priority, json_is_true(json_object_get(hp, "priority_flag")));
    if (hf->has_priority) {
      TC_EQ(hf->priority.weight, json_integer_value(json_object_get(hp, "weight")));
      TC_EQ(hf->priority.exclusive, json_integer_value(json_object_get(hp, "exclusive")));
      TC_EQ(hf->priority.depends_on, json_integer_value(json_object_get(hp, "stream_dependency")));
    }
  }

  /* Pseudo-headers in the browser's order, then every field as the browser sent it. */
  json_t *po = json_object_get(h2, "pseudo_header_order");
  TC_EQ(p->header_count, json_array_size(po) + json_array_size(nav));
  for (size_t k = 0; k < json_array_size(po) && k < p->header_count; k++) {
    const char *want = json_string_value(json_array_get(po, k));
    TC_CHECK(p->headers[k].name.len == strlen(want) &&
             memcmp(p->headers[k].name.data, want, strlen(want)) == 0);
  }
  for (size_t k = 0; k < n && 4 + k < p->header_count; k++) {
    const gfp_h2_header *g = &p->headers[4 + k];
    TC_CHECK(g->name.len == hdrs[k].name_len && memcmp(g->name.data, hdrs[k].name, g->name.len) == 0);
    TC_CHECK(g->value.len == hdrs[k].value_len &&
             memcmp(g->value.data, hdrs[k].value, g->value.len) == 0);
    TC_EQ(g->never_index, 0);
  }

  /* The Akamai fingerprint, string and hash. */
  gfp_h2_fp fp;
  TC_EQ(gfp_h2_fp_compute(p, &fp), 0);
  TC_STREQ(fp.akamai, json_string_value(json_object_get(fpc, "akamai_text")));
  TC_STREQ(fp.akamai, json_string_value(json_object_get(h2, "akamai_fingerprint")));
  TC_STREQ(fp.akamai_md5, json_string_value(json_object_get(fpc, "akamai_hash")));
  gfp_h2_fp_free(&fp);
  gfp_h2_free(p);
}

/* Values measured on this machine (FINGERPRINTS.md, 2026-11-26): nghttp 1.52 with
 * its PRIORITY tree, and Firefox ESR 153 (first HEADERS on stream 3, weight 42,
 * not exclusive). */
static void check_measured(void) {
  struct {
    const char *name, *akamai;
    h2_shape s;
  } cases[2];
  h2_shape *s = &cases[0].s;
  cases[0].name = "nghttp 1.52";
  cases[0].akamai = "3:100;4:65535|00|3:0:0:201,5:0:0:101,7:0:0:1,9:0:7:1,11:0:3:1|m,p,s,a";
  h2_shape_init(s);
  s->settings[0] = (h2_setting){3, 100};
  s->settings[1] = (h2_setting){4, 65535};
  s->n_settings = 2;
  static const uint32_t ids[5] = {3, 5, 7, 9, 11}, deps[5] = {0, 0, 0, 7, 3};
  static const uint16_t weights[5] = {201, 101, 1, 1, 1};
  for (int i = 0; i < 5; i++)
    s->priority_frames[i] = (h2_priority_frame){ids[i], {0, deps[i], weights[i]}};
  s->n_priority_frames = 5;
  s->first_stream_id = 13;
  s->headers_priority_flag = 1;
  s->headers_priority = (h2_priority){0, 11, 16};  /* nghttp: a page depends on 11 */
  memcpy(s->pseudo_order, "mpsa", 5);

  s = &cases[1].s;
  cases[1].name = "Firefox ESR 153";
  cases[1].akamai = "1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s";
  h2_shape_init(s);
  s->settings[0] = (h2_setting){1, 65536};
  s->settings[1] = (h2_setting){2, 0};
  s->settings[2] = (h2_setting){4, 131072};
  s->settings[3] = (h2_setting){5, 16384};
  s->n_settings = 4;
  s->window_update = 12517377;
  s->first_stream_id = 3;
  s->headers_priority_flag = 1;
  s->headers_priority = (h2_priority){0, 0, 42};
  memcpy(s->pseudo_order, "mpas", 5);

  for (int i = 0; i < 2; i++) {
    printf("%s (measured)\n", cases[i].name);
    static capture cap;
    h2_header ua = {"user-agent", 10, "x", 1};
    navigate(&cases[i].s, &ua, 1, 0, &cap);
    gfp_h2_preface *p = gfp_h2_new();
    TC_EQ(gfp_h2_parse(p, cap.buf, cap.len), GFP_DONE);
    gfp_h2_fp fp;
    TC_EQ(gfp_h2_fp_compute(p, &fp), 0);
    TC_STREQ(fp.akamai, cases[i].akamai);
    gfp_h2_fp_free(&fp);
    const gfp_h2_frame *hf = p->headers_frame;
    TC_CHECK(hf && hf->has_priority);
    if (hf) {
      TC_EQ(hf->stream_id, cases[i].s.first_stream_id);
      TC_EQ(hf->priority.weight, cases[i].s.headers_priority.weight);
      TC_EQ(hf->priority.exclusive, cases[i].s.headers_priority.exclusive);
      TC_EQ(hf->priority.depends_on, cases[i].s.headers_priority.depends_on);
    }
    /* PRIORITY frames sit between SETTINGS and HEADERS, in shape order. */
    size_t k = 0;
    for (size_t f = 0; f < p->frame_count; f++) {
      if (p->frames[f].type != GFP_H2_PRIORITY) continue;
      const h2_priority_frame *want = &cases[i].s.priority_frames[k++];
      TC_EQ(p->frames[f].stream_id, want->stream_id);
      TC_EQ(p->frames[f].priority.weight, want->priority.weight);
      TC_EQ(p->frames[f].priority.depends_on, want->priority.depends_on);
    }
    TC_EQ(k, cases[i].s.n_priority_frames);
    gfp_h2_free(p);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s BROWSERS_JSON\n", argv[0]);
    return 2;
  }
  json_error_t jerr;
  json_t *root = json_load_file(argv[1], 0, &jerr);
  if (root == NULL) {
    fprintf(stderr, "%s:%d:%d: %s\n", argv[1], jerr.line, jerr.column, jerr.text);
    return 2;
  }
  static const char *wanted[] = {"chrome_150.0.7871.127_macOS", "firefox_144.0.0_linux",
                                 "safari_26.0.1_macOS"};
  size_t found = 0, i;
  json_t *b;
  json_array_foreach(json_object_get(root, "browsers"), i, b) {
    for (size_t w = 0; w < 3; w++) {
      if (strcmp(json_string_value(json_object_get(b, "id")), wanted[w]) == 0) {
        check_browser(b);
        found++;
      }
    }
  }
  TC_EQ(found, 3);
  check_measured();
  json_decref(root);
  return tc_summary("test_h2_golden");
}

/*
 * test_echo_h3 — guise echo's HTTP/3 half (fingerprints/echo/echo_h3.c) fed stream bytes
 * directly, no QUIC.
 *
 * - The control stream reader: SETTINGS in wire order with RFC 9114 §7.2.4.1 / RFC 9204
 *   §5 names, a GREASE id (0x1f * 2 + 0x21) named GREASE, frame types and lengths, a
 *   PRIORITY_UPDATE (RFC 9218 §7.2, type 0xf0700) with its element and value; bytes cut
 *   inside a frame are "truncated"; a control stream whose first frame is not SETTINGS
 *   has an "error" at offset 0. Expected values are the bytes this test writes.
 * - Answers held until their streams close are capped (ECHO_H3_MAX_QUEUED, 4 MiB): with
 *   1 MiB answers, four requests are answered, the fifth ends the connection
 *   (echo_h3_read fails, echo_h3_overloaded); once stream 0 closes, a fifth fits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_h3.h"

static int failures;
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
      failures++;                                          \
    }                                                      \
  } while (0)

static char *dump(json_t *v) { return json_dumps(v, JSON_COMPACT); }

static void test_control_report(void) {
  /* SETTINGS: 0x6 = 12345 (2-byte varint 0x7039), 0x5f (GREASE) = 7, 0x1 = 0; a GREASE
   * frame 0x21 of length 0; PRIORITY_UPDATE 0xf0700 (4-byte varint 0x800f0700), element
   * 0, "u=1". */
  static const uint8_t ctl[] = {0x04, 0x08, 0x06, 0x70, 0x39, 0x40, 0x5f, 0x07, 0x01, 0x00,
                                0x21, 0x00, 0x80, 0x0f, 0x07, 0x00, 0x04, 0x00, 'u',  '=',
                                '1'};
  json_t *doc = json_object();
  CHECK(echo_h3_control_report(ctl, sizeof(ctl), 0, doc) == 0, "report failed");
  char *t = dump(doc);
  const char *want =
      "{\"settings\":[{\"id\":6,\"name\":\"MAX_FIELD_SECTION_SIZE\",\"value\":12345,\"grease\":"
      "false},{\"id\":95,\"name\":\"GREASE\",\"value\":7,\"grease\":true},{\"id\":1,\"name\":"
      "\"QPACK_MAX_TABLE_CAPACITY\",\"value\":0,\"grease\":false}],\"control_frames\":[{\"type\""
      ":4,\"length\":8,\"grease\":false},{\"type\":33,\"length\":0,\"grease\":true},{\"type\":"
      "984832,\"length\":4,\"grease\":false}],\"priority_updates\":[{\"type\":984832,"
      "\"element\":0,\"value\":\"u=1\"}],\"truncated\":false}";
  CHECK(t && strcmp(t, want) == 0, "control report\n got %s\nwant %s", t ? t : "(null)", want);
  free(t);
  json_decref(doc);

  doc = json_object(); /* cut inside the PRIORITY_UPDATE */
  CHECK(echo_h3_control_report(ctl, sizeof(ctl) - 2, 0, doc) == 0, "report failed");
  CHECK(json_is_true(json_object_get(doc, "truncated")) &&
            json_array_size(json_object_get(doc, "control_frames")) == 2,
        "a cut frame: truncated, two whole frames");
  json_decref(doc);

  doc = json_object(); /* GREASE frame first */
  CHECK(echo_h3_control_report(ctl + 10, sizeof(ctl) - 10, 0, doc) == 0, "report failed");
  json_t *e = json_object_get(doc, "error");
  CHECK(e && json_integer_value(json_object_get(e, "offset")) == 0 &&
            strstr(json_string_value(json_object_get(e, "reason")), "SETTINGS"),
        "a control stream not starting with SETTINGS has an error at 0");
  json_decref(doc);
}

static char *big_answer(void *arg, echo_h3_req *req, size_t *len) {
  (void)arg, (void)req;
  *len = 1024 * 1024;
  char *b = malloc(*len);
  if (b) memset(b, 'x', *len);
  return b;
}
static void consumed(void *arg, int64_t sid, size_t n) { (void)arg, (void)sid, (void)n; }

/* A GET on |sid|: HEADERS with :method GET, :scheme https, :path / (static 17, 23, 1) and
 * :authority localhost (literal with static name 0), RFC 9204 §4.5. */
static nghttp3_ssize request(echo_h3 *h, int64_t sid) {
  static const uint8_t hd[] = {0x01, 0x10, 0x00, 0x00, 0xd1, 0xd7, 0xc1, 0x50, 0x09,
                               'l',  'o',  'c',  'a',  'l',  'h',  'o',  's',  't'};
  return echo_h3_read(h, sid, hd, sizeof(hd), 1, 0);
}

static void test_queued_cap(void) {
  echo_h3_ops ops = {big_answer, consumed};
  echo_h3 *h;
  CHECK(echo_h3_new(&h, &ops, NULL) == 0, "echo_h3_new");
  static const uint8_t ctl[] = {0x00, 0x04, 0x00};
  CHECK(echo_h3_read(h, 2, ctl, sizeof(ctl), 0, 0) == (nghttp3_ssize)sizeof(ctl), "control");
  for (int64_t k = 0; k < 4; k++)
    CHECK(request(h, 4 * k) >= 0 && !echo_h3_overloaded(h), "request %d answered", (int)k);
  CHECK(request(h, 16) < 0 && echo_h3_overloaded(h), "a fifth 1 MiB answer ends the connection");
  echo_h3_free(h);

  CHECK(echo_h3_new(&h, &ops, NULL) == 0, "echo_h3_new");
  CHECK(echo_h3_read(h, 2, ctl, sizeof(ctl), 0, 0) == (nghttp3_ssize)sizeof(ctl), "control");
  for (int64_t k = 0; k < 4; k++) CHECK(request(h, 4 * k) >= 0, "request %d", (int)k);
  CHECK(nghttp3_conn_close_stream(echo_h3_conn(h), 0, NGHTTP3_H3_NO_ERROR) == 0, "close 0");
  CHECK(request(h, 16) >= 0 && !echo_h3_overloaded(h),
        "once a stream closed, its answer's bytes are free again");
  echo_h3_free(h);
}

int main(void) {
  test_control_report();
  test_queued_cap();
  if (failures) return 1;
  printf("ok: echo_h3 control stream report and answer cap\n");
  return 0;
}

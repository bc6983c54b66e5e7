/* test_batch_record.c — the record writer (client/lib/batch_record.h) and
 * guise_batch_record_error: records compared with text written out by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_record.h"
#include "guise.h"

#include "../../lib/gtest_check.h"

static void check_text(int line, const char *got, const char *want) {
  if (strcmp(got, want) != 0) {
    fprintf(stderr, "%s:%d: got\n  %s\nwant\n  %s\n", __FILE__, line, got, want);
    gt_failures++;
  }
}
#define SAME(got, want) check_text(__LINE__, got, want)

/* The record of a job through batch_record_write into a fresh buffer. */
static char *write_record(const batch_record_in *in) {
  sbuf r = {.max = (size_t)-1};
  batch_record_write(&r, in);
  return r.p;
}

static void test_error_record(void) {
  char out[4096];
  size_t n = guise_batch_record_error(out, sizeof(out), "7", 7, "JSON: expected ':' at column 9");
  SAME(out, "{\"id\":\"7\",\"line\":7,\"url\":null,\"status\":0,\"error\":\"USAGE_INVALID_ARGUMENT\","
            "\"error_class\":\"usage\",\"error_detail\":\"JSON: expected ':' at column 9\",\"attempts\":0}");
  CHECK(n == strlen(out));
  /* quotes, backslashes, control characters, DEL, invalid UTF-8 and valid UTF-8 */
  n = guise_batch_record_error(out, sizeof(out), "a\"b\\c\x01\xff\xc3\xa9", 18446744073709551615ull,
                               "x\ny\x7f");
  SAME(out, "{\"id\":\"a\\\"b\\\\c\\u0001\\u00ff\xc3\xa9\",\"line\":18446744073709551615,\"url\":null,"
            "\"status\":0,\"error\":\"USAGE_INVALID_ARGUMENT\",\"error_class\":\"usage\","
            "\"error_detail\":\"x\\ny\\u007f\",\"attempts\":0}");
  CHECK(n == strlen(out));
  /* A control character at the third byte of the id: the command's own escaper
   * wrote a short escape and left a byte of its buffer unwritten there. */
  n = guise_batch_record_error(out, sizeof(out), "ab\x02", 1, "w");
  SAME(out, "{\"id\":\"ab\\u0002\",\"line\":1,\"url\":null,\"status\":0,\"error\":\"USAGE_INVALID_ARGUMENT\","
            "\"error_class\":\"usage\",\"error_detail\":\"w\",\"attempts\":0}");
  /* Too small a buffer: 0 and "", never a cut record; the exact size fits. */
  size_t need = strlen(out);
  char small[256];
  memset(small, 'x', sizeof(small));
  CHECK(guise_batch_record_error(small, need, "ab\x02", 1, "w") == 0 && small[0] == '\0');
  CHECK(guise_batch_record_error(small, need + 1, "ab\x02", 1, "w") == need && strcmp(small, out) == 0);
  memset(small, 'x', sizeof(small));
  CHECK(guise_batch_record_error(small, 0, "a", 1, "w") == 0 && small[0] == 'x'); /* nothing written */
  /* The bound the header promises: 160 + 6 x (id + why), every byte escaped. */
  char id[1024], why[256];
  memset(id, 1, sizeof(id) - 1);
  id[sizeof(id) - 1] = '\0';
  memset(why, 0x7f, sizeof(why) - 1);
  why[sizeof(why) - 1] = '\0';
  size_t bound = 160 + 6 * (strlen(id) + strlen(why));
  char *big = malloc(bound);
  CHECK(big && guise_batch_record_error(big, bound, id, 18446744073709551615ull, why) > 0);
  free(big);
}

static void test_job_record(void) {
  /* A job that did not start: no "line" when 0, the id from the line otherwise,
   * the URL's password hidden in url and final_url. */
  sbuf body = {0};
  batch_record_in in = {.id = NULL, .line = 12, .url = "http://u:pw@h.test/p", .profile = "none",
                        .attempts = 0, .err = GUISE_E_USAGE_URL_MALFORMED, .detail = "bad \"URL\"",
                        .body_mode = GUISE_BODY_TEXT, .body = &body};
  char *r = write_record(&in);
  SAME(r, "{\"id\":\"12\",\"line\":12,\"url\":\"http://u:***@h.test/p\",\"final_url\":\"http://u:***@h.test/p\","
          "\"status\":0,\"http_version\":\"\",\"error\":\"USAGE_URL_MALFORMED\",\"error_class\":\"usage\","
          "\"error_detail\":\"bad \\\"URL\\\"\",\"attempts\":0,\"profile\":\"none\"}");
  free(r);

  /* A response: timings in ms with three decimals, TLS, redirects, headers,
   * the body inline (cut: body_truncated), meta as written. */
  guise_response_info info;
  memset(&info, 0, sizeof(info));
  const char *urls[] = {"https://h.test/a"};
  int statuses[] = {301};
  info.status = 200;
  info.http_version = "HTTP/2";
  info.effective_url = "https://h.test/b";
  info.redirect_urls = urls;
  info.redirect_statuses = statuses;
  info.n_redirects = 1;
  info.reused = 1;
  info.body_bytes = 5;
  info.wire_body_bytes = 3;
  info.dns_ms = 1.5;
  info.connect_ms = 0.0004;
  info.tls_ms = 2;
  info.ttfb_ms = 10.1236;
  info.total_ms = 12345.6789;
  info.remote = "127.0.0.1:443";
  info.tls_version = "TLSv1.3";
  info.tls_cipher = "TLS_AES_128_GCM_SHA256";
  info.tls_group = "X25519";
  info.alpn = "h2";
  info.error_detail = "";
  info.local = "";
  sbuf hj = {.max = 1000};
  const char *hdr = "[\"a\",\"1\"]";
  sb_put(&hj, hdr, strlen(hdr));
  sbuf bb = {.max = 3};
  sb_put(&bb, "hé", 3);
  bb.over = 1;
  batch_record_in ok = {.id = "j-1", .line = 0, .url = "https://h.test/a", .profile = "chrome-150",
                        .meta = "{\"k\":[1,2]}", .attempts = 2, .info = &info, .headers_json = &hj,
                        .body_mode = GUISE_BODY_TEXT, .body = &bb};
  r = write_record(&ok);
  SAME(r, "{\"id\":\"j-1\",\"url\":\"https://h.test/a\",\"final_url\":\"https://h.test/b\","
          "\"redirects\":[{\"url\":\"https://h.test/a\",\"status\":301}],\"status\":200,"
          "\"http_version\":\"HTTP/2\",\"error\":null,\"attempts\":2,\"profile\":\"chrome-150\","
          "\"reused\":true,\"bytes\":5,\"wire_bytes\":3,\"timings\":{\"dns\":1.500,\"connect\":0.000,"
          "\"tls\":2.000,\"ttfb\":10.124,\"total\":12345.679},\"remote\":\"127.0.0.1:443\","
          "\"tls\":{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_128_GCM_SHA256\",\"group\":\"X25519\","
          "\"alpn\":\"h2\"},\"headers\":[[\"a\",\"1\"]],\"body\":\"h\xc3\xa9\",\"body_truncated\":true,"
          "\"meta\":{\"k\":[1,2]}}");
  free(r);
  /* Integers and milliseconds at the edges of the digit writer (two digits per
   * step): 0, 9, 10, 99, 100, the largest 64-bit value; a thousandth. */
  {
    guise_response_info e = info;
    e.body_bytes = 18446744073709551615ull;
    e.wire_body_bytes = 100;
    e.dns_ms = 0;
    e.connect_ms = 0.009;
    e.tls_ms = 0.0995;
    e.ttfb_ms = 99.999;
    e.total_ms = 1000.01;
    batch_record_in in2 = ok;
    in2.info = &e;
    in2.attempts = 10;
    in2.line = 9;
    r = write_record(&in2);
    CHECK(strstr(r, "\"line\":9,") != NULL);
    CHECK(strstr(r, "\"attempts\":10,") != NULL);
    CHECK(strstr(r, "\"bytes\":18446744073709551615,\"wire_bytes\":100,\"timings\":{\"dns\":0.000,"
                    "\"connect\":0.009,\"tls\":0.100,\"ttfb\":99.999,\"total\":1000.010}") != NULL);
    free(r);
  }
  /* base64 of the same bytes; a body file; a failed job has no body field */
  ok.body_mode = GUISE_BODY_BASE64;
  ok.headers_json = NULL;
  ok.meta = NULL;
  bb.over = 0;
  r = write_record(&ok);
  CHECK(strstr(r, ",\"body_base64\":\"aMOp\"}") != NULL && strstr(r, "headers") == NULL);
  free(r);
  ok.body_mode = GUISE_BODY_DIR;
  ok.body_path = "/d/j-1-0123456789abcdef";
  r = write_record(&ok);
  CHECK(strstr(r, ",\"body_file\":\"/d/j-1-0123456789abcdef\"}") != NULL);
  free(r);
  ok.err = GUISE_E_TIMEOUT_TOTAL;
  r = write_record(&ok);
  CHECK(strstr(r, "body_file") == NULL && strstr(r, "\"error\":\"TIMEOUT_TOTAL\",\"error_class\":\"timeout\"") != NULL);
  free(r);
  free(hj.p);
  free(bb.p);
}

int main(void) {
  test_error_record();
  test_job_record();
  return gt_done("test_batch_record");
}

/* test_capture_golden.c — guise fp's reader on the captures and hex vectors of tests/data,
 * against the fingerprints recorded beside them (tshark 4.0 / 4.4 JA3, JA4 reference).
 *
 * usage: test_capture_golden VECTORS_DIR */
#include <dirent.h>

#include "tcap.h"

static json_t *run_file(const char *path) {
  gcap_options o;
  gcap_options_init(&o);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *arr = json_array();
  char err[512];
  if (gcap_read_file(path, NULL, &o, tcap_collect, arr, &st, err, sizeof(err)) != 0)
    fprintf(stderr, "%s\n", err);
  CHECK_EQ(st.errors, 0);
  return arr;
}

static json_t *record_of_stream(json_t *records, long long stream) {
  size_t i;
  json_t *r;
  json_array_foreach(records, i, r) {
    if (tcap_int(r, "flow", "stream") == stream) return r;
  }
  return NULL;
}

/* Two curl handshakes: each stream against the vector that names it. */
static void test_capture_two_handshakes(const char *dir) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/clienthello/local_curl7.88.1_two_handshakes.pcap", dir);
  json_t *recs = run_file(path);
  CHECK_EQ(json_array_size(recs), 2);
  static const char *const vectors[] = {"local_curl7.88.1_openssl3.0_http1.1_sni",
                                        "local_curl7.88.1_openssl3.0_h2_ip"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof(path), "%s/clienthello/%s.expected.json", dir, vectors[i]);
    json_t *exp = json_load_file(path, 0, NULL);
    CHECK(exp != NULL);
    if (exp == NULL) continue;
    json_t *rec = record_of_stream(recs, tcap_int(exp, "tcp_stream", NULL));
    CHECK(rec != NULL);
    const char *ja3 = tcap_str(rec, "tls", "fingerprints", "ja3_md5");
    const char *ja4 = tcap_str(rec, "tls", "fingerprints", "ja4");
    CHECK_STR(ja3, tcap_str(exp, "tshark_4.0.17", "ja3", NULL));
    CHECK_STR(ja3, tcap_str(exp, "tshark_4.4.19", "ja3", NULL));
    CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja3"),
              tcap_str(exp, "tshark_4.0.17", "ja3_full", NULL));
    CHECK_STR(ja4, tcap_str(exp, "tshark_4.4.19", "ja4", NULL));
    CHECK_STR(ja4, tcap_str(exp, "reference_impl", "ja4", NULL));
    CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4_r"),
              tcap_str(exp, "reference_impl", "ja4_r", NULL));
    json_decref(exp);
  }
  json_decref(recs);
}

/* nghttp and curl over h2c: the Akamai strings of akamai_examples.json. */
static void test_capture_h2c_akamai(const char *dir) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/h2/nghttp1.52_and_curl_h2c_port18445.pcap", dir);
  json_t *recs = run_file(path);
  CHECK_EQ(json_array_size(recs), 2);
  json_t *r0 = record_of_stream(recs, 0), *r1 = record_of_stream(recs, 1);
  CHECK_STR(tcap_str(r0, "http2", "akamai", NULL),
            "3:100;4:65535|00|3:0:0:201,5:0:0:101,7:0:0:1,9:0:7:1,11:0:3:1|m,p,s,a");
  CHECK_STR(tcap_str(r1, "http2", "akamai", NULL), "3:100;4:33554432;2:0|33488897|0|m,p,s,a");
  snprintf(path, sizeof(path), "%s/h2/akamai_examples.json", dir);
  json_t *ex = json_load_file(path, 0, NULL);
  CHECK(ex != NULL);
  size_t i;
  json_t *c;
  int found = 0;
  json_array_foreach(json_object_get(ex, "cases"), i, c) {
    const char *client = tcap_str(c, "client", NULL, NULL);
    if (client == NULL || strstr(client, "h2c") == NULL) continue;
    json_t *rec = strstr(client, "nghttp") ? r0 : r1;
    CHECK_STR(tcap_str(rec, "http2", "akamai", NULL), tcap_str(c, "akamai", NULL, NULL));
    CHECK_STR(tcap_str(rec, "http2", "akamai_md5", NULL), tcap_str(c, "akamai_md5", NULL, NULL));
    found++;
  }
  CHECK_EQ(found, 2);
  json_decref(ex);
  json_decref(recs);
}

/* Every hex vector: its recorded JA3 and JA4. */
static void test_capture_hex_vectors(const char *dir) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/clienthello", dir);
  DIR *d = opendir(path);
  CHECK(d != NULL);
  if (d == NULL) return;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".hex") != 0) continue;
    char hex[2048], exp_path[2048];
    snprintf(hex, sizeof(hex), "%.1000s/%.256s", path, e->d_name);
    snprintf(exp_path, sizeof(exp_path), "%.1000s/%.*s.expected.json", path,
             (int)(l - 4 < 256 ? l - 4 : 256), e->d_name);
    json_t *recs = run_file(hex);
    json_t *exp = json_load_file(exp_path, 0, NULL);
    CHECK_EQ(json_array_size(recs), 1);
    CHECK(exp != NULL);
    json_t *rec = json_array_get(recs, 0);
    fprintf(stderr, "  %s\n", e->d_name);
    CHECK_STR(tcap_str(rec, "flow", "input", NULL), "hex");
    CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja3_md5"),
              tcap_str(exp, "tshark_4.0.17", "ja3", NULL));
    CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja3"),
              tcap_str(exp, "reference_impl", "ja3", NULL));
    CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4"),
              tcap_str(exp, "reference_impl", "ja4", NULL));
    CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4_o"),
              tcap_str(exp, "reference_impl", "ja4_o", NULL));
    json_decref(exp);
    json_decref(recs);
    n++;
  }
  closedir(d);
  CHECK(n >= 7);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
    return 2;
  }
  test_capture_two_handshakes(argv[1]);
  test_capture_h2c_akamai(argv[1]);
  test_capture_hex_vectors(argv[1]);
  return gt_done("test_capture_golden");
}

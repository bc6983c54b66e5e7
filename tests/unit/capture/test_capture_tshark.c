/* test_capture_tshark.c — cross-check with an independent reader: the JA3 of every TCP
 * stream's first ClientHello, and of the one sent again after a HelloRetryRequest, from
 * tshark (Debian's 4.0) equals guise fp's, on the captures and on synthetic ones whose
 * hellos are split, reordered and duplicated.
 *
 * usage: test_capture_tshark OUT_DIR VECTORS_DIR   (exit 77: tshark missing) */
#include <dirent.h>
#include <sys/stat.h>

#include "tcap.h"

#define MAX_STREAMS 64

/* JA3 hash of the first ClientHello of each stream per tshark (|ja3|), and of a second
 * one (|retry|: after a HelloRetryRequest); returns streams seen. */
static int tshark_ja3(const char *pcap, char ja3[MAX_STREAMS][33], char retry[MAX_STREAMS][33]) {
  char cmd[2048];
  /* Out-of-order reassembly is off by default in tshark 4.0. */
  snprintf(cmd, sizeof(cmd),
           "tshark -n -r '%s' -o tcp.reassemble_out_of_order:TRUE -Y tls.handshake.type==1 "
           "-T fields -e tcp.stream -e tls.handshake.ja3 2>/dev/null", pcap);
  FILE *p = popen(cmd, "r");
  if (p == NULL) return -1;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof(line), p) != NULL) {
    int s;
    char h[64];
    if (sscanf(line, "%d %63s", &s, h) != 2 || s < 0 || s >= MAX_STREAMS) continue;
    /* A HelloRetryRequest makes a second ClientHello in the same stream. Several hashes
     * on one line (a hello split over frames) are comma-separated: take the first. */
    char *comma = strchr(h, ',');
    if (comma) *comma = '\0';
    if (ja3[s][0] == '\0')
      snprintf(ja3[s], 33, "%.32s", h);
    else if (retry[s][0] == '\0')
      snprintf(retry[s], 33, "%.32s", h);
    if (s + 1 > n) n = s + 1;
  }
  return pclose(p) == 0 ? n : -1;
}

static void compare(const char *pcap) {
  char want[MAX_STREAMS][33], want_retry[MAX_STREAMS][33];
  memset(want, 0, sizeof(want));
  memset(want_retry, 0, sizeof(want_retry));
  int n = tshark_ja3(pcap, want, want_retry);
  CHECK(n > 0);
  gcap_options o;
  gcap_options_init(&o);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *recs = json_array();
  char err[512];
  CHECK_EQ(gcap_read_file(pcap, NULL, &o, tcap_collect, recs, &st, err, sizeof(err)), 0);
  int matched = 0, have_tls = 0;
  size_t i;
  json_t *r;
  json_array_foreach(recs, i, r) {
    long long s = tcap_int(r, "flow", "stream");
    const char *got = tcap_str(r, "tls", "fingerprints", "ja3_md5");
    if (got == NULL) continue;
    have_tls++;
    CHECK(s >= 0 && s < MAX_STREAMS);
    if (s < 0 || s >= MAX_STREAMS) continue;
    const char *w = json_is_true(json_object_get(json_object_get(r, "flow"), "hello_retry"))
                        ? want_retry[s]
                        : want[s];
    CHECK_STR(got, w);
    matched += w[0] != '\0' && strcmp(got, w) == 0;
  }
  int tshark_hellos = 0;
  for (int s = 0; s < MAX_STREAMS; s++)
    tshark_hellos += (want[s][0] != '\0') + (want_retry[s][0] != '\0');
  CHECK_EQ(have_tls, tshark_hellos);
  printf("%s: %d of %d ClientHellos agree with tshark\n", pcap, matched, tshark_hellos);
  json_decref(recs);
}

/* A capture of every hex vector's hello, one connection each, split in a different way. */
static bool synth(const char *out, const char *vectors, int how) {
  char dir[1024];
  snprintf(dir, sizeof(dir), "%s/clienthello", vectors);
  DIR *d = opendir(dir);
  if (d == NULL) return false;
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  struct dirent *e;
  uint16_t port = 50000;
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".hex") != 0) continue;
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    size_t n;
    uint8_t *h = tcap_read_hex(path, &n);
    if (h == NULL) continue;
    tcap_conn k;
    memset(&k, 0, sizeof(k));
    k.w = &w;
    k.c = tcap_v4(192, 0, 2, 1, port++);
    k.s = tcap_v4(192, 0, 2, 2, 443);
    k.cisn = 0xfffffe00u + port; /* wraps inside the hello */
    k.sisn = 42;
    tcap_handshake(&k);
    size_t step = n / 5 + 1;
    if (how == 0) { /* split and every piece sent twice */
      for (size_t off = 0; off < n; off += step) {
        size_t len = off + step < n ? step : n - off;
        tcap_send(&k, off, h + off, len);
        tcap_send(&k, off, h + off, len);
      }
    } else { /* second half first, then the first half, then all again */
      tcap_send(&k, n / 2, h + n / 2, n - n / 2);
      tcap_send(&k, 0, h, n / 2);
      tcap_send(&k, 0, h, n);
    }
    free(h);
  }
  closedir(d);
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  bool ok = cap != NULL && tcap_write(out, cap, len);
  free(cap);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s OUT_DIR VECTORS_DIR\n", argv[0]);
    return 2;
  }
  if (system("tshark -v >/dev/null 2>&1") != 0) {
    printf("tshark not installed: skipped\n");
    return 77;
  }
  mkdir(argv[1], 0755);
  char path[2048];
  snprintf(path, sizeof(path), "%s/clienthello/local_curl7.88.1_two_handshakes.pcap", argv[2]);
  compare(path);
  snprintf(path, sizeof(path), "%s/h2/curl7.88.1_h2_tls_plus_nghttp.pcap", argv[2]);
  compare(path);
  for (int how = 0; how < 2; how++) {
    snprintf(path, sizeof(path), "%s/synthetic_%d.pcap", argv[1], how);
    CHECK(synth(path, argv[2], how));
    compare(path);
  }
  return gt_done("test_capture_tshark");
}

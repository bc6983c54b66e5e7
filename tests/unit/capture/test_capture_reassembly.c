/* test_capture_reassembly.c — the capture reader on synthetic captures: every link
 * type, IPv4/IPv6, TCP segments split, reordered, duplicated, overlapping, missing,
 * wrapping around 2^32, port reuse, captures without SYN, limits, bad files and hex.
 *
 * usage: test_capture_reassembly VECTORS_DIR [OUT_DIR]   (OUT_DIR: keep the pcaps) */
#include <stdint.h>

#include "tcap.h"

static const char *out_dir;
static uint8_t *hello;     /* foxio Chrome ClientHello record (vector) */
static size_t hello_len;
static const char *hello_ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";

static void keep(const char *name, const uint8_t *d, size_t len) {
  if (out_dir == NULL) return;
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", out_dir, name);
  tcap_write(path, d, len);
}

static tcap_conn conn(tcap_writer *w, int family, uint16_t cport) {
  tcap_conn k;
  memset(&k, 0, sizeof(k));
  k.w = w;
  if (family == 4) {
    k.c = tcap_v4(10, 0, 0, 1, cport);
    k.s = tcap_v4(10, 0, 0, 2, 443);
  } else {
    k.c = tcap_v6(1, cport);
    k.s = tcap_v6(2, 443);
  }
  k.cisn = 1000;
  k.sisn = 5000;
  return k;
}

/* One ClientHello in one segment, for each link type, IPv4 and IPv6, pcap and pcapng. */
static void test_capture_link_types(void) {
  static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_NULL,
                             DLT_LOOP};
  for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
    for (int fam = 4; fam <= 6; fam += 2) {
      for (int ng = 0; ng <= 1; ng++) {
        tcap_writer w;
        tcap_begin(&w, dlts[i], ng);
        tcap_conn k = conn(&w, fam, 40000);
        tcap_handshake(&k);
        tcap_send(&k, 0, hello, hello_len);
        size_t len;
        uint8_t *cap = tcap_end(&w, &len);
        if (dlts[i] == DLT_LINUX_SLL2 && fam == 6 && ng) keep("sll2_ipv6.pcapng", cap, len);
        if (dlts[i] == DLT_NULL && fam == 4 && !ng) keep("null_ipv4.pcap", cap, len);
        gcap_stats st;
        memset(&st, 0, sizeof(st));
        json_t *r = tcap_run(cap, len, NULL, &st, NULL);
        CHECK_EQ(json_array_size(r), 1);
        json_t *rec = json_array_get(r, 0);
        CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4"), hello_ja4);
        CHECK_STR(tcap_str(rec, "flow", "client", NULL),
                  fam == 4 ? "10.0.0.1:40000" : "[fd00::1]:40000");
        CHECK_STR(tcap_str(rec, "flow", "server", NULL),
                  fam == 4 ? "10.0.0.2:443" : "[fd00::2]:443");
        CHECK_EQ(tcap_int(rec, "flow", "first_packet"), 1);
        CHECK_STR(tcap_str(rec, "flow", "time", NULL), "2023-11-14T22:13:20.001000000Z");
        CHECK_EQ(st.packets, 4);
        CHECK_EQ(st.errors, 0);
        json_decref(r);
        free(cap);
      }
    }
  }
}

/* Runs a capture of one connection whose client segments are given as (offset, length)
 * pieces of the hello, in capture order; returns the records. */
static json_t *pieces(const size_t (*p)[2], size_t n, uint32_t cisn, gcap_stats *st,
                      const char *keep_as) {
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  tcap_conn k = conn(&w, 4, 40001);
  k.cisn = cisn;
  tcap_handshake(&k);
  for (size_t i = 0; i < n; i++) tcap_send(&k, p[i][0], hello + p[i][0], p[i][1]);
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  if (keep_as) keep(keep_as, cap, len);
  json_t *r = tcap_run(cap, len, NULL, st, NULL);
  free(cap);
  return r;
}

static void expect_hello(json_t *r) {
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "tls", "fingerprints", "ja4"), hello_ja4);
  json_decref(r);
}

static void test_capture_split_reordered_duplicated(void) {
  /* In order, 7 pieces. */
  size_t inorder[7][2];
  size_t step = hello_len / 7 + 1;
  size_t n = 0;
  for (size_t off = 0; off < hello_len; off += step)
    inorder[n][0] = off, inorder[n][1] = off + step < hello_len ? step : hello_len - off, n++;
  expect_hello(pieces(inorder, n, 1000, NULL, "split_inorder.pcap"));
  /* Reversed: every piece arrives before the one it follows (held out of order). */
  size_t rev[7][2];
  for (size_t i = 0; i < n; i++) rev[i][0] = inorder[n - 1 - i][0], rev[i][1] = inorder[n - 1 - i][1];
  expect_hello(pieces(rev, n, 1000, NULL, "split_reversed.pcap"));
  /* Every piece twice, and overlapping retransmissions covering two pieces. */
  size_t dup[3 * 7][2];
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    dup[m][0] = inorder[i][0], dup[m][1] = inorder[i][1], m++;
    dup[m][0] = inorder[i][0], dup[m][1] = inorder[i][1], m++;
    if (i + 1 < n) dup[m][0] = inorder[i][0] + 3, dup[m][1] = inorder[i][1] + 5, m++;
  }
  expect_hello(pieces(dup, m, 1000, NULL, "split_duplicated.pcap"));
  /* Sequence numbers wrapping around 2^32 inside the hello (RFC 9293 §3.4). */
  expect_hello(pieces(inorder, n, 0xffffff00u, NULL, NULL));
  /* One byte per segment, in order. */
  size_t *bytes = malloc(hello_len * 2 * sizeof(size_t));
  for (size_t i = 0; i < hello_len; i++) bytes[2 * i] = i, bytes[2 * i + 1] = 1;
  expect_hello(pieces((const size_t(*)[2])bytes, hello_len, 1000, NULL, NULL));
  free(bytes);
}

/* A retransmission whose bytes differ from the first copy does not change the flight:
 * bytes already received stay (the receiver delivered them already). */
static void test_capture_first_copy_wins(void) {
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  tcap_conn k = conn(&w, 4, 40002);
  tcap_handshake(&k);
  /* Offsets 11..42 are the ClientHello random (RFC 8446 §4.1.2): any bytes parse. */
  uint8_t evil[20];
  tcap_send(&k, 0, hello, 20);
  tcap_send(&k, 30, hello + 30, hello_len - 30); /* out of order: a hole at 20..29 */
  memset(evil, 0xdd, sizeof(evil));
  tcap_send(&k, 20, evil, 20); /* fills the hole; 30..39 were held already and stay */
  memset(evil, 0xee, sizeof(evil));
  tcap_send(&k, 0, evil, 20); /* a duplicate of delivered bytes, different content */
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  json_t *r = tcap_run(cap, len, NULL, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  const char *raw = tcap_str(json_array_get(r, 0), "tls", "client_hello", "raw");
  CHECK(raw != NULL && strlen(raw) == 2 * hello_len);
  if (raw != NULL && strlen(raw) == 2 * hello_len) {
    for (size_t i = 0; i < hello_len; i++) {
      unsigned v;
      sscanf(raw + 2 * i, "%2x", &v);
      uint8_t want = (i >= 20 && i < 30) ? 0xdd : hello[i];
      if (v != want) {
        CHECK_EQ(i, -1); /* first differing byte */
        break;
      }
    }
  }
  json_decref(r);
  free(cap);
}

/* A segment never captured: an error record naming the hole. */
static void test_capture_gap_is_error(void) {
  size_t p[2][2] = {{0, 100}, {200, 0}};
  p[1][1] = hello_len - 200;
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *r = pieces(p, 2, 1000, &st, "gap.pcap");
  CHECK_EQ(json_array_size(r), 1);
  json_t *rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "error", "stage", NULL), "tcp");
  CHECK_EQ(tcap_int(rec, "error", "offset"), 100);
  CHECK_EQ(st.errors, 1);
  json_decref(r);
  /* The first segment missing. */
  size_t q[1][2] = {{10, 0}};
  q[0][1] = hello_len - 10;
  r = pieces(q, 1, 1000, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "error", "stage", NULL), "tcp");
  CHECK_EQ(tcap_int(json_array_get(r, 0), "error", "offset"), 0);
  json_decref(r);
  /* The capture ends mid-hello without a hole. */
  size_t t[1][2] = {{0, 300}};
  r = pieces(t, 1, 1000, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "error", "stage", NULL), "tls");
  CHECK_EQ(tcap_int(json_array_get(r, 0), "error", "offset"), 300);
  json_decref(r);
}

/* No SYN captured, the server's bytes first: the client is the side whose first bytes
 * are a ClientHello. Plus a mid-stream connection of application data: skipped. */
static void test_capture_without_syn(void) {
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  tcap_conn k = conn(&w, 4, 40003);
  static const uint8_t server_hello[] = {0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0, 0, 0};
  tcap_seg(&k, false, GCAP_TCP_ACK, 9000, server_hello, sizeof(server_hello));
  tcap_seg(&k, true, GCAP_TCP_ACK, 77, hello, hello_len);
  tcap_conn k2 = conn(&w, 4, 40004);
  static const uint8_t appdata[] = {0x17, 0x03, 0x03, 0x00, 0x02, 0xaa, 0xbb};
  tcap_seg(&k2, true, GCAP_TCP_ACK, 5, appdata, sizeof(appdata));
  tcap_seg(&k2, false, GCAP_TCP_ACK, 6, appdata, sizeof(appdata));
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  keep("no_syn.pcap", cap, len);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *r = tcap_run(cap, len, NULL, &st, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "flow", "client", NULL), "10.0.0.1:40003");
  CHECK_STR(tcap_str(json_array_get(r, 0), "tls", "fingerprints", "ja4"), hello_ja4);
  CHECK_EQ(st.other_flows, 1);
  CHECK_EQ(st.flows, 2);
  json_decref(r);
  free(cap);
}

/* The same ports reused by a new connection (new ISN): two streams, two records. Also
 * a connection without payload is skipped, and TCP Fast Open data on the SYN. */
static void test_capture_port_reuse_and_tfo(void) {
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  tcap_conn k = conn(&w, 4, 40005);
  tcap_handshake(&k);
  tcap_send(&k, 0, hello, hello_len);
  k.cisn = 777777;
  tcap_handshake(&k);
  static const uint8_t get[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  tcap_send(&k, 0, get, sizeof(get) - 1);
  tcap_conn e = conn(&w, 4, 40006);
  tcap_handshake(&e);
  tcap_conn f = conn(&w, 4, 40007);
  tcap_seg(&f, true, GCAP_TCP_SYN, f.cisn, hello, hello_len); /* RFC 7413 */
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *r = tcap_run(cap, len, NULL, &st, NULL);
  CHECK_EQ(json_array_size(r), 3);
  CHECK_EQ(tcap_int(json_array_get(r, 0), "flow", "stream"), 0);
  CHECK(json_object_get(json_array_get(r, 0), "tls") != NULL);
  CHECK_EQ(tcap_int(json_array_get(r, 1), "flow", "stream"), 1);
  CHECK_STR(tcap_str(json_array_get(r, 1), "http1", "target", NULL), "/x");
  CHECK_EQ(tcap_int(json_array_get(r, 1), "flow", "first_packet"), 5);
  CHECK_EQ(tcap_int(json_array_get(r, 2), "flow", "stream"), 3);
  CHECK_STR(tcap_str(json_array_get(r, 2), "tls", "fingerprints", "ja4"), hello_ja4);
  CHECK_EQ(st.empty_flows, 1);
  CHECK_EQ(st.flows, 4);
  json_decref(r);
  free(cap);
}

static void test_capture_limits(void) {
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  for (uint16_t p = 0; p < 3; p++) {
    tcap_conn k = conn(&w, 6, (uint16_t)(41000 + p));
    tcap_handshake(&k);
    tcap_send(&k, 0, hello, hello_len);
  }
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  gcap_options o;
  gcap_options_init(&o);
  o.max_flows = 2;
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *r = tcap_run(cap, len, &o, &st, NULL);
  CHECK_EQ(json_array_size(r), 3); /* two flights, one error for the third connection */
  CHECK_STR(tcap_str(json_array_get(r, 2), "error", "stage", NULL), "capture");
  CHECK_EQ(tcap_int(json_array_get(r, 2), "flow", "packet"), 9);
  CHECK_EQ(st.errors, 1);
  json_decref(r);
  gcap_options_init(&o);
  o.max_flow_bytes = 128;
  r = tcap_run(cap, len, &o, NULL, NULL);
  CHECK_EQ(json_array_size(r), 3);
  CHECK_STR(tcap_str(json_array_get(r, 0), "error", "stage", NULL), "capture");
  CHECK_EQ(tcap_int(json_array_get(r, 0), "error", "offset"), 128);
  json_decref(r);
  free(cap);
}

/* Packets the reader must ignore or treat with care. */
static void test_capture_odd_packets(void) {
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  tcap_conn k = conn(&w, 4, 40008);
  tcap_handshake(&k);
  uint8_t frame[2048];
  /* An IPv4 fragment (MF set) carrying garbage at the hello's place: ignored. */
  size_t n = tcap_build(DLT_EN10MB, &k.c, &k.s, k.cisn + 1, 0, GCAP_TCP_ACK, hello, 64, frame,
                        sizeof(frame));
  frame[14 + 6] |= 0x20;
  frame[14 + 40] ^= 0xff;
  tcap_frame(&w, frame, n);
  /* Ethernet padding after a short datagram: the first 3 hello bytes, then 20 bytes of
   * padding that Total Length excludes. */
  n = tcap_build(DLT_EN10MB, &k.c, &k.s, k.cisn + 1, 0, GCAP_TCP_ACK, hello, 3, frame,
                 sizeof(frame));
  memset(frame + n, 0x99, 20);
  tcap_frame(&w, frame, n + 20);
  /* A frame cut at 30 bytes (snaplen): headers truncated, ignored. */
  n = tcap_build(DLT_EN10MB, &k.c, &k.s, k.cisn + 4, 0, GCAP_TCP_ACK, hello + 3, 10, frame,
                 sizeof(frame));
  tcap_frame_cut(&w, frame, n, 30);
  tcap_send(&k, 3, hello + 3, hello_len - 3);
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  keep("odd_packets.pcap", cap, len);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  expect_hello(tcap_run(cap, len, NULL, &st, NULL));
  CHECK_EQ(st.ignored_packets, 2);
  free(cap);

  /* Payload cut by the snaplen: the record says so. */
  tcap_begin(&w, DLT_EN10MB, false);
  k = conn(&w, 4, 40009);
  tcap_handshake(&k);
  n = tcap_build(DLT_EN10MB, &k.c, &k.s, k.cisn + 1, 0, GCAP_TCP_ACK, hello, hello_len, frame,
                 sizeof(frame));
  tcap_frame_cut(&w, frame, n, 96);
  cap = tcap_end(&w, &len);
  json_t *r = tcap_run(cap, len, NULL, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  const char *why = tcap_str(json_array_get(r, 0), "error", "reason", NULL);
  CHECK(why != NULL && strstr(why, "snaplen") != NULL);
  json_decref(r);
  free(cap);
}

static void test_capture_bad_files(void) {
  /* A record cut short: an error record with the file offset, flights before it kept. */
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  tcap_conn k = conn(&w, 4, 40010);
  tcap_handshake(&k);
  tcap_send(&k, 0, hello, hello_len);
  tcap_send(&k, hello_len, hello, 100);
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  keep("truncated.pcap", cap, len - 50);
  json_t *r = tcap_run(cap, len - 50, NULL, NULL, NULL);
  CHECK_EQ(json_array_size(r), 2);
  CHECK(json_object_get(json_array_get(r, 0), "tls") != NULL);
  json_t *e = json_array_get(r, 1);
  CHECK_STR(tcap_str(e, "error", "stage", NULL), "capture");
  CHECK_EQ(tcap_int(e, "flow", "packet"), 5);
  CHECK(tcap_int(e, "error", "offset") > 24);
  json_decref(r);
  /* A header libpcap rejects, and a link type the reader does not know: unreadable. */
  int rc = 0;
  r = tcap_run(cap, 10, NULL, NULL, &rc);
  CHECK_EQ(rc, -1);
  CHECK_EQ(json_array_size(r), 0);
  json_decref(r);
  cap[20] = 147; /* LINKTYPE_USER0 */
  r = tcap_run(cap, len, NULL, NULL, &rc);
  CHECK_EQ(rc, -1);
  json_decref(r);
  free(cap);
  /* Every prefix of a capture: never a crash, at most a few records. */
  tcap_begin(&w, DLT_LINUX_SLL2, true);
  k = conn(&w, 6, 40011);
  tcap_handshake(&k);
  tcap_send(&k, 0, hello, hello_len);
  cap = tcap_end(&w, &len);
  for (size_t cut = 0; cut <= len; cut += 7) {
    r = tcap_run(cap, cut, NULL, NULL, &rc);
    CHECK(json_array_size(r) <= 2);
    json_decref(r);
  }
  free(cap);
}

static void test_capture_hex(void) {
  static const struct {
    const char *text;
    const char *stage;
    long long offset;
  } bad[] = {
      {"1603 01zz", "hex", 7},
      {"160301 0", "hex", 7},
      {"  \n ", "hex", 0},
      {"0x16", "hex", 1},
      {"160301", "tls", 3},               /* a consistent prefix that ends */
      {"00010203", "flight", 0},          /* not a client flight */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_t *r = tcap_run((const uint8_t *)bad[i].text, strlen(bad[i].text), NULL, NULL, NULL);
    CHECK_EQ(json_array_size(r), 1);
    CHECK_STR(tcap_str(json_array_get(r, 0), "error", "stage", NULL), bad[i].stage);
    CHECK_EQ(tcap_int(json_array_get(r, 0), "error", "offset"), bad[i].offset);
    json_decref(r);
  }
  static const char get[] = "474554202f20485454502f312e310d0a486f73743a20610d0a0d0a\n";
  json_t *r = tcap_run((const uint8_t *)get, strlen(get), NULL, NULL, NULL);
  CHECK_STR(tcap_str(json_array_get(r, 0), "http1", "method", NULL), "GET");
  CHECK_STR(tcap_str(json_array_get(r, 0), "flow", "input", NULL), "hex");
  json_decref(r);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s VECTORS_DIR [OUT_DIR]\n", argv[0]);
    return 2;
  }
  out_dir = argc > 2 ? argv[2] : NULL;
  char path[1024];
  snprintf(path, sizeof(path), "%s/clienthello/foxio_tls-handshake_s0_chrome.hex", argv[1]);
  hello = tcap_read_hex(path, &hello_len);
  if (hello == NULL) {
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  test_capture_link_types();
  test_capture_split_reordered_duplicated();
  test_capture_first_copy_wins();
  test_capture_gap_is_error();
  test_capture_without_syn();
  test_capture_port_reuse_and_tfo();
  test_capture_limits();
  test_capture_odd_packets();
  test_capture_bad_files();
  test_capture_hex();
  free(hello);
  return gt_done("test_capture_reassembly");
}

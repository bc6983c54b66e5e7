/* test_capture_quic: guise fp on QUIC. The client Initial packets of RFC 9001 A.2 (v1) and
 * RFC 9369 A.2 (v2) put in UDP datagrams of a synthetic capture, and a real Chromium 156
 * capture whose ClientHello spans two Initial packets (tests/data/quic, expected values
 * from tshark 4.0.17 and from the JA4 rules applied to tshark's fields: see its
 * .expected.json), and a Firefox ESR 153 capture of a GSO send. Also: packets in reverse order, Retry / short header / server
 * packets counted and skipped, damaged and truncated Initials, other UDP traffic.
 *
 * Usage: test_capture_quic QUIC_DATA_DIR */
#include <pcap/pcap.h>

#include "tcap.h"

static char g_dir[1024];

static const char *or_empty(const char *s) { return s != NULL ? s : ""; }

/* ---- inputs -------------------------------------------------------------------------- */

/* The hex value of "name:" in an appendix file (continuation lines start with space). */
static uint8_t *vector_field(const char *file, const char *name, size_t *len) {
  char path[1200];
  snprintf(path, sizeof(path), "%s/%s", g_dir, file);
  size_t tl;
  uint8_t *text = tcap_read(path, &tl);
  if (text == NULL) return NULL;
  char *hex = calloc(1, tl + 1);
  size_t hn = 0, nl = strlen(name);
  bool in = false;
  for (size_t i = 0; i < tl;) {
    size_t e = i;
    while (e < tl && text[e] != '\n') e++;
    const char *line = (const char *)text + i;
    size_t ll = e - i;
    i = e + 1;
    if (ll == 0 || line[0] == '#') continue;
    if (line[0] != ' ' && line[0] != '\t') {
      in = ll > nl && memcmp(line, name, nl) == 0 && line[nl] == ':';
      if (in) {
        line += nl + 1;
        ll -= nl + 1;
      }
    }
    if (!in) continue;
    for (size_t k = 0; k < ll; k++)
      if (line[k] != ' ' && line[k] != '\t' && line[k] != '\r') hex[hn++] = line[k];
  }
  free(text);
  uint8_t *out = malloc(hn / 2 + 1);
  size_t off;
  const char *why;
  if (gcap_unhex((const uint8_t *)hex, hn, out, hn / 2 + 1, len, &off, &why) != 0) {
    free(out);
    out = NULL;
  }
  free(hex);
  return out;
}

/* One IPv4 UDP datagram from |src| to |dst| in a raw-IP frame. */
static size_t udp_frame(const tcap_ep *src, const tcap_ep *dst, const uint8_t *p, size_t len,
                        uint8_t *out, size_t cap) {
  CBB b;
  CBB_init_fixed(&b, out, cap);
  CBB_add_u8(&b, 0x45);
  CBB_add_u8(&b, 0);
  CBB_add_u16(&b, (uint16_t)(20 + 8 + len));
  CBB_add_u16(&b, 1);
  CBB_add_u16(&b, 0x4000);
  CBB_add_u8(&b, 64);
  CBB_add_u8(&b, 17);
  CBB_add_u16(&b, 0);
  CBB_add_bytes(&b, src->addr, 4);
  CBB_add_bytes(&b, dst->addr, 4);
  CBB_add_u16(&b, src->port);
  CBB_add_u16(&b, dst->port);
  CBB_add_u16(&b, (uint16_t)(8 + len));
  CBB_add_u16(&b, 0);
  CBB_add_bytes(&b, p, len);
  uint8_t *unused;
  size_t n = 0;
  if (!CBB_finish(&b, &unused, &n)) return 0;
  return n;
}

typedef struct dgram {
  bool from_client;
  const uint8_t *p;
  size_t len;
} dgram;

/* Runs guise fp's reader over a capture of the datagrams, client 10.0.0.1:50000 to
 * server 10.0.0.2:443. */
static json_t *run_datagrams(const dgram *d, size_t n, gcap_stats *st) {
  tcap_ep c = tcap_v4(10, 0, 0, 1, 50000), s = tcap_v4(10, 0, 0, 2, 443);
  tcap_writer w;
  tcap_begin(&w, DLT_RAW, false);
  static uint8_t frame[70000];
  for (size_t i = 0; i < n; i++) {
    size_t fl = udp_frame(d[i].from_client ? &c : &s, d[i].from_client ? &s : &c, d[i].p, d[i].len,
                          frame, sizeof(frame));
    tcap_frame(&w, frame, fl);
  }
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  memset(st, 0, sizeof(*st));
  json_t *recs = tcap_run(cap, len, NULL, st, NULL);
  free(cap);
  return recs;
}

static json_t *ext57(json_t *rec) {
  json_t *exts = json_object_get(json_object_get(json_object_get(rec, "tls"), "client_hello"),
                                 "extensions");
  size_t i;
  json_t *e;
  json_array_foreach(exts, i, e) {
    if (json_integer_value(json_object_get(e, "type")) == 57) return e;
  }
  return NULL;
}

/* ---- RFC vectors ---------------------------------------------------------------------- */

static void check_rfc(const char *file, const char *want_version) {
  printf("-- %s in a capture\n", file);
  size_t pl, fl, rl;
  uint8_t *pkt = vector_field(file, "protected_packet", &pl);
  uint8_t *frame = vector_field(file, "crypto_frame", &fl);
  uint8_t *retry = vector_field(file, "retry_packet", &rl);
  CHECK(pkt != NULL && frame != NULL && retry != NULL);
  if (pkt == NULL || frame == NULL || retry == NULL) return;
  /* The client's Initial, the server's Retry, then a short header packet of the client
   * (a 1-RTT packet: first bit 0) and a UDP datagram of another protocol. */
  static const uint8_t short_hdr[24] = {0x40, 1, 2, 3};
  dgram d[] = {{true, pkt, pl}, {false, retry, rl}, {true, short_hdr, sizeof(short_hdr)}};
  gcap_stats st;
  json_t *recs = run_datagrams(d, 3, &st);
  CHECK_EQ(json_array_size(recs), 1);
  json_t *r = json_array_get(recs, 0);
  CHECK_STR(tcap_str(r, "flow", "transport", NULL), "quic");
  CHECK_STR(tcap_str(r, "flow", "quic_version", NULL), want_version);
  CHECK_STR(tcap_str(r, "flow", "dcid", NULL), "8394c8f03e515708");
  CHECK_STR(tcap_str(r, "flow", "client", NULL), "10.0.0.1:50000");
  CHECK_EQ(tcap_int(r, "flow", "initial_packets"), 1);
  /* JA4 and JA3 worked out by hand from the RFC's ClientHello (FINGERPRINTS.md rules):
   * ciphers 1301,1302; 11 extensions; supported_versions 0304; SNI example.com; ALPN
   * "alpn"; groups 29,23,24; sigalgs 0403,0503,0603,0203,0804,0805,0806. */
  CHECK_STR(tcap_str(r, "tls", "fingerprints", "ja4"), "q13d0211an_62ed6f6ca7ad_4d634acda6c0");
  CHECK_STR(tcap_str(r, "tls", "fingerprints", "ja3"),
            "771,4865-4866,0-65281-10-16-5-51-43-13-45-28-57,29-23-24,");
  /* The ClientHello is the RFC's CRYPTO frame without its 4 frame-header bytes. */
  char *want_raw = malloc(2 * fl + 1);
  for (size_t i = 4; i < fl; i++) snprintf(want_raw + 2 * (i - 4), 3, "%02x", frame[i]);
  CHECK_STR(tcap_str(r, "tls", "client_hello", "raw"), want_raw);
  free(want_raw);
  CHECK(json_object_get(json_object_get(json_object_get(r, "tls"), "client_hello"),
                        "record_version") == NULL);
  /* quic_transport_parameters, ids in order and values read off the RFC's hex. */
  json_t *e = ext57(r);
  json_t *params = json_object_get(e, "parameters");
  static const long long ids[8] = {4, 5, 7, 8, 1, 9, 15, 6};
  static const long long vals[8] = {0x3fffffffffffffffll, 65535, 65535, 16, 30000, 16, -1, 65535};
  CHECK_EQ(json_array_size(params), 8);
  for (size_t i = 0; i < 8 && i < json_array_size(params); i++) {
    json_t *p = json_array_get(params, i);
    CHECK_EQ(json_integer_value(json_object_get(p, "id")), ids[i]);
    if (vals[i] >= 0) CHECK_EQ(json_integer_value(json_object_get(p, "value")), vals[i]);
    else CHECK_STR(json_string_value(json_object_get(p, "data")), "8394c8f03e515708");
  }
  CHECK_STR(json_string_value(json_object_get(json_array_get(params, 0), "name")),
            "initial_max_data");
  CHECK_EQ(st.quic_flows, 1);
  CHECK_EQ(st.quic_initials, 1);
  CHECK_EQ(st.quic_retry, 1);
  CHECK_EQ(st.quic_short, 1);
  CHECK_EQ(st.errors, 0);
  json_decref(recs);

  /* Damaged: one ciphertext bit flipped. No Initial of the connection decrypts, which is
   * also what a capture starting with the server's Initial looks like: skipped, counted. */
  pkt[700] ^= 0x10;
  d[0].p = pkt;
  recs = run_datagrams(d, 1, &st);
  CHECK_EQ(json_array_size(recs), 0);
  CHECK_EQ(st.quic_undecryptable, 1);
  CHECK_EQ(st.other_flows, 1);
  json_decref(recs);
  /* ... and a good copy after it (a retransmission) is read. */
  uint8_t *good = malloc(pl);
  memcpy(good, pkt, pl);
  good[700] ^= 0x10;
  dgram two[] = {{true, pkt, pl}, {true, good, pl}};
  recs = run_datagrams(two, 2, &st);
  CHECK_EQ(json_array_size(recs), 1);
  CHECK_STR(tcap_str(json_array_get(recs, 0), "tls", "fingerprints", "ja4"),
            "q13d0211an_62ed6f6ca7ad_4d634acda6c0");
  CHECK_EQ(st.quic_undecryptable, 1);
  json_decref(recs);
  free(good);
  pkt[700] ^= 0x10;

  /* Cut short by the capture (600 of 1200 bytes): no QUIC connection is opened by a
   * packet whose Length runs past the datagram; ignored and counted. */
  d[0].len = 600;
  recs = run_datagrams(d, 1, &st);
  CHECK_EQ(json_array_size(recs), 0);
  CHECK_EQ(st.ignored_packets, 1);
  json_decref(recs);
  /* Every cut of the header and of the payload: no crash, no record but errors. */
  for (size_t cut = 1; cut < pl; cut += 37) {
    d[0].len = cut;
    recs = run_datagrams(d, 1, &st);
    CHECK(json_array_size(recs) == 0);
    json_decref(recs);
  }
  free(pkt);
  free(frame);
  free(retry);
}

/* ---- the real Chromium capture ---------------------------------------------------------- */

typedef struct pframe {
  uint8_t *d;
  size_t len;
} pframe;

/* The frames of a capture file, with its link type. */
static size_t load_frames(const char *path, pframe *out, size_t cap, int *dlt) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline(path, err);
  if (p == NULL) {
    fprintf(stderr, "%s: %s\n", path, err);
    return 0;
  }
  *dlt = pcap_datalink(p);
  size_t n = 0;
  struct pcap_pkthdr *h;
  const u_char *data;
  while (n < cap && pcap_next_ex(p, &h, &data) == 1) {
    out[n].d = malloc(h->caplen);
    memcpy(out[n].d, data, h->caplen);
    out[n].len = h->caplen;
    n++;
  }
  pcap_close(p);
  return n;
}

static uint64_t varint_hex(const char *hex) {
  /* RFC 9000 §16, decoded here from tshark's hex (the test's own reading). */
  size_t n = strlen(hex) / 2;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned b;
    sscanf(hex + 2 * i, "%2x", &b);
    v = (v << 8) | (i == 0 ? (b & 0x3f) : b);
  }
  return v;
}

/* |in_order|: the capture as recorded (else the Initials that complete the hello differ:
 * Chromium's retransmissions carry CRYPTO data again). */
static void check_browser_record(json_t *r, json_t *want, bool in_order) {
  CHECK_STR(tcap_str(r, "flow", "transport", NULL), "quic");
  CHECK_STR(tcap_str(r, "flow", "dcid", NULL), json_string_value(json_object_get(want, "dcid")));
  CHECK_STR(tcap_str(r, "flow", "client", NULL),
            json_string_value(json_object_get(want, "client")));
  if (in_order)
    CHECK_EQ(tcap_int(r, "flow", "initial_packets"),
             json_integer_value(json_object_get(want, "initial_packets_used")));
  CHECK_STR(tcap_str(r, "tls", "fingerprints", "ja3"),
            json_string_value(json_object_get(want, "ja3")));
  CHECK_STR(tcap_str(r, "tls", "fingerprints", "ja3_md5"),
            json_string_value(json_object_get(want, "ja3_md5")));
  CHECK_STR(tcap_str(r, "tls", "fingerprints", "ja4"),
            json_string_value(json_object_get(want, "ja4")));
  json_t *params = json_object_get(ext57(r), "parameters");
  json_t *ids = json_object_get(want, "transport_parameter_ids");
  json_t *lens = json_object_get(want, "transport_parameter_lengths");
  json_t *vals = json_object_get(want, "transport_parameter_values");
  CHECK_EQ(json_array_size(params), json_array_size(ids));
  for (size_t i = 0; i < json_array_size(ids) && i < json_array_size(params); i++) {
    json_t *p = json_array_get(params, i);
    CHECK_EQ(json_integer_value(json_object_get(p, "id")),
             json_integer_value(json_array_get(ids, i)));
    CHECK_EQ(json_integer_value(json_object_get(p, "length")),
             json_integer_value(json_array_get(lens, i)));
    const char *hex = json_string_value(json_array_get(vals, i));
    json_t *v = json_object_get(p, "value");
    if (v != NULL) CHECK(json_integer_value(v) == (json_int_t)varint_hex(hex));
    else CHECK_STR(json_string_value(json_object_get(p, "data")), hex);
  }
}

static void check_chromium(void) {
  printf("-- chromium 156 capture\n");
  char path[1200], jpath[1200];
  snprintf(path, sizeof(path), "%s/chromium156_quic_localhost.pcap", g_dir);
  snprintf(jpath, sizeof(jpath), "%s/chromium156_quic_localhost.expected.json", g_dir);
  json_error_t jerr;
  json_t *want = json_load_file(jpath, 0, &jerr);
  CHECK_MSG(want != NULL, "%s: %s", jpath, jerr.text);
  size_t len;
  uint8_t *cap = tcap_read(path, &len);
  CHECK_MSG(cap != NULL, "cannot read %s", path);
  if (want == NULL || cap == NULL) return;
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *recs = tcap_run(cap, len, NULL, &st, NULL);
  free(cap);
  CHECK_EQ(json_array_size(recs), 1);
  check_browser_record(json_array_get(recs, 0), want, true);
  CHECK_EQ(st.quic_flows, 1);
  CHECK_EQ(st.quic_initials, 2); /* the rest came after the hello was whole */
  CHECK_EQ(st.errors, 0);
  json_decref(recs);

  /* The same datagrams in reverse order: the CRYPTO frames of the second packet arrive
   * first; the hello is the same. */
  pframe fr[16];
  int dlt = 0;
  size_t n = load_frames(path, fr, 16, &dlt);
  CHECK_EQ(n, 6);
  tcap_writer w;
  tcap_begin(&w, dlt, true);
  for (size_t i = n; i-- > 0;) tcap_frame(&w, fr[i].d, fr[i].len);
  cap = tcap_end(&w, &len);
  recs = tcap_run(cap, len, NULL, &st, NULL);
  CHECK_EQ(json_array_size(recs), 1);
  check_browser_record(json_array_get(recs, 0), want, false);
  json_decref(recs);
  free(cap);

  /* Only the first Initial: the hello is incomplete at the end of the capture. */
  tcap_begin(&w, dlt, false);
  tcap_frame(&w, fr[0].d, fr[0].len);
  cap = tcap_end(&w, &len);
  recs = tcap_run(cap, len, NULL, &st, NULL);
  CHECK_EQ(json_array_size(recs), 1);
  CHECK_STR(tcap_str(json_array_get(recs, 0), "error", "stage", NULL), "quic");
  CHECK(strstr(or_empty(tcap_str(json_array_get(recs, 0), "error", "reason", NULL)),
               "ends before the ClientHello") != NULL);
  json_decref(recs);
  free(cap);
  for (size_t i = 0; i < n; i++) free(fr[i].d);
  json_decref(want);
}

/* Firefox ESR 153: sent with UDP segmentation offload, so two datagrams of 1252 bytes
 * are one in the capture, the first Initial padded with zeros to the segment size. */
static void check_firefox(void) {
  printf("-- firefox-esr 153 capture (GSO)\n");
  char path[1200], jpath[1200];
  snprintf(path, sizeof(path), "%s/firefox-esr_quic_localhost_gso.pcap", g_dir);
  snprintf(jpath, sizeof(jpath), "%s/firefox-esr_quic_localhost_gso.expected.json", g_dir);
  json_error_t jerr;
  json_t *want = json_load_file(jpath, 0, &jerr);
  CHECK_MSG(want != NULL, "%s: %s", jpath, jerr.text);
  size_t len;
  uint8_t *cap = tcap_read(path, &len);
  CHECK_MSG(cap != NULL, "cannot read %s", path);
  if (want == NULL || cap == NULL) {
    free(cap);
    json_decref(want);
    return;
  }
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *recs = tcap_run(cap, len, NULL, &st, NULL);
  free(cap);
  CHECK_EQ(json_array_size(recs), 1);
  check_browser_record(json_array_get(recs, 0), want, true);
  CHECK_STR(tcap_str(json_array_get(recs, 0), "flow", "scid", NULL), "452457");
  CHECK_EQ(st.errors, 0);
  json_decref(recs);
  json_decref(want);
}

static void check_other_udp(void) {
  printf("-- other UDP\n");
  /* A DNS query (RFC 1035 header + question): ignored, no connection. */
  static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x01, 'a',  0x00, 0x00, 0x01, 0x00, 0x01};
  /* A long header of an unknown version: not opened either (its keys are unknown). */
  static const uint8_t v_other[40] = {0xc0, 0xff, 0x00, 0x00, 0x1d, 0x04, 1, 2, 3, 4, 0x00};
  dgram d[] = {{true, dns, sizeof(dns)}, {true, v_other, sizeof(v_other)}};
  gcap_stats st;
  json_t *recs = run_datagrams(d, 2, &st);
  CHECK_EQ(json_array_size(recs), 0);
  CHECK_EQ(st.ignored_packets, 2);
  CHECK_EQ(st.udp_datagrams, 2);
  CHECK_EQ(st.quic_flows, 0);
  json_decref(recs);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s QUIC_DATA_DIR\n", argv[0]);
    return 2;
  }
  snprintf(g_dir, sizeof(g_dir), "%s", argv[1]);
  check_rfc("rfc9001_a.txt", "00000001");
  check_rfc("rfc9369_a.txt", "6b3343cf");
  check_chromium();
  check_firefox();
  check_other_udp();
  return gt_done("test_capture_quic");
}

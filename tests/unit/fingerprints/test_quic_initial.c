/* test_quic_initial: the QUIC Initial reader (fingerprints/lib/quic_initial.c) against
 * the sample packets of RFC 9001 Appendix A (version 1) and RFC 9369 Appendix A
 * (version 2), copied into tests/data/quic/; and the frame walker and transport
 * parameter decoder on hand-made bytes, with expected values worked out from the RFCs.
 *
 * Usage: test_quic_initial QUIC_DATA_DIR */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quic_initial.h"
#include "tcheck.h"

/* ---- the vector files: "name: hex", continuation lines start with whitespace ---- */

enum { MAX_FIELDS = 32 };
typedef struct vec {
  char name[MAX_FIELDS][40];
  uint8_t *val[MAX_FIELDS];
  size_t len[MAX_FIELDS];
  size_t n;
} vec;

static int load(const char *path, vec *v) {
  memset(v, 0, sizeof(*v));
  size_t tlen;
  char *text = (char *)tc_read_file(path, &tlen);
  if (text == NULL) {
    fprintf(stderr, "cannot read %s\n", path);
    return -1;
  }
  char *hex = malloc(tlen + 1);
  size_t hn = 0;
  int cur = -1;
  for (size_t i = 0; i < tlen;) {
    size_t e = i;
    while (e < tlen && text[e] != '\n') e++;
    char *line = text + i;
    size_t ll = e - i;
    i = e + 1;
    if (ll == 0 || line[0] == '#') continue;
    size_t start = 0;
    if (line[0] != ' ' && line[0] != '\t') {
      if (cur >= 0) v->val[cur] = tc_unhex(hex, hn, &v->len[cur]);
      char *colon = memchr(line, ':', ll);
      if (colon == NULL || v->n >= MAX_FIELDS) {
        fprintf(stderr, "%s: bad line\n", path);
        free(hex);
        free(text);
        return -1;
      }
      cur = (int)v->n++;
      snprintf(v->name[cur], sizeof(v->name[cur]), "%.*s", (int)(colon - line), line);
      start = (size_t)(colon - line) + 1;
      hn = 0;
    }
    for (size_t k = start; k < ll; k++) hex[hn++] = line[k];
  }
  if (cur >= 0) v->val[cur] = tc_unhex(hex, hn, &v->len[cur]);
  free(hex);
  free(text);
  return 0;
}

static const uint8_t *field(const vec *v, const char *name, size_t *len) {
  for (size_t i = 0; i < v->n; i++) {
    if (strcmp(v->name[i], name) == 0) {
      if (len != NULL) *len = v->len[i];
      return v->val[i];
    }
  }
  fprintf(stderr, "vector field %s missing\n", name);
  exit(1);
}

static void unload(vec *v) {
  for (size_t i = 0; i < v->n; i++) free(v->val[i]);
}

/* ---- collecting CRYPTO frames ---- */

typedef struct crypto_seen {
  size_t frames;
  uint64_t offset;
  uint8_t data[4096];
  size_t len;
} crypto_seen;

static int on_crypto(uint64_t off, const uint8_t *d, size_t n, void *arg, const char **why) {
  crypto_seen *c = arg;
  (void)why;
  c->frames++;
  c->offset = off;
  if (n <= sizeof(c->data)) {
    memcpy(c->data, d, n);
    c->len = n;
  }
  return 0;
}

/* One appendix: keys, header, protection removal, frames, and damaged copies. */
static void check_appendix(const char *dir, const char *file, uint32_t want_version) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  vec v;
  if (load(path, &v) != 0) {
    CHECK_MSG(0, "cannot load %s", path);
    return;
  }
  printf("-- %s\n", file);
  size_t dcid_len, pkt_len, frame_len, hdr_len, retry_len;
  const uint8_t *dcid = field(&v, "dcid", &dcid_len);
  const uint8_t *pkt = field(&v, "protected_packet", &pkt_len);
  const uint8_t *frame = field(&v, "crypto_frame", &frame_len);
  const uint8_t *unprot = field(&v, "unprotected_header", &hdr_len);
  const uint8_t *retry = field(&v, "retry_packet", &retry_len);
  CHECK_EQ(pkt_len, 1200);

  /* A.1: the client's keys. */
  gqi_keys k;
  CHECK_EQ(gqi_initial_keys(want_version, dcid, dcid_len, &k), 0);
  CHECK(memcmp(k.secret, field(&v, "client_initial_secret", NULL), 32) == 0);
  CHECK(memcmp(k.key, field(&v, "key", NULL), 16) == 0);
  CHECK(memcmp(k.iv, field(&v, "iv", NULL), 12) == 0);
  CHECK(memcmp(k.hp, field(&v, "hp", NULL), 16) == 0);

  /* A.2: the header. */
  gqi_header h;
  const char *why = NULL;
  CHECK_EQ(gqi_parse_long_header(pkt, pkt_len, &h, &why), 0);
  CHECK_EQ(h.type, GQI_INITIAL);
  CHECK_EQ(h.version, want_version);
  CHECK_EQ(h.dcid_len, 8);
  CHECK(memcmp(h.dcid, dcid, 8) == 0);
  CHECK_EQ(h.scid_len, 0);
  CHECK_EQ(h.token_len, 0);
  CHECK_EQ(h.length, 1182); /* "The unprotected header indicates a length of 1182 bytes" */
  CHECK_EQ(h.pn_offset, 18);
  CHECK_EQ(h.packet_len, 1200);

  /* Protection removed: packet number 2, 1162 bytes of frames: the CRYPTO frame, then
   * PADDING (zero bytes). */
  static uint8_t plain[GQI_MAX_DATAGRAM];
  size_t plain_len = 0;
  uint64_t pn = 99;
  int r = gqi_open_initial(pkt, &h, &k, -1, plain, sizeof(plain), &plain_len, &pn, &why);
  CHECK_MSG(r == 0, "open: %s", r == 0 ? "" : why);
  CHECK_EQ(pn, 2);
  CHECK_EQ(plain_len, 1162);
  CHECK(plain_len >= frame_len && memcmp(plain, frame, frame_len) == 0);
  size_t nonzero = 0;
  for (size_t i = frame_len; i < plain_len; i++) nonzero += plain[i] != 0;
  CHECK_EQ(nonzero, 0);
  (void)unprot;

  /* The frames: one CRYPTO frame at offset 0 whose data is the RFC's ClientHello (the
   * frame minus its 4 header bytes: type 06, offset 00, length 40f1 = 241). */
  crypto_seen cs;
  memset(&cs, 0, sizeof(cs));
  gqi_frame_counts fc;
  size_t eoff = 0;
  CHECK_EQ(gqi_walk_frames(plain, plain_len, on_crypto, &cs, &fc, &why, &eoff), 0);
  CHECK_EQ(fc.crypto, 1);
  CHECK_EQ(fc.padding, 1162 - frame_len);
  CHECK_EQ(fc.ack + fc.ping + fc.connection_close, 0);
  CHECK_EQ(cs.offset, 0);
  CHECK_EQ(cs.len, 241);
  CHECK(cs.len == frame_len - 4 && memcmp(cs.data, frame + 4, cs.len) == 0);
  CHECK_EQ(cs.data[0], 1); /* handshake type client_hello */

  /* The other version's keys, a flipped ciphertext bit, a flipped tag bit: no
   * authentication. */
  gqi_keys other;
  CHECK_EQ(gqi_initial_keys(want_version == GQI_VERSION_1 ? GQI_VERSION_2 : GQI_VERSION_1, dcid,
                            dcid_len, &other),
           0);
  CHECK(gqi_open_initial(pkt, &h, &other, -1, plain, sizeof(plain), &plain_len, &pn, &why) != 0);
  uint8_t *bad = malloc(pkt_len);
  memcpy(bad, pkt, pkt_len);
  bad[600] ^= 0x01;
  CHECK(gqi_open_initial(bad, &h, &k, -1, plain, sizeof(plain), &plain_len, &pn, &why) != 0);
  CHECK(why != NULL && strstr(why, "authenticate") != NULL);
  memcpy(bad, pkt, pkt_len);
  bad[pkt_len - 1] ^= 0x80;
  CHECK(gqi_open_initial(bad, &h, &k, -1, plain, sizeof(plain), &plain_len, &pn, &why) != 0);
  /* Truncated anywhere in the header, or cut in the payload: a parse error, no crash. */
  for (size_t cut = 0; cut < 18; cut++) CHECK(gqi_parse_long_header(pkt, cut, &h, &why) != 0);
  CHECK(gqi_parse_long_header(pkt, 1199, &h, &why) != 0);
  CHECK(why != NULL && strstr(why, "Length") != NULL);
  /* A connection ID length of 21 (RFC 9000 §17.2: at most 20). */
  memcpy(bad, pkt, pkt_len);
  bad[5] = 21;
  CHECK(gqi_parse_long_header(bad, pkt_len, &h, &why) != 0);
  free(bad);

  /* A.4: a Retry is recognised (and has no Length: it fills the datagram). */
  CHECK_EQ(gqi_parse_long_header(retry, retry_len, &h, &why), 0);
  CHECK_EQ(h.type, GQI_RETRY);
  CHECK_EQ(h.packet_len, retry_len);
  CHECK_EQ(h.scid_len, 8);
  unload(&v);
}

static int stop_crypto(uint64_t off, const uint8_t *d, size_t n, void *arg, const char **why) {
  (void)off, (void)d, (void)n, (void)arg;
  *why = "stopped";
  return -1;
}

static void check_frames(void) {
  printf("-- frames\n");
  const char *why = NULL;
  size_t eoff = 0;
  gqi_frame_counts fc;
  /* PING, ACK (largest 5, delay 0, 1 extra range), ACK_ECN, CONNECTION_CLOSE with a
   * 2-byte reason, PADDING x3: RFC 9000 §19.2, §19.3, §19.19. */
  static const uint8_t ok[] = {0x01, 0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x01, 0x03,
                               0x05, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x1c, 0x0a,
                               0x06, 0x02, 'h',  'i',  0x00, 0x00, 0x00};
  CHECK_EQ(gqi_walk_frames(ok, sizeof(ok), NULL, NULL, &fc, &why, &eoff), 0);
  CHECK_EQ(fc.ping, 1);
  CHECK_EQ(fc.ack, 2);
  CHECK_EQ(fc.connection_close, 1);
  CHECK_EQ(fc.padding, 3);
  /* Every prefix that cuts a frame is an error, never a read past the end. */
  static const size_t cuts[] = {2, 3, 4, 5, 6, 7, 9, 13, 15, 17, 18, 19, 20, 21};
  for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
    CHECK(gqi_walk_frames(ok, cuts[i], NULL, NULL, &fc, &why, &eoff) != 0);
  /* A STREAM frame (0x08) may not be in an Initial (RFC 9000 §12.4). */
  static const uint8_t stream[] = {0x00, 0x08, 0x00, 0x00};
  CHECK(gqi_walk_frames(stream, sizeof(stream), NULL, NULL, &fc, &why, &eoff) != 0);
  CHECK_EQ(eoff, 1);
  CHECK(why != NULL && strstr(why, "12.4") != NULL);
  /* An ACK range count of 2^62 - 1 with nothing behind it: refused at once. */
  static const uint8_t acks[] = {0x02, 0x00, 0x00, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
  CHECK(gqi_walk_frames(acks, sizeof(acks), NULL, NULL, &fc, &why, &eoff) != 0);
  /* CRYPTO past the 64 KiB kept: offset 65540 (4-byte varint 0x80010004), length 1. */
  static const uint8_t far[] = {0x06, 0x80, 0x01, 0x00, 0x04, 0x01, 0xaa};
  CHECK(gqi_walk_frames(far, sizeof(far), NULL, NULL, &fc, &why, &eoff) != 0);
  static const uint8_t near[] = {0x06, 0x80, 0x01, 0x00, 0x03, 0x01, 0xaa};
  CHECK_EQ(gqi_walk_frames(near, sizeof(near), NULL, NULL, &fc, &why, &eoff), 0);
  /* CRYPTO length beyond the packet. */
  static const uint8_t longer[] = {0x06, 0x00, 0x05, 0xaa};
  CHECK(gqi_walk_frames(longer, sizeof(longer), NULL, NULL, &fc, &why, &eoff) != 0);
  /* The callback can stop the walk. */
  static const uint8_t one[] = {0x06, 0x00, 0x01, 0xaa};
  CHECK(gqi_walk_frames(one, sizeof(one), stop_crypto, NULL, &fc, &why, &eoff) != 0);
  CHECK_STR(why, "stopped");
}

static void check_params(void) {
  printf("-- transport parameters\n");
  /* The quic_transport_parameters body of RFC 9001 A.2's ClientHello (extension 0x39,
   * length 0x32); values read by hand from the hex per RFC 9000 §16 and §18.2. */
  static const uint8_t body[] = {0x04, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0x05, 0x04, 0x80, 0x00, 0xff, 0xff, 0x07, 0x04, 0x80, 0x00,
                                 0xff, 0xff, 0x08, 0x01, 0x10, 0x01, 0x04, 0x80, 0x00, 0x75,
                                 0x30, 0x09, 0x01, 0x10, 0x0f, 0x08, 0x83, 0x94, 0xc8, 0xf0,
                                 0x3e, 0x51, 0x57, 0x08, 0x06, 0x04, 0x80, 0x00, 0xff, 0xff};
  CHECK_EQ(sizeof(body), 0x32);
  gqi_param p[16];
  const char *why = NULL;
  int n = gqi_transport_params(body, sizeof(body), p, 16, &why);
  CHECK_EQ(n, 8);
  if (n != 8) return;
  static const uint64_t ids[8] = {4, 5, 7, 8, 1, 9, 0x0f, 6};
  static const uint64_t vals[8] = {0x3fffffffffffffffull, 65535, 65535, 16, 30000, 16, 0, 65535};
  for (int i = 0; i < 8; i++) {
    CHECK_EQ(p[i].id, ids[i]);
    if (ids[i] == 0x0f) {
      CHECK(!p[i].has_int); /* a connection ID, not an integer */
      CHECK_EQ(p[i].len, 8);
    } else {
      CHECK(p[i].has_int);
      CHECK(p[i].ival == vals[i]);
    }
  }
  CHECK_STR(gqi_param_name(4), "initial_max_data");
  CHECK_STR(gqi_param_name(0x0f), "initial_source_connection_id");
  CHECK_STR(gqi_param_name(27 + 31 * 1000), "GREASE");
  CHECK(gqi_param_name(0x3333) == NULL);
  /* A value running past the body, and more parameters than kept. */
  CHECK(gqi_transport_params(body, sizeof(body) - 1, p, 16, &why) < 0);
  CHECK(gqi_transport_params(body, sizeof(body), p, 7, &why) < 0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s QUIC_DATA_DIR\n", argv[0]);
    return 2;
  }
  check_appendix(argv[1], "rfc9001_a.txt", GQI_VERSION_1);
  check_appendix(argv[1], "rfc9369_a.txt", GQI_VERSION_2);
  check_frames();
  check_params();
  return gt_done("test_quic_initial");
}

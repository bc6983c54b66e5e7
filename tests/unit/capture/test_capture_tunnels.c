/* test_capture_tunnels.c — guise fp on what surrounds or replaces a client's first flight:
 * an SSH identification string (another protocol, not a broken HTTP/1 request), TLS
 * inside an HTTP CONNECT or SOCKS4/5 tunnel, the ClientHello sent again after a
 * HelloRetryRequest, and a ClientHello with one malformed extension body. Synthetic
 * captures built with tcap.h; expected values written out by hand.
 *
 * Then real captures (tests/data/captures: curl through tinyproxy and microsocks, openssl
 * s_client made to retry, an ssh client) against tshark's values in expected.json.
 *
 * usage: test_capture_tunnels VECTORS_DIR CAPTURES_DIR [OUT_DIR]   (OUT_DIR: keep the pcaps) */
#include <stdint.h>

#include "tcap.h"

static const char *out_dir;
static uint8_t *hello; /* foxio Chrome ClientHello record (vector) */
static size_t hello_len;
static const char *hello_ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";

static void keep(const char *name, const uint8_t *d, size_t len) {
  if (out_dir == NULL) return;
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", out_dir, name);
  tcap_write(path, d, len);
}

/* A buffer of client bytes, appended piece by piece. */
typedef struct bytes {
  uint8_t d[8192];
  size_t n;
} bytes;

static void add(bytes *b, const void *p, size_t len) {
  if (b->n + len > sizeof(b->d)) abort();
  memcpy(b->d + b->n, p, len);
  b->n += len;
}

#define ADDS(b, lit) add(b, lit, sizeof(lit) - 1)

/* One connection: handshake, the server's |reply| (may be NULL), then |client| bytes in
 * segments of at most |seg| bytes; the records of guise fp on it. */
static json_t *run_conn(const bytes *client, const char *reply, size_t seg, gcap_stats *st,
                        const char *keep_as) {
  tcap_writer w;
  tcap_begin(&w, DLT_EN10MB, false);
  tcap_conn k;
  memset(&k, 0, sizeof(k));
  k.w = &w;
  k.c = tcap_v4(10, 0, 0, 1, 40000);
  k.s = tcap_v4(10, 0, 0, 2, 3128);
  k.cisn = 1000;
  k.sisn = 5000;
  tcap_handshake(&k);
  if (reply != NULL)
    tcap_seg(&k, false, GCAP_TCP_ACK, k.sisn + 1, (const uint8_t *)reply, strlen(reply));
  for (size_t off = 0; off < client->n; off += seg) {
    size_t len = client->n - off < seg ? client->n - off : seg;
    tcap_send(&k, off, client->d + off, len);
  }
  tcap_seg(&k, true, GCAP_TCP_FIN | GCAP_TCP_ACK, k.cisn + 1 + (uint32_t)client->n, NULL, 0);
  size_t len;
  uint8_t *cap = tcap_end(&w, &len);
  if (keep_as != NULL) keep(keep_as, cap, len);
  json_t *r = tcap_run(cap, len, NULL, st, NULL);
  free(cap);
  return r;
}

/* The same bytes as a hex dump. */
static json_t *run_hex(const bytes *client) {
  char *text = malloc(client->n * 2 + 2);
  for (size_t i = 0; i < client->n; i++) snprintf(text + 2 * i, 3, "%02x", client->d[i]);
  strcpy(text + 2 * client->n, "\n");
  json_t *r = tcap_run((const uint8_t *)text, strlen(text), NULL, NULL, NULL);
  free(text);
  return r;
}

static json_t *get(json_t *j, const char *a, const char *b, const char *c) {
  if (a) j = json_object_get(j, a);
  if (b) j = json_object_get(j, b);
  if (c) j = json_object_get(j, c);
  return j;
}

/* An SSH client's identification string with a space (RFC 4253 §4.2: "SP comments") is
 * SSH, reported as such and not as an error; before, it read as an HTTP/1 request line
 * ("SSH-2.0-OpenSSH_7.6p1" is a method token) and failed: exit 1 on an SSH capture. */
static void test_capture_ssh(void) {
  bytes c = {.n = 0};
  ADDS(&c, "SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5\r\n");
  /* The start of a binary packet (RFC 4253 §6): length, padding length, KEXINIT (20). */
  ADDS(&c, "\x00\x00\x05\xdc\x04\x14" "0123456789abcdef");
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *r = run_conn(&c, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 1460, &st, "ssh.pcap");
  CHECK_EQ(json_array_size(r), 1);
  json_t *rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "ssh", "identification", NULL), "SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5");
  CHECK_STR(tcap_str(rec, "ssh", "proto_version", NULL), "2.0");
  CHECK_STR(tcap_str(rec, "ssh", "software_version", NULL), "OpenSSH_7.6p1");
  CHECK_STR(tcap_str(rec, "ssh", "comments", NULL), "Ubuntu-4ubuntu0.5");
  CHECK_STR(tcap_str(rec, "ssh", "line_end", NULL), "crlf");
  CHECK_EQ(tcap_int(rec, "ssh", "length"), 41);
  CHECK(json_object_get(rec, "error") == NULL);
  CHECK_EQ(st.errors, 0);
  json_decref(r);

  /* Byte by byte, without comments, LF only. */
  bytes c2 = {.n = 0};
  ADDS(&c2, "SSH-1.99-PuTTY_Release_0.78\n");
  r = run_conn(&c2, NULL, 1, &st, NULL);
  CHECK_EQ(json_array_size(r), 1);
  rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "ssh", "software_version", NULL), "PuTTY_Release_0.78");
  CHECK_STR(tcap_str(rec, "ssh", "line_end", NULL), "lf");
  CHECK(json_object_get(json_object_get(rec, "ssh"), "comments") == NULL);
  json_decref(r);

  /* A hex dump of it, too. */
  r = run_hex(&c);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "ssh", "software_version", NULL), "OpenSSH_7.6p1");
  json_decref(r);

  /* A broken identification string is an SSH error naming the byte. */
  bytes bad = {.n = 0};
  ADDS(&bad, "SSH-2.0 OpenSSH\r\n");
  memset(&st, 0, sizeof(st));
  r = run_conn(&bad, NULL, 1460, &st, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "error", "stage", NULL), "ssh");
  CHECK_EQ(tcap_int(json_array_get(r, 0), "error", "offset"), 7);
  CHECK_EQ(st.errors, 1);
  json_decref(r);
}

/* TLS through an HTTP CONNECT tunnel (RFC 9110 §9.3.6): the ClientHello after the
 * CONNECT head is the client's flight, the CONNECT is listed in flow.tunnel. Before,
 * the CONNECT head was the record and the hello was never looked at. */
static void test_capture_connect(void) {
  static const char head[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
                             "User-Agent: curl/7.88.1\r\n\r\n";
  bytes c = {.n = 0};
  ADDS(&c, head);
  add(&c, hello, hello_len);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *r = run_conn(&c, "HTTP/1.1 200 Connection established\r\n\r\n", 100, &st,
                       "connect.pcap");
  CHECK_EQ(json_array_size(r), 1);
  json_t *rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4"), hello_ja4);
  CHECK_EQ(tcap_int(rec, "flow", "offset"), sizeof(head) - 1);
  json_t *tun = get(rec, "flow", "tunnel", NULL);
  CHECK_EQ(json_array_size(tun), 1);
  json_t *l0 = json_array_get(tun, 0);
  CHECK_STR(tcap_str(l0, "protocol", NULL, NULL), "http-connect");
  CHECK_EQ(tcap_int(l0, "offset", NULL), 0);
  CHECK_EQ(tcap_int(l0, "length", NULL), sizeof(head) - 1);
  CHECK_STR(tcap_str(l0, "http1", "method", NULL), "CONNECT");
  CHECK_STR(tcap_str(l0, "http1", "target", NULL), "example.com:443");
  CHECK_EQ(st.errors, 0);
  json_decref(r);

  /* 407, then CONNECT again with credentials on the same connection, then the hello. */
  static const char head2[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
                              "Proxy-Authorization: Basic dTpw\r\n\r\n";
  bytes c2 = {.n = 0};
  ADDS(&c2, head);
  ADDS(&c2, head2);
  add(&c2, hello, hello_len);
  r = run_conn(&c2, NULL, 1460, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4"), hello_ja4);
  CHECK_EQ(json_array_size(get(rec, "flow", "tunnel", NULL)), 2);
  CHECK_EQ(tcap_int(json_array_get(get(rec, "flow", "tunnel", NULL), 1), "offset", NULL),
           sizeof(head) - 1);
  CHECK_EQ(tcap_int(rec, "flow", "offset"), sizeof(head) + sizeof(head2) - 2);
  json_decref(r);

  /* The proxy refused and nothing went through: the CONNECT itself is the record. */
  bytes c3 = {.n = 0};
  ADDS(&c3, head);
  r = run_conn(&c3, "HTTP/1.1 403 Forbidden\r\n\r\n", 1460, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "http1", "method", NULL), "CONNECT");
  CHECK(get(rec, "flow", "tunnel", NULL) == NULL);
  CHECK(get(rec, "flow", "offset", NULL) == NULL);
  json_decref(r);

  /* Something unknown through the tunnel: the CONNECT is the record. */
  bytes c4 = {.n = 0};
  ADDS(&c4, head);
  ADDS(&c4, "\x00\x01\x02\x03 not a known protocol");
  r = run_conn(&c4, NULL, 1460, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "http1", "target", NULL), "example.com:443");
  CHECK(get(json_array_get(r, 0), "flow", "tunnel", NULL) == NULL);
  json_decref(r);

  /* A plain proxy request (absolute form) is no tunnel: the GET is the record. */
  bytes c5 = {.n = 0};
  ADDS(&c5, "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  add(&c5, hello, hello_len);
  r = run_conn(&c5, NULL, 1460, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "http1", "method", NULL), "GET");
  json_decref(r);

  /* The same tunnel as a hex dump. */
  r = run_hex(&c);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "tls", "fingerprints", "ja4"), hello_ja4);
  CHECK_STR(tcap_str(json_array_get(r, 0), "flow", "input", NULL), "hex");
  json_decref(r);
}

/* TLS through SOCKS5 (RFC 1928, with RFC 1929 username/password) and SOCKS4a. Before,
 * the first byte 5 or 4 made the connection "another protocol": no record at all. */
static void test_capture_socks(void) {
  static const uint8_t greet[] = {5, 2, 0, 2};
  static const uint8_t auth[] = {1, 4, 'u', 's', 'e', 'r', 6, 's', '3', 'c', 'r', '3', 't'};
  static const uint8_t req[] = {5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o',
                                'm', 0x01, 0xbb};
  bytes c = {.n = 0};
  add(&c, greet, sizeof(greet));
  add(&c, auth, sizeof(auth));
  add(&c, req, sizeof(req));
  add(&c, hello, hello_len);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  /* Segments as a client sends them: one per message, then the hello. */
  json_t *r = run_conn(&c, "\x05\x02", 4, &st, "socks5.pcap");
  CHECK_EQ(json_array_size(r), 1);
  json_t *rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4"), hello_ja4);
  size_t hs = sizeof(greet) + sizeof(auth) + sizeof(req);
  CHECK_EQ(tcap_int(rec, "flow", "offset"), hs);
  json_t *l0 = json_array_get(get(rec, "flow", "tunnel", NULL), 0);
  CHECK_STR(tcap_str(l0, "protocol", NULL, NULL), "socks5");
  CHECK_EQ(tcap_int(l0, "length", NULL), hs);
  CHECK_EQ(tcap_int(l0, "socks", "version"), 5);
  CHECK_STR(tcap_str(l0, "socks", "command", NULL), "connect");
  CHECK_STR(tcap_str(l0, "socks", "address_type", NULL), "domain");
  CHECK_STR(tcap_str(l0, "socks", "host", NULL), "example.com");
  CHECK_EQ(tcap_int(l0, "socks", "port"), 443);
  CHECK(json_is_true(get(l0, "socks", "username_password", NULL)));
  CHECK_EQ(tcap_int(l0, "socks", "username_length"), 4);
  CHECK_EQ(json_array_size(get(l0, "socks", "methods", NULL)), 2);
  char *dump = json_dumps(rec, 0);
  CHECK(dump != NULL && strstr(dump, "s3cr3t") == NULL && strstr(dump, "user\"") == NULL);
  free(dump);
  CHECK_EQ(st.errors, 0);
  json_decref(r);

  /* No authentication, an IPv6 destination, sent in one segment with the hello. */
  static const uint8_t req6[] = {5, 1, 0, 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0, 1, 0x20, 0xfb};
  bytes c2 = {.n = 0};
  add(&c2, req6, sizeof(req6));
  add(&c2, hello, hello_len);
  r = run_conn(&c2, NULL, 1460, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4"), hello_ja4);
  l0 = json_array_get(get(rec, "flow", "tunnel", NULL), 0);
  CHECK_STR(tcap_str(l0, "socks", "host", NULL), "2001:db8:0:0:0:0:0:1");
  CHECK_EQ(tcap_int(l0, "socks", "port"), 8443);
  CHECK(json_is_false(get(l0, "socks", "username_password", NULL)));
  json_decref(r);

  /* SOCKS4a: DSTIP 0.0.0.1, USERID "me", host name after it. */
  static const uint8_t req4[] = {4, 1, 0x01, 0xbb, 0, 0, 0, 1, 'm', 'e', 0,
                                 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 0};
  bytes c3 = {.n = 0};
  add(&c3, req4, sizeof(req4));
  add(&c3, hello, hello_len);
  r = run_conn(&c3, NULL, 1460, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  rec = json_array_get(r, 0);
  CHECK_STR(tcap_str(rec, "tls", "fingerprints", "ja4"), hello_ja4);
  l0 = json_array_get(get(rec, "flow", "tunnel", NULL), 0);
  CHECK_STR(tcap_str(l0, "protocol", NULL, NULL), "socks4");
  CHECK_STR(tcap_str(l0, "socks", "host", NULL), "example.org");
  CHECK_EQ(tcap_int(l0, "socks", "username_length"), 2);
  json_decref(r);

  /* Nothing after the SOCKS handshake: the handshake is the record. */
  bytes c4 = {.n = 0};
  add(&c4, req6, sizeof(req6));
  r = run_conn(&c4, NULL, 1460, NULL, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_EQ(tcap_int(json_array_get(r, 0), "socks", "version"), 5);
  json_decref(r);

  /* Bytes that only start with 5 are still another protocol: no record, no error. */
  bytes c5 = {.n = 0};
  ADDS(&c5, "\x05\x00 binary protocol");
  memset(&st, 0, sizeof(st));
  r = run_conn(&c5, NULL, 1460, &st, NULL);
  CHECK_EQ(json_array_size(r), 0);
  CHECK_EQ(st.other_flows, 1);
  json_decref(r);

  /* A SOCKS5 client whose request is broken after a sound greeting: an error. */
  bytes c6 = {.n = 0};
  ADDS(&c6, "\x05\x01\x00\x05\x01\x00\x09");
  memset(&st, 0, sizeof(st));
  r = run_conn(&c6, NULL, 1460, &st, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_STR(tcap_str(json_array_get(r, 0), "error", "stage", NULL), "socks");
  CHECK_EQ(tcap_int(json_array_get(r, 0), "error", "offset"), 3);
  CHECK_EQ(st.errors, 1);
  json_decref(r);
}

/* RFC 8446 §4.1.4: after a HelloRetryRequest the client sends its ClientHello again (in
 * middlebox compatibility mode after a change_cipher_spec record, D.4). Both are
 * reported; the second with flow.hello_retry. Before, only the first was. */
static void test_capture_hello_retry(void) {
  static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
  bytes c = {.n = 0};
  add(&c, hello, hello_len);
  add(&c, ccs, sizeof(ccs));
  add(&c, hello, hello_len);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *r = run_conn(&c, NULL, 200, &st, "hello_retry.pcap");
  CHECK_EQ(json_array_size(r), 2);
  json_t *first = json_array_get(r, 0), *second = json_array_get(r, 1);
  CHECK_STR(tcap_str(first, "tls", "fingerprints", "ja4"), hello_ja4);
  CHECK(get(first, "flow", "hello_retry", NULL) == NULL);
  CHECK_STR(tcap_str(second, "tls", "fingerprints", "ja4"), hello_ja4);
  CHECK(json_is_true(get(second, "flow", "hello_retry", NULL)));
  CHECK_EQ(tcap_int(second, "flow", "offset"), hello_len + sizeof(ccs));
  CHECK_EQ(tcap_int(second, "flow", "stream"), 0);
  CHECK_EQ(st.errors, 0);
  json_decref(r);

  /* Without the change_cipher_spec, inside a CONNECT tunnel, as a hex dump. */
  bytes c2 = {.n = 0};
  ADDS(&c2, "CONNECT a:443 HTTP/1.1\r\n\r\n");
  add(&c2, hello, hello_len);
  add(&c2, hello, hello_len);
  r = run_hex(&c2);
  CHECK_EQ(json_array_size(r), 2);
  CHECK(json_is_true(get(json_array_get(r, 1), "flow", "hello_retry", NULL)));
  CHECK_EQ(json_array_size(get(json_array_get(r, 1), "flow", "tunnel", NULL)), 1);
  json_decref(r);

  /* TLS 1.2: a ClientKeyExchange follows (handshake type 16): one record. */
  static const uint8_t cke[] = {22, 3, 3, 0, 6, 16, 0, 0, 2, 1, 0};
  bytes c3 = {.n = 0};
  add(&c3, hello, hello_len);
  add(&c3, cke, sizeof(cke));
  r = run_conn(&c3, NULL, 1460, &st, NULL);
  CHECK_EQ(json_array_size(r), 1);
  json_decref(r);

  /* A handshake record starting with type 1 but another random (an encrypted TLS 1.2
   * Finished may start so): not a retry, no record, no error. */
  bytes c4 = {.n = 0};
  add(&c4, hello, hello_len);
  add(&c4, ccs, sizeof(ccs));
  add(&c4, hello, hello_len);
  c4.d[c4.n - hello_len + 11] ^= 0xff; /* first byte of the second random */
  memset(&st, 0, sizeof(st));
  r = run_conn(&c4, NULL, 1460, &st, NULL);
  CHECK_EQ(json_array_size(r), 1);
  CHECK_EQ(st.errors, 0);
  json_decref(r);

  /* The retry cut short by the end of the capture: an error of the second hello. */
  bytes c5 = {.n = 0};
  add(&c5, hello, hello_len);
  add(&c5, hello, hello_len - 10);
  memset(&st, 0, sizeof(st));
  r = run_conn(&c5, NULL, 1460, &st, NULL);
  CHECK_EQ(json_array_size(r), 2);
  CHECK(json_is_true(get(json_array_get(r, 1), "flow", "hello_retry", NULL)));
  CHECK_STR(tcap_str(json_array_get(r, 1), "error", "stage", NULL), "tls");
  CHECK_EQ(st.errors, 1);
  json_decref(r);
}

/* A ClientHello whose encrypted_client_hello body is 8 zero bytes (as one real client
 * sends) is reported with every fingerprint — none reads the ECH body — and the bad
 * extension is flagged. Before, the whole record was a "tls" error. */
static void test_capture_malformed_extension(void) {
  CBB cbb, rec, hs, v, exts, e, l, l2;
  uint8_t buf[512], random[32];
  memset(random, 0x22, sizeof(random));
  CBB_init_fixed(&cbb, buf, sizeof(buf));
  CBB_add_u8(&cbb, 22);
  CBB_add_u16(&cbb, 0x0301);
  CBB_add_u16_length_prefixed(&cbb, &rec);
  CBB_add_u8(&rec, 1);
  CBB_add_u24_length_prefixed(&rec, &hs);
  CBB_add_u16(&hs, 0x0303);
  CBB_add_bytes(&hs, random, 32);
  CBB_add_u8(&hs, 0);
  CBB_add_u16_length_prefixed(&hs, &v);
  CBB_add_u16(&v, 0x1301);
  CBB_add_u8(&hs, 1);
  CBB_add_u8(&hs, 0);
  CBB_add_u16_length_prefixed(&hs, &exts);
  CBB_add_u16(&exts, 0); /* server_name: example.com */
  CBB_add_u16_length_prefixed(&exts, &e);
  CBB_add_u16_length_prefixed(&e, &l);
  CBB_add_u8(&l, 0);
  CBB_add_u16_length_prefixed(&l, &l2);
  CBB_add_bytes(&l2, (const uint8_t *)"example.com", 11);
  CBB_add_u16(&exts, 16); /* ALPN: h2 */
  CBB_add_u16_length_prefixed(&exts, &e);
  CBB_add_u16_length_prefixed(&e, &l);
  CBB_add_u8_length_prefixed(&l, &l2);
  CBB_add_bytes(&l2, (const uint8_t *)"h2", 2);
  CBB_add_u16(&exts, 43); /* supported_versions: TLS 1.3 */
  CBB_add_u16_length_prefixed(&exts, &e);
  CBB_add_u8_length_prefixed(&e, &l);
  CBB_add_u16(&l, 0x0304);
  CBB_add_u16(&exts, 0xfe0d); /* encrypted_client_hello: 8 zero bytes */
  CBB_add_u16_length_prefixed(&exts, &e);
  CBB_add_zeros(&e, 8);
  uint8_t *unused;
  size_t n = 0;
  CHECK(CBB_finish(&cbb, &unused, &n));
  bytes c = {.n = 0};
  add(&c, buf, n);
  gcap_stats st;
  memset(&st, 0, sizeof(st));
  json_t *r = run_conn(&c, NULL, 1460, &st, "malformed_ech.pcap");
  CHECK_EQ(json_array_size(r), 1);
  json_t *tls = json_object_get(json_array_get(r, 0), "tls");
  /* FINGERPRINTS.md by hand: one cipher, four extensions; c = sorted 002b,fe0d. */
  CHECK_STR(tcap_str(tls, "fingerprints", "ja4_r", NULL), "t13d0104h2_1301_002b,fe0d");
  CHECK_STR(tcap_str(tls, "fingerprints", "ja4_ro", NULL),
            "t13d0104h2_1301_0000,0010,002b,fe0d");
  CHECK_STR(tcap_str(tls, "fingerprints", "ja3", NULL), "771,4865,0-16-43-65037,,");
  CHECK_STR(tcap_str(tls, "fingerprints", "peetprint", NULL), "772|2|||0||4865|0-16-43-65037");
  json_t *bad = json_object_get(tls, "malformed_extensions");
  CHECK_EQ(json_array_size(bad), 1);
  CHECK_EQ(tcap_int(json_array_get(bad, 0), "type", NULL), 65037);
  CHECK_STR(tcap_str(json_array_get(bad, 0), "name", NULL, NULL), "encrypted_client_hello");
  CHECK_STR(tcap_str(json_array_get(bad, 0), "reason", NULL, NULL),
            "truncated outer ECHClientHello");
  CHECK_EQ(tcap_int(json_array_get(bad, 0), "error_offset", NULL), n);
  CHECK_EQ(json_array_size(get(json_array_get(bad, 0), "affects", NULL, NULL)), 0);
  json_t *ech = json_array_get(get(tls, "client_hello", "extensions", NULL), 3);
  CHECK_STR(tcap_str(ech, "malformed", NULL, NULL), "truncated outer ECHClientHello");
  CHECK_EQ(st.errors, 0);
  json_decref(r);

  /* The same hello with a malformed ALPN instead: JA4 and peetprint are null (they read
   * the first ALPN value), JA3 stays. */
  size_t alpn = 0;
  for (size_t i = 0; i + 4 < n; i++) {
    if (memcmp(buf + i, "\x00\x10\x00\x05\x00\x03\x02h2", 9) == 0) alpn = i;
  }
  CHECK(alpn != 0);
  buf[alpn + 6] = 3; /* the name now claims 3 bytes where 2 are left */
  bytes c2 = {.n = 0};
  add(&c2, buf, n);
  r = run_hex(&c2);
  tls = json_object_get(json_array_get(r, 0), "tls");
  CHECK(json_is_null(get(tls, "fingerprints", "ja4", NULL)));
  CHECK(json_is_null(get(tls, "fingerprints", "ja4_ro", NULL)));
  CHECK(json_is_null(get(tls, "fingerprints", "peetprint_md5", NULL)));
  CHECK_STR(tcap_str(tls, "fingerprints", "ja3", NULL), "771,4865,0-16-43-65037,,");
  bad = json_object_get(tls, "malformed_extensions");
  CHECK_EQ(json_array_size(bad), 2);
  CHECK_EQ(tcap_int(json_array_get(bad, 0), "type", NULL), 16);
  CHECK_EQ(json_array_size(get(json_array_get(bad, 0), "affects", NULL, NULL)), 6);
  json_decref(r);
}

/* The real captures of CAPTURES_DIR against expected.json (tshark's JA3 of every
 * ClientHello, the tunnels it decoded, the SSH client's identification string). */
static void test_capture_real(const char *dir) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/expected.json", dir);
  json_error_t jerr;
  json_t *exp = json_load_file(path, 0, &jerr);
  CHECK(exp != NULL);
  if (exp == NULL) {
    fprintf(stderr, "%s: %s\n", path, jerr.text);
    return;
  }
  size_t i, k;
  json_t *c;
  json_array_foreach(json_object_get(exp, "captures"), i, c) {
    const char *file = json_string_value(json_object_get(c, "file"));
    snprintf(path, sizeof(path), "%s/%s", dir, file ? file : "?");
    gcap_options o;
    gcap_options_init(&o);
    gcap_stats st;
    memset(&st, 0, sizeof(st));
    json_t *got = json_array();
    char err[512] = "";
    int rc = gcap_read_file(path, NULL, &o, tcap_collect, got, &st, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "%s\n", err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(st.errors, 0);
    json_t *want = json_object_get(c, "records");
    CHECK_EQ(json_array_size(got), json_array_size(want));
    json_t *w;
    json_array_foreach(want, k, w) {
      json_t *g = json_array_get(got, k);
      if (g == NULL) break;
      if (json_object_get(w, "ssh") != NULL) {
        CHECK_STR(tcap_str(g, "ssh", "identification", NULL),
                  json_string_value(json_object_get(w, "ssh")));
        continue;
      }
      CHECK_STR(tcap_str(g, "tls", "fingerprints", "ja3"),
                json_string_value(json_object_get(w, "ja3")));
      CHECK_STR(tcap_str(g, "tls", "fingerprints", "ja3_md5"),
                json_string_value(json_object_get(w, "ja3_md5")));
      CHECK_EQ(json_is_true(get(g, "flow", "hello_retry", NULL)),
               json_is_true(json_object_get(w, "hello_retry")));
      json_t *tw = json_object_get(w, "tunnel"), *tg = get(g, "flow", "tunnel", NULL);
      CHECK_EQ(json_array_size(tg), json_array_size(tw));
      for (size_t l = 0; l < json_array_size(tw); l++)
        CHECK_STR(tcap_str(json_array_get(tg, l), "protocol", NULL, NULL),
                  json_string_value(json_array_get(tw, l)));
      json_t *mw = json_object_get(w, "malformed"), *mg = get(g, "tls", "malformed_extensions", NULL);
      CHECK_EQ(json_array_size(mg), json_array_size(mw));
      for (size_t l = 0; l < json_array_size(mw); l++)
        CHECK_EQ(tcap_int(json_array_get(mg, l), "type", NULL),
                 json_integer_value(json_array_get(mw, l)));
    }
    printf("%s: %zu records\n", file, json_array_size(got));
    json_decref(got);
  }
  json_decref(exp);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s VECTORS_DIR CAPTURES_DIR [OUT_DIR]\n", argv[0]);
    return 2;
  }
  out_dir = argc > 3 ? argv[3] : NULL;
  char path[1024];
  snprintf(path, sizeof(path), "%s/clienthello/foxio_tls-handshake_s0_chrome.hex", argv[1]);
  hello = tcap_read_hex(path, &hello_len);
  if (hello == NULL) {
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  test_capture_ssh();
  test_capture_connect();
  test_capture_socks();
  test_capture_hello_retry();
  test_capture_malformed_extension();
  test_capture_real(argv[2]);
  free(hello);
  return gt_done("test_capture_tunnels");
}

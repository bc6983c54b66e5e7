/*
 * test_profile_loader.c — malformed profiles, each refused with the exact
 * message (file:line:column: path: reason), and a valid one fully loaded.
 */
#include <stdio.h>
#include <string.h>

#include "profile.h"

static int failures;

static void expect_error(const char *text, const char *want) {
  static profile p;
  char err[1024] = "";
  int r = profile_load(text, strlen(text), "t.json", &p, err, sizeof(err));
  if (r == 0 || strcmp(err, want) != 0) {
    fprintf(stderr, "FAIL: %s\n  got:  %s\n  want: %s\n", text, r == 0 ? "(loaded)" : err, want);
    failures++;
  }
}

static void expect_prefix(const char *text, const char *want) {
  static profile p;
  char err[1024] = "";
  int r = profile_load(text, strlen(text), "t.json", &p, err, sizeof(err));
  if (r == 0 || strncmp(err, want, strlen(want)) != 0) {
    fprintf(stderr, "FAIL: %s\n  got:  %s\n  want prefix: %s\n", text, r == 0 ? "(loaded)" : err, want);
    failures++;
  }
}

int main(void) {
  /* Syntax errors come from the JSON parser with their position. */
  expect_prefix("{\n  \"format\": 1,\n}", "t.json:3:1: ");
  expect_prefix("{\"format\": 1, \"format\": 1}", "t.json:1:");
  /* Semantic errors: the position of the offending key or value. */
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {}, \"bogus\": 1}",
               "t.json:1:39: bogus: unknown key");
  expect_error("{\"format\": 1, \"name\": \"x\",\n \"tls\": {\"cipher_suites\": [\"GREASE\",\n   \"TLS_FOO\"]}}",
               "t.json:3:4: tls.cipher_suites[1]: unknown name \"TLS_FOO\" (use the IANA name, or \"0x\" and four hex digits)");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {\"supported_groups\": [\"x25519\", \"x25519\"]}}",
               "t.json:1:67: tls.supported_groups[1]: \"x25519\" listed twice");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {\"record_size_limit\": 63}}",
               "t.json:1:57: tls.record_size_limit: 63 is out of range (64 to 16385)");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {\"key_shares\": [\"ffdhe2048\"]}}",
               "t.json:1:28: tls: this build cannot send it: key shares refused (one to four implemented, distinct groups)");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {}, \"http2\": {\"pseudo_headers\": [\":method\", \":path\"]}}",
               "t.json:1:67: http2.pseudo_headers: all four pseudo-headers are needed");
  expect_error("{\"name\": \"x\", \"tls\": {}}", "t.json:1:1: missing \"format\": 1");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {\"alpn\": \"h2\"}}",
               "t.json:1:44: tls.alpn: expected an array");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [[\"a\\nb\", \"v\"]]}}}",
               "t.json:1:73: headers.navigation.h2[0]: header name or value holds a forbidden character");
  /* A listed extension whose contents are not given is not silently dropped. */
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {\"extensions\": [\"server_name\",\n"
               " \"application_layer_protocol_negotiation\"]}}",
               "t.json:2:2: tls.extensions[1]: listed, but \"alpn\" does not give its contents");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {\"extensions\": [\"0x44cd\"],"
               " \"alps\": {\"codepoint\": 17513, \"protocols\": [\"h2\"]}}}",
               "t.json:1:51: tls.extensions[0]: listed, but \"alps\" does not give its contents (or names the other code point)");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {\"extensions\": [\"server_name\", \"encrypt_then_mac\"]}}",
               "t.json:1:66: tls.extensions[1]: the TLS library does not implement this extension: give its body in \"raw_extensions\"");

  /* A valid profile loads every part. */
  static const char ok[] =
      "{\"format\": 1, \"name\": \"t\", \"tls\": {\"versions\": [\"TLS1.3\", \"TLS1.2\"],"
      " \"cipher_suites\": [\"GREASE\", \"TLS_AES_128_GCM_SHA256\", \"0xc012\"],"
      " \"supported_groups\": [\"X25519MLKEM768\", \"x25519\"], \"key_shares\": [\"X25519MLKEM768\"],"
      " \"signature_algorithms\": [\"ecdsa_secp256r1_sha256\", \"rsa_pss_rsae_sha384\", \"rsa_pss_rsae_sha384\"],"
      " \"alpn\": [\"h2\"], \"alps\": {\"codepoint\": 17613, \"protocols\": [\"h2\"]}},"
      " \"http2\": {\"settings\": [[\"HEADER_TABLE_SIZE\", 65536]], \"window_update\": 15663105,"
      " \"headers_priority\": {\"weight\": 256, \"exclusive\": true, \"depends_on\": 0},"
      " \"pseudo_headers\": [\":method\", \":authority\", \":scheme\", \":path\"]},"
      " \"headers\": {\"navigation\": {\"h2\": [[\"accept\", \"*/*\"]]}}}";
  static profile p;
  char err[1024] = "";
  if (profile_load(ok, strlen(ok), "ok.json", &p, err, sizeof(err)) != 0) {
    fprintf(stderr, "FAIL: valid profile refused: %s\n", err);
    failures++;
  } else if (p.tls.n_ciphers != 3 || p.tls.ciphers[2] != 0xc012 || p.tls.n_sigalgs != 3 ||
             p.tls.alps_codepoint != 17613 || p.h2.n_settings != 1 || p.h2.window_update != 15663105 ||
             !p.h2.headers_priority_flag || p.h2.headers_priority.weight != 256 ||
             strcmp(p.h2.pseudo_order, "masp") != 0 || p.n_nav_h2 != 1) {
    fprintf(stderr, "FAIL: valid profile loaded wrongly\n");
    failures++;
  }
  printf("%d failures\n", failures);
  return failures != 0;
}

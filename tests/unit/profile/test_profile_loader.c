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

/* |marked| with one '@' just before the value the error must point at: the
 * test finds its line and column itself (bytes, lines from 1), strips the '@',
 * and expects "t.json:LINE:COL: |rest|". */
static void expect_at(const char *marked, const char *rest) {
  static char text[4096];
  static profile p;
  const char *at = strchr(marked, '@');
  if (at == NULL || strlen(marked) >= sizeof(text)) {
    fprintf(stderr, "FAIL: bad test text %s\n", marked);
    failures++;
    return;
  }
  int line = 1, col = 1;
  for (const char *c = marked; c < at; c++) {
    if (*c == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  size_t before = (size_t)(at - marked);
  memcpy(text, marked, before);
  strcpy(text + before, at + 1);
  char want[1200];
  snprintf(want, sizeof(want), "t.json:%d:%d: %s", line, col, rest);
  char err[1024] = "";
  int r = profile_load(text, strlen(text), "t.json", &p, err, sizeof(err));
  if (r == 0 || strcmp(err, want) != 0) {
    fprintf(stderr, "FAIL: %s\n  got:  %s\n  want: %s\n", text, r == 0 ? "(loaded)" : err, want);
    failures++;
  } else if (r != PROFILE_ERR_INVALID) {
    fprintf(stderr, "FAIL: %s\n  result %d, want PROFILE_ERR_INVALID\n", text, r);
    failures++;
  }
}

/* Shapes the library cannot honour (issue 14 item 9): each refused, naming the
 * field and pointing at it. A profile head and tail around the part under test. */
#define HEAD "{\"format\": 1, \"name\": \"x\",\n"
static void shapes_refused(void) {
  /* Empty lists would put the library's defaults on the wire. */
  expect_at(HEAD " \"tls\": {\"cipher_suites\": @[]}}",
            "tls.cipher_suites: must not be empty (leave the key out for the library's cipher suites)");
  expect_at(HEAD " \"tls\": {\"signature_algorithms\": @[]}}",
            "tls.signature_algorithms: must not be empty (leave the key out for the library's algorithms)");
  expect_at(HEAD " \"tls\": {\"versions\":\n  @[]}}",
            "tls.versions: must not be empty (leave the key out for the library's versions)");
  expect_at(HEAD " \"tls\": {\"extensions\": @[]}}",
            "tls.extensions: must not be empty (leave the key out for the library's extensions)");
  expect_at(HEAD " \"tls\": {\"supported_groups\": @[]}}",
            "tls.supported_groups: must not be empty (leave the key out for the library's groups)");
  expect_at(HEAD " \"tls\": {\"key_shares\": @[ ]}}",
            "tls.key_shares: must not be empty (leave the key out for the library's key shares)");
  expect_at(HEAD " \"tls\": {\"alpn\": @[]}}", "tls.alpn: must not be empty (leave the key out to send no ALPN)");
  expect_at(HEAD " \"tls\": {\"certificate_compression\": @[]}}",
            "tls.certificate_compression: must not be empty (leave the key out to offer none)");
  expect_at(HEAD " \"tls\": {\"delegated_credentials\": @[]}}",
            "tls.delegated_credentials: must not be empty (leave the key out to offer none)");
  expect_at(HEAD " \"tls\": {\"alps\": {\"codepoint\": 17513, \"protocols\": @[]}}}",
            "tls.alps.protocols: must not be empty (leave \"alps\" out to send none)");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [], \"http1\": @[]}}}",
            "headers.navigation.http1: must not be empty (leave the key out to use the h2 list)");
  /* Request kinds (format 2): only in format 2, known names, an "h2" list,
   * at most PROFILE_KIND_MAX_HEADERS, no default priority, stream 0 only. */
  expect_at(HEAD " \"tls\": {}, \"headers\": {@\"image\": {\"h2\": [[\"accept\", \"*/*\"]]}}}",
            "headers.image: request kinds other than navigation need \"format\": 2");
  expect_at("{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {@\"fetch\": {}}}",
            "headers.fetch: unknown key");
  expect_at("{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {@\"font\": {\"http1\": [[\"A\", \"b\"]]}}}",
            "headers.font: a request kind needs its \"h2\" list");
  expect_at("{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {\"font\": {\"h2\": @[]}}}",
            "headers.font.h2: must not be empty (a request kind sends its browser's headers)");
  expect_at("{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {\"style\": {\"h2\": [[\"a\", \"b\"]],"
            " \"headers_priority\": @{\"weight\": 16}}}}",
            "headers.style.headers_priority: the default priority (weight 16 on stream 0) is sent as no priority: write null");
  expect_at("{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {\"style\": {\"h2\": [[\"a\", \"b\"]],"
            " \"headers_priority\": {\"weight\": 1, \"depends_on\": @3}}}}",
            "headers.style.headers_priority.depends_on: 3 is out of range (0 to 0)");
  /* One browser, one identity: a kind's or the HTTP/1.1 list's user-agent or
   * client hints other than the navigation's are refused at the field. */
  expect_at("{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [[\"user-agent\", \"A/1\"]]},"
            " \"image\": {\"h2\": [[\"accept\", \"*/*\"], @[\"user-agent\", \"B/2\"]]}}}",
            "headers.image.h2[1]: user-agent differs from headers.navigation.h2's (\"A/1\"): one browser sends one");
  expect_at("{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [[\"sec-ch-ua\", \"a\"]],"
            " \"http1\": [[\"Host\", \"\"], @[\"sec-ch-ua\", \"b\"]]}}}",
            "headers.navigation.http1[1]: sec-ch-ua differs from headers.navigation.h2's (\"a\"): one browser sends one");
  expect_at("{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [[\"user-agent\", \"A/1\"]]},"
            " \"font\": {\"h2\": [[\"accept\", \"*/*\"]], \"http1\": [@[\"User-Agent\", \"A/2\"]]}}}",
            "headers.font.http1[0]: user-agent differs from headers.navigation.h2's (\"A/1\"): one browser sends one");
  {
    char many[4096];
    size_t at = (size_t)snprintf(many, sizeof(many), "{\"format\": 2, \"name\": \"x\", \"tls\": {}, \"headers\": {\"script\": {\"h2\": [");
    for (int i = 0; i <= PROFILE_KIND_MAX_HEADERS; i++)
      at += (size_t)snprintf(many + at, sizeof(many) - at, "%s%s[\"x%d\", \"v\"]", i ? ", " : "",
                             i == PROFILE_KIND_MAX_HEADERS ? "@" : "", i);
    snprintf(many + at, sizeof(many) - at, "]}}}");
    expect_at(many, "headers.script.h2[24]: more than 24 headers");
  }
  /* "0x" and exactly four hex digits: strtoul's sign, blanks and prefix are not. */
  expect_at(HEAD " \"tls\": {\"cipher_suites\": [\"TLS_AES_128_GCM_SHA256\", @\"0x-001\"]}}",
            "tls.cipher_suites[1]: unknown name \"0x-001\" (use the IANA name, or \"0x\" and four hex digits)");
  expect_at(HEAD " \"tls\": {\"supported_groups\": [@\"0x+01d\"]}}",
            "tls.supported_groups[0]: unknown name \"0x+01d\" (use the IANA name, or \"0x\" and four hex digits)");
  expect_at(HEAD " \"tls\": {\"supported_groups\": [@\"0x 01d\"]}}",
            "tls.supported_groups[0]: unknown name \"0x 01d\" (use the IANA name, or \"0x\" and four hex digits)");
  expect_at(HEAD " \"tls\": {\"extensions\": [@\"0x0x01\"]}}",
            "tls.extensions[0]: unknown name \"0x0x01\" (use the IANA name, or \"0x\" and four hex digits)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"0x-004\", 1]]}}",
            "http2.settings[0]: unknown setting \"0x-004\"");
  /* SETTINGS values: RFC 9113 6.5.2 ranges, and 0 windows that stall. */
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [[\"HEADER_TABLE_SIZE\", 65536],\n  @[\"INITIAL_WINDOW_SIZE\", 0]]}}",
            "http2.settings[1]: INITIAL_WINDOW_SIZE 0 is out of range (1 to 2147483647: 0 would stall every response body)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"INITIAL_WINDOW_SIZE\", 2147483648]]}}",
            "http2.settings[0]: INITIAL_WINDOW_SIZE 2147483648 is out of range (1 to 2147483647: 0 would stall every response body)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"MAX_FRAME_SIZE\", 16383]]}}",
            "http2.settings[0]: MAX_FRAME_SIZE 16383 is out of range (16384 to 16777215)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"MAX_FRAME_SIZE\", 16777216]]}}",
            "http2.settings[0]: MAX_FRAME_SIZE 16777216 is out of range (16384 to 16777215)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"ENABLE_PUSH\", 2]]}}",
            "http2.settings[0]: ENABLE_PUSH 2 is out of range (0 to 1)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"NO_RFC7540_PRIORITIES\", 7]]}}",
            "http2.settings[0]: NO_RFC7540_PRIORITIES 7 is out of range (0 to 1)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"ENABLE_CONNECT_PROTOCOL\", 2]]}}",
            "http2.settings[0]: ENABLE_CONNECT_PROTOCOL 2 is out of range (0 to 1)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"MAX_HEADER_LIST_SIZE\", 0]]}}",
            "http2.settings[0]: MAX_HEADER_LIST_SIZE 0 is out of range (42 to 4294967295: below 42 no response header block fits)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [@[\"HEADER_TABLE_SIZE\", 4294967296]]}}",
            "http2.settings[0]: HEADER_TABLE_SIZE 4294967296 is out of range (0 to 4294967295)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"settings\": [[\"INITIAL_WINDOW_SIZE\", 65535], @[\"0x0004\", 65535]]}}",
            "http2.settings[1]: \"0x0004\" listed twice");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"window_update\": @2147418113}}",
            "http2.window_update: 2147418113 is out of range (0 to 2147418112)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"first_stream_id\": @2}}",
            "http2.first_stream_id: must be odd (RFC 9113 5.1.1: a client's streams are odd)");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"first_stream_id\": 3, \"headers_priority\": {\"weight\": 42, \"depends_on\": @5}}}",
            "http2.headers_priority.depends_on: stream 5 is one of this client's own request streams (first_stream_id 3): that request would depend on itself");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"headers_priority\": @{\"weight\": 16}}}",
            "http2.headers_priority: the default priority (weight 16 on stream 0) is sent as no priority: use null");
  expect_at(HEAD " \"tls\": {}, \"http2\": {\"priority_frames\": [@{\"stream\": 3, \"depends_on\": 3}]}}",
            "http2.priority_frames[0]: stream 3 depends on itself (RFC 9113 5.3.1)");
  /* Strings: what each may hold. */
  expect_at("{\"format\": 1, \"name\": @\"x\\u001b[31m\", \"tls\": {}}",
            "name: byte 1 is 0x1b: a profile name is letters, digits and . _ - + (not first)");
  expect_at("{\"format\": 1, \"name\": @\"-x\", \"tls\": {}}",
            "name: byte 0 is 0x2d: a profile name is letters, digits and . _ - + (not first)");
  expect_at("{\"format\": 1, \"name\": @\"\", \"tls\": {}}", "name: must not be empty");
  expect_at(HEAD " \"description\": @\"a\\tb\", \"tls\": {}}", "description: byte 1 is a control character (0x09)");
  expect_at(HEAD " \"source\": @\"ab\\u009b2J\", \"tls\": {}}", "source: byte 2 is a control character (0xc2)");
  expect_at(HEAD " \"tls\": {}, \"expected\": {\"ja4\": @\"t13d1516h2 x\"}}",
            "expected.ja4: byte 10 is 0x20: expected printable ASCII without spaces");
  expect_at(HEAD " \"tls\": {\"alpn\": [\"h2\", @\"h\\u00011\"]}}",
            "tls.alpn[1]: byte 1 of the protocol name is 0x01: expected printable ASCII without spaces");
  expect_at(HEAD " \"tls\": {\"alpn\": [\"h2\", @\"h2\"]}}", "tls.alpn[1]: \"h2\" listed twice");
  /* Header fields: RFC 9110 tokens, lower-case names for HTTP/2, values
   * without control characters or blanks at the ends, framing is guise's. */
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [[\"accept\", \"*/*\"], @[\"User-Agent\", \"x\"]]}}}",
            "headers.navigation.h2[1]: forbidden field: \"User-Agent\": HTTP/2 field names are lower-case (RFC 9113 8.2.1)");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"http1\": [@[\"Accept Language\", \"en\"]]}}}",
            "headers.navigation.http1[0]: forbidden field: byte 6 of the name is 0x20: a field name is a token (RFC 9110 5.6.2)");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"http1\": [@[\"Accept\", \"a\\u0007b\"]]}}}",
            "headers.navigation.http1[0]: forbidden field: byte 1 of the value is 0x07: a control character (RFC 9110 5.5)");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [@[\"accept\", \"*/* \"]]}}}",
            "headers.navigation.h2[0]: forbidden field: the value starts or ends with a blank (RFC 9113 8.2.1 refuses it)");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"http1\": [@[\"Content-Length\", \"40\"]]}}}",
            "headers.navigation.http1[0]: forbidden field: guise writes the message framing (Content-Length, Transfer-Encoding) from the body");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [@[\"transfer-encoding\", \"chunked\"]]}}}",
            "headers.navigation.h2[0]: forbidden field: guise writes the message framing (Content-Length, Transfer-Encoding) from the body");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"http1\": [@[\"Host\", \"example.com\"]]}}}",
            "headers.navigation.http1[0]: forbidden field: Host comes from the URL: give it an empty value to place it");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [@[\"te\", \"gzip\"]]}}}",
            "headers.navigation.h2[0]: forbidden field: te other than \"trailers\" is malformed in HTTP/2 (RFC 9113 8.2.2)");
  expect_at(HEAD " \"tls\": {}, \"headers\": {\"navigation\": {\"http1\": [[\"Accept\", \"a\"], @[\"accept\", \"b\"]]}}}",
            "headers.navigation.http1[1]: \"accept\" listed twice");
  /* TLS parts that would not reach the wire as written. */
  expect_at(HEAD " \"tls\": {\"supported_groups\": [\"x25519\"], \"key_shares\": [\"x25519\", @\"secp256r1\"]}}",
            "tls.key_shares[1]: not in \"supported_groups\" (RFC 8446 4.2.8: a server refuses the hello)");
  expect_at(HEAD " \"tls\": {\"extensions\": [\"server_name\"], \"raw_extensions\": [{\"type\": @\"0xfe02\", \"data\": \"00\"}]}}",
            "tls.raw_extensions[0].type: not in \"extensions\", so never sent");
  expect_at(HEAD " \"tls\": {\"versions\": @[\"TLS1.3\", \"TLS1.2\"], \"extensions\": [\"server_name\"]}}",
            "tls.versions: lists TLS1.3, but \"extensions\" has no supported_versions to carry it");
  expect_at(HEAD " \"tls\": {\"versions\": @[\"TLS1.2\"], \"extensions\": [\"server_name\", \"supported_versions\"]}}",
            "tls.versions: no TLS1.3, so supported_versions (listed in \"extensions\") would not be sent");
}

int main(void) {
  shapes_refused();
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
  expect_error("{\"name\": \"x\", \"tls\": {}}", "t.json:1:1: missing \"format\": 1 or 2");
  expect_error("{\"format\": 3, \"name\": \"x\", \"tls\": {}}", "t.json:1:12: format: 3 is out of range (1 to 2)");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {\"alpn\": \"h2\"}}",
               "t.json:1:44: tls.alpn: expected an array");
  expect_error("{\"format\": 1, \"name\": \"x\", \"tls\": {}, \"headers\": {\"navigation\": {\"h2\": [[\"a\\nb\", \"v\"]]}}}",
               "t.json:1:73: headers.navigation.h2[0]: forbidden field: byte 1 of the name is 0x0a: a field name is a token (RFC 9110 5.6.2)");
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
  /* What the rules above still allow: an empty Host to place it, te: trailers,
   * an HTTP/1.1 list of any case, a GREASE key share, upper-case hex digits. */
  static const char ok2[] =
      "{\"format\": 1, \"name\": \"Chrome_1.2+x\", \"description\": \"caf\\u00e9 on macOS\","
      " \"tls\": {\"versions\": [\"GREASE\", \"TLS1.3\", \"TLS1.2\"],"
      " \"extensions\": [\"GREASE\", \"supported_versions\", \"key_share\", \"supported_groups\"],"
      " \"supported_groups\": [\"GREASE\", \"0x001D\"], \"key_shares\": [\"GREASE\", \"x25519\"]},"
      " \"http2\": {\"settings\": [[\"INITIAL_WINDOW_SIZE\", 1], [\"MAX_HEADER_LIST_SIZE\", 42]],"
      " \"first_stream_id\": 15, \"headers_priority\": {\"weight\": 42, \"depends_on\": 13}},"
      " \"headers\": {\"navigation\": {\"h2\": [[\"te\", \"trailers\"], [\"accept\", \"\"]],"
      " \"http1\": [[\"Host\", \"\"], [\"User-Agent\", \"a\\tb \\u00ff\"]]}}}";
  err[0] = '\0';
  if (profile_load(ok2, strlen(ok2), "ok2.json", &p, err, sizeof(err)) != 0) {
    fprintf(stderr, "FAIL: valid profile 2 refused: %s\n", err);
    failures++;
  } else if (p.tls.groups[1] != 0x001d || p.n_nav_h1 != 2 || p.h2.first_stream_id != 15) {
    fprintf(stderr, "FAIL: valid profile 2 loaded wrongly\n");
    failures++;
  }
  /* Every shipped profile still loads under these rules. */
  for (size_t i = 0; i < profile_builtin_count(); i++) {
    err[0] = '\0';
    if (profile_load_builtin(profile_builtin_name(i), &p, err, sizeof(err)) != 0) {
      fprintf(stderr, "FAIL: built-in %s refused: %s\n", profile_builtin_name(i), err);
      failures++;
    }
  }
  if (profile_builtin_count() < 17) {
    fprintf(stderr, "FAIL: %zu built-in profiles, want at least 17\n", profile_builtin_count());
    failures++;
  }
  printf("%d failures\n", failures);
  return failures != 0;
}

/*
 * test_profile_write.c — the one writer of profiles (profile_write.h) against the
 * loader: for every built-in profile, every file of profiles/ (the folder is the
 * first argument) and a profile that sets every field away from its default,
 * load(write(load(x))) equals load(x), compared field by field; and the shipped
 * files are written back byte for byte (the layout the writer keeps).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "profile_compare.h"
#include "profile_write.h"

static int failures;
static const char *subject; /* for messages */

static void fail(const char *what) {
  fprintf(stderr, "FAIL: %s: %s\n", subject, what);
  failures++;
}

static void compare(const profile *a, const profile *b) {
  const char *diff = profile_compare(a, b);
  if (diff) {
    char msg[160];
    snprintf(msg, sizeof(msg), "%s differs after the round trip", diff);
    fail(msg);
  }
}

/* load(write(p)) against p; |file_text| (when not NULL): the text the writer must
 * give back byte for byte. */
static void round_trip(const profile *p, const char *file_text, size_t file_len) {
  char *text;
  size_t len;
  if (profile_write(p, &text, &len) != 0) {
    fail("profile_write failed");
    return;
  }
  if (strlen(text) != len) fail("the written length is not the text's");
  profile *q = calloc(1, sizeof(*q));
  char err[1024];
  if (profile_load(text, len, "written.json", q, err, sizeof(err)) != 0) {
    fprintf(stderr, "FAIL: %s: the written profile does not load: %s\n%s\n", subject, err, text);
    failures++;
  } else {
    compare(p, q);
  }
  /* The shipped files end with one newline, which the writer's callers add. */
  if (file_text && !(file_len == len + 1 && memcmp(file_text, text, len) == 0 && file_text[len] == '\n')) {
    size_t i = 0;
    while (i < len && i < file_len && text[i] == file_text[i]) i++;
    fprintf(stderr, "FAIL: %s: written text differs from the file at byte %zu: \"%.40s\" vs \"%.40s\"\n",
            subject, i, text + i, i < file_len ? file_text + i : "");
    failures++;
  }
  free(q);
  free(text);
}

/* A profile with every field away from its default (and strings that need
 * escaping), loadable by this build. */
static const char kFull[] =
    "{\"format\": 1, \"name\": \"every-field_1.0+x\",\n"
    " \"description\": \"quote \\\" backslash \\\\ slash / and \\u00e9\",\n"
    " \"source\": \"made by hand for test_profile_write\",\n"
    " \"tls\": {\"versions\": [\"GREASE\", \"TLS1.3\", \"TLS1.2\"],\n"
    "  \"cipher_suites\": [\"GREASE\", \"TLS_AES_128_GCM_SHA256\", \"0x00ff\", \"TLS_RSA_WITH_AES_128_CBC_SHA\"],\n"
    "  \"extensions\": [\"GREASE\", \"server_name\", \"status_request\", \"supported_groups\", \"0xca34\",\n"
    "   \"signature_algorithms\", \"application_layer_protocol_negotiation\", \"signed_certificate_timestamp\",\n"
    "   \"compress_certificate\", \"record_size_limit\", \"delegated_credentials\", \"session_ticket\",\n"
    "   \"supported_versions\", \"key_share\", \"application_settings_old\", \"encrypted_client_hello\", \"GREASE\"],\n"
    "  \"permute_extensions\": true,\n"
    "  \"raw_extensions\": [{\"type\": \"0xca34\", \"data\": \"00ff10ab\"}],\n"
    "  \"supported_groups\": [\"GREASE\", \"x25519\", \"secp256r1\", \"ffdhe2048\"],\n"
    "  \"key_shares\": [\"GREASE\", \"x25519\"],\n"
    "  \"signature_algorithms\": [\"ecdsa_secp256r1_sha256\", \"rsa_pss_rsae_sha256\", \"rsa_pss_rsae_sha256\"],\n"
    "  \"delegated_credentials\": [\"ecdsa_secp256r1_sha256\", \"ecdsa_sha1\"],\n"
    "  \"alpn\": [\"h2\", \"http/1.1\"],\n"
    "  \"alps\": {\"codepoint\": 17513, \"protocols\": [\"h2\", \"http/1.1\"]},\n"
    "  \"certificate_compression\": [\"zstd\", \"zlib\"],\n"
    "  \"record_size_limit\": 4001, \"ech_grease\": true, \"status_request\": true,\n"
    "  \"signed_certificate_timestamps\": true, \"session_ticket\": true, \"resumption\": false,\n"
    "  \"aes_hardware\": false},\n"
    " \"http2\": {\"settings\": [[\"HEADER_TABLE_SIZE\", 4096], [\"0x00aa\", 4294967295], [\"ENABLE_PUSH\", 1]],\n"
    "  \"window_update\": 2147418112,\n"
    "  \"priority_frames\": [{\"stream\": 3, \"weight\": 201, \"exclusive\": false, \"depends_on\": 0},\n"
    "   {\"stream\": 5, \"weight\": 1, \"exclusive\": true, \"depends_on\": 3}],\n"
    "  \"headers_priority\": {\"weight\": 220, \"exclusive\": true, \"depends_on\": 5, \"chain\": true},\n"
    "  \"first_stream_id\": 7, \"pseudo_headers\": [\":path\", \":scheme\", \":method\", \":authority\"],\n"
    "  \"cookie_crumbs\": true, \"wait_for_server_settings\": true},\n"
    " \"headers\": {\"navigation\": {\"h2\": [[\"user-agent\", \"x \\\"y\\\"\\tz\\\\\"], [\"host\", \"\"]],\n"
    "  \"http1\": [[\"Host\", \"\"], [\"X-Agent\", \"x\"], [\"X-Odd\", \"\\u00ff\"]]}},\n"
    " \"expected\": {\"ja4\": \"a\", \"ja3\": \"b\", \"ja3n\": \"c\", \"akamai\": \"d\", \"peetprint\": \"e\",\n"
    "  \"source\": \"f g\"}}\n";

/* Format 2: request kinds, with and without an HTTP/1.1 list, a HEADERS
 * priority of their own and none (null). */
static const char kKinds[] =
    "{\"format\": 2, \"name\": \"kinds\", \"tls\": {},\n"
    " \"headers\": {\"navigation\": {\"h2\": [[\"accept\", \"text/html\"]]},\n"
    "  \"fetch-cors\": {\"h2\": [[\"accept\", \"*/*\"], [\"sec-fetch-mode\", \"cors\"]],\n"
    "   \"http1\": [[\"Host\", \"\"], [\"accept\", \"*/*\"]],\n"
    "   \"headers_priority\": {\"weight\": 220, \"exclusive\": true, \"depends_on\": 0}},\n"
    "  \"image\": {\"h2\": [[\"accept\", \"image/avif\"]], \"headers_priority\": null},\n"
    "  \"iframe\": {\"h2\": [[\"sec-fetch-dest\", \"iframe\"]]}}}";

/* Two profiles that are no shipped one's shape: the ALPS code point alone, and no
 * "http2", "headers" or "expected" at all. */
static const char kBare[] =
    "{\"format\": 1, \"name\": \"bare\", \"tls\": {\"alps\": {\"codepoint\": 17613}, \"session_ticket\": false}}";

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char *buf = malloc(PROFILE_MAX_FILE + 1);
  *len = buf ? fread(buf, 1, PROFILE_MAX_FILE, f) : 0;
  fclose(f);
  return buf;
}

static void from_text(const char *name, const char *text) {
  subject = name;
  profile *p = calloc(1, sizeof(*p));
  char err[1024];
  if (profile_load(text, strlen(text), name, p, err, sizeof(err)) != 0) {
    fprintf(stderr, "FAIL: %s does not load: %s\n", name, err);
    failures++;
  } else {
    round_trip(p, NULL, 0);
  }
  free(p);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_profile_write PROFILES-FOLDER\n");
    return 2;
  }
  profile *p = calloc(1, sizeof(*p));
  char err[1024];
  size_t builtins = profile_builtin_count(), files = 0;
  for (size_t i = 0; i < builtins; i++) {
    subject = profile_builtin_name(i);
    memset(p, 0, sizeof(*p));
    if (profile_load_builtin(subject, p, err, sizeof(err)) != 0) {
      fail(err);
      continue;
    }
    round_trip(p, NULL, 0);
  }
  DIR *d = opendir(argv[1]);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
    subject = e->d_name;
    size_t len;
    char *text = read_file(path, &len);
    memset(p, 0, sizeof(*p));
    if (text == NULL || profile_load(text, len, path, p, err, sizeof(err)) != 0) {
      fail(text ? err : "cannot read");
    } else {
      round_trip(p, text, len);
      files++;
    }
    free(text);
  }
  if (d) closedir(d);
  free(p);
  if (builtins == 0 || files != builtins) {
    fprintf(stderr, "FAIL: %zu built-in profiles, %zu files\n", builtins, files);
    failures++;
  }
  from_text("every field", kFull);
  from_text("bare", kBare);
  from_text("kinds", kKinds);
  printf("%s: %zu built-in profiles, %zu files, 3 made by hand, %d failure(s)\n",
         failures ? "FAIL" : "PASS", builtins, files, failures);
  return failures ? 1 : 0;
}

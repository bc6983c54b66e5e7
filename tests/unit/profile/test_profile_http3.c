/*
 * test_profile_http3 — the "http3" section of profiles/FORMAT.md: a section with every
 * form of transport parameter loads to the values its text gives (read here from the
 * text's numbers, not from the writer), survives write+load unchanged, and each
 * malformed variant is refused with a message naming the place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "profile_write.h"
#include "profile_compare.h"

static int failures;

#define CHECK(cond, what)                            \
  do {                                               \
    if (!(cond)) {                                   \
      fprintf(stderr, "FAIL: %s (%s)\n", what, #cond); \
      failures++;                                    \
    }                                                \
  } while (0)

/* The section with every form: %s is replaced by the mutation under test. */
static const char kHead[] =
    "{\"format\": 2, \"name\": \"h3\", \"tls\": {},\n"
    " \"http3\": {\"quic_version\": \"0x00000001\", \"dcid_length\": [8, 20], \"scid_length\": [0, 3],\n"
    "  \"initial_size\": {\"ipv4\": 1250, \"ipv6\": 1230}, \"initial_padding\": \"zeros\",\n"
    "  \"tls\": {\"versions\": [\"TLS1.3\"], \"cipher_suites\": [\"TLS_AES_128_GCM_SHA256\"],\n"
    "   \"extensions\": [\"supported_versions\", \"key_share\", \"supported_groups\",\n"
    "    \"application_layer_protocol_negotiation\", \"0x0039\", \"0xca34\"],\n"
    "   \"permute_extensions\": true, \"raw_extensions\": [{\"type\": \"0xca34\", \"data\": \"0102\"}],\n"
    "   \"supported_groups\": [\"x25519\"], \"key_shares\": [\"x25519\"], \"alpn\": [\"h3\"]},\n"
    "  \"transport_parameters\": [{\"id\": 1, \"value\": 30000}, {\"id\": \"GREASE\", \"length\": [0, 16]},\n"
    "   {\"id\": 15, \"source_connection_id\": true},\n"
    "   {\"id\": 17, \"versions\": [\"0x00000001\", \"GREASE\", \"0x6b3343cf\"]},\n"
    "   {\"id\": 12584, \"data\": \"4f524947\"}, {\"id\": 3, \"value\": 1472}";
static const char kTail[] =
    "],\n  \"permute_transport_parameters\": true,\n"
    "  \"settings\": [{\"id\": 1, \"value\": 65536}, {\"id\": 6, \"value\": 262144},\n"
    "   {\"id\": \"GREASE\"}, {\"id\": 727725890, \"value\": 0}, {\"id\": 51, \"value\": 1}],\n"
    "  \"navigate_header_order\": [\":method\", \":authority\", \":scheme\", \":path\",\n"
    "   \"user-agent\", \"priority\"],\n"
    "  \"navigate_priority\": \"u=0, i\",\n"
    "  \"uni_streams\": [\"control\", \"qpack_decoder\", \"qpack_encoder\"],\n"
    "  \"qpack_decoder_stream_lazy\": true, \"priority_update\": true, \"source\": \"by hand\"}}";

static int load_with(const char *extra_params, const char *replace_from, const char *replace_to,
                     profile *p, char *err, size_t errlen) {
  char text[8192];
  snprintf(text, sizeof(text), "%s%s%s", kHead, extra_params, kTail);
  if (replace_from) {
    char *at = strstr(text, replace_from);
    if (at == NULL) {
      snprintf(err, errlen, "test bug: \"%s\" not in the text", replace_from);
      return 99;
    }
    char rest[8192];
    snprintf(rest, sizeof(rest), "%s", at + strlen(replace_from));
    snprintf(at, sizeof(text) - (size_t)(at - text), "%s%s", replace_to, rest);
  }
  memset(p, 0, sizeof(*p));
  return profile_load(text, strlen(text), "t.json", p, err, errlen);
}

static void refused(const char *extra, const char *from, const char *to, const char *want) {
  profile *p = calloc(1, sizeof(*p));
  char err[1024] = "";
  int rc = load_with(extra, from, to, p, err, sizeof(err));
  char what[256];
  snprintf(what, sizeof(what), "refused: %s -> %s%s: got rc %d \"%s\"", from ? from : "", to ? to : "", extra, rc, err);
  CHECK(rc == PROFILE_ERR_INVALID && strstr(err, want) != NULL && strstr(err, "t.json:") == err, what);
  free(p);
}

int main(void) {
  profile *p = calloc(1, sizeof(*p)), *q = calloc(1, sizeof(*q));
  char err[1024] = "";
  int rc = load_with("", NULL, NULL, p, err, sizeof(err));
  CHECK(rc == 0, err);
  const profile_http3 *h = &p->h3;
  CHECK(h->present && h->quic_version == 1, "version");
  CHECK(h->dcid_min == 8 && h->dcid_max == 20 && h->scid_min == 0 && h->scid_max == 3, "CID ranges");
  CHECK(h->initial_ipv4 == 1250 && h->initial_ipv6 == 1230 && h->zero_padding == 1, "initial sizes, padding");
  CHECK(h->tls.n_ciphers == 1 && h->tls.ciphers[0] == 0x1301, "ciphers");
  CHECK(h->tls.n_extensions == 6 && h->tls.extensions[4] == 0x39 && h->tls.permute_extensions, "extensions");
  CHECK(h->tls.n_raw == 1 && h->tls.raw[0].len == 2 && h->tls.raw[0].body[1] == 2, "raw extension");
  CHECK(h->tls.n_alpn == 1 && strcmp(h->tls.alpn[0], "h3") == 0, "ALPN");
  CHECK(h->n_params == 6, "six parameters");
  CHECK(h->params[0].kind == PROFILE_H3_PARAM_VALUE && h->params[0].id == 1 && h->params[0].value == 30000, "p0");
  CHECK(h->params[1].kind == PROFILE_H3_PARAM_GREASE && h->params[1].len == 0 && h->params[1].len_max == 16, "p1");
  CHECK(h->params[2].kind == PROFILE_H3_PARAM_SCID && h->params[2].id == 15, "p2");
  CHECK(h->params[3].kind == PROFILE_H3_PARAM_VERSIONS && h->params[3].n_versions == 3 &&
        h->params[3].versions[0] == 1 && h->params[3].versions[1] == 0 &&
        h->params[3].versions[2] == 0x6b3343cf, "p3");
  CHECK(h->params[4].kind == PROFILE_H3_PARAM_DATA && h->params[4].id == 12584 && h->params[4].len == 4 &&
        memcmp(h->params[4].data, "ORIG", 4) == 0, "p4");
  CHECK(h->params[5].value == 1472 && h->permute_params && strcmp(h->source, "by hand") == 0, "p5");
  /* SETTINGS and the navigation's order (RFC 9114 7.2.4, 4.3.1): the text's values. */
  CHECK(h->n_settings == 5 && h->settings[0].id == 1 && h->settings[0].value == 65536 &&
        h->settings[1].id == 6 && h->settings[1].value == 262144 && h->settings[2].grease &&
        h->settings[3].id == 727725890 && h->settings[3].value == 0 && !h->settings[3].grease &&
        h->settings[4].id == 51 && h->settings[4].value == 1, "settings");
  CHECK(h->n_nav_order == 6 && strcmp(h->nav_order[0], ":method") == 0 &&
        strcmp(h->nav_order[1], ":authority") == 0 && strcmp(h->nav_order[5], "priority") == 0,
        "navigate_header_order");
  CHECK(strcmp(h->nav_priority, "u=0, i") == 0, "navigate_priority");
  CHECK(h->n_uni == 3 && h->uni[0] == PROFILE_H3_UNI_CONTROL && h->uni[1] == PROFILE_H3_UNI_QPACK_DECODER &&
        h->uni[2] == PROFILE_H3_UNI_QPACK_ENCODER, "uni_streams");
  CHECK(h->qpack_decoder_lazy && h->priority_update, "qpack_decoder_stream_lazy, priority_update");
  /* write + load: the same profile. */
  char *text = NULL;
  size_t len = 0;
  CHECK(profile_write(p, &text, &len) == 0, "written");
  if (text) {
    CHECK(profile_load(text, len, "written", q, err, sizeof(err)) == 0, err);
    const char *diff = profile_compare(p, q);
    CHECK(diff == NULL, diff ? diff : "");
    CHECK(strstr(text, "\"format\": 2") != NULL, "format 2 written");
    free(text);
  }

  /* Refusals (RFC 9000 18.2, RFC 9001, RFC 9368; FORMAT.md). */
  refused("", "\"format\": 2", "\"format\": 1", "\"http3\" needs \"format\": 2");
  refused(", {\"id\": 0, \"data\": \"00\"}", NULL, NULL, "server's parameter");
  refused(", {\"id\": 2, \"data\": \"00\"}", NULL, NULL, "server's parameter");
  refused(", {\"id\": 1, \"value\": 5}", NULL, NULL, "listed twice");
  refused(", {\"id\": 27, \"data\": \"00\"}", NULL, NULL, "reserved (GREASE) id");
  refused(", {\"id\": 4611686018427387904, \"value\": 1}", NULL, NULL, "2^62-1");
  refused(", {\"id\": 4, \"data\": \"00\"}", NULL, NULL, "is an integer: give \"value\"");
  refused(", {\"id\": 12585, \"value\": 1}", NULL, NULL, "not an integer one");
  refused(", {\"id\": 10, \"value\": 21}", NULL, NULL, "out of range for parameter 10");
  refused("", "\"value\": 1472", "\"value\": 1000", "out of range for parameter 3");
  refused(", {\"id\": 14, \"value\": 1}", NULL, NULL, "out of range for parameter 14");
  refused(", {\"id\": 12586, \"data\": \"0g\"}", NULL, NULL, "not hex");
  refused(", {\"id\": 12586, \"data\": \"012\"}", NULL, NULL, "even number");
  refused(", {\"id\": 12586, \"data\": \"0102\", \"value\": 3}", NULL, NULL, "exactly one of");
  refused(", {\"value\": 3}", NULL, NULL, "missing key \"id\"");
  refused("", "{\"id\": 15, \"source_connection_id\": true}", "{\"id\": 16, \"source_connection_id\": true}",
          "server's parameter");
  refused("", "{\"id\": 15, \"source_connection_id\": true},", "", "no initial_source_connection_id");
  refused("", "\"length\": [0, 16]", "\"length\": 3", "length: expected an array");
  refused("", "\"length\": [0, 16]", "\"length\": [0, 65]", "[min, max]");
  refused("", "[\"0x00000001\", \"GREASE\", \"0x6b3343cf\"]", "[\"GREASE\", \"0x00000001\"]", "Chosen Version");
  refused("", "\"0x6b3343cf\"]", "\"0x1a2a3a4a\"]", "write \"GREASE\"");
  refused("", "\"0x6b3343cf\"]", "\"0x1\"]", "eight hex digits");
  refused("", "\"quic_version\": \"0x00000001\"", "\"quic_version\": \"0x00000000\"", "QUIC version");
  refused("", "\"dcid_length\": [8, 20]", "\"dcid_length\": [7, 20]", "8 <= min");
  refused("", "\"scid_length\": [0, 3]", "\"scid_length\": [0, 21]", "<= 20");
  refused("", "\"ipv4\": 1250", "\"ipv4\": 1199", "out of range");
  refused("", "\"initial_padding\": \"zeros\"", "\"initial_padding\": \"ping\"", "expected \"frames\"");
  refused("", "\"versions\": [\"TLS1.3\"]", "\"versions\": [\"TLS1.3\", \"TLS1.2\"]", "TLS 1.3 only");
  refused("", "\"0x0039\", ", "", "no quic_transport_parameters");
  refused("", ", \"alpn\": [\"h3\"]", "", "missing key \"alpn\"");
  refused("", "\"permute_extensions\": true", "\"resumption\": true", "unknown key");
  refused("", "\"permute_transport_parameters\": true", "\"permute\": true", "unknown key");
  refused("", "\"key_shares\": [\"x25519\"]", "\"key_shares\": [\"secp256r1\"]", "not in \"supported_groups\"");
  /* settings, navigate_header_order, navigate_priority. */
  refused("", "{\"id\": 6, \"value\": 262144}", "{\"id\": 1, \"value\": 1}", "1 listed twice");
  refused("", "{\"id\": 6, \"value\": 262144}", "{\"id\": 4, \"value\": 1}", "HTTP/2 setting reserved");
  refused("", "{\"id\": 6, \"value\": 262144}", "{\"id\": 0, \"value\": 1}", "HTTP/2 setting reserved");
  refused("", "{\"id\": 6, \"value\": 262144}", "{\"id\": 33, \"value\": 1}", "reserved (GREASE) id");
  refused("", "{\"id\": 6, \"value\": 262144}", "{\"id\": \"GREASE\"}", "a second GREASE setting");
  refused("", "{\"id\": \"GREASE\"}", "{\"id\": \"GREASE\", \"value\": 3}", "has no value here");
  refused("", "{\"id\": 6, \"value\": 262144}", "{\"id\": 6}", "missing key \"value\"");
  refused("", "\"value\": 262144", "\"value\": 4611686018427387904", "2^62-1");
  refused("", "\"value\": 262144", "\"value\": -1", "2^62-1");
  refused("", "{\"id\": 6, \"value\": 262144}", "{\"id\": 6, \"v\": 1}", "unknown key");
  refused("", "{\"id\": 6, \"value\": 262144}", "6", "expected {\"id\"");
  refused("", "\"settings\": [{\"id\": 1, \"value\": 65536}, {\"id\": 6, \"value\": 262144},\n"
          "   {\"id\": \"GREASE\"}, {\"id\": 727725890, \"value\": 0}, {\"id\": 51, \"value\": 1}]",
          "\"settings\": []", "must not be empty");
  refused("", "\":path\",", "", "needs :method, :scheme, :authority and :path");
  refused("", "\"user-agent\",", "\"user-agent\", \":protocol\",", "not a request pseudo-header");
  refused("", "\"user-agent\", \"priority\"", "\"priority\", \":path\"", "after a regular field");
  refused("", "\"user-agent\",", "\"User-Agent\",", "not a lowercase token character");
  refused("", "\"user-agent\",", "\"priority\",", "\"priority\" listed twice");
  refused("", "\"user-agent\",", "\"\",", "field name of 1 to 63 bytes");
  refused("", "\"navigate_priority\": \"u=0, i\"", "\"navigate_priority\": \"u=0\\u0001\"", "control character");
  /* uni_streams (RFC 9114 6.2: one control stream, RFC 9204 4.2: one of each QPACK
   * stream), qpack_decoder_stream_lazy, priority_update. */
  refused("", "\"qpack_decoder\", \"qpack_encoder\"]", "\"qpack_decoder\"]", "needs control, qpack_encoder and qpack_decoder");
  refused("", "\"qpack_decoder\", \"qpack_encoder\"]", "\"qpack_decoder\", \"qpack_decoder\"]", "\"qpack_decoder\" listed twice");
  refused("", "\"qpack_decoder\", \"qpack_encoder\"]", "\"qpack_decoder\", \"push\"]", "expected \"control\", \"qpack_encoder\" or \"qpack_decoder\"");
  refused("", "\"qpack_decoder\", \"qpack_encoder\"]", "\"qpack_decoder\", 2]", "expected \"control\"");
  refused("", "\"priority_update\": true", "\"priority_update\": 1", "http3.priority_update: expected true or false");
  refused("", "\"qpack_decoder_stream_lazy\": true", "\"qpack_decoder_stream_lazy\": \"yes\"", "expected true or false");
  {
    char order[8192] = "\":method\", \":authority\", \":scheme\", \":path\"";
    for (int i = 0; i < PROFILE_MAX_HEADERS; i++) {
      char one[32];
      snprintf(one, sizeof(one), ", \"x-%d\"", i);
      strcat(order, one);
    }
    refused("", "\":method\", \":authority\", \":scheme\", \":path\"", order, "more than 48 names");
    char sets[4096] = "";
    for (int i = 0; i < PROFILE_H3_MAX_SETTINGS; i++) {
      char one[48];
      snprintf(one, sizeof(one), "{\"id\": %d, \"value\": 1}, ", 0x100 + i);
      strcat(sets, one);
    }
    strcat(sets, "{\"id\": 1, \"value\": 65536}");
    refused("", "{\"id\": 1, \"value\": 65536}", sets, "more than 16 settings");
  }
  /* More than PROFILE_H3_MAX_PARAMS parameters. */
  char many[4096] = "";
  for (int i = 0, id = 0x4000; i < PROFILE_H3_MAX_PARAMS; i++, id++) {
    char one[64];
    if ((id - 27) % 31 == 0) id++; /* not a reserved id */
    snprintf(one, sizeof(one), ", {\"id\": %d, \"data\": \"\"}", id);
    strcat(many, one);
  }
  refused(many, NULL, NULL, "more than 32 transport parameters");
  free(p);
  free(q);
  printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}

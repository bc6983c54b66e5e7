/*
 * test_profile_import.c — the importers (profile_import.h) on small inputs, with no
 * file and no socket: what they fill in, and inputs the structure cannot hold
 * refused with the input's path rather than cut to 16 bits or dropped (before the
 * importers filled a structure, a cipher 70401 imported as 0x1301, an extension id
 * over 65535 likewise, and a description cut inside a UTF-8 character vanished).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"
#include "profile.h"
#include "profile_import.h"

static int failures;

static void check(const char *what, int ok, const char *detail) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    failures++;
  }
}

typedef int (*importer)(const jv *, const char *, profile *, char *, size_t);

static int browsers_json(const jv *r, const char *name, profile *p, char *err, size_t n) {
  return profile_from_browsers_json(r, name, p, err, n);
}
static int browserleaks(const jv *r, const char *name, profile *p, char *err, size_t n) {
  return profile_from_browserleaks(r, name, 0, p, err, n);
}
static int echo(const jv *r, const char *name, profile *p, char *err, size_t n) {
  return profile_from_echo(r, name, "d", 0, p, err, n);
}

/* Runs |f| on |json|; 0 or -1 as the importer, |err| its message. */
static int run(importer f, const char *json, profile *p, char *err, size_t n) {
  jv_doc doc;
  const char *why;
  size_t at;
  if (jv_parse(json, strlen(json), &doc, &why, &at) != 0) {
    snprintf(err, n, "bad test JSON: %s", why);
    return -2;
  }
  int r = f(doc.root, "t", p, err, n);
  jv_free(&doc);
  return r;
}

static void refused(const char *what, importer f, const char *json, const char *want) {
  profile *p = calloc(1, sizeof(*p));
  char err[512] = "";
  int r = run(f, json, p, err, sizeof(err));
  check(what, r == -1 && strstr(err, want) != NULL, r == 0 ? "imported" : err);
  free(p);
}

#define REC(tls, rest) "{\"browser\": \"b\", \"version\": \"1\", \"os\": \"o\", \"id\": \"i\", \"data_kind\": \"k\", " \
                        "\"tls\": {" tls "}" rest "}"

int main(void) {
  profile *p = calloc(1, sizeof(*p));
  char err[512] = "";
  /* What a browsers.json record fills in (values from the IANA registries). */
  int r = run(browsers_json,
              REC("\"supported_versions\": [\"TLS_VERSION_1_3\", 771], \"cipher_suites\": [4865, \"GREASE\", 2570],"
                  "\"extensions_order\": [0, 43], \"alpn\": [\"h2\"], \"session_ticket\": true",
                  ", \"http2\": {\"settings\": [[1, 65536], [4, 6291456]], \"window_update_increment\": 15663105,"
                  "\"headers_priority\": {\"priority_flag\": true, \"weight\": null},"
                  "\"pseudo_header_order\": [\":method\", \":path\", \":authority\", \":scheme\"], \"headers_stream_id\": 3},"
                  "\"http_headers_h2_navigation\": [{\"name\": \"user-agent\", \"value\": \"u\"}]"),
              p, err, sizeof(err));
  check("a browsers.json record imports", r == 0, err);
  if (r == 0) {
    const tls_shape *s = &p->tls;
    check("versions 0x0304 0x0303", s->n_versions == 2 && s->versions[0] == 0x0304 && s->versions[1] == 0x0303, NULL);
    check("ciphers 0x1301, GREASE, GREASE",
          s->n_ciphers == 3 && s->ciphers[0] == 0x1301 && s->ciphers[1] == 0x0a0a && s->ciphers[2] == 0x0a0a, NULL);
    check("extensions 0, 43", s->n_extensions == 2 && s->extensions[0] == 0 && s->extensions[1] == 43, NULL);
    check("alpn h2", s->n_alpn == 1 && strcmp(s->alpn[0], "h2") == 0, NULL);
    check("session_ticket, resumption, aes_hardware", s->session_ticket == 1 && p->resumption == 1 && s->aes_hw == 1, NULL);
    check("two settings", p->h2.n_settings == 2 && p->h2.settings[1].id == 4 && p->h2.settings[1].value == 6291456, NULL);
    check("window update", p->h2.window_update == 15663105, NULL);
    check("priority not recorded: none, and said",
          !p->h2.headers_priority_flag && strstr(p->description, "not recorded") != NULL, p->description);
    check("pseudo order mpas, first stream 3", strcmp(p->h2.pseudo_order, "mpas") == 0 && p->h2.first_stream_id == 3, NULL);
    check("one navigation header", p->n_nav_h2 == 1 && strcmp(p->nav_h2[0].name, "user-agent") == 0, NULL);
    check("name and description", strcmp(p->name, "t") == 0 && strncmp(p->description, "b 1 on o", 8) == 0, NULL);
    char *text = NULL;
    size_t len;
    r = profile_emit(p, "(made)", &text, &len, err, sizeof(err));
    check("its profile loads", r == 0, err);
    free(text);
  }
  /* Inputs the structure cannot hold. */
  refused("a cipher over 65535 (was cut to 0x1301)", browsers_json, REC("\"cipher_suites\": [70401]", ""),
          "tls.cipher_suites[0]: expected a name or a number 0..65535");
  refused("an unknown name", browsers_json, REC("\"cipher_suites\": [\"TLS_NO_SUCH\"]", ""),
          "tls.cipher_suites[0]: unknown name \"TLS_NO_SUCH\"");
  refused("a SETTINGS value over 32 bits", browsers_json,
          REC("\"cipher_suites\": [4865]", ", \"http2\": {\"settings\": [[1, 4294967301]]}"),
          "http2.settings[0]: the value is not an integer 0..4294967295");
  refused("more cipher suites than a profile holds", browsers_json,
          REC("\"cipher_suites\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,"
              "33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65]", ""),
          "tls.cipher_suites: more than 64 entries");
  /* 130 two-byte characters: 260 bytes, over the 255 a description holds (the old
   * importer cut it inside a character and the description vanished). */
  char big[1024];
  snprintf(big, sizeof(big), "%s", "{\"browser\": \"");
  for (int i = 0; i < 130; i++) strcat(big, "\xc3\xa9");
  strcat(big, "\", \"tls\": {}}");
  refused("a description over 255 bytes", browsers_json, big, "description: longer than 255 bytes");
  refused("a record without tls", browsers_json, "{}", "the record has no \"tls\" block");
  refused("a browserleaks extension id over 65535", browserleaks,
          "{\"tls\": {\"extensions\": [{\"id\": 0}, {\"id\": 65547}]}, \"http2\": []}",
          "tls.extensions[1]: expected {\"id\": 0..65535}");
  refused("an echo code point of five hex digits", echo,
          "{\"tls\": {\"client_hello\": {\"cipher_suites\": [\"11301\"], \"extensions\": []}}, \"http2\": {}}",
          "cipher_suites[0]: expected four hex digits");
  refused("an echo request without the four pseudo-headers", echo,
          "{\"tls\": {\"client_hello\": {\"cipher_suites\": [\"1301\"], \"extensions\": [{\"type\": 0, \"hex\": \"0000\"}]}},"
          " \"http2\": {\"headers\": [[\":method\", \"GET\"]]}}",
          "the request has 1 of the four pseudo-headers");
  /* JA3 and Akamai strings. */
  profile_string_options opt = {"[\"no_such_alg\"]", NULL, NULL, 0, 0};
  memset(err, 0, sizeof(err));
  r = profile_from_strings("771,4865,0,29,0", "1:1|0|0|m,a,s,p", "t", &opt, p, err, sizeof(err));
  check("an unknown --sigalgs name is named", r == -1 && strstr(err, "--sigalgs[0]: unknown name \"no_such_alg\""), err);
  opt.sigalgs = NULL;
  r = profile_from_strings("771,4865-4866,0-16-43,29-23,0", "1:65536;4:131072|12517377|3:0:0:201|m,p,a,s", "t", &opt,
                           p, err, sizeof(err));
  check("strings import", r == 0, err);
  if (r == 0) {
    check("strings: ciphers", p->tls.n_ciphers == 2 && p->tls.ciphers[1] == 4866, NULL);
    check("strings: ALPN default h2, http/1.1", p->tls.n_alpn == 2 && !strcmp(p->tls.alpn[1], "http/1.1"), NULL);
    check("strings: a PRIORITY frame on stream 3, weight 201",
          p->h2.n_priority_frames == 1 && p->h2.priority_frames[0].stream_id == 3 &&
              p->h2.priority_frames[0].priority.weight == 201, NULL);
    check("strings: expected ja3 and akamai", !strcmp(p->expected.ja3, "771,4865-4866,0-16-43,29-23,0") &&
                                                  !strcmp(p->expected.akamai, "1:65536;4:131072|12517377|3:0:0:201|m,p,a,s"),
          NULL);
  }
  r = profile_from_capture(NULL, NULL, NULL, "t", "s", 0, p, err, sizeof(err));
  check("a capture without HTTP/2 asks for --akamai", r == -1 && strstr(err, "--akamai") != NULL, err);
  free(p);
  printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}

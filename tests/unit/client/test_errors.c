/* test_errors.c — the error table: every code named, described, banded, unique. */
#include <stdio.h>
#include <string.h>

#include "../../lib/gtest_check.h"
#include "guise.h"

static const struct { int code; const char *name, *cls; } kTable[] = {
#define ROW(name, code, text) {code, #name, NULL},
    GUISE_ERRNO_MAP(ROW)
#undef ROW
};

/* The band each name prefix must sit in. */
static const struct { const char *prefix, *cls; int band; } kBands[] = {
    {"USAGE_", "usage", 1},        {"DNS_", "dns", 2},          {"CONNECT_", "connect", 3},
    {"TLS_", "tls", 4},            {"CERT_", "certificate", 5}, {"PROXY_", "proxy", 6},
    {"HTTP", "http", 7},           {"DECODE_", "decoding", 8},  {"PROFILE_", "profile", 9},
    {"TIMEOUT_", "timeout", 10},   {"NOMEM", "resource", 11},   {"IO", "resource", 11},
    {"CANCELLED", "resource", 11}, {"INTERNAL", "resource", 11},
};

int main(void) {
  size_t n = sizeof(kTable) / sizeof(kTable[0]);
  for (size_t i = 0; i < n; i++) {
    int c = kTable[i].code;
    CHECK(c < 0);
    CHECK(strcmp(guise_err_name(c), kTable[i].name) == 0);
    CHECK(strcmp(guise_strerror(c), "unknown error") != 0);
    for (size_t k = 0; k < i; k++) CHECK(kTable[k].code != c && strcmp(kTable[k].name, kTable[i].name) != 0);
    int banded = 0;
    for (size_t b = 0; b < sizeof(kBands) / sizeof(kBands[0]); b++) {
      if (strncmp(kTable[i].name, kBands[b].prefix, strlen(kBands[b].prefix)) == 0) {
        banded = 1;
        CHECK(-c / 100 == kBands[b].band);
        CHECK(strcmp(guise_err_class(c), kBands[b].cls) == 0);
      }
    }
    if (!banded) fprintf(stderr, "%s has no band\n", kTable[i].name);
    CHECK(banded);
  }
  /* The class table: each band named once, and the code's class read from it. */
  static const struct { int band; const char *name; } kClasses[] = {
#define CLASS_ROW(name, band, text) {band, text},
      GUISE_ERR_CLASS_MAP(CLASS_ROW)
#undef CLASS_ROW
  };
  size_t nc = sizeof(kClasses) / sizeof(kClasses[0]);
  CHECK_EQ(nc, 11);
  CHECK_EQ(GUISE_CLASS_COUNT, 12);
  for (size_t k = 0; k < nc; k++) {
    CHECK_EQ(kClasses[k].band, (int)k + 1);
    for (size_t b = 0; b < sizeof(kBands) / sizeof(kBands[0]); b++)
      if (kBands[b].band == kClasses[k].band) CHECK_STR(kClasses[k].name, kBands[b].cls);
  }
  for (size_t i = 0; i < n; i++) {
    CHECK_EQ(guise_err_class_of(kTable[i].code), -kTable[i].code / 100);
    CHECK_STR(guise_err_class(kTable[i].code), kClasses[-kTable[i].code / 100 - 1].name);
  }
  CHECK_EQ(guise_err_class_of(GUISE_OK), GUISE_CLASS_NONE);
  CHECK_EQ(guise_err_class_of(-150), GUISE_CLASS_NONE);
  CHECK_EQ(guise_err_class_of(-1200), GUISE_CLASS_NONE);
  CHECK_EQ(guise_err_class_of(GUISE_E_PROXY_CERT), GUISE_CLASS_PROXY);
  CHECK_STR(guise_err_class(-1200), "unknown");
  CHECK(strcmp(guise_err_name(GUISE_OK), "OK") == 0);
  CHECK(strcmp(guise_err_class(GUISE_OK), "ok") == 0);
  CHECK(strcmp(guise_err_name(-999999), "UNKNOWN") == 0);
  CHECK(strcmp(guise_err_class(-150), "unknown") == 0);
  CHECK(strcmp(guise_err_class(7), "unknown") == 0);
  CHECK(GUISE_E_CONNECT_REFUSED == -301);
  printf("test_errors: %zu codes\n", n);
  return gt_done("test_errors");
}

/* test_version.c — guise_version() reports this build's parts. */
#include <stdio.h>
#include <string.h>

#include "../../lib/gtest_check.h"
#include "build_info.h"
#include "guise.h"

static int looks_like_version(const char *s) {
  /* digits, then at least one ".digits" */
  int dots = 0;
  if (s == NULL || *s < '0' || *s > '9') return 0;
  for (; *s && *s != '-'; s++) {
    if (*s == '.') dots++;
    else if (*s < '0' || *s > '9') return 0;
  }
  return dots >= 1;
}

int main(void) {
  const guise_version_info *v = guise_version();
  CHECK(v == guise_version());
  CHECK(v->size == sizeof(*v));
  CHECK(strcmp(v->guise, GUISE_VERSION_STRING) == 0);
  CHECK(strcmp(v->tls_library, "BoringSSL") == 0);
  /* The upstream revision of Debian's 14.0.0+r45 source (docs/BUILDING.md). */
  CHECK(strcmp(v->boringssl_revision, "32b51305debe43e38e7bf2c2b13c4ebf3b474e80") == 0);
  CHECK(v->boringssl_patches == GUISE_BORINGSSL_PATCHES);
  const char *libs[] = {v->nghttp2, v->libuv, v->brotli, v->zlib, v->zstd, v->jansson, v->cares};
  for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
    CHECK_MSG(looks_like_version(libs[i]), "library %zu: not a version: %s", i,
              libs[i] ? libs[i] : "(null)");
  }
  return gt_done("test_version");
}
